/*
 * cli_exit.h - the exit status of every snapsim verb. One table, so that
 * one cause gives one code whichever verb meets it (scripts test $? once).
 *
 * The one exception is `snapsim cow check`, which keeps fsck(8)'s codes
 * (bits OR'd) because it is meant to sit where fsck sits: COW_CHECK_EXIT_*.
 */
#ifndef SNAPSIM_CLI_EXIT_H
#define SNAPSIM_CLI_EXIT_H

#define CLI_EXIT_OK      0 /* done; every check held */
#define CLI_EXIT_FAILED  1 /* a check or verification failed: the thing checked is wrong */
#define CLI_EXIT_USAGE   2 /* bad command line: unknown option, bad value, conflicting options */
#define CLI_EXIT_INPUT   3 /* an input file is missing or invalid: trace, table, COW image, database */
#define CLI_EXIT_IO      4 /* I/O or tool error: an output cannot be written, out of memory,
			      a fault inside the tool */
#define CLI_EXIT_INTERRUPTED 130 /* stopped by SIGINT/SIGTERM (128 + SIGINT, as a shell
				    reports it): the work done so far is written and marked
				    interrupted; it outranks every other code */

/* Older name of CLI_EXIT_FAILED, kept for callers not yet converted. */
#define CLI_EXIT_FAILURE CLI_EXIT_FAILED

/* cow check only: fsck(8). */
#define COW_CHECK_EXIT_OK          0
#define COW_CHECK_EXIT_CORRECTED   1
#define COW_CHECK_EXIT_UNCORRECTED 4
#define COW_CHECK_EXIT_OPERATIONAL 8
#define COW_CHECK_EXIT_USAGE       16

/* The table as `snapsim --help` and the man pages print it. */
#define CLI_EXIT_TABLE_TEXT \
	"Exit status (every verb; cow check alone keeps fsck(8)'s codes):\n" \
	"  0  ok: done, every check held\n" \
	"  1  a check failed (a read mismatched the model, a crash state broke,\n" \
	"     a property case failed)\n" \
	"  2  usage error (unknown option, bad value, conflicting options)\n" \
	"  3  bad input file (trace, table, COW image or database missing or invalid)\n" \
	"  4  I/O or tool error (an output cannot be written, out of memory, a\n" \
	"     fault inside snapsim)\n" \
	"  130  interrupted (SIGINT or SIGTERM; explore, check): what was done is\n" \
	"     written (the database, the summary) and marked interrupted\n"

#endif
