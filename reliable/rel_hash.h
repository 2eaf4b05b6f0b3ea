/* rel_hash.h - small hashes and a PRNG for the reliable core (internal).
 *
 * rel_siphash24(): SipHash-2-4 (Aumasson & Bernstein), written from the
 * paper; keys the handshake cookies.  rel_crc32c(): CRC-32C (Castagnoli),
 * the packet integrity check (not a MAC: sealing authenticates).
 * rel_rng: splitmix64, seeded by the caller; only expands a test's explicit
 * seed into keys.  rel_prf: SipHash-2-4 of a counter under a secret key,
 * the source of session ids and initial sequence numbers: one peer sees
 * some outputs, and from them cannot compute the next (splitmix64's state
 * is its output, run backwards). */
#ifndef REL_HASH_H
#define REL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t rel_siphash24(const uint8_t key[16], const void *msg, size_t len);
uint32_t rel_crc32c(const void *buf, size_t len);
/* The two implementations rel_crc32c() chooses from, for tests:
 * rel_crc32c_hw() falls back to the table when the CPU has no crc32
 * instruction (rel_crc32c_hw_available() says 0). */
uint32_t rel_crc32c_sw(const void *buf, size_t len);
uint32_t rel_crc32c_hw(const void *buf, size_t len);
int rel_crc32c_hw_available(void);

struct rel_rng {
	uint64_t s;
};
void rel_rng_seed(struct rel_rng *r, uint64_t seed);
uint64_t rel_rng_next(struct rel_rng *r);

struct rel_prf {
	uint8_t key[16];
	uint64_t ctr;
};
uint64_t rel_prf_next(struct rel_prf *f);

#endif
