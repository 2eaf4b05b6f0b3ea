/* rel_recv.c - the receiving half of a session: duplicate suppression by
 * sequence number, the receive window, the receive budget, reassembly of
 * fragmented messages and delivery (rdm: when complete; seqpacket: when the
 * cumulative ack passes the message, i.e. in order).
 *
 * Memory is charged as it is used, never as a peer announces it: a new
 * message gets a buffer for what the receive window can hold of it (window
 * x fragment size, at most its length), doubled as later fragments come,
 * and a message that stops getting fragments is dropped after stall_us.
 * A message within one window's worth can always complete once admitted,
 * so sessions competing for memory do not wedge each other.  Each source (rel_src.c) may hold at most what is still free of
 * core_budget, so k greedy sources get core_budget/(k+1) each and a
 * newcomer always finds room (Choudhury and Hahne's dynamic threshold). */
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

void rel_rx_charge(struct rel_core *c, struct rel_sess *p, int64_t delta)
{
	c->mem += (uint64_t)delta;
	p->src->mem += (uint64_t)delta;
}

static int drop(struct rel_sess *p, uint64_t *counter, int code)
{
	(*counter)++;
	(void)p;
	return code;
}

/* May p take more bytes?  The session's budget and the core's; a new
 * message (start) also the source's share: no more than stays free after
 * it.  Growing a message is not held to the share: it was admitted, and
 * its fragments beyond the first window's worth come only as the peer
 * fills the window before them, so they are paid for in bytes sent.
 *
 * hostage: what the session holds that only this message can free
 * (hostage() below).  Counted against it, that memory refused it for
 * good, and the session wedged (fuzz_rel_pair with PMTUD: a window of
 * 1 KiB fragments held more than a lone source's half of core_budget, the
 * head was lost, and every retransmission of it was refused).  So the
 * share is judged as if they were not there: a source may hold one message
 * more than its share per session whose later messages wait. */
static int admit(struct rel_core *c, struct rel_sess *p, uint64_t more, int start, uint64_t hostage)
{
	if (p->used + p->held + more > c->cfg.recv_budget || c->mem + more > c->cfg.core_budget)
		return drop(p, &p->st.drop_budget, REL_EBUDGET);
	if (hostage > p->src->mem) /* charged to it (rel_rx_charge): cannot be */
		hostage = p->src->mem;
	if (start && p->src->mem - hostage + more > c->cfg.core_budget - (c->mem - hostage) - more) {
		c->st.drop_share++;
		return drop(p, &p->st.drop_share, REL_EBUDGET);
	}
	return 0;
}

/* The memory held for messages after a new one that starts at rcv_nxt, the
 * seq the cumulative ack waits for: their fragments came while its first
 * was lost, and they can neither complete (the window ends window packets
 * after it) nor be delivered in order before it. */
static uint64_t hostage(const struct rel_sess *p, uint32_t start)
{
	uint64_t n = 0;
	if (start != p->rcv_nxt)
		return 0;
	for (const struct rel_rxmsg *m = p->rx_tail; m && rel_seq_diff(m->start, start) > 0; m = m->prev)
		n += m->cap;
	return n;
}

/* A bigger buffer for a message of len bytes whose data reached end:
 * doubling, so a long message is copied O(1) times per byte. */
static uint64_t rx_cap(uint64_t end, uint64_t len, uint64_t cur)
{
	uint64_t n = 2 * cur > end ? 2 * cur : end;
	return n < len ? n : len;
}

void rel_rx_free(struct rel_core *c, struct rel_sess *p)
{
	rel_rx_charge(c, p, -(int64_t)p->used);
	p->used = 0;
	while (p->rx_head) {
		struct rel_rxmsg *m = p->rx_head;
		p->rx_head = m->next;
		rel_buf_put(c, m->buf);
		free(m);
	}
	p->rx_tail = p->rx_hit = NULL;
	free(p->parts);
	p->parts = NULL;
}

/* A part of a fragment (REL_F_PART): 1 when it completes the fragment, 0
 * when more parts are missing, REL_EDUP for one already here.  The record
 * of a slot belongs to one seq at a time: the parts of a seq the window has
 * moved past are forgotten (that seq was received whole). */
static int take_part(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k)
{
	if (!p->parts && !(p->parts = calloc((size_t)c->ring_mask + 1, sizeof *p->parts)))
		return UDP_ENOMEM;
	struct rel_parts *r = &p->parts[k->seq & c->ring_mask];
	/* a retransmission cut at another path MTU has other parts: count
	 * from its parts alone (the bytes written before are the same) */
	if (!r->valid || r->seq != k->seq || r->count != k->part_count) {
		memset(r, 0, sizeof *r);
		r->seq = k->seq;
		r->valid = 1;
		r->count = k->part_count;
	}
	uint64_t bit = 1ull << (k->part_index % 64);
	if (r->got[k->part_index / 64] & bit)
		return drop(p, &p->st.drop_dup, REL_EDUP);
	r->got[k->part_index / 64] |= bit;
	unsigned n = 0;
	for (unsigned i = 0; i < REL_PART_MAX / 64; i++)
		n += (unsigned)__builtin_popcountll(r->got[i]);
	if (n < k->part_count)
		return 0;
	r->valid = 0;
	return 1;
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
	if (m->dead) { /* dropped as stalled: counted then */
		rel_rxmsg_put(c, m);
		return;
	}
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
		p->used -= m->cap;
		if (rel_event_push(c, &ev, m->len) < 0) {
			rel_buf_put(c, m->buf); /* out of memory: counted as delivered-and-lost */
			rel_rx_charge(c, p, -(int64_t)m->cap);
		} else {
			p->held += m->len;
			rel_rx_charge(c, p, (int64_t)m->len - (int64_t)m->cap);
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
	/* a part stands for its fragment: sizes are the fragment's */
	uint32_t plen = (k->flags & REL_F_PART) ? k->frag_len : (uint32_t)k->payload_len;
	struct rel_rxmsg *m = find_rx(p, start);
	if (m) {
		if (m->len != k->msg_len || m->count != k->frag_count || m->mode != mode ||
		    m->fin != fin || m->frag_size != k->frag_size)
			return drop(p, &p->st.drop_malformed, REL_EMALFORMED);
	} else {
		/* a message that began before rcv_nxt has a record already */
		if (rel_seq_diff(start, p->rcv_nxt) < 0 || k->msg_len > c->cfg.max_msg)
			return drop(p, &p->st.drop_malformed, REL_EMALFORMED);
		/* what the receive window can hold of it, not what it announces:
		 * a message's fragments arrive at most window ahead of rcv_nxt */
		uint64_t cap = (uint64_t)w * k->frag_size;
		if (cap < (uint64_t)k->frag_off + plen)
			cap = (uint64_t)k->frag_off + plen;
		if (cap > k->msg_len)
			cap = k->msg_len;
		int rc = admit(c, p, cap, 1, hostage(p, start));
		if (rc < 0)
			return rc;
		m = rel_rxmsg_get(c);
		if (!m)
			return UDP_ENOMEM;
		/* the buffer the user gets (from the shelf when recycled) */
		m->buf = rel_buf_get(c, cap);
		if (!m->buf) {
			rel_rxmsg_put(c, m);
			return UDP_ENOMEM;
		}
		m->cap = (uint32_t)cap;
		m->start = start;
		m->count = k->frag_count;
		m->frag_size = k->frag_size;
		m->len = k->msg_len;
		m->mode = mode;
		m->fin = fin;
		p->used += cap;
		rel_rx_charge(c, p, (int64_t)cap);
		insert_rx(p, m);
		if (!p->stall_at || p->stall_at > now + c->cfg.stall_us)
			p->stall_at = now + c->cfg.stall_us;
	}
	uint64_t end = (uint64_t)k->frag_off + plen;
	if (!m->dead && end > m->cap) {
		uint64_t cap = rx_cap(end, m->len, m->cap);
		int rc = admit(c, p, cap - m->cap, 0, 0);
		if (rc < 0)
			return rc;
		uint8_t *nb = rel_buf_grow(c, m->buf, m->cap, cap);
		if (!nb)
			return UDP_ENOMEM;
		m->buf = nb;
		p->used += cap - m->cap;
		rel_rx_charge(c, p, (int64_t)(cap - m->cap));
		m->cap = (uint32_t)cap;
	}
	if (k->flags & REL_F_PART) {
		int rc = take_part(c, p, k);
		if (rc < 0)
			return rc;
		uint32_t step = (uint32_t)(((uint64_t)k->frag_len + k->part_count - 1) / k->part_count);
		if (!m->dead)
			memcpy(m->buf + k->frag_off + (uint64_t)k->part_index * step, k->payload, k->payload_len);
		m->last_us = now;
		if (!rc)
			return 0; /* the fragment is not whole yet: not received */
	} else if (k->payload_len && !m->dead) {
		memcpy(m->buf + k->frag_off, k->payload, k->payload_len);
	}
	m->last_us = now;
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
	int rc = admit(c, p, k->payload_len, 1, 0);
	if (rc < 0)
		return rc;
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
	rel_rx_charge(c, p, (int64_t)k->payload_len);
	p->st.msgs_delivered++;
	return 0;
}

static void stalled(struct rel_core *c, struct rel_sess *p, struct rel_rxmsg *m)
{
	rel_buf_put(c, m->buf);
	m->buf = NULL;
	p->used -= m->cap;
	rel_rx_charge(c, p, -(int64_t)m->cap);
	m->cap = 0;
	/* its record stays: later fragments are acked and thrown away, so the
	 * sender's window moves on and the session does not wedge */
	m->dead = 1;
	p->st.drop_stalled++;
	c->st.drop_stalled++;
}

void rel_rx_timers(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	if (!p->stall_at || now < p->stall_at)
		return;
	uint64_t next = 0, lim = c->cfg.stall_us;
	/* while our own user does not read, the peer cannot send: not its fault */
	int closed = rel_rx_window(c, p) == 0;
	for (struct rel_rxmsg *m = p->rx_head; m; m = m->next) {
		if (m->fin || m->dead || m->got == m->count)
			continue;
		if (closed)
			m->last_us = now;
		else if (now - m->last_us >= lim) {
			stalled(c, p, m);
			continue;
		}
		if (!next || m->last_us + lim < next)
			next = m->last_us + lim;
	}
	p->stall_at = next;
}
