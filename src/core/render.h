/* core/render: payd's records in Stripe's JSON shapes (jansson trees,
 * built in memory: no I/O).  The engine renders answers and event
 * snapshots with these; the API renders what it reads. */
#ifndef PAYD_CORE_RENDER_H
#define PAYD_CORE_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "core/payment.h"
#include "core/payout.h"
#include "core/webhook.h"

/* attempts: the intent's attempts oldest first (may be NULL when n = 0).
 * lang picks the language of user_message (Accept-Language value). */
json_t *render_intent(const struct payment_intent *pi, const struct payment_attempt *attempts,
		      int n, const char *lang);
/* The same as compact JSON text (heap), written directly: the hot path. */
char *render_intent_text(const struct payment_intent *pi, const struct payment_attempt *attempts,
			 int n, const char *lang);
json_t *render_refund(const struct refund *r);
json_t *render_payment_method(const struct payment_method *m);

/* Stripe's error object inside {"error": ...}: type, code, decline_code
 * (card errors), message, param, payd_code, user_message.  `message` NULL
 * takes the catalog's text. */
json_t *render_error(int code, const char *param, const char *message, const char *lang);
/* {"object":"list","data":[...],"has_more":...,"url":...}; steals data. */
json_t *render_list(json_t *data, bool has_more, const char *url);

/* render_payout.c: recipients, payouts (events: the timeline, oldest
 * first, n of them; NULL leaves it out) and alerts. */
json_t *render_bank_account(const struct bank_account *a);
json_t *render_recipient(const struct recipient *r);
json_t *render_payout(const struct payout *p, const struct payout_event *events, int n,
		      const char *lang);
json_t *render_alert(const struct alert *a);

/* render_webhook.c: an event (its snapshot data_json inside), a webhook
 * endpoint (its signing secret only when given: at creation and roll)
 * and a delivery with its attempts (n of them, first first). */
json_t *render_event(const char *id, const char *type, int64_t created_ms, const char *data_json,
		     long pending_webhooks);
json_t *render_webhook_endpoint(const struct webhook_endpoint *w, const char *secret);
json_t *render_delivery(const struct delivery *d, const struct delivery_attempt *attempts, int n);

/* The Stripe API version payd's objects follow. */
#define RENDER_API_VERSION "2024-06-20"

/* Seconds since the epoch, as Stripe's `created`. */
json_int_t render_time(int64_t ms);
/* Compact JSON text (heap) of v; v is released. */
char *render_take_text(json_t *v);

/* Pieces the renderers share (render.c).  A JSON string of s, or null
 * when s is NULL or empty. */
json_t *render_str_or_null(const char *s);
/* Seconds since the epoch of ms, or null when ms is 0 (not yet). */
json_t *render_time_or_null(int64_t ms);
/* The ISO currency code in lower case, as Stripe writes it. */
json_t *render_lower_currency(const char *code);
/* The stored metadata JSON text as an object ({} when absent or not an
 * object). */
json_t *render_metadata(const char *text);

#endif
