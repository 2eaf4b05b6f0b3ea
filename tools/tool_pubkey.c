/* tool_pubkey.c - a peer's public identity key from the command line, the
 * same way everywhere (udpkey fingerprint, udpsend --peer-key): the 44
 * characters themselves, @FILE for a file holding them (`udpkey pub`'s
 * output), or - for standard input.
 *
 * Kept apart from tool_ident.c so that udpkey, which has no sessions,
 * links no reliable-layer code. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "seal_ident.h"
#include "tool_ident.h"

/* A public key file or stdin: a key of 44 characters and at most a little
 * white space after it; anything longer is not a key. */
static int read_text(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	for (;;) {
		if (len == cap)
			return UDP_ESEAL_KEYFILE_FORMAT;
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return UDP_ESYS;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	return (int)len;
}

int tool_pubkey_is_text(const char *arg)
{
	uint8_t pub[SEAL_IDENT_KEY];
	return seal_ident_pub_parse(pub, arg, strlen(arg)) == 0;
}

void tool_pubkey_arg(const char *what, const char *arg, uint8_t pub[SEAL_IDENT_KEY])
{
	size_t alen = strlen(arg);
	if (arg[0] != '@' && strcmp(arg, "-") != 0) {
		if (seal_ident_pub_parse(pub, arg, alen) < 0)
			tool_usage_die("%s: '%s' is not a public key (44 base64 characters, "
				       "or @FILE, or - for stdin)", what, arg);
		return;
	}
	const char *path = arg[0] == '@' ? arg + 1 : NULL;
	const char *name = path ? path : "stdin";
	if (path && !*path)
		tool_usage_die("%s: '@' needs a file name", what);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0)
		tool_die(TOOL_EXIT_ERR, "%s: %s: %s", what, name, strerror(errno));
	char buf[128];
	int n = read_text(fd, buf, sizeof buf);
	int e = errno;
	if (path)
		close(fd);
	if (n == UDP_ESYS)
		tool_die(TOOL_EXIT_ERR, "%s: %s: %s", what, name, strerror(e));
	if (n < 0 || seal_ident_pub_parse(pub, buf, (size_t)n) < 0)
		tool_die(TOOL_EXIT_ERR, "%s: %s does not hold a public key "
			 "(44 base64 characters and a newline)", what, name);
}
