/* core/render_webhook: events (the payload a webhook delivers is exactly
 * what GET /v1/events/:id shows), webhook endpoints in Stripe's shape,
 * and deliveries with their attempts (payd's own objects). */
#include "core/render.h"

#include <stdlib.h>

json_t *render_event(const char *id, const char *type, int64_t created_ms, const char *data_json,
		     long pending_webhooks)
{
	json_t *object = data_json ? json_loads(data_json, 0, NULL) : NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:{s:o}, s:b, s:I, s:{s:n, s:n}, s:s}", "id", id,
			 "object", "event", "api_version", RENDER_API_VERSION, "created",
			 render_time(created_ms), "data", "object", object ? object : json_null(),
			 "livemode", 0, "pending_webhooks", (json_int_t)pending_webhooks, "request",
			 "id", "idempotency_key", "type", type);
}

json_t *render_webhook_endpoint(const struct webhook_endpoint *w, const char *secret)
{
	json_t *events = json_loads(w->enabled_events_json, 0, NULL);
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:I, s:b, s:s, s:n}", "id", w->id, "object",
		"webhook_endpoint", "url", w->url, "description", render_str_or_null(w->description),
		"enabled_events", events ? events : json_array(), "status",
		webhook_status_name(w->status), "metadata", render_metadata(w->metadata_json),
		"created", render_time(w->created_ms), "livemode", 0, "api_version", RENDER_API_VERSION,
		"application");
	if (secret)
		json_object_set_new(o, "secret", json_string(secret));
	json_object_set_new(o, "previous_secret_expires_at",
			    render_time_or_null(w->old_secret_sealed_len ? w->old_expires_ms : 0));
	json_object_set_new(o, "disabled_reason", render_str_or_null(w->disabled_reason));
	json_object_set_new(o, "failures_in_a_row", json_integer(w->failures));
	return o;
}

static json_t *render_attempt(const struct delivery_attempt *a)
{
	return json_pack("{s:i, s:I, s:I, s:o, s:I, s:o}", "attempt", a->n, "started",
			 render_time(a->started_ms), "started_ms", (json_int_t)a->started_ms, "status",
			 a->status ? json_integer(a->status) : json_null(), "latency_ms",
			 (json_int_t)a->latency_ms, "error", render_str_or_null(a->error));
}

json_t *render_delivery(const struct delivery *d, const struct delivery_attempt *attempts, int n)
{
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, render_attempt(&attempts[i]));
	char id[32];
	snprintf(id, sizeof id, "whd_%lld", (long long)d->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:i, s:I, s:o, s:o, s:o, s:o}", "id", id,
			 "object", "webhook_delivery", "kind", delivery_kind_name(d->kind), "event",
			 d->event_id, "webhook_endpoint", render_str_or_null(d->endpoint_id), "status",
			 delivery_state_name(d->state), "attempt_count", d->attempts, "created",
			 render_time(d->created_ms),
			 "next_attempt_at",
			 d->state == DELIVERY_PENDING ? json_integer(render_time(d->next_ms)) : json_null(),
			 "completed_at", render_time_or_null(d->done_ms),
			 "last_error", render_str_or_null(d->last_error), "attempts", list);
}
