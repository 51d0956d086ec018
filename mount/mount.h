/*
 * mount.h - snapsim mount: a device stack served as regular files over
 * FUSE (libfuse3's high-level API, one thread).
 *
 * The stack is a trace's world (sim/replay/replay_session.h): its setup
 * steps run first, then every disk and dm device is MOUNTPOINT/NAME, and
 * MOUNTPOINT/control takes dmsetup's words. Requests are served one at a
 * time in the order the kernel hands them over (the FUSE session is
 * single-threaded), each run through the simulated world to completion
 * before the next is read, so two programs writing at once are serialised
 * in the order their requests reached the FUSE queue, and the world stays
 * deterministic: a recording replays to the same images.
 *
 * Files of this folder call one way: mount_fuse.c (the FUSE operations
 * and the loop) calls mount_control.c (the control file) and
 * mount_record.c (the recording); mount_control.c calls mount_record.c.
 */
#ifndef SNAPSIM_MOUNT_H
#define SNAPSIM_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct replay_disk_file;

struct mount_opts {
	const char *stack;       /* the trace whose steps build the stack */
	const char *mountpoint;
	FILE *record;            /* the recorded trace goes here; NULL: no recording */
	FILE *record_data;       /* the written data, referenced from the trace */
	const char *data_name;   /* how the trace names the data file (beside it) */
	bool quiet;
	bool debug;              /* libfuse's -d */
	/* Non-empty: the disks are these image files (replay_opts.disk_files). */
	const struct replay_disk_file *disk_files;
	unsigned nr_disk_files;
	bool create_files;       /* make a missing one, sized from the trace */
};

/* Exit codes of mount_run, as cli_exit.h. */
#define MOUNT_OK 0
#define MOUNT_BAD_STACK 3        /* the stack trace is missing, invalid or failed */
#define MOUNT_ERROR 4            /* FUSE unavailable, mount failed, recording not written */

/*
 * Build the stack, mount it, serve until unmounted (fusermount3 -u, or
 * SIGINT/SIGTERM/SIGHUP), unmount, and finish the recording. Returns a
 * MOUNT_* code with msg saying why when it is not MOUNT_OK.
 */
int mount_run(const struct mount_opts *o, char *msg, size_t len);

#endif
