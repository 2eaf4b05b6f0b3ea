/* cmocka tests for the reliable core: exactly-once transfers in virtual
 * time over a lossy simulated link, both reliable modes, wraparound, close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_wire.h"
#include "support_relpair.h"
#include "support_relsim.h"

/* ---- the message set: sizes 1 byte .. 1 MiB, content derived from idx ---- */

static size_t msg_size(uint32_t idx, uint64_t seed)
{
	uint64_t r = seed ^ ((uint64_t)idx * 0x9e3779b97f4a7c15ull);
	uint64_t x = sim_rand(&r);
	if (idx % 1000 == 999)
		return (1u << 20) - (x % 4096);         /* ~10 of 1 MiB */
	if (idx % 1000 == 500)
		return 128 * 1024 + x % (256 * 1024);   /* ~10 of 128..384 KiB */
	if (idx % 50 == 7)
		return 2000 + x % (62 * 1024);          /* ~200 of 2..64 KiB */
	return 1 + x % 1500;
}

static uint8_t msg_byte(uint32_t idx, size_t j)
{
	return (uint8_t)(idx * 131u + j * 7u + (j >> 8));
}

/* Messages of 8 bytes or more carry their index and length in the first 8
 * bytes; shorter ones are one fixed pattern per length. */
static void msg_fill(uint8_t *buf, uint32_t idx, size_t len)
{
	if (len < 8) {
		memset(buf, (int)(0xa0 + len), len);
		return;
	}
	for (int i = 0; i < 4; i++) {
		buf[i] = (uint8_t)(idx >> (24 - 8 * i));
		buf[4 + i] = (uint8_t)(len >> (24 - 8 * i));
	}
	for (size_t j = 8; j < len; j++)
		buf[j] = msg_byte(idx, j);
}

struct rx_check {
	uint64_t seed;
	uint32_t n;
	uint8_t *seen;       /* per idx, for len >= 8 */
	uint32_t small[8];   /* count per length for len < 8 */
	uint32_t small_expect[8];
	uint32_t next;       /* seqpacket: next idx expected */
	uint32_t got;
	int in_order;
};

static void check_msg(struct rx_check *k, const uint8_t *d, size_t len)
{
	k->got++;
	if (len < 8) {
		assert_true(len > 0);
		for (size_t j = 0; j < len; j++)
			assert_int_equal(d[j], 0xa0 + len);
		k->small[len]++;
		assert_true(k->small[len] <= k->small_expect[len]);
		if (k->in_order) {
			assert_int_equal(len, msg_size(k->next, k->seed));
			k->next++;
		}
		return;
	}
	uint32_t idx = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	uint32_t l = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
	assert_true(idx < k->n);
	assert_int_equal(l, len);
	assert_int_equal(len, msg_size(idx, k->seed));
	assert_int_equal(k->seen[idx], 0); /* exactly once */
	k->seen[idx] = 1;
	if (k->in_order) {
		assert_int_equal(idx, k->next);
		k->next++;
	}
	for (size_t j = 8; j < len; j++)
		if (d[j] != msg_byte(idx, j))
			fail_msg("message %u corrupted at byte %zu", idx, j);
}

struct xfer_case {
	uint64_t seed;
	double loss;
	enum rel_mode mode;
	uint32_t n;
	int wrap; /* start sequence numbers just before 2^32 */
	int reno; /* with rel_cc_reno and delayed acks */
};

static void run_transfer(const struct xfer_case *xc)
{
	struct sim_link link = {.loss = xc->loss, .delay_us = 10000, .jitter_us = 2000};
	if (xc->loss > 0) {
		link.dup = 0.02;
		link.reorder = 0.05;
		link.corrupt = 0.01;
	}
	struct rel_config ca, cb;
	relpair_config(&ca, xc->seed * 7 + 1);
	relpair_config(&cb, xc->seed * 7 + 2);
	if (xc->wrap) {
		ca.fixed_initial_seq = cb.fixed_initial_seq = 1;
		ca.initial_seq = 0xffffffffu - 3000;
		cb.initial_seq = 0xfffffff0u;
	}
	if (xc->reno) {
		ca.cc = cb.cc = &rel_cc_reno;
		ca.ack_delay_us = cb.ack_delay_us = 5000;
	}
	struct relpair p;
	assert_int_equal(relpair_open(&p, xc->seed, &link, &ca, &cb), 0);

	struct rx_check k = {.seed = xc->seed, .n = xc->n, .in_order = xc->mode == REL_SEQPACKET};
	k.seen = calloc(xc->n, 1);
	assert_non_null(k.seen);
	uint8_t *buf = malloc(1u << 20);
	assert_non_null(buf);
	for (uint32_t i = 0; i < xc->n; i++) {
		size_t len = msg_size(i, xc->seed);
		if (len < 8)
			k.small_expect[len]++;
		msg_fill(buf, i, len);
		assert_int_equal(rel_send(p.a, p.pa, buf, len, xc->mode, sim_now(p.s), NULL), 0);
	}
	free(buf);
	uint32_t acked = 0;
	int closed = 0, peer_closed = 0, closing = 0;
	uint64_t limit = sim_now(p.s) + 3600ull * 1000000;
	while (!(closed && peer_closed) && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.mode, xc->mode);
				check_msg(&k, ev.data, ev.len);
				rel_buf_free(ev.data);
			} else if (ev.type == REL_EV_PEER_CLOSED) {
				assert_int_equal(k.got, xc->n); /* all delivered before */
				peer_closed = 1;
			}
			assert_int_not_equal(ev.type, REL_EV_DEAD);
		}
		while (rel_poll_event(p.a, &ev)) {
			if (ev.type == REL_EV_ACKED)
				acked++;
			else if (ev.type == REL_EV_CLOSED) {
				assert_int_equal(acked, xc->n);
				closed = 1;
			}
			assert_int_not_equal(ev.type, REL_EV_DEAD);
		}
		if (acked == xc->n && !closing) {
			assert_int_equal(rel_close(p.a, p.pa, sim_now(p.s)), 0);
			closing = 1;
		}
	}
	if (!(closed && peer_closed))
		fail_msg("transfer stuck: got %u of %u, acked %u", k.got, xc->n, acked);
	assert_int_equal(k.got, xc->n);
	for (int l = 1; l < 8; l++)
		assert_int_equal(k.small[l], k.small_expect[l]);
	struct rel_stats sa, sb;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &sa), 0);
	assert_int_equal(rel_peer_stats(p.b, p.pb, &sb), 0);
	struct rel_core_stats ca_st, cb_st;
	rel_core_stats(p.a, &ca_st);
	rel_core_stats(p.b, &cb_st);
	const struct sim_stats *ss = sim_stats(p.s);
	if (xc->loss > 0) {
		assert_true(sa.retransmits > 0);
		assert_true(sa.fast_retransmits > 0);
		assert_true(ss->corrupted > 0);
		assert_true(ca_st.drop_checksum + cb_st.drop_checksum + ca_st.drop_magic + cb_st.drop_magic > 0);
		assert_true(sb.drop_dup > 0);
	} else {
		assert_int_equal(sa.retransmits, 0);
	}
	assert_int_equal(sb.drop_budget, 0);
	assert_true(sa.rtt_samples > 0);
	if (getenv("REL_VERBOSE"))
		print_message("seed %lu loss %.2f mode %d: %lu pkts, %lu retx (%lu fast, %lu rto), "
			      "%lu dup, srtt %lu rto %lu, virtual %.1f s\n",
			      (unsigned long)xc->seed, xc->loss, xc->mode, (unsigned long)sa.data_sent,
			      (unsigned long)sa.retransmits, (unsigned long)sa.fast_retransmits,
			      (unsigned long)sa.timeouts, (unsigned long)sb.drop_dup,
			      (unsigned long)sa.srtt_us, (unsigned long)sa.rto_us,
			      (double)sim_now(p.s) / 1e6);
	free(k.seen);
	relpair_close(&p);
}

static void transfer_table(enum rel_mode mode)
{
	static const double losses[] = {0.0, 0.10, 0.30};
	static const uint64_t seeds[] = {1, 2, 3};
	for (size_t l = 0; l < 3; l++)
		for (size_t s = 0; s < 3; s++) {
			struct xfer_case xc = {.seed = seeds[s] + 10 * l, .loss = losses[l], .mode = mode,
					       .n = 10000, .wrap = s == 0};
			if (getenv("REL_N"))
				xc.n = (uint32_t)atoi(getenv("REL_N"));
			run_transfer(&xc);
		}
}

/* The same with congestion control and delayed acks. */
static void transfer_reno(void **state)
{
	(void)state;
	static const double losses[] = {0.0, 0.10, 0.30};
	for (size_t l = 0; l < 3; l++) {
		struct xfer_case xc = {.seed = 100 + l, .loss = losses[l], .mode = l == 1 ? REL_RDM : REL_SEQPACKET,
				       .n = 10000, .wrap = 1, .reno = 1};
		if (getenv("REL_N"))
			xc.n = (uint32_t)atoi(getenv("REL_N"));
		run_transfer(&xc);
	}
}

static void transfer_seqpacket(void **state)
{
	(void)state;
	transfer_table(REL_SEQPACKET);
}

static void transfer_rdm(void **state)
{
	(void)state;
	transfer_table(REL_RDM);
}


struct seqtap {
	int from;
	int low, high; /* saw seqs just before 2^32, and just after */
};

static void seq_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct seqtap *t = ctx;
	struct rel_pkt k;
	(void)to;
	if (from != t->from || rel_wire_decode(&k, d, len) != 0 || k.type != REL_PT_DATA)
		return;
	if (k.seq >= 0xffffff00u)
		t->low = 1;
	if (k.seq < 0x100)
		t->high = 1;
}

/* Sequence numbers cross 2^32 in both directions under loss and reordering;
 * order and exactly-once delivery hold. */
static void sequence_wraparound(void **state)
{
	(void)state;
	struct rel_config ca, cb;
	relpair_config(&ca, 31);
	relpair_config(&cb, 32);
	ca.fixed_initial_seq = cb.fixed_initial_seq = 1;
	ca.initial_seq = 0xffffffffu - 40;
	cb.initial_seq = 0xfffffff0u;
	ca.window = cb.window = 64;
	struct sim_link link = {.loss = 0.2, .reorder = 0.2, .dup = 0.1, .delay_us = 3000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 31, &link, &ca, &cb), 0);
	struct seqtap ta = {.from = p.na};
	sim_set_tap(p.s, seq_tap, &ta);
	for (uint32_t i = 0; i < 300; i++) {
		uint8_t m[2000];
		memset(m, (int)i, sizeof m);
		size_t len = 1 + (i * 37) % 2000;
		assert_int_equal(rel_send(p.a, p.pa, m, len, REL_SEQPACKET, sim_now(p.s), NULL), 0);
		assert_int_equal(rel_send(p.b, p.pb, m, len, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	}
	uint32_t na = 0, nb = 0;
	uint64_t limit = sim_now(p.s) + 600000000;
	while ((na < 300 || nb < 300) && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev))
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, 1 + (na * 37) % 2000);
				assert_int_equal(ev.data[0], (uint8_t)na);
				na++;
				rel_buf_free(ev.data);
			}
		while (rel_poll_event(p.a, &ev))
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, 1 + (nb * 37) % 2000);
				assert_int_equal(ev.data[ev.len - 1], (uint8_t)nb);
				nb++;
				rel_buf_free(ev.data);
			}
	}
	assert_int_equal(na, 300);
	assert_int_equal(nb, 300);
	assert_true(ta.low && ta.high);
	relpair_close(&p);
}


/* Both directions at once, mixed modes in one session, tiny windows, a
 * tiny out-queue and receive budget, heavy loss: every reliable message
 * exactly once, seqpacket ones in order, then a clean close. */
struct dir_check {
	uint8_t seen[400];
	int next_seq; /* last seqpacket index seen */
	int got, dgrams;
};

static void stress_one(uint64_t seed)
{
	struct rel_config ca, cb;
	relpair_config(&ca, seed * 3 + 1);
	relpair_config(&cb, seed * 3 + 2);
	ca.window = cb.window = 8 + (uint32_t)(seed % 5) * 8;
	ca.out_queue = cb.out_queue = 4 + (uint32_t)(seed % 3);
	ca.mtu = cb.mtu = 300 + (size_t)(seed % 4) * 200;
	ca.max_msg = cb.max_msg = 20000;
	ca.recv_budget = cb.recv_budget = 40000;
	ca.rto_min_us = cb.rto_min_us = 10000;
	if (seed % 2) {
		ca.fixed_initial_seq = cb.fixed_initial_seq = 1;
		ca.initial_seq = 0xffffffffu - (uint32_t)seed;
		cb.initial_seq = 0x7fffffffu - (uint32_t)seed;
	}
	if (seed % 3 == 0)
		ca.cc = cb.cc = &rel_cc_reno;
	if (seed % 4 == 1)
		ca.ack_delay_us = cb.ack_delay_us = 3000;
	struct sim_link link = {.loss = 0.25, .dup = 0.05, .reorder = 0.1, .corrupt = 0.02,
				.delay_us = 2000 + (seed % 50) * 100, .jitter_us = 500};
	struct relpair p;
	if (relpair_open(&p, seed, &link, &ca, &cb) != 0)
		fail_msg("seed %lu: no handshake", (unsigned long)seed);
	struct dir_check at_b = {.next_seq = -1}, at_a = {.next_seq = -1};
	enum { M = 400 };
	int sent_a = 0, sent_b = 0, closing = 0, closed_a = 0, closed_b = 0;
	int pclosed_a = 0, pclosed_b = 0;
	uint64_t rng = seed;
	uint8_t buf[20000];
	uint64_t limit = sim_now(p.s) + 3600ull * 1000000;
	while (!(closed_a && closed_b && pclosed_a && pclosed_b) && sim_step(p.s, limit)) {
		/* feed a few messages per step, as the send budget allows */
		for (int k = 0; k < 3; k++) {
			struct rel_core *c = (k & 1) ? p.b : p.a;
			uint32_t peer = (k & 1) ? p.pb : p.pa;
			int *sent = (k & 1) ? &sent_b : &sent_a;
			if (*sent >= M)
				continue;
			size_t len = 1 + sim_rand(&rng) % (sim_rand(&rng) % 4 ? 500 : 20000);
			enum rel_mode mode = (*sent % 7 == 3) ? REL_DGRAM : (*sent % 2 ? REL_RDM : REL_SEQPACKET);
			if (mode == REL_DGRAM && len > rel_dgram_max(c))
				len = rel_dgram_max(c);
			if (len < 3)
				len = 3;
			memset(buf, *sent & 0xff, len);
			buf[0] = (uint8_t)(*sent >> 8);
			buf[1] = (uint8_t)*sent;
			buf[2] = (uint8_t)mode;
			int rc = rel_send(c, peer, buf, len, mode, sim_now(p.s), NULL);
			if (rc == 0 || (mode == REL_DGRAM && rc == REL_EFULL))
				(*sent)++;
			else if (rc != REL_EFULL)
				fail_msg("seed %lu side %d: rel_send %s at %d, t=%lu", (unsigned long)seed, k & 1,
					 udpkit_strerror(rc), *sent, (unsigned long)sim_now(p.s));
		}
		for (int side = 0; side < 2; side++) {
			struct rel_core *c = side ? p.a : p.b;
			struct dir_check *d = side ? &at_a : &at_b;
			struct rel_event ev;
			while (rel_poll_event(c, &ev)) {
				if (ev.type == REL_EV_DEAD) {
					struct rel_stats x, y;
					rel_peer_stats(p.a, p.pa, &x);
					rel_peer_stats(p.b, p.pb, &y);
					print_message("a: sent %lu retx %lu to %lu inflight %lu pw %lu rto %lu | b: win %lu bud %lu mal %lu dup %lu sess %lu unexp %lu mem %lu\n",
						(unsigned long)x.data_sent, (unsigned long)x.retransmits, (unsigned long)x.timeouts,
						(unsigned long)x.inflight_pkts, (unsigned long)x.peer_window, (unsigned long)x.rto_us,
						(unsigned long)y.drop_window, (unsigned long)y.drop_budget, (unsigned long)y.drop_malformed,
						(unsigned long)y.drop_dup, (unsigned long)y.drop_session, (unsigned long)y.drop_unexpected,
						(unsigned long)y.recv_mem);
					struct rel_core_stats cs;
					rel_core_stats(p.b, &cs);
					print_message("b core: in %lu magic %lu crc %lu mal %lu sess %lu unexp %lu\n",
						(unsigned long)cs.pkts_in, (unsigned long)cs.drop_magic, (unsigned long)cs.drop_checksum,
						(unsigned long)cs.drop_malformed, (unsigned long)cs.drop_session, (unsigned long)cs.drop_unexpected);
					fail_msg("seed %lu: %s dead at t=%lu (a got %d, b got %d, sent %d/%d)",
						 (unsigned long)seed, side ? "a" : "b", (unsigned long)sim_now(p.s),
						 at_a.got, at_b.got, sent_a, sent_b);
				}
				if (ev.type == REL_EV_CLOSED)
					*(side ? &closed_a : &closed_b) = 1;
				if (ev.type == REL_EV_PEER_CLOSED) {
					*(side ? &pclosed_a : &pclosed_b) = 1;
					assert_int_equal(d->got, M - M / 7 - (M % 7 > 3));
				}
				if (ev.type != REL_EV_MESSAGE)
					continue;
				int idx = ev.data[0] << 8 | ev.data[1];
				assert_true(idx < M);
				assert_int_equal(ev.data[2], ev.mode);
				for (size_t j = 3; j < ev.len; j++)
					assert_int_equal(ev.data[j], idx & 0xff);
				assert_int_equal(d->seen[idx], 0);
				d->seen[idx] = 1;
				if (ev.mode == REL_DGRAM) {
					d->dgrams++;
				} else {
					d->got++;
					if (ev.mode == REL_SEQPACKET) {
						assert_true(idx > d->next_seq);
						/* every earlier reliable message is in */
						for (int j = 0; j < idx; j++)
							if (j % 7 != 3)
								assert_int_equal(d->seen[j], 1);
						d->next_seq = idx;
					}
				}
				rel_buf_free(ev.data);
			}
		}
		if (sent_a == M && sent_b == M && !closing) {
			assert_int_equal(rel_close(p.a, p.pa, sim_now(p.s)), 0);
			closing = 1;
		}
	}
	if (!(closed_a && closed_b && pclosed_a && pclosed_b))
		fail_msg("seed %lu stuck: a got %d, b got %d", (unsigned long)seed, at_a.got, at_b.got);
	relpair_close(&p);
}

static void stress_small_windows(void **state)
{
	(void)state;
	for (uint64_t seed = getenv("REL_SEED0") ? (uint64_t)atoi(getenv("REL_SEED0")) : 1; seed <= (getenv("REL_SEED1") ? (uint64_t)atoi(getenv("REL_SEED1")) : 40); seed++)
		stress_one(seed);
}

/* The 32-bit microsecond timestamps on the wire wrap every 71 minutes:
 * a transfer across the wrap keeps its RTT estimate and completes. */
static void timestamp_wraparound(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.1, .delay_us = 10000, .reorder = 0.05};
	struct relpair p;
	uint64_t start = (1ull << 32) * 3 - 2000000; /* 2 s before a wrap */
	assert_int_equal(relpair_open_at(&p, 41, &link, NULL, NULL, start), 0);
	uint64_t wrap = (1ull << 32) * 3;
	while (sim_step(p.s, wrap - 50000)) /* idle until 50 ms before it */
		;
	assert_true(sim_now(p.s) < wrap);
	uint8_t buf[3000] = {0};
	for (int i = 0; i < 3000; i++)
		assert_int_equal(rel_send(p.a, p.pa, buf, 1 + (size_t)i % 3000, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	int got = 0;
	while (got < 3000 && sim_step(p.s, sim_now(p.s) + 600000000)) {
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev))
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, 1 + (size_t)got % 3000);
				got++;
				rel_buf_free(ev.data);
			}
		while (rel_poll_event(p.a, &ev))
			assert_int_not_equal(ev.type, REL_EV_DEAD);
	}
	assert_int_equal(got, 3000);
	assert_true(sim_now(p.s) > wrap); /* crossed it */
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.a, p.pa, &st), 0);
	assert_true(st.srtt_us > 15000 && st.srtt_us < 40000);
	assert_int_equal(st.rto_us, 200000);
	relpair_close(&p);
}

static void handshake_under_loss(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.3, .dup = 0.1, .reorder = 0.1, .delay_us = 5000};
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct relpair p;
		assert_int_equal(relpair_open(&p, seed, &link, NULL, NULL), 0);
		relpair_close(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handshake_under_loss),
		cmocka_unit_test(sequence_wraparound),
		cmocka_unit_test(timestamp_wraparound),
		cmocka_unit_test(stress_small_windows),
		cmocka_unit_test(transfer_seqpacket),
		cmocka_unit_test(transfer_rdm),
		cmocka_unit_test(transfer_reno),
	};
	return cmocka_run_group_tests_name("rel", tests, NULL, NULL);
}
