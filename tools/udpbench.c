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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_bench.h"
#include "tool_netsim.h"
#include "tool_rel.h"
#include "tool_seal.h"

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
	       "      --timeout SECS   rel: the peer is gone after SECS silent (default 10)\n"
	       "  -w, --wait SECS      give up after SECS without an answer (default 5)\n"
	       "      --json           one JSON object per result\n"
	       "      --stats          netsim and sealing counters on stderr at exit\n"
	       "      --netsim SPEC    impair what is sent, tc-netem words: 'loss 5%%'\n"
	       "      --netsim-in SPEC impair what is received\n"
	       "      --netsim-schedule T / --netsim-in-schedule T  a timeline of specs\n"
	       "                       ('0s loss 1%%; 5s loss 100%%; 8s loss 1%%', or @FILE)\n"
	       "  -4 / -6              IPv4 / IPv6 only\n"
	       TOOL_SEAL_HELP
	       "  -v, --verbose / -q, --quiet\n"
	       "  -h, --help / --version\n"
	       "Exit: 0 ok, 1 error, 2 bad usage, 3 no answer within -w.\n",
	       tool_name, tool_name);
	exit(TOOL_EXIT_OK);
}

enum { O_JSON = 256 };

static const struct option longopts[] = {
	{ "server", no_argument, 0, 's' },
	{ "once", no_argument, 0, '1' },
	{ "mode", required_argument, 0, 'm' },
	{ "bytes", required_argument, 0, 'n' },
	{ "time", required_argument, 0, 't' },
	{ "len", required_argument, 0, 'l' },
	{ "wait", required_argument, 0, 'w' },
	{ "json", no_argument, 0, O_JSON },
	TOOL_REL_CFG_LONGOPTS,
	TOOL_COMMON_LONGOPTS,
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

static void parse_opts(struct tool_bench_opts *o, int *stats, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->bytes = 100ull << 20;
	o->len = 1200;
	o->wait = 5;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s1m:n:t:l:w:k:vqh46", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = 1; break;
		case '1': o->once = 1; break;
		case 'm':
			if (!strcmp(optarg, "rel"))
				o->mode = TOOL_BENCH_REL;
			else if (!strcmp(optarg, "raw"))
				o->mode = TOOL_BENCH_RAW;
			else
				tool_usage_die("--mode: '%s' is not rel or raw", optarg);
			break;
		case 'n': o->bytes = parse_size("--bytes", optarg); break;
		case 't': o->secs = tool_parse_secs("--time", optarg); break;
		case 'l': o->len = (size_t)tool_parse_uint("--len", optarg, 8, 65000); break;
		case 'w': o->wait = tool_parse_secs("--wait", optarg); break;
		case O_JSON: o->json = 1; break;
		TOOL_REL_CFG_CASES: tool_rel_option(c, optarg); break;
		case 'h': usage();
		TOOL_COMMON_CASES: tool_common_option(c, optarg, stats); break;
		case '4': o->family_flags = UDP_ADDR_V4; break;
		case '6': o->family_flags = UDP_ADDR_V6; break;
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
	struct tool_bench_opts o;
	int stats = 0;
	parse_opts(&o, &stats, argc, argv);
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
		rc = o.mode == TOOL_BENCH_RAW ? tool_bench_raw_server(&o, s)
					       : tool_bench_rel_server(&o, s);
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
		rc = o.mode == TOOL_BENCH_RAW ? tool_bench_raw_client(&o, s, &to)
					       : tool_bench_rel_client(&o, s, &to);
	}
	tool_netsim_finish(s);
	if (stats) {
		tool_netsim_stats(s);
		tool_seal_stats(s);
	}
	udp_sock_free(s);
	return rc;
}
