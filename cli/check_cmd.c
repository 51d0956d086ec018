/*
 * check_cmd.c - `explore --check-cmd` (check_cmd.h): the command template
 * and its placeholders, their names checked against a trace before
 * anything runs, and the checker the explorer calls per state: export the
 * named devices (replay_world_save_fd) into a private temporary
 * directory, reuse the verdict of identical contents, else run the command
 * (check_run.c) and judge its exit status.
 *
 * Organisation: template; names in a trace; the per-state checker; cleanup.
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include "check_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "replay.h"
#include "trace.h"

/* ------------------------------------------------------------------ */
/* Template                                                             */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == ':' || c == '+' || c == '-';
}

/* The length of the placeholder name at p (just after '{'), 0 when it is not one. */
static size_t placeholder_len(const char *p)
{
	size_t n = 0;

	while (name_char(p[n]))
		n++;
	return n && p[n] == '}' ? n : 0;
}

int check_cmd_parse(struct check_cmd *cc, const char *text, double timeout_s,
		    char *err, size_t len)
{
	memset(cc, 0, sizeof(*cc));
	cc->text = text;
	cc->timeout_s = timeout_s;
	for (const char *p = text; *p; p++) {
		size_t n;
		unsigned i;

		if (p[0] == '{' && p[1] == '{') {
			p++;
			continue;
		}
		if (p[0] != '{' || !(n = placeholder_len(p + 1)))
			continue;
		if (n >= sizeof(cc->names[0])) {
			snprintf(err, len, "--check-cmd: placeholder {%.*s...} is longer than a "
				 "device name", 40, p + 1);
			return -EINVAL;
		}
		for (i = 0; i < cc->nr_names; i++)
			if (strlen(cc->names[i]) == n && !strncmp(cc->names[i], p + 1, n))
				break;
		if (i == cc->nr_names) {
			if (cc->nr_names == CHECK_CMD_MAX_NAMES) {
				snprintf(err, len, "--check-cmd: more than %d devices named",
					 CHECK_CMD_MAX_NAMES);
				return -EINVAL;
			}
			snprintf(cc->names[cc->nr_names++], sizeof(cc->names[0]), "%.*s", (int)n, p + 1);
		}
		p += n + 1;
	}
	if (!cc->nr_names) {
		snprintf(err, len, "--check-cmd '%s': names no device (write {NAME} for the path of "
			 "a disk or dm device of the trace)", text);
		return -EINVAL;
	}
	return 0;
}

/* Append s to a growing buffer; false when out of memory. */
static bool put(char **buf, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (*n + len + 1 > *cap) {
		size_t c = (*n + len + 1) * 2;
		char *b = realloc(*buf, c);

		if (!b)
			return false;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *n, s, len);
	*n += len;
	(*buf)[*n] = 0;
	return true;
}

/* path in single quotes, each ' as '\'' (POSIX sh). */
static bool put_quoted(char **buf, size_t *n, size_t *cap, const char *path)
{
	if (!put(buf, n, cap, "'", 1))
		return false;
	for (const char *p = path; *p; p++)
		if (!(*p == '\'' ? put(buf, n, cap, "'\\''", 4) : put(buf, n, cap, p, 1)))
			return false;
	return put(buf, n, cap, "'", 1);
}

char *check_cmd_repro(const struct check_cmd *cc)
{
	char *buf = NULL, tail[48];
	size_t n = 0, cap = 0;

	snprintf(tail, sizeof(tail), " --check-timeout %.0f", cc->timeout_s);
	if (put(&buf, &n, &cap, "--check-cmd ", 12) && put_quoted(&buf, &n, &cap, cc->text) &&
	    put(&buf, &n, &cap, tail, strlen(tail)))
		return buf;
	free(buf);
	return NULL;
}

/* The command with each placeholder replaced by paths[its name's index]; malloc'd or NULL. */
static char *expand(const struct check_cmd *cc, char paths[][4352])
{
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!put(&buf, &n, &cap, "", 0))
		return NULL;
	for (const char *p = cc->text; *p; p++) {
		size_t k;
		bool ok = true;

		if (p[0] == '{' && p[1] == '{') {
			ok = put(&buf, &n, &cap, "{", 1);
			p++;
		} else if (p[0] == '{' && (k = placeholder_len(p + 1))) {
			for (unsigned i = 0; i < cc->nr_names; i++)
				if (strlen(cc->names[i]) == k && !strncmp(cc->names[i], p + 1, k))
					ok = put_quoted(&buf, &n, &cap, paths[i]);
			p += k + 1;
		} else {
			ok = put(&buf, &n, &cap, p, 1);
		}
		if (!ok) {
			free(buf);
			return NULL;
		}
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* Names in a trace                                                     */

struct names_ctx {
	const struct check_cmd *cc;
	bool found[CHECK_CMD_MAX_NAMES];
};

static void mark(struct names_ctx *nc, const char *name)
{
	for (unsigned i = 0; name && i < nc->cc->nr_names; i++)
		if (!strcmp(nc->cc->names[i], name))
			nc->found[i] = true;
}

static int names_step(void *ctx, const struct trace_header *hdr, const struct trace_step *step,
		      struct trace_error *err)
{
	struct names_ctx *nc = ctx;

	(void)err;
	for (unsigned i = 0; i < hdr->nr_disks; i++)
		mark(nc, hdr->disks[i].name);
	if (step->kind == TRACE_STEP_DM && step->u.dm.verb == TRACE_DM_CREATE)
		mark(nc, step->u.dm.name);
	return 0;
}

int check_cmd_check_names(const struct check_cmd *cc, const char *path, char *err, size_t len)
{
	struct names_ctx nc = { .cc = cc };
	struct trace_check_hooks hooks = { .step = names_step, .ctx = &nc };
	struct trace_reader *tr = NULL;
	struct trace_error terr;
	int r;

	trace_error_clear(&terr);
	r = trace_open(path, TRACE_EXPAND_ONCE, &tr, &terr);
	if (r)
		return r;
	for (unsigned i = 0; i < trace_header(tr)->nr_disks; i++)
		mark(&nc, trace_header(tr)->disks[i].name);
	trace_close(tr);
	r = trace_check(path, &hooks, NULL, &terr);
	if (r)
		return r;
	for (unsigned i = 0; i < cc->nr_names; i++) {
		if (!nc.found[i]) {
			snprintf(err, len, "--check-cmd: {%s} names no disk or dm device of %s "
				 "(write {{ for a literal {)", cc->names[i], path);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The per-state checker                                                */

struct check_cache_entry {
	uint64_t hash;
	struct explore_check_result *res;
};

/* Make the private directory on first use. */
static int make_dir(struct check_cmd *cc)
{
	const char *tmp = getenv("TMPDIR");

	if (cc->dir[0])
		return 0;
	snprintf(cc->dir, sizeof(cc->dir), "%s/snapsim-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(cc->dir)) {
		int r = -errno;

		cc->dir[0] = 0;
		return r;
	}
	return 0;
}

/* The file name of device name: its characters, '/' and leading '.' made '_'. */
static void file_name(const struct check_cmd *cc, unsigned i, char *out, size_t len)
{
	char base[160];
	size_t k = 0;

	for (const char *p = cc->names[i]; *p && k < sizeof(base) - 1; p++, k++)
		base[k] = (*p == '/' || (k == 0 && *p == '.')) ? '_' : *p;
	base[k] = 0;
	snprintf(out, len, "%s/%s.img", cc->dir, base);
}

static struct explore_check_result *cache_find(struct check_cmd *cc, uint64_t h)
{
	for (size_t i = 0; i < cc->nr_cache; i++)
		if (cc->cache[i].hash == h)
			return cc->cache[i].res;
	return NULL;
}

/* Keep a copy of out under h; a full memory only costs the reuse. */
static void cache_add(struct check_cmd *cc, uint64_t h, const struct explore_check_result *out)
{
	struct explore_check_result *c;

	if (cc->nr_cache == cc->cap_cache) {
		size_t cap = cc->cap_cache ? 2 * cc->cap_cache : 16;
		struct check_cache_entry *n = realloc(cc->cache, cap * sizeof(*n));

		if (!n)
			return;
		cc->cache = n;
		cc->cap_cache = cap;
	}
	c = malloc(sizeof(*c));
	if (!c)
		return;
	*c = *out;
	cc->cache[cc->nr_cache].hash = h;
	cc->cache[cc->nr_cache++].res = c;
}

/* Run the expanded command and judge it. */
static void run(struct check_cmd *cc, char paths[][4352], struct explore_check_result *out)
{
	struct check_run_result *rr = malloc(sizeof(*rr));
	char *cmd = expand(cc, paths);
	int r;

	if (!rr || !cmd) {
		out->verdict = EXPLORE_CHECK_ERROR;
		snprintf(out->message, sizeof(out->message), "check command not run: out of memory");
		goto out;
	}
	r = check_run(cmd, cc->timeout_s, rr);
	if (r) {
		out->verdict = EXPLORE_CHECK_ERROR;
		snprintf(out->message, sizeof(out->message), "check command not run: %s",
			 strerror(-r));
		goto out;
	}
	memcpy(out->output, rr->output, rr->output_len);
	out->output_len = rr->output_len;
	out->output_bytes = rr->output_bytes;
	out->exit_status = rr->exit_status;
	out->signal = rr->signal;
	if (rr->timed_out) {
		out->verdict = EXPLORE_CHECK_TIMEOUT;
		snprintf(out->message, sizeof(out->message), "check command timed out after %g s "
			 "(killed): %.200s", cc->timeout_s, cc->text);
	} else if (rr->exit_status == 0) {
		out->verdict = EXPLORE_CHECK_OK;
	} else {
		out->verdict = EXPLORE_CHECK_FAILED;
		if (rr->signal)
			/* The name too: the failure signature keeps it, numbers it does not. */
			snprintf(out->message, sizeof(out->message), "check command killed by "
				 "signal %d (SIG%s): %.400s", rr->signal,
				 sigabbrev_np(rr->signal) ? sigabbrev_np(rr->signal) : "?", cc->text);
		else
			snprintf(out->message, sizeof(out->message), "check command exited with "
				 "status %d: %.400s", rr->exit_status, cc->text);
	}
out:
	free(cmd);
	free(rr);
}

void check_cmd_state(void *ctx, struct replay_world *w, struct explore_check_result *out)
{
	struct check_cmd *cc = ctx;
	struct replay_dev_desc *devs = NULL;
	char (*paths)[4352] = calloc(CHECK_CMD_MAX_NAMES, sizeof(*paths));
	bool made[CHECK_CMD_MAX_NAMES] = { 0 };
	struct stat made_st[CHECK_CMD_MAX_NAMES];
	const struct explore_check_result *hit;
	uint64_t h = SIM_FNV1A_INIT;
	unsigned nd = 0, i;
	int r;

	memset(out, 0, sizeof(*out));
	out->exit_status = -1;
	if (!paths || replay_world_devices(w, &devs, &nd)) {
		out->verdict = EXPLORE_CHECK_ERROR;
		snprintf(out->message, sizeof(out->message), "check command not run: out of memory");
		goto out;
	}
	/* A device this state lacks (not created yet, or its table did not come back). */
	for (i = 0; i < cc->nr_names; i++) {
		unsigned k;

		for (k = 0; k < nd && strcmp(devs[k].name, cc->names[i]); k++)
			;
		if (k == nd || !devs[k].readable) {
			out->verdict = EXPLORE_CHECK_SKIPPED;
			snprintf(out->message, sizeof(out->message), "check command not run: %s %s in "
				 "this state", cc->names[i], k == nd ? "does not exist" :
				 devs[k].has_table ? "is suspended" : "has no live table");
			goto out;
		}
	}
	r = make_dir(cc);
	if (r) {
		out->verdict = EXPLORE_CHECK_ERROR;
		snprintf(out->message, sizeof(out->message), "check command not run: cannot make "
			 "a temporary directory: %s", strerror(-r));
		goto out;
	}
	for (i = 0; i < cc->nr_names; i++) {
		struct replay_save_info info;
		char err[512] = "";
		int fd;

		file_name(cc, i, paths[i], sizeof(paths[i]));
		fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			out->verdict = EXPLORE_CHECK_ERROR;
			snprintf(out->message, sizeof(out->message), "check command not run: %.300s: "
				 "%s", paths[i], strerror(errno));
			goto out;
		}
		made[i] = !fstat(fd, &made_st[i]);
		r = replay_world_save_fd(w, cc->names[i], 0, fd, &info, err, sizeof(err));
		if (close(fd) && !r)
			r = -errno;
		if (r) {
			/* A read the stack fails is the model's to judge (it reads every
			 * device); the checker has nothing to look at. */
			out->verdict = r == -EIO ? EXPLORE_CHECK_SKIPPED : EXPLORE_CHECK_ERROR;
			snprintf(out->message, sizeof(out->message), "check command not run: "
				 "exporting %.100s: %.300s", cc->names[i], err[0] ? err : strerror(-r));
			goto out;
		}
		h = sim_hash_combine(h, sim_fnv1a(SIM_FNV1A_INIT, cc->names[i], strlen(cc->names[i])));
		h = sim_hash_combine(h, sim_hash_combine(info.size_bytes, info.fnv1a64));
	}
	hit = cache_find(cc, h);
	if (hit) {
		*out = *hit;
		out->reused = true;
	} else {
		run(cc, paths, out);
		if (out->verdict != EXPLORE_CHECK_ERROR)
			cache_add(cc, h, out);
	}
	out->has_hash = true;
	out->content_hash = h;
out:
	/* Only what this function made: a file the command put in its place stays. */
	for (i = 0; i < cc->nr_names; i++) {
		struct stat st;

		if (made[i] && !lstat(paths[i], &st) && st.st_ino == made_st[i].st_ino &&
		    st.st_dev == made_st[i].st_dev)
			unlink(paths[i]);
	}
	free(devs);
	free(paths);
}

/* ------------------------------------------------------------------ */
/* Cleanup                                                              */

void check_cmd_finish(struct check_cmd *cc)
{
	if (cc->dir[0] && rmdir(cc->dir)) {
		fprintf(stderr, "snapsim explore: %s: left in place (it holds files the check "
			"command made): %s\n", cc->dir, strerror(errno));
	}
	cc->dir[0] = 0;
	for (size_t i = 0; i < cc->nr_cache; i++)
		free(cc->cache[i].res);
	free(cc->cache);
	cc->cache = NULL;
	cc->nr_cache = cc->cap_cache = 0;
}
