/* np_state.c - the preload's state: the real libc functions, the specs from
 * the environment udpnetsim(1) sets, one pair of models per UDP socket, the
 * flusher thread, fork, and the --stats report at exit.
 *
 * Outgoing datagrams: every wrapped send pushes into the socket's model and
 * sends what is due at once; what the model delays is sent by a small
 * background thread that sleeps until the earliest due time (and by every
 * wrapped call, which flushes first).  A thread is the only way a datagram
 * can leave on time while the program sits in a call we do not wrap (a
 * sleep, a computation).  It starts on the first delayed datagram, so a
 * program that never needs it never has it, and it blocks every signal so
 * signal delivery stays the program's business. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "np.h"

struct np_real np_real;
pthread_mutex_t np_lock = PTHREAD_MUTEX_INITIALIZER;
unsigned char np_scratch[NP_MAXDGRAM];
int np_active;

static struct netsim_config cfg[2]; /* 0 out, 1 in */
static int impair[2];               /* direction not passthrough */
static struct np_sock *socks;       /* every live or lingering socket */
static unsigned next_index;
static int stats, top_process;

/* Counters of sockets already gone, kept for the report at exit. */
struct np_rec {
	unsigned index;
	int fd;
	struct netsim_counters c[2];
	uint64_t seed[2];
	uint64_t send_errors;
};
static struct np_rec *recs;
static size_t nrecs, caprecs;

static pthread_cond_t flush_cv;
static int flusher_running;

#define REAL(name) np_real.name = (__typeof__(np_real.name))dlsym(RTLD_NEXT, #name)

static void load_real(void)
{
	REAL(sendto); REAL(sendmsg); REAL(sendmmsg); REAL(send); REAL(write);
	REAL(recvfrom); REAL(recvmsg); REAL(recvmmsg); REAL(recv); REAL(read);
	REAL(poll); REAL(ppoll); REAL(select); REAL(pselect);
	REAL(epoll_wait); REAL(epoll_pwait); REAL(epoll_ctl);
	REAL(close); REAL(dup); REAL(dup2); REAL(dup3); REAL(fcntl);
	REAL(socket); REAL(accept); REAL(accept4);
}

uint64_t np_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	/* one write per line: the program's own stderr output may interleave */
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = np_real.write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

/* Reads one spec from the environment.  udpnetsim checked it already; a
 * bad one here means the library was preloaded by hand, and the program
 * then runs unimpaired rather than not at all. */
static void load_spec(int dir, const char *var)
{
	const char *spec = getenv(var);
	char err[256];
	netsim_config_default(&cfg[dir]);
	if (!spec || !*spec)
		return;
	if (netsim_parse(&cfg[dir], spec, err, sizeof err) < 0) {
		say("udpnetsim: %s: %s (not impairing)", var, err);
		netsim_config_default(&cfg[dir]);
		return;
	}
	struct netsim *ns;
	if (netsim_new_config(&ns, &cfg[dir]) < 0)
		return;
	impair[dir] = !netsim_is_passthrough(ns);
	netsim_free(ns);
	if (!(cfg[dir].given & NETSIM_GIVEN_SEED)) {
		/* udpnetsim always passes a seed; this is for direct use */
		uint64_t seed;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
			seed = np_now() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)dir;
		cfg[dir].seed = seed;
		cfg[dir].given |= NETSIM_GIVEN_SEED;
	}
}

static void at_fork_prepare(void) { pthread_mutex_lock(&np_lock); }
static void at_fork_parent(void) { pthread_mutex_unlock(&np_lock); }
static void at_fork_child(void)
{
	/* The child shares the sockets but not the flusher thread.  Sending the
	 * parent's queued datagrams a second time would duplicate them, so the
	 * child starts with no sockets known (the old ones are leaked, not freed:
	 * this runs in the fork's restricted context) and counts its own. */
	socks = NULL;
	recs = NULL;
	nrecs = caprecs = 0;
	next_index = 0;
	flusher_running = 0;
	top_process = 0;
	np_fd_reset_all();
	pthread_mutex_unlock(&np_lock);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
	load_real();
	load_spec(0, "UDPNETSIM_OUT");
	load_spec(1, "UDPNETSIM_IN");
	const char *st = getenv("UDPNETSIM_STATS");
	stats = st && *st && strcmp(st, "0") != 0;
	const char *top = getenv("UDPNETSIM_TOP_PID");
	top_process = top && strtol(top, NULL, 10) == (long)getpid();
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&flush_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
	np_active = impair[0] || impair[1];
}

void np_init(void)
{
	pthread_once(&once, init_once);
}

__attribute__((constructor)) static void np_ctor(void)
{
	np_init();
}

/* ---- sockets ---- */

static struct np_sock *sock_new(int fd, const struct stat *st)
{
	struct np_sock *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->fd = s->first_fd = fd;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->index = next_index++;
	for (int d = 0; d < 2; d++) {
		if (!impair[d])
			continue;
		/* socket k gets seed + k: the first one repeats `udpsend --netsim`
		 * exactly, and a program that opens a fresh socket per retry does
		 * not see every retry meet the same fate */
		struct netsim_config c = cfg[d];
		c.seed += s->index;
		if (netsim_new_config(d ? &s->in : &s->out, &c) < 0) {
			netsim_free(s->out);
			free(s);
			return NULL;
		}
	}
	s->next = socks;
	socks = s;
	return s;
}

/* Is fd a UDP socket over IP?  1 yes, 0 no (cache it), -1 cannot tell. */
static int is_udp(int fd)
{
	int v;
	socklen_t l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0)
		return errno == ENOTSOCK ? 0 : -1;
	if (v != SOCK_DGRAM)
		return 0;
	l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 ||
	    (v != AF_INET && v != AF_INET6))
		return 0;
	l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) < 0)
		return 0;
	return v == IPPROTO_UDP || v == IPPROTO_UDPLITE;
}

struct np_sock *np_lookup(int fd, int dir_in)
{
	if (!np_active || fd < 0)
		return NULL;
	int known;
	struct np_sock *s = np_fd_get(fd, &known);
	struct stat st;
	if (s) {
		/* An fd closed behind our back (a raw syscall, fclose inside libc)
		 * may now be a file: never treat a file as a socket. */
		if (fstat(fd, &st) < 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
			np_fd_forget(fd);
			s = NULL;
			known = 0;
		}
	} else if (known) {
		return NULL;
	}
	if (!s) {
		if (!np_fd_cacheable(fd))
			return NULL;
		int u = is_udp(fd);
		if (u <= 0) {
			if (u == 0)
				np_fd_set_other(fd);
			return NULL;
		}
		if (fstat(fd, &st) < 0 || !(s = sock_new(fd, &st)))
			return NULL;
		np_fd_put(fd, s);
	}
	return (dir_in ? s->in : s->out) ? s : NULL;
}

static void record(struct np_sock *s)
{
	if (nrecs == caprecs) {
		size_t n = caprecs ? caprecs * 2 : 16;
		struct np_rec *r = realloc(recs, n * sizeof *r);
		if (!r)
			return;
		recs = r;
		caprecs = n;
	}
	struct np_rec *r = &recs[nrecs++];
	memset(r, 0, sizeof *r);
	r->index = s->index;
	r->fd = s->first_fd;
	r->send_errors = s->send_errors;
	struct netsim *m[2] = { s->out, s->in };
	for (int d = 0; d < 2; d++)
		if (m[d]) {
			netsim_counters(m[d], &r->c[d]);
			r->seed[d] = netsim_seed(m[d]);
		}
}

/* Frees s (unlinked from socks) after keeping its counters. */
static void sock_retire(struct np_sock *s)
{
	for (struct np_sock **p = &socks; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	record(s);
	if (s->lingering)
		np_real.close(s->fd);
	netsim_free(s->out);
	netsim_free(s->in);
	free(s->peek);
	free(s);
}

void np_sock_release(struct np_sock *s, int fd)
{
	if (--s->refs > 0) {
		if (s->fd == fd)
			s->fd = -1; /* np_fd.c picks another fd of the socket */
		return;
	}
	struct netsim_counters c = { 0 };
	if (s->out)
		netsim_counters(s->out, &c);
	if (c.queued) {
		/* Delayed datagrams are on the wire already: keep a private fd of
		 * the socket until the flusher has sent them. */
		int priv = np_real.fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (priv >= 0) {
			s->fd = priv;
			s->lingering = 1;
			return;
		}
	}
	sock_retire(s);
}

/* ---- outgoing ---- */

static void flush_sock(struct np_sock *s, uint64_t now)
{
	struct udp_addr a;
	size_t len;
	while (s->fd >= 0 && netsim_pop(s->out, now, np_scratch, sizeof np_scratch, &len, &a) == 1) {
		/* MSG_DONTWAIT: we hold the lock; a full buffer loses the datagram
		 * as a full queue on a real link would. */
		ssize_t r = np_real.sendto(s->fd, np_scratch, len, MSG_DONTWAIT | MSG_NOSIGNAL,
					   a.len ? &a.u.sa : NULL, a.len);
		if (r < 0) {
			s->send_errors++;
			if (errno == ECONNREFUSED)
				s->pending_err = errno; /* the next receive reports it */
		}
	}
}

uint64_t np_flush_all(uint64_t now)
{
	uint64_t first = UINT64_MAX;
	struct np_sock *s = socks, *next;
	for (; s; s = next) {
		next = s->next;
		if (!s->out)
			continue;
		flush_sock(s, now);
		uint64_t due = netsim_next_due(s->out);
		if (due == UINT64_MAX && s->lingering)
			sock_retire(s);
		else if (due < first)
			first = due;
	}
	return first;
}

static void *flusher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&np_lock);
	for (;;) {
		uint64_t due = np_flush_all(np_now());
		if (due == UINT64_MAX) {
			pthread_cond_wait(&flush_cv, &np_lock);
			continue;
		}
		struct timespec ts = { .tv_sec = (time_t)(due / 1000000u),
				       .tv_nsec = (long)(due % 1000000u) * 1000 };
		pthread_cond_timedwait(&flush_cv, &np_lock, &ts);
	}
	return NULL;
}

void np_kick_flusher(void)
{
	if (!flusher_running) {
		pthread_t t;
		pthread_attr_t at;
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 64 * 1024);
		if (pthread_create(&t, &at, flusher, NULL) == 0)
			flusher_running = 1;
		pthread_attr_destroy(&at);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_cond_signal(&flush_cv);
}

/* ---- incoming ---- */

void np_pump(struct np_sock *s, int fd)
{
	uint64_t now = np_now();
	/* bounded, so a flood cannot keep a caller here forever */
	for (int i = 0; i < 256; i++) {
		struct udp_addr a;
		memset(&a, 0, sizeof a);
		struct iovec iov = { np_scratch, sizeof np_scratch };
		struct msghdr m = { .msg_name = &a.u.ss, .msg_namelen = sizeof a.u.ss,
				    .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = np_real.recvmsg(fd, &m, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				s->pending_err = errno;
			return;
		}
		a.len = m.msg_namelen;
		netsim_push(s->in, now, np_scratch, (size_t)n, &a); /* drops are counted */
	}
}

int np_readable(struct np_sock *s, uint64_t now, uint64_t *due)
{
	*due = netsim_next_due(s->in);
	return s->has_peek || s->pending_err || *due <= now;
}

/* ---- exit ---- */

static void print_dir(const char *who, const char *dir, const struct netsim_counters *c,
		      uint64_t seed, uint64_t send_errors)
{
	say("udpnetsim: %s %s: in=%" PRIu64 " passed=%" PRIu64 " lost=%" PRIu64
	    " delayed=%" PRIu64 " duplicated=%" PRIu64 " corrupted=%" PRIu64
	    " reordered=%" PRIu64 " queue_drops=%" PRIu64 " queued=%" PRIu64
	    " send_errors=%" PRIu64 " seed=%" PRIu64,
	    who, dir, c->in, c->passed, c->lost, c->delayed, c->duplicated, c->corrupted,
	    c->reordered, c->queue_drops, c->queued, send_errors, seed);
}

static int by_index(const void *a, const void *b)
{
	const struct np_rec *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

static void report(void)
{
	for (struct np_sock *s = socks; s; s = s->next)
		record(s);
	qsort(recs, nrecs, sizeof *recs, by_index);
	char spec[2][NETSIM_DESCRIBE_MAX];
	for (int d = 0; d < 2; d++)
		if (netsim_config_describe(&cfg[d], spec[d], sizeof spec[d]) < 0)
			spec[d][0] = 0;
	if (nrecs == 0) {
		if (top_process)
			say("udpnetsim: pid %ld used no UDP socket", (long)getpid());
		return;
	}
	say("udpnetsim: pid %ld: %zu UDP socket%s; socket k uses seed+k; out '%s', in '%s'",
	    (long)getpid(), nrecs, nrecs == 1 ? "" : "s", impair[0] ? spec[0] : "",
	    impair[1] ? spec[1] : "");
	for (size_t i = 0; i < nrecs; i++) {
		char who[64];
		snprintf(who, sizeof who, "socket %u (fd %d)", recs[i].index, recs[i].fd);
		for (int d = 0; d < 2; d++)
			if (impair[d])
				print_dir(who, d ? "in" : "out", &recs[i].c[d], recs[i].seed[d],
					  d ? 0 : recs[i].send_errors);
	}
}

/* At exit the delayed outgoing datagrams still leave (as with udpsend), but
 * only for so long: a program must not hang in exit on a `delay 1h`. */
#define NP_DRAIN_MAX_US 10000000u

__attribute__((destructor)) static void np_dtor(void)
{
	if (!np_active)
		return;
	uint64_t end = np_now() + NP_DRAIN_MAX_US;
	for (;;) {
		pthread_mutex_lock(&np_lock);
		uint64_t now = np_now(), due = np_flush_all(now);
		pthread_mutex_unlock(&np_lock);
		if (due == UINT64_MAX || now >= end)
			break;
		uint64_t wait = (due < end ? due : end) - now;
		struct timespec ts = { (time_t)(wait / 1000000u), (long)(wait % 1000000u) * 1000 };
		nanosleep(&ts, NULL); /* waiting for a due time, not for another thread */
	}
	if (stats) {
		pthread_mutex_lock(&np_lock);
		report();
		pthread_mutex_unlock(&np_lock);
	}
}
