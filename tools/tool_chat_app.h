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
#include "chat_roster.h"
#include "chat_wire.h"
#include "udp_sock.h"

#define MAX_PEERS 256
#define MAX_EXPLICIT 32
#define OUT_MAX (2 * CHAT_TEXT_MAX * 6 + 512)

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
	/* Started by a beacon, which anyone can forge with any source address:
	 * until the peer answers (a packet of this session arrives), what is
	 * sent to it is paid for by the beacon bytes received from it
	 * (credit), so a forged beacon cannot make us send its "source" more
	 * than it sent (docs/CHAT.md, "Hostile beacons"). */
	int gated;
	uint32_t credit;
};

/* What became of each datagram on the beacon port (--stats "beacons:"). */
struct chat_beacon_stats {
	uint64_t in;          /* datagrams read */
	uint64_t own;         /* our own, looped back */
	uint64_t known;       /* from a peer in the roster: it is alive */
	uint64_t wait;        /* a new peer with a smaller id: it connects to us */
	uint64_t connect;     /* a new peer: a session started (gated) */
	uint64_t credit;      /* from the address of a gated session: more credit */
	uint64_t leave;       /* LEAVE (the session's BYE says it) */
	uint64_t drop_trunc;  /* longer than any chat packet */
	uint64_t drop_bad;    /* not a chat packet (chat_pkt_decode), or port 0 */
	uint64_t drop_type;   /* a chat packet that is no beacon */
	uint64_t drop_short;  /* a new peer's beacon too short to pay for a HELLO */
	uint64_t drop_busy;   /* a new peer while CHAT_MAX_GATED sessions wait, or no slot */
};

/* The gate on the data socket's output (--stats "gate:"). */
struct chat_gate_stats {
	uint64_t sent, sent_bytes; /* datagrams to unanswered beacon addresses */
	uint64_t held;             /* not sent: no credit left (the core retries) */
};

#define CHAT_MAX_GATED 16 /* sessions waiting for a beacon's address to answer */
#define CHAT_CREDIT_MAX (4 * CHAT_BEACON_MIN)

struct chat {
	struct opts o;
	uint64_t id;
	char nick[CHAT_NICK_MAX + 1];
	struct udp_sock *data, *bsock; /* bsock: beacons in (NULL without discovery) */
	struct udp_addr group;         /* where beacons go */
	struct rel_core *core;
	struct rel_drv *drv;
	struct chat_roster *roster;
	struct sess s[MAX_PEERS];
	int tty, color, quitting;
	struct chat_tty ed;
	uint64_t next_beacon;
	double explicit_retry[MAX_EXPLICIT];
	struct udp_addr explicit_addr[MAX_EXPLICIT];
	uint64_t sent, received, privates;
	char out[OUT_MAX];
	/* a core session left in its handshake (rel_close cannot end one):
	 * still gated until the core reports it dead or connected */
	uint32_t orphan[MAX_PEERS];
	int norphan;
	int ngated; /* sessions with gated set, plus orphans */
	struct chat_beacon_stats bst;
	struct chat_gate_stats gst;
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
/* Starts a session (its HELLO is queued); NULL when none could be made. */
struct sess *chat_connect_to(struct chat *c, const struct udp_addr *a, uint64_t expect,
			     int explicit_idx);
void chat_rel_events(struct chat *c);

/* tool_chat_beacon.c */
void chat_send_beacon(struct chat *c, uint8_t type);
void chat_read_beacons(struct chat *c);
/* A session slot is given up: a gated one still in its handshake stays
 * gated as an orphan.  handshake: 1 when the core still runs it. */
void chat_gate_release(struct chat *c, struct sess *s, int handshake);
/* The core reported peer dead or connected: an orphan no more. */
void chat_gate_forget(struct chat *c, uint32_t rel);
/* The data socket's output gate (rel_drv_set_gate; ctx: the chat). */
int chat_gate(void *ctx, const struct rel_dgram *g);
void chat_beacon_stats(struct chat *c);

/* tool_chat_cmd.c */
struct chat_input {
	char buf[CHAT_TEXT_MAX * 2 + 2];
	size_t len;
	int eof;
};
void chat_start_quit(struct chat *c);
void chat_read_input(struct chat *c, struct chat_input *in);

#endif
