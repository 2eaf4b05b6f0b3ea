/* chat_sess.c - the session table of a chat group: one reliable session
 * per peer (see chat_group_int.h). */
#include <stdio.h>
#include <string.h>

#include "chat_group_int.h"
#include "udp_err.h"

struct chat_sess *chat_sess_by_rel(struct chat_group *g, uint32_t rel)
{
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		if (g->s[i].used && g->s[i].rel == rel)
			return &g->s[i];
	return NULL;
}

struct chat_sess *chat_sess_by_id(struct chat_group *g, uint64_t id)
{
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		if (g->s[i].used && (g->s[i].id == id || (!g->s[i].id && g->s[i].expect == id)))
			return &g->s[i];
	return NULL;
}

struct chat_sess *chat_sess_by_addr(struct chat_group *g, const struct udp_addr *a)
{
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		if (g->s[i].used && udp_addr_equal(&g->s[i].addr, a))
			return &g->s[i];
	return NULL;
}

struct chat_sess *chat_sess_new(struct chat_group *g, uint32_t rel, uint64_t now)
{
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		if (!g->s[i].used) {
			memset(&g->s[i], 0, sizeof g->s[i]);
			g->s[i].used = 1;
			g->s[i].rel = rel;
			g->s[i].opened = now;
			rel_drv_peer_addr(g->cfg.drv, rel, &g->s[i].addr);
			return &g->s[i];
		}
	return NULL;
}

void chat_pkt_self(const struct chat_group *g, struct chat_pkt *p)
{
	p->id = g->cfg.id;
	memcpy(p->nick, g->nick, sizeof p->nick);
	p->ident = (uint8_t)g->ident;
	if (g->ident && chat_type_has_key(p->type))
		memcpy(p->key, g->ident_pub, CHAT_KEY_LEN);
}

int chat_encode(const struct chat_group *g, uint8_t type, const void *text, size_t n,
		uint8_t *buf, size_t cap)
{
	struct chat_pkt p = { .type = type, .text = text, .text_len = n };
	chat_pkt_self(g, &p);
	struct udp_addr local;
	if (type == CHAT_BEACON || type == CHAT_LEAVE) {
		if (udp_sock_local_addr(g->cfg.data, &local) == 0)
			p.port = (uint16_t)udp_addr_port(&local);
	}
	if (type == CHAT_HELLO) /* for catch-up: what it said since we started */
		p.start = g->start;
	return chat_pkt_encode(&p, buf, cap);
}

/* Sends one packet over a session (reliable in order, or a DGRAM
 * heartbeat).  Returns 0 or the core's error. */
int chat_sess_send(struct chat_group *g, struct chat_sess *s, uint8_t type,
		   const void *text, size_t n, enum rel_mode mode, uint64_t now)
{
	uint8_t buf[CHAT_PKT_MAX];
	int len = chat_encode(g, type, text, n, buf, sizeof buf);
	if (len < 0)
		return len;
	return rel_send(g->cfg.core, s->rel, buf, (size_t)len, mode, now, NULL);
}

void chat_sess_close(struct chat_group *g, struct chat_sess *s, uint64_t now)
{
	if (s->closing)
		return;
	s->closing = 1;
	int r = rel_close(g->cfg.core, s->rel, now);
	if (r < 0) { /* still in its handshake, or the core has forgotten it */
		chat_gate_release(g, s, r == REL_ENOTCONN);
		s->used = 0;
	}
}

struct chat_sess *chat_connect_to(struct chat_group *g, const struct udp_addr *a,
				  uint64_t expect, int explicit_idx, const uint8_t *key,
				  uint64_t now)
{
	uint32_t rel;
	int r;
	if (g->ident && !key) /* Noise IK: the caller must know whom it calls */
		r = UDP_EINVAL;
	else
		r = rel_drv_connect_ex(g->cfg.drv, a, key, &rel);
	if (r < 0) {
		chat_note(g, CHAT_NOTE_CONNECT_FAILED, a, r, 0);
		return NULL;
	}
	struct chat_sess *s = chat_sess_new(g, rel, now);
	if (!s) {
		rel_close(g->cfg.core, rel, now);
		return NULL;
	}
	s->addr = *a;
	s->expect = expect;
	if (g->ident) {
		s->has_key = 1;
		memcpy(s->key, key, CHAT_KEY_LEN);
	}
	s->explicit_idx = explicit_idx;
	chat_note(g, CHAT_NOTE_CONNECTING, a, 0, 0);
	return s;
}
