/* cmocka tests for rel_ident after the handshake: SEALED packets
 * (tampering, replay, reordering, forgery by a PSK holder), key phases
 * and forward secrecy, on a client and a server context passing bytes by
 * hand (support_ident.h).  The handshake and admission are in
 * test_rel_ident.c. */
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

/* ---- SEALED packets ---- */

static void tampered_dropped(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 0, 0, 0);
	uint8_t pkt[128], bad[128];
	size_t n = sid_c2s(&p, 1, pkt, sizeof pkt, 0);
	uint64_t drops = 0;
	/* every flipped byte: header (associated data), ciphertext, tag */
	for (size_t at = 0; at < n; at++) {
		memcpy(bad, pkt, n);
		bad[at] ^= 0x04;
		assert_true(sid_s_open(&p, bad, n) < 0);
		drops++;
	}
	/* every truncation */
	for (size_t len = 0; len < n; len++) {
		assert_true(sid_s_open(&p, pkt, len) < 0);
		drops++;
	}
	assert_int_equal(sid_stats(p.srv).drop_auth, drops);
	assert_int_equal(sid_stats(p.srv).drop_replay, 0);
	/* none moved the window: the genuine packet opens after all of them */
	assert_int_equal(sid_s_open(&p, pkt, n), 64);
	/* an authentic packet whose inner sids are not the outer ones (only
	 * a key holder could make it, but it is refused all the same) */
	struct rel_ident_sess *cs = p.h.c;
	uint8_t pt[64];
	sid_inner(pt, 1, 3, sizeof pt);
	memcpy(bad, pkt, 20);
	bad[19] = 99; /* counter 99 */
	pt[11] ^= 1;
	int m = seal_noise_encrypt(cs->tx, 99, bad, 20, pt, sizeof pt, bad + 20, sizeof bad - 20);
	assert_int_equal(m, 80);
	assert_int_equal(sid_s_open(&p, bad, 100), REL_EMALFORMED);
	assert_int_equal(sid_stats(p.srv).drop_auth, drops + 1);
	pt[11] ^= 1;
	m = seal_noise_encrypt(cs->tx, 99, bad, 20, pt, sizeof pt, bad + 20, sizeof bad - 20);
	assert_int_equal(sid_s_open(&p, bad, 100), 64); /* counter 99 was not taken */
	sid_pair_free(&p);
}

static void replay_dropped(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 0, 0, 0);
	uint8_t a[128], b[128];
	size_t na = sid_c2s(&p, 1, a, sizeof a, 0), nb = sid_c2s(&p, 2, b, sizeof b, 0);
	assert_int_equal(sid_s_open(&p, b, nb), 64);
	assert_int_equal(sid_s_open(&p, b, nb), REL_EAUTH);
	assert_int_equal(sid_s_open(&p, a, na), 64);
	assert_int_equal(sid_s_open(&p, a, na), REL_EAUTH);
	assert_int_equal(sid_stats(p.srv).drop_replay, 2);
	assert_int_equal(sid_stats(p.srv).drop_auth, 0);
	sid_pair_free(&p);
}

/* Counters arrive in any order within the window (SEAL_REPLAY_WINDOW:
 * 8128 once the ring is 128 words); one further back is refused. */
static void reordered_within_window(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 0, 0, 0);
	const size_t W = SEAL_REPLAY_WINDOW, SZ = 100;
	uint8_t *pk = malloc((W + 1) * SZ);
	assert_non_null(pk);
	for (size_t k = 0; k <= W; k++)
		assert_int_equal(sid_c2s(&p, (uint8_t)k, pk + k * SZ, SZ, 0), SZ);
	assert_int_equal(sid_s_open(&p, pk + W * SZ, SZ), 64); /* the newest first */
	for (size_t k = W; k-- > 1;)
		assert_int_equal(sid_s_open(&p, pk + k * SZ, SZ), 64);
	assert_int_equal(sid_s_open(&p, pk, SZ), REL_EAUTH); /* W below the top */
	assert_int_equal(sid_stats(p.srv).drop_replay, 1);
	assert_int_equal(sid_stats(p.srv).drop_auth, 0);
	free(pk);
	sid_pair_free(&p);
}

/* Someone with the group PSK but not this session's keys: refused at
 * the door without an allowed identity, and a packet sealed under keys
 * of their own session (a forged high counter) opens nothing and moves
 * no window. */
static void psk_holder_cannot_forge(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 0, 0, 1);
	struct sid_key mk = sid_key_new(), mk2 = sid_key_new();
	struct seal_allowed *al = sid_allowed_of(&p.ck, "client");
	struct rel_ident *guarded =
		sid_ctx_new(&p.sk, &(struct sid_ctx_opts){.allowed = al, .psk = p.psk});
	struct rel_ident *mallory =
		sid_ctx_new(&mk, &(struct sid_ctx_opts){.peer_key = p.sk.pub, .psk = p.psk});
	struct sid_hs h = sid_handshake(mallory, guarded);
	assert_int_equal(h.rc_respond, REL_EREFUSED);
	assert_int_equal(sid_stats(guarded).refused_unknown, 1);
	sid_hs_free(mallory, guarded, &h);
	/* Mallory's own session with a server of hers, same PSK */
	struct rel_ident *msrv = sid_ctx_new(&mk2, &(struct sid_ctx_opts){.psk = p.psk});
	struct rel_ident *mcli =
		sid_ctx_new(&mk, &(struct sid_ctx_opts){.peer_key = mk2.pub, .psk = p.psk});
	h = sid_handshake(mcli, msrv);
	assert_int_equal(h.rc_finish, sizeof SID_ACCEPT);
	struct rel_ident_sess *ms = h.c;
	ms->tx_ctr = 1000000; /* far ahead of the real client */
	uint8_t pt[64], forged[128], ok[128];
	for (int phase = 0; phase < 2; phase++) {
		int m = rel_ident_seal(mcli, ms, pt, sid_inner(pt, 1, 7, sizeof pt), forged, sizeof forged, 0);
		forged[3] = (uint8_t)phase;
		assert_int_equal(sid_s_open(&p, forged, (size_t)m), REL_EAUTH);
	}
	assert_int_equal(sid_stats(p.srv).drop_auth, 2);
	/* the real client's counter 0 still opens: the window did not move */
	size_t n = sid_c2s(&p, 1, ok, sizeof ok, 0);
	assert_int_equal(sid_counter_of(ok), 0);
	assert_int_equal(sid_s_open(&p, ok, n), 64);
	struct rel_ident_sess *ss = p.h.s;
	assert_int_equal(ss->replay.top, 0);
	assert_int_equal(ss->rx_phase, 0); /* nor did a forged phase bit turn a key */
	sid_hs_free(mcli, msrv, &h);
	rel_ident_free(mcli);
	rel_ident_free(msrv);
	rel_ident_free(mallory);
	rel_ident_free(guarded);
	seal_allowed_free(al);
	seal_ident_free(mk.id);
	seal_ident_free(mk2.id);
	sid_pair_free(&p);
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
	int found = same_key(s->tx, k) || same_key(s->rx, k) || same_key(s->rx_prev, k);
	for (int i = 0; i < RI_AHEAD; i++)
		found = found || same_key(s->rx_ahead[i], k);
	return found;
}

static void rekey_by_count(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 4, 0, 0);
	struct rel_ident_sess *cs = p.h.c, *ss = p.h.s;
	struct seal_noise_cipher *key0;
	assert_int_equal(seal_noise_cipher_clone(&key0, cs->tx), 0);
	uint8_t pk[12][128];
	size_t n[12];
	for (int k = 0; k < 12; k++) {
		n[k] = sid_c2s(&p, (uint8_t)k, pk[k], sizeof pk[k], 0);
		assert_int_equal(pk[k][3], (k / 4) % 2); /* 4 per phase */
		if (k == 4) /* one turn: the old send key is gone at once */
			assert_false(sess_has_key(cs, key0));
	}
	struct rel_ident_peer peer;
	assert_int_equal(rel_ident_sess_peer(cs, &peer), 0);
	assert_int_equal(peer.rekeys_sent, 2);
	/* in order up to the first turn (but 1, lost for now), then one of
	 * the old phase late */
	assert_int_equal(sid_s_open(&p, pk[0], n[0]), 64);
	assert_int_equal(sid_s_open(&p, pk[2], n[2]), 64);
	assert_int_equal(sid_s_open(&p, pk[4], n[4]), 64); /* the receiver follows */
	assert_int_equal(ss->rx_phase, 1);
	assert_true(same_key(ss->rx_prev, key0));
	assert_int_equal(sid_s_open(&p, pk[3], n[3]), 64); /* late, previous key */
	for (int k = 5; k < 8; k++)
		assert_int_equal(sid_s_open(&p, pk[k], n[k]), 64);
	assert_int_equal(sid_s_open(&p, pk[9], n[9]), 64); /* second turn */
	assert_int_equal(ss->rx_phase, 0);
	assert_int_equal(sid_s_open(&p, pk[8], n[8]), 64); /* late, the previous (phase 1) key */
	/* the phase-0 key of the first turn exists nowhere any more */
	assert_false(sess_has_key(ss, key0));
	assert_false(sess_has_key(cs, key0));
	/* packet 1 arrives now: its counter is fresh, its key is gone */
	assert_int_equal(sid_s_open(&p, pk[1], n[1]), REL_EAUTH);
	assert_int_equal(sid_stats(p.srv).drop_auth, 1);
	assert_int_equal(rel_ident_sess_peer(ss, &peer), 0);
	assert_int_equal(peer.rekeys_recv, 2);
	assert_int_equal(sid_stats(p.srv).rekeys, 2);
	assert_int_equal(sid_stats(p.cli).rekeys, 2);
	/* the other direction never turned */
	uint8_t pt[64], sealed[128], back[128];
	int m = rel_ident_seal(p.srv, ss, pt, sid_inner(pt, 0, 1, sizeof pt), sealed, sizeof sealed, 0);
	assert_int_equal(sealed[3], 0);
	assert_int_equal(rel_ident_open(p.cli, cs, sealed, (size_t)m, back, sizeof back, 0), 64);
	seal_noise_cipher_free(key0);
	sid_pair_free(&p);
}

/* Every packet of a phase lost (or two phases): the sender is a turn or
 * two ahead, perhaps under the bit the receiver is on.  The receiver
 * still follows, and late packets of the skipped phase still open. */
static void rekey_across_lost_phases(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 4, 0, 0);
	struct rel_ident_sess *ss = p.h.s;
	uint8_t pk[20][128];
	size_t n[20];
	for (int k = 0; k < 20; k++)
		n[k] = sid_c2s(&p, (uint8_t)k, pk[k], sizeof pk[k], 0);
	for (int k = 0; k < 4; k++)
		assert_int_equal(sid_s_open(&p, pk[k], n[k]), 64);
	/* phase 1 (4..7) lost: phase 2 has the bit of phase 0 */
	assert_int_equal(pk[8][3], 0);
	assert_int_equal(sid_s_open(&p, pk[8], n[8]), 64);
	assert_int_equal(ss->rx_phase, 0);
	assert_int_equal(sid_s_open(&p, pk[5], n[5]), 64); /* late, the skipped phase */
	assert_int_equal(sid_s_open(&p, pk[9], n[9]), 64);
	/* phases 3 and 4 (12..19) lost but for 16: two turns ahead again */
	assert_int_equal(sid_s_open(&p, pk[16], n[16]), 64);
	assert_int_equal(ss->rx_phase, 0);
	assert_int_equal(sid_s_open(&p, pk[17], n[17]), 64);
	/* phase 2's keys are gone; phase 3's is the previous one */
	assert_int_equal(sid_s_open(&p, pk[10], n[10]), REL_EAUTH);
	assert_int_equal(sid_s_open(&p, pk[13], n[13]), 64);
	struct rel_ident_peer peer;
	assert_int_equal(rel_ident_sess_peer(ss, &peer), 0);
	assert_int_equal(peer.rekeys_recv, 4);
	assert_int_equal(sid_stats(p.srv).drop_auth, 1);
	/* a corrupted packet of the current phase turns nothing */
	uint8_t bad[128];
	memcpy(bad, pk[18], n[18]);
	bad[n[18] - 1] ^= 1;
	assert_int_equal(sid_s_open(&p, bad, n[18]), REL_EAUTH);
	assert_int_equal(ss->rx_phase, 0);
	assert_int_equal(sid_s_open(&p, pk[18], n[18]), 64);
	sid_pair_free(&p);
}

static void rekey_by_time(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 0, 10000, 0); /* 10 ms; the handshake was at t = 1000 */
	uint8_t a[128], b[128], c[128], d[128];
	size_t na = sid_c2s(&p, 1, a, sizeof a, 5000);
	size_t nb = sid_c2s(&p, 2, b, sizeof b, 10999);
	size_t nc = sid_c2s(&p, 3, c, sizeof c, 11000);
	size_t nd = sid_c2s(&p, 4, d, sizeof d, 16000);
	assert_int_equal(a[3], 0);
	assert_int_equal(b[3], 0);
	assert_int_equal(c[3], 1);
	assert_int_equal(d[3], 1);
	/* reordered across the turn: the new phase first */
	assert_int_equal(sid_s_open(&p, c, nc), 64);
	assert_int_equal(sid_s_open(&p, a, na), 64);
	assert_int_equal(sid_s_open(&p, d, nd), 64);
	assert_int_equal(sid_s_open(&p, b, nb), 64);
	/* a long silence turns the key once, at the next packet */
	nd = sid_c2s(&p, 5, d, sizeof d, 100000000);
	assert_int_equal(d[3], 0);
	nd = sid_c2s(&p, 6, d, sizeof d, 100000001);
	assert_int_equal(d[3], 0);
	assert_int_equal(sid_s_open(&p, d, nd), 64);
	assert_int_equal(sid_stats(p.cli).rekeys, 2);
	assert_int_equal(sid_stats(p.srv).rekeys, 2);
	sid_pair_free(&p);
}

/* ---- forward secrecy ---- */

/* A recording of message 1, message 2 and a transport packet, and then
 * both static private keys and the PSK: every fresh handshake that can
 * be run from the recording yields keys that do not open the packet. */
static void forward_secrecy(void **state)
{
	(void)state;
	struct sid_pair p;
	sid_pair_new(&p, 0, 0, 1);
	uint8_t m1[256], m2[256], rec[128], out[128];
	size_t n1 = (size_t)p.h.n1, n2 = (size_t)p.h.n2;
	memcpy(m1, p.h.m1, n1);
	memcpy(m2, p.h.m2, n2);
	size_t nrec = sid_c2s(&p, 0x42, rec, sizeof rec, 0);
	uint8_t srec[128];
	uint8_t pt[64];
	int nsrec = rel_ident_seal(p.srv, p.h.s, pt, sid_inner(pt, 0, 0x43, sizeof pt), srec,
				   sizeof srec, 0);
	assert_int_equal(sid_s_open(&p, rec, nrec), 64); /* it is a good packet */
	sid_hs_free(p.cli, p.srv, &p.h);                   /* the session ends */

	/* The attacker now holds both static keys and the PSK. */
	struct rel_ident *srv2 = sid_ctx_new(&p.sk, &(struct sid_ctx_opts){.psk = p.psk});
	struct rel_ident *cli2 =
		sid_ctx_new(&p.ck, &(struct sid_ctx_opts){.peer_key = p.sk.pub, .psk = p.psk});
	/* 1. message 1 replayed into a new responder: it accepts (message 1
	 * proves only the client's static key), but its keys do not open
	 * either direction of the recording */
	void *ss = NULL;
	uint8_t m2b[256];
	int n = rel_ident_hs_respond(srv2, &ss, SID_PROLOGUE, sizeof SID_PROLOGUE, m1, n1, SID_ACCEPT,
				     sizeof SID_ACCEPT, m2b, sizeof m2b, 0);
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
	assert_true(rel_ident_hs_init(cli2, &cs, NULL, SID_PROLOGUE, sizeof SID_PROLOGUE, m1b,
				      sizeof m1b, 0) > 0);
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
		uint8_t pro[12 + sizeof SID_PROLOGUE];
		memcpy(pro, "udpkit-rel-1", 12);
		memcpy(pro + 12, SID_PROLOGUE, sizeof SID_PROLOGUE);
		nc.prologue = pro;
		nc.prologue_len = sizeof pro;
		nc.test_ephemeral = eph;
		struct seal_noise *hs;
		assert_int_equal(seal_noise_new(&hs, &nc), 0);
		assert_int_equal(seal_noise_read(hs, m1, n1, pl, sizeof pl), 0);
		uint8_t rs[32];
		assert_int_equal(seal_noise_remote_static(hs, rs), 0);
		assert_memory_equal(rs, p.ck.pub, 32); /* the recording is real */
		assert_int_equal(seal_noise_write(hs, SID_ACCEPT, sizeof SID_ACCEPT, m2b, sizeof m2b), (int)n2);
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
	sid_pair_free(&p);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tampered_dropped),
		cmocka_unit_test(replay_dropped),
		cmocka_unit_test(reordered_within_window),
		cmocka_unit_test(psk_holder_cannot_forge),
		cmocka_unit_test(rekey_by_count),
		cmocka_unit_test(rekey_by_time),
		cmocka_unit_test(rekey_across_lost_phases),
		cmocka_unit_test(forward_secrecy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
