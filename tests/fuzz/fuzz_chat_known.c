/* fuzz_chat_known.c - udpchat's known-peers file (chat_known_parse) on
 * arbitrary text.
 *
 * Invariants: the parser never reads past the text (an exact-size copy,
 * so ASan sees one byte too many); a refusal is UDP_EINVAL naming a line
 * that exists, and leaves the list as it was; an accepted list formats to
 * a text that parses back to the same list and formats to the same bytes
 * (what udpchat writes, it reads back as it was); every entry it holds is
 * found again with its own key, and looking up arbitrary nicks and keys,
 * or binding them (/trust), never breaks any of that.  The parse is from
 * memory: the file reader (chat_known_load) only adds read(2) around it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat_known.h"
#include "seal_ident.h"
#include "udp_err.h"

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for the whole text of k: header and one line per entry. */
static size_t text_cap(const struct chat_known *k)
{
	return 256 + chat_known_count(k) * (CHAT_NICK_MAX + 64);
}

/* Formats k, parses that into a fresh list, and checks both agree; the
 * text (malloc'd) and its length are returned for the caller to compare. */
static char *round_trip(const struct chat_known *k, int *len)
{
	size_t cap = text_cap(k);
	char *t = malloc(cap), *t2 = malloc(cap);
	check(t && t2);
	int n = chat_known_format(k, t, cap);
	check(n > 0 && (size_t)n < cap);
	struct chat_known *k2 = NULL;
	size_t bad = 0;
	check(chat_known_new(&k2) == 0);
	check(chat_known_parse(k2, t, (size_t)n, &bad) == 0);
	check(chat_known_count(k2) == chat_known_count(k));
	int n2 = chat_known_format(k2, t2, cap);
	check(n2 == n && memcmp(t, t2, (size_t)n) == 0);
	/* each line of the text is an entry of both lists, with its key */
	for (const char *p = memchr(t, '\n', (size_t)n) + 1; p < t + n;) {
		const char *sp = memchr(p, ' ', (size_t)(t + n - p));
		const char *nl = memchr(p, '\n', (size_t)(t + n - p));
		check(sp && nl && sp < nl);
		char nick[CHAT_NICK_MAX + 1];
		uint8_t key[CHAT_KEY_LEN], old[CHAT_KEY_LEN];
		check((size_t)(sp - p) <= CHAT_NICK_MAX);
		memcpy(nick, p, (size_t)(sp - p));
		nick[sp - p] = '\0';
		check(seal_ident_pub_parse(key, sp + 1, (size_t)(nl - sp - 1)) == 0);
		check(chat_known_check(k, nick, key, old) == CHAT_KNOWN_SAME);
		check(memcmp(old, key, CHAT_KEY_LEN) == 0);
		check(chat_known_check(k2, nick, key, NULL) == CHAT_KNOWN_SAME);
		p = nl + 1;
	}
	chat_known_free(k2);
	free(t2);
	*len = n;
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	check(text);
	memcpy(text, data, size);
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';

	struct chat_known *k = NULL;
	check(chat_known_new(&k) == 0);
	size_t bad = 0;
	int rc = chat_known_parse(k, size ? text : NULL, size, &bad);
	if (rc < 0) {
		check(rc == UDP_EINVAL);
		check(bad >= 1 && bad <= lines);
		check(chat_known_count(k) == 0);
	} else {
		check(chat_known_count(k) <= lines);
		int n1;
		char *t1 = round_trip(k, &n1);
		/* the same text again: every entry it has is a nick given
		 * twice, so it fails whole, and the list stays as it was */
		size_t before = chat_known_count(k);
		rc = chat_known_parse(k, text, size, &bad);
		check(before == 0 ? rc == 0 : rc == UDP_EINVAL);
		check(chat_known_count(k) == before);
		int n2;
		char *t2 = round_trip(k, &n2);
		check(n1 == n2 && memcmp(t1, t2, (size_t)n1) == 0);
		free(t1);
		free(t2);
	}

	/* lookups and /trust of a nick and key cut from the input: the
	 * first 33 bytes (a NUL ends the nick early), the last 32 the key */
	char nick[CHAT_NICK_MAX + 2] = {0};
	uint8_t key[CHAT_KEY_LEN] = {0}, old[CHAT_KEY_LEN];
	memcpy(nick, data, size < CHAT_NICK_MAX + 1 ? size : CHAT_NICK_MAX + 1);
	memcpy(key, data + (size > CHAT_KEY_LEN ? size - CHAT_KEY_LEN : 0),
	       size < CHAT_KEY_LEN ? size : CHAT_KEY_LEN);
	enum chat_known_match m = chat_known_check(k, nick, key, old);
	check(m == CHAT_KNOWN_NEW || m == CHAT_KNOWN_SAME || m == CHAT_KNOWN_OTHER);
	if (m == CHAT_KNOWN_SAME)
		check(memcmp(old, key, CHAT_KEY_LEN) == 0);
	size_t before = chat_known_count(k);
	rc = chat_known_set(k, nick, key);
	if (rc == 0) {
		check(chat_known_count(k) == before + (m == CHAT_KNOWN_NEW));
		check(chat_known_check(k, nick, key, NULL) == CHAT_KNOWN_SAME);
		/* a bound nick is one the file can hold: it survives the text */
		int n;
		free(round_trip(k, &n));
	} else {
		check(rc == UDP_EINVAL && m == CHAT_KNOWN_NEW);
		check(chat_known_count(k) == before);
	}
	chat_known_free(k);
	free(text);
	return 0;
}
