/* rel_sess.c - the sessions of a core: creation, lookup by peer id and by
 * local session id (two open-addressing hash tables), destruction. */
#include <stdlib.h>
#include <string.h>

#include "rel_int.h"
#include "udp_err.h"

static uint32_t key_of(const struct rel_sess *p, int by_id)
{
	return by_id ? p->id : p->lsid;
}

static uint32_t slot_of(const struct rel_core *c, uint32_t key)
{
	return (key * 2654435761u) & c->tab_mask;
}

static struct rel_sess **table(const struct rel_core *c, int by_id)
{
	return by_id ? c->tab_id : c->tab_lsid;
}

int rel_sess_init(struct rel_core *c)
{
	uint32_t n = 16;
	while (n < 2 * c->cfg.max_peers)
		n <<= 1;
	c->tab_mask = n - 1;
	c->tab_id = calloc(n, sizeof *c->tab_id);
	c->tab_lsid = calloc(n, sizeof *c->tab_lsid);
	return c->tab_id && c->tab_lsid ? 0 : UDP_ENOMEM;
}

static struct rel_sess *tab_find(const struct rel_core *c, int by_id, uint32_t key)
{
	struct rel_sess **t = table(c, by_id);
	for (uint32_t i = slot_of(c, key);; i = (i + 1) & c->tab_mask) {
		if (!t[i])
			return NULL;
		if (key_of(t[i], by_id) == key)
			return t[i];
	}
}

static void tab_add(struct rel_core *c, int by_id, struct rel_sess *p)
{
	struct rel_sess **t = table(c, by_id);
	uint32_t i = slot_of(c, key_of(p, by_id));
	while (t[i])
		i = (i + 1) & c->tab_mask;
	t[i] = p;
}

/* Removes p and shifts the entries after it back (no tombstones). */
static void tab_del(struct rel_core *c, int by_id, struct rel_sess *p)
{
	struct rel_sess **t = table(c, by_id);
	uint32_t i = slot_of(c, key_of(p, by_id));
	while (t[i] != p) {
		if (!t[i])
			return;
		i = (i + 1) & c->tab_mask;
	}
	t[i] = NULL;
	for (uint32_t j = (i + 1) & c->tab_mask; t[j]; j = (j + 1) & c->tab_mask) {
		uint32_t home = slot_of(c, key_of(t[j], by_id));
		/* t[j] may move to the hole at i if its home is not in (i, j] */
		if (((j - home) & c->tab_mask) >= ((j - i) & c->tab_mask)) {
			t[i] = t[j];
			t[j] = NULL;
			i = j;
		}
	}
}

struct rel_sess *rel_sess_find(const struct rel_core *c, uint32_t id)
{
	return id ? tab_find(c, 1, id) : NULL;
}

struct rel_sess *rel_sess_by_lsid(const struct rel_core *c, uint32_t sid)
{
	return sid ? tab_find(c, 0, sid) : NULL;
}

struct rel_sess *rel_sess_new(struct rel_core *c, const void *addr, size_t alen, uint64_t now)
{
	if (c->npeers >= c->cfg.max_peers)
		return NULL;
	struct rel_sess *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->addr, addr, alen);
	p->addr_len = alen;
	if (!(p->src = rel_src_get(c, addr, alen))) {
		free(p);
		return NULL;
	}
	p->src->nsess++;
	do {
		if (++c->id_next == 0)
			c->id_next = 1;
	} while (rel_sess_find(c, c->id_next)); /* after 2^32 sessions */
	p->id = c->id_next;
	do
		p->lsid = (uint32_t)rel_prf_next(&c->prf);
	while (p->lsid == 0 || rel_sess_by_lsid(c, p->lsid));
	p->hs_init_seq = c->cfg.fixed_initial_seq ? c->cfg.initial_seq : (uint32_t)rel_prf_next(&c->prf);
	p->rto = c->cfg.rto_initial_us;
	p->last_recv = p->last_send = now;
	if (rel_sess_alloc_windows(c, p) < 0) {
		rel_src_put(c, p->src);
		free(p->ring);
		free(p->rbits);
		free(p->cc_state);
		free(p);
		return NULL;
	}
	p->next = c->peers;
	c->peers = p;
	tab_add(c, 1, p);
	tab_add(c, 0, p);
	c->npeers++;
	c->st.peers = c->npeers;
	return p;
}

void rel_sess_destroy(struct rel_core *c, struct rel_sess *p)
{
	for (struct rel_sess **pp = &c->peers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	tab_del(c, 1, p);
	tab_del(c, 0, p);
	rel_hs_crypto_free(c, p); /* every way a session ends comes here */
	rel_sess_free_tx(p);
	rel_rx_free(c, p);
	/* unpolled messages stay charged to the core until polled */
	p->src->mem -= p->held;
	if (p->passive)
		p->src->naccepted--;
	rel_src_put(c, p->src);
	rel_src_put(c, p->prev_src); /* the fallback path's, while validating */
	free(p->ring);
	free(p->rbits);
	free(p->cc_state);
	free(p);
	c->npeers--;
	c->st.peers = c->npeers;
}
