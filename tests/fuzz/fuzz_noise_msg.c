/* fuzz_noise_msg.c - arbitrary bytes as Noise handshake message 1 (to a
 * responder) or message 2 (to an initiator that has sent message 1).
 *
 * The first byte picks: bit 0 which message, bit 1 IK or IKpsk2.  Besides
 * not crashing: a refusal is one of the handshake's codes and leaves the
 * state able to take the genuine message (reads are all-or-nothing); an
 * acceptance completes the step.  Keys and ephemerals are fixed so the
 * seeds (genuine messages) stay valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "seal_noise.h"

#define check(c) do { if (!(c)) abort(); } while (0)

static void fill(uint8_t k[32], uint8_t v)
{
	memset(k, v, 32);
}

static struct seal_noise *mk(enum seal_noise_role role, int psk)
{
	uint8_t is[32], rs[32], rpub[32], ie[32], re[32], pk[32];
	fill(is, 1);
	fill(rs, 2);
	fill(ie, 3);
	fill(re, 4);
	fill(pk, 5);
	check(seal_noise_public(rpub, rs) == 0);
	struct seal_noise_config c;
	seal_noise_config_default(&c);
	c.role = role;
	c.static_priv = role == SEAL_NOISE_INITIATOR ? is : rs;
	c.remote_static = role == SEAL_NOISE_INITIATOR ? rpub : NULL;
	c.psk = psk ? pk : NULL;
	c.prologue = (const uint8_t *)"udpkit fuzz";
	c.prologue_len = 11;
	c.test_ephemeral = role == SEAL_NOISE_INITIATOR ? ie : re;
	struct seal_noise *hs = NULL;
	check(seal_noise_new(&hs, &c) == 0);
	return hs;
}

static int refusal(int rc)
{
	return rc == UDP_ESEAL_HS_SHORT || rc == UDP_ESEAL_HS_AUTH || rc == UDP_ESEAL_HS_DH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int second = data[0] & 1, psk = (data[0] >> 1) & 1;
	size_t len = size - 1;
	uint8_t *msg = malloc(len ? len : 1); /* exact size: over-reads show */
	check(msg);
	memcpy(msg, data + 1, len);
	uint8_t out[SEAL_NOISE_MSG_MAX], m1[256], m2[256];
	struct seal_noise *i = mk(SEAL_NOISE_INITIATOR, psk), *r = mk(SEAL_NOISE_RESPONDER, psk);
	int n1 = seal_noise_write(i, (const uint8_t *)"hello", 5, m1, sizeof m1);
	check(n1 == SEAL_NOISE_MSG1_OVERHEAD + 5);
	if (!second) {
		int rc = seal_noise_read(r, msg, len, out, sizeof out);
		if (rc >= 0) {
			check((size_t)rc == len - SEAL_NOISE_MSG1_OVERHEAD);
			check(!seal_noise_done(r));
		} else {
			check(refusal(rc));
			check(seal_noise_read(r, m1, (size_t)n1, out, sizeof out) == 5);
		}
	} else {
		check(seal_noise_read(r, m1, (size_t)n1, out, sizeof out) == 5);
		int n2 = seal_noise_write(r, (const uint8_t *)"world", 5, m2, sizeof m2);
		check(n2 == SEAL_NOISE_MSG2_OVERHEAD + 5);
		int rc = seal_noise_read(i, msg, len, out, sizeof out);
		if (rc >= 0) {
			check(seal_noise_done(i));
		} else {
			check(refusal(rc));
			check(!seal_noise_done(i));
			check(seal_noise_read(i, m2, (size_t)n2, out, sizeof out) == 5);
		}
	}
	seal_noise_free(i);
	seal_noise_free(r);
	free(msg);
	return 0;
}
