/* rel_hs.c - the handshake: HELLO, the stateless COOKIE (SipHash-2-4 of
 * the source address, the client's session id and a time bucket), CONNECT,
 * ACCEPT.  See docs/PROTOCOL.md sections 2.2-2.5 and 4. */
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"


static uint64_t cookie_mac(const struct rel_core *c, const void *addr, size_t alen,
			   uint32_t csid, uint32_t bucket)
{
	uint8_t m[REL_ADDR_MAX + 8];
	memcpy(m, addr, alen);
	for (int i = 0; i < 4; i++) {
		m[alen + i] = (uint8_t)(csid >> (24 - 8 * i));
		m[alen + 4 + i] = (uint8_t)(bucket >> (24 - 8 * i));
	}
	return rel_siphash24(c->cfg.cookie_secret, m, alen + 8);
}

static uint32_t cookie_bucket(const struct rel_core *c, uint64_t now)
{
	return (uint32_t)(now / c->cfg.cookie_bucket_us);
}

static void fill_hs_params(struct rel_core *c, struct rel_sess *p, struct rel_pkt *k)
{
	k->init_seq = p->hs_init_seq;
	k->window_pkts = c->cfg.window;
	k->max_msg = (uint32_t)c->cfg.max_msg;
	k->budget = c->cfg.recv_budget > 0xffffffffu ? 0xffffffffu : (uint32_t)c->cfg.recv_budget;
}

/* Client side: (re)sends HELLO or CONNECT for the current state. */
void rel_send_handshake(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.src_sid = p->lsid;
	if (p->state == REL_ST_HELLO) {
		k.type = REL_PT_HELLO;
		k.hello_len = REL_HELLO_LEN;
	} else {
		k.type = REL_PT_CONNECT;
		k.bucket = p->hs_bucket;
		k.cookie = p->hs_cookie;
		fill_hs_params(c, p, &k);
	}
	(void)rel_emit(c, p, &k, now);
}

int rel_hs_hello(struct rel_core *c, const void *addr, size_t alen,
			const struct rel_pkt *h, size_t inlen, uint64_t now)
{
	if (!c->cfg.accept) {
		c->st.drop_unexpected++;
		return REL_EUNEXPECTED;
	}
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_COOKIE;
	k.dst_sid = h->src_sid;
	k.bucket = cookie_bucket(c, now);
	k.cookie = cookie_mac(c, addr, alen, h->src_sid, k.bucket);
	uint8_t *buf = rel_out_slot_addr(c, addr, alen, 0);
	if (!buf) {
		/* a flood faster than the caller drains: every drop is counted */
		c->st.drop_busy++;
		return UDP_ENOSPACE;
	}
	int n = rel_wire_encode(&k, buf, c->base);
	if (n < 0 || (size_t)n > inlen) { /* never more bytes than it sent */
		c->st.drop_malformed++;
		return UDP_EINVAL;
	}
	rel_out_commit(c, (size_t)n);
	c->st.cookies_sent++;
	return 0;
}

static int send_accept(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = REL_PT_ACCEPT;
	k.dst_sid = p->rsid;
	k.src_sid = p->lsid;
	fill_hs_params(c, p, &k);
	int rc = rel_emit(c, p, &k, now);
	return rc < 0 ? rc : 0;
}

int rel_hs_connect(struct rel_core *c, const void *addr, size_t alen,
		      const struct rel_pkt *k, uint64_t now)
{
	if (!c->cfg.accept || k->dst_sid != 0) {
		c->st.drop_unexpected++;
		return REL_EUNEXPECTED;
	}
	uint32_t cur = cookie_bucket(c, now);
	uint32_t age = cur - k->bucket;
	if (age > 1 || k->cookie != cookie_mac(c, addr, alen, k->src_sid, k->bucket)) {
		c->st.drop_cookie++;
		return REL_ECOOKIE;
	}
	/* the source is verified from here on */
	for (struct rel_sess *p = c->peers; p; p = p->next) {
		if (p->passive && p->rsid == k->src_sid && rel_addr_eq(p, addr, alen)) {
			p->last_recv = now;
			return send_accept(c, p, now); /* our ACCEPT was lost */
		}
	}
	const struct rel_src *src = rel_src_find(c, addr, alen);
	if (src && src->naccepted >= c->cfg.max_per_source) {
		c->st.drop_source++;
		return REL_ESOURCE;
	}
	struct rel_sess *p = rel_sess_new(c, addr, alen, now);
	if (!p) {
		c->st.drop_peers++;
		return REL_EPEERS;
	}
	p->passive = 1;
	p->src->naccepted++;
	p->rsid = k->src_sid;
	rel_sess_open(c, p, k->init_seq, k, now);
	struct rel_event ev = {.type = REL_EV_CONNECTED, .peer = p->id};
	(void)rel_event_push(c, &ev, 0);
	return send_accept(c, p, now);
}

int rel_hs_client_reply(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now)
{
	if (k->type == REL_PT_COOKIE && p->state == REL_ST_HELLO) {
		p->hs_bucket = k->bucket;
		p->hs_cookie = k->cookie;
		p->state = REL_ST_CONNECT;
		p->hs_tries = 0;
		p->last_recv = now;
		/* the COOKIE shows the path carries packets now: the CONNECT starts
		 * its own backoff, not the HELLO's (at 20 % loss each way, a
		 * doubled-over timer made 1-2 % of handshakes take over 10 s) */
		p->rto = c->cfg.rto_initial_us;
		p->rto_at = now + p->rto;
		rel_send_handshake(c, p, now);
		return 0;
	}
	/* an ACCEPT may answer a CONNECT sent before we fell back to HELLO */
	if (k->type == REL_PT_ACCEPT && (p->state == REL_ST_CONNECT || p->state == REL_ST_HELLO)) {
		p->rsid = k->src_sid;
		p->rto = c->cfg.rto_initial_us;
		rel_sess_open(c, p, k->init_seq, k, now);
		struct rel_event ev = {.type = REL_EV_CONNECTED, .peer = p->id};
		(void)rel_event_push(c, &ev, 0);
		rel_owe_ack(c, p, 1, now); /* tells the server we are here */
		return 0;
	}
	p->st.drop_unexpected++;
	return REL_EUNEXPECTED;
}

int rel_connect(struct rel_core *c, const void *addr, size_t alen, uint64_t now, uint32_t *id)
{
	if (!c || !addr || alen == 0 || alen > REL_ADDR_MAX)
		return REL_EADDR;
	struct rel_sess *p = rel_sess_new(c, addr, alen, now);
	if (!p)
		return c->npeers >= c->cfg.max_peers ? REL_EPEERS : UDP_ENOMEM;
	p->state = REL_ST_HELLO;
	p->rto_at = now + p->rto;
	rel_send_handshake(c, p, now);
	if (id)
		*id = p->id;
	return 0;
}
