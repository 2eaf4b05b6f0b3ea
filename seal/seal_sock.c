/* seal_sock.c - sealing as a layer on a socket.
 *
 * Installed in the socket's top slot (udp/internal/udp_sock_int.h), above
 * the netsim, so a simulated network carries
 * and damages sealed bytes exactly as a real one would, and below every
 * caller, so the reliable layer and the tools only ever see plaintext that
 * authenticated.  No system call here.
 *
 * Memory: a send arena that a batch is sealed into back to back (then sent
 * with one wire batch, so GSO still finds equal-size runs), a ring of
 * receive slots that the kernel fills with sealed datagrams (or GRO runs
 * of them, opened one segment at a time, so GRO keeps saving the kernel's
 * per-datagram work; what a caller had no room for waits there), and one
 * plaintext scratch for a datagram larger than the caller's buffer.  All
 * are allocated on first use and only grow (for unix datagrams above the
 * UDP limit), so the steady state allocates nothing per datagram.  Untouched
 * pages of the big mallocs cost no memory. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal.h"
#include "seal_sock.h"
#include "udp_sock.h"
#include "internal/udp_sock_int.h"

#define LEVEL UDP_SOCK_LAYER_SEAL

/* udp_sock.c drops what looks sealed on keyless sockets without linking
 * this file, so it keeps its own copy of the header's signature. */
_Static_assert(UDP_SOCK_SEALED_MAGIC == SEAL_MAGIC &&
	       UDP_SOCK_SEALED_VERSION == SEAL_VERSION &&
	       UDP_SOCK_SEALED_MIN == SEAL_OVERHEAD,
	       "udp_sock_int.h's sealed signature differs from seal.h");

/* Messages per wire batch: udp_sock.c's sendmmsg/recvmmsg batch size. */
#define RING 64
/* Send arena: a full batch of 1500-byte datagrams fits many times over. */
#define TX_ARENA (256u * 1024)
/* A receive slot holds any UDP datagram, so a sealed one is never cut,
 * and any GRO run. */
#define SLOT_MIN ((size_t)UDP_GRO_MIN_CAP)
/* Receive slots share this many bytes (fewer slots when caller buffers,
 * and so slots, are bigger). */
#define RX_ARENA ((size_t)RING * SLOT_MIN)

struct seal_sock {
	struct seal *seal;
	uint8_t *tx;
	size_t tx_cap;
	struct udp_msg txm[RING];
	uint8_t *rx;
	size_t slot;        /* bytes per receive slot */
	unsigned nslots;
	struct udp_msg rxm[RING];
	uint8_t *pt;        /* plaintext that does not fit the caller's buffer */
	size_t pt_cap;
	uint64_t drop_trunc; /* sealed datagram cut by the kernel: cannot open */
	/* Received, not yet handed out: rxm[pend_i..pend_n), the first from
	 * byte pend_off (GRO runs are opened one segment at a time). */
	unsigned pend_i, pend_n;
	size_t pend_off;
};

static void free_buffers(struct seal_sock *z)
{
	free(z->tx);
	free(z->rx);
	if (z->pt)
		sodium_memzero(z->pt, z->pt_cap); /* plaintext: leave none behind */
	free(z->pt);
	z->tx = z->rx = z->pt = NULL;
	z->tx_cap = z->slot = z->pt_cap = 0;
	z->nslots = 0;
}

static const struct udp_sock_layer_ops ops;

static void sealer_free(void *st)
{
	struct seal_sock *z = st;
	if (!z)
		return;
	seal_free(z->seal);
	free_buffers(z);
	free(z);
}

int seal_sock_attach(struct udp_sock *s, struct seal *seal)
{
	if (!s) {
		seal_free(seal);
		return UDP_EINVAL;
	}
	if (!seal)
		return udp_sock_layer_set(s, LEVEL, NULL, NULL, 0, 0);
	struct seal_sock *z = udp_sock_layer_get(s, LEVEL);
	if (!z && !(z = calloc(1, sizeof *z))) {
		seal_free(seal);
		return UDP_ENOMEM;
	}
	seal_free(z->seal);
	z->seal = seal;
	z->drop_trunc = 0;
	z->pend_i = z->pend_n = 0; /* not for the new key */
	return udp_sock_layer_set(s, LEVEL, &ops, z, 1, 1);
}

const struct seal *seal_sock_get(const struct udp_sock *s)
{
	const struct seal_sock *z = udp_sock_layer_get(s, LEVEL);
	return z ? z->seal : NULL;
}

int seal_sock_stats(const struct udp_sock *s, struct seal_stats *out)
{
	if (!s || !out)
		return UDP_EINVAL;
	memset(out, 0, sizeof *out);
	const struct seal_sock *z = udp_sock_layer_get(s, LEVEL);
	if (!z)
		return 0;
	seal_get_stats(z->seal, out);
	out->drop_nospace += z->drop_trunc;
	return 1;
}

/* ---- sending ---- */

static int tx_room(struct seal_sock *z, size_t need)
{
	if (z->tx_cap >= need)
		return 0;
	size_t cap = need > TX_ARENA ? need : TX_ARENA;
	uint8_t *p = malloc(cap);
	if (!p)
		return UDP_ENOMEM;
	free(z->tx);
	z->tx = p;
	z->tx_cap = cap;
	return 0;
}

static int sealer_send(struct udp_sock *s, void *st, const void *buf,
		       size_t len, const struct udp_addr *to)
{
	struct seal_sock *z = st;
	if (len > INT_MAX - SEAL_OVERHEAD)
		return UDP_ETOOBIG;
	if (tx_room(z, len + SEAL_OVERHEAD))
		return UDP_ENOMEM;
	int n = seal_seal(z->seal, buf, len, z->tx, z->tx_cap);
	if (n < 0)
		return n;
	int rc = udp_sock_layer_send(s, LEVEL + 1, z->tx, (size_t)n, to);
	return rc < 0 ? rc : (int)len;
}

static int sealer_send_batch(struct udp_sock *s, void *st, struct udp_msg *msgs,
			     unsigned n)
{
	struct seal_sock *z = st;
	unsigned done = 0;
	while (done < n) {
		size_t used = 0;
		unsigned k = 0;
		int err = 0;
		while (done + k < n && k < RING) {
			const struct udp_msg *m = &msgs[done + k];
			if (m->len > INT_MAX - SEAL_OVERHEAD) {
				err = UDP_ETOOBIG;
				break;
			}
			size_t need = m->len + SEAL_OVERHEAD;
			if (used + need > z->tx_cap) {
				if (k)
					break; /* send these first, then start over */
				if ((err = tx_room(z, need)) < 0)
					break;
			}
			int sl = seal_seal(z->seal, m->buf, m->len, z->tx + used,
					       z->tx_cap - used);
			if (sl < 0) {
				err = sl;
				break;
			}
			struct udp_msg *w = &z->txm[k++];
			w->buf = z->tx + used;
			w->len = (size_t)sl;
			w->addr = m->addr;
			used += (size_t)sl;
		}
		if (!k)
			return done ? (int)done : err;
		/* A datagram sealed but not taken by the kernel has used a
		 * counter; the caller's retry seals it again under a new one,
		 * which the receiver's window accepts (gaps are fine). */
		int rc = udp_sock_layer_send_batch(s, LEVEL + 1, z->txm, k);
		if (rc < 0)
			return done ? (int)done : rc;
		done += (unsigned)rc;
		if ((unsigned)rc < k || err)
			break;
	}
	return (int)done;
}

/* ---- receiving ---- */

/* Slots big enough for any datagram whose plaintext fits cap. */
static int rx_ready(struct seal_sock *z, size_t cap)
{
	size_t slot = cap > SLOT_MIN - SEAL_OVERHEAD ? cap + SEAL_OVERHEAD : SLOT_MIN;
	if (z->rx && z->slot >= slot)
		return 0;
	size_t n = RX_ARENA / slot;
	n = n < 1 ? 1 : n > RING ? RING : n;
	uint8_t *rx = malloc(n * slot);
	if (!rx)
		return UDP_ENOMEM;
	free(z->rx);
	z->rx = rx;
	z->slot = slot;
	z->nslots = (unsigned)n;
	return 0;
}

/* Opens the sealed datagram w into the caller's m.  0, or the drop reason. */
static int open_one(struct seal_sock *z, const struct udp_msg *w,
		    struct udp_msg *m)
{
	if (w->flags & UDP_MSG_TRUNC) {
		z->drop_trunc++;
		return UDP_ENOSPACE;
	}
	size_t ptlen = w->len >= SEAL_OVERHEAD ? w->len - SEAL_OVERHEAD : 0;
	void *dst = m->buf;
	size_t cap = m->cap;
	int big = ptlen > m->cap;
	if (big) {
		if (z->pt_cap < ptlen) {
			uint8_t *p = malloc(z->slot);
			if (!p)
				return UDP_ENOMEM;
			if (z->pt)
				sodium_memzero(z->pt, z->pt_cap);
			free(z->pt);
			z->pt = p;
			z->pt_cap = z->slot;
		}
		dst = z->pt;
		cap = z->pt_cap;
	}
	int rc = seal_open(z->seal, w->buf, w->len, &w->addr.u.ss, w->addr.len,
			       dst, cap, NULL);
	if (rc < 0)
		return rc;
	size_t len = (size_t)rc;
	if (big && m->cap)
		memcpy(m->buf, z->pt, m->cap);
	m->wire_len = len;
	m->len = len < m->cap ? len : m->cap;
	m->flags = len > m->cap ? UDP_MSG_TRUNC : 0;
	m->seg_size = 0;
	m->addr = w->addr;
	return 0;
}

static int sealer_recv_batch(struct udp_sock *s, void *st, struct udp_msg *msgs,
			     unsigned n)
{
	struct seal_sock *z = st;
	size_t maxcap = 0;
	for (unsigned i = 0; i < n; i++) {
		if ((!msgs[i].buf && msgs[i].cap) || msgs[i].cap > INT_MAX)
			return UDP_EINVAL;
		if (msgs[i].cap > maxcap)
			maxcap = msgs[i].cap;
	}
	unsigned got = 0;
	int waited = 0;
	for (;;) {
		/* What an earlier receive left: the rest of a GRO run, or more
		 * datagrams than that caller had room for. */
		while (got < n && z->pend_i < z->pend_n) {
			struct udp_msg *w = &z->rxm[z->pend_i];
			struct udp_msg one = *w;
			size_t seg = w->seg_size ? w->seg_size : w->len;
			size_t left = w->len - z->pend_off;
			one.buf = (uint8_t *)w->buf + z->pend_off;
			one.len = one.wire_len = left < seg ? left : seg;
			one.seg_size = 0;
			z->pend_off += one.len;
			if (z->pend_off >= w->len) {
				z->pend_i++;
				z->pend_off = 0;
			}
			if (open_one(z, &one, &msgs[got]) == 0)
				got++;
		}
		if (got)
			return (int)got;
		if (waited && udp_sock_nonblocking(s))
			return UDP_EAGAIN; /* all dropped: as if none had come */
		/* Nothing pending: the slots are free to be resized and refilled. */
		if (rx_ready(z, maxcap))
			return UDP_ENOMEM;
		unsigned k = n < z->nslots ? n : z->nslots;
		/* buf and cap are all a receive reads (a whole-struct reset
		 * would clear 64 sockaddr_storages per call) */
		for (unsigned i = 0; i < k; i++) {
			z->rxm[i].buf = z->rx + (size_t)i * z->slot;
			z->rxm[i].cap = z->slot;
		}
		int r = udp_sock_layer_recv_batch(s, LEVEL + 1, z->rxm, k);
		if (r < 0)
			return r;
		z->pend_i = 0;
		z->pend_n = (unsigned)r;
		z->pend_off = 0;
		waited = 1;
	}
}

/* Opened datagrams of a GRO run wait here, not in the kernel: due now, or
 * a caller polling the descriptor would sleep on them. */
static uint64_t sealer_next_due(const struct udp_sock *s, const void *st)
{
	const struct seal_sock *z = st;
	return z->pend_i < z->pend_n ? udp_sock_now(s) : UINT64_MAX;
}

static const struct udp_sock_layer_ops ops = {
	.send = sealer_send,
	.send_batch = sealer_send_batch,
	.recv_batch = sealer_recv_batch,
	.next_due = sealer_next_due,
	.free = sealer_free,
	.authenticates = 1,
};
