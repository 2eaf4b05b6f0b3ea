/* seal_ident.h - identity key pairs (X25519) for the Noise handshake, and
 * the list of peers allowed to connect.
 *
 * Private key file: the same text and the same checks as a group key file
 * (seal_key.h: base64 of 32 bytes and a newline, mode 0600, our own, no
 * symlink, never overwritten), so `udpkey` habits carry over.
 *
 * Public key text: 44 characters of standard base64, as `wg pubkey`
 * prints; exactly one text per key is accepted.
 *
 * Fingerprint: for people to compare by voice or eye, the first 8 bytes of
 * BLAKE2b-256(public key) as four groups of four lowercase hex digits,
 * "3f2a-9c01-77be-d4e0" (19 characters).  64 bits are enough to catch a
 * mistake, not to stop someone who can grind keys for a match: programs
 * compare full keys, never fingerprints.
 *
 * Allowed-keys text: one peer per line, "<base64 public key> [name]";
 * blank lines and everything from '#' to the end of a line are ignored.
 * The name is the rest of the line without surrounding blanks (at most
 * SEAL_IDENT_NAME_MAX bytes, no control characters).  A bad line fails the
 * whole list (UDP_ESEAL_ALLOWED_LINE, or UDP_ESEAL_ALLOWED_DUP for a key
 * given twice) and *bad_line says which, counting from 1: a list that
 * half-loads would silently lock people out or let them in. */
#ifndef SEAL_IDENT_H
#define SEAL_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEAL_IDENT_KEY 32
#define SEAL_IDENT_B64_LEN 44
#define SEAL_IDENT_TEXT_SIZE (SEAL_IDENT_B64_LEN + 1) /* + NUL */
#define SEAL_IDENT_FPR_SIZE 20                        /* 19 + NUL */
#define SEAL_IDENT_NAME_MAX 64

/* A key pair; the private half in sodium_malloc memory, read-only once
 * set, wiped by seal_ident_free(). */
struct seal_ident;

UDPKIT_API int seal_ident_generate(struct seal_ident **out);
UDPKIT_API int seal_ident_from_bytes(struct seal_ident **out, const uint8_t priv[SEAL_IDENT_KEY]);
UDPKIT_API int seal_ident_load(struct seal_ident **out, const char *path);
/* Creates path (0600, refuses an existing one); see seal_key_save(). */
UDPKIT_API int seal_ident_save(const struct seal_ident *id, const char *path);
UDPKIT_API void seal_ident_free(struct seal_ident *id);

/* The halves.  The private pointer is for seal_noise_config.static_priv
 * only; it stays valid until seal_ident_free(). */
UDPKIT_API const uint8_t *seal_ident_private(const struct seal_ident *id);
UDPKIT_API const uint8_t *seal_ident_public(const struct seal_ident *id);

/* "<44 base64 chars>" and a NUL into buf (cap >= SEAL_IDENT_TEXT_SIZE);
 * returns 44. */
UDPKIT_API int seal_ident_pub_format(const uint8_t pub[SEAL_IDENT_KEY], char *buf, size_t cap);
/* Exactly 44 base64 characters, optionally one trailing newline. */
UDPKIT_API int seal_ident_pub_parse(uint8_t pub[SEAL_IDENT_KEY], const char *text, size_t len);
/* "xxxx-xxxx-xxxx-xxxx" and a NUL (cap >= SEAL_IDENT_FPR_SIZE); returns 19. */
UDPKIT_API int seal_ident_fingerprint(const uint8_t pub[SEAL_IDENT_KEY], char *buf, size_t cap);

/* ---- allowed keys ---- */
struct seal_allowed;

/* Parses the text (not NUL-terminated; NUL bytes are a bad line). */
UDPKIT_API int seal_allowed_parse(struct seal_allowed **out, const char *text, size_t len,
		       size_t *bad_line);
UDPKIT_API void seal_allowed_free(struct seal_allowed *a);
UDPKIT_API size_t seal_allowed_count(const struct seal_allowed *a);
/* The index of pub in the list, or UDP_ESEAL_WRONGKEY when it is not
 * there; *name (may be NULL) gets its name, "" when it has none. */
UDPKIT_API int seal_allowed_find(const struct seal_allowed *a, const uint8_t pub[SEAL_IDENT_KEY],
		      const char **name);
/* Entry i: its key into pub, its name into *name. */
UDPKIT_API int seal_allowed_get(const struct seal_allowed *a, size_t i, uint8_t pub[SEAL_IDENT_KEY],
		     const char **name);

#ifdef __cplusplus
}
#endif

#endif
