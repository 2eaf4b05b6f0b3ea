/* udp_sock_struct.h - the socket itself, shared by the two files of udp/
 * that implement it: udp_sock.c (system calls, I/O) and udp_sock_layer.c
 * (the layer slots and what every socket has whatever its layers).  Layers
 * in other folders see only udp_sock_int.h's functions. */
#ifndef UDP_SOCK_STRUCT_H
#define UDP_SOCK_STRUCT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "udp_sock.h"
#include "udp_sock_int.h"

struct udp_sock_layer {
	const struct udp_sock_layer_ops *ops;
	void *state;
	unsigned char out, in; /* in that direction's path */
};

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
	struct udp_sock_layer layer[UDP_SOCK_LAYERS];
	/* Summaries of the slots for the hot path (see udp_sock_int.h):
	 * in_single keeps GRO off, in_authed skips the keyless drop. */
	unsigned char in_single, in_authed;
	/* Without a key, datagrams that look sealed are dropped and counted in
	 * sealed_seen unless pass_sealed (relays).  nonblock mirrors O_NONBLOCK
	 * so a receive whose datagrams were all dropped knows whether to wait
	 * for the next one without asking the kernel. */
	unsigned char pass_sealed, nonblock;
	uint64_t sealed_seen;
	uint64_t (*now_us)(void *ctx); /* NULL: CLOCK_MONOTONIC */
	udp_sock_tap_fn tap;           /* NULL: no capture */
	void *tap_ctx;
	void *clock_ctx;
};

/* Hooks of the layers whose objects are linked (udp_sock_layer_on_open). */
extern int (*udp_sock_open_hook[UDP_SOCK_LAYERS])(struct udp_sock *s);

/* The keyless drop: removes from msgs[0..n) what looks sealed, counting it
 * in sealed_seen, and returns how many remain, moved to the front. */
unsigned udp_sock_keyless_filter(struct udp_sock *s, struct udp_msg *msgs,
				 unsigned n);

#endif
