/* cmocka tests for rel_ident: the rel_crypto_ops hook driven by hand, a
 * client and a server context passing the core's bytes between them
 * (handshake, admission, SEALED packets, replay, key phases, forward
 * secrecy).  The pairs of real cores are in test_rel_ident_pair.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "udp_err.h"
#include "rel.h"
#include "rel_ident.h"
#include "rel_ident_int.h"
#include "seal_ident.h"
#include "seal_noise.h"
#include "seal_replay.h"

#define CSID 0x11111111u /* the client's session id */
#define SSID 0x22222222u /* the server's */

/* ---- fixtures ---- */

struct key {
	struct seal_ident *id;
	const uint8_t *priv, *pub;
};

static struct key key_new(void)
{
	struct key k;
	assert_int_equal(seal_ident_generate(&k.id), 0);
	k.priv = seal_ident_private(k.id);
	k.pub = seal_ident_public(k.id);
	return k;
}

static struct seal_allowed *allowed_of(const struct key *k, const char *name)
{
	char text[128], b64[SEAL_IDENT_TEXT_SIZE];
	assert_int_equal(seal_ident_pub_format(k->pub, b64, sizeof b64), SEAL_IDENT_B64_LEN);
	int n = snprintf(text, sizeof text, "%s %s\n", b64, name);
	struct seal_allowed *a;
	size_t bad = 0;
	assert_int_equal(seal_allowed_parse(&a, text, (size_t)n, &bad), 0);
	return a;
}

struct ctx_opts {
	const uint8_t *peer_key;
	const struct seal_allowed *allowed;
	const uint8_t *psk;
	int (*authorize)(void *, const uint8_t *);
	void *authorize_arg;
	uint64_t rekey_pkts, rekey_us;
};

static struct rel_ident *ctx_new(const struct key *me, const struct ctx_opts *o)
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

/* What the core hands over: the CONNECT's bytes before message 1 and the
 * ACCEPT's before message 2 (their exact contents do not matter here,
 * only that both ends see the same). */
static const uint8_t PROLOGUE[40] = {0x75, 1, 3, 0x10, 0, 0, 0, 0, 0x11, 0x11, 0x11, 0x11, 7, 7};
static const uint8_t ACCEPT[28] = {0x75, 1, 4, 0x10, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 9};

struct hs {
	uint8_t m1[256], m2[256], pl[64];
	int n1, n2, npl;
	struct rel_ident_sess *c, *s; /* the client's and the server's */
	int rc_respond, rc_finish;
};

/* One handshake; stops at the first failure (recorded in h). */
static struct hs handshake_arg(struct rel_ident *cli, struct rel_ident *srv, const void *arg)
{
	struct hs h;
	memset(&h, 0, sizeof h);
	void *cs = NULL, *ss = NULL;
	h.n1 = rel_ident_hs_init(cli, &cs, arg, PROLOGUE, sizeof PROLOGUE, h.m1, sizeof h.m1, 1000);
	assert_int_equal(h.n1, SEAL_NOISE_MSG1_OVERHEAD);
	assert_non_null(cs);
	h.c = cs;
	h.rc_respond = h.n2 = rel_ident_hs_respond(srv, &ss, PROLOGUE, sizeof PROLOGUE, h.m1,
						   (size_t)h.n1, ACCEPT, sizeof ACCEPT, h.m2,
						   sizeof h.m2, 1000);
	h.s = ss;
	if (h.n2 < 0) {
		assert_null(ss);
		return h;
	}
	assert_int_equal(h.n2, SEAL_NOISE_MSG2_OVERHEAD + sizeof ACCEPT);
	h.rc_finish = h.npl = rel_ident_hs_finish(cli, h.c, h.m2, (size_t)h.n2, h.pl, sizeof h.pl,
						  1000);
	return h;
}

static struct hs handshake(struct rel_ident *cli, struct rel_ident *srv)
{
	return handshake_arg(cli, srv, NULL);
}

static void hs_free(struct rel_ident *cli, struct rel_ident *srv, struct hs *h)
{
	rel_ident_sess_free(cli, h->c);
	rel_ident_sess_free(srv, h->s);
	h->c = h->s = NULL;
}

/* A plaintext packet as rel_wire would make it (only the header counts
 * for sealing): from the client (dst = server) or from the server. */
static size_t inner(uint8_t *p, int from_client, uint8_t tag, size_t len)
{
	uint32_t dst = from_client ? SSID : CSID, src = from_client ? CSID : SSID;
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

static uint64_t counter_of(const uint8_t *sealed)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | sealed[12 + i];
	return v;
}

static struct rel_ident_stats stats(const struct rel_ident *ri)
{
	struct rel_ident_stats st;
	rel_ident_get_stats(ri, &st);
	return st;
}

/* ---- handshake ---- */

static void config_and_attach(void **state)
{
	(void)state;
	struct rel_ident_config c;
	rel_ident_config_default(&c);
	assert_int_equal(c.rekey_after_pkts, (uint64_t)1 << 30);
	assert_int_equal(c.rekey_after_us, 120000000ull);
	assert_null(c.static_priv);
	struct rel_ident *ri;
	assert_int_equal(rel_ident_new(&ri, &c), REL_ECONFIG); /* no key */
	assert_null(ri);
	struct key k = key_new();
	c.static_priv = k.priv;
	c.rekey_after_pkts = 0;
	assert_int_equal(rel_ident_new(&ri, &c), REL_ECONFIG);
	rel_ident_config_default(&c);
	c.static_priv = k.priv;
	assert_int_equal(rel_ident_new(&ri, &c), 0);
	struct rel_config rc;
	rel_config_default(&rc);
	assert_null(rc.crypto);
	rel_ident_attach(ri, &rc);
	assert_ptr_equal(rc.crypto, &rel_ident_ops);
	assert_ptr_equal(rc.crypto_ctx, ri);
	assert_int_equal(rc.crypto->overhead, 36);
	struct rel_ident_stats st = stats(ri);
	assert_int_equal(st.handshakes + st.refused_auth + st.refused_unknown + st.drop_auth, 0);
	rel_ident_free(ri);
	rel_ident_free(NULL);
	rel_ident_sess_free(NULL, NULL);
	seal_ident_free(k.id);
}

static void handshake_ok_both_ways(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new();
	struct seal_allowed *al = allowed_of(&ck, "alice");
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub});
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){.allowed = al});

	struct hs h = handshake(cli, srv);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	assert_memory_equal(h.pl, ACCEPT, sizeof ACCEPT); /* the payload the core compares */
	assert_int_equal(stats(cli).handshakes, 1);
	assert_int_equal(stats(srv).handshakes, 1);

	struct rel_ident_peer p;
	assert_int_equal(rel_ident_sess_peer(h.s, &p), 0);
	assert_memory_equal(p.key, ck.pub, 32);
	assert_string_equal(p.name, "alice");
	assert_int_equal(rel_ident_sess_peer(h.c, &p), 0);
	assert_memory_equal(p.key, sk.pub, 32);
	assert_string_equal(p.name, "");

	/* both directions carry packets; counters from 0 */
	uint8_t pt[200], sealed[300], back[300];
	for (int k = 0; k < 3; k++) {
		size_t n = inner(pt, 1, (uint8_t)k, 100);
		int m = rel_ident_seal(cli, h.c, pt, n, sealed, sizeof sealed, 2000);
		assert_int_equal(m, 100 + 36);
		assert_int_equal(sealed[2], 12);
		assert_int_equal(sealed[3], 0);
		assert_memory_equal(sealed + 4, pt + 4, 8);
		assert_int_equal(counter_of(sealed), (uint64_t)k);
		assert_int_equal(rel_ident_open(srv, h.s, sealed, (size_t)m, back, sizeof back, 2000), 100);
		assert_memory_equal(back, pt, 100);
		n = inner(pt, 0, (uint8_t)(k + 50), 60);
		m = rel_ident_seal(srv, h.s, pt, n, sealed, sizeof sealed, 2000);
		assert_int_equal(rel_ident_open(cli, h.c, sealed, (size_t)m, back, sizeof back, 2000), 60);
		assert_memory_equal(back, pt, 60);
	}
	/* a direction's packet does not open as the other direction's */
	size_t n = inner(pt, 1, 9, 40);
	int m = rel_ident_seal(cli, h.c, pt, n, sealed, sizeof sealed, 2000);
	assert_int_equal(rel_ident_open(cli, h.c, sealed, (size_t)m, back, sizeof back, 2000), REL_EAUTH);
	/* a repeated ACCEPT after the keys are set changes nothing */
	assert_int_equal(rel_ident_hs_finish(cli, h.c, h.m2, (size_t)h.n2, h.pl, sizeof h.pl, 3000),
			 REL_EUNEXPECTED);
	assert_int_equal(rel_ident_open(srv, h.s, sealed, (size_t)m, back, sizeof back, 2000), 40);
	hs_free(cli, srv, &h);
	rel_ident_free(cli);
	rel_ident_free(srv);
	seal_allowed_free(al);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
}

/* The server key comes from rel_connect_ex's argument first, else the
 * configured one; with neither the client refuses to start.  Before
 * message 2 nothing is sealed or reported. */
static void server_key_sources(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new(), other = key_new();
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){0});
	struct rel_ident *cli2 = ctx_new(&ck, &(struct ctx_opts){.peer_key = other.pub});
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){0});
	void *cs = (void *)1;
	uint8_t m1[200];
	assert_int_equal(rel_ident_hs_init(cli, &cs, NULL, PROLOGUE, sizeof PROLOGUE, m1, sizeof m1, 0),
			 REL_EREFUSED);
	assert_ptr_equal(cs, (void *)1); /* set only on success */
	assert_int_equal(rel_ident_hs_init(cli, &cs, sk.pub, PROLOGUE, sizeof PROLOGUE, m1, 95, 0),
			 UDP_ENOSPACE);
	assert_ptr_equal(cs, (void *)1);
	struct hs h = handshake_arg(cli, srv, sk.pub);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	hs_free(cli, srv, &h);
	/* the argument wins over the configured key */
	h = handshake_arg(cli2, srv, sk.pub);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	struct rel_ident_peer p;
	assert_int_equal(rel_ident_sess_peer(h.c, &p), 0);
	assert_memory_equal(p.key, sk.pub, 32);
	hs_free(cli2, srv, &h);
	/* nothing before message 2 */
	assert_true(rel_ident_hs_init(cli, &cs, sk.pub, PROLOGUE, sizeof PROLOGUE, m1, sizeof m1, 0) > 0);
	assert_int_equal(rel_ident_sess_peer(cs, &p), REL_ENOTCONN);
	uint8_t pt[40], out[100];
	assert_int_equal(rel_ident_seal(cli, cs, pt, inner(pt, 1, 0, 40), out, sizeof out, 0),
			 REL_ENOTCONN);
	rel_ident_sess_free(cli, cs);
	rel_ident_free(cli);
	rel_ident_free(cli2);
	rel_ident_free(srv);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
	seal_ident_free(other.id);
}

/* A client that expects another server's key: whoever holds the key it
 * named is not this server, which cannot read message 1 (counted,
 * refused); a forged message 2 is refused by the client, which can still
 * take the genuine one. */
static void wrong_server_key(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new(), other = key_new();
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = other.pub});
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){0});
	struct hs h = handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EAUTH);
	assert_null(h.s);
	assert_int_equal(stats(srv).refused_auth, 1);
	assert_int_equal(stats(srv).handshakes, 0);
	hs_free(cli, srv, &h);

	/* the right key now; message 2 forged, then from another handshake */
	struct rel_ident *cli_ok = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub});
	void *cs, *ss, *ss2;
	uint8_t m1[200], m1b[200], m2[200], m2b[200], pl[64];
	int n1 = rel_ident_hs_init(cli_ok, &cs, NULL, PROLOGUE, sizeof PROLOGUE, m1, sizeof m1, 0);
	int n1b = rel_ident_hs_init(cli_ok, &ss2, NULL, PROLOGUE, sizeof PROLOGUE, m1b, sizeof m1b, 0);
	rel_ident_sess_free(cli_ok, ss2);
	int n2 = rel_ident_hs_respond(srv, &ss, PROLOGUE, sizeof PROLOGUE, m1, (size_t)n1, ACCEPT,
				      sizeof ACCEPT, m2, sizeof m2, 0);
	assert_int_equal(n2, 76);
	int n2b = rel_ident_hs_respond(srv, &ss2, PROLOGUE, sizeof PROLOGUE, m1b, (size_t)n1b,
				       ACCEPT, sizeof ACCEPT, m2b, sizeof m2b, 0);
	assert_int_equal(n2b, 76);
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2b, (size_t)n2b, pl, sizeof pl, 0), REL_EAUTH);
	m2[40] ^= 1;
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2, (size_t)n2, pl, sizeof pl, 0), REL_EAUTH);
	m2[40] ^= 1;
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2, 20, pl, sizeof pl, 0), REL_EAUTH);
	assert_int_equal(stats(cli_ok).refused_auth, 3);
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2, (size_t)n2, pl, sizeof pl, 0), 28);
	assert_int_equal(stats(cli_ok).handshakes, 1);
	rel_ident_sess_free(cli_ok, cs);
	rel_ident_sess_free(srv, ss);
	rel_ident_sess_free(srv, ss2);
	rel_ident_free(cli_ok);
	rel_ident_free(cli);
	rel_ident_free(srv);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
	seal_ident_free(other.id);
}

static void unlisted_client_refused(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new(), listed = key_new();
	struct seal_allowed *al = allowed_of(&listed, "bob");
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub});
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){.allowed = al});
	struct hs h = handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_null(h.s);
	assert_int_equal(stats(srv).refused_unknown, 1);
	assert_int_equal(stats(srv).refused_auth, 0);
	assert_int_equal(stats(srv).handshakes, 0);
	hs_free(cli, srv, &h);
	/* the listed one gets in, named */
	struct rel_ident *cli2 = ctx_new(&listed, &(struct ctx_opts){.peer_key = sk.pub});
	h = handshake(cli2, srv);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	struct rel_ident_peer p;
	assert_int_equal(rel_ident_sess_peer(h.s, &p), 0);
	assert_string_equal(p.name, "bob");
	hs_free(cli2, srv, &h);
	rel_ident_free(cli);
	rel_ident_free(cli2);
	rel_ident_free(srv);
	seal_allowed_free(al);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
	seal_ident_free(listed.id);
}

/* Every clear field of the CONNECT is bound by the prologue. */
static void prologue_bound(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new();
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub});
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){0});
	void *cs, *ss;
	uint8_t m1[200], m2[200], pro[sizeof PROLOGUE];
	int n1 = rel_ident_hs_init(cli, &cs, NULL, PROLOGUE, sizeof PROLOGUE, m1, sizeof m1, 0);
	for (size_t at = 0; at < sizeof pro; at++) {
		memcpy(pro, PROLOGUE, sizeof pro);
		pro[at] ^= 0x40;
		assert_int_equal(rel_ident_hs_respond(srv, &ss, pro, sizeof pro, m1, (size_t)n1, ACCEPT,
						      sizeof ACCEPT, m2, sizeof m2, 0),
				 REL_EAUTH);
	}
	assert_int_equal(stats(srv).refused_auth, sizeof pro);
	assert_true(rel_ident_hs_respond(srv, &ss, PROLOGUE, sizeof PROLOGUE, m1, (size_t)n1, ACCEPT,
					 sizeof ACCEPT, m2, sizeof m2, 0) > 0);
	rel_ident_sess_free(srv, ss);
	rel_ident_sess_free(cli, cs);
	rel_ident_free(cli);
	rel_ident_free(srv);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
}

static void psk_mismatch_refused(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new();
	uint8_t p1[32], p2[32];
	memset(p1, 0x31, sizeof p1);
	memset(p2, 0x32, sizeof p2);
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){.psk = p1});
	/* the same PSK: in */
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub, .psk = p1});
	struct hs h = handshake(cli, srv);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	hs_free(cli, srv, &h);
	rel_ident_free(cli);
	/* another PSK: the PSK enters at message 2, so the client refuses */
	cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub, .psk = p2});
	h = handshake(cli, srv);
	assert_true(h.rc_respond > 0);
	assert_int_equal(h.rc_finish, REL_EAUTH);
	assert_int_equal(stats(cli).refused_auth, 1);
	assert_int_equal(stats(cli).handshakes, 0);
	hs_free(cli, srv, &h);
	rel_ident_free(cli);
	/* no PSK against a server that wants one: another protocol name,
	 * message 1 does not even read */
	cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub});
	h = handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EAUTH);
	assert_int_equal(stats(srv).refused_auth, 1);
	hs_free(cli, srv, &h);
	rel_ident_free(cli);
	rel_ident_free(srv);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
}

struct auth_seen {
	int calls;
	uint8_t key[32];
	int verdict;
};

static int authorize_cb(void *arg, const uint8_t key[32])
{
	struct auth_seen *a = arg;
	a->calls++;
	memcpy(a->key, key, 32);
	return a->verdict;
}

static void authorize_refuses(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new(), stranger = key_new();
	struct seal_allowed *al = allowed_of(&ck, "carol");
	struct auth_seen seen = {.verdict = -1};
	struct rel_ident *srv = ctx_new(&sk, &(struct ctx_opts){.allowed = al,
								 .authorize = authorize_cb,
								 .authorize_arg = &seen});
	struct rel_ident *cli = ctx_new(&ck, &(struct ctx_opts){.peer_key = sk.pub});
	struct hs h = handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_int_equal(seen.calls, 1);
	assert_memory_equal(seen.key, ck.pub, 32);
	assert_int_equal(stats(srv).refused_unknown, 1);
	hs_free(cli, srv, &h);
	/* a key off the list is refused before the callback is asked */
	struct rel_ident *cli2 = ctx_new(&stranger, &(struct ctx_opts){.peer_key = sk.pub});
	h = handshake(cli2, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(stats(srv).refused_unknown, 2);
	hs_free(cli2, srv, &h);
	/* the callback says yes */
	seen.verdict = 0;
	h = handshake(cli, srv);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	assert_int_equal(seen.calls, 2);
	hs_free(cli, srv, &h);
	rel_ident_free(srv);
	/* no list: the callback alone decides, for any key */
	seen.verdict = -1;
	srv = ctx_new(&sk, &(struct ctx_opts){.authorize = authorize_cb, .authorize_arg = &seen});
	h = handshake(cli2, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_memory_equal(seen.key, stranger.pub, 32);
	hs_free(cli2, srv, &h);
	rel_ident_free(srv);
	rel_ident_free(cli);
	rel_ident_free(cli2);
	seal_allowed_free(al);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
	seal_ident_free(stranger.id);
}

/* ---- SEALED packets ---- */

struct pair {
	struct key ck, sk;
	struct rel_ident *cli, *srv;
	struct hs h;
	uint8_t psk[32];
};

static void pair_new(struct pair *p, uint64_t rekey_pkts, uint64_t rekey_us, int psk)
{
	memset(p, 0, sizeof *p);
	p->ck = key_new();
	p->sk = key_new();
	memset(p->psk, 0x5a, sizeof p->psk);
	p->cli = ctx_new(&p->ck, &(struct ctx_opts){.peer_key = p->sk.pub, .psk = psk ? p->psk : NULL,
						    .rekey_pkts = rekey_pkts, .rekey_us = rekey_us});
	p->srv = ctx_new(&p->sk, &(struct ctx_opts){.psk = psk ? p->psk : NULL,
						    .rekey_pkts = rekey_pkts, .rekey_us = rekey_us});
	p->h = handshake(p->cli, p->srv);
	assert_int_equal(p->h.rc_finish, sizeof ACCEPT);
}

static void pair_free(struct pair *p)
{
	hs_free(p->cli, p->srv, &p->h);
	rel_ident_free(p->cli);
	rel_ident_free(p->srv);
	seal_ident_free(p->ck.id);
	seal_ident_free(p->sk.id);
}

/* Client -> server, one packet sealed at now_us into out; its length. */
static size_t c2s(struct pair *p, uint8_t tag, uint8_t *out, size_t cap, uint64_t now_us)
{
	uint8_t pt[64];
	int m = rel_ident_seal(p->cli, p->h.c, pt, inner(pt, 1, tag, sizeof pt), out, cap, now_us);
	assert_int_equal(m, (int)sizeof pt + 36);
	return (size_t)m;
}

static int s_open(struct pair *p, const uint8_t *in, size_t len)
{
	uint8_t out[256];
	return rel_ident_open(p->srv, p->h.s, in, len, out, sizeof out, 0);
}

static void tampered_dropped(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 0, 0, 0);
	uint8_t pkt[128], bad[128];
	size_t n = c2s(&p, 1, pkt, sizeof pkt, 0);
	uint64_t drops = 0;
	/* every flipped byte: header (associated data), ciphertext, tag */
	for (size_t at = 0; at < n; at++) {
		memcpy(bad, pkt, n);
		bad[at] ^= 0x04;
		assert_true(s_open(&p, bad, n) < 0);
		drops++;
	}
	/* every truncation */
	for (size_t len = 0; len < n; len++) {
		assert_true(s_open(&p, pkt, len) < 0);
		drops++;
	}
	assert_int_equal(stats(p.srv).drop_auth, drops);
	assert_int_equal(stats(p.srv).drop_replay, 0);
	/* none moved the window: the genuine packet opens after all of them */
	assert_int_equal(s_open(&p, pkt, n), 64);
	/* an authentic packet whose inner sids are not the outer ones (only
	 * a key holder could make it, but it is refused all the same) */
	struct rel_ident_sess *cs = p.h.c;
	uint8_t pt[64];
	inner(pt, 1, 3, sizeof pt);
	memcpy(bad, pkt, 20);
	bad[19] = 99; /* counter 99 */
	pt[11] ^= 1;
	int m = seal_noise_encrypt(cs->tx, 99, bad, 20, pt, sizeof pt, bad + 20, sizeof bad - 20);
	assert_int_equal(m, 80);
	assert_int_equal(s_open(&p, bad, 100), REL_EMALFORMED);
	assert_int_equal(stats(p.srv).drop_auth, drops + 1);
	pt[11] ^= 1;
	m = seal_noise_encrypt(cs->tx, 99, bad, 20, pt, sizeof pt, bad + 20, sizeof bad - 20);
	assert_int_equal(s_open(&p, bad, 100), 64); /* counter 99 was not taken */
	pair_free(&p);
}

static void replay_dropped(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 0, 0, 0);
	uint8_t a[128], b[128];
	size_t na = c2s(&p, 1, a, sizeof a, 0), nb = c2s(&p, 2, b, sizeof b, 0);
	assert_int_equal(s_open(&p, b, nb), 64);
	assert_int_equal(s_open(&p, b, nb), REL_EAUTH);
	assert_int_equal(s_open(&p, a, na), 64);
	assert_int_equal(s_open(&p, a, na), REL_EAUTH);
	assert_int_equal(stats(p.srv).drop_replay, 2);
	assert_int_equal(stats(p.srv).drop_auth, 0);
	pair_free(&p);
}

/* Counters arrive in any order within the window (SEAL_REPLAY_WINDOW:
 * 8128 once the ring is 128 words); one further back is refused. */
static void reordered_within_window(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 0, 0, 0);
	const size_t W = SEAL_REPLAY_WINDOW, SZ = 100;
	uint8_t *pk = malloc((W + 1) * SZ);
	assert_non_null(pk);
	for (size_t k = 0; k <= W; k++)
		assert_int_equal(c2s(&p, (uint8_t)k, pk + k * SZ, SZ, 0), SZ);
	assert_int_equal(s_open(&p, pk + W * SZ, SZ), 64); /* the newest first */
	for (size_t k = W; k-- > 1;)
		assert_int_equal(s_open(&p, pk + k * SZ, SZ), 64);
	assert_int_equal(s_open(&p, pk, SZ), REL_EAUTH); /* W below the top */
	assert_int_equal(stats(p.srv).drop_replay, 1);
	assert_int_equal(stats(p.srv).drop_auth, 0);
	free(pk);
	pair_free(&p);
}

/* Someone with the group PSK but not this session's keys: refused at
 * the door without an allowed identity, and a packet sealed under keys
 * of their own session (a forged high counter) opens nothing and moves
 * no window. */
static void psk_holder_cannot_forge(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 0, 0, 1);
	struct key mk = key_new(), mk2 = key_new();
	struct seal_allowed *al = allowed_of(&p.ck, "client");
	struct rel_ident *guarded = ctx_new(&p.sk, &(struct ctx_opts){.allowed = al, .psk = p.psk});
	struct rel_ident *mallory = ctx_new(&mk, &(struct ctx_opts){.peer_key = p.sk.pub, .psk = p.psk});
	struct hs h = handshake(mallory, guarded);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_int_equal(stats(guarded).refused_unknown, 1);
	hs_free(mallory, guarded, &h);
	/* Mallory's own session with a server of hers, same PSK */
	struct rel_ident *msrv = ctx_new(&mk2, &(struct ctx_opts){.psk = p.psk});
	struct rel_ident *mcli = ctx_new(&mk, &(struct ctx_opts){.peer_key = mk2.pub, .psk = p.psk});
	h = handshake(mcli, msrv);
	assert_int_equal(h.rc_finish, sizeof ACCEPT);
	struct rel_ident_sess *ms = h.c;
	ms->tx_ctr = 1000000; /* far ahead of the real client */
	uint8_t pt[64], forged[128], ok[128];
	for (int phase = 0; phase < 2; phase++) {
		int m = rel_ident_seal(mcli, ms, pt, inner(pt, 1, 7, sizeof pt), forged, sizeof forged, 0);
		forged[3] = (uint8_t)phase;
		assert_int_equal(s_open(&p, forged, (size_t)m), REL_EAUTH);
	}
	assert_int_equal(stats(p.srv).drop_auth, 2);
	/* the real client's counter 0 still opens: the window did not move */
	size_t n = c2s(&p, 1, ok, sizeof ok, 0);
	assert_int_equal(counter_of(ok), 0);
	assert_int_equal(s_open(&p, ok, n), 64);
	struct rel_ident_sess *ss = p.h.s;
	assert_int_equal(ss->replay.top, 0);
	assert_int_equal(ss->rx_phase, 0); /* nor did a forged phase bit turn a key */
	hs_free(mcli, msrv, &h);
	rel_ident_free(mcli);
	rel_ident_free(msrv);
	rel_ident_free(mallory);
	rel_ident_free(guarded);
	seal_allowed_free(al);
	seal_ident_free(mk.id);
	seal_ident_free(mk2.id);
	pair_free(&p);
}

/* ---- key phases ---- */

/* Whether cipher c has the key of `old` (same ciphertext for the same
 * input): how a test sees that a key is gone without reading it. */
static int same_key(const struct seal_noise_cipher *c, const struct seal_noise_cipher *old)
{
	if (!c)
		return 0;
	uint8_t a[32], b[32];
	const uint8_t z[8] = {0};
	assert_int_equal(seal_noise_encrypt(c, 5, NULL, 0, z, sizeof z, a, sizeof a), 24);
	assert_int_equal(seal_noise_encrypt(old, 5, NULL, 0, z, sizeof z, b, sizeof b), 24);
	return memcmp(a, b, 24) == 0;
}

static int sess_has_key(const struct rel_ident_sess *s, const struct seal_noise_cipher *k)
{
	return same_key(s->tx, k) || same_key(s->rx, k) || same_key(s->rx_prev, k) ||
	       same_key(s->rx_next, k);
}

static void rekey_by_count(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 4, 0, 0);
	struct rel_ident_sess *cs = p.h.c, *ss = p.h.s;
	struct seal_noise_cipher *key0;
	assert_int_equal(seal_noise_cipher_clone(&key0, cs->tx), 0);
	uint8_t pk[12][128];
	size_t n[12];
	for (int k = 0; k < 12; k++) {
		n[k] = c2s(&p, (uint8_t)k, pk[k], sizeof pk[k], 0);
		assert_int_equal(pk[k][3], (k / 4) % 2); /* 4 per phase */
		if (k == 4) /* one turn: the old send key is gone at once */
			assert_false(sess_has_key(cs, key0));
	}
	struct rel_ident_peer peer;
	assert_int_equal(rel_ident_sess_peer(cs, &peer), 0);
	assert_int_equal(peer.rekeys_sent, 2);
	/* in order up to the first turn (but 1, lost for now), then one of
	 * the old phase late */
	assert_int_equal(s_open(&p, pk[0], n[0]), 64);
	assert_int_equal(s_open(&p, pk[2], n[2]), 64);
	assert_int_equal(s_open(&p, pk[4], n[4]), 64); /* the receiver follows */
	assert_int_equal(ss->rx_phase, 1);
	assert_true(same_key(ss->rx_prev, key0));
	assert_int_equal(s_open(&p, pk[3], n[3]), 64); /* late, previous key */
	for (int k = 5; k < 8; k++)
		assert_int_equal(s_open(&p, pk[k], n[k]), 64);
	assert_int_equal(s_open(&p, pk[9], n[9]), 64); /* second turn */
	assert_int_equal(ss->rx_phase, 0);
	assert_int_equal(s_open(&p, pk[8], n[8]), 64); /* late, the previous (phase 1) key */
	/* the phase-0 key of the first turn exists nowhere any more */
	assert_false(sess_has_key(ss, key0));
	assert_false(sess_has_key(cs, key0));
	/* packet 1 arrives now: its counter is fresh, its key is gone */
	assert_int_equal(s_open(&p, pk[1], n[1]), REL_EAUTH);
	assert_int_equal(stats(p.srv).drop_auth, 1);
	assert_int_equal(rel_ident_sess_peer(ss, &peer), 0);
	assert_int_equal(peer.rekeys_recv, 2);
	assert_int_equal(stats(p.srv).rekeys, 2);
	assert_int_equal(stats(p.cli).rekeys, 2);
	/* the other direction never turned */
	uint8_t pt[64], sealed[128], back[128];
	int m = rel_ident_seal(p.srv, ss, pt, inner(pt, 0, 1, sizeof pt), sealed, sizeof sealed, 0);
	assert_int_equal(sealed[3], 0);
	assert_int_equal(rel_ident_open(p.cli, cs, sealed, (size_t)m, back, sizeof back, 0), 64);
	seal_noise_cipher_free(key0);
	pair_free(&p);
}

static void rekey_by_time(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 0, 10000, 0); /* 10 ms; the handshake was at t = 1000 */
	uint8_t a[128], b[128], c[128], d[128];
	size_t na = c2s(&p, 1, a, sizeof a, 5000);
	size_t nb = c2s(&p, 2, b, sizeof b, 10999);
	size_t nc = c2s(&p, 3, c, sizeof c, 11000);
	size_t nd = c2s(&p, 4, d, sizeof d, 16000);
	assert_int_equal(a[3], 0);
	assert_int_equal(b[3], 0);
	assert_int_equal(c[3], 1);
	assert_int_equal(d[3], 1);
	/* reordered across the turn: the new phase first */
	assert_int_equal(s_open(&p, c, nc), 64);
	assert_int_equal(s_open(&p, a, na), 64);
	assert_int_equal(s_open(&p, d, nd), 64);
	assert_int_equal(s_open(&p, b, nb), 64);
	/* a long silence turns the key once, at the next packet */
	nd = c2s(&p, 5, d, sizeof d, 100000000);
	assert_int_equal(d[3], 0);
	nd = c2s(&p, 6, d, sizeof d, 100000001);
	assert_int_equal(d[3], 0);
	assert_int_equal(s_open(&p, d, nd), 64);
	assert_int_equal(stats(p.cli).rekeys, 2);
	assert_int_equal(stats(p.srv).rekeys, 2);
	pair_free(&p);
}

/* ---- forward secrecy ---- */

/* A recording of message 1, message 2 and a transport packet, and then
 * both static private keys and the PSK: every fresh handshake that can
 * be run from the recording yields keys that do not open the packet. */
static void forward_secrecy(void **state)
{
	(void)state;
	struct pair p;
	pair_new(&p, 0, 0, 1);
	uint8_t m1[256], m2[256], rec[128], out[128];
	size_t n1 = (size_t)p.h.n1, n2 = (size_t)p.h.n2;
	memcpy(m1, p.h.m1, n1);
	memcpy(m2, p.h.m2, n2);
	size_t nrec = c2s(&p, 0x42, rec, sizeof rec, 0);
	uint8_t srec[128];
	uint8_t pt[64];
	int nsrec = rel_ident_seal(p.srv, p.h.s, pt, inner(pt, 0, 0x43, sizeof pt), srec,
				   sizeof srec, 0);
	assert_int_equal(s_open(&p, rec, nrec), 64); /* it is a good packet */
	hs_free(p.cli, p.srv, &p.h);                   /* the session ends */

	/* The attacker now holds both static keys and the PSK. */
	struct rel_ident *srv2 = ctx_new(&p.sk, &(struct ctx_opts){.psk = p.psk});
	struct rel_ident *cli2 = ctx_new(&p.ck, &(struct ctx_opts){.peer_key = p.sk.pub, .psk = p.psk});
	/* 1. message 1 replayed into a new responder: it accepts (message 1
	 * proves only the client's static key), but its keys do not open
	 * either direction of the recording */
	void *ss = NULL;
	uint8_t m2b[256];
	int n = rel_ident_hs_respond(srv2, &ss, PROLOGUE, sizeof PROLOGUE, m1, n1, ACCEPT,
				     sizeof ACCEPT, m2b, sizeof m2b, 0);
	assert_int_equal(n, (int)n2);
	assert_memory_not_equal(m2b, m2, n2); /* a new ephemeral key */
	assert_int_equal(rel_ident_open(srv2, ss, rec, nrec, out, sizeof out, 0), REL_EAUTH);
	struct rel_ident_sess *s2 = ss;
	assert_int_equal(seal_noise_decrypt(s2->tx, 0, srec, 20, srec + 20, (size_t)nsrec - 20, out,
					    sizeof out), UDP_ESEAL_AUTH);
	rel_ident_sess_free(srv2, ss);
	/* 2. a new initiator fed the recorded message 2: refused, so no key */
	void *cs = NULL;
	uint8_t m1b[256], pl[64];
	assert_true(rel_ident_hs_init(cli2, &cs, NULL, PROLOGUE, sizeof PROLOGUE, m1b, sizeof m1b, 0) > 0);
	assert_int_equal(rel_ident_hs_finish(cli2, cs, m2, n2, pl, sizeof pl, 0), REL_EAUTH);
	rel_ident_sess_free(cli2, cs);
	/* 3. the same at the Noise level, static keys and PSK in hand: a
	 * responder that read the recorded message 1, answered with any
	 * ephemeral, split: neither of its keys opens the packet */
	for (int e = 0; e < 4; e++) {
		uint8_t eph[32];
		memset(eph, 0x10 + e, sizeof eph);
		struct seal_noise_config nc;
		seal_noise_config_default(&nc);
		nc.role = SEAL_NOISE_RESPONDER;
		nc.static_priv = p.sk.priv;
		nc.psk = p.psk;
		uint8_t pro[12 + sizeof PROLOGUE];
		memcpy(pro, "udpkit-rel-1", 12);
		memcpy(pro + 12, PROLOGUE, sizeof PROLOGUE);
		nc.prologue = pro;
		nc.prologue_len = sizeof pro;
		nc.test_ephemeral = eph;
		struct seal_noise *hs;
		assert_int_equal(seal_noise_new(&hs, &nc), 0);
		assert_int_equal(seal_noise_read(hs, m1, n1, pl, sizeof pl), 0);
		uint8_t rs[32];
		assert_int_equal(seal_noise_remote_static(hs, rs), 0);
		assert_memory_equal(rs, p.ck.pub, 32); /* the recording is real */
		assert_int_equal(seal_noise_write(hs, ACCEPT, sizeof ACCEPT, m2b, sizeof m2b), (int)n2);
		struct seal_noise_cipher *tx, *rx;
		assert_int_equal(seal_noise_split(hs, &tx, &rx), 0);
		for (int turn = 0; turn < 2; turn++) {
			assert_int_equal(seal_noise_decrypt(rx, 0, rec, 20, rec + 20, nrec - 20, out,
							    sizeof out), UDP_ESEAL_AUTH);
			assert_int_equal(seal_noise_decrypt(tx, 0, rec, 20, rec + 20, nrec - 20, out,
							    sizeof out), UDP_ESEAL_AUTH);
			assert_int_equal(seal_noise_decrypt(tx, 0, srec, 20, srec + 20,
							    (size_t)nsrec - 20, out, sizeof out),
					 UDP_ESEAL_AUTH);
			seal_noise_rekey(tx);
			seal_noise_rekey(rx);
		}
		seal_noise_cipher_free(tx);
		seal_noise_cipher_free(rx);
		seal_noise_free(hs);
	}
	rel_ident_free(srv2);
	rel_ident_free(cli2);
	pair_free(&p);
}

/* test_seed makes a context's handshakes reproducible (and only then). */
static void test_seed_reproducible(void **state)
{
	(void)state;
	struct key ck = key_new(), sk = key_new();
	uint8_t m[3][200];
	for (int r = 0; r < 3; r++) {
		struct rel_ident_config c;
		rel_ident_config_default(&c);
		c.static_priv = ck.priv;
		c.peer_key = sk.pub;
		c.test_seed = r < 2 ? 77 : 0;
		struct rel_ident *ri;
		assert_int_equal(rel_ident_new(&ri, &c), 0);
		void *s;
		assert_int_equal(rel_ident_hs_init(ri, &s, NULL, PROLOGUE, sizeof PROLOGUE, m[r],
						   sizeof m[r], 0), 96);
		rel_ident_sess_free(ri, s);
		rel_ident_free(ri);
	}
	assert_memory_equal(m[0], m[1], 96);
	assert_memory_not_equal(m[0], m[2], 32);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_and_attach),
		cmocka_unit_test(handshake_ok_both_ways),
		cmocka_unit_test(server_key_sources),
		cmocka_unit_test(wrong_server_key),
		cmocka_unit_test(unlisted_client_refused),
		cmocka_unit_test(prologue_bound),
		cmocka_unit_test(psk_mismatch_refused),
		cmocka_unit_test(authorize_refuses),
		cmocka_unit_test(tampered_dropped),
		cmocka_unit_test(replay_dropped),
		cmocka_unit_test(reordered_within_window),
		cmocka_unit_test(psk_holder_cannot_forge),
		cmocka_unit_test(rekey_by_count),
		cmocka_unit_test(rekey_by_time),
		cmocka_unit_test(forward_secrecy),
		cmocka_unit_test(test_seed_reproducible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
