#include <string.h>

#include "udp_err.h"
#include "udp_wire.h"

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

void udp_wire_put_bytes(struct udp_wire_writer *w, const void *src, size_t n)
{
	uint8_t *p = udp_wire_put_ptr(w, n);
	if (p && n)
		memcpy(p, src, n);
}

