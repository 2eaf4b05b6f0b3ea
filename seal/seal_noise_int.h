/* seal_noise_int.h - Noise's CipherState and SymmetricState, shared by
 * seal_noise.c (HandshakeState, transport) and seal_noise_sym.c.  Not a
 * public header: the structs hold secrets and live only inside
 * sodium_malloc'ed handshake states. */
#ifndef SEAL_NOISE_INT_H
#define SEAL_NOISE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "seal_noise.h"

/* CipherState: a key (once set) and the next nonce. */
struct seal_noise_cs {
	uint8_t k[SEAL_NOISE_KEY];
	uint64_t n;
	int has_k;
};

/* SymmetricState: chaining key ck, handshake hash h and a CipherState. */
struct seal_noise_sym {
	struct seal_noise_cs cs;
	uint8_t ck[SEAL_NOISE_HASH];
	uint8_t h[SEAL_NOISE_HASH];
};

/* ChaCha20-Poly1305 with Noise's nonce: 4 zero bytes, then n as 64-bit
 * little endian.  encrypt writes len + 16 bytes; decrypt writes len - 16
 * bytes or nothing (wiped) and returns UDP_ESEAL_AUTH. */
int seal_noise_aead_encrypt(const uint8_t k[SEAL_NOISE_KEY], uint64_t n,
			    const uint8_t *ad, size_t adlen,
			    const uint8_t *in, size_t len, uint8_t *out);
int seal_noise_aead_decrypt(const uint8_t k[SEAL_NOISE_KEY], uint64_t n,
			    const uint8_t *ad, size_t adlen,
			    const uint8_t *in, size_t len, uint8_t *out);

/* HKDF(ck, ikm) of the Noise spec with HMAC-BLAKE2b; o3 may be NULL
 * (two outputs).  Each output is SEAL_NOISE_HASH bytes. */
void seal_noise_hkdf(const uint8_t ck[SEAL_NOISE_HASH], const uint8_t *ikm, size_t ikmlen,
		     uint8_t o1[SEAL_NOISE_HASH], uint8_t o2[SEAL_NOISE_HASH],
		     uint8_t *o3);

void seal_noise_sym_init(struct seal_noise_sym *ss, const char *protocol_name);
void seal_noise_sym_mix_hash(struct seal_noise_sym *ss, const uint8_t *data, size_t len);
void seal_noise_sym_mix_key(struct seal_noise_sym *ss, const uint8_t *ikm, size_t len);
void seal_noise_sym_mix_key_and_hash(struct seal_noise_sym *ss, const uint8_t *ikm, size_t len);
/* Write len (+ 16 once a key is set) bytes to out; return that count or
 * a negative code.  decrypt fails with UDP_ESEAL_HS_AUTH, out wiped. */
int seal_noise_sym_encrypt_and_hash(struct seal_noise_sym *ss, const uint8_t *in, size_t len,
				    uint8_t *out);
int seal_noise_sym_decrypt_and_hash(struct seal_noise_sym *ss, const uint8_t *in, size_t len,
				    uint8_t *out);
/* Split: the two transport keys (first 32 bytes of HKDF(ck, "")). */
void seal_noise_sym_split(const struct seal_noise_sym *ss, uint8_t k1[SEAL_NOISE_KEY],
			  uint8_t k2[SEAL_NOISE_KEY]);

#endif
