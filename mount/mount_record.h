/*
 * mount_record.h - recording what a mount did as a trace (traces/README.md):
 * the stack trace's text unchanged, then one step per request in
 * completion order (writes' data appended to one data file and referenced
 * as {file: NAME, file_offset: NB}), one per control command, and a
 * `crash:` marker after every completed flush. Private to mount/.
 */
#ifndef SNAPSIM_MOUNT_RECORD_H
#define SNAPSIM_MOUNT_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bio.h"

struct mount_rec;

/*
 * Start a recording into yaml (and data, named data_name from the trace):
 * copies the trace at stack_path and finds where its steps end. Returns 0
 * or a negative errno with msg set.
 */
int mount_rec_open(struct mount_rec **out, FILE *yaml, FILE *data, const char *data_name,
		   const char *stack_path, char *msg, size_t len);
/*
 * One completed request. A read of what the model cannot know (a COW
 * store: checked = false) is left out; a failed request is recorded with
 * its error.
 */
void mount_rec_io(struct mount_rec *r, const char *dev, enum bio_op op, unsigned flags,
		  sector_t sector, uint32_t nr, const uint8_t *data, int status, bool checked);
/* One control step: body is the inside of its YAML mapping (`dm: "..."`). */
void mount_rec_step(struct mount_rec *r, const char *body, int status);
/* Close the steps; 0, or a negative errno with msg set when a write failed. Frees r. */
int mount_rec_finish(struct mount_rec *r, char *msg, size_t len);

/* A YAML double-quoted scalar of s (escapes " \ and control characters). */
void mount_yaml_quote(FILE *f, const char *s);
/* The trace language's name of an errno (EIO, ...); NULL when it has none. */
const char *mount_errno_name(int err);

#endif
