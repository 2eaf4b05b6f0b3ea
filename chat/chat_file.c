/* chat_file.c - the transfer state machine (see chat_file.h): offers,
 * accepts, chunks sent as the core acknowledges earlier ones, and ends.
 *
 * Outgoing:  OFFER sent -> ACCEPT received -> DATA ... -> the receiver's
 *            CANCEL(DONE) (or any other end).
 * Incoming:  OFFER received -> accepted (ACCEPT sent) -> DATA in order ->
 *            the tool checks the file and ends it (DONE or FAILED).
 * A transfer is bound to the session that carried its offer; when that
 * session ends, so does the transfer (CHAT_FILE_GONE).  An offer not
 * accepted within file_offer_us ends on each side by its own clock
 * (CHAT_FILE_EXPIRED): the session may outlive the sender's interest, and
 * a receiver who never answers must not hold the sender's slot either. */
#include <stdio.h>
#include <string.h>

#include "chat_group_int.h"
#include "udp_err.h"

static struct chat_xfer *xfer_find(struct chat_group *g, uint64_t peer, uint32_t fid, int out)
{
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct chat_xfer *x = &g->xf[i];
		if (x->used && x->peer == peer && x->fid == fid && x->out == out)
			return x;
	}
	return NULL;
}

/* A free slot, unless the peer has its CHAT_FILE_PER_PEER in that
 * direction, or (offers received) CHAT_FILE_PENDING_MAX wait already. */
static struct chat_xfer *xfer_new(struct chat_group *g, uint64_t peer, int out, uint64_t now)
{
	struct chat_xfer *free_x = NULL;
	int n = 0, pending = 0;
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct chat_xfer *x = &g->xf[i];
		if (!x->used) {
			if (!free_x)
				free_x = x;
			continue;
		}
		if (x->peer == peer && x->out == out)
			n++;
		if (!x->out && !x->accepted)
			pending++;
	}
	if (!free_x || n >= CHAT_FILE_PER_PEER || (!out && pending >= CHAT_FILE_PENDING_MAX))
		return NULL;
	memset(free_x, 0, sizeof *free_x);
	free_x->used = 1;
	free_x->peer = peer;
	free_x->out = out;
	free_x->since = now;
	return free_x;
}

/* Sends p (type and its fields set) on session rel; *msg_id for chunks. */
static int xfer_send(struct chat_group *g, uint32_t rel, struct chat_pkt *p, uint64_t now,
		     uint64_t *msg_id)
{
	uint8_t buf[CHAT_PKT_MAX];
	chat_pkt_self(g, p);
	int len = chat_pkt_encode(p, buf, sizeof buf);
	if (len < 0)
		return len;
	return rel_send(g->cfg.core, rel, buf, (size_t)len, REL_SEQPACKET, now, msg_id);
}

static void xfer_emit(struct chat_group *g, const struct chat_xfer *x,
		      struct chat_file_event *fe)
{
	char name[CHAT_NAME_MAX];
	struct chat_peer_info pi;
	chat_group_name(g, x->peer, chat_roster_get(g->roster, x->peer, &pi) == 0 ? pi.nick : "?",
			name, sizeof name);
	fe->fid = x->fid;
	fe->out = x->out;
	fe->size = x->size;
	fe->done = x->done;
	struct chat_group_event ev = { .type = CHAT_GROUP_FILE, .id = x->peer, .name = name,
				       .file = fe };
	chat_emit(g, &ev);
}

/* Forgets x and says why; the peer is told unless it ended it or is gone. */
static void xfer_end(struct chat_group *g, struct chat_xfer *x, enum chat_file_reason why,
		     int by_peer, uint64_t now)
{
	if (!by_peer && why != CHAT_FILE_GONE) {
		struct chat_sess *s = chat_sess_by_rel(g, x->rel);
		/* expired is ours to say: the wire knows it as cancelled */
		enum chat_file_reason wire = why == CHAT_FILE_EXPIRED ? CHAT_FILE_CANCELLED : why;
		struct chat_pkt p = { .type = CHAT_FILE_CANCEL, .fid = x->fid,
				      .mine = (uint8_t)x->out, .reason = (uint8_t)wire };
		if (s && !s->closing)
			xfer_send(g, x->rel, &p, now, NULL);
	}
	struct chat_xfer copy = *x;
	x->used = 0; /* before the event: the callback may start another */
	struct chat_file_event fe = { .what = CHAT_FILE_EV_END, .reason = why,
				      .by_peer = by_peer };
	xfer_emit(g, &copy, &fe);
}

int chat_group_file_offer(struct chat_group *g, uint64_t peer, const char *name,
			  uint64_t size, const uint8_t sha256[CHAT_SHA256_LEN], uint32_t *fid,
			  uint64_t now)
{
	struct chat_peer_info pi;
	size_t nlen = name ? strnlen(name, CHAT_FILE_NAME_MAX + 1) : 0;
	if (nlen == 0 || nlen > CHAT_FILE_NAME_MAX || g->quitting)
		return UDP_EINVAL;
	if (chat_roster_get(g->roster, peer, &pi) < 0)
		return UDP_EINVAL;
	struct chat_sess *s = chat_sess_by_rel(g, pi.tag);
	if (!s || s->closing)
		return UDP_EINVAL;
	struct chat_xfer *x = xfer_new(g, peer, 1, now);
	if (!x)
		return UDP_EAGAIN;
	if (++g->next_fid == 0) /* 0 is no id on the wire */
		g->next_fid = 1;
	x->fid = g->next_fid;
	x->rel = s->rel;
	x->size = size;
	struct chat_pkt p = { .type = CHAT_FILE_OFFER, .fid = x->fid, .size = size,
			      .text = (const uint8_t *)name, .text_len = nlen };
	memcpy(p.sha256, sha256, CHAT_SHA256_LEN);
	int r = xfer_send(g, s->rel, &p, now, NULL);
	if (r < 0) {
		x->used = 0;
		return r;
	}
	if (fid)
		*fid = x->fid;
	return 0;
}

int chat_group_file_accept(struct chat_group *g, uint64_t peer, uint32_t fid, uint64_t now)
{
	struct chat_xfer *x = xfer_find(g, peer, fid, 0);
	if (!x || x->accepted)
		return UDP_EINVAL;
	struct chat_pkt p = { .type = CHAT_FILE_ACCEPT, .fid = fid };
	int r = xfer_send(g, x->rel, &p, now, NULL);
	if (r < 0)
		return r;
	x->accepted = 1;
	return 0;
}

int chat_group_file_end(struct chat_group *g, uint64_t peer, uint32_t fid, int out,
			enum chat_file_reason why, uint64_t now)
{
	struct chat_xfer *x = xfer_find(g, peer, fid, !!out);
	if (!x || why < CHAT_FILE_DONE || why > CHAT_FILE_WIRE_MAX)
		return UDP_EINVAL;
	xfer_end(g, x, why, 0, now);
	return 0;
}

static void on_offer(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now)
{
	if (xfer_find(g, s->id, p->fid, 0))
		return; /* said twice: the first one stands */
	struct chat_xfer *x = xfer_new(g, s->id, 0, now);
	if (!x) {
		struct chat_pkt c = { .type = CHAT_FILE_CANCEL, .fid = p->fid, .mine = 0,
				      .reason = CHAT_FILE_BUSY };
		xfer_send(g, s->rel, &c, now, NULL);
		g->st.files_busy++;
		return;
	}
	x->fid = p->fid;
	x->rel = s->rel;
	x->size = p->size;
	struct chat_file_event fe = { .what = CHAT_FILE_EV_OFFER,
				      .fname = (const char *)p->text, .fname_len = p->text_len,
				      .sha256 = p->sha256 };
	xfer_emit(g, x, &fe);
}

static void on_data(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		    uint64_t now)
{
	struct chat_xfer *x = xfer_find(g, s->id, p->fid, 0);
	if (!x)
		return; /* ended here while it was in flight */
	/* the session keeps order, so anything but the next bytes is a lie */
	if (!x->accepted || p->off != x->done || p->text_len > x->size - x->done) {
		xfer_end(g, x, CHAT_FILE_FAILED, 0, now);
		return;
	}
	x->done += p->text_len;
	struct chat_file_event fe = { .what = CHAT_FILE_EV_DATA, .off = p->off,
				      .data = p->text, .n = p->text_len };
	xfer_emit(g, x, &fe);
}

void chat_file_input(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now)
{
	struct chat_xfer *x;
	switch (p->type) {
	case CHAT_FILE_OFFER:
		on_offer(g, s, p, now);
		break;
	case CHAT_FILE_ACCEPT:
		x = xfer_find(g, s->id, p->fid, 1);
		if (x && !x->accepted && x->rel == s->rel) {
			x->accepted = 1;
			struct chat_file_event fe = { .what = CHAT_FILE_EV_ACCEPTED };
			xfer_emit(g, x, &fe);
		}
		break;
	case CHAT_FILE_DATA:
		on_data(g, s, p, now);
		break;
	case CHAT_FILE_CANCEL: /* its "mine" is our "not out" */
		x = xfer_find(g, s->id, p->fid, !p->mine);
		if (x)
			xfer_end(g, x, (enum chat_file_reason)p->reason, 1, now);
		break;
	default:
		break;
	}
}

void chat_file_acked(struct chat_group *g, uint32_t rel, uint64_t msg_id)
{
	/* a session acknowledges in the order it was given messages, so each
	 * transfer's oldest unacknowledged chunk is the only candidate */
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct chat_xfer *x = &g->xf[i];
		if (x->used && x->out && x->rel == rel && x->rn &&
		    x->ring[x->rhead] == msg_id) {
			x->rhead = (x->rhead + 1) % CHAT_FILE_WINDOW;
			x->rn--;
			return;
		}
	}
}

void chat_file_sess_gone(struct chat_group *g, uint32_t rel, uint64_t now)
{
	for (int i = 0; i < CHAT_FILE_MAX; i++)
		if (g->xf[i].used && g->xf[i].rel == rel)
			xfer_end(g, &g->xf[i], CHAT_FILE_GONE, 0, now);
}

void chat_file_cancel_all(struct chat_group *g, uint64_t now)
{
	for (int i = 0; i < CHAT_FILE_MAX; i++)
		if (g->xf[i].used)
			xfer_end(g, &g->xf[i], CHAT_FILE_CANCELLED, 0, now);
}

void chat_file_expire(struct chat_group *g, uint64_t now)
{
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct chat_xfer *x = &g->xf[i];
		/* since may be a little after now: an offer made from an event
		 * callback reads the clock after the poll did */
		if (x->used && !x->accepted && now >= x->since + g->cfg.file_offer_us) {
			g->st.files_expired++;
			xfer_end(g, x, CHAT_FILE_EXPIRED, 0, now);
		}
	}
}

uint64_t chat_file_next_deadline(const struct chat_group *g)
{
	uint64_t due = UINT64_MAX;
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		const struct chat_xfer *x = &g->xf[i];
		if (x->used && !x->accepted && x->since + g->cfg.file_offer_us < due)
			due = x->since + g->cfg.file_offer_us;
	}
	return due;
}

/* Tops up one transfer's window; 0 to go on, < 0 when it stopped. */
static int pump_one(struct chat_group *g, struct chat_xfer *x, uint64_t now)
{
	uint8_t buf[CHAT_FILE_CHUNK];
	struct chat_sess *s = chat_sess_by_rel(g, x->rel);
	if (!s || s->closing)
		return -1; /* its end is reported when the core lets go of it */
	while (x->rn < CHAT_FILE_WINDOW && x->done < x->size) {
		uint64_t left = x->size - x->done;
		size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
		int r = g->cfg.file_read ? g->cfg.file_read(g->cfg.ctx, x->peer, x->fid, x->done,
							    buf, n) : -1;
		if (r != (int)n) {
			xfer_end(g, x, CHAT_FILE_FAILED, 0, now);
			return -1;
		}
		struct chat_pkt p = { .type = CHAT_FILE_DATA, .fid = x->fid, .off = x->done,
				      .text = buf, .text_len = n };
		uint64_t id;
		r = xfer_send(g, x->rel, &p, now, &id);
		if (r == REL_EFULL)
			return -1; /* the session's budget: on at its next ack */
		if (r < 0) {
			xfer_end(g, x, CHAT_FILE_FAILED, 0, now);
			return -1;
		}
		x->ring[(x->rhead + x->rn) % CHAT_FILE_WINDOW] = id;
		x->rn++;
		x->done += n;
	}
	return 0;
}

void chat_file_pump(struct chat_group *g, uint64_t now)
{
	if (g->quitting)
		return;
	for (int i = 0; i < CHAT_FILE_MAX; i++) {
		struct chat_xfer *x = &g->xf[i];
		if (x->used && x->out && x->accepted && x->done < x->size)
			pump_one(g, x, now);
	}
}

/* ---- names ---- */

size_t chat_file_safe_name(const char *in, size_t n, char *out, size_t cap)
{
	size_t start = 0, len = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] == '/' || in[i] == '\\')
			start = i + 1;
	while (start < n && (in[start] == '.' || in[start] == ' '))
		start++;
	size_t max = cap ? cap - 1 : 0;
	if (max > CHAT_FILE_SAFE_MAX)
		max = CHAT_FILE_SAFE_MAX;
	for (size_t i = start; i < n && len < max; i++) {
		unsigned char c = (unsigned char)in[i];
		out[len++] = c < 0x20 || c == 0x7f ? '_' : (char)c;
	}
	/* cut: never leave half a UTF-8 sequence at the end */
	if (len == max && start + len < n) {
		size_t k = len;
		while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)out[k - 1] & 0x80))
			len = k - 1; /* a lead byte whose sequence was cut */
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	if (len == 0 && cap > 4) {
		memcpy(out, "file", 4);
		len = 4;
	}
	if (cap)
		out[len] = '\0';
	return len;
}

int chat_file_numbered(const char *name, unsigned k, char *out, size_t cap)
{
	size_t n = strlen(name);
	if (k == 0) {
		if (n + 1 > cap)
			return -1;
		memcpy(out, name, n + 1);
		return (int)n;
	}
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : n;
	char num[16];
	int m = snprintf(num, sizeof num, " (%u)", k);
	if (m < 0 || n + (size_t)m + 1 > cap)
		return -1;
	memcpy(out, name, stem);
	memcpy(out + stem, num, (size_t)m);
	memcpy(out + stem + (size_t)m, name + stem, n - stem + 1);
	return (int)(n + (size_t)m);
}
