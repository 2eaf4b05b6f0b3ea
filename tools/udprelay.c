/* udprelay - forwards datagrams from clients at LISTEN to TARGET and the
 * replies back, impairing each direction with a netsim spec.
 *
 * Every client gets its own upstream socket, connected to TARGET, so the
 * target sees one peer per client and its replies can be told apart; an
 * upstream socket idle for --idle seconds is closed.  The relay holds one
 * model per direction, shared by all clients, like one impaired link in
 * front of the target; a client that matches a --client rule gets a pair of
 * its own instead (its own line, whatever the others do).  It drives the
 * models itself (netsim) instead of
 * attaching them to its sockets: it needs the decision for each datagram
 * for -v, and a per-direction model rather than one per socket.  The
 * environment variables UDPKIT_NETSIM / UDPKIT_NETSIM_IN are read as the
 * defaults of --netsim / --netsim-in and taken off the sockets, so nothing
 * is impaired twice.
 *
 * Speed: datagrams move in batches of 64 (recvmmsg, then sendmmsg or GSO),
 * GRO is used where the kernel has it, and a passthrough spec skips the
 * model, so the relay adds one copy-free hop.  Loopback has no flow
 * control (the kernel hands a sent datagram straight to the receiving
 * socket), so a burst the relay cannot forward at once must fit in its
 * receive buffer: 32 MiB on the listening socket (when privileged; else
 * what net.core.rmem_max allows), room for a burst of a whole GSO
 * sender's socket buffer while the relay is off the CPU. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "netsim.h"
#include "netsim_sock.h"
#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_pcap.h"
#include "tool_rule.h"
#include "udp_sock.h"

#define BATCH 64
#define BUF_CAP 65536 /* >= UDP_GRO_MIN_CAP: a GRO message, or any datagram */
#define OUT_MAX 1024  /* datagrams gathered before one send_batch */

enum { C2T, T2C }; /* directions: client->target, target->client */
static const char *dir_name[2] = { "client->target", "target->client" };

struct client {
	struct udp_addr addr;
	struct udp_sock *up;
	uint64_t last_us;
	int rule;                 /* index into rules, -1: the global models */
	struct netsim *model[2];  /* the rule's own models; NULL: not impaired */
	uint64_t rx[2], tx[2];    /* datagrams received / forwarded per direction */
	struct netsim_counters nc[2]; /* what the model did to this client's */
};

struct dir_stats {
	uint64_t received, sent, send_errors;
};

static struct {
	int stats, family, json;
	unsigned long long count;
	double wait_s, idle_s;
	unsigned max_clients;
	const char *spec[2];
} opt = { .idle_s = 60, .max_clients = 1024 };
#define VERBOSE (tool_verbosity > 0)

static struct udp_sock *lsock;
static struct udp_addr target;
static struct netsim *model[2]; /* NULL: passthrough, skipped */
static struct client *clients;
static unsigned nclients;
static uint64_t seen, expired, refused;
static struct dir_stats st[2];
/* --client rules.  A rule holds only its parsed spec; the models it gives
 * are per client (two each at most), so they are bounded by
 * --max-clients, not by the number of rules. */
#define MAX_RULES 256
static struct tool_rule *rules;
static unsigned nrules;

/* Receive buffers (one batch) and the out-array of datagrams to send. */
static unsigned char *rbufs, *pbufs;
static struct udp_msg rmsgs[BATCH];
static struct udp_msg out[OUT_MAX];
static unsigned nout;
static struct udp_sock *out_sock;
static int out_dir;

static void usage(void)
{
	printf("usage: udprelay [options] LISTEN TARGET\n"
	       "Forwards datagrams from clients at LISTEN to TARGET and the replies back,\n"
	       "impairing them in tc-netem's words (see docs/NETSIM.md).\n"
	       "Addresses: HOST:PORT, [V6]:PORT, unix:PATH, unix:@NAME (LISTEN port 0: any).\n"
	       "  --netsim SPEC       impair client->target (default $UDPKIT_NETSIM)\n"
	       "  --netsim-in SPEC    impair target->client (default $UDPKIT_NETSIM_IN)\n"
	       "  --netsim-schedule T / --netsim-in-schedule T  a timeline of specs each way\n"
	       "                      ('0s loss 1%%; 5s loss 100%%; 8s loss 1%%', or @FILE)\n"
	       "  --netsim-both SPEC  the same spec both ways (each with its own seed)\n"
	       "  --client 'ADDR[/PREFIX] SPEC'  clients in the prefix get SPEC both ways,\n"
	       "                      a model of their own (repeatable; first match wins)\n"
	       "  --idle SECS         close a client's upstream socket after SECS idle (60)\n"
	       "  --max-clients N     at most N clients at once (1024); others are dropped\n"
	       "  -c, --count N       exit after N datagrams from clients, once forwarded\n"
	       "  -w, --wait SECS     exit after SECS without traffic either way\n"
	       "  --stats             counters on stderr at exit (and on SIGUSR1), per client too\n"
	       "  --json              --stats as JSON lines: one per direction, one per client\n"
	       "  --pcap FILE         capture both sides and the model's drops (docs/NETSIM.md)\n"
	       "  -4, -6              IPv4 / IPv6 only when resolving names\n"
	       "  -v, --verbose       one line per datagram: what the model decided\n"
	       "  -q, --quiet         no messages but errors\n"
	       "  -h, --help          this help\n"
	       "      --version       version\n"
	       "Exit: 0 done (also on SIGINT/SIGTERM), 1 error, 2 bad usage.\n");
	exit(TOOL_EXIT_OK);
}

static uint64_t now_us(void)
{
	return (uint64_t)(tool_now() * 1e6);
}

/* A model without `seed` gets a random one, printed with -v and --stats,
 * so a run can be repeated. */
static void seed_model(struct netsim *ns, int d)
{
	if (netsim_has_seed(ns))
		return;
	uint64_t seed;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
		seed = now_us() ^ ((uint64_t)d << 32) ^ (uint64_t)nclients;
	netsim_reseed(ns, seed);
}

/* A spec becomes a model, or NULL when it changes nothing. */
static struct netsim *make_model(int d, const char *o)
{
	if (!opt.spec[d]) /* a timeline, or nothing: both start now */
		return tool_netsim_make(d == C2T ? TOOL_NETSIM_OUT : TOOL_NETSIM_IN, now_us());
	struct netsim *ns;
	char err[256];
	int rc = netsim_new(&ns, opt.spec[d], err, sizeof err);
	if (rc == UDP_ENOMEM)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	if (rc < 0)
		tool_usage_die("%s: %s", o, err);
	if (netsim_is_passthrough(ns)) {
		netsim_free(ns);
		return NULL;
	}
	seed_model(ns, d);
	return ns;
}

/* The model a client's datagrams meet in direction d (c NULL: an unknown
 * client, the global one). */
static struct netsim *model_of(const struct client *c, int d)
{
	return c && c->rule >= 0 ? c->model[d] : model[d];
}

static void add_counters(struct netsim_counters *to, const struct netsim_counters *a,
			 const struct netsim_counters *b)
{
	to->in += b->in - a->in;
	to->passed += b->passed - a->passed;
	to->lost += b->lost - a->lost;
	to->too_big += b->too_big - a->too_big;
	to->duplicated += b->duplicated - a->duplicated;
	to->reordered += b->reordered - a->reordered;
	to->corrupted += b->corrupted - a->corrupted;
	to->delayed += b->delayed - a->delayed;
	to->queue_drops += b->queue_drops - a->queue_drops;
}

static void print_stats(void)
{
	for (int d = 0; d < 2; d++) {
		struct netsim_counters c = { 0 };
		char spec[NETSIM_DESCRIBE_MAX] = "none";
		if (model[d]) {
			netsim_counters(model[d], &c);
			netsim_describe(model[d], spec, sizeof spec);
		}
		/* the clients' own models count in the totals too */
		uint64_t lost = c.lost, dup = c.duplicated, cor = c.corrupted, del = c.delayed,
			 reo = c.reordered, qd = c.queue_drops, big = c.too_big, q = c.queued;
		for (unsigned i = 0; i < nclients; i++) {
			const struct client *k = &clients[i];
			if (k->rule < 0 || !k->model[d])
				continue;
			struct netsim_counters o;
			netsim_counters(k->model[d], &o);
			lost += o.lost, dup += o.duplicated, cor += o.corrupted, del += o.delayed;
			reo += o.reordered, qd += o.queue_drops, big += o.too_big, q += o.queued;
		}
		if (opt.json)
			fprintf(stderr, "{\"direction\":\"%s\",\"received\":%llu,\"forwarded\":%llu,"
				"\"lost\":%llu,\"duplicated\":%llu,\"corrupted\":%llu,\"delayed\":%llu,"
				"\"reordered\":%llu,\"queue_drops\":%llu,\"queued\":%llu,\"too_big\":%llu,"
				"\"send_errors\":%llu,\"netsim\":\"%s\"}\n", dir_name[d],
				(unsigned long long)st[d].received, (unsigned long long)st[d].sent,
				(unsigned long long)lost, (unsigned long long)dup, (unsigned long long)cor,
				(unsigned long long)del, (unsigned long long)reo, (unsigned long long)qd,
				(unsigned long long)q, (unsigned long long)big,
				(unsigned long long)st[d].send_errors, spec);
		else
			tool_err("%s: %llu received, %llu forwarded, %llu lost, %llu duplicated, "
			    "%llu corrupted, %llu delayed, %llu reordered, %llu queue drops, "
			    "%llu queued, %llu too big, %llu send errors (netsim: %s)", dir_name[d],
			    (unsigned long long)st[d].received, (unsigned long long)st[d].sent,
			    (unsigned long long)lost, (unsigned long long)dup,
			    (unsigned long long)cor, (unsigned long long)del,
			    (unsigned long long)reo, (unsigned long long)qd,
			    (unsigned long long)q, (unsigned long long)big,
			    (unsigned long long)st[d].send_errors, spec);
	}
	if (opt.json)
		fprintf(stderr, "{\"clients\":%u,\"seen\":%llu,\"expired\":%llu,\"refused\":%llu}\n",
			nclients, (unsigned long long)seen, (unsigned long long)expired,
			(unsigned long long)refused);
	else
		tool_err("clients: %u now, %llu seen, %llu expired, %llu refused (table full)",
		    nclients, (unsigned long long)seen, (unsigned long long)expired,
		    (unsigned long long)refused);
	for (unsigned i = 0; i < nclients; i++) {
		const struct client *k = &clients[i];
		char ab[UDP_ADDR_STRLEN], rule[80] = "none", spec[2][NETSIM_DESCRIBE_MAX];
		tool_addr_str(&k->addr, ab, sizeof ab);
		if (k->rule >= 0)
			snprintf(rule, sizeof rule, "%s", rules[k->rule].name);
		for (int d = 0; d < 2; d++) {
			const struct netsim *ns = model_of(k, d);
			if (!ns || netsim_describe(ns, spec[d], sizeof spec[d]) < 0)
				snprintf(spec[d], sizeof spec[d], "none");
		}
		const struct netsim_counters *c = k->nc;
		if (opt.json)
			fprintf(stderr, "{\"client\":\"%s\",\"rule\":%s%s%s,"
				"\"c2t\":{\"netsim\":\"%s\",\"received\":%llu,\"forwarded\":%llu,\"lost\":%llu,"
				"\"duplicated\":%llu,\"corrupted\":%llu,\"delayed\":%llu,\"queue_drops\":%llu,\"too_big\":%llu},"
				"\"t2c\":{\"netsim\":\"%s\",\"received\":%llu,\"forwarded\":%llu,\"lost\":%llu,"
				"\"duplicated\":%llu,\"corrupted\":%llu,\"delayed\":%llu,\"queue_drops\":%llu,\"too_big\":%llu}}\n",
				ab, k->rule >= 0 ? "\"" : "", k->rule >= 0 ? rule : "null", k->rule >= 0 ? "\"" : "",
				spec[0], (unsigned long long)k->rx[0], (unsigned long long)k->tx[0],
				(unsigned long long)c[0].lost, (unsigned long long)c[0].duplicated,
				(unsigned long long)c[0].corrupted, (unsigned long long)c[0].delayed,
				(unsigned long long)c[0].queue_drops, (unsigned long long)c[0].too_big,
				spec[1], (unsigned long long)k->rx[1], (unsigned long long)k->tx[1],
				(unsigned long long)c[1].lost, (unsigned long long)c[1].duplicated,
				(unsigned long long)c[1].corrupted, (unsigned long long)c[1].delayed,
				(unsigned long long)c[1].queue_drops, (unsigned long long)c[1].too_big);
		else
			tool_err("client %s (rule %s): client->target %llu received, %llu forwarded, "
			    "%llu lost; target->client %llu received, %llu forwarded, %llu lost",
			    ab, rule, (unsigned long long)k->rx[0], (unsigned long long)k->tx[0],
			    (unsigned long long)(c[0].lost + c[0].queue_drops + c[0].too_big),
			    (unsigned long long)k->rx[1], (unsigned long long)k->tx[1],
			    (unsigned long long)(c[1].lost + c[1].queue_drops + c[1].too_big));
	}
}

/* ---- clients ---- */

static struct client *find_client(const struct udp_addr *a)
{
	static unsigned hint; /* the last client found: bursts come from one */
	if (hint < nclients && udp_addr_equal(&clients[hint].addr, a))
		return &clients[hint];
	for (unsigned i = 0; i < nclients; i++)
		if (udp_addr_equal(&clients[i].addr, a)) {
			hint = i;
			return &clients[i];
		}
	return NULL;
}

/* The first --client rule the address falls in, or -1. */
static int rule_of(const struct udp_addr *a)
{
	for (unsigned i = 0; i < nrules; i++)
		if (tool_rule_match(&rules[i], a))
			return (int)i;
	return -1;
}

/* The models of a client that a rule covers: one per direction, each
 * with its own queue and PRNG, so clients do not share each other's fate. */
static int rule_models(struct client *c)
{
	for (int d = 0; d < 2; d++) {
		c->model[d] = NULL;
		struct netsim *ns;
		if (netsim_new_config(&ns, &rules[c->rule].cfg) < 0)
			return -1;
		if (netsim_is_passthrough(ns)) {
			netsim_free(ns);
			continue;
		}
		seed_model(ns, d);
		c->model[d] = ns;
	}
	return 0;
}

/* The client's entry, made on its first datagram; NULL when the table is
 * full or the upstream socket cannot be made (the datagram is dropped). */
static struct client *get_client(const struct udp_addr *a, uint64_t now)
{
	struct client *c = find_client(a);
	if (c)
		return c;
	char b1[UDP_ADDR_STRLEN], b2[UDP_ADDR_STRLEN];
	if (nclients >= opt.max_clients) {
		refused++;
		if (VERBOSE)
			tool_err("refused %s: %u clients already", tool_addr_str(a, b1, sizeof b1), nclients);
		return NULL;
	}
	struct udp_sock *up;
	int rc = udp_sock_open(&up, udp_addr_family(&target), UDP_SOCK_NONBLOCK);
	if (!rc) {
		netsim_sock_attach(up, NULL, NULL);
		udp_sock_set_pass_sealed(up, 1); /* sealed packets go through untouched */
		udp_sock_set_buffers(up, 8 << 20, 4 << 20); /* replies come in bursts too */
		tool_pcap_attach(up, TOOL_PCAP_TARGET_SIDE);
	}
	if (!rc && udp_addr_is_unix(&target)) {
		/* An unbound unix socket cannot get replies: let Linux name it. */
		struct udp_addr any = { .len = sizeof(sa_family_t) };
		any.u.un.sun_family = AF_UNIX;
		rc = udp_sock_bind(up, &any);
	}
	if (!rc)
		rc = udp_sock_connect(up, &target);
	if (rc) {
		tool_err("upstream socket for %s: %s", tool_addr_str(a, b1, sizeof b1), udpkit_strerror(rc));
		udp_sock_free(up);
		return NULL;
	}
	c = &clients[nclients];
	memset(c, 0, sizeof *c);
	c->addr = *a;
	c->up = up;
	c->last_us = now;
	c->rule = rule_of(a);
	if (c->rule >= 0 && rule_models(c) < 0)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	nclients++;
	udp_sock_set_gro(up, model_of(c, T2C) == NULL);
	seen++;
	if (VERBOSE) {
		struct udp_addr l;
		udp_sock_local_addr(up, &l);
		tool_err("new client %s via %s", tool_addr_str(a, b1, sizeof b1), tool_addr_str(&l, b2, sizeof b2));
		for (int d = 0; d < 2 && c->rule >= 0; d++) {
			char spec[NETSIM_DESCRIBE_MAX] = "none";
			if (c->model[d])
				netsim_describe(c->model[d], spec, sizeof spec);
			tool_err("client %s (rule %s) %s netsim: %s", b1, rules[c->rule].name, dir_name[d], spec);
		}
	}
	return c;
}

static int holds_datagrams(const struct client *c)
{
	for (int d = 0; d < 2; d++)
		if (c->rule >= 0 && c->model[d] && netsim_next_due(c->model[d]) != UINT64_MAX)
			return 1;
	return 0;
}

static void expire_clients(uint64_t now)
{
	uint64_t idle = (uint64_t)(opt.idle_s * 1e6);
	for (unsigned i = 0; i < nclients;) {
		/* a client whose own models still hold datagrams is not idle */
		if (now - clients[i].last_us < idle || holds_datagrams(&clients[i])) {
			i++;
			continue;
		}
		if (VERBOSE) {
			char b[UDP_ADDR_STRLEN];
			tool_err("client %s idle, closed", tool_addr_str(&clients[i].addr, b, sizeof b));
		}
		udp_sock_free(clients[i].up);
		netsim_free(clients[i].model[C2T]);
		netsim_free(clients[i].model[T2C]);
		clients[i] = clients[--nclients];
		expired++;
	}
}

/* ---- sending ---- */

static void out_flush(void)
{
	unsigned i = 0;
	while (i < nout) {
		int rc = udp_sock_send_batch(out_sock, out + i, nout - i);
		if (rc > 0) {
			i += (unsigned)rc;
			st[out_dir].sent += (uint64_t)rc;
			continue;
		}
		/* A full buffer or an unreachable peer: the relay is a network,
		 * and a network drops. */
		if (VERBOSE) {
			char b[UDP_ADDR_STRLEN];
			tool_err("%s: send to %s failed: %s", dir_name[out_dir],
			    out_dir == C2T ? tool_addr_str(&target, b, sizeof b) : tool_addr_str(&out[i].addr, b, sizeof b),
			    udpkit_strerror(rc));
		}
		unsigned n = rc == UDP_EAGAIN ? nout - i : 1;
		st[out_dir].send_errors += n;
		i += n;
	}
	nout = 0;
}

/* Queues one datagram for sock; to is NULL for a connected upstream. */
static void emit(int d, struct udp_sock *sock, const struct udp_addr *to,
		 void *buf, size_t len)
{
	if (nout && (sock != out_sock || nout == OUT_MAX))
		out_flush();
	out_sock = sock;
	out_dir = d;
	struct udp_msg *m = &out[nout++];
	m->buf = buf;
	m->len = len;
	if (to)
		m->addr = *to;
	else
		m->addr.len = 0;
}

/* A datagram leaving direction d for client addr; c is its entry when
 * known (a reply may outlive its client's entry: it still goes back). */
static void deliver(int d, struct client *c, const struct udp_addr *client,
		    void *buf, size_t len, uint64_t now)
{
	if (d == T2C) {
		if (c)
			c->tx[d]++;
		emit(d, lsock, client, buf, len);
		return;
	}
	if (!c)
		c = get_client(client, now);
	if (c) {
		c->tx[d]++;
		emit(d, c->up, NULL, buf, len);
	} else {
		st[d].send_errors++;
	}
}

/* Pushes one datagram into model ns and says what it decided. */
static void impair(int d, struct client *c, struct netsim *ns,
		   const struct udp_addr *client, const void *buf, size_t len,
		   uint64_t now)
{
	struct netsim_counters a, b;
	netsim_counters(ns, &a);
	(void)netsim_push(ns, now, buf, len, client);
	netsim_counters(ns, &b);
	if (c)
		add_counters(&c->nc[d], &a, &b);
	if (c && tool_pcap_on()) {
		/* the capture shows the drop where the datagram would have left */
		uint64_t k = (b.lost - a.lost) + (b.queue_drops - a.queue_drops) + (b.too_big - a.too_big);
		while (k--) {
			if (d == C2T)
				tool_pcap_dropped(c->up, TOOL_PCAP_TARGET_SIDE, NULL, buf, len);
			else
				tool_pcap_dropped(lsock, TOOL_PCAP_SIDE, client, buf, len);
		}
	}
	if (!VERBOSE)
		return;
	char words[96] = "", ab[UDP_ADDR_STRLEN];
	size_t w = 0;
#define WORD(cond, s) if (cond) w += (size_t)snprintf(words + w, sizeof words - w, "%s%s", w ? "+" : "", s)
	WORD(b.duplicated > a.duplicated, "dup");
	WORD(b.lost > a.lost || b.queue_drops > a.queue_drops, "drop");
	WORD(b.too_big > a.too_big, "too-big");
	WORD(b.corrupted > a.corrupted, "corrupt");
	WORD(b.reordered > a.reordered, "reorder");
	WORD(b.delayed > a.delayed, "delay");
	WORD(w == 0, "forward");
#undef WORD
	tool_err("%s %s len %zu: %s", dir_name[d], tool_addr_str(client, ab, sizeof ab), len, words);
}

/* Sends what model ns (direction d; owned by client c, or the global one
 * when c is NULL) has due. */
static void pump(int d, struct client *c, struct netsim *ns, uint64_t now)
{
	if (!ns)
		return;
	for (;;) {
		unsigned i;
		for (i = 0; i < BATCH; i++) {
			struct udp_addr a;
			size_t len;
			unsigned char *buf = pbufs + (size_t)i * BUF_CAP;
			if (netsim_pop(ns, now, buf, BUF_CAP, &len, &a) != 1)
				break;
			deliver(d, c ? c : find_client(&a), &a, buf, len, now);
		}
		out_flush(); /* before the pop buffers are used again */
		if (i < BATCH)
			return;
	}
}

static void pump_all(uint64_t now)
{
	for (int d = 0; d < 2; d++) {
		pump(d, NULL, model[d], now);
		for (unsigned i = 0; i < nclients; i++)
			if (clients[i].rule >= 0)
				pump(d, &clients[i], clients[i].model[d], now);
	}
}

/* The earliest due time of any model, UINT64_MAX when all are empty. */
static uint64_t next_due_all(void)
{
	uint64_t due = UINT64_MAX;
	for (int d = 0; d < 2; d++) {
		if (model[d] && netsim_next_due(model[d]) < due)
			due = netsim_next_due(model[d]);
		for (unsigned i = 0; i < nclients; i++) {
			const struct netsim *ns = clients[i].rule >= 0 ? clients[i].model[d] : NULL;
			if (ns && netsim_next_due(ns) < due)
				due = netsim_next_due(ns);
		}
	}
	return due;
}

/* ---- receiving ---- */

/* One batch from sock; c is the client of an upstream socket (t2c), NULL for
 * the listening socket (c2t).  Returns how many messages came. */
static int take(int d, struct udp_sock *sock, struct client *c, uint64_t now)
{
	for (unsigned i = 0; i < BATCH; i++)
		rmsgs[i] = (struct udp_msg){ .buf = rbufs + (size_t)i * BUF_CAP, .cap = BUF_CAP };
	int r = udp_sock_recv_batch(sock, rmsgs, BATCH);
	if (r <= 0)
		return 0; /* EAGAIN, or an ICMP error for an earlier send: nothing to do */
	for (int i = 0; i < r; i++) {
		struct udp_msg *m = &rmsgs[i];
		const struct udp_addr *client = c ? &c->addr : &m->addr;
		if (!c && udp_addr_family(&m->addr) == AF_UNSPEC)
			continue;
		/* a client's entry (and with it its rule's models) exists from
		 * its first datagram on, whatever the model then does with it */
		struct client *cc = c ? c : get_client(client, now);
		struct netsim *ns = model_of(cc, d);
		size_t seg = m->seg_size ? m->seg_size : m->len;
		if (seg == 0)
			seg = 1; /* an empty datagram is one (empty) segment */
		for (size_t off = 0; off < m->len || off == 0; off += seg) {
			size_t len = m->len - off < seg ? m->len - off : seg;
			st[d].received++;
			if (cc)
				cc->rx[d]++;
			if (!cc && d == C2T)
				st[d].send_errors++; /* refused: no room for the client */
			else if (ns)
				impair(d, cc, ns, client, (unsigned char *)m->buf + off, len, now);
			else
				deliver(d, cc, client, (unsigned char *)m->buf + off, len, now);
			if (m->len == 0)
				break;
		}
		if (cc)
			cc->last_us = now;
	}
	out_flush(); /* before the receive buffers are used again */
	return r;
}

/* ---- main ---- */

static void parse_args(int argc, char **argv, const char **lspec, const char **tspec)
{
	enum { O_NETSIM_BOTH = 256, O_IDLE, O_MAX, O_CLIENT, O_JSON };
	static const struct option lo[] = {
		{ "netsim-both", required_argument, 0, O_NETSIM_BOTH },
		{ "idle", required_argument, 0, O_IDLE },
		{ "max-clients", required_argument, 0, O_MAX },
		{ "client", required_argument, 0, O_CLIENT },
		{ "json", no_argument, 0, O_JSON },
		{ "count", required_argument, 0, 'c' },
		{ "wait", required_argument, 0, 'w' },
		TOOL_COMMON_LONGOPTS,
		{ 0, 0, 0, 0 },
	};
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, ":46c:hqvw:", lo, NULL)) != -1) {
		switch (ch) {
		case '4': opt.family = UDP_ADDR_V4; break;
		case '6': opt.family = UDP_ADDR_V6; break;
		case 'c': opt.count = tool_parse_uint("-c", optarg, 1, ULLONG_MAX); break;
		case 'w': opt.wait_s = tool_parse_secs("-w", optarg); break;
		case 'h': usage(); break;
		case O_NETSIM_BOTH:
			tool_netsim_option(TOOL_NETSIM_OUT, "--netsim-both", optarg);
			tool_netsim_option(TOOL_NETSIM_IN, "--netsim-both", optarg);
			break;
		case O_IDLE: opt.idle_s = tool_parse_secs("--idle", optarg); break;
		case O_CLIENT: {
			/* each rule is matched for every new client: a bounded list */
			if (nrules >= MAX_RULES)
				tool_usage_die("--client: too many rules (at most %d)", MAX_RULES);
			struct tool_rule *r = realloc(rules, (nrules + 1) * sizeof *r);
			if (!r)
				tool_die(TOOL_EXIT_ERR, "out of memory");
			rules = r;
			tool_rule_parse(&rules[nrules++], "--client", optarg);
			break;
		}
		case O_JSON: opt.json = 1; break;
		case O_MAX: opt.max_clients = (unsigned)tool_parse_uint("--max-clients", optarg, 1, 1000000); break;
		TOOL_COMMON_CASES: tool_common_option(ch, optarg, &opt.stats); break;
		default: tool_bad_option(ch, argv);
		}
	}
	/* the environment is the default of each direction an option leaves */
	const char *env_out = getenv("UDPKIT_NETSIM"), *env_in = getenv("UDPKIT_NETSIM_IN");
	opt.spec[C2T] = tool_netsim_spec(TOOL_NETSIM_OUT);
	opt.spec[T2C] = tool_netsim_spec(TOOL_NETSIM_IN);
	if (!opt.spec[C2T] && env_out && *env_out)
		opt.spec[C2T] = env_out;
	if (!opt.spec[T2C] && env_in && *env_in)
		opt.spec[T2C] = env_in;
	if (argc - optind != 2)
		tool_usage_die("expected LISTEN and TARGET addresses, got %d argument%s",
			       argc - optind, argc - optind == 1 ? "" : "s");
	*lspec = argv[optind];
	*tspec = argv[optind + 1];
}

static void resolve(struct udp_addr *a, const char *text, int flags, const char *what)
{
	int rc = udp_addr_parse(a, text, flags);
	if (rc == UDP_EADDR_NOHOST || rc == UDP_EADDR_RESOLVE || rc == UDP_EADDR_NOFAMILY)
		tool_die(TOOL_EXIT_ERR, "cannot resolve %s '%s': %s", what, text, udpkit_strerror(rc));
	if (rc < 0)
		tool_usage_die("bad %s address '%s': %s", what, text, udpkit_strerror(rc));
}

int main(int argc, char **argv)
{
	const char *ltext, *ttext;
	tool_init("udprelay");
	parse_args(argc, argv, &ltext, &ttext);
	model[C2T] = make_model(C2T, opt.spec[C2T] && opt.spec[C2T] == getenv("UDPKIT_NETSIM") ? "UDPKIT_NETSIM" : "--netsim");
	model[T2C] = make_model(T2C, opt.spec[T2C] && opt.spec[T2C] == getenv("UDPKIT_NETSIM_IN") ? "UDPKIT_NETSIM_IN" : "--netsim-in");

	struct udp_addr laddr;
	resolve(&laddr, ltext, opt.family | UDP_ADDR_PASSIVE, "listen");
	resolve(&target, ttext, opt.family, "target");

	/* Our own models replace the environment's on every socket. */
	char err[256];
	int rc = netsim_sock_env_check(err, sizeof err);
	if (rc < 0)
		tool_usage_die("%s", err);
	rc = udp_sock_open_bound(&lsock, &laddr, UDP_SOCK_NONBLOCK);
	char b1[UDP_ADDR_STRLEN], b2[UDP_ADDR_STRLEN];
	if (rc)
		tool_die(TOOL_EXIT_ERR, "cannot listen on %s: %s", tool_addr_str(&laddr, b1, sizeof b1), udpkit_strerror(rc));
	netsim_sock_attach(lsock, NULL, NULL);
	udp_sock_set_pass_sealed(lsock, 1); /* a relay forwards sealed packets as they are */
	tool_pcap_attach(lsock, TOOL_PCAP_SIDE);
	udp_sock_set_gro(lsock, model[C2T] == NULL && nrules == 0);
	udp_sock_set_buffers(lsock, 32 << 20, 4 << 20);
	struct udp_addr bound;
	udp_sock_local_addr(lsock, &bound);
	tool_info("listening on %s, forwarding to %s", tool_addr_str(&bound, b1, sizeof b1),
		    tool_addr_str(&target, b2, sizeof b2));
	for (int d = 0; d < 2 && VERBOSE; d++)
		if (model[d]) {
			char spec[NETSIM_DESCRIBE_MAX];
			netsim_describe(model[d], spec, sizeof spec);
			tool_err("%s netsim: %s", dir_name[d], spec);
		}

	clients = calloc(opt.max_clients, sizeof *clients);
	struct pollfd *pfd = calloc(opt.max_clients + 2, sizeof *pfd);
	rbufs = malloc((size_t)BATCH * BUF_CAP);
	pbufs = malloc((size_t)BATCH * BUF_CAP);
	if (!clients || !pfd || !rbufs || !pbufs)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	tool_signals_init();
	tool_signals_report();

	uint64_t last_traffic = now_us(), next_expiry = last_traffic + 1000000;
	while (!tool_stop_signal) {
		uint64_t now = now_us();
		uint64_t due = next_due_all();
		if (next_expiry < due)
			due = next_expiry;
		if (opt.wait_s > 0) {
			uint64_t w = last_traffic + (uint64_t)(opt.wait_s * 1e6);
			if (w < due)
				due = w;
		}
		int timeout = due <= now ? 0 : (int)((due - now + 999) / 1000 > 60000 ? 60000 : (due - now + 999) / 1000);
		unsigned n = nclients;
		pfd[0] = (struct pollfd){ .fd = udp_sock_fd(lsock), .events = POLLIN };
		for (unsigned i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = udp_sock_fd(clients[i].up), .events = POLLIN };
		/* the signal pipe last: a signal between the loop's test and poll
		 * still wakes it */
		pfd[n + 1] = (struct pollfd){ .fd = tool_signal_fd(), .events = POLLIN };
		if (poll(pfd, n + 2, timeout) < 0 && errno != EINTR)
			tool_die(TOOL_EXIT_ERR, "poll: %s", strerror(errno));
		now = now_us();
		if (pfd[n + 1].revents)
			tool_signal_drain();
		if (tool_stop_signal)
			break;
		if (tool_report_signal) {
			tool_report_signal = 0;
			print_stats();
		}
		/* Replies first, while the client table still matches pfd; a few
		 * batches per socket and wake-up, so no socket starves the rest. */
		uint64_t before = st[C2T].received + st[T2C].received;
		for (unsigned i = 0; i < n; i++)
			if (pfd[i + 1].revents)
				for (int k = 0; k < 8 && take(T2C, clients[i].up, &clients[i], now) == BATCH; k++)
					;
		if (pfd[0].revents)
			for (int k = 0; k < 8 && take(C2T, lsock, NULL, now) == BATCH; k++)
				;
		if (st[C2T].received + st[T2C].received != before)
			last_traffic = now;
		pump_all(now);
		if (now >= next_expiry) {
			expire_clients(now);
			next_expiry = now + 1000000;
		}
		int idle_models = next_due_all() == UINT64_MAX;
		if (opt.count && st[C2T].received >= opt.count && idle_models)
			break;
		if (opt.wait_s > 0 && idle_models && now - last_traffic >= (uint64_t)(opt.wait_s * 1e6))
			break;
	}
	if (opt.stats || VERBOSE)
		print_stats();
	for (unsigned i = 0; i < nclients; i++) {
		udp_sock_free(clients[i].up);
		netsim_free(clients[i].model[C2T]);
		netsim_free(clients[i].model[T2C]);
	}
	free(rules);
	udp_sock_free(lsock);
	netsim_free(model[C2T]);
	netsim_free(model[T2C]);
	free(clients);
	free(pfd);
	free(rbufs);
	free(pbufs);
	return TOOL_EXIT_OK;
}
