/* chat_wire.c - see chat_wire.h.  All parsing goes through udp_wire. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_wire.h"
#include "udp_err.h"
#include "udp_wire.h"

int chat_nick_valid(const char *nick, size_t len)
{
	if (!nick || len == 0 || len > CHAT_NICK_MAX || nick[0] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)nick[i];
		/* bytes >= 0x80 are allowed so UTF-8 nicks work */
		if (c <= ' ' || c == 0x7f || c == '#' || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

static int type_valid(uint8_t t)
{
	return t >= CHAT_BEACON && t <= CHAT_PEERS;
}

int chat_pkt_encode(const struct chat_pkt *p, void *buf, size_t cap)
{
	size_t nlen = strnlen(p->nick, sizeof p->nick);
	if (!type_valid(p->type) || !chat_nick_valid(p->nick, nlen) ||
	    p->text_len > CHAT_TEXT_MAX || (p->text_len && !p->text))
		return UDP_EINVAL;
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, buf, cap);
	udp_wire_put_u32(&w, CHAT_MAGIC);
	udp_wire_put_u8(&w, CHAT_VERSION);
	udp_wire_put_u8(&w, p->type);
	udp_wire_put_u64(&w, p->id);
	udp_wire_put_u16(&w, p->port);
	udp_wire_put_u8(&w, (uint8_t)nlen);
	udp_wire_put_bytes(&w, p->nick, nlen);
	udp_wire_put_u16(&w, (uint16_t)p->text_len);
	if (p->text_len)
		udp_wire_put_bytes(&w, p->text, p->text_len);
	if (udp_wire_writer_error(&w))
		return UDP_ENOSPACE;
	return (int)udp_wire_written(&w);
}

int chat_pkt_decode(struct chat_pkt *p, const void *buf, size_t len)
{
	struct udp_wire_reader r;
	memset(p, 0, sizeof *p);
	udp_wire_reader_init(&r, buf, len);
	uint32_t magic = udp_wire_get_u32(&r);
	uint8_t ver = udp_wire_get_u8(&r);
	p->type = udp_wire_get_u8(&r);
	p->id = udp_wire_get_u64(&r);
	p->port = udp_wire_get_u16(&r);
	uint8_t nlen = udp_wire_get_u8(&r);
	if (udp_wire_reader_error(&r))
		return UDP_ESHORT;
	/* cheap rejections first: foreign packets on a shared port */
	if (magic != CHAT_MAGIC || ver != CHAT_VERSION || !type_valid(p->type) ||
	    nlen == 0 || nlen > CHAT_NICK_MAX)
		return UDP_EINVAL;
	udp_wire_get_bytes(&r, p->nick, nlen);
	uint16_t tlen = udp_wire_get_u16(&r);
	if (udp_wire_reader_error(&r))
		return UDP_ESHORT;
	if (tlen > CHAT_TEXT_MAX)
		return UDP_EINVAL;
	p->text = udp_wire_get_ptr(&r, tlen);
	if (udp_wire_reader_error(&r))
		return UDP_ESHORT;
	p->text_len = tlen;
	if (udp_wire_remaining(&r) != 0 || !chat_nick_valid(p->nick, nlen))
		return UDP_EINVAL;
	if (!tlen)
		p->text = NULL;
	return 0;
}

/* ---- peer lists ---- */

int chat_peers_put(struct udp_wire_writer *w, const struct chat_peer_addr *e)
{
	int fam = udp_addr_family(&e->addr);
	if (fam != AF_INET && fam != AF_INET6)
		return UDP_EFAMILY;
	udp_wire_put_u64(w, e->id);
	if (fam == AF_INET) {
		udp_wire_put_u8(w, 4);
		udp_wire_put_bytes(w, &e->addr.u.in4.sin_addr, 4);
	} else {
		udp_wire_put_u8(w, 6);
		udp_wire_put_bytes(w, &e->addr.u.in6.sin6_addr, 16);
	}
	udp_wire_put_u16(w, (uint16_t)udp_addr_port(&e->addr));
	return udp_wire_writer_error(w) ? UDP_ENOSPACE : 0;
}

int chat_peers_next(struct udp_wire_reader *r, struct chat_peer_addr *e)
{
	if (udp_wire_reader_error(r))
		return UDP_ESHORT;
	if (udp_wire_remaining(r) == 0)
		return 0;
	memset(e, 0, sizeof *e);
	e->id = udp_wire_get_u64(r);
	uint8_t fam = udp_wire_get_u8(r);
	if (udp_wire_reader_error(r))
		return UDP_ESHORT;
	if (fam == 4) {
		e->addr.u.in4.sin_family = AF_INET;
		udp_wire_get_bytes(r, &e->addr.u.in4.sin_addr, 4);
		e->addr.len = sizeof e->addr.u.in4;
	} else if (fam == 6) {
		e->addr.u.in6.sin6_family = AF_INET6;
		udp_wire_get_bytes(r, &e->addr.u.in6.sin6_addr, 16);
		e->addr.len = sizeof e->addr.u.in6;
	} else {
		return UDP_EINVAL;
	}
	uint16_t port = udp_wire_get_u16(r);
	if (udp_wire_reader_error(r))
		return UDP_ESHORT;
	udp_addr_set_port(&e->addr, port);
	return 1;
}

/* ---- roster ---- */

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
		       enum chat_event_type t, struct chat_event *ev)
{
	if (!ev)
		return;
	ev->type = t;
	ev->id = p->id;
	ev->tag = p->tag;
	chat_roster_name(r, 0, NULL, p->id, p->nick, ev->name, sizeof ev->name);
}

int chat_roster_seen(struct chat_roster *r, uint64_t id, uint64_t now,
			 struct chat_event *ev)
{
	struct peer *p = find(r, id);
	if (!p)
		return UDP_EINVAL;
	if (now > p->last_seen)
		p->last_seen = now;
	if (p->state != CHAT_AWAY)
		return 0;
	p->state = CHAT_LIVE;
	fill_event(r, p, CHAT_EV_BACK, ev);
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
			 struct chat_event *ev)
{
	for (size_t i = 0; i < r->n; i++) {
		struct peer *p = &r->p[i];
		uint64_t silent = now > p->last_seen ? now - p->last_seen : 0;
		if (silent >= r->cfg.gone_us) {
			fill_event(r, p, CHAT_EV_GONE, ev);
			chat_roster_remove(r, p->id);
			return 1;
		}
		if (silent >= r->cfg.away_us && p->state == CHAT_LIVE) {
			p->state = CHAT_AWAY;
			fill_event(r, p, CHAT_EV_AWAY, ev);
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

int chat_roster_name(const struct chat_roster *r, uint64_t self_id,
			 const char *self_nick, uint64_t id, const char *nick,
			 char *buf, size_t cap)
{
	if (!nick || !buf)
		return UDP_EINVAL;
	int digits = 4;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct peer *p = &r->p[i];
		if (p->id != id && strcmp(p->nick, nick) == 0 && common_hex(p->id, id) + 1 > digits)
			digits = common_hex(p->id, id) + 1;
	}
	if (self_id && self_id != id && self_nick && strcmp(self_nick, nick) == 0 &&
	    common_hex(self_id, id) + 1 > digits)
		digits = common_hex(self_id, id) + 1;
	if (digits > 16)
		digits = 16;
	char hex[17];
	snprintf(hex, sizeof hex, "%016" PRIx64, id);
	int n = snprintf(buf, cap, "%s#%.*s", nick, digits, hex);
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
