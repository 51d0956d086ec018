/*
 * test_ext4_snapshot_save.c - a real ext4 (Debian's mkfs.ext4; a missing
 * tool fails the test, naming it) as a disk image (`image:`), a persistent
 * snapshot of it, garbage written over the origin's superblock and inode
 * table, and `replay --save`: the saved snapshot is byte for byte the
 * pre-image and e2fsck -fn passes on it; the saved origin holds the
 * garbage and e2fsck -fn fails on it; the image file itself is only read.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"
#include "tool_test_util.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(ext4_snapshot_save, .init = setup, .fini = teardown);

static const char trace[] =
	"version: 1\n"
	"seed: 5\n"
	"disks:\n"
	"  - {name: data, image: ext4.img}\n"
	"  - {name: cow, size: 1M}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 16384 linear /dev/data 0\"\n"
	"  - dm: create X --table \"0 16384 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create X_snap --table \"0 16384 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 2s, length: 2s, data: seed-9}\n"
	"  - write: {dev: X, offset: 196s, length: 64s, data: seed-7}\n"
	"  - flush: X\n";

Test(ext4_snapshot_save, the_saved_snapshot_is_the_pre_image_and_fsck_clean)
{
	struct run_result r;

	need("cmp", "diffutils");
	need("mkfs.ext4", "e2fsprogs");
	need("e2fsck", "e2fsprogs");
	need("dumpe2fs", "e2fsprogs");
	/* 8 MiB, the same bytes every time; 1 KiB blocks: superblock at sectors 2-3, inode table at block 98. */
	cr_assert_eq(sh_status("cd '%s' && truncate -s 8M ext4.img && E2FSPROGS_FAKE_TIME=1700000000 "
			"mkfs.ext4 -q -F -b 1024 -U 4a9f1c2e-5d3b-4e6a-8f70-1b2c3d4e5f60 "
			"-E nodiscard,hash_seed=0b2c4b8e-7a8c-4c51-9d1f-3c6f2b1e0a11 ext4.img && "
			"dumpe2fs ext4.img 2>/dev/null | grep -q 'Inode table at 98-' && "
			"cp ext4.img pre.img && e2fsck -fn pre.img >/dev/null 2>&1", test_dir), 0);
	write_text(tpath("t.yaml"), trace);
	run(&r, "replay", tpath("t.yaml"), "--save", tpath("out"), NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	run_free(&r);
	cr_assert_eq(sh_status("cmp '%s' '%s'", tpath("out/dm-X_snap.img"), tpath("pre.img")), 0,
		     "the snapshot is not the pre-image");
	cr_assert_eq(sh_status("e2fsck -fn '%s' >/dev/null 2>&1", tpath("out/dm-X_snap.img")), 0);
	/* The origin took the garbage: no superblock left (e2fsck's operational error, 8). */
	cr_assert_neq(sh_status("cmp -s '%s' '%s'", tpath("out/dm-X.img"), tpath("pre.img")), 0);
	cr_assert_eq(sh_status("e2fsck -fn '%s' >/dev/null 2>&1", tpath("out/dm-X.img")), 8);
	/* Past the last garbage sector (259) the origin is still the image. */
	cr_assert_eq(sh_status("cmp -s -i 133120 '%s' '%s'", tpath("out/dm-X.img"), tpath("pre.img")), 0);
	/* The image disk's file is never written. */
	cr_assert_eq(sh_status("cmp '%s' '%s'", tpath("ext4.img"), tpath("pre.img")), 0);
	{
		char *m = slurp(tpath("out/manifest.json"), NULL);

		assert_has(m, "dm-X_snap.img");
		free(m);
	}
}
