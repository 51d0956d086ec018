/*
 * test_cli_check_out.c - `snapsim check --out DIR`: the directory where
 * minimized traces go is created (with its parents) before any case runs,
 * as the README's CI snippet relies on; one that cannot be made is an
 * error naming it, before any case runs.
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

TestSuite(cli_check_out, .init = setup, .fini = teardown);

Test(cli_check_out, creates_a_missing_directory_and_its_parents)
{
	const char *dir = tpath("failures/nested/deeper");
	struct run_result r;
	struct stat st;

	cr_assert_neq(stat(tpath("failures"), &st), 0);
	run(&r, "check", "--cases", "1", "--props", "clean", "--out", dir, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(stat(dir, &st), 0, "%s was not created", dir);
	cr_assert(S_ISDIR(st.st_mode));
	run_free(&r);
}

Test(cli_check_out, a_directory_that_cannot_be_made_is_an_error)
{
	const char *file = tpath("plain-file");
	char dir[300];
	struct run_result r;

	write_text(file, "not a directory\n");
	snprintf(dir, sizeof(dir), "%s/sub", file);
	run(&r, "check", "--cases", "1", "--props", "clean", "--out", dir, NULL);
	cr_assert_eq(r.status, 4, "stderr: %s", r.err);
	assert_has(r.err, "--out ");
	assert_has(r.err, dir);
	assert_has(r.err, "Not a directory");
	/* nothing ran: no case summary */
	assert_lacks(r.err, "cases, ");
	run_free(&r);
}
