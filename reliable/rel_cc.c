/* rel_cc.c - rel_cc_reno: a NewReno-style congestion window (RFC 5681
 * slow start and congestion avoidance, one reduction per round trip) with
 * pacing, behind the struct rel_cc_ops hook of rel.h. */
#include <stdint.h>

#include "rel.h"

struct reno {
	uint64_t cwnd, ssthresh;
	uint64_t recover_until; /* no second reduction before then */
	uint64_t next_send;     /* pacing */
};

#define RENO_IW 10 /* initial window, packets (RFC 6928) */

static uint64_t min_cwnd(const struct rel_cc_info *i)
{
	return 2 * (uint64_t)i->mss;
}

static void reno_init(void *state, void *ctx, const struct rel_cc_info *info)
{
	struct reno *r = state;
	(void)ctx;
	r->cwnd = RENO_IW * (uint64_t)info->mss;
	r->ssthresh = UINT64_MAX;
	r->recover_until = 0;
	r->next_send = 0;
}

static int reno_may_send(void *state, void *ctx, const struct rel_cc_info *info,
			 size_t bytes, uint64_t now, uint64_t *wake)
{
	struct reno *r = state;
	(void)ctx;
	if (info->inflight_bytes + bytes > r->cwnd && info->inflight_bytes > 0) {
		*wake = 0; /* wait for an ack */
		return 0;
	}
	if (info->srtt_us && now < r->next_send) {
		*wake = r->next_send;
		return 0;
	}
	if (info->srtt_us) {
		/* spread a window over the RTT: 2x in slow start, 1.25x after */
		uint64_t gain_x4 = r->cwnd < r->ssthresh ? 8 : 5;
		uint64_t gap = bytes * info->srtt_us * 4 / (r->cwnd * gain_x4);
		r->next_send = (r->next_send > now ? r->next_send : now) + gap;
	}
	return 1;
}

static void reno_event(void *state, void *ctx, const struct rel_cc_info *info,
		       enum rel_cc_event ev, uint64_t bytes, uint64_t now)
{
	struct reno *r = state;
	(void)ctx;
	uint64_t rtt = info->srtt_us ? info->srtt_us : 100000;
	switch (ev) {
	case REL_CC_SENT:
		break;
	case REL_CC_ACKED:
		if (now < r->recover_until)
			break;
		if (r->cwnd < r->ssthresh)
			r->cwnd += bytes;
		else
			r->cwnd += bytes * info->mss / r->cwnd + 1;
		break;
	case REL_CC_LOST:
		if (now < r->recover_until)
			break;
		r->ssthresh = r->cwnd / 2 > min_cwnd(info) ? r->cwnd / 2 : min_cwnd(info);
		r->cwnd = r->ssthresh;
		r->recover_until = now + rtt;
		break;
	case REL_CC_TIMEOUT:
		r->ssthresh = r->cwnd / 2 > min_cwnd(info) ? r->cwnd / 2 : min_cwnd(info);
		r->cwnd = min_cwnd(info);
		r->recover_until = now + rtt;
		break;
	}
}

const struct rel_cc_ops rel_cc_reno = {
	.state_size = sizeof(struct reno),
	.init = reno_init,
	.may_send = reno_may_send,
	.on_event = reno_event,
};
