/* rel_wire.h - encoding and decoding of reliable-core packets (internal).
 * The byte layout is docs/PROTOCOL.md section 2; everything goes through
 * the bounds-checked udp_wire reader/writer. */
#ifndef REL_WIRE_H
#define REL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define REL_MAGIC 0x75
#define REL_VERSION 1
#define REL_HDR_LEN 12      /* magic, version, type, flags, dst sid, src sid */
#define REL_CRC_LEN 4       /* CRC-32C trailer */
#define REL_HELLO_LEN 64    /* a HELLO is padded to at least this */
#define REL_SACK_MAX 32     /* sack bitmap words: 1024 packets past cum_ack */
#define REL_ACKB_LEN 17     /* ack block without the bitmap */
#define REL_DATA_LEN 20     /* seq, msg_len, frag_off, frag_index, frag_count */
/* Largest DATA overhead: every byte of a DATA datagram but the payload. */
#define REL_DATA_OVERHEAD (REL_HDR_LEN + REL_ACKB_LEN + 4 * REL_SACK_MAX + REL_DATA_LEN + REL_CRC_LEN)
#define REL_CONNECT_LEN 44  /* CONNECT, ACCEPT: without a key exchange */
#define REL_ACCEPT_LEN 32
#define REL_PATH_LEN (REL_HDR_LEN + 8 + REL_CRC_LEN) /* PATH_CHALLENGE / PATH_RESPONSE */
#define REL_DGRAM_OVERHEAD (REL_HDR_LEN + REL_ACKB_LEN + 4 * REL_SACK_MAX + 4 + REL_CRC_LEN)

enum rel_ptype {
	REL_PT_HELLO = 1,
	REL_PT_COOKIE = 2,
	REL_PT_CONNECT = 3,
	REL_PT_ACCEPT = 4,
	REL_PT_DATA = 5,
	REL_PT_ACK = 6,
	REL_PT_PING = 7,
	REL_PT_DGRAM = 8,
	REL_PT_CHALLENGE = 9,  /* PATH_CHALLENGE: is the peer at this address? */
	REL_PT_RESPONSE = 10,  /* PATH_RESPONSE: the challenge's token, echoed */
	REL_PT_PROBE = 11,  /* PMTU probe or its reply (rel_pmtu.c) */
	REL_PT_SEALED = 12, /* a whole packet of types 5-11, sealed by the crypto hook */
};
/* SEALED: the core reads only dst sid (4) and src sid (8); the rest is the
 * hook's (PROTOCOL.md 9.2).  The smallest holds a 16-byte packet. */
#define REL_SEALED_MIN(overhead) ((overhead) + REL_HDR_LEN + REL_CRC_LEN)
#define REL_PROBE_LEN 8     /* probe number, echo; then padding */
#define REL_PART_LEN 8      /* DATA with PART: frag_len, part_index, part_count */
#define REL_PART_MAX 128    /* parts a fragment may be cut into */

enum {
	REL_F_ECHO = 0x01,      /* ts_echo is valid */
	REL_F_FIN = 0x02,       /* DATA: end of session (empty, consumes a seq) */
	REL_F_SEQPACKET = 0x04, /* DATA: in-order delivery (else rdm) */
	REL_F_PART = 0x08,      /* DATA: one part of a fragment too big for the path */
	REL_F_ALL = 0x0f,
	REL_F_NOISE = 0x10,     /* CONNECT/ACCEPT: a Noise message before the CRC */
};

struct rel_pkt {
	uint8_t type, flags;
	uint32_t dst_sid, src_sid;
	/* handshake: COOKIE, CONNECT, ACCEPT */
	uint32_t bucket;
	uint64_t cookie;
	uint32_t init_seq, window_pkts, max_msg, budget;
	/* PATH_CHALLENGE, PATH_RESPONSE */
	uint64_t token;
	/* ack block: DATA, ACK, PING, DGRAM */
	uint32_t ts, ts_echo, window, cum_ack;
	uint8_t sack_words;
	uint32_t sack[REL_SACK_MAX];
	/* DATA (seq) and DGRAM (seq = dgram counter) */
	uint32_t seq, msg_len, frag_off, frag_index, frag_count;
	uint32_t frag_size; /* decode: derived (see decode_data_fields) */
	/* DATA/DGRAM payload, a PROBE's padding, the Noise message of a
	 * CONNECT/ACCEPT with REL_F_NOISE: borrowed from the decoded buffer */
	const uint8_t *payload;
	size_t payload_len;
	size_t hello_len; /* HELLO: total length to pad to */
	/* PROBE: its number (0 in a reply), the number answered (0 in a probe) */
	uint32_t probe_id, probe_echo;
	size_t pad_to;    /* PROBE: total length to pad to (encode) */
	/* DATA with REL_F_PART: the whole fragment's length; this part's number
	 * of part_count; payload is the part.  Decoding checks the fragment
	 * fields as if frag_len bytes had come. */
	uint32_t frag_len;
	uint16_t part_index, part_count;
};

/* Returns the datagram length, or UDP_ENOSPACE / UDP_EINVAL. */
int rel_wire_encode(const struct rel_pkt *p, uint8_t *buf, size_t cap);
/* Returns 0 or REL_EMAGIC / REL_ECHECKSUM / REL_EMALFORMED.  p->payload
 * points into buf. */
int rel_wire_decode(struct rel_pkt *p, const uint8_t *buf, size_t len);
/* The sids of a SEALED datagram (type 12 checked by the caller): 0, or
 * REL_EMALFORMED when shorter than REL_SEALED_MIN(overhead) or a sid is 0. */
int rel_wire_sealed(const uint8_t *buf, size_t len, size_t overhead, uint32_t *dst, uint32_t *src);
/* Bytes of part i of a fragment of frag_len bytes cut into count parts. */
uint32_t rel_part_len(uint32_t frag_len, uint32_t count, uint32_t i);

#endif
