/*
 * test_cli_help.c - every verb's --help explains every option it lists:
 * each option line has a description, and each option that takes a value
 * says what happens without it (its default, or that it is required).
 * explore's help also names the units of its numbers and its progress and
 * interrupt behaviour.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <ctype.h>

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_help, .init = setup, .fini = teardown);

static const char *const verbs[][2] = {
	{ "table", "check" }, { "cow", "inspect" }, { "cow", "check" }, { "cow", "export" },
	{ "replay", NULL }, { "explore", NULL }, { "report", NULL }, { "check", NULL },
	{ "db", "merge" }, { "run", NULL }, { "import", "log-writes" }, { "recipe", NULL },
};

/* Whether the option text o ("--budget N", "-o, --out DIR", "--mode a|b") takes a value. */
static bool takes_value(const char *o)
{
	const char *last = strrchr(o, ',');

	last = last ? last + 1 : o;
	for (const char *p = last; *p; p++) {
		if ((p[0] == ' ' || p[0] == '=') && isupper((unsigned char)p[1]))
			return true;
		if (p[0] == '|' && p > last && isalnum((unsigned char)p[-1]) &&
		    isalnum((unsigned char)p[1]))
			return true;
	}
	return false;
}

/*
 * Check every option of help: lines "  -x..." (the option, then two blanks
 * and the start of its description, or the description on the lines below
 * indented by four or more).
 */
static void check_help(const char *verb, const char *help)
{
	char *copy = strdup(help), *save = NULL, opt[128] = "", desc[2048] = "";
	size_t nopts = 0;

	for (char *l = strtok_r(copy, "\n", &save);; l = strtok_r(NULL, "\n", &save)) {
		bool is_opt = l && !strncmp(l, "  -", 3) && (isalpha((unsigned char)l[3]) || l[3] == '-');
		bool cont = l && !is_opt && opt[0] && !strncmp(l, "    ", 4) && l[4 + strspn(l + 4, " ")];

		if (cont) {
			strncat(desc, l, sizeof(desc) - strlen(desc) - 1);
			continue;
		}
		if (opt[0]) {
			char lower[2048];

			for (size_t i = 0; i <= strlen(desc); i++)
				lower[i] = (char)tolower((unsigned char)desc[i]);
			cr_expect(desc[strspn(desc, " ")] != '\0', "%s --help: %s has no description",
				  verb, opt);
			if (takes_value(opt))
				cr_expect(strstr(lower, "default") || strstr(lower, "required"),
					  "%s --help: %s does not say its default (or that it is "
					  "required):%s", verb, opt, desc);
			opt[0] = desc[0] = 0;
			nopts++;
		}
		if (!l)
			break;
		if (is_opt) {
			const char *gap = strstr(l + 2, "  ");

			snprintf(opt, sizeof(opt), "%.*s", gap ? (int)(gap - l - 2) : 120, l + 2);
			snprintf(desc, sizeof(desc), "%s", gap ? gap : "");
		}
	}
	cr_expect_geq(nopts, 3, "%s --help lists only %zu options", verb, nopts);
	free(copy);
}

Test(cli_help, every_option_is_explained_with_its_default)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		struct run_result r;
		char name[64];

		if (verbs[i][1])
			run(&r, verbs[i][0], verbs[i][1], "--help", NULL);
		else
			run(&r, verbs[i][0], "--help", NULL);
		snprintf(name, sizeof(name), "%s%s%s", verbs[i][0], verbs[i][1] ? " " : "",
			 verbs[i][1] ? verbs[i][1] : "");
		cr_assert_eq(r.status, 0, "%s --help", name);
		check_help(name, r.out);
		run_free(&r);
	}
}

Test(cli_help, explore_help_names_units_progress_and_interrupt)
{
	struct run_result r;

	run(&r, "explore", "--help", NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "durable states checked per crash point");
	assert_has(r.out, "(default 64)");
	assert_has(r.out, "(default 50000000)");
	assert_has(r.out, "progress");
	assert_has(r.out, "SIGINT");
	assert_has(r.out, "130");
	run_free(&r);
}
