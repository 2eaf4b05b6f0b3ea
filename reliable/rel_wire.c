/* rel_wire.c - packet encode/decode, following docs/PROTOCOL.md. */
#include <string.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"
#include "udp_err.h"
#include "udp_wire.h"

static int has_ackblock(uint8_t type)
{
	return (type >= REL_PT_DATA && type <= REL_PT_DGRAM) || type == REL_PT_PROBE;
}

/* Bytes of part i of a fragment of frag_len cut into count: all but the
 * last carry ceil(frag_len / count). */
uint32_t rel_part_len(uint32_t frag_len, uint32_t count, uint32_t i)
{
	uint32_t step = (uint32_t)(((uint64_t)frag_len + count - 1) / count);
	uint64_t off = (uint64_t)i * step;
	if (off >= frag_len)
		return 0;
	return frag_len - off < step ? (uint32_t)(frag_len - off) : step;
}

int rel_wire_encode(const struct rel_pkt *p, uint8_t *buf, size_t cap)
{
	struct udp_wire_writer w;
	if (p->sack_words > REL_SACK_MAX || cap < REL_HDR_LEN + REL_CRC_LEN)
		return UDP_EINVAL;
	udp_wire_writer_init(&w, buf, cap - REL_CRC_LEN);
	udp_wire_put_u8(&w, REL_MAGIC);
	udp_wire_put_u8(&w, REL_VERSION);
	udp_wire_put_u8(&w, p->type);
	udp_wire_put_u8(&w, p->flags);
	udp_wire_put_u32(&w, p->dst_sid);
	udp_wire_put_u32(&w, p->src_sid);
	switch (p->type) {
	case REL_PT_HELLO: {
		size_t body = p->hello_len > REL_HELLO_LEN ? p->hello_len : REL_HELLO_LEN;
		body -= REL_HDR_LEN + REL_CRC_LEN;
		uint8_t *pad = udp_wire_put_ptr(&w, body);
		if (pad)
			memset(pad, 0, body);
		break;
	}
	case REL_PT_COOKIE:
		udp_wire_put_u32(&w, p->bucket);
		udp_wire_put_u64(&w, p->cookie);
		break;
	case REL_PT_CONNECT:
		udp_wire_put_u32(&w, p->bucket);
		udp_wire_put_u64(&w, p->cookie);
		/* fall through */
	case REL_PT_ACCEPT:
		udp_wire_put_u32(&w, p->init_seq);
		udp_wire_put_u32(&w, p->window_pkts);
		udp_wire_put_u32(&w, p->max_msg);
		udp_wire_put_u32(&w, p->budget);
		if (p->flags & REL_F_NOISE)
			udp_wire_put_bytes(&w, p->payload, p->payload_len);
		break;
	case REL_PT_CHALLENGE:
	case REL_PT_RESPONSE:
		udp_wire_put_u64(&w, p->token);
		break;
	case REL_PT_DATA:
	case REL_PT_ACK:
	case REL_PT_PING:
	case REL_PT_DGRAM:
	case REL_PT_PROBE:
		udp_wire_put_u32(&w, p->ts);
		udp_wire_put_u32(&w, p->ts_echo);
		udp_wire_put_u32(&w, p->window);
		udp_wire_put_u32(&w, p->cum_ack);
		udp_wire_put_u8(&w, p->sack_words);
		for (unsigned i = 0; i < p->sack_words; i++)
			udp_wire_put_u32(&w, p->sack[i]);
		if (p->type == REL_PT_DATA) {
			udp_wire_put_u32(&w, p->seq);
			udp_wire_put_u32(&w, p->msg_len);
			udp_wire_put_u32(&w, p->frag_off);
			udp_wire_put_u32(&w, p->frag_index);
			udp_wire_put_u32(&w, p->frag_count);
			if (p->flags & REL_F_PART) {
				udp_wire_put_u32(&w, p->frag_len);
				udp_wire_put_u16(&w, p->part_index);
				udp_wire_put_u16(&w, p->part_count);
			}
		} else if (p->type == REL_PT_DGRAM) {
			udp_wire_put_u32(&w, p->seq);
		} else if (p->type == REL_PT_PROBE) {
			udp_wire_put_u32(&w, p->probe_id);
			udp_wire_put_u32(&w, p->probe_echo);
			size_t n = udp_wire_written(&w);
			if (p->pad_to > n + REL_CRC_LEN) {
				uint8_t *pad = udp_wire_put_ptr(&w, p->pad_to - n - REL_CRC_LEN);
				if (pad)
					memset(pad, 0, p->pad_to - n - REL_CRC_LEN);
			}
		}
		if (p->payload_len)
			udp_wire_put_bytes(&w, p->payload, p->payload_len);
		break;
	default:
		return UDP_EINVAL;
	}
	if (udp_wire_writer_error(&w))
		return UDP_ENOSPACE;
	size_t n = udp_wire_written(&w);
	uint32_t crc = rel_crc32c(buf, n);
	struct udp_wire_writer t;
	udp_wire_writer_init(&t, buf + n, REL_CRC_LEN);
	udp_wire_put_u32(&t, crc);
	return (int)(n + REL_CRC_LEN);
}

/* Every fragment but the last carries exactly frag_size bytes at
 * frag_index * frag_size; the last one ends the message.  So each fragment
 * is fully determined, and a cut one is noticed (PROTOCOL.md 2.6). */
static int decode_data_fields(struct rel_pkt *p)
{
	uint64_t off = p->frag_off, pl = p->payload_len, len = p->msg_len;
	if (p->flags & REL_F_PART) {
		/* a part stands for its whole fragment, which must follow the
		 * rules; the part itself is the bytes its number says */
		if ((p->flags & REL_F_FIN) || p->part_count < 2 || p->part_count > REL_PART_MAX ||
		    p->part_index >= p->part_count || p->frag_len < p->part_count ||
		    p->payload_len != rel_part_len(p->frag_len, p->part_count, p->part_index))
			return REL_EMALFORMED;
		pl = p->frag_len;
	}
	if (p->frag_count == 0 || p->frag_index >= p->frag_count || off + pl > len)
		return REL_EMALFORMED;
	if ((p->flags & REL_F_FIN) && (len != 0 || p->frag_count != 1))
		return REL_EMALFORMED;
	if (p->frag_count == 1) {
		if (off != 0 || pl != len)
			return REL_EMALFORMED;
		p->frag_size = p->msg_len;
		return 0;
	}
	uint64_t fsz;
	if (p->frag_index + 1 < p->frag_count) {
		fsz = pl;
		if (fsz == 0 || off != (uint64_t)p->frag_index * fsz)
			return REL_EMALFORMED;
	} else {
		if (off + pl != len || pl == 0 || off % p->frag_index)
			return REL_EMALFORMED;
		fsz = off / p->frag_index;
		if (pl > fsz)
			return REL_EMALFORMED;
	}
	if ((len + fsz - 1) / fsz != p->frag_count)
		return REL_EMALFORMED;
	p->frag_size = (uint32_t)fsz;
	return 0;
}

int rel_wire_sealed(const uint8_t *buf, size_t len, size_t overhead, uint32_t *dst, uint32_t *src)
{
	struct udp_wire_reader r;
	if (len < REL_SEALED_MIN(overhead))
		return REL_EMALFORMED;
	udp_wire_reader_init(&r, buf + 4, 8);
	*dst = udp_wire_get_u32(&r);
	*src = udp_wire_get_u32(&r);
	return *dst && *src ? 0 : REL_EMALFORMED;
}

int rel_wire_decode(struct rel_pkt *p, const uint8_t *buf, size_t len)
{
	struct udp_wire_reader r;
	memset(p, 0, sizeof *p);
	if (len < 2 || buf[0] != REL_MAGIC || buf[1] != REL_VERSION)
		return REL_EMAGIC;
	if (len < REL_HDR_LEN + REL_CRC_LEN)
		return REL_EMALFORMED;
	udp_wire_reader_init(&r, buf + len - REL_CRC_LEN, REL_CRC_LEN);
	if (udp_wire_get_u32(&r) != rel_crc32c(buf, len - REL_CRC_LEN))
		return REL_ECHECKSUM;
	udp_wire_reader_init(&r, buf, len - REL_CRC_LEN);
	(void)udp_wire_get_u8(&r);
	(void)udp_wire_get_u8(&r);
	p->type = udp_wire_get_u8(&r);
	p->flags = udp_wire_get_u8(&r);
	p->dst_sid = udp_wire_get_u32(&r);
	p->src_sid = udp_wire_get_u32(&r);
	/* NOISE only on CONNECT and ACCEPT, nothing else on them */
	int hs = p->type == REL_PT_CONNECT || p->type == REL_PT_ACCEPT;
	if (p->flags & ~(hs ? REL_F_NOISE : REL_F_ALL))
		return REL_EMALFORMED;
	if (!has_ackblock(p->type) && !hs && p->flags)
		return REL_EMALFORMED;
	switch (p->type) {
	case REL_PT_HELLO:
		if (len < REL_HELLO_LEN || p->dst_sid != 0 || p->src_sid == 0)
			return REL_EMALFORMED;
		p->hello_len = len;
		return 0;
	case REL_PT_COOKIE:
		p->bucket = udp_wire_get_u32(&r);
		p->cookie = udp_wire_get_u64(&r);
		break;
	case REL_PT_CONNECT:
		p->bucket = udp_wire_get_u32(&r);
		p->cookie = udp_wire_get_u64(&r);
		/* fall through */
	case REL_PT_ACCEPT:
		p->init_seq = udp_wire_get_u32(&r);
		p->window_pkts = udp_wire_get_u32(&r);
		p->max_msg = udp_wire_get_u32(&r);
		p->budget = udp_wire_get_u32(&r);
		if ((p->flags & REL_F_NOISE) && !udp_wire_reader_error(&r)) {
			/* the key exchange: opaque here, the crypto hook reads it */
			p->payload_len = udp_wire_remaining(&r);
			p->payload = udp_wire_get_ptr(&r, p->payload_len);
			if (!p->payload_len)
				return REL_EMALFORMED;
		}
		break;
	case REL_PT_CHALLENGE:
	case REL_PT_RESPONSE:
		/* only between open sessions: both sids are set */
		if (p->dst_sid == 0)
			return REL_EMALFORMED;
		p->token = udp_wire_get_u64(&r);
		break;
	case REL_PT_DATA:
	case REL_PT_ACK:
	case REL_PT_PING:
	case REL_PT_DGRAM:
	case REL_PT_PROBE:
		p->ts = udp_wire_get_u32(&r);
		p->ts_echo = udp_wire_get_u32(&r);
		p->window = udp_wire_get_u32(&r);
		p->cum_ack = udp_wire_get_u32(&r);
		p->sack_words = udp_wire_get_u8(&r);
		if (p->sack_words > REL_SACK_MAX)
			return REL_EMALFORMED;
		for (unsigned i = 0; i < p->sack_words; i++)
			p->sack[i] = udp_wire_get_u32(&r);
		if (p->type == REL_PT_DATA) {
			p->seq = udp_wire_get_u32(&r);
			p->msg_len = udp_wire_get_u32(&r);
			p->frag_off = udp_wire_get_u32(&r);
			p->frag_index = udp_wire_get_u32(&r);
			p->frag_count = udp_wire_get_u32(&r);
			if (p->flags & REL_F_PART) {
				p->frag_len = udp_wire_get_u32(&r);
				p->part_index = udp_wire_get_u16(&r);
				p->part_count = udp_wire_get_u16(&r);
			}
		} else if (p->type == REL_PT_DGRAM) {
			p->seq = udp_wire_get_u32(&r);
		} else if (p->type == REL_PT_PROBE) {
			p->probe_id = udp_wire_get_u32(&r);
			p->probe_echo = udp_wire_get_u32(&r);
			if (!p->probe_id == !p->probe_echo) /* one or the other */
				return REL_EMALFORMED;
		} else if (p->flags & ~REL_F_ECHO) {
			return REL_EMALFORMED;
		}
		if (p->type != REL_PT_DATA && (p->flags & ~REL_F_ECHO))
			return REL_EMALFORMED;
		if (udp_wire_reader_error(&r))
			return REL_EMALFORMED;
		p->payload_len = udp_wire_remaining(&r);
		p->payload = udp_wire_get_ptr(&r, p->payload_len);
		if (p->type == REL_PT_DATA)
			return decode_data_fields(p);
		if (p->type == REL_PT_PROBE) /* the padding: contents ignored */
			return 0;
		if (p->type != REL_PT_DGRAM && p->payload_len)
			return REL_EMALFORMED;
		return 0;
	default:
		return REL_EMALFORMED;
	}
	if (udp_wire_reader_error(&r) || udp_wire_remaining(&r) != 0)
		return REL_EMALFORMED;
	if (p->src_sid == 0 && p->type != REL_PT_COOKIE)
		return REL_EMALFORMED;
	return 0;
}
