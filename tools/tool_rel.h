/* tool_rel.h - the reliable mode (-r) of udpsend and udprecv, on top of the
 * reliable core and its driver (reliable/rel.h, reliable/rel_drv.h).
 *
 * tool_rel.c       options, the core + driver around the tool's socket, the
 *                  event loop step, the peer table, --stats, progress bar
 * tool_rel_send.c  udpsend -r: connect, send, wait for acks, graceful close
 * tool_rel_recv.c  udprecv -r: accept many senders, print their messages
 *
 * The tools keep their own socket setup (addresses, --netsim, buffers) and
 * hand the open socket over; the netsim models stay on the socket, so they
 * impair the reliable protocol's packets, not the messages. */
#ifndef TOOL_REL_H
#define TOOL_REL_H

#include <getopt.h>
#include <stdint.h>

#include "rel.h"
#include "rel_drv.h"
#include "tool_common.h"
#include "tool_ident.h"

/* Long-option values of the reliable mode, out of the tools' own range. */
enum { TOOL_REL_O_ORDERED = 0x1000, TOOL_REL_O_TIMEOUT, TOOL_REL_O_PROGRESS,
       TOOL_REL_O_NO_PROGRESS, TOOL_REL_O_CC };

/* The options that shape the core's configuration (tool_rel_config),
 * for a tool that takes them without -r (udpbench). */
#define TOOL_REL_CFG_LONGOPTS \
	{ "timeout", required_argument, 0, TOOL_REL_O_TIMEOUT }, \
	{ "cc", required_argument, 0, TOOL_REL_O_CC }
#define TOOL_REL_CFG_CASES case TOOL_REL_O_TIMEOUT: case TOOL_REL_O_CC

#define TOOL_REL_LONGOPTS \
	{ "reliable", no_argument, 0, 'r' }, \
	{ "ordered", no_argument, 0, TOOL_REL_O_ORDERED }, \
	{ "progress", no_argument, 0, TOOL_REL_O_PROGRESS }, \
	{ "no-progress", no_argument, 0, TOOL_REL_O_NO_PROGRESS }, \
	TOOL_REL_CFG_LONGOPTS

/* --whole in reliable mode: stdin in messages of this size (the last one
 * shorter), delivered in order, so a file of any size streams through. */
#define TOOL_REL_PIECE (1024 * 1024)

struct tool_rel_opts {
	int on;        /* -r */
	int ordered;   /* --ordered: seqpacket (in order) instead of rdm */
	int progress;  /* -1 auto (stderr is a tty and not -q), 0 off, 1 on */
	double timeout; /* --timeout: dead peer / no answer, seconds */
	int timeout_set;
	const struct rel_cc_ops *cc; /* --cc: bbr, reno or none (NULL) */
	const char *cc_name; /* as given to --cc, "bbr" by default */
	const char *only_r; /* an option given that needs -r */
};
extern struct tool_rel_opts tool_rel_opt;

/* From the option parser's default case: 1 if c was one of ours. */
int tool_rel_option(int c, const char *arg);
/* After parsing: is -r on?  Options of the reliable mode without -r are a
 * usage error. */
int tool_rel_enabled(void);

/* ---- udpsend -r ---- */
struct tool_rel_send {
	struct udp_sock *sock;
	const struct udp_addr *dest;
	const char *dest_str;
	int argc;             /* MESSAGE words (argc 0: stdin) */
	char **argv;
	unsigned long long count; /* words: times (0 forever); stdin: max msgs (0 all) */
	enum tool_framing framing;
	size_t chunk;
	int keep_delim;
	int stats, json;
	/* options that make no sense over a session, refused with -r */
	int broadcast, wait_set, paced;
};
/* Runs udpsend -r to the end; returns the exit code. */
int tool_rel_send_main(const struct tool_rel_send *a);

/* ---- udprecv -r ---- */
struct tool_rel_recv {
	struct udp_sock *sock;
	struct tool_out *out;
	unsigned long long count; /* 0: no limit */
	double wait;              /* idle seconds, < 0 forever */
	int once;                 /* --once: one sender, exit when it closed */
	int stats, json;
	int answers;              /* --echo/--reply/--join given: refused */
};
int tool_rel_recv_main(const struct tool_rel_recv *a);

/* ---- shared by tool_rel_*.c ---- */
struct tool_rel_peer {
	uint32_t id;
	struct udp_addr addr;
	char name[UDP_ADDR_STRLEN];
	struct rel_stats st;   /* last snapshot: the core forgets a dead peer */
	uint64_t msgs, bytes;  /* messages delivered (received or acked) */
	double t_open, t_last; /* session open, last message / ack */
	/* closing: the peer's FIN arrived (all it sent was delivered), ours
	 * is not acknowledged yet */
	enum { PEER_OPEN, PEER_CLOSING, PEER_CLOSED, PEER_DEAD } state;
	/* closing: packets heard from the peer so far and when the count
	 * last moved (udprecv lingers only while the peer still talks) */
	uint64_t heard_pkts;
	double t_heard;
	struct tool_ident_who who; /* identity sessions: who proved what */
};

struct tool_rel_ctx {
	struct rel_core *core;
	struct rel_drv *drv;
	struct udp_sock *sock;
	struct tool_rel_peer *peers;
	size_t npeers, cap;
	double t_snap;
};

/* The one place the tools configure the reliable core, so udpbench
 * measures what udpsend -r and udprecv -r run.
 *
 * tool_rel_config_base: the library's defaults with an unguessable seed
 * and cookie secret (dies without randomness); accept = server.
 * tool_rel_config: the transfer tools' settings on top: --timeout as the
 * dead-peer time, a 20 ms RTO floor, --cc (BBR by default), and identity
 * sessions with --identity (tool_ident.h).
 * tool_rel_start: core from cfg and its driver on sock; dies on failure.
 * tool_rel_open: tool_rel_config, socket buffers for a window's burst,
 * tool_rel_start, into c (udpsend -r, udprecv -r, udpbench). */
void tool_rel_config_base(struct rel_config *cfg, int accept);
void tool_rel_config(struct rel_config *cfg, int accept);
void tool_rel_start(struct rel_core **core, struct rel_drv **drv,
		    struct udp_sock *sock, const struct rel_config *cfg);
void tool_rel_open(struct tool_rel_ctx *c, struct udp_sock *sock, int accept);
/* tool_rel_open with a configuration the caller adjusted (udprecv --once). */
void tool_rel_open_cfg(struct tool_rel_ctx *c, struct udp_sock *sock,
		       const struct rel_config *cfg);
void tool_rel_close(struct tool_rel_ctx *c);
/* The table entry of a session; create adds it (the address is read from
 * the core).  NULL when unknown and not created. */
struct tool_rel_peer *tool_rel_peer(struct tool_rel_ctx *c, uint32_t id, int create);
/* REL_EV_MIGRATED: the entry takes the session's new address; with -v
 * "peer moved from A to B". */
void tool_rel_peer_moved(struct tool_rel_ctx *c, struct tool_rel_peer *p);
/* Copies the core's counters of live peers (every 200 ms unless force). */
void tool_rel_snapshot(struct tool_rel_ctx *c, int force);
/* One turn of the event loop: waits at most max_wait seconds for the
 * socket, the core's next deadline, the socket's netsim hold, or extra_fd
 * (>= 0) readable, then lets the driver receive, run timers and send.
 * Returns 1 if extra_fd is readable, 0 otherwise. */
int tool_rel_step(struct tool_rel_ctx *c, int extra_fd, double max_wait);
/* --stats: one line per peer on stderr (key=value, or JSON objects). */
void tool_rel_print_stats(const struct tool_rel_ctx *c, int json);
/* --stats (key=value form): one line of the core's counters of packets
 * that reached no session (drop_* by reason, cookies_sent), the driver's
 * truncated ones, and the hardening limits: CONNECTs refused by the
 * per-source cap (drop_source), fragments refused by a source's share of
 * the core budget (drop_share), stalled messages dropped, sources now. */
void tool_rel_print_core_stats(const struct rel_core *core, const struct rel_drv *drv);

/* Progress bar on stderr (only if it is on; see tool_rel_opts.progress). */
struct tool_rel_progress {
	int on;
	double t0, last;
	uint64_t total; /* 0: unknown */
};
void tool_rel_progress_init(struct tool_rel_progress *p, uint64_t total);
void tool_rel_progress_show(struct tool_rel_progress *p, uint64_t bytes,
			    uint64_t retrans, int final);

#endif
