/*
 * dm_zero.c - the `zero` target: reads return zeroes, writes and
 * discards are accepted and dropped, flushes succeed. No arguments.
 */
#include "dm_internal.h"

#include <string.h>

static int zero_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	(void)argv;
	if (argc != 0) {
		ti->error = "No arguments required";
		ti->error_arg = 0;
		return -EINVAL;
	}
	ti->discards_supported = true;
	return 0;
}

/*
 * Completes the clone at once: dm core defers the completion of the
 * original, so this does not complete anything inside a submit call.
 */
static int zero_map(struct dm_target *ti, struct bio *bio)
{
	(void)ti;
	if (bio->op == BIO_READ)
		memset(bio->data, 0, (size_t)bio->nr_sectors << SECTOR_SHIFT);
	bio_endio(bio, 0);
	return DM_MAPIO_SUBMITTED;
}

static void zero_status(struct dm_target *ti, enum status_type type,
			char *buf, size_t len)
{
	(void)ti;
	(void)type;
	(void)len;
	buf[0] = '\0';
}

static int zero_sync_rw(struct dm_target *ti, enum bio_op op, sector_t sector,
			uint32_t nr_sectors, uint8_t *data)
{
	(void)ti;
	(void)sector;
	if (op == BIO_READ)
		memset(data, 0, (size_t)nr_sectors << SECTOR_SHIFT);
	return 0;
}

const struct target_type dm_zero_target = {
	.name = "zero",
	.version = { 1, 2, 0 },
	.ctr = zero_ctr,
	.map = zero_map,
	.status = zero_status,
	.sync_rw = zero_sync_rw,
};
