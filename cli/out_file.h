/*
 * out_file.h - the one way snapsim writes a file it was asked to produce
 * (`cow export -o`, and later `cow check --repair -o`, `replay --save`...).
 *
 * Contract:
 *  - The target is examined (stat, following symlinks) before anything is
 *    opened for writing. Accepted: a path that does not exist, a regular
 *    file (only with opts.force), a block device (only with opts.allow_block
 *    and opts.force). Refused with a message naming the path: character
 *    devices (/dev/null, /dev/full...), FIFOs, sockets, directories, a
 *    dangling symlink, an existing file without force. A refused target is
 *    never opened, so a FIFO cannot block.
 *  - A symlink is followed: the file it names is replaced (the temporary is
 *    created beside that file, in its directory) and the link is kept.
 *  - Regular targets: the data goes to a new temporary in the target's
 *    directory, ".NAME.snapsim-PID-N", created with O_EXCL and the caller's
 *    mode under the umask (the mode, owner and default ACL a new file would
 *    get; an existing file's mode and owner are not carried over).
 *    out_file_commit() fsyncs it, renames it over the target (without force,
 *    atomically refusing a target that appeared meanwhile) and fsyncs the
 *    directory. Until then the target is untouched.
 *  - Block devices are written in place: opened O_WRONLY|O_EXCL (Linux: fails
 *    while the device is mounted or held), never truncated or resized;
 *    refused when smaller than opts.min_bytes. A failure after writing began
 *    leaves the device partly written (out_file.dirty tells the caller).
 *  - On any failure, out_file_close() without a commit, or a fatal signal
 *    (SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ, where their action is the
 *    default) before the commit, the temporary is removed. Nothing else is
 *    ever unlinked: only a path this run created.
 *  - Use: out_file_open(), write to fd, out_file_commit(), and always
 *    out_file_close() at the end (after a failed open too).
 *  - Messages in msg name the path and tell the user to give --force, the
 *    option every caller must map to opts.force.
 *  - Single-threaded use; the helpers print nothing (messages go to
 *    out_file.msg for the caller to print).
 */
#ifndef SNAPSIM_OUT_FILE_H
#define SNAPSIM_OUT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

enum out_kind {
	OUT_NEW,      /* no file at the path: a new one will be created */
	OUT_REPLACE,  /* an existing regular file, replaced at commit (force) */
	OUT_BLOCK,    /* a block device, written in place (force) */
};

struct out_file_opts {
	bool force;          /* replace a regular file / overwrite a block device */
	bool allow_block;    /* the caller can write a block device in place */
	uint64_t min_bytes;  /* a block device must hold at least this much */
	mode_t mode;         /* a new file's mode before the umask (0: 0644) */
};

#define OUT_FILE_MSG_MAX 4400 /* two paths and a sentence */

struct out_file {
	int fd;              /* write here (the temporary, or the device) */
	enum out_kind kind;
	bool sparse;         /* fd is a new empty file: ranges never written
				(after ftruncate) read as zeros */
	bool dirty;          /* OUT_BLOCK: the caller has started writing */
	uint64_t dev_bytes;  /* OUT_BLOCK: the device's size */
	char *path;          /* the file that is (re)placed: symlinks resolved */
	char *tmp;           /* the temporary (NULL for OUT_BLOCK) */
	int slot;            /* signal-cleanup slot of tmp, -1 for none */
	bool force;          /* opts.force, for the commit */
	bool committed;
	char msg[OUT_FILE_MSG_MAX]; /* why the last call failed */
};

/*
 * Examine path and open it for writing as the contract says. Returns 0, or
 * a negative errno with of->msg set (nothing was created).
 * -EEXIST: an existing target without force; -EINVAL: a refused file type.
 */
int out_file_open(struct out_file *of, const char *path,
		  const struct out_file_opts *opts);

/*
 * Finish: fsync, and for files rename into place and fsync the directory.
 * Closes fd. Returns 0, or a negative errno with of->msg set; on failure
 * before the rename the temporary is removed and the target untouched
 * (a failing directory fsync comes after the rename: the file is in place).
 */
int out_file_commit(struct out_file *of);

/*
 * Release everything: close fd, and without a successful commit remove the
 * temporary. Call once at the end, whatever happened before.
 */
void out_file_close(struct out_file *of);

/*
 * The decision out_file_open takes from a stat result, separated so that
 * every file type can be tested: st is stat(path) (symlinks followed), or
 * NULL when the path does not exist. Returns 0 with *kind set, or a
 * negative errno with msg (of msg_len bytes) naming path.
 */
int out_file_classify(const char *path, const struct stat *st,
		      const struct out_file_opts *opts, enum out_kind *kind,
		      char *msg, size_t msg_len);

/*
 * A stdio stream writing of->fd (after a successful out_file_open), for
 * text written as it is produced (`replay --log`). fclose it before
 * out_file_commit; the fd stays open for the commit. NULL on failure.
 */
FILE *out_file_stream(struct out_file *of);

/*
 * Write len bytes of text to path as the contract says, in one call: open,
 * write, commit, close. Returns 0, or a negative errno with msg (msg_len
 * bytes) naming the path.
 */
int out_file_write_all(const char *path, const struct out_file_opts *opts, const void *text,
		       size_t len, char *msg, size_t msg_len);

/*
 * Whether path is a regular file that begins with marker: an output snapsim
 * wrote there before (a minimized trace), which a rerun may replace
 * without --force.
 */
bool out_file_is_ours(const char *path, const char *marker);

/* Whether a block device of dev_bytes can take min_bytes (msg when not). */
int out_file_check_block_size(const char *path, uint64_t dev_bytes,
			      uint64_t min_bytes, char *msg, size_t msg_len);

#endif
