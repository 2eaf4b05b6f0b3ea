/* fuzz_seal_open.c - udp_seal_open on attacker bytes, with a fixed key.
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
#include "udp_key.h"
#include "udp_seal.h"

#define check(c) do { if (!(c)) abort(); } while (0)

static const uint8_t key_bytes[UDP_KEY_BYTES] = "udpkit fuzz key, never a secret";
static const uint8_t sid_sender[UDP_SEAL_SESSION_BYTES] = "fuzz sender sid";
static const uint8_t sid_receiver[UDP_SEAL_SESSION_BYTES] = "fuzz recver sid";
static const char plaintext[] = "sealed by fuzz_seal_open";
static struct udp_key *key;
/* [0]: xchacha20, [1]: aes256gcm (a copy of [0] without AES-NI) */
static uint8_t refs[2][sizeof plaintext + UDP_SEAL_OVERHEAD];
static size_t ref_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct udp_seal *s;
	struct udp_seal_config c;
	(void)argc;
	(void)argv;
	check(udp_key_from_bytes(&key, key_bytes) == 0);
	for (int i = 0; i < 2; i++) {
		udp_seal_config_default(&c);
		c.session_id = sid_sender;
		c.first_counter = 1000;
		c.suite = i && udp_seal_suite_available(UDP_SEAL_AES256GCM) ?
			  UDP_SEAL_AES256GCM : UDP_SEAL_XCHACHA20;
		check(udp_seal_new(&s, key, &c) == 0);
		int n = udp_seal_seal(s, plaintext, sizeof plaintext, refs[i], sizeof refs[i]);
		check(n == (int)sizeof refs[i]);
		ref_len = (size_t)n;
		udp_seal_free(s);
	}
	return 0;
}

static struct udp_seal *receiver(void)
{
	struct udp_seal *r;
	struct udp_seal_config c;
	udp_seal_config_default(&c);
	c.session_id = sid_receiver;
	c.first_counter = 1;
	c.max_sessions = 4;  /* small tables: cheap to make per input */
	c.floor_buckets = 4;
	check(udp_seal_new(&r, key, &c) == 0);
	return r;
}

static int is_ref(const uint8_t *pkt, size_t len)
{
	return len == ref_len &&
	       (memcmp(pkt, refs[0], ref_len) == 0 || memcmp(pkt, refs[1], ref_len) == 0);
}

/* Opens pkt; returns the result after checking what an accept means. */
static int open_one(struct udp_seal *r, const uint8_t *pkt, size_t len)
{
	/* a buffer of exactly the size a caller would give */
	size_t cap = len > UDP_SEAL_OVERHEAD ? len - UDP_SEAL_OVERHEAD : 0;
	uint8_t *out = malloc(cap ? cap : 1);
	struct udp_seal_info info;
	static const char from[] = "peer";
	check(out);
	int rc = udp_seal_open(r, pkt, len, from, sizeof from, out, cap, &info);
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

	struct udp_seal *r = receiver();
	struct udp_seal_stats st;
	(void)udp_seal_looks_sealed(pkt, len);
	int rc = open_one(r, pkt, len);
	check((rc >= 0) == genuine);
	/* the forgery moved nothing: the real packet still gets in */
	rc = open_one(r, ref, ref_len);
	check(genuine ? rc == UDP_ESEAL_REPLAY : rc == (int)sizeof plaintext);
	udp_seal_get_stats(r, &st);
	check(st.opened == 1 && st.sessions == 1 && st.sessions_created == 1);
	udp_seal_free(r);
	free(pkt);
	return 0;
}
