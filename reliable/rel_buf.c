/* rel_buf.c - the buffers messages are delivered in (REL_EV_MESSAGE).
 *
 * Each buffer carries its capacity in a header before the data, so
 * rel_buf_free() needs no core and is safe on any thread, while
 * rel_buf_recycle() gives a buffer back to the core that made it.  The
 * core keeps such buffers on a shelf, one list per power-of-two size class
 * up to 64 KiB, and fills the next message of that class from it: a
 * receiver that recycles makes no malloc per message.  The shelf holds at
 * most REL_SHELF_MAX bytes; beyond that, and for messages over 64 KiB,
 * buffers are plain malloc/free.
 *
 * Buffers of REL_BIG_MIN (1 MiB) and more go on a shelf of their own, and
 * the first REL_BIG_HUGE_MAX of them are whole huge pages, aligned and
 * offered to transparent huge pages.  A bulk receiver holds a few at once
 * (the messages one receive batch completes, waiting for the user to
 * poll); from the heap they were fresh 4 KiB pages, ~1200 first-touch
 * faults of ~4 us each per transfer, where a huge page faults once per
 * 2 MiB.  Recycled, they are faulted in once in all.  The rounding may
 * double a buffer (1 MiB + header in 2 MiB): hence the per-core limit, past
 * which buffers are exact again (docs/HARDENING.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rel_int.h"

struct bufhdr {
	_Alignas(max_align_t) size_t cap;
};

#define HDR sizeof(struct bufhdr)

static struct bufhdr *hdr_of(void *buf)
{
	return (struct bufhdr *)(void *)((uint8_t *)buf - HDR);
}

/* The smallest class that holds n bytes, or -1 above the largest. */
static int class_of(size_t n)
{
	size_t cap = REL_SHELF_MIN;
	for (int k = 0; k < REL_SHELF_CLASSES; k++, cap <<= 1)
		if (n <= cap)
			return k;
	return -1;
}

/* The smallest big buffer on the shelf that holds n, else a new one. */
static uint8_t *big_get(struct rel_core *c, size_t n)
{
	uint8_t **best = NULL;
	for (uint8_t **pp = &c->big_shelf; *pp; pp = (uint8_t **)(void *)*pp)
		if (hdr_of(*pp)->cap >= n && (!best || hdr_of(*pp)->cap < hdr_of(*best)->cap))
			best = pp;
	if (best) {
		uint8_t *buf = *best;
		*best = *(uint8_t **)(void *)buf;
		c->big_bytes -= hdr_of(buf)->cap;
		return buf;
	}
	if (n > SIZE_MAX - HDR - REL_BIG_ALIGN)
		return NULL;
	if (c->big_huge >= REL_BIG_HUGE_MAX) { /* rounding spent: exact size */
		struct bufhdr *h = rel_malloc(c, HDR + n);
		if (!h)
			return NULL;
		h->cap = n;
		return (uint8_t *)h + HDR;
	}
	size_t total = (HDR + n + REL_BIG_ALIGN - 1) / REL_BIG_ALIGN * REL_BIG_ALIGN;
	c->allocs++;
	struct bufhdr *h = aligned_alloc(REL_BIG_ALIGN, total);
	if (!h)
		return NULL;
	c->big_huge++;
#ifdef MADV_HUGEPAGE
	(void)madvise(h, total, MADV_HUGEPAGE); /* a hint: THP may be off */
#endif
	h->cap = total - HDR;
	return (uint8_t *)h + HDR;
}

size_t rel_buf_cap(const void *buf)
{
	return hdr_of((void *)(uintptr_t)buf)->cap;
}

uint8_t *rel_buf_get(struct rel_core *c, size_t n)
{
	if (n >= REL_BIG_MIN)
		return big_get(c, n);
	int k = class_of(n);
	if (k >= 0 && c->shelf[k]) {
		uint8_t *buf = c->shelf[k];
		c->shelf[k] = *(uint8_t **)(void *)buf;
		c->shelf_bytes -= hdr_of(buf)->cap;
		return buf;
	}
	size_t cap = k >= 0 ? (size_t)REL_SHELF_MIN << k : n;
	struct bufhdr *h = rel_malloc(c, HDR + (cap ? cap : 1));
	if (!h)
		return NULL;
	h->cap = cap;
	return (uint8_t *)h + HDR;
}

uint8_t *rel_buf_grow(struct rel_core *c, uint8_t *buf, size_t keep, size_t n)
{
	if (hdr_of(buf)->cap >= n) /* a shelf's class or a huge page has room */
		return buf;
	/* past the shelf's classes realloc may move pages instead of bytes
	 * (but a big buffer stays aligned: REL_BIG_MIN and up is always one) */
	if (class_of(hdr_of(buf)->cap) < 0 && class_of(n) < 0 && n < REL_BIG_MIN) {
		struct bufhdr *h = realloc(hdr_of(buf), HDR + n);
		c->allocs++;
		if (!h)
			return NULL;
		h->cap = n;
		return (uint8_t *)h + HDR;
	}
	uint8_t *nb = rel_buf_get(c, n);
	if (!nb)
		return NULL;
	memcpy(nb, buf, keep);
	rel_buf_put(c, buf);
	return nb;
}

void rel_buf_put(struct rel_core *c, void *buf)
{
	if (!buf)
		return;
	size_t cap = hdr_of(buf)->cap;
	if (cap >= REL_BIG_MIN) {
		if (c->big_bytes + cap > REL_BIG_SHELF_MAX) {
			rel_buf_free(buf);
			return;
		}
		*(uint8_t **)buf = c->big_shelf;
		c->big_shelf = buf;
		c->big_bytes += cap;
		return;
	}
	int k = class_of(cap);
	if (k < 0 || ((size_t)REL_SHELF_MIN << k) != cap || c->shelf_bytes + cap > REL_SHELF_MAX) {
		rel_buf_free(buf);
		return;
	}
	*(uint8_t **)buf = c->shelf[k];
	c->shelf[k] = buf;
	c->shelf_bytes += cap;
}

void rel_buf_shelf_free(struct rel_core *c)
{
	for (int k = 0; k < REL_SHELF_CLASSES; k++) {
		while (c->shelf[k]) {
			uint8_t *buf = c->shelf[k];
			c->shelf[k] = *(uint8_t **)(void *)buf;
			rel_buf_free(buf);
		}
	}
	c->shelf_bytes = 0;
	while (c->big_shelf) {
		uint8_t *buf = c->big_shelf;
		c->big_shelf = *(uint8_t **)(void *)buf;
		rel_buf_free(buf);
	}
	c->big_bytes = 0;
}

void rel_buf_free(void *buf)
{
	if (buf)
		free(hdr_of(buf));
}

void rel_buf_recycle(struct rel_core *c, void *buf)
{
	if (c)
		rel_buf_put(c, buf);
	else
		rel_buf_free(buf);
}
