#include <errno.h>
#include <string.h>

#include "udp_err.h"

const char *udp_strerror(int code)
{
	switch (code) {
	case UDP_OK: return "success";
	case UDP_ESYS: return strerror(errno);
	case UDP_EINVAL: return "invalid argument";
	case UDP_ENOMEM: return "out of memory";
	case UDP_ESHORT: return "packet too short";
	case UDP_ENOSPACE: return "buffer too small";
	case UDP_ETRUNC: return "datagram truncated: larger than the receive buffer";
	case UDP_ETOOBIG: return "message too large";
	case UDP_EAGAIN: return "no data yet (would block or timed out)";
	case UDP_ENOTSUP: return "not supported here";
	case UDP_EFAMILY: return "not valid for this address family";
	case UDP_EADDR_EMPTY: return "address is empty";
	case UDP_EADDR_NOPORT: return "port missing (expected HOST:PORT)";
	case UDP_EADDR_PORT: return "port is not a number or known service";
	case UDP_EADDR_PORTRANGE: return "port out of range (0-65535)";
	case UDP_EADDR_BRACKET: return "bad brackets (expected [IPv6]:PORT)";
	case UDP_EADDR_V6: return "not a valid IPv6 address inside brackets";
	case UDP_EADDR_SCOPE: return "unknown interface in scope id";
	case UDP_EADDR_NOHOST: return "Name or service not known";
	case UDP_EADDR_RESOLVE: return "name resolution failed";
	case UDP_EADDR_NOFAMILY: return "host has no address of the requested family";
	case UDP_EADDR_UNIXLEN: return "unix socket path too long";
	case UDP_EADDR_UNIXEMPTY: return "unix socket path is empty";
	case UDP_EADDR_HOST: return "malformed host (IPv6 with a port needs brackets)";
	case UDP_ENETSIM_WORD: return "unknown netsim keyword";
	case UDP_ENETSIM_VALUE: return "bad netsim value";
	case UDP_ENETSIM_MISSING: return "netsim keyword needs a value";
	case UDP_ENETSIM_FULL: return "netsim queue full";
	case UDP_ENETSIM_TWICE: return "netsim keyword given twice";
	case UDP_ENETSIM_NEEDS: return "netsim keyword needs another keyword";
	default: return "unknown error";
	}
}
