/* support_seal.h - one sealed packet and its seal/open round trip, for the
 * sealing tests (test_seal.c, test_seal_gcm.c). */
#ifndef SUPPORT_SEAL_H
#define SUPPORT_SEAL_H

#include "seal.h"

struct pkt {
	uint8_t b[256];
	int n;
};

/* Seals msg with s; asserts the length is the message plus the overhead. */
struct pkt seal_msg(struct seal *s, const char *msg);
/* Opens p with r: the code seal_open returns. */
int open_pkt(struct seal *r, const struct pkt *p);

#endif
