/* netsim_trace.c - mahimahi delivery traces: loading and replaying. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "netsim_trace.h"
#include "netsim_int.h"
#include "udp_err.h"

/* One line: digits, then only blanks.  -1 when it is something else. */
static int64_t parse_line(const char *s)
{
	int64_t v = 0;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (v > 0xffffffffll)
			return -1;
		v = v * 10 + (*s - '0');
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return digits && !*s && v <= 0xffffffffll ? v : -1;
}

int netsim_trace_load(struct netsim_trace **out, const char *path, char *err, size_t errlen)
{
	if (!out || !path)
		return UDP_EINVAL;
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f)
		return netsim_errf(err, errlen, UDP_ESYS, "cannot open '%s': %s", path, strerror(errno));
	/* a FIFO or a device could block or never end */
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "'%s' is not a regular file", path);
	}
	struct netsim_trace *t = calloc(1, sizeof *t);
	size_t cap = 0, line = 0;
	char buf[64];
	int rc = t ? 0 : UDP_ENOMEM;
	while (rc == 0 && fgets(buf, sizeof buf, f)) {
		line++;
		size_t n = strlen(buf);
		if (n == sizeof buf - 1 && buf[n - 1] != '\n') {
			rc = netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "'%s' line %zu: too long", path, line);
			break;
		}
		if (buf[0] == '\n' || (buf[0] == '\r' && buf[1] == '\n'))
			continue;
		int64_t v = parse_line(buf);
		if (v < 0) {
			buf[strcspn(buf, "\r\n")] = '\0';
			rc = netsim_errf(err, errlen, UDP_ENETSIM_VALUE,
				  "'%s' line %zu: '%.20s' is not a millisecond count", path, line, buf);
		} else if (t->n && (uint32_t)v < t->ms[t->n - 1]) {
			rc = netsim_errf(err, errlen, UDP_ENETSIM_VALUE,
				  "'%s' line %zu: %lld is earlier than the line before", path, line,
				  (long long)v);
		} else if (t->n == NETSIM_TRACE_MAX_LINES) {
			rc = netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "'%s': more than %u lines", path,
				  NETSIM_TRACE_MAX_LINES);
		} else {
			if (t->n == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				uint32_t *p = realloc(t->ms, ncap * sizeof *p);
				if (!p) {
					rc = UDP_ENOMEM;
					break;
				}
				t->ms = p;
				cap = ncap;
			}
			t->ms[t->n++] = (uint32_t)v;
		}
	}
	if (rc == 0 && ferror(f))
		rc = netsim_errf(err, errlen, UDP_ESYS, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	if (rc == 0 && (!t->n || t->ms[t->n - 1] == 0))
		rc = netsim_errf(err, errlen, UDP_ENETSIM_VALUE, "'%s': a trace must span at least 1 ms"
			  " (its last line is the period)", path);
	if (rc < 0) {
		netsim_trace_free(t);
		return rc;
	}
	t->period_ms = t->ms[t->n - 1];
	*out = t;
	return 0;
}

void netsim_trace_free(struct netsim_trace *t)
{
	if (!t)
		return;
	free(t->ms);
	free(t);
}

static uint64_t opp_ns(const struct netsim_trace *t, const struct netsim_trace_cursor *c)
{
	return c->base_ns + (c->round * t->period_ms + t->ms[c->pos]) * 1000000ull;
}

static void next_opp(const struct netsim_trace *t, struct netsim_trace_cursor *c)
{
	if (++c->pos == t->n) {
		c->pos = 0;
		c->round++;
	}
	c->left = NETSIM_TRACE_BYTES;
}

/* Moves the cursor to the first opportunity at or after when_ns; the time
 * in between is idle link, its opportunities unused. */
static void skip_to(const struct netsim_trace *t, struct netsim_trace_cursor *c, uint64_t when_ns)
{
	uint64_t rel_ms = (when_ns - c->base_ns + 999999) / 1000000;
	c->round = rel_ms / t->period_ms;
	uint64_t within = rel_ms % t->period_ms;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->ms[mid] < within)
			lo = mid + 1;
		else
			hi = mid;
	}
	c->pos = lo;
	if (c->pos == t->n) {
		c->pos = 0;
		c->round++;
	}
	c->left = NETSIM_TRACE_BYTES;
}

uint64_t netsim_trace_depart(const struct netsim_trace *t, struct netsim_trace_cursor *c,
			     uint64_t ready_ns, size_t len)
{
	if (!c->started) {
		c->started = 1;
		c->base_ns = ready_ns;
		c->round = 0;
		c->pos = 0;
		c->left = NETSIM_TRACE_BYTES;
	}
	if (opp_ns(t, c) < ready_ns)
		skip_to(t, c, ready_ns);
	size_t need = len ? len : 1;
	while (need > c->left) {
		need -= c->left;
		next_opp(t, c);
	}
	c->left -= (uint32_t)need;
	return opp_ns(t, c);
}
