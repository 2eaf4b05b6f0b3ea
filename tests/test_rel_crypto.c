/* test_rel_crypto.c - the reliable core's session-protection hook
 * (struct rel_crypto_ops, docs/PROTOCOL.md section 9) with a toy hook
 * (support_toycrypto.h): the core routes the key exchange through CONNECT
 * and ACCEPT, seals every packet of a keyed session, drops what is not
 * sealed, forged or replayed, and keeps every size limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"
#include "support_relpair.h"
#include "support_toycrypto.h"

static const uint8_t cli_addr[4] = {'C', 9, 9, 9};

/* ---- a server core fed by hand ---- */

static struct rel_core *server_new(struct toy_ctx *x)
{
	struct rel_config cfg;
	relpair_config(&cfg, 77);
	cfg.accept = 1;
	if (x)
		toy_attach(x, &cfg);
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	return c;
}

/* Takes the only datagram of the out-queue into buf; returns its length. */
static size_t take_one(struct rel_core *c, uint8_t *buf, size_t cap)
{
	assert_int_equal(rel_out_pending(c), 1);
	struct rel_dgram d;
	assert_int_equal(rel_out_peek(c, 0, &d), 0);
	assert_true(d.len <= cap);
	memcpy(buf, d.data, d.len);
	rel_out_pop(c, 1);
	return d.len;
}

static void get_cookie(struct rel_core *c, uint32_t sid, uint64_t now, uint32_t *bucket,
		       uint64_t *cookie)
{
	struct rel_pkt k;
	uint8_t b[128];
	memset(&k, 0, sizeof k);
	k.type = REL_PT_HELLO;
	k.src_sid = sid;
	k.hello_len = REL_HELLO_LEN;
	int n = rel_wire_encode(&k, b, sizeof b);
	assert_int_equal(rel_input(c, cli_addr, sizeof cli_addr, b, (size_t)n, now), 0);
	size_t len = take_one(c, b, sizeof b);
	assert_int_equal(rel_wire_decode(&k, b, len), 0);
	assert_int_equal(k.type, REL_PT_COOKIE);
	*bucket = k.bucket;
	*cookie = k.cookie;
}

#define SRV_NOW 5000000

/* A keyed server (refusing every exchange when refuse is set) that has
 * answered sid's HELLO at SRV_NOW with *bucket and *cookie; cx is the
 * client's toy hook. */
static struct rel_core *server_cookie(struct toy_ctx *sx, struct toy_ctx *cx, int refuse,
				      uint32_t sid, uint32_t *bucket, uint64_t *cookie)
{
	toy_ctx_init(sx, 1);
	toy_ctx_init(cx, 1);
	sx->refuse = refuse;
	struct rel_core *s = server_new(sx);
	get_cookie(s, sid, SRV_NOW, bucket, cookie);
	return s;
}

/* A CONNECT as a client core makes it: with message 1 from the toy hook
 * (client state in *cs) when cx is given, else a plain one. */
static size_t make_connect(struct toy_ctx *cx, void **cs, uint32_t sid, uint32_t bucket,
			   uint64_t cookie, uint8_t *out, size_t cap)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_CONNECT;
	k.src_sid = sid;
	k.bucket = bucket;
	k.cookie = cookie;
	k.init_seq = 5000;
	k.window_pkts = 1024;
	k.max_msg = 1 << 20;
	k.budget = 1 << 22;
	if (!cx)
		return (size_t)rel_wire_encode(&k, out, cap);
	k.flags = REL_F_NOISE;
	uint8_t pre[REL_CONNECT_LEN], m1[TOY_MSG1];
	assert_int_equal(rel_wire_encode(&k, pre, sizeof pre), REL_CONNECT_LEN);
	assert_int_equal(toy_hs_init(cx, cs, NULL, pre, 40, m1, sizeof m1, 0), TOY_MSG1);
	k.payload = m1;
	k.payload_len = TOY_MSG1;
	int n = rel_wire_encode(&k, out, cap);
	assert_int_equal(n, REL_CONNECT_LEN + TOY_MSG1);
	return (size_t)n;
}

static void bad_cookie_never_reaches_hook(void **state)
{
	(void)state;
	struct toy_ctx sx, cx;
	uint32_t bucket;
	uint64_t cookie;
	struct rel_core *s = server_cookie(&sx, &cx, 0, 0x1234, &bucket, &cookie);
	uint64_t now = SRV_NOW;
	uint8_t b[256];
	void *cs = NULL;
	size_t n = make_connect(&cx, &cs, 0x1234, bucket, cookie ^ 1, b, sizeof b);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now), REL_ECOOKIE);
	/* a cookie for another sid */
	toy_free(&cx, cs);
	n = make_connect(&cx, &cs, 0x1235, bucket, cookie, b, sizeof b);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now), REL_ECOOKIE);
	struct rel_core_stats st;
	rel_core_stats(s, &st);
	assert_int_equal(st.drop_cookie, 2);
	assert_int_equal(st.peers, 0);
	assert_int_equal(sx.responds, 0); /* no public-key work for a bad cookie */
	assert_int_equal(sx.live, 0);
	assert_int_equal(rel_out_pending(s), 0);
	toy_free(&cx, cs);
	rel_core_free(s);
}

static void refused_connect_unanswered(void **state)
{
	(void)state;
	struct toy_ctx sx, cx;
	uint32_t bucket;
	uint64_t cookie;
	struct rel_core *s = server_cookie(&sx, &cx, 1, 0x77, &bucket, &cookie);
	uint64_t now = SRV_NOW;
	uint8_t b[256];
	void *cs = NULL;
	size_t n = make_connect(&cx, &cs, 0x77, bucket, cookie, b, sizeof b);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now), REL_EREFUSED);
	struct rel_core_stats st;
	rel_core_stats(s, &st);
	assert_int_equal(st.drop_refused, 1);
	assert_int_equal(st.peers, 0);
	assert_int_equal(sx.responds, 1);
	assert_int_equal(rel_out_pending(s), 0);
	struct rel_event ev;
	assert_int_equal(rel_poll_event(s, &ev), 0);
	/* a forged message 1 (another secret) is refused the same way */
	sx.refuse = 0;
	toy_free(&cx, cs);
	cx.secret[0] ^= 1;
	n = make_connect(&cx, &cs, 0x77, bucket, cookie, b, sizeof b);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now), REL_EREFUSED);
	/* and a CONNECT without the key exchange, before any cookie work */
	size_t m = make_connect(NULL, NULL, 0x77, bucket, cookie, b, sizeof b);
	assert_int_equal(m, REL_CONNECT_LEN);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, m, now), REL_EREFUSED);
	rel_core_stats(s, &st);
	assert_int_equal(st.drop_refused, 3);
	assert_int_equal(st.peers, 0);
	assert_int_equal(rel_out_pending(s), 0);
	assert_int_equal(sx.live, 0);
	toy_free(&cx, cs);
	rel_core_free(s);
}

/* A repeated CONNECT gets the same ACCEPT bytes (no second exchange) until
 * the client's first sealed packet; after it, none. */
static void repeated_connect_same_accept(void **state)
{
	(void)state;
	struct toy_ctx sx, cx;
	uint32_t bucket;
	uint64_t cookie;
	struct rel_core *s = server_cookie(&sx, &cx, 0, 0x99, &bucket, &cookie);
	uint64_t now = SRV_NOW;
	uint8_t b[256], a1[256], a2[256];
	void *cs = NULL;
	size_t n = make_connect(&cx, &cs, 0x99, bucket, cookie, b, sizeof b);
	assert_int_equal(n, 140);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now), 0);
	size_t l1 = take_one(s, a1, sizeof a1);
	assert_int_equal(l1, 108); /* smaller than the CONNECT it answers */
	assert_int_equal(a1[2], REL_PT_ACCEPT);
	assert_int_equal(a1[3], REL_F_NOISE);
	/* the hook saw the CONNECT's fields as prologue, the ACCEPT's as payload */
	assert_int_equal(sx.prologue_len, 40);
	assert_memory_equal(sx.prologue, b, 40);
	assert_int_equal(sx.payload_len, 28);
	assert_memory_equal(sx.payload, a1, 28);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now + 1000), 0);
	size_t l2 = take_one(s, a2, sizeof a2);
	assert_int_equal(l2, l1);
	assert_memory_equal(a1, a2, l1);
	assert_int_equal(sx.responds, 1);
	/* the client finishes and sends one sealed ACK */
	struct rel_pkt k;
	assert_int_equal(rel_wire_decode(&k, a1, l1), 0);
	uint8_t pay[64];
	assert_int_equal(toy_hs_finish(&cx, cs, k.payload, k.payload_len, pay, sizeof pay, 0), 28);
	assert_memory_equal(pay, a1, 28);
	struct rel_pkt ack;
	memset(&ack, 0, sizeof ack);
	ack.type = REL_PT_ACK;
	ack.dst_sid = k.src_sid;
	ack.src_sid = 0x99;
	ack.cum_ack = k.init_seq;
	ack.window = 100000;
	uint8_t in[128], sealed[256];
	int il = rel_wire_encode(&ack, in, sizeof in);
	int sl = toy_seal(&cx, cs, in, (size_t)il, sealed, sizeof sealed, 0);
	assert_int_equal(sl, il + TOY_OVERHEAD);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, sealed, (size_t)sl, now + 2000), 0);
	/* the same datagram again: a replay */
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, sealed, (size_t)sl, now + 2100),
			 REL_EAUTH);
	/* the clear ACK with the right sids: not sealed */
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, in, (size_t)il, now + 2200), REL_EAUTH);
	/* the CONNECT once more: the client has its keys, nothing to repeat */
	size_t before = rel_out_pending(s);
	assert_int_equal(rel_input(s, cli_addr, sizeof cli_addr, b, n, now + 3000), REL_EUNEXPECTED);
	assert_int_equal(rel_out_pending(s), before);
	struct rel_core_stats st;
	rel_core_stats(s, &st);
	assert_int_equal(st.drop_auth, 2);
	assert_int_equal(st.peers, 1);
	assert_int_equal(sx.responds, 1);
	toy_free(&cx, cs);
	rel_core_free(s);
	assert_int_equal(sx.live, 0); /* freeing the core gave the state back */
}

/* ---- pairs in virtual time ---- */

struct tap {
	int a_node;
	unsigned by_type[16];
	unsigned clear_after; /* clear packets of types 5..11 */
	size_t max_len;
	uint8_t connect[256], accept[256];
	size_t connect_len, accept_len;
	uint8_t last_ab[2048]; /* the latest sealed datagram a -> b */
	size_t last_ab_len;
};

static void tap_fn(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	(void)to;
	struct tap *t = ctx;
	if (len > t->max_len)
		t->max_len = len;
	if (len < 3)
		return;
	t->by_type[d[2] & 15]++;
	if (d[2] >= REL_PT_DATA && d[2] <= REL_PT_PROBE)
		t->clear_after++;
	if (d[2] == REL_PT_CONNECT && len <= sizeof t->connect) {
		memcpy(t->connect, d, len);
		t->connect_len = len;
	}
	if (d[2] == REL_PT_ACCEPT && len <= sizeof t->accept) {
		memcpy(t->accept, d, len);
		t->accept_len = len;
	}
	if (d[2] == REL_PT_SEALED && from == t->a_node && len <= sizeof t->last_ab) {
		memcpy(t->last_ab, d, len);
		t->last_ab_len = len;
	}
}

static void pair_config(struct rel_config *ca, struct rel_config *cb, struct toy_ctx *xa,
			struct toy_ctx *xb, uint64_t seed)
{
	relpair_config(ca, seed * 2 + 1);
	relpair_config(cb, seed * 2 + 2);
	if (xa)
		toy_attach(xa, ca);
	if (xb)
		toy_attach(xb, cb);
}

/* pair_config with both sides keyed by toy hooks of n sessions each. */
static void keyed_config(struct rel_config *ca, struct rel_config *cb, struct toy_ctx *xa,
			 struct toy_ctx *xb, unsigned n, uint64_t seed)
{
	toy_ctx_init(xa, n);
	toy_ctx_init(xb, n);
	pair_config(ca, cb, xa, xb, seed);
}

/* Two keyed cores, b accepting, for the tests that drive them without
 * relpair_open. */
static void keyed_cores(struct toy_ctx *xa, struct toy_ctx *xb, uint64_t seed, struct rel_core **a,
			struct rel_core **b)
{
	struct rel_config ca, cb;
	keyed_config(&ca, &cb, xa, xb, 3, seed);
	cb.accept = 1;
	assert_int_equal(rel_core_new(a, &ca), 0);
	assert_int_equal(rel_core_new(b, &cb), 0);
}

/* A simulator holding a and b; b's address in *baddr. */
static struct sim *sim_of(uint64_t seed, struct rel_core *a, struct rel_core *b, int *na,
			  const uint8_t **baddr, size_t *blen)
{
	struct sim *s = sim_new(seed, NULL);
	*na = sim_add(s, a);
	int nb = sim_add(s, b);
	*baddr = sim_addr(s, nb, blen);
	return s;
}

/* Watches s's datagrams from now on, node a_node's as last_ab. */
static void tap_on(struct tap *t, struct sim *s, int a_node)
{
	memset(t, 0, sizeof *t);
	t->a_node = a_node;
	sim_set_tap(s, tap_fn, t);
}

/* Runs until t, collecting a's messages from b into got (append). */
static void run(struct relpair *p, uint64_t t, uint8_t *got, size_t *got_len, size_t cap,
		unsigned *dead)
{
	while (sim_step(p->s, t)) {
		struct rel_event ev;
		for (int side = 0; side < 2; side++)
			while (rel_poll_event(side ? p->b : p->a, &ev)) {
				if (ev.type == REL_EV_MESSAGE) {
					if (side && got && *got_len + ev.len <= cap) {
						memcpy(got + *got_len, ev.data, ev.len);
						*got_len += ev.len;
					}
					rel_buf_free(ev.data);
				}
				if (ev.type == REL_EV_DEAD && dead)
					(*dead)++;
			}
	}
}

static void handshake_and_sealed_traffic(void **state)
{
	(void)state;
	struct toy_ctx xa, xb;
	struct rel_config ca, cb;
	keyed_config(&ca, &cb, &xa, &xb, 3, 11);
	struct relpair p;
	struct tap t;
	/* the tap must see the handshake: build the pair by hand */
	assert_int_equal(relpair_open(&p, 11, NULL, &ca, &cb), 0);
	assert_int_equal(xa.inits, 1);
	assert_int_equal(xb.responds, 1);
	assert_int_equal(xa.finishes, 1);
	assert_non_null(rel_peer_crypto(p.a, p.pa));
	assert_non_null(rel_peer_crypto(p.b, p.pb));
	assert_null(rel_peer_crypto(p.a, 999));
	assert_int_equal(rel_dgram_max(p.a) + TOY_OVERHEAD, 1200 - REL_DGRAM_OVERHEAD);
	tap_on(&t, p.s, p.na);
	uint8_t msg[5000], got[10000];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	size_t got_len = 0;
	uint64_t now = sim_now(p.s);
	assert_int_equal(rel_send(p.a, p.pa, msg, sizeof msg, REL_SEQPACKET, now, NULL), 0);
	assert_int_equal(rel_send(p.a, p.pa, msg, rel_dgram_max(p.a), REL_DGRAM, now, NULL), 0);
	assert_int_equal(rel_send(p.a, p.pa, msg, rel_dgram_max(p.a) + 1, REL_DGRAM, now, NULL),
			 REL_ETOOBIG);
	assert_int_equal(rel_send(p.b, p.pb, msg, 100, REL_RDM, now, NULL), 0);
	run(&p, now + 3000000, got, &got_len, sizeof got, NULL);
	assert_int_equal(got_len, sizeof msg + rel_dgram_max(p.a));
	assert_memory_equal(got, msg, sizeof msg);
	assert_memory_equal(got + sizeof msg, msg, rel_dgram_max(p.a));
	assert_int_equal(t.clear_after, 0); /* every packet went sealed */
	assert_true(t.by_type[REL_PT_SEALED] > 0);
	assert_true(t.max_len <= 1472); /* PMTUD's probes reach path_mtu */
	assert_true(xa.seals > 0 && xb.opens > 0);

	/* forged and replayed SEALED datagrams are dropped and counted */
	struct rel_stats sb0, sb1;
	assert_int_equal(rel_peer_stats(p.b, p.pb, &sb0), 0);
	size_t alen;
	const uint8_t *aaddr = sim_addr(p.s, p.na, &alen);
	uint8_t d[2048];
	assert_true(t.last_ab_len > 0);
	memcpy(d, t.last_ab, t.last_ab_len);
	now = sim_now(p.s);
	assert_int_equal(rel_input(p.b, aaddr, alen, d, t.last_ab_len, now), REL_EAUTH); /* replay */
	d[t.last_ab_len / 2] ^= 0x40;
	assert_int_equal(rel_input(p.b, aaddr, alen, d, t.last_ab_len, now), REL_EAUTH); /* tampered */
	memcpy(d, t.last_ab, t.last_ab_len);
	d[13] ^= 1; /* the counter: a new one, but the tag does not hold */
	assert_int_equal(rel_input(p.b, aaddr, alen, d, t.last_ab_len, now), REL_EAUTH);
	memcpy(d, t.last_ab, t.last_ab_len);
	d[9] ^= 1; /* another src sid */
	assert_int_equal(rel_input(p.b, aaddr, alen, d, t.last_ab_len, now), REL_ESESSION);
	assert_int_equal(rel_input(p.b, aaddr, alen, d, 20, now), REL_EMALFORMED); /* too short */
	assert_int_equal(rel_peer_stats(p.b, p.pb, &sb1), 0);
	assert_int_equal(sb1.drop_auth - sb0.drop_auth, 3);
	assert_int_equal(sb1.msgs_delivered, sb0.msgs_delivered);

	/* clear DATA with the session's sids: REL_EAUTH, not delivered */
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_DATA;
	k.dst_sid = (uint32_t)t.last_ab[4] << 24 | (uint32_t)t.last_ab[5] << 16 |
		    (uint32_t)t.last_ab[6] << 8 | t.last_ab[7];
	k.src_sid = (uint32_t)t.last_ab[8] << 24 | (uint32_t)t.last_ab[9] << 16 |
		    (uint32_t)t.last_ab[10] << 8 | t.last_ab[11];
	k.seq = 12345;
	k.msg_len = 3;
	k.frag_count = 1;
	k.payload = (const uint8_t *)"abc";
	k.payload_len = 3;
	int n = rel_wire_encode(&k, d, sizeof d);
	assert_true(n > 0);
	assert_int_equal(rel_input(p.b, aaddr, alen, d, (size_t)n, now), REL_EAUTH);
	assert_int_equal(rel_peer_stats(p.b, p.pb, &sb1), 0);
	assert_int_equal(sb1.drop_auth - sb0.drop_auth, 4);
	struct rel_core_stats cs;
	rel_core_stats(p.b, &cs);
	assert_int_equal(cs.drop_auth, 4);
	got_len = 0;
	run(&p, now + 1000000, got, &got_len, sizeof got, NULL);
	assert_int_equal(got_len, 0);

	/* a close frees the hook's state on both sides */
	assert_int_equal(rel_close(p.a, p.pa, sim_now(p.s)), 0);
	run(&p, sim_now(p.s) + 60000000, NULL, NULL, 0, NULL);
	assert_null(rel_peer_crypto(p.a, p.pa));
	assert_int_equal(xa.live, 0);
	assert_int_equal(xb.live, 0);
	relpair_close(&p);
}

/* The handshake's bytes through the tap: CONNECT 140, ACCEPT 108, and the
 * hook got the CONNECT's clear fields and the ACCEPT's. */
static void handshake_bytes(void **state)
{
	(void)state;
	struct toy_ctx xa, xb;
	struct rel_core *a, *b;
	keyed_cores(&xa, &xb, 12, &a, &b);
	size_t alen;
	const uint8_t *baddr;
	int na;
	struct sim *s = sim_of(12, a, b, &na, &baddr, &alen);
	struct tap t;
	tap_on(&t, s, na);
	uint32_t pa;
	/* the server's name as the argument, overwritten once given: the
	 * core keeps its own copy until hs_init runs */
	uint8_t name[8];
	memcpy(name, "server01", 8);
	assert_int_equal(rel_connect_ex(a, baddr, alen, name, sim_now(s), &pa), 0);
	memset(name, 0, sizeof name);
	int conn_a = 0, conn_b = 0;
	while (sim_step(s, 10000000)) {
		struct rel_event ev;
		while (rel_poll_event(a, &ev))
			conn_a += ev.type == REL_EV_CONNECTED;
		while (rel_poll_event(b, &ev))
			conn_b += ev.type == REL_EV_CONNECTED;
	}
	assert_int_equal(conn_a, 1);
	assert_int_equal(conn_b, 1);
	assert_int_equal(t.connect_len, 140);
	assert_int_equal(t.accept_len, 108);
	assert_int_equal(t.connect[3], REL_F_NOISE);
	assert_int_equal(t.accept[3], REL_F_NOISE);
	assert_int_equal(xb.prologue_len, 40);
	assert_memory_equal(xb.prologue, t.connect, 40);
	assert_int_equal(xb.payload_len, 28);
	assert_memory_equal(xb.payload, t.accept, 28);
	assert_int_equal(t.clear_after, 0);
	assert_true(t.by_type[REL_PT_SEALED] > 0); /* the client's ACK at least */
	rel_core_free(a);
	rel_core_free(b);
	sim_free(s);
	assert_int_equal(xa.live, 0);
	assert_int_equal(xb.live, 0);
}

/* A client naming a server the hook does not know is refused; a hook
 * that cannot start ends the session at once. */
static void wrong_server_and_failed_init(void **state)
{
	(void)state;
	struct toy_ctx xa, xb;
	struct rel_core *a, *b;
	keyed_cores(&xa, &xb, 13, &a, &b);
	int na;
	size_t alen;
	const uint8_t *baddr;
	struct sim *s = sim_of(13, a, b, &na, &baddr, &alen);
	uint32_t pa;
	assert_int_equal(rel_connect_ex(a, baddr, alen, "serverXX", sim_now(s), &pa), 0);
	unsigned dead = 0, conn = 0;
	while (sim_step(s, 100000000)) {
		struct rel_event ev;
		while (rel_poll_event(a, &ev)) {
			dead += ev.type == REL_EV_DEAD;
			conn += ev.type == REL_EV_CONNECTED;
		}
		while (rel_poll_event(b, &ev))
			conn += ev.type == REL_EV_CONNECTED;
	}
	assert_int_equal(conn, 0);
	assert_int_equal(dead, 1);
	struct rel_core_stats st;
	rel_core_stats(b, &st);
	assert_true(st.drop_refused >= 1);
	assert_int_equal(st.peers, 0);
	assert_int_equal(xa.live, 0);
	assert_int_equal(xb.live, 0);

	/* hs_init fails: REL_EV_DEAD right after the COOKIE, not dead_us later */
	xa.fail_init = 1;
	uint64_t t0 = sim_now(s);
	assert_int_equal(rel_connect(a, baddr, alen, t0, &pa), 0);
	dead = 0;
	uint64_t dead_at = 0;
	while (sim_step(s, t0 + 100000000)) {
		struct rel_event ev;
		while (rel_poll_event(a, &ev))
			if (ev.type == REL_EV_DEAD && !dead++)
				dead_at = sim_now(s);
		while (rel_poll_event(b, &ev))
			;
	}
	assert_int_equal(dead, 1);
	assert_true(dead_at - t0 < 1000000);
	assert_int_equal(xa.live, 0);
	/* an argument for a hook the core has not got */
	struct rel_config plain;
	relpair_config(&plain, 5);
	struct rel_core *c;
	assert_int_equal(rel_core_new(&c, &plain), 0);
	assert_int_equal(rel_connect_ex(c, baddr, alen, "server01", t0, &pa), UDP_EINVAL);
	rel_core_free(c);
	rel_core_free(a);
	rel_core_free(b);
	sim_free(s);
}

static void mixed_pairs_never_connect(void **state)
{
	(void)state;
	for (int crypto_client = 0; crypto_client < 2; crypto_client++) {
		struct toy_ctx x;
		toy_ctx_init(&x, 3);
		struct rel_config ca, cb;
		pair_config(&ca, &cb, crypto_client ? &x : NULL, crypto_client ? NULL : &x, 14);
		ca.dead_us = cb.dead_us = 10000000;
		struct relpair p;
		assert_int_equal(relpair_open(&p, 14, NULL, &ca, &cb), -1);
		struct rel_core_stats st;
		rel_core_stats(p.b, &st);
		assert_true(st.drop_refused >= 1);
		assert_int_equal(st.peers, 0);
		assert_int_equal(x.responds, 0);
		/* the client gives up (REL_EV_DEAD) in bounded time, the plain
		 * one too, though the server answers each of its HELLOs with a
		 * COOKIE (each once kept it alive: it tried for ever) */
		uint64_t limit = sim_now(p.s) + 20 * ca.dead_us;
		struct rel_core_stats cs;
		do {
			run(&p, sim_now(p.s) + 1000000, NULL, NULL, 0, NULL);
			rel_core_stats(p.a, &cs);
		} while (cs.peers && sim_now(p.s) < limit);
		assert_int_equal(cs.peers, 0);
		relpair_close(&p);
		assert_int_equal(x.live, 0);
	}
}

/* Loss, PMTUD and a transfer: byte for byte, and no datagram over the
 * link's MTU although the packets inside grow with it. */
static void lossy_transfer_with_pmtud(void **state)
{
	(void)state;
	const size_t mtu = 1500;
	char spec[96];
	snprintf(spec, sizeof spec, "loss 3%% delay 10ms mtu %zu", mtu);
	struct sim_link link = {.netem = spec};
	struct toy_ctx xa, xb;
	struct rel_config ca, cb;
	keyed_config(&ca, &cb, &xa, &xb, 5, 21);
	ca.path_mtu = cb.path_mtu = 9000;
	ca.rto_min_us = cb.rto_min_us = 20000;
	ca.cc = cb.cc = &rel_cc_reno;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 21, &link, &ca, &cb), 0);
	struct tap t;
	tap_on(&t, p.s, p.na);
	static uint8_t msg[400000], got[800000];
	uint64_t x = 99;
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)sim_rand(&x);
	size_t got_len = 0;
	uint64_t now = sim_now(p.s);
	/* let the search run first, then send */
	run(&p, now + 20000000, got, &got_len, sizeof got, NULL);
	/* the first probe is the ceiling: a SEALED datagram of exactly it */
	assert_int_equal(t.max_len, 9000);
	t.max_len = 0;
	int pm = rel_peer_pmtu(p.a, p.pa);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	print_message("pmtu %d (link %zu), %llu probes\n", pm, mtu, (unsigned long long)st.pmtu_probes);
	/* the SEALED probe was exactly the size probed: the search ends
	 * within its last step below the link's MTU */
	assert_true((size_t)pm <= mtu && (size_t)pm + 8 >= mtu);
	assert_int_equal(st.pmtu, (uint64_t)pm);
	now = sim_now(p.s);
	assert_int_equal(rel_send(p.a, p.pa, msg, sizeof msg, REL_SEQPACKET, now, NULL), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(rel_send(p.a, p.pa, msg + i * 1000, 1000 + i, REL_SEQPACKET, now, NULL), 0);
	run(&p, now + 60000000, got, &got_len, sizeof got, NULL); /* no search runs now */
	size_t want = sizeof msg;
	for (int i = 0; i < 20; i++)
		want += 1000 + (size_t)i;
	assert_int_equal(got_len, want);
	assert_memory_equal(got, msg, sizeof msg);
	size_t off = sizeof msg;
	for (int i = 0; i < 20; i++) {
		assert_memory_equal(got + off, msg + i * 1000, 1000 + (size_t)i);
		off += 1000 + (size_t)i;
	}
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	print_message("largest datagram %zu, %llu retransmits, %u sealed\n", t.max_len,
		      (unsigned long long)st.retransmits, t.by_type[REL_PT_SEALED]);
	assert_true(t.max_len <= mtu);
	assert_true(t.max_len > 1200); /* the packets did grow */
	assert_int_equal(t.clear_after, 0);
	assert_true(st.retransmits > 0);
	relpair_close(&p);
	assert_int_equal(xa.live, 0);
	assert_int_equal(xb.live, 0);
}

/* A core's limits with a hook: the packet inside is overhead smaller, so
 * the datagrams are what they were. */
static void sizes_respect_overhead(void **state)
{
	(void)state;
	struct toy_ctx x;
	toy_ctx_init(&x, 1);
	struct rel_config plain, keyed;
	relpair_config(&plain, 1);
	relpair_config(&keyed, 1);
	plain.overhead = keyed.overhead = 48;
	toy_attach(&x, &keyed);
	struct rel_core *a, *b;
	assert_int_equal(rel_core_new(&a, &plain), 0);
	assert_int_equal(rel_core_new(&b, &keyed), 0);
	assert_int_equal(rel_dgram_max(a), 1200 - 48 - REL_DGRAM_OVERHEAD);
	assert_int_equal(rel_dgram_max(b), 1200 - 48 - TOY_OVERHEAD - REL_DGRAM_OVERHEAD);
	rel_core_free(a);
	rel_core_free(b);
	/* a base too small for a sealed DATA packet is refused */
	keyed.mtu = keyed.overhead + REL_DATA_OVERHEAD + 64 + TOY_OVERHEAD - 1;
	assert_int_equal(rel_core_new(&b, &keyed), REL_ECONFIG);
	keyed.mtu += 1;
	assert_int_equal(rel_core_new(&b, &keyed), 0);
	rel_core_free(b);
	/* a hook with a function missing is refused */
	struct rel_crypto_ops bad = toy_ops;
	bad.open = NULL;
	keyed.crypto = &bad;
	assert_int_equal(rel_core_new(&b, &keyed), REL_ECONFIG);
}

static void fix_crc(uint8_t *b, size_t n)
{
	uint32_t crc = rel_crc32c(b, n - 4);
	for (int i = 0; i < 4; i++)
		b[n - 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
}

/* NOISE is for CONNECT and ACCEPT only, and then carries bytes. */
static void wire_noise_flag(void **state)
{
	(void)state;
	uint8_t b[256], m[40];
	memset(m, 0xab, sizeof m);
	struct rel_pkt k, d;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_ACCEPT;
	k.flags = REL_F_NOISE;
	k.dst_sid = 1;
	k.src_sid = 2;
	k.init_seq = 3;
	k.payload = m;
	k.payload_len = sizeof m;
	int n = rel_wire_encode(&k, b, sizeof b);
	assert_int_equal(n, REL_ACCEPT_LEN + (int)sizeof m);
	assert_int_equal(rel_wire_decode(&d, b, (size_t)n), 0);
	assert_int_equal(d.flags, REL_F_NOISE);
	assert_int_equal(d.init_seq, 3);
	assert_int_equal(d.payload_len, sizeof m);
	assert_memory_equal(d.payload, m, sizeof m);
	/* NOISE with nothing after the fields */
	k.payload_len = 0;
	n = rel_wire_encode(&k, b, sizeof b);
	assert_int_equal(rel_wire_decode(&d, b, (size_t)n), REL_EMALFORMED);
	/* bytes after the fields without NOISE */
	k.payload_len = sizeof m;
	n = rel_wire_encode(&k, b, sizeof b);
	b[3] = 0;
	fix_crc(b, (size_t)n);
	assert_int_equal(rel_wire_decode(&d, b, (size_t)n), REL_EMALFORMED);
	/* NOISE on a packet of a session */
	memset(&k, 0, sizeof k);
	k.type = REL_PT_PING;
	k.dst_sid = 1;
	k.src_sid = 2;
	n = rel_wire_encode(&k, b, sizeof b);
	assert_int_equal(rel_wire_decode(&d, b, (size_t)n), 0);
	b[3] = REL_F_NOISE;
	fix_crc(b, (size_t)n);
	assert_int_equal(rel_wire_decode(&d, b, (size_t)n), REL_EMALFORMED);
	/* a SEALED's sids, and its smallest size */
	uint32_t ds, ss;
	memset(b, 0, 64);
	b[7] = 5;
	b[11] = 6;
	assert_int_equal(rel_wire_sealed(b, REL_SEALED_MIN(36), 36, &ds, &ss), 0);
	assert_int_equal(ds, 5);
	assert_int_equal(ss, 6);
	assert_int_equal(rel_wire_sealed(b, REL_SEALED_MIN(36) - 1, 36, &ds, &ss), REL_EMALFORMED);
	b[11] = 0;
	assert_int_equal(rel_wire_sealed(b, REL_SEALED_MIN(36), 36, &ds, &ss), REL_EMALFORMED);
}

/* A keyed session follows its client to a new address: the challenge and
 * its answer go sealed like everything else. */
static void migration_sealed(void **state)
{
	(void)state;
	struct toy_ctx xa, xb;
	struct rel_config ca, cb;
	keyed_config(&ca, &cb, &xa, &xb, 3, 15);
	struct relpair p;
	assert_int_equal(relpair_open(&p, 15, NULL, &ca, &cb), 0);
	struct tap t;
	tap_on(&t, p.s, p.na);
	static const uint8_t moved[4] = {'N', 0, 1, 7};
	assert_int_equal(sim_set_addr(p.s, p.na, moved, sizeof moved, SIM_ADDR_MOVE), 0);
	uint8_t msg[3000], got[6000];
	memset(msg, 0x5a, sizeof msg);
	size_t got_len = 0;
	assert_int_equal(rel_send(p.a, p.pa, msg, sizeof msg, REL_RDM, sim_now(p.s), NULL), 0);
	unsigned migrated = 0;
	uint64_t end = sim_now(p.s) + 5000000;
	while (sim_step(p.s, end)) {
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev))
			if (ev.type == REL_EV_MESSAGE)
				rel_buf_free(ev.data);
		while (rel_poll_event(p.b, &ev)) {
			migrated += ev.type == REL_EV_MIGRATED;
			if (ev.type == REL_EV_MESSAGE) {
				memcpy(got + got_len, ev.data, ev.len);
				got_len += ev.len;
				rel_buf_free(ev.data);
			}
		}
	}
	assert_int_equal(migrated, 1);
	assert_int_equal(got_len, sizeof msg);
	assert_memory_equal(got, msg, sizeof msg);
	assert_int_equal(t.clear_after, 0);
	relpair_close(&p);
	assert_int_equal(xa.live + xb.live, 0);
}

/* Moves a's out-queue to b (from a_addr); drop_type: a type not delivered
 * (0: none).  Copies out what it moved of type keep_type into keep. */
static size_t pump(struct rel_core *a, struct rel_core *b, const uint8_t *a_addr, size_t alen,
		   uint8_t drop_type, uint64_t now, uint8_t keep_type, uint8_t *keep)
{
	size_t n = rel_out_pending(a), kept = 0;
	uint8_t buf[2048];
	for (size_t i = 0; i < n; i++) {
		struct rel_dgram d;
		assert_int_equal(rel_out_peek(a, i, &d), 0);
		memcpy(buf, d.data, d.len);
		if (keep && d.data[2] == keep_type) {
			memcpy(keep, d.data, d.len);
			kept = d.len;
		}
		if (d.data[2] != drop_type)
			(void)rel_input(b, a_addr, alen, buf, d.len, now);
	}
	rel_out_pop(a, n);
	return kept;
}

static const uint8_t aa[4] = {'A', 0, 0, 1}, ba[4] = {'B', 0, 0, 2};

/* Keyed cores driven by hand (a at aa, b at ba), a's CONNECT to b begun
 * at *now. */
static void hand_pair(struct toy_ctx *xa, struct toy_ctx *xb, uint64_t seed, struct rel_core **a,
		      struct rel_core **b, uint64_t now)
{
	keyed_cores(xa, xb, seed, a, b);
	uint32_t pa;
	assert_int_equal(rel_connect(*a, ba, sizeof ba, now, &pa), 0);
}

/* One turn at now: both cores' timers, then a's datagrams to b and b's to
 * a (those of type drop_b lost). */
static void hand_turn(struct rel_core *a, struct rel_core *b, uint64_t now, uint8_t drop_b)
{
	rel_update(a, now);
	rel_update(b, now);
	pump(a, b, aa, sizeof aa, 0, now, 0, NULL);
	pump(b, a, ba, sizeof ba, drop_b, now, 0, NULL);
}

/* The ACCEPT is lost and the server talks first: the client, seeing a
 * SEALED for its sid, sends the same CONNECT at once and gets the same
 * ACCEPT. */
static void lost_accept_recovered(void **state)
{
	(void)state;
	struct toy_ctx xa, xb;
	struct rel_core *a, *b;
	uint64_t now = 2000000;
	hand_pair(&xa, &xb, 16, &a, &b, now);
	uint8_t c1[256], c2[256], acc1[256], acc2[256];
	pump(a, b, aa, sizeof aa, 0, now, 0, NULL);              /* HELLO */
	pump(b, a, ba, sizeof ba, 0, now, 0, NULL);              /* COOKIE */
	size_t l1 = pump(a, b, aa, sizeof aa, 0, now, REL_PT_CONNECT, c1);
	assert_int_equal(l1, 140);
	size_t la1 = pump(b, a, ba, sizeof ba, REL_PT_ACCEPT, now, REL_PT_ACCEPT, acc1); /* lost */
	assert_int_equal(la1, 108);
	struct rel_event ev;
	uint32_t pb = 0;
	while (rel_poll_event(b, &ev))
		if (ev.type == REL_EV_CONNECTED)
			pb = ev.peer;
	assert_true(pb != 0);
	assert_int_equal(rel_send(b, pb, "early", 5, REL_RDM, now, NULL), 0);
	now += 1000;
	pump(b, a, ba, sizeof ba, 0, now, 0, NULL);             /* SEALED DATA */
	size_t l2 = pump(a, b, aa, sizeof aa, 0, now, REL_PT_CONNECT, c2);
	assert_int_equal(l2, l1);
	assert_memory_equal(c1, c2, l1); /* the same CONNECT */
	size_t la2 = pump(b, a, ba, sizeof ba, 0, now, REL_PT_ACCEPT, acc2);
	assert_int_equal(la2, la1);
	assert_memory_equal(acc1, acc2, la1); /* the same ACCEPT */
	assert_int_equal(xa.inits, 1);
	assert_int_equal(xb.responds, 1);
	int connected = 0, got = 0;
	for (int i = 0; i < 20; i++) {
		now += 300000;
		hand_turn(a, b, now, 0);
		while (rel_poll_event(a, &ev)) {
			connected += ev.type == REL_EV_CONNECTED;
			if (ev.type == REL_EV_MESSAGE) {
				got += ev.len == 5 && !memcmp(ev.data, "early", 5);
				rel_buf_free(ev.data);
			}
		}
		while (rel_poll_event(b, &ev))
			;
	}
	assert_int_equal(connected, 1);
	assert_int_equal(got, 1);
	rel_core_free(a);
	rel_core_free(b);
	assert_int_equal(xa.live + xb.live, 0);
}

/* Every ACCEPT lost until the client starts over with a new cookie: its
 * new exchange replaces the session that never got keys (a new peer id),
 * and the old one's hook state is freed. */
static void restarted_exchange_replaces_session(void **state)
{
	(void)state;
	struct toy_ctx xa, xb;
	struct rel_core *a, *b;
	uint64_t now = 2000000;
	hand_pair(&xa, &xb, 17, &a, &b, now);
	unsigned b_conn = 0, b_dead = 0, a_conn = 0;
	uint32_t first = 0, last = 0;
	for (int i = 0; i < 200 && !a_conn; i++) {
		now += 250000;
		/* ACCEPTs are lost until the client has sent 4 CONNECTs */
		hand_turn(a, b, now, xb.responds < 2 ? REL_PT_ACCEPT : 0);
		struct rel_event ev;
		while (rel_poll_event(b, &ev)) {
			if (ev.type == REL_EV_CONNECTED) {
				b_conn++;
				if (!first)
					first = ev.peer;
				last = ev.peer;
			}
			b_dead += ev.type == REL_EV_DEAD && ev.peer == first;
		}
		while (rel_poll_event(a, &ev))
			a_conn += ev.type == REL_EV_CONNECTED;
	}
	assert_int_equal(a_conn, 1);
	assert_int_equal(b_conn, 2);
	assert_int_equal(b_dead, 1);
	assert_true(last != first);
	assert_int_equal(xa.inits, 2);
	assert_int_equal(xb.responds, 2);
	assert_int_equal(xb.live, 1); /* the first session's state went back */
	assert_null(rel_peer_crypto(b, first));
	assert_non_null(rel_peer_crypto(b, last));
	struct rel_core_stats st;
	rel_core_stats(b, &st);
	assert_int_equal(st.peers, 1);
	rel_core_free(a);
	rel_core_free(b);
	assert_int_equal(xa.live + xb.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restarted_exchange_replaces_session),
		cmocka_unit_test(lost_accept_recovered),
		cmocka_unit_test(wire_noise_flag),
		cmocka_unit_test(migration_sealed),
		cmocka_unit_test(bad_cookie_never_reaches_hook),
		cmocka_unit_test(refused_connect_unanswered),
		cmocka_unit_test(repeated_connect_same_accept),
		cmocka_unit_test(handshake_and_sealed_traffic),
		cmocka_unit_test(handshake_bytes),
		cmocka_unit_test(wrong_server_and_failed_init),
		cmocka_unit_test(mixed_pairs_never_connect),
		cmocka_unit_test(lossy_transfer_with_pmtud),
		cmocka_unit_test(sizes_respect_overhead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
