/* test_rel_spurious.c - spurious retransmission timeouts (rel_frto.c): a
 * delay spike with no loss costs a few probes, not the flight, and leaves
 * the congestion window as it was; a real tail loss is recovered within as
 * many timeouts as before the detection existed; lossy transfers complete.
 *
 * The link is the test's own (the sim's drops everything, the tap puts
 * each datagram back with sim_inject): a fixed one-way delay, first-in
 * first-out, and on demand a hold (everything sent in [from, until), both
 * ways, arrives at until + delay, in order: a paused receiver, a Wi-Fi
 * hold-up), a blackout of a->b (dropped), or random loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rel.h"
#include "rel_bbr.h"
#include "support_relpair.h"

#define DELAY_US 10000u /* one way: RTT 20 ms, RTO at its 200 ms floor */

struct net {
	struct sim *s;
	int na;
	uint64_t hold_from, hold_until;
	uint64_t black_from, black_until; /* a->b dropped */
	double loss;
	uint64_t rng;
};

static void net_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct net *n = ctx;
	uint64_t now = sim_now(n->s);
	if (to < 0)
		return;
	if (from == n->na && now >= n->black_from && now < n->black_until)
		return;
	if (n->loss > 0 && (double)(sim_rand(&n->rng) >> 11) / 9007199254740992.0 < n->loss)
		return;
	uint64_t at = now + DELAY_US;
	if (now >= n->hold_from && now < n->hold_until)
		at = n->hold_until + DELAY_US;
	sim_inject(n->s, from, to, d, len, at - now);
}

/* A window the test can read: +acked bytes up to 64 packets, halved on a
 * loss, 2 packets after a timeout.  It notes the window before a run of
 * timeouts and as the first ack after them finds it. */
struct spy {
	uint64_t cwnd;
	uint64_t before, first_after;
	int pending;
	uint32_t timeouts, episodes;
};

static void spy_init(void *state, void *ctx, const struct rel_cc_info *info)
{
	struct spy *w = state;
	(void)ctx;
	memset(w, 0, sizeof *w);
	w->cwnd = 10 * (uint64_t)info->mss;
}

static int spy_may_send(void *state, void *ctx, const struct rel_cc_info *info, size_t bytes,
			uint64_t now, uint64_t *wake)
{
	struct spy *w = state;
	(void)ctx;
	(void)now;
	if (info->inflight_bytes > 0 && info->inflight_bytes + bytes > w->cwnd) {
		*wake = 0;
		return 0;
	}
	return 1;
}

static void spy_event(void *state, void *ctx, const struct rel_cc_info *info, enum rel_cc_event ev,
		      uint64_t bytes, uint64_t now)
{
	struct spy *w = state;
	struct spy *log = ctx; /* what the test reads: the state may be rolled back */
	(void)now;
	switch (ev) {
	case REL_CC_SENT:
		break;
	case REL_CC_ACKED:
		if (log->pending) {
			log->first_after = w->cwnd;
			log->pending = 0;
		}
		w->cwnd += bytes;
		if (w->cwnd > 64 * (uint64_t)info->mss)
			w->cwnd = 64 * (uint64_t)info->mss;
		break;
	case REL_CC_LOST:
		w->cwnd = w->cwnd / 2 > 2 * info->mss ? w->cwnd / 2 : 2 * info->mss;
		break;
	case REL_CC_TIMEOUT:
		if (!log->pending) {
			log->before = w->cwnd;
			log->episodes++;
		}
		log->pending = 1;
		log->timeouts++;
		w->cwnd = 2 * info->mss;
		break;
	}
}

static const struct rel_cc_ops spy_cc = {
	.state_size = sizeof(struct spy),
	.init = spy_init,
	.may_send = spy_may_send,
	.on_event = spy_event,
};

static uint8_t msg_byte(uint32_t idx, size_t j)
{
	return (uint8_t)(idx * 131u + j * 7u + (j >> 8));
}

struct xfer {
	struct relpair p;
	struct net net;
	uint32_t n, got, next;
	size_t len;
	uint64_t t_queued, done_at; /* of the latest xfer_queue */
};

/* Opens the pair (a sends to b) on the test's link; cc for a, may be NULL. */
static void xfer_open(struct xfer *x, uint64_t seed, const struct rel_cc_ops *cc, void *cc_ctx)
{
	memset(x, 0, sizeof *x);
	struct rel_config ca, cb;
	relpair_config(&ca, seed * 2 + 1);
	relpair_config(&cb, seed * 2 + 2);
	ca.cc = cc;
	ca.cc_ctx = cc_ctx;
	struct sim_link link = {.delay_us = DELAY_US};
	assert_int_equal(relpair_open(&x->p, seed, &link, &ca, &cb), 0);
	struct sim_link none = {.loss = 1.0};
	assert_int_equal(sim_set_link(x->p.s, &none), 0);
	x->net.s = x->p.s;
	x->net.na = x->p.na;
	x->net.rng = seed;
	sim_set_tap(x->p.s, net_tap, &x->net);
}

static void xfer_queue(struct xfer *x, uint32_t n, size_t len)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	for (uint32_t i = 0; i < n; i++) {
		for (size_t j = 0; j < len; j++)
			buf[j] = msg_byte(x->n + i, j);
		memcpy(buf, &(uint32_t){x->n + i}, 4);
		assert_int_equal(rel_send(x->p.a, x->p.pa, buf, len, REL_SEQPACKET, sim_now(x->p.s), NULL), 0);
	}
	free(buf);
	x->t_queued = sim_now(x->p.s);
	x->done_at = 0;
	x->n += n;
	x->len = len;
}

/* Runs until limit (absolute) or until `until` messages arrived. */
static void xfer_run(struct xfer *x, uint64_t limit, uint32_t until)
{
	while (x->got < until && sim_step(x->p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(x->p.b, &ev)) {
			assert_int_not_equal(ev.type, REL_EV_DEAD);
			if (ev.type != REL_EV_MESSAGE)
				continue;
			uint32_t idx;
			assert_int_equal(ev.len, x->len);
			memcpy(&idx, ev.data, 4);
			assert_int_equal(idx, x->next); /* in order, once */
			for (size_t j = 4; j < ev.len; j++)
				if (ev.data[j] != msg_byte(idx, j))
					fail_msg("message %u corrupted at byte %zu", idx, j);
			x->next++;
			x->got++;
			rel_buf_free(ev.data);
		}
		while (rel_poll_event(x->p.a, &ev))
			assert_int_not_equal(ev.type, REL_EV_DEAD);
	}
	if (x->got == x->n && !x->done_at)
		x->done_at = sim_now(x->p.s);
}

static void stats(struct xfer *x, struct rel_stats *sa, struct rel_stats *sb)
{
	assert_int_equal(rel_peer_stats(x->p.a, x->p.pa, sa), 0);
	assert_int_equal(rel_peer_stats(x->p.b, x->p.pb, sb), 0);
	if (getenv("REL_VERBOSE") && x->done_at)
		print_message("data %lu probes %lu retx %lu (fast %lu) rto %lu spurious %lu dups %lu rto_us %lu done %.3f s\n",
			      (unsigned long)sa->data_sent, (unsigned long)sa->probes, (unsigned long)sa->retransmits,
			      (unsigned long)sa->fast_retransmits, (unsigned long)sa->timeouts,
#ifdef NO_SPURIOUS
			      0ul,
#else
			      (unsigned long)sa->spurious_rto,
#endif
			      (unsigned long)sb->drop_dup, (unsigned long)sa->rto_us,
			      (double)(x->done_at - x->t_queued) / 1e6);
}

/* A transfer in steady state; then the path holds everything for 1 s (5x
 * the RTO) and delivers it all, nothing lost.  Before the detection every
 * timeout sent the whole flight again (64 packets and more here). */
static void spike_case(const struct rel_cc_ops *cc, uint64_t seed)
{
	struct spy log = {0};
	struct xfer x;
	xfer_open(&x, seed, cc, &log);
	xfer_queue(&x, 20000, 1000);
	xfer_run(&x, sim_now(x.p.s) + 60000000, 2000); /* in full swing */
	assert_true(x.got >= 2000 && x.got < 4000);
	uint64_t t0 = sim_now(x.p.s);
	x.net.hold_from = t0;
	x.net.hold_until = t0 + 1000000;
	struct rel_stats sa, sb;
	assert_int_equal(rel_peer_stats(x.p.a, x.p.pa, &sa), 0);
	assert_int_equal(sa.timeouts, 0);
	assert_int_equal(sa.retransmits, 0);
	/* the hold ends, the flight arrives, the first acks are back */
	xfer_run(&x, t0 + 1000000 + 3 * DELAY_US, x.n);
	stats(&x, &sa, &sb);
	/* 200 + 400 ms: two timeouts during the hold, each with its probes
	 * (and a tail loss probe before the first) */
	assert_true(sa.timeouts >= 1 && sa.timeouts <= 3);
	assert_true(sa.retransmits <= 2 * sa.timeouts + sa.probes);
#ifndef NO_SPURIOUS
	assert_int_equal(sa.spurious_rto, sa.timeouts);
	assert_true(sa.rto_us > 1000000); /* the next timer is above the spike */
#endif
	if (cc == &spy_cc) {
		assert_int_equal(log.episodes, 1);
		assert_int_equal(log.timeouts, sa.timeouts);
		assert_true(log.before >= 32 * 1000);
#ifndef NO_SPURIOUS
		assert_int_equal(log.first_after, log.before);
#endif
	}
	xfer_run(&x, t0 + 60000000, x.n);
	assert_int_equal(x.got, x.n);
	stats(&x, &sa, &sb);
#ifndef NO_SPURIOUS
	assert_true(sa.retransmits <= 2 * sa.timeouts + sa.probes);
#endif
	assert_int_equal(sb.drop_dup, sa.retransmits); /* none was needed */
	relpair_close(&x.p);
}

static void spike_no_cc(void **state)
{
	(void)state;
	spike_case(NULL, 11);
}

static void spike_window_restored(void **state)
{
	(void)state;
	spike_case(&spy_cc, 12);
}

static void spike_reno(void **state)
{
	(void)state;
	spike_case(&rel_cc_reno, 13);
}

static void spike_bbr(void **state)
{
	(void)state;
	spike_case(&rel_cc_bbr, 14);
}

/* After a spike a second one of the same size does not fire the timer. */
static void second_spike_no_timeout(void **state)
{
	(void)state;
	struct spy log = {0};
	struct xfer x;
	xfer_open(&x, 15, &spy_cc, &log);
	xfer_queue(&x, 6000, 1000);
	uint64_t t0 = sim_now(x.p.s) + 300000;
	x.net.hold_from = t0;
	x.net.hold_until = t0 + 300000;
	xfer_run(&x, t0 + 500000, x.n);
	struct rel_stats sa, sb;
	stats(&x, &sa, &sb);
	assert_true(sa.timeouts >= 1);
	uint64_t first = sa.timeouts;
	x.net.hold_from = t0 + 600000;
	x.net.hold_until = t0 + 900000;
	xfer_run(&x, t0 + 60000000, x.n);
	assert_int_equal(x.got, x.n);
	stats(&x, &sa, &sb);
#ifndef NO_SPURIOUS
	assert_int_equal(sa.timeouts, first);
	assert_int_equal(sa.spurious_rto, first);
#else
	(void)first;
#endif
	relpair_close(&x.p);
}

/* Real tail loss: a burst of 8 messages (inside the initial window) whose
 * last 3 packets of those leaving at once are dropped, and with them whatever else a->b sends for
 * blackout_us (the tail loss probe, the timeouts' probes).  REL_VERBOSE=1
 * prints timeouts and the time to deliver all.  Before the detection
 * (main at 891d059, this file built with NO_SPURIOUS), for no cc, the spy
 * window and Reno:
 *   blackout 0 (the 3 only):  0 timeouts, all delivered after 91/40/44 ms
 *   blackout 150 ms:          1 timeout, 250/250/259 ms
 *   blackout 500 ms:          3 timeouts, 650/650/670 ms
 * and with it the same numbers, to the microsecond.  Asserted: those
 * timeouts, none of them counted spurious. */
static void tail_case(const struct rel_cc_ops *cc, uint64_t blackout_us, uint64_t want_rto)
{
	struct spy log = {0};
	struct xfer x;
	xfer_open(&x, 21, cc, &log);
	xfer_queue(&x, 5, 1000);
	xfer_run(&x, sim_now(x.p.s) + 1000000, x.n); /* RTT samples */
	assert_int_equal(x.got, 5);
	xfer_queue(&x, 8, 1000);
	uint32_t out = (uint32_t)rel_out_pending(x.p.a);
	assert_true(out > 3); /* Reno paces: not all 8 at once */
	struct rel_stats sa, sb;
	uint32_t pass = out - 3;
	/* a->b goes dark as the burst leaves; its first 5 we put on the
	 * wire ourselves */
	x.net.black_from = sim_now(x.p.s);
	x.net.black_until = sim_now(x.p.s) + 1 + blackout_us;
	for (uint32_t i = 0; i < pass; i++) {
		struct rel_dgram d;
		assert_int_equal(rel_out_peek(x.p.a, i, &d), 0);
		size_t alen;
		const uint8_t *baddr = sim_addr(x.p.s, x.p.nb, &alen);
		assert_int_equal(d.addr_len, alen);
		assert_memory_equal(d.addr, baddr, alen);
		sim_inject(x.p.s, x.p.na, x.p.nb, d.data, d.len, DELAY_US);
	}
	xfer_run(&x, sim_now(x.p.s) + 60000000, x.n);
	assert_int_equal(x.got, x.n);
	stats(&x, &sa, &sb);
	if (!getenv("TAIL_NOASSERT"))
		assert_int_equal(sa.timeouts, want_rto);
#ifndef NO_SPURIOUS
	assert_int_equal(sa.spurious_rto, 0);
#endif
	relpair_close(&x.p);
}

static void tail_loss(void **state)
{
	(void)state;
	static const struct {
		uint64_t blackout;
		uint64_t rto;
	} cases[] = {{0, 0}, {150000, 1}, {500000, 3}};
	const struct rel_cc_ops *ccs[] = {NULL, &spy_cc, &rel_cc_reno};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			tail_case(ccs[j], cases[i].blackout, cases[i].rto);
}

/* Random loss both ways: everything arrives, byte for byte, in order. */
static void lossy_case(const struct rel_cc_ops *cc, double loss, uint64_t seed)
{
	struct spy log = {0};
	struct xfer x;
	xfer_open(&x, seed, cc, &log);
	x.net.loss = loss;
	xfer_queue(&x, 1500, 1500);
	xfer_run(&x, sim_now(x.p.s) + 3600ull * 1000000, x.n);
	assert_int_equal(x.got, x.n);
	struct rel_stats sa, sb;
	stats(&x, &sa, &sb);
	assert_true(sa.retransmits > 0);
	relpair_close(&x.p);
}

static void lossy_transfers(void **state)
{
	(void)state;
	const struct rel_cc_ops *ccs[] = {NULL, &spy_cc, &rel_cc_reno, &rel_cc_bbr};
	for (size_t j = 0; j < 4; j++) {
		lossy_case(ccs[j], 0.05, 31 + j);
		lossy_case(ccs[j], 0.20, 41 + j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spike_no_cc),
		cmocka_unit_test(spike_window_restored),
		cmocka_unit_test(spike_reno),
		cmocka_unit_test(spike_bbr),
		cmocka_unit_test(second_spike_no_timeout),
		cmocka_unit_test(tail_loss),
		cmocka_unit_test(lossy_transfers),
	};
	return cmocka_run_group_tests_name("rel_spurious", tests, NULL, NULL);
}
