/*
 * test_dm_table.c - the table language: tokenizer, numbers, every load
 * validation error with its exact position and message, printing, and a
 * seeded print/parse round-trip property.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_target.h"
#include "dm_test_env.h"

/* ---- dm_split_args, dm_parse_u64 ---- */

Test(dm_split_args, whitespace_escapes_and_offsets)
{
	char buf[] = "  a\\ b\tc\\\\d  \\#e  f\\";
	char *argv[8];
	unsigned offs[8];
	int n = dm_split_args(buf, argv, offs, 8);

	cr_assert_eq(n, 4);
	cr_expect_str_eq(argv[0], "a b");
	cr_expect_str_eq(argv[1], "c\\d");
	cr_expect_str_eq(argv[2], "#e");
	cr_expect_str_eq(argv[3], "f\\"); /* a trailing backslash stays */
	cr_expect_eq(offs[0], 2);
	cr_expect_eq(offs[1], 7);
	cr_expect_eq(offs[2], 13);
	cr_expect_eq(offs[3], 18);
}

Test(dm_split_args, empty_and_too_many)
{
	char e[] = " \t ";
	char m[] = "a b c";
	char *argv[2];

	cr_expect_eq(dm_split_args(e, argv, NULL, 2), 0);
	cr_expect_eq(dm_split_args(m, argv, NULL, 2), -E2BIG);
}

Test(dm_parse_u64, cases)
{
	uint64_t v = 0;

	cr_expect_eq(dm_parse_u64("0", UINT64_MAX, &v), 0);
	cr_expect_eq(v, 0);
	cr_expect_eq(dm_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	cr_expect_eq(v, UINT64_MAX);
	cr_expect_eq(dm_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	cr_expect_eq(dm_parse_u64("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
	cr_expect_eq(dm_parse_u64("11", 10, &v), -ERANGE);
	cr_expect_eq(dm_parse_u64("10", 10, &v), 0);
	cr_expect_eq(dm_parse_u64("12abc", UINT64_MAX, &v), -EINVAL);
	cr_expect_eq(dm_parse_u64("", UINT64_MAX, &v), -EINVAL);
	cr_expect_eq(dm_parse_u64("+1", UINT64_MAX, &v), -EINVAL);
	cr_expect_eq(dm_parse_u64("-1", UINT64_MAX, &v), -EINVAL);
	cr_expect_eq(dm_parse_u64(" 1", UINT64_MAX, &v), -EINVAL);
}

/* ---- validation errors ---- */

static struct env E;

static void setup(void)
{
	env_init(&E);
	env_disk(&E, "/dev/sd1a", 1000, 1);
	env_disk(&E, "disk2", 100, 2);
}

static void teardown(void)
{
	env_fini(&E);
}

static void expect_error(const char *text, int code, unsigned line,
			 unsigned col, const char *msg)
{
	struct dm_table *t = NULL;
	struct ss_error err;
	int r;

	ss_error_clear(&err);
	r = dm_table_create(E.reg, text, 0, &t, &err);
	cr_expect_eq(r, code, "table %s: code %d, expected %d (%s)", text, r,
		     code, err.msg);
	cr_expect_eq(err.code, code);
	cr_expect_eq(err.line, line, "table %s: line %u, expected %u", text,
		     err.line, line);
	cr_expect_eq(err.column, col, "table %s: column %u, expected %u", text,
		     err.column, col);
	cr_expect_str_eq(err.msg, msg);
	cr_expect_null(t);
	if (!r)
		dm_table_destroy(t);
	/* A failed load holds nothing. */
	cr_expect_eq(E.disks[0]->base.open_count, 0);
	cr_expect_eq(E.disks[1]->base.open_count, 0);
}

static char *expect_ok(const char *text)
{
	struct dm_table *t = NULL;
	struct ss_error err;
	char buf[400];
	char *s;

	ss_error_clear(&err);
	cr_assert_eq(dm_table_create(E.reg, text, 0, &t, &err), 0, "%s: %s", text,
		     ss_error_format(&err, buf, sizeof(buf)));
	s = dm_table_print(t);
	dm_table_destroy(t);
	return s;
}

TestSuite(dm_table, .init = setup, .fini = teardown);

Test(dm_table, no_targets)
{
	expect_error("", -EINVAL, 0, 0, "no targets specified");
	expect_error("\n\n   \n", -EINVAL, 0, 0, "no targets specified");
	expect_error("# nothing here\n  # nor here\n", -EINVAL, 0, 0,
		     "no targets specified");
}

Test(dm_table, zero_length)
{
	expect_error("0 0 zero", -EINVAL, 1, 3, "zero-length target");
	expect_error("0 10 zero\n10 0 zero", -EINVAL, 2, 4, "zero-length target");
}

Test(dm_table, too_large)
{
	expect_error("0 18014398509481984 zero", -EINVAL, 1, 3,
		     "too large device: start + length exceeds 18014398509481983 sectors");
	expect_error("0 10 zero\n10 18446744073709551615 zero", -EINVAL, 2, 4,
		     "too large device: start + length exceeds 18014398509481983 sectors");
	char *s = expect_ok("0 18014398509481983 zero");
	cr_expect_str_eq(s, "0 18014398509481983 zero \n");
	free(s);
}

Test(dm_table, u64_overflow_and_junk)
{
	expect_error("0 18446744073709551616 zero", -EINVAL, 1, 3,
		     "length '18446744073709551616' does not fit in 64 bits");
	expect_error("99999999999999999999 1 zero", -EINVAL, 1, 1,
		     "start sector '99999999999999999999' does not fit in 64 bits");
	expect_error("12abc 10 zero", -EINVAL, 1, 1,
		     "invalid start sector '12abc': expected an unsigned decimal number");
	expect_error("0 10abc zero", -EINVAL, 1, 3,
		     "invalid length '10abc': expected an unsigned decimal number");
	expect_error("  -1 10 zero", -EINVAL, 1, 3,
		     "invalid start sector '-1': expected an unsigned decimal number");
}

Test(dm_table, fewer_than_three_fields)
{
	expect_error("0 10", -EINVAL, 1, 5,
		     "Invalid format: expected '<start> <length> <target_type> [<params>]'");
	expect_error("0 10 zero\n  7   \n", -EINVAL, 2, 4,
		     "Invalid format: expected '<start> <length> <target_type> [<params>]'");
}

Test(dm_table, unknown_target_type)
{
	expect_error("0 10 lineer /dev/sd1a 0", -EINVAL, 1, 6,
		     "unknown target type 'lineer'");
	expect_error("0\t10\tzero#x", -EINVAL, 1, 6, "unknown target type 'zero#x'");
}

Test(dm_table, gaps_and_overlaps)
{
	expect_error("5 10 zero", -EINVAL, 1, 1,
		     "Gap in table: target starts at sector 5, expected 0");
	expect_error("0 10 zero\n11 5 zero", -EINVAL, 2, 1,
		     "Gap in table: target starts at sector 11, expected 10");
	expect_error("0 10 zero\n# comment line\n\n 5 5 zero", -EINVAL, 4, 2,
		     "Gap in table: target starts at sector 5, expected 10");
}

Test(dm_table, constructor_errors)
{
	expect_error("0 10 linear /dev/sd1a", -EINVAL, 1, 6,
		     "linear: Invalid argument count");
	expect_error("0 10 linear /dev/sd1a 0 7", -EINVAL, 1, 6,
		     "linear: Invalid argument count");
	expect_error("0 10 linear /dev/sd1a 12x", -EINVAL, 1, 23,
		     "linear: Invalid device sector");
	expect_error("0 10 zero\n10 10 linear   /dev/nope 0", -ENODEV, 2, 16,
		     "linear: Device lookup failed (no device named '/dev/nope')");
	expect_error("0 10 linear /dev/mapper/ghost 0", -ENODEV, 1, 13,
		     "linear: Device lookup failed (no mapped device named 'ghost')");
	expect_error("0 10 linear 254:9 0", -ENODEV, 1, 13,
		     "linear: Device lookup failed (no device with number 254:9)");
	expect_error("0 10 zero extra", -EINVAL, 1, 11, "zero: No arguments required");
	expect_error("0 10 error a", -EINVAL, 1, 6, "error: Invalid argument count");
	expect_error("0 10 error /dev/sd1a x", -EINVAL, 1, 22,
		     "error: Invalid device sector");
	/* The first failure wins and earlier targets are destroyed again. */
	expect_error("0 10 linear /dev/sd1a 0\n10 10 linear disk2 0\n20 5 linear disk2 x",
		     -EINVAL, 3, 19, "linear: Invalid device sector");
}

Test(dm_table, devices_too_small)
{
	expect_error("0 2000 linear /dev/sd1a 0", -EINVAL, 1, 15,
		     "linear: device /dev/sd1a too small for target: start=0, len=2000, dev_size=1000");
	expect_error("0 10 zero\n10 10 linear /dev/sd1a 995", -EINVAL, 2, 14,
		     "linear: device /dev/sd1a too small for target: start=995, len=10, dev_size=1000");
	expect_error("0 10 linear /dev/sd1a 18446744073709551615", -EINVAL, 1, 13,
		     "linear: device /dev/sd1a too small for target: start=18446744073709551615, len=10, dev_size=1000");
	expect_error("0 101 error disk2 0", -EINVAL, 1, 13,
		     "error: device disk2 too small for target: start=0, len=101, dev_size=100");
	char *s = expect_ok("0 1000 linear /dev/sd1a 0\n1000 100 linear 7:1 0");
	cr_expect_str_eq(s, "0 1000 linear /dev/sd1a 0\n1000 100 linear disk2 0\n");
	free(s);
}

Test(dm_table, comments_blank_lines_and_white_space)
{
	char *s = expect_ok("# header\n\n  0 10 linear /dev/sd1a 5 # trailing\n"
			    "\t10\t20\tzero   #\n   # indented comment\n30 2 error\r\n");

	cr_expect_str_eq(s, "0 10 linear /dev/sd1a 5\n10 20 zero \n30 2 error \n");
	free(s);
	s = expect_ok("0 010 zero");
	cr_expect_str_eq(s, "0 10 zero \n");
	free(s);
}

Test(dm_table, escaped_names_round_trip)
{
	struct mem_bdev *odd = env_disk(&E, "my disk#1\\x", 64, 3);
	char *s, *s2;

	(void)odd;
	s = expect_ok("0 64 linear my\\ disk\\#1\\\\x 0");
	cr_expect_str_eq(s, "0 64 linear my\\ disk\\#1\\\\x 0\n");
	s2 = expect_ok(s);
	cr_expect_str_eq(s2, s);
	free(s);
	free(s2);
	/* By number: external devices are 7:<registration index>. */
	s = expect_ok("0 64 linear 7:2 0");
	cr_expect_str_eq(s, "0 64 linear my\\ disk\\#1\\\\x 0\n");
	free(s);
}

Test(dm_table, accessors_and_open_counts)
{
	struct dm_table *t;
	struct ss_error err;

	ss_error_clear(&err);
	env_ok(dm_table_create(E.reg, "0 10 linear /dev/sd1a 0\n10 5 linear /dev/sd1a 20\n"
			       "15 5 linear disk2 0", 0, &t, &err), &err);
	cr_expect_eq(dm_table_size(t), 20);
	cr_expect_eq(dm_table_num_targets(t), 3);
	cr_expect_eq(dm_table_target(t, 1)->begin, 10);
	cr_expect_eq(dm_table_target(t, 1)->len, 5);
	cr_expect_null(dm_table_target(t, 3));
	/* Each distinct device is held once. */
	cr_expect_eq(E.disks[0]->base.open_count, 1);
	cr_expect_eq(E.disks[1]->base.open_count, 1);
	cr_expect_null(dm_target_device(dm_table_target(t, 0)));
	dm_table_destroy(t);
	cr_expect_eq(E.disks[0]->base.open_count, 0);
	cr_expect_eq(E.disks[1]->base.open_count, 0);
}

Test(dm_table, error_format_prefix)
{
	struct dm_table *t = NULL;
	struct ss_error err;
	char buf[300];

	ss_error_clear(&err);
	cr_assert_neq(dm_table_create(E.reg, "0 10 zero\n10 10 lineer", 0, &t, &err), 0);
	cr_expect_str_eq(ss_error_format(&err, buf, sizeof(buf)),
			 "line 2, column 7: unknown target type 'lineer'");
}

/* ---- property: random valid tables print, parse and print the same ---- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return splitmix64(s) % n;
}

struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)n + 64;
		t->s = realloc(t->s, t->cap);
		cr_assert_not_null(t->s);
	}
	t->len += (size_t)n;
}

static const char *blank(uint64_t *s)
{
	static const char *const ws[] = { " ", "  ", "\t", " \t " };

	return ws[rnd(s, 4)];
}

Test(dm_table, property_print_parse_round_trip)
{
	const char *printed[] = { "/dev/sd1a", "disk2", "a\\ b", "c\\#d" };
	sector_t sizes[] = { 1000, 100, 5000, 300 };
	const char *env_seed = getenv("SNAPSIM_SEED");
	const char *env_cases = getenv("SNAPSIM_CASES");
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0x5eed0001ull;
	unsigned cases = env_cases ? (unsigned)strtoul(env_cases, NULL, 0) : 500;
	uint64_t st = seed;

	fprintf(stderr, "property_print_parse_round_trip: SNAPSIM_SEED=%" PRIu64
		" SNAPSIM_CASES=%u\n", seed, cases);
	env_disk(&E, "a b", 5000, 5);
	env_disk(&E, "c#d", 300, 6);
	for (unsigned c = 0; c < cases; c++) {
		struct text in = { 0 }, want = { 0 };
		unsigned n = 1 + (unsigned)rnd(&st, 12);
		sector_t start = 0;
		struct dm_table *t1, *t2;
		struct ss_error err;
		char buf[400], *p1, *p2;

		add(&in, "%s", "");
		add(&want, "%s", "");
		if (rnd(&st, 3) == 0)
			add(&in, "# case %u\n\n", c);
		for (unsigned i = 0; i < n; i++) {
			unsigned kind = (unsigned)rnd(&st, 3);
			unsigned d = (unsigned)rnd(&st, 4);
			sector_t len = 1 + rnd(&st, sizes[d]);
			sector_t off = rnd(&st, sizes[d] - len + 1);

			add(&in, "%s%" PRIu64 "%s%" PRIu64 "%s", rnd(&st, 2) ? "" : blank(&st),
			    start, blank(&st), len, blank(&st));
			add(&want, "%" PRIu64 " %" PRIu64 " ", start, len);
			if (kind == 0) {
				const char *nm = rnd(&st, 2) ? printed[d] : NULL;
				char num[32];

				if (!nm) { /* by device number */
					snprintf(num, sizeof(num), "7:%u", d);
					nm = num;
				}
				add(&in, "linear%s%s%s%" PRIu64, blank(&st), nm, blank(&st), off);
				add(&want, "linear %s %" PRIu64 "\n", printed[d], off);
			} else {
				add(&in, "%s", kind == 1 ? "zero" : "error");
				add(&want, "%s \n", kind == 1 ? "zero" : "error");
			}
			if (rnd(&st, 4) == 0)
				add(&in, "%s# comment %u", blank(&st), i);
			add(&in, "%s\n", rnd(&st, 2) ? "" : blank(&st));
			if (rnd(&st, 5) == 0)
				add(&in, "\n");
			start += len;
		}
		ss_error_clear(&err);
		cr_assert_eq(dm_table_create(E.reg, in.s, 0, &t1, &err), 0,
			     "seed %" PRIu64 " case %u: %s\n%s", seed, c,
			     ss_error_format(&err, buf, sizeof(buf)), in.s);
		p1 = dm_table_print(t1);
		cr_assert_str_eq(p1, want.s, "seed %" PRIu64 " case %u", seed, c);
		cr_assert_eq(dm_table_size(t1), start);
		cr_assert_eq(dm_table_num_targets(t1), n);
		cr_assert_eq(dm_table_create(E.reg, p1, 0, &t2, &err), 0,
			     "seed %" PRIu64 " case %u: %s", seed, c, err.msg);
		p2 = dm_table_print(t2);
		cr_assert_str_eq(p2, p1, "seed %" PRIu64 " case %u", seed, c);
		cr_assert_eq(dm_table_size(t2), dm_table_size(t1));
		dm_table_destroy(t1);
		dm_table_destroy(t2);
		for (unsigned d = 0; d < 4; d++)
			cr_assert_eq(E.disks[d]->base.open_count, 0);
		free(p1);
		free(p2);
		free(in.s);
		free(want.s);
	}
}

/* ---- property: mutated tables never crash and never leak a hold ---- */

Test(dm_table, property_mutated_tables_fail_cleanly)
{
	static const char *const seeds[] = {
		"0 100 linear /dev/sd1a 10\n100 50 zero\n150 8 error\n",
		"# c\n0 10 linear disk2 0 # x\n10 5 linear 7:0 3\n",
		"0 1 zero\n1 1 error\n2 1 linear a\\ b 0\n",
	};
	static const char alphabet[] = "0123456789 \t\n#\\:/abelinrz-";
	const char *env_seed = getenv("SNAPSIM_SEED");
	const char *env_cases = getenv("SNAPSIM_CASES");
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0x5eed0002ull;
	unsigned cases = env_cases ? (unsigned)strtoul(env_cases, NULL, 0) : 500;
	uint64_t st = seed;
	unsigned ok = 0;

	fprintf(stderr, "property_mutated_tables_fail_cleanly: SNAPSIM_SEED=%" PRIu64
		" SNAPSIM_CASES=%u\n", seed, cases);
	env_disk(&E, "a b", 64, 5);
	for (unsigned c = 0; c < cases; c++) {
		const char *base = seeds[rnd(&st, 3)];
		char text[256];
		size_t len = strlen(base);
		unsigned edits = 1 + (unsigned)rnd(&st, 4);
		struct dm_table *t = NULL;
		struct ss_error err;
		int r;

		memcpy(text, base, len + 1);
		for (unsigned k = 0; k < edits; k++) {
			size_t at = (size_t)rnd(&st, len + 1);
			char ch = alphabet[rnd(&st, sizeof(alphabet) - 1)];

			switch (rnd(&st, 3)) {
			case 0: /* replace */
				if (at < len)
					text[at] = ch;
				break;
			case 1: /* insert */
				if (len + 2 < sizeof(text)) {
					memmove(text + at + 1, text + at, len - at + 1);
					text[at] = ch;
					len++;
				}
				break;
			default: /* delete */
				if (at < len) {
					memmove(text + at, text + at + 1, len - at);
					len--;
				}
				break;
			}
		}
		ss_error_clear(&err);
		r = dm_table_create(E.reg, text, 0, &t, &err);
		if (r == 0) {
			char *p = dm_table_print(t);
			struct dm_table *t2 = NULL;

			ok++;
			cr_assert_eq(dm_table_create(E.reg, p, 0, &t2, &err), 0,
				     "seed %" PRIu64 " case %u: reprint of\n%s\nfails: %s",
				     seed, c, text, err.msg);
			char *p2 = dm_table_print(t2);
			cr_assert_str_eq(p2, p, "seed %" PRIu64 " case %u", seed, c);
			free(p);
			free(p2);
			dm_table_destroy(t2);
			dm_table_destroy(t);
		} else {
			cr_assert_lt(r, 0);
			cr_assert_eq(err.code, r, "seed %" PRIu64 " case %u", seed, c);
			cr_assert(err.msg[0], "seed %" PRIu64 " case %u: empty message", seed, c);
			cr_assert(err.line > 0 || !strcmp(err.msg, "no targets specified"),
				  "seed %" PRIu64 " case %u: no position for '%s'", seed, c,
				  err.msg);
		}
		for (unsigned d = 0; d < E.ndisks; d++)
			cr_assert_eq(E.disks[d]->base.open_count, 0);
	}
	fprintf(stderr, "property_mutated_tables_fail_cleanly: %u of %u mutants loaded\n",
		ok, cases);
}
