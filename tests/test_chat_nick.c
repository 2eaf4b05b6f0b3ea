/* cmocka tests for nicknames that cannot pass for another's by look
 * (chat/chat_nick.h, docs/CHAT.md "Names"): what we may call ourselves,
 * how a peer's nick that breaks the rules is shown, and how wide the id
 * suffix gets when two names look alike. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chat_nick.h"
#include "chat_roster.h"
#include "chat_wire.h"
#include "udp_err.h"

static int ok(const char *nick)
{
	return chat_nick_check(nick, strlen(nick), NULL, 0) == 0;
}

static void plain_and_single_script_nicks_pass(void **state)
{
	(void)state;
	assert_true(ok("alice"));
	assert_true(ok("Bob_2"));
	assert_true(ok("j\xc3\xb6rg"));                      /* jörg: Latin-1 letters */
	assert_true(ok("\xd0\xb0\xd0\xbb\xd0\xb8\xd1\x81\xd0\xb0")); /* алиса: all Cyrillic */
	assert_true(ok("\xce\xb1\xce\xb2\xce\xb3"));          /* αβγ: all Greek */
	assert_true(ok("\xe5\xa4\xaa\xe9\x83\x8e"));          /* 太郎: no look-alike script */
	assert_true(ok("\xd0\xb0\xd0\xbb\xd0\xb8\xd1\x81\xd0\xb0" "42")); /* digits are neutral */
}

static void bidi_and_zero_width_refused(void **state)
{
	(void)state;
	char why[160];
	/* U+202E RIGHT-TO-LEFT OVERRIDE: "evil" + RLO + "cod.exe" */
	const char *rlo = "evil\xe2\x80\xae" "cod";
	assert_int_equal(chat_nick_check(rlo, strlen(rlo), why, sizeof why), UDP_EINVAL);
	assert_non_null(strstr(why, "U+202E"));
	assert_non_null(strstr(why, "bidi"));
	assert_false(ok("a\xe2\x81\xa6" "b"));   /* U+2066 LRI, an isolate */
	assert_false(ok("a\xe2\x81\xa9" "b"));   /* U+2069 PDI */
	assert_false(ok("a\xe2\x80\x8f" "b"));   /* U+200F RLM */
	assert_false(ok("a\xd8\x9c" "b"));       /* U+061C ALM */
	const char *zw = "al\xe2\x80\x8bice";  /* U+200B ZERO WIDTH SPACE */
	assert_int_equal(chat_nick_check(zw, strlen(zw), why, sizeof why), UDP_EINVAL);
	assert_non_null(strstr(why, "zero-width"));
	assert_false(ok("al\xe2\x80\x8d" "ice"));  /* U+200D ZWJ */
	assert_false(ok("al\xe2\x81\xa0" "ice"));  /* U+2060 WORD JOINER */
	assert_false(ok("\xef\xbb\xbf" "alice"));  /* U+FEFF BOM */
	assert_false(ok("al\xc2\xad" "ice"));      /* U+00AD SOFT HYPHEN (Cf) */
	assert_false(ok("a\xc2\x85" "b"));         /* U+0085 NEL (C1 control) */
	assert_false(ok("a\xc2\xa0" "b"));         /* U+00A0 NO-BREAK SPACE */
	assert_false(ok("a\xe3\x80\x80" "b"));     /* U+3000 IDEOGRAPHIC SPACE */
	assert_false(ok("a\xef\xb8\x8f"));         /* U+FE0F VARIATION SELECTOR-16 */
	assert_false(ok("a\xf3\xa0\x80\x81"));     /* U+E0001 LANGUAGE TAG */
	assert_false(ok("a\xee\x80\x80"));         /* U+E000 private use */
}

static void invalid_utf8_refused(void **state)
{
	(void)state;
	char why[160];
	assert_int_equal(chat_nick_check("a\xff", 2, why, sizeof why), UDP_EINVAL);
	assert_non_null(strstr(why, "UTF-8"));
	assert_false(ok("a\xc0\xaf"));             /* overlong '/' */
	assert_false(ok("a\xed\xa0\x80"));         /* a surrogate */
	assert_false(ok("a\xe2\x80"));             /* cut short */
	assert_false(ok("a\xf4\x90\x80\x80"));     /* above U+10FFFF */
	assert_false(ok("\x80" "abc"));            /* a lone continuation byte */
}

static void mixed_scripts_refused(void **state)
{
	(void)state;
	char why[160];
	const char *cyr_a = "\xd0\xb0lice";        /* Cyrillic а + "lice" */
	assert_int_equal(chat_nick_check(cyr_a, strlen(cyr_a), why, sizeof why), UDP_EINVAL);
	assert_non_null(strstr(why, "scripts"));
	assert_false(ok("b\xce\xbf" "b"));          /* Greek omicron in "bob" */
	assert_false(ok("\xef\xbd\x81" "lice"));    /* fullwidth a */
	assert_false(ok("\xf0\x9d\x90\x9a" "lice")); /* MATHEMATICAL BOLD SMALL A */
	assert_false(ok("\xd0\xb0\xce\xb1"));       /* Cyrillic and Greek */
	/* the wire rules still apply */
	assert_false(ok("a b"));
	assert_false(ok("a#b"));
	assert_false(ok("/x"));
	assert_false(ok(""));
}

static void peers_nicks_shown_escaped(void **state)
{
	(void)state;
	char out[CHAT_NICK_SHOW_MAX];
	chat_nick_display("alice", out, sizeof out);
	assert_string_equal(out, "alice");
	chat_nick_display("j\xc3\xb6rg", out, sizeof out);
	assert_string_equal(out, "j\xc3\xb6rg");
	chat_nick_display("evil\xe2\x80\xae" "cod", out, sizeof out);
	assert_string_equal(out, "evil\\u202Ecod");
	chat_nick_display("al\xe2\x80\x8bice", out, sizeof out);
	assert_string_equal(out, "al\\u200Bice");
	chat_nick_display("a\xff" "b", out, sizeof out);
	assert_string_equal(out, "a\\xffb");
	/* mixed scripts: every non-ASCII code point, so the Cyrillic а shows */
	chat_nick_display("\xd0\xb0lice", out, sizeof out);
	assert_string_equal(out, "\\u0430lice");
	chat_nick_display("a\xf3\xa0\x80\x81", out, sizeof out);
	assert_string_equal(out, "a\\U000E0001");
	/* the worst case fits: 32 bytes that are not UTF-8 */
	char bad[CHAT_NICK_MAX + 1];
	memset(bad, 0xff, CHAT_NICK_MAX);
	bad[CHAT_NICK_MAX] = '\0';
	assert_int_equal(chat_nick_display(bad, out, sizeof out), 4 * CHAT_NICK_MAX);
	/* and a short buffer is cut, never overrun */
	assert_int_equal(chat_nick_display(bad, out, 6), 5);
}

static void look_alikes(void **state)
{
	(void)state;
	assert_true(chat_nick_same_look("alice", "alice"));
	assert_true(chat_nick_same_look("alice", "\xd0\xb0lice"));
	assert_true(chat_nick_same_look("alice", "al\xe2\x80\x8bice"));
	assert_true(chat_nick_same_look("alice", "a1ice"));
	assert_true(chat_nick_same_look("alice", "aIice"));
	assert_true(chat_nick_same_look("bob", "b0b"));
	assert_true(chat_nick_same_look("bob", "b\xce\xbf" "b"));
	assert_true(chat_nick_same_look("alice", "\xef\xbd\x81lice"));
	assert_false(chat_nick_same_look("alice", "alicia"));
	assert_false(chat_nick_same_look("bob", "Bob"));
}

/* "аlice#3fa2" (Cyrillic а, chosen id prefix) beside "alice#3fa2": both
 * get at least 8 digits, and the Cyrillic one is shown escaped. */
static void collisions_widen_the_id(void **state)
{
	(void)state;
	struct chat_roster_config c;
	chat_roster_config_default(&c);
	struct chat_roster *r = NULL;
	assert_int_equal(chat_roster_new(&r, &c), 0);
	uint64_t real = 0x3fa2c79b05640001ull, fake = 0x3fa2000000000002ull;
	assert_int_equal(chat_roster_add(r, real, "alice", 1, 0), 0);
	assert_int_equal(chat_roster_add(r, fake, "\xd0\xb0lice", 2, 0), 0);
	assert_int_equal(chat_roster_add(r, 0x3fa2000000000003ull, "carol", 3, 0), 0);
	char b[CHAT_NAME_MAX];
	chat_roster_name(r, 0, NULL, real, "alice", b, sizeof b);
	assert_string_equal(b, "alice#3fa2c79b");
	chat_roster_name(r, 0, NULL, fake, "\xd0\xb0lice", b, sizeof b);
	assert_string_equal(b, "\\u0430lice#3fa20000");
	chat_roster_name(r, 0, NULL, 0x3fa2000000000003ull, "carol", b, sizeof b);
	assert_string_equal(b, "carol#3fa2"); /* nothing like it: 4 digits */
	/* a zero-width copy, and a copy of ourselves */
	assert_int_equal(chat_roster_add(r, 0x1234000000000004ull, "car\xe2\x80\x8bol", 4, 0), 0);
	chat_roster_name(r, 0, NULL, 0x3fa2000000000003ull, "carol", b, sizeof b);
	assert_string_equal(b, "carol#3fa20000");
	chat_roster_name(r, 0, NULL, 0x1234000000000004ull, "car\xe2\x80\x8bol", b, sizeof b);
	assert_string_equal(b, "car\\u200Bol#12340000");
	chat_roster_name(r, 0x9999000000000000ull, "a1ice", real, "alice", b, sizeof b);
	assert_string_equal(b, "alice#3fa2c79b");
	chat_roster_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_and_single_script_nicks_pass),
		cmocka_unit_test(bidi_and_zero_width_refused),
		cmocka_unit_test(invalid_utf8_refused),
		cmocka_unit_test(mixed_scripts_refused),
		cmocka_unit_test(peers_nicks_shown_escaped),
		cmocka_unit_test(look_alikes),
		cmocka_unit_test(collisions_widen_the_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
