/*
 * cmd_db.c - `snapsim db merge OUT.db IN.db...`: combine state databases
 * (shards of one sweep, runs from several machines) into one.
 */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "statedb.h"

static void db_usage(FILE *out)
{
	fprintf(out, "usage: snapsim db merge OUT.db IN.db...\n"
		"  Copies every run, crash point, state, exception, evidence and coverage row\n"
		"  of each IN.db into OUT.db (created if needed), with ids renumbered.\n"
		"Exit: 0 merged, 1 a database could not be read or written, 2 usage.\n");
}

int cmd_db(int argc, char **argv)
{
	char err[512] = "";
	int r;

	if (argc >= 2 && cli_is_help(argv[1])) {
		db_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 4 || strcmp(argv[1], "merge")) {
		db_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], argv[2])) {
			fprintf(stderr, "snapsim db merge: %s is both the output and an input\n", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	r = statedb_merge(argv[2], (const char *const *)(argv + 3), (size_t)(argc - 3), err, sizeof(err));
	if (r) {
		fprintf(stderr, "snapsim db merge: %s\n", err[0] ? err : "failed");
		return CLI_EXIT_FAILURE;
	}
	printf("merged %d database%s into %s\n", argc - 3, argc == 4 ? "" : "s", argv[2]);
	return CLI_EXIT_OK;
}
