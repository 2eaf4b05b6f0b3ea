/* tool_bench_rel.c - udpbench over the reliable layer: the client keeps a
 * window of messages queued, times each from rel_send to its ack, and
 * closes gracefully; the server counts what arrives.  Both open the core
 * with tool_rel_open, so the numbers are those of udpsend -r / udprecv -r. */
#include <stdlib.h>
#include <string.h>

#include "tool_bench.h"
#include "tool_netsim.h"
#include "tool_rel.h"

/* One driver turn, waking for the loss simulator's held datagrams too. */
static void turn(struct tool_rel_ctx *e, int max_ms)
{
	double due = tool_netsim_due_in(e->sock);
	if (due >= 0 && due * 1000 < max_ms)
		max_ms = (int)(due * 1000) + 1;
	int rc = rel_drv_run_once(e->drv, max_ms);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "socket: %s", udpkit_strerror(rc));
}

#define RING 8192  /* send times by msg id; more than QMAX */
#define QMAX 4096  /* messages queued and not yet acked */

int tool_bench_rel_client(const struct tool_bench_opts *o, struct udp_sock *s,
			  const struct udp_addr *to)
{
	struct tool_rel_ctx e;
	tool_rel_open(&e, s, o->server);
	uint32_t peer;
	int rc = rel_drv_connect(e.drv, to, &peer);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "connect: %s", udpkit_strerror(rc));
	uint64_t *sent_at = calloc(RING, sizeof *sent_at);
	uint8_t *msg = calloc(1, o->len);
	struct tool_bench_hist *lat = calloc(1, sizeof *lat);
	if (!sent_at || !msg || !lat)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	memset(msg, 0x42, o->len);
	uint64_t total = o->bytes / o->len, sent = 0, acked = 0, t0 = 0, t_end = 0;
	uint64_t deadline = rel_drv_now() + (uint64_t)(o->wait * 1e6);
	int connected = 0, closing = 0, done = 0, fail = 0;
	struct rel_stats st = {0};
	while (!done && !fail && !tool_stop_signal) {
		uint64_t now = rel_drv_now();
		if (!connected && now > deadline) {
			fail = TOOL_EXIT_TIMEOUT;
			break;
		}
		if (connected && !closing) {
			int more = o->secs > 0 ? now - t0 < (uint64_t)(o->secs * 1e6) : sent < total;
			while (more && sent - acked < QMAX) {
				uint64_t id;
				memcpy(msg, &sent, sizeof sent < o->len ? sizeof sent : o->len);
				if (rel_send(e.core, peer, msg, o->len, REL_SEQPACKET, now, &id) < 0)
					break;
				sent_at[id % RING] = now;
				sent++;
				more = o->secs > 0 || sent < total;
			}
			if (!more) {
				rel_close(e.core, peer, now);
				closing = 1;
			}
		}
		turn(&e, 100);
		struct rel_event ev;
		while (rel_poll_event(e.core, &ev)) {
			now = rel_drv_now();
			switch (ev.type) {
			case REL_EV_CONNECTED:
				connected = 1;
				t0 = now;
				break;
			case REL_EV_ACKED:
				tool_bench_hist_add(lat, now - sent_at[ev.msg_id % RING]);
				acked++;
				break;
			case REL_EV_CLOSED:
				t_end = now;
				done = 1;
				break;
			case REL_EV_DEAD:
				fail = TOOL_EXIT_ERR;
				break;
			case REL_EV_MESSAGE:
				rel_buf_free(ev.data);
				break;
			default:
				break;
			}
		}
		if (!done)
			(void)rel_peer_stats(e.core, peer, &st);
	}
	if (!done) {
		/* freed first: the leak checker counts what exit() leaves */
		free(sent_at);
		free(msg);
		free(lat);
		tool_rel_close(&e);
		if (fail == TOOL_EXIT_TIMEOUT)
			tool_die(fail, "no answer from the server within %.1f s", o->wait);
		if (fail)
			tool_die(fail, "the server went silent");
		return TOOL_EXIT_OK; /* interrupted: no result */
	}
	struct tool_bench_result r = {.role = "client", .bytes = acked * o->len, .msgs = acked,
			   .secs = (double)(t_end - t0) / 1e6, .pkts_sent = st.data_sent,
			   .retrans = st.retransmits, .timeouts = st.timeouts, .srtt_us = st.srtt_us, .lat = lat};
	tool_bench_report(o, &r);
	free(sent_at);
	free(msg);
	free(lat);
	tool_rel_close(&e);
	return TOOL_EXIT_OK;
}

int tool_bench_rel_server(const struct tool_bench_opts *o, struct udp_sock *s)
{
	struct tool_rel_ctx e;
	tool_rel_open(&e, s, o->server);
	uint64_t bytes = 0, msgs = 0, t0 = 0, t_last = 0, linger_until = 0;
	while (!tool_stop_signal) {
		if (linger_until && rel_drv_now() > linger_until)
			break;
		turn(&e, 100);
		struct rel_event ev;
		while (rel_poll_event(e.core, &ev)) {
			uint64_t now = rel_drv_now();
			if (ev.type == REL_EV_CONNECTED) {
				bytes = msgs = 0;
				t0 = now;
			} else if (ev.type == REL_EV_MESSAGE) {
				bytes += ev.len;
				msgs++;
				t_last = now;
				rel_buf_recycle(e.core, ev.data);
			} else if (ev.type == REL_EV_PEER_CLOSED) {
				rel_close(e.core, ev.peer, now);
				struct tool_bench_result r = {.role = "server", .bytes = bytes, .msgs = msgs,
						   .secs = (double)(t_last - t0) / 1e6};
				tool_bench_report(o, &r);
				/* stay a moment to ack the client's FIN again if need be */
				if (o->once)
					linger_until = now + 500000;
			}
		}
	}
	tool_rel_close(&e);
	return TOOL_EXIT_OK;
}
