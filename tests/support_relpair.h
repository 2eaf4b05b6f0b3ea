/* support_relpair.h - a client/server pair of reliable cores on a
 * simulated link, with the handshake done, for the rel tests. */
#ifndef SUPPORT_RELPAIR_H
#define SUPPORT_RELPAIR_H

#include "rel.h"
#include "support_relsim.h"

struct relpair {
	struct sim *s;
	struct rel_core *a, *b; /* a connects to b */
	int na, nb;             /* node indexes */
	uint32_t pa, pb;        /* a's id for b, b's id for a */
};

/* Base config for tests: seed set, small timers left at defaults. */
void relpair_config(struct rel_config *cfg, uint64_t seed);
/* Builds the pair; cfg_a/cfg_b may be NULL for defaults.  Returns 0 once
 * both sides saw REL_EV_CONNECTED (within limit of virtual time), -1 if not. */
int relpair_open(struct relpair *p, uint64_t seed, const struct sim_link *link,
		 const struct rel_config *cfg_a, const struct rel_config *cfg_b);
/* The same with the virtual clock starting at start_us. */
int relpair_open_at(struct relpair *p, uint64_t seed, const struct sim_link *link,
		    const struct rel_config *cfg_a, const struct rel_config *cfg_b, uint64_t start_us);
void relpair_close(struct relpair *p);

#endif
