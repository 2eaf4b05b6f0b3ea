/* tool_rel.c - the parts of the reliable mode that udpsend and udprecv
 * share: options, the core and driver around the tool's socket, the event
 * loop step, the peer table with its --stats, and the progress bar. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tool_netsim.h"
#include "rel_bbr.h"
#include "tool_rel.h"
#include "tool_seal.h"

struct tool_rel_opts tool_rel_opt = { .progress = -1, .timeout = 10,
				       .cc = &rel_cc_bbr, .cc_name = "bbr" };

int tool_rel_option(int c, const char *arg)
{
	static const char *names[] = { "--ordered", "--timeout", "--progress",
				       "--no-progress", "--cc" };
	if (c >= TOOL_REL_O_ORDERED && c <= TOOL_REL_O_CC)
		tool_rel_opt.only_r = names[c - TOOL_REL_O_ORDERED];
	switch (c) {
	case 'r': tool_rel_opt.on = 1; return 1;
	case TOOL_REL_O_ORDERED: tool_rel_opt.ordered = 1; return 1;
	case TOOL_REL_O_TIMEOUT:
		tool_rel_opt.timeout = tool_parse_secs("--timeout", arg);
		if (tool_rel_opt.timeout < 0.5 || tool_rel_opt.timeout > 86400)
			tool_usage_die("bad --timeout '%s': between 0.5 and 86400 seconds", arg);
		tool_rel_opt.timeout_set = 1;
		return 1;
	case TOOL_REL_O_CC:
		if (!strcmp(arg, "bbr"))
			tool_rel_opt.cc = &rel_cc_bbr;
		else if (!strcmp(arg, "reno"))
			tool_rel_opt.cc = &rel_cc_reno;
		else if (!strcmp(arg, "none"))
			tool_rel_opt.cc = NULL;
		else
			tool_usage_die("bad --cc '%s': bbr, reno or none", arg);
		tool_rel_opt.cc_name = arg;
		return 1;
	case TOOL_REL_O_PROGRESS: tool_rel_opt.progress = 1; return 1;
	case TOOL_REL_O_NO_PROGRESS: tool_rel_opt.progress = 0; return 1;
	}
	return 0;
}

int tool_rel_enabled(void)
{
	if (!tool_rel_opt.on && tool_rel_opt.only_r)
		tool_usage_die("%s needs -r (--reliable)", tool_rel_opt.only_r);
	return tool_rel_opt.on;
}

void tool_rel_config_base(struct rel_config *cfg, int accept)
{
	rel_config_default(cfg);
	/* session ids and cookies must not be guessable */
	if (getrandom(&cfg->seed, sizeof cfg->seed, 0) != (ssize_t)sizeof cfg->seed ||
	    getrandom(cfg->cookie_secret, sizeof cfg->cookie_secret, 0) !=
		    (ssize_t)sizeof cfg->cookie_secret)
		tool_die(TOOL_EXIT_ERR, "no randomness: %s", strerror(errno));
	cfg->accept = accept;
}

void tool_rel_config(struct rel_config *cfg, int accept)
{
	tool_rel_config_base(cfg, accept);
	cfg->dead_us = (uint64_t)(tool_rel_opt.timeout * 1e6);
	/* a quiet but live peer must be heard several times per dead_us */
	if (cfg->keepalive_us > cfg->dead_us / 3)
		cfg->keepalive_us = cfg->dead_us / 3;
	/* The receiver acks at once (no delayed acks), so the floor only has
	 * to cover RTT jitter, as QUIC's PTO does; 200 ms would cost a
	 * lossy loopback or LAN transfer most of its time in timeouts. */
	cfg->rto_min_us = 20000;
	/* paced, and backing off when a queue fills: a sender must not flood a
	 * shared link; BBR (the default) keeps its rate under random loss */
	cfg->cc = tool_rel_opt.cc;
	tool_ident_attach(cfg);
}

void tool_rel_start(struct rel_core **core, struct rel_drv **drv,
		    struct udp_sock *sock, const struct rel_config *cfg)
{
	/* the base (cfg->mtu) and PMTUD count UDP payload: sealing included */
	struct rel_config c = *cfg;
	c.overhead = tool_seal_overhead();
	int err = rel_core_new(core, &c);
	if (err < 0)
		tool_die(TOOL_EXIT_ERR, "reliable core: %s", udpkit_strerror(err));
	if ((err = rel_drv_new(drv, *core, sock)) < 0)
		tool_die(TOOL_EXIT_ERR, "reliable driver: %s", udpkit_strerror(err));
}

void tool_rel_open(struct tool_rel_ctx *c, struct udp_sock *sock, int accept)
{
	struct rel_config cfg;
	tool_rel_config(&cfg, accept);
	tool_rel_open_cfg(c, sock, &cfg);
}

void tool_rel_open_cfg(struct tool_rel_ctx *c, struct udp_sock *sock,
		       const struct rel_config *cfg)
{
	memset(c, 0, sizeof *c);
	c->sock = sock;
	/* A window's burst must fit the receiver's socket buffer, or the
	 * kernel drops what the path would have carried (the default 208 KiB
	 * holds only about 90 datagrams of 1200 bytes). */
	udp_sock_set_buffers(sock, 8 << 20, 8 << 20);
#ifdef __GLIBC__
	/* Messages of --whole are 1 MiB, past glibc's mmap threshold: each
	 * would be mapped, faulted in page by page, zeroed and unmapped again
	 * (the heap's top trimmed likewise).  The memory in use is bounded by
	 * the send-ahead and the receive budget, so keep it. */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	tool_rel_start(&c->core, &c->drv, sock, cfg);
}

void tool_rel_close(struct tool_rel_ctx *c)
{
	rel_drv_free(c->drv);
	rel_core_free(c->core);
	free(c->peers);
	memset(c, 0, sizeof *c);
}

void tool_rel_peer_moved(struct tool_rel_ctx *c, struct tool_rel_peer *p)
{
	char old[sizeof p->name];
	memcpy(old, p->name, sizeof old);
	if (rel_drv_peer_addr(c->drv, p->id, &p->addr) < 0)
		return;
	tool_addr_str(&p->addr, p->name, sizeof p->name);
	tool_debug("peer moved from %s to %s", old, p->name);
}

struct tool_rel_peer *tool_rel_peer(struct tool_rel_ctx *c, uint32_t id, int create)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].id == id)
			return &c->peers[i];
	if (!create)
		return NULL;
	if (c->npeers == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 16;
		struct tool_rel_peer *np = realloc(c->peers, ncap * sizeof *np);
		if (!np)
			tool_die(TOOL_EXIT_ERR, "out of memory");
		c->peers = np;
		c->cap = ncap;
	}
	struct tool_rel_peer *p = &c->peers[c->npeers++];
	memset(p, 0, sizeof *p);
	p->id = id;
	p->t_open = p->t_last = tool_now();
	if (rel_drv_peer_addr(c->drv, id, &p->addr) < 0)
		snprintf(p->name, sizeof p->name, "peer#%u", (unsigned)id);
	else
		tool_addr_str(&p->addr, p->name, sizeof p->name);
	(void)rel_peer_stats(c->core, id, &p->st);
	tool_ident_who(c->core, id, &p->who);
	return p;
}

void tool_rel_snapshot(struct tool_rel_ctx *c, int force)
{
	double now = tool_now();
	if (!force && now - c->t_snap < 0.2)
		return;
	c->t_snap = now;
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].state != PEER_DEAD) {
			struct tool_rel_peer *p = &c->peers[i];
			(void)rel_peer_stats(c->core, p->id, &p->st);
			if (p->who.known) { /* only the rekey count moves */
				struct tool_ident_who w;
				tool_ident_who(c->core, p->id, &w);
				if (w.known)
					p->who.rekeys = w.rekeys;
			}
		}
}

int tool_rel_step(struct tool_rel_ctx *c, int extra_fd, double max_wait)
{
	rel_drv_flush(c->drv);
	double wait = max_wait;
	uint64_t now = rel_drv_time(c->drv), dl = rel_next_deadline(c->core);
	if (dl != UINT64_MAX) {
		double w = dl <= now ? 0 : (double)(dl - now) / 1e6;
		if (w < wait)
			wait = w;
	}
	double due = tool_netsim_due_in(c->sock);
	if (due >= 0 && due < wait)
		wait = due;
	/* The driver's fd and the core's deadline are all an event loop
	 * needs: this one also watches stdin, as an embedder would add its
	 * own descriptors. */
	struct pollfd pfd[2] = {
		{ .fd = udp_sock_fd(c->sock), .events = POLLIN },
		{ .fd = extra_fd, .events = POLLIN },
	};
	if (rel_out_pending(c->core))
		pfd[0].events |= POLLOUT;
	/* ppoll, not poll: pacing asks for waits well under a millisecond,
	 * and poll's whole milliseconds would cap a paced sender at about
	 * one packet per millisecond */
	if (wait < 0)
		wait = 0;
	struct timespec ts = { .tv_sec = (time_t)wait,
			       .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9) };
	int r = ppoll(pfd, extra_fd >= 0 ? 2 : 1, &ts, NULL);
	rel_drv_run_once(c->drv, 0);
	tool_seal_check(c->sock); /* says once why sealed or plain packets vanish */
	tool_ident_check();
	return r > 0 && extra_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR));
}

static const char *state_name[] = { "open", "closing", "closed", "dead" };

/* The peer's identity at the end of its --stats line (before the newline,
 * or the JSON object's closing brace).  Returns the new length. */
static size_t ident_fields(char *line, size_t n, size_t cap, const struct tool_ident_who *w,
			   int json)
{
	char name[sizeof w->name * 2];
	size_t k = 0;
	for (const char *q = w->name; *q && k + 2 < sizeof name; q++) {
		/* names have no control characters; quote what JSON needs */
		if (json && (*q == '"' || *q == '\\'))
			name[k++] = '\\';
		name[k++] = *q == ' ' && !json ? '_' : *q;
	}
	name[k] = '\0';
	n -= json ? 2 : 1; /* "}\n" or "\n" */
	int m = json ? snprintf(line + n, cap - n,
				",\"peer_key\":\"%s\",\"peer_fpr\":\"%s\",\"peer_name\":\"%s\","
				"\"rekeys\":%llu}\n", w->key, w->fpr, name,
				(unsigned long long)w->rekeys)
		     : snprintf(line + n, cap - n, " peer_key=%s peer_fpr=%s peer_name=%s rekeys=%llu\n",
				w->key, w->fpr, name[0] ? name : "-", (unsigned long long)w->rekeys);
	return m > 0 && (size_t)m < cap - n ? n + (size_t)m : n;
}

void tool_rel_print_stats(const struct tool_rel_ctx *c, int json)
{
	for (size_t i = 0; i < c->npeers; i++) {
		const struct tool_rel_peer *p = &c->peers[i];
		const struct rel_stats *s = &p->st;
		double secs = p->t_last - p->t_open;
		double goodput = secs > 0 ? (double)p->bytes * 8 / secs : 0;
		uint64_t retrans = s->retransmits;
		double loss = s->data_sent ? 100.0 * (double)retrans / (double)s->data_sent : 0;
		char line[1024];
		int n;
		if (json)
			n = snprintf(line, sizeof line,
				     "{\"peer\":\"%s\",\"state\":\"%s\",\"messages\":%llu,\"bytes\":%llu,"
				     "\"seconds\":%.3f,\"goodput_bps\":%.0f,\"rtt_ms\":%.3f,\"rttvar_ms\":%.3f,"
				     "\"rto_ms\":%.1f,\"rtt_samples\":%llu,\"retransmits\":%llu,"
				     "\"fast_retransmits\":%llu,\"timeouts\":%llu,\"spurious_rto\":%llu,\"loss_pct\":%.2f,"
				     "\"dups\":%llu,\"pkts_sent\":%llu,\"pkts_recv\":%llu,"
				     "\"drop_share\":%llu,\"drop_stalled\":%llu,"
				     "\"migrations\":%llu,\"path_failures\":%llu,\"pmtu\":%llu,"
				     "\"ptb_valid\":%llu,\"ptb_ignored\":%llu}\n",
				     p->name, state_name[p->state], (unsigned long long)p->msgs,
				     (unsigned long long)p->bytes, secs, goodput, (double)s->srtt_us / 1e3,
				     (double)s->rttvar_us / 1e3, (double)s->rto_us / 1e3,
				     (unsigned long long)s->rtt_samples, (unsigned long long)retrans,
				     (unsigned long long)s->fast_retransmits,
				     (unsigned long long)s->timeouts, (unsigned long long)s->spurious_rto, loss,
				     (unsigned long long)s->drop_dup,
				     (unsigned long long)s->pkts_sent, (unsigned long long)s->pkts_recv,
				     (unsigned long long)s->drop_share,
				     (unsigned long long)s->drop_stalled,
				     (unsigned long long)s->migrations, (unsigned long long)s->path_failures,
				     (unsigned long long)s->pmtu, (unsigned long long)s->pmtu_ptb_valid,
				     (unsigned long long)s->pmtu_ptb_ignored);
		else
			n = snprintf(line, sizeof line,
				     "%s: peer=%s state=%s messages=%llu bytes=%llu seconds=%.3f "
				     "goodput_mbps=%.2f rtt_ms=%.3f rttvar_ms=%.3f rto_ms=%.1f "
				     "retransmits=%llu fast_retransmits=%llu timeouts=%llu spurious_rto=%llu loss_pct=%.2f "
				     "dups=%llu pkts_sent=%llu pkts_recv=%llu drop_share=%llu "
				     "drop_stalled=%llu migrations=%llu path_failures=%llu pmtu=%llu "
				     "ptb_valid=%llu ptb_ignored=%llu\n",
				     tool_name, p->name, state_name[p->state], (unsigned long long)p->msgs,
				     (unsigned long long)p->bytes, secs, goodput / 1e6,
				     (double)s->srtt_us / 1e3, (double)s->rttvar_us / 1e3,
				     (double)s->rto_us / 1e3, (unsigned long long)retrans,
				     (unsigned long long)s->fast_retransmits,
				     (unsigned long long)s->timeouts, (unsigned long long)s->spurious_rto, loss,
				     (unsigned long long)s->drop_dup,
				     (unsigned long long)s->pkts_sent, (unsigned long long)s->pkts_recv,
				     (unsigned long long)s->drop_share,
				     (unsigned long long)s->drop_stalled,
				     (unsigned long long)s->migrations, (unsigned long long)s->path_failures,
				     (unsigned long long)s->pmtu, (unsigned long long)s->pmtu_ptb_valid,
				     (unsigned long long)s->pmtu_ptb_ignored);
		if (n > 0 && (size_t)n < sizeof line && p->who.known)
			n = (int)ident_fields(line, (size_t)n, sizeof line, &p->who, json);
		if (n > 0) {
			/* one write per line: lines of several tools do not mix */
			ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
			(void)w;
		}
	}
}

void tool_rel_print_core_stats(const struct rel_core *core, const struct rel_drv *drv)
{
	struct rel_core_stats s;
	struct rel_drv_stats d = { 0 };
	rel_core_stats(core, &s);
	if (drv)
		rel_drv_stats(drv, &d);
	unsigned long long v[] = { s.pkts_in, s.bytes_in, s.pkts_out, s.bytes_out, s.cookies_sent,
				   s.drop_magic, s.drop_checksum, s.drop_malformed, s.drop_session,
				   s.drop_cookie, s.drop_peers, s.drop_unexpected, s.drop_busy, d.truncated,
				   s.drop_source, s.drop_share, s.drop_stalled, s.sources,
				   s.drop_hs_rate, s.drop_hs_global };
	static const char *k[] = { "pkts_in", "bytes_in", "pkts_out", "bytes_out", "cookies_sent",
				   "drop_magic", "drop_checksum", "drop_malformed", "drop_session",
				   "drop_cookie", "drop_peers", "drop_unexpected", "drop_busy",
				   "drop_truncated", "drop_source", "drop_share", "drop_stalled",
				   "sources", "drop_hs_rate", "drop_hs_global" };
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof line, "%s: core:", tool_name);
	for (size_t i = 0; i < sizeof v / sizeof v[0] && n < sizeof line; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, " %s=%llu", k[i], v[i]);
	if (n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "\n");
	/* one write: lines of several tools do not mix */
	ssize_t w = write(STDERR_FILENO, line, n < sizeof line ? n : sizeof line - 1);
	(void)w;
}

void tool_rel_progress_init(struct tool_rel_progress *p, uint64_t total)
{
	memset(p, 0, sizeof *p);
	p->on = tool_rel_opt.progress > 0 ||
		(tool_rel_opt.progress < 0 && tool_verbosity >= 0 && isatty(STDERR_FILENO));
	p->t0 = tool_now();
	p->total = total;
}

static void human(char *buf, size_t cap, double v, const char *unit)
{
	static const char *pre[] = { "", "Ki", "Mi", "Gi", "Ti" };
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s%s" : "%.0f %s%s", v, pre[i], unit);
}

void tool_rel_progress_show(struct tool_rel_progress *p, uint64_t bytes,
			    uint64_t retrans, int final)
{
	double now = tool_now();
	if (!p->on || (!final && now - p->last < 0.25))
		return;
	p->last = now;
	double secs = now - p->t0, rate = secs > 0 ? (double)bytes / secs : 0;
	char done[32], total[32], speed[32], eta[32] = "", line[160];
	human(done, sizeof done, (double)bytes, "B");
	human(speed, sizeof speed, rate, "B/s");
	int n;
	if (p->total) {
		human(total, sizeof total, (double)p->total, "B");
		unsigned pct = bytes >= p->total ? 100 : (unsigned)(100.0 * (double)bytes / (double)p->total);
		if (!final && rate > 0 && bytes < p->total) {
			unsigned long s = (unsigned long)((double)(p->total - bytes) / rate);
			snprintf(eta, sizeof eta, "  ETA %lu:%02lu", s / 60, s % 60);
		}
		n = snprintf(line, sizeof line, "\r%s / %s  %3u%%  %s%s  retrans %llu\033[K%s",
			     done, total, pct, speed, eta, (unsigned long long)retrans,
			     final ? "\n" : "");
	} else {
		n = snprintf(line, sizeof line, "\r%s  %s  retrans %llu\033[K%s", done, speed,
			     (unsigned long long)retrans, final ? "\n" : "");
	}
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		(void)w;
	}
}
