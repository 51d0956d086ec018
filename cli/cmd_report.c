/*
 * cmd_report.c - `snapsim report --db FILE -o DIR`: render a state
 * database as DIR/report.html (self-contained) and DIR/report.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "cli_util.h"
#include "commands.h"
#include "report.h"

static void report_usage(FILE *out)
{
	fprintf(out, "usage: snapsim report --db FILE -o DIR\n"
		"  Writes DIR/report.html (one file: inline CSS and SVG, no JavaScript)\n"
		"  and DIR/report.md from the explorer's state database alone.\n"
		"Exit: 0 written, 1 the database cannot be read, 2 usage.\n");
}

int cmd_report(int argc, char **argv)
{
	const char *db_path = NULL, *dir = NULL, *v;
	char path[4096];
	sqlite3 *db = NULL;
	FILE *f;
	int used, r = 0;

	for (int i = 1; i < argc; i += used) {
		used = 1;
		if (cli_is_help(argv[i])) {
			report_usage(stdout);
			return CLI_EXIT_OK;
		} else if (cli_long_opt("--db", argc, argv, i, &v, &used) && v) {
			db_path = v;
		} else if ((cli_long_opt("--out", argc, argv, i, &v, &used) ||
			    (!strcmp(argv[i], "-o") && (v = i + 1 < argc ? argv[i + 1] : NULL, used = 2))) && v) {
			dir = v;
		} else {
			fprintf(stderr, "snapsim report: unexpected argument '%s'\n", argv[i]);
			report_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (!db_path || !dir) {
		report_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "SELECT id FROM runs LIMIT 0", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "snapsim report: %s: %s\n", db_path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return CLI_EXIT_FAILURE;
	}
	if (mkdir(dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "snapsim report: %s: %s\n", dir, strerror(errno));
		sqlite3_close(db);
		return CLI_EXIT_FAILURE;
	}
	for (int k = 0; k < 2 && !r; k++) {
		snprintf(path, sizeof(path), "%s/report.%s", dir, k ? "md" : "html");
		f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "snapsim report: %s: %s\n", path, strerror(errno));
			r = -errno;
			break;
		}
		r = k ? report_write_md(db, db_path, f) : report_write_html(db, db_path, f);
		if (fclose(f) && !r)
			r = -EIO;
		if (r)
			fprintf(stderr, "snapsim report: %s: %s\n", path, strerror(-r));
		else
			printf("%s\n", path);
	}
	sqlite3_close(db);
	return r ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
