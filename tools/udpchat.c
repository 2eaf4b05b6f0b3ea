/* udpchat - group chat on a LAN over datagrams, no server.
 *
 *   udpchat [options] [--nick NAME]
 *
 * Sockets (docs/CHAT.md, "Design"): a beacon socket bound to the group
 * port (shared with every other peer on the host, SO_REUSEADDR/PORT) that
 * only receives beacons, and a data socket on an ephemeral port that sends
 * beacons and runs the reliable core: one seqpacket session per peer, so
 * every message arrives exactly once and in its sender's order. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rel.h"
#include "rel_drv.h"
#include "tool_chat.h"
#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_rel.h"
#include "tool_seal.h"
#include "udp_chat.h"
#include "udp_wire.h"

#define MAX_PEERS 256
#define MAX_EXPLICIT 32
#define DEFAULT_GROUP4 "239.255.42.42"
#define DEFAULT_GROUP6 "ff15::4242"
#define DEFAULT_PORT "4242"
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

static _Noreturn void usage(void)
{
	printf("Usage: %s [options] [--nick NAME]\n"
	       "Group chat on a LAN with no server: peers find each other by multicast\n"
	       "beacons, messages go over one reliable session per peer (exactly once,\n"
	       "in each sender's order).  Lines on stdin are sent; commands:\n"
	       "  /who  /nick NAME  /msg NICK TEXT  /me TEXT  /quit  /help  (// sends a '/')\n\n"
	       "Identity and discovery:\n"
	       "  -n, --nick NAME      nickname (default $USER); shown as NAME#xxxx\n"
	       "  -g, --group ADDR     beacon group (default " DEFAULT_GROUP4 ", -6: " DEFAULT_GROUP6 ")\n"
	       "  -p, --port PORT      beacon port (default " DEFAULT_PORT ")\n"
	       "  -i, --interface IF   send and join on IF\n"
	       "  -b, --broadcast      beacons by broadcast (to --group, default 255.255.255.255)\n"
	       "      --peer HOST:PORT connect to a peer's data port (repeatable)\n"
	       "      --data-port PORT local data port (default: any free one)\n"
	       "      --no-discovery   no beacons: only --peer and who connects to us\n"
	       "      --ttl N          multicast TTL / hop limit (default 1)\n"
	       "  -4 / -6              IPv4 / IPv6\n"
	       "Presence:\n"
	       "      --beacon SECS    beacon interval (default 1)\n"
	       "      --away SECS      silent peer is away after SECS (default 5)\n"
	       "      --gone SECS      ... and gone after SECS (default 10)\n"
	       "      --linger SECS    at exit, wait up to SECS for delivery (default 5)\n"
	       "      --wait-peers N   read stdin only once N peers joined (scripts)\n"
	       "      --wait SECS      ... or SECS passed (default 10)\n"
	       "Sealing (docs/SEALING.md): everything, beacons included\n"
	       "  -k, --key FILE       seal and open with the key in FILE (udpkey genkey)\n"
	       "      --passphrase-file FILE  key from the passphrase in FILE\n"
	       "      --passphrase-env VAR    key from the passphrase in $VAR\n"
	       "      --key-group NAME group of the passphrase (default 'udpkit'; --group\n"
	       "                       is the multicast group here)\n"
	       "Output:\n"
	       "      --json           one JSON object per line (also on a terminal)\n"
	       "      --stats          counters on stderr at exit\n"
	       "      --netsim SPEC    impair what is sent, tc-netem words: 'loss 20%%'\n"
	       "      --netsim-in SPEC impair what is received\n"
	       "  -v, --verbose / -q, --quiet\n"
	       "  -h, --help / --version\n"
	       "Exit: 0 ok (end of input, /quit, SIGINT/SIGTERM), 1 error, 2 bad usage.\n",
	       tool_name);
	exit(TOOL_EXIT_OK);
}

enum { O_PEER = 256, O_DATA_PORT, O_NODISC, O_TTL, O_BEACON, O_AWAY, O_GONE,
       O_LINGER, O_WAIT_PEERS, O_WAIT, O_JSON };

static const struct option longopts[] = {
	{ "nick", required_argument, 0, 'n' },
	{ "group", required_argument, 0, 'g' },
	{ "port", required_argument, 0, 'p' },
	{ "interface", required_argument, 0, 'i' },
	{ "broadcast", no_argument, 0, 'b' },
	{ "peer", required_argument, 0, O_PEER },
	{ "data-port", required_argument, 0, O_DATA_PORT },
	{ "no-discovery", no_argument, 0, O_NODISC },
	{ "ttl", required_argument, 0, O_TTL },
	{ "beacon", required_argument, 0, O_BEACON },
	{ "away", required_argument, 0, O_AWAY },
	{ "gone", required_argument, 0, O_GONE },
	{ "linger", required_argument, 0, O_LINGER },
	{ "wait-peers", required_argument, 0, O_WAIT_PEERS },
	{ "wait", required_argument, 0, O_WAIT },
	{ "json", no_argument, 0, O_JSON },
	{ "key", required_argument, 0, TOOL_SEAL_O_KEY },
	{ "passphrase-file", required_argument, 0, TOOL_SEAL_O_PFILE },
	{ "passphrase-env", required_argument, 0, TOOL_SEAL_O_PENV },
	{ "key-group", required_argument, 0, TOOL_SEAL_O_GROUP },
	{ "passphrase", optional_argument, 0, TOOL_SEAL_O_PASSPHRASE },
	TOOL_COMMON_LONGOPTS,
	{ 0, 0, 0, 0 },
};

static void parse_opts(struct opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->port = DEFAULT_PORT;
	o->beacon = 1;
	o->away = 5;
	o->gone = 10;
	o->linger = 5;
	o->wait = 10;
	o->ttl = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:g:p:i:bk:vqh46", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->nick = optarg; break;
		case 'g': o->group = optarg; break;
		case 'p': tool_parse_uint("--port", optarg, 1, 65535); o->port = optarg; break;
		case 'i': o->iface = optarg; break;
		case 'b': o->broadcast = 1; break;
		case O_PEER:
			if (o->npeers == MAX_EXPLICIT)
				tool_usage_die("too many --peer (at most %d)", MAX_EXPLICIT);
			o->peers[o->npeers++] = optarg;
			break;
		case O_DATA_PORT:
			tool_parse_uint("--data-port", optarg, 0, 65535);
			o->data_port = optarg;
			break;
		case O_NODISC: o->no_discovery = 1; break;
		case O_TTL: o->ttl = (int)tool_parse_uint("--ttl", optarg, 0, 255); break;
		case O_BEACON: o->beacon = tool_parse_secs("--beacon", optarg); break;
		case O_AWAY: o->away = tool_parse_secs("--away", optarg); break;
		case O_GONE: o->gone = tool_parse_secs("--gone", optarg); break;
		case O_LINGER: o->linger = tool_parse_secs("--linger", optarg); break;
		case O_WAIT_PEERS:
			o->wait_peers = (unsigned)tool_parse_uint("--wait-peers", optarg, 0, MAX_PEERS);
			break;
		case O_WAIT: o->wait = tool_parse_secs("--wait", optarg); break;
		case O_JSON: o->json = 1; break;
		TOOL_SEAL_CASES:
			if (c == TOOL_SEAL_O_PENV)
				o->pass_env = optarg;
			tool_seal_option(c, optarg);
			break;
		case 'h': usage();
		TOOL_COMMON_CASES: tool_common_option(c, optarg, &o->stats); break;
		case '4': o->family_flags = UDP_ADDR_V4; break;
		case '6': o->family_flags = UDP_ADDR_V6; break;
		default: tool_bad_option(c, argv);
		}
	}
	if (optind < argc)
		tool_usage_die("unexpected argument '%s'", argv[optind]);
	if (o->beacon < 0.01)
		tool_usage_die("--beacon must be at least 0.01 seconds");
	if (o->away < 0.05 || o->gone <= o->away)
		tool_usage_die("need 0.05 <= --away < --gone");
	if (o->no_discovery && o->broadcast)
		tool_usage_die("--broadcast and --no-discovery exclude each other");
}

static uint64_t now_us(void)
{
	return rel_drv_now();
}

static uint64_t secs_us(double s)
{
	return (uint64_t)(s * 1e6);
}

/* ---- output ---- */

static void emit(struct chat *c, const char *line, size_t len)
{
	if (c->tty) {
		chat_tty_print(&c->ed, line, len);
		return;
	}
	/* one write per line: a reader never sees half a line */
	char buf[OUT_MAX + 2];
	memcpy(buf, line, len);
	buf[len] = '\n';
	const char *p = buf;
	size_t n = len + 1;
	while (n) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void name_of(const struct chat *c, uint64_t id, const char *nick, char *buf,
		    size_t cap)
{
	udp_chat_roster_name(c->roster, c->id, c->nick, id, nick, buf, cap);
}

/* Starts a line: the JSON head {"type":..,"ts":..} or the text timestamp. */
static size_t line_start(struct chat *c, const char *type)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	size_t pos = 0;
	c->out[0] = '\0';
	if (c->o.json) {
		chat_put(c->out, sizeof c->out, &pos, "{\"type\":\"%s\",\"ts\":%lld.%03ld", type,
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000);
	} else {
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		chat_put(c->out, sizeof c->out, &pos, "%s%02d:%02d:%02d%s ",
			 c->color ? "\033[2m" : "", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 c->color ? "\033[0m" : "");
	}
	return pos;
}

static void json_str(struct chat *c, size_t *pos, const char *key, const void *s, size_t n)
{
	chat_put(c->out, sizeof c->out, pos, ",\"%s\":\"", key);
	chat_put_json(c->out, sizeof c->out, pos, s, n);
	chat_put(c->out, sizeof c->out, pos, "\"");
}

static void text_name(struct chat *c, size_t *pos, uint64_t id, const char *name)
{
	if (c->color)
		chat_put(c->out, sizeof c->out, pos, "\033[1;%dm", 31 + (int)(id % 6));
	chat_put_text(c->out, sizeof c->out, pos, name, strlen(name));
	if (c->color)
		chat_put(c->out, sizeof c->out, pos, "\033[0m");
}

/* A message from a peer: type msg, me or private. */
static void show_msg(struct chat *c, uint8_t type, uint64_t id, const char *name,
		     const uint8_t *text, size_t n)
{
	const char *jt = type == UDP_CHAT_ME ? "me" : type == UDP_CHAT_PRIV ? "private" : "msg";
	size_t pos = line_start(c, jt);
	if (c->o.json) {
		json_str(c, &pos, "from", name, strlen(name));
		chat_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", id);
		json_str(c, &pos, "text", text, n);
		chat_put(c->out, sizeof c->out, &pos, "}");
	} else {
		if (type == UDP_CHAT_ME) {
			chat_put(c->out, sizeof c->out, &pos, "* ");
			text_name(c, &pos, id, name);
			chat_put(c->out, sizeof c->out, &pos, " ");
		} else {
			chat_put(c->out, sizeof c->out, &pos, "%s<",
				 type == UDP_CHAT_PRIV ? "[private] " : "");
			text_name(c, &pos, id, name);
			chat_put(c->out, sizeof c->out, &pos, "> ");
		}
		chat_put_text(c->out, sizeof c->out, &pos, text, n);
	}
	emit(c, c->out, pos);
}

/* A presence line: join, leave, away, back, gone, nick (extra: the new
 * name for nick, the address for join). */
static void show_presence(struct chat *c, const char *type, uint64_t id,
			  const char *name, const char *extra)
{
	size_t pos = line_start(c, type);
	if (c->o.json) {
		json_str(c, &pos, "from", name, strlen(name));
		chat_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", id);
		if (extra)
			json_str(c, &pos, strcmp(type, "nick") == 0 ? "to" : "addr", extra,
				 strlen(extra));
		chat_put(c->out, sizeof c->out, &pos, "}");
	} else {
		chat_put(c->out, sizeof c->out, &pos, "-- ");
		text_name(c, &pos, id, name);
		if (strcmp(type, "join") == 0)
			chat_put(c->out, sizeof c->out, &pos, " joined from %s", extra ? extra : "?");
		else if (strcmp(type, "leave") == 0)
			chat_put(c->out, sizeof c->out, &pos, " left");
		else if (strcmp(type, "nick") == 0) {
			chat_put(c->out, sizeof c->out, &pos, " is now known as ");
			text_name(c, &pos, id, extra);
		} else
			chat_put(c->out, sizeof c->out, &pos, " is %s", type);
	}
	emit(c, c->out, pos);
}

/* Local notices (errors of commands, /help) go to stderr, or above the
 * prompt on a terminal. */
static void notice(struct chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(struct chat *c, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (c->tty) {
		char line[600];
		int n = snprintf(line, sizeof line, "%s%s%s", c->color ? "\033[33m" : "", text,
				 c->color ? "\033[0m" : "");
		chat_tty_print(&c->ed, line, n < 0 ? 0 : strnlen(line, sizeof line));
	} else {
		tool_err("%s", text);
	}
}

/* ---- sessions ---- */

static struct sess *sess_by_rel(struct chat *c, uint32_t rel)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && c->s[i].rel == rel)
			return &c->s[i];
	return NULL;
}

static struct sess *sess_by_id(struct chat *c, uint64_t id)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && (c->s[i].id == id || (!c->s[i].id && c->s[i].expect == id)))
			return &c->s[i];
	return NULL;
}

static struct sess *sess_by_addr(struct chat *c, const struct udp_addr *a)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && udp_addr_equal(&c->s[i].addr, a))
			return &c->s[i];
	return NULL;
}

static struct sess *sess_new(struct chat *c, uint32_t rel)
{
	for (int i = 0; i < MAX_PEERS; i++)
		if (!c->s[i].used) {
			memset(&c->s[i], 0, sizeof c->s[i]);
			c->s[i].used = 1;
			c->s[i].rel = rel;
			c->s[i].opened = tool_now();
			rel_drv_peer_addr(c->drv, rel, &c->s[i].addr);
			return &c->s[i];
		}
	return NULL;
}

static int encode(struct chat *c, uint8_t type, const void *text, size_t n,
		  uint8_t *buf, size_t cap)
{
	struct udp_chat_pkt p = { .type = type, .id = c->id, .text = text, .text_len = n };
	struct udp_addr local;
	if (type == UDP_CHAT_BEACON || type == UDP_CHAT_LEAVE) {
		if (udp_sock_local_addr(c->data, &local) == 0)
			p.port = (uint16_t)udp_addr_port(&local);
	}
	snprintf(p.nick, sizeof p.nick, "%s", c->nick);
	return udp_chat_encode(&p, buf, cap);
}

/* Sends one packet over a session (reliable in order, or a DGRAM
 * heartbeat).  Returns 0 or the core's error. */
static int sess_send(struct chat *c, struct sess *s, uint8_t type, const void *text,
		     size_t n, enum rel_mode mode)
{
	uint8_t buf[UDP_CHAT_PKT_MAX];
	int len = encode(c, type, text, n, buf, sizeof buf);
	if (len < 0)
		return len;
	return rel_send(c->core, s->rel, buf, (size_t)len, mode, now_us(), NULL);
}

static void sess_close(struct chat *c, struct sess *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	if (rel_close(c->core, s->rel, now_us()) < 0)
		s->used = 0; /* the core has forgotten it already */
}

static void connect_to(struct chat *c, const struct udp_addr *a, uint64_t expect, int explicit_idx)
{
	uint32_t rel;
	char b[UDP_ADDR_STRLEN];
	int r = rel_drv_connect(c->drv, a, &rel);
	if (r < 0) {
		tool_debug("connect %s: %s", tool_addr_str(a, b, sizeof b), rel_strerror(r));
		return;
	}
	struct sess *s = sess_new(c, rel);
	if (!s) {
		rel_close(c->core, rel, now_us());
		return;
	}
	s->addr = *a;
	s->expect = expect;
	s->explicit_idx = explicit_idx;
	tool_debug("connecting to %s", tool_addr_str(a, b, sizeof b));
}

/* A peer's HELLO names its session.  When two sessions between the same
 * two addresses name one peer (both sides connected at once), both sides
 * keep the one that the smaller id started, so they agree without talking
 * about it.  A known id from another address is refused: it cannot take
 * over a live peer's conversation. */
static void send_peer_lists(struct chat *c, struct sess *newcomer);

static void on_hello(struct chat *c, struct sess *s, const struct udp_chat_pkt *p)
{
	char name[UDP_CHAT_NAME_MAX], b[UDP_ADDR_STRLEN];
	if (p->id == c->id) { /* we connected to ourselves (a --peer loop) */
		sess_close(c, s);
		return;
	}
	struct udp_chat_peer_info info;
	if (udp_chat_roster_get(c->roster, p->id, &info) == 0) {
		struct sess *old = sess_by_rel(c, info.tag);
		if (old && old != s && !udp_addr_equal(&old->addr, &s->addr)) {
			/* the id speaks from elsewhere: a copy, not a duplicate */
			tool_debug("HELLO with a known id from another address: closed");
			sess_close(c, s);
			return;
		}
		if (old && old != s) {
			s->id = p->id;
			int s_by_me = s->expect || s->explicit_idx;
			uint64_t s_starter = s_by_me ? c->id : p->id;
			struct sess *keep = s_starter < (c->id ^ p->id ^ s_starter) ? s : old;
			struct sess *drop = keep == s ? old : s;
			/* drop keeps its id: what is still in flight on it is
			 * delivered; only sending moves to keep */
			sess_close(c, drop);
			keep->id = p->id;
			udp_chat_roster_set_tag(c->roster, p->id, keep->rel);
			return;
		}
		s->id = p->id;
		udp_chat_roster_set_tag(c->roster, p->id, s->rel);
		return;
	}
	s->id = p->id;
	if (udp_chat_roster_add(c->roster, p->id, p->nick, s->rel, now_us()) < 0) {
		sess_close(c, s);
		return;
	}
	name_of(c, p->id, p->nick, name, sizeof name);
	show_presence(c, "join", p->id, name, tool_addr_str(&s->addr, b, sizeof b));
	send_peer_lists(c, s);
}

static int is_loopback(const struct udp_addr *a)
{
	if (udp_addr_family(a) == AF_INET)
		return (ntohl(a->u.in4.sin_addr.s_addr) >> 24) == 127;
	return udp_addr_family(a) == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

/* Peer exchange: the newcomer learns every peer we have, and every peer
 * learns the newcomer, so meshes built with --peer fill in (docs/CHAT.md). */
static void send_peer_lists(struct chat *c, struct sess *newcomer)
{
	uint8_t list[UDP_CHAT_TEXT_MAX], one[64];
	struct udp_wire_writer w, w1;
	udp_wire_writer_init(&w, list, sizeof list);
	udp_wire_writer_init(&w1, one, sizeof one);
	struct udp_chat_peer_addr e = { .id = newcomer->id, .addr = newcomer->addr };
	udp_chat_peers_put(&w1, &e);
	for (int i = 0; i < MAX_PEERS; i++) {
		struct sess *s = &c->s[i];
		if (!s->used || !s->id || s->closing || s == newcomer)
			continue;
		e = (struct udp_chat_peer_addr){ .id = s->id, .addr = s->addr };
		struct udp_wire_writer save = w;
		if (udp_chat_peers_put(&w, &e) < 0)
			w = save; /* full: the rest learn it from others */
		if (!udp_wire_writer_error(&w1))
			sess_send(c, s, UDP_CHAT_PEERS, one, udp_wire_written(&w1), REL_SEQPACKET);
	}
	if (udp_wire_written(&w))
		sess_send(c, newcomer, UDP_CHAT_PEERS, list, udp_wire_written(&w), REL_SEQPACKET);
}

/* A list from peer s: connect to those we do not know, by the same rule
 * as beacons (the smaller id connects).  A loopback address in it means
 * "on s's host". */
static void on_peer_list(struct chat *c, struct sess *s, const struct udp_chat_pkt *p)
{
	struct udp_wire_reader r;
	struct udp_chat_peer_addr e;
	udp_wire_reader_init(&r, p->text, p->text_len);
	while (udp_chat_peers_next(&r, &e) == 1) {
		if (e.id <= c->id || c->quitting || sess_by_id(c, e.id) ||
		    udp_chat_roster_get(c->roster, e.id, NULL) == 0)
			continue;
		if (udp_addr_family(&e.addr) != udp_addr_family(&s->addr))
			continue;
		if (is_loopback(&e.addr) && !is_loopback(&s->addr)) {
			int port = udp_addr_port(&e.addr);
			e.addr = s->addr;
			udp_addr_set_port(&e.addr, port);
		}
		if (!sess_by_addr(c, &e.addr))
			connect_to(c, &e.addr, e.id, 0);
	}
}

static void peer_left(struct chat *c, struct sess *s, const char *how)
{
	struct udp_chat_peer_info info;
	if (!s->id || udp_chat_roster_get(c->roster, s->id, &info) < 0 || info.tag != s->rel)
		return;
	char name[UDP_CHAT_NAME_MAX];
	name_of(c, s->id, info.nick, name, sizeof name);
	show_presence(c, how, s->id, name, NULL);
	udp_chat_roster_remove(c->roster, s->id);
}

static void on_message(struct chat *c, struct sess *s, const struct rel_event *ev)
{
	struct udp_chat_pkt p;
	if (udp_chat_decode(&p, ev->data, ev->len) < 0) {
		tool_debug("bad chat packet (%zu bytes) dropped", ev->len);
		return;
	}
	if (p.type == UDP_CHAT_HELLO && ev->mode != REL_DGRAM) {
		on_hello(c, s, &p);
		return;
	}
	if (!s->id || p.id != s->id)
		return; /* before HELLO (a heartbeat overtook it), or not who it said */
	struct udp_chat_event rev;
	struct udp_chat_peer_info info;
	uint64_t now = now_us();
	if (udp_chat_roster_get(c->roster, s->id, &info) < 0) {
		/* marked gone, yet the session lives on: it is back */
		if (udp_chat_roster_add(c->roster, s->id, p.nick, s->rel, now) < 0)
			return;
		char b[UDP_ADDR_STRLEN], name[UDP_CHAT_NAME_MAX];
		name_of(c, s->id, p.nick, name, sizeof name);
		show_presence(c, "join", s->id, name, tool_addr_str(&s->addr, b, sizeof b));
		udp_chat_roster_get(c->roster, s->id, &info);
	}
	if (udp_chat_roster_seen(c->roster, s->id, now, &rev) == 1)
		show_presence(c, "back", rev.id, rev.name, NULL);
	if (ev->mode == REL_DGRAM)
		return; /* heartbeats only say "alive" */
	char name[UDP_CHAT_NAME_MAX], to[UDP_CHAT_NAME_MAX];
	name_of(c, s->id, info.nick, name, sizeof name);
	switch (p.type) {
	case UDP_CHAT_MSG:
	case UDP_CHAT_ME:
	case UDP_CHAT_PRIV:
		c->received++;
		show_msg(c, p.type, s->id, name, p.text, p.text_len);
		break;
	case UDP_CHAT_NICK:
		if (strcmp(p.nick, info.nick) == 0)
			break;
		udp_chat_roster_rename(c->roster, s->id, p.nick);
		name_of(c, s->id, p.nick, to, sizeof to);
		show_presence(c, "nick", s->id, name, to);
		break;
	case UDP_CHAT_PEERS:
		on_peer_list(c, s, &p);
		break;
	case UDP_CHAT_BYE:
		peer_left(c, s, "leave");
		break;
	default:
		break;
	}
}

static void rel_events(struct chat *c)
{
	struct rel_event ev;
	while (rel_poll_event(c->core, &ev)) {
		struct sess *s = sess_by_rel(c, ev.peer);
		switch (ev.type) {
		case REL_EV_CONNECTED:
			if (!s)
				s = sess_new(c, ev.peer);
			if (!s) {
				rel_close(c->core, ev.peer, now_us());
				break;
			}
			if (c->quitting)
				sess_close(c, s);
			else
				sess_send(c, s, UDP_CHAT_HELLO, NULL, 0, REL_SEQPACKET);
			break;
		case REL_EV_MESSAGE:
			if (s) /* also while closing: what was in flight still counts */
				on_message(c, s, &ev);
			rel_buf_free(ev.data);
			break;
		case REL_EV_PEER_CLOSED:
			if (s) {
				peer_left(c, s, "leave");
				sess_close(c, s);
			}
			break;
		case REL_EV_CLOSED: /* we closed it: quitting, or a duplicate */
			if (s)
				s->used = 0;
			break;
		case REL_EV_DEAD:
			if (s) {
				peer_left(c, s, "gone");
				s->used = 0;
			}
			break;
		default:
			break;
		}
	}
}

/* ---- beacons ---- */

static void send_beacon(struct chat *c, uint8_t type)
{
	uint8_t buf[UDP_CHAT_PKT_MAX];
	int len = encode(c, type, NULL, 0, buf, sizeof buf);
	if (len < 0)
		return;
	if (c->bsock) {
		int r = udp_sock_send(c->data, buf, (size_t)len, &c->group);
		if (r < 0)
			tool_debug("beacon: %s", udp_strerror(r));
	}
	if (type != UDP_CHAT_BEACON)
		return;
	/* the same beacon inside each session: presence without multicast */
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && c->s[i].id && !c->s[i].closing)
			rel_send(c->core, c->s[i].rel, buf, (size_t)len, REL_DGRAM, now_us(), NULL);
}

/* A multicast route of scope link on lo (a test namespace) makes the
 * kernel send beacons from 0.0.0.0 or ::.  Such a sender is on this host,
 * and its sessions answer from loopback, so that is where to connect. */
static void unspecified_to_loopback(struct udp_addr *a)
{
	if (udp_addr_family(a) == AF_INET && a->u.in4.sin_addr.s_addr == htonl(INADDR_ANY))
		a->u.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (udp_addr_family(a) == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr))
		a->u.in6.sin6_addr = in6addr_loopback;
}

static void on_beacon(struct chat *c, const struct udp_msg *m)
{
	struct udp_chat_pkt p;
	if (udp_chat_decode(&p, m->buf, m->len) < 0 || p.id == c->id)
		return;
	if (p.type != UDP_CHAT_BEACON) /* LEAVE: the session's BYE says it */
		return;
	struct udp_chat_event ev;
	if (udp_chat_roster_get(c->roster, p.id, NULL) == 0) {
		if (udp_chat_roster_seen(c->roster, p.id, now_us(), &ev) == 1)
			show_presence(c, "back", ev.id, ev.name, NULL);
		return;
	}
	/* A new peer.  Only the smaller id connects, so two peers that hear
	 * each other's beacons open one session, not two. */
	if (c->quitting || p.id < c->id || sess_by_id(c, p.id))
		return;
	struct udp_addr a = m->addr;
	udp_addr_set_port(&a, p.port);
	unspecified_to_loopback(&a);
	if (sess_by_addr(c, &a))
		return;
	connect_to(c, &a, p.id, 0);
}

static void read_beacons(struct chat *c)
{
	uint8_t buf[UDP_CHAT_PKT_MAX + 1];
	for (int k = 0; k < 64; k++) {
		struct udp_msg m = { .buf = buf, .cap = sizeof buf };
		int r = udp_sock_recv(c->bsock, &m);
		if (r < 0)
			return;
		if (!(m.flags & UDP_MSG_TRUNC))
			on_beacon(c, &m);
	}
}

/* ---- commands and lines typed ---- */

static void send_all(struct chat *c, uint8_t type, const char *text, size_t n)
{
	for (int i = 0; i < MAX_PEERS; i++) {
		struct sess *s = &c->s[i];
		if (!s->used || !s->id || s->closing)
			continue;
		int r = sess_send(c, s, type, text, n, REL_SEQPACKET);
		if (r < 0)
			notice(c, "not sent to one peer: %s", rel_strerror(r));
	}
}

static void echo_own(struct chat *c, uint8_t type, const char *to, const char *text, size_t n)
{
	if (!c->tty)
		return; /* scripts know what they sent */
	char me[UDP_CHAT_NAME_MAX];
	name_of(c, c->id, c->nick, me, sizeof me);
	if (type == UDP_CHAT_PRIV) {
		char label[2 * UDP_CHAT_NAME_MAX + 8];
		snprintf(label, sizeof label, "%s -> %s", me, to);
		show_msg(c, UDP_CHAT_MSG, c->id, label, (const uint8_t *)text, n);
	} else {
		show_msg(c, type, c->id, me, (const uint8_t *)text, n);
	}
}

static void cmd_who(struct chat *c)
{
	size_t n = udp_chat_roster_count(c->roster);
	uint64_t now = now_us();
	for (size_t i = 0; i < n; i++) {
		struct udp_chat_peer_info pi;
		udp_chat_roster_at(c->roster, i, &pi);
		char name[UDP_CHAT_NAME_MAX], b[UDP_ADDR_STRLEN];
		name_of(c, pi.id, pi.nick, name, sizeof name);
		struct sess *s = sess_by_rel(c, pi.tag);
		const char *addr = s ? tool_addr_str(&s->addr, b, sizeof b) : "?";
		double ago = (double)(now - pi.last_seen) / 1e6;
		const char *state = pi.state == UDP_CHAT_AWAY ? "away" : "live";
		size_t pos = line_start(c, "who");
		if (c->o.json) {
			json_str(c, &pos, "from", name, strlen(name));
			chat_put(c->out, sizeof c->out, &pos,
				 ",\"id\":\"%016" PRIx64 "\",\"addr\":\"%s\",\"state\":\"%s\","
				 "\"last_seen\":%.1f}", pi.id, addr, state, ago);
		} else {
			chat_put(c->out, sizeof c->out, &pos, "   ");
			text_name(c, &pos, pi.id, name);
			chat_put(c->out, sizeof c->out, &pos, "  %s  %s, last seen %.1f s ago",
				 addr, state, ago);
		}
		emit(c, c->out, pos);
	}
	if (!c->o.json)
		notice(c, "%zu peer%s", n, n == 1 ? "" : "s");
}

static void cmd_msg(struct chat *c, const char *args)
{
	const char *sp = strchr(args, ' ');
	if (!*args || !sp || !sp[1]) {
		notice(c, "usage: /msg NICK TEXT");
		return;
	}
	char target[UDP_CHAT_NAME_MAX + 1];
	size_t tl = (size_t)(sp - args);
	if (tl >= sizeof target) {
		notice(c, "no such peer");
		return;
	}
	memcpy(target, args, tl);
	target[tl] = '\0';
	uint64_t id;
	int r = udp_chat_roster_find(c->roster, target, &id);
	if (r == 0) {
		notice(c, "no peer '%s' (see /who)", target);
		return;
	}
	if (r < 0) {
		notice(c, "'%s' is ambiguous: add the #id (see /who)", target);
		return;
	}
	struct udp_chat_peer_info pi;
	udp_chat_roster_get(c->roster, id, &pi);
	struct sess *s = sess_by_rel(c, pi.tag);
	if (!s || (r = sess_send(c, s, UDP_CHAT_PRIV, sp + 1, strlen(sp + 1), REL_SEQPACKET)) < 0) {
		notice(c, "not sent: %s", s ? rel_strerror(r) : "no session");
		return;
	}
	c->privates++;
	char name[UDP_CHAT_NAME_MAX];
	name_of(c, id, pi.nick, name, sizeof name);
	echo_own(c, UDP_CHAT_PRIV, name, sp + 1, strlen(sp + 1));
}

static void cmd_nick(struct chat *c, const char *nick)
{
	if (!udp_chat_nick_valid(nick, strlen(nick))) {
		notice(c, "bad nickname (1-%d bytes, no spaces, '#', quotes or backslash)",
		       UDP_CHAT_NICK_MAX);
		return;
	}
	snprintf(c->nick, sizeof c->nick, "%s", nick);
	send_all(c, UDP_CHAT_NICK, NULL, 0);
	char me[UDP_CHAT_NAME_MAX];
	name_of(c, c->id, c->nick, me, sizeof me);
	notice(c, "you are now %s", me);
}

static void start_quit(struct chat *c);

static void on_line(struct chat *c, char *line)
{
	size_t n = strlen(line);
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n == 0)
		return;
	if (line[0] == '/' && line[1] != '/') {
		char *arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		else
			arg = line + n;
		if (strcmp(line, "/who") == 0)
			cmd_who(c);
		else if (strcmp(line, "/msg") == 0)
			cmd_msg(c, arg);
		else if (strcmp(line, "/nick") == 0)
			cmd_nick(c, arg);
		else if (strcmp(line, "/me") == 0 && *arg) {
			send_all(c, UDP_CHAT_ME, arg, strlen(arg));
			c->sent++;
			echo_own(c, UDP_CHAT_ME, NULL, arg, strlen(arg));
		} else if (strcmp(line, "/quit") == 0)
			start_quit(c);
		else if (strcmp(line, "/help") == 0)
			notice(c, "/who  /nick NAME  /msg NICK TEXT  /me TEXT  /quit  (// sends a '/')");
		else
			notice(c, "unknown command %s (try /help)", line);
		return;
	}
	if (line[0] == '/')
		line++, n--; /* "//x" sends "/x" */
	if (n > UDP_CHAT_TEXT_MAX) {
		notice(c, "line too long (%zu bytes, at most %d): not sent", n, UDP_CHAT_TEXT_MAX);
		return;
	}
	send_all(c, UDP_CHAT_MSG, line, n);
	c->sent++;
	echo_own(c, UDP_CHAT_MSG, NULL, line, n);
}

/* Leaving: BYE in every session (delivered after everything sent before
 * it), then a graceful close; LEAVE beacons for peers without a session. */
static void start_quit(struct chat *c)
{
	if (c->quitting)
		return;
	c->quitting = 1;
	if (c->tty) {
		/* no more typing; and a second ^C (default action, it kills)
		 * must not leave the terminal without echo */
		chat_tty_close(&c->ed);
		c->tty = 0;
	}
	send_all(c, UDP_CHAT_BYE, NULL, 0);
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used)
			sess_close(c, &c->s[i]);
	send_beacon(c, UDP_CHAT_LEAVE);
}

/* ---- input ---- */

struct input {
	char buf[UDP_CHAT_TEXT_MAX * 2 + 2];
	size_t len;
	int eof;
};

/* Reads what stdin has and handles each complete line.  A line longer
 * than the buffer is handed on in pieces (on_line refuses it). */
static void read_input(struct chat *c, struct input *in)
{
	if (c->tty) {
		unsigned char k[256];
		ssize_t r = read(STDIN_FILENO, k, sizeof k);
		if (r <= 0) {
			if (r == 0 || errno != EINTR)
				in->eof = 1;
			return;
		}
		char line[CHAT_TTY_LINE];
		for (ssize_t i = 0; i < r && !c->quitting; i++) {
			int st = chat_tty_key(&c->ed, k[i], line, sizeof line);
			if (st < 0)
				in->eof = 1;
			else if (st == 1)
				on_line(c, line);
		}
		return;
	}
	ssize_t r = read(STDIN_FILENO, in->buf + in->len, sizeof in->buf - 1 - in->len);
	if (r < 0 && errno == EINTR)
		return;
	if (r <= 0) {
		if (in->len) { /* a last line without a newline */
			in->buf[in->len] = '\0';
			on_line(c, in->buf);
			in->len = 0;
		}
		in->eof = 1;
		return;
	}
	in->len += (size_t)r;
	size_t start = 0;
	for (size_t i = 0; i < in->len && !c->quitting; i++) {
		if (in->buf[i] != '\n')
			continue;
		in->buf[i] = '\0';
		on_line(c, in->buf + start);
		start = i + 1;
	}
	if (c->quitting)
		start = in->len;
	if (start == 0 && in->len == sizeof in->buf - 1) { /* no newline in sight */
		in->buf[in->len] = '\0';
		on_line(c, in->buf);
		start = in->len;
	}
	memmove(in->buf, in->buf + start, in->len - start);
	in->len -= start;
}

/* ---- set-up ---- */

static struct udp_sock *open_data(struct chat *c, int family)
{
	struct udp_addr local;
	const char *host = family == AF_INET6 ? "::" : "0.0.0.0";
	tool_resolve(&local, host, c->o.data_port ? c->o.data_port : "0", UDP_ADDR_NUMERIC);
	struct udp_sock *s;
	char b[UDP_ADDR_STRLEN];
	int r = udp_sock_open_bound(&s, &local, UDP_SOCK_NONBLOCK);
	if (r < 0)
		tool_die(TOOL_EXIT_ERR, "cannot bind %s: %s", tool_addr_str(&local, b, sizeof b),
			 udp_strerror(r));
	tool_netsim_apply(s);
	udp_sock_set_buffers(s, 4 << 20, 4 << 20);
	return s;
}

static void open_beacons(struct chat *c, int family)
{
	struct udp_addr local;
	int r;
	char b[UDP_ADDR_STRLEN];
	tool_resolve(&local, family == AF_INET6 ? "::" : "0.0.0.0", c->o.port, UDP_ADDR_NUMERIC);
	/* every peer on this host binds the group port: multicast and
	 * broadcast datagrams go to all of them */
	r = udp_sock_open_bound(&c->bsock, &local,
				UDP_SOCK_NONBLOCK | UDP_SOCK_REUSEADDR | UDP_SOCK_REUSEPORT |
				(family == AF_INET6 ? UDP_SOCK_V6ONLY : 0));
	if (r < 0)
		tool_die(TOOL_EXIT_ERR, "cannot bind beacon port %s: %s",
			 tool_addr_str(&local, b, sizeof b), udp_strerror(r));
	tool_netsim_apply(c->bsock);
	if (c->o.broadcast) {
		if ((r = udp_sock_set_broadcast(c->data, 1)) < 0)
			tool_die(TOOL_EXIT_ERR, "broadcast: %s", udp_strerror(r));
		return;
	}
	if ((r = udp_sock_join(c->bsock, &c->group, c->o.iface)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot join %s%s%s: %s",
			 tool_addr_str(&c->group, b, sizeof b), c->o.iface ? " on " : "",
			 c->o.iface ? c->o.iface : "", udp_strerror(r));
	udp_sock_set_mcast_ttl(c->data, c->o.ttl);
	udp_sock_set_mcast_loop(c->data, 1); /* peers on this host too */
	if (c->o.iface && (r = udp_sock_set_mcast_if(c->data, c->o.iface)) < 0)
		tool_die(TOOL_EXIT_ERR, "interface %s: %s", c->o.iface, udp_strerror(r));
}

/* Both sockets get the group key, so beacons are sealed like the rest.
 * tool_seal_apply() wipes and unsets a --passphrase-env variable once read,
 * so for the second socket it is put back from a copy in locked memory,
 * which is wiped right after. */
static void seal_sockets(struct chat *c)
{
	char *copy = NULL;
	const char *v = c->o.pass_env ? getenv(c->o.pass_env) : NULL;
	if (c->bsock && v) {
		if (sodium_init() < 0 || !(copy = sodium_malloc(strlen(v) + 1)))
			tool_die(TOOL_EXIT_ERR, "out of memory for the passphrase");
		memcpy(copy, v, strlen(v) + 1);
	}
	tool_seal_apply(c->data);
	if (!c->bsock)
		return;
	if (copy) {
		setenv(c->o.pass_env, copy, 1);
		sodium_free(copy); /* wipes */
	}
	tool_seal_apply(c->bsock);
}

static void setup(struct chat *c)
{
	struct opts *o = &c->o;
	const char *nick = o->nick ? o->nick : getenv("USER");
	if (!nick || !*nick)
		nick = "anon";
	if (!udp_chat_nick_valid(nick, strlen(nick)))
		tool_usage_die("bad nickname '%s' (1-%d bytes, no spaces, '#', quotes or backslash)",
			       nick, UDP_CHAT_NICK_MAX);
	snprintf(c->nick, sizeof c->nick, "%s", nick);
	while (!c->id)
		if (getrandom(&c->id, sizeof c->id, 0) != (ssize_t)sizeof c->id)
			tool_die(TOOL_EXIT_ERR, "getrandom: %s", strerror(errno));

	/* the group decides the family; -6 picks the IPv6 default group */
	const char *g = o->group ? o->group
		: o->broadcast ? "255.255.255.255"
		: o->family_flags == UDP_ADDR_V6 ? DEFAULT_GROUP6 : DEFAULT_GROUP4;
	tool_resolve(&c->group, g, o->port, o->family_flags | UDP_ADDR_NUMERIC);
	if (!o->broadcast && !o->no_discovery && !udp_addr_is_multicast(&c->group))
		tool_usage_die("'%s' is not a multicast group (use -b for broadcast)", g);
	if (o->broadcast && udp_addr_family(&c->group) != AF_INET)
		tool_usage_die("broadcast needs IPv4");
	int family = o->no_discovery && o->family_flags != UDP_ADDR_V6 && !o->group
		? AF_INET : udp_addr_family(&c->group);
	struct udp_addr *peers = c->explicit_addr;
	for (int i = 0; i < o->npeers; i++) {
		if (!tool_is_combined(o->peers[i]))
			tool_usage_die("--peer wants HOST:PORT, not '%s'", o->peers[i]);
		tool_resolve(&peers[i], o->peers[i], NULL,
			     family == AF_INET6 ? UDP_ADDR_V6 : UDP_ADDR_V4);
	}

	tool_netsim_env_check();
	c->data = open_data(c, family);
	if (!o->no_discovery)
		open_beacons(c, family);
	seal_sockets(c);

	struct rel_config rc;
	rel_config_default(&rc);
	if (getrandom(&rc.seed, sizeof rc.seed, 0) != (ssize_t)sizeof rc.seed ||
	    getrandom(rc.cookie_secret, sizeof rc.cookie_secret, 0) != (ssize_t)sizeof rc.cookie_secret)
		tool_die(TOOL_EXIT_ERR, "getrandom: %s", strerror(errno));
	rc.accept = 1;
	rc.max_msg = UDP_CHAT_PKT_MAX;
	rc.recv_budget = 1 << 20;
	rc.send_budget = 8 << 20;
	rc.max_peers = MAX_PEERS;
	rc.keepalive_us = secs_us(o->beacon);
	rc.dead_us = secs_us(o->gone);
	rc.linger_us = secs_us(o->gone);
	rc.cc = &rel_cc_reno;
	/* a LAN answers in well under a millisecond: RFC 6298's 1 s before the
	 * first RTT sample only makes joins slow when a handshake packet is lost */
	rc.rto_initial_us = 250000;
	int err = 0;
	c->core = rel_core_new(&rc, &err);
	if (!c->core)
		tool_die(TOOL_EXIT_ERR, "reliable core: %s", rel_strerror(err));
	if (rel_drv_new(&c->drv, c->core, c->data) < 0)
		tool_die(TOOL_EXIT_ERR, "out of memory");

	struct udp_chat_roster_config cfg;
	udp_chat_roster_config_default(&cfg);
	cfg.away_us = secs_us(o->away);
	cfg.gone_us = secs_us(o->gone);
	cfg.max_peers = MAX_PEERS;
	c->roster = udp_chat_roster_new(&cfg);
	if (!c->roster)
		tool_die(TOOL_EXIT_ERR, "out of memory");

	struct udp_addr local;
	char b[UDP_ADDR_STRLEN], me[UDP_CHAT_NAME_MAX];
	udp_sock_local_addr(c->data, &local);
	name_of(c, c->id, c->nick, me, sizeof me);
	tool_info("%s listening on %s%s", me, tool_addr_str(&local, b, sizeof b),
		  o->no_discovery ? " (no discovery)" : "");
	for (int i = 0; i < o->npeers; i++) {
		connect_to(c, &peers[i], 0, i + 1);
		c->explicit_retry[i] = tool_now() + o->gone;
	}
}

/* A session that has not said HELLO within --gone is closed: without it,
 * anyone could hold sessions open (up to MAX_PEERS) for nothing. */
static void reap_silent(struct chat *c)
{
	double now = tool_now();
	for (int i = 0; i < MAX_PEERS; i++) {
		struct sess *s = &c->s[i];
		if (s->used && !s->id && !s->closing && now - s->opened > c->o.gone) {
			tool_debug("session without HELLO closed");
			sess_close(c, s);
		}
	}
}

/* A --peer whose session died (not up yet, or gone) is tried again. */
static void retry_explicit(struct chat *c)
{
	const struct udp_addr *peers = c->explicit_addr;
	double now = tool_now();
	for (int i = 0; i < c->o.npeers; i++) {
		if (now < c->explicit_retry[i])
			continue;
		c->explicit_retry[i] = now + c->o.gone;
		if (!sess_by_addr(c, &peers[i]))
			connect_to(c, &peers[i], 0, i + 1);
	}
}

/* ---- the loop ---- */

static int live_sessions(const struct chat *c)
{
	int n = 0;
	for (int i = 0; i < MAX_PEERS; i++)
		n += c->s[i].used;
	return n;
}

static void roster_timers(struct chat *c)
{
	struct udp_chat_event ev;
	while (udp_chat_roster_tick(c->roster, now_us(), &ev) == 1)
		show_presence(c, ev.type == UDP_CHAT_EV_AWAY ? "away" : "gone", ev.id,
			      ev.name, NULL);
}

/* Milliseconds until the earliest of: reliable timers, beacon, roster
 * timers, the loss simulator's held datagrams; capped so a signal that
 * slips in just before poll() is seen soon. */
static int next_wait_ms(struct chat *c)
{
	uint64_t now = now_us(), due = c->next_beacon;
	uint64_t t = rel_next_deadline(c->core);
	if (t < due)
		due = t;
	t = udp_chat_roster_next_deadline(c->roster);
	if (t < due)
		due = t;
	long ms = due <= now ? 0 : (long)((due - now + 999) / 1000);
	double ns = tool_netsim_due_in(c->data);
	if (ns >= 0 && ns * 1000 < ms)
		ms = (long)(ns * 1000) + 1;
	if (c->bsock && (ns = tool_netsim_due_in(c->bsock)) >= 0 && ns * 1000 < ms)
		ms = (long)(ns * 1000) + 1;
	return ms > 200 ? 200 : (int)ms;
}

static void run(struct chat *c)
{
	struct input *in = calloc(1, sizeof *in);
	if (!in)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	double quit_by = 0, wait_until = tool_now() + c->o.wait;
	int waiting = c->o.wait_peers > 0;
	for (;;) {
		if (tool_stop_signal || in->eof)
			start_quit(c);
		if (c->quitting) {
			if (!quit_by)
				quit_by = tool_now() + c->o.linger;
			if (!live_sessions(c) || tool_now() >= quit_by)
				break;
		}
		uint64_t now = now_us();
		if (now >= c->next_beacon && !c->quitting) {
			send_beacon(c, UDP_CHAT_BEACON);
			retry_explicit(c);
			reap_silent(c);
			c->next_beacon = now + secs_us(c->o.beacon);
		}
		rel_drv_flush(c->drv);
		struct pollfd p[3];
		int n = 0, in_i = -1, b_i = -1;
		p[n++] = (struct pollfd){ .fd = udp_sock_fd(c->data), .events = POLLIN };
		if (rel_out_pending(c->core))
			p[0].events |= POLLOUT;
		if (c->bsock) {
			b_i = n;
			p[n++] = (struct pollfd){ .fd = udp_sock_fd(c->bsock), .events = POLLIN };
		}
		if (waiting && (udp_chat_roster_count(c->roster) >= c->o.wait_peers ||
				tool_now() >= wait_until)) {
			if (udp_chat_roster_count(c->roster) < c->o.wait_peers)
				tool_info("--wait-peers: only %zu of %u peers after %.1f s",
					  udp_chat_roster_count(c->roster), c->o.wait_peers, c->o.wait);
			waiting = 0;
		}
		if (!in->eof && !c->quitting && !waiting) {
			in_i = n;
			p[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}
		int r = poll(p, (nfds_t)n, next_wait_ms(c));
		if (r < 0 && errno != EINTR)
			tool_die(TOOL_EXIT_ERR, "poll: %s", strerror(errno));
		if (r > 0 && b_i >= 0 && p[b_i].revents)
			read_beacons(c);
		else if (c->bsock && tool_netsim_due_in(c->bsock) == 0)
			read_beacons(c); /* held back by a delay model, now due */
		if (r > 0 && in_i >= 0 && p[in_i].revents)
			read_input(c, in);
		/* receive, run the reliable timers, send */
		if (rel_drv_run_once(c->drv, 0) < 0 && errno != EINTR)
			tool_debug("data socket: %s", strerror(errno));
		rel_events(c);
		roster_timers(c);
		tool_seal_check(c->data);
		if (c->bsock)
			tool_seal_check(c->bsock);
		rel_drv_flush(c->drv);
	}
	free(in);
}

static void stats(struct chat *c)
{
	struct rel_core_stats cs;
	rel_core_stats(c->core, &cs);
	tool_err("sent=%llu received=%llu private=%llu peers=%zu pkts_in=%llu pkts_out=%llu",
		 (unsigned long long)c->sent, (unsigned long long)c->received,
		 (unsigned long long)c->privates, udp_chat_roster_count(c->roster),
		 (unsigned long long)cs.pkts_in, (unsigned long long)cs.pkts_out);
	tool_rel_print_core_stats(c->core, c->drv);
	tool_netsim_stats(c->data);
	tool_seal_stats(c->data);
}

static struct chat_tty *tty_to_restore;
static void restore_tty(void)
{
	if (tty_to_restore)
		chat_tty_close(tty_to_restore);
}

int main(int argc, char **argv)
{
	static struct chat c;
	tool_init("udpchat");
	parse_opts(&c.o, argc, argv);
	tool_signals_init();
	signal(SIGPIPE, SIG_IGN);
	setup(&c);
	c.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !c.o.json;
	const char *nc = getenv("NO_COLOR");
	c.color = c.tty && !(nc && *nc);
	if (c.tty) {
		if (chat_tty_open(&c.ed, STDIN_FILENO, STDOUT_FILENO, "> ") < 0)
			c.tty = 0;
		else {
			tty_to_restore = &c.ed;
			atexit(restore_tty);
		}
	}
	run(&c);
	tool_netsim_finish(c.data);
	if (c.o.stats)
		stats(&c);
	restore_tty();
	tty_to_restore = NULL;
	rel_drv_free(c.drv);
	rel_core_free(c.core);
	udp_chat_roster_free(c.roster);
	udp_sock_free(c.bsock);
	udp_sock_free(c.data);
	return TOOL_EXIT_OK;
}
