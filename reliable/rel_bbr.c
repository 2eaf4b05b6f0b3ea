/* rel_bbr.c - rel_cc_bbr: a model-based congestion controller in the
 * spirit of BBR.  It estimates the bottleneck bandwidth (the highest
 * delivery rate seen over the last 10 rounds) and the path's minimum RTT,
 * paces at gain * bandwidth and caps what is in flight at twice their
 * product.  Random loss says nothing about the bottleneck, so it does not
 * slow the flow down (loss-based halving collapses at a few per cent);
 * only heavy loss in a round (a third of it) is read as congestion.
 *
 * Delivery rate is measured from acks alone (the core gives the cc no
 * per-packet state): bytes newly acked over an interval of about one
 * min-RTT.  Such an interval is a "round" here; the filters, the startup
 * exit and the gain cycle all count in these rounds.
 *
 * Modes: STARTUP doubles the rate every round until the bandwidth stops
 * growing (3 rounds under +25 %); DRAIN empties the queue that built up;
 * PROBE_BW cycles the pacing gain 1.25, 0.75, then 1 for 6 rounds, so a
 * flow keeps probing for more and gives room to others (which is also
 * what makes flows converge to fair shares); PROBE_RTT drops to 4 packets
 * for 200 ms when the min-RTT is 10 s old, to see the path without queue. */
#include <stdint.h>

#include "rel_bbr.h"

enum { STARTUP, DRAIN, PROBE_BW, PROBE_RTT };

#define BW_ROUNDS 10               /* max filter length, rounds */
#define MIN_RTT_WIN 10000000ull    /* min-RTT expires after 10 s */
#define PROBE_RTT_US 200000ull     /* time spent at PROBE_RTT_PKTS */
#define PROBE_RTT_PKTS 4
#define MIN_CWND_PKTS 4
#define IW_PKTS 10
#define GAIN_UNIT 1000             /* gains are in thousandths */
#define HIGH_GAIN 2885             /* 2/ln 2: doubles the rate each round */
#define CWND_GAIN 2000
#define HEAVY_LOSS_DIV 3           /* lost > delivered+lost / 3: congestion */
#define LOSS_SAMPLE_PKTS 64        /* ... judged over at least this many packets */
/* A driver's timer (poll) ticks in milliseconds: below that the path is
 * as good as 1 ms long, and the window must cover a tick of sending, or
 * on loopback the flow starves between wakeups and its samples shrink.
 * (4 ms was tried: more bursts, more receive-buffer drops and timeouts.) */
#define TICK_US 1000

static const uint16_t cycle[8] = {1250, 750, 1000, 1000, 1000, 1000, 1000, 1000};

struct bbr {
	int mode;
	uint64_t bw[BW_ROUNDS];   /* per-round max delivery rate, bytes/s */
	uint64_t bw_max;          /* max of bw[], kept as bw[] changes (read per ack) */
	uint64_t round;           /* rounds since init */
	uint64_t round_start, round_delivered;
	uint64_t delivered, lost; /* bytes, since init */
	uint64_t loss_delivered, loss_lost; /* at the start of the loss sample */
	int limited;              /* the cc held data back during this round */
	uint64_t min_rtt, min_rtt_at;
	uint64_t full_bw;         /* startup: bandwidth at the last +25 % */
	int full_cnt, full_pipe;
	int phase;                /* PROBE_BW: index into cycle */
	uint64_t phase_at;
	uint64_t probe_rtt_end;   /* 0 until inflight got down to 4 packets */
	int prior_mode;
	uint64_t cwnd, next_send;
	uint64_t rate;            /* pacing rate, bytes/s, 0 = not paced yet */
	uint64_t burst_us;        /* catch-up allowance at that rate (may_send) */
	uint32_t pacing_gain, cwnd_gain;
	uint32_t mss;             /* the packet size the estimates were made with */
};

static void bw_changed(struct bbr *b)
{
	uint64_t m = 0;
	for (int i = 0; i < BW_ROUNDS; i++)
		m = b->bw[i] > m ? b->bw[i] : m;
	b->bw_max = m;
}

static uint64_t btl_bw(const struct bbr *b)
{
	return b->bw_max;
}

static uint64_t bdp(const struct bbr *b, const struct rel_cc_info *i)
{
	uint64_t bw = btl_bw(b);
	uint64_t iw = IW_PKTS * (uint64_t)i->mss;
	if (!bw || !b->min_rtt)
		return iw;
	uint64_t d = bw * (b->min_rtt > TICK_US ? b->min_rtt : TICK_US) / 1000000;
	return !b->full_pipe && d < iw ? iw : d;
}

/* What may be in flight: gain * BDP plus room for acks that come in
 * bunches (delayed or coalesced), never below a few packets. */
static uint64_t target_cwnd(const struct bbr *b, const struct rel_cc_info *i, uint32_t gain)
{
	uint64_t w = bdp(b, i) * gain / GAIN_UNIT + 3 * (uint64_t)i->mss;
	uint64_t floor = MIN_CWND_PKTS * (uint64_t)i->mss;
	return w > floor ? w : floor;
}

static uint64_t pacing_rate(const struct bbr *b, const struct rel_cc_info *i)
{
	uint64_t rtt = b->min_rtt ? b->min_rtt : i->srtt_us;
	/* a floor of one initial window per RTT: a thin, app-limited flow
	 * must not have its rare bursts (retransmissions) spread out */
	uint64_t floor = rtt ? IW_PKTS * (uint64_t)i->mss * 1000000 / rtt : 0;
	uint64_t bw = btl_bw(b);
	uint64_t r = bw * b->pacing_gain / GAIN_UNIT;
	if (!bw && rtt)
		r = b->cwnd * 1000000 / rtt * b->pacing_gain / GAIN_UNIT;
	return r > floor ? r : floor;
}

static void set_mode(struct bbr *b, int mode, uint64_t now)
{
	b->mode = mode;
	switch (mode) {
	case STARTUP:
		b->pacing_gain = b->cwnd_gain = HIGH_GAIN;
		break;
	case DRAIN:
		b->pacing_gain = GAIN_UNIT * GAIN_UNIT / HIGH_GAIN;
		b->cwnd_gain = HIGH_GAIN;
		break;
	case PROBE_BW:
		/* start anywhere but in the 0.75 phase, so flows that
		 * start together do not probe in step */
		b->phase = (int)((now >> 10) % 7);
		b->phase += b->phase >= 1;
		b->phase_at = now;
		b->pacing_gain = cycle[b->phase];
		b->cwnd_gain = CWND_GAIN;
		break;
	case PROBE_RTT:
		b->pacing_gain = GAIN_UNIT;
		b->cwnd_gain = CWND_GAIN;
		b->probe_rtt_end = 0;
		break;
	}
}

static void bbr_init(void *state, void *ctx, const struct rel_cc_info *info)
{
	struct bbr *b = state;
	(void)ctx;
	*b = (struct bbr){0};
	b->cwnd = IW_PKTS * (uint64_t)info->mss;
	b->mss = info->mss;
	set_mode(b, STARTUP, 0);
}

static int bbr_may_send(void *state, void *ctx, const struct rel_cc_info *info,
			size_t bytes, uint64_t now, uint64_t *wake)
{
	struct bbr *b = state;
	(void)ctx;
	uint64_t cwnd = b->cwnd;
	if (b->mode == PROBE_RTT && cwnd > PROBE_RTT_PKTS * (uint64_t)info->mss)
		cwnd = PROBE_RTT_PKTS * (uint64_t)info->mss;
	if (info->inflight_bytes > 0 && info->inflight_bytes + bytes > cwnd) {
		b->limited = 1;
		*wake = 0; /* until an ack makes room */
		return 0;
	}
	uint64_t rate = b->rate;
	if (!rate)
		return 1; /* no RTT yet: the initial window goes at once */
	if (now < b->next_send) {
		b->limited = 1;
		*wake = b->next_send;
		return 0;
	}
	uint64_t burst = b->burst_us;
	uint64_t base = b->next_send + burst > now ? b->next_send : now - burst;
	b->next_send = base + bytes * 1000000 / rate;
	return 1;
}

static void update_min_rtt(struct bbr *b, const struct rel_cc_info *i, uint64_t now)
{
	uint64_t r = i->latest_rtt_us;
	if (!r)
		return;
	int expired = b->min_rtt && now - b->min_rtt_at > MIN_RTT_WIN;
	if (!b->min_rtt || r <= b->min_rtt || expired) {
		b->min_rtt = r;
		b->min_rtt_at = now;
	}
	if (expired && b->mode != PROBE_RTT) {
		b->prior_mode = b->full_pipe ? PROBE_BW : STARTUP;
		set_mode(b, PROBE_RTT, now);
	}
}

/* End of a round: one delivery-rate sample, then the decisions that are
 * taken once per round. */
static void end_round(struct bbr *b, const struct rel_cc_info *i, uint64_t now)
{
	uint64_t dt = now - b->round_start;
	uint64_t got = b->delivered - b->round_delivered;
	uint64_t sample = got * 1000000 / dt;
	b->round++;
	uint64_t *slot = &b->bw[b->round % BW_ROUNDS];
	/* an app-limited round shows the application, not the path: it may
	 * only raise the estimate */
	*slot = 0;
	if (b->limited || sample > btl_bw(b))
		*slot = sample;
	bw_changed(b);
	/* Heavy loss means a queue is overflowing, not noise.  A round on a
	 * short path holds few packets, so the share is judged over enough
	 * of them that 20 % random loss does not look like 33 % by chance. */
	uint64_t ld = b->delivered - b->loss_delivered, ll = b->lost - b->loss_lost;
	if (ld + ll >= LOSS_SAMPLE_PKTS * (uint64_t)i->mss) {
		if (ll > (ld + ll) / HEAVY_LOSS_DIV) {
			for (int k = 0; k < BW_ROUNDS; k++)
				b->bw[k] = b->bw[k] * 85 / 100;
			bw_changed(b);
			b->full_pipe = 1;
		}
		b->loss_delivered = b->delivered;
		b->loss_lost = b->lost;
	}
	if (!b->full_pipe && b->limited) {
		uint64_t bw = btl_bw(b);
		if (bw >= b->full_bw + b->full_bw / 4) {
			b->full_bw = bw;
			b->full_cnt = 0;
		} else if (++b->full_cnt >= 3) {
			b->full_pipe = 1;
		}
	}
	if (b->mode == STARTUP && b->full_pipe)
		set_mode(b, DRAIN, now);
	b->round_start = now;
	b->round_delivered = b->delivered;
	b->limited = 0;
}

static void advance_mode(struct bbr *b, const struct rel_cc_info *i, uint64_t now)
{
	uint64_t rtt = b->min_rtt ? b->min_rtt : 1000;
	switch (b->mode) {
	case DRAIN:
		if (i->inflight_bytes <= target_cwnd(b, i, GAIN_UNIT))
			set_mode(b, PROBE_BW, now);
		break;
	case PROBE_BW:
		/* each phase lasts a min-RTT; the 0.75 phase ends early once
		 * the queue is gone */
		if (now - b->phase_at >= rtt ||
		    (b->phase == 1 && i->inflight_bytes <= bdp(b, i))) {
			b->phase = (b->phase + 1) % 8;
			b->phase_at = now;
			b->pacing_gain = cycle[b->phase];
		}
		break;
	case PROBE_RTT:
		if (!b->probe_rtt_end && i->inflight_bytes <= PROBE_RTT_PKTS * (uint64_t)i->mss)
			b->probe_rtt_end = now + (PROBE_RTT_US > rtt ? PROBE_RTT_US : rtt);
		if (b->probe_rtt_end && now >= b->probe_rtt_end) {
			b->min_rtt_at = now;
			set_mode(b, b->prior_mode, now);
		}
		break;
	}
}

/* Path MTU discovery confirmed a larger packet.  Before the pipe is known
 * to be full, what STARTUP has measured so far was limited by the window
 * of small packets it started with (10 of ~1 KiB, against 10 of 64 KiB on
 * loopback): start over from the initial window of the new size, as a
 * flow that had known the size from the start would have. */
static void mss_changed(struct bbr *b, const struct rel_cc_info *i)
{
	int grew = i->mss > b->mss;
	b->mss = i->mss; /* a shrink (black hole) keeps the estimates */
	if (!grew || b->full_pipe || b->mode != STARTUP)
		return;
	uint64_t iw = IW_PKTS * (uint64_t)i->mss;
	if (b->cwnd < iw)
		b->cwnd = iw;
	for (int k = 0; k < BW_ROUNDS; k++)
		b->bw[k] = 0;
	b->bw_max = 0;
	b->full_bw = 0;
	b->full_cnt = 0;
}

static void bbr_event(void *state, void *ctx, const struct rel_cc_info *info,
		      enum rel_cc_event ev, uint64_t bytes, uint64_t now)
{
	struct bbr *b = state;
	(void)ctx;
	switch (ev) {
	case REL_CC_SENT:
		if (!b->round_start)
			b->round_start = now;
		break;
	case REL_CC_ACKED: {
		if (info->mss != b->mss)
			mss_changed(b, info);
		b->delivered += bytes;
		update_min_rtt(b, info, now);
		uint64_t len = b->min_rtt ? b->min_rtt : info->srtt_us;
		if (len < TICK_US)
			len = TICK_US; /* rates over sub-tick intervals are noise */
		if (now - b->round_start >= len)
			end_round(b, info, now);
		advance_mode(b, info, now);
		uint64_t target = target_cwnd(b, info, b->cwnd_gain);
		if (b->full_pipe)
			b->cwnd = b->cwnd + bytes < target ? b->cwnd + bytes : target;
		else if (b->cwnd < target || b->delivered < IW_PKTS * (uint64_t)info->mss)
			b->cwnd += bytes;
		if (b->cwnd < MIN_CWND_PKTS * (uint64_t)info->mss)
			b->cwnd = MIN_CWND_PKTS * (uint64_t)info->mss;
		/* here, not per packet: may_send runs for every packet.
		 * Before the pipe is full the rate only goes up: a round's
		 * sample is short of the path (it measured the window of the
		 * round before, or packets of a size since outgrown) and must
		 * not slow down the search for the bottleneck. */
		uint64_t r = pacing_rate(b, info);
		if (b->full_pipe || r > b->rate)
			b->rate = r;
		/* A sender that slept past its slot may catch up by a small
		 * burst (a timer is coarser than a packet time at high
		 * rates), no more. */
		if (b->rate) {
			b->burst_us = 4 * (uint64_t)info->mss * 1000000 / b->rate;
			if (b->burst_us < 1000)
				b->burst_us = 1000;
		}
		break;
	}
	case REL_CC_LOST:
		b->lost += bytes;
		break;
	case REL_CC_TIMEOUT:
		/* everything in flight was declared lost and goes again, paced
		 * by the model; the estimate itself does not change */
		break;
	}
}

const struct rel_cc_ops rel_cc_bbr = {
	.state_size = sizeof(struct bbr),
	.init = bbr_init,
	.may_send = bbr_may_send,
	.on_event = bbr_event,
};
