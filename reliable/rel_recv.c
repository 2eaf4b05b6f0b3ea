/* rel_recv.c - the receiving half of a session: duplicate suppression by
 * sequence number, the receive window, the receive budget, reassembly of
 * fragmented messages and delivery (rdm: when complete; seqpacket: when the
 * cumulative ack passes the message, i.e. in order). */
#include <stdlib.h>
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"

/* The advertised window leaves out reassembly buffers: the sender counts
 * those itself (its outstanding messages), see PROTOCOL.md "flow control". */
uint64_t rel_rx_window(const struct rel_core *c, const struct rel_sess *p)
{
	return p->held >= c->cfg.recv_budget ? 0 : c->cfg.recv_budget - p->held;
}

static int over_budget(const struct rel_core *c, const struct rel_sess *p, uint64_t more)
{
	return p->used + p->held + more > c->cfg.recv_budget || c->mem + more > c->cfg.core_budget;
}

void rel_rx_free(struct rel_core *c, struct rel_sess *p)
{
	c->mem -= p->used;
	p->used = 0;
	while (p->rx_head) {
		struct rel_rxmsg *m = p->rx_head;
		p->rx_head = m->next;
		rel_buf_put(c, m->buf);
		free(m);
	}
	p->rx_tail = p->rx_hit = NULL;
}

static void unlink_rx(struct rel_sess *p, struct rel_rxmsg *m)
{
	*(m->prev ? &m->prev->next : &p->rx_head) = m->next;
	*(m->next ? &m->next->prev : &p->rx_tail) = m->prev;
	if (p->rx_hit == m)
		p->rx_hit = NULL;
}

/* Hands a complete message to the user (or acts on a FIN), frees m. */
static void deliver(struct rel_core *c, struct rel_sess *p, struct rel_rxmsg *m, uint64_t now)
{
	unlink_rx(p, m);
	if (m->fin) {
		p->peer_fin = 1;
		struct rel_event ev = {.type = REL_EV_PEER_CLOSED, .peer = p->id};
		(void)rel_event_push(c, &ev, 0);
		if (!p->close_req)
			(void)rel_sess_close(c, p, now); /* answer with our own FIN */
		rel_check_done(c, p, now);
	} else {
		struct rel_event ev = {.type = REL_EV_MESSAGE, .peer = p->id,
				       .mode = (enum rel_mode)m->mode, .data = m->buf, .len = m->len};
		p->used -= m->len;
		if (rel_event_push(c, &ev, m->len) < 0) {
			rel_buf_put(c, m->buf); /* out of memory: counted as delivered-and-lost */
			c->mem -= m->len;
		} else {
			p->held += m->len;
		}
		p->st.msgs_delivered++;
	}
	if (m->fin)
		rel_buf_put(c, m->buf);
	rel_rxmsg_put(c, m);
}

/* Records arrive mostly in order: a new message starts after the newest
 * record (the tail), so finding nothing and appending cost O(1); only a
 * late fragment of an older message walks the list. */
static struct rel_rxmsg *find_rx(struct rel_sess *p, uint32_t start)
{
	if (p->rx_hit && p->rx_hit->start == start)
		return p->rx_hit;
	if (!p->rx_tail || rel_seq_diff(start, p->rx_tail->start) > 0)
		return NULL;
	for (struct rel_rxmsg *m = p->rx_tail; m; m = m->prev)
		if (m->start == start)
			return p->rx_hit = m;
	return NULL;
}

static void insert_rx(struct rel_sess *p, struct rel_rxmsg *m)
{
	struct rel_rxmsg *after = p->rx_tail;
	while (after && rel_seq_diff(after->start, m->start) > 0)
		after = after->prev;
	m->prev = after;
	m->next = after ? after->next : p->rx_head;
	*(after ? &after->next : &p->rx_head) = m;
	*(m->next ? &m->next->prev : &p->rx_tail) = m;
	p->rx_hit = m;
}

static int drop(struct rel_sess *p, uint64_t *counter, int code)
{
	(*counter)++;
	(void)p;
	return code;
}

int rel_rx_data(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now)
{
	uint32_t w = c->cfg.window;
	int32_t d = rel_seq_diff(k->seq, p->rcv_nxt);
	if (d < 0 || (d < (int32_t)w && p->rbits[k->seq & c->ring_mask]))
		return drop(p, &p->st.drop_dup, REL_EDUP);
	if (d >= (int32_t)w)
		return drop(p, &p->st.drop_window, REL_EWINDOW);
	if (p->state != REL_ST_OPEN || p->peer_fin)
		return drop(p, &p->st.drop_unexpected, REL_EUNEXPECTED);
	uint8_t mode = (k->flags & REL_F_SEQPACKET) ? REL_SEQPACKET : REL_RDM;
	uint8_t fin = (k->flags & REL_F_FIN) ? 1 : 0;
	uint32_t start = k->seq - k->frag_index;
	struct rel_rxmsg *m = find_rx(p, start);
	if (m) {
		if (m->len != k->msg_len || m->count != k->frag_count || m->mode != mode ||
		    m->fin != fin || m->frag_size != k->frag_size)
			return drop(p, &p->st.drop_malformed, REL_EMALFORMED);
	} else {
		/* a message that began before rcv_nxt has a record already */
		if (rel_seq_diff(start, p->rcv_nxt) < 0 || k->msg_len > c->cfg.max_msg)
			return drop(p, &p->st.drop_malformed, REL_EMALFORMED);
		if (over_budget(c, p, k->msg_len))
			return drop(p, &p->st.drop_budget, REL_EBUDGET);
		m = rel_rxmsg_get(c);
		if (!m)
			return UDP_ENOMEM;
		/* the buffer the user gets (from the shelf when recycled) */
		m->buf = rel_buf_get(c, k->msg_len);
		if (!m->buf) {
			rel_rxmsg_put(c, m);
			return UDP_ENOMEM;
		}
		m->start = start;
		m->count = k->frag_count;
		m->frag_size = k->frag_size;
		m->len = k->msg_len;
		m->mode = mode;
		m->fin = fin;
		p->used += m->len;
		c->mem += m->len;
		insert_rx(p, m);
	}
	if (k->payload_len)
		memcpy(m->buf + k->frag_off, k->payload, k->payload_len);
	m->got++;
	p->rbits[k->seq & c->ring_mask] = 1;
	if (rel_seq_diff(k->seq + 1, p->rcv_max) > 0)
		p->rcv_max = k->seq + 1;
	if (m->got == m->count && mode == REL_RDM && !fin)
		deliver(c, p, m, now);
	while (p->rbits[p->rcv_nxt & c->ring_mask]) {
		p->rbits[p->rcv_nxt & c->ring_mask] = 0;
		p->rcv_nxt++;
	}
	if (rel_seq_diff(p->rcv_max, p->rcv_nxt) < 0)
		p->rcv_max = p->rcv_nxt;
	/* in-order delivery: everything the cumulative ack passed is complete */
	while (p->rx_head && p->rx_head->got == p->rx_head->count &&
	       rel_seq_diff(p->rx_head->start + p->rx_head->count, p->rcv_nxt) <= 0)
		deliver(c, p, p->rx_head, now);
	return 0;
}

int rel_rx_dgram(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now)
{
	(void)now;
	if (p->state != REL_ST_OPEN)
		return drop(p, &p->st.drop_unexpected, REL_EUNEXPECTED);
	if (k->payload_len > c->cfg.max_msg)
		return drop(p, &p->st.drop_malformed, REL_EMALFORMED);
	int32_t d = p->dg_any ? rel_seq_diff(k->seq, p->dg_max) : 1;
	if (d <= -64)
		return drop(p, &p->st.drop_window, REL_EWINDOW);
	if (d <= 0 && (p->dg_bits >> -d) & 1)
		return drop(p, &p->st.drop_dup, REL_EDUP);
	if (over_budget(c, p, k->payload_len))
		return drop(p, &p->st.drop_budget, REL_EBUDGET);
	uint8_t *buf = rel_buf_get(c, k->payload_len);
	if (!buf)
		return UDP_ENOMEM;
	if (k->payload_len)
		memcpy(buf, k->payload, k->payload_len);
	if (d > 0) {
		p->dg_bits = d >= 64 ? 0 : p->dg_bits << d;
		p->dg_max = k->seq;
		p->dg_any = 1;
		d = 0;
	}
	p->dg_bits |= 1ull << -d;
	struct rel_event ev = {.type = REL_EV_MESSAGE, .peer = p->id, .mode = REL_DGRAM,
			       .data = buf, .len = k->payload_len};
	if (rel_event_push(c, &ev, (uint32_t)k->payload_len) < 0) {
		rel_buf_put(c, buf);
		return UDP_ENOMEM;
	}
	p->held += k->payload_len;
	c->mem += k->payload_len;
	p->st.msgs_delivered++;
	return 0;
}
