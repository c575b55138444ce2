/* route/health: one channel's health, without locks or clocks (route.c
 * holds the mutex and passes `now`).
 *
 * The window is ROUTE_WINDOW_BUCKETS buckets of window_ms / 10 each, a
 * ring indexed by now_ms / width: a bucket last written more than nine
 * widths ago is stale and counts for nothing (it is reset when reused), so
 * the window covers the current partial bucket plus the nine before it.
 * Each bucket keeps calls, failures and a latency histogram whose bounds
 * are fixed (1-2-5 spaced, 1 ms ... 60 s): percentiles are the upper bound
 * of the bucket holding the nearest-rank sample, so a p99 of 50 means
 * "between 20 and 50 ms"; a latency above 60 s counts as 60000.
 *
 * The breaker: CLOSED opens when the window holds at least min_volume
 * calls and failures * 100 >= failure_pct * calls (checked on every
 * outcome recorded while closed).  OPEN turns HALF_OPEN when cooldown_ms
 * has passed (noticed lazily).  In HALF_OPEN only probe answers count:
 * probe_successes in a row close it (window cleared), one failure opens it
 * again with a new cool-down. */
#include <string.h>

#include "route/health.h"

static const int64_t latency_bounds_ms[ROUTE_LATENCY_BUCKETS] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000,
};

static int64_t bucket_width(const struct route_breaker_config *b)
{
	int64_t w = b->window_ms / ROUTE_WINDOW_BUCKETS;
	return w > 0 ? w : 1;
}

static int64_t epoch_of(const struct route_breaker_config *b, int64_t now_ms)
{
	int64_t w = bucket_width(b);
	int64_t e = now_ms / w;
	return now_ms % w < 0 ? e - 1 : e;
}

static int latency_index(int64_t latency_ms)
{
	for (int i = 0; i < ROUTE_LATENCY_BUCKETS; i++)
		if (latency_ms <= latency_bounds_ms[i])
			return i;
	return ROUTE_LATENCY_BUCKETS - 1;
}

static void clear_window(struct route_health *h)
{
	memset(h->buckets, 0, sizeof h->buckets);
	for (int i = 0; i < ROUTE_WINDOW_BUCKETS; i++)
		h->buckets[i].epoch = INT64_MIN;
}

void route_health_init(struct route_health *h, bool can_open)
{
	memset(h, 0, sizeof *h);
	clear_window(h);
	h->can_open = can_open;
	h->state = ROUTE_CLOSED;
}

static void open_breaker(struct route_health *h, int64_t now_ms)
{
	h->state = ROUTE_OPEN;
	h->opened_at_ms = now_ms;
	h->probe_streak = 0;
}

static bool should_open(const struct route_health *h, const struct route_breaker_config *b,
			int64_t now_ms)
{
	if (!h->can_open) /* the sandbox: recorded on every payment, never opens */
		return false;
	struct route_window w;
	route_health_window(h, b, now_ms, &w);
	return w.calls >= b->min_volume &&
	       w.failures * 100 >= (int64_t)b->failure_pct * w.calls;
}

void route_health_advance(struct route_health *h, const struct route_breaker_config *b,
			  int64_t now_ms)
{
	if (h->state == ROUTE_OPEN && now_ms - h->opened_at_ms >= b->cooldown_ms) {
		h->state = ROUTE_HALF_OPEN;
		h->probe_streak = 0;
	}
}

static void add_outcome(struct route_health *h, const struct route_breaker_config *b, bool ok,
			int64_t latency_ms, int64_t now_ms)
{
	int64_t e = epoch_of(b, now_ms);
	struct route_bucket *k = &h->buckets[((e % ROUTE_WINDOW_BUCKETS) + ROUTE_WINDOW_BUCKETS) %
					     ROUTE_WINDOW_BUCKETS];
	if (k->epoch != e) {
		memset(k, 0, sizeof *k);
		k->epoch = e;
	}
	k->calls++;
	k->failures += !ok;
	k->latency[latency_index(latency_ms)]++;
}

void route_health_record(struct route_health *h, const struct route_breaker_config *b, bool ok,
			 int64_t latency_ms, int64_t now_ms)
{
	route_health_advance(h, b, now_ms);
	add_outcome(h, b, ok, latency_ms, now_ms);
	if (h->state == ROUTE_CLOSED && should_open(h, b, now_ms))
		open_breaker(h, now_ms);
}

/* In HALF_OPEN the probes decide; in CLOSED a probe is one more outcome;
 * in OPEN (a probe sent before it opened) it changes nothing. */
void route_health_probe_result(struct route_health *h, const struct route_breaker_config *b,
			       bool ok, int64_t latency_ms, int64_t now_ms)
{
	route_health_advance(h, b, now_ms);
	h->probe_in_flight = false;
	h->probe_answered = true;
	h->probe_ok = ok;
	h->probe_answered_ms = now_ms;
	if (h->state == ROUTE_CLOSED) {
		route_health_record(h, b, ok, latency_ms, now_ms);
	} else if (h->state == ROUTE_HALF_OPEN && !ok) {
		open_breaker(h, now_ms);
	} else if (h->state == ROUTE_HALF_OPEN && ++h->probe_streak >= b->probe_successes) {
		h->state = ROUTE_CLOSED;
		h->probe_streak = 0;
		clear_window(h);
	}
}

/* When the next probe may go: CLOSED every probe_interval_ms; OPEN not
 * before the cool-down ends; HALF_OPEN at once when none was sent since
 * it turned half-open, then every probe_interval_ms.  A probe in flight
 * holds the next one back until it is answered or lost (unanswered for the
 * channel's timeout plus one interval). */
int64_t route_health_probe_wait(struct route_health *h, const struct route_breaker_config *b,
				int timeout_ms, int64_t now_ms)
{
	route_health_advance(h, b, now_ms);
	int64_t next = h->probe_sent_ms + b->probe_interval_ms;
	int64_t half_open_since = h->opened_at_ms + b->cooldown_ms;
	if (h->state == ROUTE_OPEN)
		next = half_open_since;
	else if (!h->probe_sent ||
		 (h->state == ROUTE_HALF_OPEN && h->probe_sent_ms < half_open_since))
		next = now_ms;
	if (h->probe_in_flight) {
		int64_t lost = h->probe_sent_ms + timeout_ms + b->probe_interval_ms;
		next = next > lost ? next : lost;
	}
	return next > now_ms ? next - now_ms : 0;
}

void route_health_probe_sent(struct route_health *h, int64_t now_ms)
{
	h->probe_sent = true;
	h->probe_in_flight = true;
	h->probe_sent_ms = now_ms;
}

void route_health_window(const struct route_health *h, const struct route_breaker_config *b,
			 int64_t now_ms, struct route_window *out)
{
	int64_t e = epoch_of(b, now_ms);
	memset(out, 0, sizeof *out);
	for (int i = 0; i < ROUTE_WINDOW_BUCKETS; i++) {
		const struct route_bucket *k = &h->buckets[i];
		if (k->epoch > e || k->epoch <= e - ROUTE_WINDOW_BUCKETS)
			continue;
		out->calls += k->calls;
		out->failures += k->failures;
		for (int j = 0; j < ROUTE_LATENCY_BUCKETS; j++)
			out->latency[j] += k->latency[j];
	}
}

/* Nearest rank: the smallest bound with at least ceil(p% of calls) samples
 * at or below it. */
int64_t route_window_percentile(const struct route_window *w, int p)
{
	int64_t total = 0;
	for (int j = 0; j < ROUTE_LATENCY_BUCKETS; j++)
		total += w->latency[j];
	if (total == 0)
		return -1;
	int64_t rank = (total * p + 99) / 100;
	int64_t seen = 0;
	for (int j = 0; j < ROUTE_LATENCY_BUCKETS; j++) {
		seen += w->latency[j];
		if (seen >= rank && seen > 0)
			return latency_bounds_ms[j];
	}
	return latency_bounds_ms[ROUTE_LATENCY_BUCKETS - 1];
}
