/* netsim_parse.c - tc-netem words to a struct netsim_config and
 * back.  The grammar is in docs/NETSIM.md.
 *
 * Numbers are read by hand rather than with strtod: strtod follows the
 * locale (a tool that calls setlocale would read "0.5" as 0) and accepts
 * "inf", "nan", hex floats and exponents that have no business in a spec.
 * describe() formats by hand for the same reason. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "udp_err.h"
#include "netsim.h"
#include "netsim_trace.h"

struct tok {
	const char *p;
	size_t n;
};

struct lexer {
	const char *s;
	size_t pos;
	char *err;
	size_t errlen;
	/* what the last keyword takes, for "one value too many" messages */
	const char *takes;
};

/* Longest token quoted in a message; longer ones are cut with "...". */
#define QUOTE_MAX 40
#define Q(t) (int)((t).n > QUOTE_MAX ? QUOTE_MAX : (t).n), (t).p, \
	((t).n > QUOTE_MAX ? "..." : "")

static const char *const keywords[] = {
	"limit", "delay", "distribution", "loss", "corrupt", "duplicate",
	"reorder", "gap", "rate", "seed", "mtu",
};

static int fail(struct lexer *lx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct lexer *lx, int code, const char *fmt, ...)
{
	if (lx->err && lx->errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(lx->err, lx->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int peek(const struct lexer *lx, struct tok *t)
{
	size_t i = lx->pos;
	while (lx->s[i] && is_space(lx->s[i]))
		i++;
	size_t start = i;
	while (lx->s[i] && !is_space(lx->s[i]))
		i++;
	t->p = lx->s + start;
	t->n = i - start;
	return t->n > 0;
}

static int next(struct lexer *lx, struct tok *t)
{
	if (!peek(lx, t))
		return 0;
	lx->pos = (size_t)(t->p - lx->s) + t->n;
	return 1;
}

static int tok_is(struct tok t, const char *word)
{
	return strlen(word) == t.n && memcmp(t.p, word, t.n) == 0;
}

static int tok_is_ci(struct tok t, const char *word)
{
	if (strlen(word) != t.n)
		return 0;
	for (size_t i = 0; i < t.n; i++)
		if (lower(t.p[i]) != word[i])
			return 0;
	return 1;
}

static int is_keyword(struct tok t)
{
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
		if (tok_is(t, keywords[i]))
			return 1;
	return 0;
}

/* Optional values are recognised by their first character, so a word
 * after them ("delay 10ms loss 1%") is never mistaken for one. */
static int looks_numeric(struct tok t)
{
	return t.n > 0 && (is_digit(t.p[0]) || t.p[0] == '.' || t.p[0] == '-' || t.p[0] == '+');
}

static int peek_numeric(const struct lexer *lx, struct tok *t)
{
	return peek(lx, t) && looks_numeric(*t);
}

/* Takes the value a keyword requires: MISSING if the spec ends or the
 * next token is another keyword. */
static int need(struct lexer *lx, struct tok *t, const char *word, const char *what)
{
	if (!peek(lx, t) || is_keyword(*t))
		return fail(lx, UDP_ENETSIM_MISSING, "%s: missing %s", word, what);
	next(lx, t);
	return 0;
}

/* [-+]DIGITS[.DIGITS] at the start of t.  Sets *used to the characters
 * read; -1 when there is no digit at all. */
static int read_decimal(struct tok t, size_t *used, double *out)
{
	size_t i = 0;
	int neg = 0, digits = 0, point = 0, frac = 0, scale = 0;
	uint64_t mant = 0;
	if (i < t.n && (t.p[i] == '-' || t.p[i] == '+'))
		neg = t.p[i++] == '-';
	for (; i < t.n; i++) {
		char c = t.p[i];
		if (c == '.' && !point) {
			point = 1;
			continue;
		}
		if (!is_digit(c))
			break;
		digits++;
		/* past 18 digits the rest cannot change a double that matters */
		if (mant < 100000000000000000ull) {
			mant = mant * 10 + (uint64_t)(c - '0');
			frac += point;
		} else if (!point) {
			scale++;
		}
	}
	if (digits == 0)
		return -1;
	double v = (double)mant;
	for (; scale > 0; scale--)
		v *= 10.0;
	double div = 1.0;
	for (; frac > 0; frac--)
		div *= 10.0;
	v /= div;
	*out = neg ? -v : v;
	*used = i;
	return 0;
}

static int parse_percent(struct lexer *lx, const char *word, struct tok t, double *out)
{
	size_t used;
	double v;
	if (read_decimal(t, &used, &v) < 0 ||
	    !(used == t.n || (used + 1 == t.n && t.p[used] == '%')))
		return fail(lx, UDP_ENETSIM_VALUE,
			    "%s: '%.*s%s' is not a percentage (expected e.g. 5%% or 0.5%%)", word, Q(t));
	if (t.p[0] == '-')
		return fail(lx, UDP_ENETSIM_VALUE,
			    "%s: '%.*s%s' is negative (expected a percentage between 0 and 100)", word, Q(t));
	if (v > 100.0)
		return fail(lx, UDP_ENETSIM_VALUE,
			    "%s: '%.*s%s' is not a percentage between 0 and 100", word, Q(t));
	*out = v / 100.0;
	return 0;
}

struct unit {
	const char *name;
	double mult;
};

/* tc's time words; a bare number is microseconds, as in tc(8). */
static const struct unit time_units[] = {
	{"", 1e3}, {"s", 1e9}, {"sec", 1e9}, {"secs", 1e9},
	{"ms", 1e6}, {"msec", 1e6}, {"msecs", 1e6},
	{"us", 1e3}, {"usec", 1e3}, {"usecs", 1e3},
	{"ns", 1}, {"nsec", 1}, {"nsecs", 1},
};

/* tc keeps times in 32-bit microseconds; so do we, to accept exactly
 * what tc accepts. */
#define TIME_MAX_NS (4294967295ull * 1000ull)

static int parse_time(struct lexer *lx, const char *word, struct tok t, uint64_t *out)
{
	size_t used;
	double v;
	if (read_decimal(t, &used, &v) < 0)
		return fail(lx, UDP_ENETSIM_VALUE,
			    "%s: '%.*s%s' is not a time (expected e.g. 20ms, 500us or 1s)", word, Q(t));
	struct tok u = {t.p + used, t.n - used};
	const struct unit *found = NULL;
	for (size_t i = 0; i < sizeof time_units / sizeof time_units[0]; i++)
		if (tok_is_ci(u, time_units[i].name))
			found = &time_units[i];
	if (!found)
		return fail(lx, UDP_ENETSIM_VALUE,
			    "%s: '%.*s%s' has an unknown time unit (expected s, ms, us or ns;"
			    " a bare number is microseconds)", word, Q(t));
	if (t.p[0] == '-')
		return fail(lx, UDP_ENETSIM_VALUE, "%s: '%.*s%s' is negative", word, Q(t));
	double ns = v * found->mult;
	if (ns > (double)TIME_MAX_NS)
		return fail(lx, UDP_ENETSIM_VALUE,
			    "%s: '%.*s%s' is too long (at most 4294967295us, as tc)", word, Q(t));
	*out = (uint64_t)(ns + 0.5);
	return 0;
}

/* tc's rate words, case-insensitive as in tc: "bit" units count bits,
 * "bps" units count BYTES per second; ki/mi/gi/ti are powers of 1024. */
static const struct unit rate_units[] = {
	{"", 1}, {"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
	{"kibit", 1024.0}, {"mibit", 1048576.0}, {"gibit", 1073741824.0},
	{"tibit", 1099511627776.0},
	{"bps", 8}, {"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {"tbps", 8e12},
	{"kibps", 8 * 1024.0}, {"mibps", 8 * 1048576.0}, {"gibps", 8 * 1073741824.0},
	{"tibps", 8 * 1099511627776.0},
};

#define RATE_MAX_BPS 1e15 /* a petabit: beyond any link this could model */

static int parse_rate(struct lexer *lx, struct tok t, uint64_t *out)
{
	size_t used;
	double v;
	if (read_decimal(t, &used, &v) < 0)
		return fail(lx, UDP_ENETSIM_VALUE,
			    "rate: '%.*s%s' is not a rate (expected e.g. 1mbit or 100kbps)", Q(t));
	struct tok u = {t.p + used, t.n - used};
	if (tok_is(u, "%"))
		return fail(lx, UDP_ENETSIM_VALUE,
			    "rate: '%.*s%s': a percentage of the device speed is not supported", Q(t));
	const struct unit *found = NULL;
	for (size_t i = 0; i < sizeof rate_units / sizeof rate_units[0]; i++)
		if (tok_is_ci(u, rate_units[i].name))
			found = &rate_units[i];
	if (!found)
		return fail(lx, UDP_ENETSIM_VALUE,
			    "rate: '%.*s%s' has an unknown rate unit (expected bit, kbit, mbit, gbit,"
			    " or bps, kbps, mbps for bytes per second)", Q(t));
	if (t.p[0] == '-')
		return fail(lx, UDP_ENETSIM_VALUE, "rate: '%.*s%s' is negative", Q(t));
	double bps = v * found->mult + 0.5;
	if (bps < 1.0)
		return fail(lx, UDP_ENETSIM_VALUE, "rate: '%.*s%s' is less than 1 bit per second", Q(t));
	if (bps > RATE_MAX_BPS)
		return fail(lx, UDP_ENETSIM_VALUE, "rate: '%.*s%s' is too fast (at most 1000tbit)", Q(t));
	*out = (uint64_t)bps;
	return 0;
}

/* A plain integer (seed also takes 0xHEX).  No sign, no point. */
static int parse_u64(struct tok t, int hex_ok, uint64_t max, uint64_t *out)
{
	size_t i = 0;
	unsigned base = 10;
	if (hex_ok && t.n > 2 && t.p[0] == '0' && (t.p[1] == 'x' || t.p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == t.n)
		return -1;
	uint64_t v = 0;
	for (; i < t.n; i++) {
		char c = lower(t.p[i]);
		unsigned d;
		if (is_digit(c))
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		if (v > (max - d) / base)
			return -2;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int parse_int(struct lexer *lx, const char *word, const char *what, struct tok t,
		     int64_t min, int64_t max, int64_t *out)
{
	int neg = t.n > 0 && t.p[0] == '-';
	struct tok digits = t;
	if (neg || (t.n > 0 && t.p[0] == '+')) {
		digits.p++;
		digits.n--;
	}
	uint64_t v;
	int rc = parse_u64(digits, 0, UINT64_MAX, &v);
	if (rc == -1)
		return fail(lx, UDP_ENETSIM_VALUE, "%s: '%.*s%s' is not a whole number (%s)",
			    word, Q(t), what);
	if (neg && min >= 0)
		return fail(lx, UDP_ENETSIM_VALUE, "%s: '%.*s%s' is negative (%s)", word, Q(t), what);
	if (rc == -2 || (!neg && v > (uint64_t)max) || (neg && v > (uint64_t)-min) ||
	    (!neg && (int64_t)v < min))
		return fail(lx, UDP_ENETSIM_VALUE, "%s: '%.*s%s' is out of range %lld..%lld (%s)",
			    word, Q(t), (long long)min, (long long)max, what);
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* PERCENT [CORR] for loss, corrupt, duplicate and reorder. */
static int parse_pct_corr(struct lexer *lx, const char *word, double *p, double *corr)
{
	struct tok t;
	int rc = need(lx, &t, word, "percentage (e.g. 1%)");
	if (rc == 0)
		rc = parse_percent(lx, word, t, p);
	if (rc == 0 && peek_numeric(lx, &t)) {
		next(lx, &t);
		rc = parse_percent(lx, word, t, corr);
	}
	return rc;
}

#define SUM_SLACK 1e-10

/* `loss burst MEAN LEN`: mean loss and mean burst length in words people
 * use, mapped onto the simple Gilbert chain (a bad state always loses, a
 * good one never): bursts last 1/r packets on average and the chain is bad
 * p/(p+r) of the time, so r = 1/LEN and p = MEAN r / (1 - MEAN). */
static int parse_burst(struct lexer *lx, struct netsim_config *cfg)
{
	struct tok t;
	double mean, len;
	size_t used;
	lx->takes = "loss burst takes MEAN% and LEN";
	int rc = need(lx, &t, "loss burst", "mean loss (e.g. loss burst 5% 3)");
	if (rc == 0)
		rc = parse_percent(lx, "loss burst", t, &mean);
	if (rc == 0)
		rc = need(lx, &t, "loss burst", "mean burst length in packets (e.g. loss burst 5% 3)");
	if (rc != 0)
		return rc;
	if (read_decimal(t, &used, &len) < 0 || used != t.n)
		return fail(lx, UDP_ENETSIM_VALUE, "loss burst: '%.*s%s' is not a burst length"
			    " (a number of packets, e.g. 3 or 2.5)", Q(t));
	if (len < 1.0 || len > 1e9)
		return fail(lx, UDP_ENETSIM_VALUE, "loss burst: a mean burst length of '%.*s%s'"
			    " is not between 1 and 1000000000 packets", Q(t));
	/* p <= 1 caps the mean: each burst needs a good packet after it */
	if (mean >= 1.0 || mean > len / (len + 1.0) + SUM_SLACK)
		return fail(lx, UDP_ENETSIM_VALUE, "loss burst: a mean loss of %.4g%% cannot be"
			    " made of bursts %.4g packets long (at most %.4g%%: every burst"
			    " ends with a delivered packet)", mean * 100.0, len,
			    100.0 * len / (len + 1.0));
	double r = 1.0 / len, p = mean * r / (1.0 - mean);
	cfg->loss_model = NETSIM_LOSS_GEMODEL;
	cfg->loss[0] = p > 1.0 ? 1.0 : p;
	cfg->loss[1] = r;
	cfg->loss[2] = 1.0;
	cfg->loss[3] = 0.0;
	cfg->loss[4] = 0.0;
	cfg->burst_mean = mean;
	cfg->burst_len = len;
	return 0;
}

static int parse_loss(struct lexer *lx, struct netsim_config *cfg)
{
	struct tok t;
	double *v = cfg->loss;
	int rc;
	if (peek(lx, &t) && tok_is(t, "random"))
		next(lx, &t);
	if (peek(lx, &t) && tok_is(t, "burst")) {
		next(lx, &t);
		return parse_burst(lx, cfg);
	}
	if (peek(lx, &t) && (tok_is(t, "gemodel") || tok_is(t, "state"))) {
		int ge = tok_is(t, "gemodel");
		const char *word = ge ? "loss gemodel" : "loss state";
		int max = ge ? 4 : 5;
		next(lx, &t);
		cfg->loss_model = ge ? NETSIM_LOSS_GEMODEL : NETSIM_LOSS_STATE;
		lx->takes = ge ? "loss gemodel takes at most 4 values (p r 1-h 1-k)"
			       : "loss state takes at most 5 values (p13 p31 p32 p23 p14)";
		rc = need(lx, &t, word, ge ? "p (e.g. loss gemodel 1% 10%)" : "p13 (e.g. loss state 1%)");
		if (rc == 0)
			rc = parse_percent(lx, word, t, &v[0]);
		/* defaults as tc-netem(8): the first value alone is Bernoulli */
		if (ge) {
			v[1] = 1.0 - v[0]; /* r */
			v[2] = 1.0;        /* 1-h: a bad state always loses */
			v[3] = 0.0;        /* 1-k: a good state never does */
		} else {
			v[1] = 1.0 - v[0]; /* p31 */
			v[2] = 0.0;        /* p32 */
			v[3] = 1.0;        /* p23 */
			v[4] = 0.0;        /* p14 */
		}
		for (int i = 1; rc == 0 && i < max && peek_numeric(lx, &t); i++) {
			next(lx, &t);
			rc = parse_percent(lx, word, t, &v[i]);
		}
		/* The slack covers describe()'s rounding to 9 decimals of a
		 * percent (up to 5e-12 per value), so the normal form of a sum
		 * of exactly 100% parses back; a sum that is more by that much
		 * only makes the last branch of the chain a little less likely. */
		if (rc == 0 && !ge && v[0] + v[4] > 1.0 + SUM_SLACK)
			rc = fail(lx, UDP_ENETSIM_VALUE, "loss state: p13 + p14 is more than 100%%");
		if (rc == 0 && !ge && v[1] + v[2] > 1.0 + SUM_SLACK)
			rc = fail(lx, UDP_ENETSIM_VALUE, "loss state: p31 + p32 is more than 100%%");
		return rc;
	}
	cfg->loss_model = NETSIM_LOSS_RANDOM;
	lx->takes = "loss takes a percentage and a correlation";
	return parse_pct_corr(lx, "loss", &v[0], &v[1]);
}

static int parse_delay(struct lexer *lx, struct netsim_config *cfg)
{
	struct tok t;
	lx->takes = "delay takes TIME [JITTER [CORRELATION]]";
	int rc = need(lx, &t, "delay", "time (e.g. delay 20ms)");
	if (rc == 0)
		rc = parse_time(lx, "delay", t, &cfg->delay_ns);
	if (rc == 0 && peek_numeric(lx, &t)) {
		next(lx, &t);
		rc = parse_time(lx, "delay jitter", t, &cfg->jitter_ns);
		if (rc == 0 && peek_numeric(lx, &t)) {
			next(lx, &t);
			rc = parse_percent(lx, "delay correlation", t, &cfg->delay_corr);
		}
	}
	return rc;
}

static int parse_distribution(struct lexer *lx, struct netsim_config *cfg)
{
	static const char *const names[] = {"uniform", "normal", "pareto", "paretonormal"};
	struct tok t;
	lx->takes = "distribution takes one name";
	int rc = need(lx, &t, "distribution", "name (uniform, normal, pareto or paretonormal)");
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (tok_is(t, names[i])) {
			cfg->dist = (enum netsim_dist)i;
			return 0;
		}
	}
	return fail(lx, UDP_ENETSIM_VALUE, "distribution: unknown distribution '%.*s%s'"
		    " (expected uniform, normal, pareto or paretonormal)", Q(t));
}

/* `rate trace FILE`: the file is read once here so that a bad trace is a
 * parse error naming its line, and again by netsim_new_config(). */
static int parse_trace(struct lexer *lx, struct netsim_config *cfg)
{
	struct tok t;
	lx->takes = "rate trace takes one file name";
	int rc = need(lx, &t, "rate trace", "file in mahimahi's format (e.g. rate trace link.trace)");
	if (rc != 0)
		return rc;
	if (t.n >= sizeof cfg->rate_trace)
		return fail(lx, UDP_ENETSIM_VALUE, "rate trace: the file name is longer than %d bytes",
			    NETSIM_TRACE_PATH_MAX - 1);
	char path[NETSIM_TRACE_PATH_MAX], why[300];
	memcpy(path, t.p, t.n);
	path[t.n] = '\0';
	struct netsim_trace *tr;
	rc = netsim_trace_load(&tr, path, why, sizeof why);
	if (rc == UDP_ESYS || rc == UDP_ENETSIM_VALUE)
		return fail(lx, UDP_ENETSIM_VALUE, "rate trace: %s", why);
	if (rc < 0)
		return rc;
	netsim_trace_free(tr);
	memcpy(cfg->rate_trace, path, t.n + 1);
	return 0;
}

static int parse_rate_word(struct lexer *lx, struct netsim_config *cfg)
{
	struct tok t;
	int64_t v;
	lx->takes = "rate takes RATE [PACKETOVERHEAD [CELLSIZE [CELLOVERHEAD]]]";
	if (peek(lx, &t) && tok_is(t, "trace")) {
		next(lx, &t);
		return parse_trace(lx, cfg);
	}
	int rc = need(lx, &t, "rate", "rate (e.g. rate 1mbit)");
	if (rc == 0)
		rc = parse_rate(lx, t, &cfg->rate_bps);
	if (rc == 0 && peek_numeric(lx, &t)) {
		next(lx, &t);
		rc = parse_int(lx, "rate", "packet overhead in bytes", t, -65535, 65535, &v);
		cfg->rate_overhead = (int32_t)v;
		if (rc == 0 && peek_numeric(lx, &t)) {
			next(lx, &t);
			rc = parse_int(lx, "rate", "cell size in bytes", t, 0, 65535, &v);
			cfg->rate_cell = (uint32_t)v;
			if (rc == 0 && peek_numeric(lx, &t)) {
				next(lx, &t);
				rc = parse_int(lx, "rate", "cell overhead in bytes", t, -65535, 65535, &v);
				cfg->rate_cell_overhead = (int32_t)v;
			}
		}
	}
	return rc;
}

static int parse_words(struct lexer *lx, struct netsim_config *cfg)
{
	struct tok t;
	int rc = 0;
	while (rc == 0 && next(lx, &t)) {
		unsigned bit = 0;
		static const struct { const char *w; unsigned bit; } bits[] = {
			{"limit", NETSIM_GIVEN_LIMIT}, {"delay", NETSIM_GIVEN_DELAY},
			{"distribution", NETSIM_GIVEN_DIST}, {"loss", NETSIM_GIVEN_LOSS},
			{"corrupt", NETSIM_GIVEN_CORRUPT}, {"duplicate", NETSIM_GIVEN_DUPLICATE},
			{"reorder", NETSIM_GIVEN_REORDER}, {"gap", NETSIM_GIVEN_GAP},
			{"rate", NETSIM_GIVEN_RATE}, {"seed", NETSIM_GIVEN_SEED},
			{"mtu", NETSIM_GIVEN_MTU},
		};
		for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
			if (tok_is(t, bits[i].w))
				bit = bits[i].bit;
		if (bit == 0) {
			if (tok_is(t, "ecn") || tok_is(t, "slot"))
				return fail(lx, UDP_ENETSIM_WORD, "'%.*s%s' is a tc-netem word this"
					    " simulator does not support", Q(t));
			if (looks_numeric(t) && lx->takes)
				return fail(lx, UDP_ENETSIM_VALUE, "unexpected value '%.*s%s': %s",
					    Q(t), lx->takes);
			if (looks_numeric(t))
				return fail(lx, UDP_ENETSIM_VALUE,
					    "unexpected value '%.*s%s' before any word", Q(t));
			return fail(lx, UDP_ENETSIM_WORD, "unknown word '%.*s%s'", Q(t));
		}
		/* tc lets a later word override an earlier one; a spec that says
		 * two things is more likely a mistake, so it is refused. */
		if (cfg->given & bit)
			return fail(lx, UDP_ENETSIM_TWICE, "'%.*s%s' given twice", Q(t));
		cfg->given |= bit;
		uint64_t u;
		int64_t v;
		struct tok val;
		switch (bit) {
		case NETSIM_GIVEN_LIMIT:
			lx->takes = "limit takes one number";
			rc = need(lx, &val, "limit", "number of packets (e.g. limit 1000)");
			if (rc == 0)
				rc = parse_int(lx, "limit", "queue length in packets", val, 1,
					       NETSIM_LIMIT_MAX, &v);
			if (rc == 0)
				cfg->limit = (uint32_t)v;
			break;
		case NETSIM_GIVEN_DELAY:
			rc = parse_delay(lx, cfg);
			break;
		case NETSIM_GIVEN_DIST:
			rc = parse_distribution(lx, cfg);
			break;
		case NETSIM_GIVEN_LOSS:
			rc = parse_loss(lx, cfg);
			break;
		case NETSIM_GIVEN_CORRUPT:
			lx->takes = "corrupt takes a percentage and a correlation";
			rc = parse_pct_corr(lx, "corrupt", &cfg->corrupt, &cfg->corrupt_corr);
			break;
		case NETSIM_GIVEN_DUPLICATE:
			lx->takes = "duplicate takes a percentage and a correlation";
			rc = parse_pct_corr(lx, "duplicate", &cfg->duplicate, &cfg->duplicate_corr);
			break;
		case NETSIM_GIVEN_REORDER:
			lx->takes = "reorder takes a percentage, a correlation and 'gap N'";
			rc = parse_pct_corr(lx, "reorder", &cfg->reorder, &cfg->reorder_corr);
			break;
		case NETSIM_GIVEN_GAP:
			lx->takes = "gap takes one number";
			rc = need(lx, &val, "gap", "distance (e.g. reorder 25% gap 5)");
			if (rc == 0)
				rc = parse_int(lx, "gap", "packets between reorderings", val, 1,
					       UINT32_MAX, &v);
			if (rc == 0)
				cfg->gap = (uint32_t)v;
			break;
		case NETSIM_GIVEN_RATE:
			rc = parse_rate_word(lx, cfg);
			break;
		case NETSIM_GIVEN_MTU:
			lx->takes = "mtu takes one number";
			rc = need(lx, &val, "mtu", "largest datagram in bytes (e.g. mtu 1232)");
			if (rc == 0)
				rc = parse_int(lx, "mtu", "largest datagram in bytes", val, 1,
					       NETSIM_MAX_PKT, &v);
			if (rc == 0)
				cfg->mtu = (uint32_t)v;
			break;
		case NETSIM_GIVEN_SEED:
			lx->takes = "seed takes one number";
			rc = need(lx, &val, "seed", "number (e.g. seed 42)");
			if (rc == 0) {
				int r = parse_u64(val, 1, UINT64_MAX, &u);
				if (r == -1)
					rc = fail(lx, UDP_ENETSIM_VALUE, "seed: '%.*s%s' is not a whole"
						  " number (decimal or 0xHEX)", Q(val));
				else if (r == -2)
					rc = fail(lx, UDP_ENETSIM_VALUE, "seed: '%.*s%s' is larger than"
						  " 64 bits", Q(val));
				else
					cfg->seed = u;
			}
			break;
		}
	}
	return rc;
}

/* Combinations tc refuses, plus the ones that would silently do nothing. */
static int check_words(struct lexer *lx, struct netsim_config *cfg)
{
	unsigned g = cfg->given;
	if ((g & NETSIM_GIVEN_REORDER) && cfg->delay_ns == 0)
		return fail(lx, UDP_ENETSIM_NEEDS, "reorder: needs a delay (the packets not"
			    " reordered are delayed by it), e.g. 'delay 10ms reorder 25%%'");
	if ((g & NETSIM_GIVEN_GAP) && !(g & NETSIM_GIVEN_REORDER))
		return fail(lx, UDP_ENETSIM_NEEDS, "gap: needs reorder, e.g. 'reorder 25%% gap 5'");
	if ((g & NETSIM_GIVEN_DIST) && !(g & NETSIM_GIVEN_DELAY))
		return fail(lx, UDP_ENETSIM_NEEDS, "distribution: needs a delay with jitter,"
			    " e.g. 'delay 20ms 5ms distribution normal'");
	if ((g & NETSIM_GIVEN_DIST) && cfg->jitter_ns == 0)
		return fail(lx, UDP_ENETSIM_NEEDS, "distribution: needs a jitter to shape,"
			    " e.g. 'delay 20ms 5ms distribution normal'");
	if ((g & NETSIM_GIVEN_REORDER) && !(g & NETSIM_GIVEN_GAP))
		cfg->gap = 1;
	return 0;
}

void netsim_config_default(struct netsim_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->limit = NETSIM_LIMIT_DEFAULT;
	cfg->dist = NETSIM_DIST_UNIFORM;
	cfg->loss_model = NETSIM_LOSS_NONE;
	cfg->seed = NETSIM_SEED_DEFAULT;
}

int netsim_parse(struct netsim_config *cfg, const char *spec, char *err, size_t errlen)
{
	struct lexer lx = {spec ? spec : "", 0, err, errlen, NULL};
	struct netsim_config c;
	if (!cfg)
		return UDP_EINVAL;
	if (err && errlen > 0)
		err[0] = '\0';
	netsim_config_default(&c);
	int rc = parse_words(&lx, &c);
	if (rc == 0)
		rc = check_words(&lx, &c);
	if (rc == 0)
		*cfg = c;
	return rc;
}

/* ---- describe ---- */

struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	char tmp[NETSIM_TRACE_PATH_MAX + 64]; /* the longest word: rate trace PATH */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return;
	size_t need = (o->len ? 1 : 0) + (size_t)n;
	if (o->len + need < o->cap) {
		if (o->len)
			o->buf[o->len] = ' ';
		memcpy(o->buf + o->len + (o->len ? 1 : 0), tmp, (size_t)n + 1);
	}
	o->len += need;
}

/* A fraction as a percentage with up to 9 decimals, no locale, no
 * exponent: text read_decimal() reads back. */
static const char *pct(char *b, size_t cap, double frac)
{
	uint64_t v = (uint64_t)(frac * 100.0 * 1e9 + 0.5);
	uint64_t ip = v / 1000000000u, fp = v % 1000000000u;
	int n = snprintf(b, cap, "%llu", (unsigned long long)ip);
	if (fp && n > 0 && (size_t)n + 11 < cap) {
		char f[11];
		snprintf(f, sizeof f, ".%09llu", (unsigned long long)fp);
		size_t k = strlen(f);
		while (f[k - 1] == '0')
			f[--k] = '\0';
		strcat(b, f);
	}
	strncat(b, "%", cap - strlen(b) - 1);
	return b;
}

/* Whether pct() prints anything but 0: a correlation below its last
 * decimal is left out, or the description would read back as a different
 * one ("loss 1% 0%" describes as "loss 1%"). */
static int pct_shown(double frac)
{
	return (uint64_t)(frac * 100.0 * 1e9 + 0.5) != 0;
}

static const char *time_str(char *b, size_t cap, uint64_t ns)
{
	if (ns % 1000000000u == 0 && ns)
		snprintf(b, cap, "%llus", (unsigned long long)(ns / 1000000000u));
	else if (ns % 1000000u == 0 && ns)
		snprintf(b, cap, "%llums", (unsigned long long)(ns / 1000000u));
	else if (ns % 1000u == 0)
		snprintf(b, cap, "%lluus", (unsigned long long)(ns / 1000u));
	else
		snprintf(b, cap, "%lluns", (unsigned long long)ns);
	return b;
}

static const char *rate_str(char *b, size_t cap, uint64_t bps)
{
	static const struct { uint64_t m; const char *u; } u[] = {
		{1000000000000ull, "tbit"}, {1000000000ull, "gbit"}, {1000000ull, "mbit"},
		{1000ull, "kbit"}, {1ull, "bit"},
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		if (bps % u[i].m == 0) {
			snprintf(b, cap, "%llu%s", (unsigned long long)(bps / u[i].m), u[i].u);
			break;
		}
	}
	return b;
}

int netsim_config_describe(const struct netsim_config *cfg, char *buf, size_t cap)
{
	static const char *const dists[] = {"uniform", "normal", "pareto", "paretonormal"};
	struct out o = {buf, cap, 0};
	char a[48], b[48], c[48], d[48], e[48];
	unsigned g = cfg->given;
	if (cap > 0)
		buf[0] = '\0';
	if (g & NETSIM_GIVEN_LIMIT)
		put(&o, "limit %u", (unsigned)cfg->limit);
	if (g & NETSIM_GIVEN_DELAY) {
		put(&o, "delay %s", time_str(a, sizeof a, cfg->delay_ns));
		if (cfg->jitter_ns || pct_shown(cfg->delay_corr))
			put(&o, "%s", time_str(a, sizeof a, cfg->jitter_ns));
		if (pct_shown(cfg->delay_corr))
			put(&o, "%s", pct(a, sizeof a, cfg->delay_corr));
	}
	if (g & NETSIM_GIVEN_DIST)
		put(&o, "distribution %s", dists[cfg->dist]);
	const double *v = cfg->loss;
	switch (cfg->loss_model) {
	case NETSIM_LOSS_NONE:
		break;
	case NETSIM_LOSS_RANDOM:
		put(&o, "loss %s", pct(a, sizeof a, v[0]));
		if (pct_shown(v[1]))
			put(&o, "%s", pct(a, sizeof a, v[1]));
		break;
	case NETSIM_LOSS_GEMODEL:
		if (cfg->burst_len > 0) {
			put(&o, "loss burst %s %.9g", pct(a, sizeof a, cfg->burst_mean),
			    cfg->burst_len);
			break;
		}
		put(&o, "loss gemodel %s %s %s %s", pct(a, sizeof a, v[0]), pct(b, sizeof b, v[1]),
		    pct(c, sizeof c, v[2]), pct(d, sizeof d, v[3]));
		break;
	case NETSIM_LOSS_STATE:
		put(&o, "loss state %s %s %s %s %s", pct(a, sizeof a, v[0]), pct(b, sizeof b, v[1]),
		    pct(c, sizeof c, v[2]), pct(d, sizeof d, v[3]), pct(e, sizeof e, v[4]));
		break;
	}
	static const struct { unsigned bit; const char *w; size_t p, c; } pc[] = {
		{NETSIM_GIVEN_CORRUPT, "corrupt", offsetof(struct netsim_config, corrupt),
		 offsetof(struct netsim_config, corrupt_corr)},
		{NETSIM_GIVEN_DUPLICATE, "duplicate", offsetof(struct netsim_config, duplicate),
		 offsetof(struct netsim_config, duplicate_corr)},
		{NETSIM_GIVEN_REORDER, "reorder", offsetof(struct netsim_config, reorder),
		 offsetof(struct netsim_config, reorder_corr)},
	};
	for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++) {
		if (!(g & pc[i].bit))
			continue;
		double p, corr;
		memcpy(&p, (const char *)cfg + pc[i].p, sizeof p);
		memcpy(&corr, (const char *)cfg + pc[i].c, sizeof corr);
		put(&o, "%s %s", pc[i].w, pct(a, sizeof a, p));
		if (pct_shown(corr))
			put(&o, "%s", pct(a, sizeof a, corr));
	}
	if ((g & NETSIM_GIVEN_REORDER) && cfg->gap > 1)
		put(&o, "gap %u", (unsigned)cfg->gap);
	if ((g & NETSIM_GIVEN_RATE) && cfg->rate_trace[0]) {
		put(&o, "rate trace %s", cfg->rate_trace);
	} else if (g & NETSIM_GIVEN_RATE) {
		put(&o, "rate %s", rate_str(a, sizeof a, cfg->rate_bps));
		if (cfg->rate_overhead || cfg->rate_cell || cfg->rate_cell_overhead)
			put(&o, "%d", (int)cfg->rate_overhead);
		if (cfg->rate_cell || cfg->rate_cell_overhead)
			put(&o, "%u", (unsigned)cfg->rate_cell);
		if (cfg->rate_cell_overhead)
			put(&o, "%d", (int)cfg->rate_cell_overhead);
	}
	if (g & NETSIM_GIVEN_MTU)
		put(&o, "mtu %u", (unsigned)cfg->mtu);
	if (g & NETSIM_GIVEN_SEED)
		put(&o, "seed %llu", (unsigned long long)cfg->seed);
	if (o.len >= cap)
		return UDP_ENOSPACE;
	return (int)o.len;
}
