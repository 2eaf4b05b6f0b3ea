/* cmocka tests: the buffers large messages are delivered in (rel_buf.c).
 * A bulk receiver of 1 MiB messages reuses a few recycled buffers for a
 * whole transfer instead of taking fresh memory per message, so the pages
 * it touches (and their first-touch faults, issue 16) stay bounded by
 * what it holds at once, not by the transfer's size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_int.h"
#include "support_relpair.h"

#define MSG ((size_t)1 << 20)
#define NMSG 50    /* 50 MiB */
#define LAG 3      /* messages the user holds before giving one back */
#define DISTINCT 8 /* more would be a buffer per message, or a leak */

static uint8_t msg[MSG];

/* The content of message i: its number, then a pattern, checked whole. */
static void fill(uint8_t *p, uint32_t i)
{
	for (size_t k = 0; k < MSG; k += 4096)
		p[k] = (uint8_t)(i * 7 + k / 4096);
	memcpy(p, &i, sizeof i);
	p[MSG - 1] = (uint8_t)(i ^ 0x5a);
}

static void check(const uint8_t *p, uint32_t i)
{
	uint32_t num;
	memcpy(&num, p, sizeof num);
	assert_int_equal(num, i);
	for (size_t k = 4096; k < MSG; k += 4096)
		assert_int_equal(p[k], (uint8_t)(i * 7 + k / 4096));
	assert_int_equal(p[MSG - 1], (uint8_t)(i ^ 0x5a));
}

static void bulk_reuses_buffers(void **state)
{
	(void)state;
	struct sim_link link = {.delay_us = 2000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 21, &link, NULL, NULL), 0);
	uint64_t b0 = p.b->allocs;
	uint32_t sent = 0, acked = 0, got = 0;
	uint8_t *held[LAG];
	unsigned nheld = 0;
	const uint8_t *seen[NMSG];
	unsigned nseen = 0;
	uint64_t limit = sim_now(p.s) + 600ull * 1000000;
	while (acked < NMSG) {
		while (sent < NMSG && sent - acked < 4) {
			fill(msg, sent);
			assert_int_equal(rel_send(p.a, p.pa, msg, MSG, REL_SEQPACKET, sim_now(p.s), NULL), 0);
			sent++;
		}
		if (!sim_step(p.s, limit))
			fail_msg("stuck at %u of %u acked", acked, NMSG);
		struct rel_event ev;
		while (rel_poll_event(p.b, &ev)) {
			assert_int_not_equal(ev.type, REL_EV_DEAD);
			if (ev.type != REL_EV_MESSAGE)
				continue;
			assert_int_equal(ev.len, MSG);
			check(ev.data, got++);
			unsigned k = 0;
			while (k < nseen && seen[k] != ev.data)
				k++;
			if (k == nseen) {
				assert_true(nseen < DISTINCT);
				seen[nseen++] = ev.data;
			}
			/* a user whose output lags: gives back the oldest */
			if (nheld == LAG) {
				rel_buf_recycle(p.b, held[0]);
				memmove(held, held + 1, sizeof held[0] * (LAG - 1));
				nheld--;
			}
			held[nheld++] = ev.data;
		}
		while (rel_poll_event(p.a, &ev)) {
			assert_int_not_equal(ev.type, REL_EV_DEAD);
			if (ev.type == REL_EV_ACKED)
				acked++;
		}
	}
	assert_int_equal(got, NMSG);
	print_message("      %u MiB in 1 MiB messages: %u distinct buffers, receiver %llu mallocs\n",
		      NMSG, nseen, (unsigned long long)(p.b->allocs - b0));
	/* the old receiver took a fresh buffer for each of the 50 */
	assert_true(p.b->allocs - b0 <= DISTINCT + 8);
	while (nheld)
		rel_buf_recycle(p.b, held[--nheld]);
	assert_true(p.b->big_bytes <= REL_BIG_SHELF_MAX);
	relpair_close(&p);
}

/* Big buffers are huge-page sized and aligned (one fault per huge page
 * where THP is on), grow in place while they have room, the shelf keeps
 * at most REL_BIG_SHELF_MAX bytes (the rest is freed), and a core rounds
 * at most REL_BIG_HUGE_MAX of them up. */
static void big_buffers_and_shelf(void **state)
{
	(void)state;
	struct rel_config cfg;
	relpair_config(&cfg, 5);
	struct rel_core *c;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	uint8_t *b = rel_buf_get(c, MSG);
	assert_non_null(b);
	/* the header sits at the start of the aligned block */
	assert_int_equal((uintptr_t)b % REL_BIG_ALIGN, _Alignof(max_align_t));
	memset(b, 0xab, MSG);
	uint64_t a0 = c->allocs;
	uint8_t *g = rel_buf_grow(c, b, MSG, MSG + 4096); /* room left in the 2 MiB */
	assert_ptr_equal(g, b);
	assert_int_equal(c->allocs, a0);
	g = rel_buf_grow(c, b, MSG, 3 * MSG); /* past it: moved, kept */
	assert_non_null(g);
	assert_int_equal(g[0], 0xab);
	assert_int_equal(g[MSG - 1], 0xab);
	assert_int_equal((uintptr_t)g % REL_BIG_ALIGN, (uintptr_t)b % REL_BIG_ALIGN);
	/* the 2 MiB block went to the shelf; a 1 MiB request takes it back */
	assert_ptr_equal(rel_buf_get(c, MSG), b);
	rel_buf_recycle(c, b);
	rel_buf_recycle(c, g);
	/* more than the shelf holds: the excess is freed (ASan: no leak) */
	enum { N = 12 };
	uint8_t *v[N];
	for (int i = 0; i < N; i++)
		assert_non_null(v[i] = rel_buf_get(c, MSG));
	for (int i = 0; i < N; i++)
		rel_buf_recycle(c, v[i]);
	assert_true(c->big_bytes <= REL_BIG_SHELF_MAX);
	assert_true(c->big_bytes >= REL_BIG_SHELF_MAX - 2 * REL_BIG_ALIGN);
	/* a big buffer freed without its core */
	uint8_t *f = rel_buf_get(c, 5 * MSG);
	assert_non_null(f);
	assert_int_equal(rel_buf_cap(f), 6 * MSG - _Alignof(max_align_t));
	rel_buf_free(f);
	/* the rounding is spent after REL_BIG_HUGE_MAX: what peers make the
	 * core allocate beyond that is exact again (docs/HARDENING.md) */
	while (c->big_huge < REL_BIG_HUGE_MAX) {
		assert_non_null(f = rel_buf_get(c, 3 * MSG));
		rel_buf_free(f); /* not to the shelf: the next is made anew */
	}
	assert_non_null(f = rel_buf_get(c, 3 * MSG + 1));
	assert_int_equal(rel_buf_cap(f), 3 * MSG + 1);
	assert_int_equal(c->big_huge, REL_BIG_HUGE_MAX);
	rel_buf_recycle(c, f);
	rel_core_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bulk_reuses_buffers),
		cmocka_unit_test(big_buffers_and_shelf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
