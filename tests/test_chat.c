/* cmocka tests for chat: the packet codec and the roster (presence
 * timers on a fake clock, name disambiguation, lookup). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chat_group.h"
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
	struct chat_pkt p = { .type = type, .id = id, .port = dport, .nick = "x",
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
		cmocka_unit_test(beacon_decisions_counted),
		cmocka_unit_test(gate_spends_beacon_credit),
		cmocka_unit_test(group_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
