/* chat_nick.h - nicknames that cannot pass for someone else's by look
 * (docs/CHAT.md, "Names").
 *
 * Two levels.  On the wire a nick only has to keep the packet parseable
 * (chat_nick_valid in chat_wire.h).  A nick we take for ourselves, at
 * start or with /nick, must also pass chat_nick_check: valid UTF-8; no
 * control or format characters (Unicode Cc, Cf: bidi overrides and
 * isolates, zero-width characters, the BOM), no other blanks, variation
 * selectors, private-use or noncharacters; and not mixing letters of
 * Latin, Greek, Cyrillic, fullwidth or mathematical forms (the scripts
 * whose letters look alike).  A peer's nick that fails the check is shown
 * escaped (chat_nick_display), never raw. */
#ifndef CHAT_NICK_H
#define CHAT_NICK_H

#include <stddef.h>
#include <stdint.h>

/* 0 when nick (len bytes) may be ours; UDP_EINVAL otherwise, with a
 * one-line reason in why (cap bytes, may be NULL), e.g.
 * "contains U+202E (a bidi control)". */
int chat_nick_check(const char *nick, size_t len, char *why, size_t cap);

/* The nick as shown: itself when it passes chat_nick_check, else with each
 * offending code point as \uXXXX (\UXXXXXXXX above U+FFFF) and each byte
 * that is not UTF-8 as \xNN; when letters of several scripts are mixed,
 * every non-ASCII code point is escaped.  A backslash never appears in a
 * nick on the wire, so an escaped name cannot be typed as a nick.
 * Returns the length written (NUL-terminated, cut to cap). */
#define CHAT_NICK_SHOW_MAX (CHAT_NICK_MAX * 4 + 1)
size_t chat_nick_display(const char *nick, char *out, size_t cap);

/* 1 when a and b look alike: equal after dropping invisible characters,
 * folding look-alike letters (Cyrillic and Greek to Latin, fullwidth to
 * ASCII) and the digits/letters 0/O/o and 1/I/l/|. */
int chat_nick_same_look(const char *a, const char *b);

/* The code point of the valid UTF-8 sequence at s (n bytes left, n >= 1)
 * in *cp, and its length; 0 if invalid (overlong, surrogate, above
 * U+10FFFF, cut short).  Shared with the tools' escaping. */
size_t chat_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

#endif
