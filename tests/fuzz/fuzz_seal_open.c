/* fuzz_seal_open.c - seal_open on attacker bytes, with a fixed key.
 *
 * Byte 0 picks the mode:
 * - raw (bit 0 clear): the rest is the packet.  It must be refused unless
 *   it is byte for byte a reference packet sealed at start-up (an
 *   attacker producing a valid tag is not something a fuzzer does);
 * - structured (bit 0 set): the reference packet of suite xchacha20
 *   (bit 2 clear) or aes256gcm (bit 2 set, on a CPU with AES-NI), XORed
 *   with the rest of the input (input bytes past its end are appended;
 *   with bit 1 set the packet is first cut short by byte 0 >> 3 bytes).
 *   It must be accepted exactly when the result is the reference itself,
 *   i.e. the mutation is all zero: every header bit is authenticated.
 * Either way, afterwards the genuine reference packet must still be
 * accepted (a refused packet changes nothing but drop counters: no window
 * moves, no session appears), or be a replay if it was just accepted.
 * Every call starts from a new receiver, so a run depends on its input
 * only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "seal_key.h"
#include "seal.h"

#define check(c) do { if (!(c)) abort(); } while (0)

static const uint8_t key_bytes[SEAL_KEY_BYTES] = "udpkit fuzz key, never a secret";
static const uint8_t sid_sender[SEAL_SESSION_BYTES] = "fuzz sender sid";
static const uint8_t sid_receiver[SEAL_SESSION_BYTES] = "fuzz recver sid";
static const char plaintext[] = "sealed by fuzz_seal_open";
static struct seal_key *key;
/* [0]: xchacha20, [1]: aes256gcm (a copy of [0] without AES-NI) */
static uint8_t refs[2][sizeof plaintext + SEAL_OVERHEAD];
static size_t ref_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct seal *s;
	struct seal_config c;
	(void)argc;
	(void)argv;
	check(seal_key_from_bytes(&key, key_bytes) == 0);
	for (int i = 0; i < 2; i++) {
		seal_config_default(&c);
		c.session_id = sid_sender;
		c.first_counter = 1000;
		c.suite = i && seal_suite_available(SEAL_AES256GCM) ?
			  SEAL_AES256GCM : SEAL_XCHACHA20;
		check(seal_new(&s, key, &c) == 0);
		int n = seal_seal(s, plaintext, sizeof plaintext, refs[i], sizeof refs[i]);
		check(n == (int)sizeof refs[i]);
		ref_len = (size_t)n;
		seal_free(s);
	}
	return 0;
}

static struct seal *receiver(void)
{
	struct seal *r;
	struct seal_config c;
	seal_config_default(&c);
	c.session_id = sid_receiver;
	c.first_counter = 1;
	c.max_sessions = 4;  /* small tables: cheap to make per input */
	c.floor_buckets = 4;
	check(seal_new(&r, key, &c) == 0);
	return r;
}

static int is_ref(const uint8_t *pkt, size_t len)
{
	return len == ref_len &&
	       (memcmp(pkt, refs[0], ref_len) == 0 || memcmp(pkt, refs[1], ref_len) == 0);
}

/* Opens pkt; returns the result after checking what an accept means. */
static int open_one(struct seal *r, const uint8_t *pkt, size_t len)
{
	/* a buffer of exactly the size a caller would give */
	size_t cap = len > SEAL_OVERHEAD ? len - SEAL_OVERHEAD : 0;
	uint8_t *out = malloc(cap ? cap : 1);
	struct seal_info info;
	static const char from[] = "peer";
	check(out);
	int rc = seal_open(r, pkt, len, from, sizeof from, out, cap, &info);
	if (rc >= 0) {
		check(is_ref(pkt, len));
		check(rc == (int)sizeof plaintext && memcmp(out, plaintext, sizeof plaintext) == 0);
		check(info.counter == 1000 && memcmp(info.session_id, sid_sender, sizeof sid_sender) == 0);
	} else {
		check((rc >= UDP_ESEAL_EXHAUSTED && rc <= UDP_ESEAL_PLAINTEXT) ||
		      rc == UDP_ESEAL_SUITE);
	}
	free(out);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *m = data + 1;
	size_t mlen = size - 1, len;
	uint8_t *pkt;
	const uint8_t *ref = refs[(mode >> 2) & 1];
	if (mode & 1) {
		len = ref_len;
		if (mode & 2)
			len = (size_t)(mode >> 3) < len ? len - (mode >> 3) : 0;
		if (!(mode & 2) && mlen > len)
			len = mlen;
		pkt = malloc(len ? len : 1);
		check(pkt);
		memcpy(pkt, ref, len < ref_len ? len : ref_len);
		for (size_t i = 0; i < mlen && i < len; i++)
			pkt[i] = i < ref_len ? pkt[i] ^ m[i] : m[i];
	} else {
		len = mlen;
		pkt = malloc(len ? len : 1);
		check(pkt);
		memcpy(pkt, m, len);
	}
	int genuine = is_ref(pkt, len);

	struct seal *r = receiver();
	struct seal_stats st;
	(void)seal_looks_sealed(pkt, len);
	int rc = open_one(r, pkt, len);
	check((rc >= 0) == genuine);
	/* the forgery moved nothing: the real packet still gets in */
	rc = open_one(r, ref, ref_len);
	check(genuine ? rc == UDP_ESEAL_REPLAY : rc == (int)sizeof plaintext);
	seal_get_stats(r, &st);
	check(st.opened == 1 && st.sessions == 1 && st.sessions_created == 1);
	seal_free(r);
	free(pkt);
	return 0;
}
