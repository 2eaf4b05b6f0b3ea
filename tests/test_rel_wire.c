/* cmocka tests for the reliable core's packets: hash known answers, encode
 * and decode of every type, every truncation, bit flips, random bytes,
 * wrong magic/version, and the handshake's anti-amplification rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"
#include "support_relpair.h"
#include "support_relsim.h"

static const uint8_t CLIENT[4] = {'C', 1, 0, 0};

static void siphash_known_answers(void **state)
{
	(void)state;
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* from the SipHash paper, appendix A, and the reference vectors */
	assert_true(rel_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
	assert_true(rel_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
	assert_true(rel_siphash24(key, msg, 8) == 0x93f5f5799a932462ull);
	assert_true(rel_siphash24(key, msg, 63) == 0x958a324ceb064572ull);
}

/* A bit-at-a-time CRC-32C, independent of both implementations. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

static void crc32c_known_answer(void **state)
{
	(void)state;
	uint32_t (*const fn[3])(const void *, size_t) = {rel_crc32c, rel_crc32c_sw, rel_crc32c_hw};
	uint8_t zeros[32] = {0}, ones[32], up[32], down[32];
	for (int i = 0; i < 32; i++) {
		ones[i] = 0xff;
		up[i] = (uint8_t)i;
		down[i] = (uint8_t)(31 - i);
	}
	for (int f = 0; f < 3; f++) {
		assert_int_equal(fn[f]("123456789", 9), 0xe3069283u);
		assert_int_equal(fn[f]("", 0), 0);
		/* RFC 3720 appendix B.4 */
		assert_int_equal(fn[f](zeros, 32), 0x8a9136aau);
		assert_int_equal(fn[f](ones, 32), 0x62a8ab43u);
		assert_int_equal(fn[f](up, 32), 0x46dd794eu);
		assert_int_equal(fn[f](down, 32), 0x113fdb5cu);
	}
}

/* The crc32 instruction path and the table must agree for every length
 * and every alignment (the word loop, its head and tail). */
static void crc32c_hw_matches_table(void **state)
{
	(void)state;
	static uint8_t buf[300 + 8 + 8];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(x >> 56);
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= 300; len++) {
			uint32_t want = crc_bitwise(buf + off, len);
			assert_int_equal(rel_crc32c_sw(buf + off, len), want);
			assert_int_equal(rel_crc32c_hw(buf + off, len), want);
			assert_int_equal(rel_crc32c(buf + off, len), want);
		}
	}
	if (!rel_crc32c_hw_available())
		print_message("crc32c: no crc32 instruction here, only the table was tested\n");
}

/* Long buffers take the three-lane path (blocks of 3 x 384 and 3 x 1024
 * bytes joined by tables): every length around those steps, and a 64 KiB
 * datagram, agree with the table. */
static void crc32c_hw_long_matches_table(void **state)
{
	(void)state;
	static uint8_t buf[65536 + 8];
	uint64_t x = 0x243f6a8885a308d3ull;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(x >> 56);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 1140; len <= 4300; len += (len < 1175 || (len > 3060 && len < 3090) || len > 4200) ? 1 : 37)
			assert_int_equal(rel_crc32c_hw(buf + off, len), rel_crc32c_sw(buf + off, len));
	assert_int_equal(rel_crc32c_hw(buf, 65536), rel_crc32c_sw(buf, 65536));
	assert_int_equal(rel_crc32c(buf + 1, 65000), rel_crc32c_sw(buf + 1, 65000));
	assert_int_equal(rel_crc32c_sw(buf, 4000), crc_bitwise(buf, 4000));
}

/* One valid packet of each type. */
static size_t build(uint8_t type, uint8_t *buf, size_t cap)
{
	static const uint8_t payload[40] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	struct rel_pkt k;
	memset(&k, 0, sizeof k);
	k.type = type;
	k.dst_sid = 0x11223344;
	k.src_sid = 0x55667788;
	switch (type) {
	case REL_PT_HELLO:
		k.dst_sid = 0;
		k.hello_len = REL_HELLO_LEN;
		break;
	case REL_PT_COOKIE:
		k.src_sid = 0;
		k.bucket = 7;
		k.cookie = 0x0102030405060708ull;
		break;
	case REL_PT_CONNECT:
		k.dst_sid = 0;
		k.bucket = 7;
		k.cookie = 0x0102030405060708ull;
		/* fall through */
	case REL_PT_ACCEPT:
		k.init_seq = 0xfffffff0u;
		k.window_pkts = 1024;
		k.max_msg = 1 << 20;
		k.budget = 2 << 20;
		break;
	default:
		k.flags = REL_F_ECHO;
		k.ts = 1000;
		k.ts_echo = 900;
		k.window = 12345;
		k.cum_ack = 0xfffffffeu;
		k.sack_words = 2;
		k.sack[0] = 0x80000001u;
		k.sack[1] = 0x10;
		if (type == REL_PT_DATA) {
			k.flags |= REL_F_SEQPACKET;
			k.seq = 5;
			k.msg_len = 100;
			k.frag_off = 40;
			k.frag_index = 1;
			k.frag_count = 3;
			k.payload = payload;
			k.payload_len = sizeof payload;
		} else if (type == REL_PT_DGRAM) {
			k.seq = 9;
			k.payload = payload;
			k.payload_len = 10;
		}
	}
	int n = rel_wire_encode(&k, buf, cap);
	assert_true(n > 0);
	return (size_t)n;
}

static void roundtrip_every_type(void **state)
{
	(void)state;
	uint8_t buf[1500];
	struct rel_pkt k;
	for (uint8_t t = REL_PT_HELLO; t <= REL_PT_DGRAM; t++) {
		size_t n = build(t, buf, sizeof buf);
		assert_int_equal(rel_wire_decode(&k, buf, n), 0);
		assert_int_equal(k.type, t);
		assert_int_equal(buf[0], REL_MAGIC);
		assert_int_equal(buf[1], REL_VERSION);
		assert_int_equal(buf[2], t);
		if (t == REL_PT_HELLO) {
			assert_int_equal(n, REL_HELLO_LEN);
			continue;
		}
		assert_int_equal(k.dst_sid, 0x11223344 * (t != REL_PT_CONNECT));
		if (t == REL_PT_CONNECT || t == REL_PT_ACCEPT) {
			assert_int_equal(k.init_seq, 0xfffffff0u);
			assert_int_equal(k.max_msg, 1 << 20);
		}
		if (t >= REL_PT_DATA) {
			assert_int_equal(k.cum_ack, 0xfffffffeu);
			assert_int_equal(k.sack_words, 2);
			assert_int_equal(k.sack[0], 0x80000001u);
			assert_int_equal(k.ts_echo, 900);
		}
		if (t == REL_PT_DATA) {
			assert_int_equal(n, REL_HDR_LEN + REL_ACKB_LEN + 8 + REL_DATA_LEN + 40 + REL_CRC_LEN);
			assert_int_equal(k.frag_off, 40);
			assert_int_equal(k.frag_count, 3);
			assert_int_equal(k.payload_len, 40);
			assert_memory_equal(k.payload, "0123", 4);
		}
	}
	/* the documented sizes */
	assert_int_equal(build(REL_PT_COOKIE, buf, sizeof buf), 28);
	assert_int_equal(build(REL_PT_CONNECT, buf, sizeof buf), 44);
	assert_int_equal(build(REL_PT_ACCEPT, buf, sizeof buf), 32);
	assert_int_equal(build(REL_PT_ACK, buf, sizeof buf), 12 + 17 + 8 + 4);
}

/* PATH_CHALLENGE / PATH_RESPONSE: 24 bytes, token at offset 12, both sids
 * required, no flags, nothing left over (docs/PROTOCOL.md 2.8). */
static void path_packets(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct rel_pkt k, d;
	for (uint8_t t = REL_PT_CHALLENGE; t <= REL_PT_RESPONSE; t++) {
		memset(&k, 0, sizeof k);
		k.type = t;
		k.dst_sid = 0x01020304;
		k.src_sid = 0x05060708;
		k.token = 0x1122334455667788ull;
		int n = rel_wire_encode(&k, buf, sizeof buf);
		assert_int_equal(n, 24);
		assert_int_equal(n, REL_PATH_LEN);
		assert_int_equal(buf[2], t);
		assert_int_equal(buf[12], 0x11);
		assert_int_equal(buf[19], 0x88);
		assert_int_equal(rel_wire_decode(&d, buf, (size_t)n), 0);
		assert_true(d.token == k.token && d.dst_sid == k.dst_sid && d.src_sid == k.src_sid);
		for (int bad = 0; bad < 4; bad++) {
			struct rel_pkt b = k;
			if (bad == 0)
				b.dst_sid = 0;
			if (bad == 1)
				b.src_sid = 0;
			if (bad == 2)
				b.flags = REL_F_ECHO;
			n = rel_wire_encode(&b, buf, sizeof buf);
			if (bad == 3) { /* a byte too many */
				memmove(buf + 21, buf + 20, 4);
				n++;
				uint32_t crc = rel_crc32c(buf, (size_t)n - 4);
				for (int i = 0; i < 4; i++)
					buf[n - 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
			}
			assert_int_equal(rel_wire_decode(&d, buf, (size_t)n), REL_EMALFORMED);
		}
	}
}

/* Re-seals a (modified) packet: a valid checksum over what is left. */
static void reseal(uint8_t *buf, size_t len)
{
	uint32_t crc = rel_crc32c(buf, len - 4);
	buf[len - 4] = (uint8_t)(crc >> 24);
	buf[len - 3] = (uint8_t)(crc >> 16);
	buf[len - 2] = (uint8_t)(crc >> 8);
	buf[len - 1] = (uint8_t)crc;
}

static struct rel_core *server(void)
{
	struct rel_config cfg;
	rel_config_default(&cfg);
	cfg.accept = 1;
	cfg.seed = 99;
	struct rel_core *c = NULL;
	rel_core_new(&c, &cfg);
	assert_non_null(c);
	return c;
}

static void every_truncation_dropped(void **state)
{
	(void)state;
	struct rel_core *c = server();
	uint8_t buf[1500], cut[1500];
	struct rel_pkt k;
	uint64_t fed = 0;
	for (uint8_t t = REL_PT_HELLO; t <= REL_PT_DGRAM; t++) {
		size_t n = build(t, buf, sizeof buf);
		for (size_t len = 0; len < n; len++) {
			/* as cut on the wire: the checksum no longer matches */
			memcpy(cut, buf, len);
			assert_true(rel_wire_decode(&k, cut, len) < 0);
			assert_true(rel_input(c, CLIENT, 4, cut, len, 1000) < 0);
			fed++;
			/* cut and re-sealed: the parser itself must notice */
			if (len >= REL_HDR_LEN + REL_CRC_LEN) {
				size_t sealed = len;
				memcpy(cut, buf, sealed);
				reseal(cut, sealed);
				int rc = rel_wire_decode(&k, cut, sealed);
				/* DATA/DGRAM may lose payload bytes and stay valid
				 * only if every fixed field is still there */
				if (rc == 0) {
					assert_true(t == REL_PT_DGRAM || t == REL_PT_HELLO);
				}
				(void)rel_input(c, CLIENT, 4, cut, sealed, 1000);
				fed++;
			}
		}
	}
	struct rel_core_stats st;
	rel_core_stats(c, &st);
	assert_int_equal(st.pkts_in, fed);
	assert_int_equal(st.peers, 0);
	assert_true(st.drop_checksum > 0 && st.drop_malformed > 0 && st.drop_magic > 0);
	struct rel_event ev;
	assert_int_equal(rel_poll_event(c, &ev), 0);
	rel_core_free(c);
}

static void every_bit_flip_dropped(void **state)
{
	(void)state;
	struct rel_core *c = server();
	uint8_t buf[1500];
	struct rel_pkt k;
	for (uint8_t t = REL_PT_HELLO; t <= REL_PT_DGRAM; t++) {
		size_t n = build(t, buf, sizeof buf);
		for (size_t bit = 0; bit < 8 * n; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			int rc = rel_wire_decode(&k, buf, n);
			assert_true(rc == REL_ECHECKSUM || rc == REL_EMAGIC);
			assert_true(rel_input(c, CLIENT, 4, buf, n, 1000) < 0);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	assert_int_equal(rel_out_pending(c), 0);
	rel_core_free(c);
}

static void wrong_magic_or_version(void **state)
{
	(void)state;
	struct rel_core *c = server();
	uint8_t buf[1500];
	size_t n = build(REL_PT_HELLO, buf, sizeof buf);
	buf[0] ^= 0xff;
	reseal(buf, n);
	assert_int_equal(rel_input(c, CLIENT, 4, buf, n, 1000), REL_EMAGIC);
	buf[0] ^= 0xff;
	buf[1] = REL_VERSION + 1;
	reseal(buf, n);
	assert_int_equal(rel_input(c, CLIENT, 4, buf, n, 1000), REL_EMAGIC);
	buf[1] = REL_VERSION;
	buf[2] = 99; /* unknown type */
	reseal(buf, n);
	assert_int_equal(rel_input(c, CLIENT, 4, buf, n, 1000), REL_EMALFORMED);
	buf[2] = REL_PT_HELLO;
	buf[3] = 0x80; /* reserved flag */
	reseal(buf, n);
	assert_int_equal(rel_input(c, CLIENT, 4, buf, n, 1000), REL_EMALFORMED);
	struct rel_core_stats st;
	rel_core_stats(c, &st);
	assert_int_equal(st.drop_magic, 2);
	assert_int_equal(st.drop_malformed, 2);
	assert_int_equal(rel_out_pending(c), 0);
	rel_core_free(c);
}

/* Random bytes, and real packets with random fields but valid checksums,
 * into a server and into a client with an open session. */
static void random_input_never_crashes(void **state)
{
	(void)state;
	struct sim_link link = {.delay_us = 1000};
	struct rel_config cb;
	rel_config_default(&cb);
	cb.seed = 1; /* reproducible: the old default */
	cb.accept = 1;
	struct rel_core *a = server(), *b;
	struct rel_config ca;
	rel_config_default(&ca);
	ca.seed = 1; /* reproducible: the old default */
	rel_core_new(&b, &ca);
	struct sim *s = sim_new(5, &link);
	int na = sim_add(s, a), nb = sim_add(s, b);
	(void)na;
	size_t alen;
	const uint8_t *aaddr = sim_addr(s, na, &alen);
	uint32_t peer;
	assert_int_equal(rel_connect(b, aaddr, alen, sim_now(s), &peer), 0);
	for (int i = 0; i < 200 && sim_step(s, sim_now(s) + 10000000); i++)
		;
	uint64_t rng = 42;
	uint8_t buf[1500];
	const uint8_t *baddr = sim_addr(s, nb, &alen);
	for (int i = 0; i < 20000; i++) {
		size_t len = sim_rand(&rng) % 200;
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)sim_rand(&rng);
		if (i % 2 && len >= 2) {
			buf[0] = REL_MAGIC;
			buf[1] = REL_VERSION;
			buf[2] = (uint8_t)(1 + sim_rand(&rng) % 8);
			buf[3] &= REL_F_ALL;
			if (len >= 16)
				reseal(buf, len);
		}
		(void)rel_input(a, baddr, alen, buf, len, sim_now(s));
		(void)rel_input(b, aaddr, alen, buf, len, sim_now(s));
		rel_out_pop(a, rel_out_pending(a));
		rel_out_pop(b, rel_out_pending(b));
	}
	struct rel_event ev;
	while (rel_poll_event(a, &ev))
		assert_int_not_equal(ev.type, REL_EV_MESSAGE);
	rel_core_free(a);
	rel_core_free(b);
	sim_free(s);
}

/* Anti-amplification: whatever an unverified source sends, the server's
 * answer to it is never larger. */
static void handshake_amplification(void **state)
{
	(void)state;
	struct rel_core *c = server();
	uint8_t buf[1500];
	uint64_t rng = 7;
	for (int i = 0; i < 5000; i++) {
		size_t in;
		if (i % 3 == 0) {
			struct rel_pkt k;
			memset(&k, 0, sizeof k);
			k.type = REL_PT_HELLO;
			k.src_sid = (uint32_t)sim_rand(&rng) | 1;
			k.hello_len = REL_HELLO_LEN + sim_rand(&rng) % 600;
			in = (size_t)rel_wire_encode(&k, buf, sizeof buf);
		} else if (i % 3 == 1) {
			in = build(REL_PT_CONNECT, buf, sizeof buf); /* forged cookie */
			buf[8] = (uint8_t)i;
			reseal(buf, in);
		} else {
			in = sim_rand(&rng) % 100;
			for (size_t j = 0; j < in; j++)
				buf[j] = (uint8_t)sim_rand(&rng);
			if (in > 16) {
				buf[0] = REL_MAGIC;
				buf[1] = REL_VERSION;
				buf[2] = REL_PT_HELLO;
				buf[3] = 0;
				reseal(buf, in);
			}
		}
		(void)rel_input(c, CLIENT, 4, buf, in, 1000 + (uint64_t)i);
		size_t out = 0;
		for (size_t j = 0; j < rel_out_pending(c); j++) {
			struct rel_dgram d;
			assert_int_equal(rel_out_peek(c, j, &d), 0);
			assert_int_equal(d.peer, 0);
			out += d.len;
		}
		assert_true(out <= in);
		rel_out_pop(c, rel_out_pending(c));
	}
	struct rel_core_stats st;
	rel_core_stats(c, &st);
	assert_int_equal(st.peers, 0); /* no state for unverified sources */
	assert_true(st.cookies_sent > 1000);
	assert_true(st.drop_cookie > 1000);
	assert_true(st.bytes_out <= st.bytes_in);
	rel_core_free(c);
}

struct grab {
	int from;
	uint8_t pkts[64][1500];
	size_t lens[64];
	int n;
};

static void grab_tap(void *ctx, int from, int to, const uint8_t *d, size_t len)
{
	struct grab *g = ctx;
	(void)to;
	if (from == g->from && g->n < 64 && len <= 1500) {
		memcpy(g->pkts[g->n], d, len);
		g->lens[g->n++] = len;
	}
}

/* Real packets of an open session (right session ids) with random fields:
 * what a peer without sealing could forge.  Nothing may crash or break the
 * receive budget; the core keeps working. */
static void mutated_session_packets(void **state)
{
	(void)state;
	struct rel_config ca, cb;
	relpair_config(&ca, 1);
	relpair_config(&cb, 2);
	cb.recv_budget = 1 << 20;
	cb.max_msg = 1 << 19;
	struct relpair p;
	assert_int_equal(relpair_open(&p, 1, NULL, &ca, &cb), 0);
	struct grab g = {.from = p.na};
	sim_set_tap(p.s, grab_tap, &g);
	uint8_t msg[3000] = {1};
	for (int i = 0; i < 20; i++)
		assert_int_equal(rel_send(p.a, p.pa, msg, 100 + (size_t)i * 140, i % 2 ? REL_RDM : REL_SEQPACKET,
					  sim_now(p.s), NULL), 0);
	assert_int_equal(rel_send(p.a, p.pa, msg, 10, REL_DGRAM, sim_now(p.s), NULL), 0);
	for (int i = 0; i < 50 && sim_step(p.s, sim_now(p.s) + 1000000); i++)
		;
	assert_true(g.n > 10);
	size_t alen;
	const uint8_t *aaddr = sim_addr(p.s, p.na, &alen);
	uint64_t rng = 99;
	uint8_t buf[1500];
	for (int i = 0; i < 200000; i++) {
		int k = (int)(sim_rand(&rng) % (uint64_t)g.n);
		size_t len = g.lens[k];
		memcpy(buf, g.pkts[k], len);
		/* keep magic, version and the session ids (bytes 0..11) */
		int flips = 1 + (int)(sim_rand(&rng) % 4);
		for (int f = 0; f < flips; f++) {
			size_t at = 12 + sim_rand(&rng) % (len - 16);
			uint64_t r = sim_rand(&rng);
			if (r & 1)
				buf[at] = (uint8_t)(r >> 8);
			else
				buf[at] ^= (uint8_t)(1u << ((r >> 8) % 8));
		}
		if (sim_rand(&rng) % 3 == 0)
			buf[2] = (uint8_t)(REL_PT_DATA + sim_rand(&rng) % 4);
		if (sim_rand(&rng) % 4 == 0)
			buf[3] = (uint8_t)(sim_rand(&rng) & REL_F_ALL);
		if (sim_rand(&rng) % 8 == 0 && len > 40)
			len -= sim_rand(&rng) % 20;
		reseal(buf, len);
		(void)rel_input(p.b, aaddr, alen, buf, len, sim_now(p.s));
		if (i % 1000 == 0) {
			struct rel_stats st;
			assert_int_equal(rel_peer_stats(p.b, p.pb, &st), 0);
			assert_true(st.recv_mem <= (1 << 20));
			struct rel_event ev;
			while (rel_poll_event(p.b, &ev))
				if (ev.type == REL_EV_MESSAGE)
					rel_buf_free(ev.data);
			rel_out_pop(p.b, rel_out_pending(p.b));
		}
	}
	struct rel_stats st;
	assert_int_equal(rel_peer_stats(p.b, p.pb, &st), 0);
	assert_true(st.drop_malformed > 0);
	relpair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(siphash_known_answers),
		cmocka_unit_test(crc32c_known_answer),
		cmocka_unit_test(crc32c_hw_matches_table),
		cmocka_unit_test(crc32c_hw_long_matches_table),
		cmocka_unit_test(roundtrip_every_type),
		cmocka_unit_test(path_packets),
		cmocka_unit_test(every_truncation_dropped),
		cmocka_unit_test(every_bit_flip_dropped),
		cmocka_unit_test(wrong_magic_or_version),
		cmocka_unit_test(random_input_never_crashes),
		cmocka_unit_test(handshake_amplification),
		cmocka_unit_test(mutated_session_packets),
	};
	return cmocka_run_group_tests_name("rel_wire", tests, NULL, NULL);
}
