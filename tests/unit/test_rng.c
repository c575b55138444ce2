/* tests/unit/test_rng: base/rng.  The generator replays exactly from its
 * seed (0 included), rng_below stays in bounds for small, odd and huge
 * bounds, and is roughly uniform with no modulo bias; the draws are seeded,
 * so these checks are deterministic. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/rng.h"

Test(rng, same_seed_same_sequence)
{
	struct rng a, b, c;
	rng_seed(&a, 12345);
	rng_seed(&b, 12345);
	rng_seed(&c, 12346);
	int differ = 0;
	for (int i = 0; i < 10000; i++) {
		uint64_t x = rng_next(&a);
		cr_assert_eq(x, rng_next(&b), "draw %d", i);
		differ += x != rng_next(&c);
	}
	cr_assert_gt(differ, 9900, "a neighbouring seed must give another sequence");
}

Test(rng, seed_zero_is_usable)
{
	struct rng r;
	rng_seed(&r, 0);
	uint64_t first = rng_next(&r);
	int zeros = first == 0, repeats = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&r);
		zeros += x == 0;
		repeats += x == first;
	}
	cr_assert_lt(zeros, 2);
	cr_assert_eq(repeats, 0);
}

Test(rng, below_stays_in_bounds)
{
	static const uint64_t bounds[] = {
		1, 2, 3, 7, 10, 62, 1000, 1u << 31, (1ull << 63) + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	struct rng r;
	rng_seed(&r, 77);
	for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++)
		for (int i = 0; i < 2000; i++) {
			uint64_t x = rng_below(&r, bounds[b]);
			cr_assert_lt(x, bounds[b], "rng_below(%llu) = %llu",
				     (unsigned long long)bounds[b], (unsigned long long)x);
		}
	for (int i = 0; i < 100; i++)
		cr_assert_eq(rng_below(&r, 1), 0);
}

/* 10 buckets, 200k draws: each bucket within 5% of its expected 20000
 * (about 7 standard deviations: never fails for a sound generator). */
Test(rng, below_is_roughly_uniform)
{
	enum { BUCKETS = 10, DRAWS = 200000 };
	long counts[BUCKETS] = {0};
	struct rng r;
	rng_seed(&r, 2026);
	for (int i = 0; i < DRAWS; i++)
		counts[rng_below(&r, BUCKETS)]++;
	for (int b = 0; b < BUCKETS; b++)
		cr_assert(labs(counts[b] - DRAWS / BUCKETS) < DRAWS / BUCKETS / 20,
			  "bucket %d has %ld of %d", b, counts[b], DRAWS);

	/* With bound 1.5 * 2^63 a plain modulo would put 62.5% of the draws
	 * in the lower half; rejection sampling keeps it at 50%. */
	long low = 0;
	uint64_t big = (1ull << 63) + (1ull << 62);
	for (int i = 0; i < 20000; i++)
		low += rng_below(&r, big) < big / 2;
	cr_assert(labs(low - 10000) < 500, "lower half got %ld of 20000", low);
}
