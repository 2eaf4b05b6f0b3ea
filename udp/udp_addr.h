/* udp_addr.h - datagram endpoint addresses: IPv4, IPv6 (with scope ids),
 * host names, and AF_UNIX datagram paths (filesystem and abstract).
 *
 * struct udp_addr is a plain value: copy it freely, nothing to free.
 *
 * Text forms accepted by udp_addr_parse():
 *   1.2.3.4:PORT   host.name:PORT   [v6addr]:PORT   [fe80::1%lo]:PORT
 *   unix:/path/to/socket            unix:@abstract-name
 * PORT is a number 0..65535 or a service name. */
#ifndef UDP_ADDR_H
#define UDP_ADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

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
int udp_addr_parse(struct udp_addr *out, const char *text, int flags);

/* Host and port given separately (as `udpsend HOST PORT`).  host may be a
 * name, an IPv4 or IPv6 literal (no brackets needed, brackets allowed),
 * "unix:..." (port must then be NULL), or NULL/"" with UDP_ADDR_PASSIVE for
 * the wildcard (IPv6 "::" unless UDP_ADDR_V4, IPv4 "0.0.0.0" with it). */
int udp_addr_from_host_port(struct udp_addr *out, const char *host,
			    const char *port, int flags);

/* Writes the canonical text form ("127.0.0.1:9", "[::1]:9",
 * "[fe80::1%lo]:9", "unix:/p", "unix:@n"); returns the length written or
 * UDP_ENOSPACE. */
int udp_addr_format(const struct udp_addr *a, char *buf, size_t cap);

int udp_addr_family(const struct udp_addr *a);  /* AF_INET/AF_INET6/AF_UNIX/AF_UNSPEC */
int udp_addr_port(const struct udp_addr *a);    /* port, or -1 for unix */
void udp_addr_set_port(struct udp_addr *a, int port);
int udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b);
int udp_addr_is_multicast(const struct udp_addr *a);
int udp_addr_is_unix(const struct udp_addr *a);

/* Builds an address from a sockaddr the kernel returned (recvfrom etc.). */
int udp_addr_from_sockaddr(struct udp_addr *out, const struct sockaddr *sa,
			   socklen_t len);

#endif
