/*
 * test_replay_count.c - the steps validation counts for a trace
 * (replay_count_steps, replay_result.steps_total: the total of replay's
 * progress line) are the steps a run takes: nested repeats multiplied out,
 * a repeat of 0 counted as nothing, a parallel group as one step; and so
 * for every passing trace of the corpus.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "replay.h"
#include "trace.h"

Test(replay_count, nested_repeats_multiply_and_count_zero_is_nothing)
{
	char path[] = "/tmp/snapsim-count-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct replay_result res;
	struct trace_error err;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	/* 3 x (4 writes + 1 flush) + nothing + 1 group + 1 read = 17 */
	fputs("version: 1\n"
	      "disks:\n"
	      "  - {name: d, size: 1M}\n"
	      "steps:\n"
	      "  - repeat:\n"
	      "      count: 3\n"
	      "      steps:\n"
	      "        - repeat:\n"
	      "            count: 4\n"
	      "            steps:\n"
	      "              - write: {dev: d, offset: 0, length: 4K, data: seed-1}\n"
	      "        - flush: d\n"
	      "  - repeat: {count: 0, steps: [{flush: d}]}\n"
	      "  - parallel:\n"
	      "      - write: {dev: d, offset: 8K, length: 4K, data: seed-2}\n"
	      "      - write: {dev: d, offset: 16K, length: 4K, data: seed-3}\n"
	      "  - read: {dev: d, offset: 0, length: 4K, expect: seed-1}\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_expect_eq(replay_count_steps(path), 17);
	cr_assert_eq(replay_run(path, NULL, &res, &err), REPLAY_PASS, "%s", res.failure);
	cr_expect_eq(res.steps, 17);
	cr_expect_eq(res.steps_total, 17);
	unlink(path);
}

Test(replay_count, an_invalid_trace_counts_nothing)
{
	cr_expect_eq(replay_count_steps(SNAPSIM_SOURCE_DIR "/traces/bad/unknown-step.yaml"), 0);
	cr_expect_eq(replay_count_steps("/nonexistent/trace.yaml"), 0);
}

Test(replay_count, every_passing_trace_of_the_corpus_runs_the_steps_counted)
{
	glob_t g;
	unsigned passed = 0;

	cr_assert_eq(glob(SNAPSIM_SOURCE_DIR "/traces/*.yaml", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct replay_result *res = calloc(1, sizeof(*res));
		struct trace_error err;
		uint64_t n = replay_count_steps(g.gl_pathv[i]);

		cr_assert_not_null(res);
		if (replay_run(g.gl_pathv[i], NULL, res, &err) == REPLAY_PASS) {
			cr_expect_eq(res->steps, n, "%s: ran %llu steps, counted %llu",
				     g.gl_pathv[i], (unsigned long long)res->steps,
				     (unsigned long long)n);
			cr_expect_eq(res->steps_total, n, "%s", g.gl_pathv[i]);
			passed++;
		}
		free(res);
	}
	globfree(&g);
	cr_expect_gt(passed, 20, "only %u traces passed", passed);
}
