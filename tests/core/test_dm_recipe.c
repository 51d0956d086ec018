/*
 * test_dm_recipe.c - the seed's eight-step snapshot recipe (spec 6.8)
 * driven through the registry, with linear tables standing in for the
 * snapshot and snapshot-origin targets: the verbs, the I/O held while X
 * is suspended, and the outputs at the end.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_test_env.h"

static struct env E;

static void setup(void)
{
	env_init(&E);
	env_disk(&E, "/dev/sd1a", 2048, 1);
}

static void teardown(void)
{
	env_fini(&E);
}

TestSuite(dm_recipe, .init = setup, .fini = teardown);

static void create_ok(const char *name, const char *table)
{
	struct ss_error err;

	ss_error_clear(&err);
	env_ok(dm_create(E.reg, name, NULL, table, 0, &err), &err);
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

Test(dm_recipe, eight_steps_with_linear_stand_ins)
{
	struct io_result r = { 0, 0 };
	struct ss_error err;
	uint8_t w[512], rd[512];
	struct bio bio;
	char *table;

	create_ok("X", "0 1024 linear /dev/sd1a 384");
	memset(w, 0x11, sizeof(w));
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, 0, 3, 1, w), 0);
	cr_expect_eq(E.disks[0]->data[(387 << 9)], 0x11);

	/* 1 */ env_suspend(&E, "X", 0);
	/* 2 */ create_ok("X_org", NULL);
	/* 3 */ table = env_text(&E, "X", TEXT_TABLE, false);
	cr_expect_str_eq(table, "0 1024 linear /dev/sd1a 384\n");
	load_ok("X_org", table);
	free(table);
	/* 4 */ resume_ok("X_org");
	/* 5 */ create_ok("X_snap", NULL);
	/* 6 */ load_ok("X_snap", "0 1024 linear /dev/mapper/X_org 0");
	/* 7 */ load_ok("X", "0 1024 linear /dev/mapper/X_org 0");

	/* A write through X while suspended waits for step 8. */
	memset(w, 0x22, sizeof(w));
	bio_init(&bio, env_dm(&E, "X"), BIO_WRITE, BIO_FUA, 3, 1, w, io_result_done, &r);
	bdev_submit(&bio);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 0);

	/* 8 */ resume_ok("X_snap");
	resume_ok("X");
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.status, 0);

	expect_text(&E, "X", TEXT_TABLE, false, "0 1024 linear 254:1 0\n");
	expect_text(&E, "X_snap", TEXT_TABLE, false, "0 1024 linear 254:1 0\n");
	expect_text(&E, "X_org", TEXT_TABLE, false, "0 1024 linear /dev/sd1a 384\n");
	expect_text(&E, "X", TEXT_DEPS, false, "1 dependencies\t: (254, 1)\n");
	expect_text(&E, "X_org", TEXT_INFO, false,
		    "Name:              X_org\n"
		    "State:             ACTIVE\n"
		    "Read Ahead:        256\n"
		    "Tables present:    LIVE\n"
		    "Open count:        2\n"
		    "Event number:      0\n"
		    "Major, minor:      254, 1\n"
		    "Number of targets: 1\n"
		    "\n");
	/* The same data through X, X_org and X_snap. */
	cr_expect_eq(E.disks[0]->data[(387 << 9)], 0x22);
	cr_expect_eq(env_io(&E, env_dm(&E, "X_snap"), BIO_READ, 0, 3, 1, rd), 0);
	cr_expect_eq(rd[0], 0x22);
	cr_expect_eq(env_io(&E, env_dm(&E, "X_org"), BIO_READ, 0, 3, 1, rd), 0);
	cr_expect_eq(rd[100], 0x22);
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "X_org", &err), -EBUSY);
	/* Unwind: X back to the original mapping, then X_org can go. */
	cr_expect_eq(dm_remove(E.reg, "X_snap", &err), 0);
	env_suspend(&E, "X", 0);
	table = env_text(&E, "X_org", TEXT_TABLE, false);
	load_ok("X", table);
	free(table);
	resume_ok("X");
	cr_expect_eq(dm_remove(E.reg, "X_org", &err), 0);
	expect_text(&E, "X", TEXT_TABLE, false, "0 1024 linear /dev/sd1a 384\n");
}
