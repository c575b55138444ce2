/* tests/unit/test_ledger: core/ledger, pure and in memory.  Balanced
 * transfers post; unbalanced, overflowing, mixed-currency, unsupported-
 * currency and malformed ones are refused with their catalog code and leave
 * every account byte-for-byte unchanged; overdraft rules; two-phase
 * transfers (pending, full and partial post, void); multi-leg transfers;
 * account sanity; and a seeded random sequence of operations after which
 * the posted balances still sum to zero and the pending sums match the
 * open holds. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/rng.h"
#include "core/catalog.h"
#include "core/ledger.h"

/* LEGS({id, amount}, ...) expands to a leg array and its length. */
#define LEGS(...)                                                    \
	((const struct ledger_leg[]){__VA_ARGS__}),                  \
		(sizeof((const struct ledger_leg[]){__VA_ARGS__}) /  \
		 sizeof(struct ledger_leg))

static struct ledger_transfer transfer(const char *currency, const struct ledger_leg *legs,
				       size_t n)
{
	struct ledger_transfer t;
	memset(&t, 0, sizeof t);
	snprintf(t.currency, sizeof t.currency, "%s", currency);
	t.leg_count = n;
	cr_assert_leq(n, (size_t)LEDGER_MAX_LEGS);
	memcpy(t.legs, legs, n * sizeof legs[0]);
	return t;
}

static struct ledger_account account(int64_t id, const char *currency, unsigned flags,
				     int64_t posted)
{
	struct ledger_account a;
	memset(&a, 0, sizeof a);
	a.id = id;
	snprintf(a.currency, sizeof a.currency, "%s", currency);
	a.flags = flags;
	a.posted = posted;
	return a;
}

/* Runs op on a copy of accounts and asserts it fails with want_rc and
 * leaves the copy identical to the original. */
enum op { OP_POST, OP_PENDING, OP_VOID };

static int apply(enum op op, const struct ledger_transfer *t, struct ledger_account *accounts)
{
	switch (op) {
	case OP_POST: return ledger_apply_post(t, accounts);
	case OP_PENDING: return ledger_apply_pending(t, accounts);
	default: return ledger_apply_void(t, accounts);
	}
}

static void expect_refused(enum op op, const struct ledger_transfer *t,
			   const struct ledger_account *accounts, size_t n, int want_rc)
{
	struct ledger_account copy[LEDGER_MAX_LEGS + 1];
	memcpy(copy, accounts, n * sizeof copy[0]);
	int rc = apply(op, t, copy);
	cr_assert_eq(rc, want_rc, "op %d: rc %d, want %d", (int)op, rc, want_rc);
	cr_assert_eq(memcmp(copy, accounts, n * sizeof copy[0]), 0,
		     "op %d changed the accounts while failing", (int)op);
}

static void expect_post_pending_refused(const struct ledger_transfer *p, int64_t amount,
					const struct ledger_account *accounts, int want_rc)
{
	struct ledger_account copy[LEDGER_MAX_LEGS];
	memcpy(copy, accounts, p->leg_count * sizeof copy[0]);
	struct ledger_transfer posted;
	int rc = ledger_apply_post_pending(p, amount, copy, &posted);
	cr_assert_eq(rc, want_rc, "post_pending %lld: rc %d, want %d", (long long)amount, rc,
		     want_rc);
	cr_assert_eq(memcmp(copy, accounts, p->leg_count * sizeof copy[0]), 0,
		     "post_pending %lld changed the accounts while failing", (long long)amount);
}

Test(ledger, balanced_post)
{
	struct ledger_transfer t = transfer("CNY", LEGS({1, -500}, {2, 500}));
	struct ledger_account a[2] = {account(1, "CNY", 0, 0), account(2, "CNY", 0, 0)};
	cr_assert_eq(ledger_check(&t), CAT_OK);
	cr_assert_eq(ledger_amount(&t), 500);
	cr_assert_eq(ledger_apply_post(&t, a), CAT_OK);
	cr_assert_eq(a[0].posted, -500);
	cr_assert_eq(a[1].posted, 500);
	cr_assert_eq(a[0].pending_debits + a[0].pending_credits, 0);
	cr_assert_eq(a[1].pending_debits + a[1].pending_credits, 0);
	cr_assert_eq(a[0].id, 1);
	cr_assert_str_eq(a[0].currency, "CNY");
}

Test(ledger, unbalanced_refused)
{
	struct ledger_account a[3] = {account(1, "CNY", 0, 0), account(2, "CNY", 0, 0),
				      account(3, "CNY", 0, 0)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, -500}, {2, 499}));
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_UNBALANCED);
	expect_refused(OP_POST, &t, a, 2, CAT_LEDGER_UNBALANCED);
	expect_refused(OP_PENDING, &t, a, 2, CAT_LEDGER_UNBALANCED);
	t = transfer("CNY", LEGS({1, 100}, {2, 100}));
	expect_refused(OP_POST, &t, a, 2, CAT_LEDGER_UNBALANCED);
	t = transfer("CNY", LEGS({1, -100}, {2, 60}, {3, 39}));
	expect_refused(OP_POST, &t, a, 3, CAT_LEDGER_UNBALANCED);
}

static bool overflow_code(int rc)
{
	return rc == CAT_LEDGER_UNBALANCED || rc == CAT_AMOUNT_TOO_LARGE;
}

Test(ledger, overflow_in_legs_sum_refused)
{
	struct ledger_account a[3] = {account(1, "CNY", 0, 0), account(2, "CNY", 0, 0),
				      account(3, "CNY", 0, 0)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, INT64_MAX}, {2, INT64_MAX}, {3, 2}));
	cr_assert(overflow_code(ledger_check(&t)), "rc %d", ledger_check(&t));
	t = transfer("CNY", LEGS({1, INT64_MAX}, {2, 1}, {3, INT64_MIN}));
	cr_assert(overflow_code(ledger_check(&t)), "rc %d", ledger_check(&t));
	t = transfer("CNY", LEGS({1, INT64_MIN}, {2, INT64_MIN}, {3, 5}));
	cr_assert(overflow_code(ledger_check(&t)), "rc %d", ledger_check(&t));
	int rc = ledger_check(&t);
	expect_refused(OP_POST, &t, a, 3, rc);
}

/* The credits of {INT64_MIN, INT64_MAX, 1} total 2^63, beyond int64_t
 * (ledger_amount could not even say how much moves).  Such a transfer must
 * be refused whatever the order of its legs. */
Test(ledger, overflowing_total_refused_in_any_order)
{
	static const int64_t sets[][3] = {
		{INT64_MIN, INT64_MAX, 1},
		{INT64_MIN, INT64_C(1) << 62, INT64_C(1) << 62},
	};
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (size_t s = 0; s < 2; s++)
		for (size_t p = 0; p < 6; p++) {
			struct ledger_transfer t = transfer(
				"CNY", LEGS({1, sets[s][perms[p][0]]}, {2, sets[s][perms[p][1]]},
					    {3, sets[s][perms[p][2]]}));
			int rc = ledger_check(&t);
			cr_assert(overflow_code(rc), "set %zu order %d%d%d accepted (rc %d)", s,
				  perms[p][0], perms[p][1], perms[p][2], rc);
		}
}

Test(ledger, balance_overflow_refused)
{
	struct ledger_account a[2] = {account(1, "CNY", 0, INT64_MIN + 10),
				      account(2, "CNY", 0, INT64_MAX - 10)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, -100}, {2, 100}));
	expect_refused(OP_POST, &t, a, 2, CAT_AMOUNT_TOO_LARGE);
	/* The first leg fits, the second overflows: the first must not stick. */
	struct ledger_account b[2] = {account(3, "CNY", 0, 0), account(2, "CNY", 0, INT64_MAX - 10)};
	t = transfer("CNY", LEGS({3, -100}, {2, 100}));
	expect_refused(OP_POST, &t, b, 2, CAT_AMOUNT_TOO_LARGE);
	t = transfer("CNY", LEGS({1, -10}, {2, 10}));
	cr_assert_eq(ledger_apply_post(&t, a), CAT_OK, "exactly to the limits");
	cr_assert_eq(a[0].posted, INT64_MIN);
	cr_assert_eq(a[1].posted, INT64_MAX);
}

Test(ledger, currency_mismatch_refused)
{
	struct ledger_account a[2] = {account(1, "CNY", 0, 0), account(2, "USD", 0, 0)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, -500}, {2, 500}));
	cr_assert_eq(ledger_check(&t), CAT_OK, "the shape alone is fine");
	expect_refused(OP_POST, &t, a, 2, CAT_LEDGER_CURRENCY_MISMATCH);
	expect_refused(OP_PENDING, &t, a, 2, CAT_LEDGER_CURRENCY_MISMATCH);
	expect_refused(OP_VOID, &t, a, 2, CAT_LEDGER_CURRENCY_MISMATCH);
	t = transfer("USD", LEGS({1, -500}, {2, 500}));
	expect_refused(OP_POST, &t, a, 2, CAT_LEDGER_CURRENCY_MISMATCH);
	struct ledger_transfer posted;
	cr_assert_eq(ledger_apply_post_pending(&t, 0, a, &posted), CAT_LEDGER_CURRENCY_MISMATCH);
}

Test(ledger, unsupported_currency_refused)
{
	struct ledger_account a[2] = {account(1, "XXX", 0, 0), account(2, "XXX", 0, 0)};
	struct ledger_transfer t = transfer("XXX", LEGS({1, -500}, {2, 500}));
	cr_assert_eq(ledger_check(&t), CAT_UNSUPPORTED_CURRENCY);
	expect_refused(OP_POST, &t, a, 2, CAT_UNSUPPORTED_CURRENCY);
	t = transfer("", LEGS({1, -500}, {2, 500}));
	cr_assert_eq(ledger_check(&t), CAT_UNSUPPORTED_CURRENCY);
	t = transfer("C1Y", LEGS({1, -500}, {2, 500}));
	cr_assert_eq(ledger_check(&t), CAT_UNSUPPORTED_CURRENCY);
}

Test(ledger, leg_count_limits)
{
	struct ledger_account a[LEDGER_MAX_LEGS];
	struct ledger_leg legs[LEDGER_MAX_LEGS];
	for (int i = 0; i < LEDGER_MAX_LEGS; i++) {
		a[i] = account(i + 1, "EUR", 0, 0);
		legs[i] = (struct ledger_leg){i + 1, i % 2 ? 7 : -7};
	}
	struct ledger_transfer t = transfer("EUR", legs, LEDGER_MAX_LEGS);
	cr_assert_eq(ledger_check(&t), CAT_OK, "%d legs is the limit", LEDGER_MAX_LEGS);
	cr_assert_eq(ledger_apply_post(&t, a), CAT_OK);
	cr_assert_eq(ledger_amount(&t), 7 * LEDGER_MAX_LEGS / 2);

	t.leg_count = LEDGER_MAX_LEGS + 1;
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	t.leg_count = (size_t)-1;
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	t = transfer("EUR", LEGS({1, 0}));
	t.leg_count = 1;
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	t.leg_count = 0;
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	expect_refused(OP_POST, &t, a, 2, CAT_LEDGER_INVALID);
}

Test(ledger, zero_leg_and_repeated_account_refused)
{
	struct ledger_account a[3] = {account(1, "CNY", 0, 0), account(2, "CNY", 0, 0),
				      account(1, "CNY", 0, 0)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, -5}, {2, 5}, {3, 0}));
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	t = transfer("CNY", LEGS({1, 0}, {2, 0}));
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	t = transfer("CNY", LEGS({1, -5}, {2, 5}, {1, 0}));
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	t = transfer("CNY", LEGS({1, -5}, {2, 10}, {1, -5}));
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
	expect_refused(OP_POST, &t, a, 3, CAT_LEDGER_INVALID);
	t = transfer("CNY", LEGS({1, -5}, {1, 5}));
	cr_assert_eq(ledger_check(&t), CAT_LEDGER_INVALID);
}

Test(ledger, accounts_must_match_legs)
{
	struct ledger_account a[2] = {account(2, "CNY", 0, 0), account(1, "CNY", 0, 0)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, -5}, {2, 5}));
	expect_refused(OP_POST, &t, a, 2, CAT_LEDGER_INVALID);
}

Test(ledger, overdraft_rules)
{
	struct ledger_account a[2] = {account(1, "CNY", LEDGER_NO_OVERDRAFT, 100),
				      account(2, "CNY", 0, 0)};
	struct ledger_transfer t = transfer("CNY", LEGS({1, -101}, {2, 101}));
	expect_refused(OP_POST, &t, a, 2, CAT_BALANCE_INSUFFICIENT);
	expect_refused(OP_PENDING, &t, a, 2, CAT_BALANCE_INSUFFICIENT);

	t = transfer("CNY", LEGS({1, -100}, {2, 100}));
	cr_assert_eq(ledger_apply_post(&t, a), CAT_OK, "down to exactly zero is allowed");
	cr_assert_eq(a[0].posted, 0);

	/* The other way round the normal account goes negative: allowed. */
	t = transfer("CNY", LEGS({1, 250}, {2, -250}));
	cr_assert_eq(ledger_apply_post(&t, a), CAT_OK);
	cr_assert_eq(a[1].posted, -150);
	cr_assert(ledger_account_sane(&a[1]));
}

static void post_pending_ok(const struct ledger_transfer *p, int64_t amount,
			    struct ledger_account *a, struct ledger_transfer *posted)
{
	int rc = ledger_apply_post_pending(p, amount, a, posted);
	cr_assert_eq(rc, CAT_OK, "post_pending %lld: rc %d", (long long)amount, rc);
	cr_assert_eq(ledger_check(posted), CAT_OK);
}

Test(ledger, pending_then_post_in_full)
{
	struct ledger_account a[2] = {account(1, "CNY", LEDGER_NO_OVERDRAFT, 1000),
				      account(2, "CNY", 0, 0)};
	struct ledger_transfer p = transfer("CNY", LEGS({1, -300}, {2, 300})), posted;
	cr_assert_eq(ledger_apply_pending(&p, a), CAT_OK);
	cr_assert_eq(a[0].posted, 1000, "a hold moves no money");
	cr_assert_eq(a[0].pending_debits, 300);
	cr_assert_eq(a[1].pending_credits, 300);
	cr_assert_eq(ledger_available(&a[0]), 700);

	post_pending_ok(&p, 0, a, &posted);
	cr_assert_eq(a[0].posted, 700);
	cr_assert_eq(a[1].posted, 300);
	cr_assert_eq(a[0].pending_debits, 0);
	cr_assert_eq(a[1].pending_credits, 0);
	cr_assert_eq(posted.leg_count, 2);
	cr_assert_eq(posted.legs[0].amount_minor, -300);
	cr_assert_eq(posted.legs[1].amount_minor, 300);
}

Test(ledger, pending_then_partial_post)
{
	struct ledger_account a[2] = {account(1, "CNY", LEDGER_NO_OVERDRAFT, 1000),
				      account(2, "CNY", 0, 0)};
	struct ledger_transfer p = transfer("CNY", LEGS({2, 300}, {1, -300})), posted;
	struct ledger_account b[2] = {a[1], a[0]}; /* accounts in leg order */
	cr_assert_eq(ledger_apply_pending(&p, b), CAT_OK);

	expect_post_pending_refused(&p, 301, b, CAT_AMOUNT_TOO_LARGE);
	expect_post_pending_refused(&p, INT64_MAX, b, CAT_AMOUNT_TOO_LARGE);
	expect_post_pending_refused(&p, -1, b, CAT_AMOUNT_TOO_SMALL);

	post_pending_ok(&p, 120, b, &posted);
	cr_assert_eq(posted.legs[0].account_id, 2);
	cr_assert_eq(posted.legs[0].amount_minor, 120);
	cr_assert_eq(posted.legs[1].amount_minor, -120);
	cr_assert_eq(b[1].posted, 880);
	cr_assert_eq(b[0].posted, 120);
	cr_assert_eq(b[1].pending_debits, 0, "the whole hold is released");
	cr_assert_eq(b[0].pending_credits, 0);
	cr_assert_eq(ledger_available(&b[1]), 880);
}

Test(ledger, partial_post_refused_on_three_legs)
{
	struct ledger_account a[3] = {account(1, "CNY", 0, 0), account(2, "CNY", 0, 0),
				      account(3, "CNY", 0, 0)};
	struct ledger_transfer p = transfer("CNY", LEGS({1, -100}, {2, 97}, {3, 3})), posted;
	cr_assert_eq(ledger_apply_pending(&p, a), CAT_OK);
	expect_post_pending_refused(&p, 50, a, CAT_LEDGER_INVALID);
	expect_post_pending_refused(&p, 101, a, CAT_AMOUNT_TOO_LARGE);
	post_pending_ok(&p, 100, a, &posted); /* the full amount, spelled out */
	cr_assert_eq(a[0].posted, -100);
	cr_assert_eq(a[1].posted, 97);
	cr_assert_eq(a[2].posted, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(a[i].pending_debits + a[i].pending_credits, 0);
}

Test(ledger, void_restores_available)
{
	struct ledger_account a[2] = {account(1, "CNY", LEDGER_NO_OVERDRAFT, 1000),
				      account(2, "CNY", 0, 50)};
	struct ledger_account before[2];
	memcpy(before, a, sizeof a);
	struct ledger_transfer p = transfer("CNY", LEGS({1, -999}, {2, 999}));
	cr_assert_eq(ledger_apply_pending(&p, a), CAT_OK);
	cr_assert_eq(ledger_available(&a[0]), 1);
	cr_assert_eq(ledger_apply_void(&p, a), CAT_OK);
	cr_assert_eq(memcmp(a, before, sizeof a), 0, "void must restore the accounts exactly");
	cr_assert_eq(ledger_available(&a[0]), 1000);
}

Test(ledger, pending_reserves_against_no_overdraft)
{
	struct ledger_account a[2] = {account(1, "CNY", LEDGER_NO_OVERDRAFT, 1000),
				      account(2, "CNY", 0, 0)};
	struct ledger_transfer first = transfer("CNY", LEGS({1, -600}, {2, 600}));
	cr_assert_eq(ledger_apply_pending(&first, a), CAT_OK);
	struct ledger_transfer second = transfer("CNY", LEGS({1, -500}, {2, 500}));
	expect_refused(OP_PENDING, &second, a, 2, CAT_BALANCE_INSUFFICIENT);
	expect_refused(OP_POST, &second, a, 2, CAT_BALANCE_INSUFFICIENT);
	struct ledger_transfer fits = transfer("CNY", LEGS({1, -400}, {2, 400}));
	cr_assert_eq(ledger_apply_pending(&fits, a), CAT_OK);
	cr_assert_eq(ledger_available(&a[0]), 0);
	cr_assert(ledger_account_sane(&a[0]));
}

Test(ledger, multi_leg_transfers)
{
	/* A payment split between merchant, platform fee and tax. */
	struct ledger_account a[4] = {account(1, "KWD", 0, 0), account(2, "KWD", 0, 0),
				      account(3, "KWD", 0, 0), account(4, "KWD", 0, 0)};
	struct ledger_transfer t = transfer("KWD", LEGS({1, -10000}, {2, 9700}, {3, 250}, {4, 50}));
	cr_assert_eq(ledger_amount(&t), 10000);
	cr_assert_eq(ledger_apply_post(&t, a), CAT_OK);
	cr_assert_eq(a[0].posted, -10000);
	cr_assert_eq(a[1].posted, 9700);
	cr_assert_eq(a[2].posted, 250);
	cr_assert_eq(a[3].posted, 50);

	/* Two debits, two credits. */
	t = transfer("KWD", LEGS({2, -700}, {3, -300}, {1, 600}, {4, 400}));
	struct ledger_account b[4] = {a[1], a[2], a[0], a[3]};
	cr_assert_eq(ledger_amount(&t), 1000);
	cr_assert_eq(ledger_apply_post(&t, b), CAT_OK);
	cr_assert_eq(b[0].posted + b[1].posted + b[2].posted + b[3].posted, 0);

	/* Three legs, one of them on a no-overdraft account that cannot pay. */
	struct ledger_account c[3] = {account(5, "KWD", LEDGER_NO_OVERDRAFT, 10),
				      account(6, "KWD", 0, 0), account(7, "KWD", 0, 0)};
	t = transfer("KWD", LEGS({6, 5}, {7, 6}, {5, -11}));
	struct ledger_account d[3] = {c[1], c[2], c[0]};
	expect_refused(OP_POST, &t, d, 3, CAT_BALANCE_INSUFFICIENT);
}

Test(ledger, account_sanity)
{
	struct ledger_account a = account(1, "CNY", 0, -50);
	cr_assert(ledger_account_sane(&a), "a normal account may be negative");
	a.pending_debits = -1;
	cr_assert_not(ledger_account_sane(&a));
	a = account(1, "CNY", 0, 0);
	a.pending_credits = -1;
	cr_assert_not(ledger_account_sane(&a));
	a = account(1, "CNY", LEDGER_NO_OVERDRAFT, 10);
	a.pending_debits = 10;
	cr_assert(ledger_account_sane(&a));
	a.pending_debits = 11;
	cr_assert_not(ledger_account_sane(&a));
	a = account(1, "CNY", LEDGER_NO_OVERDRAFT, -1);
	cr_assert_not(ledger_account_sane(&a));

	a = account(1, "CNY", 0, INT64_MIN);
	a.pending_debits = 5;
	cr_assert_eq(ledger_available(&a), INT64_MIN, "available saturates");
	a = account(1, "CNY", 0, 100);
	a.pending_debits = 30;
	a.pending_credits = 1000;
	cr_assert_eq(ledger_available(&a), 70, "pending credits are not available");
}

/* Releasing a hold twice is a corrupt ledger: the process stops. */
Test(ledger, double_void_stops_the_process, .signal = SIGABRT)
{
	struct ledger_account a[2] = {account(1, "CNY", 0, 0), account(2, "CNY", 0, 0)};
	struct ledger_transfer p = transfer("CNY", LEGS({1, -5}, {2, 5}));
	cr_assert_eq(ledger_apply_pending(&p, a), CAT_OK);
	cr_assert_eq(ledger_apply_void(&p, a), CAT_OK);
	cr_assert_not_null(freopen("/dev/null", "w", stderr)); /* the expected fatal line */
	ledger_apply_void(&p, a);
}

/* ---- a seeded random sequence of operations ------------------------------ */

#define SIM_ACCOUNTS 10
#define SIM_STEPS 20000
#define SIM_HOLDS 64

struct sim {
	struct rng rng;
	struct ledger_account book[SIM_ACCOUNTS];
	struct ledger_transfer holds[SIM_HOLDS];
	size_t hold_count;
};

static void gather(const struct sim *s, const struct ledger_transfer *t,
		   struct ledger_account *out)
{
	for (size_t i = 0; i < t->leg_count; i++)
		out[i] = s->book[t->legs[i].account_id - 1];
}

static void scatter(struct sim *s, const struct ledger_transfer *t,
		    const struct ledger_account *in)
{
	for (size_t i = 0; i < t->leg_count; i++)
		s->book[t->legs[i].account_id - 1] = in[i];
}

/* 2..5 legs on distinct accounts, balanced; sometimes deliberately not. */
static struct ledger_transfer random_transfer(struct sim *s, bool *broken)
{
	struct ledger_transfer t;
	memset(&t, 0, sizeof t);
	strcpy(t.currency, "CNY");
	t.leg_count = 2 + rng_below(&s->rng, 4);
	bool used[SIM_ACCOUNTS] = {false};
	int64_t sum = 0;
	for (size_t i = 0; i < t.leg_count; i++) {
		size_t k;
		do
			k = rng_below(&s->rng, SIM_ACCOUNTS);
		while (used[k]);
		used[k] = true;
		t.legs[i].account_id = (int64_t)k + 1;
		if (i + 1 < t.leg_count) {
			int64_t amount = 1 + (int64_t)rng_below(&s->rng, 5000);
			t.legs[i].amount_minor = rng_below(&s->rng, 2) ? amount : -amount;
			sum += t.legs[i].amount_minor;
		}
	}
	if (sum == 0) { /* the last leg would be zero: double the first */
		sum = t.legs[0].amount_minor;
		t.legs[0].amount_minor *= 2;
	}
	t.legs[t.leg_count - 1].amount_minor = -sum;
	*broken = rng_below(&s->rng, 20) == 0;
	if (*broken)
		t.legs[0].amount_minor += t.legs[0].amount_minor > 0 ? 1 : -1;
	return t;
}

/* Sum of posted is zero; every account is sane; the pending sums equal
 * what the open holds reserve. */
static void check_books(const struct sim *s, int step)
{
	int64_t posted = 0, debits[SIM_ACCOUNTS] = {0}, credits[SIM_ACCOUNTS] = {0};
	for (size_t h = 0; h < s->hold_count; h++)
		for (size_t i = 0; i < s->holds[h].leg_count; i++) {
			const struct ledger_leg *l = &s->holds[h].legs[i];
			if (l->amount_minor < 0)
				debits[l->account_id - 1] -= l->amount_minor;
			else
				credits[l->account_id - 1] += l->amount_minor;
		}
	for (int k = 0; k < SIM_ACCOUNTS; k++) {
		const struct ledger_account *a = &s->book[k];
		posted += a->posted;
		cr_assert(ledger_account_sane(a), "step %d: account %d not sane", step, k + 1);
		cr_assert_eq(a->pending_debits, debits[k], "step %d: account %d pending debits",
			     step, k + 1);
		cr_assert_eq(a->pending_credits, credits[k], "step %d: account %d pending credits",
			     step, k + 1);
	}
	cr_assert_eq(posted, 0, "step %d: posted balances sum to %lld", step, (long long)posted);
}

/* One random operation; a refused one must leave its accounts unchanged.
 * Returns its result code. */
static int sim_step(struct sim *s, int step)
{
	struct ledger_account acc[LEDGER_MAX_LEGS], before[LEDGER_MAX_LEGS];
	uint64_t kind = rng_below(&s->rng, 4);
	if (kind >= 2 && s->hold_count > 0) {
		size_t h = rng_below(&s->rng, s->hold_count);
		struct ledger_transfer *p = &s->holds[h], posted;
		gather(s, p, acc);
		int rc;
		if (kind == 2) {
			int64_t full = ledger_amount(p);
			int64_t amount = p->leg_count == 2 ? (int64_t)rng_below(&s->rng, full + 1) : 0;
			rc = ledger_apply_post_pending(p, amount, acc, &posted);
		} else {
			rc = ledger_apply_void(p, acc);
		}
		cr_assert_eq(rc, CAT_OK, "step %d: settling hold %zu: rc %d", step, h, rc);
		scatter(s, p, acc);
		s->holds[h] = s->holds[--s->hold_count];
		return rc;
	}
	bool broken, pending = kind == 1 && s->hold_count < SIM_HOLDS;
	struct ledger_transfer t = random_transfer(s, &broken);
	gather(s, &t, acc);
	memcpy(before, acc, t.leg_count * sizeof acc[0]);
	int rc = pending ? ledger_apply_pending(&t, acc) : ledger_apply_post(&t, acc);
	if (broken)
		cr_assert_eq(rc, CAT_LEDGER_UNBALANCED, "step %d: rc %d", step, rc);
	else
		cr_assert(rc == CAT_OK || rc == CAT_BALANCE_INSUFFICIENT, "step %d: rc %d", step, rc);
	if (rc) {
		cr_assert_eq(memcmp(acc, before, t.leg_count * sizeof acc[0]), 0,
			     "step %d: refused transfer changed accounts", step);
		return rc;
	}
	scatter(s, &t, acc);
	if (pending)
		s->holds[s->hold_count++] = t;
	return rc;
}

Test(ledger, random_operations_conserve_money)
{
	static struct sim s;
	memset(&s, 0, sizeof s);
	rng_seed(&s.rng, 4217);
	for (int k = 0; k < SIM_ACCOUNTS; k++)
		s.book[k] = account(k + 1, "CNY", k % 3 == 0 ? LEDGER_NO_OVERDRAFT : 0, 0);
	int ok = 0, overdraft = 0;
	for (int step = 0; step < SIM_STEPS; step++) {
		int rc = sim_step(&s, step);
		ok += rc == CAT_OK;
		overdraft += rc == CAT_BALANCE_INSUFFICIENT;
		check_books(&s, step);
	}
	/* The sequence must exercise both sides, or it proves nothing. */
	cr_assert_gt(ok, SIM_STEPS / 4, "only %d operations succeeded", ok);
	cr_assert_gt(overdraft, 0, "no overdraft was ever refused");
	for (int k = 0; k < SIM_ACCOUNTS; k += 3)
		cr_assert_geq(ledger_available(&s.book[k]), 0);
}
