/* chat_group_int.h - the inside of struct chat_group, shared by its files:
 *
 * chat_group.c   new/free and the calls of chat_group.h a user makes
 * chat_sess.c    the session table: find, open, send, close
 * chat_input.c   what sessions deliver: HELLO, lines, peer lists, core events
 * chat_beacon.c  beacons out and in
 * chat_catchup.c lines said before a peer was met, and /history
 * chat_log.c     the sent-line log and the seen table (chat_log.h)
 * chat_gate.c    the output gate for sessions that beacons or lists started
 * chat_pex.c     peer lists received: which entries to connect to, paid how
 * chat_file.c    file transfers: offer, accept, chunks, end
 * chat_ident.c   identities: keys met, known peers, refused keys, /trust
 *
 * Not for tools/: only chat_group.h is the interface. */
#ifndef CHAT_GROUP_INT_H
#define CHAT_GROUP_INT_H

#include "chat_group.h"
#include "chat_log.h"

/* One reliable session; id is 0 until the peer's HELLO names it. */
struct chat_sess {
	int used;
	uint32_t rel;
	uint64_t id;
	uint64_t expect;   /* the id a beacon announced (connects we started) */
	int explicit_idx;  /* index + 1 in the added peers, 0 if none */
	int closing;       /* we closed it (quitting, or a duplicate) */
	uint64_t opened;   /* HELLO is due within gone_us of this */
	uint64_t peer_start;  /* its HELLO: when it started (wall clock, us) */
	uint64_t history_ok;  /* we answer its next HISTORY from then on */
	struct udp_addr addr;
	/* Started by a beacon, which anyone can forge with any source address:
	 * until the peer answers (a packet of this session arrives), what is
	 * sent to it is paid for by the beacon bytes received from it
	 * (credit), so a forged beacon cannot make us send its "source" more
	 * than it sent (docs/CHAT.md, "Hostile beacons"). */
	int gated;
	uint32_t credit;
	/* Started from a peer list (docs/CHAT.md, "Hostile peer lists"):
	 * gated too, with credit for one HELLO, charged to the list's sender
	 * (pex_src, a session rel id).  pex_spent: on a sender, the bytes of
	 * HELLOs its lists have cost so far (at most what it sent us). */
	int pex;
	uint32_t pex_src;
	uint64_t pex_spent;
	uint64_t heard; /* when its beacon last came over the group (0: never) */
	/* identities: the key we called (connects we started), then the
	 * key its handshake proved (after HELLO) */
	int has_key;
	uint8_t key[CHAT_KEY_LEN];
};

#define CHAT_REFUSED_MAX 16 /* keys refused for known nicks, waiting for /trust */
#define CHAT_TOLD_MAX 64    /* peers told once that identities differ */

/* A known nick that came with another key (chat_ident.c). */
struct chat_refused {
	char nick[CHAT_NICK_MAX + 1];
	uint8_t key[CHAT_KEY_LEN], old[CHAT_KEY_LEN];
	uint64_t id;
};

/* An entry of a peer list that its sender could not pay for yet. */
struct chat_pex_wait {
	uint64_t id, since;
	uint32_t src;
	struct udp_addr addr;
	int has_key;
	uint8_t key[CHAT_KEY_LEN];
};

/* A file transfer (chat_file.c), bound to the session rel. */
struct chat_xfer {
	int used, out, accepted;
	uint64_t peer;
	uint32_t fid, rel;
	uint64_t size, done; /* done: bytes queued (out) or received (in) */
	uint64_t since;      /* offered (out) or the offer received (in) */
	/* out: msg ids of the chunks in flight, oldest at rhead */
	uint64_t ring[CHAT_FILE_WINDOW];
	unsigned rhead, rn;
};

struct chat_group {
	struct chat_group_config cfg; /* nick points to ours below */
	char nick[CHAT_NICK_MAX + 1];
	struct chat_roster *roster;
	struct chat_sess s[CHAT_GROUP_MAX_SESS];
	int quitting;
	uint64_t next_beacon;
	uint64_t beacon_gap;  /* now: fast while the roster changes, then doubles */
	int64_t wall_off;     /* wall clock = now + wall_off (never steps back) */
	uint64_t start;       /* when we started, wall clock */
	uint64_t next_seq;    /* our next line counter */
	uint64_t history_ok;  /* our next HISTORY request from then on */
	struct chat_log *log;
	struct chat_seen *seen;
	struct udp_addr peer_addr[CHAT_GROUP_MAX_PEERS];
	uint64_t peer_retry[CHAT_GROUP_MAX_PEERS];
	int npeers;
	/* a core session left in its handshake (rel_close cannot end one):
	 * still gated until the core reports it dead or connected */
	uint32_t orphan[CHAT_GROUP_MAX_SESS];
	uint8_t orphan_pex[CHAT_GROUP_MAX_SESS];  /* started from a list ... */
	uint32_t orphan_src[CHAT_GROUP_MAX_SESS]; /* ... of this sender's */
	int norphan;
	int ngated; /* sessions with gated set, plus orphans */
	int npex;   /* of them, started from peer lists */
	struct chat_pex_wait pexq[CHAT_PEX_QUEUE];
	int npexq;
	struct chat_xfer xf[CHAT_FILE_MAX];
	uint32_t next_fid;
	int ident;                     /* we have an identity key (cfg.ident_pub) */
	uint8_t ident_pub[CHAT_KEY_LEN];
	uint8_t peer_key[CHAT_GROUP_MAX_PEERS][CHAT_KEY_LEN]; /* of the added peers */
	uint8_t peer_has_key[CHAT_GROUP_MAX_PEERS];
	struct chat_refused refused[CHAT_REFUSED_MAX];
	int nrefused;
	uint64_t told[CHAT_TOLD_MAX]; /* ring of peer ids told IDENT NOKEY/ONLY */
	int ntold;
	uint64_t told_at;             /* when the last such notice was given */
	struct chat_group_stats st;
};

/* chat_group.c */
void chat_emit(struct chat_group *g, struct chat_group_event *ev);
void chat_note(struct chat_group *g, enum chat_group_note note, const struct udp_addr *a,
	       int err, size_t len);
/* A presence event (JOIN, LEAVE, AWAY, ...) for peer id with nick. */
void chat_presence(struct chat_group *g, enum chat_group_event_type type, uint64_t id,
		   const char *nick, const struct udp_addr *addr, const char *to);

/* chat_sess.c */
struct chat_sess *chat_sess_by_rel(struct chat_group *g, uint32_t rel);
struct chat_sess *chat_sess_by_id(struct chat_group *g, uint64_t id);
struct chat_sess *chat_sess_by_addr(struct chat_group *g, const struct udp_addr *a);
struct chat_sess *chat_sess_new(struct chat_group *g, uint32_t rel, uint64_t now);
int chat_encode(const struct chat_group *g, uint8_t type, const void *text, size_t n,
		uint8_t *buf, size_t cap);
int chat_sess_send(struct chat_group *g, struct chat_sess *s, uint8_t type,
		   const void *text, size_t n, enum rel_mode mode, uint64_t now);
/* A packet with its per-type fields (p: type, seq, ts, flags, count, text);
 * id, port and nick are ours. */
int chat_sess_send_pkt(struct chat_group *g, struct chat_sess *s, struct chat_pkt *p,
		       uint64_t now);
void chat_sess_close(struct chat_group *g, struct chat_sess *s, uint64_t now);
/* The fields of a packet that say who we are: id, nick, and with an
 * identity version 3 and our key. */
void chat_pkt_self(const struct chat_group *g, struct chat_pkt *p);
/* Starts a session (its HELLO is queued); NULL when none could be made.
 * key: the peer's public key, which a group with an identity needs. */
struct chat_sess *chat_connect_to(struct chat_group *g, const struct udp_addr *a,
				  uint64_t expect, int explicit_idx, const uint8_t *key,
				  uint64_t now);

/* chat_input.c */
void chat_rel_events(struct chat_group *g, uint64_t now);

/* chat_beacon.c */
void chat_send_beacon(struct chat_group *g, uint8_t type, uint64_t now);
/* The roster is changing: beacons at the fast rate again (then backing off). */
void chat_beacon_hurry(struct chat_group *g, uint64_t now);
/* The gap after the beacon sent now (doubling up to beacon_us). */
uint64_t chat_beacon_next_gap(struct chat_group *g);

/* chat_catchup.c */
uint64_t chat_wall(const struct chat_group *g, uint64_t now);
/* Session s has just been named by its HELLO: what we said since its
 * peer started, before anything new. */
void chat_catchup(struct chat_group *g, struct chat_sess *s, uint64_t now);
/* A HISTORY from s: our last lines from before it started (rate-limited). */
void chat_on_history(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now);
/* A line from s, shown unless it was shown already. */
void chat_on_line(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		  const char *nick, uint64_t now);

/* chat_pex.c */
/* A PEERS message from the verified session src (keyed: version 3, a key
 * with every entry). */
void chat_pex_list(struct chat_group *g, struct chat_sess *src, const uint8_t *list, size_t n,
		   int keyed, uint64_t now);
/* Retries entries that waited for their sender's budget (every beacon). */
void chat_pex_tick(struct chat_group *g, uint64_t now);

/* chat_file.c */
/* FILE_OFFER, FILE_ACCEPT, FILE_DATA or FILE_CANCEL from the named session s. */
void chat_file_input(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now);
/* REL_EV_ACKED: a chunk may have left a transfer's window. */
void chat_file_acked(struct chat_group *g, uint32_t rel, uint64_t msg_id);
/* Session rel is over: its transfers end (CHAT_FILE_GONE). */
void chat_file_sess_gone(struct chat_group *g, uint32_t rel, uint64_t now);
void chat_file_cancel_all(struct chat_group *g, uint64_t now);
/* More chunks where windows have room (after the core's events). */
void chat_file_pump(struct chat_group *g, uint64_t now);
/* Offers not accepted within file_offer_us end as CHAT_FILE_EXPIRED. */
void chat_file_expire(struct chat_group *g, uint64_t now);
/* When the next offer expires (UINT64_MAX: none waits). */
uint64_t chat_file_next_deadline(const struct chat_group *g);

/* chat_ident.c */
/* A beacon of new peer id with nick and key (NULL: none), which proves
 * nothing: 1 it may be met (its HELLO is checked), 0 not: identities that
 * differ (told once) or a key refused before.  Records nothing. */
int chat_ident_beacon(struct chat_group *g, uint64_t id, const char *nick, const uint8_t *key,
		      uint64_t now);
/* Peer id has proved key and claims nick (HELLO, NICK): 1 it may be met (a
 * first key is recorded and told), 0 no (a known nick with another key:
 * told once, refused until /trust). */
int chat_ident_admit(struct chat_group *g, uint64_t id, const char *nick, const uint8_t *key);
/* Session s said HELLO p: its key must be the one its handshake proved.
 * 1: s has its key now and nick may be met; 0: closed. */
int chat_ident_hello(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now);

/* chat_gate.c */
/* A session slot is given up: a gated one still in its handshake stays
 * gated as an orphan.  handshake: 1 when the core still runs it. */
void chat_gate_release(struct chat_group *g, struct chat_sess *s, int handshake);
/* The core reported peer dead or connected: an orphan no more. */
void chat_gate_forget(struct chat_group *g, uint32_t rel);

#endif
