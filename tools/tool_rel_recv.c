/* tool_rel_recv.c - udprecv -r: accepts sessions from any number of
 * senders on one socket and prints each message as it completes, in the
 * output formats of plain udprecv (a message takes the place of a
 * datagram).  Messages of different senders interleave whole; within one
 * sender they come in sending order when it sent them --ordered (or
 * --whole).
 *
 * Every message the core delivers is printed, because the core has
 * acknowledged it and its sender counts it as delivered: so -c N closes
 * every session after N messages and waits (at most --timeout) for the
 * closes to complete, and what senders had already in flight is still
 * printed.
 *
 * --once serves one sender (the core takes one session at a time) and
 * exits when that session has closed gracefully: 0 once everything it
 * sent was written, 1 if it died. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tool_netsim.h"
#include "tool_rel.h"
#include "tool_seal.h"

struct receiver {
	struct tool_rel_ctx c;
	uint64_t msgs, bytes;
	double last_msg, t_close;
	int closing, warned_foreign;
	uint32_t first;  /* --once: the session served (0: none yet) */
};

/* Returns -1 on a write error (errno set). */
static int handle_events(struct receiver *r, const struct tool_rel_recv *a)
{
	struct rel_event ev;
	int rc = 0;
	while (rel_poll_event(r->c.core, &ev)) {
		struct tool_rel_peer *p = tool_rel_peer(&r->c, ev.peer, ev.type == REL_EV_CONNECTED);
		switch (ev.type) {
		case REL_EV_CONNECTED:
			if (p->who.known) {
				char l[128];
				tool_debug("session from %s: %s, key %s", p->name,
					   tool_ident_label(&p->who, l, sizeof l), p->who.key);
			} else {
				tool_debug("session from %s", p->name);
			}
			if (!r->first)
				r->first = ev.peer;
			if (r->closing) /* -c was reached: no new senders */
				(void)rel_close(r->c.core, ev.peer, rel_drv_time(r->c.drv));
			break;
		case REL_EV_MESSAGE: {
			struct udp_msg m = { .buf = ev.data, .len = ev.len, .wire_len = ev.len };
			if (p) {
				m.addr = p->addr;
				p->msgs++;
				p->bytes += ev.len;
				p->t_last = tool_now();
			}
			r->msgs++;
			r->bytes += ev.len;
			r->last_msg = tool_now();
			if (p && p->who.known) {
				a->out->peer_key = p->who.key;
				a->out->peer_name = p->who.name;
				if (tool_verbosity > 0) {
					char l[128];
					tool_debug("%zu bytes from %s: %s", ev.len, p->name,
						   tool_ident_label(&p->who, l, sizeof l));
				}
			}
			if (rc == 0 && tool_out_msg(a->out, &m) < 0)
				rc = -1;
			a->out->peer_key = a->out->peer_name = NULL;
			rel_buf_recycle(r->c.core, ev.data);
			break;
		}
		case REL_EV_PEER_CLOSED:
			if (p && p->state == PEER_OPEN) {
				p->state = PEER_CLOSING;
				p->t_heard = tool_now();
				p->heard_pkts = UINT64_MAX; /* set at the first look */
			}
			if (p)
				tool_debug("%s closed: %llu message(s), %llu bytes", p->name,
					   (unsigned long long)p->msgs, (unsigned long long)p->bytes);
			break;
		case REL_EV_CLOSED:
			if (p) {
				(void)rel_peer_stats(r->c.core, ev.peer, &p->st);
				p->state = PEER_CLOSED;
			}
			break;
		case REL_EV_DEAD:
			if (p) {
				p->state = PEER_DEAD;
				/* --once says it as its error (the exit status) */
				if (!a->once || ev.peer != r->first)
					tool_info("%s gone (silent for %.0f s) after %llu message(s)",
						  p->name, tool_rel_opt.timeout,
						  (unsigned long long)p->msgs);
			}
			break;
		case REL_EV_ACKED:
			break;
		case REL_EV_MIGRATED:
			if (p)
				tool_rel_peer_moved(&r->c, p);
			break;
		case REL_EV_PMTU:
			if (p)
				tool_debug("%s: path MTU %zu", p->name, ev.len);
			break;
		}
		/* a long-running server forgets finished senders unless their
		 * numbers are wanted at exit */
		if (p && p->state >= PEER_CLOSED && !a->stats && ev.peer != r->first)
			*p = r->c.peers[--r->c.npeers];
	}
	if (tool_out_flush(a->out) < 0)
		rc = -1;
	return rc;
}

/* When a sender's FIN has arrived, everything it sent is written and our
 * FIN is queued; what is left is the ack of its FIN, which the sender asks
 * for again (its FIN after its RTO, 20 ms and up) until it hears it.  So we
 * stay while it still talks: until our own FIN is acked (it heard us), or
 * until it has been silent for FIN_QUIET, or four RTOs (srtt + 4 rttvar,
 * without backoff) once we have an RTT sample, whichever is longer.  Waiting for our FIN's ack alone
 * held the shell for up to a second: a pure receiver may have no RTT
 * sample, so a lost FIN of ours waits the initial RTO (1 s) to go again,
 * while the sender, done, may already have exited. */
#define FIN_QUIET 0.3

/* Seconds until peer p needs nothing more of us: 0 when done. */
static double peer_left(struct receiver *r, struct tool_rel_peer *p, double now)
{
	if (p->state == PEER_CLOSED || p->state == PEER_DEAD)
		return 0;
	if (p->state == PEER_OPEN)
		return tool_rel_opt.timeout;
	struct rel_stats st;
	if (rel_peer_stats(r->c.core, p->id, &st) < 0)
		return 0; /* the core has forgotten it */
	if (st.pkts_recv != p->heard_pkts) {
		if (p->heard_pkts != UINT64_MAX)
			p->t_heard = now;
		p->heard_pkts = st.pkts_recv;
	}
	/* the sender's retransmission interval is an RTO from the RTT, not
	 * ours: ours has backed off on lost FINs and lost PMTU probes alone */
	double quiet = FIN_QUIET, rto = 1e-6 * (double)(st.srtt_us + 4 * st.rttvar_us);
	if (st.rtt_samples && 4 * rto > quiet)
		quiet = 4 * rto;
	if (quiet > tool_rel_opt.timeout)
		quiet = tool_rel_opt.timeout;
	double left = p->t_heard + quiet - now;
	return left > 0 ? left : 0;
}

/* After -c: seconds until every session is done (0: done), at most
 * --timeout after the close. */
static double close_left(struct receiver *r, double now)
{
	double left = r->t_close + tool_rel_opt.timeout - now;
	if (left <= 0)
		return 0;
	double most = 0;
	for (size_t i = 0; i < r->c.npeers; i++) {
		double l = peer_left(r, &r->c.peers[i], now);
		if (l > most)
			most = l;
	}
	return most < left ? most : left;
}

/* --once: the exit status once the session is done (one line if it died). */
static int once_result(const struct tool_rel_peer *p)
{
	if (p->state != PEER_DEAD)
		return TOOL_EXIT_OK;
	tool_err("%s went silent for %.0f s before closing the session: %llu message(s), "
		 "%llu bytes written, the rest is missing", p->name, tool_rel_opt.timeout,
		 (unsigned long long)p->msgs, (unsigned long long)p->bytes);
	return TOOL_EXIT_ERR;
}

/* --once stopped before the sender closed: one line, exit 1. */
static int once_unfinished(const struct tool_rel_peer *p, const char *why)
{
	tool_err("%s before %s closed the session: %llu message(s), %llu bytes written, "
		 "the transfer may be incomplete", why, p->name, (unsigned long long)p->msgs,
		 (unsigned long long)p->bytes);
	return TOOL_EXIT_ERR;
}

/* Output into a pipe (udprecv -r --raw | tar x): a pipe holds 64 KiB by
 * default, so each 1 MiB message of --whole took 16 turns of the reader
 * and as many context switches; ask for a pipe as large as a message
 * (the system's limit may say less: then what it allows). */
static void widen_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_SETPIPE_SZ, TOOL_REL_PIECE) < 0)
		(void)fcntl(fd, F_SETPIPE_SZ, 256 * 1024);
#else
	(void)fd;
#endif
}

int tool_rel_recv_main(const struct tool_rel_recv *a)
{
	static struct receiver r;
	if (a->answers)
		tool_usage_die("--echo, --reply and --join are not available with -r");
	widen_pipe(a->out->fd);
	struct rel_config cfg;
	tool_rel_config(&cfg, 1);
	/* --once: one session at a time, so a second sender gets no ACCEPT
	 * (it times out as if nobody listened) and cannot mix into the output */
	if (a->once)
		cfg.max_peers = 1;
	tool_rel_open_cfg(&r.c, a->sock, &cfg);
	double t0 = tool_now();
	r.last_msg = t0;
	int code = TOOL_EXIT_OK;
	for (;;) {
		if (handle_events(&r, a) < 0) {
			if (errno == EINTR && tool_stop_signal)
				break;
			tool_err("write: %s", strerror(errno));
			code = TOOL_EXIT_ERR;
			break;
		}
		if (tool_stop_signal) {
			if (a->once) { /* the file is not known to be whole */
				struct tool_rel_peer *p = r.first ? tool_rel_peer(&r.c, r.first, 0) : NULL;
				if (p && p->state != PEER_OPEN) {
					code = once_result(p);
				} else {
					if (p)
						(void)once_unfinished(p, "interrupted");
					else
						tool_err("interrupted before any sender came");
					code = 128 + tool_stop_signal;
				}
			}
			break;
		}
		double now = tool_now(), wait = 0.25;
		if (a->count && r.msgs >= a->count && !r.closing) {
			r.closing = 1;
			r.t_close = now;
			for (size_t i = 0; i < r.c.npeers; i++)
				if (r.c.peers[i].state == PEER_OPEN)
					(void)rel_close(r.c.core, r.c.peers[i].id, rel_drv_time(r.c.drv));
		}
		if (r.closing) {
			double left = close_left(&r, now);
			if (left <= 0)
				break;
			if (left < wait)
				wait = left;
		}
		struct tool_rel_peer *first = a->once && r.first ? tool_rel_peer(&r.c, r.first, 0) : NULL;
		if (first) {
			double left = peer_left(&r, first, now);
			if (left <= 0) {
				code = once_result(first);
				break;
			}
			if (left < wait)
				wait = left;
		}
		if (!r.closing && a->wait >= 0) {
			double idle = now - r.last_msg;
			if (idle >= a->wait) {
				if (!r.msgs)
					code = TOOL_EXIT_TIMEOUT;
				else if (first && first->state == PEER_OPEN) {
					char why[64];
					snprintf(why, sizeof why, "no message for %g s", a->wait);
					code = once_unfinished(first, why);
				}
				break;
			}
			if (a->wait - idle < wait)
				wait = a->wait - idle;
		}
		tool_rel_snapshot(&r.c, 0);
		if (!r.warned_foreign) {
			struct rel_core_stats cs;
			rel_core_stats(r.c.core, &cs);
			if (cs.drop_magic) {
				tool_info("ignoring datagrams that are not udpkit's reliable "
					  "protocol (is the sender using -r?)");
				r.warned_foreign = 1;
			}
		}
		tool_rel_step(&r.c, -1, wait);
	}
	tool_rel_snapshot(&r.c, 1);
	if (a->stats) {
		if (!a->json)
			tool_err("messages=%llu bytes=%llu peers=%zu seconds=%.3f",
				 (unsigned long long)r.msgs, (unsigned long long)r.bytes, r.c.npeers,
				 tool_now() - t0);
		tool_rel_print_stats(&r.c, a->json);
		if (!a->json)
			tool_rel_print_core_stats(r.c.core, r.c.drv);
		tool_netsim_stats(a->sock);
		tool_seal_stats(a->sock);
		tool_ident_stats(a->json);
	}
	tool_rel_close(&r.c);
	return code;
}
