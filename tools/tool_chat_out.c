/* tool_chat_out.c - escaping of peer text for terminals and JSON. */
#include <stdarg.h>
#include <stdio.h>

#include "tool_chat.h"

static void put_byte(char *dst, size_t cap, size_t *pos, char c)
{
	if (*pos + 1 < cap) {
		dst[(*pos)++] = c;
		dst[*pos] = '\0';
	}
}

void chat_put_text(char *dst, size_t cap, size_t *pos, const void *src, size_t n)
{
	const unsigned char *s = src;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		/* ESC, CR and friends from the network must not reach a tty */
		put_byte(dst, cap, pos, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

void chat_put_json(char *dst, size_t cap, size_t *pos, const void *src, size_t n)
{
	const unsigned char *s = src;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			put_byte(dst, cap, pos, '\\');
			put_byte(dst, cap, pos, (char)c);
		} else if (c == '\n') {
			chat_put(dst, cap, pos, "\\n");
		} else if (c == '\t') {
			chat_put(dst, cap, pos, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			chat_put(dst, cap, pos, "\\u%04x", c);
		} else {
			put_byte(dst, cap, pos, (char)c);
		}
	}
}

void chat_put(char *dst, size_t cap, size_t *pos, const char *fmt, ...)
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
