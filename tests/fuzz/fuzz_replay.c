/* fuzz_replay.c - seal_replay against a reference model.
 *
 * The model is the definition itself: the set of committed counters, a
 * floor (everything below it counts as seen) and top = the highest of
 * them.  seal_replay_check must give exactly what the model gives:
 *   counter > top                -> fresh (0)
 *   top - counter >= WINDOW      -> UDP_ESEAL_OLD
 *   below floor or committed     -> UDP_ESEAL_REPLAY
 *   else                         -> fresh
 * A fresh answer for a committed counter (an accepted replay) is the bug
 * that matters most; a wrong refusal would lose packets, so it aborts too.
 *
 * Input: 9 bytes choose the floor (byte 0 says whether to use one), then
 * 2 or 9 bytes per step: an op byte (how to pick the counter, and whether
 * the packet "authenticates", i.e. is committed after a fresh check) and
 * for absolute picks 8 counter bytes.  Relative picks land near top and
 * near the window edge, where the bit arithmetic is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "seal_replay.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define MAX_STEPS 2048

static uint64_t seen[MAX_STEPS];
static size_t nseen;

struct model {
	int started;
	uint64_t floor, top;
};

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int model_check(const struct model *m, uint64_t c)
{
	if (!m->started || c > m->top)
		return 0;
	if (m->top - c >= SEAL_REPLAY_WINDOW)
		return UDP_ESEAL_OLD;
	if (c < m->floor)
		return UDP_ESEAL_REPLAY;
	for (size_t i = 0; i < nseen; i++)
		if (seen[i] == c)
			return UDP_ESEAL_REPLAY;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seal_replay w;
	struct model m = {0, 0, 0};
	size_t i = 0;
	nseen = 0;
	if (size >= 9 && (data[0] & 1)) {
		m.floor = rd64(data + 1);
		i = 9;
	} else if (size >= 1) {
		i = 1;
	}
	seal_replay_init_floor(&w, m.floor);
	if (m.floor) {
		m.started = 1;
		m.top = m.floor - 1;
	}
	while (i < size && nseen < MAX_STEPS) {
		uint8_t op = data[i++];
		uint8_t arg = i < size ? data[i++] : 0;
		uint64_t c;
		/* bits 0..2: where the counter comes from */
		switch (op & 7) {
		case 0: /* absolute */
			if (size - i < 8)
				return 0;
			c = rd64(data + i);
			i += 8;
			break;
		case 1: c = m.top + arg; break;                  /* ahead */
		case 2: c = m.top - arg; break;                  /* behind */
		case 3: c = m.top - SEAL_REPLAY_WINDOW + arg - 128; break; /* window edge */
		case 4: c = m.top + (uint64_t)arg * 64; break;   /* word jumps */
		case 5: /* whole ring turns */
			c = m.top + (uint64_t)(arg & 0x1f) * 64 * SEAL_REPLAY_WORDS / 4 + (arg >> 5);
			break;
		case 6: c = nseen ? seen[arg % nseen] : arg;  break; /* a replay */
		default: c = UINT64_MAX - arg; break;            /* the far end */
		}
		int want = model_check(&m, c);
		int got = seal_replay_check(&w, c);
		check(got == want);
		/* bit 3 set: the packet fails to authenticate, nothing moves */
		if (got == 0 && !(op & 8)) {
			seal_replay_commit(&w, c);
			seen[nseen++] = c;
			if (!m.started || c > m.top)
				m.top = c;
			m.started = 1;
			check(w.top == m.top && w.started);
		}
		/* the check must be read-only, and a commit sticks */
		check(seal_replay_check(&w, c) == model_check(&m, c));
	}
	return 0;
}
