/* tool_seal.h - key options for the tools (tool_seal.c): -k/--key FILE,
 * --passphrase-file FILE, --passphrase-env VAR, --group NAME.  A passphrase
 * is never taken from the command line (--passphrase is refused, exit 2).
 * --cipher xchacha20|aes256gcm picks the suite of what is sent; both are
 * opened.
 *
 * In a tool: TOOL_SEAL_LONGOPTS in the option table, "k:" in the short
 * options, TOOL_SEAL_CASES: tool_seal_option(c, optarg); in the switch,
 * tool_seal_apply(sock) after opening the socket, tool_seal_stats(sock)
 * with --stats.  The sealing itself happens in the socket (udp_sock.h), so
 * every send and receive of the tool, raw or reliable, is covered. */
#ifndef TOOL_SEAL_H
#define TOOL_SEAL_H

#include <stdint.h>

#include "udp_sock.h"

enum { TOOL_SEAL_O_KEY = 'k', TOOL_SEAL_O_PFILE = 0x5e00, TOOL_SEAL_O_PENV,
       TOOL_SEAL_O_GROUP, TOOL_SEAL_O_PASSPHRASE, TOOL_SEAL_O_CIPHER };

#define TOOL_SEAL_LONGOPTS \
	{ "key", required_argument, 0, TOOL_SEAL_O_KEY }, \
	{ "passphrase-file", required_argument, 0, TOOL_SEAL_O_PFILE }, \
	{ "passphrase-env", required_argument, 0, TOOL_SEAL_O_PENV }, \
	{ "group", required_argument, 0, TOOL_SEAL_O_GROUP }, \
	{ "passphrase", optional_argument, 0, TOOL_SEAL_O_PASSPHRASE }, \
	{ "cipher", required_argument, 0, TOOL_SEAL_O_CIPHER }

#define TOOL_SEAL_CASES \
	case TOOL_SEAL_O_KEY: case TOOL_SEAL_O_PFILE: case TOOL_SEAL_O_PENV: \
	case TOOL_SEAL_O_GROUP: case TOOL_SEAL_O_PASSPHRASE: case TOOL_SEAL_O_CIPHER

/* The usage lines, for the tools' --help. */
#define TOOL_SEAL_HELP \
	"Sealing (docs/SEALING.md):\n" \
	"  -k, --key FILE       seal and open with the key in FILE (udpkey genkey)\n" \
	"      --passphrase-file FILE  key from the passphrase in FILE\n" \
	"      --passphrase-env VAR    key from the passphrase in $VAR\n" \
	"      --group NAME     group of the passphrase (required with one)\n" \
	"      --cipher NAME    what to seal with: xchacha20 (default) or aes256gcm\n" \
	"                       (faster with AES-NI; the peer needs AES-NI to open it)\n"

void tool_seal_option(int c, const char *arg);
/* The name of the group option in this tool's messages ("--group" unless
 * the tool uses --group for something else, as udpchat: "--key-group"). */
void tool_seal_group_option(const char *name);
#define TOOL_SEAL_STR_(x) #x
#define TOOL_SEAL_STR(x) TOOL_SEAL_STR_(x)
/* Loads the key (core dumps off first) and attaches it; dies with one
 * line and exit 1 when the key cannot be had.  Without key options it does
 * nothing (plaintext). */
void tool_seal_apply(struct udp_sock *s);
/* Says once what the socket has been dropping that a user would want to
 * know: sealed packets without a key, plaintext or another key's packets
 * with one.  Cheap; called after every receive. */
void tool_seal_check(struct udp_sock *s);
/* Identity sessions (tool_ident.c) seal every packet themselves: called
 * before tool_seal_apply, it makes a group key admission only - its
 * SEAL_KEY_SUB_PSK subkey into out (32 bytes), *have = 1 - and leaves the
 * socket unsealed. */
void tool_seal_psk_only(uint8_t *out, int *have);
/* Bytes sealing adds to each datagram (0 without a key): the reliable
 * core's rel_config.overhead, so its sizes count them. */
size_t tool_seal_overhead(void);
/* The group key's admission secret for identity sessions
 * (seal_key_subkey SEAL_KEY_SUB_PSK, 32 bytes, in locked memory), once
 * tool_seal_apply has loaded a key; NULL without one. */
const uint8_t *tool_seal_psk(void);
/* --stats: one "seal:" line when a key is set or sealed packets were seen. */
void tool_seal_stats(struct udp_sock *s);

#endif
