/* rel_drv.c - see rel_drv.h.  Clock, poll and the socket live here only.
 *
 * One clock: the socket's (udp_sock_now()).  Its netsim models hold
 * datagrams until times on that clock, so the core's timers must run on it
 * too, or a socket given a clock of its own would compare deadlines of one
 * time base against the other. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "rel_drv.h"
#include "udp_err.h"

/* Datagrams per receive call at most (small ones: a busy socket is
 * drained in fewer calls).  Each has room for a GRO datagram. */
#define DRV_RX_BATCH 64
#define DRV_RXCAP 65536
#define DRV_RXBUF ((size_t)DRV_RX_BATCH * DRV_RXCAP)
/* Bytes per receive call, about what the core's L2 cache holds: the
 * kernel's copy leaves a datagram there, and the CRC and the reassembly
 * copy that follow find it there only if the call brought no more.  64
 * datagrams of 64 KiB (loopback after PMTUD, or GRO runs) are 4 MiB, and
 * the receiver spent a fifth more CPU re-reading them (docs/BENCHMARKS.md,
 * session 6); 64 small datagrams still come in one call. */
#define DRV_RX_BYTES ((size_t)512 << 10)
#define DRV_RX_MIN 8
/* Datagrams, and bytes, per receive(): then the caller runs.  The byte
 * bound lets it take the messages just completed while they are still in
 * the cache; at 64 MiB a turn (1024 datagrams of 64 KiB) `udprecv` wrote
 * them out cold, with ~15 % more CPU than at 1 MiB (BENCHMARKS.md). */
#define DRV_RX_MAX 1024
#define DRV_RX_TURN ((size_t)1 << 20)
/* A bulk receiver writes all of rxbuf within its first milliseconds: 1024
 * first touches of a 4 KiB page (~4 us each on a VM) where two of a huge
 * page cost a tenth of that (docs/BENCHMARKS.md, session 5).  The price: a
 * quiet driver holds 2 MiB from its first datagram, not a page or two. */
#define DRV_HUGE ((size_t)2 << 20)
/* Datagrams per send call: udp_sock splits them into GSO runs of up to 64
 * segments and 64 KiB (46 of 1400 bytes), so a multiple of a run's length
 * leaves no short runs. */
#define DRV_TX_BATCH 138

struct rel_drv {
	struct rel_core *core;
	struct udp_sock *sock;
	struct udp_msg rx[DRV_RX_BATCH];
	int rx_batch; /* this call's: DRV_RX_BYTES over the last call's largest */
	uint8_t *rxbuf;
	struct udp_msg tx[DRV_TX_BATCH];
	struct rel_drv_stats st;
	rel_drv_gate_fn gate;
	void *gate_ctx;
};

/* rxbuf on huge-page boundaries, offered to transparent huge pages; the
 * kernel may refuse them (THP "never"), and plain pages still work. */
static uint8_t *rxbuf_new(void)
{
	uint8_t *p = mmap(NULL, DRV_RXBUF + DRV_HUGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	size_t head = (DRV_HUGE - (uintptr_t)p % DRV_HUGE) % DRV_HUGE;
	if (head)
		munmap(p, head);
	if (DRV_HUGE - head)
		munmap(p + head + DRV_RXBUF, DRV_HUGE - head);
	p += head;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, DRV_RXBUF, MADV_HUGEPAGE);
#endif
	return p;
}

void rel_drv_set_gate(struct rel_drv *d, rel_drv_gate_fn gate, void *ctx)
{
	d->gate = gate;
	d->gate_ctx = ctx;
}

uint64_t rel_drv_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t rel_drv_time(const struct rel_drv *d)
{
	return udp_sock_now(d->sock);
}

/* PMTUD's ceiling for a new session: the route's, as the kernel knows it. */
static size_t route_mtu(void *ctx, const void *addr, size_t alen)
{
	(void)ctx;
	return udp_route_mtu(addr, alen);
}

int rel_drv_new(struct rel_drv **out, struct rel_core *core, struct udp_sock *sock)
{
	if (!out || !core || !sock)
		return UDP_EINVAL;
	struct rel_drv *d = calloc(1, sizeof *d);
	if (!d)
		return UDP_ENOMEM;
	d->rxbuf = rxbuf_new();
	if (!d->rxbuf) {
		free(d);
		return UDP_ENOMEM;
	}
	d->core = core;
	d->sock = sock;
	d->rx_batch = DRV_RX_BATCH;
	/* PMTUD's probes must arrive whole or not at all (udp_sock.h) */
	(void)udp_sock_set_pmtu_probe(sock);
	/* and the routers' "too big" reaches PMTUD as a hint (drain_errors) */
	(void)udp_sock_set_recverr(sock, 1);
	rel_set_route_mtu(core, route_mtu, NULL);
	int rc = udp_sock_set_nonblock(sock, 1);
	if (rc < 0) {
		rel_drv_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void rel_drv_free(struct rel_drv *d)
{
	if (!d)
		return;
	rel_set_route_mtu(d->core, NULL, NULL);
	if (d->rxbuf)
		munmap(d->rxbuf, DRV_RXBUF);
	free(d);
}

static int blob_to_addr(const uint8_t *blob, size_t len, struct udp_addr *a)
{
	memset(a, 0, sizeof *a);
	if (len == 0 || len > sizeof a->u)
		return UDP_EINVAL;
	memcpy(&a->u, blob, len);
	a->len = (socklen_t)len;
	return 0;
}

int rel_drv_connect(struct rel_drv *d, const struct udp_addr *peer, uint32_t *id)
{
	return rel_drv_connect_ex(d, peer, NULL, id);
}

int rel_drv_connect_ex(struct rel_drv *d, const struct udp_addr *peer, const void *crypto_arg,
		       uint32_t *id)
{
	if (!d || !peer || peer->len == 0)
		return UDP_EINVAL;
	return rel_connect_ex(d->core, &peer->u, peer->len, crypto_arg, rel_drv_time(d), id);
}

int rel_drv_peer_addr(const struct rel_drv *d, uint32_t peer, struct udp_addr *out)
{
	uint8_t blob[REL_ADDR_MAX];
	int n = rel_peer_addr(d->core, peer, blob, sizeof blob);
	if (n < 0)
		return n;
	return blob_to_addr(blob, (size_t)n, out);
}

int rel_drv_flush(struct rel_drv *d)
{
	int total = 0, refused = 0; /* the gate refused the first datagram queued */
	for (int rounds = 0; rounds < 64; rounds++) {
		size_t n = rel_out_pending(d->core);
		if (n == 0) {
			/* the core may have stopped for room in the out-queue */
			if (rel_next_deadline(d->core) != 0)
				break;
			rel_update(d->core, rel_drv_time(d));
			if (!rel_out_pending(d->core))
				break;
			continue;
		}
		if (n > DRV_TX_BATCH)
			n = DRV_TX_BATCH;
		size_t k = 0;
		for (; k < n && !refused; k++) {
			struct rel_dgram g;
			(void)rel_out_peek(d->core, k, &g);
			if (d->gate && !d->gate(d->gate_ctx, &g)) {
				refused = 1; /* dropped once those before it are sent */
				break;
			}
			struct udp_msg *m = &d->tx[k];
			m->buf = (void *)g.data;
			m->len = g.len;
			m->cap = m->wire_len = m->seg_size = 0;
			m->flags = 0;
			/* the slot usually held a datagram to the same peer: its
			 * address stays (clearing and copying ~300 bytes per
			 * datagram was a tenth of this loop's instructions) */
			if (m->addr.len != (socklen_t)g.addr_len || memcmp(&m->addr.u, g.addr, g.addr_len))
				(void)blob_to_addr(g.addr, g.addr_len, &m->addr);
		}
		if (k == 0) {
			rel_out_pop(d->core, 1);
			d->st.gated++;
			refused = 0;
			continue;
		}
		n = k;
		d->st.send_calls++;
		int rc = udp_sock_send_batch(d->sock, d->tx, (unsigned)n);
		if (rc == UDP_EAGAIN)
			break;
		if (rc < 0) {
			rel_out_pop(d->core, 1); /* refused: drop it, go on */
			d->st.send_errors++;
			continue;
		}
		if ((size_t)rc < n)
			refused = 0; /* not at the head next round: ask again */
		rel_out_pop(d->core, (size_t)rc);
		d->st.dgrams_out += (uint64_t)rc;
		total += rc;
	}
	return total;
}

/* Takes what the socket's error queue holds (POLLERR says it holds
 * something, and stays on until it is read): each ICMP "too big" goes to
 * PMTUD, which checks its quote; the rest (port unreachable and the like)
 * the core's timers cope with.  Bounded: a flood waits for the next turn. */
static void drain_errors(struct rel_drv *d)
{
	uint8_t q[1280]; /* an ICMPv6 quote is at most this, ICMPv4's 548 */
	for (int i = 0; i < 256; i++) {
		struct udp_ptb e;
		int rc = udp_sock_recv_error(d->sock, &e, q, sizeof q);
		if (rc < 0)
			break;
		if (rc == 1)
			(void)rel_peer_ptb(d->core, &e.dest.u, e.dest.len, e.max_payload, q,
					   e.quoted_len, rel_drv_time(d));
	}
}

/* The next call's batch: datagrams as large as the last call's largest
 * fill about DRV_RX_BYTES. */
static int rx_batch_for(size_t largest)
{
	size_t n = DRV_RX_BYTES / largest;
	return n < DRV_RX_MIN ? DRV_RX_MIN : n > DRV_RX_BATCH ? DRV_RX_BATCH : (int)n;
}

/* Feeds what the socket holds to the core.  The core answers each packet
 * with an ACK that replaces its unsent predecessor, so flushing once at the
 * end sends one ACK per batch; it flushes sooner only when a send batch is
 * ready (data of its own, or many peers). */
static int receive(struct rel_drv *d)
{
	int rc = 0, got = 0;
	size_t bytes = 0;
	for (int rounds = 0; rounds < DRV_RX_MAX / DRV_RX_MIN && got < DRV_RX_MAX && bytes < DRV_RX_TURN;
	     rounds++) {
		int want = d->rx_batch;
		for (int i = 0; i < want; i++) {
			memset(&d->rx[i], 0, sizeof d->rx[i]);
			d->rx[i].buf = d->rxbuf + (size_t)i * DRV_RXCAP;
			d->rx[i].cap = DRV_RXCAP;
		}
		d->st.recv_calls++;
		int n = udp_sock_recv_batch(d->sock, d->rx, want);
		if (n == UDP_EAGAIN)
			break;
		if (n == UDP_ESYS && (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
				      errno == ENETUNREACH || errno == EMSGSIZE || errno == EINTR)) {
			drain_errors(d); /* ICMP news about a datagram: the core copes */
			continue;
		}
		if (n < 0) {
			rc = n;
			break;
		}
		uint64_t now = rel_drv_time(d);
		size_t big = 1;
		got += n;
		for (int i = 0; i < n; i++) {
			struct udp_msg *m = &d->rx[i];
			const uint8_t *p = m->buf;
			if (m->len > big)
				big = m->len;
			bytes += m->len;
			if (m->flags & UDP_MSG_TRUNC) {
				d->st.truncated++;
				continue;
			}
			if (!m->seg_size || m->seg_size >= m->len) {
				d->st.dgrams_in++;
				(void)rel_input(d->core, &m->addr.u, m->addr.len, p, m->len, now);
				continue;
			}
			for (size_t off = 0; off < m->len; off += m->seg_size) { /* GRO */
				size_t len = m->len - off < m->seg_size ? m->len - off : m->seg_size;
				d->st.dgrams_in++;
				(void)rel_input(d->core, &m->addr.u, m->addr.len, p + off, len, now);
			}
		}
		d->rx_batch = rx_batch_for(big);
		if (n < want)
			break;
		if (rel_out_pending(d->core) >= DRV_TX_BATCH)
			rel_drv_flush(d);
	}
	rel_drv_flush(d);
	return rc;
}

uint64_t rel_drv_next_deadline(const struct rel_drv *d)
{
	uint64_t dl = rel_next_deadline(d->core);
	/* A netsim model on the socket (udp_sock.h) holds delayed datagrams
	 * that no poll() reports; its times and the core's are both the
	 * socket's clock. */
	uint64_t due = udp_sock_next_due(d->sock);
	return due < dl ? due : dl;
}

int rel_drv_fd(const struct rel_drv *d)
{
	return udp_sock_fd(d->sock);
}

/* The second half of a turn: what a netsim model holds back is due, the
 * socket is read when it said so (or a model has input due), timers run. */
static int after_wait(struct rel_drv *d, int readable)
{
	(void)udp_sock_flush(d->sock);
	uint64_t due = udp_sock_next_due(d->sock);
	if (readable || (due != UINT64_MAX && due <= rel_drv_time(d))) {
		int rc = receive(d);
		if (rc < 0)
			return rc;
	}
	rel_update(d->core, rel_drv_time(d));
	rel_drv_flush(d);
	return 0;
}

int rel_drv_run_once(struct rel_drv *d, int max_wait_ms)
{
	if (!d)
		return UDP_EINVAL;
	rel_drv_flush(d);
	uint64_t now = rel_drv_time(d);
	uint64_t dl = rel_drv_next_deadline(d);
	/* In microseconds: pacing gaps are far below a millisecond, and a
	 * poll() rounded up to whole ms would cap a paced sender. */
	int64_t wait_us = max_wait_ms < 0 ? -1 : (int64_t)max_wait_ms * 1000;
	if (dl != UINT64_MAX) {
		uint64_t left = dl <= now ? 0 : dl - now;
		if (left > 3600000000u)
			left = 3600000000u;
		if (wait_us < 0 || (int64_t)left < wait_us)
			wait_us = (int64_t)left;
	}
	struct pollfd pfd = {.fd = udp_sock_fd(d->sock), .events = POLLIN};
	if (rel_out_pending(d->core)) {
		/* the socket is full: wait until it takes more (a deadline of
		 * 0 only says that output is waiting) */
		pfd.events |= POLLOUT;
		if (rel_next_deadline(d->core) == 0)
			wait_us = max_wait_ms >= 0 && max_wait_ms < 50 ? (int64_t)max_wait_ms * 1000 : 50000;
	}
	struct timespec ts = { .tv_sec = wait_us / 1000000, .tv_nsec = (wait_us % 1000000) * 1000 };
	int r = ppoll(&pfd, 1, wait_us < 0 ? NULL : &ts, NULL);
	if (r < 0 && errno != EINTR)
		return UDP_ESYS;
	if (r > 0 && (pfd.revents & POLLERR))
		drain_errors(d);
	return after_wait(d, r > 0 && (pfd.revents & (POLLIN | POLLERR)));
}

int rel_drv_service(struct rel_drv *d)
{
	if (!d)
		return UDP_EINVAL;
	rel_drv_flush(d);
	drain_errors(d); /* the caller's poll said POLLERR, perhaps */
	return after_wait(d, 1); /* a read that finds nothing costs one call */
}

void rel_drv_stats(const struct rel_drv *d, struct rel_drv_stats *out)
{
	*out = d->st;
}
