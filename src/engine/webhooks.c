/* engine/webhooks: the writes behind webhooks and payer e-mails.
 *
 * Endpoints are created, updated, deleted and their signing secrets rolled
 * here; the secret is made here, sealed (bound to the endpoint's id) and
 * shown once, in the answer.  Events fan out to deliveries by themselves
 * (a trigger in the store); an event that concerns a payer also becomes an
 * e-mail delivery when payer notifications are on.  The notifier
 * (notify/) sends and reports each attempt back as a command: the attempt
 * is recorded, the delivery is done, rescheduled with backoff or given up
 * past the maximum age, and an endpoint that keeps failing is disabled
 * with an alert (resolved when it is enabled again). */
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "core/catalog.h"
#include "core/render.h"
#include "engine/internal.h"

#define WEBHOOK_ALERT_KIND "webhook_disabled"
#define WEBHOOK_LIST_PAGE 100 /* more than WEBHOOK_ENDPOINTS_MAX: one page holds them all */

/* The event types a payer is e-mailed about. */
static const char *const payer_event_types[] = {
	"payment_intent.payment_failed", "refund.updated", "refund.failed", "payout.updated",
	"payout.paid", "payout.failed", "payout.canceled",
};

int webhooks_event_appended(struct engine *e, const char *merchant_id, const char *event_id,
			    const char *type)
{
	if (!e->notify_payers)
		return CAT_OK;
	bool wanted = false;
	for (size_t i = 0; i < sizeof payer_event_types / sizeof payer_event_types[0]; i++)
		wanted = wanted || strcmp(type, payer_event_types[i]) == 0;
	if (!wanted)
		return CAT_OK;
	struct delivery d = {.kind = DELIVERY_EMAIL, .created_ms = e->now_ms, .next_ms = e->now_ms};
	snprintf(d.event_id, sizeof d.event_id, "%s", event_id);
	snprintf(d.merchant_id, sizeof d.merchant_id, "%s", merchant_id);
	return e->store->ops->delivery_insert(e->store, &d);
}

int webhooks_expire(struct engine *e)
{
	long removed = 0;
	int rc = e->store->ops->delivery_expire(e->store, e->now_ms - e->webhook_policy.retention_ms,
						&removed);
	if (rc == CAT_OK && removed)
		log_msg(LOG_INFO, "deliveries_expired", "%ld finished deliveries forgotten", removed);
	return rc;
}

/* ---- secrets -------------------------------------------------------------- */

static int seal_secret(struct engine *e, const char *endpoint_id, const char *secret,
		       uint8_t out[WEBHOOK_SEALED_MAX], size_t *out_len)
{
	bool ok = crypto_seal(e->webhook_seal_key, secret, strlen(secret), endpoint_id,
			      strlen(endpoint_id), out, WEBHOOK_SEALED_MAX, out_len);
	return ok ? CAT_OK : CAT_INTERNAL;
}

/* ---- endpoints ------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

/* The fields a create or update carried, onto w. */
static int apply_fields(struct webhook_endpoint *w, const struct webhook_args *a)
{
	if (a->fields & WH_F_URL) {
		free(w->url);
		w->url = strdup(a->url);
	}
	if (a->fields & WH_F_DESCRIPTION) {
		free(w->description);
		w->description = dup_or_null(a->description);
	}
	if (a->fields & WH_F_EVENTS) {
		free(w->enabled_events_json);
		w->enabled_events_json = json_dumps(a->enabled_events, JSON_COMPACT);
	}
	if ((a->fields & WH_F_METADATA) && a->metadata) {
		json_t *merged = w->metadata_json ? json_loads(w->metadata_json, 0, NULL) : NULL;
		if (!json_is_object(merged)) {
			json_decref(merged);
			merged = json_object();
		}
		const char *key;
		json_t *value;
		json_object_foreach(a->metadata, key, value)
		{
			const char *text = json_string_value(value);
			if (text && !text[0])
				json_object_del(merged, key);
			else
				json_object_set(merged, key, value);
		}
		free(w->metadata_json);
		w->metadata_json = json_object_size(merged)
					   ? json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS)
					   : NULL;
		json_decref(merged);
	}
	return w->url && w->enabled_events_json ? CAT_OK : CAT_INTERNAL;
}

static int resolve_alert(struct engine *e, const struct webhook_endpoint *w, const char *why)
{
	char message[PAYOUT_MESSAGE_MAX];
	snprintf(message, sizeof message, "Webhook endpoint %s %s.", w->id, why);
	return alerts_resolve(e, w->id, WEBHOOK_ALERT_KIND, message);
}

/* The answer shows the secret, once: an Idempotency-Key keeps the answer
 * without it (a replay says the endpoint, not its secret), so the secret
 * is never on disk in clear. */
static void reply_with_secret(struct engine_cmd *cmd, const struct webhook_endpoint *w,
			      const char *secret, enum exec_result *out)
{
	engine_reply_json(cmd, 200, render_webhook_endpoint(w, secret));
	free(cmd->saved_body);
	cmd->saved_body = render_take_text(render_webhook_endpoint(w, NULL));
	*out = EXEC_REPLY;
}

static int endpoint_create(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	long count = 0;
	int rc = e->store->ops->webhook_count(e->store, cmd->merchant_id, &count);
	if (rc == CAT_OK && count >= WEBHOOK_ENDPOINTS_MAX)
		return params_fail(&cmd->err, CAT_PARAMETER_INVALID, "url",
				   "An account may have at most %d webhook endpoints.",
				   WEBHOOK_ENDPOINTS_MAX);
	struct webhook_endpoint w = {.status = WEBHOOK_ENABLED, .created_ms = e->now_ms};
	char secret[WEBHOOK_SECRET_MAX + 1];
	id_new(&e->ids, ID_WEBHOOK_ENDPOINT, w.id);
	memcpy(w.merchant_id, cmd->merchant_id, sizeof w.merchant_id);
	webhook_new_secret(secret);
	if (rc == CAT_OK)
		rc = apply_fields(&w, &cmd->webhook);
	if (rc == CAT_OK)
		rc = seal_secret(e, w.id, secret, w.secret_sealed, &w.secret_sealed_len);
	if (rc == CAT_OK)
		rc = e->store->ops->webhook_insert(e->store, &w);
	if (rc == CAT_OK)
		reply_with_secret(cmd, &w, secret, out);
	explicit_bzero(secret, sizeof secret);
	webhook_endpoint_clear(&w);
	return rc;
}

/* The merchant's endpoint named by target_id, not deleted. */
static int endpoint_load(struct engine *e, struct engine_cmd *cmd, struct webhook_endpoint *w)
{
	int rc = e->store->ops->webhook_get(e->store, cmd->merchant_id, cmd->target_id, w);
	if (rc == CAT_OK && w->deleted) {
		webhook_endpoint_clear(w);
		rc = CAT_NO_SUCH_OBJECT;
	}
	if (rc == CAT_NO_SUCH_OBJECT)
		params_fail(&cmd->err, rc, "id", "No such webhook endpoint: '%s'.", cmd->target_id);
	return rc;
}

/* disabled=true stops deliveries; false enables the endpoint again, with
 * its failure count reset and its alert resolved. */
static int set_disabled(struct engine *e, struct webhook_endpoint *w, bool disabled)
{
	if (disabled) {
		w->status = WEBHOOK_DISABLED;
		return CAT_OK;
	}
	if (w->status == WEBHOOK_ENABLED)
		return CAT_OK;
	w->status = WEBHOOK_ENABLED;
	w->failures = 0;
	w->failing_since_ms = 0;
	w->disabled_reason[0] = '\0';
	return resolve_alert(e, w, "is enabled again");
}

static int endpoint_update(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct webhook_endpoint w;
	int rc = endpoint_load(e, cmd, &w);
	if (rc)
		return rc;
	rc = apply_fields(&w, &cmd->webhook);
	if (rc == CAT_OK && (cmd->webhook.fields & WH_F_DISABLED))
		rc = set_disabled(e, &w, cmd->webhook.disabled);
	if (rc == CAT_OK)
		rc = e->store->ops->webhook_update(e->store, &w);
	if (rc == CAT_OK) {
		engine_reply_json(cmd, 200, render_webhook_endpoint(&w, NULL));
		*out = EXEC_REPLY;
	}
	webhook_endpoint_clear(&w);
	return rc;
}

static int endpoint_delete(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct webhook_endpoint w;
	int rc = endpoint_load(e, cmd, &w);
	if (rc)
		return rc;
	w.deleted = true;
	w.status = WEBHOOK_DISABLED;
	rc = e->store->ops->webhook_update(e->store, &w);
	if (rc == CAT_OK)
		rc = e->store->ops->delivery_skip_endpoint(e->store, w.id, e->now_ms,
							   "the endpoint was deleted");
	if (rc == CAT_OK)
		rc = resolve_alert(e, &w, "was deleted");
	if (rc == CAT_OK) {
		engine_reply_json(cmd, 200,
				  json_pack("{s:s, s:s, s:b}", "id", w.id, "object",
					    "webhook_endpoint", "deleted", 1));
		*out = EXEC_REPLY;
	}
	webhook_endpoint_clear(&w);
	return rc;
}

/* A new secret; the one it replaces still signs for overlap_ms (0: it
 * stops now), so receivers can switch without losing an event. */
static int endpoint_roll(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct webhook_endpoint w;
	int rc = endpoint_load(e, cmd, &w);
	if (rc)
		return rc;
	int64_t overlap_ms = cmd->webhook.overlap_ms;
	if (overlap_ms > 0 && w.old_secret_sealed_len && w.old_expires_ms > e->now_ms) {
		/* a second overlap would cut the first one short */
		webhook_endpoint_clear(&w);
		return params_fail(&cmd->err, CAT_INVALID_STATE, "overlap_seconds",
				   "The previous secret still signs: roll again once it has "
				   "expired, or with overlap_seconds=0 to end every earlier secret now.");
	}
	char secret[WEBHOOK_SECRET_MAX + 1];
	webhook_new_secret(secret);
	w.old_secret_sealed_len = overlap_ms > 0 ? w.secret_sealed_len : 0;
	memcpy(w.old_secret_sealed, w.secret_sealed, w.old_secret_sealed_len);
	w.old_expires_ms = overlap_ms > 0 ? e->now_ms + overlap_ms : 0;
	rc = seal_secret(e, w.id, secret, w.secret_sealed, &w.secret_sealed_len);
	if (rc == CAT_OK)
		rc = e->store->ops->webhook_update(e->store, &w);
	if (rc == CAT_OK)
		reply_with_secret(cmd, &w, secret, out);
	explicit_bzero(secret, sizeof secret);
	webhook_endpoint_clear(&w);
	return rc;
}

/* ---- redelivery ----------------------------------------------------------- */

struct redeliver_ctx {
	struct engine *e;
	const struct store_event *event;
	const char *only; /* an endpoint id, or "" */
	json_t *created;  /* the deliveries made */
	int matched;
	int rc;
};

static void redeliver_to(void *ctx, const void *record)
{
	struct redeliver_ctx *r = ctx;
	const struct webhook_endpoint *w = record;
	bool chosen = r->only[0] ? strcmp(r->only, w->id) == 0
				 : webhook_wants(w->enabled_events_json, r->event->type);
	if (r->rc || !chosen)
		return;
	r->matched++;
	if (w->status != WEBHOOK_ENABLED)
		return;
	struct delivery d = {.kind = DELIVERY_WEBHOOK, .created_ms = r->e->now_ms,
			     .next_ms = r->e->now_ms};
	memcpy(d.event_id, r->event->id, sizeof d.event_id);
	memcpy(d.merchant_id, r->event->merchant_id, sizeof d.merchant_id);
	memcpy(d.endpoint_id, w->id, sizeof d.endpoint_id);
	r->rc = r->e->store->ops->delivery_insert(r->e->store, &d);
	if (r->rc == CAT_OK)
		json_array_append_new(r->created, render_delivery(&d, NULL, 0));
}

static void count_delivery(void *ctx, const void *record)
{
	(void)record;
	(*(long *)ctx)++;
}

static int event_redeliver(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct store_event ev = {0};
	int rc = e->store->ops->event_get(e->store, cmd->merchant_id, cmd->target_id, &ev);
	if (rc == CAT_NO_SUCH_OBJECT)
		return params_fail(&cmd->err, rc, "id", "No such event: '%s'.", cmd->target_id);
	long so_far = 0;
	if (rc == CAT_OK)
		rc = e->store->ops->delivery_of_event(e->store, ev.id, count_delivery, &so_far);
	if (rc == CAT_OK && so_far >= WEBHOOK_EVENT_DELIVERIES_MAX)
		rc = params_fail(&cmd->err, CAT_INVALID_STATE, "id",
				 "This event has been delivered %ld times already (at most %d).",
				 so_far, WEBHOOK_EVENT_DELIVERIES_MAX);
	struct redeliver_ctx r = {.e = e, .event = &ev, .only = cmd->webhook.endpoint_id,
				  .created = json_array()};
	struct store_page page = {.limit = WEBHOOK_LIST_PAGE};
	bool more = false;
	if (rc == CAT_OK)
		rc = e->store->ops->webhook_list(e->store, cmd->merchant_id, &page, redeliver_to, &r,
						 &more);
	if (rc == CAT_OK)
		rc = r.rc;
	if (rc == CAT_OK && r.only[0] && !r.matched)
		rc = params_fail(&cmd->err, CAT_NO_SUCH_OBJECT, "endpoint",
				 "No such webhook endpoint: '%s'.", r.only);
	if (rc == CAT_OK && r.only[0] && !json_array_size(r.created))
		rc = params_fail(&cmd->err, CAT_INVALID_STATE, "endpoint",
				 "The webhook endpoint is disabled: enable it first.");
	if (rc == CAT_OK) {
		char url[96];
		snprintf(url, sizeof url, "/v1/events/%s/deliveries", ev.id);
		engine_reply_json(cmd, 200, render_list(r.created, false, url));
		r.created = NULL;
		*out = EXEC_REPLY;
	}
	json_decref(r.created);
	store_event_clear(&ev);
	return rc;
}

/* ---- the notifier's reports ----------------------------------------------- */

static int disable_endpoint(struct engine *e, struct webhook_endpoint *w)
{
	w->status = WEBHOOK_DISABLED;
	snprintf(w->disabled_reason, sizeof w->disabled_reason,
		 "%d deliveries failed in a row since %lld", w->failures,
		 (long long)w->failing_since_ms / 1000);
	char message[PAYOUT_MESSAGE_MAX];
	snprintf(message, sizeof message,
		 "Webhook endpoint %s was disabled: %d deliveries failed in a row.", w->id,
		 w->failures);
	log_msg(LOG_WARN, "webhook_disabled", "endpoint %s disabled after %d failures", w->id,
		w->failures);
	return alerts_raise(e, w->merchant_id, WEBHOOK_ALERT_KIND, w->id, 1, message);
}

/* The endpoint's health after an attempt: a success clears its failures;
 * failures in a row past the policy disable it. */
static int endpoint_attempted(struct engine *e, const struct delivery *d, bool ok)
{
	struct webhook_endpoint w;
	int rc = e->store->ops->webhook_get(e->store, d->merchant_id, d->endpoint_id, &w);
	if (rc == CAT_NO_SUCH_OBJECT)
		return CAT_OK;
	if (rc)
		return rc;
	bool disable = false;
	if (ok) {
		w.failures = 0;
		w.failing_since_ms = 0;
		w.last_success_ms = e->now_ms;
	} else {
		w.failures++;
		if (!w.failing_since_ms)
			w.failing_since_ms = e->now_ms;
		disable = webhook_should_disable(&e->webhook_policy, &w, e->now_ms);
	}
	if (disable) /* the whole endpoint: its subscriptions go with the status */
		rc = disable_endpoint(e, &w);
	if (rc == CAT_OK)
		rc = disable ? e->store->ops->webhook_update(e->store, &w)
			     : e->store->ops->webhook_health_update(e->store, &w);
	webhook_endpoint_clear(&w);
	return rc;
}

/* Where the delivery goes after this attempt. */
static void schedule(struct engine *e, struct delivery *d, const struct delivery_report *r)
{
	bool ok = r->outcome == DELIVERY_TRIED && webhook_status_ok(r->status);
	if (r->outcome == DELIVERY_TRIED && d->kind == DELIVERY_EMAIL)
		ok = r->status >= 200 && r->status <= 399 && !r->error[0];
	d->last_status = r->status;
	snprintf(d->last_error, sizeof d->last_error, "%s", r->error);
	if (ok || r->outcome == DELIVERY_NO_ONE) {
		d->state = ok ? DELIVERY_DELIVERED : DELIVERY_SKIPPED;
		d->done_ms = e->now_ms;
		return;
	}
	uint64_t jitter;
	crypto_random_bytes(&jitter, sizeof jitter);
	int64_t wait = webhook_backoff_ms(&e->webhook_policy, d->attempts, jitter);
	if (r->permanent || d->attempts >= WEBHOOK_ATTEMPTS_MAX ||
	    e->now_ms + wait - d->created_ms > e->webhook_policy.max_age_ms) {
		d->state = DELIVERY_FAILED;
		d->done_ms = e->now_ms;
		log_msg(LOG_WARN, "delivery_failed", "delivery %lld of %s gave up after %d attempts",
			(long long)d->id, d->event_id, d->attempts);
		return;
	}
	d->next_ms = e->now_ms + wait;
}

/* A delivery given up raises an alert: about its endpoint (one open per
 * endpoint), or about the event for a payer e-mail. */
static int gave_up(struct engine *e, const struct delivery *d)
{
	char message[PAYOUT_MESSAGE_MAX];
	snprintf(message, sizeof message, "%s of event %s gave up after %d attempts: %.60s",
		 d->kind == DELIVERY_EMAIL ? "The payer e-mail" : "A webhook delivery", d->event_id,
		 d->attempts, d->last_error);
	return d->kind == DELIVERY_EMAIL
		       ? alerts_raise(e, d->merchant_id, "payer_email_failed", d->event_id, 1, message)
		       : alerts_raise(e, d->merchant_id, "webhook_delivery_failed", d->endpoint_id, 1,
				      message);
}

static int delivery_report(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	const struct delivery_report *r = &cmd->report;
	struct delivery d;
	engine_reply_json(cmd, 200, json_object());
	*out = EXEC_REPLY;
	int rc = e->store->ops->delivery_get(e->store, r->delivery_id, &d);
	if (rc == CAT_NO_SUCH_OBJECT || (rc == CAT_OK && d.state != DELIVERY_PENDING))
		return CAT_OK; /* reported twice: the first report stands */
	if (rc)
		return rc;
	if (r->outcome == DELIVERY_TRIED) {
		struct delivery_attempt a = {.delivery_id = d.id, .n = ++d.attempts,
					     .started_ms = r->started_ms, .status = r->status,
					     .latency_ms = r->latency_ms};
		snprintf(a.error, sizeof a.error, "%s", r->error);
		rc = e->store->ops->delivery_attempt_insert(e->store, &a);
	}
	schedule(e, &d, r);
	if (rc == CAT_OK)
		rc = e->store->ops->delivery_update(e->store, &d);
	if (rc == CAT_OK && d.state == DELIVERY_FAILED)
		rc = gave_up(e, &d);
	if (rc == CAT_OK && d.kind == DELIVERY_WEBHOOK && r->outcome == DELIVERY_TRIED)
		rc = endpoint_attempted(e, &d, d.state == DELIVERY_DELIVERED);
	return rc;
}

int webhooks_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	switch (cmd->kind) {
	case CMD_WEBHOOK_CREATE: return endpoint_create(e, cmd, out);
	case CMD_WEBHOOK_UPDATE: return endpoint_update(e, cmd, out);
	case CMD_WEBHOOK_DELETE: return endpoint_delete(e, cmd, out);
	case CMD_WEBHOOK_ROLL: return endpoint_roll(e, cmd, out);
	case CMD_EVENT_REDELIVER: return event_redeliver(e, cmd, out);
	case CMD_DELIVERY_REPORT: return delivery_report(e, cmd, out);
	default: return CAT_INTERNAL;
	}
}
