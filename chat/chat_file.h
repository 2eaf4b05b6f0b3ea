/* chat_file.h - files between peers over their reliable sessions: the
 * offer / accept / data / cancel exchange (docs/CHAT.md, "Files").
 *
 * chat/ only moves bytes and keeps the state of each transfer; it never
 * opens a file.  The sender's bytes come from the group's file_read
 * callback, the receiver's go out as CHAT_FILE_EV_DATA events, and names,
 * sha256 and the file system are the tool's (tools/tool_chat_file.c).
 * Included by chat_group.h, whose calls start and end transfers. */
#ifndef CHAT_FILE_H
#define CHAT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "chat_wire.h"

#define CHAT_FILE_MAX 64      /* transfers at once, both directions */
#define CHAT_FILE_PER_PEER 4  /* ... with one peer, in each direction */
/* Offers received and not accepted yet, from all peers: fewer than the
 * slots, so strangers' offers cannot take the room of transfers that run
 * or of our own offers (beyond it an offer is answered "busy"). */
#define CHAT_FILE_PENDING_MAX 16
/* An offer not accepted within this ends on both sides (each by its own
 * clock) as expired: an offer nobody answers, or whose sender vanished
 * with its session still up, holds no slot for long.  The default of
 * chat_group_config.file_offer_us. */
#define CHAT_FILE_OFFER_US 600000000ull /* 10 minutes */
/* Why a transfer ended, local only like CHAT_FILE_GONE: an offer not
 * accepted within file_offer_us.  The peer is told CANCELLED. */
#define CHAT_FILE_EXPIRED ((enum chat_file_reason)(CHAT_FILE_GONE + 1))
/* Chunks of one transfer queued in its session and not yet acknowledged:
 * about 512 KiB (half the receiver's 1 MiB budget), so a 50 MB file never sits in memory (the session's send
 * budget is 8 MiB) and lines typed meanwhile wait behind at most that. */
#define CHAT_FILE_WINDOW 128
#define CHAT_FILE_CHUNK CHAT_TEXT_MAX /* file bytes per FILE_DATA */

enum chat_file_what {
	CHAT_FILE_EV_OFFER = 1, /* a peer offers a file: fname, size, sha256 */
	CHAT_FILE_EV_ACCEPTED,  /* our offer was accepted: sending starts */
	CHAT_FILE_EV_DATA,      /* the next n bytes of an accepted file, at off */
	CHAT_FILE_EV_END,       /* over: reason, by_peer; the fid is forgotten */
};

/* Valid during the callback only (the event's file member). */
struct chat_file_event {
	enum chat_file_what what;
	uint32_t fid;       /* the offering side's id; with the peer id, unique */
	int out;            /* 1: we send it, 0: we receive it */
	uint64_t size;      /* as offered */
	uint64_t done;      /* bytes read (sending) or received so far */
	const char *fname;  /* OFFER: as the peer wrote it, not sanitised, no NUL */
	size_t fname_len;
	const uint8_t *sha256; /* OFFER: what the peer says the file hashes to */
	uint64_t off;       /* DATA */
	const uint8_t *data;
	size_t n;
	enum chat_file_reason reason; /* END */
	int by_peer;        /* END: the peer ended it (else we, or its session) */
};

/* The sender's bytes: fills buf with n bytes of transfer fid to peer from
 * off; returns n, or < 0 (the transfer then fails). */
typedef int (*chat_file_read_fn)(void *ctx, uint64_t peer, uint32_t fid, uint64_t off,
				 void *buf, size_t n);

/* ---- names (pure string work, so tests can pin it) ---- */

/* Bytes of a sanitised name, without NUL: room for " (999)" and the
 * receiver's temporary-file prefix within NAME_MAX. */
#define CHAT_FILE_SAFE_MAX 200

/* What a name offered by a peer may become in the downloads folder: the
 * part after the last '/' or '\\', control bytes (and DEL) as '_', no
 * leading '.' or space (no hidden files, no "..", no ""), at most
 * CHAT_FILE_SAFE_MAX bytes cut on a UTF-8 boundary; "file" if nothing is
 * left.  out gets a NUL-terminated plain file name (cap >=
 * CHAT_FILE_SAFE_MAX + 1); returns its length. */
size_t chat_file_safe_name(const char *in, size_t n, char *out, size_t cap);

/* The k-th alternative of a safe name when it is taken: k = 0 is name,
 * else "stem (k).ext" (the extension after the last '.', if any).  Returns
 * the length, or -1 when it does not fit cap. */
int chat_file_numbered(const char *name, unsigned k, char *out, size_t cap);

#endif
