/* support_relsim.h - a simulated datagram network for the reliable core
 * tests, in virtual time.  Nodes (each a struct rel_core) exchange datagrams
 * through a link with seeded loss, duplication, reordering, corruption and
 * delay; sim_step() jumps the clock straight to the next event (a datagram
 * arriving or a core's deadline), so runs are fast and deterministic. */
#ifndef SUPPORT_RELSIM_H
#define SUPPORT_RELSIM_H

#include <stddef.h>
#include <stdint.h>

#include "rel.h"

#define SIM_MAX_NODES 8

struct sim_link {
	double loss, dup, reorder, corrupt; /* probabilities 0..1 */
	uint64_t delay_us, jitter_us;
};

struct sim_stats {
	uint64_t sent, lost, dups, reordered, corrupted, delivered;
};

struct sim;

/* tap sees every datagram a node sends, before the link acts on it. */
typedef void (*sim_tap_fn)(void *ctx, int from, int to, const uint8_t *data, size_t len);

struct sim *sim_new(uint64_t seed, const struct sim_link *link);
void sim_free(struct sim *s);
/* Adds a node; its address is the 4 bytes "N" i 0 0.  Returns the index. */
int sim_add(struct sim *s, struct rel_core *core);
const uint8_t *sim_addr(const struct sim *s, int node, size_t *len);
void sim_set_tap(struct sim *s, sim_tap_fn fn, void *ctx);
/* Changes the link from now on (datagrams already on it still arrive). */
void sim_set_link(struct sim *s, const struct sim_link *link);
uint64_t sim_now(const struct sim *s);
void sim_set_now(struct sim *s, uint64_t now);
/* One step: drain the out-queues into the link, jump to the next event
 * (not past limit_us), deliver, run timers.  Returns 0 when nothing is
 * left to do before limit_us (the clock then stands at limit_us). */
int sim_step(struct sim *s, uint64_t limit_us);
/* Puts a datagram on the wire from node `from` to `to` (no loss). */
void sim_inject(struct sim *s, int from, int to, const uint8_t *data, size_t len, uint64_t delay_us);
const struct sim_stats *sim_stats(const struct sim *s);
/* Deterministic test PRNG. */
uint64_t sim_rand(uint64_t *state);

#endif
