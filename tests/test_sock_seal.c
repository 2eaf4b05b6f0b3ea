/* cmocka tests for sealing at the socket seam (seal_sock.c).  Sockets
 * talk over 127.0.0.1 / ::1; every wait for the kernel is a bounded poll. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"
#include "rel_drv.h"
#include "udp_err.h"
#include "seal_key.h"
#include "netsim.h"
#include "netsim_sock.h"
#include "seal.h"
#include "seal_sock.h"
#include "udp_sock.h"

#define WAIT_MS 2000

static struct udp_sock *bound(int family, struct udp_addr *local, int flags)
{
	struct udp_addr a;
	memset(&a, 0, sizeof a);
	if (family == AF_INET) {
		a.u.in4.sin_family = AF_INET;
		a.u.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.len = sizeof a.u.in4;
	} else {
		a.u.in6.sin6_family = AF_INET6;
		a.u.in6.sin6_addr = in6addr_loopback;
		a.len = sizeof a.u.in6;
	}
	struct udp_sock *s = NULL;
	assert_int_equal(udp_sock_open_bound(&s, &a, flags), 0);
	if (local)
		assert_int_equal(udp_sock_local_addr(s, local), 0);
	return s;
}

static struct seal *sealer_suite(uint8_t fill, int suite)
{
	uint8_t bytes[SEAL_KEY_BYTES];
	memset(bytes, fill, sizeof bytes);
	struct seal_key *k = NULL;
	assert_int_equal(seal_key_from_bytes(&k, bytes), 0);
	struct seal *s = NULL;
	struct seal_config c;
	seal_config_default(&c);
	c.suite = suite;
	assert_int_equal(seal_new(&s, k, &c), 0);
	seal_key_free(k); /* the sealer keeps its own copy of the subkey */
	return s;
}

static struct seal *sealer(uint8_t fill)
{
	return sealer_suite(fill, SEAL_XCHACHA20);
}

static int readable(struct udp_sock *s, int ms)
{
	struct pollfd pfd = { .fd = udp_sock_fd(s), .events = POLLIN };
	return poll(&pfd, 1, ms) == 1;
}

/* One receive after waiting (bounded) for the socket to become readable. */
static int recv_one(struct udp_sock *s, void *buf, size_t cap, struct udp_msg *m)
{
	memset(m, 0, sizeof *m);
	m->buf = buf;
	m->cap = cap;
	if (!readable(s, WAIT_MS))
		return UDP_EAGAIN;
	return udp_sock_recv(s, m);
}

static struct seal_stats stats(struct udp_sock *s)
{
	struct seal_stats st;
	assert_true(seal_sock_stats(s, &st) >= 0);
	return st;
}

struct pair {
	struct udp_sock *tx, *rx;
	struct udp_addr tx_addr, rx_addr;
};

/* Sealed when the key byte is non-zero, plaintext when 0. */
static void pair_open(struct pair *p, int family, uint8_t tx_key, uint8_t rx_key)
{
	p->tx = bound(family, &p->tx_addr, UDP_SOCK_NONBLOCK);
	p->rx = bound(family, &p->rx_addr, UDP_SOCK_NONBLOCK);
	if (tx_key)
		assert_int_equal(seal_sock_attach(p->tx, sealer(tx_key)), 0);
	if (rx_key)
		assert_int_equal(seal_sock_attach(p->rx, sealer(rx_key)), 0);
}

static void pair_close(struct pair *p)
{
	udp_sock_free(p->tx);
	udp_sock_free(p->rx);
}

static void roundtrip_single(int family)
{
	struct pair p;
	pair_open(&p, family, 7, 7);
	assert_int_equal(udp_sock_send(p.tx, "hello", 5, &p.rx_addr), 5);
	char buf[100];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(m.wire_len, 5);
	assert_int_equal(m.flags, 0);
	assert_true(udp_addr_equal(&m.addr, &p.tx_addr));
	assert_int_equal(stats(p.tx).sealed, 1);
	struct seal_stats st = stats(p.rx);
	assert_int_equal(st.opened, 1);
	assert_int_equal(st.sessions, 1);
	/* answering on the sealed receiver reaches the sealed sender */
	assert_int_equal(udp_sock_send(p.rx, "back", 4, &m.addr), 4);
	assert_int_equal(recv_one(p.tx, buf, sizeof buf, &m), 4);
	assert_memory_equal(buf, "back", 4);
	pair_close(&p);
}

static void roundtrip_v4(void **state)
{
	(void)state;
	roundtrip_single(AF_INET);
}

static void roundtrip_v6(void **state)
{
	(void)state;
	roundtrip_single(AF_INET6);
}

/* 100 messages in one batch: 70 of one size (a GSO run), the rest mixed.
 * The sender seals with `suite`; the receiver is a default one. */
static void roundtrip_batch(int family, int suite)
{
	enum { N = 100 };
	struct pair p;
	pair_open(&p, family, 0, 9);
	assert_int_equal(seal_sock_attach(p.tx, sealer_suite(9, suite)), 0);
	static uint8_t data[N][1200];
	struct udp_msg out[N];
	for (unsigned i = 0; i < N; i++) {
		memset(data[i], (int)i, sizeof data[i]);
		out[i] = (struct udp_msg){ .buf = data[i], .len = i < 70 ? 1200 : 10 + i,
					   .addr = p.rx_addr };
	}
	assert_int_equal(udp_sock_send_batch(p.tx, out, N), N);
	static uint8_t in[16][1300];
	struct udp_msg m[16];
	unsigned got = 0;
	while (got < N && readable(p.rx, WAIT_MS)) {
		for (unsigned i = 0; i < 16; i++)
			m[i] = (struct udp_msg){ .buf = in[i], .cap = sizeof in[i] };
		int r = udp_sock_recv_batch(p.rx, m, 16);
		if (r == UDP_EAGAIN)
			continue;
		assert_true(r > 0);
		for (int i = 0; i < r; i++, got++) {
			assert_int_equal(m[i].len, out[got].len);
			assert_int_equal(m[i].seg_size, 0);
			assert_memory_equal(m[i].buf, data[got], m[i].len);
		}
	}
	assert_int_equal(got, N);
	assert_int_equal(stats(p.rx).opened, N);
	assert_int_equal(stats(p.tx).sealed, N);
	pair_close(&p);
}

static void batch_v4(void **state)
{
	(void)state;
	roundtrip_batch(AF_INET, SEAL_XCHACHA20);
}

static void batch_v6(void **state)
{
	(void)state;
	roundtrip_batch(AF_INET6, SEAL_XCHACHA20);
}

static void batch_aes256gcm(void **state)
{
	(void)state;
	if (!seal_suite_available(SEAL_AES256GCM))
		skip();
	roundtrip_batch(AF_INET, SEAL_AES256GCM);
	roundtrip_batch(AF_INET6, SEAL_AES256GCM);
}

static void plaintext_dropped(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, AF_INET, 0, 7);
	assert_int_equal(udp_sock_send(p.tx, "plain text", 10, &p.rx_addr), 10);
	char buf[100];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), UDP_EAGAIN);
	assert_int_equal(stats(p.rx).drop_plaintext, 1);
	assert_int_equal(stats(p.rx).opened, 0);
	pair_close(&p);
}

static void wrong_key_dropped(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, AF_INET6, 1, 2);
	assert_int_equal(udp_sock_send(p.tx, "secret", 6, &p.rx_addr), 6);
	char buf[100];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), UDP_EAGAIN);
	struct seal_stats st = stats(p.rx);
	assert_int_equal(st.drop_wrongkey, 1);
	assert_int_equal(st.opened, 0);
	pair_close(&p);
}

/* The sealed bytes of one message, captured on a plain socket that passes
 * sealed datagrams through (as a relay does). */
static size_t capture(struct pair *p, uint8_t *pkt, size_t cap)
{
	struct udp_addr cap_addr;
	struct udp_sock *c = bound(AF_INET, &cap_addr, UDP_SOCK_NONBLOCK);
	assert_int_equal(udp_sock_set_pass_sealed(c, 1), 0);
	assert_int_equal(udp_sock_send(p->tx, "once only", 9, &cap_addr), 9);
	struct udp_msg m;
	assert_int_equal(recv_one(c, pkt, cap, &m), 9 + SEAL_OVERHEAD);
	assert_true(seal_looks_sealed(pkt, m.len));
	assert_int_equal(udp_sock_sealed_seen(c), 0);
	udp_sock_free(c);
	return m.len;
}

static void replay_accepted_once(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, AF_INET, 5, 5);
	struct udp_sock *plain = bound(AF_INET, NULL, UDP_SOCK_NONBLOCK);
	uint8_t pkt[200];
	size_t n = capture(&p, pkt, sizeof pkt);
	assert_int_equal(udp_sock_send(plain, pkt, n, &p.rx_addr), (int)n);
	assert_int_equal(udp_sock_send(plain, pkt, n, &p.rx_addr), (int)n);
	char buf[100];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), 9);
	assert_memory_equal(buf, "once only", 9);
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), UDP_EAGAIN);
	struct seal_stats st = stats(p.rx);
	assert_int_equal(st.opened, 1);
	assert_int_equal(st.drop_replay, 1);
	udp_sock_free(plain);
	pair_close(&p);
}

static void corrupt_dropped(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, AF_INET, 5, 5);
	struct udp_sock *plain = bound(AF_INET, NULL, UDP_SOCK_NONBLOCK);
	uint8_t pkt[200];
	size_t n = capture(&p, pkt, sizeof pkt);
	pkt[SEAL_HEADER + 3] ^= 0x10;
	assert_int_equal(udp_sock_send(plain, pkt, n, &p.rx_addr), (int)n);
	char buf[100];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), UDP_EAGAIN);
	assert_int_equal(stats(p.rx).drop_auth, 1);
	assert_int_equal(stats(p.rx).sessions, 0);
	udp_sock_free(plain);
	pair_close(&p);
}

static void keyless_counts_sealed(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, AF_INET, 0, 0);
	struct udp_sock *stx = bound(AF_INET, NULL, UDP_SOCK_NONBLOCK);
	assert_int_equal(seal_sock_attach(stx, sealer(3)), 0);
	/* only sealed: nothing delivered */
	assert_int_equal(udp_sock_send(stx, "sealed", 6, &p.rx_addr), 6);
	char buf[100];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), UDP_EAGAIN);
	assert_int_equal(udp_sock_sealed_seen(p.rx), 1);
	/* plain, sealed, plain in one batch: the plain ones, in order */
	assert_int_equal(udp_sock_send(p.tx, "a", 1, &p.rx_addr), 1);
	assert_int_equal(udp_sock_send(stx, "sealed", 6, &p.rx_addr), 6);
	assert_int_equal(udp_sock_send(p.tx, "bb", 2, &p.rx_addr), 2);
	char in[4][100];
	struct udp_msg ms[4];
	unsigned got = 0;
	while (got < 2 && readable(p.rx, WAIT_MS)) {
		for (unsigned i = 0; i < 4; i++)
			ms[i] = (struct udp_msg){ .buf = in[i], .cap = sizeof in[i] };
		int r = udp_sock_recv_batch(p.rx, ms, 4);
		if (r == UDP_EAGAIN)
			continue;
		assert_true(r > 0);
		for (int i = 0; i < r; i++, got++)
			assert_int_equal(ms[i].len, got + 1);
	}
	assert_int_equal(got, 2);
	assert_int_equal(udp_sock_sealed_seen(p.rx), 2);
	assert_int_equal(seal_sock_stats(p.rx, &(struct seal_stats){ 0 }), 0);
	udp_sock_free(stx);
	pair_close(&p);
}

/* A blocking receiver skips what it drops and waits for the next one. */
static void blocking_skips_drops(void **state)
{
	(void)state;
	struct udp_addr rx_addr;
	struct udp_sock *rx = bound(AF_INET, &rx_addr, 0);
	struct udp_sock *plain = bound(AF_INET, NULL, UDP_SOCK_NONBLOCK);
	struct udp_sock *stx = bound(AF_INET, NULL, UDP_SOCK_NONBLOCK);
	assert_int_equal(seal_sock_attach(rx, sealer(4)), 0);
	assert_int_equal(seal_sock_attach(stx, sealer(4)), 0);
	assert_int_equal(udp_sock_set_recv_timeout(rx, WAIT_MS), 0);
	assert_int_equal(udp_sock_send(plain, "junk", 4, &rx_addr), 4);
	assert_int_equal(udp_sock_send(stx, "real", 4, &rx_addr), 4);
	char buf[100];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(rx, &m), 4);
	assert_memory_equal(buf, "real", 4);
	assert_int_equal(stats(rx).drop_plaintext, 1);
	udp_sock_free(rx);
	udp_sock_free(plain);
	udp_sock_free(stx);
}

static void truncated_plaintext(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, AF_INET, 6, 6);
	assert_int_equal(udp_sock_send(p.tx, "0123456789", 10, &p.rx_addr), 10);
	char buf[4];
	struct udp_msg m;
	assert_int_equal(recv_one(p.rx, buf, sizeof buf, &m), 4);
	assert_memory_equal(buf, "0123", 4);
	assert_int_equal(m.wire_len, 10);
	assert_true(m.flags & UDP_MSG_TRUNC);
	assert_int_equal(stats(p.rx).opened, 1);
	pair_close(&p);
}

static struct netsim *model(const char *spec)
{
	struct netsim *ns = NULL;
	char err[200];
	assert_int_equal(netsim_new(&ns, spec, err, sizeof err), 0);
	return ns;
}

static uint64_t fake_now(void *ctx)
{
	return *(uint64_t *)ctx;
}

/* Netsim on both sides: the sender's model duplicates sealed datagrams
 * (the receiver opens each once and drops the copy as a replay), the
 * receiver's delays them on a fake clock. */
static void with_netsim(void **state)
{
	(void)state;
	enum { N = 8 };
	struct pair p;
	uint64_t clk = 1000;
	pair_open(&p, AF_INET, 8, 8);
	assert_int_equal(udp_sock_set_clock(p.rx, fake_now, &clk), 0);
	assert_int_equal(udp_sock_set_clock(p.tx, fake_now, &clk), 0);
	assert_int_equal(netsim_sock_attach(p.tx, model("duplicate 100% seed 1"), NULL), 0);
	assert_int_equal(netsim_sock_attach(p.rx, NULL, model("delay 5ms seed 2")), 0);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(udp_sock_send(p.tx, "dup", 3, &p.rx_addr), 3);
	char in[4][64];
	struct udp_msg ms[4];
	unsigned got = 0;
	for (int round = 0; round < 50 && got < N; round++) {
		if (round == 1)
			clk += 10000; /* past the delay */
		(void)readable(p.rx, 20);
		for (unsigned i = 0; i < 4; i++)
			ms[i] = (struct udp_msg){ .buf = in[i], .cap = sizeof in[i] };
		int r = udp_sock_recv_batch(p.rx, ms, 4);
		if (round == 0) {
			assert_int_equal(r, UDP_EAGAIN); /* held by the delay */
			continue;
		}
		if (r == UDP_EAGAIN)
			continue;
		assert_true(r > 0);
		for (int i = 0; i < r; i++)
			assert_memory_equal(ms[i].buf, "dup", 3);
		got += (unsigned)r;
	}
	assert_int_equal(got, N);
	struct seal_stats st = stats(p.rx);
	assert_int_equal(st.opened, N);
	assert_int_equal(st.drop_replay, N);
	struct netsim_counters c;
	netsim_sock_counters(p.tx, &c, NULL);
	assert_int_equal(c.duplicated, N);
	pair_close(&p);
}

static void set_and_remove(void **state)
{
	(void)state;
	assert_int_equal(seal_sock_attach(NULL, sealer(1)), UDP_EINVAL); /* freed */
	struct udp_sock *s = bound(AF_INET, NULL, UDP_SOCK_NONBLOCK);
	assert_null(seal_sock_get(s));
	assert_int_equal(seal_sock_attach(s, sealer(1)), 0);
	assert_non_null(seal_sock_get(s));
	assert_int_equal(seal_sock_attach(s, sealer(2)), 0); /* replaces */
	struct seal_stats st;
	assert_int_equal(seal_sock_stats(s, &st), 1);
	assert_int_equal(seal_sock_attach(s, NULL), 0);
	assert_null(seal_sock_get(s));
	assert_int_equal(seal_sock_stats(s, &st), 0);
	udp_sock_free(s);
}

/* The reliable layer over sealed sockets: handshake, 200 messages (some
 * fragmented), acks and close all travel sealed, nothing is dropped. */
static void reliable_over_sealed(void **state)
{
	(void)state;
	struct udp_sock *sk[2];
	struct rel_core *core[2];
	struct rel_drv *drv[2];
	struct udp_addr addr[2];
	for (int i = 0; i < 2; i++) {
		sk[i] = bound(AF_INET, &addr[i], 0);
		assert_int_equal(seal_sock_attach(sk[i], sealer(0x42)), 0);
		struct rel_config cfg;
		rel_config_default(&cfg);
		cfg.accept = i;
		cfg.seed = 10 + (uint64_t)i;
		rel_core_new(&core[i], &cfg);
		assert_non_null(core[i]);
		assert_int_equal(rel_drv_new(&drv[i], core[i], sk[i]), 0);
	}
	uint32_t pa = 0;
	assert_int_equal(rel_drv_connect(drv[0], &addr[1], &pa), 0);
	enum { N = 200 };
	static uint8_t buf[5000];
	int connected = 0, sent = 0, got = 0, acked = 0;
	uint64_t deadline = rel_drv_now() + 20000000;
	while ((got < N || acked < N) && rel_drv_now() < deadline) {
		assert_int_equal(rel_drv_run_once(drv[0], 5), 0);
		assert_int_equal(rel_drv_run_once(drv[1], 5), 0);
		struct rel_event ev;
		while (rel_poll_event(core[0], &ev)) {
			connected |= ev.type == REL_EV_CONNECTED;
			acked += ev.type == REL_EV_ACKED;
		}
		while (rel_poll_event(core[1], &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, 1 + (got * 37) % 5000);
				assert_int_equal(ev.data[ev.len - 1], (uint8_t)got);
				got++;
				rel_buf_free(ev.data);
			}
		}
		if (connected && !sent) {
			for (int i = 0; i < N; i++) {
				size_t len = 1 + ((size_t)i * 37) % 5000;
				memset(buf, i, len);
				assert_int_equal(rel_send(core[0], pa, buf, len, REL_SEQPACKET,
							  rel_drv_now(), NULL), 0);
			}
			sent = 1;
		}
	}
	assert_int_equal(got, N);
	assert_int_equal(acked, N);
	for (int i = 0; i < 2; i++) {
		struct seal_stats st = stats(sk[i]);
		assert_true(st.opened > 0 && st.sealed > 0);
		assert_int_equal(st.drop_auth + st.drop_plaintext + st.drop_wrongkey + st.drop_replay, 0);
		rel_drv_free(drv[i]);
		rel_core_free(core[i]);
		udp_sock_free(sk[i]);
	}
}

/* GRO on a sealed receiver: a GSO run of 40 arrives coalesced, is opened
 * one datagram at a time and handed out 16 at a time into small buffers;
 * what did not fit waits in the socket and udp_sock_next_due() says so. */
static void gro_run_split(void **state)
{
	(void)state;
	enum { N = 40 };
	struct pair p;
	pair_open(&p, AF_INET, 3, 3);
	if (udp_sock_set_gro(p.rx, 1) != 1) {
		pair_close(&p);
		skip();
	}
	static uint8_t data[N][1000];
	struct udp_msg out[N];
	for (unsigned i = 0; i < N; i++) {
		memset(data[i], (int)i, sizeof data[i]);
		out[i] = (struct udp_msg){ .buf = data[i], .len = sizeof data[i],
					   .addr = p.rx_addr };
	}
	assert_int_equal(udp_sock_send_batch(p.tx, out, N), N);
	static uint8_t in[16][1100];
	struct udp_msg m[16];
	unsigned got = 0, waited_on_socket = 0;
	for (int round = 0; round < 200 && got < N; round++) {
		if (udp_sock_next_due(p.rx) > udp_sock_now(p.rx)) {
			if (!readable(p.rx, WAIT_MS))
				break;
		} else {
			waited_on_socket++;
		}
		for (unsigned i = 0; i < 16; i++)
			m[i] = (struct udp_msg){ .buf = in[i], .cap = sizeof in[i] };
		int r = udp_sock_recv_batch(p.rx, m, 16);
		if (r == UDP_EAGAIN)
			continue;
		assert_true(r > 0 && r <= 16);
		for (int i = 0; i < r; i++, got++) {
			assert_int_equal(m[i].len, 1000);
			assert_int_equal(m[i].seg_size, 0);
			assert_int_equal(in[i][999], (uint8_t)got);
		}
	}
	assert_int_equal(got, N);
	assert_int_equal(udp_sock_next_due(p.rx), UINT64_MAX);
	assert_int_equal(stats(p.rx).opened, N);
	print_message("gro: %u receive(s) served from the socket\n", waited_on_socket);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_v4),
		cmocka_unit_test(roundtrip_v6),
		cmocka_unit_test(batch_v4),
		cmocka_unit_test(batch_v6),
		cmocka_unit_test(batch_aes256gcm),
		cmocka_unit_test(plaintext_dropped),
		cmocka_unit_test(wrong_key_dropped),
		cmocka_unit_test(replay_accepted_once),
		cmocka_unit_test(corrupt_dropped),
		cmocka_unit_test(keyless_counts_sealed),
		cmocka_unit_test(blocking_skips_drops),
		cmocka_unit_test(truncated_plaintext),
		cmocka_unit_test(with_netsim),
		cmocka_unit_test(set_and_remove),
		cmocka_unit_test(reliable_over_sealed),
		cmocka_unit_test(gro_run_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
