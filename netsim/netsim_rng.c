/* netsim_rng.c - see netsim_rng.h. */
#include "netsim_rng.h"

uint64_t netsim_rng_mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void netsim_rng_seed(struct netsim_rng *r, uint64_t seed, unsigned stream)
{
	/* an odd multiplier spreads stream numbers apart before mixing */
	uint64_t x = seed ^ (0xd1b54a32d192ed03ull * (stream + 1));
	for (int i = 0; i < 4; i++)
		r->s[i] = netsim_rng_mix(&x);
}

uint64_t netsim_rng_next(struct netsim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double netsim_rng_unit(struct netsim_rng *r)
{
	return (double)(netsim_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t netsim_rng_below(struct netsim_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* reject the top partial block so every residue is equally likely */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = netsim_rng_next(r);
	while (x >= lim);
	return x % n;
}
