/*
 * fault_bdev.h - a fault-injecting block device that stacks over any
 * other (dm-flakey and SQLite's crash VFS are the models): errors on
 * sector ranges, errors from the Nth operation or from a time on, seeded
 * intermittent errors, latent sector errors and a disk that dies.
 *
 * Requests that no rule fails pass through to the lower device unchanged
 * (the wrapper forwards a clone and completes the original from the
 * clone's completion). Failed requests complete through the scheduler, at
 * now, never inside submit. Draws for chance rules come from the faults
 * stream (SIM_STREAM_FAULTS, instance id), and only when the rest of a rule
 * matched, so adding a rule does not move latency or crash draws.
 *
 * Latent sector errors: reads touching the sector fail with -EIO until a
 * write covering it completes successfully (through this wrapper).
 */
#ifndef SNAPSIM_SIM_FAULT_BDEV_H
#define SNAPSIM_SIM_FAULT_BDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "bdev.h"
#include "sim_sched.h"

/* Operation mask bits. */
#define SIM_FAULT_READ    (1u << 0)
#define SIM_FAULT_WRITE   (1u << 1)
#define SIM_FAULT_FLUSH   (1u << 2)
#define SIM_FAULT_DISCARD (1u << 3)
#define SIM_FAULT_ALL     0xfu

struct sim_fault_rule {
	unsigned ops;             /* SIM_FAULT_* mask; 0 = every operation */
	sector_t sector;          /* range [sector, sector + nr_sectors) */
	sector_t nr_sectors;      /* 0 = the whole device (flushes match only these) */
	uint64_t from_op;         /* active from the from_op-th request (0-based) */
	uint64_t from_ns;         /* ... and from this virtual time */
	uint64_t max_hits;        /* fail at most this many; 0 = no limit */
	uint64_t chance_num;      /* fail with probability num/den; */
	uint64_t chance_den;      /*   0/0 = always */
	int error;                /* negative errno; 0 = -EIO */
};

struct sim_fault_stats {
	uint64_t ops;             /* requests seen (sync_rw included) */
	uint64_t injected;        /* failed by a rule */
	uint64_t latent_hits;     /* reads failed by a latent error */
	uint64_t latent_cleared;  /* latent sectors cleared by rewrites */
};

struct sim_fault_bdev;

/*
 * Wrap lower (not owned: destroying the wrapper leaves lower alone).
 * s supplies time and the executor for failed completions; id picks the
 * faults stream instance. Returns 0 and *out, -EINVAL or -ENOMEM.
 */
int sim_fault_bdev_create(struct bdev *lower, struct sim_sched *s, uint64_t seed,
			  uint64_t id, const char *name, struct sim_fault_bdev **out);
void sim_fault_bdev_destroy(struct sim_fault_bdev *f);
struct bdev *sim_fault_bdev_bdev(struct sim_fault_bdev *f);

/* Add a rule (copied). Returns 0, -EINVAL (error not negative) or -ENOMEM. */
int sim_fault_add_rule(struct sim_fault_bdev *f, const struct sim_fault_rule *r);
/* Make nr sectors from sector latent errors. Returns 0, -EINVAL or -ENOMEM. */
int sim_fault_add_latent(struct sim_fault_bdev *f, sector_t sector, sector_t nr);
/* True if sector is currently a latent error. */
bool sim_fault_is_latent(const struct sim_fault_bdev *f, sector_t sector);
/* The disk dies: every request from the op-th on fails with -EIO. */
int sim_fault_die_at_op(struct sim_fault_bdev *f, uint64_t op);
/* The disk dies: every request from virtual time t_ns on fails with -EIO. */
int sim_fault_die_at_ns(struct sim_fault_bdev *f, uint64_t t_ns);

struct sim_fault_stats sim_fault_stats(const struct sim_fault_bdev *f);

#endif
