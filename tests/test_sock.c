/* cmocka tests for udp_sock.  All traffic stays on 127.0.0.1, ::1 and
 * AF_UNIX; multicast and broadcast run in a child inside a fresh network
 * namespace.  Every wait is bounded by poll() or SO_RCVTIMEO. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "udp_err.h"
#include "udp_sock.h"

#define WAIT_MS 2000

/* ---- helpers: addresses are built by hand, not with udp_addr ---- */

static struct udp_addr addr4(const char *ip, int port)
{
	struct udp_addr a;
	memset(&a, 0, sizeof a);
	a.u.in4.sin_family = AF_INET;
	a.u.in4.sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, ip, &a.u.in4.sin_addr), 1);
	a.len = sizeof a.u.in4;
	return a;
}

static struct udp_addr addr6(const char *ip, int port)
{
	struct udp_addr a;
	memset(&a, 0, sizeof a);
	a.u.in6.sin6_family = AF_INET6;
	a.u.in6.sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, ip, &a.u.in6.sin6_addr), 1);
	a.len = sizeof a.u.in6;
	return a;
}

/* name starting with '@' is abstract (no NUL terminator, as Linux wants). */
static struct udp_addr addr_unix(const char *name)
{
	struct udp_addr a;
	memset(&a, 0, sizeof a);
	a.u.un.sun_family = AF_UNIX;
	size_t n = strlen(name);
	assert_true(n < sizeof a.u.un.sun_path);
	memcpy(a.u.un.sun_path, name, n);
	if (name[0] == '@') {
		a.u.un.sun_path[0] = '\0';
		a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return a;
}

static int port_of(const struct udp_addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in4.sin_port);
	return ntohs(a->u.in6.sin6_port);
}

/* A socket bound to ip:0 (v4 or v6 by the text), its address in *local. */
static struct udp_sock *bound(const char *ip, struct udp_addr *local)
{
	struct udp_addr a = strchr(ip, ':') ? addr6(ip, 0) : addr4(ip, 0);
	struct udp_sock *s = NULL;
	assert_int_equal(udp_sock_open_bound(&s, &a, 0), 0);
	assert_non_null(s);
	if (local) {
		assert_int_equal(udp_sock_local_addr(s, local), 0);
		assert_int_not_equal(port_of(local), 0);
	}
	return s;
}

static struct udp_sock *bound_unix(const char *name)
{
	struct udp_addr a = addr_unix(name);
	struct udp_sock *s = NULL;
	assert_int_equal(udp_sock_open_bound(&s, &a, 0), 0);
	return s;
}

/* Unique names per process so parallel runs do not collide. */
static char tmpdir[64];

static void unix_path(char *out, size_t cap, const char *leaf)
{
	snprintf(out, cap, "%s/%s", tmpdir, leaf);
}

static void abstract_name(char *out, size_t cap, const char *leaf)
{
	snprintf(out, cap, "@udpkit-test-%ld-%s", (long)getpid(), leaf);
}

static int readable(struct udp_sock *s, int ms)
{
	struct pollfd p = { .fd = udp_sock_fd(s), .events = POLLIN };
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int addr_same(const struct udp_addr *a, const struct udp_addr *b)
{
	return a->len == b->len && memcmp(&a->u, &b->u, a->len) == 0;
}

/* Sends one datagram from tx and receives it on rx, checking bytes and the
 * peer address against tx_local (when given). */
static void roundtrip(struct udp_sock *tx, struct udp_sock *rx,
		      const struct udp_addr *to, const struct udp_addr *tx_local)
{
	const char msg[] = "hello, datagram";
	assert_int_equal(udp_sock_send(tx, msg, sizeof msg, to), (int)sizeof msg);
	assert_true(readable(rx, WAIT_MS));
	char buf[256];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(rx, &m), (int)sizeof msg);
	assert_int_equal(m.len, sizeof msg);
	assert_int_equal(m.wire_len, sizeof msg);
	assert_int_equal(m.flags, 0);
	assert_memory_equal(buf, msg, sizeof msg);
	if (tx_local)
		assert_true(addr_same(&m.addr, tx_local));
}

/* Receives exactly `want` datagrams into msgs with recv_batch, waiting
 * (bounded) between calls.  Returns how many came. */
static unsigned recv_all(struct udp_sock *rx, struct udp_msg *msgs, unsigned want)
{
	unsigned got = 0;
	while (got < want) {
		if (!readable(rx, WAIT_MS))
			break;
		int r = udp_sock_recv_batch(rx, msgs + got, want - got);
		assert_true(r >= 1);
		got += (unsigned)r;
	}
	return got;
}

/* Fills msg i with a recognisable pattern: 4-byte index, then i+j bytes. */
static void fill(uint8_t *p, size_t len, unsigned i)
{
	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)(i * 7 + j);
	if (len >= 4) {
		p[0] = (uint8_t)(i >> 24);
		p[1] = (uint8_t)(i >> 16);
		p[2] = (uint8_t)(i >> 8);
		p[3] = (uint8_t)i;
	}
}

static int check(const uint8_t *p, size_t len, unsigned i)
{
	uint8_t want[UDP_MAX_PAYLOAD];
	fill(want, len, i);
	return memcmp(p, want, len) == 0;
}

/* Sends n messages of sizes[i] (to dests[i % ndest]) with send_batch,
 * and checks each receiver gets its share in order with the right sizes. */
static void batch_case(struct udp_sock *tx, const size_t *sizes, unsigned n,
		       struct udp_sock **rx, const struct udp_addr *dests,
		       unsigned ndest, unsigned chunk)
{
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += sizes[i];
	uint8_t *data = malloc(total ? total : 1);
	struct udp_msg *msgs = calloc(n, sizeof *msgs);
	assert_non_null(data);
	assert_non_null(msgs);
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		msgs[i].buf = data + off;
		msgs[i].len = sizes[i];
		msgs[i].addr = dests[(i / chunk) % ndest];
		fill(data + off, sizes[i], i);
		off += sizes[i];
	}
	unsigned sent = 0;
	while (sent < n) {
		int r = udp_sock_send_batch(tx, msgs + sent, n - sent);
		assert_true(r >= 1);
		sent += (unsigned)r;
	}

	size_t cap = 65536;
	uint8_t *rbuf = malloc(cap * 8);
	struct udp_msg *in = calloc(n, sizeof *in);
	assert_non_null(rbuf);
	assert_non_null(in);
	for (unsigned d = 0; d < ndest; d++) {
		/* The indexes this receiver should see, in order. */
		unsigned want = 0;
		for (unsigned i = 0; i < n; i++)
			if ((i / chunk) % ndest == d)
				want++;
		unsigned got = 0;
		while (got < want) {
			/* Reuse a small window of buffers to keep memory low. */
			unsigned k = want - got < 8 ? want - got : 8;
			for (unsigned j = 0; j < k; j++)
				in[got + j] = (struct udp_msg){ .buf = rbuf + j * cap, .cap = cap };
			assert_true(readable(rx[d], WAIT_MS));
			int r = udp_sock_recv_batch(rx[d], in + got, k);
			assert_true(r >= 1);
			for (int j = 0; j < r; j++) {
				/* find the index of the (got+j)-th message for d */
				unsigned seen = 0, idx = 0;
				for (unsigned i = 0; i < n; i++) {
					if ((i / chunk) % ndest != d)
						continue;
					if (seen++ == got + (unsigned)j) {
						idx = i;
						break;
					}
				}
				struct udp_msg *m = &in[got + (unsigned)j];
				assert_int_equal(m->flags, 0);
				assert_int_equal(m->len, sizes[idx]);
				assert_int_equal(m->wire_len, sizes[idx]);
				assert_true(check(m->buf, m->len, idx));
			}
			got += (unsigned)r;
		}
		/* nothing extra (no duplicates) */
		assert_false(readable(rx[d], 20));
	}
	free(in);
	free(rbuf);
	free(msgs);
	free(data);
}

static void big_rcvbuf(struct udp_sock *s)
{
	assert_int_equal(udp_sock_set_buffers(s, 8 << 20, 0), 0);
}

/* ---- tests ---- */

static void open_rejects_bad_args(void **state)
{
	(void)state;
	struct udp_sock *s = (struct udp_sock *)1;
	assert_int_equal(udp_sock_open(&s, AF_PACKET, 0), UDP_EFAMILY);
	assert_null(s);
	assert_int_equal(udp_sock_open(NULL, AF_INET, 0), UDP_EINVAL);
	assert_int_equal(udp_sock_open(&s, AF_UNIX, UDP_SOCK_REUSEPORT), UDP_EFAMILY);
	assert_int_equal(udp_sock_open(&s, AF_INET, 1 << 20), UDP_EINVAL);
	struct udp_addr none = { .len = 0 };
	assert_int_equal(udp_sock_open_bound(&s, &none, 0), UDP_EINVAL);
	assert_int_equal(udp_sock_open_bound(&s, NULL, 0), UDP_EINVAL);
	udp_sock_free(NULL); /* a no-op */
	assert_int_equal(udp_sock_fd(NULL), -1);
	assert_int_equal(udp_sock_send(NULL, "x", 1, NULL), UDP_EINVAL);
	assert_int_equal(udp_sock_recv(NULL, NULL), UDP_EINVAL);

	assert_int_equal(udp_sock_open(&s, AF_INET, 0), 0);
	struct udp_msg m = { .buf = NULL, .cap = 0 };
	assert_int_equal(udp_sock_recv_batch(s, &m, 0), UDP_EINVAL);
	assert_int_equal(udp_sock_send_batch(s, &m, 0), UDP_EINVAL);
	/* binding to another family's address is refused clearly */
	struct udp_addr v6 = addr6("::1", 0);
	assert_int_equal(udp_sock_bind(s, &v6), UDP_EFAMILY);
	assert_int_equal(udp_sock_family(s), AF_INET);
	int fl = fcntl(udp_sock_fd(s), F_GETFD);
	assert_true(fl & FD_CLOEXEC);
	udp_sock_free(s);
}

static void bind_port0_v4(void **state)
{
	(void)state;
	struct udp_addr a;
	struct udp_sock *s = bound("127.0.0.1", &a);
	assert_int_equal(a.u.sa.sa_family, AF_INET);
	assert_int_equal(ntohl(a.u.in4.sin_addr.s_addr), INADDR_LOOPBACK);
	/* the port really is ours: a second bind to it fails */
	struct udp_sock *t = NULL;
	assert_int_equal(udp_sock_open_bound(&t, &a, 0), UDP_ESYS);
	assert_int_equal(errno, EADDRINUSE);
	assert_null(t);
	udp_sock_free(s);
}

static void bind_port0_v6(void **state)
{
	(void)state;
	struct udp_addr a;
	struct udp_sock *s = bound("::1", &a);
	assert_int_equal(a.u.sa.sa_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a.u.in6.sin6_addr));
	assert_int_equal(udp_sock_family(s), AF_INET6);
	udp_sock_free(s);
}

static void reuse_flags_share_port(void **state)
{
	(void)state;
	struct udp_addr a = addr4("127.0.0.1", 0), la;
	struct udp_sock *s1, *s2;
	int fl = UDP_SOCK_REUSEADDR | UDP_SOCK_REUSEPORT;
	assert_int_equal(udp_sock_open_bound(&s1, &a, fl), 0);
	assert_int_equal(udp_sock_local_addr(s1, &la), 0);
	assert_int_equal(udp_sock_open_bound(&s2, &la, fl), 0);
	int v = 0;
	socklen_t l = sizeof v;
	assert_int_equal(getsockopt(udp_sock_fd(s2), SOL_SOCKET, SO_REUSEPORT, &v, &l), 0);
	assert_int_equal(v, 1);
	udp_sock_free(s1);
	udp_sock_free(s2);
}

static void v6_dual_stack_and_v6only(void **state)
{
	(void)state;
	struct udp_addr any = addr6("::", 0), la;
	struct udp_sock *rx, *only;
	assert_int_equal(udp_sock_open_bound(&rx, &any, 0), 0);
	int v = -1;
	socklen_t l = sizeof v;
	assert_int_equal(getsockopt(udp_sock_fd(rx), IPPROTO_IPV6, IPV6_V6ONLY, &v, &l), 0);
	assert_int_equal(v, 0);
	assert_int_equal(udp_sock_local_addr(rx, &la), 0);

	/* an IPv4 sender reaches the dual-stack socket; peer is v4-mapped */
	struct udp_addr tx_local;
	struct udp_sock *tx = bound("127.0.0.1", &tx_local);
	struct udp_addr to = addr4("127.0.0.1", port_of(&la));
	assert_int_equal(udp_sock_send(tx, "v4", 2, &to), 2);
	assert_true(readable(rx, WAIT_MS));
	char buf[8];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(rx, &m), 2);
	assert_int_equal(m.addr.u.sa.sa_family, AF_INET6);
	assert_true(IN6_IS_ADDR_V4MAPPED(&m.addr.u.in6.sin6_addr));
	assert_int_equal(port_of(&m.addr), port_of(&tx_local));

	assert_int_equal(udp_sock_open(&only, AF_INET6, UDP_SOCK_V6ONLY), 0);
	v = -1;
	assert_int_equal(getsockopt(udp_sock_fd(only), IPPROTO_IPV6, IPV6_V6ONLY, &v, &l), 0);
	assert_int_equal(v, 1);
	udp_sock_free(only);
	udp_sock_free(tx);
	udp_sock_free(rx);
}

static uint64_t fake_clock(void *ctx)
{
	return *(const uint64_t *)ctx;
}

/* A socket without layers: the generic calls of the layer seam answer for
 * an empty stack, and the clock is injectable. */
static void no_layers_generic_calls(void **state)
{
	(void)state;
	struct udp_sock *s = bound("127.0.0.1", NULL);
	assert_int_equal(udp_sock_next_due(s), UINT64_MAX);
	assert_int_equal(udp_sock_flush(s), 0);
	assert_int_equal(udp_sock_flush(NULL), UDP_EINVAL);
	assert_int_equal(udp_sock_next_due(NULL), UINT64_MAX);
	uint64_t t = 123456789;
	assert_int_equal(udp_sock_set_clock(s, fake_clock, &t), 0);
	assert_int_equal(udp_sock_now(s), 123456789);
	t += 5;
	assert_int_equal(udp_sock_now(s), 123456794);
	assert_int_equal(udp_sock_set_clock(s, NULL, NULL), 0);
	uint64_t a = udp_sock_now(s), b = udp_sock_now(NULL);
	assert_true(a > 0 && b >= a);
	assert_int_equal(udp_sock_set_clock(NULL, fake_clock, &t), UDP_EINVAL);
	udp_sock_free(s);
}

/* The keyless drop lives in the socket itself (no seal code needed):
 * sealed-looking datagrams are dropped and counted, in single and batch
 * receives, unless pass_sealed. */
static void keyless_drop_without_seal(void **state)
{
	(void)state;
	struct udp_addr la;
	struct udp_sock *s = bound("127.0.0.1", &la);
	assert_int_equal(udp_sock_set_recv_timeout(s, 2000), 0);
	uint8_t sealed[60] = { 0xC5, 0x53, 0x01 }, small[47] = { 0xC5, 0x53, 0x01 };
	uint8_t buf[128];
	struct udp_msg m[4];
	for (unsigned i = 0; i < 4; i++)
		m[i] = (struct udp_msg){ .buf = buf, .cap = sizeof buf };

	assert_int_equal(udp_sock_send(s, sealed, sizeof sealed, &la), (int)sizeof sealed);
	assert_int_equal(udp_sock_send(s, "plain", 5, &la), 5);
	assert_int_equal(udp_sock_recv(s, &m[0]), 5);
	assert_memory_equal(buf, "plain", 5);
	assert_int_equal(udp_sock_sealed_seen(s), 1);

	/* too short to be sealed: data */
	assert_int_equal(udp_sock_send(s, small, sizeof small, &la), (int)sizeof small);
	assert_int_equal(udp_sock_send(s, sealed, sizeof sealed, &la), (int)sizeof sealed);
	assert_int_equal(udp_sock_send(s, "x", 1, &la), 1);
	uint8_t b2[3][128];
	for (unsigned i = 0; i < 3; i++)
		m[i] = (struct udp_msg){ .buf = b2[i], .cap = sizeof b2[i] };
	int got = 0;
	for (int tries = 0; got < 2 && tries < 3; tries++) {
		int rc = udp_sock_recv_batch(s, m + got, (unsigned)(3 - got));
		assert_true(rc > 0);
		got += rc;
	}
	assert_int_equal(got, 2);
	assert_int_equal(m[0].len, sizeof small);
	assert_int_equal(m[1].len, 1);
	assert_int_equal(udp_sock_sealed_seen(s), 2);

	assert_int_equal(udp_sock_set_pass_sealed(s, 1), 0);
	assert_int_equal(udp_sock_send(s, sealed, sizeof sealed, &la), (int)sizeof sealed);
	m[0] = (struct udp_msg){ .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(s, &m[0]), (int)sizeof sealed);
	assert_int_equal(udp_sock_sealed_seen(s), 2);
	assert_int_equal(udp_sock_set_pass_sealed(NULL, 1), UDP_EINVAL);
	udp_sock_free(s);
}

static void roundtrip_v4(void **state)
{
	(void)state;
	struct udp_addr la, lb;
	struct udp_sock *a = bound("127.0.0.1", &la), *b = bound("127.0.0.1", &lb);
	roundtrip(a, b, &lb, &la);
	roundtrip(b, a, &la, &lb);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void roundtrip_v6(void **state)
{
	(void)state;
	struct udp_addr la, lb;
	struct udp_sock *a = bound("::1", &la), *b = bound("::1", &lb);
	roundtrip(a, b, &lb, &la);
	roundtrip(b, a, &la, &lb);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void roundtrip_unix_path(void **state)
{
	(void)state;
	char pa[128], pb[128];
	unix_path(pa, sizeof pa, "a.sock");
	unix_path(pb, sizeof pb, "b.sock");
	struct udp_sock *a = bound_unix(pa), *b = bound_unix(pb);
	struct udp_addr aa = addr_unix(pa), ab = addr_unix(pb), la;
	assert_int_equal(udp_sock_local_addr(a, &la), 0);
	assert_int_equal(la.u.sa.sa_family, AF_UNIX);
	assert_string_equal(la.u.un.sun_path, pa);
	roundtrip(a, b, &ab, &aa);
	roundtrip(b, a, &aa, &ab);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void roundtrip_unix_abstract(void **state)
{
	(void)state;
	char na[64], nb[64];
	abstract_name(na, sizeof na, "a");
	abstract_name(nb, sizeof nb, "b");
	struct udp_sock *a = bound_unix(na), *b = bound_unix(nb);
	struct udp_addr aa = addr_unix(na), ab = addr_unix(nb);
	roundtrip(a, b, &ab, &aa);
	roundtrip(b, a, &aa, &ab);
	udp_sock_free(a);
	udp_sock_free(b);

	/* an unbound sender has no address: the receiver sees len 0 */
	struct udp_sock *rx = bound_unix(na), *tx;
	assert_int_equal(udp_sock_open(&tx, AF_UNIX, 0), 0);
	char buf[4];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_send(tx, "anon", 4, &aa), 4);
	assert_true(readable(rx, WAIT_MS));
	assert_int_equal(udp_sock_recv(rx, &m), 4);
	assert_int_equal(m.addr.len, 0);
	udp_sock_free(tx);
	udp_sock_free(rx);
}

static void unix_free_unlinks_own_path(void **state)
{
	(void)state;
	char p[128];
	struct stat st;
	unix_path(p, sizeof p, "own.sock");
	struct udp_sock *s = bound_unix(p);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	udp_sock_free(s);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* a path someone else re-created after us is not ours to remove */
	s = bound_unix(p);
	assert_int_equal(unlink(p), 0);
	struct udp_sock *other = bound_unix(p);
	udp_sock_free(s);
	assert_int_equal(stat(p, &st), 0);
	udp_sock_free(other);
	assert_int_equal(stat(p, &st), -1);

	/* a connected-only socket owns no path */
	struct udp_sock *c;
	assert_int_equal(udp_sock_open(&c, AF_UNIX, 0), 0);
	s = bound_unix(p);
	struct udp_addr ap = addr_unix(p);
	assert_int_equal(udp_sock_connect(c, &ap), 0);
	udp_sock_free(c);
	assert_int_equal(stat(p, &st), 0);
	udp_sock_free(s);
}

static void connected_send_and_disconnect(void **state)
{
	(void)state;
	struct udp_addr la, lb;
	struct udp_sock *a = bound("127.0.0.1", &la), *b = bound("127.0.0.1", &lb);
	assert_int_equal(udp_sock_connect(a, &lb), 0);
	roundtrip(a, b, NULL, &la);
	/* batch on a connected socket: addr.len 0 */
	char x[3][10];
	struct udp_msg out[3];
	for (int i = 0; i < 3; i++) {
		memset(x[i], 'a' + i, sizeof x[i]);
		out[i] = (struct udp_msg){ .buf = x[i], .len = sizeof x[i] };
	}
	assert_int_equal(udp_sock_send_batch(a, out, 3), 3);
	char rb[3][16];
	struct udp_msg in[3];
	for (int i = 0; i < 3; i++)
		in[i] = (struct udp_msg){ .buf = rb[i], .cap = sizeof rb[i] };
	assert_int_equal(recv_all(b, in, 3), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(in[i].len, 10);
		assert_memory_equal(rb[i], x[i], 10);
		assert_true(addr_same(&in[i].addr, &la));
	}
	/* disconnect: sending without an address now fails */
	assert_int_equal(udp_sock_connect(a, NULL), 0);
	assert_int_equal(udp_sock_send(a, "z", 1, NULL), UDP_ESYS);
	assert_int_equal(errno, EDESTADDRREQ);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void truncation_single(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	uint8_t big[2000], buf[100];
	fill(big, sizeof big, 5);
	assert_int_equal(udp_sock_send(a, big, sizeof big, &lb), 2000);
	assert_true(readable(b, WAIT_MS));
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(b, &m), 100);
	assert_int_equal(m.len, 100);
	assert_int_equal(m.wire_len, 2000);
	assert_int_equal(m.flags, UDP_MSG_TRUNC);
	assert_memory_equal(buf, big, 100);
	/* the next datagram is not flagged */
	assert_int_equal(udp_sock_send(a, big, 50, &lb), 50);
	assert_true(readable(b, WAIT_MS));
	assert_int_equal(udp_sock_recv(b, &m), 50);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.wire_len, 50);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void truncation_batch(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	assert_int_equal(udp_sock_set_gso(a, 0), 0); /* three sizes, no run */
	static uint8_t data[3][2000];
	size_t sizes[3] = { 50, 2000, 100 };
	struct udp_msg out[3];
	for (int i = 0; i < 3; i++) {
		fill(data[i], sizes[i], (unsigned)i);
		out[i] = (struct udp_msg){ .buf = data[i], .len = sizes[i], .addr = lb };
	}
	assert_int_equal(udp_sock_send_batch(a, out, 3), 3);
	uint8_t rb[3][100];
	struct udp_msg in[3];
	for (int i = 0; i < 3; i++)
		in[i] = (struct udp_msg){ .buf = rb[i], .cap = sizeof rb[i] };
	assert_int_equal(recv_all(b, in, 3), 3);
	assert_int_equal(in[0].flags, 0);
	assert_int_equal(in[0].len, 50);
	assert_int_equal(in[1].flags, UDP_MSG_TRUNC);
	assert_int_equal(in[1].len, 100);
	assert_int_equal(in[1].wire_len, 2000);
	assert_memory_equal(rb[1], data[1], 100);
	assert_int_equal(in[2].flags, 0); /* exactly full is not truncated */
	assert_int_equal(in[2].len, 100);
	assert_int_equal(in[2].wire_len, 100);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void zero_length_datagram(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("::1", NULL), *b = bound("::1", &lb);
	assert_int_equal(udp_sock_send(a, NULL, 0, &lb), 0);
	assert_true(readable(b, WAIT_MS));
	char buf[4];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf, .flags = 99 };
	assert_int_equal(udp_sock_recv(b, &m), 0);
	assert_int_equal(m.wire_len, 0);
	assert_int_equal(m.flags, 0);
	udp_sock_free(a);
	udp_sock_free(b);
}

/* 200 messages: GSO runs (with a shorter last one), a run longer than the
 * segment limit, and odd sizes in between. */
static void batch_200_in_order(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	big_rcvbuf(b);
	int gso = udp_sock_set_gso(a, 1); /* 1 wherever the kernel has UDP_SEGMENT */
	assert_true(gso == 0 || gso == 1);
	size_t sizes[200];
	for (unsigned i = 0; i < 200; i++) {
		if (i < 40)
			sizes[i] = 1200;          /* one run ... */
		else if (i == 40)
			sizes[i] = 333;           /* ... ending shorter */
		else if (i < 120)
			sizes[i] = 10;            /* 79 equal: above 64 segments */
		else if (i < 150)
			sizes[i] = 1 + (i * 37) % 1400; /* mixed */
		else
			sizes[i] = 1472;          /* 50 x 1472 > 65507 bytes */
	}
	batch_case(a, sizes, 200, &b, &lb, 1, 1);
	udp_sock_free(a);
	udp_sock_free(b);
}

/* GSO out, GRO in: however the kernel coalesces, splitting each message by
 * seg_size gives back every datagram with its size and bytes, in order. */
static void gro_receives_coalesced_runs(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	big_rcvbuf(b);
	int gro = udp_sock_set_gro(b, 1);
	assert_true(gro == 0 || gro == 1);
	enum { N = 100, SZ = 1000, LAST = 321 };
	static uint8_t data[N][SZ];
	struct udp_msg out[N];
	for (unsigned i = 0; i < N; i++) {
		size_t len = i == N - 1 ? LAST : SZ;
		fill(data[i], len, i);
		out[i] = (struct udp_msg){ .buf = data[i], .len = len, .addr = lb };
	}
	assert_int_equal(udp_sock_send_batch(a, out, N), N);

	static uint8_t rbuf[4][UDP_GRO_MIN_CAP];
	struct udp_msg in[4];
	unsigned seen = 0, coalesced = 0;
	while (seen < N && readable(b, WAIT_MS)) {
		for (unsigned i = 0; i < 4; i++)
			in[i] = (struct udp_msg){ .buf = rbuf[i], .cap = sizeof rbuf[i] };
		int r = udp_sock_recv_batch(b, in, 4);
		assert_true(r >= 1);
		for (int m = 0; m < r; m++) {
			assert_int_equal(in[m].flags & UDP_MSG_TRUNC, 0);
			size_t seg = in[m].seg_size ? in[m].seg_size : in[m].len;
			coalesced += in[m].seg_size != 0;
			for (size_t off = 0; off < in[m].len; off += seg, seen++) {
				size_t len = in[m].len - off < seg ? in[m].len - off : seg;
				assert_true(seen < N);
				assert_int_equal(len, seen == N - 1 ? LAST : SZ);
				assert_true(check(rbuf[m] + off, len, seen));
			}
		}
	}
	assert_int_equal(seen, N);
	if (gro && udp_sock_set_gso(a, 1))
		assert_true(coalesced > 0); /* GSO to a GRO socket stays one skb on lo */

	/* with GRO on, a receive buffer that could cut a coalesced run is refused */
	uint8_t small[100];
	struct udp_msg sm = { .buf = small, .cap = sizeof small };
	if (gro)
		assert_int_equal(udp_sock_recv(b, &sm), UDP_EINVAL);
	assert_int_equal(udp_sock_set_gro(b, 0), 0);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void batch_mixed_peers_v6(void **state)
{
	(void)state;
	struct udp_addr l[2];
	struct udp_sock *a = bound("::1", NULL);
	struct udp_sock *rx[2] = { bound("::1", &l[0]), bound("::1", &l[1]) };
	big_rcvbuf(rx[0]);
	big_rcvbuf(rx[1]);
	size_t sizes[150];
	for (unsigned i = 0; i < 150; i++)
		sizes[i] = (i % 13 == 12) ? 700 : 1000;
	/* destinations change every 5 messages: runs must end there */
	batch_case(a, sizes, 150, rx, l, 2, 5);
	udp_sock_free(a);
	udp_sock_free(rx[0]);
	udp_sock_free(rx[1]);
}

static void batch_without_gso_same_result(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	big_rcvbuf(b);
	size_t sizes[200];
	for (unsigned i = 0; i < 200; i++)
		sizes[i] = i == 99 ? 17 : 900;
	batch_case(a, sizes, 200, &b, &lb, 1, 1);
	assert_int_equal(udp_sock_set_gso(a, 0), 0);
	batch_case(a, sizes, 200, &b, &lb, 1, 1);
	int gso = udp_sock_set_gso(a, 1);
	assert_true(gso == 0 || gso == 1);
	batch_case(a, sizes, 200, &b, &lb, 1, 1);
	udp_sock_free(a);
	udp_sock_free(b);
}

/* SO_NO_CHECK makes the kernel refuse UDP_SEGMENT (EINVAL): a real
 * refusal, both before GSO ever worked on the socket and after. */
static void gso_refused_by_kernel_falls_back(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	big_rcvbuf(b);
	size_t sizes[100];
	for (unsigned i = 0; i < 100; i++)
		sizes[i] = i == 99 ? 1 : 500;
	int one = 1, zero = 0;
	assert_int_equal(setsockopt(udp_sock_fd(a), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
	batch_case(a, sizes, 100, &b, &lb, 1, 1); /* first attempt refused */
	batch_case(a, sizes, 100, &b, &lb, 1, 1); /* 500 known bad */
	for (unsigned i = 0; i < 100; i++)
		sizes[i] = 400 - (i / 20) * 50; /* runs of 400, 350, ... */
	batch_case(a, sizes, 100, &b, &lb, 1, 1); /* smaller sizes retried, then off */
	batch_case(a, sizes, 100, &b, &lb, 1, 1);
	for (unsigned i = 0; i < 100; i++)
		sizes[i] = i == 99 ? 1 : 500;

	struct udp_sock *c = bound("127.0.0.1", NULL);
	batch_case(c, sizes, 100, &b, &lb, 1, 1); /* GSO works ... */
	assert_int_equal(setsockopt(udp_sock_fd(c), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
	batch_case(c, sizes, 100, &b, &lb, 1, 1); /* ... then is refused */
	assert_int_equal(setsockopt(udp_sock_fd(c), SOL_SOCKET, SO_NO_CHECK, &zero, sizeof zero), 0);
	batch_case(c, sizes, 100, &b, &lb, 1, 1);
	udp_sock_free(a);
	udp_sock_free(b);
	udp_sock_free(c);
}

static void big_segments_not_merged(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	big_rcvbuf(b);
	/* two of these cannot share one 64 KiB GSO send */
	size_t sizes[4] = { 40000, 40000, 40000, UDP_MAX_PAYLOAD };
	batch_case(a, sizes, 4, &b, &lb, 1, 1);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void gso_on_unix_falls_back(void **state)
{
	(void)state;
	char pa[128];
	unix_path(pa, sizeof pa, "gso.sock");
	struct udp_sock *b = bound_unix(pa), *a;
	assert_int_equal(udp_sock_open(&a, AF_UNIX, 0), 0);
	assert_int_equal(udp_sock_set_gso(a, 1), 0);
	struct udp_addr ab = addr_unix(pa);
	big_rcvbuf(b);
	assert_int_equal(udp_sock_set_buffers(a, 0, 8 << 20), 0);
	/* fewer than max_dgram_qlen-limited blocks: send in 8s */
	size_t sizes[8];
	for (unsigned i = 0; i < 8; i++)
		sizes[i] = i == 7 ? 5 : 1000;
	for (int round = 0; round < 5; round++)
		batch_case(a, sizes, 8, &b, &ab, 1, 1);
	udp_sock_free(a);
	udp_sock_free(b);
}

static void recv_batch_more_than_64(void **state)
{
	(void)state;
	struct udp_addr lb;
	struct udp_sock *a = bound("127.0.0.1", NULL), *b = bound("127.0.0.1", &lb);
	big_rcvbuf(b);
	for (unsigned i = 0; i < 150; i++) {
		uint8_t p[8];
		fill(p, sizeof p, i);
		assert_int_equal(udp_sock_send(a, p, sizeof p, &lb), 8);
	}
	static uint8_t rb[200][16];
	struct udp_msg in[200];
	for (unsigned i = 0; i < 200; i++)
		in[i] = (struct udp_msg){ .buf = rb[i], .cap = sizeof rb[i] };
	assert_true(readable(b, WAIT_MS));
	/* all 150 are queued: one call takes them across several recvmmsg */
	int r = udp_sock_recv_batch(b, in, 200);
	assert_int_equal(r, 150);
	for (unsigned i = 0; i < 150; i++) {
		assert_int_equal(in[i].len, 8);
		assert_true(check(rb[i], 8, i));
	}
	udp_sock_free(a);
	udp_sock_free(b);
}

static void recv_timeout_is_eagain(void **state)
{
	(void)state;
	struct udp_sock *s = bound("127.0.0.1", NULL);
	assert_int_equal(udp_sock_set_recv_timeout(s, 100), 0);
	char buf[8];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	long t0 = now_ms();
	assert_int_equal(udp_sock_recv(s, &m), UDP_EAGAIN);
	long dt = now_ms() - t0;
	assert_true(dt >= 80 && dt < WAIT_MS);
	t0 = now_ms();
	assert_int_equal(udp_sock_recv_batch(s, &m, 1), UDP_EAGAIN);
	dt = now_ms() - t0;
	assert_true(dt >= 80 && dt < WAIT_MS);
	assert_int_equal(udp_sock_set_send_timeout(s, 100), 0);
	struct timeval tv;
	socklen_t l = sizeof tv;
	assert_int_equal(getsockopt(udp_sock_fd(s), SOL_SOCKET, SO_SNDTIMEO, &tv, &l), 0);
	assert_true(tv.tv_sec == 0 && tv.tv_usec == 100000);
	udp_sock_free(s);
}

static void nonblock_empty_is_eagain(void **state)
{
	(void)state;
	struct udp_addr a = addr4("127.0.0.1", 0);
	struct udp_sock *s;
	assert_int_equal(udp_sock_open_bound(&s, &a, UDP_SOCK_NONBLOCK), 0);
	char buf[8];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(s, &m), UDP_EAGAIN);
	assert_int_equal(udp_sock_recv_batch(s, &m, 1), UDP_EAGAIN);
	udp_sock_free(s);

	s = bound("::1", NULL);
	assert_int_equal(udp_sock_set_nonblock(s, 1), 0);
	assert_true(fcntl(udp_sock_fd(s), F_GETFL) & O_NONBLOCK);
	assert_int_equal(udp_sock_recv(s, &m), UDP_EAGAIN);
	assert_int_equal(udp_sock_set_nonblock(s, 0), 0);
	assert_false(fcntl(udp_sock_fd(s), F_GETFL) & O_NONBLOCK);
	udp_sock_free(s);
}

/* A unix datagram receiver that never reads makes a non-blocking sender
 * run out of room: that must be UDP_EAGAIN, for single and batch. */
static void send_full_is_eagain(void **state)
{
	(void)state;
	char n[64];
	abstract_name(n, sizeof n, "full");
	struct udp_sock *rx = bound_unix(n), *tx;
	assert_int_equal(udp_sock_open(&tx, AF_UNIX, UDP_SOCK_NONBLOCK), 0);
	struct udp_addr to = addr_unix(n);
	int rc = 0;
	for (int i = 0; i < 100000 && rc >= 0; i++)
		rc = udp_sock_send(tx, "fill", 4, &to);
	assert_int_equal(rc, UDP_EAGAIN);
	struct udp_msg m = { .buf = "more", .len = 4, .addr = to };
	assert_int_equal(udp_sock_send_batch(tx, &m, 1), UDP_EAGAIN);
	udp_sock_free(tx);
	udp_sock_free(rx);
}

static void buffers_set_and_read_back(void **state)
{
	(void)state;
	struct udp_sock *s = bound("127.0.0.1", NULL);
	int r = 0, w = 0;
	assert_int_equal(udp_sock_set_buffers(s, 1 << 20, 1 << 19), 0);
	assert_int_equal(udp_sock_get_buffers(s, &r, &w), 0);
	assert_true(r >= 1 << 20);
	assert_true(w >= 1 << 19);
	/* 0 leaves a size alone */
	assert_int_equal(udp_sock_set_buffers(s, 0, 1 << 21), 0);
	int r2 = 0;
	assert_int_equal(udp_sock_get_buffers(s, &r2, &w), 0);
	assert_int_equal(r2, r);
	assert_true(w >= 1 << 21);
	assert_int_equal(udp_sock_get_buffers(s, NULL, NULL), 0);
	assert_int_equal(udp_sock_set_buffers(s, -1, 0), UDP_EINVAL);
	udp_sock_free(s);
}

static int get_int(struct udp_sock *s, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof v;
	assert_int_equal(getsockopt(udp_sock_fd(s), level, name, &v, &l), 0);
	return v;
}

static void broadcast_option(void **state)
{
	(void)state;
	struct udp_sock *s = bound("127.0.0.1", NULL);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_BROADCAST), 0);
	assert_int_equal(udp_sock_set_broadcast(s, 1), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_BROADCAST), 1);
	assert_int_equal(udp_sock_set_broadcast(s, 0), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_BROADCAST), 0);
	udp_sock_free(s);
}

/* These set options only; none of them sends anything. */
static void ttl_and_multicast_options(void **state)
{
	(void)state;
	struct udp_sock *s4 = bound("127.0.0.1", NULL), *s6 = bound("::1", NULL);
	assert_int_equal(udp_sock_set_ttl(s4, 7), 0);
	assert_int_equal(get_int(s4, IPPROTO_IP, IP_TTL), 7);
	assert_int_equal(udp_sock_set_ttl(s6, 9), 0);
	assert_int_equal(get_int(s6, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 9);
	assert_int_equal(udp_sock_set_ttl(s4, 256), UDP_EINVAL);

	assert_int_equal(udp_sock_set_mcast_ttl(s4, 3), 0);
	assert_int_equal(get_int(s4, IPPROTO_IP, IP_MULTICAST_TTL), 3);
	assert_int_equal(udp_sock_set_mcast_ttl(s6, 4), 0);
	assert_int_equal(get_int(s6, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 4);
	assert_int_equal(get_int(s6, IPPROTO_IP, IP_MULTICAST_TTL), 4);
	assert_int_equal(udp_sock_set_mcast_ttl(s4, -1), UDP_EINVAL);

	assert_int_equal(udp_sock_set_mcast_loop(s4, 0), 0);
	assert_int_equal(get_int(s4, IPPROTO_IP, IP_MULTICAST_LOOP), 0);
	assert_int_equal(udp_sock_set_mcast_loop(s6, 0), 0);
	assert_int_equal(get_int(s6, IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 0);
	assert_int_equal(udp_sock_set_mcast_loop(s6, 1), 0);
	assert_int_equal(get_int(s6, IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 1);

	assert_int_equal(udp_sock_set_mcast_if(s6, "lo"), 0);
	assert_int_equal(get_int(s6, IPPROTO_IPV6, IPV6_MULTICAST_IF), (int)if_nametoindex("lo"));
	assert_int_equal(udp_sock_set_mcast_if(s4, "lo"), 0);
	assert_int_equal(udp_sock_set_mcast_if(s4, NULL), 0);
	assert_int_equal(udp_sock_set_mcast_if(s4, "no-such-if0"), UDP_ESYS);
	assert_int_equal(errno, ENODEV);
	struct udp_addr g = addr4("239.1.2.3", 0);
	assert_int_equal(udp_sock_join(s4, &g, "no-such-if0"), UDP_ESYS);
	assert_int_equal(errno, ENODEV);
	/* a v6 group cannot be joined on an IPv4 socket */
	struct udp_addr g6 = addr6("ff15::1234", 0);
	assert_int_equal(udp_sock_join(s4, &g6, NULL), UDP_EFAMILY);
	udp_sock_free(s4);
	udp_sock_free(s6);
}

static void unix_rejects_inet_options(void **state)
{
	(void)state;
	struct udp_sock *s;
	assert_int_equal(udp_sock_open(&s, AF_UNIX, 0), 0);
	struct udp_addr g = addr4("239.1.2.3", 0);
	assert_int_equal(udp_sock_set_broadcast(s, 1), UDP_EFAMILY);
	assert_int_equal(udp_sock_join(s, &g, NULL), UDP_EFAMILY);
	assert_int_equal(udp_sock_leave(s, &g, NULL), UDP_EFAMILY);
	assert_int_equal(udp_sock_set_mcast_ttl(s, 1), UDP_EFAMILY);
	assert_int_equal(udp_sock_set_mcast_loop(s, 1), UDP_EFAMILY);
	assert_int_equal(udp_sock_set_mcast_if(s, "lo"), UDP_EFAMILY);
	assert_int_equal(udp_sock_set_ttl(s, 1), UDP_EFAMILY);
	/* options that do make sense for unix still work */
	assert_int_equal(udp_sock_set_recv_timeout(s, 10), 0);
	assert_int_equal(udp_sock_set_buffers(s, 1 << 16, 1 << 16), 0);
	udp_sock_free(s);
}

static void connrefused_is_reported(void **state)
{
	(void)state;
	/* a port that was just free: bind, read it, close */
	struct udp_addr dead;
	struct udp_sock *tmp = bound("127.0.0.1", &dead);
	udp_sock_free(tmp);

	struct udp_sock *s = bound("127.0.0.1", NULL);
	assert_int_equal(udp_sock_connect(s, &dead), 0);
	assert_int_equal(udp_sock_send(s, "ping", 4, NULL), 4);
	/* the ICMP port unreachable arrives as a socket error */
	struct pollfd p = { .fd = udp_sock_fd(s), .events = POLLIN };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_true(p.revents & POLLERR);
	errno = 0;
	assert_int_equal(udp_sock_send(s, "ping", 4, NULL), UDP_ESYS);
	assert_int_equal(errno, ECONNREFUSED);
	assert_string_equal(udpkit_strerror(UDP_ESYS), strerror(ECONNREFUSED));

	/* same through the batch path */
	assert_int_equal(udp_sock_send(s, "ping", 4, NULL), 4);
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	struct udp_msg m[2] = { { .buf = "a", .len = 1 }, { .buf = "b", .len = 1 } };
	errno = 0;
	assert_int_equal(udp_sock_send_batch(s, m, 2), UDP_ESYS);
	assert_int_equal(errno, ECONNREFUSED);
	udp_sock_free(s);
}

/* ---- network namespace tests (multicast, broadcast) ---- */

enum { NS_SKIP = 77 };

static int lo_up_multicast(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/* An IPv6 multicast route on lo.  A plain route through lo is turned into a
 * reject route by the kernel, so it has to be of type local. */
static int lo_v6_mcast_route(void)
{
	int rc = system("ip -6 route add local ff00::/8 dev lo table local"
			" >/dev/null 2>&1");
	return rc == 0 ? 0 : -1;
}

/* Runs fn in a child in a fresh network namespace.  Returns the child's
 * exit status; NS_SKIP means no namespace could be made. */
static int in_netns(int (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(errno == EPERM || errno == EINVAL ? NS_SKIP : 90);
		if (lo_up_multicast() < 0)
			_exit(91);
		alarm(10); /* belt and braces: every wait inside is bounded */
		_exit(fn());
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* One group round trip: rx joins group on lo, tx sends to it with loop on.
 * Returns 0 when exactly the one datagram arrived. */
static int mcast_once(int rx_family, const struct udp_addr *group, int tx_family)
{
	struct udp_addr any;
	if (rx_family == AF_INET)
		any = addr4("0.0.0.0", 0);
	else
		any = addr6("::", 0);
	struct udp_sock *rx, *tx;
	if (udp_sock_open_bound(&rx, &any, UDP_SOCK_REUSEADDR))
		return 10;
	struct udp_addr la;
	if (udp_sock_local_addr(rx, &la))
		return 11;
	if (udp_sock_join(rx, group, "lo"))
		return 12;
	if (udp_sock_set_recv_timeout(rx, 1000))
		return 13;
	if (udp_sock_open(&tx, tx_family, 0))
		return 14;
	if (udp_sock_set_mcast_if(tx, "lo") || udp_sock_set_mcast_loop(tx, 1) ||
	    udp_sock_set_mcast_ttl(tx, 1))
		return 15;
	struct udp_addr to = *group;
	if (to.u.sa.sa_family == AF_INET)
		to.u.in4.sin_port = la.u.sa.sa_family == AF_INET ? la.u.in4.sin_port
							       : la.u.in6.sin6_port;
	else
		to.u.in6.sin6_port = la.u.in6.sin6_port;
	if (udp_sock_send(tx, "group", 5, &to) != 5)
		return 16;
	char buf[16];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	if (udp_sock_recv(rx, &m) != 5 || memcmp(buf, "group", 5))
		return 17;
	/* after leaving, the group's traffic no longer arrives */
	if (udp_sock_leave(rx, group, "lo"))
		return 18;
	if (udp_sock_set_recv_timeout(rx, 100))
		return 19;
	if (udp_sock_send(tx, "gone", 4, &to) != 4)
		return 20;
	if (udp_sock_recv(rx, &m) != UDP_EAGAIN)
		return 21;
	/* leaving twice is an error the caller sees */
	if (udp_sock_leave(rx, group, "lo") != UDP_ESYS)
		return 22;
	udp_sock_free(rx);
	udp_sock_free(tx);
	return 0;
}

static int mcast_child(void)
{
	struct udp_addr g4 = addr4("239.1.2.3", 0), g6 = addr6("ff15::1234", 0);
	int rc = mcast_once(AF_INET, &g4, AF_INET);
	if (rc)
		return rc;
	rc = mcast_once(AF_INET6, &g4, AF_INET); /* v4 group on a v6 socket */
	if (rc)
		return 30 + rc;
	if (lo_v6_mcast_route() < 0)
		return 3;
	rc = mcast_once(AF_INET6, &g6, AF_INET6);
	if (rc)
		return 60 + rc;
	return 0;
}

static void multicast_in_netns(void **state)
{
	(void)state;
	int rc = in_netns(mcast_child);
	if (rc == NS_SKIP)
		skip();
	assert_int_equal(rc, 0);
}

static int bcast_child(void)
{
	struct udp_addr any = addr4("0.0.0.0", 0), la;
	struct udp_sock *rx, *tx;
	if (udp_sock_open_bound(&rx, &any, 0) || udp_sock_local_addr(rx, &la))
		return 10;
	if (udp_sock_set_recv_timeout(rx, 1000))
		return 11;
	struct udp_addr to = addr4("127.255.255.255", port_of(&la));
	if (udp_sock_open(&tx, AF_INET, 0))
		return 12;
	errno = 0;
	if (udp_sock_send(tx, "no", 2, &to) != UDP_ESYS || errno != EACCES)
		return 13;
	if (udp_sock_set_broadcast(tx, 1))
		return 14;
	if (udp_sock_send(tx, "all", 3, &to) != 3)
		return 15;
	char buf[8];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	if (udp_sock_recv(rx, &m) != 3 || memcmp(buf, "all", 3))
		return 16;
	udp_sock_free(rx);
	udp_sock_free(tx);
	return 0;
}

static void broadcast_in_netns(void **state)
{
	(void)state;
	int rc = in_netns(bcast_child);
	if (rc == NS_SKIP)
		skip();
	assert_int_equal(rc, 0);
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/udpkit-sock-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir); /* fails (and says so) if a test leaked a path */
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_rejects_bad_args),
		cmocka_unit_test(bind_port0_v4),
		cmocka_unit_test(gro_receives_coalesced_runs),
		cmocka_unit_test(bind_port0_v6),
		cmocka_unit_test(reuse_flags_share_port),
		cmocka_unit_test(v6_dual_stack_and_v6only),
		cmocka_unit_test(no_layers_generic_calls),
		cmocka_unit_test(keyless_drop_without_seal),
		cmocka_unit_test(roundtrip_v4),
		cmocka_unit_test(roundtrip_v6),
		cmocka_unit_test(roundtrip_unix_path),
		cmocka_unit_test(roundtrip_unix_abstract),
		cmocka_unit_test(unix_free_unlinks_own_path),
		cmocka_unit_test(connected_send_and_disconnect),
		cmocka_unit_test(truncation_single),
		cmocka_unit_test(truncation_batch),
		cmocka_unit_test(zero_length_datagram),
		cmocka_unit_test(batch_200_in_order),
		cmocka_unit_test(batch_mixed_peers_v6),
		cmocka_unit_test(batch_without_gso_same_result),
		cmocka_unit_test(gso_refused_by_kernel_falls_back),
		cmocka_unit_test(big_segments_not_merged),
		cmocka_unit_test(gso_on_unix_falls_back),
		cmocka_unit_test(recv_batch_more_than_64),
		cmocka_unit_test(recv_timeout_is_eagain),
		cmocka_unit_test(nonblock_empty_is_eagain),
		cmocka_unit_test(send_full_is_eagain),
		cmocka_unit_test(buffers_set_and_read_back),
		cmocka_unit_test(broadcast_option),
		cmocka_unit_test(ttl_and_multicast_options),
		cmocka_unit_test(unix_rejects_inet_options),
		cmocka_unit_test(connrefused_is_reported),
		cmocka_unit_test(multicast_in_netns),
		cmocka_unit_test(broadcast_in_netns),
	};
	return cmocka_run_group_tests_name("sock", tests, setup, teardown);
}
