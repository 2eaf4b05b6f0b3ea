/* seal.h - sealing datagrams: authenticated encryption, replay window,
 * per-sender session table.
 *
 * Drop-in at the send/receive seam of a tool:
 *     n = seal_seal(s, msg, len, pkt, sizeof pkt);        before sendto
 *     n = seal_open(s, pkt, len, &from, fromlen, msg, sizeof msg, NULL);
 *                                                            after recvfrom
 * n < 0 from open is a drop reason (UDP_ESEAL_*); it is counted in the
 * stats, the packet must be dropped silently (never answered).
 *
 * Sealed packet (all integers big-endian; details in docs/SEALING.md):
 *    0  u16  magic 0xC553
 *    2  u8   version 1
 *    3  u8   flags: bit 0 = sealed (must be 1), bit 1 = suite aes256gcm,
 *            others reserved (0)
 *    4  u32  key id of this session: the first 4 bytes of BLAKE2b-128
 *            keyed with kdf subkey SEAL_KEY_SUB_KEYID (32 bytes),
 *            personal "udpkit key id", of the session id.  Not
 *            seal_key_id() (that one is for people, never on the wire):
 *            a sniffer sees a random value per session, which neither
 *            links a group's sessions nor can be looked up in a table of
 *            passphrase guesses.
 *    8  16   session id (random per seal object; new after fork() in the
 *            child, and after SEAL_AES256GCM_MAX_PACKETS with aes256gcm)
 *   24  u64  counter (+1 per packet from a clock-based start; 2^64-1 never used)
 *   32  n    ciphertext of the n-byte plaintext
 * 32+n  16   tag
 * Suite xchacha20 (default): XChaCha20-Poly1305 (IETF) keyed with subkey
 * SEAL_KEY_SUB_SEAL; the 24-byte nonce is bytes 8..31 (session id, counter).
 * Suite aes256gcm (hosts with AES-NI): AES-256-GCM keyed with a per-session
 * key, keyed BLAKE2b of the session id under subkey SEAL_KEY_SUB_SEAL_GCM;
 * the 12-byte nonce is 4 zero bytes and the counter.  Bytes 0..31 are the
 * associated data, so every header bit is authenticated.  A receiver opens
 * both suites.
 *
 * Receive order: length and header -> reflection -> session lookup -> key
 * id (a known session's is remembered; only an unknown session's is
 * computed, one BLAKE2b) -> suite -> read-only replay check -> decrypt ->
 * commit the window (create the session).  A packet that fails to
 * authenticate changes nothing but a drop counter.
 *
 * fork(): a child that seals starts a new session (new random id, counter
 * started again) at its first seal_seal(), so parent and child never share
 * a nonce (pthread_atfork, registered by the first seal_new()).
 *
 * Seal and open never allocate: output goes to caller buffers.  One
 * seal is not thread-safe; use one per thread or lock around it. */
#ifndef SEAL_H
#define SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "seal_key.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEAL_MAGIC 0xC553
#define SEAL_VERSION 1
#define SEAL_FLAG_SEALED 0x01
#define SEAL_FLAG_AES256GCM 0x02
#define SEAL_SESSION_BYTES 16
#define SEAL_HEADER 32
#define SEAL_TAG 16
/* Sealed length = plaintext length + SEAL_OVERHEAD (48). */
#define SEAL_OVERHEAD (SEAL_HEADER + SEAL_TAG)

#define SEAL_MAX_SESSIONS (1u << 20)

/* Cipher suites (struct seal_config.suite). */
enum { SEAL_XCHACHA20 = 0, SEAL_AES256GCM = 1 };

struct seal_config {
	/* Suite of what we send (any suite is opened).  aes256gcm is faster
	 * with AES-NI; a receiver without it cannot open that suite, so the
	 * portable xchacha20 is the default. */
	int suite;                      /* default SEAL_XCHACHA20 */
	/* Act as a host without AES-NI: refuse to send aes256gcm, drop it as
	 * UDP_ESEAL_SUITE.  For tests, or a receiver that takes one suite. */
	int no_aes256gcm;
	/* Sender sessions the receiver keeps a replay window for (1 ..
	 * SEAL_MAX_SESSIONS).  When full, the least recently used one is
	 * evicted (see docs/SEALING.md for why that stays replay-safe).  Each
	 * costs about 1.1 KiB (mostly its 8128-counter replay window) plus a
	 * 512-byte key cache slot in sodium_malloc memory, which is all
	 * written at seal_new(): about 400 KiB for the default 256. */
	size_t max_sessions;            /* default 256 */
	/* Buckets of the eviction floor sketch (>= 1). */
	size_t floor_buckets;           /* default 4096 */
	/* Our sending session id; NULL = 16 random bytes (randombytes_buf).
	 * Inject a fixed one only in tests: reusing a session id with the
	 * same key repeats nonces. */
	const uint8_t *session_id;
	/* First send counter.  Default SEAL_COUNTER_CLOCK: the realtime
	 * clock in microseconds, so a sender's counters keep rising across
	 * its restarts and a receiver's eviction floors (docs/SEALING.md)
	 * stay below any newer session.  Tests set a fixed value. */
	uint64_t first_counter;
	/* aes256gcm: packets sealed under one session key at most; then the
	 * sealer turns to a new session id, i.e. a new key, which receivers
	 * take as a new session (the counter goes on).  0 = the default.
	 * Small values are for tests. */
	uint64_t aes256gcm_max_packets; /* default SEAL_AES256GCM_MAX_PACKETS */
};

/* 2^28 packets per AES-256-GCM key: with ~1.4 KB packets (2^6.5 blocks)
 * the confidentiality bound (q*l)^2 / 2^129 stays under 2^-60, and under
 * 2^-49 even for 64 KiB datagrams; far below GCM's hard limits.  At 1 M
 * packets/s, a new session every 4.5 minutes (docs/SEALING.md). */
#define SEAL_AES256GCM_MAX_PACKETS (1ull << 28)

/* first_counter value meaning "start at CLOCK_REALTIME in microseconds". */
#define SEAL_COUNTER_CLOCK UINT64_MAX

/* Drop and traffic counters, for --stats. */
struct seal_stats {
	uint64_t sealed;          /* packets sealed */
	uint64_t opened;          /* packets accepted */
	uint64_t drop_plaintext;  /* UDP_ESEAL_PLAINTEXT */
	uint64_t drop_short;      /* UDP_ESEAL_SHORT */
	uint64_t drop_header;     /* UDP_ESEAL_VERSION, UDP_ESEAL_BADHDR, UDP_ESEAL_COUNTER */
	uint64_t drop_wrongkey;   /* UDP_ESEAL_WRONGKEY */
	uint64_t drop_auth;       /* UDP_ESEAL_AUTH */
	uint64_t drop_replay;     /* UDP_ESEAL_REPLAY */
	uint64_t drop_old;        /* UDP_ESEAL_OLD */
	uint64_t drop_reflect;    /* UDP_ESEAL_REFLECT */
	uint64_t drop_nospace;    /* UDP_ENOSPACE: caller's buffer too small */
	uint64_t drop_suite;      /* UDP_ESEAL_SUITE: aes256gcm without AES-NI */
	uint64_t sessions;        /* sessions in the table now */
	uint64_t sessions_created;
	uint64_t sessions_evicted;
	uint64_t addr_changes;    /* known session seen from a new address */
};

/* What seal_open() tells about an accepted packet (optional). */
struct seal_info {
	uint8_t session_id[SEAL_SESSION_BYTES];
	uint64_t counter;
	int suite;         /* SEAL_XCHACHA20 or SEAL_AES256GCM */
	int new_session;   /* first accepted packet of this session */
	int addr_changed;  /* known session, different source address */
};

struct seal;

UDPKIT_API void seal_config_default(struct seal_config *cfg);

/* Creates a sealer/opener for `key` (the key is only read: the subkeys are
 * copied into the seal's own sodium_malloc memory, so the caller may
 * free the key right after).  cfg NULL = defaults.  UDP_ESEAL_SUITE when
 * cfg asks for aes256gcm on a host that cannot do it. */
UDPKIT_API int seal_new(struct seal **out, const struct seal_key *key,
		 const struct seal_config *cfg);
UDPKIT_API void seal_free(struct seal *s);

/* Seals plaintext pt[0..len) into out (cap >= len + SEAL_OVERHEAD;
 * pt and out must not overlap).  Returns the sealed length,
 * UDP_ENOSPACE, or UDP_ESEAL_EXHAUSTED when the counter reached 2^64-1
 * (never wraps; a new seal = a new session id starts over). */
UDPKIT_API int seal_seal(struct seal *s, const void *pt, size_t len, void *out, size_t cap);

/* Opens a received datagram into out (cap >= len - SEAL_OVERHEAD;
 * pkt and out must not overlap).  On any failure out holds nothing usable.
 * `from`/`fromlen` is the sender's address as bytes (e.g. a struct
 * sockaddr); it is only used to notice a session changing address
 * (info->addr_changed) and may be NULL.  Replay state is keyed by session
 * id alone, never by address, so spoofing another source cannot replay.
 * Returns the plaintext length or a negative drop reason. */
UDPKIT_API int seal_open(struct seal *s, const void *pkt, size_t len,
		  const void *from, size_t fromlen, void *out, size_t cap,
		  struct seal_info *info);

/* 1 if pkt starts like a sealed packet of this format (magic, version,
 * long enough), else 0.  Needs no key: lets a receiver without a key say
 * "received sealed packets but no key given". */
UDPKIT_API int seal_looks_sealed(const void *pkt, size_t len);

/* 1 if this host can seal and open `suite` (aes256gcm: AES-NI and
 * PCLMUL, as libsodium's crypto_aead_aes256gcm_is_available()). */
UDPKIT_API int seal_suite_available(int suite);
/* "xchacha20" / "aes256gcm"; UDP_EINVAL for another name. */
UDPKIT_API int seal_suite_parse(const char *name);
UDPKIT_API const char *seal_suite_name(int suite);
UDPKIT_API int seal_suite(const struct seal *s); /* the suite we send */

/* Our sending session id (16 bytes) and the next counter to be used. */
UDPKIT_API void seal_session_id(const struct seal *s, uint8_t out[SEAL_SESSION_BYTES]);
UDPKIT_API uint64_t seal_next_counter(const struct seal *s);
UDPKIT_API uint32_t seal_get_key_id(const struct seal *s);

UDPKIT_API void seal_get_stats(const struct seal *s, struct seal_stats *out);

#ifdef __cplusplus
}
#endif

#endif
