/* udpkey - make, check and derive keys for sealed udpkit groups, and
 * identity keys for identity sessions.
 *
 *   udpkey genkey [--identity] [-o FILE]
 *   udpkey pub [FILE|-]
 *   udpkey fingerprint [PUBKEY|@FILE|FILE|-]
 *   udpkey check FILE
 *   udpkey id [FILE|-]
 *   udpkey derive --group NAME (--passphrase-file F | --passphrase-env VAR) [-o FILE]
 *
 * Exit 0 on success, 1 on a runtime error, 2 on a bad command line; every
 * error is one line on stderr.  Key text goes to stdout with write(2), not
 * stdio, so no copy lingers in a stdio buffer. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal_ident.h"
#include "seal_key.h"
#include "tool_common.h"
#include "tool_ident.h"

static const char usage_text[] =
	"usage: udpkey COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  genkey [-o FILE]        print a new random key (or create FILE, mode 0600)\n"
	"  genkey --identity [-o FILE]\n"
	"                          a new identity key; with -o FILE it is saved there\n"
	"                          and its public key printed\n"
	"  pub [FILE|-]            print the public key of identity key FILE or stdin\n"
	"  fingerprint [PUBKEY|@FILE|FILE|-]\n"
	"                          print a public key's short form, xxxx-xxxx-xxxx-xxxx\n"
	"                          (the key itself, a file holding it, an identity key\n"
	"                          file, or a public key on stdin)\n"
	"  check FILE              check a key file's permissions and format, print its id\n"
	"  id [FILE|-]             print the key id (safe to share) of FILE or stdin\n"
	"  derive --group NAME (--passphrase-file F | --passphrase-env VAR) [-o FILE]\n"
	"                          turn a passphrase into the group's key (Argon2id)\n"
	"\n"
	"options:\n"
	"  -o, --output FILE       write the key to a new FILE (mode 0600, never overwrites)\n"
	"  -i, --identity          genkey: an identity (X25519) key instead of a group key\n"
	"  -g, --group NAME        group name (salt of the passphrase)\n"
	"      --passphrase-file F read the passphrase from F (first line; mode 0600)\n"
	"      --passphrase-env V  read the passphrase from environment variable V\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n"
	"\n"
	"A passphrase is never taken on the command line.  See udpkey(1).\n";

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Prints the key to stdout, or saves it to a new file. */
static void emit_key(struct seal_key *k, const char *out)
{
	if (out) {
		int rc = seal_key_save(k, out);
		if (rc < 0) {
			const char *why = udpkit_strerror(rc);
			seal_key_free(k);
			tool_die(TOOL_EXIT_ERR, "%s: %s", out, why);
		}
		seal_key_free(k);
		return;
	}
	char text[SEAL_KEY_TEXT_SIZE];
	int n = seal_key_format(k, text, sizeof text);
	seal_key_free(k);
	int rc = write_all(STDOUT_FILENO, text, (size_t)n);
	int e = errno;
	sodium_memzero(text, sizeof text);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot write key to stdout: %s", strerror(e));
}

static struct seal_key *load_or_die(const char *path)
{
	struct seal_key *k;
	int rc = seal_key_load(&k, path);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "%s: %s", path, udpkit_strerror(rc));
	return k;
}

enum { STDIN_CAP = 64 }; /* more than any key's text: longer is no key */

/* Key text from stdin into a new sodium buffer of STDIN_CAP bytes (the
 * caller frees it); *len is what came, STDIN_CAP + 1 when it filled the
 * buffer. */
static char *read_stdin_text(size_t *len)
{
	char *buf = sodium_malloc(STDIN_CAP);
	if (!buf)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	*len = 0;
	for (;;) {
		if (*len == STDIN_CAP) {
			*len = STDIN_CAP + 1;
			break;
		}
		ssize_t n = read(STDIN_FILENO, buf + *len, STDIN_CAP - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			tool_die(TOOL_EXIT_ERR, "cannot read stdin: %s", strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return buf;
}

/* Key text from stdin (for `udpkey genkey | udpkey id`). */
static struct seal_key *read_stdin_key(void)
{
	size_t len;
	char *buf = read_stdin_text(&len);
	struct seal_key *k = NULL;
	int rc = len > STDIN_CAP ? UDP_ESEAL_KEYFILE_FORMAT : seal_key_from_text(&k, buf, len);
	sodium_free(buf);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "stdin: %s", udpkit_strerror(rc));
	return k;
}

enum { OPT_PASS_FILE = 256, OPT_PASS_ENV };

/* ---- identity keys ---- */

static void print_pub(const uint8_t *pub)
{
	char text[SEAL_IDENT_TEXT_SIZE];
	seal_ident_pub_format(pub, text, sizeof text);
	printf("%s\n", text);
}

/* An identity private key from stdin (`udpkey genkey --identity | udpkey pub`). */
static struct seal_ident *read_stdin_ident(void)
{
	size_t len;
	char *buf = read_stdin_text(&len);
	uint8_t *priv = sodium_malloc(SEAL_IDENT_KEY);
	if (!priv)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	if (len && len <= STDIN_CAP && buf[len - 1] == '\n')
		len--;
	struct seal_ident *id = NULL;
	int rc = len == SEAL_IDENT_B64_LEN ? seal_key_decode_b64(priv, buf, len)
					   : UDP_ESEAL_KEYFILE_FORMAT;
	if (rc == 0)
		rc = seal_ident_from_bytes(&id, priv);
	sodium_free(buf);
	sodium_free(priv);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "stdin: %s", udpkit_strerror(rc));
	return id;
}

static struct seal_ident *load_ident_or_die(const char *path)
{
	struct seal_ident *id;
	int rc = seal_ident_load(&id, path);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "%s: %s", path, rc == UDP_ESYS ? strerror(errno) :
			 udpkit_strerror(rc));
	return id;
}

static int cmd_genkey_identity(const char *out)
{
	struct seal_ident *id;
	int rc = seal_ident_generate(&id);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot make a key: %s", udpkit_strerror(rc));
	if (out) {
		rc = seal_ident_save(id, out);
		if (rc < 0) {
			seal_ident_free(id);
			tool_die(TOOL_EXIT_ERR, "%s: %s", out, udpkit_strerror(rc));
		}
		/* the public half is what one hands out next: say it */
		print_pub(seal_ident_public(id));
		seal_ident_free(id);
		return 0;
	}
	/* the private key in key-file text, like `wg genkey` */
	struct seal_key *k;
	rc = seal_key_from_bytes(&k, seal_ident_private(id));
	seal_ident_free(id);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot make a key: %s", udpkit_strerror(rc));
	emit_key(k, NULL);
	return 0;
}

static int cmd_pub(const char *path)
{
	struct seal_ident *id = (!path || strcmp(path, "-") == 0) ? read_stdin_ident()
								  : load_ident_or_die(path);
	print_pub(seal_ident_public(id));
	seal_ident_free(id);
	return 0;
}

/* The key itself, @FILE or - is a public key; any other argument names an
 * identity key file, whose public half is shown. */
static int cmd_fingerprint(const char *arg)
{
	uint8_t pub[SEAL_IDENT_KEY];
	if (!arg)
		arg = "-";
	if (arg[0] == '@' || strcmp(arg, "-") == 0 || tool_pubkey_is_text(arg)) {
		tool_pubkey_arg("fingerprint", arg, pub);
	} else {
		if (access(arg, F_OK) != 0 && errno == ENOENT)
			tool_die(TOOL_EXIT_ERR, "'%s' is neither a public key (44 base64 "
				 "characters) nor an identity key file", arg);
		struct seal_ident *id = load_ident_or_die(arg);
		memcpy(pub, seal_ident_public(id), sizeof pub);
		seal_ident_free(id);
	}
	char fpr[SEAL_IDENT_FPR_SIZE];
	seal_ident_fingerprint(pub, fpr, sizeof fpr);
	printf("%s\n", fpr);
	return 0;
}

static const struct option long_opts[] = {
	{"output", required_argument, NULL, 'o'},
	{"identity", no_argument, NULL, 'i'},
	{"group", required_argument, NULL, 'g'},
	{"passphrase-file", required_argument, NULL, OPT_PASS_FILE},
	{"passphrase-env", required_argument, NULL, OPT_PASS_ENV},
	TOOL_HELP_LONGOPTS,
	{NULL, 0, NULL, 0},
};

struct args {
	const char *output, *group, *pass_file, *pass_env;
	int identity;
};

/* Parses the options after the command; returns the index of the first
 * operand.  `allowed` lists the short options this command takes. */
static int parse_opts(int argc, char **argv, const char *cmd, const char *allowed,
		      struct args *a)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--passphrase") == 0 || strncmp(argv[i], "--passphrase=", 13) == 0)
			tool_usage_die("a passphrase on the command line is refused "
				    "(use --passphrase-file or --passphrase-env)");
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+:o:g:ih", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			exit(TOOL_EXIT_OK);
		TOOL_HELP_CASES: tool_base_option(c); break;
		case ':': case '?': tool_bad_option(c, argv);
		}
		char letter = c == 'o' ? 'o' : c == 'g' ? 'g' : c == 'i' ? 'i' :
			      c == OPT_PASS_FILE ? 'f' : 'e';
		const char *name = c == 'o' ? "--output" : c == 'g' ? "--group" :
				   c == 'i' ? "--identity" :
				   c == OPT_PASS_FILE ? "--passphrase-file" : "--passphrase-env";
		if (!strchr(allowed, letter))
			tool_usage_die("%s: option %s does not apply to this command", cmd, name);
		switch (c) {
		case 'o': a->output = optarg; break;
		case 'g': a->group = optarg; break;
		case 'i': a->identity = 1; break;
		case OPT_PASS_FILE: a->pass_file = optarg; break;
		case OPT_PASS_ENV: a->pass_env = optarg; break;
		}
	}
	return optind;
}

static int cmd_genkey(const struct args *a)
{
	if (a->identity)
		return cmd_genkey_identity(a->output);
	struct seal_key *k;
	int rc = seal_key_generate(&k);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot make a key: %s", udpkit_strerror(rc));
	emit_key(k, a->output);
	return 0;
}

static int cmd_check(const char *path)
{
	struct seal_key *k = load_or_die(path);
	printf("%s: ok, key id %08x\n", path, seal_key_id(k));
	seal_key_free(k);
	return 0;
}

static int cmd_id(const char *path)
{
	struct seal_key *k = (!path || strcmp(path, "-") == 0) ? read_stdin_key() : load_or_die(path);
	printf("%08x\n", seal_key_id(k));
	seal_key_free(k);
	return 0;
}

static int cmd_derive(const struct args *a)
{
	if (!a->group)
		tool_usage_die("derive: --group NAME is required");
	if (!a->pass_file == !a->pass_env)
		tool_usage_die("derive: give exactly one of --passphrase-file or --passphrase-env");
	enum { CAP = SEAL_KEY_PASSPHRASE_MAX + 2 };
	char *pass = sodium_malloc(CAP);
	if (!pass)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	int len;
	if (a->pass_file) {
		len = seal_key_read_secret_file(a->pass_file, pass, CAP);
		if (len < 0)
			tool_die(TOOL_EXIT_ERR, "%s: %s", a->pass_file, udpkit_strerror(len));
	} else {
		char *env = getenv(a->pass_env);
		if (!env)
			tool_die(TOOL_EXIT_ERR, "environment variable '%s' is not set", a->pass_env);
		size_t n = strlen(env);
		if (n == 0 || n > SEAL_KEY_PASSPHRASE_MAX)
			tool_die(TOOL_EXIT_ERR, "%s: %s", a->pass_env, udpkit_strerror(UDP_ESEAL_PASSPHRASE));
		memcpy(pass, env, n);
		len = (int)n;
		/* our environment is also visible in /proc/PID/environ: wipe it */
		sodium_memzero(env, n);
		unsetenv(a->pass_env);
	}
	struct seal_key *k;
	int rc = seal_key_derive(&k, a->group, pass, (size_t)len);
	sodium_free(pass);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot derive key: %s", udpkit_strerror(rc));
	emit_key(k, a->output);
	return 0;
}

int main(int argc, char **argv)
{
	tool_init("udpkey");
	if (argc < 2)
		tool_usage_die("missing command");
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage_text, stdout);
		return TOOL_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0)
		tool_base_option(TOOL_O_VERSION);
	struct args a = {0};
	const char *allowed;
	int max_operands, min_operands = 0;
	if (strcmp(cmd, "genkey") == 0)
		allowed = "oi", max_operands = 0;
	else if (strcmp(cmd, "check") == 0)
		allowed = "", max_operands = 1, min_operands = 1;
	else if (strcmp(cmd, "id") == 0 || strcmp(cmd, "pub") == 0 ||
		 strcmp(cmd, "pubkey") == 0 || strcmp(cmd, "fingerprint") == 0)
		allowed = "", max_operands = 1;
	else if (strcmp(cmd, "derive") == 0)
		allowed = "ogfe", max_operands = 0;
	else if (cmd[0] == '-')
		tool_usage_die("unknown option '%s'", cmd);
	else
		tool_usage_die("unknown command '%s'", cmd);

	int first = parse_opts(argc - 1, argv + 1, cmd, allowed, &a) + 1;
	int operands = argc - first;
	if (operands > max_operands)
		tool_usage_die("%s: unexpected argument '%s'", cmd, argv[first + max_operands]);
	if (operands < min_operands)
		tool_usage_die("%s: missing FILE", cmd);

	/* No core dump or same-user ptrace while a key is in memory. */
	int rc = seal_key_protect_process();
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "cannot disable core dumps: %s", udpkit_strerror(rc));
	if (sodium_init() < 0)
		tool_die(TOOL_EXIT_ERR, "%s", udpkit_strerror(UDP_ESEAL_SODIUM));

	if (strcmp(cmd, "genkey") == 0)
		rc = cmd_genkey(&a);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(argv[first]);
	else if (strcmp(cmd, "derive") == 0)
		rc = cmd_derive(&a);
	else if (strcmp(cmd, "pub") == 0 || strcmp(cmd, "pubkey") == 0)
		rc = cmd_pub(operands ? argv[first] : NULL);
	else if (strcmp(cmd, "fingerprint") == 0)
		rc = cmd_fingerprint(operands ? argv[first] : NULL);
	else
		rc = cmd_id(operands ? argv[first] : NULL);
	if (fflush(stdout) != 0 || ferror(stdout))
		tool_die(TOOL_EXIT_ERR, "cannot write to stdout: %s", strerror(errno));
	return rc;
}
