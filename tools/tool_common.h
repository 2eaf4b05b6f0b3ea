/* tool_common.h - code shared by the udpkit command-line tools.
 *
 * tool_util.c   messages, exit codes, number parsing, signals, clock
 * tool_opt.c    the handler of the common options (--netsim, --stats, ...)
 * tool_pcap.c   --pcap FILE: a capture of what the sockets send and receive
 * tool_addr.c   command-line addresses (HOST PORT, HOST:PORT, unix:...)
 * tool_io.c     the send path and the receive path (one choke point each,
 *               so a later layer - reliability, netsim, sealing - can wrap
 *               them), with bounded waiting on EAGAIN/ENOBUFS
 * tool_out.c    output of received datagrams: text, raw, hex, json
 * tool_frame.c  cutting stdin into datagrams: lines, NUL, chunks, whole
 *
 * Nothing here makes socket system calls: those live in udp/udp_sock.c. */
#ifndef TOOL_COMMON_H
#define TOOL_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "udp_addr.h"
#include "udp_err.h"
#include "udp_sock.h"

/* Exit codes, the same for every tool (documented in the man pages). */
enum {
	TOOL_EXIT_OK = 0,
	TOOL_EXIT_ERR = 1,     /* runtime, network or I/O error */
	TOOL_EXIT_USAGE = 2,   /* bad command line */
	TOOL_EXIT_TIMEOUT = 3, /* -w: nothing received before the timeout */
};

/* The options the tools share, one table and one handler.  A tool puts
 * TOOL_COMMON_LONGOPTS in its option table and
 * "TOOL_COMMON_CASES: tool_common_option(c, optarg, &stats); break;" in its
 * switch ('h' stays with the tool: its usage text is its own).  A tool
 * without sockets (udpkey) takes only TOOL_HELP_LONGOPTS and
 * TOOL_HELP_CASES: tool_base_option(c), so it links no netsim code. */
enum { TOOL_O_STATS = 0x7e00, TOOL_O_NETSIM, TOOL_O_NETSIM_IN, TOOL_O_VERSION,
       TOOL_O_PCAP, TOOL_O_NETSIM_SCHED, TOOL_O_NETSIM_IN_SCHED, TOOL_O_NO_OFFLOAD };
#define TOOL_HELP_LONGOPTS \
	{ "help", no_argument, 0, 'h' }, \
	{ "version", no_argument, 0, TOOL_O_VERSION }
#define TOOL_COMMON_LONGOPTS \
	TOOL_HELP_LONGOPTS, \
	{ "stats", no_argument, 0, TOOL_O_STATS }, \
	{ "netsim", required_argument, 0, TOOL_O_NETSIM }, \
	{ "netsim-in", required_argument, 0, TOOL_O_NETSIM_IN }, \
	{ "netsim-schedule", required_argument, 0, TOOL_O_NETSIM_SCHED }, \
	{ "netsim-in-schedule", required_argument, 0, TOOL_O_NETSIM_IN_SCHED }, \
	{ "pcap", required_argument, 0, TOOL_O_PCAP }, \
	{ "verbose", no_argument, 0, 'v' }, \
	{ "quiet", no_argument, 0, 'q' }
#define TOOL_HELP_CASES case TOOL_O_VERSION
/* --no-offload, for the tools that move bulk data (udpsend, udprecv): in
 * their option table beside TOOL_COMMON_LONGOPTS; TOOL_COMMON_CASES takes
 * it, and the tool calls tool_offload_apply() once its socket is set up. */
#define TOOL_OFFLOAD_LONGOPTS { "no-offload", no_argument, 0, TOOL_O_NO_OFFLOAD }
#define TOOL_OFFLOAD_HELP \
	"      --no-offload     no UDP segmentation offload (GSO) or receive\n" \
	"                       coalescing (GRO): one kernel crossing per datagram\n"
#define TOOL_COMMON_CASES \
	case TOOL_O_STATS: case TOOL_O_NETSIM: case TOOL_O_NETSIM_IN: \
	case TOOL_O_PCAP: case TOOL_O_VERSION: case 'v': case 'q': \
	case TOOL_O_NETSIM_SCHED: case TOOL_O_NETSIM_IN_SCHED: case TOOL_O_NO_OFFLOAD
/* tool_opt.c: every TOOL_COMMON_CASES option. */
void tool_common_option(int c, const char *arg, int *stats);
/* tool_opt.c: --no-offload given: GSO and GRO off on s (a no-op without
 * the option).  Call it after whatever turns GRO on. */
extern int tool_no_offload;
void tool_offload_apply(struct udp_sock *s);
/* tool_util.c: --version, -v, -q (never returns for --version). */
void tool_base_option(int c);

/* ---- tool_util.c ---- */
extern const char *tool_name;
extern int tool_verbosity; /* -1 with -q, 0 normal, 1.. with -v */

void tool_init(const char *name);
/* "name: message" on stderr.  tool_err always, tool_info unless -q,
 * tool_debug only with -v. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void tool_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One line "name: message (try 'name --help')" and exit 2. */
_Noreturn void tool_usage_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* getopt_long's '?' / ':' results as one usage line; never returns. */
_Noreturn void tool_bad_option(int c, char **argv);
_Noreturn void tool_version(void);

/* Whole numbers and seconds from option arguments; a bad value is a
 * usage error naming the option. */
unsigned long long tool_parse_uint(const char *opt, const char *s,
				   unsigned long long min, unsigned long long max);
double tool_parse_secs(const char *opt, const char *s);

double tool_now(void); /* monotonic seconds */

/* SIGINT/SIGTERM set tool_stop_signal and wake tool_wait (self-pipe);
 * a second signal kills as usual. */
extern volatile sig_atomic_t tool_stop_signal;
void tool_signals_init(void);
/* After tool_signals_init: SIGUSR1 sets tool_report_signal (a tool prints
 * its counters) and wakes the self-pipe too. */
extern volatile sig_atomic_t tool_report_signal;
void tool_signals_report(void);
/* The self-pipe's read end, for a tool that polls several descriptors
 * itself: readable after a signal.  tool_signal_drain empties it. */
int tool_signal_fd(void);
void tool_signal_drain(void);
/* Waits for events on fd (fd < 0: just sleeps) for at most timeout seconds
 * (< 0: forever).  Returns 1 ready, 0 timed out, -1 stopped by a signal. */
int tool_wait(int fd, short events, double timeout);

/* ---- tool_addr.c ---- */
/* Positional arguments to an address.  port NULL: host is one of the
 * combined forms (HOST:PORT, [v6]:PORT, :PORT, unix:...).  flags are
 * UDP_ADDR_*.  Errors end the program: a malformed address or port is a
 * usage error (2), a name that does not resolve a runtime error (1). */
void tool_resolve(struct udp_addr *out, const char *host, const char *port,
		  int flags);
/* Is this argument a combined address (needs no separate port)? */
int tool_is_combined(const char *arg);
/* Printable form; never fails ("?" when the address cannot be shown). */
const char *tool_addr_str(const struct udp_addr *a, char *buf, size_t cap);
/* Has the address a name one can reply to (an unnamed unix sender has not)? */
int tool_addr_replyable(const struct udp_addr *a);

/* ---- tool_io.c ---- */
#define TOOL_STOPPED (-1000) /* interrupted by SIGINT/SIGTERM */

struct tool_io {
	struct udp_sock *sock;
	double send_timeout; /* seconds without progress before giving up */
	uint64_t refused;    /* ECONNREFUSED seen (peer had no socket) */
};

/* Sends all n messages (batched), waiting on a full buffer rather than
 * dropping.  Returns n, or a negative code; *done says how many went out
 * (msgs[*done] is the one that failed). */
int tool_io_send(struct tool_io *io, struct udp_msg *msgs, unsigned n,
		 unsigned *done);
/* Waits up to timeout seconds (< 0 forever) and receives up to n
 * datagrams.  Returns the count, 0 on timeout, TOOL_STOPPED, or an error. */
int tool_io_recv(struct tool_io *io, struct udp_msg *msgs, unsigned n,
		 double timeout);

/* Receive buffers: n messages of cap bytes each in one allocation. */
struct udp_msg *tool_msgs_new(unsigned n, size_t cap, void **mem);
void tool_msgs_reset(struct udp_msg *msgs, unsigned n);

/* ---- tool_out.c ---- */
enum tool_fmt { TOOL_FMT_TEXT, TOOL_FMT_RAW, TOOL_FMT_HEX, TOOL_FMT_JSON };

struct tool_out {
	int fd;
	enum tool_fmt fmt;
	int show_from;   /* --from: sender before the payload (text mode) */
	/* the message being written comes from an identity session: its
	 * peer's public key and name (json: "peer_key", "peer_name"); NULL
	 * otherwise.  Set per message by the caller. */
	const char *peer_key, *peer_name;
	char *buf;
	size_t len, cap;
};

/* path NULL or "-": stdout.  Returns 0 or -1 with errno. */
int tool_out_open(struct tool_out *o, const char *path, enum tool_fmt fmt,
		  int show_from);
/* Formats one datagram into the buffer (flushing when it fills).
 * Returns 0 or -1 with errno (write error). */
int tool_out_msg(struct tool_out *o, const struct udp_msg *m);
int tool_out_flush(struct tool_out *o);
void tool_out_close(struct tool_out *o);
/* The stderr warning for a truncated datagram (once per datagram). */
void tool_warn_truncated(const struct udp_msg *m);

/* ---- tool_frame.c ---- */
enum tool_framing { TOOL_FRAME_LINE, TOOL_FRAME_NUL, TOOL_FRAME_CHUNK,
		    TOOL_FRAME_WHOLE };

enum {
	TOOL_FRAME_END = 0,      /* no more input */
	TOOL_FRAME_MSG = 1,      /* *p, *n hold a message */
	TOOL_FRAME_NEED = 2,     /* must read, but reading was not allowed */
	TOOL_FRAME_TOOBIG = -2,  /* message over the limit; *n = its size */
	TOOL_FRAME_ERR = -1,     /* read error, errno set (EINTR: a signal) */
};

struct tool_frame {
	int fd;
	enum tool_framing mode;
	size_t chunk;    /* TOOL_FRAME_CHUNK: bytes per datagram */
	size_t limit;    /* largest message allowed */
	int keep_delim;  /* --keep-newline: the delimiter is sent too */
	uint8_t *buf;
	size_t cap, start, end, scan;
	int eof, whole_done;
};

void tool_frame_init(struct tool_frame *f, int fd, enum tool_framing mode,
		     size_t chunk, size_t limit, int keep_delim);
/* Next message.  Pointers stay valid until the next call that may read
 * (may_read != 0), so a caller collects a batch with may_read only for the
 * first message, sends it, then asks again. */
int tool_frame_next(struct tool_frame *f, int may_read, const uint8_t **p,
		    size_t *n);
void tool_frame_free(struct tool_frame *f);

#endif
