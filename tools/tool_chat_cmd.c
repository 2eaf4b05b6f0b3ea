/* tool_chat_cmd.c - udpchat's input: lines typed and commands (see tool_chat_app.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool_chat_app.h"
#include "tool_common.h"

static void echo_own(struct tool_chat *c, uint8_t type, const char *to, const char *text, size_t n)
{
	if (!c->tty)
		return; /* scripts know what they sent */
	char me[CHAT_NAME_MAX];
	tool_chat_name(c, c->id, chat_group_nick(c->chat), me, sizeof me);
	if (type == CHAT_PRIV) {
		char label[2 * CHAT_NAME_MAX + 8];
		snprintf(label, sizeof label, "%s -> %s", me, to);
		tool_chat_show_msg(c, CHAT_MSG, c->id, label, (const uint8_t *)text, n);
	} else {
		tool_chat_show_msg(c, type, c->id, me, (const uint8_t *)text, n);
	}
}

static void cmd_who(struct tool_chat *c)
{
	const struct chat_roster *roster = chat_group_roster(c->chat);
	size_t n = chat_roster_count(roster);
	uint64_t now = now_us();
	for (size_t i = 0; i < n; i++) {
		struct chat_peer_info pi;
		chat_roster_at(roster, i, &pi);
		char name[CHAT_NAME_MAX], b[UDP_ADDR_STRLEN];
		tool_chat_name(c, pi.id, pi.nick, name, sizeof name);
		struct udp_addr a;
		const char *addr = chat_group_peer_addr(c->chat, pi.id, &a) == 0
			? tool_addr_str(&a, b, sizeof b) : "?";
		double ago = (double)(now - pi.last_seen) / 1e6;
		const char *state = pi.state == CHAT_AWAY ? "away" : "live";
		uint8_t key[CHAT_KEY_LEN];
		char fpr[20] = "";
		if (chat_group_peer_key(c->chat, pi.id, key) == 0)
			tool_chat_fpr(key, fpr);
		size_t pos = tool_chat_line_start(c, "who");
		if (c->o.json) {
			tool_chat_json_str(c, &pos, "from", name, strlen(name));
			tool_put(c->out, sizeof c->out, &pos,
				 ",\"id\":\"%016" PRIx64 "\",\"addr\":\"%s\",\"state\":\"%s\","
				 "\"last_seen\":%.1f", pi.id, addr, state, ago);
			if (*fpr)
				tool_put(c->out, sizeof c->out, &pos, ",\"fingerprint\":\"%s\"", fpr);
			tool_put(c->out, sizeof c->out, &pos, "}");
		} else {
			tool_put(c->out, sizeof c->out, &pos, "   ");
			tool_chat_text_name(c, &pos, pi.id, name);
			tool_put(c->out, sizeof c->out, &pos, "  %s  %s, last seen %.1f s ago",
				 addr, state, ago);
			if (*fpr)
				tool_put(c->out, sizeof c->out, &pos, "  key %s", fpr);
		}
		tool_chat_emit(c, c->out, pos);
	}
	if (!c->o.json)
		tool_chat_notice(c, "%zu peer%s", n, n == 1 ? "" : "s");
}

int tool_chat_target(struct tool_chat *c, const char *args, const char *usage, int allow_all,
		     uint64_t *id, const char **rest)
{
	const char *sp = strchr(args, ' ');
	if (!*args || !sp || !sp[1]) {
		tool_chat_notice(c, "usage: %s", usage);
		return 0;
	}
	char target[CHAT_NAME_MAX + 1];
	size_t tl = (size_t)(sp - args);
	if (tl >= sizeof target) {
		tool_chat_notice(c, "no such peer");
		return 0;
	}
	memcpy(target, args, tl);
	target[tl] = '\0';
	*rest = sp + 1;
	*id = 0;
	if (allow_all && !strcmp(target, "*"))
		return 1;
	int r = chat_roster_find(chat_group_roster(c->chat), target, id);
	if (r <= 0) {
		tool_chat_notice(c, r ? "'%s' is ambiguous: add the #id (see /who)"
				 : "no peer '%s' (see /who)", target);
		return 0;
	}
	return 1;
}

static void cmd_msg(struct tool_chat *c, const char *args)
{
	uint64_t id;
	const char *text;
	if (!tool_chat_target(c, args, "/msg NICK TEXT", 0, &id, &text))
		return;
	const struct chat_roster *roster = chat_group_roster(c->chat);
	int r;
	struct chat_peer_info pi;
	chat_roster_get(roster, id, &pi);
	int has = chat_group_peer_addr(c->chat, id, NULL) == 0;
	if (!has || (r = chat_group_send_private(c->chat, id, text, strlen(text),
						 now_us())) < 0) {
		tool_chat_notice(c, "not sent: %s", has ? udpkit_strerror(r) : "no session");
		return;
	}
	char name[CHAT_NAME_MAX];
	tool_chat_name(c, id, pi.nick, name, sizeof name);
	echo_own(c, CHAT_PRIV, name, text, strlen(text));
}

static void cmd_nick(struct tool_chat *c, const char *nick)
{
	char why[160], shown[CHAT_NICK_SHOW_MAX];
	if (chat_nick_check(nick, strlen(nick), why, sizeof why) < 0 ||
	    chat_group_set_nick(c->chat, nick, now_us()) < 0) {
		/* the nick itself escaped: it may hold a bidi override */
		chat_nick_display(nick, shown, sizeof shown);
		tool_chat_notice(c, "bad nickname '%s': %s", shown, why);
		return;
	}
	char me[CHAT_NAME_MAX];
	tool_chat_name(c, c->id, chat_group_nick(c->chat), me, sizeof me);
	tool_chat_notice(c, "you are now %s", me);
}

/* /history N: every peer's last N lines from before we started (there is
 * no server; what no running peer still logs is gone). */
static void cmd_history(struct tool_chat *c, const char *arg)
{
	char *end;
	unsigned long n = *arg ? strtoul(arg, &end, 10) : 20;
	if ((*arg && *end) || n < 1 || n > CHAT_HISTORY_MAX) {
		tool_chat_notice(c, "usage: /history [N]  (1-%d lines per peer, default 20)",
				 CHAT_HISTORY_MAX);
		return;
	}
	int r = chat_group_history(c->chat, (unsigned)n, now_us());
	if (r == UDP_EAGAIN)
		tool_chat_notice(c, "/history: at most once per %u s", CHAT_HISTORY_GAP_US / 1000000);
	else if (r >= 0)
		tool_chat_notice(c, "history asked from %d peer%s", r, r == 1 ? "" : "s");
}

static void on_line(struct tool_chat *c, char *line)
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
			cmd_who(c);
		else if (strcmp(line, "/msg") == 0)
			cmd_msg(c, arg);
		else if (strcmp(line, "/nick") == 0)
			cmd_nick(c, arg);
		else if (strcmp(line, "/history") == 0)
			cmd_history(c, arg);
		else if (strcmp(line, "/trust") == 0)
			tool_chat_cmd_trust(c, arg);
		else if (strcmp(line, "/send") == 0)
			tool_chat_cmd_send(c, arg);
		else if (strcmp(line, "/accept") == 0 || strcmp(line, "/refuse") == 0 ||
			 strcmp(line, "/cancel") == 0)
			tool_chat_cmd_xfer(c, line, arg);
		else if (strcmp(line, "/me") == 0 && *arg) {
			chat_group_say(c->chat, CHAT_ME, arg, strlen(arg), now_us());
			echo_own(c, CHAT_ME, NULL, arg, strlen(arg));
		} else if (strcmp(line, "/quit") == 0)
			tool_chat_quit(c);
		else if (strcmp(line, "/help") == 0)
			tool_chat_notice(c, "/who  /nick NAME  /msg NICK TEXT  /me TEXT  /history [N]  /trust NICK  /send NICK|* FILE  /accept [FID]  /refuse [FID]  /cancel [FID]  /quit  (// sends a '/')");
		else
			tool_chat_notice(c, "unknown command %s (try /help)", line);
		return;
	}
	if (line[0] == '/')
		line++, n--; /* "//x" sends "/x" */
	if (n > CHAT_TEXT_MAX) {
		tool_chat_notice(c, "line too long (%zu bytes, at most %d): not sent", n, CHAT_TEXT_MAX);
		return;
	}
	chat_group_say(c->chat, CHAT_MSG, line, n, now_us());
	echo_own(c, CHAT_MSG, NULL, line, n);
}

/* Leaving: no more typing, and the group says goodbye (chat_group_quit). */
void tool_chat_quit(struct tool_chat *c)
{
	if (chat_group_quitting(c->chat))
		return;
	if (c->tty) {
		/* no more typing; and a second ^C (default action, it kills)
		 * must not leave the terminal without echo */
		tool_tty_close(&c->ed);
		c->tty = 0;
	}
	chat_group_quit(c->chat, now_us());
}

/* ---- input ---- */

/* Reads what stdin has and handles each complete line.  A line longer
 * than the buffer is handed on in pieces (on_line refuses it). */
void tool_chat_read_input(struct tool_chat *c, struct tool_chat_input *in)
{
	if (c->tty) {
		unsigned char k[256];
		ssize_t r = read(STDIN_FILENO, k, sizeof k);
		if (r <= 0) {
			if (r == 0 || errno != EINTR)
				in->eof = 1;
			return;
		}
		char line[TOOL_TTY_LINE];
		for (ssize_t i = 0; i < r && !chat_group_quitting(c->chat); i++) {
			int st = tool_tty_key(&c->ed, k[i], line, sizeof line);
			if (st < 0)
				in->eof = 1;
			else if (st == 1)
				on_line(c, line);
		}
		return;
	}
	ssize_t r = read(STDIN_FILENO, in->buf + in->len, sizeof in->buf - 1 - in->len);
	if (r < 0 && errno == EINTR)
		return;
	if (r <= 0) {
		if (in->len) { /* a last line without a newline */
			in->buf[in->len] = '\0';
			on_line(c, in->buf);
			in->len = 0;
		}
		in->eof = 1;
		return;
	}
	in->len += (size_t)r;
	size_t start = 0;
	for (size_t i = 0; i < in->len && !chat_group_quitting(c->chat); i++) {
		if (in->buf[i] != '\n')
			continue;
		in->buf[i] = '\0';
		on_line(c, in->buf + start);
		start = i + 1;
	}
	if (chat_group_quitting(c->chat))
		start = in->len;
	if (start == 0 && in->len == sizeof in->buf - 1) { /* no newline in sight */
		in->buf[in->len] = '\0';
		on_line(c, in->buf);
		start = in->len;
	}
	memmove(in->buf, in->buf + start, in->len - start);
	in->len -= start;
}
