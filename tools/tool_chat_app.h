/* tool_chat_app.h - udpchat's program state, shared by its files.  The
 * chat itself (sessions, beacons, gate, roster) is chat/chat_group.h; these
 * files are the user's side of it:
 *
 * udpchat.c          options, sockets, the event loop
 * tool_chat_show.c   chat lines, presence, notices and --stats (text or JSON)
 * tool_chat_cmd.c    lines typed and commands
 * tool_chat_file.c   files: /send, /accept, the downloads folder, sha256
 * tool_chat_ident.c  --identity, known peers, /trust, fingerprints
 * tool_chat_tty.c    the line editor; tool_chat_out.c text escaping
 *
 * The tool_chat_*.c files are linked into every tool (tools/tool_*.c), so
 * they keep no static state: everything lives in the caller's struct
 * tool_chat, and every global name starts with tool_. */
#ifndef TOOL_CHAT_APP_H
#define TOOL_CHAT_APP_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "chat_group.h"
#include "chat_known.h"
#include "rel.h"
#include "rel_drv.h"
#include "tool_chat_tty.h"
#include "udp_sock.h"

#define MAX_PEERS CHAT_GROUP_MAX_SESS
#define MAX_EXPLICIT CHAT_GROUP_MAX_PEERS
#define OUT_MAX (2 * CHAT_TEXT_MAX * 6 + 512)

struct tool_chat_opts {
	const char *nick, *group, *port, *iface, *data_port;
	const char *pass_env; /* --passphrase-env VAR: read for both sockets */
	const char *peers[MAX_EXPLICIT];
	int npeers, family_flags, no_discovery, broadcast, json, stats, ttl;
	double beacon, away, gone, linger, wait;
	unsigned wait_peers;
	int accept_files;        /* --accept-files: take every offer */
	const char *downloads;   /* --downloads DIR (default .) */
	uint64_t max_file;       /* --max-file: larger offers are refused */
	const char *identity;    /* --identity FILE: our key pair */
	const char *known_peers; /* --known-peers FILE */
};

/* One file transfer, as the tool sees it (chat/ has the protocol side). */
struct tool_chat_xfer {
	int used, out;
	uint64_t peer;
	uint32_t fid;
	int fd;                  /* out: the file read; in: the .part file (-1: none) */
	uint64_t size, done;
	char name[CHAT_FILE_SAFE_MAX + 1]; /* in: sanitised; out: as offered */
	char part[64];           /* in: the temporary name in the downloads folder */
	uint8_t sha[CHAT_SHA256_LEN]; /* the sha256 offered */
	crypto_hash_sha256_state h;   /* in: of the bytes written so far */
	double started, shown;   /* when it began; last progress line */
	int accepted;
	const char *why;         /* set before ending it: said in the failed line */
	char who[CHAT_NAME_MAX]; /* the peer, as named when it began */
};

struct tool_chat {
	struct tool_chat_opts o;
	uint64_t id;
	char nick[CHAT_NICK_MAX + 1];  /* at start; the group keeps the current one */
	struct udp_sock *data, *bsock; /* bsock: beacons in (NULL without discovery) */
	struct udp_addr group;         /* where beacons go */
	struct rel_core *core;
	struct rel_drv *drv;
	struct chat_group *chat;
	int tty, color;
	struct tool_tty ed;
	struct udp_addr explicit_addr[MAX_EXPLICIT];
	int dl_fd;               /* the downloads folder (O_DIRECTORY), -1 until needed */
	struct tool_chat_xfer xf[CHAT_FILE_MAX];
	/* identities (NULL/0 without --identity) */
	struct seal_ident *ident;
	struct rel_ident *ri;
	struct chat_known *known;
	char known_path[4096];
	uint8_t explicit_key[MAX_EXPLICIT][CHAT_KEY_LEN]; /* --peer KEY@HOST:PORT */
	int explicit_has_key[MAX_EXPLICIT];
	char out[OUT_MAX];
};

static inline uint64_t now_us(void)
{
	return rel_drv_now();
}

static inline uint64_t secs_us(double s)
{
	return (uint64_t)(s * 1e6);
}

/* tool_chat_show.c */
void tool_chat_emit(struct tool_chat *c, const char *line, size_t len);
void tool_chat_name(const struct tool_chat *c, uint64_t id, const char *nick, char *buf,
		    size_t cap);
size_t tool_chat_line_start(struct tool_chat *c, const char *type);
void tool_chat_json_str(struct tool_chat *c, size_t *pos, const char *key, const void *s,
			size_t n);
void tool_chat_text_name(struct tool_chat *c, size_t *pos, uint64_t id, const char *name);
void tool_chat_show_msg(struct tool_chat *c, uint8_t type, uint64_t id, const char *name,
			const uint8_t *text, size_t n);
void tool_chat_show_presence(struct tool_chat *c, const char *type, uint64_t id,
			     const char *name, const char *extra);
void tool_chat_notice(struct tool_chat *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* What the chat group reports (chat_group_config.on_event; ctx: the tool_chat). */
void tool_chat_on_event(void *ctx, const struct chat_group_event *ev);
/* --stats: the beacon port (with its seal counters when sealed) and the gate. */
void tool_chat_beacon_stats(struct tool_chat *c);

/* tool_chat_file.c */
/* /send NICK|* FILE, /accept [FID], /refuse [FID], /cancel [FID] */
void tool_chat_cmd_send(struct tool_chat *c, const char *args);
/* "NICK REST" of /msg and /send: the roster's peer NICK names in *id (0 for
 * "*" when allow_all) and REST in *rest; 1, or 0 after a notice saying why. */
int tool_chat_target(struct tool_chat *c, const char *args, const char *usage, int allow_all,
		     uint64_t *id, const char **rest);
void tool_chat_cmd_xfer(struct tool_chat *c, const char *cmd, const char *arg);
void tool_chat_on_file(struct tool_chat *c, const struct chat_group_event *ev);
/* chat_group_config.file_read (ctx: the tool_chat) */
int tool_chat_file_read(void *ctx, uint64_t peer, uint32_t fid, uint64_t off, void *buf,
			size_t n);

/* tool_chat_ident.c */
struct rel_config;
/* --identity: our key pair and the known peers (dies on a bad file). */
void tool_chat_ident_setup(struct tool_chat *c);
/* Identity sessions on the core about to be made from rc. */
void tool_chat_ident_core(struct tool_chat *c, struct rel_config *rc);
void tool_chat_on_ident(struct tool_chat *c, const struct chat_group_event *ev);
void tool_chat_cmd_trust(struct tool_chat *c, const char *nick);
/* "xxxx-xxxx-xxxx-xxxx" of a public key into buf (20 bytes). */
void tool_chat_fpr(const uint8_t *key, char buf[20]);
/* --peer's optional "KEY@": the key into key (*has 1), returns the rest. */
const char *tool_chat_peer_key(const char *arg, uint8_t key[CHAT_KEY_LEN], int *has);
void tool_chat_ident_free(struct tool_chat *c);

/* tool_chat_cmd.c */
struct tool_chat_input {
	char buf[CHAT_TEXT_MAX * 2 + 2];
	size_t len;
	int eof;
};
void tool_chat_quit(struct tool_chat *c);
void tool_chat_read_input(struct tool_chat *c, struct tool_chat_input *in);

#endif
