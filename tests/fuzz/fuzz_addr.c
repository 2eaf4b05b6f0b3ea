/* fuzz_addr.c - udp_addr_parse and udp_addr_from_host_port on any text.
 *
 * No name server is ever asked.  This file defines getaddrinfo() (and the
 * older resolver calls) itself, which the linker prefers to libc's for the
 * library objects linked in here:
 * - with UDP_ADDR_NUMERIC, a host name reaching getaddrinfo() is a bug
 *   (the flag promises no lookup): abort;
 * - without it, names are answered in-process from a hash of the name
 *   (refused, temporary failure, IPv4, IPv6 or both), so the code that
 *   filters results runs, still without a single packet sent;
 * - getaddrinfo(NULL, service) reads /etc/services only: passed to libc.
 *
 * Input: byte 0 = flags (bits 0..2 V4 V6 PASSIVE; bit 3 set = no NUMERIC;
 * bit 4 = host/port form; bits 5, 6 = NULL host, NULL port), the rest is
 * the text; in the host/port form a NUL byte separates host from port.
 *
 * Invariants: failure leaves "no address"; the family asked for is the
 * family got; a parsed address formats, the text parses back (NUMERIC) to
 * an equal address, and formats to the same text again. */
#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "udp_addr.h"
#include "udp_err.h"

#define check(c) do { if (!(c)) abort(); } while (0)

static int numeric_call; /* the call under test has UDP_ADDR_NUMERIC */

struct fake {
	struct addrinfo ai[2];
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};
static struct fake *fake_live; /* the one fake answer not yet freed */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int fake_resolve(const char *node, struct addrinfo **res)
{
	uint32_t h = name_hash(node);
	switch (h % 6) {
	case 0: return EAI_NONAME;
	case 1: return EAI_AGAIN;
	default: break;
	}
	struct fake *f = calloc(1, sizeof *f);
	if (!f)
		return EAI_MEMORY;
	f->in4.sin_family = AF_INET;
	f->in4.sin_addr.s_addr = htonl(0xc0000200u | (h >> 24)); /* 192.0.2.x */
	f->in6.sin6_family = AF_INET6;
	f->in6.sin6_addr.s6_addr[0] = 0x20; /* 2001:db8::x */
	f->in6.sin6_addr.s6_addr[1] = 0x01;
	f->in6.sin6_addr.s6_addr[2] = 0x0d;
	f->in6.sin6_addr.s6_addr[3] = 0xb8;
	memcpy(&f->in6.sin6_addr.s6_addr[12], &h, 4);
	f->in6.sin6_scope_id = (h >> 8) & 3; /* sometimes a scope, as link-local */
	struct addrinfo *v4 = &f->ai[0], *v6 = &f->ai[1];
	v4->ai_family = AF_INET;
	v4->ai_addr = (struct sockaddr *)&f->in4;
	v4->ai_addrlen = sizeof f->in4;
	v6->ai_family = AF_INET6;
	v6->ai_addr = (struct sockaddr *)&f->in6;
	v6->ai_addrlen = sizeof f->in6;
	switch (h % 6) {
	case 2: *res = v4; break;
	case 3: *res = v6; break;
	case 4: v4->ai_next = v6; *res = v4; break;
	default: v6->ai_next = v4; *res = v6; break;
	}
	fake_live = f;
	return 0;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	if (node) {
		check(!numeric_call); /* UDP_ADDR_NUMERIC asked the resolver */
		check(!fake_live);    /* the previous answer was not freed */
		return fake_resolve(node, res);
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	check(real);
	return real(node, service, hints, res);
}

void freeaddrinfo(struct addrinfo *ai)
{
	static void (*real)(struct addrinfo *);
	if (fake_live && (ai == &fake_live->ai[0] || ai == &fake_live->ai[1])) {
		free(fake_live);
		fake_live = NULL;
		return;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "freeaddrinfo");
	check(real);
	real(ai);
}

/* The library must never use these; if it starts to, this target stops
 * at once instead of sending a query. */
struct hostent *gethostbyname(const char *name)
{
	(void)name;
	abort();
}

struct hostent *gethostbyname2(const char *name, int af)
{
	(void)name;
	(void)af;
	abort();
}

static void roundtrip(const struct udp_addr *a, int flags)
{
	char text[UDP_ADDR_STRLEN], again[UDP_ADDR_STRLEN];
	struct udp_addr b;
	int fam = udp_addr_family(a);
	check(fam == AF_INET || fam == AF_INET6 || fam == AF_UNIX);
	if ((flags & (UDP_ADDR_V4 | UDP_ADDR_V6)) == UDP_ADDR_V4)
		check(fam != AF_INET6);
	if ((flags & (UDP_ADDR_V4 | UDP_ADDR_V6)) == UDP_ADDR_V6)
		check(fam != AF_INET);
	int n = udp_addr_format(a, text, sizeof text);
	check(n > 0 && (size_t)n == strlen(text));
	numeric_call = 1;
	check(udp_addr_parse(&b, text, UDP_ADDR_NUMERIC) == 0);
	check(udp_addr_equal(a, &b) && udp_addr_equal(&b, a));
	check(udp_addr_format(&b, again, sizeof again) == n);
	check(strcmp(text, again) == 0);
	/* too small a buffer is refused and left empty, never overrun */
	check(udp_addr_format(a, again, (size_t)n) == UDP_ENOSPACE && again[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int flags = mode & (UDP_ADDR_V4 | UDP_ADDR_V6 | UDP_ADDR_PASSIVE);
	if (!(mode & 8))
		flags |= UDP_ADDR_NUMERIC;
	/* a NUL-terminated copy of exactly the input's size */
	char *text = malloc(size);
	check(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	struct udp_addr a;
	int rc;
	numeric_call = (flags & UDP_ADDR_NUMERIC) != 0;
	if (mode & 16) {
		size_t hl = strlen(text);
		const char *host = mode & 32 ? NULL : text;
		const char *port = mode & 64 ? NULL : hl + 1 < size ? text + hl + 1 : "";
		rc = udp_addr_from_host_port(&a, host, port, flags);
	} else {
		rc = udp_addr_parse(&a, text, flags);
	}
	check(!fake_live); /* every answer freed */
	if (rc == 0) {
		check(a.len > 0);
		roundtrip(&a, flags);
	} else {
		check(rc < 0 && a.len == 0 && udp_addr_family(&a) == AF_UNSPEC);
	}
	numeric_call = 0;
	free(text);
	return 0;
}
