/*
 * test_readme.c - what README.md says about the repository matches the
 * repository: the Debian packages it says the two top-level scripts
 * install are exactly scripts/setup.sh's snapsim_packages.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

/* The words of s[0..len) split at blanks and newlines, sorted and joined with ' '. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_words(const char *s, size_t len)
{
	char *copy = strndup(s, len), *words[128], *save = NULL, *out;
	size_t n = 0, total = 1;

	for (char *w = strtok_r(copy, " \t\n", &save); w && n < 128; w = strtok_r(NULL, " \t\n", &save))
		words[n++] = w;
	qsort(words, n, sizeof(*words), cmp_str);
	for (size_t i = 0; i < n; i++)
		total += strlen(words[i]) + 1;
	out = calloc(1, total);
	for (size_t i = 0; i < n; i++) {
		strcat(out, words[i]);
		if (i + 1 < n)
			strcat(out, " ");
	}
	free(copy);
	return out;
}

Test(readme, package_list_is_setup_sh_list)
{
	char *setup = slurp(SNAPSIM_SOURCE_DIR "/scripts/setup.sh", NULL);
	char *readme = slurp(SNAPSIM_SOURCE_DIR "/README.md", NULL);
	const char *a = strstr(setup, "snapsim_packages=("), *b, *r, *q, *e;
	char *want, *said;

	cr_assert_not_null(a, "setup.sh has no snapsim_packages");
	a += strlen("snapsim_packages=(");
	b = strchr(a, ')');
	cr_assert_not_null(b);
	want = sorted_words(a, (size_t)(b - a));
	r = strstr(readme, "they install the missing Debian packages");
	cr_assert_not_null(r, "README no longer says which packages the scripts install");
	q = strchr(r, '`');
	cr_assert_not_null(q);
	e = strchr(q + 1, '`');
	cr_assert_not_null(e);
	said = sorted_words(q + 1, (size_t)(e - q - 1));
	cr_expect_str_eq(said, want, "README lists `%s`, scripts/setup.sh installs `%s`", said, want);
	free(want);
	free(said);
	free(setup);
	free(readme);
}

/*
 * The documentation stands alone: no Markdown file of the repository points
 * outside it (../shared/...) or to an issue by number.
 */
Test(readme, docs_point_nowhere_outside_the_repository)
{
	char cmd[1024], *out;

	test_dir_make();
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && find . -name '*.md' -not -path './build*' -not -path './.git/*' | "
		 "xargs grep -n -i -E "
		 "'\\.\\./shared|/work/shared|issue [0-9]|issues/[0-9]' > '%s/hits' 2>/dev/null; true",
		 SNAPSIM_SOURCE_DIR, test_dir);
	cr_assert_eq(system(cmd), 0);
	out = slurp(tpath("hits"), NULL);
	cr_expect_str_eq(out, "", "references outside the repository:\n%s", out);
	free(out);
	test_dir_remove();
}
