/* tool_chat_file.c - udpchat's files (see tool_chat_app.h): /send and
 * friends, the downloads folder, sha256, and what is shown.  The protocol
 * (offer, accept, chunks, cancel) is chat/chat_file.c; here are the parts
 * that touch the user's files.
 *
 * A file received is written to a temporary name in the downloads folder,
 * created with O_EXCL|O_NOFOLLOW (nothing there is followed or reused),
 * and linked to its final name only once its size and sha256 match:
 * linkat() refuses an existing name, so nothing is ever overwritten, and
 * a transfer that ends any other way leaves only the temporary file,
 * which is removed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool_chat_app.h"
#include "tool_common.h"

#define PROGRESS_GAP 1.0 /* seconds between progress lines of one transfer */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct tool_chat_xfer *xf_find(struct tool_chat *c, uint64_t peer, uint32_t fid, int out)
{
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct tool_chat_xfer *x = &c->xf[i];
		if (x->used && x->peer == peer && x->fid == fid && x->out == out)
			return x;
	}
	return NULL;
}

static struct tool_chat_xfer *xf_new(struct tool_chat *c)
{
	for (int i = 0; i < CHAT_FILE_MAX; i++)
		if (!c->xf[i].used) {
			memset(&c->xf[i], 0, sizeof c->xf[i]);
			c->xf[i].used = 1;
			c->xf[i].fd = -1;
			c->xf[i].started = now_s();
			c->xf[i].shown = c->xf[i].started;
			return &c->xf[i];
		}
	return NULL;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The head of a file line: who, which transfer, which file. */
static size_t line_head(struct tool_chat *c, const char *type, const struct tool_chat_xfer *x)
{
	size_t pos = tool_chat_line_start(c, type);
	if (c->o.json) {
		tool_chat_json_str(c, &pos, x->out ? "to" : "from", x->who, strlen(x->who));
		tool_put(c->out, sizeof c->out, &pos,
			 ",\"id\":\"%016" PRIx64 "\",\"dir\":\"%s\",\"fid\":%" PRIu32, x->peer,
			 x->out ? "out" : "in", x->fid);
		tool_chat_json_str(c, &pos, "name", x->name, strlen(x->name));
	} else {
		tool_put(c->out, sizeof c->out, &pos, "-- file %" PRIu32 " '", x->fid);
		tool_put_text(c->out, sizeof c->out, &pos, x->name, strlen(x->name));
		tool_put(c->out, sizeof c->out, &pos, "' %s ", x->out ? "to" : "from");
		tool_chat_text_name(c, &pos, x->peer, x->who);
		tool_put(c->out, sizeof c->out, &pos, ":");
	}
	return pos;
}

static void line_end(struct tool_chat *c, size_t pos)
{
	if (c->o.json)
		tool_put(c->out, sizeof c->out, &pos, "}");
	tool_chat_emit(c, c->out, pos);
}

static double rate_mbs(const struct tool_chat_xfer *x, uint64_t bytes)
{
	double t = now_s() - x->started;
	return t > 0 ? (double)bytes / t / 1e6 : 0;
}

static void show_progress(struct tool_chat *c, struct tool_chat_xfer *x, uint64_t done)
{
	double t = now_s();
	if (t - x->shown < PROGRESS_GAP || done >= x->size)
		return;
	x->shown = t;
	size_t pos = line_head(c, "file_progress", x);
	double pct = x->size ? 100.0 * (double)done / (double)x->size : 100;
	if (c->o.json)
		tool_put(c->out, sizeof c->out, &pos,
			 ",\"done\":%" PRIu64 ",\"size\":%" PRIu64 ",\"mbps\":%.2f", done, x->size,
			 rate_mbs(x, done));
	else
		tool_put(c->out, sizeof c->out, &pos, " %.0f %% of %" PRIu64 " bytes, %.1f MB/s",
			 pct, x->size, rate_mbs(x, done));
	line_end(c, pos);
}

static void show_done(struct tool_chat *c, const struct tool_chat_xfer *x, const char *path)
{
	char h[2 * CHAT_SHA256_LEN + 1];
	hex(x->sha, CHAT_SHA256_LEN, h);
	size_t pos = line_head(c, "file_done", x);
	double secs = now_s() - x->started;
	if (c->o.json) {
		if (path)
			tool_chat_json_str(c, &pos, "path", path, strlen(path));
		tool_put(c->out, sizeof c->out, &pos,
			 ",\"size\":%" PRIu64 ",\"sha256\":\"%s\",\"secs\":%.3f,\"mbps\":%.2f",
			 x->size, h, secs, rate_mbs(x, x->size));
	} else {
		tool_put(c->out, sizeof c->out, &pos, " done, %" PRIu64 " bytes in %.1f s", x->size,
			 secs);
		if (path) {
			tool_put(c->out, sizeof c->out, &pos, ", saved as '");
			tool_put_text(c->out, sizeof c->out, &pos, path, strlen(path));
			tool_put(c->out, sizeof c->out, &pos, "'");
		}
		tool_put(c->out, sizeof c->out, &pos, ", sha256 %s", h);
	}
	line_end(c, pos);
}

static const char *reason_word(enum chat_file_reason r)
{
	if (r == CHAT_FILE_EXPIRED) /* local, outside the wire's enum */
		return "expired";
	switch (r) {
	case CHAT_FILE_DONE: return "done";
	case CHAT_FILE_REFUSED: return "refused";
	case CHAT_FILE_CANCELLED: return "cancelled";
	case CHAT_FILE_FAILED: return "failed";
	case CHAT_FILE_TOO_BIG: return "too big";
	case CHAT_FILE_BUSY: return "busy";
	case CHAT_FILE_GONE: return "peer gone";
	}
	return "?";
}

/* ---- receiving ---- */

static int downloads(struct tool_chat *c)
{
	if (c->dl_fd > 0)
		return c->dl_fd;
	const char *d = c->o.downloads ? c->o.downloads : ".";
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tool_chat_notice(c, "downloads folder '%s': %s", d, strerror(errno));
		return -1;
	}
	c->dl_fd = fd;
	return fd;
}

/* Forgets the temporary file of x (a transfer that did not complete). */
static void drop_part(struct tool_chat *c, struct tool_chat_xfer *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->part[0] && c->dl_fd > 0)
		unlinkat(c->dl_fd, x->part, 0);
	x->part[0] = '\0';
}

static void fail(struct tool_chat *c, struct tool_chat_xfer *x, const char *why)
{
	x->why = why;
	chat_group_file_end(c->chat, x->peer, x->fid, x->out, CHAT_FILE_FAILED, now_us());
}

/* Every byte is in: check, then give it its final name. */
static void finish_in(struct tool_chat *c, struct tool_chat_xfer *x)
{
	uint8_t got[CHAT_SHA256_LEN];
	crypto_hash_sha256_final(&x->h, got);
	if (close(x->fd) < 0) {
		x->fd = -1;
		fail(c, x, strerror(errno));
		return;
	}
	x->fd = -1;
	if (memcmp(got, x->sha, sizeof got) != 0) {
		fail(c, x, "sha256 mismatch");
		return;
	}
	char final[CHAT_FILE_SAFE_MAX + 32];
	for (unsigned k = 0; k < 10000; k++) {
		if (chat_file_numbered(x->name, k, final, sizeof final) < 0)
			break;
		if (linkat(c->dl_fd, x->part, c->dl_fd, final, 0) == 0) {
			unlinkat(c->dl_fd, x->part, 0);
			x->part[0] = '\0';
			show_done(c, x, final);
			chat_group_file_end(c->chat, x->peer, x->fid, 0, CHAT_FILE_DONE, now_us());
			return;
		}
		if (errno != EEXIST)
			break;
	}
	fail(c, x, "cannot name the file");
}

static void accept_in(struct tool_chat *c, struct tool_chat_xfer *x)
{
	int dfd = downloads(c);
	if (dfd < 0) {
		fail(c, x, "no downloads folder");
		return;
	}
	uint32_t rnd = randombytes_random();
	snprintf(x->part, sizeof x->part, ".udpchat-%08" PRIx32 "-%08" PRIx32 ".part", x->fid, rnd);
	x->fd = openat(dfd, x->part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (x->fd < 0) {
		x->part[0] = '\0';
		fail(c, x, strerror(errno));
		return;
	}
	crypto_hash_sha256_init(&x->h);
	if (chat_group_file_accept(c->chat, x->peer, x->fid, now_us()) < 0) {
		fail(c, x, "session gone");
		return;
	}
	x->accepted = 1;
	size_t pos = line_head(c, "file_accepted", x);
	if (!c->o.json)
		tool_put(c->out, sizeof c->out, &pos, " accepted");
	line_end(c, pos);
	if (x->size == 0)
		finish_in(c, x);
}

static void on_offer(struct tool_chat *c, const struct chat_group_event *ev)
{
	const struct chat_file_event *f = ev->file;
	struct tool_chat_xfer *x = xf_new(c);
	if (!x) {
		chat_group_file_end(c->chat, ev->id, f->fid, 0, CHAT_FILE_BUSY, now_us());
		return;
	}
	x->peer = ev->id;
	x->fid = f->fid;
	x->size = f->size;
	snprintf(x->who, sizeof x->who, "%s", ev->name);
	memcpy(x->sha, f->sha256, CHAT_SHA256_LEN);
	chat_file_safe_name(f->fname, f->fname_len, x->name, sizeof x->name);
	char h[2 * CHAT_SHA256_LEN + 1];
	hex(x->sha, CHAT_SHA256_LEN, h);
	size_t pos = line_head(c, "file_offer", x);
	if (c->o.json) {
		tool_chat_json_str(c, &pos, "offered_name", f->fname, f->fname_len);
		tool_put(c->out, sizeof c->out, &pos, ",\"size\":%" PRIu64 ",\"sha256\":\"%s\"",
			 x->size, h);
	} else {
		tool_put(c->out, sizeof c->out, &pos, " offered, %" PRIu64 " bytes%s", x->size,
			 c->o.accept_files ? "" : " (/accept or /refuse)");
	}
	line_end(c, pos);
	if (x->size > c->o.max_file)
		chat_group_file_end(c->chat, x->peer, x->fid, 0, CHAT_FILE_TOO_BIG, now_us());
	else if (c->o.accept_files)
		accept_in(c, x);
}

static void on_data(struct tool_chat *c, const struct chat_group_event *ev)
{
	const struct chat_file_event *f = ev->file;
	struct tool_chat_xfer *x = xf_find(c, ev->id, f->fid, 0);
	if (!x || x->fd < 0)
		return;
	const uint8_t *p = f->data;
	size_t n = f->n;
	while (n) {
		ssize_t w = write(x->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fail(c, x, w < 0 ? strerror(errno) : "short write");
			return;
		}
		p += w;
		n -= (size_t)w;
	}
	crypto_hash_sha256_update(&x->h, f->data, f->n);
	x->done = f->done;
	show_progress(c, x, x->done);
	if (x->done == x->size)
		finish_in(c, x);
}

/* ---- the end of any transfer ---- */

static void on_end(struct tool_chat *c, const struct chat_group_event *ev)
{
	const struct chat_file_event *f = ev->file;
	struct tool_chat_xfer *x = xf_find(c, ev->id, f->fid, f->out);
	if (!x)
		return;
	drop_part(c, x);
	if (f->reason == CHAT_FILE_DONE && !x->out) {
		x->used = 0; /* shown when it was named */
		return;
	}
	const char *type = f->reason == CHAT_FILE_DONE ? NULL
		: f->reason == CHAT_FILE_REFUSED || f->reason == CHAT_FILE_TOO_BIG ||
		  f->reason == CHAT_FILE_BUSY ? "file_refused"
		: f->reason == CHAT_FILE_CANCELLED || f->reason == CHAT_FILE_EXPIRED
		? "file_cancelled" : "file_failed";
	if (!type) {
		show_done(c, x, NULL);
	} else {
		size_t pos = line_head(c, type, x);
		const char *by = f->by_peer ? "peer" : "us";
		if (c->o.json) {
			tool_put(c->out, sizeof c->out, &pos, ",\"reason\":\"%s\",\"by\":\"%s\"",
				 reason_word(f->reason), by);
			if (x->why)
				tool_chat_json_str(c, &pos, "why", x->why, strlen(x->why));
			tool_put(c->out, sizeof c->out, &pos, ",\"done\":%" PRIu64, f->done);
		} else if (f->reason == CHAT_FILE_EXPIRED) {
			tool_put(c->out, sizeof c->out, &pos, " expired: not accepted within %" PRIu64
				 " s", (uint64_t)(CHAT_FILE_OFFER_US / 1000000));
		} else {
			tool_put(c->out, sizeof c->out, &pos, " %s by %s%s%s", reason_word(f->reason),
				 f->by_peer ? "the peer" : "us", x->why ? ": " : "",
				 x->why ? x->why : "");
		}
		line_end(c, pos);
	}
	if (x->fd >= 0)
		close(x->fd);
	x->used = 0;
}

void tool_chat_on_file(struct tool_chat *c, const struct chat_group_event *ev)
{
	const struct chat_file_event *f = ev->file;
	struct tool_chat_xfer *x;
	switch (f->what) {
	case CHAT_FILE_EV_OFFER:
		on_offer(c, ev);
		break;
	case CHAT_FILE_EV_ACCEPTED:
		if ((x = xf_find(c, ev->id, f->fid, 1))) {
			x->accepted = 1;
			x->started = x->shown = now_s();
			size_t pos = line_head(c, "file_accepted", x);
			if (!c->o.json)
				tool_put(c->out, sizeof c->out, &pos, " accepted");
			line_end(c, pos);
		}
		break;
	case CHAT_FILE_EV_DATA:
		on_data(c, ev);
		break;
	case CHAT_FILE_EV_END:
		on_end(c, ev);
		break;
	}
}

/* ---- sending ---- */

int tool_chat_file_read(void *ctx, uint64_t peer, uint32_t fid, uint64_t off, void *buf,
			size_t n)
{
	struct tool_chat *c = ctx;
	struct tool_chat_xfer *x = xf_find(c, peer, fid, 1);
	if (!x || x->fd < 0)
		return -1;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(x->fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			x->why = r < 0 ? strerror(errno) : "file shrank";
			return -1;
		}
		got += (size_t)r;
	}
	x->done = off + n;
	show_progress(c, x, x->done);
	return (int)n;
}

/* The sha256 of the whole file, read once before it is offered. */
static int hash_file(int fd, uint8_t out[CHAT_SHA256_LEN], uint64_t *size)
{
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	uint8_t buf[1 << 16];
	uint64_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, buf, sizeof buf, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		crypto_hash_sha256_update(&h, buf, (unsigned long long)r);
		off += (uint64_t)r;
	}
	crypto_hash_sha256_final(&h, out);
	*size = off;
	return 0;
}

static void offer_to(struct tool_chat *c, uint64_t peer, int fd, const char *name,
		     uint64_t size, const uint8_t *sha)
{
	struct tool_chat_xfer *x = xf_new(c);
	if (!x) {
		tool_chat_notice(c, "/send: too many transfers");
		return;
	}
	uint32_t fid;
	int r = chat_group_file_offer(c->chat, peer, name, size, sha, &fid, now_us());
	if (r < 0) {
		x->used = 0;
		tool_chat_notice(c, "/send: not offered: %s", r == UDP_EAGAIN
				 ? "too many transfers with that peer" : udpkit_strerror(r));
		return;
	}
	x->out = 1;
	x->peer = peer;
	x->fid = fid;
	x->size = size;
	x->fd = dup(fd);
	memcpy(x->sha, sha, CHAT_SHA256_LEN);
	snprintf(x->name, sizeof x->name, "%s", name);
	struct chat_peer_info pi;
	chat_roster_get(chat_group_roster(c->chat), peer, &pi);
	tool_chat_name(c, peer, pi.nick, x->who, sizeof x->who);
	char h[2 * CHAT_SHA256_LEN + 1];
	hex(sha, CHAT_SHA256_LEN, h);
	size_t pos = line_head(c, "file_offer", x);
	if (c->o.json)
		tool_put(c->out, sizeof c->out, &pos, ",\"size\":%" PRIu64 ",\"sha256\":\"%s\"",
			 size, h);
	else
		tool_put(c->out, sizeof c->out, &pos, " offered, %" PRIu64 " bytes", size);
	line_end(c, pos);
}

/* /send NICK FILE, or /send * FILE for every peer. */
void tool_chat_cmd_send(struct tool_chat *c, const char *args)
{
	uint64_t id;
	const char *path;
	if (!tool_chat_target(c, args, "/send NICK|* FILE", 1, &id, &path))
		return;
	const struct chat_roster *roster = chat_group_roster(c->chat);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		tool_chat_notice(c, "/send: %s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return;
	}
	uint8_t sha[CHAT_SHA256_LEN];
	uint64_t size;
	if (hash_file(fd, sha, &size) < 0) {
		tool_chat_notice(c, "/send: %s: %s", path, strerror(errno));
		close(fd);
		return;
	}
	/* the peer sees only the last component: where it lives here is ours */
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char name[CHAT_FILE_SAFE_MAX + 1];
	chat_file_safe_name(base, strlen(base), name, sizeof name);
	if (id) {
		offer_to(c, id, fd, name, size, sha);
	} else {
		size_t n = chat_roster_count(roster);
		for (size_t i = 0; i < n; i++) {
			struct chat_peer_info pi;
			if (chat_roster_at(roster, i, &pi) == 0)
				offer_to(c, pi.id, fd, name, size, sha);
		}
		if (!n)
			tool_chat_notice(c, "/send: no peers");
	}
	close(fd);
}

/* /accept, /refuse, /cancel [FID]: every transfer that fits, or fid's. */
void tool_chat_cmd_xfer(struct tool_chat *c, const char *cmd, const char *arg)
{
	char *end;
	unsigned long fid = *arg ? strtoul(arg, &end, 10) : 0;
	if (*arg && (*end || !fid)) {
		tool_chat_notice(c, "usage: %s [FID]", cmd);
		return;
	}
	int n = 0;
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct tool_chat_xfer *x = &c->xf[i];
		if (!x->used || (fid && x->fid != fid))
			continue;
		if (strcmp(cmd, "/cancel") == 0) {
			n++;
			chat_group_file_end(c->chat, x->peer, x->fid, x->out, CHAT_FILE_CANCELLED,
					    now_us());
		} else if (!x->out && !x->accepted) {
			n++;
			if (strcmp(cmd, "/accept") == 0)
				accept_in(c, x);
			else
				chat_group_file_end(c->chat, x->peer, x->fid, 0, CHAT_FILE_REFUSED,
						    now_us());
		}
	}
	if (!n)
		tool_chat_notice(c, "%s: no such transfer", cmd);
}
