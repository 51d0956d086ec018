/*
 * test_dm_registry.c - the registry and dmsetup's verbs: create, load,
 * clear, suspend, resume, remove, their state machine and failure rules,
 * and the exact output of table, status, deps, info and targets.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_target.h"
#include "dm_test_env.h"

static struct env E;

static void setup(void)
{
	env_init(&E);
	env_disk(&E, "/dev/sd1a", 2048, 1);
	env_disk(&E, "disk2", 100, 2);
}

static void teardown(void)
{
	env_fini(&E);
}

TestSuite(dm_reg, .init = setup, .fini = teardown);

static int create(const char *name, const char *uuid, const char *table,
		  unsigned flags, struct ss_error *err)
{
	ss_error_clear(err);
	return dm_create(E.reg, name, uuid, table, flags, err);
}

static void create_ok(const char *name, const char *table)
{
	struct ss_error err;

	env_ok(create(name, NULL, table, 0, &err), &err);
}

static void load_ok(const char *name, const char *table)
{
	struct ss_error err;

	ss_error_clear(&err);
	env_ok(dm_load(E.reg, name, table, 0, &err), &err);
}

static void resume_ok(const char *name)
{
	struct ss_error err;

	ss_error_clear(&err);
	env_ok(dm_resume(E.reg, name, 0, &err), &err);
}

/* ---- a probe target: records its hooks, can fail pre-resume ---- */

static char hook_log[1024];
static int probe_preresume_result;

static void logf_(const char *what, struct dm_target *ti)
{
	size_t n = strlen(hook_log);

	snprintf(hook_log + n, sizeof(hook_log) - n, "%s%s@%llu", n ? " " : "",
		 what, (unsigned long long)ti->begin);
}

static int probe_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		ti->error = "At most one argument";
		ti->error_arg = 1;
		return -EINVAL;
	}
	logf_("ctr", ti);
	return 0;
}

static void probe_dtr(struct dm_target *ti) { logf_("dtr", ti); }
static void probe_presuspend(struct dm_target *ti) { logf_("presuspend", ti); }
static void probe_postsuspend(struct dm_target *ti) { logf_("postsuspend", ti); }
static void probe_resume(struct dm_target *ti) { logf_("resume", ti); }

static int probe_preresume(struct dm_target *ti)
{
	logf_("preresume", ti);
	return probe_preresume_result;
}

static int probe_map(struct dm_target *ti, struct bio *bio)
{
	(void)ti;
	bio_endio(bio, 0);
	return DM_MAPIO_SUBMITTED;
}

static void probe_status(struct dm_target *ti, enum status_type type, char *buf,
			 size_t len)
{
	(void)ti;
	snprintf(buf, len, "%s", type == STATUSTYPE_INFO ? "ok" : "");
}

static const struct target_type probe_target = {
	.name = "probe",
	.version = { 0, 3, 1 },
	.ctr = probe_ctr,
	.dtr = probe_dtr,
	.map = probe_map,
	.status = probe_status,
	.presuspend = probe_presuspend,
	.postsuspend = probe_postsuspend,
	.preresume = probe_preresume,
	.resume = probe_resume,
};

static void register_probe(void)
{
	cr_assert_eq(dm_registry_register_target(E.reg, &probe_target), 0);
	hook_log[0] = '\0';
	probe_preresume_result = 0;
}

/* ---- create, names, info ---- */

Test(dm_reg, create_notable_outputs)
{
	create_ok("X", NULL);
	expect_text(&E, "X", TEXT_INFO, false,
		    "Name:              X\n"
		    "State:             ACTIVE\n"
		    "Read Ahead:        256\n"
		    "Tables present:    None\n"
		    "Open count:        0\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 0\n"
		    "\n");
	expect_text(&E, "X", TEXT_TABLE, false, "\n");
	expect_text(&E, "X", TEXT_STATUS, false, "\n");
	expect_text(&E, "X", TEXT_DEPS, false, "0 dependencies\t:\n");
	expect_text(&E, "X", TEXT_TABLE, true, "\n");
	cr_expect_eq(dm_device_bdev(dm_find_device(E.reg, "X"))->size_sectors, 0);
	cr_expect_eq(dm_device_num_targets(dm_find_device(E.reg, "X")), 0);
	cr_expect_null(dm_device_target(dm_find_device(E.reg, "X"), 0));
}

Test(dm_reg, create_with_table_and_uuid)
{
	struct ss_error err;
	struct dm_device *md;

	env_ok(create("vol", "LVM-abc", "0 1024 linear /dev/sd1a 384\n1024 16 zero\n1040 8 error",
		      0, &err), &err);
	md = dm_find_device(E.reg, "vol");
	cr_assert_not_null(md);
	cr_expect_str_eq(dm_device_name_of(md), "vol");
	cr_expect_eq(dm_device_minor(md), 0);
	cr_expect_eq(dm_device_bdev(md)->size_sectors, 1048);
	cr_expect_eq(dm_device_num_targets(md), 3);
	cr_expect_str_eq(dm_device_target(md, 1)->type->name, "zero");
	expect_text(&E, "vol", TEXT_INFO, false,
		    "Name:              vol\n"
		    "State:             ACTIVE\n"
		    "Read Ahead:        256\n"
		    "Tables present:    LIVE\n"
		    "Open count:        0\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 3\n"
		    "UUID: LVM-abc\n"
		    "\n");
	expect_text(&E, "vol", TEXT_TABLE, false,
		    "0 1024 linear /dev/sd1a 384\n1024 16 zero \n1040 8 error \n");
	expect_text(&E, "vol", TEXT_STATUS, false,
		    "0 1024 linear \n1024 16 zero \n1040 8 error \n");
	expect_text(&E, "vol", TEXT_DEPS, false, "1 dependencies\t: (7, 0)\n");
	cr_expect_eq(E.disks[0]->base.open_count, 1);
}

Test(dm_reg, names)
{
	struct ss_error err;
	char longname[130];

	memset(longname, 'n', 127);
	longname[127] = '\0';
	cr_expect_eq(create("", NULL, NULL, 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "invalid device name: must be 1 to 127 bytes long");
	cr_expect_eq(create("a/b", NULL, NULL, 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "invalid device name 'a/b': contains '/'");
	cr_expect_eq(create("control", NULL, NULL, 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "invalid device name 'control': reserved");
	cr_expect_eq(create(".", NULL, NULL, 0, &err), -EINVAL);
	cr_expect_eq(create("..", NULL, NULL, 0, &err), -EINVAL);
	cr_expect_eq(create(longname, NULL, NULL, 0, &err), 0);
	longname[127] = 'n';
	longname[128] = '\0';
	cr_expect_eq(create(longname, NULL, NULL, 0, &err), -EINVAL);

	cr_expect_eq(create("X", "u-1", NULL, 0, &err), 0);
	cr_expect_eq(create("X", NULL, NULL, 0, &err), -EBUSY);
	cr_expect_str_eq(err.msg, "device 'X' already exists");
	cr_expect_eq(create("Y", "u-1", NULL, 0, &err), -EBUSY);
	cr_expect_str_eq(err.msg, "uuid 'u-1' is already used by device 'X'");
	cr_expect_null(dm_find_device(E.reg, "Y"));
	/* Minors: lowest free. */
	cr_expect_eq(create("Y", "", NULL, 0, &err), 0);
	cr_expect_eq(dm_device_minor(dm_find_device(E.reg, "Y")), 2);
	cr_expect_eq(dm_remove(E.reg, "X", &err), 0);
	cr_expect_eq(create("Z", NULL, NULL, 0, &err), 0);
	cr_expect_eq(dm_device_minor(dm_find_device(E.reg, "Z")), 1);
}

Test(dm_reg, create_with_bad_table_leaves_nothing)
{
	struct ss_error err;

	cr_expect_eq(create("X", "uu", "0 10 linear /dev/sd1a 0\n10 5 lineer", 0, &err),
		     -EINVAL);
	cr_expect_eq(err.line, 2);
	cr_expect_eq(err.column, 6);
	cr_expect_str_eq(err.msg, "unknown target type 'lineer'");
	cr_expect_null(dm_find_device(E.reg, "X"));
	cr_expect_eq(E.disks[0]->base.open_count, 0);
	/* Name and uuid are free again. */
	cr_expect_eq(create("X", "uu", NULL, 0, &err), 0);
}

Test(dm_reg, unknown_device)
{
	struct ss_error err;
	char *out = NULL;

	ss_error_clear(&err);
	cr_expect_eq(dm_load(E.reg, "nope", "0 1 zero", 0, &err), -ENXIO);
	cr_expect_str_eq(err.msg, "device 'nope' does not exist");
	cr_expect_eq(dm_resume(E.reg, "nope", 0, &err), -ENXIO);
	cr_expect_eq(dm_suspend(E.reg, "nope", 0, NULL, NULL, &err), -ENXIO);
	cr_expect_eq(dm_clear(E.reg, "nope", &err), -ENXIO);
	cr_expect_eq(dm_remove(E.reg, "nope", &err), -ENXIO);
	cr_expect_eq(dm_table_text(E.reg, "nope", false, &out, &err), -ENXIO);
	cr_expect_eq(dm_info_text(E.reg, "nope", &out, &err), -ENXIO);
	cr_expect_not(dm_is_suspended(E.reg, "nope"));
}

Test(dm_reg, read_only)
{
	struct ss_error err;

	env_ok(create("ro", NULL, "0 8 zero", DM_READ_ONLY, &err), &err);
	expect_text(&E, "ro", TEXT_INFO, false,
		    "Name:              ro\n"
		    "State:             ACTIVE (READ-ONLY)\n"
		    "Read Ahead:        256\n"
		    "Tables present:    LIVE\n"
		    "Open count:        0\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 1\n"
		    "\n");
	cr_expect(dm_target_read_only(dm_device_target(dm_find_device(E.reg, "ro"), 0)));
}

/* ---- load, clear ---- */

Test(dm_reg, load_clear_and_failed_loads)
{
	struct ss_error err;

	create_ok("X", "0 100 linear /dev/sd1a 0");
	load_ok("X", "0 50 linear disk2 0");
	expect_text(&E, "X", TEXT_INFO, false,
		    "Name:              X\n"
		    "State:             ACTIVE\n"
		    "Read Ahead:        256\n"
		    "Tables present:    LIVE & INACTIVE\n"
		    "Open count:        0\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 1\n"
		    "\n");
	expect_text(&E, "X", TEXT_TABLE, true, "0 50 linear disk2 0\n");
	expect_text(&E, "X", TEXT_DEPS, true, "1 dependencies\t: (7, 1)\n");
	cr_expect_eq(E.disks[1]->base.open_count, 1);

	/* A failed load changes nothing: live and inactive stay. */
	ss_error_clear(&err);
	cr_expect_eq(dm_load(E.reg, "X", "0 50 linear disk2 0\n60 1 zero", 0, &err), -EINVAL);
	cr_expect_eq(err.line, 2);
	cr_expect_eq(err.column, 1);
	cr_expect_str_eq(err.msg, "Gap in table: target starts at sector 60, expected 50");
	expect_text(&E, "X", TEXT_TABLE, true, "0 50 linear disk2 0\n");
	expect_text(&E, "X", TEXT_TABLE, false, "0 100 linear /dev/sd1a 0\n");
	cr_expect_eq(E.disks[0]->base.open_count, 1);
	cr_expect_eq(E.disks[1]->base.open_count, 1);

	/* A new load replaces the inactive table. */
	load_ok("X", "0 7 zero");
	expect_text(&E, "X", TEXT_TABLE, true, "0 7 zero \n");
	cr_expect_eq(E.disks[1]->base.open_count, 0);

	ss_error_clear(&err);
	cr_expect_eq(dm_clear(E.reg, "X", &err), 0);
	expect_text(&E, "X", TEXT_TABLE, true, "\n");
	expect_text(&E, "X", TEXT_DEPS, true, "0 dependencies\t:\n");
	cr_expect_eq(dm_clear(E.reg, "X", &err), 0); /* nothing staged: fine */
	expect_text(&E, "X", TEXT_TABLE, false, "0 100 linear /dev/sd1a 0\n");
}

Test(dm_reg, bind_check_at_first_load_then_at_resume)
{
	struct ss_error err;

	create_ok("X", NULL);
	ss_error_clear(&err);
	/* First load of a device: ranges are checked now. */
	cr_expect_eq(dm_load(E.reg, "X", "0 101 linear disk2 0", 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg,
			 "linear: device disk2 too small for target: start=0, len=101, dev_size=100");
	cr_expect_eq(err.line, 1);
	cr_expect_eq(err.column, 14);
	expect_text(&E, "X", TEXT_INFO, false,
		    "Name:              X\n"
		    "State:             ACTIVE\n"
		    "Read Ahead:        256\n"
		    "Tables present:    None\n"
		    "Open count:        0\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 0\n"
		    "\n");
	load_ok("X", "0 100 linear disk2 0");
	resume_ok("X");
	/* Later loads: checked at the resume that swaps the table in. */
	load_ok("X", "0 10 zero\n10 101 linear disk2 0");
	ss_error_clear(&err);
	cr_expect_eq(dm_resume(E.reg, "X", 0, &err), -EINVAL);
	cr_expect_eq(err.line, 2);
	cr_expect_eq(err.column, 15);
	cr_expect_str_eq(err.msg,
			 "linear: device disk2 too small for target: start=0, len=101, dev_size=100");
	/* The new table is gone; the old one is live; the device is suspended. */
	cr_expect(dm_is_suspended(E.reg, "X"));
	expect_text(&E, "X", TEXT_TABLE, false, "0 100 linear disk2 0\n");
	expect_text(&E, "X", TEXT_TABLE, true, "\n");
	cr_expect_eq(E.disks[1]->base.open_count, 1);
	resume_ok("X");
	cr_expect_not(dm_is_suspended(E.reg, "X"));
}

Test(dm_reg, self_reference_and_loops)
{
	struct ss_error err;

	create_ok("X", "0 10 zero");
	ss_error_clear(&err);
	cr_expect_eq(dm_load(E.reg, "X", "0 10 linear /dev/mapper/X 0", 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "linear: Device lookup failed ('/dev/mapper/X' is the device this table is loaded into)");
	cr_expect_eq(err.column, 13);
	ss_error_clear(&err);
	cr_expect_eq(dm_load(E.reg, "X", "0 10 linear 254:0 0", 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "linear: Device lookup failed ('254:0' is the device this table is loaded into)");
	create_ok("Y", "0 10 linear /dev/mapper/X 0");
	ss_error_clear(&err);
	cr_expect_eq(dm_load(E.reg, "X", "0 10 linear /dev/mapper/Y 0", 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "linear: Device lookup failed ('/dev/mapper/Y' uses 'X': the tables would form a loop)");
	/* A bare mapped-device name is not a device path. */
	ss_error_clear(&err);
	cr_expect_eq(dm_load(E.reg, "Y", "0 10 linear X 0", 0, &err), -ENODEV);
	cr_expect_str_eq(err.msg, "linear: Device lookup failed (no device named 'X'; the mapped device is /dev/mapper/X)");
}

/* ---- suspend, resume ---- */

Test(dm_reg, hooks_in_order_and_swap)
{
	struct ss_error err;

	register_probe();
	create_ok("X", "0 10 probe\n10 10 probe a");
	cr_expect_str_eq(hook_log, "ctr@0 ctr@10 preresume@0 preresume@10 resume@0 resume@10");
	hook_log[0] = '\0';
	env_suspend(&E, "X", 0);
	cr_expect_str_eq(hook_log, "presuspend@0 presuspend@10 postsuspend@0 postsuspend@10");
	hook_log[0] = '\0';
	env_suspend(&E, "X", 0); /* already suspended: nothing happens */
	cr_expect_str_eq(hook_log, "");
	expect_text(&E, "X", TEXT_INFO, false,
		    "Name:              X\n"
		    "State:             SUSPENDED\n"
		    "Read Ahead:        256\n"
		    "Tables present:    LIVE\n"
		    "Open count:        0\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 2\n"
		    "\n");
	load_ok("X", "0 5 probe");
	cr_expect_str_eq(hook_log, "ctr@0");
	hook_log[0] = '\0';
	resume_ok("X");
	/* New table's hooks, then the old table is destroyed. */
	cr_expect_str_eq(hook_log, "preresume@0 resume@0 dtr@10 dtr@0");
	expect_text(&E, "X", TEXT_STATUS, false, "0 5 probe ok\n");
	cr_expect_eq(dm_device_bdev(dm_find_device(E.reg, "X"))->size_sectors, 5);
	/* Resume of an active device with nothing staged: no effect. */
	hook_log[0] = '\0';
	resume_ok("X");
	cr_expect_str_eq(hook_log, "");
	/* Resume with a staged table on an idle, active device suspends first. */
	load_ok("X", "0 6 probe");
	hook_log[0] = '\0';
	resume_ok("X");
	cr_expect_str_eq(hook_log, "presuspend@0 postsuspend@0 preresume@0 resume@0 dtr@0");
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "X", &err), 0);
}

Test(dm_reg, failed_preresume_keeps_new_table_live_and_suspended)
{
	struct ss_error err;

	register_probe();
	create_ok("X", "0 10 linear /dev/sd1a 0");
	env_suspend(&E, "X", 0);
	load_ok("X", "0 10 zero\n10 10 probe");
	probe_preresume_result = -EIO;
	hook_log[0] = '\0';
	ss_error_clear(&err);
	cr_expect_eq(dm_resume(E.reg, "X", 0, &err), -EIO);
	cr_expect_eq(err.line, 2);
	cr_expect_eq(err.column, 7);
	cr_expect_str_eq(err.msg, "probe: pre-resume failed (Input/output error)");
	cr_expect_str_eq(hook_log, "preresume@10");
	cr_expect(dm_is_suspended(E.reg, "X"));
	expect_text(&E, "X", TEXT_TABLE, false, "0 10 zero \n10 10 probe \n");
	cr_expect_eq(E.disks[0]->base.open_count, 0); /* old table destroyed */
	probe_preresume_result = 0;
	resume_ok("X");
	cr_expect_not(dm_is_suspended(E.reg, "X"));
}

Test(dm_reg, resume_without_table_fails)
{
	struct ss_error err;

	create_ok("X", NULL);
	env_suspend(&E, "X", DM_SUSPEND_NOFLUSH);
	ss_error_clear(&err);
	cr_expect_eq(dm_resume(E.reg, "X", 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "cannot resume 'X': it has no live table");
	cr_expect(dm_is_suspended(E.reg, "X"));
	load_ok("X", "0 4 zero");
	resume_ok("X");
	cr_expect_not(dm_is_suspended(E.reg, "X"));
}

Test(dm_reg, io_without_table_fails)
{
	uint8_t buf[512];

	create_ok("X", NULL);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 0, 1, buf), -EIO);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_FLUSH, 0, 0, 0, NULL), -EIO);
}

Test(dm_reg, io_queued_while_suspended)
{
	struct io_result r = { 0, 0 };
	uint8_t buf[512];
	struct bio bio;

	create_ok("X", "0 100 linear disk2 0");
	env_suspend(&E, "X", 0);
	memset(buf, 0xab, sizeof(buf));
	bio_init(&bio, env_dm(&E, "X"), BIO_WRITE, 0, 5, 1, buf, io_result_done, &r);
	bdev_submit(&bio);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 0, "I/O to a suspended device is queued, not failed");
	cr_expect_eq(E.disks[1]->writes, 0);
	load_ok("X", "0 100 linear /dev/sd1a 1000");
	resume_ok("X");
	cr_expect_eq(r.done, 0, "re-submitted through the executor, not inside resume");
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.status, 0);
	/* It went through the table live at resume. */
	cr_expect_eq(E.disks[0]->data[(1005 << 9) + 7], 0xab);
	cr_expect_eq(E.disks[1]->writes, 0);
}

static void count_done(void *ctx, int status)
{
	int *n = ctx;

	cr_expect_eq(status, 0);
	(*n)++;
}

Test(dm_reg, suspend_waits_for_in_flight_io)
{
	struct hold_bdev hold;
	struct io_result r1 = { 0, 0 }, r2 = { 0, 0 };
	struct ss_error err;
	uint8_t b1[1024], b2[512];
	struct bio bio1, bio2;
	int sdone = 0, sdone2 = 0;

	hold_init(&hold, "held", &E.disks[0]->base);
	ss_error_clear(&err);
	env_ok(dm_registry_add_bdev(E.reg, &hold.base, &err), &err);
	create_ok("X", "0 100 linear held 0");
	hold.holding = true;
	memset(b1, 1, sizeof(b1));
	bio_init(&bio1, env_dm(&E, "X"), BIO_WRITE, 0, 0, 2, b1, io_result_done, &r1);
	bdev_submit(&bio1);
	fifo_executor_run(&E.fx, 0);
	cr_assert_eq(hold.nheld, 1);

	env_ok(dm_suspend(E.reg, "X", 0, count_done, &sdone, &err), &err);
	/* A second suspend joins the first. */
	env_ok(dm_suspend(E.reg, "X", 0, count_done, &sdone2, &err), &err);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(sdone, 0);
	cr_expect_not(dm_is_suspended(E.reg, "X"));
	/* Resume and remove are refused while the suspend is in progress. */
	cr_expect_eq(dm_resume(E.reg, "X", 0, &err), -EBUSY);
	cr_expect_str_eq(err.msg, "cannot resume 'X': a suspend is still in progress");
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "X", &err), -EBUSY);
	cr_expect_str_eq(err.msg, "device 'X' is busy: I/O in flight");

	/* New I/O during the suspend is queued. */
	memset(b2, 2, sizeof(b2));
	bio_init(&bio2, env_dm(&E, "X"), BIO_WRITE, 0, 10, 1, b2, io_result_done, &r2);
	bdev_submit(&bio2);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(hold.nheld, 1);

	hold.holding = false;
	hold_release(&hold);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r1.done, 1);
	cr_expect_eq(r1.status, 0);
	cr_expect_eq(sdone, 1);
	cr_expect_eq(sdone2, 1);
	cr_expect(dm_is_suspended(E.reg, "X"));
	cr_expect_eq(r2.done, 0);
	resume_ok("X");
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r2.done, 1);
	cr_expect_eq(E.disks[0]->data[10 << 9], 2);
}

Test(dm_reg, resume_with_table_refused_while_io_in_flight)
{
	struct hold_bdev hold;
	struct io_result r = { 0, 0 };
	struct ss_error err;
	uint8_t b[512];
	struct bio bio;

	hold_init(&hold, "held", &E.disks[0]->base);
	ss_error_clear(&err);
	env_ok(dm_registry_add_bdev(E.reg, &hold.base, &err), &err);
	create_ok("X", "0 100 linear held 0");
	hold.holding = true;
	bio_init(&bio, env_dm(&E, "X"), BIO_READ, 0, 0, 1, b, io_result_done, &r);
	bdev_submit(&bio);
	load_ok("X", "0 100 zero");
	ss_error_clear(&err);
	cr_expect_eq(dm_resume(E.reg, "X", 0, &err), -EBUSY);
	cr_expect_str_eq(err.msg, "cannot swap tables of 'X' while I/O is in flight: suspend it first");
	expect_text(&E, "X", TEXT_TABLE, true, "0 100 zero \n");
	cr_expect_not(dm_is_suspended(E.reg, "X"));
	hold.holding = false;
	hold_release(&hold);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 1);
	resume_ok("X");
	expect_text(&E, "X", TEXT_TABLE, false, "0 100 zero \n");
}

Test(dm_reg, suspend_waits_for_target_busy_count)
{
	struct dm_target *ti;
	struct ss_error err;
	int sdone = 0;

	create_ok("X", "0 10 zero");
	ti = dm_device_target(dm_find_device(E.reg, "X"), 0);
	cr_expect_eq(dm_target_device(ti), dm_find_device(E.reg, "X"));
	cr_expect_eq(dm_target_registry(ti), E.reg);
	cr_expect_eq(dm_target_executor(ti), &E.fx.base);
	dm_target_busy_get(ti);
	dm_target_busy_get(ti);
	ss_error_clear(&err);
	env_ok(dm_suspend(E.reg, "X", 0, count_done, &sdone, &err), &err);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(sdone, 0);
	dm_target_busy_put(ti);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(sdone, 0);
	dm_target_busy_put(ti);
	cr_expect_eq(sdone, 0, "done runs from the executor");
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(sdone, 1);
	cr_expect(dm_is_suspended(E.reg, "X"));
}

Test(dm_reg, event_number)
{
	struct dm_target *ti;

	create_ok("X", "0 10 zero");
	ti = dm_device_target(dm_find_device(E.reg, "X"), 0);
	dm_target_event(ti);
	dm_target_event(ti);
	cr_expect_eq(dm_device_event_nr(dm_find_device(E.reg, "X")), 2);
	/* A table swap by itself raises nothing (as in Linux). */
	load_ok("X", "0 10 zero");
	resume_ok("X");
	cr_expect_eq(dm_device_event_nr(dm_find_device(E.reg, "X")), 2);
	/* Events from an inactive table are not counted. */
	load_ok("X", "0 10 zero");
	expect_text(&E, "X", TEXT_INFO, false,
		    "Name:              X\n"
		    "State:             ACTIVE\n"
		    "Read Ahead:        256\n"
		    "Tables present:    LIVE & INACTIVE\n"
		    "Open count:        0\n"
		    "Event number:      2\n"
		    "Major, minor:      254, 0\n"
		    "Number of targets: 1\n"
		    "\n");
}

Test(dm_reg, deps_most_recently_acquired_first)
{
	create_ok("X", "0 10 linear disk2 0\n10 10 linear /dev/sd1a 0\n20 10 linear disk2 5");
	expect_text(&E, "X", TEXT_DEPS, false, "2 dependencies\t: (7, 0) (7, 1)\n");
	create_ok("Y", "0 10 linear /dev/mapper/X 0\n10 10 zero\n20 5 linear 7:1 9");
	expect_text(&E, "Y", TEXT_DEPS, false, "2 dependencies\t: (7, 1) (254, 0)\n");
	cr_expect_eq(E.disks[1]->base.open_count, 2);
	cr_expect_eq(E.disks[0]->base.open_count, 1);
}

/* ---- remove ---- */

Test(dm_reg, remove_busy_and_not_busy)
{
	struct ss_error err;

	create_ok("X_org", "0 100 linear /dev/sd1a 0");
	create_ok("X", "0 100 linear /dev/mapper/X_org 0");
	expect_text(&E, "X", TEXT_TABLE, false, "0 100 linear 254:0 0\n");
	expect_text(&E, "X", TEXT_DEPS, false, "1 dependencies\t: (254, 0)\n");
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "X_org", &err), -EBUSY);
	cr_expect_str_eq(err.msg, "device 'X_org' is busy: open count 1");
	/* Held by an inactive table too. */
	create_ok("Y", NULL);
	load_ok("Y", "0 10 linear 254:0 0");
	load_ok("X", "0 5 zero");
	resume_ok("X");
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "X_org", &err), -EBUSY);
	cr_expect_eq(dm_clear(E.reg, "Y", &err), 0);
	cr_expect_eq(dm_remove(E.reg, "X_org", &err), 0);
	cr_expect_null(dm_find_device(E.reg, "X_org"));
	cr_expect_eq(E.disks[0]->base.open_count, 0);
	cr_expect_eq(dm_remove(E.reg, "X", &err), 0);
	cr_expect_eq(dm_remove(E.reg, "Y", &err), 0);
}

Test(dm_reg, remove_hooks_and_queued_io)
{
	struct io_result r = { 0, 0 };
	struct ss_error err;
	uint8_t b[512];
	struct bio bio;

	register_probe();
	create_ok("P", "0 10 probe");
	hook_log[0] = '\0';
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "P", &err), 0);
	cr_expect_str_eq(hook_log, "presuspend@0 postsuspend@0 dtr@0");

	create_ok("X", "0 10 zero");
	env_suspend(&E, "X", 0);
	bio_init(&bio, env_dm(&E, "X"), BIO_READ, 0, 0, 1, b, io_result_done, &r);
	bdev_submit(&bio);
	cr_expect_eq(dm_remove(E.reg, "X", &err), 0);
	cr_expect_eq(r.done, 0);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.status, -EIO);
}

/* ---- targets, slot, independence ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

Test(dm_reg, targets_text)
{
	static const char builtins[] = "zero             v1.2.0\n"
				       "linear           v1.4.0\n"
				       "error            v1.7.0\n";
	char *s = dm_registry_targets_text(E.reg);

	/* Newest first; the built-ins are registered first, so they end it. */
	cr_expect(ends_with(s, builtins), "%s", s);
	free(s);
	register_probe();
	cr_expect_eq(dm_registry_register_target(E.reg, &probe_target), -EEXIST);
	s = dm_registry_targets_text(E.reg);
	cr_expect(!strncmp(s, "probe            v0.3.1\n", 24), "%s", s);
	cr_expect(ends_with(s, builtins), "%s", s);
	free(s);
	cr_expect_eq(dm_registry_find_target(E.reg, "probe"), &probe_target);
	cr_expect_null(dm_registry_find_target(E.reg, "probe2"));
}

static int slot_freed;

static void slot_dtr(void *p)
{
	slot_freed++;
	free(p);
}

Test(dm_reg, snap_slot_and_two_registries)
{
	struct fifo_executor fx2;
	struct dm_registry *reg2;
	void (*dtr)(void *) = slot_dtr;
	void (*got)(void *) = NULL;
	void **slot;
	struct ss_error err;

	slot = dm_registry_snap_slot(E.reg, &dtr);
	cr_assert_not_null(slot);
	cr_expect_null(*slot);
	*slot = malloc(16);
	cr_expect_eq(dm_registry_snap_slot(E.reg, &got), slot);
	cr_expect_eq(got, slot_dtr);

	fifo_executor_init(&fx2);
	reg2 = dm_registry_create(&fx2.base);
	cr_assert_not_null(reg2);
	cr_expect_eq(dm_registry_executor(reg2), &fx2.base);
	ss_error_clear(&err);
	env_ok(dm_create(reg2, "X", NULL, "0 5 zero", 0, &err), &err);
	create_ok("X", NULL);
	cr_expect_eq(dm_device_num_targets(dm_find_device(reg2, "X")), 1);
	cr_expect_eq(dm_device_num_targets(dm_find_device(E.reg, "X")), 0);
	cr_expect_null(*dm_registry_snap_slot(reg2, NULL));
	dm_registry_destroy(reg2);
	fifo_executor_run(&fx2, 0);
	fifo_executor_destroy(&fx2);

	slot_freed = 0;
	dm_registry_destroy(E.reg);
	cr_expect_eq(slot_freed, 1);
	E.reg = dm_registry_create(&E.fx.base); /* for teardown */
}
