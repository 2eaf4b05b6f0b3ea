/* uk_core.c - the engine of the Python module (see uk.h): the socket, the
 * reliable core and its driver, the peer table, the message queue, the
 * waits (one poller, the other threads on a condition variable) and the
 * readiness descriptor of uk_fileno(). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "rel.h"
#include "rel_bbr.h"
#include "rel_drv.h"
#include "seal.h"
#include "udp_sock.h"
#include "uk.h"

#define UK_ERRNO(e) (-2000 - (e))    /* a system error, decoded by the glue */
#define PEND_MAX ((uint64_t)64 << 20) /* bytes waiting for handshakes */
#define REL_MAX_MSG ((size_t)64 << 20)

struct pend {
	struct pend *next;
	size_t len;
	unsigned char data[];
};

struct qmsg {
	struct qmsg *next;
	void *data;
	size_t len;
	struct udp_addr from;
	uint8_t key[32]; /* identity sessions: the sender's, when has_key */
	int has_key;
};

enum { P_CONNECTING, P_OPEN, P_CLOSING };

struct peer {
	uint32_t id;
	int state;
	struct udp_addr addr;
	struct pend *ph, *pt; /* messages waiting for the handshake (or room) */
	uint64_t unacked;
	int peer_closed;      /* the peer closed this session */
	int told;             /* ... and a sendto was told so (EPIPE) */
	int passive;          /* the peer started the session */
};

struct uk {
	pthread_mutex_t lk;
	pthread_cond_t cv;
	int kind, family, closed, bound, connected;
	int closing;          /* uk_close() began: no new messages */
	int peer_eof;         /* connected: the peer closed gracefully */
	int polling, want_out;
	uint64_t poll_until;
	double linger;
	size_t max_msg;
	struct udp_sock *sock;
	struct rel_core *core;
	struct rel_drv *drv;
	struct uk_ident *ident; /* identity sessions, or NULL */
	struct udp_addr peer_addr;
	struct peer *peers;
	size_t npeers, cap;
	struct qmsg *qh, *qt;
	uint64_t qlen, pending_bytes, unacked;
	uint64_t lost;        /* since the last flush */
	int lost_refused;     /* ... of which some never connected */
	int wake_fd;          /* eventfd: wakes the poller */
	int epfd, ready_fd, timer_fd, ready_on, ep_out;
	uint64_t armed;
	pthread_t thr;        /* the driver thread of a reliable socket */
	int thr_on;
	uint64_t msgs_sent, msgs_recv, msgs_acked, sessions_opened, sessions_dead;
	uint64_t sessions_closed, truncated, lost_total;
};

static uint64_t now_us(void)
{
	return rel_drv_now();
}

const char *uk_strerror(int code)
{
	switch (code) {
	case UK_ETIMEDOUT: return "timed out";
	case UK_ECLOSED: return "socket is closed";
	case UK_EDEAD: return "peer went silent: messages were not acknowledged";
	case UK_EREFUSED: return "no answer to the handshake: nobody listening there";
	case UK_ENOTCONN: return "socket is not connected";
	case UK_EISCONN: return "socket is already bound";
	}
	if (code <= -2000)
		return strerror(-2000 - code);
	return udpkit_strerror(code);
}

static int sys_err(void)
{
	return UK_ERRNO(errno ? errno : EIO);
}

/* ---- peers and queue ---- */

static struct peer *peer_by_id(struct uk *u, uint32_t id)
{
	for (size_t i = 0; i < u->npeers; i++)
		if (u->peers[i].id == id)
			return &u->peers[i];
	return NULL;
}

/* The session with a that new messages go to (closing: 0), or the one
 * that is closing (1). */
static struct peer *peer_by_addr(struct uk *u, const struct udp_addr *a, int closing)
{
	for (size_t i = 0; i < u->npeers; i++)
		if ((u->peers[i].state == P_CLOSING) == closing &&
		    udp_addr_equal(&u->peers[i].addr, a))
			return &u->peers[i];
	return NULL;
}

static struct peer *peer_add(struct uk *u, uint32_t id)
{
	if (u->npeers == u->cap) {
		size_t ncap = u->cap ? 2 * u->cap : 8;
		struct peer *np = realloc(u->peers, ncap * sizeof *np);
		if (!np)
			return NULL;
		u->peers = np;
		u->cap = ncap;
	}
	struct peer *p = &u->peers[u->npeers++];
	memset(p, 0, sizeof *p);
	p->id = id;
	return p;
}

/* Forgets a peer; what it still held counts as lost. */
static void peer_del(struct uk *u, struct peer *p)
{
	uint64_t lost = p->unacked;
	for (struct pend *m = p->ph, *n; m; m = n) {
		n = m->next;
		u->pending_bytes -= m->len;
		free(m);
		lost++;
	}
	if (lost && p->state == P_CONNECTING)
		u->lost_refused = 1;
	u->lost += lost;
	u->lost_total += lost;
	u->unacked -= p->unacked;
	*p = u->peers[--u->npeers];
}

static int enqueue(struct uk *u, void *data, size_t len, const struct udp_addr *from,
		   uint32_t peer)
{
	struct qmsg *q = malloc(sizeof *q);
	if (!q) {
		rel_buf_free(data);
		return UDP_ENOMEM;
	}
	q->next = NULL;
	q->data = data;
	q->len = len;
	q->from = *from;
	/* the key travels with the message: the session may be gone, and
	 * its address someone else's, by the time the message is read */
	q->has_key = u->ident && uk_ident_peer_key(u->core, peer, 0, q->key) == 0;
	if (u->qt)
		u->qt->next = q;
	else
		u->qh = q;
	u->qt = q;
	u->qlen++;
	return 0;
}

/* Hands the messages that waited for the handshake to the core. */
static void drain_pending(struct uk *u, struct peer *p)
{
	enum rel_mode mode = u->kind == UK_SEQPACKET ? REL_SEQPACKET : REL_RDM;
	while (p->ph && p->state == P_OPEN) {
		struct pend *m = p->ph;
		int rc = rel_send(u->core, p->id, m->data, m->len, mode, now_us(), NULL);
		if (rc == REL_EFULL)
			return; /* again after some acks */
		if (rc < 0) {
			u->lost++;
			u->lost_total++;
		} else {
			p->unacked++;
			u->unacked++;
			u->msgs_sent++;
		}
		p->ph = m->next;
		if (!p->ph)
			p->pt = NULL;
		u->pending_bytes -= m->len;
		free(m);
	}
}

/* The core's events into the peer table and the queue; returns how many. */
static int pump(struct uk *u)
{
	struct rel_event ev;
	int n = 0;
	while (rel_poll_event(u->core, &ev)) {
		n++;
		struct peer *p = peer_by_id(u, ev.peer);
		switch (ev.type) {
		case REL_EV_CONNECTED:
			if (!p && (p = peer_add(u, ev.peer)) != NULL) {
				(void)rel_drv_peer_addr(u->drv, ev.peer, &p->addr);
				p->passive = 1;
			}
			if (p) {
				p->state = P_OPEN;
				drain_pending(u, p);
			}
			u->sessions_opened++;
			break;
		case REL_EV_MESSAGE: {
			struct udp_addr from;
			if (p)
				from = p->addr;
			else if (rel_drv_peer_addr(u->drv, ev.peer, &from) < 0)
				memset(&from, 0, sizeof from);
			if (enqueue(u, ev.data, ev.len, &from, ev.peer) == 0)
				u->msgs_recv++;
			break;
		}
		case REL_EV_ACKED:
			if (p && p->unacked) {
				p->unacked--;
				u->unacked--;
			}
			u->msgs_acked++;
			break;
		case REL_EV_PEER_CLOSED:
			/* the peer is done: end our side too (what we queued
			 * still goes out first) */
			if (p && p->state == P_OPEN && !p->ph &&
			    rel_close(u->core, p->id, now_us()) == 0) {
				p->state = P_CLOSING;
				p->peer_closed = 1;
			}
			/* a connected socket reads the end of the stream once
			 * the messages before it are taken (as TCP) */
			if (p && u->connected && udp_addr_equal(&p->addr, &u->peer_addr))
				u->peer_eof = 1;
			break;
		case REL_EV_CLOSED:
			u->sessions_closed++;
			if (p)
				peer_del(u, p);
			break;
		case REL_EV_MIGRATED: /* the peer moved: recvfrom names where it is now */
			if (p)
				(void)rel_drv_peer_addr(u->drv, ev.peer, &p->addr);
			break;
		case REL_EV_DEAD:
			u->sessions_dead++;
			if (p)
				peer_del(u, p);
			break;
		case REL_EV_PMTU: /* rel_peer_pmtu() has it */
			break;
		}
	}
	return n;
}

/* ---- readiness (uk_fileno) ---- */

/* When a wait must end to let the library work: the core's timers, the
 * loss simulator's held datagrams, or 50 ms when output waits for room. */
static uint64_t next_deadline(struct uk *u)
{
	uint64_t dl = u->drv ? rel_drv_next_deadline(u->drv) : udp_sock_next_due(u->sock);
	if (dl == 0) {
		u->want_out = 1;
		dl = now_us() + 50000;
	}
	return dl;
}

static int out_waiting(struct uk *u)
{
	return u->want_out || (u->core && rel_out_pending(u->core));
}

static void ep_update(struct uk *u)
{
	int ready = u->qh != NULL || u->peer_eof;
	uint64_t x = 1;
	if (u->ready_fd >= 0 && ready != u->ready_on) {
		ssize_t r = ready ? write(u->ready_fd, &x, sizeof x) : read(u->ready_fd, &x, sizeof x);
		(void)r;
		u->ready_on = ready;
	}
	if (u->epfd < 0)
		return;
	if (read(u->timer_fd, &x, sizeof x) < 0) {
		/* not expired: nothing to clear */
	}
	uint64_t dl = next_deadline(u);
	if (dl != u->armed) {
		struct itimerspec its;
		memset(&its, 0, sizeof its);
		if (dl != UINT64_MAX) {
			if (dl == 0)
				dl = 1;
			its.it_value.tv_sec = (time_t)(dl / 1000000);
			its.it_value.tv_nsec = (long)(dl % 1000000) * 1000;
		}
		if (timerfd_settime(u->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
			u->armed = dl;
	}
	int out = out_waiting(u);
	if (out != u->ep_out && u->sock) {
		struct epoll_event e = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
					 .data.fd = udp_sock_fd(u->sock) };
		if (epoll_ctl(u->epfd, EPOLL_CTL_MOD, e.data.fd, &e) == 0)
			u->ep_out = out;
	}
}

int uk_fileno(struct uk *u)
{
	pthread_mutex_lock(&u->lk);
	int fd = -1;
	if (u->closed)
		goto out;
	if (u->drv) {
		/* the driver thread runs the protocol: readable exactly while
		 * a message is waiting */
		if (u->ready_fd < 0) {
			if ((u->ready_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
				fd = sys_err();
				goto out;
			}
			u->ready_on = 0;
			ep_update(u);
		}
		fd = u->ready_fd;
		goto out;
	}
	if (u->epfd < 0) {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		int rf = -1;
		int tf = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		struct epoll_event e[2] = {
			{ .events = EPOLLIN, .data.fd = udp_sock_fd(u->sock) },
			{ .events = EPOLLIN, .data.fd = tf },
		};
		if (ep < 0 || tf < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, e[0].data.fd, &e[0]) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, tf, &e[1]) < 0) {
			fd = sys_err();
			if (ep >= 0) close(ep);
			if (rf >= 0) close(rf);
			if (tf >= 0) close(tf);
			goto out;
		}
		u->epfd = ep;
		u->timer_fd = tf;
		u->ep_out = 0;
		u->armed = UINT64_MAX;
		ep_update(u);
	}
	fd = u->epfd;
out:
	pthread_mutex_unlock(&u->lk);
	return fd;
}

/* ---- one turn and the waits ---- */

/* Wakes the thread in ppoll() when it must look again: something changed
 * that it may wait for, or the library's next deadline is now earlier than
 * the one it computed its wait from.  Every change a caller makes to the
 * core or the socket outside service() (a message queued and sent, a
 * handshake or a close begun, a datagram held back by the loss simulator)
 * must be followed by this before the lock is released: otherwise the
 * poller, often the driver thread with nobody else inside a call, sleeps
 * on until the deadline it knew (the keepalive, seconds away, or none at
 * all for a datagram socket) and the retransmission or the held datagram
 * waits as long.  Under the lock. */
static void nudge(struct uk *u, int changed)
{
	if (u->polling && (changed || next_deadline(u) < u->poll_until)) {
		uint64_t x = 1;
		ssize_t r = write(u->wake_fd, &x, sizeof x);
		(void)r;
	}
}

/* Releases the lock at the end of a call, after the nudge above. */
static void unlock(struct uk *u)
{
	if (!u->closed)
		nudge(u, 0);
	pthread_mutex_unlock(&u->lk);
}

/* Sends and receives what is due, runs the timers, takes the events; wakes
 * the other threads when something changed.  Under the lock. */
static void service(struct uk *u)
{
	int changed = 0;
	u->want_out = 0;
	if (u->drv) {
		(void)rel_drv_service(u->drv); /* socket errors: the core's timers cope */
		changed = pump(u);
		for (size_t i = 0; i < u->npeers; i++)
			if (u->peers[i].ph && u->peers[i].state == P_OPEN) {
				drain_pending(u, &u->peers[i]);
				changed = 1;
			}
		if (changed)
			rel_drv_flush(u->drv);
	} else {
		int r = udp_sock_flush(u->sock);
		if (r == UDP_EAGAIN)
			u->want_out = 1;
	}
	ep_update(u);
	if (changed)
		pthread_cond_broadcast(&u->cv);
	nudge(u, changed);
}

typedef int (*cond_fn)(struct uk *u, void *arg); /* >0 done, 0 not yet, <0 error */

static int cond_never(struct uk *u, void *arg)
{
	(void)u;
	(void)arg;
	return 0;
}

static int wait_for(struct uk *u, double timeout, cond_fn done, void *arg)
{
	uint64_t t_end = timeout < 0 ? UINT64_MAX : now_us() + (uint64_t)(timeout * 1e6);
	for (;;) {
		if (u->closed)
			return UK_ECLOSED;
		service(u);
		int r = done(u, arg);
		if (r || timeout == 0)
			ep_update(u); /* what done() took or held back shows in fileno */
		if (r)
			return r < 0 ? r : 0;
		if (timeout == 0)
			return UDP_EAGAIN;
		uint64_t now = now_us();
		if (now >= t_end)
			return UK_ETIMEDOUT;
		uint64_t until = next_deadline(u);
		if (until > t_end)
			until = t_end;
		uint64_t left = until > now ? until - now : 0;
		if (!u->polling) {
			/* the poller: waits on the socket itself */
			/* a datagram socket's driver only sends what the loss
			 * simulator held back: the caller reads */
			int in = u->drv || done != cond_never;
			struct pollfd pf[2] = {
				{ .fd = udp_sock_fd(u->sock), .events = in ? POLLIN : 0 },
				{ .fd = u->wake_fd, .events = POLLIN },
			};
			if (out_waiting(u))
				pf[0].events |= POLLOUT;
			struct timespec ts = { .tv_sec = (time_t)(left / 1000000),
					       .tv_nsec = (long)(left % 1000000) * 1000 };
			u->polling = 1;
			u->poll_until = until;
			pthread_mutex_unlock(&u->lk);
			int n = ppoll(pf, 2, &ts, NULL);
			pthread_mutex_lock(&u->lk);
			u->polling = 0;
			if (n > 0 && (pf[1].revents & POLLIN)) {
				uint64_t x;
				ssize_t rr = read(u->wake_fd, &x, sizeof x);
				(void)rr;
			}
			pthread_cond_broadcast(&u->cv); /* one of them may poll now */
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + left * 1000;
			ts.tv_sec = (time_t)(abs_ns / 1000000000u);
			ts.tv_nsec = (long)(abs_ns % 1000000000u);
			pthread_cond_timedwait(&u->cv, &u->lk, &ts);
		}
	}
}

/* ---- the driver thread ---- */

/* Runs the protocol while no caller is inside a call: acks, retransmits,
 * keepalives, handshakes of new peers, messages into the queue.  The
 * kernel does that for TCP; without it a peer would see a busy program as
 * dead, and one thread could not talk to itself over two sockets. */
static void *driver(void *arg)
{
	struct uk *u = arg;
	pthread_mutex_lock(&u->lk);
	(void)wait_for(u, -1, cond_never, NULL); /* until closed */
	pthread_mutex_unlock(&u->lk);
	return NULL;
}

/* ---- life ---- */

int uk_new(struct uk **out, const struct uk_opts *o, char *err, size_t errlen)
{
	*out = NULL;
	err[0] = 0;
	struct uk *u = calloc(1, sizeof *u);
	if (!u)
		return UDP_ENOMEM;
	u->kind = o->kind;
	u->family = o->family;
	u->linger = o->linger;
	u->epfd = u->ready_fd = u->timer_fd = -1;
	pthread_mutex_init(&u->lk, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc;
	u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->wake_fd < 0) {
		rc = sys_err();
		goto fail;
	}
	if ((rc = udp_sock_open(&u->sock, o->family, UDP_SOCK_NONBLOCK)) < 0) {
		if (rc == UDP_ESYS)
			rc = sys_err();
		goto fail;
	}
	if ((rc = uk_attach_seal(u->sock, o, err, errlen)) < 0 ||
	    (rc = uk_attach_netsim(u->sock, o, err, errlen)) < 0)
		goto fail;
	if (o->kind == UK_DGRAM) {
		if (uk_opts_ident(o)) {
			snprintf(err, errlen, "identity= needs a reliable socket (SOCK_RDM or "
				 "SOCK_SEQPACKET): identities are checked by the session handshake");
			rc = UDP_ENOTSUP;
			goto fail;
		}
		u->max_msg = UDP_MAX_PAYLOAD - (uk_sealed(u->sock) ? SEAL_OVERHEAD : 0);
		/* delayed datagrams must leave while the caller does not call */
		if (!uk_attach_out_idle(u->sock) || uk_attach_has_out(u->sock)) {
			if ((rc = pthread_create(&u->thr, NULL, driver, u)) != 0) {
				rc = UK_ERRNO(rc);
				goto fail;
			}
			u->thr_on = 1;
		}
		*out = u;
		return 0;
	}
	struct rel_config cfg;
	rel_config_default(&cfg);
	if (uk_opts_ident(o)) {
		if ((rc = uk_ident_new(&u->ident, o, err, errlen)) < 0)
			goto fail;
		uk_ident_attach(u->ident, &cfg);
	}
	if (getrandom(&cfg.seed, sizeof cfg.seed, 0) != (ssize_t)sizeof cfg.seed ||
	    getrandom(cfg.cookie_secret, sizeof cfg.cookie_secret, 0) !=
		    (ssize_t)sizeof cfg.cookie_secret) {
		rc = sys_err();
		goto fail;
	}
	cfg.accept = 1; /* as a UDP socket: anyone may start a session */
	double st = o->session_timeout > 0 ? o->session_timeout : 10.0;
	cfg.dead_us = (uint64_t)(st * 1e6);
	if (cfg.keepalive_us > cfg.dead_us / 3)
		cfg.keepalive_us = cfg.dead_us / 3;
	cfg.rto_min_us = 20000; /* as the tools: acks are immediate */
	/* a lost handshake packet is tried again sooner than after 1 s (as
	 * QUIC's first PTO): a handshake over a lossy path then gets several
	 * attempts within the session timeout */
	cfg.rto_initial_us = 250000;
	/* ... and no timer backs off beyond 1 s.  The core doubles the
	 * handshake's timer up to dead_us / 8 (3.75 s with a 30 s timeout),
	 * carrying the doubling from HELLO into CONNECT: at 20% loss each
	 * way a round trip fails 36% of the time, and one handshake in 50
	 * or 100 then took more than 10 s (250 ms + 0.5 + 1 + 2 + 3.75 ...).
	 * With the cap it gets a try a second, and the session timeout, not
	 * the backoff, decides when a silent peer is given up on. */
	cfg.rto_max_us = 1000000;
	cfg.max_msg = REL_MAX_MSG;
	cfg.cc = &rel_cc_bbr;
	u->max_msg = cfg.max_msg;
	if ((rc = rel_core_new(&u->core, &cfg)) < 0)
		goto fail;
	udp_sock_set_buffers(u->sock, 4 << 20, 4 << 20);
	if ((rc = rel_drv_new(&u->drv, u->core, u->sock)) < 0)
		goto fail;
	if ((rc = pthread_create(&u->thr, NULL, driver, u)) != 0) {
		rc = UK_ERRNO(rc);
		goto fail;
	}
	u->thr_on = 1;
	*out = u;
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s", uk_strerror(rc));
	uk_free(u);
	return rc;
}

static void release(struct uk *u)
{
	rel_drv_free(u->drv);
	u->drv = NULL;
	while (u->npeers)
		peer_del(u, &u->peers[0]);
	rel_core_free(u->core); /* after peer_del: nothing of it is used */
	u->core = NULL;
	uk_ident_free(u->ident); /* after the core, whose hook it is */
	u->ident = NULL;
	udp_sock_free(u->sock);
	u->sock = NULL;
	for (struct qmsg *q = u->qh, *n; q; q = n) {
		n = q->next;
		rel_buf_free(q->data);
		free(q);
	}
	u->qh = u->qt = NULL;
	u->qlen = 0;
}

void uk_free(struct uk *u)
{
	if (!u)
		return;
	if (u->thr_on) {
		pthread_mutex_lock(&u->lk);
		u->closed = 1;
		uint64_t x = 1;
		ssize_t r = write(u->wake_fd, &x, sizeof x);
		(void)r;
		pthread_cond_broadcast(&u->cv);
		pthread_mutex_unlock(&u->lk);
		pthread_join(u->thr, NULL);
	}
	release(u);
	free(u->peers);
	int fds[4] = { u->wake_fd, u->epfd, u->ready_fd, u->timer_fd };
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->lk);
	free(u);
}

size_t uk_max_msg(const struct uk *u)
{
	return u->max_msg;
}

int uk_family(const struct uk *u)
{
	return u->family;
}

int uk_is_closed(struct uk *u)
{
	pthread_mutex_lock(&u->lk);
	int c = u->closed;
	pthread_mutex_unlock(&u->lk);
	return c;
}

/* ---- calls ---- */

static int cond_flushed(struct uk *u, void *arg)
{
	(void)arg;
	if (!u->drv) /* datagrams: the loss simulator holds none to send */
		return uk_attach_out_idle(u->sock);
	if (u->pending_bytes || u->unacked)
		return 0;
	for (size_t i = 0; i < u->npeers; i++)
		if (u->peers[i].state == P_CONNECTING)
			return 0;
	return 1;
}

static int cond_closed(struct uk *u, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < u->npeers; i++)
		if (u->peers[i].state == P_CLOSING)
			return 0;
	return 1;
}

int uk_close(struct uk *u)
{
	pthread_mutex_lock(&u->lk);
	if (u->closed) {
		pthread_mutex_unlock(&u->lk);
		return 0;
	}
	uint64_t t_end = now_us() + (uint64_t)(u->linger * 1e6);
	/* other threads may call while close waits: what they would queue
	 * now would not be flushed, and a session they opened not closed */
	u->closing = 1;
	(void)wait_for(u, u->linger, cond_flushed, NULL);
	if (u->drv) {
		for (size_t i = 0; i < u->npeers; i++)
			if (u->peers[i].state == P_OPEN &&
			    rel_close(u->core, u->peers[i].id, now_us()) == 0)
				u->peers[i].state = P_CLOSING;
		rel_drv_flush(u->drv);
		uint64_t now = now_us();
		double left = t_end > now ? (double)(t_end - now) / 1e6 : 0;
		if (left > 0)
			(void)wait_for(u, left, cond_closed, NULL);
	}
	/* The thread in ppoll() holds a reference to the UDP socket's file:
	 * closing the descriptor under it would leave the port bound until
	 * that thread woke, and a bind() to it right after close() (a
	 * restarted server) could fail with EADDRINUSE.  So the poller is
	 * woken and gone before the socket is closed; closed keeps every
	 * thread from polling again. */
	u->closed = 1;
	uint64_t x = 1;
	ssize_t r = write(u->wake_fd, &x, sizeof x);
	(void)r;
	while (u->polling)
		pthread_cond_wait(&u->cv, &u->lk);
	release(u);
	if (u->ready_fd >= 0)
		r = write(u->ready_fd, &x, sizeof x); /* a reader sees EBADF */
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->lk);
	return 0;
}

int uk_bind(struct uk *u, const struct udp_addr *a)
{
	pthread_mutex_lock(&u->lk);
	int rc;
	if (u->closed)
		rc = UK_ECLOSED;
	else if (u->bound)
		rc = UK_ERRNO(EINVAL);
	else if ((rc = udp_sock_bind(u->sock, a)) == UDP_ESYS)
		rc = sys_err();
	if (rc == 0)
		u->bound = 1;
	pthread_mutex_unlock(&u->lk);
	return rc;
}

/* A session to a, the existing one or a new handshake. */
static int session(struct uk *u, const struct udp_addr *a, uint32_t *id)
{
	struct peer *p = peer_by_addr(u, a, 0);
	struct peer *old = p ? NULL : peer_by_addr(u, a, 1);
	if (old && old->peer_closed && !old->told) {
		/* the peer closed the session: one sendto learns it (EPIPE,
		 * as TCP after the peer's FIN); the next opens a new session
		 * beside the old one, which may take the core up to the
		 * session timeout to end when the peer is gone for good */
		old->told = 1;
		return REL_ECLOSED;
	}
	if (!p) {
		uint32_t nid;
		int rc = rel_drv_connect(u->drv, a, &nid);
		if (rc < 0)
			return rc;
		if (!(p = peer_add(u, nid)))
			return UDP_ENOMEM;
		p->addr = *a;
		p->state = P_CONNECTING;
		rel_drv_flush(u->drv);
	}
	u->bound = 1; /* the first send gave the socket its port */
	*id = p->id;
	return 0;
}

static int cond_open(struct uk *u, void *arg)
{
	struct peer *p = peer_by_id(u, *(uint32_t *)arg);
	if (!p)
		return UK_EREFUSED;
	return p->state == P_CONNECTING ? 0 : 1;
}

int uk_connect(struct uk *u, const struct udp_addr *a, double timeout)
{
	pthread_mutex_lock(&u->lk);
	int rc;
	uint32_t id;
	if (u->closed || u->closing) {
		rc = UK_ECLOSED;
	} else if (!u->drv) {
		if ((rc = udp_sock_connect(u->sock, a)) == UDP_ESYS)
			rc = sys_err();
		if (rc == 0) {
			u->peer_addr = *a;
			u->connected = u->bound = 1;
		}
	} else if ((rc = session(u, a, &id)) == 0) {
		u->peer_addr = *a;
		u->connected = 1;
		u->peer_eof = 0;
		if (timeout == 0) {
			service(u);
			rc = cond_open(u, &id) > 0 ? 0 : UK_ERRNO(EINPROGRESS);
		} else {
			rc = wait_for(u, timeout, cond_open, &id);
		}
		if (rc == UK_EREFUSED)
			u->connected = 0;
	}
	unlock(u);
	return rc;
}

struct send_arg {
	const void *buf;
	size_t len;
	const struct udp_addr *to;
	uint32_t id;
};

static int cond_dgram_sent(struct uk *u, void *arg)
{
	struct send_arg *s = arg;
	int rc = udp_sock_send(u->sock, s->buf, s->len, u->connected ? NULL : s->to);
	if (rc == UDP_EAGAIN) {
		u->want_out = 1;
		return 0;
	}
	if (rc == UDP_ESYS)
		return sys_err();
	return rc < 0 ? rc : 1;
}

static int cond_rel_sent(struct uk *u, void *arg)
{
	struct send_arg *s = arg;
	struct peer *p = peer_by_id(u, s->id);
	if (!p || (p->state == P_CLOSING && p->peer_closed)) {
		/* The session ended, or its peer closed it, since session()
		 * chose it: the events were still in the core then, or came
		 * while this call waited for room.  The address decides again,
		 * as for a new call (EPIPE once, then a new session); a
		 * connected socket has reached the end of its stream. */
		if (!s->to)
			return u->peer_eof ? REL_ECLOSED : UK_EDEAD;
		int rc = session(u, s->to, &s->id);
		if (rc < 0)
			return rc;
		if (!(p = peer_by_id(u, s->id)))
			return UK_EDEAD;
	}
	if (p->state == P_CONNECTING || p->ph) {
		/* after the handshake, in order, within the memory bound */
		if (u->pending_bytes + s->len > PEND_MAX && u->pending_bytes)
			return 0;
		struct pend *m = malloc(sizeof *m + s->len);
		if (!m)
			return UDP_ENOMEM;
		m->next = NULL;
		m->len = s->len;
		memcpy(m->data, s->buf, s->len);
		if (p->pt)
			p->pt->next = m;
		else
			p->ph = m;
		p->pt = m;
		u->pending_bytes += s->len;
		return 1;
	}
	int rc = rel_send(u->core, p->id, s->buf, s->len,
			  u->kind == UK_SEQPACKET ? REL_SEQPACKET : REL_RDM, now_us(), NULL);
	if (rc == REL_EFULL)
		return 0;
	if (rc < 0)
		return rc;
	p->unacked++;
	u->unacked++;
	u->msgs_sent++;
	return 1;
}

int uk_sendto(struct uk *u, const void *buf, size_t len, const struct udp_addr *to,
	      double timeout)
{
	pthread_mutex_lock(&u->lk);
	int rc;
	struct send_arg s = { .buf = buf, .len = len, .to = to };
	if (u->closed || u->closing) {
		rc = UK_ECLOSED;
	} else if (len > u->max_msg) {
		rc = UDP_ETOOBIG;
	} else if (!to && !u->connected) {
		rc = UK_ENOTCONN;
	} else if (!to && u->peer_eof) {
		rc = REL_ECLOSED; /* as TCP after the peer's FIN: EPIPE */
	} else if (!u->drv) {
		if ((rc = wait_for(u, timeout, cond_dgram_sent, &s)) == 0) {
			u->msgs_sent++;
			u->bound = 1;
		}
	} else if ((rc = session(u, to ? to : &u->peer_addr, &s.id)) == 0) {
		rc = wait_for(u, timeout, cond_rel_sent, &s);
		if (rc == 0)
			rel_drv_flush(u->drv);
	}
	unlock(u);
	return rc;
}

struct recv_arg {
	struct uk_msg *m;
	size_t cap;
};

static int cond_recv(struct uk *u, void *arg)
{
	struct recv_arg *r = arg;
	struct uk_msg *m = r->m;
	if (!u->drv) {
		struct udp_msg um;
		memset(&um, 0, sizeof um);
		um.buf = m->data;
		um.cap = r->cap;
		int rc = udp_sock_recv(u->sock, &um);
		if (rc == UDP_EAGAIN)
			return 0;
		if (rc == UDP_ESYS)
			return sys_err();
		if (rc < 0)
			return rc;
		if (um.flags & UDP_MSG_TRUNC)
			u->truncated++;
		m->len = um.len;
		m->from = um.addr;
		u->msgs_recv++;
		return 1;
	}
	struct qmsg *q = u->qh;
	if (!q && u->peer_eof) {
		m->eof = 1; /* every call from now on, as a socket at EOF */
		return 1;
	}
	if (!q)
		return 0;
	if (!(u->qh = q->next))
		u->qt = NULL;
	u->qlen--;
	m->data = q->data;
	m->rel = 1;
	m->len = q->len;
	if (m->len > r->cap) {
		m->len = r->cap; /* as SOCK_SEQPACKET: the rest is discarded */
		u->truncated++;
	}
	m->from = q->from;
	m->has_key = q->has_key;
	memcpy(m->key, q->key, sizeof m->key);
	free(q);
	return 1;
}

int uk_recvfrom(struct uk *u, struct uk_msg *m, size_t cap, double timeout)
{
	memset(m, 0, sizeof *m);
	pthread_mutex_lock(&u->lk);
	int rc;
	struct recv_arg r = { .m = m, .cap = cap };
	if (u->closed) {
		rc = UK_ECLOSED;
	} else {
		if (!u->drv && !(m->data = malloc(cap ? cap : 1)))
			rc = UDP_ENOMEM;
		else
			rc = wait_for(u, timeout, cond_recv, &r);
	}
	unlock(u);
	if (rc < 0)
		uk_msg_free(m);
	return rc;
}

void uk_msg_free(struct uk_msg *m)
{
	if (m->rel)
		rel_buf_free(m->data);
	else
		free(m->data);
	m->data = NULL;
}

int uk_flush(struct uk *u, double timeout, uint64_t *lost)
{
	pthread_mutex_lock(&u->lk);
	int rc = u->closed ? UK_ECLOSED : wait_for(u, timeout, cond_flushed, NULL);
	if (rc == UDP_EAGAIN)
		rc = UK_ETIMEDOUT;
	*lost = u->lost;
	if (rc == 0 && u->lost) {
		rc = u->lost_refused ? UK_EREFUSED : UK_EDEAD;
		u->lost = 0;
		u->lost_refused = 0;
	}
	unlock(u);
	return rc;
}

int uk_sockname(struct uk *u, struct udp_addr *a)
{
	pthread_mutex_lock(&u->lk);
	int rc = u->closed ? UK_ECLOSED : udp_sock_local_addr(u->sock, a);
	if (rc == UDP_ESYS)
		rc = sys_err();
	pthread_mutex_unlock(&u->lk);
	return rc;
}

int uk_peername(struct uk *u, struct udp_addr *a)
{
	pthread_mutex_lock(&u->lk);
	int rc = u->closed ? UK_ECLOSED : u->connected ? 0 : UK_ENOTCONN;
	if (rc == 0)
		*a = u->peer_addr;
	pthread_mutex_unlock(&u->lk);
	return rc;
}

size_t uk_stats(struct uk *u, struct uk_stat *out, size_t cap)
{
	size_t n = 0;
#define PUT(nm, v) do { if (n < cap) { out[n].name = nm; out[n].value = (uint64_t)(v); n++; } } while (0)
	pthread_mutex_lock(&u->lk);
	PUT("msgs_sent", u->msgs_sent);
	PUT("msgs_received", u->msgs_recv);
	PUT("truncated", u->truncated);
	if (u->kind != UK_DGRAM) {
		PUT("msgs_acked", u->msgs_acked);
		PUT("msgs_lost", u->lost_total);
		PUT("unacked", u->unacked);
		PUT("pending_bytes", u->pending_bytes);
		PUT("queued", u->qlen);
		PUT("sessions", u->npeers);
		PUT("sessions_opened", u->sessions_opened);
		PUT("sessions_closed", u->sessions_closed);
		PUT("sessions_dead", u->sessions_dead);
	}
	if (u->core) {
		struct rel_core_stats cs;
		rel_core_stats(u->core, &cs);
		PUT("pkts_in", cs.pkts_in);
		PUT("pkts_out", cs.pkts_out);
		PUT("bytes_in", cs.bytes_in);
		PUT("bytes_out", cs.bytes_out);
		struct rel_stats sum, st;
		memset(&sum, 0, sizeof sum);
		for (size_t i = 0; i < u->npeers; i++)
			if (rel_peer_stats(u->core, u->peers[i].id, &st) == 0) {
				sum.retransmits += st.retransmits;
				sum.timeouts += st.timeouts;
				sum.drop_dup += st.drop_dup;
				if (st.srtt_us > sum.srtt_us)
					sum.srtt_us = st.srtt_us;
			}
		PUT("retransmits", sum.retransmits);
		PUT("timeouts", sum.timeouts);
		PUT("dups", sum.drop_dup);
		PUT("srtt_us", sum.srtt_us);
	}
	if (u->ident)
		uk_ident_counters(u->ident, out, &n, cap);
	if (u->sock)
		uk_attach_counters(u->sock, out, &n, cap);
	pthread_mutex_unlock(&u->lk);
	return n;
#undef PUT
}

int uk_has_ident(struct uk *u)
{
	pthread_mutex_lock(&u->lk);
	int r = u->ident != NULL;
	pthread_mutex_unlock(&u->lk);
	return r;
}

int uk_peer_key(struct uk *u, const struct udp_addr *a, uint8_t key[32])
{
	pthread_mutex_lock(&u->lk);
	int rc = 0;
	if (u->closed) {
		rc = UK_ECLOSED;
	} else if (!a && !u->connected) {
		rc = UK_ENOTCONN;
	} else if (u->ident) {
		if (!a)
			a = &u->peer_addr;
		/* the session new messages go to, else the one closing */
		struct peer *p = peer_by_addr(u, a, 0);
		if (!p)
			p = peer_by_addr(u, a, 1);
		rc = p && uk_ident_peer_key(u->core, p->id, p->passive, key) == 0;
	}
	pthread_mutex_unlock(&u->lk);
	return rc;
}

void uk_refusal(struct uk *u, char *buf, size_t cap)
{
	pthread_mutex_lock(&u->lk);
	if (u->ident)
		uk_ident_refusal(u->ident, NULL, buf, cap);
	else
		snprintf(buf, cap, "%s", uk_strerror(UK_EREFUSED));
	pthread_mutex_unlock(&u->lk);
}
