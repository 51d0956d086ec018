/*
 * fuzz.h - the one function every harness implements. The same harness
 * runs under AFL++ in persistent mode (driver_afl.c, built with
 * afl-clang-fast) and under the plain replay driver (driver_replay.c, built
 * with ASan+UBSan for CI). A harness aborts when a property fails.
 */
#ifndef SNAPSIM_FUZZ_H
#define SNAPSIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int snapsim_fuzz_one(const uint8_t *data, size_t size);

/* Abort with a message naming the property (the fuzzer records a crash). */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif
