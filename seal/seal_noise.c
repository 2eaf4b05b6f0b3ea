/* seal_noise.c - Noise IK / IKpsk2 HandshakeState, Split and transport
 * ciphers.  See seal_noise.h; the token order follows the Noise spec's
 * pattern, one function per message and side. */
#include <string.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_noise.h"
#include "seal_noise_int.h"

#define NAME_IK "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define NAME_IKPSK2 "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
#define K SEAL_NOISE_KEY

enum { STEP_MSG1, STEP_MSG2, STEP_DONE, STEP_SPLIT };

/* Everything a message changes; copied to a scratch slot, worked on there
 * and copied back only when the whole message succeeded. */
struct hs_state {
	struct seal_noise_sym sym;
	uint8_t e_priv[K], e_pub[K];
	uint8_t rs[K], re[K];
	uint8_t psk[K];
	int has_psk;
	int has_rs;
	int step;
};

struct seal_noise {
	struct hs_state cur, tmp;
	uint8_t s_priv[K], s_pub[K];
	uint8_t fixed_e[K];
	int has_fixed_e;
	int psk_mode;
	enum seal_noise_role role;
};

struct seal_noise_cipher {
	uint8_t k[K];
};

void seal_noise_config_default(struct seal_noise_config *cfg)
{
	if (cfg)
		memset(cfg, 0, sizeof *cfg);
}

int seal_noise_public(uint8_t pub[K], const uint8_t priv[K])
{
	if (!pub || !priv)
		return UDP_EINVAL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	/* Never fails for X25519 base-point multiplication in practice;
	 * libsodium refuses only an all-zero result. */
	return crypto_scalarmult_base(pub, priv) == 0 ? 0 : UDP_EINVAL;
}

void seal_noise_free(struct seal_noise *hs)
{
	if (!hs)
		return;
	sodium_memzero(hs, sizeof *hs);
	sodium_free(hs);
}

int seal_noise_new(struct seal_noise **out, const struct seal_noise_config *cfg)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!cfg || !cfg->static_priv || (!cfg->prologue && cfg->prologue_len))
		return UDP_EINVAL;
	if (cfg->role == SEAL_NOISE_INITIATOR ? !cfg->remote_static
	    : cfg->role == SEAL_NOISE_RESPONDER ? cfg->remote_static != NULL : 1)
		return UDP_EINVAL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	struct seal_noise *hs = sodium_malloc(sizeof *hs);
	if (!hs)
		return UDP_ENOMEM;
	memset(hs, 0, sizeof *hs);
	hs->role = cfg->role;
	hs->psk_mode = cfg->psk || cfg->psk_later;
	memcpy(hs->s_priv, cfg->static_priv, K);
	int rc = seal_noise_public(hs->s_pub, hs->s_priv);
	if (rc < 0) {
		seal_noise_free(hs);
		return rc;
	}
	if (cfg->test_ephemeral) {
		memcpy(hs->fixed_e, cfg->test_ephemeral, K);
		hs->has_fixed_e = 1;
	}
	struct hs_state *st = &hs->cur;
	if (cfg->psk) {
		memcpy(st->psk, cfg->psk, K);
		st->has_psk = 1;
	}
	seal_noise_sym_init(&st->sym, hs->psk_mode ? NAME_IKPSK2 : NAME_IK);
	seal_noise_sym_mix_hash(&st->sym, cfg->prologue, cfg->prologue_len);
	/* The pre-message "<- s": both hash the responder's static key. */
	if (hs->role == SEAL_NOISE_INITIATOR) {
		memcpy(st->rs, cfg->remote_static, K);
		st->has_rs = 1;
		seal_noise_sym_mix_hash(&st->sym, st->rs, K);
	} else {
		seal_noise_sym_mix_hash(&st->sym, hs->s_pub, K);
	}
	st->step = STEP_MSG1;
	*out = hs;
	return 0;
}

/* DH(priv, pub) mixed into the key; a low-order peer key gives an all-zero
 * secret, which libsodium reports and we refuse (as WireGuard does). */
static int mix_dh(struct hs_state *st, const uint8_t priv[K], const uint8_t pub[K])
{
	uint8_t shared[K];
	if (crypto_scalarmult(shared, priv, pub) != 0) {
		sodium_memzero(shared, sizeof shared);
		return UDP_ESEAL_HS_DH;
	}
	seal_noise_sym_mix_key(&st->sym, shared, sizeof shared);
	sodium_memzero(shared, sizeof shared);
	return 0;
}

/* Token "e", writer side: a fresh key pair (or the test's), sent clear. */
static int write_e(struct seal_noise *hs, struct hs_state *st, uint8_t *out)
{
	if (hs->has_fixed_e)
		memcpy(st->e_priv, hs->fixed_e, K);
	else
		randombytes_buf(st->e_priv, K);
	int rc = seal_noise_public(st->e_pub, st->e_priv);
	if (rc < 0)
		return rc;
	memcpy(out, st->e_pub, K);
	seal_noise_sym_mix_hash(&st->sym, st->e_pub, K);
	/* With a psk modifier, e is also mixed into the key (spec 9.2). */
	if (hs->psk_mode)
		seal_noise_sym_mix_key(&st->sym, st->e_pub, K);
	return 0;
}

static void read_e(const struct seal_noise *hs, struct hs_state *st, const uint8_t *in)
{
	memcpy(st->re, in, K);
	seal_noise_sym_mix_hash(&st->sym, st->re, K);
	if (hs->psk_mode)
		seal_noise_sym_mix_key(&st->sym, st->re, K);
}

/* -> e, es, s, ss, payload */
static int write_msg1(struct seal_noise *hs, struct hs_state *st,
		      const uint8_t *payload, size_t plen, uint8_t *out)
{
	int rc = write_e(hs, st, out);
	if (rc == 0)
		rc = mix_dh(st, st->e_priv, st->rs);
	if (rc == 0)
		rc = seal_noise_sym_encrypt_and_hash(&st->sym, hs->s_pub, K, out + K);
	if (rc >= 0)
		rc = mix_dh(st, hs->s_priv, st->rs);
	if (rc == 0)
		rc = seal_noise_sym_encrypt_and_hash(&st->sym, payload, plen,
						     out + K + K + SEAL_NOISE_TAG);
	return rc < 0 ? rc : (int)(SEAL_NOISE_MSG1_OVERHEAD + plen);
}

static int read_msg1(struct seal_noise *hs, struct hs_state *st,
		     const uint8_t *msg, size_t len, uint8_t *out)
{
	read_e(hs, st, msg);
	int rc = mix_dh(st, hs->s_priv, st->re);
	if (rc == 0)
		rc = seal_noise_sym_decrypt_and_hash(&st->sym, msg + K, K + SEAL_NOISE_TAG, st->rs);
	if (rc >= 0) {
		st->has_rs = 1;
		rc = mix_dh(st, hs->s_priv, st->rs);
	}
	if (rc == 0)
		rc = seal_noise_sym_decrypt_and_hash(&st->sym, msg + K + K + SEAL_NOISE_TAG,
						     len - (K + K + SEAL_NOISE_TAG), out);
	return rc;
}

/* <- e, ee, se [, psk], payload */
static int write_msg2(struct seal_noise *hs, struct hs_state *st,
		      const uint8_t *payload, size_t plen, uint8_t *out)
{
	int rc = write_e(hs, st, out);
	if (rc == 0)
		rc = mix_dh(st, st->e_priv, st->re);
	if (rc == 0)
		rc = mix_dh(st, st->e_priv, st->rs);
	if (rc == 0 && hs->psk_mode)
		seal_noise_sym_mix_key_and_hash(&st->sym, st->psk, K);
	if (rc == 0)
		rc = seal_noise_sym_encrypt_and_hash(&st->sym, payload, plen, out + K);
	return rc < 0 ? rc : (int)(SEAL_NOISE_MSG2_OVERHEAD + plen);
}

static int read_msg2(struct seal_noise *hs, struct hs_state *st,
		     const uint8_t *msg, size_t len, uint8_t *out)
{
	read_e(hs, st, msg);
	int rc = mix_dh(st, st->e_priv, st->re);
	if (rc == 0)
		rc = mix_dh(st, hs->s_priv, st->re);
	if (rc == 0 && hs->psk_mode)
		seal_noise_sym_mix_key_and_hash(&st->sym, st->psk, K);
	if (rc == 0)
		rc = seal_noise_sym_decrypt_and_hash(&st->sym, msg + K, len - K, out);
	return rc;
}

/* Ends a message: keeps the scratch state on success, and once the
 * handshake is done forgets the ephemeral private key, which forward
 * secrecy needs gone as soon as it has no more use. */
static int finish(struct seal_noise *hs, int rc, int next_step)
{
	if (rc >= 0) {
		hs->tmp.step = next_step;
		if (next_step == STEP_DONE)
			sodium_memzero(hs->tmp.e_priv, K);
		hs->cur = hs->tmp;
	}
	sodium_memzero(&hs->tmp, sizeof hs->tmp);
	return rc;
}

int seal_noise_write(struct seal_noise *hs, const uint8_t *payload, size_t plen,
		     uint8_t *out, size_t cap)
{
	if (!hs || !out || (!payload && plen))
		return UDP_EINVAL;
	int first = hs->role == SEAL_NOISE_INITIATOR;
	if (hs->cur.step != (first ? STEP_MSG1 : STEP_MSG2))
		return UDP_ESEAL_HS_STATE;
	size_t over = first ? SEAL_NOISE_MSG1_OVERHEAD : SEAL_NOISE_MSG2_OVERHEAD;
	if (plen > SEAL_NOISE_MSG_MAX - over)
		return UDP_ETOOBIG;
	if (cap < over + plen)
		return UDP_ENOSPACE;
	if (hs->psk_mode && !first && !hs->cur.has_psk)
		return UDP_ESEAL_HS_STATE;
	hs->tmp = hs->cur;
	int rc = first ? write_msg1(hs, &hs->tmp, payload, plen, out)
		       : write_msg2(hs, &hs->tmp, payload, plen, out);
	if (rc < 0)
		sodium_memzero(out, over + plen);
	return finish(hs, rc, first ? STEP_MSG2 : STEP_DONE);
}

int seal_noise_read(struct seal_noise *hs, const uint8_t *msg, size_t len,
		    uint8_t *out, size_t cap)
{
	if (!hs || !msg || (!out && cap))
		return UDP_EINVAL;
	int first = hs->role == SEAL_NOISE_RESPONDER;
	if (hs->cur.step != (first ? STEP_MSG1 : STEP_MSG2))
		return UDP_ESEAL_HS_STATE;
	size_t over = first ? SEAL_NOISE_MSG1_OVERHEAD : SEAL_NOISE_MSG2_OVERHEAD;
	if (len < over || len > SEAL_NOISE_MSG_MAX)
		return UDP_ESEAL_HS_SHORT;
	if (cap < len - over)
		return UDP_ENOSPACE;
	if (hs->psk_mode && !first && !hs->cur.has_psk)
		return UDP_ESEAL_HS_STATE;
	uint8_t none;
	uint8_t *dst = out ? out : &none; /* an empty payload needs no buffer */
	hs->tmp = hs->cur;
	int rc = first ? read_msg1(hs, &hs->tmp, msg, len, dst)
		       : read_msg2(hs, &hs->tmp, msg, len, dst);
	if (rc < 0 && out)
		sodium_memzero(out, len - over);
	return finish(hs, rc, first ? STEP_MSG2 : STEP_DONE);
}

int seal_noise_remote_static(const struct seal_noise *hs, uint8_t out[K])
{
	if (!hs || !out)
		return UDP_EINVAL;
	if (!hs->cur.has_rs)
		return UDP_ESEAL_HS_STATE;
	memcpy(out, hs->cur.rs, K);
	return 0;
}

int seal_noise_set_psk(struct seal_noise *hs, const uint8_t psk[K])
{
	if (!hs || !psk)
		return UDP_EINVAL;
	/* A PSK for a plain IK handshake would silently do nothing. */
	if (!hs->psk_mode || hs->cur.step >= STEP_DONE)
		return UDP_ESEAL_HS_STATE;
	memcpy(hs->cur.psk, psk, K);
	hs->cur.has_psk = 1;
	return 0;
}

int seal_noise_done(const struct seal_noise *hs)
{
	return hs && hs->cur.step >= STEP_DONE;
}

int seal_noise_handshake_hash(const struct seal_noise *hs, uint8_t out[SEAL_NOISE_HASH])
{
	if (!hs || !out)
		return UDP_EINVAL;
	if (hs->cur.step < STEP_DONE)
		return UDP_ESEAL_HS_STATE;
	memcpy(out, hs->cur.sym.h, SEAL_NOISE_HASH);
	return 0;
}

static int cipher_new(struct seal_noise_cipher **out, const uint8_t k[K])
{
	struct seal_noise_cipher *c = sodium_malloc(sizeof *c);
	if (!c)
		return UDP_ENOMEM;
	memcpy(c->k, k, K);
	sodium_mprotect_readonly(c);
	*out = c;
	return 0;
}

int seal_noise_split(struct seal_noise *hs, struct seal_noise_cipher **send,
		     struct seal_noise_cipher **recv)
{
	if (!hs || !send || !recv)
		return UDP_EINVAL;
	*send = *recv = NULL;
	if (hs->cur.step != STEP_DONE)
		return UDP_ESEAL_HS_STATE;
	uint8_t k1[K], k2[K];
	seal_noise_sym_split(&hs->cur.sym, k1, k2);
	int init = hs->role == SEAL_NOISE_INITIATOR;
	int rc = cipher_new(send, init ? k1 : k2);
	if (rc == 0)
		rc = cipher_new(recv, init ? k2 : k1);
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);
	if (rc < 0) {
		seal_noise_cipher_free(*send);
		*send = NULL;
		return rc;
	}
	/* Only h stays useful; the chaining key could derive the session
	 * keys again, so it goes now. */
	sodium_memzero(hs->cur.sym.ck, sizeof hs->cur.sym.ck);
	sodium_memzero(&hs->cur.sym.cs, sizeof hs->cur.sym.cs);
	sodium_memzero(hs->cur.psk, K);
	hs->cur.step = STEP_SPLIT;
	return 0;
}

int seal_noise_encrypt(const struct seal_noise_cipher *c, uint64_t nonce,
		       const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap)
{
	if (!c || !out || (!in && len) || (!ad && adlen))
		return UDP_EINVAL;
	if (nonce == UINT64_MAX)
		return UDP_ESEAL_COUNTER;
	if (len > SEAL_NOISE_PAYLOAD_MAX)
		return UDP_ETOOBIG;
	if (cap < len + SEAL_NOISE_TAG)
		return UDP_ENOSPACE;
	int rc = seal_noise_aead_encrypt(c->k, nonce, ad, adlen, in, len, out);
	return rc < 0 ? rc : (int)(len + SEAL_NOISE_TAG);
}

int seal_noise_decrypt(const struct seal_noise_cipher *c, uint64_t nonce,
		       const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap)
{
	if (!c || !in || (!out && cap) || (!ad && adlen))
		return UDP_EINVAL;
	if (nonce == UINT64_MAX)
		return UDP_ESEAL_COUNTER;
	if (len < SEAL_NOISE_TAG)
		return UDP_ESEAL_SHORT;
	if (len > SEAL_NOISE_MSG_MAX)
		return UDP_ETOOBIG;
	if (cap < len - SEAL_NOISE_TAG)
		return UDP_ENOSPACE;
	uint8_t none;
	int rc = seal_noise_aead_decrypt(c->k, nonce, ad, adlen, in, len, out ? out : &none);
	return rc < 0 ? rc : (int)(len - SEAL_NOISE_TAG);
}

int seal_noise_rekey(struct seal_noise_cipher *c)
{
	if (!c)
		return UDP_EINVAL;
	uint8_t zeros[K], next[K + SEAL_NOISE_TAG];
	memset(zeros, 0, sizeof zeros);
	int rc = seal_noise_aead_encrypt(c->k, UINT64_MAX, NULL, 0, zeros, K, next);
	if (rc == 0) {
		sodium_mprotect_readwrite(c);
		memcpy(c->k, next, K);
		sodium_mprotect_readonly(c);
	}
	sodium_memzero(next, sizeof next);
	return rc;
}

void seal_noise_cipher_free(struct seal_noise_cipher *c)
{
	if (!c)
		return;
	sodium_mprotect_readwrite(c);
	sodium_memzero(c, sizeof *c);
	sodium_free(c);
}

int seal_noise_cipher_clone(struct seal_noise_cipher **out, const struct seal_noise_cipher *c)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!c)
		return UDP_EINVAL;
	return cipher_new(out, c->k);
}

struct seal_noise_secret {
	uint8_t k[K];
};

int seal_noise_secret_new(struct seal_noise_secret **out, const uint8_t key[K])
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!key)
		return UDP_EINVAL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	struct seal_noise_secret *s = sodium_malloc(sizeof *s);
	if (!s)
		return UDP_ENOMEM;
	memcpy(s->k, key, K);
	sodium_mprotect_readonly(s);
	*out = s;
	return 0;
}

const uint8_t *seal_noise_secret_get(const struct seal_noise_secret *s)
{
	return s ? s->k : NULL;
}

void seal_noise_secret_free(struct seal_noise_secret *s)
{
	if (!s)
		return;
	sodium_mprotect_readwrite(s);
	sodium_memzero(s, sizeof *s);
	sodium_free(s);
}
