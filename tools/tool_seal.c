/* tool_seal.c - the key options of every tool, on top of the socket seam
 * (seal_sock_attach): parse, load or derive the key, attach the sealer,
 * say once what is being dropped, print the counters.
 *
 * The passphrase never comes from argv (other users can read a command
 * line in /proc): only from a file with key-file permissions or from an
 * environment variable, which is wiped and unset as soon as it is read.
 * Key material lives in sodium_malloc memory and is wiped after use, and
 * core dumps are turned off before any key is loaded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tool_common.h"
#include "tool_seal.h"
#include "seal_key.h"
#include "seal.h"
#include "seal_sock.h"

static const char *key_path, *pass_file, *pass_env, *group, *cipher;
static uint8_t *psk; /* identity sessions' PSK (tool_seal_psk) */
static const char *group_opt = "--group";
static int keyed, warned_sealed, warned_plain, warned_wrongkey, warned_suite;
static uint8_t *psk_out; /* identity sessions: the key only admits */
static int *psk_have;

void tool_seal_psk_only(uint8_t *out, int *have)
{
	psk_out = out;
	psk_have = have;
}

/* A derived key, kept for a tool's second socket (udpchat): Argon2id at the
 * moderate preset costs most of a second and 256 MiB, once is enough.  It
 * stays in sodium_malloc memory (read-only, no core dumps) like the
 * sealers' subkeys, which live as long. */
static struct seal_key *derived;

void tool_seal_group_option(const char *name)
{
	group_opt = name;
}

void tool_seal_option(int c, const char *arg)
{
	const char **slot = NULL;
	switch (c) {
	case TOOL_SEAL_O_KEY: slot = &key_path; break;
	case TOOL_SEAL_O_PFILE: slot = &pass_file; break;
	case TOOL_SEAL_O_PENV: slot = &pass_env; break;
	case TOOL_SEAL_O_GROUP:
		if (!*arg || strlen(arg) > SEAL_KEY_GROUP_MAX)
			tool_usage_die("%s: name empty or longer than %d bytes",
				       group_opt, SEAL_KEY_GROUP_MAX);
		group = arg;
		return;
	case TOOL_SEAL_O_CIPHER:
		if (seal_suite_parse(arg) < 0)
			tool_usage_die("--cipher: '%s' is not xchacha20 or aes256gcm", arg);
		cipher = arg;
		return;
	default:
		tool_usage_die("--passphrase is not accepted: a command line is visible "
			       "to other users (use --passphrase-file or --passphrase-env)");
	}
	if (*slot)
		tool_usage_die("key option given twice");
	*slot = arg;
	if (!!key_path + !!pass_file + !!pass_env > 1)
		tool_usage_die("give one of -k, --passphrase-file, --passphrase-env");
}

static _Noreturn void key_die(const char *what, const char *name, int rc)
{
	const char *why;
	switch (rc) {
	case UDP_ESEAL_KEYFILE_PERM:
		why = "permissions too open: readable or writable by group or other (chmod 600)";
		break;
	case UDP_ESEAL_KEYFILE_LINK: why = "is a symbolic link (refused)"; break;
	case UDP_ESEAL_KEYFILE_TYPE: why = "is not a regular file"; break;
	case UDP_ESEAL_KEYFILE_EMPTY: why = "is empty"; break;
	case UDP_ESEAL_PASSPHRASE_SHORT:
		why = "passphrase too short: at least " TOOL_SEAL_STR(SEAL_KEY_PASSPHRASE_MIN)
		      " bytes (a few random words)";
		break;
	case UDP_ESYS: why = strerror(errno); break;
	default: why = udpkit_strerror(rc); break;
	}
	tool_die(TOOL_EXIT_ERR, "%s '%s': %s", what, name, why);
}

/* The key from a passphrase file or variable (Argon2id, under a second). */
static struct seal_key *derive(void)
{
	if (derived) {
		char *v = pass_env ? getenv(pass_env) : NULL;
		if (v) { /* put back for this call: wiped and unset all the same */
			sodium_memzero(v, strlen(v));
			unsetenv(pass_env);
		}
		return derived;
	}
	size_t cap = SEAL_KEY_PASSPHRASE_MAX + 2;
	char *pw = sodium_malloc(cap);
	if (!pw)
		tool_die(TOOL_EXIT_ERR, "out of memory for the passphrase");
	int n;
	if (pass_file) {
		n = seal_key_read_secret_file(pass_file, pw, cap);
		if (n < 0) {
			sodium_free(pw);
			key_die("passphrase file", pass_file, n);
		}
	} else {
		char *v = getenv(pass_env);
		if (!v || !*v) {
			sodium_free(pw);
			tool_die(TOOL_EXIT_ERR, "--passphrase-env: variable '%s' is %s", pass_env,
				 v ? "empty" : "not set");
		}
		size_t len = strlen(v);
		n = len > SEAL_KEY_PASSPHRASE_MAX ? UDP_ESEAL_PASSPHRASE : (int)len;
		if (n > 0)
			memcpy(pw, v, len);
		sodium_memzero(v, len); /* children and /proc/self/environ see no trace */
		unsetenv(pass_env);
		if (n < 0) {
			sodium_free(pw);
			key_die("passphrase in", pass_env, n);
		}
	}
	if (n < SEAL_KEY_PASSPHRASE_MIN) {
		sodium_free(pw);
		key_die(pass_file ? "passphrase file" : "passphrase in",
			pass_file ? pass_file : pass_env, UDP_ESEAL_PASSPHRASE_SHORT);
	}
	int rc = seal_key_derive(&derived, group, pw, (size_t)n);
	sodium_free(pw); /* wipes */
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot derive the key: %s", udpkit_strerror(rc));
	return derived;
}

void tool_seal_apply(struct udp_sock *s)
{
	if (!key_path && !pass_file && !pass_env) {
		if (group)
			tool_usage_die("%s needs --passphrase-file or --passphrase-env", group_opt);
		if (cipher)
			tool_usage_die("--cipher needs a key (-k, --passphrase-file or "
				       "--passphrase-env)");
		return;
	}
	/* No default group: the name salts the derivation, and one default
	 * shared by everybody would let one table of guesses serve them all. */
	if (!key_path && !group)
		tool_usage_die("%s needs %s NAME: the group name salts the passphrase "
			       "(no default; every member gives the same)",
			       pass_file ? "--passphrase-file" : "--passphrase-env", group_opt);
	if (sodium_init() < 0)
		tool_die(TOOL_EXIT_ERR, "libsodium failed to initialise");
	if (seal_key_protect_process() < 0)
		tool_die(TOOL_EXIT_ERR, "cannot turn core dumps off: %s", strerror(errno));
	struct seal_key *k = NULL;
	if (key_path) {
		if (group)
			tool_usage_die("%s goes with a passphrase, not with -k", group_opt);
		int rc = seal_key_load(&k, key_path);
		if (rc < 0)
			key_die("key file", key_path, rc);
	} else {
		k = derive();
	}
	if (psk_out) {
		if (cipher)
			tool_usage_die("--cipher does not apply to identity sessions "
				       "(they seal with ChaCha20-Poly1305)");
		int rc = seal_key_subkey(k, SEAL_KEY_SUB_PSK, psk_out, SEAL_KEY_BYTES);
		uint32_t id = seal_key_id(k);
		if (k != derived)
			seal_key_free(k);
		if (rc < 0)
			tool_die(TOOL_EXIT_ERR, "cannot derive the admission key: %s",
				 udpkit_strerror(rc));
		*psk_have = 1;
		tool_debug("group key id %08x admits identity sessions", (unsigned)id);
		return;
	}
	struct seal *seal = NULL;
	struct seal_config cfg;
	seal_config_default(&cfg);
	if (cipher)
		cfg.suite = seal_suite_parse(cipher);
	int rc = seal_new(&seal, k, &cfg);
	uint32_t id = seal_key_id(k);
	if (!psk && (psk = sodium_malloc(SEAL_KEY_BYTES)) &&
	    seal_key_subkey(k, SEAL_KEY_SUB_PSK, psk, SEAL_KEY_BYTES) < 0) {
		sodium_free(psk);
		psk = NULL;
	}
	if (k != derived)
		seal_key_free(k); /* the sealer holds its own copies of the subkeys */
	if (rc == UDP_ESEAL_SUITE)
		tool_die(TOOL_EXIT_ERR, "--cipher aes256gcm: this CPU has no AES-NI "
			 "(use xchacha20)");
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot set up sealing: %s", udpkit_strerror(rc));
	if ((rc = seal_sock_attach(s, seal)) < 0)
		tool_die(TOOL_EXIT_ERR, "cannot set up sealing: %s", udpkit_strerror(rc));
	keyed = 1;
	tool_debug("sealing with key id %08x, %s", (unsigned)id,
		   seal_suite_name(seal_suite(seal)));
}

const uint8_t *tool_seal_psk(void)
{
	return psk;
}

size_t tool_seal_overhead(void)
{
	return keyed ? SEAL_OVERHEAD : 0;
}

void tool_seal_check(struct udp_sock *s)
{
	if (!keyed) {
		if (!warned_sealed && udp_sock_sealed_seen(s)) {
			warned_sealed = 1;
			tool_info("received sealed packets but no key was given "
				  "(-k/--passphrase-file); they are dropped");
		}
		return;
	}
	if (warned_plain && warned_wrongkey && warned_suite)
		return;
	struct seal_stats st;
	seal_sock_stats(s, &st);
	if (st.drop_plaintext && !warned_plain) {
		warned_plain = 1;
		tool_info("dropping plaintext packets: a key is set, so every packet must be sealed");
	}
	if (st.drop_wrongkey && !warned_wrongkey) {
		warned_wrongkey = 1;
		tool_info("dropping packets sealed with a different key (check -k, or the "
			  "passphrase and --group)");
	}
	if (st.drop_suite && !warned_suite) {
		warned_suite = 1;
		tool_info("dropping packets sealed with aes256gcm: this CPU has no AES-NI "
			  "(the sender should use --cipher xchacha20)");
	}
}

void tool_seal_stats(struct udp_sock *s)
{
	struct seal_stats st;
	if (seal_sock_stats(s, &st) <= 0) {
		if (udp_sock_sealed_seen(s))
			tool_err("seal: key=none sealed_dropped=%llu",
				 (unsigned long long)udp_sock_sealed_seen(s));
		return;
	}
	tool_err("seal: key_id=%08x cipher=%s sealed=%llu opened=%llu drop_plaintext=%llu drop_short=%llu "
		 "drop_header=%llu drop_wrongkey=%llu drop_auth=%llu drop_replay=%llu "
		 "drop_old=%llu drop_reflect=%llu drop_nospace=%llu drop_suite=%llu sessions=%llu "
		 "sessions_evicted=%llu addr_changes=%llu",
		 (unsigned)seal_get_key_id(seal_sock_get(s)),
		 seal_suite_name(seal_suite(seal_sock_get(s))),
		 (unsigned long long)st.sealed, (unsigned long long)st.opened,
		 (unsigned long long)st.drop_plaintext, (unsigned long long)st.drop_short,
		 (unsigned long long)st.drop_header, (unsigned long long)st.drop_wrongkey,
		 (unsigned long long)st.drop_auth, (unsigned long long)st.drop_replay,
		 (unsigned long long)st.drop_old, (unsigned long long)st.drop_reflect,
		 (unsigned long long)st.drop_nospace, (unsigned long long)st.drop_suite,
		 (unsigned long long)st.sessions,
		 (unsigned long long)st.sessions_evicted, (unsigned long long)st.addr_changes);
}
