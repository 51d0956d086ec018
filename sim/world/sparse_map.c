/*
 * sparse_map.c - refcounted copy-on-write radix tree of 4 KiB pages; see
 * sparse_map.h for the sharing and hashing rules.
 *
 * Layout: a node at height h (1..levels) has 64 slots; at height 1 the
 * slots hold pages, above they hold nodes. The slot of page p at height h
 * is (p >> 6*(h-1)) & 63.
 */
#include "sparse_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define FANOUT_SHIFT 6
#define FANOUT (1u << FANOUT_SHIFT)

struct sim_store {
	unsigned ref;
	enum sim_init_content init;
	uint64_t seed;
	struct sim_store_image image;  /* SIM_INIT_IMAGE */
	struct sim_store_stats stats;
	struct sim_page *zero_page; /* shared by every all-zero page; NULL until needed */
	uint64_t zero_hash;         /* sim_hash_bytes of a zero page */
};

struct sim_page {
	uint32_t ref;
	bool hash_valid;
	uint64_t contrib;              /* hash contribution; 0 = initial content */
	uint8_t data[SIM_PAGE_BYTES];
};

struct sim_node {
	uint32_t ref;
	bool hash_valid;
	uint64_t hash;                 /* subtree hash; 0 = all initial content */
	uint64_t dirty;                /* bit i: ch[i] must be recomputed */
	uint64_t ch[FANOUT];           /* cached child hashes, so hashing a
					* node does not touch clean children */
	void *slot[FANOUT];            /* struct sim_node * or struct sim_page * */
};

/* -- the store -------------------------------------------------------- */

struct sim_store *sim_store_create(enum sim_init_content init, uint64_t seed)
{
	struct sim_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->ref = 1;
	st->init = init;
	st->seed = seed;
	return st;
}

struct sim_store *sim_store_create_image(const struct sim_store_image *src)
{
	struct sim_store *st = sim_store_create(SIM_INIT_IMAGE, 0);

	if (st)
		st->image = *src;
	return st;
}

void sim_store_get(struct sim_store *st)
{
	st->ref++;
}

void sim_store_put(struct sim_store *st)
{
	if (st && --st->ref == 0) {
		if (st->image.release)
			st->image.release(st->image.ctx);
		free(st->zero_page);
		free(st);
	}
}

struct sim_store_stats sim_store_stats(const struct sim_store *st)
{
	return st->stats;
}

void sim_store_initial(const struct sim_store *st, sector_t sector,
		       uint32_t nr_sectors, uint8_t *buf)
{
	if (st->init == SIM_INIT_ZERO) {
		memset(buf, 0, (size_t)nr_sectors << SECTOR_SHIFT);
		return;
	}
	if (st->init == SIM_INIT_IMAGE) {
		st->image.read(st->image.ctx, sector, nr_sectors, buf);
		return;
	}
	/* Garbage: sector s holds the splitmix64 sequence keyed by (seed, s),
	 * so any sector's content is known without storing it. */
	for (uint32_t i = 0; i < nr_sectors; i++) {
		uint64_t key = sim_hash_combine(st->seed, sector + i);
		uint8_t *b = buf + ((size_t)i << SECTOR_SHIFT);

		for (unsigned w = 0; w < SECTOR_SIZE / 8; w++) {
			uint64_t v = sim_mix64(key + (w + 1) * 0x9e3779b97f4a7c15ull);

			for (unsigned k = 0; k < 8; k++)
				b[w * 8 + k] = (uint8_t)(v >> (8 * k));
		}
	}
}

/* The first 8 bytes of a garbage sector (see sim_store_initial()). */
static void sim_store_initial_word0(const struct sim_store *st, sector_t sector,
				    uint8_t *b)
{
	uint64_t v = sim_mix64(sim_hash_combine(st->seed, sector) +
			       0x9e3779b97f4a7c15ull);

	for (unsigned k = 0; k < 8; k++)
		b[k] = (uint8_t)(v >> (8 * k));
}

/* -- allocation and release ------------------------------------------- */

static struct sim_page *page_alloc(struct sim_store *st)
{
	struct sim_page *pg = malloc(sizeof(*pg));

	if (!pg)
		return NULL;
	pg->ref = 1;
	pg->hash_valid = false;
	pg->contrib = 0;
	st->stats.pages_live++;
	st->stats.bytes_live += sizeof(*pg);
	return pg;
}

static void page_put(struct sim_store *st, struct sim_page *pg)
{
	if (pg && --pg->ref == 0) {
		st->stats.pages_live--;
		st->stats.bytes_live -= sizeof(*pg);
		free(pg);
	}
}

static struct sim_node *node_alloc(struct sim_store *st)
{
	struct sim_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ref = 1;
	st->stats.nodes_live++;
	st->stats.bytes_live += sizeof(*n);
	return n;
}

static void node_put(struct sim_store *st, struct sim_node *n, unsigned height)
{
	if (!n || --n->ref > 0)
		return;
	for (unsigned i = 0; i < FANOUT; i++) {
		if (!n->slot[i])
			continue;
		if (height == 1)
			page_put(st, n->slot[i]);
		else
			node_put(st, n->slot[i], height - 1);
	}
	st->stats.nodes_live--;
	st->stats.bytes_live -= sizeof(*n);
	free(n);
}

/* -- maps --------------------------------------------------------------- */

static uint64_t nr_pages_of(sector_t size_sectors)
{
	return (size_sectors + SIM_PAGE_SECTORS - 1) / SIM_PAGE_SECTORS;
}

void sim_map_init(struct sim_map *m, struct sim_store *st, sector_t size_sectors)
{
	uint64_t pages = nr_pages_of(size_sectors);

	if (pages == 0)
		pages = 1;
	m->store = st;
	sim_store_get(st);
	m->root = NULL;
	m->size_sectors = size_sectors;
	m->levels = 1;
	while (m->levels < 11 && (pages - 1) >> (FANOUT_SHIFT * m->levels))
		m->levels++;
}

void sim_map_destroy(struct sim_map *m)
{
	node_put(m->store, m->root, m->levels);
	sim_store_put(m->store);
	m->root = NULL;
	m->store = NULL;
}

void sim_map_clone(struct sim_map *dst, const struct sim_map *src)
{
	*dst = *src;
	sim_store_get(dst->store);
	if (dst->root)
		dst->root->ref++;
}

static unsigned slot_of(uint64_t page, unsigned height)
{
	return (unsigned)(page >> (FANOUT_SHIFT * (height - 1))) & (FANOUT - 1);
}

static const struct sim_page *lookup(const struct sim_map *m, uint64_t page)
{
	const struct sim_node *n = m->root;

	for (unsigned h = m->levels; n && h > 1; h--)
		n = n->slot[slot_of(page, h)];
	return n ? n->slot[slot_of(page, 1)] : NULL;
}

/* The sectors from sector on, at most nr, in its page; *data: their bytes (NULL: absent page). */
static uint32_t piece_at(const struct sim_map *m, sector_t sector, uint32_t nr,
			 const uint8_t **data)
{
	unsigned in = (unsigned)(sector % SIM_PAGE_SECTORS);
	uint32_t n = SIM_PAGE_SECTORS - in;
	const struct sim_page *pg = lookup(m, sector / SIM_PAGE_SECTORS);

	*data = pg ? pg->data + ((size_t)in << SECTOR_SHIFT) : NULL;
	return n < nr ? n : nr;
}

bool sim_map_holds_initial(const struct sim_map *m, sector_t sector, uint32_t nr_sectors)
{
	uint8_t init[SIM_PAGE_BYTES];

	while (nr_sectors > 0) {
		const uint8_t *data;
		uint32_t n = piece_at(m, sector, nr_sectors, &data);

		if (data) { /* a write nearby brought the page in: compare */
			sim_store_initial(m->store, sector, n, init);
			if (memcmp(data, init, (size_t)n << SECTOR_SHIFT))
				return false;
		}
		sector += n;
		nr_sectors -= n;
	}
	return true;
}

void sim_map_read(const struct sim_map *m, sector_t sector, uint32_t nr_sectors,
		  uint8_t *buf)
{
	while (nr_sectors > 0) {
		const uint8_t *data;
		uint32_t n = piece_at(m, sector, nr_sectors, &data);

		if (data)
			memcpy(buf, data, (size_t)n << SECTOR_SHIFT);
		else
			sim_store_initial(m->store, sector, n, buf);
		buf += (size_t)n << SECTOR_SHIFT;
		sector += n;
		nr_sectors -= n;
	}
}

/* Make the node in *slot private to this map (copying it if shared). */
static struct sim_node *node_unique(struct sim_store *st, struct sim_node **slot,
				    unsigned height)
{
	struct sim_node *n = *slot, *c;

	if (!n)
		return *slot = node_alloc(st);
	if (n->ref == 1) {
		n->hash_valid = false;
		return n;
	}
	c = node_alloc(st);
	if (!c)
		return NULL;
	memcpy(c->slot, n->slot, sizeof(c->slot));
	memcpy(c->ch, n->ch, sizeof(c->ch));
	c->dirty = n->dirty;
	for (unsigned i = 0; i < FANOUT; i++) {
		if (!c->slot[i])
			continue;
		if (height == 1)
			((struct sim_page *)c->slot[i])->ref++;
		else
			((struct sim_node *)c->slot[i])->ref++;
	}
	n->ref--; /* still referenced elsewhere: never reaches 0 here */
	return *slot = c;
}

/* Make the page in *slot private to this map (allocating or copying). */
static struct sim_page *page_unique(struct sim_store *st, struct sim_page **slot,
				    uint64_t page, bool whole)
{
	struct sim_page *pg = *slot, *c;

	if (pg && pg->ref == 1) {
		pg->hash_valid = false;
		return pg;
	}
	c = page_alloc(st);
	if (!c)
		return NULL;
	if (pg) {
		if (!whole)
			memcpy(c->data, pg->data, SIM_PAGE_BYTES);
		pg->ref--;
		st->stats.page_copies++;
	} else if (!whole) {
		sim_store_initial(st, page * SIM_PAGE_SECTORS, SIM_PAGE_SECTORS, c->data);
	}
	return *slot = c;
}

/*
 * The leaf node holding page, made private to this map along its path,
 * each node's bit for the path marked dirty. NULL when out of memory.
 */
static struct sim_node *path_unique(struct sim_map *m, uint64_t page)
{
	struct sim_node **slot = &m->root, *node = NULL;

	for (unsigned h = m->levels; h >= 1; h--) {
		node = node_unique(m->store, slot, h);
		if (!node)
			return NULL;
		node->dirty |= 1ull << slot_of(page, h);
		if (h > 1)
			slot = (struct sim_node **)&node->slot[slot_of(page, h)];
	}
	return node;
}

static bool all_zero(const uint8_t *b, size_t len)
{
	return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

/*
 * A whole page of zeros: absent in a store whose initial content is zeros,
 * else the store's one shared zero page. So a disk written with zeros (a
 * chunk copied from never-written sectors, a zeroed metadata area) holds
 * no memory per page.
 */
static int put_zero_page(struct sim_map *m, uint64_t page)
{
	struct sim_store *st = m->store;
	const struct sim_page *cur = lookup(m, page);
	struct sim_page *want = NULL, **slot;
	struct sim_node *node;

	if (st->init != SIM_INIT_ZERO) {
		if (!st->zero_page) {
			st->zero_page = calloc(1, sizeof(*st->zero_page));
			if (!st->zero_page)
				return -ENOMEM;
			st->zero_page->ref = 1; /* the store's own reference */
			st->zero_hash = sim_hash_bytes(st->zero_page->data, SIM_PAGE_BYTES, 0);
		}
		want = st->zero_page;
	}
	if (cur == want)
		return 0;
	node = path_unique(m, page);
	if (!node)
		return -ENOMEM;
	slot = (struct sim_page **)&node->slot[slot_of(page, 1)];
	page_put(st, *slot);
	if (want)
		want->ref++;
	*slot = want;
	return 0;
}

/* Write nr sectors from buf, or zeros when buf is NULL. */
static int map_write(struct sim_map *m, sector_t sector, uint32_t nr_sectors,
		     const uint8_t *buf)
{
	struct sim_store *st = m->store;

	while (nr_sectors > 0) {
		uint64_t page = sector / SIM_PAGE_SECTORS;
		unsigned in = (unsigned)(sector % SIM_PAGE_SECTORS);
		uint32_t n = SIM_PAGE_SECTORS - in;
		size_t bytes;
		struct sim_node *node;
		struct sim_page *pg;
		bool zero;

		if (n > nr_sectors)
			n = nr_sectors;
		bytes = (size_t)n << SECTOR_SHIFT;
		zero = !buf || all_zero(buf, bytes);
		if (zero && n == SIM_PAGE_SECTORS) {
			int r = put_zero_page(m, page);

			if (r)
				return r;
		} else if (!(zero && st->init == SIM_INIT_ZERO && !lookup(m, page))) {
			/* (zeros into an absent page of a zero store change nothing) */
			node = path_unique(m, page);
			if (!node)
				return -ENOMEM;
			pg = page_unique(st, (struct sim_page **)&node->slot[slot_of(page, 1)],
					 page, n == SIM_PAGE_SECTORS);
			if (!pg)
				return -ENOMEM;
			if (buf)
				memcpy(pg->data + ((size_t)in << SECTOR_SHIFT), buf, bytes);
			else
				memset(pg->data + ((size_t)in << SECTOR_SHIFT), 0, bytes);
		}
		if (buf)
			buf += bytes;
		sector += n;
		nr_sectors -= n;
	}
	return 0;
}

int sim_map_write(struct sim_map *m, sector_t sector, uint32_t nr_sectors,
		  const uint8_t *buf)
{
	return map_write(m, sector, nr_sectors, buf);
}

int sim_map_write_zeros(struct sim_map *m, sector_t sector, uint32_t nr_sectors)
{
	return map_write(m, sector, nr_sectors, NULL);
}

/* -- hashing ------------------------------------------------------------ */

static bool page_is_initial(const struct sim_store *st, const struct sim_page *pg,
			    uint64_t page)
{
	uint8_t init[SIM_PAGE_BYTES];

	if (st->init == SIM_INIT_ZERO) {
		for (unsigned i = 0; i < SIM_PAGE_BYTES; i++)
			if (pg->data[i])
				return false;
		return true;
	}
	if (st->init == SIM_INIT_IMAGE) {
		sim_store_initial(st, page * SIM_PAGE_SECTORS, SIM_PAGE_SECTORS, init);
		return memcmp(init, pg->data, SIM_PAGE_BYTES) == 0;
	}
	/* Cheap rejection first: the first 8 bytes of each sector. */
	for (unsigned i = 0; i < SIM_PAGE_SECTORS; i++) {
		sim_store_initial_word0(st, page * SIM_PAGE_SECTORS + i, init);
		if (memcmp(init, pg->data + ((size_t)i << SECTOR_SHIFT), 8))
			return false;
	}
	sim_store_initial(st, page * SIM_PAGE_SECTORS, SIM_PAGE_SECTORS, init);
	return memcmp(init, pg->data, SIM_PAGE_BYTES) == 0;
}

static uint64_t page_contrib(const struct sim_store *st, struct sim_page *pg,
			     uint64_t page)
{
	/* The shared zero page sits at many indices: its contribution is
	 * not cached, and equals what a private zero page there would give. */
	if (pg == st->zero_page)
		return page_is_initial(st, pg, page) ? 0 :
			sim_hash_combine(page + 1, st->zero_hash) | 1;
	if (!pg->hash_valid) {
		if (page_is_initial(st, pg, page))
			pg->contrib = 0;
		else
			pg->contrib = sim_hash_combine(page + 1,
				sim_hash_bytes(pg->data, SIM_PAGE_BYTES, 0)) | 1;
		pg->hash_valid = true;
	}
	return pg->contrib;
}

static uint64_t node_hash(const struct sim_store *st, struct sim_node *n,
			  unsigned height, uint64_t first_page)
{
	uint64_t h = 0;
	uint64_t span = (uint64_t)1 << (FANOUT_SHIFT * (height - 1));

	if (!n)
		return 0;
	if (n->hash_valid && !n->dirty)
		return n->hash;
	while (n->dirty) {
		unsigned i = (unsigned)__builtin_ctzll(n->dirty);

		n->dirty &= n->dirty - 1;
		if (!n->slot[i])
			n->ch[i] = 0;
		else if (height == 1)
			n->ch[i] = page_contrib(st, n->slot[i], first_page + i);
		else
			n->ch[i] = node_hash(st, n->slot[i], height - 1,
					     first_page + i * span);
	}
	for (unsigned i = 0; i < FANOUT; i++)
		if (n->ch[i])
			h = sim_hash_combine(h, n->ch[i]);
	n->hash = h;
	n->hash_valid = true;
	return h;
}

uint64_t sim_map_hash(struct sim_map *m)
{
	uint64_t h = sim_hash_combine(m->size_sectors,
				      node_hash(m->store, m->root, m->levels, 0));

	return m->store->image.ident ? sim_hash_combine(m->store->image.ident, h) : h;
}

static uint64_t count_pages(const struct sim_node *n, unsigned height)
{
	uint64_t c = 0;

	if (!n)
		return 0;
	for (unsigned i = 0; i < FANOUT; i++) {
		if (!n->slot[i])
			continue;
		c += height == 1 ? 1 : count_pages(n->slot[i], height - 1);
	}
	return c;
}

uint64_t sim_map_pages_present(const struct sim_map *m)
{
	return count_pages(m->root, m->levels);
}

/* -- differences ---------------------------------------------------------- */

struct diff_walk {
	const struct sim_store *st;
	sector_t size;
	sim_map_diff_fn *fn;
	void *ctx;
};

/* Report the sectors of page p where pages x and y (NULL: initial content) differ. */
static void diff_page(const struct diff_walk *dw, const struct sim_page *x,
		      const struct sim_page *y, uint64_t page)
{
	uint8_t init[SIM_PAGE_BYTES];
	const uint8_t *a, *b;
	sector_t first = page * SIM_PAGE_SECTORS, run = 0;
	uint32_t n = 0;

	if (first >= dw->size)
		return;
	if (!x || !y)
		sim_store_initial(dw->st, first, SIM_PAGE_SECTORS, init);
	a = x ? x->data : init;
	b = y ? y->data : init;
	for (unsigned i = 0; i < SIM_PAGE_SECTORS && first + i < dw->size; i++) {
		if (memcmp(a + ((size_t)i << SECTOR_SHIFT), b + ((size_t)i << SECTOR_SHIFT),
			   SECTOR_SIZE)) {
			if (!n)
				run = first + i;
			n++;
			continue;
		}
		if (n)
			dw->fn(dw->ctx, run, n);
		n = 0;
	}
	if (n)
		dw->fn(dw->ctx, run, n);
}

static void diff_node(const struct diff_walk *dw, const struct sim_node *x,
		      const struct sim_node *y, unsigned height, uint64_t first_page)
{
	uint64_t span = (uint64_t)1 << (FANOUT_SHIFT * (height - 1));

	if (x == y)
		return; /* shared: equal without reading it */
	for (unsigned i = 0; i < FANOUT; i++) {
		const void *cx = x ? x->slot[i] : NULL, *cy = y ? y->slot[i] : NULL;

		if (cx == cy)
			continue;
		if (height == 1)
			diff_page(dw, cx, cy, first_page + i);
		else
			diff_node(dw, cx, cy, height - 1, first_page + i * span);
	}
}

void sim_map_diff(const struct sim_map *a, const struct sim_map *b, sim_map_diff_fn *fn,
		  void *ctx)
{
	struct diff_walk dw = { a->store, a->size_sectors, fn, ctx };

	diff_node(&dw, a->root, b->root, a->levels, 0);
}
