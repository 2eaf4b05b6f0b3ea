/* fuzz_rel_pair.c - a client and a server core connected by an in-memory
 * link whose every decision (deliver after a delay, drop, duplicate,
 * corrupt a byte, hold back so later packets overtake) is a fuzzer byte,
 * while both sides send messages of fuzzer-chosen sizes and modes.  When
 * the input runs out (or after FUZZ_SPAN_US of virtual time) the link
 * turns clean, the client closes, and the clock runs to quiescence.
 *
 * Invariants (abort): a message is delivered at most once, with the bytes
 * and mode it was sent with; a seqpacket message only after every reliable
 * message sent before it; REL_EV_ACKED only for a delivered message, once;
 * no DEAD event (dead_us and linger_us are beyond the fuzzed span); after the clean
 * tail every reliable message was delivered exactly once, both closes
 * completed, and it took a bounded number of steps.
 *
 * Input: byte 0 configures (initial sequence near 2^32, delayed acks,
 * congestion control); then op bytes: op & 3 = 0 client sends, 1 server
 * sends (next byte: size, mode in op bits 2..3), 2 run 1 + op/4 link
 * steps, 3 run up to op/4 ms (op 0xff: the client closes now; op 0xfb: the
 * link's MTU changes to MTU + 3 x the next byte, at most LINK_MTU, and
 * stays so through the clean tail: a black hole path MTU discovery must
 * find).  Every datagram that leaves a core takes the next byte as the
 * link's decision; one longer than the link's MTU is dropped first.
 *
 * Path MTU discovery runs: the base is MTU, probes go up to LINK_MTU.
 *
 * FUZZ_REL_DUMP=dir build-fuzz/fuzz_rel_pair seeds...  writes every
 * datagram that crosses the link to dir/wire-N (seeds for fuzz_rel_wire)
 * and the client's datagrams as fuzz_rel_input records to dir/input-N. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define MTU 400 /* the base */
#define LINK_MTU 1200 /* what the link carries: PMTUD probes up to it */
#define MAX_MSG 4000
#define MAX_MSGS 32
#define LINK_MAX 512
#define FUZZ_STEPS 3000
#define CLEAN_STEPS 40000
#define FUZZ_SPAN_US 60000000ull
#define CLEAN_SPAN_US 300000000ull

static const uint8_t addr_c[4] = {'C', 0, 0, 1};
static const uint8_t addr_s[4] = {'S', 0, 0, 2};

struct pkt {
	uint64_t at, order;
	int to; /* 0 client, 1 server */
	size_t len;
	uint8_t data[LINK_MTU];
};

struct msg {
	uint32_t len;
	enum rel_mode mode;
	uint64_t id;
	int delivered, acked;
};

/* one direction: what the sender's side sent and the receiver's side saw */
struct dir {
	struct msg m[MAX_MSGS];
	int n;
};

struct pair {
	struct rel_core *core[2];
	uint32_t peer[2]; /* each side's peer id of the other, 0 = not yet */
	struct dir dir[2]; /* dir[i]: sent by side i */
	int connected[2], closed[2], peer_closed[2];
	struct pkt link[LINK_MAX];
	int nlink;
	size_t link_mtu;
	uint64_t now, order;
	const uint8_t *in;
	size_t left;
	int clean;
};

static struct pair P;
static const char *dump_dir;
static FILE *dump_input;
static uint64_t dump_last;
static unsigned dump_n, dump_files;

static int next_byte(void)
{
	if (P.clean || P.left == 0)
		return -1;
	P.left--;
	return *P.in++;
}

static uint8_t content(int side, int idx, size_t off)
{
	return (uint8_t)(off * 31 + (size_t)idx * 7 + (size_t)side * 101 + 5);
}

static void make_msg(uint8_t *buf, int side, int idx, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = content(side, idx, i);
	buf[0] = (uint8_t)idx; /* len >= 2 */
	buf[1] = (uint8_t)side;
}

static void dump(const struct pkt *p, int from)
{
	char name[512];
	if (!dump_dir || dump_files >= 64)
		return;
	snprintf(name, sizeof name, "%s/wire-%03u", dump_dir, dump_files++);
	FILE *f = fopen(name, "wb");
	if (f) {
		fwrite(p->data, 1, p->len, f);
		fclose(f);
	}
	if (from == 0 && dump_input) {
		/* a fuzz_rel_input record: ctl (fix CRC, patch, take events,
		 * step in ms), step, length, bytes */
		uint64_t ms = (P.now - dump_last) / 1000;
		dump_last = P.now;
		uint8_t hdr[4] = {0x1e, (uint8_t)(ms > 255 ? 255 : ms), (uint8_t)(p->len >> 8),
				  (uint8_t)p->len};
		fwrite(hdr, 1, 4, dump_input);
		fwrite(p->data, 1, p->len, dump_input);
	}
}

static void link_put(const uint8_t *data, size_t len, int to, uint64_t delay)
{
	if (P.nlink == LINK_MAX) {
		check(!P.clean); /* a clean link loses nothing */
		return;
	}
	struct pkt *p = &P.link[P.nlink++];
	p->at = P.now + delay;
	p->order = P.order++;
	p->to = to;
	p->len = len;
	memcpy(p->data, data, len);
}

/* Moves both out-queues onto the link, one decision byte per datagram. */
static void drain(void)
{
	for (int side = 0, rounds = 0; side < 2; side++) {
		struct rel_core *c = P.core[side];
		if (rounds > 0) { /* the out-queue was full: room now */
			rel_update(c, P.now);
			check(rounds < 64);
		}
		size_t n = rel_out_pending(c);
		for (size_t i = 0; i < n; i++) {
			struct rel_dgram d;
			check(rel_out_peek(c, i, &d) == 0);
			check(d.addr_len == 4 && !memcmp(d.addr, side ? addr_c : addr_s, 4));
			check(d.len <= LINK_MTU);
			int to = !side;
			struct pkt tmp = {.len = d.len};
			memcpy(tmp.data, d.data, d.len);
			dump(&tmp, side);
			if (d.len > P.link_mtu)
				continue; /* too big for the link, and nobody says so */
			int b = next_byte();
			if (b < 0) {
				link_put(d.data, d.len, to, 5000);
				continue;
			}
			uint64_t arg = (uint64_t)(b >> 3);
			switch (b & 7) {
			case 0: case 1: case 2:
				link_put(d.data, d.len, to, 1000 + arg * 2000);
				break;
			case 3: /* lost */
				break;
			case 4: /* duplicated */
				link_put(d.data, d.len, to, 1000);
				link_put(d.data, d.len, to, 1000 + arg * 3000);
				break;
			case 5: /* one byte changed: the CRC must catch it */
				tmp.data[arg % d.len] ^= (uint8_t)(b | 1);
				link_put(tmp.data, d.len, to, 3000);
				break;
			case 6: /* held back: later packets overtake it */
				link_put(d.data, d.len, to, 20000 + arg * 50000);
				break;
			default:
				link_put(d.data, d.len, to, 0);
				break;
			}
		}
		rel_out_pop(c, n);
		if (rel_next_deadline(c) == 0) {
			side--;
			rounds++;
		} else {
			rounds = 0;
		}
	}
}

static void on_message(int side, const struct rel_event *ev)
{
	int from = !side;
	struct dir *dr = &P.dir[from];
	check(ev->len >= 2 && ev->data[1] == from);
	int idx = ev->data[0];
	check(idx < dr->n);
	struct msg *m = &dr->m[idx];
	check(m->len == ev->len && m->mode == ev->mode);
	check(!m->delivered);
	for (size_t i = 2; i < ev->len; i++)
		check(ev->data[i] == content(from, idx, i));
	if (m->mode == REL_SEQPACKET)
		for (int j = 0; j < idx; j++)
			check(dr->m[j].mode == REL_DGRAM || dr->m[j].delivered);
	m->delivered = 1;
}

static void events(void)
{
	for (int side = 0; side < 2; side++) {
		struct rel_event ev;
		while (rel_poll_event(P.core[side], &ev)) {
			switch (ev.type) {
			case REL_EV_CONNECTED:
				check(!P.connected[side]);
				check(side == 1 || ev.peer == P.peer[side]);
				P.connected[side] = 1;
				P.peer[side] = ev.peer;
				break;
			case REL_EV_MESSAGE:
				check(ev.peer == P.peer[side]);
				on_message(side, &ev);
				rel_buf_free(ev.data);
				break;
			case REL_EV_ACKED: {
				struct dir *dr = &P.dir[side];
				int found = 0;
				for (int i = 0; i < dr->n; i++) {
					if (dr->m[i].mode != REL_DGRAM && dr->m[i].id == ev.msg_id) {
						check(dr->m[i].delivered && !dr->m[i].acked);
						dr->m[i].acked = 1;
						found = 1;
					}
				}
				check(found);
				break;
			}
			case REL_EV_PEER_CLOSED:
				check(!P.peer_closed[side]);
				P.peer_closed[side] = 1;
				break;
			case REL_EV_CLOSED:
				check(!P.closed[side]);
				P.closed[side] = 1;
				break;
			case REL_EV_DEAD:
#ifdef FUZZ_REL_DEBUG
				fprintf(stderr, "DEAD side %d at %llu; connected %d %d closed %d %d peer_closed %d %d\n", side,
					(unsigned long long)P.now, P.connected[0], P.connected[1], P.closed[0], P.closed[1],
					P.peer_closed[0], P.peer_closed[1]);
#endif
				abort(); /* nobody was silent for dead_us */
			case REL_EV_MIGRATED:
			case REL_EV_PMTU: /* a path MTU change: nothing to check */
				break;
			}
		}
	}
}

/* One step: link, then jump to the next event and handle it.  Returns 0
 * when there is nothing left to happen. */
static int step(void)
{
	drain();
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < P.nlink; i++)
		if (P.link[i].at < t)
			t = P.link[i].at;
	for (int side = 0; side < 2; side++) {
		uint64_t d = rel_next_deadline(P.core[side]);
		check(d != 0); /* drained */
		if (d < t)
			t = d;
	}
	if (t == UINT64_MAX)
		return 0;
	if (t > P.now)
		P.now = t;
	/* arrivals due now, in order of arrival time then sending */
	for (;;) {
		int best = -1;
		for (int i = 0; i < P.nlink; i++)
			if (P.link[i].at <= P.now &&
			    (best < 0 || P.link[i].at < P.link[best].at ||
			     (P.link[i].at == P.link[best].at && P.link[i].order < P.link[best].order)))
				best = i;
		if (best < 0)
			break;
		struct pkt p = P.link[best];
		P.link[best] = P.link[--P.nlink];
		(void)rel_input(P.core[p.to], p.to ? addr_c : addr_s, 4, p.data, p.len, P.now);
	}
	for (int side = 0; side < 2; side++)
		if (rel_next_deadline(P.core[side]) <= P.now)
			rel_update(P.core[side], P.now);
	events();
	return 1;
}

static void send_msg(int side, uint8_t op, int size_byte)
{
	static uint8_t buf[MAX_MSG];
	struct dir *dr = &P.dir[side];
	if (size_byte < 0 || dr->n == MAX_MSGS || !P.peer[side])
		return;
	enum rel_mode mode = ((op >> 2) & 3) == 1 ? REL_SEQPACKET :
			     ((op >> 2) & 3) == 2 ? REL_DGRAM : REL_RDM;
	size_t len = mode == REL_DGRAM ? 2 + (size_t)size_byte % (rel_dgram_max(P.core[side]) - 1)
				       : 2 + (size_t)size_byte * 15;
	make_msg(buf, side, dr->n, len);
	uint64_t id = 0;
	int rc = rel_send(P.core[side], P.peer[side], buf, len, mode, P.now, &id);
	if (rc < 0)
		return;
	struct msg *m = &dr->m[dr->n++];
	memset(m, 0, sizeof *m);
	m->len = (uint32_t)len;
	m->mode = mode;
	m->id = id;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dump_dir = getenv("FUZZ_REL_DUMP");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	memset(&P, 0, sizeof P);
	P.in = data + 1;
	P.left = size - 1;
	P.link_mtu = LINK_MTU;
	P.now = (data[0] & 1) ? (1ull << 32) - 2000000 : 1000000;
	uint64_t t0 = P.now;
	for (int side = 0; side < 2; side++) {
		struct rel_config cfg;
		rel_config_default(&cfg);
		cfg.seed = 7 + (uint64_t)side;
		cfg.accept = side;
		cfg.mtu = MTU;
		cfg.max_mtu = cfg.path_mtu = LINK_MTU;
		cfg.max_msg = MAX_MSG;
		cfg.recv_budget = 3 * MAX_MSG;
		cfg.core_budget = 4 * MAX_MSG;
		cfg.send_budget = 16 * MAX_MSG;
		cfg.window = 16;
		cfg.out_queue = 32;
		cfg.rto_max_us = 2000000;
		/* The fuzzed span (at most ~FUZZ_SPAN_US + 2 s) may lose
		 * everything: a lingering side must outlive it, or the other
		 * side's last retransmission finds nobody (it then reports
		 * DEAD, correctly: it cannot know).  Handshake retries are
		 * capped at dead_us / 8 = 50 s, under CLEAN_SPAN_US. */
		cfg.dead_us = 400000000;
		cfg.linger_us = 150000000;
		cfg.fixed_initial_seq = 1;
		cfg.initial_seq = (data[0] & 2) ? 0xfffffff8u - (uint32_t)side : 100;
		cfg.ack_delay_us = (data[0] & 4) ? 10000 : 0;
		cfg.cc = (data[0] & 8) ? &rel_cc_reno : NULL;
		rel_core_new(&P.core[side], &cfg);
		check(P.core[side] != NULL);
	}
	if (dump_dir && !dump_input) {
		char name[512];
		snprintf(name, sizeof name, "%s/input-%03u", dump_dir, dump_n++);
		dump_input = fopen(name, "wb");
		if (dump_input)
			fputc(0, dump_input);
		dump_last = P.now;
	}
	check(rel_connect(P.core[0], addr_s, 4, P.now, &P.peer[0]) == 0);

	int steps = 0, client_closing = 0;
	while (P.left && steps < FUZZ_STEPS && P.now - t0 < FUZZ_SPAN_US) {
		uint8_t op = (uint8_t)next_byte();
		switch (op & 3) {
		case 0:
		case 1:
			send_msg(op & 1, op, next_byte());
			break;
		case 2:
			for (int k = 0; k <= op >> 2 && steps < FUZZ_STEPS && P.now - t0 < FUZZ_SPAN_US;
			     k++, steps++)
				if (!step())
					break;
			break;
		default:
			if (op == 0xfb) {
				int b = next_byte();
				if (b >= 0) {
					size_t m = MTU + 3 * (size_t)b;
					P.link_mtu = m < LINK_MTU ? m : LINK_MTU;
				}
				break;
			}
			if (op == 0xff) {
				if (P.connected[0] && !client_closing && rel_close(P.core[0], P.peer[0], P.now) == 0)
					client_closing = 1;
				break;
			}
			uint64_t until = P.now + (uint64_t)(op >> 2) * 1000;
			while (P.now < until && steps < FUZZ_STEPS && P.now - t0 < FUZZ_SPAN_US && step())
				steps++;
			break;
		}
	}

	/* the clean tail: nothing lost from here on */
	P.clean = 1;
	uint64_t t1 = P.now;
#ifdef FUZZ_REL_DEBUG
	fprintf(stderr, "clean from %llu (t0 %llu)\n", (unsigned long long)t1, (unsigned long long)t0);
#endif
	for (steps = 0; steps < CLEAN_STEPS; steps++) {
		if (P.connected[0] && !client_closing) {
			int rc = rel_close(P.core[0], P.peer[0], P.now);
#ifdef FUZZ_REL_DEBUG
			fprintf(stderr, "close rc %d pc %d %d\n", rc, P.peer_closed[0], P.peer_closed[1]);
#endif
			check(rc == 0);
			client_closing = 1;
		}
		if (P.closed[0] && P.closed[1] && P.peer_closed[0] && P.peer_closed[1] && P.nlink == 0)
			break;
		check(P.now - t1 < CLEAN_SPAN_US);
		if (!step())
			break;
	}
	check(P.closed[0] && P.closed[1] && P.peer_closed[0] && P.peer_closed[1]);
	for (int side = 0; side < 2; side++)
		for (int i = 0; i < P.dir[side].n; i++) {
			const struct msg *m = &P.dir[side].m[i];
			if (m->mode != REL_DGRAM)
				check(m->delivered && m->acked);
		}
#ifdef FUZZ_REL_DEBUG
	fprintf(stderr, "sent %d/%d msgs, end at %llu us\n", P.dir[0].n, P.dir[1].n,
		(unsigned long long)(P.now - t0));
#endif
	rel_core_free(P.core[0]);
	rel_core_free(P.core[1]);
	if (dump_input) {
		fclose(dump_input);
		dump_input = NULL;
	}
	return 0;
}
