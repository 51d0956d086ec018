/*
 * bench_cow.c - the snapshot I/O paths of the dm core, on memory disks
 * with the FIFO executor (no simulated latency: this measures the code).
 *
 * 1. Origin writes through the COW path: snapshot-origin over a linear
 *    origin, one persistent snapshot (P), chunk sizes 8..1024 sectors
 *    (4 KiB..512 KiB). Every write covers one whole chunk that no snapshot
 *    has copied yet, so each one copies the chunk to the COW device,
 *    commits the exception (metadata area write, flush, FUA) and then
 *    writes the origin. Writes are issued QD at a time (the executor runs
 *    between batches), so commits batch as they do under real load.
 *    "Data moved" per write = chunk bytes copied to each snapshot + chunk
 *    bytes written to the origin. Baseline: memcpy of the same bytes
 *    (origin -> each COW buffer, then new data -> origin), same sizes,
 *    pages pre-faulted in both cases.
 * 2. Snapshots per origin: the same at 64 KiB chunks with 1, 2 and 4
 *    persistent snapshots of one origin.
 * 3. Snapshot reads of mapped chunks: 4 KiB reads through the snapshot
 *    device, each to a chunk already in the COW (exception table lookup,
 *    remap, read). Baseline: a plain array lookup new_of[old] over the
 *    same chunk sequence.
 *
 * Every figure is the median of REPS runs (each run builds a fresh stack).
 * Usage: bench_cow [origin MiB (default 64)] [reps (default 3)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "dm.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

#define QD 16
#define MAX_SNAPS 4

struct stack {
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct mem_bdev *org, *cow[MAX_SNAPS];
	struct bdev *origin;           /* /dev/mapper/X (snapshot-origin) */
	struct bdev *snap[MAX_SNAPS];  /* /dev/mapper/S0.. */
	unsigned nr_snaps;
};

static void must(int r, const struct ss_error *err, const char *what)
{
	if (r) {
		fprintf(stderr, "%s failed (%d): %s\n", what, r, err->msg);
		exit(1);
	}
}

static struct mem_bdev *add_disk(struct stack *st, const char *name, sector_t sectors)
{
	struct mem_bdev *md = mem_bdev_create(name, sectors, &st->fx.base);
	struct ss_error err;

	if (!md) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	/* Fault the pages in now, so no run times the kernel's zero-fill. */
	memset(md->data, 0, (size_t)sectors << SECTOR_SHIFT);
	ss_error_clear(&err);
	must(dm_registry_add_bdev(st->reg, &md->base, &err), &err, "add disk");
	return md;
}

static void create(struct stack *st, const char *name, const char *table)
{
	struct ss_error err;

	ss_error_clear(&err);
	must(dm_create(st->reg, name, NULL, table, 0, &err), &err, name);
	fifo_executor_run(&st->fx, 0);
}

static void stack_build(struct stack *st, sector_t org_sectors, uint32_t cs,
			unsigned nr_snaps)
{
	char line[256], name[32];
	/* Data chunks + one area per (cs * 32) exceptions + header, rounded up. */
	sector_t cow_sectors = org_sectors + org_sectors / 16 + 4 * (sector_t)cs;

	memset(st, 0, sizeof(*st));
	fifo_executor_init(&st->fx);
	st->reg = dm_registry_create(&st->fx.base);
	if (!st->reg) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	st->org = add_disk(st, "org", org_sectors);
	memset(st->org->data, 0x5a, (size_t)org_sectors << SECTOR_SHIFT);
	snprintf(line, sizeof(line), "0 %llu linear org 0",
		 (unsigned long long)org_sectors);
	create(st, "X_org", line);
	snprintf(line, sizeof(line), "0 %llu snapshot-origin /dev/mapper/X_org",
		 (unsigned long long)org_sectors);
	create(st, "X", line);
	for (unsigned i = 0; i < nr_snaps; i++) {
		snprintf(name, sizeof(name), "cow%u", i);
		st->cow[i] = add_disk(st, name, cow_sectors);
		snprintf(line, sizeof(line),
			 "0 %llu snapshot /dev/mapper/X_org cow%u P %u",
			 (unsigned long long)org_sectors, i, cs);
		snprintf(name, sizeof(name), "S%u", i);
		create(st, name, line);
		st->snap[i] = dm_device_bdev(dm_find_device(st->reg, name));
	}
	st->nr_snaps = nr_snaps;
	st->origin = dm_device_bdev(dm_find_device(st->reg, "X"));
}

static void stack_destroy(struct stack *st)
{
	fifo_executor_run(&st->fx, 0);
	dm_registry_destroy(st->reg);
	fifo_executor_run(&st->fx, 0);
	bdev_destroy(&st->org->base);
	for (unsigned i = 0; i < st->nr_snaps; i++)
		bdev_destroy(&st->cow[i]->base);
	fifo_executor_destroy(&st->fx);
}

struct io_slot {
	struct bio bio;
	int *done;
	int status;
};

static void slot_done(struct bio *bio, int status)
{
	struct io_slot *s = bio->private;

	s->status = status;
	(*s->done)++;
}

/*
 * Issue nr I/Os of nr_sectors each to bd, QD at a time, at sectors
 * sector_of(i). Returns the seconds taken; exits on any I/O error.
 */
static double run_ios(struct stack *st, struct bdev *bd, enum bio_op op,
		      uint32_t nr_sectors, uint64_t nr, const sector_t *sectors,
		      uint8_t *bufs)
{
	struct io_slot slot[QD];
	int done = 0;
	double t0 = bench_now_s();

	for (uint64_t i = 0; i < nr; i += QD) {
		unsigned k = nr - i < QD ? (unsigned)(nr - i) : QD;

		done = 0;
		for (unsigned j = 0; j < k; j++) {
			slot[j].done = &done;
			slot[j].status = 0;
			bio_init(&slot[j].bio, bd, op, 0, sectors[i + j], nr_sectors,
				 bufs + (size_t)j * ((size_t)nr_sectors << SECTOR_SHIFT),
				 slot_done, &slot[j]);
			bdev_submit(&slot[j].bio);
		}
		fifo_executor_run(&st->fx, 0);
		for (unsigned j = 0; j < k; j++)
			if (slot[j].status) {
				fprintf(stderr, "I/O failed: %d\n", slot[j].status);
				exit(1);
			}
		if (done != (int)k) {
			fprintf(stderr, "%d of %u I/Os completed\n", done, k);
			exit(1);
		}
	}
	return bench_now_s() - t0;
}

/* Seconds to memcpy the bytes one COW write moves, for nr chunks. */
static double memcpy_baseline(size_t chunk_bytes, uint64_t nr, unsigned copies,
			      uint8_t *origin, uint8_t *cow, const uint8_t *newdata)
{
	double t0 = bench_now_s();

	for (uint64_t i = 0; i < nr; i++) {
		uint8_t *o = origin + i * chunk_bytes;

		for (unsigned c = 0; c < copies; c++)
			memcpy(cow + (c * nr + i) * chunk_bytes, o, chunk_bytes);
		memcpy(o, newdata + (i % QD) * chunk_bytes, chunk_bytes);
	}
	bench_sink += origin[chunk_bytes / 2] + cow[chunk_bytes / 3];
	return bench_now_s() - t0;
}

struct cow_result {
	double mb_s, memcpy_mb_s, ratio;
};

static void bench_cow_writes(uint64_t org_bytes, uint32_t cs, unsigned nr_snaps,
			     int reps, struct cow_result *res)
{
	size_t chunk_bytes = (size_t)cs << SECTOR_SHIFT;
	uint64_t nr = org_bytes / chunk_bytes;
	sector_t *sectors = bench_alloc(nr * sizeof(*sectors));
	uint8_t *bufs = bench_alloc(QD * chunk_bytes);
	double t_cow[16], t_mem[16];
	double moved = (double)nr * (double)chunk_bytes * (nr_snaps + 1);

	memset(bufs, 0xa5, QD * chunk_bytes);
	for (uint64_t i = 0; i < nr; i++)
		sectors[i] = i * cs;
	for (int r = 0; r < reps; r++) {
		struct stack st;

		stack_build(&st, org_bytes >> SECTOR_SHIFT, cs, nr_snaps);
		t_cow[r] = run_ios(&st, st.origin, BIO_WRITE, cs, nr, sectors, bufs);
		stack_destroy(&st);
	}
	{
		uint8_t *o = bench_alloc(org_bytes);
		uint8_t *c = bench_alloc(org_bytes * nr_snaps); /* one COW each */

		memset(o, 0x5a, org_bytes);
		memset(c, 0, org_bytes * nr_snaps);
		for (int r = 0; r < reps; r++)
			t_mem[r] = memcpy_baseline(chunk_bytes, nr, nr_snaps, o, c, bufs);
		free(o);
		free(c);
	}
	res->mb_s = moved / bench_median(t_cow, reps) / 1e6;
	res->memcpy_mb_s = moved / bench_median(t_mem, reps) / 1e6;
	res->ratio = res->mb_s / res->memcpy_mb_s;
	free(sectors);
	free(bufs);
}

/* Snapshot reads of mapped chunks vs array lookups. */
static void bench_snap_reads(uint64_t org_bytes, uint32_t cs, int reps)
{
	size_t chunk_bytes = (size_t)cs << SECTOR_SHIFT;
	uint64_t nr_chunks = org_bytes / chunk_bytes, nr_reads = 200000;
	sector_t *wsec = bench_alloc(nr_chunks * sizeof(*wsec));
	sector_t *rsec = bench_alloc(nr_reads * sizeof(*rsec));
	uint32_t *array = bench_alloc(nr_chunks * sizeof(*array));
	uint8_t *bufs = bench_alloc(QD * chunk_bytes);
	uint64_t x = 0x243f6a8885a308d3ULL;
	double t_read[16], t_arr[16];
	struct stack st;

	for (uint64_t i = 0; i < nr_chunks; i++) {
		wsec[i] = i * cs;
		array[i] = (uint32_t)(i + 2);
	}
	for (uint64_t i = 0; i < nr_reads; i++)
		rsec[i] = (bench_xorshift(&x) % nr_chunks) * cs;
	stack_build(&st, org_bytes >> SECTOR_SHIFT, cs, 1);
	run_ios(&st, st.origin, BIO_WRITE, cs, nr_chunks, wsec, bufs);
	for (int r = 0; r < reps; r++)
		t_read[r] = run_ios(&st, st.snap[0], BIO_READ, 8, nr_reads, rsec, bufs);
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now_s();
		uint64_t sum = 0;

		for (uint64_t i = 0; i < nr_reads; i++)
			sum += array[rsec[i] / cs];
		t_arr[r] = bench_now_s() - t0;
		bench_sink += sum;
	}
	stack_destroy(&st);
	{
		double rd = (double)nr_reads / bench_median(t_read, reps);
		double ar = (double)nr_reads / bench_median(t_arr, reps);
		char what[64];

		printf("snapshot reads (4 KiB, mapped chunks, cs=%u, QD %d): %.3g reads/s; "
		       "array lookups %.3g/s; ratio %.4f\n", cs, QD, rd, ar, rd / ar);
		snprintf(what, sizeof(what), "4 KiB reads of mapped chunks, cs=%u", cs);
		bench_row("snapshot reads", what, rd, "lookups/s", ar,
			  "array lookup/s", rd / ar, "", "");
	}
	free(wsec);
	free(rsec);
	free(array);
	free(bufs);
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 64;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	uint64_t org_bytes = mib << 20;
	static const uint32_t sizes[] = { 8, 16, 32, 64, 128, 256, 512, 1024 };

	if (reps < 1 || reps > 16 || mib < 1) {
		fprintf(stderr, "usage: bench_cow [origin MiB] [reps 1..16]\n");
		return 1;
	}
	printf("origin writes through the COW path: %llu MiB origin, 1 persistent "
	       "snapshot, QD %d, median of %d\n", (unsigned long long)mib, QD, reps);
	printf("%8s %10s %14s %10s\n", "chunk", "MB/s", "memcpy MB/s", "ratio");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct cow_result r;
		char what[64];

		bench_cow_writes(org_bytes, sizes[i], 1, reps, &r);
		printf("%6u K %10.1f %14.1f %10.3f\n", sizes[i] / 2, r.mb_s,
		       r.memcpy_mb_s, r.ratio);
		snprintf(what, sizeof(what), "chunk %u KiB, 1 snapshot", sizes[i] / 2);
		bench_row("COW origin writes", what, r.mb_s, "MB/s moved", r.memcpy_mb_s,
			  "memcpy MB/s", r.ratio, sizes[i] == 128 ? ">= 0.5x memcpy" : "",
			  sizes[i] == 128 ? bench_verdict(r.ratio >= 0.5) : "");
	}
	printf("\nsnapshots per origin (64 KiB chunks)\n");
	for (unsigned k = 1; k <= MAX_SNAPS; k *= 2) {
		struct cow_result r;
		char what[64];

		bench_cow_writes(org_bytes, 128, k, reps, &r);
		printf("%u snapshot(s): %10.1f MB/s moved, memcpy %10.1f, ratio %.3f\n", k,
		       r.mb_s, r.memcpy_mb_s, r.ratio);
		snprintf(what, sizeof(what), "%u snapshot%s, 64 KiB chunks", k,
			 k > 1 ? "s" : "");
		bench_row("scaling: snapshots", what, r.mb_s, "MB/s moved", r.memcpy_mb_s,
			  "memcpy MB/s", r.ratio, "", "");
	}
	printf("\n");
	bench_snap_reads(org_bytes, 128, reps);
	return 0;
}
