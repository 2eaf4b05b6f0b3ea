/* test_rel_harden.c - issue 13, points 2 and 3: keys nobody can compute
 * by default, and receive memory no peer can monopolise (a stranger
 * announcing huge messages, the per-source share and cap, stalled
 * messages), in virtual time.  Bounds: docs/HARDENING.md. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rel.h"
#include "rel_wire.h"
#include "support_relsim.h"

static const uint64_t T0 = 5000000;

/* A peer built by hand, as a hostile one would build its packets. */
struct fake {
	uint8_t addr[28];
	size_t alen;
	uint32_t csid, ssid;
};

static void fake_v4(struct fake *f, uint32_t host, uint16_t port, uint32_t csid)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(host)};
	memset(f, 0, sizeof *f);
	memcpy(f->addr, &a, sizeof a);
	f->alen = sizeof a;
	f->csid = csid;
}

static int feed(struct rel_core *c, const struct fake *f, const struct rel_pkt *k)
{
	uint8_t buf[2048];
	int n = rel_wire_encode(k, buf, sizeof buf);
	assert_true(n > 0);
	return rel_input(c, f->addr, f->alen, buf, (size_t)n, T0);
}

/* Takes the oldest queued datagram, decoded; 0 if none. */
static int take(struct rel_core *c, struct rel_pkt *out)
{
	static uint8_t keep[2048];
	struct rel_dgram d;
	if (rel_out_pending(c) == 0)
		return 0;
	assert_int_equal(rel_out_peek(c, 0, &d), 0);
	memcpy(keep, d.data, d.len);
	assert_int_equal(rel_wire_decode(out, keep, d.len), 0);
	rel_out_pop(c, 1);
	return 1;
}

/* HELLO, COOKIE, CONNECT: the CONNECT's result (0 = accepted). */
static int handshake(struct rel_core *c, struct fake *f, uint64_t *cookie)
{
	struct rel_pkt h = {.type = REL_PT_HELLO, .src_sid = f->csid, .hello_len = REL_HELLO_LEN};
	struct rel_pkt r;
	assert_int_equal(feed(c, f, &h), 0);
	assert_int_equal(take(c, &r), 1);
	assert_int_equal(r.type, REL_PT_COOKIE);
	if (cookie)
		*cookie = r.cookie;
	struct rel_pkt k = {.type = REL_PT_CONNECT, .src_sid = f->csid, .bucket = r.bucket,
			    .cookie = r.cookie, .init_seq = 1000, .window_pkts = 1024,
			    .max_msg = 1u << 30, .budget = 1u << 30};
	int rc = feed(c, f, &k);
	if (rc == 0 && take(c, &r)) {
		assert_int_equal(r.type, REL_PT_ACCEPT);
		f->ssid = r.src_sid;
	}
	rel_out_pop(c, rel_out_pending(c));
	return rc;
}

/* The first fragment (1000 bytes) of a message announcing len bytes. */
static int first_frag(struct rel_core *c, const struct fake *f, uint32_t seq, uint32_t len)
{
	static uint8_t pay[1000];
	struct rel_pkt k = {.type = REL_PT_DATA, .dst_sid = f->ssid, .src_sid = f->csid, .ts = 1,
			    .window = 1u << 30, .seq = seq, .msg_len = len, .frag_count = (len + 999) / 1000,
			    .payload = pay, .payload_len = sizeof pay};
	return feed(c, f, &k);
}

static struct rel_core *server(uint64_t seed)
{
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = seed;
	cfg.accept = 1;
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	return c;
}

/* The built-in source key reads Linux sockaddrs without a socket header. */
static void sockaddr_layout_matches(void **state)
{
	(void)state;
	assert_int_equal(AF_INET, 2);
	assert_int_equal(AF_INET6, 10);
	assert_int_equal(sizeof(struct sockaddr_in), 16);
	assert_int_equal(sizeof(struct sockaddr_in6), 28);
	assert_int_equal(offsetof(struct sockaddr_in, sin_addr), 4);
	assert_int_equal(offsetof(struct sockaddr_in6, sin6_addr), 8);
}

/* Default cores draw their keys: different cookies and session ids for
 * the same input.  An explicit seed gives the same ones every time. */
static void default_keys_differ_seeded_repeat(void **state)
{
	(void)state;
	uint64_t ck[4];
	uint32_t sid[4];
	for (int i = 0; i < 4; i++) {
		struct rel_core *c = server(i < 2 ? 0 : 77);
		struct fake f;
		fake_v4(&f, 0x0a000001, 4000, 0x1234);
		assert_int_equal(handshake(c, &f, &ck[i]), 0);
		sid[i] = f.ssid;
		rel_core_free(c);
	}
	assert_true(ck[0] != ck[1]);
	assert_true(sid[0] != sid[1]);
	assert_true(ck[2] == ck[3]);
	assert_true(sid[2] == sid[3]);
}

/* max_per_source sessions from one host, whatever its ports; the next are
 * refused with no answer and counted; another host is not affected. */
static void per_source_cap(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 3;
	cfg.accept = 1;
	cfg.max_per_source = 8;
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	int ok = 0, refused = 0;
	for (uint32_t i = 0; i < 20; i++) {
		struct fake f;
		fake_v4(&f, 0x0a000001, (uint16_t)(5000 + i), 0x100 + i);
		int rc = handshake(c, &f, NULL);
		ok += rc == 0;
		refused += rc == REL_ESOURCE;
	}
	struct fake other;
	fake_v4(&other, 0x0a000002, 5000, 0x999);
	assert_int_equal(handshake(c, &other, NULL), 0);
	struct rel_core_stats st;
	rel_core_stats(c, &st);
	print_message("      per-source cap 8: %d accepted, %d refused (drop_source %llu), sources %llu\n",
		      ok, refused, (unsigned long long)st.drop_source, (unsigned long long)st.sources);
	assert_int_equal(ok, 8);
	assert_int_equal(refused, 12);
	assert_int_equal(st.drop_source, 12);
	assert_int_equal(st.peers, 9);
	assert_int_equal(st.sources, 2);
	rel_core_free(c);
}

/* One source cannot take more than what it leaves free of core_budget; a
 * second source still gets memory. */
static void source_share_of_core_budget(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 4;
	cfg.accept = 1;
	cfg.window = 64;
	cfg.max_msg = 1 << 20;
	cfg.recv_budget = 4 << 20;
	cfg.core_budget = 8 << 20;
	struct rel_core *c = NULL;
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	struct rel_core_stats st;
	int admitted = 0;
	for (uint32_t s = 0; s < 32; s++) {
		struct fake f;
		fake_v4(&f, 0x0a000001, (uint16_t)(6000 + s), 0x200 + s);
		assert_int_equal(handshake(c, &f, NULL), 0);
		/* each message reserves window x 1000 = 64 000 bytes */
		for (uint32_t m = 0; m < 64; m++)
			admitted += first_frag(c, &f, 1000 + m, 1 << 20) == 0;
		rel_out_pop(c, rel_out_pending(c));
	}
	rel_core_stats(c, &st);
	uint64_t hog = st.recv_mem;
	print_message("      one source: %d messages admitted, %llu bytes held (core_budget %llu), "
		      "drop_share %llu\n", admitted, (unsigned long long)hog,
		      (unsigned long long)cfg.core_budget, (unsigned long long)st.drop_share);
	assert_true(hog <= cfg.core_budget / 2);
	assert_true(hog + 64000 > cfg.core_budget / 2);
	assert_true(st.drop_share > 0);
	struct fake g;
	fake_v4(&g, 0x0a000009, 7000, 0x300);
	assert_int_equal(handshake(c, &g, NULL), 0);
	for (uint32_t m = 0; m < 8; m++)
		assert_int_equal(first_frag(c, &g, 1000 + m, 1 << 20), 0);
	rel_core_stats(c, &st);
	assert_true(st.recv_mem <= cfg.core_budget);
	rel_core_free(c);
}

/* ---- the attack of issue 13, in virtual time ---- */

#define GEN_MSGS 24
#define GEN_LEN (128 * 1024)
#define ATT_SESS 16

struct run {
	uint64_t done_us;      /* virtual time the 3 MB took */
	uint64_t peak_mem;     /* server recv_mem, highest seen */
	struct rel_core_stats st;
};

static void run_transfer(int attack, struct run *out)
{
	struct sim_link link = {.loss = 0.01, .delay_us = 10000, .jitter_us = 1000};
	struct sim *s = sim_new(13, &link);
	sim_set_now(s, T0);
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 101;
	cfg.accept = 1;
	struct rel_core *srv = NULL, *gen = NULL, *att = NULL;
	assert_int_equal(rel_core_new(&srv, &cfg), 0);
	rel_config_default(&cfg);
	cfg.seed = 102;
	assert_int_equal(rel_core_new(&gen, &cfg), 0);
	cfg.seed = 103;
	cfg.fixed_initial_seq = 1;
	cfg.initial_seq = 5000; /* the attacker's first DATA seq */
	assert_int_equal(rel_core_new(&att, &cfg), 0);
	int ns = sim_add(s, srv), ng = sim_add(s, gen), na = sim_add(s, att);
	(void)ng;
	size_t alen, aalen;
	const uint8_t *saddr = sim_addr(s, ns, &alen);
	const uint8_t *aaddr = sim_addr(s, na, &aalen);
	uint32_t gid, aid[ATT_SESS];
	assert_int_equal(rel_connect(gen, saddr, alen, sim_now(s), &gid), 0);
	for (int i = 0; attack && i < ATT_SESS; i++)
		assert_int_equal(rel_connect(att, saddr, alen, sim_now(s), &aid[i]), 0);
	int up = 0, want = 1 + (attack ? ATT_SESS : 0);
	struct rel_event ev;
	while (up < want && sim_step(s, sim_now(s) + 10000000)) {
		while (rel_poll_event(gen, &ev))
			up += ev.type == REL_EV_CONNECTED;
		while (rel_poll_event(att, &ev))
			up += ev.type == REL_EV_CONNECTED;
	}
	assert_int_equal(up, want);
	while (rel_poll_event(srv, &ev))
		;
	if (attack) {
		/* each attacker session: one 1000-byte fragment announcing 64 MiB,
		 * addressed with the session ids the attacker core negotiated */
		for (int i = 0; i < ATT_SESS; i++) {
			struct rel_pkt k;
			uint8_t pay[1000] = {0}, buf[1500];
			memset(&k, 0, sizeof k);
			k.type = REL_PT_DATA;
			k.ts = 1;
			k.window = 1u << 30;
			k.seq = 5000;
			k.msg_len = 64u << 20;
			k.frag_count = (64u << 20) / 1000 + 1;
			k.payload = pay;
			k.payload_len = sizeof pay;
			/* session ids: those of a DGRAM the attacker core builds */
			struct rel_dgram d;
			struct rel_pkt dg;
			uint8_t keep[1500];
			assert_int_equal(rel_send(att, aid[i], "", 0, REL_DGRAM, sim_now(s), NULL), 0);
			size_t pend = rel_out_pending(att);
			assert_true(pend > 0);
			assert_int_equal(rel_out_peek(att, pend - 1, &d), 0);
			memcpy(keep, d.data, d.len);
			assert_int_equal(rel_wire_decode(&dg, keep, d.len), 0);
			k.dst_sid = dg.dst_sid;
			k.src_sid = dg.src_sid;
			k.cum_ack = dg.cum_ack;
			int n = rel_wire_encode(&k, buf, sizeof buf);
			assert_true(n > 0);
			assert_int_equal(rel_input(srv, aaddr, aalen, buf, (size_t)n, sim_now(s)), 0);
		}
	}
	struct rel_core_stats st;
	rel_core_stats(srv, &st);
	out->peak_mem = st.recv_mem;
	uint8_t *msg = malloc(GEN_LEN);
	for (int i = 0; i < GEN_MSGS; i++) {
		memset(msg, i, GEN_LEN);
		assert_int_equal(rel_send(gen, gid, msg, GEN_LEN, REL_SEQPACKET, sim_now(s), NULL), 0);
	}
	free(msg);
	uint64_t start = sim_now(s);
	int got = 0;
	while (got < GEN_MSGS && sim_step(s, start + 120000000)) {
		rel_core_stats(srv, &st);
		if (st.recv_mem > out->peak_mem)
			out->peak_mem = st.recv_mem;
		while (rel_poll_event(srv, &ev))
			if (ev.type == REL_EV_MESSAGE && ev.mode == REL_DGRAM) {
				rel_buf_free(ev.data); /* the attacker's probes */
			} else if (ev.type == REL_EV_MESSAGE) {
				assert_int_equal(ev.len, GEN_LEN);
				assert_int_equal(ev.data[GEN_LEN - 1], got);
				got++;
				rel_buf_free(ev.data);
			}
		while (rel_poll_event(gen, &ev))
			;
		while (rel_poll_event(att, &ev))
			;
	}
	assert_int_equal(got, GEN_MSGS);
	out->done_us = sim_now(s) - start;
	if (attack) {
		/* the attacker's session stays alive (keepalives): its messages
		 * make no progress and are dropped after stall_us */
		rel_core_stats(srv, &st);
		assert_int_equal(st.drop_stalled, 0);
		uint64_t until = sim_now(s) + 60000000 + 1000000;
		while (sim_step(s, until))
			while (rel_poll_event(att, &ev) || rel_poll_event(gen, &ev))
				;
	}
	rel_core_stats(srv, &out->st);
	rel_core_free(srv);
	rel_core_free(gen);
	rel_core_free(att);
	sim_free(s);
}

static void stranger_cannot_stall_receiver(void **state)
{
	(void)state;
	struct run calm, hit;
	run_transfer(0, &calm);
	run_transfer(1, &hit);
	print_message("      3 MB genuine transfer: %.3f s alone, %.3f s with 16 sessions announcing "
		      "64 MiB; peak recv_mem %llu alone, %llu attacked; after 61 s: drop_stalled %llu, "
		      "recv_mem %llu, sessions %llu\n",
		      calm.done_us / 1e6, hit.done_us / 1e6, (unsigned long long)calm.peak_mem,
		      (unsigned long long)hit.peak_mem, (unsigned long long)hit.st.drop_stalled,
		      (unsigned long long)hit.st.recv_mem, (unsigned long long)hit.st.peers);
	assert_true(hit.done_us <= 2 * calm.done_us);
	assert_int_equal(hit.st.drop_stalled, ATT_SESS);
	assert_int_equal(hit.st.recv_mem, 0);
	/* the attacker was charged what the window holds of each message:
	 * window x fragment = 1024 x 1000 bytes, not 64 MiB */
	assert_true(hit.peak_mem <= calm.peak_mem + (uint64_t)ATT_SESS * 1024 * 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sockaddr_layout_matches),
		cmocka_unit_test(default_keys_differ_seeded_repeat),
		cmocka_unit_test(per_source_cap),
		cmocka_unit_test(source_share_of_core_budget),
		cmocka_unit_test(stranger_cannot_stall_receiver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
