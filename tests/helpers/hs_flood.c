/* hs_flood - a handshake flood from one real address, for tests/e2e/hs_flood.sh.
 *
 *   hs_flood --target 127.0.0.1:PORT [--source ADDR] [--secs S] [--socks N]
 *            [--per-cookie N] [--bad-cookie]
 *   hs_flood --dh-cost            (prints dh_us=N and exits)
 *
 * From N sockets of ADDR (127.0.0.1 by default) it runs the real cookie
 * exchange of the reliable protocol (docs/PROTOCOL.md 2.2-2.4) as fast as
 * the server answers: a HELLO with a new sid, and for each COOKIE
 * --per-cookie CONNECTs with the NOISE flag (section 9.1), each carrying a
 * new random 96-byte "message 1" (a fresh 32-byte ephemeral, then
 * garbage).  Each such CONNECT passes the cookie, so without the
 * handshake rate limit every one would cost the server its hook's
 * public-key work (an X25519 before the garbage fails to decrypt).
 * --bad-cookie flips a cookie bit: the same traffic, all dropped at the
 * cookie check, for a baseline of the server's per-packet cost.
 *
 * On the first COOKIE "hs_flood: flooding" on stdout; at the end:
 *   hs_flood: secs=S hellos=N cookies=N connects=N accepts=N other=N
 * --dh-cost times libsodium's X25519 (the least of the work a CONNECT
 * reaching the hook costs) on this machine, in CPU time.
 *
 * Only 127.0.0.0/8 is ever used, as source and as target; the flood ends
 * after --secs (at most 10). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rel_hash.h"

#define MAXSOCK 64
#define HELLO_LEN 64
#define COOKIE_LEN 28
#define CONNECT_LEN 140 /* 44 + Noise message 1 (96) */
#define T_HELLO 1
#define T_COOKIE 2
#define T_CONNECT 3
#define T_ACCEPT 4
#define F_NOISE 0x10

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void rnd(void *b, size_t n)
{
	if (getrandom(b, n, 0) != (ssize_t)n) {
		perror("hs_flood: getrandom");
		exit(1);
	}
}

static void header(uint8_t *b, int type, int flags, uint32_t dst, uint32_t src)
{
	b[0] = 0x75;
	b[1] = 1;
	b[2] = (uint8_t)type;
	b[3] = (uint8_t)flags;
	put32(b + 4, dst);
	put32(b + 8, src);
}

static void crc(uint8_t *b, size_t len)
{
	put32(b + len - 4, rel_crc32c(b, len - 4));
}

static int loopback(const char *s, struct sockaddr_in *a, int need_port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	if (hl >= sizeof host || (need_port && !colon))
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -1;
	if ((ntohl(a->sin_addr.s_addr) >> 24) != 127)
		return -1; /* loopback only */
	if (colon) {
		long p = strtol(colon + 1, NULL, 10);
		if (p < 1 || p > 65535)
			return -1;
		a->sin_port = htons((uint16_t)p);
	}
	return 0;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time, not wall time: it is compared with the server's CPU time, and
 * a loaded machine stretches the wall clock only */
static int dh_cost(void)
{
	uint8_t sk[32], pk[32], out[32];
	if (sodium_init() < 0)
		return 1;
	int n = 0;
	double t0 = cpu_s(), t;
	do {
		rnd(sk, sizeof sk);
		rnd(pk, sizeof pk);
		if (crypto_scalarmult(out, sk, pk) == 0) /* a low-order pk: rare */
			n++;
	} while ((t = cpu_s() - t0) < 0.2 || n < 100);
	printf("dh_us=%.1f\n", t * 1e6 / n);
	return 0;
}

struct st {
	unsigned long hellos, cookies, connects, accepts, other;
};

static void send_hello(int fd, const struct sockaddr_in *to, struct st *st)
{
	uint8_t b[HELLO_LEN] = { 0 };
	uint32_t sid;
	do
		rnd(&sid, sizeof sid);
	while (!sid);
	header(b, T_HELLO, 0, 0, sid);
	crc(b, sizeof b);
	if (sendto(fd, b, sizeof b, 0, (const struct sockaddr *)to, sizeof *to) == (ssize_t)sizeof b)
		st->hellos++;
}

static void send_connects(int fd, const struct sockaddr_in *to, const uint8_t *ck, int n,
			  int bad, struct st *st)
{
	uint8_t b[CONNECT_LEN];
	for (int i = 0; i < n; i++) {
		header(b, T_CONNECT, F_NOISE, 0, get32(ck + 4)); /* COOKIE's dst: our sid */
		memcpy(b + 12, ck + 12, 12);			 /* bucket, cookie */
		if (bad)
			b[23] ^= 1;
		rnd(b + 24, 4);		/* init_seq */
		put32(b + 28, 64);	/* window_pkts */
		put32(b + 32, 1 << 20); /* max_msg */
		put32(b + 36, 1 << 22); /* budget */
		rnd(b + 40, CONNECT_LEN - 44); /* a new ephemeral, garbage after */
		crc(b, sizeof b);
		if (sendto(fd, b, sizeof b, 0, (const struct sockaddr *)to, sizeof *to) ==
		    (ssize_t)sizeof b)
			st->connects++;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in to, from;
	const char *target = NULL, *source = "127.0.0.1";
	double secs = 2;
	int nsock = 16, per = 1, bad = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--dh-cost"))
			return dh_cost();
		if (!strcmp(a, "--bad-cookie")) {
			bad = 1;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(a, "--target"))
			target = v;
		else if (!strcmp(a, "--source"))
			source = v;
		else if (!strcmp(a, "--secs"))
			secs = atof(v);
		else if (!strcmp(a, "--socks"))
			nsock = atoi(v);
		else if (!strcmp(a, "--per-cookie"))
			per = atoi(v);
		else
			goto usage;
	}
	if (!target || loopback(target, &to, 1) < 0 || loopback(source, &from, 0) < 0 ||
	    !(secs > 0 && secs <= 10) || nsock < 1 || nsock > MAXSOCK || per < 1 || per > 64)
		goto usage;

	int fd[MAXSOCK];
	struct pollfd pf[MAXSOCK];
	double last[MAXSOCK];
	struct st st = { 0 };
	for (int i = 0; i < nsock; i++) {
		fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&from, sizeof from) < 0) {
			perror("hs_flood: socket");
			return 1;
		}
		pf[i] = (struct pollfd){ .fd = fd[i], .events = POLLIN };
	}
	double t0 = now_s(), end = t0 + secs, t;
	/* a few HELLOs in flight per socket; each COOKIE brings the next */
	for (int i = 0; i < nsock; i++) {
		for (int j = 0; j < 4; j++)
			send_hello(fd[i], &to, &st);
		last[i] = t0;
	}
	while ((t = now_s()) < end) {
		int ms = (int)((end - t) * 1000) + 1;
		(void)poll(pf, (nfds_t)nsock, ms < 5 ? ms : 5);
		t = now_s();
		for (int i = 0; i < nsock; i++) {
			uint8_t b[2048];
			ssize_t n;
			while ((n = recv(fd[i], b, sizeof b, 0)) > 0) {
				last[i] = t;
				if (n < 16 || b[0] != 0x75 || b[1] != 1 ||
				    get32(b + n - 4) != rel_crc32c(b, (size_t)n - 4)) {
					st.other++;
				} else if (b[2] == T_COOKIE && n == COOKIE_LEN) {
					if (!st.cookies++) { /* the script waits for this */
						printf("hs_flood: flooding\n");
						fflush(stdout);
					}
					send_connects(fd[i], &to, b, per, bad, &st);
					send_hello(fd[i], &to, &st);
				} else if (b[2] == T_ACCEPT) {
					st.accepts++;
				} else {
					st.other++;
				}
			}
			/* a HELLO or COOKIE lost (a full queue somewhere): go on */
			if (t - last[i] > 0.02) {
				send_hello(fd[i], &to, &st);
				last[i] = t;
			}
		}
	}
	printf("hs_flood: secs=%.2f hellos=%lu cookies=%lu connects=%lu accepts=%lu other=%lu\n",
	       now_s() - t0, st.hellos, st.cookies, st.connects, st.accepts, st.other);
	for (int i = 0; i < nsock; i++)
		close(fd[i]);
	return 0;
usage:
	fprintf(stderr, "hs_flood: usage: --target 127.x.x.x:PORT [--source 127.x.x.x] [--secs S<=10] "
			"[--socks N<=64] [--per-cookie N<=64] [--bad-cookie] | --dh-cost\n");
	return 2;
}
