/* cmocka tests for chat: the packet codec, the roster (presence timers
 * on a fake clock, name disambiguation, lookup), the group's beacon and
 * gate decisions, and catch-up: the sent-line log's bounds, the seen
 * table, which lines a peer started at time T gets, /history's bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "chat_group.h"
#include "chat_log.h"
#include "chat_roster.h"
#include "chat_wire.h"
#include "rel.h"
#include "rel_drv.h"
#include "udp_err.h"
#include "udp_sock.h"
#include "udp_wire.h"

static int encode_msg(uint8_t *buf, size_t cap, uint8_t type, const char *nick,
		      const char *text)
{
	struct chat_pkt p = { .type = type, .id = 0x3fa2000000000001ull, .port = 4242,
				  .text = (const uint8_t *)text, .text_len = text ? strlen(text) : 0 };
	if (chat_type_is_line(type)) {
		p.seq = 0x0102030405060708ull;
		p.ts = 1763768719123456ull;
	}
	if (type == CHAT_HISTORY)
		p.count = 7;
	if (type == CHAT_HELLO)
		p.start = 1763768719000000ull;
	strcpy(p.nick, nick);
	return chat_pkt_encode(&p, buf, cap);
}

static void roundtrip_every_type(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX];
	for (uint8_t t = CHAT_BEACON; t <= CHAT_HISTORY; t++) {
		int n = encode_msg(buf, sizeof buf, t, "alice", t == CHAT_MSG ? "hi there" : NULL);
		assert_true(n > 0);
		struct chat_pkt p;
		assert_int_equal(chat_pkt_decode(&p, buf, (size_t)n), 0);
		assert_int_equal(p.type, t);
		assert_true(p.id == 0x3fa2000000000001ull);
		assert_int_equal(p.port, 4242);
		assert_string_equal(p.nick, "alice");
		assert_true(p.seq == (chat_type_is_line(t) ? 0x0102030405060708ull : 0));
		assert_true(p.ts == (chat_type_is_line(t) ? 1763768719123456ull : 0));
		assert_int_equal(p.count, t == CHAT_HISTORY ? 7 : 0);
		assert_true(p.start == (t == CHAT_HELLO ? 1763768719000000ull : 0));
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
	 * nick 17; a line's seq 17+n, ts 25+n, flags 33+n; text len 34+n,
	 * text 36+n */
	assert_int_equal(n, 17 + 2 + 17 + 2 + 1);
	assert_memory_equal(buf, "UCHT", 4);
	assert_int_equal(buf[4], 2);
	assert_int_equal(buf[5], CHAT_MSG);
	assert_int_equal(buf[6], 0x3f);
	assert_int_equal(buf[14], 4242 >> 8);
	assert_int_equal(buf[16], 2);
	assert_memory_equal(buf + 17, "bo", 2);
	assert_int_equal(buf[19], 0x01);
	assert_int_equal(buf[26], 0x08);
	assert_int_equal(buf[27], (1763768719123456ull >> 56) & 0xff);
	assert_int_equal(buf[34], (1763768719123456ull) & 0xff);
	assert_int_equal(buf[35], 0);
	assert_int_equal(buf[37], 1);
	assert_int_equal(buf[38], 'x');
	/* HELLO: start at 17+n, text len 25+n; HISTORY: count at 17+n, text len 19+n */
	n = encode_msg(buf, sizeof buf, CHAT_HELLO, "bo", NULL);
	assert_int_equal(n, 17 + 2 + 8 + 2);
	assert_int_equal(buf[26], 1763768719000000ull & 0xff);
	n = encode_msg(buf, sizeof buf, CHAT_HISTORY, "bo", NULL);
	assert_int_equal(n, 17 + 2 + 2 + 2);
	assert_int_equal(buf[20], 7);
}

/* One canonical form: what the encoder refuses, the decoder refuses. */
static void line_fields_strict(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX], m[CHAT_PKT_MAX];
	struct chat_pkt p;
	int n = encode_msg(buf, sizeof buf, CHAT_ME, "eve", "waves");
	assert_true(n > 0);
	/* flags at 17+3+16 = 36: 1 and 2 are the only values, not both */
	for (unsigned f = 0; f < 256; f++) {
		memcpy(m, buf, (size_t)n);
		m[36] = (uint8_t)f;
		int ok = f == 0 || f == CHAT_LINE_LATE || f == CHAT_LINE_HISTORY;
		assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), ok ? 0 : UDP_EINVAL);
	}
	memcpy(m, buf, (size_t)n);
	memset(m + 20, 0, 8); /* seq 0 */
	assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	n = encode_msg(buf, sizeof buf, CHAT_HISTORY, "eve", NULL);
	for (unsigned c = 0; c <= CHAT_HISTORY_MAX + 1; c += CHAT_HISTORY_MAX + 1) {
		memcpy(m, buf, (size_t)n);
		m[20] = (uint8_t)(c >> 8);
		m[21] = (uint8_t)c;
		assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	}
	struct chat_pkt q = { .type = CHAT_MSG, .id = 1, .nick = "x", .seq = 0 };
	assert_int_equal(chat_pkt_encode(&q, buf, sizeof buf), UDP_EINVAL);
	q.seq = 1;
	q.flags = CHAT_LINE_LATE | CHAT_LINE_HISTORY;
	assert_int_equal(chat_pkt_encode(&q, buf, sizeof buf), UDP_EINVAL);
	q = (struct chat_pkt){ .type = CHAT_HISTORY, .id = 1, .nick = "x",
			       .count = CHAT_HISTORY_MAX + 1 };
	assert_int_equal(chat_pkt_encode(&q, buf, sizeof buf), UDP_EINVAL);
	/* the largest packet fits CHAT_PKT_MAX */
	static uint8_t big[CHAT_TEXT_MAX];
	q = (struct chat_pkt){ .type = CHAT_MSG, .id = 1, .seq = 1, .text = big,
			       .text_len = sizeof big };
	memset(q.nick, 'n', CHAT_NICK_MAX);
	assert_int_equal(chat_pkt_encode(&q, buf, sizeof buf), CHAT_PKT_MAX);
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
	uint8_t bad_val[] = { 'X', 1, 99, 0, '#' }; /* version 1: before line ids */
	for (size_t i = 0; i < sizeof bad_at / sizeof bad_at[0]; i++) {
		memcpy(m, buf, (size_t)n);
		m[bad_at[i]] = bad_val[i];
		assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	}
	memcpy(m, buf, (size_t)n);
	m[16] = CHAT_NICK_MAX + 1; /* nick length over the limit */
	assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	memcpy(m, buf, (size_t)n);
	m[38] = 0x10; /* text length 0x1001 > CHAT_TEXT_MAX (at 17+4+17) */
	m[39] = 0x01;
	assert_int_equal(chat_pkt_decode(&p, m, (size_t)n), UDP_EINVAL);
	/* encoder refuses what the decoder would refuse */
	assert_int_equal(encode_msg(buf, sizeof buf, CHAT_MSG, "has space", NULL), UDP_EINVAL);
	assert_int_equal(encode_msg(buf, sizeof buf, 0, "ok", NULL), UDP_EINVAL);
	assert_int_equal(encode_msg(buf, sizeof buf, CHAT_HISTORY + 1, "ok", NULL), UDP_EINVAL);
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
	assert_string_equal(b, "bob#3fa21100"); /* look-alikes: >= 8 digits */
	chat_roster_name(r, 0, NULL, 0x3fa2220000000000ull, "bob", b, sizeof b);
	assert_string_equal(b, "bob#3fa22200");
	/* a different nick never lengthens: eve keeps 4 digits */
	chat_roster_name(r, 0, NULL, 0x3fa2330000000000ull, "eve", b, sizeof b);
	assert_string_equal(b, "eve#3fa2");
	/* eve renaming herself to bob cannot pass as one of them */
	chat_roster_rename(r, 0x3fa2330000000000ull, "bob");
	chat_roster_name(r, 0, NULL, 0x3fa2330000000000ull, "bob", b, sizeof b);
	assert_string_equal(b, "bob#3fa23300");
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

/* ---- the group's beacon decisions, without a terminal ---- */

struct grp {
	struct udp_sock *sock, *victim;
	struct rel_core *core;
	struct rel_drv *drv;
	struct chat_group *g;
	struct udp_addr victim_addr;
	int events;
};

static void count_event(void *ctx, const struct chat_group_event *ev)
{
	if (ev->type != CHAT_GROUP_NOTE) /* notes are for a -v log */
		((struct grp *)ctx)->events++;
}

static void grp_open(struct grp *e, uint64_t id)
{
	struct udp_addr any;
	memset(e, 0, sizeof *e);
	assert_int_equal(udp_addr_parse(&any, "127.0.0.1:0", UDP_ADDR_NUMERIC), 0);
	assert_int_equal(udp_sock_open_bound(&e->sock, &any, UDP_SOCK_NONBLOCK), 0);
	/* the forged beacons' "source": a socket of ours that never answers */
	assert_int_equal(udp_sock_open_bound(&e->victim, &any, UDP_SOCK_NONBLOCK), 0);
	assert_int_equal(udp_sock_local_addr(e->victim, &e->victim_addr), 0);
	struct rel_config rc;
	rel_config_default(&rc);
	rc.accept = 1;
	rc.seed = 1;
	rc.max_msg = CHAT_PKT_MAX;
	assert_int_equal(rel_core_new(&e->core, &rc), 0);
	assert_int_equal(rel_drv_new(&e->drv, e->core, e->sock), 0);
	struct chat_group_config gc;
	chat_group_config_default(&gc);
	gc.core = e->core;
	gc.drv = e->drv;
	gc.data = e->sock;
	gc.id = id;
	gc.nick = "me";
	gc.wall_offset_us = 1; /* one clock for every group of a test */
	gc.on_event = count_event;
	gc.ctx = e;
	assert_int_equal(chat_group_new(&e->g, &gc), 0);
	rel_drv_set_gate(e->drv, chat_group_gate, e->g);
}

static void grp_close(struct grp *e)
{
	chat_group_free(e->g);
	rel_drv_free(e->drv);
	rel_core_free(e->core);
	udp_sock_free(e->victim);
	udp_sock_free(e->sock);
}

/* A beacon of type from id, padded with pad zero bytes, "from" port
 * (with the victim's address) and announcing data port dport. */
static void feed(struct grp *e, uint8_t type, uint64_t id, size_t pad, int port,
		 uint16_t dport, unsigned flags)
{
	static const uint8_t zeros[CHAT_BEACON_MIN];
	uint8_t buf[CHAT_PKT_MAX];
	struct chat_pkt p = { .type = type, .id = id, .port = dport, .nick = "x", .seq = 1,
			      .text = pad ? zeros : NULL, .text_len = pad };
	int n = chat_pkt_encode(&p, buf, sizeof buf);
	assert_true(n > 0);
	struct udp_msg m = { .buf = buf, .cap = sizeof buf, .len = (size_t)n,
			     .addr = e->victim_addr, .flags = flags };
	udp_addr_set_port(&m.addr, port);
	chat_group_beacon_input(e->g, &m, 1000);
}

static void beacon_decisions_counted(void **state)
{
	(void)state;
	struct grp e;
	grp_open(&e, 0x5000000000000000ull);
	struct chat_group_stats st;
	uint16_t vport = (uint16_t)udp_addr_port(&e.victim_addr);
	feed(&e, CHAT_BEACON, 0x5000000000000000ull, CHAT_BEACON_MIN, 1, vport, 0); /* own */
	feed(&e, CHAT_BEACON, 0x9000000000000000ull, CHAT_BEACON_MIN, 1, 0, 0);     /* port 0 */
	feed(&e, CHAT_LEAVE, 0x9000000000000000ull, 0, 1, vport, 0);
	feed(&e, CHAT_MSG, 0x9000000000000000ull, 0, 1, vport, 0);
	feed(&e, CHAT_BEACON, 0x1000000000000000ull, CHAT_BEACON_MIN, 1, vport, 0); /* smaller id */
	feed(&e, CHAT_BEACON, 0x9000000000000000ull, 0, 1, vport, 0);               /* unpadded */
	feed(&e, CHAT_BEACON, 0x9000000000000000ull, CHAT_BEACON_MIN, 1, vport, UDP_MSG_TRUNC);
	chat_group_stats(e.g, &st);
	assert_int_equal(st.beacons.in, 7);
	assert_int_equal(st.beacons.own, 1);
	assert_int_equal(st.beacons.drop_bad, 1);
	assert_int_equal(st.beacons.leave, 1);
	assert_int_equal(st.beacons.drop_type, 1);
	assert_int_equal(st.beacons.wait, 1);
	assert_int_equal(st.beacons.drop_short, 1);
	assert_int_equal(st.beacons.drop_trunc, 1);
	assert_int_equal(st.beacons.connect, 0);
	assert_int_equal(chat_group_sessions(e.g), 0);
	/* a padded one from a larger id: a gated session; more from there is credit */
	feed(&e, CHAT_BEACON, 0x9000000000000000ull, CHAT_BEACON_MIN, 1, vport, 0);
	feed(&e, CHAT_BEACON, 0x9000000000000000ull, CHAT_BEACON_MIN, 1, vport, 0);
	chat_group_stats(e.g, &st);
	assert_int_equal(st.beacons.connect, 1);
	assert_int_equal(st.beacons.credit, 1);
	assert_int_equal(st.gated, 1);
	assert_int_equal(chat_group_sessions(e.g), 1);
	/* at most CHAT_MAX_GATED wait at once: the rest are busy drops */
	for (int i = 0; i < CHAT_MAX_GATED + 3; i++)
		feed(&e, CHAT_BEACON, 0x9000000000000001ull + (uint64_t)i, CHAT_BEACON_MIN, 1,
		     (uint16_t)(vport + 1 + i), 0);
	chat_group_stats(e.g, &st);
	assert_int_equal(st.gated, CHAT_MAX_GATED);
	assert_int_equal(st.beacons.connect, CHAT_MAX_GATED);
	assert_int_equal(st.beacons.drop_busy, 4);
	assert_int_equal(e.events, 0); /* no one joined: only counted */
	grp_close(&e);
}

/* What a gated session sends is paid for by the beacon: the HELLO goes,
 * and no more than the beacon's bytes ever leave for that address. */
static void gate_spends_beacon_credit(void **state)
{
	(void)state;
	struct grp e;
	grp_open(&e, 0x5000000000000000ull);
	uint16_t vport = (uint16_t)udp_addr_port(&e.victim_addr);
	feed(&e, CHAT_BEACON, 0x9000000000000000ull, CHAT_BEACON_MIN, 1, vport, 0);
	for (int i = 0; i < 5; i++) {
		rel_drv_flush(e.drv);
		rel_update(e.core, rel_drv_now() + (uint64_t)i * 2000000);
	}
	rel_drv_flush(e.drv);
	struct chat_group_stats st;
	chat_group_stats(e.g, &st);
	assert_true(st.gate.sent >= 1);
	size_t beacon = CHAT_HDR_LEN + 1 + 2 + CHAT_BEACON_MIN;
	assert_true(st.gate.sent_bytes <= beacon);
	assert_true(st.gate.held >= 1);
	grp_close(&e);
}

static void group_bad_config(void **state)
{
	(void)state;
	struct chat_group *g = (struct chat_group *)&g;
	struct chat_group_config gc;
	chat_group_config_default(&gc);
	assert_int_equal(chat_group_new(&g, &gc), UDP_EINVAL);
	assert_null(g);
	chat_group_free(NULL);
}

/* ---- catch-up: the log, the seen table, selection, history ---- */

static struct chat_log *small_log(size_t lines, uint64_t age, size_t bytes)
{
	struct chat_log_config c = { .max_lines = lines, .max_age_us = age, .max_bytes = bytes };
	struct chat_log *l = NULL;
	assert_int_equal(chat_log_new(&l, &c), 0);
	return l;
}

static void log_bounds(void **state)
{
	(void)state;
	struct chat_log_config c;
	struct chat_log *l = (struct chat_log *)&l;
	chat_log_config_default(&c);
	assert_int_equal(c.max_lines, 1000);
	assert_true(c.max_age_us == 600000000ull);
	assert_int_equal(c.max_bytes, 1 << 20);
	c.max_lines = CHAT_LOG_LINES + 1;
	assert_int_equal(chat_log_new(&l, &c), UDP_EINVAL);
	assert_null(l);
	/* the line count: the oldest go first, in order */
	l = small_log(4, 1000, 1000);
	for (uint64_t i = 1; i <= 6; i++)
		assert_int_equal(chat_log_add(l, CHAT_MSG, i, 100 + i, 10 * i, "ab", 2), 0);
	assert_int_equal(chat_log_count(l), 4);
	for (size_t i = 0; i < 4; i++)
		assert_true(chat_log_at(l, i)->seq == 3 + i);
	assert_null(chat_log_at(l, 4));
	/* the age: at 10*6 + 1000, line 6 (mono 60) is just young enough */
	chat_log_expire(l, 1060);
	assert_int_equal(chat_log_count(l), 1);
	chat_log_expire(l, 1061);
	assert_int_equal(chat_log_count(l), 0);
	chat_log_free(l);
	/* the bytes: 10 + 10 + 10 > 25, so the first goes; one too big is refused */
	l = small_log(100, 1000, 25);
	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(chat_log_add(l, CHAT_ME, i, i, i, "0123456789", 10), 0);
	assert_int_equal(chat_log_count(l), 2);
	assert_int_equal(chat_log_bytes(l), 20);
	assert_memory_equal(chat_log_at(l, 0)->text, "0123456789", 10);
	assert_int_equal(chat_log_at(l, 0)->type, CHAT_ME);
	static const char big[26];
	assert_int_equal(chat_log_add(l, CHAT_MSG, 4, 4, 4, big, sizeof big), UDP_EINVAL);
	assert_int_equal(chat_log_count(l), 2);
	chat_log_free(l);
	chat_log_free(NULL);
}

/* A peer started at T gets, by catch-up, the lines said at T or later, and
 * by /history N the last N said before T: the two never overlap. */
static void catchup_selection(void **state)
{
	(void)state;
	struct chat_log *l = small_log(1000, 1000000, 1 << 20);
	size_t end;
	assert_int_equal(chat_log_since(l, 0), 0);
	assert_int_equal(chat_log_before(l, 5, 3, &end), 0);
	assert_int_equal(end, 0);
	for (uint64_t i = 1; i <= 10; i++) /* said at 100, 200, ... 1000 */
		assert_int_equal(chat_log_add(l, CHAT_MSG, i, 100 * i, i, "x", 1), 0);
	assert_int_equal(chat_log_since(l, 0), 0);     /* started before all: all */
	assert_int_equal(chat_log_since(l, 500), 4);   /* at line 5: 5..10 */
	assert_int_equal(chat_log_since(l, 501), 5);   /* just after: 6..10 */
	assert_int_equal(chat_log_since(l, 1001), 10); /* after all: none */
	assert_int_equal(chat_log_before(l, 501, 3, &end), 2); /* 3..5 */
	assert_int_equal(end, 5);
	assert_int_equal(chat_log_before(l, 501, 100, &end), 0); /* 1..5 */
	assert_int_equal(chat_log_before(l, 50, 100, &end), 0);  /* none */
	assert_int_equal(end, 0);
	chat_log_free(l);
}

static void seen_dedup(void **state)
{
	(void)state;
	struct chat_seen *s;
	assert_int_equal(chat_seen_new(&s), 0);
	/* live lines, then a catch-up that starts over: each seq once */
	assert_int_equal(chat_seen_check(s, 7, 3, 0, 1), 1);
	assert_int_equal(chat_seen_check(s, 7, 4, 0, 1), 1);
	for (uint64_t q = 1; q <= 4; q++)
		assert_int_equal(chat_seen_check(s, 7, q, 0, 2), 0);
	assert_int_equal(chat_seen_check(s, 7, 5, 0, 2), 1);
	assert_int_equal(chat_seen_check(s, 9, 1, 0, 2), 1); /* another sender */
	/* history: only below the first live line, each once */
	assert_int_equal(chat_seen_check(s, 7, 1, 1, 3), 1);
	assert_int_equal(chat_seen_check(s, 7, 2, 1, 3), 1);
	assert_int_equal(chat_seen_check(s, 7, 3, 1, 3), 0);
	assert_int_equal(chat_seen_check(s, 7, 2, 1, 4), 0);
	/* history first, live later: still each once */
	assert_int_equal(chat_seen_check(s, 8, 1, 1, 5), 1);
	assert_int_equal(chat_seen_check(s, 8, 2, 1, 5), 1);
	assert_int_equal(chat_seen_check(s, 8, 2, 0, 5), 0);
	assert_int_equal(chat_seen_check(s, 8, 3, 0, 5), 1);
	/* full: the sender heard longest ago is forgotten, the others kept */
	for (uint64_t id = 100; id < 100 + CHAT_SEEN_MAX; id++)
		assert_int_equal(chat_seen_check(s, id, 1, 0, 10 + id), 1);
	assert_int_equal(chat_seen_check(s, 100 + CHAT_SEEN_MAX - 1, 1, 0, 99999), 0);
	chat_seen_free(s);
}

/* Two groups over loopback.  B starts; A says three lines while it knows
 * no one; then A meets B: B shows them once, in order, marked late, with
 * their original times; a line said before B started is not among them
 * but comes with /history, which is bounded and rate-limited. */
struct lines {
	int n;
	uint64_t seq_ts[8];
	uint8_t flags[8];
	char text[8][8];
};

static void record_line(void *ctx, const struct chat_group_event *ev)
{
	struct lines *l = ctx;
	if (ev->type != CHAT_GROUP_LINE || l->n == 8)
		return;
	l->seq_ts[l->n] = ev->ts_us;
	l->flags[l->n] = ev->line_flags;
	snprintf(l->text[l->n], sizeof l->text[0], "%.*s", (int)ev->text_len, ev->text);
	l->n++;
}

static void grp_run(struct grp *a, struct grp *b, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct grp *e[2] = { a, b };
		for (int k = 0; k < 2; k++) {
			chat_group_tick(e[k]->g, rel_drv_now());
			rel_drv_flush(e[k]->drv);
			rel_drv_service(e[k]->drv);
			chat_group_poll(e[k]->g, rel_drv_now());
			rel_drv_flush(e[k]->drv);
		}
	}
}

static void catchup_between_groups(void **state)
{
	(void)state;
	struct grp a, b;
	struct lines got = { 0 };
	grp_open(&a, 0x1000000000000000ull);
	uint64_t t = rel_drv_now();
	chat_group_say(a.g, CHAT_MSG, "old", 3, t);
	/* B starts after "old": its start is later by its own clock reading */
	while (rel_drv_now() == t)
		;
	grp_open(&b, 0x2000000000000000ull);
	chat_group_free(b.g); /* again, with a recorder of lines */
	struct chat_group_config gc;
	chat_group_config_default(&gc);
	gc.core = b.core;
	gc.drv = b.drv;
	gc.data = b.sock;
	gc.id = 0x2000000000000000ull;
	gc.nick = "bee";
	gc.wall_offset_us = 1;
	gc.on_event = record_line;
	gc.ctx = &got;
	assert_int_equal(chat_group_new(&b.g, &gc), 0);
	rel_drv_set_gate(b.drv, chat_group_gate, b.g);
	while (rel_drv_now() == t + 1)
		;
	const char *said[] = { "one", "two", "three" };
	for (int i = 0; i < 3; i++)
		chat_group_say(a.g, CHAT_MSG, said[i], strlen(said[i]), rel_drv_now());
	struct udp_addr baddr;
	assert_int_equal(udp_sock_local_addr(b.sock, &baddr), 0);
	assert_int_equal(chat_group_add_peer(a.g, &baddr, rel_drv_now()), 0);
	for (int i = 0; i < 400 && got.n < 3; i++)
		grp_run(&a, &b, 1);
	assert_int_equal(got.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(got.text[i], said[i]);
		assert_int_equal(got.flags[i], CHAT_LINE_LATE);
		assert_true(i == 0 || got.seq_ts[i] >= got.seq_ts[i - 1]);
	}
	/* live from now on, and nothing twice */
	chat_group_say(a.g, CHAT_MSG, "four", 4, rel_drv_now());
	for (int i = 0; i < 400 && got.n < 4; i++)
		grp_run(&a, &b, 1);
	grp_run(&a, &b, 20);
	assert_int_equal(got.n, 4);
	assert_int_equal(got.flags[3], 0);
	/* /history: bounds, and the line from before B started, once */
	assert_int_equal(chat_group_history(b.g, 0, rel_drv_now()), UDP_EINVAL);
	assert_int_equal(chat_group_history(b.g, CHAT_HISTORY_MAX + 1, rel_drv_now()),
			 UDP_EINVAL);
	assert_int_equal(chat_group_history(b.g, 5, rel_drv_now()), 1);
	assert_int_equal(chat_group_history(b.g, 5, rel_drv_now()), UDP_EAGAIN);
	for (int i = 0; i < 400 && got.n < 5; i++)
		grp_run(&a, &b, 1);
	grp_run(&a, &b, 20);
	assert_int_equal(got.n, 5);
	assert_string_equal(got.text[4], "old");
	assert_int_equal(got.flags[4], CHAT_LINE_HISTORY);
	struct chat_group_stats st;
	chat_group_stats(a.g, &st);
	assert_int_equal(st.late_sent, 3);
	assert_int_equal(st.history_sent, 1);
	assert_int_equal(st.sent, 5);
	grp_close(&a);
	grp_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_every_type),
		cmocka_unit_test(layout_matches_docs),
		cmocka_unit_test(line_fields_strict),
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
		cmocka_unit_test(beacon_decisions_counted),
		cmocka_unit_test(gate_spends_beacon_credit),
		cmocka_unit_test(group_bad_config),
		cmocka_unit_test(log_bounds),
		cmocka_unit_test(catchup_selection),
		cmocka_unit_test(seen_dedup),
		cmocka_unit_test(catchup_between_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
