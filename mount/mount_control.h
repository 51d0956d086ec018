/*
 * mount_control.h - MOUNTPOINT/control: one command a line, in dmsetup's
 * words, run as a trace step on the mounted world and recorded as one;
 * the answer of the lines written since the file was last opened for
 * writing is what reading the file returns. Private to mount/.
 *
 *   create/load/reload/suspend/resume/remove/clear ... (a leading
 *   `dmsetup` is allowed), table NAME | load OTHER    dm steps
 *   status|table|info|deps NAME [--inactive]           queries: the output
 *   settle                                              run background work (a merge) to the end
 *   crash NAME                                          a crash: marker in the recording
 *   # ...                                               a comment
 *
 * Each line answers `ok`, the query's output, or `error: MESSAGE`.
 */
#ifndef SNAPSIM_MOUNT_CONTROL_H
#define SNAPSIM_MOUNT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

struct replay_session;
struct mount_rec;

struct mount_ctl {
	char *answer;            /* what reading control returns */
	size_t answer_len, answer_cap;
	char *partial;           /* a line written without its newline yet */
	size_t partial_len, partial_cap;
	bool changed;            /* a command ran: the device list may differ */
};

void mount_ctl_free(struct mount_ctl *c);
/* control opened for writing: a new answer begins. */
void mount_ctl_reset(struct mount_ctl *c);
/*
 * Bytes written to control: every complete line runs. Returns 0, or the
 * negative errno of the first line that failed (the lines after it in
 * this write do not run; the answer says why).
 */
int mount_ctl_write(struct mount_ctl *c, struct replay_session *s, struct mount_rec *rec,
		    const char *buf, size_t n);
/* At close: a last line without a newline runs. Returns as mount_ctl_write. */
int mount_ctl_flush(struct mount_ctl *c, struct replay_session *s, struct mount_rec *rec);

#endif
