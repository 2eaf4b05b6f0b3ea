/* chat_roster.h - the roster of udpchat: who is there, and for how long
 * silent.  Sans-I/O: time is the caller's monotonic microsecond count.
 *
 * A peer is added when its session says HELLO, marked seen on every packet
 * from it, AWAY after away_us of silence (BACK when heard again) and GONE
 * (and removed) after gone_us.  Each peer carries a caller's tag (the
 * session id in udpchat). */
#ifndef CHAT_ROSTER_H
#define CHAT_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "chat_nick.h"
#include "chat_wire.h"

struct chat_roster;

struct chat_roster_config {
	uint64_t away_us; /* default 5 s */
	uint64_t gone_us; /* default 10 s; must be > away_us */
	size_t max_peers; /* default 256 */
};
void chat_roster_config_default(struct chat_roster_config *c);

enum chat_state { CHAT_LIVE = 0, CHAT_AWAY = 1 };
enum chat_roster_event_type { CHAT_ROSTER_AWAY = 1, CHAT_ROSTER_BACK, CHAT_ROSTER_GONE };

/* nick (escaped: chat_nick_display) # hex + NUL */
#define CHAT_NAME_MAX (CHAT_NICK_SHOW_MAX + 1 + 16)

struct chat_roster_event {
	enum chat_roster_event_type type;
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
			 struct chat_roster_event *ev);
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
			 struct chat_roster_event *ev);
/* When tick next has something to say (UINT64_MAX: never). */
uint64_t chat_roster_next_deadline(const struct chat_roster *r);

/* Display name "nick#xxxx": the nick as chat_nick_display shows it and the
 * id's first 4 hex digits; when another peer (or self_id, if not 0) has a
 * nick that looks the same (chat_nick_same_look), at least 8 digits and
 * one more than the ids share, so that two names on screen never look
 * alike, even with a chosen id prefix.  Returns the length or UDP_EINVAL. */
int chat_roster_name(const struct chat_roster *r, uint64_t self_id,
			 const char *self_nick, uint64_t id, const char *nick,
			 char *buf, size_t cap);
/* Finds a peer by "nick" (must be unique), "nick#hexprefix", or
 * "#hexprefix".  Returns 1 and sets *id, 0 when none matches, or
 * UDP_EINVAL when several do. */
int chat_roster_find(const struct chat_roster *r, const char *name,
			 uint64_t *id);

#endif
