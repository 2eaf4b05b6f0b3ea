/* ident_bench - the cost of identity sessions (rel_ident) on one core, for
 * `make bench`:
 *
 *   handshakes_per_sec=N   client hs_init + server hs_respond (allowed
 *                          list of one) + client hs_finish, sessions freed
 *   seal_open_per_sec=N    a 1200-byte SEALED datagram (1164-byte inner
 *                          packet) sealed by one side and opened by the other
 *   seal_open_mbytes=N     the same in MB/s of SEALED bytes (10^6)
 *
 * Each figure is the median of 3 runs of at least SECONDS (default 1).
 * usage: ident_bench [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rel.h"
#include "rel_ident.h"
#include "rel_ident_int.h"
#include "seal_ident.h"

#define RUNS 3
#define DGRAM 1200

static const uint8_t PRO[40] = {0x75, 1, 3, 0x10};
static const uint8_t ACC[28] = {0x75, 1, 4, 0x10};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "ident_bench: %s: %d\n", what, rc);
	exit(1);
}

struct bench {
	struct seal_ident *ck, *sk;
	struct seal_allowed *al;
	struct rel_ident *cli, *srv;
};

static void setup(struct bench *b)
{
	int rc;
	if ((rc = seal_ident_generate(&b->ck)) < 0 || (rc = seal_ident_generate(&b->sk)) < 0)
		die("seal_ident_generate", rc);
	char text[64];
	seal_ident_pub_format(seal_ident_public(b->ck), text, sizeof text);
	memcpy(text + 44, " c\n", 3);
	size_t bad;
	if ((rc = seal_allowed_parse(&b->al, text, 47, &bad)) < 0)
		die("seal_allowed_parse", rc);
	struct rel_ident_config c;
	rel_ident_config_default(&c);
	c.static_priv = seal_ident_private(b->ck);
	c.peer_key = seal_ident_public(b->sk);
	if ((rc = rel_ident_new(&b->cli, &c)) < 0)
		die("rel_ident_new", rc);
	rel_ident_config_default(&c);
	c.static_priv = seal_ident_private(b->sk);
	c.allowed = b->al;
	if ((rc = rel_ident_new(&b->srv, &c)) < 0)
		die("rel_ident_new", rc);
}

static void handshake(struct bench *b, void **cs, void **ss)
{
	uint8_t m1[128], m2[128], pl[64];
	int n1 = rel_ident_hs_init(b->cli, cs, NULL, PRO, sizeof PRO, m1, sizeof m1, 0);
	if (n1 < 0)
		die("hs_init", n1);
	int n2 = rel_ident_hs_respond(b->srv, ss, PRO, sizeof PRO, m1, (size_t)n1, ACC, sizeof ACC,
				      m2, sizeof m2, 0);
	if (n2 < 0)
		die("hs_respond", n2);
	int rc = rel_ident_hs_finish(b->cli, *cs, m2, (size_t)n2, pl, sizeof pl, 0);
	if (rc < 0)
		die("hs_finish", rc);
}

static double run_handshakes(struct bench *b, double secs)
{
	long n = 0;
	double t0 = now(), t;
	do {
		for (int k = 0; k < 16; k++, n++) {
			void *cs, *ss;
			handshake(b, &cs, &ss);
			rel_ident_sess_free(b->cli, cs);
			rel_ident_sess_free(b->srv, ss);
		}
		t = now();
	} while (t - t0 < secs);
	return (double)n / (t - t0);
}

static double run_seal_open(struct bench *b, double secs)
{
	void *cs, *ss;
	handshake(b, &cs, &ss);
	static uint8_t pkt[DGRAM - RI_OVERHEAD], sealed[DGRAM], back[DGRAM];
	memset(pkt, 0xab, sizeof pkt);
	pkt[0] = 0x75;
	pkt[1] = 1;
	pkt[2] = 5;
	long n = 0;
	double t0 = now(), t;
	do {
		for (int k = 0; k < 256; k++, n++) {
			int m = rel_ident_seal(b->cli, cs, pkt, sizeof pkt, sealed, sizeof sealed, 0);
			if (m != DGRAM)
				die("seal", m);
			int rc = rel_ident_open(b->srv, ss, sealed, (size_t)m, back, sizeof back, 0);
			if (rc != (int)sizeof pkt)
				die("open", rc);
		}
		t = now();
	} while (t - t0 < secs);
	rel_ident_sess_free(b->cli, cs);
	rel_ident_sess_free(b->srv, ss);
	return (double)n / (t - t0);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double (*fn)(struct bench *, double), struct bench *b, double secs)
{
	double r[RUNS];
	for (int k = 0; k < RUNS; k++)
		r[k] = fn(b, secs);
	qsort(r, RUNS, sizeof r[0], cmp);
	return r[RUNS / 2];
}

int main(int argc, char **argv)
{
	double secs = 1.0;
	if (argc > 2 || (argc == 2 && ((secs = strtod(argv[1], NULL)) <= 0 || secs > 600))) {
		fprintf(stderr, "usage: ident_bench [SECONDS per run, default 1]\n");
		return 2;
	}
	struct bench b;
	memset(&b, 0, sizeof b);
	setup(&b);
	double hs = median(run_handshakes, &b, secs);
	double so = median(run_seal_open, &b, secs);
	printf("handshakes_per_sec=%.0f\n", hs);
	printf("seal_open_per_sec=%.0f\n", so);
	printf("seal_open_mbytes=%.1f\n", so * DGRAM / 1e6);
	rel_ident_free(b.cli);
	rel_ident_free(b.srv);
	seal_allowed_free(b.al);
	seal_ident_free(b.ck);
	seal_ident_free(b.sk);
	return 0;
}
