/* api/balance: GET /v1/balance, from the merchant's ledger accounts
 * (see engine/books.c): available = posted - held debits, pending = held
 * credits (authorized, not yet captured), and payd's `held` = held debits
 * (payouts and refunds on their way), per currency. */
#include <string.h>

#include "api/http.h"
#include "base/currency.h"
#include "core/catalog.h"

struct balance_ctx {
	json_t *available, *pending, *held;
};

static void add_account(void *ctx, const void *record)
{
	struct balance_ctx *b = ctx;
	const struct store_account *sa = record;
	char lower[4];
	currency_lower_code(sa->account.currency, lower);
	json_array_append_new(b->available,
			      json_pack("{s:I, s:s}", "amount",
					(json_int_t)ledger_available(&sa->account), "currency", lower));
	json_array_append_new(b->pending,
			      json_pack("{s:I, s:s}", "amount",
					(json_int_t)sa->account.pending_credits, "currency", lower));
	json_array_append_new(b->held,
			      json_pack("{s:I, s:s}", "amount",
					(json_int_t)sa->account.pending_debits, "currency", lower));
}

void balance_retrieve(struct request *req)
{
	static const char *const allowed[] = {"expand", NULL};
	if (!http_params(req, allowed))
		return;
	char prefix[STORE_CODE_MAX + 1];
	snprintf(prefix, sizeof prefix, "merchant:%s:", req->merchant_id);
	struct balance_ctx b = {json_array(), json_array(), json_array()};
	struct store *reader = http_reader(req);
	int rc = reader ? reader->ops->account_list(reader, prefix, add_account, &b)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc) {
		json_decref(b.available);
		json_decref(b.pending);
		json_decref(b.held);
		http_error(req, rc, NULL, NULL);
		return;
	}
	http_json(req, 200, json_pack("{s:s, s:o, s:o, s:o, s:b}", "object", "balance", "available",
				      b.available, "pending", b.pending, "held", b.held, "livemode",
				      0));
}
