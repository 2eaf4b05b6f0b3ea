/* udp_sock.h - datagram sockets: options and I/O, single and batched.
 *
 * This is the only part of udpkit that makes socket system calls.
 * A struct udp_sock is created by udp_sock_open*() and owned by the caller,
 * who releases it with udp_sock_free() (which closes the descriptor, and
 * unlinks a unix socket path that this socket bound). */
#ifndef UDP_SOCK_H
#define UDP_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "udp_addr.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct udp_sock;

/* Largest UDP payload over IPv4/IPv6 (65535 - 8 - 20). */
#define UDP_MAX_PAYLOAD 65507

enum {
	UDP_SOCK_REUSEADDR = 1 << 0, /* SO_REUSEADDR before bind */
	UDP_SOCK_REUSEPORT = 1 << 1, /* SO_REUSEPORT before bind (group members) */
	UDP_SOCK_NONBLOCK = 1 << 2,  /* O_NONBLOCK from the start */
	UDP_SOCK_V6ONLY = 1 << 3,    /* IPV6_V6ONLY on (default: dual-stack) */
};

/* An unbound socket of the family (AF_INET, AF_INET6, AF_UNIX). */
UDPKIT_API int udp_sock_open(struct udp_sock **out, int family, int flags);
/* A socket of local's family, bound to local (port 0: the kernel picks). */
UDPKIT_API int udp_sock_open_bound(struct udp_sock **out, const struct udp_addr *local, int flags);
UDPKIT_API void udp_sock_free(struct udp_sock *s); /* NULL is a no-op */

UDPKIT_API int udp_sock_fd(const struct udp_sock *s);
UDPKIT_API int udp_sock_family(const struct udp_sock *s);
UDPKIT_API int udp_sock_bind(struct udp_sock *s, const struct udp_addr *local);
UDPKIT_API int udp_sock_connect(struct udp_sock *s, const struct udp_addr *peer);
UDPKIT_API int udp_sock_local_addr(const struct udp_sock *s, struct udp_addr *out);
/* The connected peer; UDP_ESYS (ENOTCONN) when not connected. */
UDPKIT_API int udp_sock_peer_addr(const struct udp_sock *s, struct udp_addr *out);

UDPKIT_API int udp_sock_set_nonblock(struct udp_sock *s, int on);
UDPKIT_API int udp_sock_set_recv_timeout(struct udp_sock *s, unsigned ms); /* 0: none */
UDPKIT_API int udp_sock_set_send_timeout(struct udp_sock *s, unsigned ms);
/* Asks for buffer sizes (bytes; 0 leaves one alone); tries the FORCE
 * variants when privileged.  Read back what the kernel granted with get. */
UDPKIT_API int udp_sock_set_buffers(struct udp_sock *s, int rcvbuf, int sndbuf);
UDPKIT_API int udp_sock_get_buffers(const struct udp_sock *s, int *rcvbuf, int *sndbuf);
UDPKIT_API int udp_sock_set_broadcast(struct udp_sock *s, int on);

/* Multicast.  ifname NULL means "the kernel's choice".  The family of the
 * group decides IPv4 or IPv6; an IPv4 group on an IPv6 socket also works. */
UDPKIT_API int udp_sock_join(struct udp_sock *s, const struct udp_addr *group, const char *ifname);
UDPKIT_API int udp_sock_leave(struct udp_sock *s, const struct udp_addr *group, const char *ifname);
UDPKIT_API int udp_sock_set_mcast_ttl(struct udp_sock *s, int ttl); /* hop limit on v6 */
UDPKIT_API int udp_sock_set_mcast_loop(struct udp_sock *s, int on);
UDPKIT_API int udp_sock_set_mcast_if(struct udp_sock *s, const char *ifname);
UDPKIT_API int udp_sock_set_ttl(struct udp_sock *s, int ttl);       /* unicast TTL / hops */

/* One datagram.  For receive: buf/cap in, len = bytes stored out,
 * wire_len = the datagram's real size, UDP_MSG_TRUNC set when it did not
 * fit (it is never silently cut).  For send: buf/len in; addr is the
 * destination (len 0 when the socket is connected). */
enum { UDP_MSG_TRUNC = 1 << 0 };

struct udp_msg {
	void *buf;
	size_t cap;      /* receive: room in buf */
	size_t len;      /* send: bytes to send; receive: bytes stored */
	size_t wire_len; /* receive: size of the datagram on the wire */
	struct udp_addr addr;
	unsigned flags;  /* UDP_MSG_* */
	/* receive with GRO on: when the kernel coalesced several datagrams of
	 * one sender into this message, the size of each (the last may be
	 * shorter); len is then their sum.  0 means one datagram. */
	size_t seg_size;
};

/* Returns bytes sent, or UDP_EAGAIN (non-blocking, buffer full), or an error. */
UDPKIT_API int udp_sock_send(struct udp_sock *s, const void *buf, size_t len,
		  const struct udp_addr *to);
/* Returns the bytes stored (m->len); UDP_EAGAIN when non-blocking and empty
 * or the receive timeout expired.  A truncated datagram still returns its
 * stored bytes with UDP_MSG_TRUNC set in m->flags. */
UDPKIT_API int udp_sock_recv(struct udp_sock *s, struct udp_msg *m);

/* Batches: return how many messages were sent/received (>= 1), or an error
 * when none was.  recv_batch blocks (unless non-blocking) for the first
 * datagram only and then takes whatever else is queued, up to n.
 * send_batch uses UDP GSO when it pays (several equal-size datagrams to one
 * peer) and falls back to sendmmsg when the kernel refuses it. */
UDPKIT_API int udp_sock_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
UDPKIT_API int udp_sock_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* Receive-side GRO: the kernel may hand back several equal-size datagrams
 * from one sender as one message (see seg_size), which saves most of the
 * per-datagram cost of a fast receiver.  While it is on, every receive
 * buffer must hold UDP_GRO_MIN_CAP bytes (else UDP_EINVAL), because a
 * coalesced message cut short would lose whole datagrams.  Returns 1 if
 * GRO is now on, 0 if off or the kernel lacks it. */
#define UDP_GRO_MIN_CAP 65536
UDPKIT_API int udp_sock_set_gro(struct udp_sock *s, int on);

/* Turns GSO on or off for send_batch (on by default where the kernel has it).
 * Returns whether it is now in use. */
UDPKIT_API int udp_sock_set_gso(struct udp_sock *s, int on);

/* For path MTU discovery in the layer above (reliable/rel_pmtu.c): DF on
 * every datagram and no local fragmentation to a path MTU the kernel
 * cached (IP(V6)_PMTUDISC_PROBE), so a probe arrives whole or not at all;
 * datagrams above the interface MTU then fail with EMSGSIZE.  Returns 0
 * or UDP_ESYS. */
UDPKIT_API int udp_sock_set_pmtu_probe(struct udp_sock *s);
/* The largest UDP payload the route to a sockaddr takes as the kernel
 * knows it (IP_MTU / IPV6_MTU of a connected socket of its own, less 28 or
 * 48 header bytes), or 0 when unknown. */
UDPKIT_API size_t udp_route_mtu(const void *sockaddr, size_t len);

/* ICMP errors for datagrams this socket sent (IP_RECVERR / IPV6_RECVERR):
 * on, the kernel queues each on the socket's error queue, and poll()
 * reports POLLERR until it is read with udp_sock_recv_error() (a poll loop
 * that does not drain it spins).  Returns 0 or UDP_ESYS. */
UDPKIT_API int udp_sock_set_recverr(struct udp_sock *s, int on);
/* One entry of the error queue.  A "too big" (ICMPv4 fragmentation needed,
 * ICMPv6 packet too big) fills the struct: dest is where the refused
 * datagram went, from the hop that refused it (len 0 if unknown), mtu the
 * MTU it reported, max_payload the UDP payload that fits (mtu - 28, or 48
 * over IPv6), and the start of the refused datagram's UDP payload, as
 * quoted, goes to buf (quoted_len bytes, at most cap).  Returns 1 for a
 * "too big" from the network, 0 for any other entry (taken and dropped:
 * the caller reads on), UDP_EAGAIN when the queue is empty. */
struct udp_ptb {
	struct udp_addr dest;
	struct udp_addr from;
	uint32_t mtu;
	size_t max_payload;
	size_t quoted_len;
};
UDPKIT_API int udp_sock_recv_error(struct udp_sock *s, struct udp_ptb *e, void *buf, size_t cap);

/* ---- Layers: sealing and loss simulation ----
 *
 * A socket can carry sealing (seal/seal_sock.h: seal_sock_attach) and a
 * loss simulator per direction (netsim/netsim_sock.h: netsim_sock_attach).
 * Sending goes caller -> sealing -> outgoing netsim -> kernel, receiving
 * kernel -> incoming netsim -> sealing -> caller, whichever of
 * send/send_batch/recv/recv_batch is used.  The socket reaches them only
 * through ops those modules install, so a program that never calls them
 * links neither, nor libsodium.
 *
 * The environment variables UDPKIT_NETSIM (outgoing) and UDPKIT_NETSIM_IN
 * (incoming) are applied by udp_sock_open*() in every program that links
 * netsim/netsim_sock.c: the tools, and any program that calls a
 * netsim_sock_*() function.  A malformed spec then makes the open fail with
 * its UDP_ENETSIM_* code (netsim_sock_env_check() gives the words).  A
 * static program that never references netsim_sock_*() does not link the
 * simulator: its sockets ignore both variables and always open.  See
 * docs/NETSIM.md, "At the socket".
 *
 * What follows works with or without layers. */

/* The clock the layers run on, in microseconds; NULL restores the default,
 * CLOCK_MONOTONIC.  It must never go backwards.  Returns 0 or UDP_EINVAL. */
UDPKIT_API int udp_sock_set_clock(struct udp_sock *s, uint64_t (*now_us)(void *ctx),
		       void *ctx);
/* The socket's clock now (the default clock when none was set). */
UDPKIT_API uint64_t udp_sock_now(const struct udp_sock *s);
/* The earliest time (socket clock, us) a layer needs a call: a held
 * datagram is due, or (sealing) opened datagrams wait to be received; 0
 * when outgoing datagrams are due already but the kernel had no room for
 * them (wait for POLLOUT, then flush); UINT64_MAX when none (always, on a
 * socket without layers).  A caller polling the descriptor must also
 * honour it. */
UDPKIT_API uint64_t udp_sock_next_due(const struct udp_sock *s);
/* Sends the outgoing datagrams that a layer holds and are due.  Returns
 * how many went (0 without layers), UDP_EAGAIN when the kernel has no room,
 * or the send error (the datagram that caused it is dropped so one bad
 * destination cannot wedge the queue). */
UDPKIT_API int udp_sock_flush(struct udp_sock *s);

/* A capture tap (the tools' --pcap): fn sees every datagram at the
 * kernel's edge, below all layers, so what it sees is what the wire
 * carries: sealed bytes, what the outgoing netsim let through, what
 * arrived before the incoming netsim judged it.  dir is 0 for datagrams
 * the kernel accepted for sending (addr: the destination, len 0 on a
 * connected socket), 1 for datagrams received (addr: the sender; a GRO
 * message carries seg_size).  fn must not do I/O on s.  NULL removes it.
 * Returns 0 or UDP_EINVAL. */
typedef void (*udp_sock_tap_fn)(void *ctx, const struct udp_sock *s, int dir,
				const struct udp_msg *msgs, unsigned n);
UDPKIT_API int udp_sock_set_tap(struct udp_sock *s, udp_sock_tap_fn fn, void *ctx);

/* Without a key (no sealing attached), a datagram that looks sealed
 * (seal_looks_sealed) is dropped and counted, since its bytes mean nothing
 * as plaintext and mixing keyed and keyless peers must fail loudly, not
 * deliver ciphertext as data.  This needs no seal code: it holds in every
 * program.  A relay or capture tool that forwards datagrams opaquely turns
 * it off with udp_sock_set_pass_sealed(). */
/* Keyless socket: datagrams dropped because they looked sealed. */
UDPKIT_API uint64_t udp_sock_sealed_seen(const struct udp_sock *s);
/* Keyless socket: deliver sealed-looking datagrams as data (on), or drop
 * and count them (off, the default). */
UDPKIT_API int udp_sock_set_pass_sealed(struct udp_sock *s, int on);

#ifdef __cplusplus
}
#endif

#endif
