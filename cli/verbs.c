/* verbs.c - the verb table of the snapsim command; see verbs.h. */
#include "verbs.h"

#include <string.h>

#include "cli_opts.h"
#include "commands.h"

const struct cli_leaf cli_leaves[] = {
	{ "table check", "check a dm table and print it as dmsetup would", cmd_table },
	{ "cow inspect", "show a persistent COW store's header, areas and exceptions", cmd_cow },
	{ "cow check", "fsck for a persistent COW store (--repair)", cmd_cow },
	{ "cow export", "rebuild a snapshot's image from its origin and COW", cmd_cow },
	{ "replay", "run YAML traces through the simulator, every read checked against the model",
	  cmd_replay },
	{ "run", "execute a trace's steps on real image files (COW volumes Linux can activate)",
	  cmd_run },
	{ "import log-writes", "convert a Linux dm-log-writes log into a trace and its data file",
	  cmd_import },
	{ "recipe", "the eight-step snapshot recipe on image files, checked across a restart",
	  cmd_recipe },
	{ "explore", "crash-consistency explorer: power cuts over traces, checked states in a "
	  "database", cmd_explore },
	{ "report", "HTML and Markdown report from an explorer database", cmd_report },
	{ "check", "property tests (generated traces, your traces under crash exploration) for CI",
	  cmd_check },
	{ "db merge", "merge explorer databases (shards, runs from several machines)", cmd_db },
	{ "mount", "serve a trace's device stack as files over FUSE, record what programs do",
	  cmd_mount },
};
const size_t cli_nr_leaves = sizeof(cli_leaves) / sizeof(cli_leaves[0]);

const struct cli_leaf *cli_find_leaf(char **words, int n, int *used)
{
	for (size_t i = 0; i < cli_nr_leaves; i++) {
		const char *w = cli_leaves[i].words, *sp = strchr(w, ' ');

		if (!sp && n >= 1 && !strcmp(words[0], w)) {
			*used = 1;
			return &cli_leaves[i];
		}
		if (sp && n >= 2 && !strncmp(words[0], w, (size_t)(sp - w)) &&
		    words[0][sp - w] == '\0' && !strcmp(words[1], sp + 1)) {
			*used = 2;
			return &cli_leaves[i];
		}
	}
	return NULL;
}

void cli_top_usage(FILE *out)
{
	fputs("usage: snapsim VERB [ARGS]...\n"
	      "       snapsim help [VERB] | --help | --version\n"
	      "\n"
	      "A userspace device-mapper stack (linear, zero, error, snapshot-origin,\n"
	      "snapshot, snapshot-merge; Linux's persistent COW format), a deterministic\n"
	      "simulator of disks and power cuts, and a crash-consistency explorer.\n"
	      "\n"
	      "Verbs:\n", out);
	for (size_t i = 0; i < cli_nr_leaves; i++)
		fprintf(out, "  %-17s  %s\n", cli_leaves[i].words, cli_leaves[i].summary);
	fputs("\n"
	      "Run `snapsim VERB --help` (e.g. `snapsim cow check --help`) for a verb's\n"
	      "options, or read its manual page snapsim-VERB(1) (snapsim-cow-check(1)).\n"
	      "\n"
	      "Options of every verb:\n"
	      "  -h, --help     print the verb's help and exit\n"
	      "  --version      print the version and exit\n"
	      "  -q, --quiet    print errors only (and failures, where the verb checks)\n"
	      "  --json         (replay, explore, check, cow inspect, cow check, db merge,\n"
	      "                 table check, report) one JSON object on stdout; an error\n"
	      "                 is its member \"error\": {\"code\", \"message\", and \"input\",\n"
	      "                 \"line\", \"column\" where known}\n"
	      "\n" CLI_EXIT_TABLE_TEXT, out);
}

int cli_dispatch(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} tops[] = {
		{ "table", cmd_table }, { "cow", cmd_cow }, { "replay", cmd_replay },
		{ "recipe", cmd_recipe }, { "explore", cmd_explore }, { "report", cmd_report },
		{ "check", cmd_check }, { "db", cmd_db }, { "mount", cmd_mount },
		{ "run", cmd_run }, { "import", cmd_import },
	};

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
		if (!strcmp(argv[0], tops[i].name))
			return tops[i].run(argc, argv);
	fprintf(stderr, "snapsim: unknown verb '%s' (try snapsim --help)\n", argv[0]);
	return CLI_EXIT_USAGE;
}
