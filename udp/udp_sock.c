/* udp_sock.c - the only file in udpkit that makes socket system calls.
 *
 * Error convention: EINTR is retried here, EAGAIN/EWOULDBLOCK (including an
 * expired SO_RCVTIMEO/SO_SNDTIMEO) becomes UDP_EAGAIN, anything else is
 * UDP_ESYS with errno left as the kernel set it, so a caller can still tell
 * ECONNREFUSED (an ICMP port unreachable on a connected socket) apart. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/errqueue.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "udp_err.h"
#include "udp_sock.h"
#include "internal/udp_sock_int.h"
#include "internal/udp_sock_struct.h"

/* Messages per sendmmsg/recvmmsg call.  The arrays live on the stack so the
 * batch paths never allocate; bigger batches loop. */
#define BATCH_MAX 64

/* UDP_MAX_SEGMENTS is 64 up to Linux 6.9 and 128 after; 64 works on both,
 * and the syscall saving beyond 64 segments is negligible. */
#define GSO_MAX_SEGS 64
/* The segments of one GSO send share one IP datagram before segmentation,
 * so their sum must fit in a UDP payload (the IPv4 limit is the smaller). */
#define GSO_MAX_BYTES UDP_MAX_PAYLOAD


static int sys_err(void)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return UDP_EAGAIN;
	return UDP_ESYS;
}

static int setopt_int(int fd, int level, int name, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof val) < 0)
		return UDP_ESYS;
	return 0;
}

static int getopt_int(int fd, int level, int name, int *val)
{
	socklen_t len = sizeof *val;
	if (getsockopt(fd, level, name, val, &len) < 0)
		return UDP_ESYS;
	return 0;
}

static int is_inet(const struct udp_sock *s)
{
	return s->family == AF_INET || s->family == AF_INET6;
}

static const struct sockaddr *addr_sa(const struct udp_addr *a)
{
	return (a && a->len) ? &a->u.sa : NULL;
}

static socklen_t addr_len(const struct udp_addr *a)
{
	return a ? a->len : 0;
}

int udp_sock_open(struct udp_sock **out, int family, int flags)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (flags & ~(UDP_SOCK_REUSEADDR | UDP_SOCK_REUSEPORT | UDP_SOCK_NONBLOCK |
		      UDP_SOCK_V6ONLY))
		return UDP_EINVAL;
	if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
		return UDP_EFAMILY;
	if (family == AF_UNIX && (flags & UDP_SOCK_REUSEPORT))
		return UDP_EFAMILY; /* port groups are an inet notion */

	struct udp_sock *s = calloc(1, sizeof *s);
	if (!s)
		return UDP_ENOMEM;
	s->family = family;
	s->nonblock = (flags & UDP_SOCK_NONBLOCK) != 0;
	int type = SOCK_DGRAM | SOCK_CLOEXEC;
	if (flags & UDP_SOCK_NONBLOCK)
		type |= SOCK_NONBLOCK;
	s->fd = socket(family, type, 0);
	if (s->fd < 0) {
		int e = errno;
		free(s);
		errno = e;
		return UDP_ESYS;
	}

	int rc = 0;
	if (family == AF_INET6)
		/* Set either way: the sysctl default (bindv6only) varies by host. */
		rc = setopt_int(s->fd, IPPROTO_IPV6, IPV6_V6ONLY,
				(flags & UDP_SOCK_V6ONLY) ? 1 : 0);
	if (!rc && family != AF_UNIX && (flags & UDP_SOCK_REUSEADDR))
		rc = setopt_int(s->fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!rc && (flags & UDP_SOCK_REUSEPORT))
		rc = setopt_int(s->fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (rc) {
		int e = errno;
		close(s->fd);
		free(s);
		errno = e;
		return rc;
	}

#ifdef UDP_SEGMENT
	/* Reading UDP_SEGMENT back is a cheap probe: kernels without GSO say
	 * ENOPROTOOPT, and we never attempt it there. */
	int seg;
	if (is_inet(s) && getopt_int(s->fd, IPPROTO_UDP, UDP_SEGMENT, &seg) == 0)
		s->gso = 1;
#endif
	for (unsigned i = 0; i < UDP_SOCK_LAYERS; i++) {
		rc = udp_sock_open_hook[i] ? udp_sock_open_hook[i](s) : 0;
		if (rc) {
			udp_sock_free(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

/* Remembers a filesystem path that bind() just created, for free to unlink. */
static void own_unix_path(struct udp_sock *s, const struct udp_addr *a)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (s->family != AF_UNIX || a->len <= off || a->u.un.sun_path[0] == '\0')
		return; /* unnamed, autobind or abstract: nothing on disk */
	size_t n = a->len - off;
	if (n > sizeof a->u.un.sun_path)
		n = sizeof a->u.un.sun_path;
	memcpy(s->path, a->u.un.sun_path, n);
	s->path[n] = '\0';
	struct stat st;
	if (stat(s->path, &st) == 0) {
		s->path_dev = st.st_dev;
		s->path_ino = st.st_ino;
	} else {
		s->path[0] = '\0';
	}
}

int udp_sock_bind(struct udp_sock *s, const struct udp_addr *local)
{
	if (!s || !local || !local->len)
		return UDP_EINVAL;
	if (local->u.sa.sa_family != s->family)
		return UDP_EFAMILY;
	if (bind(s->fd, &local->u.sa, local->len) < 0)
		return UDP_ESYS;
	own_unix_path(s, local);
	return 0;
}

int udp_sock_open_bound(struct udp_sock **out, const struct udp_addr *local, int flags)
{
	if (!out)
		return UDP_EINVAL;
	*out = NULL;
	if (!local || !local->len)
		return UDP_EINVAL;
	struct udp_sock *s;
	int rc = udp_sock_open(&s, local->u.sa.sa_family, flags);
	if (rc)
		return rc;
	rc = udp_sock_bind(s, local);
	if (rc) {
		int e = errno;
		udp_sock_free(s);
		errno = e;
		return rc;
	}
	*out = s;
	return 0;
}

void udp_sock_free(struct udp_sock *s)
{
	if (!s)
		return;
	if (s->path[0]) {
		struct stat st;
		if (stat(s->path, &st) == 0 && st.st_dev == s->path_dev &&
		    st.st_ino == s->path_ino)
			unlink(s->path);
	}
	for (unsigned i = 0; i < UDP_SOCK_LAYERS; i++)
		if (s->layer[i].ops)
			s->layer[i].ops->free(s->layer[i].state);
	close(s->fd);
	free(s);
}

int udp_sock_fd(const struct udp_sock *s)
{
	return s ? s->fd : -1;
}

int udp_sock_family(const struct udp_sock *s)
{
	return s ? s->family : AF_UNSPEC;
}

int udp_sock_connect(struct udp_sock *s, const struct udp_addr *peer)
{
	if (!s)
		return UDP_EINVAL;
	if (!peer || !peer->len) {
		/* No peer: dissolve the association (connect to AF_UNSPEC). */
		struct sockaddr sa = { .sa_family = AF_UNSPEC };
		if (connect(s->fd, &sa, sizeof sa) < 0)
			return UDP_ESYS;
		return 0;
	}
	if (connect(s->fd, &peer->u.sa, peer->len) < 0)
		return UDP_ESYS;
	return 0;
}

int udp_sock_local_addr(const struct udp_sock *s, struct udp_addr *out)
{
	if (!s || !out)
		return UDP_EINVAL;
	memset(out, 0, sizeof *out);
	socklen_t len = sizeof out->u.ss;
	if (getsockname(s->fd, &out->u.sa, &len) < 0)
		return UDP_ESYS;
	out->len = len;
	return 0;
}

int udp_sock_peer_addr(const struct udp_sock *s, struct udp_addr *out)
{
	if (!s || !out)
		return UDP_EINVAL;
	memset(out, 0, sizeof *out);
	socklen_t len = sizeof out->u.ss;
	if (getpeername(s->fd, &out->u.sa, &len) < 0)
		return UDP_ESYS; /* ENOTCONN: not connected */
	out->len = len;
	return 0;
}

int udp_sock_set_nonblock(struct udp_sock *s, int on)
{
	if (!s)
		return UDP_EINVAL;
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0)
		return UDP_ESYS;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (fcntl(s->fd, F_SETFL, fl) < 0)
		return UDP_ESYS;
	s->nonblock = on ? 1 : 0;
	return 0;
}

static int set_timeout(struct udp_sock *s, int name, unsigned ms)
{
	if (!s)
		return UDP_EINVAL;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	if (setsockopt(s->fd, SOL_SOCKET, name, &tv, sizeof tv) < 0)
		return UDP_ESYS;
	return 0;
}

int udp_sock_set_recv_timeout(struct udp_sock *s, unsigned ms)
{
	return set_timeout(s, SO_RCVTIMEO, ms);
}

int udp_sock_set_send_timeout(struct udp_sock *s, unsigned ms)
{
	return set_timeout(s, SO_SNDTIMEO, ms);
}

/* The FORCE variants pass the rmem_max/wmem_max caps but need CAP_NET_ADMIN;
 * without it the plain option still gets as much as the caps allow. */
static int set_buf(int fd, int force, int plain, int bytes)
{
	if (setopt_int(fd, SOL_SOCKET, force, bytes) == 0)
		return 0;
	return setopt_int(fd, SOL_SOCKET, plain, bytes);
}

int udp_sock_set_buffers(struct udp_sock *s, int rcvbuf, int sndbuf)
{
	if (!s || rcvbuf < 0 || sndbuf < 0)
		return UDP_EINVAL;
	if (rcvbuf && set_buf(s->fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf))
		return UDP_ESYS;
	if (sndbuf && set_buf(s->fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf))
		return UDP_ESYS;
	return 0;
}

int udp_sock_get_buffers(const struct udp_sock *s, int *rcvbuf, int *sndbuf)
{
	if (!s)
		return UDP_EINVAL;
	if (rcvbuf && getopt_int(s->fd, SOL_SOCKET, SO_RCVBUF, rcvbuf))
		return UDP_ESYS;
	if (sndbuf && getopt_int(s->fd, SOL_SOCKET, SO_SNDBUF, sndbuf))
		return UDP_ESYS;
	return 0;
}

int udp_sock_set_broadcast(struct udp_sock *s, int on)
{
	if (!s)
		return UDP_EINVAL;
	if (!is_inet(s))
		return UDP_EFAMILY;
	return setopt_int(s->fd, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0);
}

/* ifname -> index; NULL or "" is 0, the kernel's choice. */
static int if_index(const char *ifname, unsigned *idx)
{
	*idx = 0;
	if (!ifname || !*ifname)
		return 0;
	*idx = if_nametoindex(ifname);
	if (!*idx) {
		errno = ENODEV;
		return UDP_ESYS;
	}
	return 0;
}

/* If a is IPv4 or v4-mapped IPv6, stores the IPv4 address and returns 1. */
static int group_v4(const struct udp_addr *a, struct in_addr *v4)
{
	if (a->u.sa.sa_family == AF_INET && a->len >= sizeof a->u.in4) {
		*v4 = a->u.in4.sin_addr;
		return 1;
	}
	if (a->u.sa.sa_family == AF_INET6 && a->len >= sizeof a->u.in6 &&
	    IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr)) {
		memcpy(&v4->s_addr, &a->u.in6.sin6_addr.s6_addr[12], 4);
		return 1;
	}
	return 0;
}

static int membership(struct udp_sock *s, const struct udp_addr *group,
		      const char *ifname, int join)
{
	if (!s || !group || !group->len)
		return UDP_EINVAL;
	if (!is_inet(s))
		return UDP_EFAMILY;
	unsigned idx;
	if (if_index(ifname, &idx))
		return UDP_ESYS;

	struct in_addr v4;
	if (group_v4(group, &v4)) {
		/* The IPv4 options work on a dual-stack IPv6 socket as well. */
		struct ip_mreqn mr = { .imr_multiaddr = v4, .imr_ifindex = (int)idx };
		mr.imr_address.s_addr = htonl(INADDR_ANY);
		if (setsockopt(s->fd, IPPROTO_IP,
			       join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
			       &mr, sizeof mr) < 0)
			return UDP_ESYS;
		return 0;
	}
	if (group->u.sa.sa_family != AF_INET6 || group->len < sizeof group->u.in6)
		return UDP_EFAMILY;
	if (s->family != AF_INET6)
		return UDP_EFAMILY;
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = group->u.in6.sin6_addr };
	/* A scoped group ("ff12::1%eth0") names its interface itself. */
	mr.ipv6mr_interface = idx ? idx : group->u.in6.sin6_scope_id;
	if (setsockopt(s->fd, IPPROTO_IPV6,
		       join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr, sizeof mr) < 0)
		return UDP_ESYS;
	return 0;
}

int udp_sock_join(struct udp_sock *s, const struct udp_addr *group, const char *ifname)
{
	return membership(s, group, ifname, 1);
}

int udp_sock_leave(struct udp_sock *s, const struct udp_addr *group, const char *ifname)
{
	return membership(s, group, ifname, 0);
}

/* On an IPv6 socket the v6 option decides the result; the IPv4 twin is set
 * too, best effort, so v4-mapped traffic of a dual-stack socket follows. */
static int set_v4v6(struct udp_sock *s, int v4name, int v6name, int val)
{
	if (s->family == AF_INET)
		return setopt_int(s->fd, IPPROTO_IP, v4name, val);
	int rc = setopt_int(s->fd, IPPROTO_IPV6, v6name, val);
	if (!rc) {
		int e = errno;
		(void)setopt_int(s->fd, IPPROTO_IP, v4name, val);
		errno = e;
	}
	return rc;
}

int udp_sock_set_mcast_ttl(struct udp_sock *s, int ttl)
{
	if (!s || ttl < 0 || ttl > 255)
		return UDP_EINVAL;
	if (!is_inet(s))
		return UDP_EFAMILY;
	return set_v4v6(s, IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS, ttl);
}

int udp_sock_set_mcast_loop(struct udp_sock *s, int on)
{
	if (!s)
		return UDP_EINVAL;
	if (!is_inet(s))
		return UDP_EFAMILY;
	return set_v4v6(s, IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, on ? 1 : 0);
}

int udp_sock_set_mcast_if(struct udp_sock *s, const char *ifname)
{
	if (!s)
		return UDP_EINVAL;
	if (!is_inet(s))
		return UDP_EFAMILY;
	unsigned idx;
	if (if_index(ifname, &idx))
		return UDP_ESYS;
	struct ip_mreqn mr = { .imr_ifindex = (int)idx };
	mr.imr_address.s_addr = htonl(INADDR_ANY);
	if (s->family == AF_INET) {
		if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) < 0)
			return UDP_ESYS;
		return 0;
	}
	int rc = setopt_int(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)idx);
	if (!rc) {
		int e = errno;
		(void)setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr);
		errno = e;
	}
	return rc;
}

int udp_sock_set_ttl(struct udp_sock *s, int ttl)
{
	/* -1 asks the kernel for its default (both IP_TTL and hop limit). */
	if (!s || ttl < -1 || ttl > 255)
		return UDP_EINVAL;
	if (!is_inet(s))
		return UDP_EFAMILY;
	return set_v4v6(s, IP_TTL, IPV6_UNICAST_HOPS, ttl);
}

/* ---- I/O ---- */

int udp_sock_send(struct udp_sock *s, const void *buf, size_t len,
		  const struct udp_addr *to)
{
	if (!s || (!buf && len) || len > INT_MAX)
		return UDP_EINVAL;
	return udp_sock_layer_send(s, 0, buf, len, to);
}

int udp_sock_layer_send(struct udp_sock *s, unsigned level, const void *buf,
			size_t len, const struct udp_addr *to)
{
	for (unsigned i = level; i < UDP_SOCK_LAYERS; i++)
		if (s->layer[i].out)
			return s->layer[i].ops->send(s, s->layer[i].state, buf, len, to);
	ssize_t n;
	do
		n = sendto(s->fd, buf, len, MSG_NOSIGNAL, addr_sa(to), addr_len(to));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sys_err();
	if (s->tap) {
		struct udp_msg m = { .buf = (void *)buf, .len = (size_t)n };
		if (to)
			m.addr = *to;
		s->tap(s->tap_ctx, s, 0, &m, 1);
	}
	return (int)n;
}

int udp_sock_set_tap(struct udp_sock *s, udp_sock_tap_fn fn, void *ctx)
{
	if (!s)
		return UDP_EINVAL;
	s->tap = fn;
	s->tap_ctx = ctx;
	return 0;
}

/* Fills in a udp_msg from what recvmsg reported.  MSG_TRUNC was passed in,
 * so wire is the datagram's real size even when it did not fit. */
static void finish_recv(struct udp_msg *m, size_t wire, const struct msghdr *h)
{
	m->wire_len = wire;
	m->len = wire < m->cap ? wire : m->cap;
	m->flags = (h->msg_flags & MSG_TRUNC) || wire > m->cap ? UDP_MSG_TRUNC : 0;
	m->addr.len = h->msg_namelen;
	m->seg_size = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int seg;
			memcpy(&seg, CMSG_DATA(c), sizeof seg);
			/* a "coalesced" message of one datagram is just a datagram */
			if (seg > 0 && (size_t)seg < m->len)
				m->seg_size = (size_t)seg;
		}
	}
}

/* Room for the UDP_GRO control message of one receive. */
union gro_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static int recv_cap_ok(const struct udp_sock *s, const struct udp_msg *m)
{
	return (m->buf || !m->cap) && m->cap <= INT_MAX &&
	       (!s->gro || s->in_authed || m->cap >= UDP_GRO_MIN_CAP);
}

/* One datagram up through the slots from level. */
static int layer_recv(struct udp_sock *s, unsigned level, struct udp_msg *m)
{
	for (unsigned i = level; i < UDP_SOCK_LAYERS; i++)
		if (s->layer[i].in) {
			int rc = s->layer[i].ops->recv_batch(s, s->layer[i].state, m, 1);
			return rc < 0 ? rc : (int)m->len;
		}
	return udp_sock_sys_recv(s, m, 0);
}

int udp_sock_recv(struct udp_sock *s, struct udp_msg *m)
{
	if (!s || !m || !recv_cap_ok(s, m))
		return UDP_EINVAL;
	if (s->in_authed)
		return layer_recv(s, 0, m);
	for (;;) {
		int rc = layer_recv(s, 0, m);
		if (rc < 0 || s->pass_sealed || udp_sock_keyless_filter(s, m, 1))
			return rc;
		if (s->nonblock)
			return UDP_EAGAIN; /* it was sealed and we have no key */
	}
}

int udp_sock_sys_recv(struct udp_sock *s, struct udp_msg *m, int flags)
{
	struct iovec iov = { .iov_base = m->buf, .iov_len = m->cap };
	union gro_cmsg ctl;
	struct msghdr h = {
		.msg_name = &m->addr.u.ss,
		.msg_namelen = sizeof m->addr.u.ss,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = s->gro ? ctl.buf : NULL,
		.msg_controllen = s->gro ? sizeof ctl.buf : 0,
	};
	ssize_t n;
	do
		n = recvmsg(s->fd, &h, MSG_TRUNC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sys_err();
	finish_recv(m, (size_t)n, &h);
	if (s->tap)
		s->tap(s->tap_ctx, s, 1, m, 1);
	return (int)m->len;
}

int udp_sock_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	if (!s || !msgs || !n || n > INT_MAX)
		return UDP_EINVAL;
	if (s->in_authed)
		return udp_sock_layer_recv_batch(s, 0, msgs, n);
	for (;;) {
		int rc = udp_sock_layer_recv_batch(s, 0, msgs, n);
		if (rc <= 0 || s->pass_sealed)
			return rc;
		rc = (int)udp_sock_keyless_filter(s, msgs, (unsigned)rc);
		if (rc > 0)
			return rc;
		if (s->nonblock)
			return UDP_EAGAIN; /* all were sealed and we have no key */
	}
}

int udp_sock_layer_recv_batch(struct udp_sock *s, unsigned level,
			      struct udp_msg *msgs, unsigned n)
{
	for (unsigned i = level; i < UDP_SOCK_LAYERS; i++)
		if (s->layer[i].in)
			return s->layer[i].ops->recv_batch(s, s->layer[i].state, msgs, n);
	return udp_sock_sys_recv_batch(s, msgs, n);
}

int udp_sock_sys_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	struct mmsghdr mm[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union gro_cmsg ctl[BATCH_MAX];
	unsigned got = 0;
	while (got < n) {
		unsigned k = n - got < BATCH_MAX ? n - got : BATCH_MAX;
		for (unsigned i = 0; i < k; i++) {
			struct udp_msg *m = &msgs[got + i];
			if (!recv_cap_ok(s, m))
				return got ? (int)got : UDP_EINVAL;
			iov[i].iov_base = m->buf;
			iov[i].iov_len = m->cap;
			mm[i].msg_hdr = (struct msghdr){
				.msg_name = &m->addr.u.ss,
				.msg_namelen = sizeof m->addr.u.ss,
				.msg_iov = &iov[i],
				.msg_iovlen = 1,
				.msg_control = s->gro ? ctl[i].buf : NULL,
				.msg_controllen = s->gro ? sizeof ctl[i].buf : 0,
			};
			mm[i].msg_len = 0;
		}
		/* Only the first call may wait; later ones take what is queued. */
		int fl = MSG_TRUNC | MSG_WAITFORONE | (got ? MSG_DONTWAIT : 0);
		int r;
		do
			r = recvmmsg(s->fd, mm, k, fl, NULL);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			if (got)
				return (int)got; /* the error shows again next call */
			return sys_err();
		}
		for (int i = 0; i < r; i++)
			finish_recv(&msgs[got + i], mm[i].msg_len, &mm[i].msg_hdr);
		if (s->tap)
			s->tap(s->tap_ctx, s, 1, msgs + got, (unsigned)r);
		got += (unsigned)r;
		if ((unsigned)r < k)
			break; /* the queue ran dry */
	}
	return (int)got;
}

/* Both "no address" (a connected socket) or the same endpoint. */
static int same_dest(const struct udp_addr *a, const struct udp_addr *b)
{
	if (!a->len || !b->len)
		return a->len == b->len;
	return a->len == b->len && udp_addr_equal(a, b);
}

/* Length of the GSO-able run at msgs[0..n): same destination, equal sizes,
 * the last one possibly shorter, within the kernel's segment and byte
 * limits.  Returns 1 when there is nothing to gain. */
static unsigned gso_run(const struct udp_sock *s, const struct udp_msg *msgs,
			unsigned n)
{
	size_t seg = msgs[0].len;
	if (seg == 0 || seg > GSO_MAX_BYTES / 2 || n < 2)
		return 1;
	if (s->gso_bad_seg && seg >= s->gso_bad_seg)
		return 1; /* refused before at this size or smaller */
	unsigned max = GSO_MAX_BYTES / seg;
	if (max > GSO_MAX_SEGS)
		max = GSO_MAX_SEGS;
	if (max > n)
		max = n;
	unsigned r = 1;
	while (r < max && same_dest(&msgs[0].addr, &msgs[r].addr)) {
		size_t l = msgs[r].len;
		if (l > seg || l == 0)
			break;
		r++;
		if (l < seg)
			break; /* a shorter one can only end a run */
	}
	return r;
}

/* Errors that mean "no GSO for this send" rather than "the send failed":
 * the kernel or route refuses segmentation (old kernel, xfrm, a segment
 * above the path MTU, checksum offload off).  The run then goes out one
 * datagram each. */
static int gso_refused(int e)
{
	return e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP ||
	       e == EMSGSIZE;
}

/* Sends msgs[0..r) as one GSO datagram.  Returns r, 0 when GSO was refused
 * (caller falls back), or a negative error. */
static int send_gso(struct udp_sock *s, struct udp_msg *msgs, unsigned r)
{
#ifdef UDP_SEGMENT
	struct iovec iov[GSO_MAX_SEGS];
	for (unsigned i = 0; i < r; i++) {
		iov[i].iov_base = msgs[i].buf;
		iov[i].iov_len = msgs[i].len;
	}
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct msghdr h = {
		.msg_name = (void *)addr_sa(&msgs[0].addr),
		.msg_namelen = msgs[0].addr.len,
		.msg_iov = iov,
		.msg_iovlen = r,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof ctl.buf,
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&h);
	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	uint16_t seg = (uint16_t)msgs[0].len;
	memcpy(CMSG_DATA(c), &seg, sizeof seg);
	ssize_t n;
	do
		n = sendmsg(s->fd, &h, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		s->gso_ok = 1;
		return (int)r;
	}
	if (!gso_refused(errno))
		return sys_err();
	/* "Not supported" is final.  EINVAL/EMSGSIZE may only mean this segment
	 * size is above the path MTU, so smaller ones keep GSO; but a socket
	 * where it never worked gives up after a few tries rather than pay a
	 * failed syscall per batch. */
	if (errno == ENOPROTOOPT || errno == EOPNOTSUPP ||
	    (!s->gso_ok && ++s->gso_refusals >= 3))
		s->gso = 0;
	else if (!s->gso_bad_seg || msgs[0].len < s->gso_bad_seg)
		s->gso_bad_seg = msgs[0].len;
	return 0;
#else
	(void)msgs;
	(void)r;
	s->gso = 0;
	return 0;
#endif
}

/* Sends msgs[0..n) (n <= BATCH_MAX) with one sendmmsg.  Returns how many
 * went, or a negative error when none did. */
static int send_mmsg(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	struct mmsghdr mm[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = msgs[i].buf;
		iov[i].iov_len = msgs[i].len;
		mm[i].msg_hdr = (struct msghdr){
			.msg_name = (void *)addr_sa(&msgs[i].addr),
			.msg_namelen = msgs[i].addr.len,
			.msg_iov = &iov[i],
			.msg_iovlen = 1,
		};
		mm[i].msg_len = 0;
	}
	int r;
	do
		r = sendmmsg(s->fd, mm, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return sys_err();
	return r;
}

int udp_sock_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	if (!s || !msgs || !n || n > INT_MAX)
		return UDP_EINVAL;
	for (unsigned i = 0; i < n; i++)
		if ((!msgs[i].buf && msgs[i].len) || msgs[i].len > INT_MAX)
			return UDP_EINVAL;
	return udp_sock_layer_send_batch(s, 0, msgs, n);
}

int udp_sock_layer_send_batch(struct udp_sock *s, unsigned level,
			      struct udp_msg *msgs, unsigned n)
{
	for (unsigned i = level; i < UDP_SOCK_LAYERS; i++)
		if (s->layer[i].out)
			return s->layer[i].ops->send_batch(s, s->layer[i].state, msgs, n);
	return udp_sock_sys_send_batch(s, msgs, n);
}

static int sys_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* The kernel half: also how the lowest layer reaches the wire. */
int udp_sock_sys_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	int rc = sys_send_batch(s, msgs, n);
	if (rc > 0 && s->tap)
		s->tap(s->tap_ctx, s, 0, msgs, (unsigned)rc);
	return rc;
}

static int sys_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	unsigned sent = 0;
	while (sent < n) {
		struct udp_msg *m = &msgs[sent];
		unsigned left = n - sent;
		if (s->gso) {
			unsigned r = gso_run(s, m, left);
			if (r > 1) {
				int rc = send_gso(s, m, r);
				if (rc < 0)
					return sent ? (int)sent : rc;
				if (rc > 0) {
					sent += (unsigned)rc;
					continue;
				}
				/* refused: fall through, this run goes plainly */
			}
		}
		/* Plain messages up to where the next GSO run begins, so runs
		 * keep their single-syscall path. */
		unsigned k = left < BATCH_MAX ? left : BATCH_MAX;
		if (s->gso) {
			unsigned j = 1;
			while (j < k && gso_run(s, m + j, left - j) < 2)
				j++;
			k = j;
		}
		int rc = send_mmsg(s, m, k);
		if (rc < 0)
			return sent ? (int)sent : rc;
		sent += (unsigned)rc;
		if ((unsigned)rc < k)
			break; /* the kernel stopped; errno tells on the next call */
	}
	return (int)sent;
}

int udp_sock_set_pmtu_probe(struct udp_sock *s)
{
	int v4 = IP_PMTUDISC_PROBE, v6 = IPV6_PMTUDISC_PROBE;
	/* a socket of one family refuses the other's option: one is enough */
	int a = setsockopt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4);
	int b = setsockopt(s->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof v6);
	return a == 0 || b == 0 ? 0 : UDP_ESYS;
}

size_t udp_route_mtu(const void *addr, size_t alen)
{
	const struct sockaddr *sa = addr;
	if (!addr || alen < sizeof(sa_family_t) || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int mtu = 0;
	socklen_t ml = sizeof mtu;
	size_t hdr = 28;
	/* connect() on UDP sends nothing: it only looks the route up */
	if (connect(fd, sa, (socklen_t)alen) < 0) {
		mtu = 0;
	} else if (sa->sa_family == AF_INET) {
		(void)getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &ml);
	} else {
		const struct sockaddr_in6 *s6 = addr;
		hdr = IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ? 28 : 48;
		(void)getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &ml);
	}
	close(fd);
	return mtu > (int)hdr ? (size_t)mtu - hdr : 0;
}

int udp_sock_set_recverr(struct udp_sock *s, int on)
{
	/* an IPv6 socket carries IPv4 too (dual stack): both options, and one
	 * taken is enough */
	int v = on ? 1 : 0;
	int a = setsockopt(s->fd, IPPROTO_IP, IP_RECVERR, &v, sizeof v);
	int b = setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVERR, &v, sizeof v);
	return a == 0 || b == 0 ? 0 : UDP_ESYS;
}

int udp_sock_recv_error(struct udp_sock *s, struct udp_ptb *e, void *buf, size_t cap)
{
	if (!s || !e || (!buf && cap))
		return UDP_EINVAL;
	memset(e, 0, sizeof *e);
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)) * 2];
	} ctl;
	uint8_t dummy;
	struct iovec iov = { .iov_base = cap ? buf : &dummy, .iov_len = cap ? cap : 1 };
	struct msghdr h = { .msg_name = &e->dest.u, .msg_namelen = sizeof e->dest.u,
			    .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
	ssize_t n;
	do
		n = recvmsg(s->fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sys_err();
	e->dest.len = h.msg_namelen;
	const struct sock_extended_err *ee = NULL;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm))
		if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
		    (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR))
			ee = (const struct sock_extended_err *)CMSG_DATA(cm);
	if (!ee)
		return 0;
	/* our own datagrams too big for the interface fail at send already
	 * (EMSGSIZE) and come here as SO_EE_ORIGIN_LOCAL: only the network's
	 * word is news */
	int v4 = ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == 3 && ee->ee_code == 4;
	int v6 = ee->ee_origin == SO_EE_ORIGIN_ICMP6 && ee->ee_type == 2;
	if (!v4 && !v6)
		return 0;
	e->mtu = ee->ee_info;
	size_t hdr = v6 ? 48 : 28;
	e->max_payload = e->mtu > hdr ? e->mtu - hdr : 0;
	e->quoted_len = (size_t)n < cap ? (size_t)n : cap;
	const struct sockaddr *off = SO_EE_OFFENDER(ee);
	if (off->sa_family == AF_INET)
		e->from.len = sizeof(struct sockaddr_in);
	else if (off->sa_family == AF_INET6)
		e->from.len = sizeof(struct sockaddr_in6);
	if (e->from.len)
		memcpy(&e->from.u, off, e->from.len);
	return 1;
}

int udp_sock_set_gso(struct udp_sock *s, int on)
{
	if (!s)
		return UDP_EINVAL;
	if (!on) {
		s->gso = 0;
		return 0;
	}
#ifdef UDP_SEGMENT
	int seg;
	if (is_inet(s) && getopt_int(s->fd, IPPROTO_UDP, UDP_SEGMENT, &seg) == 0) {
		s->gso = 1;
		s->gso_bad_seg = 0;
		s->gso_refusals = 0;
	}
#endif
	return s->gso;
}

int udp_sock_set_gro(struct udp_sock *s, int on)
{
	if (!s)
		return UDP_EINVAL;
	if (!is_inet(s)) {
		s->gro = 0;
		return 0;
	}
	if (s->in_single)
		on = 0; /* each datagram must meet a layer on its own */
	if (setopt_int(s->fd, SOL_UDP, UDP_GRO, on ? 1 : 0) < 0) {
		s->gro = 0;
		return errno == ENOPROTOOPT ? 0 : UDP_ESYS;
	}
	s->gro = on ? 1 : 0;
	return s->gro;
}
