/* tests/unit/test_store: the SQLite store (store/store_sqlite.c) on real
 * files under /tmp.  Migrations (applied once, an older database upgraded,
 * a newer one refused untouched), read-only connections, the connection
 * pragmas, merchants and API keys, the ledger operations one by one
 * (every refusal leaves nothing written, even when the batch around it is
 * committed), and a seeded property test of ~2000 random transfers checked
 * against an independent model and the store's own audit. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/rng.h"
#include "core/catalog.h"
#include "core/ledger.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/store_sqlite.h"
#include "tmpdb.h"

#define NOW_MS ((int64_t)1767225600000) /* 2026-01-01 */

static struct tmpdb tdb;

static void setup(void)
{
	tmpdb_open(&tdb, "store");
}

static void teardown(void)
{
	tmpdb_remove(&tdb);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- helpers -------------------------------------------------------------- */

static int try_open(unsigned flags, int migrate_to, struct store **s, char *err, size_t cap)
{
	struct store_open_opts opts = {.flags = flags, .migrate_to = migrate_to};
	return store_open_sqlite(tdb.db, &opts, s, err, cap);
}

static struct store *open_store(unsigned flags, int migrate_to)
{
	struct store *s = NULL;
	char err[256] = "";
	int rc = try_open(flags, migrate_to, &s, err, sizeof err);
	cr_assert_eq(rc, CAT_OK, "open %s: rc %d: %s", tdb.db, rc, err);
	cr_assert_not_null(s);
	return s;
}

static struct store *open_rw(void)
{
	return open_store(STORE_CREATE, 0);
}

static int version_of(struct store *s)
{
	int v = -1;
	cr_assert_eq(s->ops->schema_version(s, &v), CAT_OK);
	return v;
}

/* Opens a ledger account in its own transaction. */
static int64_t account(struct store *s, const char *code, const char *currency, unsigned flags)
{
	int64_t id = 0;
	cr_assert_eq(store_begin(s), CAT_OK);
	int rc = s->ops->account_open(s, code, currency, flags, NOW_MS, &id);
	cr_assert_eq(rc, CAT_OK, "account_open %s: %d", code, rc);
	cr_assert_eq(store_commit(s), CAT_OK);
	return id;
}

static struct ledger_account get_account(struct store *s, int64_t id)
{
	struct ledger_account a;
	cr_assert_eq(s->ops->account_get(s, id, &a), CAT_OK, "account_get %lld", (long long)id);
	return a;
}

static void expect_balance(struct store *s, int64_t id, int64_t posted, int64_t pending_debits,
			   int64_t pending_credits)
{
	struct ledger_account a = get_account(s, id);
	cr_assert_eq(a.posted, posted, "account %lld posted %lld, want %lld", (long long)id,
		     (long long)a.posted, (long long)posted);
	cr_assert_eq(a.pending_debits, pending_debits, "account %lld pending_debits %lld, want %lld",
		     (long long)id, (long long)a.pending_debits, (long long)pending_debits);
	cr_assert_eq(a.pending_credits, pending_credits,
		     "account %lld pending_credits %lld, want %lld", (long long)id,
		     (long long)a.pending_credits, (long long)pending_credits);
}

static struct ledger_transfer legs2(const char *currency, int64_t from, int64_t to, int64_t amount)
{
	struct ledger_transfer t = {.leg_count = 2};
	snprintf(t.currency, sizeof t.currency, "%s", currency);
	t.legs[0] = (struct ledger_leg){from, -amount};
	t.legs[1] = (struct ledger_leg){to, amount};
	return t;
}

/* Each tx_* runs one ledger operation in its own transaction and commits
 * it even when the operation fails: a refusal must leave nothing behind. */
static int tx_post(struct store *s, const char *id, struct ledger_transfer t)
{
	cr_assert_eq(store_begin(s), CAT_OK);
	int rc = s->ops->transfer_post(s, id, &t, NOW_MS);
	cr_assert_eq(store_commit(s), CAT_OK);
	return rc;
}

static int tx_pend(struct store *s, const char *id, struct ledger_transfer t)
{
	cr_assert_eq(store_begin(s), CAT_OK);
	int rc = s->ops->transfer_pend(s, id, &t, NOW_MS);
	cr_assert_eq(store_commit(s), CAT_OK);
	return rc;
}

static int tx_settle(struct store *s, const char *id, const char *pending_id, int64_t amount)
{
	cr_assert_eq(store_begin(s), CAT_OK);
	int rc = s->ops->transfer_post_pending(s, id, pending_id, amount, NOW_MS);
	cr_assert_eq(store_commit(s), CAT_OK);
	return rc;
}

static int tx_void(struct store *s, const char *id, const char *pending_id)
{
	cr_assert_eq(store_begin(s), CAT_OK);
	int rc = s->ops->transfer_void(s, id, pending_id, NOW_MS);
	cr_assert_eq(store_commit(s), CAT_OK);
	return rc;
}

static struct store_audit audit(struct store *s)
{
	struct store_audit a;
	memset(&a, 0xff, sizeof a);
	cr_assert_eq(s->ops->ledger_audit(s, &a), CAT_OK);
	return a;
}

static void expect_clean(const struct store_audit *a)
{
	cr_assert_eq(a->bad_balances, 0, "bad_balances %ld", a->bad_balances);
	cr_assert_eq(a->bad_pending, 0, "bad_pending %ld", a->bad_pending);
	cr_assert_eq(a->unbalanced, 0, "unbalanced %ld", a->unbalanced);
	cr_assert_eq(a->currency_nonzero, 0, "currency_nonzero %ld", a->currency_nonzero);
}

static void audit_clean(struct store *s)
{
	struct store_audit a = audit(s);
	expect_clean(&a);
}

static void expect_same_counts(const struct store_audit *a, const struct store_audit *b)
{
	cr_assert_eq(a->accounts, b->accounts, "accounts %ld -> %ld", a->accounts, b->accounts);
	cr_assert_eq(a->transfers, b->transfers, "transfers %ld -> %ld", a->transfers, b->transfers);
	cr_assert_eq(a->entries, b->entries, "entries %ld -> %ld", a->entries, b->entries);
}

static struct store_transfer get_transfer(struct store *s, const char *id)
{
	struct store_transfer t;
	int rc = s->ops->transfer_get(s, id, &t);
	cr_assert_eq(rc, CAT_OK, "transfer_get %s: %d", id, rc);
	return t;
}

static void expect_no_transfer(struct store *s, const char *id)
{
	struct store_transfer t;
	cr_assert_eq(s->ops->transfer_get(s, id, &t), CAT_NO_SUCH_OBJECT, "%s exists", id);
}

/* Raw SQLite access to the file, behind the store's back. */
static sqlite3 *raw_open(int flags)
{
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open_v2(tdb.db, &db, flags, NULL), SQLITE_OK);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int raw_user_version(void)
{
	sqlite3 *db = raw_open(SQLITE_OPEN_READONLY);
	int v = (int)raw_int(db, "PRAGMA user_version");
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *sql)
{
	sqlite3 *db = raw_open(SQLITE_OPEN_READWRITE);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	sqlite3_close(db);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	cr_assert_gt(n, 0);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- migrations and opening ----------------------------------------------- */

Test(store, migrations_applied_once)
{
	cr_assert_gt(store_migration_count, 0);
	cr_assert_eq(store_migrations[store_migration_count - 1].version, store_migration_count);

	struct store *s = open_rw();
	cr_assert_eq(version_of(s), store_migration_count);
	int64_t id = account(s, "world:cny", "CNY", 0);
	store_close(s);
	cr_assert_eq(raw_user_version(), store_migration_count);

	/* A second open finds everything in place and applies nothing again
	 * (re-running CREATE TABLE would fail the open). */
	s = open_rw();
	cr_assert_eq(version_of(s), store_migration_count);
	struct ledger_account a;
	cr_assert_eq(s->ops->account_find(s, "world:cny", &a), CAT_OK);
	cr_assert_eq(a.id, id);
	store_close(s);
	cr_assert_eq(raw_user_version(), store_migration_count);
}

Test(store, missing_file_needs_create)
{
	struct store *s = (struct store *)1;
	char err[256] = "";
	cr_assert_eq(try_open(0, 0, &s, err, sizeof err), CAT_STORAGE_UNAVAILABLE);
	cr_assert_null(s);
	cr_assert_neq(err[0], '\0', "an error message is written");
	cr_assert_eq(access(tdb.db, F_OK), -1, "no file was created");
}

Test(store, older_database_upgraded)
{
	struct store *s = open_store(STORE_CREATE, 1);
	cr_assert_eq(version_of(s), 1);
	int64_t id = account(s, "world:usd", "USD", 0);
	/* Version 1 has no merchants yet. */
	char mid[ID_MAX];
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_neq(s->ops->merchant_ensure(s, "shop", "acct_1", NOW_MS, mid), CAT_OK);
	store_rollback(s);
	store_close(s);
	cr_assert_eq(raw_user_version(), 1);

	s = open_rw();
	cr_assert_eq(version_of(s), store_migration_count);
	struct ledger_account a;
	cr_assert_eq(s->ops->account_find(s, "world:usd", &a), CAT_OK);
	cr_assert_eq(a.id, id);
	cr_assert_str_eq(a.currency, "USD");
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->merchant_ensure(s, "shop", "acct_1", NOW_MS, mid), CAT_OK);
	cr_assert_str_eq(mid, "acct_1");
	cr_assert_eq(store_commit(s), CAT_OK);
	store_close(s);
	cr_assert_eq(raw_user_version(), store_migration_count);
}

Test(store, too_new_database_refused)
{
	store_close(open_rw());
	raw_exec("PRAGMA user_version = 99");
	size_t before_len, after_len;
	char *before = read_file(tdb.db, &before_len);

	unsigned modes[] = {STORE_CREATE, 0, STORE_READONLY};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct store *s = (struct store *)1;
		char err[256] = "";
		int rc = try_open(modes[i], 0, &s, err, sizeof err);
		cr_assert_eq(rc, CAT_SCHEMA_TOO_NEW, "flags %u: rc %d (%s)", modes[i], rc, err);
		cr_assert_null(s);
		cr_assert_not_null(strstr(err, "99"), "message names the version: %s", err);
		cr_assert_not_null(strstr(err, "newer"), "message says why: %s", err);
		char supported[16];
		snprintf(supported, sizeof supported, "(%d)", store_migration_count);
		cr_assert_not_null(strstr(err, supported), "message names ours: %s", err);
	}

	cr_assert_eq(raw_user_version(), 99);
	char *after = read_file(tdb.db, &after_len);
	cr_assert_eq(before_len, after_len);
	cr_assert(memcmp(before, after, before_len) == 0, "the file was modified");
	free(before);
	free(after);
}

Test(store, migrate_to_out_of_range_refused)
{
	struct store *s = NULL;
	char err[256] = "";
	cr_assert_eq(try_open(STORE_CREATE, store_migration_count + 1, &s, err, sizeof err),
		     CAT_INTERNAL);
	cr_assert_null(s);
	cr_assert_eq(try_open(STORE_CREATE, -1, &s, err, sizeof err), CAT_INTERNAL);
}

Test(store, readonly_cannot_write)
{
	struct store *s = open_rw();
	int64_t world = account(s, "world:cny", "CNY", 0);
	int64_t shop = account(s, "shop:cny", "CNY", LEDGER_NO_OVERDRAFT);
	cr_assert_eq(tx_post(s, "tr_1", legs2("CNY", world, shop, 500)), CAT_OK);
	struct store_audit before = audit(s);
	store_close(s);

	struct store *r = open_store(STORE_READONLY, 0);
	cr_assert_eq(version_of(r), store_migration_count);
	struct ledger_account a;
	cr_assert_eq(r->ops->account_find(r, "shop:cny", &a), CAT_OK, "reads work");
	cr_assert_eq(a.posted, 500);
	get_transfer(r, "tr_1");

	cr_assert_eq(store_begin(r), CAT_OK);
	int64_t id;
	char mid[ID_MAX];
	struct ledger_transfer t = legs2("CNY", world, shop, 1);
	cr_assert_eq(r->ops->account_open(r, "new:cny", "CNY", 0, NOW_MS, &id), CAT_INTERNAL);
	cr_assert_eq(r->ops->transfer_post(r, "tr_2", &t, NOW_MS), CAT_INTERNAL);
	cr_assert_eq(r->ops->transfer_pend(r, "tr_3", &t, NOW_MS), CAT_INTERNAL);
	cr_assert_eq(r->ops->merchant_ensure(r, "shop", "acct_1", NOW_MS, mid), CAT_INTERNAL);
	cr_assert_eq(store_commit(r), CAT_OK);
	/* Not even SQL behind the store's back gets through the connection. */
	int raw = sqlite3_exec(store_sqlite_db(r), "DELETE FROM entries", NULL, NULL, NULL);
	cr_assert_eq(raw & 0xff, SQLITE_READONLY, "raw write: %d", raw);
	store_close(r);

	s = open_rw();
	struct store_audit after = audit(s);
	expect_same_counts(&before, &after);
	expect_balance(s, shop, 500, 0, 0);
	store_close(s);
}

Test(store, readonly_refuses_old_schema)
{
	store_close(open_store(STORE_CREATE, 1));
	struct store *r = NULL;
	char err[256] = "";
	int rc = try_open(STORE_READONLY, 0, &r, err, sizeof err);
	cr_assert_neq(rc, CAT_OK);
	cr_assert_null(r);
	cr_assert_not_null(strstr(err, "older"), "%s", err);
	cr_assert_eq(raw_user_version(), 1, "a read-only open never migrates");
	/* ...but one that asks only for version 1 may read it. */
	store_close(open_store(STORE_READONLY, 1));
}

Test(store, readonly_missing_file_refused)
{
	struct store *r = NULL;
	char err[256] = "";
	cr_assert_eq(try_open(STORE_READONLY | STORE_CREATE, 0, &r, err, sizeof err),
		     CAT_STORAGE_UNAVAILABLE);
	cr_assert_null(r);
}

Test(store, pragmas_wal_full_foreign_keys)
{
	struct store *s = open_rw();
	sqlite3 *db = store_sqlite_db(s);
	cr_assert_not_null(db);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	cr_assert_eq(raw_int(db, "PRAGMA synchronous"), 2, "synchronous=FULL");
	cr_assert_eq(raw_int(db, "PRAGMA foreign_keys"), 1);
	cr_assert_eq(raw_int(db, "PRAGMA busy_timeout"), STORE_SQLITE_BUSY_TIMEOUT_MS);
	store_close(s);

	struct store *r = open_store(STORE_READONLY, 0);
	db = store_sqlite_db(r);
	cr_assert_eq(raw_int(db, "PRAGMA foreign_keys"), 1);
	cr_assert_eq(raw_int(db, "PRAGMA busy_timeout"), STORE_SQLITE_BUSY_TIMEOUT_MS);
	store_close(r);

	/* WAL is a property of the file: another connection sees it too. */
	sqlite3 *raw = raw_open(SQLITE_OPEN_READONLY);
	cr_assert_eq(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

Test(store, writes_need_a_transaction)
{
	struct store *s = open_rw();
	int64_t id;
	char mid[ID_MAX];
	cr_assert_eq(s->ops->account_open(s, "a:cny", "CNY", 0, NOW_MS, &id), CAT_INTERNAL);
	cr_assert_eq(s->ops->merchant_ensure(s, "shop", "acct_1", NOW_MS, mid), CAT_INTERNAL);
	cr_assert_eq(store_commit(s), CAT_INTERNAL, "commit without begin");
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(store_begin(s), CAT_INTERNAL, "nested begin");
	store_rollback(s);
	store_rollback(s); /* harmless when nothing is open */
	struct store_audit a = audit(s);
	cr_assert_eq(a.accounts, 0);
	store_close(s);
}

Test(store, rollback_discards_the_batch)
{
	struct store *s = open_rw();
	int64_t world = account(s, "world:cny", "CNY", 0);
	int64_t shop = account(s, "shop:cny", "CNY", 0);
	struct ledger_transfer t = legs2("CNY", world, shop, 700);
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->transfer_post(s, "tr_1", &t, NOW_MS), CAT_OK);
	cr_assert_eq(s->ops->transfer_pend(s, "tr_2", &t, NOW_MS), CAT_OK);
	store_rollback(s);
	expect_balance(s, world, 0, 0, 0);
	expect_balance(s, shop, 0, 0, 0);
	expect_no_transfer(s, "tr_1");
	expect_no_transfer(s, "tr_2");
	audit_clean(s);
	store_close(s);
}

/* ---- merchants and keys --------------------------------------------------- */

Test(store, merchant_ensure_idempotent)
{
	struct store *s = open_rw();
	char id[ID_MAX];
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->merchant_ensure(s, "shop", "acct_1", NOW_MS, id), CAT_OK);
	cr_assert_str_eq(id, "acct_1");
	cr_assert_eq(s->ops->merchant_ensure(s, "shop", "acct_2", NOW_MS, id), CAT_OK);
	cr_assert_str_eq(id, "acct_1", "the existing merchant is returned");
	cr_assert_eq(s->ops->merchant_ensure(s, "other", "acct_3", NOW_MS, id), CAT_OK);
	cr_assert_str_eq(id, "acct_3");
	cr_assert_eq(s->ops->merchant_ensure(s, "", "acct_4", NOW_MS, id), CAT_PARAMETER_INVALID);
	cr_assert_eq(store_commit(s), CAT_OK);
	store_close(s);

	s = open_rw();
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->merchant_ensure(s, "shop", "acct_5", NOW_MS, id), CAT_OK);
	cr_assert_str_eq(id, "acct_1");
	cr_assert_eq(store_commit(s), CAT_OK);
	cr_assert_eq(raw_int(store_sqlite_db(s), "SELECT count(*) FROM merchants"), 2);
	store_close(s);
}

Test(store, api_key_insert_and_lookup)
{
	uint8_t hash[32], other[32];
	for (int i = 0; i < 32; i++) {
		hash[i] = (uint8_t)(i * 7 + 1);
		other[i] = (uint8_t)(i * 7 + 2);
	}
	struct store *s = open_rw();
	char mid[ID_MAX];
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->merchant_ensure(s, "shop", "acct_1", NOW_MS, mid), CAT_OK);
	cr_assert_eq(s->ops->api_key_insert(s, "key_1", mid, hash, "abcd", NOW_MS), CAT_OK);
	cr_assert_neq(s->ops->api_key_insert(s, "key_2", mid, hash, "abcd", NOW_MS), CAT_OK,
		      "a hash is unique");
	cr_assert_eq(s->ops->api_key_insert(s, "key_3", "acct_nobody", other, "wxyz", NOW_MS),
		     CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->api_key_insert(s, "key_4", mid, other, "toolong", NOW_MS),
		     CAT_PARAMETER_INVALID);
	cr_assert_eq(store_commit(s), CAT_OK);

	char found[ID_MAX] = "";
	cr_assert_eq(s->ops->api_key_lookup(s, hash, found), CAT_OK);
	cr_assert_str_eq(found, "acct_1");
	cr_assert_eq(s->ops->api_key_lookup(s, other, found), CAT_API_KEY_INVALID);
	store_close(s);

	raw_exec("UPDATE api_keys SET revoked_ms = created_ms + 1");
	s = open_store(STORE_READONLY, 0);
	cr_assert_eq(s->ops->api_key_lookup(s, hash, found), CAT_API_KEY_INVALID, "revoked");
	store_close(s);
}

/* ---- accounts ------------------------------------------------------------- */

Test(store, account_open_idempotent)
{
	struct store *s = open_rw();
	int64_t id = account(s, "merchant:acct_1:available:cny", "cny", LEDGER_NO_OVERDRAFT);
	cr_assert_eq(account(s, "merchant:acct_1:available:cny", "CNY", LEDGER_NO_OVERDRAFT), id);
	struct ledger_account a = get_account(s, id);
	cr_assert_str_eq(a.currency, "CNY", "stored upper-case");
	cr_assert_eq(a.flags, LEDGER_NO_OVERDRAFT);

	int64_t other;
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->account_open(s, "merchant:acct_1:available:cny", "USD",
					  LEDGER_NO_OVERDRAFT, NOW_MS, &other),
		     CAT_LEDGER_CURRENCY_MISMATCH);
	cr_assert_eq(s->ops->account_open(s, "merchant:acct_1:available:cny", "CNY", 0, NOW_MS,
					  &other),
		     CAT_PARAMETER_INVALID);
	cr_assert_eq(s->ops->account_open(s, "x", "XXX", 0, NOW_MS, &other),
		     CAT_UNSUPPORTED_CURRENCY);
	cr_assert_eq(s->ops->account_open(s, "", "CNY", 0, NOW_MS, &other), CAT_PARAMETER_INVALID);
	char code[STORE_CODE_MAX + 2];
	memset(code, 'c', sizeof code - 1);
	code[sizeof code - 1] = '\0';
	cr_assert_eq(s->ops->account_open(s, code, "CNY", 0, NOW_MS, &other),
		     CAT_PARAMETER_INVALID, "longer than STORE_CODE_MAX");
	code[STORE_CODE_MAX] = '\0';
	cr_assert_eq(s->ops->account_open(s, code, "CNY", 0, NOW_MS, &other), CAT_OK,
		     "exactly STORE_CODE_MAX");
	cr_assert_eq(store_commit(s), CAT_OK);

	cr_assert_eq(s->ops->account_get(s, 424242, &a), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->account_find(s, "nope", &a), CAT_NO_SUCH_OBJECT);
	store_close(s);
}

/* ---- ledger operations ---------------------------------------------------- */

struct books {
	struct store *s;
	int64_t world, shop, fee, usd;
};

static struct books books_open(void)
{
	struct books b = {.s = open_rw()};
	b.world = account(b.s, "world:cny", "CNY", 0);
	b.shop = account(b.s, "shop:cny", "CNY", LEDGER_NO_OVERDRAFT);
	b.fee = account(b.s, "fee:cny", "CNY", LEDGER_NO_OVERDRAFT);
	b.usd = account(b.s, "world:usd", "USD", 0);
	return b;
}

Test(store, post_balanced)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_1", legs2("CNY", b.world, b.shop, 1000)), CAT_OK);
	expect_balance(b.s, b.world, -1000, 0, 0);
	expect_balance(b.s, b.shop, 1000, 0, 0);

	struct ledger_transfer three = {.currency = "cny", .leg_count = 3};
	three.legs[0] = (struct ledger_leg){b.shop, -1000};
	three.legs[1] = (struct ledger_leg){b.world, 970};
	three.legs[2] = (struct ledger_leg){b.fee, 30};
	cr_assert_eq(tx_post(b.s, "tr_2", three), CAT_OK);
	expect_balance(b.s, b.shop, 0, 0, 0);
	expect_balance(b.s, b.world, -30, 0, 0);
	expect_balance(b.s, b.fee, 30, 0, 0);

	struct store_transfer t = get_transfer(b.s, "tr_2");
	cr_assert_eq(t.state, TRANSFER_POSTED);
	cr_assert_str_eq(t.pending_id, "");
	cr_assert_str_eq(t.legs.currency, "CNY");
	cr_assert_eq(t.created_ms, NOW_MS);
	cr_assert_eq(t.legs.leg_count, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(t.legs.legs[i].account_id, three.legs[i].account_id);
		cr_assert_eq(t.legs.legs[i].amount_minor, three.legs[i].amount_minor);
	}

	struct store_audit a = audit(b.s);
	expect_clean(&a);
	cr_assert_eq(a.accounts, 4);
	cr_assert_eq(a.transfers, 2);
	cr_assert_eq(a.entries, 5);
	store_close(b.s);
}

Test(store, unbalanced_refused_nothing_written)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_0", legs2("CNY", b.world, b.shop, 100)), CAT_OK);
	struct store_audit before = audit(b.s);

	struct ledger_transfer t = legs2("CNY", b.world, b.shop, 1000);
	t.legs[1].amount_minor = 999;
	cr_assert_eq(tx_post(b.s, "tr_1", t), CAT_LEDGER_UNBALANCED);
	cr_assert_eq(tx_pend(b.s, "tr_2", t), CAT_LEDGER_UNBALANCED);
	t.leg_count = 1;
	cr_assert_eq(tx_post(b.s, "tr_3", t), CAT_LEDGER_INVALID);
	cr_assert_eq(tx_post(b.s, "tr_4", legs2("CNY", b.world, 999999, 5)), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(tx_post(b.s, "tr_5", legs2("XXX", b.world, b.shop, 5)),
		     CAT_UNSUPPORTED_CURRENCY);
	/* A reused id: refused by the database, rolled back to the savepoint. */
	cr_assert_neq(tx_post(b.s, "tr_0", legs2("CNY", b.world, b.shop, 5)), CAT_OK);

	struct store_audit after = audit(b.s);
	expect_same_counts(&before, &after);
	expect_clean(&after);
	expect_balance(b.s, b.world, -100, 0, 0);
	expect_balance(b.s, b.shop, 100, 0, 0);
	for (int i = 1; i <= 5; i++) {
		char id[ID_MAX];
		snprintf(id, sizeof id, "tr_%d", i);
		expect_no_transfer(b.s, id);
	}
	store_close(b.s);
}

Test(store, currency_mismatch_refused)
{
	struct books b = books_open();
	struct store_audit before = audit(b.s);
	cr_assert_eq(tx_post(b.s, "tr_1", legs2("CNY", b.usd, b.shop, 100)),
		     CAT_LEDGER_CURRENCY_MISMATCH);
	cr_assert_eq(tx_pend(b.s, "tr_2", legs2("CNY", b.usd, b.shop, 100)),
		     CAT_LEDGER_CURRENCY_MISMATCH);
	cr_assert_eq(tx_post(b.s, "tr_3", legs2("USD", b.world, b.shop, 100)),
		     CAT_LEDGER_CURRENCY_MISMATCH);
	struct store_audit after = audit(b.s);
	expect_same_counts(&before, &after);
	expect_balance(b.s, b.usd, 0, 0, 0);
	expect_balance(b.s, b.shop, 0, 0, 0);
	store_close(b.s);
}

Test(store, overdraft_refused_nothing_written)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_1", legs2("CNY", b.world, b.shop, 500)), CAT_OK);
	struct store_audit before = audit(b.s);

	cr_assert_eq(tx_post(b.s, "tr_2", legs2("CNY", b.shop, b.world, 501)),
		     CAT_BALANCE_INSUFFICIENT);
	cr_assert_eq(tx_pend(b.s, "tr_3", legs2("CNY", b.shop, b.world, 501)),
		     CAT_BALANCE_INSUFFICIENT);
	struct store_audit after = audit(b.s);
	expect_same_counts(&before, &after);
	expect_balance(b.s, b.shop, 500, 0, 0);
	expect_balance(b.s, b.world, -500, 0, 0);

	/* A hold counts against what is available. */
	cr_assert_eq(tx_pend(b.s, "tr_4", legs2("CNY", b.shop, b.world, 400)), CAT_OK);
	cr_assert_eq(tx_post(b.s, "tr_5", legs2("CNY", b.shop, b.world, 101)),
		     CAT_BALANCE_INSUFFICIENT);
	cr_assert_eq(tx_post(b.s, "tr_6", legs2("CNY", b.shop, b.world, 100)), CAT_OK);
	expect_balance(b.s, b.shop, 400, 400, 0);
	/* An account without the flag may go negative. */
	cr_assert_eq(tx_post(b.s, "tr_7", legs2("CNY", b.world, b.fee, 10000)), CAT_OK);
	audit_clean(b.s);
	store_close(b.s);
}

Test(store, pending_then_post_full)
{
	struct books b = books_open();
	cr_assert_eq(tx_pend(b.s, "tr_hold", legs2("CNY", b.world, b.shop, 1000)), CAT_OK);
	expect_balance(b.s, b.world, 0, 1000, 0);
	expect_balance(b.s, b.shop, 0, 0, 1000);
	struct store_transfer h = get_transfer(b.s, "tr_hold");
	cr_assert_eq(h.state, TRANSFER_PENDING);
	cr_assert_eq(h.legs.leg_count, 2);
	audit_clean(b.s);

	cr_assert_eq(tx_settle(b.s, "tr_cap", "tr_hold", 0), CAT_OK);
	expect_balance(b.s, b.world, -1000, 0, 0);
	expect_balance(b.s, b.shop, 1000, 0, 0);
	cr_assert_eq(get_transfer(b.s, "tr_hold").state, TRANSFER_SETTLED);
	struct store_transfer c = get_transfer(b.s, "tr_cap");
	cr_assert_eq(c.state, TRANSFER_POSTED);
	cr_assert_str_eq(c.pending_id, "tr_hold");
	cr_assert_eq(c.legs.leg_count, 2);
	cr_assert_eq(c.legs.legs[0].amount_minor, -1000);
	cr_assert_eq(c.legs.legs[1].amount_minor, 1000);

	struct store_audit a = audit(b.s);
	expect_clean(&a);
	cr_assert_eq(a.transfers, 2);
	cr_assert_eq(a.entries, 4);
	store_close(b.s);
}

Test(store, pending_then_post_partial)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_fund", legs2("CNY", b.world, b.shop, 2000)), CAT_OK);
	cr_assert_eq(tx_pend(b.s, "tr_hold", legs2("CNY", b.shop, b.fee, 1000)), CAT_OK);
	expect_balance(b.s, b.shop, 2000, 1000, 0);
	struct store_audit before = audit(b.s);

	cr_assert_eq(tx_settle(b.s, "tr_big", "tr_hold", 1001), CAT_AMOUNT_TOO_LARGE);
	cr_assert_eq(tx_settle(b.s, "tr_neg", "tr_hold", -1), CAT_AMOUNT_TOO_SMALL);
	struct store_audit mid = audit(b.s);
	expect_same_counts(&before, &mid);
	cr_assert_eq(get_transfer(b.s, "tr_hold").state, TRANSFER_PENDING);

	cr_assert_eq(tx_settle(b.s, "tr_cap", "tr_hold", 300), CAT_OK);
	expect_balance(b.s, b.shop, 1700, 0, 0); /* the rest of the hold is released */
	expect_balance(b.s, b.fee, 300, 0, 0);
	struct store_transfer c = get_transfer(b.s, "tr_cap");
	cr_assert_eq(c.legs.legs[0].amount_minor, -300);
	cr_assert_eq(c.legs.legs[1].amount_minor, 300);
	cr_assert_eq(get_transfer(b.s, "tr_hold").state, TRANSFER_SETTLED);

	/* Partial amounts only for two legs. */
	struct ledger_transfer three = {.currency = "CNY", .leg_count = 3};
	three.legs[0] = (struct ledger_leg){b.world, -100};
	three.legs[1] = (struct ledger_leg){b.shop, 90};
	three.legs[2] = (struct ledger_leg){b.fee, 10};
	cr_assert_eq(tx_pend(b.s, "tr_hold3", three), CAT_OK);
	cr_assert_eq(tx_settle(b.s, "tr_cap3", "tr_hold3", 50), CAT_LEDGER_INVALID);
	cr_assert_eq(tx_settle(b.s, "tr_cap3", "tr_hold3", 100), CAT_OK);
	audit_clean(b.s);
	store_close(b.s);
}

Test(store, pending_then_void)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_fund", legs2("CNY", b.world, b.shop, 800)), CAT_OK);
	cr_assert_eq(tx_pend(b.s, "tr_hold", legs2("CNY", b.shop, b.world, 800)), CAT_OK);
	expect_balance(b.s, b.shop, 800, 800, 0);
	cr_assert_eq(tx_void(b.s, "tr_void", "tr_hold"), CAT_OK);
	expect_balance(b.s, b.shop, 800, 0, 0);
	expect_balance(b.s, b.world, -800, 0, 0);
	cr_assert_eq(get_transfer(b.s, "tr_hold").state, TRANSFER_VOIDED);
	struct store_transfer v = get_transfer(b.s, "tr_void");
	cr_assert_eq(v.state, TRANSFER_VOIDED);
	cr_assert_str_eq(v.pending_id, "tr_hold");
	cr_assert_eq(v.legs.leg_count, 0, "a void moves no money");
	/* The released funds are available again. */
	cr_assert_eq(tx_post(b.s, "tr_out", legs2("CNY", b.shop, b.world, 800)), CAT_OK);
	struct store_audit a = audit(b.s);
	expect_clean(&a);
	cr_assert_eq(a.transfers, 4);
	cr_assert_eq(a.entries, 6);
	store_close(b.s);
}

Test(store, post_after_void_refused)
{
	struct books b = books_open();
	cr_assert_eq(tx_pend(b.s, "tr_hold", legs2("CNY", b.world, b.shop, 100)), CAT_OK);
	cr_assert_eq(tx_void(b.s, "tr_void", "tr_hold"), CAT_OK);
	struct store_audit before = audit(b.s);
	cr_assert_eq(tx_settle(b.s, "tr_cap", "tr_hold", 0), CAT_INVALID_STATE);
	cr_assert_eq(tx_settle(b.s, "tr_cap", "tr_hold", 50), CAT_INVALID_STATE);
	struct store_audit after = audit(b.s);
	expect_same_counts(&before, &after);
	expect_balance(b.s, b.world, 0, 0, 0);
	expect_balance(b.s, b.shop, 0, 0, 0);
	expect_no_transfer(b.s, "tr_cap");
	store_close(b.s);
}

Test(store, void_twice_refused)
{
	struct books b = books_open();
	cr_assert_eq(tx_pend(b.s, "tr_hold", legs2("CNY", b.world, b.shop, 100)), CAT_OK);
	cr_assert_eq(tx_void(b.s, "tr_void", "tr_hold"), CAT_OK);
	struct store_audit before = audit(b.s);
	cr_assert_eq(tx_void(b.s, "tr_void2", "tr_hold"), CAT_INVALID_STATE);

	/* The other ways a hold cannot be resolved. */
	cr_assert_eq(tx_pend(b.s, "tr_hold2", legs2("CNY", b.world, b.shop, 100)), CAT_OK);
	cr_assert_eq(tx_settle(b.s, "tr_cap2", "tr_hold2", 0), CAT_OK);
	cr_assert_eq(tx_void(b.s, "tr_void3", "tr_hold2"), CAT_INVALID_STATE, "void after post");
	cr_assert_eq(tx_settle(b.s, "tr_cap3", "tr_hold2", 0), CAT_INVALID_STATE, "post twice");
	cr_assert_eq(tx_void(b.s, "tr_void4", "tr_cap2"), CAT_INVALID_STATE, "not a hold");
	cr_assert_eq(tx_void(b.s, "tr_void5", "tr_nothing"), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(tx_settle(b.s, "tr_cap5", "tr_nothing", 0), CAT_NO_SUCH_OBJECT);

	struct store_audit after = audit(b.s);
	cr_assert_eq(after.transfers, before.transfers + 2);
	expect_clean(&after);
	expect_no_transfer(b.s, "tr_void2");
	expect_balance(b.s, b.world, -100, 0, 0);
	expect_balance(b.s, b.shop, 100, 0, 0);
	store_close(b.s);
}

Test(store, failure_mid_write_leaves_nothing)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_0", legs2("CNY", b.world, b.shop, 1000)), CAT_OK);
	cr_assert_eq(tx_pend(b.s, "tr_h", legs2("CNY", b.shop, b.fee, 777)), CAT_OK);
	store_close(b.s);
	/* Entries of 777 now fail after the transfer row is written. */
	raw_exec("CREATE TRIGGER fail_777 BEFORE INSERT ON entries WHEN NEW.amount = 777 "
		 "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	b.s = open_rw();
	struct store_audit before = audit(b.s);

	struct ledger_transfer t = legs2("CNY", b.world, b.shop, 777);
	cr_assert_eq(store_begin(b.s), CAT_OK);
	cr_assert_eq(b.s->ops->transfer_post(b.s, "tr_1", &t, NOW_MS), CAT_INTERNAL);
	cr_assert_eq(b.s->ops->transfer_pend(b.s, "tr_2", &t, NOW_MS), CAT_INTERNAL);
	cr_assert_eq(b.s->ops->transfer_post_pending(b.s, "tr_3", "tr_h", 0, NOW_MS), CAT_INTERNAL);
	/* The batch goes on: a later operation still works and commits. */
	t = legs2("CNY", b.world, b.shop, 5);
	cr_assert_eq(b.s->ops->transfer_post(b.s, "tr_4", &t, NOW_MS), CAT_OK);
	cr_assert_eq(store_commit(b.s), CAT_OK);

	struct store_audit after = audit(b.s);
	expect_clean(&after);
	cr_assert_eq(after.transfers, before.transfers + 1);
	cr_assert_eq(after.entries, before.entries + 2);
	expect_no_transfer(b.s, "tr_1");
	expect_no_transfer(b.s, "tr_2");
	expect_no_transfer(b.s, "tr_3");
	cr_assert_eq(get_transfer(b.s, "tr_h").state, TRANSFER_PENDING);
	expect_balance(b.s, b.world, -1005, 0, 0);
	expect_balance(b.s, b.shop, 1005, 777, 0);
	expect_balance(b.s, b.fee, 0, 0, 777);
	store_close(b.s);
}

Test(store, reader_sees_only_committed)
{
	struct books b = books_open();
	struct store *r = open_store(STORE_READONLY, 0);
	struct ledger_transfer t = legs2("CNY", b.world, b.shop, 100);
	cr_assert_eq(store_begin(b.s), CAT_OK);
	cr_assert_eq(b.s->ops->transfer_post(b.s, "tr_1", &t, NOW_MS), CAT_OK);
	expect_balance(r, b.shop, 0, 0, 0);
	expect_no_transfer(r, "tr_1");
	cr_assert_eq(store_commit(b.s), CAT_OK);
	expect_balance(r, b.shop, 100, 0, 0);

	/* Inside its own transaction a reader keeps one snapshot. */
	cr_assert_eq(store_begin(r), CAT_OK);
	expect_balance(r, b.shop, 100, 0, 0);
	cr_assert_eq(tx_post(b.s, "tr_2", t), CAT_OK);
	expect_balance(r, b.shop, 100, 0, 0);
	audit_clean(r);
	cr_assert_eq(store_commit(r), CAT_OK);
	expect_balance(r, b.shop, 200, 0, 0);
	store_close(r);
	store_close(b.s);
}

static int statements_of(sqlite3 *db, int *busy)
{
	int n = 0;
	*busy = 0;
	for (sqlite3_stmt *st = NULL; (st = sqlite3_next_stmt(db, st)) != NULL; n++)
		*busy += sqlite3_stmt_busy(st) != 0;
	return n;
}

/* The hot path prepares each statement once per connection and leaves
 * none of them running (a running statement would pin a WAL snapshot). */
Test(store, statements_prepared_once)
{
	struct books b = books_open();
	sqlite3 *db = store_sqlite_db(b.s);
	int warm = 0, busy = 0;
	for (int round = 0; round < 50; round++) {
		char id[5][ID_MAX];
		for (int i = 0; i < 5; i++)
			snprintf(id[i], sizeof id[i], "tr_%d_%d", round, i);
		cr_assert_eq(tx_post(b.s, id[0], legs2("CNY", b.world, b.shop, 10)), CAT_OK);
		cr_assert_eq(tx_pend(b.s, id[1], legs2("CNY", b.shop, b.fee, 5)), CAT_OK);
		cr_assert_eq(tx_settle(b.s, id[2], id[1], 3), CAT_OK);
		cr_assert_eq(tx_pend(b.s, id[3], legs2("CNY", b.shop, b.fee, 5)), CAT_OK);
		cr_assert_eq(tx_void(b.s, id[4], id[3]), CAT_OK);
		cr_assert_eq(tx_void(b.s, id[4], id[3]), CAT_INVALID_STATE);
		get_transfer(b.s, id[2]);
		audit_clean(b.s);
		int n = statements_of(db, &busy);
		cr_assert_eq(busy, 0, "round %d: %d statements left running", round, busy);
		if (round == 0)
			warm = n;
		cr_assert_eq(n, warm, "round %d: %d statements, %d after the first", round, n, warm);
	}
	store_close(b.s);
}

Test(store, audit_finds_tampering)
{
	struct books b = books_open();
	cr_assert_eq(tx_post(b.s, "tr_1", legs2("CNY", b.world, b.shop, 100)), CAT_OK);
	cr_assert_eq(tx_pend(b.s, "tr_2", legs2("CNY", b.world, b.shop, 50)), CAT_OK);
	store_close(b.s);
	raw_exec("UPDATE accounts SET posted = posted + 1 WHERE code = 'shop:cny';"
		 "UPDATE accounts SET pending_credits = 0 WHERE code = 'shop:cny';"
		 "UPDATE entries SET amount = -99 WHERE transfer_id = 'tr_1' AND amount < 0;");
	struct store *s = open_rw();
	struct store_audit a = audit(s);
	cr_assert_eq(a.bad_balances, 2, "shop and world: %ld", a.bad_balances);
	cr_assert_eq(a.bad_pending, 1);
	cr_assert_eq(a.unbalanced, 1);
	cr_assert_eq(a.currency_nonzero, 1);
	store_close(s);
}

/* ---- property test -------------------------------------------------------- */

#define P_SEED 20260101u
#define P_ACCOUNTS 20
#define P_CURRENCIES 3
#define P_OPS 2000
#define P_BATCH 50

static const char *const p_currency[P_CURRENCIES] = {"CNY", "USD", "JPY"};

struct p_account {
	int64_t id;
	int cur;
	unsigned flags;
	int64_t posted, pending_debits, pending_credits;
};

struct p_hold {
	char id[ID_MAX];
	struct ledger_transfer t;
	bool open;
};

/* The model: what the books must be, computed without core/ledger. */
struct p_model {
	struct p_account acct[P_ACCOUNTS];
	struct p_hold holds[P_OPS];
	int hold_count;
	long transfers, entries;
};

static struct p_model model, saved;
static struct rng p_rng;
static long p_refused[4]; /* unbalanced, insufficient, invalid state, other */

static int64_t p_below(uint64_t n)
{
	return (int64_t)rng_below(&p_rng, n);
}

static struct p_account *p_find(int64_t id)
{
	for (int i = 0; i < P_ACCOUNTS; i++)
		if (model.acct[i].id == id)
			return &model.acct[i];
	cr_assert_fail("no model account %lld", (long long)id);
	return NULL;
}

/* n distinct accounts of currency cur, at random. */
static size_t p_pick(int cur, int64_t *ids, size_t n)
{
	int of_cur[P_ACCOUNTS];
	size_t count = 0;
	for (int i = 0; i < P_ACCOUNTS; i++)
		if (model.acct[i].cur == cur)
			of_cur[count++] = i;
	for (size_t i = 0; i < count; i++) { /* Fisher-Yates */
		size_t j = i + (size_t)p_below(count - i);
		int tmp = of_cur[i];
		of_cur[i] = of_cur[j];
		of_cur[j] = tmp;
	}
	n = n < count ? n : count;
	for (size_t i = 0; i < n; i++)
		ids[i] = model.acct[of_cur[i]].id;
	return n;
}

/* A random transfer: half the time world -> someone (funding), else 2..4
 * random legs.  *expect is what the store must answer (shape only). */
static struct ledger_transfer p_transfer(int *expect)
{
	int cur = (int)p_below(P_CURRENCIES);
	struct ledger_transfer t = {0};
	snprintf(t.currency, sizeof t.currency, "%s", p_currency[cur]);
	int64_t ids[4];
	*expect = CAT_OK;
	if (p_below(2) == 0) {
		int64_t amount = 1 + p_below(5000);
		p_pick(cur, ids, 1);
		if (ids[0] == model.acct[cur].id)
			ids[0] = model.acct[cur + P_CURRENCIES].id;
		t = legs2(p_currency[cur], model.acct[cur].id, ids[0], amount);
		return t;
	}
	t.leg_count = p_pick(cur, ids, 2 + (size_t)p_below(3));
	int64_t sum;
	do {
		sum = 0;
		for (size_t i = 0; i + 1 < t.leg_count; i++) {
			int64_t a = 1 + p_below(5000);
			t.legs[i] = (struct ledger_leg){ids[i], p_below(2) ? a : -a};
			sum += t.legs[i].amount_minor;
		}
	} while (sum == 0);
	t.legs[t.leg_count - 1] = (struct ledger_leg){ids[t.leg_count - 1], -sum};
	int64_t dice = p_below(100);
	if (dice < 4) { /* unbalanced */
		t.legs[0].amount_minor += t.legs[0].amount_minor == -1 ? 2 : 1;
		*expect = CAT_LEDGER_UNBALANCED;
	} else if (dice < 6) { /* an account of another currency */
		int other = (cur + 1) % P_CURRENCIES;
		t.legs[0].account_id = model.acct[other].id;
		*expect = CAT_LEDGER_CURRENCY_MISMATCH;
	}
	return t;
}

static bool p_overdrawn(const struct p_account *a, int64_t posted, int64_t pending_debits)
{
	return (a->flags & LEDGER_NO_OVERDRAFT) && posted - pending_debits < 0;
}

/* The model's answer to posting (pending = false) or holding t. */
static int p_expect_new(const struct ledger_transfer *t, bool pending)
{
	for (size_t i = 0; i < t->leg_count; i++) {
		struct p_account *a = p_find(t->legs[i].account_id);
		int64_t amt = t->legs[i].amount_minor;
		if (!pending && p_overdrawn(a, a->posted + amt, a->pending_debits))
			return CAT_BALANCE_INSUFFICIENT;
		if (pending && amt < 0 && p_overdrawn(a, a->posted, a->pending_debits - amt))
			return CAT_BALANCE_INSUFFICIENT;
	}
	return CAT_OK;
}

static void p_apply_new(const char *id, const struct ledger_transfer *t, bool pending)
{
	for (size_t i = 0; i < t->leg_count; i++) {
		struct p_account *a = p_find(t->legs[i].account_id);
		int64_t amt = t->legs[i].amount_minor;
		if (!pending)
			a->posted += amt;
		else if (amt < 0)
			a->pending_debits -= amt;
		else
			a->pending_credits += amt;
	}
	if (pending) {
		struct p_hold *h = &model.holds[model.hold_count++];
		snprintf(h->id, sizeof h->id, "%s", id);
		h->t = *t;
		h->open = true;
	}
	model.transfers++;
	model.entries += (long)t->leg_count;
}

static void p_release(struct p_hold *h)
{
	for (size_t i = 0; i < h->t.leg_count; i++) {
		struct p_account *a = p_find(h->t.legs[i].account_id);
		int64_t amt = h->t.legs[i].amount_minor;
		if (amt < 0)
			a->pending_debits += amt;
		else
			a->pending_credits -= amt;
	}
	h->open = false;
	model.transfers++;
}

static void p_count_refusal(int rc)
{
	if (rc == CAT_LEDGER_UNBALANCED || rc == CAT_LEDGER_CURRENCY_MISMATCH)
		p_refused[0]++;
	else if (rc == CAT_BALANCE_INSUFFICIENT)
		p_refused[1]++;
	else if (rc == CAT_INVALID_STATE)
		p_refused[2]++;
	else if (rc)
		p_refused[3]++;
}

static void p_new(struct store *s, const char *id, bool pending)
{
	int expect;
	struct ledger_transfer t = p_transfer(&expect);
	if (expect == CAT_OK)
		expect = p_expect_new(&t, pending);
	int rc = pending ? s->ops->transfer_pend(s, id, &t, NOW_MS)
			 : s->ops->transfer_post(s, id, &t, NOW_MS);
	cr_assert_eq(rc, expect, "%s %s: rc %d, model %d", pending ? "pend" : "post", id, rc,
		     expect);
	p_count_refusal(rc);
	if (rc == CAT_OK) {
		p_apply_new(id, &t, pending);
		struct store_transfer got = get_transfer(s, id);
		cr_assert_eq(got.state, pending ? TRANSFER_PENDING : TRANSFER_POSTED);
		cr_assert_eq(got.legs.leg_count, t.leg_count);
	}
}

/* A hold to settle or void: mostly an open one, sometimes any. */
static struct p_hold *p_hold_pick(void)
{
	if (model.hold_count == 0)
		return NULL;
	if (p_below(5) > 0)
		for (int tries = 0; tries < 20; tries++) {
			struct p_hold *h = &model.holds[p_below((uint64_t)model.hold_count)];
			if (h->open)
				return h;
		}
	return &model.holds[p_below((uint64_t)model.hold_count)];
}

static void p_settle(struct store *s, const char *id, struct p_hold *h)
{
	int64_t full = 0, amount = 0;
	for (size_t i = 0; i < h->t.leg_count; i++)
		if (h->t.legs[i].amount_minor > 0)
			full += h->t.legs[i].amount_minor;
	int expect = h->open ? CAT_OK : CAT_INVALID_STATE;
	int64_t dice = p_below(10);
	if (dice >= 5)
		amount = h->t.leg_count == 2 ? 1 + p_below((uint64_t)full) : full;
	if (dice == 9 && h->open) {
		amount = full + 1;
		expect = CAT_AMOUNT_TOO_LARGE;
	}
	int rc = s->ops->transfer_post_pending(s, id, h->id, amount, NOW_MS);
	cr_assert_eq(rc, expect, "settle %s of %s (%lld): rc %d, model %d", id, h->id,
		     (long long)amount, rc, expect);
	p_count_refusal(rc);
	if (rc)
		return;
	int64_t posted = amount ? amount : full;
	struct ledger_transfer p = h->t;
	for (size_t i = 0; posted != full && i < 2; i++)
		p.legs[i].amount_minor = p.legs[i].amount_minor < 0 ? -posted : posted;
	p_release(h);
	for (size_t i = 0; i < p.leg_count; i++)
		p_find(p.legs[i].account_id)->posted += p.legs[i].amount_minor;
	model.entries += (long)p.leg_count;
	cr_assert_eq(get_transfer(s, h->id).state, TRANSFER_SETTLED);
}

static void p_void(struct store *s, const char *id, struct p_hold *h)
{
	int expect = h->open ? CAT_OK : CAT_INVALID_STATE;
	int rc = s->ops->transfer_void(s, id, h->id, NOW_MS);
	cr_assert_eq(rc, expect, "void %s of %s: rc %d, model %d", id, h->id, rc, expect);
	p_count_refusal(rc);
	if (rc == CAT_OK) {
		p_release(h);
		cr_assert_eq(get_transfer(s, h->id).state, TRANSFER_VOIDED);
	}
}

static void p_step(struct store *s, int n)
{
	char id[ID_MAX];
	snprintf(id, sizeof id, "tr_%06d", n);
	int64_t dice = p_below(100);
	struct p_hold *h = dice >= 65 ? p_hold_pick() : NULL;
	if (h && dice < 85)
		p_settle(s, id, h);
	else if (h)
		p_void(s, id, h);
	else
		p_new(s, id, dice >= 40 && dice < 65);
}

static void p_expect_books(struct store *s)
{
	for (int i = 0; i < P_ACCOUNTS; i++) {
		const struct p_account *m = &model.acct[i];
		struct ledger_account a = get_account(s, m->id);
		cr_assert_str_eq(a.currency, p_currency[m->cur]);
		cr_assert_eq(a.posted, m->posted, "account %d posted %lld, model %lld", i,
			     (long long)a.posted, (long long)m->posted);
		cr_assert_eq(a.pending_debits, m->pending_debits, "account %d pending_debits", i);
		cr_assert_eq(a.pending_credits, m->pending_credits, "account %d pending_credits", i);
	}
	struct store_audit a = audit(s);
	expect_clean(&a);
	cr_assert_eq(a.accounts, P_ACCOUNTS);
	cr_assert_eq(a.transfers, model.transfers, "transfers %ld, model %ld", a.transfers,
		     model.transfers);
	cr_assert_eq(a.entries, model.entries, "entries %ld, model %ld", a.entries, model.entries);
}

static void p_open_accounts(struct store *s)
{
	cr_assert_eq(store_begin(s), CAT_OK);
	for (int i = 0; i < P_ACCOUNTS; i++) {
		struct p_account *a = &model.acct[i];
		char code[64];
		a->cur = i % P_CURRENCIES; /* 0..2 are the "world" accounts, free to go negative */
		a->flags = i >= P_CURRENCIES && i % 2 == 0 ? LEDGER_NO_OVERDRAFT : 0;
		snprintf(code, sizeof code, "p:%d:%s", i, p_currency[a->cur]);
		cr_assert_eq(s->ops->account_open(s, code, p_currency[a->cur], a->flags, NOW_MS,
						  &a->id),
			     CAT_OK);
	}
	cr_assert_eq(store_commit(s), CAT_OK);
}

Test(store, property_random_transfers_audit_clean, .timeout = 120)
{
	rng_seed(&p_rng, P_SEED);
	struct store *s = open_rw();
	p_open_accounts(s);
	for (int n = 0; n < P_OPS; n += P_BATCH) {
		bool keep = p_below(10) > 0; /* one batch in ten is rolled back */
		saved = model;
		cr_assert_eq(store_begin(s), CAT_OK);
		for (int i = n; i < n + P_BATCH && i < P_OPS; i++)
			p_step(s, i);
		if (keep) {
			cr_assert_eq(store_commit(s), CAT_OK);
		} else {
			store_rollback(s);
			model = saved;
		}
		p_expect_books(s);
	}
	cr_assert_gt(p_refused[0], 0, "some transfers were malformed");
	cr_assert_gt(p_refused[1], 0, "some transfers were refused for overdraft");
	cr_assert_gt(p_refused[2], 0, "some holds were resolved twice");
	cr_assert_gt(model.transfers, P_OPS / 2, "most operations went through");
	store_close(s);

	s = open_rw();
	p_expect_books(s);
	store_close(s);
	s = open_store(STORE_READONLY, 0);
	p_expect_books(s);
	store_close(s);
}
