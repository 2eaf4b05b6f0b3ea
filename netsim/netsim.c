/* netsim.c - the simulator: a time-ordered queue of datagram copies,
 * fed by push(), drained by pop(), driven by the caller's clock.
 *
 * Every random choice has its own PRNG stream (loss, duplicate, corrupt,
 * reorder, delay), all derived from the one seed, so adding "delay 10ms"
 * to a spec does not change which packets "loss 5%" drops.
 *
 * Times are kept in nanoseconds inside so a rate's serialisation times
 * add up without rounding to whole microseconds on every packet.
 *
 * Determinism across machines: the model uses only integer arithmetic,
 * IEEE + - * / and sqrt (all exactly rounded), frexp and ldexp (exact);
 * no log, exp, pow or cos whose last bit varies between libms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "netsim.h"
#include "netsim_schedule.h"
#include "netsim_trace.h"
#include "netsim_rng.h"

enum { RNG_LOSS, RNG_DUP, RNG_CORRUPT, RNG_REORDER, RNG_DELAY, RNG_STREAMS };

/* A yes/no choice with tc's PERCENT [CORRELATION]. */
struct choice {
	double p;
	double corr;
	int last;
};

struct slot {
	uint64_t due_ns;
	uint64_t seq; /* push order: equal due times leave in push order */
	uint8_t *data;
	size_t len;
	size_t cap;
	struct udp_addr addr;
};

struct netsim {
	struct netsim_config cfg;
	int passthrough;
	struct netsim_rng rng[RNG_STREAMS];
	struct choice loss, dup, corrupt, reorder;
	int loss_state;       /* gemodel: 0 good, 1 bad; state: 1..4 */
	uint32_t gap_count;   /* delayed packets since the last reordered one */
	double last_z;        /* previous jitter deviate, for its correlation */
	int have_z;
	uint64_t last_departure_ns; /* rate: when the link is free again */
	struct netsim_trace *trace; /* rate trace: the opportunities, and */
	struct netsim_trace_cursor tcur; /* where the link is in them */
	/* A timeline (netsim_set_schedule): the phase in force (-1: before the
	 * first, -2: none applied yet) and time 0 of the run. */
	struct netsim_schedule *sched;
	int phase;
	int started;
	uint64_t origin_us;
	uint64_t seq;

	struct slot *slots;   /* grows up to cfg.limit, never shrinks */
	uint32_t nslots, slots_cap;
	uint32_t *heap;       /* slot indices, min-heap on (due_ns, seq) */
	uint32_t heap_len;
	uint32_t *freel;      /* slot indices whose buffers can be reused */
	uint32_t nfree;

	struct netsim_counters cnt;
};

/* CORRELATION is the chance of repeating the previous outcome instead of
 * drawing afresh.  That keeps the long-run rate at exactly PERCENT (netem
 * blends random numbers instead, which drags the rate; see NETSIM.md). */
static int decide(struct netsim_rng *r, struct choice *c)
{
	if (c->p <= 0.0)
		return 0;
	if (c->corr > 0.0 && netsim_rng_unit(r) < c->corr)
		return c->last;
	c->last = netsim_rng_unit(r) < c->p;
	return c->last;
}

/* ---- loss models ---- */

/* One packet is one step of the chain: move, then the new state says
 * whether this packet is lost. */
static int lose(struct netsim *ns)
{
	struct netsim_rng *r = &ns->rng[RNG_LOSS];
	const double *v = ns->cfg.loss;
	double u;
	switch (ns->cfg.loss_model) {
	case NETSIM_LOSS_NONE:
		return 0;
	case NETSIM_LOSS_RANDOM:
		return decide(r, &ns->loss);
	case NETSIM_LOSS_GEMODEL: /* v: p r 1-h 1-k */
		u = netsim_rng_unit(r);
		if (ns->loss_state == 0 && u < v[0])
			ns->loss_state = 1;
		else if (ns->loss_state == 1 && u < v[1])
			ns->loss_state = 0;
		return netsim_rng_unit(r) < (ns->loss_state ? v[2] : v[3]);
	case NETSIM_LOSS_STATE: /* v: p13 p31 p32 p23 p14 */
		u = netsim_rng_unit(r);
		switch (ns->loss_state) {
		case 1: /* good reception */
			if (u < v[0])
				ns->loss_state = 3;
			else if (u < v[0] + v[4])
				ns->loss_state = 4;
			break;
		case 2: /* good reception within a burst */
			if (u < v[3])
				ns->loss_state = 3;
			break;
		case 3: /* burst losses */
			if (u < v[1])
				ns->loss_state = 1;
			else if (u < v[1] + v[2])
				ns->loss_state = 2;
			break;
		default: /* 4: an isolated loss lasts one packet */
			ns->loss_state = 1;
			break;
		}
		return ns->loss_state >= 3;
	}
	return 0;
}

/* ---- delay distributions: deviates with mean 0 (see NETSIM.md) ---- */

/* Sum of 12 uniforms minus 6: mean 0, variance 1, bell-shaped within
 * +-6; exact arithmetic, unlike Box-Muller's log and cos. */
static double std_normal(struct netsim_rng *r)
{
	double s = 0.0;
	for (int i = 0; i < 12; i++)
		s += netsim_rng_unit(r);
	return s - 6.0;
}

/* Cube root of y >= 1 by Newton's method on the mantissa. */
static double cbrt_ge1(double y)
{
	int e;
	double m = frexp(y, &e);
	while (e % 3) {
		m *= 2.0;
		e--;
	}
	double t = 1.0; /* m is in [0.5, 4): its cube root in [0.79, 1.59] */
	for (int i = 0; i < 8; i++)
		t = (2.0 * t + m / (t * t)) / 3.0;
	return ldexp(t, e / 3);
}

/* Pareto with shape 3 (finite variance, heavy tail), shifted and scaled
 * to mean 0 and standard deviation 1: never below -0.577. */
static double std_pareto(struct netsim_rng *r)
{
	const double xm = 1.1547005383792515; /* 2/sqrt(3) makes the sd 1 */
	double u = 1.0 - netsim_rng_unit(r);          /* (0, 1] */
	return xm * (cbrt_ge1(1.0 / u) - 1.5);
}

static double jitter_z(struct netsim *ns)
{
	struct netsim_rng *r = &ns->rng[RNG_DELAY];
	if (ns->cfg.delay_corr > 0.0 && ns->have_z && netsim_rng_unit(r) < ns->cfg.delay_corr)
		return ns->last_z;
	double z;
	switch (ns->cfg.dist) {
	case NETSIM_DIST_NORMAL:
		z = std_normal(r);
		break;
	case NETSIM_DIST_PARETO:
		z = std_pareto(r);
		break;
	case NETSIM_DIST_PARETONORMAL:
		/* 1/sqrt(0.25^2 + 0.75^2) keeps the sd at 1 */
		z = (0.25 * std_normal(r) + 0.75 * std_pareto(r)) * 1.2649110640673518;
		break;
	default: /* uniform over [-1, 1): DELAY +- JITTER, as netem */
		z = 2.0 * netsim_rng_unit(r) - 1.0;
		break;
	}
	ns->last_z = z;
	ns->have_z = 1;
	return z;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t us_to_ns(uint64_t us)
{
	return us > UINT64_MAX / 1000 ? UINT64_MAX : us * 1000;
}

static uint64_t packet_delay_ns(struct netsim *ns)
{
	const struct netsim_config *c = &ns->cfg;
	if (c->jitter_ns == 0)
		return c->delay_ns;
	double d = (double)c->delay_ns + (double)c->jitter_ns * jitter_z(ns);
	return d <= 0.0 ? 0 : (uint64_t)(d + 0.5);
}

/* Time the link needs to send len bytes, with tc's overhead and cells. */
static uint64_t serialise_ns(const struct netsim_config *c, size_t len)
{
	int64_t bytes = (int64_t)len + c->rate_overhead;
	if (bytes < 0)
		bytes = 0;
	if (c->rate_cell) {
		int64_t cells = (bytes + c->rate_cell - 1) / c->rate_cell;
		bytes = cells * ((int64_t)c->rate_cell + c->rate_cell_overhead);
		if (bytes < 0)
			bytes = 0;
	}
	return (uint64_t)((double)bytes * 8e9 / (double)c->rate_bps + 0.5);
}

/* ---- the queue: a binary min-heap of slot indices ---- */

static int before(const struct netsim *ns, uint32_t a, uint32_t b)
{
	const struct slot *x = &ns->slots[a], *y = &ns->slots[b];
	return x->due_ns < y->due_ns || (x->due_ns == y->due_ns && x->seq < y->seq);
}

static void heap_up(struct netsim *ns, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!before(ns, ns->heap[i], ns->heap[parent]))
			break;
		uint32_t t = ns->heap[i];
		ns->heap[i] = ns->heap[parent];
		ns->heap[parent] = t;
		i = parent;
	}
}

static void heap_down(struct netsim *ns, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < ns->heap_len && before(ns, ns->heap[l], ns->heap[m]))
			m = l;
		if (r < ns->heap_len && before(ns, ns->heap[r], ns->heap[m]))
			m = r;
		if (m == i)
			return;
		uint32_t t = ns->heap[i];
		ns->heap[i] = ns->heap[m];
		ns->heap[m] = t;
		i = m;
	}
}

/* A slot whose buffer holds len bytes: a freed one if any, else a new
 * one; arrays grow by doubling, so memory follows the deepest queue. */
static int get_slot(struct netsim *ns, size_t len, uint32_t *out)
{
	uint32_t idx;
	if (ns->nfree > 0) {
		idx = ns->freel[--ns->nfree];
	} else {
		if (ns->nslots == ns->slots_cap) {
			uint32_t cap = ns->slots_cap ? ns->slots_cap * 2 : 16;
			if (cap > ns->cfg.limit)
				cap = ns->cfg.limit;
			struct slot *s = realloc(ns->slots, cap * sizeof *s);
			if (!s)
				return UDP_ENOMEM;
			ns->slots = s;
			uint32_t *h = realloc(ns->heap, cap * sizeof *h);
			if (!h)
				return UDP_ENOMEM;
			ns->heap = h;
			uint32_t *f = realloc(ns->freel, cap * sizeof *f);
			if (!f)
				return UDP_ENOMEM;
			ns->freel = f;
			ns->slots_cap = cap;
		}
		idx = ns->nslots++;
		memset(&ns->slots[idx], 0, sizeof ns->slots[idx]);
	}
	struct slot *s = &ns->slots[idx];
	if (s->cap < len) {
		uint8_t *d = realloc(s->data, len);
		if (!d) {
			ns->freel[ns->nfree++] = idx;
			return UDP_ENOMEM;
		}
		s->data = d;
		s->cap = len;
	}
	*out = idx;
	return 0;
}

static int enqueue(struct netsim *ns, uint64_t now, const void *pkt, size_t len,
		   const struct udp_addr *addr)
{
	const struct netsim_config *c = &ns->cfg;
	uint32_t idx;
	if (ns->heap_len >= c->limit) {
		ns->cnt.queue_drops++;
		return UDP_ENETSIM_FULL;
	}
	int rc = get_slot(ns, len, &idx);
	if (rc < 0) {
		ns->cnt.queue_drops++; /* keeps the counters' sum right */
		return rc;
	}
	struct slot *s = &ns->slots[idx];
	if (len > 0)
		memcpy(s->data, pkt, len);
	s->len = len;
	if (addr)
		s->addr = *addr;
	else
		memset(&s->addr, 0, sizeof s->addr);

	if (len > 0 && decide(&ns->rng[RNG_CORRUPT], &ns->corrupt)) {
		uint64_t x = netsim_rng_next(&ns->rng[RNG_CORRUPT]);
		s->data[(x >> 3) % len] ^= (uint8_t)(1u << (x & 7));
		ns->cnt.corrupted++;
	}

	/* netem: once gap-1 packets have been delayed, each packet may be
	 * sent at once, overtaking the delayed ones. */
	if ((c->given & NETSIM_GIVEN_REORDER) && ns->gap_count + 1 >= c->gap &&
	    decide(&ns->rng[RNG_REORDER], &ns->reorder)) {
		s->due_ns = now;
		ns->gap_count = 0;
		ns->cnt.reordered++;
	} else {
		uint64_t due = sat_add(now, packet_delay_ns(ns));
		if (c->rate_bps) {
			/* the link sends one packet at a time: this one starts
			 * when both its delay and the previous packet are done,
			 * which also keeps jittered packets in order */
			if (due < ns->last_departure_ns)
				due = ns->last_departure_ns;
			due = sat_add(due, serialise_ns(c, len));
			ns->last_departure_ns = due;
		} else if (ns->trace) {
			/* one packet at a time too, each when the trace has room */
			if (due < ns->last_departure_ns)
				due = ns->last_departure_ns;
			due = netsim_trace_depart(ns->trace, &ns->tcur, due, len);
			ns->last_departure_ns = due;
		}
		s->due_ns = due;
		if (ns->gap_count < UINT32_MAX)
			ns->gap_count++;
	}
	if (s->due_ns > now)
		ns->cnt.delayed++;
	s->seq = ns->seq++;
	ns->heap[ns->heap_len] = idx;
	heap_up(ns, ns->heap_len++);
	ns->cnt.queued++;
	return 0;
}

/* ---- public ---- */

static int prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* false for NaN */
}

static int config_ok(const struct netsim_config *c)
{
	if (c->limit < 1 || c->limit > NETSIM_LIMIT_MAX)
		return 0;
	if ((unsigned)c->dist > NETSIM_DIST_PARETONORMAL ||
	    (unsigned)c->loss_model > NETSIM_LOSS_STATE)
		return 0;
	if (c->delay_ns > 4294967295000ull || c->jitter_ns > 4294967295000ull)
		return 0;
	if (c->rate_bps > 1000000000000000ull || c->gap < 1 || c->mtu > NETSIM_MAX_PKT)
		return 0;
	if (!memchr(c->rate_trace, '\0', sizeof c->rate_trace) || (c->rate_trace[0] && c->rate_bps))
		return 0;
	const double p[] = {c->delay_corr, c->loss[0], c->loss[1], c->loss[2], c->loss[3],
			    c->loss[4], c->corrupt, c->corrupt_corr, c->duplicate,
			    c->duplicate_corr, c->reorder, c->reorder_corr};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		if (!prob_ok(p[i]))
			return 0;
	return 1;
}

static void restart_random(struct netsim *ns)
{
	for (unsigned i = 0; i < RNG_STREAMS; i++)
		netsim_rng_seed(&ns->rng[i], ns->cfg.seed, i);
	ns->loss.last = ns->dup.last = ns->corrupt.last = ns->reorder.last = 0;
	ns->loss_state = ns->cfg.loss_model == NETSIM_LOSS_STATE ? 1 : 0;
	ns->gap_count = 0;
	ns->have_z = 0;
	ns->last_z = 0.0;
}

int netsim_new_config(struct netsim **out, const struct netsim_config *cfg)
{
	if (!out || !cfg)
		return UDP_EINVAL;
	*out = NULL;
	struct netsim_config c = *cfg;
	if (!(c.given & NETSIM_GIVEN_REORDER))
		c.gap = c.gap ? c.gap : 1;
	if (!config_ok(&c))
		return UDP_EINVAL;
	struct netsim *ns = calloc(1, sizeof *ns);
	if (!ns)
		return UDP_ENOMEM;
	ns->cfg = c;
	ns->loss = (struct choice){c.loss[0], c.loss[1], 0};
	ns->dup = (struct choice){c.duplicate, c.duplicate_corr, 0};
	ns->corrupt = (struct choice){c.corrupt, c.corrupt_corr, 0};
	ns->reorder = (struct choice){c.reorder, c.reorder_corr, 0};
	int loss_off = c.loss_model == NETSIM_LOSS_NONE ||
		       (c.loss_model == NETSIM_LOSS_RANDOM && c.loss[0] == 0.0);
	ns->passthrough = loss_off && c.delay_ns == 0 && c.jitter_ns == 0 &&
			  c.duplicate == 0.0 && c.corrupt == 0.0 && c.rate_bps == 0 &&
			  !c.rate_trace[0] && c.mtu == 0 && !(c.given & NETSIM_GIVEN_REORDER);
	if (c.rate_trace[0]) {
		int rc = netsim_trace_load(&ns->trace, c.rate_trace, NULL, 0);
		if (rc < 0) {
			free(ns);
			return rc;
		}
	}
	restart_random(ns);
	*out = ns;
	return 0;
}

int netsim_new(struct netsim **out, const char *spec, char *err, size_t errlen)
{
	struct netsim_config cfg;
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	int rc = netsim_parse(&cfg, spec, err, errlen);
	if (rc < 0)
		return rc;
	return netsim_new_config(out, &cfg);
}

void netsim_free(struct netsim *ns)
{
	if (!ns)
		return;
	for (uint32_t i = 0; i < ns->nslots; i++)
		free(ns->slots[i].data);
	free(ns->slots);
	free(ns->heap);
	free(ns->freel);
	netsim_trace_free(ns->trace);
	free(ns->sched);
	free(ns);
}

/* A phase's model takes over: the queue, the link's departure clock and the
 * random streams go on (so queued datagrams leave when they were due and
 * one seed still drives the whole run); only what is decided for new
 * datagrams changes. */
static void take_config(struct netsim *ns, const struct netsim_config *next)
{
	struct netsim_config c = *next;
	c.seed = ns->cfg.seed;
	c.given = (c.given & ~(unsigned)NETSIM_GIVEN_SEED) | (ns->cfg.given & NETSIM_GIVEN_SEED);
	if (!(c.given & NETSIM_GIVEN_REORDER))
		c.gap = 1;
	if (c.loss_model != ns->cfg.loss_model)
		ns->loss_state = c.loss_model == NETSIM_LOSS_STATE ? 1 : 0;
	ns->cfg = c;
	ns->loss = (struct choice){c.loss[0], c.loss[1], ns->loss.last};
	ns->dup = (struct choice){c.duplicate, c.duplicate_corr, ns->dup.last};
	ns->corrupt = (struct choice){c.corrupt, c.corrupt_corr, ns->corrupt.last};
	ns->reorder = (struct choice){c.reorder, c.reorder_corr, ns->reorder.last};
}

static void follow_schedule(struct netsim *ns, uint64_t now_us)
{
	if (!ns->started) {
		ns->started = 1;
		ns->origin_us = now_us;
	}
	uint64_t t = now_us >= ns->origin_us ? now_us - ns->origin_us : 0;
	int p = netsim_schedule_phase_at(ns->sched, t);
	if (p == ns->phase)
		return;
	struct netsim_config none;
	netsim_config_default(&none);
	take_config(ns, p < 0 ? &none : &ns->sched->phase[p].cfg);
	ns->phase = p;
}

int netsim_set_schedule(struct netsim *ns, const struct netsim_schedule *sched)
{
	if (!ns || !sched || sched->n == 0 || sched->n > NETSIM_SCHEDULE_MAX)
		return UDP_EINVAL;
	for (unsigned i = 0; i < sched->n; i++) {
		struct netsim *probe;
		/* each phase must make a model on its own; a trace would need its
		 * file read at the switch, in the middle of a run: refused */
		if (sched->phase[i].cfg.rate_trace[0] || netsim_new_config(&probe, &sched->phase[i].cfg) < 0)
			return UDP_EINVAL;
		netsim_free(probe);
	}
	struct netsim_schedule *copy = malloc(sizeof *copy);
	if (!copy)
		return UDP_ENOMEM;
	*copy = *sched;
	free(ns->sched);
	ns->sched = copy;
	ns->phase = -2;
	ns->passthrough = 0; /* what holds now may change later */
	if (sched->phase[0].cfg.given & NETSIM_GIVEN_SEED)
		netsim_reseed(ns, sched->phase[0].cfg.seed);
	return 0;
}

void netsim_start_at(struct netsim *ns, uint64_t now_us)
{
	if (ns && ns->sched && !ns->started) {
		ns->started = 1;
		ns->origin_us = now_us;
	}
}

int netsim_schedule_phase(const struct netsim *ns)
{
	return ns && ns->sched ? (ns->phase == -2 ? -1 : ns->phase) : -1;
}

int netsim_push(struct netsim *ns, uint64_t now_us, const void *pkt, size_t len,
		    const struct udp_addr *addr)
{
	if (!ns || (!pkt && len > 0))
		return UDP_EINVAL;
	if (len > NETSIM_MAX_PKT)
		return UDP_ETOOBIG;
	if (ns->sched)
		follow_schedule(ns, now_us);
	uint64_t now = us_to_ns(now_us);
	ns->cnt.in++;
	ns->cnt.bytes_in += len;
	/* A path with a smaller MTU drops what does not fit before anything
	 * else happens to it, so no random draw is spent on it and the rest of
	 * the run stays the same as without the oversized datagram. */
	if (ns->cfg.mtu && len > ns->cfg.mtu) {
		ns->cnt.too_big++;
		return 0;
	}
	int copies = 1;
	if (decide(&ns->rng[RNG_DUP], &ns->dup)) {
		copies = 2;
		ns->cnt.duplicated++;
	}
	int rc = 0;
	/* each copy meets the loss model and the queue on its own, as
	 * netem's duplicate goes through the qdisc again */
	for (int i = 0; i < copies; i++) {
		if (lose(ns)) {
			ns->cnt.lost++;
			continue;
		}
		int r = enqueue(ns, now, pkt, len, addr);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

int netsim_pop(struct netsim *ns, uint64_t now_us, void *buf, size_t cap, size_t *len,
		   struct udp_addr *addr)
{
	if (!ns || !len || (!buf && cap > 0))
		return UDP_EINVAL;
	if (ns->heap_len == 0)
		return 0;
	uint32_t idx = ns->heap[0];
	struct slot *s = &ns->slots[idx];
	if (s->due_ns > us_to_ns(now_us))
		return 0;
	*len = s->len;
	if (s->len > cap)
		return UDP_ENOSPACE;
	if (s->len > 0)
		memcpy(buf, s->data, s->len);
	if (addr)
		*addr = s->addr;
	ns->heap[0] = ns->heap[--ns->heap_len];
	heap_down(ns, 0);
	ns->freel[ns->nfree++] = idx;
	ns->cnt.queued--;
	ns->cnt.passed++;
	ns->cnt.bytes_passed += s->len;
	return 1;
}

uint64_t netsim_next_due(const struct netsim *ns)
{
	if (!ns || ns->heap_len == 0)
		return UINT64_MAX;
	uint64_t due = ns->slots[ns->heap[0]].due_ns;
	return due / 1000 + (due % 1000 != 0);
}

void netsim_counters(const struct netsim *ns, struct netsim_counters *out)
{
	if (!out)
		return;
	if (!ns)
		memset(out, 0, sizeof *out);
	else
		*out = ns->cnt;
}

int netsim_is_passthrough(const struct netsim *ns)
{
	return ns ? ns->passthrough : 1;
}

int netsim_has_seed(const struct netsim *ns)
{
	return ns && (ns->cfg.given & NETSIM_GIVEN_SEED) != 0;
}

uint64_t netsim_seed(const struct netsim *ns)
{
	return ns ? ns->cfg.seed : NETSIM_SEED_DEFAULT;
}

void netsim_reseed(struct netsim *ns, uint64_t seed)
{
	if (!ns)
		return;
	ns->cfg.seed = seed;
	ns->cfg.given |= NETSIM_GIVEN_SEED;
	restart_random(ns);
}

int netsim_describe(const struct netsim *ns, char *buf, size_t cap)
{
	if (!ns || (!buf && cap > 0))
		return UDP_EINVAL;
	return netsim_config_describe(&ns->cfg, buf, cap);
}
