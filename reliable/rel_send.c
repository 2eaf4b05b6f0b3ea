/* rel_send.c - the sending half of a session: the send window, what acks
 * and selective acks say (rel_ack.c makes ours), RTT/RTO (RFC 6298), loss
 * recovery, keepalive, dead-peer detection and the graceful close. */
#include <stdlib.h>
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"

int rel_sess_alloc_windows(struct rel_core *c, struct rel_sess *p)
{
	p->ring = calloc((size_t)c->ring_mask + 1, sizeof *p->ring);
	p->rbits = calloc((size_t)c->ring_mask + 1, 1);
	if (c->cfg.cc && c->cfg.cc->state_size) {
		/* and a copy of it from before a timeout (rel_frto.c) */
		if (!(p->cc_state = calloc(2, c->cfg.cc->state_size)))
			return UDP_ENOMEM;
		p->cc_saved = (uint8_t *)p->cc_state + c->cfg.cc->state_size;
	}
	return p->ring && p->rbits ? 0 : UDP_ENOMEM;
}

static void cc_info(const struct rel_core *c, const struct rel_sess *p, struct rel_cc_info *i)
{
	i->peer = p->id;
	i->mss = p->pm.cur ? rel_frag_max(p) : c->base - REL_DATA_OVERHEAD;
	i->inflight_bytes = p->inflight_bytes;
	i->srtt_us = p->have_rtt ? p->srtt : 0;
	i->rttvar_us = p->have_rtt ? p->rttvar : 0;
	i->latest_rtt_us = p->have_rtt ? p->rtt_latest : 0;
}

void rel_sess_open(struct rel_core *c, struct rel_sess *p, uint32_t peer_init_seq,
		   const struct rel_pkt *k, uint64_t now)
{
	p->state = REL_ST_OPEN;
	p->rcv_nxt = p->rcv_max = peer_init_seq;
	p->snd_una = p->snd_nxt = p->hs_init_seq;
	p->peer_window_pkts = k->window_pkts ? k->window_pkts : 1;
	p->win = p->peer_window_pkts < c->cfg.window ? p->peer_window_pkts : c->cfg.window;
	p->peer_max_msg = k->max_msg;
	p->peer_window = k->budget;
	p->rto_at = 0;
	p->last_recv = now;
	rel_pmtu_open(c, p, now);
	if (c->cfg.cc && c->cfg.cc->init) {
		struct rel_cc_info info;
		cc_info(c, p, &info);
		c->cfg.cc->init(p->cc_state, c->cfg.cc_ctx, &info);
	}
}

void rel_sess_free_tx(struct rel_sess *p)
{
	while (p->q_head) {
		struct rel_txmsg *m = p->q_head;
		p->q_head = m->next;
		free(m);
	}
	p->q_tail = p->q_send = NULL;
}

void rel_sess_path_reset(struct rel_core *c, struct rel_sess *p)
{
	p->have_rtt = 0;
	p->srtt = p->rttvar = p->rtt_latest = p->rtt_min = p->rack_rtt = 0;
	rel_frto_judge(c, p, 0, 0); /* a new path: its state is not the old one's */
	p->rto_floor = 0;
	p->rto = c->cfg.rto_initial_us;
	p->rto_linear = 0;
	if (c->cfg.cc) {
		if (p->cc_state)
			memset(p->cc_state, 0, c->cfg.cc->state_size);
		if (c->cfg.cc->init) {
			struct rel_cc_info info;
			cc_info(c, p, &info);
			c->cfg.cc->init(p->cc_state, c->cfg.cc_ctx, &info);
		}
	}
}

static void cc_event(struct rel_core *c, struct rel_sess *p, enum rel_cc_event ev,
		     uint64_t bytes, uint64_t now)
{
	if (c->cfg.cc) {
		struct rel_cc_info info;
		cc_info(c, p, &info);
		c->cfg.cc->on_event(p->cc_state, c->cfg.cc_ctx, &info, ev, bytes, now);
	}
}

/* RFC 6298's RTO, not below a delay spike that fired a spurious one */
uint64_t rel_rto_calc(const struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	uint64_t var = p->rttvar ? 4 * p->rttvar : 1;
	uint64_t rto = p->srtt + var;
	uint64_t floor = rel_rto_floor(p, now);
	if (rto < floor)
		rto = floor;
	if (rto < c->cfg.rto_min_us)
		rto = c->cfg.rto_min_us;
	if (rto > c->cfg.rto_max_us)
		rto = c->cfg.rto_max_us;
	return rto;
}

static void rtt_sample(struct rel_core *c, struct rel_sess *p, uint64_t r, uint64_t now)
{
	p->rtt_latest = r;
	if (!p->have_rtt || r < p->rtt_min)
		p->rtt_min = r;
	if (!p->have_rtt) {
		p->srtt = r;
		p->rttvar = r / 2;
		p->have_rtt = 1;
	} else {
		uint64_t d = p->srtt > r ? p->srtt - r : r - p->srtt;
		p->rttvar = (3 * p->rttvar + d) / 4;
		p->srtt = (7 * p->srtt + r) / 8;
	}
	p->rto = rel_rto_calc(c, p, now);
	p->st.rtt_samples++;
}

/* Long enough for the peer's retransmitted FIN to find us: linger_us,
 * and at least four of our RTOs. */
uint64_t rel_linger(const struct rel_core *c, const struct rel_sess *p)
{
	return c->cfg.linger_us > 4 * p->rto ? c->cfg.linger_us : 4 * p->rto;
}

void rel_check_done(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (p->state == REL_ST_OPEN && p->fin_acked && p->peer_fin) {
		p->state = REL_ST_LINGER;
		p->linger_at = now + rel_linger(c, p);
		p->rto_at = 0;
	}
}

/* Frees the messages the cumulative ack has passed, oldest first. */
static void release_acked(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	while (p->q_head && p->q_head != p->q_send) {
		struct rel_txmsg *m = p->q_head;
		if (rel_seq_diff(m->first_seq + m->nfrag, p->snd_una) > 0)
			break;
		p->q_head = m->next;
		if (!p->q_head)
			p->q_tail = NULL;
		p->outstanding -= m->len;
		p->queued -= m->len;
		struct rel_event ev = {.peer = p->id};
		if (m->fin) {
			p->fin_acked = 1;
			ev.type = REL_EV_CLOSED;
		} else {
			ev.type = REL_EV_ACKED;
			ev.msg_id = m->id;
			ev.mode = (enum rel_mode)m->mode;
			p->st.msgs_acked++;
		}
		(void)rel_event_push(c, &ev, 0);
		rel_txmsg_put(c, m);
	}
	rel_check_done(c, p, now);
}

static int ack_slot(struct rel_sess *p, struct rel_txpkt *t, uint64_t now)
{
	if (t->state != TX_INFLIGHT)
		return 0;
	t->state = TX_ACKED;
	if (t->lost) {
		t->lost = 0;
		p->n_lost--;
	} else {
		p->inflight_bytes -= t->len;
		p->inflight_pkts--;
	}
	/* An ack sooner than any RTT after a retransmission is for an earlier
	 * copy: it says nothing of packets sent since (RFC 8985 6.2 step 2). */
	if (t->txo > p->largest_acked_txo && (t->tx_count == 1 || now - t->sent_us >= p->rtt_min)) {
		p->largest_acked_txo = t->txo;
		p->rack_rtt = now - t->sent_us;
	}
	return 1;
}

/* Tail loss probe: when nothing is acked for 2 srtt (plus the peer's ack
 * delay) after the last send, the newest packet in flight goes again, once
 * per tail, to draw an ack before the RTO (which stays armed). */
static void arm_probe(const struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	p->tlp_at = 0;
	if (!p->have_rtt || p->tlp_sent || p->frto || p->snd_una == p->snd_nxt)
		return;
	uint64_t at = now + 2 * p->srtt + c->cfg.ack_delay_us + 1000;
	if (!p->rto_at || at < p->rto_at)
		p->tlp_at = at;
}

static void mark_lost(struct rel_sess *p, struct rel_txpkt *t, uint8_t how)
{
	if (t->lost)
		return;
	t->lost = how;
	p->n_lost++;
	p->inflight_bytes -= t->len;
	p->inflight_pkts--;
}

/* A thin stream: application-limited (every queued message is out) with
 * few packets in flight.  Its losses are repaired sooner (docs/PROTOCOL.md,
 * "Thin streams"): a spurious retransmission costs it one small packet,
 * while waiting costs every message behind a hole.  Its first timeouts
 * keep the RTO, as Linux's tcp_thin_linear_timeouts. */
#define REL_THIN_PKTS 16
#define REL_THIN_LINEAR_RTO 6

static int thin_stream(const struct rel_sess *p)
{
	return !p->q_send && p->inflight_pkts < REL_THIN_PKTS;
}

/* Loss detection in the manner of RACK (RFC 8985): a packet is lost once
 * dupthresh packets sent after it have been acked (1 by default: any) and
 * it has been out for more than 5/4 srtt, so reordering within a quarter
 * RTT causes no retransmission.  A thin stream uses RFC 8985's own, tighter
 * age: the RTT of the latest-sent packet acked plus a quarter of min RTT.
 * A packet that is not old enough yet is checked again at loss_at, so a
 * loss at the end of a burst does not wait for the RTO. */
static void detect_losses(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	uint64_t min_age = thin_stream(p) ? p->rack_rtt + p->rtt_min / 4 : p->srtt + p->srtt / 4;
	p->loss_at = 0;
	for (uint32_t s = p->snd_una; s != p->snd_nxt; s++) {
		struct rel_txpkt *t = &p->ring[s & c->ring_mask];
		/* First transmissions go out in seq order, so a packet sent
		 * once that is too recent has only more recent packets after
		 * it: the scan ends there, and with acks in order (no loss)
		 * that is at once. */
		if (t->tx_count == 1 && t->txo + c->cfg.dupthresh > p->largest_acked_txo)
			break;
		if (t->state != TX_INFLIGHT || t->lost || t->txo + c->cfg.dupthresh > p->largest_acked_txo)
			continue;
		if (now - t->sent_us < min_age) {
			uint64_t at = t->sent_us + min_age;
			if (!p->loss_at || at < p->loss_at)
				p->loss_at = at;
			continue;
		}
		mark_lost(p, t, REL_LOST);
		p->st.fast_retransmits++;
		cc_event(c, p, REL_CC_LOST, t->len, now);
		rel_pmtu_lost(c, p, t->len, now);
	}
}

/* While a timeout is judged: notes a packet acked whose only send was
 * before it, and what RACK would make of it were the timeout spurious. */
static void frto_seen(const struct rel_sess *p, const struct rel_txpkt *t, int *before, uint64_t *la,
		      uint64_t *la_rtt, uint64_t now)
{
	if (!p->frto || t->txo > p->frto_txo)
		return;
	*before = 1;
	if (t->txo > *la) {
		*la = t->txo;
		*la_rtt = now - t->sent_us;
	}
}

void rel_on_ackblock(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now)
{
	uint64_t newly = 0, newly_bytes = 0;
	int before = 0; /* a packet sent only before a pending timeout arrived */
	uint64_t la = p->largest_acked_txo, la_rtt = p->rack_rtt; /* RACK's, before this ack */
	/* The newest advertisement wins, also when acks are reordered: newer
	 * by the peer's clock, then by cumulative ack; a tie keeps the smaller. */
	int32_t dts = rel_seq_diff(k->ts, p->peer_window_ts);
	int32_t dcum = rel_seq_diff(k->cum_ack, p->peer_window_cum);
	if (!p->have_window_ts || dts > 0 || (dts == 0 && dcum > 0) ||
	    (dts == 0 && dcum == 0 && k->window < p->peer_window)) {
		p->have_window_ts = 1;
		p->peer_window = k->window;
		p->peer_window_ts = k->ts;
		p->peer_window_cum = k->cum_ack;
	}
	if (k->flags & REL_F_ECHO) {
		uint32_t r = (uint32_t)now - k->ts_echo;
		if (r < 0x80000000u) {
			int first = !p->have_rtt;
			rtt_sample(c, p, r, now);
			if (first)
				rel_pmtu_rtt(p, now);
		}
	}
	if (p->state != REL_ST_OPEN && p->state != REL_ST_LINGER)
		return;
	int32_t adv = rel_seq_diff(k->cum_ack, p->snd_una);
	if (adv > 0 && rel_seq_diff(k->cum_ack, p->snd_nxt) <= 0) {
		for (uint32_t s = p->snd_una; s != k->cum_ack; s++) {
			struct rel_txpkt *t = &p->ring[s & c->ring_mask];
			uint32_t len = t->len;
			if (ack_slot(p, t, now)) {
				newly++;
				newly_bytes += len;
				rel_pmtu_acked(c, p, len);
				frto_seen(p, t, &before, &la, &la_rtt, now);
			}
			t->state = TX_FREE;
		}
		p->snd_una = k->cum_ack;
	}
	for (uint32_t i = 0; i < 32u * k->sack_words; i++) {
		if (!(k->sack[i / 32] & (1u << (i % 32))))
			continue;
		uint32_t s = k->cum_ack + 1 + i;
		if (rel_seq_diff(s, p->snd_una) < 0 || rel_seq_diff(s, p->snd_nxt) >= 0)
			continue;
		struct rel_txpkt *t = &p->ring[s & c->ring_mask];
		uint32_t len = t->len;
		if (ack_slot(p, t, now)) {
			newly++;
			newly_bytes += len;
			rel_pmtu_acked(c, p, len);
			frto_seen(p, t, &before, &la, &la_rtt, now);
		}
	}
	if (!newly) {
		/* the cumulative ack may still pass packets sacked before */
		if (adv > 0 && rel_seq_diff(k->cum_ack, p->snd_una) == 0) {
			p->rto_at = p->snd_una == p->snd_nxt ? 0 : now + p->rto;
			release_acked(c, p, now);
		}
		return;
	}
	if (p->frto) {
		/* After one timeout, a packet sent only before it was acked
		 * (F-RTO with SACK).  After more, acks may have been lost all
		 * along: only Eifel's proof counts, an echo of a timestamp from
		 * before the first (the receiver echoes its latest packet's). */
		int spurious = p->frto_n == 1 && before;
		if ((k->flags & REL_F_ECHO) && (int32_t)(k->ts_echo - (uint32_t)p->frto_at) < 0)
			spurious = 1;
		if (spurious) {
			/* the probes were acked for their first copies: they
			 * say nothing of what was sent after them (RACK) */
			p->largest_acked_txo = la;
			p->rack_rtt = la_rtt;
		}
		rel_frto_judge(c, p, spurious, now);
	}
	cc_event(c, p, REL_CC_ACKED, newly_bytes, now);
	detect_losses(c, p, now);
	p->rto_at = p->snd_una == p->snd_nxt ? 0 : now + p->rto;
	p->tlp_sent = 0;
	p->rto_linear = 0;
	arm_probe(c, p, now);
	if (adv > 0 && rel_seq_diff(k->cum_ack, p->snd_una) == 0)
		release_acked(c, p, now);
}

/* ---- sending ---- */

static int out_room(const struct rel_core *c)
{
	return c->out_len < c->cfg.out_queue;
}

/* A fragment bigger than the path now takes (it was cut when the path
 * carried more, and the path shrank) goes in parts of what it takes: the
 * receiver puts them together, and acks its sequence number once all are
 * in (PROTOCOL.md, "Path MTU discovery").  A lost part costs the whole
 * fragment's retransmission, as any lost fragment does. */
static int send_parts(struct rel_core *c, struct rel_sess *p, struct rel_pkt *k, uint64_t now)
{
	uint32_t room = p->pm.cur - REL_DATA_OVERHEAD - REL_PART_LEN;
	uint32_t n = (k->frag_len + room - 1) / room;
	if (n < 2)
		n = 2;
	if (n > REL_PART_MAX || k->frag_len < n) /* the ceiling keeps this from happening */
		return UDP_EINVAL;
	if (c->out_len + n > c->cfg.out_queue) {
		c->out_blocked = 1; /* all at once, after the drain */
		return UDP_ENOSPACE;
	}
	const uint8_t *data = k->payload;
	k->flags |= REL_F_PART;
	k->part_count = (uint16_t)n;
	uint32_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		k->part_index = (uint16_t)i;
		k->payload = data + off;
		k->payload_len = rel_part_len(k->frag_len, n, i);
		off += (uint32_t)k->payload_len;
		int rc = rel_emit_len(c, p, k, p->pm.cur, now);
		if (rc < 0)
			return rc;
		p->st.parts_sent++;
	}
	return 0;
}

static int send_slot(struct rel_core *c, struct rel_sess *p, uint32_t seq, uint64_t now)
{
	struct rel_txpkt *t = &p->ring[seq & c->ring_mask];
	struct rel_txmsg *m = t->msg;
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_DATA;
	rel_fill_ackblock(c, p, &k, now);
	if (m->fin)
		k.flags |= REL_F_FIN;
	if (m->mode == REL_SEQPACKET)
		k.flags |= REL_F_SEQPACKET;
	k.seq = seq;
	k.msg_len = m->len;
	k.frag_off = t->off;
	k.frag_index = t->index;
	k.frag_count = m->nfrag;
	k.payload = m->bytes + t->off;
	k.payload_len = t->len;
	int n;
	if (t->len > rel_frag_max(p)) {
		k.frag_len = t->len;
		n = send_parts(c, p, &k, now);
	} else {
		n = rel_emit_len(c, p, &k, p->pm.cur, now);
	}
	if (n < 0)
		return n;
	t->sent_us = now;
	p->inflight_bytes += t->len;
	p->inflight_pkts++;
	t->txo = ++p->txo_next;
	if (t->tx_count < UINT16_MAX) /* stays > 1 once resent (detect_losses) */
		t->tx_count++;
	p->st.data_sent++;
	cc_event(c, p, REL_CC_SENT, t->len, now);
	if (!p->rto_at)
		p->rto_at = now + p->rto;
	return 0;
}

static int cc_allows(struct rel_core *c, struct rel_sess *p, size_t bytes, uint64_t now)
{
	if (!c->cfg.cc)
		return 1;
	uint64_t wake = 0;
	struct rel_cc_info info;
	cc_info(c, p, &info);
	if (c->cfg.cc->may_send(p->cc_state, c->cfg.cc_ctx, &info, bytes, now, &wake))
		return 1;
	p->cc_wake = wake;
	return 0;
}

void rel_sess_flush(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (p->state != REL_ST_OPEN && p->state != REL_ST_LINGER)
		return;
	uint64_t sent_before = p->st.data_sent;
	p->cc_wake = 0;
	for (uint32_t s = p->snd_una; p->n_lost && s != p->snd_nxt; s++) {
		struct rel_txpkt *t = &p->ring[s & c->ring_mask];
		if (t->state != TX_INFLIGHT || t->lost != REL_LOST)
			continue;
		if (!out_room(c) || !cc_allows(c, p, t->len, now))
			goto done;
		if (send_slot(c, p, s, now) < 0)
			goto done;
		t->lost = 0;
		p->n_lost--;
		p->st.retransmits++;
	}
	while (p->q_send && p->state == REL_ST_OPEN && !p->frto) { /* a timeout's probe alone */
		struct rel_txmsg *m = p->q_send;
		if ((uint32_t)(p->snd_nxt - p->snd_una) >= p->win)
			break;
		if (m->next_frag == 0 && !m->fin && p->outstanding + m->len > p->peer_window) {
			/* flow control: the peer's receive budget.  With nothing
			 * in flight the retransmission timer probes (PING). */
			p->flow_blocked = 1;
			if (p->snd_una == p->snd_nxt && !p->rto_at)
				p->rto_at = now + p->rto;
			break;
		}
		p->flow_blocked = 0;
		if (m->next_frag == 0 && !m->fin && m->len) {
			/* cut at the path MTU of the moment it starts: its
			 * fragment size is fixed from here on (PROTOCOL.md 2.6) */
			m->frag_size = rel_frag_max(p);
			m->nfrag = (uint32_t)((m->len + m->frag_size - 1) / m->frag_size);
		}
		uint32_t off = m->next_frag * m->frag_size;
		uint32_t len = m->len - off < m->frag_size ? m->len - off : m->frag_size;
		if (!out_room(c) || !cc_allows(c, p, len, now))
			break;
		if (m->next_frag == 0) {
			m->first_seq = p->snd_nxt;
			p->outstanding += m->len;
		}
		struct rel_txpkt *t = &p->ring[p->snd_nxt & c->ring_mask];
		memset(t, 0, sizeof *t);
		t->msg = m;
		t->index = m->next_frag;
		t->off = off;
		t->len = len;
		t->state = TX_INFLIGHT;
		if (send_slot(c, p, p->snd_nxt, now) < 0) {
			t->state = TX_FREE; /* cannot happen: room was checked */
			break;
		}
		p->snd_nxt++;
		if (++m->next_frag == m->nfrag) {
			p->q_send = m->next;
			if (m->fin) {
				p->fin_sent = 1;
				p->fin_seq = m->first_seq;
			}
		}
	}
done:
	if (p->st.data_sent != sent_before)
		arm_probe(c, p, now);
	if (p->ack_pending && (p->ack_now || now >= p->ack_at)) {
		if (out_room(c))
			rel_send_ack(c, p, REL_PT_ACK, now);
		else
			c->out_blocked = 1;
	}
}

static int queue_msg(struct rel_sess *p, struct rel_txmsg *m)
{
	m->id = ++p->msg_id_next;
	if (p->q_tail)
		p->q_tail->next = m;
	else
		p->q_head = m;
	p->q_tail = m;
	if (!p->q_send)
		p->q_send = m;
	p->queued += m->len;
	return 0;
}

static int send_dgram(struct rel_core *c, struct rel_sess *p, const void *data, size_t len, uint64_t now)
{
	if (len > c->base - REL_DGRAM_OVERHEAD || len > c->cfg.max_msg || len > p->peer_max_msg)
		return REL_ETOOBIG;
	if (!out_room(c))
		return REL_EFULL;
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_DGRAM;
	rel_fill_ackblock(c, p, &k, now);
	k.seq = p->dg_next++;
	k.payload = data;
	k.payload_len = len;
	int n = rel_emit(c, p, &k, now);
	if (n < 0)
		return n;
	p->st.msgs_sent++;
	return 0;
}

int rel_sess_send(struct rel_core *c, struct rel_sess *p, const void *data, int borrow,
		  size_t len, enum rel_mode mode, uint64_t now, uint64_t *msg_id)
{
	if (mode != REL_DGRAM && mode != REL_RDM && mode != REL_SEQPACKET)
		return REL_EMODE;
	if (p->state == REL_ST_HELLO || p->state == REL_ST_CONNECT)
		return REL_ENOTCONN;
	if (p->state != REL_ST_OPEN || p->close_req)
		return REL_ECLOSED;
	if (mode == REL_DGRAM)
		return send_dgram(c, p, data, len, now);
	if (len > c->cfg.max_msg || len > p->peer_max_msg)
		return REL_ETOOBIG;
	if (p->queued + len > c->cfg.send_budget)
		return REL_EFULL;
	/* the record and the bytes together, or a bare record pointing at
	 * the caller's (a DGRAM went out above: nothing is kept of it) */
	struct rel_txmsg *m = rel_txmsg_get(c, borrow ? 0 : len);
	if (!m)
		return UDP_ENOMEM;
	if (borrow)
		m->bytes = data;
	else if (len)
		memcpy(m->data, data, len);
	m->len = (uint32_t)len;
	m->mode = (uint8_t)mode;
	m->frag_size = (uint32_t)(c->base - REL_DATA_OVERHEAD); /* set again when it starts */
	m->nfrag = len ? (uint32_t)((len + m->frag_size - 1) / m->frag_size) : 1;
	queue_msg(p, m);
	p->st.msgs_sent++;
	if (msg_id)
		*msg_id = m->id;
	rel_sess_flush(c, p, now);
	return 0;
}

int rel_sess_close(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (p->state == REL_ST_HELLO || p->state == REL_ST_CONNECT)
		return REL_ENOTCONN;
	if (p->state != REL_ST_OPEN || p->close_req)
		return REL_ECLOSED;
	struct rel_txmsg *m = rel_txmsg_get(c, 0);
	if (!m)
		return UDP_ENOMEM;
	m->fin = 1;
	m->mode = REL_SEQPACKET;
	m->nfrag = 1;
	m->frag_size = 1;
	p->close_req = 1;
	queue_msg(p, m);
	rel_sess_flush(c, p, now);
	return 0;
}

/* ---- timers ---- */

/* Doubles an RTO, up to rto_max and to dead_us / 4: the peer should see a
 * few tries before either side gives up on the other. */
static uint64_t backoff(const struct rel_core *c, uint64_t rto)
{
	uint64_t cap = c->cfg.rto_max_us < c->cfg.dead_us / 4 ? c->cfg.rto_max_us : c->cfg.dead_us / 4;
	if (cap < c->cfg.rto_min_us)
		cap = c->cfg.rto_min_us;
	return 2 * rto < cap ? 2 * rto : (rto > cap ? rto : cap);
}

/* Packets a timeout sends at once under congestion control: Reno's
 * window after one, and one lost probe must not cost another timeout (the
 * other's ack shows the loss).  Without, one. */
#define REL_RTO_PROBES 2

int rel_sess_timers(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (p->state == REL_ST_LINGER) {
		if (now >= p->linger_at) {
			rel_sess_destroy(c, p);
			return 1;
		}
		return 0;
	}
	if (now - p->last_recv >= c->cfg.dead_us) {
		struct rel_event ev = {.type = REL_EV_DEAD, .peer = p->id};
		/* Only our FIN is unacked, the peer closed too: all our data
		 * was delivered (its acks said so), the peer has just gone. */
		if (p->peer_fin && p->fin_sent && !p->fin_acked && p->q_head && p->q_head->fin)
			ev.type = REL_EV_CLOSED;
		(void)rel_event_push(c, &ev, 0);
		rel_sess_destroy(c, p);
		return 1;
	}
	if (p->state == REL_ST_HELLO || p->state == REL_ST_CONNECT) {
		if (p->rto_at && now >= p->rto_at) {
			/* backoff capped at dead_us / 8: several tries before giving up */
			uint64_t cap = c->cfg.dead_us / 8 < c->cfg.rto_max_us ? c->cfg.dead_us / 8 : c->cfg.rto_max_us;
			if (cap < c->cfg.rto_initial_us)
				cap = c->cfg.rto_initial_us;
			p->st.timeouts++;
			p->rto = 2 * p->rto < cap ? 2 * p->rto : cap;
			p->rto_at = now + p->rto;
			/* an old cookie may have expired: start over now and then */
			if (p->state == REL_ST_CONNECT && ++p->hs_tries >= 3)
				p->state = REL_ST_HELLO;
			rel_send_handshake(c, p, now);
		}
		return 0;
	}
	rel_rx_timers(c, p, now);
	rel_path_timers(c, p, now);
	rel_pmtu_timers(c, p, now);
	if (p->loss_at && now >= p->loss_at)
		detect_losses(c, p, now);
	if (p->tlp_at && now >= p->tlp_at) {
		p->tlp_at = 0;
		for (uint32_t s = p->snd_nxt; s != p->snd_una; s--) {
			struct rel_txpkt *t = &p->ring[(s - 1) & c->ring_mask];
			if (t->state == TX_INFLIGHT && !t->lost) {
				mark_lost(p, t, REL_LOST);
				p->tlp_sent = 1;
				p->st.probes++;
				break;
			}
		}
	}
	if (p->rto_at && now >= p->rto_at) {
		if (p->snd_una == p->snd_nxt && p->flow_blocked) {
			if (out_room(c)) {
				rel_send_ack(c, p, REL_PT_PING, now); /* window probe */
				p->rto = backoff(c, p->rto);
				p->rto_at = now + p->rto;
			} else {
				c->out_blocked = 1; /* probe after the drain */
			}
		} else if (p->snd_una == p->snd_nxt) {
			p->rto_at = 0;
		} else {
			/* The oldest unacked packet goes again (the probe).
			 * Under congestion control everything in flight counts
			 * as lost too (go back, paced by the window), so the
			 * window cannot stay full of packets that will never be
			 * acked; but they wait for the ack of the probe, which
			 * may show the timeout spurious (rel_frto.c). */
			int linear = thin_stream(p) && p->have_rtt && p->rto_linear < REL_THIN_LINEAR_RTO;
			uint32_t probes = REL_RTO_PROBES;
			rel_frto_timeout(c, p, now);
			for (uint32_t s = p->snd_una; s != p->snd_nxt; s++) {
				struct rel_txpkt *t = &p->ring[s & c->ring_mask];
				if (t->state != TX_INFLIGHT)
					continue;
				if (probes && t->lost == REL_LOST_RTO)
					t->lost = REL_LOST;
				mark_lost(p, t, probes ? REL_LOST : REL_LOST_RTO);
				rel_pmtu_lost(c, p, t->len, now);
				if (probes)
					probes--;
				if (!c->cfg.cc)
					break;
			}
			p->st.timeouts++;
			if (linear)
				p->rto_linear++;
			else
				p->rto = backoff(c, p->rto);
			p->rto_at = now + p->rto;
			cc_event(c, p, REL_CC_TIMEOUT, 0, now);
		}
	}
	/* with data in flight the retransmission timer probes instead */
	if (p->snd_una == p->snd_nxt && now - p->last_send >= c->cfg.keepalive_us) {
		if (out_room(c))
			rel_send_ack(c, p, REL_PT_PING, now);
		else
			c->out_blocked = 1; /* deadline 0: drain, then update */
	}
	return 0;
}

uint64_t rel_sess_deadline(const struct rel_core *c, const struct rel_sess *p)
{
	if (p->state == REL_ST_LINGER)
		return p->linger_at;
	if (p->ack_pending && p->ack_now)
		return 0;
	uint64_t d = p->last_recv + c->cfg.dead_us;
	if (p->ack_pending && p->ack_at < d)
		d = p->ack_at;
	if (p->rto_at && p->rto_at < d)
		d = p->rto_at;
	if (p->loss_at && p->loss_at < d)
		d = p->loss_at;
	if (p->tlp_at && p->tlp_at < d)
		d = p->tlp_at;
	if (p->stall_at && p->stall_at < d)
		d = p->stall_at;
	if (p->path_at && p->path_at < d)
		d = p->path_at;
	uint64_t pm = rel_pmtu_deadline(p);
	if (pm < d)
		d = pm;
	if (p->state == REL_ST_OPEN) {
		uint64_t k = p->last_send + c->cfg.keepalive_us;
		if (p->snd_una == p->snd_nxt && k < d)
			d = k;
		if (p->cc_wake && p->cc_wake < d)
			d = p->cc_wake;
	}
	return d;
}
