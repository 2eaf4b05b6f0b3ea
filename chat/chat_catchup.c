/* chat_catchup.c - lines said before a peer was met, and /history (see
 * chat_group_int.h and docs/CHAT.md, "Catch-up").
 *
 * Beacons and handshakes are lost like anything else, so under loss a
 * peer may be running for seconds before we meet it; what we said in
 * that time never went into a session with it.  Every line we say to
 * everyone is logged (chat_log.h), and when a HELLO names a session, the
 * lines said since that peer started go into the session first, flagged
 * late; the receiver drops what it has shown already. */
#include <string.h>

#include "chat_group_int.h"
#include "udp_err.h"

uint64_t chat_wall(const struct chat_group *g, uint64_t now)
{
	return (uint64_t)((int64_t)now + g->wall_off);
}

int chat_sess_send_pkt(struct chat_group *g, struct chat_sess *s, struct chat_pkt *p,
		       uint64_t now)
{
	uint8_t buf[CHAT_PKT_MAX];
	p->port = 0;
	chat_pkt_self(g, p);
	int len = chat_pkt_encode(p, buf, sizeof buf);
	if (len < 0)
		return len;
	return rel_send(g->cfg.core, s->rel, buf, (size_t)len, REL_SEQPACKET, now, NULL);
}

static int send_logged(struct chat_group *g, struct chat_sess *s, const struct chat_log_line *l,
		       uint8_t flags, uint64_t now)
{
	struct chat_pkt p = { .type = l->type, .seq = l->seq, .ts = l->ts, .flags = flags,
			      .text = l->text, .text_len = l->len };
	int r = chat_sess_send_pkt(g, s, &p, now);
	if (r < 0) {
		struct chat_group_event ev = { .type = CHAT_GROUP_SEND_FAILED, .id = s->id,
					       .err = r };
		chat_emit(g, &ev);
	}
	return r;
}

void chat_catchup(struct chat_group *g, struct chat_sess *s, uint64_t now)
{
	chat_log_expire(g->log, now);
	size_t n = chat_log_count(g->log);
	for (size_t i = chat_log_since(g->log, s->peer_start); i < n; i++) {
		if (send_logged(g, s, chat_log_at(g->log, i), CHAT_LINE_LATE, now) < 0)
			return; /* the core is full: the rest would arrive out of order */
		g->st.late_sent++;
	}
}

/* History is what catch-up leaves out: lines said before the asker
 * started, so the two never overlap on its screen.  Answered at most
 * once per CHAT_HISTORY_GAP_US per session, at most CHAT_HISTORY_MAX
 * lines: a peer cannot make us resend the log in a loop. */
void chat_on_history(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now)
{
	if (now < s->history_ok) {
		g->st.history_refused++;
		return;
	}
	s->history_ok = now + CHAT_HISTORY_GAP_US;
	chat_log_expire(g->log, now);
	size_t end, i = chat_log_before(g->log, s->peer_start, p->count, &end);
	for (; i < end; i++) {
		if (send_logged(g, s, chat_log_at(g->log, i), CHAT_LINE_HISTORY, now) < 0)
			return;
		g->st.history_sent++;
	}
}

int chat_group_history(struct chat_group *g, unsigned n, uint64_t now)
{
	if (n < 1 || n > CHAT_HISTORY_MAX)
		return UDP_EINVAL;
	if (now < g->history_ok)
		return UDP_EAGAIN;
	g->history_ok = now + CHAT_HISTORY_GAP_US;
	int asked = 0;
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++) {
		struct chat_sess *s = &g->s[i];
		if (!s->used || !s->id || s->closing)
			continue;
		struct chat_pkt p = { .type = CHAT_HISTORY, .count = (uint16_t)n };
		if (chat_sess_send_pkt(g, s, &p, now) == 0)
			asked++;
	}
	return asked;
}

void chat_on_line(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		  const char *nick, uint64_t now)
{
	if (!chat_seen_check(g->seen, s->id, p->seq, p->flags == CHAT_LINE_HISTORY, now)) {
		g->st.dup++;
		return;
	}
	char name[CHAT_NAME_MAX];
	chat_group_name(g, s->id, nick, name, sizeof name);
	struct chat_group_event ev = { .type = CHAT_GROUP_LINE, .id = s->id, .name = name,
				       .line_type = p->type, .line_flags = p->flags,
				       .ts_us = p->ts, .text = p->text,
				       .text_len = p->text_len };
	g->st.received++;
	chat_emit(g, &ev);
}
