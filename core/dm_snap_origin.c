/*
 * dm_snap_origin.c - the `snapshot-origin` target (spec 1.2, 4.2, 4.3,
 * 6.7): reads and empty flushes pass through to the origin device; every
 * write first runs the origin-write procedure (dm_snap_origin_write), so
 * each active snapshot of the origin preserves the chunk before it is
 * overwritten.
 *
 * Writes are split at the split boundary, the smallest chunk size among
 * the origin's snapshots, computed at each resume (ti->max_io_len; dm core
 * therefore splits reads too, which is harmless). The copy throttle of
 * spec 4.3 step 1 / 4.11 is not implemented: it only affects timing, and
 * the simulator wants to see unthrottled concurrency.
 */
#include "dm_snap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct origin_ctx {
	struct bdev *dev;
	struct dm_registry *reg;
	bool registered;       /* in the live origin-target registry */
};

/* Per-bio data: a write waiting on a pending exception. */
struct origin_io {
	struct origin_waiter w;   /* must be first */
	struct bio *clone;
	struct origin_ctx *oc;
};

static struct snap_origin *origin_lookup(struct origin_ctx *oc)
{
	return snap_registry_find_origin(snap_registry_get(oc->reg, false),
					 oc->dev);
}

static int origin_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	struct origin_ctx *oc;
	int r;

	ti->error_arg = -1;
	if (argc != 1) {
		ti->error = "origin: incorrect number of arguments";
		return -EINVAL;
	}
	if (ti->begin != 0) {
		ti->error = "Snapshot targets must start at sector 0";
		return -EINVAL;
	}
	oc = calloc(1, sizeof(*oc));
	if (!oc) {
		ti->error = "Cannot allocate private origin structure";
		return -ENOMEM;
	}
	oc->reg = dm_target_registry(ti);
	r = dm_get_device(ti, argv[0], dm_target_read_only(ti) ? DM_MODE_READ :
			  DM_MODE_READ | DM_MODE_WRITE, &oc->dev);
	if (r) {
		ti->error = "Cannot get target device";
		ti->error_arg = 0;
		free(oc);
		return r;
	}
	ti->private = oc;
	ti->per_io_data_size = sizeof(struct origin_io);
	ti->max_io_len = 0; /* set at resume */
	return 0;
}

static void origin_dtr(struct dm_target *ti)
{
	struct origin_ctx *oc = ti->private;

	if (oc->registered)
		snap_registry_remove_origin_target(
			snap_registry_get(oc->reg, false), ti);
	dm_put_device(ti, oc->dev);
	free(oc);
	ti->private = NULL;
}

/* A held write's exception completed: run the procedure again. */
static void origin_rerun(struct origin_waiter *w)
{
	struct origin_io *io = (struct origin_io *)w;

	if (dm_snap_origin_write(origin_lookup(io->oc), io->clone->sector, w)) {
		io->clone->bdev = io->oc->dev;
		bdev_submit(io->clone);
	}
}

static int origin_map(struct dm_target *ti, struct bio *bio)
{
	struct origin_ctx *oc = ti->private;
	struct origin_io *io;

	if (bio->op == BIO_DISCARD)
		return -EOPNOTSUPP;
	bio->bdev = oc->dev;
	if (bio->op != BIO_WRITE)
		return DM_MAPIO_REMAPPED; /* reads, empty flushes */
	io = dm_per_bio_data(bio);
	memset(io, 0, sizeof(*io));
	io->w.rerun = origin_rerun;
	io->clone = bio;
	io->oc = oc;
	if (dm_snap_origin_write(origin_lookup(oc), bio->sector, &io->w))
		return DM_MAPIO_REMAPPED;
	return DM_MAPIO_SUBMITTED;
}

static void origin_status(struct dm_target *ti, enum status_type type,
			  char *buf, size_t len)
{
	struct origin_ctx *oc = ti->private;

	if (type == STATUSTYPE_INFO) {
		if (len)
			buf[0] = '\0';
		return;
	}
	dm_device_name(ti, oc->dev, buf, len);
}

static void origin_resume(struct dm_target *ti)
{
	struct origin_ctx *oc = ti->private;
	struct snap_registry *sr = snap_registry_get(oc->reg, true);

	/* The split boundary: 0 (no split) when there is no snapshot. */
	ti->max_io_len = snap_origin_min_chunk(origin_lookup(oc));
	if (sr && !oc->registered &&
	    snap_registry_add_origin_target(sr, oc->dev, ti) == 0)
		oc->registered = true;
}

static void origin_postsuspend(struct dm_target *ti)
{
	struct origin_ctx *oc = ti->private;

	if (oc->registered) {
		snap_registry_remove_origin_target(
			snap_registry_get(oc->reg, false), ti);
		oc->registered = false;
	}
}

/* Control-path reads and flushes pass through; writes would bypass the snapshots. */
static int origin_sync_rw(struct dm_target *ti, enum bio_op op,
			  sector_t sector, uint32_t nr_sectors, uint8_t *data)
{
	struct origin_ctx *oc = ti->private;

	if (op == BIO_FLUSH)
		return bdev_sync_rw(oc->dev, op, 0, 0, NULL);
	if (op != BIO_READ)
		return -EOPNOTSUPP;
	return bdev_sync_rw(oc->dev, op, sector, nr_sectors, data);
}

static int origin_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn *fn, void *data)
{
	struct origin_ctx *oc = ti->private;

	return fn(ti, oc->dev, 0, ti->len, data);
}

const struct target_type dm_snapshot_origin_target = {
	.name = "snapshot-origin",
	.version = { 1, 9, 0 },
	.ctr = origin_ctr,
	.dtr = origin_dtr,
	.map = origin_map,
	.status = origin_status,
	.postsuspend = origin_postsuspend,
	.resume = origin_resume,
	.sync_rw = origin_sync_rw,
	.iterate_devices = origin_iterate_devices,
};
