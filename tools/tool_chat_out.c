/* tool_chat_out.c - escaping of peer text for terminals and JSON. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "chat_nick.h"
#include "tool_chat_tty.h"

static void put_byte(char *dst, size_t cap, size_t *pos, char c)
{
	if (*pos + 1 < cap) {
		dst[(*pos)++] = c;
		dst[*pos] = '\0';
	}
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * the nick rules' decoder, so display and checks agree on what is valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	return chat_utf8_next(s, n, &cp);
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
