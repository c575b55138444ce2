/* engine/resolver: attempts whose outcome is unknown (a timeout, a lost
 * answer, a payd that stopped mid-call) are asked about, never resent
 * (promises 5 and 6).  Each waits in a small in-memory list with the time
 * of its next query; queries back off exponentially (first after
 * resolve_first_ms, doubling, at most a minute apart) until the channel
 * answers for sure.  At start-up every attempt left in flight is queued
 * for an immediate query, and every capture or void left in flight is
 * sent again under the same reference. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/catalog.h"
#include "engine/internal.h"

static int64_t backoff_ms(const struct engine *e, int checks)
{
	int64_t delay = e->resolve_first_ms;
	for (int i = 0; i < checks && delay < ENGINE_RESOLVE_MAX_BACKOFF_MS; i++)
		delay *= 2;
	return delay < ENGINE_RESOLVE_MAX_BACKOFF_MS ? delay : ENGINE_RESOLVE_MAX_BACKOFF_MS;
}

static void track_at(struct engine *e, const char *attempt_id, int checks, int64_t when_ms)
{
	for (size_t i = 0; i < e->unknown_count; i++)
		if (strcmp(e->unknown[i].attempt_id, attempt_id) == 0) {
			e->unknown[i].checks = checks;
			e->unknown[i].next_ms = when_ms;
			return;
		}
	if (e->unknown_count == e->unknown_cap) {
		size_t cap = e->unknown_cap ? e->unknown_cap * 2 : 64;
		struct unknown_attempt *grown = realloc(e->unknown, cap * sizeof *grown);
		if (!grown)
			abort();
		e->unknown = grown;
		e->unknown_cap = cap;
	}
	struct unknown_attempt *u = &e->unknown[e->unknown_count++];
	snprintf(u->attempt_id, sizeof u->attempt_id, "%s", attempt_id);
	u->checks = checks;
	u->next_ms = when_ms;
}

int64_t resolver_track(struct engine *e, const char *attempt_id, int checks)
{
	int64_t now = e->now_ms ? e->now_ms : clock_now_ms(e->clock);
	int64_t when = now + backoff_ms(e, checks);
	track_at(e, attempt_id, checks, when);
	return when;
}

/* Asks the channel about one attempt; the answer joins the next batch. */
static void query(struct engine *e, const struct unknown_attempt *u)
{
	struct payment_attempt a;
	int rc = e->store->ops->attempt_get(e->store, u->attempt_id, &a);
	if (rc) {
		log_msg(LOG_ERROR, "resolver_load_failed", "attempt %s: code %d", u->attempt_id, rc);
		resolver_track(e, u->attempt_id, u->checks + 1);
		return;
	}
	struct channel_request req = {.op = CH_OP_QUERY, .amount = a.amount, .capture = a.capture,
				      .method = &a.method};
	memcpy(req.reference, a.id, sizeof req.reference);
	memcpy(req.payment_reference, a.id, sizeof req.payment_reference);
	memcpy(req.currency, a.currency, sizeof req.currency);
	engine_call_now(e, a.merchant_id, a.intent_id, &req);
}

int64_t resolver_due(struct engine *e)
{
	int64_t now = clock_now_ms(e->clock), next = -1;
	for (size_t i = 0; i < e->unknown_count;) {
		struct unknown_attempt u = e->unknown[i];
		if (u.next_ms <= now) {
			e->unknown[i] = e->unknown[--e->unknown_count];
			query(e, &u);
			continue;
		}
		if (next < 0 || u.next_ms - now < next)
			next = u.next_ms - now;
		i++;
	}
	return next;
}

struct recover_ctx {
	struct engine *e;
	long count;
};

static void recover_one(void *ctx, const void *record)
{
	struct recover_ctx *r = ctx;
	const struct payment_attempt *a = record;
	track_at(r->e, a->id, a->checks, 0); /* due at once */
	r->count++;
}

/* A capture or void that was out: sent again with the same reference,
 * which the channel treats as the same request. */
static void recover_intent(void *ctx, const void *record)
{
	struct recover_ctx *r = ctx;
	const struct payment_intent *pi = record;
	struct payment_attempt a;
	if (r->e->store->ops->attempt_get(r->e->store, pi->latest_attempt_id, &a) != CAT_OK)
		return;
	struct channel_request req = {
		.op = pi->capture_requested > 0 ? CH_OP_CAPTURE : CH_OP_VOID,
		.amount = pi->capture_requested > 0 ? pi->capture_requested : a.amount,
		.method = &a.method,
	};
	memcpy(req.reference, a.id, sizeof req.reference);
	memcpy(req.payment_reference, a.id, sizeof req.payment_reference);
	memcpy(req.currency, a.currency, sizeof req.currency);
	engine_call_now(r->e, pi->merchant_id, pi->id, &req);
	r->count++;
}

int resolver_recover(struct engine *e)
{
	struct recover_ctx ctx = {e, 0};
	int rc = e->store->ops->intent_in_flight(e->store, recover_intent, &ctx);
	if (rc == CAT_OK)
		rc = e->store->ops->attempt_unsettled(e->store, recover_one, &ctx);
	if (rc == CAT_OK && ctx.count)
		log_msg(LOG_WARN, "resolver_recovering", "%ld attempts were in flight: querying them",
			ctx.count);
	return rc;
}
