/*
 * tool_test_util.h - helpers for command tests that run real programs or
 * read the state database: a required tool (its absence fails the test,
 * never skips it), a shell command's exit status, one number from a query.
 * Header-only, like cli_test_util.h; include after it.
 */
#ifndef SNAPSIM_TESTS_CLI_TOOL_TEST_UTIL_H
#define SNAPSIM_TESTS_CLI_TOOL_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

/* A tool the test needs: its absence is a failure naming the package. */
__attribute__((unused)) static void need(const char *tool, const char *package)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	cr_assert_eq(system(cmd), 0, "%s is missing: install Debian's %s (scripts/setup.sh)", tool,
		     package);
}

/* The exit status of a shell command (128 when it did not exit). */
__attribute__((unused, format(printf, 1, 2))) static int sh_status(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The first column of the first row of q over the database file db (-1: none). */
__attribute__((unused)) static long long q1(const char *db, const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK, "%s: %s", q, sqlite3_errmsg(h));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

#endif
