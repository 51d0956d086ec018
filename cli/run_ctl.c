/* run_ctl.c - progress, log and stop request of a long verb; see run_ctl.h. */
#define _GNU_SOURCE
#include "run_ctl.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t run_ctl_stop;

static void on_stop(int sig)
{
	run_ctl_stop = sig;
}

void run_ctl_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESETHAND; /* the second signal has its default action: die */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The log stream's write: erase the progress line, then write to stderr. */
static ssize_t log_write(void *cookie, const char *buf, size_t len)
{
	struct run_ctl *c = cookie;

	progress_end(&c->prog);
	return (ssize_t)fwrite(buf, 1, len, stderr);
}

void run_ctl_begin(struct run_ctl *c, bool show, const char *label, uint64_t total,
		   const char *what, const char *rate_what, const char *bad_what)
{
	memset(c, 0, sizeof(*c));
	c->what = what;
	c->rate_what = rate_what;
	c->bad_what = bad_what;
	progress_init(&c->prog, show ? stderr : NULL, label, total, progress_now());
	c->log = stderr;
	if (show) {
		FILE *f = fopencookie(c, "w", (cookie_io_functions_t){ .write = log_write });

		if (f) {
			setvbuf(f, NULL, _IOLBF, 0);
			c->log = f;
		}
	}
}

void run_ctl_update(struct run_ctl *c, uint64_t done, uint64_t rate_n, uint64_t bad)
{
	uint64_t now;
	char text[160];

	if (!c->prog.out)
		return;
	now = progress_now();
	if (!progress_due(&c->prog, now))
		return;
	progress_format_counts(text, sizeof(text), c->what, c->base_done + done, c->prog.total,
			       c->rate_what, c->base_rate + rate_n, c->bad_what, c->base_bad + bad,
			       now - c->prog.start_ns);
	progress_show(&c->prog, text, now);
}

void run_ctl_next(struct run_ctl *c, uint64_t done, uint64_t rate_n, uint64_t bad)
{
	c->base_done += done;
	c->base_rate += rate_n;
	c->base_bad += bad;
}

void run_ctl_end(struct run_ctl *c)
{
	if (c->log && c->log != stderr)
		fclose(c->log);
	c->log = stderr;
	progress_end(&c->prog);
}
