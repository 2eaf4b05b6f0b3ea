/* fuzz_rel_crypto.c - a client and a server core with the toy crypto hook
 * (tests/support_toycrypto.h) after their handshake, fed arbitrary
 * datagrams: clear ones (any type, the CONNECT/ACCEPT key exchange
 * included), SEALED ones the harness seals with the client's own session
 * state (so the packet inside, which the fuzzer chose, reaches the core's
 * session code), and the cores' own traffic, pumped with losses.
 *
 * Input: byte 0 picks the start time and options; then records
 *   ctl step [...]
 *   ctl bit 7 = 0: a datagram, len_hi len_lo bytes (len & 0x7ff), by
 *     bits 0..1: 0 to the server from the client's address, 1 to the
 *     server from another address, 2 sealed by the harness (sids and CRC
 *     patched to the session's) to the server, 3 to the client from the
 *     server's address; bit 2: fix the CRC, bit 3: the session's sids
 *     (clear ones: a keyed session must drop them)
 *   ctl bit 7 = 1: an action, arg = next byte: bits 0..1: the client
 *     sends arg*37 bytes (rdm), the server sends (seqpacket), a dgram from
 *     the client, or the cores exchange their out-queues (arg's bits say
 *     which datagrams are lost)
 *   bits 4..5 of ctl scale the clock step as fuzz_rel_input does.
 *
 * Invariants (abort): no clear packet of types 5..11 ever leaves a core
 * (a keyed session sends only SEALED); no datagram is larger than the
 * largest path MTU configured; the server answers a source without a
 * session with no more than it received; every failed open is counted
 * (drop_auth); once both cores are freed the hook holds no session (its
 * state went back to sess_free on every path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef FUZZ_REL_DEBUG
#include <stdio.h>
#endif

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"
#include "../support_toycrypto.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define MAX_DGRAM 1472

static const uint8_t addr_c[4] = {'C', 0, 0, 1};
static const uint8_t addr_s[4] = {'S', 0, 0, 2};
static const uint8_t addr_x[6] = {'X', 1, 2, 3, 4, 5};

static struct toy_ctx cx, sx;
static uint64_t in_unverified, out_unverified;
static uint32_t sid_c, sid_s; /* the session's, from the server's ACCEPT */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void fix_crc(uint8_t *b, size_t len)
{
	if (len >= 16)
		put32(b + len - 4, rel_crc32c(b, len - 4));
}

static void check_dgram(const struct rel_dgram *d)
{
	check(d->len >= 16 && d->len <= MAX_DGRAM);
	uint8_t t = d->data[2];
	check(t == REL_PT_SEALED || t <= REL_PT_ACCEPT);
	if (d->peer == 0) {
		check(t == REL_PT_COOKIE);
		out_unverified += d->len;
		check(out_unverified <= in_unverified);
	}
}

/* Delivers what `from` queued to `to` (lost: bit i of loss drops the
 * i-th, cycling), or only checks and drops it when to is NULL. */
static void pump_one(struct rel_core *from, struct rel_core *to, const uint8_t *src,
		     size_t slen, uint8_t loss, uint64_t now)
{
	size_t n = rel_out_pending(from);
	static uint8_t buf[65536];
	for (size_t i = 0; i < n; i++) {
		struct rel_dgram d;
		check(rel_out_peek(from, i, &d) == 0);
		check_dgram(&d);
		if (d.data[2] == REL_PT_ACCEPT && d.len >= 12) {
			sid_c = (uint32_t)d.data[4] << 24 | (uint32_t)d.data[5] << 16 |
				(uint32_t)d.data[6] << 8 | d.data[7];
			sid_s = (uint32_t)d.data[8] << 24 | (uint32_t)d.data[9] << 16 |
				(uint32_t)d.data[10] << 8 | d.data[11];
		}
		if (to && !((loss >> (i & 7)) & 1)) {
			memcpy(buf, d.data, d.len);
			in_unverified += d.len;
			/* the out-queue is the sender's: it may change under us */
			(void)rel_input(to, src, slen, buf, d.len, now);
		}
	}
	rel_out_pop(from, n);
}

static void take_events(struct rel_core *c)
{
	struct rel_event ev;
	while (rel_poll_event(c, &ev))
		if (ev.type == REL_EV_MESSAGE)
			rel_buf_free(ev.data);
}

static void settle(struct rel_core *c, struct rel_core *s, uint64_t now, uint8_t loss)
{
	for (int round = 0; round < 8; round++) {
		rel_update(c, now);
		rel_update(s, now);
		if (!rel_out_pending(c) && !rel_out_pending(s))
			return;
		pump_one(c, s, addr_c, sizeof addr_c, loss, now);
		pump_one(s, c, addr_s, sizeof addr_s, loss, now);
		take_events(c);
		take_events(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const uint64_t starts[4] = {1000000000ull, (1ull << 32) - 3000000, 5000000,
					   (1ull << 40) + 7};
	uint64_t now = starts[data[0] & 3];
	toy_ctx_init(&cx, 7);
	toy_ctx_init(&sx, 7);
	in_unverified = out_unverified = 0;
	sid_c = sid_s = 0;
	struct rel_config cc, sc;
	rel_config_default(&cc);
	cc.seed = 1;
	cc.max_msg = 20000;
	cc.recv_budget = 48000;
	cc.core_budget = 64000;
	cc.send_budget = 100000;
	cc.window = 32;
	cc.max_peers = 3;
	cc.out_queue = 32;
	cc.mtu = 600;
	cc.path_mtu = MAX_DGRAM;
	cc.max_mtu = MAX_DGRAM;
	cc.rto_min_us = 20000;
	cc.ack_delay_us = (data[0] & 8) ? 25000 : 0;
	cc.cc = (data[0] & 16) ? &rel_cc_reno : NULL;
	sc = cc;
	sc.seed = 2;
	sc.accept = 1;
	toy_attach(&cx, &cc);
	toy_attach(&sx, &sc);
	struct rel_core *c = NULL, *s = NULL;
	check(rel_core_new(&c, &cc) == 0 && rel_core_new(&s, &sc) == 0);
	uint32_t pc = 0;
	check(rel_connect_ex(c, addr_s, sizeof addr_s, (data[0] & 4) ? "server01" : NULL, now, &pc) == 0);
	settle(c, s, now, 0);
	static uint8_t buf[2048], sealed[2048 + TOY_OVERHEAD];

	size_t i = 1;
	while (i + 2 <= size) {
		uint8_t ctl = data[i], step = data[i + 1];
		i += 2;
		switch ((ctl >> 4) & 3) {
		case 0: now += step; break;
		case 1: now += (uint64_t)step * 1000; break;
		case 2: now += (uint64_t)step * 50000; break;
		default: {
			uint64_t d = rel_next_deadline(c), e = rel_next_deadline(s);
			if (e < d)
				d = e;
			if (d != UINT64_MAX && d > now)
				now = d + step;
			break;
		}
		}
		if (ctl & 0x80) {
			if (i >= size)
				break;
			uint8_t arg = data[i++];
			size_t mlen = (size_t)arg * 37;
			if (mlen > sizeof buf)
				mlen = sizeof buf;
			memset(buf, arg, mlen);
			switch (ctl & 3) {
			case 0: (void)rel_send(c, pc, buf, mlen, REL_RDM, now, NULL); break;
			case 1: {
				/* the server's session for the client: its only one */
				for (uint32_t id = 1; id < 8; id++)
					if (rel_send(s, id, buf, mlen, REL_SEQPACKET, now, NULL) != REL_ENOPEER)
						break;
				break;
			}
			case 2: (void)rel_send(c, pc, buf, arg, REL_DGRAM, now, NULL); break;
			default: settle(c, s, now, arg); break;
			}
		} else {
			if (i + 2 > size)
				break;
			size_t len = ((size_t)data[i] << 8 | data[i + 1]) & 0x7ff;
			i += 2;
			if (len > size - i)
				len = size - i;
			memcpy(buf, data + i, len);
			i += len;
			int mode = ctl & 3;
			if (mode != 2 && (ctl & 8) && len >= 12) { /* the session's sids */
				put32(buf + 4, mode == 3 ? sid_c : sid_s);
				put32(buf + 8, mode == 3 ? sid_s : sid_c);
			}
			if (mode != 2 && (ctl & 4))
				fix_crc(buf, len);
			if (mode == 0) {
				in_unverified += len;
				(void)rel_input(s, addr_c, sizeof addr_c, len ? buf : NULL, len, now);
			} else if (mode == 1) {
				in_unverified += len;
				(void)rel_input(s, addr_x, sizeof addr_x, len ? buf : NULL, len, now);
			} else if (mode == 3) {
				(void)rel_input(c, addr_s, sizeof addr_s, len ? buf : NULL, len, now);
			} else {
				/* sealed with the client's keys: the inner packet is the
				 * fuzzer's, with the session's sids and a good CRC */
				struct toy_sess *st = rel_peer_crypto(c, pc);
				if (st && st->done && sid_s && len >= 16) {
					put32(buf + 4, sid_s);
					put32(buf + 8, sid_c);
					fix_crc(buf, len);
					int n = toy_seal(&cx, st, buf, len, sealed, sizeof sealed, now);
					if (n > 0)
						(void)rel_input(s, addr_c, sizeof addr_c, sealed, (size_t)n, now);
				}
			}
		}
		pump_one(c, s, addr_c, sizeof addr_c, 0, now);
		pump_one(s, c, addr_s, sizeof addr_s, 0, now);
		take_events(c);
		take_events(s);
		rel_update(c, now);
		rel_update(s, now);
	}
	settle(c, s, now, 0);
	struct rel_core_stats cst, sst;
	rel_core_stats(c, &cst);
	rel_core_stats(s, &sst);
	check(cst.drop_auth + sst.drop_auth >= cx.open_fails + sx.open_fails);
#ifdef FUZZ_REL_DEBUG
	fprintf(stderr, "responds %u finishes %u seals %u/%u opens %u/%u fails %u/%u drop_auth %llu/%llu "
		"malformed %llu refused %llu\n", sx.responds, cx.finishes, cx.seals, sx.seals, cx.opens,
		sx.opens, cx.open_fails, sx.open_fails, (unsigned long long)cst.drop_auth,
		(unsigned long long)sst.drop_auth, (unsigned long long)sst.drop_malformed,
		(unsigned long long)sst.drop_refused);
#endif
	rel_core_free(c);
	rel_core_free(s);
	check(cx.live == 0 && sx.live == 0);
	return 0;
}
