/* engine/refunds: creating refunds and applying the channel's answer.
 * The engine is the only writer, so "never refund more than was received"
 * holds under any concurrency: each refund is checked against the
 * intent's amount_refunded (which counts pending and succeeded refunds)
 * and raises it in the same transaction.  The money is held (merchant ->
 * channel) while the channel works; a success settles the hold, a failure
 * releases it and lowers amount_refunded again.  A refund whose outcome
 * the channel leaves unknown stays pending and is asked about (resolver). */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/catalog.h"
#include "core/render.h"
#include "engine/internal.h"

/* Stripe's Charge, reduced to what a refund event needs. */
static json_t *render_charge(const struct payment_intent *pi, const struct payment_attempt *a)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:s}", "id", a->id, "object",
			      "charge", "amount", (json_int_t)a->amount, "amount_captured",
			      (json_int_t)pi->amount_received, "amount_refunded",
			      (json_int_t)pi->amount_refunded, "payment_intent", pi->id, "refunded",
			      pi->amount_refunded >= pi->amount_received, "status",
			      attempt_status_name(a->status));
	json_object_set_new(o, "payment_method_details", render_payment_method(&a->method));
	return o;
}

static int append_refund_event(struct engine *e, const struct refund *r, const char *type)
{
	char *text = render_take_text(render_refund(r));
	int rc = text ? engine_append_event(e, r->merchant_id, type, r->id, text) : CAT_INTERNAL;
	free(text);
	return rc;
}

struct intent_view {
	struct payment_intent pi;
	struct payment_attempt attempts[PAYMENT_ATTEMPTS_MAX + 1];
	int n;
};

static const struct payment_attempt *charge_of(const struct intent_view *v)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->attempts[i].id, v->pi.latest_attempt_id) == 0)
			return &v->attempts[i];
	return NULL;
}

static int new_refund(struct engine *e, struct engine_cmd *cmd, struct intent_view *v,
		      struct refund *r)
{
	const struct refund_args *args = &cmd->refund;
	int64_t amount = args->amount ? args->amount : pi_refundable(&v->pi);
	int rc = pi_can_refund(&v->pi, amount);
	if (rc == CAT_REFUND_EXCEEDS_REMAINING)
		return params_fail(&cmd->err, rc, "amount",
				   "Refund amount (%lld) is greater than the amount that remains "
				   "refundable (%lld).",
				   (long long)amount, (long long)pi_refundable(&v->pi));
	if (rc)
		return params_fail(&cmd->err, rc, rc == CAT_INVALID_STATE ? "payment_intent" : "amount",
				   "This PaymentIntent (status %s) cannot be refunded%s.",
				   pi_status_name(v->pi.status),
				   rc == CAT_CHARGE_ALREADY_REFUNDED ? ": it is fully refunded" : "");
	const struct payment_attempt *charge = charge_of(v);
	LEDGER_ASSERT(charge && charge->status == ATT_SUCCEEDED);
	id_new(&e->ids, ID_REFUND, r->id);
	memcpy(r->merchant_id, v->pi.merchant_id, sizeof r->merchant_id);
	memcpy(r->intent_id, v->pi.id, sizeof r->intent_id);
	memcpy(r->attempt_id, charge->id, sizeof r->attempt_id);
	memcpy(r->channel, charge->channel, sizeof r->channel);
	memcpy(r->currency, v->pi.currency, sizeof r->currency);
	memcpy(r->reason, args->reason, sizeof r->reason);
	r->amount = amount;
	r->status = REFUND_PENDING;
	r->created_ms = r->updated_ms = e->now_ms;
	if (args->metadata && json_object_size(args->metadata))
		r->metadata_json = json_dumps(args->metadata, JSON_COMPACT | JSON_SORT_KEYS);
	return CAT_OK;
}

int refunds_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct intent_view *v = calloc(1, sizeof *v);
	struct refund r = {0};
	if (!v)
		return CAT_INTERNAL;
	int rc = payments_load(e, cmd->merchant_id, cmd->refund.intent_id, &v->pi, v->attempts, &v->n);
	if (rc == CAT_NO_SUCH_OBJECT)
		params_fail(&cmd->err, rc, "payment_intent", "No such payment_intent: '%s'",
			    cmd->refund.intent_id);
	if (rc == CAT_OK)
		rc = new_refund(e, cmd, v, &r);
	if (rc == CAT_OK)
		rc = books_transfer(e, true, "merchant", r.merchant_id, "channel", r.channel,
				    r.currency, r.amount, r.hold_transfer_id);
	if (rc == CAT_BALANCE_INSUFFICIENT)
		params_fail(&cmd->err, rc, "amount",
			    "The merchant's available balance is too low to refund %lld now.",
			    (long long)r.amount);
	if (rc == CAT_OK) {
		v->pi.amount_refunded += r.amount;
		v->pi.updated_ms = e->now_ms;
		rc = e->store->ops->intent_update(e->store, &v->pi);
	}
	if (rc == CAT_OK)
		rc = e->store->ops->refund_insert(e->store, &r);
	if (rc == CAT_OK)
		rc = append_refund_event(e, &r, "refund.created");
	if (rc == CAT_OK) {
		const struct payment_attempt *charge = charge_of(v);
		struct channel_request req = {.op = CH_OP_REFUND, .amount = r.amount,
					      .method = &charge->method};
		memcpy(req.reference, r.id, sizeof req.reference);
		memcpy(req.payment_reference, r.attempt_id, sizeof req.payment_reference);
		memcpy(req.currency, r.currency, sizeof req.currency);
		engine_queue_call(e, cmd, r.channel, r.merchant_id, r.id, &req);
		memcpy(cmd->target_id, r.id, sizeof cmd->target_id);
		*out = EXEC_CALL;
	}
	refund_clear(&r);
	payment_intent_clear(&v->pi);
	free(v);
	return rc;
}

/* Success settles the hold; failure releases it and gives the intent its
 * refundable amount back. */
static int settle_refund(struct engine *e, const struct channel_result *cr, struct refund *r,
			 struct intent_view *v)
{
	int rc;
	if (cr->outcome == CH_SUCCEEDED) {
		r->status = REFUND_SUCCEEDED;
		rc = books_settle(e, r->hold_transfer_id, 0);
	} else {
		r->status = REFUND_FAILED;
		r->failure_code = cr->code ? cr->code : CAT_REFUND_FAILED;
		snprintf(r->raw_code, sizeof r->raw_code, "%s", cr->raw_code);
		rc = books_release(e, r->hold_transfer_id);
		v->pi.amount_refunded -= r->amount;
		LEDGER_ASSERT(v->pi.amount_refunded >= 0);
	}
	r->updated_ms = v->pi.updated_ms = e->now_ms;
	if (rc == CAT_OK)
		rc = e->store->ops->refund_update(e->store, r);
	if (rc == CAT_OK)
		rc = e->store->ops->intent_update(e->store, &v->pi);
	if (rc == CAT_OK)
		rc = append_refund_event(e, r, "refund.updated");
	if (rc == CAT_OK && r->status == REFUND_FAILED)
		rc = append_refund_event(e, r, "refund.failed");
	if (rc == CAT_OK && r->status == REFUND_SUCCEEDED) {
		const struct payment_attempt *charge = charge_of(v);
		char *text = render_take_text(render_charge(&v->pi, charge));
		rc = engine_append_event(e, r->merchant_id, "charge.refunded", charge->id, text);
		free(text);
	}
	return rc;
}

/* The channel never received the refund (payd stopped before sending it,
 * or the request was lost): it is sent again under the same reference,
 * which cannot pay it twice.  One never found after
 * ENGINE_REFUND_RESENDS_MAX sendings fails, and its money comes back. */
static int resend_refund(struct engine *e, struct engine_cmd *res, struct refund *r,
			 struct intent_view *v)
{
	int sent = res->checks + 1;
	if (e->winding_down) { /* stopping: the next start asks again */
		resolver_track_refund(e, r->merchant_id, r->id, sent);
		return CAT_OK;
	}
	if (sent > ENGINE_REFUND_RESENDS_MAX) {
		log_msg(LOG_ERROR, "refund_never_received", "%s: not found after %d sendings: failed",
			r->id, sent - 1);
		struct channel_result never = {.outcome = CH_DECLINED, .code = CAT_REFUND_FAILED};
		snprintf(never.raw_code, sizeof never.raw_code, "%s", res->ch_res.raw_code);
		return settle_refund(e, &never, r, v);
	}
	r->updated_ms = e->now_ms;
	int rc = e->store->ops->refund_update(e->store, r);
	if (rc)
		return rc;
	const struct payment_attempt *charge = charge_of(v);
	struct channel_request req = {.op = CH_OP_REFUND, .amount = r->amount,
				      .method = charge ? &charge->method : NULL};
	memcpy(req.reference, r->id, sizeof req.reference);
	memcpy(req.payment_reference, r->attempt_id, sizeof req.payment_reference);
	memcpy(req.currency, r->currency, sizeof req.currency);
	engine_queue_call(e, NULL, r->channel, r->merchant_id, r->id, &req)->checks = sent;
	return CAT_OK;
}

int refunds_apply_result(struct engine *e, struct engine_cmd *res, enum exec_result *out)
{
	struct intent_view *v = calloc(1, sizeof *v);
	struct refund r = {0};
	if (!v)
		return CAT_INTERNAL;
	*out = res->origin ? EXEC_REPLY : EXEC_NONE;
	int rc = e->store->ops->refund_get(e->store, res->merchant_id, res->target_id, &r);
	if (rc == CAT_OK)
		rc = payments_load(e, r.merchant_id, r.intent_id, &v->pi, v->attempts, &v->n);
	enum channel_outcome outcome = res->ch_res.outcome;
	bool query = res->ch_req.op == CH_OP_QUERY_REFUND;
	if (rc != CAT_OK || r.status != REFUND_PENDING)
		; /* settled already (a late or repeated answer) */
	else if (outcome == CH_SUCCEEDED || outcome == CH_DECLINED)
		rc = settle_refund(e, &res->ch_res, &r, v);
	else if (outcome == CH_NOT_FOUND && engine_not_found_final(e, r.channel, r.updated_ms))
		rc = resend_refund(e, res, &r, v);
	else /* unknown, or not found too soon: ask the channel later */
		resolver_track_refund(e, r.merchant_id, r.id, query ? res->checks + 1 : res->checks);
	if (rc == CAT_OK && res->origin)
		engine_reply_json(res->origin, 200, render_refund(&r));
	refund_clear(&r);
	payment_intent_clear(&v->pi);
	free(v);
	return rc;
}
