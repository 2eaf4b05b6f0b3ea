/* netsim_schedule.h - a timeline of netsim specs ("0s loss 1%; 5s loss 30%
 * delay 80ms; 8s loss 100%; 10s loss 1%"), for links whose conditions
 * change: an outage is a phase of `loss 100%`.
 *
 * A schedule is plain data: the caller owns the struct (no allocation) and
 * asks which phase holds at a time measured from the start of the run.
 * Grammar and behaviour are in docs/NETSIM.md, "Timelines". */
#ifndef NETSIM_SCHEDULE_H
#define NETSIM_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "netsim.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* More phases than anyone types; a file of more is refused by name. */
#define NETSIM_SCHEDULE_MAX 64
/* Phase start times and the repeat period are at most a week. */
#define NETSIM_SCHEDULE_MAX_US (7ull * 24 * 3600 * 1000000)

struct netsim_phase {
	uint64_t start_us;          /* from the start of the run */
	struct netsim_config cfg;   /* what holds from start_us on */
};

struct netsim_schedule {
	unsigned n;                 /* phases, in increasing start_us */
	uint64_t repeat_us;         /* 0: the last phase holds for ever;
				     * else the timeline restarts every repeat_us */
	struct netsim_phase phase[NETSIM_SCHEDULE_MAX];
};

/* Parses entries separated by ';' or newlines, each `TIME SPEC` or, last,
 * `TIME repeat`; '#' starts a comment that runs to the end of the line.
 * TIME is a number with a unit (us, ms, s, min, h).  Before the first
 * phase nothing is impaired.  `seed` may only appear in the first phase:
 * one seed drives the whole run, so a timeline repeats exactly.
 * Returns 0, or a UDP_ENETSIM_* code with one line in err that names the
 * entry ("entry 2 (5s): loss: '150%' is not a percentage ..."). */
UDPKIT_API int netsim_schedule_parse(struct netsim_schedule *out, const char *text,
			  char *err, size_t errlen);

/* The phase that holds t_us after the start (repeats folded in), or -1
 * before the first phase. */
UDPKIT_API int netsim_schedule_phase_at(const struct netsim_schedule *s, uint64_t t_us);

/* The normal form ("0s loss 1%; 5s loss 30% delay 80ms; 10s repeat"),
 * which parses back to the same schedule; returns its length or
 * UDP_ENOSPACE. */
UDPKIT_API int netsim_schedule_describe(const struct netsim_schedule *s, char *buf,
			     size_t cap);

#ifdef __cplusplus
}
#endif

#endif
