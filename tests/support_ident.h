/* support_ident.h - fixtures of the rel_ident tests (test_rel_ident.c:
 * handshake and admission; test_rel_ident_sealed.c: SEALED packets, key
 * phases, forward secrecy): identity keys, contexts, and a client and a
 * server passing the core's bytes between them by hand.  Failures are
 * cmocka assertions. */
#ifndef SUPPORT_IDENT_H
#define SUPPORT_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "rel_ident.h"
#include "seal_ident.h"

#define SID_CSID 0x11111111u /* the client's session id */
#define SID_SSID 0x22222222u /* the server's */

struct sid_key {
	struct seal_ident *id;
	const uint8_t *priv, *pub;
};

struct sid_key sid_key_new(void);
/* A one-line allowed list: k's public key with name. */
struct seal_allowed *sid_allowed_of(const struct sid_key *k, const char *name);

struct sid_ctx_opts {
	const uint8_t *peer_key;
	const struct seal_allowed *allowed;
	const uint8_t *psk;
	int (*authorize)(void *, const uint8_t *);
	void *authorize_arg;
	uint64_t rekey_pkts, rekey_us; /* 0: the default */
};

struct rel_ident *sid_ctx_new(const struct sid_key *me, const struct sid_ctx_opts *o);

/* What the core hands over: the CONNECT's bytes before message 1 and the
 * ACCEPT's before message 2 (their exact contents do not matter here,
 * only that both ends see the same). */
extern const uint8_t SID_PROLOGUE[40];
extern const uint8_t SID_ACCEPT[28];

struct sid_hs {
	uint8_t m1[256], m2[256], pl[64];
	int n1, n2, npl;
	struct rel_ident_sess *c, *s; /* the client's and the server's */
	int rc_respond, rc_finish;
};

/* One handshake at t = 1000 us (arg: rel_connect_ex's, the server key);
 * stops at the first failure (recorded in the result). */
struct sid_hs sid_handshake_arg(struct rel_ident *cli, struct rel_ident *srv, const void *arg);
struct sid_hs sid_handshake(struct rel_ident *cli, struct rel_ident *srv);
void sid_hs_free(struct rel_ident *cli, struct rel_ident *srv, struct sid_hs *h);

/* A plaintext packet as rel_wire would make it (only the header counts
 * for sealing): from the client (dst = server) or from the server. */
size_t sid_inner(uint8_t *p, int from_client, uint8_t tag, size_t len);
/* The counter of a SEALED packet. */
uint64_t sid_counter_of(const uint8_t *sealed);
struct rel_ident_stats sid_stats(const struct rel_ident *ri);

/* A client and a server context with a finished handshake. */
struct sid_pair {
	struct sid_key ck, sk;
	struct rel_ident *cli, *srv;
	struct sid_hs h;
	uint8_t psk[32];
};

void sid_pair_new(struct sid_pair *p, uint64_t rekey_pkts, uint64_t rekey_us, int psk);
void sid_pair_free(struct sid_pair *p);
/* Client -> server, one 64-byte packet sealed at now_us into out; its
 * length. */
size_t sid_c2s(struct sid_pair *p, uint8_t tag, uint8_t *out, size_t cap, uint64_t now_us);
/* The server opens it: rel_ident_open's result. */
int sid_s_open(struct sid_pair *p, const uint8_t *in, size_t len);

#endif
