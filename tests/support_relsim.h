/* support_relsim.h - a simulated datagram network for the reliable core
 * tests, in virtual time.  Nodes (each a struct rel_core) exchange datagrams
 * over links; a link is one direction of a path, a netsim instance (netem's
 * loss, delay, jitter, reorder, duplicate, corrupt, rate, limit) fed with
 * the virtual clock, as picoquic's sim_link.  sim_step() jumps the clock
 * straight to the next event (a datagram due or a core's deadline), so runs
 * are fast and the same on every machine.
 *
 * By default every ordered pair of nodes gets a link of its own, made from
 * the description given to sim_new() with a seed derived from the sim's
 * seed and the pair.  sim_link_add() + sim_route() make a link that several
 * senders share, such as a bottleneck queue. */
#ifndef SUPPORT_RELSIM_H
#define SUPPORT_RELSIM_H

#include <stddef.h>
#include <stdint.h>

#include "netsim.h"
#include "netsim_rng.h"
#include "rel.h"

#define SIM_MAX_NODES 8

/* A link description.  With netem set, it is a netsim spec ("loss 5%
 * delay 20ms 5ms rate 10mbit limit 50") and the fields are ignored; a spec
 * without `seed` gets one from the sim.  Otherwise the fields say:
 *   loss, dup, corrupt: netem's loss, duplicate and corrupt;
 *   delay_us, jitter_us: each datagram takes delay_us + U[0, jitter_us]
 *     (netem's "delay D J" is D +- J: this is delay D+J/2 J/2);
 *   reorder: netem's reorder, with the delay above: that share of the
 *     datagrams skips the delay and overtakes those on the way;
 *   no queue limit (netem's limit is 1000 packets). */
struct sim_link {
	double loss, dup, reorder, corrupt; /* probabilities 0..1 */
	uint64_t delay_us, jitter_us;
	const char *netem;
};

/* Datagrams offered to the links (sent) and what the links did to them. */
struct sim_stats {
	uint64_t sent, lost, dups, reordered, corrupted, delivered;
};

struct sim;

/* tap sees every datagram a node sends, before the link acts on it. */
typedef void (*sim_tap_fn)(void *ctx, int from, int to, const uint8_t *data, size_t len);

/* NULL when out of memory or the description is invalid (link may be
 * NULL: a perfect link). */
struct sim *sim_new(uint64_t seed, const struct sim_link *link);
void sim_free(struct sim *s);
/* Adds a node; its address is the 4 bytes "N" i 0 0.  Returns the index. */
int sim_add(struct sim *s, struct rel_core *core);
const uint8_t *sim_addr(const struct sim *s, int node, size_t *len);
void sim_set_tap(struct sim *s, sim_tap_fn fn, void *ctx);
/* A node's address changes (connection migration tests): from now on its
 * datagrams come from addr (len <= REL_ADDR_MAX), and what is sent to
 *   SIM_ADDR_MOVE: addr reaches it, the old address no longer does (a NAT
 *     that rebound: the old mapping is gone);
 *   SIM_ADDR_KEEP: addr and the old address both reach it;
 *   SIM_ADDR_DEAF: only the old address reaches it; addr is a black hole
 *     (a one-way path: the new address never answers).
 * Datagrams already on a link still arrive.  Returns 0 or UDP_EINVAL. */
enum sim_addr_mode { SIM_ADDR_MOVE, SIM_ADDR_KEEP, SIM_ADDR_DEAF };
int sim_set_addr(struct sim *s, int node, const void *addr, size_t len, enum sim_addr_mode mode);
/* Changes the default links from now on (datagrams already on them still
 * arrive).  Returns 0, or UDP_EINVAL / UDP_ENETSIM_* for a bad description. */
int sim_set_link(struct sim *s, const struct sim_link *link);
/* The netsim config a description stands for (seed used when it has none). */
int sim_link_config(const struct sim_link *link, uint64_t seed, struct netsim_config *cfg);

/* A link of its own for sim_route(); returns its number (>= 0) or a
 * negative code. */
int sim_link_add(struct sim *s, const struct sim_link *link);
/* Datagrams from `from` to `to` take link number `link` from now on. */
int sim_route(struct sim *s, int from, int to, int link);
/* The netsim counters of link number `link` (zeros for an unknown one). */
void sim_link_counters(const struct sim *s, int link, struct netsim_counters *out);

uint64_t sim_now(const struct sim *s);
void sim_set_now(struct sim *s, uint64_t now);
/* One step: drain the out-queues into the links, jump to the next event
 * (not past limit_us), deliver, run timers.  Returns 0 when nothing is
 * left to do before limit_us (the clock then stands at limit_us). */
int sim_step(struct sim *s, uint64_t limit_us);
/* Puts a datagram on the wire from node `from` to `to`, due after delay_us,
 * past every link (no loss). */
void sim_inject(struct sim *s, int from, int to, const uint8_t *data, size_t len, uint64_t delay_us);
const struct sim_stats *sim_stats(const struct sim *s);
/* A test's own draws: one splitmix64 step of netsim_rng (same numbers as
 * before it moved there). */
static inline uint64_t sim_rand(uint64_t *state)
{
	return netsim_rng_mix(state);
}

#endif
