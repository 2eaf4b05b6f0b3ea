/* seal_replay.h - sliding anti-replay window for 64-bit packet counters.
 *
 * A ring of SEAL_REPLAY_WORDS 64-bit bitmap words in the style of RFC 6479:
 * the word holding the highest counter seen ("top") and the words before it
 * are kept; moving top forward clears only the words it passes over, never
 * shifts bits.  A counter is fresh when it is above top, or within
 * SEAL_REPLAY_WINDOW below top and its bit is clear.
 *
 * The check and the update are separate on purpose: check (read-only)
 * before authenticating a packet, commit only after it authenticated, so a
 * forged counter never moves the window.
 *
 * A plain value: embed it, copy it, nothing to free. */
#ifndef SEAL_REPLAY_H
#define SEAL_REPLAY_H

#include <stdint.h>

/* 128 words: 8128 counters, WireGuard's window.  A sender's burst of
 * reordered or delayed packets at 10 Gb/s (about 1 Mpps of 1.2 KB) spans
 * 8 ms before it falls out; 960 counters was under 1 ms.  Cost: 1 KiB per
 * session in the seal's table (docs/SEALING.md). */
#define SEAL_REPLAY_WORDS 128
/* Counters accepted below top: one word less than the ring, so the word
 * that top moves into can be cleared without losing a live bit. */
#define SEAL_REPLAY_WINDOW ((SEAL_REPLAY_WORDS - 1) * 64)

struct seal_replay {
	uint64_t top;     /* highest counter committed (valid when started) */
	int started;      /* 0 until the first commit */
	uint64_t bits[SEAL_REPLAY_WORDS];
};

/* Empty window: the first counter of any value is fresh. */
void seal_replay_init(struct seal_replay *w);

/* Window that treats every counter below `floor` as already seen (used
 * when a session is re-created after eviction).  floor 0 = empty window. */
void seal_replay_init_floor(struct seal_replay *w, uint64_t floor);

/* 0 if `counter` is fresh, UDP_ESEAL_REPLAY if it was seen, UDP_ESEAL_OLD
 * if it is below the window.  Does not change the window. */
int seal_replay_check(const struct seal_replay *w, uint64_t counter);

/* Records `counter` as seen, moving top forward if needed.  Call only
 * after seal_replay_check() said 0 and the packet authenticated. */
void seal_replay_commit(struct seal_replay *w, uint64_t counter);

#endif
