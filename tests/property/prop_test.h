/*
 * prop_test.h - the loop every property test runs: SNAPSIM_CASES cases
 * (default given per test) from seed SNAPSIM_SEED (default 1; when set,
 * and SNAPSIM_CASES is not, exactly that one case). Each seed is printed
 * first; a failing case is shrunk (sim/prop/prop.h) and its seed, message and
 * minimized trace path are reported.
 */
#ifndef SNAPSIM_TESTS_PROP_TEST_H
#define SNAPSIM_TESTS_PROP_TEST_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "prop.h"

static inline uint64_t prop_env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 10) : def;
}

/* prop_opts.save for the tests: a plain file (the suite's own scratch output). */
static inline int prop_test_save(void *ctx, const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	(void)ctx;
	if (!f)
		return -1;
	fwrite(text, 1, len, f);
	return fclose(f) ? -1 : 0;
}

/* Run property k over the cases; returns the number that failed. */
static inline unsigned prop_test_loop(enum prop_kind k, uint64_t default_cases, char store)
{
	uint64_t first = prop_env_u64("SNAPSIM_SEED", 1);
	uint64_t cases = prop_env_u64("SNAPSIM_CASES", getenv("SNAPSIM_SEED") ? 1 : default_cases);
	struct prop_opts o = { .store = store, .out_dir = getenv("SNAPSIM_PROP_DIR"),
				.save = prop_test_save };
	unsigned failed = 0;
	uint64_t states = 0;

	fprintf(stderr, "property %s: seeds %" PRIu64 "..%" PRIu64 "\n", prop_name(k), first,
		first + cases - 1);
	for (uint64_t s = first; s < first + cases; s++) {
		struct prop_result res;
		int r;

		cr_log_info("property %s seed %" PRIu64, prop_name(k), s);
		r = prop_run(k, s, &o, &res);
		cr_assert_eq(r, 0, "seed %" PRIu64 ": tool error %d", s, r);
		states += res.states;
		if (res.failed) {
			failed++;
			fprintf(stderr, "FAILED property %s seed %" PRIu64 " (SNAPSIM_SEED=%" PRIu64
				"): %s\n  minimized trace (%zu of %zu steps): %s\n", prop_name(k), s, s,
				res.message, res.steps_after, res.steps_before, res.trace_path);
			cr_expect_fail("property %s, SNAPSIM_SEED=%" PRIu64 ": %s; minimized trace %s",
				       prop_name(k), s, res.message, res.trace_path);
			if (failed >= 3)
				break; /* enough evidence; each one costs a shrink */
		}
	}
	fprintf(stderr, "property %s: %" PRIu64 " cases, %u failed, %" PRIu64 " crash states\n",
		prop_name(k), cases, failed, states);
	return failed;
}

#endif
