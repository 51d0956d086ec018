/* test_cow_format.c - golden bytes of the on-disk format (spec 2.2-2.4). */
#include <criterion/criterion.h>
#include <string.h>

#include "cow_format.h"

Test(cow_format, header_golden_bytes)
{
	static const uint8_t want[16] = {
		0x53, 0x6E, 0x41, 0x70, /* "SnAp" */
		0x01, 0x00, 0x00, 0x00, /* valid */
		0x01, 0x00, 0x00, 0x00, /* version */
		0x10, 0x00, 0x00, 0x00, /* chunk size 16 */
	};
	struct cow_header h = { COW_MAGIC, 1, COW_VERSION, 16 }, back;
	uint8_t buf[16];

	cow_header_encode(&h, buf);
	cr_assert_arr_eq(buf, want, 16);
	cow_header_decode(want, &back);
	cr_expect_eq(back.magic, COW_MAGIC);
	cr_expect_eq(back.valid, 1);
	cr_expect_eq(back.version, 1);
	cr_expect_eq(back.chunk_sectors, 16);
}

Test(cow_format, header_chunk_is_header_then_zeros)
{
	uint8_t chunk[4096];
	static const uint8_t want[16] = {
		0x53, 0x6E, 0x41, 0x70, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0,
	};

	memset(chunk, 0xAB, sizeof(chunk));
	cow_header_chunk_build(chunk, sizeof(chunk), 0, 8);
	cr_assert_arr_eq(chunk, want, 16);
	for (size_t i = 16; i < sizeof(chunk); i++)
		cr_assert_eq(chunk[i], 0, "byte %zu", i);
}

Test(cow_format, record_golden_bytes)
{
	static const uint8_t want[16] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct cow_record r = { 0x0102030405060708ULL, 0x22 }, back;
	uint8_t buf[16];

	cow_record_encode(&r, buf);
	cr_assert_arr_eq(buf, want, 16);
	cow_record_decode(want, &back);
	cr_expect_eq(back.old_chunk, r.old_chunk);
	cr_expect_eq(back.new_chunk, r.new_chunk);
}

Test(cow_format, area_slots_are_16_bytes_apart)
{
	uint8_t area[512] = { 0 };
	struct cow_record r = { 5, 2 }, back;

	cow_area_put(area, 3, &r);
	cr_expect_eq(area[48], 5);
	cr_expect_eq(area[56], 2);
	for (int i = 0; i < 512; i++)
		if (i != 48 && i != 56)
			cr_assert_eq(area[i], 0);
	cow_area_get(area, 3, &back);
	cr_expect_eq(back.old_chunk, 5);
	cr_expect_eq(back.new_chunk, 2);
}

Test(cow_format, geometry)
{
	cr_expect_eq(cow_epa(1), 32);
	cr_expect_eq(cow_epa(16), 512);
	cr_expect_eq(cow_epa(32), 1024);
	/* cs = 1: stride 33, areas at 1, 34, 67 */
	cr_expect_eq(cow_area_loc(1, 0), 1);
	cr_expect_eq(cow_area_loc(1, 1), 34);
	cr_expect_eq(cow_area_loc(1, 2), 67);
	/* cs = 16: areas at 1, 514, 1027 (spec 2.3 worked example) */
	cr_expect_eq(cow_area_loc(16, 1), 514);
	cr_expect_eq(cow_area_loc(16, 2), 1027);
	cr_expect_eq(cow_area_loc(32, 2), 2051);
	cr_expect_not(cow_is_area_chunk(16, 0));
	cr_expect(cow_is_area_chunk(16, 1));
	cr_expect_not(cow_is_area_chunk(16, 2));
	cr_expect(cow_is_area_chunk(16, 514));
	cr_expect_eq(cow_next_data_chunk(1, 2), 3);
	cr_expect_eq(cow_next_data_chunk(1, 33), 35);
	cr_expect_eq(cow_next_data_chunk(16, 513), 515);
}

Test(cow_format, chunk_size_problems)
{
	cr_expect_null(cow_chunk_size_problem(1, 1));
	cr_expect_null(cow_chunk_size_problem(2097152, 1));
	cr_expect_str_eq(cow_chunk_size_problem(12, 1), "Chunk size is not a power of 2");
	cr_expect_str_eq(cow_chunk_size_problem(0, 1), "Chunk size is not a power of 2");
	cr_expect_str_eq(cow_chunk_size_problem(4, 8),
			 "Chunk size is not a multiple of device blocksize");
	cr_expect_str_eq(cow_chunk_size_problem(4194304, 1), "Chunk size is too high");
}
