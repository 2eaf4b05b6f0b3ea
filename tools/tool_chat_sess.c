/* tool_chat_sess.c - udpchat's sessions: one reliable session per peer,
 * its HELLO, messages and peer lists (see tool_chat_app.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tool_chat_app.h"
#include "tool_common.h"
#include "udp_wire.h"

struct sess *chat_sess_by_rel(struct chat *c, uint32_t rel)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && c->s[i].rel == rel)
			return &c->s[i];
	return NULL;
}

struct sess *chat_sess_by_id(struct chat *c, uint64_t id)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && (c->s[i].id == id || (!c->s[i].id && c->s[i].expect == id)))
			return &c->s[i];
	return NULL;
}

struct sess *chat_sess_by_addr(struct chat *c, const struct udp_addr *a)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && udp_addr_equal(&c->s[i].addr, a))
			return &c->s[i];
	return NULL;
}

static struct sess *chat_sess_new(struct chat *c, uint32_t rel)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (!c->s[i].used) {
			memset(&c->s[i], 0, sizeof c->s[i]);
			c->s[i].used = 1;
			c->s[i].rel = rel;
			c->s[i].opened = tool_now();
			rel_drv_peer_addr(c->drv, rel, &c->s[i].addr);
			return &c->s[i];
		}
	return NULL;
}

int chat_encode(struct chat *c, uint8_t type, const void *text, size_t n,
		  uint8_t *buf, size_t cap)
{
	struct chat_pkt p = { .type = type, .id = c->id, .text = text, .text_len = n };
	struct udp_addr local;
	if (type == CHAT_BEACON || type == CHAT_LEAVE) {
		if (udp_sock_local_addr(c->data, &local) == 0)
			p.port = (uint16_t)udp_addr_port(&local);
	}
	snprintf(p.nick, sizeof p.nick, "%s", c->nick);
	return chat_pkt_encode(&p, buf, cap);
}

/* Sends one packet over a session (reliable in order, or a DGRAM
 * heartbeat).  Returns 0 or the core's error. */
int chat_sess_send(struct chat *c, struct sess *s, uint8_t type, const void *text,
		     size_t n, enum rel_mode mode)
{
	uint8_t buf[CHAT_PKT_MAX];
	int len = chat_encode(c, type, text, n, buf, sizeof buf);
	if (len < 0)
		return len;
	return rel_send(c->core, s->rel, buf, (size_t)len, mode, now_us(), NULL);
}

void chat_sess_close(struct chat *c, struct sess *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	int r = rel_close(c->core, s->rel, now_us());
	if (r < 0) { /* still in its handshake, or the core has forgotten it */
		chat_gate_release(c, s, r == REL_ENOTCONN);
		s->used = 0;
	}
}

struct sess *chat_connect_to(struct chat *c, const struct udp_addr *a, uint64_t expect,
			     int explicit_idx)
{
	uint32_t rel;
	char b[UDP_ADDR_STRLEN];
	int r = rel_drv_connect(c->drv, a, &rel);
	if (r < 0) {
		tool_debug("connect %s: %s", tool_addr_str(a, b, sizeof b), udpkit_strerror(r));
		return NULL;
	}
	struct sess *s = chat_sess_new(c, rel);
	if (!s) {
		rel_close(c->core, rel, now_us());
		return NULL;
	}
	s->addr = *a;
	s->expect = expect;
	s->explicit_idx = explicit_idx;
	tool_debug("connecting to %s", tool_addr_str(a, b, sizeof b));
	return s;
}

/* A peer's HELLO names its session.  When two sessions between the same
 * two addresses name one peer (both sides connected at once), both sides
 * keep the one that the smaller id started, so they agree without talking
 * about it.  A known id from another address is refused: it cannot take
 * over a live peer's conversation. */
static void chat_send_peer_lists(struct chat *c, struct sess *newcomer);

static void chat_on_hello(struct chat *c, struct sess *s, const struct chat_pkt *p)
{
	char name[CHAT_NAME_MAX], b[UDP_ADDR_STRLEN];
	if (p->id == c->id) { /* we connected to ourselves (a --peer loop) */
		chat_sess_close(c, s);
		return;
	}
	struct chat_peer_info info;
	if (chat_roster_get(c->roster, p->id, &info) == 0) {
		struct sess *old = chat_sess_by_rel(c, info.tag);
		if (old && old != s && !udp_addr_equal(&old->addr, &s->addr)) {
			/* the id speaks from elsewhere: a copy, not a duplicate */
			tool_debug("HELLO with a known id from another address: closed");
			chat_sess_close(c, s);
			return;
		}
		if (old && old != s) {
			s->id = p->id;
			int s_by_me = s->expect || s->explicit_idx;
			uint64_t s_starter = s_by_me ? c->id : p->id;
			struct sess *keep = s_starter < (c->id ^ p->id ^ s_starter) ? s : old;
			struct sess *drop = keep == s ? old : s;
			/* drop keeps its id: what is still in flight on it is
			 * delivered; only sending moves to keep */
			chat_sess_close(c, drop);
			keep->id = p->id;
			chat_roster_set_tag(c->roster, p->id, keep->rel);
			return;
		}
		s->id = p->id;
		chat_roster_set_tag(c->roster, p->id, s->rel);
		return;
	}
	s->id = p->id;
	if (chat_roster_add(c->roster, p->id, p->nick, s->rel, now_us()) < 0) {
		chat_sess_close(c, s);
		return;
	}
	chat_name_of(c, p->id, p->nick, name, sizeof name);
	chat_show_presence(c, "join", p->id, name, tool_addr_str(&s->addr, b, sizeof b));
	chat_send_peer_lists(c, s);
}

static int chat_is_loopback(const struct udp_addr *a)
{
	if (udp_addr_family(a) == AF_INET)
		return (ntohl(a->u.in4.sin_addr.s_addr) >> 24) == 127;
	return udp_addr_family(a) == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

/* Peer exchange: the newcomer learns every peer we have, and every peer
 * learns the newcomer, so meshes built with --peer fill in (docs/CHAT.md). */
static void chat_send_peer_lists(struct chat *c, struct sess *newcomer)
{
	uint8_t list[CHAT_TEXT_MAX], one[64];
	struct udp_wire_writer w, w1;
	udp_wire_writer_init(&w, list, sizeof list);
	udp_wire_writer_init(&w1, one, sizeof one);
	struct chat_peer_addr e = { .id = newcomer->id, .addr = newcomer->addr };
	chat_peers_put(&w1, &e);
	for (int i = 0; i < MAX_PEERS; i++) {
		struct sess *s = &c->s[i];
		if (!s->used || !s->id || s->closing || s == newcomer)
			continue;
		e = (struct chat_peer_addr){ .id = s->id, .addr = s->addr };
		struct udp_wire_writer save = w;
		if (chat_peers_put(&w, &e) < 0)
			w = save; /* full: the rest learn it from others */
		if (!udp_wire_writer_error(&w1))
			chat_sess_send(c, s, CHAT_PEERS, one, udp_wire_written(&w1), REL_SEQPACKET);
	}
	if (udp_wire_written(&w))
		chat_sess_send(c, newcomer, CHAT_PEERS, list, udp_wire_written(&w), REL_SEQPACKET);
}

/* A list from peer s: connect to those we do not know, by the same rule
 * as beacons (the smaller id connects).  A loopback address in it means
 * "on s's host". */
static void chat_on_peer_list(struct chat *c, struct sess *s, const struct chat_pkt *p)
{
	struct udp_wire_reader r;
	struct chat_peer_addr e;
	udp_wire_reader_init(&r, p->text, p->text_len);
	while (chat_peers_next(&r, &e) == 1) {
		if (e.id <= c->id || c->quitting || chat_sess_by_id(c, e.id) ||
		    chat_roster_get(c->roster, e.id, NULL) == 0)
			continue;
		if (udp_addr_family(&e.addr) != udp_addr_family(&s->addr))
			continue;
		if (chat_is_loopback(&e.addr) && !chat_is_loopback(&s->addr)) {
			int port = udp_addr_port(&e.addr);
			e.addr = s->addr;
			udp_addr_set_port(&e.addr, port);
		}
		if (!chat_sess_by_addr(c, &e.addr))
			chat_connect_to(c, &e.addr, e.id, 0);
	}
}

static void chat_peer_left(struct chat *c, struct sess *s, const char *how)
{
	struct chat_peer_info info;
	if (!s->id || chat_roster_get(c->roster, s->id, &info) < 0 || info.tag != s->rel)
		return;
	char name[CHAT_NAME_MAX];
	chat_name_of(c, s->id, info.nick, name, sizeof name);
	chat_show_presence(c, how, s->id, name, NULL);
	chat_roster_remove(c->roster, s->id);
}

static void chat_on_message(struct chat *c, struct sess *s, const struct rel_event *ev)
{
	struct chat_pkt p;
	if (chat_pkt_decode(&p, ev->data, ev->len) < 0) {
		tool_debug("bad chat packet (%zu bytes) dropped", ev->len);
		return;
	}
	if (p.type == CHAT_HELLO && ev->mode != REL_DGRAM) {
		chat_on_hello(c, s, &p);
		return;
	}
	if (!s->id || p.id != s->id)
		return; /* before HELLO (a heartbeat overtook it), or not who it said */
	struct chat_roster_event rev;
	struct chat_peer_info info;
	uint64_t now = now_us();
	if (chat_roster_get(c->roster, s->id, &info) < 0) {
		/* marked gone, yet the session lives on: it is back */
		if (chat_roster_add(c->roster, s->id, p.nick, s->rel, now) < 0)
			return;
		char b[UDP_ADDR_STRLEN], name[CHAT_NAME_MAX];
		chat_name_of(c, s->id, p.nick, name, sizeof name);
		chat_show_presence(c, "join", s->id, name, tool_addr_str(&s->addr, b, sizeof b));
		chat_roster_get(c->roster, s->id, &info);
	}
	if (chat_roster_seen(c->roster, s->id, now, &rev) == 1)
		chat_show_presence(c, "back", rev.id, rev.name, NULL);
	if (ev->mode == REL_DGRAM)
		return; /* heartbeats only say "alive" */
	char name[CHAT_NAME_MAX], to[CHAT_NAME_MAX];
	chat_name_of(c, s->id, info.nick, name, sizeof name);
	switch (p.type) {
	case CHAT_MSG:
	case CHAT_ME:
	case CHAT_PRIV:
		c->received++;
		chat_show_msg(c, p.type, s->id, name, p.text, p.text_len);
		break;
	case CHAT_NICK:
		if (strcmp(p.nick, info.nick) == 0)
			break;
		chat_roster_rename(c->roster, s->id, p.nick);
		chat_name_of(c, s->id, p.nick, to, sizeof to);
		chat_show_presence(c, "nick", s->id, name, to);
		break;
	case CHAT_PEERS:
		chat_on_peer_list(c, s, &p);
		break;
	case CHAT_BYE:
		chat_peer_left(c, s, "leave");
		break;
	default:
		break;
	}
}

void chat_rel_events(struct chat *c)
{
	struct rel_event ev;
	while (rel_poll_event(c->core, &ev)) {
		struct sess *s = chat_sess_by_rel(c, ev.peer);
		switch (ev.type) {
		case REL_EV_CONNECTED:
			chat_gate_forget(c, ev.peer);
			if (s)
				chat_gate_release(c, s, 0);
			if (!s)
				s = chat_sess_new(c, ev.peer);
			if (!s) {
				rel_close(c->core, ev.peer, now_us());
				break;
			}
			if (c->quitting)
				chat_sess_close(c, s);
			else
				chat_sess_send(c, s, CHAT_HELLO, NULL, 0, REL_SEQPACKET);
			break;
		case REL_EV_MESSAGE:
			if (s) /* also while closing: what was in flight still counts */
				chat_on_message(c, s, &ev);
			rel_buf_recycle(c->core, ev.data);
			break;
		case REL_EV_PEER_CLOSED:
			if (s) {
				chat_peer_left(c, s, "leave");
				chat_sess_close(c, s);
			}
			break;
		case REL_EV_CLOSED: /* we closed it: quitting, or a duplicate */
			if (s) {
				chat_gate_release(c, s, 0);
				s->used = 0;
			}
			break;
		case REL_EV_DEAD:
			chat_gate_forget(c, ev.peer);
			if (s) {
				chat_peer_left(c, s, "gone");
				chat_gate_release(c, s, 0);
				s->used = 0;
			}
			break;
		default:
			break;
		}
	}
}
