/*
 * help_doc.h - manual pages and bash completion made from the help text
 * each verb prints (--help), so the three never disagree.
 *
 * The help text convention (every verb follows it):
 *   - it begins with "usage: snapsim ..." lines (more lines indented);
 *   - a line at column 0 ending in ':' is a heading ("Options:",
 *     "Exit status:"); "Exit..." opens the EXIT STATUS section, also as
 *     "Exit: text" on one line;
 *   - an option is a line "  -x, --name ARG   text", two blanks before the
 *     dash and two or more after the term; its text may continue on more
 *     deeply indented lines (or start there when the term is long);
 *   - other indented lines are shown as they are (tables, examples);
 *   - the rest is prose, paragraphs separated by blank lines.
 */
#ifndef SNAPSIM_HELP_DOC_H
#define SNAPSIM_HELP_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Write the man page (roff, man(7) macros) of one verb: page "snapsim-replay"
 * (or "snapsim" for the top page, which then lists the others in SEE ALSO:
 * see_also[0..n_see_also-1]), NAME summary, and its help text.
 */
void help_write_man(FILE *out, const char *page, const char *summary, const char *text,
		    const char *const *see_also, size_t n_see_also);

/* One option as help_options finds it. */
struct help_option {
	char name[64];      /* "--seed", "-q" */
	char arg[64];       /* "N", "completion|flush|marked", "" when it takes none */
};

/*
 * Every option a help text lists: the option lines' terms, and any --name
 * in the usage lines. Returns how many (at most max) went to opts.
 */
size_t help_options(const char *text, struct help_option *opts, size_t max);

/*
 * The bash completion script for verbs words[i] ("replay", "cow inspect")
 * with help texts texts[i].
 */
void help_write_completion(FILE *out, const char *const *words, const char *const *texts,
			   size_t n);

#endif
