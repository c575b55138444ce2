/* api/webhooks: /v1/webhook_endpoints in Stripe's shape — create,
 * retrieve, update, list, delete — plus payd's roll_secret (a new signing
 * secret while the old one still signs for an overlap), and the event
 * side: POST /v1/events/:id/redeliver and GET /v1/events/:id/deliveries
 * (every delivery of an event with every attempt: time, status, latency,
 * error).  URLs are checked here (notify/guard: http(s) only, never
 * link-local or cloud metadata addresses, private networks only when the
 * config allows them); the writes are engine commands. */
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "core/catalog.h"
#include "core/render.h"
#include "notify/guard.h"

#define WEBHOOK_OVERLAP_DEFAULT_S (24 * 3600)

static const char *const create_params[] = {"url", "enabled_events", "description", "metadata",
					    "api_version", "connect", "expand", NULL};
static const char *const update_params[] = {"url", "enabled_events", "description", "metadata",
					    "disabled", "expand", NULL};
static const char *const roll_params[] = {"overlap_seconds", "expand", NULL};
static const char *const redeliver_params[] = {"endpoint", "expand", NULL};
static const char *const read_params[] = {"expand", NULL};
static const char *const list_params[] = {"limit", "starting_after", "ending_before", "expand",
					  NULL};

static int read_url(struct request *req, bool required, struct webhook_args *a,
		    struct params_error *err)
{
	const char *url = NULL;
	int rc = params_string(req->params, "url", required, WEBHOOK_URL_MAX, &url, err);
	if (rc || !url)
		return rc;
	char why[160];
	if (guard_url_check(url, req->srv->webhooks_allow_private, why, sizeof why) != 0)
		return params_fail(err, CAT_PARAMETER_INVALID, "url", "%s", why);
	a->url = strdup(url);
	a->fields |= WH_F_URL;
	return CAT_OK;
}

/* enabled_events: 1..WEBHOOK_TYPES_MAX known event types, or "*". */
static int read_events(struct request *req, bool required, struct webhook_args *a,
		       struct params_error *err)
{
	json_t *list = json_object_get(req->params, "enabled_events");
	if (!list && !required)
		return CAT_OK;
	if (!list)
		return params_fail(err, CAT_PARAMETER_MISSING, "enabled_events",
				   "enabled_events is required: the event types to send, or \"*\".");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > WEBHOOK_TYPES_MAX)
		return params_fail(err, CAT_PARAMETER_INVALID, "enabled_events",
				   "enabled_events must be a list of 1 to %d event types.",
				   WEBHOOK_TYPES_MAX);
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *type = json_string_value(item);
		if (!type || (strcmp(type, "*") != 0 && !webhook_type_known(type)))
			return params_fail(err, CAT_PARAMETER_INVALID, "enabled_events",
					   "Unknown event type '%s'.", type ? type : "(not a string)");
	}
	a->enabled_events = json_incref(list);
	a->fields |= WH_F_EVENTS;
	return CAT_OK;
}

static int read_common(struct request *req, bool create, struct webhook_args *a,
		       struct params_error *err)
{
	const char *description = NULL;
	int rc = read_url(req, create, a, err);
	if (!rc)
		rc = read_events(req, create, a, err);
	if (!rc && !(rc = params_string(req->params, "description", false,
					WEBHOOK_DESCRIPTION_MAX, &description, err)) &&
	    description) {
		a->description = strdup(description);
		a->fields |= WH_F_DESCRIPTION;
	}
	if (!rc && !(rc = params_metadata(req->params, "metadata", &a->metadata, err)) &&
	    a->metadata)
		a->fields |= WH_F_METADATA;
	return rc;
}

static void send_cmd(struct request *req, enum engine_cmd_kind kind, int rc,
		     const struct params_error *err)
{
	if (rc) {
		http_params_error(req, err);
		return;
	}
	if (http_prepare_cmd(req, kind, req->params))
		http_submit(req);
}

void webhook_create(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, create_params))
		return;
	send_cmd(req, CMD_WEBHOOK_CREATE, read_common(req, true, &req->cmd.webhook, &err), &err);
}

void webhook_update(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, update_params))
		return;
	struct webhook_args *a = &req->cmd.webhook;
	int rc = read_common(req, false, a, &err);
	if (!rc && json_object_get(req->params, "disabled") &&
	    !(rc = params_bool(req->params, "disabled", &a->disabled, &err)))
		a->fields |= WH_F_DISABLED;
	send_cmd(req, CMD_WEBHOOK_UPDATE, rc, &err);
}

void webhook_delete(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, read_params))
		return;
	send_cmd(req, CMD_WEBHOOK_DELETE, 0, &err);
}

void webhook_roll(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, roll_params))
		return;
	int64_t overlap_s = WEBHOOK_OVERLAP_DEFAULT_S;
	int rc = params_int64(req->params, "overlap_seconds", false, &overlap_s, &err);
	if (!rc && (overlap_s < 0 || overlap_s > WEBHOOK_ROLL_OVERLAP_MAX_MS / 1000))
		rc = params_fail(&err, CAT_PARAMETER_INVALID, "overlap_seconds",
				 "overlap_seconds must be between 0 and %lld.",
				 (long long)(WEBHOOK_ROLL_OVERLAP_MAX_MS / 1000));
	if (!rc)
		req->cmd.webhook.overlap_ms = overlap_s * 1000;
	send_cmd(req, CMD_WEBHOOK_ROLL, rc, &err);
}

void webhook_retrieve(struct request *req)
{
	if (!http_params(req, read_params))
		return;
	struct store *reader = http_reader(req);
	struct webhook_endpoint w = {0};
	int rc = reader ? reader->ops->webhook_get(reader, req->merchant_id, req->id, &w)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK && w.deleted)
		rc = CAT_NO_SUCH_OBJECT;
	if (rc == CAT_OK)
		http_json(req, 200, render_webhook_endpoint(&w, NULL));
	else
		http_read_error(req, rc, "id", "No such webhook endpoint.");
	webhook_endpoint_clear(&w);
}

static json_t *render_listed(const void *record, const char *lang)
{
	(void)lang;
	return render_webhook_endpoint(record, NULL);
}

static int list_endpoints(struct store *s, const char *merchant_id, const struct store_page *page,
			  store_each_fn each, void *ctx, bool *has_more)
{
	return s->ops->webhook_list(s, merchant_id, page, each, ctx, has_more);
}

void webhook_list(struct request *req)
{
	struct store_page page;
	if (!http_params(req, list_params) || !http_page(req, &page))
		return;
	http_list(req, list_endpoints, &page, render_listed, "/v1/webhook_endpoints");
}

void event_redeliver(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, redeliver_params))
		return;
	const char *endpoint = NULL;
	int rc = params_string(req->params, "endpoint", false, ID_MAX - 1, &endpoint, &err);
	if (!rc && endpoint)
		snprintf(req->cmd.webhook.endpoint_id, sizeof req->cmd.webhook.endpoint_id, "%s",
			 endpoint);
	send_cmd(req, CMD_EVENT_REDELIVER, rc, &err);
}

/* ---- GET /v1/events/:id/deliveries ----------------------------------------- */

#define DELIVERY_ATTEMPTS_SHOWN 500 /* the store lists at most this many (the first) */

struct attempts_ctx {
	struct delivery_attempt list[DELIVERY_ATTEMPTS_SHOWN];
	int n;
};

static void collect_attempt(void *ctx, const void *record)
{
	struct attempts_ctx *a = ctx;
	if (a->n < DELIVERY_ATTEMPTS_SHOWN)
		a->list[a->n++] = *(const struct delivery_attempt *)record;
}

struct deliveries_ctx {
	struct store *reader;
	json_t *data;
	struct attempts_ctx *attempts; /* one buffer, reused for every delivery */
	int rc;
};

static void collect_delivery(void *ctx, const void *record)
{
	struct deliveries_ctx *c = ctx;
	const struct delivery *d = record;
	struct attempts_ctx *a = c->attempts;
	a->n = 0;
	int rc = c->reader->ops->delivery_attempt_list(c->reader, d->id, collect_attempt, a);
	if (rc)
		c->rc = rc;
	else
		json_array_append_new(c->data, render_delivery(d, a->list, a->n));
}

void event_deliveries(struct request *req)
{
	if (!http_params(req, read_params))
		return;
	struct store *reader = http_reader(req);
	struct store_event ev = {0};
	int rc = reader ? reader->ops->event_get(reader, req->merchant_id, req->id, &ev)
			: CAT_STORAGE_UNAVAILABLE;
	struct deliveries_ctx c = {.reader = reader, .data = json_array(),
				   .attempts = calloc(1, sizeof(struct attempts_ctx))};
	if (rc == CAT_OK && !c.attempts)
		rc = CAT_INTERNAL;
	if (rc == CAT_OK)
		rc = reader->ops->delivery_of_event(reader, ev.id, collect_delivery, &c);
	if (rc == CAT_OK)
		rc = c.rc;
	if (rc == CAT_OK) {
		char url[96];
		snprintf(url, sizeof url, "/v1/events/%s/deliveries", ev.id);
		http_json(req, 200, render_list(c.data, false, url));
		c.data = NULL;
	} else {
		http_read_error(req, rc, "id", "No such event.");
	}
	json_decref(c.data);
	free(c.attempts);
	store_event_clear(&ev);
}
