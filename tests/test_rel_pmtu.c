/* test_rel_pmtu.c - path MTU discovery of the reliable core (rel_pmtu.c),
 * in virtual time over simulated links whose netsim `mtu` drops every
 * datagram longer than it (a black hole: nothing comes back). */
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
#include "udp_err.h"
#include "support_relpair.h"

static void config(struct rel_config *c, uint64_t seed, size_t ceiling)
{
	relpair_config(c, seed);
	c->path_mtu = ceiling; /* what a driver would report for the route */
	c->rto_min_us = 20000; /* as the tools: probes time out in RTT terms */
}

/* Runs the pair until t, dropping messages; counts PMTU events at a. */
static int run(struct relpair *p, uint64_t t, int *pmtu_events)
{
	int ev_a = 0;
	while (sim_step(p->s, t)) {
		struct rel_event ev;
		for (int side = 0; side < 2; side++)
			while (rel_poll_event(side ? p->b : p->a, &ev)) {
				if (ev.type == REL_EV_MESSAGE)
					rel_buf_free(ev.data);
				if (!side && ev.type == REL_EV_PMTU)
					ev_a++;
			}
	}
	if (pmtu_events)
		*pmtu_events += ev_a;
	return ev_a;
}

/* The search ends within the simulated MTU's last PM_STEP (8) bytes, in a
 * bounded time and number of probes, and data then uses it. */
static void converge_one(size_t mtu)
{
	char spec[64];
	snprintf(spec, sizeof spec, "delay 10ms mtu %zu", mtu);
	struct sim_link link = {.netem = spec};
	struct rel_config ca, cb;
	config(&ca, 7, 65000);
	config(&cb, 8, 65000);
	struct relpair p;
	assert_int_equal(relpair_open(&p, 7, &link, &ca, &cb), 0);
	assert_int_equal(rel_peer_pmtu(p.a, p.pa), 1200);
	uint64_t t0 = sim_now(p.s);
	int events = 0;
	run(&p, t0 + 30000000, &events);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	int got = rel_peer_pmtu(p.a, p.pa);
	size_t want = mtu > 65000 ? 65000 : mtu;
	print_message("mtu %zu: pmtu %d, %llu probes (%llu lost), %d changes\n", mtu, got,
		      (unsigned long long)st.pmtu_probes, (unsigned long long)st.pmtu_probes_lost, events);
	assert_true((size_t)got <= want && (size_t)got + 8 >= want);
	assert_int_equal(st.pmtu, (uint64_t)got);
	assert_true(events >= 1);
	/* ceiling first, then a binary search of 1200..65000: at most ~14
	 * sizes, each given 3 probes when it fails */
	assert_true(st.pmtu_probes <= 50);
	/* the RTT is 20 ms and a probe times out after 20-200 ms: the whole
	 * search takes ~14 sizes x 3 x the probe timer, well under 30 s */
	/* data now uses it: one message of 200 kB goes in full packets */
	static uint8_t big[200000];
	uint64_t sent0 = st.pkts_sent;
	assert_int_equal(rel_send(p.a, p.pa, big, sizeof big, REL_RDM, sim_now(p.s), NULL), 0);
	run(&p, sim_now(p.s) + 10000000, NULL);
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.msgs_acked, 1);
	uint64_t frags = (sizeof big + (size_t)got - 181 - 1) / ((size_t)got - 181);
	assert_true(st.data_sent <= frags + 2);
	assert_true(st.pkts_sent - sent0 < frags + 20);
	relpair_close(&p);
}

static void converges(void **state)
{
	(void)state;
	converge_one(1280 - 48); /* IPv6 minimum link, as UDP payload */
	converge_one(1500 - 28);
	converge_one(9000 - 28);
	converge_one(65000);
}

/* Counts what a cc hook is told, and lets everything go. */
struct cc_count {
	int lost, timeouts;
};
static int cc_may(void *st, void *ctx, const struct rel_cc_info *i, size_t b, uint64_t now, uint64_t *w)
{
	(void)st, (void)ctx, (void)i, (void)b, (void)now, (void)w;
	return 1;
}
static void cc_ev(void *st, void *ctx, const struct rel_cc_info *i, enum rel_cc_event ev,
		  uint64_t bytes, uint64_t now)
{
	(void)st, (void)i, (void)bytes, (void)now;
	struct cc_count *c = ctx;
	if (ev == REL_CC_LOST)
		c->lost++;
	if (ev == REL_CC_TIMEOUT)
		c->timeouts++;
}
static const struct rel_cc_ops cc_counting = {.may_send = cc_may, .on_event = cc_ev};

/* Probes too big for the path are lost, but cc hears of no loss. */
static void probes_are_not_congestion(void **state)
{
	(void)state;
	struct sim_link link = {.netem = "delay 10ms mtu 1400"};
	struct cc_count cnt = {0};
	struct rel_config ca, cb;
	config(&ca, 3, 9000);
	config(&cb, 4, 9000);
	ca.cc = &cc_counting;
	ca.cc_ctx = &cnt;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 3, &link, &ca, &cb), 0);
	static uint8_t buf[50000];
	for (int i = 0; i < 20; i++)
		assert_int_equal(rel_send(p.a, p.pa, buf, sizeof buf, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	run(&p, sim_now(p.s) + 20000000, NULL);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.msgs_acked, 20);
	assert_true(st.pmtu_probes_lost >= 3);
	assert_int_equal(cnt.lost, 0);
	assert_int_equal(cnt.timeouts, 0);
	assert_int_equal(st.retransmits, 0);
	assert_true(rel_peer_pmtu(p.a, p.pa) > 1390);
	relpair_close(&p);
}

/* Random loss is no black hole: a bulk transfer of 1200-byte messages at
 * 5 % loss each way (RTOs included, which declare whole flights lost) keeps
 * the size it found instead of falling back to the base again and again. */
static void random_loss_is_no_black_hole(void **state)
{
	(void)state;
	struct sim_link link = {.netem = "delay 5ms loss 5% mtu 9000"};
	struct rel_config ca, cb;
	config(&ca, 7, 9000);
	config(&cb, 8, 9000);
	ca.cc = cb.cc = &rel_cc_bbr;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 7, &link, &ca, &cb), 0);
	static uint8_t buf[1200];
	for (int i = 0; i < 3000; i++)
		assert_int_equal(rel_send(p.a, p.pa, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL), 0);
	run(&p, sim_now(p.s) + 60000000, NULL);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.msgs_acked, 3000);
	print_message("5%% loss: pmtu %llu, %llu black holes, %llu retransmits, %llu parts\n",
		      (unsigned long long)st.pmtu, (unsigned long long)st.pmtu_blackholes,
		      (unsigned long long)st.retransmits, (unsigned long long)st.parts_sent);
	assert_true(st.pmtu > 8000);
	assert_true(st.pmtu_blackholes <= 1);
	relpair_close(&p);
}

/* Messages of a transfer checked at the receiver: each once, whole. */
struct check {
	int got, next_seq;
	uint8_t seen[1000];
};
static void check_msg(struct check *k, const struct rel_event *ev)
{
	int idx = ev->data[0] << 8 | ev->data[1];
	assert_true(idx < 1000);
	assert_int_equal(k->seen[idx], 0);
	k->seen[idx] = 1;
	for (size_t j = 2; j < ev->len; j++)
		assert_int_equal(ev->data[j], (uint8_t)(idx * 7 + j));
	if (ev->mode == REL_SEQPACKET) {
		assert_true(idx > k->next_seq);
		k->next_seq = idx;
	}
	k->got++;
}

/* The pair of the shrink tests: Reno on a path of 9000 bytes and 5 ms,
 * its search done at 9000. */
static void jumbo_pair(struct relpair *p)
{
	struct sim_link link = {.netem = "delay 5ms mtu 9000"};
	struct rel_config ca, cb;
	config(&ca, 5, 9000);
	config(&cb, 6, 9000);
	ca.cc = cb.cc = &rel_cc_reno;
	assert_int_equal(relpair_open(p, 5, &link, &ca, &cb), 0);
	run(p, sim_now(p->s) + 2000000, NULL);
	assert_int_equal(rel_peer_pmtu(p->a, p->pa), 9000);
}

/* The path shrinks to 1300, silently; returns when. */
static uint64_t shrink_to_1300(struct relpair *p)
{
	struct sim_link small = {.netem = "delay 5ms mtu 1300"};
	assert_int_equal(sim_set_link(p->s, &small), 0);
	return sim_now(p->s);
}

/* The path shrinks from 9000 to 1300 mid-transfer, silently: the sender
 * falls back to the base within a bounded time, the fragments cut for
 * 9000 go in parts, no message is lost, and the search finds 1300. */
static void shrink_mid_transfer(void **state)
{
	(void)state;
	struct relpair p;
	jumbo_pair(&p);
	enum { N = 600 };
	static uint8_t buf[30000];
	struct check k = {.next_seq = -1};
	int sent = 0, shrunk = 0;
	uint64_t t_shrink = 0, t_fallback = 0;
	uint64_t limit = sim_now(p.s) + 120000000;
	while (k.got < N && sim_step(p.s, limit)) {
		while (sent < N) {
			size_t len = 3 + (size_t)(sent * 7919) % sizeof buf - 3;
			if (len < 3)
				len = 3;
			buf[0] = (uint8_t)(sent >> 8);
			buf[1] = (uint8_t)sent;
			for (size_t j = 2; j < len; j++)
				buf[j] = (uint8_t)(sent * 7 + j);
			int rc = rel_send(p.a, p.pa, buf, len, sent % 2 ? REL_RDM : REL_SEQPACKET, sim_now(p.s), NULL);
			if (rc == REL_EFULL)
				break;
			assert_int_equal(rc, 0);
			sent++;
		}
		if (!shrunk && k.got >= N / 4) {
			shrunk = 1;
			t_shrink = shrink_to_1300(&p);
		}
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				check_msg(&k, &ev);
				rel_buf_free(ev.data);
			}
		}
		while (rel_poll_event(p.a, &ev))
			if (ev.type == REL_EV_PMTU && shrunk && !t_fallback && ev.len <= 1300)
				t_fallback = sim_now(p.s);
	}
	assert_int_equal(k.got, N);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	int pm = rel_peer_pmtu(p.a, p.pa);
	print_message("shrink: fallback after %.0f ms, pmtu now %d, %llu parts, %llu black holes\n",
		      (double)(t_fallback - t_shrink) / 1e3, pm, (unsigned long long)st.parts_sent,
		      (unsigned long long)st.pmtu_blackholes);
	assert_true(t_fallback > 0 && t_fallback - t_shrink < 2000000);
	assert_true(st.pmtu_blackholes >= 1);
	assert_true(st.parts_sent > 0);
	run(&p, sim_now(p.s) + 10000000, NULL); /* the search below 9000 ends */
	pm = rel_peer_pmtu(p.a, p.pa);
	assert_true(pm <= 1300 && pm + 8 >= 1300);
	relpair_close(&p);
}

/* Passes what b has queued to a through sim_inject, except its first
 * `lose` DATA datagrams, which are lost; *lost counts them. */
static void lose_first_data(struct relpair *p, int lose, int *lost)
{
	size_t n = rel_out_pending(p->b);
	for (size_t i = 0; i < n; i++) {
		struct rel_dgram d;
		assert_int_equal(rel_out_peek(p->b, i, &d), 0);
		if (*lost < lose && d.len > 2 && d.data[2] == 5) {
			++*lost;
			continue;
		}
		sim_inject(p->s, p->nb, p->na, d.data, d.len, 1000);
	}
	rel_out_pop(p->b, n);
}

/* The livelock fuzz_rel_pair found (tests/fuzz/regress/): a lone source's
 * receive window of 1 KiB fragments holds more than its share of
 * core_budget (half, with no other source).  The head message is lost
 * whole (its three fragments), the messages after it are admitted and wait
 * for it (in order), and its retransmission was then refused for the share
 * those messages took, again and again: nothing was delivered, the sender
 * fell back to the base over and over (the refusals looked like a black
 * hole), and the close never completed.  The memory that only the head can
 * free no longer counts against it. */
static void lost_head_behind_a_window(void **state)
{
	(void)state;
	struct sim_link link = {.netem = "delay 1ms"};
	struct rel_config ca, cb;
	for (int i = 0; i < 2; i++) {
		struct rel_config *c = i ? &cb : &ca;
		config(c, 21 + (uint64_t)i, 1200);
		c->mtu = 400;
		c->max_mtu = 1200;
		c->max_msg = 4000;
		c->recv_budget = 12000;
		c->core_budget = 16000;
		c->window = 16;
	}
	struct relpair p;
	assert_int_equal(relpair_open(&p, 21, &link, &ca, &cb), 0);
	uint64_t limit = sim_now(p.s) + 5000000;
	while (rel_peer_pmtu(p.b, p.pb) < 1200 && sim_step(p.s, limit))
		;
	assert_int_equal(rel_peer_pmtu(p.b, p.pb), 1200);
	enum { N = 4, LEN = 2957 };
	static uint8_t buf[LEN];
	for (int i = 0; i < N; i++) {
		buf[0] = 0;
		buf[1] = (uint8_t)i;
		for (size_t j = 2; j < LEN; j++)
			buf[j] = (uint8_t)(i * 7 + j);
		assert_int_equal(rel_send(p.b, p.pb, buf, LEN, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	}
	struct check k = {.next_seq = -1};
	int lost = 0;
	uint64_t t0 = sim_now(p.s);
	limit = t0 + 20000000;
	do {
		lose_first_data(&p, 3, &lost);
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev))
			if (ev.type == REL_EV_MESSAGE) {
				check_msg(&k, &ev);
				rel_buf_free(ev.data);
			}
		while (rel_poll_event(p.b, &ev))
			;
	} while (k.got < N && sim_step(p.s, limit));
	struct rel_stats sa, sb;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &sa), 0);
	assert_int_equal(rel_peer_stats(p.b, p.pb, &sb), 0);
	print_message("lost head: %d of %d messages in %.0f ms; receiver drop_share %llu, "
		      "sender %llu black holes, pmtu %llu\n", k.got, N, (double)(sim_now(p.s) - t0) / 1e3,
		      (unsigned long long)sa.drop_share, (unsigned long long)sb.pmtu_blackholes,
		      (unsigned long long)sb.pmtu);
	assert_int_equal(lost, 3);
	assert_int_equal(k.got, N);
	/* one RTO brings the head again: well within a second */
	assert_true(sim_now(p.s) - t0 < 1000000);
	assert_int_equal(sb.pmtu_blackholes, 0);
	relpair_close(&p);
}

/* Counts PROBE packets (type 11) on the wire. */
static void tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	(void)to;
	int *n = ctx;
	if (len > 2 && d[0] == 0x75 && d[2] == 11)
		n[from]++;
}

/* PMTUD off: that side sends no probe and stays at the base; it still
 * answers the other side's probes, which finds the larger size. */
static void pmtud_off(void **state)
{
	(void)state;
	struct sim_link link = {.netem = "delay 10ms"};
	for (int both = 0; both < 2; both++) {
		struct rel_config ca, cb;
		config(&ca, 9, 9000);
		config(&cb, 10, 9000);
		ca.pmtud = 0;
		cb.pmtud = !both;
		struct relpair p;
		assert_int_equal(relpair_open(&p, 9, &link, &ca, &cb), 0);
		int probes[SIM_MAX_NODES] = {0};
		sim_set_tap(p.s, tap, probes);
		static uint8_t buf[40000];
		assert_int_equal(rel_send(p.a, p.pa, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL), 0);
		assert_int_equal(rel_send(p.b, p.pb, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL), 0);
		run(&p, sim_now(p.s) + 5000000, NULL);
		struct rel_stats sa, sb;
		assert_int_equal(rel_peer_stats(p.a, p.pa, &sa), 0);
		assert_int_equal(rel_peer_stats(p.b, p.pb, &sb), 0);
		assert_int_equal(sa.msgs_acked, 1);
		assert_int_equal(sb.msgs_acked, 1);
		assert_int_equal(sa.pmtu_probes, 0);
		assert_int_equal(rel_peer_pmtu(p.a, p.pa), 1200);
		if (both) {
			assert_int_equal(probes[p.na] + probes[p.nb], 0);
			assert_int_equal(rel_peer_pmtu(p.b, p.pb), 1200);
		} else {
			/* a answered b's probes (during the handshake's run) */
			assert_int_equal(rel_peer_pmtu(p.b, p.pb), 9000);
		}
		relpair_close(&p);
	}
}

/* The driver's ceiling: never probed above, and lowering it below the
 * size in use takes effect at once. */
static void ceiling_from_driver(void **state)
{
	(void)state;
	struct sim_link link = {.netem = "delay 10ms"};
	struct rel_config ca, cb;
	config(&ca, 11, 1472);
	config(&cb, 12, 1472);
	struct relpair p;
	assert_int_equal(relpair_open(&p, 11, &link, &ca, &cb), 0);
	assert_int_equal(rel_peer_set_mtu_ceiling(p.a, p.pa, 4000), 0);
	run(&p, sim_now(p.s) + 5000000, NULL);
	assert_int_equal(rel_peer_pmtu(p.a, p.pa), 4000);
	assert_int_equal(rel_peer_set_mtu_ceiling(p.a, p.pa, 2000), 0);
	assert_int_equal(rel_peer_pmtu(p.a, p.pa), 2000);
	assert_int_equal(rel_peer_set_mtu_ceiling(p.a, 999, 2000), REL_ENOPEER);
	relpair_close(&p);
}

/* ---- ICMP "too big" (rel_peer_ptb) ---- */

/* A router in front of b: while on, each datagram from a longer than mtu
 * is answered with a "too big" quoting its first 548 bytes (an ICMPv4
 * router's quote), delivered to a at the next step. */
struct router {
	int on, na, nb;
	size_t mtu;
	int n;
	size_t len[64];
	uint8_t q[64][548];
	uint64_t sent;
};
static void router_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct router *r = ctx;
	if (!r->on || from != r->na || to != r->nb || len <= r->mtu || r->n == 64)
		return;
	r->len[r->n] = len < sizeof r->q[0] ? len : sizeof r->q[0];
	memcpy(r->q[r->n], d, r->len[r->n]);
	r->n++;
}
static void router_deliver(struct router *r, struct relpair *p)
{
	size_t alen;
	const uint8_t *addr = sim_addr(p->s, p->nb, &alen);
	for (int i = 0; i < r->n; i++) {
		assert_true(rel_peer_ptb(p->a, addr, alen, r->mtu, r->q[i], r->len[i], sim_now(p->s)) >= 0);
		r->sent++;
	}
	r->n = 0;
}

/* The shrink of shrink_mid_transfer, 9000 -> 1300, with or without the
 * router's "too big": the time from the change until a's data uses at
 * most 1300, and a's counters at the end. */
static uint64_t shrink_run(int icmp, struct rel_stats *st, int *pm_end)
{
	struct relpair p;
	jumbo_pair(&p);
	struct router r = {.na = p.na, .nb = p.nb, .mtu = 1300};
	sim_set_tap(p.s, router_tap, &r);
	static uint8_t buf[30000];
	enum { N = 300 };
	int sent = 0, got = 0;
	uint64_t t_shrink = 0, t_rec = 0, limit = sim_now(p.s) + 60000000;
	while (got < N && sim_step(p.s, limit)) {
		if (icmp)
			router_deliver(&r, &p);
		while (sent < N && rel_send(p.a, p.pa, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL) == 0)
			sent++;
		if (!t_shrink && got >= N / 4) {
			t_shrink = shrink_to_1300(&p);
			r.on = 1;
		}
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev))
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, sizeof buf);
				got++;
				rel_buf_free(ev.data);
			}
		while (rel_poll_event(p.a, &ev))
			if (ev.type == REL_EV_PMTU && t_shrink && !t_rec && ev.len <= 1300)
				t_rec = sim_now(p.s);
	}
	assert_int_equal(got, N);
	run(&p, sim_now(p.s) + 10000000, NULL);
	assert_int_equal(rel_peer_stats(p.a, p.pa, st), 0);
	*pm_end = rel_peer_pmtu(p.a, p.pa);
	print_message("shrink %s ICMP: data at <= 1300 after %.0f ms (%.1f RTTs), pmtu %d, "
		      "%llu ICMP, %llu valid, %llu ignored, %llu probes, %llu black holes\n",
		      icmp ? "with" : "without", (double)(t_rec - t_shrink) / 1e3,
		      (double)(t_rec - t_shrink) / 10000.0, *pm_end, (unsigned long long)r.sent,
		      (unsigned long long)st->pmtu_ptb_valid, (unsigned long long)st->pmtu_ptb_ignored,
		      (unsigned long long)st->pmtu_probes, (unsigned long long)st->pmtu_blackholes);
	assert_true(t_rec > t_shrink);
	relpair_close(&p);
	return t_rec - t_shrink;
}

/* A valid "too big" for data in flight: the sender goes to the hinted
 * size (confirmed by a probe and the loss) sooner than loss detection and
 * a search from the base get there, and lands on it exactly. */
static void ptb_recovers_faster(void **state)
{
	(void)state;
	struct rel_stats with, without;
	int pm_with, pm_without;
	uint64_t t_with = shrink_run(1, &with, &pm_with);
	uint64_t t_without = shrink_run(0, &without, &pm_without);
	assert_true(with.pmtu_ptb_valid >= 1);
	assert_int_equal(without.pmtu_ptb_valid + without.pmtu_ptb_ignored, 0);
	assert_true(t_with < t_without);
	assert_int_equal(pm_with, 1300);
	assert_true(pm_without <= 1300 && pm_without + 8 >= 1300);
	/* straight to the hint: no detour through the base */
	assert_int_equal(with.pmtu_blackholes, 0);
}

/* A "too big" quoting a probe: that size failed at once (no 3 timeouts)
 * and the hinted size is probed next; the search ends there in fewer
 * probes and less time. */
static void ptb_speeds_the_search(void **state)
{
	(void)state;
	uint64_t took[2];
	uint64_t probes[2];
	for (int icmp = 0; icmp < 2; icmp++) {
		struct sim_link link = {.netem = "delay 10ms mtu 1400"};
		struct rel_config ca, cb;
		config(&ca, 31, 9000);
		config(&cb, 32, 9000);
		struct relpair p;
		assert_int_equal(relpair_open(&p, 31, &link, &ca, &cb), 0);
		struct router r = {.on = 1, .na = p.na, .nb = p.nb, .mtu = 1400};
		sim_set_tap(p.s, router_tap, &r);
		uint64_t t0 = sim_now(p.s), done = 0;
		while (sim_step(p.s, t0 + 30000000)) {
			if (icmp)
				router_deliver(&r, &p);
			struct rel_event ev;
			while (rel_poll_event(p.a, &ev))
				if (ev.type == REL_EV_PMTU && ev.len + 8 >= 1400)
					done = sim_now(p.s);
			while (rel_poll_event(p.b, &ev))
				;
		}
		struct rel_stats st;
		assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
		assert_true(done > t0);
		took[icmp] = done - t0;
		probes[icmp] = st.pmtu_probes;
		print_message("search %s ICMP: %.0f ms (%.1f RTTs), %llu probes, pmtu %llu, %llu valid\n",
			      icmp ? "with" : "without", (double)took[icmp] / 1e3,
			      (double)took[icmp] / 20000.0, (unsigned long long)st.pmtu_probes,
			      (unsigned long long)st.pmtu, (unsigned long long)st.pmtu_ptb_valid);
		if (icmp) {
			assert_int_equal(st.pmtu, 1400);
			assert_true(st.pmtu_ptb_valid >= 1);
		}
		relpair_close(&p);
	}
	assert_true(took[1] < took[0]);
	assert_true(probes[1] < probes[0]);
}

/* Keeps a copy of a's latest DATA datagram to b. */
struct grab {
	int na;
	size_t len;
	uint8_t d[9000];
};
static void grab_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	(void)to;
	struct grab *g = ctx;
	if (from == g->na && len > 2 && d[2] == 5 && len <= sizeof g->d) {
		memcpy(g->d, d, len);
		g->len = len;
	}
}

/* Forged, stale or foreign "too big"s are counted and change nothing; a
 * valid one on a path that still carries the size in use gets a probe
 * out of the sender, never a smaller size. */
static void ptb_not_trusted(void **state)
{
	(void)state;
	struct sim_link link = {.netem = "delay 10ms mtu 9000"};
	struct rel_config ca, cb;
	config(&ca, 41, 9000);
	config(&cb, 42, 9000);
	struct relpair p;
	assert_int_equal(relpair_open(&p, 41, &link, &ca, &cb), 0);
	run(&p, sim_now(p.s) + 3000000, NULL);
	assert_int_equal(rel_peer_pmtu(p.a, p.pa), 9000);
	size_t alen;
	const uint8_t *addr = sim_addr(p.s, p.nb, &alen);
	struct grab g = {.na = p.na};
	sim_set_tap(p.s, grab_tap, &g);
	static uint8_t buf[400000];
	assert_int_equal(rel_send(p.a, p.pa, buf, sizeof buf, REL_RDM, sim_now(p.s), NULL), 0);
	sim_step(p.s, sim_now(p.s) + 1000); /* the first flight leaves */
	assert_true(g.len > 1300);
	uint8_t q[548], stale[548];
	memcpy(stale, g.d, sizeof stale);
	struct rel_stats st0, st;
	struct rel_core_stats cs;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st0), 0);
	uint64_t now = sim_now(p.s);
	/* noise; a wrong session (src sid: ours for no session); a wrong
	 * peer sid; a seq never sent; another address; no quote at all */
	for (size_t i = 0; i < sizeof q; i++)
		q[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, q, sizeof q, now), 0);
	memcpy(q, g.d, sizeof q);
	q[11] ^= 1;
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, q, sizeof q, now), 0);
	rel_core_stats(p.a, &cs);
	assert_int_equal(cs.ptb_ignored, 2);
	memcpy(q, g.d, sizeof q);
	q[7] ^= 1;
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, q, sizeof q, now), 0);
	memcpy(q, g.d, sizeof q);
	size_t body = 12 + 17 + 4 * (size_t)q[28];
	q[body] ^= 0x40; /* seq far off */
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, q, sizeof q, now), 0);
	memcpy(q, g.d, sizeof q);
	q[body + 11] ^= 1; /* frag_off not the one of that seq */
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, q, sizeof q, now), 0);
	uint8_t other[4] = {'N', 9, 0, 0};
	assert_int_equal(rel_peer_ptb(p.a, other, sizeof other, 1300, g.d, sizeof q, now), 0);
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, g.d, 20, now), 0); /* too short to check */
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, NULL, 0, now), 0);
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 9500, g.d, sizeof q, now), 0); /* not below */
	assert_int_equal(rel_peer_ptb(NULL, addr, alen, 1300, g.d, sizeof q, now), UDP_EINVAL);
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.pmtu_ptb_valid, 0);
	assert_int_equal(st.pmtu_ptb_ignored, 6);
	rel_core_stats(p.a, &cs);
	assert_int_equal(cs.ptb_ignored, 3); /* and the empty quote */
	/* a valid one, the path still carrying 9000: a probe of 1300 goes
	 * and is answered, but no data is lost, so data stays at 9000 */
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, g.d, sizeof q, now), 1);
	int events = 0;
	run(&p, sim_now(p.s) + 10000000, &events);
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.msgs_acked, 1);
	assert_int_equal(st.pmtu_ptb_valid, 1);
	assert_true(st.pmtu_probes > st0.pmtu_probes);
	assert_int_equal(events, 0);
	assert_int_equal(rel_peer_pmtu(p.a, p.pa), 9000);
	/* the same quote now: that packet was acked long ago */
	assert_int_equal(rel_peer_ptb(p.a, addr, alen, 1300, stale, sizeof stale, sim_now(p.s)), 0);
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_int_equal(st.pmtu_ptb_ignored, 7);
	assert_int_equal(rel_peer_pmtu(p.a, p.pa), 9000);
	relpair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(converges),
		cmocka_unit_test(probes_are_not_congestion),
		cmocka_unit_test(shrink_mid_transfer),
		cmocka_unit_test(random_loss_is_no_black_hole),
		cmocka_unit_test(lost_head_behind_a_window),
		cmocka_unit_test(pmtud_off),
		cmocka_unit_test(ceiling_from_driver),
		cmocka_unit_test(ptb_recovers_faster),
		cmocka_unit_test(ptb_speeds_the_search),
		cmocka_unit_test(ptb_not_trusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
