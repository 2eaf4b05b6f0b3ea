/* rel_src.c - the sources of a core's sessions: the per-source session cap
 * and the per-source share of core_budget (rel_recv.c) need sessions from
 * one host counted together, however many ports it uses.
 *
 * The address blob is opaque to the core, but the driver (and any embedder
 * that passes what recvfrom gave) puts a Linux sockaddr_in or sockaddr_in6
 * there, exactly sized.  Those are keyed by address without the port; IPv6
 * by its /64, the unit a host is given (it can use 2^64 addresses), and a
 * v4-mapped address as the IPv4 one.  Any other blob is a source of its
 * own.  The layout constants are checked against <netinet/in.h> in
 * tests/test_rel_harden.c; the core includes no socket header. */
#include <stdlib.h>
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"

enum { FAM_INET = 2, FAM_INET6 = 10, SIN_LEN = 16, SIN6_LEN = 28 };

size_t rel_src_key(const uint8_t *a, size_t len, uint8_t *key)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint16_t fam = 0;
	if (len >= 2)
		memcpy(&fam, a, 2);
	if (len == SIN6_LEN && fam == FAM_INET6 && !memcmp(a + 8, mapped, 12)) {
		fam = FAM_INET;
		memcpy(key, &fam, 2);
		memcpy(key + 2, a + 20, 4);
		return 6;
	}
	if (len == SIN_LEN && fam == FAM_INET) {
		memcpy(key, a, 2);
		memcpy(key + 2, a + 4, 4);
		return 6;
	}
	if (len == SIN6_LEN && fam == FAM_INET6) {
		memcpy(key, a, 2);
		memcpy(key + 2, a + 8, 8);
		return 10;
	}
	memcpy(key, a, len);
	return len;
}

int rel_src_init(struct rel_core *c)
{
	c->src_tab = calloc((size_t)c->tab_mask + 1, sizeof *c->src_tab);
	/* only a hook's handshake costs public-key work worth a limit */
	if (c->cfg.crypto && c->cfg.hs_rate)
		c->hs_tab = calloc((size_t)REL_HS_SETS * REL_HS_WAYS, sizeof *c->hs_tab);
	return c->src_tab && (c->hs_tab || !c->cfg.crypto || !c->cfg.hs_rate) ? 0 : UDP_ENOMEM;
}

/* Keyed, so that no one can aim many sources at one chain. */
static uint32_t home(const struct rel_core *c, const uint8_t *key, size_t n)
{
	return (uint32_t)rel_siphash24(c->prf.key, key, n) & c->tab_mask;
}

struct rel_src *rel_src_find(const struct rel_core *c, const void *addr, size_t alen)
{
	uint8_t key[REL_ADDR_MAX];
	size_t n = rel_src_key(addr, alen, key);
	for (uint32_t i = home(c, key, n);; i = (i + 1) & c->tab_mask) {
		struct rel_src *s = c->src_tab[i];
		if (!s)
			return NULL;
		if (s->key_len == n && !memcmp(s->key, key, n))
			return s;
	}
}

struct rel_src *rel_src_get(struct rel_core *c, const void *addr, size_t alen)
{
	struct rel_src *s = rel_src_find(c, addr, alen);
	if (s)
		return s;
	/* one source per session at most, and the table holds 2 x max_peers */
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->key_len = rel_src_key(addr, alen, s->key);
	s->home = home(c, s->key, s->key_len);
	uint32_t i = s->home;
	while (c->src_tab[i])
		i = (i + 1) & c->tab_mask;
	c->src_tab[i] = s;
	c->st.sources++;
	return s;
}

/* Drops one session's reference; the last one frees the source. */
void rel_src_put(struct rel_core *c, struct rel_src *s)
{
	if (!s || --s->nsess)
		return;
	uint32_t i = s->home;
	while (c->src_tab[i] != s)
		i = (i + 1) & c->tab_mask;
	c->src_tab[i] = NULL;
	/* shift the chain back over the hole (no tombstones) */
	for (uint32_t j = (i + 1) & c->tab_mask; c->src_tab[j]; j = (j + 1) & c->tab_mask) {
		uint32_t h = c->src_tab[j]->home;
		if (((j - h) & c->tab_mask) >= ((j - i) & c->tab_mask)) {
			c->src_tab[i] = c->src_tab[j];
			c->src_tab[j] = NULL;
			i = j;
		}
	}
	c->st.sources--;
	free(s);
}

/* Handshake rate limits, as GCRA (the token bucket kept as the time it
 * would be full again): a response is allowed while that time is at most
 * burst - 1 intervals ahead of now, and moves it one interval on.  The
 * interval is rounded up, so no more than rate a second ever pass. */
static uint64_t hs_interval(uint32_t rate)
{
	return (1000000u + (uint64_t)rate - 1) / rate;
}

static int hs_ok(uint64_t tat, uint64_t now, uint32_t rate, uint32_t burst)
{
	return tat <= now || tat - now <= (uint64_t)(burst - 1) * hs_interval(rate);
}

static uint64_t hs_next(uint64_t tat, uint64_t now, uint32_t rate)
{
	return (tat > now ? tat : now) + hs_interval(rate);
}

/* The bucket of addr's source: a fixed table, REL_HS_WAYS slots a set, the
 * set chosen by a keyed hash (no one can aim sources at one set).  Its own
 * slot if it has one; else a slot whose bucket is full (forgetting a full
 * bucket forgets nothing); else, the set being all in use, it shares the
 * fullest one with its owner: charged together, never a fresh bucket, so
 * cycling through addresses earns no tokens and memory never grows. */
static struct rel_hs_slot *hs_slot(struct rel_core *c, const void *addr, size_t alen, uint64_t now)
{
	uint8_t key[REL_ADDR_MAX + 1];
	size_t n = rel_src_key(addr, alen, key);
	key[n] = 'h'; /* another hash than the sources' table's */
	uint64_t h = rel_siphash24(c->prf.key, key, n + 1);
	struct rel_hs_slot *set = c->hs_tab + (h & (REL_HS_SETS - 1)) * REL_HS_WAYS;
	struct rel_hs_slot *idle = NULL, *fullest = set;
	for (unsigned i = 0; i < REL_HS_WAYS; i++) {
		if (set[i].tag == h)
			return &set[i];
		if (!idle && set[i].tat <= now)
			idle = &set[i];
		if (set[i].tat < fullest->tat)
			fullest = &set[i];
	}
	if (!idle)
		return fullest;
	idle->tag = h;
	return idle;
}

int rel_src_hs_take(struct rel_core *c, const void *addr, size_t alen, uint64_t now)
{
	const struct rel_config *f = &c->cfg;
	struct rel_hs_slot *s = c->hs_tab ? hs_slot(c, addr, alen, now) : NULL;
	/* the source's limit first: what it refuses takes nothing from the
	 * ceiling, so one flooding address cannot spend the others' share */
	if (s && !hs_ok(s->tat, now, f->hs_rate, f->hs_burst)) {
		c->st.drop_hs_rate++;
		return UDP_EAGAIN;
	}
	if (f->hs_global_rate && !hs_ok(c->hs_tat, now, f->hs_global_rate, f->hs_global_burst)) {
		c->st.drop_hs_global++;
		return UDP_EAGAIN;
	}
	if (s)
		s->tat = hs_next(s->tat, now, f->hs_rate);
	if (f->hs_global_rate)
		c->hs_tat = hs_next(c->hs_tat, now, f->hs_global_rate);
	return 0;
}
