/* tool_chat_app.h - udpchat's state, shared by the files of the program:
 *
 * udpchat.c          options, set-up, the event loop, --stats
 * tool_chat_show.c   chat lines and notices (text or JSON)
 * tool_chat_sess.c   one reliable session per peer: HELLO, messages, peer lists
 * tool_chat_beacon.c beacons, and the datagram loop of the data socket with its
 *                    amplification gate
 * tool_chat_cmd.c    lines typed and commands
 *
 * The tool_chat_*.c files are linked into every tool (tools/tool_*.c), so
 * they keep no static state: everything lives in the caller's struct chat,
 * and every global name starts with chat_. */
#ifndef TOOL_CHAT_APP_H
#define TOOL_CHAT_APP_H

#include <stddef.h>
#include <stdint.h>

#include "rel.h"
#include "rel_drv.h"
#include "tool_chat.h"
#include "udp_chat.h"
#include "udp_sock.h"

#define MAX_PEERS 256
#define MAX_EXPLICIT 32
#define OUT_MAX (2 * UDP_CHAT_TEXT_MAX * 6 + 512)

struct opts {
	const char *nick, *group, *port, *iface, *data_port;
	const char *pass_env; /* --passphrase-env VAR: read for both sockets */
	const char *peers[MAX_EXPLICIT];
	int npeers, family_flags, no_discovery, broadcast, json, stats, ttl;
	double beacon, away, gone, linger, wait;
	unsigned wait_peers;
};

/* One reliable session; id is 0 until the peer's HELLO names it. */
struct sess {
	int used;
	uint32_t rel;
	uint64_t id;
	uint64_t expect;   /* the id a beacon announced (connects we started) */
	int explicit_idx;  /* index + 1 in --peer, 0 if none */
	int closing;       /* we closed it (quitting, or a duplicate) */
	double opened;     /* tool_now() at creation: HELLO is due within --gone */
	struct udp_addr addr;
};

struct chat {
	struct opts o;
	uint64_t id;
	char nick[UDP_CHAT_NICK_MAX + 1];
	struct udp_sock *data, *bsock; /* bsock: beacons in (NULL without discovery) */
	struct udp_addr group;         /* where beacons go */
	struct rel_core *core;
	struct rel_drv *drv;
	struct udp_chat_roster *roster;
	struct sess s[MAX_PEERS];
	int tty, color, quitting;
	struct chat_tty ed;
	uint64_t next_beacon;
	double explicit_retry[MAX_EXPLICIT];
	struct udp_addr explicit_addr[MAX_EXPLICIT];
	uint64_t sent, received, privates;
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
void chat_emit(struct chat *c, const char *line, size_t len);
void chat_name_of(const struct chat *c, uint64_t id, const char *nick, char *buf, size_t cap);
size_t chat_line_start(struct chat *c, const char *type);
void chat_json_str(struct chat *c, size_t *pos, const char *key, const void *s, size_t n);
void chat_text_name(struct chat *c, size_t *pos, uint64_t id, const char *name);
void chat_show_msg(struct chat *c, uint8_t type, uint64_t id, const char *name,
		   const uint8_t *text, size_t n);
void chat_show_presence(struct chat *c, const char *type, uint64_t id, const char *name,
			const char *extra);
void chat_notice(struct chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* tool_chat_sess.c */
struct sess *chat_sess_by_rel(struct chat *c, uint32_t rel);
struct sess *chat_sess_by_id(struct chat *c, uint64_t id);
struct sess *chat_sess_by_addr(struct chat *c, const struct udp_addr *a);
int chat_encode(struct chat *c, uint8_t type, const void *text, size_t n, uint8_t *buf,
		size_t cap);
int chat_sess_send(struct chat *c, struct sess *s, uint8_t type, const void *text, size_t n,
		   enum rel_mode mode);
void chat_sess_close(struct chat *c, struct sess *s);
void chat_connect_to(struct chat *c, const struct udp_addr *a, uint64_t expect, int explicit_idx);
void chat_rel_events(struct chat *c);

/* tool_chat_beacon.c */
void chat_send_beacon(struct chat *c, uint8_t type);
void chat_read_beacons(struct chat *c);

/* tool_chat_cmd.c */
struct chat_input {
	char buf[UDP_CHAT_TEXT_MAX * 2 + 2];
	size_t len;
	int eof;
};
void chat_start_quit(struct chat *c);
void chat_read_input(struct chat *c, struct chat_input *in);

#endif
