/* chat_log.c - the sent-line log and the seen table (see chat_log.h). */
#include <stdlib.h>
#include <string.h>

#include "chat_log.h"
#include "udp_err.h"

struct chat_log {
	struct chat_log_config cfg;
	struct chat_log_line *ring; /* cfg.max_lines slots */
	size_t head, count, bytes;  /* head: the oldest */
};

void chat_log_config_default(struct chat_log_config *c)
{
	c->max_lines = CHAT_LOG_LINES;
	c->max_age_us = CHAT_LOG_AGE_US;
	c->max_bytes = CHAT_LOG_BYTES;
}

int chat_log_new(struct chat_log **out, const struct chat_log_config *cfg)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!cfg || !cfg->max_lines || cfg->max_lines > CHAT_LOG_LINES || !cfg->max_age_us ||
	    !cfg->max_bytes)
		return UDP_EINVAL;
	struct chat_log *l = calloc(1, sizeof *l);
	if (!l)
		return UDP_ENOMEM;
	l->ring = calloc(cfg->max_lines, sizeof *l->ring);
	if (!l->ring) {
		free(l);
		return UDP_ENOMEM;
	}
	l->cfg = *cfg;
	*out = l;
	return 0;
}

static struct chat_log_line *slot(const struct chat_log *l, size_t i)
{
	return &l->ring[(l->head + i) % l->cfg.max_lines];
}

static void drop_oldest(struct chat_log *l)
{
	struct chat_log_line *o = slot(l, 0);
	l->bytes -= o->len;
	free(o->text);
	memset(o, 0, sizeof *o);
	l->head = (l->head + 1) % l->cfg.max_lines;
	l->count--;
}

void chat_log_free(struct chat_log *l)
{
	if (!l)
		return;
	while (l->count)
		drop_oldest(l);
	free(l->ring);
	free(l);
}

int chat_log_add(struct chat_log *l, uint8_t type, uint64_t seq, uint64_t ts, uint64_t mono,
		 const void *text, size_t n)
{
	if (n > UINT16_MAX || n > l->cfg.max_bytes || (n && !text))
		return UDP_EINVAL;
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return UDP_ENOMEM;
	if (n)
		memcpy(copy, text, n);
	while (l->count && (l->count == l->cfg.max_lines || l->bytes + n > l->cfg.max_bytes))
		drop_oldest(l);
	struct chat_log_line *e = slot(l, l->count);
	*e = (struct chat_log_line){ .seq = seq, .ts = ts, .mono = mono, .type = type,
				     .len = (uint16_t)n, .text = copy };
	l->count++;
	l->bytes += n;
	return 0;
}

void chat_log_expire(struct chat_log *l, uint64_t now)
{
	while (l->count && now - slot(l, 0)->mono > l->cfg.max_age_us)
		drop_oldest(l);
}

size_t chat_log_count(const struct chat_log *l)
{
	return l->count;
}

size_t chat_log_bytes(const struct chat_log *l)
{
	return l->bytes;
}

const struct chat_log_line *chat_log_at(const struct chat_log *l, size_t i)
{
	return i < l->count ? slot(l, i) : NULL;
}

/* Lines are logged in time order (the group's wall clock never steps
 * back), so the split is one point; a scan is fine at 1000 lines. */
size_t chat_log_since(const struct chat_log *l, uint64_t start)
{
	size_t i = 0;
	while (i < l->count && slot(l, i)->ts < start)
		i++;
	return i;
}

size_t chat_log_before(const struct chat_log *l, uint64_t start, size_t n, size_t *end)
{
	*end = chat_log_since(l, start);
	return *end > n ? *end - n : 0;
}

/* ---- the seen table ---- */

struct seen_entry {
	uint64_t id;
	uint64_t hi;      /* newest live or catch-up line shown; 0: none */
	uint64_t lo;      /* oldest of those */
	uint64_t hist_hi; /* newest history line shown */
	uint64_t used;    /* when last heard, for eviction */
};

struct chat_seen {
	struct seen_entry e[CHAT_SEEN_MAX];
	size_t n;
};

int chat_seen_new(struct chat_seen **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : UDP_ENOMEM;
}

void chat_seen_free(struct chat_seen *s)
{
	free(s);
}

static struct seen_entry *seen_get(struct chat_seen *s, uint64_t id, uint64_t now)
{
	size_t oldest = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].id == id)
			return &s->e[i];
		if (s->e[i].used < s->e[oldest].used)
			oldest = i;
	}
	/* full: forget the sender heard from longest ago; if it comes back,
	 * a catch-up may show its lines again (documented limit) */
	struct seen_entry *e = s->n < CHAT_SEEN_MAX ? &s->e[s->n++] : &s->e[oldest];
	*e = (struct seen_entry){ .id = id, .used = now };
	return e;
}

int chat_seen_check(struct chat_seen *s, uint64_t id, uint64_t seq, int history, uint64_t now)
{
	struct seen_entry *e = seen_get(s, id, now);
	e->used = now;
	if (history) {
		/* only lines older than every live one, each once */
		if ((e->lo && seq >= e->lo) || seq <= e->hist_hi)
			return 0;
		e->hist_hi = seq;
		return 1;
	}
	if (seq <= e->hi || seq <= e->hist_hi)
		return 0;
	if (!e->hi)
		e->lo = seq;
	e->hi = seq;
	return 1;
}
