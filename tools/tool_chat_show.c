/* tool_chat_show.c - udpchat's output: chat lines, presence, notices and
 * --stats, as text or JSON (see tool_chat_app.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_chat_app.h"
#include "seal.h"
#include "seal_sock.h"
#include "tool_common.h"

void tool_chat_emit(struct tool_chat *c, const char *line, size_t len)
{
	if (c->tty) {
		tool_tty_print(&c->ed, line, len);
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

void tool_chat_name(const struct tool_chat *c, uint64_t id, const char *nick, char *buf,
		    size_t cap)
{
	chat_group_name(c->chat, id, nick, buf, cap);
}

/* Starts a line stamped ts: the JSON head {"type":..,"ts":..} or the text
 * timestamp. */
static size_t line_start_at(struct tool_chat *c, const char *type, struct timespec ts)
{
	size_t pos = 0;
	c->out[0] = '\0';
	if (c->o.json) {
		tool_put(c->out, sizeof c->out, &pos, "{\"type\":\"%s\",\"ts\":%lld.%03ld", type,
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000);
	} else {
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		tool_put(c->out, sizeof c->out, &pos, "%s%02d:%02d:%02d%s ",
			 c->color ? "\033[2m" : "", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 c->color ? "\033[0m" : "");
	}
	return pos;
}

/* Starts a line stamped now. */
size_t tool_chat_line_start(struct tool_chat *c, const char *type)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return line_start_at(c, type, ts);
}

void tool_chat_json_str(struct tool_chat *c, size_t *pos, const char *key, const void *s, size_t n)
{
	tool_put(c->out, sizeof c->out, pos, ",\"%s\":\"", key);
	tool_put_json(c->out, sizeof c->out, pos, s, n);
	tool_put(c->out, sizeof c->out, pos, "\"");
}

void tool_chat_text_name(struct tool_chat *c, size_t *pos, uint64_t id, const char *name)
{
	if (c->color)
		tool_put(c->out, sizeof c->out, pos, "\033[1;%dm", 31 + (int)(id % 6));
	tool_put_text(c->out, sizeof c->out, pos, name, strlen(name));
	if (c->color)
		tool_put(c->out, sizeof c->out, pos, "\033[0m");
}

/* A message from a peer: type msg, me or private. */
void tool_chat_show_msg(struct tool_chat *c, uint8_t type, uint64_t id, const char *name,
		     const uint8_t *text, size_t n)
{
	const char *jt = type == CHAT_ME ? "me" : type == CHAT_PRIV ? "private" : "msg";
	size_t pos = tool_chat_line_start(c, jt);
	if (c->o.json) {
		tool_chat_json_str(c, &pos, "from", name, strlen(name));
		tool_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", id);
		tool_chat_json_str(c, &pos, "text", text, n);
		tool_put(c->out, sizeof c->out, &pos, "}");
	} else {
		if (type == CHAT_ME) {
			tool_put(c->out, sizeof c->out, &pos, "* ");
			tool_chat_text_name(c, &pos, id, name);
			tool_put(c->out, sizeof c->out, &pos, " ");
		} else {
			tool_put(c->out, sizeof c->out, &pos, "%s<",
				 type == CHAT_PRIV ? "[private] " : "");
			tool_chat_text_name(c, &pos, id, name);
			tool_put(c->out, sizeof c->out, &pos, "> ");
		}
		tool_put_text(c->out, sizeof c->out, &pos, text, n);
	}
	tool_chat_emit(c, c->out, pos);
}

static double secs_of(struct timespec t)
{
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A line from a peer.  One repeated from its log (catch-up, or an answer
 * to /history) is stamped with the time it was said and marked, so it is
 * not mistaken for something said just now; "shown" is when it arrived.
 * Every line carries "said", its sender's time (latency = ts - said). */
static void show_line(struct tool_chat *c, const struct chat_group_event *ev)
{
	int late = ev->line_flags == CHAT_LINE_LATE, hist = ev->line_flags == CHAT_LINE_HISTORY;
	if (!c->o.json && !late && !hist) {
		tool_chat_show_msg(c, ev->line_type, ev->id, ev->name, ev->text, ev->text_len);
		return;
	}
	struct timespec now, said = { .tv_sec = (time_t)(ev->ts_us / 1000000u),
				      .tv_nsec = (long)(ev->ts_us % 1000000u) * 1000 };
	clock_gettime(CLOCK_REALTIME, &now);
	if (!c->o.json) {
		/* the text form says it once, at the front */
		size_t pos = line_start_at(c, "msg", said);
		tool_put(c->out, sizeof c->out, &pos, "%s", hist ? "[history] " : "[late] ");
		tool_put(c->out, sizeof c->out, &pos, "%s", ev->line_type == CHAT_ME ? "* " : "<");
		tool_chat_text_name(c, &pos, ev->id, ev->name);
		tool_put(c->out, sizeof c->out, &pos, "%s", ev->line_type == CHAT_ME ? " " : "> ");
		tool_put_text(c->out, sizeof c->out, &pos, ev->text, ev->text_len);
		tool_chat_emit(c, c->out, pos);
		return;
	}
	const char *jt = ev->line_type == CHAT_ME ? "me"
		: ev->line_type == CHAT_PRIV ? "private" : "msg";
	size_t pos = line_start_at(c, jt, late || hist ? said : now);
	tool_chat_json_str(c, &pos, "from", ev->name, strlen(ev->name));
	tool_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", ev->id);
	tool_chat_json_str(c, &pos, "text", ev->text, ev->text_len);
	tool_put(c->out, sizeof c->out, &pos, ",\"said\":%.3f", secs_of(said));
	if (late || hist)
		tool_put(c->out, sizeof c->out, &pos, ",\"%s\":true,\"shown\":%.3f",
			 hist ? "history" : "late", secs_of(now));
	tool_put(c->out, sizeof c->out, &pos, "}");
	tool_chat_emit(c, c->out, pos);
}

/* A presence line: join, leave, away, back, gone, nick (extra: the new
 * name for nick, the address for join). */
void tool_chat_show_presence(struct tool_chat *c, const char *type, uint64_t id,
			  const char *name, const char *extra)
{
	size_t pos = tool_chat_line_start(c, type);
	if (c->o.json) {
		tool_chat_json_str(c, &pos, "from", name, strlen(name));
		tool_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", id);
		if (extra)
			tool_chat_json_str(c, &pos, strcmp(type, "nick") == 0 ? "to" : "addr", extra,
				 strlen(extra));
		tool_put(c->out, sizeof c->out, &pos, "}");
	} else {
		tool_put(c->out, sizeof c->out, &pos, "-- ");
		tool_chat_text_name(c, &pos, id, name);
		if (strcmp(type, "join") == 0)
			tool_put(c->out, sizeof c->out, &pos, " joined from %s", extra ? extra : "?");
		else if (strcmp(type, "leave") == 0)
			tool_put(c->out, sizeof c->out, &pos, " left");
		else if (strcmp(type, "nick") == 0) {
			tool_put(c->out, sizeof c->out, &pos, " is now known as ");
			tool_chat_text_name(c, &pos, id, extra);
		} else
			tool_put(c->out, sizeof c->out, &pos, " is %s", type);
	}
	tool_chat_emit(c, c->out, pos);
}

/* Local notices (errors of commands, /help) go to stderr, or above the
 * prompt on a terminal. */
void tool_chat_notice(struct tool_chat *c, const char *fmt, ...)
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
		tool_tty_print(&c->ed, line, n < 0 ? 0 : strnlen(line, sizeof line));
	} else {
		tool_err("%s", text);
	}
}

static const char *const presence_word[] = {
	[CHAT_GROUP_JOIN] = "join", [CHAT_GROUP_LEAVE] = "leave", [CHAT_GROUP_AWAY] = "away",
	[CHAT_GROUP_BACK] = "back", [CHAT_GROUP_GONE] = "gone",   [CHAT_GROUP_NICK] = "nick",
};

/* -v lines, in the words udpchat used before the chat moved to chat/ */
static void show_note(const struct chat_group_event *ev)
{
	char b[UDP_ADDR_STRLEN];
	switch (ev->note) {
	case CHAT_NOTE_CONNECTING:
		tool_debug("connecting to %s", tool_addr_str(ev->addr, b, sizeof b));
		break;
	case CHAT_NOTE_CONNECT_FAILED:
		tool_debug("connect %s: %s", tool_addr_str(ev->addr, b, sizeof b),
			   udpkit_strerror(ev->err));
		break;
	case CHAT_NOTE_COPY_REFUSED:
		tool_debug("HELLO with a known id from another address: closed");
		break;
	case CHAT_NOTE_BAD_PACKET:
		tool_debug("bad chat packet (%zu bytes) dropped", ev->len);
		break;
	case CHAT_NOTE_SILENT_CLOSED:
		tool_debug("session without HELLO closed");
		break;
	case CHAT_NOTE_BEACON_FAILED:
		tool_debug("beacon: %s", udpkit_strerror(ev->err));
		break;
	}
}

void tool_chat_on_event(void *ctx, const struct chat_group_event *ev)
{
	struct tool_chat *c = ctx;
	char b[UDP_ADDR_STRLEN];
	switch (ev->type) {
	case CHAT_GROUP_LINE:
		show_line(c, ev);
		break;
	case CHAT_GROUP_JOIN:
		tool_chat_show_presence(c, "join", ev->id, ev->name,
					tool_addr_str(ev->addr, b, sizeof b));
		break;
	case CHAT_GROUP_NICK:
		tool_chat_show_presence(c, "nick", ev->id, ev->name, ev->to);
		break;
	case CHAT_GROUP_LEAVE:
	case CHAT_GROUP_AWAY:
	case CHAT_GROUP_BACK:
	case CHAT_GROUP_GONE:
		tool_chat_show_presence(c, presence_word[ev->type], ev->id, ev->name, NULL);
		break;
	case CHAT_GROUP_SEND_FAILED:
		tool_chat_notice(c, "not sent to one peer: %s", udpkit_strerror(ev->err));
		break;
	case CHAT_GROUP_NOTE:
		show_note(ev);
		break;
	case CHAT_GROUP_FILE:
		tool_chat_on_file(c, ev);
		break;
	case CHAT_GROUP_IDENT:
		tool_chat_on_ident(c, ev);
		break;
	}
}

void tool_chat_beacon_stats(struct tool_chat *c)
{
	struct chat_group_stats gs;
	chat_group_stats(c->chat, &gs);
	const struct chat_beacon_stats *b = &gs.beacons;
	if (c->bsock) {
		char seal[160] = "";
		struct seal_stats st;
		if (seal_sock_stats(c->bsock, &st) > 0)
			snprintf(seal, sizeof seal,
				 " sealed_opened=%llu drop_plaintext=%llu drop_sealshort=%llu"
				 " drop_auth=%llu drop_wrongkey=%llu drop_replay=%llu",
				 (unsigned long long)st.opened, (unsigned long long)st.drop_plaintext,
				 (unsigned long long)(st.drop_short + st.drop_header),
				 (unsigned long long)st.drop_auth, (unsigned long long)st.drop_wrongkey,
				 (unsigned long long)(st.drop_replay + st.drop_old + st.drop_reflect));
		tool_err("beacons: in=%llu own=%llu known=%llu wait=%llu connect=%llu credit=%llu "
			 "leave=%llu drop_trunc=%llu drop_bad=%llu drop_type=%llu drop_short=%llu "
			 "drop_busy=%llu elsewhere=%llu mixed=%llu refused_key=%llu%s",
			 (unsigned long long)b->in, (unsigned long long)b->own,
			 (unsigned long long)b->known, (unsigned long long)b->wait,
			 (unsigned long long)b->connect, (unsigned long long)b->credit,
			 (unsigned long long)b->leave, (unsigned long long)b->drop_trunc,
			 (unsigned long long)b->drop_bad, (unsigned long long)b->drop_type,
			 (unsigned long long)b->drop_short, (unsigned long long)b->drop_busy,
			 (unsigned long long)b->elsewhere, (unsigned long long)b->mixed,
			 (unsigned long long)b->refused_key, seal);
	}
	tool_err("gate: sent=%llu sent_bytes=%llu held=%llu waiting=%d waiting_pex=%d",
		 (unsigned long long)gs.gate.sent, (unsigned long long)gs.gate.sent_bytes,
		 (unsigned long long)gs.gate.held, gs.gated, gs.gated_pex);
	if (c->ident)
		tool_err("identities: new_keys=%llu changed=%llu authz_refused=%llu bad_hello=%llu",
			 (unsigned long long)gs.ident.new_keys, (unsigned long long)gs.ident.changed,
			 (unsigned long long)gs.ident.authz_refused,
			 (unsigned long long)gs.ident.bad_hello);
	const struct chat_pex_stats *x = &gs.pex;
	tool_err("peers: lists=%llu entries=%llu skip=%llu connect=%llu queued=%llu "
		 "drop_list=%llu drop_busy=%llu",
		 (unsigned long long)x->lists, (unsigned long long)x->entries,
		 (unsigned long long)x->skip, (unsigned long long)x->connect,
		 (unsigned long long)x->queued, (unsigned long long)x->drop_list,
		 (unsigned long long)x->drop_busy);
}
