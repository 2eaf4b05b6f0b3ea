/* chat_input.c - what a chat group's sessions deliver: HELLO, lines, peer
 * lists, and the core's session events (see chat_group_int.h). */
#include <string.h>

#include "chat_group_int.h"
#include "udp_wire.h"

static void chat_send_peer_lists(struct chat_group *g, struct chat_sess *newcomer,
				 uint64_t now);

/* A peer's HELLO names its session.  When two sessions between the same
 * two addresses name one peer (both sides connected at once), both sides
 * keep the one that the smaller id started, so they agree without talking
 * about it.  A known id from another address is refused: it cannot take
 * over a live peer's conversation. */
static void chat_on_hello(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
			  uint64_t now)
{
	uint64_t me = g->cfg.id;
	if (p->id == me) { /* we connected to ourselves (a --peer loop) */
		chat_sess_close(g, s, now);
		return;
	}
	if (!chat_ident_hello(g, s, p, now))
		return; /* closed: not the key its handshake proved, or refused */
	s->peer_start = p->start;
	struct chat_peer_info info;
	if (chat_roster_get(g->roster, p->id, &info) == 0) {
		struct chat_sess *old = chat_sess_by_rel(g, info.tag);
		if (old && old != s && !udp_addr_equal(&old->addr, &s->addr)) {
			/* the id speaks from elsewhere: a copy, not a duplicate */
			chat_note(g, CHAT_NOTE_COPY_REFUSED, &s->addr, 0, 0);
			chat_sess_close(g, s, now);
			return;
		}
		if (old && old != s) {
			s->id = p->id;
			int s_by_me = s->expect || s->explicit_idx;
			uint64_t s_starter = s_by_me ? me : p->id;
			struct chat_sess *keep = s_starter < (me ^ p->id ^ s_starter) ? s : old;
			struct chat_sess *drop = keep == s ? old : s;
			/* drop keeps its id: what is still in flight on it is
			 * delivered; only sending moves to keep */
			chat_sess_close(g, drop, now);
			keep->id = p->id;
			chat_roster_set_tag(g->roster, p->id, keep->rel);
			if (keep == s) /* the receiver drops what drop carried too */
				chat_catchup(g, s, now);
			return;
		}
		s->id = p->id;
		chat_roster_set_tag(g->roster, p->id, s->rel);
		chat_catchup(g, s, now);
		return;
	}
	s->id = p->id;
	if (chat_roster_add(g->roster, p->id, p->nick, s->rel, now) < 0) {
		chat_sess_close(g, s, now);
		return;
	}
	chat_presence(g, CHAT_GROUP_JOIN, p->id, p->nick, &s->addr, NULL);
	chat_beacon_hurry(g, now);
	chat_send_peer_lists(g, s, now);
	chat_catchup(g, s, now);
}

/* Peer exchange: the newcomer learns every peer we have, and every peer
 * learns the newcomer, so meshes built with --peer fill in (docs/CHAT.md). */
static void chat_send_peer_lists(struct chat_group *g, struct chat_sess *newcomer,
				 uint64_t now)
{
	uint8_t list[CHAT_TEXT_MAX], one[64];
	struct udp_wire_writer w, w1;
	udp_wire_writer_init(&w, list, sizeof list);
	udp_wire_writer_init(&w1, one, sizeof one);
	/* with identities each entry carries the key its session proved: an
	 * identity peer can call only whom it knows the key of */
	struct chat_peer_addr e = { .id = newcomer->id, .addr = newcomer->addr,
				    .has_key = g->ident };
	memcpy(e.key, newcomer->key, CHAT_KEY_LEN);
	chat_peers_put(&w1, &e);
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++) {
		struct chat_sess *s = &g->s[i];
		if (!s->used || !s->id || s->closing || s == newcomer || (g->ident && !s->has_key))
			continue;
		e = (struct chat_peer_addr){ .id = s->id, .addr = s->addr, .has_key = g->ident };
		memcpy(e.key, s->key, CHAT_KEY_LEN);
		struct udp_wire_writer save = w;
		if (chat_peers_put(&w, &e) < 0)
			w = save; /* full: the rest learn it from others */
		if (!udp_wire_writer_error(&w1))
			chat_sess_send(g, s, CHAT_PEERS, one, udp_wire_written(&w1), REL_SEQPACKET,
				       now);
	}
	if (udp_wire_written(&w))
		chat_sess_send(g, newcomer, CHAT_PEERS, list, udp_wire_written(&w), REL_SEQPACKET,
			       now);
}

static void chat_peer_left(struct chat_group *g, struct chat_sess *s,
			   enum chat_group_event_type how)
{
	struct chat_peer_info info;
	if (!s->id || chat_roster_get(g->roster, s->id, &info) < 0 || info.tag != s->rel)
		return;
	chat_presence(g, how, s->id, info.nick, NULL, NULL);
	chat_roster_remove(g->roster, s->id);
}

static void chat_on_message(struct chat_group *g, struct chat_sess *s,
			    const struct rel_event *ev, uint64_t now)
{
	struct chat_pkt p;
	if (chat_pkt_decode(&p, ev->data, ev->len) < 0) {
		chat_note(g, CHAT_NOTE_BAD_PACKET, &s->addr, 0, ev->len);
		return;
	}
	if (p.type == CHAT_HELLO && ev->mode != REL_DGRAM) {
		chat_on_hello(g, s, &p, now);
		return;
	}
	if (!s->id || p.id != s->id)
		return; /* before HELLO (a heartbeat overtook it), or not who it said */
	struct chat_roster_event rev;
	struct chat_peer_info info;
	if (chat_roster_get(g->roster, s->id, &info) < 0) {
		/* marked gone, yet the session lives on: it is back */
		if ((g->ident && !chat_ident_admit(g, s->id, p.nick, s->key)) ||
		    chat_roster_add(g->roster, s->id, p.nick, s->rel, now) < 0)
			return;
		chat_presence(g, CHAT_GROUP_JOIN, s->id, p.nick, &s->addr, NULL);
		chat_roster_get(g->roster, s->id, &info);
	}
	if (chat_roster_seen(g->roster, s->id, now, &rev) == 1) {
		struct chat_group_event e = { .type = CHAT_GROUP_BACK, .id = rev.id,
					      .name = rev.name };
		chat_emit(g, &e);
	}
	if (ev->mode == REL_DGRAM)
		return; /* heartbeats only say "alive" */
	switch (p.type) {
	case CHAT_MSG:
	case CHAT_ME:
	case CHAT_PRIV:
		chat_on_line(g, s, &p, info.nick, now);
		break;
	case CHAT_HISTORY:
		chat_on_history(g, s, &p, now);
		break;
	case CHAT_NICK: {
		if (strcmp(p.nick, info.nick) == 0)
			break;
		if (g->ident && !chat_ident_admit(g, s->id, p.nick, s->key)) {
			/* a nick bound to another key: not under that name */
			chat_peer_left(g, s, CHAT_GROUP_LEAVE);
			chat_sess_close(g, s, now);
			break;
		}
		char to[CHAT_NAME_MAX];
		chat_roster_rename(g->roster, s->id, p.nick);
		chat_group_name(g, s->id, p.nick, to, sizeof to);
		chat_presence(g, CHAT_GROUP_NICK, s->id, info.nick, NULL, to);
		break;
	}
	case CHAT_PEERS:
		chat_pex_list(g, s, p.text, p.text_len, p.ident, now);
		break;
	case CHAT_BYE:
		chat_peer_left(g, s, CHAT_GROUP_LEAVE);
		break;
	case CHAT_FILE_OFFER:
	case CHAT_FILE_ACCEPT:
	case CHAT_FILE_DATA:
	case CHAT_FILE_CANCEL:
		chat_file_input(g, s, &p, now);
		break;
	default:
		break;
	}
}

void chat_rel_events(struct chat_group *g, uint64_t now)
{
	struct rel_core *core = g->cfg.core;
	struct rel_event ev;
	while (rel_poll_event(core, &ev)) {
		struct chat_sess *s = chat_sess_by_rel(g, ev.peer);
		switch (ev.type) {
		case REL_EV_CONNECTED:
			chat_gate_forget(g, ev.peer);
			if (s)
				chat_gate_release(g, s, 0);
			if (!s)
				s = chat_sess_new(g, ev.peer, now);
			if (!s) {
				rel_close(core, ev.peer, now);
				break;
			}
			if (g->quitting)
				chat_sess_close(g, s, now);
			else
				chat_sess_send(g, s, CHAT_HELLO, NULL, 0, REL_SEQPACKET, now);
			break;
		case REL_EV_MESSAGE:
			if (s) /* also while closing: what was in flight still counts */
				chat_on_message(g, s, &ev, now);
			rel_buf_recycle(core, ev.data);
			break;
		case REL_EV_ACKED:
			chat_file_acked(g, ev.peer, ev.msg_id);
			break;
		case REL_EV_PEER_CLOSED:
			/* all it sent was delivered: a file it finished is in */
			chat_file_sess_gone(g, ev.peer, now);
			if (s) {
				chat_peer_left(g, s, CHAT_GROUP_LEAVE);
				chat_sess_close(g, s, now);
			}
			break;
		case REL_EV_CLOSED: /* we closed it: quitting, or a duplicate */
			chat_file_sess_gone(g, ev.peer, now);
			if (s) {
				chat_gate_release(g, s, 0);
				s->used = 0;
			}
			break;
		case REL_EV_DEAD:
			chat_gate_forget(g, ev.peer);
			chat_file_sess_gone(g, ev.peer, now);
			if (s) {
				chat_peer_left(g, s, CHAT_GROUP_GONE);
				chat_gate_release(g, s, 0);
				s->used = 0;
			}
			break;
		default:
			break;
		}
	}
}
