/*
 * test_replay_teardown.c - a trace that ends with I/O queued on a
 * suspended device: the teardown fails that I/O with EIO, as Linux fails
 * I/O to a removed device, and frees it (the ASan build's LeakSanitizer
 * fails this test if the request's dm_io is left behind). The event log
 * shows the completion.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static char *run_logged(const char *trace, enum replay_status *st, struct replay_result *res)
{
	struct replay_opts o = { 0 };
	struct trace_error err;
	char *log = NULL;
	size_t len = 0;

	o.log = open_memstream(&log, &len);
	cr_assert_not_null(o.log);
	trace_error_clear(&err);
	*st = replay_run_mem("queued.yaml", trace, strlen(trace), &o, res, &err);
	fclose(o.log);
	return log;
}

Test(replay_teardown, io_queued_on_a_suspended_device_fails_with_eio)
{
	static const char trace[] =
		"version: 1\n"
		"disks:\n"
		"  - {name: d, size: 1M}\n"
		"steps:\n"
		"  - dm: create X --table \"0 2048 linear /dev/d 0\"\n"
		"  - dm: suspend X\n"
		"  - write: {dev: X, offset: 0, length: 8s, data: seed-1}\n";
	struct replay_result res;
	enum replay_status st;
	char *log = run_logged(trace, &st, &res);

	cr_expect_eq(st, REPLAY_MISMATCH, "%s", res.failure);
	cr_expect(strstr(res.failure, "1 I/O requests never completed") != NULL, "%s",
		  res.failure);
	cr_expect(strstr(log, "io done write X 0+8 -5") != NULL, "the queued write never "
		  "completed at teardown; log:\n%s", log);
	free(log);
}

Test(replay_teardown, a_held_origin_write_resubmitted_to_a_suspended_origin_fails_too)
{
	/* X_org suspended under X: the origin write waits on X_org; the
	 * snapshot write completes its exception, whose commit re-submits held
	 * origin writes to X_org, still suspended. */
	static const char trace[] =
		"version: 1\n"
		"disks:\n"
		"  - {name: data, size: 1M}\n"
		"  - {name: cow, size: 1M}\n"
		"steps:\n"
		"  - dm: create X_org --table \"0 2048 linear /dev/data 0\"\n"
		"  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 16\"\n"
		"  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n"
		"  - dm: suspend X_org\n"
		"  - write: {dev: X, offset: 0, length: 8s, data: seed-2}\n"
		"  - write: {dev: S, offset: 64, length: 8s, data: seed-3}\n";
	struct replay_result res;
	enum replay_status st;
	char *log = run_logged(trace, &st, &res);

	cr_expect_eq(st, REPLAY_MISMATCH, "%s", res.failure);
	cr_expect(strstr(log, "io done write X 0+8 -5") != NULL, "log:\n%s", log);
	free(log);
}
