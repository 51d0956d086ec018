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

/*
 * Stream dev to fd from offset 0. sparse: fd is a new empty file, so zero
 * chunks are skipped (the final size is set by ftruncate).
 */
static int save_stream(struct replay_world *w, const char *dev, unsigned flags, int fd,
		       bool sparse, struct replay_save_info *info, char *errbuf, size_t len)
{
	char mname[TRACE_NAME_MAX];
	bool is_dm;
	struct bdev *bd = rp_resolve(w, dev, mname, sizeof(mname), &is_dm);
	struct sim_disk *disk = NULL;
	uint64_t h = SIM_FNV1A_INIT;
	sector_t size;
	uint8_t *buf;
	int r = 0;

	if (!bd) {
		snprintf(errbuf, len, "%s: no such device", dev);
		return -ENOENT;
	}
	if (is_dm) {
		struct rp_dev *d = rp_dev_find(w, mname);

		if (flags & REPLAY_SAVE_DURABLE) {
			snprintf(errbuf, len, "%s: a dm device has no durable image (a disk has)",
				 mname);
			return -EINVAL;
		}
		if (!d || !d->live) {
			snprintf(errbuf, len, "%s: the device has no live table", mname);
			return -ENXIO;
		}
		if (dm_is_suspended(w->reg, mname)) {
			snprintf(errbuf, len, "%s: the device is suspended", mname);
			return -EBUSY;
		}
	} else {
		disk = w->disks[rp_disk_index(w, mname)].disk;
		bd = sim_disk_bdev(disk);
	}
	size = bd->size_sectors;
	buf = malloc(SAVE_CHUNK_BYTES);
	if (!buf)
		return -ENOMEM;
	for (sector_t s = 0; s < size && !r; s += SAVE_CHUNK_BYTES >> 9) {
		uint32_t n = (uint32_t)(size - s < (SAVE_CHUNK_BYTES >> 9) ? size - s
						   : (SAVE_CHUNK_BYTES >> 9));
		size_t bytes = (size_t)n << 9;

		if (is_dm)
			r = dm_read(w, mname, bd, s, n, buf, errbuf, len);
		else if (flags & REPLAY_SAVE_DURABLE)
			r = sim_disk_read_durable(disk, s, n, buf);
		else
			r = bdev_sync_rw(bd, BIO_READ, s, n, buf);
		if (r) {
			if (!is_dm)
				snprintf(errbuf, len, "%s sector %llu: cannot read the disk", mname,
					 (unsigned long long)s);
			break;
		}
		h = sim_fnv1a(h, buf, bytes);
		if (!(sparse && all_zero(buf, bytes)) && (r = write_all(fd, buf, bytes, s << 9)))
			snprintf(errbuf, len, "write: %s", strerror(-r));
	}
	free(buf);
	if (!r && sparse && ftruncate(fd, (off_t)(size << 9))) {
		r = -errno;
		snprintf(errbuf, len, "cannot set the file's size: %s", strerror(errno));
	}
	if (!r && info) {
		info->size_bytes = (uint64_t)size << 9;
		info->fnv1a64 = h;
		info->is_dm = is_dm;
	}
	return r;
}

int replay_world_save_fd(struct replay_world *w, const char *dev, unsigned flags, int fd,
			 struct replay_save_info *info, char *errbuf, size_t len)
{
	if (errbuf && len)
		errbuf[0] = 0;
	return save_stream(w, dev, flags, fd, false, info, errbuf, len);
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

int replay_world_save_path(struct replay_world *w, const char *dev, unsigned flags,
			   const char *path, bool force, struct replay_save_info *info,
			   char *errbuf, size_t len)
{
	static unsigned counter;
	char tmp[4200], dir[4096];
	const char *base = strrchr(path, '/');
	int fd = -1, r, dfd;

	if (errbuf && len)
		errbuf[0] = 0;
	r = replay_save_check_target(path, force, errbuf, len);
	if (r)
		return r;
	dir_of(path, dir, sizeof(dir));
	base = base ? base + 1 : path;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		snprintf(tmp, sizeof(tmp), "%s/.%s.snapsim-%ld-%u", dir, base, (long)getpid(),
			 counter++);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		snprintf(errbuf, len, "%s: cannot create a temporary in %s: %s", path, dir,
			 strerror(errno));
		return -errno;
	}
	r = save_stream(w, dev, flags, fd, true, info, errbuf, len);
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
	if (!r && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return r;
}
