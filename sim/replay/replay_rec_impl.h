/*
 * replay_rec_impl.h - the recorder's state, shared by its two halves:
 * recording (replay_rec.c) and judging (replay_rec_judge.c).
 */
#ifndef SNAPSIM_SIM_REPLAY_REC_IMPL_H
#define SNAPSIM_SIM_REPLAY_REC_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"
#include "replay_impl.h"
#include "replay_rec.h"

enum { PV_UNSET = 0, PV_CRASH, PV_PATTERN, PV_FIXED };

#define PV_NO_BYTES UINT64_MAX
/* Something the recording does not follow: it cannot judge other states. */
#define REC_BAD(r) ((r)->bad = true)

struct rr_prov {
	uint8_t kind;
	uint32_t disk;        /* PV_CRASH */
	uint64_t a;           /* CRASH: sector; PATTERN: pattern sector; FIXED: its number */
};

struct rr_event {
	bool write;
	unsigned dev;         /* index in names */
	uint64_t sector;
	uint32_t n;
	uint64_t pos;         /* read: first position */
	unsigned flags;
	int status;
};

/* A read that filled a buffer of the stack's own (a copy, or control). */
struct rr_copy {
	const uint8_t *ptr;
	uint32_t n;
	struct rr_prov *prov;
	bool copied;
};

struct rr_disk {
	struct sim_disk *crashed;    /* the reference's crashed image (a fork we own) */
	sector_t size;
	struct rr_prov *written;     /* per sector, written during the check; NULL: none yet */
	uint64_t *control;           /* bitmap: crashed sectors the stack acts on */
	uint64_t *settled_src;       /* bitmap: crashed sectors a settled position reads */
};

/* What an unsettled position may read: contents acont[first..first+n). */
struct rr_allow {
	uint32_t first;
	uint8_t n;
	bool hard;            /* not a plain choice (EIO allowed, too many): ask the full check */
};

/* An unsettled position reading a crashed sector (the judge's index, sorted). */
struct rr_src {
	uint32_t disk;
	uint64_t sector;
	uint64_t u;           /* index in unsettled[] and allow[] */
};

struct replay_rec {
	unsigned nd;
	struct rr_disk *d;
	bool bad, started, finished;
	struct model *m0;
	char (*names)[TRACE_NAME_MAX];
	unsigned nr_names, cap_names;
	struct rr_event *ev;
	size_t nr_ev, cap_ev;
	struct rr_prov *pos;
	uint8_t *settled;
	size_t nr_pos, cap_pos;
	uint64_t nr_fixed;           /* FIXED positions named so far */
	struct rr_copy *copies;
	size_t nr_copies, cap_copies;
	const uint8_t *rbuf;         /* the check read in flight */
	uint64_t rpos;
	uint32_t rn;
	const uint8_t *wbuf;         /* the test write in flight */
	uint64_t wsector;
	uint32_t wn;
	uint64_t seed;
	bool have_seed;
	uint64_t *unsettled;
	size_t nr_unsettled, cap_unsettled;
	struct rr_allow *allow;      /* per unsettled position */
	size_t cap_allow;
	struct model_content *acont;
	size_t nr_acont, cap_acont;
	struct rr_src *src;          /* unsettled crash positions by (disk, sector) */
	size_t nr_src, cap_src;
	struct model_content_memo *cmemo; /* the caller's memo of identified patterns, or NULL */
	struct model_content *fixed_c; /* per FIXED number: the content the reference read */
	size_t cap_fixed_c;
	bool no_carry;               /* its verdict needs what it cannot carry to another point */
};
static inline int rr_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

static inline void rr_bit_set(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ull << (i % 64);
}

static inline bool rr_bits_any(const uint64_t *bm, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (!(i % 64) && i + 64 <= first + n) {
			if (bm[i / 64])
				return true;
			i += 63;
			continue;
		}
		if (bm[i / 64] & (1ull << (i % 64)))
			return true;
	}
	return false;
}

#endif
