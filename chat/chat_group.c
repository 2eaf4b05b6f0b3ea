/* chat_group.c - a chat group's life and the calls its user makes (see
 * chat_group.h; the parts are listed in chat_group_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat_group_int.h"
#include "udp_err.h"

void chat_group_config_default(struct chat_group_config *c)
{
	memset(c, 0, sizeof *c);
	c->beacon_us = 1000000;
	c->away_us = 5000000;
	c->gone_us = 10000000;
	c->file_offer_us = CHAT_FILE_OFFER_US;
}

/* The wall clock is read once: lines are stamped with the monotonic clock
 * plus this, so their times grow even if the system clock is stepped. */
static int64_t wall_offset(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t wall = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return wall - (int64_t)rel_drv_now();
}

int chat_group_new(struct chat_group **out, const struct chat_group_config *cfg)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!cfg || !cfg->core || !cfg->drv || !cfg->data || !cfg->id || !cfg->nick ||
	    chat_nick_check(cfg->nick, strlen(cfg->nick), NULL, 0) < 0 || !cfg->beacon_us)
		return UDP_EINVAL;
	struct chat_group *g = calloc(1, sizeof *g);
	if (!g)
		return UDP_ENOMEM;
	struct chat_roster_config rc;
	chat_roster_config_default(&rc);
	rc.away_us = cfg->away_us;
	rc.gone_us = cfg->gone_us;
	rc.max_peers = CHAT_GROUP_MAX_SESS;
	int r = chat_roster_new(&g->roster, &rc);
	if (r < 0) {
		free(g);
		return r;
	}
	struct chat_log_config lc;
	chat_log_config_default(&lc);
	if ((r = chat_log_new(&g->log, &lc)) < 0 || (r = chat_seen_new(&g->seen)) < 0) {
		chat_group_free(g);
		return r;
	}
	g->cfg = *cfg;
	if (!g->cfg.file_offer_us)
		g->cfg.file_offer_us = CHAT_FILE_OFFER_US;
	if (cfg->ident_pub) {
		g->ident = 1;
		memcpy(g->ident_pub, cfg->ident_pub, CHAT_KEY_LEN);
		g->cfg.ident_pub = g->ident_pub;
	}
	snprintf(g->nick, sizeof g->nick, "%s", cfg->nick);
	g->cfg.nick = g->nick;
	g->wall_off = cfg->wall_offset_us ? cfg->wall_offset_us : wall_offset();
	g->start = chat_wall(g, rel_drv_now());
	g->next_seq = 1;
	/* starting is a change of the roster: meet the others fast */
	g->beacon_gap = cfg->beacon_us / CHAT_BEACON_FAST_DIV;
	*out = g;
	return 0;
}

void chat_group_free(struct chat_group *g)
{
	if (!g)
		return;
	chat_roster_free(g->roster);
	chat_log_free(g->log);
	chat_seen_free(g->seen);
	free(g);
}

void chat_emit(struct chat_group *g, struct chat_group_event *ev)
{
	if (g->cfg.on_event)
		g->cfg.on_event(g->cfg.ctx, ev);
}

void chat_note(struct chat_group *g, enum chat_group_note note, const struct udp_addr *a,
	       int err, size_t len)
{
	struct chat_group_event ev = { .type = CHAT_GROUP_NOTE, .note = note, .addr = a,
				       .err = err, .len = len };
	chat_emit(g, &ev);
}

void chat_presence(struct chat_group *g, enum chat_group_event_type type, uint64_t id,
		   const char *nick, const struct udp_addr *addr, const char *to)
{
	char name[CHAT_NAME_MAX];
	chat_group_name(g, id, nick, name, sizeof name);
	struct chat_group_event ev = { .type = type, .id = id, .name = name, .addr = addr,
				       .to = to };
	chat_emit(g, &ev);
}

int chat_group_add_peer_key(struct chat_group *g, const struct udp_addr *a, const uint8_t *key,
			    uint64_t now)
{
	if (g->npeers == CHAT_GROUP_MAX_PEERS)
		return UDP_ENOSPACE;
	if (g->ident && !key)
		return UDP_EINVAL;
	int i = g->npeers++;
	g->peer_addr[i] = *a;
	g->peer_retry[i] = now + g->cfg.gone_us;
	g->peer_has_key[i] = key != NULL;
	if (key)
		memcpy(g->peer_key[i], key, CHAT_KEY_LEN);
	chat_connect_to(g, a, 0, i + 1, key, now);
	return 0;
}

int chat_group_add_peer(struct chat_group *g, const struct udp_addr *a, uint64_t now)
{
	return chat_group_add_peer_key(g, a, NULL, now);
}

static const uint8_t *chat_peer_key(const struct chat_group *g, int i)
{
	return g->peer_has_key[i] ? g->peer_key[i] : NULL;
}

/* An added peer whose session died (not up yet, or gone) is tried again. */
static void chat_retry_peers(struct chat_group *g, uint64_t now)
{
	for (int i = 0; i < g->npeers; i++) {
		if (now < g->peer_retry[i])
			continue;
		g->peer_retry[i] = now + g->cfg.gone_us;
		if (!chat_sess_by_addr(g, &g->peer_addr[i]))
			chat_connect_to(g, &g->peer_addr[i], 0, i + 1, chat_peer_key(g, i), now);
	}
}

/* A session that has not said HELLO within gone_us is closed: without it,
 * anyone could hold sessions open (up to CHAT_GROUP_MAX_SESS) for nothing. */
static void chat_reap_silent(struct chat_group *g, uint64_t now)
{
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++) {
		struct chat_sess *s = &g->s[i];
		if (s->used && !s->id && !s->closing && now - s->opened > g->cfg.gone_us) {
			chat_note(g, CHAT_NOTE_SILENT_CLOSED, &s->addr, 0, 0);
			chat_sess_close(g, s, now);
		}
	}
}

void chat_group_tick(struct chat_group *g, uint64_t now)
{
	if (now < g->next_beacon || g->quitting)
		return;
	chat_send_beacon(g, CHAT_BEACON, now);
	chat_retry_peers(g, now);
	chat_pex_tick(g, now);
	chat_reap_silent(g, now);
	chat_log_expire(g->log, now);
	g->next_beacon = now + chat_beacon_next_gap(g);
}

void chat_group_poll(struct chat_group *g, uint64_t now)
{
	chat_rel_events(g, now);
	chat_file_pump(g, now);
	chat_file_expire(g, now);
	struct chat_roster_event rev;
	while (chat_roster_tick(g->roster, now, &rev) == 1) {
		struct chat_group_event ev = {
			.type = rev.type == CHAT_ROSTER_AWAY ? CHAT_GROUP_AWAY : CHAT_GROUP_GONE,
			.id = rev.id, .name = rev.name };
		chat_emit(g, &ev);
	}
}

uint64_t chat_group_next_deadline(const struct chat_group *g)
{
	uint64_t due = g->next_beacon;
	uint64_t t = rel_next_deadline(g->cfg.core);
	if (t < due)
		due = t;
	t = chat_file_next_deadline(g);
	if (t < due)
		due = t;
	t = chat_roster_next_deadline(g->roster);
	return t < due ? t : due;
}

static void chat_send_all(struct chat_group *g, uint8_t type, const void *text, size_t n,
			  uint64_t now)
{
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++) {
		struct chat_sess *s = &g->s[i];
		if (!s->used || !s->id || s->closing)
			continue;
		int r = chat_sess_send(g, s, type, text, n, REL_SEQPACKET, now);
		if (r < 0) {
			struct chat_group_event ev = { .type = CHAT_GROUP_SEND_FAILED,
						       .id = s->id, .err = r };
			chat_emit(g, &ev);
		}
	}
}

/* A line gets the next counter and its time; a line to everyone is
 * logged first, so a peer met later gets it by catch-up. */
static void chat_send_line(struct chat_group *g, uint8_t type, const void *text, size_t n,
			   uint64_t now)
{
	struct chat_pkt p = { .type = type, .seq = g->next_seq++, .ts = chat_wall(g, now),
			      .text = text, .text_len = n };
	if (n > CHAT_TEXT_MAX)
		return;
	if (chat_log_add(g->log, type, p.seq, p.ts, now, text, n) < 0) {
		struct chat_group_event ev = { .type = CHAT_GROUP_SEND_FAILED, .err = UDP_ENOMEM };
		chat_emit(g, &ev);
	}
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++) {
		struct chat_sess *s = &g->s[i];
		if (!s->used || !s->id || s->closing)
			continue;
		int r = chat_sess_send_pkt(g, s, &p, now);
		if (r < 0) {
			struct chat_group_event ev = { .type = CHAT_GROUP_SEND_FAILED,
						       .id = s->id, .err = r };
			chat_emit(g, &ev);
		}
	}
}

void chat_group_say(struct chat_group *g, uint8_t type, const void *text, size_t n,
		    uint64_t now)
{
	if (type == CHAT_MSG || type == CHAT_ME) {
		chat_send_line(g, type, text, n, now);
		g->st.sent++;
		return;
	}
	chat_send_all(g, type, text, n, now);
}

static struct chat_sess *chat_sess_of_peer(const struct chat_group *g, uint64_t id)
{
	struct chat_peer_info pi;
	if (chat_roster_get(g->roster, id, &pi) < 0)
		return NULL;
	return chat_sess_by_rel((struct chat_group *)g, pi.tag);
}

int chat_group_send_private(struct chat_group *g, uint64_t id, const void *text, size_t n,
			    uint64_t now)
{
	struct chat_sess *s = chat_sess_of_peer(g, id);
	if (!s)
		return UDP_EINVAL;
	/* one counter for all our lines: the receiver's "newer than the
	 * newest shown" holds across the kinds */
	struct chat_pkt p = { .type = CHAT_PRIV, .seq = g->next_seq++, .ts = chat_wall(g, now),
			      .text = text, .text_len = n };
	int r = chat_sess_send_pkt(g, s, &p, now);
	if (r < 0)
		return r;
	g->st.privates++;
	return 0;
}

int chat_group_set_nick(struct chat_group *g, const char *nick, uint64_t now)
{
	if (chat_nick_check(nick, strlen(nick), NULL, 0) < 0)
		return UDP_EINVAL;
	snprintf(g->nick, sizeof g->nick, "%s", nick);
	chat_send_all(g, CHAT_NICK, NULL, 0, now);
	return 0;
}

/* BYE is delivered after everything sent before it; peers without a
 * session learn from the LEAVE beacon. */
void chat_group_quit(struct chat_group *g, uint64_t now)
{
	if (g->quitting)
		return;
	chat_file_cancel_all(g, now); /* before BYE: the peers hear why */
	g->quitting = 1;
	chat_send_all(g, CHAT_BYE, NULL, 0, now);
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		if (g->s[i].used)
			chat_sess_close(g, &g->s[i], now);
	chat_send_beacon(g, CHAT_LEAVE, now);
}

int chat_group_quitting(const struct chat_group *g)
{
	return g->quitting;
}

int chat_group_sessions(const struct chat_group *g)
{
	int n = 0;
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		n += g->s[i].used;
	return n;
}

const struct chat_roster *chat_group_roster(const struct chat_group *g)
{
	return g->roster;
}

int chat_group_peer_addr(const struct chat_group *g, uint64_t id, struct udp_addr *out)
{
	const struct chat_sess *s = chat_sess_of_peer(g, id);
	if (!s)
		return UDP_EINVAL;
	if (out)
		*out = s->addr;
	return 0;
}

uint64_t chat_group_id(const struct chat_group *g)
{
	return g->cfg.id;
}

const char *chat_group_nick(const struct chat_group *g)
{
	return g->nick;
}

int chat_group_name(const struct chat_group *g, uint64_t id, const char *nick, char *buf,
		    size_t cap)
{
	return chat_roster_name(g->roster, g->cfg.id, g->nick, id, nick, buf, cap);
}

void chat_group_stats(const struct chat_group *g, struct chat_group_stats *out)
{
	*out = g->st;
	out->gated = g->ngated;
	out->gated_pex = g->npex;
}
