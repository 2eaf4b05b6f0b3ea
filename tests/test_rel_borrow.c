/* cmocka tests for rel_send_borrowed: messages sent from the caller's
 * memory arrive byte for byte under loss (plain and sealed), the core never
 * touches that memory once it said REL_EV_ACKED (the pages are made
 * unreadable right then: a later read faults, with or without ASan), a
 * session that dies or a core that is freed lets go of it, and rel_send
 * still copies (records of both kinds share the recycled pool). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "rel.h"
#include "support_relpair.h"
#include "support_relsim.h"
#include "support_toycrypto.h"

/* A buffer of its own pages, so that it can be made unreadable alone. */
struct lent {
	uint8_t *p;
	size_t len, maplen;
	uint64_t id;
	int acked, got;
};

static void lent_new(struct lent *l, size_t len, uint32_t salt)
{
	long pg = sysconf(_SC_PAGESIZE);
	memset(l, 0, sizeof *l);
	l->len = len;
	l->maplen = ((len ? len : 1) + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
	void *m = mmap(NULL, l->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	l->p = m;
	for (size_t i = 0; i < len; i++)
		l->p[i] = (uint8_t)((i + salt) * 2654435761u >> 24);
}

/* The pages stay reserved (no other allocation lands there) but any
 * read of them faults from now on. */
static void lent_revoke(struct lent *l)
{
	assert_int_equal(mprotect(l->p, l->maplen, PROT_NONE), 0);
}

static void lent_free(struct lent *l)
{
	munmap(l->p, l->maplen);
}

/* The expected bytes of a message, recomputed (the buffer may be gone). */
static int lent_match(const struct lent *l, uint32_t salt, const uint8_t *d, size_t len)
{
	if (len != l->len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (d[i] != (uint8_t)((i + salt) * 2654435761u >> 24))
			return 0;
	return 1;
}

#define NMSG 6
static const size_t sizes[NMSG] = {300000, 0, 1, 70000, 1400, 1 << 20};

static void run_lossy(struct relpair *p)
{
	struct lent l[NMSG];
	for (int i = 0; i < NMSG; i++) {
		lent_new(&l[i], sizes[i], (uint32_t)i);
		assert_int_equal(rel_send_borrowed(p->a, p->pa, l[i].p, l[i].len, REL_SEQPACKET,
						   sim_now(p->s), &l[i].id), 0);
	}
	int acked = 0, got = 0;
	uint64_t limit = sim_now(p->s) + 600000000;
	while ((acked < NMSG || got < NMSG) && sim_step(p->s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p->a, &ev)) {
			if (ev.type == REL_EV_ACKED) {
				int i = 0;
				while (i < NMSG && l[i].id != ev.msg_id)
					i++;
				assert_true(i < NMSG);
				assert_int_equal(l[i].acked, 0);
				assert_int_equal(i, acked); /* released in order */
				l[i].acked = 1;
				acked++;
				lent_revoke(&l[i]);
			}
			rel_buf_free(ev.data);
		}
		while (rel_poll_event(p->b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				assert_true(got < NMSG);
				assert_true(lent_match(&l[got], (uint32_t)got, ev.data, ev.len));
				got++;
			}
			rel_buf_free(ev.data);
		}
	}
	assert_int_equal(acked, NMSG);
	assert_int_equal(got, NMSG);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p->a, p->pa, &st), 0);
	assert_true(st.retransmits > 0); /* the loss made it read again */
	/* acks still flow after the last ACKED: nothing touches the pages */
	for (int i = 0; i < 50; i++)
		(void)sim_step(p->s, sim_now(p->s) + 100000);
	assert_int_equal(rel_close(p->a, p->pa, sim_now(p->s)), 0);
	for (int i = 0; i < 200; i++)
		(void)sim_step(p->s, sim_now(p->s) + 100000);
	relpair_close(p);
	for (int i = 0; i < NMSG; i++)
		lent_free(&l[i]);
}

static void borrowed_lossy(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.1, .reorder = 0.05, .dup = 0.02, .delay_us = 5000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 71, &link, NULL, NULL), 0);
	run_lossy(&p);
}

/* The sealed path encodes to scratch and seals from the lent bytes. */
static void borrowed_lossy_sealed(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.1, .reorder = 0.05, .delay_us = 5000};
	struct toy_ctx xa, xb;
	toy_ctx_init(&xa, 1);
	toy_ctx_init(&xb, 1);
	struct rel_config ca, cb;
	relpair_config(&ca, 73);
	relpair_config(&cb, 74);
	toy_attach(&xa, &ca);
	toy_attach(&xb, &cb);
	struct relpair p;
	assert_int_equal(relpair_open(&p, 72, &link, &ca, &cb), 0);
	run_lossy(&p);
}

/* A session that dies with a lent message unacked lets go of it at
 * REL_EV_DEAD; the core runs on without touching it. */
static void borrowed_dead(void **state)
{
	(void)state;
	struct sim_link link = {.delay_us = 5000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 75, &link, NULL, NULL), 0);
	struct sim_link dead = {.loss = 1.0};
	sim_set_link(p.s, &dead);
	struct lent l;
	lent_new(&l, 200000, 9);
	assert_int_equal(rel_send_borrowed(p.a, p.pa, l.p, l.len, REL_RDM, sim_now(p.s), &l.id), 0);
	int dead_a = 0;
	uint64_t limit = sim_now(p.s) + 120000000;
	while (!dead_a && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev)) {
			assert_int_not_equal(ev.type, REL_EV_ACKED);
			if (ev.type == REL_EV_DEAD && ev.peer == p.pa) {
				dead_a = 1;
				lent_revoke(&l);
			}
			rel_buf_free(ev.data);
		}
		while (rel_poll_event(p.b, &ev))
			rel_buf_free(ev.data);
	}
	assert_true(dead_a);
	/* the core goes on (timers, the other side) and is freed */
	for (int i = 0; i < 50; i++)
		(void)sim_step(p.s, sim_now(p.s) + 1000000);
	relpair_close(&p);
	lent_free(&l);
}

/* rel_core_free lets go of what was lent, unsent and unacked. */
static void borrowed_core_free(void **state)
{
	(void)state;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 76, NULL, NULL, NULL), 0);
	struct lent l;
	lent_new(&l, 3 << 20, 3);
	assert_int_equal(rel_send_borrowed(p.a, p.pa, l.p, l.len, REL_SEQPACKET, sim_now(p.s), NULL), 0);
	(void)sim_step(p.s, sim_now(p.s) + 1000);
	relpair_close(&p);
	lent_revoke(&l); /* nothing left to read it */
	lent_free(&l);
}

/* rel_send still copies: its buffer is overwritten at once and the peer
 * gets what it held at the call.  Small messages of both kinds alternate,
 * so recycled records go from one kind to the other; DGRAM from lent bytes
 * goes out at once and keeps nothing. */
static void copy_and_borrow_mixed(void **state)
{
	(void)state;
	struct sim_link link = {.loss = 0.05, .delay_us = 2000};
	struct relpair p;
	assert_int_equal(relpair_open(&p, 77, &link, NULL, NULL), 0);
	enum { N = 200 };
	static struct lent l[N];
	uint8_t tmp[600];
	for (int i = 0; i < N; i++) {
		size_t len = (size_t)(i % 3 == 2 ? 500 : i % 17);
		lent_new(&l[i], len, (uint32_t)i);
		if (i % 2) {
			assert_int_equal(rel_send_borrowed(p.a, p.pa, l[i].p, len, REL_SEQPACKET,
							   sim_now(p.s), &l[i].id), 0);
		} else {
			memcpy(tmp, l[i].p, len);
			assert_int_equal(rel_send(p.a, p.pa, tmp, len, REL_SEQPACKET, sim_now(p.s),
						  &l[i].id), 0);
			memset(tmp, 0xA5, sizeof tmp); /* the copy went before this */
		}
		if (i % 10 == 9)
			for (int k = 0; k < 5; k++)
				(void)sim_step(p.s, sim_now(p.s) + 1000);
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev)) {
			if (ev.type == REL_EV_ACKED)
				for (int j = 0; j <= i; j++)
					if (l[j].id == ev.msg_id && !l[j].acked) {
						l[j].acked = 1;
						lent_revoke(&l[j]);
					}
			rel_buf_free(ev.data);
		}
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				int j = 0;
				while (j < N && l[j].got)
					j++;
				assert_true(lent_match(&l[j], (uint32_t)j, ev.data, ev.len));
				l[j].got = 1;
			}
			rel_buf_free(ev.data);
		}
	}
	uint8_t dg[100];
	memset(dg, 7, sizeof dg);
	assert_int_equal(rel_send_borrowed(p.a, p.pa, dg, sizeof dg, REL_DGRAM, sim_now(p.s), NULL), 0);
	memset(dg, 0, sizeof dg);
	int acked = 0, got = 0, dgram = 0;
	for (int i = 0; i < N; i++) {
		acked += l[i].acked;
		got += l[i].got;
	}
	uint64_t limit = sim_now(p.s) + 60000000;
	while ((acked < N || got < N || !dgram) && sim_step(p.s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p.a, &ev)) {
			if (ev.type == REL_EV_ACKED)
				for (int j = 0; j < N; j++)
					if (l[j].id == ev.msg_id && !l[j].acked) {
						l[j].acked = 1;
						acked++;
						lent_revoke(&l[j]);
					}
			rel_buf_free(ev.data);
		}
		while (rel_poll_event(p.b, &ev)) {
			if (ev.type == REL_EV_MESSAGE && ev.mode == REL_DGRAM) {
				assert_int_equal(ev.len, 100);
				assert_int_equal(((uint8_t *)ev.data)[99], 7);
				dgram = 1;
			} else if (ev.type == REL_EV_MESSAGE) {
				int j = 0;
				while (j < N && l[j].got)
					j++;
				assert_true(j < N);
				assert_true(lent_match(&l[j], (uint32_t)j, ev.data, ev.len));
				l[j].got = 1;
				got++;
			}
			rel_buf_free(ev.data);
		}
		if (!dgram && acked == N && got == N) { /* a DGRAM may be lost: again */
			memset(dg, 7, sizeof dg);
			assert_int_equal(rel_send_borrowed(p.a, p.pa, dg, sizeof dg, REL_DGRAM,
							   sim_now(p.s), NULL), 0);
			memset(dg, 0, sizeof dg);
		}
	}
	assert_int_equal(acked, N);
	assert_int_equal(got, N);
	assert_true(dgram);
	relpair_close(&p);
	for (int i = 0; i < N; i++)
		lent_free(&l[i]);
}

static void borrowed_errors(void **state)
{
	(void)state;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 78, NULL, NULL, NULL), 0);
	uint8_t b[4] = {0};
	assert_int_equal(rel_send_borrowed(NULL, p.pa, b, 4, REL_RDM, sim_now(p.s), NULL), UDP_EINVAL);
	assert_int_equal(rel_send_borrowed(p.a, p.pa, NULL, 4, REL_RDM, sim_now(p.s), NULL), UDP_EINVAL);
	assert_int_equal(rel_send_borrowed(p.a, p.pa + 99, b, 4, REL_RDM, sim_now(p.s), NULL), REL_ENOPEER);
	assert_int_equal(rel_send_borrowed(p.a, p.pa, b, 4, (enum rel_mode)9, sim_now(p.s), NULL), REL_EMODE);
	assert_int_equal(rel_send_borrowed(p.a, p.pa, b, (64u << 20) + 1, REL_RDM, sim_now(p.s), NULL),
			 REL_ETOOBIG);
	relpair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(borrowed_lossy),
		cmocka_unit_test(borrowed_lossy_sealed),
		cmocka_unit_test(borrowed_dead),
		cmocka_unit_test(borrowed_core_free),
		cmocka_unit_test(copy_and_borrow_mixed),
		cmocka_unit_test(borrowed_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
