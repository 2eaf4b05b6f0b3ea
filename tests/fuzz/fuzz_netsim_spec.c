/* fuzz_netsim_spec.c - netsim_parse on any text, then the simulator
 * it makes, driven by a fake clock.
 *
 * Input: the spec, a NUL byte, then a program of one byte per step
 * (bits 0..1: push / pop / advance the clock / drain what is due;
 * bits 2..7: the length pushed or the clock jump).  Without a NUL the
 * whole input is the spec and a fixed short program runs.  Every run is
 * bounded: at most 256 steps, 64-byte datagrams, so even "limit 1000000"
 * holds little.
 *
 * Invariants: a spec that parses is in range for netsim_new_config
 * and its description parses back to the same description; after every
 * step in + duplicated == passed + lost + too_big + queue_drops + queued; pop gives
 * what was pushed (exactly, or with at most one bit flipped when the spec
 * corrupts), with its address; pop returns nothing before next_due() and
 * something at it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "netsim.h"

#define check(c) do { if (!(c)) abort(); } while (0)
#define MAX_STEPS 256
#define MAX_PKT 64

static void check_counters(const struct netsim *ns, uint64_t bytes_in)
{
	struct netsim_counters c;
	netsim_counters(ns, &c);
	check(c.in + c.duplicated == c.passed + c.lost + c.too_big + c.queue_drops + c.queued);
	check(c.bytes_in == bytes_in && c.bytes_passed <= bytes_in + c.duplicated * MAX_PKT);
	check((c.queued == 0) == (netsim_next_due(ns) == UINT64_MAX));
}

/* A datagram of length len is filled with a byte derived from len, and
 * its address carries len as the port: what comes out can be checked. */
static uint8_t fill_of(size_t len)
{
	return (uint8_t)(0x5a ^ len);
}

static void check_popped(const uint8_t *buf, size_t len, const struct udp_addr *a,
			 int corrupts)
{
	unsigned flipped = 0;
	check(len < MAX_PKT);
	check(udp_addr_port(a) == (int)len);
	for (size_t i = 0; i < len; i++)
		flipped += (unsigned)__builtin_popcount(buf[i] ^ fill_of(len));
	check(flipped == 0 || (corrupts && flipped == 1));
}

static void run(struct netsim *ns, const struct netsim_config *cfg,
		const uint8_t *prog, size_t nprog)
{
	uint64_t now = 0, bytes_in = 0;
	uint8_t pkt[MAX_PKT], buf[MAX_PKT];
	struct udp_addr a, got;
	int corrupts = cfg->corrupt > 0.0;
	check(udp_addr_parse(&a, "127.0.0.1:0", UDP_ADDR_NUMERIC) == 0);
	for (size_t i = 0; i < nprog && i < MAX_STEPS; i++) {
		unsigned op = prog[i] & 3, arg = prog[i] >> 2;
		size_t len;
		int rc;
		switch (op) {
		case 0: /* push arg bytes */
			len = arg;
			memset(pkt, fill_of(len), len);
			udp_addr_set_port(&a, (int)len);
			rc = netsim_push(ns, now, pkt, len, &a);
			check(rc == 0 || rc == UDP_ENETSIM_FULL);
			bytes_in += len;
			break;
		case 1: /* pop once, sometimes into too small a buffer */
			rc = netsim_pop(ns, now, buf, arg & 1 ? arg >> 1 : sizeof buf, &len, &got);
			check(rc == 0 || rc == 1 || rc == UDP_ENOSPACE);
			if (rc == 1)
				check_popped(buf, len, &got, corrupts);
			if (rc == UDP_ENOSPACE)
				check(len > (size_t)(arg >> 1));
			break;
		case 2: /* the clock jumps by up to 2^63 us; never backwards */
			now = now + (((uint64_t)1 << (arg & 63)) >> 1) > now ?
			      now + (((uint64_t)1 << (arg & 63)) >> 1) : UINT64_MAX;
			break;
		default: { /* go to the next due time and drain, as a poll loop */
			uint64_t due = netsim_next_due(ns);
			if (due == UINT64_MAX)
				break;
			if (due > now) {
				/* just before it, nothing may come out */
				check(netsim_pop(ns, due - 1, buf, sizeof buf, &len, &got) == 0);
				now = due;
			}
			/* at most 2 copies per push were queued */
			for (int k = 0; k <= 2 * MAX_STEPS; k++) {
				rc = netsim_pop(ns, now, buf, sizeof buf, &len, &got);
				check(rc == 0 || rc == 1);
				if (rc == 0)
					break;
				check_popped(buf, len, &got, corrupts);
			}
			/* all that is due came out (an empty queue says UINT64_MAX) */
			due = netsim_next_due(ns);
			check(due > now || due == UINT64_MAX);
			break;
		}
		}
		check_counters(ns, bytes_in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t default_prog[] = {
		0 | 10 << 2, 0 | 20 << 2, 2 | 20 << 2, 1, 3, 0 | 63 << 2, 3, 2 | 40 << 2, 3,
	};
	const uint8_t *nul = memchr(data, 0, size);
	size_t slen = nul ? (size_t)(nul - data) : size;
	char *spec = malloc(slen + 1);
	check(spec);
	memcpy(spec, data, slen);
	spec[slen] = '\0';
	const uint8_t *prog = nul ? nul + 1 : default_prog;
	size_t nprog = nul ? size - slen - 1 : sizeof default_prog;

	struct netsim_config cfg, cfg2;
	char err[128], d1[NETSIM_DESCRIBE_MAX], d2[NETSIM_DESCRIBE_MAX];
	int rc = netsim_parse(&cfg, spec, err, sizeof err);
	if (rc < 0) {
		check(rc <= UDP_ENETSIM_WORD && rc >= UDP_ENETSIM_NEEDS);
		check(err[0] != '\0' && strlen(err) < sizeof err);
		free(spec);
		return 0;
	}
	/* describe, and the description is a spec meaning the same */
	int n = netsim_config_describe(&cfg, d1, sizeof d1);
	check(n >= 0 && (size_t)n == strlen(d1));
	check(netsim_parse(&cfg2, d1, err, sizeof err) == 0);
	check(netsim_config_describe(&cfg2, d2, sizeof d2) == n);
	check(strcmp(d1, d2) == 0);
	check(netsim_config_describe(&cfg, d2, (size_t)n) == UDP_ENOSPACE);

	struct netsim *ns;
	check(netsim_new_config(&ns, &cfg) == 0);
	run(ns, &cfg, prog, nprog);
	netsim_free(ns);
	free(spec);
	return 0;
}
