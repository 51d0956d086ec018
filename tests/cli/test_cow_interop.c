/*
 * test_cow_interop.c - the offline COW tools against a store written by
 * core's persistent exception store through the dm stack (the spec 6.8
 * recipe on image files): `cow check` finds it clean, `cow inspect` shows
 * the usage the kernel status line shows, and `cow export` gives back the
 * origin as it was before the writes. The other COW tests build images by
 * hand; this one guards against the reader and the writer drifting apart.
 * And on the fuzz corpus of fuzz_cow, `cow check` fails exactly the stores
 * activation refuses.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <dirent.h>

#include "dm.h"
#include "exstore.h"
#include "fifo_executor.h"
#include "file_bdev.h"
#include "mem_bdev.h"

#define ORIGIN_SECTORS 4096u
#define NR_WRITES 100

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cow_interop, .init = setup, .fini = teardown);

static int writes_done;

static void write_done(struct bio *bio, int status)
{
	(void)bio;
	cr_assert_eq(status, 0);
	writes_done++;
}

/* Snapshot the origin, write through the origin device, return the status. */
static char *write_through_snapshot(const char *origin, const char *cow)
{
	static uint8_t buf[NR_WRITES][512];
	struct bio bios[NR_WRITES];
	struct fifo_executor fx;
	struct ss_error err;
	struct file_bdev *hdd, *cd;
	struct dm_registry *reg;
	struct bdev *x;
	char *status;

	fifo_executor_init(&fx);
	reg = dm_registry_create(&fx.base);
	cr_assert_not_null(reg);
	ss_error_clear(&err);
	cr_assert_eq(file_bdev_open(origin, "hdd", false, &fx.base, &hdd, &err), 0);
	cr_assert_eq(file_bdev_open(cow, "cow", false, &fx.base, &cd, &err), 0);
	cr_assert_eq(dm_registry_add_bdev(reg, file_bdev_bdev(hdd), &err), 0);
	cr_assert_eq(dm_registry_add_bdev(reg, file_bdev_bdev(cd), &err), 0);
	cr_assert_eq(dm_create(reg, "X_org", NULL, "0 4096 linear hdd 0", 0, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(dm_create(reg, "X_snap", NULL,
			       "0 4096 snapshot /dev/mapper/X_org cow P 1", 0, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(dm_create(reg, "X", NULL, "0 4096 snapshot-origin /dev/mapper/X_org",
			       0, &err), 0, "%s", err.msg);
	fifo_executor_run(&fx, 0);
	x = dm_device_bdev(dm_find_device(reg, "X"));
	for (unsigned i = 0; i < NR_WRITES; i++) {
		memset(buf[i], 0xEE, sizeof(buf[i]));
		bio_init(&bios[i], x, BIO_WRITE, 0, (sector_t)(i * 37u % ORIGIN_SECTORS),
			 1, buf[i], write_done, NULL);
		bdev_submit(&bios[i]);
	}
	fifo_executor_run(&fx, 0);
	cr_assert_eq(writes_done, NR_WRITES);
	cr_assert_eq(dm_status_text(reg, "X_snap", false, &status, &err), 0);
	dm_registry_destroy(reg);
	fifo_executor_run(&fx, 0);
	bdev_destroy(file_bdev_bdev(hdd));
	bdev_destroy(file_bdev_bdev(cd));
	fifo_executor_destroy(&fx);
	return status;
}

Test(cow_interop, store_written_by_core_reads_back)
{
	const char *origin = tpath("origin.img"), *cow = tpath("cow.img");
	const char *out = tpath("snap.img");
	size_t n = (size_t)ORIGIN_SECTORS * 512, nb;
	uint8_t *o = malloc(n), *z = calloc(1, 1 << 20);
	char *status, *usage, *got;
	struct run_result r;

	for (size_t i = 0; i < n; i++)
		o[i] = (uint8_t)(i / 512 * 7);
	write_file(origin, o, n);
	write_file(cow, z, 1 << 20);
	free(z);
	status = write_through_snapshot(origin, cow);

	run(&r, "cow", "check", cow, "--origin", origin, NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "clean, 0 error(s), 0 warning(s); 100 exception(s) in 4 area(s)");
	run_free(&r);

	/* "0 4096 snapshot A/T M": the same three numbers as inspect's usage. */
	usage = strstr(status, "snapshot ");
	cr_assert_not_null(usage, "%s", status);
	usage += strlen("snapshot ");
	usage[strcspn(usage, "\n")] = '\0';
	run(&r, "cow", "inspect", cow, NULL);
	cr_assert_eq(r.status, 0);
	{
		char want[128];
		snprintf(want, sizeof(want), "usage:             %s (allocated", usage);
		assert_has(r.out, want);
	}
	run_free(&r);
	free(status);

	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	got = slurp(out, &nb);
	cr_assert_eq(nb, n);
	cr_assert(memcmp(got, o, n) == 0, "export differs from the origin before the writes");
	free(got);
	free(o);
}

/* ---- cow check and activation agree on the fuzz corpus ---- */

static int count_add(void *ctx, chunk_t o, chunk_t n)
{
	(void)o;
	(void)n;
	(*(size_t *)ctx)++;
	return 0;
}

/* fuzz_cow's input: byte 0 picks the table's chunk size, the rest is the COW. */
static int activate_fuzz_input(const uint8_t *data, size_t size, uint32_t *magic)
{
	struct fifo_executor fx;
	struct mem_bdev *md;
	struct exstore *s = NULL;
	struct ss_error err;
	uint32_t cs = data[0] % 6 == 5 ? 0 : 1u << (data[0] % 6);
	size_t added = 0;
	int r;

	fifo_executor_init(&fx);
	md = mem_bdev_create("cow", (size - 1 + 511) / 512, &fx.base);
	cr_assert_not_null(md);
	memcpy(md->data, data + 1, size - 1);
	*magic = md->base.size_sectors ? (uint32_t)md->data[0] | (uint32_t)md->data[1] << 8 |
		 (uint32_t)md->data[2] << 16 | (uint32_t)md->data[3] << 24 : 0;
	ss_error_clear(&err);
	cr_assert_eq(exstore_create("P", cs, &md->base, 1, &fx.base, &s, &err), 0);
	r = s->type->read_metadata(s, count_add, &added, &err);
	exstore_destroy(s);
	fifo_executor_run(&fx, 0);
	bdev_destroy(&md->base);
	fifo_executor_destroy(&fx);
	return r;
}

Test(cow_interop, cow_check_exit_code_agrees_with_activation_on_the_fuzz_corpus)
{
	static const char *dirs[] = { SNAPSIM_SOURCE_DIR "/fuzz/corpus/cow",
				      SNAPSIM_SOURCE_DIR "/fuzz/regressions/cow" };
	unsigned judged = 0, refused = 0;

	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		cr_assert_not_null(dir, "%s", dirs[d]);
		while ((e = readdir(dir))) {
			char path[512];
			uint8_t *data, *img;
			size_t size, sectors;
			struct run_result r;
			uint32_t magic;
			int rc;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
			data = (uint8_t *)slurp(path, &size);
			if (size < 1) {
				free(data);
				continue;
			}
			rc = activate_fuzz_input(data, size, &magic);
			/* The same bytes as the store saw: padded to whole sectors. */
			sectors = (size - 1 + 511) / 512;
			img = calloc(1, sectors * 512 + 1);
			memcpy(img, data + 1, size - 1);
			write_file(tpath("fuzz.img"), img, sectors * 512);
			run(&r, "cow", "check", tpath("fuzz.img"), NULL);
			cr_expect_eq(r.status & 8, 0, "%s: operational error: %s", path, r.err);
			/* A new store (magic 0) is created by activation: not judged. */
			if (magic != 0) {
				judged++;
				refused += rc < 0;
				cr_expect_eq((r.status & 4) != 0, rc < 0,
					     "%s: cow check exit %d, activation %d\n%s", path, r.status,
					     rc, r.out);
			}
			run_free(&r);
			free(img);
			free(data);
		}
		closedir(dir);
	}
	cr_expect_geq(judged, 10, "only %u corpus inputs judged", judged);
	cr_expect_geq(refused, 3, "the corpus has corrupt stores; only %u refused", refused);
}
