/* tool_bench_report.c - one udpbench result on stdout: a line for people,
 * or one JSON object (--json) for scripts such as tests/bench/bench.sh. */
#include <inttypes.h>
#include <stdio.h>

#include "tool_bench.h"
#include "tool_rel.h"

void tool_bench_report(const struct tool_bench_opts *o, const struct tool_bench_result *r)
{
	double mbs = r->secs > 0 ? (double)r->bytes / r->secs / 1e6 : 0;
	if (o->json) {
		printf("{\"mode\":\"%s\",\"sealed\":%s,\"role\":\"%s\",\"bytes\":%" PRIu64
		       ",\"msgs\":%" PRIu64 ",\"msg_len\":%zu,\"seconds\":%.6f,\"goodput_MBps\":%.3f",
		       o->mode == TOOL_BENCH_RAW ? "raw" : "rel", o->sealed ? "true" : "false", r->role,
		       r->bytes, r->msgs, o->len, r->secs, mbs);
		if (o->mode == TOOL_BENCH_RAW) {
			printf(",\"sent\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"loss_pct\":%.3f", r->sent,
			       r->lost, r->sent ? 100.0 * (double)r->lost / (double)r->sent : 0);
		} else if (r->lat) {
			printf(",\"cc\":\"%s\",\"pkts_sent\":%" PRIu64 ",\"retransmits\":%" PRIu64
			       ",\"timeouts\":%" PRIu64 ",\"retrans_pct\":%.3f,\"srtt_us\":%" PRIu64,
			       tool_rel_opt.cc_name, r->pkts_sent, r->retrans, r->timeouts,
			       r->pkts_sent ? 100.0 * (double)r->retrans / (double)r->pkts_sent : 0,
			       r->srtt_us);
			printf(",\"latency_us\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
			       ",\"max\":%" PRIu64 "}",
			       tool_bench_hist_pct(r->lat, 50), tool_bench_hist_pct(r->lat, 90), tool_bench_hist_pct(r->lat, 99), r->lat->max);
		}
		printf("}\n");
	} else {
		printf("%s%s %s: %" PRIu64 " bytes in %.3f s = %.1f MB/s, %" PRIu64 " msgs",
		       o->mode == TOOL_BENCH_RAW ? "raw" : "rel", o->sealed ? " sealed" : "", r->role, r->bytes, r->secs, mbs, r->msgs);
		if (o->mode == TOOL_BENCH_RAW)
			printf(", %" PRIu64 " sent, %.2f %% lost", r->sent,
			       r->sent ? 100.0 * (double)r->lost / (double)r->sent : 0);
		else if (r->lat)
			printf(", cc %s, %" PRIu64 " packets, %" PRIu64 " retransmitted (%.2f %%), "
			       "latency p50 %.2f p90 %.2f p99 %.2f max %.2f ms",
			       tool_rel_opt.cc_name, r->pkts_sent, r->retrans,
			       r->pkts_sent ? 100.0 * (double)r->retrans / (double)r->pkts_sent : 0,
			       (double)tool_bench_hist_pct(r->lat, 50) / 1e3, (double)tool_bench_hist_pct(r->lat, 90) / 1e3,
			       (double)tool_bench_hist_pct(r->lat, 99) / 1e3, (double)r->lat->max / 1e3);
		printf("\n");
	}
	fflush(stdout);
}
