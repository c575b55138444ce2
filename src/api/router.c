/* api/router: the routing table.  A pattern is a path with at most one
 * ":id" segment; the matched id goes to req->id.  Every route needs an
 * authenticated merchant, except the rails' callbacks, which carry the
 * channel's signature instead (api/callbacks.c). */
#include <string.h>

#include "api/http.h"
#include "base/utf8.h"
#include "core/catalog.h"

struct api_route {
	const char *method;
	const char *pattern;
	route_fn fn;
	bool signed_by_channel; /* no API key: the channel's signature */
};

static const struct api_route routes[] = {
	{"POST", "/v1/payment_intents", pi_create, false},
	{"GET", "/v1/payment_intents", pi_list, false},
	{"GET", "/v1/payment_intents/:id", pi_retrieve, false},
	{"POST", "/v1/payment_intents/:id", pi_update, false},
	{"POST", "/v1/payment_intents/:id/confirm", pi_confirm, false},
	{"POST", "/v1/payment_intents/:id/capture", pi_capture, false},
	{"POST", "/v1/payment_intents/:id/cancel", pi_cancel, false},
	{"POST", "/v1/refunds", refund_create, false},
	{"GET", "/v1/refunds", refund_list, false},
	{"GET", "/v1/refunds/:id", refund_retrieve, false},
	{"GET", "/v1/balance", balance_retrieve, false},
	{"GET", "/v1/channels", channel_list, false},
	{"GET", "/v1/events", event_list, false},
	{"GET", "/v1/events/:id", event_retrieve, false},
	{"POST", "/v1/events/:id/redeliver", event_redeliver, false},
	{"GET", "/v1/events/:id/deliveries", event_deliveries, false},
	{"POST", "/v1/webhook_endpoints", webhook_create, false},
	{"GET", "/v1/webhook_endpoints", webhook_list, false},
	{"GET", "/v1/webhook_endpoints/:id", webhook_retrieve, false},
	{"POST", "/v1/webhook_endpoints/:id", webhook_update, false},
	{"DELETE", "/v1/webhook_endpoints/:id", webhook_delete, false},
	{"POST", "/v1/webhook_endpoints/:id/roll_secret", webhook_roll, false},
	{"POST", "/v1/recipients", recipient_create, false},
	{"GET", "/v1/recipients", recipient_list, false},
	{"GET", "/v1/recipients/:id", recipient_retrieve, false},
	{"POST", "/v1/payouts", payout_create, false},
	{"GET", "/v1/payouts", payout_list, false},
	{"GET", "/v1/payouts/:id", payout_retrieve, false},
	{"POST", "/v1/payouts/:id/cancel", payout_cancel, false},
	{"GET", "/v1/alerts", alert_list, false},
	{"GET", "/v1/alerts/:id", alert_retrieve, false},
	{"POST", "/v1/channel_callbacks/:id", callback_receive, true},
};

/* Matches path against pattern; the ":id" segment is copied to id. */
static bool match(const char *pattern, const char *path, char id[HTTP_ID_MAX])
{
	while (*pattern && *path) {
		if (strncmp(pattern, ":id", 3) == 0) {
			size_t len = strcspn(path, "/");
			if (len == 0 || len >= HTTP_ID_MAX)
				return false;
			memcpy(id, path, len);
			id[len] = '\0';
			pattern += 3;
			path += len;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && (*path == '\0' || strcmp(path, "/") == 0);
}

void router_dispatch(struct request *req)
{
	if (!utf8_printable(req->path, strlen(req->path))) {
		http_error(req, CAT_MALFORMED_BODY, NULL, "The URL is not valid UTF-8.");
		return;
	}
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct api_route *r = &routes[i];
		if (strcmp(r->method, req->method) != 0 || !match(r->pattern, req->path, req->id))
			continue;
		if (r->signed_by_channel || auth_merchant(req))
			r->fn(req);
		return;
	}
	char message[HTTP_PATH_MAX + 64];
	snprintf(message, sizeof message, "Unrecognized request URL (%s: %s).", req->method,
		 req->path);
	http_error(req, CAT_UNKNOWN_ENDPOINT, NULL, message);
}
