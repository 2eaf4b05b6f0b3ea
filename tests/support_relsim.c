/* support_relsim.c - the simulated network of support_relsim.h. */
#include <stdlib.h>
#include <string.h>

#include "support_relsim.h"

struct sim_pkt {
	uint64_t at, order;
	int from, to;
	size_t len;
	uint8_t *data;
};

struct sim {
	struct sim_link link;
	uint64_t rng, now, order;
	struct rel_core *nodes[SIM_MAX_NODES];
	uint8_t addrs[SIM_MAX_NODES][4];
	int n;
	struct sim_pkt *heap;
	size_t hlen, hcap;
	sim_tap_fn tap;
	void *tap_ctx;
	struct sim_stats st;
};

uint64_t sim_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unit(struct sim *s)
{
	return (double)(sim_rand(&s->rng) >> 11) / 9007199254740992.0;
}

struct sim *sim_new(uint64_t seed, const struct sim_link *link)
{
	struct sim *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->rng = seed;
	if (link)
		s->link = *link;
	s->now = 1000000; /* start at t = 1 s */
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->hlen; i++)
		free(s->heap[i].data);
	free(s->heap);
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
	return i;
}

const uint8_t *sim_addr(const struct sim *s, int node, size_t *len)
{
	*len = 4;
	return s->addrs[node];
}

void sim_set_tap(struct sim *s, sim_tap_fn fn, void *ctx)
{
	s->tap = fn;
	s->tap_ctx = ctx;
}

void sim_set_link(struct sim *s, const struct sim_link *link)
{
	s->link = *link;
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

static int before(const struct sim_pkt *a, const struct sim_pkt *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void heap_push(struct sim *s, struct sim_pkt p)
{
	if (s->hlen == s->hcap) {
		size_t cap = s->hcap ? 2 * s->hcap : 256;
		struct sim_pkt *h = realloc(s->heap, cap * sizeof *h);
		if (!h) {
			free(p.data);
			return;
		}
		s->heap = h;
		s->hcap = cap;
	}
	size_t i = s->hlen++;
	while (i > 0 && before(&p, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = p;
}

static struct sim_pkt heap_pop(struct sim *s)
{
	struct sim_pkt top = s->heap[0], last = s->heap[--s->hlen];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->hlen)
			break;
		if (c + 1 < s->hlen && before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->hlen)
		s->heap[i] = last;
	return top;
}

void sim_inject(struct sim *s, int from, int to, const uint8_t *data, size_t len, uint64_t delay)
{
	struct sim_pkt p = {.at = s->now + delay, .order = s->order++, .from = from, .to = to, .len = len};
	p.data = malloc(len ? len : 1);
	if (!p.data)
		return;
	memcpy(p.data, data, len);
	heap_push(s, p);
}

static void transmit(struct sim *s, int from, int to, const uint8_t *data, size_t len)
{
	s->st.sent++;
	if (unit(s) < s->link.loss) {
		s->st.lost++;
		return;
	}
	int copies = 1;
	if (unit(s) < s->link.dup) {
		copies = 2;
		s->st.dups++;
	}
	for (int c = 0; c < copies; c++) {
		uint64_t delay = s->link.delay_us;
		if (s->link.jitter_us)
			delay += sim_rand(&s->rng) % (s->link.jitter_us + 1);
		if (unit(s) < s->link.reorder) {
			delay += sim_rand(&s->rng) % (2 * s->link.delay_us + 1000);
			s->st.reordered++;
		}
		size_t before_hlen = s->hlen;
		sim_inject(s, from, to, data, len, delay);
		if (len && s->hlen > before_hlen && unit(s) < s->link.corrupt) {
			/* find the copy just pushed and flip one bit in it */
			for (size_t i = 0; i < s->hlen; i++) {
				if (s->heap[i].order == s->order - 1) {
					uint64_t bit = sim_rand(&s->rng) % (8 * len);
					s->heap[i].data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
					s->st.corrupted++;
					break;
				}
			}
		}
	}
}

static int node_by_addr(const struct sim *s, const uint8_t *a, size_t len)
{
	for (int i = 0; i < s->n; i++)
		if (len == 4 && !memcmp(a, s->addrs[i], 4))
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

int sim_step(struct sim *s, uint64_t limit)
{
	settle(s);
	uint64_t t = s->hlen ? s->heap[0].at : UINT64_MAX;
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
	while (s->hlen && s->heap[0].at <= s->now) {
		struct sim_pkt p = heap_pop(s);
		s->st.delivered++;
		(void)rel_input(s->nodes[p.to], s->addrs[p.from], 4, p.data, p.len, s->now);
		free(p.data);
	}
	settle(s);
	return 1;
}
