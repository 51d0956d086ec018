/*
 * bench_common.h - helpers shared by the bench/bench_*.c programs: a
 * monotonic clock, a seeded generator, and the one result-row format that
 * bench/run.sh collects into the combined table and bench/results.json.
 *
 * Every bench prints its own human-readable lines, plus one machine line
 * per measured number:
 *
 *   @row|SECTION|CASE|VALUE|UNIT|BASELINE|BASELINE_LABEL|RATIO|TARGET|VERDICT
 *
 * RATIO is value/baseline, oriented so that higher is better for rates
 * and lower is better for sizes (the bench says which in UNIT). TARGET is
 * free text ("" when the issue sets none) and VERDICT is "met", "missed"
 * or "". Wall-clock time is read here only: core/ and sim/ never do.
 */
#ifndef SNAPSIM_BENCH_COMMON_H
#define SNAPSIM_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t bench_xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Defeats dead-code elimination of measured loops. */
static volatile uint64_t bench_sink;

static inline void *bench_alloc(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);

	if (!p) {
		fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
		exit(1);
	}
	return p;
}

/* Median of n doubles (sorts v in place; n is small). */
static inline double bench_median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One machine-readable result row (see the header comment). */
static inline void bench_row(const char *section, const char *what, double value,
			     const char *unit, double baseline,
			     const char *baseline_label, double ratio,
			     const char *target, const char *verdict)
{
	printf("@row|%s|%s|%.6g|%s|%.6g|%s|%.4g|%s|%s\n", section, what, value, unit,
	       baseline, baseline_label, ratio, target ? target : "",
	       verdict ? verdict : "");
	fflush(stdout);
}

static inline const char *bench_verdict(int met)
{
	return met ? "met" : "missed";
}

#endif
