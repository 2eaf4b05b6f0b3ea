/* udp_wire.h - bounds-checked reading and writing of packet bytes.
 *
 * All packet parsing in udpkit goes through these.  Integers are big-endian
 * (network order).  Errors are sticky: after the first short read (or full
 * write) every further get returns 0 and every put does nothing, so a parser
 * can read a whole header and check udp_wire_*_error() once at the end.
 * Readers and writers borrow the caller's buffer; they own nothing. */
#ifndef UDP_WIRE_H
#define UDP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "udp_err.h"

struct udp_wire_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int err; /* 0 or UDP_ESHORT */
};

struct udp_wire_writer {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	int err; /* 0 or UDP_ENOSPACE */
};

static inline void udp_wire_reader_init(struct udp_wire_reader *r, const void *buf, size_t len);
static inline uint8_t udp_wire_get_u8(struct udp_wire_reader *r);
static inline uint16_t udp_wire_get_u16(struct udp_wire_reader *r);
static inline uint32_t udp_wire_get_u32(struct udp_wire_reader *r);
static inline uint64_t udp_wire_get_u64(struct udp_wire_reader *r);
/* Copies n bytes to dst; on a short read dst is zeroed and the error set. */
int udp_wire_get_bytes(struct udp_wire_reader *r, void *dst, size_t n);
/* Borrows n bytes in place (valid as long as the buffer); NULL if short. */
const uint8_t *udp_wire_get_ptr(struct udp_wire_reader *r, size_t n);
int udp_wire_skip(struct udp_wire_reader *r, size_t n);
static inline size_t udp_wire_remaining(const struct udp_wire_reader *r);
static inline int udp_wire_reader_error(const struct udp_wire_reader *r);

static inline void udp_wire_writer_init(struct udp_wire_writer *w, void *buf, size_t cap);
static inline void udp_wire_put_u8(struct udp_wire_writer *w, uint8_t v);
static inline void udp_wire_put_u16(struct udp_wire_writer *w, uint16_t v);
static inline void udp_wire_put_u32(struct udp_wire_writer *w, uint32_t v);
static inline void udp_wire_put_u64(struct udp_wire_writer *w, uint64_t v);
void udp_wire_put_bytes(struct udp_wire_writer *w, const void *src, size_t n);
/* Reserves n bytes and returns where to fill them in; NULL if they don't fit. */
uint8_t *udp_wire_put_ptr(struct udp_wire_writer *w, size_t n);
static inline size_t udp_wire_written(const struct udp_wire_writer *w);
static inline int udp_wire_writer_error(const struct udp_wire_writer *w);

/* The small accessors and the fixed-width integers are inline: packet headers are mostly these, and
 * a call per field cost more than the field.  The bounds check is the same
 * as in udp_wire.c's take() and udp_wire_put_ptr(); n is never 0 here, so a
 * buffer that fits n bytes is not NULL. */
static inline void udp_wire_reader_init(struct udp_wire_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
	r->err = 0;
}

static inline size_t udp_wire_remaining(const struct udp_wire_reader *r)
{
	return r->err ? 0 : r->len - r->pos;
}

static inline int udp_wire_reader_error(const struct udp_wire_reader *r) { return r->err; }

static inline void udp_wire_writer_init(struct udp_wire_writer *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->pos = 0;
	w->err = 0;
}

static inline size_t udp_wire_written(const struct udp_wire_writer *w) { return w->pos; }
static inline int udp_wire_writer_error(const struct udp_wire_writer *w) { return w->err; }

static inline const uint8_t *udp_wire_take_fixed_(struct udp_wire_reader *r, size_t n)
{
	if (r->err || n > r->len - r->pos) {
		r->err = UDP_ESHORT;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

/* Whole-width shifts that compilers turn into one load or store and a
 * byte swap. */
static inline uint16_t udp_wire_be16_(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t udp_wire_be32_(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint8_t udp_wire_get_u8(struct udp_wire_reader *r)
{
	const uint8_t *p = udp_wire_take_fixed_(r, 1);
	return p ? p[0] : 0;
}

static inline uint16_t udp_wire_get_u16(struct udp_wire_reader *r)
{
	const uint8_t *p = udp_wire_take_fixed_(r, 2);
	return p ? udp_wire_be16_(p) : 0;
}

static inline uint32_t udp_wire_get_u32(struct udp_wire_reader *r)
{
	const uint8_t *p = udp_wire_take_fixed_(r, 4);
	return p ? udp_wire_be32_(p) : 0;
}

static inline uint64_t udp_wire_get_u64(struct udp_wire_reader *r)
{
	const uint8_t *p = udp_wire_take_fixed_(r, 8);
	return p ? (uint64_t)udp_wire_be32_(p) << 32 | udp_wire_be32_(p + 4) : 0;
}

static inline uint8_t *udp_wire_put_fixed_(struct udp_wire_writer *w, size_t n)
{
	if (w->err || n > w->cap - w->pos) {
		w->err = UDP_ENOSPACE;
		return NULL;
	}
	uint8_t *p = w->buf + w->pos;
	w->pos += n;
	return p;
}

static inline void udp_wire_be32_put_(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void udp_wire_put_u8(struct udp_wire_writer *w, uint8_t v)
{
	uint8_t *p = udp_wire_put_fixed_(w, 1);
	if (p)
		p[0] = v;
}

static inline void udp_wire_put_u16(struct udp_wire_writer *w, uint16_t v)
{
	uint8_t *p = udp_wire_put_fixed_(w, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void udp_wire_put_u32(struct udp_wire_writer *w, uint32_t v)
{
	uint8_t *p = udp_wire_put_fixed_(w, 4);
	if (p)
		udp_wire_be32_put_(p, v);
}

static inline void udp_wire_put_u64(struct udp_wire_writer *w, uint64_t v)
{
	uint8_t *p = udp_wire_put_fixed_(w, 8);
	if (p) {
		udp_wire_be32_put_(p, (uint32_t)(v >> 32));
		udp_wire_be32_put_(p + 4, (uint32_t)v);
	}
}

#endif
