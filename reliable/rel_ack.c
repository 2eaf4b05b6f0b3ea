/* rel_ack.c - the receiving half's answers: the ack block every packet
 * carries (cumulative ack, selective-ack bits, window, timestamp echo),
 * when an ACK is owed, and ACKs that replace an unsent predecessor. */
#include <string.h>

#include "rel_int.h"
#include "rel_wire.h"

/* Sets k->sack bits 0..span-1 from rbits (a byte, 0 or 1, per ring slot,
 * from rcv_nxt + 1).  Under loss every ACK carries up to 1023 of them, so
 * eight bytes become eight bits with one multiplication (bit i of the
 * product's top byte is byte i) instead of a test per slot. */
static void sack_bits(const struct rel_core *c, const struct rel_sess *p, struct rel_pkt *k,
		      uint32_t span)
{
	uint32_t i = 0;
	while (i < span) {
		uint32_t pos = (p->rcv_nxt + 1 + i) & c->ring_mask;
		uint32_t run = c->ring_mask + 1 - pos; /* bytes before the ring wraps */
		if (run > span - i)
			run = span - i;
		uint32_t j = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		for (; j + 8 <= run; j += 8) {
			uint64_t x;
			memcpy(&x, p->rbits + pos + j, 8);
			if (!x)
				continue;
			uint32_t bits = (uint32_t)((x * 0x0102040810204080ull) >> 56);
			uint32_t o = i + j;
			k->sack[o / 32] |= bits << (o % 32);
			if (o % 32 > 24)
				k->sack[o / 32 + 1] |= bits >> (32 - o % 32);
		}
#endif
		for (; j < run; j++)
			if (p->rbits[pos + j])
				k->sack[(i + j) / 32] |= 1u << ((i + j) % 32);
		i += run;
	}
	for (int w = (int)((span + 31) / 32); w > 0; w--) { /* no bit at or past span */
		if (k->sack[w - 1]) {
			k->sack_words = (uint8_t)w;
			break;
		}
	}
}

void rel_fill_ackblock(struct rel_core *c, struct rel_sess *p, struct rel_pkt *k, uint64_t now)
{
	uint32_t w = c->cfg.window;
	k->dst_sid = p->rsid;
	k->src_sid = p->lsid;
	k->ts = (uint32_t)now;
	if (p->have_ts) {
		k->flags |= REL_F_ECHO;
		k->ts_echo = p->ts_recent + (uint32_t)(now - p->ts_recent_at);
	}
	uint64_t win = rel_rx_window(c, p);
	k->window = win > 0xffffffffu ? 0xffffffffu : (uint32_t)win;
	k->cum_ack = p->rcv_nxt;
	k->sack_words = 0;
	uint32_t span = w - 1 < 32 * REL_SACK_MAX ? w - 1 : 32 * REL_SACK_MAX;
	int32_t ahead = rel_seq_diff(p->rcv_max, p->rcv_nxt); /* nothing beyond rcv_max */
	if (ahead <= 1)
		span = 0;
	else if ((uint32_t)ahead - 1 < span)
		span = (uint32_t)ahead - 1;
	/* in order (the common case) no bitmap: its 128 bytes were cleared
	 * and scanned for every packet sent */
	if (span) {
		memset(k->sack, 0, sizeof k->sack);
		sack_bits(c, p, k, span);
	}
	p->ack_pending = 0;
	p->ack_now = 0;
	p->ack_count = 0;
	p->ack_at = 0;
}

void rel_owe_ack(struct rel_core *c, struct rel_sess *p, int urgent, uint64_t now)
{
	if (!p->ack_pending) {
		p->ack_pending = 1;
		p->ack_at = now + c->cfg.ack_delay_us;
	}
	if (urgent || c->cfg.ack_delay_us == 0 || ++p->ack_count >= 2)
		p->ack_now = 1;
}

/* An ACK the driver has not taken yet is replaced by the next, which says
 * all it did: one ACK per receive batch, not per packet.  The bound keeps
 * the sender's ack clock going through a huge batch.  An ACK with sack
 * bits goes out on its own: under loss, one lost ACK must not hide a hole
 * for a whole batch (docs/PROTOCOL.md). */
#define REL_ACK_MERGE_MAX 32

void rel_send_ack(struct rel_core *c, struct rel_sess *p, uint8_t type, uint64_t now)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = type;
	rel_fill_ackblock(c, p, &k, now);
	/* Not in a keyed session: sealing the queued ACK afresh could turn the
	 * hook's key phase on it, and if it was the only packet of the phase
	 * before, that phase never reaches the wire; a receiver follows one
	 * turn at a time and would be left two behind (seen in CI under load
	 * with time-based turns every 50 ms). */
	struct rel_outslot *o = !p->crypto && type == REL_PT_ACK && k.sack_words == 0 && p->ack_out &&
					p->ack_merged < REL_ACK_MERGE_MAX ?
				rel_out_queued(c, p->ack_out - 1) : NULL;
	int n = o ? rel_encode(c, p, &k, o->buf, o->cap, now) : -1;
	if (n > 0) {
		o->len = (size_t)n;
		p->ack_merged++;
		p->last_send = now;
		return;
	}
	uint64_t pos = c->out_popped + c->out_len;
	if (rel_emit(c, p, &k, now) >= 0 && type == REL_PT_ACK) {
		p->ack_out = pos + 1;
		p->ack_merged = 0;
	}
}

