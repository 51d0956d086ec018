/*
 * dm_linear.c - the `linear` target: `linear <dev> <offset>` maps the
 * target's sectors onto <dev> starting at sector <offset>.
 */
#include "dm_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct linear_c {
	struct bdev *dev;
	sector_t start;    /* first sector on dev */
};

static int linear_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	struct linear_c *lc;
	struct bdev *dev;
	sector_t start;
	int r;

	if (argc != 2) {
		ti->error = "Invalid argument count";
		ti->error_arg = -1;
		return -EINVAL;
	}
	r = dm_get_device_offset(ti, argv, &dev, &start);
	if (r)
		return r;
	lc = calloc(1, sizeof(*lc));
	if (!lc) {
		dm_put_device(ti, dev);
		ti->error = "Cannot allocate linear context";
		return -ENOMEM;
	}
	lc->dev = dev;
	lc->start = start;
	ti->discards_supported = true;
	ti->private = lc;
	return 0;
}

static void linear_dtr(struct dm_target *ti)
{
	struct linear_c *lc = ti->private;

	dm_put_device(ti, lc->dev); /* acquired in linear_ctr */
	free(lc);
}

static int linear_map(struct dm_target *ti, struct bio *bio)
{
	struct linear_c *lc = ti->private;

	bio->bdev = lc->dev;
	if (bio->op != BIO_FLUSH)
		bio->sector = lc->start + (bio->sector - ti->begin);
	return DM_MAPIO_REMAPPED;
}

static void linear_status(struct dm_target *ti, enum status_type type,
			  char *buf, size_t len)
{
	struct linear_c *lc = ti->private;
	char name[160];

	if (type == STATUSTYPE_INFO) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s %" PRIu64,
		 dm_device_name(ti, lc->dev, name, sizeof(name)), lc->start);
}

static int linear_sync_rw(struct dm_target *ti, enum bio_op op,
			  sector_t sector, uint32_t nr_sectors, uint8_t *data)
{
	struct linear_c *lc = ti->private;

	if (op == BIO_FLUSH)
		return bdev_sync_rw(lc->dev, op, 0, 0, NULL);
	return bdev_sync_rw(lc->dev, op, lc->start + (sector - ti->begin),
			    nr_sectors, data);
}

static int linear_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn *fn, void *data)
{
	struct linear_c *lc = ti->private;

	return fn(ti, lc->dev, lc->start, ti->len, data);
}

const struct target_type dm_linear_target = {
	.name = "linear",
	.version = { 1, 4, 0 },
	.ctr = linear_ctr,
	.dtr = linear_dtr,
	.map = linear_map,
	.status = linear_status,
	.sync_rw = linear_sync_rw,
	.iterate_devices = linear_iterate_devices,
};
