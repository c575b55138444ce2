/* cmd/demo_webhooks: the demo's webhook receiver — a merchant's endpoint
 * that is not always up.  An HTTP server (libmicrohttpd) on loopback that
 * payd delivers every event to: it checks each request's Stripe-Signature
 * with the endpoint's secret (the way stripe's constructEvent does),
 * refuses a fifth of the deliveries with 503 (seeded, so runs compare) to
 * make payd retry, and keeps the id of every event it accepted, so the
 * summary can say how many arrived and whether any was lost. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cmd/demo.h"
#include "notify/signature.h"

#define DEMO_HOOK_BODY_MAX (256 * 1024)
#define DEMO_HOOK_REFUSE_PCT 20
#define DEMO_HOOK_TOLERANCE_S 300

struct hook_body {
	char *data;
	size_t len;
	bool too_large;
};

/* The status for one complete request. */
static unsigned judge(struct demo_webhooks *w, const char *signature, const struct hook_body *b)
{
	int64_t now_s = clock_now_ms(&clock_system) / 1000;
	json_t *event = b->too_large ? NULL : json_loadb(b->data, b->len, 0, NULL);
	const char *id = json_string_value(json_object_get(event, "id"));
	unsigned status = MHD_HTTP_OK;
	pthread_mutex_lock(&w->lock);
	if (!id || !signature ||
	    !signature_verify(signature, b->data, b->len, w->secret, now_s, DEMO_HOOK_TOLERANCE_S)) {
		w->bad_signatures++;
		status = MHD_HTTP_BAD_REQUEST;
	} else if (rng_below(&w->rng, 100) < DEMO_HOOK_REFUSE_PCT) {
		w->refused++;
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	} else {
		json_object_set_new(w->accepted, id, json_true()); /* a set: twice counts once */
	}
	pthread_mutex_unlock(&w->lock);
	json_decref(event);
	return status;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	(void)url;
	(void)method;
	(void)version;
	struct hook_body *b = *state;
	if (!b) {
		*state = calloc(1, sizeof *b);
		return *state ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		if (b->len + *upload_size > DEMO_HOOK_BODY_MAX)
			b->too_large = true;
		char *grown = b->too_large ? NULL : realloc(b->data, b->len + *upload_size + 1);
		if (grown) {
			memcpy(grown + b->len, upload, *upload_size);
			b->data = grown;
			b->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	const char *signature =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Stripe-Signature");
	unsigned status = judge(cls, signature, b);
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
		    enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)conn;
	(void)why;
	struct hook_body *b = *state;
	if (b)
		free(b->data);
	free(b);
	*state = NULL;
}

int demo_webhooks_start(struct demo_webhooks *w)
{
	pthread_mutex_init(&w->lock, NULL);
	rng_seed(&w->rng, 2026);
	w->accepted = json_object();
	struct sockaddr_in loopback = {.sin_family = AF_INET,
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	w->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, on_request, w, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&loopback,
				     MHD_OPTION_END);
	const union MHD_DaemonInfo *info =
		w->daemon ? MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info)
		return -1;
	snprintf(w->url, sizeof w->url, "http://127.0.0.1:%u/payd-events", info->port);
	return 0;
}

int demo_webhooks_register(struct demo_webhooks *w, const char *api, const char *key)
{
	char url[DEMO_URL_MAX + 32], body[DEMO_URL_MAX + 64], *answer = NULL;
	snprintf(url, sizeof url, "%s/v1/webhook_endpoints", api);
	snprintf(body, sizeof body, "url=%s&enabled_events[]=*&description=demo", w->url);
	long status = demo_http(url, key, body, false, &answer);
	json_t *ep = answer ? json_loads(answer, 0, NULL) : NULL;
	const char *secret = json_string_value(json_object_get(ep, "secret"));
	if (status == 200 && secret)
		snprintf(w->secret, sizeof w->secret, "%s", secret);
	json_decref(ep);
	free(answer);
	return status == 200 && w->secret[0] ? 0 : -1;
}

struct demo_hook_counts demo_webhooks_counts(struct demo_webhooks *w)
{
	pthread_mutex_lock(&w->lock);
	struct demo_hook_counts c = {.refused = w->refused,
				     .bad_signatures = w->bad_signatures,
				     .accepted_events = (long)json_object_size(w->accepted)};
	pthread_mutex_unlock(&w->lock);
	return c;
}

void demo_webhooks_stop(struct demo_webhooks *w)
{
	if (w->daemon)
		MHD_stop_daemon(w->daemon);
	w->daemon = NULL;
	json_decref(w->accepted);
	w->accepted = NULL;
	pthread_mutex_destroy(&w->lock);
}
