/* rel_int.h - internal structures of the reliable core, shared by
 * rel_core.c (sessions, handshake, queues), rel_send.c (sending, acks,
 * timers) and rel_recv.c (receiving, reassembly, delivery). */
#ifndef REL_INT_H
#define REL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rel.h"
#include "rel_hash.h"
#include "rel_wire.h"

/* Sequence arithmetic modulo 2^32: a is before b when (int32)(a - b) < 0. */
static inline int32_t rel_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

enum rel_state {
	REL_ST_HELLO,   /* client: HELLO sent, waiting for COOKIE */
	REL_ST_CONNECT, /* client: CONNECT sent, waiting for ACCEPT */
	REL_ST_OPEN,
	REL_ST_LINGER,  /* closed both ways: only re-acks until linger_us */
};

/* A message being sent, kept until the peer's cumulative ack passes it. */
struct rel_txmsg {
	struct rel_txmsg *next;
	uint64_t id;
	uint32_t len;
	uint32_t first_seq;  /* valid once started */
	uint32_t nfrag;
	uint32_t frag_size;
	uint32_t next_frag;  /* next fragment to send for the first time */
	uint32_t cap;        /* bytes data[] can hold (recycled records) */
	uint8_t mode;
	uint8_t fin;         /* the FIN pseudo-message */
	/* what is sent: data[], or the caller's bytes (rel_send_borrowed),
	 * read until the record is released */
	const uint8_t *bytes;
	uint8_t data[];      /* the message, in the same allocation (copied) */
};

enum { TX_FREE = 0, TX_INFLIGHT, TX_ACKED };

/* One slot of the send window, indexed by seq % window. */
struct rel_txpkt {
	struct rel_txmsg *msg;
	uint64_t sent_us;
	uint64_t txo;        /* transmission order of the latest send */
	uint32_t off;
	uint32_t index;
	uint32_t len;
	uint16_t tx_count;
	uint8_t state;
	uint8_t lost;        /* REL_LOST_*: out of the flight */
};
/* lost: REL_LOST queued for retransmission; REL_LOST_RTO counted out of the
 * flight by a timeout whose probe is out, held back until an ack tells
 * whether the timeout was spurious (rel_frto.c). */
enum { REL_LOST = 1, REL_LOST_RTO = 2 };

/* A message being received (or complete, waiting for in-order delivery). */
struct rel_rxmsg {
	struct rel_rxmsg *next, *prev; /* sorted by start seq */
	uint8_t *buf;
	uint32_t start, count, got, len, frag_size;
	uint32_t cap;        /* bytes buf holds: grows as fragments arrive */
	uint64_t last_us;    /* a fragment of it last arrived (stall_us) */
	uint8_t mode;
	uint8_t fin;
	uint8_t dead;        /* dropped as stalled: fragments acked, not kept */
};

/* A source host (rel_src.c): its sessions and the receive memory they hold. */
struct rel_src {
	uint64_t mem;        /* sum of used + held of its sessions */
	uint32_t nsess;      /* sessions pointing here */
	uint32_t naccepted;  /* of them, accepted (max_per_source) */
	uint32_t home;       /* table slot its key hashes to */
	size_t key_len;
	uint8_t key[REL_ADDR_MAX];
};

/* Handshake rate limit of the sources hashed to it (rel_src.c): GCRA, the
 * token bucket kept as one time.  tag names its source (a keyed hash). */
struct rel_hs_slot {
	uint64_t tag;
	uint64_t tat;        /* theoretical arrival time: full bucket once <= now */
};
#define REL_HS_SETS 1024u /* x REL_HS_WAYS slots: 64 KiB, whatever the load */
#define REL_HS_WAYS 4u
/* COOKIEs that may keep one plain handshake alive (rel_hs.c): at 30 % loss
 * each way a fourth is needed about once in 500 handshakes */
#define REL_HS_COOKIES_ALIVE 4u

struct rel_sess {
	struct rel_sess *next;
	struct rel_src *src;
	uint32_t id;
	uint8_t addr[REL_ADDR_MAX];
	size_t addr_len;
	uint32_t lsid, rsid;
	enum rel_state state;
	int passive; /* created by accepting */

	/* handshake (client) */
	uint32_t hs_bucket;
	uint64_t hs_cookie;
	uint32_t hs_tries;    /* CONNECT timeouts with this cookie */
	uint32_t hs_cookies;  /* COOKIEs that kept this handshake alive */
	uint32_t hs_init_seq; /* ours, sent in CONNECT/ACCEPT */
	/* crypto hook (PROTOCOL.md 9): its state, made by hs_init or
	 * hs_respond; keyed once the exchange is done (seal/open from then
	 * on).  hs_saved is our CONNECT (client, for this cookie) or ACCEPT
	 * (server, until the client's first sealed packet), resent as is;
	 * hs_mac names the CONNECT it answers (server). */
	void *crypto;
	int keyed;
	uint8_t *hs_saved;
	size_t hs_saved_len;
	uint64_t hs_mac;
	uint8_t hs_arg[REL_CRYPTO_ARG_MAX]; /* rel_connect_ex's crypto_arg */
	int hs_has_arg;

	/* what the peer told us */
	uint32_t peer_window_pkts, peer_max_msg;
	uint64_t peer_window; /* bytes, latest advertised */
	uint32_t peer_window_ts; /* peer's ts of that advertisement */
	uint32_t peer_window_cum; /* and its cumulative ack */
	int have_window_ts;
	int flow_blocked;     /* a message waits for the peer's window */

	/* sending */
	uint32_t win;             /* min(own window, peer's) */
	uint32_t snd_una, snd_nxt;
	struct rel_txpkt *ring;   /* cfg.window slots */
	struct rel_txmsg *q_head, *q_tail, *q_send;
	uint64_t txo_next, largest_acked_txo;
	uint64_t rack_rtt;        /* RTT of that packet (RACK.rtt) */
	uint32_t n_lost;
	uint64_t outstanding;     /* bytes of started, not cum-acked messages */
	uint64_t queued;          /* bytes of all unacked messages */
	uint64_t inflight_bytes;  /* sent, not acked, not declared lost */
	uint32_t inflight_pkts;   /* the same in packets */
	uint64_t msg_id_next;
	uint64_t cc_wake;         /* cc asked us to wait until then */
	void *cc_state;           /* cfg.cc->state_size bytes */
	uint32_t dg_next;

	/* close */
	int close_req, fin_sent, fin_acked, peer_fin, closed_ev;
	uint32_t fin_seq;

	/* timers */
	uint64_t rto, srtt, rttvar;
	uint64_t rtt_latest;      /* newest sample, for the cc hook */
	uint64_t rtt_min;         /* smallest sample */
	int have_rtt;
	uint64_t rto_at, last_send, last_recv, linger_at;
	uint64_t loss_at;         /* re-run loss detection then (0: none) */
	uint64_t tlp_at;          /* tail loss probe (0: none) */
	int tlp_sent;             /* one probe per tail */
	uint32_t rto_linear;      /* thin-stream timeouts not backed off */
	/* spurious timeouts (rel_frto.c): after an RTO only its probe goes
	 * until an ack says whether anything sent before it arrived */
	int frto;                 /* a timeout's probe is out, not judged yet */
	uint32_t frto_n;          /* timeouts of this episode */
	uint64_t frto_txo;        /* txo_next at its first: sent before, if <= */
	uint64_t frto_at;         /* time of its first */
	uint64_t frto_sent;       /* send time of the oldest unacked then */
	uint64_t frto_rto;        /* the RTO before it (undone if spurious) */
	uint64_t rto_floor;       /* RTO no lower: a spike that fired one (0: none) */
	uint64_t rto_floor_at;    /* set or last halved then */
	void *cc_saved;           /* cc_state before the first timeout */

	/* receiving */
	uint32_t rcv_nxt;
	uint32_t rcv_max;         /* one past the highest seq received */
	uint8_t *rbits;           /* cfg.window bytes, seq % window: received */
	struct rel_rxmsg *rx_head, *rx_tail, *rx_hit;
	uint64_t stall_at;        /* look for stalled messages then (0: none) */
	uint64_t used;            /* receive budget: reassembly buffers */
	uint64_t held;            /* receive budget: delivered, not yet polled */
	uint32_t ts_recent;
	uint64_t ts_recent_at;
	int have_ts;
	int ack_pending;          /* an ack is owed */
	int ack_now;              /* ... and must go at the next flush */
	uint32_t ack_count;       /* ack-eliciting packets not yet acked */
	uint64_t ack_at;          /* delayed ack deadline (ack_delay_us) */
	uint64_t ack_out;         /* out-queue position of our last ACK + 1 (0: none) */
	uint32_t ack_merged;      /* acks folded into it */
	uint32_t dg_max;
	uint64_t dg_bits;
	int dg_any;

	/* path (rel_path.c): addr is where we send.  While path_check the
	 * peer's move to addr is not validated: at most 3 x path_rx bytes go
	 * there, and prev (the last validated address, whose source prev_src
	 * stays pinned) is where we fall back to. */
	int path_check;
	uint64_t path_token;      /* the challenge's 64 random bits */
	uint64_t path_rx, path_tx; /* bytes from / to addr while path_check */
	uint64_t path_at;         /* next challenge or give up (0: none) */
	uint32_t path_tries;
	struct rel_src *prev_src;
	uint8_t prev_addr[REL_ADDR_MAX]; /* also: the address left at the last migration */
	size_t prev_len;
	uint8_t fail_addr[REL_ADDR_MAX]; /* never answered: used, not followed, until fail_until */
	size_t fail_len;
	uint64_t fail_until;
	/* path MTU discovery (rel_pmtu.c); sizes are the core's datagrams,
	 * without cfg.overhead */
	struct rel_pmtu {
		uint32_t cur;         /* in use: confirmed (or the base) */
		uint32_t ceiling;     /* probe no higher: the driver's, or path_mtu */
		uint32_t hint;        /* the driver's ceiling, 0: none */
		uint32_t lo, hi;      /* search: lo carries, hi does not (ceiling + 1: untried) */
		uint32_t probe_size;  /* size of the probe out (0: none) */
		uint32_t probe_id, probe_next;
		uint32_t tries;       /* probes lost at probe_size */
		uint32_t big_lost;    /* losses of DATA above the base since one was acked */
		uint64_t lost_at;     /* when the last of them was counted */
		uint64_t probe_at;    /* send a probe then (0: none planned) */
		uint64_t timeout_at;  /* the probe out counts as lost then */
		int searching;
		int pinged;           /* a PING went for a first RTT sample */
		uint32_t owe_echo;    /* a probe to answer when the out-queue has room */
		/* ICMP "too big" (rel_pmtu_ptb): the size to probe next (0:
		 * none); data above it lost since; a size a probe carried,
		 * used for data at the next such loss until ptb_until */
		uint32_t ptb, ptb_lost, ptb_ok;
		uint64_t ptb_until;
		/* SEALED: our newest counter, and marks one probe timer apart
		 * (counters from ctr_floor on were sent recently) */
		uint64_t ctr_hi, ctr_mark, ctr_floor, ctr_mark_at;
		uint64_t probe_ctr;   /* the probe out's counter */
	} pm;
	/* receiving fragments in parts (REL_F_PART): per ring slot, the seq
	 * whose parts these are and the parts got; allocated on first use */
	struct rel_parts {
		uint32_t seq;
		uint16_t valid;
		uint16_t count;  /* the cut they belong to */
		uint64_t got[REL_PART_MAX / 64];
	} *parts;

	struct rel_stats st;
};

struct rel_outslot {
	uint8_t addr[REL_ADDR_MAX];
	size_t addr_len;
	uint32_t peer;
	size_t len;
	size_t cap;     /* bytes buf holds: the base, grown for bigger packets */
	uint8_t *buf;
};

struct rel_evnode {
	struct rel_evnode *next;
	struct rel_event ev;
	uint32_t charge; /* bytes charged to the peer's budget until polled */
};

/* Recycled message buffers wait on the core's shelf by power-of-two size
 * class, REL_SHELF_MIN to 64 KiB, REL_SHELF_MAX bytes at most (rel_buf.c). */
#define REL_SHELF_MIN 64
#define REL_SHELF_CLASSES 11
#define REL_SHELF_MAX (1u << 20)
/* Buffers of REL_BIG_MIN bytes and more are kept on a shelf of their own,
 * REL_BIG_SHELF_MAX bytes at most; the first REL_BIG_HUGE_MAX a core makes
 * are rounded up to whole huge pages and aligned (rel_buf.c), so what the
 * rounding costs is bounded per core (< 2 MiB each), whatever peers send.
 * A bulk receiver reuses the few it needs, each faulted in once. */
#define REL_BIG_MIN ((size_t)1 << 20)
#define REL_BIG_ALIGN ((size_t)2 << 20)
#define REL_BIG_SHELF_MAX ((size_t)16 << 20)
#define REL_BIG_HUGE_MAX 16

struct rel_core {
	struct rel_config cfg;
	struct rel_prf prf;     /* session ids and initial seqs */
	struct rel_sess *peers;
	uint32_t npeers, id_next;
	uint32_t ring_mask;     /* send ring / receive bits: power of two >= window, - 1 */
	struct rel_sess **tab_id, **tab_lsid; /* hash tables: by id, by local sid */
	uint32_t tab_mask;
	struct rel_src **src_tab; /* sources, open addressing, tab_mask + 1 slots */
	/* handshake responses (rel_src.c): per-source buckets (NULL: no
	 * per-source limit) and the one of all sources together */
	struct rel_hs_slot *hs_tab;
	uint64_t hs_tat;
	struct rel_outslot *out;
	uint32_t out_head, out_len;
	uint64_t out_popped;    /* datagrams taken by the driver, ever */
	int out_blocked;
	struct rel_evnode *ev_head, *ev_tail;
	struct rel_core_stats st;
	uint64_t mem;           /* receive memory of all sessions (core_budget) */
	struct rel_evnode *ev_free; /* recycled event nodes */
	uint32_t ev_nfree;
	/* Recycled send and reassembly records, so that a steady stream of
	 * messages costs no malloc but the buffer handed to the user.  Send
	 * records of up to mtu bytes (larger messages span packets: one
	 * malloc is little), within min(send_budget, 8 MiB) together;
	 * reassembly records, at most window of them. */
	struct rel_txmsg *tx_free;
	uint64_t tx_pooled;     /* bytes in tx_free */
	struct rel_rxmsg *rx_free;
	uint32_t rx_nfree;
	uint64_t allocs;        /* mallocs on the data path (tests: none in steady state) */
	uint8_t *shelf[REL_SHELF_CLASSES];
	size_t shelf_bytes;
	uint8_t *big_shelf;     /* recycled buffers of REL_BIG_MIN and more */
	size_t big_bytes;
	uint32_t big_huge;      /* huge-page buffers made, ever */
	rel_route_mtu_fn route_mtu; /* the driver's ceiling for a new session */
	void *route_ctx;
	size_t base;            /* the base packet: cfg.mtu - below */
	/* Crypto hook: seal_oh = its overhead (0 without), below =
	 * cfg.overhead + seal_oh (what is added under a session's packet),
	 * clear = cfg.mtu - cfg.overhead (the base datagram, the handshake's
	 * limit); sbuf/obuf: a packet before seal, after open */
	size_t seal_oh, below, clear;
	uint8_t *sbuf, *obuf;
	size_t sbuf_cap, obuf_cap;
};

static inline int rel_addr_eq(const struct rel_sess *p, const void *addr, size_t len)
{
	return p->addr_len == len && !memcmp(p->addr, addr, len);
}

/* rel_core.c */
uint8_t *rel_out_slot(struct rel_core *c, struct rel_sess *p); /* NULL if full */
/* The same, with room for len bytes: NULL if full or out of memory. */
uint8_t *rel_out_slot_len(struct rel_core *c, struct rel_sess *p, size_t len);
/* As rel_emit, for a packet of up to len bytes (above the base). */
int rel_emit_len(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, size_t len, uint64_t now);
uint8_t *rel_out_slot_addr(struct rel_core *c, const uint8_t *addr, size_t alen, uint32_t peer);
void rel_out_commit(struct rel_core *c, size_t len);
/* The slot of the datagram pushed as number pos (every push counts, from
 * 0), or NULL once the driver has taken it. */
struct rel_outslot *rel_out_queued(struct rel_core *c, uint64_t pos);
int rel_emit(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, uint64_t now);
/* A datagram made already (a handshake packet kept to resend). */
int rel_emit_raw(struct rel_core *c, struct rel_sess *p, const uint8_t *b, size_t len, uint64_t now);
/* pkt sealed by the crypto hook into out: its length or a negative code. */
int rel_seal_pkt(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt,
		 uint8_t *out, size_t cap, uint64_t now);
/* pkt of p into out (cap bytes: a sealed packet's room), as the peer must
 * get it: sealed once the session is keyed (types 5 and up). */
static inline int rel_encode(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt,
			     uint8_t *out, size_t cap, uint64_t now)
{
	if (!p->keyed || pkt->type < REL_PT_DATA)
		return rel_wire_encode(pkt, out, cap);
	return rel_seal_pkt(c, p, pkt, out, cap, now);
}
int rel_event_push(struct rel_core *c, const struct rel_event *ev, uint32_t charge);
/* A send record for len bytes (zeroed but for data), or NULL. */
struct rel_txmsg *rel_txmsg_get(struct rel_core *c, size_t len);
void rel_txmsg_put(struct rel_core *c, struct rel_txmsg *m);
/* A zeroed reassembly record, or NULL. */
struct rel_rxmsg *rel_rxmsg_get(struct rel_core *c);
void rel_rxmsg_put(struct rel_core *c, struct rel_rxmsg *m);
/* Message buffers (rel_buf.c): a header, then the data. */
uint8_t *rel_buf_get(struct rel_core *c, size_t n); /* NULL: out of memory */
/* buf (keep bytes of it) moved to a buffer of n >= keep bytes; NULL: out
 * of memory, buf untouched. */
uint8_t *rel_buf_grow(struct rel_core *c, uint8_t *buf, size_t keep, size_t n);
void rel_buf_put(struct rel_core *c, void *buf);    /* to the shelf or freed */
void rel_buf_shelf_free(struct rel_core *c);
size_t rel_buf_cap(const void *buf);                /* what buf can hold */
/* malloc, counted in c->allocs */
void *rel_malloc(struct rel_core *c, size_t n);

/* rel_sess.c */
int rel_sess_init(struct rel_core *c);
struct rel_sess *rel_sess_find(const struct rel_core *c, uint32_t id);
struct rel_sess *rel_sess_by_lsid(const struct rel_core *c, uint32_t sid);
struct rel_sess *rel_sess_new(struct rel_core *c, const void *addr, size_t alen, uint64_t now);
void rel_sess_destroy(struct rel_core *c, struct rel_sess *p);

/* rel_src.c */
size_t rel_src_key(const uint8_t *addr, size_t len, uint8_t *key);
int rel_src_init(struct rel_core *c);
struct rel_src *rel_src_find(const struct rel_core *c, const void *addr, size_t alen);
struct rel_src *rel_src_get(struct rel_core *c, const void *addr, size_t alen); /* NULL: no memory */
void rel_src_put(struct rel_core *c, struct rel_src *s);
/* May the handshake of a CONNECT from addr (public-key work) run now?  0:
 * yes, one response charged to its source and to the global ceiling;
 * UDP_EAGAIN: no, counted (drop_hs_rate / drop_hs_global), nothing charged. */
int rel_src_hs_take(struct rel_core *c, const void *addr, size_t alen, uint64_t now);

/* rel_path.c (connection migration) */
/* A packet of p (sids checked, session open) from an address other than
 * p->addr: follows it if it is the newest the peer sent.  0: use the packet
 * (moved or not), < 0: drop it (counted). */
int rel_path_input(struct rel_core *c, struct rel_sess *p, const void *addr, size_t alen,
		   const struct rel_pkt *k, size_t len, uint64_t now);
/* PATH_CHALLENGE / PATH_RESPONSE of p from addr. */
int rel_path_probe(struct rel_core *c, struct rel_sess *p, const void *addr, size_t alen,
		   const struct rel_pkt *k, uint64_t now);
/* May n more bytes go to p->addr?  Counts them if so (rel_emit). */
int rel_path_allow(struct rel_sess *p, size_t n);
void rel_path_timers(struct rel_core *c, struct rel_sess *p, uint64_t now);

/* rel_hs.c */
void rel_send_handshake(struct rel_core *c, struct rel_sess *p, uint64_t now);
int rel_hs_hello(struct rel_core *c, const void *addr, size_t alen, const struct rel_pkt *h,
		 size_t inlen, uint64_t now);
/* raw/len: the datagram k was decoded from (the key exchange's prologue) */
int rel_hs_connect(struct rel_core *c, const void *addr, size_t alen, const struct rel_pkt *k,
		   const uint8_t *raw, size_t len, uint64_t now);
int rel_hs_client_reply(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k,
			const uint8_t *raw, uint64_t now);
/* The crypto hook's part of a session ends (its state to sess_free). */
void rel_hs_crypto_free(struct rel_core *c, struct rel_sess *p);

/* rel_send.c */
int rel_sess_alloc_windows(struct rel_core *c, struct rel_sess *p);
void rel_sess_open(struct rel_core *c, struct rel_sess *p, uint32_t peer_init_seq,
		   const struct rel_pkt *pkt, uint64_t now);
void rel_fill_ackblock(struct rel_core *c, struct rel_sess *p, struct rel_pkt *pkt, uint64_t now);
/* An ack is owed; urgent ones go at the next flush, others may wait up to
 * ack_delay_us or until a second packet needs acking. */
void rel_owe_ack(struct rel_core *c, struct rel_sess *p, int urgent, uint64_t now);
/* Queues an ACK (or a PING: type) for p now (rel_ack.c). */
void rel_send_ack(struct rel_core *c, struct rel_sess *p, uint8_t type, uint64_t now);
void rel_on_ackblock(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, uint64_t now);
void rel_sess_flush(struct rel_core *c, struct rel_sess *p, uint64_t now);
/* spurious timeouts (rel_frto.c) */
void rel_frto_timeout(struct rel_core *c, struct rel_sess *p, uint64_t now);
void rel_frto_judge(struct rel_core *c, struct rel_sess *p, int spurious, uint64_t now);
uint64_t rel_rto_floor(struct rel_sess *p, uint64_t now);
uint64_t rel_rto_calc(const struct rel_core *c, struct rel_sess *p, uint64_t now);
/* Returns 1 if the peer was destroyed. */
int rel_sess_timers(struct rel_core *c, struct rel_sess *p, uint64_t now);
uint64_t rel_sess_deadline(const struct rel_core *c, const struct rel_sess *p);
int rel_sess_send(struct rel_core *c, struct rel_sess *p, const void *data, int borrow,
		  size_t len, enum rel_mode mode, uint64_t now, uint64_t *msg_id);
void rel_sess_free_tx(struct rel_sess *p);
/* RTT estimate and congestion controller back to their initial state (a new path). */
void rel_sess_path_reset(struct rel_core *c, struct rel_sess *p);
int rel_sess_close(struct rel_core *c, struct rel_sess *p, uint64_t now);
void rel_check_done(struct rel_core *c, struct rel_sess *p, uint64_t now);
uint64_t rel_linger(const struct rel_core *c, const struct rel_sess *p);

/* rel_pmtu.c: path MTU discovery (PROTOCOL.md "Path MTU discovery") */
void rel_pmtu_open(struct rel_core *c, struct rel_sess *p, uint64_t now);
void rel_pmtu_timers(struct rel_core *c, struct rel_sess *p, uint64_t now);
uint64_t rel_pmtu_deadline(const struct rel_sess *p);
/* The first RTT sample came: a search waiting for it may go on. */
void rel_pmtu_rtt(struct rel_sess *p, uint64_t now);
/* A PROBE arrived (after its ack block was taken). */
void rel_pmtu_input(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *k, uint64_t now);
/* A DATA packet of len payload bytes was declared lost / acked. */
void rel_pmtu_lost(struct rel_core *c, struct rel_sess *p, uint32_t len, uint64_t now);
void rel_pmtu_acked(struct rel_core *c, struct rel_sess *p, uint32_t len);
void rel_pmtu_set_hint(struct rel_core *c, struct rel_sess *p, size_t udp_bytes, uint64_t now);
/* A keyed session's datagram of n bytes went to the out-queue (its counter). */
void rel_pmtu_sent(struct rel_sess *p, const uint8_t *dg, size_t n, uint64_t now);
/* Payload of a full DATA packet at the current path MTU. */
static inline uint32_t rel_frag_max(const struct rel_sess *p)
{
	return p->pm.cur - (uint32_t)REL_DATA_OVERHEAD;
}

/* rel_recv.c */
int rel_rx_data(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, uint64_t now);
int rel_rx_dgram(struct rel_core *c, struct rel_sess *p, const struct rel_pkt *pkt, uint64_t now);
void rel_rx_free(struct rel_core *c, struct rel_sess *p);
uint64_t rel_rx_window(const struct rel_core *c, const struct rel_sess *p);
/* Drops messages that got no fragment for stall_us (rel_sess_timers). */
void rel_rx_timers(struct rel_core *c, struct rel_sess *p, uint64_t now);
/* Receive memory of p changed by delta (charged +, released -). */
void rel_rx_charge(struct rel_core *c, struct rel_sess *p, int64_t delta);

#endif
