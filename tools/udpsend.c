/* udpsend - send datagrams: from the command line or framed from stdin.
 *
 *   udpsend [options] HOST PORT [MESSAGE...]
 *   udpsend [options] HOST:PORT | [V6]:PORT | unix:/path | unix:@name [MESSAGE...]
 *
 * MESSAGE words are joined by single spaces into ONE datagram (like echo).
 * Without them stdin is cut into datagrams (lines by default). */
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
#define UNIX_LIMIT (16u * 1024 * 1024) /* the kernel's own limit is lower */

struct opts {
	int family_flags, broadcast, ttl, mcast_loop, stats, keep_delim;
	const char *mcast_if, *source, *source_port, *out_path;
	enum tool_framing framing;
	size_t chunk, max;
	unsigned long long count; /* 0: forever (message) / all (stdin) */
	int count_set;
	double interval, rate, wait;
	enum tool_fmt fmt;
	int show_from;
};

struct sender {
	struct tool_io io;
	struct udp_addr dest;
	char dest_str[UDP_ADDR_STRLEN];
	int connected;
	size_t limit;
	double period, t0;
	unsigned batch_max;
	uint64_t sent, bytes, errors, replies, reply_bytes, truncated;
	struct udp_msg msgs[BATCH];
};

static _Noreturn void usage(void)
{
	printf("Usage: %s [options] HOST PORT [MESSAGE...]\n"
	       "       %s [options] HOST:PORT|[V6]:PORT|unix:/PATH|unix:@NAME [MESSAGE...]\n"
	       "Send MESSAGE (the words joined by spaces) as one datagram, or stdin\n"
	       "cut into datagrams (one per line by default).\n\n"
	       "Input framing (stdin):\n"
	       "      --lines          one datagram per line, newline not sent (default)\n"
	       "      --keep-newline   send the newline (or NUL with -0) too\n"
	       "  -0, --null           NUL-separated messages\n"
	       "      --chunk N        raw chunks of N bytes (the last may be short)\n"
	       "      --whole          all of stdin as one datagram\n"
	       "Sending:\n"
	       "  -c, --count N        send MESSAGE N times (0: until interrupted);\n"
	       "                       with stdin: stop after N datagrams\n"
	       "  -i, --interval SECS  wait SECS between datagrams (e.g. 0.2)\n"
	       "      --rate PPS       at most PPS datagrams per second\n"
	       "  -b, --broadcast      allow broadcast destinations\n"
	       "      --ttl N          TTL / hop limit (multicast TTL for groups)\n"
	       "      --mcast-if IF    send multicast through interface IF\n"
	       "      --mcast-loop 0|1 loop multicast back to this host\n"
	       "  -s, --source ADDR    send from this local address\n"
	       "  -p, --source-port P  send from this local port\n"
	       "  -4 / -6              IPv4 / IPv6 only\n"
	       "Replies:\n"
	       "  -w, --wait SECS      then print replies until SECS of silence\n"
	       "      --raw | -x, --hex | --json   reply format (default: text)\n"
	       "      --from           prefix each reply with its sender\n"
	       "  -o, --output FILE    write replies to FILE\n"
	       "      --max N          reply buffer size (default 65536)\n"
	       TOOL_SEAL_HELP
	       "Reliable mode (to udprecv -r):\n"
	       "  -r, --reliable       every message acknowledged; exit 0 only when all were\n"
	       "                       delivered; --whole streams stdin of any size\n"
	       "      --ordered        deliver in sending order (always so with --whole)\n"
	       "      --timeout SECS   give up on a silent peer after SECS (default 10)\n"
	       "      --cc bbr|reno|none  congestion control (default bbr: paced, keeps\n"
	       "                       its rate under random loss; none: windows only)\n"
	       "      --progress / --no-progress   progress bar (default: stderr is a tty)\n"
	       TOOL_IDENT_HELP_SEND
	       "General:\n"
	       "      --stats          counters on stderr at exit (-r: per peer, --json: JSON)\n"
	       "      --netsim SPEC    impair what is sent, tc-netem words: 'loss 5%% delay 20ms'\n"
	       "      --netsim-in SPEC impair what is received (default: $UDPKIT_NETSIM[_IN])\n"
	       "      --netsim-schedule T / --netsim-in-schedule T  a timeline of specs\n"
	       "                       ('0s loss 1%%; 5s loss 100%%; 8s loss 1%%', or @FILE)\n"
	       TOOL_OFFLOAD_HELP
	       "  -v, --verbose / -q, --quiet\n"
	       "  -h, --help / --version\n"
	       "Exit: 0 ok, 1 error, 2 bad usage, 3 -w and no reply, 130/143 interrupted.\n",
	       tool_name, tool_name);
	exit(TOOL_EXIT_OK);
}

enum { O_LINES = 256, O_KEEPNL, O_CHUNK, O_WHOLE, O_RATE, O_TTL, O_MIF,
       O_MLOOP, O_RAW, O_JSON, O_FROM, O_MAX };

static const struct option longopts[] = {
	{ "lines", no_argument, 0, O_LINES },
	{ "keep-newline", no_argument, 0, O_KEEPNL },
	{ "null", no_argument, 0, '0' },
	{ "chunk", required_argument, 0, O_CHUNK },
	{ "whole", no_argument, 0, O_WHOLE },
	{ "count", required_argument, 0, 'c' },
	{ "interval", required_argument, 0, 'i' },
	{ "rate", required_argument, 0, O_RATE },
	{ "pps", required_argument, 0, O_RATE },
	{ "broadcast", no_argument, 0, 'b' },
	{ "ttl", required_argument, 0, O_TTL },
	{ "mcast-if", required_argument, 0, O_MIF },
	{ "mcast-loop", required_argument, 0, O_MLOOP },
	{ "source", required_argument, 0, 's' },
	{ "source-port", required_argument, 0, 'p' },
	{ "wait", required_argument, 0, 'w' },
	{ "raw", no_argument, 0, O_RAW },
	{ "hex", no_argument, 0, 'x' },
	{ "json", no_argument, 0, O_JSON },
	{ "from", no_argument, 0, O_FROM },
	{ "output", required_argument, 0, 'o' },
	{ "max", required_argument, 0, O_MAX },
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
	o->ttl = -1;
	o->mcast_loop = -1;
	o->max = 65536;
	o->count = 1;
	o->wait = -1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":0c:i:bs:p:w:xo:vqh46k:r", longopts, NULL)) != -1) {
		switch (c) {
		case O_LINES: o->framing = TOOL_FRAME_LINE; break;
		case O_KEEPNL: o->keep_delim = 1; break;
		case '0': o->framing = TOOL_FRAME_NUL; break;
		case O_CHUNK:
			o->framing = TOOL_FRAME_CHUNK;
			o->chunk = tool_parse_uint("--chunk", optarg, 1, UNIX_LIMIT);
			break;
		case O_WHOLE: o->framing = TOOL_FRAME_WHOLE; break;
		case 'c':
			o->count = tool_parse_uint("-c", optarg, 0, UINT64_MAX);
			o->count_set = 1;
			break;
		case 'i': o->interval = tool_parse_secs("-i", optarg); break;
		case O_RATE: o->rate = (double)tool_parse_uint("--rate", optarg, 1, 100000000); break;
		case 'b': o->broadcast = 1; break;
		case O_TTL: o->ttl = (int)tool_parse_uint("--ttl", optarg, 0, 255); break;
		case O_MIF: o->mcast_if = optarg; break;
		case O_MLOOP: o->mcast_loop = (int)tool_parse_uint("--mcast-loop", optarg, 0, 1); break;
		case 's': o->source = optarg; break;
		case 'p': o->source_port = optarg; break;
		case 'w': o->wait = tool_parse_secs("-w", optarg); break;
		case O_RAW: o->fmt = TOOL_FMT_RAW; break;
		case 'x': o->fmt = TOOL_FMT_HEX; break;
		case O_JSON: o->fmt = TOOL_FMT_JSON; break;
		case O_FROM: o->show_from = 1; break;
		case 'o': o->out_path = optarg; break;
		case O_MAX: o->max = tool_parse_uint("--max", optarg, 1, UNIX_LIMIT); break;
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
}

/* Opens, binds and configures the socket for s->dest. */
static void open_socket(struct sender *s, const struct opts *o)
{
	int fam = udp_addr_family(&s->dest), r;
	struct udp_addr local;
	int bind_it = 0;
	char name[64];
	if (o->source || o->source_port) {
		if (fam == AF_UNIX && !o->source)
			tool_usage_die("-p needs an IP destination (use -s unix:... for unix)");
		int f = UDP_ADDR_PASSIVE | (fam == AF_INET ? UDP_ADDR_V4 : 0) |
			(fam == AF_INET6 ? UDP_ADDR_V6 : 0);
		if (o->source && tool_is_combined(o->source) && !o->source_port)
			tool_resolve(&local, o->source, NULL, f);
		else
			tool_resolve(&local, o->source ? o->source : "",
				     o->source_port ? o->source_port : "0", f);
		if (udp_addr_family(&local) != fam)
			tool_usage_die("source '%s' and destination are of different families",
				       o->source);
		bind_it = 1;
	} else if (fam == AF_UNIX) {
		/* a name of our own, so the receiver can answer (-w) */
		snprintf(name, sizeof name, "unix:@udpsend-%ld-%08lx", (long)getpid(),
			 (unsigned long)random());
		tool_resolve(&local, name, NULL, 0);
		bind_it = 1;
	}
	tool_netsim_env_check();
	r = bind_it ? udp_sock_open_bound(&s->io.sock, &local, UDP_SOCK_NONBLOCK)
		    : udp_sock_open(&s->io.sock, fam, UDP_SOCK_NONBLOCK);
	if (r < 0) {
		char b[UDP_ADDR_STRLEN];
		tool_die(TOOL_EXIT_ERR, "cannot open a socket%s%s: %s",
			 bind_it ? " bound to " : "",
			 bind_it ? tool_addr_str(&local, b, sizeof b) : "", udpkit_strerror(r));
	}
	struct udp_sock *sk = s->io.sock;
	tool_netsim_apply(sk);
	tool_ident_load(0); /* before the key: with an identity it only admits */
	tool_seal_apply(sk);
	int mcast = udp_addr_is_multicast(&s->dest);
	if (o->broadcast && (r = udp_sock_set_broadcast(sk, 1)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot enable broadcast: %s", udpkit_strerror(r));
	if (o->ttl >= 0 && (r = mcast ? udp_sock_set_mcast_ttl(sk, o->ttl)
				      : udp_sock_set_ttl(sk, o->ttl)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot set TTL %d: %s", o->ttl, udpkit_strerror(r));
	if (o->mcast_if && (r = udp_sock_set_mcast_if(sk, o->mcast_if)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot use interface '%s' for multicast: %s",
			 o->mcast_if, udpkit_strerror(r));
	if (o->mcast_loop >= 0 && (r = udp_sock_set_mcast_loop(sk, o->mcast_loop)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot set multicast loop: %s", udpkit_strerror(r));
	udp_sock_set_buffers(sk, 0, 4 << 20);
	tool_offload_apply(sk);
	/* Connected when talking to one peer: errors (refused, EMSGSIZE) come
	 * back, replies are filtered to that peer, and a full unix receiver can
	 * be waited for with poll.  Not for broadcast or groups: answers come
	 * from other addresses. */
	if (!o->broadcast && !mcast) {
		r = udp_sock_connect(sk, &s->dest);
		if (r < 0)
			tool_die(TOOL_EXIT_ERR, "cannot reach %s: %s", s->dest_str,
				 udpkit_strerror(r));
		s->connected = 1;
	}
}

/* The send path: sends n prepared messages, paced.  Dies on errors. */
static void send_msgs(struct sender *s, unsigned n)
{
	if (s->period > 0) {
		double due = s->t0 + (double)s->sent * s->period;
		double now = tool_now();
		if (due > now && tool_wait(-1, 0, due - now) < 0)
			return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (s->connected)
			s->msgs[i].addr.len = 0;
		else
			s->msgs[i].addr = s->dest;
	}
	unsigned done = 0;
	int r = tool_io_send(&s->io, s->msgs, n, &done);
	s->sent += done;
	for (unsigned i = 0; i < done; i++)
		s->bytes += s->msgs[i].len;
	if (r >= 0 || r == TOOL_STOPPED)
		return;
	s->errors++;
	int e = errno;
	if (r == UDP_ESYS && e == EMSGSIZE)
		tool_die(TOOL_EXIT_ERR, "message of %zu bytes is too large for %s: %s "
			 "(nothing of it sent)", s->msgs[done].len, s->dest_str,
			 udpkit_strerror(r));
	if (r == UDP_EAGAIN)
		tool_die(TOOL_EXIT_ERR, "send to %s: send buffer stayed full for %.0f s, giving up",
			 s->dest_str, s->io.send_timeout);
	tool_die(TOOL_EXIT_ERR, "send to %s (message of %zu bytes): %s", s->dest_str,
		 s->msgs[done].len, udpkit_strerror(r));
}

static _Noreturn void too_big(struct sender *s, size_t n)
{
	tool_die(TOOL_EXIT_ERR, "message of %zu bytes is over the limit of %zu bytes "
		 "for %s (nothing of it sent)", n, s->limit,
		 udp_addr_is_unix(&s->dest) ? "this socket" : "UDP");
}

static void send_args(struct sender *s, const struct opts *o, int argc, char **argv)
{
	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *msg = malloc(len + 1), *d = msg;
	if (!msg)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	for (int i = 0; i < argc; i++)
		d += sprintf(d, "%s%s", i ? " " : "", argv[i]);
	len = (size_t)(d - msg);
	if (len > s->limit)
		too_big(s, len);
	for (uint64_t left = o->count; !tool_stop_signal && (o->count == 0 || left > 0);) {
		unsigned k = s->batch_max;
		if (o->count && left < k)
			k = (unsigned)left;
		for (unsigned i = 0; i < k; i++) {
			s->msgs[i].buf = msg;
			s->msgs[i].len = len;
		}
		send_msgs(s, k);
		left -= o->count ? k : 0;
	}
	free(msg);
}

static void send_stdin(struct sender *s, const struct opts *o)
{
	struct tool_frame f;
	tool_frame_init(&f, STDIN_FILENO, o->framing, o->chunk, s->limit, o->keep_delim);
	uint64_t left = o->count_set && o->count ? o->count : UINT64_MAX;
	int end = 0;
	while (!end && left > 0 && !tool_stop_signal) {
		unsigned k = 0, cap = left < s->batch_max ? (unsigned)left : s->batch_max;
		while (k < cap) {
			const uint8_t *p;
			size_t n;
			int r = tool_frame_next(&f, k == 0, &p, &n);
			if (r == TOOL_FRAME_MSG) {
				s->msgs[k].buf = (void *)p;
				s->msgs[k++].len = n;
				continue;
			}
			if (r == TOOL_FRAME_NEED)
				break;
			end = 1;
			if (r == TOOL_FRAME_TOOBIG) {
				if (k)
					send_msgs(s, k);
				too_big(s, n);
			}
			if (r == TOOL_FRAME_ERR && errno == EINTR && tool_stop_signal)
				break;
			if (r == TOOL_FRAME_ERR)
				tool_die(TOOL_EXIT_ERR, "reading stdin: %s", strerror(errno));
			break;
		}
		if (k)
			send_msgs(s, k);
		left -= k;
	}
	tool_frame_free(&f);
}

/* After sending: print replies until wait seconds of silence. */
static void read_replies(struct sender *s, const struct opts *o)
{
	struct tool_out out;
	void *mem;
	if (tool_out_open(&out, o->out_path, o->fmt, o->show_from) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot open '%s': %s", o->out_path, strerror(errno));
	struct udp_msg *m = tool_msgs_new(BATCH, o->max, &mem);
	if (!m)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	for (;;) {
		int r = tool_io_recv(&s->io, m, BATCH, o->wait);
		if (r == 0 || r == TOOL_STOPPED)
			break;
		if (r < 0) {
			if (r == UDP_ESYS && errno == ECONNREFUSED)
				tool_die(TOOL_EXIT_ERR, "%s: %s (nothing listening there?)",
					 s->dest_str, udpkit_strerror(r));
			tool_die(TOOL_EXIT_ERR, "receiving replies: %s", udpkit_strerror(r));
		}
		for (int i = 0; i < r; i++) {
			s->replies++;
			s->reply_bytes += m[i].len;
			if (m[i].flags & UDP_MSG_TRUNC) {
				s->truncated++;
				if (o->fmt != TOOL_FMT_JSON)
					tool_warn_truncated(&m[i]);
			}
			if (tool_out_msg(&out, &m[i]) < 0)
				tool_die(TOOL_EXIT_ERR, "writing replies: %s", strerror(errno));
		}
		if (tool_out_flush(&out) < 0)
			tool_die(TOOL_EXIT_ERR, "writing replies: %s", strerror(errno));
	}
	tool_out_close(&out);
	free(mem);
	free(m);
}

int main(int argc, char **argv)
{
	struct opts o;
	static struct sender s;
	tool_init("udpsend");
	parse_opts(&o, argc, argv);
	argc -= optind;
	argv += optind;
	tool_ident_check_usage(tool_rel_enabled(), 0);
	if (argc < 1)
		tool_usage_die("missing destination (HOST PORT or HOST:PORT)");
	if (tool_is_combined(argv[0])) {
		tool_resolve(&s.dest, argv[0], NULL, o.family_flags);
		argc--, argv++;
	} else {
		if (argc < 2)
			tool_usage_die("missing port after '%s'", argv[0]);
		tool_resolve(&s.dest, argv[0], argv[1], o.family_flags);
		argc -= 2, argv += 2;
	}
	if (udp_addr_port(&s.dest) == 0)
		tool_usage_die("bad port '0': cannot send to port 0");
	tool_addr_str(&s.dest, s.dest_str, sizeof s.dest_str);
	s.limit = udp_addr_is_unix(&s.dest) ? UNIX_LIMIT : UDP_MAX_PAYLOAD;
	if (o.framing == TOOL_FRAME_CHUNK && o.chunk > s.limit)
		tool_usage_die("--chunk %zu is over the limit of %zu bytes", o.chunk, s.limit);
	srandom((unsigned)getpid() ^ (unsigned)(tool_now() * 1e6));
	tool_signals_init();
	open_socket(&s, &o);
	if (tool_rel_enabled())
		return tool_rel_send_main(&(struct tool_rel_send){
			.sock = s.io.sock, .dest = &s.dest, .dest_str = s.dest_str,
			.argc = argc, .argv = argv, .count = argc || o.count_set ? o.count : 0,
			.framing = o.framing, .chunk = o.chunk, .keep_delim = o.keep_delim,
			.stats = o.stats, .json = o.fmt == TOOL_FMT_JSON, .broadcast = o.broadcast,
			.wait_set = o.wait >= 0, .paced = o.interval > 0 || o.rate > 0 });
	s.io.send_timeout = 10;
	s.period = o.interval > 0 ? o.interval : (o.rate > 0 ? 1.0 / o.rate : 0);
	s.batch_max = BATCH;
	if (o.interval > 0)
		s.batch_max = 1;
	else if (o.rate > 0 && o.rate < 100.0 * BATCH)
		s.batch_max = o.rate < 100 ? 1 : (unsigned)(o.rate / 100);
	s.t0 = tool_now();
	tool_debug("sending to %s", s.dest_str);
	if (argc > 0)
		send_args(&s, &o, argc, argv);
	else
		send_stdin(&s, &o);
	tool_debug("sent %llu datagram(s), %llu bytes, to %s", (unsigned long long)s.sent,
		   (unsigned long long)s.bytes, s.dest_str);
	tool_netsim_finish(s.io.sock);
	if (o.wait >= 0 && !tool_stop_signal)
		read_replies(&s, &o);
	if (s.io.refused) {
		s.errors += s.io.refused;
		tool_err("%s refused %llu datagram(s): nothing listening there?",
			 s.dest_str, (unsigned long long)s.io.refused);
	}
	if (o.stats)
		tool_err("datagrams=%llu bytes=%llu errors=%llu replies=%llu reply_bytes=%llu "
			 "truncated=%llu seconds=%.3f", (unsigned long long)s.sent,
			 (unsigned long long)s.bytes, (unsigned long long)s.errors,
			 (unsigned long long)s.replies, (unsigned long long)s.reply_bytes,
			 (unsigned long long)s.truncated, tool_now() - s.t0);
	if (o.stats)
		tool_netsim_stats(s.io.sock);
	if (o.stats)
		tool_seal_stats(s.io.sock);
	udp_sock_free(s.io.sock);
	if (tool_stop_signal)
		return 128 + tool_stop_signal;
	if (s.errors)
		return TOOL_EXIT_ERR;
	if (o.wait >= 0 && s.replies == 0)
		return TOOL_EXIT_TIMEOUT;
	return TOOL_EXIT_OK;
}
