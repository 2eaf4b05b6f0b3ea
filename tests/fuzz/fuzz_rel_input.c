/* fuzz_rel_input.c - a sequence of datagrams from two fake sources into an
 * accepting reliable core (rel_input), on a fake clock, with timers run,
 * the out-queue and the events drained after every step.
 *
 * The CRC-32C trailer and the session ids / cookie are things a fuzzer
 * cannot guess, so a record can ask the harness to fix them up: with those
 * bits set, a mutated DATA/ACK/PING/DGRAM gets the server's and the
 * client's session ids the harness learned from the server's replies to
 * that address, a CONNECT gets the cookie the server gave that address,
 * and the CRC is recomputed.  The data path, sessions, close and the
 * timers are then reachable, not only the decoder.
 *
 * Input: byte 0 picks the start time and the server's initial sequence
 * number; then records:
 *   ctl step [len_hi len_lo bytes...]
 *   ctl bit 7 = 0: a datagram of (len & 0x7ff) bytes;
 *     bit 0 source (A or B), bit 1 fix the CRC, bit 2 patch sids/cookie,
 *     bit 3 take the events (else they pile up, holding receive budget)
 *   ctl bit 7 = 1: a server action on the latest peer, arg = next byte:
 *     bits 0..1: send rdm / seqpacket / dgram of arg*37 bytes, or close
 *   bits 4..5 of ctl scale the clock step: step us, ms, 50 ms, or "jump
 *     to the next deadline" (timers fire at their time).
 *
 * Invariants (abort): a datagram to a source that has no session (peer 0)
 * is never larger than what that source sent, per input and in total
 * (no amplification); a datagram of a session goes to that session's
 * address; receive memory stays within recv_budget per session and
 * core_budget in all; after rel_update(now) the next deadline is 0 (out-
 * queue full) or not in the past, and does not stay at now forever;
 * delivered messages are at most max_msg. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef FUZZ_REL_DEBUG
#include <stdio.h>
#endif

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define NADDR 2
#define MAX_IDS 16
#define MAX_MSG 20000
#define RECV_BUDGET 48000
#define CORE_BUDGET 64000

static const uint8_t addr_a[4] = {'A', 0, 0, 1};
static const uint8_t addr_b[16] = {'B', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

struct src {
	const uint8_t *addr;
	size_t len;
	uint64_t in, out_unverified;
	/* learned from the server's replies */
	uint32_t cookie_sid, bucket, server_sid, client_sid;
	uint64_t cookie;
};

static struct src srcs[NADDR];
static uint32_t ids[MAX_IDS];
static size_t nids;
static uint32_t latest_peer;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void note_id(uint32_t id)
{
	for (size_t i = 0; i < nids; i++)
		if (ids[i] == id)
			return;
	if (nids < MAX_IDS)
		ids[nids++] = id;
	latest_peer = id;
}

static struct src *src_of(const uint8_t *addr, size_t len)
{
	for (int i = 0; i < NADDR; i++)
		if (srcs[i].len == len && !memcmp(srcs[i].addr, addr, len))
			return &srcs[i];
	return NULL;
}

/* Takes everything out of the out-queue.  unverified_limit: bytes the
 * last input may be answered with towards sources without a session. */
static void drain(struct rel_core *c, struct src *from, size_t in_len)
{
	size_t n = rel_out_pending(c);
	uint64_t unverified = 0;
	for (size_t i = 0; i < n; i++) {
		struct rel_dgram d;
		check(rel_out_peek(c, i, &d) == 0);
		struct src *s = src_of(d.addr, d.addr_len);
		check(s != NULL); /* the server only answers */
		check(d.len >= 16 && d.len <= 65507); /* PMTU probes grow past the base */
		if (d.peer == 0) {
			unverified += d.len;
			s->out_unverified += d.len;
			check(s->out_unverified <= s->in);
			check(from == s);
		} else {
			uint8_t a[REL_ADDR_MAX];
			int alen = rel_peer_addr(c, d.peer, a, sizeof a);
			check(alen == (int)d.addr_len && !memcmp(a, d.addr, d.addr_len));
			note_id(d.peer);
		}
		struct rel_pkt k;
		check(rel_wire_decode(&k, d.data, d.len) == 0); /* we build valid packets */
		if (k.type == REL_PT_COOKIE) {
			check(d.peer == 0);
			s->cookie_sid = k.dst_sid;
			s->bucket = k.bucket;
			s->cookie = k.cookie;
		} else {
			check(d.peer != 0 && k.type >= REL_PT_ACCEPT);
			s->server_sid = k.src_sid;
			s->client_sid = k.dst_sid;
		}
	}
	check(unverified <= in_len);
	rel_out_pop(c, n);
	check(rel_out_pending(c) == 0);
}

static void check_memory(struct rel_core *c)
{
	struct rel_core_stats cs;
	rel_core_stats(c, &cs);
	check(cs.recv_mem <= CORE_BUDGET);
	uint64_t sum = 0;
	for (size_t i = 0; i < nids; i++) {
		struct rel_stats ps;
		if (rel_peer_stats(c, ids[i], &ps) < 0)
			continue;
		check(ps.recv_mem <= RECV_BUDGET);
		sum += ps.recv_mem;
	}
	check(sum <= CORE_BUDGET);
}

static void take_events(struct rel_core *c)
{
	struct rel_event ev;
	while (rel_poll_event(c, &ev)) {
		if (ev.type == REL_EV_MESSAGE) {
			check(ev.len <= MAX_MSG);
			check(ev.mode == REL_DGRAM || ev.mode == REL_RDM || ev.mode == REL_SEQPACKET);
			rel_buf_free(ev.data);
		} else if (ev.type == REL_EV_CONNECTED) {
			note_id(ev.peer);
		}
	}
}

/* Runs timers due at now until the core has nothing left for now. */
static void run_timers(struct rel_core *c, uint64_t now)
{
	for (int round = 0;; round++) {
		uint64_t d = rel_next_deadline(c);
		if (d > now)
			return;
		check(round < 16); /* a deadline that stays at now is a busy loop */
		rel_update(c, now);
		drain(c, NULL, 0);
		d = rel_next_deadline(c);
		check(d == 0 || d >= now);
	}
}

static void patch(uint8_t *b, size_t len, const struct src *s)
{
	if (len < 12)
		return;
	if (b[2] == REL_PT_CONNECT && len >= 24) {
		put32(b + 4, 0);
		put32(b + 8, s->cookie_sid);
		put32(b + 12, s->bucket);
		for (int i = 0; i < 8; i++)
			b[16 + i] = (uint8_t)(s->cookie >> (56 - 8 * i));
	} else if (b[2] >= REL_PT_ACCEPT) {
		put32(b + 4, s->server_sid);
		put32(b + 8, s->client_sid);
	}
}

static void fix_crc(uint8_t *b, size_t len)
{
	if (len >= 16)
		put32(b + len - 4, rel_crc32c(b, len - 4));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const uint64_t starts[4] = {1000000000ull, (1ull << 32) - 3000000, 0,
					   (1ull << 40) + 7};
	uint64_t now = starts[data[0] & 3];
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.seed = 42;
	cfg.accept = 1;
	cfg.max_msg = MAX_MSG;
	cfg.recv_budget = RECV_BUDGET;
	cfg.core_budget = CORE_BUDGET;
	cfg.send_budget = 100000;
	cfg.window = 32;
	cfg.max_peers = 3;
	cfg.out_queue = 16;
	cfg.fixed_initial_seq = 1;
	cfg.initial_seq = (data[0] & 4) ? 0xfffffff0u : 1000;
	cfg.ack_delay_us = (data[0] & 8) ? 25000 : 0;
	cfg.cc = (data[0] & 16) ? &rel_cc_reno : NULL;
	struct rel_core *c = NULL;
	check(rel_core_new(&c, &cfg) == 0 && c != NULL);
	memset(srcs, 0, sizeof srcs);
	srcs[0].addr = addr_a;
	srcs[0].len = sizeof addr_a;
	srcs[1].addr = addr_b;
	srcs[1].len = sizeof addr_b;
	nids = 0;
	latest_peer = 0;
	static uint8_t buf[2048];

	size_t i = 1;
	while (i + 2 <= size) {
		uint8_t ctl = data[i], step = data[i + 1];
		i += 2;
		switch ((ctl >> 4) & 3) {
		case 0: now += step; break;
		case 1: now += (uint64_t)step * 1000; break;
		case 2: now += (uint64_t)step * 50000; break;
		default: {
			uint64_t d = rel_next_deadline(c);
			if (d != UINT64_MAX && d > now)
				now = d + step;
			break;
		}
		}
		run_timers(c, now);
		if (ctl & 0x80) {
			if (i >= size)
				break;
			uint8_t arg = data[i++];
			size_t mlen = (size_t)arg * 37;
			memset(buf, arg, mlen < sizeof buf ? mlen : sizeof buf);
			if (latest_peer) {
				if ((ctl & 3) == 3)
					(void)rel_close(c, latest_peer, now);
				else if ((ctl & 3) == 2)
					(void)rel_send(c, latest_peer, buf, arg, REL_DGRAM, now, NULL);
				else
					(void)rel_send(c, latest_peer, buf, mlen < sizeof buf ? mlen : sizeof buf,
						       (ctl & 3) ? REL_SEQPACKET : REL_RDM, now, NULL);
			}
			drain(c, NULL, 0);
		} else {
			if (i + 2 > size)
				break;
			size_t len = ((size_t)data[i] << 8 | data[i + 1]) & 0x7ff;
			i += 2;
			if (len > size - i)
				len = size - i;
			memcpy(buf, data + i, len);
			i += len;
			struct src *s = &srcs[ctl & 1];
			if (ctl & 4)
				patch(buf, len, s);
			if (ctl & 2)
				fix_crc(buf, len);
			s->in += len;
			(void)rel_input(c, s->addr, s->len, len ? buf : NULL, len, now);
			drain(c, s, len);
			if (ctl & 8)
				take_events(c);
		}
		check_memory(c);
		run_timers(c, now);
		check_memory(c);
	}
	/* the end: let the timers run out (dead peers, linger), bounded */
	for (int k = 0; k < 64; k++) {
		uint64_t d = rel_next_deadline(c);
		if (d == UINT64_MAX)
			break;
		if (d > now)
			now = d;
		run_timers(c, now);
		take_events(c);
		check_memory(c);
	}
	take_events(c);
#ifdef FUZZ_REL_DEBUG
	{
		struct rel_core_stats cs;
		rel_core_stats(c, &cs);
		fprintf(stderr, "in %llu out %llu cookies %llu peers %zu drops magic %llu crc %llu malformed %llu session %llu cookie %llu\n",
			(unsigned long long)cs.pkts_in, (unsigned long long)cs.pkts_out,
			(unsigned long long)cs.cookies_sent, nids, (unsigned long long)cs.drop_magic,
			(unsigned long long)cs.drop_checksum, (unsigned long long)cs.drop_malformed,
			(unsigned long long)cs.drop_session, (unsigned long long)cs.drop_cookie);
	}
#endif
	rel_core_free(c);
	return 0;
}
