/* udp_sock_int.h - what udp_sock.c and netsim_sock.c share.  It lives
 * in udp/internal/ so that make install, which copies udp's own headers,
 * leaves it out: it is not for callers of the library.
 *
 * udp_sock.c makes the system calls; netsim_sock.c puts the loss
 * simulator in front of them.  The I/O functions of udp_sock.c test one
 * byte (sim_out or sim_in) and take the netsim path only when that
 * direction really impairs, so a socket without netsim, or with a
 * passthrough spec, pays one predictable branch per call. */
#ifndef UDP_SOCK_INT_H
#define UDP_SOCK_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "udp_sock.h"

struct udp_sock_sim;
struct udp_sock_sealer;

struct udp_sock {
	int fd;
	int family;
	int gso;            /* use UDP_SEGMENT in send_batch */
	int gso_ok;         /* a GSO send has worked on this socket */
	int gso_refusals;   /* refusals before any success */
	int gro;            /* UDP_GRO is on: receives carry a segment size */
	size_t gso_bad_seg; /* smallest segment size the kernel refused (0: none) */
	/* A filesystem unix path this socket bound, unlinked by free only if the
	 * inode there is still ours (another process may have re-bound it). */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	dev_t path_dev;
	ino_t path_ino;
	/* Netsim state (NULL until a netsim or a clock is set), and whether each
	 * direction goes through it. */
	struct udp_sock_sim *sim;
	unsigned char sim_out, sim_in;
	/* Sealing state (NULL without a key); seal_on tests one byte on the hot
	 * path.  Without a key, datagrams that look sealed are dropped and
	 * counted in sealed_seen unless pass_sealed (relays).  nonblock mirrors
	 * O_NONBLOCK so a receive whose datagrams were all dropped knows whether
	 * to wait for the next one without asking the kernel. */
	struct udp_sock_sealer *sealer;
	unsigned char seal_on, pass_sealed, nonblock;
	uint64_t sealed_seen;
};

/* The kernel halves of the I/O calls, which the netsim path uses to reach the
 * wire.  Arguments are already checked.  sys_recv takes MSG_* flags (the
 * netsim path drains with MSG_DONTWAIT). */
int udp_sock_sys_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
int udp_sock_sys_recv(struct udp_sock *s, struct udp_msg *m, int flags);
int udp_sock_sys_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* The wire halves below sealing: netsim when that direction impairs, else
 * the kernel.  Sealing (seal_sock.c) sits above them, so the simulated
 * network carries sealed bytes. */
int udp_sock_wire_send(struct udp_sock *s, const void *buf, size_t len,
		       const struct udp_addr *to);
int udp_sock_wire_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
int udp_sock_wire_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* netsim_sock.c: applies UDPKIT_NETSIM / UDPKIT_NETSIM_IN to a socket
 * being opened (0, or the UDP_ENETSIM_* / UDP_ENOMEM code), and frees the
 * netsim state with the socket. */
int udp_sock_sim_env(struct udp_sock *s);
void udp_sock_sim_free(struct udp_sock *s);
int udp_sock_sim_send(struct udp_sock *s, const void *buf, size_t len,
		      const struct udp_addr *to);
int udp_sock_sim_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
int udp_sock_sim_recv(struct udp_sock *s, struct udp_msg *m);
int udp_sock_sim_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* seal_sock.c: the sealed send/receive paths (taken when seal_on), the
 * keyless filter (returns how many of msgs[0..n) remain, moved to the
 * front), and freeing the state with the socket. */
int udp_sock_seal_send(struct udp_sock *s, const void *buf, size_t len,
		       const struct udp_addr *to);
int udp_sock_seal_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
int udp_sock_seal_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
unsigned udp_sock_keyless_filter(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
void udp_sock_seal_free_state(struct udp_sock *s);
/* Sealed datagrams received but not yet handed out (a GRO run longer than
 * the caller's batch): udp_sock_next_due() reports them as due now. */
int udp_sock_seal_pending(const struct udp_sock *s);

#endif
