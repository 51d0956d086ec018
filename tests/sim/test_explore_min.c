/*
 * test_explore_min.c - the minimizer keeps the failure it was given: for
 * each failure class a trace is explored, minimized, the minimized trace
 * saved and explored again, and it must fail with the original's
 * signature (the check, the device, the kind of evidence) in fewer steps:
 *   - read mismatch in the live run: a wrong `expect:` explored with
 *     --mode flush (the trace suspends devices, so dropping steps easily
 *     trades the read for "I/O requests never completed");
 *   - status mismatch in the live run: a wrong `status:` expectation;
 *   - post-crash read mismatch: the snapshot's copied chunk zeroed on the
 *     raw COW disk, durably;
 *   - store invariant: a duplicate area record written on the raw COW;
 *   - hang in a crash state: an event budget too small for the restart.
 * The signature itself: line and name independent, device and kind kept.
 * The tool classes (a checker that crashes, one that cannot be run) are
 * tests/cli/test_cli_check_min.c's: they need --check-cmd.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explore.h"
#include "replay.h"
#include "trace.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/snapsim-min-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(explore_min, .init = setup, .fini = teardown);

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static size_t steps_of(const char *text)
{
	size_t n = 0;
	const char *s = strstr(text, "\nsteps:\n");

	cr_assert_not_null(s);
	for (const char *p = s; (p = strstr(p, "\n  - ")); p++)
		n++;
	return n;
}

/*
 * Explore name (text) with o, minimize, save, explore the minimized trace:
 * its signature must be the original's, with fewer steps. want is a part
 * of the signature the class must have. Returns nothing; asserts.
 */
static void minimize_class(const char *name, const char *text, struct explore_opts o,
			   enum explore_verdict verdict, bool crash, const char *want)
{
	char path[128], min_path[128], sig[1024], sig2[1024], *min = NULL;
	struct explore_result *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	snprintf(min_path, sizeof(min_path), "%s/min-%s.yaml", dir, name);
	put(path, text);
	o.only_point = -1;
	cr_assert_eq(explore_trace(path, &o, a), verdict, "%s: %s %s", name, a->failure,
		     a->replay_failure);
	cr_assert_eq(a->fail_point >= 0, crash, "%s: fail point %lld", name,
		     (long long)a->fail_point);
	explore_failure_signature(a, path, sig, sizeof(sig));
	cr_assert(strstr(sig, want) != NULL, "%s: signature '%s' lacks '%s'", name, sig, want);

	cr_assert_eq(explore_minimize(path, &o, a, min_path, 0, NULL, &min), 0);
	put(min_path, min);
	cr_assert(strstr(min, sig) != NULL, "the minimized trace does not state its signature:\n%s",
		  min);
	cr_expect_lt(steps_of(min), steps_of(text), "%s: nothing was dropped", name);
	if (!crash && strstr(min, min_path)) {
		/* The line its comment names is the line a replay of the file reports. */
		struct replay_result *rr = calloc(1, sizeof(*rr));
		struct trace_error err;
		char at[160];
		const char *p = strstr(min, min_path) + strlen(min_path);

		cr_assert_not_null(rr);
		snprintf(at, sizeof(at), "%s%.*s", min_path, (int)strspn(p, ":0123456789"), p);
		replay_run(min_path, NULL, rr, &err);
		cr_expect(strstr(rr->failure, at) != NULL, "%s: the comment says %s, a replay: %s",
			  name, at, rr->failure);
		free(rr);
	}

	o.has_seed = true;
	o.seed = a->seed;
	explore_trace(min_path, &o, b);
	explore_failure_signature(b, min_path, sig2, sizeof(sig2));
	cr_expect_str_eq(sig2, sig, "%s: the minimized trace fails otherwise:\n  %s\n  %s\n%s", name,
			 b->fail_point >= 0 ? b->failure : b->replay_failure,
			 a->fail_point >= 0 ? a->failure : a->replay_failure, min);
	free(min);
	free(a);
	free(b);
}

/* The issue's case: a wrong expect explored with --mode flush. */
Test(explore_min, wrong_expect_with_mode_flush_keeps_the_failing_read)
{
	FILE *f = fopen(SNAPSIM_SOURCE_DIR "/traces/suspend-inflight.yaml", "r");
	char text[8192], *p;
	size_t n;

	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	/* the read of X after both resumes expects seed-2: make it seed-9 */
	p = strstr(text, "- read: {dev: X, offset: 0, length: 8s, expect: seed-2}");
	cr_assert_not_null(p);
	p = strstr(p, "seed-2");
	p[5] = '9';
	minimize_class("wrong-expect", text,
		       (struct explore_opts){ .mode = EXPLORE_MODE_FLUSH, .budget = 8 },
		       EXPLORE_VIOLATION, false, "live run: read X sector #: expected pattern seed-#");
}

#define HEAD \
	"version: 1\n" \
	"seed: 3\n" \
	"disks:\n" \
	"  - {name: data, size: 256K}\n" \
	"  - {name: cow, size: 64K}\n" \
	"steps:\n" \
	"  - dm: create X_org --table \"0 512 linear /dev/data 0\"\n" \
	"  - write: {dev: X_org, length: 64K, data: seed-1}\n" \
	"  - flush: X_org\n" \
	"  - dm: create X --table \"0 512 snapshot-origin /dev/mapper/X_org\"\n" \
	"  - dm: suspend X\n" \
	"  - dm: create S --table \"0 512 snapshot /dev/mapper/X_org /dev/cow P 8\"\n" \
	"  - dm: resume X\n" \
	"  - write: {dev: X, offset: 0, length: 4K, data: seed-2}\n" \
	"  - flush: X\n"
#define TAIL "  - read: {dev: X, offset: 0, length: 4K, expect: seed-2}\n"

Test(explore_min, status_mismatch)
{
	minimize_class("status", HEAD "  - status: S\n    expect: \"0 512 snapshot 99/128 16\"\n" TAIL,
		       (struct explore_opts){ .mode = EXPLORE_MODE_COMPLETION, .budget = 8 },
		       EXPLORE_VIOLATION, false, "live run: status S: expected ");
}

Test(explore_min, post_crash_read_mismatch)
{
	/* chunk 2 (sectors 16..23) holds the origin's old chunk 0 for S */
	minimize_class("postcrash",
		       HEAD "  - write: {dev: cow, offset: 16s, length: 8s, data: zero, fua: true}\n" TAIL,
		       (struct explore_opts){ .mode = EXPLORE_MODE_COMPLETION, .budget = 8 },
		       EXPLORE_VIOLATION, true, "crash state: after restart: read S sector #: expected");
}

Test(explore_min, store_invariant)
{
	/* area 0 slot 1 repeats slot 0's record (0 -> 2) */
	minimize_class("invariant",
		       HEAD "  - write: {dev: cow, offset: 8s, length: 1s, fua: true, data: {bytes: "
			    "\"00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00\"}}\n" TAIL,
		       (struct explore_opts){ .mode = EXPLORE_MODE_COMPLETION, .budget = 8 },
		       EXPLORE_VIOLATION, true, "crash state: S: area # slot #: # -> #: duplicate");
}

Test(explore_min, hang_in_a_crash_state)
{
	minimize_class("hang", HEAD TAIL,
		       (struct explore_opts){ .mode = EXPLORE_MODE_COMPLETION, .budget = 8,
					      .event_budget = 3 },
		       EXPLORE_HANG, true, "hang crash state: after restart: check failed: ");
}

/* A message holding newlines (a two-line table echoed) stays inside the comment lines. */
Test(explore_min, multi_line_message_keeps_the_minimized_trace_valid)
{
	minimize_class("two-lines",
		       HEAD "  - dm: \"create Y --table \\\"0 8 linear /dev/data 0\\n"
			    "8 8 linear /dev/data 8\\\"\"\n    error: EINVAL\n" TAIL,
		       (struct explore_opts){ .mode = EXPLORE_MODE_FLUSH, .budget = 4 },
		       EXPLORE_VIOLATION, false, "live run: dm create Y --table \"# # linear /dev/data # # # linear");
}

/* The signature: names and lines go, numbers outside names go, devices and kinds stay. */
Test(explore_min, signature_keeps_check_device_and_kind)
{
	struct explore_result a = { .verdict = EXPLORE_VIOLATION, .fail_point = -1 };
	struct explore_result b = a, c = a, d = a, t = { .verdict = EXPLORE_TOOL_CRASH, .fail_point = 4 };
	char sa[512], sb[512], sc[512], sd[512], st[512];

	snprintf(a.replay_failure, sizeof(a.replay_failure), "dir/t.yaml:42: read S2 sector 16: "
		 "expected pattern seed-9 sector 16, found pattern seed-2 sector 16 (seed 7)");
	snprintf(b.replay_failure, sizeof(b.replay_failure), "min-t-7.yaml:15: read S2 sector 16: "
		 "expected pattern seed-9 sector 16, found zero (seed 7)");
	snprintf(c.replay_failure, sizeof(c.replay_failure), "min-t-7.yaml: 1 I/O requests never "
		 "completed by the end of the trace (a device stays suspended?) (seed 7)");
	snprintf(d.replay_failure, sizeof(d.replay_failure), "min-t-7.yaml:15: read S3 sector 16: "
		 "expected pattern seed-9 sector 16, found zero (seed 7)");
	snprintf(t.failure, sizeof(t.failure), "restart failed: Cannot allocate memory (X_org)");
	explore_failure_signature(&a, "dir/t.yaml", sa, sizeof(sa));
	explore_failure_signature(&b, "min-t-7.yaml", sb, sizeof(sb));
	explore_failure_signature(&c, "min-t-7.yaml", sc, sizeof(sc));
	explore_failure_signature(&d, "min-t-7.yaml", sd, sizeof(sd));
	explore_failure_signature(&t, "t.yaml", st, sizeof(st));
	cr_expect_str_eq(sa, "violation live run: read S2 sector #: expected pattern seed-# sector #");
	cr_expect_str_eq(sb, sa, "the same read failing on other data is the same failure");
	cr_expect_str_neq(sc, sa, "a hang of queued I/O is another failure");
	cr_expect_str_eq(sc, "violation live run: # I/O requests never completed by the end of the "
			     "trace (a device stays suspended?)");
	cr_expect_str_neq(sd, sa, "another device is another failure");
	cr_expect_str_eq(st, "crash crash state: restart failed: Cannot allocate memory (X_org)");
	b.fail_point = 3;
	snprintf(b.failure, sizeof(b.failure), "%s", b.replay_failure);
	explore_failure_signature(&b, "min-t-7.yaml", sb, sizeof(sb));
	cr_expect_str_neq(sb, sa, "a crash state's failure is not the live run's");
}
