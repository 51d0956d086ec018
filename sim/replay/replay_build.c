/*
 * replay_build.c - building and tearing down a replayer's world: the
 * scheduler, the dm registry, the model, and each disk (sim disk, fault
 * wrapper when the trace asks for faults, completion tap); the read-only
 * accessors the explorer uses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pattern.h"
#include "replay_impl.h"
#include "sim_image.h"
#include "sparse_map.h"

/* ---- garbage shared with the model ---- */

void rp_garbage(uint64_t key, model_sector_t sector, uint8_t *out)
{
	struct sim_store *st = sim_store_create(SIM_INIT_GARBAGE, key);

	if (!st) {
		memset(out, 0xff, PATTERN_SECTOR_BYTES);
		return;
	}
	sim_store_initial(st, sector, 1, out);
	sim_store_put(st);
}

/* An image disk's never-written sectors, for the model (key: the image). */
static void image_initial(uint64_t key, model_sector_t sector, uint8_t *out)
{
	sim_image_read((struct sim_image *)(uintptr_t)key, sector, 1, out);
}

/* ---- disks ---- */

int rp_disk_setup(struct replay_world *w, unsigned i, struct sim_disk *disk,
		  const struct trace_disk *td, char *errbuf, size_t len)
{
	struct rp_disk *rd = &w->disks[i];
	struct bdev *top = disk ? sim_disk_bdev(disk) : rd->file;
	struct ss_error err;

	rd->disk = disk;
	if (td && td->nr_faults) {
		int r = sim_fault_bdev_create(top, &w->sched, w->seed, i, rd->path, &rd->fault);

		if (r) {
			snprintf(errbuf, len, "disk %s: cannot create the fault wrapper", rd->name);
			return r;
		}
		w->faults = true;
		for (unsigned k = 0; k < td->nr_faults; k++) {
			const struct trace_fault *f = &td->faults[k];
			struct sim_fault_rule rule = {
				.ops = f->op == TRACE_FAULT_READ ? SIM_FAULT_READ
				       : f->op == TRACE_FAULT_WRITE ? SIM_FAULT_WRITE : 0,
				.from_op = f->after_ops, .max_hits = f->count,
				.error = f->error ? f->error : -EIO,
			};

			if (f->die_at_op) {
				r = sim_fault_die_at_op(rd->fault, f->die_at_op - 1);
			} else if (f->latent) {
				r = 0;
				if (f->has_range)
					r = sim_fault_add_latent(rd->fault, f->range_start,
								 f->range_len);
				for (unsigned s = 0; !r && s < f->nr_sectors; s++)
					r = sim_fault_add_latent(rd->fault, f->sectors[s], 1);
			} else if (f->has_range || f->nr_sectors) {
				r = 0;
				if (f->has_range) {
					rule.sector = f->range_start;
					rule.nr_sectors = f->range_len;
					r = sim_fault_add_rule(rd->fault, &rule);
				}
				for (unsigned s = 0; !r && s < f->nr_sectors; s++) {
					rule.sector = f->sectors[s];
					rule.nr_sectors = 1;
					r = sim_fault_add_rule(rd->fault, &rule);
				}
			} else {
				r = sim_fault_add_rule(rd->fault, &rule);
			}
			if (r) {
				snprintf(errbuf, len, "disk %s: fault %u cannot be set up",
					 rd->name, k + 1);
				return r;
			}
		}
		top = sim_fault_bdev_bdev(rd->fault);
	}
	rd->tap.base.ops = &rp_tap_ops;
	rd->tap.base.size_sectors = top->size_sectors;
	rd->tap.base.logical_block_bytes = top->logical_block_bytes;
	rd->tap.base.caps = top->caps;
	snprintf(rd->tap.base.name, sizeof(rd->tap.base.name), "%.127s", rd->path);
	rd->tap.lower = top;
	rd->tap.w = w;
	rd->tap.idx = i;
	ss_error_clear(&err);
	if (dm_registry_add_bdev(w->reg, &rd->tap.base, &err)) {
		snprintf(errbuf, len, "disk %s: %s", rd->name, err.msg);
		return -EINVAL;
	}
	return 0;
}

static void log_line(void *ctx, uint64_t now_ns, const char *line)
{
	(void)now_ns;
	fprintf((FILE *)ctx, "%s\n", line);
}

struct replay_world *rp_world_alloc(uint64_t seed, const char *trace,
				     const struct replay_opts *opts, unsigned nr_disks)
{
	struct replay_world *w = calloc(1, sizeof(*w));
	struct sim_sched_opts so = { 0 };

	if (!w)
		return NULL;
	so.seed = seed;
	so.defer_mode = opts && opts->defer_shuffle ? SIM_DEFER_SHUFFLE : SIM_DEFER_FIFO;
	sim_sched_init(&w->sched, &so);
	w->seed = seed;
	snprintf(w->trace, sizeof(w->trace), "%s", trace);
	w->budget = opts && opts->event_budget ? opts->event_budget : 50000000ull;
	w->log = opts ? opts->log : NULL;
	if (w->log)
		sim_sched_set_log(&w->sched, log_line, w->log);
	w->disks = calloc(nr_disks ? nr_disks : 1, sizeof(*w->disks));
	w->reg = dm_registry_create(sim_sched_executor(&w->sched));
	w->model = model_create();
	if (!w->disks || !w->reg || !w->model) {
		replay_world_destroy(w);
		return NULL;
	}
	return w;
}

static uint64_t garbage_key(uint64_t seed, uint64_t disk_id)
{
	return sim_hash_combine(seed, sim_hash_combine(SIM_STREAM_GARBAGE, disk_id));
}

int rp_world_create(const struct trace_header *hdr, uint64_t seed, const char *trace,
		    const struct replay_opts *opts, struct replay_world **out,
		    char *errbuf, size_t len)
{
	struct replay_world *w = rp_world_alloc(seed, trace, opts, hdr->nr_disks);
	int r = 0;

	*out = NULL;
	if (!w) {
		snprintf(errbuf, len, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < hdr->nr_disks; i++) {
		const struct trace_disk *td = &hdr->disks[i];
		struct rp_disk *rd = &w->disks[i];
		struct sim_disk_config cfg = { 0 };
		struct sim_disk *disk;

		snprintf(rd->name, sizeof(rd->name), "%s", td->name);
		snprintf(rd->path, sizeof(rd->path), "%s", td->path);
		cfg.name = td->name;
		cfg.size_sectors = td->size_sectors;
		cfg.logical_block_bytes = td->sector_bytes;
		cfg.atomic_sectors = td->atomic_sectors ? (uint32_t)td->atomic_sectors
							: (uint32_t)1 << 30;
		cfg.init = td->initial == TRACE_INITIAL_GARBAGE ? SIM_INIT_GARBAGE : SIM_INIT_ZERO;
		cfg.seed = seed;
		cfg.disk_id = i;
		cfg.read_lat.min_ns = td->latency_min_ns;
		cfg.read_lat.max_ns = td->latency_max_ns;
		cfg.write_lat = cfg.read_lat;
		cfg.flush_lat = cfg.read_lat;
		cfg.queue_depth = td->queue_depth;
		cfg.in_order = !td->reorder;
		cfg.write_through = !td->cache;
		if (td->image) {
			/* Opened again: the file may have changed since validation. */
			r = sim_image_open(td->image, (uint64_t)td->size_sectors * 512, &rd->image,
					   errbuf, len);
			if (r)
				goto fail;
			cfg.image = rd->image;
		}
		cfg.discard = td->discard;
		r = sim_disk_create(&cfg, &w->sched, &disk);
		if (r) {
			snprintf(errbuf, len, "disk %s: the simulated disk rejects its settings",
				 td->name);
			goto fail;
		}
		w->nr_disks = i + 1;
		r = rp_disk_setup(w, i, disk, td, errbuf, len);
		if (r)
			goto fail;
		r = model_add_disk(w->model, td->name, td->size_sectors,
				   td->initial == TRACE_INITIAL_GARBAGE || rd->image, 0);
		if (!r && rd->image)
			r = model_set_disk_initial(w->model, td->name, image_initial,
						   (uint64_t)(uintptr_t)rd->image);
		else if (!r && td->initial == TRACE_INITIAL_GARBAGE)
			r = model_set_disk_initial(w->model, td->name, rp_garbage,
						   garbage_key(seed, i));
		if (r) {
			snprintf(errbuf, len, "disk %s: the model refuses it", td->name);
			goto fail;
		}
	}
	*out = w;
	return 0;
fail:
	replay_world_destroy(w);
	return r ? r : -EINVAL;
}

void replay_world_destroy(struct replay_world *w)
{
	if (!w)
		return;
	w->res = NULL; /* final: I/O the teardown fails below is not counted */
	w->crash_modes = 0; /* and no crash point is offered while tearing down */
	/* Events still pending (a hang ran out of its event budget) run first,
	 * so the requests they hold complete instead of leaking. */
	if (w->reg)
		sim_sched_run(&w->sched, w->budget > 1000000 ? w->budget : 1000000);
	/* I/O still queued on a suspended device fails with -EIO (a removed
	 * device's I/O on Linux) and completes while the world is whole; what
	 * that completion submits anew (a held origin write) fails the same way. */
	for (int round = 0; w->reg && round < 64 && dm_registry_fail_queued(w->reg); round++)
		sim_sched_run(&w->sched, w->budget ? w->budget : 1000000);
	if (w->reg)
		dm_registry_destroy(w->reg);
	for (unsigned i = 0; i < w->nr_disks; i++) {
		if (w->disks[i].fault)
			sim_fault_bdev_destroy(w->disks[i].fault);
		if (w->disks[i].disk)
			sim_disk_destroy(w->disks[i].disk);
		bdev_destroy(w->disks[i].file);
		rp_tap_free_inflight(&w->disks[i].tap);
	}
	/* After the disks: the model may read an image until it is gone below,
	 * and a restarted world's model reads it through its own disks' stores. */
	sim_sched_destroy(&w->sched);
	rp_free_all(w);
	for (unsigned i = 0; i < w->nr_devs; i++)
		free(w->devs[i].live);
	free(w->devs);
	free(w->cpq);
	for (unsigned i = 0; i < w->nr_cows_seen; i++)
		free(w->cows_seen[i]);
	free(w->cows_seen);
	model_destroy(w->model);
	for (unsigned i = 0; i < w->nr_disks; i++)
		sim_image_put(w->disks[i].image);
	free(w->disks);
	free(w);
}

/* ---- accessors ---- */

unsigned replay_world_nr_disks(const struct replay_world *w) { return w->nr_disks; }
const char *replay_world_disk_name(const struct replay_world *w, unsigned i)
{
	return i < w->nr_disks ? w->disks[i].name : NULL;
}
const char *replay_world_disk_path(const struct replay_world *w, unsigned i)
{
	return i < w->nr_disks ? w->disks[i].path : NULL;
}
struct sim_disk *replay_world_disk(const struct replay_world *w, unsigned i)
{
	return i < w->nr_disks ? w->disks[i].disk : NULL;
}
struct bdev *replay_world_disk_bdev(struct replay_world *w, unsigned i)
{
	return &w->disks[i].tap.base;
}
struct model *replay_world_model(struct replay_world *w) { return w->model; }
struct dm_registry *replay_world_registry(struct replay_world *w) { return w->reg; }
struct sim_sched *replay_world_sched(struct replay_world *w) { return &w->sched; }
uint64_t replay_world_seed(const struct replay_world *w) { return w->seed; }
const char *replay_world_trace(const struct replay_world *w) { return w->trace; }
unsigned replay_world_nr_devs(const struct replay_world *w) { return w->nr_devs; }
const char *replay_world_dev_name(const struct replay_world *w, unsigned i)
{
	return i < w->nr_devs ? w->devs[i].name : NULL;
}
const char *replay_world_dev_table(const struct replay_world *w, unsigned i)
{
	return i < w->nr_devs ? (w->devs[i].live ? w->devs[i].live : "") : NULL;
}
unsigned replay_world_tables_rejected(const struct replay_world *w)
{
	return w->tables_rejected;
}

bool replay_world_aliased(const struct replay_world *w)
{
	return w->aliased;
}

bool replay_world_snap_wrote_cow(const struct replay_world *w, const struct bdev *cow)
{
	for (unsigned i = 0; i < w->nr_snap_cows; i++)
		if (w->snap_cows[i] == cow)
			return true;
	return false;
}

bool replay_world_dev_suspended(const struct replay_world *w, unsigned i)
{
	return i < w->nr_devs && dm_is_suspended(w->reg, w->devs[i].name);
}

uint64_t replay_world_shape(const struct replay_world *w)
{
	uint64_t h = sim_hash_combine(w->nr_devs, w->nr_disks);

	for (unsigned i = 0; i < w->nr_devs; i++) {
		const struct rp_dev *d = &w->devs[i];
		const char *t = d->live ? d->live : "";

		h = sim_hash_bytes(d->name, strlen(d->name), h);
		h = sim_hash_bytes(t, strlen(t) + (d->live != NULL), h);
		h = sim_hash_combine(h, (uint64_t)d->held_cow << 1 | d->merge_done);
	}
	for (unsigned i = 0; i < w->nr_disks; i++) {
		const struct rp_disk *d = &w->disks[i];

		h = sim_hash_bytes(d->name, strlen(d->name), h);
		h = sim_hash_combine(h, (uint64_t)d->used << 1 | d->held_cow);
	}
	return h;
}
