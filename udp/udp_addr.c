/* udp_addr.c - parsing, resolving and formatting datagram endpoint addresses.
 *
 * Parsing is done in a fixed order so that one bad input always gives the
 * same code: the overall shape (unix prefix, brackets, last colon) first,
 * then the port (cheap, local), then the host (which may need the resolver).
 * The resolver is only reached for text that looks like a host name, so a
 * typo in a literal never turns into a slow DNS lookup. */
#include <ctype.h>
#include <net/if.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "udp_addr.h"
#include "udp_err.h"

#define UN_OFF offsetof(struct sockaddr_un, sun_path)
#define UN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define HOST_MAX 253 /* longest DNS name in text form */

static int want_family(int flags)
{
	/* Both or neither flag: either family will do. */
	switch (flags & (UDP_ADDR_V4 | UDP_ADDR_V6)) {
	case UDP_ADDR_V4: return AF_INET;
	case UDP_ADDR_V6: return AF_INET6;
	default: return AF_UNSPEC;
	}
}

static int port_parse(const char *s, uint16_t *port)
{
	if (!s || !*s)
		return UDP_EADDR_NOPORT;
	/* "-1" is meant as a number, so it is a range error, not an unknown
	 * service. */
	const char *d = s[0] == '-' ? s + 1 : s;
	if (*d && strspn(d, "0123456789") == strlen(d)) {
		unsigned long v = 0;
		for (; *d; d++) {
			v = v * 10 + (unsigned long)(*d - '0');
			if (v > 65535)
				return UDP_EADDR_PORTRANGE;
		}
		if (s[0] == '-')
			return UDP_EADDR_PORTRANGE;
		*port = (uint16_t)v;
		return 0;
	}
	/* Only names shaped like service names are looked up: the resolver
	 * would also take "+80" or " 80" as numbers. */
	if (!isalpha((unsigned char)s[0]) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789-_.") != strlen(s))
		return UDP_EADDR_PORT;
	/* getservbyname() uses a static buffer; getaddrinfo with no node only
	 * reads the services database and is thread-safe. */
	struct addrinfo hints = {
		.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM,
		.ai_protocol = IPPROTO_UDP, .ai_flags = AI_PASSIVE,
	}, *res = NULL;
	if (getaddrinfo(NULL, s, &hints, &res) != 0 || !res)
		return UDP_EADDR_PORT;
	*port = ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port);
	freeaddrinfo(res);
	return 0;
}

static void set_v4(struct udp_addr *out, const struct in_addr *a, uint16_t port)
{
	out->u.in4.sin_family = AF_INET;
	out->u.in4.sin_addr = *a;
	out->u.in4.sin_port = htons(port);
	out->len = sizeof out->u.in4;
}

static void set_v6(struct udp_addr *out, const struct in6_addr *a, uint32_t scope,
		   uint16_t port)
{
	out->u.in6.sin6_family = AF_INET6;
	out->u.in6.sin6_addr = *a;
	out->u.in6.sin6_scope_id = scope;
	out->u.in6.sin6_port = htons(port);
	out->len = sizeof out->u.in6;
}

/* An IPv6 literal with an optional %scope (interface name or index).
 * bad is the code for text that is not IPv6 at all: the caller knows
 * whether the user meant a literal (brackets) or not. */
static int v6_literal(struct udp_addr *out, const char *host, int flags,
		      uint16_t port, int bad)
{
	const char *scope = strchr(host, '%');
	size_t n = scope ? (size_t)(scope++ - host) : strlen(host);
	char buf[INET6_ADDRSTRLEN];
	if (n >= sizeof buf)
		return bad;
	memcpy(buf, host, n);
	buf[n] = '\0';
	struct in6_addr a;
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return bad;
	uint32_t idx = 0;
	if (scope) {
		size_t sn = strlen(scope);
		if (sn > 0 && sn <= 10 && strspn(scope, "0123456789") == sn) {
			unsigned long long v = strtoull(scope, NULL, 10);
			if (v > UINT32_MAX)
				return UDP_EADDR_SCOPE;
			idx = (uint32_t)v;
		} else if (sn == 0 || (idx = if_nametoindex(scope)) == 0) {
			return UDP_EADDR_SCOPE;
		}
	}
	if (want_family(flags) == AF_INET)
		return UDP_EADDR_NOFAMILY;
	set_v6(out, &a, idx, port);
	return 0;
}

static int resolve_name(struct udp_addr *out, const char *host, int flags,
			uint16_t port)
{
	size_t n = strlen(host);
	if (n > HOST_MAX || strspn(host, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != n)
		return UDP_EADDR_HOST;
	if (flags & UDP_ADDR_NUMERIC)
		return UDP_EADDR_HOST; /* a name where only literals are allowed */
	/* RFC 6761 reserves .invalid to never resolve: answer without asking
	 * a name server. */
	size_t m = n > 0 && host[n - 1] == '.' ? n - 1 : n; /* "x.invalid." */
	if (m >= 7 && strncasecmp(host + m - 7, "invalid", 7) == 0 &&
	    (m == 7 || host[m - 8] == '.'))
		return UDP_EADDR_NOHOST;

	/* Ask for every family and filter here: a name that exists but has
	 * no address of the wanted family is then told apart from a name
	 * that does not exist, which the resolver's codes do not do
	 * reliably. */
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM },
		*res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	switch (rc) {
	case 0: break;
	case EAI_NONAME: case EAI_NODATA: case EAI_ADDRFAMILY:
		return UDP_EADDR_NOHOST;
	case EAI_MEMORY:
		return UDP_ENOMEM;
	default:
		return UDP_EADDR_RESOLVE;
	}
	int fam = want_family(flags);
	rc = UDP_EADDR_NOFAMILY;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (fam != AF_UNSPEC && ai->ai_family != fam)
			continue;
		if (ai->ai_family == AF_INET && ai->ai_addrlen == sizeof out->u.in4) {
			set_v4(out, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, port);
			rc = 0;
			break;
		}
		if (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof out->u.in6) {
			const struct sockaddr_in6 *s6 = (void *)ai->ai_addr;
			set_v6(out, &s6->sin6_addr, s6->sin6_scope_id, port);
			rc = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return rc;
}

/* host without brackets; v6_meant says a bare colon means an IPv6 literal
 * (separate host argument) rather than a missing pair of brackets. */
static int host_parse(struct udp_addr *out, const char *host, int flags,
		      uint16_t port, int v6_meant)
{
	if (!host || !*host) {
		if (!(flags & UDP_ADDR_PASSIVE))
			return UDP_EADDR_HOST;
		if (want_family(flags) == AF_INET) {
			struct in_addr any = { .s_addr = htonl(INADDR_ANY) };
			set_v4(out, &any, port);
		} else {
			set_v6(out, &in6addr_any, 0, port);
		}
		return 0;
	}
	if (strchr(host, '[') || strchr(host, ']'))
		return UDP_EADDR_BRACKET;
	const char *c1 = strchr(host, ':');
	if (c1) {
		/* Every IPv6 literal has two colons; one colon is a port that
		 * ended up in the host argument. */
		if (v6_meant && strchr(c1 + 1, ':'))
			return v6_literal(out, host, flags, port, UDP_EADDR_V6);
		return UDP_EADDR_HOST;
	}
	if (strchr(host, '%'))
		return v6_literal(out, host, flags, port, UDP_EADDR_HOST);
	/* Digits and dots only: meant as IPv4.  Refusing the odd forms
	 * inet_aton takes ("1.2.3", "127.1") keeps one spelling per address. */
	if (strspn(host, "0123456789.") == strlen(host)) {
		struct in_addr a;
		if (inet_pton(AF_INET, host, &a) != 1)
			return UDP_EADDR_HOST;
		if (want_family(flags) == AF_INET6)
			return UDP_EADDR_NOFAMILY;
		set_v4(out, &a, port);
		return 0;
	}
	return resolve_name(out, host, flags, port);
}

/* "unix:" already stripped.  Abstract names take \xNN escapes so that
 * every name udp_addr_format() writes parses back to the same bytes. */
static int unix_parse(struct udp_addr *out, const char *p)
{
	struct sockaddr_un *un = &out->u.un;
	un->sun_family = AF_UNIX;
	if (*p != '@') {
		size_t n = strlen(p);
		if (n == 0)
			return UDP_EADDR_UNIXEMPTY;
		if (n + 1 > UN_MAX)
			return UDP_EADDR_UNIXLEN;
		memcpy(un->sun_path, p, n + 1);
		out->len = (socklen_t)(UN_OFF + n + 1);
		return 0;
	}
	size_t n = 0;
	for (p++; *p; n++) {
		if (1 + n >= UN_MAX)
			return UDP_EADDR_UNIXLEN;
		if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
		    isxdigit((unsigned char)p[3])) {
			char hex[3] = { p[2], p[3], 0 };
			un->sun_path[1 + n] = (char)strtoul(hex, NULL, 16);
			p += 4;
		} else {
			un->sun_path[1 + n] = *p++;
		}
	}
	if (n == 0)
		return UDP_EADDR_UNIXEMPTY;
	out->len = (socklen_t)(UN_OFF + 1 + n);
	return 0;
}

static int is_unix_text(const char *s)
{
	return strncmp(s, "unix:", 5) == 0;
}

/* The inside of [...]: only an IPv6 literal may be there. */
static int bracket_host(struct udp_addr *out, const char *in, size_t n,
			int flags, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	if (memchr(in, '[', n))
		return UDP_EADDR_BRACKET;
	if (n == 0 || n >= sizeof buf)
		return UDP_EADDR_V6;
	memcpy(buf, in, n);
	buf[n] = '\0';
	return v6_literal(out, buf, flags, port, UDP_EADDR_V6);
}

static int parse_ip(struct udp_addr *out, const char *text, int flags)
{
	uint16_t port;
	int rc;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return UDP_EADDR_BRACKET;
		if (close[1] == '\0')
			return UDP_EADDR_NOPORT;
		if (close[1] != ':')
			return UDP_EADDR_BRACKET;
		if ((rc = port_parse(close + 2, &port)) < 0)
			return rc;
		return bracket_host(out, text + 1, (size_t)(close - text - 1), flags, port);
	}
	/* The last colon splits, so "::1:80" arrives here with host "::1"
	 * and is refused as a bare IPv6 that needs brackets. */
	const char *colon = strrchr(text, ':');
	if (!colon)
		return UDP_EADDR_NOPORT;
	if ((rc = port_parse(colon + 1, &port)) < 0)
		return rc;
	char host[HOST_MAX + 1];
	size_t n = (size_t)(colon - text);
	if (n >= sizeof host)
		return UDP_EADDR_HOST;
	memcpy(host, text, n);
	host[n] = '\0';
	return host_parse(out, host, flags, port, 0);
}

int udp_addr_parse(struct udp_addr *out, const char *text, int flags)
{
	if (!out || !text)
		return UDP_EINVAL;
	memset(out, 0, sizeof *out);
	if (!*text)
		return UDP_EADDR_EMPTY;
	int rc = is_unix_text(text) ? unix_parse(out, text + 5)
				    : parse_ip(out, text, flags);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int udp_addr_from_host_port(struct udp_addr *out, const char *host,
			    const char *port, int flags)
{
	if (!out)
		return UDP_EINVAL;
	memset(out, 0, sizeof *out);
	int rc;
	if (host && is_unix_text(host)) {
		/* a unix path has no port: one given is a caller mistake */
		rc = port ? UDP_EINVAL : unix_parse(out, host + 5);
	} else {
		uint16_t p;
		if ((rc = port_parse(port, &p)) < 0)
			return rc;
		if (host && host[0] == '[') {
			const char *close = strchr(host, ']');
			if (!close || close[1] != '\0')
				rc = UDP_EADDR_BRACKET;
			else
				rc = bracket_host(out, host + 1, (size_t)(close - host - 1),
						  flags, p);
		} else {
			rc = host_parse(out, host, flags, p, 1);
		}
	}
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

/* Unix addresses come in three kinds; the name is what follows the kind
 * marker, never including a trailing NUL. */
enum un_kind { UN_UNNAMED, UN_PATH, UN_ABSTRACT };

static enum un_kind un_name(const struct udp_addr *a, const char **name, size_t *n)
{
	size_t room = a->len > UN_OFF ? a->len - UN_OFF : 0;
	if (room > UN_MAX)
		room = UN_MAX; /* a hand-made len must not reach past sun_path */
	if (room == 0) {
		*name = "";
		*n = 0;
		return UN_UNNAMED;
	}
	if (a->u.un.sun_path[0] == '\0') {
		*name = a->u.un.sun_path + 1;
		*n = room - 1;
		return UN_ABSTRACT;
	}
	*name = a->u.un.sun_path;
	*n = strnlen(a->u.un.sun_path, room);
	return UN_PATH;
}

int udp_addr_format(const struct udp_addr *a, char *buf, size_t cap)
{
	if (!a || (!buf && cap))
		return UDP_EINVAL;
	char tmp[UDP_ADDR_STRLEN];
	char ip[INET6_ADDRSTRLEN];
	int n = UDP_EFAMILY;
	switch (udp_addr_family(a)) {
	case AF_INET:
		inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof ip);
		n = snprintf(tmp, sizeof tmp, "%s:%u", ip, ntohs(a->u.in4.sin_port));
		break;
	case AF_INET6: {
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof ip);
		char scope[IF_NAMESIZE + 1] = "";
		uint32_t id = a->u.in6.sin6_scope_id;
		/* A number stays readable when the interface is gone. */
		if (id && !if_indextoname(id, scope + 1))
			snprintf(scope + 1, sizeof scope - 1, "%u", (unsigned)id);
		if (id)
			scope[0] = '%';
		n = snprintf(tmp, sizeof tmp, "[%s%s]:%u", ip, scope,
			     ntohs(a->u.in6.sin6_port));
		break;
	}
	case AF_UNIX: {
		const char *name;
		size_t len;
		enum un_kind k = un_name(a, &name, &len);
		n = snprintf(tmp, sizeof tmp, "unix:%s", k == UN_ABSTRACT ? "@" : "");
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)name[i];
			/* Plain ASCII ranges, not isprint(): the text must not
			 * depend on the locale.  Backslash is escaped too, or
			 * "\x41" could not be told from an escaped 'A'. */
			if (k == UN_ABSTRACT && (c < 0x20 || c >= 0x7f || c == '\\'))
				n += snprintf(tmp + n, sizeof tmp - (size_t)n, "\\x%02x", c);
			else
				tmp[n++] = (char)c;
		}
		tmp[n] = '\0';
		break;
	}
	}
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return n < 0 ? n : UDP_ENOSPACE;
	}
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

int udp_addr_family(const struct udp_addr *a)
{
	if (!a || a->len == 0)
		return AF_UNSPEC;
	switch (a->u.sa.sa_family) {
	case AF_INET: case AF_INET6: case AF_UNIX: return a->u.sa.sa_family;
	default: return AF_UNSPEC;
	}
}

int udp_addr_port(const struct udp_addr *a)
{
	switch (udp_addr_family(a)) {
	case AF_INET: return ntohs(a->u.in4.sin_port);
	case AF_INET6: return ntohs(a->u.in6.sin6_port);
	default: return -1;
	}
}

void udp_addr_set_port(struct udp_addr *a, int port)
{
	/* void by contract: an impossible port leaves the address as it was
	 * rather than wrapping to some other port. */
	if (port < 0 || port > 65535)
		return;
	switch (udp_addr_family(a)) {
	case AF_INET: a->u.in4.sin_port = htons((uint16_t)port); break;
	case AF_INET6: a->u.in6.sin6_port = htons((uint16_t)port); break;
	default: break;
	}
}

int udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b)
{
	int fam = udp_addr_family(a);
	if (fam != udp_addr_family(b))
		return 0;
	switch (fam) {
	case AF_INET:
		return a->u.in4.sin_port == b->u.in4.sin_port &&
		       a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
	case AF_INET6:
		return a->u.in6.sin6_port == b->u.in6.sin6_port &&
		       a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
		       memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr,
			      sizeof a->u.in6.sin6_addr) == 0;
	case AF_UNIX: {
		/* Compare names, not lengths: the kernel may or may not count
		 * a path's trailing NUL. */
		const char *na, *nb;
		size_t la, lb;
		return un_name(a, &na, &la) == un_name(b, &nb, &lb) &&
		       la == lb && memcmp(na, nb, la) == 0;
	}
	default:
		return 1; /* two "no address" values */
	}
}

int udp_addr_is_multicast(const struct udp_addr *a)
{
	switch (udp_addr_family(a)) {
	case AF_INET:
		return (ntohl(a->u.in4.sin_addr.s_addr) >> 28) == 0xe;
	case AF_INET6: {
		const uint8_t *b = a->u.in6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr))
			return (b[12] >> 4) == 0xe;
		return b[0] == 0xff;
	}
	default:
		return 0;
	}
}

int udp_addr_is_unix(const struct udp_addr *a)
{
	return udp_addr_family(a) == AF_UNIX;
}

int udp_addr_from_sockaddr(struct udp_addr *out, const struct sockaddr *sa,
			   socklen_t len)
{
	if (!out)
		return UDP_EINVAL;
	memset(out, 0, sizeof *out);
	if (!sa || len < sizeof sa->sa_family)
		return UDP_EINVAL;
	/* Exact sizes for IP: a length that disagrees with the family means
	 * the caller passed the wrong buffer or length. */
	switch (sa->sa_family) {
	case AF_INET:
		if (len != sizeof out->u.in4)
			return UDP_EINVAL;
		break;
	case AF_INET6:
		if (len != sizeof out->u.in6)
			return UDP_EINVAL;
		break;
	case AF_UNIX:
		if (len < UN_OFF || len > sizeof out->u.un)
			return UDP_EINVAL;
		break;
	default:
		return UDP_EFAMILY;
	}
	memcpy(&out->u, sa, len);
	out->len = len;
	return 0;
}
