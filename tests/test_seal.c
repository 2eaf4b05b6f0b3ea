/* cmocka tests for seal and seal_replay: the attack list.
 *
 * Deterministic: fixed keys, fixed session ids and first counters through
 * struct seal_config.  The one exception is nonce_unique_across_senders,
 * which wants real random session ids, and checks a property that holds for
 * every draw. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_key.h"
#include "seal_replay.h"
#include "seal.h"
#include "support_seal.h"

#define W SEAL_REPLAY_WINDOW
#define MAXC (UINT64_MAX - 1) /* highest counter a sealer uses */

static const uint8_t SID_S[16] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
				  0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
static const uint8_t SID_R[16] = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
				  0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};

static void key_bytes(uint8_t k[32], uint8_t base)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(base + i);
}

/* A seal for key `kbase` with session id sid and a first counter. */
static struct seal *mk_cfg(uint8_t kbase, const uint8_t *sid, uint64_t first,
			       size_t max_sessions)
{
	uint8_t kb[32];
	struct seal_key *k;
	struct seal *s;
	struct seal_config c;
	key_bytes(kb, kbase);
	assert_int_equal(seal_key_from_bytes(&k, kb), 0);
	seal_config_default(&c);
	c.session_id = sid;
	c.first_counter = first;
	if (max_sessions)
		c.max_sessions = max_sessions;
	assert_int_equal(seal_new(&s, k, &c), 0);
	seal_key_free(k);
	return s;
}

static struct seal *mk(const uint8_t *sid, uint64_t first)
{
	return mk_cfg(0, sid, first, 0);
}

/* ---- the sealing format ---- */

static void roundtrip_and_header(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 7), *r = mk(SID_R, 0);
	struct pkt p = seal_msg(s, "hello");
	assert_int_equal(p.b[0], 0xc5);
	assert_int_equal(p.b[1], 0x53);
	assert_int_equal(p.b[2], SEAL_VERSION);
	assert_int_equal(p.b[3], SEAL_FLAG_SEALED);
	assert_memory_equal(p.b + 8, SID_S, 16);
	assert_int_equal(p.b[31], 7);
	assert_true(seal_next_counter(s) == 8);
	char out[64];
	struct seal_info info;
	int n = seal_open(r, p.b, (size_t)p.n, "addr", 4, out, sizeof out, &info);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_memory_equal(info.session_id, SID_S, 16);
	assert_true(info.counter == 7);
	assert_int_equal(info.new_session, 1);
	assert_int_equal(info.addr_changed, 0);
	seal_free(s);
	seal_free(r);
}

static void empty_plaintext(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	uint8_t pkt[SEAL_OVERHEAD];
	assert_int_equal(seal_seal(s, NULL, 0, pkt, sizeof pkt), SEAL_OVERHEAD);
	assert_int_equal(seal_open(r, pkt, sizeof pkt, NULL, 0, NULL, 0, NULL), 0);
	seal_free(s);
	seal_free(r);
}

/* Produced once by this implementation (key bytes 00..1f, session id
 * a0..af, counter 0x0102030405060708, plaintext "udpkit sealing KAT"),
 * pasted here, and cross-checked below against a direct libsodium call
 * built from the documented format alone. */
static const uint8_t KAT[66] = {
	0xc5, 0x53, 0x01, 0x01, 0x0b, 0x21, 0xed, 0x5a,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0xb7, 0x36, 0x4d, 0x7a, 0x66, 0x4e, 0xc9, 0x6d,
	0xc5, 0xe5, 0x75, 0x8d, 0x6d, 0x32, 0x8d, 0xca,
	0x62, 0x19, 0x23, 0xd1, 0x30, 0x92, 0xd3, 0x33,
	0xfa, 0x00, 0x6e, 0x08, 0x53, 0x7f, 0xcd, 0x81,
	0xde, 0x67,
};

/* The key id a session's packets carry, from the spec: BLAKE2b-128 keyed
 * with the 32-byte kdf subkey 3, personal "udpkit key id", of the session
 * id; its first 4 bytes. */
static void ref_wire_id(const uint8_t kb[32], const uint8_t sid[16], uint8_t out[4])
{
	static const uint8_t personal[16] = "udpkit key id";
	uint8_t idkey[32], h[16];
	assert_int_equal(crypto_kdf_derive_from_key(idkey, 32, 3, "udpkit01", kb), 0);
	assert_int_equal(crypto_generichash_blake2b_salt_personal(h, 16, sid, 16, idkey, 32,
								  NULL, personal), 0);
	memcpy(out, h, 4);
}

/* A forged packet's key id made right for its (changed) session id under
 * key 0, so that it gets past the key id to the authentication. */
static void fix_wire_id(uint8_t *pkt)
{
	uint8_t kb[32];
	key_bytes(kb, 0);
	ref_wire_id(kb, pkt + 8, pkt + 4);
}

static void known_answer(void **state)
{
	(void)state;
	uint8_t sid[16], kb[32];
	for (int i = 0; i < 16; i++)
		sid[i] = (uint8_t)(0xa0 + i);
	key_bytes(kb, 0);
	struct seal *s = mk(sid, 0x0102030405060708ull);
	const char *msg = "udpkit sealing KAT";
	struct pkt p = seal_msg(s, msg);
	assert_int_equal(p.n, sizeof KAT);
	assert_memory_equal(p.b, KAT, sizeof KAT);

	/* the same bytes straight from libsodium and the spec */
	uint8_t sub[32], idsub[16], hdr[32], ref[66];
	assert_int_equal(crypto_kdf_derive_from_key(sub, 32, 1, "udpkit01", kb), 0);
	assert_int_equal(crypto_kdf_derive_from_key(idsub, 16, 3, "udpkit01", kb), 0);
	hdr[0] = 0xc5, hdr[1] = 0x53, hdr[2] = 1, hdr[3] = 1;
	ref_wire_id(kb, sid, hdr + 4);
	memcpy(hdr + 8, sid, 16);
	for (int i = 0; i < 8; i++)
		hdr[24 + i] = (uint8_t)(i + 1);
	memcpy(ref, hdr, 32);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ref + 32, NULL, (const uint8_t *)msg,
						   strlen(msg), hdr, 32, NULL, hdr + 8, sub);
	assert_memory_equal(ref, KAT, sizeof KAT);
	/* the id for people stays the key's (udpkey id), never on the wire */
	assert_true(seal_get_key_id(s) == 0x0e5f7b95u);
	assert_memory_equal(idsub, "\x0e\x5f\x7b\x95", 4);
	assert_memory_not_equal(KAT + 4, idsub, 4);
	seal_free(s);
}

/* The header's key id is per session: two sessions of one key show
 * unrelated ids, neither is the key's id for people, and an id copied
 * from one session onto another's packet is refused before the AEAD. */
static void wire_key_id_per_session(void **state)
{
	(void)state;
	uint8_t sa[16], sb[16];
	memset(sa, 0x31, sizeof sa);
	memset(sb, 0x32, sizeof sb);
	struct seal *a = mk(sa, 5), *b = mk(sb, 5), *r = mk(SID_R, 0);
	struct pkt pa = seal_msg(a, "a"), pb = seal_msg(b, "b"), pa2 = seal_msg(a, "a2");
	uint8_t kid[4];
	for (int i = 0; i < 4; i++)
		kid[i] = (uint8_t)(seal_get_key_id(a) >> (24 - 8 * i));
	assert_true(seal_get_key_id(a) == seal_get_key_id(b));
	assert_memory_not_equal(pa.b + 4, pb.b + 4, 4);
	assert_memory_not_equal(pa.b + 4, kid, 4);
	assert_memory_not_equal(pb.b + 4, kid, 4);
	assert_memory_equal(pa.b + 4, pa2.b + 4, 4); /* steady within a session */
	/* b's packet under a's key id: refused, new session or not */
	struct pkt f = pb;
	memcpy(f.b + 4, pa.b + 4, 4);
	assert_int_equal(open_pkt(r, &f), UDP_ESEAL_WRONGKEY);
	/* the key's id for people on the wire: refused too */
	memcpy(f.b + 4, kid, 4);
	assert_int_equal(open_pkt(r, &f), UDP_ESEAL_WRONGKEY);
	assert_int_equal(open_pkt(r, &pa), 1);
	assert_int_equal(open_pkt(r, &pb), 1);
	/* a known session (table lookup first): a wrong id is still WRONGKEY */
	f = pa2;
	f.b[4] ^= 1;
	assert_int_equal(open_pkt(r, &f), UDP_ESEAL_WRONGKEY);
	assert_int_equal(open_pkt(r, &pa2), 2);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.drop_wrongkey == 3 && st.drop_auth == 0 && st.opened == 3);
	seal_free(a);
	seal_free(b);
	seal_free(r);
}

/* fork() after seal_new(): parent and child each seal, and their packets
 * never share (session id, counter), i.e. a nonce, though the child holds
 * a copy of the parent's session.  The child's next packets stay in its
 * own new session; a receiver opens all of them. */
static void fork_starts_a_new_session(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 100), *r = mk(SID_R, 0);
	struct pkt first = seal_msg(s, "before");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pkt c[2];
		int ok = 1;
		for (int i = 0; i < 2; i++) {
			c[i].n = seal_seal(s, "child", 5, c[i].b, sizeof c[i].b);
			ok &= c[i].n == 5 + SEAL_OVERHEAD;
		}
		ok &= write(fds[1], c, sizeof c) == (ssize_t)sizeof c;
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	struct pkt p = seal_msg(s, "parent"), c[2];
	size_t got = 0;
	while (got < sizeof c) {
		ssize_t n = read(fds[0], (char *)c + got, sizeof c - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fds[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the parent goes on in its session: SID_S, counter 101 */
	assert_memory_equal(p.b + 8, SID_S, 16);
	assert_memory_equal(p.b + 8, first.b + 8, 16);
	assert_int_equal(p.b[31], 101);
	/* the child: a new session id (its counter started again at 100, so
	 * only the id keeps the nonces apart - which it must) */
	assert_memory_not_equal(c[0].b + 8, SID_S, 16);
	assert_memory_equal(c[0].b + 8, c[1].b + 8, 16);
	assert_memory_not_equal(c[0].b + 4, p.b + 4, 4); /* its own key id too */
	assert_int_equal(c[0].b[31], 100);
	assert_int_equal(c[1].b[31], 101);
	struct seal_info info;
	uint8_t out[64];
	assert_int_equal(seal_open(r, first.b, (size_t)first.n, NULL, 0, out, sizeof out, NULL), 6);
	assert_int_equal(seal_open(r, p.b, (size_t)p.n, NULL, 0, out, sizeof out, NULL), 6);
	assert_int_equal(seal_open(r, c[0].b, (size_t)c[0].n, NULL, 0, out, sizeof out, &info), 5);
	assert_true(info.new_session);
	assert_int_equal(seal_open(r, c[1].b, (size_t)c[1].n, NULL, 0, out, sizeof out, &info), 5);
	assert_false(info.new_session);
	seal_free(s);
	seal_free(r);
}

/* ---- tampering ---- */

/* Every single-bit flip anywhere in a sealed packet is rejected, with the
 * reason the header region implies, and leaves no trace: the genuine
 * packet is still accepted afterwards. */
static void every_bit_flip_rejected(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 1000), *r = mk(SID_R, 0);
	struct pkt p = seal_msg(s, "twenty bytes of data");
	for (int i = 0; i < p.n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct pkt q = p;
			q.b[i] ^= (uint8_t)(1u << bit);
			int want = UDP_ESEAL_AUTH;
			if (i < 2)
				want = UDP_ESEAL_PLAINTEXT;
			else if (i == 2)
				want = UDP_ESEAL_VERSION;
			else if (i == 3 && bit == 0)
				want = UDP_ESEAL_PLAINTEXT;
			else if (i == 3 && bit == 1) /* the other suite: its own key */
				want = seal_suite_available(SEAL_AES256GCM) ?
				       UDP_ESEAL_AUTH : UDP_ESEAL_SUITE;
			else if (i == 3)
				want = UDP_ESEAL_BADHDR;
			else if (i < 24) /* key id, or a session id it does not match */
				want = UDP_ESEAL_WRONGKEY;
			assert_int_equal(open_pkt(r, &q), want);
		}
	}
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.opened == 0 && st.sessions == 0);
	assert_true(st.drop_auth + st.drop_suite == (uint64_t)(p.n - 24) * 8 + 1);
	assert_true(st.drop_wrongkey == 20 * 8);
	assert_int_equal(open_pkt(r, &p), 20);
	seal_free(s);
	seal_free(r);
}

static void every_truncation_rejected(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt p = seal_msg(s, "some plaintext");
	uint8_t out[256];
	for (int len = 0; len < p.n; len++) {
		int want = len < SEAL_OVERHEAD ? UDP_ESEAL_SHORT : UDP_ESEAL_AUTH;
		/* a heap copy of exactly len bytes: ASan catches any overread */
		uint8_t *c = malloc(len ? (size_t)len : 1);
		assert_non_null(c);
		memcpy(c, p.b, (size_t)len);
		assert_int_equal(seal_open(r, c, (size_t)len, NULL, 0, out, sizeof out, NULL), want);
		assert_int_equal(seal_looks_sealed(c, (size_t)len), len >= SEAL_OVERHEAD);
		free(c);
	}
	struct pkt longer = p;
	longer.b[longer.n++] = 0;
	assert_int_equal(open_pkt(r, &longer), UDP_ESEAL_AUTH);
	assert_int_equal(open_pkt(r, &p), 14);
	seal_free(s);
	seal_free(r);
}

static void wrong_key_is_wrongkey(void **state)
{
	(void)state;
	struct seal *s = mk_cfg(0x40, SID_S, 0, 0), *r = mk(SID_R, 0);
	struct pkt p = seal_msg(s, "x");
	assert_int_equal(open_pkt(r, &p), UDP_ESEAL_WRONGKEY);
	/* corrupted with the right key is AUTH, not WRONGKEY */
	struct seal *s2 = mk(SID_S, 0);
	struct pkt q = seal_msg(s2, "x");
	q.b[q.n - 1] ^= 1;
	assert_int_equal(open_pkt(r, &q), UDP_ESEAL_AUTH);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.drop_wrongkey == 1 && st.drop_auth == 1);
	seal_free(s);
	seal_free(s2);
	seal_free(r);
}

static void downgrade_and_plaintext_rejected(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt p = seal_msg(s, "secret");
	struct pkt q = p;
	q.b[3] = 0; /* flags cleared */
	assert_int_equal(open_pkt(r, &q), UDP_ESEAL_PLAINTEXT);
	q.b[3] = 0x81; /* reserved flag */
	assert_int_equal(open_pkt(r, &q), UDP_ESEAL_BADHDR);
	q = p;
	q.b[2] = 2; /* future version */
	assert_int_equal(open_pkt(r, &q), UDP_ESEAL_VERSION);
	uint8_t out[64];
	const char *plain = "hello, this is a plaintext datagram of some length";
	assert_int_equal(seal_open(r, plain, strlen(plain), NULL, 0, out, sizeof out, NULL),
			 UDP_ESEAL_PLAINTEXT);
	assert_int_equal(seal_open(r, "x", 1, NULL, 0, out, sizeof out, NULL), UDP_ESEAL_SHORT);
	assert_int_equal(seal_open(r, NULL, 0, NULL, 0, out, sizeof out, NULL), UDP_ESEAL_SHORT);
	assert_int_equal(seal_looks_sealed(plain, strlen(plain)), 0);
	assert_int_equal(seal_looks_sealed(p.b, (size_t)p.n), 1);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.drop_plaintext == 2 && st.drop_header == 2 && st.drop_short == 2);
	assert_int_equal(open_pkt(r, &p), 6);
	seal_free(s);
	seal_free(r);
}

static void reflection_dropped(void **state)
{
	(void)state;
	struct seal *me = mk(SID_S, 0), *twin = mk(SID_S, 50);
	struct pkt p = seal_msg(me, "echo");
	assert_int_equal(open_pkt(me, &p), UDP_ESEAL_REFLECT);
	struct pkt q = seal_msg(twin, "echo"); /* any packet with our session id */
	assert_int_equal(open_pkt(me, &q), UDP_ESEAL_REFLECT);
	struct seal_stats st;
	seal_get_stats(me, &st);
	assert_true(st.drop_reflect == 2 && st.sessions == 0);
	seal_free(me);
	seal_free(twin);
}

static void output_buffers_checked(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	uint8_t pkt[64], out[64];
	assert_int_equal(seal_seal(s, "abcd", 4, pkt, 4 + SEAL_OVERHEAD - 1), UDP_ENOSPACE);
	assert_int_equal(seal_seal(s, "abcd", 4, pkt, 3), UDP_ENOSPACE);
	assert_true(seal_next_counter(s) == 0); /* nothing consumed */
	int n = seal_seal(s, "abcd", 4, pkt, sizeof pkt);
	assert_int_equal(n, 4 + SEAL_OVERHEAD);
	assert_int_equal(seal_open(r, pkt, (size_t)n, NULL, 0, out, 3, NULL), UDP_ENOSPACE);
	assert_int_equal(seal_open(r, pkt, (size_t)n, NULL, 0, out, 4, NULL), 4);
	seal_free(s);
	seal_free(r);
}

/* ---- replay ---- */

static void replay_exact(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt p = seal_msg(s, "once");
	assert_int_equal(open_pkt(r, &p), 4);
	assert_int_equal(open_pkt(r, &p), UDP_ESEAL_REPLAY);
	assert_int_equal(open_pkt(r, &p), UDP_ESEAL_REPLAY);
	seal_free(s);
	seal_free(r);
}

static struct pkt *seal_many(struct seal *s, int n)
{
	struct pkt *v = calloc((size_t)n, sizeof *v);
	assert_non_null(v);
	for (int i = 0; i < n; i++)
		v[i] = seal_msg(s, "m");
	return v;
}

/* Out-of-order inside the window is accepted once; below it is OLD. */
static void replay_window_order(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	enum { N = W + 100 };
	struct pkt *v = seal_many(s, N);
	assert_int_equal(open_pkt(r, &v[50]), 1);
	for (int i = 49; i >= 0; i--)
		assert_int_equal(open_pkt(r, &v[i]), 1);
	for (int i = 0; i <= 50; i++)
		assert_int_equal(open_pkt(r, &v[i]), UDP_ESEAL_REPLAY);
	assert_int_equal(open_pkt(r, &v[N - 1]), 1); /* top = N-1 = W+99 */
	assert_int_equal(open_pkt(r, &v[N - 1 - W]), UDP_ESEAL_OLD);      /* 99: just below */
	assert_int_equal(open_pkt(r, &v[N - W]), 1);                      /* 100: lowest in */
	assert_int_equal(open_pkt(r, &v[N - W]), UDP_ESEAL_REPLAY);
	assert_int_equal(open_pkt(r, &v[0]), UDP_ESEAL_OLD);
	for (int i = N - 2; i > N - W; i--)
		assert_int_equal(open_pkt(r, &v[i]), 1);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.drop_old == 2 && st.drop_replay == 52);
	free(v);
	seal_free(s);
	seal_free(r);
}

struct rcase {
	uint64_t c;
	int want;
};

/* In the spirit of WireGuard's counter self-test, cases of our own for
 * this window: W = SEAL_REPLAY_WINDOW (8128), top moves only on commit,
 * the highest sealed counter is 2^64-2. */
static void replay_window_cases(void **state)
{
	(void)state;
	assert_int_equal(W, 8128); /* the size docs/SEALING.md promises */
	static const struct rcase cases[] = {
		{0, 0}, {1, 0}, {1, UDP_ESEAL_REPLAY}, {9, 0}, {8, 0}, {7, 0},
		{7, UDP_ESEAL_REPLAY},
		{W + 1, 0}, {W, 0}, {W, UDP_ESEAL_REPLAY}, {W - 1, 0},
		{2, 0}, {2, UDP_ESEAL_REPLAY}, /* (W + 1) - 2 = W - 1: last slot inside */
		{1, UDP_ESEAL_OLD},            /* (W + 1) - 1 = W: first outside */
		{W + 17, 0}, {3, UDP_ESEAL_OLD}, {W + 17, UDP_ESEAL_REPLAY},
		{4 * W, 0}, {4 * W - (W - 1), 0}, {10, UDP_ESEAL_OLD},
		{4 * W - W, UDP_ESEAL_OLD}, {4 * W - (W + 1), UDP_ESEAL_OLD},
		{4 * W - (W - 2), 0}, {4 * W + 1 - W, UDP_ESEAL_REPLAY},
		{0, UDP_ESEAL_OLD},
		/* the top edge */
		{MAXC, 0}, {MAXC, UDP_ESEAL_REPLAY}, {MAXC - 1, 0},
		{MAXC - 1, UDP_ESEAL_REPLAY}, {MAXC - W, UDP_ESEAL_OLD},
		{MAXC - (W - 1), 0}, {MAXC - (W - 1), UDP_ESEAL_REPLAY},
		{4 * W, UDP_ESEAL_OLD}, {0, UDP_ESEAL_OLD},
	};
	struct seal_replay w;
	seal_replay_init(&w);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = seal_replay_check(&w, cases[i].c);
		if (rc != cases[i].want)
			fail_msg("case %zu: counter %llu: got %d want %d", i,
				 (unsigned long long)cases[i].c, rc, cases[i].want);
		if (rc == 0)
			seal_replay_commit(&w, cases[i].c);
	}
}

/* Word-boundary jumps: exactly WORDS-1 and WORDS words ahead. */
static void replay_window_jumps(void **state)
{
	(void)state;
	enum { WD = SEAL_REPLAY_WORDS };
	struct seal_replay w;
	seal_replay_init(&w);
	for (uint64_t c = 0; c < 64; c++)
		seal_replay_commit(&w, c);
	seal_replay_commit(&w, (WD - 1) * 64 + 5); /* WD-1 words ahead: word 0 partly live */
	assert_int_equal(seal_replay_check(&w, 5), UDP_ESEAL_OLD);
	assert_int_equal(seal_replay_check(&w, 6), UDP_ESEAL_REPLAY);
	assert_int_equal(seal_replay_check(&w, 63), UDP_ESEAL_REPLAY);
	assert_int_equal(seal_replay_check(&w, 64), 0);
	seal_replay_commit(&w, (2 * WD - 1) * 64 + 5); /* WD words ahead: all cleared */
	assert_int_equal(seal_replay_check(&w, WD * 64 + 6), 0);
	assert_int_equal(seal_replay_check(&w, (WD - 1) * 64 + 5), UDP_ESEAL_OLD);
	assert_int_equal(seal_replay_check(&w, (2 * WD - 1) * 64 + 4), 0);
	seal_replay_init_floor(&w, 100);
	assert_int_equal(seal_replay_check(&w, 99), UDP_ESEAL_REPLAY);
	assert_int_equal(seal_replay_check(&w, 100), 0);
	/* found by fuzz_replay: counters above the floor in the floor's own
	 * word are fresh, also after a higher one in that word moved top */
	seal_replay_commit(&w, 100);
	seal_replay_commit(&w, 103);
	assert_int_equal(seal_replay_check(&w, 101), 0);
	assert_int_equal(seal_replay_check(&w, 102), 0);
	assert_int_equal(seal_replay_check(&w, 100), UDP_ESEAL_REPLAY);
	assert_int_equal(seal_replay_check(&w, 99), UDP_ESEAL_REPLAY);
	seal_replay_init_floor(&w, 128); /* floor - 1 ends a word */
	seal_replay_commit(&w, 130);
	assert_int_equal(seal_replay_check(&w, 128), 0);
	assert_int_equal(seal_replay_check(&w, 127), UDP_ESEAL_REPLAY);
	seal_replay_init_floor(&w, 0);
	assert_int_equal(seal_replay_check(&w, 0), 0);
}

/* Thousands of counters, shuffled inside the window: each accepted once. */
static void replay_window_shuffled(void **state)
{
	(void)state;
	enum { N = 20000, CHUNK = W / 2 };
	static uint64_t order[N];
	for (uint64_t i = 0; i < N; i++)
		order[i] = i;
	uint32_t seed = 12345;
	for (int base = 0; base < N; base += CHUNK) {
		int len = N - base < CHUNK ? N - base : CHUNK;
		for (int i = len - 1; i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			int j = (int)((seed >> 8) % (uint32_t)(i + 1));
			uint64_t t = order[base + i];
			order[base + i] = order[base + j];
			order[base + j] = t;
		}
	}
	struct seal_replay w;
	seal_replay_init(&w);
	for (int i = 0; i < N; i++) {
		assert_int_equal(seal_replay_check(&w, order[i]), 0);
		seal_replay_commit(&w, order[i]);
		assert_int_not_equal(seal_replay_check(&w, order[i]), 0);
		if (i >= 1)
			assert_int_not_equal(seal_replay_check(&w, order[i - 1]), 0);
	}
}

/* The sealer stops at 2^64-1 instead of wrapping; the receiver takes the
 * last counters and refuses 2^64-1 itself even when it authenticates. */
static void counter_edges(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, UINT64_MAX - 3), *r = mk(SID_R, 0);
	struct pkt a = seal_msg(s, "a"), b = seal_msg(s, "b"), c = seal_msg(s, "c");
	uint8_t buf[64];
	assert_int_equal(seal_seal(s, "d", 1, buf, sizeof buf), UDP_ESEAL_EXHAUSTED);
	assert_int_equal(seal_seal(s, "d", 1, buf, sizeof buf), UDP_ESEAL_EXHAUSTED);
	assert_true(seal_next_counter(s) == UINT64_MAX);
	assert_int_equal(open_pkt(r, &c), 1);
	assert_int_equal(open_pkt(r, &a), 1);
	assert_int_equal(open_pkt(r, &b), 1);
	assert_int_equal(open_pkt(r, &b), UDP_ESEAL_REPLAY);
	assert_int_equal(open_pkt(r, &c), UDP_ESEAL_REPLAY);

	/* a validly sealed 2^64-1, made by hand with the sealing subkey */
	uint8_t kb[32], sub[32], pkt[64];
	key_bytes(kb, 0);
	crypto_kdf_derive_from_key(sub, 32, SEAL_KEY_SUB_SEAL, "udpkit01", kb);
	memcpy(pkt, c.b, 32);
	memset(pkt + 24, 0xff, 8);
	crypto_aead_xchacha20poly1305_ietf_encrypt(pkt + 32, NULL, (const uint8_t *)"z", 1,
						   pkt, 32, NULL, pkt + 8, sub);
	assert_int_equal(seal_open(r, pkt, 49, NULL, 0, buf, sizeof buf, NULL),
			 UDP_ESEAL_COUNTER);
	/* control: the same construction at 2^64-2 from another session
	 * (with that session's key id) passes */
	pkt[8] ^= 1;
	pkt[31] = 0xfe;
	ref_wire_id(kb, pkt + 8, pkt + 4);
	crypto_aead_xchacha20poly1305_ietf_encrypt(pkt + 32, NULL, (const uint8_t *)"z", 1,
						   pkt, 32, NULL, pkt + 8, sub);
	assert_int_equal(seal_open(r, pkt, 49, NULL, 0, buf, sizeof buf, NULL), 1);
	seal_free(s);
	seal_free(r);
}

/* A forged packet with a huge counter fails authentication and does not
 * move the window: genuine small counters are still accepted. */
static void forged_huge_counter_does_not_move_window(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt *v = seal_many(s, 10);
	assert_int_equal(open_pkt(r, &v[0]), 1);
	static const uint64_t huge[] = {UINT64_MAX - 1, 1ull << 63, 5000, W + 3};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		struct pkt f = v[9];
		for (int j = 0; j < 8; j++)
			f.b[24 + j] = (uint8_t)(huge[i] >> (56 - 8 * j));
		assert_int_equal(open_pkt(r, &f), UDP_ESEAL_AUTH);
	}
	for (int i = 1; i < 10; i++)
		assert_int_equal(open_pkt(r, &v[i]), 1);
	/* forged packets of unknown sessions create nothing */
	struct pkt f = v[3];
	f.b[8] ^= 0x80;
	assert_int_equal(open_pkt(r, &f), UDP_ESEAL_WRONGKEY); /* its key id is the old session's */
	fix_wire_id(f.b);
	assert_int_equal(open_pkt(r, &f), UDP_ESEAL_AUTH);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.sessions == 1 && st.drop_auth == 5 && st.opened == 10);
	free(v);
	seal_free(s);
	seal_free(r);
}

/* A fresh receiver takes the sender's continuing counters; a restarted
 * sender has a new session id, so its counter 0 is a new nonce. */
static void restarts(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt *v = seal_many(s, 20);
	for (int i = 0; i < 10; i++)
		assert_int_equal(open_pkt(r, &v[i]), 1);
	seal_free(r);
	r = mk(SID_R, 0); /* receiver restart */
	for (int i = 10; i < 20; i++)
		assert_int_equal(open_pkt(r, &v[i]), 1);
	assert_int_equal(open_pkt(r, &v[15]), UDP_ESEAL_REPLAY);

	struct seal *s2 = mk(NULL, 0); /* sender restart, random id */
	uint8_t a[16], b[16];
	seal_session_id(s, a);
	seal_session_id(s2, b);
	assert_memory_not_equal(a, b, 16);
	struct pkt p = seal_msg(s2, "m");
	assert_memory_not_equal(p.b + 8, v[0].b + 8, 24); /* counter 0 again, new nonce */
	assert_int_equal(open_pkt(r, &p), 1);
	free(v);
	seal_free(s);
	seal_free(s2);
	seal_free(r);
}

static int cmp24(const void *a, const void *b)
{
	return memcmp(a, b, 24);
}

/* Two senders sharing one key, restarted many times, all starting at
 * counter 0 (the worst case), with real random session ids: no nonce
 * ever repeats. */
static void nonce_unique_across_senders(void **state)
{
	(void)state;
	enum { SENDERS = 2, RESTARTS = 16, PKTS = 256 };
	static uint8_t nonces[SENDERS * RESTARTS * PKTS][24];
	size_t n = 0;
	for (int run = 0; run < RESTARTS; run++) {
		for (int who = 0; who < SENDERS; who++) {
			struct seal *s = mk(NULL, 0);
			for (int i = 0; i < PKTS; i++) {
				struct pkt p = seal_msg(s, "n");
				memcpy(nonces[n++], p.b + 8, 24);
			}
			seal_free(s);
		}
	}
	qsort(nonces, n, 24, cmp24);
	for (size_t i = 1; i < n; i++)
		assert_int_not_equal(memcmp(nonces[i - 1], nonces[i], 24), 0);
}

/* Default first counter comes from the clock: rising across restarts. */
static void clock_counter_start(void **state)
{
	(void)state;
	struct seal *a = mk(NULL, SEAL_COUNTER_CLOCK);
	uint64_t c = seal_next_counter(a);
	assert_true(c > 1500000000ull * 1000000ull); /* after 2017 */
	struct seal *b = mk(NULL, SEAL_COUNTER_CLOCK);
	assert_true(seal_next_counter(b) >= c);
	seal_free(a);
	seal_free(b);
}

/* ---- session table ---- */

static void sid_of(uint8_t sid[16], uint32_t i)
{
	memset(sid, 0x33, 16);
	sid[0] = (uint8_t)(i >> 24), sid[1] = (uint8_t)(i >> 16);
	sid[2] = (uint8_t)(i >> 8), sid[3] = (uint8_t)i;
}

/* 1000 senders through an 8-entry table: the bound holds, evicted
 * sessions cannot replay, live ones keep their windows. */
static void session_table_flood(void **state)
{
	(void)state;
	enum { N = 1000, MAX = 8 };
	struct seal *r = mk_cfg(0, SID_R, 0, MAX);
	static struct pkt first[N];
	struct seal_stats st;
	for (uint32_t i = 0; i < N; i++) {
		uint8_t sid[16];
		sid_of(sid, i);
		/* counters rise with "time", as clock-started senders' do */
		struct seal *s = mk(sid, 1000 + 1000ull * i);
		first[i] = seal_msg(s, "f");
		assert_int_equal(open_pkt(r, &first[i]), 1);
		seal_free(s);
		seal_get_stats(r, &st);
		assert_true(st.sessions <= MAX);
	}
	assert_true(st.sessions == MAX && st.sessions_created == N);
	assert_true(st.sessions_evicted == N - MAX);
	for (uint32_t i = 0; i < N - MAX; i++)
		assert_int_equal(open_pkt(r, &first[i]), UDP_ESEAL_OLD);
	for (uint32_t i = N - MAX; i < N; i++)
		assert_int_equal(open_pkt(r, &first[i]), UDP_ESEAL_REPLAY);
	/* an evicted sender that carries on (higher counter) gets back in */
	uint8_t sid[16];
	sid_of(sid, 0);
	struct seal *back = mk(sid, 1ull << 40);
	struct pkt p = seal_msg(back, "b");
	assert_int_equal(open_pkt(r, &p), 1);
	assert_int_equal(open_pkt(r, &p), UDP_ESEAL_REPLAY);
	seal_free(back);
	seal_free(r);
}

/* Eviction is least-recently-used, and only authenticated packets count
 * as use: a flood of forged session ids evicts nobody. */
static void session_table_lru(void **state)
{
	(void)state;
	uint8_t sa[16], sb[16], sc[16];
	sid_of(sa, 1), sid_of(sb, 2), sid_of(sc, 3);
	struct seal *r = mk_cfg(0, SID_R, 0, 2);
	struct seal *a = mk(sa, 10), *b = mk(sb, 10), *c = mk(sc, 10);
	struct pkt a1 = seal_msg(a, "a"), b1 = seal_msg(b, "b"), a2 = seal_msg(a, "a");
	assert_int_equal(open_pkt(r, &a1), 1);
	assert_int_equal(open_pkt(r, &b1), 1);
	assert_int_equal(open_pkt(r, &a2), 1);
	for (int i = 0; i < 1000; i++) {
		struct pkt f = a2;
		f.b[8] = (uint8_t)i, f.b[9] = (uint8_t)(i >> 8), f.b[10] = 0x99;
		fix_wire_id(f.b);
		assert_int_equal(open_pkt(r, &f), UDP_ESEAL_AUTH);
	}
	assert_int_equal(open_pkt(r, &b1), UDP_ESEAL_REPLAY); /* b still there */
	struct pkt c1 = seal_msg(c, "c");
	assert_int_equal(open_pkt(r, &c1), 1); /* evicts b, used before a2 */
	assert_int_equal(open_pkt(r, &a1), UDP_ESEAL_REPLAY);
	assert_int_equal(open_pkt(r, &b1), UDP_ESEAL_OLD);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.sessions_evicted == 1 && st.sessions == 2);
	seal_free(a);
	seal_free(b);
	seal_free(c);
	seal_free(r);
}

static void address_change_reported(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt *v = seal_many(s, 3);
	uint8_t out[16];
	struct seal_info info;
	assert_int_equal(seal_open(r, v[0].b, (size_t)v[0].n, "A", 1, out, sizeof out, &info), 1);
	assert_true(info.new_session && !info.addr_changed);
	assert_int_equal(seal_open(r, v[1].b, (size_t)v[1].n, "A", 1, out, sizeof out, &info), 1);
	assert_true(!info.new_session && !info.addr_changed);
	/* a replay from a new address neither passes nor counts as a move */
	assert_int_equal(seal_open(r, v[1].b, (size_t)v[1].n, "B", 1, out, sizeof out, &info),
			 UDP_ESEAL_REPLAY);
	assert_int_equal(seal_open(r, v[2].b, (size_t)v[2].n, "B", 1, out, sizeof out, &info), 1);
	assert_true(info.addr_changed && info.counter == 2);
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.addr_changes == 1);
	free(v);
	seal_free(s);
	seal_free(r);
}

/* Seeded garbage, half of it with a valid-looking header: never accepted,
 * never a crash or an overread (run under ASan by make asan-check). */
static void garbage_never_accepted(void **state)
{
	(void)state;
	struct seal *s = mk(SID_S, 0), *r = mk(SID_R, 0);
	struct pkt real = seal_msg(s, "template");
	uint32_t seed = 777;
	uint8_t out[256];
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 8) % 120;
		uint8_t *b = malloc(len ? len : 1);
		assert_non_null(b);
		for (size_t j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			b[j] = (uint8_t)(seed >> 16);
		}
		if (i & 1) /* keep a genuine header, randomise the rest */
			memcpy(b, real.b, len < 32 ? len : 32);
		int rc = seal_open(r, b, len, NULL, 0, out, sizeof out, NULL);
		assert_true(rc < 0);
		free(b);
	}
	struct seal_stats st;
	seal_get_stats(r, &st);
	assert_true(st.opened == 0 && st.sessions == 0);
	assert_int_equal(open_pkt(r, &real), 8);
	seal_free(s);
	seal_free(r);
}

static void api_misuse(void **state)
{
	(void)state;
	struct seal *s;
	struct seal_config c;
	seal_config_default(&c);
	assert_int_equal(seal_new(&s, NULL, &c), UDP_EINVAL);
	uint8_t kb[32] = {0};
	struct seal_key *k;
	assert_int_equal(seal_key_from_bytes(&k, kb), 0);
	c.max_sessions = 0;
	assert_int_equal(seal_new(&s, k, &c), UDP_EINVAL);
	assert_int_equal(seal_new(&s, k, NULL), 0);
	seal_key_free(k);
	seal_free(s);
	seal_free(NULL);
	for (int code = -150; code >= -199; code--)
		assert_non_null(udpkit_strerror(code));
	assert_string_equal(udpkit_strerror(UDP_ESEAL_AUTH),
			    "sealed packet failed authentication (corrupt or forged)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_and_header),
		cmocka_unit_test(empty_plaintext),
		cmocka_unit_test(known_answer),
		cmocka_unit_test(wire_key_id_per_session),
		cmocka_unit_test(fork_starts_a_new_session),
		cmocka_unit_test(every_bit_flip_rejected),
		cmocka_unit_test(every_truncation_rejected),
		cmocka_unit_test(wrong_key_is_wrongkey),
		cmocka_unit_test(downgrade_and_plaintext_rejected),
		cmocka_unit_test(reflection_dropped),
		cmocka_unit_test(output_buffers_checked),
		cmocka_unit_test(replay_exact),
		cmocka_unit_test(replay_window_order),
		cmocka_unit_test(replay_window_cases),
		cmocka_unit_test(replay_window_jumps),
		cmocka_unit_test(replay_window_shuffled),
		cmocka_unit_test(counter_edges),
		cmocka_unit_test(forged_huge_counter_does_not_move_window),
		cmocka_unit_test(restarts),
		cmocka_unit_test(nonce_unique_across_senders),
		cmocka_unit_test(clock_counter_start),
		cmocka_unit_test(session_table_flood),
		cmocka_unit_test(session_table_lru),
		cmocka_unit_test(address_change_reported),
		cmocka_unit_test(garbage_never_accepted),
		cmocka_unit_test(api_misuse),
	};
	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
