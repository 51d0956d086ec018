/*
 * fuse_floor.c - the FUSE floor for bench/mount/run.sh: one backing file
 * served as MOUNTPOINT/X by libfuse3's high-level API with the settings
 * snapsim mount uses (one thread, direct_io, no attribute caching, pread/
 * pwrite/fdatasync straight through), so that the difference to snapsim
 * mount is what the stack costs, not what FUSE costs.
 *
 * Usage: fuse_floor BACKING MOUNTPOINT   (foreground; fusermount3 -u to end)
 */
#define FUSE_USE_VERSION 31
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int backing = -1;

static int f_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/X"))
		return -ENOENT;
	if (fstat(backing, st))
		return -errno;
	st->st_mode = S_IFREG | 0644;
	return 0;
}

static int f_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "X", NULL, 0, 0);
	return 0;
}

static int f_open(const char *path, struct fuse_file_info *fi)
{
	fi->direct_io = 1;
	return strcmp(path, "/X") ? -ENOENT : 0;
}

static int f_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	(void)path;
	(void)fi;
	n = pread(backing, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int f_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n;

	(void)path;
	(void)fi;
	n = pwrite(backing, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int f_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return fdatasync(backing) ? -errno : 0;
}

static int f_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)path;
	(void)size;
	(void)fi;
	return 0;
}

static void *f_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->direct_io = 1;
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
	return NULL;
}

static const struct fuse_operations ops = {
	.init = f_init, .getattr = f_getattr, .readdir = f_readdir, .open = f_open,
	.read = f_read, .write = f_write, .fsync = f_fsync, .truncate = f_truncate,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], "-s", "-f", "-o", "fsname=fuse_floor", NULL, NULL };

	if (argc != 3) {
		fprintf(stderr, "usage: fuse_floor BACKING MOUNTPOINT\n");
		return 2;
	}
	backing = open(argv[1], O_RDWR);
	if (backing < 0) {
		perror(argv[1]);
		return 1;
	}
	fargv[5] = argv[2];
	return fuse_main(6, fargv, &ops, NULL);
}
