/*
 * checker_trace.h - the trace the checker tests explore (test_cli_check_cmd.c,
 * test_cli_check_min.c): an origin with a persistent snapshot S taking two
 * origin writes before a crash marker.
 */
#ifndef SNAPSIM_TESTS_CHECKER_TRACE_H
#define SNAPSIM_TESTS_CHECKER_TRACE_H

/* ref holds what the snapshot S must keep: data's content before the snapshot. */
static const char trace[] =
	"version: 1\n"
	"seed: 3\n"
	"disks:\n"
	"  - {name: data, size: 256K}\n"
	"  - {name: cow, size: 256K}\n"
	"  - {name: ref, size: 256K}\n"
	"steps:\n"
	"  - write: {dev: data, length: 256K, data: seed-1}\n"
	"  - write: {dev: ref, length: 256K, data: seed-1, fua: true}\n"
	"  - flush: data\n"
	"  - dm: create X_org --table \"0 512 linear /dev/data 0\"\n"
	"  - dm: create X --table \"0 512 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create S --table \"0 512 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 0, length: 16K, data: seed-2}\n"
	"  - write: {dev: X, offset: 64K, length: 8K, data: seed-3}\n"
	"  - crash: after\n";

#endif
