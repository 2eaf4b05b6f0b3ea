/* chat_nick.c - nicknames that cannot pass for someone else's by look
 * (see chat_nick.h).  No Unicode tables: the ranges below are the few
 * that matter for looking alike, chosen by hand; a code point outside
 * them is allowed (an unassigned one too: we cannot know). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chat_wire.h"
#include "chat_nick.h"
#include "udp_err.h"

/* Decodes the UTF-8 sequence at s (n > 0 bytes left): its length, and the
 * code point in *cp; 0 when the byte at s starts no valid sequence (no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
size_t chat_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	uint32_t v = c & (0x3fu >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

struct range {
	uint32_t lo, hi;
	const char *what;
};

/* Characters that draw nothing, move text around, or look like nothing. */
static const struct range banned[] = {
	{ 0x0000, 0x001f, "a control character" },
	{ 0x007f, 0x009f, "a control character" },
	{ 0x00a0, 0x00a0, "a blank" },
	{ 0x00ad, 0x00ad, "an invisible format character" },
	{ 0x034f, 0x034f, "a zero-width character" },
	{ 0x0600, 0x0605, "a format character" },
	{ 0x061c, 0x061c, "a bidi control" },
	{ 0x06dd, 0x06dd, "a format character" },
	{ 0x070f, 0x070f, "a format character" },
	{ 0x0890, 0x0891, "a format character" },
	{ 0x08e2, 0x08e2, "a format character" },
	{ 0x115f, 0x1160, "a blank" },
	{ 0x1680, 0x1680, "a blank" },
	{ 0x17b4, 0x17b5, "a zero-width character" },
	{ 0x180b, 0x180f, "a zero-width character" },
	{ 0x2000, 0x200a, "a blank" },
	{ 0x200b, 0x200d, "a zero-width character" },
	{ 0x200e, 0x200f, "a bidi control" },
	{ 0x2028, 0x2029, "a line separator" },
	{ 0x202a, 0x202e, "a bidi control" },
	{ 0x202f, 0x202f, "a blank" },
	{ 0x205f, 0x205f, "a blank" },
	{ 0x2060, 0x2065, "a zero-width character" },
	{ 0x2066, 0x2069, "a bidi control" },
	{ 0x206a, 0x206f, "a format character" },
	{ 0x2800, 0x2800, "a blank" },
	{ 0x3000, 0x3000, "a blank" },
	{ 0x3164, 0x3164, "a blank" },
	{ 0xe000, 0xf8ff, "a private-use character" },
	{ 0xfdd0, 0xfdef, "a noncharacter" },
	{ 0xfe00, 0xfe0f, "a variation selector" },
	{ 0xfeff, 0xfeff, "a zero-width character" },
	{ 0xffa0, 0xffa0, "a blank" },
	{ 0xfff9, 0xfffb, "a format character" },
	{ 0x110bd, 0x110bd, "a format character" },
	{ 0x110cd, 0x110cd, "a format character" },
	{ 0x13430, 0x1343f, "a format character" },
	{ 0x1bca0, 0x1bca3, "a format character" },
	{ 0x1d173, 0x1d17a, "a format character" },
	{ 0xe0000, 0xe007f, "a tag character" },
	{ 0xe0100, 0xe01ef, "a variation selector" },
	{ 0xf0000, 0x10ffff, "a private-use character" },
};

static const char *banned_what(uint32_t cp)
{
	if ((cp & 0xfffe) == 0xfffe)
		return "a noncharacter";
	for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
		if (cp >= banned[i].lo && cp <= banned[i].hi)
			return banned[i].what;
	return NULL;
}

/* Scripts whose letters look alike; a nick may use letters of one. */
enum { S_LATIN = 1, S_GREEK = 2, S_CYRILLIC = 4, S_ARMENIAN = 8, S_CHEROKEE = 16,
       S_FULLWIDTH = 32, S_MATH = 64 };

static const struct {
	uint32_t lo, hi;
	int script;
} letters[] = {
	{ 'A', 'Z', S_LATIN },         { 'a', 'z', S_LATIN },
	{ 0x00c0, 0x00d6, S_LATIN },   { 0x00d8, 0x00f6, S_LATIN },
	{ 0x00f8, 0x024f, S_LATIN },   { 0x1e00, 0x1eff, S_LATIN },
	{ 0x2c60, 0x2c7f, S_LATIN },   { 0xa720, 0xa7ff, S_LATIN },
	{ 0xab30, 0xab6f, S_LATIN },   { 0x0370, 0x03ff, S_GREEK },
	{ 0x1f00, 0x1fff, S_GREEK },   { 0x0400, 0x052f, S_CYRILLIC },
	{ 0x1c80, 0x1c8f, S_CYRILLIC }, { 0x2de0, 0x2dff, S_CYRILLIC },
	{ 0xa640, 0xa69f, S_CYRILLIC }, { 0x0530, 0x058f, S_ARMENIAN },
	{ 0x13a0, 0x13ff, S_CHEROKEE }, { 0xab70, 0xabbf, S_CHEROKEE },
	{ 0xff21, 0xff3a, S_FULLWIDTH }, { 0xff41, 0xff5a, S_FULLWIDTH },
	{ 0x1d400, 0x1d7ff, S_MATH },
};

static int script_of(uint32_t cp)
{
	for (size_t i = 0; i < sizeof letters / sizeof letters[0]; i++)
		if (cp >= letters[i].lo && cp <= letters[i].hi)
			return letters[i].script;
	return 0;
}

/* Scripts used by nick's letters; *bad: the first code point that is
 * banned or not UTF-8 (-1 for a byte), 0 when none. */
static int nick_scan(const char *nick, size_t len, int64_t *bad)
{
	const unsigned char *s = (const unsigned char *)nick;
	int scripts = 0;
	*bad = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = chat_utf8_next(s + i, len - i, &cp);
		if (!k) {
			if (!*bad)
				*bad = -1 - (int64_t)s[i];
			i++;
			continue;
		}
		if (!*bad && banned_what(cp))
			*bad = cp ? (int64_t)cp : 0x10ffff + 1;
		scripts |= script_of(cp);
		i += k;
	}
	return scripts;
}

static int mixed(int scripts)
{
	return (scripts & (scripts - 1)) != 0;
}

int chat_nick_check(const char *nick, size_t len, char *why, size_t cap)
{
	char tmp[1];
	if (!why || !cap)
		why = tmp, cap = sizeof tmp;
	if (!nick || !chat_nick_valid(nick, len)) {
		snprintf(why, cap, "must be 1-%d bytes without spaces, '#', quotes or backslash, "
			 "not starting with '/'", CHAT_NICK_MAX);
		return UDP_EINVAL;
	}
	int64_t bad;
	int scripts = nick_scan(nick, len, &bad);
	if (bad < 0) {
		snprintf(why, cap, "is not valid UTF-8 (byte 0x%02x)", (unsigned)(-1 - bad));
		return UDP_EINVAL;
	}
	if (bad) {
		uint32_t cp = bad > 0x10ffff ? 0 : (uint32_t)bad;
		snprintf(why, cap, "contains U+%04X (%s)", (unsigned)cp, banned_what(cp));
		return UDP_EINVAL;
	}
	if (mixed(scripts)) {
		snprintf(why, cap, "mixes letters of different scripts (Latin, Greek, Cyrillic, "
			 "...) that look alike");
		return UDP_EINVAL;
	}
	return 0;
}

static void put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (*pos >= cap)
		return;
	if (n > cap - 1 - *pos)
		n = cap - 1 - *pos;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
}

size_t chat_nick_display(const char *nick, char *out, size_t cap)
{
	if (!cap)
		return 0;
	out[0] = '\0';
	size_t len = strnlen(nick, CHAT_NICK_MAX + 1), pos = 0;
	int64_t bad;
	int mix = mixed(nick_scan(nick, len, &bad));
	const unsigned char *s = (const unsigned char *)nick;
	for (size_t i = 0; i < len;) {
		char esc[16];
		uint32_t cp;
		size_t k = chat_utf8_next(s + i, len - i, &cp);
		if (!k) {
			snprintf(esc, sizeof esc, "\\x%02x", s[i]);
			put(out, cap, &pos, esc, strlen(esc));
			i++;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || banned_what(cp) || (mix && cp >= 0x80)) {
			snprintf(esc, sizeof esc, cp > 0xffff ? "\\U%08X" : "\\u%04X", (unsigned)cp);
			put(out, cap, &pos, esc, strlen(esc));
		} else {
			put(out, cap, &pos, nick + i, k);
		}
		i += k;
	}
	return pos;
}

/* Look-alike letters of Cyrillic and Greek, and what they look like. */
static const struct {
	uint16_t cp;
	char as;
} fold[] = {
	{ 0x0430, 'a' }, { 0x0435, 'e' }, { 0x043e, 'o' }, { 0x0440, 'p' }, { 0x0441, 'c' },
	{ 0x0443, 'y' }, { 0x0445, 'x' }, { 0x0456, 'i' }, { 0x0458, 'j' }, { 0x0455, 's' },
	{ 0x04bb, 'h' }, { 0x0501, 'd' }, { 0x051b, 'q' }, { 0x051d, 'w' }, { 0x04cf, 'l' },
	{ 0x04af, 'y' }, { 0x0410, 'A' }, { 0x0412, 'B' }, { 0x0415, 'E' }, { 0x041a, 'K' },
	{ 0x041c, 'M' }, { 0x041d, 'H' }, { 0x041e, 'O' }, { 0x0420, 'P' }, { 0x0421, 'C' },
	{ 0x0422, 'T' }, { 0x0425, 'X' }, { 0x0406, 'I' }, { 0x0408, 'J' }, { 0x0405, 'S' },
	{ 0x04ae, 'Y' }, { 0x03bf, 'o' }, { 0x03b1, 'a' }, { 0x03bd, 'v' }, { 0x03c1, 'p' },
	{ 0x03b9, 'i' }, { 0x03ba, 'k' }, { 0x03c5, 'u' }, { 0x0391, 'A' }, { 0x0392, 'B' },
	{ 0x0395, 'E' }, { 0x0396, 'Z' }, { 0x0397, 'H' }, { 0x0399, 'I' }, { 0x039a, 'K' },
	{ 0x039c, 'M' }, { 0x039d, 'N' }, { 0x039f, 'O' }, { 0x03a1, 'P' }, { 0x03a4, 'T' },
	{ 0x03a5, 'Y' }, { 0x03a7, 'X' }, { 0x0585, 'o' }, { 0x057d, 'u' },
};

/* The skeleton of a nick: what it looks like, as bytes. */
static size_t skeleton(const char *nick, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)nick;
	size_t len = strnlen(nick, CHAT_NICK_MAX + 1), pos = 0;
	for (size_t i = 0; i < len && pos + 4 < cap;) {
		uint32_t cp;
		size_t k = chat_utf8_next(s + i, len - i, &cp);
		if (!k) {
			out[pos++] = (char)s[i++];
			continue;
		}
		i += k;
		if (banned_what(cp))
			continue; /* draws nothing */
		if (cp >= 0xff01 && cp <= 0xff5e)
			cp -= 0xfee0; /* fullwidth ASCII */
		for (size_t f = 0; f < sizeof fold / sizeof fold[0]; f++)
			if (fold[f].cp == cp)
				cp = (unsigned char)fold[f].as;
		if (cp == 'I' || cp == '1' || cp == '|')
			cp = 'l';
		else if (cp == '0' || cp == 'O')
			cp = 'o';
		if (cp < 0x80) {
			out[pos++] = (char)cp;
		} else { /* kept as it is: its UTF-8 bytes */
			memcpy(out + pos, s + i - k, k);
			pos += k;
		}
	}
	out[pos] = '\0';
	return pos;
}

int chat_nick_same_look(const char *a, const char *b)
{
	char sa[CHAT_NICK_MAX * 4 + 8], sb[CHAT_NICK_MAX * 4 + 8];
	skeleton(a, sa, sizeof sa);
	skeleton(b, sb, sizeof sb);
	return strcmp(sa, sb) == 0;
}
