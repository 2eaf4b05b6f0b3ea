/* seal_allowed.c - the allowed-keys list (declared in seal_ident.h): who
 * may complete a handshake with us, and the names we show for them. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_ident.h"

struct entry {
	uint8_t pub[SEAL_IDENT_KEY];
	char name[SEAL_IDENT_NAME_MAX + 1];
};

struct seal_allowed {
	struct entry *v;
	size_t n, cap;
};

void seal_allowed_free(struct seal_allowed *a)
{
	if (!a)
		return;
	free(a->v);
	free(a);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One line, without its newline: 0 (entry added or nothing on it) or a
 * negative code. */
static int parse_line(struct seal_allowed *a, const char *s, size_t len)
{
	if (memchr(s, '\0', len))
		return UDP_ESEAL_ALLOWED_LINE;
	const char *hash = memchr(s, '#', len);
	if (hash)
		len = (size_t)(hash - s);
	if (len && s[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return UDP_ESEAL_ALLOWED_LINE;
	}
	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (len == 0)
		return 0;
	size_t klen = 0;
	while (klen < len && !is_blank(s[klen]))
		klen++;
	struct entry e;
	memset(&e, 0, sizeof e);
	if (seal_ident_pub_parse(e.pub, s, klen) < 0)
		return UDP_ESEAL_ALLOWED_LINE;
	const char *name = s + klen;
	size_t nlen = len - klen;
	while (nlen && is_blank(*name)) {
		name++;
		nlen--;
	}
	if (nlen > SEAL_IDENT_NAME_MAX)
		return UDP_ESEAL_ALLOWED_LINE;
	memcpy(e.name, name, nlen);
	for (size_t i = 0; i < a->n; i++)
		if (sodium_memcmp(a->v[i].pub, e.pub, SEAL_IDENT_KEY) == 0)
			return UDP_ESEAL_ALLOWED_DUP;
	if (a->n >= (1u << 20)) /* find() returns the index as an int */
		return UDP_ETOOBIG;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct entry *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return UDP_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = e;
	return 0;
}

int seal_allowed_parse(struct seal_allowed **out, const char *text, size_t len,
		       size_t *bad_line)
{
	if (bad_line)
		*bad_line = 0;
	if (!out || (!text && len))
		return UDP_EINVAL;
	*out = NULL;
	struct seal_allowed *a = calloc(1, sizeof *a);
	if (!a)
		return UDP_ENOMEM;
	size_t pos = 0, line = 1;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		int rc = parse_line(a, text + pos, end - pos);
		if (rc < 0) {
			if (bad_line)
				*bad_line = line;
			seal_allowed_free(a);
			return rc;
		}
		pos = end + 1;
		line++;
	}
	*out = a;
	return 0;
}

size_t seal_allowed_count(const struct seal_allowed *a)
{
	return a ? a->n : 0;
}

int seal_allowed_find(const struct seal_allowed *a, const uint8_t pub[SEAL_IDENT_KEY],
		      const char **name)
{
	if (!a || !pub)
		return UDP_EINVAL;
	for (size_t i = 0; i < a->n; i++) {
		if (sodium_memcmp(a->v[i].pub, pub, SEAL_IDENT_KEY) == 0) {
			if (name)
				*name = a->v[i].name;
			return (int)i;
		}
	}
	return UDP_ESEAL_WRONGKEY;
}

int seal_allowed_get(const struct seal_allowed *a, size_t i, uint8_t pub[SEAL_IDENT_KEY],
		     const char **name)
{
	if (!a || i >= a->n)
		return UDP_EINVAL;
	if (pub)
		memcpy(pub, a->v[i].pub, SEAL_IDENT_KEY);
	if (name)
		*name = a->v[i].name;
	return 0;
}
