/* netsim.h - a loss/delay/reorder simulator for datagrams, spoken in
 * tc-netem's words ("loss 5% delay 20ms 5ms rate 1mbit seed 42").
 *
 * The simulator is a queue the caller feeds and drains: push() every
 * datagram as it would be sent (or as it arrives), pop() what is due,
 * and sleep until next_due().  It never reads a clock: every call takes
 * the caller's time in microseconds, and all randomness comes from a PRNG
 * seeded by the spec, so the same spec and the same calls give the same
 * output byte for byte.  The grammar and its differences from tc-netem are
 * in docs/NETSIM.md.
 *
 * One instance models one direction.  A tool that impairs both directions
 * holds two instances, each with its own spec (and, if it picks random
 * seeds, two different seeds so the directions are not mirror images).
 *
 * Ownership: push() copies the datagram; the caller keeps its buffer.
 * pop() copies into the caller's buffer.  The simulator holds at most
 * `limit` datagrams; their buffers are reused, so a steady flow does not
 * allocate. */
#ifndef NETSIM_H
#define NETSIM_H

#include <stddef.h>
#include <stdint.h>

#include "udp_addr.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct netsim;

/* Largest datagram push() accepts (bigger ones get UDP_ETOOBIG); it bounds
 * the memory a full queue can hold to limit * this. */
#define NETSIM_MAX_PKT (1u << 20)
#define NETSIM_LIMIT_DEFAULT 1000u  /* as netem */
#define NETSIM_LIMIT_MAX 1000000u
#define NETSIM_SEED_DEFAULT 0x6e6574656d2e7564ull /* "netem.ud" */
/* Longest `rate trace FILE` path. */
#define NETSIM_TRACE_PATH_MAX 256
/* Room for any netsim_describe() output, including the NUL. */
#define NETSIM_DESCRIBE_MAX (512 + NETSIM_TRACE_PATH_MAX)

enum netsim_loss_model {
	NETSIM_LOSS_NONE = 0,
	NETSIM_LOSS_RANDOM,  /* loss [random] P [CORR] */
	NETSIM_LOSS_GEMODEL, /* loss gemodel p [r [1-h [1-k]]], loss burst MEAN LEN */
	NETSIM_LOSS_STATE,   /* loss state p13 [p31 [p32 [p23 [p14]]]] */
};

enum netsim_dist {
	NETSIM_DIST_UNIFORM = 0,
	NETSIM_DIST_NORMAL,
	NETSIM_DIST_PARETO,
	NETSIM_DIST_PARETONORMAL,
};

/* Which words a spec gave (netsim_config.given); describe() prints
 * exactly these, so "limit 1000" stays visible if the user wrote it. */
enum {
	NETSIM_GIVEN_LIMIT = 1 << 0,
	NETSIM_GIVEN_DELAY = 1 << 1,
	NETSIM_GIVEN_DIST = 1 << 2,
	NETSIM_GIVEN_LOSS = 1 << 3,
	NETSIM_GIVEN_CORRUPT = 1 << 4,
	NETSIM_GIVEN_DUPLICATE = 1 << 5,
	NETSIM_GIVEN_REORDER = 1 << 6,
	NETSIM_GIVEN_GAP = 1 << 7,
	NETSIM_GIVEN_RATE = 1 << 8,
	NETSIM_GIVEN_SEED = 1 << 9,
	NETSIM_GIVEN_MTU = 1 << 10,
};

/* A parsed spec.  Probabilities are fractions 0..1 (the text says 5%,
 * this holds 0.05); times are nanoseconds so "ns" units survive. */
struct netsim_config {
	unsigned given;               /* NETSIM_GIVEN_* */
	uint32_t limit;               /* queue length in packets, >= 1 */
	uint64_t delay_ns;
	uint64_t jitter_ns;
	double delay_corr;
	enum netsim_dist dist;
	enum netsim_loss_model loss_model;
	/* RANDOM: P, CORR.  GEMODEL: p, r, 1-h, 1-k.
	 * STATE: p13, p31, p32, p23, p14. */
	double loss[5];
	/* `loss burst MEAN LEN` as written (burst_len 0: not given that way);
	 * loss[] holds the gemodel it maps to, which is what runs. */
	double burst_mean, burst_len;
	double corrupt, corrupt_corr;
	double duplicate, duplicate_corr;
	double reorder, reorder_corr;
	uint32_t gap;                 /* 1 when reorder has no gap, as tc */
	uint64_t rate_bps;            /* bits per second, 0 = no rate limit */
	int32_t rate_overhead;        /* bytes added to every packet (may be < 0) */
	uint32_t rate_cell;           /* cell size in bytes, 0 = no cells */
	int32_t rate_cell_overhead;   /* bytes added to every cell */
	/* `rate trace FILE` (rate_bps 0): the file's path, loaded by
	 * netsim_new_config(); "" = no trace (netsim_trace.h) */
	char rate_trace[NETSIM_TRACE_PATH_MAX];
	uint32_t mtu;                 /* largest datagram passed (bytes), 0 = any */
	uint64_t seed;
};

/* What an instance did, since it was made. Invariant, at any moment:
 * in + duplicated == passed + lost + too_big + queue_drops + queued. */
struct netsim_counters {
	uint64_t in;          /* datagrams pushed (not counting UDP_ETOOBIG) */
	uint64_t passed;      /* datagrams popped, duplicates included */
	uint64_t lost;        /* dropped by the loss model */
	uint64_t too_big;     /* dropped for being larger than `mtu` */
	uint64_t duplicated;  /* extra copies made by duplicate */
	uint64_t reordered;   /* sent at once, overtaking delayed ones */
	uint64_t corrupted;   /* had one bit flipped */
	uint64_t delayed;     /* queued with a due time later than push time */
	uint64_t queue_drops; /* dropped because `limit` packets were queued */
	uint64_t queued;      /* in the queue now */
	uint64_t bytes_in;
	uint64_t bytes_passed;
};

/* A config that impairs nothing: limit 1000, default seed. */
UDPKIT_API void netsim_config_default(struct netsim_config *cfg);

/* Parses a spec (NULL or "" or blanks: no impairment) into *cfg.  On error
 * returns a UDP_ENETSIM_* code and writes one line naming the word and the
 * reason into err (if err != NULL and errlen > 0), e.g.
 *   loss: '150%' is not a percentage between 0 and 100
 *   unknown word 'lose' */
UDPKIT_API int netsim_parse(struct netsim_config *cfg, const char *spec,
		     char *err, size_t errlen);

/* Writes the normalized spec of cfg (canonical word order and units; it
 * parses back to the same config) and returns its length, or
 * UDP_ENOSPACE if cap is too small (NETSIM_DESCRIBE_MAX always fits). */
UDPKIT_API int netsim_config_describe(const struct netsim_config *cfg,
			       char *buf, size_t cap);

/* Parses spec and makes a simulator: netsim_parse() + _new_config().
 * Returns 0, a UDP_ENETSIM_* code (with err filled), or UDP_ENOMEM. */
UDPKIT_API int netsim_new(struct netsim **out, const char *spec,
		   char *err, size_t errlen);
/* From a config (e.g. one built in code).  UDP_EINVAL if it is out of
 * range; the config is copied.  A `rate trace` file is read here (its
 * errors: UDP_ESYS with errno, UDP_ENETSIM_VALUE). */
UDPKIT_API int netsim_new_config(struct netsim **out,
			  const struct netsim_config *cfg);
UDPKIT_API void netsim_free(struct netsim *ns); /* NULL is a no-op */

/* Offers one datagram at time now_us.  addr (may be NULL) travels with it
 * and comes back from pop().  Returns 0 when the datagram was taken or
 * dropped by the model (lost: see the counters, not an error);
 * UDP_ENETSIM_FULL when `limit` datagrams were already queued (it, or its
 * duplicate, was dropped and counted in queue_drops); UDP_ETOOBIG above
 * NETSIM_MAX_PKT; UDP_ENOMEM.  now_us must not go backwards. */
UDPKIT_API int netsim_push(struct netsim *ns, uint64_t now_us, const void *pkt,
		    size_t len, const struct udp_addr *addr);

/* Takes the earliest datagram due at or before now_us.  Returns 1 with the
 * datagram copied to buf, its length in *len and its address in *addr (if
 * addr != NULL); 0 if nothing is due; UDP_ENOSPACE if cap is too small
 * (then *len is the size needed and the datagram stays queued). */
UDPKIT_API int netsim_pop(struct netsim *ns, uint64_t now_us, void *buf,
		   size_t cap, size_t *len, struct udp_addr *addr);

/* When the earliest queued datagram is due (microseconds, rounded up), or
 * UINT64_MAX if the queue is empty: the timeout for the next poll(). */
UDPKIT_API uint64_t netsim_next_due(const struct netsim *ns);

UDPKIT_API void netsim_counters(const struct netsim *ns,
			 struct netsim_counters *out);

/* 1 if the spec changes nothing (no loss, delay, reorder, duplicate,
 * corrupt, rate or mtu): a tool may then skip the simulator entirely. */
UDPKIT_API int netsim_is_passthrough(const struct netsim *ns);

/* 1 if the spec said `seed N`.  A tool that wants a fresh random run when
 * it did not calls netsim_reseed() and prints netsim_seed(), so the
 * run can be repeated with `seed N`. */
UDPKIT_API int netsim_has_seed(const struct netsim *ns);
UDPKIT_API uint64_t netsim_seed(const struct netsim *ns);
/* Restarts every random choice (and the loss model's state) from seed, and
 * marks the seed as given so describe() shows it.  Queued datagrams stay. */
UDPKIT_API void netsim_reseed(struct netsim *ns, uint64_t seed);

/* ---- Timelines (netsim_schedule.h): the model changes over time ----
 *
 * Gives the model a timeline (copied): from then on every push first takes
 * the phase in force at (now - time 0): no impairment before the first
 * phase.  A change keeps the queue (datagrams leave when they were due),
 * the rate link's clock and the random streams; a `seed` in the first phase
 * seeds the whole run.  Time 0 is netsim_start_at()'s, or the first push.
 * Returns 0, UDP_EINVAL (a phase that makes no model, or one with `rate
 * trace`: files are not read in the middle of a run) or UDP_ENOMEM.  An
 * instance with a timeline is never passthrough. */
struct netsim_schedule;
UDPKIT_API int netsim_set_schedule(struct netsim *ns, const struct netsim_schedule *sched);
UDPKIT_API void netsim_start_at(struct netsim *ns, uint64_t now_us);
/* The phase in force (index into the timeline), -1 before the first or
 * without a timeline. */
UDPKIT_API int netsim_schedule_phase(const struct netsim *ns);

/* The normalized spec (see netsim_config_describe()). */
UDPKIT_API int netsim_describe(const struct netsim *ns, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
