/* cmocka tests for chat: the packet codec and the roster (presence
 * timers on a fake clock, name disambiguation, lookup). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chat_roster.h"
#include "chat_wire.h"
#include "udp_err.h"
#include "udp_wire.h"

static int encode_msg(uint8_t *buf, size_t cap, uint8_t type, const char *nick,
		      const char *text)
{
	struct chat_pkt p = { .type = type, .id = 0x3fa2000000000001ull, .port = 4242,
				  .text = (const uint8_t *)text, .text_len = text ? strlen(text) : 0 };
	strcpy(p.nick, nick);
	return chat_pkt_encode(&p, buf, cap);
}

static void roundtrip_every_type(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX];
	for (uint8_t t = CHAT_BEACON; t <= CHAT_PEERS; t++) {
		int n = encode_msg(buf, sizeof buf, t, "alice", t == CHAT_MSG ? "hi there" : NULL);
		assert_true(n > 0);
		struct chat_pkt p;
		assert_int_equal(chat_pkt_decode(&p, buf, (size_t)n), 0);
		assert_int_equal(p.type, t);
		assert_true(p.id == 0x3fa2000000000001ull);
		assert_int_equal(p.port, 4242);
		assert_string_equal(p.nick, "alice");
		if (t == CHAT_MSG) {
			assert_int_equal(p.text_len, 8);
			assert_memory_equal(p.text, "hi there", 8);
		} else {
			assert_int_equal(p.text_len, 0);
			assert_null(p.text);
		}
	}
}

/* udpchat pads the beacons it sends to the group (docs/CHAT.md, "Hostile
 * beacons"): the padding is text, ignored in a beacon, and even the
 * shortest nick gives a beacon of at least CHAT_BEACON_MIN bytes. */
static void padded_beacon(void **state)
{
	(void)state;
	static const uint8_t zeros[CHAT_BEACON_MIN];
	uint8_t buf[CHAT_PKT_MAX];
	struct chat_pkt p = { .type = CHAT_BEACON, .id = 7, .port = 9,
				  .text = zeros, .text_len = sizeof zeros };
	strcpy(p.nick, "a");
	int n = chat_pkt_encode(&p, buf, sizeof buf);
	assert_int_equal(n, CHAT_HDR_LEN + 1 + 2 + CHAT_BEACON_MIN);
	assert_true(n >= CHAT_BEACON_MIN);
	struct chat_pkt q;
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), 0);
	assert_int_equal(q.type, CHAT_BEACON);
	assert_int_equal(q.port, 9);
	assert_int_equal(q.text_len, CHAT_BEACON_MIN);
	/* unpadded, the same beacon is far below it: the receiver's drop_short */
	p.text = NULL;
	p.text_len = 0;
	n = chat_pkt_encode(&p, buf, sizeof buf);
	assert_true(n > 0 && n < CHAT_BEACON_MIN);
}

static void layout_matches_docs(void **state)
{
	(void)state;
	uint8_t buf[64];
	int n = encode_msg(buf, sizeof buf, CHAT_MSG, "bo", "x");
	/* docs/CHAT.md: magic 0, version 4, type 5, id 6, port 14, nick len 16,
	 * nick 17, text len 17+n, text 19+n */
	assert_int_equal(n, 17 + 2 + 2 + 1);
	assert_memory_equal(buf, "UCHT", 4);
	assert_int_equal(buf[4], 1);
	assert_int_equal(buf[5], CHAT_MSG);
	assert_int_equal(buf[6], 0x3f);
	assert_int_equal(buf[14], 4242 >> 8);
	assert_int_equal(buf[16], 2);
	assert_memory_equal(buf + 17, "bo", 2);
	assert_int_equal(buf[20], 1);
	assert_int_equal(buf[21], 'x');
}

static void every_truncation_rejected(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX];
	int n = encode_msg(buf, sizeof buf, CHAT_MSG, "carol", "a message");
	assert_true(n > 0);
	struct chat_pkt p;
	for (int len = 0; len < n; len++)
		assert_int_equal(chat_pkt_decode(&p, buf, (size_t)len), UDP_ESHORT);
	buf[n] = 0;
	assert_int_equal(chat_pkt_decode(&p, buf, (size_t)n + 1), UDP_EINVAL); /* trailing */
	/* a writer with one byte too few fails whole, never writes past cap */
	uint8_t small[CHAT_PKT_MAX];
	memset(small, 0xee, sizeof small);
	assert_int_equal(encode_msg(small, (size_t)n - 1, CHAT_MSG, "carol", "a message"),
			 UDP_ENOSPACE);
	assert_int_equal(small[n - 1], 0xee);
}

static void foreign_and_bad_fields_rejected(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX], m[CHAT_PKT_MAX];
	int n = encode_msg(buf, sizeof buf, CHAT_MSG, "dave", "t");
	struct chat_pkt p;
	size_t bad_at[] = { 0, 4, 5, 16, 17 };
	uint8_t bad_val[] = { 'X', 2, 99, 0, '#' };
	for (size_t i = 0; i < sizeof bad_at / sizeof bad_at[0]; i++) {
		memcpy(m, buf, (size_t)n);
		m[bad_at[i]] = bad_val[i];
		assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	}
	memcpy(m, buf, (size_t)n);
	m[16] = CHAT_NICK_MAX + 1; /* nick length over the limit */
	assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	memcpy(m, buf, (size_t)n);
	m[21] = 0x10; /* text length 0x1001 > CHAT_TEXT_MAX */
	m[22] = 0x01;
	assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	/* encoder refuses what the decoder would refuse */
	assert_int_equal(encode_msg(buf, sizeof buf, CHAT_MSG, "has space", NULL), UDP_EINVAL);
	assert_int_equal(encode_msg(buf, sizeof buf, 0, "ok", NULL), UDP_EINVAL);
	assert_int_equal(encode_msg(buf, sizeof buf, CHAT_PEERS + 1, "ok", NULL), UDP_EINVAL);
}

static void nick_rules(void **state)
{
	(void)state;
	assert_true(chat_nick_valid("alice", 5));
	assert_true(chat_nick_valid("j\xc3\xb6rg", 5)); /* UTF-8 */
	assert_false(chat_nick_valid("", 0));
	assert_false(chat_nick_valid("a b", 3));
	assert_false(chat_nick_valid("a#b", 3));
	assert_false(chat_nick_valid("/who", 4));
	assert_false(chat_nick_valid("a\033", 2));
	char longn[CHAT_NICK_MAX + 2];
	memset(longn, 'x', sizeof longn);
	assert_true(chat_nick_valid(longn, CHAT_NICK_MAX));
	assert_false(chat_nick_valid(longn, CHAT_NICK_MAX + 1));
}

static struct chat_roster *roster(uint64_t away, uint64_t gone)
{
	struct chat_roster_config c;
	chat_roster_config_default(&c);
	c.away_us = away;
	c.gone_us = gone;
	struct chat_roster *r = NULL;
	assert_int_equal(chat_roster_new(&r, &c), 0);
	assert_non_null(r);
	return r;
}

static void presence_timers(void **state)
{
	(void)state;
	struct chat_roster *r = roster(5000000, 10000000);
	struct chat_roster_event ev;
	assert_int_equal(chat_roster_add(r, 0xaaaa000000000000ull, "a", 7, 1000), 0);
	assert_int_equal(chat_roster_add(r, 0xaaaa000000000000ull, "a", 7, 1000), UDP_EINVAL);
	assert_true(chat_roster_next_deadline(r) == 5001000);
	assert_int_equal(chat_roster_tick(r, 5000999, &ev), 0);
	assert_int_equal(chat_roster_tick(r, 5001000, &ev), 1);
	assert_int_equal(ev.type, CHAT_ROSTER_AWAY);
	assert_int_equal(ev.tag, 7);
	assert_string_equal(ev.name, "a#aaaa");
	assert_int_equal(chat_roster_tick(r, 5001000, &ev), 0); /* once */
	assert_true(chat_roster_next_deadline(r) == 10001000);
	/* heard again: back, timers restart from now */
	assert_int_equal(chat_roster_seen(r, 0xaaaa000000000000ull, 8000000, &ev), 1);
	assert_int_equal(ev.type, CHAT_ROSTER_BACK);
	assert_int_equal(chat_roster_seen(r, 0xaaaa000000000000ull, 8000001, &ev), 0);
	assert_int_equal(chat_roster_tick(r, 13000000, &ev), 0);
	assert_int_equal(chat_roster_tick(r, 13000001, &ev), 1);
	assert_int_equal(ev.type, CHAT_ROSTER_AWAY);
	assert_int_equal(chat_roster_tick(r, 18000001, &ev), 1);
	assert_int_equal(ev.type, CHAT_ROSTER_GONE);
	assert_int_equal(chat_roster_count(r), 0);
	assert_true(chat_roster_next_deadline(r) == UINT64_MAX);
	assert_int_equal(chat_roster_seen(r, 0xaaaa000000000000ull, 1, NULL), UDP_EINVAL);
	chat_roster_free(r);
}

static void silent_straight_to_gone(void **state)
{
	(void)state;
	/* a tick that comes late (after gone) says gone, not away first */
	struct chat_roster *r = roster(1000000, 2000000);
	struct chat_roster_event ev;
	chat_roster_add(r, 1, "x", 1, 0);
	chat_roster_add(r, 2, "y", 2, 1500000);
	assert_int_equal(chat_roster_tick(r, 2000000, &ev), 1);
	assert_int_equal(ev.type, CHAT_ROSTER_GONE);
	assert_true(ev.id == 1);
	assert_int_equal(chat_roster_tick(r, 2000000, &ev), 0);
	assert_int_equal(chat_roster_tick(r, 2500000, &ev), 1);
	assert_int_equal(ev.type, CHAT_ROSTER_AWAY);
	assert_true(ev.id == 2);
	chat_roster_free(r);
}

static void bad_config(void **state)
{
	(void)state;
	struct chat_roster_config c;
	chat_roster_config_default(&c);
	c.gone_us = c.away_us;
	struct chat_roster *r = (struct chat_roster *)&c;
	assert_int_equal(chat_roster_new(&r, &c), UDP_EINVAL);
	assert_null(r);
	assert_int_equal(chat_roster_new(&r, NULL), UDP_EINVAL);
	assert_null(r);
	chat_roster_free(NULL);
}

static void names_told_apart(void **state)
{
	(void)state;
	struct chat_roster *r = roster(5, 10);
	char b[CHAT_NAME_MAX];
	chat_roster_add(r, 0x3fa2110000000000ull, "bob", 1, 0);
	chat_roster_add(r, 0x3fa2220000000000ull, "bob", 2, 0);
	chat_roster_add(r, 0x3fa2330000000000ull, "eve", 3, 0);
	chat_roster_name(r, 0, NULL, 0x3fa2110000000000ull, "bob", b, sizeof b);
	assert_string_equal(b, "bob#3fa21");
	chat_roster_name(r, 0, NULL, 0x3fa2220000000000ull, "bob", b, sizeof b);
	assert_string_equal(b, "bob#3fa22");
	/* a different nick never lengthens: eve keeps 4 digits */
	chat_roster_name(r, 0, NULL, 0x3fa2330000000000ull, "eve", b, sizeof b);
	assert_string_equal(b, "eve#3fa2");
	/* eve renaming herself to bob cannot pass as one of them */
	chat_roster_rename(r, 0x3fa2330000000000ull, "bob");
	chat_roster_name(r, 0, NULL, 0x3fa2330000000000ull, "bob", b, sizeof b);
	assert_string_equal(b, "bob#3fa23");
	/* ourselves count too */
	chat_roster_name(r, 0x3fa2110000000001ull, "bob", 0x3fa2110000000000ull, "bob", b, sizeof b);
	assert_string_equal(b, "bob#3fa2110000000000");
	/* identical ids shown in full, never overflow */
	chat_roster_name(r, 0, NULL, 0x3fa2110000000000ull, "bob", b, 5);
	assert_string_equal(b, "bob#");
	chat_roster_free(r);
}

static void find_by_name(void **state)
{
	(void)state;
	struct chat_roster *r = roster(5, 10);
	uint64_t id = 0;
	chat_roster_add(r, 0x1111000000000000ull, "bob", 1, 0);
	chat_roster_add(r, 0x2222000000000000ull, "bob", 2, 0);
	chat_roster_add(r, 0x3333000000000000ull, "amy", 3, 0);
	assert_int_equal(chat_roster_find(r, "amy", &id), 1);
	assert_true(id == 0x3333000000000000ull);
	assert_int_equal(chat_roster_find(r, "bob", &id), UDP_EINVAL);
	assert_int_equal(chat_roster_find(r, "bob#2", &id), 1);
	assert_true(id == 0x2222000000000000ull);
	assert_int_equal(chat_roster_find(r, "#1111", &id), 1);
	assert_true(id == 0x1111000000000000ull);
	assert_int_equal(chat_roster_find(r, "amy#2", &id), 0);
	assert_int_equal(chat_roster_find(r, "zed", &id), 0);
	assert_int_equal(chat_roster_find(r, "#", &id), 0);
	assert_int_equal(chat_roster_find(r, "", &id), 0);
	assert_int_equal(chat_roster_remove(r, 0x1111000000000000ull), 0);
	assert_int_equal(chat_roster_remove(r, 0x1111000000000000ull), UDP_EINVAL);
	assert_int_equal(chat_roster_find(r, "bob", &id), 1);
	chat_roster_free(r);
}

static void roster_full(void **state)
{
	(void)state;
	struct chat_roster_config c;
	chat_roster_config_default(&c);
	c.max_peers = 20;
	struct chat_roster *r = NULL;
	assert_int_equal(chat_roster_new(&r, &c), 0);
	for (uint64_t i = 1; i <= 20; i++)
		assert_int_equal(chat_roster_add(r, i, "p", (uint32_t)i, 0), 0);
	assert_int_equal(chat_roster_add(r, 21, "p", 21, 0), UDP_ENOSPACE);
	struct chat_peer_info pi;
	assert_int_equal(chat_roster_at(r, 19, &pi), 0);
	assert_true(pi.id == 20);
	assert_int_equal(chat_roster_at(r, 20, &pi), UDP_EINVAL);
	chat_roster_free(r);
}

static void peer_list_roundtrip_and_truncation(void **state)
{
	(void)state;
	struct chat_peer_addr in[2], out;
	memset(in, 0, sizeof in);
	in[0].id = 0x1122334455667788ull;
	assert_int_equal(udp_addr_parse(&in[0].addr, "10.1.2.3:4000", UDP_ADDR_NUMERIC), 0);
	in[1].id = 42;
	assert_int_equal(udp_addr_parse(&in[1].addr, "[fe80::1]:65535", UDP_ADDR_NUMERIC), 0);
	uint8_t buf[128];
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, buf, sizeof buf);
	assert_int_equal(chat_peers_put(&w, &in[0]), 0);
	assert_int_equal(chat_peers_put(&w, &in[1]), 0);
	size_t n = udp_wire_written(&w);
	assert_int_equal(n, (8 + 1 + 4 + 2) + (8 + 1 + 16 + 2));
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, buf, n);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(chat_peers_next(&r, &out), 1);
		assert_true(out.id == in[i].id);
		assert_true(udp_addr_equal(&out.addr, &in[i].addr));
	}
	assert_int_equal(chat_peers_next(&r, &out), 0);
	/* every cut inside an entry is an error, never a read past the end */
	for (size_t len = 1; len < n; len++) {
		if (len == 15)
			continue; /* the end of the first entry: a valid shorter list */
		udp_wire_reader_init(&r, buf, len);
		int got = 0, rc;
		while ((rc = chat_peers_next(&r, &out)) == 1)
			got++;
		assert_int_equal(rc, UDP_ESHORT);
		assert_true(got <= 1);
	}
	buf[8] = 5; /* unknown family */
	udp_wire_reader_init(&r, buf, n);
	assert_int_equal(chat_peers_next(&r, &out), UDP_EINVAL);
	/* a unix address has no place in a list */
	struct chat_peer_addr ux = { .id = 1 };
	assert_int_equal(udp_addr_parse(&ux.addr, "unix:@x", 0), 0);
	udp_wire_writer_init(&w, buf, sizeof buf);
	assert_int_equal(chat_peers_put(&w, &ux), UDP_EFAMILY);
	/* a full writer says so */
	udp_wire_writer_init(&w, buf, 10);
	assert_int_equal(chat_peers_put(&w, &in[0]), UDP_ENOSPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_every_type),
		cmocka_unit_test(layout_matches_docs),
		cmocka_unit_test(padded_beacon),
		cmocka_unit_test(every_truncation_rejected),
		cmocka_unit_test(foreign_and_bad_fields_rejected),
		cmocka_unit_test(nick_rules),
		cmocka_unit_test(presence_timers),
		cmocka_unit_test(silent_straight_to_gone),
		cmocka_unit_test(bad_config),
		cmocka_unit_test(names_told_apart),
		cmocka_unit_test(find_by_name),
		cmocka_unit_test(roster_full),
		cmocka_unit_test(peer_list_roundtrip_and_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
