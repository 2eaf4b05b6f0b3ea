/* tool_ident.c - identity sessions for udpsend -r and udprecv -r: the
 * options, our key pair, the server's key or the allowed list, and the
 * rel_ident that tool_rel_config attaches to every core it builds.
 *
 * Loading happens before tool_seal_apply so that a group key given as
 * well becomes admission only (tool_seal_psk_only): sealing the socket
 * too would seal every packet twice for nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rel_ident.h"
#include "seal_ident.h"
#include "seal_key.h"
#include "tool_ident.h"
#include "tool_seal.h"

#define ALLOWED_MAX (1 << 20) /* bytes of an allowed-keys file */

static struct {
	const char *ident_path, *peer_arg, *allowed_path;
	const char *given; /* an identity option other than --identity */
	int rekey_set;
	uint64_t rekey_pkts, rekey_us;
	struct seal_ident *me;
	uint8_t peer[SEAL_IDENT_KEY];
	int have_peer;
	struct seal_allowed *allowed;
	uint8_t *psk; /* sodium_malloc; set by tool_seal_apply */
	int have_psk, server;
	struct rel_ident *ri;
	uint64_t told_unknown, told_auth, told_drop;
} ti;

static void set_once(const char **slot, const char *opt, const char *arg)
{
	if (*slot)
		tool_usage_die("%s given twice", opt);
	*slot = arg;
}

/* PKTS[,SECS]: the rekey interval.  Tests use small ones to see keys turn. */
static void parse_rekey(const char *arg)
{
	char buf[64];
	if (strlen(arg) >= sizeof buf)
		tool_usage_die("bad --rekey-after '%s': PKTS[,SECS]", arg);
	strcpy(buf, arg);
	char *comma = strchr(buf, ',');
	if (comma)
		*comma++ = '\0';
	ti.rekey_pkts = tool_parse_uint("--rekey-after", buf, 1, 1ull << 60);
	if (comma) {
		double s = tool_parse_secs("--rekey-after", comma);
		if (s < 0.001 || s > 86400.0 * 365)
			tool_usage_die("bad --rekey-after '%s': SECS between 0.001 and a year", arg);
		ti.rekey_us = (uint64_t)(s * 1e6);
	}
	ti.rekey_set = 1;
}

void tool_ident_option(int c, const char *arg)
{
	switch (c) {
	case TOOL_IDENT_O_IDENTITY: set_once(&ti.ident_path, "--identity", arg); return;
	case TOOL_IDENT_O_PEER_KEY:
		set_once(&ti.peer_arg, "--peer-key", arg);
		ti.given = "--peer-key";
		return;
	case TOOL_IDENT_O_ALLOWED:
		set_once(&ti.allowed_path, "--allowed-keys", arg);
		ti.given = "--allowed-keys";
		return;
	case TOOL_IDENT_O_REKEY:
		if (ti.rekey_set)
			tool_usage_die("--rekey-after given twice");
		parse_rekey(arg);
		ti.given = "--rekey-after";
		return;
	}
}

int tool_ident_on(void)
{
	return ti.ident_path != NULL;
}

void tool_ident_check_usage(int reliable, int server)
{
	if (!ti.ident_path) {
		if (ti.given)
			tool_usage_die("%s needs --identity FILE", ti.given);
		return;
	}
	if (!reliable)
		tool_usage_die("--identity needs -r (identity sessions are reliable sessions)");
	if (server && ti.peer_arg)
		tool_usage_die("--peer-key is for the sender (udpsend); udprecv takes "
			       "--allowed-keys");
	if (!server && ti.allowed_path)
		tool_usage_die("--allowed-keys is for the receiver (udprecv); udpsend takes "
			       "--peer-key");
	if (!server && !ti.peer_arg)
		tool_usage_die("--identity needs --peer-key KEY: the public key the server "
			       "must prove it holds");
	if (server && !ti.allowed_path)
		tool_usage_die("--identity needs --allowed-keys FILE: the senders' public keys "
			       "let in");
}

static const char *why(int rc)
{
	return rc == UDP_ESYS ? strerror(errno) : udpkit_strerror(rc);
}

/* The list is not secret, but who may write it decides who gets in: like
 * sshd's StrictModes, refuse one that others can change. */
static void load_allowed(void)
{
	const char *path = ti.allowed_path;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': not a regular file", path);
	if (st.st_mode & 022)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': writable by group or other "
			 "(chmod go-w): anyone who can change it can let themselves in", path);
	if (st.st_size > ALLOWED_MAX)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': over %d bytes", path, ALLOWED_MAX);
	char *text = malloc((size_t)st.st_size + 1);
	if (!text)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': %s", path, strerror(errno));
		if (n == 0 || (len += (size_t)n) > (size_t)st.st_size)
			break;
	}
	close(fd);
	if (len > (size_t)st.st_size)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': changed while read", path);
	size_t bad = 0;
	int rc = seal_allowed_parse(&ti.allowed, text, len, &bad);
	free(text);
	if (rc == UDP_ESEAL_ALLOWED_LINE)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s' line %zu: not '<public key> [name]' "
			 "(44 base64 characters, then an optional name)", path, bad);
	if (rc == UDP_ESEAL_ALLOWED_DUP)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s' line %zu: this key is listed twice",
			 path, bad);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "--allowed-keys '%s': %s", path, why(rc));
	if (seal_allowed_count(ti.allowed) == 0)
		tool_info("--allowed-keys '%s' lists no key: every sender is refused", path);
}

/* At exit, after the tools have freed their cores (or on an exit that
 * never uses them again). */
static void free_all(void)
{
	rel_ident_free(ti.ri);
	seal_allowed_free(ti.allowed);
	seal_ident_free(ti.me);
	if (ti.psk)
		sodium_free(ti.psk); /* wipes */
	memset(&ti, 0, sizeof ti);
}

void tool_ident_load(int server)
{
	if (!ti.ident_path)
		return;
	ti.server = server;
	atexit(free_all);
	if (sodium_init() < 0)
		tool_die(TOOL_EXIT_ERR, "libsodium failed to initialise");
	if (seal_key_protect_process() < 0)
		tool_die(TOOL_EXIT_ERR, "cannot turn core dumps off: %s", strerror(errno));
	int rc = seal_ident_load(&ti.me, ti.ident_path);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "--identity '%s': %s", ti.ident_path, why(rc));
	if (ti.peer_arg) {
		tool_pubkey_arg("--peer-key", ti.peer_arg, ti.peer);
		ti.have_peer = 1;
	}
	if (ti.allowed_path)
		load_allowed();
	ti.psk = sodium_malloc(SEAL_KEY_BYTES);
	if (!ti.psk)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	tool_seal_psk_only(ti.psk, &ti.have_psk);
	char pub[SEAL_IDENT_TEXT_SIZE], fpr[SEAL_IDENT_FPR_SIZE];
	seal_ident_pub_format(seal_ident_public(ti.me), pub, sizeof pub);
	seal_ident_fingerprint(seal_ident_public(ti.me), fpr, sizeof fpr);
	tool_debug("identity %s (%s)", fpr, pub);
}

void tool_ident_attach(struct rel_config *cfg)
{
	if (!ti.me)
		return;
	if (!ti.ri) {
		struct rel_ident_config ic;
		rel_ident_config_default(&ic);
		ic.static_priv = seal_ident_private(ti.me);
		ic.peer_key = ti.have_peer ? ti.peer : NULL;
		ic.allowed = ti.allowed;
		ic.psk = ti.have_psk ? ti.psk : NULL;
		if (ti.rekey_set) {
			ic.rekey_after_pkts = ti.rekey_pkts;
			if (ti.rekey_us)
				ic.rekey_after_us = ti.rekey_us;
		}
		/* TESTS ONLY: reproducible ephemeral keys, so that
		 * tests/e2e/identity.sh can hand a session's ephemeral key to
		 * tests/helpers/fs_attack and show its capture is complete.
		 * Such sessions have no forward secrecy: said on stderr. */
		const char *seed = getenv("UDPKIT_TEST_IDENT_SEED");
		if (seed && *seed) {
			ic.test_seed = strtoull(seed, NULL, 0);
			tool_info("UDPKIT_TEST_IDENT_SEED set: ephemeral keys are reproducible "
				  "(tests only: no forward secrecy)");
		}
		int rc = rel_ident_new(&ti.ri, &ic);
		if (rc < 0)
			tool_die(TOOL_EXIT_ERR, "identity sessions: %s", udpkit_strerror(rc));
		if (ti.have_psk)
			tool_debug("group key admits (Noise IKpsk2); sessions seal themselves");
	}
	rel_ident_attach(ti.ri, cfg);
}

void tool_ident_who(const struct rel_core *core, uint32_t peer, struct tool_ident_who *out)
{
	memset(out, 0, sizeof *out);
	struct rel_ident_peer p;
	if (!ti.ri || rel_ident_peer(core, peer, &p) < 0)
		return;
	out->known = 1;
	seal_ident_pub_format(p.key, out->key, sizeof out->key);
	seal_ident_fingerprint(p.key, out->fpr, sizeof out->fpr);
	snprintf(out->name, sizeof out->name, "%s", p.name);
	out->rekeys = p.rekeys_sent + p.rekeys_recv;
}

const char *tool_ident_label(const struct tool_ident_who *w, char *buf, size_t cap)
{
	if (!w->known)
		snprintf(buf, cap, "-");
	else if (w->name[0])
		snprintf(buf, cap, "%s (%s)", w->name, w->fpr);
	else
		snprintf(buf, cap, "%s", w->fpr);
	return buf;
}

void tool_ident_no_session(const char *dest)
{
	char fpr[SEAL_IDENT_FPR_SIZE];
	seal_ident_fingerprint(ti.peer, fpr, sizeof fpr);
	struct rel_ident_stats st = { 0 };
	if (ti.ri)
		rel_ident_get_stats(ti.ri, &st);
	if (st.refused_auth)
		tool_err("refused %s: its handshake answer failed authentication, so it did "
			 "not prove --peer-key %s (or it holds another group key)", dest, fpr);
	else
		tool_err("no session with %s: the identity handshake was not answered, so "
			 "nothing proved --peer-key %s (nobody listening with -r, a server with "
			 "another key, or our identity or group key is not allowed there)",
			 dest, fpr);
}

/* Says once per kind what the identity layer has been refusing. */
void tool_ident_check(void)
{
	if (!ti.ri)
		return;
	struct rel_ident_stats st;
	rel_ident_get_stats(ti.ri, &st);
	if (st.refused_unknown > ti.told_unknown && !ti.told_unknown)
		tool_info("refusing a sender whose key is not on --allowed-keys");
	if (st.refused_auth > ti.told_auth && !ti.told_auth && ti.server)
		tool_info("refusing a handshake that failed authentication (a sender with "
			  "another server key or another group key, or a forgery)");
	if (st.drop_auth > ti.told_drop && !ti.told_drop)
		tool_info("dropping packets that are not authentic for their session");
	ti.told_unknown = st.refused_unknown;
	ti.told_auth = st.refused_auth;
	ti.told_drop = st.drop_auth;
}

void tool_ident_stats(int json)
{
	if (!ti.ri)
		return;
	struct rel_ident_stats st;
	rel_ident_get_stats(ti.ri, &st);
	char pub[SEAL_IDENT_TEXT_SIZE];
	seal_ident_pub_format(seal_ident_public(ti.me), pub, sizeof pub);
	unsigned long long v[] = { st.handshakes, st.refused_unknown, st.refused_auth,
				   st.drop_auth, st.drop_replay, st.rekeys };
	char line[512];
	int n;
	if (json)
		n = snprintf(line, sizeof line,
			     "{\"identity\":\"%s\",\"psk\":%s,\"handshakes\":%llu,"
			     "\"refused_unknown\":%llu,\"refused_auth\":%llu,\"drop_auth\":%llu,"
			     "\"drop_replay\":%llu,\"rekeys\":%llu}\n",
			     pub, ti.have_psk ? "true" : "false", v[0], v[1], v[2], v[3], v[4], v[5]);
	else
		n = snprintf(line, sizeof line,
			     "%s: identity: key=%s psk=%s handshakes=%llu refused_unknown=%llu "
			     "refused_auth=%llu drop_auth=%llu drop_replay=%llu rekeys=%llu\n",
			     tool_name, pub, ti.have_psk ? "yes" : "no", v[0], v[1], v[2], v[3],
			     v[4], v[5]);
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n
								  : sizeof line - 1);
		(void)w;
	}
}
