/* support_relsim.c - the simulated network of support_relsim.h. */
#include <stdlib.h>
#include <string.h>

#include "support_relsim.h"
#include "udp_err.h"

/* Who sent a datagram and to whom travels in the address netsim carries
 * beside it, so a bit flipped by `corrupt` hits the payload only. */
struct hop {
	int from, to;
};

struct wire {
	struct netsim *ns;
	struct netsim_counters seen; /* counted into sim_stats so far */
};

/* sim_inject()'s datagrams, which pass no link. */
struct injected {
	uint64_t at, order;
	struct hop hop;
	size_t len;
	uint8_t *data;
};

struct sim {
	struct sim_link link;     /* the default links' description */
	uint64_t seed, now, order;
	unsigned generation;      /* bumped by sim_set_link: fresh seeds */
	struct rel_core *nodes[SIM_MAX_NODES];
	uint8_t addrs[SIM_MAX_NODES][REL_ADDR_MAX]; /* a node's datagrams come from */
	size_t alens[SIM_MAX_NODES];
	uint8_t rx[SIM_MAX_NODES][2][REL_ADDR_MAX]; /* addresses that reach it */
	size_t rxlens[SIM_MAX_NODES][2];
	int n;
	int route[SIM_MAX_NODES][SIM_MAX_NODES]; /* wire index, -1: default not made yet */
	int custom[SIM_MAX_NODES][SIM_MAX_NODES]; /* set by sim_route: sim_set_link leaves it */
	struct wire *wires;       /* never shrinks: retired wires still drain */
	int nwires, wires_cap;
	struct injected *inj;
	size_t ninj, inj_cap;
	uint8_t *buf;             /* one datagram popped from a wire */
	size_t buf_cap;
	sim_tap_fn tap;
	void *tap_ctx;
	struct sim_stats st;
};

int sim_link_config(const struct sim_link *l, uint64_t seed, struct netsim_config *cfg)
{
	netsim_config_default(cfg);
	if (l && l->netem) {
		int rc = netsim_parse(cfg, l->netem, NULL, 0);
		if (rc < 0)
			return rc;
		if (!(cfg->given & NETSIM_GIVEN_SEED))
			cfg->seed = seed;
		return 0;
	}
	cfg->seed = seed;
	cfg->limit = NETSIM_LIMIT_MAX; /* the old sim had no queue limit */
	if (!l)
		return 0;
	if (l->loss > 0) {
		cfg->given |= NETSIM_GIVEN_LOSS;
		cfg->loss_model = NETSIM_LOSS_RANDOM;
		cfg->loss[0] = l->loss;
	}
	if (l->dup > 0) {
		cfg->given |= NETSIM_GIVEN_DUPLICATE;
		cfg->duplicate = l->dup;
	}
	if (l->corrupt > 0) {
		cfg->given |= NETSIM_GIVEN_CORRUPT;
		cfg->corrupt = l->corrupt;
	}
	if (l->reorder > 0) {
		cfg->given |= NETSIM_GIVEN_REORDER;
		cfg->reorder = l->reorder;
		cfg->gap = 1; /* every packet may overtake, as tc without gap */
	}
	if (l->delay_us || l->jitter_us) {
		/* [delay, delay + jitter] as netem's centre +- half width; in
		 * ns, so an odd jitter loses nothing */
		cfg->given |= NETSIM_GIVEN_DELAY;
		cfg->delay_ns = l->delay_us * 1000 + l->jitter_us * 500;
		cfg->jitter_ns = l->jitter_us * 500;
	}
	return 0;
}

static int check_link(const struct sim_link *l)
{
	struct netsim_config cfg;
	struct netsim *ns;
	int rc = sim_link_config(l, 0, &cfg);
	if (rc < 0)
		return rc;
	rc = netsim_new_config(&ns, &cfg);
	netsim_free(ns);
	return rc;
}

struct sim *sim_new(uint64_t seed, const struct sim_link *link)
{
	if (check_link(link) < 0)
		return NULL;
	struct sim *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->seed = seed;
	if (link)
		s->link = *link;
	memset(s->route, -1, sizeof s->route);
	s->now = 1000000; /* start at t = 1 s */
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nwires; i++)
		netsim_free(s->wires[i].ns);
	free(s->wires);
	for (size_t i = 0; i < s->ninj; i++)
		free(s->inj[i].data);
	free(s->inj);
	free(s->buf);
	free(s);
}

int sim_add(struct sim *s, struct rel_core *core)
{
	if (s->n == SIM_MAX_NODES)
		return -1;
	int i = s->n++;
	s->nodes[i] = core;
	s->addrs[i][0] = 'N';
	s->addrs[i][1] = (uint8_t)i;
	s->alens[i] = 4;
	memcpy(s->rx[i][0], s->addrs[i], 4);
	s->rxlens[i][0] = 4;
	return i;
}

const uint8_t *sim_addr(const struct sim *s, int node, size_t *len)
{
	*len = s->alens[node];
	return s->addrs[node];
}

int sim_set_addr(struct sim *s, int node, const void *addr, size_t len, enum sim_addr_mode mode)
{
	if (node < 0 || node >= s->n || len == 0 || len > REL_ADDR_MAX)
		return UDP_EINVAL;
	if (mode == SIM_ADDR_KEEP) {
		memcpy(s->rx[node][1], s->addrs[node], s->alens[node]);
		s->rxlens[node][1] = s->alens[node];
	} else {
		s->rxlens[node][1] = 0;
	}
	if (mode != SIM_ADDR_DEAF) {
		memcpy(s->rx[node][0], addr, len);
		s->rxlens[node][0] = len;
	}
	memcpy(s->addrs[node], addr, len);
	s->alens[node] = len;
	return 0;
}

void sim_set_tap(struct sim *s, sim_tap_fn fn, void *ctx)
{
	s->tap = fn;
	s->tap_ctx = ctx;
}

static int wire_new(struct sim *s, const struct sim_link *l, uint64_t seed)
{
	struct netsim_config cfg;
	int rc = sim_link_config(l, seed, &cfg);
	if (rc < 0)
		return rc;
	if (s->nwires == s->wires_cap) {
		int cap = s->wires_cap ? 2 * s->wires_cap : 8;
		struct wire *w = realloc(s->wires, (size_t)cap * sizeof *w);
		if (!w)
			return UDP_ENOMEM;
		s->wires = w;
		s->wires_cap = cap;
	}
	struct wire *w = &s->wires[s->nwires];
	memset(w, 0, sizeof *w);
	rc = netsim_new_config(&w->ns, &cfg);
	if (rc < 0)
		return rc;
	return s->nwires++;
}

int sim_set_link(struct sim *s, const struct sim_link *link)
{
	int rc = check_link(link);
	if (rc < 0)
		return rc;
	s->link = *link;
	s->generation++;
	for (int f = 0; f < SIM_MAX_NODES; f++)
		for (int t = 0; t < SIM_MAX_NODES; t++)
			if (!s->custom[f][t])
				s->route[f][t] = -1; /* the old wire drains, unrouted */
	return 0;
}

int sim_link_add(struct sim *s, const struct sim_link *link)
{
	uint64_t x = s->seed ^ 0x6c696e6b00000000ull ^ (uint64_t)s->nwires;
	return wire_new(s, link, netsim_rng_mix(&x));
}

int sim_route(struct sim *s, int from, int to, int link)
{
	if (from < 0 || to < 0 || from >= SIM_MAX_NODES || to >= SIM_MAX_NODES ||
	    link < 0 || link >= s->nwires)
		return UDP_EINVAL;
	s->route[from][to] = link;
	s->custom[from][to] = 1;
	return 0;
}

void sim_link_counters(const struct sim *s, int link, struct netsim_counters *out)
{
	netsim_counters(link >= 0 && link < s->nwires ? s->wires[link].ns : NULL, out);
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

void sim_set_now(struct sim *s, uint64_t now)
{
	s->now = now;
}

const struct sim_stats *sim_stats(const struct sim *s)
{
	return &s->st;
}

void sim_inject(struct sim *s, int from, int to, const uint8_t *data, size_t len, uint64_t delay)
{
	if (s->ninj == s->inj_cap) {
		size_t cap = s->inj_cap ? 2 * s->inj_cap : 16;
		struct injected *p = realloc(s->inj, cap * sizeof *p);
		if (!p)
			return;
		s->inj = p;
		s->inj_cap = cap;
	}
	struct injected p = {.at = s->now + delay, .order = s->order++, .hop = {from, to}, .len = len};
	p.data = malloc(len ? len : 1);
	if (!p.data)
		return;
	memcpy(p.data, data, len);
	s->inj[s->ninj++] = p;
}

/* The wire from -> to, made on first use from the default description
 * with a seed of its own, so the two directions are not mirror images. */
static int wire_of(struct sim *s, int from, int to)
{
	int w = s->route[from][to];
	if (w >= 0)
		return w;
	uint64_t x = s->seed ^ ((uint64_t)s->generation << 32 | (uint64_t)from << 8 | (uint64_t)to);
	w = wire_new(s, &s->link, netsim_rng_mix(&x));
	if (w >= 0)
		s->route[from][to] = w;
	return w;
}

/* Adds what the wire's model did since it was last looked at. */
static void tally(struct sim *s, struct wire *w)
{
	struct netsim_counters c;
	netsim_counters(w->ns, &c);
	s->st.lost += (c.lost - w->seen.lost) + (c.queue_drops - w->seen.queue_drops);
	s->st.dups += c.duplicated - w->seen.duplicated;
	s->st.reordered += c.reordered - w->seen.reordered;
	s->st.corrupted += c.corrupted - w->seen.corrupted;
	w->seen = c;
}

static void transmit(struct sim *s, int from, int to, const uint8_t *data, size_t len)
{
	s->st.sent++;
	int w = wire_of(s, from, to);
	if (w < 0)
		return; /* out of memory: as if lost */
	struct udp_addr a;
	struct hop h = {from, to};
	memset(&a, 0, sizeof a);
	memcpy(&a.u, &h, sizeof h);
	a.len = sizeof h;
	/* a full queue drops it: counted by the netsim */
	(void)netsim_push(s->wires[w].ns, s->now, data, len, &a);
	tally(s, &s->wires[w]);
}

static int node_by_addr(const struct sim *s, const uint8_t *a, size_t len)
{
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < 2; j++)
			if (len == s->rxlens[i][j] && !memcmp(a, s->rx[i][j], len))
				return i;
	return -1;
}

static void pump(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct rel_core *c = s->nodes[i];
		size_t n = rel_out_pending(c);
		for (size_t k = 0; k < n; k++) {
			struct rel_dgram d;
			if (rel_out_peek(c, k, &d) < 0)
				break;
			int to = node_by_addr(s, d.addr, d.addr_len);
			if (s->tap)
				s->tap(s->tap_ctx, i, to, d.data, d.len);
			if (to >= 0)
				transmit(s, i, to, d.data, d.len);
		}
		rel_out_pop(c, n);
	}
}

/* Lets every core fill its out-queue as often as it wants right now. */
static void settle(struct sim *s)
{
	for (int round = 0; round < 100000; round++) {
		int busy = 0;
		pump(s);
		for (int i = 0; i < s->n; i++) {
			if (rel_next_deadline(s->nodes[i]) <= s->now) {
				rel_update(s->nodes[i], s->now);
				busy = 1;
			}
		}
		if (!busy)
			break;
	}
	pump(s);
}

static void deliver(struct sim *s, const struct hop *h, const uint8_t *data, size_t len)
{
	s->st.delivered++;
	if (h->to >= 0 && h->to < s->n && h->from >= 0 && h->from < SIM_MAX_NODES)
		(void)rel_input(s->nodes[h->to], s->addrs[h->from], s->alens[h->from] ? s->alens[h->from] : 4, data, len, s->now);
}

/* Pops one due datagram off wire w; 0 when none is due. */
static int pop_wire(struct sim *s, struct wire *w)
{
	struct udp_addr a;
	size_t len;
	int rc = netsim_pop(w->ns, s->now, s->buf, s->buf_cap, &len, &a);
	if (rc == UDP_ENOSPACE) {
		uint8_t *b = realloc(s->buf, len);
		if (!b)
			return 0;
		s->buf = b;
		s->buf_cap = len;
		rc = netsim_pop(w->ns, s->now, s->buf, s->buf_cap, &len, &a);
	}
	if (rc != 1)
		return 0;
	struct hop h;
	memcpy(&h, &a.u, sizeof h);
	deliver(s, &h, s->buf, len);
	return 1;
}

/* The earliest injected datagram due now, in injection order; -1 if none. */
static long due_injected(const struct sim *s)
{
	long best = -1;
	for (size_t i = 0; i < s->ninj; i++) {
		const struct injected *p = &s->inj[i];
		if (p->at <= s->now &&
		    (best < 0 || p->at < s->inj[best].at ||
		     (p->at == s->inj[best].at && p->order < s->inj[best].order)))
			best = (long)i;
	}
	return best;
}

int sim_step(struct sim *s, uint64_t limit)
{
	settle(s);
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < s->nwires; i++) {
		uint64_t d = netsim_next_due(s->wires[i].ns);
		if (d < t)
			t = d;
	}
	for (size_t i = 0; i < s->ninj; i++)
		if (s->inj[i].at < t)
			t = s->inj[i].at;
	for (int i = 0; i < s->n; i++) {
		uint64_t d = rel_next_deadline(s->nodes[i]);
		if (d < t)
			t = d;
	}
	if (t > limit) {
		if (limit > s->now)
			s->now = limit;
		return 0;
	}
	if (t > s->now)
		s->now = t;
	for (long k; (k = due_injected(s)) >= 0;) {
		struct injected p = s->inj[k];
		s->inj[k] = s->inj[--s->ninj];
		deliver(s, &p.hop, p.data, p.len);
		free(p.data);
	}
	for (int i = 0; i < s->nwires; i++)
		while (pop_wire(s, &s->wires[i]))
			;
	settle(s);
	return 1;
}
