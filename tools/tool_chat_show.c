/* tool_chat_show.c - udpchat's output: chat lines, presence and notices,
 * as text or JSON (see tool_chat_app.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_chat_app.h"
#include "tool_common.h"

void chat_emit(struct chat *c, const char *line, size_t len)
{
	if (c->tty) {
		chat_tty_print(&c->ed, line, len);
		return;
	}
	/* one write per line: a reader never sees half a line */
	char buf[OUT_MAX + 2];
	memcpy(buf, line, len);
	buf[len] = '\n';
	const char *p = buf;
	size_t n = len + 1;
	while (n) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void chat_name_of(const struct chat *c, uint64_t id, const char *nick, char *buf,
		    size_t cap)
{
	chat_roster_name(c->roster, c->id, c->nick, id, nick, buf, cap);
}

/* Starts a line: the JSON head {"type":..,"ts":..} or the text timestamp. */
size_t chat_line_start(struct chat *c, const char *type)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	size_t pos = 0;
	c->out[0] = '\0';
	if (c->o.json) {
		chat_put(c->out, sizeof c->out, &pos, "{\"type\":\"%s\",\"ts\":%lld.%03ld", type,
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000);
	} else {
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		chat_put(c->out, sizeof c->out, &pos, "%s%02d:%02d:%02d%s ",
			 c->color ? "\033[2m" : "", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 c->color ? "\033[0m" : "");
	}
	return pos;
}

void chat_json_str(struct chat *c, size_t *pos, const char *key, const void *s, size_t n)
{
	chat_put(c->out, sizeof c->out, pos, ",\"%s\":\"", key);
	chat_put_json(c->out, sizeof c->out, pos, s, n);
	chat_put(c->out, sizeof c->out, pos, "\"");
}

void chat_text_name(struct chat *c, size_t *pos, uint64_t id, const char *name)
{
	if (c->color)
		chat_put(c->out, sizeof c->out, pos, "\033[1;%dm", 31 + (int)(id % 6));
	chat_put_text(c->out, sizeof c->out, pos, name, strlen(name));
	if (c->color)
		chat_put(c->out, sizeof c->out, pos, "\033[0m");
}

/* A message from a peer: type msg, me or private. */
void chat_show_msg(struct chat *c, uint8_t type, uint64_t id, const char *name,
		     const uint8_t *text, size_t n)
{
	const char *jt = type == CHAT_ME ? "me" : type == CHAT_PRIV ? "private" : "msg";
	size_t pos = chat_line_start(c, jt);
	if (c->o.json) {
		chat_json_str(c, &pos, "from", name, strlen(name));
		chat_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", id);
		chat_json_str(c, &pos, "text", text, n);
		chat_put(c->out, sizeof c->out, &pos, "}");
	} else {
		if (type == CHAT_ME) {
			chat_put(c->out, sizeof c->out, &pos, "* ");
			chat_text_name(c, &pos, id, name);
			chat_put(c->out, sizeof c->out, &pos, " ");
		} else {
			chat_put(c->out, sizeof c->out, &pos, "%s<",
				 type == CHAT_PRIV ? "[private] " : "");
			chat_text_name(c, &pos, id, name);
			chat_put(c->out, sizeof c->out, &pos, "> ");
		}
		chat_put_text(c->out, sizeof c->out, &pos, text, n);
	}
	chat_emit(c, c->out, pos);
}

/* A presence line: join, leave, away, back, gone, nick (extra: the new
 * name for nick, the address for join). */
void chat_show_presence(struct chat *c, const char *type, uint64_t id,
			  const char *name, const char *extra)
{
	size_t pos = chat_line_start(c, type);
	if (c->o.json) {
		chat_json_str(c, &pos, "from", name, strlen(name));
		chat_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", id);
		if (extra)
			chat_json_str(c, &pos, strcmp(type, "nick") == 0 ? "to" : "addr", extra,
				 strlen(extra));
		chat_put(c->out, sizeof c->out, &pos, "}");
	} else {
		chat_put(c->out, sizeof c->out, &pos, "-- ");
		chat_text_name(c, &pos, id, name);
		if (strcmp(type, "join") == 0)
			chat_put(c->out, sizeof c->out, &pos, " joined from %s", extra ? extra : "?");
		else if (strcmp(type, "leave") == 0)
			chat_put(c->out, sizeof c->out, &pos, " left");
		else if (strcmp(type, "nick") == 0) {
			chat_put(c->out, sizeof c->out, &pos, " is now known as ");
			chat_text_name(c, &pos, id, extra);
		} else
			chat_put(c->out, sizeof c->out, &pos, " is %s", type);
	}
	chat_emit(c, c->out, pos);
}

/* Local notices (errors of commands, /help) go to stderr, or above the
 * prompt on a terminal. */
void chat_notice(struct chat *c, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (c->tty) {
		char line[600];
		int n = snprintf(line, sizeof line, "%s%s%s", c->color ? "\033[33m" : "", text,
				 c->color ? "\033[0m" : "");
		chat_tty_print(&c->ed, line, n < 0 ? 0 : strnlen(line, sizeof line));
	} else {
		tool_err("%s", text);
	}
}
