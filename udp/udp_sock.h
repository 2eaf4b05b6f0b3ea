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
int udp_sock_open(struct udp_sock **out, int family, int flags);
/* A socket of local's family, bound to local (port 0: the kernel picks). */
int udp_sock_open_bound(struct udp_sock **out, const struct udp_addr *local, int flags);
void udp_sock_free(struct udp_sock *s); /* NULL is a no-op */

int udp_sock_fd(const struct udp_sock *s);
int udp_sock_family(const struct udp_sock *s);
int udp_sock_bind(struct udp_sock *s, const struct udp_addr *local);
int udp_sock_connect(struct udp_sock *s, const struct udp_addr *peer);
int udp_sock_local_addr(const struct udp_sock *s, struct udp_addr *out);

int udp_sock_set_nonblock(struct udp_sock *s, int on);
int udp_sock_set_recv_timeout(struct udp_sock *s, unsigned ms); /* 0: none */
int udp_sock_set_send_timeout(struct udp_sock *s, unsigned ms);
/* Asks for buffer sizes (bytes; 0 leaves one alone); tries the FORCE
 * variants when privileged.  Read back what the kernel granted with get. */
int udp_sock_set_buffers(struct udp_sock *s, int rcvbuf, int sndbuf);
int udp_sock_get_buffers(const struct udp_sock *s, int *rcvbuf, int *sndbuf);
int udp_sock_set_broadcast(struct udp_sock *s, int on);

/* Multicast.  ifname NULL means "the kernel's choice".  The family of the
 * group decides IPv4 or IPv6; an IPv4 group on an IPv6 socket also works. */
int udp_sock_join(struct udp_sock *s, const struct udp_addr *group, const char *ifname);
int udp_sock_leave(struct udp_sock *s, const struct udp_addr *group, const char *ifname);
int udp_sock_set_mcast_ttl(struct udp_sock *s, int ttl); /* hop limit on v6 */
int udp_sock_set_mcast_loop(struct udp_sock *s, int on);
int udp_sock_set_mcast_if(struct udp_sock *s, const char *ifname);
int udp_sock_set_ttl(struct udp_sock *s, int ttl);       /* unicast TTL / hops */

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
int udp_sock_send(struct udp_sock *s, const void *buf, size_t len,
		  const struct udp_addr *to);
/* Returns the bytes stored (m->len); UDP_EAGAIN when non-blocking and empty
 * or the receive timeout expired.  A truncated datagram still returns its
 * stored bytes with UDP_MSG_TRUNC set in m->flags. */
int udp_sock_recv(struct udp_sock *s, struct udp_msg *m);

/* Batches: return how many messages were sent/received (>= 1), or an error
 * when none was.  recv_batch blocks (unless non-blocking) for the first
 * datagram only and then takes whatever else is queued, up to n.
 * send_batch uses UDP GSO when it pays (several equal-size datagrams to one
 * peer) and falls back to sendmmsg when the kernel refuses it. */
int udp_sock_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
int udp_sock_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* Receive-side GRO: the kernel may hand back several equal-size datagrams
 * from one sender as one message (see seg_size), which saves most of the
 * per-datagram cost of a fast receiver.  While it is on, every receive
 * buffer must hold UDP_GRO_MIN_CAP bytes (else UDP_EINVAL), because a
 * coalesced message cut short would lose whole datagrams.  Returns 1 if
 * GRO is now on, 0 if off or the kernel lacks it. */
#define UDP_GRO_MIN_CAP 65536
int udp_sock_set_gro(struct udp_sock *s, int on);

/* Turns GSO on or off for send_batch (on by default where the kernel has it).
 * Returns whether it is now in use. */
int udp_sock_set_gso(struct udp_sock *s, int on);

/* ---- Loss simulation at the send/receive seam (netsim_sock.c) ----
 *
 * A socket can carry a netsim per direction: every datagram sent goes
 * through the outgoing model before it reaches the kernel, and every
 * datagram received goes through the incoming model before the caller sees
 * it, whichever of send/send_batch/recv/recv_batch is used.  See
 * docs/NETSIM.md, "At the socket".
 *
 * udp_sock_open*() attach the models named by the environment variables
 * UDPKIT_NETSIM (outgoing) and UDPKIT_NETSIM_IN (incoming) when set; a
 * malformed spec makes the open fail with its UDP_ENETSIM_* code
 * (udp_sock_netsim_env_check() gives the words).  A spec without `seed`
 * gets a random one (udp_sock_get_netsim() + netsim_seed() shows it).
 *
 * Sending: the datagram is pushed into the model and whatever is due is
 * sent at once.  Dropped, queued or delayed datagrams still count as sent
 * (their length is returned), as on a real network.  Delayed ones go out on
 * a later send or udp_sock_flush().
 * Receiving: what the kernel has is pushed into the model and what is due
 * is handed back; UDP_EAGAIN when nothing is due, even on a blocking socket
 * if datagrams are held back by a delay.  A caller whose models delay must
 * therefore poll() with a timeout from udp_sock_next_due() and call
 * udp_sock_flush() and its receive when it passes.
 * A receive buffer too small still gets UDP_MSG_TRUNC and wire_len as
 * without netsim.  GRO is off while an incoming model is attached (each
 * datagram must be impaired on its own); GSO keeps working for sends.
 * A model that changes nothing (netsim_is_passthrough()) is kept but
 * bypassed: it costs one branch per call and its counters stay zero. */
struct netsim;
struct netsim_counters;

/* Attaches models (NULL: none for that direction), replacing and freeing
 * any attached before (datagrams they still held are dropped).  The socket
 * owns them from this call on, also when it fails.  Returns 0, or
 * UDP_ENOMEM.  Turns GRO off when in impairs; turn it back on with
 * udp_sock_set_gro() after detaching. */
int udp_sock_set_netsim(struct udp_sock *s, struct netsim *out,
			struct netsim *in);
/* The attached models, for netsim_seed()/describe()/counters (NULL:
 * none).  Either pointer may be NULL. */
void udp_sock_get_netsim(const struct udp_sock *s, const struct netsim **out,
			 const struct netsim **in);
/* The clock the models run on, in microseconds; NULL restores the default,
 * CLOCK_MONOTONIC.  It must never go backwards.  Returns 0 or UDP_ENOMEM. */
int udp_sock_set_clock(struct udp_sock *s, uint64_t (*now_us)(void *ctx),
		       void *ctx);
/* The socket's clock now (the default clock when none was set). */
uint64_t udp_sock_now(const struct udp_sock *s);
/* The earliest time (socket clock, us) a held datagram is due, in either
 * direction; 0 when outgoing datagrams are due already but the kernel had no
 * room for them (wait for POLLOUT, then flush); UINT64_MAX when none. */
uint64_t udp_sock_next_due(const struct udp_sock *s);
/* Sends the outgoing datagrams that are due.  Returns how many went,
 * UDP_EAGAIN when the kernel has no room, or the send error (the datagram
 * that caused it is dropped so one bad destination cannot wedge the queue). */
int udp_sock_flush(struct udp_sock *s);
/* Counters of each direction (zeros where no model is attached or it is
 * bypassed as passthrough).  Either pointer may be NULL. */
void udp_sock_netsim_counters(const struct udp_sock *s,
			      struct netsim_counters *out,
			      struct netsim_counters *in);
/* Parses UDPKIT_NETSIM and UDPKIT_NETSIM_IN without opening anything.
 * Returns 0 when both are unset or valid, else the UDP_ENETSIM_* code with
 * one line in err such as "UDPKIT_NETSIM: unknown word 'lose'". */
int udp_sock_netsim_env_check(char *err, size_t errlen);

/* ---- Sealing at the send/receive seam (seal_sock.c) ----
 *
 * With a seal attached (a group key), every datagram sent by any of
 * send/send_batch is sealed (plaintext + SEAL_OVERHEAD bytes on the
 * wire) before the outgoing netsim and the kernel, and every datagram
 * received goes kernel -> incoming netsim -> seal_open().  The caller
 * only ever sees authenticated plaintext with the sender's address: a
 * datagram that fails to open (plaintext, wrong key, forged, corrupt,
 * replayed, ...) is dropped and counted under its reason, never returned,
 * so nothing above the socket can answer it.  Lengths and wire_len the
 * caller sees are plaintext lengths; a plaintext longer than the buffer is
 * truncated with UDP_MSG_TRUNC as usual.  When a receive drops everything
 * it got, a non-blocking socket returns UDP_EAGAIN and a blocking one waits
 * for the next datagram (an SO_RCVTIMEO then starts again).
 * GSO applies to runs of equal-size sealed datagrams and GRO (when turned
 * on) to receives: a coalesced run is opened one datagram at a time and
 * handed out as separate messages (seg_size stays 0), so caller buffers
 * need not be UDP_GRO_MIN_CAP.  Datagrams of a run beyond the caller's n
 * wait in the socket for the next receive; udp_sock_next_due() then says
 * "now", so a caller polling the descriptor must also honour it (or call
 * receive again whenever the last one filled all n).  No allocation per
 * datagram: the scratch areas are allocated on first use and reused.
 *
 * Without a key, a datagram that looks sealed (seal_looks_sealed) is
 * dropped and counted (udp_sock_sealed_seen), since its bytes mean nothing
 * as plaintext and mixing keyed and keyless peers must fail loudly, not
 * deliver ciphertext as data.  A relay or capture tool that forwards
 * datagrams opaquely turns that off with udp_sock_set_pass_sealed(). */
struct seal;
struct seal_stats;

/* Attaches a sealer; the socket owns it from this call on, also when the
 * call fails, and frees it with the socket or the next set.  NULL removes
 * sealing (and its counters).  Returns 0, UDP_EINVAL or UDP_ENOMEM. */
int udp_sock_set_seal(struct udp_sock *s, struct seal *seal);
/* The attached sealer (NULL: none), e.g. for seal_get_key_id(). */
const struct seal *udp_sock_get_seal(const struct udp_sock *s);
/* The sealer's counters (seal_get_stats), with drop_nospace also
 * counting sealed datagrams too large for the socket's scratch (only
 * possible on AF_UNIX).  Zeros without a key.  Returns 1 when a key is
 * attached, 0 when not, UDP_EINVAL. */
int udp_sock_seal_stats(const struct udp_sock *s, struct seal_stats *out);
/* Keyless socket: datagrams dropped because they looked sealed. */
uint64_t udp_sock_sealed_seen(const struct udp_sock *s);
/* Keyless socket: deliver sealed-looking datagrams as data (on), or drop
 * and count them (off, the default). */
int udp_sock_set_pass_sealed(struct udp_sock *s, int on);

#endif
