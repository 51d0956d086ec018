/*
 * cli_test_util.h - helpers for the snapsim command tests: run the built
 * binary (SNAPSIM_BIN) with fork + execv, capture stdout, stderr and the
 * exit status; a private temp directory; file helpers.
 *
 * (Not posix_spawn: the test include path carries sim/, whose sched.h
 * shadows the system header that <spawn.h> needs.)
 *
 * Header-only (static functions) so each test executable carries its own
 * copy; only tests/cli/test_*.c include it.
 */
#ifndef SNAPSIM_TESTS_CLI_TEST_UTIL_H
#define SNAPSIM_TESTS_CLI_TEST_UTIL_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

struct run_result {
	int status;   /* exit code, or 128 + signal */
	char *out;    /* stdout, NUL-terminated */
	char *err;    /* stderr */
};

static char test_dir[64];

/*
 * Limits for the next run() only (reset after it): a file size limit
 * (RLIMIT_FSIZE, bytes; 0 none), SIGXFSZ ignored (writes past the limit
 * fail with EFBIG instead of killing), and an alarm that kills a run that
 * hangs (seconds; 0 none; the status is then 128 + SIGALRM).
 */
static struct {
	unsigned long long fsize;
	int ignore_xfsz;
	unsigned alarm_secs;
} run_limits;

__attribute__((unused)) static void test_dir_make(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/snapsim-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir));
}

__attribute__((unused)) static void test_dir_remove(void)
{
	char cmd[128];

	if (!test_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", test_dir);
	test_dir[0] = '\0';
}

/* A path inside the test directory (static buffer ring of 8). */
__attribute__((unused)) static const char *tpath(const char *name)
{
	static char bufs[8][256];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, 256, "%s/%s", test_dir, name);
	return b;
}

__attribute__((unused)) static char *slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	char *buf;

	cr_assert_not_null(f, "cannot open %s", path);
	buf = malloc(cap + 1);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

__attribute__((unused)) static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

__attribute__((unused)) static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

__attribute__((unused)) static const char *snapsim_bin(void)
{
	const char *b = getenv("SNAPSIM_BIN");

	return b && *b ? b : SNAPSIM_BINARY_DIR "/snapsim";
}

/*
 * Run snapsim with the NULL-terminated argument list (after the program
 * name); stdin_path NULL means /dev/null.
 */
__attribute__((unused)) static void run_v(struct run_result *r, const char *stdin_path, va_list ap)
{
	char *argv[64];
	int argc = 0, st;
	const char *a;
	pid_t pid;
	char out_path[300], err_path[300];

	argv[argc++] = (char *)snapsim_bin();
	while ((a = va_arg(ap, const char *)) != NULL) {
		cr_assert_lt(argc, 63);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/.stdout", test_dir);
	snprintf(err_path, sizeof(err_path), "%s/.stderr", test_dir);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork failed");
	if (pid == 0) {
		int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		if (run_limits.fsize) {
			struct rlimit rl = { run_limits.fsize, run_limits.fsize };
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
				_exit(127);
		}
		signal(SIGXFSZ, run_limits.ignore_xfsz ? SIG_IGN : SIG_DFL);
		if (run_limits.alarm_secs)
			alarm(run_limits.alarm_secs); /* survives execv */
		execv(argv[0], argv);
		_exit(127);
	}
	memset(&run_limits, 0, sizeof(run_limits));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(out_path, NULL);
	r->err = slurp(err_path, NULL);
}

__attribute__((unused)) static void run(struct run_result *r, ...)
{
	va_list ap;

	va_start(ap, r);
	run_v(r, NULL, ap);
	va_end(ap);
}

__attribute__((unused)) static void run_stdin(struct run_result *r, const char *stdin_path, ...)
{
	va_list ap;

	va_start(ap, stdin_path);
	run_v(r, stdin_path, ap);
	va_end(ap);
}

__attribute__((unused)) static void run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

#define assert_has(hay, needle) \
	cr_assert_not_null(strstr((hay), (needle)), "expected \"%s\" in:\n%s", \
			   (needle), (hay))
#define assert_lacks(hay, needle) \
	cr_assert_null(strstr((hay), (needle)), "did not expect \"%s\" in:\n%s", \
		       (needle), (hay))

#endif
