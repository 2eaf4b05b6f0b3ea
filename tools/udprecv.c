/* udprecv - receive datagrams and print them, boundaries kept.
 *
 *   udprecv [options] [HOST] PORT
 *   udprecv [options] HOST:PORT | [V6]:PORT | unix:/path | unix:@name
 *
 * Without HOST it binds the dual-stack wildcard "::" (0.0.0.0 with -4) and
 * always says on stderr where it listens ("udprecv: listening on ..."). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_seal.h"
#include "tool_rel.h"

#define BATCH 64
#define MAX_JOIN 32
#define MAX_MAX (16u * 1024 * 1024)

struct opts {
	int family_flags, stats, echo, reuse, show_from, once;
	const char *reply, *out_path, *mcast_if;
	const char *joins[MAX_JOIN];
	int njoins;
	unsigned long long count;
	double wait;
	size_t max;
	enum tool_fmt fmt;
};

struct receiver {
	struct tool_io io;
	struct tool_out out;
	uint64_t dgrams, bytes, truncated, errors, replies;
	int warned_unnamed;
	struct udp_msg replies_buf[BATCH];
};

static _Noreturn void usage(void)
{
	printf("Usage: %s [options] [HOST] PORT\n"
	       "       %s [options] HOST:PORT|[V6]:PORT|unix:/PATH|unix:@NAME\n"
	       "Receive datagrams and print each one, boundaries kept.  Without HOST:\n"
	       "the dual-stack wildcard '::' (0.0.0.0 with -4).  Port 0: any free port.\n\n"
	       "Output (one datagram each; default text: one line, C escapes for\n"
	       "newlines, backslash and non-printable bytes):\n"
	       "      --raw            payload bytes exactly, nothing added\n"
	       "  -x, --hex            hex dump with a header line per datagram\n"
	       "      --json           {\"from\":...,\"len\":N,\"data\":...} per line\n"
	       "      --from           text mode: sender, a TAB, then the payload\n"
	       "  -o, --output FILE    write to FILE instead of stdout\n"
	       "Receiving:\n"
	       "  -c, --count N        exit after N datagrams\n"
	       "  -w, --wait SECS      exit after SECS without a datagram\n"
	       "                       (exit 3 if none arrived at all)\n"
	       "      --max N          receive buffer per datagram (default 65536);\n"
	       "                       longer datagrams are reported as truncated\n"
	       "      --join GROUP     join a multicast group (repeatable, v4 or v6)\n"
	       "      --mcast-if IF    interface for --join\n"
	       "      --reuse          SO_REUSEADDR/SO_REUSEPORT (implied by --join)\n"
	       "      --echo           send each datagram back to its sender\n"
	       "      --reply TEXT     answer each datagram with TEXT\n"
	       "  -4 / -6              IPv4 / IPv6 only\n"
	       TOOL_SEAL_HELP
	       "Reliable mode (from udpsend -r):\n"
	       "  -r, --reliable       sessions with any number of senders; each message\n"
	       "                       printed once, when complete (-c counts messages,\n"
	       "                       -w is the idle time between messages)\n"
	       "      --once           serve one sender: exit 0 when its session has\n"
	       "                       closed and all it sent is written, 1 if it died\n"
	       "      --timeout SECS   forget a silent sender after SECS (default 10)\n"
	       TOOL_IDENT_HELP_RECV
	       "General:\n"
	       "      --stats          counters on stderr at exit (-r: per peer, --json: JSON)\n"
	       "      --netsim SPEC    impair what is sent, tc-netem words: 'loss 5%% delay 20ms'\n"
	       "      --netsim-in SPEC impair what is received (default: $UDPKIT_NETSIM[_IN])\n"
	       "      --netsim-schedule T / --netsim-in-schedule T  a timeline of specs\n"
	       "                       ('0s loss 1%%; 5s loss 100%%; 8s loss 1%%', or @FILE)\n"
	       TOOL_OFFLOAD_HELP
	       "  -v, --verbose / -q, --quiet (no 'listening on' line, no warnings)\n"
	       "  -h, --help / --version\n"
	       "Exit: 0 ok (also on SIGINT/SIGTERM, except with --once), 1 error,\n"
	       "2 bad usage, 3 -w expired and nothing was received.\n",
	       tool_name, tool_name);
	exit(TOOL_EXIT_OK);
}

enum { O_RAW = 256, O_JSON, O_FROM, O_MAX, O_JOIN, O_MIF, O_REUSE, O_ECHO,
       O_REPLY, O_ONCE };

static const struct option longopts[] = {
	{ "raw", no_argument, 0, O_RAW },
	{ "hex", no_argument, 0, 'x' },
	{ "json", no_argument, 0, O_JSON },
	{ "from", no_argument, 0, O_FROM },
	{ "output", required_argument, 0, 'o' },
	{ "count", required_argument, 0, 'c' },
	{ "wait", required_argument, 0, 'w' },
	{ "max", required_argument, 0, O_MAX },
	{ "join", required_argument, 0, O_JOIN },
	{ "mcast-if", required_argument, 0, O_MIF },
	{ "reuse", no_argument, 0, O_REUSE },
	{ "echo", no_argument, 0, O_ECHO },
	{ "reply", required_argument, 0, O_REPLY },
	{ "once", no_argument, 0, O_ONCE },
	TOOL_SEAL_LONGOPTS,
	TOOL_COMMON_LONGOPTS,
	TOOL_OFFLOAD_LONGOPTS,
	TOOL_REL_LONGOPTS,
	TOOL_IDENT_LONGOPTS,
	{ 0, 0, 0, 0 },
};

static void parse_opts(struct opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->max = 65536;
	o->wait = -1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":xo:c:w:vqh46k:r", longopts, NULL)) != -1) {
		switch (c) {
		case O_RAW: o->fmt = TOOL_FMT_RAW; break;
		case 'x': o->fmt = TOOL_FMT_HEX; break;
		case O_JSON: o->fmt = TOOL_FMT_JSON; break;
		case O_FROM: o->show_from = 1; break;
		case 'o': o->out_path = optarg; break;
		case 'c': o->count = tool_parse_uint("-c", optarg, 1, UINT64_MAX); break;
		case 'w': o->wait = tool_parse_secs("-w", optarg); break;
		case O_MAX: o->max = tool_parse_uint("--max", optarg, 1, MAX_MAX); break;
		case O_JOIN:
			if (o->njoins == MAX_JOIN)
				tool_usage_die("too many --join (at most %d)", MAX_JOIN);
			o->joins[o->njoins++] = optarg;
			break;
		case O_MIF: o->mcast_if = optarg; break;
		case O_REUSE: o->reuse = 1; break;
		case O_ECHO: o->echo = 1; break;
		case O_REPLY: o->reply = optarg; break;
		case O_ONCE: o->once = 1; break;
		TOOL_SEAL_CASES: tool_seal_option(c, optarg); break;
		TOOL_IDENT_CASES: tool_ident_option(c, optarg); break;
		case 'h': usage();
		TOOL_COMMON_CASES: tool_common_option(c, optarg, &o->stats); break;
		case '4': o->family_flags = UDP_ADDR_V4; break;
		case '6': o->family_flags = UDP_ADDR_V6; break;
		default:
			if (!tool_rel_option(c, optarg))
				tool_bad_option(c, argv);
		}
	}
	if (o->echo && o->reply)
		tool_usage_die("--echo and --reply exclude each other");
	/* their usage errors before the socket opens */
	tool_ident_check_usage(tool_rel_enabled(), 1);
	/* plain datagrams have no session whose end --once could wait for */
	if (o->once && !tool_rel_opt.on)
		tool_usage_die("--once needs -r (--reliable)");
	if (o->once && o->count)
		tool_usage_die("--once and -c exclude each other (--once ends with the "
			       "sender's close, -c after N messages)");
}

static void join_groups(struct udp_sock *sk, const struct opts *o,
			const struct udp_addr *local)
{
	struct udp_addr g;
	char b[UDP_ADDR_STRLEN];
	int r;
	if (udp_addr_is_multicast(local)) { /* udprecv 239.1.1.1 5000 */
		if ((r = udp_sock_join(sk, local, o->mcast_if)) < 0)
			tool_die(TOOL_EXIT_ERR, "cannot join %s: %s",
				 tool_addr_str(local, b, sizeof b), udpkit_strerror(r));
	}
	for (int i = 0; i < o->njoins; i++) {
		tool_resolve(&g, o->joins[i], "0", o->family_flags);
		if (!udp_addr_is_multicast(&g))
			tool_usage_die("bad group '%s': not a multicast address", o->joins[i]);
		if ((r = udp_sock_join(sk, &g, o->mcast_if)) < 0)
			tool_die(TOOL_EXIT_ERR, "cannot join '%s'%s%s: %s", o->joins[i],
				 o->mcast_if ? " on " : "", o->mcast_if ? o->mcast_if : "",
				 udpkit_strerror(r));
		tool_debug("joined %s", o->joins[i]);
	}
}

static struct udp_sock *open_socket(const struct opts *o, int argc, char **argv)
{
	struct udp_addr local;
	int passive = UDP_ADDR_PASSIVE | o->family_flags;
	int wildcard = 0;
	if (argc == 1 && tool_is_combined(argv[0])) {
		tool_resolve(&local, argv[0], NULL, passive);
	} else if (argc == 1) {
		tool_resolve(&local, "", argv[0], passive);
		wildcard = 1;
	} else {
		tool_resolve(&local, argv[0], argv[1], passive);
	}
	int flags = UDP_SOCK_NONBLOCK;
	if (o->njoins || o->reuse || udp_addr_is_multicast(&local))
		flags |= UDP_SOCK_REUSEADDR | UDP_SOCK_REUSEPORT;
	struct udp_sock *sk;
	tool_netsim_env_check();
	int r = udp_sock_open_bound(&sk, &local, flags);
	if (r < 0 && wildcard && !o->family_flags && r == UDP_ESYS &&
	    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		/* no IPv6 here: the IPv4 wildcard will do */
		tool_resolve(&local, "", argv[0], passive | UDP_ADDR_V4);
		r = udp_sock_open_bound(&sk, &local, flags);
	}
	char b[UDP_ADDR_STRLEN];
	if (r < 0)
		tool_die(TOOL_EXIT_ERR, "cannot listen on %s: %s",
			 tool_addr_str(&local, b, sizeof b), udpkit_strerror(r));
	tool_netsim_apply(sk);
	tool_ident_load(1); /* before the key: with an identity it only admits */
	tool_seal_apply(sk);
	join_groups(sk, o, &local);
	udp_sock_set_buffers(sk, 8 << 20, 0);
	/* GRO lets a fast sender's GSO runs arrive as one receive each; it
	 * needs buffers that cannot cut such a run (see udp_sock.h). */
	if (o->max >= UDP_GRO_MIN_CAP && !tool_no_offload)
		udp_sock_set_gro(sk, 1);
	tool_offload_apply(sk);
	struct udp_addr bound;
	if (udp_sock_local_addr(sk, &bound) < 0)
		bound = local;
	tool_info("listening on %s", tool_addr_str(&bound, b, sizeof b));
	return sk;
}

/* Answers (--echo / --reply) the n datagrams just received. */
static void answer(struct receiver *rc, const struct opts *o, struct udp_msg *m,
		   unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!tool_addr_replyable(&m[i].addr)) {
			if (!rc->warned_unnamed++)
				tool_info("cannot answer an unnamed unix sender");
			rc->errors++;
			continue;
		}
		struct udp_msg *r = &rc->replies_buf[k++];
		r->buf = o->echo ? m[i].buf : (void *)o->reply;
		r->len = o->echo ? m[i].len : strlen(o->reply);
		r->addr = m[i].addr;
	}
	for (unsigned off = 0; off < k;) {
		unsigned done = 0;
		int r = tool_io_send(&rc->io, rc->replies_buf + off, k - off, &done);
		rc->replies += done;
		off += done;
		if (r >= 0 || r == TOOL_STOPPED)
			break;
		char b[UDP_ADDR_STRLEN];
		tool_info("answer to %s: %s",
			  tool_addr_str(&rc->replies_buf[off].addr, b, sizeof b),
			  udpkit_strerror(r));
		rc->errors++;
		off++; /* skip the one that failed, answer the others */
	}
}

/* Prints and answers n received datagrams (none coalesced). */
static int deliver_plain(struct receiver *rc, const struct opts *o,
			 struct udp_msg *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (o->count && rc->dgrams >= o->count) {
			n = i; /* a coalesced run before these reached COUNT */
			break;
		}
		rc->dgrams++;
		rc->bytes += m[i].len;
		if (m[i].flags & UDP_MSG_TRUNC) {
			rc->truncated++;
			if (o->fmt != TOOL_FMT_JSON)
				tool_warn_truncated(&m[i]);
		}
		if (tool_out_msg(&rc->out, &m[i]) < 0)
			break;
	}
	if (tool_out_flush(&rc->out) < 0)
		return -1;
	if (o->echo || o->reply)
		answer(rc, o, m, n);
	return 0;
}

/* With GRO one message may hold several datagrams of one sender: each is
 * handed on as a datagram of its own, so output, counts and answers are
 * the same as without GRO.  Past -c COUNT the rest is dropped, as the
 * kernel would drop it when we exit. */
static int deliver(struct receiver *rc, const struct opts *o,
		   struct udp_msg *m, unsigned n)
{
	struct udp_msg views[BATCH];
	unsigned k = 0, plain_from = 0;
	for (unsigned i = 0; i <= n; i++) {
		if (i < n && !m[i].seg_size)
			continue;
		if (i > plain_from && deliver_plain(rc, o, m + plain_from, i - plain_from) < 0)
			return -1;
		plain_from = i + 1;
		if (i == n)
			break;
		for (size_t off = 0; off < m[i].len; off += m[i].seg_size) {
			if (o->count && rc->dgrams + k >= o->count)
				break;
			size_t left = m[i].len - off;
			views[k] = m[i];
			views[k].buf = (uint8_t *)m[i].buf + off;
			views[k].len = views[k].wire_len = left < m[i].seg_size ? left : m[i].seg_size;
			views[k].seg_size = 0;
			if (++k == BATCH) {
				if (deliver_plain(rc, o, views, k) < 0)
					return -1;
				k = 0;
			}
		}
		if (k && deliver_plain(rc, o, views, k) < 0)
			return -1;
		k = 0;
	}
	return 0;
}

/* The receive path.  Returns the exit code. */
static int receive(struct receiver *rc, const struct opts *o)
{
	unsigned batch = (unsigned)((8u << 20) / o->max);
	batch = batch < 1 ? 1 : batch > BATCH ? BATCH : batch;
	void *mem;
	struct udp_msg *m = tool_msgs_new(batch, o->max, &mem);
	if (!m)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	int code = TOOL_EXIT_OK;
	for (;;) {
		unsigned k = batch;
		if (o->count && o->count - rc->dgrams < k)
			k = (unsigned)(o->count - rc->dgrams);
		if (k == 0)
			break;
		int r = tool_io_recv(&rc->io, m, k, o->wait);
		if (r == TOOL_STOPPED)
			break;
		if (r == 0) {
			if (!rc->dgrams)
				code = TOOL_EXIT_TIMEOUT;
			break;
		}
		if (r < 0) {
			if (r == UDP_ESYS && (errno == ECONNREFUSED || errno == EHOSTUNREACH)) {
				rc->errors++; /* an answer bounced: not fatal */
				continue;
			}
			tool_err("receive: %s", udpkit_strerror(r));
			code = TOOL_EXIT_ERR;
			break;
		}
		if (deliver(rc, o, m, (unsigned)r) < 0) {
			if (errno == EINTR && tool_stop_signal)
				break;
			tool_err("write: %s", strerror(errno));
			code = TOOL_EXIT_ERR;
			break;
		}
	}
	free(mem);
	free(m);
	return code;
}

int main(int argc, char **argv)
{
	struct opts o;
	static struct receiver rc;
	tool_init("udprecv");
	parse_opts(&o, argc, argv);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		tool_usage_die("missing port (udprecv [HOST] PORT)");
	if (argc > 2)
		tool_usage_die("unexpected argument '%s'", argv[2]);
	if (tool_out_open(&rc.out, o.out_path, o.fmt, o.show_from) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot open '%s': %s", o.out_path, strerror(errno));
	tool_signals_init();
	rc.io.sock = open_socket(&o, argc, argv);
	rc.io.send_timeout = 1; /* never hang on one slow sender */
	if (tool_rel_enabled()) {
		int code = tool_rel_recv_main(&(struct tool_rel_recv){
			.sock = rc.io.sock, .out = &rc.out, .count = o.count, .wait = o.wait,
			.once = o.once,
			.stats = o.stats, .json = o.fmt == TOOL_FMT_JSON,
			.answers = o.echo || o.reply || o.njoins });
		tool_out_close(&rc.out);
		udp_sock_free(rc.io.sock);
		return code;
	}
	double t0 = tool_now();
	int code = receive(&rc, &o);
	if (o.stats)
		tool_err("datagrams=%llu bytes=%llu truncated=%llu errors=%llu replies=%llu "
			 "seconds=%.3f", (unsigned long long)rc.dgrams,
			 (unsigned long long)rc.bytes, (unsigned long long)rc.truncated,
			 (unsigned long long)rc.errors, (unsigned long long)rc.replies,
			 tool_now() - t0);
	tool_netsim_finish(rc.io.sock); /* delayed --echo/--reply answers */
	if (o.stats)
		tool_netsim_stats(rc.io.sock);
	if (o.stats)
		tool_seal_stats(rc.io.sock);
	tool_out_close(&rc.out);
	udp_sock_free(rc.io.sock);
	return code;
}
