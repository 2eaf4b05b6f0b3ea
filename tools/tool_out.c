/* tool_out.c - received datagrams on stdout (or -o FILE), one format each:
 *
 * text  one line per datagram.  Printable ASCII and well-formed UTF-8 as
 *       they are; backslash as \\; \a \b \t \n \v \f \r as C escapes; every
 *       other byte as \xNN (always two hex digits).  So a line is always
 *       exactly one datagram.  --from puts "ADDR<TAB>" first.
 * raw   the payload bytes exactly, concatenated, nothing added.
 * hex   "# N bytes from ADDR" then offset, 16 hex bytes, |ascii| lines.
 * json  {"from":"ADDR","len":N,"data":"..."} per line (identity
 *       sessions: "peer_key" and "peer_name" after "from"); "data_base64"
 *       instead of "data" when the payload is not UTF-8; when truncated
 *       also "truncated":true,"stored":M (len stays the real size).
 *
 * Output is buffered and written when the buffer fills or on flush (the
 * tools flush after every received batch). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool_common.h"

#define OUT_CAP (256 * 1024)

int tool_out_open(struct tool_out *o, const char *path, enum tool_fmt fmt,
		  int show_from)
{
	memset(o, 0, sizeof *o);
	o->fmt = fmt;
	o->show_from = show_from;
	o->fd = STDOUT_FILENO;
	if (path && strcmp(path, "-") != 0) {
		o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (o->fd < 0)
			return -1;
	}
	o->cap = OUT_CAP;
	o->buf = malloc(o->cap);
	if (!o->buf) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int tool_out_flush(struct tool_out *o)
{
	size_t off = 0;
	while (off < o->len) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);
		if (w < 0 && errno == EINTR && !tool_stop_signal)
			continue;
		if (w < 0) {
			memmove(o->buf, o->buf + off, o->len - off);
			o->len -= off;
			return -1;
		}
		off += (size_t)w;
	}
	o->len = 0;
	return 0;
}

void tool_out_close(struct tool_out *o)
{
	if (o->fd > STDERR_FILENO)
		close(o->fd);
	free(o->buf);
	o->buf = NULL;
}

/* Room for need more bytes; flushes or grows.  0 or -1 (write error). */
static int ensure(struct tool_out *o, size_t need)
{
	if (o->len + need <= o->cap)
		return 0;
	if (tool_out_flush(o) < 0)
		return -1;
	if (need > o->cap) {
		char *nb = realloc(o->buf, need);
		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		o->buf = nb;
		o->cap = need;
	}
	return 0;
}

/* Length (2..4) of a well-formed UTF-8 sequence at p, or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t min, cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; min = 0x80; cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; min = 0x800; cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; min = 0x10000; cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int is_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t l = utf8_seq(p + i, n - i);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}

static const char hexd[] = "0123456789abcdef";

/* Text-mode escaping; needs at most 4 bytes of room per input byte. */
static char *put_text(char *d, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		const char *esc = NULL;
		switch (c) {
		case '\\': esc = "\\\\"; break;
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\v': esc = "\\v"; break;
		case '\f': esc = "\\f"; break;
		case '\r': esc = "\\r"; break;
		}
		if (esc) {
			*d++ = esc[0];
			*d++ = esc[1];
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			*d++ = (char)c;
			i++;
		} else if (c >= 0x80 && utf8_seq(p + i, n - i)) {
			size_t l = utf8_seq(p + i, n - i);
			memcpy(d, p + i, l);
			d += l;
			i += l;
		} else {
			*d++ = '\\'; *d++ = 'x';
			*d++ = hexd[c >> 4]; *d++ = hexd[c & 15];
			i++;
		}
	}
	return d;
}

/* JSON string body of valid UTF-8; at most 6 bytes per input byte. */
static char *put_json(char *d, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = (char)c;
		} else if (c == '\n') {
			*d++ = '\\'; *d++ = 'n';
		} else if (c == '\t') {
			*d++ = '\\'; *d++ = 't';
		} else if (c == '\r') {
			*d++ = '\\'; *d++ = 'r';
		} else if (c < 0x20 || c == 0x7f) {
			d += sprintf(d, "\\u%04x", c);
		} else {
			*d++ = (char)c;
		}
	}
	return d;
}

static char *put_base64(char *d, const uint8_t *p, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*d++ = b64[v >> 18]; *d++ = b64[(v >> 12) & 63];
		*d++ = b64[(v >> 6) & 63]; *d++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*d++ = b64[v >> 18]; *d++ = b64[(v >> 12) & 63];
		*d++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*d++ = '=';
	}
	return d;
}

static char *put_hex(char *d, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t k = n - off < 16 ? n - off : 16;
		d += sprintf(d, "%08zx ", off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				*d++ = ' ';
			if (i < k) {
				*d++ = ' ';
				*d++ = hexd[p[off + i] >> 4];
				*d++ = hexd[p[off + i] & 15];
			} else {
				*d++ = ' '; *d++ = ' '; *d++ = ' ';
			}
		}
		*d++ = ' '; *d++ = ' '; *d++ = '|';
		for (size_t i = 0; i < k; i++) {
			uint8_t c = p[off + i];
			*d++ = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
		*d++ = '|';
		*d++ = '\n';
	}
	return d;
}

int tool_out_msg(struct tool_out *o, const struct udp_msg *m)
{
	const uint8_t *p = m->buf;
	size_t n = m->len;
	size_t wire = m->wire_len > n ? m->wire_len : n;
	char from[UDP_ADDR_STRLEN];
	if (o->fmt == TOOL_FMT_RAW) {
		if (n >= OUT_CAP / 4) {
			/* a large message (udprecv -r --whole: 1 MiB) goes out
			 * from where it is, not through another copy */
			if (tool_out_flush(o) < 0)
				return -1;
			for (size_t off = 0; off < n;) {
				ssize_t w = write(o->fd, p + off, n - off);
				if (w < 0 && errno == EINTR && !tool_stop_signal)
					continue;
				if (w < 0)
					return -1;
				off += (size_t)w;
			}
			return 0;
		}
		if (ensure(o, n) < 0)
			return -1;
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		return 0;
	}
	tool_addr_str(&m->addr, from, sizeof from);
	size_t flen = strlen(from);
	size_t need = 6 * n + 6 * flen + 160;
	if (o->peer_key)
		need += 6 * (strlen(o->peer_key) + strlen(o->peer_name ? o->peer_name : "")) + 40;
	if (o->fmt == TOOL_FMT_HEX)
		need = (n / 16 + 1) * 80 + flen + 160;
	if (ensure(o, need) < 0)
		return -1;
	char *d = o->buf + o->len;
	switch (o->fmt) {
	case TOOL_FMT_TEXT:
		if (o->show_from) {
			d = put_text(d, (const uint8_t *)from, flen);
			*d++ = '\t';
		}
		d = put_text(d, p, n);
		*d++ = '\n';
		break;
	case TOOL_FMT_HEX:
		d += sprintf(d, "# %zu bytes from %s", wire, from);
		if (m->flags & UDP_MSG_TRUNC)
			d += sprintf(d, " (truncated to %zu)", n);
		*d++ = '\n';
		d = put_hex(d, p, n);
		break;
	case TOOL_FMT_JSON:
		d += sprintf(d, "{\"from\":\"");
		d = put_json(d, (const uint8_t *)from, flen);
		if (o->peer_key) {
			const char *nm = o->peer_name ? o->peer_name : "";
			d += sprintf(d, "\",\"peer_key\":\"");
			d = put_json(d, (const uint8_t *)o->peer_key, strlen(o->peer_key));
			d += sprintf(d, "\",\"peer_name\":\"");
			d = put_json(d, (const uint8_t *)nm, strlen(nm));
		}
		d += sprintf(d, "\",\"len\":%zu,", wire);
		if (is_utf8(p, n)) {
			d += sprintf(d, "\"data\":\"");
			d = put_json(d, p, n);
		} else {
			d += sprintf(d, "\"data_base64\":\"");
			d = put_base64(d, p, n);
		}
		*d++ = '"';
		if (m->flags & UDP_MSG_TRUNC)
			d += sprintf(d, ",\"truncated\":true,\"stored\":%zu", n);
		*d++ = '}';
		*d++ = '\n';
		break;
	case TOOL_FMT_RAW:
		break;
	}
	o->len = (size_t)(d - o->buf);
	return 0;
}

void tool_warn_truncated(const struct udp_msg *m)
{
	char from[UDP_ADDR_STRLEN];
	tool_info("datagram from %s truncated: %zu bytes, kept %zu (raise --max)",
		  tool_addr_str(&m->addr, from, sizeof from),
		  m->wire_len > m->len ? m->wire_len : m->len, m->len);
}
