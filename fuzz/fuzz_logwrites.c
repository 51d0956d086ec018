/*
 * fuzz_logwrites.c - harness for reading a dm-log-writes log from arbitrary
 * bytes (cli/logwrites.c, behind `snapsim import log-writes`).
 *
 * Input: the log file's content.
 * Properties (abort when one fails):
 *  1. The reader either refuses the super block with a message naming the
 *     log, or returns entries one after another: each entry's block starts
 *     where the previous entry's data ended (the first at one log sector),
 *     its block and its data lie inside the file, entries are numbered 0, 1,
 *     ... and never more than the super block's count.
 *  2. A refused entry is named with its number and byte offset, exactly the
 *     entry that would have come next; a log read to its end gave all of
 *     nr_entries.
 *  3. Reading again after a rewind gives the same entries (no hidden state).
 *  4. No leak, no undefined behaviour (sanitizer build).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "logwrites.h"

#define MAX_LOG_BYTES (1u << 20)
#define MAX_ENTRIES 4096u

struct seen {
	uint64_t offset, data_offset, nr_sectors, flags;
};

/* Read every entry; returns how many (err: the reader refused one). */
static size_t walk(struct lw_log *l, struct seen *out, struct lw_entry *e, bool *err)
{
	char msg[LW_MSG_MAX], want[200];
	uint64_t expect_at = l->sectorsize;
	size_t n = 0;
	int r;

	*err = false;
	while (n < MAX_ENTRIES && (r = lw_next(l, e, msg, sizeof(msg))) == 1) {
		uint64_t data = (e->flags & (LW_DISCARD | LW_MARK)) ? 0 : e->nr_sectors * l->sectorsize;

		if (e->index != n || e->offset != expect_at)
			fuzz_fail("entries do not follow one another");
		if (e->offset + l->sectorsize > l->size || e->data_offset != e->offset + l->sectorsize ||
		    e->data_offset + data > l->size)
			fuzz_fail("an entry or its data lies outside the log");
		if (n >= l->nr_entries)
			fuzz_fail("more entries than the super block counts");
		out[n].offset = e->offset;
		out[n].data_offset = e->data_offset;
		out[n].nr_sectors = e->nr_sectors;
		out[n].flags = e->flags;
		expect_at = e->data_offset + data;
		n++;
	}
	if (n == MAX_ENTRIES)
		return n;
	if (r < 0) {
		*err = true;
		snprintf(want, sizeof(want), "entry %zu at byte %" PRIu64 ": ", n, expect_at);
		if (!strstr(msg, want))
			fuzz_fail("a refused entry is not named by its number and offset");
	} else if (n != l->nr_entries) {
		fuzz_fail("the log ended before nr_entries");
	}
	return n;
}

int snapsim_fuzz_one(const uint8_t *data, size_t size)
{
	static struct seen a[MAX_ENTRIES], b[MAX_ENTRIES];
	struct lw_entry *e;
	struct lw_log l;
	char path[64], msg[LW_MSG_MAX];
	bool err1, err2;
	size_t n1, n2;
	int fd;

	if (size > MAX_LOG_BYTES)
		return 0;
	fd = memfd_create("log", 0);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	e = malloc(sizeof(*e));
	if (!e) {
		close(fd);
		return 0;
	}
	if (lw_open(&l, path, msg, sizeof(msg))) {
		if (strncmp(msg, path, strlen(path)))
			fuzz_fail("a refused super block is not named by the log");
	} else {
		n1 = walk(&l, a, e, &err1);
		lw_rewind(&l);
		n2 = walk(&l, b, e, &err2);
		if (n1 != n2 || err1 != err2 || memcmp(a, b, n1 * sizeof(a[0])))
			fuzz_fail("a second reading differs");
	}
	lw_close(&l);
	free(e);
	close(fd);
	return 0;
}
