/*
 * test_dm_snap_prop.c - a randomized check of the snapshot targets against
 * a trivial model: one origin, three snapshots (persistent cs 8, PO cs 32,
 * transient cs 64), batches of concurrent reads and writes through the
 * origin and the snapshots, each batch touching distinct 64-sector regions,
 * then reload handover, re-activation and a merge. Prints its seed first.
 */
#include "snap_test_env.h"

#define X_SECTORS 1024u
#define REGION 64u
#define NSNAP 3
#define BATCH 8

static struct senv E;

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng_state >> 33) % n);
}

/* The model: what each device must read. */
static uint8_t *model_origin;
static uint8_t *model_snap[NSNAP];
static const char *const snap_name[NSNAP] = { "S0", "S1", "S2" };

struct op {
	struct sio io;
	int dev;          /* -1 origin, else snapshot index */
	bool write;
	sector_t sector;
	uint32_t n;
	uint8_t *buf;
};

static struct bdev *dev_of(int d)
{
	return senv_dm(&E, d < 0 ? "X" : snap_name[d]);
}

static uint8_t *model_of(int d)
{
	return d < 0 ? model_origin : model_snap[d];
}

static void run_batch(void)
{
	struct op ops[BATCH];
	bool used[X_SECTORS / REGION] = { false };
	unsigned nops = 1 + rnd(BATCH);

	for (unsigned i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		unsigned region;

		do
			region = rnd(X_SECTORS / REGION);
		while (used[region]);
		used[region] = true;
		o->dev = (int)rnd(NSNAP + 2) - 1;
		if (o->dev >= NSNAP)
			o->dev = -1; /* origin twice as likely */
		o->write = rnd(3) != 0;
		o->n = 1 + rnd(REGION);
		o->sector = region * REGION + rnd(REGION - o->n + 1);
		o->buf = calloc(o->n, SECTOR_SIZE);
		cr_assert_not_null(o->buf);
		if (o->write) {
			for (uint32_t b = 0; b < o->n * SECTOR_SIZE; b++)
				o->buf[b] = (uint8_t)rnd(256);
		}
	}
	for (unsigned i = 0; i < nops; i++) {
		struct op *o = &ops[i];

		sio_start(&o->io, dev_of(o->dev), o->write ? BIO_WRITE : BIO_READ,
			  0, o->sector, o->n, o->buf);
	}
	senv_run(&E);
	for (unsigned i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		size_t off = (size_t)o->sector << SECTOR_SHIFT;
		size_t len = (size_t)o->n << SECTOR_SHIFT;

		cr_assert_eq(o->io.done, 1);
		cr_assert_eq(o->io.status, 0, "op %u dev %d %s %llu+%u: %d", i,
			     o->dev, o->write ? "write" : "read",
			     (unsigned long long)o->sector, o->n, o->io.status);
		if (o->write) {
			memcpy(model_of(o->dev) + off, o->buf, len);
		} else {
			cr_assert(memcmp(model_of(o->dev) + off, o->buf, len) == 0,
				  "dev %d read %llu+%u differs from the model",
				  o->dev, (unsigned long long)o->sector, o->n);
		}
		free(o->buf);
	}
}

static void check_all(void)
{
	uint8_t *b = calloc(X_SECTORS, SECTOR_SIZE);

	cr_assert_not_null(b);
	for (int d = -1; d < NSNAP; d++) {
		cr_assert_eq(senv_io(&E, dev_of(d), BIO_READ, 0, 0, X_SECTORS, b), 0);
		cr_assert(memcmp(b, model_of(d), (size_t)X_SECTORS << SECTOR_SHIFT) == 0,
			  "device %d differs from the model", d);
	}
	free(b);
}

static void take_snapshot(int i, const char *store, unsigned cs, const char *cow)
{
	char line[200];

	senv_suspend(&E, "X");
	snprintf(line, sizeof(line), "0 %u snapshot /dev/mapper/X_org %s %s %u",
		 X_SECTORS, cow, store, cs);
	senv_create(&E, snap_name[i], line);
	senv_resume(&E, "X");
	memcpy(model_snap[i], model_origin, (size_t)X_SECTORS << SECTOR_SHIFT);
}

static void one_run(uint64_t seed, bool shuffled)
{
	size_t bytes = (size_t)X_SECTORS << SECTOR_SHIFT;
	const char *const spec[NSNAP][3] = {
		{ "P", "8", "cow0" }, { "PO", "32", "cow1" }, { "N", "64", "cow2" },
	};

	rng_state = seed;
	if (shuffled)
		senv_init_shuffled(&E, seed ^ 0x5eed);
	else
		senv_init(&E);
	senv_disk(&E, "sd1a", 2048);
	senv_disk(&E, "cow0", 2048);
	senv_disk(&E, "cow1", 2048);
	senv_disk(&E, "cow2", 2048);
	model_origin = calloc(1, bytes);
	for (int i = 0; i < NSNAP; i++)
		model_snap[i] = calloc(1, bytes);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	senv_suspend(&E, "X");
	senv_create(&E, "X_org", "0 1024 linear sd1a 384");
	senv_load(&E, "X", "0 1024 snapshot-origin /dev/mapper/X_org");
	senv_resume(&E, "X");
	/* Snapshots appear one by one, with origin writes in between. */
	for (int i = 0; i < NSNAP; i++) {
		for (int k = 0; k < 5; k++) {
			uint32_t n = 1 + rnd(REGION);
			sector_t sec = rnd(X_SECTORS / REGION) * REGION +
				       rnd(REGION - n + 1);
			uint8_t *b = calloc(n, SECTOR_SIZE);

			for (uint32_t x = 0; x < n * SECTOR_SIZE; x++)
				b[x] = (uint8_t)rnd(256);
			cr_assert_eq(senv_io(&E, senv_dm(&E, "X"), BIO_WRITE, 0, sec,
					     n, b), 0);
			memcpy(model_origin + (sec << SECTOR_SHIFT), b,
			       (size_t)n << SECTOR_SHIFT);
			free(b);
		}
		take_snapshot(i, spec[i][0], (unsigned)atoi(spec[i][1]), spec[i][2]);
	}
	for (int batch = 0; batch < 60; batch++)
		run_batch();
	check_all();

	/* Reload S0 (handover to a new table on the same device). */
	senv_load(&E, "S0", "0 1024 snapshot /dev/mapper/X_org cow0 P 8");
	senv_suspend(&E, "S0");
	senv_resume(&E, "S0");
	for (int batch = 0; batch < 30; batch++)
		run_batch();
	check_all();

	/* Merge S1 into the origin: the origin must then read as S1 did. */
	senv_suspend(&E, "S1");
	senv_suspend(&E, "X");
	senv_load(&E, "X", "0 1024 snapshot-merge /dev/mapper/X_org cow1 PO 32");
	senv_resume(&E, "X");
	senv_remove(&E, "S1");
	memcpy(model_origin, model_snap[1], bytes);
	memcpy(model_snap[1], model_origin, bytes); /* S1 gone: reads X */
	senv_run(&E);
	{
		uint8_t *b = calloc(X_SECTORS, SECTOR_SIZE);

		cr_assert_eq(senv_io(&E, senv_dm(&E, "X"), BIO_READ, 0, 0, X_SECTORS,
				     b), 0);
		cr_assert(memcmp(b, model_origin, bytes) == 0, "merged origin differs");
		cr_assert_eq(senv_io(&E, senv_dm(&E, "S0"), BIO_READ, 0, 0, X_SECTORS,
				     b), 0);
		cr_assert(memcmp(b, model_snap[0], bytes) == 0, "S0 changed by the merge");
		cr_assert_eq(senv_io(&E, senv_dm(&E, "S2"), BIO_READ, 0, 0, X_SECTORS,
				     b), 0);
		cr_assert(memcmp(b, model_snap[2], bytes) == 0, "S2 changed by the merge");
		free(b);
	}

	/* Re-activate S0 from its COW: same content. */
	senv_suspend(&E, "X");
	senv_remove(&E, "S0");
	senv_create(&E, "S0", "0 1024 snapshot /dev/mapper/X_org cow0 P 0");
	senv_resume(&E, "X");
	{
		uint8_t *b = calloc(X_SECTORS, SECTOR_SIZE);

		cr_assert_eq(senv_io(&E, senv_dm(&E, "S0"), BIO_READ, 0, 0, X_SECTORS,
				     b), 0);
		cr_assert(memcmp(b, model_snap[0], bytes) == 0,
			  "re-activated S0 differs");
		free(b);
	}
	senv_fini(&E);
	free(model_origin);
	for (int i = 0; i < NSNAP; i++)
		free(model_snap[i]);
}

Test(snap_prop, random_batches_match_model)
{
	const char *env = getenv("SNAPSIM_SEED");
	const char *runs = getenv("SNAPSIM_RUNS");
	uint64_t base = env ? strtoull(env, NULL, 0) : 20261125ull;
	uint64_t nruns = runs ? strtoull(runs, NULL, 0) : 20;

	for (uint64_t k = 0; k < nruns; k++) {
		fprintf(stderr, "snap_prop seed %llu\n",
			(unsigned long long)(base + k));
		one_run(base + k, false);
	}
}

/* The same with completions and deferred work in a seeded random order. */
Test(snap_prop, random_batches_match_model_shuffled)
{
	const char *env = getenv("SNAPSIM_SEED");
	const char *runs = getenv("SNAPSIM_RUNS");
	uint64_t base = env ? strtoull(env, NULL, 0) : 77ull;
	uint64_t nruns = runs ? strtoull(runs, NULL, 0) : 20;

	for (uint64_t k = 0; k < nruns; k++) {
		fprintf(stderr, "snap_prop shuffled seed %llu\n",
			(unsigned long long)(base + k));
		one_run(base + k, true);
	}
}
