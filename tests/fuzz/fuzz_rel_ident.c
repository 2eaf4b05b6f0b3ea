/* fuzz_rel_ident.c - arbitrary bytes into rel_ident's hook: as message 1
 * to a responder, as message 2 to an initiator that sent message 1, or as
 * a SEALED datagram to an established session.
 *
 * The first byte picks: bits 0-1 the role (0 message 1, 1 message 2, 2 or
 * 3 SEALED from the client or the server), bit 2 IK or IKpsk2.  Keys and
 * ephemerals are fixed (test_seed), so the genuine bytes are the same on
 * every run and the seeds stay valid.  Besides not crashing: anything
 * accepted is byte for byte a genuine message (the fuzzer holds no key, so
 * it can only replay), a refusal changes nothing (the genuine message or
 * packets still go through afterwards), and what open() returns is the
 * genuine plaintext.
 *
 * Built with -DFUZZ_REL_IDENT_SEEDS and linked against libudpkit.a, the
 * file writes its seed corpus into the directory given as argument. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "rel.h"
#include "rel_ident.h"
#include "rel_ident_int.h"
#include "seal_ident.h"
#include "seal_noise.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define NPKT 4

static const uint8_t PRO[40] = {0x75, 1, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9};
static const uint8_t ACC[28] = {0x75, 1, 4, 0x10, 0, 0, 0, 1, 0, 0, 0, 2, 8};

struct world {
	struct rel_ident *cli, *srv;
	struct seal_allowed *al;
	void *cs, *ss;
	uint8_t m1[128], m2[128];
	int n1, n2;
	/* genuine packets each way (client's first), plaintext and sealed */
	uint8_t pt[2][NPKT][64], sealed[2][NPKT][128];
	int nsealed[2][NPKT];
};

static struct rel_ident *ctx(uint8_t me, const uint8_t *peer, const struct seal_allowed *al,
			     int psk, uint64_t seed)
{
	uint8_t priv[32], pk[32];
	memset(priv, me, sizeof priv);
	memset(pk, 5, sizeof pk);
	struct rel_ident_config c;
	rel_ident_config_default(&c);
	c.static_priv = priv;
	c.peer_key = peer;
	c.allowed = al;
	c.psk = psk ? pk : NULL;
	c.rekey_after_pkts = 2; /* both phases among the genuine packets */
	c.test_seed = seed;
	struct rel_ident *ri = NULL;
	check(rel_ident_new(&ri, &c) == 0);
	return ri;
}

static void inner(uint8_t *p, int from_client, int k)
{
	memset(p, 0x30 + k, 64);
	p[0] = 0x75;
	p[1] = 1;
	p[2] = 5;
	p[3] = 0;
	memcpy(p + 4, from_client ? "\0\0\0\2\0\0\0\1" : "\0\0\0\1\0\0\0\2", 8);
}

/* Up to `upto`: 1 message 1 written, 2 message 2 written (server keyed),
 * 3 client keyed and packets sealed. */
static void world_new(struct world *w, int psk, int upto)
{
	memset(w, 0, sizeof *w);
	uint8_t spriv[32], spub[32], cpriv[32], cpub[32];
	memset(spriv, 2, sizeof spriv);
	memset(cpriv, 1, sizeof cpriv);
	check(seal_noise_public(spub, spriv) == 0);
	check(seal_noise_public(cpub, cpriv) == 0);
	char text[80];
	check(seal_ident_pub_format(cpub, text, sizeof text) == 44);
	memcpy(text + 44, " client\n", 8);
	size_t bad;
	check(seal_allowed_parse(&w->al, text, 52, &bad) == 0);
	w->cli = ctx(1, spub, NULL, psk, 3);
	w->srv = ctx(2, NULL, w->al, psk, 4);
	w->n1 = rel_ident_hs_init(w->cli, &w->cs, NULL, PRO, sizeof PRO, w->m1, sizeof w->m1, 0);
	check(w->n1 == 96);
	if (upto < 2)
		return;
	w->n2 = rel_ident_hs_respond(w->srv, &w->ss, PRO, sizeof PRO, w->m1, (size_t)w->n1, ACC,
				     sizeof ACC, w->m2, sizeof w->m2, 0);
	check(w->n2 == 76);
	if (upto < 3)
		return;
	uint8_t pl[64];
	check(rel_ident_hs_finish(w->cli, w->cs, w->m2, (size_t)w->n2, pl, sizeof pl, 0) == 28);
	check(memcmp(pl, ACC, 28) == 0);
	for (int d = 0; d < 2; d++) {
		for (int k = 0; k < NPKT; k++) {
			inner(w->pt[d][k], d == 0, k);
			w->nsealed[d][k] = rel_ident_seal(d == 0 ? w->cli : w->srv, d == 0 ? w->cs : w->ss,
							  w->pt[d][k], 64, w->sealed[d][k],
							  sizeof w->sealed[d][k], 0);
			check(w->nsealed[d][k] == 100);
		}
	}
}

static void world_free(struct world *w)
{
	rel_ident_sess_free(w->cli, w->cs);
	rel_ident_sess_free(w->srv, w->ss);
	rel_ident_free(w->cli);
	rel_ident_free(w->srv);
	seal_allowed_free(w->al);
}

static void fuzz_msg1(struct world *w, const uint8_t *msg, size_t len)
{
	uint8_t m2[256];
	void *ss = NULL;
	int rc = rel_ident_hs_respond(w->srv, &ss, PRO, sizeof PRO, msg, len, ACC, sizeof ACC, m2,
				      sizeof m2, 0);
	if (rc >= 0) {
		check(len == (size_t)w->n1 && memcmp(msg, w->m1, len) == 0);
		check(ss != NULL);
		rel_ident_sess_free(w->srv, ss);
		return;
	}
	check(ss == NULL);
	check(rc == REL_EAUTH || rc == REL_EREFUSED);
	struct rel_ident_stats st;
	rel_ident_get_stats(w->srv, &st);
	check(st.handshakes == 0 && st.refused_auth + st.refused_unknown == 1);
}

static void fuzz_msg2(struct world *w, const uint8_t *msg, size_t len)
{
	uint8_t pl[SEAL_NOISE_MSG_MAX];
	int rc = rel_ident_hs_finish(w->cli, w->cs, msg, len, pl, sizeof pl, 0);
	if (rc >= 0) {
		check(len == (size_t)w->n2 && memcmp(msg, w->m2, len) == 0);
		return;
	}
	check(rc == REL_EAUTH);
	/* refused: the pending handshake takes the genuine message */
	check(rel_ident_hs_finish(w->cli, w->cs, w->m2, (size_t)w->n2, pl, sizeof pl, 0) == 28);
}

static void fuzz_sealed(struct world *w, int from_client, const uint8_t *in, size_t len)
{
	int d = from_client ? 0 : 1;
	struct rel_ident *rx = from_client ? w->srv : w->cli;
	void *sess = from_client ? w->ss : w->cs;
	uint8_t out[SEAL_NOISE_MSG_MAX];
	int took = -1;
	int rc = rel_ident_open(rx, sess, in, len, out, sizeof out, 0);
	if (rc >= 0) {
		for (int k = 0; k < NPKT; k++)
			if (len == (size_t)w->nsealed[d][k] && memcmp(in, w->sealed[d][k], len) == 0)
				took = k;
		check(took >= 0);
		check(rc == 64 && memcmp(out, w->pt[d][took], 64) == 0);
	} else {
		check(rc == REL_EAUTH || rc == REL_EMALFORMED);
	}
	/* the genuine packets open afterwards, but the one already taken */
	for (int k = 0; k < NPKT; k++) {
		rc = rel_ident_open(rx, sess, w->sealed[d][k], (size_t)w->nsealed[d][k], out,
				    sizeof out, 0);
		check(k == took ? rc == REL_EAUTH : rc == 64);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int what = data[0] & 3, psk = (data[0] >> 2) & 1;
	size_t len = size - 1;
	uint8_t *msg = malloc(len ? len : 1); /* exact size: over-reads show */
	check(msg);
	memcpy(msg, data + 1, len);
	struct world w;
	world_new(&w, psk, what == 0 ? 1 : what == 1 ? 2 : 3);
	if (what == 0)
		fuzz_msg1(&w, msg, len);
	else if (what == 1)
		fuzz_msg2(&w, msg, len);
	else
		fuzz_sealed(&w, what == 2, msg, len);
	world_free(&w);
	free(msg);
	return 0;
}

#ifdef FUZZ_REL_IDENT_SEEDS
#include <stdio.h>

static void put(const char *dir, const char *name, uint8_t first, const uint8_t *b, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	check(f);
	fputc(first, f);
	fwrite(b, 1, n, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	check(argc == 2);
	for (int psk = 0; psk < 2; psk++) {
		struct world w;
		world_new(&w, psk, 3);
		char name[64];
		uint8_t p = (uint8_t)(psk << 2);
		snprintf(name, sizeof name, "msg1-%s", psk ? "ikpsk2" : "ik");
		put(argv[1], name, p, w.m1, (size_t)w.n1);
		snprintf(name, sizeof name, "msg2-%s", psk ? "ikpsk2" : "ik");
		put(argv[1], name, p | 1, w.m2, (size_t)w.n2);
		for (int k = 0; k < NPKT; k += 2) {
			snprintf(name, sizeof name, "sealed-c%d-%s", k, psk ? "ikpsk2" : "ik");
			put(argv[1], name, p | 2, w.sealed[0][k], (size_t)w.nsealed[0][k]);
			snprintf(name, sizeof name, "sealed-s%d-%s", k, psk ? "ikpsk2" : "ik");
			put(argv[1], name, p | 3, w.sealed[1][k], (size_t)w.nsealed[1][k]);
		}
		world_free(&w);
	}
	return 0;
}
#endif
