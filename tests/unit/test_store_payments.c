/* tests/unit/test_store_payments: the payment records of the SQLite store
 * (store/store_sqlite_payments.c, schema/0003_payments.sql) on real files
 * under /tmp.  Every field of intents, attempts, refunds, events and
 * idempotency keys survives a round trip (NULL and heap strings too) and
 * an update; get and list never show another merchant's records; pages of
 * 25 records walked forwards and backwards at several limits meet every
 * record exactly once; filters; the resolver's work lists (unsettled
 * attempts, pending refunds) beyond one internal chunk, with callbacks
 * that write; secrets; refusals that leave the batch intact; the upgrade
 * from schema version 2. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "core/catalog.h"
#include "core/payment.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/store_sqlite.h"
#include "store_testkit.h"
#include "tmpdb.h"

#define NOW_MS ((int64_t)1767225600000) /* 2026-01-01 */
#define M1 STK_M1
#define M2 STK_M2

/* The collectors below read a record's id at its start. */
_Static_assert(offsetof(struct payment_intent, id) == 0, "id first");
_Static_assert(offsetof(struct payment_attempt, id) == 0, "id first");
_Static_assert(offsetof(struct refund, id) == 0, "id first");
_Static_assert(offsetof(struct store_event, id) == 0, "id first");

static struct tmpdb tdb;

static void setup(void)
{
	tmpdb_open(&tdb, "storepay");
}

static void teardown(void)
{
	tmpdb_remove(&tdb);
}

TestSuite(store_payments, .init = setup, .fini = teardown);

/* ---- helpers -------------------------------------------------------------- */

static struct store *open_rw(void)
{
	return stk_open(&tdb, STORE_CREATE, 0);
}

static int64_t raw_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open_v2(tdb.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct payment_method card_method(int n)
{
	struct payment_method m = {.type = PM_CARD, .exp_month = 1 + n % 12, .exp_year = 2030 + n};
	snprintf(m.id, sizeof m.id, "pm_card_%d", n);
	snprintf(m.brand, sizeof m.brand, "visa");
	snprintf(m.last4, sizeof m.last4, "%04d", 4242 + n);
	snprintf(m.fingerprint, sizeof m.fingerprint, "fp%020d", n);
	snprintf(m.token, sizeof m.token, "tok_%d_xyz", n);
	return m;
}

static void expect_method_eq(const struct payment_method *got, const struct payment_method *want)
{
	cr_assert_eq(got->type, want->type);
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->brand, want->brand);
	cr_assert_str_eq(got->last4, want->last4);
	cr_assert_eq(got->exp_month, want->exp_month);
	cr_assert_eq(got->exp_year, want->exp_year);
	cr_assert_str_eq(got->fingerprint, want->fingerprint);
	cr_assert_str_eq(got->token, want->token);
}

/* An intent with every field set to something of its own.  The heap
 * fields point at static text: never clear one of these. */
static struct payment_intent full_intent(const char *merchant, int n)
{
	struct payment_intent pi = {
		.amount = 10000 + n,
		.currency = "CNY",
		.status = PI_REQUIRES_CAPTURE,
		.capture_method = CAPTURE_MANUAL,
		.amount_capturable = 9000 + n,
		.amount_received = 5000,
		.amount_refunded = 1200,
		.description = "Order 42 — 订单 \"quoted\"",
		.customer = "cus_123",
		.metadata_json = "{\"order_id\":\"42\",\"note\":\"a'b\"}",
		.method = card_method(n),
		.attempt_count = 3,
		.last_error_code = CAT_INSUFFICIENT_FUNDS,
		.capture_requested = 4000,
		.cancel_requested = true,
		.cancellation_reason = "requested_by_customer",
		.canceled_ms = NOW_MS + 5,
		.created_ms = NOW_MS + n,
		.updated_ms = NOW_MS + 7,
	};
	stk_mkid(pi.id, "pi", n);
	snprintf(pi.merchant_id, sizeof pi.merchant_id, "%s", merchant);
	stk_mkid(pi.latest_attempt_id, "ch", 900 + n);
	stk_mkid(pi.last_error_attempt_id, "ch", 800 + n);
	stk_mkid(pi.hold_transfer_id, "tr", 700 + n);
	return pi;
}

/* A fresh intent as the API makes it: nothing optional set. */
static struct payment_intent bare_intent(const char *merchant, int n)
{
	struct payment_intent pi = {.amount = 100, .currency = "USD", .created_ms = NOW_MS + n,
				    .updated_ms = NOW_MS + n};
	stk_mkid(pi.id, "pi", n);
	snprintf(pi.merchant_id, sizeof pi.merchant_id, "%s", merchant);
	return pi;
}

static void expect_intent_eq(const struct payment_intent *got, const struct payment_intent *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_eq(got->amount, want->amount);
	cr_assert_str_eq(got->currency, want->currency);
	cr_assert_eq(got->status, want->status);
	cr_assert_eq(got->capture_method, want->capture_method);
	cr_assert_eq(got->amount_capturable, want->amount_capturable);
	cr_assert_eq(got->amount_received, want->amount_received);
	cr_assert_eq(got->amount_refunded, want->amount_refunded);
	stk_expect_heap_eq(got->description, want->description, "description");
	cr_assert_str_eq(got->customer, want->customer);
	stk_expect_heap_eq(got->metadata_json, want->metadata_json, "metadata");
	expect_method_eq(&got->method, &want->method);
	cr_assert_str_eq(got->latest_attempt_id, want->latest_attempt_id);
	cr_assert_eq(got->attempt_count, want->attempt_count);
	cr_assert_eq(got->last_error_code, want->last_error_code);
	cr_assert_str_eq(got->last_error_attempt_id, want->last_error_attempt_id);
	cr_assert_str_eq(got->hold_transfer_id, want->hold_transfer_id);
	cr_assert_eq(got->capture_requested, want->capture_requested);
	cr_assert_eq(got->cancel_requested, want->cancel_requested);
	cr_assert_str_eq(got->cancellation_reason, want->cancellation_reason);
	cr_assert_eq(got->canceled_ms, want->canceled_ms);
	cr_assert_eq(got->created_ms, want->created_ms);
	cr_assert_eq(got->updated_ms, want->updated_ms);
}

static struct payment_attempt full_attempt(const char *merchant, const char *intent_id, int n,
					   int seq, enum attempt_status status)
{
	struct payment_attempt a = {
		.seq = seq,
		.channel = "sandbox",
		.status = status,
		.amount = 10000 + n,
		.currency = "CNY",
		.method = card_method(n),
		.capture = true,
		.code = CAT_CHANNEL_TIMEOUT,
		.raw_code = "91",
		.raw_message = "Issuer or switch inoperative — 发卡行不可用",
		.created_ms = NOW_MS + n,
		.finished_ms = NOW_MS + n + 100,
		.latency_ms = 95,
		.next_check_ms = NOW_MS + n + 60000,
		.checks = 2,
	};
	stk_mkid(a.id, "ch", n);
	snprintf(a.intent_id, sizeof a.intent_id, "%s", intent_id);
	snprintf(a.merchant_id, sizeof a.merchant_id, "%s", merchant);
	return a;
}

static void expect_attempt_eq(const struct payment_attempt *got,
			      const struct payment_attempt *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->intent_id, want->intent_id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_eq(got->seq, want->seq);
	cr_assert_str_eq(got->channel, want->channel);
	cr_assert_eq(got->status, want->status);
	cr_assert_eq(got->amount, want->amount);
	cr_assert_str_eq(got->currency, want->currency);
	expect_method_eq(&got->method, &want->method);
	cr_assert_eq(got->capture, want->capture);
	cr_assert_eq(got->code, want->code);
	cr_assert_str_eq(got->raw_code, want->raw_code);
	cr_assert_str_eq(got->raw_message, want->raw_message);
	cr_assert_eq(got->created_ms, want->created_ms);
	cr_assert_eq(got->finished_ms, want->finished_ms);
	cr_assert_eq(got->latency_ms, want->latency_ms);
	cr_assert_eq(got->next_check_ms, want->next_check_ms);
	cr_assert_eq(got->checks, want->checks);
}

static struct refund full_refund(const char *merchant, const char *intent_id,
				 const char *attempt_id, int n, enum refund_status status)
{
	struct refund r = {
		.channel = "sandbox",
		.amount = 100 + n,
		.currency = "CNY",
		.status = status,
		.reason = "requested_by_customer",
		.failure_code = CAT_REFUND_FAILED,
		.raw_code = "R01",
		.metadata_json = "{\"ticket\":\"7\"}",
		.created_ms = NOW_MS + n,
		.updated_ms = NOW_MS + n + 1,
	};
	stk_mkid(r.id, "re", n);
	snprintf(r.merchant_id, sizeof r.merchant_id, "%s", merchant);
	snprintf(r.intent_id, sizeof r.intent_id, "%s", intent_id);
	snprintf(r.attempt_id, sizeof r.attempt_id, "%s", attempt_id);
	stk_mkid(r.hold_transfer_id, "tr", 500 + n);
	return r;
}

static void expect_refund_eq(const struct refund *got, const struct refund *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_str_eq(got->intent_id, want->intent_id);
	cr_assert_str_eq(got->attempt_id, want->attempt_id);
	cr_assert_str_eq(got->channel, want->channel);
	cr_assert_eq(got->amount, want->amount);
	cr_assert_str_eq(got->currency, want->currency);
	cr_assert_eq(got->status, want->status);
	cr_assert_str_eq(got->reason, want->reason);
	cr_assert_eq(got->failure_code, want->failure_code);
	cr_assert_str_eq(got->raw_code, want->raw_code);
	stk_expect_heap_eq(got->metadata_json, want->metadata_json, "metadata");
	cr_assert_str_eq(got->hold_transfer_id, want->hold_transfer_id);
	cr_assert_eq(got->created_ms, want->created_ms);
	cr_assert_eq(got->updated_ms, want->updated_ms);
}

static struct store_event make_event(const char *merchant, int n, const char *type,
				     const char *data)
{
	struct store_event e = {.data_json = (char *)data, .created_ms = NOW_MS + n};
	stk_mkid(e.id, "evt", n);
	snprintf(e.merchant_id, sizeof e.merchant_id, "%s", merchant);
	snprintf(e.type, sizeof e.type, "%s", type);
	stk_mkid(e.object_id, "pi", n);
	return e;
}

static void expect_event_eq(const struct store_event *got, const struct store_event *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_str_eq(got->type, want->type);
	cr_assert_str_eq(got->object_id, want->object_id);
	stk_expect_heap_eq(got->data_json, want->data_json, "data");
	cr_assert_eq(got->created_ms, want->created_ms);
}

static void insert_intent(struct store *s, const struct payment_intent *pi)
{
	int rc = s->ops->intent_insert(s, pi);
	cr_assert_eq(rc, CAT_OK, "intent_insert %s: %d", pi->id, rc);
}

static void insert_attempt(struct store *s, const struct payment_attempt *a)
{
	int rc = s->ops->attempt_insert(s, a);
	cr_assert_eq(rc, CAT_OK, "attempt_insert %s: %d", a->id, rc);
}

static void insert_refund(struct store *s, const struct refund *r)
{
	int rc = s->ops->refund_insert(s, r);
	cr_assert_eq(rc, CAT_OK, "refund_insert %s: %d", r->id, rc);
}

static void insert_event(struct store *s, const struct store_event *e)
{
	int rc = s->ops->event_insert(s, e);
	cr_assert_eq(rc, CAT_OK, "event_insert %s: %d", e->id, rc);
}

/* Collects the ids `each` sees. */
typedef int (*list_fn)(struct store *s, const char *merchant_id, const struct store_page *page,
		       store_each_fn each, void *ctx, bool *has_more);

static int list_page(struct store *s, list_fn list, const char *merchant,
		     const struct store_page *page, struct stk_seen *out, bool *more)
{
	memset(out, 0, sizeof *out);
	return list(s, merchant, page, stk_collect, out, more);
}

/* ---- round trips ---------------------------------------------------------- */

Test(store_payments, intent_round_trip_and_update)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent full = full_intent(M1, 1);
	struct payment_intent bare = bare_intent(M1, 2);
	struct payment_intent empty = bare_intent(M1, 3);
	empty.description = ""; /* "" is not NULL */
	empty.metadata_json = "{}";
	stk_begin(s);
	insert_intent(s, &full);
	insert_intent(s, &bare);
	insert_intent(s, &empty);
	stk_commit(s);
	store_close(s);

	s = open_rw();
	const struct payment_intent *want[] = {&full, &bare, &empty};
	for (int i = 0; i < 3; i++) {
		struct payment_intent got;
		cr_assert_eq(s->ops->intent_get(s, M1, want[i]->id, &got), CAT_OK);
		expect_intent_eq(&got, want[i]);
		payment_intent_clear(&got);
	}

	/* Every mutable field changes; the identity stays. */
	struct payment_intent next = bare_intent(M1, 1);
	next.amount = 777;
	next.status = PI_SUCCEEDED;
	next.capture_method = CAPTURE_AUTOMATIC;
	next.amount_capturable = 0;
	next.amount_received = 777;
	next.amount_refunded = 77;
	next.description = "changed";
	snprintf(next.customer, sizeof next.customer, "cus_9");
	next.metadata_json = NULL;
	next.method = card_method(5);
	next.method.type = PM_ALIPAY;
	stk_mkid(next.latest_attempt_id, "ch", 5);
	next.attempt_count = 4;
	next.last_error_code = 0;
	next.last_error_attempt_id[0] = '\0';
	next.hold_transfer_id[0] = '\0';
	next.capture_requested = 0;
	next.cancel_requested = false;
	next.canceled_ms = 0;
	next.created_ms = 1;     /* not written */
	next.updated_ms = NOW_MS + 99;
	stk_begin(s);
	cr_assert_eq(s->ops->intent_update(s, &next), CAT_OK);
	stk_commit(s);
	struct payment_intent got;
	cr_assert_eq(s->ops->intent_get(s, M1, next.id, &got), CAT_OK);
	next.created_ms = full.created_ms;
	expect_intent_eq(&got, &next);
	payment_intent_clear(&got);
	store_close(s);
}

Test(store_payments, attempt_round_trip_update_and_list)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1);
	struct payment_attempt a[5];
	stk_begin(s);
	insert_intent(s, &pi);
	static const int seqs[5] = {3, 1, 2, 5, 4}; /* inserted out of order */
	for (int i = 0; i < 5; i++) {
		a[i] = full_attempt(M1, pi.id, 10 + i, seqs[i], (enum attempt_status)i);
		insert_attempt(s, &a[i]);
	}
	stk_commit(s);

	struct payment_attempt got;
	cr_assert_eq(s->ops->attempt_get(s, a[0].id, &got), CAT_OK);
	expect_attempt_eq(&got, &a[0]);

	struct payment_attempt list[PAYMENT_ATTEMPTS_MAX + 1];
	int n = -1;
	cr_assert_eq(s->ops->attempt_list(s, pi.id, list, PAYMENT_ATTEMPTS_MAX + 1, &n), CAT_OK);
	cr_assert_eq(n, 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(list[i].seq, i + 1, "oldest first by seq");
		for (int k = 0; k < 5; k++)
			if (a[k].seq == i + 1)
				expect_attempt_eq(&list[i], &a[k]);
	}
	cr_assert_eq(s->ops->attempt_list(s, pi.id, list, 3, &n), CAT_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(list[2].seq, 3);
	cr_assert_eq(s->ops->attempt_list(s, pi.id, list, 0, &n), CAT_OK);
	cr_assert_eq(n, 0);
	char unknown[ID_MAX];
	stk_mkid(unknown, "pi", 99);
	cr_assert_eq(s->ops->attempt_list(s, unknown, list, 5, &n), CAT_OK);
	cr_assert_eq(n, 0);

	/* update: every mutable field; identity (intent, seq, created) stays */
	struct payment_attempt next = full_attempt(M1, pi.id, 10, 9, ATT_SUCCEEDED);
	snprintf(next.channel, sizeof next.channel, "alipay");
	next.amount = 5;
	snprintf(next.currency, sizeof next.currency, "USD");
	next.method = card_method(3);
	next.method.type = PM_WECHAT_PAY;
	next.capture = false;
	next.code = 0;
	next.raw_code[0] = '\0';
	snprintf(next.raw_message, sizeof next.raw_message, "ok");
	next.created_ms = 1;
	next.finished_ms = NOW_MS + 500;
	next.latency_ms = -1;
	next.next_check_ms = 0;
	next.checks = 7;
	stk_begin(s);
	cr_assert_eq(s->ops->attempt_update(s, &next), CAT_OK);
	stk_commit(s);
	cr_assert_eq(s->ops->attempt_get(s, next.id, &got), CAT_OK);
	next.seq = a[0].seq;
	next.created_ms = a[0].created_ms;
	expect_attempt_eq(&got, &next);
	store_close(s);
}

Test(store_payments, refund_round_trip_and_update)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1);
	struct payment_attempt a = full_attempt(M1, pi.id, 1, 1, ATT_SUCCEEDED);
	struct refund r = full_refund(M1, pi.id, a.id, 1, REFUND_PENDING);
	struct refund bare = full_refund(M1, pi.id, a.id, 2, REFUND_SUCCEEDED);
	bare.metadata_json = NULL;
	bare.reason[0] = '\0';
	bare.raw_code[0] = '\0';
	bare.hold_transfer_id[0] = '\0';
	bare.failure_code = 0;
	stk_begin(s);
	insert_intent(s, &pi);
	insert_attempt(s, &a);
	insert_refund(s, &r);
	insert_refund(s, &bare);
	stk_commit(s);

	struct refund got;
	cr_assert_eq(s->ops->refund_get(s, M1, r.id, &got), CAT_OK);
	expect_refund_eq(&got, &r);
	refund_clear(&got);
	cr_assert_eq(s->ops->refund_get(s, M1, bare.id, &got), CAT_OK);
	expect_refund_eq(&got, &bare);
	refund_clear(&got);

	struct refund next = full_refund(M1, pi.id, a.id, 1, REFUND_FAILED);
	snprintf(next.channel, sizeof next.channel, "other");
	next.amount = 3;
	snprintf(next.currency, sizeof next.currency, "JPY");
	snprintf(next.reason, sizeof next.reason, "duplicate");
	next.failure_code = CAT_REFUND_FAILED;
	snprintf(next.raw_code, sizeof next.raw_code, "X9");
	next.metadata_json = "{\"a\":1}";
	next.hold_transfer_id[0] = '\0';
	next.created_ms = 1;
	next.updated_ms = NOW_MS + 1000;
	stk_begin(s);
	cr_assert_eq(s->ops->refund_update(s, &next), CAT_OK);
	stk_commit(s);
	cr_assert_eq(s->ops->refund_get(s, M1, r.id, &got), CAT_OK);
	next.created_ms = r.created_ms;
	expect_refund_eq(&got, &next);
	refund_clear(&got);
	store_close(s);
}

Test(store_payments, event_round_trip)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct store_event e = make_event(M1, 1, "payment_intent.succeeded",
					  "{\"id\":\"pi_1\",\"object\":\"payment_intent\"}");
	struct store_event no_data = make_event(M1, 2, "charge.failed", NULL);
	stk_begin(s);
	insert_event(s, &e);
	insert_event(s, &no_data);
	stk_commit(s);
	struct store_event got;
	cr_assert_eq(s->ops->event_get(s, M1, e.id, &got), CAT_OK);
	expect_event_eq(&got, &e);
	store_event_clear(&got);
	cr_assert_null(got.data_json);
	cr_assert_eq(s->ops->event_get(s, M1, no_data.id, &got), CAT_OK);
	expect_event_eq(&got, &no_data);
	store_event_clear(&got);
	store_event_clear(&got); /* twice is harmless */
	store_close(s);
}

/* Records seen by `each` carry their heap fields. */
static void check_heap_fields(void *ctx, const void *record)
{
	const struct payment_intent *pi = record;
	int *count = ctx;
	cr_assert_not_null(pi->description);
	cr_assert_str_eq(pi->description, "Order 42 — 订单 \"quoted\"");
	cr_assert_not_null(pi->metadata_json);
	cr_assert_eq(pi->method.type, PM_CARD);
	(*count)++;
}

Test(store_payments, listed_records_are_whole)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	stk_begin(s);
	for (int i = 1; i <= 3; i++) {
		struct payment_intent pi = full_intent(M1, i);
		insert_intent(s, &pi);
	}
	stk_commit(s);
	int count = 0;
	bool more = true;
	struct store_page page = {.limit = 10};
	cr_assert_eq(s->ops->intent_list(s, M1, &page, check_heap_fields, &count, &more), CAT_OK);
	cr_assert_eq(count, 3);
	cr_assert_not(more);
	store_close(s);
}

/* ---- merchant scoping ----------------------------------------------------- */

Test(store_payments, other_merchants_records_do_not_exist)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = full_intent(M1, 1);
	struct payment_attempt a = full_attempt(M1, pi.id, 1, 1, ATT_SUCCEEDED);
	struct refund r = full_refund(M1, pi.id, a.id, 1, REFUND_PENDING);
	struct store_event e = make_event(M1, 1, "payment_intent.created", "{}");
	stk_begin(s);
	insert_intent(s, &pi);
	insert_attempt(s, &a);
	insert_refund(s, &r);
	insert_event(s, &e);
	stk_commit(s);

	struct payment_intent gi;
	struct refund gr;
	struct store_event ge;
	cr_assert_eq(s->ops->intent_get(s, M2, pi.id, &gi), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->refund_get(s, M2, r.id, &gr), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->event_get(s, M2, e.id, &ge), CAT_NO_SUCH_OBJECT);
	/* exactly like an id that does not exist at all */
	cr_assert_eq(s->ops->intent_get(s, M1, "pi_nope", &gi), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->intent_get(s, M1, "", &gi), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->intent_get(s, "acct_nobody", pi.id, &gi), CAT_NO_SUCH_OBJECT);

	struct stk_seen seen;
	bool more = true;
	struct store_page page = {.limit = 100};
	cr_assert_eq(list_page(s, s->ops->intent_list, M2, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	cr_assert_not(more);
	cr_assert_eq(list_page(s, s->ops->refund_list, M2, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(list_page(s, s->ops->event_list, M2, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	page.filter = pi.id;
	cr_assert_eq(list_page(s, s->ops->refund_list, M2, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0, "filtered by M1's intent, still M2's list");
	cr_assert_eq(list_page(s, s->ops->refund_list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 1);

	/* Updates are scoped too: M2 cannot write M1's records. */
	struct payment_intent pi2 = pi;
	snprintf(pi2.merchant_id, sizeof pi2.merchant_id, M2);
	pi2.amount_refunded = 0;
	struct refund r2 = r;
	snprintf(r2.merchant_id, sizeof r2.merchant_id, M2);
	struct payment_attempt a2 = a;
	snprintf(a2.merchant_id, sizeof a2.merchant_id, M2);
	stk_begin(s);
	cr_assert_eq(s->ops->intent_update(s, &pi2), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->refund_update(s, &r2), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->attempt_update(s, &a2), CAT_NO_SUCH_OBJECT);
	stk_commit(s);
	cr_assert_eq(s->ops->intent_get(s, M1, pi.id, &gi), CAT_OK);
	expect_intent_eq(&gi, &pi);
	payment_intent_clear(&gi);
	store_close(s);
}

/* ---- pagination ----------------------------------------------------------- */

#define PAGE_N 25

/* The ids of M1's PAGE_N records, oldest first; M2's records sit between
 * them (odd n), so a list that leaked another merchant's records or
 * skipped by position would show it. */
struct paged {
	list_fn list;
	const char *prefix;
	const char *filter;
	char ids[PAGE_N][ID_MAX];
};

/* Walks every page forwards (starting_after) and checks the walk. */
static void walk_forward(struct store *s, const struct paged *p, int limit)
{
	struct store_page page = {.limit = limit, .filter = p->filter};
	char cursor[ID_MAX] = "";
	int total = 0, pages = 0;
	bool more = true;
	while (more) {
		struct stk_seen seen;
		page.starting_after = cursor[0] ? cursor : NULL;
		cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
		pages++;
		cr_assert_leq(seen.n, limit);
		for (int i = 0; i < seen.n; i++) {
			/* newest first: the total-th newest is ids[PAGE_N-1-total] */
			cr_assert_lt(total, PAGE_N, "limit %d: too many records", limit);
			cr_assert_str_eq(seen.ids[i], p->ids[PAGE_N - 1 - total],
					 "limit %d: record %d", limit, total);
			total++;
		}
		if (more)
			cr_assert_eq(seen.n, limit, "a page with more after it is full");
		if (seen.n)
			snprintf(cursor, sizeof cursor, "%s", seen.ids[seen.n - 1]);
		cr_assert_leq(pages, PAGE_N + 1, "the walk does not end");
	}
	cr_assert_eq(total, PAGE_N, "limit %d: every record once", limit);
	cr_assert_eq(pages, (PAGE_N + limit - 1) / limit, "limit %d: pages", limit);
}

/* Walks every page backwards (ending_before) from below the oldest. */
static void walk_backward(struct store *s, const struct paged *p, int limit)
{
	struct store_page page = {.limit = limit, .filter = p->filter};
	char cursor[ID_MAX];
	stk_mkid(cursor, p->prefix, 0); /* older than everything */
	int total = 0, pages = 0;
	bool more = true;
	while (more) {
		struct stk_seen seen;
		page.ending_before = cursor;
		cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
		pages++;
		cr_assert_leq(seen.n, limit);
		/* the page is the seen.n records just newer than the cursor,
		 * newest first */
		for (int i = 0; i < seen.n; i++)
			cr_assert_str_eq(seen.ids[i], p->ids[total + seen.n - 1 - i],
					 "limit %d: page %d item %d", limit, pages, i);
		total += seen.n;
		if (more)
			cr_assert_eq(seen.n, limit, "a page with more before it is full");
		if (seen.n)
			snprintf(cursor, sizeof cursor, "%s", seen.ids[0]);
		cr_assert_leq(pages, PAGE_N + 1, "the walk does not end");
	}
	cr_assert_eq(total, PAGE_N, "limit %d: every record once", limit);
	cr_assert_eq(pages, (PAGE_N + limit - 1) / limit, "limit %d: pages", limit);
}

static void check_paging(struct store *s, const struct paged *p)
{
	static const int limits[] = {1, 2, 7, 10, 24, 25, 26, 100};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		walk_forward(s, p, limits[i]);
		walk_backward(s, p, limits[i]);
	}

	struct stk_seen seen;
	bool more;
	/* first page */
	struct store_page page = {.limit = 10, .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 10);
	cr_assert(more);
	cr_assert_str_eq(seen.ids[0], p->ids[PAGE_N - 1]);
	cr_assert_str_eq(seen.ids[9], p->ids[PAGE_N - 10]);
	/* exactly everything: no more */
	page.limit = PAGE_N;
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, PAGE_N);
	cr_assert_not(more);
	page.limit = PAGE_N - 1;
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert(more);
	/* the records just before ids[9] in newest-first order */
	page = (struct store_page){.limit = 3, .ending_before = p->ids[9], .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 3);
	cr_assert_str_eq(seen.ids[0], p->ids[12]);
	cr_assert_str_eq(seen.ids[1], p->ids[11]);
	cr_assert_str_eq(seen.ids[2], p->ids[10]);
	cr_assert(more);
	/* after the oldest, before the newest: nothing */
	page = (struct store_page){.limit = 3, .starting_after = p->ids[0], .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	cr_assert_not(more);
	page = (struct store_page){.limit = 3, .ending_before = p->ids[PAGE_N - 1],
				   .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	cr_assert_not(more);
	/* starting_after the second oldest: the oldest alone */
	page = (struct store_page){.limit = 3, .starting_after = p->ids[1], .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 1);
	cr_assert_str_eq(seen.ids[0], p->ids[0]);
	cr_assert_not(more);

	/* refusals */
	static const int bad_limits[] = {0, -1, 101, 1000};
	for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
		page = (struct store_page){.limit = bad_limits[i], .filter = p->filter};
		cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_PARAMETER_INVALID,
			     "limit %d", bad_limits[i]);
		cr_assert_eq(seen.n, 0);
	}
	page = (struct store_page){.limit = 100, .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, PAGE_N);
	page = (struct store_page){.limit = 5, .starting_after = p->ids[3],
				   .ending_before = p->ids[1], .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_PARAMETER_INVALID);
	page = (struct store_page){.limit = 5, .starting_after = "", .filter = p->filter};
	cr_assert_eq(list_page(s, p->list, M1, &page, &seen, &more), CAT_PARAMETER_INVALID);
	cr_assert_eq(p->list(s, M1, NULL, stk_collect, &seen, &more), CAT_PARAMETER_INVALID);
	/* has_more may be NULL */
	page = (struct store_page){.limit = 5, .filter = p->filter};
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(p->list(s, M1, &page, stk_collect, &seen, NULL), CAT_OK);
	cr_assert_eq(seen.n, 5);
}

Test(store_payments, intent_pages)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct paged p = {.list = s->ops->intent_list, .prefix = "pi",
			  .filter = "ignored for intents"};
	stk_begin(s);
	for (int i = 0; i < PAGE_N; i++) {
		struct payment_intent mine = bare_intent(M1, 2 * i + 2);
		struct payment_intent theirs = bare_intent(M2, 2 * i + 3);
		insert_intent(s, &mine);
		insert_intent(s, &theirs);
		snprintf(p.ids[i], ID_MAX, "%s", mine.id);
	}
	stk_commit(s);
	check_paging(s, &p);
	p.filter = NULL;
	check_paging(s, &p);
	store_close(s);
}

Test(store_payments, refund_pages_and_intent_filter)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1), other = bare_intent(M1, 2);
	struct payment_intent theirs = bare_intent(M2, 3);
	struct payment_attempt a = full_attempt(M1, pi.id, 1, 1, ATT_SUCCEEDED);
	struct payment_attempt oa = full_attempt(M1, other.id, 2, 1, ATT_SUCCEEDED);
	struct payment_attempt ta = full_attempt(M2, theirs.id, 3, 1, ATT_SUCCEEDED);
	struct paged p = {.list = s->ops->refund_list, .prefix = "re"};
	stk_begin(s);
	insert_intent(s, &pi);
	insert_intent(s, &other);
	insert_intent(s, &theirs);
	insert_attempt(s, &a);
	insert_attempt(s, &oa);
	insert_attempt(s, &ta);
	/* n = 3i+2: pi's (M1), 3i+3: other's (M1), 3i+4: M2's */
	for (int i = 0; i < PAGE_N; i++) {
		struct refund mine = full_refund(M1, pi.id, a.id, 3 * i + 2, REFUND_SUCCEEDED);
		struct refund sibling = full_refund(M1, other.id, oa.id, 3 * i + 3, REFUND_PENDING);
		struct refund foreign = full_refund(M2, theirs.id, ta.id, 3 * i + 4, REFUND_FAILED);
		insert_refund(s, &mine);
		insert_refund(s, &sibling);
		insert_refund(s, &foreign);
		snprintf(p.ids[i], ID_MAX, "%s", mine.id);
	}
	stk_commit(s);
	p.filter = pi.id;
	check_paging(s, &p);

	/* unfiltered: both of M1's intents */
	struct stk_seen seen;
	bool more;
	struct store_page page = {.limit = 100};
	cr_assert_eq(list_page(s, s->ops->refund_list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 2 * PAGE_N);
	cr_assert_not(more);
	for (int i = 1; i < seen.n; i++)
		cr_assert_gt(strcmp(seen.ids[i - 1], seen.ids[i]), 0, "newest first");
	page.filter = other.id;
	cr_assert_eq(list_page(s, s->ops->refund_list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, PAGE_N);
	page.filter = "pi_nope";
	cr_assert_eq(list_page(s, s->ops->refund_list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	store_close(s);
}

Test(store_payments, event_pages_and_type_filter)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct paged p = {.list = s->ops->event_list, .prefix = "evt"};
	stk_begin(s);
	for (int i = 0; i < PAGE_N; i++) {
		struct store_event mine = make_event(M1, 3 * i + 2, "payment_intent.succeeded", "{}");
		struct store_event other = make_event(M1, 3 * i + 3, "payment_intent.created", NULL);
		struct store_event foreign = make_event(M2, 3 * i + 4, "payment_intent.succeeded",
							"{}");
		insert_event(s, &mine);
		insert_event(s, &other);
		insert_event(s, &foreign);
		snprintf(p.ids[i], ID_MAX, "%s", mine.id);
	}
	stk_commit(s);
	p.filter = "payment_intent.succeeded";
	check_paging(s, &p);

	struct stk_seen seen;
	bool more;
	struct store_page page = {.limit = 100};
	cr_assert_eq(list_page(s, s->ops->event_list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 2 * PAGE_N);
	/* exact match only */
	static const char *const misses[] = {"payment_intent", "payment_intent.%",
					     "PAYMENT_INTENT.SUCCEEDED", "payment_intent.succeeded ",
					     ""};
	for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
		page.filter = misses[i];
		cr_assert_eq(list_page(s, s->ops->event_list, M1, &page, &seen, &more), CAT_OK);
		cr_assert_eq(seen.n, 0, "filter \"%s\"", misses[i]);
	}
	page.filter = "payment_intent.created";
	cr_assert_eq(list_page(s, s->ops->event_list, M1, &page, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, PAGE_N);
	cr_assert_not(more);
	store_close(s);
}

/* ---- the resolver's work lists -------------------------------------------- */

struct settle_ctx {
	struct store *s;
	struct stk_seen seen;
};

/* Records the attempt and settles it on the spot: callbacks may write. */
static void settle_attempt(void *ctx, const void *record)
{
	struct settle_ctx *c = ctx;
	struct payment_attempt a = *(const struct payment_attempt *)record;
	stk_collect(&c->seen, record);
	a.status = ATT_SUCCEEDED;
	cr_assert_eq(c->s->ops->attempt_update(c->s, &a), CAT_OK);
}

static bool unsettled_status(int status)
{
	return status == ATT_PENDING || status == ATT_VERIFYING || status == ATT_UNKNOWN;
}

Test(store_payments, attempt_unsettled_exactly_the_in_flight_ones)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct stk_seen want = {0};
	stk_begin(s);
	/* 12 intents x 16 attempts, every status 24 times: 72 in flight,
	 * more than the store reads at once */
	for (int i = 0; i < 12; i++) {
		struct payment_intent pi = bare_intent(i % 2 ? M2 : M1, 1000 + i);
		insert_intent(s, &pi);
		for (int k = 0; k < 16; k++) {
			int n = i * 16 + k, status = (n * 5) % 8;
			struct payment_attempt a =
				full_attempt(pi.merchant_id, pi.id, n, k + 1, (enum attempt_status)status);
			insert_attempt(s, &a);
			if (unsettled_status(status))
				stk_collect(&want, a.id); /* in id order */
		}
	}
	stk_commit(s);
	cr_assert_eq(want.n, 72);

	struct stk_seen got = {0};
	cr_assert_eq(s->ops->attempt_unsettled(s, stk_collect, &got), CAT_OK);
	cr_assert_eq(got.n, want.n);
	for (int i = 0; i < got.n; i++)
		cr_assert_str_eq(got.ids[i], want.ids[i], "oldest first, each once");

	/* the whole record arrives, and the callback may write */
	struct settle_ctx c = {.s = s};
	stk_begin(s);
	cr_assert_eq(s->ops->attempt_unsettled(s, settle_attempt, &c), CAT_OK);
	stk_commit(s);
	cr_assert_eq(c.seen.n, want.n);
	for (int i = 0; i < c.seen.n; i++)
		cr_assert_str_eq(c.seen.ids[i], want.ids[i]);
	memset(&got, 0, sizeof got);
	cr_assert_eq(s->ops->attempt_unsettled(s, stk_collect, &got), CAT_OK);
	cr_assert_eq(got.n, 0);
	cr_assert_eq(s->ops->attempt_unsettled(s, NULL, NULL), CAT_PARAMETER_INVALID);
	store_close(s);
}

Test(store_payments, refund_pending_exactly_the_pending_ones)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1), pi2 = bare_intent(M2, 2);
	struct payment_attempt a = full_attempt(M1, pi.id, 1, 1, ATT_SUCCEEDED);
	struct payment_attempt a2 = full_attempt(M2, pi2.id, 2, 1, ATT_SUCCEEDED);
	struct stk_seen want = {0};
	stk_begin(s);
	insert_intent(s, &pi);
	insert_intent(s, &pi2);
	insert_attempt(s, &a);
	insert_attempt(s, &a2);
	for (int n = 10; n < 10 + 4 * 40; n++) {
		enum refund_status st = (enum refund_status)(n % 4);
		struct refund r = n % 3 ? full_refund(M1, pi.id, a.id, n, st)
					: full_refund(M2, pi2.id, a2.id, n, st);
		insert_refund(s, &r);
		if (st == REFUND_PENDING)
			stk_collect(&want, r.id);
	}
	stk_commit(s);
	cr_assert_eq(want.n, 40);
	struct stk_seen got = {0};
	cr_assert_eq(s->ops->refund_pending(s, stk_collect, &got), CAT_OK);
	cr_assert_eq(got.n, want.n);
	for (int i = 0; i < got.n; i++)
		cr_assert_str_eq(got.ids[i], want.ids[i]);

	/* one settles: it leaves the list */
	struct refund r;
	cr_assert_eq(s->ops->refund_get(s, M1, want.ids[0], &r), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->refund_get(s, M2, want.ids[0], &r), CAT_OK, "n = 12: M2's");
	r.status = REFUND_SUCCEEDED;
	stk_begin(s);
	cr_assert_eq(s->ops->refund_update(s, &r), CAT_OK);
	stk_commit(s);
	refund_clear(&r);
	memset(&got, 0, sizeof got);
	cr_assert_eq(s->ops->refund_pending(s, stk_collect, &got), CAT_OK);
	cr_assert_eq(got.n, want.n - 1);
	cr_assert_not(stk_seen_has(&got, want.ids[0]));
	store_close(s);
}

/* ---- idempotency keys ----------------------------------------------------- */

static struct store_idem make_idem(const char *merchant, const char *key, int64_t created_ms)
{
	struct store_idem r = {.state = IDEM_IN_FLIGHT, .created_ms = created_ms};
	snprintf(r.merchant_id, sizeof r.merchant_id, "%s", merchant);
	snprintf(r.key, sizeof r.key, "%s", key);
	for (int i = 0; i < 32; i++)
		r.fingerprint[i] = (uint8_t)(i * 7 + key[0]);
	return r;
}

static void expect_idem_eq(const struct store_idem *got, const struct store_idem *want)
{
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_str_eq(got->key, want->key);
	cr_assert_eq(memcmp(got->fingerprint, want->fingerprint, 32), 0);
	cr_assert_eq(got->state, want->state);
	cr_assert_eq(got->http_status, want->http_status);
	stk_expect_heap_eq(got->response_json, want->response_json, "response");
	cr_assert_str_eq(got->object_id, want->object_id);
	cr_assert_eq(got->created_ms, want->created_ms);
}

Test(store_payments, idem_put_replace_get_expire)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct store_idem got;
	cr_assert_eq(s->ops->idem_get(s, M1, "k1", &got), CAT_NO_SUCH_OBJECT);

	struct store_idem in_flight = make_idem(M1, "k1", NOW_MS);
	snprintf(in_flight.object_id, sizeof in_flight.object_id, "pi_1");
	char long_key[STORE_IDEM_KEY_MAX + 1];
	memset(long_key, 'x', STORE_IDEM_KEY_MAX);
	long_key[STORE_IDEM_KEY_MAX] = '\0';
	struct store_idem longest = make_idem(M1, long_key, NOW_MS);
	struct store_idem same_key_m2 = make_idem(M2, "k1", NOW_MS);
	same_key_m2.fingerprint[0] ^= 0xff;
	stk_begin(s);
	cr_assert_eq(s->ops->idem_put(s, &in_flight), CAT_OK);
	cr_assert_eq(s->ops->idem_put(s, &longest), CAT_OK);
	cr_assert_eq(s->ops->idem_put(s, &same_key_m2), CAT_OK);
	stk_commit(s);
	cr_assert_eq(s->ops->idem_get(s, M1, "k1", &got), CAT_OK);
	expect_idem_eq(&got, &in_flight);
	cr_assert_null(got.response_json);
	store_idem_clear(&got);
	cr_assert_eq(s->ops->idem_get(s, M1, long_key, &got), CAT_OK);
	expect_idem_eq(&got, &longest);
	cr_assert_eq(s->ops->idem_get(s, M2, "k1", &got), CAT_OK);
	expect_idem_eq(&got, &same_key_m2);

	/* replace: every field */
	struct store_idem done = make_idem(M1, "k1", NOW_MS + 10);
	done.fingerprint[5] = 0;
	done.state = IDEM_DONE;
	done.http_status = 402;
	done.response_json = "{\"error\":{\"code\":\"card_declined\"}}";
	snprintf(done.object_id, sizeof done.object_id, "pi_2");
	stk_begin(s);
	cr_assert_eq(s->ops->idem_put(s, &done), CAT_OK);
	stk_commit(s);
	cr_assert_eq(s->ops->idem_get(s, M1, "k1", &got), CAT_OK);
	expect_idem_eq(&got, &done);
	store_idem_clear(&got);
	cr_assert_null(got.response_json);
	cr_assert_eq(raw_int("SELECT count(*) FROM idempotency_keys"), 3);

	/* expire: strictly before before_ms */
	stk_begin(s);
	for (int i = 0; i < 10; i++) {
		char key[16];
		snprintf(key, sizeof key, "old%d", i);
		struct store_idem r = make_idem(M1, key, NOW_MS - 1000 + i);
		cr_assert_eq(s->ops->idem_put(s, &r), CAT_OK);
	}
	stk_commit(s);
	long removed = -1;
	stk_begin(s);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS - 1000 + 4, &removed), CAT_OK);
	cr_assert_eq(removed, 4);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS - 1000 + 4, &removed), CAT_OK);
	cr_assert_eq(removed, 0);
	stk_commit(s);
	cr_assert_eq(s->ops->idem_get(s, M1, "old3", &got), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->idem_get(s, M1, "old4", &got), CAT_OK);
	stk_begin(s);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS, &removed), CAT_OK);
	cr_assert_eq(removed, 6, "old4..old9; not the keys made at NOW_MS");
	cr_assert_eq(raw_int("SELECT count(*) FROM idempotency_keys"), 9, "not yet committed");
	stk_commit(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM idempotency_keys"), 3);
	stk_begin(s);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS + 1, &removed), CAT_OK);
	cr_assert_eq(removed, 2, "across merchants");
	stk_commit(s);
	cr_assert_eq(s->ops->idem_get(s, M1, "k1", &got), CAT_OK, "made at NOW_MS + 10");
	store_idem_clear(&got);
	cr_assert_eq(raw_int("SELECT count(*) FROM idempotency_keys"), 1);

	/* refusals */
	struct store_idem bad = make_idem(M1, "k", NOW_MS);
	bad.state = (enum idem_state)2;
	stk_begin(s);
	cr_assert_eq(s->ops->idem_put(s, &bad), CAT_PARAMETER_INVALID);
	bad = make_idem(M1, "k", NOW_MS);
	bad.key[0] = '\0';
	cr_assert_eq(s->ops->idem_put(s, &bad), CAT_PARAMETER_INVALID);
	bad = make_idem("acct_nobody", "k", NOW_MS);
	cr_assert_eq(s->ops->idem_put(s, &bad), CAT_NO_SUCH_OBJECT, "unknown merchant");
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS, NULL), CAT_PARAMETER_INVALID);
	stk_commit(s);
	char too_long[STORE_IDEM_KEY_MAX + 2];
	memset(too_long, 'y', sizeof too_long - 1);
	too_long[sizeof too_long - 1] = '\0';
	cr_assert_eq(s->ops->idem_get(s, M1, too_long, &got), CAT_PARAMETER_INVALID);
	cr_assert_eq(s->ops->idem_get(s, M1, "", &got), CAT_PARAMETER_INVALID);
	store_close(s);
}

Test(store_payments, idem_expire_is_bounded_per_call)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	const int total = STORE_IDEM_EXPIRE_MAX + 5;
	stk_begin(s);
	for (int i = 0; i < total; i++) {
		char key[32];
		snprintf(key, sizeof key, "key-%d", i);
		struct store_idem r = make_idem(i % 2 ? M1 : M2, key, NOW_MS + i);
		cr_assert_eq(s->ops->idem_put(s, &r), CAT_OK);
	}
	stk_commit(s);
	long removed = 0;
	stk_begin(s);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS + total, &removed), CAT_OK);
	cr_assert_eq(removed, STORE_IDEM_EXPIRE_MAX);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS + total, &removed), CAT_OK);
	cr_assert_eq(removed, 5);
	stk_commit(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM idempotency_keys"), 0);
	store_close(s);
}

/* ---- secrets -------------------------------------------------------------- */

Test(store_payments, secret_stable_across_reopen_and_distinct_per_name)
{
	static const uint8_t zero[32] = {0};
	struct store *s = open_rw();
	uint8_t a[32], b[32], again[32];
	/* outside a transaction: made and committed on its own */
	cr_assert_eq(s->ops->secret_get(s, "card_fingerprint", a), CAT_OK);
	cr_assert_neq(memcmp(a, zero, 32), 0);
	cr_assert_eq(raw_int("SELECT count(*) FROM secrets"), 1, "committed");
	stk_begin(s);
	cr_assert_eq(s->ops->secret_get(s, "webhook", b), CAT_OK);
	stk_commit(s);
	cr_assert_neq(memcmp(a, b, 32), 0, "one secret per name");
	cr_assert_eq(s->ops->secret_get(s, "card_fingerprint", again), CAT_OK);
	cr_assert_eq(memcmp(a, again, 32), 0);
	store_close(s);

	s = open_rw();
	cr_assert_eq(s->ops->secret_get(s, "card_fingerprint", again), CAT_OK);
	cr_assert_eq(memcmp(a, again, 32), 0, "stable across reopen");
	stk_begin(s);
	cr_assert_eq(s->ops->secret_get(s, "webhook", again), CAT_OK);
	cr_assert_eq(memcmp(b, again, 32), 0);
	/* made inside the caller's transaction: goes with it */
	cr_assert_eq(s->ops->secret_get(s, "ephemeral", again), CAT_OK);
	store_rollback(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM secrets"), 2);
	cr_assert_eq(s->ops->secret_get(s, "", again), CAT_PARAMETER_INVALID);
	cr_assert_eq(s->ops->secret_get(s, NULL, again), CAT_PARAMETER_INVALID);
	store_close(s);

	/* a reader sees the secrets but cannot make one */
	s = stk_open(&tdb, STORE_READONLY, 0);
	cr_assert_eq(s->ops->secret_get(s, "card_fingerprint", again), CAT_OK);
	cr_assert_eq(memcmp(a, again, 32), 0);
	cr_assert_eq(s->ops->secret_get(s, "missing", again), CAT_NO_SUCH_OBJECT);
	store_close(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM secrets"), 2);
	cr_assert_eq(raw_int("SELECT count(*) FROM secrets WHERE length(value) = 32"), 2);
}

/* ---- refusals ------------------------------------------------------------- */

Test(store_payments, update_of_a_missing_id)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1);
	struct payment_attempt a = full_attempt(M1, pi.id, 1, 1, ATT_PENDING);
	struct refund r = full_refund(M1, pi.id, a.id, 1, REFUND_PENDING);
	stk_begin(s);
	cr_assert_eq(s->ops->intent_update(s, &pi), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->attempt_update(s, &a), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->refund_update(s, &r), CAT_NO_SUCH_OBJECT);
	stk_commit(s);
	cr_assert_eq(raw_int("SELECT (SELECT count(*) FROM payment_intents) + "
			     "(SELECT count(*) FROM payment_attempts) + "
			     "(SELECT count(*) FROM refunds)"),
		     0, "an update inserts nothing");
	struct payment_attempt ga;
	cr_assert_eq(s->ops->attempt_get(s, a.id, &ga), CAT_NO_SUCH_OBJECT);
	store_close(s);
}

Test(store_payments, writes_need_a_transaction)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1);
	struct store_event e = make_event(M1, 1, "x.y", NULL);
	struct store_idem k = make_idem(M1, "k", NOW_MS);
	long removed;
	cr_assert_eq(s->ops->intent_insert(s, &pi), CAT_INTERNAL);
	cr_assert_eq(s->ops->event_insert(s, &e), CAT_INTERNAL);
	cr_assert_eq(s->ops->idem_put(s, &k), CAT_INTERNAL);
	cr_assert_eq(s->ops->idem_expire(s, NOW_MS, &removed), CAT_INTERNAL);
	store_close(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM payment_intents"), 0);

	s = stk_open(&tdb, STORE_READONLY, 0);
	stk_begin(s);
	cr_assert_eq(s->ops->intent_insert(s, &pi), CAT_INTERNAL);
	cr_assert_eq(s->ops->event_insert(s, &e), CAT_INTERNAL);
	store_rollback(s);
	store_close(s);
}

/* Refused writes leave the rest of the batch intact and committable. */
Test(store_payments, refused_writes_leave_the_batch)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payment_intent pi = bare_intent(M1, 1);
	stk_begin(s);
	insert_intent(s, &pi);

	struct payment_intent bad = bare_intent("acct_nobody", 2);
	cr_assert_eq(s->ops->intent_insert(s, &bad), CAT_NO_SUCH_OBJECT, "unknown merchant");
	bad = bare_intent(M1, 3);
	bad.currency[0] = 'u';
	cr_assert_eq(s->ops->intent_insert(s, &bad), CAT_PARAMETER_INVALID, "currency as stored");
	bad = bare_intent(M1, 3);
	bad.status = (enum pi_status)7;
	cr_assert_eq(s->ops->intent_insert(s, &bad), CAT_PARAMETER_INVALID);
	bad = bare_intent(M1, 3);
	memset(bad.customer, 'c', sizeof bad.customer); /* no NUL */
	cr_assert_eq(s->ops->intent_insert(s, &bad), CAT_PARAMETER_INVALID);
	bad = bare_intent(M1, 3);
	bad.id[0] = '\0';
	cr_assert_eq(s->ops->intent_insert(s, &bad), CAT_PARAMETER_INVALID);
	cr_assert_eq(s->ops->intent_insert(s, NULL), CAT_PARAMETER_INVALID);
	/* promise 3 in the schema: a caller bug, refused */
	bad = bare_intent(M1, 3);
	bad.amount_received = 50;
	bad.amount_refunded = 51;
	cr_assert_eq(s->ops->intent_insert(s, &bad), CAT_INTERNAL);
	cr_assert_eq(s->ops->intent_insert(s, &pi), CAT_INTERNAL, "duplicate id");

	char unknown[ID_MAX];
	stk_mkid(unknown, "pi", 77);
	struct payment_attempt orphan = full_attempt(M1, unknown, 1, 1, ATT_PENDING);
	cr_assert_eq(s->ops->attempt_insert(s, &orphan), CAT_NO_SUCH_OBJECT, "unknown intent");
	struct payment_attempt a = full_attempt(M1, pi.id, 1, 1, ATT_PENDING);
	insert_attempt(s, &a);
	struct payment_attempt twin = full_attempt(M1, pi.id, 2, 1, ATT_PENDING);
	cr_assert_eq(s->ops->attempt_insert(s, &twin), CAT_INTERNAL, "seq taken");
	twin.seq = 2;
	twin.status = (enum attempt_status)8;
	cr_assert_eq(s->ops->attempt_insert(s, &twin), CAT_PARAMETER_INVALID);
	struct refund r = full_refund(M1, pi.id, unknown, 1, REFUND_PENDING);
	cr_assert_eq(s->ops->refund_insert(s, &r), CAT_NO_SUCH_OBJECT, "unknown attempt");
	r = full_refund(M1, pi.id, a.id, 1, REFUND_PENDING);
	r.amount = 0;
	cr_assert_eq(s->ops->refund_insert(s, &r), CAT_INTERNAL);
	struct store_event e = make_event(M1, 1, "", NULL);
	cr_assert_eq(s->ops->event_insert(s, &e), CAT_PARAMETER_INVALID, "no type");
	stk_commit(s);

	cr_assert_eq(raw_int("SELECT count(*) FROM payment_intents"), 1);
	cr_assert_eq(raw_int("SELECT count(*) FROM payment_attempts"), 1);
	cr_assert_eq(raw_int("SELECT count(*) FROM refunds"), 0);
	cr_assert_eq(raw_int("SELECT count(*) FROM events"), 0);
	struct payment_intent got;
	cr_assert_eq(s->ops->intent_get(s, M1, pi.id, &got), CAT_OK);
	expect_intent_eq(&got, &pi);
	payment_intent_clear(&got);
	store_close(s);
}

/* ---- schema --------------------------------------------------------------- */

Test(store_payments, upgrade_from_version_2)
{
	struct store *s = stk_open(&tdb, STORE_CREATE, 2);
	char mid[ID_MAX];
	int v = 0;
	cr_assert_eq(s->ops->schema_version(s, &v), CAT_OK);
	cr_assert_eq(v, 2);
	stk_begin(s);
	cr_assert_eq(s->ops->merchant_ensure(s, "one", M1, NOW_MS, mid), CAT_OK);
	struct payment_intent pi = full_intent(M1, 1);
	cr_assert_neq(s->ops->intent_insert(s, &pi), CAT_OK, "no payments tables at version 2");
	stk_commit(s);
	store_close(s);
	cr_assert_eq(raw_int("PRAGMA user_version"), 2);
	cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name = 'payment_intents'"),
		     0);

	s = open_rw();
	cr_assert_eq(s->ops->schema_version(s, &v), CAT_OK);
	cr_assert_eq(v, store_migration_count);
	cr_assert_geq(v, 3);
	stk_begin(s);
	cr_assert_eq(s->ops->merchant_ensure(s, "one", "acct_new", NOW_MS, mid), CAT_OK);
	cr_assert_str_eq(mid, M1, "the merchant of version 2 is kept");
	insert_intent(s, &pi);
	stk_commit(s);
	struct payment_intent got;
	cr_assert_eq(s->ops->intent_get(s, M1, pi.id, &got), CAT_OK);
	expect_intent_eq(&got, &pi);
	payment_intent_clear(&got);
	uint8_t key[32];
	cr_assert_eq(s->ops->secret_get(s, "card_fingerprint", key), CAT_OK);
	store_close(s);
	cr_assert_eq(raw_int("PRAGMA user_version"), store_migration_count);
}

/* Promise 9: the schema has nowhere to put a card number or a CVC. */
Test(store_payments, no_column_for_card_numbers)
{
	store_close(open_rw());
	cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema m, pragma_table_info(m.name) p "
			     "WHERE m.type = 'table' AND (p.name LIKE '%number%' OR "
			     "p.name LIKE '%pan%' OR p.name LIKE '%cvc%' OR p.name LIKE '%cvv%')"),
		     0);
	cr_assert_eq(raw_int("SELECT count(*) FROM pragma_table_info('payment_attempts') "
			     "WHERE name LIKE 'pm\\_%' ESCAPE '\\'"),
		     8);
}

static int statements_of(sqlite3 *db, int *busy)
{
	int n = 0;
	*busy = 0;
	for (sqlite3_stmt *st = NULL; (st = sqlite3_next_stmt(db, st)) != NULL; n++)
		*busy += sqlite3_stmt_busy(st) != 0;
	return n;
}

static void ignore(void *ctx, const void *record)
{
	(void)ctx;
	(void)record;
}

/* The hot path prepares each statement once per connection and leaves
 * none running once an operation returns. */
Test(store_payments, statements_prepared_once)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	sqlite3 *db = store_sqlite_db(s);
	int warm = 0, busy = 0;
	for (int round = 0; round < 30; round++) {
		struct payment_intent pi = full_intent(M1, round);
		struct payment_attempt a = full_attempt(M1, pi.id, round, 1, ATT_PENDING);
		struct refund r = full_refund(M1, pi.id, a.id, round, REFUND_PENDING);
		struct store_event e = make_event(M1, round, "payment_intent.created", "{}");
		char key[16];
		snprintf(key, sizeof key, "k%d", round);
		struct store_idem k = make_idem(M1, key, NOW_MS + round);
		uint8_t secret[32];
		long removed;
		stk_begin(s);
		insert_intent(s, &pi);
		insert_attempt(s, &a);
		insert_refund(s, &r);
		insert_event(s, &e);
		cr_assert_eq(s->ops->idem_put(s, &k), CAT_OK);
		pi.status = PI_PROCESSING;
		cr_assert_eq(s->ops->intent_update(s, &pi), CAT_OK);
		a.status = ATT_UNKNOWN;
		cr_assert_eq(s->ops->attempt_update(s, &a), CAT_OK);
		cr_assert_eq(s->ops->refund_update(s, &r), CAT_OK);
		cr_assert_eq(s->ops->idem_expire(s, NOW_MS + round - 5, &removed), CAT_OK);
		cr_assert_eq(s->ops->secret_get(s, "card_fingerprint", secret), CAT_OK);
		stk_commit(s);

		struct payment_intent gi;
		cr_assert_eq(s->ops->intent_get(s, M1, pi.id, &gi), CAT_OK);
		payment_intent_clear(&gi);
		struct store_idem gk;
		cr_assert_eq(s->ops->idem_get(s, M1, key, &gk), CAT_OK);
		store_idem_clear(&gk);
		struct payment_attempt list[4];
		int n;
		cr_assert_eq(s->ops->attempt_list(s, pi.id, list, 4, &n), CAT_OK);
		cr_assert_eq(s->ops->attempt_unsettled(s, ignore, NULL), CAT_OK);
		cr_assert_eq(s->ops->refund_pending(s, ignore, NULL), CAT_OK);
		struct store_page page = {.limit = 3};
		cr_assert_eq(s->ops->intent_list(s, M1, &page, ignore, NULL, NULL), CAT_OK);
		page.starting_after = pi.id;
		cr_assert_eq(s->ops->event_list(s, M1, &page, ignore, NULL, NULL), CAT_OK);
		page = (struct store_page){.limit = 3, .ending_before = r.id, .filter = pi.id};
		cr_assert_eq(s->ops->refund_list(s, M1, &page, ignore, NULL, NULL), CAT_OK);

		int count = statements_of(db, &busy);
		cr_assert_eq(busy, 0, "round %d: %d statements left running", round, busy);
		if (round == 0)
			warm = count;
		cr_assert_eq(count, warm, "round %d: %d statements, %d after the first", round,
			     count, warm);
	}
	store_close(s);
}

/* account_list: the accounts under a code prefix, by code. */
struct codes {
	int n;
	char codes[8][STORE_CODE_MAX + 1];
};

static void collect_code(void *ctx, const void *record)
{
	const struct store_account *a = record;
	struct codes *seen = ctx;
	cr_assert_lt(seen->n, 8);
	snprintf(seen->codes[seen->n++], sizeof seen->codes[0], "%s", a->code);
	cr_assert_gt(a->account.id, 0);
	cr_assert_str_eq(a->account.currency, strstr(a->code, "usd") ? "USD" : "CNY");
}

Test(store_payments, account_list_by_prefix)
{
	struct store *s = open_rw();
	static const char *const codes[] = {"merchant:acct_a:available:cny",
					    "merchant:acct_a:pending:cny", "merchant:acct_ab:available:usd",
					    "merchant:acct_b:available:cny", "world:cny"};
	int64_t id;
	stk_begin(s);
	for (int i = 4; i >= 0; i--)
		cr_assert_eq(s->ops->account_open(s, codes[i], i == 2 ? "USD" : "CNY", 0, NOW_MS, &id),
			     CAT_OK);
	stk_commit(s);
	struct codes seen = {0};
	cr_assert_eq(s->ops->account_list(s, "merchant:acct_a:", collect_code, &seen), CAT_OK);
	cr_assert_eq(seen.n, 2);
	cr_assert_str_eq(seen.codes[0], codes[0]);
	cr_assert_str_eq(seen.codes[1], codes[1]);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->account_list(s, "merchant:", collect_code, &seen), CAT_OK);
	cr_assert_eq(seen.n, 4);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->account_list(s, "", collect_code, &seen), CAT_OK);
	cr_assert_eq(seen.n, 5);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->account_list(s, "zzz", collect_code, &seen), CAT_OK);
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(s->ops->account_list(s, NULL, collect_code, &seen), CAT_PARAMETER_INVALID);
	store_close(s);
}
