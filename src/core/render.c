/* core/render: Stripe-shaped JSON of intents, refunds, errors and lists.
 * Field names and nullability follow Stripe's API reference; payd's own
 * additions (attempts, payd_code, user_message, amount_refunded) are extra
 * fields that Stripe's clients ignore. */
#include "core/render.h"

#include <stdlib.h>
#include <string.h>

#include "base/currency.h"
#include "core/catalog.h"

json_int_t render_time(int64_t ms)
{
	return (json_int_t)(ms / 1000);
}

char *render_take_text(json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	return text;
}

static json_t *str_or_null(const char *s)
{
	return (s && *s) ? json_string(s) : json_null();
}

static json_t *lower_currency(const char *code)
{
	const struct currency *cur = currency_find(code);
	char lower[4] = "";
	if (cur)
		currency_lower(cur, lower);
	return json_string(lower);
}

static json_t *metadata(const char *text)
{
	json_t *m = text ? json_loads(text, 0, NULL) : NULL;
	return json_is_object(m) ? m : (json_decref(m), json_object());
}

json_t *render_payment_method(const struct payment_method *m)
{
	if (m->type == PM_NONE)
		return json_null();
	json_t *pm = json_pack("{s:o, s:s, s:s}", "id", str_or_null(m->id), "object",
			       "payment_method", "type", pm_type_name(m->type));
	if (m->type == PM_CARD)
		json_object_set_new(pm, "card",
				    json_pack("{s:s, s:s, s:i, s:i, s:o}", "brand", m->brand, "last4",
					      m->last4, "exp_month", m->exp_month, "exp_year",
					      m->exp_year, "fingerprint", str_or_null(m->fingerprint)));
	else
		json_object_set_new(pm, pm_type_name(m->type), json_object());
	return pm;
}

json_t *render_error(int code, const char *param, const char *message, const char *lang)
{
	const struct catalog_entry *e = catalog_get(code);
	if (!e)
		e = catalog_get(CAT_INTERNAL);
	bool card = e->type == CAT_TYPE_CARD_ERROR;
	if (!message || !*message)
		message = card ? e->message_en : e->description;
	json_t *err = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "type", catalog_type_name(e->type),
				"code", e->stripe_code, "message", message, "payd_code", e->code,
				"user_message", catalog_message(e, lang), "advice", e->advice);
	if (card)
		json_object_set_new(err, "decline_code", json_string(e->slug));
	if (param && *param)
		json_object_set_new(err, "param", json_string(param));
	return err;
}

static json_t *render_attempt(const struct payment_attempt *a)
{
	const struct catalog_entry *e = a->code ? catalog_get(a->code) : NULL;
	json_t *att = json_pack("{s:s, s:i, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:I}", "id",
				a->id, "seq", a->seq, "channel", a->channel, "status",
				attempt_status_name(a->status), "amount", (json_int_t)a->amount,
				"payd_code", a->code ? json_integer(a->code) : json_null(), "code",
				e ? json_string(e->slug) : json_null(), "raw_code",
				str_or_null(a->raw_code), "raw_message", str_or_null(a->raw_message),
				"latency_ms", a->latency_ms >= 0 ? json_integer(a->latency_ms) : json_null(),
				"created", render_time(a->created_ms));
	json_object_set_new(att, "payment_method", render_payment_method(&a->method));
	return att;
}

static const struct payment_attempt *find_attempt(const struct payment_attempt *attempts, int n,
						  const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(attempts[i].id, id) == 0)
			return &attempts[i];
	return NULL;
}

static json_t *last_error(const struct payment_intent *pi, const struct payment_attempt *attempts,
			  int n, const char *lang)
{
	if (!pi->last_error_code)
		return json_null();
	json_t *err = render_error(pi->last_error_code, NULL, NULL, lang);
	const struct payment_attempt *a = find_attempt(attempts, n, pi->last_error_attempt_id);
	json_object_set_new(err, "charge", str_or_null(pi->last_error_attempt_id));
	if (a) {
		json_object_set_new(err, "payment_method", render_payment_method(&a->method));
		json_object_set_new(err, "raw_code", str_or_null(a->raw_code));
	}
	return err;
}

static json_t *next_action(const struct payment_intent *pi)
{
	if (pi->status != PI_REQUIRES_ACTION)
		return json_null();
	return json_pack("{s:s, s:{s:s, s:s}}", "type", "verify_with_code", "verify_with_code",
			 "charge", pi->latest_attempt_id, "instructions",
			 "Confirm the PaymentIntent again with verification_code set to the code the "
			 "payer received (sandbox: 000000).");
}

json_t *render_intent(const struct payment_intent *pi, const struct payment_attempt *attempts,
		      int n, const char *lang)
{
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, render_attempt(&attempts[i]));
	json_t *types = json_pack("[s]", pi->method.type == PM_NONE ? "card"
								    : pm_type_name(pi->method.type));
	json_t *o = json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:s}", "id", pi->id,
		"object", "payment_intent", "amount", (json_int_t)pi->amount, "amount_capturable",
		(json_int_t)pi->amount_capturable, "amount_received", (json_int_t)pi->amount_received,
		"amount_refunded", (json_int_t)pi->amount_refunded, "capture_method",
		pi->capture_method == CAPTURE_MANUAL ? "manual" : "automatic",
		"confirmation_method", "automatic", "created", render_time(pi->created_ms),
		"currency", lower_currency(pi->currency), "customer", str_or_null(pi->customer),
		"description", str_or_null(pi->description), "status", pi_status_name(pi->status));
	json_object_set_new(o, "last_payment_error", last_error(pi, attempts, n, lang));
	json_object_set_new(o, "latest_charge", str_or_null(pi->latest_attempt_id));
	json_object_set_new(o, "livemode", json_false());
	json_object_set_new(o, "metadata", metadata(pi->metadata_json));
	json_object_set_new(o, "next_action", next_action(pi));
	json_object_set_new(o, "payment_method", pi->method.type == PM_NONE
							 ? json_null()
							 : str_or_null(pi->method.id));
	json_object_set_new(o, "payment_method_types", types);
	json_object_set_new(o, "canceled_at",
			    pi->canceled_ms ? json_integer(render_time(pi->canceled_ms)) : json_null());
	json_object_set_new(o, "cancellation_reason", str_or_null(pi->cancellation_reason));
	json_object_set_new(o, "attempts", list);
	return o;
}

json_t *render_refund(const struct refund *r)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:I, s:o, s:s, s:o, s:s}", "id", r->id, "object",
			      "refund", "amount", (json_int_t)r->amount, "charge",
			      str_or_null(r->attempt_id), "created", render_time(r->created_ms),
			      "currency", lower_currency(r->currency), "payment_intent", r->intent_id,
			      "reason", str_or_null(r->reason), "status",
			      refund_status_name(r->status));
	const struct catalog_entry *e = r->failure_code ? catalog_get(r->failure_code) : NULL;
	json_object_set_new(o, "failure_reason", e ? json_string(e->slug) : json_null());
	json_object_set_new(o, "payd_code", e ? json_integer(e->code) : json_null());
	json_object_set_new(o, "metadata", metadata(r->metadata_json));
	return o;
}

json_t *render_list(json_t *data, bool has_more, const char *url)
{
	return json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data", data, "has_more",
			 has_more, "url", url);
}
