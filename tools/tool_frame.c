/* tool_frame.c - cutting an input stream into datagrams.
 *
 * The input is read in big blocks; messages are handed out as pointers
 * into the block, so a sender builds a whole batch of iovecs without
 * copying.  Modes:
 *   line   one datagram per line, the newline not sent (unless keep_delim);
 *          an empty line is an empty datagram; a last line without a
 *          newline is sent too
 *   nul    the same with NUL as the separator (-0)
 *   chunk  fixed-size pieces, the last one may be shorter
 *   whole  all input as one datagram (empty input: one empty datagram)
 * A message over the limit is never cut: the reader finds its full size
 * (reading on without storing) and reports TOOL_FRAME_TOOBIG. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool_common.h"

#define FRAME_BLOCK (1024 * 1024)

void tool_frame_init(struct tool_frame *f, int fd, enum tool_framing mode,
		     size_t chunk, size_t limit, int keep_delim)
{
	memset(f, 0, sizeof *f);
	f->fd = fd;
	f->mode = mode;
	f->chunk = chunk;
	f->limit = limit;
	f->keep_delim = keep_delim;
}

void tool_frame_free(struct tool_frame *f)
{
	free(f->buf);
	f->buf = NULL;
}

/* Is a complete message buffered?  1: yes (*len to send, *adv to consume),
 * 0: input is over, 2: more input needed. */
static int find(struct tool_frame *f, size_t *len, size_t *adv)
{
	size_t have = f->end - f->start;
	switch (f->mode) {
	case TOOL_FRAME_LINE:
	case TOOL_FRAME_NUL: {
		int delim = f->mode == TOOL_FRAME_LINE ? '\n' : '\0';
		uint8_t *q = memchr(f->buf + f->scan, delim, f->end - f->scan);
		if (q) {
			*adv = (size_t)(q - (f->buf + f->start)) + 1;
			*len = *adv - (f->keep_delim ? 0 : 1);
			return 1;
		}
		f->scan = f->end;
		break;
	}
	case TOOL_FRAME_CHUNK:
		if (have >= f->chunk) {
			*len = *adv = f->chunk;
			return 1;
		}
		break;
	case TOOL_FRAME_WHOLE:
		if (f->eof && !f->whole_done) {
			f->whole_done = 1;
			*len = *adv = have;
			return 1;
		}
		break;
	}
	if (!f->eof)
		return 2;
	if (have > 0) {
		*len = *adv = have;
		return 1;
	}
	return 0;
}

/* Reads once into the buffer.  0 ok (or EOF noted), -1 error. */
static int fill(struct tool_frame *f)
{
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->end - f->start);
		f->end -= f->start;
		f->scan -= f->start;
		f->start = 0;
	}
	if (f->end == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : FRAME_BLOCK;
		uint8_t *nb = realloc(f->buf, ncap);
		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		f->buf = nb;
		f->cap = ncap;
	}
	ssize_t r = read(f->fd, f->buf + f->end, f->cap - f->end);
	if (r < 0)
		return -1;
	if (r == 0)
		f->eof = 1;
	f->end += (size_t)r;
	return 0;
}

/* The message at start is already over the limit: count the rest of it
 * without keeping it.  Returns TOOL_FRAME_TOOBIG or TOOL_FRAME_ERR. */
static int measure_oversize(struct tool_frame *f, size_t *n)
{
	size_t total = 0;
	int delim = f->mode == TOOL_FRAME_NUL ? '\0' : '\n';
	int delimited = f->mode == TOOL_FRAME_LINE || f->mode == TOOL_FRAME_NUL;
	for (;;) {
		uint8_t *q = delimited ? memchr(f->buf + f->start, delim, f->end - f->start)
				       : NULL;
		if (q) {
			total += (size_t)(q - (f->buf + f->start)) + (f->keep_delim ? 1 : 0);
			f->start = (size_t)(q - f->buf) + 1;
			f->scan = f->start;
			break;
		}
		total += f->end - f->start;
		f->start = f->scan = f->end = 0;
		if (f->eof)
			break;
		ssize_t r = read(f->fd, f->buf, f->cap);
		if (r < 0)
			return TOOL_FRAME_ERR;
		if (r == 0)
			f->eof = 1;
		f->end = (size_t)r;
	}
	*n = total;
	return TOOL_FRAME_TOOBIG;
}

int tool_frame_next(struct tool_frame *f, int may_read, const uint8_t **p,
		    size_t *n)
{
	for (;;) {
		size_t len = 0, adv = 0;
		int r = f->buf ? find(f, &len, &adv) : 2;
		if (r == 1 && len > f->limit) {
			*n = len;
			f->start += adv;
			f->scan = f->start;
			return TOOL_FRAME_TOOBIG;
		}
		if (r == 1) {
			*p = f->buf + f->start;
			*n = len;
			f->start += adv;
			f->scan = f->start;
			return TOOL_FRAME_MSG;
		}
		if (r == 0)
			return TOOL_FRAME_END;
		if (!may_read)
			return TOOL_FRAME_NEED;
		if (f->end - f->start > f->limit && f->mode != TOOL_FRAME_CHUNK)
			return measure_oversize(f, n);
		if (fill(f) < 0)
			return TOOL_FRAME_ERR;
	}
}
