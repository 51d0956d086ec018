/*
 * check_cmd.h - `explore --check-cmd 'CMD {X} {X_snap}'`: an application
 * checker run on each crash state (explore.h, explore_opts.check).
 *
 * A placeholder is `{NAME}`, NAME made of letters, digits and `_.:+-`,
 * naming a disk or dm device of the trace; `{{` is a literal `{`; any
 * other `{` is literal. Per state, the named devices of the restarted
 * world are exported to files in a private temporary directory, hashed,
 * and the command runs through /bin/sh with each placeholder replaced by
 * its file's shell-quoted path. States whose named devices hold the same
 * bytes get the first one's verdict without running the command again.
 */
#ifndef SNAPSIM_CHECK_CMD_H
#define SNAPSIM_CHECK_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "explore.h"

#define CHECK_CMD_MAX_NAMES 16

struct check_cache_entry;

struct check_cmd {
	const char *text;                     /* as given */
	unsigned nr_names;                    /* distinct names, in order of first use */
	char names[CHECK_CMD_MAX_NAMES][128];
	double timeout_s;
	char dir[4096];                       /* the temporary directory, "" until made */
	struct check_cache_entry *cache;
	size_t nr_cache, cap_cache;
};

/* Parse text. 0, or -EINVAL with err naming what is wrong. */
int check_cmd_parse(struct check_cmd *cc, const char *text, double timeout_s,
		    char *err, size_t len);
/*
 * Whether every placeholder names a disk or dm device of the trace at
 * path: 0, 1 with err naming the first unknown one, or a negative errno
 * when the trace itself cannot be read or is invalid (the explorer then
 * reports it).
 */
int check_cmd_check_names(const struct check_cmd *cc, const char *path, char *err, size_t len);
/* explore_check_fn over a struct check_cmd. */
void check_cmd_state(void *ctx, struct replay_world *w, struct explore_check_result *out);
/* Remove the temporary directory (only what snapsim made in it) and free the cache. */
void check_cmd_finish(struct check_cmd *cc);

/* The options that repeat this checker in a repro line:
 * "--check-cmd 'TEXT' --check-timeout N", TEXT quoted for sh; malloc'd or NULL. */
char *check_cmd_repro(const struct check_cmd *cc);

/* One run of a shell command (check_run.c). */
struct check_run_result {
	bool timed_out;
	int exit_status;       /* -1: none */
	int signal;            /* 0: none */
	char output[EXPLORE_CHECK_OUTPUT_MAX];
	size_t output_len;
	uint64_t output_bytes;
};

/* Run cmd through /bin/sh -c with a time limit. 0, or a negative errno when it could not start. */
int check_run(const char *cmd, double timeout_s, struct check_run_result *out);

#endif
