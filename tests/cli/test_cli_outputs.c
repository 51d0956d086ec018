/*
 * test_cli_outputs.c - the files snapsim writes besides its main output
 * (replay --log, check --junit, the minimized traces of explore and check)
 * go through out_file: an existing file is left as it is unless --force
 * (or it is a minimized trace an earlier run wrote at that path), a FIFO
 * is refused without blocking, and what is written is complete.
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

TestSuite(cli_outputs, .init = setup, .fini = teardown);

#define USER_TEXT "the user's own file\n"

/* A trace whose live run fails on a status expectation (fast, deterministic). */
static const char failing[] =
	"version: 1\n"
	"seed: 3\n"
	"disks:\n"
	"  - {name: data, size: 256K}\n"
	"  - {name: cow, size: 64K}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 512 linear /dev/data 0\"\n"
	"  - write: {dev: X_org, length: 64K, data: seed-1}\n"
	"  - dm: create S --table \"0 512 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - status: S\n"
	"    expect: \"0 512 snapshot 99/128 16\"\n";

static void expect_file(const char *path, const char *text)
{
	char *got = slurp(path, NULL);

	cr_expect_str_eq(got, text, "%s changed", path);
	free(got);
}

Test(cli_outputs, replay_log_refuses_an_existing_file_without_force)
{
	const char *log = tpath("events.log"), *trace = SNAPSIM_SOURCE_DIR "/traces/linear-stack.yaml";
	struct run_result r;
	char *got;

	write_text(log, USER_TEXT);
	run(&r, "replay", trace, "--log", log, NULL);
	cr_expect_eq(r.status, 4, "%s", r.err);
	assert_has(r.err, log);
	assert_has(r.err, "--force");
	expect_file(log, USER_TEXT);
	run_free(&r);

	run(&r, "replay", trace, "--log", log, "--force", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	got = slurp(log, NULL);
	cr_expect(strlen(got) > 100 && strstr(got, USER_TEXT) == NULL, "log not replaced:\n%s", got);
	free(got);
	run_free(&r);

	/* --force without --log is the save steps' (and --save's) to use: no log written. */
	cr_assert_eq(unlink(log), 0);
	run(&r, "replay", trace, "--force", NULL);
	cr_expect_eq(r.status, 0, "--force without --log: %s", r.err);
	cr_expect(access(log, F_OK) != 0);
	run_free(&r);

	cr_assert_eq(mkfifo(tpath("fifo"), 0644), 0);
	run_limits.alarm_secs = 20;
	run(&r, "replay", trace, "--log", tpath("fifo"), "--force", NULL);
	cr_expect_eq(r.status, 4, "a FIFO: %s", r.err);
	assert_has(r.err, "fifo");
	run_free(&r);
}

Test(cli_outputs, check_junit_refuses_an_existing_file_without_force)
{
	const char *junit = tpath("junit.xml");
	struct run_result r;
	char *got;

	write_text(junit, USER_TEXT);
	run(&r, "check", "--cases", "1", "--props", "clean", "--junit", junit, "-q", NULL);
	cr_expect_eq(r.status, 4, "%s", r.err);
	assert_has(r.err, junit);
	expect_file(junit, USER_TEXT);
	run_free(&r);

	run(&r, "check", "--cases", "1", "--props", "clean", "--junit", junit, "-q", "--force", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	got = slurp(junit, NULL);
	cr_expect(strstr(got, "<testsuite name=\"snapsim-check\" tests=\"1\" failures=\"0\">") != NULL,
		  "%s", got);
	free(got);
	run_free(&r);
}

Test(cli_outputs, explore_keeps_a_user_file_where_a_minimized_trace_would_go)
{
	const char *trace = tpath("t.yaml"), *min = tpath("min/min-t-3.yaml");
	struct run_result r;
	char *got;

	write_text(trace, failing);
	run(&r, "explore", trace, "--min-dir", tpath("min"), NULL);
	cr_assert_eq(r.status, 1, "%s", r.err);
	assert_has(r.out, "minimized: ");
	got = slurp(min, NULL);
	cr_expect(!strncmp(got, "# Minimized by snapsim explore from ", 36), "%s", got);
	free(got);
	run_free(&r);
	/* a rerun replaces its own minimized trace */
	run(&r, "explore", trace, "--min-dir", tpath("min"), NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	assert_has(r.out, "minimized: ");
	assert_lacks(r.err, "not written");
	run_free(&r);
	/* ... but not a file of the user's */
	write_text(min, USER_TEXT);
	run(&r, "explore", trace, "--min-dir", tpath("min"), NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	assert_has(r.err, "minimized trace not written");
	assert_has(r.err, min);
	assert_lacks(r.out, "minimized: ");
	expect_file(min, USER_TEXT);
	run_free(&r);
}

Test(cli_outputs, check_keeps_a_user_file_where_a_minimized_trace_would_go)
{
	const char *trace = tpath("t.yaml"), *min = tpath("out/check-t.yaml-1.yaml");
	struct run_result r;

	write_text(trace, failing);
	cr_assert_eq(mkdir(tpath("out"), 0755), 0);
	write_text(min, USER_TEXT);
	run(&r, "check", "--trace", trace, "--cases", "1", "--out", tpath("out"), NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	assert_has(r.err, "minimized trace not written");
	expect_file(min, USER_TEXT);
	run_free(&r);
	run(&r, "check", "--trace", trace, "--cases", "1", "--out", tpath("out"), "--force", NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	assert_lacks(r.err, "not written");
	assert_has(r.err, "minimized trace: ");
	run_free(&r);
}
