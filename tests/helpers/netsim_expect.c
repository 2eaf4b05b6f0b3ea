/* What a netsim spec does to N datagrams, for the end-to-end tests to
 * compare a tool's output with: runs the library's model over N datagrams
 * of LEN bytes pushed at one instant, then prints its counters as
 *   passed=P lost=L duplicated=D corrupted=C
 * A relay that pushes the same N datagrams in the same order makes the same
 * choices (they depend on the seed, the order and the lengths, not on the
 * times, as long as the spec has no delay, rate or limit overflow).
 * usage: netsim_expect SPEC N [LEN] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "netsim.h"

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: netsim_expect SPEC N [LEN]\n");
		return 2;
	}
	struct netsim *ns;
	char err[256];
	if (netsim_new(&ns, argv[1], err, sizeof err) < 0) {
		fprintf(stderr, "netsim_expect: %s\n", err);
		return 2;
	}
	unsigned long n = strtoul(argv[2], NULL, 10);
	size_t len = argc == 4 ? strtoul(argv[3], NULL, 10) : 8;
	static unsigned char pkt[65536], out[65536];
	if (len > sizeof pkt)
		len = sizeof pkt;
	uint64_t now = 0;
	for (unsigned long i = 0; i < n; i++) {
		netsim_push(ns, now, pkt, len, NULL);
		size_t got;
		while (netsim_pop(ns, now, out, sizeof out, &got, NULL) == 1)
			;
	}
	struct netsim_counters c;
	netsim_counters(ns, &c);
	printf("passed=%llu lost=%llu duplicated=%llu corrupted=%llu\n",
	       (unsigned long long)c.passed, (unsigned long long)c.lost,
	       (unsigned long long)c.duplicated, (unsigned long long)c.corrupted);
	netsim_free(ns);
	return 0;
}
