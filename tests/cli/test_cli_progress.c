/*
 * test_cli_progress.c - the long verbs besides explore and check (replay,
 * run, import log-writes, db merge, cow export) show a progress line on a
 * terminal: replay's steps done of every trace and seed with the failed
 * runs so far, run's steps of its trace, the data import and export copy,
 * the inputs db merge has merged. With -q, or off a terminal, nothing of
 * it. SNAPSIM_PROGRESS_DELAY_MS=0 shows the line from the first update, so
 * short jobs serve (the default waits 2 s).
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <poll.h>
#include <pty.h>

static void setup(void)
{
	test_dir_make();
	setenv("SNAPSIM_PROGRESS_DELAY_MS", "0", 1);
}

static void teardown(void)
{
	unsetenv("SNAPSIM_PROGRESS_DELAY_MS");
	test_dir_remove();
}

TestSuite(cli_progress, .init = setup, .fini = teardown);

/* 8 steps: a snapshot of data on cow, then 64 KiB written through the origin. */
#define STACK \
	"version: 1\n" \
	"seed: 1\n" \
	"disks:\n" \
	"  - {name: data, size: 1M}\n" \
	"  - {name: cow, size: 1M}\n" \
	"steps:\n" \
	"  - write: {dev: data, length: 1M, data: seed-1}\n" \
	"  - dm: create X_org --table \"0 2048 linear /dev/data 0\"\n" \
	"  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n" \
	"  - dm: suspend X\n" \
	"  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 8\"\n" \
	"  - dm: resume X\n" \
	"  - write: {dev: X, offset: 0, length: 64K, data: seed-2}\n" \
	"  - flush: X\n"

/* Everything snapsim args... writes to its terminal, and its exit status. */
static char *on_a_terminal(int *status, const char **args)
{
	static char buf[1 << 16];
	char *argv[32];
	size_t n = 0;
	int fd, st, k = 0;
	pid_t pid;

	argv[k++] = (char *)snapsim_bin();
	while (*args)
		argv[k++] = (char *)*args++;
	argv[k] = NULL;
	fflush(NULL);
	pid = forkpty(&fd, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		alarm(60);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			break;
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0) /* EIO once the child has closed the terminal */
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	close(fd);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return buf;
}

/* No redrawn line: the terminal ends lines "\r\n", a bare "\r" is progress. */
static void no_progress(const char *out)
{
	for (const char *p = strchr(out, '\r'); p; p = strchr(p + 1, '\r'))
		cr_expect_eq(p[1], '\n', "a redrawn line:\n%s", out);
}

/* args once on a terminal (want in the output), once with -q (nothing). */
static void shows(const char *want, int code, const char **args, const char **quiet_args)
{
	int st;
	char *out = on_a_terminal(&st, args);

	cr_assert_eq(st, code, "%s", out);
	assert_has(out, want);
	out = on_a_terminal(&st, quiet_args);
	cr_assert_eq(st, code, "%s", out);
	no_progress(out);
}

Test(cli_progress, replay_counts_the_steps_of_every_trace_and_seed_and_failed_runs)
{
	int st;
	char *out;

	write_text(tpath("good.yaml"), STACK);
	/* 9 steps, the last one fails */
	write_text(tpath("bad.yaml"), STACK "  - read: {dev: S, length: 4K, expect: seed-2}\n");
	/* (8 + 9) steps x 2 seeds; the fourth run starts after one failed */
	out = on_a_terminal(&st, (const char *[]){ "replay", tpath("good.yaml"), tpath("bad.yaml"),
						   "--seeds", "1..2", NULL });
	cr_assert_eq(st, 1, "%s", out);
	assert_has(out, "\rreplay: steps 1/34 (2%), ");
	assert_has(out, " steps/s, ETA ");
	assert_has(out, ", 0 failed runs");
	assert_has(out, "\rreplay: steps 26/34 (76%), ");
	assert_has(out, ", 1 failed runs");
	assert_has(out, "FAIL");
	out = on_a_terminal(&st, (const char *[]){ "replay", tpath("good.yaml"), tpath("bad.yaml"),
						   "--seeds", "1..2", "-q", NULL });
	cr_assert_eq(st, 1);
	no_progress(out);
}

/* NAME=PATH of a file in the test directory (static ring of 4). */
static const char *disk_arg(const char *name, const char *file)
{
	static char bufs[4][320];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, 320, "%s=%s", name, tpath(file));
	return b;
}

/* The stack's images: data.img and cow.img with a snapshot holding 64 KiB. */
static void make_images(void)
{
	struct run_result r;

	write_text(tpath("t.yaml"), STACK);
	run(&r, "run", tpath("t.yaml"), "--disk", disk_arg("data", "data.img"), "--disk",
	    disk_arg("cow", "cow.img"), "--create", "-q", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
}

Test(cli_progress, run_counts_the_steps_of_its_trace)
{
	const char *d1 = disk_arg("data", "a.img"), *c1 = disk_arg("cow", "b.img");
	const char *d2 = disk_arg("data", "c.img"), *c2 = disk_arg("cow", "d.img");

	write_text(tpath("t.yaml"), STACK);
	shows("\rrun: steps 1/8 (12%), ", 0,
	      (const char *[]){ "run", tpath("t.yaml"), "--disk", d1, "--disk", c1, "--create",
				NULL },
	      (const char *[]){ "run", tpath("t.yaml"), "--disk", d2, "--disk", c2, "--create",
				"-q", NULL });
}

Test(cli_progress, cow_export_counts_the_bytes_copied)
{
	make_images();
	shows("\rcow export: 0.0/1.0 MB (0%), ", 0,
	      (const char *[]){ "cow", "export", "--origin", tpath("data.img"), "--cow",
				tpath("cow.img"), "-o", tpath("s1.img"), NULL },
	      (const char *[]){ "cow", "export", "--origin", tpath("data.img"), "--cow",
				tpath("cow.img"), "-o", tpath("s2.img"), "-q", NULL });
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

Test(cli_progress, import_counts_the_data_copied)
{
	/* dm-log-writes: a super block and one 4 MiB write (512-byte sectors) */
	size_t len = 512 * 2 + (4u << 20);
	uint8_t *log = calloc(1, len);

	cr_assert_not_null(log);
	put_le(log, 0x6a736677736872ull, 8);
	put_le(log + 8, 1, 8);
	put_le(log + 16, 1, 8);
	put_le(log + 24, 512, 4);
	put_le(log + 512 + 8, 8192, 8);
	memset(log + 1024, 0x5a, 4u << 20);
	write_file(tpath("log"), log, len);
	free(log);
	shows("\rimport: 1.0/4.2 MB (25%), ", 0,
	      (const char *[]){ "import", "log-writes", tpath("log"), "-o", tpath("a.yaml"), NULL },
	      (const char *[]){ "import", "log-writes", tpath("log"), "-o", tpath("b.yaml"), "-q",
				NULL });
}

Test(cli_progress, db_merge_counts_the_inputs)
{
	struct run_result r;

	write_text(tpath("t.yaml"), STACK);
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--db", tpath("in.db"), "-q", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	shows("\rdb merge: inputs 1/3 (33%), ", 0,
	      (const char *[]){ "db", "merge", tpath("a.db"), tpath("in.db"), tpath("in.db"),
				tpath("in.db"), NULL },
	      (const char *[]){ "db", "merge", tpath("b.db"), tpath("in.db"), tpath("in.db"),
				tpath("in.db"), "-q", NULL });
}

/* Off a terminal nothing of it, whatever the delay. */
Test(cli_progress, off_a_terminal_nothing_extra)
{
	struct run_result r;

	make_images();
	run(&r, "replay", tpath("t.yaml"), "--seeds", "1..2", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	assert_lacks(r.err, "\r");
	assert_lacks(r.out, "\r");
	run_free(&r);
	run(&r, "cow", "export", "--origin", tpath("data.img"), "--cow", tpath("cow.img"), "-o",
	    tpath("s.img"), NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	assert_lacks(r.err, "\r");
	run_free(&r);
	run(&r, "db", "merge", tpath("m.db"), tpath("m0.db"), NULL);
	cr_assert_eq(r.status, 3); /* m0.db is missing: the error alone */
	assert_lacks(r.err, "\r");
	run_free(&r);
}
