/* test_rel_bbr_start.c - how fast a large reliable transfer gets going on
 * a fast path (issue #16), in virtual time: rel_cc_bbr with path MTU
 * discovery over a link of loopback's shape (64 KiB datagrams, ~1.4 GB/s,
 * a receive buffer's worth of queue, tens of microseconds each way), fed
 * as `udpsend -r --whole` feeds the core: a first 64 KiB piece, then 1 MiB
 * pieces, 32 MiB queued ahead.  Also the out-queue slots the sender
 * first-touches (rel_core.c). */
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

#define FIRST_PIECE (64u * 1024)
#define PIECE (1024u * 1024)
#define AHEAD (32u * 1024 * 1024)

struct xfer {
	uint64_t total;            /* bytes to send */
	uint64_t queued, acked;    /* at the sender */
	uint64_t got;              /* delivered at the receiver */
	uint64_t t_first;          /* first delivery, virtual us */
	uint64_t t_at[8];          /* when got reached 1, 2, 4 .. 128 MiB */
	uint64_t t_done;
	size_t nlen, head;         /* lengths of the pieces in flight */
	uint32_t lens[64];
};

static uint8_t piece[PIECE];

/* The out-queue buffers the sender's datagrams were in (sim tap). */
#define MAX_BUFS 512
static const uint8_t *bufs[MAX_BUFS];
static size_t nbufs;

static void tap(void *ctx, int from, int to, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)to;
	if (from != 0 || len < 60000)
		return;
	for (size_t i = 0; i < nbufs; i++)
		if (bufs[i] == data)
			return;
	if (nbufs < MAX_BUFS)
		bufs[nbufs++] = data;
}

static void pump(struct relpair *p, struct xfer *x, uint64_t now)
{
	struct rel_event ev;
	while (rel_poll_event(p->a, &ev)) {
		if (ev.type == REL_EV_ACKED) {
			x->acked += x->lens[x->head];
			x->head = (x->head + 1) % 64;
			x->nlen--;
		}
	}
	while (rel_poll_event(p->b, &ev)) {
		if (ev.type != REL_EV_MESSAGE)
			continue;
		if (!x->got)
			x->t_first = now;
		x->got += ev.len;
		for (int k = 0; k < 8; k++)
			if (!x->t_at[k] && x->got >= (1ull << 20) << k)
				x->t_at[k] = now;
		if (x->got == x->total)
			x->t_done = now;
		rel_buf_free(ev.data);
	}
	while (x->queued < x->total && x->queued - x->acked < AHEAD && x->nlen < 64) {
		uint64_t left = x->total - x->queued;
		uint32_t n = x->queued ? PIECE : FIRST_PIECE;
		if (n > left)
			n = (uint32_t)left;
		if (rel_send(p->a, p->pa, piece, n, REL_SEQPACKET, now, NULL) < 0)
			break;
		x->lens[(x->head + x->nlen) % 64] = n;
		x->nlen++;
		x->queued += n;
	}
}

static void config(struct rel_config *c, uint64_t seed)
{
	relpair_config(c, seed);
	c->path_mtu = 65535; /* loopback's route */
	c->rto_min_us = 20000; /* as the tools */
	c->cc = &rel_cc_bbr;
	c->window = 1024;
	c->send_budget = 256u << 20;
	c->recv_budget = 80u << 20;
}

/* Sends total bytes over link, from the end of the handshake. */
static void transfer(const char *link_spec, uint64_t total, struct xfer *x, struct rel_stats *st)
{
	struct sim_link link = {.netem = link_spec};
	struct rel_config ca, cb;
	config(&ca, 21);
	config(&cb, 22);
	struct relpair p;
	assert_int_equal(relpair_open(&p, 21, &link, &ca, &cb), 0);
	nbufs = 0;
	sim_set_tap(p.s, tap, NULL);
	memset(x, 0, sizeof *x);
	x->total = total;
	uint64_t t0 = sim_now(p.s);
	pump(&p, x, t0);
	while (!x->t_done) {
		assert_true(sim_now(p.s) - t0 < 10000000); /* bounded: 10 s */
		(void)sim_step(p.s, t0 + 10000000);
		pump(&p, x, sim_now(p.s));
	}
	assert_int_equal(rel_peer_stats(p.a, p.pa, st), 0);
	x->t_first -= t0;
	x->t_done -= t0;
	for (int k = 0; k < 8; k++)
		if (x->t_at[k])
			x->t_at[k] -= t0;
	print_message("%s, %llu MiB: first byte %.2f ms, 1/2/4/8/16 MiB at %.2f %.2f %.2f %.2f %.2f ms, "
		      "done %.2f ms (%.0f MB/s from the first byte), %llu pkts, %llu retransmits, pmtu %llu, "
		      "%zu out-queue buffers\n",
		      link_spec, (unsigned long long)(total >> 20), x->t_first / 1e3, x->t_at[0] / 1e3,
		      x->t_at[1] / 1e3, x->t_at[2] / 1e3, x->t_at[3] / 1e3, x->t_at[4] / 1e3,
		      x->t_done / 1e3, (double)total / (double)(x->t_done - x->t_first),
		      (unsigned long long)st->data_sent, (unsigned long long)st->retransmits,
		      (unsigned long long)st->pmtu, nbufs);
	relpair_close(&p);
}

/* ---- tests ---- */

/* Loopback's shape, with the round trip its receiver makes of it when it
 * acks a batch at a time (~2 ms under load, docs/BENCHMARKS.md): 1.4 GB/s,
 * 128 datagrams of 64 KiB queued (its 8 MiB receive buffer). */
static const char *LOOP_2MS = "delay 1ms rate 11200mbit limit 128";

/* Once path MTU discovery has confirmed 64 KiB, BBR's STARTUP grows from
 * an initial window of that size: 10 packets of 64 KiB, as TCP's on
 * loopback, not the ~20 KiB it had grown to with base-size packets, and
 * not capped by a bandwidth sample that the small packets limited.  Before
 * (main at aad4cbd): 4 MiB 8.9 ms after the first byte, 1207 MB/s. */
static void test_start_after_pmtu(void **state)
{
	(void)state;
	struct xfer x;
	struct rel_stats st;
	transfer(LOOP_2MS, 50u << 20, &x, &st);
	assert_int_equal(st.pmtu, 65000);
	assert_true(x.t_at[2] - x.t_first < 7000);
	assert_true((double)x.total / (double)(x.t_done - x.t_first) >= 1250);
	assert_int_equal(st.retransmits, 0);
}

/* A short round trip: the window covers the path at once either way. */
static void test_start_short_rtt(void **state)
{
	(void)state;
	struct xfer x;
	struct rel_stats st;
	transfer("delay 30us rate 11200mbit limit 128", 50u << 20, &x, &st);
	assert_true((double)x.total / (double)(x.t_done - x.t_first) >= 1350);
	assert_int_equal(st.retransmits, 0);
}

/* Every out-queue slot grows to 64 KiB on its first big datagram: a queue
 * that went round all 256 of them first-touched 16 MiB at the start of
 * each transfer (page faults: ~15 ms on the lab VM).  Drained every turn,
 * it starts again at slot 0 and uses only what one turn needs. */
static void test_few_out_slots(void **state)
{
	(void)state;
	struct xfer x;
	struct rel_stats st;
	transfer(LOOP_2MS, 50u << 20, &x, &st);
	assert_true(nbufs > 0);
	assert_true(nbufs <= 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_after_pmtu),
		cmocka_unit_test(test_start_short_rtt),
		cmocka_unit_test(test_few_out_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
