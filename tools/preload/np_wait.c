/* np_wait.c - readiness that tells the truth about impaired sockets.
 *
 * For an impaired UDP fd the kernel's "readable" is wrong both ways: a
 * datagram that arrived may be held by the incoming model (not readable
 * yet), and one the model now releases is no longer in the kernel (readable
 * though the kernel queue is empty).  So each wait first moves what the
 * kernel has into the models, counts as readable the fds with a due
 * datagram, and waits in the real call at most until the earliest held one
 * is due; when it wakes, POLLIN/EPOLLIN on an impaired fd is kept only if
 * something is due.  Nothing to report and time left: wait again.  Calls
 * with no impaired fd asking for input go straight to libc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "np.h"

enum { IMP = 1, READY = 2 };

static struct timespec *to_ts(uint64_t now, uint64_t until, struct timespec *ts)
{
	if (until == UINT64_MAX)
		return NULL;
	uint64_t w = until > now ? until - now : 0;
	ts->tv_sec = (time_t)(w / 1000000u);
	ts->tv_nsec = (long)(w % 1000000u) * 1000;
	return ts;
}

/* Under np_lock: pumps fd's socket; 1 if a receive would return now.
 * *due: the next held datagram's due time (unchanged when none). */
static int check(int fd, uint64_t now, uint64_t *first)
{
	struct np_sock *s = np_lookup(fd, 1);
	if (!s)
		return 0;
	uint64_t due;
	np_pump(s, fd);
	if (np_readable(s, now, &due))
		return 1;
	if (due < *first)
		*first = due;
	return 0;
}

/* fl[i]: IMP for the fds to treat. */
static int wait_poll(struct pollfd *fds, nfds_t n, unsigned char *fl, int64_t timeout_us,
		     const sigset_t *mask)
{
	uint64_t deadline = timeout_us < 0 ? UINT64_MAX : np_now() + (uint64_t)timeout_us;
	for (;;) {
		uint64_t first = UINT64_MAX, now;
		int nready = 0;
		pthread_mutex_lock(&np_lock);
		now = np_now();
		np_flush_all(now);
		for (nfds_t i = 0; i < n; i++)
			if (fl[i] & IMP) {
				fl[i] = check(fds[i].fd, now, &first) ? IMP | READY : IMP;
				nready += fl[i] >> 1;
			}
		pthread_mutex_unlock(&np_lock);
		struct timespec ts;
		uint64_t until = nready ? now : first < deadline ? first : deadline;
		int r = np_real.ppoll(fds, n, to_ts(now, until, &ts), mask);
		if (r < 0)
			return r;
		int count = 0;
		for (nfds_t i = 0; i < n; i++) {
			if (fl[i] & IMP) {
				short in = fds[i].events & (POLLIN | POLLRDNORM);
				if (!(fl[i] & READY) && (fds[i].revents & in)) {
					/* the kernel got one: it enters the model now */
					uint64_t ignored = UINT64_MAX;
					pthread_mutex_lock(&np_lock);
					if (check(fds[i].fd, np_now(), &ignored))
						fl[i] |= READY;
					pthread_mutex_unlock(&np_lock);
				}
				fds[i].revents = (short)((fds[i].revents & ~in) | ((fl[i] & READY) ? in : 0));
			}
			count += fds[i].revents != 0;
		}
		if (count || np_now() >= deadline)
			return count;
	}
}

/* Marks the impaired fds that ask for input; 0 when there are none. */
static int mark(struct pollfd *fds, nfds_t n, unsigned char *fl)
{
	int any = 0;
	pthread_mutex_lock(&np_lock);
	for (nfds_t i = 0; i < n; i++) {
		fl[i] = fds[i].fd >= 0 && (fds[i].events & (POLLIN | POLLRDNORM)) &&
			np_lookup(fds[i].fd, 1) ? IMP : 0;
		any |= fl[i];
	}
	pthread_mutex_unlock(&np_lock);
	return any;
}

/* -2: none impaired, call libc; else the result of the wait. */
static int poll_impaired(struct pollfd *fds, nfds_t n, int64_t timeout_us, const sigset_t *mask)
{
	np_init();
	if (!np_active || n == 0)
		return -2;
	unsigned char small[64], *fl = n <= sizeof small ? small : malloc(n);
	if (!fl)
		return -2;
	int r = mark(fds, n, fl) ? wait_poll(fds, n, fl, timeout_us, mask) : -2;
	if (fl != small)
		free(fl);
	return r;
}

NP_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	int r = poll_impaired(fds, n, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000, NULL);
	return r != -2 ? r : np_real.poll(fds, n, timeout_ms);
}

NP_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
	int64_t us = t ? (int64_t)t->tv_sec * 1000000 + (t->tv_nsec + 999) / 1000 : -1;
	int r = poll_impaired(fds, n, us, mask);
	return r != -2 ? r : np_real.ppoll(fds, n, t, mask);
}

/* select and pselect through the poll path; -2: nothing impaired. */
static int select_impaired(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t us,
			   const sigset_t *mask)
{
	np_init();
	if (!np_active || !r || nfds <= 0 || nfds > FD_SETSIZE)
		return -2;
	int any = 0;
	pthread_mutex_lock(&np_lock);
	for (int fd = 0; fd < nfds && !any; fd++)
		any = FD_ISSET(fd, r) && np_lookup(fd, 1);
	pthread_mutex_unlock(&np_lock);
	if (!any)
		return -2;
	struct pollfd *p = calloc((size_t)nfds, sizeof *p);
	unsigned char *fl = malloc((size_t)nfds);
	if (!p || !fl) {
		free(p);
		free(fl);
		return -2;
	}
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (e && FD_ISSET(fd, e) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){ fd, ev, 0 };
	}
	mark(p, n, fl);
	int rc = wait_poll(p, n, fl, us, mask);
	if (rc >= 0) {
		FD_ZERO(r);
		if (w)
			FD_ZERO(w);
		if (e)
			FD_ZERO(e);
		rc = 0;
		for (nfds_t i = 0; i < n; i++) {
			short re = p[i].revents;
			if (re & POLLNVAL) {
				errno = EBADF;
				rc = -1;
				break;
			}
			if ((p[i].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR)))
				FD_SET(p[i].fd, r), rc++;
			if ((p[i].events & POLLOUT) && (re & (POLLOUT | POLLERR)))
				FD_SET(p[i].fd, w), rc++;
			if ((p[i].events & POLLPRI) && (re & POLLPRI))
				FD_SET(p[i].fd, e), rc++;
		}
	}
	free(p);
	free(fl);
	return rc;
}

NP_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	int64_t us = tv ? (int64_t)tv->tv_sec * 1000000 + tv->tv_usec : -1;
	uint64_t start = np_now();
	int rc = select_impaired(nfds, r, w, e, us, NULL);
	if (rc == -2)
		return np_real.select(nfds, r, w, e, tv);
	if (tv) { /* Linux select() leaves the time not slept in *tv */
		int64_t left = us - (int64_t)(np_now() - start);
		if (left < 0)
			left = 0;
		tv->tv_sec = (time_t)(left / 1000000);
		tv->tv_usec = (suseconds_t)(left % 1000000);
	}
	return rc;
}

NP_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t,
		      const sigset_t *mask)
{
	int64_t us = t ? (int64_t)t->tv_sec * 1000000 + (t->tv_nsec + 999) / 1000 : -1;
	int rc = select_impaired(nfds, r, w, e, us, mask);
	return rc != -2 ? rc : np_real.pselect(nfds, r, w, e, t, mask);
}

/* ---- epoll ---- */

#define NP_EP_ITEMS 64 /* impaired fds per epoll set we follow */

int np_ep_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms, const sigset_t *mask)
{
	np_init();
	struct np_ep_item it[NP_EP_ITEMS];
	unsigned char ready[NP_EP_ITEMS];
	size_t n = 0;
	if (np_active && max > 0) {
		pthread_mutex_lock(&np_lock);
		n = np_ep_list(epfd, it, NP_EP_ITEMS);
		size_t k = 0;
		for (size_t j = 0; j < n; j++)
			if ((it[j].ev.events & EPOLLIN) && np_lookup(it[j].fd, 1))
				it[k++] = it[j];
		n = k;
		pthread_mutex_unlock(&np_lock);
	}
	if (n == 0)
		return np_real.epoll_pwait(epfd, evs, max, timeout_ms, mask);
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : np_now() + (uint64_t)timeout_ms * 1000;
	for (;;) {
		uint64_t first = UINT64_MAX, now;
		int nready = 0;
		pthread_mutex_lock(&np_lock);
		now = np_now();
		np_flush_all(now);
		for (size_t j = 0; j < n; j++)
			nready += ready[j] = (unsigned char)check(it[j].fd, now, &first);
		pthread_mutex_unlock(&np_lock);
		uint64_t until = nready ? now : first < deadline ? first : deadline;
		/* epoll counts milliseconds: round up, never wake before due */
		int ms = until == UINT64_MAX ? -1 : (int)((until - (until > now ? now : until) + 999) / 1000);
		int r = np_real.epoll_pwait(epfd, evs, max, ms, mask);
		if (r < 0)
			return r;
		int out = 0;
		unsigned char seen[NP_EP_ITEMS] = { 0 };
		for (int k = 0; k < r; k++) {
			struct epoll_event ev = evs[k];
			for (size_t j = 0; j < n; j++) {
				if (seen[j] || it[j].ev.data.u64 != ev.data.u64)
					continue;
				if (!ready[j] && (ev.events & EPOLLIN)) {
					uint64_t ignored = UINT64_MAX;
					pthread_mutex_lock(&np_lock);
					ready[j] = (unsigned char)check(it[j].fd, np_now(), &ignored);
					pthread_mutex_unlock(&np_lock);
				}
				ev.events = (ev.events & ~(uint32_t)(EPOLLIN | EPOLLRDNORM)) |
					    (ready[j] ? (uint32_t)EPOLLIN : 0);
				seen[j] = 1;
				break;
			}
			if (ev.events)
				evs[out++] = ev;
		}
		/* ready in the model, silent in the kernel: say so ourselves */
		for (size_t j = 0; j < n && out < max; j++)
			if (ready[j] && !seen[j])
				evs[out++] = (struct epoll_event){ .events = EPOLLIN, .data = it[j].ev.data };
		if (out || np_now() >= deadline)
			return out;
	}
}

NP_EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms)
{
	return np_ep_wait(epfd, evs, max, timeout_ms, NULL);
}

NP_EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout_ms,
			  const sigset_t *mask)
{
	return np_ep_wait(epfd, evs, max, timeout_ms, mask);
}
