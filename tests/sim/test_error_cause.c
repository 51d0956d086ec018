/*
 * test_error_cause.c - a long error keeps its cause: a `dm: create` step
 * whose eight-line table fails on line 8 reports the table position and
 * the core's cause first and the echoed command last (shortened in its
 * middle when it must be), through the error record of the core
 * (ss_error), the trace loader's (trace_error) and the replayer's result.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prop.h"
#include "replay.h"
#include "ss_error.h"

static const char eight_lines[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, size: 64M}\n"
	"steps:\n"
	"  - dm: \"create X --table \\\"0 1024 linear /dev/d 0\\n1024 1024 linear /dev/d 1024\\n"
	"2048 1024 linear /dev/d 2048\\n3072 1024 linear /dev/d 3072\\n4096 1024 linear /dev/d 4096\\n"
	"5120 1024 linear /dev/d 5120\\n6144 1024 linear /dev/d 6144\\n"
	"7168 1024 linear /dev/d 99999999999\\\"\"\n";

Test(error_cause, table_error_on_line_8_keeps_position_and_cause)
{
	struct replay_result res;
	struct trace_error err;
	enum replay_status st;

	trace_error_clear(&err);
	st = replay_run_mem("long.yaml", eight_lines, strlen(eight_lines), NULL, &res, &err);
	cr_assert_eq(st, REPLAY_INVALID, "%s", res.failure);
	cr_expect(!strncmp(err.text, "long.yaml:5:5: dm create X: table line 8, column 18: "
			   "linear: device /dev/d too small for target: start=99999999999, "
			   "len=1024, dev_size=131072", 140), "%s", err.text);
	/* the echoed command comes last and ends whole, even when shortened */
	cr_expect(strstr(err.text, "(in: dm create X --table \"0 1024 linear") != NULL, "%s",
		  err.text);
	cr_expect(strstr(err.text, "7168 1024 linear /dev/d 99999999999\")") != NULL, "%s",
		  err.text);
	/* one line: the table's newlines are shown as \n */
	cr_expect(strchr(err.text, '\n') == NULL, "%s", err.text);
	cr_expect(strstr(res.failure, "dev_size=131072") != NULL, "%s", res.failure);
}

Test(error_cause, a_long_core_message_loses_its_middle_not_its_end)
{
	struct ss_error e;
	char name[600];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ss_error_clear(&e);
	ss_error_set(&e, -ENXIO, 1, 5, "linear: device '%s' not found: give it with --dev", name);
	cr_assert_lt(strlen(e.msg), (size_t)SS_ERROR_MSG_MAX);
	cr_expect(!strncmp(e.msg, "linear: device 'xxx", 19), "%s", e.msg);
	cr_expect(strstr(e.msg, SS_ELISION) != NULL, "%s", e.msg);
	cr_expect(strstr(e.msg, "xxx' not found: give it with --dev") != NULL, "%s", e.msg);
	cr_expect_eq(strlen(e.msg), (size_t)SS_ERROR_MSG_MAX - 1);
}

Test(error_cause, elide_copies_what_fits)
{
	char b[16];

	cr_assert_str_eq(ss_elide(b, sizeof(b), "short"), "short");
	/* 15 characters: five of the head, the mark, five of the tail */
	cr_assert_str_eq(ss_elide(b, sizeof(b), "0123456789abcdef"), "01234[...]bcdef");
	cr_assert_str_eq(ss_elide(b, 4, "0123456789"), "012");
}

/*
 * A dm step with a 40-line table that was expected to fail but succeeds:
 * the cause ("expected EINVAL, got success") follows ~1300 characters of
 * echoed table. The replayer's failure and the crash property's message
 * (prop_check_trace, `snapsim check --trace`) keep it.
 */
Test(error_cause, a_long_failure_keeps_its_cause_through_replay_and_the_property)
{
	char text[8192], path[] = "/tmp/snapsim-cause-XXXXXX";
	struct prop_opts po = { .no_shrink = true, .budget = 2 };
	struct prop_result pr;
	struct replay_result res;
	struct trace_error err;
	size_t n;
	int fd;

	n = (size_t)snprintf(text, sizeof(text),
			     "version: 1\ndisks:\n  - {name: d, size: 64M}\nsteps:\n"
			     "  - dm: \"create X --table \\\"");
	for (unsigned i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%u 1024 linear /dev/d %u",
				      i ? "\\n" : "", i * 1024, i * 1024);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\\\"\"\n    error: EINVAL\n");
	cr_assert_lt(n, sizeof(text));
	trace_error_clear(&err);
	cr_assert_eq(replay_run_mem("long.yaml", text, n, NULL, &res, &err), REPLAY_MISMATCH,
		     "%s", res.failure);
	cr_expect(!strncmp(res.failure, "long.yaml:5: dm create X --table", 32), "%s", res.failure);
	cr_expect(strstr(res.failure, "expected EINVAL, got") != NULL, "%s", res.failure);

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
	cr_assert_eq(prop_check_trace(path, 1, &po, &pr), 0);
	unlink(path);
	cr_assert(pr.failed);
	cr_expect(strstr(pr.message, "dm create X --table") != NULL, "%s", pr.message);
	cr_expect(strstr(pr.message, "expected EINVAL, got") != NULL, "%s", pr.message);
}
