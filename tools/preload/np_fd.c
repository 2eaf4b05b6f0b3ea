/* np_fd.c - what each fd number means: a table from fd to "not UDP" or the
 * UDP socket behind it (asked once with SO_TYPE/SO_DOMAIN/SO_PROTOCOL and
 * cached), kept right by wrapping the calls that end or copy an fd, and the
 * epoll registrations of UDP fds, which epoll_wait needs to see. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "np.h"

struct np_fdent {
	struct np_sock *s;
	unsigned char known; /* 0 not asked yet; 1 asked (s NULL: not UDP) */
};
static struct np_fdent *tab;
static size_t ntab;

/* An fd number beyond this is never cached; it is asked every time. */
#define NP_FD_MAX (1 << 20)

static struct np_fdent *ent(int fd, int grow)
{
	if (fd < 0 || fd >= NP_FD_MAX)
		return NULL;
	if ((size_t)fd >= ntab) {
		if (!grow)
			return NULL;
		size_t n = ntab ? ntab : 256;
		while (n <= (size_t)fd)
			n *= 2;
		struct np_fdent *t = realloc(tab, n * sizeof *t);
		if (!t)
			return NULL;
		memset(t + ntab, 0, (n - ntab) * sizeof *t);
		tab = t;
		ntab = n;
	}
	return &tab[fd];
}

struct np_sock *np_fd_get(int fd, int *known)
{
	struct np_fdent *e = ent(fd, 0);
	*known = e ? e->known : 0;
	return e ? e->s : NULL;
}

int np_fd_cacheable(int fd)
{
	return ent(fd, 1) != NULL;
}

void np_fd_put(int fd, struct np_sock *s)
{
	struct np_fdent *e = ent(fd, 1);
	if (!e)
		return; /* np_lookup asked np_fd_cacheable() first */
	e->s = s;
	e->known = 1;
	s->refs++;
}

void np_fd_set_other(int fd)
{
	struct np_fdent *e = ent(fd, 1);
	if (e) {
		e->s = NULL;
		e->known = 1;
	}
}

void np_fd_forget(int fd)
{
	struct np_fdent *e = ent(fd, 0);
	if (!e || !e->known)
		return;
	struct np_sock *s = e->s;
	e->s = NULL;
	e->known = 0;
	if (!s)
		return;
	np_ep_forget_fd(fd);
	np_sock_release(s, fd);
	if (s->refs > 0 && s->fd < 0) /* another fd of the same socket sends now */
		for (size_t i = 0; i < ntab; i++)
			if (tab[i].s == s) {
				s->fd = (int)i;
				break;
			}
}

void np_fd_alias(int oldfd, int newfd)
{
	np_fd_forget(newfd);
	struct np_fdent *o = ent(oldfd, 0);
	if (o && o->s)
		np_fd_put(newfd, o->s);
	else if (o && o->known)
		np_fd_set_other(newfd);
}

void np_fd_reset_all(void)
{
	/* after fork: the table is leaked, not freed (see at_fork_child) */
	tab = NULL;
	ntab = 0;
}

/* ---- epoll: which UDP fds an epoll set watches, and with what data ---- */

struct np_ep {
	int epfd, fd;
	struct epoll_event ev;
};
static struct np_ep *eps;
static size_t neps, capeps;

void np_ep_note(int epfd, int op, int fd, const struct epoll_event *ev)
{
	size_t i;
	for (i = 0; i < neps; i++)
		if (eps[i].epfd == epfd && eps[i].fd == fd)
			break;
	if (op == EPOLL_CTL_DEL) {
		if (i < neps)
			eps[i] = eps[--neps];
		return;
	}
	if (i == neps) {
		if (neps == capeps) {
			size_t n = capeps ? capeps * 2 : 8;
			struct np_ep *p = realloc(eps, n * sizeof *p);
			if (!p)
				return;
			eps = p;
			capeps = n;
		}
		neps++;
	}
	eps[i].epfd = epfd;
	eps[i].fd = fd;
	eps[i].ev = *ev;
}

void np_ep_forget_fd(int fd)
{
	for (size_t i = 0; i < neps;)
		if (eps[i].fd == fd || eps[i].epfd == fd)
			eps[i] = eps[--neps];
		else
			i++;
}

/* The impaired UDP fds watched by epfd, for np_wait.c: fills fds (up to
 * max) and their registrations, returns how many. */
size_t np_ep_list(int epfd, struct np_ep_item *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < neps && n < max; i++)
		if (eps[i].epfd == epfd) {
			out[n].fd = eps[i].fd;
			out[n].ev = eps[i].ev;
			n++;
		}
	return n;
}

/* ---- the wrappers ---- */

NP_EXPORT int close(int fd)
{
	np_init();
	if (np_active) {
		pthread_mutex_lock(&np_lock);
		np_fd_forget(fd);
		np_ep_forget_fd(fd);
		pthread_mutex_unlock(&np_lock);
	}
	return np_real.close(fd);
}

static int after_dup(int oldfd, int newfd)
{
	if (newfd >= 0 && np_active) {
		int e = errno;
		pthread_mutex_lock(&np_lock);
		np_fd_alias(oldfd, newfd);
		pthread_mutex_unlock(&np_lock);
		errno = e;
	}
	return newfd;
}

NP_EXPORT int dup(int fd)
{
	np_init();
	return after_dup(fd, np_real.dup(fd));
}

NP_EXPORT int dup2(int fd, int newfd)
{
	np_init();
	if (fd == newfd)
		return np_real.dup2(fd, newfd);
	return after_dup(fd, np_real.dup2(fd, newfd));
}

NP_EXPORT int dup3(int fd, int newfd, int flags)
{
	np_init();
	return after_dup(fd, np_real.dup3(fd, newfd, flags));
}

static int fcntl_common(int fd, int cmd, void *arg)
{
	np_init();
	int r = np_real.fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return after_dup(fd, r);
	return r;
}

NP_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *); /* as libc reads it: int or pointer */
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

/* What programs built with _FILE_OFFSET_BITS=64 (python3) call; on 64-bit
 * Linux it is the same call. */
int fcntl64(int fd, int cmd, ...);
NP_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

/* A new fd number may be one a closed UDP socket had (closed where we could
 * not see it): start from "not asked". */
static int fresh(int fd)
{
	if (fd >= 0 && np_active) {
		int e = errno;
		pthread_mutex_lock(&np_lock);
		np_fd_forget(fd);
		pthread_mutex_unlock(&np_lock);
		errno = e;
	}
	return fd;
}

NP_EXPORT int socket(int domain, int type, int proto)
{
	np_init();
	return fresh(np_real.socket(domain, type, proto));
}

NP_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l)
{
	np_init();
	return fresh(np_real.accept(fd, a, l));
}

NP_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
	np_init();
	return fresh(np_real.accept4(fd, a, l, flags));
}

NP_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	np_init();
	int r = np_real.epoll_ctl(epfd, op, fd, ev);
	if (r == 0 && np_active) {
		pthread_mutex_lock(&np_lock);
		if (op == EPOLL_CTL_DEL || np_lookup(fd, 1))
			np_ep_note(epfd, op, fd, ev);
		pthread_mutex_unlock(&np_lock);
	}
	return r;
}
