/* rel_example.c - how to embed the reliable layer in your own event loop:
 * an echo server and its client, each one core + driver on one socket.
 *
 *   rel_example server ADDR:PORT         echoes every message to its sender
 *   rel_example client ADDR:PORT WORD..  sends each WORD, prints the echoes,
 *                                        closes; exit 0 when all came back
 *
 * The loop below is what any loop (epoll, libuv, ...) needs from the layer:
 * the descriptor (rel_drv_fd) to watch for input, the next deadline
 * (rel_drv_next_deadline) as the timeout, and rel_drv_run_once(d, 0)
 * when either fires: it receives what is there, runs the timers and sends.
 * Built by `make check` (build/helpers/rel_example), run by
 * tests/e2e/reliable.sh; README "Reliable transfer" points here. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "rel.h"
#include "rel_drv.h"
#include "udp_addr.h"
#include "udp_err.h"
#include "udp_sock.h"

static int die(const char *what, int code)
{
	fprintf(stderr, "rel_example: %s: %s\n", what, udpkit_strerror(code));
	return 1;
}

/* Waits for input or the next deadline (at most 1 s), then lets the
 * driver do its work.  Replace ppoll() by your loop's own wait; keep its
 * timer finer than a millisecond if you can (epoll_pwait2, timerfd):
 * pacing asks for shorter waits, and millisecond timers would hold a
 * paced sender to about one packet per millisecond. */
static void turn(struct rel_drv *d, struct rel_core *core)
{
	/* the core's timers and any datagram a netsim model holds, one clock */
	uint64_t now = rel_drv_now(), dl = rel_drv_next_deadline(d);
	uint64_t us = dl == UINT64_MAX ? 1000000 : dl <= now ? 0 : dl - now;
	if (us > 1000000)
		us = 1000000;
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000),
			       .tv_nsec = (long)(us % 1000000) * 1000 };
	struct pollfd p = { .fd = rel_drv_fd(d), .events = POLLIN };
	if (rel_out_pending(core))
		p.events |= POLLOUT; /* the kernel had no room: go on when it has */
	(void)ppoll(&p, 1, &ts, NULL);
	rel_drv_run_once(d, 0);
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")) ||
	    (!strcmp(argv[1], "client") && argc < 4)) {
		fprintf(stderr, "usage: rel_example server ADDR:PORT | client ADDR:PORT WORD...\n");
		return 2;
	}
	int server = !strcmp(argv[1], "server");
	struct udp_addr addr, local;
	int rc = udp_addr_parse(&addr, argv[2], UDP_ADDR_NUMERIC | (server ? UDP_ADDR_PASSIVE : 0));
	if (rc < 0)
		return die(argv[2], rc);

	struct rel_config cfg;
	rel_config_default(&cfg);
	if (getrandom(&cfg.seed, sizeof cfg.seed, 0) != (ssize_t)sizeof cfg.seed ||
	    getrandom(cfg.cookie_secret, sizeof cfg.cookie_secret, 0) != sizeof cfg.cookie_secret)
		return die("getrandom", UDP_ESYS);
	cfg.accept = server;
	cfg.dead_us = 5000000;
	cfg.keepalive_us = 1000000; /* must be well below dead_us */
	cfg.cc = &rel_cc_reno;
	struct rel_core *core = NULL;
	rc = rel_core_new(&core, &cfg);
	if (!core)
		return die("rel_core_new", rc);
	struct udp_sock *sock;
	if (server)
		rc = udp_sock_open_bound(&sock, &addr, 0);
	else
		rc = udp_sock_open(&sock, udp_addr_family(&addr), 0);
	if (rc < 0)
		return die("socket", rc);
	struct rel_drv *d;
	if ((rc = rel_drv_new(&d, core, sock)) < 0)
		return die("rel_drv_new", rc);

	int code = 1, acked = 0, echoed = 0, nwords = argc - 3;
	uint32_t peer = 0;
	if (server) {
		char b[UDP_ADDR_STRLEN];
		if (udp_sock_local_addr(sock, &local) == 0 && udp_addr_format(&local, b, sizeof b) > 0)
			fprintf(stderr, "rel_example: listening on %s\n", b);
	} else if ((rc = rel_drv_connect(d, &addr, &peer)) < 0) {
		return die("connect", rc);
	}
	for (int done = 0; !done;) {
		turn(d, core);
		struct rel_event ev;
		while (rel_poll_event(core, &ev)) {
			switch (ev.type) {
			case REL_EV_CONNECTED:
				if (server)
					break;
				for (int i = 0; i < nwords; i++) /* copied by the core */
					rel_send(core, peer, argv[3 + i], strlen(argv[3 + i]),
						 REL_SEQPACKET, rel_drv_now(), NULL);
				break;
			case REL_EV_MESSAGE:
				if (server) /* the echo, to the session it came from */
					rel_send(core, ev.peer, ev.data, ev.len, ev.mode, rel_drv_now(), NULL);
				else {
					printf("%.*s\n", (int)ev.len, (const char *)ev.data);
					fflush(stdout);
					if (++echoed == nwords) /* all answered: say goodbye */
						rel_close(core, peer, rel_drv_now());
				}
				rel_buf_recycle(core, ev.data);
				break;
			case REL_EV_ACKED:
				acked++;
				break;
			case REL_EV_CLOSED: /* the close is confirmed: all delivered */
				if (!server) {
					code = echoed == nwords && acked == nwords ? 0 : 1;
					done = 1;
				}
				break;
			case REL_EV_DEAD:
				if (!server) {
					fprintf(stderr, "rel_example: the server is gone\n");
					done = 1;
				}
				break;
			case REL_EV_PEER_CLOSED:
			case REL_EV_MIGRATED:
				break;
			}
		}
	}
	rel_drv_free(d);
	rel_core_free(core);
	udp_sock_free(sock);
	return code;
}
