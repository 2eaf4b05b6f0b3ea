/* rel_frto.c - spurious retransmission timeouts, in the spirit of F-RTO
 * (RFC 5682) and Eifel (RFC 3522): a delay spike (a receiver the scheduler
 * paused, a Wi-Fi or cellular hold-up) fires the RTO although nothing was
 * lost.  After a timeout only its probe (the oldest unacked packet) goes;
 * the rest of the flight is counted out (REL_LOST_RTO) but held back.  The
 * first ack of new data judges it (rel_send.c): if it acks a packet whose
 * only transmission was before the timeout, or echoes a timestamp from
 * before it, the flight was not lost: it is put back, the congestion state
 * and the RTO are restored, and the RTO is kept above the spike.  If not,
 * the held-back packets go as after any timeout, one ack later.
 * docs/PROTOCOL.md, "Spurious timeouts". */
#include <string.h>

#include "rel_int.h"

/* A spike raises the RTO floor; the floor halves every second without a
 * new one, so a path that calmed down gets its quick RTO back. */
#define REL_SPIKE_HALF_US 1000000u

void rel_frto_timeout(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (!p->frto) {
		p->frto = 1;
		p->frto_n = 0;
		p->frto_txo = p->txo_next;
		p->frto_at = now;
		p->frto_sent = now;
		for (uint32_t s = p->snd_una; s != p->snd_nxt; s++) {
			const struct rel_txpkt *t = &p->ring[s & c->ring_mask];
			if (t->state == TX_INFLIGHT) {
				p->frto_sent = t->sent_us;
				break;
			}
		}
		p->frto_rto = p->rto;
		if (p->cc_saved)
			memcpy(p->cc_saved, p->cc_state, c->cfg.cc->state_size);
	}
	p->frto_n++;
	p->tlp_at = 0;
}

/* The first ack of new data after the timeout(s): spurious or not. */
void rel_frto_judge(struct rel_core *c, struct rel_sess *p, int spurious, uint64_t now)
{
	if (!p->frto)
		return;
	p->frto = 0;
	for (uint32_t s = p->snd_una; s != p->snd_nxt; s++) {
		struct rel_txpkt *t = &p->ring[s & c->ring_mask];
		if (t->state != TX_INFLIGHT)
			continue;
		if (spurious && !t->lost && t->txo > p->frto_txo) {
			/* a probe: its first copy's ack is on the way, sooner
			 * than an RTT from now, and says nothing of packets sent
			 * after the probe (RACK, rel_send.c ack_slot) */
			t->sent_us = now;
			continue;
		}
		if (t->lost != REL_LOST_RTO)
			continue;
		if (!spurious) {
			t->lost = REL_LOST; /* go, as after any timeout */
			continue;
		}
		t->lost = 0;
		p->n_lost--;
		p->inflight_bytes += t->len;
		p->inflight_pkts++;
	}
	if (!spurious)
		return;
	if (p->cc_saved)
		memcpy(p->cc_state, p->cc_saved, c->cfg.cc->state_size);
	/* The oldest packet took this long: the next spike of this size must
	 * not fire the timer again. */
	uint64_t spike = now - p->frto_sent;
	spike += spike / 4;
	if (spike > c->cfg.rto_max_us)
		spike = c->cfg.rto_max_us;
	if (spike > p->rto_floor)
		p->rto_floor = spike;
	p->rto_floor_at = now;
	/* the backoff undone: the estimate (this ack's sample in it) */
	p->rto = p->have_rtt ? rel_rto_calc(c, p, now) : p->frto_rto;
	if (p->rto < p->rto_floor)
		p->rto = p->rto_floor;
	p->rto_linear = 0;
	p->st.spurious_rto += p->frto_n;
}

uint64_t rel_rto_floor(struct rel_sess *p, uint64_t now)
{
	while (p->rto_floor && now - p->rto_floor_at >= REL_SPIKE_HALF_US) {
		p->rto_floor /= 2;
		p->rto_floor_at += REL_SPIKE_HALF_US;
	}
	return p->rto_floor;
}
