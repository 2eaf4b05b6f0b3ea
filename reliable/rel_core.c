/* rel_core.c - the core object: configuration, input dispatch, timers,
 * the out-queue and the event queue.  Sessions are in rel_sess.c, the
 * handshake in rel_hs.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rel_int.h"
#include "udp_err.h"

void rel_config_default(struct rel_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->seed = 0; /* random keys: see rel.h */
	cfg->accept = 0;
	/* IPv6's minimum link (1280) less its headers leaves 1232; 1200 is
	 * QUIC's choice, with room for a tunnel or two.  PMTUD finds more. */
	cfg->mtu = 1200;
	cfg->overhead = 0;
	/* 65000 lets loopback (MTU 65536) use nearly all a UDP datagram can
	 * carry; real interfaces report less (rel_drv.c), and memory for
	 * large packets is taken only where they are used (out-queue slots
	 * grow, rel_out_slot_len). */
	cfg->max_mtu = 65000;
	cfg->path_mtu = 1472;
	cfg->pmtud = 1;
	cfg->pmtu_raise_us = 600000000; /* RFC 8899's 10 minutes */
	cfg->max_msg = 64u << 20;
	cfg->recv_budget = 80u << 20;
	cfg->core_budget = 1ull << 30;
	cfg->send_budget = 256u << 20;
	cfg->window = 1024;
	cfg->max_peers = 4096;
	cfg->max_per_source = 64;
	cfg->stall_us = 60000000;
	cfg->out_queue = 256;
	cfg->dupthresh = 1;
	cfg->rto_initial_us = 1000000;
	cfg->rto_min_us = 200000;
	cfg->rto_max_us = 60000000;
	cfg->keepalive_us = 5000000;
	cfg->dead_us = 30000000;
	cfg->cookie_bucket_us = 10000000;
	cfg->linger_us = 10000000;
	cfg->ack_delay_us = 0;
	/* Handshake limits, which must never meet a legitimate client: one
	 * sends a new Noise message 1 only with a new cookie (at most every
	 * 7 s: three CONNECT timeouts, 1 + 2 + 4 s), its retransmissions
	 * are answered from the kept ACCEPT, and a host may open its
	 * max_per_source sessions at once.  A single address gets 64 + 10
	 * a second (~1 % of a core at 1 ms each); all together 500 a second
	 * (half a core), with 1000 at once: a restarted server's 4096
	 * clients are all back within ~7 s, well inside their dead_us. */
	cfg->hs_rate = 10;
	cfg->hs_burst = 64;
	cfg->hs_global_rate = 500;
	cfg->hs_global_burst = 1000;
}

static int config_ok(const struct rel_config *c)
{
	if (c->overhead > 1024 || c->mtu < c->overhead + REL_DATA_OVERHEAD + 64 || c->mtu > 65507)
		return 0;
	if (c->max_mtu < c->mtu || c->max_mtu > 65507 || (c->pmtud && c->pmtu_raise_us < 1))
		return 0;
	if (c->max_msg > 0xffffffffu || c->max_msg > c->recv_budget || c->max_msg > c->send_budget ||
	    c->max_msg > c->core_budget)
		return 0;
	if (c->window < 8 || c->window > (1u << 20) || c->out_queue < 4 || c->max_peers < 1 ||
	    c->max_peers > (1u << 24))
		return 0;
	if (c->dupthresh < 1 || c->rto_min_us < 1 || c->rto_min_us > c->rto_initial_us ||
	    c->rto_initial_us > c->rto_max_us)
		return 0;
	if (c->max_per_source < 1 || c->stall_us < 1)
		return 0;
	if ((c->hs_rate && c->hs_burst < 1) || (c->hs_global_rate && c->hs_global_burst < 1))
		return 0;
	if (c->keepalive_us < 1 || c->dead_us <= c->keepalive_us || c->cookie_bucket_us < 1)
		return 0;
	if (c->cc && (!c->cc->may_send || !c->cc->on_event))
		return 0;
	const struct rel_crypto_ops *k = c->crypto;
	if (k && (!k->hs_init || !k->hs_respond || !k->hs_finish || !k->seal || !k->open ||
		  !k->sess_free || k->overhead > 1024 || k->arg_size > REL_CRYPTO_ARG_MAX ||
		  c->mtu < c->overhead + k->overhead + REL_DATA_OVERHEAD + 64))
		return 0;
	return 1;
}

/* The id/ISN key, and the cookie secret unless the caller gave one: from
 * getrandom(), or expanded from an explicit seed so a test is repeatable. */
static int core_keys(struct rel_core *c)
{
	uint8_t k[32];
	if (c->cfg.seed) {
		struct rel_rng r;
		rel_rng_seed(&r, c->cfg.seed);
		for (int i = 0; i < 4; i++) {
			uint64_t v = rel_rng_next(&r);
			memcpy(k + 8 * i, &v, 8);
		}
	} else {
		size_t got = 0;
		while (got < sizeof k) {
			ssize_t n = getrandom(k + got, sizeof k - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return REL_ERANDOM;
			got += (size_t)n;
		}
	}
	memcpy(c->prf.key, k, 16);
	static const uint8_t zero[16];
	if (!memcmp(c->cfg.cookie_secret, zero, 16))
		memcpy(c->cfg.cookie_secret, k + 16, 16);
	memset(k, 0, sizeof k);
	return 0;
}

int rel_core_new(struct rel_core **out, const struct rel_config *cfg)
{
	int e = UDP_ENOMEM;
	struct rel_core *c = NULL;
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!cfg || !config_ok(cfg)) {
		e = REL_ECONFIG;
		goto fail;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		goto fail;
	c->cfg = *cfg;
	/* a sealed session's packets are seal_oh smaller, so that its
	 * datagrams keep every limit a plain one has */
	c->seal_oh = cfg->crypto ? cfg->crypto->overhead : 0;
	c->below = cfg->overhead + c->seal_oh;
	c->clear = cfg->mtu - cfg->overhead;
	c->base = cfg->mtu - c->below;
	/* slots are indexed by seq mod a power of two, so that they stay
	 * distinct across the 2^32 wrap */
	uint32_t ring = 1;
	while (ring < cfg->window)
		ring <<= 1;
	c->ring_mask = ring - 1;
	if ((e = core_keys(c)) < 0)
		goto fail;
	e = UDP_ENOMEM;
	if (rel_sess_init(c) < 0 || rel_src_init(c) < 0)
		goto fail;
	c->out = calloc(cfg->out_queue, sizeof *c->out);
	if (!c->out)
		goto fail;
	for (uint32_t i = 0; i < cfg->out_queue; i++)
		if (!(c->out[i].buf = malloc(c->clear)))
			goto fail;
		else
			c->out[i].cap = c->clear;
	if (cfg->crypto) {
		c->sbuf_cap = c->base;
		c->obuf_cap = c->clear;
		if (!(c->sbuf = malloc(c->sbuf_cap)) || !(c->obuf = malloc(c->obuf_cap)))
			goto fail;
	}
	*out = c;
	return 0;
fail:
	rel_core_free(c);
	return e;
}

void rel_core_free(struct rel_core *c)
{
	if (!c)
		return;
	while (c->peers)
		rel_sess_destroy(c, c->peers);
	while (c->ev_head) {
		struct rel_evnode *n = c->ev_head;
		c->ev_head = n->next;
		rel_buf_free(n->ev.data);
		free(n);
	}
	while (c->ev_free) {
		struct rel_evnode *n = c->ev_free;
		c->ev_free = n->next;
		free(n);
	}
	rel_buf_shelf_free(c);
	while (c->tx_free) {
		struct rel_txmsg *m = c->tx_free;
		c->tx_free = m->next;
		free(m);
	}
	while (c->rx_free) {
		struct rel_rxmsg *m = c->rx_free;
		c->rx_free = m->next;
		free(m);
	}
	if (c->out)
		for (uint32_t i = 0; i < c->cfg.out_queue; i++)
			free(c->out[i].buf);
	free(c->out);
	free(c->sbuf);
	free(c->obuf);
	free(c->tab_id);
	free(c->tab_lsid);
	free(c->src_tab);
	free(c->hs_tab);
	free(c);
}

/* ---- out-queue ---- */

/* Slot i after the head; i <= out_queue, so one subtraction wraps it (a
 * division per packet is not free). */
static uint32_t out_at(const struct rel_core *c, uint32_t i)
{
	uint32_t j = c->out_head + i;
	return j >= c->cfg.out_queue ? j - c->cfg.out_queue : j;
}

uint8_t *rel_out_slot_addr(struct rel_core *c, const uint8_t *addr, size_t alen, uint32_t peer)
{
	if (c->out_len == c->cfg.out_queue) {
		c->out_blocked = 1;
		return NULL;
	}
	struct rel_outslot *s = &c->out[out_at(c, c->out_len)];
	memcpy(s->addr, addr, alen);
	s->addr_len = alen;
	s->peer = peer;
	return s->buf;
}

uint8_t *rel_out_slot(struct rel_core *c, struct rel_sess *p)
{
	return rel_out_slot_addr(c, p->addr, p->addr_len, p->id);
}

/* Slots start at the base size and grow once to what the path takes, so
 * a core costs out_queue x base until a path carries more. */
uint8_t *rel_out_slot_len(struct rel_core *c, struct rel_sess *p, size_t len)
{
	if (!rel_out_slot(c, p))
		return NULL;
	struct rel_outslot *s = &c->out[out_at(c, c->out_len)];
	if (s->cap < len) {
		uint8_t *b = rel_malloc(c, len);
		if (!b)
			return NULL;
		free(s->buf);
		s->buf = b;
		s->cap = len;
	}
	return s->buf;
}

void rel_out_commit(struct rel_core *c, size_t len)
{
	c->out[out_at(c, c->out_len)].len = len;
	c->out_len++;
	c->st.pkts_out++;
	c->st.bytes_out += len;
}

size_t rel_out_pending(const struct rel_core *c)
{
	return c->out_len;
}

int rel_out_peek(const struct rel_core *c, size_t i, struct rel_dgram *out)
{
	if (!c || !out || i >= c->out_len)
		return UDP_EINVAL;
	const struct rel_outslot *s = &c->out[out_at(c, (uint32_t)i)];
	out->addr = s->addr;
	out->addr_len = s->addr_len;
	out->data = s->buf;
	out->len = s->len;
	out->peer = s->peer;
	return 0;
}

struct rel_outslot *rel_out_queued(struct rel_core *c, uint64_t pos)
{
	if (pos < c->out_popped || pos - c->out_popped >= c->out_len)
		return NULL;
	return &c->out[out_at(c, (uint32_t)(pos - c->out_popped))];
}

void rel_out_pop(struct rel_core *c, size_t n)
{
	if (n > c->out_len)
		n = c->out_len;
	c->out_popped += n;
	c->out_len -= (uint32_t)n;
	/* Emptied, the queue starts again at slot 0: a driver that drains it
	 * every turn then cycles through the few slots one turn needs, warm in
	 * cache, instead of first-touching all out_queue of them at 64 KiB
	 * (256 x 64 KiB of page faults: ~15 ms at the start of a transfer). */
	c->out_head = c->out_len ? out_at(c, (uint32_t)n) : 0;
}

int rel_emit(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, uint64_t now)
{
	return rel_emit_len(c, p, pkt, c->base, now);
}

/* A scratch buffer of at least need bytes (grown once to the largest
 * packet a path carries, as the out-queue slots are). */
static int scratch(struct rel_core *c, uint8_t **b, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	uint8_t *n = rel_malloc(c, need);
	if (!n)
		return UDP_ENOMEM;
	free(*b);
	*b = n;
	*cap = need;
	return 0;
}

int rel_seal_pkt(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt,
		 uint8_t *out, size_t cap, uint64_t now)
{
	if (cap < c->seal_oh + REL_HDR_LEN + REL_CRC_LEN)
		return UDP_ENOSPACE;
	size_t room = cap - c->seal_oh;
	if (scratch(c, &c->sbuf, &c->sbuf_cap, room) < 0)
		return UDP_ENOMEM;
	int n = rel_wire_encode(pkt, c->sbuf, room);
	if (n < 0)
		return n;
	int m = c->cfg.crypto->seal(c->cfg.crypto_ctx, p->crypto, c->sbuf, (size_t)n, out, cap, now);
	return m < 0 || (size_t)m > cap ? (m < 0 ? m : UDP_ENOSPACE) : m;
}

int rel_emit_len(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, size_t len, uint64_t now)
{
	/* len is the packet's room; sealed, the datagram takes seal_oh more */
	if (p->keyed)
		len += c->seal_oh;
	uint8_t *buf = rel_out_slot_len(c, p, len);
	if (!buf)
		return UDP_ENOSPACE;
	int n = rel_encode(c, p, pkt, buf, len, now);
	if (n < 0)
		return n;
	if (p->path_check && !rel_path_allow(p, (size_t)n)) {
		/* held as if sent: the timers (keepalive) must not spin on it;
		 * the peer's next packets or the validation free it */
		p->last_send = now;
		return REL_EPATH;
	}
	rel_out_commit(c, (size_t)n);
	if (p->keyed) /* its counter: ICMP quotes are checked against it */
		rel_pmtu_sent(p, buf, (size_t)n, now);
	p->st.pkts_sent++;
	p->st.bytes_sent += (uint64_t)n;
	p->last_send = now;
	return n;
}

int rel_emit_raw(struct rel_core *c, struct rel_sess *p, const uint8_t *b, size_t len, uint64_t now)
{
	uint8_t *buf = rel_out_slot_len(c, p, len);
	if (!buf)
		return UDP_ENOSPACE;
	memcpy(buf, b, len);
	rel_out_commit(c, len);
	p->st.pkts_sent++;
	p->st.bytes_sent += len;
	p->last_send = now;
	return (int)len;
}

/* ---- recycled records ---- */

void *rel_malloc(struct rel_core *c, size_t n)
{
	c->allocs++;
	return malloc(n);
}

/* A recycled record is taken when it is at most TX_SLACK bytes larger than
 * needed (the heap bound per queued message stays as documented), from the
 * first few of the list; a miss drops the first one, so that a list of old
 * sizes turns over when the application's message size changes. */
enum { TX_SLACK = 16, TX_SEARCH = 4 };
/* The send list keeps what an application queued at once (an application
 * keeps thousands of messages unacked to fill a fast path), within its
 * send_budget and at most this much. */
#define TX_POOL_MAX ((uint64_t)8 << 20)

static uint64_t tx_size(const struct rel_txmsg *m)
{
	return sizeof *m + m->cap;
}

struct rel_txmsg *rel_txmsg_get(struct rel_core *c, size_t len)
{
	struct rel_txmsg **pp = &c->tx_free, *m = NULL;
	for (int i = 0; i < TX_SEARCH && *pp; i++, pp = &(*pp)->next) {
		if ((*pp)->cap >= len && (*pp)->cap - len <= TX_SLACK) {
			m = *pp;
			*pp = m->next;
			c->tx_pooled -= tx_size(m);
			break;
		}
	}
	if (!m && c->tx_free && len <= c->cfg.mtu) {
		struct rel_txmsg *old = c->tx_free;
		c->tx_free = old->next;
		c->tx_pooled -= tx_size(old);
		free(old);
	}
	uint32_t cap = m ? m->cap : (uint32_t)len;
	if (!m && !(m = rel_malloc(c, sizeof *m + len)))
		return NULL;
	memset(m, 0, sizeof *m);
	m->cap = cap;
	m->bytes = m->data;
	return m;
}

void rel_txmsg_put(struct rel_core *c, struct rel_txmsg *m)
{
	uint64_t max = c->cfg.send_budget < TX_POOL_MAX ? c->cfg.send_budget : TX_POOL_MAX;
	if (m->cap <= c->cfg.mtu && c->tx_pooled + tx_size(m) <= max) {
		m->next = c->tx_free;
		c->tx_free = m;
		c->tx_pooled += tx_size(m);
	} else {
		free(m);
	}
}

struct rel_rxmsg *rel_rxmsg_get(struct rel_core *c)
{
	struct rel_rxmsg *m = c->rx_free;
	if (m) {
		c->rx_free = m->next;
		c->rx_nfree--;
	} else if (!(m = rel_malloc(c, sizeof *m))) {
		return NULL;
	}
	memset(m, 0, sizeof *m);
	return m;
}

void rel_rxmsg_put(struct rel_core *c, struct rel_rxmsg *m)
{
	if (c->rx_nfree < c->cfg.window) {
		m->next = c->rx_free;
		c->rx_free = m;
		c->rx_nfree++;
	} else {
		free(m);
	}
}

/* ---- events ---- */

int rel_event_push(struct rel_core *c, const struct rel_event *ev, uint32_t charge)
{
	struct rel_evnode *n = c->ev_free;
	if (n) {
		c->ev_free = n->next;
		c->ev_nfree--;
	} else if (!(n = rel_malloc(c, sizeof *n))) {
		return UDP_ENOMEM;
	}
	n->next = NULL;
	n->ev = *ev;
	n->charge = charge;
	if (c->ev_tail)
		c->ev_tail->next = n;
	else
		c->ev_head = n;
	c->ev_tail = n;
	return 0;
}

int rel_poll_event(struct rel_core *c, struct rel_event *ev)
{
	struct rel_evnode *n = c->ev_head;
	if (!n)
		return 0;
	c->ev_head = n->next;
	if (!c->ev_head)
		c->ev_tail = NULL;
	*ev = n->ev;
	uint32_t charge = n->charge;
	if (c->ev_nfree < 1024) { /* keep some for the next events */
		n->next = c->ev_free;
		c->ev_free = n;
		c->ev_nfree++;
	} else {
		free(n);
	}
	if (charge) {
		struct rel_sess *p = rel_sess_find(c, ev->peer);
		if (!p)
			c->mem -= charge; /* its session is gone, and its source's count */
		if (p) {
			uint64_t before = rel_rx_window(c, p);
			rel_rx_charge(c, p, -(int64_t)charge);
			p->held -= charge;
			/* window update once half the budget is free again */
			if (before < c->cfg.recv_budget / 2 && rel_rx_window(c, p) >= c->cfg.recv_budget / 2)
				rel_owe_ack(c, p, 1, 0);
		}
	}
	return 1;
}

/* ---- input ---- */

/* A packet of k's session; raw: its datagram (NULL when it came sealed). */
static int session_input(struct rel_core *c, const void *addr, size_t alen,
			 const struct rel_pkt *k, const uint8_t *raw, size_t len, uint64_t now)
{
	struct rel_sess *p = rel_sess_by_lsid(c, k->dst_sid);
	if (c->cfg.crypto && raw && k->type >= REL_PT_DATA && p) {
		/* with keys, a session's packets come sealed or not at all */
		p->st.drop_auth++;
		c->st.drop_auth++;
		return REL_EAUTH;
	}
	int here = p && rel_addr_eq(p, addr, alen);
	/* only an open session follows its peer elsewhere (rel_path.c) */
	if (!p || (!here && (k->type < REL_PT_DATA || (p->state != REL_ST_OPEN &&
							 p->state != REL_ST_LINGER)))) {
		c->st.drop_session++;
		return REL_ESESSION;
	}
	if (k->type == REL_PT_COOKIE || k->type == REL_PT_ACCEPT) {
		if (k->type == REL_PT_ACCEPT && p->state != REL_ST_CONNECT && p->state != REL_ST_HELLO) {
			if (p->rsid != k->src_sid) {
				p->st.drop_session++;
				return REL_ESESSION;
			}
			p->st.drop_dup++;
			return REL_EDUP;
		}
		p->st.pkts_recv++;
		return rel_hs_client_reply(c, p, k, raw, now);
	}
	if ((p->state == REL_ST_CONNECT || (p->state == REL_ST_HELLO && p->hs_cookie)) &&
	    k->src_sid != 0) {
		/* the server has a session for us but its ACCEPT was lost:
		 * ask again at once with our cookie (a valid CONNECT is
		 * answered with ACCEPT); the server is alive */
		p->st.drop_unexpected++;
		p->last_recv = now;
		enum rel_state st = p->state;
		p->state = REL_ST_CONNECT;
		rel_send_handshake(c, p, now);
		p->state = st;
		return REL_EUNEXPECTED;
	}
	if ((p->state != REL_ST_OPEN && p->state != REL_ST_LINGER) || p->rsid != k->src_sid) {
		p->st.drop_session++;
		c->st.drop_session++;
		return REL_ESESSION;
	}
	if (k->type == REL_PT_CHALLENGE || k->type == REL_PT_RESPONSE) {
		if (p->path_check && here)
			p->path_rx += len;
		return rel_path_probe(c, p, addr, alen, k, now);
	}
	if (!here) {
		int rc = rel_path_input(c, p, addr, alen, k, len, now);
		if (rc < 0)
			return rc;
	} else if (p->path_check) {
		p->path_rx += len; /* what the 3x limit allows to send there */
	}
	p->st.pkts_recv++;
	p->last_recv = now;
	if (p->state == REL_ST_LINGER) /* the peer still retransmits: stay */
		p->linger_at = now + rel_linger(c, p);
	if (k->type == REL_PT_DATA || k->type == REL_PT_PING || (k->type == REL_PT_PROBE && k->probe_id)) {
		p->ts_recent = k->ts;
		p->ts_recent_at = now;
		p->have_ts = 1;
	}
	if (k->type == REL_PT_PING)
		rel_owe_ack(c, p, 1, now);
	rel_on_ackblock(c, p, k, now);
	int rc = 0;
	if (k->type == REL_PT_DATA) {
		uint32_t before = p->rcv_nxt;
		rc = rel_rx_data(c, p, k, now);
		/* in-order data may wait for a delayed ack; a duplicate, a
		 * hole, a filled hole or a FIN is acked at once */
		int in_order = rc == 0 && k->seq == before && p->rcv_nxt == before + 1 &&
			       !(k->flags & REL_F_FIN);
		rel_owe_ack(c, p, !in_order, now);
	}
	else if (k->type == REL_PT_DGRAM)
		rc = rel_rx_dgram(c, p, k, now);
	else if (k->type == REL_PT_PROBE)
		rel_pmtu_input(c, p, k, now);
	rel_sess_flush(c, p, now);
	return rc;
}

/* A SEALED datagram (PROTOCOL.md 9.2): its session by the outer sids, the
 * hook opens it, and the packet inside goes the way of any other. */
static int sealed_input(struct rel_core *c, const void *addr, size_t alen,
			const uint8_t *bytes, size_t len, uint64_t now)
{
	uint32_t dst, src;
	if (rel_wire_sealed(bytes, len, c->seal_oh, &dst, &src) < 0) {
		c->st.drop_malformed++;
		return REL_EMALFORMED;
	}
	struct rel_sess *p = rel_sess_by_lsid(c, dst);
	if (!p) {
		c->st.drop_session++;
		return REL_ESESSION;
	}
	if (!p->keyed) {
		/* no keys yet: a client whose server accepted while the ACCEPT
		 * was lost asks again at once, with the same CONNECT */
		if (rel_addr_eq(p, addr, alen) && !p->passive && p->hs_saved &&
		    (p->state == REL_ST_CONNECT || p->state == REL_ST_HELLO)) {
			p->st.drop_unexpected++;
			(void)rel_emit_raw(c, p, p->hs_saved, p->hs_saved_len, now);
			return REL_EUNEXPECTED;
		}
		p->st.drop_session++;
		c->st.drop_session++;
		return REL_ESESSION;
	}
	if (src != p->rsid) {
		p->st.drop_session++;
		c->st.drop_session++;
		return REL_ESESSION;
	}
	if (scratch(c, &c->obuf, &c->obuf_cap, len) < 0)
		return UDP_ENOMEM;
	int n = c->cfg.crypto->open(c->cfg.crypto_ctx, p->crypto, bytes, len, c->obuf, c->obuf_cap, now);
	if (n < 0 || (size_t)n > c->obuf_cap) {
		p->st.drop_auth++;
		c->st.drop_auth++;
		return REL_EAUTH;
	}
	if (p->passive && p->hs_saved) {
		/* the client has its keys: no ACCEPT to repeat any more */
		free(p->hs_saved);
		p->hs_saved = NULL;
		p->hs_saved_len = 0;
	}
	struct rel_pkt k;
	int rc = rel_wire_decode(&k, c->obuf, (size_t)n);
	if (rc == 0 && (k.type < REL_PT_DATA || k.type > REL_PT_PROBE || k.dst_sid != dst ||
			k.src_sid != src))
		rc = REL_EMALFORMED;
	if (rc < 0) { /* authentic, yet not a packet of ours: a broken peer */
		p->st.drop_malformed++;
		return rc;
	}
	rc = session_input(c, addr, alen, &k, NULL, len, now);
	if (rc >= 0 && (p = rel_sess_by_lsid(c, dst)))
		p->st.bytes_recv += len;
	return rc;
}

int rel_input(struct rel_core *c, const void *addr, size_t alen,
	      const void *bytes, size_t len, uint64_t now)
{
	if (!c || !addr || alen == 0 || alen > REL_ADDR_MAX)
		return REL_EADDR;
	if (!bytes && len)
		return UDP_EINVAL;
	c->st.pkts_in++;
	c->st.bytes_in += len;
	if (c->cfg.crypto && len > 2 && ((const uint8_t *)bytes)[2] == REL_PT_SEALED &&
	    ((const uint8_t *)bytes)[0] == REL_MAGIC && ((const uint8_t *)bytes)[1] == REL_VERSION)
		return sealed_input(c, addr, alen, bytes, len, now);
	struct rel_pkt k;
	int rc = rel_wire_decode(&k, bytes, len);
	if (rc == REL_EMAGIC)
		c->st.drop_magic++;
	else if (rc == REL_ECHECKSUM)
		c->st.drop_checksum++;
	else if (rc < 0)
		c->st.drop_malformed++;
	if (rc < 0)
		return rc;
	switch (k.type) {
	case REL_PT_HELLO:
		return rel_hs_hello(c, addr, alen, &k, len, now);
	case REL_PT_CONNECT:
		return rel_hs_connect(c, addr, alen, &k, bytes, len, now);
	default:
		rc = session_input(c, addr, alen, &k, bytes, len, now);
		if (rc >= 0) {
			struct rel_sess *p = rel_sess_by_lsid(c, k.dst_sid);
			if (p)
				p->st.bytes_recv += len;
		}
		return rc;
	}
}

/* ---- timers and API wrappers ---- */

void rel_update(struct rel_core *c, uint64_t now)
{
	c->out_blocked = 0;
	struct rel_sess *p = c->peers;
	while (p) {
		struct rel_sess *next = p->next;
		if (!rel_sess_timers(c, p, now))
			rel_sess_flush(c, p, now);
		p = next;
	}
}

uint64_t rel_next_deadline(const struct rel_core *c)
{
	if (c->out_blocked)
		return 0;
	uint64_t d = UINT64_MAX;
	for (const struct rel_sess *p = c->peers; p; p = p->next) {
		uint64_t t = rel_sess_deadline(c, p);
		if (t < d)
			d = t;
	}
	return d;
}

static int send_to(struct rel_core *c, uint32_t id, const void *data, int borrow, size_t len,
		   enum rel_mode mode, uint64_t now, uint64_t *msg_id)
{
	if (!c || (!data && len))
		return UDP_EINVAL;
	struct rel_sess *p = rel_sess_find(c, id);
	if (!p)
		return REL_ENOPEER;
	return rel_sess_send(c, p, data, borrow, len, mode, now, msg_id);
}

int rel_send(struct rel_core *c, uint32_t id, const void *data, size_t len,
	     enum rel_mode mode, uint64_t now, uint64_t *msg_id)
{
	return send_to(c, id, data, 0, len, mode, now, msg_id);
}

int rel_send_borrowed(struct rel_core *c, uint32_t id, const void *data, size_t len,
		      enum rel_mode mode, uint64_t now, uint64_t *msg_id)
{
	return send_to(c, id, data, 1, len, mode, now, msg_id);
}

size_t rel_dgram_max(const struct rel_core *c)
{
	return c->base - REL_DGRAM_OVERHEAD;
}

int rel_peer_pmtu(const struct rel_core *c, uint32_t id)
{
	const struct rel_sess *p = c ? rel_sess_find(c, id) : NULL;
	if (!p)
		return REL_ENOPEER;
	return (int)(p->pm.cur ? p->pm.cur + c->below : c->cfg.mtu);
}

int rel_peer_set_mtu_ceiling(struct rel_core *c, uint32_t id, size_t bytes)
{
	struct rel_sess *p = c ? rel_sess_find(c, id) : NULL;
	if (!p)
		return REL_ENOPEER;
	p->pm.hint = 0;
	if (p->pm.cur) /* open: takes effect now; else at rel_pmtu_open */
		rel_pmtu_set_hint(c, p, bytes, p->last_recv);
	else
		p->pm.hint = bytes > 65507 ? 65507 : (uint32_t)bytes;
	return 0;
}

void *rel_peer_crypto(const struct rel_core *c, uint32_t id)
{
	const struct rel_sess *p = c ? rel_sess_find(c, id) : NULL;
	return p ? p->crypto : NULL;
}

void rel_set_route_mtu(struct rel_core *c, rel_route_mtu_fn fn, void *ctx)
{
	c->route_mtu = fn;
	c->route_ctx = ctx;
}

int rel_peer_stats(const struct rel_core *c, uint32_t id, struct rel_stats *out)
{
	const struct rel_sess *p = rel_sess_find(c, id);
	if (!p)
		return REL_ENOPEER;
	*out = p->st;
	out->srtt_us = p->srtt;
	out->rttvar_us = p->rttvar;
	out->rto_us = p->rto;
	out->inflight_pkts = p->snd_nxt - p->snd_una;
	out->peer_window = p->peer_window;
	out->recv_mem = p->used + p->held;
	out->pmtu = (uint64_t)rel_peer_pmtu(c, id);
	return 0;
}

int rel_peer_addr(const struct rel_core *c, uint32_t id, void *buf, size_t cap)
{
	const struct rel_sess *p = rel_sess_find(c, id);
	if (!p)
		return REL_ENOPEER;
	memcpy(buf, p->addr, p->addr_len < cap ? p->addr_len : cap);
	return (int)p->addr_len;
}

int rel_peer_prev_addr(const struct rel_core *c, uint32_t id, void *buf, size_t cap)
{
	const struct rel_sess *p = rel_sess_find(c, id);
	if (!p)
		return REL_ENOPEER;
	memcpy(buf, p->prev_addr, p->prev_len < cap ? p->prev_len : cap);
	return (int)p->prev_len;
}

void rel_core_stats(const struct rel_core *c, struct rel_core_stats *out)
{
	*out = c->st;
	out->recv_mem = c->mem;
}

int rel_close(struct rel_core *c, uint32_t id, uint64_t now)
{
	if (!c)
		return UDP_EINVAL;
	struct rel_sess *p = rel_sess_find(c, id);
	if (!p)
		return REL_ENOPEER;
	return rel_sess_close(c, p, now);
}
