/* model_map.c - sparse sector -> state map for the model (see model_map.h). */
#include "model_map.h"

#include <stdlib.h>
#include <string.h>

#include "pattern.h"

/*
 * Eight consecutive sectors share a line of slots: checks read sectors in
 * order, and a hash of each sector alone made every lookup a cache miss.
 */
static uint64_t slot_of(const struct mmap *mp, uint64_t key)
{
	return ((pattern_mix64(key >> 3) << 3) | (key & 7)) & (mp->cap - 1);
}

struct mstate *mmap_get(const struct mmap *mp, uint64_t key)
{
	if (!mp->cap)
		return NULL;
	for (uint64_t i = slot_of(mp, key);; i = (i + 1) & (mp->cap - 1)) {
		if (!mp->slots[i].s)
			return NULL;
		if (mp->slots[i].key == key)
			return mp->slots[i].s;
	}
}

static int grow(struct mmap *mp)
{
	uint64_t cap = mp->cap ? mp->cap * 2 : 64;
	struct mmap_slot *slots = calloc(cap, sizeof(*slots));
	struct mmap old = *mp;

	if (!slots)
		return -1;
	mp->slots = slots;
	mp->cap = cap;
	for (uint64_t i = 0; i < old.cap; i++) {
		if (!old.slots[i].s)
			continue;
		for (uint64_t j = slot_of(mp, old.slots[i].key);; j = (j + 1) & (cap - 1)) {
			if (!slots[j].s) {
				slots[j] = old.slots[i];
				break;
			}
		}
	}
	free(old.slots);
	return 0;
}

struct mstate *mmap_put(struct mmap *mp, uint64_t key, bool *created)
{
	struct mstate *s = mmap_get(mp, key);

	if (created)
		*created = false;
	if (s)
		return s;
	if ((mp->used + 1) * 2 > mp->cap && grow(mp))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	for (uint64_t i = slot_of(mp, key);; i = (i + 1) & (mp->cap - 1)) {
		if (!mp->slots[i].s) {
			mp->slots[i].key = key;
			mp->slots[i].s = s;
			break;
		}
	}
	mp->used++;
	if (created)
		*created = true;
	return s;
}

void mmap_each(struct mmap *mp, void (*fn)(void *ctx, uint64_t key, struct mstate *s),
	       void *ctx)
{
	for (uint64_t i = 0; i < mp->cap; i++)
		if (mp->slots[i].s)
			fn(ctx, mp->slots[i].key, mp->slots[i].s);
}

void mmap_free(struct mmap *mp)
{
	for (uint64_t i = 0; i < mp->cap; i++) {
		if (mp->slots[i].s) {
			free(mp->slots[i].s->v);
			free(mp->slots[i].s);
		}
	}
	free(mp->slots);
	memset(mp, 0, sizeof(*mp));
}

int mstate_push(struct mstate *s, const struct mver *v)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 2;
		struct mver *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = *v;
	return 0;
}

void mstate_drop(struct mstate *s, uint32_t i)
{
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
	s->n--;
}
