/*
 * test_image_disk.c - disks that start from an image file: the bytes read
 * back, writes never reach the file, a 1 GiB sparse image costs what is
 * written (resident memory measured), hashing reads only written pages and
 * tells two images apart, and a trace naming an image replays and crashes
 * through the model.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"
#include "sim_disk.h"
#include "sim_image.h"
#include "sim_sched.h"

#define GIB (1ull << 30)

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/snapsim-image-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Sector s of the test images: its number and a tag, repeated. */
static void label(uint64_t s, char tag, uint8_t *b)
{
	char rec[17];

	snprintf(rec, sizeof(rec), "%c%014llu\n", tag, (unsigned long long)s);
	for (unsigned i = 0; i < 512; i += 16)
		memcpy(b + i, rec, 16);
}

static const uint64_t touched[] = { 0, 1, 7, 1048576, 2097151 };

/* A sparse file of `bytes` with the labelled sectors above written. */
static void make_image(const char *path, uint64_t bytes, char tag)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint8_t b[512];

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)bytes), 0);
	for (unsigned i = 0; i < sizeof(touched) / sizeof(touched[0]); i++) {
		if (touched[i] >= bytes / 512)
			continue;
		label(touched[i], tag, b);
		cr_assert_eq(pwrite(fd, b, 512, (off_t)(touched[i] * 512)), 512);
	}
	close(fd);
}

static long rss_kib(void)
{
	long pages = 0, size;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &size, &pages), 2);
	fclose(f);
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Peak resident memory of this process (each test runs in its own). */
static long peak_kib(void)
{
	struct rusage ru;

	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

static struct sim_disk *disk_on(struct sim_image *img, struct sim_sched *s, uint64_t id)
{
	struct sim_disk_config cfg = { .name = "img", .size_sectors = GIB / 512, .image = img,
				       .disk_id = id };
	struct sim_disk *d;

	cr_assert_eq(sim_disk_create(&cfg, s, &d), 0);
	return d;
}

TestSuite(image_disk, .init = setup, .fini = teardown);

Test(image_disk, sparse_gib_costs_what_is_touched)
{
	char path[128], path2[128], err[256];
	struct sim_sched s;
	struct sim_sched_opts so = { .seed = 1 };
	struct sim_image *img, *img2;
	struct sim_disk *d, *fork, *other;
	uint8_t b[512], want[512], page[4096];
	uint64_t h0, h1;
	struct stat before, after;
	long rss0;

	snprintf(path, sizeof(path), "%s/a.img", dir);
	snprintf(path2, sizeof(path2), "%s/b.img", dir);
	make_image(path, GIB, 'A');
	make_image(path2, GIB, 'B');
	cr_assert_eq(stat(path, &before), 0);
	sim_sched_init(&s, &so);
	rss0 = rss_kib();
	cr_assert_eq(sim_image_open(path, GIB, &img, err, sizeof(err)), 0, "%s", err);
	d = disk_on(img, &s, 0);

	for (unsigned i = 0; i < sizeof(touched) / sizeof(touched[0]); i++) {
		cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_READ, touched[i], 1, b), 0);
		label(touched[i], 'A', want);
		cr_expect_eq(memcmp(b, want, 512), 0, "sector %llu",
			     (unsigned long long)touched[i]);
	}
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_READ, 2, 1, b), 0);
	memset(want, 0, 512);
	cr_expect_eq(memcmp(b, want, 512), 0, "a hole of the image reads zeros");

	/* Hashing: an untouched image disk, and one whose page holds the
	 * image's own bytes again, hash alike; a change differs. */
	h0 = sim_disk_durable_hash(d);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_READ, 1048576, 8, page), 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_WRITE, 1048576, 8, page), 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_FLUSH, 0, 0, NULL), 0);
	cr_expect_eq(sim_disk_durable_hash(d), h0);
	memset(b, 0x5a, 512);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_WRITE, 7, 1, b), 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_FLUSH, 0, 0, NULL), 0);
	h1 = sim_disk_durable_hash(d);
	cr_expect_neq(h1, h0);
	cr_assert_eq(sim_disk_fork(d, NULL, 0, NULL, &fork), 0);
	cr_expect_eq(sim_disk_durable_hash(fork), h1);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(fork), BIO_READ, 0, 1, b), 0);
	label(0, 'A', want);
	cr_expect_eq(memcmp(b, want, 512), 0, "a fork reads the image too");

	/* Another image of the same length with the same (empty) overlay: the
	 * image's identity is in the hash, its content is never read for it. */
	cr_assert_eq(sim_image_open(path2, GIB, &img2, err, sizeof(err)), 0, "%s", err);
	other = disk_on(img2, &s, 1);
	cr_expect_neq(sim_disk_durable_hash(other), h0);

	/* Hashing read only the written pages' image bytes, never the image. */
	cr_expect_lt(sim_image_bytes_read(img), 64 * 1024, "%llu bytes of the image read",
		     (unsigned long long)sim_image_bytes_read(img));
	cr_expect_lt(sim_image_bytes_read(img2), 4096);
	/* Two 1 GiB images, hashed and forked: a few pages resident, not 2 GiB. */
	cr_expect_lt(rss_kib() - rss0, 16 * 1024, "resident grew by %ld KiB", rss_kib() - rss0);

	sim_disk_destroy(fork);
	sim_disk_destroy(d);
	sim_disk_destroy(other);
	sim_image_put(img); /* the disks held their own references */
	sim_image_put(img2);
	sim_sched_destroy(&s);
	cr_assert_eq(stat(path, &after), 0);
	cr_expect_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	cr_expect_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec, "the image was written");
	cr_expect_eq(after.st_size, before.st_size);
}

Test(image_disk, open_refuses_short_and_missing_files)
{
	char path[128], err[256];
	struct sim_image *img;

	snprintf(path, sizeof(path), "%s/small.img", dir);
	make_image(path, 8192, 'A');
	cr_expect_eq(sim_image_open(path, 8704, &img, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "holds 8192 bytes, 8704 needed"), "%s", err);
	snprintf(path, sizeof(path), "%s/none.img", dir);
	cr_expect_eq(sim_image_open(path, 512, &img, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "none.img': No such file"), "%s", err);
	cr_expect_eq(sim_image_open(dir, 512, &img, err, sizeof(err)), -EINVAL);
}

struct restarts {
	int n;
	char err[512];
};

/* Restart at each marker and check the touched ranges of every device
 * against the model (a whole-device check would read the whole image). */
static int restart_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct restarts *r = ctx;
	struct replay_world *nw;
	static const char *const devs[] = { "big", "snap", "org" };

	(void)cp;
	if (replay_world_restart_from(w, NULL, &nw, r->err, sizeof(r->err)) || r->err[0])
		return 1;
	for (unsigned i = 0; i < 3; i++)
		if (replay_world_read_check(nw, devs[i], 0, 16, r->err, sizeof(r->err)) ||
		    replay_world_read_check(nw, devs[i], 1048568, 24, r->err, sizeof(r->err)) ||
		    replay_world_read_check(nw, devs[i], 2097144, 8, r->err, sizeof(r->err))) {
			replay_world_destroy(nw);
			return 1;
		}
	r->n++;
	replay_world_destroy(nw);
	return 0;
}

/* A trace over the 1 GiB image: reads of its labelled sectors checked by
 * the model (which reads the image too), writes over them, a snapshot, a
 * crash at every marker restarted and checked; the file never changes. */
Test(image_disk, trace_replays_and_restarts_over_a_gib_image, .timeout = 120)
{
	char path[128], tpath[128], lab[1100];
	FILE *f;
	struct restarts rs = { 0 };
	struct replay_opts o = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = restart_hook,
				 .crash_ctx = &rs };
	struct replay_result res;
	struct trace_error err;
	struct stat before, after;
	uint8_t b[512];
	long rss0;

	snprintf(path, sizeof(path), "%s/disk.img", dir);
	make_image(path, GIB, 'T');
	cr_assert_eq(stat(path, &before), 0);
	label(1048576, 'T', b);
	for (unsigned i = 0; i < 512; i++)
		snprintf(lab + 2 * i, 3, "%02x", b[i]);
	snprintf(tpath, sizeof(tpath), "%s/t.yaml", dir);
	f = fopen(tpath, "w");
	cr_assert(f);
	fprintf(f, "version: 1\n"
		"disks:\n"
		"  - name: big\n"
		"    image: disk.img\n"
		"  - name: cow\n"
		"    size: 4MiB\n"
		"steps:\n"
		"  - read: big\n    offset: 1048576s\n    length: 1s\n"
		"    expect:\n      bytes: \"%s\"\n"
		"  - read: big\n    offset: 0\n    length: 16s\n"
		"  - dm: create snap --table \"0 2097152 snapshot /dev/big /dev/cow P 8\"\n"
		"  - dm: create org --table \"0 2097152 snapshot-origin /dev/big\"\n"
		"  - write: org\n    offset: 1048576s\n    length: 8s\n    data: seed-4\n"
		"  - crash: written\n"
		"  - flush: org\n"
		"  - crash: flushed\n"
		"  - read: snap\n    offset: 1048576s\n    length: 1s\n"
		"    expect:\n      bytes: \"%s\"\n"
		"  - read: org\n    offset: 1048576s\n    length: 8s\n    expect: seed-4\n",
		lab, lab);
	fclose(f);
	rss0 = peak_kib();
	cr_assert_eq(replay_run(tpath, &o, &res, &err), REPLAY_PASS, "%s", res.failure);
	cr_expect_eq(res.crash_points, 2);
	cr_expect_eq(rs.n, 2, "%s", rs.err);
	cr_expect_eq(res.expects_checked, 3);
	cr_expect_eq(res.image_bytes, GIB);
	cr_expect_lt(res.image_bytes_read, 1u << 20, "%llu bytes of the image read",
		     (unsigned long long)res.image_bytes_read);
	cr_expect_lt(peak_kib() - rss0, 32 * 1024, "peak resident grew by %ld KiB",
		     peak_kib() - rss0);
	cr_assert_eq(stat(path, &after), 0);
	cr_expect_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec, "the image was written");
	cr_expect_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
}
