/* cmocka tests for rel_drv: the reliable core over real UDP sockets on
 * loopback (wall-clock time, every wait bounded). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rel.h"
#include "rel_drv.h"
#include "udp_addr.h"
#include "udp_err.h"
#include "netsim.h"
#include "netsim_sock.h"
#include "udp_sock.h"

struct end {
	struct udp_sock *sock;
	struct rel_core *core;
	struct rel_drv *drv;
	struct udp_addr addr;
};

static void end_open(struct end *e, int accept, uint64_t seed, const struct rel_cc_ops *cc)
{
	struct udp_addr any;
	assert_int_equal(udp_addr_parse(&any, "127.0.0.1:0", UDP_ADDR_NUMERIC), 0);
	assert_int_equal(udp_sock_open_bound(&e->sock, &any, 0), 0);
	assert_int_equal(udp_sock_local_addr(e->sock, &e->addr), 0);
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.accept = accept;
	cfg.seed = seed;
	cfg.cc = cc;
	rel_core_new(&e->core, &cfg);
	assert_non_null(e->core);
	assert_int_equal(rel_drv_new(&e->drv, e->core, e->sock), 0);
}

static void end_close(struct end *e)
{
	rel_drv_free(e->drv);
	rel_core_free(e->core);
	udp_sock_free(e->sock);
}

static void loopback_transfer(const struct rel_cc_ops *cc)
{
	struct end a, b;
	end_open(&a, 0, 1, cc);
	end_open(&b, 1, 2, cc);
	uint32_t pa = 0, pb = 0;
	assert_int_equal(rel_drv_connect(a.drv, &b.addr, &pa), 0);
	enum { N = 300 };
	int connected = 0, got = 0, acked = 0, peer_closed = 0, closed = 0, sent = 0;
	uint64_t deadline = rel_drv_now() + 20000000;
	uint8_t *buf = malloc(300000);
	while (!(closed && peer_closed) && rel_drv_now() < deadline) {
		assert_int_equal(rel_drv_run_once(a.drv, 5), 0);
		assert_int_equal(rel_drv_run_once(b.drv, 5), 0);
		struct rel_event ev;
		while (rel_poll_event(a.core, &ev)) {
			if (ev.type == REL_EV_CONNECTED)
				connected = 1;
			if (ev.type == REL_EV_ACKED)
				acked++;
			if (ev.type == REL_EV_CLOSED)
				closed = 1;
			assert_int_not_equal(ev.type, REL_EV_DEAD);
		}
		while (rel_poll_event(b.core, &ev)) {
			if (ev.type == REL_EV_CONNECTED) {
				pb = ev.peer;
				struct udp_addr from;
				assert_int_equal(rel_drv_peer_addr(b.drv, pb, &from), 0);
				assert_true(udp_addr_equal(&from, &a.addr));
			}
			if (ev.type == REL_EV_MESSAGE) {
				size_t want = 1 + ((size_t)got * 7919) % 300000;
				assert_int_equal(ev.len, want);
				assert_int_equal(ev.data[0], (uint8_t)got);
				assert_int_equal(ev.data[ev.len - 1], (uint8_t)got);
				got++;
				rel_buf_free(ev.data);
			}
			if (ev.type == REL_EV_PEER_CLOSED)
				peer_closed = 1;
		}
		if (connected && !sent) {
			for (int i = 0; i < N; i++) {
				size_t len = 1 + ((size_t)i * 7919) % 300000;
				memset(buf, i, len);
				assert_int_equal(rel_send(a.core, pa, buf, len, REL_SEQPACKET, rel_drv_now(), NULL), 0);
			}
			sent = 1;
		}
		if (acked == N && !closed && sent == 1) {
			assert_int_equal(rel_close(a.core, pa, rel_drv_now()), 0);
			sent = 2;
		}
	}
	free(buf);
	assert_int_equal(got, N);
	assert_int_equal(acked, N);
	assert_true(closed && peer_closed);
	assert_true(pb != 0);
	struct rel_drv_stats st;
	rel_drv_stats(a.drv, &st);
	assert_true(st.dgrams_out > N);
	end_close(&a);
	end_close(&b);
}

static void loopback_no_cc(void **state)
{
	(void)state;
	loopback_transfer(NULL);
}

static void loopback_reno(void **state)
{
	(void)state;
	loopback_transfer(&rel_cc_reno);
}

/* A receive batch is answered with one ACK, not one per packet: the core
 * replaces an ACK still queued, and the driver flushes after the batch.
 * 40 packets wait in b's socket; b acks them with at most 2 datagrams
 * (one ACK stands for up to 33 packets). */
static void one_ack_per_batch(void **state)
{
	(void)state;
	struct end a, b;
	end_open(&a, 0, 5, NULL);
	end_open(&b, 1, 6, NULL);
	uint32_t pa = 0;
	assert_int_equal(rel_drv_connect(a.drv, &b.addr, &pa), 0);
	int connected = 0, got = 0;
	uint64_t deadline = rel_drv_now() + 5000000;
	while (!connected && rel_drv_now() < deadline) {
		assert_int_equal(rel_drv_run_once(a.drv, 5), 0);
		assert_int_equal(rel_drv_run_once(b.drv, 5), 0);
		struct rel_event ev;
		while (rel_poll_event(a.core, &ev))
			connected |= ev.type == REL_EV_CONNECTED;
		while (rel_poll_event(b.core, &ev))
			assert_int_not_equal(ev.type, REL_EV_MESSAGE);
	}
	assert_true(connected);
	/* a's ack of b's ACCEPT may still be on its way to b */
	for (int i = 0; i < 5; i++)
		assert_int_equal(rel_drv_run_once(b.drv, 1), 0);
	struct rel_drv_stats s0, s1;
	rel_drv_stats(b.drv, &s0);
	uint8_t msg[100] = {0};
	for (int i = 0; i < 40; i++)
		assert_int_equal(rel_send(a.core, pa, msg, sizeof msg, REL_RDM, rel_drv_now(), NULL), 0);
	assert_int_equal(rel_drv_flush(a.drv), 40);
	while (got < 40 && rel_drv_now() < deadline) {
		assert_int_equal(rel_drv_run_once(b.drv, 5), 0);
		struct rel_event ev;
		while (rel_poll_event(b.core, &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				got++;
				rel_buf_free(ev.data);
			}
		}
	}
	assert_int_equal(got, 40);
	rel_drv_stats(b.drv, &s1);
	assert_int_equal(s1.dgrams_in - s0.dgrams_in, 40);
	assert_true(s1.dgrams_out - s0.dgrams_out <= 2);
	assert_true(s1.dgrams_out - s0.dgrams_out >= 1);
	/* and they tell a everything */
	deadline = rel_drv_now() + 5000000;
	int acked = 0;
	while (acked < 40 && rel_drv_now() < deadline) {
		assert_int_equal(rel_drv_run_once(a.drv, 5), 0);
		struct rel_event ev;
		while (rel_poll_event(a.core, &ev))
			acked += ev.type == REL_EV_ACKED;
	}
	assert_int_equal(acked, 40);
	end_close(&a);
	end_close(&b);
}

/* Bytes of buffer the datagrams in a socket's receive queue hold. */
static uint32_t rx_queued(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof mi;
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len), 0);
	return mi[SK_MEMINFO_RMEM_ALLOC];
}

/* Sends n datagrams of len bytes from fd to e, then waits (at most 2 s)
 * until e's receive queue holds them all: loopback delivers before sendto
 * returns unless softirq work went to ksoftirqd, as it may under load.
 * Datagrams of one size take the same buffer space each. */
static void send_queued(int fd, const struct end *e, const uint8_t *buf, size_t len, int n)
{
	int rfd = rel_drv_fd(e->drv);
	uint32_t before = rx_queued(rfd), one = 0;
	uint64_t deadline = rel_drv_now() + 2000000;
	for (int i = 0; i < n; i++) {
		assert_true(sendto(fd, buf, len, 0, &e->addr.u.sa, e->addr.len) == (ssize_t)len);
		for (uint32_t q; i == 0 && !one && rel_drv_now() < deadline;)
			one = (q = rx_queued(rfd)) > before ? q - before : 0;
	}
	assert_true(one > 0);
	while (rx_queued(rfd) < before + (uint64_t)n * one && rel_drv_now() < deadline)
		;
}

/* A receive call brings about 512 KiB (rel_drv.c, DRV_RX_BYTES): after a
 * 60000-byte datagram the next call takes 8 datagrams, then small ones
 * are taken 64 at a time again; a turn stops after 1 MiB.  Every count is
 * exact: the datagrams are all queued before each turn. */
static void rx_batch_follows_size(void **state)
{
	(void)state;
	struct end b;
	end_open(&b, 1, 9, NULL);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	static uint8_t junk[60000]; /* no magic: dropped and counted */
	struct rel_drv_stats s0, s1;
	send_queued(fd, &b, junk, sizeof junk, 1);
	rel_drv_stats(b.drv, &s0);
	assert_true(rel_drv_service(b.drv) >= 0);
	rel_drv_stats(b.drv, &s1);
	assert_int_equal(s1.dgrams_in - s0.dgrams_in, 1);
	for (int round = 0; round < 2; round++) {
		send_queued(fd, &b, junk, 100, 20);
		rel_drv_stats(b.drv, &s0);
		assert_true(rel_drv_service(b.drv) >= 0);
		rel_drv_stats(b.drv, &s1);
		assert_int_equal(s1.dgrams_in - s0.dgrams_in, 20);
		/* 8 + 12 after the large one; then all 20 in one call */
		assert_int_equal(s1.recv_calls - s0.recv_calls, round == 0 ? 2 : 1);
	}
	/* A turn ends once it has taken 1 MiB (DRV_RX_TURN): of 40 large
	 * datagrams 24 (three calls of 8), the rest at the next turn. */
	int rcvbuf = 0;
	assert_int_equal(udp_sock_set_buffers(b.sock, 8 << 20, 0), 0);
	assert_int_equal(udp_sock_get_buffers(b.sock, &rcvbuf, NULL), 0);
	if (rcvbuf < 4 << 20) { /* rmem_max caps a non-root test: 40 won't fit */
		close(fd);
		end_close(&b);
		skip();
	}
	send_queued(fd, &b, junk, sizeof junk, 1);
	assert_true(rel_drv_service(b.drv) >= 0);
	send_queued(fd, &b, junk, sizeof junk, 40);
	for (int turn = 0; turn < 2; turn++) {
		rel_drv_stats(b.drv, &s0);
		assert_true(rel_drv_service(b.drv) >= 0);
		rel_drv_stats(b.drv, &s1);
		assert_int_equal(s1.dgrams_in - s0.dgrams_in, turn == 0 ? 24 : 16);
	}
	close(fd);
	end_close(&b);
}

/* The accessors an outside event loop needs: the descriptor to watch, and a
 * deadline in rel_drv_time()'s time base that covers the core's timers and a
 * socket netsim model's held datagrams. */
static void accessors_for_own_loop(void **state)
{
	(void)state;
	struct end a, b;
	end_open(&a, 0, 3, NULL);
	end_open(&b, 1, 4, NULL);
	assert_int_equal(rel_drv_fd(a.drv), udp_sock_fd(a.sock));
	assert_true(rel_drv_next_deadline(b.drv) == UINT64_MAX); /* idle server */
	uint32_t pa = 0;
	uint64_t t0 = rel_drv_now();
	assert_int_equal(rel_drv_connect(a.drv, &b.addr, &pa), 0);
	assert_true(rel_drv_flush(a.drv) >= 1);
	/* the HELLO is out: the next timer is its retransmission, in the future */
	uint64_t dl = rel_drv_next_deadline(a.drv);
	assert_true(dl > t0 && dl < t0 + 60000000u);

	/* a delayed datagram held by the sender's netsim sets the deadline */
	struct netsim *ns;
	char err[128];
	assert_int_equal(netsim_new(&ns, "delay 1ms", err, sizeof err), 0);
	assert_int_equal(netsim_sock_attach(a.sock, ns, NULL), 0);
	assert_int_equal(udp_sock_send(a.sock, "x", 1, &b.addr), 1);
	uint64_t held = rel_drv_next_deadline(a.drv);
	assert_true(held <= rel_drv_now() + 1000 && held < dl);
	end_close(&a);
	end_close(&b);
}

/* A socket with a clock of its own, a day ahead of CLOCK_MONOTONIC and
 * standing still unless the test moves it: the driver starts the session,
 * sets its deadline and fires its retransmission on that clock alone. */
struct fake_clock {
	uint64_t t;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->t;
}

static void fake_clock_runs_timers(void **state)
{
	(void)state;
	struct end a, b;
	end_open(&a, 0, 9, NULL);
	end_open(&b, 1, 10, NULL);
	struct fake_clock clk = {.t = rel_drv_now() + 86400000000ull};
	assert_int_equal(udp_sock_set_clock(a.sock, fake_now, &clk), 0);
	assert_true(rel_drv_time(a.drv) == clk.t);
	uint32_t pa = 0;
	assert_int_equal(rel_drv_connect(a.drv, &b.addr, &pa), 0);
	assert_true(rel_drv_flush(a.drv) >= 1);
	/* b is never serviced: the HELLO's retransmission is the next timer */
	uint64_t dl = rel_drv_next_deadline(a.drv);
	assert_true(dl > clk.t && dl < clk.t + 60000000u);
	struct rel_drv_stats st0, st1;
	rel_drv_stats(a.drv, &st0);

	/* the fake clock has not moved: however much real time went by,
	 * nothing is due */
	assert_int_equal(rel_drv_service(a.drv), 0);
	rel_drv_stats(a.drv, &st1);
	assert_int_equal(st1.dgrams_out, st0.dgrams_out);
	assert_true(rel_drv_next_deadline(a.drv) == dl);

	/* at the deadline on the fake clock the HELLO goes again, and the
	 * next timer is later on the same clock */
	clk.t = dl;
	assert_int_equal(rel_drv_service(a.drv), 0);
	rel_drv_stats(a.drv, &st1);
	assert_true(st1.dgrams_out > st0.dgrams_out);
	uint64_t dl2 = rel_drv_next_deadline(a.drv);
	assert_true(dl2 > dl && dl2 < dl + 120000000u);
	end_close(&a);
	end_close(&b);
}

/* The output gate: a refused datagram is dropped as if lost (the core
 * resends it), the ones around it still go, each is asked about once. */
struct gate_log {
	int asked, refuse_every;
};

static int refuse_some(void *ctx, const struct rel_dgram *g)
{
	struct gate_log *l = ctx;
	(void)g;
	return ++l->asked % l->refuse_every != 0;
}

static void output_gate(void **state)
{
	(void)state;
	struct end a, b;
	end_open(&a, 0, 7, NULL);
	end_open(&b, 1, 8, NULL);
	struct gate_log log = { .refuse_every = 3 };
	rel_drv_set_gate(a.drv, refuse_some, &log);
	uint32_t pa = 0;
	assert_int_equal(rel_drv_connect(a.drv, &b.addr, &pa), 0);
	uint8_t msg[100] = {0};
	int got = 0, sent = 0;
	uint64_t deadline = rel_drv_now() + 10000000;
	while (got < 30 && rel_drv_now() < deadline) {
		assert_int_equal(rel_drv_run_once(a.drv, 5), 0);
		assert_int_equal(rel_drv_service(b.drv), 0);
		struct rel_event ev;
		while (rel_poll_event(a.core, &ev)) {
			if (ev.type == REL_EV_CONNECTED)
				for (; sent < 30; sent++)
					assert_int_equal(rel_send(a.core, pa, msg, sizeof msg, REL_RDM,
								  rel_drv_now(), NULL), 0);
			rel_buf_free(ev.data);
		}
		while (rel_poll_event(b.core, &ev)) {
			got += ev.type == REL_EV_MESSAGE;
			rel_buf_free(ev.data);
		}
	}
	assert_int_equal(got, 30);
	struct rel_drv_stats st;
	rel_drv_stats(a.drv, &st);
	assert_true(st.gated > 0);
	assert_int_equal(st.gated, (uint64_t)log.asked / 3);
	assert_int_equal(st.dgrams_out + st.gated, (uint64_t)log.asked);
	struct rel_stats ps;
	assert_int_equal(rel_peer_stats(a.core, pa, &ps), 0);
	assert_true(ps.retransmits > 0);
	end_close(&a);
	end_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loopback_no_cc),
		cmocka_unit_test(loopback_reno),
		cmocka_unit_test(accessors_for_own_loop),
		cmocka_unit_test(one_ack_per_batch),
		cmocka_unit_test(rx_batch_follows_size),
		cmocka_unit_test(output_gate),
		cmocka_unit_test(fake_clock_runs_timers),
	};
	return cmocka_run_group_tests_name("rel_drv", tests, NULL, NULL);
}
