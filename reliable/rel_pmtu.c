/* rel_pmtu.c - packetization-layer path MTU discovery (RFC 8899's
 * DPLPMTUD, as QUIC does it): a session starts at the base size every path
 * carries and looks for more with padded PROBE packets that carry no data,
 * so their loss costs nothing but the probe.  Only a size a probe got
 * through with is used for data.  Repeated loss of packets above the base
 * while the peer still answers means the path shrank (a black hole, since
 * nothing tells us): back to the base at once, and search again.
 * docs/PROTOCOL.md, "Path MTU discovery", says the rules. */
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"

/* Probes lost at one size before it counts as too big: one loss may be
 * chance (RFC 8899's MAX_PROBES). */
#define PM_MAX_PROBES 3
/* The search stops when the largest size known to pass and the smallest
 * known to fail are this close: the last bytes are not worth more probes. */
#define PM_STEP 8
/* DATA packets above the base lost, with none acked in between, before the
 * path is taken to have shrunk. */
#define PM_BLACKHOLE_LOSSES 3

static uint32_t udp_size(const struct rel_core *c, uint32_t dg)
{
	return dg + (uint32_t)c->below; /* cfg.overhead and the crypto hook's */
}

/* The largest datagram whose fragment can go in parts of the base
 * (rel_send.c): at most REL_PART_MAX of them, and all must fit the
 * out-queue at once. */
static uint32_t part_limit(const struct rel_core *c)
{
	uint64_t n = c->cfg.out_queue < REL_PART_MAX ? c->cfg.out_queue : REL_PART_MAX;
	uint64_t lim = REL_DATA_OVERHEAD + n * (c->base - REL_DATA_OVERHEAD - REL_PART_LEN);
	return lim > 65507 ? 65507 : (uint32_t)lim;
}

static void set_ceiling(const struct rel_core *c, struct rel_sess *p)
{
	size_t udp = p->pm.hint ? p->pm.hint : c->cfg.path_mtu;
	if (udp > c->cfg.max_mtu)
		udp = c->cfg.max_mtu;
	uint32_t dg = udp > c->below ? (uint32_t)(udp - c->below) : 0;
	if (dg > part_limit(c))
		dg = part_limit(c);
	p->pm.ceiling = dg < c->base ? (uint32_t)c->base : dg;
}

static void answer(struct rel_core *c, struct rel_sess *p, uint64_t now);

static void changed(struct rel_core *c, struct rel_sess *p, uint32_t cur)
{
	if (cur == p->pm.cur)
		return;
	p->pm.cur = cur;
	p->st.pmtu = udp_size(c, cur);
	struct rel_event ev = {.type = REL_EV_PMTU, .peer = p->id, .len = udp_size(c, cur)};
	(void)rel_event_push(c, &ev, 0);
}

/* A search from what carries now up to the ceiling, starting at once. */
static void search(const struct rel_core *c, struct rel_sess *p, uint32_t hi, uint64_t now)
{
	p->pm.searching = 0;
	p->pm.ptb = p->pm.ptb_lost = p->pm.ptb_ok = 0;
	p->pm.probe_size = 0;
	p->pm.probe_id = 0;
	p->pm.tries = 0;
	p->pm.probe_at = 0;
	if (!c->cfg.pmtud || p->pm.cur >= p->pm.ceiling)
		return;
	p->pm.lo = p->pm.cur;
	p->pm.hi = hi;
	p->pm.searching = 1;
	p->pm.probe_at = now;
}

void rel_pmtu_open(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	uint32_t hint = p->pm.hint; /* set before the handshake ended */
	memset(&p->pm, 0, sizeof p->pm);
	if (!hint && c->route_mtu) {
		size_t r = c->route_mtu(c->route_ctx, p->addr, p->addr_len);
		hint = r > 65507 ? 65507 : (uint32_t)r;
	}
	p->pm.hint = hint;
	p->pm.cur = (uint32_t)c->base;
	p->st.pmtu = udp_size(c, p->pm.cur);
	p->pm.probe_next = 1;
	set_ceiling(c, p);
	search(c, p, p->pm.ceiling + 1, now);
}

void rel_pmtu_set_hint(struct rel_core *c, struct rel_sess *p, size_t udp, uint64_t now)
{
	p->pm.hint = udp > 65507 ? 65507 : (uint32_t)udp;
	uint32_t old = p->pm.ceiling;
	set_ceiling(c, p);
	if (p->pm.cur > p->pm.ceiling) /* the route says less than we use */
		changed(c, p, p->pm.ceiling);
	if (p->state == REL_ST_OPEN && p->pm.ceiling != old)
		search(c, p, p->pm.ceiling + 1, now);
}

/* The probe timer: the RTO without backoff (an unanswered probe says
 * nothing about congestion), or the initial RTO before any sample. */
static uint64_t probe_timeout(const struct rel_core *c, const struct rel_sess *p)
{
	if (!p->have_rtt)
		return c->cfg.rto_initial_us;
	uint64_t t = p->srtt + (p->rttvar ? 4 * p->rttvar : 1);
	if (t < c->cfg.rto_min_us)
		t = c->cfg.rto_min_us;
	return t > c->cfg.rto_max_us ? c->cfg.rto_max_us : t;
}

/* The next size to try: the ceiling first (a LAN or loopback usually
 * carries all its interface takes: one round trip), then halving the gap
 * between what passed and what failed.  0 when the search is over. */
static uint32_t next_size(const struct rel_sess *p)
{
	if (p->pm.ptb) /* an ICMP "too big" named it: try it first */
		return p->pm.ptb;
	if (p->pm.hi > p->pm.ceiling)
		return p->pm.ceiling > p->pm.lo ? p->pm.ceiling : 0;
	if (p->pm.hi - p->pm.lo <= PM_STEP)
		return 0;
	return p->pm.lo + (p->pm.hi - p->pm.lo) / 2;
}

static int send_probe(struct rel_core *c, struct rel_sess *p, uint32_t size, uint64_t now)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_PROBE;
	rel_fill_ackblock(c, p, &k, now);
	k.probe_id = p->pm.probe_next++;
	if (!p->pm.probe_next)
		p->pm.probe_next = 1;
	k.pad_to = size;
	/* a probe may vanish: it must not stand in for the keepalive, or a
	 * peer that hears only probes we send would think us gone */
	uint64_t last = p->last_send;
	int n = rel_emit_len(c, p, &k, size, now);
	p->last_send = last;
	if (n < 0)
		return n;
	p->pm.probe_id = k.probe_id;
	p->pm.probe_ctr = p->pm.ctr_hi; /* rel_pmtu_sent saw it go (keyed) */
	p->pm.probe_size = size;
	p->pm.timeout_at = now + probe_timeout(c, p);
	p->st.pmtu_probes++;
	return 0;
}

/* ---- ICMP "too big" (RFC 8899 4.6): a hint, never trusted alone ----
 *
 * A valid hint (one quoting a packet of ours in flight) below the probe it
 * quotes makes the search try its size next.  Below the size data uses, it
 * also needs two confirmations before data shrinks to it: a probe of that
 * size answered, and data above it lost (an on-path forger who quotes our
 * packets gets a probe out of us, not a smaller MTU). */

/* Data goes at s from now: the hint was confirmed. */
static void ptb_lower(struct rel_core *c, struct rel_sess *p, uint32_t s)
{
	p->pm.ptb_ok = p->pm.ptb_lost = 0;
	p->pm.big_lost = 0;
	changed(c, p, s);
}

/* The probe of the hinted size came back. */
static void ptb_answered(struct rel_core *c, struct rel_sess *p, uint32_t size, uint64_t now)
{
	struct rel_pmtu *pm = &p->pm;
	pm->ptb = 0;
	if (size > pm->lo)
		pm->lo = size;
	if (pm->hi > size + 1)
		pm->hi = size + 1; /* the hop said no more: the search ends */
	if (size > pm->cur)
		changed(c, p, size);
	else if (size < pm->cur && pm->ptb_lost)
		ptb_lower(c, p, size);
	else if (size < pm->cur) { /* waits for data above it to be lost */
		pm->ptb_ok = size;
		pm->ptb_until = now + 3 * probe_timeout(c, p);
	}
	pm->probe_at = now;
}

/* A DATA packet of up to dg bytes was declared lost: 1 if that confirmed
 * a hint (the size has changed). */
static int ptb_loss(struct rel_core *c, struct rel_sess *p, uint32_t dg, uint64_t now)
{
	struct rel_pmtu *pm = &p->pm;
	if (pm->ptb_ok && (now > pm->ptb_until || pm->ptb_ok >= pm->cur))
		pm->ptb_ok = 0;
	if (pm->ptb_ok && dg > pm->ptb_ok) {
		ptb_lower(c, p, pm->ptb_ok);
		return 1;
	}
	if (pm->ptb && dg > pm->ptb)
		pm->ptb_lost = 1;
	return 0;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t be64(const uint8_t *b)
{
	return (uint64_t)be32(b) << 32 | be32(b + 4);
}

void rel_pmtu_sent(struct rel_sess *p, const uint8_t *dg, size_t n, uint64_t now)
{
	if (n < 20)
		return;
	struct rel_pmtu *pm = &p->pm;
	pm->ctr_hi = be64(dg + 12);
	/* the marks move once per probe timer (at least rto_min): a counter
	 * from ctr_floor on went within the last one or two */
	uint64_t period = p->have_rtt ? p->srtt + 4 * p->rttvar : 200000;
	if (period < 20000)
		period = 20000;
	if (!pm->ctr_mark_at || now - pm->ctr_mark_at >= period) {
		pm->ctr_floor = pm->ctr_mark;
		pm->ctr_mark = pm->ctr_hi;
		pm->ctr_mark_at = now;
	}
}

enum { PTB_NONE, PTB_DATA, PTB_PROBE };

/* What packet of p the quote is: PTB_DATA (a DATA packet in flight, or
 * for a keyed session any packet sent recently), PTB_PROBE (the probe
 * out), PTB_NONE (nothing of ours now). */
static int ptb_match(const struct rel_core *c, const struct rel_sess *p, const uint8_t *q, size_t n)
{
	if (p->keyed) {
		if (n < 20 || q[2] != REL_PT_SEALED)
			return PTB_NONE;
		uint64_t ctr = be64(q + 12);
		if (p->pm.probe_size && ctr == p->pm.probe_ctr)
			return PTB_PROBE;
		return ctr >= p->pm.ctr_floor && ctr <= p->pm.ctr_hi ? PTB_DATA : PTB_NONE;
	}
	size_t a = REL_HDR_LEN + REL_ACKB_LEN; /* after the ack block's fixed part */
	if (n < a)
		return PTB_NONE;
	size_t body = a + 4 * (size_t)q[a - 1];
	if (q[2] == REL_PT_PROBE) {
		if (n < body + 4 || !p->pm.probe_size)
			return PTB_NONE;
		return be32(q + body) == p->pm.probe_id ? PTB_PROBE : PTB_NONE;
	}
	if (q[2] != REL_PT_DATA || n < body + 12)
		return PTB_NONE;
	uint32_t seq = be32(q + body);
	if (rel_seq_diff(seq, p->snd_una) < 0 || rel_seq_diff(seq, p->snd_nxt) >= 0)
		return PTB_NONE;
	const struct rel_txpkt *t = &p->ring[seq & c->ring_mask];
	if (t->state != TX_INFLIGHT || !t->msg)
		return PTB_NONE;
	/* the message and the place in it must be the ones of that seq */
	if (be32(q + body + 4) != t->msg->len || be32(q + body + 8) != t->off)
		return PTB_NONE;
	return PTB_DATA;
}

static int ptb_ignored(struct rel_sess *p)
{
	p->st.pmtu_ptb_ignored++;
	return 0;
}

int rel_peer_ptb(struct rel_core *c, const void *addr, size_t alen, size_t mtu,
		 const void *quoted, size_t qlen, uint64_t now)
{
	if (!c || !addr || (!quoted && qlen))
		return UDP_EINVAL;
	const uint8_t *q = quoted;
	struct rel_sess *p = NULL;
	if (qlen >= REL_HDR_LEN && q[0] == REL_MAGIC && q[1] == REL_VERSION)
		p = rel_sess_by_lsid(c, be32(q + 8));
	if (!p) {
		c->st.ptb_ignored++;
		return 0;
	}
	if (p->state != REL_ST_OPEN || be32(q + 4) != p->rsid || !rel_addr_eq(p, addr, alen) ||
	    !c->cfg.pmtud)
		return ptb_ignored(p);
	int kind = ptb_match(c, p, q, qlen);
	if (kind == PTB_NONE)
		return ptb_ignored(p);
	struct rel_pmtu *pm = &p->pm;
	uint32_t h = mtu > c->below ? (uint32_t)(mtu - c->below) : 0;
	if (h < c->base)
		h = (uint32_t)c->base; /* every path carries the base */
	if (kind == PTB_PROBE) {
		if (h >= pm->probe_size)
			return ptb_ignored(p); /* the hop takes what it refused? */
		/* that size failed: no more tries at it */
		if (pm->probe_size < pm->hi)
			pm->hi = pm->probe_size;
		pm->probe_size = pm->probe_id = pm->tries = 0;
		pm->probe_at = now;
		p->st.pmtu_ptb_valid++;
		if (h >= pm->cur) {
			if (h > pm->lo && h < pm->hi)
				pm->ptb = h;
			return 1;
		}
	} else {
		if (h >= pm->cur)
			return ptb_ignored(p); /* data passes below it already */
		p->st.pmtu_ptb_valid++;
		if ((pm->ptb && pm->ptb <= h) || (pm->ptb_ok && pm->ptb_ok <= h))
			return 1; /* a probe for it is on its way, or it passed */
	}
	/* What data uses may no longer pass: search below it, from the
	 * hinted size; data keeps its size until the hint is confirmed. */
	pm->searching = 1;
	pm->lo = (uint32_t)c->base;
	pm->hi = pm->cur;
	pm->ptb = h;
	pm->ptb_lost = 0;
	pm->ptb_ok = 0;
	pm->probe_size = pm->probe_id = pm->tries = 0;
	pm->probe_at = now;
	return 1;
}

void rel_pmtu_timers(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (p->pm.owe_echo && (p->state == REL_ST_OPEN || p->state == REL_ST_LINGER))
		answer(c, p, now);
	if (p->state != REL_ST_OPEN)
		return;
	struct rel_pmtu *pm = &p->pm;
	if (pm->probe_size && now >= pm->timeout_at) {
		/* lost: not congestion, nothing to resend; after a few at one
		 * size, the path does not carry it */
		p->st.pmtu_probes_lost++;
		if (++pm->tries >= PM_MAX_PROBES) {
			pm->hi = pm->probe_size;
			pm->tries = 0;
			if (pm->ptb == pm->probe_size) /* the hint was wrong */
				pm->ptb = pm->ptb_lost = 0;
		}
		pm->probe_size = 0;
		pm->probe_id = 0;
		pm->probe_at = now;
	}
	if (!pm->probe_at || now < pm->probe_at || pm->probe_size)
		return;
	if (!pm->searching) { /* the quiet period is over: look again */
		search(c, p, pm->ceiling + 1, now);
		if (!pm->searching) {
			pm->probe_at = now + c->cfg.pmtu_raise_us;
			return;
		}
	}
	if (!p->have_rtt) {
		/* The probe timer is in RTTs: get one first (a PING's ACK,
		 * rel_pmtu_rtt), rather than wait rto_initial per lost probe. */
		if (!pm->pinged) {
			rel_send_ack(c, p, REL_PT_PING, now);
			pm->pinged = 1;
		}
		pm->probe_at = now + c->cfg.rto_initial_us;
		return;
	}
	if (p->path_check) {
		/* a new address that has not answered its challenge gets only what
		 * its 3x gate allows (rel_path.c): probe it once it has */
		pm->probe_at = now + probe_timeout(c, p);
		return;
	}
	uint32_t size = next_size(p);
	if (!size) {
		pm->searching = 0;
		pm->probe_at = now + c->cfg.pmtu_raise_us;
		return;
	}
	int rc = send_probe(c, p, size, now);
	if (rc == REL_EPATH) { /* held by the gate after all: later */
		pm->probe_at = now + probe_timeout(c, p);
		return;
	}
	if (rc < 0) {
		c->out_blocked = 1; /* the out-queue is full: after the drain */
		return;
	}
	pm->probe_at = 0;
}

void rel_pmtu_rtt(struct rel_sess *p, uint64_t now)
{
	if (p->pm.searching && !p->pm.probe_size && p->pm.probe_at > now)
		p->pm.probe_at = now;
}

uint64_t rel_pmtu_deadline(const struct rel_sess *p)
{
	if (p->state != REL_ST_OPEN)
		return UINT64_MAX;
	if (p->pm.probe_size)
		return p->pm.timeout_at;
	return p->pm.probe_at ? p->pm.probe_at : UINT64_MAX;
}

/* Answers the newest probe, small: it must come back on any path, and a
 * reply is never larger than what it answers.  A full out-queue (a bulk
 * sender's) keeps it owed until the drain. */
static void answer(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	struct rel_pkt r;
	memset(&r, 0, sizeof r);
	r.type = REL_PT_PROBE;
	rel_fill_ackblock(c, p, &r, now);
	r.probe_echo = p->pm.owe_echo;
	if (rel_emit(c, p, &r, now) >= 0)
		p->pm.owe_echo = 0;
	else
		c->out_blocked = 1;
}

void rel_pmtu_input(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now)
{
	if (k->probe_id) {
		if (p->state != REL_ST_OPEN && p->state != REL_ST_LINGER)
			return;
		p->pm.owe_echo = k->probe_id;
		answer(c, p, now);
		return;
	}
	struct rel_pmtu *pm = &p->pm;
	if (!pm->probe_size || k->probe_echo != pm->probe_id)
		return; /* late or not ours: the search has moved on */
	uint32_t size = pm->probe_size;
	pm->probe_size = 0;
	pm->probe_id = 0;
	pm->tries = 0;
	if (pm->ptb && size == pm->ptb) {
		ptb_answered(c, p, size, now);
		return;
	}
	if (pm->searching && size > pm->lo)
		pm->lo = size;
	if (size > pm->cur)
		changed(c, p, size);
	pm->probe_at = now; /* the next step at once */
}

void rel_pmtu_lost(struct rel_core *c, struct rel_sess *p, uint32_t len, uint64_t now)
{
	struct rel_pmtu *pm = &p->pm;
	if (ptb_loss(c, p, len + REL_DATA_OVERHEAD, now))
		return;
	if (pm->cur <= c->base || len + REL_DATA_OVERHEAD <= c->base)
		return;
	/* One strike per round trip: an RTO declares a whole flight lost at
	 * once, and random loss is no black hole.  Three round trips with big
	 * packets lost and none acked is one (measured: counting each loss made
	 * 5 % random loss fall back to the base again and again, halving
	 * goodput with two fragments per 1200-byte message). */
	uint64_t rtt = p->have_rtt && p->srtt > c->cfg.rto_min_us ? p->srtt : c->cfg.rto_min_us;
	if (pm->big_lost && now - pm->lost_at < rtt)
		return;
	pm->lost_at = now;
	if (++pm->big_lost < PM_BLACKHOLE_LOSSES)
		return;
	/* What passed before does not now: the base at once (the packets
	 * above it go again in parts, rel_send.c), then a search below the
	 * size that failed. */
	uint32_t failed = pm->cur;
	uint32_t hinted = pm->ptb;
	pm->big_lost = 0;
	p->st.pmtu_blackholes++;
	changed(c, p, (uint32_t)c->base);
	search(c, p, failed, now);
	if (pm->searching && hinted > pm->lo && hinted < pm->hi)
		pm->ptb = hinted; /* still the best guess: first */
}

void rel_pmtu_acked(struct rel_core *c, struct rel_sess *p, uint32_t len)
{
	if (len + REL_DATA_OVERHEAD > c->base)
		p->pm.big_lost = 0;
}
