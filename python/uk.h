/* uk.h - the engine under the Python module: one udpkit "socket" of a kind
 * (plain datagrams, or the reliable core in RDM / SEQPACKET mode) with its
 * UDP socket, driver, peer table and queue of received messages.
 *
 * Plain C, no Python: _udpkit.c calls every uk_* function with the GIL
 * released.  Each struct uk has a mutex; every uk_* function takes it, so
 * several threads may share one socket.  Only one thread at a time waits
 * in poll() on the UDP descriptor (the "poller"); the others wait on a
 * condition variable and are woken whenever the state changes.
 *
 * Timeouts (seconds): < 0 waits without limit, 0 never waits (returns
 * UDP_EAGAIN when it would have to), > 0 waits at most that long
 * (then UK_ETIMEDOUT). */
#ifndef UK_H
#define UK_H

#include <stddef.h>
#include <stdint.h>

#include "udp_addr.h"
#include "udp_err.h"

/* Codes of the module's own, below udpkit's ranges. */
enum {
	UK_ETIMEDOUT = -1000, /* the call's timeout passed */
	UK_ECLOSED = -1001,   /* the socket is closed */
	UK_EDEAD = -1002,     /* a peer went silent: messages were not acknowledged */
	UK_EREFUSED = -1003,  /* no answer to the handshake */
	UK_ENOTCONN = -1004,  /* no peer: send() or getpeername() unconnected */
	UK_EISCONN = -1005,   /* bind() after the socket has its address */
};

enum { UK_DGRAM = 0, UK_RDM = 1, UK_SEQPACKET = 2 };

struct uk_opts {
	int family, kind;          /* AF_INET/AF_INET6/AF_UNIX, UK_* */
	const uint8_t *key;        /* 32 raw bytes, or NULL */
	const char *key_path;      /* key file, or NULL */
	const char *pass;          /* passphrase (passlen bytes), or NULL */
	size_t passlen;
	const char *group;         /* passphrase group (NULL: "udpkit") */
	const char *netsim, *netsim_in; /* tc-netem words, or NULL */
	double session_timeout;    /* silent peer is dead after (s); <= 0: 10 */
	double linger;             /* close(): bounded graceful close (s) */
	/* Identity sessions (uk_ident.c), reliable kinds only: our secret
	 * key as 32 raw bytes or a key file; the server's public key (32
	 * bytes or its 44-character text); the clients let in, from a file
	 * or as allowed-keys text.  A group key given too admits (psk2). */
	const uint8_t *ident;
	const char *ident_path;
	const char *peer_key;
	size_t peer_key_len;
	const char *allowed_path;
	const char *allowed_text;
	size_t allowed_len;
	uint64_t rekey_pkts, rekey_us; /* 0: rel_ident's defaults */
};

static inline int uk_opts_ident(const struct uk_opts *o)
{
	return o->ident || o->ident_path;
}

struct uk;

/* On failure returns a code and writes a line in err. */
int uk_new(struct uk **out, const struct uk_opts *o, char *err, size_t errlen);
/* Frees everything (close first for a graceful end).  No other thread may
 * be inside a uk_* call. */
void uk_free(struct uk *u);

/* Largest message send/sendto accept. */
size_t uk_max_msg(const struct uk *u);
int uk_family(const struct uk *u);

int uk_bind(struct uk *u, const struct udp_addr *a);
int uk_connect(struct uk *u, const struct udp_addr *a, double timeout);
/* to NULL: the connected peer.  Returns 0 once the message is queued
 * (reliable) or sent (datagram). */
int uk_sendto(struct uk *u, const void *buf, size_t len,
	      const struct udp_addr *to, double timeout);

/* A received message; data is malloc'd (free it with uk_msg_free). */
struct uk_msg {
	void *data;
	size_t len;
	uint8_t key[32]; /* identity sessions: the sender's public key ... */
	int has_key;     /* ... when set */
	int rel;   /* data is a core buffer */
	int eof;   /* connected reliable socket: the peer closed; len 0, no data */
	struct udp_addr from;
};
/* cap: room the caller will use (a datagram is read into that much).
 * A connected reliable socket whose peer closed gracefully returns 0 with
 * m->eof set once every message before the close was taken. */
int uk_recvfrom(struct uk *u, struct uk_msg *m, size_t cap, double timeout);
void uk_msg_free(struct uk_msg *m);

/* Waits until everything sent was acknowledged (reliable) or left the
 * loss simulator (datagram).  UK_EDEAD when messages were lost since the
 * last flush (a peer died); *lost then says how many. */
int uk_flush(struct uk *u, double timeout, uint64_t *lost);
/* Flush, graceful close of every session, all within linger; then the
 * descriptors are closed.  Idempotent. */
int uk_close(struct uk *u);

/* The descriptor that is readable when a call may make progress: see
 * the module documentation (an epoll set made on first use). */
int uk_fileno(struct uk *u);
int uk_sockname(struct uk *u, struct udp_addr *a);
int uk_peername(struct uk *u, struct udp_addr *a);
int uk_is_closed(struct uk *u);

/* Counters as name/value pairs; returns how many were written (<= cap). */
struct uk_stat { const char *name; uint64_t value; };
size_t uk_stats(struct uk *u, struct uk_stat *out, size_t cap);

/* Identity sessions: the authenticated public key of the session with a
 * (NULL: the connected peer).  1 and key set, 0 for no session or one
 * without identity (yet), negative on error. */
int uk_peer_key(struct uk *u, const struct udp_addr *a, uint8_t key[32]);
/* 1 when the socket runs identity sessions. */
int uk_has_ident(struct uk *u);
/* A line saying why an identity handshake failed (after UK_EREFUSED). */
void uk_refusal(struct uk *u, char *buf, size_t cap);

/* Words for any code (the module's own and udpkit's). */
const char *uk_strerror(int code);

/* uk_attach.c: the library's seams for sealing and loss simulation, kept
 * in one place (their names change at a merge). */
struct udp_sock;
struct seal_key;
int uk_attach_group_key(struct seal_key **out, const struct uk_opts *o, char *err,
			size_t errlen);
int uk_attach_seal(struct udp_sock *s, const struct uk_opts *o, char *err, size_t errlen);
int uk_attach_netsim(struct udp_sock *s, const struct uk_opts *o, char *err, size_t errlen);
void uk_attach_counters(const struct udp_sock *s, struct uk_stat *out, size_t *n, size_t cap);
int uk_sealed(const struct udp_sock *s);
/* 1 when the outgoing loss simulator holds nothing (or there is none). */
int uk_attach_out_idle(const struct udp_sock *s);
/* 1 when an outgoing loss simulator (that changes something) is attached. */
int uk_attach_has_out(const struct udp_sock *s);

/* uk_ident.c: identity sessions' keys and the rel_ident of a socket. */
struct uk_ident;
struct rel_config;
struct rel_core;
int uk_ident_new(struct uk_ident **out, const struct uk_opts *o, char *err, size_t errlen);
void uk_ident_free(struct uk_ident *id);
void uk_ident_attach(struct uk_ident *id, struct rel_config *cfg);
/* passive: a session the peer started, whose key counts only once an
 * authentic packet came in it (see uk_ident.c). */
int uk_ident_peer_key(const struct rel_core *core, uint32_t peer, int passive, uint8_t key[32]);
void uk_ident_counters(const struct uk_ident *id, struct uk_stat *out, size_t *n, size_t cap);
/* server: the key that connect named (NULL: peer_key=). */
void uk_ident_refusal(struct uk_ident *id, const uint8_t *server, char *buf, size_t cap);
/* 32 raw bytes, or the 44-character text (a trailing newline allowed). */
int uk_ident_parse_pub(uint8_t pub[32], const void *buf, size_t len);
int uk_ident_generate(uint8_t priv[32], uint8_t pub[32]);
/* The public half of a secret key given as bytes (priv) or a file (path). */
int uk_ident_public(const uint8_t *priv, const char *path, uint8_t pub[32], char *err,
		    size_t errlen);
/* The text (cap >= 45) and the fingerprint (cap >= 20) of a public key. */
int uk_ident_text(const uint8_t pub[32], char *text, size_t tcap, char *fpr, size_t fcap);

#endif
