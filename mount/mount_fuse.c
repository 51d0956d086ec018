/*
 * mount_fuse.c - snapsim mount (mount.h): libfuse3's high-level API, one
 * thread (fuse_loop), every file opened direct_io so that each read and
 * write reaches the stack as the program issued it (no page cache between:
 * a merge or a table swap changes what a device reads).
 *
 * What a file does, as a block device would:
 *   - reads past the end read nothing; a write starting at or past the end
 *     fails with ENOSPC, one that crosses it is cut short there;
 *   - a write not aligned to the device's logical block is read-modify-
 *     written: the partial first and last blocks are read, patched, and the
 *     whole blocks written in one request;
 *   - fsync and fdatasync are a FLUSH of the device; writes through a file
 *     opened O_SYNC or O_DSYNC carry FUA;
 *   - fallocate(PUNCH_HOLE|KEEP_SIZE) of whole blocks is a discard (its
 *     status is the target's: EOPNOTSUPP where discards are not supported);
 *     any other mode is EOPNOTSUPP, unaligned ranges EINVAL;
 *   - truncation is accepted and changes nothing (O_TRUNC on a block device);
 *   - a device that holds (or held) a COW store is read-only (EBUSY): its
 *     bytes are the store's;
 *   - I/O to a suspended device, or one stacked on a suspended device, fails
 *     with EAGAIN at once (Linux would wait for the resume; one thread
 *     waiting here could never read the resume from the control file).
 */
#define FUSE_USE_VERSION 31
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"
#include "mount_control.h"
#include "mount_record.h"
#include "replay_session.h"

struct mnt {
	struct replay_session *s;
	struct mount_rec *rec;
	struct mount_ctl ctl;
	struct replay_session_dev *devs;
	unsigned nr_devs;
	time_t started;
	bool quiet;
};

static struct mnt *mnt_of(void)
{
	return fuse_get_context()->private_data;
}

static void refresh(struct mnt *m)
{
	struct replay_session_dev *v;
	unsigned n;

	if (replay_session_devices(m->s, &v, &n))
		return; /* out of memory: keep the old list */
	free(m->devs);
	m->devs = v;
	m->nr_devs = n;
}

static const struct replay_session_dev *find_dev(struct mnt *m, const char *path)
{
	if (path[0] != '/')
		return NULL;
	for (unsigned i = 0; i < m->nr_devs; i++)
		if (!strcmp(m->devs[i].name, path + 1))
			return &m->devs[i];
	return NULL;
}

static bool is_control(const char *path)
{
	return !strcmp(path, "/control");
}

/* A held request that completed later: recorded where it completed. */
static void late_done(void *ctx, const char *dev, enum bio_op op, unsigned flags,
		      sector_t sector, uint32_t nr, const uint8_t *data, int status)
{
	struct mnt *m = ctx;
	const struct replay_session_dev *d = NULL;

	for (unsigned i = 0; i < m->nr_devs; i++)
		if (!strcmp(m->devs[i].name, dev))
			d = &m->devs[i];
	mount_rec_io(m->rec, dev, op, flags, sector, nr, data, status, d && !d->holds_cow);
}

/* One request through the stack, recorded when it ran. */
static int dev_io(struct mnt *m, const struct replay_session_dev *d, enum bio_op op,
		  unsigned flags, sector_t sector, uint32_t nr, uint8_t *buf)
{
	int st = replay_session_io(m->s, d->name, op, flags, sector, nr, buf);

	if (st == -EINPROGRESS) {
		if (!m->quiet)
			fprintf(stderr, "snapsim mount: %s sector %llu: held by the stack (a device "
				"below is suspended?); answered EIO, it completes later\n",
				d->name, (unsigned long long)sector);
		st = -EIO;
	} else if (st != -EAGAIN && st != -ENOENT) {
		mount_rec_io(m->rec, d->name, op, flags, sector, nr, buf, st, !d->holds_cow);
	}
	replay_session_late(m->s, late_done, m);
	return st;
}

/* ---- attributes and directory ---- */

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();
	const struct replay_session_dev *d;

	(void)fi;
	memset(st, 0, sizeof(*st));
	st->st_atime = st->st_mtime = st->st_ctime = m->started;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	st->st_nlink = 1;
	if (is_control(path)) {
		st->st_mode = S_IFREG | 0644;
		st->st_size = (off_t)m->ctl.answer_len;
		return 0;
	}
	d = find_dev(m, path);
	if (!d)
		return -ENOENT;
	st->st_mode = S_IFREG | (d->holds_cow ? 0444 : 0644);
	st->st_size = (off_t)(d->size_sectors * 512);
	st->st_blksize = d->block_bytes;
	st->st_blocks = (blkcnt_t)d->size_sectors;
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct mnt *m = mnt_of();

	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "control", NULL, 0, 0);
	for (unsigned i = 0; i < m->nr_devs; i++)
		fill(buf, m->devs[i].name, NULL, 0, 0);
	return 0;
}

/* ---- open, close ---- */

#define FH_FUA 1u

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();

	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->fh = (fi->flags & O_DSYNC) ? FH_FUA : 0; /* O_SYNC includes O_DSYNC */
	if (is_control(path)) {
		if ((fi->flags & O_ACCMODE) != O_RDONLY)
			mount_ctl_reset(&m->ctl);
		return 0;
	}
	return find_dev(m, path) ? 0 : -ENOENT;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();
	int rc;

	(void)fi;
	if (!is_control(path))
		return 0;
	rc = mount_ctl_flush(&m->ctl, m->s, m->rec);
	if (m->ctl.changed) {
		refresh(m);
		m->ctl.changed = false;
	}
	return rc;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)size;
	(void)fi;
	/* A block device ignores O_TRUNC: so does this, and the control file. */
	return is_control(path) || find_dev(mnt_of(), path) ? 0 : -ENOENT;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	(void)fi;
	return is_control(path) || find_dev(mnt_of(), path) ? 0 : -ENOENT;
}

/* ---- data ---- */

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();
	const struct replay_session_dev *d;
	uint64_t dev_bytes, start, end, bs;
	uint8_t *tmp;
	int st;

	(void)fi;
	if (is_control(path)) {
		if ((size_t)off >= m->ctl.answer_len)
			return 0;
		if (size > m->ctl.answer_len - (size_t)off)
			size = m->ctl.answer_len - (size_t)off;
		memcpy(buf, m->ctl.answer + off, size);
		return (int)size;
	}
	d = find_dev(m, path);
	if (!d)
		return -ENOENT;
	dev_bytes = d->size_sectors * 512;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= dev_bytes || !size)
		return 0;
	if (size > dev_bytes - (uint64_t)off)
		size = (size_t)(dev_bytes - (uint64_t)off);
	bs = d->block_bytes;
	start = (uint64_t)off / bs * bs;
	end = ((uint64_t)off + size + bs - 1) / bs * bs;
	if (start == (uint64_t)off && end == (uint64_t)off + size) {
		st = dev_io(m, d, BIO_READ, 0, start / 512, (uint32_t)(size / 512), (uint8_t *)buf);
		return st ? st : (int)size;
	}
	tmp = malloc(end - start);
	if (!tmp)
		return -ENOMEM;
	st = dev_io(m, d, BIO_READ, 0, start / 512, (uint32_t)((end - start) / 512), tmp);
	if (!st)
		memcpy(buf, tmp + ((uint64_t)off - start), size);
	free(tmp);
	return st ? st : (int)size;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();
	const struct replay_session_dev *d;
	uint64_t dev_bytes, start, end, bs;
	unsigned flags = (fi->fh & FH_FUA) ? BIO_FUA : 0;
	uint8_t *tmp;
	int st = 0;

	if (is_control(path)) {
		st = mount_ctl_write(&m->ctl, m->s, m->rec, buf, size);
		if (m->ctl.changed) {
			refresh(m);
			m->ctl.changed = false;
		}
		return st ? st : (int)size;
	}
	d = find_dev(m, path);
	if (!d)
		return -ENOENT;
	if (d->holds_cow)
		return -EBUSY;
	dev_bytes = d->size_sectors * 512;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= dev_bytes)
		return -ENOSPC;
	if (!size)
		return 0;
	if (size > dev_bytes - (uint64_t)off)
		size = (size_t)(dev_bytes - (uint64_t)off); /* cut short at the end, like a disk */
	bs = d->block_bytes;
	start = (uint64_t)off / bs * bs;
	end = ((uint64_t)off + size + bs - 1) / bs * bs;
	if (start == (uint64_t)off && end == (uint64_t)off + size) {
		st = dev_io(m, d, BIO_WRITE, flags, start / 512, (uint32_t)(size / 512),
			    (uint8_t *)buf);
		return st ? st : (int)size;
	}
	/* Read-modify-write of the partial first and last blocks. */
	tmp = malloc(end - start);
	if (!tmp)
		return -ENOMEM;
	if ((uint64_t)off != start)
		st = dev_io(m, d, BIO_READ, 0, start / 512, (uint32_t)(bs / 512), tmp);
	if (!st && (uint64_t)off + size != end && (end - bs != start || (uint64_t)off == start))
		st = dev_io(m, d, BIO_READ, 0, (end - bs) / 512, (uint32_t)(bs / 512),
			    tmp + (end - bs - start));
	if (!st) {
		memcpy(tmp + ((uint64_t)off - start), buf, size);
		st = dev_io(m, d, BIO_WRITE, flags, start / 512, (uint32_t)((end - start) / 512),
			    tmp);
	}
	free(tmp);
	return st ? st : (int)size;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();
	const struct replay_session_dev *d;

	(void)datasync;
	(void)fi;
	if (is_control(path))
		return 0;
	d = find_dev(m, path);
	if (!d)
		return -ENOENT;
	return dev_io(m, d, BIO_FLUSH, 0, 0, 0, NULL);
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	struct mnt *m = mnt_of();
	const struct replay_session_dev *d;
	uint64_t dev_bytes;

	(void)fi;
	d = find_dev(m, path);
	if (!d)
		return is_control(path) ? -EOPNOTSUPP : -ENOENT;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (d->holds_cow)
		return -EBUSY;
	dev_bytes = d->size_sectors * 512;
	if (off < 0 || len <= 0 || (uint64_t)off >= dev_bytes ||
	    ((uint64_t)off | (uint64_t)len) % d->block_bytes)
		return -EINVAL;
	if ((uint64_t)len > dev_bytes - (uint64_t)off)
		len = (off_t)(dev_bytes - (uint64_t)off); /* KEEP_SIZE: up to the end, as Linux */
	for (uint64_t at = (uint64_t)off; at < (uint64_t)off + (uint64_t)len;) {
		uint64_t n = (uint64_t)off + (uint64_t)len - at;
		int st;

		if (n > (1u << 30))
			n = 1u << 30;
		st = dev_io(m, d, BIO_DISCARD, 0, at / 512, (uint32_t)(n / 512), NULL);
		if (st)
			return st;
		at += n;
	}
	return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	/* Devices come and go with control commands: nothing is cached. */
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 1;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.flush = op_flush,
	.truncate = op_truncate,
	.utimens = op_utimens,
	.read = op_read,
	.write = op_write,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
};

/* ---- the loop ---- */

static struct fuse_session *signal_session;

static void on_signal(int sig)
{
	(void)sig;
	if (signal_session)
		fuse_session_exit(signal_session);
}

int mount_run(const struct mount_opts *o, char *msg, size_t len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction old[3], sa;
	struct replay_result res;
	struct trace_error err;
	struct mnt m = { 0 };
	char *argv[] = { "snapsim", "-o", "fsname=snapsim,subtype=snapsim", "-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);
	struct fuse *f;
	int rc = MOUNT_OK;

	msg[0] = 0;
	m.quiet = o->quiet;
	m.started = time(NULL);
	struct replay_opts ro = { .disk_files = o->disk_files, .nr_disk_files = o->nr_disk_files,
				  .create_files = o->create_files,
				  .notes = o->quiet ? NULL : stderr };

	if (replay_session_open(o->stack, o->nr_disk_files ? &ro : NULL, &m.s, &res, &err) !=
	    REPLAY_PASS) {
		snprintf(msg, len, "%s", res.failure[0] ? res.failure : err.text);
		return MOUNT_BAD_STACK;
	}
	if (o->record && mount_rec_open(&m.rec, o->record, o->record_data, o->data_name,
					o->stack, msg, len)) {
		replay_session_close(m.s);
		return MOUNT_ERROR;
	}
	refresh(&m);
	f = fuse_new(&args, &ops, sizeof(ops), &m);
	if (!f) {
		snprintf(msg, len, "FUSE: cannot set up a file system (libfuse3 refused the options)");
		rc = MOUNT_ERROR;
		goto out;
	}
	if (access("/dev/fuse", R_OK | W_OK)) {
		snprintf(msg, len, "FUSE is unavailable: /dev/fuse: %s (load the fuse module; in a "
			 "container, pass the device)", strerror(errno));
		fuse_destroy(f);
		rc = MOUNT_ERROR;
		goto out;
	}
	if (fuse_mount(f, o->mountpoint)) {
		snprintf(msg, len, "cannot mount at %s (libfuse's reason above; is fusermount3 "
			 "installed, and the mount point not mounted already?)", o->mountpoint);
		fuse_destroy(f);
		rc = MOUNT_ERROR;
		goto out;
	}
	/* Our handlers, not libfuse's: they install only over default actions,
	 * and the caller's temporary-file cleanup is installed already. */
	signal_session = fuse_get_session(f);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	if (!o->quiet)
		fprintf(stderr, "snapsim mount: %u devices at %s (commands: %s/control); unmount "
			"with fusermount3 -u %s\n", m.nr_devs, o->mountpoint, o->mountpoint,
			o->mountpoint);
	if (fuse_loop(f) < 0) {
		snprintf(msg, len, "FUSE: the request loop failed");
		rc = MOUNT_ERROR;
	}
	fuse_unmount(f);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	signal_session = NULL;
	fuse_destroy(f);
out:
	if (m.rec) {
		char rmsg[256];

		if (mount_rec_finish(m.rec, rmsg, sizeof(rmsg)) && rc == MOUNT_OK) {
			snprintf(msg, len, "%s", rmsg);
			rc = MOUNT_ERROR;
		}
	}
	fuse_opt_free_args(&args);
	mount_ctl_free(&m.ctl);
	free(m.devs);
	replay_session_close(m.s);
	return rc;
}
