/*
 * disk_harness.h - shared helpers for the simulated-disk tests: a
 * scheduler, a disk, and I/Os whose completions are counted.
 */
#ifndef SNAPSIM_TEST_DISK_HARNESS_H
#define SNAPSIM_TEST_DISK_HARNESS_H

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "sim_sched.h"
#include "sim_disk.h"

#define H_MAX_IO 1024

struct h_io {
	struct bio bio;
	struct harness *h;
	uint8_t *buf;
	int status;
	bool done;
	uint64_t done_ns;
	int order;        /* completion rank */
};

struct harness {
	struct sim_sched s;
	struct sim_disk *d;
	struct h_io *io[H_MAX_IO];
	int nr_io;
	int completions;
	bool submitting;  /* set while inside bdev_submit */
	int done_inside_submit;
};

static inline void h_done(struct bio *bio, int status)
{
	struct h_io *io = bio->private;

	io->status = status;
	io->done = true;
	io->done_ns = sim_sched_now(&io->h->s);
	io->order = io->h->completions++;
	if (io->h->submitting)
		io->h->done_inside_submit++;
}

static inline struct sim_disk_config h_config(sector_t size)
{
	struct sim_disk_config c = {
		.name = "d0", .size_sectors = size, .seed = 1,
		.read_lat = { 10, 10 }, .write_lat = { 10, 10 },
		.flush_lat = { 10, 10 }, .discard = true,
	};
	return c;
}

static inline void h_init(struct harness *h, const struct sim_disk_config *cfg)
{
	memset(h, 0, sizeof(*h));
	sim_sched_init(&h->s, NULL);
	cr_assert_eq(sim_disk_create(cfg, &h->s, &h->d), 0);
}

static inline void h_fini(struct harness *h)
{
	if (h->d)
		sim_disk_destroy(h->d);
	for (int i = 0; i < h->nr_io; i++) {
		free(h->io[i]->buf);
		free(h->io[i]);
	}
	sim_sched_destroy(&h->s);
}

/* Submit an I/O to bd; a write's buffer is filled with byte fill. */
static inline struct h_io *h_submit(struct harness *h, struct bdev *bd,
				    enum bio_op op, unsigned flags,
				    sector_t sector, uint32_t nr, int fill)
{
	struct h_io *io = calloc(1, sizeof(*io));

	cr_assert(io && h->nr_io < H_MAX_IO);
	io->h = h;
	if (nr && (op == BIO_READ || op == BIO_WRITE)) {
		io->buf = malloc((size_t)nr * SECTOR_SIZE);
		memset(io->buf, fill, (size_t)nr * SECTOR_SIZE);
	}
	h->io[h->nr_io++] = io;
	bio_init(&io->bio, bd, op, flags, sector, nr, io->buf, h_done, io);
	h->submitting = true;
	bdev_submit(&io->bio);
	h->submitting = false;
	return io;
}

static inline struct h_io *h_write(struct harness *h, unsigned flags,
				   sector_t sector, uint32_t nr, int fill)
{
	return h_submit(h, sim_disk_bdev(h->d), BIO_WRITE, flags, sector, nr, fill);
}

static inline struct h_io *h_flush(struct harness *h)
{
	return h_submit(h, sim_disk_bdev(h->d), BIO_FLUSH, 0, 0, 0, 0);
}

static inline void h_run(struct harness *h)
{
	cr_assert_eq(sim_sched_run(&h->s, 1000000), SIM_RUN_IDLE);
}

/* True if every byte of nr sectors at buf equals b. */
static inline bool h_all(const uint8_t *buf, uint32_t nr, int b)
{
	for (size_t i = 0; i < (size_t)nr * SECTOR_SIZE; i++)
		if (buf[i] != (uint8_t)b)
			return false;
	return true;
}

/* Read durable sectors of d and check they all hold byte b. */
static inline bool h_durable_is(struct sim_disk *d, sector_t sector, uint32_t nr,
				int b)
{
	uint8_t *buf = malloc((size_t)nr * SECTOR_SIZE);
	bool ok;

	cr_assert_eq(sim_disk_read_durable(d, sector, nr, buf), 0);
	ok = h_all(buf, nr, b);
	free(buf);
	return ok;
}

#endif
