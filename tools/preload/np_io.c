/* np_io.c - the datagram calls of impaired UDP sockets.
 *
 * Sending: the datagram (its iovecs gathered, its address or the connected
 * peer) goes into the socket's outgoing model and every socket's due
 * datagrams are sent; the call returns the full length, as the kernel does
 * for a datagram a real network later loses.
 *
 * Receiving: what the kernel holds goes into the incoming model first (so
 * a datagram's delay starts when the program next looks), then the due one
 * is handed out.  When none is due, a non-blocking call says EAGAIN, and a
 * blocking one waits in poll() until the next one is due, or the kernel has
 * more, or SO_RCVTIMEO runs out.  Ancillary data is not carried through
 * the model: msg_controllen comes back 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "np.h"

/* ---- sending ---- */

/* Under np_lock: one datagram into s's model. */
static ssize_t send_locked(struct np_sock *s, int fd, const struct msghdr *msg)
{
	size_t len = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		size_t n = msg->msg_iov[i].iov_len;
		if (n > 65527 - len) { /* the largest UDP payload, over IPv6 */
			errno = EMSGSIZE;
			return -1;
		}
		if (n)
			memcpy(np_scratch + len, msg->msg_iov[i].iov_base, n);
		len += n;
	}
	struct udp_addr a;
	memset(&a, 0, sizeof a);
	if (msg->msg_name && msg->msg_namelen) {
		if (msg->msg_namelen > sizeof a.u.ss) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&a.u.ss, msg->msg_name, msg->msg_namelen);
		a.len = msg->msg_namelen;
	} else {
		/* the kernel's answer for an unconnected socket, now rather than
		 * never (the datagram would leave later and fail unseen) */
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;
		if (getpeername(fd, (struct sockaddr *)&peer, &pl) < 0) {
			errno = EDESTADDRREQ;
			return -1;
		}
	}
	uint64_t now = np_now();
	netsim_push(s->out, now, np_scratch, len, &a); /* losses are counted, not errors */
	if (np_flush_all(now) != UINT64_MAX)
		np_kick_flusher();
	return (ssize_t)len;
}

/* 1 and *ret when fd is an impaired UDP socket; 0: call libc. */
static int try_send(int fd, const struct msghdr *msg, ssize_t *ret)
{
	np_init();
	if (!np_active)
		return 0;
	pthread_mutex_lock(&np_lock);
	struct np_sock *s = np_lookup(fd, 0);
	if (s)
		*ret = send_locked(s, fd, msg);
	pthread_mutex_unlock(&np_lock);
	return s != NULL;
}

NP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t r;
	if (try_send(fd, msg, &r))
		return r;
	return np_real.sendmsg(fd, msg, flags);
}

NP_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;
	if (try_send(fd, &m, &r))
		return r;
	return np_real.sendto(fd, buf, len, flags, to, tolen);
}

NP_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return sendto(fd, buf, len, flags, NULL, 0);
}

NP_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;
	if (try_send(fd, &m, &r))
		return r;
	return np_real.write(fd, buf, len);
}

NP_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	unsigned i;
	for (i = 0; i < n; i++) {
		ssize_t r;
		if (!try_send(fd, &v[i].msg_hdr, &r))
			return i ? (int)i : np_real.sendmmsg(fd, v, n, flags);
		if (r < 0)
			return i ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

/* ---- receiving ---- */

/* Copies one datagram into msg as recvmsg(2) would. */
static ssize_t deliver(struct msghdr *msg, const unsigned char *p, size_t len,
		       const struct udp_addr *a, int flags)
{
	size_t off = 0;
	for (size_t i = 0; i < msg->msg_iovlen && off < len; i++) {
		size_t n = msg->msg_iov[i].iov_len;
		if (n > len - off)
			n = len - off;
		if (n)
			memcpy(msg->msg_iov[i].iov_base, p + off, n);
		off += n;
	}
	msg->msg_flags = off < len ? MSG_TRUNC : 0;
	if (msg->msg_name) {
		socklen_t n = msg->msg_namelen < a->len ? msg->msg_namelen : a->len;
		memcpy(msg->msg_name, &a->u.ss, n);
		msg->msg_namelen = a->len;
	}
	msg->msg_controllen = 0;
	return (ssize_t)((flags & MSG_TRUNC) ? len : off);
}

/* Under np_lock: hands out what is due.  1 with *ret set, or 0. */
static int take(struct np_sock *s, struct msghdr *msg, int flags, ssize_t *ret)
{
	if (s->has_peek) {
		*ret = deliver(msg, s->peek, s->peek_len, &s->peek_addr, flags);
		if (!(flags & MSG_PEEK))
			s->has_peek = 0;
		return 1;
	}
	size_t len;
	struct udp_addr a;
	if (netsim_pop(s->in, np_now(), np_scratch, sizeof np_scratch, &len, &a) == 1) {
		/* MSG_PEEK: the datagram has left the model; keep it in front */
		if ((flags & MSG_PEEK) && (s->peek || (s->peek = malloc(NP_MAXDGRAM)))) {
			memcpy(s->peek, np_scratch, len);
			s->peek_len = len;
			s->peek_addr = a;
			s->has_peek = 1;
		}
		*ret = deliver(msg, np_scratch, len, &a, flags);
		return 1;
	}
	if (s->pending_err) {
		errno = s->pending_err;
		s->pending_err = 0;
		*ret = -1;
		return 1;
	}
	return 0;
}

static int64_t rcvtimeo_us(int fd)
{
	struct timeval tv;
	socklen_t l = sizeof tv;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) < 0 || (!tv.tv_sec && !tv.tv_usec))
		return -1;
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* 1 and *ret when fd is an impaired UDP socket (handled here); 0: libc. */
static int try_recv(int fd, struct msghdr *msg, int flags, ssize_t *ret)
{
	np_init();
	if (!np_active || (flags & MSG_ERRQUEUE))
		return 0;
	uint64_t deadline = UINT64_MAX;
	for (int first = 1;; first = 0) {
		uint64_t now, due;
		pthread_mutex_lock(&np_lock);
		/* looked up again after every wait: another thread may have
		 * closed the fd meanwhile, and s with it */
		struct np_sock *s = np_lookup(fd, 1);
		if (!s) {
			pthread_mutex_unlock(&np_lock);
			if (first)
				return 0;
			errno = EBADF;
			*ret = -1;
			return 1;
		}
		now = np_now();
		np_flush_all(now);
		np_pump(s, fd);
		int got = take(s, msg, flags, ret);
		np_readable(s, now, &due);
		pthread_mutex_unlock(&np_lock);
		if (got)
			return 1;
		int fl = np_real.fcntl(fd, F_GETFL);
		if ((flags & MSG_DONTWAIT) || (fl >= 0 && (fl & O_NONBLOCK))) {
			errno = EAGAIN;
			*ret = -1;
			return 1;
		}
		if (first) {
			int64_t t = rcvtimeo_us(fd);
			if (t >= 0)
				deadline = now + (uint64_t)t;
		}
		if (deadline <= now) {
			errno = EAGAIN;
			*ret = -1;
			return 1;
		}
		uint64_t until = due < deadline ? due : deadline;
		struct timespec ts, *tp = NULL;
		if (until != UINT64_MAX) {
			uint64_t w = until > now ? until - now : 0;
			ts.tv_sec = (time_t)(w / 1000000u);
			ts.tv_nsec = (long)(w % 1000000u) * 1000;
			tp = &ts;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		if (np_real.ppoll(&p, 1, tp, NULL) < 0 && errno == EINTR) {
			*ret = -1; /* as recv(2) interrupted by a handler */
			return 1;
		}
	}
}

NP_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t r;
	if (try_recv(fd, msg, flags, &r))
		return r;
	return np_real.recvmsg(fd, msg, flags);
}

NP_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			   struct sockaddr *from, socklen_t *fromlen)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = from && fromlen ? from : NULL,
			    .msg_namelen = from && fromlen ? *fromlen : 0,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;
	if (try_recv(fd, &m, flags, &r)) {
		if (r >= 0 && from && fromlen)
			*fromlen = m.msg_namelen;
		return r;
	}
	return np_real.recvfrom(fd, buf, len, flags, from, fromlen);
}

NP_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

NP_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;
	if (try_recv(fd, &m, 0, &r))
		return r;
	return np_real.read(fd, buf, len);
}

/* The first message waits as the socket would; the rest take only what is
 * due now (the timeout argument is not honoured: see udpnetsim(1)). */
NP_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags,
		       struct timespec *timeout)
{
	unsigned i;
	for (i = 0; i < n; i++) {
		int f = i ? flags | MSG_DONTWAIT : flags & ~MSG_WAITFORONE;
		ssize_t r;
		if (!try_recv(fd, &v[i].msg_hdr, f, &r))
			return i ? (int)i : np_real.recvmmsg(fd, v, n, flags, timeout);
		if (r < 0)
			return i ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}
