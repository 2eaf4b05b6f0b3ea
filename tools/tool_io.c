/* tool_io.c - the send path and the receive path of the tools.
 *
 * Both tools move every datagram through tool_io_send / tool_io_recv, so a
 * layer added later (reliable mode, loss simulation, sealing) has one place
 * to wrap.  The socket is non-blocking; waiting is done here with poll so
 * that SIGINT/SIGTERM always get through. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_seal.h"

static int would_block(int r)
{
	return r == UDP_EAGAIN ||
	       (r == UDP_ESYS && (errno == EAGAIN || errno == EWOULDBLOCK));
}

int tool_io_send(struct tool_io *io, struct udp_msg *msgs, unsigned n,
		 unsigned *done)
{
	unsigned off = 0, refused_in_row = 0;
	double limit = io->send_timeout > 0 ? io->send_timeout : 10.0;
	double last = tool_now();
	int r = 0;
	while (off < n) {
		if (tool_stop_signal) {
			r = TOOL_STOPPED;
			break;
		}
		r = udp_sock_send_batch(io->sock, msgs + off, n - off);
		if (r > 0) {
			off += (unsigned)r;
			last = tool_now();
			refused_in_row = 0;
			continue;
		}
		double idle = tool_now() - last;
		if (would_block(r)) {
			/* full socket buffer: wait for room */
			if (idle >= limit) {
				r = UDP_EAGAIN;
				break;
			}
			double left = limit - idle;
			if (tool_wait(udp_sock_fd(io->sock), POLLOUT, left < 1 ? left : 1) < 0) {
				r = TOOL_STOPPED;
				break;
			}
			continue;
		}
		if (r == UDP_ESYS && errno == ENOBUFS && idle < 1.0) {
			/* a full device queue gives no poll event: retry soon;
			 * if it lasts (a unix message too big for the memory
			 * the kernel will give), report it */
			if (tool_wait(-1, 0, 0.001) < 0) {
				r = TOOL_STOPPED;
				break;
			}
			errno = ENOBUFS;
			continue;
		}
		if (r == UDP_ESYS && errno == EINTR)
			continue;
		if (r == UDP_ESYS && errno == ECONNREFUSED && ++refused_in_row < 8) {
			/* an ICMP port unreachable for an earlier datagram:
			 * this one was not sent yet, so try it again */
			io->refused++;
			continue;
		}
		break;
	}
	if (done)
		*done = off;
	return off == n ? (int)n : (r < 0 ? r : UDP_EAGAIN);
}

int tool_io_recv(struct tool_io *io, struct udp_msg *msgs, unsigned n,
		 double timeout)
{
	double deadline = timeout >= 0 ? tool_now() + timeout : 0;
	for (;;) {
		double left = -1;
		if (timeout >= 0) {
			left = deadline - tool_now();
			if (left < 0)
				left = 0;
		}
		/* Datagrams the netsim holds wake us when due, not only the fd. */
		double due = tool_netsim_due_in(io->sock);
		int held = due >= 0 && (left < 0 || due < left);
		int w = tool_wait(udp_sock_fd(io->sock), POLLIN, held ? due : left);
		if (w < 0)
			return TOOL_STOPPED;
		if (w == 0 && !held)
			return 0;
		tool_msgs_reset(msgs, n);
		int r = udp_sock_recv_batch(io->sock, msgs, n);
		tool_seal_check(io->sock);
		if (r > 0)
			return r;
		if (would_block(r) || (r == UDP_ESYS && errno == EINTR))
			continue; /* spurious wake-up */
		return r;
	}
}

struct udp_msg *tool_msgs_new(unsigned n, size_t cap, void **mem)
{
	struct udp_msg *m = calloc(n, sizeof *m);
	uint8_t *buf = malloc(n && cap ? n * cap : 1);
	if (!m || !buf) {
		free(m);
		free(buf);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		m[i].buf = buf + (size_t)i * cap;
		m[i].cap = cap;
	}
	*mem = buf;
	return m;
}

void tool_msgs_reset(struct udp_msg *msgs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		msgs[i].len = 0;
		msgs[i].wire_len = 0;
		msgs[i].flags = 0;
		memset(&msgs[i].addr, 0, sizeof msgs[i].addr);
	}
}
