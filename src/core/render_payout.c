/* core/render_payout: recipients, payouts (with their timeline) and
 * alerts in Stripe's JSON shapes, plus payd's own fields: the bank
 * account shown masked (never its number), the rail and its trace id,
 * the expected arrival, the failure's catalog code with a message for the
 * recipient in the language asked for, and every status change. */
#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/render.h"

json_t *render_bank_account(const struct bank_account *a)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "object", "bank_account",
			 "account_holder_name", a->holder_name, "bank_code",
			 render_str_or_null(a->bank_code), "country", a->country, "last4",
			 a->last4, "fingerprint", a->fingerprint);
}

json_t *render_recipient(const struct recipient *r)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:b, s:o, s:o}", "id", r->id,
			 "object", "recipient", "name", r->name, "currency",
			 render_lower_currency(r->currency), "created", render_time(r->created_ms),
			 "bank_account", render_bank_account(&r->account), "metadata",
			 render_metadata(r->metadata_json), "livemode", 0, "email",
			 render_str_or_null(r->email), "preferred_language",
			 render_str_or_null(r->preferred_language));
}

static json_t *render_timeline(const struct payout_event *events, int n)
{
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		const struct payout_event *ev = &events[i];
		json_array_append_new(
			list, json_pack("{s:s, s:I, s:I, s:s, s:o, s:o}", "status",
					payout_status_name(ev->status), "at", render_time(ev->at_ms),
					"at_ms", (json_int_t)ev->at_ms, "source", ev->source, "code",
					render_str_or_null(ev->code), "message",
					render_str_or_null(ev->message)));
	}
	return list;
}

/* The failure: Stripe's failure_code / failure_message, and payd's code
 * with the recipient's message in `lang`. */
static void add_failure(json_t *o, const struct payout *p, const char *lang)
{
	const struct catalog_entry *e = p->failure_code ? catalog_get(p->failure_code) : NULL;
	json_object_set_new(o, "failure_code", e ? json_string(e->slug) : json_null());
	json_object_set_new(o, "failure_message", e ? json_string(e->description) : json_null());
	json_object_set_new(o, "payd_code", e ? json_integer(e->code) : json_null());
	json_object_set_new(o, "user_message", e ? json_string(catalog_message(e, lang)) : json_null());
	json_object_set_new(o, "failure_reason", render_str_or_null(p->failure_reason));
}

json_t *render_payout(const struct payout *p, const struct payout_event *events, int n,
		      const char *lang)
{
	json_t *o = json_pack(
		"{s:s, s:s, s:I, s:o, s:I, s:o, s:o, s:o, s:s, s:s, s:s, s:b, s:o}", "id", p->id,
		"object", "payout", "amount", (json_int_t)p->amount, "arrival_date",
		render_time_or_null(p->expected_arrival_ms), "created", render_time(p->created_ms),
		"currency", render_lower_currency(p->currency), "description",
		render_str_or_null(p->description), "destination", render_str_or_null(p->recipient_id),
		"method",
		payout_method_name(p->method), "status", payout_status_name(p->status), "type",
		"bank_account", "livemode", 0, "metadata", render_metadata(p->metadata_json));
	json_object_set_new(o, "trace_id",
			    json_pack("{s:s, s:o}", "status", p->trace_id[0] ? "supported" : "pending",
				      "value", render_str_or_null(p->trace_id)));
	json_object_set_new(o, "bank_account", render_bank_account(&p->account));
	json_object_set_new(o, "rail", render_str_or_null(p->rail));
	json_object_set_new(o, "arrived_at", render_time_or_null(p->arrived_ms));
	json_object_set_new(o, "overdue_level", json_integer(p->overdue_level));
	add_failure(o, p, lang);
	if (events) /* lists leave it out */
		json_object_set_new(o, "timeline", render_timeline(events, n));
	return o;
}

json_t *render_alert(const struct alert *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:o}", "id", a->id,
			 "object", "alert", "kind", a->kind, "object_id", a->object_id, "level",
			 a->level, "status", alert_status_name(a->status), "message", a->message,
			 "created", render_time(a->created_ms), "updated", render_time(a->updated_ms),
			 "resolved_at", render_time_or_null(a->resolved_ms));
}
