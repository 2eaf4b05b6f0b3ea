/* support_ident.c - fixtures of the rel_ident tests (support_ident.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_ident.h"
#include "rel_ident_int.h"
#include "seal_ident.h"
#include "seal_noise.h"
#include "support_ident.h"

struct sid_key sid_key_new(void)
{
	struct sid_key k;
	assert_int_equal(seal_ident_generate(&k.id), 0);
	k.priv = seal_ident_private(k.id);
	k.pub = seal_ident_public(k.id);
	return k;
}

struct seal_allowed *sid_allowed_of(const struct sid_key *k, const char *name)
{
	char text[128], b64[SEAL_IDENT_TEXT_SIZE];
	assert_int_equal(seal_ident_pub_format(k->pub, b64, sizeof b64), SEAL_IDENT_B64_LEN);
	int n = snprintf(text, sizeof text, "%s %s\n", b64, name);
	struct seal_allowed *a;
	size_t bad = 0;
	assert_int_equal(seal_allowed_parse(&a, text, (size_t)n, &bad), 0);
	return a;
}

struct rel_ident *sid_ctx_new(const struct sid_key *me, const struct sid_ctx_opts *o)
{
	struct rel_ident_config c;
	rel_ident_config_default(&c);
	c.static_priv = me->priv;
	c.peer_key = o->peer_key;
	c.allowed = o->allowed;
	c.psk = o->psk;
	c.authorize = o->authorize;
	c.authorize_arg = o->authorize_arg;
	if (o->rekey_pkts)
		c.rekey_after_pkts = o->rekey_pkts;
	if (o->rekey_us)
		c.rekey_after_us = o->rekey_us;
	struct rel_ident *ri;
	assert_int_equal(rel_ident_new(&ri, &c), 0);
	return ri;
}

const uint8_t SID_PROLOGUE[40] = {0x75, 1, 3, 0x10, 0, 0, 0, 0, 0x11, 0x11, 0x11, 0x11, 7, 7};
const uint8_t SID_ACCEPT[28] = {0x75, 1, 4, 0x10, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 9};

struct sid_hs sid_handshake_arg(struct rel_ident *cli, struct rel_ident *srv, const void *arg)
{
	struct sid_hs h;
	memset(&h, 0, sizeof h);
	void *cs = NULL, *ss = NULL;
	h.n1 = rel_ident_hs_init(cli, &cs, arg, SID_PROLOGUE, sizeof SID_PROLOGUE, h.m1,
				 sizeof h.m1, 1000);
	assert_int_equal(h.n1, SEAL_NOISE_MSG1_OVERHEAD);
	assert_non_null(cs);
	h.c = cs;
	h.rc_respond = h.n2 = rel_ident_hs_respond(srv, &ss, SID_PROLOGUE, sizeof SID_PROLOGUE,
						   h.m1, (size_t)h.n1, SID_ACCEPT,
						   sizeof SID_ACCEPT, h.m2, sizeof h.m2, 1000);
	h.s = ss;
	if (h.n2 < 0) {
		assert_null(ss);
		return h;
	}
	assert_int_equal(h.n2, SEAL_NOISE_MSG2_OVERHEAD + sizeof SID_ACCEPT);
	h.rc_finish = h.npl = rel_ident_hs_finish(cli, h.c, h.m2, (size_t)h.n2, h.pl, sizeof h.pl,
						  1000);
	return h;
}

struct sid_hs sid_handshake(struct rel_ident *cli, struct rel_ident *srv)
{
	return sid_handshake_arg(cli, srv, NULL);
}

void sid_hs_free(struct rel_ident *cli, struct rel_ident *srv, struct sid_hs *h)
{
	rel_ident_sess_free(cli, h->c);
	rel_ident_sess_free(srv, h->s);
	h->c = h->s = NULL;
}

size_t sid_inner(uint8_t *p, int from_client, uint8_t tag, size_t len)
{
	uint32_t dst = from_client ? SID_SSID : SID_CSID, src = from_client ? SID_CSID : SID_SSID;
	memset(p, tag, len);
	p[0] = 0x75;
	p[1] = 1;
	p[2] = 5;
	p[3] = 0;
	for (int i = 0; i < 4; i++) {
		p[4 + i] = (uint8_t)(dst >> (24 - 8 * i));
		p[8 + i] = (uint8_t)(src >> (24 - 8 * i));
	}
	return len;
}

uint64_t sid_counter_of(const uint8_t *sealed)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | sealed[12 + i];
	return v;
}

struct rel_ident_stats sid_stats(const struct rel_ident *ri)
{
	struct rel_ident_stats st;
	rel_ident_get_stats(ri, &st);
	return st;
}

void sid_pair_new(struct sid_pair *p, uint64_t rekey_pkts, uint64_t rekey_us, int psk)
{
	memset(p, 0, sizeof *p);
	p->ck = sid_key_new();
	p->sk = sid_key_new();
	memset(p->psk, 0x5a, sizeof p->psk);
	const uint8_t *k = psk ? p->psk : NULL;
	p->cli = sid_ctx_new(&p->ck, &(struct sid_ctx_opts){.peer_key = p->sk.pub, .psk = k,
							  .rekey_pkts = rekey_pkts,
							  .rekey_us = rekey_us});
	p->srv = sid_ctx_new(&p->sk, &(struct sid_ctx_opts){.psk = k, .rekey_pkts = rekey_pkts,
							  .rekey_us = rekey_us});
	p->h = sid_handshake(p->cli, p->srv);
	assert_int_equal(p->h.rc_finish, sizeof SID_ACCEPT);
}

void sid_pair_free(struct sid_pair *p)
{
	sid_hs_free(p->cli, p->srv, &p->h);
	rel_ident_free(p->cli);
	rel_ident_free(p->srv);
	seal_ident_free(p->ck.id);
	seal_ident_free(p->sk.id);
}

size_t sid_c2s(struct sid_pair *p, uint8_t tag, uint8_t *out, size_t cap, uint64_t now_us)
{
	uint8_t pt[64];
	int m = rel_ident_seal(p->cli, p->h.c, pt, sid_inner(pt, 1, tag, sizeof pt), out, cap,
			now_us);
	assert_int_equal(m, (int)sizeof pt + 36);
	return (size_t)m;
}

int sid_s_open(struct sid_pair *p, const uint8_t *in, size_t len)
{
	uint8_t out[256];
	return rel_ident_open(p->srv, p->h.s, in, len, out, sizeof out, 0);
}

