/*
 * test_cli_interrupt.c - a long explore: on a terminal it shows one
 * progress line (points done/total, states/s, ETA, violations), off a
 * terminal or with -q nothing extra; SIGINT finishes the state in hand,
 * writes the database (valid, its run marked interrupted, holding every
 * state the summary counts), prints the summary and exits 130.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <poll.h>
#include <pty.h>
#include <sqlite3.h>
#include <time.h>

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_interrupt, .init = setup, .fini = teardown);

/* Explored with the default budget and --full-check this takes tens of seconds. */
#define LONG_TRACE SNAPSIM_SOURCE_DIR "/traces/multi-snapshot.yaml"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Start snapsim with args (NULL-terminated), stdout and stderr to files. */
static pid_t spawn(const char *out, const char *err, const char **args)
{
	char *argv[32];
	int n = 0;
	pid_t pid;

	argv[n++] = (char *)snapsim_bin();
	while (*args)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int i = open("/dev/null", O_RDONLY);

		if (o < 0 || e < 0 || i < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		alarm(60);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long long q(const char *db, const char *sql, char *text, size_t len)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		if (text)
			snprintf(text, len, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

Test(cli_interrupt, sigint_writes_the_database_marked_interrupted)
{
	const char *db = tpath("run.db"), *out = tpath("out.json"), *err = tpath("err");
	const char *args[] = { "explore", LONG_TRACE, "--full-check", "--db", db, "--json", NULL };
	char verdict[64], check[64], *json;
	pid_t pid = spawn(out, err, args);
	long long states;

	sleep_ms(2500);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(wait_status(pid), 130, "%s", slurp(err, NULL));
	json = slurp(out, NULL);
	assert_has(json, "\"interrupted\": true");
	assert_has(json, "\"exit_code\": 130");
	q(db, "PRAGMA integrity_check", check, sizeof(check));
	cr_expect_str_eq(check, "ok");
	q(db, "SELECT verdict FROM runs", verdict, sizeof(verdict));
	cr_expect_str_eq(verdict, "interrupted");
	states = q(db, "SELECT COUNT(*) FROM states", NULL, 0);
	cr_expect_gt(states, 0, "nothing was recorded before the signal");
	cr_expect_eq(q(db, "SELECT states_checked FROM runs", NULL, 0), states);
	{
		char want[64];

		snprintf(want, sizeof(want), "\"states_checked\": %lld", states);
		assert_has(json, want);
	}
	free(json);

	/* the human summary says so too (and the report reads the database) */
	pid = spawn(out, err, (const char *[]){ "explore", LONG_TRACE, "--full-check", "--db", tpath("b.db"), NULL });
	sleep_ms(2500);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(wait_status(pid), 130);
	json = slurp(out, NULL);
	assert_has(json, "explored 1 trace: ");
	assert_has(json, "interrupted (SIGINT) after 1 of 1 trace");
	free(json);
	{
		struct run_result r;

		run(&r, "report", "--db", tpath("b.db"), "-o", tpath("rep"), NULL);
		cr_expect_eq(r.status, 0, "%s", r.err);
		run_free(&r);
	}
}

/* Read the pty for ms milliseconds (or until EOF) into buf. */
static size_t read_for(int fd, char *buf, size_t cap, long ms)
{
	size_t n = 0;

	for (long waited = 0; waited < ms && n + 1 < cap; waited += 50) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 50) > 0) {
			ssize_t r = read(fd, buf + n, cap - 1 - n);

			if (r <= 0)
				break;
			n += (size_t)r;
		}
	}
	buf[n] = 0;
	return n;
}

/* explore on a terminal (stdout and stderr a pty) for 5 s, then SIGINT. */
static char *on_a_terminal(bool quiet)
{
	static char buf[65536];
	int fd;
	pid_t pid;

	fflush(NULL);
	pid = forkpty(&fd, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		alarm(60);
		execl(snapsim_bin(), snapsim_bin(), "explore", LONG_TRACE, "--full-check", "--no-minimize",
		      quiet ? "-q" : "--budget=64", (char *)NULL);
		_exit(127);
	}
	read_for(fd, buf, sizeof(buf), 5000); /* the line shows after 2 s */
	kill(pid, SIGINT);
	read_for(fd, buf + strlen(buf), sizeof(buf) - strlen(buf), 3000);
	cr_expect_eq(wait_status(pid), 130);
	close(fd);
	return buf;
}

Test(cli_interrupt, a_terminal_shows_progress_and_quiet_does_not)
{
	char *out = on_a_terminal(false);

	assert_has(out, "\rexplore: points ");
	assert_has(out, " states/s, ETA ");
	assert_has(out, " 0 violations");
	assert_has(out, "interrupted (SIGINT)");
	out = on_a_terminal(true);
	assert_lacks(out, "explore: points ");
	/* the terminal ends lines "\r\n"; a bare "\r" would be a redrawn line */
	for (const char *p = strchr(out, '\r'); p; p = strchr(p + 1, '\r'))
		cr_expect_eq(p[1], '\n', "a redrawn line with -q:\n%s", out);
}

Test(cli_interrupt, off_a_terminal_nothing_extra)
{
	const char *out = tpath("out"), *err = tpath("err");
	pid_t pid = spawn(out, err, (const char *[]){ "explore", LONG_TRACE, "--full-check", "--no-minimize", NULL });
	char *e;

	sleep_ms(3000);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(wait_status(pid), 130);
	e = slurp(err, NULL);
	assert_lacks(e, "points ");
	assert_lacks(e, "\r");
	free(e);
}

Test(cli_interrupt, check_stops_between_cases_and_reports_them)
{
	const char *out = tpath("out.json"), *err = tpath("err"), *junit = tpath("j.xml");
	pid_t pid = spawn(out, err, (const char *[]){ "check", "--cases", "100000", "--props", "clean",
						      "--json", "--junit", junit, NULL });
	char *json, *xml;

	sleep_ms(2000);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(wait_status(pid), 130, "%s", slurp(err, NULL));
	json = slurp(out, NULL);
	assert_has(json, "\"interrupted\": true");
	assert_has(json, "\"exit_code\": 130");
	assert_lacks(json, "\"cases\": 0,");
	xml = slurp(junit, NULL);
	assert_has(xml, "</testsuites>");
	free(xml);
	free(json);
}
