/* udp_sock_int.h - the seam where other folders put layers on a socket.
 * It lives in udp/internal/ so that make install, which copies udp's own
 * headers, leaves it out: it is not for callers of the library.
 *
 * udp/ knows no layer by name: a socket holds a fixed stack of slots and
 * calls whatever ops a module installed there, so a program that never
 * seals or simulates links neither (nor libsodium).  Each slot says per
 * direction whether it is in the path; the I/O calls test one byte per slot
 * and a socket without layers goes straight to the kernel. */
#ifndef UDP_SOCK_INT_H
#define UDP_SOCK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "udp_sock.h"

/* The slots, top first.  Sending goes down them in this order, receiving
 * comes up in reverse: sealing sits above the simulator so a simulated
 * network carries and damages sealed bytes as a real one would. */
enum udp_sock_level {
	UDP_SOCK_LAYER_SEAL,   /* seal/seal_sock.c */
	UDP_SOCK_LAYER_NETSIM, /* netsim/netsim_sock.c */
	UDP_SOCK_LAYERS
};

/* What a layer does to the datagrams that pass it.  Arguments are checked
 * by udp_sock.c before they arrive; st is the state the layer installed.
 * A layer reaches the wire through udp_sock_layer_*() with the level below
 * its own, the lowest may use the udp_sock_sys_*() kernel halves. */
struct udp_sock_layer_ops {
	int (*send)(struct udp_sock *s, void *st, const void *buf, size_t len,
		    const struct udp_addr *to);
	int (*send_batch)(struct udp_sock *s, void *st, struct udp_msg *msgs,
			  unsigned n);
	int (*recv_batch)(struct udp_sock *s, void *st, struct udp_msg *msgs,
			  unsigned n);
	/* Socket-clock time the layer next needs a call (as udp_sock_next_due);
	 * NULL when it never holds datagrams back. */
	uint64_t (*next_due)(const struct udp_sock *s, const void *st);
	/* Sends what the layer holds that is due (as udp_sock_flush); may be NULL. */
	int (*flush)(struct udp_sock *s, void *st);
	void (*free)(void *st);
	/* Incoming datagrams must reach the layer one each: GRO stays off
	 * while the layer receives. */
	unsigned char one_by_one;
	/* Only authenticated datagrams come out of the layer: the keyless
	 * "looks sealed" drop does not apply above it, and caller buffers need
	 * not hold a GRO run. */
	unsigned char authenticates;
};

/* Installs state with its ops in slot level, and whether the slot is in
 * the send (out) and receive (in) paths.  A different state there before is
 * freed with its own ops; ops NULL empties the slot.  The socket frees the
 * state with udp_sock_free().  Returns 0 or UDP_EINVAL. */
int udp_sock_layer_set(struct udp_sock *s, unsigned level,
		       const struct udp_sock_layer_ops *ops, void *state,
		       int out, int in);
/* The state in slot level (NULL: empty). */
void *udp_sock_layer_get(const struct udp_sock *s, unsigned level);

/* A layer that wants every new socket (the netsim's environment variables)
 * registers here, normally from a constructor, so it runs exactly when the
 * layer's object is linked.  udp_sock_open*() call the hooks top first; a
 * hook's error fails the open.  Returns 0 or UDP_EINVAL. */
int udp_sock_layer_on_open(unsigned level, int (*hook)(struct udp_sock *s));

/* The path below a layer: the next slot from level down that is in that
 * direction, else the kernel. */
int udp_sock_layer_send(struct udp_sock *s, unsigned level, const void *buf,
			size_t len, const struct udp_addr *to);
int udp_sock_layer_send_batch(struct udp_sock *s, unsigned level,
			      struct udp_msg *msgs, unsigned n);
int udp_sock_layer_recv_batch(struct udp_sock *s, unsigned level,
			      struct udp_msg *msgs, unsigned n);

/* The kernel halves.  sys_recv takes MSG_* flags (the netsim drains with
 * MSG_DONTWAIT). */
int udp_sock_sys_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
int udp_sock_sys_recv(struct udp_sock *s, struct udp_msg *m, int flags);
int udp_sock_sys_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* Whether the socket is O_NONBLOCK, so a layer that dropped every datagram
 * it got knows whether to wait for the next one without asking the kernel. */
int udp_sock_nonblocking(const struct udp_sock *s);

/* The sealed header's first bytes as the keyless drop recognises them
 * (seal.h's SEAL_MAGIC, SEAL_VERSION, SEAL_OVERHEAD; seal_sock.c checks at
 * compile time that the two agree), so the drop needs no seal code. */
#define UDP_SOCK_SEALED_MAGIC 0xC553
#define UDP_SOCK_SEALED_VERSION 1
#define UDP_SOCK_SEALED_MIN 48

#endif
