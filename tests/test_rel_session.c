/* cmocka tests for reliable-core sessions: forged and stale packets, the
 * message size limit, the receive budget, dgram mode, many peers on one
 * core, graceful close, a 64 MiB message and the pacing hook. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"
#include "support_relpair.h"
#include "support_relsim.h"

struct capture {
	int from;
	uint8_t type;
	uint8_t data[2048];
	size_t len;
	int have;
};

static void cap_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct capture *c = ctx;
	(void)to;
	if (!c->have && from == c->from && len > 2 && d[2] == c->type && len <= sizeof c->data) {
		memcpy(c->data, d, len);
		c->len = len;
		c->have = 1;
	}
}

static void reseal(uint8_t *buf, size_t len)
{
	uint32_t crc = rel_crc32c(buf, len - 4);
	for (int i = 0; i < 4; i++)
		buf[len - 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
}

/* Runs the sim until pred-like condition: n events of type on core. */
static int run_until_events(struct relpair *p, struct rel_core *c, enum rel_event_type type,
			    int n, uint64_t span)
{
	int got = 0;
	uint64_t limit = sim_now(p->s) + span;
	while (got < n && sim_step(p->s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(c, &ev)) {
			if (ev.type == type)
				got++;
			if (ev.type == REL_EV_MESSAGE)
				rel_buf_free(ev.data);
		}
	}
	return got;
}

static void drain_events(struct rel_core *c)
{
	struct rel_event ev;
	while (rel_poll_event(c, &ev))
		if (ev.type == REL_EV_MESSAGE)
			rel_buf_free(ev.data);
}

static void forged_and_stale_change_nothing(void **state)
{
	(void)state;
	struct sim_link link = {.delay_us = 1000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 3, &link, NULL, NULL), 0);
	struct capture cap = {.from = p.na, .type = REL_PT_DATA};
	sim_set_tap(p.s, cap_tap, &cap);
	assert_int_equal(rel_send(p.a, p.pa, "one", 3, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	assert_int_equal(run_until_events(&p, p.b, REL_EV_MESSAGE, 1, 10000000), 1);
	assert_true(cap.have);
	size_t alen;
	const uint8_t *aaddr = sim_addr(p.s, p.na, &alen);
	struct rel_stats before, after;
	assert_int_equal(rel_peer_stats(p.b, p.pb, &before), 0);
	uint64_t now = sim_now(p.s);
	/* replay within the session: a duplicate */
	assert_int_equal(rel_input(p.b, aaddr, alen, cap.data, cap.len, now), REL_EDUP);
	/* forged session ids, forged source address */
	uint8_t f[2048];
	memcpy(f, cap.data, cap.len);
	f[4] ^= 0x5a;
	reseal(f, cap.len);
	assert_int_equal(rel_input(p.b, aaddr, alen, f, cap.len, now), REL_ESESSION);
	memcpy(f, cap.data, cap.len);
	f[9] ^= 0x01;
	reseal(f, cap.len);
	assert_int_equal(rel_input(p.b, aaddr, alen, f, cap.len, now), REL_ESESSION);
	const uint8_t other[4] = {'X', 9, 9, 9};
	assert_int_equal(rel_input(p.b, other, 4, cap.data, cap.len, now), REL_ESESSION);
	struct rel_event ev;
	while (rel_poll_event(p.b, &ev))
		if (ev.type == REL_EV_MESSAGE)
			fail_msg("forged or replayed packet delivered");
	assert_int_equal(rel_peer_stats(p.b, p.pb, &after), 0);
	assert_int_equal(after.msgs_delivered, before.msgs_delivered);
	assert_int_equal(after.drop_dup, before.drop_dup + 1);
	assert_int_equal(after.drop_session, before.drop_session + 1);

	/* close the session, wait until both forgot it, open a new one from
	 * the same address: the old packet is stale there */
	assert_int_equal(rel_close(p.a, p.pa, sim_now(p.s)), 0);
	assert_int_equal(run_until_events(&p, p.a, REL_EV_CLOSED, 1, 10000000), 1);
	assert_int_equal(rel_send(p.a, p.pa, "x", 1, REL_RDM, sim_now(p.s), NULL), REL_ECLOSED);
	/* both linger (linger_us, 10 s by default), then forget the session */
	for (uint64_t until = sim_now(p.s) + 11000000; sim_step(p.s, until);)
		;
	struct rel_core_stats cst;
	rel_core_stats(p.b, &cst);
	assert_int_equal(cst.peers, 0);
	rel_core_stats(p.a, &cst);
	assert_int_equal(cst.peers, 0);
	drain_events(p.a);
	drain_events(p.b);
	size_t blen;
	const uint8_t *baddr = sim_addr(p.s, p.nb, &blen);
	uint32_t np;
	assert_int_equal(rel_connect(p.a, baddr, blen, sim_now(p.s), &np), 0);
	assert_int_equal(run_until_events(&p, p.b, REL_EV_CONNECTED, 1, 10000000), 1);
	rel_core_stats(p.b, &cst);
	uint64_t sess_before = cst.drop_session;
	assert_int_equal(rel_input(p.b, aaddr, alen, cap.data, cap.len, sim_now(p.s)), REL_ESESSION);
	rel_core_stats(p.b, &cst);
	assert_int_equal(cst.drop_session, sess_before + 1);
	assert_int_equal(rel_poll_event(p.b, &ev), 0);
	relpair_close(&p);
}

static void message_size_limits(void **state)
{
	(void)state;
	struct rel_config ca, cb;
	relpair_config(&ca, 1);
	relpair_config(&cb, 2);
	ca.max_msg = 300000;
	cb.max_msg = 100000;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 4, NULL, &ca, &cb), 0);
	uint8_t *big = calloc(1, 400000);
	uint64_t now = sim_now(p.s);
	assert_int_equal(rel_send(p.a, p.pa, big, 100001, REL_RDM, now, NULL), REL_ETOOBIG); /* b's limit */
	assert_int_equal(rel_send(p.b, p.pb, big, 300001, REL_SEQPACKET, now, NULL), REL_ETOOBIG); /* a's */
	assert_int_equal(rel_send(p.b, p.pb, big, 300000, REL_SEQPACKET, now, NULL), REL_ETOOBIG); /* b's own */
	assert_int_equal(rel_send(p.a, p.pa, big, 100000, REL_RDM, now, NULL), 0);
	assert_int_equal(rel_send(p.a, p.pa, big, rel_dgram_max(p.a) + 1, REL_DGRAM, now, NULL), REL_ETOOBIG);
	assert_int_equal(rel_send(p.a, p.pa, big, rel_dgram_max(p.a), REL_DGRAM, now, NULL), 0);
	assert_int_equal(rel_send(p.a, p.pa, big, 1, (enum rel_mode)7, now, NULL), REL_EMODE);
	assert_non_null(strstr(udpkit_strerror(REL_ETOOBIG), "larger"));
	assert_non_null(strstr(udpkit_strerror(-2), "invalid"));
	assert_int_equal(run_until_events(&p, p.b, REL_EV_MESSAGE, 2, 10000000), 2);
	free(big);
	relpair_close(&p);
	/* configuration: max_msg above the receive budget is refused */
	struct rel_config bad;
	rel_config_default(&bad);
	bad.max_msg = bad.recv_budget + 1;
	struct rel_core *none = NULL;
	int err = rel_core_new(&none, &bad);
	assert_null(none);
	assert_int_equal(err, REL_ECONFIG);
}

/* A receiver whose user does not read holds at most recv_budget; the
 * sender waits (flow control) and everything arrives once it reads. */
static void receive_budget_respected(void **state)
{
	(void)state;
	struct rel_config ca, cb;
	relpair_config(&ca, 5);
	relpair_config(&cb, 6);
	/* the hand-made seqs below fall outside the window, whatever the keys */
	ca.fixed_initial_seq = 1;
	ca.initial_seq = 0x80000000u;
	cb.recv_budget = 1 << 20;
	cb.max_msg = 256 * 1024;
	struct sim_link link = {.loss = 0.1, .delay_us = 5000, .reorder = 0.1};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 5, &link, &ca, &cb), 0);
	uint8_t *buf = malloc(200 * 1024);
	for (int i = 0; i < 40; i++) {
		memset(buf, i, 200 * 1024);
		assert_int_equal(rel_send(p.a, p.pa, buf, 200 * 1024, REL_RDM, sim_now(p.s), NULL), 0);
	}
	free(buf);
	struct rel_stats st;
	uint64_t limit = sim_now(p.s) + 20000000;
	while (sim_step(p.s, limit)) {
		assert_int_equal(rel_peer_stats(p.b, p.pb, &st), 0);
		assert_true(st.recv_mem <= (1 << 20));
		drain_events(p.a);
	}
	assert_true(st.msgs_delivered < 40);
	assert_true(st.msgs_delivered >= 1);
	/* a malicious sender in the session: fragments of many fresh big
	 * messages, built by hand from a real packet */
	struct capture cap = {.from = p.na, .type = REL_PT_ACK};
	sim_set_tap(p.s, cap_tap, &cap);
	assert_int_equal(rel_send(p.a, p.pa, "", 0, REL_DGRAM, sim_now(p.s), NULL), 0);
	(void)sim_step(p.s, sim_now(p.s) + 1000);
	cap.type = REL_PT_DGRAM;
	cap.have = 0;
	assert_int_equal(rel_send(p.a, p.pa, "", 0, REL_DGRAM, sim_now(p.s), NULL), 0);
	(void)sim_step(p.s, sim_now(p.s) + 1000);
	assert_true(cap.have);
	struct rel_pkt k;
	assert_int_equal(rel_wire_decode(&k, cap.data, cap.len), 0);
	uint8_t pay[1000] = {0}, out[1500];
	size_t alen;
	const uint8_t *aaddr = sim_addr(p.s, p.na, &alen);
	assert_int_equal(rel_peer_stats(p.b, p.pb, &st), 0);
	uint64_t budget_drops = st.drop_budget;
	for (uint32_t i = 0; i < 200; i++) {
		k.type = REL_PT_DATA;
		k.flags = 0;
		k.sack_words = 0;
		k.seq = k.cum_ack + 100000; /* far: outside the window, dropped */
		k.seq = i * 4 + 1;
		k.msg_len = 256 * 1000;
		k.frag_index = 0;
		k.frag_count = 256;
		k.frag_off = 0;
		k.payload = pay;
		k.payload_len = 1000;
		int n = rel_wire_encode(&k, out, sizeof out);
		assert_true(n > 0);
		(void)rel_input(p.b, aaddr, alen, out, (size_t)n, sim_now(p.s));
		assert_int_equal(rel_peer_stats(p.b, p.pb, &st), 0);
		assert_true(st.recv_mem <= (1 << 20));
	}
	assert_true(st.drop_budget > budget_drops || st.drop_window > 0);
	relpair_close(&p);
}

static void budget_then_read_delivers_all(void **state)
{
	(void)state;
	struct rel_config ca, cb;
	relpair_config(&ca, 7);
	relpair_config(&cb, 8);
	cb.recv_budget = 1 << 20;
	cb.max_msg = 256 * 1024;
	struct sim_link link = {.loss = 0.1, .delay_us = 5000, .reorder = 0.1};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 7, &link, &ca, &cb), 0);
	uint8_t *buf = malloc(200 * 1024);
	for (int i = 0; i < 40; i++) {
		memset(buf, i, 200 * 1024);
		assert_int_equal(rel_send(p.a, p.pa, buf, 200 * 1024, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	}
	free(buf);
	/* not read for 10 s, then read */
	for (uint64_t limit = sim_now(p.s) + 10000000; sim_step(p.s, limit);)
		;
	int got = 0;
	uint64_t limit = sim_now(p.s) + 600000000;
	while (got < 40 && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, 200 * 1024);
				assert_int_equal(ev.data[0], got);
				assert_int_equal(ev.data[200 * 1024 - 1], got);
				got++;
				rel_buf_free(ev.data);
			}
			assert_int_not_equal(ev.type, REL_EV_DEAD);
		}
		drain_events(p.a);
	}
	assert_int_equal(got, 40);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.b, p.pb, &st), 0);
	assert_int_equal(st.drop_budget, 0); /* an honest sender never overruns */
	relpair_close(&p);
}

static void dgram_mode(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.2, .dup = 0.2, .reorder = 0.2, .delay_us = 3000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 9, &link, NULL, NULL), 0);
	for (uint32_t i = 0; i < 300; i++) {
		uint8_t m[4] = {(uint8_t)(i >> 8), (uint8_t)i, 0xd, 0xd};
		assert_int_equal(rel_send(p.a, p.pa, m, 4, REL_DGRAM, sim_now(p.s), NULL), 0);
		(void)sim_step(p.s, sim_now(p.s) + 1000);
	}
	uint8_t seen[300] = {0};
	int got = 0;
	uint64_t limit = sim_now(p.s) + 2000000;
	while (sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type != REL_EV_MESSAGE)
				continue;
			assert_int_equal(ev.mode, REL_DGRAM);
			assert_int_equal(ev.len, 4);
			uint32_t i = (uint32_t)ev.data[0] << 8 | ev.data[1];
			assert_true(i < 300);
			assert_int_equal(seen[i], 0); /* duplicates suppressed */
			seen[i] = 1;
			got++;
			rel_buf_free(ev.data);
		}
	}
	assert_true(got > 150 && got < 300); /* unreliable: some lost */
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.retransmits, 0);
	relpair_close(&p);
}

static void many_peers_one_core(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.1, .dup = 0.05, .reorder = 0.05, .delay_us = 4000};
	struct sim *s = sim_new(11, &link);
	struct rel_config cfg;
	relpair_config(&cfg, 100);
	cfg.accept = 1;
	struct rel_core *srv = NULL;
	rel_core_new(&srv, &cfg);
	int nsrv = sim_add(s, srv);
	struct rel_core *cl[5];
	uint32_t cid[5];
	size_t alen;
	const uint8_t *saddr = sim_addr(s, nsrv, &alen);
	for (int i = 0; i < 5; i++) {
		relpair_config(&cfg, 200 + (uint64_t)i);
		rel_core_new(&cl[i], &cfg);
		(void)sim_add(s, cl[i]);
		assert_int_equal(rel_connect(cl[i], saddr, alen, sim_now(s), &cid[i]), 0);
	}
	int connected = 0, sent = 0;
	uint32_t next[SIM_MAX_NODES] = {0};
	int got = 0;
	uint64_t limit = sim_now(s) + 300000000;
	while (got < 5 * 300 && sim_step(s, limit)) {
		struct rel_event ev;
		for (int i = 0; i < 5; i++) {
			while (rel_poll_event(cl[i], &ev))
				if (ev.type == REL_EV_CONNECTED)
					connected++;
		}
		if (connected == 5 && !sent) {
			for (int i = 0; i < 5; i++)
				for (uint32_t j = 0; j < 300; j++) {
					uint8_t m[3] = {(uint8_t)i, (uint8_t)(j >> 8), (uint8_t)j};
					assert_int_equal(rel_send(cl[i], cid[i], m, 3, REL_SEQPACKET, sim_now(s), NULL), 0);
				}
			sent = 1;
		}
		while (rel_poll_event(srv, &ev)) {
			if (ev.type != REL_EV_MESSAGE)
				continue;
			int i = ev.data[0];
			/* the peer id tells the sessions apart; the order holds per peer */
			uint8_t addr[REL_ADDR_MAX];
			assert_int_equal(rel_peer_addr(srv, ev.peer, addr, sizeof addr), 4);
			assert_int_equal(addr[1], i + 1);
			assert_int_equal((uint32_t)ev.data[1] << 8 | ev.data[2], next[i]);
			next[i]++;
			got++;
			rel_buf_free(ev.data);
		}
	}
	assert_int_equal(got, 5 * 300);
	struct rel_core_stats st;
	rel_core_stats(srv, &st);
	assert_int_equal(st.peers, 5);
	for (int i = 0; i < 5; i++)
		rel_core_free(cl[i]);
	rel_core_free(srv);
	sim_free(s);
}

/* One message of 64 MiB, the default maximum, through a lossy link. */
static void message_64mib(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.02, .delay_us = 2000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 12, &link, NULL, NULL), 0);
	size_t len = 64u << 20;
	uint8_t *buf = malloc(len);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	assert_int_equal(rel_send(p.a, p.pa, buf, len + 1, REL_SEQPACKET, sim_now(p.s), NULL), REL_ETOOBIG);
	assert_int_equal(rel_send(p.a, p.pa, buf, len, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	int got = 0;
	uint64_t limit = sim_now(p.s) + 600000000;
	while (!got && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, len);
				assert_memory_equal(ev.data, buf, len);
				rel_buf_free(ev.data);
				got = 1;
			}
		}
		drain_events(p.a);
	}
	assert_int_equal(got, 1);
	free(buf);
	relpair_close(&p);
}

struct pacer {
	uint64_t next_ok, gap, sent, acked, lost;
	uint64_t last_data;
	int violations;
};

static int pace_may_send(void *st, void *ctx, const struct rel_cc_info *info, size_t bytes,
			 uint64_t now, uint64_t *wake)
{
	struct pacer *pc = ctx;
	(void)st;
	(void)info;
	(void)bytes;
	if (now >= pc->next_ok) {
		pc->next_ok = now + pc->gap;
		return 1;
	}
	*wake = pc->next_ok;
	return 0;
}

static void pace_event(void *st, void *ctx, const struct rel_cc_info *info,
		       enum rel_cc_event ev, uint64_t bytes, uint64_t now)
{
	struct pacer *pc = ctx;
	(void)st;
	(void)info;
	(void)bytes;
	(void)now;
	if (ev == REL_CC_SENT)
		pc->sent++;
	else if (ev == REL_CC_ACKED)
		pc->acked++;
	else
		pc->lost++;
}

static const struct rel_cc_ops pace_ops = {
	.may_send = pace_may_send,
	.on_event = pace_event,
};

struct gapcheck {
	struct sim *s;
	int from;
	uint64_t last, gap;
	int n, bad;
};

static void gap_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct gapcheck *g = ctx;
	(void)to;
	if (from != g->from || len < 3 || d[2] != REL_PT_DATA)
		return;
	uint64_t now = sim_now(g->s);
	if (g->n && now - g->last < g->gap)
		g->bad++;
	g->last = now;
	g->n++;
}

static void pacing_hook(void **state)
{
	(void)state;
	struct pacer pc = {.gap = 1000};
	struct rel_config ca;
	relpair_config(&ca, 13);
	ca.cc = &pace_ops;
	ca.cc_ctx = &pc;
	struct sim_link link = {.loss = 0.05, .delay_us = 5000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 13, &link, &ca, NULL), 0);
	struct gapcheck g = {.s = p.s, .from = p.na, .gap = 1000};
	sim_set_tap(p.s, gap_tap, &g);
	uint8_t buf[1000] = {0};
	for (int i = 0; i < 500; i++)
		assert_int_equal(rel_send(p.a, p.pa, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL), 0);
	assert_int_equal(run_until_events(&p, p.b, REL_EV_MESSAGE, 500, 60000000), 500);
	assert_true(g.n >= 500);
	assert_int_equal(g.bad, 0);
	assert_true(pc.sent >= 500 && pc.acked > 0 && pc.lost > 0);
	relpair_close(&p);
}


/* The built-in NewReno window: 10 packets at first, then the transfer
 * completes under loss. */
static void reno_window(void **state)
{
	(void)state;
	struct rel_config ca;
	relpair_config(&ca, 14);
	ca.cc = &rel_cc_reno;
	ca.mtu = 1400; /* full packets of 1219 bytes, as counted below */
	ca.pmtud = 0;
	struct sim_link link = {.loss = 0.05, .reorder = 0.02, .delay_us = 10000, .jitter_us = 1000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 14, &link, &ca, NULL), 0);
	uint8_t buf[1000] = {0};
	for (int i = 0; i < 2000; i++)
		assert_int_equal(rel_send(p.a, p.pa, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL), 0);
	/* initial window: 10 full packets (10 * 1219 bytes) = 12 of 1000 bytes */
	assert_int_equal(rel_out_pending(p.a), 12);
	assert_int_equal(run_until_events(&p, p.b, REL_EV_MESSAGE, 2000, 600000000), 2000);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_true(st.retransmits > 0);
	relpair_close(&p);
}

/* rel_close() right after queueing: the close completes (REL_EV_CLOSED)
 * only after every message was acked, and the peer sees every message
 * before REL_EV_PEER_CLOSED.  Then both sides forget the session. */
static void close_waits_for_delivery(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.2, .reorder = 0.1, .dup = 0.05, .delay_us = 8000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 21, &link, NULL, NULL), 0);
	uint8_t buf[5000];
	for (int i = 0; i < 200; i++) {
		memset(buf, i, sizeof buf);
		assert_int_equal(rel_send(p.a, p.pa, buf, 1 + (size_t)i * 20, REL_RDM, sim_now(p.s), NULL), 0);
	}
	assert_int_equal(rel_close(p.a, p.pa, sim_now(p.s)), 0);
	assert_int_equal(rel_close(p.a, p.pa, sim_now(p.s)), REL_ECLOSED);
	int acked = 0, closed = 0, got = 0, peer_closed = 0, b_closed = 0;
	uint64_t limit = sim_now(p.s) + 300000000;
	while (!(closed && peer_closed && b_closed) && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev)) {
			if (ev.type == REL_EV_ACKED)
				acked++;
			if (ev.type == REL_EV_CLOSED) {
				assert_int_equal(acked, 200);
				closed = 1;
			}
			assert_int_not_equal(ev.type, REL_EV_DEAD);
		}
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				got++;
				rel_buf_free(ev.data);
			}
			if (ev.type == REL_EV_PEER_CLOSED) {
				assert_int_equal(got, 200);
				peer_closed = 1;
			}
			if (ev.type == REL_EV_CLOSED)
				b_closed = 1; /* b answered with its own FIN */
			assert_int_not_equal(ev.type, REL_EV_DEAD);
		}
	}
	assert_true(closed && peer_closed && b_closed);
	for (uint64_t until = sim_now(p.s) + 60000000; sim_step(p.s, until);)
		;
	struct rel_core_stats st;
	rel_core_stats(p.a, &st);
	assert_int_equal(st.peers, 0);
	rel_core_stats(p.b, &st);
	assert_int_equal(st.peers, 0);
	assert_true(rel_next_deadline(p.a) == UINT64_MAX);
	relpair_close(&p);
}

/* The link dies in the middle of a transfer: both sides report the other
 * dead after dead_us of silence, and free the session. */
static void link_cut_mid_transfer(void **state)
{
	(void)state;
	struct sim_link link = {.delay_us = 5000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 22, &link, NULL, NULL), 0);
	uint8_t *buf = calloc(1, 1 << 20);
	assert_int_equal(rel_send(p.a, p.pa, buf, 1 << 20, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	free(buf);
	for (int i = 0; i < 20; i++)
		(void)sim_step(p.s, sim_now(p.s) + 1000000);
	struct sim_link dead = {.loss = 1.0};
	sim_set_link(p.s, &dead);
	uint64_t cut = sim_now(p.s);
	int dead_a = 0, dead_b = 0;
	while (!(dead_a && dead_b) && sim_step(p.s, cut + 60000000)) {
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev))
			if (ev.type == REL_EV_DEAD)
				dead_a = 1;
			else if (ev.type == REL_EV_MESSAGE)
				rel_buf_free(ev.data);
		while (rel_poll_event(p.b, &ev))
			if (ev.type == REL_EV_DEAD)
				dead_b = 1;
			else if (ev.type == REL_EV_MESSAGE)
				rel_buf_free(ev.data);
	}
	assert_true(dead_a && dead_b);
	assert_true(sim_now(p.s) <= cut + 30000000 + 1000000);
	struct rel_core_stats st;
	rel_core_stats(p.a, &st);
	assert_int_equal(st.peers, 0);
	relpair_close(&p);
}

/* Thousands of sessions come and go (the session tables grow and shrink
 * with deletions in between); every live one is still found. */
static void many_sessions_table(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.max_peers = 1400;
	cfg.window = 8;
	struct rel_core *c = NULL;
	rel_core_new(&c, &cfg);
	assert_non_null(c);
	static uint32_t ids[8][700];
	uint64_t now = 1000000;
	for (int round = 0; round < 8; round++) {
		/* the sessions of round - 1 are alive, older ones are dead */
		for (int i = 0; i < 700; i++) {
			uint8_t addr[6] = {'P', (uint8_t)round, (uint8_t)(i >> 8), (uint8_t)i, 0, 0};
			assert_int_equal(rel_connect(c, addr, sizeof addr, now, &ids[round][i]), 0);
		}
		uint32_t extra;
		if (round) /* 1400 sessions: full */
			assert_int_equal(rel_connect(c, "x", 1, now, &extra), REL_EPEERS);
		rel_out_pop(c, rel_out_pending(c));
		for (int r = 0; r <= round; r++) {
			for (int i = 0; i < 700; i++) {
				uint8_t addr[REL_ADDR_MAX];
				int n = rel_peer_addr(c, ids[r][i], addr, sizeof addr);
				if (r + 1 < round) {
					assert_int_equal(n, REL_ENOPEER);
					continue;
				}
				assert_int_equal(n, 6);
				assert_int_equal(addr[1], r);
				assert_int_equal(addr[3], (uint8_t)i);
			}
		}
		now += cfg.dead_us / 2 + 1; /* round - 1 dies now */
		rel_update(c, now);
		rel_out_pop(c, rel_out_pending(c));
		struct rel_event ev;
		int dead = 0;
		while (rel_poll_event(c, &ev))
			dead += ev.type == REL_EV_DEAD;
		assert_int_equal(dead, round ? 700 : 0);
		struct rel_core_stats st;
		rel_core_stats(c, &st);
		assert_int_equal(st.peers, 700);
	}
	rel_core_free(c);
}

/* core_budget bounds the receive memory of all sessions together: three
 * senders, a reader that does not read for a while; then everything
 * arrives. */
static void core_budget_respected(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.05, .delay_us = 3000};
	struct sim *s = sim_new(31, &link);
	struct rel_config cfg;
	relpair_config(&cfg, 300);
	cfg.accept = 1;
	cfg.max_msg = 256 * 1024;
	cfg.core_budget = 1 << 20;
	struct rel_core *srv = NULL;
	rel_core_new(&srv, &cfg);
	int nsrv = sim_add(s, srv);
	struct rel_core *cl[3];
	uint32_t cid[3];
	size_t alen;
	const uint8_t *saddr = sim_addr(s, nsrv, &alen);
	for (int i = 0; i < 3; i++) {
		relpair_config(&cfg, 400 + (uint64_t)i);
		rel_core_new(&cl[i], &cfg);
		(void)sim_add(s, cl[i]);
		assert_int_equal(rel_connect(cl[i], saddr, alen, sim_now(s), &cid[i]), 0);
	}
	int connected = 0;
	struct rel_event ev;
	while (connected < 3 && sim_step(s, sim_now(s) + 60000000))
		for (int i = 0; i < 3; i++)
			while (rel_poll_event(cl[i], &ev))
				connected += ev.type == REL_EV_CONNECTED;
	assert_int_equal(connected, 3);
	uint8_t *buf = calloc(1, 200 * 1024);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 10; j++)
			assert_int_equal(rel_send(cl[i], cid[i], buf, 200 * 1024, REL_RDM, sim_now(s), NULL), 0);
	free(buf);
	struct rel_core_stats st;
	for (uint64_t until = sim_now(s) + 20000000; sim_step(s, until);) {
		rel_core_stats(srv, &st);
		assert_true(st.recv_mem <= (1 << 20));
		for (int i = 0; i < 3; i++)
			while (rel_poll_event(cl[i], &ev))
				;
	}
	int got = 0;
	while (got < 30 && sim_step(s, sim_now(s) + 600000000)) {
		while (rel_poll_event(srv, &ev))
			if (ev.type == REL_EV_MESSAGE) {
				got++;
				rel_buf_free(ev.data);
			}
		rel_core_stats(srv, &st);
		assert_true(st.recv_mem <= (1 << 20));
		for (int i = 0; i < 3; i++)
			while (rel_poll_event(cl[i], &ev))
				;
	}
	assert_int_equal(got, 30);
	rel_core_stats(srv, &st);
	assert_int_equal(st.recv_mem, 0);
	for (int i = 0; i < 3; i++)
		rel_core_free(cl[i]);
	rel_core_free(srv);
	sim_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forged_and_stale_change_nothing),
		cmocka_unit_test(message_size_limits),
		cmocka_unit_test(receive_budget_respected),
		cmocka_unit_test(budget_then_read_delivers_all),
		cmocka_unit_test(dgram_mode),
		cmocka_unit_test(many_peers_one_core),
		cmocka_unit_test(message_64mib),
		cmocka_unit_test(pacing_hook),
		cmocka_unit_test(reno_window),
		cmocka_unit_test(close_waits_for_delivery),
		cmocka_unit_test(link_cut_mid_transfer),
		cmocka_unit_test(many_sessions_table),
		cmocka_unit_test(core_budget_respected),
	};
	return cmocka_run_group_tests_name("rel_session", tests, NULL, NULL);
}
