/* udp_err.h - the one error enum of udpkit.
 *
 * Every function of every module returns 0 (or a count) on success and a
 * negative code from this enum on failure.  UDP_ESYS means a system call failed and
 * errno still holds its reason, so callers can report it before anything
 * else touches errno.  Codes are grouped in ranges per module so that later
 * modules can add theirs without renumbering. */
#ifndef UDP_ERR_H
#define UDP_ERR_H

#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

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

	/* loss simulator (netsim): -100 .. -149 */
	UDP_ENETSIM_WORD = -100,    /* unknown keyword */
	UDP_ENETSIM_VALUE = -101,   /* value malformed or out of range */
	UDP_ENETSIM_MISSING = -102, /* keyword needs a value that is missing */
	UDP_ENETSIM_FULL = -103,    /* queue full (limit reached) */
	UDP_ENETSIM_TWICE = -104,   /* keyword given twice */
	UDP_ENETSIM_NEEDS = -105,   /* keyword needs another (reorder needs delay) */

	/* sealing and keys (seal, seal_replay, seal_key): -150 .. -199.
	 * -150..-169 are drop reasons of seal_open() and sealer limits,
	 * -170..-199 are key handling. */
	UDP_ESEAL_PLAINTEXT = -150, /* not sealed (no magic, or seal flag cleared) */
	UDP_ESEAL_SHORT = -151,     /* shorter than header + tag */
	UDP_ESEAL_VERSION = -152,   /* sealed by an unknown format version */
	UDP_ESEAL_BADHDR = -153,    /* reserved header bits set */
	UDP_ESEAL_WRONGKEY = -154,  /* key id differs: sealed with another key */
	UDP_ESEAL_AUTH = -155,      /* failed authentication (corrupt or forged) */
	UDP_ESEAL_REPLAY = -156,    /* counter already seen in this session */
	UDP_ESEAL_OLD = -157,       /* counter below the replay window */
	UDP_ESEAL_REFLECT = -158,   /* our own packet came back to us */
	UDP_ESEAL_COUNTER = -159,   /* counter out of range (2^64-1 never valid) */
	UDP_ESEAL_EXHAUSTED = -160, /* sender's counter used up: new session needed */
	UDP_ESEAL_SUITE = -161,     /* cipher suite this host cannot use (aes256gcm without AES-NI) */
	/* Noise handshake (seal_noise) */
	UDP_ESEAL_HS_STATE = -162,  /* handshake call out of order (wrong role or step) */
	UDP_ESEAL_HS_SHORT = -163,  /* handshake message truncated or of the wrong length */
	UDP_ESEAL_HS_AUTH = -164,   /* handshake message failed authentication (key, PSK, corrupt) */
	UDP_ESEAL_HS_DH = -165,     /* peer sent a low-order public key (zero shared secret) */

	UDP_ESEAL_KEYFILE_PERM = -170,   /* key file readable/writable by group or other */
	UDP_ESEAL_KEYFILE_LINK = -171,   /* key file is a symbolic link */
	UDP_ESEAL_KEYFILE_FORMAT = -172, /* key file is not base64 of 32 bytes + newline */
	UDP_ESEAL_KEYFILE_EXISTS = -173, /* refusing to overwrite an existing key file */
	UDP_ESEAL_KEYFILE_TYPE = -174,   /* key file is not a regular file */
	UDP_ESEAL_KEYFILE_EMPTY = -175,  /* key or passphrase file is empty */
	UDP_ESEAL_PASSPHRASE = -176,     /* passphrase empty or too long */
	UDP_ESEAL_GROUP = -177,          /* group name empty or too long */
	UDP_ESEAL_SODIUM = -178,         /* libsodium failed to initialise */
	UDP_ESEAL_KEYFILE_OWNER = -179,  /* key file owned by another user */
	UDP_ESEAL_ALLOWED_LINE = -180,   /* authorized-keys line malformed */
	UDP_ESEAL_ALLOWED_DUP = -181,    /* authorized-keys list names a key twice */
	UDP_ESEAL_PASSPHRASE_SHORT = -190, /* passphrase under SEAL_KEY_PASSPHRASE_MIN bytes */

	/* reliable core (rel_*): -300 .. -399 */
	REL_ECONFIG = -300,    /* invalid configuration */
	REL_ENOPEER = -301,    /* no such peer (never existed, dead or closed) */
	REL_ETOOBIG = -302,    /* message larger than the local or the peer's max_msg */
	REL_ENOTCONN = -303,   /* session not connected yet */
	REL_ECLOSED = -304,    /* session is closing or closed: no more sends */
	REL_EFULL = -305,      /* send budget full: retry after some messages are acked */
	REL_EMAGIC = -306,     /* dropped: wrong magic or version (not ours) */
	REL_ECHECKSUM = -307,  /* dropped: checksum mismatch (corrupted) */
	REL_EMALFORMED = -308, /* dropped: truncated or inconsistent fields */
	REL_EPEERS = -309,     /* too many peers (max_peers) */
	REL_EMODE = -310,      /* invalid delivery mode */
	REL_ESESSION = -311,   /* dropped: unknown, stale or foreign session */
	REL_ECOOKIE = -312,    /* dropped: invalid or expired handshake cookie */
	REL_EWINDOW = -313,    /* dropped: sequence number outside the receive window */
	REL_EBUDGET = -314,    /* dropped: receive budget exhausted */
	REL_EDUP = -315,       /* dropped: duplicate */
	REL_EADDR = -316,      /* address blob empty or longer than REL_ADDR_MAX */
	REL_EUNEXPECTED = -317,/* dropped: packet type not valid in this state */
	REL_ESOURCE = -318,    /* too many sessions from one source (max_per_source) */
	REL_ERANDOM = -319,    /* no randomness from the kernel (getrandom) */
	REL_EPATH = -320,      /* held: the peer's new address is not validated yet (3x limit) */
	REL_EAUTH = -321,      /* dropped: a session's packet not sealed, not authentic or replayed */
	REL_EREFUSED = -322,   /* handshake refused: no key exchange, or the peer's identity not allowed */
};

/* Words for any code of any module.  For UDP_ESYS it returns
 * strerror(errno), so call it before anything else can change errno.
 * Never returns NULL. */
UDPKIT_API const char *udpkit_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
