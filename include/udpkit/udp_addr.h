/* udp_addr.h - datagram endpoint addresses: IPv4, IPv6 (with scope ids),
 * host names, and AF_UNIX datagram paths (filesystem and abstract).
 *
 * struct udp_addr is a plain value: copy it freely, nothing to free.
 *
 * Text forms accepted by udp_addr_parse():
 *   1.2.3.4:PORT   host.name:PORT   [v6addr]:PORT   [fe80::1%lo]:PORT
 *   unix:/path/to/socket            unix:@abstract-name
 * PORT is a number 0..65535 or a service name (from /etc/services, also
 * with UDP_ADDR_NUMERIC, which only keeps host names away from DNS).
 *
 * Decisions worth knowing (tests/test_addr.c pins each one):
 * - Checks run shape, then port, then host, so ":" is UDP_EADDR_NOPORT and
 *   ":80" is UDP_EADDR_HOST unless UDP_ADDR_PASSIVE makes it the wildcard.
 * - A bare IPv6 with a port ("::1:80", "fe80::1%lo:80") is UDP_EADDR_HOST:
 *   brackets are required in the one-string form.  Digits-and-dots hosts
 *   must be dotted quads ("127.1" is refused, never sent to DNS).
 * - Names under .invalid (RFC 6761) give UDP_EADDR_NOHOST without a lookup.
 * - %scope is an interface name or a number; format shows the name when the
 *   interface exists, else the number.
 * - In abstract unix names "\xNN" is one byte, and format escapes bytes
 *   outside 0x20..0x7e and the backslash that way; paths are never escaped.
 *   An unnamed unix peer (len == offsetof(sun_path)) formats as "unix:".
 * - On any failure *out is left as "no address" (len 0). */
#ifndef UDP_ADDR_H
#define UDP_ADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct udp_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
		struct sockaddr_storage ss;
	} u;
	socklen_t len; /* 0 means "no address" */
};

/* Flags for the parse/resolve functions. */
enum {
	UDP_ADDR_V4 = 1 << 0,      /* only IPv4 results (-4) */
	UDP_ADDR_V6 = 1 << 1,      /* only IPv6 results (-6) */
	UDP_ADDR_PASSIVE = 1 << 2, /* for binding: empty/NULL host is the wildcard */
	UDP_ADDR_NUMERIC = 1 << 3, /* never ask DNS: literal addresses only */
};

/* Longest text udp_addr_format() produces, including the NUL.  Abstract
 * unix names are escaped (\xNN), hence the room. */
#define UDP_ADDR_STRLEN 480

/* Parses one of the text forms above.  Host names are resolved with
 * getaddrinfo; the first result of the family asked for wins. */
UDPKIT_API int udp_addr_parse(struct udp_addr *out, const char *text, int flags);

/* Host and port given separately (as `udpsend HOST PORT`).  host may be a
 * name, an IPv4 or IPv6 literal (no brackets needed, brackets allowed),
 * "unix:..." (port must then be NULL), or NULL/"" with UDP_ADDR_PASSIVE for
 * the wildcard (IPv6 "::" unless UDP_ADDR_V4, IPv4 "0.0.0.0" with it). */
UDPKIT_API int udp_addr_from_host_port(struct udp_addr *out, const char *host,
			    const char *port, int flags);

/* Writes the canonical text form ("127.0.0.1:9", "[::1]:9",
 * "[fe80::1%lo]:9", "unix:/p", "unix:@n"); returns the length written or
 * UDP_ENOSPACE. */
UDPKIT_API int udp_addr_format(const struct udp_addr *a, char *buf, size_t cap);

UDPKIT_API int udp_addr_family(const struct udp_addr *a);  /* AF_INET/AF_INET6/AF_UNIX/AF_UNSPEC */
UDPKIT_API int udp_addr_port(const struct udp_addr *a);    /* port, or -1 for unix */
/* No effect on unix addresses or for a port outside 0..65535. */
UDPKIT_API void udp_addr_set_port(struct udp_addr *a, int port);
/* Family, address, port, v6 scope (not flowinfo); unix by kind and name.
 * 1.2.3.4 and ::ffff:1.2.3.4 are different families, so not equal. */
UDPKIT_API int udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b);
UDPKIT_API int udp_addr_is_multicast(const struct udp_addr *a);
UDPKIT_API int udp_addr_is_unix(const struct udp_addr *a);

/* Builds an address from a sockaddr the kernel returned (recvfrom etc.).
 * len must be exactly sizeof the sockaddr_in/_in6, or within
 * offsetof(sun_path)..sizeof(sockaddr_un) for unix: else UDP_EINVAL;
 * another family is UDP_EFAMILY. */
UDPKIT_API int udp_addr_from_sockaddr(struct udp_addr *out, const struct sockaddr *sa,
			   socklen_t len);

#ifdef __cplusplus
}
#endif

#endif
