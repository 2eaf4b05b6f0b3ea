/* tool_chat_tty.h - terminal and output helpers of udpchat.
 *
 * tool_chat_tty.c  a small raw-mode line editor: keeps the line being typed
 *                  intact while messages are printed above it
 * tool_chat_out.c  text escaping for terminals and JSON strings
 *
 * Linked into every tool (tools/tool_*.c), so no static state beyond
 * constants: the editor's state lives in the caller's struct tool_tty. */
#ifndef TOOL_CHAT_TTY_H
#define TOOL_CHAT_TTY_H

#include <stddef.h>
#include <termios.h>

#define TOOL_TTY_LINE 4096

struct tool_tty {
	int in_fd, out_fd;
	int raw;               /* termios changed (restore on close) */
	struct termios saved;
	const char *prompt;
	char line[TOOL_TTY_LINE];
	size_t len;
	int esc;               /* inside an escape sequence: 1 after ESC, 2 after ESC [ */
	size_t drawn;          /* characters of prompt + line on screen now */
};

/* Puts in_fd in non-canonical, no-echo mode (signals still work) and shows
 * the prompt.  Returns 0 or -1 with errno. */
int tool_tty_open(struct tool_tty *t, int in_fd, int out_fd, const char *prompt);
/* Restores the terminal and ends the prompt line. */
void tool_tty_close(struct tool_tty *t);
/* One input byte.  Returns 1 when a line is complete (copied to out as a
 * NUL-terminated string), 0 when more is needed, -1 on ^D with an empty
 * line (end of input). */
int tool_tty_key(struct tool_tty *t, unsigned char c, char *out, size_t cap);
/* Prints one line of output above the prompt: clears the prompt line,
 * writes text and a newline, then redraws the prompt and the typed text. */
void tool_tty_print(struct tool_tty *t, const char *text, size_t len);
void tool_tty_redraw(struct tool_tty *t);

/* Appends src (n bytes) to dst (cap bytes, NUL-terminated at *pos) as
 * safe text: control bytes (C0, DEL, C1) and bytes that are not UTF-8
 * become '?' so no peer can send escape sequences to a terminal.  Stops
 * short rather than overflow. */
void tool_put_text(char *dst, size_t cap, size_t *pos, const void *src, size_t n);
/* The same as a JSON string body (quotes not included): \" \\ \n \t,
 * \u00XX for other control bytes, valid UTF-8 copied, and \ufffd for
 * each byte that is not UTF-8, so the line is always valid JSON. */
void tool_put_json(char *dst, size_t cap, size_t *pos, const void *src, size_t n);
/* Appends formatted text. */
void tool_put(char *dst, size_t cap, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
