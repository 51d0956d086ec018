/*
 * test_cli_exit_codes.c - one exit-status table for every verb
 * (cli/cli_exit.h): the same cause gives the same code whichever verb
 * meets it; a bad option value is one line naming it and a hint to --help
 * (exit 2), never the whole usage; options that exclude each other are
 * refused; every verb's --help states the table.
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

TestSuite(cli_exit_codes, .init = setup, .fini = teardown);

/* Rejected by the loader: an unknown key. */
static const char bad_trace[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, sise: 1M}\n"
	"steps: []\n";

Test(cli_exit_codes, a_rejected_trace_is_3_for_every_verb)
{
	const char *t = tpath("bad.yaml");
	struct run_result r;

	write_text(t, bad_trace);
	run(&r, "replay", t, NULL);
	cr_assert_eq(r.status, 3, "replay: %s", r.err);
	assert_has(r.err, "bad.yaml:3:15: unknown key 'sise'");
	run_free(&r);
	run(&r, "explore", t, NULL);
	cr_assert_eq(r.status, 3, "explore: %s", r.err);
	assert_has(r.err, "bad.yaml:3:15: unknown key 'sise'");
	run_free(&r);
	run(&r, "check", "--trace", t, "--cases", "1", NULL);
	cr_assert_eq(r.status, 3, "check: %s", r.err);
	assert_has(r.err, "bad.yaml:3:15: unknown key 'sise'");
	run_free(&r);
	/* a missing trace is a bad input too */
	run(&r, "replay", tpath("absent.yaml"), NULL);
	cr_assert_eq(r.status, 3, "%s", r.err);
	run_free(&r);
	run(&r, "explore", tpath("absent.yaml"), NULL);
	cr_assert_eq(r.status, 3, "%s", r.err);
	run_free(&r);
	run(&r, "check", "--trace", tpath("absent.yaml"), NULL);
	cr_assert_eq(r.status, 3, "%s", r.err);
	run_free(&r);
}

/* Exit 2 with exactly the message line and the hint on stderr. */
static void expect_usage(const char *verb, const char *line, ...)
{
	struct run_result r;
	char want[512];
	va_list ap;

	va_start(ap, line);
	run_v(&r, NULL, ap);
	va_end(ap);
	snprintf(want, sizeof(want), "snapsim %s: %s\nTry 'snapsim %s --help' for more "
		 "information.\n", verb, line, verb);
	cr_expect_eq(r.status, 2, "%s: exit %d", line, r.status);
	cr_expect_str_eq(r.err, want);
	cr_expect_str_eq(r.out, "");
	run_free(&r);
}

Test(cli_exit_codes, a_bad_value_is_one_line_and_a_hint)
{
	const char *t = tpath("t.yaml");

	write_text(t, bad_trace);
	expect_usage("replay", "--seeds 5..1: first seed is greater than last",
		     "replay", t, "--seeds", "5..1", NULL);
	expect_usage("replay", "--seed -3: must not be negative", "replay", t, "--seed", "-3", NULL);
	expect_usage("replay", "--seed x1: not a number", "replay", t, "--seed=x1", NULL);
	expect_usage("replay", "--seeds 1-3: expected FIRST..LAST (e.g. 1..10)",
		     "replay", t, "--seeds", "1-3", NULL);
	expect_usage("replay", "option '--log' needs a value", "replay", t, "--log", NULL);
	expect_usage("replay", "unknown option '--frob'", "replay", t, "--frob", NULL);
	expect_usage("replay", "no TRACE given", "replay", NULL);
	expect_usage("explore", "--budget 0: at least 1", "explore", t, "--budget", "0", NULL);
	expect_usage("explore", "--mode sometimes: expected completion, flush or marked",
		     "explore", t, "--mode", "sometimes", NULL);
	expect_usage("explore", "--shard 2/2: expected K/N with 0 <= K < N (e.g. 0/4)",
		     "explore", t, "--shard", "2/2", NULL);
	expect_usage("check", "--cases 0: at least 1", "check", "--cases", "0", NULL);
	expect_usage("check", "--store Q: expected P or N", "check", "--store", "Q", NULL);
	expect_usage("recipe", "--chunk -8: must not be negative", "recipe", "--chunk", "-8", NULL);
	expect_usage("report", "missing -o DIR", "report", "--db", "x.db", NULL);
	expect_usage("db merge", "no IN.db given", "db", "merge", "out.db", NULL);
	expect_usage("table check", "missing table FILE (or - for standard input)",
		     "table", "check", NULL);
	expect_usage("cow inspect", "missing COW argument", "cow", "inspect", NULL);
}

Test(cli_exit_codes, options_that_exclude_each_other_are_refused)
{
	const char *t = tpath("t.yaml");
	struct run_result r;

	write_text(t, bad_trace);
	expect_usage("replay", "--seed 1 and --seeds 1..3 cannot be used together",
		     "replay", t, "--seed", "1", "--seeds", "1..3", NULL);
	expect_usage("explore", "--point 0 and --shard 0/2 cannot be used together",
		     "explore", t, "--point", "0", "--shard", "0/2", NULL);
	expect_usage("explore", "--survivors needs --point", "explore", t, "--survivors", "d:1", NULL);
	expect_usage("explore", "--min-dir and --no-minimize cannot be used together",
		     "explore", t, "--min-dir", "d", "--no-minimize", NULL);
	run(&r, "check", "--tap", "--json", NULL);
	cr_expect_eq(r.status, 2);
	cr_expect_str_eq(r.err, "snapsim check: --tap and --json cannot be used together (both "
			 "use stdout)\nTry 'snapsim check --help' for more information.\n");
	assert_has(r.out, "\"code\": 2"); /* --json asked for: the error is JSON too */
	run_free(&r);
	expect_usage("check", "--trace and --props crash cannot be used together (they choose "
		     "generated cases)", "check", "--trace", t, "--props", "crash", NULL);
}

Test(cli_exit_codes, cow_check_keeps_fsck_codes_for_usage)
{
	struct run_result r;

	run(&r, "cow", "check", "--frob", NULL);
	cr_assert_eq(r.status, 16);
	assert_has(r.err, "snapsim cow check: unknown option '--frob'\nTry 'snapsim cow check --help'");
	run_free(&r);
}

static const char *const leaves[][2] = {
	{ "table", "check" }, { "cow", "inspect" }, { "cow", "check" }, { "cow", "export" },
	{ "replay", NULL }, { "recipe", NULL }, { "explore", NULL }, { "report", NULL },
	{ "check", NULL }, { "db", "merge" },
};

Test(cli_exit_codes, every_help_and_the_readme_state_the_table)
{
	struct run_result r;
	char *readme;

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		if (leaves[i][1])
			run(&r, leaves[i][0], leaves[i][1], "--help", NULL);
		else
			run(&r, leaves[i][0], "--help", NULL);
		cr_assert_eq(r.status, 0, "%s %s --help", leaves[i][0], leaves[i][1]);
		assert_has(r.out, "Exit");
		if (!strcmp(leaves[i][0], "cow") && !strcmp(leaves[i][1], "check")) {
			assert_has(r.out, "16 usage error");
			assert_has(r.out, "fsck(8)");
		} else {
			cr_assert(strstr(r.out, "  2  usage error") || strstr(r.out, "2 usage error"),
				  "%s %s --help: no exit status 2:\n%s", leaves[i][0],
				  leaves[i][1] ? leaves[i][1] : "", r.out);
			/* every verb that reads an input file says 3 (recipe reads none) */
			cr_assert(!strcmp(leaves[i][0], "recipe") || strstr(r.out, "  3  ") ||
				  strstr(r.out, " 3 "), "%s --help: no exit status 3", leaves[i][0]);
			/* 1 is a failed check, never an error: no verb uses it for bad input */
			assert_lacks(r.out, "1 refused");
			assert_lacks(r.out, "1 not a");
		}
		run_free(&r);
	}
	run(&r, "--help", NULL);
	assert_has(r.out, "  3  bad input file (trace, table, COW image or database missing or invalid)");
	assert_has(r.out, "  4  I/O or tool error");
	run_free(&r);
	readme = slurp(SNAPSIM_SOURCE_DIR "/README.md", NULL);
	assert_has(readme, "| 3 | bad input file");
	assert_has(readme, "| 4 | I/O or tool error");
	assert_has(readme, "fsck(8)");
	free(readme);
}
