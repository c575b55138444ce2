/* api/events: GET /v1/events (filter by type) and /v1/events/:id.  The
 * event's data is the object's snapshot taken in the transaction that
 * changed it. */
#include <string.h>

#include "api/http.h"
#include "core/catalog.h"
#include "core/render.h"

static json_t *render_event(const void *record, const char *lang)
{
	(void)lang;
	const struct store_event *e = record;
	json_t *object = e->data_json ? json_loads(e->data_json, 0, NULL) : NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:{s:o}, s:b, s:i, s:{s:n, s:n}, s:s}", "id", e->id,
			 "object", "event", "api_version", "2024-06-20", "created",
			 render_time(e->created_ms), "data", "object", object ? object : json_null(),
			 "livemode", 0, "pending_webhooks", 0, "request", "id", "idempotency_key",
			 "type", e->type);
}

void event_retrieve(struct request *req)
{
	static const char *const allowed[] = {"expand", NULL};
	if (!http_params(req, allowed))
		return;
	struct store *reader = http_reader(req);
	struct store_event e = {0};
	int rc = reader ? reader->ops->event_get(reader, req->merchant_id, req->id, &e)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK)
		http_json(req, 200, render_event(&e, req->lang));
	else
		http_error(req, rc, rc == CAT_NO_SUCH_OBJECT ? "id" : NULL,
			   rc == CAT_NO_SUCH_OBJECT ? "No such event." : NULL);
	store_event_clear(&e);
}

static int list_events(struct store *s, const char *merchant_id, const struct store_page *page,
		       store_each_fn each, void *ctx, bool *has_more)
{
	return s->ops->event_list(s, merchant_id, page, each, ctx, has_more);
}

void event_list(struct request *req)
{
	static const char *const allowed[] = {"limit", "starting_after", "ending_before", "type",
					      "expand", NULL};
	struct store_page page;
	struct params_error err = {0};
	if (!http_params(req, allowed) || !http_page(req, &page))
		return;
	if (params_string(req->params, "type", false, STORE_EVENT_TYPE_MAX - 1, &page.filter, &err)) {
		http_params_error(req, &err);
		return;
	}
	http_list(req, list_events, &page, render_event, "/v1/events");
}
