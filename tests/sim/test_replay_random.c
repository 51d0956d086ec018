/*
 * test_replay_random.c - model vs core on generated traces: the seeded
 * generator of sim/prop/gen.h (an origin, one or two snapshots, random writes,
 * reads and flushes on the origin and the snapshots, parallel groups and
 * races, a later snapshot, occasionally a merge) writes a YAML trace to a
 * temporary file and this test replays it; every read is checked
 * against the model. The seed of each case is printed first; SNAPSIM_SEED
 * fixes the first seed and SNAPSIM_CASES the number of cases. The
 * properties with crash exploration and shrinking are tests/property.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "replay.h"

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 10) : def;
}

/* Write the case of seed (sim/prop/gen.h, shared with the property tests) to a temporary file. */
static const char *gen_trace(uint64_t seed, char *path, size_t len)
{
	struct gen_opts go = { .merge = true };
	struct gen_case c;
	size_t n;
	char *buf;
	FILE *f;
	int fd;

	cr_assert_eq(gen_case_build(seed, &go, &c), 0);
	buf = gen_case_yaml(&c, NULL, &n);
	cr_assert_not_null(buf);
	snprintf(path, len, "/tmp/snapsim-random-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, n, f), n);
	fclose(f);
	free(buf);
	gen_case_free(&c);
	return path;
}

Test(replay_random, model_agrees_with_core, .timeout = 600)
{
	uint64_t first = env_u64("SNAPSIM_SEED", 1);
	uint64_t cases = env_u64("SNAPSIM_CASES", 40);
	char path[64];

	for (uint64_t s = first; s < first + cases; s++) {
		struct replay_opts o = { .has_seed = true, .seed = s, .defer_shuffle = s & 1 };
		struct replay_result res;
		struct trace_error err;
		enum replay_status st;

		cr_log_info("random trace seed %" PRIu64, s);
		gen_trace(s, path, sizeof(path));
		st = replay_run(path, &o, &res, &err);
		if (st != REPLAY_PASS) {
			char keep[96];

			snprintf(keep, sizeof(keep), "/tmp/snapsim-random-fail-%" PRIu64 ".yaml", s);
			rename(path, keep);
			cr_expect_fail("SNAPSIM_SEED=%" PRIu64 ": %s (trace kept as %s)", s,
				       res.failure, keep);
			continue;
		}
		unlink(path);
		cr_expect_gt(res.reads_checked, 0);
	}
}
