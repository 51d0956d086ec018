/*
 * test_out_file.c - unit tests of cli/out_file.c (how snapsim writes an
 * output file) and cli/progress.c (the terminal status line).
 *
 * out_file_classify takes a stat result, so every file type is tested here
 * without creating device nodes; the block-device branch is exercised end
 * to end by test_cow_export_target.c where a loop device can be attached.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>

#include "cli_test_util.h"
#include "out_file.h"
#include "progress.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(out_file, .init = setup, .fini = teardown);

static struct stat stat_of(mode_t type)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = type | 0644;
	return st;
}

struct classify_case {
	mode_t type;         /* 0: the path does not exist */
	bool force, allow_block;
	int want;            /* 0 or the negative errno */
	enum out_kind kind;  /* when want == 0 */
	const char *msg;     /* part of the message when want != 0 */
};

Test(out_file, classify_every_file_type)
{
	static const struct classify_case cases[] = {
		{ 0, false, false, 0, OUT_NEW, NULL },
		{ 0, true, true, 0, OUT_NEW, NULL },
		{ S_IFREG, false, true, -EEXIST, 0, "x: exists; refusing to replace it (--force replaces it)" },
		{ S_IFREG, true, false, 0, OUT_REPLACE, NULL },
		{ S_IFBLK, true, false, -EINVAL, 0, "x: is a block device; refusing to write to it (the output must be a new path, a regular file)" },
		{ S_IFBLK, false, true, -EEXIST, 0, "x: is a block device; writing to it destroys its contents (--force writes over it)" },
		{ S_IFBLK, true, true, 0, OUT_BLOCK, NULL },
		{ S_IFCHR, true, true, -EINVAL, 0, "x: is a character device; refusing to write to it (the output must be a new path, a regular file or a block device)" },
		{ S_IFIFO, true, true, -EINVAL, 0, "x: is a FIFO; refusing" },
		{ S_IFSOCK, true, true, -EINVAL, 0, "x: is a socket; refusing" },
		{ S_IFDIR, true, true, -EINVAL, 0, "x: is a directory; refusing" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct classify_case *c = &cases[i];
		struct out_file_opts o = { .force = c->force, .allow_block = c->allow_block };
		struct stat st = stat_of(c->type);
		enum out_kind kind = (enum out_kind)-1;
		char msg[512] = "";
		int r = out_file_classify("x", c->type ? &st : NULL, &o, &kind, msg,
					  sizeof(msg));
		cr_assert_eq(r, c->want, "case %zu: %d, want %d (%s)", i, r, c->want, msg);
		if (r == 0)
			cr_assert_eq(kind, c->kind, "case %zu", i);
		else
			assert_has(msg, c->msg);
	}
}

Test(out_file, block_size_check)
{
	char msg[256] = "";

	cr_assert_eq(out_file_check_block_size("/dev/sdz", 4096, 4096, msg, sizeof(msg)), 0);
	cr_assert_eq(out_file_check_block_size("/dev/sdz", 8192, 4096, msg, sizeof(msg)), 0);
	cr_assert_eq(out_file_check_block_size("/dev/sdz", 4095, 4096, msg, sizeof(msg)),
		     -ENOSPC);
	assert_has(msg, "/dev/sdz: block device of 4095 bytes is smaller than the "
			"4096 bytes to write");
}

static void assert_text(const char *path, const char *want)
{
	char *got = slurp(path, NULL);

	cr_assert_str_eq(got, want, "%s", path);
	free(got);
}

static int temps_in(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".snapsim-")) {
			if (name)
				snprintf(name, len, "%s", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

Test(out_file, temporary_beside_target_until_commit)
{
	const char *path = tpath("out.img");
	struct out_file_opts o = { .force = true, .mode = 0640 };
	struct out_file of;
	char name[256] = "";
	struct stat st;
	mode_t mask = umask(022);

	write_text(path, "old");
	cr_assert_eq(out_file_open(&of, path, &o), 0, "%s", of.msg);
	cr_assert_eq(of.kind, OUT_REPLACE);
	cr_assert(of.sparse);
	cr_assert_eq(temps_in(test_dir, name, sizeof(name)), 1);
	cr_assert_eq(strncmp(name, ".out.img.snapsim-", 17), 0, "%s", name);
	cr_assert_eq(write(of.fd, "new data", 8), 8);
	assert_text(path, "old");
	cr_assert_eq(out_file_commit(&of), 0, "%s", of.msg);
	out_file_close(&of);
	umask(mask);
	assert_text(path, "new data");
	cr_assert_eq(temps_in(test_dir, NULL, 0), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640 & ~022);
}

Test(out_file, close_without_commit_removes_only_the_temporary)
{
	const char *path = tpath("out.img"), *fresh = tpath("new.img");
	struct out_file_opts o = { .force = true };
	struct out_file of;

	write_text(path, "old");
	cr_assert_eq(out_file_open(&of, path, &o), 0, "%s", of.msg);
	cr_assert_eq(write(of.fd, "partial", 7), 7);
	out_file_close(&of);
	assert_text(path, "old");
	cr_assert_eq(temps_in(test_dir, NULL, 0), 0);

	cr_assert_eq(out_file_open(&of, fresh, &o), 0, "%s", of.msg);
	cr_assert_eq(of.kind, OUT_NEW);
	out_file_close(&of);
	cr_assert_neq(access(fresh, F_OK), 0);
	cr_assert_eq(temps_in(test_dir, NULL, 0), 0);
}

/* Without force, a file that appears at the path during the write wins. */
Test(out_file, commit_without_force_never_replaces)
{
	const char *path = tpath("out.img");
	struct out_file_opts o = { 0 };
	struct out_file of;

	cr_assert_eq(out_file_open(&of, path, &o), 0, "%s", of.msg);
	cr_assert_eq(of.kind, OUT_NEW);
	cr_assert_eq(write(of.fd, "mine", 4), 4);
	write_text(path, "someone else's");
	cr_assert_eq(out_file_commit(&of), -EEXIST);
	assert_has(of.msg, "out.img: appeared while being written; left as it is");
	out_file_close(&of);
	assert_text(path, "someone else's");
	cr_assert_eq(temps_in(test_dir, NULL, 0), 0);
}

Test(out_file, refusals_create_nothing)
{
	const char *path = tpath("out.img");
	struct out_file_opts o = { .force = true, .allow_block = true };
	struct out_file of;

	write_text(path, "old");
	cr_assert_eq(out_file_open(&of, path, &(struct out_file_opts){ 0 }), -EEXIST);
	out_file_close(&of);
	cr_assert_eq(out_file_open(&of, "/dev/null", &o), -EINVAL);
	out_file_close(&of);
	cr_assert_eq(out_file_open(&of, tpath("no/such/dir"), &o), -ENOENT);
	assert_has(of.msg, "cannot create a temporary file in ");
	out_file_close(&of);
	assert_text(path, "old");
	cr_assert_eq(temps_in(test_dir, NULL, 0), 0);
}

/* ---- progress ---- */

Test(out_file, progress_format)
{
	char b[128];

	progress_format(b, sizeof(b), 50000000, 100000000, 1000000000ull);
	cr_assert_str_eq(b, "50.0/100.0 MB (50%), 50.0 MB/s, ETA 0:01");
	progress_format(b, sizeof(b), 1000000, 7201000000ull, 1000000000ull);
	cr_assert_str_eq(b, "1.0/7201.0 MB (0%), 1.0 MB/s, ETA 2:00:00");
	progress_format(b, sizeof(b), 0, 100, 5000000000ull);
	cr_assert_str_eq(b, "0.0/0.0 MB (0%), 0.0 MB/s, ETA --:--");
	progress_format(b, sizeof(b), 100, 100, 1);
	assert_has(b, "(100%)");
	assert_has(b, "ETA 0:00");
}

Test(out_file, progress_format_counts)
{
	char b[160];

	/* 12 of 40 points in 2 s: 6 points/s, 28 left, 306 states in 2 s */
	progress_format_counts(b, sizeof(b), "points", 12, 40, "states", 306, "violations", 0,
			       2000000000ull);
	cr_assert_str_eq(b, "points 12/40 (30%), 153 states/s, ETA 0:05, 0 violations");
	progress_format_counts(b, sizeof(b), "cases", 0, 9, "cases", 0, "failed", 2, 3000000000ull);
	cr_assert_str_eq(b, "cases 0/9 (0%), 0 cases/s, ETA --:--, 2 failed");
	/* a total reached (or passed) reads 100%, ETA 0:00 */
	progress_format_counts(b, sizeof(b), "points", 41, 40, "states", 10, "violations", 1, 1);
	assert_has(b, "41/40 (100%)");
	assert_has(b, "ETA 0:00");
	/* no total: what is done and its rate, no share, no ETA */
	progress_format_counts(b, sizeof(b), "steps", 1234, 0, "steps", 1234, "failed runs", 1,
			       2000000000ull);
	cr_assert_str_eq(b, "steps 1234, 617 steps/s, 1 failed runs");
	/* nothing to count as bad: no tail */
	progress_format_counts(b, sizeof(b), "steps", 5, 10, "steps", 5, NULL, 0, 1000000000ull);
	cr_assert_str_eq(b, "steps 5/10 (50%), 5 steps/s, ETA 0:01");
}

Test(out_file, progress_silent_at_first_then_one_line_then_cleared)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct progress p;
	const uint64_t s = 1000000000ull;

	cr_assert_not_null(f);
	progress_init(&p, f, "x", 100000000, 10 * s);
	progress_update(&p, 10000000, 10 * s + s);     /* 1 s: too early */
	fflush(f);
	cr_assert_eq(len, 0, "printed within the delay: %s", buf);
	progress_update(&p, 40000000, 12 * s);         /* 2 s: shown */
	fflush(f);
	cr_assert_str_eq(buf, "\rx 40.0/100.0 MB (40%), 20.0 MB/s, ETA 0:03");
	progress_update(&p, 41000000, 12 * s + s / 10); /* too soon to redraw */
	fflush(f);
	cr_assert_eq(strchr(buf + 1, '\r'), NULL, "redrawn too often: %s", buf);
	progress_update(&p, 60000000, 13 * s);
	progress_end(&p);
	fclose(f);
	/* Redrawn on the same line, never a newline, erased at the end. */
	assert_has(buf, "\rx 60.0/100.0 MB (60%), 20.0 MB/s, ETA 0:02");
	cr_assert_null(strchr(buf, '\n'));
	cr_assert_eq(buf[strlen(buf) - 1], '\r');
	free(buf);

	progress_init(&p, NULL, "x", 100, 0);           /* disabled */
	progress_update(&p, 50, 100 * s);
	progress_end(&p);
}

Test(out_file, progress_wanted_only_on_a_terminal_without_quiet)
{
	int fd = open(tpath("f"), O_WRONLY | O_CREAT, 0644);
	int master = posix_openpt(O_RDWR | O_NOCTTY), tty;

	cr_assert_geq(fd, 0);
	cr_assert_not(progress_wanted(fd, false));
	cr_assert_not(progress_wanted(fd, true));
	close(fd);
	cr_assert_geq(master, 0, "no pseudo-terminal");
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	tty = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(tty, 0);
	cr_assert(progress_wanted(tty, false));
	cr_assert_not(progress_wanted(tty, true));
	close(tty);
	close(master);
}
