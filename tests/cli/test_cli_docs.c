/*
 * test_cli_docs.c - the manual pages and the bash completion made at build
 * time (build/man/snapsim-VERB.1, build/snapsim.bash-completion): a page for every
 * verb `snapsim --help` lists, each as the binary makes it now, and every
 * option a verb's --help names is in its page and is offered by the
 * completion (the script is run in bash).
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

TestSuite(cli_docs, .init = setup, .fini = teardown);

#define MAX_VERBS 32

/* The verbs of `snapsim --help` ("cow inspect"): lines under "Verbs:". */
static size_t list_verbs(char verbs[][32])
{
	struct run_result r;
	const char *p;
	size_t n = 0;

	run(&r, "--help", NULL);
	cr_assert_eq(r.status, 0);
	p = strstr(r.out, "\nVerbs:\n");
	cr_assert_not_null(p);
	p += 8;
	while (!strncmp(p, "  ", 2) && n < MAX_VERBS) {
		const char *end = strstr(p + 2, "  ");

		cr_assert_not_null(end);
		snprintf(verbs[n++], 32, "%.*s", (int)(end - p - 2), p + 2);
		p = strchr(p, '\n') + 1;
	}
	run_free(&r);
	cr_assert_geq(n, 10, "too few verbs listed");
	return n;
}

static void verb_help(const char *verb, struct run_result *r)
{
	char a[32], *b;

	snprintf(a, sizeof(a), "%s", verb);
	b = strchr(a, ' ');
	if (b)
		*b++ = '\0';
	if (b)
		run(r, a, b, "--help", NULL);
	else
		run(r, a, "--help", NULL);
	cr_assert_eq(r->status, 0, "%s --help", verb);
}

/*
 * The options a help text names, found here without the generator's
 * parser: every --word anywhere, and -x at the start of an option line.
 */
static size_t options_of(const char *help, char opts[][64], size_t max)
{
	size_t n = 0;

	for (const char *p = help; *p && n < max; p++) {
		size_t len = 0;
		bool longopt = p[0] == '-' && p[1] == '-' && isalpha((unsigned char)p[2]) &&
			       (p == help || !isalnum((unsigned char)p[-1]));
		bool shortopt = p[0] == '-' && isalpha((unsigned char)p[1]) &&
				(p[2] == ',' || p[2] == ' ') && p >= help + 3 && p[-1] == ' ' &&
				p[-2] == ' ' && p[-3] == '\n';

		if (!longopt && !shortopt)
			continue;
		if (longopt)
			for (len = 2; isalnum((unsigned char)p[len]) || p[len] == '-'; len++)
				;
		else
			len = 2;
		while (len && p[len - 1] == '-')
			len--;
		snprintf(opts[n], 64, "%.*s", (int)len, p);
		bool dup = false;

		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(opts[i], opts[n]);
		n += !dup;
		p += len - 1;
	}
	return n;
}

/* The man page's text with roff's \- turned back into -. */
static char *man_text(const char *page)
{
	char path[512], *t, *w;

	snprintf(path, sizeof(path), "%s/man/%s.1", SNAPSIM_BINARY_DIR, page);
	cr_assert_eq(access(path, R_OK), 0, "no manual page %s", path);
	t = slurp(path, NULL);
	w = t;
	for (const char *r = t; *r; r++) {
		if (r[0] == '\\' && r[1] == '-')
			r++;
		*w++ = *r;
	}
	*w = '\0';
	return t;
}

static void page_of(const char *verb, char *buf, size_t len)
{
	snprintf(buf, len, "snapsim-%s", verb);
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '-';
}

/* What the completion offers after `snapsim VERB -`. */
static char *complete_dash(const char *verb)
{
	char cmd[1024], *out;
	FILE *f;
	size_t len = 0;

	snprintf(cmd, sizeof(cmd),
		 "bash -c 'source %s/snapsim.bash-completion && COMP_WORDS=(snapsim %s -) && "
		 "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _snapsim && printf \"%%s\\n\" "
		 "\"${COMPREPLY[@]}\"' > %s/.completion", SNAPSIM_BINARY_DIR, verb, test_dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "%s/.completion", test_dir);
	f = fopen(cmd, "r");
	cr_assert_not_null(f);
	fclose(f);
	out = slurp(cmd, &len);
	return out;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

Test(cli_docs, every_verb_has_a_page_made_from_its_current_help)
{
	char verbs[MAX_VERBS][32], page[64], path[512], *built;
	size_t n = list_verbs(verbs);
	struct run_result r;

	for (size_t i = 0; i < n; i++) {
		char a[32], *b;

		page_of(verbs[i], page, sizeof(page));
		snprintf(path, sizeof(path), "%s/man/%s.1", SNAPSIM_BINARY_DIR, page);
		cr_assert_eq(access(path, R_OK), 0, "no manual page %s for '%s'", path, verbs[i]);
		built = slurp(path, NULL);
		snprintf(a, sizeof(a), "%s", verbs[i]);
		b = strchr(a, ' ');
		if (b)
			*b++ = '\0';
		if (b)
			run(&r, "help", "--man", a, b, NULL);
		else
			run(&r, "help", "--man", a, NULL);
		cr_assert_eq(r.status, 0, "help --man %s: %s", verbs[i], r.err);
		cr_expect_str_eq(built, r.out, "%s is not what the binary makes now", path);
		assert_has(r.out, ".SH NAME\n");
		assert_has(r.out, ".SH SYNOPSIS\n");
		assert_has(r.out, ".SH \"EXIT STATUS\"\n");
		run_free(&r);
		free(built);
	}
	built = man_text("snapsim");
	for (size_t i = 0; i < n; i++) {
		page_of(verbs[i], page, sizeof(page));
		cr_expect(strstr(built, page) != NULL, "snapsim.1 does not point to %s", page);
	}
	assert_has(built, "bad input file");
	free(built);
}

Test(cli_docs, every_option_of_every_help_is_in_its_page_and_its_completion)
{
	char verbs[MAX_VERBS][32], page[64], opts[128][64];
	size_t n = list_verbs(verbs);
	struct run_result r;

	for (size_t i = 0; i < n; i++) {
		size_t no;
		char *man, *comp;

		verb_help(verbs[i], &r);
		no = options_of(r.out, opts, 128);
		cr_expect_geq(no, 3, "%s --help names only %zu options", verbs[i], no);
		page_of(verbs[i], page, sizeof(page));
		man = man_text(page);
		comp = complete_dash(verbs[i]);
		for (size_t k = 0; k < no; k++) {
			cr_expect(strstr(man, opts[k]) != NULL, "%s.1 lacks %s", page, opts[k]);
			cr_expect(has_word(comp, opts[k]), "completion of 'snapsim %s -' lacks %s:\n%s",
				  verbs[i], opts[k], comp);
		}
		free(man);
		free(comp);
		run_free(&r);
	}
}

Test(cli_docs, completion_offers_verbs_and_option_values)
{
	char cmd[1024], *out;

	snprintf(cmd, sizeof(cmd),
		 "bash -c 'source %s/snapsim.bash-completion && "
		 "COMP_WORDS=(snapsim \"\") COMP_CWORD=1 && _snapsim && echo \"${COMPREPLY[*]}\" && "
		 "COMP_WORDS=(snapsim cow \"\") COMP_CWORD=2 && _snapsim && echo \"${COMPREPLY[*]}\" && "
		 "COMP_WORDS=(snapsim explore t.yaml --mode \"\") COMP_CWORD=4 && _snapsim && "
		 "echo \"${COMPREPLY[*]}\"' > %s/.out", SNAPSIM_BINARY_DIR, test_dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/.out", test_dir);
	out = slurp(cmd, NULL);
	assert_has(out, "table cow replay run import recipe explore report check db");
	assert_has(out, "inspect check export");
	assert_has(out, "completion flush marked\n");
	free(out);
}
