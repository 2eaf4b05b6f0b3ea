/* support_seal.c - see support_seal.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "support_seal.h"

struct pkt seal_msg(struct seal *s, const char *msg)
{
	struct pkt p;
	p.n = seal_seal(s, msg, strlen(msg), p.b, sizeof p.b);
	assert_true(p.n == (int)strlen(msg) + SEAL_OVERHEAD);
	return p;
}

int open_pkt(struct seal *r, const struct pkt *p)
{
	uint8_t out[256];
	return seal_open(r, p->b, (size_t)p->n, NULL, 0, out, sizeof out, NULL);
}
