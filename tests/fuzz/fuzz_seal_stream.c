/* fuzz_seal_stream.c - many genuinely sealed packets from two senders
 * whose session ids and counters the fuzzer chooses, with replays, into
 * one receiver with small session and floor tables (so eviction and the
 * floor sketch are in play).
 *
 * The property: no (session id, counter) is ever accepted twice, whatever
 * the order, the evictions, a sender going back in its counter (a bug a
 * real sender must not have, which the receiver must survive anyway) or
 * two senders using the same session id, under the same suite or not
 * (each restart picks xchacha20 or, with AES-NI, aes256gcm).  Also: a genuine packet is only
 * ever refused as a replay, as too old, or as our own (reflection), and
 * an accepted one opens to what was sealed.
 *
 * Input: byte 0 sizes the receiver (1..4 sessions, 1..4 floor buckets);
 * then 2 bytes per step: op (bits 0..2 what, bit 3 which sender, bits 4..5
 * source address, bit 6 the suite of a restart) and an argument.  At most MAX_PACKETS packets per input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "seal_key.h"
#include "seal.h"
#include "seal_replay.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define MAX_PACKETS 512
#define RING 16
#define NSIDS 5 /* index 4 is the receiver's own id */
#define PT_LEN 17

static const uint8_t key_bytes[SEAL_KEY_BYTES] = "udpkit fuzz key, never a secret";
static struct seal_key *key;
static uint8_t sids[NSIDS][SEAL_SESSION_BYTES];

struct sender {
	struct seal *s;
	int sid;       /* index into sids */
	uint64_t next; /* counter of the next packet */
};

struct pkt {
	uint8_t b[PT_LEN + SEAL_OVERHEAD];
	int sid;
	uint64_t counter;
};

static struct pkt ring[RING];
static size_t nring, npackets;
static struct { int sid; uint64_t counter; } accepted[MAX_PACKETS];
static size_t naccepted;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	check(seal_key_from_bytes(&key, key_bytes) == 0);
	for (int i = 0; i < NSIDS; i++)
		memset(sids[i], 0x10 * (i + 1), SEAL_SESSION_BYTES);
	return 0;
}

/* (Re)starts a sender at a session id and counter: a new seal, as a
 * restarted process would be. */
static void restart(struct sender *x, int sid, uint64_t counter, int gcm)
{
	struct seal_config c;
	seal_free(x->s);
	seal_config_default(&c);
	c.suite = gcm && seal_suite_available(SEAL_AES256GCM) ?
		  SEAL_AES256GCM : SEAL_XCHACHA20;
	c.session_id = sids[sid];
	/* UINT64_MAX would mean "start from the clock" */
	c.first_counter = counter == SEAL_COUNTER_CLOCK ? counter - 1 : counter;
	c.max_sessions = 1;
	c.floor_buckets = 1;
	check(seal_new(&x->s, key, &c) == 0);
	x->sid = sid;
	x->next = c.first_counter;
}

static void plaintext_of(uint8_t pt[PT_LEN], int sid, uint64_t counter)
{
	memset(pt, 0, PT_LEN);
	pt[0] = (uint8_t)sid;
	for (int i = 0; i < 8; i++)
		pt[1 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

static void deliver(struct seal *r, const struct pkt *p, int from)
{
	uint8_t out[PT_LEN], want[PT_LEN];
	struct seal_info info;
	int rc = seal_open(r, p->b, sizeof p->b, &from, sizeof from, out, sizeof out, &info);
	if (rc < 0) {
		check(rc == UDP_ESEAL_REPLAY || rc == UDP_ESEAL_OLD ||
		      (rc == UDP_ESEAL_REFLECT && p->sid == NSIDS - 1));
		return;
	}
	check(p->sid != NSIDS - 1);
	plaintext_of(want, p->sid, p->counter);
	check(rc == PT_LEN && memcmp(out, want, PT_LEN) == 0);
	check(info.counter == p->counter && memcmp(info.session_id, sids[p->sid], 16) == 0);
	for (size_t i = 0; i < naccepted; i++)
		check(!(accepted[i].sid == p->sid && accepted[i].counter == p->counter));
	check(naccepted < MAX_PACKETS);
	accepted[naccepted].sid = p->sid;
	accepted[naccepted].counter = p->counter;
	naccepted++;
}

/* Seals the sender's next packet, keeps it for replays, delivers it. */
static void send_one(struct seal *r, struct sender *x, int from)
{
	uint8_t pt[PT_LEN];
	struct pkt *p = &ring[nring++ % RING];
	if (npackets >= MAX_PACKETS)
		return;
	plaintext_of(pt, x->sid, x->next);
	int n = seal_seal(x->s, pt, PT_LEN, p->b, sizeof p->b);
	if (n == UDP_ESEAL_EXHAUSTED) {
		check(x->next == UINT64_MAX);
		nring--;
		return;
	}
	check(n == (int)sizeof p->b);
	p->sid = x->sid;
	p->counter = x->next++;
	npackets++;
	deliver(r, p, from);
}

/* Counters worth trying: the start, around 2^32 and 2^63, the far end,
 * and around the window size. */
static uint64_t counter_of(uint8_t arg)
{
	static const uint64_t base[] = {0, 1000, 1ull << 32, 1ull << 63, UINT64_MAX - 300,
					 SEAL_REPLAY_WINDOW, 2 * SEAL_REPLAY_WINDOW, 64};
	return base[arg & 7] + (arg >> 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct seal *r;
	struct seal_config c;
	seal_config_default(&c);
	c.session_id = sids[NSIDS - 1];
	c.first_counter = 1;
	c.max_sessions = 1 + (data[0] & 3);
	c.floor_buckets = 1 + ((data[0] >> 2) & 3);
	check(seal_new(&r, key, &c) == 0);
	struct sender snd[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
	restart(&snd[0], 0, 100, 0);
	restart(&snd[1], 1, 100, 1);
	nring = npackets = naccepted = 0;

	for (size_t i = 1; i + 1 < size && npackets < MAX_PACKETS; i += 2) {
		uint8_t op = data[i], arg = data[i + 1];
		struct sender *x = &snd[(op >> 3) & 1];
		int from = (op >> 4) & 3; /* source address: only a hint */
		int gcm = (op >> 6) & 1;
		switch (op & 7) {
		case 0: /* next packet */
			send_one(r, x, from);
			break;
		case 1: /* a burst */
			for (int k = 0; k <= (arg & 15); k++)
				send_one(r, x, from);
			break;
		case 2: /* jump ahead */
			restart(x, x->sid, x->next + (uint64_t)arg * arg * 8, gcm);
			send_one(r, x, from);
			break;
		case 3: /* go back: a broken or restarted-without-clock sender */
			restart(x, x->sid, x->next - (x->next < arg ? x->next : arg), gcm);
			send_one(r, x, from);
			break;
		case 4: /* a new session (maybe the other sender's, or ours) */
			restart(x, arg % NSIDS, counter_of((uint8_t)(arg / NSIDS)), gcm);
			send_one(r, x, from);
			break;
		case 5: /* replay a recent packet */
		case 6:
			if (nring)
				deliver(r, &ring[arg % (nring < RING ? nring : RING)], from);
			break;
		default: /* same session, a counter from the interesting list */
			restart(x, x->sid, counter_of(arg), gcm);
			send_one(r, x, from);
			break;
		}
	}
	seal_free(snd[0].s);
	seal_free(snd[1].s);
	seal_free(r);
	return 0;
}
