/* rel_ident_seal.c - SEALED packets of an identity session (docs/PROTOCOL.md
 * section 9.2): the explicit counter and its replay window, and the key
 * phases (Noise Rekey, one bit on the wire). */
#include <string.h>

#include "udp_err.h"
#include "rel.h"
#include "rel_ident.h"
#include "rel_ident_int.h"
#include "rel_wire.h"
#include "seal_noise.h"
#include "seal_replay.h"

/* The key of the peer's phase i + 1 turns ahead of rx, made on a copy the
 * first time a packet needs it and kept while that phase has not begun:
 * forged phase bits then cost a trial decrypt or two each and at most
 * RI_AHEAD allocations per session, once.  (Not made ahead of need: a
 * guarded allocation costs about what a handshake's DH does.) */
static int make_ahead(struct rel_ident_sess *s, int i)
{
	for (int k = 0; k <= i; k++) {
		if (s->rx_ahead[k])
			continue;
		int rc = seal_noise_cipher_clone(&s->rx_ahead[k], k ? s->rx_ahead[k - 1] : s->rx);
		if (rc == 0)
			rc = seal_noise_rekey(s->rx_ahead[k]);
		if (rc < 0) {
			seal_noise_cipher_free(s->rx_ahead[k]);
			s->rx_ahead[k] = NULL;
			return rc;
		}
	}
	return 0;
}

int rel_ident_sess_keyed(struct rel_ident *ri, struct rel_ident_sess *s,
			 struct seal_noise_cipher *tx, struct seal_noise_cipher *rx,
			 uint64_t now_us)
{
	(void)ri;
	s->tx = tx;
	s->rx = rx;
	s->rx_prev = NULL;
	for (int i = 0; i < RI_AHEAD; i++)
		s->rx_ahead[i] = NULL;
	s->tx_ctr = 0;
	s->tx_phase_pkts = 0;
	s->tx_phase_us = now_us;
	s->tx_phase = s->rx_phase = 0;
	seal_replay_init(&s->replay);
	s->keyed = 1;
	return 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The send key turns over in place: the old one is gone at once (forward
 * secrecy within a session), and the peer follows on the flipped bit. */
static int maybe_turn(struct rel_ident *ri, struct rel_ident_sess *s, uint64_t now_us)
{
	int by_count = s->tx_phase_pkts >= ri->rekey_after_pkts;
	int by_time = s->tx_phase_pkts > 0 && now_us >= s->tx_phase_us &&
		      now_us - s->tx_phase_us >= ri->rekey_after_us;
	if (!by_count && !by_time)
		return 0;
	int rc = seal_noise_rekey(s->tx);
	if (rc < 0)
		return rc;
	s->tx_phase ^= 1;
	s->tx_phase_pkts = 0;
	s->tx_phase_us = now_us;
	s->peer.rekeys_sent++;
	ri->stats.rekeys++;
	return 0;
}

int rel_ident_seal(void *ctx, void *sess, const uint8_t *pkt, size_t len, uint8_t *out,
		   size_t cap, uint64_t now_us)
{
	struct rel_ident *ri = ctx;
	struct rel_ident_sess *s = sess;
	if (!ri || !s || !pkt || !out)
		return UDP_EINVAL;
	if (!s->keyed)
		return REL_ENOTCONN;
	if (len < REL_HDR_LEN)
		return REL_EMALFORMED;
	if (len > SEAL_NOISE_PAYLOAD_MAX)
		return REL_ETOOBIG;
	if (cap < len + RI_OVERHEAD)
		return UDP_ENOSPACE;
	if (s->tx_ctr == UINT64_MAX)
		return UDP_ESEAL_COUNTER;
	int rc = maybe_turn(ri, s, now_us);
	if (rc < 0)
		return rc;
	out[0] = REL_MAGIC;
	out[1] = REL_VERSION;
	out[2] = RI_SEALED;
	out[3] = (uint8_t)(s->tx_phase ? RI_F_PHASE : 0);
	memcpy(out + 4, pkt + 4, 8); /* dst and src sid, as the inner packet's */
	put_be64(out + 12, s->tx_ctr);
	rc = seal_noise_encrypt(s->tx, s->tx_ctr, out, RI_HDR, pkt, len, out + RI_HDR,
				cap - RI_HDR);
	if (rc < 0)
		return rc;
	s->tx_ctr++;
	s->tx_phase_pkts++;
	return RI_HDR + rc;
}

/* Decrypts with c and checks the inner packet is addressed as the outer
 * one; on failure out holds nothing. */
static int try_open(const struct seal_noise_cipher *c, uint64_t ctr, const uint8_t *in,
		    size_t len, uint8_t *out, size_t cap)
{
	int n = seal_noise_decrypt(c, ctr, in, RI_HDR, in + RI_HDR, len - RI_HDR, out, cap);
	if (n < 0)
		return n;
	if ((size_t)n < REL_HDR_LEN || memcmp(out + 4, in + 4, 8) != 0) {
		memset(out, 0, (size_t)n);
		return REL_EMALFORMED;
	}
	return n;
}

/* A packet of the peer's phase i + 1 turns ahead authenticated: that key
 * becomes rx, the one before it rx_prev (late packets), older ones go. */
static void advance(struct rel_ident *ri, struct rel_ident_sess *s, int i)
{
	seal_noise_cipher_free(s->rx_prev);
	s->rx_prev = i ? s->rx_ahead[i - 1] : s->rx;
	if (i)
		seal_noise_cipher_free(s->rx);
	for (int k = 0; k < i - 1; k++)
		seal_noise_cipher_free(s->rx_ahead[k]);
	s->rx = s->rx_ahead[i];
	for (int k = 0; k < RI_AHEAD; k++)
		s->rx_ahead[k] = k + i + 1 < RI_AHEAD ? s->rx_ahead[k + i + 1] : NULL;
	s->rx_phase ^= (i + 1) & 1;
	s->peer.rekeys_recv += (uint64_t)i + 1;
	ri->stats.rekeys += (uint64_t)i + 1;
}

/* A packet that rx does not open: a late one under the previous key, or
 * one of a later phase of the peer's (the next, or one after phases of
 * which nothing arrived).  Only the keys whose phase bit matches are
 * tried.  A key ahead becomes the current one only once a packet
 * authenticated under it, so forged phase bits change nothing. */
static int open_other_key(struct rel_ident *ri, struct rel_ident_sess *s, int phase,
			  uint64_t ctr, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	int n = REL_EAUTH;
	if (phase != s->rx_phase && s->rx_prev) {
		n = try_open(s->rx_prev, ctr, in, len, out, cap);
		if (n >= 0)
			return n;
	}
	/* rx_ahead[i] is phase bit rx_phase ^ ((i + 1) & 1) */
	for (int i = phase != s->rx_phase ? 0 : 1; i < RI_AHEAD; i += 2) {
		int rc = make_ahead(s, i);
		if (rc < 0)
			return rc;
		n = try_open(s->rx_ahead[i], ctr, in, len, out, cap);
		if (n >= 0) {
			advance(ri, s, i);
			return n;
		}
	}
	return n;
}

int rel_ident_open(void *ctx, void *sess, const uint8_t *in, size_t len, uint8_t *out,
		   size_t cap, uint64_t now_us)
{
	(void)now_us;
	struct rel_ident *ri = ctx;
	struct rel_ident_sess *s = sess;
	if (!ri || !s || !in || !out)
		return UDP_EINVAL;
	if (!s->keyed)
		return REL_ENOTCONN;
	if (len < RI_OVERHEAD + REL_HDR_LEN || in[0] != REL_MAGIC || in[1] != REL_VERSION ||
	    in[2] != RI_SEALED || (in[3] & ~RI_F_PHASE) || len - RI_HDR > SEAL_NOISE_MSG_MAX) {
		ri->stats.drop_auth++;
		return REL_EMALFORMED;
	}
	if (cap < len - RI_OVERHEAD)
		return UDP_ENOSPACE;
	uint64_t ctr = get_be64(in + 12);
	/* Read-only first: only an authentic packet may move the window. */
	if (seal_replay_check(&s->replay, ctr) != 0) {
		ri->stats.drop_replay++;
		return REL_EAUTH;
	}
	int phase = in[3] & RI_F_PHASE;
	int n = phase == s->rx_phase ? try_open(s->rx, ctr, in, len, out, cap) : REL_EAUTH;
	if (n < 0) {
		/* authentic under rx but addressed wrong says more than a
		 * failure under keys ahead */
		int m = open_other_key(ri, s, phase, ctr, in, len, out, cap);
		if (m >= 0 || n != REL_EMALFORMED)
			n = m;
	}
	if (n < 0) {
		ri->stats.drop_auth++;
		return n == REL_EMALFORMED ? n : REL_EAUTH;
	}
	seal_replay_commit(&s->replay, ctr);
	return n;
}
