/* rel_ident.c - identity sessions: the handshake half of the rel_crypto_ops
 * hook (Noise IK / IKpsk2 of seal_noise.h carried in CONNECT and ACCEPT,
 * docs/PROTOCOL.md section 9.1), the context and its statistics.  The
 * SEALED packets are rel_ident_seal.c's. */
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "rel.h"
#include "rel_ident.h"
#include "rel_ident_int.h"
#include "seal_ident.h"
#include "seal_noise.h"
#include "seal_replay.h"

const struct rel_crypto_ops rel_ident_ops = {
	.overhead = RI_OVERHEAD,
	.arg_size = REL_IDENT_KEY, /* rel_connect_ex's server key, copied */
	.hs_init = rel_ident_hs_init,
	.hs_respond = rel_ident_hs_respond,
	.hs_finish = rel_ident_hs_finish,
	.seal = rel_ident_seal,
	.open = rel_ident_open,
	.sess_free = rel_ident_sess_free,
};

/* memset that the compiler may not drop (for stack copies of key bytes;
 * libsodium's own wipe is not ours to call from the core). */
static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

void rel_ident_config_default(struct rel_ident_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof *cfg);
	cfg->rekey_after_pkts = (uint64_t)1 << 30;
	cfg->rekey_after_us = 120ull * 1000 * 1000;
}

void rel_ident_free(struct rel_ident *ri)
{
	if (!ri)
		return;
	seal_noise_secret_free(ri->priv);
	seal_noise_secret_free(ri->psk);
	free(ri);
}

int rel_ident_new(struct rel_ident **out, const struct rel_ident_config *cfg)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!cfg || !cfg->static_priv || cfg->rekey_after_pkts == 0 || cfg->rekey_after_us == 0)
		return REL_ECONFIG;
	struct rel_ident *ri = calloc(1, sizeof *ri);
	if (!ri)
		return UDP_ENOMEM;
	int rc = seal_noise_secret_new(&ri->priv, cfg->static_priv);
	if (rc == 0 && cfg->psk)
		rc = seal_noise_secret_new(&ri->psk, cfg->psk);
	if (rc < 0) {
		rel_ident_free(ri);
		return rc;
	}
	if (cfg->peer_key) {
		memcpy(ri->peer_key, cfg->peer_key, REL_IDENT_KEY);
		ri->has_peer_key = 1;
	}
	ri->allowed = cfg->allowed;
	ri->authorize = cfg->authorize;
	ri->authorize_arg = cfg->authorize_arg;
	ri->rekey_after_pkts = cfg->rekey_after_pkts;
	ri->rekey_after_us = cfg->rekey_after_us;
	ri->test_seed = cfg->test_seed;
	*out = ri;
	return 0;
}

void rel_ident_attach(struct rel_ident *ri, struct rel_config *cfg)
{
	if (!ri || !cfg)
		return;
	cfg->crypto = &rel_ident_ops;
	cfg->crypto_ctx = ri;
}

void rel_ident_get_stats(const struct rel_ident *ri, struct rel_ident_stats *out)
{
	if (!out)
		return;
	if (!ri) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = ri->stats;
}

/* TESTS ONLY (test_seed): a reproducible ephemeral key per handshake,
 * SplitMix64 of the seed and a draw counter.  Never used otherwise: then
 * seal_noise draws from the system's generator. */
static void test_ephemeral(struct rel_ident *ri, uint8_t e[SEAL_NOISE_KEY])
{
	uint64_t x = ri->test_seed + 0x9e3779b97f4a7c15ull * ++ri->test_draws;
	for (int w = 0; w < SEAL_NOISE_KEY / 8; w++) {
		x += 0x9e3779b97f4a7c15ull;
		uint64_t z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		for (int b = 0; b < 8; b++)
			e[w * 8 + b] = (uint8_t)(z >> (8 * b));
	}
}

/* A handshake state of our role, with the prologue of section 9.1. */
static int hs_new(struct rel_ident *ri, struct seal_noise **hs, enum seal_noise_role role,
		  const uint8_t *remote, const uint8_t *prologue, size_t plen)
{
	if ((!prologue && plen) || plen > RI_PROLOGUE_MAX)
		return REL_EMALFORMED;
	uint8_t pro[RI_LABEL_LEN + RI_PROLOGUE_MAX], e[SEAL_NOISE_KEY];
	memcpy(pro, RI_LABEL, RI_LABEL_LEN);
	if (plen)
		memcpy(pro + RI_LABEL_LEN, prologue, plen);
	struct seal_noise_config nc;
	seal_noise_config_default(&nc);
	nc.role = role;
	nc.static_priv = seal_noise_secret_get(ri->priv);
	nc.remote_static = remote;
	nc.psk = seal_noise_secret_get(ri->psk);
	nc.prologue = pro;
	nc.prologue_len = RI_LABEL_LEN + plen;
	if (ri->test_seed) {
		test_ephemeral(ri, e);
		nc.test_ephemeral = e;
	}
	int rc = seal_noise_new(hs, &nc);
	wipe(e, sizeof e);
	return rc;
}

/* Both roles, once the handshake is done: the transport ciphers. */
static int split(struct rel_ident *ri, struct rel_ident_sess *s, uint64_t now_us)
{
	struct seal_noise_cipher *tx, *rx;
	int rc = seal_noise_split(s->hs, &tx, &rx);
	seal_noise_free(s->hs);
	s->hs = NULL;
	if (rc < 0)
		return rc;
	rc = rel_ident_sess_keyed(ri, s, tx, rx, now_us);
	if (rc == 0)
		ri->stats.handshakes++;
	return rc;
}

static void set_name(struct rel_ident_sess *s, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n > REL_IDENT_NAME_MAX)
		n = REL_IDENT_NAME_MAX;
	memcpy(s->peer.name, name ? name : "", n);
	s->peer.name[n] = '\0';
}

int rel_ident_hs_init(void *ctx, void **sess, const void *arg, const uint8_t *prologue,
		      size_t plen, uint8_t *out, size_t cap, uint64_t now_us)
{
	(void)now_us;
	struct rel_ident *ri = ctx;
	if (!ri || !sess || !out)
		return UDP_EINVAL;
	const uint8_t *server = arg ? arg : ri->has_peer_key ? ri->peer_key : NULL;
	if (!server)
		return REL_EREFUSED; /* a client must know whom it talks to */
	struct rel_ident_sess *s = calloc(1, sizeof *s);
	if (!s)
		return UDP_ENOMEM;
	int rc = hs_new(ri, &s->hs, SEAL_NOISE_INITIATOR, server, prologue, plen);
	if (rc == 0)
		rc = seal_noise_write(s->hs, NULL, 0, out, cap);
	if (rc < 0) {
		rel_ident_sess_free(ri, s);
		return rc;
	}
	memcpy(s->peer.key, server, REL_IDENT_KEY);
	const char *name = NULL;
	if (ri->allowed && seal_allowed_find(ri->allowed, server, &name) >= 0)
		set_name(s, name);
	*sess = s;
	return rc;
}

/* The server's admission: the allowed list (when given), then the
 * application's verdict (when asked for). */
static int admit(struct rel_ident *ri, struct rel_ident_sess *s)
{
	const char *name = NULL;
	if (ri->allowed && seal_allowed_find(ri->allowed, s->peer.key, &name) < 0)
		return REL_EREFUSED;
	if (ri->authorize && ri->authorize(ri->authorize_arg, s->peer.key) < 0)
		return REL_EREFUSED;
	set_name(s, name);
	return 0;
}

int rel_ident_hs_respond(void *ctx, void **sess, const uint8_t *prologue, size_t plen,
			 const uint8_t *msg1, size_t len, const uint8_t *payload, size_t paylen,
			 uint8_t *out, size_t cap, uint64_t now_us)
{
	struct rel_ident *ri = ctx;
	if (!ri || !sess || !msg1 || !out || (!payload && paylen))
		return UDP_EINVAL;
	struct rel_ident_sess *s = calloc(1, sizeof *s);
	if (!s)
		return UDP_ENOMEM;
	uint8_t pl[RI_MSG1_PAYLOAD_MAX];
	int rc = hs_new(ri, &s->hs, SEAL_NOISE_RESPONDER, NULL, prologue, plen);
	if (rc == 0) {
		/* Anything unreadable, forged, for another server key or
		 * another PSK mode fails here alike. */
		rc = seal_noise_read(s->hs, msg1, len, pl, sizeof pl);
		if (rc < 0) {
			ri->stats.refused_auth++;
			rc = REL_EAUTH;
		}
	}
	if (rc >= 0)
		rc = seal_noise_remote_static(s->hs, s->peer.key);
	if (rc == 0) {
		rc = admit(ri, s);
		if (rc < 0)
			ri->stats.refused_unknown++;
	}
	int n = rc;
	if (rc == 0)
		n = rc = seal_noise_write(s->hs, payload, paylen, out, cap);
	if (rc >= 0)
		rc = split(ri, s, now_us);
	wipe(pl, sizeof pl);
	if (rc < 0) {
		rel_ident_sess_free(ri, s);
		return rc;
	}
	*sess = s;
	return n;
}

int rel_ident_hs_finish(void *ctx, void *sess, const uint8_t *msg2, size_t len, uint8_t *out,
			size_t cap, uint64_t now_us)
{
	struct rel_ident *ri = ctx;
	struct rel_ident_sess *s = sess;
	if (!ri || !s || !msg2 || (!out && cap))
		return UDP_EINVAL;
	if (!s->hs)
		return REL_EUNEXPECTED; /* keyed already: a repeated ACCEPT */
	int n = seal_noise_read(s->hs, msg2, len, out, cap);
	if (n == UDP_ENOSPACE || n == UDP_EINVAL)
		return n; /* the caller's buffer, not the peer's bytes */
	if (n < 0) {
		/* The handshake stays as it was: a genuine message 2 may
		 * still come after a forged one. */
		ri->stats.refused_auth++;
		return REL_EAUTH;
	}
	int rc = split(ri, s, now_us);
	if (rc < 0) {
		wipe(out, (size_t)n);
		return rc;
	}
	return n;
}

void rel_ident_sess_free(void *ctx, void *sess)
{
	(void)ctx;
	struct rel_ident_sess *s = sess;
	if (!s)
		return;
	seal_noise_free(s->hs);
	seal_noise_cipher_free(s->tx);
	seal_noise_cipher_free(s->rx);
	seal_noise_cipher_free(s->rx_prev);
	for (int i = 0; i < RI_AHEAD; i++)
		seal_noise_cipher_free(s->rx_ahead[i]);
	wipe(s, sizeof *s);
	free(s);
}

int rel_ident_peer(const struct rel_core *core, uint32_t peer, struct rel_ident_peer *out)
{
	if (!core || !out)
		return UDP_EINVAL;
	const struct rel_ident_sess *s = rel_peer_crypto(core, peer);
	if (!s) {
		/* A session without hook state is one still before its
		 * CONNECT (or of a core without the hook). */
		struct rel_stats st;
		return rel_peer_stats(core, peer, &st) < 0 ? REL_ENOPEER : REL_ENOTCONN;
	}
	return rel_ident_sess_peer(s, out);
}

int rel_ident_sess_peer(const struct rel_ident_sess *s, struct rel_ident_peer *out)
{
	if (!s || !out)
		return UDP_EINVAL;
	if (!s->keyed)
		return REL_ENOTCONN;
	*out = s->peer;
	return 0;
}
