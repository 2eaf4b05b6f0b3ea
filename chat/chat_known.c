/* chat_known.c - known peers (chat_known.h): nick -> the identity key
 * first seen for it, and the file that keeps them across runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat_known.h"
#include "seal_ident.h"
#include "udp_err.h"

struct chat_known_entry {
	char nick[CHAT_NICK_MAX + 1];
	uint8_t key[CHAT_KEY_LEN];
};

struct chat_known {
	struct chat_known_entry *e;
	size_t n, cap;
};

int chat_known_new(struct chat_known **out)
{
	if (!out)
		return UDP_EINVAL;
	*out = calloc(1, sizeof **out);
	return *out ? 0 : UDP_ENOMEM;
}

void chat_known_free(struct chat_known *k)
{
	if (!k)
		return;
	free(k->e);
	free(k);
}

size_t chat_known_count(const struct chat_known *k)
{
	return k ? k->n : 0;
}

static struct chat_known_entry *find(const struct chat_known *k, const char *nick)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->e[i].nick, nick) == 0)
			return &k->e[i];
	return NULL;
}

static int add(struct chat_known *k, const char *nick, size_t nlen, const uint8_t *key)
{
	if (k->n == CHAT_KNOWN_MAX)
		return UDP_ENOSPACE;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct chat_known_entry *e = realloc(k->e, cap * sizeof *e);
		if (!e)
			return UDP_ENOMEM;
		k->e = e;
		k->cap = cap;
	}
	struct chat_known_entry *e = &k->e[k->n++];
	memset(e, 0, sizeof *e);
	memcpy(e->nick, nick, nlen);
	memcpy(e->key, key, CHAT_KEY_LEN);
	return 0;
}

int chat_known_set(struct chat_known *k, const char *nick, const uint8_t key[CHAT_KEY_LEN])
{
	if (!k || !nick || !key || !chat_nick_valid(nick, strlen(nick)))
		return UDP_EINVAL;
	struct chat_known_entry *e = find(k, nick);
	if (e) {
		memcpy(e->key, key, CHAT_KEY_LEN);
		return 0;
	}
	return add(k, nick, strlen(nick), key);
}

enum chat_known_match chat_known_check(const struct chat_known *k, const char *nick,
				       const uint8_t key[CHAT_KEY_LEN], uint8_t *old)
{
	const struct chat_known_entry *e = k ? find(k, nick) : NULL;
	if (!e)
		return CHAT_KNOWN_NEW;
	if (old)
		memcpy(old, e->key, CHAT_KEY_LEN);
	return memcmp(e->key, key, CHAT_KEY_LEN) == 0 ? CHAT_KNOWN_SAME : CHAT_KNOWN_OTHER;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One line (without its newline) into k: 0, or UDP_EINVAL. */
static int parse_line(struct chat_known *k, const char *s, size_t len)
{
	if (len && s[len - 1] == '\r')
		len--;
	size_t i = 0;
	while (i < len && is_blank(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0;
	size_t n0 = i;
	while (i < len && !is_blank(s[i]))
		i++;
	size_t nlen = i - n0;
	while (i < len && is_blank(s[i]))
		i++;
	size_t k0 = i;
	while (i < len && !is_blank(s[i]))
		i++;
	size_t klen = i - k0;
	while (i < len && is_blank(s[i]))
		i++;
	uint8_t key[CHAT_KEY_LEN];
	char nick[CHAT_NICK_MAX + 1];
	if (i != len || nlen == 0 || nlen > CHAT_NICK_MAX || klen != SEAL_IDENT_B64_LEN ||
	    memchr(s, '\0', len) || !chat_nick_valid(s + n0, nlen))
		return UDP_EINVAL;
	memcpy(nick, s + n0, nlen);
	nick[nlen] = '\0';
	if (find(k, nick) || seal_ident_pub_parse(key, s + k0, klen) < 0)
		return UDP_EINVAL;
	return add(k, nick, nlen, key);
}

int chat_known_parse(struct chat_known *k, const char *text, size_t len, size_t *bad_line)
{
	if (!k || (!text && len))
		return UDP_EINVAL;
	size_t n0 = k->n, line = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		int r = parse_line(k, text + i, end - i);
		if (r < 0) {
			k->n = n0; /* all or nothing */
			if (bad_line)
				*bad_line = line;
			return r;
		}
		i = end + 1;
	}
	return 0;
}

int chat_known_load(struct chat_known *k, const char *path, size_t *bad_line)
{
	if (!k || !path)
		return UDP_EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : UDP_ESYS;
	/* at most CHAT_KNOWN_MAX lines of a nick, blanks and a key, and room
	 * for comments */
	size_t cap = (size_t)CHAT_KNOWN_MAX * 128, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return UDP_ENOMEM;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return UDP_ESYS;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) { /* longer than any list we would write */
			free(buf);
			close(fd);
			errno = EFBIG;
			return UDP_ESYS;
		}
	}
	close(fd);
	int rc = chat_known_parse(k, buf, n, bad_line);
	free(buf);
	return rc;
}

int chat_known_format(const struct chat_known *k, char *buf, size_t cap)
{
	static const char head[] = "# udpchat known peers: nick and identity public key "
				   "(docs/CHAT.md, \"Identities\")\n";
	size_t pos = 0;
	if (cap < sizeof head)
		return UDP_ENOSPACE;
	memcpy(buf, head, sizeof head - 1);
	pos = sizeof head - 1;
	for (size_t i = 0; k && i < k->n; i++) {
		char b64[SEAL_IDENT_TEXT_SIZE];
		seal_ident_pub_format(k->e[i].key, b64, sizeof b64);
		int w = snprintf(buf + pos, cap - pos, "%s %s\n", k->e[i].nick, b64);
		if (w < 0 || (size_t)w >= cap - pos)
			return UDP_ENOSPACE;
		pos += (size_t)w;
	}
	return (int)pos;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return UDP_ESYS;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int chat_known_save(const struct chat_known *k, const char *path)
{
	if (!k || !path)
		return UDP_EINVAL;
	size_t cap = 128 + k->n * (CHAT_NICK_MAX + SEAL_IDENT_B64_LEN + 2);
	char *text = malloc(cap);
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!text || !tmp) {
		free(text);
		free(tmp);
		return UDP_ENOMEM;
	}
	int n = chat_known_format(k, text, cap);
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = n < 0 ? -1 : mkstemp(tmp); /* 0600, in the same folder: rename is atomic */
	int rc = fd < 0 ? UDP_ESYS : 0;
	if (rc == 0)
		rc = fchmod(fd, 0600) < 0 ? UDP_ESYS : 0;
	if (rc == 0)
		rc = write_all(fd, text, (size_t)n);
	if (rc == 0 && fsync(fd) < 0)
		rc = UDP_ESYS;
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = UDP_ESYS, e = errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = UDP_ESYS, e = errno;
	if (rc < 0 && fd >= 0)
		unlink(tmp);
	free(text);
	free(tmp);
	errno = e;
	return n < 0 ? n : rc;
}
