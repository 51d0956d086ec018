/*
 * test_trace.c - the YAML trace loader: units, every error class with its
 * exact FILE:LINE:COLUMN, the corpus (good and bad), streaming in bounded
 * memory, repeat expansion, validation hooks.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"
#include "units.h"

/* ---- helpers ---- */

static int load_all(const char *text, struct trace_error *err, unsigned *nsteps)
{
	struct trace_reader *r;
	struct trace_item it;
	int rc = trace_open_mem("t.yaml", text, strlen(text), 0, &r, err);

	if (nsteps)
		*nsteps = 0;
	if (rc)
		return rc;
	while ((rc = trace_next(r, &it, err)) == 1)
		if (nsteps)
			(*nsteps)++;
	trace_close(r);
	return rc;
}

static void expect_error(const char *text, const char *want)
{
	struct trace_error err;
	int rc = load_all(text, &err, NULL);

	cr_expect_neq(rc, 0, "accepted: %s", text);
	cr_expect_str_eq(err.text, want, "got:  %s\nwant: %s", err.text, want);
}

#define HDR "version: 1\ndisks:\n  - {name: d, size: 1M}\n  - {name: c, size: 1M}\nsteps:\n"

/* ---- units ---- */

Test(units, sizes)
{
	uint64_t v;
	char why[160];

	cr_expect_eq(units_parse_size("64MiB", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 64ull << 20);
	cr_expect_eq(units_parse_size("2048s", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 2048ull * 512);
	cr_expect_eq(units_parse_size("1G", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 1ull << 30);
	cr_expect_eq(units_parse_size("3k", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 3072);
	cr_expect_eq(units_parse_size("2T", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 2ull << 40);
	cr_expect_eq(units_parse_size("7B", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(units_parse_size("10", &v, why, sizeof(why)), 0, "bare = sectors");
	cr_expect_eq(v, 5120);
	cr_expect_eq(units_parse_size("1MB", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "ambiguous size unit 'MB' (use K/KiB, M/MiB, G/GiB, T/TiB: "
			 "powers of 1024)");
	cr_expect_eq(units_parse_size("1 M", &v, why, sizeof(why)), -EINVAL);
	cr_expect_eq(units_parse_size("-1M", &v, why, sizeof(why)), -EINVAL);
	cr_expect_eq(units_parse_size("1.5M", &v, why, sizeof(why)), -EINVAL);
	cr_expect_eq(units_parse_size("", &v, why, sizeof(why)), -EINVAL);
	cr_expect_eq(units_parse_size("99999999999T", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "'99999999999T' is too large");
	cr_expect_eq(units_parse_size("99999999999999999999", &v, why, sizeof(why)), -EINVAL);
	cr_expect_eq(units_parse_sectors("4K", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 8);
	cr_expect_eq(units_parse_sectors("100B", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "size '100B' is not a multiple of 512 bytes");
}

Test(units, times)
{
	uint64_t v;
	char why[160];

	cr_expect_eq(units_parse_time("5us", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 5000);
	cr_expect_eq(units_parse_time("3ms", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 3000000);
	cr_expect_eq(units_parse_time("2s", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 2000000000ull);
	cr_expect_eq(units_parse_time("7ns", &v, why, sizeof(why)), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(units_parse_time("0", &v, why, sizeof(why)), 0);
	cr_expect_eq(units_parse_time("10", &v, why, sizeof(why)), -EINVAL);
	cr_expect_eq(units_parse_time("10min", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "unknown time unit 'min' (expected ns, us, ms, s)");
}

/* ---- header ---- */

Test(trace, header_and_defaults)
{
	static const char text[] =
		"version: 1\nname: hello\nseed: 42\n"
		"disks:\n"
		"  - name: sd1a\n    size: 64MiB\n"
		"  - name: hdd\n    path: /dev/hdd1\n    size: 2048s\n    sector_size: 4K\n"
		"    cache: off\n    latency: {min: 1us, max: 2ms}\n    queue_depth: 4\n"
		"    reorder: no\n    atomic_write: whole\n    initial: garbage\n"
		"    faults:\n"
		"      - {op: read, range: [8s, 16s], after_ops: 3, count: 1, error: ENOSPC}\n"
		"      - {op: write, sectors: [1, 5], latent: true}\n"
		"      - {die_at_op: 100}\n"
		"steps: []\n";
	struct trace_reader *r;
	struct trace_error err;
	const struct trace_header *h;
	struct trace_item it;

	cr_assert_eq(trace_open_mem("t.yaml", text, strlen(text), 0, &r, &err), 0, "%s", err.text);
	h = trace_header(r);
	cr_expect_eq(h->version, 1);
	cr_expect_str_eq(h->name, "hello");
	cr_expect(h->has_seed);
	cr_expect_eq(h->seed, 42);
	cr_assert_eq(h->nr_disks, 2);
	cr_expect_str_eq(h->disks[0].path, "/dev/sd1a");
	cr_expect_eq(h->disks[0].size_sectors, 131072);
	cr_expect_eq(h->disks[0].sector_bytes, 512);
	cr_expect(h->disks[0].cache);
	cr_expect(h->disks[0].reorder);
	cr_expect_eq(h->disks[0].latency_min_ns, 10000);
	cr_expect_eq(h->disks[0].latency_max_ns, 100000);
	cr_expect_eq(h->disks[0].queue_depth, 32);
	cr_expect_eq(h->disks[0].atomic_sectors, 1);
	cr_expect_eq(h->disks[0].initial, TRACE_INITIAL_ZERO);
	cr_expect_str_eq(h->disks[1].path, "/dev/hdd1");
	cr_expect_eq(h->disks[1].sector_bytes, 4096);
	cr_expect_not(h->disks[1].cache);
	cr_expect_not(h->disks[1].reorder);
	cr_expect_eq(h->disks[1].latency_min_ns, 1000);
	cr_expect_eq(h->disks[1].latency_max_ns, 2000000);
	cr_expect_eq(h->disks[1].queue_depth, 4);
	cr_expect_eq(h->disks[1].atomic_sectors, 0);
	cr_expect_eq(h->disks[1].initial, TRACE_INITIAL_GARBAGE);
	cr_assert_eq(h->disks[1].nr_faults, 3);
	cr_expect_eq(h->disks[1].faults[0].op, TRACE_FAULT_READ);
	cr_expect(h->disks[1].faults[0].has_range);
	cr_expect_eq(h->disks[1].faults[0].range_start, 8);
	cr_expect_eq(h->disks[1].faults[0].range_len, 16);
	cr_expect_eq(h->disks[1].faults[0].after_ops, 3);
	cr_expect_eq(h->disks[1].faults[0].count, 1);
	cr_expect_eq(h->disks[1].faults[0].error, -ENOSPC);
	cr_expect_eq(h->disks[1].faults[1].nr_sectors, 2);
	cr_expect_eq(h->disks[1].faults[1].sectors[1], 5);
	cr_expect(h->disks[1].faults[1].latent);
	cr_expect_eq(h->disks[1].faults[1].error, -EIO);
	cr_expect_eq(h->disks[1].faults[2].die_at_op, 100);
	cr_expect_eq(trace_next(r, &it, &err), 0);
	trace_close(r);
}

Test(trace, name_defaults_to_file_name)
{
	struct trace_reader *r;
	struct trace_error err;

	cr_assert_eq(trace_open_mem("dir/my-trace.yaml", "version: 1\n", 11, 0, &r, &err), 0);
	cr_expect_str_eq(trace_header(r)->name, "my-trace");
	cr_expect_not(trace_header(r)->has_seed);
	trace_close(r);
}

/* ---- every error class, exact position ---- */

Test(trace_errors, yaml_syntax)
{
	expect_error("version: 1\ndisks: [\n", "t.yaml:3:1: YAML syntax error: did not find "
		     "expected node content while parsing a flow node");
	expect_error("version: 1\nsteps:\n  - wait\n - bad\n",
		     "t.yaml:4:2: YAML syntax error: did not find expected key while parsing a block mapping");
	expect_error("version: 1\nname: \"open\n",
		     "t.yaml:3:1: YAML syntax error: found unexpected end of stream while "
		     "scanning a quoted scalar");
}

Test(trace_errors, structure)
{
	expect_error("", "t.yaml:1:1: empty trace (expected 'version: 1')");
	expect_error("- 1\n", "t.yaml:1:1: a trace is a mapping with version, name, seed, disks "
		     "and steps");
	expect_error("name: x\n", "t.yaml:1:1: the first key of a trace must be 'version' "
		     "(found 'name')");
	expect_error("version: 3\n", "t.yaml:1:10: unsupported trace version 3 (this snapsim "
		     "reads version 1)");
	expect_error("version: 1\nversion: 1\n", "t.yaml:2:1: duplicate key 'version' in trace");
	expect_error("version: 1\nsteps: []\nseed: 1\n", "t.yaml:3:1: 'steps' must be the last "
		     "key of a trace (found 'seed' after it)");
	expect_error("version: 1\ncolour: blue\n", "t.yaml:2:1: unknown key 'colour' in trace "
		     "(expected version, name, seed, disks, steps)");
	expect_error("version: 1\n---\nversion: 1\n", "t.yaml:2:1: a trace is one YAML document");
	expect_error("version: 1\nsteps: {a: 1}\n", "t.yaml:2:8: steps must be a list");
	expect_error("version: 1\ndisks:\n  - &a {name: d, size: 1M}\n",
		     "t.yaml:3:5: YAML anchors are not supported in traces");
}

Test(trace_errors, unknown_keys)
{
	expect_error("version: 1\ndisks:\n  - {name: d, size: 1M, colour: red}\n",
		     "t.yaml:3:25: unknown key 'colour' in a disk (expected name, path, size, "
		     "sector_size, cache, latency, queue_depth, reorder, atomic_write, initial, "
		     "image, faults, discard)");
	expect_error(HDR "  - write: d\n    length: 1s\n    data: seed-1\n    fau: true\n",
		     "t.yaml:9:5: unknown key 'fau' in write (expected write, dev, offset, length, "
		     "data, fua, preflush, error, may_fail, stride, wrap)");
	expect_error(HDR "  - read: {dev: d, length: 1s, expct: zero}\n",
		     "t.yaml:6:32: unknown key 'expct' in read (expected dev, offset, length, "
		     "expect, error, may_fail, stride, wrap)");
	expect_error(HDR "  - writ: d\n", "t.yaml:6:5: step has no action (unknown key 'writ')");
	expect_error(HDR "  - jump\n", "t.yaml:6:5: unknown step 'jump' (a step is a mapping such "
		     "as 'write: DEV', or the word wait or settle)");
	expect_error(HDR "  - read: d\n    read: d\n",
		     "t.yaml:7:5: a step has one action; 'read' and 'read' are both actions");
}

Test(trace_errors, wrong_types)
{
	expect_error(HDR "  - write: d\n    length: [1]\n    data: seed-1\n",
		     "t.yaml:7:13: length must be a scalar, not a list");
	expect_error(HDR "  - write: d\n    length: 1s\n    data: seed-1\n    fua: maybe\n",
		     "t.yaml:9:10: fua must be a boolean (true/false, on/off), not 'maybe'");
	expect_error(HDR "  - write: d\n    length: 1s\n    data: pattern\n",
		     "t.yaml:8:11: data must be seed-N, zero, or a mapping with pattern, bytes or "
		     "file");
	expect_error(HDR "  - repeat: {count: many, steps: [wait]}\n",
		     "t.yaml:6:21: count: 'many' does not start with a decimal number");
	expect_error("version: 1\ndisks: {name: d}\n", "t.yaml:2:8: disks must be a list, not a "
		     "mapping");
	expect_error(HDR "  - read: d\n    length: 1s\n    error: EWHAT\n",
		     "t.yaml:8:12: error: unknown error name 'EWHAT' (EIO, EINVAL, EBUSY, ENOSPC, "
		     "ENXIO, ENOENT, EEXIST, ENODEV, EROFS, ENOMEM, EOPNOTSUPP, ...)");
}

Test(trace_errors, bad_units)
{
	expect_error("version: 1\ndisks:\n  - {name: d, size: 64MB}\n",
		     "t.yaml:3:21: size: ambiguous size unit 'MB' (use K/KiB, M/MiB, G/GiB, T/TiB: "
		     "powers of 1024)");
	expect_error("version: 1\ndisks:\n  - {name: d, size: 1M, latency: {min: 5}}\n",
		     "t.yaml:3:40: min: duration '5' needs a unit (ns, us, ms, s)");
	expect_error(HDR "  - read: d\n    offset: 3parsecs\n    length: 1s\n",
		     "t.yaml:7:13: offset: unknown size unit 'parsecs' (expected s, B, K, KiB, M, "
		     "MiB, G, GiB, T, TiB)");
	expect_error(HDR "  - read: d\n    length: 100B\n",
		     "t.yaml:7:13: length: size '100B' is not a multiple of 512 bytes");
	expect_error(HDR "  - sleep: 10\n", "t.yaml:6:12: sleep: duration '10' needs a unit "
		     "(ns, us, ms, s)");
	expect_error("version: 1\ndisks:\n  - {name: d, size: 1M, sector_size: 1000}\n",
		     "t.yaml:3:38: sector_size must be a power of two from 512 to 65536 bytes");
}

Test(trace_errors, undefined_devices)
{
	expect_error(HDR "  - read: X\n    length: 1s\n",
		     "t.yaml:6:11: device 'X' is not defined (no disk of that name and no dm device "
		     "created before this step)");
	expect_error(HDR "  - dm: resume X\n",
		     "t.yaml:6:16: dm resume: device 'X' is not defined (never created before this "
		     "step)");
	expect_error(HDR "  - dm: create X --table \"0 8 linear /dev/e 0\"\n",
		     "t.yaml:6:38: table: device '/dev/e' is not defined (no disk and no dm device "
		     "of that name before this step)");
	expect_error(HDR "  - dm: create X --table '0 8 snapshot /dev/mapper/Y /dev/c P 8'\n",
		     "t.yaml:6:40: table: device '/dev/mapper/Y' is not defined (no disk and no dm "
		     "device of that name before this step)");
	expect_error(HDR "  - status: d\n", "t.yaml:6:13: 'd' is a disk, not a dm device");
	expect_error(HDR "  - dm: create X --notable\n  - dm: remove X\n  - table: X\n",
		     "t.yaml:8:12: device 'X' is not defined (no disk of that name and no dm device "
		     "created before this step)");
	expect_error(HDR "  - dm: create X --notable\n  - dm: table X | load Y\n",
		     "t.yaml:7:9: dm load: device 'Y' is not defined (never created before this "
		     "step)");
	/* The same steps are fine when they expect an error. */
	cr_expect_eq(load_all(HDR "  - read: X\n    length: 1s\n    error: ENXIO\n"
			      "  - dm: resume Y\n    error: ENXIO\n", NULL, NULL), 0);
}

Test(trace_errors, dm_syntax)
{
	expect_error(HDR "  - dm: create X\n", "t.yaml:6:9: dm create: give --table \"...\" or "
		     "--notable (dmsetup would read the table from standard input)");
	expect_error(HDR "  - dm: frobnicate X\n", "t.yaml:6:9: unknown dm verb 'frobnicate' "
		     "(create, load, suspend, resume, remove, clear, table NAME | load OTHER)");
	expect_error(HDR "  - dm: suspend\n", "t.yaml:6:16: dm suspend: missing device name");
	expect_error(HDR "  - dm: create X --notable\n  - dm: suspend X --now\n",
		     "t.yaml:7:19: dm suspend: unknown option '--now'");
	expect_error(HDR "  - dm: create X --table \"0 8 linear /dev/d 0\n",
		     "t.yaml:6:26: unterminated double quote in dm command");
	expect_error(HDR "  - dm: create X --table \"0 8\"\n",
		     "t.yaml:6:27: table line 1: needs <start> <length> <target_type>");
	expect_error(HDR "  - dm: create X --table \"0 x8 zero\"\n",
		     "t.yaml:6:29: table: length 'x8' is not a decimal number");
	expect_error(HDR "  - dm: create X --notable\n  - dm: table X\n",
		     "t.yaml:7:16: dm table: only 'table NAME | load OTHER' is a step; use a "
		     "'table: NAME' step to check output");
	expect_error(HDR "  - dm: create X --notable\n  - dm: load X\n",
		     "t.yaml:7:9: dm load: give --table \"...\" (or pipe: 'table NAME | load OTHER')");
	expect_error(HDR "  - dm: create a/b --notable\n",
		     "t.yaml:6:16: dm create: 'a/b' is not a valid dm device name");
	expect_error(HDR "  - dm: create X --notable\n  - dm: create X --notable\n",
		     "t.yaml:7:16: dm create: device 'X' already exists");
	expect_error(HDR "  - dm: status X\n", "t.yaml:6:9: dm status: use a 'status: NAME' step "
		     "(with expect:) to check output");
	expect_error(HDR "  - dm: create X --notable\n  - dm: load X --table \"0 8 linear /dev/mapper/X 0\"\n",
		     "t.yaml:7:36: table: device '/dev/mapper/X' may not map onto itself");
}

Test(trace_errors, limits_and_groups)
{
	expect_error(HDR "  - parallel:\n      - read: {dev: d, length: 1s}\n      - crash: x\n",
		     "t.yaml:8:9: only read, write, flush and discard may be in a parallel group, "
		     "not 'crash'");
	expect_error(HDR "  - parallel: []\n", "t.yaml:6:15: parallel group is empty");
	expect_error(HDR "  - repeat: {count: 2}\n", "t.yaml:6:13: missing key 'steps' in repeat");
	expect_error(HDR "  - read: d\n    offset: 1M\n    length: 1s\n",
		     "t.yaml:6:11: I/O beyond the end of disk 'd' (2048 sectors)");
	expect_error(HDR "  - write: d\n    length: 1s\n    data: {bytes: \"0x12\"}\n",
		     "t.yaml:8:21: bytes: 'x' is not a hexadecimal digit");
	expect_error(HDR "  - write: d\n    length: 1s\n    data: {file: no-such-file.bin}\n",
		     "t.yaml:8:18: data file 'no-such-file.bin' does not exist");
	expect_error("version: 1\ndisks:\n  - {name: d, size: 1M}\n  - {name: d, size: 2M}\n",
		     "t.yaml:4:12: disk 'd' is defined twice (also at line 3)");
}

/* ---- steps ---- */

Test(trace, step_forms)
{
	static const char text[] = HDR
		"  - dm: create X --table \"0 2048 linear /dev/d 0\"\n"
		"  - dm: create Y --notable --uuid u-1 --readonly\n"
		"  - dm: dmsetup table X | dmsetup load Y\n"
		"  - dm: suspend X --noflush --nolockfs\n"
		"  - status: X\n    expect: \"0 2048 linear /dev/d 0\"\n    inactive: true\n"
		"  - write: {dev: X, offset: 4K, length: 8s, data: {bytes: \"de ad\"}, fua: on}\n"
		"  - read: X\n    offset: 4K\n    length: 8s\n    expect: {pattern: seed-9, base: 0}\n"
		"  - flush: c\n"
		"  - discard: {dev: d, length: 1M}\n"
		"  - parallel:\n      - read: {dev: d, length: 1s}\n      - flush: d\n"
		"  - crash: {name: here}\n"
		"  - crash: there\n"
		"  - sleep: 3ms\n"
		"  - wait\n"
		"  - settle\n"
		"  - dm: remove Y\n    error: EBUSY\n    message: open\n";
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	const struct trace_step *s;

	cr_assert_eq(trace_open_mem("t.yaml", text, strlen(text), 0, &r, &err), 0, "%s", err.text);
#define NEXT() cr_assert_eq(trace_next(r, &it, &err), 1, "%s", err.text); s = it.step
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_DM);
	cr_expect_eq(s->u.dm.verb, TRACE_DM_CREATE);
	cr_expect_str_eq(s->u.dm.name, "X");
	cr_expect_str_eq(s->u.dm.table, "0 2048 linear /dev/d 0");
	cr_expect_eq(s->line, 6);
	cr_expect_eq(s->column, 5);
	NEXT();
	cr_expect_eq(s->u.dm.flags, TRACE_DM_NOTABLE | TRACE_DM_READONLY);
	cr_expect_str_eq(s->u.dm.uuid, "u-1");
	cr_expect_null(s->u.dm.table);
	NEXT();
	cr_expect_eq(s->u.dm.verb, TRACE_DM_TABLE_PIPE);
	cr_expect_str_eq(s->u.dm.name, "X");
	cr_expect_str_eq(s->u.dm.pipe_dst, "Y");
	NEXT();
	cr_expect_eq(s->u.dm.verb, TRACE_DM_SUSPEND);
	cr_expect_eq(s->u.dm.flags, TRACE_DM_NOFLUSH | TRACE_DM_NOLOCKFS);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_QUERY);
	cr_expect_eq(s->u.query.kind, TRACE_QUERY_STATUS);
	cr_expect_str_eq(s->u.query.expect, "0 2048 linear /dev/d 0");
	cr_expect(s->u.query.inactive);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_WRITE);
	cr_expect_str_eq(s->u.io.dev, "X");
	cr_expect_eq(s->u.io.offset, 8);
	cr_expect_eq(s->u.io.length, 8);
	cr_expect(s->u.io.fua);
	cr_expect_eq(s->u.io.data.kind, TRACE_DATA_BYTES);
	cr_expect_eq(s->u.io.data.nr_bytes, 2);
	cr_expect_eq(s->u.io.data.bytes[0], 0xde);
	cr_expect_eq(s->u.io.data.bytes[1], 0xad);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_READ);
	cr_expect_eq(s->u.io.expect.kind, TRACE_DATA_PATTERN);
	cr_expect_eq(s->u.io.expect.seed, 9);
	cr_expect(s->u.io.expect.has_base);
	cr_expect_eq(s->u.io.expect.base, 0);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_FLUSH);
	cr_expect_str_eq(s->u.io.dev, "c");
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_DISCARD);
	cr_expect_eq(s->u.io.length, 2048);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_PARALLEL);
	cr_assert_eq(s->u.group.nr_steps, 2);
	cr_expect_eq(s->u.group.steps[0].kind, TRACE_STEP_READ);
	cr_expect_eq(s->u.group.steps[1].kind, TRACE_STEP_FLUSH);
	cr_expect_eq(s->u.group.steps[1].line, 22);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_CRASH);
	cr_expect_str_eq(s->u.crash_name, "here");
	NEXT();
	cr_expect_str_eq(s->u.crash_name, "there");
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_SLEEP);
	cr_expect_eq(s->u.sleep_ns, 3000000);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_WAIT);
	NEXT();
	cr_expect_eq(s->kind, TRACE_STEP_SETTLE);
	NEXT();
	cr_expect_eq(s->u.dm.verb, TRACE_DM_REMOVE);
	cr_expect_eq(s->expect_error, -EBUSY);
	cr_expect_str_eq(s->expect_message, "open");
	cr_expect_eq(trace_next(r, &it, &err), 0);
	cr_expect_eq(trace_next(r, &it, &err), 0, "the end stays the end");
#undef NEXT
	trace_close(r);
}

Test(trace, repeat_expansion)
{
	static const char text[] = HDR
		"  - repeat:\n"
		"      count: 3\n"
		"      steps:\n"
		"        - write: d\n"
		"          offset: 8s\n"
		"          stride: 16s\n"
		"          wrap: 40s\n"
		"          length: 8s\n"
		"          data: {pattern: seed-100, seed_stride: 2}\n"
		"        - repeat: {count: 2, steps: [wait, settle]}\n"
		"  - crash: end\n";
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	struct trace_stats st;
	unsigned n = 0, writes = 0, waits = 0;
	sector_t offs[3];
	uint64_t seeds[3];

	cr_assert_eq(trace_open_mem("t.yaml", text, strlen(text), 0, &r, &err), 0, "%s", err.text);
	while (trace_next(r, &it, &err) == 1) {
		cr_expect_eq(it.seq, n);
		n++;
		if (it.step->kind == TRACE_STEP_WRITE) {
			cr_expect_eq(it.repeat_depth, 1);
			offs[writes] = trace_io_offset(&it.step->u.io, it.iteration);
			seeds[writes] = trace_data_seed(&it.step->u.io.data, it.iteration);
			writes++;
		} else if (it.step->kind == TRACE_STEP_WAIT) {
			cr_expect_eq(it.repeat_depth, 2);
			waits++;
		}
	}
	cr_expect_eq(err.code, 0, "%s", err.text);
	cr_expect_eq(n, 3 * (1 + 2 * 2) + 1);
	cr_expect_eq(writes, 3);
	cr_expect_eq(waits, 6);
	cr_expect_eq(offs[0], 8);
	cr_expect_eq(offs[1], 24);
	cr_expect_eq(offs[2], 0, "40 wraps to 0");
	cr_expect_eq(seeds[0], 100);
	cr_expect_eq(seeds[2], 104);
	trace_get_stats(r, &st);
	cr_expect_eq(st.steps_delivered, n);
	cr_expect_eq(st.steps_parsed, 1 + 2 + 2 + 1, "the body is parsed once");
	trace_close(r);
}

Test(trace, repeat_zero_and_expand_once)
{
	static const char text[] = HDR
		"  - repeat: {count: 0, steps: [wait]}\n"
		"  - repeat: {count: 1000000000, steps: [settle]}\n";
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	unsigned n = 0;

	cr_assert_eq(trace_open_mem("t.yaml", text, strlen(text), TRACE_EXPAND_ONCE, &r, &err), 0);
	while (trace_next(r, &it, &err) == 1)
		n++;
	cr_expect_eq(n, 2, "each body once when validating");
	trace_close(r);
	cr_assert_eq(trace_open_mem("t.yaml", text, strlen(text), 0, &r, &err), 0);
	n = 0;
	while (n < 1000 && trace_next(r, &it, &err) == 1) {
		cr_expect_eq(it.step->kind, TRACE_STEP_SETTLE, "count 0 delivers nothing");
		n++;
	}
	cr_expect_eq(n, 1000);
	trace_close(r);
}

/* ---- streaming in bounded memory ---- */

#define BIG_STEPS 200000u

static char *write_big_trace(unsigned bad_at)
{
	char *path = strdup("/tmp/snapsim-trace-XXXXXX");
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fprintf(f, "version: 1\nname: big\ndisks:\n  - {name: d, size: 1G}\nsteps:\n");
	fprintf(f, "  - dm: create X --table \"0 2097152 linear /dev/d 0\"\n");
	for (unsigned i = 1; i < BIG_STEPS; i++) {
		if (i == bad_at)
			fprintf(f, "  - write: {dev: X, offset: %us, length: 8s, data: seed-1, fau: 1}\n",
				(i % 1000) * 8);
		else if (i % 3 == 0)
			fprintf(f, "  - read:\n      dev: X\n      offset: %us\n      length: 8s\n"
				"      expect: seed-%u\n", (i % 1000) * 8, i);
		else if (i % 3 == 1)
			fprintf(f, "  - write: {dev: X, offset: %us, length: 8s, data: seed-%u}\n",
				(i % 1000) * 8, i);
		else
			fprintf(f, "  - flush: X\n");
	}
	fclose(f);
	return path;
}

Test(trace_stream, big_trace_bounded_memory, .timeout = 120)
{
	char *path = write_big_trace(0);
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	struct trace_stats st;
	unsigned n = 0, reads = 0;

	cr_assert_eq(trace_open(path, 0, &r, &err), 0, "%s", err.text);
	while (trace_next(r, &it, &err) == 1) {
		n++;
		reads += it.step->kind == TRACE_STEP_READ;
		if (n == 10) {
			trace_get_stats(r, &st);
			cr_expect_eq(st.steps_parsed, 10, "steps are parsed as they are asked for");
		}
	}
	cr_expect_eq(err.code, 0, "%s", err.text);
	cr_expect_eq(n, BIG_STEPS);
	cr_expect_eq(reads, BIG_STEPS / 3);
	trace_get_stats(r, &st);
	cr_expect_eq(st.steps_parsed, BIG_STEPS);
	cr_expect_leq(st.max_live_steps, 1, "one step object at a time (got %u)",
		      st.max_live_steps);
	cr_expect_leq(st.max_step_nodes, 16);
	cr_expect_eq(st.live_steps, 0, "nothing is held after the end");
	trace_close(r);
	/* The validation pass does the same. */
	cr_expect_eq(trace_check(path, NULL, &st, &err), 0, "%s", err.text);
	cr_expect_leq(st.max_live_steps, 1);
	unlink(path);
	free(path);
}

Test(trace_stream, error_late_in_a_big_trace, .timeout = 120)
{
	char *path = write_big_trace(150000);
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	unsigned n = 0;
	char want[512];
	int rc;

	cr_assert_eq(trace_open(path, 0, &r, &err), 0, "%s", err.text);
	while ((rc = trace_next(r, &it, &err)) == 1)
		n++;
	cr_expect_lt(rc, 0);
	cr_expect_eq(n, 150000, "every step before the bad one was delivered first");
	/* header is 5 lines + create; steps before i: reads take 5 lines. */
	cr_expect_eq(err.column, 59);
	snprintf(want, sizeof(want), "%s:%u:59: unknown key 'fau' in write", path, err.line);
	cr_expect_eq(strncmp(err.text, want, strlen(want)), 0, "%s", err.text);
	cr_expect_eq(trace_next(r, &it, &err), rc, "the error is sticky");
	trace_close(r);
	/* And trace_check rejects the file before anything could run. */
	cr_expect_eq(trace_check(path, NULL, NULL, &err), -EINVAL);
	unlink(path);
	free(path);
}

Test(trace_stream, long_repeat_is_not_materialised)
{
	static const char text[] = HDR
		"  - repeat:\n      count: 100000\n      steps:\n"
		"        - write: {dev: d, length: 8s, data: seed-1, stride: 8s, wrap: 1M}\n"
		"        - read: {dev: d, length: 8s}\n";
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	struct trace_stats st;
	uint64_t n = 0;

	cr_assert_eq(trace_open_mem("t.yaml", text, strlen(text), 0, &r, &err), 0);
	while (trace_next(r, &it, &err) == 1)
		n++;
	cr_expect_eq(n, 200000);
	trace_get_stats(r, &st);
	cr_expect_eq(st.steps_parsed, 3);
	cr_expect_leq(st.max_live_steps, 3);
	trace_close(r);
}

/* ---- validation hooks ---- */

struct hook_ctx {
	unsigned calls, tables;
};

static int hook(void *ctx, const struct trace_header *hdr, const struct trace_step *st,
		struct trace_error *err)
{
	struct hook_ctx *h = ctx;

	(void)hdr;
	h->calls++;
	if (st->kind == TRACE_STEP_DM && st->u.dm.table) {
		h->tables++;
		if (strstr(st->u.dm.table, "lineer"))
			return trace_error_set(err, -EINVAL, "t.yaml", st->line, st->column,
					       "table line 1: unknown target type 'lineer'");
	}
	return 0;
}

Test(trace, check_hooks)
{
	char path[] = "/tmp/snapsim-hook-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct hook_ctx h = { 0, 0 };
	struct trace_check_hooks hooks = { hook, &h };
	struct trace_error err;

	fprintf(f, HDR "  - dm: create X --table \"0 8 linear /dev/d 0\"\n"
		"  - repeat: {count: 5, steps: [wait]}\n"
		"  - dm: load X --table \"0 8 lineer /dev/d 0\"\n  - wait\n");
	fclose(f);
	cr_expect_eq(trace_check(path, &hooks, NULL, &err), -EINVAL);
	cr_expect_eq(h.calls, 3, "the repeat body is checked once");
	cr_expect_eq(h.tables, 2);
	cr_expect_str_eq(err.msg, "table line 1: unknown target type 'lineer'");
	cr_expect_eq(err.line, 8);
	unlink(path);
}

/* ---- the corpus ---- */

static void for_each_yaml(const char *dir, void (*fn)(const char *path))
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d))) {
		char path[1024];
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path);
		n++;
	}
	closedir(d);
	cr_expect_gt(n, 0);
}

static void good(const char *path)
{
	struct trace_error err;

	cr_expect_eq(trace_check(path, NULL, NULL, &err), 0, "%s", err.text);
}

static void bad(const char *path)
{
	struct trace_error err;
	char line[512], want[600];
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
	cr_expect_neq(trace_check(path, NULL, NULL, &err), 0, "%s was accepted", path);
	cr_expect_str_eq(err.text, want);
}

Test(trace_corpus, good_traces_load)
{
	for_each_yaml(SNAPSIM_SOURCE_DIR "/traces", good);
}

Test(trace_corpus, bad_traces_fail_where_they_say)
{
	for_each_yaml(SNAPSIM_SOURCE_DIR "/traces/bad", bad);
}

Test(trace_corpus, seed_recipe_is_the_seed_recipe)
{
	static const char *const want[] = {
		"suspend my_data",
		"create my_data_org --notable",
		"table my_data | dmsetup load my_data_org",
		"resume my_data_org",
		"create my_data_snap --notable",
		"load my_data_snap --table \"0 1024 snapshot /dev/mapper/my_data_org /dev/hdd1 p 64\"",
		"load my_data --table \"0 1024 snapshot-origin /dev/mapper/my_data_org\"",
		"resume my_data_snap",
		"resume my_data",
	};
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	unsigned k = 0;

	cr_assert_eq(trace_open(SNAPSIM_SOURCE_DIR "/traces/seed-recipe.yaml", 0, &r, &err), 0,
		     "%s", err.text);
	while (trace_next(r, &it, &err) == 1) {
		if (it.step->kind != TRACE_STEP_DM || !strcmp(it.step->u.dm.text,
			"create my_data --table \"0 1024 linear /dev/sd1a 384\""))
			continue;
		cr_assert_lt(k, sizeof(want) / sizeof(want[0]));
		cr_expect_str_eq(it.step->u.dm.text, want[k]);
		k++;
	}
	cr_expect_eq(k, 9);
	cr_expect_str_eq(trace_header(r)->disks[0].path, "/dev/sd1a");
	cr_expect_str_eq(trace_header(r)->disks[1].path, "/dev/hdd1");
	trace_close(r);
}

/*
 * A dm command folded over two lines (a multi-line plain scalar) has no
 * one-to-one map from words to columns: the error points at the scalar's
 * start, never past the end of its first line. Found by the trace fuzzer
 * (the column used to run past the line).
 */
Test(trace, folded_dm_command_error_points_at_its_start)
{
	expect_error(HDR "  - dm: resume d12s\n        length:te c --notable\n",
		     "t.yaml:6:9: dm resume: unexpected word 'length:te'");
}
