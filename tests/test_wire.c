/* cmocka tests for udp_wire: every read and write is bounds-checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udp_err.h"
#include "udp_wire.h"

static void roundtrip_all_widths(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, buf, sizeof buf);
	udp_wire_put_u8(&w, 0xab);
	udp_wire_put_u16(&w, 0x1234);
	udp_wire_put_u32(&w, 0xdeadbeef);
	udp_wire_put_u64(&w, 0x0102030405060708ull);
	udp_wire_put_bytes(&w, "xyz", 3);
	assert_int_equal(udp_wire_writer_error(&w), 0);
	assert_int_equal(udp_wire_written(&w), 1 + 2 + 4 + 8 + 3);
	/* network byte order on the wire */
	assert_int_equal(buf[1], 0x12);
	assert_int_equal(buf[2], 0x34);
	assert_int_equal(buf[7], 0x01);

	struct udp_wire_reader r;
	char s[3];
	udp_wire_reader_init(&r, buf, udp_wire_written(&w));
	assert_int_equal(udp_wire_get_u8(&r), 0xab);
	assert_int_equal(udp_wire_get_u16(&r), 0x1234);
	assert_int_equal(udp_wire_get_u32(&r), 0xdeadbeef);
	assert_true(udp_wire_get_u64(&r) == 0x0102030405060708ull);
	assert_int_equal(udp_wire_get_bytes(&r, s, 3), 0);
	assert_memory_equal(s, "xyz", 3);
	assert_int_equal(udp_wire_remaining(&r), 0);
	assert_int_equal(udp_wire_reader_error(&r), 0);
}

/* Every truncation of a valid packet must fail cleanly, at every width. */
static void every_truncated_read_fails(void **state)
{
	(void)state;
	const uint8_t pkt[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	for (size_t len = 0; len < sizeof pkt; len++) {
		struct udp_wire_reader r;
		udp_wire_reader_init(&r, pkt, len);
		(void)udp_wire_get_u8(&r);
		(void)udp_wire_get_u16(&r);
		(void)udp_wire_get_u32(&r);
		uint64_t v = udp_wire_get_u64(&r);
		assert_int_equal(udp_wire_reader_error(&r), UDP_ESHORT);
		assert_true(v == 0);
		assert_int_equal(udp_wire_remaining(&r), 0);
	}
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, pkt, sizeof pkt);
	(void)udp_wire_get_u8(&r);
	(void)udp_wire_get_u16(&r);
	(void)udp_wire_get_u32(&r);
	(void)udp_wire_get_u64(&r);
	assert_int_equal(udp_wire_reader_error(&r), 0);
}

static void error_is_sticky(void **state)
{
	(void)state;
	const uint8_t pkt[3] = {0xff, 0xee, 0xdd};
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, pkt, sizeof pkt);
	assert_int_equal(udp_wire_get_u32(&r), 0);
	/* the 1 byte that would fit is not handed out after the error */
	assert_int_equal(udp_wire_get_u8(&r), 0);
	assert_null(udp_wire_get_ptr(&r, 1));
	assert_int_equal(udp_wire_skip(&r, 0), UDP_ESHORT);
	assert_int_equal(udp_wire_reader_error(&r), UDP_ESHORT);
}

static void huge_lengths_do_not_wrap(void **state)
{
	(void)state;
	const uint8_t pkt[4] = {0};
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, pkt, sizeof pkt);
	assert_int_equal(udp_wire_skip(&r, 2), 0);
	assert_null(udp_wire_get_ptr(&r, SIZE_MAX));
	assert_int_equal(udp_wire_reader_error(&r), UDP_ESHORT);

	uint8_t out[4];
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, out, sizeof out);
	udp_wire_put_u16(&w, 1);
	assert_null(udp_wire_put_ptr(&w, SIZE_MAX));
	assert_int_equal(udp_wire_writer_error(&w), UDP_ENOSPACE);
}

static void get_bytes_short_zeroes_destination(void **state)
{
	(void)state;
	const uint8_t pkt[2] = {7, 7};
	uint8_t dst[4] = {1, 1, 1, 1};
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, pkt, sizeof pkt);
	assert_int_equal(udp_wire_get_bytes(&r, dst, sizeof dst), UDP_ESHORT);
	for (size_t i = 0; i < sizeof dst; i++)
		assert_int_equal(dst[i], 0);
}

static void every_overfull_write_fails(void **state)
{
	(void)state;
	for (size_t cap = 0; cap < 15; cap++) {
		uint8_t buf[15];
		memset(buf, 0x5a, sizeof buf);
		struct udp_wire_writer w;
		udp_wire_writer_init(&w, buf, cap);
		udp_wire_put_u8(&w, 1);
		udp_wire_put_u16(&w, 2);
		udp_wire_put_u32(&w, 3);
		udp_wire_put_u64(&w, 4);
		assert_int_equal(udp_wire_writer_error(&w), UDP_ENOSPACE);
		assert_true(udp_wire_written(&w) <= cap);
		for (size_t i = cap; i < sizeof buf; i++)
			assert_int_equal(buf[i], 0x5a); /* nothing past cap written */
	}
}

static void null_buffer_is_empty(void **state)
{
	(void)state;
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, NULL, 100);
	assert_int_equal(udp_wire_remaining(&r), 0);
	/* found by fuzz_wire: borrowing 0 bytes of an empty (NULL) buffer
	 * did NULL + 0 (undefined) and returned NULL, which means short */
	assert_non_null(udp_wire_get_ptr(&r, 0));
	assert_int_equal(udp_wire_skip(&r, 0), 0);
	assert_int_equal(udp_wire_reader_error(&r), 0);
	(void)udp_wire_get_u8(&r);
	assert_int_equal(udp_wire_reader_error(&r), UDP_ESHORT);
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, NULL, 100);
	assert_non_null(udp_wire_put_ptr(&w, 0));
	udp_wire_put_bytes(&w, "", 0);
	assert_int_equal(udp_wire_writer_error(&w), 0);
	assert_null(udp_wire_put_ptr(&w, 1));
	assert_int_equal(udp_wire_writer_error(&w), UDP_ENOSPACE);
}

static void strerror_covers_codes(void **state)
{
	(void)state;
	for (int c = 0; c >= -200; c--)
		assert_non_null(udpkit_strerror(c));
	assert_string_equal(udpkit_strerror(UDP_ESHORT), "packet too short");
	assert_string_equal(udpkit_strerror(-9999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_all_widths),
		cmocka_unit_test(every_truncated_read_fails),
		cmocka_unit_test(error_is_sticky),
		cmocka_unit_test(huge_lengths_do_not_wrap),
		cmocka_unit_test(get_bytes_short_zeroes_destination),
		cmocka_unit_test(every_overfull_write_fails),
		cmocka_unit_test(null_buffer_is_empty),
		cmocka_unit_test(strerror_covers_codes),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
