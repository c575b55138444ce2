/* api/payouts: /v1/payouts — create (to a saved recipient or a bank
 * account given inline), retrieve (with the timeline of every status
 * change), list (filters: status, created[gt|gte|lt|lte]) and cancel —
 * and /v1/alerts, what payd raises for a person to look at (overdue
 * payouts).  The engine holds the money and talks to the rails. */
#include <string.h>

#include "api/http.h"
#include "core/catalog.h"
#include "core/render.h"

#define API_TIMELINE_MAX 256 /* timeline lines shown with a payout */

static const char *const create_params[] = {"amount", "currency", "destination", "bank_account",
					    "method", "description", "metadata", "expand", NULL};
static const char *const list_params[] = {"limit",       "starting_after", "ending_before",
					  "status",      "created[gt]",    "created[gte]",
					  "created[lt]", "created[lte]",   "expand",
					  NULL};
static const char *const plain_params[] = {"expand", NULL};
static const char *const methods[] = {"standard", "instant", NULL};

static int check_create(struct request *req, struct params_error *err)
{
	struct payout_args *a = &req->cmd.payout;
	const char *dest = NULL, *method = NULL, *description = NULL;
	int rc = params_amount(req->params, "amount", true, PAYMENT_AMOUNT_MAX, &a->amount, err);
	if (!rc)
		rc = params_currency(req->params, true, a->currency, err);
	if (!rc)
		rc = params_string(req->params, "destination", false, ID_MAX - 1, &dest, err);
	if (!rc && !dest == !json_object_get(req->params, "bank_account"))
		rc = params_fail(err, CAT_PARAMETER_MISSING, "destination",
				 "Give either destination (a recipient id) or bank_account.");
	if (!rc && !dest)
		rc = api_bank_account(req->params, &a->account, err);
	if (!rc)
		rc = params_enum(req->params, "method", false, methods, &method, err);
	if (!rc)
		rc = params_string(req->params, "description", false, 1000, &description, err);
	if (!rc)
		rc = params_metadata(req->params, "metadata", &a->metadata, err);
	if (rc)
		return rc;
	snprintf(a->recipient_id, sizeof a->recipient_id, "%s", dest ? dest : "");
	a->method = method && strcmp(method, "instant") == 0 ? PO_INSTANT : PO_STANDARD;
	a->description = description ? strdup(description) : NULL;
	return CAT_OK;
}

void payout_create(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, create_params))
		return;
	if (check_create(req, &err)) {
		http_params_error(req, &err);
		return;
	}
	json_t *redacted = api_redacted_account(req, req->params);
	if (http_prepare_cmd(req, CMD_PAYOUT_CREATE, redacted))
		http_submit(req);
	json_decref(redacted);
}

void payout_cancel(struct request *req)
{
	if (http_params(req, plain_params) && http_prepare_cmd(req, CMD_PAYOUT_CANCEL, req->params))
		http_submit(req);
}

struct timeline_read {
	struct payout_event *ev;
	int n;
};

static void keep_event(void *ctx, const void *record)
{
	struct timeline_read *t = ctx;
	if (t->n < API_TIMELINE_MAX)
		t->ev[t->n++] = *(const struct payout_event *)record;
}

/* The payout with its timeline, read through `s`. */
static json_t *payout_json(struct store *s, const struct payout *p, const char *lang)
{
	struct timeline_read t = {calloc(API_TIMELINE_MAX, sizeof *t.ev), 0};
	if (t.ev)
		s->ops->payout_event_list(s, p->id, keep_event, &t);
	json_t *o = render_payout(p, t.ev, t.n, lang);
	free(t.ev);
	return o;
}

void payout_retrieve(struct request *req)
{
	if (!http_params(req, plain_params))
		return;
	struct store *reader = http_reader(req);
	struct payout p = {0};
	int rc = reader ? reader->ops->payout_get(reader, req->merchant_id, req->id, &p)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK)
		http_json(req, 200, payout_json(reader, &p, req->lang));
	else
		http_read_error(req, rc, "payout", "No such payout.");
	payout_clear(&p);
}

/* created[gt|gte|lt|lte] (seconds; query parameters are flat, so the
 * names are read whole) into an inclusive range in ms. */
static int created_range(json_t *params, struct store_range *r, struct params_error *err)
{
	static const char *const ops[] = {"gt", "gte", "lt", "lte"};
	r->gte_ms = 0;
	r->lte_ms = INT64_MAX;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		char name[16];
		int64_t s = 0;
		snprintf(name, sizeof name, "created[%s]", ops[i]);
		if (!json_object_get(params, name))
			continue;
		if (params_int64(params, name, false, &s, err) || s < 0 || s > INT64_MAX / 2000)
			return params_fail(err, CAT_PARAMETER_INVALID, name,
					   "%s must be a time in seconds.", name);
		int64_t ms = s * 1000;
		int64_t bound = ops[i][0] == 'g' ? (ops[i][2] ? ms : ms + 1000)
						 : (ops[i][2] ? ms + 999 : ms - 1);
		if (ops[i][0] == 'g' && bound > r->gte_ms) /* together: the stricter */
			r->gte_ms = bound;
		if (ops[i][0] == 'l' && bound < r->lte_ms)
			r->lte_ms = bound;
	}
	return CAT_OK;
}

/* The list's created range: http_list's list function takes no extra
 * argument, and a request runs on one thread from start to end. */
static __thread const struct store_range *list_created;

static json_t *render_listed(const void *record, const char *lang)
{
	return render_payout(record, NULL, 0, lang); /* the timeline: retrieve it */
}

static int list_payouts(struct store *s, const char *merchant_id, const struct store_page *page,
			store_each_fn each, void *ctx, bool *has_more)
{
	return s->ops->payout_list(s, merchant_id, page, list_created, each, ctx, has_more);
}

void payout_list(struct request *req)
{
	static const char *const statuses[] = {"pending", "in_transit", "paid", "failed", "canceled",
					       NULL};
	struct store_page page;
	struct store_range created;
	struct params_error err = {0};
	if (!http_params(req, list_params) || !http_page(req, &page))
		return;
	if (params_enum(req->params, "status", false, statuses, &page.filter, &err) ||
	    created_range(req->params, &created, &err)) {
		http_params_error(req, &err);
		return;
	}
	list_created = &created;
	http_list(req, list_payouts, &page, render_listed, "/v1/payouts");
}

/* ---- alerts ------------------------------------------------------------- */

void alert_retrieve(struct request *req)
{
	if (!http_params(req, plain_params))
		return;
	struct store *reader = http_reader(req);
	struct alert a;
	int rc = reader ? reader->ops->alert_get(reader, req->merchant_id, req->id, &a)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK)
		http_json(req, 200, render_alert(&a));
	else
		http_read_error(req, rc, "alert", "No such alert.");
}

static json_t *render_alert_listed(const void *record, const char *lang)
{
	(void)lang;
	return render_alert(record);
}

static int list_alerts(struct store *s, const char *merchant_id, const struct store_page *page,
		       store_each_fn each, void *ctx, bool *has_more)
{
	return s->ops->alert_list(s, merchant_id, page, each, ctx, has_more);
}

void alert_list(struct request *req)
{
	static const char *const allowed[] = {"limit", "starting_after", "ending_before", "status",
					      "expand", NULL};
	static const char *const statuses[] = {"open", "resolved", NULL};
	struct store_page page;
	struct params_error err = {0};
	if (!http_params(req, allowed) || !http_page(req, &page))
		return;
	if (params_enum(req->params, "status", false, statuses, &page.filter, &err)) {
		http_params_error(req, &err);
		return;
	}
	http_list(req, list_alerts, &page, render_alert_listed, "/v1/alerts");
}
