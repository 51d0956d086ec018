/*
 * test_dm_snap_ctr.c - construction of snapshot, snapshot-merge and
 * snapshot-origin (spec 1.2-1.4): every argument rule and its message in
 * the spec's order, table output normalisation (1.6), status strings (1.7)
 * and the registered versions.
 */
#include "snap_test_env.h"

#define COW_SECTORS 4096

static struct senv E;

static void setup(void)
{
	senv_init(&E);
	senv_disk(&E, "sd1a", 2048);
	senv_disk(&E, "cow", COW_SECTORS);
	senv_disk(&E, "cow2", COW_SECTORS);
}

static void teardown(void)
{
	senv_fini(&E);
}

TestSuite(snap_ctr, .init = setup, .fini = teardown);

/* Build a table without a device; returns the code, message in msg. */
static int try_table(const char *text, char *msg, size_t len, unsigned *col)
{
	struct dm_table *t = NULL;
	struct ss_error err;
	int r;

	ss_error_clear(&err);
	r = dm_table_create(E.reg, text, 0, &t, &err);
	if (r == 0) {
		dm_table_destroy(t);
		snprintf(msg, len, "%s", "");
		return 0;
	}
	snprintf(msg, len, "%s", err.msg);
	if (col)
		*col = err.column;
	return r;
}

#define expect_reject(text, code, expected)                                  \
	do {                                                                  \
		char m_[300];                                                 \
		int r_ = try_table((text), m_, sizeof(m_), NULL);             \
		cr_expect_eq(r_, (code), "%s: got %d (%s)", (text), r_, m_);  \
		cr_expect_str_eq(m_, (expected), "%s", (text));               \
	} while (0)

/* Print a table built without a device. */
static char *print_table(const char *text)
{
	struct dm_table *t = NULL;
	struct ss_error err;
	char *out;

	ss_error_clear(&err);
	senv_ok(dm_table_create(E.reg, text, 0, &t, &err), &err);
	out = dm_table_print(t);
	dm_table_destroy(t);
	return out;
}

#define expect_print(text, expected)                                         \
	do {                                                                  \
		char *p_ = print_table(text);                                 \
		cr_expect_str_eq(p_, (expected), "%s", (text));               \
		free(p_);                                                     \
	} while (0)

Test(snap_ctr, argument_count)
{
	expect_reject("0 1024 snapshot", -EINVAL,
		      "snapshot: requires 4 or more arguments");
	expect_reject("0 1024 snapshot sd1a cow P", -EINVAL,
		      "snapshot: requires 4 or more arguments");
	expect_reject("0 1024 snapshot-merge sd1a cow", -EINVAL,
		      "snapshot-merge: requires 4 or more arguments");
}

Test(snap_ctr, feature_arguments)
{
	static const char *const bad_count[] = {
		"0 1024 snapshot sd1a cow P 8 3 discard_zeroes_cow a b",
		"0 1024 snapshot sd1a cow P 8 x",
		"0 1024 snapshot sd1a cow P 8 1x discard_zeroes_cow",
		"0 1024 snapshot sd1a cow P 8 +1 discard_zeroes_cow",
		"0 1024 snapshot sd1a cow P 8 2 discard_zeroes_cow",
		"0 1024 snapshot sd1a cow P 8 1",
	};

	for (size_t i = 0; i < sizeof(bad_count) / sizeof(bad_count[0]); i++)
		expect_reject(bad_count[i], -EINVAL,
			      "snapshot: Invalid number of feature arguments");
	expect_reject("0 1024 snapshot sd1a cow P 8 1 discard", -EINVAL,
		      "snapshot: Unrecognised feature requested");
	expect_reject("0 1024 snapshot sd1a cow P 8 1 discard_passdown_origin",
		      -EINVAL,
		      "snapshot: discard_passdown_origin feature depends on discard_zeroes_cow");
	/* Features are checked before any device is opened. */
	expect_reject("0 1024 snapshot nosuch nocow P 8 1 bogus", -EINVAL,
		      "snapshot: Unrecognised feature requested");
}

Test(snap_ctr, feature_output_normalised)
{
	expect_print("0 1024 snapshot sd1a cow P 8 0",
		     "0 1024 snapshot sd1a cow P 8\n");
	expect_print("0 1024 snapshot sd1a cow P 8 1 DISCARD_ZEROES_COW",
		     "0 1024 snapshot sd1a cow P 8 1 discard_zeroes_cow\n");
	expect_print("0 1024 snapshot sd1a cow P 8 2 discard_passdown_origin Discard_Zeroes_Cow",
		     "0 1024 snapshot sd1a cow P 8 2 discard_zeroes_cow discard_passdown_origin\n");
	expect_print("0 1024 snapshot sd1a cow P 8 2 discard_zeroes_cow discard_zeroes_cow",
		     "0 1024 snapshot sd1a cow P 8 1 discard_zeroes_cow\n");
	/* Arguments after the n features are ignored (Linux behaviour). */
	expect_print("0 1024 snapshot sd1a cow P 8 1 discard_zeroes_cow trailing junk",
		     "0 1024 snapshot sd1a cow P 8 1 discard_zeroes_cow\n");
}

Test(snap_ctr, devices)
{
	char m[300];

	cr_expect_eq(try_table("0 1024 snapshot nosuch cow P 8", m, sizeof(m), NULL),
		     -ENODEV);
	cr_expect(strstr(m, "snapshot: Cannot get origin device") == m, "%s", m);
	cr_expect_eq(try_table("0 1024 snapshot sd1a nosuch P 8", m, sizeof(m), NULL),
		     -ENODEV);
	cr_expect(strstr(m, "snapshot: Cannot get COW device") == m, "%s", m);
	expect_reject("0 1024 snapshot sd1a sd1a P 8", -EINVAL,
		      "snapshot: COW device cannot be the same as origin device");
	/* Same device by another spelling (M:m of the first external disk). */
	expect_reject("0 1024 snapshot sd1a 7:0 P 8", -EINVAL,
		      "snapshot: COW device cannot be the same as origin device");
}

Test(snap_ctr, error_positions)
{
	char m[300];
	unsigned col = 0;

	/* "0 1024 snapshot sd1a cow X 8": X is at column 26. */
	try_table("0 1024 snapshot sd1a cow X 8", m, sizeof(m), &col);
	cr_expect_eq(col, 26);
	try_table("0 1024 snapshot sd1a cow P 12", m, sizeof(m), &col);
	cr_expect_eq(col, 28);
	try_table("0 1024 snapshot sd1a sd1a P 8", m, sizeof(m), &col);
	cr_expect_eq(col, 22);
}

Test(snap_ctr, store_token)
{
	expect_reject("0 1024 snapshot sd1a cow X 8", -EINVAL,
		      "snapshot: Couldn't create exception store: Exception store type is not P or N");
	expect_reject("0 1024 snapshot sd1a cow persistent 8", -EINVAL,
		      "snapshot: Couldn't create exception store: Unsupported persistent store option");
	expect_reject("0 1024 snapshot sd1a cow Px 8", -EINVAL,
		      "snapshot: Couldn't create exception store: Unsupported persistent store option");
	/* Store token checked before the chunk size. */
	expect_reject("0 1024 snapshot sd1a cow X 12", -EINVAL,
		      "snapshot: Couldn't create exception store: Exception store type is not P or N");
	expect_print("0 1024 snapshot sd1a cow p 8", "0 1024 snapshot sd1a cow P 8\n");
	expect_print("0 1024 snapshot sd1a cow pO 8", "0 1024 snapshot sd1a cow PO 8\n");
	expect_print("0 1024 snapshot sd1a cow pox 8", "0 1024 snapshot sd1a cow PO 8\n");
	expect_print("0 1024 snapshot sd1a cow n 8", "0 1024 snapshot sd1a cow N 8\n");
	expect_print("0 1024 snapshot sd1a cow nonpersistent 8",
		     "0 1024 snapshot sd1a cow N 8\n");
}

Test(snap_ctr, chunk_size)
{
	static const char *const invalid[] = { "abc", "8x", "-8", "", "4294967296",
					       "0x8", " 8" };
	char line[200];

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		snprintf(line, sizeof(line), "0 1024 snapshot sd1a cow N %s%s",
			 invalid[i], invalid[i][0] ? "" : "\\ ");
		if (!invalid[i][0] || invalid[i][0] == ' ')
			continue; /* the splitter eats those */
		expect_reject(line, -EINVAL,
			      "snapshot: Couldn't create exception store: Invalid chunk size");
	}
	expect_reject("0 1024 snapshot sd1a cow N 12", -EINVAL,
		      "snapshot: Couldn't create exception store: Chunk size is not a power of 2");
	expect_reject("0 1024 snapshot sd1a cow N 4194304", -EINVAL,
		      "snapshot: Couldn't create exception store: Chunk size is too high");
	expect_print("0 1024 snapshot sd1a cow N 2097152",
		     "0 1024 snapshot sd1a cow N 2097152\n");
	expect_print("0 1024 snapshot sd1a cow N +16",
		     "0 1024 snapshot sd1a cow N 16\n");
	expect_print("0 1024 snapshot sd1a cow N 1", "0 1024 snapshot sd1a cow N 1\n");
	expect_reject("0 1024 snapshot sd1a cow N 0", -EINVAL,
		      "snapshot: Chunk size not set");
}

Test(snap_ctr, chunk_size_block_multiple)
{
	E.disks[2]->base.logical_block_bytes = 4096; /* cow2: 8 sectors */
	expect_reject("0 1024 snapshot sd1a cow2 N 4", -EINVAL,
		      "snapshot: Couldn't create exception store: Chunk size is not a multiple of device blocksize");
	expect_print("0 1024 snapshot sd1a cow2 N 8", "0 1024 snapshot sd1a cow2 N 8\n");
	E.disks[2]->base.logical_block_bytes = 512;
	E.disks[0]->base.logical_block_bytes = 2048; /* origin: 4 sectors */
	expect_reject("0 1024 snapshot sd1a cow2 N 2", -EINVAL,
		      "snapshot: Couldn't create exception store: Chunk size is not a multiple of device blocksize");
	E.disks[0]->base.logical_block_bytes = 512;
}

Test(snap_ctr, persistent_effective_chunk_size)
{
	/* New COW, table 0: the default 32 sectors, and activation makes the
	 * header durable (exstore_persistent.c "Creation"), so from then on
	 * the header's value wins over the table's. */
	expect_print("0 1024 snapshot sd1a cow P 0", "0 1024 snapshot sd1a cow P 32\n");
	expect_print("0 1024 snapshot sd1a cow P 8", "0 1024 snapshot sd1a cow P 32\n");
	/* A fresh COW with a table value keeps it, and it sticks. */
	expect_print("0 1024 snapshot sd1a cow2 PO 16",
		     "0 1024 snapshot sd1a cow2 PO 16\n");
	expect_print("0 1024 snapshot sd1a cow2 P 0", "0 1024 snapshot sd1a cow2 P 16\n");
	/* A header written by someone else wins the same way. */
	{
		struct cow_header h = { COW_MAGIC, 1, COW_VERSION, 64 };

		cow_header_encode(&h, E.disks[1]->data);
	}
	expect_print("0 1024 snapshot sd1a cow P 8", "0 1024 snapshot sd1a cow P 64\n");
}

/*
 * Linux writes a new store's header at activation, so a snapshot removed
 * before any commit leaves a store behind whose chunk size overrides the
 * next table's ("chunk size 8 in device metadata overrides table chunk
 * size of 16").
 */
Test(snap_ctr, header_written_at_activation_overrides_next_table)
{
	struct cow_header h;

	senv_create(&E, "X_org", "0 1024 linear sd1a 0");
	senv_create(&E, "S", "0 1024 snapshot /dev/mapper/X_org cow P 8");
	cow_header_decode(E.disks[1]->data, &h);
	cr_expect_eq(h.magic, COW_MAGIC, "no header after activation");
	cr_expect_eq(h.valid, 1);
	cr_expect_eq(h.version, COW_VERSION);
	cr_expect_eq(h.chunk_sectors, 8);
	senv_remove(&E, "S");
	senv_create(&E, "S", "0 1024 snapshot /dev/mapper/X_org cow P 16");
	expect_table(&E, "S", "0 1024 snapshot 254:0 cow P 8\n");
	expect_status(&E, "S", "0 1024 snapshot 16/4096 16\n");
}

Test(snap_ctr, bad_metadata)
{
	memcpy(E.disks[1]->data, "junk", 4);
	expect_reject("0 1024 snapshot sd1a cow P 8", -ENXIO,
		      "snapshot: Failed to read snapshot metadata");
}

Test(snap_ctr, nonzero_start_rejected)
{
	expect_reject("0 8 zero\n8 1016 snapshot sd1a cow N 8", -EINVAL,
		      "snapshot: Snapshot targets must start at sector 0");
	expect_reject("0 8 zero\n8 1016 snapshot-origin sd1a", -EINVAL,
		      "snapshot-origin: Snapshot targets must start at sector 0");
}

Test(snap_ctr, merge_needs_persistent)
{
	expect_reject("0 1024 snapshot-merge sd1a cow N 8", -EINVAL,
		      "snapshot-merge: Snapshot exception store does not support snapshot-merge.");
	expect_print("0 1024 snapshot-merge sd1a cow P 8",
		     "0 1024 snapshot-merge sd1a cow P 8\n");
}

Test(snap_ctr, origin_arguments)
{
	char m[300];

	expect_reject("0 1024 snapshot-origin", -EINVAL,
		      "snapshot-origin: origin: incorrect number of arguments");
	expect_reject("0 1024 snapshot-origin sd1a cow", -EINVAL,
		      "snapshot-origin: origin: incorrect number of arguments");
	cr_expect_eq(try_table("0 1024 snapshot-origin nosuch", m, sizeof(m), NULL),
		     -ENODEV);
	cr_expect(strstr(m, "snapshot-origin: Cannot get target device") == m,
		  "%s", m);
	expect_print("0 1024 snapshot-origin sd1a", "0 1024 snapshot-origin sd1a\n");
}

Test(snap_ctr, two_snapshots_on_one_cow_refused)
{
	struct dm_table *t1 = NULL, *t2 = NULL;
	struct ss_error err;
	char m[300];

	ss_error_clear(&err);
	senv_ok(dm_table_create(E.reg, "0 1024 snapshot sd1a cow P 8", 0, &t1, &err),
		&err);
	/* The first one is not active (never resumed): no handover. */
	expect_reject("0 1024 snapshot sd1a cow P 8", -EINVAL,
		      "snapshot: Snapshot cow pairing for exception table handover failed");
	/* The same COW under another origin is refused (snapsim note). */
	cr_expect_eq(try_table("0 1024 snapshot cow2 cow P 8", m, sizeof(m), NULL),
		     -EINVAL);
	cr_expect_str_eq(m, "snapshot: COW device is already used by a snapshot of another origin");
	(void)t2;
	dm_table_destroy(t1);
	/* Gone: the COW is free again. */
	expect_print("0 1024 snapshot sd1a cow P 8", "0 1024 snapshot sd1a cow P 8\n");
}

Test(snap_ctr, versions)
{
	char *t = dm_registry_targets_text(E.reg);

	cr_assert_not_null(t);
	cr_expect(strstr(t, "snapshot-merge   v1.5.0\n") != NULL, "%s", t);
	cr_expect(strstr(t, "snapshot         v1.16.0\n") != NULL, "%s", t);
	cr_expect(strstr(t, "snapshot-origin  v1.9.0\n") != NULL, "%s", t);
	free(t);
}

/* ---- status through mapped devices ---- */

static void recipe_devices(const char *snap_table)
{
	senv_create(&E, "X_org", "0 1024 linear sd1a 0");
	senv_create(&E, "X_snap", snap_table);
	senv_create(&E, "X", "0 1024 snapshot-origin /dev/mapper/X_org");
}

Test(snap_ctr, status_fresh_persistent)
{
	recipe_devices("0 1024 snapshot /dev/mapper/X_org cow P 8");
	expect_status(&E, "X_snap", "0 1024 snapshot 16/4096 16\n");
	expect_table(&E, "X_snap", "0 1024 snapshot 254:0 cow P 8\n");
	expect_status(&E, "X", "0 1024 snapshot-origin \n");
	expect_table(&E, "X", "0 1024 snapshot-origin 254:0\n");
	{
		struct ss_error err;
		char *d = NULL;

		/* deps: the COW before the origin (most recently acquired first). */
		ss_error_clear(&err);
		senv_ok(dm_deps_text(E.reg, "X_snap", false, &d, &err), &err);
		cr_expect_str_eq(d, "2 dependencies\t: (7, 1) (254, 0)\n");
		free(d);
		senv_ok(dm_deps_text(E.reg, "X", false, &d, &err), &err);
		cr_expect_str_eq(d, "1 dependencies\t: (254, 0)\n");
		free(d);
	}
}

Test(snap_ctr, status_fresh_transient)
{
	recipe_devices("0 1024 snapshot /dev/mapper/X_org cow n 8");
	expect_status(&E, "X_snap", "0 1024 snapshot 0/4096 0\n");
	expect_table(&E, "X_snap", "0 1024 snapshot 254:0 cow N 8\n");
}

Test(snap_ctr, status_default_chunk)
{
	recipe_devices("0 1024 snapshot /dev/mapper/X_org cow P 0");
	expect_status(&E, "X_snap", "0 1024 snapshot 64/4096 64\n");
	expect_table(&E, "X_snap", "0 1024 snapshot 254:0 cow P 32\n");
}

Test(snap_ctr, status_marked_invalid)
{
	/* A header with valid = 0: the load succeeds, the snapshot is Invalid. */
	struct cow_header h = { COW_MAGIC, 0, COW_VERSION, 8 };

	cow_header_encode(&h, E.disks[1]->data);
	recipe_devices("0 1024 snapshot /dev/mapper/X_org cow P 8");
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
}
