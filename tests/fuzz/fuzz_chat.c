/* fuzz_chat.c - udpchat packets and peer lists from the network.
 *
 * Invariants: chat_pkt_decode never reads past the input (ASan sees the
 * exact-size copy); a packet it accepts encodes back to the same bytes
 * (one canonical form, so no two encodings can mean one thing); a PEERS
 * text is walked to its end or to an error without reading past it, and
 * each entry it yields writes back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat_wire.h"
#include "udp_err.h"
#include "udp_wire.h"

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		struct udp_wire_reader r;
		struct chat_peer_addr e;
		udp_wire_reader_init(&r, p.text, p.text_len);
		size_t before = 0;
		while ((rc = chat_peers_next(&r, &e)) == 1) {
			uint8_t back[64];
			struct udp_wire_writer w;
			udp_wire_writer_init(&w, back, sizeof back);
			check(chat_peers_put(&w, &e) == 0);
			check(udp_wire_written(&w) == r.pos - before);
			check(memcmp(back, p.text + before, r.pos - before) == 0);
			before = r.pos;
		}
		check(rc == 0 || rc == UDP_ESHORT || rc == UDP_EINVAL);
		check(r.pos <= p.text_len);
	}
	free(in);
	return 0;
}
