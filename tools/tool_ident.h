/* tool_ident.h - identity sessions in the reliable tools (udpsend -r,
 * udprecv -r): --identity FILE, --peer-key KEY|@FILE, --allowed-keys FILE,
 * --rekey-after PKTS[,SECS].
 *
 * tool_pubkey.c  a public key argument (text, @FILE, -), shared with udpkey
 * tool_ident.c   the options, loading the keys, the rel_ident attached to
 *                the core that tool_rel_config builds, a session's peer
 *                (key, fingerprint, name), the counters for --stats
 *
 * With a group key as well (-k, --passphrase-*), the key only admits: its
 * SEAL_KEY_SUB_PSK subkey becomes the Noise psk2 secret and the socket is
 * not sealed a second time (identity sessions seal every packet
 * themselves). */
#ifndef TOOL_IDENT_H
#define TOOL_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "tool_common.h"

struct rel_config;
struct rel_core;

enum { TOOL_IDENT_O_IDENTITY = 0x5f00, TOOL_IDENT_O_PEER_KEY, TOOL_IDENT_O_ALLOWED,
       TOOL_IDENT_O_REKEY };

#define TOOL_IDENT_LONGOPTS \
	{ "identity", required_argument, 0, TOOL_IDENT_O_IDENTITY }, \
	{ "peer-key", required_argument, 0, TOOL_IDENT_O_PEER_KEY }, \
	{ "allowed-keys", required_argument, 0, TOOL_IDENT_O_ALLOWED }, \
	{ "rekey-after", required_argument, 0, TOOL_IDENT_O_REKEY }
#define TOOL_IDENT_CASES \
	case TOOL_IDENT_O_IDENTITY: case TOOL_IDENT_O_PEER_KEY: \
	case TOOL_IDENT_O_ALLOWED: case TOOL_IDENT_O_REKEY

#define TOOL_IDENT_HELP_COMMON \
	"Identities (with -r; docs/SEALING.md):\n" \
	"      --identity FILE  our identity key (udpkey genkey --identity): every\n" \
	"                       session gets fresh keys from a Noise handshake;\n" \
	"                       with -k/--passphrase-* the group key also admits\n"
#define TOOL_IDENT_HELP_REKEY \
	"      --rekey-after PKTS[,SECS]  new keys after PKTS packets or SECS\n" \
	"                       seconds (default 1073741824,120)\n"
#define TOOL_IDENT_HELP_SEND TOOL_IDENT_HELP_COMMON \
	"      --peer-key KEY   the server's public key (44 characters, @FILE or -):\n" \
	"                       no session unless the server proves it holds it\n" \
	TOOL_IDENT_HELP_REKEY
#define TOOL_IDENT_HELP_RECV TOOL_IDENT_HELP_COMMON \
	"      --allowed-keys FILE  the senders let in: '<public key> [name]' a line\n" \
	TOOL_IDENT_HELP_REKEY

/* ---- tool_pubkey.c ---- */
/* Is arg a public key's 44-character text? */
int tool_pubkey_is_text(const char *arg);
/* A public key from arg: the text, @FILE or - (stdin).  Bad text on the
 * command line is a usage error, an unreadable or bad file exit 1; `what`
 * starts the message ("--peer-key"). */
void tool_pubkey_arg(const char *what, const char *arg, uint8_t pub[32]);

/* ---- tool_ident.c ---- */
void tool_ident_option(int c, const char *arg);
/* --identity given? */
int tool_ident_on(void);
/* After parsing: the combinations that make no sense are usage errors
 * (identity options without -r or without --identity, --peer-key on a
 * server, --allowed-keys on a client, a client without --peer-key). */
void tool_ident_check_usage(int reliable, int server);
/* Before tool_seal_apply: loads the identity and (server) the allowed
 * list, and turns a group key into admission only.  Dies with one line
 * on a bad file.  Nothing without --identity. */
void tool_ident_load(int server);
/* From tool_rel_config: attaches the identity sessions to cfg (nothing
 * without --identity). */
void tool_ident_attach(struct rel_config *cfg);

/* A session's peer as the tools show it. */
struct tool_ident_who {
	int known;         /* 0: no identity (off, or handshake not done) */
	char key[48];      /* its public key, 44 base64 characters */
	char fpr[24];      /* xxxx-xxxx-xxxx-xxxx */
	char name[72];     /* from --allowed-keys, "" if none */
	uint64_t rekeys;   /* key phases turned over, both directions */
};
void tool_ident_who(const struct rel_core *core, uint32_t peer, struct tool_ident_who *out);
/* "name (fingerprint)" or the fingerprint alone, for messages to people. */
const char *tool_ident_label(const struct tool_ident_who *w, char *buf, size_t cap);

/* udpsend -r without a session: one line saying why (the server did not
 * prove --peer-key, or refused us, or nobody answered). */
void tool_ident_no_session(const char *dest);
/* Says once per kind what is being refused or dropped (after every step). */
void tool_ident_check(void);
/* --stats: one "identity:" line (handshakes, refused, drops, rekeys). */
void tool_ident_stats(int json);

#endif
