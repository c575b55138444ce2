/* notify/webhook_out: one webhook request, ready for libcurl's multi
 * handle: the event exactly as the API shows it, Stripe's signature
 * header (t=…,v1=… with one v1 per secret that still signs), no
 * redirects, no proxy, http and https only, the SSRF guard on every
 * connect, a timeout, and the answer read only up to a limit. */
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "core/catalog.h"
#include "core/render.h"
#include "notify/notify_internal.h"
#include "notify/signature.h"

/* Keeps the first bytes of the answer and stops reading past the limit
 * (the transfer then ends with an error, but its status is known). */
static size_t read_answer(char *data, size_t size, size_t count, void *ctx)
{
	struct notify_job *j = ctx;
	size_t len = size * count;
	size_t room = sizeof j->snippet - j->snippet_len;
	memcpy(j->snippet + j->snippet_len, data, len < room ? len : room);
	j->snippet_len += len < room ? len : room;
	j->got += len;
	return j->got > j->limit ? 0 : len;
}

/* The endpoint's secrets that sign now: the current one, and the one it
 * replaced while the roll's overlap lasts. */
static int open_secrets(struct notifier *n, const struct webhook_endpoint *w, int64_t now_ms,
			char secrets[SIGNATURE_SECRETS_MAX][WEBHOOK_SECRET_MAX + 1])
{
	size_t len = 0;
	int count = 0;
	if (crypto_open(n->seal_key, w->secret_sealed, w->secret_sealed_len, w->id, strlen(w->id),
			secrets[0], WEBHOOK_SECRET_MAX, &len))
		secrets[count++][len] = '\0';
	if (count && w->old_secret_sealed_len && w->old_expires_ms > now_ms &&
	    crypto_open(n->seal_key, w->old_secret_sealed, w->old_secret_sealed_len, w->id,
			strlen(w->id), secrets[1], WEBHOOK_SECRET_MAX, &len))
		secrets[count++][len] = '\0';
	return count;
}

static bool sign(struct notifier *n, struct notify_job *j, const struct webhook_endpoint *w)
{
	char secrets[SIGNATURE_SECRETS_MAX][WEBHOOK_SECRET_MAX + 1];
	int64_t now_ms = clock_now_ms(n->clock);
	int count = open_secrets(n, w, now_ms, secrets);
	const char *keys[SIGNATURE_SECRETS_MAX] = {secrets[0], secrets[1]};
	char value[SIGNATURE_HEADER_MAX];
	char header[SIGNATURE_HEADER_MAX + 32];
	size_t len = count ? signature_header(keys, count, now_ms / 1000, j->payload,
					      j->payload_len, value, sizeof value)
			   : 0;
	explicit_bzero(secrets, sizeof secrets);
	if (!len)
		return false;
	snprintf(header, sizeof header, "Stripe-Signature: %s", value);
	j->headers = curl_slist_append(j->headers, header);
	return j->headers != NULL;
}

static bool set_request(struct notifier *n, struct notify_job *j, const char *url)
{
	struct curl_slist *h = j->headers;
	h = curl_slist_append(h, "Content-Type: application/json; charset=utf-8");
	h = h ? curl_slist_append(h, "User-Agent: payd-webhooks/1") : NULL;
	h = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!h)
		return false;
	j->headers = h;
	j->limit = (size_t)n->wh.response_limit;
	j->guard.allow_private = n->wh.allow_private_networks;
	CURL *c = j->easy;
	bool ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->payload_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)n->wh.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)n->wh.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, read_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, guard_opensocket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &j->guard);
	return ok;
}

/* The event's payload, as GET /v1/events/:id renders it. */
static enum notify_prepared load_payload(struct notifier *n, struct notify_job *j)
{
	struct store_event ev = {0};
	int rc = n->reader->ops->event_get(n->reader, j->d.merchant_id, j->d.event_id, &ev);
	if (rc == CAT_OK)
		j->payload = render_take_text(
			render_event(ev.id, ev.type, ev.created_ms, ev.data_json, 1));
	store_event_clear(&ev);
	if (rc == CAT_NO_SUCH_OBJECT)
		return NOTIFY_NO_ONE;
	if (rc || !j->payload)
		return NOTIFY_LATER;
	j->payload_len = strlen(j->payload);
	return NOTIFY_READY;
}

enum notify_prepared notify_prepare_webhook(struct notifier *n, struct notify_job *j, char *why,
					    size_t why_cap)
{
	struct webhook_endpoint w = {0};
	int rc = n->reader->ops->webhook_get(n->reader, j->d.merchant_id, j->d.endpoint_id, &w);
	enum notify_prepared out = rc == CAT_NO_SUCH_OBJECT ? NOTIFY_NO_ONE
				   : rc			   ? NOTIFY_LATER
							   : NOTIFY_READY;
	/* Disabled (or deleted) since the scan read it: its deliveries wait for
	 * it to be enabled (a deletion skips them in its own transaction). */
	if (out == NOTIFY_READY && (w.deleted || w.status != WEBHOOK_ENABLED)) {
		out = NOTIFY_LATER;
		snprintf(why, why_cap, "the endpoint is %s", w.deleted ? "deleted" : "disabled");
	}
	if (out == NOTIFY_NO_ONE)
		snprintf(why, why_cap, "the endpoint no longer exists");
	if (out == NOTIFY_READY)
		out = load_payload(n, j);
	if (out == NOTIFY_NO_ONE && !why[0])
		snprintf(why, why_cap, "the event no longer exists");
	if (out == NOTIFY_READY && (!(j->easy = curl_easy_init()) || !sign(n, j, &w) ||
				    !set_request(n, j, w.url)))
		out = NOTIFY_LATER;
	webhook_endpoint_clear(&w);
	return out;
}
