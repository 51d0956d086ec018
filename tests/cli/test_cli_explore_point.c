/*
 * test_cli_explore_point.c - `snapsim explore --point P` where the trace
 * has no crash point P in that mode: a usage error naming the point and
 * how many points the mode has, never "ok".
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_explore_point, .init = setup, .fini = teardown);

/* One `crash:` marker: mode marked has two points (the marker, the end). */
static const char one_marker[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, size: 1M}\n"
	"steps:\n"
	"  - dm: create X --table \"0 2048 linear /dev/d 0\"\n"
	"  - write: {dev: X, length: 8s, data: seed-1, fua: true}\n"
	"  - crash: after-write\n"
	"  - read: {dev: X, length: 8s, expect: seed-1}\n";

Test(cli_explore_point, a_point_the_trace_lacks_is_a_usage_error)
{
	const char *t = tpath("mine.yaml");
	struct run_result r;

	write_text(t, one_marker);
	run(&r, "explore", t, "--point", "999", "--mode", "marked", "--budget", "2", NULL);
	cr_assert_eq(r.status, 2, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.err, "--point 999: no such crash point");
	assert_has(r.err, "2 crash points in --mode marked (0..1)");
	assert_has(r.err, "Try 'snapsim explore --help'");
	assert_lacks(r.out, " ok ");
	run_free(&r);

	/* The points that exist still run: the last one is fine. */
	run(&r, "explore", t, "--point", "1", "--mode", "marked", "--budget", "2", NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	run_free(&r);
	run(&r, "explore", t, "--point", "2", "--mode", "marked", "--budget", "2", "--json", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.out, "\"verdict\": \"no-such-point\"");
	assert_has(r.out, "\"code\": 2");
	run_free(&r);
}
