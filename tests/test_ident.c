/* cmocka tests for seal_ident: identity files, key texts, fingerprints and
 * the allowed-keys parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_ident.h"
#include "seal_noise.h"
#include "support_tmpdir.h"

static void put(const char *name, const char *text, mode_t mode)
{
	int fd = open(tmpdir_path(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* RFC 7748 section 6.1: Alice's X25519 key pair, as base64. */
static const uint8_t ALICE_PRIV[32] = {
	0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
	0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
static const uint8_t ALICE_PUB[32] = {
	0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
	0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};

static void pub_of_private(void **state)
{
	(void)state;
	struct seal_ident *id;
	assert_int_equal(seal_ident_from_bytes(&id, ALICE_PRIV), 0);
	assert_memory_equal(seal_ident_public(id), ALICE_PUB, 32);
	assert_memory_equal(seal_ident_private(id), ALICE_PRIV, 32);
	seal_ident_free(id);
	seal_ident_free(NULL);
}

static void pub_text_roundtrip(void **state)
{
	(void)state;
	char text[SEAL_IDENT_TEXT_SIZE];
	assert_int_equal(seal_ident_pub_format(ALICE_PUB, text, sizeof text), 44);
	assert_int_equal(strlen(text), 44);
	uint8_t back[32];
	assert_int_equal(seal_ident_pub_parse(back, text, 44), 0);
	assert_memory_equal(back, ALICE_PUB, 32);
	char nl[46];
	snprintf(nl, sizeof nl, "%s\n", text);
	assert_int_equal(seal_ident_pub_parse(back, nl, 45), 0);
	/* wrong length, bad character, non-canonical last character */
	assert_int_equal(seal_ident_pub_parse(back, text, 43), UDP_ESEAL_KEYFILE_FORMAT);
	text[5] = '*';
	assert_int_equal(seal_ident_pub_parse(back, text, 44), UDP_ESEAL_KEYFILE_FORMAT);
	assert_int_equal(seal_ident_pub_format(ALICE_PUB, text, sizeof text), 44);
	text[42] ^= 1; /* leftover bits of the last character change */
	assert_int_not_equal(seal_ident_pub_parse(back, text, 44) == 0 &&
			     memcmp(back, ALICE_PUB, 32) == 0, 1);
	assert_int_equal(seal_ident_pub_format(ALICE_PUB, text, 44), UDP_ENOSPACE);
}

static void fingerprint(void **state)
{
	(void)state;
	char f[SEAL_IDENT_FPR_SIZE];
	assert_int_equal(seal_ident_fingerprint(ALICE_PUB, f, sizeof f), 19);
	/* the documented recipe, recomputed */
	uint8_t h[32];
	crypto_generichash_blake2b(h, sizeof h, ALICE_PUB, 32, NULL, 0);
	char want[20];
	snprintf(want, sizeof want, "%02x%02x-%02x%02x-%02x%02x-%02x%02x", h[0], h[1], h[2], h[3],
		 h[4], h[5], h[6], h[7]);
	assert_string_equal(f, want);
	assert_int_equal(f[4], '-');
	assert_int_equal(seal_ident_fingerprint(ALICE_PUB, f, 19), UDP_ENOSPACE);
}

static void save_load(void **state)
{
	(void)state;
	struct seal_ident *a, *b;
	assert_int_equal(seal_ident_generate(&a), 0);
	assert_int_equal(seal_ident_save(a, tmpdir_path("id")), 0);
	struct stat st;
	assert_int_equal(stat(tmpdir_path("id"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 45);
	assert_int_equal(seal_ident_load(&b, tmpdir_path("id")), 0);
	assert_memory_equal(seal_ident_private(a), seal_ident_private(b), 32);
	assert_memory_equal(seal_ident_public(a), seal_ident_public(b), 32);
	/* never overwrites */
	assert_int_equal(seal_ident_save(b, tmpdir_path("id")), UDP_ESEAL_KEYFILE_EXISTS);
	seal_ident_free(a);
	seal_ident_free(b);
}

static void load_refuses(void **state)
{
	(void)state;
	struct seal_ident *id = (struct seal_ident *)&id;
	char text[SEAL_IDENT_TEXT_SIZE + 1];
	assert_int_equal(seal_ident_pub_format(ALICE_PRIV, text, sizeof text), 44);
	strcat(text, "\n");
	put("open", text, 0644);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("open")), UDP_ESEAL_KEYFILE_PERM);
	assert_null(id);
	put("short", "AAAA\n", 0600);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("short")), UDP_ESEAL_KEYFILE_FORMAT);
	put("long", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 0600);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("long")), UDP_ESEAL_KEYFILE_FORMAT);
	put("empty", "", 0600);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("empty")), UDP_ESEAL_KEYFILE_EMPTY);
	put("good", text, 0600);
	char target[128];
	snprintf(target, sizeof target, "%s", tmpdir_path("good")); /* tmpdir_path() reuses one buffer */
	assert_int_equal(symlink(target, tmpdir_path("link")), 0);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("link")), UDP_ESEAL_KEYFILE_LINK);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("missing")), UDP_ESYS);
	assert_int_equal(seal_ident_load(&id, tmpdir_path("good")), 0);
	assert_memory_equal(seal_ident_public(id), ALICE_PUB, 32);
	seal_ident_free(id);
	/* a file of another user is refused (only root can make one, and
	 * not in every user namespace: skipped where chown fails) */
	put("theirs", text, 0600);
	if (geteuid() == 0 && chown(tmpdir_path("theirs"), 1, 1) == 0)
		assert_int_equal(seal_ident_load(&id, tmpdir_path("theirs")), UDP_ESEAL_KEYFILE_OWNER);
}

/* ---- allowed keys ---- */

static void allowed_parse_ok(void **state)
{
	(void)state;
	char a[45], b[45];
	uint8_t bpub[32];
	memset(bpub, 0x42, sizeof bpub);
	seal_ident_pub_format(ALICE_PUB, a, sizeof a);
	seal_ident_pub_format(bpub, b, sizeof b);
	char text[512];
	snprintf(text, sizeof text,
		 "# our peers\n"
		 "\n"
		 "   %s   alice laptop  # her work machine\r\n"
		 "\t\n"
		 "%s", a, b);
	struct seal_allowed *al;
	size_t bad = 99;
	assert_int_equal(seal_allowed_parse(&al, text, strlen(text), &bad), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(seal_allowed_count(al), 2);
	const char *name;
	assert_int_equal(seal_allowed_find(al, ALICE_PUB, &name), 0);
	assert_string_equal(name, "alice laptop");
	assert_int_equal(seal_allowed_find(al, bpub, &name), 1);
	assert_string_equal(name, "");
	uint8_t other[32] = {0};
	assert_int_equal(seal_allowed_find(al, other, &name), UDP_ESEAL_WRONGKEY);
	uint8_t got[32];
	assert_int_equal(seal_allowed_get(al, 1, got, &name), 0);
	assert_memory_equal(got, bpub, 32);
	assert_int_equal(seal_allowed_get(al, 2, got, &name), UDP_EINVAL);
	seal_allowed_free(al);
	/* empty and comment-only lists are fine, and empty */
	assert_int_equal(seal_allowed_parse(&al, "", 0, &bad), 0);
	assert_int_equal(seal_allowed_count(al), 0);
	seal_allowed_free(al);
	seal_allowed_free(NULL);
}

static void expect_bad(const char *text, size_t len, int code, size_t line)
{
	struct seal_allowed *al = (struct seal_allowed *)&al;
	size_t bad = 0;
	assert_int_equal(seal_allowed_parse(&al, text, len, &bad), code);
	assert_null(al);
	assert_int_equal(bad, line);
}

static void allowed_parse_bad(void **state)
{
	(void)state;
	char a[45], text[512];
	seal_ident_pub_format(ALICE_PUB, a, sizeof a);
	snprintf(text, sizeof text, "# ok\n%s\nnot-a-key name\n", a);
	expect_bad(text, strlen(text), UDP_ESEAL_ALLOWED_LINE, 3);
	snprintf(text, sizeof text, "%s one\n\n%s two\n", a, a);
	expect_bad(text, strlen(text), UDP_ESEAL_ALLOWED_DUP, 3);
	/* a key one character short, or glued to its name */
	snprintf(text, sizeof text, "%.43s\n", a);
	expect_bad(text, strlen(text), UDP_ESEAL_ALLOWED_LINE, 1);
	snprintf(text, sizeof text, "%sbob\n", a);
	expect_bad(text, strlen(text), UDP_ESEAL_ALLOWED_LINE, 1);
	/* a name too long, a control character, a NUL byte */
	snprintf(text, sizeof text, "%s %065d\n", a, 0);
	expect_bad(text, strlen(text), UDP_ESEAL_ALLOWED_LINE, 1);
	snprintf(text, sizeof text, "\n%s bo\033b\n", a);
	expect_bad(text, strlen(text), UDP_ESEAL_ALLOWED_LINE, 2);
	snprintf(text, sizeof text, "%s bob\n", a);
	text[46] = '\0';
	expect_bad(text, 49, UDP_ESEAL_ALLOWED_LINE, 1);
	/* a name of exactly the maximum is fine */
	snprintf(text, sizeof text, "%s %064d\n", a, 0);
	struct seal_allowed *al;
	assert_int_equal(seal_allowed_parse(&al, text, strlen(text), NULL), 0);
	seal_allowed_free(al);
}

static void strerror_words(void **state)
{
	(void)state;
	assert_string_not_equal(udpkit_strerror(UDP_ESEAL_KEYFILE_OWNER), "unknown error");
	assert_string_not_equal(udpkit_strerror(UDP_ESEAL_ALLOWED_LINE), "unknown error");
	assert_string_not_equal(udpkit_strerror(UDP_ESEAL_ALLOWED_DUP), "unknown error");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pub_of_private),
		cmocka_unit_test(pub_text_roundtrip),
		cmocka_unit_test(fingerprint),
		cmocka_unit_test(save_load),
		cmocka_unit_test(load_refuses),
		cmocka_unit_test(allowed_parse_ok),
		cmocka_unit_test(allowed_parse_bad),
		cmocka_unit_test(strerror_words),
	};
	return cmocka_run_group_tests_name("ident", tests, tmpdir_setup, tmpdir_teardown);
}
