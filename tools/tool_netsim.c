/* tool_netsim.c - --netsim / --netsim-in for every tool, on top of the
 * socket seam (netsim_sock_attach): the option parser hands the specs
 * here, the tool applies them to its socket, the wait loops cap their
 * timeouts at the next due datagram, and --stats prints the counters.
 * An option replaces UDPKIT_NETSIM / UDPKIT_NETSIM_IN for its direction. */
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_pcap.h"
#include "netsim.h"
#include "netsim_schedule.h"
#include "netsim_sock.h"

static const char *spec[2]; /* TOOL_NETSIM_OUT, TOOL_NETSIM_IN */
static struct netsim_schedule *sched[2];
static const char *const sched_opt[2] = { "--netsim-schedule", "--netsim-in-schedule" };
static const char *const spec_opt[2] = { "--netsim", "--netsim-in" };

/* @FILE: a timeline kept in a file, at most 64 KiB */
static char *read_schedule_file(const char *opt, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		tool_usage_die("%s: cannot open '%s': %s", opt, path, strerror(errno));
	static char text[65537];
	size_t n = fread(text, 1, sizeof text - 1, f);
	int bad = ferror(f) || !feof(f);
	fclose(f);
	if (bad)
		tool_usage_die("%s: cannot read '%s' (or longer than 64 KiB)", opt, path);
	text[n] = '\0';
	return text;
}

void tool_netsim_schedule_option(int dir, const char *opt, const char *arg)
{
	const char *text = arg[0] == '@' ? read_schedule_file(opt, arg + 1) : arg;
	struct netsim_schedule *s = malloc(sizeof *s);
	char err[320];
	if (!s)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	if (netsim_schedule_parse(s, text, err, sizeof err) < 0)
		tool_usage_die("%s: %s", opt, err);
	for (unsigned i = 0; i < s->n; i++)
		if (s->phase[i].cfg.rate_trace[0])
			tool_usage_die("%s: 'rate trace' cannot be a phase of a timeline", opt);
	if (spec[dir])
		tool_usage_die("%s and %s both set the same direction", spec_opt[dir], opt);
	free(sched[dir]);
	sched[dir] = s;
}

void tool_netsim_option(int dir, const char *opt, const char *arg)
{
	struct netsim_config cfg;
	char err[256];
	if (netsim_parse(&cfg, arg, err, sizeof err) < 0)
		tool_usage_die("%s: %s", opt, err);
	if (sched[dir])
		tool_usage_die("%s and %s both set the same direction", opt, sched_opt[dir]);
	spec[dir] = arg;
}

const char *tool_netsim_spec(int dir)
{
	return spec[dir];
}

static struct netsim *make(int dir, uint64_t now_us)
{
	static const char *var[2] = { "UDPKIT_NETSIM", "UDPKIT_NETSIM_IN" };
	struct netsim *ns;
	if (sched[dir]) {
		if (netsim_new(&ns, "", NULL, 0) < 0 || netsim_set_schedule(ns, sched[dir]) < 0)
			tool_die(TOOL_EXIT_ERR, "out of memory");
		netsim_start_at(ns, now_us);
	} else {
		const char *s = spec[dir] ? spec[dir] : getenv(var[dir]);
		if (!s || !*s)
			return NULL;
		char err[256];
		if (netsim_new(&ns, s, err, sizeof err) < 0)
			tool_usage_die("%s: %s", var[dir], err); /* only the env can be bad here */
	}
	if (!netsim_has_seed(ns)) {
		uint64_t seed;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
			seed = (uint64_t)(tool_now() * 1e9) + (uint64_t)dir;
		netsim_reseed(ns, seed);
	}
	return ns;
}

struct netsim *tool_netsim_make(int dir, uint64_t now_us)
{
	return spec[dir] || sched[dir] ? make(dir, now_us) : NULL;
}

void tool_netsim_env_check(void)
{
	char err[256];
	if (!spec[0] && !spec[1] && !sched[0] && !sched[1] &&
	    netsim_sock_env_check(err, sizeof err) < 0)
		tool_usage_die("%s", err);
}

void tool_netsim_apply(struct udp_sock *s)
{
	/* every tool's sockets pass here once, so --pcap's tap goes on here
	 * too (it sits below the layers, so the order does not matter) */
	tool_pcap_attach(s, TOOL_PCAP_SIDE);
	if (!spec[0] && !spec[1] && !sched[0] && !sched[1])
		return; /* the library applied the environment's already */
	uint64_t now = udp_sock_now(s);
	if (netsim_sock_attach(s, make(TOOL_NETSIM_OUT, now), make(TOOL_NETSIM_IN, now)) < 0)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	const struct netsim *ns[2];
	netsim_sock_get(s, &ns[0], &ns[1]);
	for (int d = 0; d < 2; d++)
		if (ns[d]) {
			char text[NETSIM_DESCRIBE_MAX];
			netsim_describe(ns[d], text, sizeof text);
			tool_debug("netsim %s: %s", d ? "in" : "out", text);
		}
}

double tool_netsim_due_in(struct udp_sock *s)
{
	udp_sock_flush(s);
	uint64_t due = udp_sock_next_due(s);
	if (due == UINT64_MAX)
		return -1;
	uint64_t now = udp_sock_now(s);
	return due <= now ? 0 : (double)(due - now) / 1e6 + 0.0005;
}

void tool_netsim_finish(struct udp_sock *s)
{
	const struct netsim *out;
	netsim_sock_get(s, &out, NULL);
	while (out && !tool_stop_signal) {
		int r = udp_sock_flush(s);
		uint64_t due = netsim_next_due(out), now = udp_sock_now(s);
		int w = 0;
		if (r == UDP_EAGAIN)
			w = tool_wait(udp_sock_fd(s), POLLOUT, 1);
		else if (due == UINT64_MAX)
			return;
		else if (due > now)
			w = tool_wait(-1, 0, (double)(due - now) / 1e6 + 0.0005);
		if (w < 0)
			return;
	}
}

void tool_netsim_stats(struct udp_sock *s)
{
	const struct netsim *ns[2];
	struct netsim_counters c[2];
	netsim_sock_get(s, &ns[0], &ns[1]);
	netsim_sock_counters(s, &c[0], &c[1]);
	for (int d = 0; d < 2; d++) {
		if (!ns[d])
			continue;
		char text[NETSIM_DESCRIBE_MAX];
		netsim_describe(ns[d], text, sizeof text);
		tool_err("netsim_%s: in=%llu passed=%llu lost=%llu duplicated=%llu corrupted=%llu "
			 "delayed=%llu reordered=%llu queue_drops=%llu queued=%llu too_big=%llu seed=%llu spec='%s'",
			 d ? "in" : "out", (unsigned long long)c[d].in,
			 (unsigned long long)c[d].passed, (unsigned long long)c[d].lost,
			 (unsigned long long)c[d].duplicated, (unsigned long long)c[d].corrupted,
			 (unsigned long long)c[d].delayed, (unsigned long long)c[d].reordered,
			 (unsigned long long)c[d].queue_drops, (unsigned long long)c[d].queued,
			 (unsigned long long)c[d].too_big,
			 (unsigned long long)netsim_seed(ns[d]), text);
	}
}
