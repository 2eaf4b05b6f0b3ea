/* cmocka tests for connection migration (reliable/rel_path.c), in virtual
 * time: a session follows its peer to a new port or a new host, during a
 * transfer and while idle, in both directions; forged packets from a new
 * address move nothing; a new address that never answers leaves the old
 * path in place, and gets at most 3x what came from it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_int.h"
#include "rel_wire.h"
#include "support_relpair.h"
#include "support_relsim.h"

/* A controller that only counts its restarts: RFC 9000 9.4 restarts it
 * for a new host, not for a new port. */
static void cc_init(void *st, void *ctx, const struct rel_cc_info *i)
{
	(void)st;
	(void)i;
	(*(int *)ctx)++;
}
static int cc_may(void *st, void *ctx, const struct rel_cc_info *i, size_t b, uint64_t now, uint64_t *w)
{
	(void)st, (void)ctx, (void)i, (void)b, (void)now, (void)w;
	return 1;
}
static void cc_ev(void *st, void *ctx, const struct rel_cc_info *i, enum rel_cc_event e, uint64_t b,
		  uint64_t now)
{
	(void)st, (void)ctx, (void)i, (void)e, (void)b, (void)now;
}
static const struct rel_cc_ops count_cc = {8, cc_init, cc_may, cc_ev};

#define NMSG 200
#define MSGLEN 10000

struct mig {
	struct sim *s;
	struct rel_core *c[2]; /* 0 connects to 1 */
	uint32_t id[2];        /* each side's id of the other */
	int cc_inits[2];
	int got[2], acked[2], migrated[2], bad_order;
	uint64_t hole_bytes;   /* sent to an address that reaches no one */
	uint64_t from_bytes[2]; /* sent by each node since mark */
	int mark, conn0;
};

static void sin_blob(uint8_t out[16], uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(ip);
	memcpy(out, &sa, sizeof sa);
}

static void tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct mig *m = ctx;
	(void)d;
	if (to < 0)
		m->hole_bytes += len;
	if (m->mark && from >= 0 && from < 2)
		m->from_bytes[from] += len;
}

static void drain(struct mig *m)
{
	for (int i = 0; i < 2; i++) {
		struct rel_event ev;
		while (rel_poll_event(m->c[i], &ev)) {
			if (ev.type == REL_EV_MESSAGE) {
				uint32_t idx;
				memcpy(&idx, ev.data, 4);
				if (ev.len != MSGLEN || idx != (uint32_t)m->got[i])
					m->bad_order++;
				m->got[i]++;
				rel_buf_free(ev.data);
			} else if (ev.type == REL_EV_ACKED) {
				m->acked[i]++;
			} else if (ev.type == REL_EV_MIGRATED) {
				m->migrated[i]++;
			} else if (ev.type == REL_EV_CONNECTED && i == 1) {
				m->id[1] = ev.peer;
			} else if (ev.type == REL_EV_CONNECTED) {
				m->conn0 = 1;
			}
		}
	}
}

/* Runs until pred holds or limit_us of virtual time passed. */
static int run(struct mig *m, uint64_t span, int (*pred)(const struct mig *))
{
	uint64_t limit = sim_now(m->s) + span;
	while (!(pred && pred(m)) && sim_step(m->s, limit))
		drain(m);
	drain(m);
	return pred ? pred(m) : 1;
}

static int connected(const struct mig *m)
{
	return m->id[1] != 0 && m->conn0;
}

static const uint32_t IP_A = 0x0a000001, IP_B = 0x0a000002, IP_A2 = 0x0a000003;

static void mig_open(struct mig *m, uint64_t seed)
{
	memset(m, 0, sizeof *m);
	struct sim_link link = {.delay_us = 5000};
	assert_non_null(m->s = sim_new(seed, &link));
	sim_set_now(m->s, 1000000);
	for (int i = 0; i < 2; i++) {
		struct rel_config cfg;
		relpair_config(&cfg, seed * 2 + (uint64_t)i + 1);
		cfg.accept = i;
		cfg.cc = &count_cc;
		cfg.cc_ctx = &m->cc_inits[i];
		assert_int_equal(rel_core_new(&m->c[i], &cfg), 0);
		assert_int_equal(sim_add(m->s, m->c[i]), i);
		uint8_t a[16];
		sin_blob(a, i ? IP_B : IP_A, i ? 2000 : 1000);
		assert_int_equal(sim_set_addr(m->s, i, a, 16, SIM_ADDR_MOVE), 0);
	}
	sim_set_tap(m->s, tap, m);
	size_t blen;
	const uint8_t *b = sim_addr(m->s, 1, &blen);
	assert_int_equal(rel_connect(m->c[0], b, blen, sim_now(m->s), &m->id[0]), 0);
	assert_true(run(m, 10000000, connected));
}

static void mig_close(struct mig *m)
{
	rel_core_free(m->c[0]);
	rel_core_free(m->c[1]);
	sim_free(m->s);
}

static void queue_msgs(struct mig *m, int from, int n)
{
	static uint8_t buf[MSGLEN];
	for (int k = 0; k < n; k++) {
		uint32_t idx = (uint32_t)k;
		memcpy(buf, &idx, 4);
		memset(buf + 4, 'a' + k % 26, MSGLEN - 4);
		assert_int_equal(rel_send(m->c[from], m->id[from], buf, MSGLEN, REL_SEQPACKET, sim_now(m->s), NULL), 0);
	}
}

static int flow_started_0(const struct mig *m) { return m->got[1] >= NMSG / 4; }
static int flow_done_0(const struct mig *m) { return m->got[1] == NMSG && m->acked[0] == NMSG; }
static int flow_started_1(const struct mig *m) { return m->got[0] >= NMSG / 4; }
static int flow_done_1(const struct mig *m) { return m->got[0] == NMSG && m->acked[1] == NMSG; }
static int migrated_1(const struct mig *m) { return m->migrated[1] > 0; }

static void assert_addr(struct rel_core *c, uint32_t id, const uint8_t *want, size_t len)
{
	uint8_t a[REL_ADDR_MAX];
	assert_int_equal(rel_peer_addr(c, id, a, sizeof a), (int)len);
	assert_memory_equal(a, want, len);
}

/* Node 0 (the client) moves to a new port or host, during a transfer of
 * its own or while idle: the server follows, validates, and charges the
 * new source. */
static void client_moves(int new_host, int during_flow)
{
	struct mig m;
	mig_open(&m, 11 + (uint64_t)(2 * new_host + during_flow));
	uint8_t old[16], neu[16];
	memcpy(old, sim_addr(m.s, 0, &(size_t){0}), 16);
	sin_blob(neu, new_host ? IP_A2 : IP_A, new_host ? 1000 : 1001);
	if (during_flow) {
		queue_msgs(&m, 0, NMSG);
		assert_true(run(&m, 60000000, flow_started_0));
		assert_true(m.got[1] < NMSG);
	} else {
		queue_msgs(&m, 0, 1);
		run(&m, 2000000, NULL);
		assert_int_equal(m.got[1], 1);
	}
	int inits = m.cc_inits[1];
	assert_int_equal(inits, 1);
	assert_int_equal(sim_set_addr(m.s, 0, neu, 16, SIM_ADDR_MOVE), 0);
	/* idle: the client's keepalive is what tells the server */
	assert_true(run(&m, 20000000, during_flow ? flow_done_0 : migrated_1));
	if (!during_flow) {
		queue_msgs(&m, 1, 3); /* and the server reaches it there */
		assert_true(run(&m, 5000000, NULL));
		assert_int_equal(m.got[0], 3);
	}
	assert_int_equal(m.bad_order, 0);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(m.c[1], m.id[1], &st), 0);
	assert_int_equal(st.migrations, 1);
	assert_int_equal(st.path_failures, 0);
	assert_int_equal(m.migrated[1], 1);
	assert_addr(m.c[1], m.id[1], neu, 16);
	uint8_t prev[REL_ADDR_MAX];
	assert_int_equal(rel_peer_prev_addr(m.c[1], m.id[1], prev, sizeof prev), 16);
	assert_memory_equal(prev, old, 16);
	/* a new host restarts the controller, a new port does not */
	assert_int_equal(m.cc_inits[1], new_host ? 2 : 1);
	/* the session's source moved: the old one is released */
	struct rel_core_stats cs;
	rel_core_stats(m.c[1], &cs);
	assert_int_equal(cs.migrations, 1);
	assert_int_equal(cs.sources, 1);
	if (new_host)
		assert_null(rel_src_find(m.c[1], old, 16));
	struct rel_src *s = rel_src_find(m.c[1], neu, 16);
	assert_non_null(s);
	assert_int_equal(s->nsess, 1);
	assert_int_equal(s->naccepted, 1);
	assert_int_equal(s->mem, cs.recv_mem);
	/* the client saw nothing of it: the server did not move */
	assert_int_equal(m.migrated[0], 0);
	mig_close(&m);
}

static void port_change_during_flow(void **state) { (void)state; client_moves(0, 1); }
static void host_change_during_flow(void **state) { (void)state; client_moves(1, 1); }
static void port_change_idle(void **state) { (void)state; client_moves(0, 0); }
static void host_change_idle(void **state) { (void)state; client_moves(1, 0); }

/* The server's address changes under a transfer from the client: the
 * client follows it (its ACKs are the newest packets). */
static void client_follows_server(void **state)
{
	(void)state;
	struct mig m;
	mig_open(&m, 21);
	uint8_t neu[16];
	sin_blob(neu, 0x0a000009, 2001);
	queue_msgs(&m, 0, NMSG);
	assert_true(run(&m, 60000000, flow_started_0));
	assert_int_equal(sim_set_addr(m.s, 1, neu, 16, SIM_ADDR_MOVE), 0);
	assert_true(run(&m, 60000000, flow_done_0));
	assert_int_equal(m.bad_order, 0);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(m.c[0], m.id[0], &st), 0);
	assert_int_equal(st.migrations, 1);
	assert_int_equal(m.migrated[0], 1);
	assert_addr(m.c[0], m.id[0], neu, 16);
	mig_close(&m);
}

/* Packets from a new address that are not genuine and newest: a bad
 * checksum, an old packet replayed, wrong session ids, a PATH_RESPONSE
 * with a guessed token.  None moves the session or draws a byte there. */
static void forged_packets_move_nothing(void **state)
{
	(void)state;
	struct mig m;
	mig_open(&m, 31);
	queue_msgs(&m, 0, 5);
	run(&m, 2000000, NULL);
	assert_int_equal(m.got[1], 5);
	/* a DATA packet of the client, as an attacker on the path saw it */
	struct sess_view { uint8_t d[2048]; size_t len; } cap = {{0}, 0};
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_DATA;
	struct rel_sess *cs = rel_sess_find(m.c[0], m.id[0]);
	assert_non_null(cs);
	k.dst_sid = cs->rsid;
	k.src_sid = cs->lsid;
	k.ts = rel_sess_find(m.c[1], m.id[1])->peer_window_ts - 1000; /* older than what came */
	k.cum_ack = cs->rcv_nxt;
	k.seq = cs->snd_nxt - 3;                  /* received already */
	k.msg_len = 1;
	k.frag_count = 1;
	k.payload = (const uint8_t *)"x";
	k.payload_len = 1;
	int n = rel_wire_encode(&k, cap.d, sizeof cap.d);
	assert_true(n > 0);
	cap.len = (size_t)n;
	uint8_t evil[16], f[2048];
	sin_blob(evil, 0x0a0000ee, 6666);
	uint64_t now = sim_now(m.s);
	struct rel_core *b = m.c[1];
	size_t before = rel_out_pending(b);
	/* an old sequence number and timestamp */
	assert_int_equal(rel_input(b, evil, 16, cap.d, cap.len, now), REL_ESESSION);
	/* the newest packet, but its checksum is wrong */
	k.ts = (uint32_t)now + 5;
	k.seq = cs->snd_nxt;
	n = rel_wire_encode(&k, f, sizeof f);
	f[n - 6] ^= 0x40;
	assert_int_equal(rel_input(b, evil, 16, f, (size_t)n, now), REL_ECHECKSUM);
	/* newest, checksum right, session ids wrong (either one) */
	struct rel_pkt w = k;
	w.dst_sid ^= 0x100;
	n = rel_wire_encode(&w, f, sizeof f);
	assert_int_equal(rel_input(b, evil, 16, f, (size_t)n, now), REL_ESESSION);
	w = k;
	w.src_sid ^= 0x100;
	n = rel_wire_encode(&w, f, sizeof f);
	assert_int_equal(rel_input(b, evil, 16, f, (size_t)n, now), REL_ESESSION);
	/* a PATH_RESPONSE with a guessed token */
	memset(&w, 0, sizeof w);
	w.type = REL_PT_RESPONSE;
	w.dst_sid = k.dst_sid;
	w.src_sid = k.src_sid;
	w.token = 0x0123456789abcdefull;
	n = rel_wire_encode(&w, f, sizeof f);
	assert_int_equal(n, REL_PATH_LEN);
	assert_int_equal(rel_input(b, evil, 16, f, (size_t)n, now), REL_EUNEXPECTED);
	/* nothing queued for the forged address, nothing moved */
	for (size_t i = 0; i < rel_out_pending(b); i++) {
		struct rel_dgram g;
		assert_int_equal(rel_out_peek(b, i, &g), 0);
		assert_false(g.addr_len == 16 && !memcmp(g.addr, evil, 16));
	}
	assert_int_equal(rel_out_pending(b), before);
	uint8_t a0[16];
	sin_blob(a0, IP_A, 1000);
	assert_addr(b, m.id[1], a0, 16);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(b, m.id[1], &st), 0);
	assert_int_equal(st.migrations + st.path_failures, 0);
	assert_int_equal(m.got[1], 5);
	/* and the session goes on */
	queue_msgs(&m, 1, 2);
	run(&m, 2000000, NULL);
	assert_int_equal(m.got[0], 2);
	assert_int_equal(m.migrated[0] + m.migrated[1], 0);
	mig_close(&m);
}

/* The client's packets come from an address that never gets anything
 * back (a one-way path) while the server sends it a bulk transfer: the
 * server tries the new address, gets no answer, stays on the old path,
 * and sent there at most 3x what came from there. */
static void validation_failure_keeps_old_path(void **state)
{
	(void)state;
	struct mig m;
	mig_open(&m, 41);
	uint8_t old[16], hole[16];
	memcpy(old, sim_addr(m.s, 0, &(size_t){0}), 16);
	sin_blob(hole, IP_A, 1777);
	queue_msgs(&m, 1, NMSG);
	assert_true(run(&m, 60000000, flow_started_1));
	m.hole_bytes = 0;
	m.mark = 1;
	assert_int_equal(sim_set_addr(m.s, 0, hole, 16, SIM_ADDR_DEAF), 0);
	assert_true(run(&m, 120000000, flow_done_1));
	assert_int_equal(m.bad_order, 0);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(m.c[1], m.id[1], &st), 0);
	assert_true(st.path_failures >= 1);
	assert_int_equal(st.migrations, 0);
	assert_int_equal(m.migrated[1], 0);
	assert_addr(m.c[1], m.id[1], old, 16);
	/* tried (challenges at least), and within 3x */
	assert_true(m.hole_bytes >= REL_PATH_LEN);
	assert_true(m.hole_bytes <= 3 * m.from_bytes[0]);
	print_message("to the silent address %llu bytes, from it %llu; failures %llu\n",
		      (unsigned long long)m.hole_bytes, (unsigned long long)m.from_bytes[0],
		      (unsigned long long)st.path_failures);
	mig_close(&m);
}

/* One small packet from a new address while the server has a lot to send
 * there: before the challenge is answered, 3x that packet at most. */
static void three_times_limit(void **state)
{
	(void)state;
	struct mig m;
	mig_open(&m, 51);
	uint8_t hole[16];
	sin_blob(hole, IP_A2, 1000);
	queue_msgs(&m, 1, 3);
	run(&m, 2000000, NULL);
	assert_int_equal(m.got[0], 3);
	/* the client goes quiet on its old address; its next packet (a
	 * keepalive) comes from one that hears nothing */
	assert_int_equal(sim_set_addr(m.s, 0, hole, 16, SIM_ADDR_DEAF), 0);
	m.hole_bytes = 0;
	m.mark = 1;
	/* the server queues 1 MB for the client as soon as it moved */
	uint64_t limit = sim_now(m.s) + 10000000;
	int queued = 0;
	while (sim_step(m.s, limit)) {
		drain(&m);
		struct rel_sess *p = rel_sess_find(m.c[1], m.id[1]);
		if (!queued && p->path_check) {
			queue_msgs(&m, 1, 100);
			queued = 1;
		}
		if (queued && !p->path_check)
			break;
		assert_true(m.hole_bytes <= 3 * m.from_bytes[0]);
	}
	assert_true(queued);
	assert_true(m.hole_bytes > 0);
	assert_true(m.hole_bytes <= 3 * m.from_bytes[0]);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(m.c[1], m.id[1], &st), 0);
	assert_int_equal(st.path_failures, 1);
	mig_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_change_during_flow),
		cmocka_unit_test(host_change_during_flow),
		cmocka_unit_test(port_change_idle),
		cmocka_unit_test(host_change_idle),
		cmocka_unit_test(client_follows_server),
		cmocka_unit_test(forged_packets_move_nothing),
		cmocka_unit_test(validation_failure_keeps_old_path),
		cmocka_unit_test(three_times_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
