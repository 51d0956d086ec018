/*
 * cli_opts.h - what every snapsim verb parses and reports the same way:
 * the options -h/--help, --version, -q/--quiet and --json; option values
 * (numbers, seed ranges); usage errors; errors with the input and position
 * they concern, printed for people on stderr and, with --json, as the JSON
 * error object on stdout (cli_json.h).
 *
 * Options are parsed with getopt_long. A verb lists its own options after
 * CLI_COMMON_OPTIONS (and CLI_JSON_OPTION if it reports), and loops:
 *
 *     struct cli_verb v = CLI_VERB("replay", usage);
 *     cli_begin(&v, argc, argv);
 *     while ((c = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END) {
 *         if (c == CLI_OPT_EXIT) return v.exit;   // help, version or usage error done
 *         ...                                     // the verb's own options; optarg
 *     }
 *     // positional arguments: argv[optind..argc-1]
 *
 * A usage error prints one line naming the option and what is wrong, then
 * a hint to --help (never the whole usage), and exits CLI_EXIT_USAGE
 * (cow check: 16).
 */
#ifndef SNAPSIM_CLI_OPTS_H
#define SNAPSIM_CLI_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_exit.h"
#include "cli_json.h"

#ifndef SNAPSIM_VERSION
#error "SNAPSIM_VERSION must be defined (CMakeLists.txt passes the project version)"
#endif
#define SNAPSIM_VERSION_TEXT "snapsim " SNAPSIM_VERSION

/* getopt_long values of the common options (the verbs' own use chars or >= 256). */
#define CLI_OPT_VERSION 0x1001
#define CLI_OPT_JSON    0x1002
#define CLI_OPT_END     (-1)
#define CLI_OPT_EXIT    (-2)   /* return v.exit: help or version printed, or a usage error */

#define CLI_COMMON_OPTIONS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, CLI_OPT_VERSION }, \
	{ "quiet", no_argument, NULL, 'q' }
#define CLI_JSON_OPTION { "json", no_argument, NULL, CLI_OPT_JSON }
#define CLI_OPTIONS_END { NULL, 0, NULL, 0 }

struct cli_verb {
	const char *name;            /* "replay", "cow inspect": messages begin "snapsim NAME: " */
	void (*help)(FILE *out);     /* prints the --help text */
	int usage_code;              /* exit status of a usage error */
	bool json;                   /* --json given */
	bool quiet;                  /* -q/--quiet given: errors only */
	int exit;                    /* after CLI_OPT_EXIT: the status to exit with */
};

#define CLI_VERB(name_, help_) { .name = (name_), .help = (help_), .usage_code = CLI_EXIT_USAGE }

/* The version line every verb prints for --version. */
void cli_print_version(FILE *out);

/* Prepare argv for cli_getopt; notes --json wherever it is, so that even
 * an error met before it is reported as JSON. */
void cli_begin(struct cli_verb *v, int argc, char **argv);
/*
 * The next option: its getopt value with optarg set (the verb's own
 * options), CLI_OPT_END after the last one (positionals are then
 * argv[optind..]), or CLI_OPT_EXIT. The common options are handled here.
 */
int cli_getopt(struct cli_verb *v, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/*
 * A usage error: prints "snapsim VERB: MESSAGE" and the hint to --help on
 * stderr, the JSON error with --json; returns v->usage_code.
 */
int cli_usage_error(struct cli_verb *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * An error with exit status code: human (the whole line, as people read
 * it, e.g. "trace.yaml:5:3: unknown key") goes to stderr, and with --json
 * the error object holds message (the cause alone) and where. Returns code.
 */
int cli_error(struct cli_verb *v, int code, const struct cli_json_where *where,
	      const char *message, const char *human);
/* The same with one formatted text for both. */
int cli_errorf(struct cli_verb *v, int code, const struct cli_json_where *where,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse a decimal u64 option value; a usage error naming opt otherwise. 0 or usage code. */
int cli_opt_u64(struct cli_verb *v, const char *opt, const char *val, uint64_t min,
		uint64_t max, uint64_t *out);
/* Parse "A..B" (A <= B) or a single "N". 0 or usage code. */
int cli_opt_range(struct cli_verb *v, const char *opt, const char *val, uint64_t *lo,
		  uint64_t *hi);

/* The exit status for a negative errno of an input (missing, unreadable, invalid: 3) or other (4). */
int cli_exit_for_input_errno(int err);

#endif
