/* rel.h - the sans-I/O reliable messaging core of udpkit.
 *
 * A struct rel_core speaks the protocol of docs/PROTOCOL.md with many peers
 * over one datagram socket, but never touches a socket or a clock itself:
 *
 *   rel_input(core, addr, addrlen, bytes, len, now)  a datagram arrived
 *   rel_update(core, now)                            time passed (timers)
 *   rel_out_peek()/rel_out_pop()                     datagrams to send
 *   rel_next_deadline(core)                          when to call rel_update
 *   rel_poll_event(core, &ev)                        what happened
 *
 * Time is a caller-supplied monotonic uint64_t in microseconds.  Peers are
 * named by an opaque address blob (up to REL_ADDR_MAX bytes, compared with
 * memcmp; the driver puts a sockaddr there) and, once known to the core, by
 * a uint32_t peer id that is never reused by one core.
 *
 * Every function returns >= 0 on success or a negative code of enum udp_err
 * (udp_err.h; the core's own are REL_E*, -300..-399), and udpkit_strerror()
 * gives words for every code.  The
 * core never prints, never exits, and never asserts on network data.  A
 * core is not thread-safe: one thread (or one lock) per core.
 *
 * Ownership: the core copies what rel_input() and rel_send() are given and
 * keeps nothing of the caller's; out-queue datagrams belong to the core;
 * a REL_EV_MESSAGE buffer belongs to the caller once polled. */
#ifndef REL_H
#define REL_H

#include <stddef.h>
#include <stdint.h>

#include "udp_err.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REL_ADDR_MAX 128


enum rel_mode {
	REL_DGRAM = 0,     /* unreliable, no retransmission; one datagram at most */
	REL_RDM = 1,       /* reliable, delivered as soon as complete, any order */
	REL_SEQPACKET = 2, /* reliable, delivered in the order sent */
};

/* Congestion control / pacing hook (optional), with per-session state:
 * the core allocates state_size zeroed bytes for each session (once, at
 * session creation), calls init() when the session opens, asks may_send()
 * before each DATA packet (first transmission or retransmission) and
 * reports what happened to data through on_event().  may_send() returns 1
 * to let the packet go, or 0 and sets *wake_us to the time to ask again
 * (0 = ask when the next ack arrives).  ctx is rel_config.cc_ctx.
 * The state must be plain data: when a timeout proves spurious the core
 * puts back a byte copy of the state from before it (no on_event()), so
 * pointers in it to memory the hook frees or moves would dangle.
 * rel_cc_reno is a built-in NewReno-style window with pacing. */
enum rel_cc_event {
	REL_CC_SENT,    /* bytes left (first time or again) */
	REL_CC_ACKED,   /* bytes newly acknowledged; rtt_us = the latest sample */
	REL_CC_LOST,    /* bytes declared lost (fast retransmit) */
	REL_CC_TIMEOUT, /* the retransmission timer fired */
};
struct rel_cc_info {
	uint32_t peer;
	size_t mss;              /* payload of a full DATA packet */
	uint64_t inflight_bytes; /* sent, not acked, not declared lost */
	uint64_t srtt_us, rttvar_us; /* 0 before the first RTT sample */
	uint64_t latest_rtt_us;  /* the newest sample, unsmoothed (min-RTT filters) */
};
struct rel_cc_ops {
	size_t state_size;
	void (*init)(void *state, void *ctx, const struct rel_cc_info *info);
	int (*may_send)(void *state, void *ctx, const struct rel_cc_info *info,
			size_t bytes, uint64_t now_us, uint64_t *wake_us);
	void (*on_event)(void *state, void *ctx, const struct rel_cc_info *info,
			 enum rel_cc_event ev, uint64_t bytes, uint64_t now_us);
};
extern UDPKIT_API const struct rel_cc_ops rel_cc_reno;

/* Session protection hook (optional): identity sessions.  With it, the
 * CONNECT and ACCEPT of every handshake carry a key exchange (flag
 * REL_F_NOISE, docs/PROTOCOL.md section 9) and every later packet of a
 * session travels whole inside a SEALED datagram (type 12).  The core only
 * routes bytes: rel_ident.h gives the Noise IK(psk2) implementation, a
 * test may give a toy one.  Every function returns a count (bytes written)
 * or a negative udp_err code; ctx is rel_config.crypto_ctx, sess the
 * per-session state that hs_init or hs_respond made (set only when they
 * succeed; the core owns it
 * from then on and gives it back to sess_free, once, whenever the session
 * goes or its handshake starts over).  No function keeps a pointer to its
 * byte arguments. */
#define REL_CRYPTO_ARG_MAX 64
struct rel_crypto_ops {
	size_t overhead;   /* bytes seal() adds to a packet, exactly (at most 1024) */
	/* Bytes of rel_connect_ex()'s crypto_arg the core copies and keeps
	 * for hs_init, which runs later (at the COOKIE) and again when the
	 * handshake starts over; at most REL_CRYPTO_ARG_MAX.  0: the core
	 * keeps none and hs_init always gets NULL. */
	size_t arg_size;
	/* Client: message 1 for a CONNECT.  prologue is the CONNECT's bytes
	 * before it (header and fields, flag REL_F_NOISE set); arg is the
	 * core's copy of rel_connect_ex()'s crypto_arg (NULL from
	 * rel_connect).  Negative: the session ends at once (REL_EV_DEAD). */
	int (*hs_init)(void *ctx, void **sess, const void *arg,
		       const uint8_t *prologue, size_t plen,
		       uint8_t *out, size_t cap, uint64_t now_us);
	/* Server: message 1 of a CONNECT whose cookie checked out, with the
	 * CONNECT's bytes before it as prologue.  Authenticates and
	 * authorises the client; on success makes *sess and writes message
	 * 2 carrying payload (the ACCEPT's bytes before message 2) into
	 * out.  Negative: refused (the core counts it, answers nothing). */
	int (*hs_respond)(void *ctx, void **sess, const uint8_t *prologue, size_t plen,
			  const uint8_t *msg1, size_t len,
			  const uint8_t *payload, size_t paylen,
			  uint8_t *out, size_t cap, uint64_t now_us);
	/* Client: message 2 of an ACCEPT; its payload into out (the core
	 * checks it equals the ACCEPT's bytes before message 2).  Negative,
	 * with sess unchanged, unless message 2 is authentic: a forged
	 * ACCEPT must not spoil the exchange for the real one (the core
	 * keeps sess and waits).  An authentic message 2 whose payload
	 * differs (clear fields changed on the way) spends the exchange:
	 * sess goes to sess_free, the next CONNECT runs hs_init again. */
	int (*hs_finish)(void *ctx, void *sess, const uint8_t *msg2, size_t len,
			 uint8_t *out, size_t cap, uint64_t now_us);
	/* An open session's plaintext datagram (as rel_wire encodes it)
	 * into a SEALED datagram of exactly len + overhead bytes, header
	 * included (its sids are the packet's, bytes 4..11). */
	int (*seal)(void *ctx, void *sess, const uint8_t *pkt, size_t len,
		    uint8_t *out, size_t cap, uint64_t now_us);
	/* A SEALED datagram addressed to this session back into the
	 * plaintext one.  Negative, with nothing changed, unless it is
	 * authentic and new (never seen: the replay window moves only on
	 * authentic packets). */
	int (*open)(void *ctx, void *sess, const uint8_t *in, size_t len,
		    uint8_t *out, size_t cap, uint64_t now_us);
	void (*sess_free)(void *ctx, void *sess);
};

struct rel_config {
	/* Randomness.  seed 0 (the default): the core draws its keys from
	 * getrandom(), so session ids, initial sequence numbers and cookies
	 * cannot be guessed or computed.  A non-zero seed asks for a
	 * reproducible core (tests only): every key is derived from it.  Ids
	 * and initial seqs are SipHash-2-4 of a counter under such a key, so
	 * what a peer sees does not give away the next ones. */
	uint64_t seed;              /* 0 = random keys (default); else reproducible */
	uint8_t cookie_secret[16];  /* SipHash key for cookies; all zero = drawn as above */
	int accept;                 /* 1: answer HELLOs (a server), 0: only connect */
	/* Path MTU (docs/PROTOCOL.md, "Path MTU discovery").  Sizes are UDP
	 * payloads: what the socket sends, with the bytes of the layers below
	 * the core (sealing) included. */
	size_t mtu;                 /* the base: every path carries it; the
				     * handshake, acks and dgram messages stay
				     * within it, default 1200 */
	size_t overhead;            /* bytes the layers below add to each datagram
				     * (sealing: 48), default 0 */
	size_t max_mtu;             /* PMTUD never probes above this, default 65000 */
	size_t path_mtu;            /* ceiling when the driver reports none for a
				     * peer (rel_peer_set_mtu_ceiling), default
				     * 1472: IPv4 over Ethernet */
	int pmtud;                  /* 1: probe for more than mtu (default); 0: stay
				     * at mtu (probes from the peer are still answered) */
	uint64_t pmtu_raise_us;     /* a finished search runs again after this, 10 min */
	size_t max_msg;             /* largest message sent or received, 64 MiB */
	size_t recv_budget;         /* per-peer receive memory limit, 80 MiB */
	uint64_t core_budget;       /* all peers together, 1 GiB */
	size_t send_budget;         /* per-peer bytes queued and unacked, 256 MiB */
	uint32_t window;            /* packets in flight / receive window, 1024 */
	uint32_t max_peers;         /* sessions per core, 4096 */
	uint32_t max_per_source;    /* sessions accepted per source host, 64; a
				     * source is the address without its port
				     * (IPv6: its /64), or any other blob whole */
	uint64_t stall_us;          /* a message half received and given no
				     * fragment this long is dropped, 60 s */
	uint32_t out_queue;         /* datagrams the out-queue holds, 256 */
	uint32_t dupthresh;         /* lost once this many later packets were acked
				     * and it is 5/4 srtt old (RACK-like), 1 */
	uint64_t rto_initial_us;    /* RTO before any RTT sample, 1 s */
	uint64_t rto_min_us;        /* RTO floor, 200 ms */
	uint64_t rto_max_us;        /* RTO ceiling for backoff, 60 s (and dead_us/4) */
	uint64_t keepalive_us;      /* PING after this long without sending, 5 s */
	uint64_t dead_us;           /* peer dead after this long silent, 30 s */
	uint64_t cookie_bucket_us;  /* cookie time bucket; valid 1..2 buckets, 10 s */
	uint64_t linger_us;         /* keep a closed session to re-ack, 10 s */
	uint64_t ack_delay_us;      /* 0: ack every packet at once (default); else
				     * in-order data is acked every 2nd packet or
				     * after this long */
	int fixed_initial_seq;      /* testing: 1 = start at initial_seq */
	uint32_t initial_seq;
	const struct rel_cc_ops *cc; /* NULL = none: only the windows limit */
	void *cc_ctx;
	/* NULL = none (default): packets in clear, or sealed below the core
	 * by seal_sock with a group key.  Set: every session of this core
	 * is protected by it (a CONNECT or ACCEPT without a key exchange is
	 * refused); see rel_ident_attach(). */
	const struct rel_crypto_ops *crypto;
	void *crypto_ctx;
	/* Handshake rate limits (with a crypto hook only: its hs_respond is
	 * the public-key work a CONNECT with a valid cookie makes us do, and
	 * a real address can send such CONNECTs at will).  Responses a
	 * second, and at once, per source (as max_per_source: IPv4 address,
	 * IPv6 /64) and for all sources together; a CONNECT over either is
	 * dropped unanswered (drop_hs_rate, drop_hs_global), and the client's
	 * retransmission tries again.  A repeated CONNECT answered from the
	 * kept ACCEPT costs nothing.  A rate of 0: no limit. */
	uint32_t hs_rate;           /* per source, 10/s */
	uint32_t hs_burst;          /* per source, 64 (max_per_source) */
	uint32_t hs_global_rate;    /* all sources, 500/s */
	uint32_t hs_global_burst;   /* all sources, 1000 */
};

/* Fills *cfg with the defaults above. */
UDPKIT_API void rel_config_default(struct rel_config *cfg);

struct rel_core;

/* Copies *cfg into a new core stored in *out (the caller's, freed with
 * rel_core_free).  Returns 0, REL_ECONFIG or UDP_ENOMEM; *out is NULL on
 * failure. */
UDPKIT_API int rel_core_new(struct rel_core **out, const struct rel_config *cfg);
/* Frees the core, every session and every queued datagram; NULL is a no-op.
 * Message buffers already handed out by rel_poll_event() stay the caller's. */
UDPKIT_API void rel_core_free(struct rel_core *core);

/* Datagram input.  addr/addrlen name the sender.  Returns 0 if the packet
 * was used, or a negative code saying why it was dropped (it is counted);
 * the driver may ignore the value.  The core does not keep bytes or addr. */
UDPKIT_API int rel_input(struct rel_core *core, const void *addr, size_t addrlen,
	      const void *bytes, size_t len, uint64_t now_us);
/* Runs timers (retransmission, keepalive, dead peer, linger) and fills the
 * out-queue.  Call at rel_next_deadline() or after draining the out-queue. */
UDPKIT_API void rel_update(struct rel_core *core, uint64_t now_us);
/* Absolute time of the next timer, UINT64_MAX if none, or 0 when output is
 * waiting for room in the out-queue (drain it and call rel_update). */
UDPKIT_API uint64_t rel_next_deadline(const struct rel_core *core);

/* Out-queue of datagrams to send, oldest first.  A peeked datagram stays
 * valid until rel_out_pop() or the next call that changes the core. */
struct rel_dgram {
	const uint8_t *addr;
	size_t addr_len;
	const uint8_t *data;
	size_t len;
	uint32_t peer; /* 0 for replies to unknown sources (cookies) */
};
UDPKIT_API size_t rel_out_pending(const struct rel_core *core);
/* i < rel_out_pending(); returns 0 or UDP_EINVAL. */
UDPKIT_API int rel_out_peek(const struct rel_core *core, size_t i, struct rel_dgram *out);
/* Removes the n oldest (after they were sent, e.g. by sendmmsg). */
UDPKIT_API void rel_out_pop(struct rel_core *core, size_t n);

/* Starts a handshake with addr; *peer gets the new session's id.  The
 * REL_EV_CONNECTED (or REL_EV_DEAD) event says how it went. */
UDPKIT_API int rel_connect(struct rel_core *core, const void *addr, size_t addrlen,
		uint64_t now_us, uint32_t *peer);

/* rel_connect with an argument for the crypto hook's hs_init (for
 * rel_ident: the server's 32-byte public key; NULL: its configured one). */
UDPKIT_API int rel_connect_ex(struct rel_core *core, const void *addr, size_t addrlen,
			      const void *crypto_arg, uint64_t now_us, uint32_t *peer);
/* The crypto hook's state of a session (NULL: none, or no such peer), for
 * the hook's own queries (rel_ident_peer). */
UDPKIT_API void *rel_peer_crypto(const struct rel_core *core, uint32_t peer);

/* Queues a message (copied).  REL_DGRAM messages must fit one datagram
 * (rel_dgram_max()).  On success returns 0 and, if msg_id is not NULL, sets
 * it to an id that a REL_EV_ACKED event will carry once the message has
 * been delivered to the peer (reliable modes only). */
UDPKIT_API int rel_send(struct rel_core *core, uint32_t peer, const void *data,
	     size_t len, enum rel_mode mode, uint64_t now_us, uint64_t *msg_id);
/* rel_send without the copy: the core keeps a pointer to data and reads
 * it whenever it sends (or resends) a piece of the message.  Until the
 * message is released the caller must neither change nor free (unmap)
 * those bytes.  It is released - the core never reads data again - once
 * rel_poll_event has returned one of: REL_EV_ACKED carrying this msg_id,
 * or REL_EV_DEAD or REL_EV_CLOSED for the peer; or when rel_core_free has
 * returned.  On an error return nothing was kept.  REL_DGRAM messages go
 * out at once and are never kept, as with rel_send. */
UDPKIT_API int rel_send_borrowed(struct rel_core *core, uint32_t peer, const void *data,
	     size_t len, enum rel_mode mode, uint64_t now_us, uint64_t *msg_id);
UDPKIT_API size_t rel_dgram_max(const struct rel_core *core);

/* Graceful close: what was queued is still sent; REL_EV_CLOSED follows when
 * all of it and the close itself were acknowledged (all was delivered). */
UDPKIT_API int rel_close(struct rel_core *core, uint32_t peer, uint64_t now_us);

enum rel_event_type {
	REL_EV_CONNECTED = 1,   /* handshake done (both sides) */
	REL_EV_MESSAGE,         /* a message arrived: data/len/mode */
	REL_EV_ACKED,           /* message msg_id was delivered to the peer */
	REL_EV_PEER_CLOSED,     /* the peer closed; everything it sent was delivered */
	REL_EV_CLOSED,          /* our close completed: all we sent was delivered */
	REL_EV_DEAD,            /* the peer went silent for dead_us; session gone */
	REL_EV_MIGRATED,        /* the peer moved and its new address answered a
				 * challenge: rel_peer_addr() is the new one,
				 * rel_peer_prev_addr() the one it left */
	REL_EV_PMTU,            /* the path MTU changed: len = the new one
				 * (UDP payload bytes, sealing included) */
};

struct rel_event {
	enum rel_event_type type;
	uint32_t peer;
	enum rel_mode mode;  /* REL_EV_MESSAGE */
	uint8_t *data;       /* REL_EV_MESSAGE: the caller owns it: rel_buf_recycle() or rel_buf_free() */
	size_t len;
	uint64_t msg_id;     /* REL_EV_ACKED */
};

/* Takes the oldest event: returns 1 and fills *ev, or 0 if none. */
UDPKIT_API int rel_poll_event(struct rel_core *core, struct rel_event *ev);
/* Frees a message buffer (NULL: no-op); safe on any thread. */
UDPKIT_API void rel_buf_free(void *buf);
/* Gives a message buffer back to the core that delivered it, which fills a
 * later message of its size class from it: a receiver that recycles makes
 * no malloc per message.  On the core's thread only, while it exists; the
 * core keeps at most 1 MiB of such buffers (the rest are freed). */
UDPKIT_API void rel_buf_recycle(struct rel_core *core, void *buf);

struct rel_stats {
	uint64_t pkts_sent, pkts_recv, bytes_sent, bytes_recv;
	uint64_t data_sent, retransmits, fast_retransmits, timeouts, probes;
	uint64_t msgs_sent, msgs_delivered, msgs_acked;
	uint64_t drop_dup, drop_window, drop_budget, drop_malformed;
	uint64_t drop_session, drop_unexpected;
	uint64_t srtt_us, rttvar_us, rto_us, rtt_samples;
	uint64_t inflight_pkts, peer_window;
	uint64_t recv_mem;   /* receive budget in use: reassembly + unpolled */
	uint64_t drop_share; /* fragments refused: the source had its share of core_budget */
	uint64_t drop_stalled; /* messages dropped half received (stall_us) */
	uint64_t migrations;    /* moves to a new peer address, validated */
	uint64_t path_failures; /* new addresses that never answered: stayed */
	uint64_t pmtu;         /* path MTU in use: UDP payload bytes */
	uint64_t pmtu_probes, pmtu_probes_lost; /* PROBE packets sent, unanswered */
	uint64_t pmtu_blackholes; /* falls back to the base on repeated loss */
	uint64_t parts_sent;   /* datagrams of fragments sent in parts */
	uint64_t drop_auth;    /* crypto hook: packets not sealed, forged or replayed */
	/* ICMP "too big" hints (rel_peer_ptb): quoting a packet of ours in
	 * flight, below the size probed or used; the rest (forged, stale,
	 * unverifiable, not below) */
	uint64_t pmtu_ptb_valid, pmtu_ptb_ignored;
	/* retransmission timeouts found spurious: an ack showed that what was
	 * sent before the timeout arrived (a delay spike, not a loss); their
	 * congestion state and RTO were restored */
	uint64_t spurious_rto;
};
/* Counters of one session. */
UDPKIT_API int rel_peer_stats(const struct rel_core *core, uint32_t peer, struct rel_stats *out);
/* The path MTU in use with a peer (UDP payload bytes, sealing included),
 * or a negative code. */
UDPKIT_API int rel_peer_pmtu(const struct rel_core *core, uint32_t peer);
/* The driver's knowledge of the largest datagram the route to the peer
 * takes (the interface MTU less IP and UDP headers, as IP_MTU/IPV6_MTU
 * report it on a connected socket): PMTUD probes no higher.  0 forgets
 * it (path_mtu applies).  Never above max_mtu, never below mtu. */
UDPKIT_API int rel_peer_set_mtu_ceiling(struct rel_core *core, uint32_t peer, size_t bytes);
/* Called by the core when a session is made, to learn that ceiling for
 * its address (0: unknown); the driver sets it (rel_drv.c). */
typedef size_t (*rel_route_mtu_fn)(void *ctx, const void *addr, size_t addrlen);
UDPKIT_API void rel_set_route_mtu(struct rel_core *core, rel_route_mtu_fn fn, void *ctx);
/* An ICMP "fragmentation needed" / "packet too big" the driver read for a
 * datagram it sent to addr: mtu is the largest UDP payload the reporting hop
 * takes (its MTU less 28/48 header bytes), quoted/qlen the start of the
 * refused datagram's UDP payload as the ICMP message quoted it.  Never
 * trusted alone (RFC 8899 4.6): it counts only when the quote is a packet
 * of the session still in flight (a DATA or PROBE: sids and sequence or
 * probe number; SEALED: sids and a recent counter), and then only starts a
 * probe at that size; data uses the smaller size once that probe was
 * answered and data above it was lost too.  Returns 1 (valid), 0 (ignored,
 * counted: pmtu_ptb_ignored, or rel_core_stats.ptb_ignored when no session
 * matches), or UDP_EINVAL. */
UDPKIT_API int rel_peer_ptb(struct rel_core *core, const void *addr, size_t addrlen, size_t mtu,
			    const void *quoted, size_t qlen, uint64_t now_us);
/* Address blob of a session: copies up to cap bytes, returns its length. */
UDPKIT_API int rel_peer_addr(const struct rel_core *core, uint32_t peer, void *buf, size_t cap);
/* The address the session left at its latest migration (REL_EV_MIGRATED),
 * as rel_peer_addr; 0 if it never moved. */
UDPKIT_API int rel_peer_prev_addr(const struct rel_core *core, uint32_t peer, void *buf, size_t cap);

/* Counters of packets that reached no session. */
struct rel_core_stats {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out;
	uint64_t drop_magic, drop_checksum, drop_malformed, drop_session;
	uint64_t drop_cookie, drop_peers, drop_unexpected;
	uint64_t drop_busy;  /* HELLOs unanswered: the out-queue was full */
	uint64_t cookies_sent, peers;
	uint64_t recv_mem;   /* receive memory of all sessions (core_budget) */
	uint64_t drop_source;  /* CONNECTs refused: max_per_source sessions */
	uint64_t drop_share;   /* fragments refused: their source's share */
	uint64_t drop_stalled; /* messages dropped half received (stall_us) */
	uint64_t sources;      /* distinct sources with sessions now */
	uint64_t migrations;   /* sessions moved to a validated new address */
	uint64_t path_failures; /* validations of a new address that failed */
	uint64_t drop_auth;    /* crypto hook: packets of sessions not sealed, not
				* authentic or replayed (all sessions' drop_auth) */
	uint64_t drop_refused; /* CONNECT/ACCEPT without the key exchange the
				* core needs (or with one it cannot run), or
				* refused by the hook */
	uint64_t ptb_ignored;  /* ICMP "too big" hints that matched no session */
	/* CONNECTs with a valid cookie dropped before the crypto hook's
	 * handshake: their source was over hs_rate, or all sources together
	 * over hs_global_rate */
	uint64_t drop_hs_rate, drop_hs_global;
};
UDPKIT_API void rel_core_stats(const struct rel_core *core, struct rel_core_stats *out);

#ifdef __cplusplus
}
#endif

#endif
