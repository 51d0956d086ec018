/*
 * cow_check.h - the consistency checker behind `snapsim cow check` (and the
 * gate of `cow export`): the findings of the validator activation uses
 * (core/cow_validate.h) on the image, worded for the command line.
 *
 * Findings have a severity: an ERROR is a fatal finding, exactly what makes
 * activation refuse the store; a WARNING is a deviation a healthy
 * Linux-written store does not show but which does not stop activation; a
 * NOTE is information.
 */
#ifndef SNAPSIM_COW_CHECK_H
#define SNAPSIM_COW_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cow_scan.h"

enum cow_severity {
	COW_NOTE,
	COW_WARNING,
	COW_ERROR,
};

/* Where a finding is: the header, an area, or one record slot. */
enum cow_place {
	COW_AT_IMAGE,   /* the image as a whole (no offset) */
	COW_AT_HEADER,  /* header field at byte offset */
	COW_AT_AREA,    /* metadata area */
	COW_AT_SLOT,    /* record slot of an area */
};

#define COW_FINDING_MSG_MAX 200
/* Findings kept in memory; later ones are only counted. */
#define COW_FINDINGS_KEPT 1000

struct cow_finding {
	enum cow_severity severity;
	enum cow_place place;
	uint64_t area, slot, offset;
	char msg[COW_FINDING_MSG_MAX];
};

struct cow_check_opts {
	bool have_origin;
	uint64_t origin_bytes;   /* with have_origin */
	bool collect;            /* keep the (old, new) records in list order */
};

struct cow_pair {
	chunk_t old_chunk, new_chunk;
};

struct cow_check_report {
	/* Header state. */
	bool empty;              /* magic 0: a new store */
	bool invalid;            /* valid == 0: invalidated by the kernel */
	bool header_ok;          /* records could be read */
	struct cow_walk_result walk;
	/* Findings. */
	struct cow_finding *findings;
	size_t nr_kept;
	uint64_t nr_errors, nr_warnings, nr_notes, nr_dropped;
	/* Records (with opts.collect), list order. */
	struct cow_pair *pairs;
	size_t nr_pairs;
};

/*
 * Check the image behind s (opened by cow_scan_open). Fills r (free it with
 * cow_check_report_free). Returns 0 when the check ran (whatever it found),
 * or a negative errno with err set for an operational failure (read error,
 * no memory).
 */
int cow_check_run(struct cow_scan *s, const struct cow_check_opts *opts,
		  struct cow_check_report *r, struct ss_error *err);
void cow_check_report_free(struct cow_check_report *r);

/* "COW: area A slot S (byte offset O): error: message" and friends. */
void cow_finding_print(FILE *out, const char *path, const struct cow_finding *f);
const char *cow_severity_name(enum cow_severity sev);

#endif
