/* api/channels: GET /v1/channels, payd's own extension in Stripe's list
 * style: every configured channel with its settings (never its secret),
 * its health over the breaker's sliding window (success rate, p50/p99
 * latency) and its breaker state, as route/ sees them now. */
#include "api/http.h"
#include "core/catalog.h"
#include "core/render.h"
#include "route/route.h"

void channel_list(struct request *req)
{
	static const char *const allowed[] = {"expand", NULL};
	if (!http_params(req, allowed))
		return;
	json_t *data = route_snapshot(req->srv->route, clock_now_ms(req->srv->clock));
	if (!data) {
		http_error(req, CAT_INTERNAL, NULL, NULL);
		return;
	}
	http_json(req, 200, render_list(data, false, "/v1/channels"));
}
