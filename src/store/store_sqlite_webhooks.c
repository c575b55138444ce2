/* store/store_sqlite_webhooks: webhook endpoints and the outbox of
 * deliveries in the SQLite backend (schema/0010_webhooks.sql).  The
 * connection, transactions and statement cache are store_sqlite.c's; the
 * record machinery is sqlite_records.c's; this file keeps its SQL in the
 * cache slots from SQ_SLOT_WEBHOOKS.
 *
 * Events fan out to deliveries by a trigger, so nothing here runs on the
 * hot path unless a merchant has endpoints.  An endpoint's subscriptions
 * (the rows the trigger joins) are rewritten with the endpoint, in one
 * savepoint: its enabled_events while it is enabled and not deleted, none
 * otherwise ("*" alone when it is listed, so an event matches an endpoint
 * once).  The signing secrets are only ever the sealed blobs the engine
 * made. */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/webhook.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

/* ?1..?16 in this order. */
#define SQW_ENDPOINT_COLS                                                                  \
	"id, merchant_id, url, description, enabled_events, metadata, status, "             \
	"secret_sealed, old_secret_sealed, old_expires_ms, failures, failing_since_ms, "    \
	"last_success_ms, disabled_reason, deleted, created_ms"
#define SQW_ENDPOINT_PARAMS \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16"
/* Not written: id ?1, merchant_id ?2 (matched), created_ms ?16. */
#define SQW_ENDPOINT_SET                                                                    \
	"url = ?3, description = ?4, enabled_events = ?5, metadata = ?6, status = ?7, "      \
	"secret_sealed = ?8, old_secret_sealed = ?9, old_expires_ms = ?10, failures = ?11, " \
	"failing_since_ms = ?12, last_success_ms = ?13, disabled_reason = ?14, deleted = ?15"

/* ?1..?12 in this order. */
#define SQW_DELIVERY_COLS                                                                 \
	"id, kind, event_id, merchant_id, endpoint_id, state, attempts, created_ms, "      \
	"next_ms, done_ms, last_status, last_error"
#define SQW_ATTEMPT_COLS "delivery_id, n, started_ms, status, latency_ms, error"

#define SQW_STATEMENTS(X)                                                                    \
	X(ENDPOINT_INSERT, "INSERT INTO webhook_endpoints (" SQW_ENDPOINT_COLS ") VALUES ("  \
			   SQW_ENDPOINT_PARAMS ")")                                          \
	X(ENDPOINT_UPDATE, "UPDATE webhook_endpoints SET " SQW_ENDPOINT_SET                 \
			   " WHERE id = ?1 AND merchant_id = ?2")                            \
	X(ENDPOINT_HEALTH, "UPDATE webhook_endpoints SET failures = ?3, "                   \
			   "failing_since_ms = ?4, last_success_ms = ?5 "                    \
			   "WHERE id = ?1 AND merchant_id = ?2")                             \
	X(ENDPOINT_GET, "SELECT " SQW_ENDPOINT_COLS " FROM webhook_endpoints "              \
			"WHERE id = ?1 AND (?2 IS NULL OR merchant_id = ?2)")               \
	X(ENDPOINT_COUNT, "SELECT count(*) FROM webhook_endpoints "                         \
			  "WHERE merchant_id = ?1 AND deleted = 0")                          \
	SQ_PAGES(X, ENDPOINT_PAGE, SQW_ENDPOINT_COLS, "webhook_endpoints",                \
		    "merchant_id = ?1 AND deleted = 0")                                      \
	X(SUBSCRIPTIONS_CLEAR, "DELETE FROM webhook_subscriptions "                         \
			       "WHERE merchant_id = ?2 AND endpoint_id = ?1")                \
	X(DELIVERY_SKIP_ENDPOINT, "UPDATE deliveries SET state = 3, done_ms = ?2, "          \
				  "last_error = ?3 WHERE endpoint_id = ?1 AND state = 0")     \
	X(SUBSCRIPTIONS_SET, "INSERT OR IGNORE INTO webhook_subscriptions "                 \
			     "(merchant_id, type, endpoint_id) "                             \
			     "SELECT ?1, value, ?2 FROM json_each(?3) WHERE type = 'text' "  \
			     "AND (value = '*' OR NOT EXISTS (SELECT 1 FROM json_each(?3) "   \
			     "WHERE value = '*'))")                                            \
	X(DELIVERY_INSERT, "INSERT INTO deliveries (kind, event_id, merchant_id, endpoint_id, " \
			   "state, attempts, created_ms, next_ms, done_ms, last_status, "    \
			   "last_error) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)") \
	X(DELIVERY_UPDATE, "UPDATE deliveries SET state = ?6, attempts = ?7, next_ms = ?9, " \
			   "done_ms = ?10, last_status = ?11, last_error = ?12 WHERE id = ?1") \
	X(DELIVERY_GET, "SELECT " SQW_DELIVERY_COLS " FROM deliveries WHERE id = ?1")       \
	X(DELIVERY_DUE, "SELECT " SQW_DELIVERY_COLS " FROM deliveries "                     \
			"WHERE state = 0 AND next_ms <= ?1 "                                \
			"AND (kind = 1 OR endpoint_id IN (SELECT id FROM webhook_endpoints " \
			"WHERE status = 0 AND deleted = 0)) "                               \
			"AND id NOT IN (SELECT value FROM json_each(?3)) "                  \
			"AND endpoint_id NOT IN (SELECT value FROM json_each(?4)) "         \
			"ORDER BY next_ms, id LIMIT ?2")                                    \
	X(DELIVERY_OF_EVENT, "SELECT " SQW_DELIVERY_COLS " FROM deliveries "                \
			     "WHERE event_id = ?1 ORDER BY id LIMIT ?2")                     \
	/* the retention sweep: ?1 done before, ?2 at most this many */                   \
	X(EXPIRE_ATTEMPTS, "DELETE FROM delivery_attempts WHERE delivery_id IN ("            \
			   "SELECT id FROM deliveries WHERE state <> 0 AND done_ms < ?1 "    \
			   "ORDER BY done_ms, id LIMIT ?2)")                                 \
	X(EXPIRE_DELIVERIES, "DELETE FROM deliveries WHERE id IN ("                          \
			     "SELECT id FROM deliveries WHERE state <> 0 AND done_ms < ?1 "  \
			     "ORDER BY done_ms, id LIMIT ?2)")                               \
	X(ATTEMPT_INSERT, "INSERT INTO delivery_attempts (" SQW_ATTEMPT_COLS ") "           \
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                 \
	X(ATTEMPT_LIST, "SELECT " SQW_ATTEMPT_COLS " FROM delivery_attempts "               \
			"WHERE delivery_id = ?1 ORDER BY n LIMIT ?2")

enum sqw_stmt_id {
#define SQW_ENUM(name, sql) SQW_##name,
	SQW_STATEMENTS(SQW_ENUM)
#undef SQW_ENUM
	SQW_STMT_COUNT
};

static_assert(SQ_SLOT_WEBHOOKS + SQW_STMT_COUNT <= SQ_SLOT_COUNT,
	      "the webhook statements overflow their cache slots");
static_assert(WEBHOOK_ENABLED == 0 && WEBHOOK_DISABLED == 1, "webhook_status vs 0010 schema");
static_assert(DELIVERY_PENDING == 0 && DELIVERY_SKIPPED == 3, "delivery_state vs 0010 schema");

static const char *const sqw_sql[SQW_STMT_COUNT] = {
#define SQW_TEXT(name, sql) [SQW_##name] = sql,
	SQW_STATEMENTS(SQW_TEXT)
#undef SQW_TEXT
};

/* Rows one read of a delivery's attempts or an event's deliveries takes:
 * more than a delivery can have in three days at the shortest backoff
 * is not kept in memory at once. */
#define SQW_LIST_MAX 500

static int sqw_stmt(struct sq_store *s, enum sqw_stmt_id id, sqlite3_stmt **out)
{
	return sq_prepared(s, SQ_SLOT_WEBHOOKS + (int)id, sqw_sql[id], out);
}

/* ---- endpoints ------------------------------------------------------------- */

static bool sqw_endpoint_ok(const struct webhook_endpoint *w)
{
	return w && sq_id_ok(w->id) && sq_id_ok(w->merchant_id) && w->url && w->url[0] &&
	       strlen(w->url) <= WEBHOOK_URL_MAX && w->enabled_events_json &&
	       (w->status == WEBHOOK_ENABLED || w->status == WEBHOOK_DISABLED) &&
	       w->secret_sealed_len > CRYPTO_SEAL_OVERHEAD &&
	       w->secret_sealed_len <= sizeof w->secret_sealed &&
	       w->old_secret_sealed_len <= sizeof w->old_secret_sealed &&
	       SQ_FIXED_OK(w->disabled_reason) && w->failures >= 0;
}

static int sqw_bind_blob(sqlite3_stmt *st, int i, const uint8_t *blob, size_t len)
{
	return len ? sqlite3_bind_blob(st, i, blob, (int)len, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int sqw_bind_endpoint(struct sq_store *s, sqlite3_stmt *st, const struct webhook_endpoint *w)
{
	int b = sq_bind_text(st, 1, w->id) | sq_bind_text(st, 2, w->merchant_id) |
		sq_bind_text(st, 3, w->url) | sq_bind_heap(st, 4, w->description) |
		sq_bind_text(st, 5, w->enabled_events_json) | sq_bind_heap(st, 6, w->metadata_json) |
		sqlite3_bind_int(st, 7, (int)w->status) |
		sqw_bind_blob(st, 8, w->secret_sealed, w->secret_sealed_len) |
		sqw_bind_blob(st, 9, w->old_secret_sealed, w->old_secret_sealed_len) |
		sqlite3_bind_int64(st, 10, w->old_expires_ms) | sqlite3_bind_int(st, 11, w->failures) |
		sqlite3_bind_int64(st, 12, w->failing_since_ms) |
		sqlite3_bind_int64(st, 13, w->last_success_ms) |
		sq_bind_text(st, 14, w->disabled_reason) | sqlite3_bind_int(st, 15, w->deleted ? 1 : 0);
	if (sqlite3_bind_parameter_count(st) >= 16) /* the UPDATE leaves created_ms alone */
		b |= sqlite3_bind_int64(st, 16, w->created_ms);
	return sq_bound(s, st, b);
}

static int sqw_read_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t cap, size_t *len)
{
	const void *blob = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (n > cap || (n && !blob))
		return sq_misuse("read", "a stored sealed secret is too long");
	if (n)
		memcpy(out, blob, n);
	*len = n;
	return CAT_OK;
}

static int sqw_read_endpoint(sqlite3_stmt *st, void *rec)
{
	struct webhook_endpoint *w = rec;
	memset(w, 0, sizeof *w);
	w->status = (enum webhook_status)sqlite3_column_int(st, 6);
	w->old_expires_ms = sqlite3_column_int64(st, 9);
	w->failures = sqlite3_column_int(st, 10);
	w->failing_since_ms = sqlite3_column_int64(st, 11);
	w->last_success_ms = sqlite3_column_int64(st, 12);
	w->deleted = sqlite3_column_int(st, 14) != 0;
	w->created_ms = sqlite3_column_int64(st, 15);
	int rc = sq_text(st, 0, w->id, sizeof w->id);
	if (!rc)
		rc = sq_text(st, 1, w->merchant_id, sizeof w->merchant_id);
	if (!rc)
		rc = sq_heap(st, 2, &w->url);
	if (!rc)
		rc = sq_heap(st, 3, &w->description);
	if (!rc)
		rc = sq_heap(st, 4, &w->enabled_events_json);
	if (!rc)
		rc = sq_heap(st, 5, &w->metadata_json);
	if (!rc)
		rc = sqw_read_blob(st, 7, w->secret_sealed, sizeof w->secret_sealed,
				   &w->secret_sealed_len);
	if (!rc)
		rc = sqw_read_blob(st, 8, w->old_secret_sealed, sizeof w->old_secret_sealed,
				   &w->old_secret_sealed_len);
	if (!rc)
		rc = sq_text(st, 13, w->disabled_reason, sizeof w->disabled_reason);
	return rc;
}

static void sqw_clear_endpoint(void *rec)
{
	webhook_endpoint_clear(rec);
}

static const struct sq_kind sqw_endpoints = {
	.size = sizeof(struct webhook_endpoint),
	.id_offset = offsetof(struct webhook_endpoint, id),
	.read = sqw_read_endpoint,
	.clear = sqw_clear_endpoint,
};

/* Which types fan out to w: its enabled events while it may receive. */
static int sqw_subscribe(struct sq_store *s, const struct webhook_endpoint *w)
{
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_SUBSCRIPTIONS_CLEAR, &st);
	if (!rc && !(rc = sq_bound(s, st, sq_bind_text(st, 1, w->id) |
						  sq_bind_text(st, 2, w->merchant_id))))
		rc = sq_run(s, st);
	if (rc || w->status != WEBHOOK_ENABLED || w->deleted)
		return rc;
	if ((rc = sqw_stmt(s, SQW_SUBSCRIPTIONS_SET, &st)))
		return rc;
	rc = sq_bound(s, st, sq_bind_text(st, 1, w->merchant_id) | sq_bind_text(st, 2, w->id) |
				     sq_bind_text(st, 3, w->enabled_events_json));
	return rc ? rc : sq_run(s, st);
}

static int sqw_endpoint_write(struct store *base, enum sqw_stmt_id id,
			      const struct webhook_endpoint *w, const char *op)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sqw_endpoint_ok(w))
		return CAT_PARAMETER_INVALID;
	if ((rc = sq_savepoint(s)))
		return rc;
	sqlite3_stmt *st;
	if (!(rc = sqw_stmt(s, id, &st)) && !(rc = sqw_bind_endpoint(s, st, w)))
		rc = sq_write(s, st, op, 0);
	if (!rc && id == SQW_ENDPOINT_UPDATE)
		rc = sq_updated(s, rc);
	if (!rc)
		rc = sqw_subscribe(s, w);
	return sq_savepoint_end(s, rc);
}

int sq_webhook_insert(struct store *base, const struct webhook_endpoint *w)
{
	return sqw_endpoint_write(base, SQW_ENDPOINT_INSERT, w, "webhook_insert");
}

int sq_webhook_update(struct store *base, const struct webhook_endpoint *w)
{
	return sqw_endpoint_write(base, SQW_ENDPOINT_UPDATE, w, "webhook_update");
}

/* Only the failure count and times: what every delivery attempt changes
 * (the subscriptions stay as they are). */
int sq_webhook_health_update(struct store *base, const struct webhook_endpoint *w)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "webhook_health_update");
	if (rc)
		return rc;
	if (!sqw_endpoint_ok(w))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqw_stmt(s, SQW_ENDPOINT_HEALTH, &st)))
		return rc;
	int b = sq_bind_text(st, 1, w->id) | sq_bind_text(st, 2, w->merchant_id) |
		sqlite3_bind_int(st, 3, w->failures) | sqlite3_bind_int64(st, 4, w->failing_since_ms) |
		sqlite3_bind_int64(st, 5, w->last_success_ms);
	if ((rc = sq_bound(s, st, b)))
		return rc;
	return sq_updated(s, sq_write(s, st, "webhook_health_update", 0));
}

int sq_webhook_get(struct store *base, const char *merchant_id, const char *id,
		   struct webhook_endpoint *out)
{
	struct sq_store *s = sq(base);
	if (!out)
		return CAT_PARAMETER_INVALID;
	if (!sq_id_ok(id) || (merchant_id && !sq_id_ok(merchant_id)))
		return CAT_NO_SUCH_OBJECT;
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_ENDPOINT_GET, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, id) | sq_bind_heap(st, 2, merchant_id))))
		return rc;
	return sq_one(s, st, &sqw_endpoints, out);
}

int sq_webhook_list(struct store *base, const char *merchant_id, const struct store_page *page,
		    store_each_fn each, void *ctx, bool *has_more)
{
	static const enum sqw_stmt_id by_dir[] = {SQW_ENDPOINT_PAGE_FIRST, SQW_ENDPOINT_PAGE_AFTER,
						  SQW_ENDPOINT_PAGE_BEFORE};
	struct sq_store *s = sq(base);
	const char *cursor;
	enum sq_dir dir;
	sqlite3_stmt *st;
	int rc = sq_page_check(merchant_id, page, each, &cursor, &dir);
	if (!rc)
		rc = sqw_stmt(s, by_dir[dir], &st);
	if (!rc)
		rc = sq_bound(s, st, sq_bind_text(st, 1, merchant_id) | sq_bind_heap(st, 2, cursor) |
					     sqlite3_bind_int(st, 3, page->limit + 1));
	return rc ? rc : sq_page_deliver(s, st, &sqw_endpoints, page, dir, each, ctx, has_more);
}

int sq_webhook_count(struct store *base, const char *merchant_id, long *out)
{
	struct sq_store *s = sq(base);
	if (!out || !sq_id_ok(merchant_id))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_ENDPOINT_COUNT, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, merchant_id))))
		return rc;
	if ((rc = sq_row(s, st)))
		return rc;
	*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return CAT_OK;
}

/* ---- deliveries and attempts ----------------------------------------------- */

static bool sqw_delivery_ok(const struct delivery *d)
{
	return d && (d->kind == DELIVERY_WEBHOOK || d->kind == DELIVERY_EMAIL) &&
	       sq_id_ok(d->event_id) && sq_id_ok(d->merchant_id) && SQ_FIXED_OK(d->endpoint_id) &&
	       (d->kind == DELIVERY_EMAIL || d->endpoint_id[0]) && (int)d->state >= 0 &&
	       d->state <= DELIVERY_SKIPPED && d->attempts >= 0 && SQ_FIXED_OK(d->last_error);
}

static int sqw_bind_delivery(struct sq_store *s, sqlite3_stmt *st, const struct delivery *d)
{
	int b = sqlite3_bind_int64(st, 1, d->id) | sqlite3_bind_int(st, 2, (int)d->kind) |
		sq_bind_text(st, 3, d->event_id) | sq_bind_text(st, 4, d->merchant_id) |
		sq_bind_text(st, 5, d->endpoint_id) | sqlite3_bind_int(st, 6, (int)d->state) |
		sqlite3_bind_int(st, 7, d->attempts) | sqlite3_bind_int64(st, 8, d->created_ms) |
		sqlite3_bind_int64(st, 9, d->next_ms) | sqlite3_bind_int64(st, 10, d->done_ms) |
		sqlite3_bind_int(st, 11, d->last_status) | sq_bind_text(st, 12, d->last_error);
	return sq_bound(s, st, b);
}

static int sqw_read_delivery(sqlite3_stmt *st, void *rec)
{
	struct delivery *d = rec;
	memset(d, 0, sizeof *d);
	d->id = sqlite3_column_int64(st, 0);
	d->kind = (enum delivery_kind)sqlite3_column_int(st, 1);
	d->state = (enum delivery_state)sqlite3_column_int(st, 5);
	d->attempts = sqlite3_column_int(st, 6);
	d->created_ms = sqlite3_column_int64(st, 7);
	d->next_ms = sqlite3_column_int64(st, 8);
	d->done_ms = sqlite3_column_int64(st, 9);
	d->last_status = sqlite3_column_int(st, 10);
	int rc = sq_text(st, 2, d->event_id, sizeof d->event_id);
	if (!rc)
		rc = sq_text(st, 3, d->merchant_id, sizeof d->merchant_id);
	if (!rc)
		rc = sq_text(st, 4, d->endpoint_id, sizeof d->endpoint_id);
	if (!rc)
		rc = sq_text(st, 11, d->last_error, sizeof d->last_error);
	return rc;
}

static const struct sq_kind sqw_deliveries = {
	.size = sizeof(struct delivery),
	.read = sqw_read_delivery,
	.clear = sq_clear_nothing,
};

static int sqw_read_attempt(sqlite3_stmt *st, void *rec)
{
	struct delivery_attempt *a = rec;
	memset(a, 0, sizeof *a);
	a->delivery_id = sqlite3_column_int64(st, 0);
	a->n = sqlite3_column_int(st, 1);
	a->started_ms = sqlite3_column_int64(st, 2);
	a->status = sqlite3_column_int(st, 3);
	a->latency_ms = sqlite3_column_int64(st, 4);
	return sq_text(st, 5, a->error, sizeof a->error);
}

static const struct sq_kind sqw_attempts = {
	.size = sizeof(struct delivery_attempt),
	.read = sqw_read_attempt,
	.clear = sq_clear_nothing,
};

int sq_delivery_insert(struct store *base, struct delivery *d)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "delivery_insert");
	if (rc)
		return rc;
	if (!sqw_delivery_ok(d))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqw_stmt(s, SQW_DELIVERY_INSERT, &st)) || (rc = sqw_bind_delivery(s, st, d)))
		return rc;
	if ((rc = sq_write(s, st, "delivery_insert", 0)) == CAT_OK)
		d->id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int sq_delivery_update(struct store *base, const struct delivery *d)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "delivery_update");
	if (rc)
		return rc;
	if (!sqw_delivery_ok(d) || d->id <= 0)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqw_stmt(s, SQW_DELIVERY_UPDATE, &st)) || (rc = sqw_bind_delivery(s, st, d)))
		return rc;
	return sq_updated(s, sq_write(s, st, "delivery_update", 0));
}

int sq_delivery_get(struct store *base, int64_t id, struct delivery *out)
{
	struct sq_store *s = sq(base);
	if (!out)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_DELIVERY_GET, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, id))))
		return rc;
	return sq_one(s, st, &sqw_deliveries, out);
}

/* Reads up to cap rows of the bound st, then hands each to `each`. */
static int sqw_deliver_rows(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k,
			    int cap, store_each_fn each, void *ctx)
{
	char *buf = calloc((size_t)cap, k->size);
	if (!buf) {
		sqlite3_reset(st);
		return sq_misuse("list", "out of memory");
	}
	int n = 0;
	int rc = sq_fetch(s, st, k, buf, cap, &n);
	for (int i = 0; !rc && i < n; i++)
		each(ctx, buf + (size_t)i * k->size);
	sq_clear_all(k, buf, n);
	free(buf);
	return rc;
}

int sq_delivery_due(struct store *base, int64_t before_ms, int limit, const char *busy_json,
		    const char *full_json, store_each_fn each, void *ctx)
{
	struct sq_store *s = sq(base);
	if (!each || limit < 1 || limit > SQW_LIST_MAX)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_DELIVERY_DUE, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, before_ms) |
						sqlite3_bind_int(st, 2, limit) |
						sq_bind_text(st, 3, busy_json ? busy_json : "[]") |
						sq_bind_text(st, 4, full_json ? full_json : "[]"))))
		return rc;
	return sqw_deliver_rows(s, st, &sqw_deliveries, limit, each, ctx);
}

int sq_delivery_of_event(struct store *base, const char *event_id, store_each_fn each, void *ctx)
{
	struct sq_store *s = sq(base);
	if (!each)
		return CAT_PARAMETER_INVALID;
	if (!sq_id_ok(event_id))
		return CAT_OK;
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_DELIVERY_OF_EVENT, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, event_id) |
						sqlite3_bind_int(st, 2, SQW_LIST_MAX))))
		return rc;
	return sqw_deliver_rows(s, st, &sqw_deliveries, SQW_LIST_MAX, each, ctx);
}

int sq_delivery_attempt_insert(struct store *base, const struct delivery_attempt *a)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "delivery_attempt_insert");
	if (rc)
		return rc;
	if (!a || a->delivery_id <= 0 || a->n < 1 || !SQ_FIXED_OK(a->error))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqw_stmt(s, SQW_ATTEMPT_INSERT, &st)))
		return rc;
	int b = sqlite3_bind_int64(st, 1, a->delivery_id) | sqlite3_bind_int(st, 2, a->n) |
		sqlite3_bind_int64(st, 3, a->started_ms) | sqlite3_bind_int(st, 4, a->status) |
		sqlite3_bind_int64(st, 5, a->latency_ms) | sq_bind_text(st, 6, a->error);
	if ((rc = sq_bound(s, st, b)))
		return rc;
	return sq_write(s, st, "delivery_attempt_insert", CAT_INVALID_STATE);
}

int sq_delivery_attempt_list(struct store *base, int64_t delivery_id, store_each_fn each,
			     void *ctx)
{
	struct sq_store *s = sq(base);
	if (!each)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	int rc = sqw_stmt(s, SQW_ATTEMPT_LIST, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, delivery_id) |
						sqlite3_bind_int(st, 2, SQW_LIST_MAX))))
		return rc;
	return sqw_deliver_rows(s, st, &sqw_attempts, SQW_LIST_MAX, each, ctx);
}

int sq_delivery_skip_endpoint(struct store *base, const char *endpoint_id, int64_t now_ms,
			      const char *why)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "delivery_skip_endpoint");
	if (rc)
		return rc;
	if (!sq_id_ok(endpoint_id) || !why || strlen(why) >= WEBHOOK_ERROR_MAX)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqw_stmt(s, SQW_DELIVERY_SKIP_ENDPOINT, &st)) ||
	    (rc = sq_bound(s, st, sq_bind_text(st, 1, endpoint_id) |
					  sqlite3_bind_int64(st, 2, now_ms) | sq_bind_text(st, 3, why))))
		return rc;
	return sq_run(s, st);
}

/* Attempts first, then their deliveries: the same rows, picked the same way. */
int sq_delivery_expire(struct store *base, int64_t before_ms, long *removed)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "delivery_expire");
	if (rc || !removed)
		return rc ? rc : CAT_PARAMETER_INVALID;
	*removed = 0;
	static const enum sqw_stmt_id steps[] = {SQW_EXPIRE_ATTEMPTS, SQW_EXPIRE_DELIVERIES};
	for (size_t i = 0; i < 2 && !rc; i++) {
		sqlite3_stmt *st;
		if ((rc = sqw_stmt(s, steps[i], &st)) ||
		    (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, before_ms) |
						  sqlite3_bind_int(st, 2, STORE_DELIVERY_EXPIRE_MAX))))
			break;
		rc = sq_run(s, st);
	}
	if (!rc)
		*removed = (long)sqlite3_changes(s->db);
	return rc;
}
