/*
 * main.c - the snapsim command: verb dispatch. Each verb lives in its own
 * cmd_*.c and prints its own usage; usage errors exit with 2 (cow check:
 * 16, following fsck(8)).
 */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} verbs[] = {
	{ "table", cmd_table, "table check    check a dm table and print it as dmsetup would" },
	{ "cow", cmd_cow, "cow inspect    show a persistent COW store's header, areas and exceptions\n"
			  "  cow check      fsck for a persistent COW store (--repair)\n"
			  "  cow export     rebuild a snapshot's image from its origin and COW" },
	{ "replay", cmd_replay, "replay         run YAML traces through the simulator, every read checked against the model" },
	{ "recipe", cmd_recipe, "recipe         the eight-step snapshot recipe on image files, checked across a restart" },
	{ "explore", cmd_explore, "explore        crash-consistency explorer: power cuts over traces, checked states in a database" },
	{ "report", cmd_report, "report         HTML and Markdown report from an explorer database" },
	{ "check", cmd_check, "check          property tests (generated traces, your traces under crash exploration) for CI: JUnit/TAP" },
	{ "db", cmd_db, "db merge       merge explorer databases (shards, runs from several machines)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: snapsim VERB [ARGS]...\n\nVerbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %s\n", verbs[i].summary);
	fprintf(out, "\nRun `snapsim VERB --help` (e.g. `snapsim cow check --help`) "
		"for a verb's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("snapsim 0.1.0\n");
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "snapsim: unknown verb '%s' (try snapsim --help)\n", argv[1]);
	return CLI_EXIT_USAGE;
}
