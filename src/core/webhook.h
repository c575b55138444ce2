/* core/webhook: webhook endpoints, the deliveries of events to them (and
 * of payer e-mails), the attempts of each delivery, and the rules that
 * need no I/O: which event types exist and match an endpoint, the retry
 * schedule (exponential backoff with jitter, up to a maximum age), and
 * when an endpoint that keeps failing is disabled.
 *
 * Every event appended is fanned out, in its own transaction, to one
 * delivery per matching enabled endpoint (the outbox: schema 0010).  A
 * delivery is `pending` until an attempt gets a 2xx (`delivered`) or its
 * event is older than the maximum age (`failed`); each attempt is kept
 * with its time, HTTP status, latency and error.  A payer e-mail is a
 * delivery of kind `email` with no endpoint. */
#ifndef PAYD_CORE_WEBHOOK_H
#define PAYD_CORE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/id.h"

#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_DESCRIPTION_MAX 5000 /* Stripe's limit */
#define WEBHOOK_TYPES_MAX 64         /* enabled_events entries */
#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_RANDOM 32     /* base-62 characters after the prefix */
#define WEBHOOK_SECRET_MAX 38        /* "whsec_" + 32 */
#define WEBHOOK_SEALED_MAX (WEBHOOK_SECRET_MAX + CRYPTO_SEAL_OVERHEAD)
#define WEBHOOK_ERROR_MAX 160        /* an attempt's error text */
#define WEBHOOK_ENDPOINTS_MAX 16     /* per merchant, like Stripe's limit */
#define WEBHOOK_ATTEMPTS_MAX 100     /* a delivery is given up after this many */
#define WEBHOOK_EVENT_DELIVERIES_MAX 64 /* deliveries of one event: redelivery stops there */
#define WEBHOOK_SEAL_SECRET "webhook_seal" /* store secret sealing signing secrets */
#define WEBHOOK_ROLL_OVERLAP_MAX_MS (7LL * 24 * 3600 * 1000) /* both secrets sign at most this long */

enum webhook_status { WEBHOOK_ENABLED, WEBHOOK_DISABLED };
enum delivery_kind { DELIVERY_WEBHOOK, DELIVERY_EMAIL };
enum delivery_state { DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_FAILED, DELIVERY_SKIPPED };

struct webhook_endpoint {
	char id[ID_MAX]; /* we_... */
	char merchant_id[ID_MAX];
	char *url;                 /* heap */
	char *description;         /* heap, may be NULL */
	char *enabled_events_json; /* heap: a JSON array of types, "*" for all */
	char *metadata_json;       /* heap, may be NULL */
	enum webhook_status status;
	uint8_t secret_sealed[WEBHOOK_SEALED_MAX];
	size_t secret_sealed_len;
	/* A rolled secret that still signs until old_expires_ms (0: none). */
	uint8_t old_secret_sealed[WEBHOOK_SEALED_MAX];
	size_t old_secret_sealed_len;
	int64_t old_expires_ms;
	int failures;             /* attempts failed in a row */
	int64_t failing_since_ms; /* the first of them (0 when none) */
	int64_t last_success_ms;
	char disabled_reason[WEBHOOK_ERROR_MAX]; /* "" unless disabled by payd */
	bool deleted;
	int64_t created_ms;
};

struct delivery {
	int64_t id;
	enum delivery_kind kind;
	char event_id[ID_MAX];
	char merchant_id[ID_MAX];
	char endpoint_id[ID_MAX]; /* "" for an e-mail */
	enum delivery_state state;
	int attempts;
	int64_t created_ms, next_ms, done_ms;
	int last_status;                     /* HTTP or SMTP status of the last attempt, 0: none */
	char last_error[WEBHOOK_ERROR_MAX];  /* "" when it had none */
};

struct delivery_attempt {
	int64_t delivery_id;
	int n; /* 1, 2, ... */
	int64_t started_ms;
	int status;          /* HTTP (or SMTP) status, 0 when no answer came */
	int64_t latency_ms;
	char error[WEBHOOK_ERROR_MAX];
};

/* The retry policy (config webhooks.*). */
struct webhook_policy {
	int64_t backoff_first_ms; /* the wait after the first failure (default 30 s) */
	int64_t backoff_max_ms;   /* the longest wait (default 1 h) */
	int64_t max_age_ms;       /* give up on an event older than this (default 3 days) */
	int disable_after_failures;  /* an endpoint failing this many times in a row ... (default 20) */
	int64_t disable_after_ms;    /* ... for at least this long is disabled (default 1 day) */
	int64_t retention_ms;        /* finished deliveries are kept this long (default 30 days) */
};

void webhook_endpoint_clear(struct webhook_endpoint *w);
/* A new signing secret: "whsec_" + 32 random base-62 characters. */
void webhook_new_secret(char out[WEBHOOK_SECRET_MAX + 1]);
void webhook_policy_default(struct webhook_policy *p);

/* True when `type` is an event type payd emits ("payment_intent.succeeded"). */
bool webhook_type_known(const char *type);
size_t webhook_type_count(void);
const char *webhook_type_at(size_t i);
/* True when an endpoint with these enabled events (a JSON array text)
 * wants `type`. */
bool webhook_wants(const char *enabled_events_json, const char *type);

/* When the next attempt of a delivery that has failed `attempts` times
 * (>= 1) is due: first * 2^(attempts-1), at most max, with jitter taking
 * away up to a quarter (random_u64 is a fresh random number). */
int64_t webhook_backoff_ms(const struct webhook_policy *p, int attempts, uint64_t random_u64);
/* Whether an attempt status counts as delivered (2xx). */
bool webhook_status_ok(int status);
/* Whether an endpoint failing as recorded in w should now be disabled. */
bool webhook_should_disable(const struct webhook_policy *p, const struct webhook_endpoint *w,
			    int64_t now_ms);

const char *webhook_status_name(enum webhook_status s);
const char *delivery_state_name(enum delivery_state s);
const char *delivery_kind_name(enum delivery_kind k);

#endif
