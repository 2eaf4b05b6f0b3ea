/* rel_path.c - connection migration: a session is named by its sid pair,
 * not by its peer's address, so it follows a peer whose address changed
 * (a NAT that rebinds, a host that changed interface), as RFC 9000 section
 * 9 does for QUIC.  docs/PROTOCOL.md section 4.1 has the rules.
 *
 * Only the newest packet the peer sent moves a session: a replayed or late
 * one (old sequence, old timestamp) never does, and one with the wrong sids
 * never gets here.  The session then sends to the new address at once (a
 * rebinding NAT has usually closed the old mapping) but no more than three
 * times the bytes it received from there, until the peer echoes a 64-bit
 * random token sent there (PATH_CHALLENGE / PATH_RESPONSE): so a forged
 * source cannot turn the session into an amplifier aimed at a victim.  If
 * no answer comes, the session goes back to the address it had. */
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"

/* Challenges per new address, each after the previous one's RTO doubled:
 * 7 RTOs in all before the session falls back (QUIC waits 3 PTOs). */
#define REL_PATH_TRIES 3
/* After a failed validation, packets from that address are used but do not
 * move the session for this many RTOs (a one-way path would otherwise be
 * tried again and again). */
#define REL_PATH_FAIL_RTOS 16

static int addr_is(const uint8_t *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && alen && !memcmp(a, b, alen);
}

/* Same host, another port?  The source key (rel_src.c) is the address
 * without its port; RFC 9000 9.4 keeps the congestion state then. */
static int same_host(const uint8_t *a, size_t alen, const void *b, size_t blen)
{
	uint8_t ka[REL_ADDR_MAX], kb[REL_ADDR_MAX];
	size_t na = rel_src_key(a, alen, ka), nb = rel_src_key(b, blen, kb);
	return na == nb && !memcmp(ka, kb, na);
}

/* Moves what p holds of the receive budget, and its place in the per-source
 * session count, from its source to s. */
static void src_move(struct rel_sess *p, struct rel_src *s)
{
	uint64_t m = p->used + p->held;
	p->src->mem -= m;
	s->mem += m;
	if (p->passive) {
		p->src->naccepted--;
		s->naccepted++;
	}
	p->src = s;
}

/* Is k the newest packet the peer sent?  Its clock says so (ts after every
 * ts seen: a replay or a late copy has an older one), or for DATA a
 * sequence number not received yet within the window (no copy of it can
 * have come before). */
static int newest(const struct rel_core *c, const struct rel_sess *p, const struct rel_pkt *k)
{
	if (p->have_window_ts && rel_seq_diff(k->ts, p->peer_window_ts) > 0)
		return 1;
	if (k->type != REL_PT_DATA)
		return 0;
	int32_t d = rel_seq_diff(k->seq, p->rcv_nxt);
	return d >= 0 && (uint32_t)d < c->cfg.window && !p->rbits[k->seq & c->ring_mask];
}

static void send_challenge(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_CHALLENGE;
	k.dst_sid = p->rsid;
	k.src_sid = p->lsid;
	k.token = p->path_token;
	/* a full out-queue or the 3x limit: the retry timer tries again */
	(void)rel_emit(c, p, &k, now);
	p->path_at = now + (p->rto << p->path_tries);
	p->path_tries++;
}

/* p starts sending to addr, unvalidated.  Returns 0 or UDP_ENOMEM. */
static int path_move(struct rel_core *c, struct rel_sess *p, const void *addr, size_t alen,
		     size_t len, uint64_t now)
{
	/* a pinned fallback source besides the session's: keep one slot of
	 * the source table (2 x max_peers) free, or lookups never end */
	if (c->st.sources + 1 >= c->tab_mask)
		return UDP_ENOMEM;
	struct rel_src *s = rel_src_get(c, addr, alen);
	if (!s)
		return UDP_ENOMEM;
	s->nsess++;
	struct rel_src *old = p->src;
	src_move(p, s);
	if (!p->path_check) {
		/* the validated path becomes the fallback; its source stays */
		memcpy(p->prev_addr, p->addr, p->addr_len);
		p->prev_len = p->addr_len;
		p->prev_src = old;
	} else {
		rel_src_put(c, old);
	}
	int new_host = !same_host(p->addr, p->addr_len, addr, alen);
	memcpy(p->addr, addr, alen);
	p->addr_len = alen;
	p->ack_out = 0; /* a queued ACK went to the old address: do not merge */
	p->path_check = 1;
	p->path_rx = len; /* the packet that moved us */
	p->path_tx = 0;
	p->path_tries = 0;
	p->path_token = rel_prf_next(&c->prf);
	if (new_host) {
		rel_sess_path_reset(c, p); /* another network: its RTT, its capacity */
		/* ... and its MTU: back to the base (what every path carries),
		 * with the new route's ceiling, and search again (RFC 9000 9.4) */
		p->pm.hint = 0;
		rel_pmtu_open(c, p, now);
	}
	send_challenge(c, p, now);
	return 0;
}

/* Back to the validated address (no answer, or the peer is there again). */
static void path_revert(struct rel_core *c, struct rel_sess *p)
{
	struct rel_src *old = p->src;
	src_move(p, p->prev_src);
	p->prev_src = NULL; /* its reference is the session's now */
	rel_src_put(c, old);
	memcpy(p->addr, p->prev_addr, p->prev_len);
	p->addr_len = p->prev_len;
	p->ack_out = 0;
	p->path_check = 0;
	p->path_at = 0;
}

int rel_path_input(struct rel_core *c, struct rel_sess *p, const void *addr, size_t alen,
		   const struct rel_pkt *k, size_t len, uint64_t now)
{
	int from_prev = addr_is(p->prev_addr, p->prev_len, addr, alen);
	int from_fail = now < p->fail_until && addr_is(p->fail_addr, p->fail_len, addr, alen);
	if (!newest(c, p, k)) {
		/* a late packet of the path we left, or of a one-way path:
		 * genuine (its sids), used, but it moves nothing */
		if (from_prev || from_fail)
			return 0;
		c->st.drop_session++; /* as before migration: no session's */
		return REL_ESESSION;
	}
	if (from_fail)
		return 0;
	if (from_prev && p->path_check) {
		path_revert(c, p);
		return 0;
	}
	if (path_move(c, p, addr, alen, len, now) < 0) {
		p->st.drop_session++;
		c->st.drop_session++;
		return UDP_ENOMEM;
	}
	return 0;
}

int rel_path_probe(struct rel_core *c, struct rel_sess *p, const void *addr, size_t alen,
		   const struct rel_pkt *k, uint64_t now)
{
	p->st.pkts_recv++;
	p->last_recv = now;
	if (k->type == REL_PT_CHALLENGE) {
		/* answered where it came from, the same size: no amplification */
		struct rel_pkt r;
		memset(&r, 0, sizeof r);
		r.type = REL_PT_RESPONSE;
		r.dst_sid = p->rsid;
		r.src_sid = p->lsid;
		r.token = k->token;
		if (rel_addr_eq(p, addr, alen))
			return rel_emit(c, p, &r, now) < 0 ? REL_EPATH : 0;
		uint8_t *buf = rel_out_slot_addr(c, addr, alen, p->id);
		if (!buf)
			return UDP_ENOSPACE;
		int n = rel_encode(c, p, &r, buf, c->clear, now);
		if (n < 0)
			return n;
		rel_out_commit(c, (size_t)n);
		p->st.pkts_sent++;
		p->st.bytes_sent += (uint64_t)n;
		return 0;
	}
	/* The token proves the peer got what was sent to p->addr, wherever
	 * the answer comes from (RFC 9000 8.2.2). */
	if (!p->path_check || k->token != p->path_token) {
		p->st.drop_unexpected++;
		return REL_EUNEXPECTED;
	}
	p->path_check = 0;
	p->path_at = 0;
	p->fail_until = 0;
	rel_src_put(c, p->prev_src);
	p->prev_src = NULL;
	p->st.migrations++;
	c->st.migrations++;
	struct rel_event ev = {.type = REL_EV_MIGRATED, .peer = p->id};
	(void)rel_event_push(c, &ev, 0);
	rel_sess_flush(c, p, now); /* what the 3x limit held */
	return 0;
}

int rel_path_allow(struct rel_sess *p, size_t n)
{
	if (p->path_tx + n > 3 * p->path_rx)
		return 0;
	p->path_tx += n;
	return 1;
}

void rel_path_timers(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (!p->path_check || !p->path_at || now < p->path_at)
		return;
	if (p->path_tries < REL_PATH_TRIES) {
		send_challenge(c, p, now);
		return;
	}
	memcpy(p->fail_addr, p->addr, p->addr_len);
	p->fail_len = p->addr_len;
	p->fail_until = now + REL_PATH_FAIL_RTOS * p->rto;
	p->st.path_failures++;
	c->st.path_failures++;
	path_revert(c, p);
}
