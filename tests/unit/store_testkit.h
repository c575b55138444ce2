/* tests/unit/store_testkit: what the store tests share (test_store_payments.c,
 * test_store_payouts.c): opening the test's database, transactions that
 * must succeed, a store with two merchants, ids that sort by a number,
 * heap-string comparison, and collecting the ids a list or walk delivers. */
#ifndef PAYD_TESTS_STORE_TESTKIT_H
#define PAYD_TESTS_STORE_TESTKIT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "tmpdb.h"

#define STK_M1 "acct_one"
#define STK_M2 "acct_two"
#define STK_SEEN_MAX 256

/* Opens t's database (asserts it opens). */
struct store *stk_open(const struct tmpdb *t, unsigned flags, int migrate_to);
void stk_begin(struct store *s);
void stk_commit(struct store *s);
/* A writable store with merchants STK_M1 ("one") and STK_M2 ("two"). */
struct store *stk_open_shops(const struct tmpdb *t, int64_t now_ms);
/* Ids that sort by n, like real ones sort by creation. */
void stk_mkid(char out[ID_MAX], const char *prefix, int n);
/* A heap string as expected: NULL exactly when want is. */
void stk_expect_heap_eq(const char *got, const char *want, const char *what);

/* The ids delivered to stk_collect (records whose id comes first). */
struct stk_seen {
	int n;
	char ids[STK_SEEN_MAX][ID_MAX];
	int64_t polls[STK_SEEN_MAX]; /* what a payout walk saw, kept by its own collector */
};
void stk_collect(void *ctx, const void *record);
bool stk_seen_has(const struct stk_seen *seen, const char *id);

#endif
