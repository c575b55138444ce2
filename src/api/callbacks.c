/* api/callbacks: POST /v1/channel_callbacks/:channel, where payout rails
 * report what became of a payout.  No API key: the channel's signature
 * (X-Payd-Signature over the exact body, its timestamp within
 * CHANNEL_CALLBACK_WINDOW_S) is the authentication, checked here by the
 * channel's parse_callback before anything reaches the engine.  Unsigned,
 * forged, stale and malformed callbacks are refused and logged and change
 * nothing; the engine refuses one about no payout of its own and applies a
 * repeated one (same callback id) only once. */
#include <string.h>

#include "api/http.h"
#include "base/log.h"
#include "core/catalog.h"
#include "route/route.h"

void callback_receive(struct request *req)
{
	struct channel *ch = route_find(req->srv->route, req->id);
	if (!ch || !ch->ops->parse_callback) {
		log_msg(LOG_WARN, "callback_refused", "callback for unknown channel '%s'", req->id);
		http_error(req, CAT_NO_SUCH_OBJECT, "channel", "No such channel takes callbacks.");
		return;
	}
	const char *signature =
		MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Payd-Signature");
	int64_t now_s = clock_now_ms(req->srv->clock) / 1000;
	int rc = ch->ops->parse_callback(ch, req->body ? req->body : "", req->body_len, signature,
					 now_s, &req->cmd.callback);
	if (rc) {
		log_msg(LOG_WARN, "callback_refused", "%s: %s", ch->name,
			rc == CAT_API_KEY_INVALID ? "missing, forged or stale signature"
						  : "not a callback");
		http_error(req, rc, NULL,
			   rc == CAT_API_KEY_INVALID
				   ? "The callback's signature is missing, wrong or too old."
				   : "The body is not a callback of this channel.");
		return;
	}
	snprintf(req->cmd.channel, sizeof req->cmd.channel, "%s", ch->name);
	if (http_prepare_cmd(req, CMD_CHANNEL_CALLBACK, NULL))
		http_submit(req);
}
