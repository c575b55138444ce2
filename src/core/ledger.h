/* core/ledger: the rules of double-entry bookkeeping, pure (no I/O).
 *
 * A transfer moves money between accounts of one currency in 2..16 legs.
 * Each leg is signed: negative debits the account (money leaves it),
 * positive credits it; the legs of a transfer sum to exactly zero.  An
 * account's `posted` balance is the sum of its posted legs, so the posted
 * balances of all accounts of a currency always sum to zero.
 *
 * Two-phase transfers (holds): a pending transfer reserves its legs without
 * moving money: debits add to the account's pending_debits, credits to its
 * pending_credits.  It is later posted (all of it, or for a two-leg
 * transfer any smaller positive amount, as a partial capture does) or
 * voided, which releases the reservation.
 *
 * An account flagged LEDGER_NO_OVERDRAFT may never have
 * posted - pending_debits < 0: a transfer that would cause it is refused.
 *
 * The store loads the accounts, calls these functions to check and compute,
 * and writes the results in the same database transaction. */
#ifndef PAYD_CORE_LEDGER_H
#define PAYD_CORE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_MIN_LEGS 2
#define LEDGER_MAX_LEGS 16

enum ledger_flags {
	LEDGER_NO_OVERDRAFT = 1u << 0,
};

struct ledger_account {
	int64_t id;
	char currency[4];
	unsigned flags;
	int64_t posted;          /* sum of posted legs */
	int64_t pending_debits;  /* magnitude of reserved debits, >= 0 */
	int64_t pending_credits; /* reserved credits, >= 0 */
};

struct ledger_leg {
	int64_t account_id;
	int64_t amount_minor; /* < 0 debit, > 0 credit, never 0 */
};

struct ledger_transfer {
	char currency[4];
	size_t leg_count;
	struct ledger_leg legs[LEDGER_MAX_LEGS];
};

/* Shape checks that need no account: 2..16 legs, no zero leg, no account
 * twice, a supported currency, legs summing to zero without overflow.
 * Returns 0 or CAT_LEDGER_UNBALANCED / CAT_LEDGER_INVALID /
 * CAT_UNSUPPORTED_CURRENCY, or CAT_AMOUNT_TOO_LARGE when the total moved
 * (the sum of the credits) does not fit in int64_t.  Currency codes
 * compare case-insensitively. */
int ledger_check(const struct ledger_transfer *t);

/* The total moved: the sum of the positive legs (valid transfers only). */
int64_t ledger_amount(const struct ledger_transfer *t);

/* accounts[i] is the account of t->legs[i].  Each checks the transfer and
 * the accounts (currency match: CAT_LEDGER_CURRENCY_MISMATCH; overdraft:
 * CAT_BALANCE_INSUFFICIENT; overflow: CAT_AMOUNT_TOO_LARGE) and only when
 * everything passes updates the accounts in place.  On error nothing is
 * changed. */
int ledger_apply_post(const struct ledger_transfer *t, struct ledger_account *accounts);
int ledger_apply_pending(const struct ledger_transfer *t, struct ledger_account *accounts);
/* Settles a pending transfer: releases its reservation and posts
 * `amount_minor` of it (0 = all).  A partial amount is allowed only for a
 * two-leg transfer (CAT_LEDGER_INVALID otherwise), and must be
 * 0 < amount <= the pending amount (CAT_AMOUNT_TOO_SMALL below,
 * CAT_AMOUNT_TOO_LARGE above).  *posted_legs receives the legs that
 * were posted. */
int ledger_apply_post_pending(const struct ledger_transfer *pending, int64_t amount_minor,
			      struct ledger_account *accounts, struct ledger_transfer *posted_legs);
/* Releases a pending transfer's reservation; no money moves. */
int ledger_apply_void(const struct ledger_transfer *pending, struct ledger_account *accounts);

/* The invariants of an account as read back from storage: non-negative
 * pending sums, and no overdraft where forbidden. */
bool ledger_account_sane(const struct ledger_account *a);
/* Available balance: posted - pending_debits (saturating). */
int64_t ledger_available(const struct ledger_account *a);

/* Stops the process when an invariant is broken at run time: better no
 * service than bad money.  Logs where and why first. */
#define LEDGER_ASSERT(cond)                                                   \
	do {                                                                  \
		if (!(cond))                                                  \
			ledger_invariant_broken(#cond, __FILE__, __LINE__);   \
	} while (0)
_Noreturn void ledger_invariant_broken(const char *what, const char *file, int line);

#endif
