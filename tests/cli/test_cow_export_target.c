/*
 * test_cow_export_target.c - what `snapsim cow export -o IMAGE` does to
 * IMAGE, through the binary: device nodes and FIFOs are refused and left
 * alone, an existing file is only replaced with --force and then by a
 * rename, a failing export leaves the old file and no temporary behind, a
 * block device is written in place. The store is empty (magic 0), so the
 * image is a copy of the origin; test_cow_tools.c checks the contents of
 * real exports.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "cli_test_util.h"

#define CHUNK 16384u                  /* the default chunk an empty store uses */
#define ORIGIN_BYTES (16u * CHUNK)

static char loop_dev[64];

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	if (loop_dev[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loop_dev);
		if (system(cmd) != 0)
			fprintf(stderr, "could not detach %s\n", loop_dev);
		loop_dev[0] = '\0';
	}
	test_dir_remove();
}

TestSuite(export_target, .init = setup, .fini = teardown);

/* Origin bytes: a pattern, with chunk 2 all zeros (a hole in a file). */
static uint8_t *origin_bytes(void)
{
	uint8_t *o = malloc(ORIGIN_BYTES);

	for (size_t i = 0; i < ORIGIN_BYTES; i++)
		o[i] = (uint8_t)(i * 7 + i / CHUNK + 1);
	memset(o + 2 * CHUNK, 0, CHUNK);
	return o;
}

static void make_inputs(const char **origin, const char **cow)
{
	uint8_t *o = origin_bytes();
	uint8_t *zero = calloc(1, 8 * CHUNK);

	*origin = tpath("origin.img");
	*cow = tpath("cow.img");
	write_file(*origin, o, ORIGIN_BYTES);
	write_file(*cow, zero, 8 * CHUNK);
	free(o);
	free(zero);
}

/* Bytes unlike any export: the old content of an existing IMAGE. */
static const char *make_old(const char *name, size_t len)
{
	uint8_t *b = malloc(len);
	const char *p = tpath(name);

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(0xA5 ^ (i * 13));
	write_file(p, b, len);
	free(b);
	return p;
}

static void assert_same_bytes(const char *path, const char *want, size_t want_len)
{
	size_t n;
	char *got = slurp(path, &n);

	cr_assert_eq(n, want_len, "%s: %zu bytes, want %zu", path, n, want_len);
	cr_assert(memcmp(got, want, n) == 0, "%s: content differs", path);
	free(got);
}

static void assert_is_origin(const char *path)
{
	uint8_t *o = origin_bytes();

	assert_same_bytes(path, (const char *)o, ORIGIN_BYTES);
	free(o);
}

/* Directory entries of dir that look like snapsim temporaries. */
static int temps_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "cannot list %s", dir);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".snapsim-"))
			n++;
	closedir(d);
	return n;
}

static void assert_char_dev(const char *path, unsigned maj, unsigned min)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s is gone", path);
	cr_assert(S_ISCHR(st.st_mode), "%s is no longer a character device", path);
	cr_assert_eq(major(st.st_rdev), maj);
	cr_assert_eq(minor(st.st_rdev), min);
}

Test(export_target, dev_null_and_dev_full_refused_and_kept)
{
	const char *origin, *cow;
	const char *devs[] = { "/dev/null", "/dev/full" };
	const unsigned minors[] = { 3, 7 };
	struct run_result r;

	make_inputs(&origin, &cow);
	for (int i = 0; i < 2; i++) {
		assert_char_dev(devs[i], 1, minors[i]);
		run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o",
		    devs[i], "--force", NULL);
		cr_assert_eq(r.status, 4, "%s: status %d, stderr: %s", devs[i],
			     r.status, r.err);
		assert_has(r.err, devs[i]);
		assert_has(r.err, "is a character device; refusing to write to it");
		assert_lacks(r.err, "cannot set size");
		run_free(&r);
		assert_char_dev(devs[i], 1, minors[i]);
	}
	cr_assert_eq(temps_in("/dev"), 0);
}

Test(export_target, fifo_refused_without_blocking)
{
	const char *origin, *cow, *fifo = tpath("pipe");
	struct stat st;
	struct timespec t0, t1;
	struct run_result r;

	make_inputs(&origin, &cow);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_limits.alarm_secs = 10; /* a blocked open would hang here */
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", fifo,
	    "--force", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_neq(r.status, 128 + SIGALRM, "export blocked on the FIFO");
	cr_assert_eq(r.status, 4, "status %d, stderr: %s", r.status, r.err);
	assert_has(r.err, "pipe: is a FIFO; refusing to write to it");
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 5);
	run_free(&r);
	cr_assert_eq(lstat(fifo, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	cr_assert_eq(temps_in(test_dir), 0);
}

Test(export_target, directory_and_dangling_symlink_refused)
{
	const char *origin, *cow, *dir = tpath("d"), *link = tpath("dangling");
	struct stat st;
	struct run_result r;

	make_inputs(&origin, &cow);
	cr_assert_eq(mkdir(dir, 0755), 0);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", dir,
	    "--force", NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.err, "d: is a directory; refusing to write to it");
	run_free(&r);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));

	cr_assert_eq(symlink("nowhere", link), 0);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", link,
	    "--force", NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.err, "dangling: is a symlink to a file that cannot be reached");
	run_free(&r);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_neq(access(tpath("nowhere"), F_OK), 0);
	cr_assert_eq(temps_in(test_dir), 0);
}

Test(export_target, existing_file_needs_force)
{
	const char *origin, *cow, *out;
	char *before;
	size_t n;
	struct run_result r;

	make_inputs(&origin, &cow);
	out = make_old("snap.img", 3 * CHUNK + 5);
	before = slurp(out, &n);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 4, "stderr: %s", r.err);
	assert_has(r.err, "snap.img: exists; refusing to replace it (--force replaces it)");
	run_free(&r);
	assert_same_bytes(out, before, n);
	cr_assert_eq(temps_in(test_dir), 0);
	free(before);
}

Test(export_target, force_replaces_by_rename)
{
	const char *origin, *cow, *out, *other = tpath("other-name");
	struct stat st0, st1;
	char *before;
	size_t n;
	mode_t mask;
	struct run_result r;

	make_inputs(&origin, &cow);
	out = make_old("snap.img", 3 * CHUNK + 5);
	before = slurp(out, &n);
	cr_assert_eq(chmod(out, 0600), 0);
	/* A second name of the old file: a rename leaves it the old bytes,
	 * writing in place would change them. */
	cr_assert_eq(link(out, other), 0);
	cr_assert_eq(stat(out, &st0), 0);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out,
	    "--force", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_is_origin(out);
	assert_same_bytes(other, before, n);
	cr_assert_eq(stat(out, &st1), 0);
	cr_assert_neq(st1.st_ino, st0.st_ino, "replaced in place, not renamed");
	assert_has(r.out, "bytes written (replaced)");
	cr_assert_eq(r.err[0], '\0', "stderr not a terminal: no progress: %s", r.err);
	run_free(&r);
	mask = umask(0);
	umask(mask);
	cr_assert_eq(st1.st_mode & 07777, 0644 & ~mask, "mode %o", st1.st_mode & 07777);
	cr_assert_eq(temps_in(test_dir), 0);
	free(before);
}

Test(export_target, symlink_followed_and_kept)
{
	const char *origin, *cow, *target, *link = tpath("current.img");
	struct stat st;
	struct run_result r;

	make_inputs(&origin, &cow);
	target = make_old("v1.img", 1000);
	cr_assert_eq(symlink("v1.img", link), 0);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", link, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.err, "current.img: exists; refusing to replace it");
	run_free(&r);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", link,
	    "--force", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced by a file");
	assert_is_origin(target);
	cr_assert_eq(temps_in(test_dir), 0);
}

/* A full disk: writes past RLIMIT_FSIZE fail with EFBIG (SIGXFSZ ignored). */
Test(export_target, failed_write_keeps_old_file_and_no_temporary)
{
	const char *origin, *cow, *out, *fresh = tpath("fresh.img");
	char *before;
	size_t n;
	struct run_result r;

	make_inputs(&origin, &cow);
	out = make_old("snap.img", 5 * CHUNK);
	before = slurp(out, &n);
	run_limits.fsize = 4 * CHUNK;
	run_limits.ignore_xfsz = 1;
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out,
	    "--force", NULL);
	cr_assert_eq(r.status, 4, "status %d, stderr: %s", r.status, r.err);
	assert_same_bytes(out, before, n);
	cr_assert_eq(temps_in(test_dir), 0);
	assert_has(r.err, "snap.img: write error at byte offset 65536: File too large");
	assert_has(r.err, "snap.img: left as it was");
	run_free(&r);

	run_limits.fsize = 4 * CHUNK;
	run_limits.ignore_xfsz = 1;
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", fresh, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.err, "fresh.img: not created");
	run_free(&r);
	cr_assert_neq(access(fresh, F_OK), 0);
	cr_assert_eq(temps_in(test_dir), 0);
	free(before);
}

/* The same limit with SIGXFSZ's default action: killed, temporary removed. */
Test(export_target, fatal_signal_removes_temporary)
{
	const char *origin, *cow, *out;
	char *before;
	size_t n;
	struct run_result r;

	make_inputs(&origin, &cow);
	out = make_old("snap.img", 5 * CHUNK);
	before = slurp(out, &n);
	run_limits.fsize = 4 * CHUNK;
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out,
	    "--force", NULL);
	cr_assert_eq(r.status, 128 + SIGXFSZ, "status %d, stderr: %s", r.status, r.err);
	run_free(&r);
	assert_same_bytes(out, before, n);
	cr_assert_eq(temps_in(test_dir), 0);
	free(before);
}

Test(export_target, json_summary_and_error)
{
	const char *origin, *cow, *out = tpath("snap.img");
	struct run_result r;

	make_inputs(&origin, &cow);
	run(&r, "cow", "export", "--json", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.out[0], '{');
	assert_has(r.out, "\"ok\": true");
	assert_has(r.out, "\"target\": \"new\"");
	assert_has(r.out, "\"bytes\": 262144");
	assert_has(r.out, "\"chunks\": 16");
	assert_has(r.out, "\"chunks_from_cow\": 0");
	cr_assert_eq(strcmp(r.out + strlen(r.out) - 3, "\n}\n"), 0);
	run_free(&r);

	run(&r, "cow", "export", "--json", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "\"ok\": false");
	assert_has(r.out, "\"exit_code\": 4");
	assert_has(r.out, "exists; refusing to replace it (--force replaces it)\"");
	assert_has(r.out, "\"image_state\": \"untouched\"");
	run_free(&r);

	run(&r, "cow", "export", "--json", "--origin", origin, "-o", out, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.out, "\"exit_code\": 2");
	assert_has(r.out, "missing --cow COW");
	run_free(&r);
}

Test(export_target, quiet_prints_nothing_on_success)
{
	const char *origin, *cow, *out = tpath("snap.img");
	struct run_result r;

	make_inputs(&origin, &cow);
	run(&r, "cow", "export", "-q", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.out[0], '\0', "stdout: %s", r.out);
	cr_assert_eq(r.err[0], '\0', "stderr: %s", r.err);
	run_free(&r);
	assert_is_origin(out);
}

/* Attach backing (a file of len bytes) to a loop device; false if none. */
static bool loop_attach(const char *backing)
{
	char cmd[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", backing);
	p = popen(cmd, "r");
	if (!p)
		return false;
	if (!fgets(loop_dev, sizeof(loop_dev), p))
		loop_dev[0] = '\0';
	pclose(p);
	loop_dev[strcspn(loop_dev, "\n")] = '\0';
	return loop_dev[0] == '/';
}

/*
 * Needs a loop device (root, /dev/loop*). Without one the test fails rather
 * than passing unchecked: the suite runs as root in CI, where loop works.
 */
Test(export_target, block_device_in_place)
{
	const char *origin, *cow, *backing = tpath("disk.img");
	const size_t dev_len = ORIGIN_BYTES + 4 * CHUNK;
	char *before, *after;
	uint8_t *o;
	size_t n;
	struct run_result r;

	make_inputs(&origin, &cow);
	make_old("disk.img", dev_len);
	if (!loop_attach(backing))
		cr_assert_fail("no loop device (losetup -f failed): run the suite as root with loop devices");
	o = origin_bytes();
	before = slurp(backing, &n);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", loop_dev, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.err, "is a block device; writing to it destroys its contents "
			  "(--force writes over it)");
	run_free(&r);
	assert_same_bytes(loop_dev, before, n);

	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", loop_dev,
	    "--force", "--json", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_has(r.out, "\"target\": \"block device\"");
	run_free(&r);
	after = slurp(loop_dev, &n);
	cr_assert_eq(n, dev_len, "the device changed size");
	/* Every byte written, the zero chunk too; the rest left as it was. */
	cr_assert(memcmp(after, o, ORIGIN_BYTES) == 0, "device differs from the origin");
	cr_assert(memcmp(after + ORIGIN_BYTES, before + ORIGIN_BYTES,
			 dev_len - ORIGIN_BYTES) == 0, "bytes past the image changed");
	free(after);
	free(before);
	free(o);
}

Test(export_target, block_device_too_small_refused)
{
	const char *origin, *cow, *backing = tpath("small.img");
	char *before;
	size_t n;
	struct run_result r;

	make_inputs(&origin, &cow);
	make_old("small.img", ORIGIN_BYTES / 2);
	if (!loop_attach(backing))
		cr_assert_fail("no loop device (losetup -f failed): run the suite as root with loop devices");
	before = slurp(backing, &n);
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", loop_dev,
	    "--force", NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.err, "block device of 131072 bytes is smaller than the 262144 "
			  "bytes to write");
	run_free(&r);
	assert_same_bytes(loop_dev, before, n);
	free(before);
}
