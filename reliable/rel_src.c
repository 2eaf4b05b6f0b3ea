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
	return c->src_tab ? 0 : UDP_ENOMEM;
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
