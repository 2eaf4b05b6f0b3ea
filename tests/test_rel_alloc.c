/* cmocka tests: a steady stream of reliable messages costs the core no
 * malloc on the sending side, and none on the receiving side when the user
 * gives message buffers back with rel_buf_recycle() (exactly one per
 * message, the buffer REL_EV_MESSAGE hands over, when it frees them with
 * rel_buf_free()), once the first messages have filled the core's lists of
 * recycled records (issue 5).  The core counts
 * its data-path mallocs in rel_core.allocs (rel_int.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_bbr.h"
#include "rel_int.h"
#include "support_relpair.h"

struct stream {
	struct relpair p;
	uint32_t sent, got, acked;
	int recycle; /* message buffers: rel_buf_recycle (1) or rel_buf_free */
};

/* Keeps up to `ahead` messages of len bytes unacked, until n more were
 * delivered and acked; every received message is checked by its first
 * bytes (its number). */
static void pump(struct stream *st, uint32_t n, size_t len, enum rel_mode mode, uint32_t ahead)
{
	static uint8_t msg[4096];
	uint32_t goal = st->acked + n;
	uint64_t limit = sim_now(st->p.s) + 600ull * 1000000;
	while (st->acked < goal) {
		while (st->sent < goal && st->sent - st->acked < ahead) {
			memcpy(msg, &st->sent, sizeof st->sent);
			assert_int_equal(rel_send(st->p.a, st->p.pa, msg, len, mode, sim_now(st->p.s), NULL), 0);
			st->sent++;
		}
		if (!sim_step(st->p.s, limit))
			fail_msg("stuck at %u of %u acked", st->acked, goal);
		struct rel_event ev;
		while (rel_poll_event(st->p.b, &ev)) {
			assert_int_not_equal(ev.type, REL_EV_DEAD);
			if (ev.type != REL_EV_MESSAGE)
				continue;
			assert_int_equal(ev.len, len);
			uint32_t num;
			memcpy(&num, ev.data, sizeof num);
			if (mode == REL_SEQPACKET)
				assert_int_equal(num, st->got);
			st->got++;
			if (st->recycle)
				rel_buf_recycle(st->p.b, ev.data);
			else
				rel_buf_free(ev.data);
		}
		while (rel_poll_event(st->p.a, &ev)) {
			assert_int_not_equal(ev.type, REL_EV_DEAD);
			if (ev.type == REL_EV_ACKED)
				st->acked++;
		}
	}
}

static void steady_state(enum rel_mode mode, size_t len, uint64_t ack_delay_us,
			 const struct rel_cc_ops *cc, int recycle)
{
	struct sim_link link = {.delay_us = 5000, .jitter_us = 0};
	struct rel_config ca, cb;
	relpair_config(&ca, 11);
	relpair_config(&cb, 12);
	ca.ack_delay_us = cb.ack_delay_us = ack_delay_us;
	ca.cc = cb.cc = cc;
	struct stream st;
	memset(&st, 0, sizeof st);
	st.recycle = recycle;
	assert_int_equal(relpair_open(&st.p, 5, &link, &ca, &cb), 0);
	/* warm-up: the recycled lists grow to the largest burst the stream
	 * makes (records in flight, events between polls); that is a bounded
	 * number of mallocs, not one per message */
	uint64_t warm = 0;
	int quiet = 0;
	for (int i = 0; i < 10 && !quiet; i++) {
		uint64_t a = st.p.a->allocs, b = st.p.b->allocs, got = st.got;
		pump(&st, 5000, len, mode, 700);
		quiet = st.p.a->allocs == a && st.p.b->allocs - b == (recycle ? 0 : st.got - got);
		warm += st.p.a->allocs - a;
	}
	assert_true(quiet);
	assert_true(warm <= 3 * 1024);
	uint64_t a0 = st.p.a->allocs, b0 = st.p.b->allocs, got0 = st.got;
	pump(&st, 20000, len, mode, 700);
	uint64_t da = st.p.a->allocs - a0, db = st.p.b->allocs - b0, dgot = st.got - got0;
	print_message("      mode %d, %zu bytes: %llu messages, sender %llu mallocs, receiver %llu\n",
		      (int)mode, len, (unsigned long long)dgot, (unsigned long long)da,
		      (unsigned long long)db);
	assert_true(dgot >= 20000);
	assert_int_equal(da, 0);
	assert_int_equal(db, recycle ? 0 : dgot);
	relpair_close(&st.p);
}

static void steady_rdm(void **state)
{
	(void)state;
	steady_state(REL_RDM, 1200, 0, NULL, 1);
}

static void steady_seqpacket_bbr(void **state)
{
	(void)state;
	steady_state(REL_SEQPACKET, 1000, 0, &rel_cc_bbr, 1);
}

static void steady_small_delayed_acks(void **state)
{
	(void)state;
	steady_state(REL_RDM, 40, 5000, &rel_cc_reno, 0);
}

/* A message size change: the recycled records of the old size give way
 * to the new one, so the stream is malloc-free again after a while. */
static void size_change_turns_over(void **state)
{
	(void)state;
	struct sim_link link = {.delay_us = 5000};
	struct stream st;
	memset(&st, 0, sizeof st);
	assert_int_equal(relpair_open(&st.p, 6, &link, NULL, NULL), 0);
	pump(&st, 3000, 100, REL_RDM, 500);
	pump(&st, 3000, 1100, REL_RDM, 500);
	uint64_t a0 = st.p.a->allocs;
	pump(&st, 5000, 1100, REL_RDM, 500);
	assert_int_equal(st.p.a->allocs - a0, 0);
	relpair_close(&st.p);
}

/* The shelf of recycled message buffers is bounded (REL_SHELF_MAX), keeps
 * only class sizes, and hands a shelved buffer to the next message of its
 * class; the rest is freed (ASan's leak check sees that it is). */
static void shelf_bounded(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	assert_non_null(c);
	uint8_t *b[20];
	for (int i = 0; i < 20; i++) {
		b[i] = rel_buf_get(c, 65536);
		assert_non_null(b[i]);
		memset(b[i], i, 65536);
	}
	for (int i = 0; i < 20; i++)
		rel_buf_recycle(c, b[i]);
	assert_int_equal(c->shelf_bytes, REL_SHELF_MAX);
	uint8_t *big = rel_buf_get(c, 100000);
	assert_non_null(big);
	rel_buf_recycle(c, big); /* above the largest class: freed */
	assert_int_equal(c->shelf_bytes, REL_SHELF_MAX);
	uint64_t a0 = c->allocs;
	uint8_t *again = rel_buf_get(c, 40000); /* class 64 KiB: from the shelf */
	assert_int_equal(c->allocs, a0);
	assert_int_equal(c->shelf_bytes, REL_SHELF_MAX - 65536);
	rel_buf_free(again);
	uint8_t *small = rel_buf_get(c, 0);
	assert_non_null(small);
	rel_buf_recycle(NULL, small); /* no core: freed */
	rel_core_free(c); /* frees the shelf */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(steady_rdm),
		cmocka_unit_test(steady_seqpacket_bbr),
		cmocka_unit_test(steady_small_delayed_acks),
		cmocka_unit_test(size_change_turns_over),
		cmocka_unit_test(shelf_bounded),
	};
	return cmocka_run_group_tests_name("rel_alloc", tests, NULL, NULL);
}
