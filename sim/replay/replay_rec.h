/*
 * replay_rec.h - where every byte a recovered world's check reads comes
 * from, so that the crash states of one crash point can be judged against
 * one of them (the reference) at the cost of what differs.
 *
 * Recording. A reference state is restarted with a recorder
 * (replay_world_restart_rec) and checked as usual (check_all, more I/O,
 * check_all). The recorder sees every disk request at the taps and every
 * check read and test write, and keeps:
 *   - the control set: crashed sectors whose bytes the stack acts on
 *     (activation's and the explorer's metadata reads, and any read whose
 *     data is not copied out unchanged);
 *   - per checked sector (a "position"), its provenance: a sector of the
 *     crashed image (directly, or copied there during the check), a sector
 *     of a test write's pattern, or bytes that do not depend on the state;
 *   - the model as it was after recovery, and the check's reads and test
 *     writes in order.
 * Each position's provenance is verified against the bytes actually read.
 * The world does not check the recorded reads against the model:
 * replay_rec_finish does, once per position and without pins (below), so
 * that a reference costs one look at the model per sector, not two.
 *
 * Judging. The stack does not look at data, only at metadata: a state
 * whose crashed images equal the reference's on the control set is
 * recovered into the same stack and runs the same I/O, and each position
 * reads its provenance's bytes in that state. At the end of the recording
 * every position is judged on the recovered model with the test writes and
 * no read applied: one allowed content makes it settled, the others keep
 * their allowed sets. A state passes when the sectors where its images
 * differ from the reference's are neither control nor read by a settled
 * position, and each position reading one allows the state's bytes there.
 * A pin ties reads of one model sector state; the recording is refused
 * when one such state takes its bytes from two sources, so a position
 * judged alone gets the full check's verdict. replay_rec_judge says
 * "passes" only when the full check would pass; anything else asks for
 * the full check.
 */
#ifndef SNAPSIM_SIM_REPLAY_REC_H
#define SNAPSIM_SIM_REPLAY_REC_H

#include <stdbool.h>
#include <stdint.h>

#include "bio.h"
#include "sim_disk.h"

struct model;
struct replay_world;
struct replay_rec;

/* A recorder for a world of nr_disks disks (NULL: out of memory). */
struct replay_rec *replay_rec_new(unsigned nr_disks);
void replay_rec_free(struct replay_rec *rec);

/*
 * replay_world_restart() with a recorder: crashed[] is the reference's
 * crashed images (the recorder keeps forks of them). A recorder records
 * one restart.
 */
int replay_world_restart_rec(struct replay_world *w, struct sim_disk **crashed,
			     struct replay_rec *rec, struct replay_world **out, char *errbuf,
			     size_t len);

/*
 * The reference's crashed images (the recorder keeps forks of them);
 * replay_world_restart_rec calls it, callers that record control reads
 * before the restart call it first. 0, -EINVAL or -ENOMEM.
 */
int replay_rec_attach(struct replay_rec *rec, struct sim_disk **crashed, unsigned nr_disks);

/* Crashed sectors the caller read to decide something (metadata): control. */
void replay_rec_control(struct replay_rec *rec, unsigned disk, sector_t sector,
			uint32_t nr);

/*
 * After the reference's check passed: judge every position it read on the
 * recovered model, and which positions are settled. Returns 0 when the
 * reference's reads all pass there and the recording can judge other
 * states; -1 when not, which says nothing of the state: a read the model
 * does not allow, two sources for one sector state, or something the
 * recording does not follow (an I/O error, a background merge, a
 * provenance the bytes contradict, test writes of two seeds). Only the
 * full check, without a recorder, then gives the state's verdict.
 */
int replay_rec_finish(struct replay_rec *rec);

/*
 * Carrying. A later crash point of the same world shape (tables, COW
 * holders) recovers a state that equals the reference on the control set
 * into the same stack, which runs the same I/O; only the model differs.
 * replay_rec_rebase judges every position again on m, that point's
 * recovered model (the caller's, not kept), and requires what the
 * reference itself read to pass there: the test writes' statuses as
 * predicted, failed reads still allowed to fail, each position's content
 * still allowed, one source per sector state. 0: the recording judges
 * that point's states from now on; -1: it cannot (it is spent: free it).
 */
int replay_rec_rebase(struct replay_rec *rec, const struct model *m);

/* Whether crashed[] (one per disk) equals the reference's crashed images on the control set. */
bool replay_rec_control_same(const struct replay_rec *rec, struct sim_disk **crashed);

/* The reference's verdict used the point's model beyond its reads (a header judged by it): no carrying. */
void replay_rec_no_carry(struct replay_rec *rec);

/*
 * Judge a state of the same crash point: crashed[] its crashed images (of
 * the reference's disk families), seed the seed of its test writes.
 * 0: the full check passes; 1: run the full check.
 */
int replay_rec_judge(struct replay_rec *rec, struct sim_disk **crashed, uint64_t seed);

/*
 * The judge identifies the patterns in differing sectors through cm (not
 * the recorder's: it outlives the recordings of one run, whose crash
 * points read the same pending writes again). NULL: no memo.
 */
struct model_content_memo;
void replay_rec_use_memo(struct replay_rec *rec, struct model_content_memo *cm);

/* Positions recorded, and those replay_rec_judge checks against the model. */
uint64_t replay_rec_positions(const struct replay_rec *rec);
uint64_t replay_rec_unsettled(const struct replay_rec *rec);

#endif
