/* support_toycrypto.h - a TOY crypto hook (struct rel_crypto_ops) for the
 * core's tests and fuzz target: it proves the routing of bytes through the
 * hook, not secrecy.  Both ends share a 16-byte secret; a "handshake" is
 * two nonces and SipHash tags over them, the prologue and the payload;
 * SEALED packets follow the layout of docs/PROTOCOL.md 9.2 (header,
 * counter, body XORed with a keystream, a 16-byte SipHash tag) with a
 * 64-packet replay window that moves only on authentic packets.
 *
 * Header only (static functions), so a fuzz target built alone can use it.
 * Never use it for anything real. */
#ifndef SUPPORT_TOYCRYPTO_H
#define SUPPORT_TOYCRYPTO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"
#include "rel_hash.h"

#define TOY_MSG1 96
#define TOY_MSG2 76 /* nonce 8, payload 28, tag 8, padding: ACCEPT 108 */
#define TOY_OVERHEAD 36
#define TOY_LABEL "udpkit-rel-1"

struct toy_ctx {
	uint8_t secret[16];
	uint8_t id[8];       /* the server's name, checked when a client gives one */
	int refuse;          /* hs_respond says no */
	int fail_init;       /* hs_init says no */
	uint64_t nonce_next;
	/* what the hook saw */
	unsigned inits, responds, finishes, seals, opens, open_fails, frees;
	long live;           /* sessions made and not freed */
	uint8_t prologue[64];
	size_t prologue_len;
	uint8_t payload[64];
	size_t payload_len;
};

struct toy_sess {
	uint64_t key;
	int server;
	uint64_t cn;           /* client nonce */
	uint8_t arg[8];
	int has_arg, done;
	uint64_t send_ctr;
	uint64_t recv_top;     /* highest counter seen + 1 (0: none) */
	uint64_t recv_bits;    /* bit i: recv_top - 1 - i seen */
};

static inline void toy_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t toy_get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* SipHash of a || b || c under the secret tweaked by t. */
static inline uint64_t toy_mac(const struct toy_ctx *x, uint64_t t, const uint8_t *a, size_t alen,
			       const uint8_t *b, size_t blen, const uint8_t *c, size_t clen)
{
	uint8_t k[16];
	memcpy(k, x->secret, 16);
	for (int i = 0; i < 8; i++)
		k[i] ^= (uint8_t)(t >> (8 * i));
	size_t n = alen + blen + clen;
	uint8_t *m = malloc(n ? n : 1);
	if (!m)
		abort();
	if (alen)
		memcpy(m, a, alen);
	if (blen)
		memcpy(m + alen, b, blen);
	if (clen)
		memcpy(m + alen + blen, c, clen);
	uint64_t h = rel_siphash24(k, m, n);
	free(m);
	return h;
}

static inline struct toy_sess *toy_new(struct toy_ctx *x)
{
	struct toy_sess *s = calloc(1, sizeof *s);
	if (s)
		x->live++;
	return s;
}

static int toy_hs_init(void *ctx, void **sess, const void *arg, const uint8_t *prologue,
		       size_t plen, uint8_t *out, size_t cap, uint64_t now)
{
	(void)now;
	struct toy_ctx *x = ctx;
	x->inits++;
	if (x->fail_init)
		return REL_EREFUSED;
	if (cap < TOY_MSG1 || plen > sizeof x->prologue)
		return UDP_ENOSPACE;
	struct toy_sess *s = toy_new(x);
	if (!s)
		return UDP_ENOMEM;
	s->cn = ++x->nonce_next;
	if (arg) {
		memcpy(s->arg, arg, 8);
		s->has_arg = 1;
	}
	memset(out, 0, TOY_MSG1);
	toy_put64(out, s->cn);
	out[8] = (uint8_t)s->has_arg;
	memcpy(out + 9, s->arg, 8);
	uint8_t lab[] = TOY_LABEL;
	toy_put64(out + 24, toy_mac(x, 1, lab, sizeof lab - 1, prologue, plen, out, 24));
	*sess = s;
	return TOY_MSG1;
}

static int toy_hs_respond(void *ctx, void **sess, const uint8_t *prologue, size_t plen,
			  const uint8_t *msg1, size_t len, const uint8_t *payload, size_t paylen,
			  uint8_t *out, size_t cap, uint64_t now)
{
	(void)now;
	struct toy_ctx *x = ctx;
	x->responds++;
	if (plen <= sizeof x->prologue) {
		memcpy(x->prologue, prologue, plen);
		x->prologue_len = plen;
	}
	if (paylen <= sizeof x->payload) {
		memcpy(x->payload, payload, paylen);
		x->payload_len = paylen;
	}
	uint8_t lab[] = TOY_LABEL;
	if (len != TOY_MSG1 || paylen != 28 ||
	    toy_get64(msg1 + 24) != toy_mac(x, 1, lab, sizeof lab - 1, prologue, plen, msg1, 24))
		return UDP_ESEAL_HS_AUTH;
	if (msg1[8] && memcmp(msg1 + 9, x->id, 8)) /* the client wants another server */
		return UDP_ESEAL_HS_AUTH;
	if (x->refuse || cap < TOY_MSG2)
		return REL_EREFUSED;
	struct toy_sess *s = toy_new(x);
	if (!s)
		return UDP_ENOMEM;
	s->server = 1;
	s->cn = toy_get64(msg1);
	uint64_t sn = ++x->nonce_next | (1ull << 63);
	memset(out, 0, TOY_MSG2);
	toy_put64(out, sn);
	memcpy(out + 8, payload, 28);
	toy_put64(out + 36, toy_mac(x, 2, msg1, 8, out, 36, NULL, 0));
	s->key = toy_mac(x, 3, msg1, 8, out, 8, NULL, 0);
	s->done = 1;
	*sess = s;
	return TOY_MSG2;
}

/* Leaves the state alone unless message 2 is authentic (rel.h). */
static int toy_hs_finish(void *ctx, void *sess, const uint8_t *msg2, size_t len, uint8_t *out,
			 size_t cap, uint64_t now)
{
	(void)now;
	struct toy_ctx *x = ctx;
	struct toy_sess *s = sess;
	x->finishes++;
	uint8_t cn[8];
	toy_put64(cn, s->cn);
	if (s->done || len != TOY_MSG2 || cap < 28 ||
	    toy_get64(msg2 + 36) != toy_mac(x, 2, cn, 8, msg2, 36, NULL, 0))
		return UDP_ESEAL_HS_AUTH;
	memcpy(out, msg2 + 8, 28);
	s->key = toy_mac(x, 3, cn, 8, msg2, 8, NULL, 0);
	s->done = 1;
	return 28;
}

static inline void toy_xor(const struct toy_sess *s, uint64_t ctr, uint8_t *b, size_t n)
{
	uint64_t ks = s->key ^ (ctr * 0x9e3779b97f4a7c15ull);
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			ks = ks * 6364136223846793005ull + 1442695040888963407ull;
		b[i] ^= (uint8_t)(ks >> (8 * (i % 8)));
	}
}

/* Tag over header, counter and body, keyed by direction: a packet of one
 * direction is no packet of the other. */
static inline void toy_tag(const struct toy_ctx *x, const struct toy_sess *s, int from_server,
			   const uint8_t *b, size_t n, uint8_t *tag)
{
	uint8_t k[8];
	toy_put64(k, s->key);
	toy_put64(tag, toy_mac(x, 4 + (uint64_t)from_server, k, 8, b, n, NULL, 0));
	toy_put64(tag + 8, toy_mac(x, 6 + (uint64_t)from_server, k, 8, b, n, NULL, 0));
}

static int toy_seal(void *ctx, void *sess, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
		    uint64_t now)
{
	(void)now;
	struct toy_ctx *x = ctx;
	struct toy_sess *s = sess;
	if (len < 12 || cap < len + TOY_OVERHEAD)
		return UDP_ENOSPACE;
	x->seals++;
	out[0] = pkt[0];
	out[1] = pkt[1];
	out[2] = 12;
	out[3] = 0;
	memcpy(out + 4, pkt + 4, 8);
	toy_put64(out + 12, s->send_ctr);
	memcpy(out + 20, pkt, len);
	toy_xor(s, s->send_ctr, out + 20, len);
	s->send_ctr++;
	toy_tag(x, s, s->server, out, 20 + len, out + 20 + len);
	return (int)(len + TOY_OVERHEAD);
}

static int toy_open(void *ctx, void *sess, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		    uint64_t now)
{
	(void)now;
	struct toy_ctx *x = ctx;
	struct toy_sess *s = sess;
	x->opens++;
	uint8_t tag[16];
	if (len < TOY_OVERHEAD || cap < len - TOY_OVERHEAD || in[3] != 0) {
		x->open_fails++;
		return UDP_ESEAL_SHORT;
	}
	toy_tag(x, s, !s->server, in, len - 16, tag);
	if (memcmp(tag, in + len - 16, 16)) {
		x->open_fails++;
		return UDP_ESEAL_AUTH;
	}
	uint64_t ctr = toy_get64(in + 12);
	if (s->recv_top && ctr < s->recv_top) {
		uint64_t back = s->recv_top - 1 - ctr;
		if (back >= 64 || (s->recv_bits >> back) & 1) {
			x->open_fails++;
			return UDP_ESEAL_REPLAY;
		}
		s->recv_bits |= 1ull << back;
	} else {
		uint64_t up = ctr + 1 - s->recv_top;
		s->recv_bits = up >= 64 ? 0 : s->recv_bits << up;
		s->recv_bits |= 1; /* ctr itself, now at the top */
		s->recv_top = ctr + 1;
	}
	size_t n = len - TOY_OVERHEAD;
	memcpy(out, in + 20, n);
	toy_xor(s, ctr, out, n);
	return (int)n;
}

static void toy_free(void *ctx, void *sess)
{
	struct toy_ctx *x = ctx;
	x->frees++;
	x->live--;
	free(sess);
}

static const struct rel_crypto_ops toy_ops = {
	.overhead = TOY_OVERHEAD,
	.arg_size = 8,
	.hs_init = toy_hs_init,
	.hs_respond = toy_hs_respond,
	.hs_finish = toy_hs_finish,
	.seal = toy_seal,
	.open = toy_open,
	.sess_free = toy_free,
};

static inline void toy_ctx_init(struct toy_ctx *x, uint8_t secret_byte)
{
	memset(x, 0, sizeof *x);
	memset(x->secret, secret_byte, sizeof x->secret);
	memcpy(x->id, "server01", 8);
}

static inline void toy_attach(struct toy_ctx *x, struct rel_config *cfg)
{
	cfg->crypto = &toy_ops;
	cfg->crypto_ctx = x;
}

#endif
