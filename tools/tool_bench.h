/* tool_bench.h - udpbench's parts, linked into udpbench only.
 *
 * tool_bench_hist.c    latency histogram and its percentiles
 * tool_bench_report.c  one result: a line, or a JSON object, on stdout
 * tool_bench_rel.c     client and server over the reliable layer, with the
 *                      core the transfer tools run (tool_rel_open)
 * tool_bench_raw.c     client and server of plain datagrams
 *
 * udpbench.c holds the command line and main. */
#ifndef TOOL_BENCH_H
#define TOOL_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "tool_common.h"

enum tool_bench_mode { TOOL_BENCH_REL, TOOL_BENCH_RAW };

struct tool_bench_opts {
	int server, once, json, family_flags, sealed;
	enum tool_bench_mode mode;
	uint64_t bytes;   /* client: bytes to send (unless secs) */
	double secs;      /* client: seconds to send, 0: by bytes */
	double wait;      /* seconds without an answer before giving up */
	size_t len;       /* message length */
};

/* 16 linear steps per power of two, so a percentile is within 1/16 of the
 * truth with no per-sample memory. */
#define TOOL_BENCH_H_SUB 16
struct tool_bench_hist {
	uint64_t n[64 * TOOL_BENCH_H_SUB];
	uint64_t count, max;
};
void tool_bench_hist_add(struct tool_bench_hist *h, uint64_t v);
/* The p-th percentile (0-100), never above the largest sample. */
uint64_t tool_bench_hist_pct(const struct tool_bench_hist *h, double p);

struct tool_bench_result {
	const char *role;
	uint64_t bytes, msgs;
	double secs;
	uint64_t pkts_sent, retrans, timeouts, sent, lost; /* sent/lost: raw */
	uint64_t srtt_us;
	const struct tool_bench_hist *lat; /* rel client only */
};
void tool_bench_report(const struct tool_bench_opts *o, const struct tool_bench_result *r);

/* Each returns the exit code; the socket is open (bound for a server),
 * with netsim and key applied. */
int tool_bench_rel_client(const struct tool_bench_opts *o, struct udp_sock *s,
			  const struct udp_addr *to);
int tool_bench_rel_server(const struct tool_bench_opts *o, struct udp_sock *s);
int tool_bench_raw_client(const struct tool_bench_opts *o, struct udp_sock *s,
			  const struct udp_addr *to);
int tool_bench_raw_server(const struct tool_bench_opts *o, struct udp_sock *s);

#endif
