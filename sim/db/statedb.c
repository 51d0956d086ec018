/*
 * statedb.c - the crash explorer's SQLite state database (statedb.h).
 *
 * Organisation: schema text, the schema version check every opener runs,
 * open/close with the prepared statements, one insert function per table.
 * Merging is statedb_merge.c.
 */
#include "statedb.h"
#include "statedb_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define STATEDB_STR_(x) #x
#define STATEDB_STR(x) STATEDB_STR_(x)

const char statedb_schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);\n"
	"CREATE TABLE IF NOT EXISTS runs(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  trace TEXT NOT NULL,\n"
	"  trace_name TEXT,\n"
	"  seed INTEGER NOT NULL,\n"
	"  options TEXT NOT NULL,\n"
	"  version TEXT NOT NULL,\n"
	"  started TEXT NOT NULL,\n"
	"  verdict TEXT,\n"
	"  points INTEGER,\n"
	"  states_checked INTEGER,\n"
	"  repro TEXT,\n"
	"  minimized TEXT);\n"
	"CREATE TABLE IF NOT EXISTS crash_points(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  run INTEGER NOT NULL REFERENCES runs(id),\n"
	"  seq INTEGER NOT NULL,\n"
	"  kind TEXT NOT NULL,\n"
	"  trace_line INTEGER,\n"
	"  label TEXT,\n"
	"  time_ns INTEGER,\n"
	"  states_total INTEGER NOT NULL,\n"
	"  states_checked INTEGER NOT NULL DEFAULT 0,\n"
	"  verdict TEXT,\n"
	"  torn_bits INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE TABLE IF NOT EXISTS states(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  point INTEGER NOT NULL REFERENCES crash_points(id),\n"
	"  hash TEXT NOT NULL,\n"
	"  survivors TEXT NOT NULL,\n"
	"  verdict TEXT NOT NULL,\n"
	"  cow_used INTEGER,\n"
	"  message TEXT,\n"
	"  repro TEXT);\n"
	"CREATE TABLE IF NOT EXISTS exceptions(\n"
	"  state INTEGER NOT NULL REFERENCES states(id),\n"
	"  device TEXT NOT NULL,\n"
	"  old_chunk INTEGER NOT NULL,\n"
	"  new_chunk INTEGER NOT NULL,\n"
	"  note TEXT);\n"
	"CREATE TABLE IF NOT EXISTS evidence(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  state INTEGER NOT NULL REFERENCES states(id),\n"
	"  device TEXT,\n"
	"  sector INTEGER,\n"
	"  nsectors INTEGER,\n"
	"  expected TEXT,\n"
	"  found TEXT,\n"
	"  message TEXT);\n"
	"CREATE TABLE IF NOT EXISTS coverage(\n"
	"  run INTEGER NOT NULL REFERENCES runs(id),\n"
	"  goal TEXT NOT NULL,\n"
	"  reached INTEGER NOT NULL,\n"
	"  point_seq INTEGER,\n"
	"  detail TEXT,\n"
	"  PRIMARY KEY(run, goal));\n"
	"CREATE TABLE IF NOT EXISTS writes(\n"
	"  point INTEGER NOT NULL REFERENCES crash_points(id),\n"
	"  disk TEXT NOT NULL,\n"
	"  write_id INTEGER NOT NULL,\n"
	"  trace_line INTEGER,\n"
	"  sector INTEGER NOT NULL,\n"
	"  nsectors INTEGER NOT NULL,\n"
	"  flags TEXT NOT NULL,\n"
	"  units INTEGER NOT NULL,\n"
	"  unit_sectors INTEGER NOT NULL,\n"
	"  PRIMARY KEY(point, disk, write_id));\n"
	/* An application checker's verdict on a state (explore --check-cmd). */
	"CREATE TABLE IF NOT EXISTS checks(\n"
	"  state INTEGER PRIMARY KEY REFERENCES states(id),\n"
	"  command TEXT NOT NULL,\n"
	"  verdict TEXT NOT NULL,\n"
	"  exit_status INTEGER,\n"
	"  signal INTEGER,\n"
	"  output TEXT,\n"
	"  output_bytes INTEGER,\n"
	"  content_hash TEXT,\n"
	"  reused INTEGER NOT NULL,\n"
	"  message TEXT,\n"
	"  repro TEXT);\n"
	/* What reports read: a state fails when the model or its checker says so;
	 * the model's own verdict stays in states.verdict. */
	"CREATE VIEW IF NOT EXISTS judged_states AS SELECT s.id AS id, s.point AS point,\n"
	"  s.hash AS hash, s.survivors AS survivors,\n"
	"  CASE WHEN s.verdict <> 'ok' OR c.verdict IS NULL OR c.verdict IN ('ok', 'skipped')\n"
	"       THEN s.verdict WHEN c.verdict = 'timeout' THEN 'timeout'\n"
	"       WHEN c.verdict = 'error' THEN 'crash' ELSE 'violation' END AS verdict,\n"
	"  s.verdict AS model_verdict, s.cow_used AS cow_used,\n"
	"  COALESCE(s.message, CASE WHEN c.verdict IN ('ok', 'skipped') THEN NULL ELSE c.message END)\n"
	"    AS message,\n"
	"  COALESCE(s.repro, CASE WHEN c.verdict IN ('ok', 'skipped') THEN NULL ELSE c.repro END)\n"
	"    AS repro\n"
	"  FROM states s LEFT JOIN checks c ON c.state = s.id;\n"
	"CREATE INDEX IF NOT EXISTS points_by_run ON crash_points(run, seq);\n"
	"CREATE INDEX IF NOT EXISTS states_by_point ON states(point);\n"
	"CREATE INDEX IF NOT EXISTS exceptions_by_state ON exceptions(state);\n"
	"CREATE INDEX IF NOT EXISTS evidence_by_state ON evidence(state);\n"
	"INSERT OR IGNORE INTO meta VALUES('schema_version', '"
	STATEDB_STR(STATEDB_SCHEMA_VERSION) "');\n";

enum statedb_stmt {
	ST_RUN_ADD = 0,
	ST_RUN_FINISH,
	ST_RUN_MIN,
	ST_POINT_ADD,
	ST_POINT_FINISH,
	ST_STATE_ADD,
	ST_EXC_ADD,
	ST_EVID_ADD,
	ST_COV_SET,
	ST_WRITE_ADD,
	ST_CHECK_ADD,
	ST_COUNT,
};

static const char *const statedb_sql[ST_COUNT] = {
	[ST_RUN_ADD] = "INSERT INTO runs(trace, trace_name, seed, options, version, started) "
		       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_RUN_FINISH] = "UPDATE runs SET verdict = ?2, points = ?3, states_checked = ?4, "
			  "repro = ?5, minimized = ?6 WHERE id = ?1",
	[ST_RUN_MIN] = "UPDATE runs SET minimized = ?2 WHERE id = ?1",
	[ST_POINT_ADD] = "INSERT INTO crash_points(run, seq, kind, trace_line, label, time_ns, "
			 "states_total, torn_bits) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_POINT_FINISH] = "UPDATE crash_points SET states_checked = ?2, verdict = ?3 WHERE id = ?1",
	[ST_STATE_ADD] = "INSERT INTO states(point, hash, survivors, verdict, cow_used, message, repro) "
			 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_EXC_ADD] = "INSERT INTO exceptions(state, device, old_chunk, new_chunk, note) "
		       "VALUES(?1, ?2, ?3, ?4, ?5)",
	[ST_EVID_ADD] = "INSERT INTO evidence(state, device, sector, nsectors, expected, found, message) "
			"VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_COV_SET] = "INSERT INTO coverage(run, goal, reached, point_seq, detail) "
		       "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(run, goal) DO UPDATE SET "
		       "reached = MAX(reached, excluded.reached), "
		       "point_seq = COALESCE(point_seq, excluded.point_seq), "
		       "detail = COALESCE(detail, excluded.detail)",
	[ST_WRITE_ADD] = "INSERT OR IGNORE INTO writes(point, disk, write_id, trace_line, sector, "
			 "nsectors, flags, units, unit_sectors) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_CHECK_ADD] = "INSERT INTO checks(state, command, verdict, exit_status, signal, output, "
			 "output_bytes, content_hash, reused, message, repro) "
			 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
};

struct statedb {
	sqlite3 *h;
	sqlite3_stmt *st[ST_COUNT];
	bool in_tx;
};

int statedb_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EINVAL;
	default:
		return -EIO;
	}
}

void statedb_set_err(char *err, size_t err_len, const char *what, sqlite3 *h)
{
	if (err && err_len)
		snprintf(err, err_len, "%s: %s", what, h ? sqlite3_errmsg(h) : "out of memory");
}

/* Clamp a u64 to SQLite's signed integers (counts saturate). */
static sqlite3_int64 statedb_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Step a bound insert/update; reset it. Returns 0 or a negative errno. */
static int statedb_step(struct statedb *db, enum statedb_stmt which)
{
	sqlite3_stmt *st = db->st[which];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : statedb_errno(rc);
}

static int64_t statedb_insert(struct statedb *db, enum statedb_stmt which)
{
	int r = statedb_step(db, which);

	return r ? r : (int64_t)sqlite3_last_insert_rowid(db->h);
}

/* The first column of the first row of sql as text (malloc'd), or NULL; *rc gets SQLite's code. */
static char *query_text(sqlite3 *h, const char *sql, int *rc)
{
	sqlite3_stmt *st;
	char *v = NULL;

	*rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
	if (*rc != SQLITE_OK)
		return NULL;
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		v = strdup(t ? (const char *)t : "");
		*rc = SQLITE_OK;
	} else if (*rc == SQLITE_DONE) {
		*rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return v;
}

int statedb_check_schema(sqlite3 *h, const char *path, char *err, size_t err_len)
{
	char *tables, *version;
	int rc, r;

	tables = query_text(h, "SELECT COUNT(*) FROM sqlite_master", &rc);
	if (rc != SQLITE_OK || !tables) {
		free(tables);
		if (err && err_len)
			snprintf(err, err_len, "%s: not a state database: %s", path,
				 rc == SQLITE_OK ? "out of memory" : sqlite3_errmsg(h));
		return rc == SQLITE_OK ? -ENOMEM : statedb_errno(rc) == -EBUSY ? -EBUSY : -EINVAL;
	}
	r = strcmp(tables, "0") ? 0 : 1;
	free(tables);
	if (r == 1)
		return 1; /* a new, empty file */
	version = query_text(h, "SELECT value FROM meta WHERE key = 'schema_version'", &rc);
	if (!version) {
		if (err && err_len)
			snprintf(err, err_len, "%s: not a snapsim state database (no meta.schema_version)",
				 path);
		return -EINVAL;
	}
	if (strcmp(version, STATEDB_STR(STATEDB_SCHEMA_VERSION))) {
		if (err && err_len)
			snprintf(err, err_len, "%s: state database schema version %.40s; this snapsim "
				 "reads version %d only", path, version, STATEDB_SCHEMA_VERSION);
		free(version);
		return -EINVAL;
	}
	free(version);
	return 0;
}

int statedb_open_readonly(const char *path, sqlite3 **out, char *err, size_t err_len)
{
	sqlite3 *h = NULL;
	int rc, r;

	*out = NULL;
	if (access(path, F_OK) != 0) {
		r = -errno;
		if (err && err_len)
			snprintf(err, err_len, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		statedb_set_err(err, err_len, path, h);
		sqlite3_close(h);
		return statedb_errno(rc);
	}
	sqlite3_busy_timeout(h, 5000);
	r = statedb_check_schema(h, path, err, err_len);
	if (r == 1) {
		if (err && err_len)
			snprintf(err, err_len, "%s: not a snapsim state database (empty)", path);
		r = -EINVAL;
	}
	if (r) {
		sqlite3_close(h);
		return r;
	}
	*out = h;
	return 0;
}

int statedb_open(const char *path, struct statedb **out, char *err, size_t err_len)
{
	struct statedb *db;
	int rc;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (!db) {
		statedb_set_err(err, err_len, path, NULL);
		return -ENOMEM;
	}
	rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		statedb_set_err(err, err_len, path, db->h);
		goto err_close;
	}
	sqlite3_busy_timeout(db->h, 5000);
	/* Refuse what is not ours, or another version, before writing to it. */
	rc = statedb_check_schema(db->h, path, err, err_len);
	if (rc < 0) {
		statedb_close(db);
		return rc;
	}
	rc = sqlite3_exec(db->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db->h, statedb_schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		statedb_set_err(err, err_len, path, db->h);
		goto err_close;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(db->h, statedb_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&db->st[i], NULL);
		if (rc != SQLITE_OK) {
			statedb_set_err(err, err_len, path, db->h);
			goto err_close;
		}
	}
	*out = db;
	return 0;

err_close:
	statedb_close(db);
	return statedb_errno(rc);
}

void statedb_close(struct statedb *db)
{
	if (!db)
		return;
	if (db->in_tx)
		statedb_commit(db);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->h);
	free(db);
}

int statedb_begin(struct statedb *db)
{
	int rc;

	if (db->in_tx)
		return 0;
	rc = sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return statedb_errno(rc);
	db->in_tx = true;
	return 0;
}

int statedb_commit(struct statedb *db)
{
	int rc;

	if (!db->in_tx)
		return 0;
	rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
	db->in_tx = false;
	return rc == SQLITE_OK ? 0 : statedb_errno(rc);
}

int64_t statedb_run_add(struct statedb *db, const struct statedb_run *r)
{
	sqlite3_stmt *st = db->st[ST_RUN_ADD];

	bind_text(st, 1, r->trace ? r->trace : "");
	bind_text(st, 2, r->trace_name);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->seed);
	bind_text(st, 4, r->options ? r->options : "");
	bind_text(st, 5, r->version ? r->version : "");
	bind_text(st, 6, r->started ? r->started : "");
	return statedb_insert(db, ST_RUN_ADD);
}

int statedb_run_finish(struct statedb *db, int64_t run, const char *verdict,
		       uint64_t points, uint64_t states_checked,
		       const char *repro, const char *minimized)
{
	sqlite3_stmt *st = db->st[ST_RUN_FINISH];

	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, verdict);
	sqlite3_bind_int64(st, 3, statedb_i64(points));
	sqlite3_bind_int64(st, 4, statedb_i64(states_checked));
	bind_text(st, 5, repro);
	bind_text(st, 6, minimized);
	return statedb_step(db, ST_RUN_FINISH);
}

int statedb_run_set_minimized(struct statedb *db, int64_t run, const char *path)
{
	sqlite3_stmt *st = db->st[ST_RUN_MIN];

	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, path);
	return statedb_step(db, ST_RUN_MIN);
}

int64_t statedb_point_add(struct statedb *db, const struct statedb_point *p)
{
	sqlite3_stmt *st = db->st[ST_POINT_ADD];

	sqlite3_bind_int64(st, 1, p->run);
	sqlite3_bind_int64(st, 2, statedb_i64(p->seq));
	bind_text(st, 3, p->kind ? p->kind : "");
	sqlite3_bind_int64(st, 4, p->trace_line);
	bind_text(st, 5, p->label);
	sqlite3_bind_int64(st, 6, statedb_i64(p->time_ns));
	sqlite3_bind_int64(st, 7, statedb_i64(p->states_total));
	sqlite3_bind_int64(st, 8, statedb_i64(p->torn_bits));
	return statedb_insert(db, ST_POINT_ADD);
}

int statedb_point_finish(struct statedb *db, int64_t point, uint64_t states_checked,
			 const char *verdict)
{
	sqlite3_stmt *st = db->st[ST_POINT_FINISH];

	sqlite3_bind_int64(st, 1, point);
	sqlite3_bind_int64(st, 2, statedb_i64(states_checked));
	bind_text(st, 3, verdict);
	return statedb_step(db, ST_POINT_FINISH);
}

int64_t statedb_state_add(struct statedb *db, const struct statedb_state *s)
{
	sqlite3_stmt *st = db->st[ST_STATE_ADD];
	char hash[17];

	snprintf(hash, sizeof(hash), "%016" PRIx64, s->hash);
	sqlite3_bind_int64(st, 1, s->point);
	bind_text(st, 2, hash);
	bind_text(st, 3, s->survivors ? s->survivors : "");
	bind_text(st, 4, s->verdict ? s->verdict : "ok");
	if (s->cow_used >= 0)
		sqlite3_bind_int64(st, 5, s->cow_used);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, s->message);
	bind_text(st, 7, s->repro);
	return statedb_insert(db, ST_STATE_ADD);
}

int statedb_exception_add(struct statedb *db, int64_t state, const char *device,
			  uint64_t old_chunk, uint64_t new_chunk, const char *note)
{
	sqlite3_stmt *st = db->st[ST_EXC_ADD];

	sqlite3_bind_int64(st, 1, state);
	bind_text(st, 2, device ? device : "");
	sqlite3_bind_int64(st, 3, statedb_i64(old_chunk));
	sqlite3_bind_int64(st, 4, statedb_i64(new_chunk));
	bind_text(st, 5, note);
	return statedb_step(db, ST_EXC_ADD);
}

int64_t statedb_evidence_add(struct statedb *db, const struct statedb_evidence *e)
{
	sqlite3_stmt *st = db->st[ST_EVID_ADD];

	sqlite3_bind_int64(st, 1, e->state);
	bind_text(st, 2, e->device);
	sqlite3_bind_int64(st, 3, statedb_i64(e->sector));
	sqlite3_bind_int64(st, 4, e->nsectors);
	bind_text(st, 5, e->expected);
	bind_text(st, 6, e->found);
	bind_text(st, 7, e->message);
	return statedb_insert(db, ST_EVID_ADD);
}

int statedb_coverage_set(struct statedb *db, int64_t run, const char *goal, bool reached,
			 int64_t point_seq, const char *detail)
{
	sqlite3_stmt *st = db->st[ST_COV_SET];

	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, goal);
	sqlite3_bind_int(st, 3, reached ? 1 : 0);
	if (reached && point_seq >= 0)
		sqlite3_bind_int64(st, 4, point_seq);
	else
		sqlite3_bind_null(st, 4);
	bind_text(st, 5, reached ? detail : NULL);
	return statedb_step(db, ST_COV_SET);
}

int statedb_write_add(struct statedb *db, const struct statedb_write *w)
{
	sqlite3_stmt *st = db->st[ST_WRITE_ADD];

	sqlite3_bind_int64(st, 1, w->point);
	bind_text(st, 2, w->disk ? w->disk : "");
	sqlite3_bind_int64(st, 3, statedb_i64(w->write_id));
	sqlite3_bind_int64(st, 4, w->trace_line);
	sqlite3_bind_int64(st, 5, statedb_i64(w->sector));
	sqlite3_bind_int64(st, 6, w->nsectors);
	bind_text(st, 7, w->flags ? w->flags : "");
	sqlite3_bind_int64(st, 8, w->units);
	sqlite3_bind_int64(st, 9, w->unit_sectors);
	return statedb_step(db, ST_WRITE_ADD);
}

int statedb_check_add(struct statedb *db, const struct statedb_check *c)
{
	sqlite3_stmt *st = db->st[ST_CHECK_ADD];
	char hash[17];

	snprintf(hash, sizeof(hash), "%016" PRIx64, c->content_hash);
	sqlite3_bind_int64(st, 1, c->state);
	bind_text(st, 2, c->command ? c->command : "");
	bind_text(st, 3, c->verdict ? c->verdict : "ok");
	if (c->exit_status >= 0)
		sqlite3_bind_int(st, 4, c->exit_status);
	else
		sqlite3_bind_null(st, 4);
	if (c->signal > 0)
		sqlite3_bind_int(st, 5, c->signal);
	else
		sqlite3_bind_null(st, 5);
	if (c->output)
		sqlite3_bind_text(st, 6, c->output, (int)c->output_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, statedb_i64(c->output_bytes));
	bind_text(st, 8, c->has_hash ? hash : NULL);
	sqlite3_bind_int(st, 9, c->reused ? 1 : 0);
	bind_text(st, 10, c->message);
	bind_text(st, 11, c->repro);
	return statedb_step(db, ST_CHECK_ADD);
}

const char *statedb_errmsg(const struct statedb *db)
{
	return sqlite3_errmsg(db->h);
}

struct sqlite3 *statedb_handle(struct statedb *db)
{
	return db->h;
}
