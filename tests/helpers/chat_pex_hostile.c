/* chat_pex_hostile.c - a hostile udpchat peer for tests/e2e/hostile_pex.sh:
 * it completes a reliable handshake with each target, says HELLO, and
 * sends one PEERS list naming NVICT third-party addresses (127.0.0.2,
 * 127.0.0.3, ... port VPORT: the "victims"), then keeps its sessions alive
 * for SECS seconds and prints what it sent in all.  Run it only inside
 * the network namespace the test makes (it names 127.0.0.x addresses).
 *
 *   chat_pex_hostile SECS VPORT NVICT HOST:PORT...
 *
 * stdout: "connected=N lists=N bytes_out=N" (bytes_out: every byte of
 * every datagram it sent, handshakes and acknowledgements included). */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_wire.h"
#include "rel.h"
#include "rel_drv.h"
#include "udp_addr.h"
#include "udp_err.h"
#include "udp_sock.h"
#include "udp_wire.h"

#define MAX_TARGETS 16
#define ME 0x7fffffffffff0001ull /* a mid-range id: most peers' lists get acted on */

static int die(const char *what, int code)
{
	fprintf(stderr, "chat_pex_hostile: %s: %s\n", what, udpkit_strerror(code));
	return 1;
}

static void send_chat(struct rel_core *core, uint32_t peer, uint8_t type, const void *text,
		      size_t n)
{
	uint8_t buf[CHAT_PKT_MAX];
	struct chat_pkt p = { .type = type, .id = ME, .nick = "mallory", .text = text,
			      .text_len = n };
	int len = chat_pkt_encode(&p, buf, sizeof buf);
	if (len > 0)
		rel_send(core, peer, buf, (size_t)len, REL_SEQPACKET, rel_drv_now(), NULL);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: chat_pex_hostile SECS VPORT NVICT HOST:PORT...\n");
		return 2;
	}
	double secs = atof(argv[1]);
	int vport = atoi(argv[2]), nvict = atoi(argv[3]), ntarget = argc - 4;
	if (ntarget > MAX_TARGETS || nvict < 1 || nvict > 250)
		return die("arguments", UDP_EINVAL);
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 42;
	cfg.max_msg = CHAT_PKT_MAX;
	cfg.keepalive_us = 200000;
	cfg.rto_initial_us = 250000;
	struct rel_core *core;
	int rc = rel_core_new(&core, &cfg);
	if (rc < 0)
		return die("rel_core_new", rc);
	struct udp_sock *sock;
	struct udp_addr any;
	udp_addr_parse(&any, "127.0.0.1:0", UDP_ADDR_NUMERIC);
	if ((rc = udp_sock_open_bound(&sock, &any, UDP_SOCK_NONBLOCK)) < 0)
		return die("socket", rc);
	struct rel_drv *d;
	if ((rc = rel_drv_new(&d, core, sock)) < 0)
		return die("rel_drv_new", rc);

	/* the list: one entry per victim, ids above any random one we meet */
	uint8_t list[CHAT_TEXT_MAX];
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, list, sizeof list);
	for (int i = 0; i < nvict; i++) {
		struct chat_peer_addr e = { .id = UINT64_MAX - (uint64_t)i };
		char a[32];
		snprintf(a, sizeof a, "127.0.0.%d:%d", 2 + i, vport);
		udp_addr_parse(&e.addr, a, UDP_ADDR_NUMERIC);
		if (chat_peers_put(&w, &e) < 0)
			return die("list", UDP_ENOSPACE);
	}

	uint32_t peer[MAX_TARGETS];
	for (int i = 0; i < ntarget; i++) {
		struct udp_addr t;
		if ((rc = udp_addr_parse(&t, argv[4 + i], UDP_ADDR_NUMERIC)) < 0)
			return die(argv[4 + i], rc);
		if ((rc = rel_drv_connect(d, &t, &peer[i])) < 0)
			return die("connect", rc);
	}
	int connected = 0, lists = 0;
	uint64_t end = rel_drv_now() + (uint64_t)(secs * 1e6);
	while (rel_drv_now() < end) {
		rel_drv_run_once(d, 20);
		struct rel_event ev;
		while (rel_poll_event(core, &ev)) {
			if (ev.type == REL_EV_CONNECTED) {
				/* HELLO, then the list: the target believes it */
				connected++;
				send_chat(core, ev.peer, CHAT_HELLO, NULL, 0);
				send_chat(core, ev.peer, CHAT_PEERS, list, udp_wire_written(&w));
				lists++;
			} else if (ev.type == REL_EV_MESSAGE) {
				rel_buf_recycle(core, ev.data);
			}
		}
	}
	rel_drv_flush(d);
	struct rel_core_stats st;
	rel_core_stats(core, &st);
	printf("connected=%d lists=%d bytes_out=%llu\n", connected, lists,
	       (unsigned long long)st.bytes_out);
	rel_drv_free(d);
	rel_core_free(core);
	udp_sock_free(sock);
	return connected == ntarget ? 0 : 1;
}
