/* seal_noise.h - the Noise IK handshake (optionally IKpsk2), sans-I/O.
 *
 * Protocols: Noise_IK_25519_ChaChaPoly_BLAKE2b, and with a pre-shared key
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b (WireGuard's pattern with BLAKE2b):
 *
 *     <- s
 *     ...
 *     -> e, es, s, ss          message 1: 32 + 48 + payload + 16 bytes
 *     <- e, ee, se [, psk]     message 2: 32 + payload + 16 bytes
 *
 * The initiator knows the responder's static public key beforehand; the
 * responder learns the initiator's from message 1 and decides, after
 * seal_noise_read(), whether it is allowed (seal_noise_remote_static()),
 * and with psk2 which PSK belongs to it (seal_noise_set_psk()).
 *
 * Nothing here touches a socket, a clock or a file: bytes in, bytes out.
 * The caller carries messages, ties them to its own wire format, and must
 * itself guard against replays of message 1 (a timestamp or cookie in its
 * payload, as WireGuard's TAI64N): a replayed message 1 makes a responder
 * answer again, though without the initiator's ephemeral key the answer
 * yields no usable session.
 *
 * Memory: every secret lives in sodium_malloc memory and is wiped by the
 * _free functions.  A failed seal_noise_read() leaves the state as it was
 * (the message is processed on a scratch copy), so a forged message 2 does
 * not kill an initiator's pending handshake; it can simply read the next.
 *
 * Every function returns 0 or a count on success, a negative udp_err code
 * on failure (UDP_ESEAL_HS_* for the handshake's own failures). */
#ifndef SEAL_NOISE_H
#define SEAL_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_NOISE_KEY 32    /* X25519 keys, PSK, cipher keys */
#define SEAL_NOISE_HASH 64   /* BLAKE2b HASHLEN: handshake hash size */
#define SEAL_NOISE_TAG 16    /* Poly1305 tag */
#define SEAL_NOISE_MSG_MAX 65535 /* Noise's limit on any message */
/* Message sizes without payload. */
#define SEAL_NOISE_MSG1_OVERHEAD (SEAL_NOISE_KEY + SEAL_NOISE_KEY + SEAL_NOISE_TAG + SEAL_NOISE_TAG)
#define SEAL_NOISE_MSG2_OVERHEAD (SEAL_NOISE_KEY + SEAL_NOISE_TAG)
/* Largest payload a transport message can carry. */
#define SEAL_NOISE_PAYLOAD_MAX (SEAL_NOISE_MSG_MAX - SEAL_NOISE_TAG)

enum seal_noise_role {
	SEAL_NOISE_INITIATOR = 1,
	SEAL_NOISE_RESPONDER = 2,
};

struct seal_noise_config {
	enum seal_noise_role role;
	/* Our static X25519 private key (32 bytes); required.  Copied. */
	const uint8_t *static_priv;
	/* Initiator: the responder's static public key (required).
	 * Responder: must be NULL (it arrives in message 1). */
	const uint8_t *remote_static;
	/* NULL: Noise_IK.  32 bytes: Noise_IKpsk2 with this PSK. */
	const uint8_t *psk;
	/* Noise_IKpsk2 with the PSK given later by seal_noise_set_psk()
	 * (a responder picks it per initiator after message 1). */
	int psk_later;
	/* Bound into the handshake hash; both sides must give the same. */
	const uint8_t *prologue;
	size_t prologue_len;
	/* TESTS ONLY: a fixed ephemeral private key.  NULL (the default)
	 * draws a fresh one from the system's generator, as it must be. */
	const uint8_t *test_ephemeral;
};

struct seal_noise;        /* a handshake in progress (HandshakeState) */
struct seal_noise_cipher; /* one direction of a session (CipherState) */

void seal_noise_config_default(struct seal_noise_config *cfg);
int seal_noise_new(struct seal_noise **out, const struct seal_noise_config *cfg);
void seal_noise_free(struct seal_noise *hs);

/* Writes the next handshake message (1 for an initiator, 2 for a
 * responder) carrying `payload` (encrypted; may be NULL when plen is 0)
 * into out; returns its length.  UDP_ENOSPACE when cap is too small,
 * UDP_ESEAL_HS_STATE when it is not this side's turn. */
int seal_noise_write(struct seal_noise *hs, const uint8_t *payload, size_t plen,
		     uint8_t *out, size_t cap);
/* Reads the next handshake message (1 for a responder, 2 for an
 * initiator); returns the payload length, the payload in out.  On any
 * failure the state is unchanged and out holds nothing. */
int seal_noise_read(struct seal_noise *hs, const uint8_t *msg, size_t len,
		    uint8_t *out, size_t cap);

/* The peer's static public key: the initiator's one once a responder has
 * read message 1 (check it against the allowed keys before answering). */
int seal_noise_remote_static(const struct seal_noise *hs, uint8_t out[SEAL_NOISE_KEY]);
/* The PSK of a psk_later handshake: before writing (responder) or reading
 * (initiator) message 2.  Copied. */
int seal_noise_set_psk(struct seal_noise *hs, const uint8_t psk[SEAL_NOISE_KEY]);
/* 1 when both messages are done, else 0. */
int seal_noise_done(const struct seal_noise *hs);
/* The handshake hash h (64 bytes) once done: equal on both sides, unique
 * to this handshake, so it can bind a channel (sign it, or feed it to a
 * later check).  It is not secret but must not be mistaken for a key. */
int seal_noise_handshake_hash(const struct seal_noise *hs, uint8_t out[SEAL_NOISE_HASH]);
/* Split: the two transport ciphers, already oriented for this side
 * (send = initiator's c1 on the initiator, c2 on the responder).  Only
 * once done; may be called once.  The caller frees both. */
int seal_noise_split(struct seal_noise *hs, struct seal_noise_cipher **send,
		     struct seal_noise_cipher **recv);

/* Transport.  The nonce is explicit: the caller's counter, so a replay
 * window above can accept out-of-order datagrams.  Never encrypt twice
 * with one nonce; rejecting a nonce already received is the caller's job
 * (seal_replay), this layer only proves the bytes came from the peer
 * under that nonce.  2^64-1 is reserved (UDP_ESEAL_COUNTER).
 * encrypt returns len + 16; decrypt returns the plaintext length, or
 * UDP_ESEAL_AUTH with out wiped (never partial plaintext).  out may not
 * overlap in. */
int seal_noise_encrypt(const struct seal_noise_cipher *c, uint64_t nonce,
		       const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap);
int seal_noise_decrypt(const struct seal_noise_cipher *c, uint64_t nonce,
		       const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap);
/* Noise's Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zeros).
 * Both sides must rekey at the same point of their message stream. */
int seal_noise_rekey(struct seal_noise_cipher *c);
void seal_noise_cipher_free(struct seal_noise_cipher *c);
/* A second cipher with the same key, for trying the next key phase on a
 * copy (seal_noise_rekey() it, decrypt, keep whichever authenticated).
 * Freed with seal_noise_cipher_free(). */
int seal_noise_cipher_clone(struct seal_noise_cipher **out, const struct seal_noise_cipher *c);

/* Key bytes a caller outside seal/ keeps across handshakes (a static
 * private key, a PSK): a copy in sodium_malloc memory, read-only, wiped by
 * seal_noise_secret_free(), so no secret sits in plain heap memory. */
struct seal_noise_secret;
int seal_noise_secret_new(struct seal_noise_secret **out, const uint8_t key[SEAL_NOISE_KEY]);
/* The SEAL_NOISE_KEY bytes, valid until seal_noise_secret_free(). */
const uint8_t *seal_noise_secret_get(const struct seal_noise_secret *s);
void seal_noise_secret_free(struct seal_noise_secret *s);

/* X25519 public key of a private key (crypto_scalarmult_base). */
int seal_noise_public(uint8_t pub[SEAL_NOISE_KEY], const uint8_t priv[SEAL_NOISE_KEY]);

#endif
