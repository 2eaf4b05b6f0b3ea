/* np.h - the inside of libudpkit-netsim-preload.so, the LD_PRELOAD half of
 * udpnetsim(1).  "np" = netsim preload.
 *
 * np_state.c  the real libc functions, the fd table (which fds are UDP
 *             sockets, cached), one pair of netsim models per socket, the
 *             flusher thread for delayed outgoing datagrams, fork, and the
 *             --stats report at exit
 * np_io.c     the datagram calls: send family in, receive family out
 * np_wait.c   poll, ppoll, select, pselect, epoll_wait/epoll_pwait, whose
 *             readiness must follow the incoming model, not the kernel
 * np_fd.c     close, dup, dup2, dup3, fcntl(F_DUPFD), socket, accept,
 *             epoll_ctl: the calls that change what an fd number means
 *
 * Locking: one mutex (np_lock) guards everything here, models included.
 * It is never held across a call that may block. */
#ifndef NP_H
#define NP_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "netsim.h"

#define NP_EXPORT __attribute__((visibility("default")))
/* The biggest UDP payload is 65535 - 8 bytes; one scratch buffer fits all. */
#define NP_MAXDGRAM 65536

/* The libc functions we wrap, found with dlsym(RTLD_NEXT). */
struct np_real {
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*read)(int, void *, size_t);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*socket)(int, int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
};
extern struct np_real np_real;
/* Fills np_real on first use (a constructor of another library may call
 * us before ours ran). */
void np_init(void);

/* One UDP socket, shared by all the fds that dup() made of it. */
struct np_sock {
	struct np_sock *next;   /* np_socks list */
	int refs;               /* fds of the program pointing here */
	int fd;                 /* an fd to send delayed datagrams through */
	int first_fd;           /* the fd it was found on, for the report */
	int lingering;          /* program closed it; fd is our private dup */
	unsigned index;         /* 0, 1, ... in order of first use: seed + index */
	dev_t dev;              /* to notice that the fd now means another file */
	ino_t ino;
	struct netsim *out, *in; /* NULL: that direction passes untouched */
	int pending_err;        /* an errno the kernel reported (ICMP) for recv */
	uint64_t send_errors;   /* delayed datagrams the kernel refused */
	unsigned char *peek;    /* a datagram MSG_PEEK took out of the model */
	size_t peek_len;
	int has_peek;
	struct udp_addr peek_addr;
};

extern pthread_mutex_t np_lock;
extern unsigned char np_scratch[NP_MAXDGRAM]; /* under np_lock */

/* Monotonic microseconds, the models' clock. */
uint64_t np_now(void);

/* The impaired UDP socket behind fd, or NULL when the call should go
 * straight to libc (not UDP, not impaired, not a socket).  Caller holds
 * np_lock.  dir_in: 1 for receive calls, 0 for send calls. */
struct np_sock *np_lookup(int fd, int dir_in);
/* 1 when anything is impaired at all (else every wrapper is a plain jump). */
extern int np_active;

/* Under np_lock: sends every outgoing datagram that is due on every
 * socket; returns the earliest outgoing due time (UINT64_MAX: none). */
uint64_t np_flush_all(uint64_t now);
/* Under np_lock: after a push left datagrams queued, make sure the flusher
 * thread runs and re-reads its deadline. */
void np_kick_flusher(void);
/* Under np_lock: moves what the kernel holds for s into its incoming model. */
void np_pump(struct np_sock *s, int fd);
/* Under np_lock: 1 when a receive on s would return something now (a due
 * datagram, a peeked one, or an error); else 0 and *due the time the next
 * one is (UINT64_MAX: none held). */
int np_readable(struct np_sock *s, uint64_t now, uint64_t *due);

/* np_fd.c: fd bookkeeping under np_lock. */
void np_fd_forget(int fd);              /* fd closed (or about to mean something else) */
void np_fd_alias(int oldfd, int newfd); /* newfd is now a dup of oldfd */
void np_fd_set_other(int fd);           /* a fresh fd known not to be UDP */
struct np_sock *np_fd_get(int fd, int *known);
int np_fd_cacheable(int fd);            /* 0: fd too big or no memory: not impaired */
void np_fd_put(int fd, struct np_sock *s);
void np_sock_release(struct np_sock *s, int fd); /* one fd of s closed */
void np_fd_reset_all(void);             /* after fork in the child */
/* epoll registrations of impaired UDP fds. */
void np_ep_note(int epfd, int op, int fd, const struct epoll_event *ev);
void np_ep_forget_fd(int fd);
struct np_ep_item {
	int fd;
	struct epoll_event ev;
};
size_t np_ep_list(int epfd, struct np_ep_item *out, size_t max);

/* np_wait.c */
int np_ep_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms,
	       const sigset_t *mask);

#endif
