/* cmocka tests for the reliable core's timers, with a hand-driven clock:
 * the exact retransmission deadline, RTO backoff and floor, Karn-safe RTT,
 * keepalive, dead-peer detection, handshake retransmission, cookie expiry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_wire.h"

static const uint8_t ADDR_A[4] = {'A', 0, 0, 0}, ADDR_B[4] = {'B', 0, 0, 0};
#define T0 5000000ull

struct duo {
	struct rel_core *a, *b;
	uint32_t pa, pb;
	uint64_t now;
};

/* Moves every queued datagram of from into to; returns how many. */
static int move(struct rel_core *from, const uint8_t *from_addr, struct rel_core *to, uint64_t now)
{
	int n = 0;
	while (rel_out_pending(from)) {
		struct rel_dgram d;
		assert_int_equal(rel_out_peek(from, 0, &d), 0);
		uint8_t copy[2048];
		size_t len = d.len;
		memcpy(copy, d.data, len);
		rel_out_pop(from, 1);
		(void)rel_input(to, from_addr, 4, copy, len, now);
		n++;
	}
	return n;
}

static int drop_out(struct rel_core *c, uint8_t *type)
{
	int n = (int)rel_out_pending(c);
	if (n && type) {
		struct rel_dgram d;
		assert_int_equal(rel_out_peek(c, 0, &d), 0);
		*type = d.data[2];
	}
	rel_out_pop(c, (size_t)n);
	return n;
}

static void next_event(struct rel_core *c, enum rel_event_type type, struct rel_event *out)
{
	struct rel_event ev;
	while (rel_poll_event(c, &ev)) {
		if (ev.type == type) {
			if (out)
				*out = ev;
			else if (ev.type == REL_EV_MESSAGE)
				rel_buf_free(ev.data);
			return;
		}
		if (ev.type == REL_EV_MESSAGE)
			rel_buf_free(ev.data);
	}
	fail_msg("event %d not found", type);
}

static void duo_open(struct duo *d, const struct rel_config *cfg)
{
	struct rel_config ca, cb;
	if (cfg)
		ca = *cfg;
	else
		rel_config_default(&ca);
	ca.pmtud = 0; /* exact timers: no PMTU probes (tests/test_rel_pmtu.c) */
	cb = ca;
	ca.seed = 11;
	cb.seed = 22;
	cb.accept = 1;
	rel_core_new(&d->a, &ca);
	rel_core_new(&d->b, &cb);
	assert_non_null(d->a);
	assert_non_null(d->b);
	d->now = T0;
	assert_int_equal(rel_connect(d->a, ADDR_B, 4, d->now, &d->pa), 0);
	assert_int_equal(move(d->a, ADDR_A, d->b, d->now), 1); /* HELLO */
	assert_int_equal(move(d->b, ADDR_B, d->a, d->now), 1); /* COOKIE */
	assert_int_equal(move(d->a, ADDR_A, d->b, d->now), 1); /* CONNECT */
	assert_int_equal(move(d->b, ADDR_B, d->a, d->now), 1); /* ACCEPT */
	rel_update(d->a, d->now);
	(void)move(d->a, ADDR_A, d->b, d->now);                /* ACK */
	struct rel_event ev;
	next_event(d->a, REL_EV_CONNECTED, NULL);
	next_event(d->b, REL_EV_CONNECTED, &ev);
	d->pb = ev.peer;
}

static void duo_close(struct duo *d)
{
	rel_core_free(d->a);
	rel_core_free(d->b);
}

static void rto_exact_deadline_and_backoff(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.dead_us = 120000000; /* backoff is capped at dead_us / 4 */
	struct duo d;
	duo_open(&d, &cfg);
	d.now += 1000;
	assert_int_equal(rel_send(d.a, d.pa, "hello", 5, REL_SEQPACKET, d.now, NULL), 0);
	uint8_t type = 0;
	assert_int_equal(drop_out(d.a, &type), 1);
	assert_int_equal(type, REL_PT_DATA);
	uint64_t t = d.now, rto = 1000000; /* rto_initial: no RTT sample yet */
	struct rel_stats st;
	for (int i = 0; i < 4; i++) { /* 1, 2, 4, 8 s, the next 16 s */
		assert_true(rel_next_deadline(d.a) == t + rto);
		rel_update(d.a, t + rto - 1);
		assert_int_equal(drop_out(d.a, NULL), 0);
		rel_update(d.a, t + rto);
		assert_int_equal(drop_out(d.a, &type), 1);
		assert_int_equal(type, REL_PT_DATA);
		t += rto;
		rto *= 2; /* exponential backoff */
		assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
		assert_int_equal(st.rto_us, rto);
		assert_int_equal(st.timeouts, (uint64_t)i + 1);
		/* keep b alive meanwhile: it is not tested here */
		rel_update(d.b, t);
		(void)drop_out(d.b, NULL);
	}
	duo_close(&d);
}

static void rto_backoff_capped(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.rto_max_us = 3000000;
	cfg.dead_us = 600000000;
	cfg.keepalive_us = 300000000;
	struct duo d;
	duo_open(&d, &cfg);
	assert_int_equal(rel_send(d.a, d.pa, "x", 1, REL_RDM, d.now, NULL), 0);
	(void)drop_out(d.a, NULL);
	uint64_t t = d.now;
	uint64_t expect[] = {1000000, 2000000, 3000000, 3000000, 3000000};
	for (int i = 0; i < 5; i++) {
		assert_true(rel_next_deadline(d.a) == t + expect[i]);
		t += expect[i];
		rel_update(d.a, t);
		assert_int_equal(drop_out(d.a, NULL), 1);
	}
	duo_close(&d);
}

/* Backoff stops at dead_us / 4 (7.5 s by default), so a peer hears a few
 * tries before it would declare us dead. */
static void rto_backoff_capped_by_dead(void **state)
{
	(void)state;
	struct duo d;
	duo_open(&d, NULL);
	assert_int_equal(rel_send(d.a, d.pa, "x", 1, REL_RDM, d.now, NULL), 0);
	(void)drop_out(d.a, NULL);
	uint64_t t = d.now;
	uint64_t expect[] = {1000000, 2000000, 4000000, 7500000, 7500000};
	for (int i = 0; i < 5 && t + expect[i] < d.now + 30000000; i++) {
		assert_true(rel_next_deadline(d.a) == t + expect[i]);
		t += expect[i];
		rel_update(d.a, t);
		assert_int_equal(drop_out(d.a, NULL), 1);
	}
	duo_close(&d);
}

/* RTT comes from the echoed timestamp of the copy that arrived, so a
 * retransmission gives an honest sample (Karn's problem does not arise)
 * and the RTO settles on the configured floor. */
static void rtt_from_echo_and_floor(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.rto_min_us = 50000;
	struct duo d;
	duo_open(&d, &cfg);
	assert_int_equal(rel_send(d.a, d.pa, "abc", 3, REL_SEQPACKET, d.now, NULL), 0);
	(void)drop_out(d.a, NULL);            /* the first copy is lost */
	d.now += 1000000;
	rel_update(d.a, d.now);               /* retransmission at +1 s */
	assert_int_equal(move(d.a, ADDR_A, d.b, d.now + 4000), 1);   /* 4 ms there */
	assert_int_equal(move(d.b, ADDR_B, d.a, d.now + 10000), 1);  /* 6 ms back */
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.rtt_samples, 1);
	assert_int_equal(st.srtt_us, 10000);  /* not 1.01 s */
	assert_int_equal(st.rttvar_us, 5000);
	assert_int_equal(st.rto_us, 50000);   /* 10 ms + 4 * 5 ms = 30 ms < floor */
	/* the receiver's hold time is subtracted: b acks 20 ms late */
	d.now += 100000;
	assert_int_equal(rel_send(d.a, d.pa, "def", 3, REL_SEQPACKET, d.now, NULL), 0);
	uint64_t sent = d.now;
	/* the tail loss probe comes first: 2 srtt + 1 ms; the RTO at the floor */
	assert_true(rel_next_deadline(d.a) == sent + 2 * 10000 + 1000);
	assert_int_equal(rel_out_pending(d.a), 1);
	struct rel_dgram dg;
	rel_out_peek(d.a, 0, &dg);
	uint8_t copy[256];
	size_t len = dg.len;
	memcpy(copy, dg.data, len);
	rel_out_pop(d.a, 1);
	/* delivered 10 ms later; b's ack is lost; b echoes it on a PING 20 ms after */
	(void)rel_input(d.b, ADDR_A, 4, copy, len, sent + 10000);
	(void)drop_out(d.b, NULL);
	assert_int_equal(rel_send(d.b, d.pb, "r", 1, REL_SEQPACKET, sent + 30000, NULL), 0);
	assert_int_equal(move(d.b, ADDR_B, d.a, sent + 40000), 1);
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	/* sample = 40 ms - 20 ms held = 20 ms; srtt = 7/8 10 + 1/8 20 */
	assert_int_equal(st.rtt_samples, 2);
	assert_int_equal(st.srtt_us, (7 * 10000 + 20000) / 8);
	duo_close(&d);
}

static void keepalive_and_dead_peer(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.keepalive_us = 2000000;
	cfg.dead_us = 9000000;
	struct duo d;
	duo_open(&d, &cfg);
	/* idle: a pings after keepalive_us, b answers, both stay up */
	struct rel_stats st;
	uint64_t last = d.now;
	assert_true(rel_next_deadline(d.a) == last + 2000000);
	rel_update(d.a, last + 1999999);
	assert_int_equal(rel_out_pending(d.a), 0);
	rel_update(d.a, last + 2000000);
	uint8_t type = 0;
	assert_int_equal(rel_out_pending(d.a), 1);
	struct rel_dgram dg;
	rel_out_peek(d.a, 0, &dg);
	assert_int_equal(dg.data[2], REL_PT_PING);
	d.now = last + 2000000;
	assert_int_equal(move(d.a, ADDR_A, d.b, d.now), 1);
	assert_int_equal(rel_out_pending(d.b), 1); /* b acks the ping at once */
	assert_int_equal(move(d.b, ADDR_B, d.a, d.now), 1);
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.rtt_samples, 1);
	/* now b goes silent: a keeps pinging and declares it dead exactly
	 * dead_us after the last packet it heard */
	uint64_t heard = d.now;
	uint64_t t = d.now;
	for (;;) {
		uint64_t dl = rel_next_deadline(d.a);
		assert_true(dl > t);
		assert_true(dl <= heard + 9000000);
		t = dl;
		if (t == heard + 9000000)
			break;
		rel_update(d.a, t);
		(void)drop_out(d.a, &type);
		assert_int_equal(type, REL_PT_PING);
	}
	rel_update(d.a, t - 1);
	struct rel_event ev;
	while (rel_poll_event(d.a, &ev))
		assert_int_not_equal(ev.type, REL_EV_DEAD);
	rel_update(d.a, t);
	next_event(d.a, REL_EV_DEAD, &ev);
	assert_int_equal(ev.peer, d.pa);
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), REL_ENOPEER);
	assert_int_equal(rel_send(d.a, d.pa, "x", 1, REL_RDM, t, NULL), REL_ENOPEER);
	assert_true(rel_next_deadline(d.a) == UINT64_MAX);
	duo_close(&d);
}

static void handshake_retransmit(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	struct rel_core *a = NULL;
	rel_core_new(&a, &cfg);
	uint32_t peer;
	assert_int_equal(rel_connect(a, ADDR_B, 4, T0, &peer), 0);
	uint8_t type = 0;
	assert_int_equal(drop_out(a, &type), 1);
	assert_int_equal(type, REL_PT_HELLO);
	assert_true(rel_next_deadline(a) == T0 + 1000000);
	rel_update(a, T0 + 1000000);
	assert_int_equal(drop_out(a, &type), 1);
	assert_int_equal(type, REL_PT_HELLO);
	assert_true(rel_next_deadline(a) == T0 + 3000000);
	assert_int_equal(rel_send(a, peer, "x", 1, REL_RDM, T0, NULL), REL_ENOTCONN);
	/* nobody answers: dead after dead_us */
	uint64_t t = T0;
	struct rel_event ev;
	int dead = 0;
	while (!dead) {
		t = rel_next_deadline(a);
		assert_true(t <= T0 + cfg.dead_us);
		rel_update(a, t);
		(void)drop_out(a, NULL);
		while (rel_poll_event(a, &ev))
			dead |= ev.type == REL_EV_DEAD;
	}
	assert_true(t == T0 + cfg.dead_us);
	rel_core_free(a);
}

/* The CONNECT starts its own backoff: HELLOs lost twice (the timer
 * doubled by then) must not make a lost CONNECT wait that long too. */
static void connect_backoff_starts_afresh(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1;
	struct rel_core *a = NULL, *b = NULL;
	rel_core_new(&a, &cfg);
	cfg.accept = 1;
	rel_core_new(&b, &cfg);
	uint32_t peer;
	assert_int_equal(rel_connect(a, ADDR_B, 4, T0, &peer), 0);
	uint64_t t = T0;
	for (int i = 0; i < 2; i++) { /* two HELLOs lost */
		assert_int_equal(drop_out(a, NULL), 1);
		t = rel_next_deadline(a);
		rel_update(a, t);
	}
	uint64_t backed_off = rel_next_deadline(a) - t;       /* doubled twice */
	assert_true(backed_off >= 2 * cfg.rto_initial_us);
	assert_int_equal(move(a, ADDR_A, b, t), 1);            /* the third HELLO */
	assert_int_equal(move(b, ADDR_B, a, t + 1000), 1);     /* its COOKIE */
	uint8_t type = 0;
	assert_int_equal(drop_out(a, &type), 1);               /* the CONNECT, lost */
	assert_int_equal(type, REL_PT_CONNECT);
	assert_true(rel_next_deadline(a) == t + 1000 + cfg.rto_initial_us);
	rel_core_free(a);
	rel_core_free(b);
}

/* A cookie minted in time bucket b is accepted until the end of bucket
 * b + 1 and refused from then on. */
static void cookie_expiry(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.cookie_bucket_us = 10000000;
	struct rel_core *a = NULL;
	rel_core_new(&a, &cfg);
	cfg.accept = 1;
	cfg.seed = 77;
	struct rel_core *b = NULL;
	rel_core_new(&b, &cfg);
	uint64_t t = 123456789; /* bucket 12 */
	uint32_t peer;
	assert_int_equal(rel_connect(a, ADDR_B, 4, t, &peer), 0);
	assert_int_equal(move(a, ADDR_A, b, t), 1);
	assert_int_equal(move(b, ADDR_B, a, t), 1);
	struct rel_dgram dg;
	assert_int_equal(rel_out_pending(a), 1);
	rel_out_peek(a, 0, &dg);
	assert_int_equal(dg.data[2], REL_PT_CONNECT);
	uint8_t connect[64];
	size_t len = dg.len;
	memcpy(connect, dg.data, len);
	rel_out_pop(a, 1);
	uint64_t expiry = 14ull * 10000000; /* start of bucket 14 */
	assert_int_equal(rel_input(b, ADDR_B, 4, connect, len, t), REL_ECOOKIE); /* other address */
	assert_int_equal(rel_input(b, ADDR_A, 4, connect, len, expiry), REL_ECOOKIE);
	assert_int_equal(rel_input(b, ADDR_A, 4, connect, len, expiry + 50000000), REL_ECOOKIE);
	struct rel_core_stats st;
	rel_core_stats(b, &st);
	assert_int_equal(st.drop_cookie, 3);
	assert_int_equal(st.peers, 0);
	assert_int_equal(rel_input(b, ADDR_A, 4, connect, len, expiry - 1), 0);
	rel_core_stats(b, &st);
	assert_int_equal(st.peers, 1);
	rel_core_free(a);
	rel_core_free(b);
}

/* With ack_delay_us, in-order data is acked every second packet or when
 * the delay runs out; a hole is acked at once.  The delay does not leak
 * into the RTT (the echo carries the hold time). */
static void delayed_ack(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.ack_delay_us = 20000;
	struct duo d;
	duo_open(&d, &cfg);
	uint64_t t = d.now + 1000;
	/* one packet: b waits for the delay */
	assert_int_equal(rel_send(d.a, d.pa, "1", 1, REL_SEQPACKET, t, NULL), 0);
	assert_int_equal(move(d.a, ADDR_A, d.b, t + 5000), 1);
	assert_int_equal(rel_out_pending(d.b), 0);
	assert_true(rel_next_deadline(d.b) == t + 5000 + 20000);
	rel_update(d.b, t + 5000 + 19999);
	assert_int_equal(rel_out_pending(d.b), 0);
	rel_update(d.b, t + 5000 + 20000);
	assert_int_equal(rel_out_pending(d.b), 1);
	assert_int_equal(move(d.b, ADDR_B, d.a, t + 30000), 1);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.srtt_us, 10000); /* 5 ms each way; the 20 ms held do not count */
	/* two packets: acked at the second */
	t += 100000;
	assert_int_equal(rel_send(d.a, d.pa, "2", 1, REL_SEQPACKET, t, NULL), 0);
	assert_int_equal(rel_send(d.a, d.pa, "3", 1, REL_SEQPACKET, t, NULL), 0);
	assert_int_equal(move(d.a, ADDR_A, d.b, t + 5000), 2);
	assert_int_equal(rel_out_pending(d.b), 1);
	assert_int_equal(move(d.b, ADDR_B, d.a, t + 10000), 1);
	/* a hole: the packet after it is acked at once */
	t += 100000;
	assert_int_equal(rel_send(d.a, d.pa, "4", 1, REL_SEQPACKET, t, NULL), 0);
	assert_int_equal(rel_send(d.a, d.pa, "5", 1, REL_SEQPACKET, t, NULL), 0);
	struct rel_dgram g;
	assert_int_equal(rel_out_pending(d.a), 2);
	rel_out_peek(d.a, 1, &g);
	uint8_t copy[256];
	size_t len = g.len;
	memcpy(copy, g.data, len);
	rel_out_pop(d.a, 2); /* "4" lost */
	assert_int_equal(rel_input(d.b, ADDR_A, 4, copy, len, t + 5000), 0);
	assert_int_equal(rel_out_pending(d.b), 1);
	rel_out_peek(d.b, 0, &g);
	assert_int_equal(g.data[2], REL_PT_ACK);
	duo_close(&d);
}

/* With an RTT known, a lost last packet is probed after 2 srtt + 1 ms
 * (once), well before the RTO, which stays where it was. */
static void tail_loss_probe(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	struct duo d;
	duo_open(&d, &cfg);
	/* one exchange for an RTT sample of 10 ms */
	assert_int_equal(rel_send(d.a, d.pa, "a", 1, REL_RDM, d.now, NULL), 0);
	assert_int_equal(move(d.a, ADDR_A, d.b, d.now + 5000), 1);
	assert_int_equal(move(d.b, ADDR_B, d.a, d.now + 10000), 1);
	uint64_t t = d.now + 50000;
	assert_int_equal(rel_send(d.a, d.pa, "b", 1, REL_RDM, t, NULL), 0);
	uint8_t type = 0;
	assert_int_equal(drop_out(d.a, &type), 1); /* lost */
	uint64_t tlp = t + 2 * 10000 + 1000;
	assert_true(rel_next_deadline(d.a) == tlp);
	rel_update(d.a, tlp - 1);
	assert_int_equal(rel_out_pending(d.a), 0);
	rel_update(d.a, tlp);
	assert_int_equal(drop_out(d.a, &type), 1); /* the probe, lost too */
	assert_int_equal(type, REL_PT_DATA);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.probes, 1);
	assert_int_equal(st.timeouts, 0);
	/* no second probe: the RTO (floor 200 ms, from the first send) is next */
	assert_true(rel_next_deadline(d.a) == t + 200000);
	rel_update(d.a, t + 200000);
	assert_int_equal(drop_out(d.a, &type), 1);
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.timeouts, 1);
	duo_close(&d);
}

/* One exchange that gives a an RTT sample of 10 ms; returns when it ends. */
static uint64_t rtt_10ms(struct duo *d)
{
	assert_int_equal(rel_send(d->a, d->pa, "a", 1, REL_RDM, d->now, NULL), 0);
	assert_int_equal(move(d->a, ADDR_A, d->b, d->now + 5000), 1);
	assert_int_equal(move(d->b, ADDR_B, d->a, d->now + 10000), 1);
	return d->now + 10000;
}

/* Keeps the copy of a's datagram i (others dropped). */
static size_t keep_out(struct rel_core *c, size_t i, uint8_t *copy)
{
	struct rel_dgram g;
	assert_int_equal(rel_out_peek(c, i, &g), 0);
	memcpy(copy, g.data, g.len);
	size_t len = g.len;
	rel_out_pop(c, rel_out_pending(c));
	return len;
}

/* A thin stream (nothing queued, few packets out) counts a packet lost
 * RACK.rtt + min_rtt / 4 after it was sent once a later one is acked, as
 * RFC 8985 does; a stream with more to send waits 5/4 srtt. */
static void thin_stream_loss_window(void **state)
{
	(void)state;
	struct duo d;
	duo_open(&d, NULL);
	uint64_t t = rtt_10ms(&d) + 50000;
	assert_int_equal(rel_send(d.a, d.pa, "1", 1, REL_RDM, t, NULL), 0);
	assert_int_equal(rel_send(d.a, d.pa, "2", 1, REL_RDM, t, NULL), 0);
	uint8_t copy[256];
	size_t len = keep_out(d.a, 1, copy); /* "1" lost */
	assert_int_equal(rel_input(d.b, ADDR_A, 4, copy, len, t + 4000), 0);
	assert_int_equal(move(d.b, ADDR_B, d.a, t + 8000), 1);
	/* "2" took 8 ms (RACK.rtt), the smallest sample is 8 ms: 8 + 2 */
	assert_true(rel_next_deadline(d.a) == t + 10000);
	rel_update(d.a, t + 9999);
	assert_int_equal(rel_out_pending(d.a), 0);
	rel_update(d.a, t + 10000);
	assert_int_equal(drop_out(d.a, NULL), 1);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.fast_retransmits, 1);
	duo_close(&d);

	/* the same with a window of 8 and 10 messages: 2 wait, not thin */
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.window = 8;
	duo_open(&d, &cfg);
	t = rtt_10ms(&d) + 50000;
	for (int i = 0; i < 10; i++)
		assert_int_equal(rel_send(d.a, d.pa, "x", 1, REL_RDM, t, NULL), 0);
	assert_int_equal(rel_out_pending(d.a), 8);
	rel_out_pop(d.a, 1); /* the first is lost */
	assert_int_equal(move(d.a, ADDR_A, d.b, t + 4000), 7);
	(void)move(d.b, ADDR_B, d.a, t + 8000);
	/* srtt is between 8 and 10 ms now: 5/4 of it is past 10 ms */
	rel_update(d.a, t + 10000);
	assert_int_equal(rel_out_pending(d.a), 0);
	rel_update(d.a, t + 12500);
	assert_int_equal(drop_out(d.a, NULL), 1);
	duo_close(&d);
}

/* An ack that comes back sooner than any RTT seen after a packet went
 * again is for its first copy: it does not make the packets sent between
 * the two copies lost (RFC 8985 6.2 step 2).  Here the tail loss probe
 * resends "2" and the first "2" is acked 1 ms later; "1" is only late. */
static void ack_of_first_copy(void **state)
{
	(void)state;
	struct duo d;
	duo_open(&d, NULL);
	uint64_t t = rtt_10ms(&d) + 50000;
	assert_int_equal(rel_send(d.a, d.pa, "1", 1, REL_RDM, t, NULL), 0);
	assert_int_equal(rel_send(d.a, d.pa, "2", 1, REL_RDM, t, NULL), 0);
	uint8_t one[256], two[256];
	struct rel_dgram g;
	assert_int_equal(rel_out_peek(d.a, 0, &g), 0);
	size_t len1 = g.len;
	memcpy(one, g.data, len1);
	size_t len2 = keep_out(d.a, 1, two);
	rel_update(d.a, t + 21000);             /* the probe: "2" again */
	assert_int_equal(drop_out(d.a, NULL), 1);
	assert_int_equal(rel_input(d.b, ADDR_A, 4, two, len2, t + 21500), 0);
	assert_int_equal(move(d.b, ADDR_B, d.a, t + 22000), 1);
	rel_update(d.a, t + 30000);
	assert_int_equal(rel_out_pending(d.a), 0);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.fast_retransmits, 0);
	/* "1" arrives after all: everything is acked */
	assert_int_equal(rel_input(d.b, ADDR_A, 4, one, len1, t + 30000), 0);
	assert_int_equal(move(d.b, ADDR_B, d.a, t + 31000), 1);
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.inflight_pkts, 0);
	assert_int_equal(st.retransmits, 1);
	duo_close(&d);
}

/* With an RTT sample, a thin stream's first six timeouts keep the RTO
 * (Linux's thin linear timeouts); then it doubles as usual.  Without a
 * sample it doubles from the start (rto_exact_deadline_and_backoff). */
static void thin_stream_linear_timeouts(void **state)
{
	(void)state;
	struct duo d;
	duo_open(&d, NULL);
	uint64_t t = rtt_10ms(&d) + 50000;
	assert_int_equal(rel_send(d.a, d.pa, "b", 1, REL_RDM, t, NULL), 0);
	assert_int_equal(drop_out(d.a, NULL), 1);
	rel_update(d.a, t + 21000);          /* the tail loss probe */
	assert_int_equal(drop_out(d.a, NULL), 1);
	uint64_t gaps[] = {200000, 200000, 200000, 200000, 200000, 200000, 200000, 400000, 800000};
	struct rel_stats st;
	for (unsigned i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
		t += gaps[i];
		assert_true(rel_next_deadline(d.a) == t);
		rel_update(d.a, t);
		uint8_t type = 0;
		assert_int_equal(drop_out(d.a, &type), 1);
		assert_int_equal(type, REL_PT_DATA);
		assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
		assert_int_equal(st.timeouts, i + 1);
	}
	duo_close(&d);
}

/* An ACK the driver has not taken yet is replaced by the next one, which
 * says all it said: 40 packets fed before a flush draw 2 ACKs (one stands
 * for at most 33), and those tell the sender everything.  An ACK already
 * taken is left alone: the next one gets a slot of its own. */
static void queued_ack_replaced(void **state)
{
	(void)state;
	struct duo d;
	duo_open(&d, NULL);
	for (int i = 0; i < 40; i++)
		assert_int_equal(rel_send(d.a, d.pa, "m", 1, REL_RDM, d.now, NULL), 0);
	assert_int_equal(move(d.a, ADDR_A, d.b, d.now + 1000), 40);
	assert_int_equal(rel_out_pending(d.b), 2);
	assert_int_equal(move(d.b, ADDR_B, d.a, d.now + 2000), 2);
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(d.a, d.pa, &st), 0);
	assert_int_equal(st.inflight_pkts, 0);
	assert_int_equal(st.retransmits, 0);
	int acked = 0;
	struct rel_event ev;
	while (rel_poll_event(d.a, &ev))
		acked += ev.type == REL_EV_ACKED;
	assert_int_equal(acked, 40);

	assert_int_equal(rel_send(d.a, d.pa, "n", 1, REL_RDM, d.now, NULL), 0);
	assert_int_equal(rel_send(d.a, d.pa, "o", 1, REL_RDM, d.now, NULL), 0);
	uint8_t copy[256], late[256];
	struct rel_dgram g;
	assert_int_equal(rel_out_peek(d.a, 0, &g), 0);
	size_t late_len = g.len;
	memcpy(late, g.data, late_len);
	size_t len = keep_out(d.a, 1, copy);       /* "n" late: "o" opens a hole */
	assert_int_equal(rel_input(d.b, ADDR_A, 4, copy, len, d.now + 3000), 0);
	assert_int_equal(rel_out_pending(d.b), 1);
	assert_int_equal(rel_out_peek(d.b, 0, &g), 0);
	uint8_t before[256];
	size_t blen = g.len;
	memcpy(before, g.data, blen);
	rel_out_pop(d.b, 1);                       /* taken by the driver */
	assert_int_equal(rel_input(d.b, ADDR_A, 4, late, late_len, d.now + 4000), 0);
	assert_int_equal(rel_out_pending(d.b), 1);
	assert_int_equal(rel_out_peek(d.b, 0, &g), 0);
	assert_true(g.len != blen || memcmp(g.data, before, blen) != 0);
	duo_close(&d);
}

/* ACKs that report a hole are not merged: with ACKs lost one in five, a
 * merged batch hid losses for a whole batch and 20 % loss ran at a quarter
 * of its goodput.  40 packets with the 3rd missing: the two in order before
 * the hole may share an ACK, each of the 37 after it gets its own. */
static void hole_acks_not_merged(void **state)
{
	(void)state;
	struct duo d;
	duo_open(&d, NULL);
	for (int i = 0; i < 40; i++)
		assert_int_equal(rel_send(d.a, d.pa, "m", 1, REL_RDM, d.now, NULL), 0);
	int n = 0;
	while (rel_out_pending(d.a)) {
		struct rel_dgram g;
		assert_int_equal(rel_out_peek(d.a, 0, &g), 0);
		uint8_t copy[2048];
		size_t len = g.len;
		memcpy(copy, g.data, len);
		rel_out_pop(d.a, 1);
		if (n++ != 2)
			(void)rel_input(d.b, ADDR_A, 4, copy, len, d.now + 1000);
	}
	assert_int_equal(n, 40);
	size_t acks = rel_out_pending(d.b);
	assert_true(acks >= 37);
	/* the last says: all up to the hole, then the 37 after it (bits 0..36,
	 * across the first 32-bit word) */
	struct rel_dgram g;
	assert_int_equal(rel_out_peek(d.b, acks - 1, &g), 0);
	struct rel_pkt k;
	assert_true(rel_wire_decode(&k, g.data, g.len) >= 0);
	struct rel_dgram g0;
	assert_int_equal(rel_out_peek(d.b, 0, &g0), 0);
	struct rel_pkt k0;
	assert_true(rel_wire_decode(&k0, g0.data, g0.len) >= 0);
	assert_int_equal(k.cum_ack, k0.cum_ack);
	assert_int_equal(k.sack_words, 2);
	assert_int_equal(k.sack[0], 0xffffffffu);
	assert_int_equal(k.sack[1], 0x1fu);
	duo_close(&d);
}

/* fuzz_rel_input found it: a keepalive (or window probe) that is due while
 * the out-queue is full was skipped without saying so, and
 * rel_next_deadline() returned a time in the past instead of 0 ("drain the
 * out-queue and call rel_update"). */
static void keepalive_with_full_out_queue(void **state)
{
	(void)state;
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 1; /* reproducible: the old default */
	cfg.keepalive_us = 2000000;
	cfg.out_queue = 4;
	struct duo d;
	duo_open(&d, &cfg);
	int n = 0;
	while (rel_send(d.a, d.pa, "x", 1, REL_DGRAM, d.now, NULL) == 0)
		n++;
	assert_int_equal(n, 4);
	uint64_t u = d.now + 2000000 + 1000;
	rel_update(d.a, u);
	assert_true(rel_next_deadline(d.a) == 0);
	assert_int_equal(drop_out(d.a, NULL), 4);
	rel_update(d.a, u);
	uint8_t type = 0;
	assert_int_equal(drop_out(d.a, &type), 1);
	assert_int_equal(type, REL_PT_PING);
	assert_true(rel_next_deadline(d.a) > u);
	duo_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rto_exact_deadline_and_backoff),
		cmocka_unit_test(rto_backoff_capped),
		cmocka_unit_test(rto_backoff_capped_by_dead),
		cmocka_unit_test(rtt_from_echo_and_floor),
		cmocka_unit_test(keepalive_and_dead_peer),
		cmocka_unit_test(handshake_retransmit),
		cmocka_unit_test(connect_backoff_starts_afresh),
		cmocka_unit_test(cookie_expiry),
		cmocka_unit_test(delayed_ack),
		cmocka_unit_test(tail_loss_probe),
		cmocka_unit_test(thin_stream_loss_window),
		cmocka_unit_test(thin_stream_linear_timeouts),
		cmocka_unit_test(ack_of_first_copy),
		cmocka_unit_test(queued_ack_replaced),
		cmocka_unit_test(hole_acks_not_merged),
		cmocka_unit_test(keepalive_with_full_out_queue),
	};
	return cmocka_run_group_tests_name("rel_timer", tests, NULL, NULL);
}
