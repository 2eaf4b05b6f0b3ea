/* cmocka tests for the loss simulator at the socket seam (netsim_sock.c).
 * Sockets talk over 127.0.0.1; the models run on a fake clock that the tests
 * move by hand, so every due time is exact.  Waits for the kernel are
 * bounded by poll(); nothing sleeps. */
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

#include "udp_err.h"
#include "netsim.h"
#include "netsim_sock.h"
#include "udp_sock.h"

#define WAIT_MS 2000

static uint64_t fake_now(void *ctx)
{
	return *(uint64_t *)ctx;
}

static struct udp_sock *bound4(struct udp_addr *local)
{
	struct udp_addr a;
	memset(&a, 0, sizeof a);
	a.u.in4.sin_family = AF_INET;
	a.u.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.len = sizeof a.u.in4;
	struct udp_sock *s = NULL;
	assert_int_equal(udp_sock_open_bound(&s, &a, UDP_SOCK_NONBLOCK), 0);
	if (local)
		assert_int_equal(udp_sock_local_addr(s, local), 0);
	return s;
}

static struct netsim *model(const char *spec)
{
	struct netsim *ns = NULL;
	char err[200];
	assert_int_equal(netsim_new(&ns, spec, err, sizeof err), 0);
	return ns;
}

/* tx and rx on loopback, both on the fake clock *clk. */
struct pair {
	struct udp_sock *tx, *rx;
	struct udp_addr rx_addr, tx_addr;
	uint64_t clk;
};

static void pair_open(struct pair *p, const char *out_spec, const char *in_spec)
{
	p->clk = 1000;
	p->tx = bound4(&p->tx_addr);
	p->rx = bound4(&p->rx_addr);
	assert_int_equal(udp_sock_set_clock(p->tx, fake_now, &p->clk), 0);
	assert_int_equal(udp_sock_set_clock(p->rx, fake_now, &p->clk), 0);
	if (out_spec)
		assert_int_equal(netsim_sock_attach(p->tx, model(out_spec), NULL), 0);
	if (in_spec)
		assert_int_equal(netsim_sock_attach(p->rx, NULL, model(in_spec)), 0);
}

static void pair_close(struct pair *p)
{
	udp_sock_free(p->tx);
	udp_sock_free(p->rx);
}

static int readable(struct udp_sock *s, int ms)
{
	struct pollfd pfd = { .fd = udp_sock_fd(s), .events = POLLIN };
	return poll(&pfd, 1, ms) == 1;
}

/* Next datagram from the kernel (bounded wait) into buf; returns its length. */
static int recv_wait(struct udp_sock *s, char *buf, size_t cap)
{
	assert_true(readable(s, WAIT_MS));
	struct udp_msg m = { .buf = buf, .cap = cap };
	int rc = udp_sock_recv(s, &m);
	assert_true(rc >= 0);
	return rc;
}

static void send_str(struct udp_sock *s, const char *text, const struct udp_addr *to)
{
	size_t n = strlen(text);
	assert_int_equal(udp_sock_send(s, text, n, to), (int)n);
}

/* Proves nothing arrived before the marker: the next datagram is "end". */
static void expect_marker_next(struct pair *p)
{
	assert_int_equal(netsim_sock_attach(p->tx, NULL, NULL), 0);
	send_str(p->tx, "end", &p->rx_addr);
	char buf[64];
	int n = recv_wait(p->rx, buf, sizeof buf);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "end", 3);
}

static void loss_all_sends_nothing(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "loss 100%", NULL);
	for (int i = 0; i < 10; i++)
		send_str(p.tx, "lost", &p.rx_addr);
	struct netsim_counters out, in;
	netsim_sock_counters(p.tx, &out, &in);
	assert_int_equal(out.in, 10);
	assert_int_equal(out.lost, 10);
	assert_int_equal(out.passed, 0);
	assert_int_equal(in.in, 0);
	assert_true(udp_sock_next_due(p.tx) == UINT64_MAX);
	expect_marker_next(&p);
	pair_close(&p);
}

static void delay_holds_until_due(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "delay 10ms", NULL);
	send_str(p.tx, "late", &p.rx_addr);
	send_str(p.tx, "later", &p.rx_addr);
	assert_true(udp_sock_next_due(p.tx) == 11000);
	p.clk = 10999;
	assert_int_equal(udp_sock_flush(p.tx), 0);
	assert_false(readable(p.rx, 0));
	p.clk = 11000;
	assert_int_equal(udp_sock_flush(p.tx), 2);
	assert_true(udp_sock_next_due(p.tx) == UINT64_MAX);
	char buf[64];
	assert_int_equal(recv_wait(p.rx, buf, sizeof buf), 4);
	assert_memory_equal(buf, "late", 4);
	assert_int_equal(recv_wait(p.rx, buf, sizeof buf), 5);
	assert_memory_equal(buf, "later", 5);
	struct netsim_counters out;
	netsim_sock_counters(p.tx, &out, NULL);
	assert_int_equal(out.delayed, 2);
	assert_int_equal(out.passed, 2);
	pair_close(&p);
}

/* A send with nothing due still flushes what became due before it. */
static void send_flushes_due(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "delay 1ms", NULL);
	send_str(p.tx, "one", &p.rx_addr);
	p.clk += 1000;
	send_str(p.tx, "two", &p.rx_addr);
	char buf[64];
	assert_int_equal(recv_wait(p.rx, buf, sizeof buf), 3);
	assert_memory_equal(buf, "one", 3);
	assert_true(udp_sock_next_due(p.tx) == p.clk + 1000);
	pair_close(&p);
}

static void incoming_delay(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, NULL, "delay 5ms");
	send_str(p.tx, "held", &p.rx_addr);
	assert_true(readable(p.rx, WAIT_MS));
	char buf[64];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(p.rx, &m), UDP_EAGAIN);
	assert_false(readable(p.rx, 0)); /* taken from the kernel, held */
	assert_true(udp_sock_next_due(p.rx) == 6000);
	p.clk = 5999;
	assert_int_equal(udp_sock_recv(p.rx, &m), UDP_EAGAIN);
	p.clk = 6000;
	assert_int_equal(udp_sock_recv(p.rx, &m), 4);
	assert_memory_equal(buf, "held", 4);
	assert_int_equal(m.wire_len, 4);
	assert_int_equal(m.flags, 0);
	assert_true(udp_addr_equal(&m.addr, &p.tx_addr));
	assert_true(udp_sock_next_due(p.rx) == UINT64_MAX);
	struct netsim_counters in;
	netsim_sock_counters(p.rx, NULL, &in);
	assert_int_equal(in.in, 1);
	assert_int_equal(in.passed, 1);
	pair_close(&p);
}

static void incoming_truncation(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, NULL, "delay 1ms");
	char big[100];
	memset(big, 'z', sizeof big);
	assert_int_equal(udp_sock_send(p.tx, big, sizeof big, &p.rx_addr), 100);
	assert_true(readable(p.rx, WAIT_MS));
	char buf[10];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_int_equal(udp_sock_recv(p.rx, &m), UDP_EAGAIN);
	p.clk += 1000;
	assert_int_equal(udp_sock_recv(p.rx, &m), 10);
	assert_int_equal(m.wire_len, 100);
	assert_true(m.flags & UDP_MSG_TRUNC);
	assert_memory_equal(buf, big, 10);
	pair_close(&p);
}

static void duplicate_all_arrive_twice(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "duplicate 100%", NULL);
	char text[5][16];
	struct udp_msg msgs[5];
	for (int i = 0; i < 5; i++) {
		snprintf(text[i], sizeof text[i], "d%d", i);
		msgs[i] = (struct udp_msg){ .buf = text[i], .len = 2, .addr = p.rx_addr };
	}
	assert_int_equal(udp_sock_send_batch(p.tx, msgs, 5), 5);
	for (int i = 0; i < 10; i++) {
		char buf[16];
		assert_int_equal(recv_wait(p.rx, buf, sizeof buf), 2);
		assert_memory_equal(buf, text[i / 2], 2); /* copies leave together */
	}
	struct netsim_counters out;
	netsim_sock_counters(p.tx, &out, NULL);
	assert_int_equal(out.duplicated, 5);
	assert_int_equal(out.passed, 10);
	expect_marker_next(&p);
	pair_close(&p);
}

static void incoming_duplicate_batch(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, NULL, "duplicate 100%");
	send_str(p.tx, "a", &p.rx_addr);
	send_str(p.tx, "b", &p.rx_addr);
	char bufs[8][16];
	struct udp_msg msgs[8];
	for (int i = 0; i < 8; i++)
		msgs[i] = (struct udp_msg){ .buf = bufs[i], .cap = sizeof bufs[i] };
	int got = 0;
	for (int tries = 0; got < 4 && tries < 100; tries++) {
		if (!readable(p.rx, WAIT_MS / 100))
			continue;
		int rc = udp_sock_recv_batch(p.rx, msgs + got, (unsigned)(8 - got));
		assert_true(rc > 0 || rc == UDP_EAGAIN);
		if (rc > 0)
			got += rc;
	}
	assert_int_equal(got, 4);
	const char *want = "aabb";
	for (int i = 0; i < 4; i++) {
		assert_int_equal(msgs[i].len, 1);
		assert_int_equal(bufs[i][0], want[i]);
	}
	/* GRO would merge datagrams the model must see one by one. */
	assert_int_equal(udp_sock_set_gro(p.rx, 1), 0);
	pair_close(&p);
}

static void passthrough_is_bypassed(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "", "seed 9");
	const struct netsim *out = NULL, *in = NULL;
	netsim_sock_get(p.tx, &out, NULL);
	netsim_sock_get(p.rx, NULL, &in);
	assert_non_null(out);
	assert_non_null(in);
	assert_int_equal(netsim_seed(in), 9);
	send_str(p.tx, "plain", &p.rx_addr);
	assert_true(udp_sock_next_due(p.tx) == UINT64_MAX);
	assert_int_equal(udp_sock_flush(p.tx), 0);
	char buf[3];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	assert_true(readable(p.rx, WAIT_MS));
	assert_int_equal(udp_sock_recv(p.rx, &m), 3); /* truncated as ever */
	assert_int_equal(m.wire_len, 5);
	assert_true(m.flags & UDP_MSG_TRUNC);
	struct netsim_counters c;
	netsim_sock_counters(p.tx, &c, NULL);
	assert_int_equal(c.in, 0);
	netsim_sock_counters(p.rx, NULL, &c);
	assert_int_equal(c.in, 0);
	pair_close(&p);
}

static void counters_add_up(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "loss 30% duplicate 20% delay 1ms 500us seed 5", NULL);
	assert_int_equal(udp_sock_set_buffers(p.rx, 1 << 20, 0), 0);
	for (int i = 0; i < 300; i++) {
		char line[16];
		int n = snprintf(line, sizeof line, "%d", i);
		assert_int_equal(udp_sock_send(p.tx, line, (size_t)n, &p.rx_addr), n);
		p.clk += 10;
	}
	struct netsim_counters c;
	netsim_sock_counters(p.tx, &c, NULL);
	assert_int_equal(c.in, 300);
	assert_true(c.lost > 0 && c.duplicated > 0 && c.queued > 0);
	assert_int_equal(c.in + c.duplicated, c.passed + c.lost + c.queue_drops + c.queued);
	uint64_t due = udp_sock_next_due(p.tx);
	assert_true(due != UINT64_MAX && due <= p.clk + 2000);
	p.clk += 3000;
	int flushed = udp_sock_flush(p.tx);
	assert_true(flushed > 0);
	netsim_sock_counters(p.tx, &c, NULL);
	assert_int_equal(c.queued, 0);
	assert_int_equal(c.in + c.duplicated, c.passed + c.lost + c.queue_drops);
	uint64_t got = 0;
	char buf[16];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	while (got < c.passed && readable(p.rx, WAIT_MS) && udp_sock_recv(p.rx, &m) > 0)
		got++;
	assert_int_equal(got, c.passed);
	expect_marker_next(&p);
	pair_close(&p);
}

static void env_spec_applied_on_open(void **state)
{
	(void)state;
	assert_int_equal(setenv("UDPKIT_NETSIM", "loss 100%", 1), 0);
	assert_int_equal(setenv("UDPKIT_NETSIM_IN", "delay 1ms", 1), 0);
	struct udp_addr rx_addr;
	struct udp_sock *rx = bound4(&rx_addr); /* impaired too; not used */
	struct udp_sock *tx = NULL;
	assert_int_equal(udp_sock_open(&tx, AF_INET, 0), 0);
	assert_int_equal(unsetenv("UDPKIT_NETSIM"), 0);
	assert_int_equal(unsetenv("UDPKIT_NETSIM_IN"), 0);

	const struct netsim *out = NULL, *in = NULL;
	netsim_sock_get(tx, &out, &in);
	assert_non_null(out);
	assert_non_null(in);
	/* No seed in the spec: a random one, shown so a run can be repeated,
	 * and not the same for both directions. */
	assert_true(netsim_has_seed(out));
	assert_true(netsim_seed(out) != netsim_seed(in));
	send_str(tx, "gone", &rx_addr);
	struct netsim_counters c;
	netsim_sock_counters(tx, &c, NULL);
	assert_int_equal(c.lost, 1);
	udp_sock_free(tx);
	udp_sock_free(rx);

	/* unset again: nothing attached */
	assert_int_equal(udp_sock_open(&tx, AF_INET, 0), 0);
	netsim_sock_get(tx, &out, &in);
	assert_null(out);
	assert_null(in);
	udp_sock_free(tx);
}

static void env_malformed_fails_open(void **state)
{
	(void)state;
	static const struct {
		const char *var, *spec;
		int code;
		const char *words;
	} cases[] = {
		{ "UDPKIT_NETSIM", "lose 5%", UDP_ENETSIM_WORD, "UDPKIT_NETSIM: unknown word 'lose'" },
		{ "UDPKIT_NETSIM_IN", "loss 150%", UDP_ENETSIM_VALUE, "UDPKIT_NETSIM_IN: loss" },
		{ "UDPKIT_NETSIM", "delay", UDP_ENETSIM_MISSING, "delay" },
		{ "UDPKIT_NETSIM", "loss 1% loss 2%", UDP_ENETSIM_TWICE, "'loss' given twice" },
		{ "UDPKIT_NETSIM_IN", "reorder 5%", UDP_ENETSIM_NEEDS, "reorder" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(setenv(cases[i].var, cases[i].spec, 1), 0);
		struct udp_sock *s = (struct udp_sock *)&s;
		assert_int_equal(udp_sock_open(&s, AF_INET, 0), cases[i].code);
		assert_null(s);
		struct udp_addr a;
		memset(&a, 0, sizeof a);
		a.u.in4.sin_family = AF_INET;
		a.u.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.len = sizeof a.u.in4;
		assert_int_equal(udp_sock_open_bound(&s, &a, 0), cases[i].code);
		char err[256];
		assert_int_equal(netsim_sock_env_check(err, sizeof err), cases[i].code);
		assert_non_null(strstr(err, cases[i].words));
		assert_int_equal(unsetenv(cases[i].var), 0);
	}
	char err[16] = "x";
	assert_int_equal(netsim_sock_env_check(err, sizeof err), 0);
	assert_string_equal(err, "");
}

static void replacing_and_default_clock(void **state)
{
	(void)state;
	struct udp_sock *s = bound4(NULL);
	assert_int_equal(netsim_sock_attach(NULL, model("loss 1%"), NULL), UDP_EINVAL);
	assert_true(udp_sock_next_due(s) == UINT64_MAX);
	assert_int_equal(udp_sock_flush(s), 0);
	uint64_t a = udp_sock_now(s);
	uint64_t clk = 42;
	assert_int_equal(udp_sock_set_clock(s, fake_now, &clk), 0);
	assert_true(udp_sock_now(s) == 42);
	assert_int_equal(udp_sock_set_clock(s, NULL, NULL), 0);
	assert_true(udp_sock_now(s) >= a);
	assert_int_equal(netsim_sock_attach(s, model("delay 1s"), model("loss 5%")), 0);
	assert_int_equal(netsim_sock_attach(s, model("delay 2s"), NULL), 0);
	const struct netsim *in = (const struct netsim *)&clk; /* must be cleared */
	netsim_sock_get(s, NULL, &in);
	assert_null(in);
	udp_sock_free(s); /* frees the attached model (ASan checks) */
}

int main(void)
{
	unsetenv("UDPKIT_NETSIM");
	unsetenv("UDPKIT_NETSIM_IN");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loss_all_sends_nothing),
		cmocka_unit_test(delay_holds_until_due),
		cmocka_unit_test(send_flushes_due),
		cmocka_unit_test(incoming_delay),
		cmocka_unit_test(incoming_truncation),
		cmocka_unit_test(duplicate_all_arrive_twice),
		cmocka_unit_test(incoming_duplicate_batch),
		cmocka_unit_test(passthrough_is_bypassed),
		cmocka_unit_test(counters_add_up),
		cmocka_unit_test(env_spec_applied_on_open),
		cmocka_unit_test(env_malformed_fails_open),
		cmocka_unit_test(replacing_and_default_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
