/* udprelay - forwards datagrams from clients at LISTEN to TARGET and the
 * replies back, impairing each direction with a netsim spec.
 *
 * Every client gets its own upstream socket, connected to TARGET, so the
 * target sees one peer per client and its replies can be told apart; an
 * upstream socket idle for --idle seconds is closed.  The relay holds one
 * model per direction, shared by all clients, like one impaired link in
 * front of the target.  It drives the models itself (netsim) instead of
 * attaching them to its sockets: it needs the decision for each datagram
 * for -v, and a per-direction model rather than one per socket.  The
 * environment variables UDPKIT_NETSIM / UDPKIT_NETSIM_IN are read as the
 * defaults of --netsim / --netsim-in and taken off the sockets, so nothing
 * is impaired twice.
 *
 * Speed: datagrams move in batches of 64 (recvmmsg, then sendmmsg or GSO),
 * GRO is used where the kernel has it, and a passthrough spec skips the
 * model, so the relay adds one copy-free hop. */
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
};

struct dir_stats {
	uint64_t received, sent, send_errors;
};

static struct {
	int stats, family;
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
	       "  --netsim-both SPEC  the same spec both ways (each with its own seed)\n"
	       "  --idle SECS         close a client's upstream socket after SECS idle (60)\n"
	       "  --max-clients N     at most N clients at once (1024); others are dropped\n"
	       "  -c, --count N       exit after N datagrams from clients, once forwarded\n"
	       "  -w, --wait SECS     exit after SECS without traffic either way\n"
	       "  --stats             counters on stderr at exit (and on SIGUSR1)\n"
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

/* A spec becomes a model, or NULL when it changes nothing.  Without `seed`
 * the run gets a random one, printed with -v and --stats. */
static struct netsim *make_model(int d, const char *o)
{
	if (!opt.spec[d])
		return NULL;
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
	if (!netsim_has_seed(ns)) {
		uint64_t seed;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
			seed = now_us() ^ ((uint64_t)d << 32);
		netsim_reseed(ns, seed);
	}
	return ns;
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
		tool_err("%s: %llu received, %llu forwarded, %llu lost, %llu duplicated, "
		    "%llu corrupted, %llu delayed, %llu reordered, %llu queue drops, "
		    "%llu queued, %llu too big, %llu send errors (netsim: %s)", dir_name[d],
		    (unsigned long long)st[d].received, (unsigned long long)st[d].sent,
		    (unsigned long long)c.lost, (unsigned long long)c.duplicated,
		    (unsigned long long)c.corrupted, (unsigned long long)c.delayed,
		    (unsigned long long)c.reordered, (unsigned long long)c.queue_drops,
		    (unsigned long long)c.queued, (unsigned long long)c.too_big,
		    (unsigned long long)st[d].send_errors, spec);
	}
	tool_err("clients: %u now, %llu seen, %llu expired, %llu refused (table full)",
	    nclients, (unsigned long long)seen, (unsigned long long)expired,
	    (unsigned long long)refused);
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
	udp_sock_set_gro(up, model[T2C] == NULL);
	c = &clients[nclients++];
	c->addr = *a;
	c->up = up;
	c->last_us = now;
	seen++;
	if (VERBOSE) {
		struct udp_addr l;
		udp_sock_local_addr(up, &l);
		tool_err("new client %s via %s", tool_addr_str(a, b1, sizeof b1), tool_addr_str(&l, b2, sizeof b2));
	}
	return c;
}

static void expire_clients(uint64_t now)
{
	uint64_t idle = (uint64_t)(opt.idle_s * 1e6);
	for (unsigned i = 0; i < nclients;) {
		if (now - clients[i].last_us < idle) {
			i++;
			continue;
		}
		if (VERBOSE) {
			char b[UDP_ADDR_STRLEN];
			tool_err("client %s idle, closed", tool_addr_str(&clients[i].addr, b, sizeof b));
		}
		udp_sock_free(clients[i].up);
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

/* A datagram leaving direction d for client c (c2t) or address a (t2c). */
static void deliver(int d, const struct udp_addr *client, void *buf, size_t len,
		    uint64_t now)
{
	if (d == T2C) {
		emit(d, lsock, client, buf, len);
		return;
	}
	struct client *c = get_client(client, now);
	if (c)
		emit(d, c->up, NULL, buf, len);
	else
		st[d].send_errors++;
}

/* Pushes one datagram into direction d's model and says what it decided. */
static void impair(int d, const struct udp_addr *client, const void *buf,
		   size_t len, uint64_t now)
{
	struct netsim_counters a, b;
	if (VERBOSE)
		netsim_counters(model[d], &a);
	(void)netsim_push(model[d], now, buf, len, client);
	if (!VERBOSE)
		return;
	netsim_counters(model[d], &b);
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

/* Sends what direction d's model has due. */
static void pump(int d, uint64_t now)
{
	if (!model[d])
		return;
	for (;;) {
		unsigned i;
		for (i = 0; i < BATCH; i++) {
			struct udp_addr a;
			size_t len;
			unsigned char *buf = pbufs + (size_t)i * BUF_CAP;
			if (netsim_pop(model[d], now, buf, BUF_CAP, &len, &a) != 1)
				break;
			deliver(d, &a, buf, len, now);
		}
		out_flush(); /* before the pop buffers are used again */
		if (i < BATCH)
			return;
	}
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
		size_t seg = m->seg_size ? m->seg_size : m->len;
		if (seg == 0)
			seg = 1; /* an empty datagram is one (empty) segment */
		for (size_t off = 0; off < m->len || off == 0; off += seg) {
			size_t len = m->len - off < seg ? m->len - off : seg;
			st[d].received++;
			if (model[d])
				impair(d, client, (unsigned char *)m->buf + off, len, now);
			else
				deliver(d, client, (unsigned char *)m->buf + off, len, now);
			if (m->len == 0)
				break;
		}
		struct client *cc = c ? c : find_client(client);
		if (cc)
			cc->last_us = now;
	}
	out_flush(); /* before the receive buffers are used again */
	return r;
}

/* ---- main ---- */

static void parse_args(int argc, char **argv, const char **lspec, const char **tspec)
{
	enum { O_NETSIM_BOTH = 256, O_IDLE, O_MAX };
	static const struct option lo[] = {
		{ "netsim-both", required_argument, 0, O_NETSIM_BOTH },
		{ "idle", required_argument, 0, O_IDLE },
		{ "max-clients", required_argument, 0, O_MAX },
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
	udp_sock_set_gro(lsock, model[C2T] == NULL);
	udp_sock_set_buffers(lsock, 4 << 20, 4 << 20);
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
		uint64_t due = next_expiry;
		for (int d = 0; d < 2; d++)
			if (model[d] && netsim_next_due(model[d]) < due)
				due = netsim_next_due(model[d]);
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
		for (int d = 0; d < 2; d++)
			pump(d, now);
		if (now >= next_expiry) {
			expire_clients(now);
			next_expiry = now + 1000000;
		}
		int idle_models = (!model[C2T] || netsim_next_due(model[C2T]) == UINT64_MAX) &&
				  (!model[T2C] || netsim_next_due(model[T2C]) == UINT64_MAX);
		if (opt.count && st[C2T].received >= opt.count && idle_models)
			break;
		if (opt.wait_s > 0 && idle_models && now - last_traffic >= (uint64_t)(opt.wait_s * 1e6))
			break;
	}
	if (opt.stats || VERBOSE)
		print_stats();
	for (unsigned i = 0; i < nclients; i++)
		udp_sock_free(clients[i].up);
	udp_sock_free(lsock);
	netsim_free(model[C2T]);
	netsim_free(model[T2C]);
	free(clients);
	free(pfd);
	free(rbufs);
	free(pbufs);
	return TOOL_EXIT_OK;
}
