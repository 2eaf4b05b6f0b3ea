/* netsim_schedule.c - parsing and reading a timeline of netsim specs. */
#include <stdio.h>
#include <string.h>

#include "netsim_schedule.h"
#include "netsim_int.h"
#include "udp_err.h"

/* Longest entry (time + spec) we copy to parse; longer is refused. */
#define ENTRY_MAX 1024

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static const struct {
	const char *name;
	uint64_t us;
} units[] = {{"us", 1}, {"ms", 1000}, {"s", 1000000}, {"min", 60000000}, {"h", 3600000000ull}};

/* A schedule time: digits, an optional fraction, a unit.  No bare numbers:
 * tc's bare microseconds would make "5" mean 5 us here, surely not meant. */
static int parse_time(const char *p, size_t n, uint64_t *out)
{
	size_t i = 0;
	uint64_t whole = 0, frac = 0, scale = 1;
	int digits = 0;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
		if (whole > NETSIM_SCHEDULE_MAX_US)
			return -1;
		whole = whole * 10 + (uint64_t)(p[i] - '0');
	}
	if (i < n && p[i] == '.') {
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
			if (scale < 1000000000ull) {
				frac = frac * 10 + (uint64_t)(p[i] - '0');
				scale *= 10;
			}
		}
	}
	if (digits == 0)
		return -1;
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		if (n - i != strlen(units[u].name) || memcmp(p + i, units[u].name, n - i) != 0)
			continue;
		if (whole > NETSIM_SCHEDULE_MAX_US / units[u].us)
			return -2;
		uint64_t us = whole * units[u].us + (frac * units[u].us + scale / 2) / scale;
		if (us > NETSIM_SCHEDULE_MAX_US)
			return -2;
		*out = us;
		return 0;
	}
	return -1;
}

static int parse_entry(struct netsim_schedule *s, unsigned idx, const char *e, size_t n,
		       int *repeat_seen, char *err, size_t errlen)
{
	char line[ENTRY_MAX + 1];
	if (n > ENTRY_MAX)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u: longer than %d characters",
			    idx, ENTRY_MAX);
	memcpy(line, e, n);
	line[n] = '\0';
	size_t tl = 0;
	while (tl < n && !blank(line[tl]))
		tl++;
	uint64_t t;
	int r = parse_time(line, tl, &t);
	if (r == -1)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u: '%.*s' is not a time"
			    " (expected e.g. 0s, 500ms, 2min)", idx, (int)(tl > 40 ? 40 : tl), line);
	if (r == -2)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u: '%.*s' is later than a week",
			    idx, (int)tl, line);
	const char *rest = line + tl;
	while (*rest && blank(*rest))
		rest++;
	if (*repeat_seen)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u (%.*s): 'repeat' must be"
			    " the last entry", idx, (int)tl, line);
	uint64_t last = s->n ? s->phase[s->n - 1].start_us : 0;
	if (s->n && t <= last)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u (%.*s): starts no later"
			    " than the entry before it; times must increase", idx, (int)tl, line);
	if (strcmp(rest, "repeat") == 0) {
		if (s->n == 0 || t == 0)
			return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u (%.*s): 'repeat'"
				    " needs phases before it", idx, (int)tl, line);
		s->repeat_us = t;
		*repeat_seen = 1;
		return 0;
	}
	if (s->n == NETSIM_SCHEDULE_MAX)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u: more than %d phases", idx,
			    NETSIM_SCHEDULE_MAX);
	char why[256];
	struct netsim_phase *ph = &s->phase[s->n];
	int rc = netsim_parse(&ph->cfg, rest, why, sizeof why);
	if (rc < 0)
		return netsim_errf(err, errlen, rc, "entry %u (%.*s): %s", idx, (int)tl, line, why);
	if (s->n > 0 && (ph->cfg.given & NETSIM_GIVEN_SEED))
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "entry %u (%.*s): seed: give it in"
			    " the first phase (one seed drives the whole timeline)", idx, (int)tl,
			    line);
	ph->start_us = t;
	s->n++;
	return 0;
}

int netsim_schedule_parse(struct netsim_schedule *out, const char *text, char *err,
			  size_t errlen)
{
	static struct netsim_schedule zero;
	if (!out || !text)
		return UDP_EINVAL;
	if (err && errlen > 0)
		err[0] = '\0';
	struct netsim_schedule s = zero;
	int repeat_seen = 0;
	unsigned idx = 0;
	const char *p = text;
	while (*p) {
		/* an entry ends at ';', a newline or a comment */
		const char *e = p;
		while (*e && *e != ';' && *e != '\n' && *e != '#')
			e++;
		const char *a = p, *b = e;
		while (a < b && blank(*a))
			a++;
		while (b > a && blank(b[-1]))
			b--;
		if (b > a) {
			int rc = parse_entry(&s, ++idx, a, (size_t)(b - a), &repeat_seen, err, errlen);
			if (rc < 0)
				return rc;
		}
		if (*e == '#')
			while (*e && *e != '\n')
				e++;
		p = *e ? e + 1 : e;
	}
	if (s.n == 0)
		return netsim_errf(err, errlen, UDP_ENETSIM_MISSING, "empty schedule (expected e.g."
			    " '0s loss 1%%; 5s loss 30%%; 10s repeat')");
	if (s.repeat_us && s.repeat_us <= s.phase[s.n - 1].start_us)
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "repeat must come after the last phase");
	*out = s;
	return 0;
}

int netsim_schedule_phase_at(const struct netsim_schedule *s, uint64_t t_us)
{
	if (!s || s->n == 0)
		return -1;
	if (s->repeat_us)
		t_us %= s->repeat_us;
	int at = -1;
	for (unsigned i = 0; i < s->n && s->phase[i].start_us <= t_us; i++)
		at = (int)i;
	return at;
}

static int put_time(char *buf, size_t cap, uint64_t us)
{
	if (us == 0)
		return snprintf(buf, cap, "0s");
	for (size_t u = sizeof units / sizeof units[0]; u-- > 0;)
		if (us % units[u].us == 0)
			return snprintf(buf, cap, "%llu%s", (unsigned long long)(us / units[u].us),
					units[u].name);
	return snprintf(buf, cap, "%lluus", (unsigned long long)us);
}

int netsim_schedule_describe(const struct netsim_schedule *s, char *buf, size_t cap)
{
	if (!s || (!buf && cap > 0))
		return UDP_EINVAL;
	size_t len = 0;
	char t[32], spec[NETSIM_DESCRIBE_MAX];
	for (unsigned i = 0; i <= s->n; i++) {
		if (i == s->n && !s->repeat_us)
			break;
		uint64_t at = i < s->n ? s->phase[i].start_us : s->repeat_us;
		put_time(t, sizeof t, at);
		if (i < s->n) {
			int r = netsim_config_describe(&s->phase[i].cfg, spec, sizeof spec);
			if (r < 0)
				return r;
		} else {
			strcpy(spec, "repeat");
		}
		int w = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s%s%s",
				 i ? "; " : "", t, spec[0] ? " " : "", spec);
		if (w < 0)
			return UDP_EINVAL;
		len += (size_t)w;
	}
	if (len >= cap)
		return UDP_ENOSPACE;
	return (int)len;
}
