/*
 * dm_error.c - the `error` target: every read, write and discard fails
 * with -EIO; empty flushes succeed (Linux sends the error target no
 * flushes at all).
 *
 * Arguments, as Linux's error target 1.7.0: none, or `<dev> <offset>`
 * like linear (the device is then held, listed by deps and range checked
 * at bind time). Linux ignores any other argument list (the type is a
 * "wildcard" that can stand in for any target); snapsim rejects it, since
 * a silently ignored argument is more often a typo. The table output is
 * `error` with no params, as in Linux, so `<dev> <offset>` does not
 * survive a print and parse round trip.
 */
#include "dm_internal.h"

#include <stdlib.h>

struct io_err_c {
	struct bdev *dev;
	sector_t start;
};

static int error_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	struct io_err_c *ec;
	struct bdev *dev;
	sector_t start;
	int r;

	ti->discards_supported = true;
	if (argc == 0)
		return 0;
	if (argc != 2) {
		ti->error = "Invalid argument count";
		ti->error_arg = -1;
		return -EINVAL;
	}
	r = dm_get_device_offset(ti, argv, &dev, &start);
	if (r)
		return r;
	ec = calloc(1, sizeof(*ec));
	if (!ec) {
		dm_put_device(ti, dev);
		ti->error = "Cannot allocate io_err context";
		return -ENOMEM;
	}
	ec->dev = dev;
	ec->start = start;
	ti->private = ec;
	return 0;
}

static void error_dtr(struct dm_target *ti)
{
	struct io_err_c *ec = ti->private;

	if (!ec)
		return;
	dm_put_device(ti, ec->dev); /* acquired in error_ctr */
	free(ec);
}

static int error_map(struct dm_target *ti, struct bio *bio)
{
	(void)ti;
	if (bio->op == BIO_FLUSH) {
		bio_endio(bio, 0); /* dm core defers the original's completion */
		return DM_MAPIO_SUBMITTED;
	}
	return -EIO;
}

static void error_status(struct dm_target *ti, enum status_type type,
			 char *buf, size_t len)
{
	(void)ti;
	(void)type;
	(void)len;
	buf[0] = '\0';
}

static int error_sync_rw(struct dm_target *ti, enum bio_op op, sector_t sector,
			 uint32_t nr_sectors, uint8_t *data)
{
	(void)ti;
	(void)op;
	(void)sector;
	(void)nr_sectors;
	(void)data;
	return -EIO;
}

static int error_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn *fn, void *data)
{
	struct io_err_c *ec = ti->private;

	if (!ec)
		return 0;
	return fn(ti, ec->dev, ec->start, ti->len, data);
}

const struct target_type dm_error_target = {
	.name = "error",
	.version = { 1, 7, 0 },
	.ctr = error_ctr,
	.dtr = error_dtr,
	.map = error_map,
	.status = error_status,
	.sync_rw = error_sync_rw,
	.iterate_devices = error_iterate_devices,
};
