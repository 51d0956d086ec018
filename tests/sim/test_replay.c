/*
 * test_replay.c - the trace replayer: determinism, precise failures, the
 * corpus (every trace passes, every bad trace is rejected where it says),
 * crash points and restarts through the explorer's API.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "pattern.h"
#include "replay.h"
#include "sim_disk.h"

#define TRACES SNAPSIM_SOURCE_DIR "/traces"

static enum replay_status run(const char *path, uint64_t seed, bool shuffle,
			      struct replay_result *res)
{
	struct replay_opts o = { .has_seed = seed != 0, .seed = seed, .defer_shuffle = shuffle };
	struct trace_error err;

	return replay_run(path, &o, res, &err);
}

static enum replay_status run_mem(const char *name, const char *text,
				  const struct replay_opts *o, struct replay_result *res,
				  struct trace_error *err)
{
	return replay_run_mem(name, text, strlen(text), o, res, err);
}

/* ---- determinism ---- */

Test(replay, same_seed_same_event_hash)
{
	struct replay_result a, b;

	cr_assert_eq(run(TRACES "/race-origin-vs-snapread.yaml", 3, false, &a), REPLAY_PASS,
		     "%s", a.failure);
	cr_assert_eq(run(TRACES "/race-origin-vs-snapread.yaml", 3, false, &b), REPLAY_PASS);
	cr_expect_eq(a.event_hash, b.event_hash);
	cr_expect_eq(a.events, b.events);
	cr_expect_eq(a.now_ns, b.now_ns);
	cr_assert_eq(run(TRACES "/race-origin-vs-snapread.yaml", 3, true, &a), REPLAY_PASS);
	cr_assert_eq(run(TRACES "/race-origin-vs-snapread.yaml", 3, true, &b), REPLAY_PASS);
	cr_expect_eq(a.event_hash, b.event_hash);
}

Test(replay, different_seeds_differ_with_reordering)
{
	struct replay_result a, b;

	cr_assert_eq(run(TRACES "/race-origin-vs-snapread.yaml", 1, false, &a), REPLAY_PASS);
	cr_assert_eq(run(TRACES "/race-origin-vs-snapread.yaml", 2, false, &b), REPLAY_PASS);
	cr_expect_neq(a.event_hash, b.event_hash);
	cr_expect_eq(a.ios, b.ios);
}

Test(replay, log_file_matches_hash_input)
{
	struct replay_opts o = { .has_seed = true, .seed = 1 };
	struct replay_result res;
	struct trace_error err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	o.log = f;
	cr_assert_eq(replay_run(TRACES "/seed-recipe.yaml", &o, &res, &err), REPLAY_PASS);
	fclose(f);
	cr_expect(strstr(buf, "table my_data_snap: 0 1024 snapshot /dev/mapper/my_data_org"
			 " /dev/hdd1 P 64") != NULL);
	cr_expect(strstr(buf, "replay seed-recipe seed 1") != NULL);
	free(buf);
}

/* ---- failures are precise ---- */

static const char wrong_status[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: data, size: 1M}\n"
	"  - {name: cow, size: 1M}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 2048 linear /dev/data 0\"\n"
	"  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - status: S\n"
	"    expect: \"0 2048 snapshot 24/2048 16\"\n";

Test(replay, wrong_expectation_fails_with_file_and_line)
{
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(run_mem("wrong.yaml", wrong_status, NULL, &res, &err), REPLAY_MISMATCH);
	cr_expect_str_eq(res.failure,
			 "wrong.yaml:8: status S: expected \"0 2048 snapshot 24/2048 16\", "
			 "found \"0 2048 snapshot 16/2048 16\" (seed 1)");
	cr_expect_eq(res.fail_line, 8);
	cr_expect_eq(res.mismatches, 1);
}

static const char wrong_data[] =
	"version: 1\n"
	"seed: 9\n"
	"disks:\n"
	"  - {name: d, size: 1M}\n"
	"steps:\n"
	"  - write: {dev: d, offset: 8s, length: 8s, data: seed-1}\n"
	"  - read: {dev: d, offset: 8s, length: 8s, expect: seed-2}\n";

Test(replay, wrong_data_names_device_sector_expected_found_seed)
{
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(run_mem("data.yaml", wrong_data, NULL, &res, &err), REPLAY_MISMATCH);
	cr_expect_str_eq(res.failure,
			 "data.yaml:7: read d sector 8: expected pattern seed-2 sector 8, "
			 "found pattern seed-1 sector 8 (seed 9)");
}

static const char wrong_errno[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, size: 1M}\n"
	"steps:\n"
	"  - dm: create L --table \"0 64 error\"\n"
	"  - read: {dev: L, length: 8s}\n";

Test(replay, unexpected_error_is_a_mismatch)
{
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(run_mem("err.yaml", wrong_errno, NULL, &res, &err), REPLAY_MISMATCH);
	cr_expect_str_eq(res.failure,
			 "err.yaml:6: read L sector 0+8: expected success, got EIO (seed 1)");
}

/* may_fail: the step asserts no status; the model still judges it. */
static const char may_fail_full[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: data, size: 1M}\n"
	"  - {name: cow, size: 32s}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 64 linear /dev/data 0\"\n"
	"  - dm: create X --table \"0 64 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create S --table \"0 64 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - read: {dev: S, length: 8s, may_fail: true}\n"
	"  - write: {dev: X, length: 24s, data: seed-2}\n"
	"  - read: {dev: S, length: 8s, may_fail: true}\n"
	"  - write: {dev: S, length: 8s, data: seed-3, may_fail: true}\n";

Test(replay, may_fail_leaves_the_status_to_the_model)
{
	struct replay_result res;
	struct trace_error err;
	char *t = strdup(may_fail_full), *p;

	cr_assert_eq(run_mem("mf.yaml", may_fail_full, NULL, &res, &err), REPLAY_PASS, "%s",
		     res.failure);
	/* The third origin chunk invalidated S: without may_fail its EIO fails the step. */
	p = strstr(t, "  - read: {dev: S, length: 8s, may_fail: true}\n  - write: {dev: S");
	cr_assert_not_null(p);
	memcpy(strstr(p, ", may_fail: true}"), "}                ", 17);
	cr_assert_eq(run_mem("mf.yaml", t, NULL, &res, &err), REPLAY_MISMATCH);
	cr_expect(strstr(res.failure, "mf.yaml:13: read S sector 0+8: expected success, got EIO"),
		  "%s", res.failure);
	/* Two chunks fit: S stays valid and its may_fail reads are checked as data. */
	memcpy(strstr(t, "length: 24s"), "length: 16s", 11);
	cr_assert_eq(run_mem("mf.yaml", t, NULL, &res, &err), REPLAY_PASS, "%s", res.failure);
	free(t);
	cr_expect_neq(run_mem("mf2.yaml", "version: 1\ndisks:\n  - {name: d, size: 1M}\nsteps:\n"
			      "  - read: {dev: d, length: 1s, may_fail: true, error: EIO}\n",
			      NULL, &res, &err), REPLAY_PASS, "may_fail and error exclude each other");
}

static const char bad_chunk[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: data, size: 1M}\n"
	"  - {name: cow, size: 1M}\n"
	"steps:\n"
	"  - write: {dev: data, length: 8s, data: seed-1}\n"
	"  - dm: create S --table \"0 2048 snapshot /dev/data /dev/cow P 12\"\n";

Test(replay, table_semantics_are_checked_before_anything_runs)
{
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(run_mem("chunk.yaml", bad_chunk, NULL, &res, &err), REPLAY_INVALID);
	cr_expect_eq(res.steps, 0);
	cr_expect_eq(res.ios, 0);
	cr_expect(!strncmp(err.text, "chunk.yaml:7:5: dm create S", 27), "%s", err.text);
	cr_expect(strstr(err.text, "Couldn't create exception store") != NULL, "%s", err.text);
}

/* ---- the corpus ---- */

static void for_each_yaml(const char *dir, void (*fn)(const char *path, int *n), int *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path, n);
	}
	closedir(d);
}

static void good(const char *path, int *n)
{
	struct replay_result res;

	/* Seed 0 is the trace's own seed: the one `explore` replays by default. */
	for (uint64_t seed = 0; seed <= 2; seed++) {
		enum replay_status st = run(path, seed, seed == 2, &res);

		cr_expect_eq(st, REPLAY_PASS, "%s seed %llu: %s", path,
			     (unsigned long long)seed, res.failure);
	}
	(*n)++;
}

Test(replay_corpus, every_trace_passes, .timeout = 600)
{
	int n = 0;

	for_each_yaml(TRACES, good, &n);
	cr_expect_geq(n, 25, "only %d traces", n);
}

static void bad(const char *path, int *n)
{
	struct replay_result res;
	struct trace_error err;
	char line[512], want[700];
	const char *tag = "# expect-error: ";
	FILE *f = fopen(path, "r");
	bool found = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, tag, strlen(tag))) {
			line[strcspn(line, "\n")] = 0;
			snprintf(want, sizeof(want), "%s:%s", path, line + strlen(tag));
			found = true;
		}
	fclose(f);
	cr_assert(found, "%s has no '# expect-error:' line", path);
	cr_expect_eq(replay_run(path, NULL, &res, &err), REPLAY_INVALID, "%s", path);
	cr_expect_str_eq(res.failure, want);
	cr_expect_eq(res.steps, 0);
	(*n)++;
}

Test(replay_corpus, every_bad_trace_is_rejected_where_it_says)
{
	int n = 0;

	for_each_yaml(TRACES "/bad", bad, &n);
	cr_expect_geq(n, 15);
}

/* ---- crash points and restarts (the explorer's contract) ---- */

struct crash_log {
	unsigned markers, disk_io, flush, trace_io, end;
	unsigned restarts_ok;
	char first_error[1200];
	const char *stop_at;
};

static int count_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct crash_log *l = ctx;

	(void)w;
	switch (cp->kind) {
	case REPLAY_CRASH_MARKER: l->markers++; break;
	case REPLAY_CRASH_DISK_IO: l->disk_io++; break;
	case REPLAY_CRASH_FLUSH: l->flush++; break;
	case REPLAY_CRASH_TRACE_IO: l->trace_io++; break;
	case REPLAY_CRASH_END: l->end++; break;
	}
	return l->stop_at && cp->marker && !strcmp(cp->marker, l->stop_at) ? 7 : 0;
}

Test(replay_crash, points_are_offered_per_mode)
{
	struct crash_log l = { 0 };
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER | REPLAY_CRASH_FLUSH |
						REPLAY_CRASH_END,
				 .crash_hook = count_hook, .crash_ctx = &l };
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(replay_run(TRACES "/seed-recipe.yaml", &o, &res, &err), REPLAY_PASS,
		     "%s", res.failure);
	cr_expect_eq(l.markers, 1);
	cr_expect_eq(l.end, 1);
	cr_expect_gt(l.flush, 0);
	cr_expect_eq(l.disk_io, 0);
	cr_expect_eq(res.crash_points, l.markers + l.flush + l.end);

	memset(&l, 0, sizeof(l));
	o.crash_modes = REPLAY_CRASH_DISK_IO | REPLAY_CRASH_TRACE_IO;
	cr_assert_eq(replay_run(TRACES "/seed-recipe.yaml", &o, &res, &err), REPLAY_PASS);
	cr_expect_gt(l.disk_io, l.trace_io);
	cr_expect_gt(l.trace_io, 0);
}

Test(replay_crash, hook_can_stop_the_run)
{
	struct crash_log l = { .stop_at = "fua" };
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = count_hook,
				 .crash_ctx = &l };
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(replay_run(TRACES "/disk-semantics.yaml", &o, &res, &err), REPLAY_STOPPED);
	cr_expect_eq(res.hook_status, 7);
	cr_expect_eq(l.markers, 2);
}

/* Disk semantics through a trace: at each marker of disk-semantics.yaml,
 * the durable image of disk a (nothing in the cache survives) says which
 * writes a power cut cannot lose. */
struct sem_ctx {
	int checked;
	char err[512];
};

static int durable_sector_is(struct replay_world *w, sector_t s, uint64_t seed, bool want)
{
	uint8_t got[512], pat[512];
	struct sim_disk *d = replay_world_disk(w, 0);

	sim_disk_read_durable(d, s, 1, got);
	pattern_fill(seed, s, pat);
	return (memcmp(got, pat, 512) == 0) == want;
}

static int sem_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct sem_ctx *c = ctx;
	bool ok = true;

	if (!strcmp(cp->marker, "unflushed"))
		ok = durable_sector_is(w, 0, 1, false) &&       /* a cached write can vanish */
		     sim_disk_pending_count(replay_world_disk(w, 0)) > 0;
	else if (!strcmp(cp->marker, "fua"))
		ok = durable_sector_is(w, 8, 2, true) &&        /* FUA: durable at completion */
		     durable_sector_is(w, 0, 1, false);         /* ... and only itself */
	else if (!strcmp(cp->marker, "flushed"))
		ok = durable_sector_is(w, 0, 1, true) && durable_sector_is(w, 8, 2, true) &&
		     sim_disk_pending_count(replay_world_disk(w, 0)) == 0;
	else
		return 0;
	if (!ok && !c->err[0])
		snprintf(c->err, sizeof(c->err), "marker %s", cp->marker);
	c->checked++;
	return 0;
}

Test(replay_crash, disk_durability_at_markers)
{
	struct sem_ctx c = { 0 };
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = sem_hook,
				 .crash_ctx = &c };
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(replay_run(TRACES "/disk-semantics.yaml", &o, &res, &err), REPLAY_PASS,
		     "%s", res.failure);
	cr_expect_eq(c.checked, 3);
	cr_expect_str_eq(c.err, "");
}

/* Restart at every marker of every snapshot trace: the stack comes back
 * from the durable images, every device matches the model's allowed sets,
 * and more I/O after recovery keeps every snapshot right. */
static int restart_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct crash_log *l = ctx;
	struct replay_world *nw = NULL;
	char eb[512] = "";
	int r;

	(void)cp;
	r = replay_world_restart_from(w, NULL, &nw, eb, sizeof(eb));
	if (r || eb[0]) {
		if (!l->first_error[0])
			snprintf(l->first_error, sizeof(l->first_error), "%s: restart %d: %s",
				 replay_world_trace(w), r, eb);
		replay_world_destroy(nw);
		return 0;
	}
	r = replay_world_check_all(nw, eb, sizeof(eb));
	if (!r)
		r = replay_world_write_read_check(nw, 99, 64, eb, sizeof(eb));
	if (r && !l->first_error[0])
		snprintf(l->first_error, sizeof(l->first_error), "%s at %s: %s",
			 replay_world_trace(w), cp->marker ? cp->marker : "?", eb);
	if (!r)
		l->restarts_ok++;
	replay_world_destroy(nw);
	return 0;
}

Test(replay_crash, restart_at_markers_checks_clean, .timeout = 300)
{
	static const char *const traces[] = {
		"seed-recipe", "recipe-P8-cowlinear", "snapshot-write-partial",
		"snapshot-write-whole", "race-two-origin-writes", "reactivate", "transient",
		"merge", "merge-other-snapshot", "three-snapshots",
	};
	struct crash_log l = { 0 };
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER | REPLAY_CRASH_END,
				 .crash_hook = restart_hook, .crash_ctx = &l };
	struct replay_result res;
	struct trace_error err;
	char path[512];

	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.yaml", TRACES, traces[i]);
		cr_expect_eq(replay_run(path, &o, &res, &err), REPLAY_PASS, "%s", res.failure);
	}
	cr_expect_str_eq(l.first_error, "");
	cr_expect_geq(l.restarts_ok, 20);
}

static int fork_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	int *ok = ctx;
	unsigned n = replay_world_nr_disks(w);
	struct sim_disk *forks[8] = { 0 };
	struct replay_world *nw = NULL;
	char eb[512] = "";

	if (!cp->marker || n > 8)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (sim_disk_fork(replay_world_disk(w, i), NULL, 0, NULL, &forks[i]))
			return 1;
	if (!replay_world_restart(w, forks, &nw, eb, sizeof(eb)) && !eb[0] &&
	    replay_world_nr_devs(nw) == replay_world_nr_devs(w) &&
	    !replay_world_check_all(nw, eb, sizeof(eb)))
		(*ok)++;
	for (unsigned i = 0; i < n; i++)
		sim_disk_destroy(forks[i]);
	replay_world_destroy(nw);
	return 0;
}

Test(replay_crash, restart_on_caller_forks)
{
	int ok = 0;
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = fork_hook,
				 .crash_ctx = &ok };
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(replay_run(TRACES "/seed-recipe.yaml", &o, &res, &err), REPLAY_PASS);
	cr_expect_eq(ok, 1);
}

/* ---- teardown with I/O in flight ---- */

/* A restarted world destroyed while a write sits at its disk: every
 * request wrapper of the disk's tap must be freed (ASan's leak check
 * fails this test otherwise). */
static void never_done(struct bio *bio, int status)
{
	(void)bio;
	(void)status;
}

static int inflight_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	int *ok = ctx;
	static uint8_t buf[8 * 512];
	struct replay_world *nw = NULL;
	struct dm_device *md;
	struct bio bio;
	char eb[256] = "";

	if (!cp->marker)
		return 0;
	if (replay_world_restart_from(w, NULL, &nw, eb, sizeof(eb)) || eb[0])
		return 1;
	md = dm_find_device(replay_world_registry(nw), "lin");
	if (md) {
		/* Straight to the disk's tap (a dm device's own clones are dm's). */
		bio_init(&bio, replay_world_disk_bdev(nw, 0), BIO_WRITE, 0, 0, 8, buf, never_done,
			 NULL);
		bdev_submit(&bio);
		/* Run until the write reaches the disk, not until it completes. */
		for (int i = 0; i < 64 && !sim_disk_pending_count(replay_world_disk(nw, 0)); i++)
			if (!sim_sched_run_one(replay_world_sched(nw)))
				break;
		if (sim_disk_pending_count(replay_world_disk(nw, 0)) ||
		    sim_sched_pending(replay_world_sched(nw)))
			(*ok)++;
	}
	replay_world_destroy(nw);
	return 0;
}

Test(replay_crash, destroy_with_io_in_flight_frees_everything)
{
	static const char text[] =
		"version: 1\n"
		"disks:\n"
		"  - {name: d, size: 1M}\n"
		"steps:\n"
		"  - dm: create lin --table \"0 2048 linear /dev/d 0\"\n"
		"  - crash: here\n";
	int ok = 0;
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = inflight_hook,
				 .crash_ctx = &ok };
	struct replay_result res;
	struct trace_error err;

	cr_assert_eq(run_mem("inflight", text, &o, &res, &err), REPLAY_PASS, "%s", res.failure);
	cr_expect_eq(ok, 1, "the write was in flight when the world was destroyed");
}
