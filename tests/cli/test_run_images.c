/*
 * test_run_images.c - `snapsim run` on real image files: the COW it leaves
 * is a store Linux's tools take (`cow check` clean, `cow export` gives
 * exactly what the snapshot read during the run), a second run merges it
 * back, existing files are written only where the steps write and never
 * resized, and bad mappings are refused before anything is touched. Also:
 * `snapsim recipe` writes the bundled traces/recipe/ traces and refuses
 * existing images without --force.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include "pattern.h"

#define SECTORS 2048u /* each disk: 1 MiB */

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(run_images, .init = setup, .fini = teardown);

/* Generation 1 everywhere, then the snapshot; origin writes (seed-2) on
 * chunks 0 and 5, a partial snapshot write (seed-3) in chunk 9. */
static const char *const build_trace =
	"version: 1\n"
	"disks:\n"
	"  - {name: org, size: 1M}\n"
	"  - {name: cow, size: 1M}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 2048 linear /dev/org 0\"\n"
	"  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n"
	"  - write: {dev: X, length: 2048s, data: seed-1}\n"
	"  - dm: suspend X\n"
	"  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 0, length: 8s, data: seed-2}\n"
	"  - write: {dev: X, offset: 40s, length: 8s, data: seed-2, fua: true}\n"
	"  - write: {dev: S, offset: 74s, length: 2s, data: {pattern: seed-3, base: 74s}}\n"
	"  - flush: S\n"
	"  - read: {dev: S, offset: 0, length: 74s, expect: seed-1}\n"
	"  - read: {dev: S, offset: 74s, length: 2s, expect: seed-3}\n"
	"  - read: {dev: S, offset: 76s, length: 1972s, expect: {pattern: seed-1, base: 76s}}\n"
	"  - read: {dev: X, offset: 0, length: 8s, expect: seed-2}\n"
	"  - status: S\n"
	"    expect: \"0 2048 snapshot 40/2048 16\"\n"
	"  - crash: ignored-on-files\n";

/* What the snapshot read: seed-1 but seed-3 at 74..75. */
static uint8_t *snapshot_image(void)
{
	uint8_t *img = malloc(SECTORS * 512);

	cr_assert_not_null(img);
	for (unsigned s = 0; s < SECTORS; s++)
		pattern_fill(s == 74 || s == 75 ? 3 : 1, s, img + (size_t)s * 512);
	return img;
}

static void disk_args(char *a, char *b)
{
	snprintf(a, 300, "org=%s", tpath("org.img"));
	snprintf(b, 300, "cow=%s", tpath("cow.img"));
}

Test(run_images, cow_from_a_run_checks_and_exports_as_the_snapshot_read)
{
	struct run_result r;
	char a[300], b[300];
	uint8_t *want;
	char *got;
	size_t len;

	write_text(tpath("build.yaml"), build_trace);
	disk_args(a, b);
	run(&r, "run", tpath("build.yaml"), "--disk", a, "--disk", b, "--create", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	assert_has(r.out, "PASS");
	assert_has(r.out, "(created)");
	run_free(&r);
	run(&r, "cow", "check", tpath("cow.img"), "--origin", tpath("org.img"), NULL);
	cr_assert_eq(r.status, 0, "cow check: %s%s", r.out, r.err);
	run_free(&r);
	run(&r, "cow", "export", "--origin", tpath("org.img"), "--cow", tpath("cow.img"), "-o",
	    tpath("snap.img"), "-q", NULL);
	cr_assert_eq(r.status, 0, "cow export: %s%s", r.out, r.err);
	run_free(&r);
	want = snapshot_image();
	got = slurp(tpath("snap.img"), &len);
	cr_assert_eq(len, SECTORS * 512);
	cr_assert(!memcmp(got, want, len), "the exported image is not what the snapshot read");
	free(got);
	/* The origin holds seed-2 at chunks 0 and 5, seed-1 elsewhere. */
	got = slurp(tpath("org.img"), &len);
	for (unsigned s = 0; s < SECTORS; s++) {
		uint8_t sec[512];

		pattern_fill(s < 8 || (s >= 40 && s < 48) ? 2 : 1, s, sec);
		cr_assert(!memcmp(got + (size_t)s * 512, sec, 512), "origin sector %u", s);
	}
	free(got);
	free(want);
}

Test(run_images, a_later_run_merges_the_store_back)
{
	struct run_result r;
	char a[300], b[300];
	uint8_t *want;
	char *got;
	size_t len;
	/* Activate the store from the first run, merge it, settle, check. */
	static const char *const merge =
		"version: 1\n"
		"disks:\n"
		"  - {name: org, size: 1M}\n"
		"  - {name: cow, size: 1M}\n"
		"steps:\n"
		"  - dm: create X_org --table \"0 2048 linear /dev/org 0\"\n"
		"  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
		"  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n"
		"  - read: {dev: S, offset: 0, length: 8s, expect: seed-1}\n"
		"  - dm: suspend S\n"
		"  - dm: suspend X\n"
		"  - dm: load X --table \"0 2048 snapshot-merge /dev/mapper/X_org /dev/cow P 8\"\n"
		"  - dm: resume X\n"
		"  - settle\n"
		"  - status: X\n"
		"    expect: \"0 2048 snapshot-merge 16/2048 16\"\n"
		"  - read: {dev: org, offset: 74s, length: 2s, expect: seed-3}\n"
		"  - read: {dev: org, offset: 0, length: 8s, expect: seed-1}\n";

	write_text(tpath("build.yaml"), build_trace);
	write_text(tpath("merge.yaml"), merge);
	disk_args(a, b);
	run(&r, "run", tpath("build.yaml"), "--disk", a, "--disk", b, "--create", "-q", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	run_free(&r);
	run(&r, "run", tpath("merge.yaml"), "--disk", a, "--disk", b, NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	assert_has(r.err, "activated a store written before this run");
	run_free(&r);
	/* The merged origin is the snapshot's image; the store is empty and clean. */
	want = snapshot_image();
	got = slurp(tpath("org.img"), &len);
	cr_assert_eq(len, SECTORS * 512);
	cr_assert(!memcmp(got, want, len), "the merged origin is not the snapshot's image");
	free(got);
	free(want);
	run(&r, "cow", "check", tpath("cow.img"), "--origin", tpath("org.img"), NULL);
	cr_assert_eq(r.status, 0, "cow check: %s%s", r.out, r.err);
	run_free(&r);
}

static void fill_file(const char *path, size_t bytes, uint8_t byte)
{
	uint8_t *b = malloc(bytes);

	memset(b, byte, bytes);
	write_file(path, b, bytes);
	free(b);
}

Test(run_images, existing_files_are_written_only_where_the_steps_write)
{
	struct run_result r;
	char a[300], b[300];
	struct stat st;
	char *got;
	size_t len;

	write_text(tpath("t.yaml"),
		   "version: 1\ndisks:\n  - {name: org, size: 1M}\n  - {name: cow, size: 1M}\n"
		   "steps:\n  - write: {dev: org, offset: 8s, length: 8s, data: seed-4}\n"
		   "  - read: {dev: org, offset: 0, length: 24s}\n"
		   "  - flush: org\n");
	fill_file(tpath("org.img"), 2 * SECTORS * 512, 0xaa); /* larger than the disk */
	fill_file(tpath("cow.img"), SECTORS * 512, 0x55);
	disk_args(a, b);
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--disk", b, NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	assert_has(r.out, "org = ");
	assert_has(r.out, "8 sectors written, 1 fdatasync");
	run_free(&r);
	got = slurp(tpath("org.img"), &len);
	cr_assert_eq(len, 2 * SECTORS * 512, "the file was resized");
	for (size_t i = 0; i < len; i++) {
		if (i >= 8 * 512 && i < 16 * 512)
			continue;
		cr_assert_eq((uint8_t)got[i], 0xaa, "byte %zu changed", i);
	}
	uint8_t sec[512];

	pattern_fill(4, 8, sec);
	cr_assert(!memcmp(got + 8 * 512, sec, 512));
	free(got);
	got = slurp(tpath("cow.img"), &len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq((uint8_t)got[i], 0x55, "cow byte %zu changed", i);
	free(got);

	/* An existing --log is not replaced without --force. */
	write_text(tpath("log.txt"), "mine\n");
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--disk", b, "--log", tpath("log.txt"), NULL);
	cr_assert_eq(r.status, 4, "%s", r.err);
	run_free(&r);
	got = slurp(tpath("log.txt"), NULL);
	cr_assert_str_eq(got, "mine\n");
	free(got);
	/* A short file: refused, untouched. */
	fill_file(tpath("short.img"), 1000 * 512, 0x11);
	snprintf(b, sizeof(b), "cow=%s", tpath("short.img"));
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--disk", b, "--create", NULL);
	cr_assert_eq(r.status, 3, "%s", r.err);
	assert_has(r.err, "short.img holds 512000 bytes, the trace's disk needs 1048576");
	run_free(&r);
	cr_assert_eq(stat(tpath("short.img"), &st), 0);
	cr_assert_eq(st.st_size, 1000 * 512);
	/* A disk without --disk: a usage error naming it, nothing created. */
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--create", NULL);
	cr_assert_eq(r.status, 2, "%s", r.err);
	assert_has(r.err, "disk 'cow' (line 4) has no image: give --disk cow=PATH");
	run_free(&r);
	/* A missing file without --create; a --disk the trace lacks. */
	snprintf(b, sizeof(b), "cow=%s", tpath("nope.img"));
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--disk", b, NULL);
	cr_assert_eq(r.status, 3, "%s", r.err);
	assert_has(r.err, "nope.img: No such file or directory (--create makes it)");
	run_free(&r);
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--disk", b, "--disk", "zz=x", "--create",
	    NULL);
	cr_assert_eq(r.status, 2, "%s", r.err);
	assert_has(r.err, "--disk zz=x: the trace has no disk 'zz'");
	run_free(&r);
	cr_assert_neq(stat(tpath("nope.img"), &st), 0, "a refused run created a file");
	/* Faults cannot be injected into a file. */
	write_text(tpath("f.yaml"), "version: 1\ndisks:\n  - name: org\n    size: 1M\n"
		   "    faults: [{op: write}]\nsteps: []\n");
	run(&r, "run", tpath("f.yaml"), "--disk", a, NULL);
	cr_assert_eq(r.status, 3, "%s", r.err);
	assert_has(r.err, "disk 'org' (line 3) has faults");
	run_free(&r);
}

Test(run_images, recipe_is_the_bundled_traces_and_keeps_existing_images)
{
	struct run_result r;
	const char *names[] = { "recipe.yaml", "recipe-restart.yaml" };
	char dir[300];
	char *got, *want;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/rec", test_dir);
	run(&r, "recipe", "--dir", dir, NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	assert_has(r.out, "2 checks, 0 failed");
	run_free(&r);
	for (int i = 0; i < 2; i++) {
		char p[400], q[400];

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		snprintf(q, sizeof(q), "%s/traces/recipe/%s", SNAPSIM_SOURCE_DIR, names[i]);
		got = slurp(p, NULL);
		want = slurp(q, NULL);
		cr_assert_not_null(want, "%s missing", q);
		cr_assert_str_eq(got, want, "%s is not what snapsim recipe writes", q);
		free(got);
		free(want);
	}
	/* Existing images are refused, unchanged, without --force. */
	got = slurp(tpath("rec/hdd1.img"), &len);
	run(&r, "recipe", "--dir", dir, NULL);
	cr_assert_eq(r.status, 4, "%s", r.err);
	assert_has(r.err, "--force");
	run_free(&r);
	want = slurp(tpath("rec/hdd1.img"), NULL);
	cr_assert(!memcmp(got, want, len));
	free(got);
	free(want);
	run(&r, "recipe", "--dir", dir, "--force", "--store", "N", "-q", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	run_free(&r);
}

/* The model reads an existing image's never-written sectors as they were before
 * the run: a snapshot of it, checked by the model alone after the origin changes. */
Test(run_images, the_model_starts_from_the_files_before_the_run)
{
	struct run_result r;
	char a[300], b[300];

	write_text(tpath("t.yaml"),
		   "version: 1\ndisks:\n  - {name: org, size: 1M}\n  - {name: cow, size: 1M}\n"
		   "steps:\n"
		   "  - dm: create X_org --table \"0 2048 linear /dev/org 0\"\n"
		   "  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n"
		   "  - dm: suspend X\n"
		   "  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
		   "  - dm: resume X\n"
		   "  - write: {dev: X, offset: 0, length: 64s, data: seed-2}\n"
		   "  - read: {dev: S, offset: 0, length: 2048s}\n"
		   "  - read: {dev: X, offset: 0, length: 2048s}\n");
	fill_file(tpath("org.img"), SECTORS * 512, 0xaa);
	disk_args(a, b);
	run(&r, "run", tpath("t.yaml"), "--disk", a, "--disk", b, "--create", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	assert_has(r.out, "2 reads checked against the model");
	assert_lacks(r.err, "expect: only");
	run_free(&r);
}
