/* fuzz_chat.c - udpchat packets and peer lists from the network.
 *
 * Invariants: chat_pkt_decode never reads past the input (ASan sees the
 * exact-size copy); a packet it accepts encodes back to the same bytes
 * (one canonical form, so no two encodings can mean one thing); a PEERS
 * text is walked to its end or to an error without reading past it, and
 * each entry it yields writes back to the same bytes.  Version 3 (an
 * identity peer's packets) is held to the same: its keys (BEACON, LEAVE,
 * HELLO) are part of the canonical bytes, and its PEERS entries, which
 * end in keys, are walked as the receiver walks them (chat_pex_list:
 * keyed when the packet is version 3); the other walk is done too, since
 * any text may be given to either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat_wire.h"
#include "udp_err.h"
#include "udp_wire.h"

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_pkt(const struct chat_pkt *a, const struct chat_pkt *b)
{
	return a->type == b->type && a->id == b->id && a->port == b->port &&
	       strcmp(a->nick, b->nick) == 0 && a->start == b->start && a->seq == b->seq &&
	       a->ts == b->ts && a->flags == b->flags && a->count == b->count &&
	       a->fid == b->fid && a->size == b->size &&
	       memcmp(a->sha256, b->sha256, CHAT_SHA256_LEN) == 0 && a->off == b->off &&
	       a->mine == b->mine && a->reason == b->reason && a->ident == b->ident &&
	       memcmp(a->key, b->key, CHAT_KEY_LEN) == 0 && a->text_len == b->text_len &&
	       (a->text_len == 0 || memcmp(a->text, b->text, a->text_len) == 0);
}

/* Walks p's text as a peer list (keyed: version 3's); each entry writes
 * back to the bytes it came from. */
static void walk_peers(const struct chat_pkt *p, int keyed)
{
	struct udp_wire_reader r;
	struct chat_peer_addr e;
	udp_wire_reader_init(&r, p->text, p->text_len);
	size_t before = 0;
	int rc;
	while ((rc = keyed ? chat_peers_next_keyed(&r, &e) : chat_peers_next(&r, &e)) == 1) {
		uint8_t back[64];
		struct udp_wire_writer w;
		check(e.has_key == keyed);
		udp_wire_writer_init(&w, back, sizeof back);
		check(chat_peers_put(&w, &e) == 0);
		check(udp_wire_written(&w) == r.pos - before);
		check(memcmp(back, p->text + before, r.pos - before) == 0);
		before = r.pos;
	}
	check(rc == 0 || rc == UDP_ESHORT || rc == UDP_EINVAL);
	check(r.pos <= p->text_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size ? size : 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	struct chat_pkt p;
	int rc = chat_pkt_decode(&p, in, size);
	check(rc == 0 || rc == UDP_ESHORT || rc == UDP_EINVAL);
	if (rc == 0) {
		static uint8_t out[CHAT_PKT_MAX];
		int n = chat_pkt_encode(&p, out, sizeof out);
		check(n >= 0 && (size_t)n == size && memcmp(out, in, size) == 0);
		check(p.text_len <= CHAT_TEXT_MAX);
		/* and decodes to the same packet, field for field */
		struct chat_pkt q;
		check(chat_pkt_decode(&q, out, (size_t)n) == 0);
		check(same_pkt(&p, &q));
		/* a key is on the wire exactly when the packet is v3 and its
		 * type carries one, and it is never all zero */
		check(p.ident <= 1 && in[4] == (p.ident ? CHAT_VERSION_IDENT : CHAT_VERSION));
		if (p.ident && chat_type_has_key(p.type)) {
			uint8_t z[CHAT_KEY_LEN] = {0};
			check(memcmp(p.key, z, CHAT_KEY_LEN) != 0);
		}
		walk_peers(&p, 0);
		walk_peers(&p, 1);
	}
	free(in);
	return 0;
}
