/* core/render: Stripe-shaped JSON of intents, refunds, errors and lists.
 * Field names and nullability follow Stripe's API reference; payd's own
 * additions (attempts, payd_code, user_message, amount_refunded) are extra
 * fields that Stripe's clients ignore.  Also the small pieces every
 * renderer uses (time, text, string-or-null, currency, metadata). */
#include "core/render.h"

#include <stdlib.h>
#include <string.h>

#include "base/currency.h"
#include "base/jsonw.h"
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

json_t *render_time_or_null(int64_t ms)
{
	return ms > 0 ? json_integer(render_time(ms)) : json_null();
}

json_t *render_str_or_null(const char *s)
{
	return (s && *s) ? json_string(s) : json_null();
}

json_t *render_lower_currency(const char *code)
{
	char lower[4];
	currency_lower_code(code, lower);
	return json_string(lower);
}

json_t *render_metadata(const char *text)
{
	json_t *m = text ? json_loads(text, 0, NULL) : NULL;
	return json_is_object(m) ? m : (json_decref(m), json_object());
}


static void write_method(struct jsonw *w, const struct payment_method *m)
{
	if (m->type == PM_NONE) {
		jsonw_null(w);
		return;
	}
	jsonw_begin_object(w);
	jsonw_key(w, "id");
	jsonw_string_or_null(w, m->id);
	jsonw_key(w, "object");
	jsonw_string(w, "payment_method");
	jsonw_key(w, "type");
	jsonw_string(w, pm_type_name(m->type));
	jsonw_key(w, pm_type_name(m->type));
	jsonw_begin_object(w);
	if (m->type == PM_CARD) {
		jsonw_key(w, "brand");
		jsonw_string(w, m->brand);
		jsonw_key(w, "last4");
		jsonw_string(w, m->last4);
		jsonw_key(w, "exp_month");
		jsonw_int(w, m->exp_month);
		jsonw_key(w, "exp_year");
		jsonw_int(w, m->exp_year);
		jsonw_key(w, "fingerprint");
		jsonw_string_or_null(w, m->fingerprint);
	}
	jsonw_end_object(w);
	jsonw_end_object(w);
}

static void write_attempt(struct jsonw *w, const struct payment_attempt *a)
{
	const struct catalog_entry *e = a->code ? catalog_get(a->code) : NULL;
	jsonw_begin_object(w);
	jsonw_key(w, "id");
	jsonw_string(w, a->id);
	jsonw_key(w, "seq");
	jsonw_int(w, a->seq);
	jsonw_key(w, "channel");
	jsonw_string(w, a->channel);
	jsonw_key(w, "status");
	jsonw_string(w, attempt_status_name(a->status));
	jsonw_key(w, "amount");
	jsonw_int(w, a->amount);
	jsonw_key(w, "payd_code");
	if (e)
		jsonw_int(w, e->code);
	else
		jsonw_null(w);
	jsonw_key(w, "code");
	jsonw_string_or_null(w, e ? e->slug : NULL);
	jsonw_key(w, "raw_code");
	jsonw_string_or_null(w, a->raw_code);
	jsonw_key(w, "raw_message");
	jsonw_string_or_null(w, a->raw_message);
	jsonw_key(w, "latency_ms");
	if (a->latency_ms >= 0)
		jsonw_int(w, a->latency_ms);
	else
		jsonw_null(w);
	jsonw_key(w, "created");
	jsonw_int(w, render_time(a->created_ms));
	jsonw_key(w, "payment_method");
	write_method(w, &a->method);
	jsonw_end_object(w);
}

static const struct payment_attempt *find_attempt(const struct payment_attempt *attempts, int n,
						  const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(attempts[i].id, id) == 0)
			return &attempts[i];
	return NULL;
}

/* Stripe's error object, as text members of an open object.  `message`
 * NULL or "" takes the catalog's text. */
static void write_error_members(struct jsonw *w, const struct catalog_entry *e,
				const char *message, const char *lang)
{
	bool card = e->type == CAT_TYPE_CARD_ERROR;
	if (!message || !*message)
		message = card ? e->message_en : e->description;
	jsonw_key(w, "type");
	jsonw_string(w, catalog_type_name(e->type));
	jsonw_key(w, "code");
	jsonw_string(w, e->stripe_code);
	jsonw_key(w, "message");
	jsonw_string(w, message);
	jsonw_key(w, "payd_code");
	jsonw_int(w, e->code);
	jsonw_key(w, "user_message");
	jsonw_string(w, catalog_message(e, lang));
	jsonw_key(w, "advice");
	jsonw_string(w, e->advice);
	if (card) {
		jsonw_key(w, "decline_code");
		jsonw_string(w, e->slug);
	}
}

static void write_last_error(struct jsonw *w, const struct payment_intent *pi,
			     const struct payment_attempt *attempts, int n, const char *lang)
{
	const struct catalog_entry *e = pi->last_error_code ? catalog_get(pi->last_error_code) : NULL;
	if (!e) {
		jsonw_null(w);
		return;
	}
	const struct payment_attempt *a = find_attempt(attempts, n, pi->last_error_attempt_id);
	jsonw_begin_object(w);
	write_error_members(w, e, NULL, lang);
	jsonw_key(w, "charge");
	jsonw_string_or_null(w, pi->last_error_attempt_id);
	if (a) {
		jsonw_key(w, "payment_method");
		write_method(w, &a->method);
		jsonw_key(w, "raw_code");
		jsonw_string_or_null(w, a->raw_code);
		jsonw_key(w, "channel");
		jsonw_string(w, a->channel);
	}
	if (pi->last_error_suggest) {
		/* payd's own: the other methods the merchant can offer the payer. */
		jsonw_key(w, "suggested_payment_method_types");
		jsonw_begin_array(w);
		for (int t = PM_CARD; t <= PM_WECHAT_PAY; t++)
			if (pi->last_error_suggest & (1u << t))
				jsonw_string(w, pm_type_name((enum pm_type)t));
		jsonw_end_array(w);
	}
	jsonw_end_object(w);
}

static void write_next_action(struct jsonw *w, const struct payment_intent *pi)
{
	if (pi->status != PI_REQUIRES_ACTION) {
		jsonw_null(w);
		return;
	}
	jsonw_begin_object(w);
	jsonw_key(w, "type");
	jsonw_string(w, "verify_with_code");
	jsonw_key(w, "verify_with_code");
	jsonw_begin_object(w);
	jsonw_key(w, "charge");
	jsonw_string(w, pi->latest_attempt_id);
	jsonw_key(w, "instructions");
	jsonw_string(w, "Confirm the PaymentIntent again with verification_code set to the code "
			"the payer received (sandbox: 000000).");
	jsonw_end_object(w);
	jsonw_end_object(w);
}

static void write_amounts(struct jsonw *w, const struct payment_intent *pi)
{
	jsonw_key(w, "amount");
	jsonw_int(w, pi->amount);
	jsonw_key(w, "amount_capturable");
	jsonw_int(w, pi->amount_capturable);
	jsonw_key(w, "amount_received");
	jsonw_int(w, pi->amount_received);
	jsonw_key(w, "amount_refunded");
	jsonw_int(w, pi->amount_refunded);
}

static void write_intent(struct jsonw *w, const struct payment_intent *pi,
			 const struct payment_attempt *attempts, int n, const char *lang)
{
	char lower[4];
	currency_lower_code(pi->currency, lower);
	jsonw_begin_object(w);
	jsonw_key(w, "id");
	jsonw_string(w, pi->id);
	jsonw_key(w, "object");
	jsonw_string(w, "payment_intent");
	write_amounts(w, pi);
	jsonw_key(w, "capture_method");
	jsonw_string(w, pi->capture_method == CAPTURE_MANUAL ? "manual" : "automatic");
	jsonw_key(w, "confirmation_method");
	jsonw_string(w, "automatic");
	jsonw_key(w, "created");
	jsonw_int(w, render_time(pi->created_ms));
	jsonw_key(w, "currency");
	jsonw_string(w, lower);
	jsonw_key(w, "customer");
	jsonw_string_or_null(w, pi->customer);
	jsonw_key(w, "description");
	jsonw_string_or_null(w, pi->description);
	jsonw_key(w, "receipt_email");
	jsonw_string_or_null(w, pi->receipt_email);
	jsonw_key(w, "payer_language");
	jsonw_string_or_null(w, pi->payer_language);
	jsonw_key(w, "status");
	jsonw_string(w, pi_status_name(pi->status));
	jsonw_key(w, "last_payment_error");
	write_last_error(w, pi, attempts, n, lang);
	jsonw_key(w, "latest_charge");
	jsonw_string_or_null(w, pi->latest_attempt_id);
	jsonw_key(w, "livemode");
	jsonw_bool(w, false);
	jsonw_key(w, "metadata");
	jsonw_raw(w, pi->metadata_json ? pi->metadata_json : "{}"); /* stored as compact JSON */
	jsonw_key(w, "next_action");
	write_next_action(w, pi);
	jsonw_key(w, "payment_method");
	if (pi->method.type == PM_NONE)
		jsonw_null(w);
	else
		jsonw_string_or_null(w, pi->method.id);
	jsonw_key(w, "payment_method_types");
	jsonw_begin_array(w);
	jsonw_string(w, pi->method.type == PM_NONE ? "card" : pm_type_name(pi->method.type));
	jsonw_end_array(w);
	jsonw_key(w, "canceled_at");
	if (pi->canceled_ms)
		jsonw_int(w, render_time(pi->canceled_ms));
	else
		jsonw_null(w);
	jsonw_key(w, "cancellation_reason");
	jsonw_string_or_null(w, pi->cancellation_reason);
	jsonw_key(w, "attempts");
	jsonw_begin_array(w);
	for (int i = 0; i < n; i++)
		write_attempt(w, &attempts[i]);
	jsonw_end_array(w);
	jsonw_end_object(w);
}

json_t *render_error(int code, const char *param, const char *message, const char *lang)
{
	const struct catalog_entry *e = catalog_get(code);
	struct jsonw w;
	jsonw_init(&w);
	jsonw_begin_object(&w);
	write_error_members(&w, e ? e : catalog_get(CAT_INTERNAL), message, lang);
	if (param && *param) {
		jsonw_key(&w, "param");
		jsonw_string(&w, param);
	}
	jsonw_end_object(&w);
	char *text = jsonw_take(&w);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return o ? o : json_object();
}

char *render_intent_text(const struct payment_intent *pi, const struct payment_attempt *attempts,
			 int n, const char *lang)
{
	struct jsonw w;
	jsonw_init(&w);
	write_intent(&w, pi, attempts, n, lang);
	return jsonw_take(&w);
}

json_t *render_intent(const struct payment_intent *pi, const struct payment_attempt *attempts,
		      int n, const char *lang)
{
	char *text = render_intent_text(pi, attempts, n, lang);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return o ? o : json_object();
}

json_t *render_payment_method(const struct payment_method *m)
{
	struct jsonw w;
	jsonw_init(&w);
	write_method(&w, m);
	char *text = jsonw_take(&w);
	json_t *o = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	free(text);
	return o ? o : json_null();
}

json_t *render_refund(const struct refund *r)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:I, s:o, s:s, s:o, s:s}", "id", r->id, "object",
			      "refund", "amount", (json_int_t)r->amount, "charge",
			      render_str_or_null(r->attempt_id), "created", render_time(r->created_ms),
			      "currency", render_lower_currency(r->currency), "payment_intent",
			      r->intent_id, "reason", render_str_or_null(r->reason), "status",
			      refund_status_name(r->status));
	const struct catalog_entry *e = r->failure_code ? catalog_get(r->failure_code) : NULL;
	json_object_set_new(o, "failure_reason", e ? json_string(e->slug) : json_null());
	json_object_set_new(o, "payd_code", e ? json_integer(e->code) : json_null());
	json_object_set_new(o, "metadata", render_metadata(r->metadata_json));
	return o;
}

json_t *render_list(json_t *data, bool has_more, const char *url)
{
	return json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data", data, "has_more",
			 has_more, "url", url);
}
