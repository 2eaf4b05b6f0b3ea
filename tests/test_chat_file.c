/* cmocka tests for files between chat peers (chat/chat_file.c): the name
 * sanitiser and " (k)" numbering, the FILE_* packets (layout and strict
 * parsing), and the offer / accept / data / cancel exchange between two
 * groups over loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "chat_group.h"
#include "chat_wire.h"
#include "rel.h"
#include "rel_drv.h"
#include "udp_err.h"
#include "udp_sock.h"

static void safe(const char *in, const char *want)
{
	char out[CHAT_FILE_SAFE_MAX + 1];
	size_t n = chat_file_safe_name(in, strlen(in), out, sizeof out);
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

static void safe_names(void **state)
{
	(void)state;
	safe("../../etc/x", "x");
	safe("/etc/passwd", "passwd");
	safe("..", "file");
	safe("", "file");
	safe("dir/", "file");
	safe(".bashrc", "bashrc");
	safe("...  x", "x");
	safe("a\nb\x7f" "c\x1b[31m", "a_b_c_[31m");
	safe("c:\\win\\evil.exe", "evil.exe");
	safe("ok name (2).txt", "ok name (2).txt");
	safe("trailing  ", "trailing");
	char nul[] = { 'a', 0, 'b' };
	char out[CHAT_FILE_SAFE_MAX + 1];
	assert_int_equal(chat_file_safe_name(nul, 3, out, sizeof out), 3);
	assert_memory_equal(out, "a_b", 4);
	/* long: capped, and never half a UTF-8 character at the cut */
	char lng[300];
	memset(lng, 'a', sizeof lng);
	assert_int_equal(chat_file_safe_name(lng, sizeof lng, out, sizeof out),
			 CHAT_FILE_SAFE_MAX);
	memset(lng, 'a', CHAT_FILE_SAFE_MAX - 1);
	memcpy(lng + CHAT_FILE_SAFE_MAX - 1, "\xc3\xa9zz", 4);
	assert_int_equal(chat_file_safe_name(lng, CHAT_FILE_SAFE_MAX + 3, out, sizeof out),
			 CHAT_FILE_SAFE_MAX - 1);
	/* a small buffer is respected */
	char small[4];
	assert_int_equal(chat_file_safe_name("abcdef", 6, small, sizeof small), 3);
	assert_string_equal(small, "abc");
}

static void numbered(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(chat_file_numbered("big.bin", 0, out, sizeof out), 7);
	assert_string_equal(out, "big.bin");
	assert_int_equal(chat_file_numbered("big.bin", 1, out, sizeof out), 11);
	assert_string_equal(out, "big (1).bin");
	chat_file_numbered("a.tar.gz", 12, out, sizeof out);
	assert_string_equal(out, "a.tar (12).gz");
	chat_file_numbered("noext", 2, out, sizeof out);
	assert_string_equal(out, "noext (2)");
	assert_int_equal(chat_file_numbered("big.bin", 1, out, 11), -1);
}

static int enc(uint8_t *buf, struct chat_pkt *p)
{
	p->id = 7;
	strcpy(p->nick, "bo");
	return chat_pkt_encode(p, buf, CHAT_PKT_MAX);
}

static void file_packets(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX];
	struct chat_pkt p = { .type = CHAT_FILE_OFFER, .fid = 0x01020304, .size = 5,
			      .text = (const uint8_t *)"x", .text_len = 1 }, q;
	memset(p.sha256, 0xab, sizeof p.sha256);
	/* docs/CHAT.md: fid at 19, size at 23, sha256 at 31, text length at 63 */
	assert_int_equal(enc(buf, &p), 66);
	assert_int_equal(buf[19], 1);
	assert_int_equal(buf[30], 5);
	assert_int_equal(buf[31], 0xab);
	assert_int_equal(buf[64], 1);
	assert_int_equal(chat_pkt_decode(&q, buf, 66), 0);
	assert_true(q.fid == 0x01020304 && q.size == 5 && q.sha256[31] == 0xab);
	for (size_t n = 0; n < 66; n++)
		assert_true(chat_pkt_decode(&q, buf, n) < 0);

	p = (struct chat_pkt){ .type = CHAT_FILE_DATA, .fid = 9, .off = 1000,
			       .text = (const uint8_t *)"abc", .text_len = 3 };
	int n = enc(buf, &p);
	assert_int_equal(n, 19 + 12 + 2 + 3);
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), 0);
	assert_true(q.off == 1000 && q.text_len == 3);

	p = (struct chat_pkt){ .type = CHAT_FILE_CANCEL, .fid = 9, .mine = 1,
			       .reason = CHAT_FILE_REFUSED };
	n = enc(buf, &p);
	assert_int_equal(n, 19 + 6 + 2);
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), 0);
	assert_true(q.mine == 1 && q.reason == CHAT_FILE_REFUSED);
	buf[24] = CHAT_FILE_GONE; /* local only: never on the wire */
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), UDP_EINVAL);
	buf[24] = 0;
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), UDP_EINVAL);
	buf[24] = 1;
	buf[23] = 2; /* mine is 0 or 1 */
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), UDP_EINVAL);

	/* what the encoder refuses, so the decoder refuses too */
	p = (struct chat_pkt){ .type = CHAT_FILE_ACCEPT, .fid = 0 };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
	p = (struct chat_pkt){ .type = CHAT_FILE_ACCEPT, .fid = 1, .text = (const uint8_t *)"x",
			       .text_len = 1 };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
	p = (struct chat_pkt){ .type = CHAT_FILE_DATA, .fid = 1 };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
	p = (struct chat_pkt){ .type = CHAT_FILE_DATA, .fid = 1, .off = UINT64_MAX,
			       .text = (const uint8_t *)"x", .text_len = 1 };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
	p = (struct chat_pkt){ .type = CHAT_FILE_OFFER, .fid = 1 };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
	static const uint8_t longname[CHAT_FILE_NAME_MAX + 1];
	p = (struct chat_pkt){ .type = CHAT_FILE_OFFER, .fid = 1, .text = longname,
			       .text_len = sizeof longname };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
	p = (struct chat_pkt){ .type = CHAT_FILE_CANCEL + 1, .fid = 1 };
	assert_int_equal(enc(buf, &p), UDP_EINVAL);
}

/* ---- two groups over loopback ---- */

#define FSIZE 100000u

struct peer {
	struct udp_sock *sock;
	struct rel_core *core;
	struct rel_drv *drv;
	struct chat_group *g;
	uint8_t file[FSIZE];       /* what A sends, what B received */
	uint64_t got;
	int accept;                /* B: 1 accept, 2 refuse offers */
	int offers, accepted, ends;
	enum chat_file_reason last_reason;
	int last_by_peer;
	uint32_t last_fid;
};

static int read_file(void *ctx, uint64_t peer, uint32_t fid, uint64_t off, void *buf, size_t n)
{
	(void)peer, (void)fid;
	struct peer *p = ctx;
	assert_true(off + n <= FSIZE);
	memcpy(buf, p->file + off, n);
	return (int)n;
}

static void on_event(void *ctx, const struct chat_group_event *ev)
{
	struct peer *p = ctx;
	if (ev->type != CHAT_GROUP_FILE)
		return;
	const struct chat_file_event *f = ev->file;
	p->last_fid = f->fid;
	switch (f->what) {
	case CHAT_FILE_EV_OFFER:
		p->offers++;
		assert_true(f->size == FSIZE);
		assert_int_equal(f->fname_len, 5);
		if (p->accept == 1)
			assert_int_equal(chat_group_file_accept(p->g, ev->id, f->fid, rel_drv_now()), 0);
		else if (p->accept == 2)
			assert_int_equal(chat_group_file_end(p->g, ev->id, f->fid, 0, CHAT_FILE_REFUSED,
							     rel_drv_now()), 0);
		break;
	case CHAT_FILE_EV_ACCEPTED:
		p->accepted++;
		break;
	case CHAT_FILE_EV_DATA:
		assert_true(f->off == p->got && f->off + f->n <= FSIZE);
		memcpy(p->file + f->off, f->data, f->n);
		p->got += f->n;
		if (p->got == FSIZE)
			chat_group_file_end(p->g, ev->id, f->fid, 0, CHAT_FILE_DONE, rel_drv_now());
		break;
	case CHAT_FILE_EV_END:
		p->ends++;
		p->last_reason = f->reason;
		p->last_by_peer = f->by_peer;
		break;
	}
}

static void peer_open(struct peer *e, uint64_t id)
{
	struct udp_addr any;
	assert_int_equal(udp_addr_parse(&any, "127.0.0.1:0", UDP_ADDR_NUMERIC), 0);
	assert_int_equal(udp_sock_open_bound(&e->sock, &any, UDP_SOCK_NONBLOCK), 0);
	udp_sock_set_buffers(e->sock, 4 << 20, 4 << 20);
	struct rel_config rc;
	rel_config_default(&rc);
	rc.accept = 1;
	rc.seed = 1;
	rc.max_msg = CHAT_PKT_MAX;
	assert_int_equal(rel_core_new(&e->core, &rc), 0);
	assert_int_equal(rel_drv_new(&e->drv, e->core, e->sock), 0);
	struct chat_group_config gc;
	chat_group_config_default(&gc);
	gc.core = e->core;
	gc.drv = e->drv;
	gc.data = e->sock;
	gc.id = id;
	gc.nick = "me";
	gc.wall_offset_us = 1;
	gc.on_event = on_event;
	gc.file_read = read_file;
	gc.ctx = e;
	assert_int_equal(chat_group_new(&e->g, &gc), 0);
}

static void peer_close(struct peer *e)
{
	chat_group_free(e->g);
	rel_drv_free(e->drv);
	rel_core_free(e->core);
	udp_sock_free(e->sock);
}

static void run(struct peer *a, struct peer *b, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct peer *e[2] = { a, b };
		for (int k = 0; k < 2; k++) {
			chat_group_tick(e[k]->g, rel_drv_now());
			rel_drv_flush(e[k]->drv);
			rel_drv_service(e[k]->drv);
			chat_group_poll(e[k]->g, rel_drv_now());
			rel_drv_flush(e[k]->drv);
		}
	}
}

static void offer_accept_refuse_cancel(void **state)
{
	(void)state;
	static struct peer a, b;
	const uint64_t bid = 0x2000000000000000ull;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	peer_open(&a, 0x1000000000000000ull);
	peer_open(&b, bid);
	for (size_t i = 0; i < FSIZE; i++)
		a.file[i] = (uint8_t)(i * 7 + i / 251);
	struct udp_addr baddr;
	assert_int_equal(udp_sock_local_addr(b.sock, &baddr), 0);
	assert_int_equal(chat_group_add_peer(a.g, &baddr, rel_drv_now()), 0);
	for (int i = 0; i < 400 && chat_group_peer_addr(a.g, bid, NULL) < 0; i++)
		run(&a, &b, 1);
	const uint8_t sha[CHAT_SHA256_LEN] = { 1 };
	uint32_t fid;
	assert_int_equal(chat_group_file_offer(a.g, 0x42, "x", 1, sha, &fid, rel_drv_now()),
			 UDP_EINVAL); /* no such peer */
	assert_int_equal(chat_group_file_offer(a.g, bid, "", 1, sha, &fid, rel_drv_now()),
			 UDP_EINVAL);

	/* accepted: every byte, in order, and the sender hears DONE */
	b.accept = 1;
	assert_int_equal(chat_group_file_offer(a.g, bid, "f.bin", FSIZE, sha, &fid, rel_drv_now()), 0);
	for (int i = 0; i < 4000 && a.ends == 0; i++)
		run(&a, &b, 1);
	assert_int_equal(b.offers, 1);
	assert_int_equal(a.accepted, 1);
	assert_true(b.got == FSIZE);
	assert_memory_equal(a.file, b.file, FSIZE);
	assert_int_equal(a.ends, 1);
	assert_int_equal(a.last_reason, CHAT_FILE_DONE);
	assert_int_equal(a.last_by_peer, 1);
	assert_int_equal(b.ends, 1);
	assert_int_equal(b.last_by_peer, 0);

	/* refused */
	b.accept = 2;
	assert_int_equal(chat_group_file_offer(a.g, bid, "g.bin", FSIZE, sha, &fid, rel_drv_now()), 0);
	for (int i = 0; i < 400 && a.ends == 1; i++)
		run(&a, &b, 1);
	assert_int_equal(a.ends, 2);
	assert_int_equal(a.last_reason, CHAT_FILE_REFUSED);
	assert_int_equal(a.last_by_peer, 1);

	/* waiting offers are bounded per peer; cancelling one frees a place */
	b.accept = 0;
	uint32_t fids[CHAT_FILE_PER_PEER];
	for (int i = 0; i < CHAT_FILE_PER_PEER; i++)
		assert_int_equal(chat_group_file_offer(a.g, bid, "h.bin", FSIZE, sha, &fids[i],
						       rel_drv_now()), 0);
	assert_int_equal(chat_group_file_offer(a.g, bid, "h.bin", FSIZE, sha, &fid, rel_drv_now()),
			 UDP_EAGAIN);
	for (int i = 0; i < 400 && b.offers < 2 + CHAT_FILE_PER_PEER; i++)
		run(&a, &b, 1);
	assert_int_equal(b.offers, 2 + CHAT_FILE_PER_PEER);
	assert_int_equal(chat_group_file_end(a.g, bid, fids[0], 1, CHAT_FILE_CANCELLED,
					     rel_drv_now()), 0);
	assert_int_equal(chat_group_file_end(a.g, bid, fids[0], 1, CHAT_FILE_CANCELLED,
					     rel_drv_now()), UDP_EINVAL); /* gone already */
	assert_int_equal(a.ends, 3);
	for (int i = 0; i < 400 && b.ends == 2; i++)
		run(&a, &b, 1);
	assert_int_equal(b.ends, 3);
	assert_int_equal(b.last_reason, CHAT_FILE_CANCELLED);
	assert_int_equal(b.last_by_peer, 1);
	assert_int_equal(chat_group_file_offer(a.g, bid, "h.bin", FSIZE, sha, &fid, rel_drv_now()), 0);

	/* quitting cancels the rest, on both sides */
	chat_group_quit(a.g, rel_drv_now());
	assert_int_equal(a.ends, 3 + CHAT_FILE_PER_PEER);
	for (int i = 0; i < 400 && b.ends < 3 + CHAT_FILE_PER_PEER; i++)
		run(&a, &b, 1);
	assert_int_equal(b.ends, 3 + CHAT_FILE_PER_PEER);
	peer_close(&a);
	peer_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(safe_names),
		cmocka_unit_test(numbered),
		cmocka_unit_test(file_packets),
		cmocka_unit_test(offer_accept_refuse_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
