/* tests/unit/test_id: base/id.  Ids have their prefix and length, pass
 * id_valid (which refuses malformed ones), carry the clock's time, strictly
 * increase from one generator whatever the clock does (steady, frozen,
 * stepping back, jittering), are unique across threads and replay exactly
 * from a seed and a manual clock.  (base/rng is in test_rng.c.) */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/id.h"
#include "base/rng.h"

#define MANY_IDS 100000
#define T0_MS INT64_C(1795255200123) /* 2026-11-21T10:00:00.123Z */

static const char *const prefixes[] = {
	ID_PAYMENT_INTENT, ID_REFUND, ID_PAYOUT, ID_EVENT, ID_MERCHANT,
	ID_API_KEY, ID_TRANSFER, ID_ATTEMPT, ID_PAYMENT_METHOD, "abcdef",
};

static bool is_base62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

Test(id, prefix_length_and_alphabet)
{
	struct id_gen g;
	id_gen_init(&g, &clock_system, 1);
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		char id[ID_MAX];
		id_new(&g, prefixes[i], id);
		size_t plen = strlen(prefixes[i]);
		cr_assert_eq(strlen(id), plen + 1 + ID_BODY_LEN, "%s", id);
		cr_assert_eq(strncmp(id, prefixes[i], plen), 0, "%s", id);
		cr_assert_eq(id[plen], '_', "%s", id);
		for (size_t k = plen + 1; id[k]; k++)
			cr_assert(is_base62(id[k]), "%s: char %zu", id, k);
		cr_assert(id_valid(id, prefixes[i]), "%s", id);
	}
	id_gen_destroy(&g);
}

Test(id, valid_rejects_malformed)
{
	struct id_gen g;
	id_gen_init(&g, &clock_system, 2);
	char id[ID_MAX], bad[ID_MAX + 8];
	id_new(&g, "pi", id);
	id_gen_destroy(&g);
	cr_assert(id_valid(id, "pi"));

	cr_assert_not(id_valid(id, "re"), "wrong prefix");
	cr_assert_not(id_valid(id, "p"), "prefix of the prefix");
	cr_assert_not(id_valid(id, "pix"), "longer prefix");
	cr_assert_not(id_valid(NULL, "pi"));
	cr_assert_not(id_valid("", "pi"));
	cr_assert_not(id_valid("pi_", "pi"));
	cr_assert_not(id_valid("pi", "pi"));

	strcpy(bad, id);
	bad[strlen(bad) - 1] = '\0';
	cr_assert_not(id_valid(bad, "pi"), "body one short: %s", bad);
	strcpy(bad, id);
	strcat(bad, "A");
	cr_assert_not(id_valid(bad, "pi"), "body one long: %s", bad);

	static const char bad_chars[] = {'-', '_', ' ', '.', '/', '+', '=', '\x80', '\xff'};
	for (size_t i = 0; i < sizeof bad_chars; i++) {
		for (size_t pos = 3; pos < strlen(id); pos += 7) {
			strcpy(bad, id);
			bad[pos] = bad_chars[i];
			cr_assert_not(id_valid(bad, "pi"), "char 0x%02x at %zu",
				      (unsigned char)bad_chars[i], pos);
		}
	}
	strcpy(bad, id);
	bad[2] = '-';
	cr_assert_not(id_valid(bad, "pi"), "separator must be '_'");
	strcpy(bad, id);
	bad[0] = 'P';
	cr_assert_not(id_valid(bad, "pi"), "prefix is case-sensitive");
}

/* Generates MANY_IDS ids, calling step(m, i) before each, and asserts each
 * id sorts strictly after the one before. */
static void expect_strictly_increasing(struct clock_manual *m,
				       void (*step)(struct clock_manual *, int, struct rng *))
{
	struct id_gen g;
	struct rng walk;
	rng_seed(&walk, 99);
	id_gen_init(&g, m ? &m->clock : &clock_system, 7);
	char prev[ID_MAX], id[ID_MAX];
	id_new(&g, "tr", prev);
	for (int i = 0; i < MANY_IDS; i++) {
		if (step)
			step(m, i, &walk);
		id_new(&g, "tr", id);
		cr_assert(strcmp(prev, id) < 0, "id %d: %s !< %s", i, prev, id);
		cr_assert(id_valid(id, "tr"), "%s", id);
		memcpy(prev, id, sizeof id);
	}
	id_gen_destroy(&g);
}

static void step_back(struct clock_manual *m, int i, struct rng *r)
{
	(void)i, (void)r;
	clock_manual_advance(m, -1);
}

static void step_random_walk(struct clock_manual *m, int i, struct rng *r)
{
	(void)i;
	clock_manual_advance(m, (int64_t)rng_below(r, 7) - 3); /* -3..+3 ms */
}

Test(id, increasing_with_system_clock)
{
	expect_strictly_increasing(NULL, NULL);
}

Test(id, increasing_with_frozen_clock)
{
	struct clock_manual m;
	clock_manual_init(&m, T0_MS);
	expect_strictly_increasing(&m, NULL);
}

Test(id, increasing_with_clock_going_backwards)
{
	struct clock_manual m;
	clock_manual_init(&m, T0_MS);
	expect_strictly_increasing(&m, step_back);
}

Test(id, increasing_with_clock_jittering)
{
	struct clock_manual m;
	clock_manual_init(&m, T0_MS);
	expect_strictly_increasing(&m, step_random_walk);
}

Test(id, time_is_the_clocks)
{
	struct clock_manual m;
	clock_manual_init(&m, T0_MS);
	struct id_gen g;
	id_gen_init(&g, &m.clock, 3);
	char id[ID_MAX];
	id_new(&g, "pi", id);
	cr_assert_eq(id_time_ms(id), T0_MS, "%s", id);
	id_new(&g, "pi", id); /* same millisecond */
	cr_assert_eq(id_time_ms(id), T0_MS, "%s", id);
	clock_manual_advance(&m, 86400000);
	id_new(&g, "evt", id);
	cr_assert_eq(id_time_ms(id), T0_MS + 86400000, "%s", id);
	id_gen_destroy(&g);

	id_gen_init(&g, &clock_system, 3);
	int64_t before = clock_now_ms(&clock_system);
	id_new(&g, "pi", id);
	int64_t after = clock_now_ms(&clock_system);
	cr_assert(id_time_ms(id) >= before && id_time_ms(id) <= after, "%s", id);
	id_gen_destroy(&g);

	cr_assert_eq(id_time_ms("no-underscore"), -1);
	cr_assert_eq(id_time_ms("pi_-bad"), -1);
}

/* Two generators with one seed, fed the same clock readings. */
Test(id, deterministic_from_seed_and_clock)
{
	struct clock_manual ma, mb;
	clock_manual_init(&ma, T0_MS);
	clock_manual_init(&mb, T0_MS);
	struct id_gen a, b, other;
	id_gen_init(&a, &ma.clock, 42);
	id_gen_init(&b, &mb.clock, 42);
	id_gen_init(&other, &ma.clock, 43);
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		char ia[ID_MAX], ib[ID_MAX], io[ID_MAX];
		id_new(&a, "pi", ia);
		id_new(&b, "pi", ib);
		id_new(&other, "pi", io);
		cr_assert_str_eq(ia, ib, "id %d", i);
		differ += strcmp(ia, io) != 0;
		int64_t step = i % 3; /* some ids share a millisecond */
		clock_manual_advance(&ma, step);
		clock_manual_advance(&mb, step);
	}
	cr_assert_gt(differ, 0, "another seed must give other ids");
	id_gen_destroy(&a);
	id_gen_destroy(&b);
	id_gen_destroy(&other);
}

#define THREADS 4
#define PER_THREAD 20000

struct thread_job {
	struct id_gen *g;
	char (*out)[ID_MAX];
};

static void *make_ids(void *arg)
{
	struct thread_job *job = arg;
	for (int i = 0; i < PER_THREAD; i++)
		id_new(job->g, "evt", job->out[i]);
	return NULL;
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(id, unique_across_threads)
{
	struct clock_manual m;
	clock_manual_init(&m, T0_MS);
	struct id_gen g;
	id_gen_init(&g, &m.clock, 5);
	char(*all)[ID_MAX] = calloc(THREADS * PER_THREAD, ID_MAX);
	cr_assert_not_null(all);
	pthread_t threads[THREADS];
	struct thread_job jobs[THREADS];
	for (int t = 0; t < THREADS; t++) {
		jobs[t] = (struct thread_job){&g, all + t * PER_THREAD};
		cr_assert_eq(pthread_create(&threads[t], NULL, make_ids, &jobs[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	qsort(all, THREADS * PER_THREAD, ID_MAX, cmp_ids);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		cr_assert(strcmp(all[i - 1], all[i]) < 0, "duplicate id %s", all[i]);
	free(all);
	id_gen_destroy(&g);
}
