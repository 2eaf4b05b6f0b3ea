/* chat_roster.c - who is there, and for how long silent (see chat_roster.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_roster.h"
#include "chat_wire.h"
#include "udp_err.h"

struct peer {
	uint64_t id;
	uint32_t tag;
	enum chat_state state;
	uint64_t last_seen;
	char nick[CHAT_NICK_MAX + 1];
};

struct chat_roster {
	struct chat_roster_config cfg;
	struct peer *p; /* join order; small (a LAN chat), so linear search */
	size_t n, cap;
};

void chat_roster_config_default(struct chat_roster_config *c)
{
	c->away_us = 5000000;
	c->gone_us = 10000000;
	c->max_peers = 256;
}

int chat_roster_new(struct chat_roster **out, const struct chat_roster_config *c)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!c || !c->away_us || c->gone_us <= c->away_us || !c->max_peers)
		return UDP_EINVAL;
	struct chat_roster *r = calloc(1, sizeof *r);
	if (!r)
		return UDP_ENOMEM;
	r->cfg = *c;
	*out = r;
	return 0;
}

void chat_roster_free(struct chat_roster *r)
{
	if (!r)
		return;
	free(r->p);
	free(r);
}

static struct peer *find(const struct chat_roster *r, uint64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].id == id)
			return &r->p[i];
	return NULL;
}

int chat_roster_add(struct chat_roster *r, uint64_t id, const char *nick,
			uint32_t tag, uint64_t now)
{
	if (find(r, id) || !nick || !chat_nick_valid(nick, strlen(nick)))
		return UDP_EINVAL;
	if (r->n == r->cfg.max_peers)
		return UDP_ENOSPACE;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct peer *np = realloc(r->p, cap * sizeof *np);
		if (!np)
			return UDP_ENOMEM;
		r->p = np;
		r->cap = cap;
	}
	struct peer *p = &r->p[r->n++];
	memset(p, 0, sizeof *p);
	p->id = id;
	p->tag = tag;
	p->last_seen = now;
	p->state = CHAT_LIVE;
	snprintf(p->nick, sizeof p->nick, "%s", nick);
	return 0;
}

int chat_roster_remove(struct chat_roster *r, uint64_t id)
{
	struct peer *p = find(r, id);
	if (!p)
		return UDP_EINVAL;
	size_t i = (size_t)(p - r->p);
	memmove(&r->p[i], &r->p[i + 1], (r->n - i - 1) * sizeof *p);
	r->n--;
	return 0;
}

static void fill_event(const struct chat_roster *r, const struct peer *p,
		       enum chat_roster_event_type t, struct chat_roster_event *ev)
{
	if (!ev)
		return;
	ev->type = t;
	ev->id = p->id;
	ev->tag = p->tag;
	chat_roster_name(r, 0, NULL, p->id, p->nick, ev->name, sizeof ev->name);
}

int chat_roster_seen(struct chat_roster *r, uint64_t id, uint64_t now,
			 struct chat_roster_event *ev)
{
	struct peer *p = find(r, id);
	if (!p)
		return UDP_EINVAL;
	if (now > p->last_seen)
		p->last_seen = now;
	if (p->state != CHAT_AWAY)
		return 0;
	p->state = CHAT_LIVE;
	fill_event(r, p, CHAT_ROSTER_BACK, ev);
	return 1;
}

int chat_roster_rename(struct chat_roster *r, uint64_t id, const char *nick)
{
	struct peer *p = find(r, id);
	if (!p || !nick || !chat_nick_valid(nick, strlen(nick)))
		return UDP_EINVAL;
	snprintf(p->nick, sizeof p->nick, "%s", nick);
	return 0;
}

int chat_roster_set_tag(struct chat_roster *r, uint64_t id, uint32_t tag)
{
	struct peer *p = find(r, id);
	if (!p)
		return UDP_EINVAL;
	p->tag = tag;
	return 0;
}

static void info_of(const struct peer *p, struct chat_peer_info *out)
{
	out->id = p->id;
	out->tag = p->tag;
	out->state = p->state;
	out->last_seen = p->last_seen;
	memcpy(out->nick, p->nick, sizeof out->nick);
}

int chat_roster_get(const struct chat_roster *r, uint64_t id,
			struct chat_peer_info *out)
{
	const struct peer *p = find(r, id);
	if (!p)
		return UDP_EINVAL;
	if (out)
		info_of(p, out);
	return 0;
}

size_t chat_roster_count(const struct chat_roster *r)
{
	return r->n;
}

int chat_roster_at(const struct chat_roster *r, size_t i,
		       struct chat_peer_info *out)
{
	if (i >= r->n)
		return UDP_EINVAL;
	info_of(&r->p[i], out);
	return 0;
}

int chat_roster_tick(struct chat_roster *r, uint64_t now,
			 struct chat_roster_event *ev)
{
	for (size_t i = 0; i < r->n; i++) {
		struct peer *p = &r->p[i];
		uint64_t silent = now > p->last_seen ? now - p->last_seen : 0;
		if (silent >= r->cfg.gone_us) {
			fill_event(r, p, CHAT_ROSTER_GONE, ev);
			chat_roster_remove(r, p->id);
			return 1;
		}
		if (silent >= r->cfg.away_us && p->state == CHAT_LIVE) {
			p->state = CHAT_AWAY;
			fill_event(r, p, CHAT_ROSTER_AWAY, ev);
			return 1;
		}
	}
	return 0;
}

uint64_t chat_roster_next_deadline(const struct chat_roster *r)
{
	uint64_t best = UINT64_MAX;
	for (size_t i = 0; i < r->n; i++) {
		const struct peer *p = &r->p[i];
		uint64_t t = p->last_seen + (p->state == CHAT_LIVE ? r->cfg.away_us
								      : r->cfg.gone_us);
		if (t < best)
			best = t;
	}
	return best;
}

/* How many leading hex digits of a and b agree (0..16). */
static int common_hex(uint64_t a, uint64_t b)
{
	int k = 0;
	while (k < 16 && ((a >> (60 - 4 * k)) & 15) == ((b >> (60 - 4 * k)) & 15))
		k++;
	return k;
}

/* Digits to show of id beside a look-alike name of other: 4 hex digits
 * (65536 values) can be matched by anyone who picks an id; 8 take 2^32
 * tries, and one more than the ids share tells these two apart. */
static int wider(int digits, uint64_t other, uint64_t id)
{
	int d = common_hex(other, id) + 1;
	if (d < 8)
		d = 8;
	if (d > 16)
		d = 16;
	return d > digits ? d : digits;
}

int chat_roster_name(const struct chat_roster *r, uint64_t self_id,
			 const char *self_nick, uint64_t id, const char *nick,
			 char *buf, size_t cap)
{
	if (!nick || !buf)
		return UDP_EINVAL;
	int digits = 4;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct peer *p = &r->p[i];
		if (p->id != id && chat_nick_same_look(p->nick, nick))
			digits = wider(digits, p->id, id);
	}
	if (self_id && self_id != id && self_nick && chat_nick_same_look(self_nick, nick))
		digits = wider(digits, self_id, id);
	char hex[17], shown[CHAT_NICK_SHOW_MAX];
	snprintf(hex, sizeof hex, "%016" PRIx64, id);
	chat_nick_display(nick, shown, sizeof shown);
	int n = snprintf(buf, cap, "%s#%.*s", shown, digits, hex);
	if (n < 0 || (size_t)n >= cap)
		return UDP_ENOSPACE;
	return n;
}

/* Does id's hex form start with prefix (1..16 hex digits)? */
static int hex_prefix(uint64_t id, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n == 0 || n > 16)
		return 0;
	char hex[17];
	snprintf(hex, sizeof hex, "%016" PRIx64, id);
	for (size_t i = 0; i < n; i++) {
		char c = prefix[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c != hex[i])
			return 0;
	}
	return 1;
}

int chat_roster_find(const struct chat_roster *r, const char *name,
			 uint64_t *id)
{
	const char *hash = strchr(name, '#');
	size_t nlen = hash ? (size_t)(hash - name) : strlen(name);
	int found = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct peer *p = &r->p[i];
		if (nlen && (strlen(p->nick) != nlen || memcmp(p->nick, name, nlen) != 0))
			continue;
		if (hash && !hex_prefix(p->id, hash + 1))
			continue;
		if (!nlen && !hash)
			continue;
		if (found++)
			return UDP_EINVAL;
		*id = p->id;
	}
	return found;
}
