/*
 * test_cli_check_min.c - failures only an application checker finds are
 * minimized too, with the checker in every candidate, and the minimized
 * trace's own Replay line reproduces them: the two tool failure classes
 *   - the checked tool crashes: a checker that dies of SIGSEGV in the
 *     states where the origin differs from its reference (a violation
 *     whose signature names the signal);
 *   - the explorer cannot run the checker: a state whose device cannot be
 *     exported because the file size limit (RLIMIT_FSIZE, SIGXFSZ ignored:
 *     a full $TMPDIR) refuses the write (verdict crash, exit 4).
 * Each is explored, minimized, the minimized trace replayed by the line it
 * carries (same failure message, same exit status), and explored and
 * minimized again: the signature it states is the original's.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"
#include "tool_test_util.h"
#include "checker_trace.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_check_min, .init = setup, .fini = teardown);

/* The text after "# TAG: " in a minimized trace, up to the end of its line (malloc'd). */
static char *comment_line(const char *text, const char *tag)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "# %s: ", tag);
	p = strstr(text, key);
	cr_assert_not_null(p, "no '%s' line in:\n%s", key, text);
	p += strlen(key);
	e = strchr(p, '\n');
	return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

static unsigned steps_of(const char *text)
{
	const char *s = strstr(text, "\nsteps:\n");
	unsigned n = 0;

	cr_assert_not_null(s);
	for (const char *p = s; (p = strstr(p, "\n  - ")); p++)
		n++;
	return n;
}

/*
 * Run a repro line (it starts with "snapsim ") through /bin/sh with the
 * built binary, under a file size limit when fsize; stdout and stderr into
 * *out. Returns the exit status.
 */
static int sh_line(const char *line, unsigned long long fsize, char **out)
{
	char *cmd;
	pid_t pid;
	int st;

	cr_assert_eq(strncmp(line, "snapsim ", 8), 0, "%s", line);
	cr_assert_gt(asprintf(&cmd, "'%s' %s > '%s' 2>&1", snapsim_bin(), line + 8,
			      tpath("line.out")), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { fsize, fsize };

		if (fsize && setrlimit(RLIMIT_FSIZE, &rl))
			_exit(127);
		signal(SIGXFSZ, SIG_IGN);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	free(cmd);
	*out = slurp(tpath("line.out"), NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Explore t.yaml with the checker (under the file size limit when fsize):
 * exit status code, the message want; minimized into DIR/min-t-3.yaml;
 * then the checks above. Returns nothing; asserts.
 */
static void minimize_and_rerun(const char *check, unsigned long long fsize, int code,
			       const char *want, const char *want_sig)
{
	struct run_result r;
	char *min, *min2, *replay, *sig, *sig2, *failure, *out;

	write_text(tpath("t.yaml"), trace);
	if (fsize) {
		run_limits.fsize = fsize;
		run_limits.ignore_xfsz = 1;
	}
	run(&r, "explore", tpath("t.yaml"), "--mode", "completion", "--min-dir", tpath("m"),
	    "--check-cmd", check, NULL);
	cr_assert_eq(r.status, code, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.out, want);
	assert_has(r.out, "minimized: ");
	/* A checker that never started is no run of it. */
	assert_has(r.out, code == 4 ? "check command: 0 runs," : "check command: 31 runs,");
	run_free(&r);

	min = slurp(tpath("m/min-t-3.yaml"), NULL);
	cr_assert_lt(steps_of(min), steps_of(trace), "nothing was dropped:\n%s", min);
	sig = comment_line(min, "Failure signature (kept by the minimizer)");
	cr_assert_str_eq(sig, want_sig);
	failure = strstr(min, want);
	cr_assert_not_null(failure, "the minimized trace does not say how it fails:\n%s", min);

	/* Its Replay line, checker and all, fails the same way. */
	replay = comment_line(min, "Replay");
	assert_has(replay, "--check-cmd ");
	cr_assert_eq(sh_line(replay, fsize, &out), code, "%s\n%s", replay, out);
	assert_has(out, want);
	free(out);

	/* Explored whole, it fails with the same signature (stated by its own minimization). */
	if (fsize) {
		run_limits.fsize = fsize;
		run_limits.ignore_xfsz = 1;
	}
	run(&r, "explore", tpath("m/min-t-3.yaml"), "--mode", "completion", "--seed", "3",
	    "--min-dir", tpath("m2"), "--check-cmd", check, NULL);
	cr_assert_eq(r.status, code, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.out, want);
	run_free(&r);
	min2 = slurp(tpath("m2/min-min-t-3-3.yaml"), NULL);
	sig2 = comment_line(min2, "Failure signature (kept by the minimizer)");
	cr_assert_str_eq(sig2, sig);
	free(min);
	free(min2);
	free(replay);
	free(sig);
	free(sig2);
}

Test(cli_check_min, a_checker_killed_by_a_signal_minimizes_and_replays_with_the_checker)
{
	/* No core file: the shell limits itself before the signal. */
	minimize_and_rerun("ulimit -c 0; cmp -s {X} {ref} || kill -SEGV $$", 0, 1,
			   "check command killed by signal 11 (SIGSEGV): ulimit -c 0; cmp -s {X} "
			   "{ref} || kill -SEGV $$",
			   "violation crash state: check command killed by signal # (SIGSEGV): "
			   "ulimit -c #; cmp -s {X} {ref} || kill -SEGV $$");
}

Test(cli_check_min, a_device_that_cannot_be_exported_is_a_tool_crash_that_minimizes)
{
	/* X is 256 KiB; 64 KiB fit every other file the run writes. */
	minimize_and_rerun("cmp -s {X} {ref}", 64 * 1024, 4,
			   "check command not run: exporting X: write: File too large",
			   "crash crash state: check command not run: exporting X: write: File too "
			   "large");
}
