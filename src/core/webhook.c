/* core/webhook: event types, matching, the retry schedule and the rule
 * that disables an endpoint (see webhook.h). */
#include "core/webhook.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Every event type payd appends (engine/), in Stripe's names. */
static const char *const webhook_types[] = {
	"payment_intent.created",
	"payment_intent.processing",
	"payment_intent.requires_action",
	"payment_intent.amount_capturable_updated",
	"payment_intent.succeeded",
	"payment_intent.payment_failed",
	"payment_intent.canceled",
	"charge.refunded",
	"refund.created",
	"refund.updated",
	"refund.failed",
	"payout.created",
	"payout.updated",
	"payout.paid",
	"payout.failed",
	"payout.canceled",
	"payout.overdue",
};

#define WEBHOOK_TYPE_COUNT (sizeof webhook_types / sizeof webhook_types[0])

void webhook_endpoint_clear(struct webhook_endpoint *w)
{
	if (!w)
		return;
	free(w->url);
	free(w->description);
	free(w->enabled_events_json);
	free(w->metadata_json);
	explicit_bzero(w, sizeof *w);
}

static_assert(sizeof WEBHOOK_SECRET_PREFIX - 1 + WEBHOOK_SECRET_RANDOM == WEBHOOK_SECRET_MAX,
	      "secret length");

void webhook_new_secret(char out[WEBHOOK_SECRET_MAX + 1])
{
	memcpy(out, WEBHOOK_SECRET_PREFIX, sizeof WEBHOOK_SECRET_PREFIX - 1);
	crypto_random_base62(out + sizeof WEBHOOK_SECRET_PREFIX - 1, WEBHOOK_SECRET_RANDOM);
}

void webhook_policy_default(struct webhook_policy *p)
{
	p->backoff_first_ms = 30 * 1000;
	p->backoff_max_ms = 3600 * 1000;
	p->max_age_ms = 3LL * 24 * 3600 * 1000;
	/* well inside max_age: an endpoint failing every retry of an event for
	 * a day is disabled (and alerted) before that event is given up */
	p->disable_after_failures = 20;
	p->disable_after_ms = 24LL * 3600 * 1000;
	p->retention_ms = 30LL * 24 * 3600 * 1000;
}

bool webhook_type_known(const char *type)
{
	for (size_t i = 0; type && i < WEBHOOK_TYPE_COUNT; i++)
		if (strcmp(type, webhook_types[i]) == 0)
			return true;
	return false;
}

size_t webhook_type_count(void)
{
	return WEBHOOK_TYPE_COUNT;
}

const char *webhook_type_at(size_t i)
{
	return i < WEBHOOK_TYPE_COUNT ? webhook_types[i] : NULL;
}

bool webhook_wants(const char *enabled_events_json, const char *type)
{
	json_t *list = enabled_events_json ? json_loads(enabled_events_json, 0, NULL) : NULL;
	bool wanted = false;
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *t = json_string_value(item);
		if (t && (strcmp(t, "*") == 0 || (type && strcmp(t, type) == 0)))
			wanted = true;
	}
	json_decref(list);
	return wanted;
}

int64_t webhook_backoff_ms(const struct webhook_policy *p, int attempts, uint64_t random_u64)
{
	int64_t wait = p->backoff_first_ms > 0 ? p->backoff_first_ms : 1;
	for (int i = 1; i < attempts && wait < p->backoff_max_ms; i++)
		wait = wait > INT64_MAX / 2 ? INT64_MAX : wait * 2;
	if (wait > p->backoff_max_ms)
		wait = p->backoff_max_ms;
	int64_t jitter_span = wait / 4;
	if (jitter_span > 0)
		wait -= (int64_t)(random_u64 % (uint64_t)(jitter_span + 1));
	return wait > 0 ? wait : 1;
}

bool webhook_status_ok(int status)
{
	return status >= 200 && status <= 299;
}

bool webhook_should_disable(const struct webhook_policy *p, const struct webhook_endpoint *w,
			    int64_t now_ms)
{
	return w->status == WEBHOOK_ENABLED && w->failures >= p->disable_after_failures &&
	       w->failing_since_ms > 0 && now_ms - w->failing_since_ms >= p->disable_after_ms;
}

const char *webhook_status_name(enum webhook_status s)
{
	return s == WEBHOOK_ENABLED ? "enabled" : "disabled";
}

const char *delivery_state_name(enum delivery_state s)
{
	static const char *const names[] = {"pending", "delivered", "failed", "skipped"};
	return (unsigned)s < 4 ? names[s] : "unknown";
}

const char *delivery_kind_name(enum delivery_kind k)
{
	return k == DELIVERY_EMAIL ? "email" : "webhook";
}
