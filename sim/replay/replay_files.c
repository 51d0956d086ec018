/*
 * replay_files.c - a replayer's world on image files (`snapsim run`): each
 * trace disk is a file (or block device) opened through core's file device
 * on the world's scheduler, so the same step loop, dm verbs, checks and
 * merges run on real bytes. The simulated path is untouched: nothing here
 * runs unless replay_opts.disk_files is set.
 *
 * Between the tap and the file sits a small device that gives the disk the
 * trace's size, sector size and discard support (what a simulated disk of
 * the same entry would accept) and keeps the pre-image of every 4 KiB page
 * before its first write, so the model reads a never-written sector as the
 * file held it when the run began, whatever the run wrote since.
 *
 * The model knows only what this run did. A COW that already held a store
 * (a snapshot made by an earlier run) activates with exceptions the model
 * has never seen: from that step on reads are checked against expect:
 * alone, and the run says so (rp_files_poll).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_bdev.h"
#include "replay_impl.h"

#define PRE_PAGE 4096u
#define PRE_PAGE_SECTORS (PRE_PAGE / SECTOR_SIZE)

struct pre_slot {
	uint64_t page;   /* page index + 1; 0: empty */
	uint8_t *data;
};

/* The device over one image file. */
struct rp_file_dev {
	struct bdev base;        /* must be first */
	struct file_bdev *fb;
	unsigned lbs;            /* logical block in sectors */
	bool discard;
	bool created;
	uint64_t sectors_written;
	struct pre_slot *slots;  /* open addressing, power-of-two size */
	size_t cap, nr;
};

/* ---- pre-images ---- */

static uint8_t *pre_find(const struct rp_file_dev *d, uint64_t page)
{
	if (!d->cap)
		return NULL;
	for (size_t i = (size_t)(page * 0x9E3779B97F4A7C15ull) & (d->cap - 1);;
	     i = (i + 1) & (d->cap - 1)) {
		if (!d->slots[i].page)
			return NULL;
		if (d->slots[i].page == page + 1)
			return d->slots[i].data;
	}
}

static void pre_put(struct pre_slot *slots, size_t cap, uint64_t page, uint8_t *data)
{
	size_t i = (size_t)(page * 0x9E3779B97F4A7C15ull) & (cap - 1);

	while (slots[i].page)
		i = (i + 1) & (cap - 1);
	slots[i].page = page + 1;
	slots[i].data = data;
}

/* Read what the file holds at byte off (zeros past its end). */
static int file_read(struct rp_file_dev *d, uint64_t off, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(d->fb->fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Keep the pages of [sector, sector + nr) not kept yet, before they change. */
static int pre_save(struct rp_file_dev *d, sector_t sector, uint64_t nr)
{
	if (!nr)
		return 0;
	for (uint64_t p = sector / PRE_PAGE_SECTORS; p <= (sector + nr - 1) / PRE_PAGE_SECTORS; p++) {
		uint8_t *data;
		int r;

		if (pre_find(d, p))
			continue;
		if (2 * (d->nr + 1) > d->cap) {
			size_t cap = d->cap ? 2 * d->cap : 1024;
			struct pre_slot *ns = calloc(cap, sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			for (size_t i = 0; i < d->cap; i++)
				if (d->slots[i].page)
					pre_put(ns, cap, d->slots[i].page - 1, d->slots[i].data);
			free(d->slots);
			d->slots = ns;
			d->cap = cap;
		}
		data = malloc(PRE_PAGE);
		if (!data)
			return -ENOMEM;
		r = file_read(d, p * PRE_PAGE, data, PRE_PAGE);
		if (r) {
			free(data);
			return r;
		}
		pre_put(d->slots, d->cap, p, data);
		d->nr++;
	}
	return 0;
}

/* The model's initial content of a sector: the file before the run. */
static void pre_initial(uint64_t key, model_sector_t sector, uint8_t *out)
{
	struct rp_file_dev *d = (struct rp_file_dev *)(uintptr_t)key;
	const uint8_t *page = pre_find(d, sector / PRE_PAGE_SECTORS);

	if (page)
		memcpy(out, page + (sector % PRE_PAGE_SECTORS) * SECTOR_SIZE, SECTOR_SIZE);
	else if (file_read(d, sector * SECTOR_SIZE, out, SECTOR_SIZE))
		memset(out, 0xff, SECTOR_SIZE); /* unreadable: any read then mismatches */
}

/* ---- the device ---- */

struct fail_later {
	struct bio *bio;
	int status;
};

static void fail_now(void *ctx)
{
	struct fail_later *f = ctx;
	struct bio *bio = f->bio;
	int status = f->status;

	free(f);
	bio_endio(bio, status);
}

static void fdev_submit(struct bdev *bd, struct bio *bio)
{
	struct rp_file_dev *d = (struct rp_file_dev *)bd;
	int status = bdev_check_range(bd, bio);

	if (!status && bio->op == BIO_DISCARD && !d->discard)
		status = -EOPNOTSUPP;
	if (!status && bio->op != BIO_FLUSH && (bio->sector % d->lbs || bio->nr_sectors % d->lbs))
		status = -EIO; /* as a simulated disk of this sector size */
	if (!status && (bio->op == BIO_WRITE || bio->op == BIO_DISCARD)) {
		status = pre_save(d, bio->sector, bio->nr_sectors);
		if (!status)
			d->sectors_written += bio->nr_sectors;
	}
	if (status) {
		struct fail_later *f = malloc(sizeof(*f));

		/* Completed later, never inside submit (bdev.h). */
		if (f) {
			f->bio = bio;
			f->status = status;
		}
		if (!f || executor_defer(d->fb->ex, fail_now, f)) {
			free(f);
			bio_endio(bio, -ENOMEM); /* out of memory twice: no better way */
		}
		return;
	}
	/* Remapped, not cloned: the file device completes the caller's bio. */
	bio->bdev = &d->fb->base;
	bdev_submit(bio);
}

static int fdev_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			uint32_t nr_sectors, uint8_t *data)
{
	struct rp_file_dev *d = (struct rp_file_dev *)bd;

	if (op != BIO_FLUSH && (sector % d->lbs || nr_sectors % d->lbs))
		return -EIO;
	if (op == BIO_WRITE) {
		int r = pre_save(d, sector, nr_sectors);

		if (r)
			return r;
		d->sectors_written += nr_sectors;
	}
	return bdev_sync_rw(&d->fb->base, op, sector, nr_sectors, data);
}

static void fdev_destroy(struct bdev *bd)
{
	struct rp_file_dev *d = (struct rp_file_dev *)bd;

	bdev_destroy(&d->fb->base);
	for (size_t i = 0; i < d->cap; i++)
		free(d->slots[i].data);
	free(d->slots);
	free(d);
}

static const struct bdev_ops fdev_ops = {
	.submit = fdev_submit,
	.destroy = fdev_destroy,
	.sync_rw = fdev_sync_rw,
};

/* ---- the world ---- */

static const char *path_of(const struct replay_opts *o, const char *disk)
{
	for (unsigned i = 0; i < o->nr_disk_files; i++)
		if (!strcmp(o->disk_files[i].name, disk))
			return o->disk_files[i].path;
	return NULL;
}

/*
 * Everything the files must satisfy, before any is created or opened for
 * writing: every disk named once, no file twice, faults refused, an
 * existing file at least the disk's size, a missing one only with create.
 */
static int check_files(const struct trace_header *hdr, const struct replay_opts *o,
		       bool *missing, char *errbuf, size_t len)
{
	struct stat *st = calloc(hdr->nr_disks ? hdr->nr_disks : 1, sizeof(*st));
	int r = 0;

	if (!st) {
		snprintf(errbuf, len, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < o->nr_disk_files && !r; i++) {
		bool known = false;

		for (unsigned k = 0; k < hdr->nr_disks; k++)
			known |= !strcmp(hdr->disks[k].name, o->disk_files[i].name);
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(o->disk_files[k].name, o->disk_files[i].name))
				known = false;
		if (!known) {
			bool twice = false;

			for (unsigned k = 0; k < i; k++)
				twice |= !strcmp(o->disk_files[k].name, o->disk_files[i].name);
			snprintf(errbuf, len, twice ? "--disk %s=%s: disk '%s' is given twice"
				 : "--disk %s=%s: the trace has no disk '%s'", o->disk_files[i].name,
				 o->disk_files[i].path, o->disk_files[i].name);
			r = -EINVAL;
		}
	}
	for (unsigned i = 0; i < hdr->nr_disks && !r; i++) {
		const struct trace_disk *td = &hdr->disks[i];
		const char *path = path_of(o, td->name);
		uint64_t bytes;

		if (!path) {
			snprintf(errbuf, len, "disk '%s' (line %u) has no image: give --disk %s=PATH",
				 td->name, td->line, td->name);
			r = -EINVAL;
		} else if (td->nr_faults) {
			snprintf(errbuf, len, "disk '%s' (line %u) has faults: an image file cannot"
				 " inject them (replay the trace to simulate them)", td->name, td->line);
			r = -EOPNOTSUPP;
		} else if (stat(path, &st[i])) {
			if (errno != ENOENT || !o->create_files) {
				snprintf(errbuf, len, "disk '%s': %s: %s%s", td->name, path,
					 strerror(errno), errno == ENOENT ? " (--create makes it)" : "");
				r = errno == ENOENT ? -ENOENT : -errno;
			}
			missing[i] = true;
		} else if (!S_ISREG(st[i].st_mode) && !S_ISBLK(st[i].st_mode)) {
			snprintf(errbuf, len, "disk '%s': %s: not a regular file or block device",
				 td->name, path);
			r = -EINVAL;
		} else if (S_ISREG(st[i].st_mode) &&
			   (bytes = (uint64_t)st[i].st_size) < td->size_sectors * SECTOR_SIZE) {
			snprintf(errbuf, len, "disk '%s': %s holds %" PRIu64 " bytes, the trace's disk"
				 " needs %" PRIu64 " (an existing file is never resized)", td->name,
				 path, bytes, (uint64_t)td->size_sectors * SECTOR_SIZE);
			r = -ENOSPC;
		}
		for (unsigned k = 0; k < i && !r; k++)
			if (!missing[i] && !missing[k] && st[i].st_dev == st[k].st_dev &&
			    st[i].st_ino == st[k].st_ino) {
				snprintf(errbuf, len, "disks '%s' and '%s' name the same file %s",
					 hdr->disks[k].name, td->name, path);
				r = -EINVAL;
			}
		for (unsigned k = 0; k < i && !r; k++)
			if (missing[i] && missing[k] && !strcmp(path, path_of(o, hdr->disks[k].name))) {
				snprintf(errbuf, len, "disks '%s' and '%s' name the same file %s",
					 hdr->disks[k].name, td->name, path);
				r = -EINVAL;
			}
	}
	free(st);
	return r;
}

/* Note what a simulated disk has and a file has not. */
static void note_ignored(const struct replay_opts *o, const char *trace,
			 const struct trace_disk *td)
{
	char what[160] = "";

	if (!o->notes)
		return;
	if (td->latency_min_ns != 10000 || td->latency_max_ns != 100000)
		strcat(what, ", latency");
	if (td->queue_depth != 32)
		strcat(what, ", queue_depth");
	if (!td->reorder)
		strcat(what, ", reorder");
	if (!td->cache)
		strcat(what, ", cache");
	if (td->atomic_sectors != 1 && td->atomic_sectors != td->sector_bytes / SECTOR_SIZE)
		strcat(what, ", atomic_write");
	if (td->initial != TRACE_INITIAL_ZERO)
		strcat(what, ", initial");
	if (what[0])
		fprintf(o->notes, "%s: note: disk '%s': %s: simulation settings, ignored on an"
			" image file\n", trace, td->name, what + 2);
}

int rp_world_create_files(const struct trace_header *hdr, uint64_t seed, const char *trace,
			  const struct replay_opts *opts, struct replay_world **out,
			  char *errbuf, size_t len)
{
	bool *missing = calloc(hdr->nr_disks ? hdr->nr_disks : 1, sizeof(bool));
	bool *made = calloc(hdr->nr_disks ? hdr->nr_disks : 1, sizeof(bool));
	struct replay_world *w = NULL;
	int r;

	*out = NULL;
	if (!missing || !made) {
		snprintf(errbuf, len, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	r = check_files(hdr, opts, missing, errbuf, len);
	if (r)
		goto out;
	w = rp_world_alloc(seed, trace, opts, hdr->nr_disks);
	if (!w) {
		snprintf(errbuf, len, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	w->on_files = true;
	for (unsigned i = 0; i < hdr->nr_disks && !r; i++) {
		const struct trace_disk *td = &hdr->disks[i];
		const char *path = path_of(opts, td->name);
		struct rp_disk *rd = &w->disks[i];
		struct rp_file_dev *d;
		struct ss_error err;

		snprintf(rd->name, sizeof(rd->name), "%s", td->name);
		snprintf(rd->path, sizeof(rd->path), "%s", td->path);
		note_ignored(opts, trace, td);
		if (missing[i]) {
			/* O_EXCL: a file that appeared since the check is not ours to size. */
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

			if (fd < 0 || ftruncate(fd, (off_t)(td->size_sectors * SECTOR_SIZE))) {
				snprintf(errbuf, len, "disk '%s': %s: cannot create: %s", td->name,
					 path, strerror(errno));
				r = -errno;
				if (fd >= 0) {
					close(fd);
					unlink(path);
				}
				break;
			}
			close(fd);
			made[i] = true;
		}
		d = calloc(1, sizeof(*d));
		if (!d) {
			snprintf(errbuf, len, "out of memory");
			r = -ENOMEM;
			break;
		}
		ss_error_clear(&err);
		r = file_bdev_open(path, td->path, false, sim_sched_executor(&w->sched), &d->fb, &err);
		if (r) {
			free(d);
			snprintf(errbuf, len, "disk '%s': %s", td->name, err.msg);
			break;
		}
		if (d->fb->base.size_sectors < td->size_sectors) { /* a block device */
			snprintf(errbuf, len, "disk '%s': %s holds %llu sectors, the trace's disk"
				 " needs %llu", td->name, path,
				 (unsigned long long)d->fb->base.size_sectors,
				 (unsigned long long)td->size_sectors);
			bdev_destroy(&d->fb->base);
			free(d);
			r = -ENOSPC;
			break;
		}
		d->base.ops = &fdev_ops;
		d->base.size_sectors = td->size_sectors;
		d->base.logical_block_bytes = td->sector_bytes;
		d->base.caps = td->discard ? BDEV_CAP_DISCARD : 0;
		snprintf(d->base.name, sizeof(d->base.name), "%.127s", td->path);
		d->lbs = td->sector_bytes / SECTOR_SIZE;
		d->discard = td->discard;
		d->created = made[i];
		rd->file = &d->base;
		w->nr_disks = i + 1;
		r = rp_disk_setup(w, i, NULL, NULL, errbuf, len);
		if (r)
			break;
		/* A new file reads zeros; an existing one what it held at the start. */
		r = model_add_disk(w->model, td->name, td->size_sectors, !made[i], 0);
		if (!r && !made[i])
			r = model_set_disk_initial(w->model, td->name, pre_initial,
						   (uint64_t)(uintptr_t)d);
		if (r)
			snprintf(errbuf, len, "disk '%s': the model refuses it", td->name);
	}
	if (r) {
		replay_world_destroy(w);
		w = NULL;
		for (unsigned i = 0; i < hdr->nr_disks; i++)
			if (made[i])
				unlink(path_of(opts, hdr->disks[i].name)); /* made by this run, empty */
	}
out:
	free(missing);
	free(made);
	*out = w;
	return r;
}

/* ---- stores written before the run ---- */

static bool cow_seen(const struct replay_world *w, const char *cow)
{
	for (unsigned i = 0; i < w->nr_cows_seen; i++)
		if (!strcmp(w->cows_seen[i], cow))
			return true;
	return false;
}

/* Whether status line st (of a snapshot or merge segment) shows a store not new. */
static bool store_not_new(const char *st)
{
	unsigned long long start, length, used, total, meta;
	char type[32];

	if (sscanf(st, "%llu %llu %31s %llu/%llu %llu", &start, &length, type, &used, &total,
		   &meta) == 6)
		return used > meta;
	return strstr(st, "Invalid") != NULL; /* an invalidated store */
}

void rp_files_poll(struct replay_world *w)
{
	for (unsigned i = 0; i < w->nr_devs; i++) {
		const char *live = w->devs[i].live;
		char *status = NULL, *sl, *tl;
		struct ss_error err;

		if (!live || (!strstr(live, " snapshot ") && !strstr(live, " snapshot-merge ")))
			continue;
		ss_error_clear(&err);
		if (dm_status_text(w->reg, w->devs[i].name, false, &status, &err))
			continue;
		/* One status line per table line, in order. */
		tl = (char *)live;
		sl = status;
		while (tl && *tl) {
			char type[32], origin[TRACE_NAME_MAX + 32], cow[TRACE_NAME_MAX + 32];
			unsigned long long a, b;

			if (sscanf(tl, "%llu %llu %31s %159s %159s", &a, &b, type, origin, cow) == 5 &&
			    (!strcmp(type, "snapshot") || !strcmp(type, "snapshot-merge")) &&
			    !cow_seen(w, cow)) {
				char **n = realloc(w->cows_seen, (w->nr_cows_seen + 1) * sizeof(*n));
				char *copy = strdup(cow);

				if (n)
					w->cows_seen = n;
				if (n && copy)
					w->cows_seen[w->nr_cows_seen++] = copy;
				else
					free(copy);
				if (!w->model_blind && sl && store_not_new(sl)) {
					w->model_blind = true;
					if (w->opts && w->opts->notes)
						fprintf(w->opts->notes, "%s:%u: note: %s activated a store"
							" written before this run (%s): from here reads"
							" are checked against expect: only\n", w->trace,
							w->step_line, w->devs[i].name, cow);
				}
			}
			tl = strchr(tl, '\n');
			tl = tl ? tl + 1 : NULL;
			if (sl) {
				sl = strchr(sl, '\n');
				sl = sl ? sl + 1 : NULL;
			}
		}
		free(status);
	}
	if (w->res)
		w->res->model_blind = w->model_blind;
}

void rp_files_stats(struct replay_world *w, struct replay_result *res)
{
	res->nr_files = w->nr_disks < REPLAY_FILES_MAX ? w->nr_disks : REPLAY_FILES_MAX;
	for (unsigned i = 0; i < res->nr_files; i++) {
		const struct rp_file_dev *d = (const struct rp_file_dev *)w->disks[i].file;

		if (!d)
			continue;
		snprintf(res->files[i].disk, sizeof(res->files[i].disk), "%s", w->disks[i].name);
		res->files[i].sectors_written = d->sectors_written;
		res->files[i].syncs = d->fb->syncs;
		res->files[i].created = d->created;
	}
	res->model_blind = w->model_blind;
}
