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

/* The virtual clock of the expiry tests: it moves only when run_v says. */
static uint64_t vnow;

static uint64_t vclock(void *ctx)
{
	(void)ctx;
	return vnow;
}

static void peer_open_ex(struct peer *e, uint64_t id, uint64_t offer_us, int virt)
{
	struct udp_addr any;
	assert_int_equal(udp_addr_parse(&any, "127.0.0.1:0", UDP_ADDR_NUMERIC), 0);
	assert_int_equal(udp_sock_open_bound(&e->sock, &any, UDP_SOCK_NONBLOCK), 0);
	udp_sock_set_buffers(e->sock, 4 << 20, 4 << 20);
	if (virt)
		assert_int_equal(udp_sock_set_clock(e->sock, vclock, NULL), 0);
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
	if (offer_us)
		gc.file_offer_us = offer_us;
	assert_int_equal(chat_group_new(&e->g, &gc), 0);
}

static void peer_open(struct peer *e, uint64_t id)
{
	peer_open_ex(e, id, 0, 0);
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

/* Turns every live peer once on the virtual clock, then moves it 10 ms. */
static void run_v(struct peer **e, int n)
{
	for (int k = 0; k < n; k++) {
		if (!e[k])
			continue;
		chat_group_tick(e[k]->g, vnow);
		rel_drv_flush(e[k]->drv);
		rel_drv_service(e[k]->drv);
		chat_group_poll(e[k]->g, vnow);
		rel_drv_flush(e[k]->drv);
	}
	vnow += 10000;
}

#define NSEND 5 /* senders: NSEND * CHAT_FILE_PER_PEER > CHAT_FILE_PENDING_MAX */

/* Offers nobody accepts end on both sides after their lifetime (each side
 * by its own), a stranger's offers cannot hold more than
 * CHAT_FILE_PENDING_MAX places, and an offer whose sender vanished with
 * its session up still goes.  Virtual time: no waiting. */
static void offers_expire(void **state)
{
	(void)state;
	static struct peer b, a[NSEND];
	struct peer *all[NSEND + 1];
	const uint64_t bid = 0x7000000000000000ull;
	const uint64_t b_life = 2000000, a_life = 4000000;
	vnow = 1000000000;
	memset(&b, 0, sizeof b);
	memset(a, 0, sizeof a);
	peer_open_ex(&b, bid, b_life, 1);
	all[0] = &b;
	struct udp_addr baddr;
	assert_int_equal(udp_sock_local_addr(b.sock, &baddr), 0);
	for (int k = 0; k < NSEND; k++) {
		peer_open_ex(&a[k], 0x1000000000000000ull + (uint64_t)k, a_life, 1);
		all[k + 1] = &a[k];
		assert_int_equal(chat_group_add_peer(a[k].g, &baddr, vnow), 0);
	}
	for (int i = 0; i < 300 && chat_roster_count(chat_group_roster(b.g)) < NSEND; i++)
		run_v(all, NSEND + 1);
	assert_int_equal(chat_roster_count(chat_group_roster(b.g)), NSEND);

	/* 20 offers: b keeps CHAT_FILE_PENDING_MAX, the rest are "busy" */
	const uint8_t sha[CHAT_SHA256_LEN] = { 2 };
	uint64_t t0 = vnow;
	for (int k = 0; k < NSEND; k++)
		for (int j = 0; j < CHAT_FILE_PER_PEER; j++)
			assert_int_equal(chat_group_file_offer(a[k].g, bid, "h.bin", FSIZE, sha, NULL,
							       vnow), 0);
	int busy = NSEND * CHAT_FILE_PER_PEER - CHAT_FILE_PENDING_MAX, a_ends = 0;
	for (int i = 0; i < 100 && a_ends < busy; i++) {
		run_v(all, NSEND + 1);
		a_ends = 0;
		for (int k = 0; k < NSEND; k++)
			a_ends += a[k].ends;
	}
	assert_int_equal(b.offers, CHAT_FILE_PENDING_MAX);
	assert_int_equal(a_ends, busy);
	struct chat_group_stats st;
	chat_group_stats(b.g, &st);
	assert_int_equal(st.files_busy, busy);
	assert_int_equal(st.files_expired, 0);
	assert_int_equal(b.ends, 0);
	assert_true(chat_group_next_deadline(b.g) <= t0 + b_life + 100000);

	/* b's clock runs out first: expired there, "cancelled" at the senders */
	while (vnow < t0 + b_life - 20000)
		run_v(all, NSEND + 1);
	assert_int_equal(b.ends, 0);
	for (int i = 0; i < 100 && a_ends < NSEND * CHAT_FILE_PER_PEER; i++) {
		run_v(all, NSEND + 1);
		a_ends = 0;
		for (int k = 0; k < NSEND; k++)
			a_ends += a[k].ends;
	}
	assert_true(vnow < t0 + a_life);
	assert_int_equal(b.ends, CHAT_FILE_PENDING_MAX);
	assert_int_equal(b.last_reason, CHAT_FILE_EXPIRED);
	assert_int_equal(b.last_by_peer, 0);
	chat_group_stats(b.g, &st);
	assert_int_equal(st.files_expired, CHAT_FILE_PENDING_MAX);
	assert_int_equal(a_ends, NSEND * CHAT_FILE_PER_PEER);
	assert_int_equal(a[0].last_reason, CHAT_FILE_CANCELLED);
	assert_int_equal(a[0].last_by_peer, 1);

	/* b offers to a[0], whose clock (4 s) is longer: expired at b, a[0] is told */
	t0 = vnow;
	/* its clock read after the poll's (as from an event callback) */
	assert_int_equal(chat_group_file_offer(b.g, 0x1000000000000000ull, "h.bin", FSIZE, sha,
					       NULL, vnow + 5000), 0);
	int before = a[0].ends;
	run_v(all, NSEND + 1);
	assert_int_equal(b.ends, CHAT_FILE_PENDING_MAX); /* not expired at once */
	while (vnow < t0 + b_life + 200000)
		run_v(all, NSEND + 1);
	assert_int_equal(a[0].offers, 1);
	assert_int_equal(b.ends, CHAT_FILE_PENDING_MAX + 1);
	assert_int_equal(b.last_reason, CHAT_FILE_EXPIRED);
	assert_int_equal(a[0].ends, before + 1);
	assert_int_equal(a[0].last_reason, CHAT_FILE_CANCELLED);
	assert_int_equal(a[0].last_by_peer, 1);

	/* a[1] offers, then vanishes without a word (not turned any more, its
	 * session still up at b): b's offer expires all the same */
	assert_int_equal(chat_group_file_offer(a[1].g, bid, "h.bin", FSIZE, sha, NULL, vnow), 0);
	before = b.offers;
	for (int i = 0; i < 10; i++)
		run_v(all, NSEND + 1);
	assert_int_equal(b.offers, before + 1);
	all[2] = NULL;
	t0 = vnow;
	while (vnow < t0 + b_life + 100000)
		run_v(all, NSEND + 1);
	assert_int_equal(chat_group_peer_addr(b.g, 0x1000000000000001ull, NULL), 0); /* still up */
	assert_int_equal(b.ends, CHAT_FILE_PENDING_MAX + 2);
	assert_int_equal(b.last_reason, CHAT_FILE_EXPIRED);
	for (int k = 0; k < NSEND; k++)
		peer_close(&a[k]);
	peer_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(safe_names),
		cmocka_unit_test(numbered),
		cmocka_unit_test(file_packets),
		cmocka_unit_test(offer_accept_refuse_cancel),
		cmocka_unit_test(offers_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
