/* udp_err.h - the one error enum of the datagram layer.
 *
 * Every udp_* function returns 0 (or a count) on success and a negative
 * code from this enum on failure.  UDP_ESYS means a system call failed and
 * errno still holds its reason, so callers can report it before anything
 * else touches errno.  Codes are grouped in ranges per module so that later
 * modules can add theirs without renumbering. */
#ifndef UDP_ERR_H
#define UDP_ERR_H

enum udp_err {
	UDP_OK = 0,
	UDP_ESYS = -1,          /* system call failed: see errno */
	UDP_EINVAL = -2,        /* invalid argument (API misuse) */
	UDP_ENOMEM = -3,        /* out of memory */
	UDP_ESHORT = -4,        /* wire: read past the end of a packet */
	UDP_ENOSPACE = -5,      /* wire: write past the end of a buffer */
	UDP_ETRUNC = -6,        /* datagram larger than the receive buffer */
	UDP_ETOOBIG = -7,       /* message larger than the allowed maximum */
	UDP_EAGAIN = -8,        /* nothing to do now (would block, timed out) */
	UDP_ENOTSUP = -9,       /* kernel or family does not support it */
	UDP_EFAMILY = -10,      /* operation not valid for this address family */

	/* addresses (udp_addr): each says which part is wrong and why */
	UDP_EADDR_EMPTY = -20,      /* address text is empty */
	UDP_EADDR_NOPORT = -21,     /* no port given (expected host:port) */
	UDP_EADDR_PORT = -22,       /* port is not a number or service name */
	UDP_EADDR_PORTRANGE = -23,  /* port number outside 0..65535 */
	UDP_EADDR_BRACKET = -24,    /* '[' without ']' or junk after ']' */
	UDP_EADDR_V6 = -25,         /* text in brackets is not an IPv6 address */
	UDP_EADDR_SCOPE = -26,      /* unknown interface in %scope */
	UDP_EADDR_NOHOST = -27,     /* host name does not resolve */
	UDP_EADDR_RESOLVE = -28,    /* resolver failed (temporary, or system) */
	UDP_EADDR_NOFAMILY = -29,   /* host has no address of the family asked */
	UDP_EADDR_UNIXLEN = -30,    /* unix socket path too long */
	UDP_EADDR_UNIXEMPTY = -31,  /* unix: with no path or name */
	UDP_EADDR_HOST = -32,       /* host part malformed (e.g. a bare v6 with port) */

	/* loss simulator (udp_netsim): -100 .. -149 */
	UDP_ENETSIM_WORD = -100,    /* unknown keyword */
	UDP_ENETSIM_VALUE = -101,   /* value malformed or out of range */
	UDP_ENETSIM_MISSING = -102, /* keyword needs a value that is missing */
	UDP_ENETSIM_FULL = -103,    /* queue full (limit reached) */
	UDP_ENETSIM_TWICE = -104,   /* keyword given twice */
	UDP_ENETSIM_NEEDS = -105,   /* keyword needs another (reorder needs delay) */

	/* sealing (udp_seal): -150 .. -199 */
	UDP_ESEAL_FIRST = -150,
};

/* Words for a code.  For UDP_ESYS it returns strerror(errno), so call it
 * before anything else can change errno. Never returns NULL. */
const char *udp_strerror(int code);

#endif
