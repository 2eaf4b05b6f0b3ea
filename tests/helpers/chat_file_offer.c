/* chat_file_offer.c - a udpchat peer that offers one small file under any
 * name it is given, raw (udpchat's /send only ever offers a last path
 * component): tests/e2e/chat_files.sh offers "../../etc/x" to see where
 * the receiver puts it.  Run it only inside the test's namespace.
 *
 *   chat_file_offer HOST:PORT NAME SECS
 *
 * Connects, offers the 6 bytes "owned\n" as NAME once the peer's HELLO is
 * in, sends them if accepted, and prints "end=REASON" (chat_file_reason)
 * when the transfer ends, or "end=timeout" after SECS. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chat_group.h"
#include "rel.h"
#include "rel_drv.h"
#include "udp_addr.h"
#include "udp_err.h"
#include "udp_sock.h"

static const char content[] = "owned\n";

struct state {
	struct chat_group *g;
	const char *name;
	int offered, ended;
};

static int read_file(void *ctx, uint64_t peer, uint32_t fid, uint64_t off, void *buf, size_t n)
{
	(void)ctx, (void)peer, (void)fid;
	if (off + n > sizeof content - 1)
		return -1;
	memcpy(buf, content + off, n);
	return (int)n;
}

static void on_event(void *ctx, const struct chat_group_event *ev)
{
	struct state *s = ctx;
	if (ev->type == CHAT_GROUP_JOIN && !s->offered) {
		uint8_t sha[CHAT_SHA256_LEN];
		crypto_hash_sha256(sha, (const uint8_t *)content, sizeof content - 1);
		uint32_t fid;
		int r = chat_group_file_offer(s->g, ev->id, s->name, sizeof content - 1, sha, &fid,
					      rel_drv_now());
		if (r < 0)
			fprintf(stderr, "chat_file_offer: offer: %s\n", udpkit_strerror(r));
		s->offered = 1;
	} else if (ev->type == CHAT_GROUP_FILE && ev->file->what == CHAT_FILE_EV_END) {
		printf("end=%d\n", (int)ev->file->reason);
		s->ended = 1;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: chat_file_offer HOST:PORT NAME SECS\n");
		return 2;
	}
	struct udp_addr to, any;
	if (udp_addr_parse(&to, argv[1], UDP_ADDR_NUMERIC) < 0 ||
	    udp_addr_parse(&any, "0.0.0.0:0", UDP_ADDR_NUMERIC) < 0)
		return 2;
	struct udp_sock *sock;
	struct rel_core *core;
	struct rel_drv *drv;
	struct rel_config rc;
	rel_config_default(&rc);
	rc.accept = 1;
	rc.max_msg = CHAT_PKT_MAX;
	if (udp_sock_open_bound(&sock, &any, UDP_SOCK_NONBLOCK) < 0 ||
	    rel_core_new(&core, &rc) < 0 || rel_drv_new(&drv, core, sock) < 0)
		return 1;
	struct state s = { .name = argv[2] };
	struct chat_group_config gc;
	chat_group_config_default(&gc);
	gc.core = core;
	gc.drv = drv;
	gc.data = sock;
	gc.id = 0x0123456789abcdefull;
	gc.nick = "mallory";
	gc.on_event = on_event;
	gc.file_read = read_file;
	gc.ctx = &s;
	if (chat_group_new(&s.g, &gc) < 0)
		return 1;
	rel_drv_set_gate(drv, chat_group_gate, s.g);
	chat_group_add_peer(s.g, &to, rel_drv_now());
	uint64_t until = rel_drv_now() + (uint64_t)(atof(argv[3]) * 1e6);
	while (!s.ended && rel_drv_now() < until) {
		chat_group_tick(s.g, rel_drv_now());
		rel_drv_flush(drv);
		struct pollfd p = { .fd = udp_sock_fd(sock), .events = POLLIN };
		poll(&p, 1, 10);
		rel_drv_service(drv);
		chat_group_poll(s.g, rel_drv_now());
		rel_drv_flush(drv);
	}
	if (!s.ended)
		printf("end=timeout\n");
	chat_group_free(s.g);
	rel_drv_free(drv);
	rel_core_free(core);
	udp_sock_free(sock);
	return 0;
}
