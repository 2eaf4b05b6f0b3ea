/* udpbench - an iperf-like transfer benchmark for udpkit: a server and a
 * client, raw datagrams or the reliable layer, goodput, retransmissions
 * and latency percentiles, optionally through the loss simulator.
 *
 *   udpbench -s [-m rel|raw] [HOST] PORT         server ("listening on ...")
 *   udpbench [-m rel|raw] [-n BYTES|-t SECS] HOST PORT   client
 *
 * Both sides must use the same -m, and the same key (-k) to seal.  Results go to stdout (one line, or one
 * JSON object with --json), diagnostics to stderr. */
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rel.h"
#include "rel_bbr.h"
#include "rel_drv.h"
#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_seal.h"
#include "netsim.h"

enum mode { M_REL, M_RAW };

struct opts {
	int server, once, json, family_flags, sealed;
	enum mode mode;
	uint64_t bytes;
	double secs, wait;
	size_t len;
	const struct rel_cc_ops *cc;
	const char *cc_name;
};

/* ---- latency histogram: 16 linear steps per power of two, so a
 * percentile is within 1/16 of the truth with no per-sample memory ---- */

#define H_SUB 16
struct hist {
	uint64_t n[64 * H_SUB];
	uint64_t count, max;
};

static unsigned h_index(uint64_t v)
{
	if (v < H_SUB)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v); /* >= 4 */
	return (e - 3) * H_SUB + (unsigned)((v >> (e - 4)) & (H_SUB - 1));
}

static uint64_t h_upper(unsigned i)
{
	if (i < H_SUB)
		return i;
	unsigned e = i / H_SUB + 3, sub = i % H_SUB;
	return ((uint64_t)(H_SUB + sub + 1) << (e - 4)) - 1;
}

static void h_add(struct hist *h, uint64_t v)
{
	h->n[h_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

static uint64_t h_pct(const struct hist *h, double p)
{
	if (!h->count)
		return 0;
	uint64_t want = (uint64_t)(p / 100 * (double)h->count + 0.5), seen = 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < 64 * H_SUB; i++) {
		seen += h->n[i];
		if (seen >= want)
			return h_upper(i) < h->max ? h_upper(i) : h->max;
	}
	return h->max;
}

/* ---- results ---- */

struct result {
	const char *role;
	uint64_t bytes, msgs;
	double secs;
	uint64_t pkts_sent, retrans, timeouts, sent, lost; /* sent/lost: raw */
	uint64_t srtt_us;
	const struct hist *lat;
};

static void report(const struct opts *o, const struct result *r)
{
	double mbs = r->secs > 0 ? (double)r->bytes / r->secs / 1e6 : 0;
	if (o->json) {
		printf("{\"mode\":\"%s\",\"sealed\":%s,\"role\":\"%s\",\"bytes\":%" PRIu64
		       ",\"msgs\":%" PRIu64 ",\"msg_len\":%zu,\"seconds\":%.6f,\"goodput_MBps\":%.3f",
		       o->mode == M_RAW ? "raw" : "rel", o->sealed ? "true" : "false", r->role,
		       r->bytes, r->msgs, o->len, r->secs, mbs);
		if (o->mode == M_RAW) {
			printf(",\"sent\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"loss_pct\":%.3f", r->sent,
			       r->lost, r->sent ? 100.0 * (double)r->lost / (double)r->sent : 0);
		} else if (r->lat) {
			printf(",\"cc\":\"%s\",\"pkts_sent\":%" PRIu64 ",\"retransmits\":%" PRIu64
			       ",\"timeouts\":%" PRIu64 ",\"retrans_pct\":%.3f,\"srtt_us\":%" PRIu64,
			       o->cc_name, r->pkts_sent, r->retrans, r->timeouts,
			       r->pkts_sent ? 100.0 * (double)r->retrans / (double)r->pkts_sent : 0,
			       r->srtt_us);
			printf(",\"latency_us\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
			       ",\"max\":%" PRIu64 "}",
			       h_pct(r->lat, 50), h_pct(r->lat, 90), h_pct(r->lat, 99), r->lat->max);
		}
		printf("}\n");
	} else {
		printf("%s%s %s: %" PRIu64 " bytes in %.3f s = %.1f MB/s, %" PRIu64 " msgs",
		       o->mode == M_RAW ? "raw" : "rel", o->sealed ? " sealed" : "", r->role, r->bytes, r->secs, mbs, r->msgs);
		if (o->mode == M_RAW)
			printf(", %" PRIu64 " sent, %.2f %% lost", r->sent,
			       r->sent ? 100.0 * (double)r->lost / (double)r->sent : 0);
		else if (r->lat)
			printf(", cc %s, %" PRIu64 " packets, %" PRIu64 " retransmitted (%.2f %%), "
			       "latency p50 %.2f p90 %.2f p99 %.2f max %.2f ms",
			       o->cc_name, r->pkts_sent, r->retrans,
			       r->pkts_sent ? 100.0 * (double)r->retrans / (double)r->pkts_sent : 0,
			       (double)h_pct(r->lat, 50) / 1e3, (double)h_pct(r->lat, 90) / 1e3,
			       (double)h_pct(r->lat, 99) / 1e3, (double)r->lat->max / 1e3);
		printf("\n");
	}
	fflush(stdout);
}

/* ---- the reliable layer ---- */

struct relend {
	struct udp_sock *sock;
	struct rel_core *core;
	struct rel_drv *drv;
};

static void rel_open(struct relend *e, struct udp_sock *s, const struct opts *o)
{
	struct rel_config cfg;
	rel_config_default(&cfg);
	if (getrandom(&cfg.seed, sizeof cfg.seed, GRND_NONBLOCK) != (ssize_t)sizeof cfg.seed)
		cfg.seed = (uint64_t)(tool_now() * 1e9);
	if (getrandom(cfg.cookie_secret, sizeof cfg.cookie_secret, GRND_NONBLOCK) < 0)
		memset(cfg.cookie_secret, 0, sizeof cfg.cookie_secret);
	cfg.accept = o->server;
	cfg.cc = o->cc;
	e->sock = s;
	/* A window's burst must fit the receiver's socket buffer, or the
	 * kernel drops what the path would have carried (the default 208 KiB
	 * holds only about 90 datagrams of 1200 bytes). */
	(void)udp_sock_set_buffers(s, 4 << 20, 4 << 20);
	int err = 0;
	if ((err = rel_core_new(&e->core, &cfg)) < 0)
		tool_die(TOOL_EXIT_ERR, "reliable core: %s", udpkit_strerror(err));
	if ((err = rel_drv_new(&e->drv, e->core, s)) < 0)
		tool_die(TOOL_EXIT_ERR, "driver: %s", udpkit_strerror(err));
}

static void rel_close_end(struct relend *e)
{
	rel_drv_free(e->drv);
	rel_core_free(e->core);
}

/* One driver turn, waking for the loss simulator's held datagrams too. */
static void rel_turn(struct relend *e, int max_ms)
{
	double due = tool_netsim_due_in(e->sock);
	if (due >= 0 && due * 1000 < max_ms)
		max_ms = (int)(due * 1000) + 1;
	int rc = rel_drv_run_once(e->drv, max_ms);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "socket: %s", udpkit_strerror(rc));
}

#define RING 8192  /* send times by msg id; more than QMAX */
#define QMAX 4096  /* messages queued and not yet acked */

static int rel_client(const struct opts *o, struct udp_sock *s, const struct udp_addr *to)
{
	struct relend e;
	rel_open(&e, s, o);
	uint32_t peer;
	int rc = rel_drv_connect(e.drv, to, &peer);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "connect: %s", udpkit_strerror(rc));
	uint64_t *sent_at = calloc(RING, sizeof *sent_at);
	uint8_t *msg = calloc(1, o->len);
	struct hist *lat = calloc(1, sizeof *lat);
	if (!sent_at || !msg || !lat)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	memset(msg, 0x42, o->len);
	uint64_t total = o->bytes / o->len, sent = 0, acked = 0, t0 = 0, t_end = 0;
	uint64_t deadline = rel_drv_now() + (uint64_t)(o->wait * 1e6);
	int connected = 0, closing = 0, done = 0, fail = 0;
	struct rel_stats st = {0};
	while (!done && !fail && !tool_stop_signal) {
		uint64_t now = rel_drv_now();
		if (!connected && now > deadline) {
			fail = TOOL_EXIT_TIMEOUT;
			break;
		}
		if (connected && !closing) {
			int more = o->secs > 0 ? now - t0 < (uint64_t)(o->secs * 1e6) : sent < total;
			while (more && sent - acked < QMAX) {
				uint64_t id;
				memcpy(msg, &sent, sizeof sent < o->len ? sizeof sent : o->len);
				if (rel_send(e.core, peer, msg, o->len, REL_SEQPACKET, now, &id) < 0)
					break;
				sent_at[id % RING] = now;
				sent++;
				more = o->secs > 0 || sent < total;
			}
			if (!more) {
				rel_close(e.core, peer, now);
				closing = 1;
			}
		}
		rel_turn(&e, 100);
		struct rel_event ev;
		while (rel_poll_event(e.core, &ev)) {
			now = rel_drv_now();
			switch (ev.type) {
			case REL_EV_CONNECTED:
				connected = 1;
				t0 = now;
				break;
			case REL_EV_ACKED:
				h_add(lat, now - sent_at[ev.msg_id % RING]);
				acked++;
				break;
			case REL_EV_CLOSED:
				t_end = now;
				done = 1;
				break;
			case REL_EV_DEAD:
				fail = TOOL_EXIT_ERR;
				break;
			case REL_EV_MESSAGE:
				rel_buf_free(ev.data);
				break;
			default:
				break;
			}
		}
		if (!done)
			(void)rel_peer_stats(e.core, peer, &st);
	}
	if (!done) {
		/* freed first: the leak checker counts what exit() leaves */
		free(sent_at);
		free(msg);
		free(lat);
		rel_close_end(&e);
		if (fail == TOOL_EXIT_TIMEOUT)
			tool_die(fail, "no answer from the server within %.1f s", o->wait);
		if (fail)
			tool_die(fail, "the server went silent");
		return TOOL_EXIT_OK; /* interrupted: no result */
	}
	struct result r = {.role = "client", .bytes = acked * o->len, .msgs = acked,
			   .secs = (double)(t_end - t0) / 1e6, .pkts_sent = st.data_sent,
			   .retrans = st.retransmits, .timeouts = st.timeouts, .srtt_us = st.srtt_us, .lat = lat};
	report(o, &r);
	free(sent_at);
	free(msg);
	free(lat);
	rel_close_end(&e);
	return TOOL_EXIT_OK;
}

static int rel_server(const struct opts *o, struct udp_sock *s)
{
	struct relend e;
	rel_open(&e, s, o);
	uint64_t bytes = 0, msgs = 0, t0 = 0, t_last = 0, linger_until = 0;
	while (!tool_stop_signal) {
		if (linger_until && rel_drv_now() > linger_until)
			break;
		rel_turn(&e, 100);
		struct rel_event ev;
		while (rel_poll_event(e.core, &ev)) {
			uint64_t now = rel_drv_now();
			if (ev.type == REL_EV_CONNECTED) {
				bytes = msgs = 0;
				t0 = now;
			} else if (ev.type == REL_EV_MESSAGE) {
				bytes += ev.len;
				msgs++;
				t_last = now;
				rel_buf_recycle(e.core, ev.data);
			} else if (ev.type == REL_EV_PEER_CLOSED) {
				rel_close(e.core, ev.peer, now);
				struct result r = {.role = "server", .bytes = bytes, .msgs = msgs,
						   .secs = (double)(t_last - t0) / 1e6};
				report(o, &r);
				/* stay a moment to ack the client's FIN again if need be */
				if (o->once)
					linger_until = now + 500000;
			}
		}
	}
	rel_close_end(&e);
	return TOOL_EXIT_OK;
}

/* ---- raw datagrams: a sequence number in front, an END / REPORT
 * exchange at the end so the client learns what arrived ---- */

static const char END_MAGIC[8] = "UBEND\0\0\1", REP_MAGIC[8] = "UBREP\0\0\1";
#define RAW_BATCH 64

static int raw_client(const struct opts *o, struct udp_sock *s, const struct udp_addr *to)
{
	struct tool_io io = {.sock = s, .send_timeout = o->wait};
	uint8_t *buf = calloc(RAW_BATCH, o->len);
	struct udp_msg m[RAW_BATCH];
	if (!buf)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	uint64_t total = o->bytes / o->len, seq = 0;
	double t0 = tool_now();
	while (!tool_stop_signal) {
		unsigned n = 0;
		for (; n < RAW_BATCH; n++) {
			if (o->secs > 0 ? tool_now() - t0 >= o->secs : seq >= total)
				break;
			uint8_t *p = buf + (size_t)n * o->len;
			memset(&m[n], 0, sizeof m[n]);
			memcpy(p, &seq, sizeof seq < o->len ? sizeof seq : o->len);
			m[n].buf = p;
			m[n].len = o->len;
			m[n].addr = *to;
			seq++;
		}
		if (!n)
			break;
		unsigned done;
		int rc = tool_io_send(&io, m, n, &done);
		if (rc < 0 && rc != TOOL_STOPPED)
			tool_die(TOOL_EXIT_ERR, "send: %s", udpkit_strerror(rc));
	}
	/* END until a REPORT comes back (bounded by -w) */
	uint8_t rep[64];
	double give_up = tool_now() + o->wait;
	while (!tool_stop_signal && tool_now() < give_up) {
		uint8_t end[16];
		memcpy(end, END_MAGIC, 8);
		memcpy(end + 8, &seq, 8);
		(void)udp_sock_send(s, end, sizeof end, to);
		struct udp_msg r = {.buf = rep, .cap = sizeof rep};
		int got = tool_io_recv(&io, &r, 1, 0.2);
		if (got == 1 && r.len >= 32 && !memcmp(rep, REP_MAGIC, 8)) {
			uint64_t n, bytes, us;
			memcpy(&n, rep + 8, 8);
			memcpy(&bytes, rep + 16, 8);
			memcpy(&us, rep + 24, 8);
			struct result res = {.role = "client", .bytes = bytes, .msgs = n,
					     .secs = (double)us / 1e6, .sent = seq,
					     .lost = seq > n ? seq - n : 0};
			report(o, &res);
			free(buf);
			return TOOL_EXIT_OK;
		}
	}
	free(buf);
	if (tool_stop_signal)
		return TOOL_EXIT_OK;
	tool_die(TOOL_EXIT_TIMEOUT, "no report from the server within %.1f s", o->wait);
}

static int raw_server(const struct opts *o, struct udp_sock *s)
{
	struct tool_io io = {.sock = s, .send_timeout = 1};
	void *mem;
	struct udp_msg *m = tool_msgs_new(RAW_BATCH, UDP_GRO_MIN_CAP, &mem);
	if (!m)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	(void)udp_sock_set_gro(s, 1);
	uint64_t n = 0, bytes = 0;
	double t0 = 0, t_last = 0, linger_until = 0;
	while (!tool_stop_signal) {
		if (linger_until > 0 && tool_now() > linger_until)
			break;
		tool_msgs_reset(m, RAW_BATCH);
		int got = tool_io_recv(&io, m, RAW_BATCH, 0.2);
		if (got == TOOL_STOPPED)
			break;
		if (got < 0)
			tool_die(TOOL_EXIT_ERR, "receive: %s", udpkit_strerror(got));
		double now = tool_now();
		for (int i = 0; i < got; i++) {
			if (m[i].len >= 16 && m[i].len < 32 && !memcmp(m[i].buf, END_MAGIC, 8)) {
				uint8_t rep[32];
				uint64_t us = n ? (uint64_t)((t_last - t0) * 1e6) : 0;
				memcpy(rep, REP_MAGIC, 8);
				memcpy(rep + 8, &n, 8);
				memcpy(rep + 16, &bytes, 8);
				memcpy(rep + 24, &us, 8);
				(void)udp_sock_send(s, rep, sizeof rep, &m[i].addr);
				if (n) {
					uint64_t sent;
					memcpy(&sent, (uint8_t *)m[i].buf + 8, 8);
					struct result r = {.role = "server", .bytes = bytes, .msgs = n,
							   .secs = (double)us / 1e6, .sent = sent,
							   .lost = sent > n ? sent - n : 0};
					report(o, &r);
				}
				n = bytes = 0;
				if (o->once && !linger_until)
					linger_until = now + 0.5; /* answer a repeated END */
				continue;
			}
			uint64_t k = m[i].seg_size ? (m[i].len + m[i].seg_size - 1) / m[i].seg_size : 1;
			if (!n)
				t0 = now;
			n += k;
			bytes += m[i].len;
			t_last = now;
		}
	}
	free(mem);
	return TOOL_EXIT_OK;
}

/* ---- command line ---- */

_Noreturn static void usage(void)
{
	printf("Usage: %s -s [options] [[HOST] PORT]     server (default: any address, port 0)\n"
	       "       %s [options] HOST PORT            client\n"
	       "Measures goodput between a udpbench client and server.\n"
	       "  -s, --server         be the server (port 0: any; says which on stderr)\n"
	       "  -1, --once           server: exit after one client\n"
	       "  -m, --mode MODE      rel (reliable layer, default) or raw (datagrams);\n"
	       "                       both ends must use the same\n"
	       "  -n, --bytes N        client: send N bytes (default 100M; K/M/G suffixes)\n"
	       "  -t, --time SECS      client: send for SECS instead\n"
	       "  -l, --len N          message length (default 1200)\n"
	       "      --cc NAME        congestion control: bbr (default), reno, none\n"
	       "  -w, --wait SECS      give up after SECS without an answer (default 5)\n"
	       "      --json           one JSON object per result\n"
	       "      --netsim SPEC    impair what is sent, tc-netem words: 'loss 5%%'\n"
	       "      --netsim-in SPEC impair what is received\n"
	       "  -4 / -6              IPv4 / IPv6 only\n"
	       TOOL_SEAL_HELP
	       "  -v, --verbose / -q, --quiet\n"
	       "  -h, --help / --version\n"
	       "Exit: 0 ok, 1 error, 2 bad usage, 3 no answer within -w.\n",
	       tool_name, tool_name);
	exit(TOOL_EXIT_OK);
}

enum { O_CC = 256, O_JSON, O_NETSIM, O_NETSIM_IN, O_VERSION };

static const struct option longopts[] = {
	{ "server", no_argument, 0, 's' },
	{ "once", no_argument, 0, '1' },
	{ "mode", required_argument, 0, 'm' },
	{ "bytes", required_argument, 0, 'n' },
	{ "time", required_argument, 0, 't' },
	{ "len", required_argument, 0, 'l' },
	{ "wait", required_argument, 0, 'w' },
	{ "cc", required_argument, 0, O_CC },
	{ "json", no_argument, 0, O_JSON },
	{ "netsim", required_argument, 0, O_NETSIM },
	{ "netsim-in", required_argument, 0, O_NETSIM_IN },
	{ "verbose", no_argument, 0, 'v' },
	{ "quiet", no_argument, 0, 'q' },
	{ "help", no_argument, 0, 'h' },
	{ "version", no_argument, 0, O_VERSION },
	TOOL_SEAL_LONGOPTS,
	{ 0, 0, 0, 0 },
};

static uint64_t parse_size(const char *opt, const char *s)
{
	char num[32];
	size_t l = strlen(s);
	uint64_t mul = 1;
	if (l > 0 && l < sizeof num) {
		switch (s[l - 1]) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		}
	}
	if (mul > 1) {
		memcpy(num, s, l - 1);
		num[l - 1] = 0;
		s = num;
	}
	return tool_parse_uint(opt, s, 1, UINT64_MAX / mul) * mul;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->bytes = 100ull << 20;
	o->len = 1200;
	o->wait = 5;
	o->cc = &rel_cc_bbr;
	o->cc_name = "bbr";
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s1m:n:t:l:w:k:vqh46", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = 1; break;
		case '1': o->once = 1; break;
		case 'm':
			if (!strcmp(optarg, "rel"))
				o->mode = M_REL;
			else if (!strcmp(optarg, "raw"))
				o->mode = M_RAW;
			else
				tool_usage_die("--mode: '%s' is not rel or raw", optarg);
			break;
		case 'n': o->bytes = parse_size("--bytes", optarg); break;
		case 't': o->secs = tool_parse_secs("--time", optarg); break;
		case 'l': o->len = (size_t)tool_parse_uint("--len", optarg, 8, 65000); break;
		case 'w': o->wait = tool_parse_secs("--wait", optarg); break;
		case O_CC:
			if (!strcmp(optarg, "bbr"))
				o->cc = &rel_cc_bbr;
			else if (!strcmp(optarg, "reno"))
				o->cc = &rel_cc_reno;
			else if (!strcmp(optarg, "none"))
				o->cc = NULL;
			else
				tool_usage_die("--cc: '%s' is not bbr, reno or none", optarg);
			o->cc_name = optarg;
			break;
		case O_JSON: o->json = 1; break;
		case O_NETSIM: tool_netsim_option(TOOL_NETSIM_OUT, "--netsim", optarg); break;
		case O_NETSIM_IN: tool_netsim_option(TOOL_NETSIM_IN, "--netsim-in", optarg); break;
		case 'v': tool_verbosity++; break;
		case 'q': tool_verbosity = -1; break;
		case 'h': usage();
		case '4': o->family_flags = UDP_ADDR_V4; break;
		case '6': o->family_flags = UDP_ADDR_V6; break;
		case O_VERSION: tool_version();
		TOOL_SEAL_CASES:
			tool_seal_option(c, optarg);
			o->sealed = 1;
			break;
		default: tool_bad_option(c, argv);
		}
	}
	if (o->bytes < o->len && o->secs <= 0)
		tool_usage_die("--bytes: less than one message of %zu bytes", o->len);
}

int main(int argc, char **argv)
{
	tool_init("udpbench");
	struct opts o;
	parse_opts(&o, argc, argv);
	argc -= optind;
	argv += optind;
	tool_signals_init();
	tool_netsim_env_check();
	struct udp_sock *s;
	int rc;
	if (o.server) {
		struct udp_addr local;
		int passive = UDP_ADDR_PASSIVE | o.family_flags;
		if (argc == 0)
			tool_resolve(&local, "", "0", passive);
		else if (argc == 1 && tool_is_combined(argv[0]))
			tool_resolve(&local, argv[0], NULL, passive);
		else if (argc == 1)
			tool_resolve(&local, "", argv[0], passive);
		else if (argc == 2)
			tool_resolve(&local, argv[0], argv[1], passive);
		else
			tool_usage_die("the server takes [HOST] PORT");
		if ((rc = udp_sock_open_bound(&s, &local, 0)) < 0)
			tool_die(TOOL_EXIT_ERR, "cannot bind: %s", udpkit_strerror(rc));
		tool_netsim_apply(s);
		tool_seal_apply(s);
		struct udp_addr bound;
		char b[128];
		(void)udp_sock_local_addr(s, &bound);
		tool_info("listening on %s", tool_addr_str(&bound, b, sizeof b));
		rc = o.mode == M_RAW ? raw_server(&o, s) : rel_server(&o, s);
	} else {
		struct udp_addr to;
		if (argc == 1 && tool_is_combined(argv[0]))
			tool_resolve(&to, argv[0], NULL, o.family_flags);
		else if (argc == 2)
			tool_resolve(&to, argv[0], argv[1], o.family_flags);
		else
			tool_usage_die("the client takes HOST PORT");
		if ((rc = udp_sock_open(&s, to.u.sa.sa_family, 0)) < 0)
			tool_die(TOOL_EXIT_ERR, "socket: %s", udpkit_strerror(rc));
		tool_netsim_apply(s);
		tool_seal_apply(s);
		rc = o.mode == M_RAW ? raw_client(&o, s, &to) : rel_client(&o, s, &to);
	}
	tool_netsim_finish(s);
	udp_sock_free(s);
	return rc;
}
