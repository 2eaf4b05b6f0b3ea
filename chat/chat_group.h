/* chat_group.h - one udpchat peer in its group: a reliable session per
 * peer (HELLO, lines, peer lists), beacons for discovery, the gate that
 * keeps a forged beacon from making us a reflector, and the roster.
 *
 * No terminal, no printing: what happens is reported through the
 * on_event callback (a line received, a peer joined, left, went away, ...)
 * and counted in struct chat_group_stats; tools/ turns both into text or
 * JSON.  Time is the caller's monotonic microsecond count (rel_drv_now()).
 *
 * Ownership: chat_group_new() allocates the group and its roster, freed by
 * chat_group_free().  The core, driver and data socket in the config stay
 * the caller's; they must outlive the group. */
#ifndef CHAT_GROUP_H
#define CHAT_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "chat_file.h"
#include "chat_known.h"
#include "chat_roster.h"
#include "chat_wire.h"
#include "rel.h"
#include "rel_drv.h"
#include "udp_addr.h"
#include "udp_sock.h"

#define CHAT_GROUP_MAX_SESS 256  /* sessions (and peers) at once */
#define CHAT_GROUP_MAX_PEERS 32  /* addresses given with chat_group_add_peer */
#define CHAT_MAX_GATED 16        /* sessions waiting for a beacon's address to answer */
#define CHAT_CREDIT_MAX (4 * CHAT_BEACON_MIN)
#define CHAT_HISTORY_GAP_US 5000000u /* one HISTORY asked, and answered per peer, per 5 s */
#define CHAT_BEACON_FAST_DIV 8       /* beacons at beacon_us / 8 while the roster changes */
/* Peer lists (docs/CHAT.md, "Hostile peer lists"): sessions that lists
 * started send at most CHAT_PEX_HELLOS HELLOs until answered and wait
 * (unanswered) at most CHAT_PEX_MAX at once, an eighth of the
 * slots, CHAT_PEX_PER_PEER of them from one sender's lists; one list acts
 * on at most CHAT_PEX_PER_LIST entries; entries its sender cannot pay for
 * yet wait in a queue of CHAT_PEX_QUEUE for at most gone_us. */
#define CHAT_PEX_MAX 32
#define CHAT_PEX_PER_PEER 8
#define CHAT_PEX_PER_LIST 16
#define CHAT_PEX_QUEUE 32
/* HELLOs (the first and retransmissions) a session that a list started may
 * send until its address answers, each paid by the list's sender */
#define CHAT_PEX_HELLOS 4

struct chat_group;

enum chat_group_event_type {
	CHAT_GROUP_LINE = 1,    /* a MSG, ME or PRIV: line_type, text, ts_us, line_flags */
	CHAT_GROUP_JOIN,        /* addr: where its session is */
	CHAT_GROUP_LEAVE,       /* BYE, or its session closed */
	CHAT_GROUP_AWAY,
	CHAT_GROUP_BACK,
	CHAT_GROUP_GONE,        /* silent for gone_us, or its session died */
	CHAT_GROUP_NICK,        /* to: the new display name */
	CHAT_GROUP_SEND_FAILED, /* a line did not go to one peer: err */
	CHAT_GROUP_NOTE,        /* for a verbose log: note, and addr/err/len */
	CHAT_GROUP_FILE,        /* a file transfer: file (chat_file.h) */
	CHAT_GROUP_IDENT,       /* identities: ident, nick, key, old_key */
};

/* What an IDENT event says (docs/CHAT.md, "Identities"). */
enum chat_ident_what {
	CHAT_IDENT_NEW = 1,  /* first key seen for nick: now in the known peers (save them) */
	CHAT_IDENT_CHANGED,  /* nick is known with old_key and came with key: refused
			      * until chat_group_trust(nick) */
	CHAT_IDENT_TRUSTED,  /* chat_group_trust: nick is bound to key now (save them) */
	CHAT_IDENT_NOKEY,    /* we have an identity, peer id has none: not met */
	CHAT_IDENT_ONLY,     /* peer id has an identity key (key), we have none: not met */
};

enum chat_group_note {
	CHAT_NOTE_CONNECTING = 1, /* addr */
	CHAT_NOTE_CONNECT_FAILED, /* addr, err */
	CHAT_NOTE_COPY_REFUSED,   /* a HELLO with a known id from another address */
	CHAT_NOTE_BAD_PACKET,     /* len: not a chat packet, dropped */
	CHAT_NOTE_SILENT_CLOSED,  /* a session without HELLO within gone_us */
	CHAT_NOTE_BEACON_FAILED,  /* err: sending a beacon to the group */
};

/* Valid during the callback only. */
struct chat_group_event {
	enum chat_group_event_type type;
	uint64_t id;       /* the peer */
	const char *name;  /* its display name (nick#xxxx) */
	uint8_t line_type; /* LINE: CHAT_MSG, CHAT_ME or CHAT_PRIV */
	uint8_t line_flags; /* LINE: CHAT_LINE_LATE (catch-up), CHAT_LINE_HISTORY, or 0 */
	uint64_t ts_us;    /* LINE: when its sender said it, us since the Unix epoch */
	const uint8_t *text;
	size_t text_len;
	const char *to;    /* NICK */
	const struct udp_addr *addr;
	enum chat_group_note note;
	int err;
	size_t len;
	const struct chat_file_event *file; /* FILE */
	enum chat_ident_what ident;          /* IDENT */
	const char *nick;                    /* IDENT: the nick as claimed (raw) */
	const uint8_t *key, *old_key;        /* IDENT: CHAT_KEY_LEN bytes; old_key may be NULL */
};

typedef void (*chat_group_event_fn)(void *ctx, const struct chat_group_event *ev);

struct chat_group_config {
	struct rel_core *core;   /* accepting, max_msg >= CHAT_PKT_MAX */
	struct rel_drv *drv;     /* over data */
	struct udp_sock *data;   /* beacons go out from it, with its port */
	const struct udp_addr *group; /* where beacons go; NULL: none (no discovery) */
	uint64_t id;             /* our random peer id, not 0 */
	const char *nick;
	uint64_t beacon_us, away_us, gone_us; /* defaults 1 s, 5 s, 10 s */
	/* An offer (ours or a peer's) not accepted within this ends as
	 * CHAT_FILE_EXPIRED; default CHAT_FILE_OFFER_US (10 min), 0 too. */
	uint64_t file_offer_us;
	/* wall clock (us since the Unix epoch) = now + wall_offset_us; 0: taken
	 * from CLOCK_REALTIME - CLOCK_MONOTONIC at chat_group_new.  Fixed, so
	 * line times never step back (catch-up selects by them). */
	int64_t wall_offset_us;
	chat_group_event_fn on_event;
	void *ctx;
	chat_file_read_fn file_read; /* bytes of the files we send (ctx too) */
	/* Identities (docs/CHAT.md, "Identities"): our public key, CHAT_KEY_LEN
	 * bytes (copied); NULL: none.  With it, core must run identity
	 * sessions (rel_ident_attach, its authorize calling
	 * chat_group_authorize) and meets only peers with a key. */
	const uint8_t *ident_pub;
	/* The known peers (borrowed; NULL: every key is taken as new and
	 * nothing is recorded).  The group adds first keys and /trust to it
	 * and says so (IDENT NEW, TRUSTED); saving it is the caller's. */
	struct chat_known *known;
	/* Where beacons to the group leave from (NULL: data).  With a group
	 * key and identities the data socket is not sealed (the sessions are,
	 * with the group key as Noise PSK), but beacons still must be: they
	 * leave from the sealed beacon socket. */
	struct udp_sock *beacon_out;
};
void chat_group_config_default(struct chat_group_config *c);

/* What became of each datagram on the beacon port. */
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
	uint64_t elsewhere;   /* a new peer that another member of ours answers */
	uint64_t mixed;       /* a new peer with an identity key when we have none, or
			       * the other way round: not met (IDENT NOKEY / ONLY) */
	uint64_t refused_key; /* a known nick with another key (IDENT CHANGED) */
};

/* Identities: what became of keys presented to us. */
struct chat_ident_stats {
	uint64_t new_keys;    /* first keys, recorded */
	uint64_t changed;     /* a known nick with another key: refused */
	uint64_t authz_refused; /* handshakes refused by chat_group_authorize */
	uint64_t bad_hello;   /* HELLO whose key is not the session's (or missing) */
};

/* What became of peer lists (PEERS) and their entries. */
struct chat_pex_stats {
	uint64_t lists, entries; /* received on verified sessions */
	uint64_t skip;       /* known, ours, other family, met meanwhile */
	uint64_t connect;    /* a session started (gated: CHAT_PEX_HELLOS HELLOs until answered) */
	uint64_t queued;     /* waiting for its sender's budget or a free place, or (a
			      * smaller id) --gone/2 for it to connect first */
	uint64_t drop_list;  /* beyond CHAT_PEX_PER_LIST new entries in one list */
	uint64_t drop_busy;  /* queue full, expired, or its sender gone */
};

/* The gate on the data socket's output. */
struct chat_gate_stats {
	uint64_t sent, sent_bytes; /* datagrams to unanswered beacon addresses */
	uint64_t held;             /* not sent: no credit left (the core retries) */
};

struct chat_group_stats {
	uint64_t sent, received, privates; /* lines */
	uint64_t late_sent;      /* lines sent again by catch-up */
	uint64_t history_sent;   /* lines sent answering HISTORY */
	uint64_t history_refused;/* HISTORY asked again within CHAT_HISTORY_GAP_US */
	uint64_t dup;            /* lines received that were shown already: dropped */
	uint64_t files_busy;     /* offers refused: CHAT_FILE_PER_PEER, CHAT_FILE_PENDING_MAX
				  * or CHAT_FILE_MAX reached */
	uint64_t files_expired;  /* offers (either way) not accepted within file_offer_us */
	struct chat_beacon_stats beacons;
	struct chat_gate_stats gate;
	struct chat_pex_stats pex;
	struct chat_ident_stats ident;
	int gated; /* sessions waiting behind the gate now */
	int gated_pex; /* of them, started from peer lists */
};

/* Returns 0, UDP_EINVAL (missing core/driver/socket, id 0, bad nick,
 * away >= gone) or UDP_ENOMEM; *out is NULL on failure. */
int chat_group_new(struct chat_group **out, const struct chat_group_config *cfg);
void chat_group_free(struct chat_group *g); /* NULL is a no-op */

/* The output gate for rel_drv_set_gate (ctx: the group; NULL lets all
 * pass).  1: send g, 0: drop it. */
int chat_group_gate(void *ctx, const struct rel_dgram *g);

/* A peer to connect to by address (up to CHAT_GROUP_MAX_PEERS); tried
 * again every gone_us while it has no session. */
int chat_group_add_peer(struct chat_group *g, const struct udp_addr *a, uint64_t now);
/* The same with the peer's public key (CHAT_KEY_LEN bytes), which a group
 * with an identity needs to connect (Noise IK: the connecting side knows
 * whom it calls). */
int chat_group_add_peer_key(struct chat_group *g, const struct udp_addr *a, const uint8_t *key,
			    uint64_t now);

/* ---- identities (docs/CHAT.md, "Identities") ---- */
/* rel_ident_config.authorize for the core of a group with an identity:
 * refuses a key that came with a known nick it is not bound to (until
 * /trust); 0 lets it in (its HELLO is checked again).  ctx: the group. */
int chat_group_authorize(void *ctx, const uint8_t key[CHAT_KEY_LEN]);
/* /trust NICK: binds nick to the key it was refused with (the latest such
 * key) and says IDENT TRUSTED; the peer is met at its next beacon or
 * connect.  UDP_EINVAL when no key for nick waits. */
int chat_group_trust(struct chat_group *g, const char *nick, uint64_t now);
/* The verified public key of roster peer id (identity sessions only):
 * 0, or UDP_EINVAL. */
int chat_group_peer_key(const struct chat_group *g, uint64_t id, uint8_t key[CHAT_KEY_LEN]);

/* Beacons, retries and closing of silent sessions, when due. */
void chat_group_tick(struct chat_group *g, uint64_t now);
/* What the core has to say (after rel_drv_service), and roster timers. */
void chat_group_poll(struct chat_group *g, uint64_t now);
/* When tick or poll next has work (with the core's own deadline). */
uint64_t chat_group_next_deadline(const struct chat_group *g);
/* One datagram from the beacon port (m->flags may say UDP_MSG_TRUNC). */
void chat_group_beacon_input(struct chat_group *g, const struct udp_msg *m, uint64_t now);

/* A line to every peer: CHAT_MSG or CHAT_ME (counted as sent), or another
 * packet type without text.  SEND_FAILED for each peer it missed. */
void chat_group_say(struct chat_group *g, uint8_t type, const void *text, size_t n,
		    uint64_t now);
/* A private line to one peer of the roster.  Returns 0, UDP_EINVAL when
 * it has no session, or the core's error. */
int chat_group_send_private(struct chat_group *g, uint64_t id, const void *text, size_t n,
			    uint64_t now);
/* Asks every peer for its last n (1..CHAT_HISTORY_MAX) lines said before
 * we started; they arrive as LINE events with CHAT_LINE_HISTORY.  Returns
 * the number of peers asked, UDP_EINVAL (n out of range) or UDP_EAGAIN
 * (asked less than CHAT_HISTORY_GAP_US ago). */
int chat_group_history(struct chat_group *g, unsigned n, uint64_t now);
/* A new nickname, told to every peer.  UDP_EINVAL when chat_nick_check
 * refuses it. */
int chat_group_set_nick(struct chat_group *g, const char *nick, uint64_t now);
/* ---- files (chat_file.h; docs/CHAT.md, "Files") ---- */
/* Offers peer a file of size bytes named name (1..CHAT_FILE_NAME_MAX
 * bytes; the receiver sanitises it) hashing to sha256; *fid names the
 * transfer in later events.  Returns 0, UDP_EINVAL (no such peer or
 * session, bad name, quitting), UDP_EAGAIN (CHAT_FILE_PER_PEER offers to it
 * already, or CHAT_FILE_MAX) or the core's error. */
int chat_group_file_offer(struct chat_group *g, uint64_t peer, const char *name,
			  uint64_t size, const uint8_t sha256[CHAT_SHA256_LEN], uint32_t *fid,
			  uint64_t now);
/* Accepts peer's offer fid: its bytes follow as CHAT_FILE_EV_DATA.  Offers
 * not accepted within file_offer_us end (END, CHAT_FILE_EXPIRED) in
 * chat_group_poll, on both sides. */
int chat_group_file_accept(struct chat_group *g, uint64_t peer, uint32_t fid, uint64_t now);
/* Ends a transfer (out: 1 if we send it) and tells the peer why: DONE
 * (receiver, checked), REFUSED, CANCELLED, FAILED, TOO_BIG, BUSY.  An END
 * event follows at once.  UDP_EINVAL when there is no such transfer. */
int chat_group_file_end(struct chat_group *g, uint64_t peer, uint32_t fid, int out,
			enum chat_file_reason why, uint64_t now);

/* Leaving: transfers cancelled, BYE in every session, a graceful close,
 * a LEAVE beacon. */
void chat_group_quit(struct chat_group *g, uint64_t now);
int chat_group_quitting(const struct chat_group *g);
/* Sessions still open (quitting ends when none is left). */
int chat_group_sessions(const struct chat_group *g);

const struct chat_roster *chat_group_roster(const struct chat_group *g);
/* Where the session of roster peer id is; UDP_EINVAL when it has none. */
int chat_group_peer_addr(const struct chat_group *g, uint64_t id, struct udp_addr *out);
uint64_t chat_group_id(const struct chat_group *g);
const char *chat_group_nick(const struct chat_group *g);
/* Display name of id (ourselves included), as chat_roster_name. */
int chat_group_name(const struct chat_group *g, uint64_t id, const char *nick, char *buf,
		    size_t cap);
void chat_group_stats(const struct chat_group *g, struct chat_group_stats *out);

#endif
