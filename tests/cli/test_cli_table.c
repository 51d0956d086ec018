/*
 * test_cli_table.c - `snapsim table check` and the top-level dispatch,
 * through the built binary: canonical output on success, `FILE: line L,
 * column C: message` and exit 3 on a bad table (or a file that cannot be
 * opened), exit 2 on usage errors.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_table, .init = setup, .fini = teardown);

Test(cli_table, top_level_help_and_errors)
{
	struct run_result r;

	run(&r, "--help", NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "usage: snapsim VERB");
	assert_has(r.out, "table check");
	assert_has(r.out, "cow inspect");
	assert_has(r.out, "cow check");
	assert_has(r.out, "cow export");
	run_free(&r);

	run(&r, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "usage: snapsim VERB");
	run_free(&r);

	run(&r, "frob", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "unknown verb 'frob'");
	run_free(&r);

	run(&r, "table", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "missing verb");
	run_free(&r);

	run(&r, "table", "lint", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "unknown verb 'lint'");
	run_free(&r);

	run(&r, "table", "check", "--help", NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "--dev NAME=SIZE");
	assert_has(r.out, "s (512-byte sectors)");
	run_free(&r);

	run(&r, "cow", NULL);
	cr_assert_eq(r.status, 2);
	run_free(&r);
	run(&r, "cow", "--help", NULL);
	cr_assert_eq(r.status, 0);
	run_free(&r);
}

Test(cli_table, canonical_output)
{
	const char *t = tpath("good.table");
	struct run_result r;

	write_text(t, "# the seed's origin\n"
		      "  0 1024 linear /dev/sd1a 384   # after the comment\n"
		      "\n"
		      "1024\t1024\tzero\n"
		      "2048 16 error\n");
	run(&r, "table", "check", "--dev", "/dev/sd1a=2048s", t, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "0 1024 linear /dev/sd1a 384\n"
				"1024 1024 zero \n"
				"2048 16 error \n");
	cr_assert_str_eq(r.err, "");
	run_free(&r);
}

Test(cli_table, stdin_and_sizes)
{
	const char *t = tpath("in.table");
	struct run_result r;

	write_text(t, "0 2097152 linear hdd1 0\n2097152 8 linear sd 0\n");
	run_stdin(&r, t, "table", "check", "--dev=hdd1=1GiB", "--dev", "sd=4K", "-", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "0 2097152 linear hdd1 0\n2097152 8 linear sd 0\n");
	run_free(&r);

	/* One sector too many for a 1 GiB device: a bind-time error. */
	write_text(t, "0 2097153 linear hdd1 0\n");
	run_stdin(&r, t, "table", "check", "--dev", "hdd1=1G", "-", NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "<stdin>: line 1, column ");
	assert_has(r.err, "too small for target");
	cr_assert_str_eq(r.out, "");
	run_free(&r);
}

Test(cli_table, errors_name_file_line_and_column)
{
	const char *t = tpath("bad.table");
	char want[512];
	struct run_result r;

	write_text(t, "0 10 zero\n10 10 lineer /dev/sd1a 0\n");
	run(&r, "table", "check", "--dev", "/dev/sd1a=1M", t, NULL);
	cr_assert_eq(r.status, 3);
	snprintf(want, sizeof(want),
		 "%s: line 2, column 7: unknown target type 'lineer'\n", t);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_eq(r.out, "");
	run_free(&r);

	write_text(t, "0 10 zero\n11 5 zero\n");
	run(&r, "table", "check", t, NULL);
	cr_assert_eq(r.status, 3);
	snprintf(want, sizeof(want),
		 "%s: line 2, column 1: Gap in table: target starts at sector 11, "
		 "expected 10\n", t);
	cr_assert_str_eq(r.err, want);
	run_free(&r);

	/* A device the table names but the command line did not give. */
	write_text(t, "0 10 zero\n10 10 linear   /dev/nope 0\n");
	run(&r, "table", "check", t, NULL);
	cr_assert_eq(r.status, 3);
	snprintf(want, sizeof(want),
		 "%s: line 2, column 16: linear: Device lookup failed (no device "
		 "named '/dev/nope')\n", t);
	cr_assert_str_eq(r.err, want);
	run_free(&r);

	run(&r, "table", "check", tpath("absent.table"), NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "absent.table: cannot open");
	run_free(&r);
}

Test(cli_table, image_devices)
{
	const char *t = tpath("img.table"), *img = tpath("disk.img");
	char *zeros = calloc(64, 512);
	struct run_result r;

	write_file(img, zeros, 64 * 512);
	free(zeros);
	write_text(t, "0 64 linear d 0\n");
	run(&r, "table", "check", "--dev", "d=" , t, NULL);
	cr_assert_eq(r.status, 2);
	run_free(&r);

	{
		char arg[300];
		snprintf(arg, sizeof(arg), "d=%s:ro", img);
		run(&r, "table", "check", "--dev", arg, t, NULL);
	}
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "0 64 linear d 0\n");
	run_free(&r);

	write_text(t, "0 65 linear d 0\n");
	{
		char arg[300];
		snprintf(arg, sizeof(arg), "d=%s", img);
		run(&r, "table", "check", "--dev", arg, t, NULL);
	}
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "img.table: line 1, column ");
	assert_has(r.err, "dev_size=64");
	run_free(&r);

	run(&r, "table", "check", "--dev", "d=nonexistent.img", t, NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "nonexistent.img: cannot open");
	run_free(&r);
}

Test(cli_table, create_mapped_devices_first)
{
	const char *org = tpath("org.table"), *t = tpath("top.table");
	char arg[300];
	struct run_result r;

	write_text(org, "0 2048 linear hdd 0\n");
	write_text(t, "0 1024 linear /dev/mapper/X_org 1024\n1024 1024 linear /dev/mapper/X_org 0\n");
	snprintf(arg, sizeof(arg), "X_org=%s", org);
	run(&r, "table", "check", "--dev", "hdd=1MiB", "--create", arg, t, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_has(r.out, "0 1024 linear ");
	assert_has(r.out, "1024 1024 linear ");
	run_free(&r);

	/* An error in a --create table names that file. */
	write_text(org, "0 4096 linear hdd 0\n");
	run(&r, "table", "check", "--dev", "hdd=1MiB", "--create", arg, t, NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "org.table: line 1, column ");
	assert_has(r.err, "too small");
	run_free(&r);
}

Test(cli_table, usage_errors)
{
	const char *t = tpath("z.table");
	struct run_result r;

	write_text(t, "0 8 zero\n");
	run(&r, "table", "check", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "missing table FILE");
	run_free(&r);

	run(&r, "table", "check", "--dev", "hdd1", t, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "--dev 'hdd1': expected NAME=PATH or NAME=SIZE");
	run_free(&r);

	run(&r, "table", "check", "--dev", "hdd1=1000B", t, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "size '1000B' is not a whole number of 512-byte sectors");
	run_free(&r);

	run(&r, "table", "check", "--dev", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "'--dev' needs");
	run_free(&r);

	run(&r, "table", "check", "--bogus", t, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "unknown option '--bogus'");
	run_free(&r);

	run(&r, "table", "check", t, t, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "unexpected argument");
	run_free(&r);

	run(&r, "table", "check", "--create", "noequals", t, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "--create 'noequals': expected NAME=TABLEFILE");
	run_free(&r);
}

Test(cli_table, snapshot_table_never_writes_the_cow)
{
	const char *org = tpath("org.table"), *t = tpath("snap.table");
	const char *cow = tpath("cow.img");
	char *zeros = calloc(2048, 512), *after;
	char dev[300], create[300];
	size_t n;
	struct run_result r;

	write_file(cow, zeros, 2048 * 512);
	write_text(org, "0 2048 linear hdd 0\n");
	write_text(t, "0 2048 snapshot /dev/mapper/X_org cow p 8\n");
	snprintf(dev, sizeof(dev), "cow=%s", cow);
	snprintf(create, sizeof(create), "X_org=%s", org);
	/* Constructing on a zeroed COW creates a new store: in memory only. */
	run(&r, "table", "check", "--dev", "hdd=1MiB", "--dev", dev, "--create", create,
	    t, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "0 2048 snapshot 254:0 cow P 8\n");
	run_free(&r);
	after = slurp(cow, &n);
	cr_assert_eq(n, 2048 * 512);
	cr_assert(memcmp(after, zeros, n) == 0, "table check wrote to the COW image");
	free(after);

	/* An existing store's chunk size wins over the table's (spec 1.3.1). */
	memcpy(zeros, "SnAp\1\0\0\0\1\0\0\0\x10\0\0\0", 16);
	write_file(cow, zeros, 2048 * 512);
	run(&r, "table", "check", "--dev", "hdd=1MiB", "--dev", dev, "--create", create,
	    t, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "0 2048 snapshot 254:0 cow P 16\n");
	run_free(&r);
	free(zeros);

	/* A bad chunk size is reported at its column. */
	write_text(t, "0 2048 snapshot /dev/mapper/X_org cow P 12\n");
	run(&r, "table", "check", "--dev", "hdd=1MiB", "--dev", dev, "--create", create,
	    t, NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "snap.table: line 1, column ");
	assert_has(r.err, "power of 2");
	run_free(&r);
}

/* A placeholder's size is written as in traces: a bare number is sectors, B bytes. */
Test(cli_table, dev_size_units_are_the_traces_units)
{
	const char *t = tpath("s.table");
	struct run_result r;

	write_text(t, "0 64 linear d 0\n");
	for (const char *const *a = (const char *const[]){ "d=64", "d=64s", "d=32768B", "d=32K", NULL };
	     *a; a++) {
		run(&r, "table", "check", "--dev", *a, t, NULL);
		cr_expect_eq(r.status, 0, "--dev %s: %s", *a, r.err);
		run_free(&r);
	}
	write_text(t, "0 65 linear d 0\n");
	run(&r, "table", "check", "--dev", "d=64", t, NULL);
	cr_expect_eq(r.status, 3, "%s", r.err);
	assert_has(r.err, "dev_size=64");
	run_free(&r);
	run(&r, "table", "check", "--dev", "d=1000B", t, NULL);
	cr_expect_eq(r.status, 2, "%s", r.err);
	assert_has(r.err, "not a whole number of 512-byte sectors");
	run_free(&r);
}
