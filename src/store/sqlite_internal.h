/* store/sqlite_internal: what the files of the SQLite backend share, and
 * nothing outside src/store/ may include.  store_sqlite.c owns the
 * connection (opening, migrations, transactions, savepoints), the
 * statement cache and the ledger; each further subsystem has its own file
 * (store_sqlite_payments.c: secrets, intents, attempts, refunds, events,
 * idempotency keys; store_sqlite_payouts.c: recipients, payouts, their
 * timelines, alerts, callback ids) that keeps its own SQL texts and gets a range of
 * slots in the connection's statement cache.  The helpers below are
 * defined in store_sqlite.c. */
#ifndef PAYD_STORE_SQLITE_INTERNAL_H
#define PAYD_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"

/* The statement cache: one slot per statement a subsystem runs more than
 * once.  Each file numbers its statements from its base and checks with a
 * static assertion that they fit below the next base. */
enum sq_slot {
	SQ_SLOT_CORE = 0,      /* store_sqlite.c */
	SQ_SLOT_PAYMENTS = 48, /* store_sqlite_payments.c (asserts it ends by 112) */
	SQ_SLOT_PAYOUTS = 112, /* store_sqlite_payouts.c */
	SQ_SLOT_WEBHOOKS = 160, /* store_sqlite_webhooks.c */
	SQ_SLOT_COUNT = 192,
};

struct sq_store {
	struct store base; /* first: a struct store * points at a struct sq_store */
	sqlite3 *db;
	bool readonly;
	bool deferred_sync;   /* STORE_DEFERRED_SYNC */
	int wal_fd;           /* for sync: the WAL file, opened on first use (-1) */
	char *wal_path;
	bool in_tx; /* between a successful begin and its commit/rollback */
	sqlite3_stmt *stmts[SQ_SLOT_COUNT];
	struct sq_checkpointer *checkpointer; /* writers only */
};

/* sqlite_vfs.c: the VFS every connection uses (WAL writes gathered into
 * one system call per sync); registered on first use. */
#define SQ_VFS_NAME "payd"
const char *sq_vfs_name(void);
/* The URI parameter of a connection whose WAL syncs are only flushes
 * (STORE_DEFERRED_SYNC: the store's sync does the fdatasync). */
#define SQ_VFS_DEFER_PARAM "payd_defer_sync"

/* sqlite_checkpoint.c: checkpoints on a thread of their own. */
int sq_checkpointer_start(struct sq_store *s, const char *path);
void sq_checkpointer_stop(struct sq_store *s);

static inline struct sq_store *sq(struct store *s)
{
	return (struct sq_store *)s;
}

/* Logs a failed SQLite call and returns its catalog code
 * (CAT_STORAGE_UNAVAILABLE, or CAT_INTERNAL when payd misused SQLite). */
int sq_fail(struct sq_store *s, int sqlite_rc, const char *what);
/* Logs a misuse of the store by its caller; returns CAT_INTERNAL. */
int sq_misuse(const char *op, const char *why);

/* The statement in cache slot `slot`, prepared from sql on first use,
 * reset and unbound. */
int sq_prepared(struct sq_store *s, int slot, const char *sql, sqlite3_stmt **out);
/* Checks the result of a run of sqlite3_bind_* calls (OR-ed together). */
int sq_bound(struct sq_store *s, sqlite3_stmt *st, int bind_rc);
/* Steps a bound statement that returns no row, and resets it. */
int sq_run(struct sq_store *s, sqlite3_stmt *st);
/* Steps a bound query: CAT_OK with a row to read (the caller resets),
 * CAT_NO_SUCH_OBJECT with none (reset done), or an error (reset done). */
int sq_row(struct sq_store *s, sqlite3_stmt *st);
/* Copies a text column into out[cap]; a longer value means a corrupt row. */
int sq_text(sqlite3_stmt *st, int col, char *out, size_t cap);

/* CAT_OK when a write may go ahead: a writable store, a transaction open. */
int sq_need_write(struct sq_store *s, const char *op);
/* A savepoint around a write of several statements; end keeps its work
 * when rc is 0, else undoes it, and returns rc (or the error of ending). */
int sq_savepoint(struct sq_store *s);
int sq_savepoint_end(struct sq_store *s, int rc);

/* A fixed-size text field of a record holds its NUL. */
#define SQ_FIXED_OK(field) (memchr((field), '\0', sizeof(field)) != NULL)

/* A non-empty id that fits in char[ID_MAX]. */
bool sq_id_ok(const char *id);

/* The operations of store_sqlite_payments.c, for store_sqlite_ops. */
int sq_secret_get(struct store *s, const char *name, uint8_t out[32]);
int sq_intent_insert(struct store *s, const struct payment_intent *pi);
int sq_intent_update(struct store *s, const struct payment_intent *pi);
int sq_intent_get(struct store *s, const char *merchant_id, const char *id,
		  struct payment_intent *out);
int sq_intent_list(struct store *s, const char *merchant_id, const struct store_page *page,
		   store_each_fn each, void *ctx, bool *has_more);
int sq_attempt_insert(struct store *s, const struct payment_attempt *a);
int sq_attempt_update(struct store *s, const struct payment_attempt *a);
int sq_attempt_get(struct store *s, const char *id, struct payment_attempt *out);
int sq_attempt_list(struct store *s, const char *intent_id, struct payment_attempt *out, int cap,
		    int *count);
int sq_attempt_unsettled(struct store *s, store_each_fn each, void *ctx);
int sq_intent_in_flight(struct store *s, store_each_fn each, void *ctx);
int sq_refund_insert(struct store *s, const struct refund *r);
int sq_refund_update(struct store *s, const struct refund *r);
int sq_refund_get(struct store *s, const char *merchant_id, const char *id, struct refund *out);
int sq_refund_list(struct store *s, const char *merchant_id, const struct store_page *page,
		   store_each_fn each, void *ctx, bool *has_more);
int sq_refund_pending(struct store *s, store_each_fn each, void *ctx);
int sq_event_insert(struct store *s, const struct store_event *e);
int sq_event_get(struct store *s, const char *merchant_id, const char *id,
		 struct store_event *out);
int sq_event_list(struct store *s, const char *merchant_id, const struct store_page *page,
		  store_each_fn each, void *ctx, bool *has_more);
int sq_idem_get(struct store *s, const char *merchant_id, const char *key, struct store_idem *out);
int sq_idem_put(struct store *s, const struct store_idem *r);
int sq_idem_expire(struct store *s, int64_t before_ms, long *removed);

/* The operations of store_sqlite_payouts.c, for store_sqlite_ops. */
int sq_recipient_insert(struct store *s, const struct recipient *r);
int sq_recipient_get(struct store *s, const char *merchant_id, const char *id,
		     struct recipient *out);
int sq_recipient_list(struct store *s, const char *merchant_id, const struct store_page *page,
		      store_each_fn each, void *ctx, bool *has_more);
int sq_payout_insert(struct store *s, const struct payout *p);
int sq_payout_update(struct store *s, const struct payout *p);
int sq_payout_get(struct store *s, const char *merchant_id, const char *id, struct payout *out);
int sq_payout_list(struct store *s, const char *merchant_id, const struct store_page *page,
		   const struct store_range *created, store_each_fn each, void *ctx,
		   bool *has_more);
int sq_payout_find_reference(struct store *s, const char *rail_reference, struct payout *out);
int sq_payout_open_each(struct store *s, store_each_fn each, void *ctx);
int sq_payout_due_each(struct store *s, int64_t before_ms, int max, store_each_fn each,
		       void *ctx);
int sq_payout_event_insert(struct store *s, const struct payout_event *e);
int sq_payout_event_list(struct store *s, const char *payout_id, store_each_fn each, void *ctx);
int sq_alert_insert(struct store *s, const struct alert *a);
int sq_alert_update(struct store *s, const struct alert *a);
int sq_alert_get(struct store *s, const char *merchant_id, const char *id, struct alert *out);
int sq_alert_list(struct store *s, const char *merchant_id, const struct store_page *page,
		  store_each_fn each, void *ctx, bool *has_more);
int sq_alert_open_for(struct store *s, const char *object_id, const char *kind,
		      struct alert *out);
int sq_callback_seen(struct store *s, const char *channel, const char *id, int64_t now_ms);
int sq_callback_expire(struct store *s, int64_t before_ms, long *removed);

/* The operations of store_sqlite_webhooks.c, for store_sqlite_ops. */
int sq_webhook_insert(struct store *s, const struct webhook_endpoint *w);
int sq_webhook_update(struct store *s, const struct webhook_endpoint *w);
int sq_webhook_health_update(struct store *s, const struct webhook_endpoint *w);
int sq_webhook_get(struct store *s, const char *merchant_id, const char *id,
		   struct webhook_endpoint *out);
int sq_webhook_list(struct store *s, const char *merchant_id, const struct store_page *page,
		    store_each_fn each, void *ctx, bool *has_more);
int sq_webhook_count(struct store *s, const char *merchant_id, long *out);
int sq_delivery_insert(struct store *s, struct delivery *d);
int sq_delivery_update(struct store *s, const struct delivery *d);
int sq_delivery_get(struct store *s, int64_t id, struct delivery *out);
int sq_delivery_due(struct store *s, int64_t before_ms, int limit, const char *busy_json,
		    const char *full_json, store_each_fn each, void *ctx);
int sq_delivery_of_event(struct store *s, const char *event_id, store_each_fn each, void *ctx);
int sq_delivery_skip_endpoint(struct store *s, const char *endpoint_id, int64_t now_ms,
			      const char *why);
int sq_delivery_expire(struct store *s, int64_t before_ms, long *removed);
int sq_delivery_attempt_insert(struct store *s, const struct delivery_attempt *a);
int sq_delivery_attempt_list(struct store *s, int64_t delivery_id, store_each_fn each,
			     void *ctx);

/* ---- sqlite_records.c: what the record files share ---------------------- */

#define SQ_PAGE_MAX 100 /* store_page.limit: 1..SQ_PAGE_MAX */
#define SQ_CHUNK 64     /* records per read of the unbounded walks */

/* The statements of a paged list, newest first: ?1 the merchant, ?2 the
 * cursor id, ?3 the row count; `where` may use ?4 and up. */
#define SQ_PAGE_FIRST(cols, table, where) \
	"SELECT " cols " FROM " table " WHERE " where " ORDER BY id DESC LIMIT ?3"
#define SQ_PAGE_AFTER(cols, table, where) \
	"SELECT " cols " FROM " table " WHERE " where " AND id < ?2 ORDER BY id DESC LIMIT ?3"
#define SQ_PAGE_BEFORE(cols, table, where) \
	"SELECT " cols " FROM " table " WHERE " where " AND id > ?2 ORDER BY id ASC LIMIT ?3"
#define SQ_PAGES(X, NAME, cols, table, where)                  \
	X(NAME##_FIRST, SQ_PAGE_FIRST(cols, table, where))    \
	X(NAME##_AFTER, SQ_PAGE_AFTER(cols, table, where))    \
	X(NAME##_BEFORE, SQ_PAGE_BEFORE(cols, table, where))

int sq_bind_text(sqlite3_stmt *st, int i, const char *text);
/* A fixed-size text field: "" is NULL. */
int sq_bind_optional(sqlite3_stmt *st, int i, const char *text);
/* A heap string: NULL stays NULL. */
int sq_bind_heap(sqlite3_stmt *st, int i, const char *text);
/* A heap copy of a text column, NULL for SQL NULL. */
int sq_heap(sqlite3_stmt *st, int col, char **out);

/* A record kind: how to read one from a row and free its heap fields. */
struct sq_kind {
	size_t size;
	size_t id_offset; /* of its char id[ID_MAX] (walks by id) */
	int (*read)(sqlite3_stmt *st, void *rec); /* zeroes rec first; clearable on error */
	void (*clear)(void *rec);
};
void sq_clear_nothing(void *rec);

/* Steps a bound INSERT or UPDATE and resets it.  A reference to a row
 * that does not exist is CAT_NO_SUCH_OBJECT; a unique index (not the
 * primary key) refusing the row is `unique_rc` when that is not 0.
 * SQLite has undone the statement either way: the transaction goes on. */
int sq_write(struct sq_store *s, sqlite3_stmt *st, const char *op, int unique_rc);
/* An UPDATE that must match exactly one row. */
int sq_updated(struct sq_store *s, int rc);
/* Reads up to cap rows of the bound query st into buf (records of kind
 * k), resets st and sets *n.  On error the records read stay in buf for
 * the caller to clear (*n of them). */
int sq_fetch(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k, char *buf, int cap,
	     int *n);
void sq_clear_all(const struct sq_kind *k, char *buf, int n);
/* The one record the prepared query st (?1 the id, ?2 the merchant when
 * merchant_id is not NULL) finds, into out; CAT_NO_SUCH_OBJECT for an id
 * (or merchant) that cannot be one. */
int sq_get(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k, const char *merchant_id,
	   const char *record_id, void *out);
/* The one record the bound query st finds, into out. */
int sq_one(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k, void *out);

enum sq_dir { SQ_FIRST, SQ_AFTER, SQ_BEFORE };
/* Checks a page request; its cursor (or NULL) and direction. */
int sq_page_check(const char *merchant_id, const struct store_page *page, store_each_fn each,
		  const char **cursor, enum sq_dir *dir);
/* Reads the page from the bound query st (limit + 1 rows, to know
 * whether more follow) and delivers it newest first. */
int sq_page_deliver(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k,
		    const struct store_page *page, enum sq_dir dir, store_each_fn each, void *ctx,
		    bool *has_more);

#endif
