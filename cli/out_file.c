/* out_file.c - write an output file through a temporary; see out_file.h. */
#define _GNU_SOURCE
#include "out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

__attribute__((format(printf, 4, 5)))
static int say(char *msg, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- removing temporaries on a fatal signal ---- */

/*
 * The temporaries that exist right now. The handler only reads slots whose
 * `used` is set, and a slot is filled before `used` is set, with the
 * signals blocked around every change.
 */
#define OUT_SLOTS 4
static struct {
	volatile sig_atomic_t used;
	char path[PATH_MAX];
} slots[OUT_SLOTS];
static int slots_used;

static const int fatal_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ };
#define NR_FATAL (sizeof(fatal_sigs) / sizeof(fatal_sigs[0]))
static struct sigaction saved_act[NR_FATAL];
static bool installed[NR_FATAL];

static void on_fatal(int sig)
{
	for (int i = 0; i < OUT_SLOTS; i++)
		if (slots[i].used)
			unlink(slots[i].path);
	/* SA_RESETHAND restored the default action: die of the same signal. */
	raise(sig);
}

static void block_fatal(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NR_FATAL; i++)
		sigaddset(&set, fatal_sigs[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void restore_mask(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/* With the fatal signals blocked. Returns the slot or -1 (all in use). */
static int slot_take(const char *path)
{
	for (int i = 0; i < OUT_SLOTS; i++) {
		if (slots[i].used)
			continue;
		snprintf(slots[i].path, sizeof(slots[i].path), "%s", path);
		slots[i].used = 1;
		if (slots_used++ == 0) {
			/* Only where the action is the default: an ignored
			 * SIGXFSZ (write fails with EFBIG) stays ignored. */
			for (size_t k = 0; k < NR_FATAL; k++) {
				struct sigaction sa = { .sa_handler = on_fatal,
							.sa_flags = SA_RESETHAND };
				installed[k] = false;
				if (sigaction(fatal_sigs[k], NULL, &saved_act[k]) != 0 ||
				    saved_act[k].sa_handler != SIG_DFL)
					continue;
				sigemptyset(&sa.sa_mask);
				installed[k] = sigaction(fatal_sigs[k], &sa, NULL) == 0;
			}
		}
		return i;
	}
	return -1;
}

/* With the fatal signals blocked. */
static void slot_drop(int i)
{
	if (i < 0 || !slots[i].used)
		return;
	slots[i].used = 0;
	if (--slots_used == 0)
		for (size_t k = 0; k < NR_FATAL; k++)
			if (installed[k])
				sigaction(fatal_sigs[k], &saved_act[k], NULL);
}

/* ---- deciding ---- */

static const char *type_name(mode_t m)
{
	return S_ISCHR(m) ? "a character device" : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ? "a directory"
	       : "not a regular file";
}

int out_file_classify(const char *path, const struct stat *st,
		      const struct out_file_opts *opts, enum out_kind *kind,
		      char *msg, size_t msg_len)
{
	if (!st) {
		*kind = OUT_NEW;
		return 0;
	}
	if (S_ISREG(st->st_mode)) {
		if (!opts->force)
			return say(msg, msg_len, -EEXIST, "%s: exists; refusing to "
				   "replace it (--force replaces it)", path);
		*kind = OUT_REPLACE;
		return 0;
	}
	if (S_ISBLK(st->st_mode) && opts->allow_block) {
		if (!opts->force)
			return say(msg, msg_len, -EEXIST, "%s: is a block device; "
				   "writing to it destroys its contents (--force "
				   "writes over it)", path);
		*kind = OUT_BLOCK;
		return 0;
	}
	return say(msg, msg_len, -EINVAL, "%s: is %s; refusing to write to it "
		   "(the output must be a new path, a regular file%s)", path,
		   S_ISBLK(st->st_mode) ? "a block device" : type_name(st->st_mode),
		   opts->allow_block ? " or a block device" : "");
}

int out_file_check_block_size(const char *path, uint64_t dev_bytes,
			      uint64_t min_bytes, char *msg, size_t msg_len)
{
	if (dev_bytes >= min_bytes)
		return 0;
	return say(msg, msg_len, -ENOSPC, "%s: block device of %llu bytes is "
		   "smaller than the %llu bytes to write; refusing to write to it",
		   path, (unsigned long long)dev_bytes,
		   (unsigned long long)min_bytes);
}

/* ---- opening ---- */

static int open_block(struct out_file *of, const struct stat *st,
		      const struct out_file_opts *opts)
{
	int flags = O_WRONLY | O_CLOEXEC | O_NONBLOCK;
	struct stat now;
	int r;

#ifdef __linux__
	flags |= O_EXCL; /* on a block device: fails while mounted or held */
#endif
	of->fd = open(of->path, flags);
	if (of->fd < 0) {
		r = -errno;
		return say(of->msg, sizeof(of->msg), r, "%s: cannot open: %s",
			   of->path, r == -EBUSY ? "device is in use (mounted, or "
			   "held by another program)" : strerror(-r));
	}
	/* The path may have been swapped since the stat. */
	if (fstat(of->fd, &now) != 0 || !S_ISBLK(now.st_mode) ||
	    now.st_rdev != st->st_rdev)
		return say(of->msg, sizeof(of->msg), -EAGAIN, "%s: changed while "
			   "being opened; refusing to write to it", of->path);
	r = fcntl(of->fd, F_SETFL, 0) != 0 ? -errno
					      : cli_fd_size(of->fd, &of->dev_bytes);
	if (r < 0) {
		return say(of->msg, sizeof(of->msg), r, "%s: cannot get the "
			   "device size: %s", of->path, strerror(-r));
	}
	return out_file_check_block_size(of->path, of->dev_bytes, opts->min_bytes,
					 of->msg, sizeof(of->msg));
}

/* Directory part of path with its slash ("" for a bare name). */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

static int open_tmp(struct out_file *of, const struct out_file_opts *opts)
{
	size_t dl = dir_len(of->path);
	const char *base = of->path + dl;
	static unsigned counter;
	sigset_t old;
	size_t cap = dl + strlen(base) + 64;
	int r = -EEXIST;

	of->tmp = malloc(cap);
	if (!of->tmp)
		return say(of->msg, sizeof(of->msg), -ENOMEM, "out of memory");
	for (int tries = 0; tries < 100 && r == -EEXIST; tries++) {
		/* A name longer than NAME_MAX is shortened, not refused. */
		snprintf(of->tmp, cap, "%.*s.%.200s.snapsim-%ld-%u", (int)dl, of->path,
			base, (long)getpid(), counter++);
		block_fatal(&old);
		of->fd = open(of->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			      O_CLOEXEC, opts->mode ? opts->mode : 0644);
		r = of->fd < 0 ? -errno : 0;
		if (r == 0) {
			of->slot = slot_take(of->tmp);
			if (of->slot < 0) {
				unlink(of->tmp);
				close(of->fd);
				of->fd = -1;
				r = -EMFILE;
			}
		}
		restore_mask(&old);
	}
	if (r < 0) {
		free(of->tmp);
		of->tmp = NULL;
		return say(of->msg, sizeof(of->msg), r, "%s: cannot create a "
			   "temporary file in %.*s: %s", of->path,
			   dl > 1 ? (int)dl - 1 : 1, dl ? of->path : ".",
			   strerror(-r));
	}
	of->sparse = true;
	return 0;
}

int out_file_open(struct out_file *of, const char *path,
		  const struct out_file_opts *opts)
{
	struct stat lst, st;
	const struct stat *found = NULL;
	const char *base = path + dir_len(path);
	int r;

	memset(of, 0, sizeof(*of));
	of->fd = -1;
	of->slot = -1;
	of->force = opts->force;
	if (lstat(path, &lst) == 0) {
		found = &lst;
		if (S_ISLNK(lst.st_mode)) {
			if (stat(path, &st) != 0) {
				r = -errno;
				return say(of->msg, sizeof(of->msg), r, "%s: is a "
					   "symlink to a file that cannot be reached "
					   "(%s); refusing to write through it", path,
					   strerror(-r));
			}
			found = &st;
			/* Replace the file the link names, not the link. */
			of->path = realpath(path, NULL);
			if (!of->path)
				return say(of->msg, sizeof(of->msg), -errno,
					   "%s: cannot resolve the symlink: %s",
					   path, strerror(errno));
		}
	} else if (errno != ENOENT) {
		r = -errno;
		return say(of->msg, sizeof(of->msg), r, "%s: cannot examine: %s",
			   path, strerror(-r));
	} else if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		return say(of->msg, sizeof(of->msg), -EINVAL,
			   "%s: not a file name", path);
	}
	if (!of->path)
		of->path = strdup(path);
	if (!of->path)
		return say(of->msg, sizeof(of->msg), -errno, "%s: cannot resolve: %s",
			   path, strerror(errno));
	r = out_file_classify(path, found, opts, &of->kind, of->msg, sizeof(of->msg));
	if (r < 0)
		return r;
	if (of->kind == OUT_BLOCK)
		return open_block(of, found, opts);
	return open_tmp(of, opts);
}

/* ---- finishing ---- */

/* rename(2) that fails with EEXIST instead of replacing. */
static int rename_noreplace(const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
#endif
	/* The file system cannot: link(2) refuses an existing name too. */
	if (link(from, to) != 0)
		return -errno;
	unlink(from);
	return 0;
}

static int fsync_dir(struct out_file *of)
{
	size_t dl = dir_len(of->path);
	char *dir = dl ? strndup(of->path, dl) : strdup(".");
	int fd, r = 0;

	if (!dir)
		return say(of->msg, sizeof(of->msg), -ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	/* Some file systems cannot fsync a directory; nothing more to do there. */
	if (r == -EINVAL || r == -ENOTSUP)
		r = 0;
	if (r < 0)
		say(of->msg, sizeof(of->msg), r, "%s: written, but syncing its "
		    "directory %s failed: %s", of->path, dir, strerror(-r));
	free(dir);
	return r;
}

/* Remove the temporary now (after a failure, before the rename). */
static int discard(struct out_file *of, int r)
{
	sigset_t old;

	block_fatal(&old);
	if (of->tmp)
		unlink(of->tmp);
	slot_drop(of->slot);
	of->slot = -1;
	restore_mask(&old);
	free(of->tmp);
	of->tmp = NULL;
	return r;
}

int out_file_commit(struct out_file *of)
{
	struct stat st;
	sigset_t old;
	int r;

	if (of->fd < 0)
		return say(of->msg, sizeof(of->msg), -EBADF, "%s: not open", of->path);
	r = fsync(of->fd) != 0 ? -errno : 0;
	if (close(of->fd) != 0 && r == 0)
		r = -errno;
	of->fd = -1;
	if (r < 0)
		return discard(of, say(of->msg, sizeof(of->msg), r, "%s: cannot "
			   "flush %s: %s", of->path, of->kind == OUT_BLOCK ?
			   "the device" : "the temporary file", strerror(-r)));
	if (of->kind == OUT_BLOCK) {
		of->committed = true;
		return 0;
	}
	/* Whatever stands at the path now must still be a file we may replace. */
	if (lstat(of->path, &st) == 0 && !S_ISREG(st.st_mode))
		return discard(of, say(of->msg, sizeof(of->msg), -EINVAL, "%s: "
			   "became %s while being written; left as it is",
			   of->path, S_ISLNK(st.st_mode) ? "a symlink"
			   : S_ISBLK(st.st_mode) ? "a block device"
			   : type_name(st.st_mode)));
	block_fatal(&old);
	if (of->force)
		r = rename(of->tmp, of->path) != 0 ? -errno : 0;
	else
		r = rename_noreplace(of->tmp, of->path);
	if (r == 0) {
		slot_drop(of->slot);
		of->slot = -1;
		of->committed = true;
	}
	restore_mask(&old);
	if (r < 0)
		return discard(of, say(of->msg, sizeof(of->msg), r, "%s: %s",
			   of->path, r == -EEXIST ? "appeared while being written; "
			   "left as it is (--force replaces it)" : strerror(-r)));
	return fsync_dir(of);
}

void out_file_close(struct out_file *of)
{
	if (of->fd >= 0)
		close(of->fd);
	of->fd = -1;
	if (of->committed) {
		free(of->tmp);
		of->tmp = NULL;
	}
	discard(of, 0);
	free(of->path);
	of->path = NULL;
}

FILE *out_file_stream(struct out_file *of)
{
	int fd = of->fd >= 0 ? dup(of->fd) : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		say(of->msg, sizeof(of->msg), -errno, "%s: %s", of->path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

int out_file_write_all(const char *path, const struct out_file_opts *opts, const void *text,
		       size_t len, char *msg, size_t msg_len)
{
	struct out_file of;
	int r = out_file_open(&of, path, opts);

	if (!r && (r = cli_pwrite_full(of.fd, text, len, 0)) < 0)
		say(of.msg, sizeof(of.msg), r, "%s: write error: %s", of.tmp, strerror(-r));
	if (!r)
		r = out_file_commit(&of);
	if (r)
		snprintf(msg, msg_len, "%s", of.msg);
	out_file_close(&of);
	return r;
}

bool out_file_is_ours(const char *path, const char *marker)
{
	size_t n = strlen(marker);
	char *head = malloc(n);
	struct stat st;
	bool ours = false;
	FILE *f;

	if (!head || stat(path, &st) || !S_ISREG(st.st_mode) || !(f = fopen(path, "rb"))) {
		free(head);
		return false;
	}
	ours = fread(head, 1, n, f) == n && !memcmp(head, marker, n);
	fclose(f);
	free(head);
	return ours;
}
