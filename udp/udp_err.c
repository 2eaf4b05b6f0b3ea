#include <errno.h>
#include <string.h>

#include "udp_err.h"

const char *udpkit_strerror(int code)
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
	case UDP_ESEAL_PLAINTEXT: return "plaintext packet refused (a key is set, packets must be sealed)";
	case UDP_ESEAL_SHORT: return "sealed packet too short";
	case UDP_ESEAL_VERSION: return "sealed packet of an unknown version";
	case UDP_ESEAL_BADHDR: return "sealed packet header has reserved bits set";
	case UDP_ESEAL_WRONGKEY: return "sealed with a different key (key id mismatch)";
	case UDP_ESEAL_AUTH: return "sealed packet failed authentication (corrupt or forged)";
	case UDP_ESEAL_REPLAY: return "replayed packet (counter already seen)";
	case UDP_ESEAL_OLD: return "packet too old (counter below the replay window)";
	case UDP_ESEAL_REFLECT: return "our own packet reflected back to us";
	case UDP_ESEAL_COUNTER: return "sealed packet counter out of range";
	case UDP_ESEAL_SUITE: return "cipher suite not available here (aes256gcm needs AES-NI)";
	case UDP_ESEAL_HS_STATE: return "handshake step out of order";
	case UDP_ESEAL_HS_SHORT: return "handshake message truncated or of the wrong length";
	case UDP_ESEAL_HS_AUTH: return "handshake message failed authentication (wrong key or PSK, or corrupt)";
	case UDP_ESEAL_HS_DH: return "handshake peer key is invalid (low-order point)";
	case UDP_ESEAL_EXHAUSTED: return "send counter exhausted (restart for a new session)";
	case UDP_ESEAL_KEYFILE_PERM: return "key file permissions too open (group/other access; chmod 600)";
	case UDP_ESEAL_KEYFILE_LINK: return "key file is a symbolic link (refused)";
	case UDP_ESEAL_KEYFILE_FORMAT: return "key file malformed (expected base64 of 32 bytes and a newline)";
	case UDP_ESEAL_KEYFILE_EXISTS: return "file exists (refusing to overwrite a key)";
	case UDP_ESEAL_KEYFILE_TYPE: return "key file is not a regular file";
	case UDP_ESEAL_KEYFILE_EMPTY: return "key or passphrase file is empty";
	case UDP_ESEAL_PASSPHRASE: return "passphrase empty or too long";
	case UDP_ESEAL_GROUP: return "group name empty or too long";
	case UDP_ESEAL_SODIUM: return "libsodium failed to initialise";
	case UDP_ESEAL_KEYFILE_OWNER: return "key file owned by another user (refused)";
	case UDP_ESEAL_ALLOWED_LINE: return "authorized keys: malformed line";
	case UDP_ESEAL_ALLOWED_DUP: return "authorized keys: key listed twice";
	case UDP_ESEAL_PASSPHRASE_SHORT: return "passphrase too short (at least 12 bytes)";
	case REL_ECONFIG: return "invalid reliable-core configuration";
	case REL_ENOPEER: return "no such peer";
	case REL_ETOOBIG: return "message larger than the allowed maximum (max_msg, or one datagram for dgram)";
	case REL_ENOTCONN: return "session not connected yet";
	case REL_ECLOSED: return "session closing or closed";
	case REL_EFULL: return "send budget full, retry later";
	case REL_EMAGIC: return "not a udpkit reliable packet (magic or version)";
	case REL_ECHECKSUM: return "packet checksum mismatch";
	case REL_EMALFORMED: return "malformed packet";
	case REL_EPEERS: return "too many peers";
	case REL_EMODE: return "invalid delivery mode";
	case REL_ESESSION: return "unknown, stale or foreign session";
	case REL_ECOOKIE: return "invalid or expired handshake cookie";
	case REL_EWINDOW: return "sequence number outside the receive window";
	case REL_EBUDGET: return "receive budget exhausted";
	case REL_EDUP: return "duplicate packet";
	case REL_EADDR: return "address empty or too long";
	case REL_EUNEXPECTED: return "packet not expected in this state";
	case REL_ESOURCE: return "too many sessions from this source";
	case REL_ERANDOM: return "no randomness from the kernel";
	case REL_EPATH: return "peer address not validated yet (anti-amplification limit)";
	case REL_EAUTH: return "session packet not sealed, not authentic or replayed";
	case REL_EREFUSED: return "handshake refused: no key exchange or identity not allowed";
	default: return "unknown error";
	}
}
