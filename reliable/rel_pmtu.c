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
	p->pm.probe_size = size;
	p->pm.timeout_at = now + probe_timeout(c, p);
	p->st.pmtu_probes++;
	return 0;
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
	if (pm->searching && size > pm->lo)
		pm->lo = size;
	if (size > pm->cur)
		changed(c, p, size);
	pm->probe_at = now; /* the next step at once */
}

void rel_pmtu_lost(struct rel_core *c, struct rel_sess *p, uint32_t len, uint64_t now)
{
	struct rel_pmtu *pm = &p->pm;
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
	pm->big_lost = 0;
	p->st.pmtu_blackholes++;
	changed(c, p, (uint32_t)c->base);
	search(c, p, failed, now);
}

void rel_pmtu_acked(struct rel_core *c, struct rel_sess *p, uint32_t len)
{
	if (len + REL_DATA_OVERHEAD > c->base)
		p->pm.big_lost = 0;
}
