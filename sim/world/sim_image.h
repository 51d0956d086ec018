/*
 * sim_image.h - an image file as a simulated disk's initial content.
 *
 * The file is opened O_RDONLY and never written: sectors nobody wrote are
 * read from it with pread when they are read (or when a write covers part
 * of a page), and nothing of it is kept in memory, so a 1 GiB image costs
 * only the pages the simulation writes (the disk's sparse map, shared
 * copy-on-write by every fork) and the kernel's page cache. The file must
 * not change while it is in use (a shrunk file reads zeros past its end).
 *
 * Reference counted: the opener holds one reference, each store built on
 * it (sim_image_store) another, so the image lives as long as any disk
 * or fork reading it.
 */
#ifndef SNAPSIM_SIM_IMAGE_H
#define SNAPSIM_SIM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "bio.h"
#include "sparse_map.h"

struct sim_image;

/*
 * Open the regular file at path for its first `bytes` bytes (bytes > 0;
 * the file must hold at least that many). Returns 0 and *out, or a
 * negative errno with err naming the path (missing, not a regular file,
 * unreadable, shorter than bytes).
 */
int sim_image_open(const char *path, uint64_t bytes, struct sim_image **out, char *err,
		   size_t len);
void sim_image_get(struct sim_image *img);
void sim_image_put(struct sim_image *img);

uint64_t sim_image_bytes(const struct sim_image *img);
/* Bytes read from the file so far (the disk, its forks and the model together). */
uint64_t sim_image_bytes_read(const struct sim_image *img);
/* The file's identity (length, inode, modification time), not its content:
 * what the hashes of a store over it mix in. */
uint64_t sim_image_ident(const struct sim_image *img);
/* Copy nr sectors from sector; sectors past `bytes` read zeros. */
void sim_image_read(struct sim_image *img, sector_t sector, uint32_t nr,
		    uint8_t *buf);
/* A new store whose never-written sectors read from img (takes a
 * reference, dropped with the store). NULL when out of memory. */
struct sim_store *sim_image_store(struct sim_image *img);

#endif
