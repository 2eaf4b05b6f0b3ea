/* chat_wire.h - the udpchat protocol: packet codec and peer lists.
 *
 * Sans-I/O like the rest of the library: packets are bytes in and out,
 * time is a caller-supplied monotonic microsecond count.  docs/CHAT.md
 * gives the byte offsets; tests/test_chat.c pins the behaviour.
 *
 * One packet format serves both paths: beacons (multicast/broadcast
 * datagrams, and unreliable heartbeats over a session) and the reliable
 * messages of a session (HELLO, MSG, ...). */
#ifndef CHAT_WIRE_H
#define CHAT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "udp_addr.h"

#define CHAT_MAGIC 0x55434854u /* "UCHT" */
#define CHAT_VERSION 2 /* 2: line ids and times, HELLO start time, HISTORY */
/* 3: version 2 from a peer with an identity key: BEACON, LEAVE and HELLO
 * carry its public key, PEERS entries the listed peers' keys */
#define CHAT_VERSION_IDENT 3
#define CHAT_KEY_LEN 32    /* an identity public key (X25519) */
#define CHAT_NICK_MAX 32   /* bytes, without the NUL */
#define CHAT_TEXT_MAX 4000 /* bytes of one message's text */
#define CHAT_HDR_LEN 17    /* magic..nick length, without nick and text */
/* the largest per-type field block of a packet that may carry CHAT_TEXT_MAX
 * bytes of text (a line's); FILE_OFFER's 44 come with a name of at most
 * CHAT_FILE_NAME_MAX, FILE_DATA's 12 are fewer */
#define CHAT_EXT_MAX 17
#define CHAT_FILE_NAME_MAX 255 /* bytes of a FILE_OFFER's name (its text) */
#define CHAT_SHA256_LEN 32
#define CHAT_PKT_MAX (CHAT_HDR_LEN + CHAT_NICK_MAX + CHAT_EXT_MAX + 2 + CHAT_TEXT_MAX)
#define CHAT_HISTORY_MAX 100 /* lines one HISTORY may ask each peer for */
/* A beacon sent to the group is padded (zero text bytes) to at least this:
 * the size of the reliable HELLO (REL_HELLO_LEN in docs/PROTOCOL.md) it
 * may draw, so that one beacon pays for one HELLO to its source. */
#define CHAT_BEACON_MIN 64

enum chat_type {
	CHAT_BEACON = 1, /* I am here (multicast, or heartbeat in a session) */
	CHAT_LEAVE = 2,  /* I am leaving (multicast) */
	CHAT_HELLO = 3,  /* first message of a session: who I am */
	CHAT_MSG = 4,    /* to everyone */
	CHAT_PRIV = 5,   /* to you only */
	CHAT_ME = 6,     /* an action (/me) */
	CHAT_NICK = 7,   /* my nickname is now pkt.nick */
	CHAT_BYE = 8,    /* last message of a session: I leave */
	CHAT_PEERS = 9,  /* peers I know: text is a list (chat_peers_*) */
	CHAT_HISTORY = 10, /* send me your last pkt.count lines from before I started */
	CHAT_FILE_OFFER = 11,  /* a file for you: fid, size, sha256; text: its name */
	CHAT_FILE_ACCEPT = 12, /* send me your file fid */
	CHAT_FILE_DATA = 13,   /* bytes of my file fid at off; text: the bytes */
	CHAT_FILE_CANCEL = 14, /* transfer fid ends: mine (1) or yours (0), reason */
};

/* Why a transfer ended (FILE_CANCEL's reason; 1..CHAT_FILE_WIRE_MAX on the
 * wire, the rest only said locally). */
enum chat_file_reason {
	CHAT_FILE_DONE = 1,      /* receiver: every byte, sha256 checked */
	CHAT_FILE_REFUSED = 2,   /* receiver: not wanted */
	CHAT_FILE_CANCELLED = 3, /* either side gave up */
	CHAT_FILE_FAILED = 4,    /* reading, writing, or a wrong sha256 */
	CHAT_FILE_TOO_BIG = 5,   /* receiver: over its size limit */
	CHAT_FILE_BUSY = 6,      /* receiver: too many transfers at once */
	CHAT_FILE_WIRE_MAX = 6,
	CHAT_FILE_GONE = 7,      /* local: the session ended mid-transfer */
};

/* Flags of a line (MSG, ME, PRIV).  A line is sent live at most once per
 * session; these say it is a repeat from the sender's log. */
#define CHAT_LINE_LATE 0x01    /* catch-up: said after you started, before we met */
#define CHAT_LINE_HISTORY 0x02 /* an answer to HISTORY: said before you started */

/* A decoded packet.  text borrows the decoded buffer. */
struct chat_pkt {
	uint8_t type;
	uint64_t id;      /* the sender's random peer id */
	uint16_t port;    /* the sender's data port (beacons; 0 elsewhere) */
	char nick[CHAT_NICK_MAX + 1];
	/* per type, between nick and text (docs/CHAT.md): */
	uint64_t start;   /* HELLO: when the sender started, us since the Unix epoch */
	uint64_t seq;     /* MSG, ME, PRIV: the sender's line counter, from 1 */
	uint64_t ts;      /* ... when the line was said, us since the Unix epoch */
	uint8_t flags;    /* ... CHAT_LINE_LATE or CHAT_LINE_HISTORY, or 0 */
	uint16_t count;   /* HISTORY: 1..CHAT_HISTORY_MAX */
	uint32_t fid;     /* FILE_*: the offering side's transfer id, not 0 */
	uint64_t size;    /* FILE_OFFER: bytes */
	uint8_t sha256[CHAT_SHA256_LEN]; /* FILE_OFFER: of the whole file */
	uint64_t off;     /* FILE_DATA: where text goes in the file */
	uint8_t mine;     /* FILE_CANCEL: 1: fid is the sender's offer, 0: the receiver's */
	uint8_t reason;   /* FILE_CANCEL: enum chat_file_reason, 1..CHAT_FILE_WIRE_MAX */
	/* version 3 (CHAT_VERSION_IDENT): the sender has an identity key,
	 * which BEACON, LEAVE and HELLO carry in key (never all zero) */
	uint8_t ident;
	uint8_t key[CHAT_KEY_LEN];
	const uint8_t *text;
	size_t text_len;
};

/* Is nick acceptable: 1..CHAT_NICK_MAX bytes, no control bytes, no
 * space, no '#' (the id suffix separator), no '/' at the start. */
int chat_nick_valid(const char *nick, size_t len);

/* Does a packet of type carry the sender's key in version 3? */
int chat_type_has_key(uint8_t type);

/* Is type a line (MSG, ME, PRIV: seq, ts and flags on the wire)? */
int chat_type_is_line(uint8_t type);

/* Encodes p into buf; returns the length or UDP_ENOSPACE / UDP_EINVAL (bad
 * type, nick, text too long, a line with seq 0 or unknown flags, a
 * HISTORY count out of range). */
int chat_pkt_encode(const struct chat_pkt *p, void *buf, size_t cap);
/* Decodes exactly len bytes.  Returns 0, UDP_ESHORT (truncated) or
 * UDP_EINVAL (not ours, unknown version/type, bad nick, trailing bytes, or a
 * per-type field the encoder would refuse). */
int chat_pkt_decode(struct chat_pkt *p, const void *buf, size_t len);

/* ---- peer lists (the text of a PEERS packet) ----
 *
 * Entries of 8-byte id, 1-byte family (4 or 6), 4 or 16 address bytes and
 * a 2-byte port, back to back.  A peer tells its peers about each other so
 * that --peer meshes (no multicast) fill in by themselves. */
struct chat_peer_addr {
	uint64_t id;
	struct udp_addr addr; /* AF_INET or AF_INET6 */
	/* in the lists of version 3 (identity peers): each entry ends with
	 * the peer's public key, as its lister's session verified it */
	int has_key;
	uint8_t key[CHAT_KEY_LEN];
};

/* Appends one entry to w (see udp_wire.h), with its key when has_key;
 * UDP_EFAMILY for other families,
 * UDP_ENOSPACE when it does not fit (w is then in error). */
struct udp_wire_writer;
struct udp_wire_reader;
int chat_peers_put(struct udp_wire_writer *w, const struct chat_peer_addr *e);
/* Reads the next entry: 1 and *e filled, 0 at the end of the list,
 * UDP_ESHORT (truncated) or UDP_EINVAL (unknown family). */
int chat_peers_next(struct udp_wire_reader *r, struct chat_peer_addr *e);
/* The same for a list of version 3: every entry has a key (all zero is
 * UDP_EINVAL). */
int chat_peers_next_keyed(struct udp_wire_reader *r, struct chat_peer_addr *e);

#endif
