/* tests/unit/test_webhooks: core/webhook's rules (event types, matching,
 * the retry schedule and when an endpoint is disabled) and the SQLite
 * outbox (store/store_sqlite_webhooks.c, schema/0010_webhooks.sql): an
 * event fans out, in its own transaction, to one delivery per enabled
 * endpoint that wants its type (once, even when "*" and the type are both
 * listed); disabled and deleted endpoints get nothing; an event rolled
 * back leaves no delivery; the due list skips what the sender is busy
 * with; attempts are kept in order and a repeated attempt number is
 * refused; endpoints round-trip with their sealed secrets; finished
 * deliveries expire with their attempts, pending ones never. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/webhook.h"
#include "store/store.h"
#include "store_testkit.h"
#include "tmpdb.h"

#define NOW_MS ((int64_t)1767225600000) /* 2026-01-01 */

/* ---- core rules ------------------------------------------------------------ */

Test(webhook_rules, known_types_and_matching)
{
	cr_assert(webhook_type_known("payment_intent.succeeded"));
	cr_assert(webhook_type_known("payout.overdue"));
	cr_assert(!webhook_type_known("payment_intent.exploded"));
	cr_assert(!webhook_type_known("*"));
	cr_assert(!webhook_type_known(NULL));
	cr_assert(webhook_wants("[\"*\"]", "refund.failed"));
	cr_assert(webhook_wants("[\"refund.failed\",\"payout.paid\"]", "payout.paid"));
	cr_assert(!webhook_wants("[\"refund.failed\"]", "payout.paid"));
	cr_assert(!webhook_wants("not json", "payout.paid"));
	cr_assert(!webhook_wants(NULL, "payout.paid"));
	for (size_t i = 0; i < webhook_type_count(); i++)
		cr_assert(webhook_type_known(webhook_type_at(i)));
	cr_assert_null(webhook_type_at(webhook_type_count()));
}

Test(webhook_rules, backoff_doubles_with_jitter_and_caps)
{
	struct webhook_policy p;
	webhook_policy_default(&p);
	p.backoff_first_ms = 1000;
	p.backoff_max_ms = 60000;
	/* No jitter (random 0): exact doubling up to the cap. */
	cr_assert_eq(webhook_backoff_ms(&p, 1, 0), 1000);
	cr_assert_eq(webhook_backoff_ms(&p, 2, 0), 2000);
	cr_assert_eq(webhook_backoff_ms(&p, 6, 0), 32000);
	cr_assert_eq(webhook_backoff_ms(&p, 7, 0), 60000);
	cr_assert_eq(webhook_backoff_ms(&p, 1000, 0), 60000, "huge attempt counts do not overflow");
	/* Jitter takes away at most a quarter. */
	for (uint64_t r = 0; r < 5000; r += 7) {
		int64_t w = webhook_backoff_ms(&p, 3, r * 2654435761u);
		cr_assert(w >= 3000 && w <= 4000, "attempt 3 waits 3..4 s, got %lld", (long long)w);
	}
	p.backoff_first_ms = 0;
	cr_assert(webhook_backoff_ms(&p, 1, 0) >= 1, "never zero");
}

Test(webhook_rules, disabled_only_after_failures_over_time)
{
	struct webhook_policy p;
	webhook_policy_default(&p);
	p.disable_after_failures = 5;
	p.disable_after_ms = 1000;
	struct webhook_endpoint w = {.status = WEBHOOK_ENABLED, .failures = 5,
				     .failing_since_ms = NOW_MS};
	cr_assert(!webhook_should_disable(&p, &w, NOW_MS + 999), "not long enough");
	cr_assert(webhook_should_disable(&p, &w, NOW_MS + 1000));
	w.failures = 4;
	cr_assert(!webhook_should_disable(&p, &w, NOW_MS + 5000), "not enough failures");
	w.failures = 5;
	w.status = WEBHOOK_DISABLED;
	cr_assert(!webhook_should_disable(&p, &w, NOW_MS + 5000), "already disabled");
	cr_assert(webhook_status_ok(200) && webhook_status_ok(299));
	cr_assert(!webhook_status_ok(199) && !webhook_status_ok(300) && !webhook_status_ok(0));
}

/* ---- the SQLite outbox ----------------------------------------------------- */

static struct tmpdb tdb;

static void setup(void)
{
	tmpdb_open(&tdb, "storewh");
}

static void teardown(void)
{
	tmpdb_remove(&tdb);
}

TestSuite(store_webhooks, .init = setup, .fini = teardown);

static struct webhook_endpoint make_endpoint(const char *merchant, int n, const char *events)
{
	struct webhook_endpoint w = {.status = WEBHOOK_ENABLED, .created_ms = NOW_MS + n};
	stk_mkid(w.id, "we", n);
	snprintf(w.merchant_id, sizeof w.merchant_id, "%s", merchant);
	w.url = strdup("https://hooks.example.com/payd");
	w.enabled_events_json = strdup(events);
	w.description = strdup("orders");
	memset(w.secret_sealed, 0xab, 40);
	w.secret_sealed_len = 40;
	return w;
}

static void insert_event(struct store *s, const char *merchant, int n, const char *type)
{
	struct store_event e = {.created_ms = NOW_MS + n, .data_json = (char *)"{}"};
	stk_mkid(e.id, "evt", n);
	snprintf(e.merchant_id, sizeof e.merchant_id, "%s", merchant);
	snprintf(e.type, sizeof e.type, "%s", type);
	snprintf(e.object_id, sizeof e.object_id, "pi_%d", n);
	cr_assert_eq(s->ops->event_insert(s, &e), CAT_OK);
}

struct due_seen {
	int n;
	struct delivery d[64];
};

static void collect_delivery(void *ctx, const void *record)
{
	struct due_seen *seen = ctx;
	if (seen->n < 64)
		seen->d[seen->n++] = *(const struct delivery *)record;
}

static struct due_seen due(struct store *s, const char *busy, const char *full)
{
	struct due_seen seen = {0};
	cr_assert_eq(s->ops->delivery_due(s, NOW_MS + 1000000, 100, busy, full, collect_delivery,
					  &seen),
		     CAT_OK);
	return seen;
}

Test(store_webhooks, events_fan_out_to_the_endpoints_that_want_them)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct webhook_endpoint all = make_endpoint(STK_M1, 1, "[\"*\",\"payment_intent.succeeded\"]");
	struct webhook_endpoint refunds = make_endpoint(STK_M1, 2, "[\"refund.created\"]");
	struct webhook_endpoint other = make_endpoint(STK_M2, 3, "[\"*\"]");
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_insert(s, &all), CAT_OK);
	cr_assert_eq(s->ops->webhook_insert(s, &refunds), CAT_OK);
	cr_assert_eq(s->ops->webhook_insert(s, &other), CAT_OK);
	insert_event(s, STK_M1, 10, "payment_intent.succeeded");
	insert_event(s, STK_M1, 11, "refund.created");
	stk_commit(s);
	struct due_seen seen = due(s, NULL, NULL);
	cr_assert_eq(seen.n, 3, "one for evt 10 (\"*\" and its type: once), two for evt 11");
	int to_all = 0, to_refunds = 0;
	for (int i = 0; i < seen.n; i++) {
		cr_assert_eq(seen.d[i].kind, DELIVERY_WEBHOOK);
		cr_assert_eq(seen.d[i].state, DELIVERY_PENDING);
		cr_assert_str_eq(seen.d[i].merchant_id, STK_M1, "never another merchant's endpoint");
		to_all += strcmp(seen.d[i].endpoint_id, all.id) == 0;
		to_refunds += strcmp(seen.d[i].endpoint_id, refunds.id) == 0;
	}
	cr_assert_eq(to_all, 2);
	cr_assert_eq(to_refunds, 1);
	/* Busy ids and full endpoints are left out. */
	char busy[64];
	snprintf(busy, sizeof busy, "[%lld]", (long long)seen.d[0].id);
	cr_assert_eq(due(s, busy, NULL).n, 2);
	char full[64];
	snprintf(full, sizeof full, "[\"%s\"]", all.id);
	cr_assert_eq(due(s, NULL, full).n, 1);
	webhook_endpoint_clear(&all);
	webhook_endpoint_clear(&refunds);
	webhook_endpoint_clear(&other);
	store_close(s);
}

Test(store_webhooks, disabled_deleted_and_rolled_back_make_nothing)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct webhook_endpoint w = make_endpoint(STK_M1, 1, "[\"*\"]");
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_insert(s, &w), CAT_OK);
	stk_commit(s);
	stk_begin(s);
	insert_event(s, STK_M1, 5, "payout.paid");
	store_rollback(s);
	cr_assert_eq(due(s, NULL, NULL).n, 0, "an event undone leaves no delivery");
	w.status = WEBHOOK_DISABLED;
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_update(s, &w), CAT_OK);
	insert_event(s, STK_M1, 6, "payout.paid");
	stk_commit(s);
	cr_assert_eq(due(s, NULL, NULL).n, 0, "a disabled endpoint gets nothing");
	w.status = WEBHOOK_ENABLED;
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_update(s, &w), CAT_OK);
	insert_event(s, STK_M1, 7, "payout.paid");
	stk_commit(s);
	cr_assert_eq(due(s, NULL, NULL).n, 1, "enabled again: new events go out");
	w.status = WEBHOOK_DISABLED;
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_update(s, &w), CAT_OK);
	stk_commit(s);
	cr_assert_eq(due(s, NULL, NULL).n, 0, "disabled: its pending delivery waits");
	w.status = WEBHOOK_ENABLED;
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_update(s, &w), CAT_OK);
	stk_commit(s);
	struct due_seen back = due(s, NULL, NULL);
	cr_assert_eq(back.n, 1, "enabled: the waiting delivery is due again");
	w.deleted = true;
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_update(s, &w), CAT_OK);
	insert_event(s, STK_M1, 8, "payout.paid");
	cr_assert_eq(s->ops->delivery_skip_endpoint(s, w.id, NOW_MS, "the endpoint was deleted"),
		     CAT_OK);
	stk_commit(s);
	cr_assert_eq(due(s, NULL, NULL).n, 0, "a deleted endpoint gets nothing new");
	struct delivery skipped;
	cr_assert_eq(s->ops->delivery_get(s, back.d[0].id, &skipped), CAT_OK);
	cr_assert_eq(skipped.state, DELIVERY_SKIPPED, "its pending delivery is skipped");
	cr_assert_str_eq(skipped.last_error, "the endpoint was deleted");
	long count = -1;
	cr_assert_eq(s->ops->webhook_count(s, STK_M1, &count), CAT_OK);
	cr_assert_eq(count, 0);
	struct webhook_endpoint got;
	cr_assert_eq(s->ops->webhook_get(s, NULL, w.id, &got), CAT_OK);
	cr_assert(got.deleted, "still found, marked deleted");
	webhook_endpoint_clear(&got);
	webhook_endpoint_clear(&w);
	store_close(s);
}

Test(store_webhooks, endpoints_round_trip_and_stay_with_their_merchant)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct webhook_endpoint w = make_endpoint(STK_M1, 1, "[\"payout.paid\"]");
	memset(w.old_secret_sealed, 0xcd, 40);
	w.old_secret_sealed_len = 40;
	w.old_expires_ms = NOW_MS + 5;
	w.failures = 3;
	w.failing_since_ms = NOW_MS - 9;
	w.metadata_json = strdup("{\"a\":\"b\"}");
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_insert(s, &w), CAT_OK);
	stk_commit(s);
	struct webhook_endpoint got;
	cr_assert_eq(s->ops->webhook_get(s, STK_M1, w.id, &got), CAT_OK);
	cr_assert_str_eq(got.url, w.url);
	cr_assert_str_eq(got.enabled_events_json, w.enabled_events_json);
	stk_expect_heap_eq(got.metadata_json, w.metadata_json, "metadata");
	cr_assert_eq(got.secret_sealed_len, 40);
	cr_assert_eq(memcmp(got.secret_sealed, w.secret_sealed, 40), 0);
	cr_assert_eq(got.old_secret_sealed_len, 40);
	cr_assert_eq(got.old_expires_ms, NOW_MS + 5);
	cr_assert_eq(got.failures, 3);
	cr_assert_eq(got.failing_since_ms, NOW_MS - 9);
	webhook_endpoint_clear(&got);
	cr_assert_eq(s->ops->webhook_get(s, STK_M2, w.id, &got), CAT_NO_SUCH_OBJECT);
	struct store_page page = {.limit = 10};
	struct stk_seen seen = {0};
	bool more = true;
	cr_assert_eq(s->ops->webhook_list(s, STK_M2, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(s->ops->webhook_list(s, STK_M1, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 1);
	cr_assert(!more);
	free(w.url);
	w.url = strdup("");
	stk_begin(s);
	cr_assert_eq(s->ops->webhook_update(s, &w), CAT_PARAMETER_INVALID, "no URL: refused");
	stk_commit(s);
	webhook_endpoint_clear(&w);
	store_close(s);
}

struct attempts_seen {
	int n;
	struct delivery_attempt a[8];
};

static void collect_attempt(void *ctx, const void *record)
{
	struct attempts_seen *seen = ctx;
	if (seen->n < 8)
		seen->a[seen->n++] = *(const struct delivery_attempt *)record;
}

Test(store_webhooks, attempts_are_kept_in_order_and_never_twice)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct delivery d = {.kind = DELIVERY_EMAIL, .created_ms = NOW_MS, .next_ms = NOW_MS};
	stk_mkid(d.event_id, "evt", 1);
	snprintf(d.merchant_id, sizeof d.merchant_id, "%s", STK_M1);
	stk_begin(s);
	cr_assert_eq(s->ops->delivery_insert(s, &d), CAT_OK);
	cr_assert_gt(d.id, 0);
	for (int n = 1; n <= 3; n++) {
		struct delivery_attempt a = {.delivery_id = d.id, .n = n, .started_ms = NOW_MS + n,
					     .status = n < 3 ? 451 : 250, .latency_ms = 10 * n};
		snprintf(a.error, sizeof a.error, "%s", n < 3 ? "busy" : "");
		cr_assert_eq(s->ops->delivery_attempt_insert(s, &a), CAT_OK);
	}
	struct delivery_attempt again = {.delivery_id = d.id, .n = 2};
	cr_assert_neq(s->ops->delivery_attempt_insert(s, &again), CAT_OK, "attempt 2 twice");
	d.state = DELIVERY_DELIVERED;
	d.attempts = 3;
	d.done_ms = NOW_MS + 3;
	d.last_status = 250;
	cr_assert_eq(s->ops->delivery_update(s, &d), CAT_OK);
	stk_commit(s);
	struct attempts_seen seen = {0};
	cr_assert_eq(s->ops->delivery_attempt_list(s, d.id, collect_attempt, &seen), CAT_OK);
	cr_assert_eq(seen.n, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(seen.a[i].n, i + 1, "first first");
		cr_assert_eq(seen.a[i].latency_ms, 10 * (i + 1));
	}
	cr_assert_str_eq(seen.a[0].error, "busy");
	cr_assert_eq(seen.a[2].status, 250);
	struct delivery got;
	cr_assert_eq(s->ops->delivery_get(s, d.id, &got), CAT_OK);
	cr_assert_eq(got.state, DELIVERY_DELIVERED);
	cr_assert_eq(got.attempts, 3);
	cr_assert_eq(got.last_status, 250);
	cr_assert_eq(due(s, NULL, NULL).n, 0, "delivered: no longer due");
	store_close(s);
}

Test(store_webhooks, finished_deliveries_expire_with_their_attempts_pending_ones_stay)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	stk_begin(s);
	int64_t ids[3];
	for (int i = 0; i < 3; i++) {
		struct delivery d = {.kind = DELIVERY_EMAIL, .created_ms = NOW_MS, .next_ms = NOW_MS};
		stk_mkid(d.event_id, "evt", i + 1);
		snprintf(d.merchant_id, sizeof d.merchant_id, "%s", STK_M1);
		cr_assert_eq(s->ops->delivery_insert(s, &d), CAT_OK);
		struct delivery_attempt a = {.delivery_id = d.id, .n = 1, .started_ms = NOW_MS,
					     .status = 250};
		cr_assert_eq(s->ops->delivery_attempt_insert(s, &a), CAT_OK);
		if (i < 2) { /* two finished: one long ago, one just now */
			d.state = DELIVERY_DELIVERED;
			d.attempts = 1;
			d.done_ms = i == 0 ? NOW_MS : NOW_MS + 1000000;
			cr_assert_eq(s->ops->delivery_update(s, &d), CAT_OK);
		}
		ids[i] = d.id;
	}
	long removed = -1;
	cr_assert_eq(s->ops->delivery_expire(s, NOW_MS + 1, &removed), CAT_OK);
	stk_commit(s);
	cr_assert_eq(removed, 1, "only the one finished before the cut");
	struct delivery got;
	cr_assert_eq(s->ops->delivery_get(s, ids[0], &got), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->delivery_get(s, ids[1], &got), CAT_OK, "finished after the cut: kept");
	cr_assert_eq(s->ops->delivery_get(s, ids[2], &got), CAT_OK, "pending: never expired");
	struct attempts_seen seen = {0};
	cr_assert_eq(s->ops->delivery_attempt_list(s, ids[0], collect_attempt, &seen), CAT_OK);
	cr_assert_eq(seen.n, 0, "its attempts went with it");
	store_close(s);
}
