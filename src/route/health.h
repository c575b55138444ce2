/* route/health (internal to route/): one channel's sliding window of
 * outcomes and latencies, its circuit breaker and its probe schedule.
 * Plain data and pure functions of (state, settings, now): route.c holds
 * the lock and the clock-free `now`; nothing here locks or reads a clock.
 * Semantics in docs/CONFIG.md ("Health and the circuit breaker"). */
#ifndef PAYD_ROUTE_HEALTH_H
#define PAYD_ROUTE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "route/route.h"

#define ROUTE_LATENCY_BUCKETS 16 /* histogram bounds: 1 ms ... 60 s, 1-2-5 spaced */

struct route_bucket {
	int64_t epoch; /* now_ms / bucket width when last written */
	uint32_t calls, failures;
	uint32_t latency[ROUTE_LATENCY_BUCKETS];
};

/* The window summed over its live buckets. */
struct route_window {
	int64_t calls, failures;
	int64_t latency[ROUTE_LATENCY_BUCKETS];
};

struct route_health {
	struct route_bucket buckets[ROUTE_WINDOW_BUCKETS];
	bool can_open;   /* false for in-process channels: never probed, never opened */
	enum route_breaker_state state;
	int64_t opened_at_ms;      /* OPEN / HALF_OPEN: when it (last) opened */
	int probe_streak;          /* HALF_OPEN: probe successes in a row */
	bool probe_sent, probe_in_flight;
	int64_t probe_sent_ms;
	bool probe_answered, probe_ok;
	int64_t probe_answered_ms;
};

void route_health_init(struct route_health *h, bool can_open);
/* OPEN → HALF_OPEN once the cool-down has passed (lazily, at any call). */
void route_health_advance(struct route_health *h, const struct route_breaker_config *b,
			  int64_t now_ms);
void route_health_record(struct route_health *h, const struct route_breaker_config *b, bool ok,
			 int64_t latency_ms, int64_t now_ms);
void route_health_probe_result(struct route_health *h, const struct route_breaker_config *b,
			       bool ok, int64_t latency_ms, int64_t now_ms);
/* The ms until a probe is due (0: now).  timeout_ms: the channel's, for
 * how long a probe may stay unanswered before it counts as lost. */
int64_t route_health_probe_wait(struct route_health *h, const struct route_breaker_config *b,
				int timeout_ms, int64_t now_ms);
void route_health_probe_sent(struct route_health *h, int64_t now_ms);

void route_health_window(const struct route_health *h, const struct route_breaker_config *b,
			 int64_t now_ms, struct route_window *out);
/* The p-th percentile (1..100) of the window's latencies as the upper
 * bound of its histogram bucket, in ms; -1 when the window is empty. */
int64_t route_window_percentile(const struct route_window *w, int p);

#endif
