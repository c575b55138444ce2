/* store/store_sqlite_payouts: the payout records of the SQLite backend
 * (schema/0008_payouts.sql): recipients, payouts, their timelines,
 * alerts and the ids of channel callbacks already applied.  The
 * connection, transactions and statement cache are store_sqlite.c's
 * (sqlite_internal.h); this file keeps its SQL texts in the cache slots
 * from SQ_SLOT_PAYOUTS.
 *
 * Shape: the same as store_sqlite_payments.c, whose rules it follows (one
 * cached statement per write, no savepoints; malformed records refused
 * with CAT_PARAMETER_INVALID before any SQL; schema rules broken are
 * CAT_INTERNAL; a missing merchant or payout referred to is
 * CAT_NO_SUCH_OBJECT; updates match on id and merchant; get/list scoped
 * to a merchant; pages read whole and walks read SQ_CHUNK records at a
 * time, so no statement runs while `each` does and `each` may write).
 * The record machinery (kinds, fetch, one record, pages) is
 * sqlite_records.c's, shared with the other record files.
 *
 * Columns map to fields one to one; each record kind has one column list
 * used by its INSERT (?1..?n in order), its SELECTs (columns 0..n-1) and
 * its UPDATE (the same ?k, the unchanging ones unused), so one bind and
 * one read function serve all of them.  A bank account is the account_*
 * columns; its number is only ever the sealed blob the caller made
 * (core/bank_account.h): nothing here sees a number in clear. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "core/bank_account.h"
#include "core/catalog.h"
#include "core/payout.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

/* The shortest and longest sealed number: 4 and 34 characters sealed. */
#define SQOUT_SEALED_MIN (CRYPTO_SEAL_OVERHEAD + BANK_ACCOUNT_NUMBER_MIN)

/* The schema's CHECK ranges and partial indexes spell these values out. */
static_assert(PO_PENDING == 0 && PO_IN_TRANSIT == 1 && PO_CANCELED == 4,
	      "payout_status vs 0008 schema (payouts_open, payouts_due)");
static_assert(PO_STANDARD == 0 && PO_INSTANT == 1, "payout_method vs 0008 schema");
static_assert(ALERT_OPEN == 0 && ALERT_RESOLVED == 1, "alert_status vs 0008 schema");
static_assert(SQOUT_SEALED_MIN == 32 && PAYOUT_SEALED_MAX == 96,
	      "sealed lengths vs 0008 schema");
static_assert(CRYPTO_SEAL_OVERHEAD + BANK_ACCOUNT_NUMBER_MAX <= PAYOUT_SEALED_MAX,
	      "a sealed number fits struct bank_account");

/* ---- SQL ------------------------------------------------------------------- */

#define SQOUT_ACCOUNT_COLS                                                         \
	"account_holder_name, account_bank_code, account_country, account_last4, " \
	"account_fingerprint, account_sealed"

/* ?1..?14 in this order. */
#define SQOUT_RECIPIENT_COLS \
	"id, merchant_id, name, currency, " SQOUT_ACCOUNT_COLS ", metadata, created_ms, " \
	"email, preferred_language"
#define SQOUT_RECIPIENT_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14"

/* ?1..?30 in this order. */
#define SQOUT_PAYOUT_COLS                                                                   \
	"id, merchant_id, amount, currency, status, method, recipient_id, "                 \
	SQOUT_ACCOUNT_COLS ", description, metadata, rail, rail_reference, rail_attempts, " \
	"outcome_unknown, trace_id, expected_arrival_ms, arrived_ms, failure_code, "        \
	"failure_reason, hold_transfer_id, next_poll_ms, polls, overdue_level, created_ms, " \
	"updated_ms"
#define SQOUT_PAYOUT_PARAMS                                                                 \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, " \
	"?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30"
/* Not written: id ?1, merchant_id ?2 (matched), amount ?3, currency ?4,
 * method ?6, recipient_id ?7, the account ?8..?13, created_ms ?29. */
#define SQOUT_PAYOUT_SET                                                                   \
	"status = ?5, description = ?14, metadata = ?15, rail = ?16, rail_reference = ?17, " \
	"rail_attempts = ?18, outcome_unknown = ?19, trace_id = ?20, "                     \
	"expected_arrival_ms = ?21, arrived_ms = ?22, failure_code = ?23, "                \
	"failure_reason = ?24, hold_transfer_id = ?25, next_poll_ms = ?26, polls = ?27, "  \
	"overdue_level = ?28, updated_ms = ?30"

#define SQOUT_EVENT_COLS "payout_id, seq, at_ms, status, source, code, message"

/* ?1..?10 in this order. */
#define SQOUT_ALERT_COLS \
	"id, merchant_id, kind, object_id, level, status, message, created_ms, updated_ms, " \
	"resolved_ms"
/* Not written: id ?1, merchant_id ?2 (matched), kind ?3, object_id ?4,
 * created_ms ?8. */
#define SQOUT_ALERT_SET \
	"level = ?5, status = ?6, message = ?7, updated_ms = ?9, resolved_ms = ?10"

#define SQOUT_CREATED "created_ms BETWEEN ?5 AND ?6"
#define SQOUT_OPEN "status IN (0, 1)" /* the partial indexes' condition */
#define SQOUT_WATCHED "status IN (0, 1, 2)" /* payouts_due's (0009): paid ones too */

#define SQOUT_STATEMENTS(X)                                                                  \
	X(RECIPIENT_INSERT, "INSERT INTO recipients (" SQOUT_RECIPIENT_COLS ") VALUES ("    \
			    SQOUT_RECIPIENT_PARAMS ")")                                     \
	X(RECIPIENT_GET, "SELECT " SQOUT_RECIPIENT_COLS " FROM recipients "                 \
			 "WHERE id = ?1 AND merchant_id = ?2")                              \
	SQ_PAGES(X, RECIPIENT_PAGE, SQOUT_RECIPIENT_COLS, "recipients", "merchant_id = ?1") \
	X(PAYOUT_INSERT, "INSERT INTO payouts (" SQOUT_PAYOUT_COLS ") VALUES ("             \
			 SQOUT_PAYOUT_PARAMS ")")                                           \
	X(PAYOUT_UPDATE, "UPDATE payouts SET " SQOUT_PAYOUT_SET                             \
			 " WHERE id = ?1 AND merchant_id = ?2")                             \
	X(PAYOUT_GET, "SELECT " SQOUT_PAYOUT_COLS " FROM payouts "                          \
		      "WHERE id = ?1 AND merchant_id = ?2")                                 \
	X(PAYOUT_BY_REFERENCE, "SELECT " SQOUT_PAYOUT_COLS " FROM payouts "                 \
			       "WHERE rail_reference = ?1 AND rail_reference <> ''")        \
	SQ_PAGES(X, PAYOUT_PAGE, SQOUT_PAYOUT_COLS, "payouts",                           \
		    "merchant_id = ?1 AND " SQOUT_CREATED)                                  \
	SQ_PAGES(X, PAYOUT_OF_STATUS, SQOUT_PAYOUT_COLS, "payouts",                      \
		    "merchant_id = ?1 AND status = ?4 AND " SQOUT_CREATED)                  \
	/* walks: ?1 the last id seen, ?2 the chunk size */                                 \
	X(PAYOUT_OPEN, "SELECT " SQOUT_PAYOUT_COLS " FROM payouts WHERE " SQOUT_OPEN        \
		       " AND id > ?1 ORDER BY id LIMIT ?2")                                 \
	/* ?3 before_ms, ?4 the last next_poll_ms seen */                                   \
	X(PAYOUT_DUE, "SELECT " SQOUT_PAYOUT_COLS " FROM payouts WHERE " SQOUT_WATCHED      \
		      " AND next_poll_ms > 0 AND next_poll_ms <= ?3 "                       \
		      "AND (next_poll_ms, id) > (?4, ?1) ORDER BY next_poll_ms, id LIMIT ?2") \
	X(EVENT_INSERT, "INSERT INTO payout_events (" SQOUT_EVENT_COLS ") "                 \
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                              \
	X(EVENT_OF_PAYOUT, "SELECT " SQOUT_EVENT_COLS " FROM payout_events "                \
			   "WHERE payout_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")       \
	X(ALERT_INSERT, "INSERT INTO alerts (" SQOUT_ALERT_COLS ") "                        \
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")                 \
	X(ALERT_UPDATE, "UPDATE alerts SET " SQOUT_ALERT_SET                                \
			" WHERE id = ?1 AND merchant_id = ?2")                              \
	X(ALERT_GET, "SELECT " SQOUT_ALERT_COLS " FROM alerts WHERE id = ?1 AND merchant_id = ?2") \
	X(ALERT_OPEN_FOR, "SELECT " SQOUT_ALERT_COLS " FROM alerts "                        \
			  "WHERE object_id = ?1 AND kind = ?2 AND status = 0")              \
	SQ_PAGES(X, ALERT_PAGE, SQOUT_ALERT_COLS, "alerts", "merchant_id = ?1")          \
	SQ_PAGES(X, ALERT_OF_STATUS, SQOUT_ALERT_COLS, "alerts",                         \
		    "merchant_id = ?1 AND status = ?4")                                     \
	X(CALLBACK_SEEN, "INSERT INTO callback_ids (channel, id, seen_ms) "                 \
			 "VALUES (?1, ?2, ?3) ON CONFLICT (channel, id) DO NOTHING")        \
	X(CALLBACK_EXPIRE, "DELETE FROM callback_ids WHERE (channel, id) IN ("              \
			   "SELECT channel, id FROM callback_ids WHERE seen_ms < ?1 "       \
			   "ORDER BY seen_ms LIMIT ?2)")

enum sqout_stmt_id {
#define SQOUT_ENUM(name, sql) SQOUT_##name,
	SQOUT_STATEMENTS(SQOUT_ENUM)
#undef SQOUT_ENUM
	SQOUT_STMT_COUNT
};

static_assert(SQ_SLOT_PAYOUTS + SQOUT_STMT_COUNT <= SQ_SLOT_COUNT,
	      "the payouts statements overflow their cache slots");

static const char *const sqout_sql[SQOUT_STMT_COUNT] = {
#define SQOUT_TEXT(name, sql) [SQOUT_##name] = sql,
	SQOUT_STATEMENTS(SQOUT_TEXT)
#undef SQOUT_TEXT
};

static int sqout_stmt(struct sq_store *s, enum sqout_stmt_id id, sqlite3_stmt **out)
{
	return sq_prepared(s, SQ_SLOT_PAYOUTS + (int)id, sqout_sql[id], out);
}

/* ---- checking records ------------------------------------------------------ */

static bool sqout_in(int v, int max)
{
	return v >= 0 && v <= max;
}

static bool sqout_upper(const char *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i] < 'A' || c[i] > 'Z')
			return false;
	return c[n] == '\0';
}

/* A complete destination: country, last4, fingerprint and a sealed number
 * of a length a sealed account number can have. */
static bool sqout_account_ok(const struct bank_account *a)
{
	return SQ_FIXED_OK(a->holder_name) && SQ_FIXED_OK(a->bank_code) &&
	       sqout_upper(a->country, 2) && SQ_FIXED_OK(a->last4) && strlen(a->last4) == 4 &&
	       SQ_FIXED_OK(a->fingerprint) && a->fingerprint[0] &&
	       a->sealed_len >= SQOUT_SEALED_MIN && a->sealed_len <= PAYOUT_SEALED_MAX;
}

static bool sqout_recipient_ok(const struct recipient *r)
{
	return r && sq_id_ok(r->id) && sq_id_ok(r->merchant_id) && SQ_FIXED_OK(r->name) &&
	       sqout_upper(r->currency, 3) && sqout_account_ok(&r->account);
}

static bool sqout_payout_ok(const struct payout *p)
{
	return p && sq_id_ok(p->id) && sq_id_ok(p->merchant_id) && sqout_upper(p->currency, 3) &&
	       sqout_in((int)p->status, PO_CANCELED) && sqout_in((int)p->method, PO_INSTANT) &&
	       SQ_FIXED_OK(p->recipient_id) && sqout_account_ok(&p->account) &&
	       SQ_FIXED_OK(p->rail) && SQ_FIXED_OK(p->rail_reference) &&
	       SQ_FIXED_OK(p->trace_id) && SQ_FIXED_OK(p->failure_reason) &&
	       SQ_FIXED_OK(p->hold_transfer_id);
}

static bool sqout_event_ok(const struct payout_event *e)
{
	return e && sq_id_ok(e->payout_id) && sqout_in((int)e->status, PO_CANCELED) &&
	       SQ_FIXED_OK(e->source) && SQ_FIXED_OK(e->code) && SQ_FIXED_OK(e->message);
}

static bool sqout_alert_ok(const struct alert *a)
{
	return a && sq_id_ok(a->id) && sq_id_ok(a->merchant_id) && SQ_FIXED_OK(a->kind) &&
	       a->kind[0] && sq_id_ok(a->object_id) && sqout_in((int)a->status, ALERT_RESOLVED) &&
	       SQ_FIXED_OK(a->message);
}

/* ---- binding and reading columns ------------------------------------------- */

/* The six account_* columns from parameter i. */
static int sqout_bind_account(sqlite3_stmt *st, int i, const struct bank_account *a)
{
	return sq_bind_text(st, i, a->holder_name) | sq_bind_text(st, i + 1, a->bank_code) |
	       sq_bind_text(st, i + 2, a->country) | sq_bind_text(st, i + 3, a->last4) |
	       sq_bind_text(st, i + 4, a->fingerprint) |
	       sqlite3_bind_blob(st, i + 5, a->sealed, (int)a->sealed_len, SQLITE_STATIC);
}

/* The six account_* columns from column col. */
static int sqout_read_account(sqlite3_stmt *st, int col, struct bank_account *a)
{
	int rc = sq_text(st, col, a->holder_name, sizeof a->holder_name);
	if (!rc)
		rc = sq_text(st, col + 1, a->bank_code, sizeof a->bank_code);
	if (!rc)
		rc = sq_text(st, col + 2, a->country, sizeof a->country);
	if (!rc)
		rc = sq_text(st, col + 3, a->last4, sizeof a->last4);
	if (!rc)
		rc = sq_text(st, col + 4, a->fingerprint, sizeof a->fingerprint);
	if (rc)
		return rc;
	const void *blob = sqlite3_column_blob(st, col + 5);
	size_t len = (size_t)sqlite3_column_bytes(st, col + 5);
	if (len > sizeof a->sealed || (len && !blob))
		return sq_misuse("read", "a stored sealed account number is too long");
	if (len)
		memcpy(a->sealed, blob, len);
	a->sealed_len = len;
	return CAT_OK;
}

/* ---- recipients ------------------------------------------------------------ */

static int sqout_bind_recipient(struct sq_store *s, sqlite3_stmt *st, const struct recipient *r)
{
	int b = sq_bind_text(st, 1, r->id) | sq_bind_text(st, 2, r->merchant_id) |
		sq_bind_text(st, 3, r->name) | sq_bind_text(st, 4, r->currency) |
		sqout_bind_account(st, 5, &r->account) | sq_bind_heap(st, 11, r->metadata_json) |
		sqlite3_bind_int64(st, 12, r->created_ms) | sq_bind_optional(st, 13, r->email) |
		sq_bind_optional(st, 14, r->preferred_language);
	return sq_bound(s, st, b);
}

static int sqout_read_recipient(sqlite3_stmt *st, void *rec)
{
	struct recipient *r = rec;
	memset(r, 0, sizeof *r);
	r->created_ms = sqlite3_column_int64(st, 11);
	int rc = sq_text(st, 0, r->id, sizeof r->id);
	if (!rc)
		rc = sq_text(st, 1, r->merchant_id, sizeof r->merchant_id);
	if (!rc)
		rc = sq_text(st, 2, r->name, sizeof r->name);
	if (!rc)
		rc = sq_text(st, 3, r->currency, sizeof r->currency);
	if (!rc)
		rc = sqout_read_account(st, 4, &r->account);
	if (!rc)
		rc = sq_heap(st, 10, &r->metadata_json);
	if (!rc)
		rc = sq_text(st, 12, r->email, sizeof r->email);
	if (!rc)
		rc = sq_text(st, 13, r->preferred_language, sizeof r->preferred_language);
	return rc;
}

static void sqout_clear_recipient(void *rec)
{
	recipient_clear(rec);
}

static const struct sq_kind sqout_recipients = {
	.size = sizeof(struct recipient),
	.read = sqout_read_recipient,
	.clear = sqout_clear_recipient,
};

/* ---- payouts --------------------------------------------------------------- */

static int sqout_bind_payout(struct sq_store *s, sqlite3_stmt *st, const struct payout *p)
{
	int b = sq_bind_text(st, 1, p->id) | sq_bind_text(st, 2, p->merchant_id) |
		sqlite3_bind_int64(st, 3, p->amount) | sq_bind_text(st, 4, p->currency) |
		sqlite3_bind_int(st, 5, (int)p->status) | sqlite3_bind_int(st, 6, (int)p->method) |
		sq_bind_text(st, 7, p->recipient_id) | sqout_bind_account(st, 8, &p->account) |
		sq_bind_heap(st, 14, p->description) | sq_bind_heap(st, 15, p->metadata_json) |
		sq_bind_text(st, 16, p->rail) | sq_bind_text(st, 17, p->rail_reference) |
		sqlite3_bind_int(st, 18, p->rail_attempts) |
		sqlite3_bind_int(st, 19, p->outcome_unknown ? 1 : 0) |
		sq_bind_text(st, 20, p->trace_id) |
		sqlite3_bind_int64(st, 21, p->expected_arrival_ms) |
		sqlite3_bind_int64(st, 22, p->arrived_ms) | sqlite3_bind_int(st, 23, p->failure_code) |
		sq_bind_text(st, 24, p->failure_reason) |
		sq_bind_text(st, 25, p->hold_transfer_id) |
		sqlite3_bind_int64(st, 26, p->next_poll_ms) | sqlite3_bind_int(st, 27, p->polls) |
		sqlite3_bind_int(st, 28, p->overdue_level) | sqlite3_bind_int64(st, 29, p->created_ms) |
		sqlite3_bind_int64(st, 30, p->updated_ms);
	return sq_bound(s, st, b);
}

/* The text columns of a payout after its account. */
static int sqout_read_payout_texts(sqlite3_stmt *st, struct payout *p)
{
	int rc = sq_heap(st, 13, &p->description);
	if (!rc)
		rc = sq_heap(st, 14, &p->metadata_json);
	if (!rc)
		rc = sq_text(st, 15, p->rail, sizeof p->rail);
	if (!rc)
		rc = sq_text(st, 16, p->rail_reference, sizeof p->rail_reference);
	if (!rc)
		rc = sq_text(st, 19, p->trace_id, sizeof p->trace_id);
	if (!rc)
		rc = sq_text(st, 23, p->failure_reason, sizeof p->failure_reason);
	if (!rc)
		rc = sq_text(st, 24, p->hold_transfer_id, sizeof p->hold_transfer_id);
	return rc;
}

static int sqout_read_payout(sqlite3_stmt *st, void *rec)
{
	struct payout *p = rec;
	memset(p, 0, sizeof *p);
	p->amount = sqlite3_column_int64(st, 2);
	p->status = (enum payout_status)sqlite3_column_int(st, 4);
	p->method = (enum payout_method)sqlite3_column_int(st, 5);
	p->rail_attempts = sqlite3_column_int(st, 17);
	p->outcome_unknown = sqlite3_column_int(st, 18) != 0;
	p->expected_arrival_ms = sqlite3_column_int64(st, 20);
	p->arrived_ms = sqlite3_column_int64(st, 21);
	p->failure_code = sqlite3_column_int(st, 22);
	p->next_poll_ms = sqlite3_column_int64(st, 25);
	p->polls = sqlite3_column_int(st, 26);
	p->overdue_level = sqlite3_column_int(st, 27);
	p->created_ms = sqlite3_column_int64(st, 28);
	p->updated_ms = sqlite3_column_int64(st, 29);
	int rc = sq_text(st, 0, p->id, sizeof p->id);
	if (!rc)
		rc = sq_text(st, 1, p->merchant_id, sizeof p->merchant_id);
	if (!rc)
		rc = sq_text(st, 3, p->currency, sizeof p->currency);
	if (!rc)
		rc = sq_text(st, 6, p->recipient_id, sizeof p->recipient_id);
	if (!rc)
		rc = sqout_read_account(st, 7, &p->account);
	if (!rc)
		rc = sqout_read_payout_texts(st, p);
	return rc;
}

static void sqout_clear_payout(void *rec)
{
	payout_clear(rec);
}

static const struct sq_kind sqout_payouts = {
	.size = sizeof(struct payout),
	.read = sqout_read_payout,
	.clear = sqout_clear_payout,
};

/* ---- timeline and alerts --------------------------------------------------- */

static int sqout_read_event(sqlite3_stmt *st, void *rec)
{
	struct payout_event *e = rec;
	memset(e, 0, sizeof *e);
	e->seq = sqlite3_column_int(st, 1);
	e->at_ms = sqlite3_column_int64(st, 2);
	e->status = (enum payout_status)sqlite3_column_int(st, 3);
	int rc = sq_text(st, 0, e->payout_id, sizeof e->payout_id);
	if (!rc)
		rc = sq_text(st, 4, e->source, sizeof e->source);
	if (!rc)
		rc = sq_text(st, 5, e->code, sizeof e->code);
	if (!rc)
		rc = sq_text(st, 6, e->message, sizeof e->message);
	return rc;
}

static const struct sq_kind sqout_events = {
	.size = sizeof(struct payout_event),
	.read = sqout_read_event,
	.clear = sq_clear_nothing,
};

static int sqout_bind_alert(struct sq_store *s, sqlite3_stmt *st, const struct alert *a)
{
	int b = sq_bind_text(st, 1, a->id) | sq_bind_text(st, 2, a->merchant_id) |
		sq_bind_text(st, 3, a->kind) | sq_bind_text(st, 4, a->object_id) |
		sqlite3_bind_int(st, 5, a->level) | sqlite3_bind_int(st, 6, (int)a->status) |
		sq_bind_text(st, 7, a->message) | sqlite3_bind_int64(st, 8, a->created_ms) |
		sqlite3_bind_int64(st, 9, a->updated_ms) | sqlite3_bind_int64(st, 10, a->resolved_ms);
	return sq_bound(s, st, b);
}

static int sqout_read_alert(sqlite3_stmt *st, void *rec)
{
	struct alert *a = rec;
	memset(a, 0, sizeof *a);
	a->level = sqlite3_column_int(st, 4);
	a->status = (enum alert_status)sqlite3_column_int(st, 5);
	a->created_ms = sqlite3_column_int64(st, 7);
	a->updated_ms = sqlite3_column_int64(st, 8);
	a->resolved_ms = sqlite3_column_int64(st, 9);
	int rc = sq_text(st, 0, a->id, sizeof a->id);
	if (!rc)
		rc = sq_text(st, 1, a->merchant_id, sizeof a->merchant_id);
	if (!rc)
		rc = sq_text(st, 2, a->kind, sizeof a->kind);
	if (!rc)
		rc = sq_text(st, 3, a->object_id, sizeof a->object_id);
	if (!rc)
		rc = sq_text(st, 6, a->message, sizeof a->message);
	return rc;
}

static const struct sq_kind sqout_alerts = {
	.size = sizeof(struct alert),
	.read = sqout_read_alert,
	.clear = sq_clear_nothing,
};

/* ---- shared machinery ------------------------------------------------------ */

/* One record by id, scoped to merchant_id: ?1 the id, ?2 the merchant. */
static int sqout_get(struct sq_store *s, enum sqout_stmt_id id, const struct sq_kind *k,
		     const char *merchant_id, const char *record_id, void *out)
{
	sqlite3_stmt *st;
	int rc = sqout_stmt(s, id, &st);
	return rc ? rc : sq_get(s, st, k, merchant_id ? merchant_id : "", record_id, out);
}
/* A paged list: its statements by [filtered][direction]. */
struct sqout_pages {
	const struct sq_kind *kind;
	enum sqout_stmt_id stmt[2][3];
};

/* What narrows a page: a filter value (?4) and a creation range (?5, ?6),
 * each bound when the statement has the parameter. */
struct sqout_narrow {
	bool filtered;
	int filter;
	struct store_range created;
};

static int sqout_bind_page(struct sq_store *s, sqlite3_stmt *st, const char *merchant_id,
			   const char *cursor, int cap, const struct sqout_narrow *nw)
{
	int params = sqlite3_bind_parameter_count(st);
	int b = sq_bind_text(st, 1, merchant_id) | sqlite3_bind_int(st, 3, cap);
	if (cursor)
		b |= sq_bind_text(st, 2, cursor);
	if (nw->filtered && params >= 4)
		b |= sqlite3_bind_int(st, 4, nw->filter);
	if (params >= 6)
		b |= sqlite3_bind_int64(st, 5, nw->created.gte_ms) |
		     sqlite3_bind_int64(st, 6, nw->created.lte_ms);
	return sq_bound(s, st, b);
}

static int sqout_list(struct sq_store *s, const struct sqout_pages *q, const char *merchant_id,
		      const struct store_page *page, const struct sqout_narrow *nw,
		      store_each_fn each, void *ctx, bool *has_more)
{
	const char *cursor;
	enum sq_dir dir;
	int rc = sq_page_check(merchant_id, page, each, &cursor, &dir);
	sqlite3_stmt *st;
	if (!rc)
		rc = sqout_stmt(s, q->stmt[nw->filtered][dir], &st);
	if (!rc)
		rc = sqout_bind_page(s, st, merchant_id, cursor, page->limit + 1, nw);
	return rc ? rc : sq_page_deliver(s, st, q->kind, page, dir, each, ctx, has_more);
}

/* Where a walk over payouts goes on from: the last one seen. */
struct sqout_cursor {
	char id[ID_MAX];
	int64_t poll_ms;
};

/* Every payout the walk `id` finds (the first `max`; 0: all), SQ_CHUNK at
 * a time: ?1 the last id
 * seen, ?2 the chunk size, and for the due walk ?3 before_ms and ?4 the
 * last next_poll_ms seen. */
static int sqout_payout_walk(struct sq_store *s, enum sqout_stmt_id id, int64_t before_ms,
			     int max, store_each_fn each, void *ctx)
{
	if (!each)
		return CAT_PARAMETER_INVALID;
	struct payout *buf = calloc(SQ_CHUNK, sizeof *buf);
	if (!buf)
		return sq_misuse("walk", "out of memory");
	struct sqout_cursor at = {.id = "", .poll_ms = 0};
	int rc = CAT_OK, n = SQ_CHUNK, delivered = 0;
	while (!rc && n == SQ_CHUNK && (max <= 0 || delivered < max)) {
		sqlite3_stmt *st;
		n = 0;
		if ((rc = sqout_stmt(s, id, &st)))
			break;
		int b = sq_bind_text(st, 1, at.id) | sqlite3_bind_int(st, 2, SQ_CHUNK);
		if (sqlite3_bind_parameter_count(st) >= 4)
			b |= sqlite3_bind_int64(st, 3, before_ms) |
			     sqlite3_bind_int64(st, 4, at.poll_ms);
		if (!(rc = sq_bound(s, st, b)))
			rc = sq_fetch(s, st, &sqout_payouts, (char *)buf, SQ_CHUNK, &n);
		if (!rc && n > 0) {
			memcpy(at.id, buf[n - 1].id, ID_MAX);
			at.poll_ms = buf[n - 1].next_poll_ms;
		}
		for (int i = 0; !rc && i < n && (max <= 0 || delivered < max); i++, delivered++)
			each(ctx, &buf[i]);
		sq_clear_all(&sqout_payouts, (char *)buf, n);
	}
	free(buf);
	return rc;
}

/* ---- recipients ------------------------------------------------------------ */

int sq_recipient_insert(struct store *base, const struct recipient *r)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "recipient_insert");
	if (rc)
		return rc;
	if (!sqout_recipient_ok(r))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqout_stmt(s, SQOUT_RECIPIENT_INSERT, &st)) ||
	    (rc = sqout_bind_recipient(s, st, r)))
		return rc;
	return sq_write(s, st, "recipient_insert", 0);
}

int sq_recipient_get(struct store *base, const char *merchant_id, const char *id,
		     struct recipient *out)
{
	return sqout_get(sq(base), SQOUT_RECIPIENT_GET, &sqout_recipients, merchant_id, id, out);
}

static const struct sqout_pages sqout_recipient_pages = {
	.kind = &sqout_recipients,
	.stmt = {{SQOUT_RECIPIENT_PAGE_FIRST, SQOUT_RECIPIENT_PAGE_AFTER,
		  SQOUT_RECIPIENT_PAGE_BEFORE},
		 {SQOUT_RECIPIENT_PAGE_FIRST, SQOUT_RECIPIENT_PAGE_AFTER,
		  SQOUT_RECIPIENT_PAGE_BEFORE}},
};

/* No filter: page.filter is ignored. */
int sq_recipient_list(struct store *base, const char *merchant_id, const struct store_page *page,
		      store_each_fn each, void *ctx, bool *has_more)
{
	struct sqout_narrow nw = {.filtered = false};
	return sqout_list(sq(base), &sqout_recipient_pages, merchant_id, page, &nw, each, ctx,
			  has_more);
}

/* ---- payouts --------------------------------------------------------------- */

static int sqout_payout_write(struct store *base, enum sqout_stmt_id id, const struct payout *p,
			      const char *op)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sqout_payout_ok(p))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqout_stmt(s, id, &st)) || (rc = sqout_bind_payout(s, st, p)))
		return rc;
	return sq_write(s, st, op, 0);
}

int sq_payout_insert(struct store *base, const struct payout *p)
{
	return sqout_payout_write(base, SQOUT_PAYOUT_INSERT, p, "payout_insert");
}

int sq_payout_update(struct store *base, const struct payout *p)
{
	return sq_updated(sq(base),
			     sqout_payout_write(base, SQOUT_PAYOUT_UPDATE, p, "payout_update"));
}

int sq_payout_get(struct store *base, const char *merchant_id, const char *id, struct payout *out)
{
	return sqout_get(sq(base), SQOUT_PAYOUT_GET, &sqout_payouts, merchant_id, id, out);
}

int sq_payout_find_reference(struct store *base, const char *rail_reference, struct payout *out)
{
	struct sq_store *s = sq(base);
	if (!out)
		return CAT_PARAMETER_INVALID;
	if (!sq_id_ok(rail_reference))
		return CAT_NO_SUCH_OBJECT;
	sqlite3_stmt *st;
	int rc = sqout_stmt(s, SQOUT_PAYOUT_BY_REFERENCE, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, rail_reference))))
		return rc;
	return sq_one(s, st, &sqout_payouts, out);
}

static const struct sqout_pages sqout_payout_pages = {
	.kind = &sqout_payouts,
	.stmt = {{SQOUT_PAYOUT_PAGE_FIRST, SQOUT_PAYOUT_PAGE_AFTER, SQOUT_PAYOUT_PAGE_BEFORE},
		 {SQOUT_PAYOUT_OF_STATUS_FIRST, SQOUT_PAYOUT_OF_STATUS_AFTER,
		  SQOUT_PAYOUT_OF_STATUS_BEFORE}},
};

int sq_payout_list(struct store *base, const char *merchant_id, const struct store_page *page,
		   const struct store_range *created, store_each_fn each, void *ctx,
		   bool *has_more)
{
	struct sqout_narrow nw = {.created = {INT64_MIN, INT64_MAX}};
	if (page && page->filter) {
		nw.filtered = true;
		if ((nw.filter = payout_status_parse(page->filter)) < 0)
			return CAT_PARAMETER_INVALID;
	}
	if (created)
		nw.created = *created;
	return sqout_list(sq(base), &sqout_payout_pages, merchant_id, page, &nw, each, ctx,
			  has_more);
}

int sq_payout_open_each(struct store *base, store_each_fn each, void *ctx)
{
	return sqout_payout_walk(sq(base), SQOUT_PAYOUT_OPEN, 0, 0, each, ctx);
}

int sq_payout_due_each(struct store *base, int64_t before_ms, int max, store_each_fn each,
		       void *ctx)
{
	return sqout_payout_walk(sq(base), SQOUT_PAYOUT_DUE, before_ms, max, each, ctx);
}

/* ---- timeline -------------------------------------------------------------- */

int sq_payout_event_insert(struct store *base, const struct payout_event *e)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "payout_event_insert");
	if (rc)
		return rc;
	if (!sqout_event_ok(e))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqout_stmt(s, SQOUT_EVENT_INSERT, &st)) ||
	    (rc = sq_bound(s, st, sq_bind_text(st, 1, e->payout_id) |
					  sqlite3_bind_int(st, 2, e->seq) |
					  sqlite3_bind_int64(st, 3, e->at_ms) |
					  sqlite3_bind_int(st, 4, (int)e->status) |
					  sq_bind_text(st, 5, e->source) |
					  sq_bind_text(st, 6, e->code) |
					  sq_bind_text(st, 7, e->message))))
		return rc;
	return sq_write(s, st, "payout_event_insert", 0);
}

/* SQ_CHUNK lines at a time, by seq. */
int sq_payout_event_list(struct store *base, const char *payout_id, store_each_fn each, void *ctx)
{
	struct sq_store *s = sq(base);
	if (!each)
		return CAT_PARAMETER_INVALID;
	if (!sq_id_ok(payout_id))
		return CAT_OK;
	struct payout_event buf[SQ_CHUNK];
	int rc = CAT_OK, n = SQ_CHUNK, after = 0;
	while (!rc && n == SQ_CHUNK) {
		sqlite3_stmt *st;
		n = 0;
		if (!(rc = sqout_stmt(s, SQOUT_EVENT_OF_PAYOUT, &st)) &&
		    !(rc = sq_bound(s, st, sq_bind_text(st, 1, payout_id) |
						   sqlite3_bind_int(st, 2, after) |
						   sqlite3_bind_int(st, 3, SQ_CHUNK))))
			rc = sq_fetch(s, st, &sqout_events, (char *)buf, SQ_CHUNK, &n);
		for (int i = 0; !rc && i < n; i++)
			each(ctx, &buf[i]);
		if (n > 0)
			after = buf[n - 1].seq;
	}
	return rc;
}

/* ---- alerts ---------------------------------------------------------------- */

static int sqout_alert_write(struct store *base, enum sqout_stmt_id id, const struct alert *a,
			     const char *op)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sqout_alert_ok(a))
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqout_stmt(s, id, &st)) || (rc = sqout_bind_alert(s, st, a)))
		return rc;
	/* alerts_open: another alert of this kind is open for the object */
	return sq_write(s, st, op, CAT_INVALID_STATE);
}

int sq_alert_insert(struct store *base, const struct alert *a)
{
	return sqout_alert_write(base, SQOUT_ALERT_INSERT, a, "alert_insert");
}

int sq_alert_update(struct store *base, const struct alert *a)
{
	return sq_updated(sq(base), sqout_alert_write(base, SQOUT_ALERT_UPDATE, a, "alert_update"));
}

int sq_alert_get(struct store *base, const char *merchant_id, const char *id, struct alert *out)
{
	return sqout_get(sq(base), SQOUT_ALERT_GET, &sqout_alerts, merchant_id, id, out);
}

static const struct sqout_pages sqout_alert_pages = {
	.kind = &sqout_alerts,
	.stmt = {{SQOUT_ALERT_PAGE_FIRST, SQOUT_ALERT_PAGE_AFTER, SQOUT_ALERT_PAGE_BEFORE},
		 {SQOUT_ALERT_OF_STATUS_FIRST, SQOUT_ALERT_OF_STATUS_AFTER,
		  SQOUT_ALERT_OF_STATUS_BEFORE}},
};

int sq_alert_list(struct store *base, const char *merchant_id, const struct store_page *page,
		  store_each_fn each, void *ctx, bool *has_more)
{
	struct sqout_narrow nw = {.filtered = false};
	if (page && page->filter) {
		nw.filtered = true;
		if ((nw.filter = alert_status_parse(page->filter)) < 0)
			return CAT_PARAMETER_INVALID;
	}
	return sqout_list(sq(base), &sqout_alert_pages, merchant_id, page, &nw, each, ctx,
			  has_more);
}

int sq_alert_open_for(struct store *base, const char *object_id, const char *kind,
		      struct alert *out)
{
	struct sq_store *s = sq(base);
	if (!out || !kind)
		return CAT_PARAMETER_INVALID;
	if (!sq_id_ok(object_id) || !kind[0])
		return CAT_NO_SUCH_OBJECT;
	sqlite3_stmt *st;
	int rc = sqout_stmt(s, SQOUT_ALERT_OPEN_FOR, &st);
	if (rc || (rc = sq_bound(s, st, sq_bind_text(st, 1, object_id) |
						sq_bind_text(st, 2, kind))))
		return rc;
	return sq_one(s, st, &sqout_alerts, out);
}

/* ---- callback ids ---------------------------------------------------------- */

int sq_callback_seen(struct store *base, const char *channel, const char *id, int64_t now_ms)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "callback_seen");
	if (rc)
		return rc;
	if (!channel || !channel[0] || strnlen(channel, PAYMENT_CHANNEL_MAX) >= PAYMENT_CHANNEL_MAX ||
	    !id || !id[0] || strnlen(id, STORE_CALLBACK_ID_MAX + 1) > STORE_CALLBACK_ID_MAX)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sqout_stmt(s, SQOUT_CALLBACK_SEEN, &st)) ||
	    (rc = sq_bound(s, st, sq_bind_text(st, 1, channel) | sq_bind_text(st, 2, id) |
					  sqlite3_bind_int64(st, 3, now_ms))) ||
	    (rc = sq_write(s, st, "callback_seen", 0)))
		return rc;
	return sqlite3_changes(s->db) == 1 ? CAT_OK : CAT_IDEMPOTENCY_KEY_REUSED;
}

int sq_callback_expire(struct store *base, int64_t before_ms, long *removed)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "callback_expire");
	if (rc)
		return rc;
	if (!removed)
		return CAT_PARAMETER_INVALID;
	*removed = 0;
	sqlite3_stmt *st;
	if ((rc = sqout_stmt(s, SQOUT_CALLBACK_EXPIRE, &st)) ||
	    (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, before_ms) |
					  sqlite3_bind_int(st, 2, STORE_CALLBACK_EXPIRE_MAX))) ||
	    (rc = sq_write(s, st, "callback_expire", 0)))
		return rc;
	*removed = (long)sqlite3_changes(s->db);
	return CAT_OK;
}
