/* cmocka tests for rel_ident, handshake and admission: the
 * rel_crypto_ops hook driven by hand, a client and a server context
 * passing the core's bytes between them (support_ident.h).  SEALED
 * packets, replay, key phases and forward secrecy are in
 * test_rel_ident_sealed.c; pairs of real cores in test_rel_ident_pair.c. */
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
#include "support_ident.h"

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
	struct sid_key k = sid_key_new();
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
	struct rel_ident_stats st = sid_stats(ri);
	assert_int_equal(st.handshakes + st.refused_auth + st.refused_unknown + st.drop_auth, 0);
	rel_ident_free(ri);
	rel_ident_free(NULL);
	rel_ident_sess_free(NULL, NULL);
	seal_ident_free(k.id);
}

static void handshake_ok_both_ways(void **state)
{
	(void)state;
	struct sid_key ck = sid_key_new(), sk = sid_key_new();
	struct seal_allowed *al = sid_allowed_of(&ck, "alice");
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub});
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){.allowed = al});

	struct sid_hs h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	assert_memory_equal(h.pl, SID_ACCEPT, sizeof SID_ACCEPT); /* the payload the core compares */
	assert_int_equal(sid_stats(cli).handshakes, 1);
	assert_int_equal(sid_stats(srv).handshakes, 1);

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
		size_t n = sid_inner(pt, 1, (uint8_t)k, 100);
		int m = rel_ident_seal(cli, h.c, pt, n, sealed, sizeof sealed, 2000);
		assert_int_equal(m, 100 + 36);
		assert_int_equal(sealed[2], 12);
		assert_int_equal(sealed[3], 0);
		assert_memory_equal(sealed + 4, pt + 4, 8);
		assert_int_equal(sid_counter_of(sealed), (uint64_t)k);
		assert_int_equal(rel_ident_open(srv, h.s, sealed, (size_t)m, back, sizeof back, 2000), 100);
		assert_memory_equal(back, pt, 100);
		n = sid_inner(pt, 0, (uint8_t)(k + 50), 60);
		m = rel_ident_seal(srv, h.s, pt, n, sealed, sizeof sealed, 2000);
		assert_int_equal(rel_ident_open(cli, h.c, sealed, (size_t)m, back, sizeof back, 2000), 60);
		assert_memory_equal(back, pt, 60);
	}
	/* a direction's packet does not open as the other direction's */
	size_t n = sid_inner(pt, 1, 9, 40);
	int m = rel_ident_seal(cli, h.c, pt, n, sealed, sizeof sealed, 2000);
	assert_int_equal(rel_ident_open(cli, h.c, sealed, (size_t)m, back, sizeof back, 2000), REL_EAUTH);
	/* a repeated ACCEPT after the keys are set changes nothing */
	assert_int_equal(rel_ident_hs_finish(cli, h.c, h.m2, (size_t)h.n2, h.pl, sizeof h.pl, 3000),
			 REL_EUNEXPECTED);
	assert_int_equal(rel_ident_open(srv, h.s, sealed, (size_t)m, back, sizeof back, 2000), 40);
	sid_hs_free(cli, srv, &h);
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
	struct sid_key ck = sid_key_new(), sk = sid_key_new(), other = sid_key_new();
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){0});
	struct rel_ident *cli2 = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = other.pub});
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){0});
	void *cs = (void *)1;
	uint8_t m1[200];
	assert_int_equal(rel_ident_hs_init(cli, &cs, NULL, SID_PROLOGUE, sizeof SID_PROLOGUE, m1,
					   sizeof m1, 0),
			 REL_EREFUSED);
	assert_ptr_equal(cs, (void *)1); /* set only on success */
	assert_int_equal(rel_ident_hs_init(cli, &cs, sk.pub, SID_PROLOGUE, sizeof SID_PROLOGUE, m1, 95, 0),
			 UDP_ENOSPACE);
	assert_ptr_equal(cs, (void *)1);
	struct sid_hs h = sid_handshake_arg(cli, srv, sk.pub);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	sid_hs_free(cli, srv, &h);
	/* the argument wins over the configured key */
	h = sid_handshake_arg(cli2, srv, sk.pub);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	struct rel_ident_peer p;
	assert_int_equal(rel_ident_sess_peer(h.c, &p), 0);
	assert_memory_equal(p.key, sk.pub, 32);
	sid_hs_free(cli2, srv, &h);
	/* nothing before message 2 */
	assert_true(rel_ident_hs_init(cli, &cs, sk.pub, SID_PROLOGUE, sizeof SID_PROLOGUE, m1,
				      sizeof m1, 0) > 0);
	assert_int_equal(rel_ident_sess_peer(cs, &p), REL_ENOTCONN);
	uint8_t pt[40], out[100];
	assert_int_equal(rel_ident_seal(cli, cs, pt, sid_inner(pt, 1, 0, 40), out, sizeof out, 0),
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
	struct sid_key ck = sid_key_new(), sk = sid_key_new(), other = sid_key_new();
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = other.pub});
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){0});
	struct sid_hs h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EAUTH);
	assert_null(h.s);
	assert_int_equal(sid_stats(srv).refused_auth, 1);
	assert_int_equal(sid_stats(srv).handshakes, 0);
	sid_hs_free(cli, srv, &h);

	/* the right key now; message 2 forged, then from another handshake */
	struct rel_ident *cli_ok = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub});
	void *cs, *ss, *ss2;
	uint8_t m1[200], m1b[200], m2[200], m2b[200], pl[64];
	int n1 = rel_ident_hs_init(cli_ok, &cs, NULL, SID_PROLOGUE, sizeof SID_PROLOGUE, m1, sizeof m1, 0);
	int n1b = rel_ident_hs_init(cli_ok, &ss2, NULL, SID_PROLOGUE, sizeof SID_PROLOGUE, m1b,
				    sizeof m1b, 0);
	rel_ident_sess_free(cli_ok, ss2);
	int n2 = rel_ident_hs_respond(srv, &ss, SID_PROLOGUE, sizeof SID_PROLOGUE, m1, (size_t)n1,
				      SID_ACCEPT, sizeof SID_ACCEPT, m2, sizeof m2, 0);
	assert_int_equal(n2, 76);
	int n2b = rel_ident_hs_respond(srv, &ss2, SID_PROLOGUE, sizeof SID_PROLOGUE, m1b, (size_t)n1b,
				       SID_ACCEPT, sizeof SID_ACCEPT, m2b, sizeof m2b, 0);
	assert_int_equal(n2b, 76);
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2b, (size_t)n2b, pl, sizeof pl, 0), REL_EAUTH);
	m2[40] ^= 1;
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2, (size_t)n2, pl, sizeof pl, 0), REL_EAUTH);
	m2[40] ^= 1;
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2, 20, pl, sizeof pl, 0), REL_EAUTH);
	assert_int_equal(sid_stats(cli_ok).refused_auth, 3);
	assert_int_equal(rel_ident_hs_finish(cli_ok, cs, m2, (size_t)n2, pl, sizeof pl, 0), 28);
	assert_int_equal(sid_stats(cli_ok).handshakes, 1);
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
	struct sid_key ck = sid_key_new(), sk = sid_key_new(), listed = sid_key_new();
	struct seal_allowed *al = sid_allowed_of(&listed, "bob");
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub});
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){.allowed = al});
	struct sid_hs h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_null(h.s);
	assert_int_equal(sid_stats(srv).refused_unknown, 1);
	assert_int_equal(sid_stats(srv).refused_auth, 0);
	assert_int_equal(sid_stats(srv).handshakes, 0);
	sid_hs_free(cli, srv, &h);
	/* the listed one gets in, named */
	struct rel_ident *cli2 = sid_ctx_new(&listed, &(struct sid_ctx_opts){.peer_key = sk.pub});
	h = sid_handshake(cli2, srv);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	struct rel_ident_peer p;
	assert_int_equal(rel_ident_sess_peer(h.s, &p), 0);
	assert_string_equal(p.name, "bob");
	sid_hs_free(cli2, srv, &h);
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
	struct sid_key ck = sid_key_new(), sk = sid_key_new();
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub});
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){0});
	void *cs, *ss;
	uint8_t m1[200], m2[200], pro[sizeof SID_PROLOGUE];
	int n1 = rel_ident_hs_init(cli, &cs, NULL, SID_PROLOGUE, sizeof SID_PROLOGUE, m1, sizeof m1, 0);
	for (size_t at = 0; at < sizeof pro; at++) {
		memcpy(pro, SID_PROLOGUE, sizeof pro);
		pro[at] ^= 0x40;
		assert_int_equal(rel_ident_hs_respond(srv, &ss, pro, sizeof pro, m1, (size_t)n1,
						      SID_ACCEPT, sizeof SID_ACCEPT, m2, sizeof m2, 0),
				 REL_EAUTH);
	}
	assert_int_equal(sid_stats(srv).refused_auth, sizeof pro);
	assert_true(rel_ident_hs_respond(srv, &ss, SID_PROLOGUE, sizeof SID_PROLOGUE, m1, (size_t)n1,
					 SID_ACCEPT, sizeof SID_ACCEPT, m2, sizeof m2, 0) > 0);
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
	struct sid_key ck = sid_key_new(), sk = sid_key_new();
	uint8_t p1[32], p2[32];
	memset(p1, 0x31, sizeof p1);
	memset(p2, 0x32, sizeof p2);
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){.psk = p1});
	/* the same PSK: in */
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub, .psk = p1});
	struct sid_hs h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	sid_hs_free(cli, srv, &h);
	rel_ident_free(cli);
	/* another PSK: the PSK enters at message 2, so the client refuses */
	cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub, .psk = p2});
	h = sid_handshake(cli, srv);
	assert_true(h.rc_respond > 0);
	assert_int_equal(h.rc_finish, REL_EAUTH);
	assert_int_equal(sid_stats(cli).refused_auth, 1);
	assert_int_equal(sid_stats(cli).handshakes, 0);
	sid_hs_free(cli, srv, &h);
	rel_ident_free(cli);
	/* no PSK against a server that wants one: another protocol name,
	 * message 1 does not even read */
	cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub});
	h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EAUTH);
	assert_int_equal(sid_stats(srv).refused_auth, 1);
	sid_hs_free(cli, srv, &h);
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
	struct sid_key ck = sid_key_new(), sk = sid_key_new(), stranger = sid_key_new();
	struct seal_allowed *al = sid_allowed_of(&ck, "carol");
	struct auth_seen seen = {.verdict = -1};
	struct rel_ident *srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){.allowed = al,
								 .authorize = authorize_cb,
								 .authorize_arg = &seen});
	struct rel_ident *cli = sid_ctx_new(&ck, &(struct sid_ctx_opts){.peer_key = sk.pub});
	struct sid_hs h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_int_equal(seen.calls, 1);
	assert_memory_equal(seen.key, ck.pub, 32);
	assert_int_equal(sid_stats(srv).refused_unknown, 1);
	sid_hs_free(cli, srv, &h);
	/* a key off the list is refused before the callback is asked */
	struct rel_ident *cli2 = sid_ctx_new(&stranger, &(struct sid_ctx_opts){.peer_key = sk.pub});
	h = sid_handshake(cli2, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(sid_stats(srv).refused_unknown, 2);
	sid_hs_free(cli2, srv, &h);
	/* the callback says yes */
	seen.verdict = 0;
	h = sid_handshake(cli, srv);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	assert_int_equal(seen.calls, 2);
	sid_hs_free(cli, srv, &h);
	rel_ident_free(srv);
	/* no list: the callback alone decides, for any key */
	seen.verdict = -1;
	srv = sid_ctx_new(&sk, &(struct sid_ctx_opts){.authorize = authorize_cb, .authorize_arg = &seen});
	h = sid_handshake(cli2, srv);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_memory_equal(seen.key, stranger.pub, 32);
	sid_hs_free(cli2, srv, &h);
	rel_ident_free(srv);
	rel_ident_free(cli);
	rel_ident_free(cli2);
	seal_allowed_free(al);
	seal_ident_free(ck.id);
	seal_ident_free(sk.id);
	seal_ident_free(stranger.id);
}

/* test_seed makes a context's handshakes reproducible (and only then). */
static void test_seed_reproducible(void **state)
{
	(void)state;
	struct sid_key ck = sid_key_new(), sk = sid_key_new();
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
		assert_int_equal(rel_ident_hs_init(ri, &s, NULL, SID_PROLOGUE, sizeof SID_PROLOGUE, m[r],
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
		cmocka_unit_test(test_seed_reproducible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
