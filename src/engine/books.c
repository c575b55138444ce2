/* engine/books: how payments map onto the ledger.  Accounts, by code:
 *   merchant:<acct_id>:<CUR>  what payd owes the merchant; no overdraft.
 *                             available = posted - held debits (refunds
 *                             and payouts on their way out); pending =
 *                             held credits (authorized, not captured).
 *   channel:<name>:<CUR>      the channel's side: what it owes payd for
 *                             captured payments less what it paid back.
 * Payment captured: channel -> merchant.  Authorized (manual capture): a
 * hold channel -> merchant, settled for the captured amount or released.
 * Refund: a hold merchant -> channel, settled when the channel refunds,
 * released when it fails (the money goes back where it came from). */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"

static struct books_slot *slot_of(struct engine *e, const char *code)
{
	if (!e->books_cache && !(e->books_cache = calloc(BOOKS_CACHE_SLOTS, sizeof *e->books_cache)))
		return NULL;
	size_t h = 5381;
	for (const char *p = code; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &e->books_cache[h % BOOKS_CACHE_SLOTS];
}

void books_cache_clear(struct engine *e)
{
	if (e->books_cache)
		memset(e->books_cache, 0, BOOKS_CACHE_SLOTS * sizeof *e->books_cache);
}

int books_account(struct engine *e, const char *kind, const char *owner, const char *currency,
		  int64_t *id_out)
{
	char code[STORE_CODE_MAX + 1];
	snprintf(code, sizeof code, "%s:%s:%s", kind, owner, currency);
	struct books_slot *slot = slot_of(e, code);
	if (slot && slot->id && strcmp(slot->code, code) == 0) {
		*id_out = slot->id;
		return CAT_OK;
	}
	unsigned flags = kind[0] == 'm' ? LEDGER_NO_OVERDRAFT : 0;
	int rc = e->store->ops->account_open(e->store, code, currency, flags, e->now_ms, id_out);
	if (rc == CAT_OK && slot) {
		memcpy(slot->code, code, sizeof slot->code);
		slot->id = *id_out;
	}
	return rc;
}

int books_transfer(struct engine *e, bool pending, const char *from_kind, const char *from_owner,
		   const char *to_kind, const char *to_owner, const char *currency, int64_t amount,
		   char transfer_id_out[ID_MAX])
{
	struct ledger_transfer t = {.leg_count = 2};
	snprintf(t.currency, sizeof t.currency, "%s", currency);
	int rc = books_account(e, from_kind, from_owner, currency, &t.legs[0].account_id);
	if (!rc)
		rc = books_account(e, to_kind, to_owner, currency, &t.legs[1].account_id);
	if (rc)
		return rc;
	t.legs[0].amount_minor = -amount;
	t.legs[1].amount_minor = amount;
	id_new(&e->ids, ID_TRANSFER, transfer_id_out);
	return pending ? e->store->ops->transfer_pend(e->store, transfer_id_out, &t, e->now_ms)
		       : e->store->ops->transfer_post(e->store, transfer_id_out, &t, e->now_ms);
}

int books_settle(struct engine *e, const char *hold_id, int64_t amount)
{
	char id[ID_MAX];
	id_new(&e->ids, ID_TRANSFER, id);
	return e->store->ops->transfer_post_pending(e->store, id, hold_id, amount, e->now_ms);
}

int books_release(struct engine *e, const char *hold_id)
{
	char id[ID_MAX];
	id_new(&e->ids, ID_TRANSFER, id);
	return e->store->ops->transfer_void(e->store, id, hold_id, e->now_ms);
}
