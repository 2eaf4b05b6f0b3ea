/* tool_rel_send.c - udpsend -r: one session to the destination, every
 * framed unit of input one reliable message, exit 0 only when the graceful
 * close confirmed that all of them were delivered.
 *
 * stdin is read without blocking (O_NONBLOCK while we run, unless it is a
 * regular file) so that a slow pipe never stops retransmissions and acks.
 * At most SEND_AHEAD bytes (and SEND_AHEAD_MSGS messages) are queued
 * unacknowledged, so input of any size streams through in bounded memory.
 *
 * --whole from a regular file maps the file in windows and hands the core
 * its pieces from there: read() into a buffer first costs a copy of every
 * byte, the largest single cost of the sender on a fast path (measured:
 * read + copy of 400 MiB 2-4x the time of map + copy here).  The pieces
 * are lent, not copied (rel_send_borrowed): a window stays mapped until
 * the core has released every message cut from it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool_netsim.h"
#include "tool_rel.h"
#include "tool_seal.h"

#define SEND_AHEAD (32u * 1024 * 1024)
#define SEND_AHEAD_MSGS 8192 /* short messages: bounded by count, too */
#define MAP_WINDOW (16u * 1024 * 1024) /* a multiple of TOOL_REL_PIECE */
/* The first piece is short: a message is cut at the path MTU of the moment
 * it starts, and at the start that is the base (path MTU discovery needs a
 * round trip or two), so a first piece of 1 MiB went as ~1000 packets of
 * ~1 KiB even where the path takes 64 KiB (loopback: more packets than the
 * rest of a 50 MiB file).  64 KiB lasts about the search. */
#define FIRST_PIECE (64u * 1024)
/* Windows left behind with messages unacked: SEND_AHEAD spans at most
 * SEND_AHEAD / MAP_WINDOW + 2 of them with the current one. */
#define OLD_WINDOWS 8
_Static_assert(SEND_AHEAD / MAP_WINDOW + 2 <= OLD_WINDOWS, "window ring too small");


/* SRC_FULL: every window slot holds unacked messages (next_mapped only) */
enum { SRC_MSG = 1, SRC_END = 0, SRC_WAIT = 2, SRC_FULL = 3 };

struct source {
	/* MESSAGE words */
	char *msg;
	size_t msg_len;
	unsigned long long limit, taken; /* messages; limit 0: no limit */
	/* stdin */
	int fd, whole;
	struct tool_frame frame;
	uint8_t *piece;
	size_t piece_len;
	int eof, sent_any;
	/* --whole from a regular file: the window [map_off, map_off +
	 * map_len) of it is mapped at map; pos is the next byte to send */
	int mapped;
	uint8_t *map;
	off_t map_off, pos, size;
	size_t map_len;
	int lent; /* the last message came from the mapping: lend it */
	/* earlier windows, oldest first, each kept until the message count
	 * `end` (taken when it was left) has been acknowledged */
	struct old_window {
		uint8_t *map;
		size_t len;
		unsigned long long end;
	} old[OLD_WINDOWS];
	int nold;
};

/* Unmaps the windows whose messages have all been acknowledged (acks come
 * in send order); all of them once the core is gone (acked: ~0). */
static void release_windows(struct source *s, unsigned long long acked)
{
	int k = 0;
	while (k < s->nold && s->old[k].end <= acked) {
		munmap(s->old[k].map, s->old[k].len);
		k++;
	}
	memmove(s->old, s->old + k, (size_t)(s->nold - k) * sizeof s->old[0]);
	s->nold -= k;
}

static size_t piece_size(const struct source *s)
{
	return s->taken ? TOOL_REL_PIECE : FIRST_PIECE;
}

/* Lengths of the messages in flight, in send order: acks come in that
 * order (the core releases messages as the cumulative ack passes them). */
struct lens {
	size_t *v;
	size_t head, n, cap;
};

static int stdin_flags = -1;

static void restore_stdin(void)
{
	if (stdin_flags >= 0)
		(void)fcntl(STDIN_FILENO, F_SETFL, stdin_flags);
}

static void lens_push(struct lens *l, size_t len)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 256;
		size_t *nv = malloc(ncap * sizeof *nv);
		if (!nv)
			tool_die(TOOL_EXIT_ERR, "out of memory");
		for (size_t i = 0; i < l->n; i++)
			nv[i] = l->v[(l->head + i) % l->cap];
		free(l->v);
		l->v = nv;
		l->head = 0;
		l->cap = ncap;
	}
	l->v[(l->head + l->n++) % l->cap] = len;
}

static size_t lens_pop(struct lens *l)
{
	if (!l->n)
		return 0;
	size_t len = l->v[l->head];
	l->head = (l->head + 1) % l->cap;
	l->n--;
	return len;
}

/* A mapped file that shrinks under us faults on the pages it lost: say
 * so and stop (what was sent is not the file any more). */
static void on_sigbus(int sig)
{
	static const char msg[] = ": the input file shrank while it was being sent\n";
	(void)sig;
	ssize_t w = write(STDERR_FILENO, tool_name, strlen(tool_name));
	w = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)w;
	_exit(TOOL_EXIT_ERR);
}

/* Maps the file from s->pos on (up to MAP_WINDOW and the end); 0 when the
 * plain read() path must do instead. */
static int map_window(struct source *s)
{
	if (s->map) { /* the core may still read it: kept until acked */
		s->old[s->nold].map = s->map;
		s->old[s->nold].len = s->map_len;
		s->old[s->nold].end = s->taken;
		s->nold++;
	}
	s->map = NULL;
	long pg = sysconf(_SC_PAGESIZE);
	off_t off = s->pos - s->pos % (pg > 0 ? pg : 4096);
	off_t left = s->size - off;
	size_t len = (size_t)(s->pos - off) + MAP_WINDOW;
	if ((off_t)len > left)
		len = (size_t)left;
	/* populated: one call maps the window instead of a fault per page */
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, s->fd, off);
	if (m == MAP_FAILED)
		return 0;
	s->map = m;
	s->map_off = off;
	s->map_len = len;
	return 1;
}

/* --whole from a regular file of known size: the next piece, in place. */
static int next_mapped(struct source *s, const uint8_t **p, size_t *n)
{
	if (s->pos >= s->size)
		return SRC_END;
	size_t want = piece_size(s);
	size_t len = s->size - s->pos < (off_t)want ? (size_t)(s->size - s->pos) : want;
	if (!s->map || s->pos + (off_t)len > s->map_off + (off_t)s->map_len) {
		if (s->map && s->nold == OLD_WINDOWS)
			return SRC_FULL; /* not with SEND_AHEAD; acks free one */
		if (!map_window(s)) {
			/* no mapping: the rest by read() from here on */
			s->mapped = 0;
			if (lseek(s->fd, s->pos, SEEK_SET) < 0)
				tool_die(TOOL_EXIT_ERR, "reading stdin: %s", strerror(errno));
			return SRC_WAIT;
		}
	}
	*p = s->map + (s->pos - s->map_off);
	*n = len;
	s->lent = 1;
	s->pos += (off_t)len;
	s->sent_any = 1;
	s->taken++;
	return SRC_MSG;
}

/* --whole: the next piece of stdin, filled up to piece_size() so that a
 * file is cut the same way every time. */
static int next_piece(struct source *s, const uint8_t **p, size_t *n)
{
	if (s->mapped) {
		int r = next_mapped(s, p, n);
		if (r == SRC_FULL)
			return SRC_WAIT;
		if (r != SRC_WAIT)
			return r;
	}
	size_t want = piece_size(s);
	while (!s->eof && s->piece_len < want) {
		ssize_t r = read(s->fd, s->piece + s->piece_len, want - s->piece_len);
		if (r > 0) {
			s->piece_len += (size_t)r;
			continue;
		}
		if (r == 0) {
			s->eof = 1;
			break;
		}
		if (errno == EAGAIN || errno == EINTR)
			return SRC_WAIT;
		tool_die(TOOL_EXIT_ERR, "reading stdin: %s", strerror(errno));
	}
	if (s->piece_len == 0 && s->eof && s->sent_any)
		return SRC_END;
	*p = s->piece;
	*n = s->piece_len;
	s->piece_len = 0; /* rel_send copies before we read again */
	s->sent_any = 1;
	s->taken++;
	return SRC_MSG;
}

static int next_msg(struct source *s, const uint8_t **p, size_t *n)
{
	s->lent = 0;
	if (s->limit && s->taken >= s->limit)
		return SRC_END;
	if (s->msg) {
		s->taken++;
		*p = (const uint8_t *)s->msg;
		*n = s->msg_len;
		return SRC_MSG;
	}
	if (s->fd < 0)
		return SRC_END;
	if (s->whole)
		return next_piece(s, p, n);
	int r = tool_frame_next(&s->frame, 1, p, n);
	if (r == TOOL_FRAME_MSG) {
		s->taken++;
		return SRC_MSG;
	}
	if (r == TOOL_FRAME_END)
		return SRC_END;
	if (r == TOOL_FRAME_TOOBIG)
		tool_die(TOOL_EXIT_ERR, "message of %zu bytes is over the reliable limit of "
			 "%u bytes (use --whole or --chunk for files)", *n, 64u << 20);
	if (errno == EAGAIN || errno == EINTR)
		return SRC_WAIT;
	tool_die(TOOL_EXIT_ERR, "reading stdin: %s", strerror(errno));
}

/* Bytes the progress bar can expect: a regular file's rest, else unknown. */
static uint64_t input_total(const struct source *s)
{
	if (s->msg)
		return s->limit * s->msg_len;
	struct stat st;
	if (fstat(STDIN_FILENO, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	off_t pos = lseek(STDIN_FILENO, 0, SEEK_CUR);
	return pos >= 0 && st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
}

static void source_open(struct source *s, const struct tool_rel_send *a)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	if (a->argc > 0) {
		size_t len = 0;
		for (int i = 0; i < a->argc; i++)
			len += strlen(a->argv[i]) + 1;
		char *d = s->msg = malloc(len + 1);
		if (!d)
			tool_die(TOOL_EXIT_ERR, "out of memory");
		for (int i = 0; i < a->argc; i++)
			d += sprintf(d, "%s%s", i ? " " : "", a->argv[i]);
		s->msg_len = (size_t)(d - s->msg);
		s->limit = a->count;
		return;
	}
	s->fd = STDIN_FILENO;
	s->limit = a->count;
	struct stat st;
	if (fstat(s->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		int fl = fcntl(s->fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) == 0) {
			stdin_flags = fl;
			atexit(restore_stdin);
		}
	}
	s->whole = a->framing == TOOL_FRAME_WHOLE;
	if (s->whole && fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t pos = lseek(s->fd, 0, SEEK_CUR);
		if (pos >= 0 && st.st_size > pos) {
			s->mapped = 1;
			s->pos = pos;
			s->size = st.st_size;
			struct sigaction sa;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = on_sigbus;
			sigaction(SIGBUS, &sa, NULL);
		}
	}
	if (s->whole) {
		s->piece = malloc(TOOL_REL_PIECE);
		if (!s->piece)
			tool_die(TOOL_EXIT_ERR, "out of memory");
	} else {
		tool_frame_init(&s->frame, s->fd, a->framing, a->chunk, 64u << 20, a->keep_delim);
	}
}

static void check_usage(const struct tool_rel_send *a)
{
	if (a->broadcast || udp_addr_is_multicast(a->dest))
		tool_usage_die("-r needs one unicast peer (no broadcast or multicast)");
	if (a->wait_set)
		tool_usage_die("-w is not available with -r (udprecv -r does not answer)");
	if (a->paced)
		tool_usage_die("-i/--rate are not available with -r (congestion control paces)");
}

struct sender {
	struct tool_rel_ctx c;
	struct tool_rel_progress prog;
	struct lens inflight;
	struct source *src;
	uint32_t id;
	struct tool_rel_peer *peer;
	uint64_t queued_bytes, acked_bytes, sent_msgs, acked_msgs;
	int connected, closing, closed, dead, peer_closed, input_done;
	double t_closed; /* when our FIN was acked */
};

/* After our FIN is acked, how long we wait for the peer's FIN (the core
 * answers a FIN with its own at once) so that we ack it before exiting:
 * then the receiver knows at once that we heard it.  If its FIN is lost,
 * udprecv stops waiting for our ack once we have been quiet a while
 * (FIN_QUIET in tool_rel_recv.c). */
#define FIN_WAIT 0.25

static void handle_events(struct sender *s)
{
	struct rel_event ev;
	while (rel_poll_event(s->c.core, &ev)) {
		if (ev.peer != s->id) {
			rel_buf_free(ev.data);
			continue;
		}
		switch (ev.type) {
		case REL_EV_CONNECTED:
			s->connected = 1;
			s->peer = tool_rel_peer(&s->c, s->id, 1);
			if (s->peer->who.known) {
				char l[128];
				tool_debug("session with %s open: it proved key %s", s->peer->name,
					   tool_ident_label(&s->peer->who, l, sizeof l));
			} else {
				tool_debug("session with %s open", s->peer->name);
			}
			break;
		case REL_EV_MESSAGE:
			rel_buf_free(ev.data); /* udprecv -r sends none */
			break;
		case REL_EV_ACKED: {
			size_t len = lens_pop(&s->inflight);
			s->acked_msgs++;
			s->acked_bytes += len;
			s->queued_bytes -= len;
			s->peer->msgs++;
			s->peer->bytes += len;
			s->peer->t_last = tool_now();
			release_windows(s->src, s->acked_msgs);
			break;
		}
		case REL_EV_PEER_CLOSED:
			s->peer_closed = 1;
			break;
		case REL_EV_CLOSED:
			s->closed = 1;
			(void)rel_peer_stats(s->c.core, s->id, &s->peer->st);
			s->peer->state = PEER_CLOSED;
			break;
		case REL_EV_DEAD:
			s->dead = 1;
			if (s->peer)
				s->peer->state = PEER_DEAD;
			break;
		case REL_EV_MIGRATED:
			if (s->peer)
				tool_rel_peer_moved(&s->c, s->peer);
			break;
		case REL_EV_PMTU:
			tool_debug("path MTU %zu", ev.len);
			break;
		}
	}
}

/* Queues messages while the session has room.  Returns 1 when it waits for
 * stdin to become readable. */
static int fill(struct sender *s, struct source *src, enum rel_mode mode)
{
	while (!s->input_done && s->queued_bytes < SEND_AHEAD &&
	       s->inflight.n < SEND_AHEAD_MSGS) {
		const uint8_t *p;
		size_t n;
		int r = next_msg(src, &p, &n);
		if (r == SRC_WAIT)
			return 1;
		if (r == SRC_END) {
			s->input_done = 1;
			break;
		}
		uint64_t id, now = rel_drv_time(s->c.drv);
		int e = src->lent ? rel_send_borrowed(s->c.core, s->id, p, n, mode, now, &id)
				  : rel_send(s->c.core, s->id, p, n, mode, now, &id);
		if (e == REL_EFULL)
			tool_die(TOOL_EXIT_ERR, "send budget full with %llu bytes queued",
				 (unsigned long long)s->queued_bytes);
		if (e == REL_ECLOSED || e == REL_ENOPEER)
			return 0; /* the peer closed or died: the caller says so */
		if (e < 0)
			tool_die(TOOL_EXIT_ERR, "message of %zu bytes: %s", n, udpkit_strerror(e));
		lens_push(&s->inflight, n);
		s->queued_bytes += n;
		s->sent_msgs++;
	}
	return 0;
}

int tool_rel_send_main(const struct tool_rel_send *a)
{
	static struct sender s;
	struct source src;
	check_usage(a);
	source_open(&src, a);
	s.src = &src;
	enum rel_mode mode = tool_rel_opt.ordered || src.whole ? REL_SEQPACKET : REL_RDM;
	tool_rel_open(&s.c, a->sock, 0);
	int e = rel_drv_connect(s.c.drv, a->dest, &s.id);
	if (e < 0)
		tool_die(TOOL_EXIT_ERR, "cannot start a session with %s: %s", a->dest_str,
			 udpkit_strerror(e));
	tool_rel_progress_init(&s.prog, input_total(&src));
	int code = TOOL_EXIT_OK;
	for (;;) {
		handle_events(&s);
		if (tool_stop_signal) {
			code = 128 + tool_stop_signal;
			break;
		}
		if (s.dead && !s.connected) {
			if (tool_ident_on())
				tool_ident_no_session(a->dest_str);
			else
				tool_err("no answer from %s (is udprecv -r listening?)", a->dest_str);
			code = TOOL_EXIT_ERR;
			break;
		}
		if (s.dead) {
			tool_err("peer gone: %s stopped answering for %.0f s; %llu of %llu "
				 "message(s) acknowledged", a->dest_str, tool_rel_opt.timeout,
				 (unsigned long long)s.acked_msgs, (unsigned long long)s.sent_msgs);
			code = TOOL_EXIT_ERR;
			break;
		}
		if (s.closed) {
			if (!s.t_closed)
				s.t_closed = tool_now();
			if (s.input_done && !s.peer_closed && tool_now() - s.t_closed < FIN_WAIT) {
				tool_rel_step(&s.c, -1, FIN_WAIT);
				continue;
			}
			if (s.input_done)
				break; /* everything delivered */
			tool_err("%s closed the session: %llu message(s) delivered, the rest "
				 "of the input was not sent", a->dest_str,
				 (unsigned long long)s.acked_msgs);
			code = TOOL_EXIT_ERR;
			break;
		}
		int want_input = 0;
		if (s.connected && !s.peer_closed && !s.closing)
			want_input = fill(&s, &src, mode);
		if (s.connected && !s.closing && (s.input_done || s.peer_closed)) {
			(void)rel_close(s.c.core, s.id, rel_drv_time(s.c.drv));
			s.closing = 1;
		}
		if (s.peer)
			tool_rel_progress_show(&s.prog, s.acked_bytes, s.peer->st.retransmits, 0);
		tool_rel_snapshot(&s.c, 0);
		tool_rel_step(&s.c, want_input ? src.fd : -1, 0.25);
	}
	tool_rel_snapshot(&s.c, 1);
	if (s.peer)
		tool_rel_progress_show(&s.prog, s.acked_bytes, s.peer->st.retransmits, 1);
	tool_debug("%llu message(s), %llu bytes acknowledged by %s", (unsigned long long)s.acked_msgs,
		   (unsigned long long)s.acked_bytes, a->dest_str);
	if (a->stats) {
		tool_rel_print_stats(&s.c, a->json);
		if (!a->json)
			tool_rel_print_core_stats(s.c.core, s.c.drv);
		tool_netsim_stats(a->sock);
		tool_seal_stats(a->sock);
		tool_ident_stats(a->json);
	}
	tool_rel_close(&s.c); /* the core is gone: nothing reads the windows */
	release_windows(&src, ~0ull);
	if (!src.whole && src.fd >= 0)
		tool_frame_free(&src.frame);
	free(src.piece);
	if (src.map)
		munmap(src.map, src.map_len);
	free(src.msg);
	free(s.inflight.v);
	return code;
}
