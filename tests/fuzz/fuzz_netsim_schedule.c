/* fuzz_netsim_schedule.c - netsim_schedule_parse on any text.
 *
 * Invariants: a schedule that parses has 1..NETSIM_SCHEDULE_MAX phases in
 * strictly increasing order, a repeat period after the last one (or none),
 * every phase config in range for netsim_new_config; its description
 * parses back to the same description; phase_at never returns a phase
 * that starts later than the (folded) time asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netsim_schedule.h"
#include "udp_err.h"

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct netsim_schedule s, t;
	static char text[8192], out[70000], again[70000];
	if (size >= sizeof text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char err[256];
	if (netsim_schedule_parse(&s, text, err, sizeof err) < 0) {
		check(err[0] != '\0');
		return 0;
	}
	check(s.n >= 1 && s.n <= NETSIM_SCHEDULE_MAX);
	for (unsigned i = 0; i < s.n; i++) {
		check(i == 0 || s.phase[i].start_us > s.phase[i - 1].start_us);
		struct netsim *ns = NULL;
		check(netsim_new_config(&ns, &s.phase[i].cfg) == 0);
		netsim_free(ns);
	}
	check(!s.repeat_us || s.repeat_us > s.phase[s.n - 1].start_us);
	int len = netsim_schedule_describe(&s, out, sizeof out);
	check(len > 0);
	check(netsim_schedule_parse(&t, out, err, sizeof err) == 0);
	check(netsim_schedule_describe(&t, again, sizeof again) == len);
	check(strcmp(out, again) == 0);
	static const uint64_t times[] = {0, 1, 999999, 1000000, 5000000, 3600000000ull,
					 NETSIM_SCHEDULE_MAX_US, UINT64_MAX};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		int at = netsim_schedule_phase_at(&s, times[i]);
		uint64_t folded = s.repeat_us ? times[i] % s.repeat_us : times[i];
		check(at >= -1 && at < (int)s.n);
		check(at < 0 || s.phase[at].start_us <= folded);
		check(at + 1 >= (int)s.n || s.phase[at + 1].start_us > folded);
	}
	return 0;
}
