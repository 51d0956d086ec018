/*
 * statedb_merge.c - `snapsim db merge`: state databases combined into one
 * (statedb.h). Every input is checked before anything is written; the
 * result is built in a temporary file beside the output (a copy of the
 * output when it exists, then ATTACH + INSERT ... SELECT of each input
 * with every id shifted past the largest id so far, so rows never collide
 * and references stay consistent) and renamed over the output at the end.
 */
#include "statedb.h"
#include "statedb_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

/*
 * Copy src.* into main.*, shifting ids: runs by R, points by P, states
 * by S, evidence by E (each the output's largest id before the copy).
 */
static const char statedb_merge_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS shift(r INTEGER, p INTEGER, s INTEGER, e INTEGER);\n"
	"DELETE FROM temp.shift;\n"
	"INSERT INTO temp.shift SELECT\n"
	"  (SELECT COALESCE(MAX(id), 0) FROM main.runs),\n"
	"  (SELECT COALESCE(MAX(id), 0) FROM main.crash_points),\n"
	"  (SELECT COALESCE(MAX(id), 0) FROM main.states),\n"
	"  (SELECT COALESCE(MAX(id), 0) FROM main.evidence);\n"
	"INSERT INTO main.runs SELECT id + (SELECT r FROM temp.shift), trace, trace_name, seed,\n"
	"  options, version, started, verdict, points, states_checked, repro, minimized\n"
	"  FROM src.runs;\n"
	"INSERT INTO main.crash_points SELECT id + (SELECT p FROM temp.shift),\n"
	"  run + (SELECT r FROM temp.shift), seq, kind, trace_line, label, time_ns,\n"
	"  states_total, states_checked, verdict, torn_bits FROM src.crash_points;\n"
	"INSERT INTO main.states SELECT id + (SELECT s FROM temp.shift),\n"
	"  point + (SELECT p FROM temp.shift), hash, survivors, verdict, cow_used, message, repro\n"
	"  FROM src.states;\n"
	"INSERT INTO main.exceptions SELECT state + (SELECT s FROM temp.shift), device,\n"
	"  old_chunk, new_chunk, note FROM src.exceptions;\n"
	"INSERT INTO main.evidence SELECT id + (SELECT e FROM temp.shift),\n"
	"  state + (SELECT s FROM temp.shift), device, sector, nsectors, expected, found, message\n"
	"  FROM src.evidence;\n"
	"INSERT INTO main.checks SELECT state + (SELECT s FROM temp.shift), command, verdict,\n"
	"  exit_status, signal, output, output_bytes, content_hash, reused, message, repro\n"
	"  FROM src.checks;\n"
	"INSERT INTO main.coverage SELECT run + (SELECT r FROM temp.shift), goal, reached,\n"
	"  point_seq, detail FROM src.coverage;\n"
	"INSERT INTO main.writes SELECT point + (SELECT p FROM temp.shift), disk, write_id,\n"
	"  trace_line, sector, nsectors, flags, units, unit_sectors FROM src.writes;\n";

static int set_errno_msg(char *err, size_t len, int r, const char *fmt, const char *path)
{
	if (err && len)
		snprintf(err, len, fmt, path, strerror(-r));
	return r;
}

/* An existing output with a write-ahead log: fold the log in first, so the
 * file renamed over it is not paired with a stale log. */
static int settle_output_wal(const char *out, char *err, size_t len)
{
	char wal[4200];
	sqlite3 *h = NULL;
	int rc;

	snprintf(wal, sizeof(wal), "%s-wal", out);
	if (access(wal, F_OK) != 0)
		return 0;
	rc = sqlite3_open_v2(out, &h, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		statedb_set_err(err, len, out, h);
	sqlite3_close(h); /* the last connection removes the log */
	if (rc != SQLITE_OK)
		return statedb_errno(rc);
	if (access(wal, F_OK) == 0) {
		if (err && len)
			snprintf(err, len, "%s: in use by another process (%s exists)", out, wal);
		return -EBUSY;
	}
	return 0;
}

/* Check every input (and an existing output) before anything is written. */
static int check_inputs(const char *out, const char *const *in, size_t n, bool *out_exists,
			char *err, size_t len)
{
	struct stat so, si;
	sqlite3 *h;
	int r;

	*out_exists = stat(out, &so) == 0;
	for (size_t i = 0; i < n; i++) {
		if (*out_exists && stat(in[i], &si) == 0 && si.st_dev == so.st_dev &&
		    si.st_ino == so.st_ino) {
			if (err && len)
				snprintf(err, len, "%s: is the output %s as well", in[i], out);
			return -EINVAL;
		}
		r = statedb_open_readonly(in[i], &h, err, len);
		if (r)
			return r;
		sqlite3_close(h);
	}
	if (!*out_exists)
		return 0;
	if (!S_ISREG(so.st_mode)) {
		if (err && len)
			snprintf(err, len, "%s: not a regular file", out);
		return -EINVAL;
	}
	r = settle_output_wal(out, err, len);
	if (r)
		return r;
	if (so.st_size == 0)
		return 0; /* an empty file is an empty database */
	r = statedb_open_readonly(out, &h, err, len);
	if (!r)
		sqlite3_close(h);
	return r;
}

/* The temporary output: ".NAME.snapsim-PID-N" beside out, created here (O_EXCL). */
static int make_temp(const char *out, char *tmp, size_t len)
{
	const char *slash = strrchr(out, '/');
	int dirlen = slash ? (int)(slash - out + 1) : 0;

	for (unsigned k = 0; k < 100; k++) {
		int fd;

		snprintf(tmp, len, "%.*s.%s.snapsim-%ld-%u", dirlen, out, slash ? slash + 1 : out,
			 (long)getpid(), k);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* The old output's rows, copied into the temporary first. */
static int copy_output(sqlite3 *dst, const char *out, char *err, size_t len)
{
	sqlite3 *src = NULL;
	sqlite3_backup *b;
	int rc = sqlite3_open_v2(out, &src, SQLITE_OPEN_READONLY, NULL);

	if (rc == SQLITE_OK) {
		b = sqlite3_backup_init(dst, "main", src, "main");
		if (!b) {
			statedb_set_err(err, len, out, dst);
			sqlite3_close(src);
			return -EIO;
		}
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	if (rc != SQLITE_OK)
		statedb_set_err(err, len, out, src);
	sqlite3_close(src);
	return rc == SQLITE_OK ? 0 : statedb_errno(rc);
}

static int merge_one(sqlite3 *h, const char *in, char *err, size_t len)
{
	sqlite3_stmt *st;
	char *msg = NULL;
	int rc = sqlite3_prepare_v2(h, "ATTACH DATABASE ?1 AS src", -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, in, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		statedb_set_err(err, len, in, h);
		return statedb_errno(rc);
	}
	rc = sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, statedb_merge_sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		if (err && len)
			snprintf(err, len, "%s: %s", in, msg ? msg : sqlite3_errmsg(h));
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_free(msg);
	sqlite3_exec(h, "DETACH DATABASE src", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : statedb_errno(rc);
}

/* fsync a file or a directory by path. */
static int sync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		r = -errno;
	close(fd);
	return r;
}

int statedb_merge(const char *out, const char *const *in, size_t n, char *err,
		  size_t err_len)
{
	return statedb_merge_each(out, in, n, NULL, NULL, err, err_len);
}

int statedb_merge_each(const char *out, const char *const *in, size_t n,
		       void (*on_input)(void *ctx, size_t k), void *ctx, char *err,
		       size_t err_len)
{
	char tmp[4300], dir[4300], journal[4400];
	bool out_exists;
	sqlite3 *h = NULL;
	const char *slash;
	int r, rc;

	r = check_inputs(out, in, n, &out_exists, err, err_len);
	if (r)
		return r;
	r = make_temp(out, tmp, sizeof(tmp));
	if (r)
		return set_errno_msg(err, err_len, r, "%s: cannot create a file beside it: %s", out);
	snprintf(journal, sizeof(journal), "%s-journal", tmp);
	rc = sqlite3_open_v2(tmp, &h, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		statedb_set_err(err, err_len, tmp, h);
		r = statedb_errno(rc);
		goto fail;
	}
	if (out_exists && (r = copy_output(h, out, err, err_len)))
		goto fail;
	/* A rollback journal: the file renamed into place is complete alone. */
	rc = sqlite3_exec(h, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, statedb_schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		statedb_set_err(err, err_len, tmp, h);
		r = statedb_errno(rc);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = merge_one(h, in[i], err, err_len)))
			goto fail;
		if (on_input)
			on_input(ctx, i + 1);
	}
	rc = sqlite3_close(h);
	h = NULL;
	if (rc != SQLITE_OK) {
		r = set_errno_msg(err, err_len, -EIO, "%s: cannot close: %s", tmp);
		goto fail;
	}
	if ((r = sync_path(tmp, false)))
		goto fail_msg;
	if (rename(tmp, out) != 0) {
		r = -errno;
		goto fail_msg;
	}
	slash = strrchr(out, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - out + (slash == out)) : 1,
		 slash ? out : ".");
	sync_path(dir, true); /* the rename is done; a failed directory sync loses nothing written */
	return 0;

fail_msg:
	set_errno_msg(err, err_len, r, "%s: cannot write: %s", out);
fail:
	sqlite3_close(h);
	unlink(tmp);
	unlink(journal);
	return r == -EINVAL || r == -ENOENT ? -EIO : r;
}
