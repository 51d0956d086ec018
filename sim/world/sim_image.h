/*
 * sim_image.h - an image file as a simulated disk's initial content.
 *
 * The file is opened O_RDONLY and mapped read-only (MAP_PRIVATE, never
 * written), so its pages are read on first touch and shared by the disk,
 * its durable and current images and every fork of them: a 1 GiB image
 * costs what is touched. Writes go to the disk's sparse map, never to the
 * file. The file must not shrink while it is in use (a mapped page past
 * its end would fault).
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
 * Map the first `bytes` bytes of the regular file at path (bytes > 0;
 * the file must hold at least that many). Returns 0 and *out, or a
 * negative errno with err naming the path (missing, not a regular file,
 * unreadable, shorter than bytes).
 */
int sim_image_open(const char *path, uint64_t bytes, struct sim_image **out, char *err,
		   size_t len);
void sim_image_get(struct sim_image *img);
void sim_image_put(struct sim_image *img);

uint64_t sim_image_bytes(const struct sim_image *img);
/* The file's identity (length, inode, modification time), not its content:
 * what the hashes of a store over it mix in. */
uint64_t sim_image_ident(const struct sim_image *img);
/* Copy nr sectors from sector; sectors past the mapped bytes read zeros. */
void sim_image_read(const struct sim_image *img, sector_t sector, uint32_t nr,
		    uint8_t *buf);
/* A new store whose never-written sectors read from img (takes a
 * reference, dropped with the store). NULL when out of memory. */
struct sim_store *sim_image_store(struct sim_image *img);

#endif
