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

void udp_wire_reader_init(struct udp_wire_reader *r, const void *buf, size_t len);
uint8_t udp_wire_get_u8(struct udp_wire_reader *r);
uint16_t udp_wire_get_u16(struct udp_wire_reader *r);
uint32_t udp_wire_get_u32(struct udp_wire_reader *r);
uint64_t udp_wire_get_u64(struct udp_wire_reader *r);
/* Copies n bytes to dst; on a short read dst is zeroed and the error set. */
int udp_wire_get_bytes(struct udp_wire_reader *r, void *dst, size_t n);
/* Borrows n bytes in place (valid as long as the buffer); NULL if short. */
const uint8_t *udp_wire_get_ptr(struct udp_wire_reader *r, size_t n);
int udp_wire_skip(struct udp_wire_reader *r, size_t n);
size_t udp_wire_remaining(const struct udp_wire_reader *r);
int udp_wire_reader_error(const struct udp_wire_reader *r);

void udp_wire_writer_init(struct udp_wire_writer *w, void *buf, size_t cap);
void udp_wire_put_u8(struct udp_wire_writer *w, uint8_t v);
void udp_wire_put_u16(struct udp_wire_writer *w, uint16_t v);
void udp_wire_put_u32(struct udp_wire_writer *w, uint32_t v);
void udp_wire_put_u64(struct udp_wire_writer *w, uint64_t v);
void udp_wire_put_bytes(struct udp_wire_writer *w, const void *src, size_t n);
/* Reserves n bytes and returns where to fill them in; NULL if they don't fit. */
uint8_t *udp_wire_put_ptr(struct udp_wire_writer *w, size_t n);
size_t udp_wire_written(const struct udp_wire_writer *w);
int udp_wire_writer_error(const struct udp_wire_writer *w);

#endif
