/* cmocka tests for seal_key: key files, passphrase derivation, subkeys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_key.h"
#include "support_tmpdir.h"

/* Writes a file with given contents and mode (no checks on it). */
static void put(const char *name, const char *text, mode_t mode)
{
	const char *p = tmpdir_path(name);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* base64 of bytes 00..1f */
#define KEY0_TEXT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"

static struct seal_key *key0(void)
{
	uint8_t b[32];
	struct seal_key *k;
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	assert_int_equal(seal_key_from_bytes(&k, b), 0);
	return k;
}

static void format_and_id_known_answer(void **state)
{
	(void)state;
	struct seal_key *k = key0();
	char text[SEAL_KEY_TEXT_SIZE];
	assert_int_equal(seal_key_format(k, text, sizeof text), 45);
	assert_string_equal(text, KEY0_TEXT);
	assert_int_equal(seal_key_format(k, text, sizeof text - 1), UDP_ENOSPACE);
	/* id = first 4 bytes of crypto_kdf subkey 3, context "udpkit01" */
	uint8_t kb[32], sub[16];
	for (int i = 0; i < 32; i++)
		kb[i] = (uint8_t)i;
	crypto_kdf_derive_from_key(sub, 16, 3, "udpkit01", kb);
	uint32_t want = (uint32_t)sub[0] << 24 | (uint32_t)sub[1] << 16 | (uint32_t)sub[2] << 8 | sub[3];
	assert_true(seal_key_id(k) == want);
	assert_true(seal_key_id(k) == 0x0e5f7b95u);
	seal_key_free(k);
}

static void save_creates_0600_despite_umask(void **state)
{
	(void)state;
	struct seal_key *k = key0();
	mode_t old = umask(0);
	int rc = seal_key_save(k, tmpdir_path("k"));
	umask(old);
	assert_int_equal(rc, 0);
	struct stat st;
	assert_int_equal(lstat(tmpdir_path("k"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	struct seal_key *l;
	assert_int_equal(seal_key_load(&l, tmpdir_path("k")), 0);
	assert_true(seal_key_id(l) == seal_key_id(k));
	seal_key_free(l);
	seal_key_free(k);
}

static void save_refuses_overwrite_and_symlink(void **state)
{
	(void)state;
	struct seal_key *k = key0();
	put("exists", "precious\n", 0600);
	assert_int_equal(seal_key_save(k, tmpdir_path("exists")), UDP_ESEAL_KEYFILE_EXISTS);
	char buf[32] = {0};
	FILE *f = fopen(tmpdir_path("exists"), "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	/* a dangling symlink must not be followed to create its target */
	char target[128];
	snprintf(target, sizeof target, "%s", tmpdir_path("target"));
	assert_int_equal(symlink(target, tmpdir_path("dangling")), 0);
	assert_int_equal(seal_key_save(k, tmpdir_path("dangling")), UDP_ESEAL_KEYFILE_EXISTS);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(seal_key_save(k, "/nonexistent-dir/k"), UDP_ESYS);
	seal_key_free(k);
}

static void load_good_file(void **state)
{
	(void)state;
	put("good", KEY0_TEXT, 0600);
	struct seal_key *k;
	assert_int_equal(seal_key_load(&k, tmpdir_path("good")), 0);
	assert_true(seal_key_id(k) == 0x0e5f7b95u);
	seal_key_free(k);
	put("ro", KEY0_TEXT, 0400);
	assert_int_equal(seal_key_load(&k, tmpdir_path("ro")), 0);
	seal_key_free(k);
	/* without the newline is accepted too (echo -n, editors) */
	put("nonl", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0600);
	assert_int_equal(seal_key_load(&k, tmpdir_path("nonl")), 0);
	seal_key_free(k);
}

static void load_refuses_open_permissions(void **state)
{
	(void)state;
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0620, 0602, 0601, 0610, 0666};
	struct seal_key *k = (struct seal_key *)&k;
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		put("open", KEY0_TEXT, modes[i]);
		assert_int_equal(seal_key_load(&k, tmpdir_path("open")), UDP_ESEAL_KEYFILE_PERM);
		assert_null(k);
	}
}

/* Someone else's file could be swapped under us: refused for key and
 * passphrase files alike (identity files: tests/test_ident.c).  Only root
 * can make such a file, and not in every user namespace: skipped where
 * chown fails. */
static void load_refuses_another_owner(void **state)
{
	(void)state;
	struct seal_key *k = (struct seal_key *)&k;
	char buf[64];
	put("theirs", KEY0_TEXT, 0600);
	put("theirpw", "correct horse battery\n", 0600);
	if (geteuid() != 0 || chown(tmpdir_path("theirs"), 1, 1) != 0 ||
	    chown(tmpdir_path("theirpw"), 1, 1) != 0)
		skip();
	assert_int_equal(seal_key_load(&k, tmpdir_path("theirs")), UDP_ESEAL_KEYFILE_OWNER);
	assert_null(k);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("theirpw"), buf, sizeof buf),
			 UDP_ESEAL_KEYFILE_OWNER);
	/* back to us: the same file loads */
	assert_int_equal(chown(tmpdir_path("theirs"), geteuid(), getegid()), 0);
	assert_int_equal(seal_key_load(&k, tmpdir_path("theirs")), 0);
	seal_key_free(k);
}

static void load_refuses_symlink_and_non_files(void **state)
{
	(void)state;
	struct seal_key *k;
	char real[128];
	put("real", KEY0_TEXT, 0600);
	snprintf(real, sizeof real, "%s", tmpdir_path("real"));
	assert_int_equal(symlink(real, tmpdir_path("link")), 0);
	assert_int_equal(seal_key_load(&k, tmpdir_path("link")), UDP_ESEAL_KEYFILE_LINK);
	assert_int_equal(seal_key_load(&k, tmpdir_dir), UDP_ESEAL_KEYFILE_TYPE);
	assert_int_equal(mkfifo(tmpdir_path("fifo"), 0600), 0);
	assert_int_equal(seal_key_load(&k, tmpdir_path("fifo")), UDP_ESEAL_KEYFILE_TYPE);
	errno = 0;
	assert_int_equal(seal_key_load(&k, tmpdir_path("missing")), UDP_ESYS);
	assert_int_equal(errno, ENOENT);
}

static void load_refuses_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{"", UDP_ESEAL_KEYFILE_EMPTY},
		{"\n", UDP_ESEAL_KEYFILE_FORMAT},
		{"AAAA\n", UDP_ESEAL_KEYFILE_FORMAT}, /* 3 bytes */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=\n", UDP_ESEAL_KEYFILE_FORMAT}, /* 29 */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==\n", UDP_ESEAL_KEYFILE_FORMAT}, /* 34 */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n", UDP_ESEAL_KEYFILE_FORMAT},
		{" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", UDP_ESEAL_KEYFILE_FORMAT},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n", UDP_ESEAL_KEYFILE_FORMAT},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh!=\n", UDP_ESEAL_KEYFILE_FORMAT}, /* bad char */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A\n", UDP_ESEAL_KEYFILE_FORMAT}, /* no pad */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_=\n", UDP_ESEAL_KEYFILE_FORMAT}, /* url alphabet */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", UDP_ESEAL_KEYFILE_FORMAT}, /* stray bits */
		/* found by fuzz_key_text: libsodium 1.0.18 decodes 0xb8 as '/' */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\xb8h8=\n", UDP_ESEAL_KEYFILE_FORMAT},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\xb8h8=", UDP_ESEAL_KEYFILE_FORMAT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seal_key *k;
		put("bad", cases[i].text, 0600);
		int rc = seal_key_load(&k, tmpdir_path("bad"));
		if (rc != cases[i].want)
			fail_msg("case %zu: got %d want %d", i, rc, cases[i].want);
	}
	/* a long file is refused without reading it all */
	char big[4096];
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put("big", big, 0600);
	struct seal_key *k;
	assert_int_equal(seal_key_load(&k, tmpdir_path("big")), UDP_ESEAL_KEYFILE_FORMAT);
}

static void generate_is_random(void **state)
{
	(void)state;
	struct seal_key *a, *b;
	assert_int_equal(seal_key_generate(&a), 0);
	assert_int_equal(seal_key_generate(&b), 0);
	char ta[SEAL_KEY_TEXT_SIZE], tb[SEAL_KEY_TEXT_SIZE];
	seal_key_format(a, ta, sizeof ta);
	seal_key_format(b, tb, sizeof tb);
	assert_string_not_equal(ta, tb);
	struct seal_key *c;
	assert_int_equal(seal_key_from_text(&c, ta, strlen(ta)), 0);
	assert_true(seal_key_id(c) == seal_key_id(a));
	seal_key_free(a);
	seal_key_free(b);
	seal_key_free(c);
}

/* Four Argon2id runs at the moderate preset (about 3 s here): the
 * libsodium cross-check stands for determinism, so no second derivation
 * of the same input. */
static void derive_deterministic_and_separated(void **state)
{
	(void)state;
	struct seal_key *a, *c, *d;
	const char *pw = "correct horse battery staple";
	assert_int_equal(seal_key_derive(&a, "lab", pw, strlen(pw)), 0);
	assert_int_equal(seal_key_derive(&c, "lab2", pw, strlen(pw)), 0);
	/* the shortest passphrase taken: its first SEAL_KEY_PASSPHRASE_MIN bytes */
	assert_int_equal(seal_key_derive(&d, "lab", pw, SEAL_KEY_PASSPHRASE_MIN), 0);
	char ta[SEAL_KEY_TEXT_SIZE], tc[SEAL_KEY_TEXT_SIZE], td[SEAL_KEY_TEXT_SIZE];
	seal_key_format(a, ta, sizeof ta);
	seal_key_format(c, tc, sizeof tc);
	seal_key_format(d, td, sizeof td);
	assert_string_not_equal(ta, tc);
	assert_string_not_equal(ta, td);
	/* cross-check against libsodium with the documented salt */
	uint8_t h[32], want[32], got[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"udpkit group salt v1", 21); /* with NUL */
	crypto_generichash_update(&st, (const uint8_t *)"lab", 3);
	crypto_generichash_final(&st, h, 32);
	/* the moderate preset: 3 passes, 256 MiB (an interactive-preset key
	 * would differ here) */
	assert_int_equal(crypto_pwhash_OPSLIMIT_MODERATE, 3);
	assert_int_equal(crypto_pwhash_MEMLIMIT_MODERATE, 256u << 20);
	assert_int_equal(crypto_pwhash(want, 32, pw, strlen(pw), h, crypto_pwhash_OPSLIMIT_MODERATE,
				       crypto_pwhash_MEMLIMIT_MODERATE,
				       crypto_pwhash_ALG_ARGON2ID13), 0);
	size_t n;
	assert_int_equal(sodium_base642bin(got, 32, ta, 44, NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_memory_equal(got, want, 32);
	seal_key_free(a);
	seal_key_free(c);
	seal_key_free(d);
}

static void derive_refuses_bad_input(void **state)
{
	(void)state;
	struct seal_key *k;
	char group[SEAL_KEY_GROUP_MAX + 2];
	memset(group, 'g', sizeof group - 1);
	group[sizeof group - 1] = '\0';
	const char *pw = "twelve bytes"; /* 12 */
	assert_int_equal(seal_key_derive(&k, "", pw, 12), UDP_ESEAL_GROUP);
	assert_int_equal(seal_key_derive(&k, group, pw, 12), UDP_ESEAL_GROUP);
	assert_int_equal(seal_key_derive(&k, NULL, pw, 12), UDP_EINVAL);
	assert_int_equal(seal_key_derive(&k, "g", "", 0), UDP_ESEAL_PASSPHRASE);
	assert_int_equal(seal_key_derive(&k, "g", group, SEAL_KEY_PASSPHRASE_MAX + 1), UDP_ESEAL_PASSPHRASE);
	/* one byte under the minimum: refused before any Argon2 work */
	assert_int_equal(seal_key_derive(&k, "g", pw, SEAL_KEY_PASSPHRASE_MIN - 1),
			 UDP_ESEAL_PASSPHRASE_SHORT);
	assert_int_equal(seal_key_derive(&k, "g", "pw", 2), UDP_ESEAL_PASSPHRASE_SHORT);
	assert_null(k);
	assert_string_not_equal(udpkit_strerror(UDP_ESEAL_PASSPHRASE_SHORT), "unknown error");
}

static void subkeys_differ_by_id(void **state)
{
	(void)state;
	struct seal_key *k = key0();
	uint8_t s1[32], s2[32], s3[32], s1b[32];
	assert_int_equal(seal_key_subkey(k, SEAL_KEY_SUB_SEAL, s1, 32), 0);
	assert_int_equal(seal_key_subkey(k, SEAL_KEY_SUB_COOKIE, s2, 32), 0);
	assert_int_equal(seal_key_subkey(k, SEAL_KEY_SUB_KEYID, s3, 32), 0);
	assert_int_equal(seal_key_subkey(k, SEAL_KEY_SUB_SEAL, s1b, 32), 0);
	assert_memory_equal(s1, s1b, 32);
	assert_memory_not_equal(s1, s2, 32);
	assert_memory_not_equal(s1, s3, 32);
	assert_memory_not_equal(s2, s3, 32);
	uint8_t kb[32], ref[32];
	for (int i = 0; i < 32; i++)
		kb[i] = (uint8_t)i;
	assert_memory_not_equal(s1, kb, 32); /* never the master key itself */
	crypto_kdf_derive_from_key(ref, 32, SEAL_KEY_SUB_COOKIE, "udpkit01", kb);
	assert_memory_equal(s2, ref, 32);
	uint8_t big[65];
	assert_int_equal(seal_key_subkey(k, 1, big, 15), UDP_EINVAL);
	assert_int_equal(seal_key_subkey(k, 1, big, 65), UDP_EINVAL);
	seal_key_free(k);
}

static void secret_file_reading(void **state)
{
	(void)state;
	char buf[64];
	put("pw", "hunter2\r\n", 0600);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("pw"), buf, sizeof buf), 7);
	assert_string_equal(buf, "hunter2");
	put("pw", "two words\n", 0600);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("pw"), buf, sizeof buf), 9);
	put("pw", "hunter2\n", 0644);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("pw"), buf, sizeof buf), UDP_ESEAL_KEYFILE_PERM);
	put("pw", "\n", 0600);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("pw"), buf, sizeof buf), UDP_ESEAL_KEYFILE_EMPTY);
	put("pw", "0123456789", 0600);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("pw"), buf, 10), UDP_ESEAL_PASSPHRASE);
	assert_int_equal(seal_key_read_secret_file(tmpdir_path("pw"), buf, 11), 10);
}

/* Process-wide, so checked in a child. */
static void protect_process_disables_dumps(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		int ok = seal_key_protect_process() == 0 && getrlimit(RLIMIT_CORE, &rl) == 0 &&
			 rl.rlim_cur == 0 && rl.rlim_max == 0 && prctl(PR_GET_DUMPABLE) == 0;
		_exit(ok ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void free_null(void **state)
{
	(void)state;
	seal_key_free(NULL);
	struct seal_key *k;
	assert_int_equal(seal_key_from_text(&k, NULL, 0), UDP_ESEAL_KEYFILE_EMPTY);
	assert_int_equal(seal_key_load(&k, NULL), UDP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_and_id_known_answer),
		cmocka_unit_test(save_creates_0600_despite_umask),
		cmocka_unit_test(save_refuses_overwrite_and_symlink),
		cmocka_unit_test(load_good_file),
		cmocka_unit_test(load_refuses_open_permissions),
		cmocka_unit_test(load_refuses_another_owner),
		cmocka_unit_test(load_refuses_symlink_and_non_files),
		cmocka_unit_test(load_refuses_malformed),
		cmocka_unit_test(generate_is_random),
		cmocka_unit_test(derive_deterministic_and_separated),
		cmocka_unit_test(derive_refuses_bad_input),
		cmocka_unit_test(subkeys_differ_by_id),
		cmocka_unit_test(secret_file_reading),
		cmocka_unit_test(protect_process_disables_dumps),
		cmocka_unit_test(free_null),
	};
	return cmocka_run_group_tests_name("key", tests, tmpdir_setup, tmpdir_teardown);
}
