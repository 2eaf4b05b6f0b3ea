/* tool_chat_out.c - escaping of peer text for terminals and JSON. */
#include <stdarg.h>
#include <stdio.h>

#include "tool_chat_tty.h"

static void put_byte(char *dst, size_t cap, size_t *pos, char c)
{
	if (*pos + 1 < cap) {
		dst[(*pos)++] = c;
		dst[*pos] = '\0';
	}
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	unsigned cp = c & (0x3fu >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_bytes(char *dst, size_t cap, size_t *pos, const unsigned char *s, size_t n)
{
	if (*pos + n < cap) {
		for (size_t i = 0; i < n; i++)
			dst[(*pos)++] = (char)s[i];
		dst[*pos] = '\0';
	}
}

void tool_put_text(char *dst, size_t cap, size_t *pos, const void *src, size_t n)
{
	const unsigned char *s = src;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = utf8_len(s + i, n - i);
		if (k > 1) { /* (C1 controls U+0080..9F are two bytes: c2 80..9f) */
			if (c == 0xc2 && s[i + 1] < 0xa0)
				put_byte(dst, cap, pos, '?');
			else
				put_bytes(dst, cap, pos, s + i, k);
			i += k;
			continue;
		}
		/* ESC, CR and friends from the network must not reach a tty,
		 * nor bytes that are not UTF-8 */
		put_byte(dst, cap, pos, k == 0 || c < 0x20 || c == 0x7f ? '?' : (char)c);
		i++;
	}
}

void tool_put_json(char *dst, size_t cap, size_t *pos, const void *src, size_t n)
{
	const unsigned char *s = src;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		size_t k = utf8_len(s + i, n - i);
		if (k == 0) { /* JSON is Unicode: a stray byte becomes U+FFFD */
			tool_put(dst, cap, pos, "\\ufffd");
			continue;
		}
		if (k > 1) {
			put_bytes(dst, cap, pos, s + i, k);
			i += k - 1;
			continue;
		}
		if (c == '"' || c == '\\') {
			put_byte(dst, cap, pos, '\\');
			put_byte(dst, cap, pos, (char)c);
		} else if (c == '\n') {
			tool_put(dst, cap, pos, "\\n");
		} else if (c == '\t') {
			tool_put(dst, cap, pos, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			tool_put(dst, cap, pos, "\\u%04x", c);
		} else {
			put_byte(dst, cap, pos, (char)c);
		}
	}
}

void tool_put(char *dst, size_t cap, size_t *pos, const char *fmt, ...)
{
	if (*pos >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*pos += (size_t)n < cap - *pos ? (size_t)n : cap - *pos - 1;
}
