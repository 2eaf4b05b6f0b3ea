/* fuzz_rel_wire.c - the reliable core's packet decoder (rel_wire_decode)
 * on raw bytes, and the encoder on what it accepted.
 *
 * Properties (abort): a decoded packet's payload lies inside the input; it
 * encodes again (into exactly as many bytes) to the same bytes, except a
 * HELLO's padding, which the encoder writes as zeros; the re-encoded bytes
 * decode to the same fields.  Since the CRC rejects nearly every mutation,
 * the input's last 4 bytes are replaced by its CRC-32C when byte 0 is odd
 * (byte 0 is then not part of the packet), so the parser behind the CRC is
 * reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"

#define check(c) do { if (!(c)) abort(); } while (0)

static int same(const struct rel_pkt *a, const struct rel_pkt *b)
{
	return a->type == b->type && a->flags == b->flags && a->dst_sid == b->dst_sid &&
	       a->src_sid == b->src_sid && a->bucket == b->bucket && a->cookie == b->cookie &&
	       a->init_seq == b->init_seq && a->window_pkts == b->window_pkts &&
	       a->max_msg == b->max_msg && a->budget == b->budget && a->ts == b->ts &&
	       a->ts_echo == b->ts_echo && a->window == b->window && a->cum_ack == b->cum_ack &&
	       a->sack_words == b->sack_words &&
	       !memcmp(a->sack, b->sack, sizeof a->sack) && a->seq == b->seq &&
	       a->msg_len == b->msg_len && a->frag_off == b->frag_off &&
	       a->frag_index == b->frag_index && a->frag_count == b->frag_count &&
	       a->frag_size == b->frag_size && a->payload_len == b->payload_len &&
	       (!a->payload_len || !memcmp(a->payload, b->payload, a->payload_len)) &&
	       a->hello_len == b->hello_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t in[70000], out[70000];
	if (size < 1 || size > sizeof in)
		return 0;
	size_t len = size - 1;
	memcpy(in, data + 1, len);
	if ((data[0] & 1) && len >= 4) {
		uint32_t crc = rel_crc32c(in, len - 4);
		for (int i = 0; i < 4; i++)
			in[len - 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
	}
	struct rel_pkt p, q;
	int rc = rel_wire_decode(&p, len ? in : NULL, len);
	if (rc < 0) {
		check(rc == REL_EMAGIC || rc == REL_ECHECKSUM || rc == REL_EMALFORMED);
		return 0;
	}
	check(len >= REL_HDR_LEN + REL_CRC_LEN);
	if (p.payload_len)
		check(p.payload >= in && p.payload + p.payload_len <= in + len - REL_CRC_LEN);
	int n = rel_wire_encode(&p, out, sizeof out);
	check(n == (int)len);
	if (p.type == REL_PT_HELLO)
		check(!memcmp(out, in, REL_HDR_LEN));
	else
		check(!memcmp(out, in, len));
	/* a buffer one byte short is refused, not overrun */
	check(rel_wire_encode(&p, out, len - 1) < 0);
	n = rel_wire_encode(&p, out, sizeof out);
	check(rel_wire_decode(&q, out, (size_t)n) == 0);
	check(same(&p, &q) || (p.type == REL_PT_HELLO && q.hello_len == p.hello_len));
	return 0;
}
