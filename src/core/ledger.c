/* core/ledger: double-entry rules.  Pure functions over account snapshots;
 * see ledger.h for the model.  Each apply_* validates everything on a copy
 * first and writes the accounts back only when all legs pass, so a refused
 * transfer leaves no trace. */
#include "core/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/currency.h"
#include "base/money.h"
#include "core/catalog.h"

_Noreturn void ledger_invariant_broken(const char *what, const char *file, int line)
{
	fprintf(stderr,
		"{\"level\":\"fatal\",\"event\":\"invariant_broken\",\"what\":\"%s\","
		"\"file\":\"%s\",\"line\":%d}\n",
		what, file, line);
	abort();
}

int ledger_check(const struct ledger_transfer *t)
{
	if (t->leg_count < LEDGER_MIN_LEGS || t->leg_count > LEDGER_MAX_LEGS)
		return CAT_LEDGER_INVALID;
	if (!currency_find(t->currency))
		return CAT_UNSUPPORTED_CURRENCY;
	int64_t sum = 0, credits = 0;
	for (size_t i = 0; i < t->leg_count; i++) {
		int64_t amount = t->legs[i].amount_minor;
		if (amount == 0)
			return CAT_LEDGER_INVALID;
		/* The total moved (sum of credits) must itself fit. */
		if (amount > 0 && !money_add(credits, amount, &credits))
			return CAT_AMOUNT_TOO_LARGE;
		for (size_t j = 0; j < i; j++)
			if (t->legs[j].account_id == t->legs[i].account_id)
				return CAT_LEDGER_INVALID;
		if (!money_add(sum, t->legs[i].amount_minor, &sum))
			return CAT_LEDGER_UNBALANCED;
	}
	return sum == 0 ? CAT_OK : CAT_LEDGER_UNBALANCED;
}

int64_t ledger_amount(const struct ledger_transfer *t)
{
	int64_t total = 0;
	for (size_t i = 0; i < t->leg_count; i++)
		if (t->legs[i].amount_minor > 0)
			total += t->legs[i].amount_minor; /* ledger_check bounds it */
	return total;
}

int64_t ledger_available(const struct ledger_account *a)
{
	int64_t available;
	if (!money_sub(a->posted, a->pending_debits, &available))
		return a->posted < 0 ? INT64_MIN : INT64_MAX;
	return available;
}

bool ledger_account_sane(const struct ledger_account *a)
{
	if (a->pending_debits < 0 || a->pending_credits < 0)
		return false;
	if ((a->flags & LEDGER_NO_OVERDRAFT) && ledger_available(a) < 0)
		return false;
	return true;
}

/* Common prelude: shape of the transfer and currency of every account. */
static int check_against_accounts(const struct ledger_transfer *t,
				  const struct ledger_account *accounts)
{
	int rc = ledger_check(t);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->leg_count; i++) {
		if (accounts[i].id != t->legs[i].account_id)
			return CAT_LEDGER_INVALID;
		if (strncasecmp(accounts[i].currency, t->currency, CURRENCY_CODE_LEN) != 0)
			return CAT_LEDGER_CURRENCY_MISMATCH;
		LEDGER_ASSERT(ledger_account_sane(&accounts[i]));
	}
	return CAT_OK;
}

static int overdraft_check(const struct ledger_account *a)
{
	if ((a->flags & LEDGER_NO_OVERDRAFT) && ledger_available(a) < 0)
		return CAT_BALANCE_INSUFFICIENT;
	return CAT_OK;
}

int ledger_apply_post(const struct ledger_transfer *t, struct ledger_account *accounts)
{
	int rc = check_against_accounts(t, accounts);
	if (rc)
		return rc;
	struct ledger_account next[LEDGER_MAX_LEGS];
	for (size_t i = 0; i < t->leg_count; i++) {
		next[i] = accounts[i];
		if (!money_add(next[i].posted, t->legs[i].amount_minor, &next[i].posted))
			return CAT_AMOUNT_TOO_LARGE;
		if ((rc = overdraft_check(&next[i])))
			return rc;
	}
	memcpy(accounts, next, t->leg_count * sizeof next[0]);
	return CAT_OK;
}

int ledger_apply_pending(const struct ledger_transfer *t, struct ledger_account *accounts)
{
	int rc = check_against_accounts(t, accounts);
	if (rc)
		return rc;
	struct ledger_account next[LEDGER_MAX_LEGS];
	for (size_t i = 0; i < t->leg_count; i++) {
		int64_t amount = t->legs[i].amount_minor;
		next[i] = accounts[i];
		bool ok = amount < 0 ? money_sub(next[i].pending_debits, amount, &next[i].pending_debits)
				     : money_add(next[i].pending_credits, amount, &next[i].pending_credits);
		if (!ok)
			return CAT_AMOUNT_TOO_LARGE;
		if ((rc = overdraft_check(&next[i])))
			return rc;
	}
	memcpy(accounts, next, t->leg_count * sizeof next[0]);
	return CAT_OK;
}

/* Takes a pending transfer's reservation off its accounts (into next[]). */
static int release(const struct ledger_transfer *p, const struct ledger_account *accounts,
		   struct ledger_account *next)
{
	for (size_t i = 0; i < p->leg_count; i++) {
		int64_t amount = p->legs[i].amount_minor;
		next[i] = accounts[i];
		if (amount < 0)
			next[i].pending_debits += amount;
		else
			next[i].pending_credits -= amount;
		/* A reservation can only be released once: anything else is a
		 * corrupt ledger, never a request error. */
		LEDGER_ASSERT(next[i].pending_debits >= 0 && next[i].pending_credits >= 0);
	}
	return CAT_OK;
}

int ledger_apply_void(const struct ledger_transfer *p, struct ledger_account *accounts)
{
	int rc = check_against_accounts(p, accounts);
	if (rc)
		return rc;
	struct ledger_account next[LEDGER_MAX_LEGS];
	release(p, accounts, next);
	memcpy(accounts, next, p->leg_count * sizeof next[0]);
	return CAT_OK;
}

int ledger_apply_post_pending(const struct ledger_transfer *p, int64_t amount_minor,
			      struct ledger_account *accounts, struct ledger_transfer *posted)
{
	int rc = check_against_accounts(p, accounts);
	if (rc)
		return rc;
	int64_t full = ledger_amount(p);
	if (amount_minor < 0)
		return CAT_AMOUNT_TOO_SMALL;
	if (amount_minor == 0)
		amount_minor = full;
	if (amount_minor > full)
		return CAT_AMOUNT_TOO_LARGE;
	if (amount_minor != full && p->leg_count != 2)
		return CAT_LEDGER_INVALID;

	*posted = *p;
	if (amount_minor != full)
		for (size_t i = 0; i < 2; i++)
			posted->legs[i].amount_minor = p->legs[i].amount_minor < 0 ? -amount_minor
										     : amount_minor;
	struct ledger_account next[LEDGER_MAX_LEGS];
	release(p, accounts, next);
	for (size_t i = 0; i < p->leg_count; i++) {
		if (!money_add(next[i].posted, posted->legs[i].amount_minor, &next[i].posted))
			return CAT_AMOUNT_TOO_LARGE;
		/* The hold guaranteed the funds; a failure here means the ledger
		 * was changed behind the hold's back. */
		LEDGER_ASSERT(overdraft_check(&next[i]) == CAT_OK);
	}
	LEDGER_ASSERT(ledger_check(posted) == CAT_OK);
	memcpy(accounts, next, p->leg_count * sizeof next[0]);
	return CAT_OK;
}
