/* route/route: which channels a payment may go to, in which order, and
 * which of them are healthy enough to try.
 *
 * config.c reads the JSON configuration (`payd serve --config FILE`) into
 * a route_config, refusing a bad one with a message that names the field.
 * route.c keeps, per channel, a sliding window of outcomes and latencies
 * and a circuit breaker (closed → open when the failure rate passes the
 * threshold with enough volume → half-open after a cool-down, when health
 * probes decide → closed again after enough probe successes), and plans a
 * payment's channels: eligible by method, currency and amount, healthy,
 * in priority order; a payout's bank rails the same way (route_plan_payout).
 *
 * The route is shared: the engine records outcomes and plans, the
 * dispatcher's thread reports probes, HTTP threads read snapshots; a mutex
 * inside guards it.  Time is passed in (ms), never read here. */
#ifndef PAYD_ROUTE_ROUTE_H
#define PAYD_ROUTE_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "channel/channel.h"

#define ROUTE_CHANNELS_MAX 16
#define ROUTE_WINDOW_BUCKETS 10 /* the sliding window, in buckets of window_ms / 10 */

struct route_breaker_config {
	int window_ms;       /* sliding window of outcomes (default 30000) */
	int min_volume;      /* fewer calls than this in the window never open it (default 20) */
	int failure_pct;     /* open at this failure rate, 1..100 (default 50) */
	int cooldown_ms;     /* open → half-open after this (default 5000) */
	int probe_successes; /* half-open → closed after this many probe successes in a row (default 2) */
	int probe_interval_ms; /* active health probes of every channel (default 2000) */
};

/* How payouts are tracked (the engine's payout tick). */
struct route_payout_config {
	int poll_first_ms;    /* first poll of a payout with no news (default 5000) */
	int poll_max_ms;      /* the longest wait between polls (default 600000) */
	int arrival_grace_ms; /* after the expected arrival, before overdue (default 3600000) */
	int escalate_ms;      /* an overdue payout is escalated again this often (default 3600000) */
	int return_window_ms; /* a paid payout is watched for a return this long (default 7 days) */
};

/* How webhooks are delivered (notify/): timeouts, concurrency, the retry
 * schedule, when a failing endpoint is disabled, and whether endpoints
 * may be on loopback or private networks (link-local and cloud metadata
 * addresses are refused whatever this says). */
struct route_webhook_config {
	int timeout_ms;             /* one attempt (default 10000) */
	int max_in_flight;          /* attempts under way at once (default 64) */
	int per_endpoint;           /* ... to one endpoint (default 4) */
	int backoff_first_ms;       /* the wait after a first failure (default 30000) */
	int backoff_max_ms;         /* the longest wait (default 3600000) */
	int max_age_ms;             /* retried until the event is this old (default 3 days) */
	int disable_after_failures; /* failures in a row that disable an endpoint (default 100) */
	int disable_after_ms;       /* ... spread over at least this long (default 3 days) */
	int response_limit;         /* bytes of an answer read (default 4096) */
	int retention_days;         /* finished deliveries are kept (default 30) */
	bool allow_private_networks;
};

/* Payer e-mails: off unless smtp_url is set. */
#define ROUTE_SMTP_URL_MAX 512
#define ROUTE_MAIL_FROM_MAX 255
struct route_notify_config {
	char smtp_url[ROUTE_SMTP_URL_MAX]; /* smtp:// or smtps://host:port; "" = off */
	char from[ROUTE_MAIL_FROM_MAX];
	int timeout_ms;                    /* one SMTP conversation (default 10000) */
};

struct route_config {
	struct channel_config channels[ROUTE_CHANNELS_MAX];
	int channel_count;
	int max_attempts;    /* channel attempts per confirmation, 1..10 (default 3) */
	int deadline_ms;     /* no new failover attempt after this since the confirmation (default 30000) */
	struct route_breaker_config breaker;
	struct route_payout_config payouts;
	struct route_webhook_config webhooks;
	struct route_notify_config notify;
};

enum route_breaker_state { ROUTE_CLOSED, ROUTE_OPEN, ROUTE_HALF_OPEN };

/* The built-in configuration when no file is given: the sandbox alone. */
void route_config_default(struct route_config *out);
/* Parses JSON text / a file.  0, or -1 with err naming the field
 * ("channels[1].timeout_ms: must be between 100 and 120000"). */
int route_config_parse(const char *json_text, struct route_config *out, char *err, size_t err_cap);
int route_config_load(const char *path, struct route_config *out, char *err, size_t err_cap);

struct route;

/* The channels are borrowed (the caller keeps and destroys them);
 * channels[i] is configured by cfg->channels[i]. */
struct route *route_new(const struct route_config *cfg, struct channel *const *channels);
void route_free(struct route *r);

const struct route_config *route_config_of(const struct route *r);
int route_channel_count(const struct route *r);
struct channel *route_channel(const struct route *r, int i);
struct channel *route_find(const struct route *r, const char *name);

/* The channels that may take this payment, best first: those that accept
 * the method type, currency and amount, whose breaker is closed, in
 * priority order (ties: configuration order).  Returns how many (<= cap). */
int route_plan(struct route *r, enum pm_type type, const char *currency, int64_t amount,
	       int64_t now_ms, struct channel **out, int cap);
/* The bank payout rails (kind bank) that may take this payout, best
 * first: those that take the currency and amount, whose breaker is
 * closed, in priority order (ties: configuration order).  route_plan
 * never returns a payout rail, and this returns nothing else.  Returns
 * how many (<= cap). */
int route_plan_payout(struct route *r, const char *currency, int64_t amount, int64_t now_ms,
		      struct channel **out, int cap);
/* Whether any configured channel (healthy or not) takes this method
 * type: the methods a merchant "has enabled" for suggestions. */
bool route_accepts_type(const struct route *r, enum pm_type type);

/* One call's outcome: `ok` is false when the channel itself failed
 * (unavailable, timeout, processing error), true when it answered for
 * sure (approved or a decline of the payer's). */
void route_record(struct route *r, const char *channel, bool ok, int64_t latency_ms,
		  int64_t now_ms);
/* Channels whose active health probe is due (network channels only);
 * marks them as probed now.  Returns how many (<= cap). */
int route_probes_due(struct route *r, int64_t now_ms, struct channel **out, int cap);
/* A probe's answer: in half-open, enough successes close the breaker and
 * a failure opens it again for another cool-down. */
void route_probe_result(struct route *r, const char *channel, bool ok, int64_t latency_ms,
			int64_t now_ms);
/* The ms until the next probe is due (-1: none). */
int64_t route_next_probe_ms(struct route *r, int64_t now_ms);

/* For GET /v1/channels: a JSON array, one object per channel (name, kind,
 * url, methods, currencies, min/max amount, priority, timeout_ms, state
 * "healthy"/"unhealthy", breaker "closed"/"open"/"half_open", window
 * counts, success_rate, latency_ms p50/p99; never the secret). */
json_t *route_snapshot(struct route *r, int64_t now_ms);

#endif
