/* cmocka tests: the reliable core's memory is bounded by its configuration
 * whatever a hostile peer sends (docs/HARDENING.md, "Memory limits").
 *
 * The packets are built by hand (rel_wire_encode), as a hostile peer would,
 * and fed to an accepting core on a fixed clock: a flood of HELLOs from many
 * source addresses (no state at all), a flood of completed handshakes (at
 * most max_peers sessions, each of a stated size), a session that starts
 * far more messages than its receive budget allows (reassembly memory stays
 * within recv_budget plus a per-packet overhead bounded by the window),
 * many sessions doing so at once (core_budget), and a local sender queueing
 * past send_budget.  Memory is measured as the heap in use: mallinfo2(), or
 * the sanitizer allocator's count under ASan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_wire.h"

#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void);
static int64_t heap_in_use(void)
{
	return (int64_t)__sanitizer_get_current_allocated_bytes();
}
#else
static int64_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (int64_t)(mi.uordblks + mi.hblkhd);
}
#endif

/* The stated limits (docs/HARDENING.md).  Slots = window rounded up to a
 * power of two (the send ring and the received-bits array). */
#define PEER_FIXED_MAX 2048     /* session struct, tables, malloc overhead */
#define PEER_PER_SLOT_MAX 56    /* send ring slot + received bit + overhead */
#define RX_PER_PKT_MAX 128      /* reassembly record + malloc overhead, per packet */
#define TX_PER_MSG_MAX 96       /* send record + malloc overhead, per message */
/* The allocator rounds large buffers up to whole pages (mmap): at most 1/32
 * of the budget for messages of 128 KiB or more. */
#define RX_SLACK(budget) ((budget) / 32)

static const uint64_t T0 = 5000000; /* the fixed clock, us */

struct fake {
	uint8_t addr[8];
	uint32_t csid, ssid, cinit, sinit;
};

static void fake_addr(struct fake *f, uint32_t i)
{
	/* 127.0.0.1, a source port, and the index: opaque to the core */
	uint8_t a[8] = {127, 0, 0, 1, (uint8_t)(i >> 8), (uint8_t)i, (uint8_t)(i >> 24), (uint8_t)(i >> 16)};
	memcpy(f->addr, a, sizeof a);
	f->csid = 0x10000u + i;
	f->cinit = 1000;
}

static struct rel_core *server(uint32_t max_peers, uint32_t window, size_t recv_budget,
			       uint64_t core_budget)
{
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 42;
	cfg.accept = 1;
	cfg.max_peers = max_peers;
	cfg.window = window;
	cfg.recv_budget = recv_budget;
	cfg.max_msg = recv_budget / 4;
	cfg.core_budget = core_budget;
	cfg.send_budget = 1 << 20;
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	assert_non_null(c);
	return c;
}

/* Feeds a packet; returns the input's result.  The replies stay queued. */
static int feed(struct rel_core *c, const struct fake *f, const struct rel_pkt *k)
{
	uint8_t buf[2048];
	int n = rel_wire_encode(k, buf, sizeof buf);
	assert_true(n > 0);
	return rel_input(c, f->addr, sizeof f->addr, buf, (size_t)n, T0);
}

/* The single reply a packet drew (and pops it): 1, or 0 when none. */
static int reply(struct rel_core *c, struct rel_pkt *out, size_t *len)
{
	size_t n = rel_out_pending(c);
	if (n == 0)
		return 0;
	assert_int_equal(n, 1);
	struct rel_dgram d;
	assert_int_equal(rel_out_peek(c, 0, &d), 0);
	static uint8_t keep[2048];
	memcpy(keep, d.data, d.len);
	*len = d.len;
	assert_int_equal(rel_wire_decode(out, keep, d.len), 0);
	rel_out_pop(c, 1);
	return 1;
}

/* HELLO -> COOKIE -> CONNECT -> ACCEPT from f's address.  Returns 1 when a
 * session opened, 0 when the CONNECT was refused.  Asserts the server never
 * answers with more bytes than the packet it answers. */
static int handshake(struct rel_core *c, struct fake *f)
{
	struct rel_pkt h = {.type = REL_PT_HELLO, .src_sid = f->csid, .hello_len = REL_HELLO_LEN};
	struct rel_pkt r;
	size_t rlen;
	assert_int_equal(feed(c, f, &h), 0);
	assert_int_equal(reply(c, &r, &rlen), 1);
	assert_int_equal(r.type, REL_PT_COOKIE);
	assert_true(rlen <= REL_HELLO_LEN);
	struct rel_pkt k = {.type = REL_PT_CONNECT, .src_sid = f->csid, .bucket = r.bucket,
			    .cookie = r.cookie, .init_seq = f->cinit, .window_pkts = 1024,
			    .max_msg = 1u << 30, .budget = 1u << 30};
	int rc = feed(c, f, &k);
	if (rc < 0) {
		assert_int_equal(rc, REL_EPEERS);
		assert_int_equal(rel_out_pending(c), 0); /* no answer to a refusal */
		return 0;
	}
	assert_int_equal(reply(c, &r, &rlen), 1);
	assert_int_equal(r.type, REL_PT_ACCEPT);
	assert_true(rlen <= 44); /* CONNECT is 44 bytes */
	f->ssid = r.src_sid;
	f->sinit = r.init_seq;
	return 1;
}

static void drain(struct rel_core *c)
{
	rel_out_pop(c, rel_out_pending(c));
	struct rel_event ev;
	while (rel_poll_event(c, &ev))
		if (ev.type == REL_EV_MESSAGE)
			rel_buf_free(ev.data);
}

static uint64_t slots_of(uint32_t window)
{
	uint64_t s = 1;
	while (s < window)
		s <<= 1;
	return s;
}

static uint64_t peer_limit(uint32_t window)
{
	return PEER_FIXED_MAX + PEER_PER_SLOT_MAX * slots_of(window);
}

/* 20000 HELLOs from 20000 source addresses: one COOKIE each, never larger
 * than the HELLO, and no memory at all (stateless cookies). */
static void hello_flood_keeps_no_state(void **state)
{
	(void)state;
	struct rel_core *c = server(64, 1024, 1 << 20, 8 << 20);
	int64_t before = heap_in_use();
	uint64_t sent = 0, answered = 0;
	for (uint32_t i = 0; i < 20000; i++) {
		struct fake f;
		fake_addr(&f, i);
		/* HELLOs of every legal size, and some too short (no answer) */
		size_t hl = REL_HELLO_LEN - 8 + i % 64;
		struct rel_pkt h = {.type = REL_PT_HELLO, .src_sid = f.csid, .hello_len = hl};
		uint8_t buf[256];
		int n = rel_wire_encode(&h, buf, sizeof buf);
		assert_true(n > 0);
		int rc = rel_input(c, f.addr, sizeof f.addr, buf, (size_t)n, T0);
		sent += (uint64_t)n;
		struct rel_pkt r;
		size_t rlen = 0;
		if (reply(c, &r, &rlen)) {
			assert_int_equal(rc, 0);
			assert_true(rlen <= (size_t)n);
			answered += rlen;
		} else {
			assert_true(n < REL_HELLO_LEN);
		}
	}
	int64_t grew = heap_in_use() - before;
	struct rel_core_stats cs;
	rel_core_stats(c, &cs);
	print_message("      HELLO flood: 20000 sources, %llu bytes in, %llu out (factor %.3f), "
		      "peers %llu, heap grew %lld bytes\n", (unsigned long long)sent,
		      (unsigned long long)answered, (double)answered / (double)sent,
		      (unsigned long long)cs.peers, (long long)grew);
	assert_int_equal(cs.peers, 0);
	assert_true(answered <= sent);
	assert_true(grew <= 0);
	rel_core_free(c);
}

/* 5000 completed handshakes from 5000 source addresses into a core with
 * max_peers 100: 100 sessions, the rest refused silently; memory within
 * max_peers x the stated per-session limit (events not polled: worst case). */
static void handshake_flood_bounded_by_max_peers(void **state)
{
	(void)state;
	const uint32_t max_peers = 100, window = 1024;
	struct rel_core *c = server(max_peers, window, 1 << 20, 8 << 20);
	int64_t before = heap_in_use();
	uint32_t opened = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		struct fake f;
		fake_addr(&f, i);
		opened += (uint32_t)handshake(c, &f);
	}
	int64_t grew = heap_in_use() - before;
	struct rel_core_stats cs;
	rel_core_stats(c, &cs);
	print_message("      handshake flood: 5000 sources, %u sessions, %llu refused, heap grew %lld "
		      "bytes = %lld per session (limit %llu at window %u)\n", opened,
		      (unsigned long long)cs.drop_peers, (long long)grew,
		      (long long)grew / max_peers, (unsigned long long)peer_limit(window), window);
	assert_int_equal(opened, max_peers);
	assert_int_equal(cs.peers, max_peers);
	assert_int_equal(cs.drop_peers, 5000 - max_peers);
	assert_true(grew <= (int64_t)(max_peers * peer_limit(window)));
	drain(c);
	rel_core_free(c);
}

/* The per-session size at a small window, so the per-slot part shows. */
static void session_size_scales_with_window(void **state)
{
	(void)state;
	for (uint32_t window = 8; window <= 4096; window *= 8) {
		struct rel_core *c = server(16, window, 1 << 20, 8 << 20);
		int64_t before = heap_in_use();
		for (uint32_t i = 0; i < 16; i++) {
			struct fake f;
			fake_addr(&f, i);
			assert_int_equal(handshake(c, &f), 1);
		}
		int64_t per = (heap_in_use() - before) / 16;
		print_message("      window %u: %lld bytes per session (limit %llu)\n", window,
			      (long long)per, (unsigned long long)peer_limit(window));
		assert_true(per <= (int64_t)peer_limit(window));
		drain(c);
		rel_core_free(c);
	}
}

static void data(struct rel_pkt *k, const struct fake *f, uint32_t seq, uint32_t msg_len,
		 uint32_t frag_index, uint32_t frag_count, const uint8_t *pay, size_t plen)
{
	*k = (struct rel_pkt){.type = REL_PT_DATA, .dst_sid = f->ssid, .src_sid = f->csid,
			      .ts = 1, .window = 1u << 30, .cum_ack = f->sinit, .seq = seq,
			      .msg_len = msg_len, .frag_off = frag_index * (uint32_t)plen,
			      .frag_index = frag_index, .frag_count = frag_count,
			      .payload = pay, .payload_len = plen};
}

/* One verified session opens as many messages as it can: the first
 * fragment of a message of nearly max_msg bytes each (the core allocates the
 * whole message then), then two-fragment messages of 2 bytes (the smallest
 * charge per reassembly record) up to the end of the window, then packets
 * beyond the window.  recv_mem stays <= recv_budget, and the heap grows by
 * at most recv_budget + RX_SLACK + window x RX_PER_PKT_MAX. */
static void recv_memory_bounded_by_budget(void **state)
{
	(void)state;
	const uint32_t window = 4096;
	const size_t budget = 1 << 20;
	struct rel_core *c = server(4, window, budget, 64 << 20);
	struct fake f;
	fake_addr(&f, 7);
	assert_int_equal(handshake(c, &f), 1);
	drain(c);
	int64_t before = heap_in_use();
	uint8_t pay[1000];
	memset(pay, 'H', sizeof pay);
	uint32_t big_len = (uint32_t)(budget / 4) - 1000, nfr = (big_len + 999) / 1000;
	uint32_t seq = f.cinit, big = 0, ebudget = 0;
	struct rel_pkt k;
	struct rel_stats st;
	for (int i = 0; i < 10; i++, seq += nfr) {
		data(&k, &f, seq, big_len, 0, nfr, pay, sizeof pay);
		int rc = feed(c, &f, &k);
		big += rc == 0;
		ebudget += rc == REL_EBUDGET;
		rel_out_pop(c, rel_out_pending(c));
		assert_int_equal(rel_peer_stats(c, 1, &st), 0);
		assert_true(st.recv_mem <= budget);
	}
	assert_int_equal(big, 4);
	assert_int_equal(ebudget, 6);
	uint32_t tiny = 0;
	for (; seq - f.cinit + 1 < window; seq += 2) {
		data(&k, &f, seq, 2, 0, 2, pay, 1);
		assert_int_equal(feed(c, &f, &k), 0);
		tiny++;
		rel_out_pop(c, rel_out_pending(c));
	}
	int64_t grew = heap_in_use() - before;
	uint64_t limit = budget + RX_SLACK(budget) + (uint64_t)window * RX_PER_PKT_MAX;
	assert_int_equal(rel_peer_stats(c, 1, &st), 0);
	print_message("      receive: %u x %u-byte reassemblies + %u tiny ones, recv_mem %llu "
		      "(budget %zu), %llu budget drops, heap grew %lld (limit %llu)\n",
		      big, big_len, tiny, (unsigned long long)st.recv_mem, budget,
		      (unsigned long long)st.drop_budget, (long long)grew, (unsigned long long)limit);
	assert_true(st.recv_mem <= budget);
	assert_true(grew <= (int64_t)limit);
	/* beyond the window: dropped, nothing allocated */
	int64_t at = heap_in_use();
	for (int i = 0; i < 1000; i++) {
		data(&k, &f, f.cinit + 1 + window + (uint32_t)i * 7, 2, 0, 2, pay, 1); /* rcv_nxt is cinit + 1 */
		assert_int_equal(feed(c, &f, &k), REL_EWINDOW);
	}
	rel_out_pop(c, rel_out_pending(c));
	assert_true(heap_in_use() - at <= 0);
	drain(c);
	rel_core_free(c);
}

/* Many sessions each filling their receive budget: the core's total stays
 * within core_budget. */
static void core_budget_bounds_all_sessions(void **state)
{
	(void)state;
	const uint32_t npeers = 32, window = 64;
	const size_t budget = 1 << 20;
	const uint64_t core_budget = 4 << 20;
	struct rel_core *c = server(npeers, window, budget, core_budget);
	struct fake f[32];
	for (uint32_t i = 0; i < npeers; i++) {
		fake_addr(&f[i], i);
		assert_int_equal(handshake(c, &f[i]), 1);
	}
	drain(c);
	int64_t before = heap_in_use();
	uint8_t pay[1000] = {0};
	uint32_t max_msg = (uint32_t)(budget / 4), nfr = (max_msg + 999) / 1000;
	for (uint32_t i = 0; i < npeers; i++) {
		struct rel_pkt k;
		data(&k, &f[i], f[i].cinit, max_msg, 0, nfr, pay, sizeof pay);
		(void)feed(c, &f[i], &k);
		rel_out_pop(c, rel_out_pending(c));
	}
	struct rel_core_stats cs;
	rel_core_stats(c, &cs);
	int64_t grew = heap_in_use() - before;
	print_message("      %u sessions x %u bytes asked: core recv_mem %llu (core_budget %llu), "
		      "heap grew %lld\n", npeers, max_msg, (unsigned long long)cs.recv_mem,
		      (unsigned long long)core_budget, (long long)grew);
	assert_true(cs.recv_mem <= core_budget);
	assert_true(grew <= (int64_t)(core_budget + RX_SLACK(core_budget) + npeers * (uint64_t)RX_PER_PKT_MAX));
	drain(c);
	rel_core_free(c);
}

/* A local sender queueing 4 KiB messages to a peer that never acks: the
 * core refuses with REL_EFULL at send_budget; the heap holds the bytes plus
 * TX_PER_MSG_MAX per message. */
static void send_memory_bounded_by_budget(void **state)
{
	(void)state;
	struct rel_core *c = server(4, 1024, 1 << 20, 8 << 20);
	struct fake f;
	fake_addr(&f, 3);
	assert_int_equal(handshake(c, &f), 1);
	drain(c);
	int64_t before = heap_in_use();
	static uint8_t msg[4096];
	uint32_t n = 0;
	int rc;
	while ((rc = rel_send(c, 1, msg, sizeof msg, REL_RDM, T0, NULL)) == 0) {
		n++;
		rel_out_pop(c, rel_out_pending(c));
		assert_true(n <= 1000);
	}
	assert_int_equal(rc, REL_EFULL);
	int64_t grew = heap_in_use() - before;
	print_message("      send: %u x 4096 bytes queued before REL_EFULL (send_budget %u), "
		      "heap grew %lld\n", n, 1 << 20, (long long)grew);
	assert_int_equal(n, (1 << 20) / 4096);
	assert_true(grew <= (int64_t)((1 << 20) + (uint64_t)n * TX_PER_MSG_MAX));
	drain(c);
	rel_core_free(c);
}

/* HELLOs arriving faster than the out-queue drains: the ones that cannot be
 * answered are counted (drop_busy), so every HELLO is accounted for. */
static void hello_flood_full_queue_counted(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 7;
	cfg.accept = 1;
	cfg.out_queue = 4;
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	assert_non_null(c);
	for (uint32_t i = 0; i < 10; i++) {
		struct fake f;
		fake_addr(&f, i);
		struct rel_pkt h = {.type = REL_PT_HELLO, .src_sid = f.csid, .hello_len = REL_HELLO_LEN};
		(void)feed(c, &f, &h);
	}
	struct rel_core_stats cs;
	rel_core_stats(c, &cs);
	assert_int_equal(rel_out_pending(c), cfg.out_queue);
	assert_int_equal(cs.cookies_sent, cfg.out_queue);
	assert_int_equal(cs.drop_busy, 10 - cfg.out_queue);
	rel_core_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_flood_keeps_no_state),
		cmocka_unit_test(hello_flood_full_queue_counted),
		cmocka_unit_test(handshake_flood_bounded_by_max_peers),
		cmocka_unit_test(session_size_scales_with_window),
		cmocka_unit_test(recv_memory_bounded_by_budget),
		cmocka_unit_test(core_budget_bounds_all_sessions),
		cmocka_unit_test(send_memory_bounded_by_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
