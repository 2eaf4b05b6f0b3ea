/* cmocka tests for rel_ident in real reliable cores: a client and a server
 * core with identity sessions over simulated links in virtual time
 * (support_relpair.h): transfers arrive byte for byte through loss and
 * corruption and across many key turns; a client without an allowed
 * identity gets no session, PSK or not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "udp_err.h"
#include "rel.h"
#include "rel_ident.h"
#include "seal_ident.h"
#include "support_relpair.h"

struct ends {
	struct seal_ident *ck, *sk;
	struct seal_allowed *al;
	struct rel_ident *cli, *srv;
	struct rel_config ca, cb;
	struct relpair p;
};

static struct seal_allowed *allowed_of(const uint8_t *pub, const char *name)
{
	char text[128], b64[SEAL_IDENT_TEXT_SIZE];
	assert_int_equal(seal_ident_pub_format(pub, b64, sizeof b64), SEAL_IDENT_B64_LEN);
	int n = snprintf(text, sizeof text, "%s %s\n", b64, name);
	struct seal_allowed *a;
	size_t bad = 0;
	assert_int_equal(seal_allowed_parse(&a, text, (size_t)n, &bad), 0);
	return a;
}

struct opts {
	uint64_t rekey_pkts;
	const uint8_t *cli_psk, *srv_psk;
	int unlisted; /* the server lists another key, not the client's */
};

/* Keys, contexts and the core configs (seeded); the pair is not open yet. */
static void ends_new(struct ends *e, uint64_t seed, const struct opts *o)
{
	memset(e, 0, sizeof *e);
	assert_int_equal(seal_ident_generate(&e->ck), 0);
	assert_int_equal(seal_ident_generate(&e->sk), 0);
	struct seal_ident *other = NULL;
	if (o->unlisted)
		assert_int_equal(seal_ident_generate(&other), 0);
	e->al = allowed_of(seal_ident_public(o->unlisted ? other : e->ck), "client");
	seal_ident_free(other);
	struct rel_ident_config ic;
	rel_ident_config_default(&ic);
	ic.static_priv = seal_ident_private(e->ck);
	ic.peer_key = seal_ident_public(e->sk);
	ic.psk = o->cli_psk;
	ic.test_seed = seed * 2 + 1;
	if (o->rekey_pkts)
		ic.rekey_after_pkts = o->rekey_pkts;
	assert_int_equal(rel_ident_new(&e->cli, &ic), 0);
	rel_ident_config_default(&ic);
	ic.static_priv = seal_ident_private(e->sk);
	ic.allowed = e->al;
	ic.psk = o->srv_psk;
	ic.test_seed = seed * 2 + 2;
	if (o->rekey_pkts)
		ic.rekey_after_pkts = o->rekey_pkts;
	assert_int_equal(rel_ident_new(&e->srv, &ic), 0);
	relpair_config(&e->ca, seed * 2 + 1);
	relpair_config(&e->cb, seed * 2 + 2);
	e->ca.rto_min_us = e->cb.rto_min_us = 20000;
	rel_ident_attach(e->cli, &e->ca);
	rel_ident_attach(e->srv, &e->cb);
}

static void ends_free(struct ends *e)
{
	relpair_close(&e->p);
	rel_ident_free(e->cli);
	rel_ident_free(e->srv);
	seal_allowed_free(e->al);
	seal_ident_free(e->ck);
	seal_ident_free(e->sk);
}

/* Message k's bytes: its length and contents follow from k alone. */
static size_t msg_len(int k)
{
	return 1 + (size_t)(k * 7919 % 20000);
}

static void msg_fill(uint8_t *b, int k)
{
	size_t n = msg_len(k);
	uint32_t x = 0x9e3779b9u * (uint32_t)(k + 1);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

/* Sends n messages each way (in order, SEQPACKET) and runs until all have
 * arrived and matched, within limit_us of virtual time. */
static void transfer(struct ends *e, int n, uint64_t limit_us)
{
	static uint8_t want[20001];
	struct relpair *p = &e->p;
	for (int k = 0; k < n; k++) {
		msg_fill(want, k);
		assert_int_equal(rel_send(p->a, p->pa, want, msg_len(k), REL_SEQPACKET, sim_now(p->s),
					  NULL), 0);
		msg_fill(want, k + 100000);
		assert_int_equal(rel_send(p->b, p->pb, want, msg_len(k + 100000), REL_SEQPACKET,
					  sim_now(p->s), NULL), 0);
	}
	int got[2] = {0, 0};
	uint64_t end = sim_now(p->s) + limit_us;
	while ((got[0] < n || got[1] < n) && sim_step(p->s, end)) {
		struct rel_event ev;
		for (int side = 0; side < 2; side++)
			while (rel_poll_event(side ? p->b : p->a, &ev)) {
				assert_int_not_equal(ev.type, REL_EV_DEAD);
				if (ev.type != REL_EV_MESSAGE)
					continue;
				/* side b receives a's messages k, a receives b's */
				int k = side ? got[1]++ : got[0]++;
				int id = side ? k : k + 100000;
				msg_fill(want, id);
				assert_int_equal(ev.len, msg_len(id));
				assert_memory_equal(ev.data, want, ev.len);
				rel_buf_free(ev.data);
			}
	}
	assert_int_equal(got[0], n);
	assert_int_equal(got[1], n);
}

static void both_know_each_other(struct ends *e)
{
	struct rel_ident_peer pi;
	assert_int_equal(rel_ident_peer(e->p.b, e->p.pb, &pi), 0);
	assert_memory_equal(pi.key, seal_ident_public(e->ck), 32);
	assert_string_equal(pi.name, "client");
	assert_int_equal(rel_ident_peer(e->p.a, e->p.pa, &pi), 0);
	assert_memory_equal(pi.key, seal_ident_public(e->sk), 32);
	assert_int_equal(rel_ident_peer(e->p.a, 12345, &pi), REL_ENOPEER);
}

static void lossy_transfer(void **state)
{
	(void)state;
	struct ends e;
	ends_new(&e, 11, &(struct opts){0});
	struct sim_link link = {.netem = "delay 10ms 2ms loss 5% corrupt 1%"};
	assert_int_equal(relpair_open(&e.p, 11, &link, &e.ca, &e.cb), 0);
	both_know_each_other(&e);
	transfer(&e, 300, 300000000);
	struct rel_ident_stats sc, ss;
	rel_ident_get_stats(e.cli, &sc);
	rel_ident_get_stats(e.srv, &ss);
	print_message("lossy: client drop_auth %llu, server drop_auth %llu\n",
		      (unsigned long long)sc.drop_auth, (unsigned long long)ss.drop_auth);
	assert_int_equal(sc.handshakes, 1);
	assert_int_equal(ss.handshakes, 1);
	/* corrupted datagrams were refused by the seal, not delivered */
	assert_true(sc.drop_auth + ss.drop_auth > 0);
	ends_free(&e);
}

/* A turn every 100 packets: tens of turns each way over a lossy link,
 * nothing lost, and (the link keeping order) no packet refused. */
static void many_turns(void **state)
{
	(void)state;
	struct ends e;
	ends_new(&e, 12, &(struct opts){.rekey_pkts = 100});
	struct sim_link link = {.netem = "delay 5ms loss 2%"};
	assert_int_equal(relpair_open(&e.p, 12, &link, &e.ca, &e.cb), 0);
	transfer(&e, 400, 300000000);
	struct rel_ident_peer pa, pb;
	assert_int_equal(rel_ident_peer(e.p.a, e.p.pa, &pa), 0);
	assert_int_equal(rel_ident_peer(e.p.b, e.p.pb, &pb), 0);
	print_message("turns: client sent %llu recv %llu, server sent %llu recv %llu\n",
		      (unsigned long long)pa.rekeys_sent, (unsigned long long)pa.rekeys_recv,
		      (unsigned long long)pb.rekeys_sent, (unsigned long long)pb.rekeys_recv);
	assert_true(pa.rekeys_sent >= 20);
	assert_true(pb.rekeys_sent >= 20);
	/* each side followed the other's turns (all but possibly the last,
	 * whose first packet may still be on the way) */
	assert_true(pb.rekeys_recv + 1 >= pa.rekeys_sent && pb.rekeys_recv <= pa.rekeys_sent);
	assert_true(pa.rekeys_recv + 1 >= pb.rekeys_sent && pa.rekeys_recv <= pb.rekeys_sent);
	struct rel_ident_stats sc, ss;
	rel_ident_get_stats(e.cli, &sc);
	rel_ident_get_stats(e.srv, &ss);
	assert_int_equal(sc.drop_auth + ss.drop_auth, 0);
	assert_int_equal(sc.rekeys, pa.rekeys_sent + pa.rekeys_recv);
	ends_free(&e);
}

/* The same with jitter that shuffles whole bursts: a packet that arrives
 * after the receiver has turned twice past its key is refused (counted)
 * and its contents are sent again under the current key, so the transfer
 * still completes byte for byte. */
static void many_turns_reordered(void **state)
{
	(void)state;
	struct ends e;
	ends_new(&e, 17, &(struct opts){.rekey_pkts = 100});
	struct sim_link link = {.netem = "delay 5ms 2ms loss 2%"};
	assert_int_equal(relpair_open(&e.p, 17, &link, &e.ca, &e.cb), 0);
	transfer(&e, 400, 300000000);
	struct rel_ident_peer pa;
	assert_int_equal(rel_ident_peer(e.p.a, e.p.pa, &pa), 0);
	assert_true(pa.rekeys_sent >= 20);
	ends_free(&e);
}

/* The server runs no session for a client it does not list: counted,
 * unanswered, no peer; the client gives up. */
static void refused_pair(const struct opts *o, uint64_t seed, int unknown, int auth_cli)
{
	struct ends e;
	ends_new(&e, seed, o);
	struct sim_link link = {.netem = "delay 5ms"};
	assert_int_equal(relpair_open(&e.p, seed, &link, &e.ca, &e.cb), -1);
	struct rel_ident_stats sc, ss;
	rel_ident_get_stats(e.cli, &sc);
	rel_ident_get_stats(e.srv, &ss);
	if (unknown)
		assert_true(ss.refused_unknown >= 1);
	if (auth_cli)
		assert_true(sc.refused_auth >= 1);
	assert_int_equal(sc.handshakes, 0);
	struct rel_core_stats cs;
	rel_core_stats(e.p.b, &cs);
	if (unknown) {
		assert_true(cs.drop_refused >= 1);
		assert_int_equal(ss.handshakes, 0);
	}
	struct rel_ident_peer pi;
	assert_true(rel_ident_peer(e.p.a, e.p.pa, &pi) < 0);
	ends_free(&e);
}

static void unlisted_refused(void **state)
{
	(void)state;
	refused_pair(&(struct opts){.unlisted = 1}, 13, 1, 0);
}

static void psk_without_identity_refused(void **state)
{
	(void)state;
	uint8_t psk[32], other[32];
	memset(psk, 0x61, sizeof psk);
	memset(other, 0x62, sizeof other);
	/* the group's PSK but a key the server does not list */
	refused_pair(&(struct opts){.unlisted = 1, .cli_psk = psk, .srv_psk = psk}, 14, 1, 0);
	/* a listed key with the wrong PSK: the client refuses message 2 */
	refused_pair(&(struct opts){.cli_psk = other, .srv_psk = psk}, 15, 0, 1);
	/* both: in */
	struct ends e;
	ends_new(&e, 16, &(struct opts){.cli_psk = psk, .srv_psk = psk});
	struct sim_link link = {.netem = "delay 5ms"};
	assert_int_equal(relpair_open(&e.p, 16, &link, &e.ca, &e.cb), 0);
	transfer(&e, 10, 10000000);
	ends_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lossy_transfer),
		cmocka_unit_test(many_turns),
		cmocka_unit_test(many_turns_reordered),
		cmocka_unit_test(unlisted_refused),
		cmocka_unit_test(psk_without_identity_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
