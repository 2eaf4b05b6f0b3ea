/* seal.c - sealed datagrams and the per-sender session table.
 * Format and receive order: see seal.h and docs/SEALING.md.
 *
 * Both suites key each packet from (group key, session id), which stays
 * the same for a whole session, so that per-session key is computed once
 * and cached: for the sending session, and in each receiving session's
 * table slot.  xchacha20 caches HChaCha20(seal key, session id) - the
 * subkey XChaCha20-Poly1305 derives inside every call - and then runs
 * ChaCha20-Poly1305 (IETF) with nonce 0^4 || counter, which is
 * XChaCha20-Poly1305 with nonce (session id, counter) byte for byte (the
 * known-answer test checks it against the one-call form).  aes256gcm
 * caches the expanded AES key and GHASH powers (crypto_aead_aes256gcm_state,
 * 512 bytes).  The cache lives in sodium_malloc memory, a slot is
 * overwritten when its session is evicted, and all is wiped on free.
 *
 * The key id on the wire is per session too (wire_key_id): a receiver
 * checks it only for a session it does not know yet, once the table
 * lookup - needed anyway for the replay window - found nothing, so the
 * per-packet cost of known sessions stays a 4-byte compare. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_replay.h"
#include "seal.h"
#include "udp_wire.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define NONCE12 12 /* ChaCha20-Poly1305 IETF and AES-GCM: 0^4 || counter */
#define SUITE_OF(flags) \
	((flags) & SEAL_FLAG_AES256GCM ? SEAL_AES256GCM : SEAL_XCHACHA20)

/* The per-session key of either suite: 512 bytes, 16-aligned. */
union suite_key {
	crypto_aead_aes256gcm_state gcm;
	uint8_t chacha[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
};

/* Everything secret, in one sodium_malloc block: the two root subkeys,
 * then one suite_key per table slot, ours, and a scratch for packets
 * whose session has no cached key yet (new, or another suite). */
struct secrets {
	uint8_t xkey[crypto_aead_xchacha20poly1305_ietf_KEYBYTES]; /* subkey 1 */
	uint8_t groot[32];                                          /* subkey 4 */
	uint8_t idkey[32];     /* subkey 3 at 32 bytes: the wire key ids' key */
	union suite_key k[]; /* [0, max): sessions; [max]: ours; [max + 1]: scratch */
};

struct session {
	uint8_t sid[SEAL_SESSION_BYTES];
	uint64_t hash;      /* keyed hash of sid: chain and floor bucket */
	uint64_t used;      /* LRU tick of the last accepted packet */
	uint64_t addr_hash; /* keyed hash of the last source address */
	int32_t next;       /* hash chain, -1 ends */
	uint32_t wire_id;   /* its key id on the wire (wire_key_id of sid) */
	int has_addr;
	int suite;          /* suite of the cached key in the secrets slot */
	struct seal_replay win;
};

struct seal {
	struct secrets *sec; /* sodium_malloc */
	unsigned gen;        /* fork_gen when our session started */
	uint64_t first;      /* cfg->first_counter: how a new session starts */
	uint64_t sess_sealed, gcm_max; /* packets in this session; aes256gcm's limit */
	size_t sec_size;
	int suite, gcm_ok;   /* what we send; whether aes256gcm can be used */
	uint32_t key_id;     /* for people: seal_key_id() */
	uint32_t wire_id;    /* in our headers: wire_key_id(our session id) */
	uint8_t sid[SEAL_SESSION_BYTES];
	uint64_t next_counter;
	uint8_t hkey[crypto_shorthash_KEYBYTES]; /* random, not secret-critical */

	struct session *sess; /* slots 0..nsess-1 in use */
	size_t max, nsess;
	int32_t *heads;       /* hash chain heads, nheads a power of two */
	size_t nheads;
	uint64_t *floors;     /* eviction floor sketch: counters below are old */
	size_t nfloors;
	uint64_t tick;
	int32_t last;         /* session of the last accepted packet, or -1 */
	/* The last source address and its keyed hash: a peer's packets come
	 * from one address, so most need no hash. */
	uint8_t last_from[128];
	size_t last_fromlen;  /* 0: none */
	uint64_t last_ah;
	struct seal_stats st;
};

/* A forked child holds our session id and counter: if both processes went
 * on sealing, they would encrypt different packets under the same nonces.
 * So every child bumps this generation (pthread_atfork, registered once),
 * and seal_seal() - one compare per packet - starts a new session in a
 * process whose generation moved. */
static unsigned fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_rc;

static void in_forked_child(void)
{
	__atomic_add_fetch(&fork_gen, 1, __ATOMIC_RELAXED);
}

static void register_atfork(void)
{
	atfork_rc = pthread_atfork(NULL, NULL, in_forked_child);
}

void seal_config_default(struct seal_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_sessions = 256;
	cfg->floor_buckets = 4096;
	cfg->first_counter = SEAL_COUNTER_CLOCK;
	cfg->aes256gcm_max_packets = SEAL_AES256GCM_MAX_PACKETS;
}

int seal_suite_available(int suite)
{
	if (suite == SEAL_XCHACHA20)
		return 1;
	return suite == SEAL_AES256GCM && sodium_init() >= 0 &&
	       crypto_aead_aes256gcm_is_available();
}

int seal_suite_parse(const char *name)
{
	if (name && !strcmp(name, "xchacha20"))
		return SEAL_XCHACHA20;
	if (name && !strcmp(name, "aes256gcm"))
		return SEAL_AES256GCM;
	return UDP_EINVAL;
}

const char *seal_suite_name(int suite)
{
	return suite == SEAL_AES256GCM ? "aes256gcm" : "xchacha20";
}

/* The per-session key of `suite` for session id sid, into *k. */
static void session_key(const struct seal *s, int suite, const uint8_t *sid,
			union suite_key *k)
{
	if (suite == SEAL_XCHACHA20) {
		crypto_core_hchacha20(k->chacha, sid, s->sec->xkey, NULL);
		return;
	}
	/* Keyed BLAKE2b is a PRF: distinct session ids give independent
	 * AES keys under a root that nothing else uses (docs/SEALING.md). */
	static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "udpkit gcm sess";
	uint8_t sk[crypto_aead_aes256gcm_KEYBYTES];
	crypto_generichash_blake2b_salt_personal(sk, sizeof sk, sid, SEAL_SESSION_BYTES,
						 s->sec->groot, sizeof s->sec->groot, NULL,
						 personal);
	crypto_aead_aes256gcm_beforenm(&k->gcm, sk);
	sodium_memzero(sk, sizeof sk);
}

/* The key id a session's packets carry: a keyed hash of its id under
 * subkey 3, so that it names the key only to those who hold it.  Seen
 * from outside it is random per session: it neither links the sessions of
 * one group nor lets a table of passphrase guesses be checked by lookup
 * (every guess must be hashed with each captured session id). */
static uint32_t wire_key_id(const struct seal *s, const uint8_t *sid)
{
	static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "udpkit key id";
	uint8_t h[crypto_generichash_blake2b_BYTES_MIN];
	struct udp_wire_reader r;
	crypto_generichash_blake2b_salt_personal(h, sizeof h, sid, SEAL_SESSION_BYTES,
						 s->sec->idkey, sizeof s->sec->idkey, NULL,
						 personal);
	udp_wire_reader_init(&r, h, sizeof h);
	return udp_wire_get_u32(&r);
}

static uint64_t clock_counter(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Our sending session from here on: id (random unless given), its
 * cached key and its key id. */
static void start_session(struct seal *s, const uint8_t *sid)
{
	if (sid)
		memcpy(s->sid, sid, sizeof s->sid);
	else
		randombytes_buf(s->sid, sizeof s->sid);
	session_key(s, s->suite, s->sid, &s->sec->k[s->max]);
	s->wire_id = wire_key_id(s, s->sid);
	s->sess_sealed = 0;
}

/* In a forked child: a new session id and the counter started again as
 * seal_new() would (never below where it was, with the clock start).
 * The parent keeps its session; the two never share a nonce. */
static void restart_after_fork(struct seal *s)
{
	s->gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	start_session(s, NULL);
	if (s->first == SEAL_COUNTER_CLOCK) {
		uint64_t c = clock_counter();
		if (c > s->next_counter)
			s->next_counter = c;
	} else {
		s->next_counter = s->first;
	}
}

int seal_new(struct seal **out, const struct seal_key *key,
		 const struct seal_config *cfg)
{
	struct seal_config def;
	if (!out || !key)
		return UDP_EINVAL;
	*out = NULL;
	if (!cfg) {
		seal_config_default(&def);
		cfg = &def;
	}
	if (cfg->max_sessions < 1 || cfg->max_sessions > SEAL_MAX_SESSIONS ||
	    cfg->floor_buckets < 1 || cfg->floor_buckets > (1u << 24) ||
	    (cfg->suite != SEAL_XCHACHA20 && cfg->suite != SEAL_AES256GCM))
		return UDP_EINVAL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	if (pthread_once(&atfork_once, register_atfork) != 0 || atfork_rc != 0)
		return UDP_ENOMEM; /* pthread_atfork fails only for memory */
	int gcm_ok = !cfg->no_aes256gcm && seal_suite_available(SEAL_AES256GCM);
	if (cfg->suite == SEAL_AES256GCM && !gcm_ok)
		return UDP_ESEAL_SUITE;
	struct seal *s = calloc(1, sizeof *s);
	if (!s)
		return UDP_ENOMEM;
	s->max = cfg->max_sessions;
	s->suite = cfg->suite;
	s->gcm_ok = gcm_ok;
	s->last = -1;
	s->nheads = 1;
	while (s->nheads < 2 * s->max)
		s->nheads *= 2;
	s->nfloors = cfg->floor_buckets;
	s->sec_size = sizeof *s->sec + (s->max + 2) * sizeof(union suite_key);
	s->sec = sodium_malloc(s->sec_size);
	s->sess = calloc(s->max, sizeof *s->sess);
	s->heads = malloc(s->nheads * sizeof *s->heads);
	s->floors = calloc(s->nfloors, sizeof *s->floors);
	if (!s->sec || !s->sess || !s->heads || !s->floors) {
		seal_free(s);
		return UDP_ENOMEM;
	}
	for (size_t i = 0; i < s->nheads; i++)
		s->heads[i] = -1;
	int rc = seal_key_subkey(key, SEAL_KEY_SUB_SEAL, s->sec->xkey, sizeof s->sec->xkey);
	if (rc == 0)
		rc = seal_key_subkey(key, SEAL_KEY_SUB_SEAL_GCM, s->sec->groot, sizeof s->sec->groot);
	if (rc == 0)
		rc = seal_key_subkey(key, SEAL_KEY_SUB_KEYID, s->sec->idkey, sizeof s->sec->idkey);
	if (rc < 0) {
		seal_free(s);
		return rc;
	}
	s->key_id = seal_key_id(key);
	s->gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	s->first = cfg->first_counter;
	s->gcm_max = cfg->aes256gcm_max_packets ? cfg->aes256gcm_max_packets :
		     SEAL_AES256GCM_MAX_PACKETS;
	start_session(s, cfg->session_id);
	randombytes_buf(s->hkey, sizeof s->hkey);
	s->next_counter = cfg->first_counter == SEAL_COUNTER_CLOCK ?
			  clock_counter() : cfg->first_counter;
	*out = s;
	return 0;
}

void seal_free(struct seal *s)
{
	if (!s)
		return;
	if (s->sec) {
		sodium_memzero(s->sec, s->sec_size);
		sodium_free(s->sec);
	}
	free(s->sess);
	free(s->heads);
	free(s->floors);
	sodium_memzero(s, sizeof *s);
	free(s);
}

int seal_seal(struct seal *s, const void *pt, size_t len, void *out, size_t cap)
{
	if (!s || (!pt && len) || !out)
		return UDP_EINVAL;
	if (cap < SEAL_OVERHEAD || len > cap - SEAL_OVERHEAD || len > INT32_MAX)
		return UDP_ENOSPACE;
	if (__builtin_expect(s->gen != __atomic_load_n(&fork_gen, __ATOMIC_RELAXED), 0))
		restart_after_fork(s);
	/* aes256gcm's usage limit: a new session is a new key (the counter
	 * just goes on) */
	if (s->suite == SEAL_AES256GCM && s->sess_sealed >= s->gcm_max)
		start_session(s, NULL);
	if (s->next_counter == UINT64_MAX)
		return UDP_ESEAL_EXHAUSTED;
	struct udp_wire_writer w, nw;
	udp_wire_writer_init(&w, out, cap);
	udp_wire_put_u16(&w, SEAL_MAGIC);
	udp_wire_put_u8(&w, SEAL_VERSION);
	udp_wire_put_u8(&w, SEAL_FLAG_SEALED |
			    (s->suite == SEAL_AES256GCM ? SEAL_FLAG_AES256GCM : 0));
	udp_wire_put_u32(&w, s->wire_id);
	uint8_t *nonce = udp_wire_put_ptr(&w, NONCE_BYTES);
	uint8_t *ct = udp_wire_put_ptr(&w, len + SEAL_TAG);
	if (!nonce || !ct || udp_wire_writer_error(&w))
		return UDP_ENOSPACE;
	/* session id || counter, written in place as header bytes 8..31 */
	udp_wire_writer_init(&nw, nonce, NONCE_BYTES);
	udp_wire_put_bytes(&nw, s->sid, sizeof s->sid);
	udp_wire_put_u64(&nw, s->next_counter);
	uint8_t n12[NONCE12] = { 0 };
	memcpy(n12 + 4, nonce + SEAL_SESSION_BYTES, 8);
	const union suite_key *k = &s->sec->k[s->max];
	if (s->suite == SEAL_AES256GCM)
		crypto_aead_aes256gcm_encrypt_afternm(ct, NULL, pt, len, out, SEAL_HEADER,
						      NULL, n12, &k->gcm);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, len, out, SEAL_HEADER,
							  NULL, n12, k->chacha);
	s->next_counter++;
	s->sess_sealed++;
	s->st.sealed++;
	return (int)udp_wire_written(&w);
}

static uint64_t keyed_hash(const struct seal *s, const void *p, size_t n)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct udp_wire_reader r;
	crypto_shorthash(h, p, n, s->hkey);
	udp_wire_reader_init(&r, h, sizeof h);
	return udp_wire_get_u64(&r);
}

static size_t floor_bucket(const struct seal *s, uint64_t hash)
{
	return (size_t)((hash >> 32) % s->nfloors);
}

static struct session *lookup(struct seal *s, const uint8_t *sid, uint64_t hash)
{
	for (int32_t i = s->heads[hash & (s->nheads - 1)]; i >= 0; i = s->sess[i].next)
		if (memcmp(s->sess[i].sid, sid, SEAL_SESSION_BYTES) == 0)
			return &s->sess[i];
	return NULL;
}

/* Evicts the least recently used session, remembering its top counter in
 * the floor sketch so that it can never be re-created below it. */
static size_t evict_lru(struct seal *s)
{
	size_t v = 0;
	for (size_t i = 1; i < s->nsess; i++)
		if (s->sess[i].used < s->sess[v].used)
			v = i;
	struct session *e = &s->sess[v];
	int32_t *link = &s->heads[e->hash & (s->nheads - 1)];
	while (*link != (int32_t)v)
		link = &s->sess[*link].next;
	*link = e->next;
	uint64_t *f = &s->floors[floor_bucket(s, e->hash)];
	if (e->win.started && e->win.top + 1 > *f)
		*f = e->win.top + 1; /* top < 2^64-1, so no overflow */
	s->st.sessions_evicted++;
	return v;
}

/* A new session, with the key that just opened its packet (in scratch). */
static struct session *create(struct seal *s, const uint8_t *sid, uint64_t hash,
			      int suite, uint32_t wire_id)
{
	size_t i = s->nsess < s->max ? s->nsess++ : evict_lru(s);
	struct session *e = &s->sess[i];
	memcpy(e->sid, sid, sizeof e->sid);
	memcpy(&s->sec->k[i], &s->sec->k[s->max + 1], sizeof s->sec->k[i]);
	e->suite = suite;
	e->wire_id = wire_id;
	e->hash = hash;
	e->has_addr = 0;
	e->addr_hash = 0;
	seal_replay_init_floor(&e->win, s->floors[floor_bucket(s, hash)]);
	int32_t *head = &s->heads[hash & (s->nheads - 1)];
	e->next = *head;
	*head = (int32_t)i;
	s->st.sessions_created++;
	return e;
}

static int drop(uint64_t *counter, int rc)
{
	(*counter)++;
	return rc;
}

int seal_open(struct seal *s, const void *pkt, size_t len,
		  const void *from, size_t fromlen, void *out, size_t cap,
		  struct seal_info *info)
{
	if (!s || (!pkt && len) || (!out && cap) || (!from && fromlen))
		return UDP_EINVAL;
	struct udp_wire_reader r, h, n;
	udp_wire_reader_init(&r, pkt, len);
	if (len >= 2 && udp_wire_get_u16(&r) != SEAL_MAGIC)
		return drop(&s->st.drop_plaintext, UDP_ESEAL_PLAINTEXT);
	if (len < SEAL_OVERHEAD)
		return drop(&s->st.drop_short, UDP_ESEAL_SHORT);

	udp_wire_reader_init(&r, pkt, len);
	const uint8_t *hdr = udp_wire_get_ptr(&r, SEAL_HEADER);
	size_t ctlen = udp_wire_remaining(&r);
	const uint8_t *ct = udp_wire_get_ptr(&r, ctlen);
	udp_wire_reader_init(&h, hdr, SEAL_HEADER);
	(void)udp_wire_get_u16(&h); /* magic, checked */
	uint8_t version = udp_wire_get_u8(&h);
	uint8_t flags = udp_wire_get_u8(&h);
	uint32_t key_id = udp_wire_get_u32(&h);
	const uint8_t *nonce = udp_wire_get_ptr(&h, NONCE_BYTES);
	udp_wire_reader_init(&n, nonce, NONCE_BYTES);
	const uint8_t *sid = udp_wire_get_ptr(&n, SEAL_SESSION_BYTES);
	uint64_t counter = udp_wire_get_u64(&n);
	if (!hdr || !ct || udp_wire_reader_error(&h) || udp_wire_reader_error(&n))
		return drop(&s->st.drop_short, UDP_ESEAL_SHORT); /* cannot happen */

	if (version != SEAL_VERSION)
		return drop(&s->st.drop_header, UDP_ESEAL_VERSION);
	if (!(flags & SEAL_FLAG_SEALED))
		return drop(&s->st.drop_plaintext, UDP_ESEAL_PLAINTEXT); /* downgrade */
	if (flags & ~(SEAL_FLAG_SEALED | SEAL_FLAG_AES256GCM))
		return drop(&s->st.drop_header, UDP_ESEAL_BADHDR);
	if (memcmp(sid, s->sid, SEAL_SESSION_BYTES) == 0)
		return drop(&s->st.drop_reflect, UDP_ESEAL_REFLECT);

	/* The session first (a peer's packets mostly follow each other, so
	 * the last one is tried before hashing): a known session's key id is
	 * remembered, only a new one's is computed. */
	struct session *e = NULL;
	uint64_t hash;
	if (s->last >= 0 && memcmp(s->sess[s->last].sid, sid, SEAL_SESSION_BYTES) == 0) {
		e = &s->sess[s->last];
		hash = e->hash;
	} else {
		hash = keyed_hash(s, sid, SEAL_SESSION_BYTES);
		e = lookup(s, sid, hash);
	}
	uint32_t want_id = e ? e->wire_id : wire_key_id(s, sid);
	if (key_id != want_id)
		return drop(&s->st.drop_wrongkey, UDP_ESEAL_WRONGKEY);
	int suite = SUITE_OF(flags);
	if (suite == SEAL_AES256GCM && !s->gcm_ok)
		return drop(&s->st.drop_suite, UDP_ESEAL_SUITE);
	if (counter == UINT64_MAX)
		return drop(&s->st.drop_header, UDP_ESEAL_COUNTER);

	/* read-only replay check */
	int rc = 0;
	if (e)
		rc = seal_replay_check(&e->win, counter);
	else if (counter < s->floors[floor_bucket(s, hash)])
		rc = UDP_ESEAL_OLD;
	if (rc == UDP_ESEAL_REPLAY)
		return drop(&s->st.drop_replay, rc);
	if (rc == UDP_ESEAL_OLD)
		return drop(&s->st.drop_old, rc);

	size_t ptlen = ctlen - SEAL_TAG;
	if (ptlen > INT32_MAX)
		return drop(&s->st.drop_short, UDP_ETOOBIG); /* no datagram is this big */
	if (ptlen > cap)
		return drop(&s->st.drop_nospace, UDP_ENOSPACE);
	/* The session's cached key, or one made in scratch (computing it is
	 * no state change: a forged packet still leaves everything as it was). */
	union suite_key *k = &s->sec->k[s->max + 1];
	if (e && e->suite == suite)
		k = &s->sec->k[e - s->sess];
	else
		session_key(s, suite, sid, k);
	uint8_t n12[NONCE12] = { 0 }, none;
	memcpy(n12 + 4, nonce + SEAL_SESSION_BYTES, 8);
	uint8_t *o = out ? out : &none; /* ptlen 0 then */
	int bad = suite == SEAL_AES256GCM ?
		  crypto_aead_aes256gcm_decrypt_afternm(o, NULL, NULL, ct, ctlen, hdr,
							SEAL_HEADER, n12, &k->gcm) :
		  crypto_aead_chacha20poly1305_ietf_decrypt(o, NULL, NULL, ct, ctlen, hdr,
							    SEAL_HEADER, n12, k->chacha);
	if (bad)
		return drop(&s->st.drop_auth, UDP_ESEAL_AUTH);

	/* authenticated: only now may state change */
	int created = 0;
	if (!e) {
		e = create(s, sid, hash, suite, want_id);
		created = 1;
	}
	seal_replay_commit(&e->win, counter);
	e->used = ++s->tick;
	s->last = (int32_t)(e - s->sess);
	int changed = 0;
	if (from) {
		uint64_t ah;
		if (fromlen == s->last_fromlen && memcmp(from, s->last_from, fromlen) == 0) {
			ah = s->last_ah;
		} else {
			ah = keyed_hash(s, from, fromlen);
			if (fromlen <= sizeof s->last_from) {
				memcpy(s->last_from, from, fromlen);
				s->last_fromlen = fromlen;
				s->last_ah = ah;
			}
		}
		if (e->has_addr && ah != e->addr_hash) {
			changed = 1;
			s->st.addr_changes++;
		}
		e->addr_hash = ah;
		e->has_addr = 1;
	}
	s->st.opened++;
	if (info) {
		memcpy(info->session_id, sid, SEAL_SESSION_BYTES);
		info->counter = counter;
		info->suite = suite;
		info->new_session = created;
		info->addr_changed = changed;
	}
	return (int)ptlen;
}

int seal_looks_sealed(const void *pkt, size_t len)
{
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, pkt, len);
	uint16_t magic = udp_wire_get_u16(&r);
	uint8_t version = udp_wire_get_u8(&r);
	return len >= SEAL_OVERHEAD && magic == SEAL_MAGIC &&
	       version == SEAL_VERSION;
}

void seal_session_id(const struct seal *s, uint8_t out[SEAL_SESSION_BYTES])
{
	memcpy(out, s->sid, SEAL_SESSION_BYTES);
}

uint64_t seal_next_counter(const struct seal *s)
{
	return s->next_counter;
}

int seal_suite(const struct seal *s)
{
	return s->suite;
}

uint32_t seal_get_key_id(const struct seal *s)
{
	return s->key_id;
}

void seal_get_stats(const struct seal *s, struct seal_stats *out)
{
	*out = s->st;
	out->sessions = s->nsess;
}
