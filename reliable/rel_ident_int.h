/* rel_ident_int.h - the state behind rel_ident.h, shared by rel_ident.c
 * (handshake) and rel_ident_seal.c (SEALED packets), and seen by the
 * tests.  Secrets live only behind the seal_noise pointers (sodium_malloc
 * memory); these structs themselves hold public values and counters. */
#ifndef REL_IDENT_INT_H
#define REL_IDENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rel.h"
#include "rel_ident.h"
#include "seal_noise.h"
#include "seal_replay.h"

/* docs/PROTOCOL.md section 9.2 */
#define RI_SEALED 12           /* packet type */
#define RI_HDR 20              /* magic .. counter: the associated data */
#define RI_OVERHEAD (RI_HDR + SEAL_NOISE_TAG)
#define RI_F_PHASE 0x01
#define RI_AHEAD 3             /* receive keys kept ahead: 2 lost phases */
#define RI_LABEL "udpkit-rel-1" /* prologue prefix (section 9.1) */
#define RI_LABEL_LEN 12
#define RI_PROLOGUE_MAX 256    /* the core's bytes before a Noise message */
#define RI_MSG1_PAYLOAD_MAX 64 /* message 1 carries none today */

struct rel_ident {
	struct seal_noise_secret *priv; /* our static private key */
	struct seal_noise_secret *psk;  /* NULL: Noise_IK */
	uint8_t peer_key[REL_IDENT_KEY];
	int has_peer_key;
	const struct seal_allowed *allowed;
	int (*authorize)(void *arg, const uint8_t key[REL_IDENT_KEY]);
	void *authorize_arg;
	uint64_t rekey_after_pkts, rekey_after_us;
	uint64_t test_seed, test_draws;
	struct rel_ident_stats stats;
};

struct rel_ident_sess {
	struct seal_noise *hs; /* an initiator's, until message 2 */
	int keyed;             /* split done: seal/open work */
	struct seal_noise_cipher *tx, *rx;
	/* The receive key of the phase before rx's, for packets reordered
	 * across a turn; wiped at the next turn. */
	struct seal_noise_cipher *rx_prev;
	/* rx turned over 1, 2 and 3 times: the keys of the peer's next
	 * phases, each made when a packet first needs it (NULL before).  More
	 * than the next one because a phase whose every packet was lost
	 * leaves the sender a turn ahead, under the bit we are on: without
	 * them that session could never open a packet again. */
	struct seal_noise_cipher *rx_ahead[RI_AHEAD];
	uint64_t tx_ctr;        /* the next counter to send */
	uint64_t tx_phase_pkts; /* sealed under the current tx key */
	uint64_t tx_phase_us;   /* when the current tx key began */
	int tx_phase, rx_phase; /* the flag bit of tx / rx */
	struct seal_replay replay;
	struct rel_ident_peer peer;
};

extern const struct rel_crypto_ops rel_ident_ops;

/* The hook's functions (the tests call them directly). */
int rel_ident_hs_init(void *ctx, void **sess, const void *arg, const uint8_t *prologue,
		      size_t plen, uint8_t *out, size_t cap, uint64_t now_us);
int rel_ident_hs_respond(void *ctx, void **sess, const uint8_t *prologue, size_t plen,
			 const uint8_t *msg1, size_t len, const uint8_t *payload, size_t paylen,
			 uint8_t *out, size_t cap, uint64_t now_us);
int rel_ident_hs_finish(void *ctx, void *sess, const uint8_t *msg2, size_t len, uint8_t *out,
			size_t cap, uint64_t now_us);
int rel_ident_seal(void *ctx, void *sess, const uint8_t *pkt, size_t len, uint8_t *out,
		   size_t cap, uint64_t now_us);
int rel_ident_open(void *ctx, void *sess, const uint8_t *in, size_t len, uint8_t *out,
		   size_t cap, uint64_t now_us);
void rel_ident_sess_free(void *ctx, void *sess);

/* A session's peer (rel_ident_peer() minus the core lookup). */
int rel_ident_sess_peer(const struct rel_ident_sess *s, struct rel_ident_peer *out);
/* After a split: the ciphers in place, counters from 0. */
int rel_ident_sess_keyed(struct rel_ident *ri, struct rel_ident_sess *s,
			 struct seal_noise_cipher *tx, struct seal_noise_cipher *rx,
			 uint64_t now_us);

#endif
