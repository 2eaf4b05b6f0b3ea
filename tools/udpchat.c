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
#include "tool_chat_app.h"
#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_rel.h"
#include "seal_ident.h"
#include "seal_sock.h"
#include "tool_seal.h"
#include "udp_wire.h"

#define DEFAULT_GROUP4 "239.255.42.42"
#define DEFAULT_GROUP6 "ff15::4242"
#define DEFAULT_PORT "4242"

static _Noreturn void usage(void)
{
	printf("Usage: %s [options] [--nick NAME]\n"
	       "Group chat on a LAN with no server: peers find each other by multicast\n"
	       "beacons, messages go over one reliable session per peer (exactly once,\n"
	       "in each sender's order).  Lines on stdin are sent; commands:\n"
	       "  /who  /nick NAME  /msg NICK TEXT  /me TEXT  /quit  /help  (// sends a '/')\n"
	       "  /send NICK|* FILE  /accept [FID]  /refuse [FID]  /cancel [FID]  (files)\n"
	       "  /history [N]       the last N lines peers said before we started\n"
	       "  /trust NICK        accept the new identity key a warning named\n\n"
	       "Identity and discovery:\n"
	       "  -n, --nick NAME      nickname (default $USER); shown as NAME#xxxx\n"
	       "  -g, --group ADDR     beacon group (default " DEFAULT_GROUP4 ", -6: " DEFAULT_GROUP6 ")\n"
	       "  -p, --port PORT      beacon port (default " DEFAULT_PORT ")\n"
	       "  -i, --interface IF   send and join on IF\n"
	       "  -b, --broadcast      beacons by broadcast (to --group, default 255.255.255.255)\n"
	       "      --peer [KEY@]HOST:PORT  connect to a peer's data port (repeatable;\n"
	       "                       with --identity its public key KEY is needed)\n"
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
	       "Files (docs/CHAT.md, \"Files\"):\n"
	       "      --accept-files   accept every file offered (else /accept)\n"
	       "      --downloads DIR  where files received go (default .)\n"
	       "      --max-file SIZE  refuse larger offers (default 4G; K, M, G suffixes)\n"
	       "Identities (docs/CHAT.md, \"Identities\"):\n"
	       "      --identity FILE  our key pair (udpkey genkey --identity): sessions are\n"
	       "                       Noise IK, nicks are bound to keys on first sight\n"
	       "      --known-peers FILE  nicks and their keys (default\n"
	       "                       $XDG_CONFIG_HOME/udpkit/known_peers or\n"
	       "                       ~/.config/udpkit/known_peers)\n"
	       "Sealing (docs/SEALING.md): everything, beacons included (with --identity\n"
	       "the group key seals beacons and admits sessions: Noise IKpsk2)\n"
	       "  -k, --key FILE       seal and open with the key in FILE (udpkey genkey)\n"
	       "      --passphrase-file FILE  key from the passphrase in FILE\n"
	       "      --passphrase-env VAR    key from the passphrase in $VAR\n"
	       "      --key-group NAME group of the passphrase (required with one; --group\n"
	       "                       is the multicast group here)\n"
	       "      --cipher NAME    what to seal with: xchacha20 (default) or aes256gcm\n"
	       "                       (faster with AES-NI; every peer needs AES-NI to open it)\n"
	       "Output:\n"
	       "      --json           one JSON object per line (also on a terminal)\n"
	       "      --stats          counters on stderr at exit (and on SIGUSR1)\n"
	       "      --netsim SPEC    impair what is sent, tc-netem words: 'loss 20%%'\n"
	       "      --netsim-in SPEC impair what is received\n"
	       "      --netsim-schedule T / --netsim-in-schedule T  a timeline of specs\n"
	       "                       ('0s loss 1%%; 5s loss 100%%; 8s loss 1%%', or @FILE)\n"
	       "  -v, --verbose / -q, --quiet\n"
	       "  -h, --help / --version\n"
	       "Exit: 0 ok (end of input, /quit, SIGINT/SIGTERM), 1 error, 2 bad usage.\n",
	       tool_name);
	exit(TOOL_EXIT_OK);
}

enum { O_PEER = 256, O_DATA_PORT, O_NODISC, O_TTL, O_BEACON, O_AWAY, O_GONE,
       O_LINGER, O_WAIT_PEERS, O_WAIT, O_JSON, O_ACCEPT_FILES, O_DOWNLOADS, O_MAX_FILE,
       O_IDENTITY, O_KNOWN_PEERS };

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
	{ "accept-files", no_argument, 0, O_ACCEPT_FILES },
	{ "downloads", required_argument, 0, O_DOWNLOADS },
	{ "max-file", required_argument, 0, O_MAX_FILE },
	{ "identity", required_argument, 0, O_IDENTITY },
	{ "known-peers", required_argument, 0, O_KNOWN_PEERS },
	{ "key", required_argument, 0, TOOL_SEAL_O_KEY },
	{ "passphrase-file", required_argument, 0, TOOL_SEAL_O_PFILE },
	{ "passphrase-env", required_argument, 0, TOOL_SEAL_O_PENV },
	{ "key-group", required_argument, 0, TOOL_SEAL_O_GROUP },
	{ "passphrase", optional_argument, 0, TOOL_SEAL_O_PASSPHRASE },
	{ "cipher", required_argument, 0, TOOL_SEAL_O_CIPHER },
	TOOL_COMMON_LONGOPTS,
	{ 0, 0, 0, 0 },
};

/* A byte count with an optional K, M or G (powers of 1024). */
static uint64_t parse_size(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (errno || end == s || *end || *s == '-' || v > (UINT64_MAX >> shift))
		tool_usage_die("%s: bad size '%s'", opt, s);
	return (uint64_t)v << shift;
}

static void parse_opts(struct tool_chat_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->port = DEFAULT_PORT;
	o->beacon = 1;
	o->away = 5;
	o->gone = 10;
	o->linger = 5;
	o->wait = 10;
	o->ttl = 1;
	o->max_file = 4ull << 30;
	opterr = 0;
	tool_seal_group_option("--key-group");
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
		case O_ACCEPT_FILES: o->accept_files = 1; break;
		case O_DOWNLOADS: o->downloads = optarg; break;
		case O_MAX_FILE: o->max_file = parse_size("--max-file", optarg); break;
		case O_IDENTITY: o->identity = optarg; break;
		case O_KNOWN_PEERS: o->known_peers = optarg; break;
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

/* ---- set-up ---- */

static struct udp_sock *open_data(struct tool_chat *c, int family)
{
	struct udp_addr local;
	const char *host = family == AF_INET6 ? "::" : "0.0.0.0";
	tool_resolve(&local, host, c->o.data_port ? c->o.data_port : "0", UDP_ADDR_NUMERIC);
	struct udp_sock *s;
	char b[UDP_ADDR_STRLEN];
	int r = udp_sock_open_bound(&s, &local, UDP_SOCK_NONBLOCK);
	if (r < 0)
		tool_die(TOOL_EXIT_ERR, "cannot bind %s: %s", tool_addr_str(&local, b, sizeof b),
			 udpkit_strerror(r));
	tool_netsim_apply(s);
	udp_sock_set_buffers(s, 4 << 20, 4 << 20);
	return s;
}

static void open_beacons(struct tool_chat *c, int family)
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
			 tool_addr_str(&local, b, sizeof b), udpkit_strerror(r));
	tool_netsim_apply(c->bsock);
	if (c->o.broadcast) {
		if ((r = udp_sock_set_broadcast(c->data, 1)) < 0 ||
		    (r = udp_sock_set_broadcast(c->bsock, 1)) < 0)
			tool_die(TOOL_EXIT_ERR, "broadcast: %s", udpkit_strerror(r));
		return;
	}
	if ((r = udp_sock_join(c->bsock, &c->group, c->o.iface)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot join %s%s%s: %s",
			 tool_addr_str(&c->group, b, sizeof b), c->o.iface ? " on " : "",
			 c->o.iface ? c->o.iface : "", udpkit_strerror(r));
	/* both may send beacons (the beacon socket with identities and a
	 * group key, see seal_sockets) */
	struct udp_sock *out[2] = { c->data, c->bsock };
	for (int i = 0; i < 2; i++) {
		udp_sock_set_mcast_ttl(out[i], c->o.ttl);
		udp_sock_set_mcast_loop(out[i], 1); /* peers on this host too */
		if (c->o.iface && (r = udp_sock_set_mcast_if(out[i], c->o.iface)) < 0)
			tool_die(TOOL_EXIT_ERR, "interface %s: %s", c->o.iface,
				 udpkit_strerror(r));
	}
}

/* Both sockets get the group key, so beacons are sealed like the rest.
 * tool_seal_apply() wipes and unsets a --passphrase-env variable once read,
 * so for the second socket it is put back from a copy in locked memory,
 * which is wiped right after. */
static void seal_sockets(struct tool_chat *c)
{
	if (c->ident) {
		/* Identity sessions carry their own keys, with the group key as
		 * Noise PSK (tool_seal_psk): the data socket stays unsealed, and
		 * beacons, which prove nothing about a peer, leave sealed from the
		 * beacon socket.  Without discovery the key is loaded for the PSK
		 * only (attached, then taken off the data socket). */
		if (c->bsock) {
			tool_seal_apply(c->bsock);
		} else {
			tool_seal_apply(c->data);
			seal_sock_attach(c->data, NULL);
		}
		return;
	}
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

static void setup(struct tool_chat *c)
{
	struct tool_chat_opts *o = &c->o;
	const char *nick = o->nick ? o->nick : getenv("USER");
	if (!nick || !*nick)
		nick = "anon";
	char why[160], shown[CHAT_NICK_SHOW_MAX];
	if (chat_nick_check(nick, strlen(nick), why, sizeof why) < 0) {
		chat_nick_display(nick, shown, sizeof shown);
		tool_usage_die("bad nickname '%s': %s", shown, why);
	}
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
		const char *hp = tool_chat_peer_key(o->peers[i], c->explicit_key[i],
						    &c->explicit_has_key[i]);
		if (!tool_is_combined(hp))
			tool_usage_die("--peer wants [KEY@]HOST:PORT, not '%s'", o->peers[i]);
		if (o->identity && !c->explicit_has_key[i])
			tool_usage_die("--peer %s: with --identity, give the peer's public key: "
				       "KEY@HOST:PORT", o->peers[i]);
		if (!o->identity && c->explicit_has_key[i])
			tool_usage_die("--peer %s: a key needs --identity", o->peers[i]);
		tool_resolve(&peers[i], hp, NULL, family == AF_INET6 ? UDP_ADDR_V6 : UDP_ADDR_V4);
	}
	tool_chat_ident_setup(c);

	tool_netsim_env_check();
	c->data = open_data(c, family);
	if (!o->no_discovery)
		open_beacons(c, family);
	seal_sockets(c);

	struct rel_config rc;
	tool_rel_config_base(&rc, 1);
	rc.max_msg = CHAT_PKT_MAX;
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
	/* acks are immediate, so the floor only covers RTT jitter (as in
	 * tool_rel_config): at 200 ms a file under 10 % loss spent most of
	 * its time waiting for timeouts (1.5 MB/s on loopback) */
	rc.rto_min_us = 20000;
	if (c->ident) {
		/* the data socket is not sealed (seal_sockets): nothing below
		 * adds bytes, the hook's overhead is the core's own business */
		tool_chat_ident_core(c, &rc);
		int err = rel_core_new(&c->core, &rc);
		if (err < 0 || (err = rel_drv_new(&c->drv, c->core, c->data)) < 0)
			tool_die(TOOL_EXIT_ERR, "reliable core: %s", udpkit_strerror(err));
	} else {
		tool_rel_start(&c->core, &c->drv, c->data, &rc);
	}

	struct chat_group_config gc;
	chat_group_config_default(&gc);
	gc.core = c->core;
	gc.drv = c->drv;
	gc.data = c->data;
	gc.group = c->bsock ? &c->group : NULL;
	gc.id = c->id;
	gc.nick = c->nick;
	gc.beacon_us = secs_us(o->beacon);
	gc.away_us = secs_us(o->away);
	gc.gone_us = secs_us(o->gone);
	gc.on_event = tool_chat_on_event;
	gc.file_read = tool_chat_file_read;
	gc.ctx = c;
	if (c->ident) {
		gc.ident_pub = seal_ident_public(c->ident);
		gc.known = c->known;
		if (c->bsock && tool_seal_psk())
			gc.beacon_out = c->bsock; /* sealed; data is not */
	}
	int gerr = chat_group_new(&c->chat, &gc);
	if (gerr < 0)
		tool_die(TOOL_EXIT_ERR, "chat group: %s", udpkit_strerror(gerr));
	/* every datagram to a peer passes the group's gate (chat/chat_gate.c);
	 * nothing was sent before this line */
	rel_drv_set_gate(c->drv, chat_group_gate, c->chat);

	struct udp_addr local;
	char b[UDP_ADDR_STRLEN], me[CHAT_NAME_MAX];
	udp_sock_local_addr(c->data, &local);
	tool_chat_name(c, c->id, c->nick, me, sizeof me);
	tool_info("%s listening on %s%s", me, tool_addr_str(&local, b, sizeof b),
		  o->no_discovery ? " (no discovery)" : "");
	if (c->ident) {
		char fpr[SEAL_IDENT_FPR_SIZE];
		tool_chat_fpr(seal_ident_public(c->ident), fpr);
		tool_info("identity %s; known peers: %s (%zu)", fpr, c->known_path,
			  chat_known_count(c->known));
	}
	for (int i = 0; i < o->npeers; i++)
		chat_group_add_peer_key(c->chat, &peers[i],
					c->explicit_has_key[i] ? c->explicit_key[i] : NULL,
					now_us());
}

/* ---- the loop ---- */

/* The beacon port: what is there now, a bounded number at a time so the
 * data socket gets its turn. */
static void read_beacons(struct tool_chat *c)
{
	uint8_t buf[CHAT_PKT_MAX + 1];
	for (int k = 0; k < 64; k++) {
		struct udp_msg m = { .buf = buf, .cap = sizeof buf };
		if (udp_sock_recv(c->bsock, &m) < 0)
			return;
		chat_group_beacon_input(c->chat, &m, now_us());
	}
}

/* Milliseconds until the earliest of: reliable timers, beacon, roster
 * timers, the loss simulator's held datagrams; capped so a signal that
 * slips in just before poll() is seen soon. */
static int next_wait_ms(struct tool_chat *c)
{
	uint64_t now = now_us(), due = chat_group_next_deadline(c->chat);
	long ms = due <= now ? 0 : (long)((due - now + 999) / 1000);
	double ns = tool_netsim_due_in(c->data);
	if (ns >= 0 && ns * 1000 < ms)
		ms = (long)(ns * 1000) + 1;
	if (c->bsock && (ns = tool_netsim_due_in(c->bsock)) >= 0 && ns * 1000 < ms)
		ms = (long)(ns * 1000) + 1;
	return ms > 200 ? 200 : (int)ms;
}

static void stats(struct tool_chat *c);

static void run(struct tool_chat *c)
{
	struct tool_chat_input *in = calloc(1, sizeof *in);
	if (!in)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	double quit_by = 0, wait_until = tool_now() + c->o.wait;
	int waiting = c->o.wait_peers > 0;
	for (;;) {
		if (tool_stop_signal || in->eof)
			tool_chat_quit(c);
		int quitting = chat_group_quitting(c->chat);
		if (quitting) {
			if (!quit_by)
				quit_by = tool_now() + c->o.linger;
			if (!chat_group_sessions(c->chat) || tool_now() >= quit_by)
				break;
		}
		chat_group_tick(c->chat, now_us());
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
		size_t npeers = chat_roster_count(chat_group_roster(c->chat));
		if (waiting && (npeers >= c->o.wait_peers || tool_now() >= wait_until)) {
			if (npeers < c->o.wait_peers)
				tool_info("--wait-peers: only %zu of %u peers after %.1f s",
					  npeers, c->o.wait_peers, c->o.wait);
			waiting = 0;
		}
		if (!in->eof && !quitting && !waiting) {
			in_i = n;
			p[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}
		int r = poll(p, (nfds_t)n, next_wait_ms(c));
		if (r < 0 && errno != EINTR)
			tool_die(TOOL_EXIT_ERR, "poll: %s", strerror(errno));
		if (tool_report_signal) {
			tool_report_signal = 0;
			stats(c);
		}
		if (r > 0 && b_i >= 0 && p[b_i].revents)
			read_beacons(c);
		else if (c->bsock && tool_netsim_due_in(c->bsock) == 0)
			read_beacons(c); /* held back by a delay model, now due */
		if (r > 0 && in_i >= 0 && p[in_i].revents)
			tool_chat_read_input(c, in);
		/* receive, run the reliable timers, send */
		if (rel_drv_service(c->drv) < 0 && errno != EINTR)
			tool_debug("data socket: %s", strerror(errno));
		chat_group_poll(c->chat, now_us());
		tool_seal_check(c->data);
		if (c->bsock)
			tool_seal_check(c->bsock);
		rel_drv_flush(c->drv);
	}
	free(in);
}

static void stats(struct tool_chat *c)
{
	struct rel_core_stats cs;
	struct chat_group_stats gs;
	rel_core_stats(c->core, &cs);
	chat_group_stats(c->chat, &gs);
	tool_err("sent=%llu received=%llu private=%llu peers=%zu pkts_in=%llu pkts_out=%llu",
		 (unsigned long long)gs.sent, (unsigned long long)gs.received,
		 (unsigned long long)gs.privates, chat_roster_count(chat_group_roster(c->chat)),
		 (unsigned long long)cs.pkts_in, (unsigned long long)cs.pkts_out);
	tool_rel_print_core_stats(c->core, c->drv);
	tool_chat_beacon_stats(c);
	tool_netsim_stats(c->data);
	tool_seal_stats(c->data);
}

static struct tool_tty *tty_to_restore;
static void restore_tty(void)
{
	if (tty_to_restore)
		tool_tty_close(tty_to_restore);
}

int main(int argc, char **argv)
{
	static struct tool_chat c;
	tool_init("udpchat");
	parse_opts(&c.o, argc, argv);
	tool_signals_init();
	if (c.o.stats) /* a test polls counters instead of sleeping */
		tool_signals_report();
	signal(SIGPIPE, SIG_IGN);
	setup(&c);
	c.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !c.o.json;
	const char *nc = getenv("NO_COLOR");
	c.color = c.tty && !(nc && *nc);
	if (c.tty) {
		if (tool_tty_open(&c.ed, STDIN_FILENO, STDOUT_FILENO, "> ") < 0)
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
	chat_group_free(c.chat); /* before what it borrows */
	rel_drv_free(c.drv);
	rel_core_free(c.core);
	tool_chat_ident_free(&c); /* after the core: it uses rel_ident */
	for (int i = 0; i < CHAT_FILE_MAX; i++) /* what quitting cancelled */
		if (c.xf[i].used && c.xf[i].fd >= 0)
			close(c.xf[i].fd);
	if (c.dl_fd > 0)
		close(c.dl_fd);
	udp_sock_free(c.bsock);
	udp_sock_free(c.data);
	return TOOL_EXIT_OK;
}
