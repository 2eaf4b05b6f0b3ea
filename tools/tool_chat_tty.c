/* tool_chat_tty.c - udpchat's line editor (see tool_chat_tty.h).
 *
 * Why not readline: its callback interface would do, but it is one more
 * build dependency for a few dozen lines.  The editor appends at the end of
 * the line only (no cursor movement); that is enough for chat and keeps the
 * redraw simple: back to the first row of the prompt, clear to the end of
 * the screen, output, "\r\n", prompt + line.  A line longer than the
 * terminal is wide covers several rows, hence the count of what is drawn. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tool_chat_tty.h"

static void out(struct tool_tty *t, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = write(t->out_fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void clear_prompt(struct tool_tty *t);

int tool_tty_open(struct tool_tty *t, int in_fd, int out_fd, const char *prompt)
{
	memset(t, 0, sizeof *t);
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	t->prompt = prompt;
	if (tcgetattr(in_fd, &t->saved) < 0)
		return -1;
	struct termios raw = t->saved;
	/* ISIG stays on: ^C and ^Z behave as usual */
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | IEXTEN);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(in_fd, TCSANOW, &raw) < 0)
		return -1;
	t->raw = 1;
	tool_tty_redraw(t);
	return 0;
}

void tool_tty_close(struct tool_tty *t)
{
	if (!t->raw)
		return;
	clear_prompt(t);
	tcsetattr(t->in_fd, TCSANOW, &t->saved);
	t->raw = 0;
}

/* Characters (not bytes: UTF-8 continuation bytes take no column). */
static size_t columns(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Moves to the first column of the prompt's first row and clears from
 * there to the end of the screen. */
static void clear_prompt(struct tool_tty *t)
{
	struct winsize ws;
	size_t cols = ioctl(t->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
	/* a full last row leaves the cursor on it (deferred wrap): drawn - 1 */
	size_t up = t->drawn ? (t->drawn - 1) / cols : 0;
	char seq[32];
	int n = up ? snprintf(seq, sizeof seq, "\r\033[%zuA\033[J", up)
		   : snprintf(seq, sizeof seq, "\r\033[J");
	out(t, seq, (size_t)n);
	t->drawn = 0;
}

void tool_tty_redraw(struct tool_tty *t)
{
	clear_prompt(t);
	out(t, t->prompt, strlen(t->prompt));
	out(t, t->line, t->len);
	t->drawn = columns(t->prompt, strlen(t->prompt)) + columns(t->line, t->len);
}

void tool_tty_print(struct tool_tty *t, const char *text, size_t len)
{
	clear_prompt(t);
	out(t, text, len);
	out(t, "\r\n", 2);
	tool_tty_redraw(t);
}

/* Removes the last character, UTF-8 continuation bytes included. */
static void erase_char(struct tool_tty *t)
{
	while (t->len && ((unsigned char)t->line[t->len - 1] & 0xc0) == 0x80)
		t->len--;
	if (t->len)
		t->len--;
}

int tool_tty_key(struct tool_tty *t, unsigned char c, char *line, size_t cap)
{
	if (t->esc == 1) { /* ESC x: only ESC [ starts a sequence we skip */
		t->esc = c == '[' ? 2 : 0;
		return 0;
	}
	if (t->esc == 2) { /* CSI: parameters until a final byte 0x40..0x7e */
		if (c >= 0x40 && c <= 0x7e)
			t->esc = 0;
		return 0;
	}
	switch (c) {
	case '\r':
	case '\n': {
		size_t n = t->len < cap - 1 ? t->len : cap - 1;
		memcpy(line, t->line, n);
		line[n] = '\0';
		t->len = 0;
		tool_tty_redraw(t);
		return 1;
	}
	case 4: /* ^D: end of input on an empty line */
		if (t->len == 0)
			return -1;
		return 0;
	case 0x7f:
	case 8: /* backspace */
		erase_char(t);
		break;
	case 0x15: /* ^U */
		t->len = 0;
		break;
	case 0x17: /* ^W: the word before the end */
		while (t->len && t->line[t->len - 1] == ' ')
			t->len--;
		while (t->len && t->line[t->len - 1] != ' ')
			t->len--;
		break;
	case 0x0c: /* ^L */
		out(t, "\033[H\033[2J", 7);
		break;
	case 0x1b:
		t->esc = 1;
		return 0;
	default:
		if (c < 0x20 || t->len >= sizeof t->line - 1)
			return 0; /* other control keys, or the line is full */
		t->line[t->len++] = (char)c;
		out(t, &c, 1); /* the common case needs no redraw */
		t->drawn += (c & 0xc0) != 0x80;
		return 0;
	}
	tool_tty_redraw(t);
	return 0;
}
