/* seal_noise_sym.c - the Noise spec's CipherState and SymmetricState for
 * ChaChaPoly and BLAKE2b (HASHLEN 64, BLOCKLEN 128), on libsodium.  See
 * seal_noise_int.h; every name follows the spec's section 5. */
#include <string.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_noise_int.h"

#define BLOCKLEN 128

static void nonce_bytes(uint8_t npub[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint64_t n)
{
	memset(npub, 0, 4);
	for (int i = 0; i < 8; i++)
		npub[4 + i] = (uint8_t)(n >> (8 * i));
}

int seal_noise_aead_encrypt(const uint8_t k[SEAL_NOISE_KEY], uint64_t n,
			    const uint8_t *ad, size_t adlen,
			    const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t npub[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	nonce_bytes(npub, n);
	unsigned long long clen = 0;
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, len, ad, adlen,
						      NULL, npub, k) != 0)
		return UDP_EINVAL;
	return 0;
}

int seal_noise_aead_decrypt(const uint8_t k[SEAL_NOISE_KEY], uint64_t n,
			    const uint8_t *ad, size_t adlen,
			    const uint8_t *in, size_t len, uint8_t *out)
{
	if (len < SEAL_NOISE_TAG)
		return UDP_ESEAL_AUTH;
	uint8_t npub[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	nonce_bytes(npub, n);
	unsigned long long mlen = 0;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, len, ad, adlen,
						      npub, k) != 0) {
		/* libsodium checks the tag before decrypting; wiping again
		 * keeps "never partial plaintext" true whatever it does. */
		sodium_memzero(out, len - SEAL_NOISE_TAG);
		return UDP_ESEAL_AUTH;
	}
	return 0;
}

static void b2_update(crypto_generichash_blake2b_state *st, const uint8_t *d, size_t len)
{
	if (len) /* never hand a NULL pointer on, even with length 0 */
		crypto_generichash_blake2b_update(st, d, len);
}

/* HMAC-BLAKE2b(key, d1 || d2) with key <= HASHLEN, per RFC 2104 as the
 * Noise spec defines it (libsodium's keyed BLAKE2b is a different MAC and
 * would not match other implementations). */
static void hmac(uint8_t out[SEAL_NOISE_HASH], const uint8_t *key, size_t klen,
		 const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2)
{
	uint8_t pad[BLOCKLEN];
	uint8_t inner[SEAL_NOISE_HASH];
	crypto_generichash_blake2b_state st;

	memset(pad, 0, sizeof pad);
	memcpy(pad, key, klen);
	for (size_t i = 0; i < BLOCKLEN; i++)
		pad[i] ^= 0x36;
	crypto_generichash_blake2b_init(&st, NULL, 0, SEAL_NOISE_HASH);
	b2_update(&st, pad, sizeof pad);
	b2_update(&st, d1, l1);
	b2_update(&st, d2, l2);
	crypto_generichash_blake2b_final(&st, inner, sizeof inner);

	for (size_t i = 0; i < BLOCKLEN; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_blake2b_init(&st, NULL, 0, SEAL_NOISE_HASH);
	b2_update(&st, pad, sizeof pad);
	b2_update(&st, inner, sizeof inner);
	crypto_generichash_blake2b_final(&st, out, SEAL_NOISE_HASH);

	sodium_memzero(pad, sizeof pad);
	sodium_memzero(inner, sizeof inner);
	sodium_memzero(&st, sizeof st);
}

void seal_noise_hkdf(const uint8_t ck[SEAL_NOISE_HASH], const uint8_t *ikm, size_t ikmlen,
		     uint8_t o1[SEAL_NOISE_HASH], uint8_t o2[SEAL_NOISE_HASH], uint8_t *o3)
{
	uint8_t temp[SEAL_NOISE_HASH];
	const uint8_t one = 1, two = 2, three = 3;
	/* Outputs may alias ck (MixKey overwrites it), so ck is read first. */
	hmac(temp, ck, SEAL_NOISE_HASH, ikm, ikmlen, NULL, 0);
	hmac(o1, temp, sizeof temp, &one, 1, NULL, 0);
	hmac(o2, temp, sizeof temp, o1, SEAL_NOISE_HASH, &two, 1);
	if (o3)
		hmac(o3, temp, sizeof temp, o2, SEAL_NOISE_HASH, &three, 1);
	sodium_memzero(temp, sizeof temp);
}

static void cs_init(struct seal_noise_cs *cs, const uint8_t *k)
{
	if (k) {
		memcpy(cs->k, k, SEAL_NOISE_KEY);
		cs->has_k = 1;
	} else {
		sodium_memzero(cs->k, sizeof cs->k);
		cs->has_k = 0;
	}
	cs->n = 0;
}

void seal_noise_sym_init(struct seal_noise_sym *ss, const char *protocol_name)
{
	size_t len = strlen(protocol_name);
	/* Names up to HASHLEN are used as h directly, zero padded; longer
	 * ones are hashed.  Ours (33 and 37 bytes) are padded. */
	memset(ss->h, 0, sizeof ss->h);
	if (len <= SEAL_NOISE_HASH)
		memcpy(ss->h, protocol_name, len);
	else
		crypto_generichash_blake2b(ss->h, sizeof ss->h, (const uint8_t *)protocol_name,
					   len, NULL, 0);
	memcpy(ss->ck, ss->h, sizeof ss->ck);
	cs_init(&ss->cs, NULL);
}

void seal_noise_sym_mix_hash(struct seal_noise_sym *ss, const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;
	crypto_generichash_blake2b_init(&st, NULL, 0, SEAL_NOISE_HASH);
	b2_update(&st, ss->h, sizeof ss->h);
	b2_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, ss->h, sizeof ss->h);
}

void seal_noise_sym_mix_key(struct seal_noise_sym *ss, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[SEAL_NOISE_HASH];
	seal_noise_hkdf(ss->ck, ikm, len, ss->ck, temp_k, NULL);
	cs_init(&ss->cs, temp_k); /* HASHLEN 64: the key is the first 32 */
	sodium_memzero(temp_k, sizeof temp_k);
}

void seal_noise_sym_mix_key_and_hash(struct seal_noise_sym *ss, const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[SEAL_NOISE_HASH], temp_k[SEAL_NOISE_HASH];
	seal_noise_hkdf(ss->ck, ikm, len, ss->ck, temp_h, temp_k);
	seal_noise_sym_mix_hash(ss, temp_h, sizeof temp_h);
	cs_init(&ss->cs, temp_k);
	sodium_memzero(temp_h, sizeof temp_h);
	sodium_memzero(temp_k, sizeof temp_k);
}

int seal_noise_sym_encrypt_and_hash(struct seal_noise_sym *ss, const uint8_t *in, size_t len,
				    uint8_t *out)
{
	size_t olen = len;
	if (ss->cs.has_k) {
		/* n never nears 2^64-1 in a two-message handshake, but the
		 * spec's rule is cheap to keep. */
		if (ss->cs.n == UINT64_MAX)
			return UDP_ESEAL_COUNTER;
		int rc = seal_noise_aead_encrypt(ss->cs.k, ss->cs.n, ss->h, sizeof ss->h,
						 in, len, out);
		if (rc < 0)
			return rc;
		ss->cs.n++;
		olen += SEAL_NOISE_TAG;
	} else if (len) {
		memmove(out, in, len);
	}
	seal_noise_sym_mix_hash(ss, out, olen);
	return (int)olen;
}

int seal_noise_sym_decrypt_and_hash(struct seal_noise_sym *ss, const uint8_t *in, size_t len,
				    uint8_t *out)
{
	size_t olen = len;
	if (ss->cs.has_k) {
		if (ss->cs.n == UINT64_MAX)
			return UDP_ESEAL_COUNTER;
		if (len < SEAL_NOISE_TAG)
			return UDP_ESEAL_HS_SHORT;
		if (seal_noise_aead_decrypt(ss->cs.k, ss->cs.n, ss->h, sizeof ss->h,
					    in, len, out) < 0)
			return UDP_ESEAL_HS_AUTH;
		ss->cs.n++;
		olen -= SEAL_NOISE_TAG;
	} else if (len) {
		memmove(out, in, len);
	}
	/* h takes the ciphertext, read from `in`: out must not overlap it. */
	seal_noise_sym_mix_hash(ss, in, len);
	return (int)olen;
}

void seal_noise_sym_split(const struct seal_noise_sym *ss, uint8_t k1[SEAL_NOISE_KEY],
			  uint8_t k2[SEAL_NOISE_KEY])
{
	uint8_t t1[SEAL_NOISE_HASH], t2[SEAL_NOISE_HASH];
	seal_noise_hkdf(ss->ck, NULL, 0, t1, t2, NULL);
	memcpy(k1, t1, SEAL_NOISE_KEY);
	memcpy(k2, t2, SEAL_NOISE_KEY);
	sodium_memzero(t1, sizeof t1);
	sodium_memzero(t2, sizeof t2);
}
