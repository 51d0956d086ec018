/*
 * verbs.h - the verbs of the snapsim command: one table for dispatch, the
 * top-level usage, and the generated man pages and bash completion
 * (cmd_help.c), so that a verb added here is everywhere at once.
 */
#ifndef SNAPSIM_VERBS_H
#define SNAPSIM_VERBS_H

#include <stddef.h>
#include <stdio.h>

/* A leaf verb: the words that name it and what runs it. */
struct cli_leaf {
	const char *words;        /* "replay", "cow inspect" */
	const char *summary;      /* one line, for usage and the man page's NAME */
	int (*run)(int argc, char **argv); /* called with argv[0] = the first word */
};

extern const struct cli_leaf cli_leaves[];
extern const size_t cli_nr_leaves;

/* The leaf named by words[0..n-1] ("cow", "check"), or NULL. */
const struct cli_leaf *cli_find_leaf(char **words, int n, int *used);

/* `snapsim --help`: verbs, common options, the exit status table. */
void cli_top_usage(FILE *out);

/* Run the verb argv[0] (argv[0] = "replay", "cow", ...). */
int cli_dispatch(int argc, char **argv);

#endif
