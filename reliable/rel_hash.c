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
/* One crc32 instruction waits for the one before (3 cycles each), but the
 * CPU can start one per cycle: long buffers run three independent lanes
 * over three adjacent blocks and join them.  By linearity, the register
 * after block B from state c is zeros(c, |B|) ^ crc(0, B), where zeros()
 * feeds |B| zero bytes; for a fixed |B| that is a linear map of c's 32
 * bits, kept as four byte tables (crc_shift_init). */
#define CRC_LANE_BIG 1024   /* bytes per lane while 3 of them fit */
#define CRC_LANE_SMALL 384  /* then these once (a 1250-byte packet): one join per 1152 bytes costs no more instructions than one lane */

static uint32_t crc_shift_big[4][256], crc_shift_small[4][256];
static int crc_shift_ready;

__attribute__((target("sse4.2")))
static uint32_t crc_zeros(uint32_t c, size_t n)
{
	uint64_t r = c;
	for (size_t i = 0; i < n; i += 8)
		r = _mm_crc32_u64(r, 0);
	return (uint32_t)r;
}

/* The map is linear: each entry is the XOR of those of its bits, so 32
 * values are computed and the rest follow by one XOR each. */
static void crc_shift_init(void)
{
	for (int k = 0; k < 4; k++) {
		crc_shift_big[k][0] = crc_shift_small[k][0] = 0;
		for (uint32_t v = 1; v < 256; v++) {
			uint32_t low = v & -v;
			if (v == low) {
				crc_shift_big[k][v] = crc_zeros(v << (8 * k), CRC_LANE_BIG);
				crc_shift_small[k][v] = crc_zeros(v << (8 * k), CRC_LANE_SMALL);
			} else {
				crc_shift_big[k][v] = crc_shift_big[k][low] ^ crc_shift_big[k][v ^ low];
				crc_shift_small[k][v] = crc_shift_small[k][low] ^ crc_shift_small[k][v ^ low];
			}
		}
	}
	crc_shift_ready = 1; /* a race writes the same values */
}

static uint32_t crc_shift(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

/* Three lanes of `lane` bytes each from p; returns the register after all
 * three (state c before). */
__attribute__((target("sse4.2"), always_inline))
static inline uint64_t crc_3lanes(uint64_t c, const uint8_t *p, size_t lane, const uint32_t t[4][256])
{
	uint64_t c1 = 0, c2 = 0;
	const uint8_t *p1 = p + lane, *p2 = p + 2 * lane;
#define CRC_STEP(o) do { \
		uint64_t w0, w1, w2; /* x86 is little-endian, as the CRC expects */ \
		memcpy(&w0, p + i + (o), 8); \
		memcpy(&w1, p1 + i + (o), 8); \
		memcpy(&w2, p2 + i + (o), 8); \
		c = _mm_crc32_u64(c, w0); \
		c1 = _mm_crc32_u64(c1, w1); \
		c2 = _mm_crc32_u64(c2, w2); \
	} while (0)
	for (size_t i = 0; i < lane; i += 32) { /* lane: a multiple of 32 */
		CRC_STEP(0);
		CRC_STEP(8);
		CRC_STEP(16);
		CRC_STEP(24);
	}
#undef CRC_STEP
	c = crc_shift(t, (uint32_t)c) ^ (uint32_t)c1;
	return crc_shift(t, (uint32_t)c) ^ (uint32_t)c2;
}

/* Words, then bytes, from state c (p 8-byte aligned or not, any len). */
__attribute__((target("sse4.2"), always_inline))
static inline uint32_t crc_rest(uint64_t c, const uint8_t *p, size_t len)
{
	while (len >= 32) {
		uint64_t w0, w1, w2, w3; /* loaded with memcpy: no unaligned-access UB */
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

/* A long buffer: its 8-byte aligned part in rounds of three lanes, the
 * rest as a short one.  Not inlined: short buffers (ACKs) would pay for
 * its registers in crc_hw's prologue. */
__attribute__((target("sse4.2"), noinline))
static uint32_t crc_long(const uint8_t *p, size_t len)
{
	uint64_t c = 0xffffffffu;
	while ((uintptr_t)p & 7) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	if (!crc_shift_ready)
		crc_shift_init();
	for (; len >= 3 * CRC_LANE_BIG; p += 3 * CRC_LANE_BIG, len -= 3 * CRC_LANE_BIG)
		c = crc_3lanes(c, p, CRC_LANE_BIG, crc_shift_big);
	for (; len >= 3 * CRC_LANE_SMALL; p += 3 * CRC_LANE_SMALL, len -= 3 * CRC_LANE_SMALL)
		c = crc_3lanes(c, p, CRC_LANE_SMALL, crc_shift_small);
	return crc_rest(c, p, len);
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	/* 7 bytes more: the alignment steps of crc_long leave a round */
	if (len >= 3 * CRC_LANE_SMALL + 7)
		return crc_long(p, len);
	uint64_t c = 0xffffffffu;
	/* byte steps up to an 8-byte boundary, then whole words */
	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	return crc_rest(c, p, len);
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
