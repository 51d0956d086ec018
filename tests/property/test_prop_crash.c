/*
 * test_prop_crash.c - generated traces (dm verbs, snapshot create/remove/
 * merge, parallel I/O, injected COW write errors, `crash:` markers) run
 * under the model and the crash explorer: snapshot reads = origin at
 * snapshot time, origin reads = last acknowledged write, origin = snapshot
 * after a merge, and every sampled crash state (torn at sector
 * granularity) restarts and checks clean. See sim/prop/prop.h.
 */
#include "prop_test.h"

Test(prop_crash, mixed_stores, .timeout = 1200)
{
	prop_test_loop(PROP_CRASH, 12, 0);
}

Test(prop_crash, persistent_only, .timeout = 1200)
{
	prop_test_loop(PROP_CRASH, 12, 'P');
}
