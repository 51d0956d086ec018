/*
 * cow_undo.h - where a COW repair goes: a new COW file (the image copied
 * with the edits, through out_file), or the image itself after an undo file
 * holding every changed byte range with its old bytes; and `snapsim cow
 * undo COW FILE`, which puts those bytes back.
 *
 * Undo file format (version 1), bytes in this order:
 *   "snapsim-cow-undo 1\n"
 *   "cow-bytes N\n"                  the COW's size when it was repaired
 *   per changed range:
 *     "range OFFSET LENGTH\n"        decimal byte offset and length
 *     LENGTH old bytes, LENGTH new bytes, "\n"
 *   "end\n"
 * Undo refuses (writing nothing) unless the COW has the same size and every
 * range holds its new bytes, so it cannot be applied to another image or
 * twice.
 */
#ifndef SNAPSIM_COW_UNDO_H
#define SNAPSIM_COW_UNDO_H

#include <stdbool.h>
#include <stdint.h>

#include "cow_repair.h"

/* Copy the COW (fd, size bytes) to a new file out with p's edits. 0 or -errno (message printed). */
int cow_repair_write_new(int fd, uint64_t size, const char *cow, const char *out, bool force,
			 const struct cow_repair_plan *p);

/*
 * Write the undo file (through out_file), then p's edits into the COW at
 * path, then fsync. The COW is re-read first: if a range no longer holds its
 * old bytes nothing is written. 0 or -errno (message printed).
 */
int cow_repair_in_place(const char *cow, uint64_t size, const char *undo, bool force,
			const struct cow_repair_plan *p);

/* `snapsim cow undo COW FILE`. Exit code. */
int cmd_cow_undo(int argc, char **argv);

#endif
