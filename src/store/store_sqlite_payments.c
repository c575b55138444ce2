/* store/store_sqlite_payments: the payment records of the SQLite backend
 * (schema/0003_payments.sql): installation secrets, payment intents, their
 * attempts, refunds, the event log and saved idempotent answers.  The
 * connection, transactions and the statement cache are store_sqlite.c's
 * (through sqlite_internal.h); this file keeps its own SQL texts in the
 * cache slots from SQ_SLOT_PAYMENTS.
 *
 * Shape.  This is the engine's hot path (tens of thousands of intent,
 * attempt and event writes a second, in batches), so every write is one
 * cached statement: one INSERT, one UPDATE of every mutable column by id,
 * one upsert.  A single statement is atomic on its own (SQLite undoes a
 * failed statement and leaves the caller's transaction as it was), so no
 * write here needs a savepoint.  Every write needs the caller's
 * transaction (CAT_INTERNAL otherwise), like the ledger's.  A record that
 * is malformed (an empty or overlong id, an unterminated text field, an
 * enum out of range) is refused with CAT_PARAMETER_INVALID before any SQL
 * runs; one that breaks a rule of the schema (amounts, promise 3:
 * amount_refunded <= amount_received) is a bug of the caller and fails
 * with CAT_INTERNAL; a reference to a merchant, intent or attempt that
 * does not exist is CAT_NO_SUCH_OBJECT.  Updates write everything but the
 * record's identity (id, owner, parents, seq, created_ms) and match the
 * row on id and merchant, so an update naming no row of that merchant is
 * CAT_NO_SUCH_OBJECT.
 *
 * Columns map to struct fields one to one (see the schema's header): a
 * fixed-size text field is stored as is ('' when empty), a heap string as
 * NULL exactly when its pointer is NULL.  Each record kind has one column
 * list, used by its INSERT (as ?1..?n in that order), its SELECTs
 * (columns 0..n-1) and its UPDATE (which binds the same ?k and leaves the
 * identity parameters unused), so one bind and one read function serve
 * all of them.
 *
 * Reads.  get and list of intents, refunds and events are scoped to a
 * merchant: another merchant's record is CAT_NO_SUCH_OBJECT and never
 * listed.  A get overwrites *out whole (free its earlier heap fields
 * first); the caller owns the heap fields read.  A page (at most
 * SQP_PAGE_MAX records, plus one to learn has_more) is read whole and the
 * statement reset before `each` runs, so `each` may use the store freely,
 * writes included.  The unbounded walks (attempt_unsettled,
 * refund_pending) read SQ_CHUNK records at a time by id, also with no
 * statement running during the callbacks; outside a transaction each
 * chunk is its own snapshot.  Records passed to `each` and their heap
 * fields are freed when it returns. */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "core/catalog.h"
#include "core/payment.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

#define SQP_SECRET_NAME_MAX 64

/* The schema's CHECK ranges and partial indexes spell these values out. */
static_assert(PI_REQUIRES_PAYMENT_METHOD == 0 && PI_CANCELED == 6, "pi_status vs 0003 schema");
static_assert(CAPTURE_AUTOMATIC == 0 && CAPTURE_MANUAL == 1, "capture_method vs 0003 schema");
static_assert(PM_NONE == 0 && PM_WECHAT_PAY == 3, "pm_type vs 0003 schema");
static_assert(ATT_PENDING == 0 && ATT_VERIFYING == 2 && ATT_UNKNOWN == 6 && ATT_VOIDED == 7,
	      "attempt_status vs 0003 schema (payment_attempts_unsettled)");
static_assert(REFUND_PENDING == 0 && REFUND_CANCELED == 3,
	      "refund_status vs 0003 schema (refunds_pending)");
static_assert(IDEM_IN_FLIGHT == 0 && IDEM_DONE == 1, "idem_state vs 0003 schema");

/* ---- SQL ------------------------------------------------------------------- */

#define SQP_PM_COLS \
	"pm_type, pm_id, pm_brand, pm_last4, pm_exp_month, pm_exp_year, pm_fingerprint, pm_token"

/* ?1..?32 in this order. */
#define SQP_INTENT_COLS                                                                      \
	"id, merchant_id, amount, currency, status, capture_method, amount_capturable, "     \
	"amount_received, amount_refunded, description, customer, metadata, " SQP_PM_COLS    \
	", latest_attempt_id, attempt_count, last_error_code, last_error_attempt_id, "       \
	"hold_transfer_id, capture_requested, cancel_requested, cancellation_reason, "       \
	"canceled_ms, created_ms, updated_ms, last_error_suggest, receipt_email, payer_language"
#define SQP_INTENT_PARAMS                                                                    \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "   \
	"?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34"
/* Not written: id ?1, merchant_id ?2 (matched), created_ms ?30. */
#define SQP_INTENT_SET                                                                       \
	"amount = ?3, currency = ?4, status = ?5, capture_method = ?6, "                     \
	"amount_capturable = ?7, amount_received = ?8, amount_refunded = ?9, "               \
	"description = ?10, customer = ?11, metadata = ?12, pm_type = ?13, pm_id = ?14, "    \
	"pm_brand = ?15, pm_last4 = ?16, pm_exp_month = ?17, pm_exp_year = ?18, "            \
	"pm_fingerprint = ?19, pm_token = ?20, latest_attempt_id = ?21, "                    \
	"attempt_count = ?22, last_error_code = ?23, last_error_attempt_id = ?24, "          \
	"hold_transfer_id = ?25, capture_requested = ?26, cancel_requested = ?27, "          \
	"cancellation_reason = ?28, canceled_ms = ?29, updated_ms = ?31, "                   \
	"last_error_suggest = ?32, receipt_email = ?33, payer_language = ?34"

/* ?1..?26 in this order. */
#define SQP_ATTEMPT_COLS                                                                     \
	"id, intent_id, merchant_id, seq, channel, status, amount, currency, " SQP_PM_COLS    \
	", capture, code, raw_code, raw_message, created_ms, finished_ms, latency_ms, "      \
	"next_check_ms, checks, failover"
#define SQP_ATTEMPT_PARAMS                                                                   \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "   \
	"?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26"
/* Not written: id ?1, intent_id ?2, merchant_id ?3 (matched), seq ?4, created_ms ?21. */
#define SQP_ATTEMPT_SET                                                                      \
	"channel = ?5, status = ?6, amount = ?7, currency = ?8, pm_type = ?9, pm_id = ?10, " \
	"pm_brand = ?11, pm_last4 = ?12, pm_exp_month = ?13, pm_exp_year = ?14, "            \
	"pm_fingerprint = ?15, pm_token = ?16, capture = ?17, code = ?18, raw_code = ?19, "  \
	"raw_message = ?20, finished_ms = ?22, latency_ms = ?23, next_check_ms = ?24, "      \
	"checks = ?25, failover = ?26"

/* ?1..?15 in this order. */
#define SQP_REFUND_COLS                                                                      \
	"id, merchant_id, intent_id, attempt_id, channel, amount, currency, status, reason, " \
	"failure_code, raw_code, metadata, hold_transfer_id, created_ms, updated_ms"
#define SQP_REFUND_PARAMS \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15"
/* Not written: id ?1, merchant_id ?2 (matched), intent_id ?3, attempt_id ?4,
 * created_ms ?14. */
#define SQP_REFUND_SET                                                                       \
	"channel = ?5, amount = ?6, currency = ?7, status = ?8, reason = ?9, "               \
	"failure_code = ?10, raw_code = ?11, metadata = ?12, hold_transfer_id = ?13, "       \
	"updated_ms = ?15"

#define SQP_EVENT_COLS "id, merchant_id, type, object_id, data, created_ms"
#define SQP_IDEM_COLS \
	"merchant_id, key, fingerprint, state, http_status, response, object_id, created_ms"

#define SQP_STATEMENTS(X)                                                                    \
	X(SECRET_GET, "SELECT value FROM secrets WHERE name = ?1")                           \
	X(SECRET_INSERT, "INSERT INTO secrets (name, value) VALUES (?1, ?2) "                \
			 "ON CONFLICT (name) DO NOTHING")                                    \
	X(INTENT_INSERT, "INSERT INTO payment_intents (" SQP_INTENT_COLS ") VALUES ("        \
			 SQP_INTENT_PARAMS ")")                                              \
	X(INTENT_UPDATE, "UPDATE payment_intents SET " SQP_INTENT_SET                       \
			 " WHERE id = ?1 AND merchant_id = ?2")                              \
	X(INTENT_GET, "SELECT " SQP_INTENT_COLS " FROM payment_intents "                     \
		      "WHERE id = ?1 AND merchant_id = ?2")                                  \
	SQ_PAGES(X, INTENT_PAGE, SQP_INTENT_COLS, "payment_intents", "merchant_id = ?1")   \
	X(ATTEMPT_INSERT, "INSERT INTO payment_attempts (" SQP_ATTEMPT_COLS ") VALUES ("     \
			  SQP_ATTEMPT_PARAMS ")")                                            \
	X(ATTEMPT_UPDATE, "UPDATE payment_attempts SET " SQP_ATTEMPT_SET                    \
			  " WHERE id = ?1 AND merchant_id = ?3")                             \
	X(ATTEMPT_GET, "SELECT " SQP_ATTEMPT_COLS " FROM payment_attempts WHERE id = ?1")    \
	X(ATTEMPT_OF_INTENT, "SELECT " SQP_ATTEMPT_COLS " FROM payment_attempts "            \
			     "WHERE intent_id = ?1 ORDER BY seq LIMIT ?2")                    \
	/* the WHERE of the partial index payment_attempts_unsettled, verbatim */            \
	X(INTENT_IN_FLIGHT, "SELECT " SQP_INTENT_COLS " FROM payment_intents "               \
			    "WHERE (capture_requested > 0 OR cancel_requested = 1) "          \
			    "AND id > ?1 ORDER BY id LIMIT ?2")                               \
	X(ATTEMPT_UNSETTLED, "SELECT " SQP_ATTEMPT_COLS " FROM payment_attempts "            \
			     "WHERE status IN (0, 2, 6) AND id > ?1 ORDER BY id LIMIT ?2")    \
	X(REFUND_INSERT, "INSERT INTO refunds (" SQP_REFUND_COLS ") VALUES ("                \
			 SQP_REFUND_PARAMS ")")                                              \
	X(REFUND_UPDATE, "UPDATE refunds SET " SQP_REFUND_SET                                \
			 " WHERE id = ?1 AND merchant_id = ?2")                              \
	X(REFUND_GET, "SELECT " SQP_REFUND_COLS " FROM refunds "                             \
		      "WHERE id = ?1 AND merchant_id = ?2")                                  \
	SQ_PAGES(X, REFUND_PAGE, SQP_REFUND_COLS, "refunds", "merchant_id = ?1")            \
	SQ_PAGES(X, REFUND_OF_INTENT, SQP_REFUND_COLS, "refunds INDEXED BY refunds_intent", \
		  "intent_id = ?4 AND merchant_id = ?1")                                     \
	/* the WHERE of the partial index refunds_pending, verbatim */                       \
	X(REFUND_PENDING, "SELECT " SQP_REFUND_COLS " FROM refunds "                         \
			  "WHERE status = 0 AND id > ?1 ORDER BY id LIMIT ?2")                \
	X(EVENT_INSERT, "INSERT INTO events (" SQP_EVENT_COLS ") "                           \
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                   \
	X(EVENT_GET, "SELECT " SQP_EVENT_COLS " FROM events WHERE id = ?1 AND merchant_id = ?2") \
	SQ_PAGES(X, EVENT_PAGE, SQP_EVENT_COLS, "events", "merchant_id = ?1")               \
	SQ_PAGES(X, EVENT_OF_TYPE, SQP_EVENT_COLS, "events", "merchant_id = ?1 AND type = ?4") \
	X(IDEM_GET, "SELECT " SQP_IDEM_COLS " FROM idempotency_keys "                        \
		    "WHERE merchant_id = ?1 AND key = ?2")                                   \
	X(IDEM_PUT, "INSERT INTO idempotency_keys (" SQP_IDEM_COLS ") "                      \
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "                               \
		    "ON CONFLICT (merchant_id, key) DO UPDATE SET "                          \
		    "fingerprint = excluded.fingerprint, state = excluded.state, "           \
		    "http_status = excluded.http_status, response = excluded.response, "     \
		    "object_id = excluded.object_id, created_ms = excluded.created_ms")      \
	X(IDEM_EXPIRE, "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid "          \
		       "FROM idempotency_keys WHERE created_ms < ?1 ORDER BY created_ms "    \
		       "LIMIT ?2)")

enum sqp_stmt_id {
#define SQP_ENUM(name, sql) SQP_##name,
	SQP_STATEMENTS(SQP_ENUM)
#undef SQP_ENUM
	SQP_STMT_COUNT
};

static_assert(SQ_SLOT_PAYMENTS + SQP_STMT_COUNT <= SQ_SLOT_COUNT,
	      "the payments statements overflow their cache slots");

static const char *const sqp_sql[SQP_STMT_COUNT] = {
#define SQP_TEXT(name, sql) [SQP_##name] = sql,
	SQP_STATEMENTS(SQP_TEXT)
#undef SQP_TEXT
};

static int sqp_stmt(struct sq_store *s, enum sqp_stmt_id id, sqlite3_stmt **out)
{
	return sq_prepared(s, SQ_SLOT_PAYMENTS + (int)id, sqp_sql[id], out);
}

/* ---- checking records ------------------------------------------------------ */

static bool sqp_in(int v, int max)
{
	return v >= 0 && v <= max;
}

/* Upper-case, as the ledger spells it. */
static bool sqp_currency_ok(const char c[4])
{
	for (int i = 0; i < 3; i++)
		if (c[i] < 'A' || c[i] > 'Z')
			return false;
	return c[3] == '\0';
}

static bool sqp_pm_ok(const struct payment_method *m)
{
	return sqp_in((int)m->type, PM_WECHAT_PAY) && SQ_FIXED_OK(m->id) &&
	       SQ_FIXED_OK(m->brand) && SQ_FIXED_OK(m->last4) &&
	       SQ_FIXED_OK(m->fingerprint) && SQ_FIXED_OK(m->token);
}

static bool sqp_intent_ok(const struct payment_intent *pi)
{
	return pi && sq_id_ok(pi->id) && sq_id_ok(pi->merchant_id) &&
	       sqp_currency_ok(pi->currency) && sqp_in((int)pi->status, PI_CANCELED) &&
	       sqp_in((int)pi->capture_method, CAPTURE_MANUAL) && SQ_FIXED_OK(pi->customer) &&
	       sqp_pm_ok(&pi->method) && SQ_FIXED_OK(pi->latest_attempt_id) &&
	       SQ_FIXED_OK(pi->last_error_attempt_id) && SQ_FIXED_OK(pi->hold_transfer_id) &&
	       SQ_FIXED_OK(pi->cancellation_reason);
}

static bool sqp_attempt_ok(const struct payment_attempt *a)
{
	return a && sq_id_ok(a->id) && sq_id_ok(a->intent_id) && sq_id_ok(a->merchant_id) &&
	       SQ_FIXED_OK(a->channel) && sqp_in((int)a->status, ATT_VOIDED) &&
	       sqp_currency_ok(a->currency) && sqp_pm_ok(&a->method) &&
	       SQ_FIXED_OK(a->raw_code) && SQ_FIXED_OK(a->raw_message);
}

static bool sqp_refund_ok(const struct refund *r)
{
	return r && sq_id_ok(r->id) && sq_id_ok(r->merchant_id) && sq_id_ok(r->intent_id) &&
	       sq_id_ok(r->attempt_id) && SQ_FIXED_OK(r->channel) &&
	       sqp_currency_ok(r->currency) && sqp_in((int)r->status, REFUND_CANCELED) &&
	       SQ_FIXED_OK(r->reason) && SQ_FIXED_OK(r->raw_code) &&
	       SQ_FIXED_OK(r->hold_transfer_id);
}

static bool sqp_event_ok(const struct store_event *e)
{
	return e && sq_id_ok(e->id) && sq_id_ok(e->merchant_id) && e->type[0] &&
	       SQ_FIXED_OK(e->type) && SQ_FIXED_OK(e->object_id);
}

static bool sqp_idem_key_ok(const char *key)
{
	return key && key[0] && strnlen(key, STORE_IDEM_KEY_MAX + 1) <= STORE_IDEM_KEY_MAX;
}

static bool sqp_idem_ok(const struct store_idem *r)
{
	return r && sq_id_ok(r->merchant_id) && r->key[0] && SQ_FIXED_OK(r->key) &&
	       sqp_in((int)r->state, IDEM_DONE) && SQ_FIXED_OK(r->object_id);
}

/* ---- binding and reading columns ------------------------------------------- */

/* The eight pm_* columns from parameter i. */
static int sqp_bind_pm(sqlite3_stmt *st, int i, const struct payment_method *m)
{
	return sqlite3_bind_int(st, i, (int)m->type) | sq_bind_text(st, i + 1, m->id) |
	       sq_bind_text(st, i + 2, m->brand) | sq_bind_text(st, i + 3, m->last4) |
	       sqlite3_bind_int(st, i + 4, m->exp_month) | sqlite3_bind_int(st, i + 5, m->exp_year) |
	       sq_bind_text(st, i + 6, m->fingerprint) | sq_bind_text(st, i + 7, m->token);
}

/* The eight pm_* columns from column col. */
static int sqp_read_pm(sqlite3_stmt *st, int col, struct payment_method *m)
{
	m->type = (enum pm_type)sqlite3_column_int(st, col);
	m->exp_month = sqlite3_column_int(st, col + 4);
	m->exp_year = sqlite3_column_int(st, col + 5);
	int rc = sq_text(st, col + 1, m->id, sizeof m->id);
	if (!rc)
		rc = sq_text(st, col + 2, m->brand, sizeof m->brand);
	if (!rc)
		rc = sq_text(st, col + 3, m->last4, sizeof m->last4);
	if (!rc)
		rc = sq_text(st, col + 6, m->fingerprint, sizeof m->fingerprint);
	if (!rc)
		rc = sq_text(st, col + 7, m->token, sizeof m->token);
	return rc;
}

/* ---- intents --------------------------------------------------------------- */

static int sqp_bind_intent(struct sq_store *s, sqlite3_stmt *st, const struct payment_intent *pi)
{
	int b = sq_bind_text(st, 1, pi->id) | sq_bind_text(st, 2, pi->merchant_id) |
		sqlite3_bind_int64(st, 3, pi->amount) | sq_bind_text(st, 4, pi->currency) |
		sqlite3_bind_int(st, 5, (int)pi->status) |
		sqlite3_bind_int(st, 6, (int)pi->capture_method) |
		sqlite3_bind_int64(st, 7, pi->amount_capturable) |
		sqlite3_bind_int64(st, 8, pi->amount_received) |
		sqlite3_bind_int64(st, 9, pi->amount_refunded) |
		sq_bind_heap(st, 10, pi->description) | sq_bind_text(st, 11, pi->customer) |
		sq_bind_heap(st, 12, pi->metadata_json) | sqp_bind_pm(st, 13, &pi->method) |
		sq_bind_text(st, 21, pi->latest_attempt_id) |
		sqlite3_bind_int(st, 22, pi->attempt_count) |
		sqlite3_bind_int(st, 23, pi->last_error_code) |
		sq_bind_text(st, 24, pi->last_error_attempt_id) |
		sq_bind_text(st, 25, pi->hold_transfer_id) |
		sqlite3_bind_int64(st, 26, pi->capture_requested) |
		sqlite3_bind_int(st, 27, pi->cancel_requested ? 1 : 0) |
		sq_bind_text(st, 28, pi->cancellation_reason) |
		sqlite3_bind_int64(st, 29, pi->canceled_ms) |
		sqlite3_bind_int64(st, 30, pi->created_ms) |
		sqlite3_bind_int64(st, 31, pi->updated_ms) |
		sqlite3_bind_int(st, 32, (int)pi->last_error_suggest) |
		sq_bind_optional(st, 33, pi->receipt_email) |
		sq_bind_optional(st, 34, pi->payer_language);
	return sq_bound(s, st, b);
}

static int sqp_read_intent(sqlite3_stmt *st, void *rec)
{
	struct payment_intent *pi = rec;
	memset(pi, 0, sizeof *pi);
	pi->amount = sqlite3_column_int64(st, 2);
	pi->status = (enum pi_status)sqlite3_column_int(st, 4);
	pi->capture_method = (enum capture_method)sqlite3_column_int(st, 5);
	pi->amount_capturable = sqlite3_column_int64(st, 6);
	pi->amount_received = sqlite3_column_int64(st, 7);
	pi->amount_refunded = sqlite3_column_int64(st, 8);
	pi->attempt_count = sqlite3_column_int(st, 21);
	pi->last_error_code = sqlite3_column_int(st, 22);
	pi->capture_requested = sqlite3_column_int64(st, 25);
	pi->cancel_requested = sqlite3_column_int(st, 26) != 0;
	pi->canceled_ms = sqlite3_column_int64(st, 28);
	pi->created_ms = sqlite3_column_int64(st, 29);
	pi->updated_ms = sqlite3_column_int64(st, 30);
	pi->last_error_suggest = (unsigned)sqlite3_column_int(st, 31);
	int rc = sq_text(st, 0, pi->id, sizeof pi->id);
	if (!rc)
		rc = sq_text(st, 1, pi->merchant_id, sizeof pi->merchant_id);
	if (!rc)
		rc = sq_text(st, 3, pi->currency, sizeof pi->currency);
	if (!rc)
		rc = sq_heap(st, 9, &pi->description);
	if (!rc)
		rc = sq_text(st, 10, pi->customer, sizeof pi->customer);
	if (!rc)
		rc = sq_heap(st, 11, &pi->metadata_json);
	if (!rc)
		rc = sqp_read_pm(st, 12, &pi->method);
	if (!rc)
		rc = sq_text(st, 20, pi->latest_attempt_id, sizeof pi->latest_attempt_id);
	if (!rc)
		rc = sq_text(st, 23, pi->last_error_attempt_id, sizeof pi->last_error_attempt_id);
	if (!rc)
		rc = sq_text(st, 24, pi->hold_transfer_id, sizeof pi->hold_transfer_id);
	if (!rc)
		rc = sq_text(st, 27, pi->cancellation_reason, sizeof pi->cancellation_reason);
	if (!rc)
		rc = sq_text(st, 32, pi->receipt_email, sizeof pi->receipt_email);
	if (!rc)
		rc = sq_text(st, 33, pi->payer_language, sizeof pi->payer_language);
	return rc;
}

static void sqp_clear_intent(void *rec)
{
	payment_intent_clear(rec);
}

static const struct sq_kind sqp_intents = {
	.size = sizeof(struct payment_intent),
	.id_offset = offsetof(struct payment_intent, id),
	.read = sqp_read_intent,
	.clear = sqp_clear_intent,
};

/* ---- attempts -------------------------------------------------------------- */

static int sqp_bind_attempt(struct sq_store *s, sqlite3_stmt *st, const struct payment_attempt *a)
{
	int b = sq_bind_text(st, 1, a->id) | sq_bind_text(st, 2, a->intent_id) |
		sq_bind_text(st, 3, a->merchant_id) | sqlite3_bind_int(st, 4, a->seq) |
		sq_bind_text(st, 5, a->channel) | sqlite3_bind_int(st, 6, (int)a->status) |
		sqlite3_bind_int64(st, 7, a->amount) | sq_bind_text(st, 8, a->currency) |
		sqp_bind_pm(st, 9, &a->method) | sqlite3_bind_int(st, 17, a->capture ? 1 : 0) |
		sqlite3_bind_int(st, 18, a->code) | sq_bind_text(st, 19, a->raw_code) |
		sq_bind_text(st, 20, a->raw_message) | sqlite3_bind_int64(st, 21, a->created_ms) |
		sqlite3_bind_int64(st, 22, a->finished_ms) |
		sqlite3_bind_int64(st, 23, a->latency_ms) |
		sqlite3_bind_int64(st, 24, a->next_check_ms) | sqlite3_bind_int(st, 25, a->checks) |
		sqlite3_bind_int(st, 26, a->failover ? 1 : 0);
	return sq_bound(s, st, b);
}

static int sqp_read_attempt(sqlite3_stmt *st, void *rec)
{
	struct payment_attempt *a = rec;
	memset(a, 0, sizeof *a);
	a->seq = sqlite3_column_int(st, 3);
	a->status = (enum attempt_status)sqlite3_column_int(st, 5);
	a->amount = sqlite3_column_int64(st, 6);
	a->capture = sqlite3_column_int(st, 16) != 0;
	a->code = sqlite3_column_int(st, 17);
	a->created_ms = sqlite3_column_int64(st, 20);
	a->finished_ms = sqlite3_column_int64(st, 21);
	a->latency_ms = sqlite3_column_int64(st, 22);
	a->next_check_ms = sqlite3_column_int64(st, 23);
	a->checks = sqlite3_column_int(st, 24);
	a->failover = sqlite3_column_int(st, 25) != 0;
	int rc = sq_text(st, 0, a->id, sizeof a->id);
	if (!rc)
		rc = sq_text(st, 1, a->intent_id, sizeof a->intent_id);
	if (!rc)
		rc = sq_text(st, 2, a->merchant_id, sizeof a->merchant_id);
	if (!rc)
		rc = sq_text(st, 4, a->channel, sizeof a->channel);
	if (!rc)
		rc = sq_text(st, 7, a->currency, sizeof a->currency);
	if (!rc)
		rc = sqp_read_pm(st, 8, &a->method);
	if (!rc)
		rc = sq_text(st, 18, a->raw_code, sizeof a->raw_code);
	if (!rc)
		rc = sq_text(st, 19, a->raw_message, sizeof a->raw_message);
	return rc;
}

static const struct sq_kind sqp_attempts = {
	.size = sizeof(struct payment_attempt),
	.id_offset = offsetof(struct payment_attempt, id),
	.read = sqp_read_attempt,
	.clear = sq_clear_nothing,
};

/* ---- refunds --------------------------------------------------------------- */

static int sqp_bind_refund(struct sq_store *s, sqlite3_stmt *st, const struct refund *r)
{
	int b = sq_bind_text(st, 1, r->id) | sq_bind_text(st, 2, r->merchant_id) |
		sq_bind_text(st, 3, r->intent_id) | sq_bind_text(st, 4, r->attempt_id) |
		sq_bind_text(st, 5, r->channel) | sqlite3_bind_int64(st, 6, r->amount) |
		sq_bind_text(st, 7, r->currency) | sqlite3_bind_int(st, 8, (int)r->status) |
		sq_bind_text(st, 9, r->reason) | sqlite3_bind_int(st, 10, r->failure_code) |
		sq_bind_text(st, 11, r->raw_code) | sq_bind_heap(st, 12, r->metadata_json) |
		sq_bind_text(st, 13, r->hold_transfer_id) |
		sqlite3_bind_int64(st, 14, r->created_ms) | sqlite3_bind_int64(st, 15, r->updated_ms);
	return sq_bound(s, st, b);
}

static int sqp_read_refund(sqlite3_stmt *st, void *rec)
{
	struct refund *r = rec;
	memset(r, 0, sizeof *r);
	r->amount = sqlite3_column_int64(st, 5);
	r->status = (enum refund_status)sqlite3_column_int(st, 7);
	r->failure_code = sqlite3_column_int(st, 9);
	r->created_ms = sqlite3_column_int64(st, 13);
	r->updated_ms = sqlite3_column_int64(st, 14);
	int rc = sq_text(st, 0, r->id, sizeof r->id);
	if (!rc)
		rc = sq_text(st, 1, r->merchant_id, sizeof r->merchant_id);
	if (!rc)
		rc = sq_text(st, 2, r->intent_id, sizeof r->intent_id);
	if (!rc)
		rc = sq_text(st, 3, r->attempt_id, sizeof r->attempt_id);
	if (!rc)
		rc = sq_text(st, 4, r->channel, sizeof r->channel);
	if (!rc)
		rc = sq_text(st, 6, r->currency, sizeof r->currency);
	if (!rc)
		rc = sq_text(st, 8, r->reason, sizeof r->reason);
	if (!rc)
		rc = sq_text(st, 10, r->raw_code, sizeof r->raw_code);
	if (!rc)
		rc = sq_heap(st, 11, &r->metadata_json);
	if (!rc)
		rc = sq_text(st, 12, r->hold_transfer_id, sizeof r->hold_transfer_id);
	return rc;
}

static void sqp_clear_refund(void *rec)
{
	refund_clear(rec);
}

static const struct sq_kind sqp_refunds = {
	.size = sizeof(struct refund),
	.id_offset = offsetof(struct refund, id),
	.read = sqp_read_refund,
	.clear = sqp_clear_refund,
};

/* ---- events ---------------------------------------------------------------- */

void store_event_clear(struct store_event *e)
{
	if (!e)
		return;
	free(e->data_json);
	e->data_json = NULL;
}

static int sqp_read_event(sqlite3_stmt *st, void *rec)
{
	struct store_event *e = rec;
	memset(e, 0, sizeof *e);
	e->created_ms = sqlite3_column_int64(st, 5);
	int rc = sq_text(st, 0, e->id, sizeof e->id);
	if (!rc)
		rc = sq_text(st, 1, e->merchant_id, sizeof e->merchant_id);
	if (!rc)
		rc = sq_text(st, 2, e->type, sizeof e->type);
	if (!rc)
		rc = sq_text(st, 3, e->object_id, sizeof e->object_id);
	if (!rc)
		rc = sq_heap(st, 4, &e->data_json);
	return rc;
}

static void sqp_clear_event(void *rec)
{
	store_event_clear(rec);
}

static const struct sq_kind sqp_events = {
	.size = sizeof(struct store_event),
	.id_offset = offsetof(struct store_event, id),
	.read = sqp_read_event,
	.clear = sqp_clear_event,
};

/* ---- shared machinery ------------------------------------------------------ */

/* One record by id, scoped to merchant_id unless that is NULL: the
 * statement's ?1 is the id, ?2 the merchant. */
static int sqp_get(struct sq_store *s, enum sqp_stmt_id id, const struct sq_kind *k,
		   const char *merchant_id, const char *record_id, bool scoped, void *out)
{
	sqlite3_stmt *st;
	int rc = sqp_stmt(s, id, &st);
	return rc ? rc : sq_get(s, st, k, scoped ? merchant_id : NULL, record_id, out);
}

/* A paged list: its statements by [filtered][direction]. */
struct sqp_pages {
	const struct sq_kind *kind;
	enum sqp_stmt_id stmt[2][3];
};

static int sqp_list(struct sq_store *s, const struct sqp_pages *q, const char *merchant_id,
		    const struct store_page *page, store_each_fn each, void *ctx, bool *has_more)
{
	const char *cursor;
	enum sq_dir dir;
	int rc = sq_page_check(merchant_id, page, each, &cursor, &dir);
	sqlite3_stmt *st;
	if (!rc)
		rc = sqp_stmt(s, q->stmt[page->filter != NULL][dir], &st);
	if (!rc) {
		int b = sq_bind_text(st, 1, merchant_id) | sqlite3_bind_int(st, 3, page->limit + 1);
		if (cursor)
			b |= sq_bind_text(st, 2, cursor);
		if (page->filter && sqlite3_bind_parameter_count(st) >= 4)
			b |= sq_bind_text(st, 4, page->filter);
		rc = sq_bound(s, st, b);
	}
	return rc ? rc : sq_page_deliver(s, st, q->kind, page, dir, each, ctx, has_more);
}

/* Every record the query `id` finds, SQ_CHUNK at a time in id order
 * (?1 the last id seen, ?2 the chunk size). */
static int sqp_walk(struct sq_store *s, enum sqp_stmt_id id, const struct sq_kind *k,
		    store_each_fn each, void *ctx)
{
	if (!each)
		return CAT_PARAMETER_INVALID;
	char *buf = calloc(SQ_CHUNK, k->size);
	if (!buf)
		return sq_misuse("walk", "out of memory");
	char after[ID_MAX] = "";
	int rc = CAT_OK, n = SQ_CHUNK;
	while (!rc && n == SQ_CHUNK) {
		sqlite3_stmt *st;
		n = 0;
		if (!(rc = sqp_stmt(s, id, &st)) &&
		    !(rc = sq_bound(s, st, sq_bind_text(st, 1, after) |
						   sqlite3_bind_int(st, 2, SQ_CHUNK))))
			rc = sq_fetch(s, st, k, buf, SQ_CHUNK, &n);
		for (int i = 0; !rc && i < n; i++)
			each(ctx, buf + (size_t)i * k->size);
		if (n > 0)
			memcpy(after, buf + (size_t)(n - 1) * k->size + k->id_offset, ID_MAX);
		sq_clear_all(k, buf, n);
	}
	free(buf);
	return rc;
}

/* ---- secrets --------------------------------------------------------------- */

static int sqp_secret_read(struct sq_store *s, const char *name, uint8_t out[32])
{
	sqlite3_stmt *st;
	int rc = sqp_stmt(s, SQP_SECRET_GET, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, name))) || (rc = sq_row(s, st)))
		return rc;
	if (sqlite3_column_bytes(st, 0) != 32)
		rc = sq_misuse("secret_get", "a stored secret is not 32 bytes");
	else
		memcpy(out, sqlite3_column_blob(st, 0), 32);
	sqlite3_reset(st);
	return rc;
}

/* Inserts fresh random bytes unless the secret exists by now, then reads
 * whichever is stored (another connection may have won the race). */
static int sqp_secret_make(struct sq_store *s, const char *name, uint8_t out[32])
{
	uint8_t fresh[32];
	crypto_random_bytes(fresh, sizeof fresh);
	sqlite3_stmt *st;
	int rc = sqp_stmt(s, SQP_SECRET_INSERT, &st);
	if (!rc && !(rc = sq_bound(s, st, sq_bind_text(st, 1, name) |
						  sqlite3_bind_blob(st, 2, fresh, 32, SQLITE_STATIC))))
		rc = sq_write(s, st, "secret_get", 0);
	explicit_bzero(fresh, sizeof fresh);
	if (!rc)
		rc = sqp_secret_read(s, name, out);
	return rc == CAT_NO_SUCH_OBJECT ? CAT_INTERNAL : rc;
}

/* Reads need nothing special.  Making a missing secret is a write:
 * inside the caller's transaction it is written there (and is lost if
 * that rolls back, so make secrets at start-up, before any batch);
 * outside one this opens, commits (or rolls back) a transaction of its
 * own.  A read-only store cannot make one: CAT_NO_SUCH_OBJECT. */
int sq_secret_get(struct store *base, const char *name, uint8_t out[32])
{
	struct sq_store *s = sq(base);
	if (!name || !name[0] || strlen(name) > SQP_SECRET_NAME_MAX || !out)
		return CAT_PARAMETER_INVALID;
	int rc = sqp_secret_read(s, name, out);
	if (rc != CAT_NO_SUCH_OBJECT || s->readonly)
		return rc;
	if (s->in_tx) {
		if ((rc = sq_need_write(s, "secret_get")))
			return rc;
		return sqp_secret_make(s, name, out);
	}
	if ((rc = store_begin(base)))
		return rc;
	if ((rc = sqp_secret_make(s, name, out)) || (rc = store_commit(base)))
		store_rollback(base);
	return rc;
}

/* ---- intents --------------------------------------------------------------- */

static int sqp_intent_write(struct store *base, enum sqp_stmt_id id,
			    const struct payment_intent *pi, const char *op)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sqp_intent_ok(pi))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqp_stmt(s, id, &st)) || (rc = sqp_bind_intent(s, st, pi)))
		return rc;
	return sq_write(s, st, op, 0);
}

int sq_intent_insert(struct store *base, const struct payment_intent *pi)
{
	return sqp_intent_write(base, SQP_INTENT_INSERT, pi, "intent_insert");
}

int sq_intent_update(struct store *base, const struct payment_intent *pi)
{
	return sq_updated(sq(base), sqp_intent_write(base, SQP_INTENT_UPDATE, pi, "intent_update"));
}

int sq_intent_get(struct store *base, const char *merchant_id, const char *id,
		  struct payment_intent *out)
{
	return sqp_get(sq(base), SQP_INTENT_GET, &sqp_intents, merchant_id, id, true, out);
}

static const struct sqp_pages sqp_intent_pages = {
	.kind = &sqp_intents,
	/* no filter: the filtered row is the same */
	.stmt = {{SQP_INTENT_PAGE_FIRST, SQP_INTENT_PAGE_AFTER, SQP_INTENT_PAGE_BEFORE},
		 {SQP_INTENT_PAGE_FIRST, SQP_INTENT_PAGE_AFTER, SQP_INTENT_PAGE_BEFORE}},
};

int sq_intent_list(struct store *base, const char *merchant_id, const struct store_page *page,
		   store_each_fn each, void *ctx, bool *has_more)
{
	return sqp_list(sq(base), &sqp_intent_pages, merchant_id, page, each, ctx, has_more);
}

/* ---- attempts -------------------------------------------------------------- */

static int sqp_attempt_write(struct store *base, enum sqp_stmt_id id,
			     const struct payment_attempt *a, const char *op)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sqp_attempt_ok(a))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqp_stmt(s, id, &st)) || (rc = sqp_bind_attempt(s, st, a)))
		return rc;
	return sq_write(s, st, op, 0);
}

int sq_attempt_insert(struct store *base, const struct payment_attempt *a)
{
	return sqp_attempt_write(base, SQP_ATTEMPT_INSERT, a, "attempt_insert");
}

int sq_attempt_update(struct store *base, const struct payment_attempt *a)
{
	return sq_updated(sq(base),
			   sqp_attempt_write(base, SQP_ATTEMPT_UPDATE, a, "attempt_update"));
}

int sq_attempt_get(struct store *base, const char *id, struct payment_attempt *out)
{
	return sqp_get(sq(base), SQP_ATTEMPT_GET, &sqp_attempts, NULL, id, false, out);
}

/* The first `cap` attempts of the intent by seq (none for an unknown
 * intent); ask for one more than you expect to notice a longer list. */
int sq_attempt_list(struct store *base, const char *intent_id, struct payment_attempt *out,
		    int cap, int *count)
{
	struct sq_store *s = sq(base);
	if (!count || cap < 0 || (cap > 0 && !out))
		return CAT_PARAMETER_INVALID;
	*count = 0;
	if (!sq_id_ok(intent_id) || cap == 0)
		return CAT_OK;
	sqlite3_stmt *st;
	int n = 0, rc = sqp_stmt(s, SQP_ATTEMPT_OF_INTENT, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, intent_id) |
						sqlite3_bind_int(st, 2, cap))))
		return rc;
	if ((rc = sq_fetch(s, st, &sqp_attempts, (char *)out, cap, &n)))
		return rc;
	*count = n;
	return CAT_OK;
}

int sq_intent_in_flight(struct store *base, store_each_fn each, void *ctx)
{
	return sqp_walk(sq(base), SQP_INTENT_IN_FLIGHT, &sqp_intents, each, ctx);
}

int sq_attempt_unsettled(struct store *base, store_each_fn each, void *ctx)
{
	return sqp_walk(sq(base), SQP_ATTEMPT_UNSETTLED, &sqp_attempts, each, ctx);
}

/* ---- refunds --------------------------------------------------------------- */

static int sqp_refund_write(struct store *base, enum sqp_stmt_id id, const struct refund *r,
			    const char *op)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sqp_refund_ok(r))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqp_stmt(s, id, &st)) || (rc = sqp_bind_refund(s, st, r)))
		return rc;
	return sq_write(s, st, op, 0);
}

int sq_refund_insert(struct store *base, const struct refund *r)
{
	return sqp_refund_write(base, SQP_REFUND_INSERT, r, "refund_insert");
}

int sq_refund_update(struct store *base, const struct refund *r)
{
	return sq_updated(sq(base), sqp_refund_write(base, SQP_REFUND_UPDATE, r, "refund_update"));
}

int sq_refund_get(struct store *base, const char *merchant_id, const char *id, struct refund *out)
{
	return sqp_get(sq(base), SQP_REFUND_GET, &sqp_refunds, merchant_id, id, true, out);
}

static const struct sqp_pages sqp_refund_pages = {
	.kind = &sqp_refunds,
	.stmt = {{SQP_REFUND_PAGE_FIRST, SQP_REFUND_PAGE_AFTER, SQP_REFUND_PAGE_BEFORE},
		 {SQP_REFUND_OF_INTENT_FIRST, SQP_REFUND_OF_INTENT_AFTER,
		  SQP_REFUND_OF_INTENT_BEFORE}},
};

int sq_refund_list(struct store *base, const char *merchant_id, const struct store_page *page,
		   store_each_fn each, void *ctx, bool *has_more)
{
	return sqp_list(sq(base), &sqp_refund_pages, merchant_id, page, each, ctx, has_more);
}

int sq_refund_pending(struct store *base, store_each_fn each, void *ctx)
{
	return sqp_walk(sq(base), SQP_REFUND_PENDING, &sqp_refunds, each, ctx);
}

/* ---- events ---------------------------------------------------------------- */

int sq_event_insert(struct store *base, const struct store_event *e)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "event_insert");
	if (rc)
		return rc;
	if (!sqp_event_ok(e))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqp_stmt(s, SQP_EVENT_INSERT, &st)) ||
	    (rc = sq_bound(s, st, sq_bind_text(st, 1, e->id) | sq_bind_text(st, 2, e->merchant_id) |
					  sq_bind_text(st, 3, e->type) |
					  sq_bind_text(st, 4, e->object_id) |
					  sq_bind_heap(st, 5, e->data_json) |
					  sqlite3_bind_int64(st, 6, e->created_ms))))
		return rc;
	return sq_write(s, st, "event_insert", 0);
}

int sq_event_get(struct store *base, const char *merchant_id, const char *id,
		 struct store_event *out)
{
	return sqp_get(sq(base), SQP_EVENT_GET, &sqp_events, merchant_id, id, true, out);
}

static const struct sqp_pages sqp_event_pages = {
	.kind = &sqp_events,
	.stmt = {{SQP_EVENT_PAGE_FIRST, SQP_EVENT_PAGE_AFTER, SQP_EVENT_PAGE_BEFORE},
		 {SQP_EVENT_OF_TYPE_FIRST, SQP_EVENT_OF_TYPE_AFTER, SQP_EVENT_OF_TYPE_BEFORE}},
};

int sq_event_list(struct store *base, const char *merchant_id, const struct store_page *page,
		  store_each_fn each, void *ctx, bool *has_more)
{
	return sqp_list(sq(base), &sqp_event_pages, merchant_id, page, each, ctx, has_more);
}

/* ---- idempotency keys ------------------------------------------------------ */

void store_idem_clear(struct store_idem *r)
{
	if (!r)
		return;
	free(r->response_json);
	r->response_json = NULL;
}

int sq_idem_get(struct store *base, const char *merchant_id, const char *key,
		struct store_idem *out)
{
	struct sq_store *s = sq(base);
	if (!out || !sqp_idem_key_ok(key))
		return CAT_PARAMETER_INVALID;
	if (!sq_id_ok(merchant_id))
		return CAT_NO_SUCH_OBJECT;
	sqlite3_stmt *st;
	int rc = sqp_stmt(s, SQP_IDEM_GET, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, merchant_id) |
						sq_bind_text(st, 2, key))) ||
	    (rc = sq_row(s, st)))
		return rc;
	struct store_idem r = {0};
	r.state = (enum idem_state)sqlite3_column_int(st, 3);
	r.http_status = sqlite3_column_int(st, 4);
	r.created_ms = sqlite3_column_int64(st, 7);
	rc = sq_text(st, 0, r.merchant_id, sizeof r.merchant_id);
	if (!rc)
		rc = sq_text(st, 1, r.key, sizeof r.key);
	if (!rc && sqlite3_column_bytes(st, 2) != (int)sizeof r.fingerprint)
		rc = sq_misuse("idem_get", "a stored fingerprint is not 32 bytes");
	if (!rc)
		memcpy(r.fingerprint, sqlite3_column_blob(st, 2), sizeof r.fingerprint);
	if (!rc)
		rc = sq_text(st, 6, r.object_id, sizeof r.object_id);
	if (!rc)
		rc = sq_heap(st, 5, &r.response_json);
	sqlite3_reset(st);
	if (rc) {
		store_idem_clear(&r);
		return rc;
	}
	*out = r;
	return CAT_OK;
}

int sq_idem_put(struct store *base, const struct store_idem *r)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "idem_put");
	if (rc)
		return rc;
	if (!sqp_idem_ok(r))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqp_stmt(s, SQP_IDEM_PUT, &st)) ||
	    (rc = sq_bound(s, st, sq_bind_text(st, 1, r->merchant_id) | sq_bind_text(st, 2, r->key) |
					  sqlite3_bind_blob(st, 3, r->fingerprint,
							    sizeof r->fingerprint, SQLITE_STATIC) |
					  sqlite3_bind_int(st, 4, (int)r->state) |
					  sqlite3_bind_int(st, 5, r->http_status) |
					  sq_bind_heap(st, 6, r->response_json) |
					  sq_bind_text(st, 7, r->object_id) |
					  sqlite3_bind_int64(st, 8, r->created_ms))))
		return rc;
	return sq_write(s, st, "idem_put", 0);
}

int sq_idem_expire(struct store *base, int64_t before_ms, long *removed)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "idem_expire");
	if (rc)
		return rc;
	if (!removed)
		return CAT_PARAMETER_INVALID;
	*removed = 0;
	sqlite3_stmt *st;
	if ((rc = sqp_stmt(s, SQP_IDEM_EXPIRE, &st)) ||
	    (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, before_ms) |
					  sqlite3_bind_int(st, 2, STORE_IDEM_EXPIRE_MAX))) ||
	    (rc = sq_write(s, st, "idem_expire", 0)))
		return rc;
	*removed = (long)sqlite3_changes(s->db);
	return CAT_OK;
}
