/* store/store_sqlite: the SQLite backend of store.h.  It owns the
 * connection setup (WAL, synchronous=FULL, foreign keys, busy timeout), the
 * migrations (PRAGMA user_version, one transaction per migration together
 * with its version bump), a per-connection cache of prepared statements
 * (prepared on first use: the hot path never re-parses SQL), and the
 * bookkeeping of the ledger tables around core/ledger's pure rules.
 *
 * Transactions.  Every write (merchants, keys, accounts, transfers) runs
 * inside the caller's store_begin/store_commit, since the engine commits a
 * whole batch of commands at once; a write outside one, or on a read-only
 * store, is refused with CAT_INTERNAL.  A write that needs several
 * statements runs under its own SAVEPOINT and everything is validated
 * before the first statement, so an operation that fails leaves the
 * enclosing transaction exactly as it found it: the caller may go on with
 * the batch or roll it back.
 *
 * The ledger tables.  A transfer is a row in `transfers` and one row per
 * leg in `entries`; an entry's kind is 0 (posted money) or 1 (the
 * reservation of a pending transfer).
 *   post          transfer POSTED, kind-0 entries, accounts' posted moves.
 *   pend          transfer PENDING, kind-1 entries, pending_* grow.
 *   post_pending  a new transfer POSTED with pending_id = the hold and kind-0
 *                 entries for the amount posted; the hold becomes SETTLED
 *                 and its reservation is released.
 *   void          the hold becomes VOIDED; the void itself is recorded as a
 *                 transfer VOIDED with pending_id = the hold, amount = the
 *                 amount released and no entries (no money moves).
 * A unique index on transfers.pending_id lets a hold be resolved once.  So
 * an account's posted balance is the sum of its kind-0 entries and its
 * pending_* the sums of the kind-1 entries of transfers still PENDING,
 * which is what ledger_audit recomputes.
 *
 * Other subsystems live in files of their own that share the connection
 * through sqlite_internal.h (store_sqlite_payments.c: secrets, intents,
 * attempts, refunds, events, idempotency keys; store_sqlite_payouts.c:
 * recipients, payouts, payout timelines, alerts, callback ids), each with
 * its own range of slots in the statement cache.
 *
 * A store handle belongs to one thread at a time (SQLITE_OPEN_NOMUTEX).
 * SQLite failures are logged and map to CAT_STORAGE_UNAVAILABLE, or to
 * CAT_INTERNAL when they mean payd misused SQLite (bad SQL, a constraint). */
#include "store/store_sqlite.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "base/currency.h"
#include "base/log.h"
#include "base/money.h"
#include "core/catalog.h"
#include "store/schema.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

enum sq_entry_kind { SQ_ENTRY_POSTED = 0, SQ_ENTRY_RESERVED = 1 };

#define SQ_ACCOUNT_COLS "id, currency, flags, posted, pending_debits, pending_credits"

/* Every statement the backend runs more than once. */
#define SQ_STATEMENTS(X)                                                                     \
	X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                    \
	X(BEGIN_READ, "BEGIN DEFERRED")                                                      \
	X(COMMIT, "COMMIT")                                                                  \
	X(ROLLBACK, "ROLLBACK")                                                              \
	X(SAVEPOINT, "SAVEPOINT store_op")                                                   \
	X(RELEASE, "RELEASE store_op")                                                       \
	X(ROLLBACK_TO, "ROLLBACK TO store_op")                                               \
	X(USER_VERSION, "PRAGMA user_version")                                               \
	X(MERCHANT_BY_NAME, "SELECT id FROM merchants WHERE name = ?1")                      \
	X(MERCHANT_INSERT, "INSERT INTO merchants (id, name, created_ms) VALUES (?1, ?2, ?3)") \
	X(KEY_INSERT, "INSERT INTO api_keys (id, merchant_id, hash, last4, created_ms) "     \
		      "VALUES (?1, ?2, ?3, ?4, ?5)")                                          \
	X(KEY_LOOKUP, "SELECT merchant_id FROM api_keys WHERE hash = ?1 AND revoked_ms IS NULL") \
	X(ACCOUNT_BY_ID, "SELECT " SQ_ACCOUNT_COLS " FROM accounts WHERE id = ?1")           \
	X(ACCOUNT_BY_CODE, "SELECT " SQ_ACCOUNT_COLS " FROM accounts WHERE code = ?1")       \
	/* walked while the code still starts with the prefix (see sq_account_list) */       \
	X(ACCOUNT_FROM_CODE, "SELECT code, " SQ_ACCOUNT_COLS " FROM accounts "              \
			     "WHERE code >= ?1 ORDER BY code")                                \
	X(ACCOUNT_INSERT, "INSERT INTO accounts (code, currency, flags, created_ms) "         \
			  "VALUES (?1, ?2, ?3, ?4)")                                          \
	X(ACCOUNT_UPDATE, "UPDATE accounts SET posted = ?2, pending_debits = ?3, "           \
			  "pending_credits = ?4 WHERE id = ?1")                               \
	X(TRANSFER_INSERT, "INSERT INTO transfers (id, currency, state, pending_id, amount, " \
			   "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                     \
	X(TRANSFER_BY_ID, "SELECT currency, state, pending_id, created_ms FROM transfers "   \
			  "WHERE id = ?1")                                                    \
	X(TRANSFER_RESOLVE, "UPDATE transfers SET state = ?2 WHERE id = ?1 AND state = ?3")  \
	X(ENTRY_INSERT, "INSERT INTO entries (transfer_id, account_id, kind, amount) "       \
			"VALUES (?1, ?2, ?3, ?4)")                                            \
	X(ENTRIES_OF, "SELECT e.account_id, e.amount, a.currency FROM entries e "            \
		      "JOIN accounts a ON a.id = e.account_id WHERE e.transfer_id = ?1 "     \
		      "ORDER BY e.id")                                                        \
	X(AUDIT_COUNTS, "SELECT (SELECT count(*) FROM accounts), "                           \
			"(SELECT count(*) FROM transfers), (SELECT count(*) FROM entries)")   \
	/* ?1 = SQ_ENTRY_POSTED */                                                           \
	X(AUDIT_BALANCES, "SELECT count(*) FROM accounts a WHERE a.posted <> "               \
			  "(SELECT coalesce(sum(e.amount), 0) FROM entries e "                \
			  "WHERE e.account_id = a.id AND e.kind = ?1)")                       \
	/* ?1 = SQ_ENTRY_RESERVED, ?2 = TRANSFER_PENDING */                                  \
	X(AUDIT_PENDING, "SELECT count(*) FROM accounts a WHERE "                            \
			 "a.pending_debits <> (SELECT coalesce(-sum(e.amount), 0) "           \
			 "FROM entries e JOIN transfers t ON t.id = e.transfer_id "          \
			 "WHERE e.account_id = a.id AND e.kind = ?1 AND t.state = ?2 "       \
			 "AND e.amount < 0) "                                                 \
			 "OR a.pending_credits <> (SELECT coalesce(sum(e.amount), 0) "        \
			 "FROM entries e JOIN transfers t ON t.id = e.transfer_id "          \
			 "WHERE e.account_id = a.id AND e.kind = ?1 AND t.state = ?2 "       \
			 "AND e.amount > 0)")                                                 \
	X(AUDIT_UNBALANCED, "SELECT count(*) FROM transfers t WHERE "                        \
			    "(SELECT coalesce(sum(e.amount), 0) FROM entries e "              \
			    "WHERE e.transfer_id = t.id) <> 0 OR EXISTS (SELECT 1 "           \
			    "FROM entries e JOIN accounts a ON a.id = e.account_id "          \
			    "WHERE e.transfer_id = t.id AND a.currency <> t.currency)")       \
	X(AUDIT_CURRENCIES, "SELECT count(*) FROM (SELECT currency FROM accounts "           \
			    "GROUP BY currency HAVING sum(posted) <> 0)")

enum sq_stmt_id {
#define SQ_ENUM(name, sql) SQ_##name,
	SQ_STATEMENTS(SQ_ENUM)
#undef SQ_ENUM
	SQ_STMT_COUNT
};

static const char *const sq_sql[SQ_STMT_COUNT] = {
#define SQ_TEXT(name, sql) [SQ_##name] = sql,
	SQ_STATEMENTS(SQ_TEXT)
#undef SQ_TEXT
};

static_assert(SQ_SLOT_CORE + SQ_STMT_COUNT <= SQ_SLOT_PAYMENTS,
	      "the core statements overflow their cache slots");

struct sqlite3 *store_sqlite_db(struct store *s)
{
	return s && s->ops == &store_sqlite_ops ? sq(s)->db : NULL;
}

/* ---- errors --------------------------------------------------------------- */

static int sq_map(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
		return CAT_OK;
	case SQLITE_ERROR:
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
		return CAT_INTERNAL;
	default:
		return CAT_STORAGE_UNAVAILABLE;
	}
}

/* Logs a failed SQLite call and returns its catalog code. */
int sq_fail(struct sq_store *s, int sqlite_rc, const char *what)
{
	log_msg(LOG_ERROR, "store_sqlite_error", "%s: %s (sqlite %d)", what,
		s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(sqlite_rc), sqlite_rc);
	return sq_map(sqlite_rc);
}

/* Logs a misuse of the store by its caller. */
int sq_misuse(const char *op, const char *why)
{
	log_msg(LOG_ERROR, "store_misuse", "%s: %s", op, why);
	return CAT_INTERNAL;
}

static void sq_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sq_errf(char *err, size_t cap, const char *fmt, ...)
{
	if (!err || cap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* ---- statements ----------------------------------------------------------- */

int sq_prepared(struct sq_store *s, int slot, const char *sql, sqlite3_stmt **out)
{
	assert(slot >= 0 && slot < SQ_SLOT_COUNT);
	if (!s->stmts[slot]) {
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					    &s->stmts[slot], NULL);
		if (rc != SQLITE_OK)
			return sq_fail(s, rc, sql);
	}
	sqlite3_reset(s->stmts[slot]);
	sqlite3_clear_bindings(s->stmts[slot]);
	*out = s->stmts[slot];
	return CAT_OK;
}

/* The cached core statement `id`, prepared on first use, reset and unbound. */
static int sq_stmt(struct sq_store *s, enum sq_stmt_id id, sqlite3_stmt **out)
{
	return sq_prepared(s, SQ_SLOT_CORE + (int)id, sq_sql[id], out);
}

int sq_bound(struct sq_store *s, sqlite3_stmt *st, int bind_rc)
{
	if (bind_rc == SQLITE_OK)
		return CAT_OK;
	int rc = sq_fail(s, bind_rc, sqlite3_sql(st));
	sqlite3_reset(st);
	return rc;
}

int sq_run(struct sq_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int out = rc == SQLITE_DONE ? CAT_OK : sq_fail(s, rc, sqlite3_sql(st));
	sqlite3_reset(st);
	return out;
}

int sq_row(struct sq_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return CAT_OK;
	int out = rc == SQLITE_DONE ? CAT_NO_SUCH_OBJECT : sq_fail(s, rc, sqlite3_sql(st));
	sqlite3_reset(st);
	return out;
}

static int sq_simple(struct sq_store *s, enum sq_stmt_id id)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, id, &st);
	return rc ? rc : sq_run(s, st);
}

int sq_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	size_t len = (size_t)sqlite3_column_bytes(st, col);
	if (len >= cap)
		return sq_misuse("read", "a stored text is longer than its buffer");
	if (len)
		memcpy(out, text, len);
	out[len] = '\0';
	return CAT_OK;
}

static int sq_count(struct sq_store *s, sqlite3_stmt *st, long *out)
{
	int rc = sq_row(s, st);
	if (rc)
		return rc == CAT_NO_SUCH_OBJECT ? CAT_INTERNAL : rc;
	*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return CAT_OK;
}

/* ---- transactions --------------------------------------------------------- */

static int sq_begin(struct store *base)
{
	struct sq_store *s = sq(base);
	if (s->in_tx || !sqlite3_get_autocommit(s->db))
		return sq_misuse("begin", "a transaction is already open");
	int rc = sq_simple(s, s->readonly ? SQ_BEGIN_READ : SQ_BEGIN_WRITE);
	s->in_tx = rc == CAT_OK;
	return rc;
}

static void sq_rollback(struct store *base)
{
	struct sq_store *s = sq(base);
	if (!sqlite3_get_autocommit(s->db))
		sq_simple(s, SQ_ROLLBACK);
	s->in_tx = false;
}

static int sq_commit(struct store *base)
{
	struct sq_store *s = sq(base);
	if (!s->in_tx)
		return sq_misuse("commit", "no transaction is open");
	if (sqlite3_get_autocommit(s->db)) {
		/* SQLite rolled the transaction back itself (I/O error, full disk). */
		s->in_tx = false;
		log_msg(LOG_ERROR, "store_sqlite_error", "commit: the transaction was rolled back");
		return CAT_STORAGE_UNAVAILABLE;
	}
	int rc = sq_simple(s, SQ_COMMIT);
	if (rc)
		sq_rollback(base);
	s->in_tx = false;
	return rc;
}

/* fsyncs the directory holding path, so that a file just created there
 * (the WAL of a fresh start) is found after a power cut. */
static int sq_sync_dir(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -1;
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : fsync(fd);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* fdatasync of the WAL through a descriptor of our own: it covers every
 * write made to the file through any descriptor before it. */
static int sq_sync(struct store *base)
{
	struct sq_store *s = sq(base);
	if (!s->deferred_sync)
		return CAT_OK;
	if (s->wal_fd < 0 && (s->wal_fd = open(s->wal_path, O_RDWR | O_CLOEXEC)) >= 0 &&
	    sq_sync_dir(s->wal_path) != 0) {
		close(s->wal_fd); /* try again, entry and all, next time */
		s->wal_fd = -1;
	}
	if (s->wal_fd < 0 || fdatasync(s->wal_fd) != 0) {
		log_msg(LOG_ERROR, "store_sqlite_error", "sync %s: %s", s->wal_path, strerror(errno));
		return CAT_STORAGE_UNAVAILABLE;
	}
	return CAT_OK;
}

/* Every write needs a writable store and an open transaction. */
int sq_need_write(struct sq_store *s, const char *op)
{
	if (s->readonly)
		return sq_misuse(op, "the store is read-only");
	if (!s->in_tx || sqlite3_get_autocommit(s->db))
		return sq_misuse(op, "a write outside begin/commit");
	return CAT_OK;
}

int sq_savepoint(struct sq_store *s)
{
	return sq_simple(s, SQ_SAVEPOINT);
}

/* Ends the savepoint: keeps its work when rc is 0, else undoes it.
 * Returns rc, or the error that kept the work from being kept. */
int sq_savepoint_end(struct sq_store *s, int rc)
{
	if (!rc && !(rc = sq_simple(s, SQ_RELEASE)))
		return CAT_OK;
	if (!sqlite3_get_autocommit(s->db)) { /* else SQLite already rolled back all */
		sq_simple(s, SQ_ROLLBACK_TO);
		sq_simple(s, SQ_RELEASE);
	}
	return rc;
}

static uint64_t sq_changes(struct store *base)
{
	return (uint64_t)sqlite3_total_changes64(sq(base)->db);
}

/* ---- opening, migrations -------------------------------------------------- */

static int sq_user_version(struct sq_store *s, int *out)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_USER_VERSION, &st);
	if (rc || (rc = sq_row(s, st)))
		return rc == CAT_NO_SUCH_OBJECT ? CAT_INTERNAL : rc;
	*out = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return CAT_OK;
}

static int sq_schema_version(struct store *base, int *out)
{
	return sq_user_version(sq(base), out);
}

/* Runs SQL text with no result (pragmas, migrations). */
static int sq_exec(struct sq_store *s, const char *sql, char *err, size_t cap)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		sq_errf(err, cap, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sq_map(rc);
	}
	return CAT_OK;
}

/* Migration m in one transaction with its user_version bump.  The version
 * is read again under the write lock, so two payds opening the same new
 * database never apply a migration twice. */
static int sq_apply_migration(struct sq_store *s, const struct store_migration *m, char *err,
			      size_t cap)
{
	char bump[64];
	int version = 0;
	snprintf(bump, sizeof bump, "PRAGMA user_version = %d", m->version);
	int rc = sq_exec(s, "BEGIN IMMEDIATE", err, cap);
	if (rc)
		return rc;
	if (!(rc = sq_user_version(s, &version)) && version < m->version) {
		if ((rc = sq_exec(s, m->sql, err, cap)) == CAT_OK)
			rc = sq_exec(s, bump, err, cap);
	}
	if (!rc)
		rc = sq_exec(s, "COMMIT", err, cap);
	if (rc) {
		char why[256];
		snprintf(why, sizeof why, "%s", err && cap ? err : "");
		sq_errf(err, cap, "migration %s failed: %s", m->name, why);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

static int sq_migrate(struct sq_store *s, int target, char *err, size_t cap)
{
	for (int i = 0; i < store_migration_count && store_migrations[i].version <= target; i++) {
		int rc = sq_apply_migration(s, &store_migrations[i], err, cap);
		if (rc)
			return rc;
	}
	return CAT_OK;
}

/* The version this open wants: migrate_to, or the newest migration. */
static int sq_target_version(const struct store_open_opts *o, int *out, char *err, size_t cap)
{
	for (int i = 0; i < store_migration_count; i++)
		if (store_migrations[i].version != i + 1) {
			sq_errf(err, cap, "migration %s is out of sequence", store_migrations[i].name);
			return CAT_INTERNAL;
		}
	if (o->migrate_to < 0 || o->migrate_to > store_migration_count) {
		sq_errf(err, cap, "migrate_to %d is outside 0..%d", o->migrate_to,
			store_migration_count);
		return CAT_INTERNAL;
	}
	*out = o->migrate_to ? o->migrate_to : store_migration_count;
	return CAT_OK;
}

/* Refuses a database this payd cannot use, before anything writes to it. */
static int sq_check_version(struct sq_store *s, int target, int *version, char *err, size_t cap)
{
	int rc = sq_user_version(s, version);
	if (rc) {
		sq_errf(err, cap, "cannot read the database: %s", sqlite3_errmsg(s->db));
		return rc;
	}
	if (*version > store_migration_count) {
		sq_errf(err, cap,
			"database schema version %d is newer than this payd supports (%d); "
			"use a newer payd",
			*version, store_migration_count);
		return CAT_SCHEMA_TOO_NEW;
	}
	if (s->readonly && *version < target) {
		sq_errf(err, cap,
			"database schema version %d is older than this payd needs (%d); "
			"open it read-write once to upgrade it",
			*version, target);
		return CAT_STORAGE_UNAVAILABLE;
	}
	return CAT_OK;
}

/* Connection pragmas.  journal_mode=WAL is a property of the file, so a
 * read-only connection only uses what the writer set. */
static int sq_configure(struct sq_store *s, char *err, size_t cap)
{
	int rc = sq_exec(s, "PRAGMA foreign_keys = ON", err, cap);
	if (!rc)
		rc = sq_exec(s, "PRAGMA synchronous = FULL", err, cap);
	if (!rc) /* 64 MiB of page cache: the hot pages of every table stay in memory */
		rc = sq_exec(s, "PRAGMA cache_size = -65536", err, cap);
	if (!rc) /* savepoint and statement journals in memory, not in temp files */
		rc = sq_exec(s, "PRAGMA temp_store = MEMORY", err, cap);
	if (rc || s->readonly)
		return rc;
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		/* "memory" only for an in-memory database, which has no file. */
		if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)) {
			sq_errf(err, cap, "cannot use WAL mode (journal_mode is %s)",
				mode ? mode : "unknown");
			rc = CAT_STORAGE_UNAVAILABLE;
		}
	} else {
		sq_errf(err, cap, "cannot set WAL mode: %s", sqlite3_errmsg(s->db));
		rc = CAT_STORAGE_UNAVAILABLE;
	}
	sqlite3_finalize(st);
	return rc;
}

static void sq_close(struct store *base)
{
	struct sq_store *s = sq(base);
	if (!s)
		return;
	sq_checkpointer_stop(s);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s->wal_path);
	for (int i = 0; i < SQ_SLOT_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		log_msg(LOG_ERROR, "store_sqlite_error", "close: %s", sqlite3_errmsg(s->db));
	free(s);
}

/* "file:" + path with %, ? and # escaped + "?" + param (heap). */
static char *sq_uri_with(const char *path, const char *param)
{
	size_t len = strlen(path);
	char *uri = malloc(5 + 3 * len + 1 + strlen(param) + 1);
	if (!uri)
		return NULL;
	char *w = uri + sprintf(uri, "file:");
	for (const char *p = path; *p; p++)
		w += (*p == '%' || *p == '?' || *p == '#') ? sprintf(w, "%%%02X", (unsigned char)*p)
							   : sprintf(w, "%c", *p);
	sprintf(w, "?%s", param);
	return uri;
}

static int sq_connect(struct sq_store *s, const char *path, unsigned flags, char *err, size_t cap)
{
	int oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & STORE_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | (flags & STORE_CREATE ? SQLITE_OPEN_CREATE : 0);
	/* A deferred-sync writer says so in its URI: its WAL's syncs become
	 * flushes in the VFS, and sq_sync does the fdatasync. */
	char *uri = NULL;
	if (s->deferred_sync && path[0] && strcmp(path, ":memory:") != 0) {
		uri = sq_uri_with(path, SQ_VFS_DEFER_PARAM "=1");
		if (!uri)
			return CAT_INTERNAL;
		oflags |= SQLITE_OPEN_URI;
	}
	int rc = sqlite3_open_v2(uri ? uri : path, &s->db, oflags, sq_vfs_name());
	free(uri);
	if (rc != SQLITE_OK) {
		sq_errf(err, cap, "cannot open database %s: %s", path,
			s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return CAT_STORAGE_UNAVAILABLE;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_SQLITE_BUSY_TIMEOUT_MS);
	return CAT_OK;
}

static int sq_open(const char *path, const struct store_open_opts *opts, struct store **out,
		   char *err, size_t cap)
{
	struct store_open_opts o = opts ? *opts : (struct store_open_opts){0};
	int target = 0, version = 0, rc;
	*out = NULL;
	sq_errf(err, cap, "%s", "");
	if (!path)
		return sq_misuse("open", "no path");
	if ((rc = sq_target_version(&o, &target, err, cap)))
		return rc;
	struct sq_store *s = calloc(1, sizeof *s);
	if (!s) {
		sq_errf(err, cap, "out of memory");
		return CAT_INTERNAL;
	}
	s->base.ops = &store_sqlite_ops;
	s->readonly = o.flags & STORE_READONLY;
	s->deferred_sync = !s->readonly && (o.flags & STORE_DEFERRED_SYNC);
	s->wal_fd = -1;
	if (asprintf(&s->wal_path, "%s-wal", path) < 0) {
		free(s);
		return CAT_INTERNAL;
	}
	if (!(rc = sq_connect(s, path, o.flags, err, cap)) &&
	    !(rc = sq_check_version(s, target, &version, err, cap)) &&
	    !(rc = sq_configure(s, err, cap)) && !s->readonly)
		rc = sq_migrate(s, target, err, cap);
	if (!rc && !s->readonly && path[0] && strcmp(path, ":memory:") != 0)
		rc = sq_checkpointer_start(s, path);
	if (rc) {
		sq_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return CAT_OK;
}

int store_open_sqlite(const char *path, const struct store_open_opts *opts, struct store **out,
		      char *err, size_t err_cap)
{
	return sq_open(path, opts, out, err, err_cap);
}

/* ---- merchants and API keys ----------------------------------------------- */

bool sq_id_ok(const char *id)
{
	return id && id[0] && strlen(id) < ID_MAX;
}

static int sq_merchant_by_name(struct sq_store *s, const char *name, char id_out[ID_MAX])
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_MERCHANT_BY_NAME, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC))) ||
	    (rc = sq_row(s, st)))
		return rc;
	rc = sq_text(st, 0, id_out, ID_MAX);
	sqlite3_reset(st);
	return rc;
}

static int sq_merchant_ensure(struct store *base, const char *name, const char *new_id,
			      int64_t now_ms, char id_out[ID_MAX])
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "merchant_ensure");
	if (rc)
		return rc;
	if (!name || !name[0] || strlen(name) > STORE_NAME_MAX || !sq_id_ok(new_id))
		return CAT_PARAMETER_INVALID;
	rc = sq_merchant_by_name(s, name, id_out);
	if (rc != CAT_NO_SUCH_OBJECT)
		return rc;
	sqlite3_stmt *st;
	if ((rc = sq_stmt(s, SQ_MERCHANT_INSERT, &st)) ||
	    (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, new_id, -1, SQLITE_STATIC) |
					  sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) |
					  sqlite3_bind_int64(st, 3, now_ms))) ||
	    (rc = sq_run(s, st)))
		return rc;
	snprintf(id_out, ID_MAX, "%s", new_id);
	return CAT_OK;
}

static int sq_api_key_insert(struct store *base, const char *key_id, const char *merchant_id,
			     const uint8_t hash[32], const char *last4, int64_t now_ms)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "api_key_insert");
	if (rc)
		return rc;
	if (!sq_id_ok(key_id) || !sq_id_ok(merchant_id) || !hash || !last4 || strlen(last4) != 4)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	if ((rc = sq_stmt(s, SQ_KEY_INSERT, &st)) ||
	    (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC) |
					  sqlite3_bind_text(st, 2, merchant_id, -1, SQLITE_STATIC) |
					  sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC) |
					  sqlite3_bind_text(st, 4, last4, -1, SQLITE_STATIC) |
					  sqlite3_bind_int64(st, 5, now_ms))))
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
		sqlite3_reset(st);
		return CAT_NO_SUCH_OBJECT; /* no such merchant */
	}
	rc = src == SQLITE_DONE ? CAT_OK : sq_fail(s, src, "api_key_insert");
	sqlite3_reset(st);
	return rc;
}

static int sq_api_key_lookup(struct store *base, const uint8_t hash[32],
			     char merchant_id_out[ID_MAX])
{
	struct sq_store *s = sq(base);
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_KEY_LOOKUP, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC))))
		return rc;
	if ((rc = sq_row(s, st)))
		return rc == CAT_NO_SUCH_OBJECT ? CAT_API_KEY_INVALID : rc;
	rc = sq_text(st, 0, merchant_id_out, ID_MAX);
	sqlite3_reset(st);
	return rc;
}

/* ---- accounts ------------------------------------------------------------- */

/* Reads the account the bound statement st finds; asserts it is sane. */
static int sq_account_read(struct sq_store *s, sqlite3_stmt *st, struct ledger_account *out)
{
	int rc = sq_row(s, st);
	if (rc)
		return rc;
	struct ledger_account a = {0};
	a.id = sqlite3_column_int64(st, 0);
	rc = sq_text(st, 1, a.currency, sizeof a.currency);
	a.flags = (unsigned)sqlite3_column_int64(st, 2);
	a.posted = sqlite3_column_int64(st, 3);
	a.pending_debits = sqlite3_column_int64(st, 4);
	a.pending_credits = sqlite3_column_int64(st, 5);
	sqlite3_reset(st);
	if (rc)
		return rc;
	LEDGER_ASSERT(ledger_account_sane(&a));
	*out = a;
	return CAT_OK;
}

static int sq_account_get(struct store *base, int64_t id, struct ledger_account *out)
{
	struct sq_store *s = sq(base);
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_ACCOUNT_BY_ID, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, id))))
		return rc;
	return sq_account_read(s, st, out);
}

static int sq_account_find(struct store *base, const char *code, struct ledger_account *out)
{
	struct sq_store *s = sq(base);
	if (!code)
		return CAT_PARAMETER_INVALID;
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_ACCOUNT_BY_CODE, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC))))
		return rc;
	return sq_account_read(s, st, out);
}

/* Walks the accounts from the first code >= the prefix, in code order,
 * and stops at the first code that no longer starts with it, so only the
 * matching part of the code index is read.  Each account is read whole
 * before `each` sees it; the statement stays open meanwhile, so `each`
 * must not write to the store nor list accounts again (a merchant has a
 * handful of accounts: unlike the payment lists, nothing is buffered). */
static int sq_account_list(struct store *base, const char *code_prefix, store_each_fn each,
			   void *ctx)
{
	struct sq_store *s = sq(base);
	if (!code_prefix || strlen(code_prefix) > STORE_CODE_MAX || !each)
		return CAT_PARAMETER_INVALID;
	size_t plen = strlen(code_prefix);
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_ACCOUNT_FROM_CODE, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, code_prefix, -1, SQLITE_STATIC))))
		return rc;
	while ((rc = sq_row(s, st)) == CAT_OK) {
		struct store_account a = {0};
		const char *code = (const char *)sqlite3_column_text(st, 0);
		if (!code || strncmp(code, code_prefix, plen) != 0) {
			sqlite3_reset(st);
			return CAT_OK;
		}
		rc = sq_text(st, 0, a.code, sizeof a.code);
		a.account.id = sqlite3_column_int64(st, 1);
		if (!rc)
			rc = sq_text(st, 2, a.account.currency, sizeof a.account.currency);
		a.account.flags = (unsigned)sqlite3_column_int64(st, 3);
		a.account.posted = sqlite3_column_int64(st, 4);
		a.account.pending_debits = sqlite3_column_int64(st, 5);
		a.account.pending_credits = sqlite3_column_int64(st, 6);
		if (rc) {
			sqlite3_reset(st);
			return rc;
		}
		LEDGER_ASSERT(ledger_account_sane(&a.account));
		each(ctx, &a);
	}
	return rc == CAT_NO_SUCH_OBJECT ? CAT_OK : rc;
}

static int sq_account_open(struct store *base, const char *code, const char *currency,
			   unsigned flags, int64_t now_ms, int64_t *id_out)
{
	struct sq_store *s = sq(base);
	int rc = sq_need_write(s, "account_open");
	if (rc)
		return rc;
	if (!code || !code[0] || strlen(code) > STORE_CODE_MAX || (flags & ~LEDGER_NO_OVERDRAFT))
		return CAT_PARAMETER_INVALID;
	const struct currency *cur = currency ? currency_find(currency) : NULL;
	if (!cur || strlen(currency) != CURRENCY_CODE_LEN)
		return CAT_UNSUPPORTED_CURRENCY;
	struct ledger_account a;
	rc = sq_account_find(base, code, &a);
	if (rc == CAT_OK) {
		if (strcmp(a.currency, cur->code) != 0)
			return CAT_LEDGER_CURRENCY_MISMATCH;
		if (a.flags != flags)
			return CAT_PARAMETER_INVALID;
		*id_out = a.id;
		return CAT_OK;
	}
	if (rc != CAT_NO_SUCH_OBJECT)
		return rc;
	sqlite3_stmt *st;
	if ((rc = sq_stmt(s, SQ_ACCOUNT_INSERT, &st)) ||
	    (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC) |
					  sqlite3_bind_text(st, 2, cur->code, -1, SQLITE_STATIC) |
					  sqlite3_bind_int64(st, 3, flags) |
					  sqlite3_bind_int64(st, 4, now_ms))) ||
	    (rc = sq_run(s, st)))
		return rc;
	*id_out = sqlite3_last_insert_rowid(s->db);
	return CAT_OK;
}

/* accounts[i] = the account of t->legs[i]; CAT_NO_SUCH_OBJECT if one is unknown. */
static int sq_load_legs(struct sq_store *s, const struct ledger_transfer *t,
			struct ledger_account *accounts)
{
	for (size_t i = 0; i < t->leg_count; i++) {
		int rc = sq_account_get(&s->base, t->legs[i].account_id, &accounts[i]);
		if (rc)
			return rc;
	}
	return CAT_OK;
}

static int sq_account_update(struct sq_store *s, const struct ledger_account *a)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_ACCOUNT_UPDATE, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_int64(st, 1, a->id) |
						sqlite3_bind_int64(st, 2, a->posted) |
						sqlite3_bind_int64(st, 3, a->pending_debits) |
						sqlite3_bind_int64(st, 4, a->pending_credits))))
		return rc;
	if ((rc = sq_run(s, st)))
		return rc;
	return sqlite3_changes(s->db) == 1 ? CAT_OK : sq_misuse("account_update", "account vanished");
}

/* ---- transfers ------------------------------------------------------------ */

/* One transfer row as it is written: the ledger ops fill this in after
 * core/ledger has approved the change, and sq_record writes it whole. */
struct sq_record {
	const char *id;
	const char *currency;
	enum transfer_state state;
	const char *pending_id;                /* the hold it resolves, or NULL */
	enum transfer_state pending_state;     /* what that hold becomes */
	int64_t amount;
	int64_t now_ms;
	const struct ledger_transfer *entries; /* legs to write as entries, or NULL */
	enum sq_entry_kind kind;
	size_t account_count;
	const struct ledger_account *accounts; /* new balances to write */
};

static int sq_insert_transfer(struct sq_store *s, const struct sq_record *r)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_TRANSFER_INSERT, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC) |
						sqlite3_bind_text(st, 2, r->currency, -1, SQLITE_STATIC) |
						sqlite3_bind_int(st, 3, (int)r->state) |
						sqlite3_bind_text(st, 4, r->pending_id, -1, SQLITE_STATIC) |
						sqlite3_bind_int64(st, 5, r->amount) |
						sqlite3_bind_int64(st, 6, r->now_ms))))
		return rc;
	return sq_run(s, st);
}

static int sq_insert_entries(struct sq_store *s, const struct sq_record *r)
{
	for (size_t i = 0; r->entries && i < r->entries->leg_count; i++) {
		const struct ledger_leg *leg = &r->entries->legs[i];
		sqlite3_stmt *st;
		int rc = sq_stmt(s, SQ_ENTRY_INSERT, &st);
		if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC) |
							sqlite3_bind_int64(st, 2, leg->account_id) |
							sqlite3_bind_int(st, 3, (int)r->kind) |
							sqlite3_bind_int64(st, 4, leg->amount_minor))) ||
		    (rc = sq_run(s, st)))
			return rc;
	}
	return CAT_OK;
}

/* Moves the hold pending_id from PENDING to `state`. */
static int sq_resolve_pending(struct sq_store *s, const char *pending_id, enum transfer_state state)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_TRANSFER_RESOLVE, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, pending_id, -1, SQLITE_STATIC) |
						sqlite3_bind_int(st, 2, (int)state) |
						sqlite3_bind_int(st, 3, TRANSFER_PENDING))) ||
	    (rc = sq_run(s, st)))
		return rc;
	return sqlite3_changes(s->db) == 1 ? CAT_OK : CAT_INVALID_STATE;
}

/* Writes a whole approved change, all or nothing. */
static int sq_record(struct sq_store *s, const struct sq_record *r)
{
	int rc = sq_savepoint(s);
	if (rc)
		return rc;
	rc = sq_insert_transfer(s, r);
	if (!rc)
		rc = sq_insert_entries(s, r);
	for (size_t i = 0; !rc && i < r->account_count; i++)
		rc = sq_account_update(s, &r->accounts[i]);
	if (!rc && r->pending_id)
		rc = sq_resolve_pending(s, r->pending_id, r->pending_state);
	return sq_savepoint_end(s, rc);
}

/* Reads the legs of transfer `id` and asserts they form a transfer:
 * summing to zero, every account in the transfer's currency. */
static int sq_entries_read(struct sq_store *s, const char *id, struct ledger_transfer *t)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_ENTRIES_OF, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC))))
		return rc;
	int64_t sum = 0;
	t->leg_count = 0;
	while ((rc = sq_row(s, st)) == CAT_OK) {
		LEDGER_ASSERT(t->leg_count < LEDGER_MAX_LEGS);
		struct ledger_leg *leg = &t->legs[t->leg_count++];
		leg->account_id = sqlite3_column_int64(st, 0);
		leg->amount_minor = sqlite3_column_int64(st, 1);
		const char *cur = (const char *)sqlite3_column_text(st, 2);
		LEDGER_ASSERT(cur && strcmp(cur, t->currency) == 0);
		LEDGER_ASSERT(money_add(sum, leg->amount_minor, &sum));
	}
	if (rc != CAT_NO_SUCH_OBJECT)
		return rc;
	LEDGER_ASSERT(sum == 0);
	return CAT_OK;
}

static int sq_transfer_get(struct store *base, const char *id, struct store_transfer *out)
{
	struct sq_store *s = sq(base);
	if (!sq_id_ok(id))
		return CAT_NO_SUCH_OBJECT;
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_TRANSFER_BY_ID, &st);
	if (rc || (rc = sq_bound(s, st, sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC))) ||
	    (rc = sq_row(s, st)))
		return rc;
	struct store_transfer t = {0};
	snprintf(t.id, sizeof t.id, "%s", id);
	rc = sq_text(st, 0, t.legs.currency, sizeof t.legs.currency);
	t.state = (enum transfer_state)sqlite3_column_int(st, 1);
	if (!rc)
		rc = sq_text(st, 2, t.pending_id, sizeof t.pending_id);
	t.created_ms = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	if (!rc)
		rc = sq_entries_read(s, id, &t.legs);
	if (rc)
		return rc;
	/* Only the record of a void has no legs. */
	LEDGER_ASSERT(t.legs.leg_count >= LEDGER_MIN_LEGS ||
		      (t.legs.leg_count == 0 && t.state == TRANSFER_VOIDED && t.pending_id[0]));
	*out = t;
	return CAT_OK;
}

/* Shared prelude of post and pend: checks the shape and loads the
 * accounts.  *norm is t with its currency spelled as stored (upper-case). */
static int sq_prepare_new(struct sq_store *s, const char *op, const char *id,
			  const struct ledger_transfer *t, struct ledger_transfer *norm,
			  struct ledger_account *accounts)
{
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sq_id_ok(id) || !t)
		return CAT_PARAMETER_INVALID;
	*norm = *t;
	if ((rc = ledger_check(norm)))
		return rc;
	snprintf(norm->currency, sizeof norm->currency, "%s", currency_find(t->currency)->code);
	return sq_load_legs(s, norm, accounts);
}

static int sq_transfer_post(struct store *base, const char *id, const struct ledger_transfer *t,
			    int64_t now_ms)
{
	struct sq_store *s = sq(base);
	struct ledger_transfer n;
	struct ledger_account accounts[LEDGER_MAX_LEGS];
	int rc = sq_prepare_new(s, "transfer_post", id, t, &n, accounts);
	if (rc || (rc = ledger_apply_post(&n, accounts)))
		return rc;
	struct sq_record r = {.id = id, .currency = n.currency, .state = TRANSFER_POSTED,
			      .amount = ledger_amount(&n), .now_ms = now_ms, .entries = &n,
			      .kind = SQ_ENTRY_POSTED, .account_count = n.leg_count,
			      .accounts = accounts};
	return sq_record(s, &r);
}

static int sq_transfer_pend(struct store *base, const char *id, const struct ledger_transfer *t,
			    int64_t now_ms)
{
	struct sq_store *s = sq(base);
	struct ledger_transfer n;
	struct ledger_account accounts[LEDGER_MAX_LEGS];
	int rc = sq_prepare_new(s, "transfer_pend", id, t, &n, accounts);
	if (rc || (rc = ledger_apply_pending(&n, accounts)))
		return rc;
	struct sq_record r = {.id = id, .currency = n.currency, .state = TRANSFER_PENDING,
			      .amount = ledger_amount(&n), .now_ms = now_ms, .entries = &n,
			      .kind = SQ_ENTRY_RESERVED, .account_count = n.leg_count,
			      .accounts = accounts};
	return sq_record(s, &r);
}

/* Shared prelude of post_pending and void: the hold must exist and still
 * be PENDING; loads it and its accounts. */
static int sq_prepare_hold(struct sq_store *s, const char *op, const char *id,
			   const char *pending_id, struct store_transfer *hold,
			   struct ledger_account *accounts)
{
	int rc = sq_need_write(s, op);
	if (rc)
		return rc;
	if (!sq_id_ok(id) || !pending_id)
		return CAT_PARAMETER_INVALID;
	if ((rc = sq_transfer_get(&s->base, pending_id, hold)))
		return rc;
	if (hold->state != TRANSFER_PENDING)
		return CAT_INVALID_STATE;
	return sq_load_legs(s, &hold->legs, accounts);
}

static int sq_transfer_post_pending(struct store *base, const char *id, const char *pending_id,
				    int64_t amount_minor, int64_t now_ms)
{
	struct sq_store *s = sq(base);
	struct store_transfer hold;
	struct ledger_transfer posted;
	struct ledger_account accounts[LEDGER_MAX_LEGS];
	int rc = sq_prepare_hold(s, "transfer_post_pending", id, pending_id, &hold, accounts);
	if (rc || (rc = ledger_apply_post_pending(&hold.legs, amount_minor, accounts, &posted)))
		return rc;
	struct sq_record r = {.id = id, .currency = hold.legs.currency, .state = TRANSFER_POSTED,
			      .pending_id = hold.id, .pending_state = TRANSFER_SETTLED,
			      .amount = ledger_amount(&posted), .now_ms = now_ms,
			      .entries = &posted, .kind = SQ_ENTRY_POSTED,
			      .account_count = hold.legs.leg_count, .accounts = accounts};
	return sq_record(s, &r);
}

static int sq_transfer_void(struct store *base, const char *id, const char *pending_id,
			    int64_t now_ms)
{
	struct sq_store *s = sq(base);
	struct store_transfer hold;
	struct ledger_account accounts[LEDGER_MAX_LEGS];
	int rc = sq_prepare_hold(s, "transfer_void", id, pending_id, &hold, accounts);
	if (rc || (rc = ledger_apply_void(&hold.legs, accounts)))
		return rc;
	struct sq_record r = {.id = id, .currency = hold.legs.currency, .state = TRANSFER_VOIDED,
			      .pending_id = hold.id, .pending_state = TRANSFER_VOIDED,
			      .amount = ledger_amount(&hold.legs), .now_ms = now_ms,
			      .account_count = hold.legs.leg_count, .accounts = accounts};
	return sq_record(s, &r);
}

/* ---- audit ---------------------------------------------------------------- */

/* Runs one counting audit query with up to two integer parameters. */
static int sq_audit_count(struct sq_store *s, enum sq_stmt_id id, int p1, int p2, long *out)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, id, &st);
	if (rc)
		return rc;
	int params = sqlite3_bind_parameter_count(st), bind_rc = SQLITE_OK;
	if (params >= 1)
		bind_rc |= sqlite3_bind_int(st, 1, p1);
	if (params >= 2)
		bind_rc |= sqlite3_bind_int(st, 2, p2);
	if ((rc = sq_bound(s, st, bind_rc)))
		return rc;
	return sq_count(s, st, out);
}

static int sq_audit_counts(struct sq_store *s, struct store_audit *a)
{
	sqlite3_stmt *st;
	int rc = sq_stmt(s, SQ_AUDIT_COUNTS, &st);
	if (rc || (rc = sq_row(s, st)))
		return rc == CAT_NO_SUCH_OBJECT ? CAT_INTERNAL : rc;
	a->accounts = (long)sqlite3_column_int64(st, 0);
	a->transfers = (long)sqlite3_column_int64(st, 1);
	a->entries = (long)sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	return CAT_OK;
}

/* Reads everything under one savepoint, so the audit sees one snapshot
 * whether or not the caller has a transaction open. */
static int sq_ledger_audit(struct store *base, struct store_audit *out)
{
	struct sq_store *s = sq(base);
	struct store_audit a = {0};
	int rc = sq_savepoint(s);
	if (rc)
		return rc;
	if (!(rc = sq_audit_counts(s, &a)) &&
	    !(rc = sq_audit_count(s, SQ_AUDIT_BALANCES, SQ_ENTRY_POSTED, 0, &a.bad_balances)) &&
	    !(rc = sq_audit_count(s, SQ_AUDIT_PENDING, SQ_ENTRY_RESERVED, TRANSFER_PENDING,
				  &a.bad_pending)) &&
	    !(rc = sq_audit_count(s, SQ_AUDIT_UNBALANCED, 0, 0, &a.unbalanced)))
		rc = sq_audit_count(s, SQ_AUDIT_CURRENCIES, 0, 0, &a.currency_nonzero);
	rc = sq_savepoint_end(s, rc);
	if (!rc)
		*out = a;
	return rc;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.sync = sq_sync,
	.rollback = sq_rollback,
	.changes = sq_changes,
	.merchant_ensure = sq_merchant_ensure,
	.api_key_insert = sq_api_key_insert,
	.api_key_lookup = sq_api_key_lookup,
	.account_open = sq_account_open,
	.account_get = sq_account_get,
	.account_find = sq_account_find,
	.account_list = sq_account_list,
	.transfer_post = sq_transfer_post,
	.transfer_pend = sq_transfer_pend,
	.transfer_post_pending = sq_transfer_post_pending,
	.transfer_void = sq_transfer_void,
	.transfer_get = sq_transfer_get,
	.ledger_audit = sq_ledger_audit,
	/* store_sqlite_payments.c */
	.secret_get = sq_secret_get,
	.intent_insert = sq_intent_insert,
	.intent_update = sq_intent_update,
	.intent_get = sq_intent_get,
	.intent_list = sq_intent_list,
	.attempt_insert = sq_attempt_insert,
	.attempt_update = sq_attempt_update,
	.attempt_get = sq_attempt_get,
	.attempt_list = sq_attempt_list,
	.attempt_unsettled = sq_attempt_unsettled,
	.intent_in_flight = sq_intent_in_flight,
	.refund_insert = sq_refund_insert,
	.refund_update = sq_refund_update,
	.refund_get = sq_refund_get,
	.refund_list = sq_refund_list,
	.refund_pending = sq_refund_pending,
	.event_insert = sq_event_insert,
	.event_get = sq_event_get,
	.event_list = sq_event_list,
	.idem_get = sq_idem_get,
	.idem_put = sq_idem_put,
	.idem_expire = sq_idem_expire,
	/* store_sqlite_payouts.c */
	.recipient_insert = sq_recipient_insert,
	.recipient_get = sq_recipient_get,
	.recipient_list = sq_recipient_list,
	.payout_insert = sq_payout_insert,
	.payout_update = sq_payout_update,
	.payout_get = sq_payout_get,
	.payout_list = sq_payout_list,
	.payout_find_reference = sq_payout_find_reference,
	.payout_open_each = sq_payout_open_each,
	.payout_due_each = sq_payout_due_each,
	.payout_event_insert = sq_payout_event_insert,
	.payout_event_list = sq_payout_event_list,
	.alert_insert = sq_alert_insert,
	.alert_update = sq_alert_update,
	.alert_get = sq_alert_get,
	.alert_list = sq_alert_list,
	.alert_open_for = sq_alert_open_for,
	/* store_sqlite_webhooks.c */
	.webhook_insert = sq_webhook_insert,
	.webhook_update = sq_webhook_update,
	.webhook_health_update = sq_webhook_health_update,
	.webhook_get = sq_webhook_get,
	.webhook_list = sq_webhook_list,
	.webhook_count = sq_webhook_count,
	.delivery_insert = sq_delivery_insert,
	.delivery_update = sq_delivery_update,
	.delivery_get = sq_delivery_get,
	.delivery_due = sq_delivery_due,
	.delivery_of_event = sq_delivery_of_event,
	.delivery_skip_endpoint = sq_delivery_skip_endpoint,
	.delivery_expire = sq_delivery_expire,
	.delivery_attempt_insert = sq_delivery_attempt_insert,
	.delivery_attempt_list = sq_delivery_attempt_list,
	.callback_seen = sq_callback_seen,
	.callback_expire = sq_callback_expire,
};
