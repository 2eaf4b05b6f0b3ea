/* netsim_trace.h - delivery traces in mahimahi's format for `rate trace
 * FILE`: one line per delivery opportunity, the millisecond at which one
 * MTU-sized packet (NETSIM_TRACE_BYTES) may leave; the trace repeats with
 * a period of its last timestamp.  A cellular link recorded that way is
 * replayed as it was, which no fixed rate can do.
 *
 * Ownership: netsim_trace_load() allocates *out, netsim_trace_free() frees
 * it (NULL is a no-op).  The cursor is plain data the caller keeps. */
#ifndef NETSIM_TRACE_H
#define NETSIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define NETSIM_TRACE_BYTES 1500u        /* bytes one opportunity carries */
#define NETSIM_TRACE_MAX_LINES 10000000u /* 40 MB of opportunities at most */

struct netsim_trace {
	uint32_t *ms;      /* opportunity times, non-decreasing, in one period */
	size_t n;
	uint64_t period_ms; /* the last timestamp: the trace repeats after it */
};

/* Where a link is in its trace: the next opportunity and what is left of
 * it.  Zero it before the first use; the base time is taken then. */
struct netsim_trace_cursor {
	int started;
	uint64_t base_ns;  /* time 0 of the trace */
	uint64_t round;    /* how many whole periods have passed */
	size_t pos;        /* index of the current opportunity */
	uint32_t left;     /* bytes the current opportunity can still carry */
};

/* Reads a trace file.  Returns 0, UDP_ESYS (errno: cannot open or read),
 * UDP_ENOMEM, or UDP_ENETSIM_VALUE with one line in err naming the line
 * ("line 3: '12x' is not a millisecond count"). */
int netsim_trace_load(struct netsim_trace **out, const char *path, char *err,
		      size_t errlen);
void netsim_trace_free(struct netsim_trace *t);

/* The time (ns) at which a datagram of len bytes, ready at ready_ns, has
 * left: it takes the first opportunity at or after ready_ns that still has
 * room, and as many after it as its bytes need.  Unused opportunities are
 * lost, as on a real link.  Advances the cursor. */
uint64_t netsim_trace_depart(const struct netsim_trace *t,
			     struct netsim_trace_cursor *c, uint64_t ready_ns,
			     size_t len);

#endif
