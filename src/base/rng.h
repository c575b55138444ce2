/* base/rng: a small, fast, seedable generator (xoshiro256**) so that ids,
 * jitter and simulations replay exactly from a seed.  Not for secrets: API
 * keys and other secrets come from crypto_random_bytes(). */
#ifndef PAYD_BASE_RNG_H
#define PAYD_BASE_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
/* Seeds from the operating system's entropy (for production use). */
void rng_seed_os(struct rng *r);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, bound), without modulo bias; bound > 0. */
uint64_t rng_below(struct rng *r, uint64_t bound);

#endif
