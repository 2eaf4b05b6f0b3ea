/* tool_bench_hist.c - udpbench's latency histogram (see tool_bench.h). */
#include "tool_bench.h"

#define H_SUB TOOL_BENCH_H_SUB

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

void tool_bench_hist_add(struct tool_bench_hist *h, uint64_t v)
{
	h->n[h_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

uint64_t tool_bench_hist_pct(const struct tool_bench_hist *h, double p)
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
