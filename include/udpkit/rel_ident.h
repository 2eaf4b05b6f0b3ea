/* rel_ident.h - identity sessions for the reliable core: the crypto hook
 * (rel_crypto_ops) backed by Noise_IK_25519_ChaChaPoly_BLAKE2b, or
 * Noise_IKpsk2 when a group key is given as admission.
 *
 * Every session gets fresh keys from ephemeral X25519 keys (forward
 * secrecy: the static keys do not open a recording), the server learns
 * the client's public key and checks it against an allowed list (or asks
 * the application), the client refuses a server that cannot prove the
 * public key it expects.  Keys turn over (Noise Rekey, flagged by a key
 * phase bit) after rekey_after_pkts packets or rekey_after_us; the replay
 * window holds 8128 counters and moves only on authentic packets.  Wire
 * layout: docs/PROTOCOL.md section 9; threat model: docs/SEALING.md.
 *
 *     struct rel_ident *ri;
 *     struct rel_ident_config ic;
 *     rel_ident_config_default(&ic);
 *     ic.static_priv = seal_ident_private(me);
 *     ic.peer_key = server_pub;                   (a client)
 *     ic.allowed = allowed;                       (a server)
 *     rel_ident_new(&ri, &ic);
 *     rel_ident_attach(ri, &rel_cfg);             before rel_core_new()
 *
 * Ownership: rel_ident_new() copies the keys; `allowed` is borrowed and
 * must outlive ri, and ri must outlive every core it is attached to.  A
 * rel_ident is used from its cores' thread(s): one lock if shared. */
#ifndef REL_IDENT_H
#define REL_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "rel.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REL_IDENT_KEY 32
#define REL_IDENT_NAME_MAX 64

struct seal_allowed; /* seal_ident.h */

struct rel_ident_config {
	/* Our static X25519 private key, 32 bytes (seal_ident_private());
	 * required.  Copied. */
	const uint8_t *static_priv;
	/* Client: the server's public key when rel_connect_ex() names none.
	 * NULL: every connect must name one.  Copied. */
	const uint8_t *peer_key;
	/* Server: the clients allowed in, with their names (borrowed).  NULL
	 * with authorize NULL: any client that proves some key is let in
	 * (the application reads it with rel_ident_peer()). */
	const struct seal_allowed *allowed;
	/* Server: asked after `allowed` (when set, for keys on the list
	 * only): return 0 to let the key in, negative to refuse. */
	int (*authorize)(void *arg, const uint8_t key[REL_IDENT_KEY]);
	void *authorize_arg;
	/* 32 bytes: a group key's admission secret (Noise_IKpsk2): both
	 * ends must hold it.  NULL: Noise_IK.  Copied. */
	const uint8_t *psk;
	uint64_t rekey_after_pkts;  /* new send key after this many, 2^30 */
	uint64_t rekey_after_us;    /* ... or this long, 120 s */
	/* TESTS ONLY: non-zero makes ephemeral keys reproducible. */
	uint64_t test_seed;
};

struct rel_ident;

UDPKIT_API void rel_ident_config_default(struct rel_ident_config *cfg);
UDPKIT_API int rel_ident_new(struct rel_ident **out, const struct rel_ident_config *cfg);
UDPKIT_API void rel_ident_free(struct rel_ident *ri);
/* Points cfg->crypto and cfg->crypto_ctx at ri. */
UDPKIT_API void rel_ident_attach(struct rel_ident *ri, struct rel_config *cfg);

/* Who a session's peer is, once its handshake is done. */
struct rel_ident_peer {
	uint8_t key[REL_IDENT_KEY];        /* its static public key */
	char name[REL_IDENT_NAME_MAX + 1]; /* from the allowed list, "" if none */
	uint64_t rekeys_sent, rekeys_recv; /* key phases turned over */
};
/* REL_ENOPEER for no such peer, REL_ENOTCONN before the handshake is done. */
UDPKIT_API int rel_ident_peer(const struct rel_core *core, uint32_t peer,
			      struct rel_ident_peer *out);

struct rel_ident_stats {
	uint64_t handshakes;        /* sessions keyed (both roles) */
	uint64_t refused_unknown;   /* clients whose key is not allowed */
	uint64_t refused_auth;      /* handshake messages that failed (wrong
				     * server key, wrong PSK, forged) */
	uint64_t drop_auth;         /* sealed packets that failed authentication */
	uint64_t drop_replay;       /* ... replayed or below the window */
	uint64_t rekeys;            /* key phases turned over, both directions */
};
UDPKIT_API void rel_ident_get_stats(const struct rel_ident *ri, struct rel_ident_stats *out);

#ifdef __cplusplus
}
#endif

#endif
