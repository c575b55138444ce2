/* engine/resolver: operations whose outcome is unknown (a timeout, a lost
 * answer, a payd that stopped mid-call) are asked about, never resent
 * blind (promises 5 and 6).  An attempt (its authorization or
 * verification, or the capture or void of an authorized one) is asked
 * about with CH_OP_QUERY, a refund with CH_OP_QUERY_REFUND.  Each waits in
 * a small in-memory list with the time of its next query; queries back
 * off exponentially (first after resolve_first_ms, doubling, at most a
 * minute apart) until the channel answers for sure.  At start-up, every
 * attempt left in flight, every intent whose capture or void was out and
 * every pending refund is queued for an immediate query.
 *
 * What a command tracks while its batch runs is kept aside and joins the
 * list only when the batch commits: an undone run (its attempt or refund
 * never written) must leave nothing to ask about.  An id whose record is
 * gone is dropped, never asked about again. */
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

/* Appends an entry to a growing list (the tracked ids, or those a
 * running batch has tracked so far). */
static void push(struct unknown_attempt **list, size_t *count, size_t *cap,
		 const char *merchant_id, const char *id, bool refund, int checks, int64_t when_ms)
{
	if (*count == *cap) {
		size_t bigger = *cap ? *cap * 2 : 64;
		struct unknown_attempt *grown = realloc(*list, bigger * sizeof *grown);
		if (!grown)
			abort();
		*list = grown;
		*cap = bigger;
	}
	struct unknown_attempt *u = &(*list)[(*count)++];
	snprintf(u->attempt_id, sizeof u->attempt_id, "%s", id);
	snprintf(u->merchant_id, sizeof u->merchant_id, "%s", merchant_id ? merchant_id : "");
	u->refund = refund;
	u->checks = checks;
	u->next_ms = when_ms;
}

static void track_at(struct engine *e, const char *merchant_id, const char *id, bool refund,
		     int checks, int64_t when_ms)
{
	for (size_t i = 0; i < e->unknown_count; i++)
		if (strcmp(e->unknown[i].attempt_id, id) == 0) {
			e->unknown[i].checks = checks;
			e->unknown[i].next_ms = when_ms;
			return;
		}
	push(&e->unknown, &e->unknown_count, &e->unknown_cap, merchant_id, id, refund, checks,
	     when_ms);
}

static int64_t track(struct engine *e, const char *merchant_id, const char *id, bool refund,
		     int checks, int64_t now_ms)
{
	int64_t when = now_ms + backoff_ms(e, checks);
	if (e->in_run) /* kept aside until the batch commits */
		push(&e->deferred, &e->deferred_count, &e->deferred_cap, merchant_id, id, refund,
		     checks, when);
	else
		track_at(e, merchant_id, id, refund, checks, when);
	return when;
}

/* From a command or a result: the batch's time. */
static int64_t batch_now(const struct engine *e)
{
	return e->now_ms ? e->now_ms : clock_now_ms(e->clock);
}

int64_t resolver_track(struct engine *e, const char *attempt_id, int checks)
{
	return track(e, NULL, attempt_id, false, checks, batch_now(e));
}

int64_t resolver_track_refund(struct engine *e, const char *merchant_id, const char *refund_id,
			      int checks)
{
	return track(e, merchant_id, refund_id, true, checks, batch_now(e));
}

void resolver_run_done(struct engine *e, bool committed)
{
	for (size_t i = 0; committed && i < e->deferred_count; i++) {
		const struct unknown_attempt *u = &e->deferred[i];
		track_at(e, u->merchant_id, u->attempt_id, u->refund, u->checks, u->next_ms);
	}
	e->deferred_count = 0;
}

static void request_for(struct channel_request *req, enum channel_op op, const char *reference,
			const char *payment_reference, int64_t amount, const char *currency,
			const struct payment_method *method)
{
	memset(req, 0, sizeof *req);
	req->op = op;
	snprintf(req->reference, sizeof req->reference, "%s", reference);
	snprintf(req->payment_reference, sizeof req->payment_reference, "%s", payment_reference);
	snprintf(req->currency, sizeof req->currency, "%s", currency);
	req->amount = amount;
	req->method = method;
}

/* Asks the channel about one attempt or refund; the answer joins a later
 * batch.  One that cannot be read now is asked about later; one whose
 * record does not exist is forgotten. */
static void query(struct engine *e, const struct unknown_attempt *u, int64_t now_ms)
{
	struct channel_request req;
	int rc;
	if (u->refund) {
		struct refund r = {0};
		struct payment_attempt charge;
		rc = e->store->ops->refund_get(e->store, u->merchant_id, u->attempt_id, &r);
		if (rc == CAT_OK)
			rc = e->store->ops->attempt_get(e->store, r.attempt_id, &charge);
		if (rc == CAT_OK) {
			request_for(&req, CH_OP_QUERY_REFUND, r.id, r.attempt_id, r.amount, r.currency,
				    &charge.method);
			engine_call_now(e, r.channel, r.merchant_id, r.id, &req, u->checks);
		}
		refund_clear(&r);
	} else {
		struct payment_attempt a;
		rc = e->store->ops->attempt_get(e->store, u->attempt_id, &a);
		if (rc == CAT_OK) {
			request_for(&req, CH_OP_QUERY, a.id, a.id, a.amount, a.currency, &a.method);
			req.capture = a.capture;
			engine_call_now(e, a.channel, a.merchant_id, a.intent_id, &req, u->checks);
		}
	}
	if (rc == CAT_NO_SUCH_OBJECT) {
		log_msg(LOG_ERROR, "resolver_no_record", "%s: no such record; no longer asked about",
			u->attempt_id);
	} else if (rc) {
		log_msg(LOG_ERROR, "resolver_load_failed", "%s: code %d", u->attempt_id, rc);
		track(e, u->merchant_id, u->attempt_id, u->refund, u->checks + 1, now_ms);
	}
}

#define RESOLVER_DUE_MAX 256 /* queries sent per pass; the rest wait for the next */

int64_t resolver_due(struct engine *e)
{
	int64_t now = clock_now_ms(e->clock), next = -1;
	struct unknown_attempt due[RESOLVER_DUE_MAX];
	int n = 0;
	/* Take the due ones out first: a query that cannot be sent tracks
	 * its id again, and must not be met again in this same pass. */
	for (size_t i = 0; i < e->unknown_count;) {
		struct unknown_attempt *u = &e->unknown[i];
		if (u->next_ms <= now && n < RESOLVER_DUE_MAX) {
			due[n++] = *u;
			*u = e->unknown[--e->unknown_count];
			continue;
		}
		int64_t wait = u->next_ms > now ? u->next_ms - now : 0;
		if (next < 0 || wait < next)
			next = wait;
		i++;
	}
	for (int i = 0; i < n; i++)
		query(e, &due[i], now);
	return n == RESOLVER_DUE_MAX ? 0 : next;
}

struct recover_ctx {
	struct engine *e;
	long count;
};

static void recover_attempt(void *ctx, const void *record)
{
	struct recover_ctx *r = ctx;
	const struct payment_attempt *a = record;
	track_at(r->e, NULL, a->id, false, a->checks, 0); /* due at once */
	r->count++;
}

/* A capture or void that was out: its attempt is asked about first (it
 * is sent again only once the channel says it was not done). */
static void recover_intent(void *ctx, const void *record)
{
	struct recover_ctx *r = ctx;
	const struct payment_intent *pi = record;
	track_at(r->e, NULL, pi->latest_attempt_id, false, 0, 0);
	r->count++;
}

static void recover_refund(void *ctx, const void *record)
{
	struct recover_ctx *r = ctx;
	const struct refund *refund = record;
	track_at(r->e, refund->merchant_id, refund->id, true, 0, 0);
	r->count++;
}

int resolver_recover(struct engine *e)
{
	struct recover_ctx ctx = {e, 0};
	int rc = e->store->ops->intent_in_flight(e->store, recover_intent, &ctx);
	if (rc == CAT_OK)
		rc = e->store->ops->attempt_unsettled(e->store, recover_attempt, &ctx);
	if (rc == CAT_OK)
		rc = e->store->ops->refund_pending(e->store, recover_refund, &ctx);
	if (rc == CAT_OK && ctx.count)
		log_msg(LOG_WARN, "resolver_recovering",
			"%ld operations were in flight when payd stopped: asking their channels",
			ctx.count);
	return rc;
}
