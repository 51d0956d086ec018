/*
 * replay_save.c - a world's devices taken out as image files: the list of
 * its disks and dm devices, and one device's content streamed to an fd or
 * to a path (a temporary beside it, renamed into place).
 *
 * A disk is read from its simulated disk directly (what a read returns now,
 * or its durable image): no request, so a paused or restarted world's
 * schedule is untouched. A dm device is read through its live table, the
 * path trace reads take, one bounded request at a time run to completion by
 * the world's scheduler; the model is not consulted (what holds a COW has
 * no model content, and saving is not checking).
 */
#define _GNU_SOURCE /* renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "replay_impl.h"

#define SAVE_CHUNK_BYTES (1u << 20)

int replay_world_devices(const struct replay_world *w, struct replay_dev_desc **out,
			 unsigned *nr)
{
	unsigned n = 0;
	struct replay_dev_desc *d = calloc(w->nr_disks + w->nr_devs + 1, sizeof(*d));

	*out = NULL;
	*nr = 0;
	if (!d)
		return -ENOMEM;
	for (unsigned i = 0; i < w->nr_disks; i++, n++) {
		snprintf(d[n].name, sizeof(d[n].name), "%s", w->disks[i].name);
		d[n].kind = REPLAY_DEV_DISK;
		d[n].size_bytes = (uint64_t)sim_disk_bdev(w->disks[i].disk)->size_sectors << 9;
		d[n].readable = true;
	}
	for (unsigned i = 0; i < w->nr_devs; i++, n++) {
		struct dm_device *md = dm_find_device(w->reg, w->devs[i].name);

		snprintf(d[n].name, sizeof(d[n].name), "%s", w->devs[i].name);
		d[n].kind = REPLAY_DEV_DM;
		d[n].has_table = md && w->devs[i].live;
		d[n].suspended = md && dm_is_suspended(w->reg, w->devs[i].name);
		d[n].size_bytes = d[n].has_table ? dm_device_bdev(md)->size_sectors << 9 : 0;
		d[n].readable = d[n].has_table && !d[n].suspended;
	}
	*out = d;
	*nr = n;
	return 0;
}

/* ---- reading ---- */

struct save_req {
	bool done;
	int status;
};

static void save_done(struct bio *bio, int status)
{
	struct save_req *q = bio->private;

	q->done = true;
	q->status = status;
}

static bool save_req_done(struct replay_world *w, void *ctx)
{
	(void)w;
	return ((struct save_req *)ctx)->done;
}

/* One read of a dm device, run to completion. 0, or -errno with errbuf. */
static int dm_read(struct replay_world *w, const char *name, struct bdev *bd, sector_t s,
		   uint32_t n, uint8_t *buf, char *errbuf, size_t len)
{
	struct save_req q = { 0 };
	struct bio bio;
	enum rp_run r;
	char eb[32];

	bio_init(&bio, bd, BIO_READ, 0, s, n, buf, save_done, &q);
	bdev_submit(&bio);
	r = rp_run(w, save_req_done, &q);
	if (r == RP_COND && q.status == 0)
		return 0;
	if (r == RP_COND) {
		snprintf(errbuf, len, "%s sector %llu: the read failed (%s)", name,
			 (unsigned long long)s, rp_errname(q.status, eb, sizeof(eb)));
		return q.status < 0 ? q.status : -EIO;
	}
	/* A request left in flight would complete into this stack frame. */
	if (!q.done) {
		snprintf(errbuf, len, "%s sector %llu: the read never completed", name,
			 (unsigned long long)s);
		return -ETIME;
	}
	snprintf(errbuf, len, "%s: %s", name, w->failed ? w->fail : "the world stopped");
	return -EIO;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* What a save reads: a dm device of a world, or a simulated disk. */
struct save_src {
	struct replay_world *w;  /* dm only */
	const char *name;
	struct bdev *dm;         /* NULL: disk */
	struct sim_disk *disk;
	bool durable;
};

/* The source dev names in w. 0, or a negative errno with errbuf. */
static int src_of(struct replay_world *w, const char *dev, unsigned flags,
		  struct save_src *src, char *mname, size_t mlen, char *errbuf, size_t len)
{
	bool is_dm;
	struct bdev *bd = rp_resolve(w, dev, mname, mlen, &is_dm);

	memset(src, 0, sizeof(*src));
	src->w = w;
	src->name = mname;
	if (!bd) {
		snprintf(errbuf, len, "%s: no such device", dev);
		return -ENOENT;
	}
	if (!is_dm) {
		src->disk = w->disks[rp_disk_index(w, mname)].disk;
		src->durable = flags & REPLAY_SAVE_DURABLE;
		return 0;
	}
	if (flags & REPLAY_SAVE_DURABLE) {
		snprintf(errbuf, len, "%s: a dm device has no durable image (a disk has)", mname);
		return -EINVAL;
	}
	if (!rp_dev_find(w, mname) || !rp_dev_find(w, mname)->live) {
		snprintf(errbuf, len, "%s: the device has no live table", mname);
		return -ENXIO;
	}
	if (dm_is_suspended(w->reg, mname)) {
		snprintf(errbuf, len, "%s: the device is suspended", mname);
		return -EBUSY;
	}
	src->dm = bd;
	return 0;
}

/*
 * Stream src to fd from offset 0 (fd -1: read only). sparse: fd is a new
 * empty file, so zero chunks are skipped (the size is set by ftruncate).
 */
static int save_stream(const struct save_src *src, int fd, bool sparse,
		       struct replay_save_info *info, char *errbuf, size_t len)
{
	uint64_t h = SIM_FNV1A_INIT;
	sector_t size;
	uint8_t *buf;
	int r = 0;

	if (info)
		memset(info, 0, sizeof(*info));
	size = src->dm ? src->dm->size_sectors : sim_disk_bdev(src->disk)->size_sectors;
	buf = malloc(SAVE_CHUNK_BYTES);
	if (!buf)
		return -ENOMEM;
	for (sector_t s = 0; s < size && !r; s += SAVE_CHUNK_BYTES >> 9) {
		uint32_t n = (uint32_t)(size - s < (SAVE_CHUNK_BYTES >> 9) ? size - s
						   : (SAVE_CHUNK_BYTES >> 9));
		size_t bytes = (size_t)n << 9;

		if (src->dm)
			r = dm_read(src->w, src->name, src->dm, s, n, buf, errbuf, len);
		else if (src->durable)
			r = sim_disk_read_durable(src->disk, s, n, buf);
		else
			r = bdev_sync_rw(sim_disk_bdev(src->disk), BIO_READ, s, n, buf);
		if (r) {
			if (!src->dm)
				snprintf(errbuf, len, "%s sector %llu: cannot read the disk",
					 src->name, (unsigned long long)s);
			if (info)
				info->read_failed = true;
			break;
		}
		h = sim_fnv1a(h, buf, bytes);
		if (fd >= 0 && !(sparse && all_zero(buf, bytes)) &&
		    (r = write_all(fd, buf, bytes, s << 9)))
			snprintf(errbuf, len, "write: %s", strerror(-r));
	}
	free(buf);
	if (!r && fd >= 0 && sparse && ftruncate(fd, (off_t)(size << 9))) {
		r = -errno;
		snprintf(errbuf, len, "cannot set the file's size: %s", strerror(errno));
	}
	if (!r && info) {
		info->size_bytes = (uint64_t)size << 9;
		info->fnv1a64 = h;
		info->is_dm = src->dm != NULL;
	}
	return r;
}

int replay_world_save_fd(struct replay_world *w, const char *dev, unsigned flags, int fd,
			 struct replay_save_info *info, char *errbuf, size_t len)
{
	char mname[TRACE_NAME_MAX];
	struct save_src src;
	int r;

	if (errbuf && len)
		errbuf[0] = 0;
	r = src_of(w, dev, flags, &src, mname, sizeof(mname), errbuf, len);
	return r ? r : save_stream(&src, fd, false, info, errbuf, len);
}

/* ---- a file written through a temporary ---- */

/* The directory part of path ("." when none), for the fsync after the rename. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

int replay_save_check_target(const char *path, bool force, char *errbuf, size_t len)
{
	struct stat st;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, len, "%s: exists and is not a regular file; not replaced", path);
		return -EINVAL;
	}
	if (!force) {
		snprintf(errbuf, len, "%s: the file exists (give --force to replace it)", path);
		return -EEXIST;
	}
	return 0;
}

/*
 * Without force, a target that appeared since the check is refused
 * atomically: RENAME_NOREPLACE, or link() where the file system lacks it.
 */
static int rename_into_place(const char *tmp, const char *path, bool force)
{
	if (force)
		return rename(tmp, path);
	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(tmp, path))
		return -1;
	unlink(tmp);
	return 0;
}

/* A new temporary beside path: its fd, or a negative errno with errbuf. */
static int temp_open(const char *path, char *tmp, size_t tlen, char *errbuf, size_t len)
{
	static unsigned counter;
	char dir[4096];
	const char *base = strrchr(path, '/');
	int fd = -1;

	dir_of(path, dir, sizeof(dir));
	base = base ? base + 1 : path;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		snprintf(tmp, tlen, "%s/.%s.snapsim-%ld-%u", dir, base, (long)getpid(), counter++);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		snprintf(errbuf, len, "%s: cannot create a temporary in %s: %s", path, dir,
			 strerror(errno));
		return -errno;
	}
	return fd;
}

/* Finish what temp_open began (r: the writer's result): fsync, rename into
 * place, fsync the directory; on any failure the temporary is removed. */
static int temp_finish(int fd, const char *tmp, const char *path, bool force, int r,
		       char *errbuf, size_t len)
{
	char dir[4096];
	int dfd;

	if (!r && fsync(fd)) {
		r = -errno;
		snprintf(errbuf, len, "%s: fsync: %s", tmp, strerror(errno));
	}
	if (close(fd) && !r) {
		r = -errno;
		snprintf(errbuf, len, "%s: close: %s", tmp, strerror(errno));
	}
	if (!r && rename_into_place(tmp, path, force)) {
		r = -errno;
		snprintf(errbuf, len, "%s: %s", path,
			 errno == EEXIST ? "the file appeared meanwhile; not replaced"
					 : strerror(errno));
	}
	if (r)
		unlink(tmp); /* the temporary is ours; the target is never removed */
	dir_of(path, dir, sizeof(dir));
	if (!r && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return r;
}

static int save_src_path(const struct save_src *src, const char *path, bool force,
			 struct replay_save_info *info, char *errbuf, size_t len)
{
	char tmp[4200];
	int fd, r = replay_save_check_target(path, force, errbuf, len);

	if (r)
		return r;
	fd = temp_open(path, tmp, sizeof(tmp), errbuf, len);
	if (fd < 0)
		return fd;
	r = save_stream(src, fd, true, info, errbuf, len);
	return temp_finish(fd, tmp, path, force, r, errbuf, len);
}

int replay_world_save_path(struct replay_world *w, const char *dev, unsigned flags,
			   const char *path, bool force, struct replay_save_info *info,
			   char *errbuf, size_t len)
{
	char mname[TRACE_NAME_MAX];
	struct save_src src;
	int r;

	if (errbuf && len)
		errbuf[0] = 0;
	r = src_of(w, dev, flags, &src, mname, sizeof(mname), errbuf, len);
	return r ? r : save_src_path(&src, path, force, info, errbuf, len);
}

int replay_disk_save_path(struct sim_disk *d, unsigned flags, const char *path, bool force,
			  struct replay_save_info *info, char *errbuf, size_t len)
{
	struct save_src src = { .name = sim_disk_bdev(d)->name, .disk = d,
				.durable = flags & REPLAY_SAVE_DURABLE };

	if (errbuf && len)
		errbuf[0] = 0;
	return save_src_path(&src, path, force, info, errbuf, len);
}

int replay_save_bytes(const char *path, bool force, const void *buf, size_t n, char *errbuf,
		      size_t len)
{
	char tmp[4200];
	int fd, r = replay_save_check_target(path, force, errbuf, len);

	if (r)
		return r;
	fd = temp_open(path, tmp, sizeof(tmp), errbuf, len);
	if (fd < 0)
		return fd;
	r = write_all(fd, buf, n, 0);
	if (r)
		snprintf(errbuf, len, "%s: write: %s", tmp, strerror(-r));
	return temp_finish(fd, tmp, path, force, r, errbuf, len);
}

/* ---- the save step ---- */

enum rp_run rp_step_save(struct replay_world *w, const struct trace_step *st)
{
	const struct trace_save *sv = &st->u.save;
	unsigned flags = sv->durable ? REPLAY_SAVE_DURABLE : 0;
	bool files = w->opts && w->opts->save_files;
	char eb[REPLAY_MSG_MAX - 64];
	int r;

	if (files)
		r = replay_world_save_path(w, sv->dev, flags, sv->to,
					   w->opts->force, NULL, eb, sizeof(eb));
	else
		r = replay_world_save_fd(w, sv->dev, flags, -1, NULL, eb, sizeof(eb));
	/* The same line with or without files: the event hash must not differ. */
	sim_sched_logf(&w->sched, "save %s status %d", sv->dev, r);
	if (!r)
		return RP_COND;
	if (w->failed || w->stopped)
		return w->stopped ? RP_STOP : RP_FAIL;
	w->save_failed = true;
	rp_fail(w, st->line, "save %s to %s: %s", sv->dev, sv->to_text, eb);
	return RP_FAIL;
}
