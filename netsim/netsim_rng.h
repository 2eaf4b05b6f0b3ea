/* netsim_rng.h - the seeded PRNG of every simulation: netsim's impairment
 * choices and the virtual-time tests' own draws (message sizes, link
 * seeds).  It sits in netsim/ because netsim is the lowest layer that needs
 * reproducible randomness, so netsim, the tools and the tests can all
 * include it without an arrow pointing up.  It is not for secrets: the
 * reliable core's identifiers come from its own keyed generator.
 *
 * xoshiro256** seeded through splitmix64 (both Vigna's); the same seed and
 * stream give the same numbers on every machine. */
#ifndef NETSIM_RNG_H
#define NETSIM_RNG_H

#include <stdint.h>

struct netsim_rng {
	uint64_t s[4];
};

/* One splitmix64 step: advances *x and returns a well-mixed word.  Alone it
 * is a fine small generator over a bare uint64_t, and a hash of a counter. */
uint64_t netsim_rng_mix(uint64_t *x);
/* Independent streams from one seed: each choice a simulator makes gets its
 * own stream, so adding one impairment does not shift another's draws. */
void netsim_rng_seed(struct netsim_rng *r, uint64_t seed, unsigned stream);
uint64_t netsim_rng_next(struct netsim_rng *r);
/* [0, 1) with 53 random bits. */
double netsim_rng_unit(struct netsim_rng *r);
/* [0, n) without modulo bias; 0 when n is 0. */
uint64_t netsim_rng_below(struct netsim_rng *r, uint64_t n);

#endif
