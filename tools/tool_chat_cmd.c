/* tool_chat_cmd.c - udpchat's input: lines typed and commands (see tool_chat_app.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool_chat_app.h"
#include "tool_common.h"

static void chat_send_all(struct chat *c, uint8_t type, const char *text, size_t n)
{
	for (int i = 0; i < MAX_PEERS; i++) {
		struct sess *s = &c->s[i];
		if (!s->used || !s->id || s->closing)
			continue;
		int r = chat_sess_send(c, s, type, text, n, REL_SEQPACKET);
		if (r < 0)
			chat_notice(c, "not sent to one peer: %s", udpkit_strerror(r));
	}
}

static void chat_echo_own(struct chat *c, uint8_t type, const char *to, const char *text, size_t n)
{
	if (!c->tty)
		return; /* scripts know what they sent */
	char me[CHAT_NAME_MAX];
	chat_name_of(c, c->id, c->nick, me, sizeof me);
	if (type == CHAT_PRIV) {
		char label[2 * CHAT_NAME_MAX + 8];
		snprintf(label, sizeof label, "%s -> %s", me, to);
		chat_show_msg(c, CHAT_MSG, c->id, label, (const uint8_t *)text, n);
	} else {
		chat_show_msg(c, type, c->id, me, (const uint8_t *)text, n);
	}
}

static void chat_cmd_who(struct chat *c)
{
	size_t n = chat_roster_count(c->roster);
	uint64_t now = now_us();
	for (size_t i = 0; i < n; i++) {
		struct chat_peer_info pi;
		chat_roster_at(c->roster, i, &pi);
		char name[CHAT_NAME_MAX], b[UDP_ADDR_STRLEN];
		chat_name_of(c, pi.id, pi.nick, name, sizeof name);
		struct sess *s = chat_sess_by_rel(c, pi.tag);
		const char *addr = s ? tool_addr_str(&s->addr, b, sizeof b) : "?";
		double ago = (double)(now - pi.last_seen) / 1e6;
		const char *state = pi.state == CHAT_AWAY ? "away" : "live";
		size_t pos = chat_line_start(c, "who");
		if (c->o.json) {
			chat_json_str(c, &pos, "from", name, strlen(name));
			chat_put(c->out, sizeof c->out, &pos,
				 ",\"id\":\"%016" PRIx64 "\",\"addr\":\"%s\",\"state\":\"%s\","
				 "\"last_seen\":%.1f}", pi.id, addr, state, ago);
		} else {
			chat_put(c->out, sizeof c->out, &pos, "   ");
			chat_text_name(c, &pos, pi.id, name);
			chat_put(c->out, sizeof c->out, &pos, "  %s  %s, last seen %.1f s ago",
				 addr, state, ago);
		}
		chat_emit(c, c->out, pos);
	}
	if (!c->o.json)
		chat_notice(c, "%zu peer%s", n, n == 1 ? "" : "s");
}

static void chat_cmd_msg(struct chat *c, const char *args)
{
	const char *sp = strchr(args, ' ');
	if (!*args || !sp || !sp[1]) {
		chat_notice(c, "usage: /msg NICK TEXT");
		return;
	}
	char target[CHAT_NAME_MAX + 1];
	size_t tl = (size_t)(sp - args);
	if (tl >= sizeof target) {
		chat_notice(c, "no such peer");
		return;
	}
	memcpy(target, args, tl);
	target[tl] = '\0';
	uint64_t id;
	int r = chat_roster_find(c->roster, target, &id);
	if (r == 0) {
		chat_notice(c, "no peer '%s' (see /who)", target);
		return;
	}
	if (r < 0) {
		chat_notice(c, "'%s' is ambiguous: add the #id (see /who)", target);
		return;
	}
	struct chat_peer_info pi;
	chat_roster_get(c->roster, id, &pi);
	struct sess *s = chat_sess_by_rel(c, pi.tag);
	if (!s || (r = chat_sess_send(c, s, CHAT_PRIV, sp + 1, strlen(sp + 1), REL_SEQPACKET)) < 0) {
		chat_notice(c, "not sent: %s", s ? udpkit_strerror(r) : "no session");
		return;
	}
	c->privates++;
	char name[CHAT_NAME_MAX];
	chat_name_of(c, id, pi.nick, name, sizeof name);
	chat_echo_own(c, CHAT_PRIV, name, sp + 1, strlen(sp + 1));
}

static void chat_cmd_nick(struct chat *c, const char *nick)
{
	if (!chat_nick_valid(nick, strlen(nick))) {
		chat_notice(c, "bad nickname (1-%d bytes, no spaces, '#', quotes or backslash)",
		       CHAT_NICK_MAX);
		return;
	}
	snprintf(c->nick, sizeof c->nick, "%s", nick);
	chat_send_all(c, CHAT_NICK, NULL, 0);
	char me[CHAT_NAME_MAX];
	chat_name_of(c, c->id, c->nick, me, sizeof me);
	chat_notice(c, "you are now %s", me);
}

static void chat_on_line(struct chat *c, char *line)
{
	size_t n = strlen(line);
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n == 0)
		return;
	if (line[0] == '/' && line[1] != '/') {
		char *arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		else
			arg = line + n;
		if (strcmp(line, "/who") == 0)
			chat_cmd_who(c);
		else if (strcmp(line, "/msg") == 0)
			chat_cmd_msg(c, arg);
		else if (strcmp(line, "/nick") == 0)
			chat_cmd_nick(c, arg);
		else if (strcmp(line, "/me") == 0 && *arg) {
			chat_send_all(c, CHAT_ME, arg, strlen(arg));
			c->sent++;
			chat_echo_own(c, CHAT_ME, NULL, arg, strlen(arg));
		} else if (strcmp(line, "/quit") == 0)
			chat_start_quit(c);
		else if (strcmp(line, "/help") == 0)
			chat_notice(c, "/who  /nick NAME  /msg NICK TEXT  /me TEXT  /quit  (// sends a '/')");
		else
			chat_notice(c, "unknown command %s (try /help)", line);
		return;
	}
	if (line[0] == '/')
		line++, n--; /* "//x" sends "/x" */
	if (n > CHAT_TEXT_MAX) {
		chat_notice(c, "line too long (%zu bytes, at most %d): not sent", n, CHAT_TEXT_MAX);
		return;
	}
	chat_send_all(c, CHAT_MSG, line, n);
	c->sent++;
	chat_echo_own(c, CHAT_MSG, NULL, line, n);
}

/* Leaving: BYE in every session (delivered after everything sent before
 * it), then a graceful close; LEAVE beacons for peers without a session. */
void chat_start_quit(struct chat *c)
{
	if (c->quitting)
		return;
	c->quitting = 1;
	if (c->tty) {
		/* no more typing; and a second ^C (default action, it kills)
		 * must not leave the terminal without echo */
		chat_tty_close(&c->ed);
		c->tty = 0;
	}
	chat_send_all(c, CHAT_BYE, NULL, 0);
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used)
			chat_sess_close(c, &c->s[i]);
	chat_send_beacon(c, CHAT_LEAVE);
}

/* ---- input ---- */

/* Reads what stdin has and handles each complete line.  A line longer
 * than the buffer is handed on in pieces (on_line refuses it). */
void chat_read_input(struct chat *c, struct chat_input *in)
{
	if (c->tty) {
		unsigned char k[256];
		ssize_t r = read(STDIN_FILENO, k, sizeof k);
		if (r <= 0) {
			if (r == 0 || errno != EINTR)
				in->eof = 1;
			return;
		}
		char line[CHAT_TTY_LINE];
		for (ssize_t i = 0; i < r && !c->quitting; i++) {
			int st = chat_tty_key(&c->ed, k[i], line, sizeof line);
			if (st < 0)
				in->eof = 1;
			else if (st == 1)
				chat_on_line(c, line);
		}
		return;
	}
	ssize_t r = read(STDIN_FILENO, in->buf + in->len, sizeof in->buf - 1 - in->len);
	if (r < 0 && errno == EINTR)
		return;
	if (r <= 0) {
		if (in->len) { /* a last line without a newline */
			in->buf[in->len] = '\0';
			chat_on_line(c, in->buf);
			in->len = 0;
		}
		in->eof = 1;
		return;
	}
	in->len += (size_t)r;
	size_t start = 0;
	for (size_t i = 0; i < in->len && !c->quitting; i++) {
		if (in->buf[i] != '\n')
			continue;
		in->buf[i] = '\0';
		chat_on_line(c, in->buf + start);
		start = i + 1;
	}
	if (c->quitting)
		start = in->len;
	if (start == 0 && in->len == sizeof in->buf - 1) { /* no newline in sight */
		in->buf[in->len] = '\0';
		chat_on_line(c, in->buf);
		start = in->len;
	}
	memmove(in->buf, in->buf + start, in->len - start);
	in->len -= start;
}
