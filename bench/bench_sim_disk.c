/*
 * bench_sim_disk.c - crash states forked and hashed per second.
 *
 * For a 1 MiB and a 64 MiB disk, fully written and flushed, with 16
 * cached (non-durable) writes on top: repeatedly pick a seeded random
 * subset of the cached writes, fork the crash state, hash its durable
 * image and drop it. Reports states per second. Wall-clock time is read
 * here only, never in sim/.
 *
 * This is the floor of what checking a crash state costs (forking and
 * hashing it), not the explorer: bench_explore measures the explorer
 * itself, beside the same floor at its own crash points. Baseline,
 * measured in the same run: the naive way, one memcpy of the whole image
 * per state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

#include "crash_subset.h"
#include "prng.h"
#include "sim_sched.h"
#include "sim_disk.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void done(struct bio *bio, int status)
{
	(void)bio;
	if (status)
		fprintf(stderr, "I/O failed: %d\n", status);
}

static int bench(uint64_t size_bytes, double seconds)
{
	struct sim_sched s;
	struct sim_disk *d;
	struct sim_disk_config c = {
		.name = "bench", .size_sectors = size_bytes / SECTOR_SIZE, .seed = 1,
		.init = SIM_INIT_GARBAGE,
	};
	struct sim_prng p = sim_prng_stream(1, SIM_STREAM_WORKLOAD);
	struct sim_prng cp = sim_prng_stream(1, SIM_STREAM_CRASH);
	uint8_t *chunk = malloc(1 << 20);
	struct bio bio;
	struct sim_disk_pending pend[16];
	struct sim_crash_write sv[16];
	bool surv[16];
	struct sim_subset_iter it;

	sim_sched_init(&s, NULL);
	if (!chunk || sim_disk_create(&c, &s, &d)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	/* Fill the whole disk and make it durable. */
	for (uint64_t off = 0; off < size_bytes; off += 1 << 20) {
		sim_prng_fill(&p, chunk, 1 << 20);
		bdev_sync_rw(sim_disk_bdev(d), BIO_WRITE, off / SECTOR_SIZE,
			     (1 << 20) / SECTOR_SIZE, chunk);
	}
	bio_init(&bio, sim_disk_bdev(d), BIO_FLUSH, 0, 0, 0, NULL, done, NULL);
	bdev_submit(&bio);
	sim_sched_run(&s, 0);
	/* 16 cached writes of 4 KiB to 64 KiB at random places. */
	for (int i = 0; i < 16; i++) {
		uint32_t nr = 8 * (1 + (uint32_t)sim_prng_below(&p, 16));
		sector_t sector = sim_prng_below(&p, c.size_sectors - nr);

		sim_prng_fill(&p, chunk, (size_t)nr * SECTOR_SIZE);
		bdev_sync_rw(sim_disk_bdev(d), BIO_WRITE, sector, nr, chunk);
	}
	size_t n = sim_disk_pending_list(d, pend, 16);
	double t0 = now_s();
	uint64_t h0 = sim_disk_durable_hash(d);
	double cold = now_s() - t0;

	uint64_t states = 0, acc = h0;
	sim_subset_init(&it, SIM_SUBSET_RANDOM, n, UINT64_MAX, &cp);
	t0 = now_s();
	double t;
	while ((t = now_s()) - t0 < seconds) {
		for (int k = 0; k < 64; k++) {
			struct sim_disk *f;

			sim_subset_next(&it, surv);
			size_t m = sim_subset_survivors(pend, n, surv, sv);
			if (sim_disk_fork(d, sv, m, NULL, &f)) {
				fprintf(stderr, "fork failed\n");
				return 1;
			}
			acc ^= sim_disk_durable_hash(f);
			sim_disk_destroy(f);
			states++;
		}
	}
	struct sim_store_stats st = sim_disk_store_stats(d);
	printf("disk %4llu MiB, %zu cached writes: %10.0f crash states/s "
	       "(fork+hash+drop, %.2f us each); cold hash of image %.1f ms; "
	       "store %llu pages, %.1f MiB [%016llx]\n",
	       (unsigned long long)(size_bytes >> 20), n, (double)states / (t - t0),
	       (t - t0) / (double)states * 1e6, cold * 1e3,
	       (unsigned long long)st.pages_live, (double)st.bytes_live / (1 << 20),
	       (unsigned long long)acc);
	{
		/* Baseline: copy the whole image once per state. */
		uint8_t *a = malloc(size_bytes), *b = malloc(size_bytes);
		double tb, rate = (double)states / (t - t0);
		uint64_t copies = 0;
		char what[96];

		if (!a || !b) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		memset(a, 1, size_bytes);
		memset(b, 2, size_bytes);
		t0 = now_s();
		while ((tb = now_s()) - t0 < seconds / 2 || copies < 3) {
			memcpy(b, a, size_bytes);
			a[copies % size_bytes] ^= b[size_bytes / 2];
			copies++;
		}
		bench_sink += b[size_bytes / 3];
		snprintf(what, sizeof(what),
			 "%llu MiB disk: fork+hash+drop floor (not the explorer; see bench_explore)",
			 (unsigned long long)(size_bytes >> 20));
		bench_row("crash states", what, rate, "states/s",
			  (double)copies / (tb - t0), "whole-image memcpy/s",
			  rate / ((double)copies / (tb - t0)), "", "");
		free(a);
		free(b);
	}
	sim_disk_destroy(d);
	sim_sched_destroy(&s);
	free(chunk);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;

	if (bench(1ull << 20, seconds) || bench(64ull << 20, seconds))
		return 1;
	return 0;
}
