/* chat_known.h - known peers: the identity key first seen for each nick
 * (trust on first use, as ssh's known_hosts), and the file that keeps them.
 *
 * Text: one peer per line, "<nick> <44-character base64 public key>",
 * separated by one or more blanks; blank lines and lines starting with '#'
 * are ignored.  The nick follows the wire rule (chat_nick_valid: no space,
 * '#', control bytes ...), so a line splits one way only.  A nick given
 * twice, a bad nick or a bad key fails the whole file and *bad_line says
 * which (from 1): a list that half-loads would forget whom we trusted and
 * accept a changed key as new.
 *
 * The file is written whole into a temporary file in the same folder
 * (mode 0600), synced and renamed over the old one, so a crash leaves the
 * old list or the new one, never half of either.  docs/CHAT.md,
 * "Identities". */
#ifndef CHAT_KNOWN_H
#define CHAT_KNOWN_H

#include <stddef.h>
#include <stdint.h>

#include "chat_wire.h"

#define CHAT_KNOWN_MAX 4096 /* entries; more is UDP_ENOSPACE */

struct chat_known;

enum chat_known_match {
	CHAT_KNOWN_NEW = 0,   /* no entry for the nick */
	CHAT_KNOWN_SAME = 1,  /* the nick's key is this key */
	CHAT_KNOWN_OTHER = 2, /* the nick is bound to another key */
};

int chat_known_new(struct chat_known **out);
void chat_known_free(struct chat_known *k); /* NULL is a no-op */

/* Adds the entries of text (len bytes, need not end in NUL) to k.
 * Returns 0, UDP_EINVAL (a bad line: *bad_line, may be NULL) or
 * UDP_ENOMEM / UDP_ENOSPACE; k is unchanged on failure. */
int chat_known_parse(struct chat_known *k, const char *text, size_t len, size_t *bad_line);
/* Reads the file at path into k; a missing file is an empty list (0).
 * Errors: as chat_known_parse, or the negative errno-based udp_err code
 * of open/read (UDP_ESYS with errno set). */
int chat_known_load(struct chat_known *k, const char *path, size_t *bad_line);
/* Writes k to path atomically (see above).  0 or UDP_ESYS (errno set). */
int chat_known_save(const struct chat_known *k, const char *path);
/* The whole text of k into buf (cap bytes); returns its length or
 * UDP_ENOSPACE. */
int chat_known_format(const struct chat_known *k, char *buf, size_t cap);

/* What k says of nick with key; *old (may be NULL) gets the known key
 * for CHAT_KNOWN_OTHER and CHAT_KNOWN_SAME. */
enum chat_known_match chat_known_check(const struct chat_known *k, const char *nick,
				       const uint8_t key[CHAT_KEY_LEN], uint8_t *old);
/* Binds nick to key (adding it, or replacing its key: /trust).  Returns 0,
 * UDP_EINVAL (bad nick), UDP_ENOMEM or UDP_ENOSPACE. */
int chat_known_set(struct chat_known *k, const char *nick, const uint8_t key[CHAT_KEY_LEN]);
size_t chat_known_count(const struct chat_known *k);

#endif
