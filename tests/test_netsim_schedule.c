/* test_netsim_schedule.c - timelines of netsim specs: grammar, errors by
 * entry, phase lookup with and without repeat, describe round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "netsim_schedule.h"
#include "udp_err.h"

static struct netsim_schedule s;

static void the_issue_example(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(netsim_schedule_parse(&s, "0s loss 1%; 5s loss 30% delay 80ms;"
					       " 8s loss 100%; 10s loss 1%", err, sizeof err), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.repeat_us, 0);
	assert_int_equal(s.phase[1].start_us, 5000000);
	assert_true(s.phase[1].cfg.loss[0] > 0.299 && s.phase[1].cfg.loss[0] < 0.301);
	assert_int_equal(s.phase[1].cfg.delay_ns, 80000000);
	assert_true(s.phase[2].cfg.loss[0] == 1.0);
	/* phase lookup at the edges */
	assert_int_equal(netsim_schedule_phase_at(&s, 0), 0);
	assert_int_equal(netsim_schedule_phase_at(&s, 4999999), 0);
	assert_int_equal(netsim_schedule_phase_at(&s, 5000000), 1);
	assert_int_equal(netsim_schedule_phase_at(&s, 9999999), 2);
	assert_int_equal(netsim_schedule_phase_at(&s, 10000000), 3);
	assert_int_equal(netsim_schedule_phase_at(&s, 3600000000ull), 3);
}

static void repeat_folds_time(void **state)
{
	(void)state;
	assert_int_equal(netsim_schedule_parse(&s, "1s loss 100%\n2500ms\n3s repeat\n", NULL, 0), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.repeat_us, 3000000);
	assert_int_equal(netsim_schedule_phase_at(&s, 0), -1); /* nothing before 1s */
	assert_int_equal(netsim_schedule_phase_at(&s, 1000000), 0);
	assert_int_equal(netsim_schedule_phase_at(&s, 2600000), 1);
	assert_int_equal(netsim_schedule_phase_at(&s, 3000000), -1);
	assert_int_equal(netsim_schedule_phase_at(&s, 7100000), 0);
	assert_int_equal(s.phase[1].cfg.given, 0); /* an empty spec: no impairment */
}

static void files_have_comments_and_units(void **state)
{
	(void)state;
	const char *file = "# a flaky uplink\n"
			   "0s   loss 1%   # normal\n"
			   "\n"
			   "1.5min loss burst 20% 4\n"
			   "2min delay 200ms 50ms ; 1h loss 100%\n"
			   "2h repeat\n";
	char err[256];
	assert_int_equal(netsim_schedule_parse(&s, file, err, sizeof err), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.phase[1].start_us, 90000000);
	assert_int_equal(s.phase[3].start_us, 3600000000ull);
	assert_int_equal(s.repeat_us, 7200000000ull);
	char out[2048], again[2048];
	assert_true(netsim_schedule_describe(&s, out, sizeof out) > 0);
	assert_string_equal(out, "0s loss 1%; 90s loss burst 20% 4; 2min delay 200ms 50ms;"
			    " 1h loss 100%; 2h repeat");
	struct netsim_schedule t;
	assert_int_equal(netsim_schedule_parse(&t, out, err, sizeof err), 0);
	assert_true(netsim_schedule_describe(&t, again, sizeof again) > 0);
	assert_string_equal(out, again);
	char tiny[8];
	assert_int_equal(netsim_schedule_describe(&s, tiny, sizeof tiny), UDP_ENOSPACE);
}

static void errors_name_the_entry(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int code;
		const char *says;
	} bad[] = {
		{"", UDP_ENETSIM_MISSING, "empty schedule"},
		{" ; # only a comment\n", UDP_ENETSIM_MISSING, "empty schedule"},
		{"0s loss 150%", UDP_ENETSIM_VALUE, "entry 1 (0s): loss: '150%'"},
		{"0s loss 1%; 5s lose 3%", UDP_ENETSIM_WORD, "entry 2 (5s): unknown word 'lose'"},
		{"5 loss 1%", UDP_ENETSIM_VALUE, "entry 1: '5' is not a time"},
		{"5x loss 1%", UDP_ENETSIM_VALUE, "is not a time"},
		{"0s loss 1%; 0s loss 2%", UDP_ENETSIM_VALUE, "times must increase"},
		{"2s loss 1%; 1s loss 2%", UDP_ENETSIM_VALUE, "entry 2 (1s)"},
		{"0s loss 1%; 4s repeat; 5s loss 2%", UDP_ENETSIM_VALUE, "'repeat' must be the last"},
		{"4s repeat", UDP_ENETSIM_VALUE, "needs phases before it"},
		{"0s loss 1% seed 3; 2s loss 5% seed 4", UDP_ENETSIM_VALUE, "give it in the first phase"},
		{"9000h loss 1%", UDP_ENETSIM_VALUE, "later than a week"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256] = "unchanged";
		s.n = 99;
		int rc = netsim_schedule_parse(&s, bad[i].text, err, sizeof err);
		if (rc != bad[i].code || !strstr(err, bad[i].says))
			fail_msg("'%s': got %d '%s', want %d '%s'", bad[i].text, rc, err, bad[i].code,
				 bad[i].says);
		assert_int_equal(s.n, 99); /* a failed parse leaves the schedule alone */
	}
	/* too many phases */
	char many[64 * 12 + 64] = "";
	for (int i = 0; i <= NETSIM_SCHEDULE_MAX; i++) {
		char e[16];
		snprintf(e, sizeof e, "%ds;", i);
		strcat(many, e);
	}
	char err[256];
	assert_int_equal(netsim_schedule_parse(&s, many, err, sizeof err), UDP_ENETSIM_VALUE);
	assert_non_null(strstr(err, "more than 64 phases"));
	assert_int_equal(netsim_schedule_parse(NULL, "0s", NULL, 0), UDP_EINVAL);
	assert_int_equal(netsim_schedule_parse(&s, NULL, NULL, 0), UDP_EINVAL);
	assert_int_equal(netsim_schedule_phase_at(NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_issue_example),
		cmocka_unit_test(repeat_folds_time),
		cmocka_unit_test(files_have_comments_and_units),
		cmocka_unit_test(errors_name_the_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
