/* units.c - sizes and durations with units (see units.h for the grammar). */
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct unit {
	const char *name;
	uint64_t mult;
};

static const struct unit size_units[] = {
	{ "s", 512 },
	{ "B", 1 },
	{ "K", 1ull << 10 }, { "k", 1ull << 10 }, { "KiB", 1ull << 10 },
	{ "M", 1ull << 20 }, { "m", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "G", 1ull << 30 }, { "g", 1ull << 30 }, { "GiB", 1ull << 30 },
	{ "T", 1ull << 40 }, { "t", 1ull << 40 }, { "TiB", 1ull << 40 },
};

static const struct unit time_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "ms", 1000000 },
	{ "s", 1000000000ull },
};

static int fail(char *why, unsigned len, const char *fmt, const char *arg)
{
	if (why && len)
		snprintf(why, len, fmt, arg);
	return -EINVAL;
}

/* Split "123unit" into the number and the unit text; no sign, no blanks. */
static int split_number(const char *text, uint64_t *num, const char **unit,
			char *why, unsigned why_len)
{
	const char *p = text;
	uint64_t v = 0;

	if (!text || !*text)
		return fail(why, why_len, "empty value%s", "");
	if (*p < '0' || *p > '9')
		return fail(why, why_len, "'%s' does not start with a decimal number", text);
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return fail(why, why_len, "number '%s' is too large", text);
		v = v * 10 + d;
		p++;
	}
	*num = v;
	*unit = p;
	return 0;
}

int units_parse_uint(const char *text, uint64_t *out, char *why, unsigned why_len)
{
	const char *unit;
	int r = split_number(text, out, &unit, why, why_len);

	if (r)
		return r;
	if (*unit)
		return fail(why, why_len, "'%s' is not a plain unsigned integer", text);
	return 0;
}

static int mul_checked(uint64_t v, uint64_t mult, uint64_t *out, const char *text,
		       char *why, unsigned why_len)
{
	if (mult && v > UINT64_MAX / mult)
		return fail(why, why_len, "'%s' is too large", text);
	*out = v * mult;
	return 0;
}

int units_parse_size(const char *text, uint64_t *bytes, char *why, unsigned why_len)
{
	const char *unit;
	uint64_t v;
	int r = split_number(text, &v, &unit, why, why_len);

	if (r)
		return r;
	if (!*unit)
		return mul_checked(v, 512, bytes, text, why, why_len);
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
		if (!strcmp(unit, size_units[i].name))
			return mul_checked(v, size_units[i].mult, bytes, text, why, why_len);
	if (!strcmp(unit, "KB") || !strcmp(unit, "MB") || !strcmp(unit, "GB") ||
	    !strcmp(unit, "TB") || !strcmp(unit, "kB"))
		return fail(why, why_len,
			    "ambiguous size unit '%s' (use K/KiB, M/MiB, G/GiB, T/TiB: powers of 1024)",
			    unit);
	return fail(why, why_len,
		    "unknown size unit '%s' (expected s, B, K, KiB, M, MiB, G, GiB, T, TiB)",
		    unit);
}

int units_parse_sectors(const char *text, uint64_t *sectors, char *why, unsigned why_len)
{
	uint64_t bytes;
	int r = units_parse_size(text, &bytes, why, why_len);

	if (r)
		return r;
	if (bytes % 512)
		return fail(why, why_len, "size '%s' is not a multiple of 512 bytes", text);
	*sectors = bytes / 512;
	return 0;
}

int units_parse_time(const char *text, uint64_t *ns, char *why, unsigned why_len)
{
	const char *unit;
	uint64_t v;
	int r = split_number(text, &v, &unit, why, why_len);

	if (r)
		return r;
	if (!*unit) {
		if (v == 0) {
			*ns = 0;
			return 0;
		}
		return fail(why, why_len, "duration '%s' needs a unit (ns, us, ms, s)", text);
	}
	for (size_t i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++)
		if (!strcmp(unit, time_units[i].name))
			return mul_checked(v, time_units[i].mult, ns, text, why, why_len);
	return fail(why, why_len, "unknown time unit '%s' (expected ns, us, ms, s)", unit);
}
