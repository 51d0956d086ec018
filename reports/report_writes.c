/*
 * report_writes.c - what became of each write pending at a crash point in
 * one checked state: the point's rows of `writes` (schema 3) judged
 * against the state's survivor text ("NAME:ID,ID/MASK;..."): survived
 * whole, lost, or torn (MASK: the atomic units that survived).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

/*
 * Find write id of disk (name of length dlen) in survivor text: NULL when
 * it did not survive, else a pointer just past its id ('/' starts a mask).
 */
static const char *find_survivor(const char *text, const char *disk, long long id)
{
	const char *p = text;

	while (p && *p) {
		const char *colon = strchr(p, ':'), *end = strchr(p, ';');
		bool this_disk;

		if (!colon || (end && end < colon))
			return NULL;
		this_disk = (size_t)(colon - p) == strlen(disk) && !strncmp(p, disk, (size_t)(colon - p));
		p = colon + 1;
		while (*p && *p != ';') {
			char *e;
			long long v = strtoll(p, &e, 10);

			if (e == p)
				return NULL;
			if (this_disk && v == id)
				return e;
			p = e;
			while (*p && *p != ',' && *p != ';')
				p++; /* its mask */
			if (*p == ',')
				p++;
		}
		if (*p == ';')
			p++;
	}
	return NULL;
}

/* Parse "/W.W..." into w->mask; count the surviving units. */
static int parse_mask(const char *p, struct report_write *w)
{
	size_t cap = 0;

	while (*p == '/' || *p == '.') {
		char *e;
		uint64_t v = strtoull(p + 1, &e, 16);

		if (e == p + 1)
			break;
		if (w->mask_words == cap) {
			cap = cap ? 2 * cap : 4;
			uint64_t *n = realloc(w->mask, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			w->mask = n;
		}
		w->mask[w->mask_words++] = v;
		p = e;
	}
	w->units_kept = 0;
	for (long long u = 0; u < w->units; u++)
		w->units_kept += report_unit_kept(w, u);
	return 0;
}

bool report_unit_kept(const struct report_write *w, long long u)
{
	size_t word = (size_t)(u / 64);

	if (w->outcome == REPORT_SURVIVED)
		return true;
	if (w->outcome == REPORT_LOST || word >= w->mask_words)
		return false;
	return (w->mask[word] >> (u % 64)) & 1;
}

int report_writes_load(sqlite3 *db, long long point, const char *survivors,
		       struct report_writes *out)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!report_has_table(db, "writes"))
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT disk, write_id, trace_line, sector, nsectors, flags, units, "
			       "unit_sectors FROM writes WHERE point = ?1 ORDER BY trace_line, disk, write_id",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, point);
	out->recorded = true;
	while (!r && sqlite3_step(st) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap ? 2 * cap : 16;
			struct report_write *v = realloc(out->v, cap * sizeof(*v));

			if (!v) {
				r = -ENOMEM;
				break;
			}
			out->v = v;
		}
		struct report_write *w = &out->v[out->n++];
		const char *at;

		memset(w, 0, sizeof(*w));
		snprintf(w->disk, sizeof(w->disk), "%s", report_col(st, 0) ? report_col(st, 0) : "");
		w->write_id = sqlite3_column_int64(st, 1);
		w->trace_line = sqlite3_column_int64(st, 2);
		w->sector = sqlite3_column_int64(st, 3);
		w->nsectors = sqlite3_column_int64(st, 4);
		snprintf(w->flags, sizeof(w->flags), "%s", report_col(st, 5) ? report_col(st, 5) : "");
		w->units = sqlite3_column_int64(st, 6);
		w->unit_sectors = sqlite3_column_int64(st, 7);
		at = find_survivor(survivors ? survivors : "", w->disk, w->write_id);
		if (!at) {
			w->outcome = REPORT_LOST;
		} else if (*at != '/') {
			w->outcome = REPORT_SURVIVED;
			w->units_kept = w->units;
		} else {
			w->outcome = REPORT_TORN;
			r = parse_mask(at, w);
			if (!r && w->units_kept == w->units)
				w->outcome = REPORT_SURVIVED; /* every unit: whole */
		}
	}
	sqlite3_finalize(st);
	if (r)
		report_writes_free(out);
	return r;
}

void report_writes_free(struct report_writes *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].mask);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

/* The sectors of unit u: [*lo, *hi). */
static void unit_span(const struct report_write *w, long long u, long long *lo, long long *hi)
{
	long long a = w->unit_sectors > 0 ? w->unit_sectors : 1;
	long long first = w->sector / a, end = w->sector + w->nsectors;

	*lo = (first + u) * a < w->sector ? w->sector : (first + u) * a;
	*hi = (first + u + 1) * a > end ? end : (first + u + 1) * a;
}

void report_torn_sectors(const struct report_write *w, bool kept, unsigned max_runs, char *buf,
			 size_t len)
{
	size_t o = 0;
	unsigned runs = 0;

	buf[0] = '\0';
	for (long long u = 0; u < w->units && o + 1 < len; u++) {
		long long lo, hi, x;

		if (report_unit_kept(w, u) != kept)
			continue;
		unit_span(w, u, &lo, &hi);
		while (u + 1 < w->units && report_unit_kept(w, u + 1) == kept)
			unit_span(w, ++u, &x, &hi);
		if (runs++ == max_runs) {
			snprintf(buf + o, len - o, ", ...");
			return;
		}
		o += (size_t)snprintf(buf + o, len - o, hi - lo > 1 ? "%s%lld-%lld" : "%s%lld",
				      o ? ", " : "", lo, hi - 1);
		if (o >= len)
			return;
	}
}

void report_outcome_text(const struct report_write *w, char *buf, size_t len)
{
	switch (w->outcome) {
	case REPORT_SURVIVED:
		snprintf(buf, len, "survived");
		break;
	case REPORT_LOST:
		snprintf(buf, len, "lost");
		break;
	case REPORT_TORN:
		snprintf(buf, len, "torn: %lld of %lld units survived", w->units_kept, w->units);
		break;
	}
}
