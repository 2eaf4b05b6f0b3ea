#include <string.h>

#include "udp_err.h"
#include "seal_replay.h"

#define WORD_OF(c) ((c) / 64)
#define SLOT_OF(c) (WORD_OF(c) % SEAL_REPLAY_WORDS)
#define BIT_OF(c) ((uint64_t)1 << ((c) % 64))

void seal_replay_init(struct seal_replay *w)
{
	memset(w, 0, sizeof *w);
}

void seal_replay_init_floor(struct seal_replay *w, uint64_t floor)
{
	seal_replay_init(w);
	if (floor == 0)
		return;
	/* top = floor - 1 with every bit set: everything <= top is "seen". */
	w->started = 1;
	w->top = floor - 1;
	memset(w->bits, 0xff, sizeof w->bits);
	/* ...but not the counters above top in top's own word: commits that
	 * stay in that word clear nothing, so a set bit there would refuse
	 * a fresh counter that arrives after a higher one. */
	if (w->top % 64 != 63)
		w->bits[SLOT_OF(w->top)] = (BIT_OF(w->top) << 1) - 1;
}

int seal_replay_check(const struct seal_replay *w, uint64_t counter)
{
	if (!w->started || counter > w->top)
		return 0;
	if (w->top - counter >= SEAL_REPLAY_WINDOW)
		return UDP_ESEAL_OLD;
	if (w->bits[SLOT_OF(counter)] & BIT_OF(counter))
		return UDP_ESEAL_REPLAY;
	return 0;
}

void seal_replay_commit(struct seal_replay *w, uint64_t counter)
{
	if (!w->started) {
		memset(w->bits, 0, sizeof w->bits);
		w->started = 1;
		w->top = counter;
	} else if (counter > w->top) {
		uint64_t from = WORD_OF(w->top), to = WORD_OF(counter);
		if (to - from >= SEAL_REPLAY_WORDS) {
			memset(w->bits, 0, sizeof w->bits);
		} else {
			/* clear the words top passes into: from+1 .. to */
			for (uint64_t i = from + 1; i <= to; i++)
				w->bits[i % SEAL_REPLAY_WORDS] = 0;
		}
		w->top = counter;
	}
	w->bits[SLOT_OF(counter)] |= BIT_OF(counter);
}
