/* support_relpair.c - see support_relpair.h. */
#include <string.h>

#include "support_relpair.h"

void relpair_config(struct rel_config *cfg, uint64_t seed)
{
	rel_config_default(cfg);
	cfg->seed = seed;
}

int relpair_open(struct relpair *p, uint64_t seed, const struct sim_link *link,
		 const struct rel_config *cfg_a, const struct rel_config *cfg_b)
{
	return relpair_open_at(p, seed, link, cfg_a, cfg_b, 1000000);
}

int relpair_open_at(struct relpair *p, uint64_t seed, const struct sim_link *link,
		    const struct rel_config *cfg_a, const struct rel_config *cfg_b, uint64_t start_us)
{
	struct rel_config ca, cb;
	memset(p, 0, sizeof *p);
	if (cfg_a)
		ca = *cfg_a;
	else
		relpair_config(&ca, seed * 2 + 1);
	if (cfg_b)
		cb = *cfg_b;
	else
		relpair_config(&cb, seed * 2 + 2);
	cb.accept = 1;
	p->s = sim_new(seed, link);
	if (p->s)
		sim_set_now(p->s, start_us);
	rel_core_new(&p->a, &ca);
	rel_core_new(&p->b, &cb);
	if (!p->s || !p->a || !p->b)
		return -1;
	p->na = sim_add(p->s, p->a);
	p->nb = sim_add(p->s, p->b);
	size_t alen;
	const uint8_t *addr = sim_addr(p->s, p->nb, &alen);
	if (rel_connect(p->a, addr, alen, sim_now(p->s), &p->pa) < 0)
		return -1;
	int ca_ok = 0, cb_ok = 0;
	uint64_t limit = sim_now(p->s) + 120000000;
	while (!(ca_ok && cb_ok) && sim_step(p->s, limit)) {
		struct rel_event ev;
		while (rel_poll_event(p->a, &ev))
			if (ev.type == REL_EV_CONNECTED && ev.peer == p->pa)
				ca_ok = 1;
		while (rel_poll_event(p->b, &ev))
			if (ev.type == REL_EV_CONNECTED) {
				cb_ok = 1;
				p->pb = ev.peer;
			}
	}
	return ca_ok && cb_ok ? 0 : -1;
}

void relpair_close(struct relpair *p)
{
	rel_core_free(p->a);
	rel_core_free(p->b);
	sim_free(p->s);
	memset(p, 0, sizeof *p);
}
