/*
 * dm_snap.c - the `snapshot` and `snapshot-merge` target types (spec 1.3,
 * 1.4, 1.6, 1.7, 4.13, 6.7): construction with every argument rule in the
 * spec's order, table and status output, suspend/resume hooks and the
 * handover between two tables sharing a COW device. The I/O paths are in
 * dm_snap_io.c, the exception machinery in dm_snap_exception.c.
 *
 * snapsim decisions (spec "snapsim note"s):
 *  - a non-zero target start is rejected ("Snapshot targets must start at
 *    sector 0");
 *  - `snapshot-merge` with a transient store is rejected at construction;
 *  - arguments after the n feature arguments are ignored, as in Linux;
 *  - the same COW used by snapshots of two different origins is refused;
 *  - store and chunk-size errors keep Linux's caller-visible text and add
 *    the detailed reason: "Couldn't create exception store: <reason>".
 */
#include "dm_snap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cow_format.h"

#define SNAP_MAX_FEATURES 2

/* ------------------------------------------------------------------ */
/* Argument parsing                                                    */
/* ------------------------------------------------------------------ */

/*
 * Chunk size (spec 1.3 step 7): unsigned decimal, 32-bit, an optional
 * leading '+', no other characters except one trailing newline.
 */
static int parse_chunk_size(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Fixed messages for store errors (ti->error is never freed). */
static const char *store_error(const char *reason)
{
	static const char *const msgs[][2] = {
		{ "Exception store type is not P or N",
		  "Couldn't create exception store: Exception store type is not P or N" },
		{ "Unsupported persistent store option",
		  "Couldn't create exception store: Unsupported persistent store option" },
		{ "Invalid chunk size",
		  "Couldn't create exception store: Invalid chunk size" },
		{ "Chunk size is not a power of 2",
		  "Couldn't create exception store: Chunk size is not a power of 2" },
		{ "Chunk size is not a multiple of device blocksize",
		  "Couldn't create exception store: Chunk size is not a multiple of device blocksize" },
		{ "Chunk size is too high",
		  "Couldn't create exception store: Chunk size is too high" },
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (reason && !strcmp(reason, msgs[i][0]))
			return msgs[i][1];
	return "Couldn't create exception store";
}

struct snap_args {
	bool zeroes_cow;
	bool passdown_origin;
};

/* Step 2: feature arguments. Returns 0 or -EINVAL with ti->error set. */
static int parse_features(struct dm_target *ti, unsigned argc, char **argv,
			  struct snap_args *a)
{
	uint64_t n;

	if (argc <= 4)
		return 0;
	if (dm_parse_u64(argv[4], SNAP_MAX_FEATURES, &n) != 0 ||
	    n > argc - 5) {
		ti->error = "Invalid number of feature arguments";
		ti->error_arg = 4;
		return -EINVAL;
	}
	for (unsigned i = 5; i < 5 + n; i++) {
		if (!strcasecmp(argv[i], "discard_zeroes_cow")) {
			a->zeroes_cow = true;
		} else if (!strcasecmp(argv[i], "discard_passdown_origin")) {
			a->passdown_origin = true;
		} else {
			ti->error = "Unrecognised feature requested";
			ti->error_arg = (int)i;
			return -EINVAL;
		}
	}
	if (a->passdown_origin && !a->zeroes_cow) {
		ti->error = "discard_passdown_origin feature depends on discard_zeroes_cow";
		ti->error_arg = 4;
		return -EINVAL;
	}
	return 0;
}

static unsigned block_sectors_of(const struct bdev *a, const struct bdev *b)
{
	unsigned x = a->logical_block_bytes >> SECTOR_SHIFT;
	unsigned y = b->logical_block_bytes >> SECTOR_SHIFT;

	/* Both are powers of two: the lcm is the larger one. */
	x = x ? x : 1;
	y = y ? y : 1;
	return x > y ? x : y;
}

/*
 * Steps 6-7: the store token and the chunk size, checked in the spec's
 * order before anything is constructed. Returns 0 or -EINVAL.
 */
static int check_store_args(struct dm_target *ti, bool is_merge,
			    const char *token, const char *chunk_arg,
			    unsigned block_sectors, uint32_t *chunk)
{
	char letter = token[0];
	const char *problem;

	if (letter == 'p' || letter == 'P') {
		if (token[1] && token[1] != 'o' && token[1] != 'O') {
			ti->error = store_error("Unsupported persistent store option");
			ti->error_arg = 2;
			return -EINVAL;
		}
	} else if (letter == 'n' || letter == 'N') {
		if (is_merge) {
			ti->error = "Snapshot exception store does not support snapshot-merge.";
			ti->error_arg = 2;
			return -EINVAL;
		}
	} else {
		ti->error = store_error("Exception store type is not P or N");
		ti->error_arg = 2;
		return -EINVAL;
	}
	if (parse_chunk_size(chunk_arg, chunk) != 0) {
		ti->error = store_error("Invalid chunk size");
		ti->error_arg = 3;
		return -EINVAL;
	}
	if (*chunk) {
		problem = cow_chunk_size_problem(*chunk, block_sectors);
		if (problem) {
			ti->error = store_error(problem);
			ti->error_arg = 3;
			return -EINVAL;
		}
	}
	return 0;
}

/* Whether origin o already has a merging snapshot other than skip. */
static bool origin_has_merging(struct snap_origin *o,
			       const struct dm_snapshot *skip)
{
	if (!o)
		return false;
	for (struct snap_reg_node *n = o->snaps; n; n = n->next)
		if (n->snap != skip && n->snap->is_merge)
			return true;
	return false;
}

/*
 * Step 9: find a handover source among the snapshots sharing our COW.
 * Returns 0 (with *src possibly NULL) or -EINVAL with ti->error set.
 */
static int find_handover_source(struct dm_target *ti, struct dm_snapshot *s,
				struct dm_snapshot **src)
{
	struct snap_reg_node *first;
	unsigned users = snap_registry_cow_users(s->sr, s->cow, NULL, &first);
	struct snap_origin *o = snap_registry_find_origin(s->sr, s->origin);

	*src = NULL;
	if (users == 1 && first->origin && first->origin->bdev != s->origin) {
		ti->error = "COW device is already used by a snapshot of another origin";
		ti->error_arg = 1;
		return -EINVAL;
	}
	if (users > 1 || (users == 1 && !first->snap->active)) {
		ti->error = "Snapshot cow pairing for exception table handover failed";
		ti->error_arg = -1;
		return -EINVAL;
	}
	if (users == 1 && first->snap->handover_dest) {
		ti->error = "Snapshot cow pairing for exception table handover failed";
		ti->error_arg = -1;
		return -EINVAL;
	}
	if (s->is_merge) {
		if (origin_has_merging(o, users ? first->snap : NULL)) {
			ti->error = "A snapshot is already merging.";
			ti->error_arg = -1;
			return -EINVAL;
		}
		if (users && (!first->snap->store ||
			      !first->snap->store->type->prepare_merge)) {
			ti->error = "Snapshot exception store does not support snapshot-merge.";
			ti->error_arg = -1;
			return -EINVAL;
		}
	}
	if (users)
		*src = first->snap;
	return 0;
}

/* Activation callback: one complete exception read back. */
static int add_exception(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct dm_snapshot *s = ctx;

	return extable_insert(&s->complete, old_chunk, new_chunk);
}

static uint64_t table_buckets_hint(const struct dm_snapshot *s, uint32_t chunk)
{
	uint64_t b = s->cow->size_sectors / (chunk ? chunk : COW_DEFAULT_CHUNK_SECTORS);
	uint64_t p = 64;

	if (b > 262144)
		b = 262144;
	while (p * 2 <= b)
		p *= 2;
	return p;
}

/* ------------------------------------------------------------------ */
/* Constructor / destructor                                            */
/* ------------------------------------------------------------------ */

static int snap_ctr_common(struct dm_target *ti, unsigned argc, char **argv,
			   bool is_merge)
{
	struct snap_args a = { 0 };
	struct dm_snapshot *s;
	struct dm_snapshot *src = NULL;
	struct ss_error err;
	unsigned block_sectors, cow_mode;
	uint32_t chunk = 0;
	int r;

	ti->error_arg = -1;
	if (argc < 4) {
		ti->error = "requires 4 or more arguments";
		return -EINVAL;
	}
	r = parse_features(ti, argc, argv, &a);
	if (r)
		return r;
	if (ti->begin != 0) {
		ti->error = "Snapshot targets must start at sector 0";
		return -EINVAL;
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		ti->error = "Cannot allocate private snapshot structure";
		return -ENOMEM;
	}
	s->ti = ti;
	s->reg = dm_target_registry(ti);
	s->ex = dm_target_executor(ti);
	s->len_sectors = ti->len;
	s->is_merge = is_merge;
	s->discard_zeroes_cow = a.zeroes_cow;
	s->discard_passdown_origin = a.passdown_origin;
	s->valid = true;
	s->node.snap = s;

	r = dm_get_device(ti, argv[0], is_merge ? DM_MODE_READ | DM_MODE_WRITE :
			  DM_MODE_READ, &s->origin);
	if (r) {
		ti->error = "Cannot get origin device";
		ti->error_arg = 0;
		goto err_free;
	}
	cow_mode = dm_target_read_only(ti) ? DM_MODE_READ :
					     DM_MODE_READ | DM_MODE_WRITE;
	r = dm_get_device(ti, argv[1], cow_mode, &s->cow);
	if (r) {
		ti->error = "Cannot get COW device";
		ti->error_arg = 1;
		goto err_put_origin;
	}
	if (s->cow == s->origin) {
		ti->error = "COW device cannot be the same as origin device";
		ti->error_arg = 1;
		r = -EINVAL;
		goto err_put_cow;
	}
	block_sectors = block_sectors_of(s->origin, s->cow);
	r = check_store_args(ti, is_merge, argv[2], argv[3], block_sectors,
			     &chunk);
	if (r)
		goto err_put_cow;
	ss_error_clear(&err);
	r = exstore_create(argv[2], chunk, s->cow, block_sectors, s->ex,
			   &s->store, &err);
	if (r) {
		ti->error = store_error(err.msg);
		ti->error_arg = 2;
		goto err_put_cow;
	}
	s->store_overflow_mode = s->store->overflow_mode;

	r = extable_init(&s->complete, table_buckets_hint(s, chunk));
	if (r) {
		ti->error = "Unable to allocate hash table space";
		goto err_destroy_store;
	}
	r = dm_snap_pending_init(s, table_buckets_hint(s, chunk) / 8);
	if (r) {
		ti->error = "Unable to allocate hash table space";
		goto err_destroy_table;
	}

	s->sr = snap_registry_get(s->reg, true);
	if (!s->sr) {
		ti->error = "Cannot allocate origin registry";
		r = -ENOMEM;
		goto err_free_pending;
	}
	r = find_handover_source(ti, s, &src);
	if (r)
		goto err_free_pending;

	if (!src) {
		ss_error_clear(&err);
		s->store->origin_sectors = s->origin->size_sectors;
		r = s->store->type->read_metadata(s->store, add_exception, s, &err);
		if (r < 0) {
			ti->error = "Failed to read snapshot metadata";
			ti->error_arg = 1;
			goto err_free_pending;
		}
		if (r == EXSTORE_MARKED_INVALID)
			s->valid = false;
		if (!snap_chunk_sectors(s)) {
			ti->error = "Chunk size not set";
			ti->error_arg = 3;
			r = -EINVAL;
			goto err_free_pending;
		}
	}

	s->node.cow = s->cow;
	s->node.chunk_sectors = src ? 0 : snap_chunk_sectors(s);
	r = snap_registry_link(s->sr, s->origin, &s->node);
	if (r) {
		ti->error = "Cannot register snapshot";
		goto err_free_pending;
	}
	if (src) {
		s->handover_src = src;
		src->handover_dest = s;
	} else {
		ti->max_io_len = snap_chunk_sectors(s);
	}
	ti->private = s;
	ti->per_io_data_size = sizeof(struct snap_io);
	ti->discards_supported = a.zeroes_cow &&
		(s->origin->caps & BDEV_CAP_DISCARD) &&
		(s->cow->caps & BDEV_CAP_DISCARD);
	return 0;

err_free_pending:
	free(s->pending);
	s->pending = NULL;
err_destroy_table:
	extable_destroy(&s->complete);
	memset(&s->complete, 0, sizeof(s->complete));
err_destroy_store:
	exstore_destroy(s->store);
	s->store = NULL;
err_put_cow:
	dm_put_device(ti, s->cow);
err_put_origin:
	dm_put_device(ti, s->origin);
err_free:
	free(s);
	return r;
}

static int snapshot_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	return snap_ctr_common(ti, argc, argv, false);
}

static int snapshot_merge_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	return snap_ctr_common(ti, argc, argv, true);
}

/*
 * Unregister and let go of the devices. The object itself lives on while
 * copies or commits it started are in flight (origin writes may wait on
 * them); dm_snap_reap() frees it. The devices must outlive that.
 */
static void snapshot_dtr(struct dm_target *ti)
{
	struct dm_snapshot *s = ti->private;

	if (s->handover_dest) {
		/* "Cancelling snapshot handover." */
		s->handover_dest->handover_src = NULL;
		s->handover_dest->valid = false;
		s->handover_dest = NULL;
	}
	if (s->handover_src) {
		s->handover_src->handover_dest = NULL;
		s->handover_src = NULL;
	}
	s->merge_stop = true;
	if (s->merge_running)
		dm_target_busy_put(ti);
	snap_registry_unlink(s->sr, &s->node);
	dm_put_device(ti, s->cow);
	dm_put_device(ti, s->origin);
	s->ti = NULL;
	s->dying = true;
	ti->private = NULL;
	dm_snap_reap(s);
}

/* ------------------------------------------------------------------ */
/* Map, status                                                         */
/* ------------------------------------------------------------------ */

static int snapshot_map(struct dm_target *ti, struct bio *bio)
{
	return dm_snap_map(ti->private, bio);
}

static int snapshot_merge_map(struct dm_target *ti, struct bio *bio)
{
	return dm_snap_merge_map(ti->private, bio);
}

static void snapshot_status(struct dm_target *ti, enum status_type type,
			    char *buf, size_t len)
{
	struct dm_snapshot *s = ti->private;
	char oname[160], cname[160];

	if (type == STATUSTYPE_INFO) {
		sector_t total = 0, allocated = 0, metadata = 0;

		if (!s->valid) {
			snprintf(buf, len, "Invalid");
		} else if (s->merge_failed) {
			snprintf(buf, len, "Merge failed");
		} else if (s->overflow) {
			snprintf(buf, len, "Overflow");
		} else if (s->handover_src || !s->store ||
			   !snap_chunk_sectors(s)) {
			snprintf(buf, len, "0/%llu 0",
				 (unsigned long long)s->cow->size_sectors);
		} else if (!s->store->type->usage) {
			snprintf(buf, len, "Unknown");
		} else {
			s->store->type->usage(s->store, &total, &allocated,
					      &metadata);
			snprintf(buf, len, "%llu/%llu %llu",
				 (unsigned long long)allocated,
				 (unsigned long long)total,
				 (unsigned long long)metadata);
		}
		return;
	}
	{
		unsigned k = (unsigned)s->discard_zeroes_cow +
			     (unsigned)s->discard_passdown_origin;
		int n = snprintf(buf, len, "%s %s %s %u",
				 dm_device_name(ti, s->origin, oname, sizeof(oname)),
				 dm_device_name(ti, s->cow, cname, sizeof(cname)),
				 s->store_overflow_mode ? "PO" :
				 (s->store ? exstore_table_token(s->store) : "P"),
				 s->handover_src ? 0 : snap_chunk_sectors(s));

		if (k && n >= 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, " %u%s%s", k,
				 s->discard_zeroes_cow ? " discard_zeroes_cow" : "",
				 s->discard_passdown_origin ?
				 " discard_passdown_origin" : "");
	}
}

/* ------------------------------------------------------------------ */
/* Hooks (spec 6.7)                                                    */
/* ------------------------------------------------------------------ */

static bool device_of_suspended(struct dm_snapshot *s, struct dm_target *ti)
{
	struct dm_device *md = ti ? dm_target_device(ti) : NULL;

	if (!md)
		return false;
	return dm_is_suspended(s->reg, dm_device_name_of(md));
}

static int snapshot_preresume(struct dm_target *ti)
{
	struct dm_snapshot *s = ti->private;

	if (s->handover_dest)
		return -EINVAL; /* a destination waits for our exceptions */
	if (s->handover_src && !device_of_suspended(s, s->handover_src->ti))
		return -EINVAL;
	return 0;
}

static void snapshot_resume(struct dm_target *ti)
{
	struct dm_snapshot *s = ti->private;

	if (s->handover_src)
		dm_snap_handover(s->handover_src, s);
	snap_registry_replace(&s->node, snap_chunk_sectors(s));
	s->active = true;
	if (s->is_merge) {
		uint32_t min = snap_origin_min_chunk(s->node.origin);

		ti->max_io_len = min ? min : snap_chunk_sectors(s);
		dm_snap_merge_start(s);
	} else {
		ti->max_io_len = snap_chunk_sectors(s);
	}
}

static void snapshot_merge_presuspend(struct dm_target *ti)
{
	struct dm_snapshot *s = ti->private;

	/* The step in progress ends the merge; suspend waits (busy count). */
	s->merge_stop = true;
}

/*
 * Control-path reads through the snapshot (tools reading a snapshot device
 * synchronously): each chunk from the COW when it has a complete
 * exception, else from the origin. Writes are refused: they would need
 * exceptions, which only the asynchronous path creates.
 */
static int snapshot_sync_rw(struct dm_target *ti, enum bio_op op,
			    sector_t sector, uint32_t nr_sectors, uint8_t *data)
{
	struct dm_snapshot *s = ti->private;
	uint32_t cs = snap_chunk_sectors(s);

	if (op != BIO_READ)
		return -EOPNOTSUPP;
	if (!s->valid || !cs || s->handover_src)
		return s->is_merge && !s->valid ?
			bdev_sync_rw(s->origin, op, sector, nr_sectors, data) : -EIO;
	while (nr_sectors) {
		chunk_t c = snap_sector_to_chunk(s, sector), new_chunk;
		uint32_t n = cs - (uint32_t)(sector & (cs - 1));
		int r;

		if (n > nr_sectors)
			n = nr_sectors;
		if (extable_lookup(&s->complete, c, &new_chunk))
			r = bdev_sync_rw(s->cow, op, snap_chunk_to_sector(s, new_chunk) +
					 (sector & (cs - 1)), n, data);
		else
			r = bdev_sync_rw(s->origin, op, sector, n, data);
		if (r)
			return r;
		sector += n;
		nr_sectors -= n;
		data += (size_t)n << SECTOR_SHIFT;
	}
	return 0;
}

static int snapshot_iterate_devices(struct dm_target *ti,
				    iterate_devices_callout_fn *fn, void *data)
{
	struct dm_snapshot *s = ti->private;
	int r = fn(ti, s->origin, 0, ti->len, data);

	if (!r)
		r = fn(ti, s->cow, 0, s->cow->size_sectors, data);
	return r;
}

const struct target_type dm_snapshot_target = {
	.name = "snapshot",
	.version = { 1, 16, 0 },
	.ctr = snapshot_ctr,
	.dtr = snapshot_dtr,
	.map = snapshot_map,
	.status = snapshot_status,
	.preresume = snapshot_preresume,
	.resume = snapshot_resume,
	.sync_rw = snapshot_sync_rw,
	.iterate_devices = snapshot_iterate_devices,
};

const struct target_type dm_snapshot_merge_target = {
	.name = "snapshot-merge",
	.version = { 1, 5, 0 },
	.ctr = snapshot_merge_ctr,
	.dtr = snapshot_dtr,
	.map = snapshot_merge_map,
	.status = snapshot_status,
	.presuspend = snapshot_merge_presuspend,
	.preresume = snapshot_preresume,
	.resume = snapshot_resume,
	.sync_rw = snapshot_sync_rw,
	.iterate_devices = snapshot_iterate_devices,
};
