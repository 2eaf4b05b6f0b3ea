/* netsim_sock.c - the loss simulator as a layer on a socket.
 *
 * Installed in the socket's netsim slot (udp/internal/udp_sock_int.h), the
 * lowest: udp_sock.c calls it only for a direction whose model impairs, and
 * it reaches the wire through udp_sock_sys_*(), making no system call of
 * its own besides the clock and getrandom.
 *
 * Outgoing: datagrams are pushed into the model, and those due are popped
 * into a staging batch that goes to the kernel with one send_batch (so GSO
 * still applies).  What the kernel refuses for lack of room stays staged,
 * in order, for the next send or flush: a full socket buffer delays
 * datagrams, as a real one does, instead of losing them here.
 * Incoming: the kernel's datagrams are drained into the model (without
 * waiting) and what is due is copied to the caller.  The only wait is the
 * socket's own, taken when the model holds nothing at all, so blocking
 * sockets, SO_RCVTIMEO and O_NONBLOCK keep their meaning. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "udp_err.h"
#include "netsim.h"
#include "netsim_sock.h"
#include "udp_sock.h"
#include "internal/udp_sock_int.h"

#define LEVEL UDP_SOCK_LAYER_NETSIM
/* Datagrams per send_batch of the staging area (udp_sock.c's batch size). */
#define STAGE_MAX 64
/* Any datagram the model accepts fits in an empty staging arena or in the
 * receive scratch buffer.  Both are allocated on first use; untouched pages
 * of a big malloc cost no memory. */
#define ARENA_CAP NETSIM_MAX_PKT
/* Datagrams taken from the kernel per receive call, so that a flood cannot
 * keep one call busy for ever. */
#define DRAIN_MAX 256

struct netsim_sock {
	struct netsim *out, *in;
	unsigned char out_on, in_on;     /* that model impairs */
	struct udp_msg stage[STAGE_MAX]; /* popped, not yet taken by the kernel */
	unsigned stage_head, stage_n;
	unsigned char *arena;            /* the staged datagrams' bytes */
	unsigned char *rbuf;             /* receive scratch */
};

static const struct udp_sock_layer_ops ops;

static struct netsim_sock *state(const struct udp_sock *s)
{
	return udp_sock_layer_get(s, LEVEL);
}

static void sim_free(void *st)
{
	struct netsim_sock *sim = st;
	if (!sim)
		return;
	netsim_free(sim->out);
	netsim_free(sim->in);
	free(sim->arena);
	free(sim->rbuf);
	free(sim);
}

int netsim_sock_attach(struct udp_sock *s, struct netsim *out,
		       struct netsim *in)
{
	if (!s) {
		netsim_free(out);
		netsim_free(in);
		return UDP_EINVAL;
	}
	struct netsim_sock *sim = state(s);
	if (!sim && !(sim = calloc(1, sizeof *sim))) {
		netsim_free(out);
		netsim_free(in);
		return UDP_ENOMEM;
	}
	netsim_free(sim->out);
	netsim_free(sim->in);
	sim->out = out;
	sim->in = in;
	sim->stage_head = sim->stage_n = 0;
	/* A passthrough model is kept (its seed and spec stay readable) but
	 * the I/O paths skip it. */
	sim->out_on = out && !netsim_is_passthrough(out);
	sim->in_on = in && !netsim_is_passthrough(in);
	return udp_sock_layer_set(s, LEVEL, &ops, sim, sim->out_on, sim->in_on);
}

void netsim_sock_get(const struct udp_sock *s, const struct netsim **out,
		     const struct netsim **in)
{
	const struct netsim_sock *sim = s ? state(s) : NULL;
	if (out)
		*out = sim ? sim->out : NULL;
	if (in)
		*in = sim ? sim->in : NULL;
}

/* ---- environment ---- */

static uint64_t random_seed(void)
{
	uint64_t seed;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
		return seed;
	/* No entropy yet (early boot): a run that differs is all we need. */
	return udp_sock_now(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
}

/* The model a variable names, NULL when it is unset or empty. */
static int env_model(const char *var, struct netsim **out, char *err,
		     size_t errlen)
{
	*out = NULL;
	const char *spec = getenv(var);
	if (!spec || !*spec)
		return 0;
	char why[200];
	int rc = netsim_new(out, spec, why, sizeof why);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", var, why);
		return rc;
	}
	if (!netsim_has_seed(*out))
		netsim_reseed(*out, random_seed());
	return 0;
}

static int env_models(struct netsim **out, struct netsim **in,
		      char *err, size_t errlen)
{
	*in = NULL;
	int rc = env_model("UDPKIT_NETSIM", out, err, errlen);
	if (!rc)
		rc = env_model("UDPKIT_NETSIM_IN", in, err, errlen);
	if (rc) {
		netsim_free(*out);
		*out = NULL;
	}
	return rc;
}

int netsim_sock_env_check(char *err, size_t errlen)
{
	struct netsim *out, *in;
	if (err && errlen)
		err[0] = '\0';
	int rc = env_models(&out, &in, err, errlen);
	netsim_free(out);
	netsim_free(in);
	return rc;
}

/* Run by udp_sock_open*() on every new socket of a program that links this
 * file: the registration below is what ties the variables to the linking. */
static int env_attach(struct udp_sock *s)
{
	struct netsim *out, *in;
	int rc = env_models(&out, &in, NULL, 0);
	if (rc || (!out && !in))
		return rc;
	return netsim_sock_attach(s, out, in);
}

__attribute__((constructor)) static void env_register(void)
{
	(void)udp_sock_layer_on_open(LEVEL, env_attach);
}

/* ---- outgoing ---- */

/* Pops what is due into an empty staging area. */
static int stage_fill(struct netsim_sock *sim, uint64_t now)
{
	if (!sim->arena && !(sim->arena = malloc(ARENA_CAP)))
		return UDP_ENOMEM;
	sim->stage_head = sim->stage_n = 0;
	size_t used = 0;
	while (sim->stage_n < STAGE_MAX) {
		struct udp_msg *m = &sim->stage[sim->stage_n];
		size_t len;
		if (netsim_pop(sim->out, now, sim->arena + used, ARENA_CAP - used,
				   &len, &m->addr) != 1)
			break; /* nothing due, or no room left: send these first */
		m->buf = sim->arena + used;
		m->len = len;
		used += len;
		sim->stage_n++;
	}
	return 0;
}

static int flush_at(struct udp_sock *s, struct netsim_sock *sim, uint64_t now)
{
	int total = 0;
	for (;;) {
		if (sim->stage_head == sim->stage_n) {
			int rc = stage_fill(sim, now);
			if (rc)
				return total ? total : rc;
			if (!sim->stage_n)
				return total;
		}
		int rc = udp_sock_sys_send_batch(s, sim->stage + sim->stage_head,
						 sim->stage_n - sim->stage_head);
		if (rc == UDP_EAGAIN)
			return total ? total : rc;
		if (rc < 0) {
			sim->stage_head++;
			return rc;
		}
		sim->stage_head += (unsigned)rc;
		total += rc;
	}
}

static int sim_flush(struct udp_sock *s, void *st)
{
	struct netsim_sock *sim = st;
	if (!sim->out_on)
		return 0;
	return flush_at(s, sim, udp_sock_now(s));
}

/* After pushing: a refused flush is not the caller's failure, the datagrams
 * wait staged; another error is reported by the call that met it. */
static int after_push(struct udp_sock *s, struct netsim_sock *sim, uint64_t now,
		      int ret)
{
	int rc = flush_at(s, sim, now);
	return rc < 0 && rc != UDP_EAGAIN ? rc : ret;
}

static int sim_send(struct udp_sock *s, void *st, const void *buf, size_t len,
		    const struct udp_addr *to)
{
	struct netsim_sock *sim = st;
	uint64_t now = udp_sock_now(s);
	int rc = netsim_push(sim->out, now, buf, len, to);
	if (rc < 0 && rc != UDP_ENETSIM_FULL)
		return rc; /* a queue overflow is a drop, counted; not an error */
	return after_push(s, sim, now, (int)len);
}

static int sim_send_batch(struct udp_sock *s, void *st, struct udp_msg *msgs,
			  unsigned n)
{
	struct netsim_sock *sim = st;
	uint64_t now = udp_sock_now(s);
	for (unsigned i = 0; i < n; i++) {
		int rc = netsim_push(sim->out, now, msgs[i].buf, msgs[i].len,
				     &msgs[i].addr);
		if (rc < 0 && rc != UDP_ENETSIM_FULL)
			return i ? (int)i : rc;
	}
	return after_push(s, sim, now, (int)n);
}

/* ---- incoming ---- */

/* Copies due datagrams to msgs[0..n), truncating as the kernel would. */
static unsigned pop_due(struct netsim_sock *sim, uint64_t now,
			struct udp_msg *msgs, unsigned n)
{
	unsigned got = 0;
	while (got < n) {
		struct udp_msg *m = &msgs[got];
		size_t len;
		int r = netsim_pop(sim->in, now, m->buf, m->cap, &len, &m->addr);
		if (r == UDP_ENOSPACE) {
			r = netsim_pop(sim->in, now, sim->rbuf, ARENA_CAP, &len, &m->addr);
			if (r == 1 && m->cap)
				memcpy(m->buf, sim->rbuf, m->cap);
		}
		if (r != 1)
			break;
		m->wire_len = len;
		m->len = len < m->cap ? len : m->cap;
		m->flags = len > m->cap ? UDP_MSG_TRUNC : 0;
		m->seg_size = 0;
		got++;
	}
	return got;
}

/* One datagram from the kernel into the model.  A datagram above the
 * scratch size (only AF_UNIX allows one) goes in cut to it. */
static int take_one(struct udp_sock *s, struct netsim_sock *sim, int flags)
{
	struct udp_msg m = { .buf = sim->rbuf, .cap = ARENA_CAP };
	int rc = udp_sock_sys_recv(s, &m, flags);
	if (rc < 0)
		return rc;
	/* FULL and ENOMEM are drops the counters show. */
	(void)netsim_push(sim->in, udp_sock_now(s), m.buf, m.len, &m.addr);
	return 0;
}

static int sim_recv_batch(struct udp_sock *s, void *st, struct udp_msg *msgs,
			  unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if ((!msgs[i].buf && msgs[i].cap) || msgs[i].cap > INT_MAX)
			return UDP_EINVAL;
	struct netsim_sock *sim = st;
	if (!sim->rbuf && !(sim->rbuf = malloc(ARENA_CAP)))
		return UDP_ENOMEM;

	int err = 0;
	for (unsigned i = 0; i < DRAIN_MAX && !err; i++)
		err = take_one(s, sim, MSG_DONTWAIT);
	unsigned got = pop_due(sim, udp_sock_now(s), msgs, n);
	if (got)
		return (int)got;
	if (err != UDP_EAGAIN)
		return err ? err : UDP_EAGAIN; /* a kernel error, or a flood held back */
	if (netsim_next_due(sim->in) != UINT64_MAX)
		return UDP_EAGAIN; /* held back: poll until udp_sock_next_due() */
	/* Nothing held: wait as the socket itself would. */
	err = take_one(s, sim, 0);
	if (err)
		return err;
	got = pop_due(sim, udp_sock_now(s), msgs, n);
	return got ? (int)got : UDP_EAGAIN;
}

/* ---- status ---- */

static uint64_t sim_next_due(const struct udp_sock *s, const void *st)
{
	(void)s;
	const struct netsim_sock *sim = st;
	if (sim->stage_head < sim->stage_n)
		return 0;
	uint64_t due = UINT64_MAX;
	if (sim->out_on)
		due = netsim_next_due(sim->out);
	if (sim->in_on) {
		uint64_t d = netsim_next_due(sim->in);
		if (d < due)
			due = d;
	}
	return due;
}

void netsim_sock_counters(const struct udp_sock *s,
			  struct netsim_counters *out,
			  struct netsim_counters *in)
{
	const struct netsim_sock *sim = s ? state(s) : NULL;
	if (out) {
		memset(out, 0, sizeof *out);
		if (sim && sim->out)
			netsim_counters(sim->out, out);
	}
	if (in) {
		memset(in, 0, sizeof *in);
		if (sim && sim->in)
			netsim_counters(sim->in, in);
	}
}

static const struct udp_sock_layer_ops ops = {
	.send = sim_send,
	.send_batch = sim_send_batch,
	.recv_batch = sim_recv_batch,
	.next_due = sim_next_due,
	.flush = sim_flush,
	.free = sim_free,
	.one_by_one = 1,
};
