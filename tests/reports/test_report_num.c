/*
 * test_report_num.c - the report's one notation of counts (report_num):
 * exact with thousands separators below 10^15, else a power of two that
 * is a lower bound; and the rendered pages use it in HTML and Markdown.
 */
#include <stdint.h>

#include "report.h"
#include "report_fixture.h"

static const char *num(uint64_t v)
{
	static char buf[REPORT_NUM_LEN];

	return report_num(buf, sizeof(buf), v);
}

Test(report_num, exact_with_separators_below_10_15)
{
	cr_assert_str_eq(num(0), "0");
	cr_assert_str_eq(num(7), "7");
	cr_assert_str_eq(num(999), "999");
	cr_assert_str_eq(num(1000), "1,000");
	cr_assert_str_eq(num(22528), "22,528");
	cr_assert_str_eq(num(137438953536ULL), "137,438,953,536");
	cr_assert_str_eq(num(4398046511104ULL), "4,398,046,511,104");
	cr_assert_str_eq(num(999999999999999ULL), "999,999,999,999,999");
}

Test(report_num, lower_bound_power_of_two_from_10_15)
{
	cr_assert_str_eq(num(1000000000000000ULL), "\u2265 2^49"); /* 2^49 < 10^15 < 2^50 */
	cr_assert_str_eq(num(1ULL << 50), "\u2265 2^50");
	cr_assert_str_eq(num((uint64_t)INT64_MAX), "\u2265 2^62"); /* a saturated count */
	cr_assert_str_eq(num(UINT64_MAX), "\u2265 2^63");
}

Test(report_num, short_buffer_is_cut_not_overrun)
{
	char buf[6] = "xxxxx";

	report_num(buf, sizeof(buf), 1234567);
	cr_assert_str_eq(buf, "1,234");
}

/* The pages print counts through it: no %g, no bare big numbers, the same text in both. */
Test(report_num, html_and_markdown_use_it)
{
	struct fx f;

	fx_open(&f, "num");
	int64_t r = fx_run(&f, "traces/a.yaml", "--budget 4", 3, "ok");

	fx_point(&f, r, 0, 4398046511104ULL, "o", 0);
	fx_point(&f, r, 1, 137438953536ULL, "o", 0);
	fx_point(&f, r, 2, UINT64_MAX, "o", 0);
	fx_render(&f);
	cr_assert(strstr(f.html, "4,398,046,511,104") && strstr(f.html, "137,438,953,536"));
	cr_assert(strstr(f.html, "\u2265 2^62") != NULL, "the saturated point");
	cr_assert(strstr(f.html, "\u2265 2^63") != NULL, "the sweep's saturated sum");
	cr_assert(strstr(f.md, "| \u2265 2^63 |") != NULL, "%s", f.md);
	cr_assert(strstr(f.html, "e+12") == NULL && strstr(f.html, "137438953536") == NULL);
	cr_assert(strstr(f.html, "&ge;2^63") == NULL && strstr(f.md, "e+") == NULL);
	fx_close(&f);
}
