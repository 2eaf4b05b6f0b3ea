/* rel_hash.c - SipHash-2-4, CRC-32C, splitmix64 and the keyed counter (see rel_hash.h). */
#include <string.h>

#include "rel_hash.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define REL_CRC_X86 1
#include <nmmintrin.h>
#else
#define REL_CRC_X86 0
#endif

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3) do { \
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
} while (0)

uint64_t rel_siphash24(const uint8_t key[16], const void *msg, size_t len)
{
	const uint8_t *m = msg;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	size_t full = len - len % 8;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t mi = le64(m + i);
		v3 ^= mi;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= mi;
	}
	uint64_t b = (uint64_t)(len & 0xff) << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)m[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Reflected CRC-32C, polynomial 0x82f63b78.  It is most of the core's
 * per-packet CPU, so x86-64 CPUs with SSE4.2 use the crc32 instruction (the
 * same polynomial); elsewhere a slicing-by-8 table: table k holds the CRC of
 * a byte followed by k zero bytes.  Both keep the running value inverted
 * only at the ends, so they agree bit for bit (tests/test_rel_wire.c). */
static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^ (crc_table[t - 1][i] >> 8);
	crc_ready = 1;
}

uint32_t rel_crc32c_sw(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!crc_ready)
		crc_init(); /* idempotent: a race writes the same values */
	uint32_t c = 0xffffffffu;
	while (len >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

#if REL_CRC_X86
__attribute__((target("sse4.2")))
static uint32_t crc_hw(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = 0xffffffffu;
	/* byte steps up to an 8-byte boundary, then whole words (loaded with
	 * memcpy: no unaligned-access UB), then the tail */
	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 32) {
		uint64_t w0, w1, w2, w3; /* x86 is little-endian, as the CRC expects */
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		c = _mm_crc32_u64(c, w0);
		c = _mm_crc32_u64(c, w1);
		c = _mm_crc32_u64(c, w2);
		c = _mm_crc32_u64(c, w3);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c ^ 0xffffffffu;
}

static int hw_state; /* 0 unknown, 1 yes, -1 no; a race stores the same value */

int rel_crc32c_hw_available(void)
{
	if (!hw_state) {
		__builtin_cpu_init();
		hw_state = __builtin_cpu_supports("sse4.2") ? 1 : -1;
	}
	return hw_state > 0;
}

uint32_t rel_crc32c_hw(const void *buf, size_t len)
{
	return rel_crc32c_hw_available() ? crc_hw(buf, len) : rel_crc32c_sw(buf, len);
}

uint32_t rel_crc32c(const void *buf, size_t len)
{
	if (hw_state > 0 || (!hw_state && rel_crc32c_hw_available()))
		return crc_hw(buf, len);
	return rel_crc32c_sw(buf, len);
}
#else
int rel_crc32c_hw_available(void)
{
	return 0;
}

uint32_t rel_crc32c_hw(const void *buf, size_t len)
{
	return rel_crc32c_sw(buf, len);
}

uint32_t rel_crc32c(const void *buf, size_t len)
{
	return rel_crc32c_sw(buf, len);
}
#endif

void rel_rng_seed(struct rel_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t rel_rng_next(struct rel_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t rel_prf_next(struct rel_prf *f)
{
	uint8_t m[8];
	uint64_t n = f->ctr++;
	for (int i = 0; i < 8; i++)
		m[i] = (uint8_t)(n >> (8 * i));
	return rel_siphash24(f->key, m, sizeof m);
}
