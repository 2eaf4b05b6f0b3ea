/* seal_key.h - the shared key of a sealed group: key files, passphrases,
 * subkeys, key ids.
 *
 * A key is 32 secret bytes in sodium_malloc memory (guard pages, mlock'ed,
 * excluded from core dumps where the kernel allows, read-only after it is
 * set) and wiped with sodium_memzero by seal_key_free().  struct seal_key is
 * opaque; the caller owns what a constructor returns and frees it.
 *
 * Key file format (like WireGuard's): the 32 bytes in standard base64 with
 * padding (44 characters) and one newline, 45 bytes in all.  Files are
 * created with mode 0600 (O_CREAT|O_EXCL|O_NOFOLLOW, then fchmod, so the
 * umask cannot widen it) and refused on load when they are a symlink, not
 * a regular file, owned by another user than the effective one,
 * accessible to group or other (any of mode 077), or not exactly that
 * format.
 *
 * Passphrases become keys with Argon2id (crypto_pwhash, ALG_ARGON2ID13,
 * OPSLIMIT_MODERATE = 3 passes, MEMLIMIT_MODERATE = 256 MiB: under a second,
 * a cost paid once at start-up, and 256 MiB per guess for an attacker).
 * The salt is BLAKE2b("udpkit group salt v1" NUL group name) cut to 16
 * bytes, so every member of a group derives the same key from the same
 * passphrase, and the same passphrase gives unrelated keys in different
 * groups.  The group name has no default anywhere (the tools require
 * --group): a shared default would let one guess table serve every user
 * of it.  Keys derived before the moderate preset (udpkit <= session 3,
 * interactive preset) differ: re-derive on every member.
 *
 * Subkeys come from crypto_kdf (BLAKE2b) with context "udpkit01" and a
 * numeric id: sealing, the reliable layer's cookie secret and the key id
 * never share key material.  The key id is 4 bytes of subkey
 * SEAL_KEY_SUB_KEYID: safe to show and compare, it reveals nothing usable
 * about the key (it is a keyed hash of it). */
#ifndef SEAL_KEY_H
#define SEAL_KEY_H

#include <stddef.h>
#include <stdint.h>
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEAL_KEY_BYTES 32
#define SEAL_KEY_B64_LEN 44          /* base64 characters, without newline */
#define SEAL_KEY_TEXT_SIZE (SEAL_KEY_B64_LEN + 2) /* + newline + NUL */
#define SEAL_KEY_PASSPHRASE_MAX 4096
/* Shortest passphrase seal_key_derive() takes.  Argon2id slows each guess
 * but cannot save a short passphrase: 12 bytes is where even a lazy
 * choice (lower-case letters, ~4.7 bits each: 2^56) costs an attacker
 * years of moderate-preset guesses, and a few random words pass it. */
#define SEAL_KEY_PASSPHRASE_MIN 12
#define SEAL_KEY_GROUP_MAX 255

/* Subkey ids for seal_key_subkey(). */
enum {
	SEAL_KEY_SUB_SEAL = 1,   /* AEAD key of seal */
	SEAL_KEY_SUB_COOKIE = 2, /* reliable layer's stateless-cookie secret */
	SEAL_KEY_SUB_KEYID = 3,  /* source of the public key id */
	SEAL_KEY_SUB_SEAL_GCM = 4, /* root of seal's per-session aes256gcm keys */
	SEAL_KEY_SUB_PSK = 5,    /* Noise IKpsk2 admission secret of identity sessions (rel_ident) */
};

struct seal_key;

/* Fresh random key (randombytes_buf). */
UDPKIT_API int seal_key_generate(struct seal_key **out);
/* Key from raw bytes (tests, or a caller that has its own storage). */
UDPKIT_API int seal_key_from_bytes(struct seal_key **out, const uint8_t bytes[SEAL_KEY_BYTES]);
/* Key from its text form: exactly 44 base64 characters, optionally one
 * trailing newline.  UDP_ESEAL_KEYFILE_FORMAT otherwise. */
UDPKIT_API int seal_key_from_text(struct seal_key **out, const char *text, size_t len);
/* Decodes exactly 44 base64 characters (no newline) into 32 bytes,
 * accepting only the one canonical text of each key.  On error out holds
 * nothing of the text: wiped once decoding began, untouched when the
 * length (or an argument) was wrong.
 * Shared with seal_ident (identity and public keys use the same text).
 * 0 or UDP_ESEAL_KEYFILE_FORMAT. */
UDPKIT_API int seal_key_decode_b64(uint8_t out[SEAL_KEY_BYTES], const char *text, size_t len);
/* Loads a key file, checking link/type/permissions/format (see above). */
UDPKIT_API int seal_key_load(struct seal_key **out, const char *path);
/* Derives a key from a passphrase (SEAL_KEY_PASSPHRASE_MIN ..
 * SEAL_KEY_PASSPHRASE_MAX bytes) and a group name (Argon2id, moderate:
 * about 0.7 s and 256 MiB).  UDP_ESEAL_PASSPHRASE_SHORT below the minimum,
 * UDP_ESEAL_PASSPHRASE when empty or too long, UDP_ESEAL_GROUP. */
UDPKIT_API int seal_key_derive(struct seal_key **out, const char *group,
		   const char *passphrase, size_t passlen);
UDPKIT_API void seal_key_free(struct seal_key *k);

/* Writes "<44 base64 chars>\n" plus a NUL into buf (cap >=
 * SEAL_KEY_TEXT_SIZE); returns 45, the length without the NUL.  The text is
 * secret: wipe it with sodium_memzero when done. */
UDPKIT_API int seal_key_format(const struct seal_key *k, char *buf, size_t cap);
/* Creates `path` with mode 0600 holding the key file text; refuses an
 * existing path (UDP_ESEAL_KEYFILE_EXISTS) or a symlink, never overwrites. */
UDPKIT_API int seal_key_save(const struct seal_key *k, const char *path);

/* Fills out[0..len) with subkey `id` (len 16..64). */
UDPKIT_API int seal_key_subkey(const struct seal_key *k, uint64_t id, uint8_t *out, size_t len);
/* The public 32-bit key id carried in sealed headers. */
UDPKIT_API uint32_t seal_key_id(const struct seal_key *k);

/* Reads a small secret file (a passphrase file) into buf with the same
 * checks as a key file (no symlink, regular, our own, mode & 077 == 0).  Strips
 * one trailing "\n" or "\r\n".  Returns the length, NUL-terminates; the
 * caller wipes buf.  UDP_ESEAL_KEYFILE_EMPTY when nothing is left. */
UDPKIT_API int seal_key_read_secret_file(const char *path, char *buf, size_t cap);

/* Process-wide hardening for a process about to hold a key: sets
 * RLIMIT_CORE to 0 and prctl(PR_SET_DUMPABLE, 0) so no core dump or
 * same-user ptrace/proc read exposes key memory.  This changes the whole
 * process (it is not undone by seal_key_free, and makes /proc/self/ files
 * root-owned), so it is a separate call the tools make once at start-up,
 * not something the constructors do behind a library user's back.
 * Returns 0 or UDP_ESYS. */
UDPKIT_API int seal_key_protect_process(void);

#ifdef __cplusplus
}
#endif

#endif
