/* cmocka tests for udpchat's known peers (chat/chat_known.h): the text
 * format, all-or-nothing loading, the trust-on-first-use answers, and the
 * atomic 0600 file; and the identity fields of the chat wire format
 * (version 3, docs/CHAT.md "Identities"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "chat_known.h"
#include "chat_wire.h"
#include "seal_ident.h"
#include "support_tmpdir.h"
#include "udp_err.h"
#include "udp_wire.h"

static void key_of(uint8_t k[CHAT_KEY_LEN], uint8_t v)
{
	for (int i = 0; i < CHAT_KEY_LEN; i++)
		k[i] = (uint8_t)(v + i);
}

static void line_for(char *buf, size_t cap, const char *nick, uint8_t v)
{
	uint8_t k[CHAT_KEY_LEN];
	char b64[SEAL_IDENT_TEXT_SIZE];
	key_of(k, v);
	assert_int_equal(seal_ident_pub_format(k, b64, sizeof b64), SEAL_IDENT_B64_LEN);
	snprintf(buf, cap, "%s %s", nick, b64);
}

static void tofu_answers(void **state)
{
	(void)state;
	struct chat_known *k;
	uint8_t a[CHAT_KEY_LEN], b[CHAT_KEY_LEN], old[CHAT_KEY_LEN];
	key_of(a, 1);
	key_of(b, 2);
	assert_int_equal(chat_known_new(&k), 0);
	assert_int_equal(chat_known_check(k, "alice", a, NULL), CHAT_KNOWN_NEW);
	assert_int_equal(chat_known_set(k, "alice", a), 0);
	assert_int_equal(chat_known_check(k, "alice", a, old), CHAT_KNOWN_SAME);
	assert_int_equal(chat_known_check(k, "alice", b, old), CHAT_KNOWN_OTHER);
	assert_memory_equal(old, a, CHAT_KEY_LEN);
	/* nicks are compared exactly: the look-alike rule is the roster's */
	assert_int_equal(chat_known_check(k, "Alice", b, NULL), CHAT_KNOWN_NEW);
	/* /trust: the new key replaces the old one */
	assert_int_equal(chat_known_set(k, "alice", b), 0);
	assert_int_equal(chat_known_check(k, "alice", b, NULL), CHAT_KNOWN_SAME);
	assert_int_equal(chat_known_count(k), 1);
	assert_int_equal(chat_known_set(k, "bad nick", a), UDP_EINVAL);
	assert_int_equal(chat_known_set(k, "#x", a), UDP_EINVAL);
	chat_known_free(k);
}

static void parse_all_or_nothing(void **state)
{
	(void)state;
	char l1[128], l2[128], l3[128], text[1024];
	line_for(l1, sizeof l1, "alice", 1);
	line_for(l2, sizeof l2, "bob", 2);
	line_for(l3, sizeof l3, "alice", 3); /* alice again */
	struct chat_known *k;
	assert_int_equal(chat_known_new(&k), 0);
	size_t bad = 0;
	snprintf(text, sizeof text, "# comment\n\n  %s  \r\n\t%s\n", l1, l2);
	assert_int_equal(chat_known_parse(k, text, strlen(text), &bad), 0);
	assert_int_equal(chat_known_count(k), 2);
	uint8_t key[CHAT_KEY_LEN];
	key_of(key, 2);
	assert_int_equal(chat_known_check(k, "bob", key, NULL), CHAT_KNOWN_SAME);
	chat_known_free(k);

	const char *bad_lines[] = {
		"carol\n",                                         /* no key */
		"carol AAAA\n",                                    /* short key */
		"carol AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= extra\n",
		"ca#rol AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", /* bad nick */
		"/carol AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"carol AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*A=\n", /* not base64 */
	};
	for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
		assert_int_equal(chat_known_new(&k), 0);
		snprintf(text, sizeof text, "%s\n%s", l1, bad_lines[i]);
		bad = 0;
		assert_int_equal(chat_known_parse(k, text, strlen(text), &bad), UDP_EINVAL);
		assert_int_equal(bad, 2);
		assert_int_equal(chat_known_count(k), 0); /* alice not half-loaded */
		chat_known_free(k);
	}
	/* a nick given twice */
	assert_int_equal(chat_known_new(&k), 0);
	snprintf(text, sizeof text, "%s\n%s\n%s\n", l1, l2, l3);
	assert_int_equal(chat_known_parse(k, text, strlen(text), &bad), UDP_EINVAL);
	assert_int_equal(bad, 3);
	/* a NUL byte inside a line */
	snprintf(text, sizeof text, "%s\n", l1);
	text[3] = '\0';
	assert_int_equal(chat_known_parse(k, text, strlen(l1) + 1, &bad), UDP_EINVAL);
	assert_int_equal(bad, 1);
	chat_known_free(k);
}

static void file_roundtrip_atomic_0600(void **state)
{
	(void)state;
	const char *path = tmpdir_path("known_peers");
	struct chat_known *k, *k2;
	uint8_t a[CHAT_KEY_LEN], b[CHAT_KEY_LEN];
	key_of(a, 10);
	key_of(b, 20);
	assert_int_equal(chat_known_new(&k), 0);
	/* missing file: an empty list */
	unlink(path);
	assert_int_equal(chat_known_load(k, path, NULL), 0);
	assert_int_equal(chat_known_count(k), 0);
	assert_int_equal(chat_known_set(k, "alice", a), 0);
	assert_int_equal(chat_known_set(k, "j\xc3\xb6rg", b), 0);
	assert_int_equal(chat_known_save(k, path), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(chat_known_new(&k2), 0);
	assert_int_equal(chat_known_load(k2, path, NULL), 0);
	assert_int_equal(chat_known_count(k2), 2);
	assert_int_equal(chat_known_check(k2, "j\xc3\xb6rg", b, NULL), CHAT_KNOWN_SAME);
	assert_int_equal(chat_known_check(k2, "alice", b, NULL), CHAT_KNOWN_OTHER);
	chat_known_free(k2);
	/* saving again replaces the file (a new inode: renamed over it), and
	 * leaves no temporary file behind */
	ino_t ino = st.st_ino;
	assert_int_equal(chat_known_set(k, "alice", b), 0);
	assert_int_equal(chat_known_save(k, path), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(st.st_ino != ino);
	assert_int_equal(st.st_mode & 0777, 0600);
	DIR *d = opendir(tmpdir_dir);
	assert_non_null(d);
	int files = 0;
	for (struct dirent *de; (de = readdir(d));)
		files += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
	/* a symlink is not followed on load */
	const char *link = tmpdir_path("known_link");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(chat_known_new(&k2), 0);
	assert_int_equal(chat_known_load(k2, link, NULL), UDP_ESYS);
	chat_known_free(k2);
	unlink(link);
	unlink(path);
	/* a folder that does not exist: the error, no file */
	assert_int_equal(chat_known_save(k, tmpdir_path("no/such/dir")), UDP_ESYS);
	chat_known_free(k);
}

/* ---- wire: version 3 ---- */

static void wire_version3_layout(void **state)
{
	(void)state;
	uint8_t buf[CHAT_PKT_MAX];
	struct chat_pkt p = { .type = CHAT_HELLO, .id = 0x3fa2000000000001ull, .ident = 1,
			      .start = 1763768719000000ull };
	strcpy(p.nick, "bo");
	key_of(p.key, 0x40);
	/* HELLO: start at 17+n, key at 25+n, text length at 57+n */
	int n = chat_pkt_encode(&p, buf, sizeof buf);
	assert_int_equal(n, 17 + 2 + 8 + 32 + 2);
	assert_int_equal(buf[4], CHAT_VERSION_IDENT);
	assert_int_equal(buf[19 + 7], 1763768719000000ull & 0xff);
	assert_memory_equal(buf + 27, p.key, CHAT_KEY_LEN);
	struct chat_pkt q;
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), 0);
	assert_int_equal(q.ident, 1);
	assert_memory_equal(q.key, p.key, CHAT_KEY_LEN);
	assert_true(q.start == p.start);
	for (int len = 0; len < n; len++)
		assert_int_equal(chat_pkt_decode(&q, buf, (size_t)len), UDP_ESHORT);
	/* BEACON: key at 17+n; LEAVE too */
	p.type = CHAT_BEACON;
	p.port = 4242;
	n = chat_pkt_encode(&p, buf, sizeof buf);
	assert_int_equal(n, 17 + 2 + 32 + 2);
	assert_memory_equal(buf + 19, p.key, CHAT_KEY_LEN);
	/* an all-zero key is refused both ways */
	memset(buf + 19, 0, CHAT_KEY_LEN);
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), UDP_EINVAL);
	memset(p.key, 0, sizeof p.key);
	assert_int_equal(chat_pkt_encode(&p, buf, sizeof buf), UDP_EINVAL);
	/* a line of version 3 is a line of version 2 with another version byte */
	struct chat_pkt m = { .type = CHAT_MSG, .id = 1, .seq = 1, .ts = 2, .ident = 1,
			      .text = (const uint8_t *)"x", .text_len = 1 };
	strcpy(m.nick, "bo");
	n = chat_pkt_encode(&m, buf, sizeof buf);
	assert_int_equal(n, 39);
	assert_int_equal(buf[4], 3);
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), 0);
	assert_int_equal(q.ident, 1);
	buf[4] = 2;
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), 0);
	assert_int_equal(q.ident, 0);
	buf[4] = 4;
	assert_int_equal(chat_pkt_decode(&q, buf, (size_t)n), UDP_EINVAL);
	/* a version 2 HELLO is 32 bytes shorter: read as version 3 it is short */
	p.type = CHAT_HELLO;
	p.ident = 0;
	n = chat_pkt_encode(&p, buf, sizeof buf);
	assert_int_equal(n, 17 + 2 + 8 + 2);
	buf[4] = 3;
	assert_true(chat_pkt_decode(&q, buf, (size_t)n) < 0);
}

static void wire_keyed_peer_list(void **state)
{
	(void)state;
	uint8_t list[256];
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, list, sizeof list);
	struct chat_peer_addr e = { .id = 77, .has_key = 1 };
	assert_int_equal(udp_addr_parse(&e.addr, "127.0.0.1:4000", UDP_ADDR_NUMERIC), 0);
	key_of(e.key, 9);
	assert_int_equal(chat_peers_put(&w, &e), 0);
	assert_int_equal(udp_wire_written(&w), 8 + 1 + 4 + 2 + 32);
	struct udp_wire_reader r;
	struct chat_peer_addr o;
	udp_wire_reader_init(&r, list, udp_wire_written(&w));
	assert_int_equal(chat_peers_next_keyed(&r, &o), 1);
	assert_int_equal(o.has_key, 1);
	assert_memory_equal(o.key, e.key, CHAT_KEY_LEN);
	assert_true(o.id == 77);
	assert_int_equal(chat_peers_next_keyed(&r, &o), 0);
	/* truncated inside the key */
	udp_wire_reader_init(&r, list, udp_wire_written(&w) - 1);
	assert_int_equal(chat_peers_next_keyed(&r, &o), UDP_ESHORT);
	/* a zero key */
	memset(list + 15, 0, CHAT_KEY_LEN);
	udp_wire_reader_init(&r, list, udp_wire_written(&w));
	assert_int_equal(chat_peers_next_keyed(&r, &o), UDP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tofu_answers),
		cmocka_unit_test(parse_all_or_nothing),
		cmocka_unit_test(file_roundtrip_atomic_0600),
		cmocka_unit_test(wire_version3_layout),
		cmocka_unit_test(wire_keyed_peer_list),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
