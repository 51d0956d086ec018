/*
 * exstore.c - exception-store construction from a table's store token
 * (spec 1.3 step 6 and 7) and the helpers shared by the store types.
 *
 * The token's first character, in any case, picks the type (P persistent,
 * N transient); the characters after it are the type's option string,
 * which the type's ctr interprets (persistent: O = overflow mode; transient:
 * ignored). The type table lists each type once; there is no copied table
 * for an alias.
 */
#include "exstore.h"

#include <ctype.h>
#include <stdlib.h>

#include "cow_format.h"

static const struct exstore_type *const exstore_types[] = {
	&exstore_persistent_type,
	&exstore_transient_type,
};

static const struct exstore_type *exstore_find_type(char letter)
{
	int up = toupper((unsigned char)letter);

	for (size_t i = 0; i < sizeof(exstore_types) / sizeof(exstore_types[0]); i++)
		if (exstore_types[i]->letter == up)
			return exstore_types[i];
	return NULL;
}

int exstore_create(const char *token, uint32_t chunk_sectors,
		   struct bdev *cow, unsigned block_sectors,
		   struct executor *ex, struct exstore **out,
		   struct ss_error *err)
{
	const struct exstore_type *type;
	const char *problem;
	struct exstore *s;
	int r;

	type = (token && token[0]) ? exstore_find_type(token[0]) : NULL;
	if (!type)
		return ss_error_set(err, -EINVAL, 0, 0,
				    "Exception store type is not P or N");
	if (chunk_sectors) {
		problem = cow_chunk_size_problem(chunk_sectors, block_sectors);
		if (problem)
			return ss_error_set(err, -EINVAL, 0, 0, "%s", problem);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return ss_error_set(err, -ENOMEM, 0, 0,
				    "Cannot allocate exception store");
	s->type = type;
	s->cow = cow;
	s->ex = ex;
	s->block_sectors = block_sectors;
	if (chunk_sectors)
		exstore_set_chunk_size(s, chunk_sectors);
	r = type->ctr(s, token + 1, err);
	if (r) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void exstore_destroy(struct exstore *s)
{
	if (!s)
		return;
	s->type->dtr(s); /* frees s->context, allocated by the type's ctr */
	free(s);         /* allocated by exstore_create */
}

const char *exstore_table_token(const struct exstore *s)
{
	if (s->type->letter == 'N')
		return "N";
	return s->overflow_mode ? "PO" : "P";
}

void exstore_set_chunk_size(struct exstore *s, uint32_t chunk_sectors)
{
	unsigned shift = 0;

	while (shift < 31 && (UINT32_C(1) << shift) < chunk_sectors)
		shift++;
	s->chunk_sectors = chunk_sectors;
	s->chunk_shift = shift;
}
