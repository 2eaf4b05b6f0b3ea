/* test_rel_hs_rate.c - the handshake rate limits of a core with a crypto
 * hook (rel_config.hs_rate/hs_burst per source, hs_global_rate/burst for
 * all): CONNECTs with valid cookies, each a new message 1, reach the hook's
 * hs_respond (the public-key work) no more often than the limits say, the
 * rest are dropped and counted, other sources and legitimate clients are
 * still served, and a repeated CONNECT answered from the kept ACCEPT costs
 * nothing.  Virtual time; the toy hook (support_toycrypto.h) counts its
 * hs_respond calls. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"
#include "support_toycrypto.h"

#define T0 5000000ull
static const uint8_t srv_addr[4] = {'S', 1, 1, 1};

struct addr {
	uint8_t b[28];
	size_t len;
};

static struct addr a4(const char *ip, uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
	assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	struct addr a = {.len = sizeof s};
	memcpy(a.b, &s, sizeof s);
	return a;
}

static struct addr a6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	assert_int_equal(inet_pton(AF_INET6, ip, &s.sin6_addr), 1);
	struct addr a = {.len = sizeof s};
	memcpy(a.b, &s, sizeof s);
	return a;
}

/* The server, the flood's client hook, and maybe one legitimate client
 * core at address legit (its own hook), joined by a perfect wire. */
struct net {
	struct rel_core *s, *c;
	struct toy_ctx sx, fx, cx;
	struct addr legit;
	uint32_t cpeer;
	int connected;
	uint64_t now;
	/* the newest COOKIE the server sent to any other address */
	uint32_t ck_sid, ck_bucket;
	uint64_t ck_cookie;
	unsigned accepts;    /* ACCEPTs the server sent to other addresses */
	int drop_accepts;    /* ACCEPTs to the legitimate client to lose */
	unsigned dead;       /* REL_EV_DEAD of the server */
};

static void net_open(struct net *n, uint32_t rate, uint32_t burst, uint32_t grate, uint32_t gburst)
{
	memset(n, 0, sizeof *n);
	n->now = T0;
	toy_ctx_init(&n->sx, 1);
	toy_ctx_init(&n->fx, 1);
	toy_ctx_init(&n->cx, 1);
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 77;
	cfg.accept = 1;
	cfg.window = 8;              /* thousands of sessions stay small */
	cfg.max_peers = 1u << 15;
	cfg.max_per_source = 1u << 20; /* the rate limit, not the session cap */
	cfg.hs_rate = rate;
	cfg.hs_burst = burst;
	cfg.hs_global_rate = grate;
	cfg.hs_global_burst = gburst;
	toy_attach(&n->sx, &cfg);
	assert_int_equal(rel_core_new(&n->s, &cfg), 0);
}

static void net_close(struct net *n)
{
	rel_core_free(n->s);
	rel_core_free(n->c);
}

/* Everything the server sent: the legitimate client's to it, the rest
 * looked at and dropped. */
static void serve(struct net *n)
{
	struct rel_dgram d;
	while (rel_out_peek(n->s, 0, &d) == 0) {
		if (n->c && d.addr_len == n->legit.len && !memcmp(d.addr, n->legit.b, d.addr_len)) {
			if (d.len > 2 && d.data[2] == REL_PT_ACCEPT && n->drop_accepts > 0)
				n->drop_accepts--;
			else
				(void)rel_input(n->c, srv_addr, sizeof srv_addr, d.data, d.len, n->now);
		} else {
			struct rel_pkt k;
			if (rel_wire_decode(&k, d.data, d.len) == 0) {
				if (k.type == REL_PT_COOKIE) {
					n->ck_sid = k.dst_sid;
					n->ck_bucket = k.bucket;
					n->ck_cookie = k.cookie;
				} else if (k.type == REL_PT_ACCEPT) {
					n->accepts++;
				}
			}
		}
		rel_out_pop(n->s, 1);
	}
	struct rel_event ev;
	while (rel_poll_event(n->s, &ev)) {
		n->dead += ev.type == REL_EV_DEAD;
		rel_buf_free(ev.data);
	}
}

static void pump(struct net *n)
{
	for (int round = 0; round < 100; round++) {
		serve(n);
		if (!n->c || !rel_out_pending(n->c))
			break;
		struct rel_dgram d;
		while (rel_out_peek(n->c, 0, &d) == 0) {
			(void)rel_input(n->s, n->legit.b, n->legit.len, d.data, d.len, n->now);
			rel_out_pop(n->c, 1);
		}
	}
	struct rel_event ev;
	while (n->c && rel_poll_event(n->c, &ev)) {
		if (ev.type == REL_EV_CONNECTED && ev.peer == n->cpeer)
			n->connected = 1;
		rel_buf_free(ev.data);
	}
}

static void tick(struct net *n, uint64_t dt)
{
	n->now += dt;
	rel_update(n->s, n->now);
	if (n->c)
		rel_update(n->c, n->now);
	pump(n);
}

static void legit_connect(struct net *n, struct addr at)
{
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 99;
	toy_attach(&n->cx, &cfg);
	assert_int_equal(rel_core_new(&n->c, &cfg), 0);
	n->legit = at;
	assert_int_equal(rel_connect(n->c, srv_addr, sizeof srv_addr, n->now, &n->cpeer), 0);
	pump(n);
}

/* The CONNECT a client makes for this cookie, with a new message 1. */
static size_t make_connect(struct net *n, uint32_t sid, uint8_t *out, size_t cap)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_CONNECT;
	k.flags = REL_F_NOISE;
	k.src_sid = sid;
	k.bucket = n->ck_bucket;
	k.cookie = n->ck_cookie;
	k.init_seq = 5000;
	k.window_pkts = 8;
	k.max_msg = 1 << 20;
	k.budget = 1 << 22;
	uint8_t pre[REL_CONNECT_LEN], m1[TOY_MSG1];
	void *cs = NULL;
	assert_int_equal(rel_wire_encode(&k, pre, sizeof pre), REL_CONNECT_LEN);
	assert_int_equal(toy_hs_init(&n->fx, &cs, NULL, pre, REL_CONNECT_LEN - REL_CRC_LEN, m1,
				     sizeof m1, 0),
			 TOY_MSG1);
	toy_free(&n->fx, cs);
	k.payload = m1;
	k.payload_len = TOY_MSG1;
	int len = rel_wire_encode(&k, out, cap);
	assert_int_equal(len, REL_CONNECT_LEN + TOY_MSG1);
	return (size_t)len;
}

/* One valid CONNECT from a, as a client that proved its address: HELLO,
 * the COOKIE, a CONNECT with its own message 1.  Returns what rel_input
 * said of the CONNECT (0: answered). */
static int connect_from(struct net *n, struct addr a, uint32_t sid, uint8_t *out, size_t *outlen)
{
	struct rel_pkt k;
	uint8_t b[256];
	memset(&k, 0, sizeof k);
	k.type = REL_PT_HELLO;
	k.src_sid = sid;
	k.hello_len = REL_HELLO_LEN;
	int len = rel_wire_encode(&k, b, sizeof b);
	assert_int_equal(rel_input(n->s, a.b, a.len, b, (size_t)len, n->now), 0);
	serve(n);
	assert_int_equal(n->ck_sid, sid);
	size_t m = make_connect(n, sid, b, sizeof b);
	if (out) {
		memcpy(out, b, m);
		*outlen = m;
	}
	int rc = rel_input(n->s, a.b, a.len, b, m, n->now);
	serve(n);
	return rc;
}

static struct rel_core_stats stats(const struct net *n)
{
	struct rel_core_stats st;
	rel_core_stats(n->s, &st);
	return st;
}

/* One address (any port) floods 1 CONNECT/ms for 2 s at hs_rate 10,
 * hs_burst 5: at most 5 + 10 x 2 reach the hook; another address is
 * served in the middle of it. */
static void flood_one_source_bounded(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 10, 5, 0, 0);
	unsigned sent = 0, ok = 0;
	for (unsigned ms = 0; ms < 2000; ms++) {
		if (ms == 1000) {
			unsigned before = n.sx.responds;
			assert_int_equal(connect_from(&n, a4("192.0.2.2", 4000), 0xb0b, NULL, NULL), 0);
			assert_int_equal(n.sx.responds, before + 1);
		}
		int rc = connect_from(&n, a4("192.0.2.1", (uint16_t)(1024 + ms)), 1 + ms, NULL, NULL);
		assert_true(rc == 0 || rc == UDP_EAGAIN);
		ok += rc == 0;
		sent++;
		tick(&n, 1000);
	}
	unsigned flood = n.sx.responds - 1; /* less the other address's */
	printf("flood: %u CONNECTs in 2 s, %u answered (limit 5 + 10/s)\n", sent, flood);
	assert_int_equal(flood, ok);
	assert_true(flood <= 5 + 10 * 2);
	assert_true(flood >= 5 + 10 * 2 - 1); /* and the limit is not stricter */
	assert_int_equal(n.accepts, n.sx.responds);
	struct rel_core_stats st = stats(&n);
	assert_int_equal(st.drop_hs_rate, sent - flood);
	assert_int_equal(st.drop_hs_global, 0);
	net_close(&n);
}

/* Sources are hosts: an IPv6 /64 is one (its holder has 2^64 addresses),
 * an IPv4 address is one whatever its port, and a v4-mapped IPv6 address
 * is its IPv4 one. */
static void source_is_v4_address_or_v6_prefix(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 1, 2, 0, 0);
	uint32_t sid = 1;
	assert_int_equal(connect_from(&n, a6("2001:db8:1:2::1", 1), sid++, NULL, NULL), 0);
	assert_int_equal(connect_from(&n, a6("2001:db8:1:2::2", 1), sid++, NULL, NULL), 0);
	assert_int_equal(connect_from(&n, a6("2001:db8:1:2:ffff:ffff:ffff:ffff", 9), sid++, NULL, NULL),
			 UDP_EAGAIN);
	assert_int_equal(connect_from(&n, a6("2001:db8:1:3::1", 1), sid++, NULL, NULL), 0);
	assert_int_equal(connect_from(&n, a4("198.51.100.7", 1), sid++, NULL, NULL), 0);
	assert_int_equal(connect_from(&n, a4("198.51.100.7", 2), sid++, NULL, NULL), 0);
	assert_int_equal(connect_from(&n, a6("::ffff:198.51.100.7", 3), sid++, NULL, NULL), UDP_EAGAIN);
	assert_int_equal(connect_from(&n, a4("198.51.100.8", 1), sid++, NULL, NULL), 0);
	assert_int_equal(stats(&n).drop_hs_rate, 2);
	assert_int_equal(n.sx.responds, 6);
	/* one interval later each source has one response again */
	tick(&n, 1000000);
	assert_int_equal(connect_from(&n, a6("2001:db8:1:2::3", 1), sid++, NULL, NULL), 0);
	assert_int_equal(connect_from(&n, a6("2001:db8:1:2::3", 1), sid++, NULL, NULL), UDP_EAGAIN);
	net_close(&n);
}

/* Many addresses (a botnet, each within its own limit) together: at most
 * hs_global_burst + hs_global_rate x T reach the hook. */
static void global_ceiling_across_sources(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 10, 5, 50, 10);
	unsigned sent = 0;
	for (unsigned ms = 0; ms < 2000; ms++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.%u.%u.1", ms / 250, ms % 250);
		int rc = connect_from(&n, a4(ip, 5000), 1 + ms, NULL, NULL);
		assert_true(rc == 0 || rc == UDP_EAGAIN);
		sent++;
		tick(&n, 1000);
	}
	printf("botnet: %u sources, %u answered (ceiling 10 + 50/s)\n", sent, n.sx.responds);
	assert_true(n.sx.responds <= 10 + 50 * 2);
	assert_true(n.sx.responds >= 10 + 50 * 2 - 1);
	struct rel_core_stats st = stats(&n);
	assert_int_equal(st.drop_hs_global, sent - n.sx.responds);
	assert_int_equal(st.drop_hs_rate, 0);
	net_close(&n);
}

/* A flooding address is held to its own limit before the ceiling, so what
 * it is refused leaves the ceiling untouched: a real client from another
 * address connects at its first CONNECT, in the middle of the flood. */
static void legit_client_behind_flood(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 10, 5, 20, 5);
	unsigned ms = 0;
	for (; ms < 500; ms++) {
		(void)connect_from(&n, a4("192.0.2.1", 7), 1 + ms, NULL, NULL);
		tick(&n, 1000);
	}
	legit_connect(&n, a4("203.0.113.5", 6000));
	uint64_t t_conn = n.now;
	for (; ms < 3000 && !n.connected; ms++) {
		(void)connect_from(&n, a4("192.0.2.1", 7), 1 + ms, NULL, NULL);
		tick(&n, 1000);
	}
	assert_true(n.connected);
	printf("legitimate client connected after %llu us of flood\n",
	       (unsigned long long)(n.now - t_conn));
	assert_true(n.now - t_conn <= 1000); /* its first CONNECT was answered */
	struct rel_core_stats st = stats(&n);
	assert_true(st.drop_hs_rate > 400);
	assert_int_equal(st.drop_hs_global, 0);
	/* and it works: a message through the sealed session */
	uint64_t id;
	assert_int_equal(rel_send(n.c, n.cpeer, "hello", 5, REL_SEQPACKET, n.now, &id), 0);
	pump(&n);
	struct rel_stats ps;
	assert_int_equal(rel_peer_stats(n.c, n.cpeer, &ps), 0);
	for (int i = 0; i < 10 && !ps.msgs_acked; i++) {
		tick(&n, 10000);
		assert_int_equal(rel_peer_stats(n.c, n.cpeer, &ps), 0);
	}
	assert_int_equal(ps.msgs_acked, 1);
	net_close(&n);
}

/* The same CONNECT again (our ACCEPT was lost) is answered from the kept
 * ACCEPT: no hook call, no token, even with every bucket empty. */
static void repeated_connect_costs_nothing(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 1, 1, 1, 1);
	struct addr a = a4("192.0.2.1", 1);
	uint8_t conn[256], acc[256];
	size_t clen = 0, alen = 0;
	assert_int_equal(connect_from(&n, a, 42, conn, &clen), 0);
	assert_int_equal(n.sx.responds, 1);
	assert_int_equal(n.accepts, 1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rel_input(n.s, a.b, a.len, conn, clen, n.now), 0);
		struct rel_dgram d;
		assert_int_equal(rel_out_pending(n.s), 1);
		assert_int_equal(rel_out_peek(n.s, 0, &d), 0);
		if (i == 0) {
			memcpy(acc, d.data, d.len);
			alen = d.len;
		}
		assert_int_equal(d.len, alen);
		assert_memory_equal(d.data, acc, alen);
		serve(&n);
		tick(&n, 100000); /* later, still within the interval */
	}
	assert_int_equal(n.accepts, 6);
	assert_int_equal(n.sx.responds, 1);
	struct rel_core_stats st = stats(&n);
	assert_int_equal(st.drop_hs_rate + st.drop_hs_global, 0);
	/* the buckets are empty: a new exchange from it, or from anyone, waits */
	assert_int_equal(connect_from(&n, a, 43, NULL, NULL), UDP_EAGAIN);
	assert_int_equal(connect_from(&n, a4("192.0.2.9", 1), 44, NULL, NULL), UDP_EAGAIN);
	st = stats(&n);
	assert_int_equal(st.drop_hs_rate, 1);
	assert_int_equal(st.drop_hs_global, 1);
	assert_int_equal(n.sx.responds, 1);
	net_close(&n);
}

/* A client that starts over (a new message 1 for the same sid) ends its
 * unkeyed session and gets a new one, but only with a token: a CONNECT
 * over the limit leaves the old session as it was. */
static void restart_over_limit_changes_nothing(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 1, 1, 0, 0);
	struct addr a = a4("192.0.2.1", 1);
	assert_int_equal(connect_from(&n, a, 42, NULL, NULL), 0);
	struct rel_core_stats st = stats(&n);
	assert_int_equal(st.peers, 1);
	assert_int_equal(connect_from(&n, a, 42, NULL, NULL), UDP_EAGAIN);
	st = stats(&n);
	assert_int_equal(st.peers, 1);
	assert_int_equal(st.drop_hs_rate, 1);
	assert_int_equal(n.dead, 0);
	assert_int_equal(n.sx.responds, 1);
	tick(&n, 1000000);
	assert_int_equal(connect_from(&n, a, 42, NULL, NULL), 0);
	assert_int_equal(n.sx.responds, 2);
	assert_int_equal(n.dead, 1); /* the old one ended, a new one took over */
	assert_int_equal(stats(&n).peers, 1);
	net_close(&n);
}

/* A real client whose first two ACCEPTs are lost retransmits its CONNECT
 * (1 s, 2 s later) and gets the kept ACCEPT, while a flood from elsewhere
 * takes every token of the ceiling (1/s) as soon as it is back. */
static void client_retransmission_gets_accept(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 0, 0, 1, 1);
	n.drop_accepts = 2;
	legit_connect(&n, a4("203.0.113.5", 6000));
	assert_int_equal(n.sx.responds, 1);
	assert_int_equal(n.drop_accepts, 1); /* the first is lost */
	unsigned flood_ok = 0;
	uint32_t sid = 100;
	for (int step = 0; step < 40 && !n.connected; step++) {
		/* the flood first: the client's retransmission finds the
		 * ceiling's token taken */
		n.now += 250000;
		flood_ok += connect_from(&n, a4("192.0.2.1", 1), sid++, NULL, NULL) == 0;
		tick(&n, 0);
	}
	assert_true(n.connected);
	struct rel_stats ps;
	assert_int_equal(rel_peer_stats(n.c, n.cpeer, &ps), 0);
	assert_true(ps.timeouts >= 1); /* it did retransmit */
	assert_int_equal(n.drop_accepts, 0); /* and both ACCEPTs were lost */
	assert_true(flood_ok >= 1);    /* the ceiling was spent before it came */
	assert_true(stats(&n).drop_hs_global > 0);
	assert_int_equal(n.sx.responds, 1 + flood_ok); /* never again for it */
	net_close(&n);
}

/* Limits 0: nothing changes, every CONNECT reaches the hook. */
static void zero_is_unlimited(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 0, 0, 0, 0);
	for (unsigned i = 0; i < 2000; i++) {
		assert_int_equal(connect_from(&n, a4("192.0.2.1", 1), 1 + i, NULL, NULL), 0);
		if (i % 4 == 0)
			tick(&n, 1000);
	}
	assert_int_equal(n.sx.responds, 2000);
	struct rel_core_stats st = stats(&n);
	assert_int_equal(st.drop_hs_rate + st.drop_hs_global, 0);
	net_close(&n);
}

/* The defaults let a host open its max_per_source sessions at once and a
 * restarted server's clients (1000 sources) come back at once. */
static void defaults_let_legitimate_bursts_pass(void **state)
{
	(void)state;
	struct rel_config d;
	rel_config_default(&d);
	assert_int_equal(d.hs_rate, 10);
	assert_int_equal(d.hs_burst, d.max_per_source);
	assert_int_equal(d.hs_global_rate, 500);
	assert_int_equal(d.hs_global_burst, 1000);
	struct net n;
	net_open(&n, d.hs_rate, d.hs_burst, d.hs_global_rate, d.hs_global_burst);
	uint32_t sid = 1;
	for (unsigned i = 0; i < d.max_per_source; i++)
		assert_int_equal(connect_from(&n, a4("192.0.2.1", (uint16_t)(1000 + i)), sid++, NULL, NULL), 0);
	for (unsigned i = d.max_per_source; i < d.hs_global_burst; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.0.%u.%u", i / 200, i % 200 + 1);
		assert_int_equal(connect_from(&n, a4(ip, 5000), sid++, NULL, NULL), 0);
	}
	assert_int_equal(n.sx.responds, d.hs_global_burst);
	assert_int_equal(connect_from(&n, a4("10.9.9.9", 1), sid++, NULL, NULL), UDP_EAGAIN);
	assert_int_equal(stats(&n).drop_hs_global, 1);
	net_close(&n);
}

/* The per-source table is fixed: 12000 sources at once find at most its
 * 4096 slots (the rest share an active bucket and wait: never a fresh
 * one), and once the buckets are full again idle slots are taken over. */
static void table_is_bounded(void **state)
{
	(void)state;
	struct net n;
	net_open(&n, 1, 1, 0, 0);
	uint32_t sid = 1;
	unsigned first = 0;
	for (unsigned i = 0; i < 12000; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.%u.%u.%u", i / 62500, i / 250 % 250, i % 250 + 1);
		first += connect_from(&n, a4(ip, 1), sid++, NULL, NULL) == 0;
	}
	printf("12000 sources at once: %u answered (table of 4096 slots)\n", first);
	assert_true(first <= 4096);
	assert_true(first >= 4000);
	assert_int_equal(stats(&n).drop_hs_rate, 12000 - first);
	/* a second later every bucket is full: the waiting ones are served */
	tick(&n, 1000000);
	unsigned second = 0;
	for (unsigned i = 0; i < 12000; i += 12) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.%u.%u.%u", i / 62500, i / 250 % 250, i % 250 + 1);
		second += connect_from(&n, a4(ip, 1), sid++, NULL, NULL) == 0;
	}
	printf("a second later, 1000 of them: %u answered\n", second);
	assert_true(second >= 990);
	net_close(&n);
}

static void config_checked(void **state)
{
	(void)state;
	struct toy_ctx x;
	toy_ctx_init(&x, 1);
	struct rel_config cfg;
	rel_config_default(&cfg);
	toy_attach(&x, &cfg);
	struct rel_core *c = NULL;
	cfg.hs_burst = 0;
	assert_int_equal(rel_core_new(&c, &cfg), REL_ECONFIG);
	cfg.hs_rate = 0; /* no limit: the burst is not used */
	assert_int_equal(rel_core_new(&c, &cfg), 0);
	rel_core_free(c);
	rel_config_default(&cfg);
	cfg.hs_global_burst = 0;
	assert_int_equal(rel_core_new(&c, &cfg), REL_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flood_one_source_bounded),
		cmocka_unit_test(source_is_v4_address_or_v6_prefix),
		cmocka_unit_test(global_ceiling_across_sources),
		cmocka_unit_test(legit_client_behind_flood),
		cmocka_unit_test(repeated_connect_costs_nothing),
		cmocka_unit_test(restart_over_limit_changes_nothing),
		cmocka_unit_test(client_retransmission_gets_accept),
		cmocka_unit_test(zero_is_unlimited),
		cmocka_unit_test(defaults_let_legitimate_bursts_pass),
		cmocka_unit_test(table_is_bounded),
		cmocka_unit_test(config_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
