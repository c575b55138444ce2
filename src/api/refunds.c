/* api/refunds: /v1/refunds — create, retrieve, list (filter by
 * payment_intent).  The engine decides whether a refund fits in what
 * remains; this file only checks the parameters. */
#include <string.h>

#include "api/http.h"
#include "core/catalog.h"
#include "core/render.h"

static const char *const create_params[] = {"payment_intent", "charge", "amount", "reason",
					    "metadata", "expand", "instructions_email", NULL};
static const char *const list_params[] = {"limit", "starting_after", "ending_before",
					  "payment_intent", "expand", NULL};
static const char *const retrieve_params[] = {"expand", NULL};
static const char *const reasons[] = {"duplicate", "fraudulent", "requested_by_customer", NULL};

static int check_create(struct request *req, struct params_error *err)
{
	struct refund_args *a = &req->cmd.refund;
	const char *intent = NULL, *reason = NULL;
	int64_t amount = 0;
	int rc = params_string(req->params, "payment_intent", false, ID_MAX - 1, &intent, err);
	if (!rc && json_object_get(req->params, "charge"))
		rc = params_fail(err, CAT_PARAMETER_INVALID, "charge",
				 "Refund by payment_intent; refunds by charge are not supported.");
	if (!rc && !intent)
		rc = params_fail(err, CAT_PARAMETER_MISSING, "payment_intent",
				 "Missing required param: payment_intent.");
	if (!rc)
		rc = params_amount(req->params, "amount", false, PAYMENT_AMOUNT_MAX, &amount, err);
	if (!rc)
		rc = params_enum(req->params, "reason", false, reasons, &reason, err);
	if (!rc)
		rc = params_metadata(req->params, "metadata", &a->metadata, err);
	if (rc)
		return rc;
	snprintf(a->intent_id, sizeof a->intent_id, "%s", intent);
	snprintf(a->reason, sizeof a->reason, "%s", reason ? reason : "");
	a->amount = amount;
	return CAT_OK;
}

void refund_create(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, create_params))
		return;
	int rc = check_create(req, &err);
	if (rc) {
		http_params_error(req, &err);
		return;
	}
	if (http_prepare_cmd(req, CMD_REFUND_CREATE, req->params))
		http_submit(req);
}

void refund_retrieve(struct request *req)
{
	if (!http_params(req, retrieve_params))
		return;
	struct store *reader = http_reader(req);
	struct refund r = {0};
	int rc = reader ? reader->ops->refund_get(reader, req->merchant_id, req->id, &r)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK)
		http_json(req, 200, render_refund(&r));
	else
		http_read_error(req, rc, "refund", "No such refund.");
	refund_clear(&r);
}

static json_t *render_listed(const void *record, const char *lang)
{
	(void)lang;
	return render_refund(record);
}

static int list_refunds(struct store *s, const char *merchant_id, const struct store_page *page,
			store_each_fn each, void *ctx, bool *has_more)
{
	return s->ops->refund_list(s, merchant_id, page, each, ctx, has_more);
}

void refund_list(struct request *req)
{
	struct store_page page;
	struct params_error err = {0};
	if (!http_params(req, list_params) || !http_page(req, &page))
		return;
	if (params_string(req->params, "payment_intent", false, ID_MAX - 1, &page.filter, &err)) {
		http_params_error(req, &err);
		return;
	}
	http_list(req, list_refunds, &page, render_listed, "/v1/refunds");
}
