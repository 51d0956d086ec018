/*
 * report.h - `snapsim report`: the crash explorer's state database
 * (sim/db/statedb.h, schema in reports/README.md) rendered as one
 * self-contained HTML page (inline CSS and SVG, no JavaScript) and a
 * Markdown summary. Everything comes from the database alone.
 *
 * Files: report_common.c (escaping, colours, the number notation),
 * report_sweeps.c (shard runs grouped into sweeps, the plan of failure
 * cards), report_writes.c (a failing state's pending writes),
 * report_html.c (page, summary, runs, coverage, exceptions),
 * report_html_fail.c (failure cards), report_html_trace.c (per sweep the
 * timeline and crash point table), report_md.c (Markdown), report_checks.c
 * (an application checker's verdict on a failing state).
 */
#ifndef SNAPSIM_REPORT_H
#define SNAPSIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sqlite3;
struct sqlite3_stmt;

/* Limits that keep a report of a huge sweep readable (each says what it left out). */
#define REPORT_MAX_FAILURES 25      /* failing crash points shown in full */
#define REPORT_MAX_FAILURES_PER_RUN 3 /* ... per sweep */
#define REPORT_MAX_CARDS 400        /* failing crash points with a card at all */
#define REPORT_MAX_STATES_PER_CARD 6 /* failing states listed on one card */
#define REPORT_MAX_POINT_ROWS 80    /* crash point rows per trace before folding */
#define REPORT_MAX_EXC_ROWS 200     /* unexpected exception rows */
#define REPORT_MAX_WRITE_ROWS 120   /* pending writes per state; past it the lost ones are counted */

/* Write the HTML page / Markdown summary. 0 or a negative errno. */
int report_write_html(struct sqlite3 *db, const char *db_name, FILE *out);
int report_write_md(struct sqlite3 *db, const char *db_name, FILE *out);

/* ---- shared helpers (report_common.c) ---- */

/* Write s HTML-escaped (s may be NULL). */
void report_html_escape(FILE *out, const char *s);
/* Write s with Markdown table metacharacters escaped (| and newlines). */
void report_md_escape(FILE *out, const char *s);
/* Colour of a verdict ("ok", "violation", "crash", "hang", NULL: unexplored). */
const char *report_verdict_colour(const char *verdict);
/* <span class="badge"> of a verdict (NULL: "unexplored"). */
void report_html_badge(FILE *out, const char *verdict);
/*
 * The one notation of counts, HTML and Markdown alike: exact with
 * thousands separators below 10^15 ("137,438,953,536"), else "≥ 2^K"
 * with 2^K <= v (a saturated count is a lower bound anyway). buf needs
 * REPORT_NUM_LEN bytes.
 */
#define REPORT_NUM_LEN 32
const char *report_num(char *buf, size_t len, uint64_t v);
/* a + b, saturating. */
uint64_t report_sat_add(uint64_t a, uint64_t b);
/* One number from a query (first column of the first row), or dflt. */
long long report_scalar(struct sqlite3 *db, const char *sql, long long dflt);
/* Column i of a row as text (NULL when NULL). */
const char *report_col(struct sqlite3_stmt *st, int i);
/* Whether the database has table name (schema 2 has no writes table). */
bool report_has_table(struct sqlite3 *db, const char *name);

/* ---- a state's application checker (report_checks.c; the checks table) ---- */

/* The checker's command, verdict, exit status and output of state, when it has a row. */
void report_html_check(struct sqlite3 *db, long long state, FILE *out);
void report_md_check(struct sqlite3 *db, long long state, FILE *out);

/* ---- sweeps (report_sweeps.c) ---- */

/*
 * A sweep: the runs of one exploration. `--shard K/N` runs of the same
 * trace, seed, options (without --shard) and version are one sweep, one
 * run per shard K (a second run of a shard K already present starts
 * another sweep: the same sweep repeated on another day); an unsharded
 * run is a sweep of its own. temp.report_sweep(run, sweep) maps each run
 * to its sweep's id, its first run's id.
 */
struct report_sweep {
	long long id;
	char *trace, *trace_name, *options, *started, *repro, *minimized;
	long long seed;
	unsigned shard_n;       /* 0: not sharded */
	unsigned nr_runs;
	const char *verdict;    /* worst of its runs; NULL: some run unfinished */
	long long points_offered; /* crash points the mode defines (any run's count) */
};

/*
 * The trace's own name (its header's name:) when it says more than the file
 * name (the default: the file name without .yaml), else NULL.
 */
const char *report_sweep_name(const struct report_sweep *s);

struct report_sweeps {
	struct report_sweep *v; /* ordered by trace, then id */
	size_t n;
	size_t nr_runs;
};

/* Figures of one sweep, crash points of the live run excluded. */
struct report_figures {
	long long points;       /* explored */
	uint64_t states_total;  /* whole-write states existing, summed (saturating) */
	bool torn;              /* some point has torn variants besides */
	long long states_checked, failing_states, failing_points;
	long long max_cow;      /* largest recovered exception count; 0: none */
	long long live_failures;
};

/*
 * Group the runs into sweeps, fill temp.report_sweep and plan the failure
 * cards: temp.report_card(point, sweep, rank, full, live) holds the
 * crash points that get a card (id "fail-POINT"), in page order: per sweep
 * its live-run failure (one, though every shard records it) then its
 * failing points by seq; `full` for the first REPORT_MAX_FAILURES_PER_RUN
 * of a sweep up to REPORT_MAX_FAILURES in all; REPORT_MAX_CARDS cards in
 * all. 0 or a negative errno.
 */
int report_sweeps_load(struct sqlite3 *db, struct report_sweeps *out);
void report_sweeps_free(struct report_sweeps *s);
void report_sweep_figures(struct sqlite3 *db, long long sweep, struct report_figures *f);
/* "fail-P" when point P has a card, else "pt-P" (its crash point row). */
void report_point_anchor(struct sqlite3 *db, long long point, char *buf, size_t len);

/* ---- a failing state's pending writes (report_writes.c) ---- */

enum report_outcome { REPORT_LOST = 0, REPORT_SURVIVED, REPORT_TORN };

struct report_write {
	char disk[64];
	char flags[64];
	long long write_id, trace_line, sector, nsectors, units, unit_sectors;
	enum report_outcome outcome;
	uint64_t *mask;         /* REPORT_TORN: surviving units (bit u of word u/64) */
	size_t mask_words;
	long long units_kept;
};

struct report_writes {
	struct report_write *v; /* by trace line, disk, write id */
	size_t n;
	bool recorded;          /* the database has the point's writes (schema 3) */
};

/* The writes pending at crash point `point`, each judged against survivor text. */
int report_writes_load(struct sqlite3 *db, long long point, const char *survivors,
		       struct report_writes *out);
void report_writes_free(struct report_writes *w);
/*
 * Whether write i gets a row of its own: all of them up to
 * REPORT_MAX_WRITE_ROWS; past that (thousands pending at a long trace's
 * marker) only the survivors, up to that many, and the rest are counted.
 * *shown counts the rows given so far.
 */
bool report_write_listed(const struct report_writes *ws, size_t i, size_t *shown);
/* Unit u of a torn write survived. */
bool report_unit_kept(const struct report_write *w, long long u);
/*
 * The sector runs of a torn write that survived (kept) or not, as text
 * "32, 37-38" (at most max_runs runs, then "..."), into buf.
 */
void report_torn_sectors(const struct report_write *w, bool kept, unsigned max_runs,
			 char *buf, size_t len);
/* "survived", "lost" or "torn: K of N units survived". */
void report_outcome_text(const struct report_write *w, char *buf, size_t len);

/* ---- HTML sections in their own files ---- */

void report_html_failures(struct sqlite3 *db, const struct report_sweeps *sw, FILE *out);
void report_html_traces(struct sqlite3 *db, const struct report_sweeps *sw, FILE *out);

#endif
