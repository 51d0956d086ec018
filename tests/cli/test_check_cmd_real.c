/*
 * test_check_cmd_real.c - `explore --check-cmd` with real programs on real
 * file systems and databases: Debian's e2fsprogs and sqlite3 (a missing
 * tool fails the test, naming it). A deterministic ext4 made by mkfs.ext4
 * is the origin's initial content, a persistent snapshot is taken, and
 * garbage is written over the origin's superblock and inode table:
 *   - e2fsck -fn on the snapshot holds in every explored crash state (the
 *     snapshot is the pre-image whatever survived the power cut);
 *   - e2fsck -fn on the origin is caught failing in the states where the
 *     garbage survived, with e2fsck's exit status and output in the state
 *     database and the report.
 * The same with an SQLite database as the device and PRAGMA
 * integrity_check as the checker.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"
#include "tool_test_util.h"

#include <sqlite3.h>

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(check_cmd_real, .init = setup, .fini = teardown);

/* A shell command that must succeed (its text is in the test's line). */
#define sh(...) cr_assert_eq(sh_status(__VA_ARGS__), 0, "a shell command failed")

/*
 * An 8 MiB ext4, the same bytes every time: fixed UUID and hash seed,
 * E2FSPROGS_FAKE_TIME for every timestamp, no discard. 1 KiB blocks:
 * the superblock is bytes 1024..2047 (sectors 2-3); dumpe2fs says where
 * group 0's inode table is (block 98 with these options).
 */
static void make_ext4(const char *path)
{
	need("mkfs.ext4", "e2fsprogs");
	need("e2fsck", "e2fsprogs");
	sh("rm -f '%s' && truncate -s 8M '%s' && E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F "
	   "-b 1024 -U 4a9f1c2e-5d3b-4e6a-8f70-1b2c3d4e5f60 "
	   "-E nodiscard,hash_seed=0b2c4b8e-7a8c-4c51-9d1f-3c6f2b1e0a11 '%s' && "
	   "e2fsck -fn '%s' >/dev/null 2>&1 && "
	   "dumpe2fs '%s' 2>/dev/null | grep -q 'Inode table at 98-'", path, path, path, path, path);
}

/* data: the file system; X the origin, X_snap its persistent snapshot; garbage over the origin. */
static const char ext4_trace[] =
	"version: 1\n"
	"seed: 5\n"
	"disks:\n"
	"  - {name: data, size: 8M}\n"
	"  - {name: cow, size: 1M}\n"
	"steps:\n"
	"  - write: {dev: data, length: 8M, data: {file: ext4.img}, fua: true}\n"
	"  - dm: create X_org --table \"0 16384 linear /dev/data 0\"\n"
	"  - dm: create X --table \"0 16384 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create X_snap --table \"0 16384 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 2s, length: 2s, data: seed-9}\n"
	"  - write: {dev: X, offset: 196s, length: 64s, data: seed-7}\n"
	"  - crash: garbage-written\n"
	"  - flush: X\n"
	"  - crash: flushed\n";

Test(check_cmd_real, e2fsck_holds_on_the_snapshot_in_every_crash_state)
{
	struct run_result r;

	make_ext4(tpath("ext4.img"));
	write_text(tpath("e.yaml"), ext4_trace);
	run(&r, "explore", tpath("e.yaml"), "--mode", "marked", "--budget", "16", "--db", tpath("e.db"),
	    "--json", "--check-cmd", "e2fsck -fn {X_snap}", NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.out, "\"check_failures\": 0");
	run_free(&r);
	/* Every state after the snapshot was judged by e2fsck itself (run or reused), and passed. */
	cr_assert_gt(q1(tpath("e.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'ok'"), 10);
	cr_assert_eq(q1(tpath("e.db"), "SELECT COUNT(*) FROM checks WHERE verdict <> 'ok'"), 0);
	cr_assert_geq(q1(tpath("e.db"), "SELECT COUNT(*) FROM checks WHERE reused = 0"), 1);
	/* The input image is only read. */
	sh("e2fsck -fn '%s' >/dev/null 2>&1", tpath("ext4.img"));
}

Test(check_cmd_real, e2fsck_catches_the_garbage_on_the_origin)
{
	struct run_result r;
	char *md;

	make_ext4(tpath("ext4.img"));
	write_text(tpath("e.yaml"), ext4_trace);
	run(&r, "explore", tpath("e.yaml"), "--mode", "marked", "--budget", "16", "--keep-going",
	    "--db", tpath("e.db"), "--check-cmd", "e2fsck -fn {X}", NULL);
	cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
	assert_has(r.out, "check command exited with status 8: e2fsck -fn {X}");
	assert_has(r.err, "Bad magic number in super-block");
	run_free(&r);
	/* e2fsck's status 8 (operational error: no valid superblock) and its words, per state. */
	cr_assert_gt(q1(tpath("e.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'failed' AND "
			"exit_status = 8 AND output LIKE '%Bad magic number in super-block%'"), 0);
	/* At the flushed point every write is durable: no state of it passes. */
	cr_assert_eq(q1(tpath("e.db"), "SELECT COUNT(*) FROM checks c JOIN states s ON s.id = c.state "
			"JOIN crash_points p ON p.id = s.point WHERE p.label = 'crash: flushed' AND "
			"c.verdict = 'ok'"), 0);
	/* Where the superblock's write was lost, the origin is still a clean file system. */
	cr_assert_gt(q1(tpath("e.db"), "SELECT COUNT(*) FROM checks WHERE verdict = 'ok'"), 0);
	cr_assert_eq(q1(tpath("e.db"), "SELECT COUNT(*) FROM states WHERE verdict <> 'ok'"), 0);
	run(&r, "report", "--db", tpath("e.db"), "-o", tpath("out"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	md = slurp(tpath("out/report.md"), NULL);
	assert_has(md, "Check command `e2fsck -fn {X}`: failed, exit status 8");
	assert_has(md, "Bad magic number in super-block");
	free(md);
}

/* The device is the database file itself; garbage over two of its pages on the origin. */
static const char sqlite_trace[] =
	"version: 1\n"
	"seed: 6\n"
	"disks:\n"
	"  - {name: data, size: 408K}\n"
	"  - {name: cow, size: 256K}\n"
	"steps:\n"
	"  - write: {dev: data, length: 408K, data: {file: q.db}, fua: true}\n"
	"  - dm: create X --table \"0 816 snapshot-origin /dev/data\"\n"
	"  - dm: suspend X\n"
	"  - dm: create X_snap --table \"0 816 snapshot /dev/data /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 200K, length: 8K, data: seed-3}\n"
	"  - crash: garbage-written\n"
	"  - flush: X\n"
	"  - crash: flushed\n";

Test(check_cmd_real, sqlite_integrity_check_on_snapshot_and_origin)
{
	struct run_result r;
	const char *on_snap = "test \"$(sqlite3 {X_snap} 'PRAGMA integrity_check' 2>&1)\" = ok";
	const char *on_origin = "test \"$(sqlite3 {X} 'PRAGMA integrity_check' 2>&1)\" = ok";

	need("sqlite3", "sqlite3");
	sh("cd '%s' && sqlite3 q.db \"PRAGMA page_size=4096; CREATE TABLE t(a INTEGER PRIMARY KEY, "
	   "b TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<2000) "
	   "INSERT INTO t SELECT x, printf('row %%d %%s', x, hex(zeroblob(40))) FROM c; "
	   "CREATE INDEX tb ON t(b);\" && test $(stat -c %%s q.db) = 417792", test_dir);
	write_text(tpath("q.yaml"), sqlite_trace);
	run(&r, "explore", tpath("q.yaml"), "--mode", "marked", "--db", tpath("q.db.states"), "-q",
	    "--check-cmd", on_snap, NULL);
	cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
	run_free(&r);
	cr_assert_gt(q1(tpath("q.db.states"), "SELECT COUNT(*) FROM checks WHERE verdict = 'ok'"), 0);
	run(&r, "explore", tpath("q.yaml"), "--mode", "marked", "--keep-going", "--db",
	    tpath("q.db.origin"), "-q", "--check-cmd", on_origin, NULL);
	cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
	run_free(&r);
	cr_assert_gt(q1(tpath("q.db.origin"), "SELECT COUNT(*) FROM checks WHERE verdict = 'failed' "
			"AND exit_status = 1"), 0);
	cr_assert_gt(q1(tpath("q.db.origin"), "SELECT COUNT(*) FROM judged_states WHERE verdict = "
			"'violation'"), 0);
}
