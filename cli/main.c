/*
 * main.c - the snapsim command: the top-level options, `snapsim help`
 * (cmd_help.c), and the verbs (verbs.c). Each verb parses its own options
 * (cli_opts.h); every exit status comes from cli_exit.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "verbs.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_top_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[1])) {
		cli_top_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		cli_print_version(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return cmd_help(argc - 1, argv + 1);
	return cli_dispatch(argc - 1, argv + 1);
}
