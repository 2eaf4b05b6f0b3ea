/* chat_wire.h - the udpchat protocol: packet codec and the roster of peers.
 *
 * Sans-I/O like the rest of the library: packets are bytes in and out,
 * time is a caller-supplied monotonic microsecond count.  docs/CHAT.md
 * gives the byte offsets; tests/test_chat.c pins the behaviour.
 *
 * One packet format serves both paths: beacons (multicast/broadcast
 * datagrams, and unreliable heartbeats over a session) and the reliable
 * messages of a session (HELLO, MSG, ...). */
#ifndef CHAT_H
#define CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "udp_addr.h"

#define CHAT_MAGIC 0x55434854u /* "UCHT" */
#define CHAT_VERSION 1
#define CHAT_NICK_MAX 32   /* bytes, without the NUL */
#define CHAT_TEXT_MAX 4000 /* bytes of one message's text */
#define CHAT_HDR_LEN 17    /* magic..nick length, without nick and text */
#define CHAT_PKT_MAX (CHAT_HDR_LEN + CHAT_NICK_MAX + 2 + CHAT_TEXT_MAX)
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
};

/* A decoded packet.  text borrows the decoded buffer. */
struct chat_pkt {
	uint8_t type;
	uint64_t id;      /* the sender's random peer id */
	uint16_t port;    /* the sender's data port (beacons; 0 elsewhere) */
	char nick[CHAT_NICK_MAX + 1];
	const uint8_t *text;
	size_t text_len;
};

/* Is nick acceptable: 1..CHAT_NICK_MAX bytes, no control bytes, no
 * space, no '#' (the id suffix separator), no '/' at the start. */
int chat_nick_valid(const char *nick, size_t len);

/* Encodes p into buf; returns the length or UDP_ENOSPACE / UDP_EINVAL (bad
 * type, nick or text too long). */
int chat_pkt_encode(const struct chat_pkt *p, void *buf, size_t cap);
/* Decodes exactly len bytes.  Returns 0, UDP_ESHORT (truncated) or
 * UDP_EINVAL (not ours, unknown version/type, bad nick, trailing bytes). */
int chat_pkt_decode(struct chat_pkt *p, const void *buf, size_t len);

/* ---- peer lists (the text of a PEERS packet) ----
 *
 * Entries of 8-byte id, 1-byte family (4 or 6), 4 or 16 address bytes and
 * a 2-byte port, back to back.  A peer tells its peers about each other so
 * that --peer meshes (no multicast) fill in by themselves. */
struct chat_peer_addr {
	uint64_t id;
	struct udp_addr addr; /* AF_INET or AF_INET6 */
};

/* Appends one entry to w (see udp_wire.h); UDP_EFAMILY for other families,
 * UDP_ENOSPACE when it does not fit (w is then in error). */
struct udp_wire_writer;
struct udp_wire_reader;
int chat_peers_put(struct udp_wire_writer *w, const struct chat_peer_addr *e);
/* Reads the next entry: 1 and *e filled, 0 at the end of the list,
 * UDP_ESHORT (truncated) or UDP_EINVAL (unknown family). */
int chat_peers_next(struct udp_wire_reader *r, struct chat_peer_addr *e);

/* ---- the roster: who is there, and for how long silent ----
 *
 * A peer is added when its session says HELLO, marked seen on every packet
 * from it, AWAY after away_us of silence (BACK when heard again) and GONE
 * (and removed) after gone_us.  Each peer carries a caller's tag (the
 * session id in udpchat). */
struct chat_roster;

struct chat_roster_config {
	uint64_t away_us; /* default 5 s */
	uint64_t gone_us; /* default 10 s; must be > away_us */
	size_t max_peers; /* default 256 */
};
void chat_roster_config_default(struct chat_roster_config *c);

enum chat_state { CHAT_LIVE = 0, CHAT_AWAY = 1 };
enum chat_event_type { CHAT_EV_AWAY = 1, CHAT_EV_BACK, CHAT_EV_GONE };

#define CHAT_NAME_MAX (CHAT_NICK_MAX + 1 + 16 + 1) /* nick#hex + NUL */

struct chat_event {
	enum chat_event_type type;
	uint64_t id;
	uint32_t tag;
	char name[CHAT_NAME_MAX]; /* display name when it happened */
};

struct chat_peer_info {
	uint64_t id;
	uint32_t tag;
	enum chat_state state;
	uint64_t last_seen;
	char nick[CHAT_NICK_MAX + 1];
};

/* A new roster in *out (the caller's, freed with chat_roster_free).
 * Returns 0, UDP_EINVAL (bad config: gone <= away, zeros) or UDP_ENOMEM;
 * *out is NULL on failure. */
int chat_roster_new(struct chat_roster **out, const struct chat_roster_config *c);
void chat_roster_free(struct chat_roster *r); /* NULL is a no-op */

/* Adds a peer.  Returns 0, UDP_EINVAL (id already there, bad nick),
 * UDP_ENOSPACE (max_peers) or UDP_ENOMEM. */
int chat_roster_add(struct chat_roster *r, uint64_t id, const char *nick,
			uint32_t tag, uint64_t now);
/* Forgets a peer; returns 0 or UDP_EINVAL when unknown. */
int chat_roster_remove(struct chat_roster *r, uint64_t id);
/* Heard from id: 1 if it was AWAY (the caller reports BACK; the name is
 * in ev when ev is not NULL), 0 if not, UDP_EINVAL if unknown. */
int chat_roster_seen(struct chat_roster *r, uint64_t id, uint64_t now,
			 struct chat_event *ev);
int chat_roster_rename(struct chat_roster *r, uint64_t id, const char *nick);
int chat_roster_set_tag(struct chat_roster *r, uint64_t id, uint32_t tag);
/* Looks a peer up; returns 0 and fills *out (out may be NULL), or UDP_EINVAL. */
int chat_roster_get(const struct chat_roster *r, uint64_t id,
			struct chat_peer_info *out);
size_t chat_roster_count(const struct chat_roster *r);
/* The i-th peer in join order (i < count). */
int chat_roster_at(const struct chat_roster *r, size_t i,
		       struct chat_peer_info *out);

/* Runs the timers: returns 1 and fills *ev with the next AWAY or GONE
 * (a GONE peer is removed by this call), 0 when nothing is due. */
int chat_roster_tick(struct chat_roster *r, uint64_t now,
			 struct chat_event *ev);
/* When tick next has something to say (UINT64_MAX: never). */
uint64_t chat_roster_next_deadline(const struct chat_roster *r);

/* Display name "nick#xxxx": the id's first 4 hex digits, more when another
 * peer (or self_id, if not 0) with the same nick shares them, so that two
 * names on screen never look alike.  Returns the length or UDP_EINVAL. */
int chat_roster_name(const struct chat_roster *r, uint64_t self_id,
			 const char *self_nick, uint64_t id, const char *nick,
			 char *buf, size_t cap);
/* Finds a peer by "nick" (must be unique), "nick#hexprefix", or
 * "#hexprefix".  Returns 1 and sets *id, 0 when none matches, or
 * UDP_EINVAL when several do. */
int chat_roster_find(const struct chat_roster *r, const char *name,
			 uint64_t *id);

#endif
