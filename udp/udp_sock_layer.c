/* udp_sock_layer.c - the layer slots of a socket, and what every socket
 * has whatever layers it carries: the clock, deadlines, flush, and the
 * keyless drop of sealed-looking datagrams.  No system call here but the
 * clock: udp_sock.c makes them all. */
#include <string.h>
#include <time.h>

#include "udp_err.h"
#include "udp_sock.h"
#include "internal/udp_sock_int.h"
#include "internal/udp_sock_struct.h"

int (*udp_sock_open_hook[UDP_SOCK_LAYERS])(struct udp_sock *s);

/* ---- layers ---- */

int udp_sock_layer_set(struct udp_sock *s, unsigned level,
		       const struct udp_sock_layer_ops *ops, void *state,
		       int out, int in)
{
	if (!s || level >= UDP_SOCK_LAYERS)
		return UDP_EINVAL;
	struct udp_sock_layer *l = &s->layer[level];
	if (l->ops && l->state != state)
		l->ops->free(l->state);
	*l = (struct udp_sock_layer){ .ops = ops, .state = ops ? state : NULL };
	l->out = ops && out;
	l->in = ops && in;
	s->in_single = s->in_authed = 0;
	for (unsigned i = 0; i < UDP_SOCK_LAYERS; i++) {
		if (!s->layer[i].in)
			continue;
		s->in_single |= s->layer[i].ops->one_by_one;
		s->in_authed |= s->layer[i].ops->authenticates;
	}
	if (s->in_single && s->gro)
		udp_sock_set_gro(s, 0);
	return 0;
}

void *udp_sock_layer_get(const struct udp_sock *s, unsigned level)
{
	return s && level < UDP_SOCK_LAYERS ? s->layer[level].state : NULL;
}

int udp_sock_layer_on_open(unsigned level, int (*hook)(struct udp_sock *s))
{
	if (level >= UDP_SOCK_LAYERS)
		return UDP_EINVAL;
	udp_sock_open_hook[level] = hook;
	return 0;
}

int udp_sock_nonblocking(const struct udp_sock *s)
{
	return s->nonblock;
}

/* ---- the layers' common ground: clock, deadlines, keyless sockets ---- */

int udp_sock_set_clock(struct udp_sock *s, uint64_t (*now_us)(void *ctx),
		       void *ctx)
{
	if (!s)
		return UDP_EINVAL;
	s->now_us = now_us;
	s->clock_ctx = now_us ? ctx : NULL;
	return 0;
}

uint64_t udp_sock_now(const struct udp_sock *s)
{
	if (s && s->now_us)
		return s->now_us(s->clock_ctx);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t udp_sock_next_due(const struct udp_sock *s)
{
	uint64_t due = UINT64_MAX;
	for (unsigned i = 0; s && i < UDP_SOCK_LAYERS; i++) {
		const struct udp_sock_layer *l = &s->layer[i];
		if (!l->ops || !l->ops->next_due)
			continue;
		uint64_t d = l->ops->next_due(s, l->state);
		if (d < due)
			due = d;
	}
	return due;
}

int udp_sock_flush(struct udp_sock *s)
{
	if (!s)
		return UDP_EINVAL;
	int total = 0;
	for (unsigned i = 0; i < UDP_SOCK_LAYERS; i++) {
		struct udp_sock_layer *l = &s->layer[i];
		if (!l->ops || !l->ops->flush)
			continue;
		int rc = l->ops->flush(s, l->state);
		if (rc < 0)
			return rc;
		total += rc;
	}
	return total;
}

uint64_t udp_sock_sealed_seen(const struct udp_sock *s)
{
	return s ? s->sealed_seen : 0;
}

int udp_sock_set_pass_sealed(struct udp_sock *s, int on)
{
	if (!s)
		return UDP_EINVAL;
	s->pass_sealed = on ? 1 : 0;
	return 0;
}

/* ---- keyless sockets ---- */

/* The keyless drop: whether m starts like a sealed datagram.  wire_len,
 * not len: a sealed datagram cut by a small buffer is still one.  With GRO
 * the first segment speaks for the message (one sender's run; a sender
 * mixing sealed and plain is broken). */
static int looks_sealed(const struct udp_msg *m)
{
	const unsigned char *p = m->buf;
	return m->len >= 3 && m->wire_len >= UDP_SOCK_SEALED_MIN &&
	       p[0] == (UDP_SOCK_SEALED_MAGIC >> 8) &&
	       p[1] == (UDP_SOCK_SEALED_MAGIC & 0xff) &&
	       p[2] == UDP_SOCK_SEALED_VERSION;
}

static void move_msg(struct udp_msg *to, struct udp_msg *from)
{
	if (to->cap >= from->len) {
		memcpy(to->buf, from->buf, from->len);
		to->len = from->len;
		to->wire_len = from->wire_len;
		to->addr = from->addr;
		to->flags = from->flags;
		to->seg_size = from->seg_size;
		return;
	}
	/* buffers of unequal size: swap the messages, buffers and all */
	struct udp_msg t = *to;
	*to = *from;
	*from = t;
}

/* Drops what looks sealed; returns how many of msgs[0..n) remain, moved
 * to the front. */
unsigned udp_sock_keyless_filter(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	unsigned keep = 0;
	for (unsigned i = 0; i < n; i++) {
		struct udp_msg *m = &msgs[i];
		if (looks_sealed(m)) {
			s->sealed_seen += m->seg_size ? (m->len + m->seg_size - 1) / m->seg_size : 1;
			continue;
		}
		if (keep != i)
			move_msg(&msgs[keep], m);
		keep++;
	}
	return keep;
}
