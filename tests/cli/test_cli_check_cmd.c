/*
 * test_cli_check_cmd.c - `snapsim explore --check-cmd`: placeholders are
 * checked against the trace before anything runs; a checker that holds
 * leaves the model's rows bit-identical and runs once per distinct
 * contents; a failing one is a violation with its exit status and output
 * in the database, the report, a repro line and a minimized trace that
 * carry it; a time limit kills it; the private directory holds only what
 * snapsim made and goes away, and paths reach the shell quoted.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"
#include "tool_test_util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <time.h>

#include "checker_trace.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	unsetenv("TMPDIR");
	test_dir_remove();
}

TestSuite(cli_check_cmd, .init = setup, .fini = teardown);

/* Every row of q, one line each ('|' between columns), malloc'd. */
static char *rows(const char *db, const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			fprintf(f, "%s%s", i ? "|" : "", t ? (const char *)t : "NULL");
		}
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	fclose(f);
	return buf;
}

static unsigned entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

Test(cli_check_cmd, bad_placeholders_are_usage_errors_before_anything_runs)
{
	struct run_result r;

	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("t.yaml"), "--db", tpath("a.db"), "--check-cmd",
	    "e2fsck -fn {S} {nope}", NULL);
	cr_assert_eq(r.status, 2, "stderr: %s", r.err);
	assert_has(r.err, "{nope} names no disk or dm device of");
	cr_assert_neq(access(tpath("a.db"), F_OK), 0, "the database was made before the check");
	run_free(&r);
	run(&r, "explore", tpath("t.yaml"), "--check-cmd", "true", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "names no device");
	run_free(&r);
	run(&r, "explore", tpath("t.yaml"), "--check-timeout", "5", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "--check-timeout needs --check-cmd");
	run_free(&r);
	run(&r, "explore", tpath("t.yaml"), "--check-cmd", "cmp {S} {ref}", "--check-timeout", "0",
	    NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "--check-timeout");
	run_free(&r);
	/* A trace that is rejected is the trace's error (exit 3), not the placeholder's. */
	write_text(tpath("bad.yaml"), "version: 1\ndisks:\n  - {name: d, size: 1M, colour: red}\n"
		   "steps: []\n");
	run(&r, "explore", tpath("bad.yaml"), "--check-cmd", "cmp {d} {d}", NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.err, "bad.yaml:3:");
	run_free(&r);
	/* {{ is a literal brace, so a shell's ${VAR} can be written; awk's '{ print }' is no name. */
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "-q", "--check-cmd",
	    "x=1; test \"${{x}\" = 1 && awk '{ print }' /dev/null && cmp {S} {ref}", NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	run_free(&r);
}

Test(cli_check_cmd, a_passing_checker_runs_once_per_contents_and_changes_no_model_row)
{
	struct run_result r;
	const char *q = "SELECT p.seq, s.hash, s.survivors, s.verdict, s.cow_used, s.message, s.repro "
			"FROM states s JOIN crash_points p ON p.id = s.point ORDER BY s.id";
	char *a, *b;

	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("t.yaml"), "--db", tpath("plain.db"), "-q", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	run(&r, "explore", tpath("t.yaml"), "--db", tpath("check.db"), "--json", "--check-cmd",
	    "cmp {S} {ref}", NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	/* S keeps the pre-image in every state: one distinct content, one run. */
	assert_has(r.out, "\"check_runs\": 1,");
	assert_has(r.out, "\"check_failures\": 0");
	run_free(&r);
	a = rows(tpath("plain.db"), q);
	b = rows(tpath("check.db"), q);
	cr_assert_gt(strlen(a), 100);
	cr_assert_str_eq(a, b, "the model's rows moved under --check-cmd");
	free(a);
	free(b);
	cr_assert_eq(q1(tpath("check.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'ok' AND reused = 0"), 1);
	cr_assert_gt(q1(tpath("check.db"), "SELECT COUNT(*) FROM checks WHERE reused = 1"), 100);
	/* Before the snapshot exists, a state has no S: skipped, not failed. */
	cr_assert_gt(q1(tpath("check.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'skipped' "
			"AND message LIKE '%S does not exist%'"), 0);
	cr_assert_eq(q1(tpath("check.db"), "SELECT COUNT(*) FROM judged_states WHERE verdict <> 'ok'"), 0);
}

Test(cli_check_cmd, a_failing_checker_is_a_violation_in_db_report_and_repro)
{
	struct run_result r;
	char *md, *html, *repro;

	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--db", tpath("f.db"), "--check-cmd",
	    "echo checking {X}; cmp {X} {ref}", NULL);
	cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.out, "check command exited with status 1: echo checking {X}; cmp {X} {ref}");
	assert_has(r.err, "  | checking /");
	assert_has(r.out, "--check-cmd 'echo checking {X}; cmp {X} {ref}' --check-timeout 30");
	run_free(&r);
	/* Minimized with the checker in every candidate, and replayed with it. */
	md = slurp(tpath("min-t-3.yaml"), NULL);
	assert_has(md, "# Replay: snapsim explore ");
	assert_has(md, "--check-cmd 'echo checking {X}; cmp {X} {ref}' --check-timeout 30\n");
	free(md);
	/* The model's verdict stays ok; the state fails in judged_states, as the report reads it. */
	cr_assert_gt(q1(tpath("f.db"), "SELECT COUNT(*) FROM checks c JOIN states s ON s.id = c.state "
			"WHERE c.verdict = 'failed' AND c.exit_status = 1 AND s.verdict = 'ok' "
			"AND c.output LIKE 'checking %differ%' AND c.repro LIKE '%--check-cmd%'"), 0);
	cr_assert_eq(q1(tpath("f.db"), "SELECT COUNT(*) FROM judged_states WHERE verdict = 'violation'"),
		     q1(tpath("f.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'failed'"));
	cr_assert_eq(q1(tpath("f.db"), "SELECT COUNT(*) FROM runs WHERE verdict = 'violation'"), 1);
	/* The repro line replays that one state, checker and all. */
	repro = rows(tpath("f.db"), "SELECT repro FROM checks WHERE verdict = 'failed' ORDER BY state LIMIT 1");
	cr_assert_not_null(strstr(repro, "--point 0 --survivors"), "%s", repro);
	free(repro);
	run(&r, "report", "--db", tpath("f.db"), "-o", tpath("out"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	/* db merge carries the checker's rows with their states. */
	run(&r, "db", "merge", tpath("m.db"), tpath("f.db"), tpath("f.db"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	cr_assert_eq(q1(tpath("m.db"), "SELECT COUNT(*) FROM checks c JOIN states s ON s.id = c.state"),
		     2 * q1(tpath("f.db"), "SELECT COUNT(*) FROM checks"));
	cr_assert_eq(q1(tpath("m.db"), "SELECT COUNT(*) FROM judged_states WHERE verdict = 'violation'"),
		     2 * q1(tpath("f.db"), "SELECT COUNT(*) FROM judged_states WHERE verdict = 'violation'"));
	md = slurp(tpath("out/report.md"), NULL);
	html = slurp(tpath("out/report.html"), NULL);
	assert_has(md, "Check command `echo checking {X}; cmp {X} {ref}`: failed, exit status 1");
	assert_has(md, "X.img");
	assert_has(html, "Check command <code>echo checking {X}; cmp {X} {ref}</code>");
	assert_has(html, "differ");
	free(md);
	free(html);
}

Test(cli_check_cmd, model_and_checker_failures_of_one_state_are_both_shown)
{
	struct run_result r;
	char *md, *html;

	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--budget", "2", "--db", tpath("b.db"),
	    "-q", "--check-cmd", "cmp {X} {ref}", NULL);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	run_free(&r);
	/* Give a failing state a model verdict of its own, as a broken store would. */
	{
		sqlite3 *h;

		cr_assert_eq(sqlite3_open(tpath("b.db"), &h), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(h, "UPDATE states SET verdict = 'violation', message = "
					  "'S sector 3: expected seed-1, found zero' WHERE id = "
					  "(SELECT state FROM checks WHERE verdict = 'failed' LIMIT 1)",
					  NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
	}
	run(&r, "report", "--db", tpath("b.db"), "-o", tpath("out"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	md = slurp(tpath("out/report.md"), NULL);
	html = slurp(tpath("out/report.html"), NULL);
	assert_has(md, "S sector 3: expected seed-1, found zero");
	assert_has(md, "Check command `cmp {X} {ref}`: failed, exit status 1");
	assert_has(html, "S sector 3: expected seed-1, found zero");
	assert_has(html, "Check command <code>cmp {X} {ref}</code>");
	free(md);
	free(html);
}

Test(cli_check_cmd, a_checker_past_its_time_limit_is_killed_and_a_timeout)
{
	struct run_result r;
	struct timespec t0, t1;

	write_text(tpath("t.yaml"), trace);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The sleep in the background keeps the pipe open: the group is killed, not waited for. */
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--budget", "1", "--db", tpath("t.db"),
	    "--check-cmd", "sleep 20 & sleep 20; test -f {S}", "--check-timeout", "1", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.out, "check command timed out after 1 s (killed)");
	run_free(&r);
	cr_assert_lt((t1.tv_sec - t0.tv_sec), 8, "the run waited for the checker");
	cr_assert_eq(q1(tpath("t.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'timeout' AND "
			"exit_status IS NULL"), 1);
	cr_assert_eq(q1(tpath("t.db"), "SELECT COUNT(*) FROM judged_states WHERE verdict = 'timeout'"), 1);
}

Test(cli_check_cmd, files_reach_the_shell_quoted_and_only_snapsims_are_removed)
{
	struct run_result r;
	char tmp[512], cmd[1024];

	write_text(tpath("t.yaml"), trace);
	snprintf(tmp, sizeof(tmp), "%s/it's a dir", test_dir);
	cr_assert_eq(mkdir(tmp, 0700), 0);
	setenv("TMPDIR", tmp, 1);
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "-q", "--check-cmd",
	    "test -f {S} && test -s {ref} && case {S} in *\"it's a dir\"/snapsim-check.*/S.img) ;; "
	    "*) exit 9;; esac", NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	run_free(&r);
	cr_assert_eq(entries(tmp), 0, "the private directory was left behind");
	/* A file the checker makes beside the exports is not snapsim's to remove. */
	snprintf(cmd, sizeof(cmd), "touch \"$(dirname {S})/mine\"");
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--budget", "1", "-q", "--check-cmd",
	    cmd, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_has(r.err, "left in place");
	run_free(&r);
	cr_assert_eq(entries(tmp), 1);
	{
		DIR *d = opendir(tmp);
		struct dirent *e;
		char sub[900] = "";

		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				snprintf(sub, sizeof(sub), "%s/%s", tmp, e->d_name);
		closedir(d);
		cr_assert_eq(entries(sub), 1, "expected the checker's file alone in %s", sub);
		snprintf(cmd, sizeof(cmd), "%s/mine", sub);
		cr_assert_eq(access(cmd, F_OK), 0);
	}
}
