/*
 * replay_fail.c - the replayer's failure record: the first check that fails
 * is kept, with the trace, its line and the seed that reproduce it; later
 * ones are dropped. The bottom of the replayer: it calls nothing else in
 * it, so every other file may report a failure.
 */
#include <stdarg.h>
#include <stdio.h>

#include "replay_impl.h"
#include "ss_error.h"

void rp_fail(struct replay_world *w, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char msg[761];

	if (w->failed)
		return;
	w->failed = true;
	va_start(ap, fmt);
	/* A long message (an echoed table) loses its middle, not the cause at its end. */
	ss_velide(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(w->fail, sizeof(w->fail), "%.200s:%u: %s (seed %llu)", w->trace, line, msg,
			 (unsigned long long)w->seed);
	else
		snprintf(w->fail, sizeof(w->fail), "%.200s: %s (seed %llu)", w->trace, msg,
			 (unsigned long long)w->seed);
	if (w->res && !w->res->fail_line)
		w->res->fail_line = line;
}
