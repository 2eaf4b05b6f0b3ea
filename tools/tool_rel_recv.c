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
 * printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tool_netsim.h"
#include "tool_rel.h"
#include "tool_seal.h"

struct receiver {
	struct tool_rel_ctx c;
	uint64_t msgs, bytes;
	double last_msg, t_close, t_all_fin;
	int closing, warned_foreign;
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
			tool_debug("session from %s", p->name);
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
			if (rc == 0 && tool_out_msg(a->out, &m) < 0)
				rc = -1;
			rel_buf_recycle(r->c.core, ev.data);
			break;
		}
		case REL_EV_PEER_CLOSED:
			if (p && p->state == PEER_OPEN)
				p->state = PEER_CLOSING;
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
				tool_info("%s gone (silent for %.0f s) after %llu message(s)", p->name,
					  tool_rel_opt.timeout, (unsigned long long)p->msgs);
			}
			break;
		case REL_EV_ACKED:
			break;
		case REL_EV_MIGRATED:
			if (p)
				tool_rel_peer_moved(&r->c, p);
			break;
		}
		/* a long-running server forgets finished senders unless their
		 * numbers are wanted at exit */
		if (p && p->state >= PEER_CLOSED && !a->stats)
			*p = r->c.peers[--r->c.npeers];
	}
	if (tool_out_flush(a->out) < 0)
		rc = -1;
	return rc;
}

static int count_peers(const struct receiver *r, int state)
{
	int n = 0;
	for (size_t i = 0; i < r->c.npeers; i++)
		n += (int)r->c.peers[i].state == state;
	return n;
}

/* After -c: done when every sender's FIN has arrived (all it sent was
 * delivered) and our FINs are acknowledged.  A pure receiver has no RTT
 * sample, so its FIN is resent only after the initial RTO (1 s), and the
 * sender may have exited without hearing it: we do not wait for that ack
 * longer than FIN_GRACE, which is still long enough to re-ack a sender
 * whose FIN ack was lost. */
#define FIN_GRACE 1.0

static int close_done(struct receiver *r, double now)
{
	if (now - r->t_close > tool_rel_opt.timeout)
		return 1;
	if (count_peers(r, PEER_OPEN)) {
		r->t_all_fin = 0;
		return 0;
	}
	if (!r->t_all_fin)
		r->t_all_fin = now;
	return !count_peers(r, PEER_CLOSING) || now - r->t_all_fin >= FIN_GRACE;
}

int tool_rel_recv_main(const struct tool_rel_recv *a)
{
	static struct receiver r;
	if (a->answers)
		tool_usage_die("--echo, --reply and --join are not available with -r");
	tool_rel_open(&r.c, a->sock, 1);
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
		if (tool_stop_signal)
			break;
		double now = tool_now(), wait = 0.25;
		if (a->count && r.msgs >= a->count && !r.closing) {
			r.closing = 1;
			r.t_close = now;
			for (size_t i = 0; i < r.c.npeers; i++)
				if (r.c.peers[i].state == PEER_OPEN)
					(void)rel_close(r.c.core, r.c.peers[i].id, rel_drv_time(r.c.drv));
		}
		if (r.closing && close_done(&r, now))
			break;
		if (!r.closing && a->wait >= 0) {
			double idle = now - r.last_msg;
			if (idle >= a->wait) {
				if (!r.msgs)
					code = TOOL_EXIT_TIMEOUT;
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
	}
	tool_rel_close(&r.c);
	return code;
}
