/* rel_hs.c - the handshake: HELLO, the stateless COOKIE (SipHash-2-4 of
 * the source address, the client's session id and a time bucket), CONNECT,
 * ACCEPT.  See docs/PROTOCOL.md sections 2.2-2.5 and 4.  With a crypto
 * hook the CONNECT and ACCEPT carry its key exchange (section 9.1): the
 * core hands it bytes and keeps what it must resend identically. */
#include <stdlib.h>
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

void rel_hs_crypto_free(struct rel_core *c, struct rel_sess *p)
{
	if (p->crypto)
		c->cfg.crypto->sess_free(c->cfg.crypto_ctx, p->crypto);
	p->crypto = NULL;
	p->keyed = 0;
	free(p->hs_saved);
	p->hs_saved = NULL;
	p->hs_saved_len = 0;
}

/* The client's CONNECT with message 1, for this cookie: made once, resent
 * as is (a second message 1 would be a second exchange).  The prologue is
 * the CONNECT's fixed fields, so the exchange authenticates them. */
static int client_hs_init(struct rel_core *c, struct rel_sess *p, struct rel_pkt *k, uint64_t now)
{
	const struct rel_crypto_ops *ops = c->cfg.crypto;
	uint8_t pre[REL_CONNECT_LEN];
	rel_hs_crypto_free(c, p);
	k->flags = REL_F_NOISE;
	if (rel_wire_encode(k, pre, sizeof pre) != REL_CONNECT_LEN)
		return UDP_EINVAL;
	/* message 1 in the scratch buffer, then after the fields */
	size_t cap = c->clear - REL_CONNECT_LEN;
	if (cap > c->sbuf_cap)
		cap = c->sbuf_cap;
	void *st = NULL;
	int m = ops->hs_init(c->cfg.crypto_ctx, &st, p->hs_has_arg ? p->hs_arg : NULL, pre,
			     REL_CONNECT_LEN - REL_CRC_LEN, c->sbuf, cap, now);
	if (m <= 0 || (size_t)m > cap) {
		if (m >= 0 && st) /* made, but nothing to send */
			ops->sess_free(c->cfg.crypto_ctx, st);
		return m < 0 ? m : REL_EREFUSED;
	}
	p->crypto = st;
	size_t n = REL_CONNECT_LEN + (size_t)m;
	if (!(p->hs_saved = malloc(n)))
		return UDP_ENOMEM;
	k->payload = c->sbuf;
	k->payload_len = (size_t)m;
	if (rel_wire_encode(k, p->hs_saved, n) != (int)n)
		return UDP_EINVAL;
	p->hs_saved_len = n;
	return 0;
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
		if (c->cfg.crypto) {
			if (!p->hs_saved && client_hs_init(c, p, &k, now) < 0) {
				/* no exchange can start (the hook refused: no
				 * key for this server?): dead at the next update */
				rel_hs_crypto_free(c, p);
				p->last_recv = now - c->cfg.dead_us;
				return;
			}
			(void)rel_emit_raw(c, p, p->hs_saved, p->hs_saved_len, now);
			return;
		}
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

static void accept_pkt(struct rel_core *c, struct rel_sess *p, struct rel_pkt *k)
{
	memset(k, 0, sizeof *k);
	k->type = REL_PT_ACCEPT;
	k->dst_sid = p->rsid;
	k->src_sid = p->lsid;
	fill_hs_params(c, p, k);
}

static int send_accept(struct rel_core *c, struct rel_sess *p, uint64_t now)
{
	struct rel_pkt k;
	accept_pkt(c, p, &k);
	int rc = p->hs_saved ? rel_emit_raw(c, p, p->hs_saved, p->hs_saved_len, now)
			     : rel_emit(c, p, &k, now);
	return rc < 0 ? rc : 0;
}

/* Server: message 1 of a CONNECT (raw, len bytes) whose cookie checked out,
 * for the new session p; its ACCEPT with message 2 is kept in hs_saved.
 * Negative: refused. */
static int server_hs_respond(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k,
			     const uint8_t *raw, size_t len, uint64_t now)
{
	const struct rel_crypto_ops *ops = c->cfg.crypto;
	struct rel_pkt a;
	uint8_t pre[REL_ACCEPT_LEN];
	accept_pkt(c, p, &a);
	a.flags = REL_F_NOISE;
	if (rel_wire_encode(&a, pre, sizeof pre) != REL_ACCEPT_LEN)
		return UDP_EINVAL;
	/* the reply is never larger than the CONNECT it answers */
	size_t cap = len - REL_ACCEPT_LEN;
	if (cap > c->sbuf_cap)
		cap = c->sbuf_cap;
	void *st = NULL;
	int m = ops->hs_respond(c->cfg.crypto_ctx, &st, raw, len - REL_CRC_LEN - k->payload_len,
				k->payload, k->payload_len, pre, REL_ACCEPT_LEN - REL_CRC_LEN,
				c->sbuf, cap, now);
	if (m <= 0 || (size_t)m > cap) {
		if (m >= 0 && st) /* made, but nothing to send */
			ops->sess_free(c->cfg.crypto_ctx, st);
		return REL_EREFUSED;
	}
	p->crypto = st;
	p->keyed = 1;
	size_t n = REL_ACCEPT_LEN + (size_t)m;
	if (!(p->hs_saved = malloc(n)))
		return UDP_ENOMEM;
	a.payload = c->sbuf;
	a.payload_len = (size_t)m;
	if (rel_wire_encode(&a, p->hs_saved, n) != (int)n)
		return UDP_EINVAL;
	p->hs_saved_len = n;
	return 0;
}

int rel_hs_connect(struct rel_core *c, const void *addr, size_t alen,
		   const struct rel_pkt *k, const uint8_t *raw, size_t len, uint64_t now)
{
	if (!c->cfg.accept || k->dst_sid != 0) {
		c->st.drop_unexpected++;
		return REL_EUNEXPECTED;
	}
	if (!c->cfg.crypto != !(k->flags & REL_F_NOISE)) {
		/* a key exchange we need and do not get, or cannot run */
		c->st.drop_refused++;
		return REL_EREFUSED;
	}
	uint32_t cur = cookie_bucket(c, now);
	uint32_t age = cur - k->bucket;
	if (age > 1 || k->cookie != cookie_mac(c, addr, alen, k->src_sid, k->bucket)) {
		c->st.drop_cookie++;
		return REL_ECOOKIE;
	}
	/* the source is verified from here on */
	uint64_t mac = c->cfg.crypto ? rel_siphash24(c->cfg.cookie_secret, raw, len) : 0;
	int taken = 0; /* a handshake token, for the hook's work below */
	for (struct rel_sess *p = c->peers; p; p = p->next) {
		if (p->passive && p->rsid == k->src_sid && rel_addr_eq(p, addr, alen)) {
			if (!c->cfg.crypto || (p->hs_saved && p->hs_mac == mac)) {
				p->last_recv = now;
				return send_accept(c, p, now); /* our ACCEPT was lost */
			}
			if (!p->hs_saved) { /* keyed and confirmed: a replay */
				p->st.drop_unexpected++;
				return REL_EUNEXPECTED;
			}
			/* A new exchange (the client started over: a new
			 * cookie) for a session it never got keys for: that
			 * one ends, this one gets a session of its own, so a
			 * peer id never changes whom it names.  Its token
			 * first: a CONNECT over the limit changes nothing. */
			int rc = rel_src_hs_take(c, addr, alen, now);
			if (rc < 0)
				return rc;
			taken = 1;
			struct rel_event ev = {.type = REL_EV_DEAD, .peer = p->id};
			(void)rel_event_push(c, &ev, 0);
			rel_sess_destroy(c, p);
			break;
		}
	}
	const struct rel_src *src = rel_src_find(c, addr, alen);
	if (src && src->naccepted >= c->cfg.max_per_source) {
		c->st.drop_source++;
		return REL_ESOURCE;
	}
	/* the hook's handshake is public-key work: rationed per source and
	 * for all (the repeats above, answered from hs_saved, cost nothing) */
	if (c->cfg.crypto && !taken) {
		int rc = rel_src_hs_take(c, addr, alen, now);
		if (rc < 0)
			return rc;
	}
	struct rel_sess *p = rel_sess_new(c, addr, alen, now);
	if (!p) {
		c->st.drop_peers++;
		return REL_EPEERS;
	}
	p->rsid = k->src_sid;
	if (c->cfg.crypto) {
		int rc = server_hs_respond(c, p, k, raw, len, now);
		if (rc < 0) { /* nothing answered, nothing kept */
			rel_sess_destroy(c, p);
			c->st.drop_refused++;
			return REL_EREFUSED;
		}
		p->hs_mac = mac;
	}
	p->passive = 1;
	p->src->naccepted++;
	rel_sess_open(c, p, k->init_seq, k, now);
	struct rel_event ev = {.type = REL_EV_CONNECTED, .peer = p->id};
	(void)rel_event_push(c, &ev, 0);
	return send_accept(c, p, now);
}

/* Client: message 2 of an ACCEPT (raw: the datagram).  Its payload must be
 * the ACCEPT's clear fields, which nothing else authenticates. */
static int client_hs_finish(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now,
			    const uint8_t *raw)
{
	if (!(k->flags & REL_F_NOISE)) {
		c->st.drop_refused++;
		return REL_EREFUSED;
	}
	uint8_t pay[REL_ACCEPT_LEN * 2];
	int n = p->crypto ? c->cfg.crypto->hs_finish(c->cfg.crypto_ctx, p->crypto, k->payload,
						      k->payload_len, pay, sizeof pay, now)
			  : UDP_EINVAL;
	if (n == REL_ACCEPT_LEN - REL_CRC_LEN && !memcmp(pay, raw, (size_t)n)) {
		p->keyed = 1;
		free(p->hs_saved); /* the CONNECT is answered */
		p->hs_saved = NULL;
		p->hs_saved_len = 0;
		return 0;
	}
	p->st.drop_auth++;
	c->st.drop_auth++;
	if (n >= 0) {
		/* authentic, but its clear fields were changed on the way:
		 * this exchange is spent, the next CONNECT starts another */
		rel_hs_crypto_free(c, p);
	}
	return REL_EAUTH;
}

int rel_hs_client_reply(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k,
			const uint8_t *raw, uint64_t now)
{
	if (k->type == REL_PT_COOKIE && p->state == REL_ST_HELLO) {
		if (c->cfg.crypto)
			rel_hs_crypto_free(c, p); /* a new cookie: a new exchange */
		p->hs_bucket = k->bucket;
		p->hs_cookie = k->cookie;
		p->state = REL_ST_CONNECT;
		p->hs_tries = 0;
		/* A COOKIE shows the server is there, so under heavy loss it
		 * keeps the handshake alive, but only a few times: a server
		 * that answers HELLOs and never ACCEPTs (it refuses our key
		 * exchange, or wants one from a plain client, or is full)
		 * would keep a client trying for ever.  With a hook, none: a
		 * refused exchange ends within dead_us (REL_EV_DEAD). */
		if (!c->cfg.crypto && p->hs_cookies < REL_HS_COOKIES_ALIVE) {
			p->hs_cookies++;
			p->last_recv = now;
		}
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
		if (c->cfg.crypto) {
			int rc = client_hs_finish(c, p, k, now, raw);
			if (rc < 0)
				return rc;
		} else if (k->flags & REL_F_NOISE) {
			c->st.drop_refused++;
			return REL_EREFUSED;
		}
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
	return rel_connect_ex(c, addr, alen, NULL, now, id);
}

int rel_connect_ex(struct rel_core *c, const void *addr, size_t alen, const void *crypto_arg,
		   uint64_t now, uint32_t *id)
{
	if (!c || !addr || alen == 0 || alen > REL_ADDR_MAX)
		return REL_EADDR;
	/* an argument meant for a hook the core has not got: the session
	 * would go unprotected */
	if (crypto_arg && !c->cfg.crypto)
		return UDP_EINVAL;
	struct rel_sess *p = rel_sess_new(c, addr, alen, now);
	if (!p)
		return c->npeers >= c->cfg.max_peers ? REL_EPEERS : UDP_ENOMEM;
	if (crypto_arg && c->cfg.crypto->arg_size) {
		memcpy(p->hs_arg, crypto_arg, c->cfg.crypto->arg_size);
		p->hs_has_arg = 1;
	}
	p->state = REL_ST_HELLO;
	p->rto_at = now + p->rto;
	rel_send_handshake(c, p, now);
	if (id)
		*id = p->id;
	return 0;
}
