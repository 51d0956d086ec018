/*
 * cmd_recipe.c - `snapsim recipe`: the seed's eight-step snapshot recipe
 * (spec 6.8) run end to end on image files, with a verdict per check and a
 * Markdown report.
 *
 * What it proves, on real files: after the snapshot is taken the origin keeps
 * taking writes while the snapshot keeps reading the old data; the whole
 * stack is torn down and rebuilt from the same image files, and a persistent
 * snapshot comes back with the same content (a transient one comes back
 * empty, reading the origin, as Linux's does).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_opts.h"
#include "commands.h"
#include "dm.h"
#include "fifo_executor.h"
#include "file_bdev.h"

struct recipe {
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct file_bdev *sd1a; /* origin disk, named /dev/sd1a */
	struct file_bdev *hdd1; /* COW disk, named /dev/hdd1 */
	FILE *report;
	const char *store;      /* "p" or "N" */
	unsigned chunk_sectors;
	sector_t size_sectors;  /* of X */
	sector_t offset;        /* X's offset on sd1a */
	unsigned checks, failures;
	bool verbose;
	bool quiet;             /* -q: the report file only; failures on stderr */
};

static void say(struct recipe *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct recipe *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->quiet) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	if (r->report) {
		va_start(ap, fmt);
		vfprintf(r->report, fmt, ap);
		va_end(ap);
	}
}

static void check(struct recipe *r, bool ok, const char *what)
{
	r->checks++;
	if (!ok)
		r->failures++;
	say(r, "- [%s] %s\n", ok ? "x" : " ", what);
	if (!ok)
		fprintf(stderr, "snapsim recipe: FAILED: %s\n", what);
}

static void settle(struct recipe *r)
{
	fifo_executor_run(&r->fx, 0);
}

/* Run one dmsetup-like verb; print it; return its status. */
static int verb(struct recipe *r, const char *cmd, int status, struct ss_error *err)
{
	char buf[SS_ERROR_MSG_MAX + 64];

	settle(r);
	if (status) {
		say(r, "    $ dmsetup %s\n    error: %s\n", cmd,
		    ss_error_format(err, buf, sizeof(buf)));
	} else {
		say(r, "    $ dmsetup %s\n", cmd);
	}
	return status;
}

static void show(struct recipe *r, const char *name)
{
	struct ss_error err;
	char *table = NULL, *status = NULL;

	ss_error_clear(&err);
	if (dm_table_text(r->reg, name, false, &table, &err) == 0 &&
	    dm_status_text(r->reg, name, false, &status, &err) == 0) {
		say(r, "    table  %-8s %s", name, table[0] ? table : "\n");
		say(r, "    status %-8s %s", name, status[0] ? status : "\n");
	}
	free(table);
	free(status);
}

struct sync_io {
	int status;
	bool done;
};

static void sync_io_done(struct bio *bio, int status)
{
	struct sync_io *s = bio->private;

	s->status = status;
	s->done = true;
}

static int dev_io(struct recipe *r, const char *name, enum bio_op op,
		  sector_t sector, uint32_t nr, uint8_t *buf)
{
	struct dm_device *md = dm_find_device(r->reg, name);
	struct sync_io s = { 0, false };
	struct bio bio;

	if (!md)
		return -ENODEV;
	bio_init(&bio, dm_device_bdev(md), op, 0, sector, nr, buf, sync_io_done, &s);
	bdev_submit(&bio);
	settle(r);
	return s.done ? s.status : -ETIMEDOUT;
}

/* Deterministic content: generation g of sector s. */
static void fill(uint8_t *buf, sector_t first, uint32_t nr, unsigned gen)
{
	for (uint32_t i = 0; i < nr; i++) {
		uint64_t x = ((first + i) * 0x9E3779B97F4A7C15ull) ^ (gen * 0xBF58476D1CE4E5B9ull);
		for (unsigned b = 0; b < SECTOR_SIZE; b += 8) {
			x ^= x >> 31;
			x *= 0x94D049BB133111EBull;
			memcpy(buf + (size_t)i * SECTOR_SIZE + b, &x, 8);
		}
	}
}

/* Whether every sector of dev reads as generation gen_of(sector). */
static bool dev_matches(struct recipe *r, const char *name,
			unsigned (*gen_of)(sector_t s, void *ctx), void *ctx)
{
	uint8_t got[64 * SECTOR_SIZE], want[64 * SECTOR_SIZE];

	for (sector_t s = 0; s < r->size_sectors; s += 64) {
		uint32_t n = (uint32_t)(r->size_sectors - s < 64 ? r->size_sectors - s : 64);
		if (dev_io(r, name, BIO_READ, s, n, got) != 0)
			return false;
		for (uint32_t i = 0; i < n; i++)
			fill(want + (size_t)i * SECTOR_SIZE, s + i, 1, gen_of(s + i, ctx));
		if (memcmp(got, want, (size_t)n * SECTOR_SIZE) != 0)
			return false;
	}
	return true;
}

static unsigned gen_original(sector_t s, void *ctx)
{
	(void)s;
	(void)ctx;
	return 1;
}

/* After the writes: every third chunk-sized stripe was rewritten (gen 2). */
static unsigned gen_after(sector_t s, void *ctx)
{
	const struct recipe *r = ctx;

	return (s / r->chunk_sectors) % 3 == 0 ? 2 : 1;
}

static int make_image(const char *path, sector_t sectors)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	int rc = ftruncate(fileno(f), (off_t)(sectors * SECTOR_SIZE)) ? -errno : 0;
	fclose(f);
	return rc;
}

static int open_disks(struct recipe *r, const char *dir)
{
	char path[4096];
	struct ss_error err;

	ss_error_clear(&err);
	snprintf(path, sizeof(path), "%s/sd1a.img", dir);
	if (file_bdev_open(path, "/dev/sd1a", false, &r->fx.base, &r->sd1a, &err))
		goto fail;
	snprintf(path, sizeof(path), "%s/hdd1.img", dir);
	if (file_bdev_open(path, "/dev/hdd1", false, &r->fx.base, &r->hdd1, &err))
		goto fail;
	r->reg = dm_registry_create(&r->fx.base);
	if (!r->reg ||
	    dm_registry_add_bdev(r->reg, file_bdev_bdev(r->sd1a), &err) ||
	    dm_registry_add_bdev(r->reg, file_bdev_bdev(r->hdd1), &err))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "snapsim recipe: %s\n", err.msg[0] ? err.msg : "out of memory");
	return -1;
}

static void close_disks(struct recipe *r)
{
	settle(r);
	if (r->reg)
		dm_registry_destroy(r->reg);
	settle(r);
	bdev_destroy(r->sd1a ? file_bdev_bdev(r->sd1a) : NULL);
	bdev_destroy(r->hdd1 ? file_bdev_bdev(r->hdd1) : NULL);
	r->reg = NULL;
	r->sd1a = r->hdd1 = NULL;
}

/* Steps 1-8 of spec 6.8, starting from X live on /dev/sd1a. */
static int take_snapshot(struct recipe *r)
{
	struct ss_error err;
	char cmd[1024], snap_table[256], origin_table[256];
	char *x_table = NULL;
	int rc;

	snprintf(snap_table, sizeof(snap_table), "0 %llu snapshot /dev/mapper/my_data_org /dev/hdd1 %s %u",
		 (unsigned long long)r->size_sectors, r->store, r->chunk_sectors);
	snprintf(origin_table, sizeof(origin_table), "0 %llu snapshot-origin /dev/mapper/my_data_org",
		 (unsigned long long)r->size_sectors);

	ss_error_clear(&err);
	if ((rc = verb(r, "suspend my_data", dm_suspend(r->reg, "my_data", 0, NULL, NULL, &err), &err)))
		return rc;
	if ((rc = verb(r, "create my_data_org --notable",
		       dm_create(r->reg, "my_data_org", NULL, NULL, 0, &err), &err)))
		return rc;
	if ((rc = dm_table_text(r->reg, "my_data", false, &x_table, &err)) == 0) {
		rc = dm_load(r->reg, "my_data_org", x_table, 0, &err);
		x_table[strcspn(x_table, "\n")] = '\0';
		snprintf(cmd, sizeof(cmd), "table my_data | dmsetup load my_data_org   # %s", x_table);
		free(x_table);
	}
	if ((rc = verb(r, cmd, rc, &err)))
		return rc;
	if ((rc = verb(r, "resume my_data_org", dm_resume(r->reg, "my_data_org", 0, &err), &err)))
		return rc;
	if ((rc = verb(r, "create my_data_snap --notable",
		       dm_create(r->reg, "my_data_snap", NULL, NULL, 0, &err), &err)))
		return rc;
	snprintf(cmd, sizeof(cmd), "load my_data_snap --table \"%s\"", snap_table);
	if ((rc = verb(r, cmd, dm_load(r->reg, "my_data_snap", snap_table, 0, &err), &err)))
		return rc;
	snprintf(cmd, sizeof(cmd), "load my_data --table \"%s\"", origin_table);
	if ((rc = verb(r, cmd, dm_load(r->reg, "my_data", origin_table, 0, &err), &err)))
		return rc;
	if ((rc = verb(r, "resume my_data_snap", dm_resume(r->reg, "my_data_snap", 0, &err), &err)))
		return rc;
	return verb(r, "resume my_data", dm_resume(r->reg, "my_data", 0, &err), &err);
}

/* Rebuild the stack after a restart: the tables the recipe left behind. */
static int rebuild(struct recipe *r)
{
	struct ss_error err;
	char t[512];
	int rc;

	ss_error_clear(&err);
	snprintf(t, sizeof(t), "0 %llu linear /dev/sd1a %llu",
		 (unsigned long long)r->size_sectors, (unsigned long long)r->offset);
	if ((rc = verb(r, "create my_data_org --table <linear on /dev/sd1a>",
		       dm_create(r->reg, "my_data_org", NULL, t, 0, &err), &err)))
		return rc;
	snprintf(t, sizeof(t), "0 %llu snapshot /dev/mapper/my_data_org /dev/hdd1 %s %u",
		 (unsigned long long)r->size_sectors, r->store, r->chunk_sectors);
	if ((rc = verb(r, "create my_data_snap --table <snapshot>",
		       dm_create(r->reg, "my_data_snap", NULL, t, 0, &err), &err)))
		return rc;
	snprintf(t, sizeof(t), "0 %llu snapshot-origin /dev/mapper/my_data_org",
		 (unsigned long long)r->size_sectors);
	return verb(r, "create my_data --table <snapshot-origin>",
		    dm_create(r->reg, "my_data", NULL, t, 0, &err), &err);
}

static void recipe_usage(FILE *out)
{
	fputs("usage: snapsim recipe [--dir DIR] [--store p|P|PO|N] [--chunk SECTORS]\n"
	      "                      [--size SECTORS] [--report FILE] [-q]\n"
	      "\n"
	      "Run the eight-step snapshot recipe on image files DIR/sd1a.img (origin)\n"
	      "and DIR/hdd1.img (COW), write to the origin, check the snapshot, restart\n"
	      "the stack from the files and check again.\n"
	      "\n"
	      "Options:\n"
	      "  --dir DIR          where the images go (default out/recipe; created)\n"
	      "  --store p|P|PO|N   the snapshot's store (default p)\n"
	      "  --chunk SECTORS    chunk size in 512-byte sectors (default 64)\n"
	      "  --size SECTORS     size of my_data (default 1024)\n"
	      "  --report FILE      also write the steps and checks as Markdown\n"
	      "  -q, --quiet        print failures and errors only\n"
	      "  --version          print the version and exit\n"
	      "  -h, --help         print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every check held\n"
	      "  1  a check failed (or a dm step of the recipe was refused)\n"
	      "  2  usage error\n"
	      "  4  I/O error: an image or the report cannot be written\n", out);
}

int cmd_recipe(int argc, char **argv)
{
	enum { OPT_DIR = 0x100, OPT_STORE, OPT_REPORT, OPT_CHUNK, OPT_SIZE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS,
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "chunk", required_argument, NULL, OPT_CHUNK },
		{ "size", required_argument, NULL, OPT_SIZE },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("recipe", recipe_usage);
	struct recipe r;
	const char *dir = "out/recipe", *report = NULL;
	char path[4096];
	uint64_t n;
	int rc = CLI_EXIT_FAILED, opt;

	memset(&r, 0, sizeof(r));
	r.store = "p";
	r.chunk_sectors = 64;
	r.size_sectors = 1024;
	r.offset = 384;
	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return v.exit;
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_STORE:
			if (strcmp(optarg, "p") && strcmp(optarg, "P") && strcmp(optarg, "PO") &&
			    strcmp(optarg, "N") && strcmp(optarg, "n"))
				return cli_usage_error(&v, "--store %s: expected p, P, PO or N", optarg);
			r.store = optarg;
			break;
		case OPT_REPORT:
			report = optarg;
			break;
		case OPT_CHUNK:
		case OPT_SIZE:
			if (cli_opt_u64(&v, opt == OPT_CHUNK ? "--chunk" : "--size", optarg, 1,
					1ull << 30, &n))
				return v.exit;
			if (opt == OPT_CHUNK)
				r.chunk_sectors = (unsigned)n;
			else
				r.size_sectors = n;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error(&v, "unexpected argument '%s'", argv[optind]);
	r.quiet = v.quiet;
	bool persistent = r.store[0] == 'p' || r.store[0] == 'P';

	if (mkdir(dir, 0777) && errno != EEXIST)
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: %s", dir, strerror(errno));
	/* COW sized by LVM's never-fills formula (spec 2.11) plus slack. */
	sector_t chunks = (r.size_sectors + r.chunk_sectors - 1) / r.chunk_sectors;
	sector_t epa = (sector_t)r.chunk_sectors * 32;
	sector_t cow_sectors = (1 + chunks + (chunks + epa) / epa + 2) * r.chunk_sectors;
	snprintf(path, sizeof(path), "%s/sd1a.img", dir);
	if (make_image(path, r.offset + r.size_sectors) != 0)
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/hdd1.img", dir);
	if (make_image(path, cow_sectors) != 0)
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: %s", path, strerror(errno));
	if (report) {
		r.report = fopen(report, "w");
		if (!r.report)
			return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: %s", report, strerror(errno));
	}

	fifo_executor_init(&r.fx);
	say(&r, "# snapsim recipe: store %s, chunk %u sectors, my_data %llu sectors\n\n",
	    r.store, r.chunk_sectors, (unsigned long long)r.size_sectors);
	rc = CLI_EXIT_IO; /* until the images are open and the buffer allocated */
	if (open_disks(&r, dir))
		goto out;

	struct ss_error err;
	char t[256];
	uint8_t *buf = malloc((size_t)r.size_sectors * SECTOR_SIZE);
	if (!buf)
		goto out;
	rc = CLI_EXIT_FAILED; /* a refused dm step of the recipe fails it */

	say(&r, "## 0. my_data is live on /dev/sd1a and holds generation 1\n\n");
	ss_error_clear(&err);
	snprintf(t, sizeof(t), "0 %llu linear /dev/sd1a %llu",
		 (unsigned long long)r.size_sectors, (unsigned long long)r.offset);
	if (verb(&r, "create my_data --table <linear>", dm_create(r.reg, "my_data", NULL, t, 0, &err), &err))
		goto out_buf;
	for (sector_t s = 0; s < r.size_sectors; s++)
		fill(buf + s * SECTOR_SIZE, s, 1, 1);
	check(&r, dev_io(&r, "my_data", BIO_WRITE, 0, (uint32_t)r.size_sectors, buf) == 0,
	      "write generation 1 through my_data");
	show(&r, "my_data");

	say(&r, "\n## 1-8. take the snapshot (spec 6.8)\n\n");
	if (take_snapshot(&r))
		goto out_buf;
	show(&r, "my_data");
	show(&r, "my_data_org");
	show(&r, "my_data_snap");

	say(&r, "\n## 9. write every third chunk of my_data (generation 2)\n\n");
	bool wrote = true;
	for (sector_t s = 0; s < r.size_sectors; s += r.chunk_sectors) {
		if ((s / r.chunk_sectors) % 3)
			continue;
		uint32_t n = (uint32_t)(r.size_sectors - s < r.chunk_sectors ? r.size_sectors - s : r.chunk_sectors);
		for (uint32_t i = 0; i < n; i++)
			fill(buf + (size_t)i * SECTOR_SIZE, s + i, 1, 2);
		wrote &= dev_io(&r, "my_data", BIO_WRITE, s, n, buf) == 0;
	}
	wrote &= dev_io(&r, "my_data", BIO_FLUSH, 0, 0, NULL) == 0;
	check(&r, wrote, "origin writes and flush through my_data complete");
	check(&r, dev_matches(&r, "my_data", gen_after, &r), "my_data reads the new data");
	check(&r, dev_matches(&r, "my_data_snap", gen_original, NULL),
	      "my_data_snap still reads generation 1");
	show(&r, "my_data_snap");

	say(&r, "\n## 10. restart: tear the stack down and rebuild it from the image files\n\n");
	close_disks(&r);
	if (open_disks(&r, dir) || rebuild(&r))
		goto out_buf;
	show(&r, "my_data_snap");
	check(&r, dev_matches(&r, "my_data", gen_after, &r), "after restart my_data reads the new data");
	if (persistent)
		check(&r, dev_matches(&r, "my_data_snap", gen_original, NULL),
		      "after restart the persistent snapshot still reads generation 1");
	else
		check(&r, dev_matches(&r, "my_data_snap", gen_after, &r),
		      "after restart the transient snapshot starts empty (reads the origin)");

	say(&r, "\n%u checks, %u failed\n", r.checks, r.failures);
	rc = r.failures ? CLI_EXIT_FAILED : CLI_EXIT_OK;
out_buf:
	free(buf);
out:
	close_disks(&r);
	fifo_executor_destroy(&r.fx);
	if (r.report)
		fclose(r.report);
	return rc;
}
