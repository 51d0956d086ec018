/* progress.c - a status line on a terminal; see progress.h. */
#include "progress.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool progress_wanted(int fd, bool quiet)
{
	return !quiet && isatty(fd);
}

uint64_t progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void progress_init(struct progress *p, FILE *out, const char *label,
		   uint64_t total, uint64_t now_ns)
{
	const char *env = getenv("SNAPSIM_PROGRESS_DELAY_MS");
	char *end;
	unsigned long long ms = env && *env ? strtoull(env, &end, 10) : 0;

	*p = (struct progress){ .out = out, .label = label, .total = total,
				.start_ns = now_ns, .last_ns = now_ns,
				.delay_ns = PROGRESS_DELAY_NS };
	if (env && *env && !*end && ms < 86400000ull)
		p->delay_ns = ms * 1000000ull;
}

/* "M:SS" or "H:MM:SS" left at rate units/s for total - done units; "--:--" unknown. */
static void format_eta(char *eta, size_t len, uint64_t done, uint64_t total, double rate)
{
	if (done >= total) {
		snprintf(eta, len, "0:00");
	} else if (rate <= 0) {
		snprintf(eta, len, "--:--");
	} else {
		double left = (double)(total - done) / rate + 0.5;
		unsigned long long s = left > 3.6e8 ? 359999999ull
						    : (unsigned long long)left;
		if (s >= 3600)
			snprintf(eta, len, "%llu:%02llu:%02llu", s / 3600,
				 s / 60 % 60, s % 60);
		else
			snprintf(eta, len, "%llu:%02llu", s / 60, s % 60);
	}
}

int progress_format(char *buf, size_t len, uint64_t done, uint64_t total,
		    uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	unsigned pct = total ? (unsigned)((double)done * 100.0 / (double)total) : 100;
	char eta[32];

	format_eta(eta, sizeof(eta), done, total, rate);
	return snprintf(buf, len, "%.1f/%.1f MB (%u%%), %.1f MB/s, ETA %s",
			(double)done / 1e6, (double)total / 1e6, pct, rate / 1e6, eta);
}

int progress_format_counts(char *buf, size_t len, const char *what, uint64_t done,
			   uint64_t total, const char *rate_what, uint64_t rate_n,
			   const char *bad_what, uint64_t bad, uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;
	unsigned pct = total ? (unsigned)((double)(done < total ? done : total) * 100.0 /
					  (double)total) : 100;
	char eta[32], tail[64] = "";

	if (bad_what)
		snprintf(tail, sizeof(tail), ", %" PRIu64 " %s", bad, bad_what);
	if (!total) /* not known: what is done and its rate, no share and no ETA */
		return snprintf(buf, len, "%s %" PRIu64 ", %.0f %s/s%s", what, done,
				secs > 0 ? (double)rate_n / secs : 0.0, rate_what, tail);
	format_eta(eta, sizeof(eta), done, total, secs > 0 ? (double)done / secs : 0);
	return snprintf(buf, len, "%s %" PRIu64 "/%" PRIu64 " (%u%%), %.0f %s/s, ETA %s%s", what,
			done, total, pct, secs > 0 ? (double)rate_n / secs : 0.0, rate_what, eta,
			tail);
}

bool progress_due(const struct progress *p, uint64_t now_ns)
{
	return p->out && now_ns - p->start_ns >= p->delay_ns &&
	       (!p->shown || now_ns - p->last_ns >= PROGRESS_EVERY_NS);
}

void progress_show(struct progress *p, const char *text, uint64_t now_ns)
{
	char line[200];
	int n;

	if (!progress_due(p, now_ns))
		return;
	n = snprintf(line, sizeof(line), "%s %s", p->label, text);
	if (n < 0)
		return;
	n = (int)strlen(line);
	/* Pad over a longer previous line instead of relying on escapes. */
	fprintf(p->out, "\r%s%*s", line,
		p->shown > (size_t)n ? (int)(p->shown - (size_t)n) : 0, "");
	fflush(p->out);
	if ((size_t)n > p->shown)
		p->shown = (size_t)n;
	p->last_ns = now_ns;
}

void progress_update(struct progress *p, uint64_t done, uint64_t now_ns)
{
	char text[160];

	if (!progress_due(p, now_ns))
		return;
	progress_format(text, sizeof(text), done, p->total, now_ns - p->start_ns);
	progress_show(p, text, now_ns);
}

void progress_end(struct progress *p)
{
	if (p->out && p->shown) {
		fprintf(p->out, "\r%*s\r", (int)p->shown, "");
		fflush(p->out);
	}
	if (p->out)
		p->shown = 0;
}
