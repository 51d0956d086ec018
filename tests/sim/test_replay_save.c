/*
 * test_replay_save.c - a world's devices written out as image files: a
 * disk's current and durable content in the live world at a crash marker,
 * every disk and dm device of the world restarted over those disks, the
 * device list, and the file rules (no overwrite without force, nothing but
 * the file left behind).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pattern.h"
#include "replay.h"

/* Eight chunks and one past the first MiB written through the origin after
 * the snapshot (created first, so the origin splits at its chunks); the
 * second write is never flushed. */
static const char trace_text[] =
	"version: 1\n"
	"name: save\n"
	"seed: 3\n"
	"disks:\n"
	"  - name: org\n"
	"    size: 3MiB\n"
	"  - name: cow\n"
	"    size: 1MiB\n"
	"steps:\n"
	"  - write: org\n"
	"    offset: 0\n"
	"    length: 128s\n"
	"    data: seed-1\n"
	"  - flush: org\n"
	"  - dm: create s --table \"0 6144 snapshot /dev/org /dev/cow P 8\"\n"
	"  - dm: create o --table \"0 6144 snapshot-origin /dev/org\"\n"
	"  - write: o\n"
	"    offset: 0\n"
	"    length: 64s\n"
	"    data: seed-2\n"
	"  - flush: o\n"
	"  - write: o\n"
	"    offset: 4096s\n"
	"    length: 8s\n"
	"    data: seed-3\n"
	"  - crash: m1\n";

#define ORG_SECTORS 6144u

struct ctx {
	char dir[64];
	int hooks;
	char err[512];
};

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	cr_assert(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc(n ? (size_t)n : 1);
	cr_assert(p);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* The origin's expected bytes: seed-1 at 0..127, seed-2 over 0..63, seed-3 at 4096.. if unflushed_too. */
static uint8_t *expected_org(bool with_seed3)
{
	uint8_t *e = calloc(ORG_SECTORS, 512);

	cr_assert(e);
	pattern_fill_range(1, 0, 128, e);
	pattern_fill_range(2, 0, 64, e);
	if (with_seed3)
		pattern_fill_range(3, 4096, 8, e + 4096 * 512);
	return e;
}

static void expect_file(const char *path, const uint8_t *want, size_t len)
{
	size_t n;
	uint8_t *got = slurp(path, &n);

	cr_expect_eq(n, len, "%s: %zu bytes, expected %zu", path, n, len);
	if (n == len)
		for (size_t s = 0; s < len / 512; s++)
			if (memcmp(got + s * 512, want + s * 512, 512)) {
				cr_expect_fail("%s: sector %zu differs", path, s);
				break;
			}
	free(got);
}

static int hook(void *vc, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct ctx *c = vc;
	struct replay_world *nw = NULL;
	struct replay_save_info info, dinfo;
	struct replay_dev_desc *devs;
	unsigned nr;
	char path[128], eb[512] = "";
	uint8_t *e, *snap;

	if (!cp->marker)
		return 0;
	c->hooks++;
	/* Disks in the paused world: no request is made, so this is allowed. */
	snprintf(path, sizeof(path), "%s/org-current.img", c->dir);
	cr_assert_eq(replay_world_save_path(w, "org", 0, path, false, &info, eb, sizeof(eb)), 0,
		     "%s", eb);
	cr_expect_eq(info.size_bytes, ORG_SECTORS * 512ull);
	cr_expect(!info.is_dm);
	e = expected_org(true);
	expect_file(path, e, ORG_SECTORS * 512);
	free(e);
	snprintf(path, sizeof(path), "%s/org-durable.img", c->dir);
	cr_assert_eq(replay_world_save_path(w, "/dev/org", REPLAY_SAVE_DURABLE, path, false, &dinfo,
					    eb, sizeof(eb)), 0, "%s", eb);
	e = expected_org(false);
	expect_file(path, e, ORG_SECTORS * 512);
	cr_expect_neq(info.fnv1a64, dinfo.fnv1a64);
	/* A dm device has no durable image. */
	cr_expect_eq(replay_world_save_path(w, "o", REPLAY_SAVE_DURABLE, path, true, NULL, eb,
					    sizeof(eb)), -EINVAL);
	cr_expect(strstr(eb, "o: a dm device has no durable image"), "%s", eb);

	/* The restarted world: every device as read after the power cut. */
	cr_assert_eq(replay_world_restart_from(w, NULL, &nw, eb, sizeof(eb)), 0, "%s", eb);
	cr_assert_eq(eb[0], 0, "%s", eb);
	cr_assert_eq(replay_world_devices(nw, &devs, &nr), 0);
	cr_assert_eq(nr, 4);
	cr_expect_str_eq(devs[0].name, "org");
	cr_expect_eq(devs[0].kind, REPLAY_DEV_DISK);
	cr_expect_eq(devs[0].size_bytes, 3u << 20);
	cr_expect_str_eq(devs[1].name, "cow");
	cr_expect_eq(devs[1].size_bytes, 1u << 20);
	cr_expect_str_eq(devs[2].name, "s");
	cr_expect(devs[2].readable);
	cr_expect_str_eq(devs[3].name, "o");
	cr_expect_eq(devs[3].kind, REPLAY_DEV_DM);
	cr_expect(devs[3].readable && devs[3].has_table && !devs[3].suspended);
	cr_expect_eq(devs[3].size_bytes, ORG_SECTORS * 512ull);
	free(devs);

	snprintf(path, sizeof(path), "%s/o.img", c->dir);
	cr_assert_eq(replay_world_save_path(nw, "/dev/mapper/o", 0, path, false, &info, eb,
					    sizeof(eb)), 0, "%s", eb);
	cr_expect(info.is_dm);
	cr_expect_eq(info.fnv1a64, dinfo.fnv1a64, "the origin after the crash is the durable disk");
	expect_file(path, e, ORG_SECTORS * 512);
	free(e);
	/* The snapshot: what the origin held when it was taken. */
	snap = calloc(ORG_SECTORS, 512);
	pattern_fill_range(1, 0, 128, snap);
	snprintf(path, sizeof(path), "%s/s.img", c->dir);
	cr_assert_eq(replay_world_save_path(nw, "s", 0, path, false, NULL, eb, sizeof(eb)), 0,
		     "%s", eb);
	expect_file(path, snap, ORG_SECTORS * 512);

	/* An existing file is refused without force and left as it was. */
	snprintf(path, sizeof(path), "%s/org-current.img", c->dir);
	cr_expect_eq(replay_world_save_path(nw, "s", 0, path, false, NULL, eb, sizeof(eb)),
		     -EEXIST);
	cr_expect(strstr(eb, "give --force"), "%s", eb);
	e = expected_org(true);
	expect_file(path, e, ORG_SECTORS * 512);
	free(e);
	/* ... and replaced with it. */
	cr_expect_eq(replay_world_save_path(nw, "s", 0, path, true, NULL, eb, sizeof(eb)), 0,
		     "%s", eb);
	expect_file(path, snap, ORG_SECTORS * 512);
	/* A directory is never replaced, force or not. */
	cr_expect_eq(replay_world_save_path(nw, "s", 0, c->dir, true, NULL, eb, sizeof(eb)),
		     -EINVAL);
	cr_expect_eq(replay_world_save_path(nw, "nosuch", 0, path, true, NULL, eb, sizeof(eb)),
		     -ENOENT);
	cr_expect(strstr(eb, "nosuch: no such device"), "%s", eb);

	/* save_fd: the same bytes to an open file. */
	{
		char fp[128];
		int fd;

		snprintf(fp, sizeof(fp), "%s/fd.img", c->dir);
		fd = open(fp, O_RDWR | O_CREAT | O_EXCL, 0644);
		cr_assert(fd >= 0);
		cr_expect_eq(replay_world_save_fd(nw, "s", 0, fd, NULL, eb, sizeof(eb)), 0, "%s",
			     eb);
		close(fd);
		expect_file(fp, snap, ORG_SECTORS * 512);
	}
	free(snap);
	replay_world_destroy(nw);
	return 0;
}

Test(replay_save, devices_of_live_and_restarted_worlds)
{
	struct ctx c = { 0 };
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = hook,
				 .crash_ctx = &c };
	struct replay_result res;
	struct trace_error err;
	DIR *d;
	struct dirent *de;
	unsigned files = 0;

	snprintf(c.dir, sizeof(c.dir), "/tmp/snapsim-save-XXXXXX");
	cr_assert(mkdtemp(c.dir));
	cr_assert_eq(replay_run_mem("save.yaml", trace_text, strlen(trace_text), &o, &res, &err),
		     REPLAY_PASS, "%s", res.failure);
	cr_expect_eq(c.hooks, 1);
	/* Only the files asked for: no temporary left behind. */
	d = opendir(c.dir);
	cr_assert(d);
	while ((de = readdir(d))) {
		char p[400];

		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		cr_expect(de->d_name[0] != '.', "left behind: %s", de->d_name);
		files++;
		snprintf(p, sizeof(p), "%s/%s", c.dir, de->d_name);
		if (!getenv("KEEP")) unlink(p);
	}
	closedir(d);
	if (!getenv("KEEP")) rmdir(c.dir);
	cr_expect_eq(files, 5);
}

/* ---- save steps ---- */

static const char save_steps[] =
	"version: 1\n"
	"name: steps\n"
	"seed: 5\n"
	"disks:\n"
	"  - name: org\n"
	"    size: 1MiB\n"
	"  - name: cow\n"
	"    size: 1MiB\n"
	"steps:\n"
	"  - dm: create s --table \"0 2048 snapshot /dev/org /dev/cow P 8\"\n"
	"  - dm: create o --table \"0 2048 snapshot-origin /dev/org\"\n"
	"  - write: o\n"
	"    offset: 16s\n"
	"    length: 8s\n"
	"    data: seed-2\n"
	"  - save: s\n"
	"    to: %s/s.img\n"
	"  - save: org\n"
	"    to: %s/org.img\n"
	"    durable: true\n"
	"  - write: o\n"
	"    offset: 32s\n"
	"    length: 8s\n"
	"    data: seed-3\n";

static enum replay_status run_steps(const char *dir, bool files, bool force,
				    struct replay_result *res, struct trace_error *err)
{
	char text[2048];
	struct replay_opts o = { .save_files = files, .force = force };

	snprintf(text, sizeof(text), save_steps, dir, dir);
	return replay_run_mem("steps.yaml", text, strlen(text), &o, res, err);
}

static unsigned count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	cr_assert(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

Test(replay_save, save_steps_write_files_only_when_asked)
{
	char dir[64] = "/tmp/snapsim-steps-XXXXXX", p[128], cmd[128];
	struct replay_result a, b, c;
	struct trace_error err;
	uint8_t *want;
	struct stat st;

	cr_assert(mkdtemp(dir));
	/* Without save_files (explore): the same run, no file. */
	cr_assert_eq(run_steps(dir, false, false, &a, &err), REPLAY_PASS, "%s", a.failure);
	cr_expect_eq(count_files(dir), 0);
	cr_assert_eq(run_steps(dir, true, false, &b, &err), REPLAY_PASS, "%s", b.failure);
	cr_expect_eq(a.event_hash, b.event_hash, "saving files changed the schedule");
	cr_expect_eq(count_files(dir), 2);
	want = calloc(2048, 512);
	snprintf(p, sizeof(p), "%s/s.img", dir);
	expect_file(p, want, 2048 * 512);
	snprintf(p, sizeof(p), "%s/org.img", dir);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_size, 2048 * 512);
	free(want);
	/* Again: refused before anything runs, at the step, files untouched. */
	cr_expect_eq(run_steps(dir, true, false, &c, &err), REPLAY_INVALID);
	cr_expect(strstr(c.failure, "steps.yaml:16:5: save to ") &&
		  strstr(c.failure, "s.img: the file exists (give --force to replace it)"),
		  "%s", c.failure);
	cr_expect_eq(c.steps, 0);
	cr_expect_eq(run_steps(dir, true, true, &c, &err), REPLAY_PASS, "%s", c.failure);
	cr_expect_eq(count_files(dir), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
