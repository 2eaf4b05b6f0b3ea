/* tool_bench_raw.c - udpbench with plain datagrams: a sequence number in
 * front of each, then an END / REPORT exchange so the client learns what
 * arrived. */
#include <stdlib.h>
#include <string.h>

#include "tool_bench.h"

static const char END_MAGIC[8] = "UBEND\0\0\1", REP_MAGIC[8] = "UBREP\0\0\1";
#define RAW_BATCH 64

int tool_bench_raw_client(const struct tool_bench_opts *o, struct udp_sock *s,
			  const struct udp_addr *to)
{
	struct tool_io io = {.sock = s, .send_timeout = o->wait};
	uint8_t *buf = calloc(RAW_BATCH, o->len);
	struct udp_msg m[RAW_BATCH];
	if (!buf)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	uint64_t total = o->bytes / o->len, seq = 0;
	double t0 = tool_now();
	while (!tool_stop_signal) {
		unsigned n = 0;
		for (; n < RAW_BATCH; n++) {
			if (o->secs > 0 ? tool_now() - t0 >= o->secs : seq >= total)
				break;
			uint8_t *p = buf + (size_t)n * o->len;
			memset(&m[n], 0, sizeof m[n]);
			memcpy(p, &seq, sizeof seq < o->len ? sizeof seq : o->len);
			m[n].buf = p;
			m[n].len = o->len;
			m[n].addr = *to;
			seq++;
		}
		if (!n)
			break;
		unsigned done;
		int rc = tool_io_send(&io, m, n, &done);
		if (rc < 0 && rc != TOOL_STOPPED)
			tool_die(TOOL_EXIT_ERR, "send: %s", udpkit_strerror(rc));
	}
	/* END until a REPORT comes back (bounded by -w) */
	uint8_t rep[64];
	double give_up = tool_now() + o->wait;
	while (!tool_stop_signal && tool_now() < give_up) {
		uint8_t end[16];
		memcpy(end, END_MAGIC, 8);
		memcpy(end + 8, &seq, 8);
		(void)udp_sock_send(s, end, sizeof end, to);
		struct udp_msg r = {.buf = rep, .cap = sizeof rep};
		int got = tool_io_recv(&io, &r, 1, 0.2);
		if (got == 1 && r.len >= 32 && !memcmp(rep, REP_MAGIC, 8)) {
			uint64_t n, bytes, us;
			memcpy(&n, rep + 8, 8);
			memcpy(&bytes, rep + 16, 8);
			memcpy(&us, rep + 24, 8);
			struct tool_bench_result res = {.role = "client", .bytes = bytes, .msgs = n,
					     .secs = (double)us / 1e6, .sent = seq,
					     .lost = seq > n ? seq - n : 0};
			tool_bench_report(o, &res);
			free(buf);
			return TOOL_EXIT_OK;
		}
	}
	free(buf);
	if (tool_stop_signal)
		return TOOL_EXIT_OK;
	tool_die(TOOL_EXIT_TIMEOUT, "no report from the server within %.1f s", o->wait);
}

int tool_bench_raw_server(const struct tool_bench_opts *o, struct udp_sock *s)
{
	struct tool_io io = {.sock = s, .send_timeout = 1};
	void *mem;
	struct udp_msg *m = tool_msgs_new(RAW_BATCH, UDP_GRO_MIN_CAP, &mem);
	if (!m)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	(void)udp_sock_set_gro(s, 1);
	uint64_t n = 0, bytes = 0;
	double t0 = 0, t_last = 0, linger_until = 0;
	while (!tool_stop_signal) {
		if (linger_until > 0 && tool_now() > linger_until)
			break;
		tool_msgs_reset(m, RAW_BATCH);
		int got = tool_io_recv(&io, m, RAW_BATCH, 0.2);
		if (got == TOOL_STOPPED)
			break;
		if (got < 0)
			tool_die(TOOL_EXIT_ERR, "receive: %s", udpkit_strerror(got));
		double now = tool_now();
		for (int i = 0; i < got; i++) {
			if (m[i].len >= 16 && m[i].len < 32 && !memcmp(m[i].buf, END_MAGIC, 8)) {
				uint8_t rep[32];
				uint64_t us = n ? (uint64_t)((t_last - t0) * 1e6) : 0;
				memcpy(rep, REP_MAGIC, 8);
				memcpy(rep + 8, &n, 8);
				memcpy(rep + 16, &bytes, 8);
				memcpy(rep + 24, &us, 8);
				(void)udp_sock_send(s, rep, sizeof rep, &m[i].addr);
				if (n) {
					uint64_t sent;
					memcpy(&sent, (uint8_t *)m[i].buf + 8, 8);
					struct tool_bench_result r = {.role = "server", .bytes = bytes, .msgs = n,
							   .secs = (double)us / 1e6, .sent = sent,
							   .lost = sent > n ? sent - n : 0};
					tool_bench_report(o, &r);
				}
				n = bytes = 0;
				if (o->once && !linger_until)
					linger_until = now + 0.5; /* answer a repeated END */
				continue;
			}
			uint64_t k = m[i].seg_size ? (m[i].len + m[i].seg_size - 1) / m[i].seg_size : 1;
			if (!n)
				t0 = now;
			n += k;
			bytes += m[i].len;
			t_last = now;
		}
	}
	free(mem);
	return TOOL_EXIT_OK;
}
