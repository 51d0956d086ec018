/*
 * commands.h - entry points of the snapsim verbs. Each takes the arguments
 * after its verb words (argv[0] is the last verb word) and returns the
 * process exit status.
 */
#ifndef SNAPSIM_COMMANDS_H
#define SNAPSIM_COMMANDS_H

#include <stdint.h>

/* snapsim table ... (cmd_table.c) */
int cmd_table(int argc, char **argv);
/* snapsim cow ... (cmd_cow.c) */
int cmd_cow(int argc, char **argv);
/* snapsim cow check ... (cmd_cow_check.c) */
int cmd_cow_check(int argc, char **argv);
/* snapsim cow export ... (cow_export.c) */
int cmd_cow_export(int argc, char **argv);

/* snapsim replay ... (cmd_replay.c) */
int cmd_replay(int argc, char **argv);

/* snapsim run ... (cmd_run.c) */
int cmd_run(int argc, char **argv);
/* snapsim import log-writes ... (cmd_import.c) */
int cmd_import(int argc, char **argv);

/* snapsim recipe ... (cmd_recipe.c) */
int cmd_recipe(int argc, char **argv);

/* snapsim explore ... (cmd_explore.c) */
int cmd_explore(int argc, char **argv);
/* snapsim report ... (cmd_report.c) */
int cmd_report(int argc, char **argv);
/* snapsim db merge ... (cmd_db.c) */
int cmd_db(int argc, char **argv);
/* snapsim check ... (cmd_check.c) */
int cmd_check(int argc, char **argv);
/* snapsim mount ... (cmd_mount.c) */
int cmd_mount(int argc, char **argv);
/* snapsim help ... (cmd_help.c): help, man pages, bash completion */
int cmd_help(int argc, char **argv);


#endif
