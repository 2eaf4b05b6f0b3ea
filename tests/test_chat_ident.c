/* cmocka tests for udpchat's identities at the group API (docs/CHAT.md,
 * "Identities"), over loopback sockets: two identity peers meet and each
 * knows the other's verified key; the first key of a nick is recorded (and
 * the known-peers file written by the caller); a known nick with another
 * key is flagged, refused (also at the next handshake, by authorize)
 * until /trust; /msg reaches the addressee only; identity and plain peers
 * do not meet and say so once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "chat_group.h"
#include "chat_known.h"
#include "chat_wire.h"
#include "rel.h"
#include "rel_drv.h"
#include "rel_ident.h"
#include "seal_ident.h"
#include "support_tmpdir.h"
#include "udp_err.h"
#include "udp_sock.h"

#define MAXREC 16

struct peer {
	struct udp_sock *sock;
	struct rel_core *core;
	struct rel_drv *drv;
	struct rel_ident *ri;
	struct seal_ident *id;
	struct chat_known *known;
	struct chat_group *g;
	struct udp_addr addr;
	const char *save_to; /* known peers file, written on NEW and TRUSTED */
	int joins, lines, idents;
	uint64_t join_id[MAXREC];
	uint8_t line_type[MAXREC];
	char line_text[MAXREC][32];
	enum chat_ident_what ident[MAXREC];
	char ident_nick[MAXREC][CHAT_NICK_MAX + 1];
	uint8_t ident_key[MAXREC][CHAT_KEY_LEN];
};

static void on_event(void *ctx, const struct chat_group_event *ev)
{
	struct peer *p = ctx;
	if (ev->type == CHAT_GROUP_JOIN && p->joins < MAXREC)
		p->join_id[p->joins++] = ev->id;
	if (ev->type == CHAT_GROUP_LINE && p->lines < MAXREC) {
		p->line_type[p->lines] = ev->line_type;
		snprintf(p->line_text[p->lines++], 32, "%.*s", (int)ev->text_len, ev->text);
	}
	if (ev->type == CHAT_GROUP_IDENT && p->idents < MAXREC) {
		p->ident[p->idents] = ev->ident;
		snprintf(p->ident_nick[p->idents], CHAT_NICK_MAX + 1, "%s", ev->nick);
		if (ev->key)
			memcpy(p->ident_key[p->idents], ev->key, CHAT_KEY_LEN);
		p->idents++;
		/* what udpchat does (tools/tool_chat_ident.c) */
		if ((ev->ident == CHAT_IDENT_NEW || ev->ident == CHAT_IDENT_TRUSTED) && p->save_to)
			assert_int_equal(chat_known_save(p->known, p->save_to), 0);
	}
}

static int authorize(void *arg, const uint8_t key[REL_IDENT_KEY])
{
	struct peer *p = arg;
	return chat_group_authorize(p->g, key);
}

/* A peer on loopback; with_ident: an identity (a fresh key pair) and
 * identity sessions.  0, or 1 when this build has no identity sessions. */
static int peer_open(struct peer *p, uint64_t gid, const char *nick, int with_ident)
{
	struct udp_addr any;
	memset(p, 0, sizeof *p);
	assert_int_equal(udp_addr_parse(&any, "127.0.0.1:0", UDP_ADDR_NUMERIC), 0);
	assert_int_equal(udp_sock_open_bound(&p->sock, &any, UDP_SOCK_NONBLOCK), 0);
	assert_int_equal(udp_sock_local_addr(p->sock, &p->addr), 0);
	struct rel_config rc;
	rel_config_default(&rc);
	rc.accept = 1;
	rc.seed = gid;
	rc.max_msg = CHAT_PKT_MAX;
	rc.rto_initial_us = 20000;
	rc.rto_min_us = 10000;
	if (with_ident) {
		assert_int_equal(seal_ident_generate(&p->id), 0);
		assert_int_equal(chat_known_new(&p->known), 0);
		struct rel_ident_config ic;
		rel_ident_config_default(&ic);
		ic.static_priv = seal_ident_private(p->id);
		ic.authorize = authorize;
		ic.authorize_arg = p;
		if (rel_ident_new(&p->ri, &ic) < 0) {
			udp_sock_free(p->sock);
			seal_ident_free(p->id);
			chat_known_free(p->known);
			return 1;
		}
		rel_ident_attach(p->ri, &rc);
	}
	assert_int_equal(rel_core_new(&p->core, &rc), 0);
	assert_int_equal(rel_drv_new(&p->drv, p->core, p->sock), 0);
	struct chat_group_config gc;
	chat_group_config_default(&gc);
	gc.core = p->core;
	gc.drv = p->drv;
	gc.data = p->sock;
	gc.id = gid;
	gc.nick = nick;
	gc.wall_offset_us = 1;
	gc.on_event = on_event;
	gc.ctx = p;
	if (with_ident) {
		gc.ident_pub = seal_ident_public(p->id);
		gc.known = p->known;
	}
	assert_int_equal(chat_group_new(&p->g, &gc), 0);
	rel_drv_set_gate(p->drv, chat_group_gate, p->g);
	return 0;
}

static void peer_close(struct peer *p)
{
	chat_group_free(p->g);
	rel_drv_free(p->drv);
	rel_core_free(p->core);
	rel_ident_free(p->ri);
	chat_known_free(p->known);
	seal_ident_free(p->id);
	udp_sock_free(p->sock);
}

static void run(struct peer **ps, int n, int rounds)
{
	for (int i = 0; i < rounds; i++)
		for (int k = 0; k < n; k++) {
			chat_group_tick(ps[k]->g, rel_drv_now());
			rel_drv_flush(ps[k]->drv);
			rel_drv_service(ps[k]->drv);
			chat_group_poll(ps[k]->g, rel_drv_now());
			rel_drv_flush(ps[k]->drv);
		}
}

/* Runs until cond holds (bounded: 2000 rounds of every peer). */
#define RUN_UNTIL(ps, n, cond)                                    \
	do {                                                      \
		for (int r_ = 0; r_ < 2000 && !(cond); r_++)      \
			run(ps, n, 1);                            \
	} while (0)

static int has_join(const struct peer *p, uint64_t id)
{
	for (int i = 0; i < p->joins; i++)
		if (p->join_id[i] == id)
			return 1;
	return 0;
}

static int count_ident(const struct peer *p, enum chat_ident_what w)
{
	int n = 0;
	for (int i = 0; i < p->idents; i++)
		n += p->ident[i] == w;
	return n;
}

/* from calls to, naming to's key (Noise IK needs it). */
static void call_with_key(struct peer *from, const struct peer *to)
{
	assert_int_equal(chat_group_add_peer_key(from->g, &to->addr, seal_ident_public(to->id),
						 rel_drv_now()), 0);
}

#define A_ID 0x1000000000000000ull
#define B_ID 0x2000000000000000ull
#define C_ID 0x3000000000000000ull

static void two_identity_peers_chat(void **state)
{
	(void)state;
	struct peer a, b;
	if (peer_open(&a, A_ID, "ann", 1))
		skip();
	assert_int_equal(peer_open(&b, B_ID, "bee", 1), 0);
	a.save_to = tmpdir_path("known_a");
	struct peer *ps[] = { &a, &b };
	/* a plain connect cannot call an identity: Noise IK needs the key */
	assert_int_equal(chat_group_add_peer(a.g, &b.addr, rel_drv_now()), UDP_EINVAL);
	call_with_key(&a, &b);
	RUN_UNTIL(ps, 2, has_join(&a, B_ID) && has_join(&b, A_ID));
	assert_true(has_join(&a, B_ID));
	assert_true(has_join(&b, A_ID));
	/* each knows the other's verified key, and its fingerprint */
	uint8_t k[CHAT_KEY_LEN];
	assert_int_equal(chat_group_peer_key(a.g, B_ID, k), 0);
	assert_memory_equal(k, seal_ident_public(b.id), CHAT_KEY_LEN);
	assert_int_equal(chat_group_peer_key(b.g, A_ID, k), 0);
	assert_memory_equal(k, seal_ident_public(a.id), CHAT_KEY_LEN);
	char f1[SEAL_IDENT_FPR_SIZE], f2[SEAL_IDENT_FPR_SIZE];
	assert_int_equal(seal_ident_fingerprint(k, f1, sizeof f1), 19);
	assert_int_equal(seal_ident_fingerprint(seal_ident_public(a.id), f2, sizeof f2), 19);
	assert_string_equal(f1, f2);
	/* first contact: each recorded the other's nick with its key, once */
	assert_int_equal(count_ident(&a, CHAT_IDENT_NEW), 1);
	assert_int_equal(count_ident(&b, CHAT_IDENT_NEW), 1);
	assert_int_equal(chat_known_check(a.known, "bee", seal_ident_public(b.id), NULL),
			 CHAT_KNOWN_SAME);
	assert_int_equal(chat_known_check(b.known, "ann", seal_ident_public(a.id), NULL),
			 CHAT_KNOWN_SAME);
	/* ... and the file the caller wrote on that event holds it */
	struct chat_known *onfile;
	assert_int_equal(chat_known_new(&onfile), 0);
	assert_int_equal(chat_known_load(onfile, a.save_to, NULL), 0);
	assert_int_equal(chat_known_count(onfile), 1);
	assert_int_equal(chat_known_check(onfile, "bee", seal_ident_public(b.id), NULL),
			 CHAT_KNOWN_SAME);
	chat_known_free(onfile);
	/* they chat */
	chat_group_say(a.g, CHAT_MSG, "hello bee", 9, rel_drv_now());
	RUN_UNTIL(ps, 2, b.lines >= 1);
	assert_int_equal(b.lines, 1);
	assert_string_equal(b.line_text[0], "hello bee");
	struct chat_group_stats st;
	chat_group_stats(a.g, &st);
	assert_int_equal(st.ident.bad_hello, 0);
	assert_int_equal(st.ident.new_keys, 1);
	peer_close(&a);
	peer_close(&b);
}

/* Identity peers ann (A_ID; the test is skipped in a build without
 * identity sessions), bee (B_ID) and c (C_ID) named c_nick. */
static void open_three(struct peer *a, struct peer *b, struct peer *c, const char *c_nick)
{
	if (peer_open(a, A_ID, "ann", 1))
		skip();
	assert_int_equal(peer_open(b, B_ID, "bee", 1), 0);
	assert_int_equal(peer_open(c, C_ID, c_nick, 1), 0);
}

static void close_three(struct peer *a, struct peer *b, struct peer *c)
{
	peer_close(a);
	peer_close(b);
	peer_close(c);
}

static void known_nick_other_key_refused(void **state)
{
	(void)state;
	struct peer a, c, b;
	/* another peer (c) calls itself bee, with its own key */
	open_three(&a, &b, &c, "bee");
	/* ann met the real bee before: bee's key is on file */
	assert_int_equal(chat_known_set(a.known, "bee", seal_ident_public(b.id)), 0);
	struct peer *ps[] = { &a, &c };
	call_with_key(&c, &a);
	RUN_UNTIL(ps, 2, count_ident(&a, CHAT_IDENT_CHANGED) >= 1);
	run(ps, 2, 50);
	assert_int_equal(count_ident(&a, CHAT_IDENT_CHANGED), 1);
	assert_string_equal(a.ident_nick[a.idents - 1], "bee");
	assert_memory_equal(a.ident_key[a.idents - 1], seal_ident_public(c.id), CHAT_KEY_LEN);
	assert_false(has_join(&a, C_ID));
	assert_int_equal(chat_roster_count(chat_group_roster(a.g)), 0);
	/* the file still binds bee to the first key */
	assert_int_equal(chat_known_check(a.known, "bee", seal_ident_public(b.id), NULL),
			 CHAT_KNOWN_SAME);
	/* it calls again: refused in the handshake now, and said no twice */
	call_with_key(&c, &a);
	struct chat_group_stats st;
	RUN_UNTIL(ps, 2, (chat_group_stats(a.g, &st), st.ident.authz_refused >= 1));
	assert_true(st.ident.authz_refused >= 1);
	run(ps, 2, 50);
	assert_false(has_join(&a, C_ID));
	assert_int_equal(count_ident(&a, CHAT_IDENT_CHANGED), 1);
	/* nothing to trust for a nick without a refused key */
	assert_int_equal(chat_group_trust(a.g, "ann", rel_drv_now()), UDP_EINVAL);
	/* /trust bee: the new key is bee's now, and the peer is met */
	assert_int_equal(chat_group_trust(a.g, "bee", rel_drv_now()), 0);
	assert_int_equal(count_ident(&a, CHAT_IDENT_TRUSTED), 1);
	assert_int_equal(chat_known_check(a.known, "bee", seal_ident_public(c.id), NULL),
			 CHAT_KNOWN_SAME);
	call_with_key(&a, &c);
	RUN_UNTIL(ps, 2, has_join(&a, C_ID));
	assert_true(has_join(&a, C_ID));
	close_three(&a, &b, &c);
}

static void private_reaches_addressee_only(void **state)
{
	(void)state;
	struct peer a, b, c;
	open_three(&a, &b, &c, "cee");
	struct peer *ps[] = { &a, &b, &c };
	call_with_key(&a, &b);
	call_with_key(&a, &c);
	/* b and c meet through a's peer lists, which carry their keys */
	RUN_UNTIL(ps, 3, has_join(&b, C_ID) && has_join(&c, B_ID) && has_join(&a, B_ID) &&
			 has_join(&a, C_ID));
	assert_true(has_join(&b, C_ID) && has_join(&c, B_ID));
	assert_int_equal(chat_group_send_private(a.g, B_ID, "for bee", 7, rel_drv_now()), 0);
	chat_group_say(a.g, CHAT_MSG, "for all", 7, rel_drv_now());
	RUN_UNTIL(ps, 3, b.lines >= 2 && c.lines >= 1);
	run(ps, 3, 50);
	assert_int_equal(b.lines, 2);
	assert_int_equal(b.line_type[0], CHAT_PRIV);
	assert_string_equal(b.line_text[0], "for bee");
	assert_int_equal(c.lines, 1); /* the line to all, never the private one */
	assert_int_equal(c.line_type[0], CHAT_MSG);
	assert_string_equal(c.line_text[0], "for all");
	/* no session: not sent at all (there is no other path) */
	assert_int_equal(chat_group_send_private(a.g, 0x4242, "x", 1, rel_drv_now()),
			 UDP_EINVAL);
	close_three(&a, &b, &c);
}

/* A beacon from p as the group would carry it, into q's beacon port. */
static void beacon_to(struct peer *q, uint64_t from, const char *nick, const uint8_t *key,
		      const struct udp_addr *src)
{
	static const uint8_t zeros[CHAT_BEACON_MIN];
	uint8_t buf[CHAT_PKT_MAX];
	struct chat_pkt pk = { .type = CHAT_BEACON, .id = from,
			       .port = (uint16_t)udp_addr_port(src), .text = zeros,
			       .text_len = sizeof zeros, .ident = key != NULL };
	snprintf(pk.nick, sizeof pk.nick, "%s", nick);
	if (key)
		memcpy(pk.key, key, CHAT_KEY_LEN);
	int n = chat_pkt_encode(&pk, buf, sizeof buf);
	assert_true(n > 0);
	struct udp_msg m = { .buf = buf, .cap = sizeof buf, .len = (size_t)n, .addr = *src };
	chat_group_beacon_input(q->g, &m, rel_drv_now());
}

/* Opens identity peer ann (a, A_ID; the test is skipped in a build
 * without identity sessions) and plain peer dee (d, B_ID), and has each
 * beacon the other three times: each tells its user once, and neither
 * connects, whichever id is smaller. */
static void ann_and_dee_beacons(struct peer *a, struct peer *d)
{
	if (peer_open(a, A_ID, "ann", 1))
		skip();
	assert_int_equal(peer_open(d, B_ID, "dee", 0), 0);
	for (int i = 0; i < 3; i++) {
		beacon_to(a, B_ID, "dee", NULL, &d->addr);
		beacon_to(d, A_ID, "ann", seal_ident_public(a->id), &a->addr);
	}
	struct chat_group_stats sa, sd;
	chat_group_stats(a->g, &sa);
	chat_group_stats(d->g, &sd);
	assert_int_equal(sa.beacons.mixed, 3);
	assert_int_equal(sd.beacons.mixed, 3);
	assert_int_equal(sa.beacons.connect + sd.beacons.connect, 0);
	assert_int_equal(count_ident(a, CHAT_IDENT_NOKEY), 1);
	assert_int_equal(count_ident(d, CHAT_IDENT_ONLY), 1);
	assert_memory_equal(d->ident_key[0], seal_ident_public(a->id), CHAT_KEY_LEN);
}

static void mixed_beacons_told_once(void **state)
{
	(void)state;
	struct peer a, d;
	ann_and_dee_beacons(&a, &d);
	assert_string_equal(a.ident_nick[0], "dee");
	/* a beacon records nothing: a key on file comes from a handshake */
	assert_int_equal(chat_known_count(a.known), 0);
	/* with a key both ways, the identity peer would connect (the smaller
	 * id, a new nick) */
	struct peer e;
	assert_int_equal(peer_open(&e, C_ID, "eve", 1), 0);
	beacon_to(&a, C_ID, "eve", seal_ident_public(e.id), &e.addr);
	struct chat_group_stats sa;
	chat_group_stats(a.g, &sa);
	assert_int_equal(sa.beacons.connect, 1);
	assert_int_equal(chat_known_count(a.known), 0);
	peer_close(&a);
	peer_close(&d);
	peer_close(&e);
}

static void identity_and_plain_do_not_meet(void **state)
{
	(void)state;
	struct peer a, d;
	ann_and_dee_beacons(&a, &d);
	struct peer *ps[] = { &a, &d };
	/* a plain connect to the identity peer: its core refuses it, no one
	 * joins anywhere (no fallback to a plain session) */
	assert_int_equal(chat_group_add_peer(d.g, &a.addr, rel_drv_now()), 0);
	run(ps, 2, 300);
	assert_int_equal(a.joins + d.joins, 0);
	assert_int_equal(chat_group_sessions(a.g), 0);
	peer_close(&a);
	peer_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_identity_peers_chat),
		cmocka_unit_test(known_nick_other_key_refused),
		cmocka_unit_test(private_reaches_addressee_only),
		cmocka_unit_test(mixed_beacons_told_once),
		cmocka_unit_test(identity_and_plain_do_not_meet),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
