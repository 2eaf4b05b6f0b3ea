/* chat_log.h - what a chat peer said (for catch-up and /history) and
 * which lines of each sender it has shown (so a repeat is dropped).
 *
 * The log keeps the lines this peer sent to everyone (MSG, ME; not PRIV,
 * which goes to one peer that has a session already), oldest first, within
 * three bounds, whichever bites first: CHAT_LOG_LINES lines, CHAT_LOG_AGE_US
 * of age, CHAT_LOG_BYTES of text.  A peer that meets us later than that
 * misses the older lines: there is no history server.
 *
 * The seen table keeps, per sender id, the range of line counters shown,
 * for up to CHAT_SEEN_MAX senders (the least recently heard is forgotten
 * first).  Lines of one sender arrive in its order over each session, and
 * catch-up resends from the start, so "newer than the newest shown" is
 * exactly "not shown yet" for live and catch-up lines; history answers only
 * hold lines older than any of those (docs/CHAT.md, "Catch-up").
 *
 * Pure data structures: no I/O, time is passed in. */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

#include <stddef.h>
#include <stdint.h>

#define CHAT_LOG_LINES 1000
#define CHAT_LOG_AGE_US (600ull * 1000000u) /* 10 minutes */
#define CHAT_LOG_BYTES (1u << 20)           /* of text */
#define CHAT_SEEN_MAX 1024

struct chat_log_line {
	uint64_t seq;   /* the line counter on the wire */
	uint64_t ts;    /* wall clock when said, us since the Unix epoch */
	uint64_t mono;  /* caller's monotonic clock when said (for the age bound) */
	uint8_t type;   /* CHAT_MSG or CHAT_ME */
	uint16_t len;
	uint8_t *text;  /* owned by the log */
};

struct chat_log_config {
	size_t max_lines;  /* 1..CHAT_LOG_LINES */
	uint64_t max_age_us;
	size_t max_bytes;
};
void chat_log_config_default(struct chat_log_config *c);

struct chat_log;
/* Returns 0, UDP_EINVAL (a bound of 0, or max_lines too large) or UDP_ENOMEM. */
int chat_log_new(struct chat_log **out, const struct chat_log_config *cfg);
void chat_log_free(struct chat_log *l); /* NULL is a no-op */

/* Appends a line (seq must grow); the oldest go to keep the bounds.
 * Returns 0, UDP_EINVAL (text over 65535 bytes or longer than max_bytes)
 * or UDP_ENOMEM (the line is then not logged). */
int chat_log_add(struct chat_log *l, uint8_t type, uint64_t seq, uint64_t ts,
		 uint64_t mono, const void *text, size_t n);
/* Forgets lines older than max_age_us at monotonic time now. */
void chat_log_expire(struct chat_log *l, uint64_t now);
size_t chat_log_count(const struct chat_log *l);
size_t chat_log_bytes(const struct chat_log *l);
/* Line i, 0 the oldest; NULL past the end.  Valid until the next add/expire. */
const struct chat_log_line *chat_log_at(const struct chat_log *l, size_t i);
/* Catch-up for a peer that started at wall time start: the index of the
 * first line said at or after it (count when none). */
size_t chat_log_since(const struct chat_log *l, uint64_t start);
/* History for a peer that started at start: the first index of the last
 * up to n lines said before it; *end is one past them. */
size_t chat_log_before(const struct chat_log *l, uint64_t start, size_t n, size_t *end);

/* ---- lines shown, per sender ---- */
struct chat_seen;
int chat_seen_new(struct chat_seen **out);
void chat_seen_free(struct chat_seen *s);
/* A line seq of sender id arrived at time now (history: an answer to
 * HISTORY).  Returns 1 when it is new (and records it), 0 when it was
 * shown already, or is older than a line shown already. */
int chat_seen_check(struct chat_seen *s, uint64_t id, uint64_t seq, int history, uint64_t now);

#endif
