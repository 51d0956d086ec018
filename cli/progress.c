/* progress.c - a status line on a terminal; see progress.h. */
#include "progress.h"

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
	*p = (struct progress){ .out = out, .label = label, .total = total,
				.start_ns = now_ns, .last_ns = now_ns };
}

int progress_format(char *buf, size_t len, uint64_t done, uint64_t total,
		    uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	unsigned pct = total ? (unsigned)((double)done * 100.0 / (double)total) : 100;
	char eta[32];

	if (done >= total) {
		snprintf(eta, sizeof(eta), "0:00");
	} else if (rate <= 0) {
		snprintf(eta, sizeof(eta), "--:--");
	} else {
		double left = (double)(total - done) / rate + 0.5;
		unsigned long long s = left > 3.6e8 ? 359999999ull
						    : (unsigned long long)left;
		if (s >= 3600)
			snprintf(eta, sizeof(eta), "%llu:%02llu:%02llu", s / 3600,
				 s / 60 % 60, s % 60);
		else
			snprintf(eta, sizeof(eta), "%llu:%02llu", s / 60, s % 60);
	}
	return snprintf(buf, len, "%.1f/%.1f MB (%u%%), %.1f MB/s, ETA %s",
			(double)done / 1e6, (double)total / 1e6, pct, rate / 1e6, eta);
}

void progress_update(struct progress *p, uint64_t done, uint64_t now_ns)
{
	char line[160];
	int n;

	if (!p->out || now_ns - p->start_ns < PROGRESS_DELAY_NS ||
	    (p->shown && now_ns - p->last_ns < PROGRESS_EVERY_NS))
		return;
	n = snprintf(line, sizeof(line), "%s ", p->label);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	progress_format(line + n, sizeof(line) - (size_t)n, done, p->total,
			now_ns - p->start_ns);
	n = (int)strlen(line);
	/* Pad over a longer previous line instead of relying on escapes. */
	fprintf(p->out, "\r%s%*s", line,
		p->shown > (size_t)n ? (int)(p->shown - (size_t)n) : 0, "");
	fflush(p->out);
	if ((size_t)n > p->shown)
		p->shown = (size_t)n;
	p->last_ns = now_ns;
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
