/* fuzz_wire.c - the bounds-checked reader and writer against a model.
 *
 * Input: byte 0 = mode (bit 7: writer, else reader) and program length
 * (bits 0..6); then the program, one byte per call; the rest is the
 * packet (reader) or the values to write (writer), copied into a buffer
 * of exactly its size so ASan sees any byte read or written past it.
 *
 * Program byte: bits 0..2 choose the call (u8 u16 u32 u64 bytes ptr skip,
 * and 7 = only check), bits 3..7 the length for bytes/ptr/skip, including
 * the sizes that break a naive "pos + n <= len" (SIZE_MAX, SIZE_MAX - pos,
 * ...).  After every call the reader must agree with the model: same
 * position, same sticky error, same value, position never beyond len. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "udp_wire.h"

#define check(c) do { if (!(c)) abort(); } while (0)

enum { OP_U8, OP_U16, OP_U32, OP_U64, OP_BYTES, OP_PTR, OP_SKIP, OP_NONE };

#define BYTES_MAX 128 /* get_bytes/put_bytes lengths stay within our arrays */

/* A length from the program byte's top 5 bits; pos and len are the
 * model's, so the edge sizes land exactly on the edges. */
static size_t pick_len(unsigned arg, size_t pos, size_t len)
{
	switch (arg) {
	case 24: return len - pos;
	case 25: return len - pos + 1;
	case 26: return SIZE_MAX;
	case 27: return SIZE_MAX - pos;     /* pos + n == SIZE_MAX */
	case 28: return SIZE_MAX - pos + 1; /* pos + n wraps to 0 */
	case 29: return len;
	case 30: return len + 1;
	case 31: return 4096;
	default: return arg;
	}
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void run_reader(const uint8_t *prog, size_t nprog, const uint8_t *buf, size_t len)
{
	struct udp_wire_reader r;
	size_t pos = 0;
	int err = 0;
	/* an empty packet is given as NULL with a non-zero length, which
	 * the reader must treat as empty */
	udp_wire_reader_init(&r, len ? buf : NULL, len ? len : 7);
	static const size_t width[] = {1, 2, 4, 8};
	for (size_t i = 0; i < nprog; i++) {
		unsigned op = prog[i] & 7, arg = prog[i] >> 3;
		size_t n;
		int fits;
		switch (op) {
		case OP_U8: case OP_U16: case OP_U32: case OP_U64: {
			n = width[op];
			fits = !err && n <= len - pos;
			uint64_t want = fits ? be(buf + pos, n) : 0;
			uint64_t got = op == OP_U8 ? udp_wire_get_u8(&r) :
				       op == OP_U16 ? udp_wire_get_u16(&r) :
				       op == OP_U32 ? udp_wire_get_u32(&r) : udp_wire_get_u64(&r);
			check(got == want);
			break;
		}
		case OP_BYTES: {
			uint8_t dst[BYTES_MAX];
			n = pick_len(arg, pos, len);
			if (n > sizeof dst)
				n = arg; /* the caller's buffer bounds n */
			fits = !err && n <= len - pos;
			memset(dst, 0xa5, sizeof dst);
			int rc = udp_wire_get_bytes(&r, dst, n);
			check(rc == (fits ? 0 : UDP_ESHORT));
			for (size_t k = 0; k < n; k++)
				check(dst[k] == (fits ? buf[pos + k] : 0));
			for (size_t k = n; k < sizeof dst; k++)
				check(dst[k] == 0xa5); /* nothing written past n */
			break;
		}
		case OP_PTR: {
			n = pick_len(arg, pos, len);
			fits = !err && n <= len - pos;
			const uint8_t *p = udp_wire_get_ptr(&r, n);
			/* the empty packet was given as NULL: then any non-NULL */
			check(fits ? p && (len == 0 || p == buf + pos) : !p);
			break;
		}
		case OP_SKIP:
			n = pick_len(arg, pos, len);
			fits = !err && n <= len - pos;
			check(udp_wire_skip(&r, n) == (fits ? 0 : UDP_ESHORT));
			break;
		default:
			n = 0;
			fits = !err;
			break;
		}
		if (fits)
			pos += n;
		else
			err = UDP_ESHORT; /* sticky: never cleared */
		check(r.pos == pos && r.pos <= r.len && r.len == len);
		check(udp_wire_reader_error(&r) == err);
		check(udp_wire_remaining(&r) == (err ? 0 : len - pos));
	}
}

static void run_writer(const uint8_t *prog, size_t nprog, const uint8_t *vals, size_t cap)
{
	/* the buffer under test is exactly cap bytes; the model is a copy */
	uint8_t *buf = malloc(cap ? cap : 1), *want = malloc(cap ? cap : 1);
	struct udp_wire_writer w;
	size_t pos = 0, v = 0;
	int err = 0;
	check(buf && want);
	memset(buf, 0, cap);
	memset(want, 0, cap);
	udp_wire_writer_init(&w, cap ? buf : NULL, cap ? cap : 7);
	for (size_t i = 0; i < nprog; i++) {
		unsigned op = prog[i] & 7, arg = prog[i] >> 3;
		uint8_t src[BYTES_MAX];
		size_t n;
		int fits;
		/* values to write come from the input, cycling */
		for (size_t k = 0; k < sizeof src; k++)
			src[k] = cap ? vals[(v + k) % cap] : (uint8_t)k;
		v++;
		switch (op) {
		case OP_U8: case OP_U16: case OP_U32: case OP_U64: {
			static const size_t width[] = {1, 2, 4, 8};
			n = width[op];
			uint64_t x = be(src, 8);
			fits = !err && n <= cap - pos;
			if (op == OP_U8) udp_wire_put_u8(&w, (uint8_t)x);
			else if (op == OP_U16) udp_wire_put_u16(&w, (uint16_t)x);
			else if (op == OP_U32) udp_wire_put_u32(&w, (uint32_t)x);
			else udp_wire_put_u64(&w, x);
			for (size_t k = 0; fits && k < n; k++)
				want[pos + k] = (uint8_t)(x >> (8 * (n - 1 - k)));
			break;
		}
		case OP_BYTES:
			n = pick_len(arg, pos, cap);
			if (n > sizeof src)
				n = arg;
			fits = !err && n <= cap - pos;
			udp_wire_put_bytes(&w, src, n);
			if (fits && n)
				memcpy(want + pos, src, n);
			break;
		case OP_PTR: case OP_SKIP: {
			n = pick_len(arg, pos, cap);
			fits = !err && n <= cap - pos;
			uint8_t *p = udp_wire_put_ptr(&w, n);
			check(fits ? p && (cap == 0 || p == buf + pos) : !p);
			/* fill what was reserved, as a caller would */
			for (size_t k = 0; p && k < n; k++)
				p[k] = want[pos + k] = src[k % sizeof src];
			break;
		}
		default:
			n = 0;
			fits = !err;
			break;
		}
		if (fits)
			pos += n;
		else
			err = UDP_ENOSPACE;
		check(udp_wire_written(&w) == pos && pos <= cap);
		check(udp_wire_writer_error(&w) == err);
		check(cap == 0 || memcmp(buf, want, cap) == 0);
	}
	free(buf);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t nprog = data[0] & 0x7f;
	if (nprog > size - 1)
		nprog = size - 1;
	const uint8_t *prog = data + 1;
	size_t len = size - 1 - nprog;
	uint8_t *buf = malloc(len ? len : 1);
	check(buf);
	memcpy(buf, prog + nprog, len);
	if (data[0] & 0x80)
		run_writer(prog, nprog, buf, len);
	else
		run_reader(prog, nprog, buf, len);
	free(buf);
	return 0;
}
