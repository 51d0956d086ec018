/*
 * cmd_report.c - `snapsim report --db FILE -o DIR`: render a state
 * database as DIR/report.html (self-contained) and DIR/report.md. The
 * database is opened read-only and must be of this schema version
 * (statedb_open_readonly).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli_opts.h"
#include "out_file.h"
#include "cli_util.h"
#include "commands.h"
#include "report.h"
#include "statedb.h"

static void report_usage(FILE *out)
{
	fputs("usage: snapsim report --db FILE -o DIR [-q] [--json]\n"
	      "\n"
	      "Write DIR/report.html (one file: inline CSS and SVG, no JavaScript) and\n"
	      "DIR/report.md from the explorer's state database alone. DIR is created\n"
	      "if missing.\n"
	      "\n"
	      "Options:\n"
	      "  --db FILE        the state database (snapsim explore --db); required\n"
	      "  -o, --out DIR    the directory to write report.html and report.md in;\n"
	      "                   required\n"
	      "  -q, --quiet      print errors only (not the paths written)\n"
	      "  --json           one JSON object on stdout: the files written, or the error\n"
	      "  --version        print the version and exit\n"
	      "  -h, --help       print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  written\n"
	      "  2  usage error\n"
	      "  3  the database is missing, not a state database, or of another schema\n"
	      "     version\n"
	      "  4  I/O error: DIR or a report cannot be written\n", out);
}

int cmd_report(int argc, char **argv)
{
	enum { OPT_DB = 0x100 };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "db", required_argument, NULL, OPT_DB },
		{ "out", required_argument, NULL, 'o' },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("report", report_usage);
	const char *db_path = NULL, *dir = NULL;
	char path[2][4096], err[4400];
	sqlite3 *db = NULL;
	FILE *f;
	int opt, r = 0;

	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "o:", longopts)) != CLI_OPT_END) {
		if (opt == CLI_OPT_EXIT)
			return v.exit;
		if (opt == OPT_DB)
			db_path = optarg;
		else if (opt == 'o')
			dir = optarg;
	}
	if (optind < argc)
		return cli_usage_error(&v, "unexpected argument '%s'", argv[optind]);
	if (!db_path || !dir)
		return cli_usage_error(&v, "missing %s", !db_path ? "--db FILE" : "-o DIR");
	r = statedb_open_readonly(db_path, &db, err, sizeof(err));
	if (r)
		return cli_errorf(&v, cli_exit_for_input_errno(r),
				  &(struct cli_json_where){ .input = db_path }, "%s", err);
	if (mkdir(dir, 0777) && errno != EEXIST) {
		r = errno;
		sqlite3_close(db);
		return cli_errorf(&v, CLI_EXIT_IO, &(struct cli_json_where){ .input = dir },
				  "%s: cannot create: %s", dir, strerror(r));
	}
	for (int k = 0; k < 2; k++) {
		snprintf(path[k], sizeof(path[k]), "%s/report.%s", dir, k ? "md" : "html");
		/* Regenerated in place of an older report, through a temporary
		 * renamed at the end, so a failure never leaves half a report. */
		struct out_file of;
		struct out_file_opts oo = { .force = true };
		int fd = -1;

		r = out_file_open(&of, path[k], &oo);
		if (!r && (fd = dup(of.fd)) < 0)
			r = -errno;
		f = !r ? fdopen(fd, "w") : NULL;
		if (!r && !f) {
			r = -errno;
			close(fd);
		}
		if (!r) {
			r = k ? report_write_md(db, db_path, f) : report_write_html(db, db_path, f);
			if (fclose(f) && !r)
				r = -EIO;
		}
		if (!r)
			r = out_file_commit(&of);
		if (r) {
			char msg[OUT_FILE_MSG_MAX + 64];

			snprintf(msg, sizeof(msg), "%s", of.msg[0] ? of.msg : strerror(-r));
			out_file_close(&of);
			sqlite3_close(db);
			return cli_errorf(&v, CLI_EXIT_IO, &(struct cli_json_where){ .input = path[k] },
					  "%s: %s", path[k], msg);
		}
		out_file_close(&of);
		if (!v.quiet && !v.json)
			printf("%s\n", path[k]);
	}
	sqlite3_close(db);
	if (v.json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_kstr(&j, "verb", "report");
		cli_json_kstr(&j, "database", db_path);
		cli_json_kstr(&j, "html", path[0]);
		cli_json_kstr(&j, "markdown", path[1]);
		cli_json_kint(&j, "exit_code", CLI_EXIT_OK);
		cli_json_end(&j);
	}
	return CLI_EXIT_OK;
}
