/* api/events: GET /v1/events (filter by type) and /v1/events/:id.  The
 * event's data is the object's snapshot taken in the transaction that
 * changed it; a retrieved event counts its webhook deliveries still
 * pending (a listed one shows 0: a list does not look them up). */
#include <string.h>

#include "api/http.h"
#include "core/catalog.h"
#include "core/render.h"

static json_t *render_listed(const void *record, const char *lang)
{
	(void)lang;
	const struct store_event *e = record;
	return render_event(e->id, e->type, e->created_ms, e->data_json, 0);
}

static void count_pending(void *ctx, const void *record)
{
	const struct delivery *d = record;
	if (d->state == DELIVERY_PENDING && d->kind == DELIVERY_WEBHOOK)
		(*(long *)ctx)++;
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
	long pending = 0;
	if (rc == CAT_OK)
		rc = reader->ops->delivery_of_event(reader, e.id, count_pending, &pending);
	if (rc == CAT_OK)
		http_json(req, 200, render_event(e.id, e.type, e.created_ms, e.data_json, pending));
	else
		http_read_error(req, rc, "id", "No such event.");
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
	http_list(req, list_events, &page, render_listed, "/v1/events");
}
