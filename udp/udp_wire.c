#include <string.h>

#include "udp_err.h"
#include "udp_wire.h"

void udp_wire_reader_init(struct udp_wire_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
	r->err = 0;
}

/* The single bounds check every read goes through. */
static const uint8_t *take(struct udp_wire_reader *r, size_t n)
{
	if (r->err || n > r->len - r->pos) {
		r->err = UDP_ESHORT;
		return NULL;
	}
	/* An empty reader may have buf NULL: a 0-byte borrow still gets a
	 * non-NULL pointer (NULL means short), and NULL + 0 is undefined. */
	static const uint8_t none[1];
	const uint8_t *p = r->buf ? r->buf + r->pos : none;
	r->pos += n;
	return p;
}

static uint64_t get_be(struct udp_wire_reader *r, size_t n)
{
	const uint8_t *p = take(r, n);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

uint8_t udp_wire_get_u8(struct udp_wire_reader *r) { return (uint8_t)get_be(r, 1); }
uint16_t udp_wire_get_u16(struct udp_wire_reader *r) { return (uint16_t)get_be(r, 2); }
uint32_t udp_wire_get_u32(struct udp_wire_reader *r) { return (uint32_t)get_be(r, 4); }
uint64_t udp_wire_get_u64(struct udp_wire_reader *r) { return get_be(r, 8); }

int udp_wire_get_bytes(struct udp_wire_reader *r, void *dst, size_t n)
{
	const uint8_t *p = take(r, n);
	if (!p) {
		if (n)
			memset(dst, 0, n);
		return r->err;
	}
	if (n)
		memcpy(dst, p, n);
	return 0;
}

const uint8_t *udp_wire_get_ptr(struct udp_wire_reader *r, size_t n)
{
	return take(r, n);
}

int udp_wire_skip(struct udp_wire_reader *r, size_t n)
{
	return take(r, n) ? 0 : r->err;
}

size_t udp_wire_remaining(const struct udp_wire_reader *r)
{
	return r->err ? 0 : r->len - r->pos;
}

int udp_wire_reader_error(const struct udp_wire_reader *r) { return r->err; }

void udp_wire_writer_init(struct udp_wire_writer *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->pos = 0;
	w->err = 0;
}

uint8_t *udp_wire_put_ptr(struct udp_wire_writer *w, size_t n)
{
	if (w->err || n > w->cap - w->pos) {
		w->err = UDP_ENOSPACE;
		return NULL;
	}
	/* As in take(): buf NULL means cap 0, so n is 0 and nothing is
	 * ever written through this pointer. */
	static uint8_t none[1];
	uint8_t *p = w->buf ? w->buf + w->pos : none;
	w->pos += n;
	return p;
}

static void put_be(struct udp_wire_writer *w, uint64_t v, size_t n)
{
	uint8_t *p = udp_wire_put_ptr(w, n);
	if (!p)
		return;
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

void udp_wire_put_u8(struct udp_wire_writer *w, uint8_t v) { put_be(w, v, 1); }
void udp_wire_put_u16(struct udp_wire_writer *w, uint16_t v) { put_be(w, v, 2); }
void udp_wire_put_u32(struct udp_wire_writer *w, uint32_t v) { put_be(w, v, 4); }
void udp_wire_put_u64(struct udp_wire_writer *w, uint64_t v) { put_be(w, v, 8); }

void udp_wire_put_bytes(struct udp_wire_writer *w, const void *src, size_t n)
{
	uint8_t *p = udp_wire_put_ptr(w, n);
	if (p && n)
		memcpy(p, src, n);
}

size_t udp_wire_written(const struct udp_wire_writer *w) { return w->pos; }
int udp_wire_writer_error(const struct udp_wire_writer *w) { return w->err; }
