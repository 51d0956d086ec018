/*
 * test_statedb_doc.c - reports/README.md describes the state database
 * without a second copy of its schema: its table of tables must name
 * exactly the tables statedb_open creates, and every column it names as
 * `table.column` must exist, so a renamed or dropped table or column
 * fails here instead of leaving the README wrong.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statedb.h"

#define SECTION "## The state database\n"

static char *read_readme(void)
{
	FILE *f = fopen(SNAPSIM_SOURCE_DIR "/reports/README.md", "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "reports/README.md");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A database as the explorer creates it. */
static sqlite3 *fresh_db(char *path, size_t len)
{
	struct statedb *sdb;
	sqlite3 *db;
	char err[256];

	snprintf(path, len, "/tmp/snapsim-test-statedb-doc-%d.db", (int)getpid());
	unlink(path);
	cr_assert_eq(statedb_open(path, &sdb, err, sizeof(err)), 0, "%s", err);
	statedb_close(sdb);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static bool is_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool found;

	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
					-1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static bool is_column(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	bool found;

	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
					-1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The README section's table rows "| `NAME` | ..." name the schema's tables, each once, and no other. */
Test(statedb_doc, tables_match_the_schema)
{
	char path[256];
	sqlite3 *db = fresh_db(path, sizeof(path));
	char *text = read_readme(), *sec = strstr(text, SECTION), *end;
	sqlite3_stmt *st;
	unsigned rows = 0, tables = 0;

	cr_assert_not_null(sec, "reports/README.md has no section '%.*s'", (int)strlen(SECTION) - 1, SECTION);
	sec += strlen(SECTION);
	end = strstr(sec, "\n## ");
	if (end)
		*end = '\0';
	for (char *line = sec; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char name[64];

		if (sscanf(line, "| `%63[a-z_]` |", name) != 1)
			continue;
		rows++;
		cr_expect(is_table(db, name), "reports/README.md describes table '%s', which the schema lacks", name);
	}
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master "
					"WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
					-1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char row[80];

		tables++;
		snprintf(row, sizeof(row), "\n| `%s` |", name);
		cr_expect_eq(count(sec - 1, row), 1, "table '%s' of the schema is described %u times in "
			     "reports/README.md (once expected)", name, count(sec - 1, row));
	}
	sqlite3_finalize(st);
	cr_expect_eq(rows, tables, "reports/README.md describes %u tables, the schema has %u", rows, tables);
	free(text);
	sqlite3_close(db);
	unlink(path);
}

/* Every `table.column` in the README, with table one of the schema's, is a column of it. */
Test(statedb_doc, named_columns_exist)
{
	char path[256];
	sqlite3 *db = fresh_db(path, sizeof(path));
	char *text = read_readme();
	unsigned named = 0;

	for (const char *p = text; (p = strchr(p, '`')); p++) {
		char table[64], col[64], close;

		if (sscanf(p, "`%63[a-z_].%63[a-z_]%c", table, col, &close) != 3 || close != '`')
			continue;
		if (!is_table(db, table))
			continue; /* another dotted name (a struct field, a file) */
		named++;
		cr_expect(is_column(db, table, col), "reports/README.md names `%s.%s`, which the schema lacks",
			  table, col);
		p = strchr(p + 1, '`');
	}
	/* The README names columns this way; none found means the convention was lost. */
	cr_expect_gt(named, 10, "only %u `table.column` names in reports/README.md", named);
	free(text);
	sqlite3_close(db);
	unlink(path);
}
