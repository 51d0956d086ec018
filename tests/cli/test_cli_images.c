/*
 * test_cli_images.c - image files in and out through the snapsim command:
 * a disk from an image (bad images: positioned errors, exit 3, nothing
 * written), save steps and `replay --save DIR` (manifest, no overwrite
 * without --force), `explore --save-failing DIR` on a failing state.
 */
#include "cli_test_util.h"

static void setup(void) { test_dir_make(); }
static void teardown(void) { test_dir_remove(); }

TestSuite(cli_images, .init = setup, .fini = teardown);

/* 64 KiB: sector s holds "sector s" repeated. */
static void fill_image(uint8_t *img)
{
	char rec[17];

	for (unsigned s = 0; s < 128; s++) {
		snprintf(rec, sizeof(rec), "sector %8u\n", s);
		for (unsigned i = 0; i < 512; i += 16)
			memcpy(img + s * 512 + i, rec, 16);
	}
}

static void make_image(const char *name)
{
	static uint8_t img[65536];

	fill_image(img);
	write_file(tpath(name), img, sizeof(img));
}

static const char image_trace[] =
	"version: 1\n"
	"disks:\n"
	"  - name: org\n"
	"    image: in.img\n"
	"  - name: cow\n"
	"    size: 1MiB\n"
	"steps:\n"
	"  - dm: create s --table \"0 128 snapshot /dev/org /dev/cow P 8\"\n"
	"  - dm: create o --table \"0 128 snapshot-origin /dev/org\"\n"
	"  - write: o\n"
	"    offset: 8s\n"
	"    length: 16s\n"
	"    data: seed-2\n"
	"  - save: s\n"
	"    to: snap.img\n";

static bool same_file(const char *a, const char *b)
{
	size_t na, nb;
	char *pa = slurp(a, &na), *pb = slurp(b, &nb);
	bool same = na == nb && !memcmp(pa, pb, na);

	free(pa);
	free(pb);
	return same;
}

Test(cli_images, replay_save_step_and_save_dir)
{
	struct run_result r;
	char *m;
	size_t n;

	make_image("in.img");
	write_text(tpath("t.yaml"), image_trace);
	run(&r, "replay", tpath("t.yaml"), "--save", tpath("out"), NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "saved 4 images and manifest.json in"), "%s", r.out);
	run_free(&r);
	/* The snapshot holds the image's bytes: the save step and --save agree. */
	cr_expect(same_file(tpath("snap.img"), tpath("in.img")));
	cr_expect(same_file(tpath("out/dm-s.img"), tpath("in.img")));
	cr_expect(same_file(tpath("out/dm-o.img"), tpath("out/disk-org.img")));
	cr_expect(!same_file(tpath("out/dm-o.img"), tpath("in.img")), "the origin was written");
	m = slurp(tpath("out/manifest.json"), &n);
	cr_expect(strstr(m, "{\"device\": \"org\", \"kind\": \"disk\", \"content\": \"current\", "
			 "\"file\": \"disk-org.img\", \"size_bytes\": 65536, \"fnv1a64\": \""), "%s", m);
	cr_expect(strstr(m, "{\"device\": \"s\", \"kind\": \"dm\", \"file\": \"dm-s.img\", "
			 "\"size_bytes\": 65536"), "%s", m);
	free(m);

	/* Again: the save step's file exists: rejected where it says, nothing runs. */
	run(&r, "replay", tpath("t.yaml"), NULL);
	cr_expect_eq(r.status, 3);
	cr_expect(strstr(r.err, "t.yaml:14:5: save to ") &&
		  strstr(r.err, "snap.img: the file exists (give --force to replace it)"), "%s",
		  r.err);
	run_free(&r);
	/* --save into a directory of an earlier save: refused before the run. */
	run(&r, "replay", tpath("t.yaml"), "--force", "--save", tpath("out2"), NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(unlink(tpath("snap.img")), 0);
	run(&r, "replay", tpath("t.yaml"), "--save", tpath("out2"), NULL);
	cr_expect_eq(r.status, 4, "%s", r.err);
	cr_expect(strstr(r.err, "manifest.json exists (an earlier save; give --force"), "%s",
		  r.err);
	run_free(&r);
	cr_expect(access(tpath("snap.img"), F_OK) != 0, "nothing ran");
	run(&r, "replay", tpath("t.yaml"), "--save", tpath("out2"), "--seeds", "1..2", NULL);
	cr_expect_eq(r.status, 2);
	run_free(&r);
	/* The image itself is never written. */
	{
		static uint8_t img[65536];
		size_t len;
		char *now = slurp(tpath("in.img"), &len);

		fill_image(img);
		cr_expect(len == sizeof(img) && !memcmp(now, img, len));
		free(now);
	}
}

Test(cli_images, bad_images_are_positioned_errors)
{
	static const struct { const char *disk, *want; } cases[] = {
		{ "    image: none.img\n", "t.yaml:4:12: image 'none.img': No such file or directory" },
		{ "    image: in.img\n    size: 1MiB\n",
		  "t.yaml:5:11: size is larger than image 'in.img' (65536 bytes)" },
		{ "    image: odd.img\n",
		  "t.yaml:4:12: image 'odd.img' holds 1000 bytes, not a whole number of 512-byte "
		  "sectors (give size:)" },
		{ "    image: in.img\n    initial: garbage\n",
		  "t.yaml:5:14: initial and image exclude each other" },
	};
	char text[512];
	struct run_result r;

	make_image("in.img");
	{
		static uint8_t k[1000];

		write_file(tpath("odd.img"), k, sizeof(k));
	}
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "version: 1\ndisks:\n  - name: org\n%ssteps:\n"
			 "  - save: org\n    to: o.img\n", cases[i].disk);
		write_text(tpath("t.yaml"), text);
		run(&r, "replay", tpath("t.yaml"), "--save", tpath("out"), NULL);
		cr_expect_eq(r.status, 3, "%s", cases[i].want);
		cr_expect(strstr(r.err, cases[i].want), "want %s, got %s", cases[i].want, r.err);
		run_free(&r);
		cr_expect(access(tpath("o.img"), F_OK) != 0);
		cr_expect(access(tpath("out"), F_OK) != 0, "nothing written for a rejected trace");
	}
}

/*
 * A failing state: the snapshot-origin is activated before the snapshot
 * exists, so it does not split the 64-sector origin write at the
 * snapshot's chunks and only the first chunk is copied; the explorer's
 * read of the restarted snapshot finds the new data in chunk 1.
 */
static const char failing_trace[] =
	"version: 1\n"
	"seed: 3\n"
	"disks:\n"
	"  - name: org\n"
	"    size: 1MiB\n"
	"  - name: cow\n"
	"    size: 1MiB\n"
	"steps:\n"
	"  - write: org\n    offset: 0\n    length: 128s\n    data: seed-1\n"
	"  - flush: org\n"
	"  - dm: create o --table \"0 2048 snapshot-origin /dev/org\"\n"
	"  - dm: create s --table \"0 2048 snapshot /dev/org /dev/cow P 8\"\n"
	"  - write: o\n    offset: 0\n    length: 64s\n    data: seed-2\n"
	"  - flush: o\n"
	"  - crash: m1\n";

Test(cli_images, explore_save_failing)
{
	struct run_result r;
	const char *sub = "fails/f-seed3-point0-state";
	char dir[512], *m, *p;
	size_t n;

	write_text(tpath("f.yaml"), failing_trace);
	run(&r, "explore", tpath("f.yaml"), "--mode", "marked", "--no-minimize", "--save-failing",
	    tpath("fails"), NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	p = strstr(r.out, "  saved: ");
	cr_assert(p && strstr(p, sub), "%s", r.out);
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(p + 9, " "), p + 9);
	run_free(&r);
	m = slurp(strcat(strcpy((char[600]){ 0 }, dir), "/manifest.json"), &n);
	cr_expect(strstr(m, "\"state\": \"crash point 0 (line "), "%s", m);
	cr_expect(strstr(m, "\"content\": \"durable\""), "%s", m);
	free(m);
	{
		char a[600], b[600];

		/* After the crash the origin reads the durable disk. */
		snprintf(a, sizeof(a), "%s/dm-o.img", dir);
		snprintf(b, sizeof(b), "%s/disk-org.img", dir);
		cr_expect(same_file(a, b));
	}
	/* Again: the state's files exist; refused (exit 4) unless --force. */
	run(&r, "explore", tpath("f.yaml"), "--mode", "marked", "--no-minimize", "--save-failing",
	    tpath("fails"), NULL);
	cr_expect_eq(r.status, 4, "%s", r.err);
	cr_expect(strstr(r.err, "the file exists (give --force"), "%s", r.err);
	run_free(&r);
	run(&r, "explore", tpath("f.yaml"), "--mode", "marked", "--no-minimize", "--save-failing",
	    tpath("fails"), "--force", NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	run_free(&r);
	run(&r, "explore", tpath("f.yaml"), "--force", NULL);
	cr_expect_eq(r.status, 2);
	run_free(&r);
}
