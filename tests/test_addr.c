/* cmocka tests for udp_addr: every text form, every refusal with its exact
 * code, formatting bounds.  No sockets are opened; the only names resolved
 * are "localhost" (answered by /etc/hosts) and a .invalid name, which the
 * library refuses without asking a name server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <cmocka.h>

#include "udp_err.h"
#include "udp_addr.h"

#define UN_OFF offsetof(struct sockaddr_un, sun_path)

/* Parses text and checks the canonical form it formats to. */
static void expect_format(const char *text, int flags, const char *want)
{
	struct udp_addr a, b;
	char buf[UDP_ADDR_STRLEN];
	int rc = udp_addr_parse(&a, text, flags);
	if (rc != 0)
		fail_msg("parse \"%s\": %d (%s)", text, rc, udpkit_strerror(rc));
	rc = udp_addr_format(&a, buf, sizeof buf);
	assert_int_equal(rc, (int)strlen(want));
	assert_string_equal(buf, want);
	/* and the canonical form parses back to the same address */
	assert_int_equal(udp_addr_parse(&b, buf, flags), 0);
	assert_true(udp_addr_equal(&a, &b));
	assert_int_equal(a.len, b.len);
}

static void expect_code(const char *text, int flags, int code)
{
	struct udp_addr a;
	memset(&a, 0x5a, sizeof a);
	int rc = udp_addr_parse(&a, text, flags);
	if (rc != code)
		fail_msg("parse \"%s\" flags %d: got %d (%s), want %d (%s)", text, flags,
			 rc, udpkit_strerror(rc), code, udpkit_strerror(code));
	/* a failed parse leaves "no address", never half a result */
	assert_int_equal(a.len, 0);
	assert_int_equal(udp_addr_family(&a), AF_UNSPEC);
}

static void canonical_forms_roundtrip(void **state)
{
	(void)state;
	static const char *same[] = {
		"127.0.0.1:9", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:9",
		"[::]:0", "[2001:db8::1]:443", "[fe80::1%lo]:9", "[ff02::1%lo]:5353",
		"[::ffff:1.2.3.4]:9", "unix:/tmp/udpkit.sock", "unix:rel/sock",
		"unix:@name", "unix:@with space", "unix:@a\\x00b\\x01",
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
		expect_format(same[i], 0, same[i]);
}

static void other_spellings_become_canonical(void **state)
{
	(void)state;
	expect_format("[FE80:0:0::0001%lo]:0080", 0, "[fe80::1%lo]:80");
	expect_format("[::FFFF:1.2.3.4]:1", 0, "[::ffff:1.2.3.4]:1");
	expect_format("1.2.3.4:domain", 0, "1.2.3.4:53");
	expect_format("[::1]:domain", 0, "[::1]:53");
	expect_format("1.2.3.4:00000", 0, "1.2.3.4:0");
	expect_format("unix:@\\x41\\x5c", 0, "unix:@A\\x5c");
	/* not an escape: taken byte for byte, and a backslash is shown escaped */
	expect_format("unix:@a\\xZ", 0, "unix:@a\\x5cxZ");
	/* filesystem paths are never escaped */
	expect_format("unix:/a\\x41", 0, "unix:/a\\x41");
}

struct bad {
	const char *text;
	int flags;
	int code;
};

static const struct bad bad_forms[] = {
	{ "", 0, UDP_EADDR_EMPTY },
	{ ":", 0, UDP_EADDR_NOPORT },
	{ ":", UDP_ADDR_PASSIVE, UDP_EADDR_NOPORT },
	{ "host", 0, UDP_EADDR_NOPORT },
	{ "host:", 0, UDP_EADDR_NOPORT },
	{ "1.2.3.4:", 0, UDP_EADDR_NOPORT },
	{ "1.2.3.4", 0, UDP_EADDR_NOPORT },
	{ ":80", 0, UDP_EADDR_HOST },
	{ "1.2.3.4:abc", 0, UDP_EADDR_PORT },
	{ "1.2.3.4:+80", 0, UDP_EADDR_PORT },
	{ "1.2.3.4: 80", 0, UDP_EADDR_PORT },
	{ "1.2.3.4:80x", 0, UDP_EADDR_PORT },
	{ "1.2.3.4:-", 0, UDP_EADDR_PORT },
	{ "1.2.3.4:65536", 0, UDP_EADDR_PORTRANGE },
	{ "1.2.3.4:-1", 0, UDP_EADDR_PORTRANGE },
	{ "1.2.3.4:-0", 0, UDP_EADDR_PORTRANGE },
	{ "1.2.3.4:99999999999999999999999", 0, UDP_EADDR_PORTRANGE },
	{ "[::1", 0, UDP_EADDR_BRACKET },
	{ "[::1]", 0, UDP_EADDR_NOPORT },
	{ "[::1]x", 0, UDP_EADDR_BRACKET },
	{ "[::1]x:80", 0, UDP_EADDR_BRACKET },
	{ "[::1]:", 0, UDP_EADDR_NOPORT },
	{ "[::1]:http-nope", 0, UDP_EADDR_PORT },
	{ "[[::1]]:80", 0, UDP_EADDR_BRACKET },
	{ "::1]:80", 0, UDP_EADDR_BRACKET },
	{ "a[b:80", 0, UDP_EADDR_BRACKET },
	{ "[zz::1]:80", 0, UDP_EADDR_V6 },
	{ "[1.2.3.4]:80", 0, UDP_EADDR_V6 },
	{ "[localhost]:80", 0, UDP_EADDR_V6 },
	{ "[]:80", 0, UDP_EADDR_V6 },
	{ "[]:80", UDP_ADDR_PASSIVE, UDP_EADDR_V6 },
	{ "[fe80::1%nosuchif]:80", 0, UDP_EADDR_SCOPE },
	{ "[fe80::1%]:80", 0, UDP_EADDR_SCOPE },
	{ "[fe80::1%4294967296]:80", 0, UDP_EADDR_SCOPE },
	{ "[fe80::1%lo0123456789abcdef]:80", 0, UDP_EADDR_SCOPE },
	{ "::1:80", 0, UDP_EADDR_HOST },
	{ "::1", 0, UDP_EADDR_HOST },
	{ "fe80::1%lo:80", 0, UDP_EADDR_HOST },
	{ "1.2.3:80", 0, UDP_EADDR_HOST },
	{ "127.1:80", 0, UDP_EADDR_HOST },
	{ "1.2.3.256:80", 0, UDP_EADDR_HOST },
	{ "1.2.3.4.5:80", 0, UDP_EADDR_HOST },
	{ "1.2.3.4%lo:80", 0, UDP_EADDR_HOST },
	{ "bad host:80", 0, UDP_EADDR_HOST },
	{ "ho$t:80", 0, UDP_EADDR_HOST },
	{ "localhost:80", UDP_ADDR_NUMERIC, UDP_EADDR_HOST },
	{ "unix:", 0, UDP_EADDR_UNIXEMPTY },
	{ "unix:@", 0, UDP_EADDR_UNIXEMPTY },
	{ "1.2.3.4:80", UDP_ADDR_V6, UDP_EADDR_NOFAMILY },
	{ "[::1]:80", UDP_ADDR_V4, UDP_EADDR_NOFAMILY },
	{ "[::ffff:1.2.3.4]:80", UDP_ADDR_V4, UDP_EADDR_NOFAMILY },
	{ "x.invalid:80", 0, UDP_EADDR_NOHOST },
};

static void every_bad_form_has_its_code(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_forms / sizeof bad_forms[0]; i++)
		expect_code(bad_forms[i].text, bad_forms[i].flags, bad_forms[i].code);
}

static void bad_codes_have_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_forms / sizeof bad_forms[0]; i++)
		assert_string_not_equal(udpkit_strerror(bad_forms[i].code), "unknown error");
}

static void null_arguments(void **state)
{
	(void)state;
	struct udp_addr a;
	char buf[8];
	assert_int_equal(udp_addr_parse(NULL, "1.2.3.4:5", 0), UDP_EINVAL);
	assert_int_equal(udp_addr_parse(&a, NULL, 0), UDP_EINVAL);
	assert_int_equal(udp_addr_from_host_port(NULL, "h", "1", 0), UDP_EINVAL);
	assert_int_equal(udp_addr_format(NULL, buf, sizeof buf), UDP_EINVAL);
	memset(&a, 0, sizeof a);
	assert_int_equal(udp_addr_format(&a, buf, sizeof buf), UDP_EFAMILY);
	assert_int_equal(udp_addr_family(NULL), AF_UNSPEC);
	assert_int_equal(udp_addr_port(NULL), -1);
}

static void unix_lengths_are_exact(void **state)
{
	(void)state;
	struct udp_addr a;
	assert_int_equal(udp_addr_parse(&a, "unix:@abc", 0), 0);
	assert_int_equal(a.u.un.sun_family, AF_UNIX);
	assert_int_equal(a.len, UN_OFF + 1 + 3);
	assert_int_equal(a.u.un.sun_path[0], 0);
	assert_memory_equal(a.u.un.sun_path + 1, "abc", 3);
	assert_true(udp_addr_is_unix(&a));
	assert_int_equal(udp_addr_port(&a), -1);

	assert_int_equal(udp_addr_parse(&a, "unix:/tmp/s", 0), 0);
	assert_int_equal(a.len, UN_OFF + strlen("/tmp/s") + 1);
	assert_string_equal(a.u.un.sun_path, "/tmp/s");

	/* escapes count as one byte each */
	assert_int_equal(udp_addr_parse(&a, "unix:@\\x00\\xff", 0), 0);
	assert_int_equal(a.len, UN_OFF + 1 + 2);
	assert_int_equal((unsigned char)a.u.un.sun_path[1], 0);
	assert_int_equal((unsigned char)a.u.un.sun_path[2], 0xff);
}

static void unix_length_limits(void **state)
{
	(void)state;
	const size_t room = sizeof(((struct sockaddr_un *)0)->sun_path);
	char text[300];
	struct udp_addr a;

	/* a path needs its NUL; an abstract name needs its leading NUL */
	strcpy(text, "unix:/");
	memset(text + 6, 'p', room - 2);
	text[6 + room - 2] = '\0';
	assert_int_equal(udp_addr_parse(&a, text, 0), 0);
	assert_int_equal(a.len, UN_OFF + room);
	strcat(text, "p");
	expect_code(text, 0, UDP_EADDR_UNIXLEN);

	strcpy(text, "unix:/");
	memset(text + 6, 'q', 199);
	text[6 + 199] = '\0';
	expect_code(text, 0, UDP_EADDR_UNIXLEN);

	strcpy(text, "unix:@");
	memset(text + 6, 'n', room - 1);
	text[6 + room - 1] = '\0';
	assert_int_equal(udp_addr_parse(&a, text, 0), 0);
	assert_int_equal(a.len, UN_OFF + room);
	strcat(text, "n");
	expect_code(text, 0, UDP_EADDR_UNIXLEN);
}

static void unix_via_host_port(void **state)
{
	(void)state;
	struct udp_addr a, b;
	assert_int_equal(udp_addr_from_host_port(&a, "unix:@x", NULL, 0), 0);
	assert_int_equal(udp_addr_parse(&b, "unix:@x", 0), 0);
	assert_true(udp_addr_equal(&a, &b));
	assert_int_equal(udp_addr_from_host_port(&a, "unix:/x", "9", 0), UDP_EINVAL);
	assert_int_equal(a.len, 0);
	assert_int_equal(udp_addr_from_host_port(&a, "unix:", NULL, 0), UDP_EADDR_UNIXEMPTY);
}

/* Builds an abstract address from raw bytes, as the kernel would return. */
static void abstract_addr(struct udp_addr *a, const void *name, size_t n)
{
	struct sockaddr_un un;
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path + 1, name, n);
	assert_int_equal(udp_addr_from_sockaddr(a, (struct sockaddr *)&un,
						(socklen_t)(UN_OFF + 1 + n)), 0);
}

static void abstract_names_are_escaped(void **state)
{
	(void)state;
	struct udp_addr a, b;
	char buf[UDP_ADDR_STRLEN];
	abstract_addr(&a, "a\0b\x01\x7f\\\xff", 7);
	assert_int_equal(udp_addr_format(&a, buf, sizeof buf), 28);
	assert_string_equal(buf, "unix:@a\\x00b\\x01\\x7f\\x5c\\xff");
	assert_int_equal(udp_addr_parse(&b, buf, 0), 0);
	assert_true(udp_addr_equal(&a, &b));
	assert_int_equal(a.len, b.len);

	/* the longest name, every byte escaped, still fits UDP_ADDR_STRLEN */
	uint8_t name[sizeof a.u.un.sun_path - 1];
	memset(name, 0xfe, sizeof name);
	abstract_addr(&a, name, sizeof name);
	int n = udp_addr_format(&a, buf, sizeof buf);
	assert_int_equal(n, 6 + 4 * (int)sizeof name);
	assert_true(n < UDP_ADDR_STRLEN);
	assert_int_equal(udp_addr_parse(&b, buf, 0), 0);
	assert_true(udp_addr_equal(&a, &b));
}

static void format_never_writes_past_cap(void **state)
{
	(void)state;
	static const char *texts[] = {
		"127.0.0.1:9", "[fe80::1%lo]:65535", "unix:/tmp/x", "unix:@a\\x01b",
	};
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		struct udp_addr a;
		assert_int_equal(udp_addr_parse(&a, texts[t], 0), 0);
		char full[UDP_ADDR_STRLEN];
		int len = udp_addr_format(&a, full, sizeof full);
		assert_true(len > 0);
		for (size_t cap = 0; cap <= (size_t)len + 1; cap++) {
			char buf[64];
			memset(buf, '#', sizeof buf);
			int rc = udp_addr_format(&a, buf, cap);
			if (cap <= (size_t)len) {
				assert_int_equal(rc, UDP_ENOSPACE);
				if (cap)
					assert_int_equal(buf[0], '\0');
			} else {
				assert_int_equal(rc, len);
				assert_string_equal(buf, full);
			}
			for (size_t i = cap; i < sizeof buf; i++)
				assert_int_equal(buf[i], '#');
		}
	}
	struct udp_addr a;
	assert_int_equal(udp_addr_parse(&a, "1.2.3.4:5", 0), 0);
	assert_int_equal(udp_addr_format(&a, NULL, 0), UDP_ENOSPACE);
}

static void scope_by_name_and_number(void **state)
{
	(void)state;
	unsigned lo = if_nametoindex("lo");
	if (lo == 0)
		skip();
	struct udp_addr a, b;
	assert_int_equal(udp_addr_parse(&a, "[fe80::1%lo]:1", 0), 0);
	assert_int_equal(a.u.in6.sin6_scope_id, lo);
	char text[64], buf[UDP_ADDR_STRLEN];
	snprintf(text, sizeof text, "[fe80::1%%%u]:1", lo);
	assert_int_equal(udp_addr_parse(&b, text, 0), 0);
	assert_true(udp_addr_equal(&a, &b));
	assert_int_equal(udp_addr_format(&b, buf, sizeof buf), 14);
	assert_string_equal(buf, "[fe80::1%lo]:1");
	assert_int_equal(udp_addr_from_host_port(&b, "fe80::1%lo", "1", 0), 0);
	assert_true(udp_addr_equal(&a, &b));
	/* a different scope is a different address */
	assert_int_equal(udp_addr_parse(&b, "[fe80::1]:1", 0), 0);
	assert_false(udp_addr_equal(&a, &b));
}

static void unknown_scope_index_formats_as_number(void **state)
{
	(void)state;
	char name[IF_NAMESIZE];
	if (if_indextoname(987654, name))
		skip();
	expect_format("[fe80::1%987654]:7", 0, "[fe80::1%987654]:7");
}

static void passive_wildcard(void **state)
{
	(void)state;
	expect_format(":80", UDP_ADDR_PASSIVE, "[::]:80");
	expect_format(":80", UDP_ADDR_PASSIVE | UDP_ADDR_V6, "[::]:80");
	expect_format(":0", UDP_ADDR_PASSIVE | UDP_ADDR_V4, "0.0.0.0:0");
	expect_format(":0", UDP_ADDR_PASSIVE | UDP_ADDR_V4 | UDP_ADDR_V6, "[::]:0");

	struct udp_addr a;
	char buf[UDP_ADDR_STRLEN];
	assert_int_equal(udp_addr_from_host_port(&a, NULL, "7", UDP_ADDR_PASSIVE), 0);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "[::]:7");
	assert_int_equal(udp_addr_from_host_port(&a, "", "7",
						 UDP_ADDR_PASSIVE | UDP_ADDR_V4), 0);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "0.0.0.0:7");
	/* not passive: an empty host is an error, not the wildcard */
	assert_int_equal(udp_addr_from_host_port(&a, NULL, "7", 0), UDP_EADDR_HOST);
	assert_int_equal(udp_addr_from_host_port(&a, "", "7", 0), UDP_EADDR_HOST);
	/* passive does not change a host that is given */
	assert_int_equal(udp_addr_parse(&a, "127.0.0.1:7", UDP_ADDR_PASSIVE), 0);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "127.0.0.1:7");
}

static void host_and_port_apart(void **state)
{
	(void)state;
	static const struct {
		const char *host, *port;
		int flags;
		const char *want; /* NULL: want code */
		int code;
	} cases[] = {
		{ "127.0.0.1", "9", 0, "127.0.0.1:9", 0 },
		{ "::1", "9", 0, "[::1]:9", 0 },
		{ "[::1]", "9", 0, "[::1]:9", 0 },
		{ "[fe80::1%lo]", "9", 0, "[fe80::1%lo]:9", 0 },
		{ "::ffff:10.0.0.1", "domain", 0, "[::ffff:10.0.0.1]:53", 0 },
		{ "localhost", "9", UDP_ADDR_V4, "127.0.0.1:9", 0 },
		{ "127.0.0.1", NULL, 0, NULL, UDP_EADDR_NOPORT },
		{ "127.0.0.1", "", 0, NULL, UDP_EADDR_NOPORT },
		{ "127.0.0.1", "65536", 0, NULL, UDP_EADDR_PORTRANGE },
		{ "127.0.0.1", "nosuchservice", 0, NULL, UDP_EADDR_PORT },
		{ "127.0.0.1:9", "9", 0, NULL, UDP_EADDR_HOST },
		{ "zz::1", "9", 0, NULL, UDP_EADDR_V6 },
		{ "[zz::1]", "9", 0, NULL, UDP_EADDR_V6 },
		{ "[::1", "9", 0, NULL, UDP_EADDR_BRACKET },
		{ "[::1]:9", "9", 0, NULL, UDP_EADDR_BRACKET },
		{ "::1]", "9", 0, NULL, UDP_EADDR_BRACKET },
		{ "fe80::1%nosuchif", "9", 0, NULL, UDP_EADDR_SCOPE },
		{ "::1", "9", UDP_ADDR_V4, NULL, UDP_EADDR_NOFAMILY },
		{ "10.0.0.1", "9", UDP_ADDR_V6, NULL, UDP_EADDR_NOFAMILY },
		{ "localhost", "9", UDP_ADDR_NUMERIC, NULL, UDP_EADDR_HOST },
		{ "no.such.host.invalid", "9", 0, NULL, UDP_EADDR_NOHOST },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct udp_addr a;
		char buf[UDP_ADDR_STRLEN];
		int rc = udp_addr_from_host_port(&a, cases[i].host, cases[i].port,
						 cases[i].flags);
		if (!cases[i].want) {
			if (rc != cases[i].code)
				fail_msg("\"%s\" \"%s\": got %d want %d", cases[i].host,
					 cases[i].port ? cases[i].port : "(null)", rc,
					 cases[i].code);
			assert_int_equal(a.len, 0);
			continue;
		}
		assert_int_equal(rc, 0);
		udp_addr_format(&a, buf, sizeof buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void localhost_v4(void **state)
{
	(void)state;
	expect_format("localhost:80", UDP_ADDR_V4, "127.0.0.1:80");
	expect_format("LocalHost:domain", UDP_ADDR_V4, "127.0.0.1:53");
}

/* Only runs where /etc/hosts (or nss) maps localhost to ::1. */
static void localhost_v6(void **state)
{
	(void)state;
	struct udp_addr a;
	int rc = udp_addr_parse(&a, "localhost:80", UDP_ADDR_V6);
	if (rc == UDP_EADDR_NOFAMILY)
		skip();
	assert_int_equal(rc, 0);
	char buf[UDP_ADDR_STRLEN];
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "[::1]:80");
}

static void invalid_tld_never_resolves(void **state)
{
	(void)state;
	static const char *names[] = {
		"no.such.host.invalid:80", "x.INVALID:80", "invalid:80", "a.invalid.:80",
		"invalid.:80",
	};
	/* RFC 6761: the library answers these itself, so the code is exact
	 * and no name server is asked (checked under strace once). */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		expect_code(names[i], 0, UDP_EADDR_NOHOST);
	expect_code("no.such.host.invalid:80", UDP_ADDR_V6, UDP_EADDR_NOHOST);
}

static void numeric_flag_takes_literals(void **state)
{
	(void)state;
	expect_format("127.0.0.1:80", UDP_ADDR_NUMERIC, "127.0.0.1:80");
	expect_format("[::1]:80", UDP_ADDR_NUMERIC, "[::1]:80");
	/* service names come from /etc/services, not DNS: still allowed */
	expect_format("[::1]:domain", UDP_ADDR_NUMERIC, "[::1]:53");
}

static void both_family_flags_mean_either(void **state)
{
	(void)state;
	int both = UDP_ADDR_V4 | UDP_ADDR_V6;
	expect_format("1.2.3.4:1", both, "1.2.3.4:1");
	expect_format("[::2]:1", both, "[::2]:1");
}

static void equality(void **state)
{
	(void)state;
	struct udp_addr a, b, none1, none2;
	udp_addr_parse(&a, "10.0.0.1:5", 0);
	udp_addr_parse(&b, "10.0.0.1:5", 0);
	assert_true(udp_addr_equal(&a, &b));
	udp_addr_parse(&b, "10.0.0.1:6", 0);
	assert_false(udp_addr_equal(&a, &b));
	udp_addr_parse(&b, "10.0.0.2:5", 0);
	assert_false(udp_addr_equal(&a, &b));
	/* a v4-mapped address is a different family on the wire */
	udp_addr_parse(&b, "[::ffff:10.0.0.1]:5", 0);
	assert_false(udp_addr_equal(&a, &b));
	udp_addr_parse(&a, "[2001:db8::1]:5", 0);
	udp_addr_parse(&b, "[2001:db8::1]:5", 0);
	b.u.in6.sin6_flowinfo = htonl(7); /* not part of the identity */
	assert_true(udp_addr_equal(&a, &b));
	udp_addr_parse(&b, "[2001:db8::2]:5", 0);
	assert_false(udp_addr_equal(&a, &b));

	udp_addr_parse(&a, "unix:@x", 0);
	udp_addr_parse(&b, "unix:/x", 0);
	assert_false(udp_addr_equal(&a, &b));
	udp_addr_parse(&b, "unix:@x\\x00", 0);
	assert_false(udp_addr_equal(&a, &b)); /* abstract names are exact */
	udp_addr_parse(&b, "unix:@y", 0);
	assert_false(udp_addr_equal(&a, &b));

	/* the kernel may leave the path's NUL out of the length */
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/x" };
	udp_addr_parse(&a, "unix:/x", 0);
	assert_int_equal(udp_addr_from_sockaddr(&b, (struct sockaddr *)&un,
						(socklen_t)(UN_OFF + 2)), 0);
	assert_true(udp_addr_equal(&a, &b));
	assert_int_equal(udp_addr_from_sockaddr(&b, (struct sockaddr *)&un,
						(socklen_t)sizeof un), 0);
	assert_true(udp_addr_equal(&a, &b));

	memset(&none1, 0, sizeof none1);
	memset(&none2, 0xff, sizeof none2);
	none2.len = 0;
	assert_true(udp_addr_equal(&none1, &none2));
	assert_false(udp_addr_equal(&none1, &a));
}

static void multicast(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int mc;
	} cases[] = {
		{ "224.0.0.1:1", 1 }, { "239.255.255.255:1", 1 }, { "223.255.255.255:1", 0 },
		{ "240.0.0.0:1", 0 }, { "127.0.0.1:1", 0 }, { "[ff02::1]:1", 1 },
		{ "[ff0e::1]:1", 1 }, { "[fe80::1]:1", 0 }, { "[::1]:1", 0 },
		{ "[::ffff:224.0.0.251]:1", 1 }, { "[::ffff:1.2.3.4]:1", 0 },
		{ "[::224.0.0.1]:1", 0 }, { "unix:@ff02::1", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct udp_addr a;
		assert_int_equal(udp_addr_parse(&a, cases[i].text, 0), 0);
		if (udp_addr_is_multicast(&a) != cases[i].mc)
			fail_msg("%s: multicast %d", cases[i].text, !cases[i].mc);
	}
}

static void ports(void **state)
{
	(void)state;
	struct udp_addr a;
	char buf[UDP_ADDR_STRLEN];
	udp_addr_parse(&a, "1.2.3.4:5", 0);
	assert_int_equal(udp_addr_port(&a), 5);
	udp_addr_set_port(&a, 65535);
	assert_int_equal(udp_addr_port(&a), 65535);
	assert_int_equal(ntohs(a.u.in4.sin_port), 65535);
	udp_addr_set_port(&a, 65536); /* refused, not wrapped to 0 */
	assert_int_equal(udp_addr_port(&a), 65535);
	udp_addr_set_port(&a, -1);
	assert_int_equal(udp_addr_port(&a), 65535);
	udp_addr_set_port(&a, 0);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "1.2.3.4:0");

	udp_addr_parse(&a, "[fe80::1%lo]:5", 0);
	udp_addr_set_port(&a, 4242);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "[fe80::1%lo]:4242");
	assert_int_equal(udp_addr_port(&a), 4242);

	udp_addr_parse(&a, "unix:/p", 0);
	udp_addr_set_port(&a, 9);
	assert_int_equal(udp_addr_port(&a), -1);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "unix:/p");
}

static void from_sockaddr_checks_length(void **state)
{
	(void)state;
	struct udp_addr a;
	char buf[UDP_ADDR_STRLEN];
	struct sockaddr_storage ss;

	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof ss);
	s4->sin_family = AF_INET;
	s4->sin_port = htons(9);
	s4->sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof *s4), 0);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "127.0.0.1:9");
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof *s4 - 1),
			 UDP_EINVAL);
	assert_int_equal(a.len, 0);
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof *s4 + 1),
			 UDP_EINVAL);

	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof ss);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(9);
	s6->sin6_addr = in6addr_loopback;
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof *s6), 0);
	udp_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "[::1]:9");
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof *s4),
			 UDP_EINVAL);
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof ss),
			 UDP_EINVAL);

	struct sockaddr_un *un = (struct sockaddr_un *)&ss;
	memset(&ss, 0, sizeof ss);
	un->sun_family = AF_UNIX;
	/* an unbound sender: only the family, no name */
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, UN_OFF), 0);
	assert_true(udp_addr_is_unix(&a));
	assert_int_equal(udp_addr_format(&a, buf, sizeof buf), 5);
	assert_string_equal(buf, "unix:");
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, UN_OFF - 1),
			 UDP_EINVAL);
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss,
						sizeof *un + 1), UDP_EINVAL);
	/* a path filling sun_path with no NUL stays inside it */
	memset(un->sun_path, 'z', sizeof un->sun_path);
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof *un), 0);
	assert_int_equal(udp_addr_format(&a, buf, sizeof buf), 5 + (int)sizeof un->sun_path);

	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_APPLETALK;
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof ss),
			 UDP_EFAMILY);
	assert_int_equal(udp_addr_from_sockaddr(&a, NULL, 16), UDP_EINVAL);
	assert_int_equal(udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, 1), UDP_EINVAL);
	assert_int_equal(udp_addr_from_sockaddr(NULL, (struct sockaddr *)&ss, 16), UDP_EINVAL);
}

static void port_edges(void **state)
{
	(void)state;
	expect_format("1.2.3.4:0", 0, "1.2.3.4:0");
	expect_format("1.2.3.4:000065535", 0, "1.2.3.4:65535");
	expect_code("1.2.3.4:0000065536", 0, UDP_EADDR_PORTRANGE);
	expect_code("1.2.3.4:0x50", 0, UDP_EADDR_PORT);
	expect_code("1.2.3.4:nosuchservice", 0, UDP_EADDR_PORT);
	expect_code("1.2.3.4:dom ain", 0, UDP_EADDR_PORT);
	/* a service name, even one that is also a host-ish word */
	expect_format("[::1]:domain", UDP_ADDR_V6, "[::1]:53");
}

static void host_name_length_limit(void **state)
{
	(void)state;
	/* 253 characters is the longest name; this one ends in .invalid so
	 * its shape is accepted without a resolver being asked */
	char text[300];
	memset(text, 'a', 245);
	strcpy(text + 245, ".invalid:1");
	assert_int_equal(strlen(text), 253 + 2);
	expect_code(text, 0, UDP_EADDR_NOHOST);
	memmove(text + 1, text, strlen(text) + 1);
	expect_code(text, 0, UDP_EADDR_HOST);
	expect_code("under_score-ok.invalid:1", 0, UDP_EADDR_NOHOST);
}

static void unix_kinds_are_distinct(void **state)
{
	(void)state;
	struct udp_addr unnamed1, unnamed2, path, abs;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	assert_int_equal(udp_addr_from_sockaddr(&unnamed1, (struct sockaddr *)&un, UN_OFF), 0);
	assert_int_equal(udp_addr_from_sockaddr(&unnamed2, (struct sockaddr *)&un, UN_OFF), 0);
	assert_true(udp_addr_equal(&unnamed1, &unnamed2));
	/* an empty abstract name (what autobind asks for) is not "unnamed" */
	assert_int_equal(udp_addr_from_sockaddr(&abs, (struct sockaddr *)&un, UN_OFF + 1), 0);
	assert_false(udp_addr_equal(&unnamed1, &abs));
	char buf[UDP_ADDR_STRLEN];
	assert_int_equal(udp_addr_format(&abs, buf, sizeof buf), 6);
	assert_string_equal(buf, "unix:@");
	/* same bytes, one a path and one abstract */
	udp_addr_parse(&path, "unix:/s", 0);
	udp_addr_parse(&abs, "unix:@/s", 0);
	assert_false(udp_addr_equal(&path, &abs));
	assert_int_equal(udp_addr_family(&path), AF_UNIX);
	assert_false(udp_addr_is_multicast(&path));
	/* a hand-set len past sun_path does not stretch the name */
	uint8_t name[sizeof abs.u.un.sun_path - 1];
	memset(name, 'n', sizeof name);
	abstract_addr(&abs, name, sizeof name);
	abs.len = sizeof abs.u;
	assert_int_equal(udp_addr_format(&abs, buf, sizeof buf), 6 + (int)sizeof name);
	/* flags mean nothing to unix addresses */
	assert_int_equal(udp_addr_parse(&abs, "unix:/s", UDP_ADDR_V4 | UDP_ADDR_NUMERIC), 0);
	assert_true(udp_addr_equal(&path, &abs));
}

static void failure_clears_previous_value(void **state)
{
	(void)state;
	struct udp_addr a;
	assert_int_equal(udp_addr_parse(&a, "1.2.3.4:5", 0), 0);
	assert_int_equal(udp_addr_parse(&a, "[zz::1]:5", 0), UDP_EADDR_V6);
	assert_int_equal(a.len, 0);
	assert_int_equal(udp_addr_port(&a), -1);
	assert_false(udp_addr_is_multicast(&a));
	assert_false(udp_addr_is_unix(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canonical_forms_roundtrip),
		cmocka_unit_test(other_spellings_become_canonical),
		cmocka_unit_test(every_bad_form_has_its_code),
		cmocka_unit_test(bad_codes_have_words),
		cmocka_unit_test(null_arguments),
		cmocka_unit_test(unix_lengths_are_exact),
		cmocka_unit_test(unix_length_limits),
		cmocka_unit_test(unix_via_host_port),
		cmocka_unit_test(abstract_names_are_escaped),
		cmocka_unit_test(format_never_writes_past_cap),
		cmocka_unit_test(scope_by_name_and_number),
		cmocka_unit_test(unknown_scope_index_formats_as_number),
		cmocka_unit_test(passive_wildcard),
		cmocka_unit_test(host_and_port_apart),
		cmocka_unit_test(localhost_v4),
		cmocka_unit_test(localhost_v6),
		cmocka_unit_test(invalid_tld_never_resolves),
		cmocka_unit_test(numeric_flag_takes_literals),
		cmocka_unit_test(both_family_flags_mean_either),
		cmocka_unit_test(equality),
		cmocka_unit_test(multicast),
		cmocka_unit_test(ports),
		cmocka_unit_test(from_sockaddr_checks_length),
		cmocka_unit_test(failure_clears_previous_value),
		cmocka_unit_test(port_edges),
		cmocka_unit_test(host_name_length_limit),
		cmocka_unit_test(unix_kinds_are_distinct),
	};
	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
