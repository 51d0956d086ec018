/* statedb_impl.h - what statedb.c shares with statedb_merge.c. */
#ifndef SNAPSIM_STATEDB_IMPL_H
#define SNAPSIM_STATEDB_IMPL_H

#include <stddef.h>

#include <sqlite3.h>

/* CREATE TABLE IF NOT EXISTS ... for every table, and meta's version row. */
extern const char statedb_schema[];

/* A negative errno for an SQLite result code. */
int statedb_errno(int rc);
/* err = "WHAT: SQLite's message" (h NULL: out of memory). */
void statedb_set_err(char *err, size_t err_len, const char *what, sqlite3 *h);

#endif
