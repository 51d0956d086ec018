/*
 * cmd_db.c - `snapsim db merge OUT.db IN.db...`: combine state databases
 * (shards of one sweep, runs from several machines) into one. Every input
 * is checked first and OUT is replaced at the end in one rename
 * (statedb_merge), so a failed merge leaves no partial OUT.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "run_ctl.h"
#include "statedb.h"

static void db_usage(FILE *out)
{
	fputs("usage: snapsim db merge OUT.db IN.db... [-q] [--json]\n"
	      "\n"
	      "Copy every run, crash point, state, exception, evidence and coverage row\n"
	      "of each IN.db into OUT.db, with ids renumbered. OUT.db is created if\n"
	      "missing; an existing one keeps its rows. Every database must be a snapsim\n"
	      "state database of this schema version. The merge is built in a temporary\n"
	      "file beside OUT.db and renamed over it at the end: on any error OUT.db is\n"
	      "as it was (or still absent). On a terminal, merges that take more than\n"
	      "2 s show a progress line (inputs merged, inputs/s, ETA).\n"
	      "\n"
	      "Options:\n"
	      "  -q, --quiet   print errors only (no progress line)\n"
	      "  --json        one JSON object on stdout: the merge, or the error\n"
	      "  --version     print the version and exit\n"
	      "  -h, --help    print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  merged\n"
	      "  2  usage error\n"
	      "  3  an input (or OUT.db) is missing, not a state database, or of another\n"
	      "     schema version\n"
	      "  4  I/O error: OUT.db cannot be written\n", out);
}

/* statedb_merge_each's progress: inputs merged. */
static void on_input(void *ctx, size_t k)
{
	run_ctl_update(ctx, k, k, 0);
}

int cmd_db(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION, CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("db merge", db_usage);
	char err[4600] = "";
	struct run_ctl ctl;
	const char *out;
	int r, opt, n;

	if (argc >= 2 && !strcmp(argv[1], "merge")) {
		argc--;
		argv++;
	} else if (argc >= 2 && argv[1][0] != '-') {
		struct cli_verb top = CLI_VERB("db", db_usage);

		return cli_usage_error(&top, "unknown verb '%s' (merge)", argv[1]);
	} else if (argc < 2 || (strcmp(argv[1], "--help") && strcmp(argv[1], "-h") &&
				strcmp(argv[1], "--version"))) {
		struct cli_verb top = CLI_VERB("db", db_usage);

		return cli_usage_error(&top, "missing verb (merge)");
	}
	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END)
		if (opt == CLI_OPT_EXIT)
			return v.exit;
	n = argc - optind - 1;
	if (n < 1)
		return cli_usage_error(&v, optind < argc ? "no IN.db given" : "no OUT.db given");
	out = argv[optind];
	for (int i = optind + 1; i < argc; i++)
		if (!strcmp(argv[i], out))
			return cli_usage_error(&v, "%s is both the output and an input", out);
	run_ctl_begin(&ctl, progress_wanted(STDERR_FILENO, v.quiet), "db merge:", (uint64_t)n,
		      "inputs", "inputs", NULL);
	r = statedb_merge_each(out, (const char *const *)(argv + optind + 1), (size_t)n,
			       on_input, &ctl, err, sizeof(err));
	run_ctl_end(&ctl);
	if (r) {
		int code = r == -EINVAL || r == -ENOENT ? CLI_EXIT_INPUT : CLI_EXIT_IO;
		struct cli_json_where where = { 0 };

		/* The database the message names ("PATH: ..."), for --json's "input". */
		for (int i = optind; i < argc && !where.input; i++) {
			size_t k = strlen(argv[i]);

			if (!strncmp(err, argv[i], k) && err[k] == ':')
				where.input = argv[i];
		}
		return cli_errorf(&v, code, where.input ? &where : NULL, "%s",
				  err[0] ? err : strerror(-r));
	}
	if (v.json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_kstr(&j, "verb", "db merge");
		cli_json_kstr(&j, "output", out);
		cli_json_key(&j, "inputs");
		cli_json_open_array(&j);
		for (int i = optind + 1; i < argc; i++)
			cli_json_str(&j, argv[i]);
		cli_json_close(&j);
		cli_json_kint(&j, "exit_code", CLI_EXIT_OK);
		cli_json_end(&j);
	} else if (!v.quiet) {
		printf("merged %d database%s into %s\n", n, n == 1 ? "" : "s", out);
	}
	return CLI_EXIT_OK;
}
