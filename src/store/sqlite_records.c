/* store/sqlite_records: what the SQLite record files share
 * (store_sqlite_payments.c, store_sqlite_payouts.c): binding and reading
 * text columns, writing a bound statement, reading rows into records of a
 * kind, one record, and a page of a list (checked, read one row beyond to
 * know whether more follow, delivered newest first). */
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "store/sqlite_internal.h"

int sq_bind_text(sqlite3_stmt *st, int i, const char *text)
{
	return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

int sq_bind_optional(sqlite3_stmt *st, int i, const char *text)
{
	return text[0] ? sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int sq_bind_heap(sqlite3_stmt *st, int i, const char *text)
{
	return text ? sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int sq_heap(sqlite3_stmt *st, int col, char **out)
{
	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return CAT_OK;
	const unsigned char *text = sqlite3_column_text(st, col);
	size_t len = (size_t)sqlite3_column_bytes(st, col);
	char *copy = text || !len ? malloc(len + 1) : NULL;
	if (!copy)
		return sq_misuse("read", "out of memory");
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	*out = copy;
	return CAT_OK;
}

void sq_clear_nothing(void *rec)
{
	(void)rec;
}

int sq_write(struct sq_store *s, sqlite3_stmt *st, const char *op, int unique_rc)
{
	int rc = sqlite3_step(st);
	int out = CAT_OK;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		out = CAT_NO_SUCH_OBJECT;
	else if (rc == SQLITE_CONSTRAINT_UNIQUE && unique_rc)
		out = unique_rc;
	else if (rc != SQLITE_DONE)
		out = sq_fail(s, rc, op);
	sqlite3_reset(st);
	return out;
}

int sq_updated(struct sq_store *s, int rc)
{
	return rc ? rc : sqlite3_changes(s->db) == 1 ? CAT_OK : CAT_NO_SUCH_OBJECT;
}

int sq_fetch(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k, char *buf, int cap,
	     int *n)
{
	*n = 0;
	while (*n < cap) {
		int rc = sq_row(s, st);
		if (rc)
			return rc == CAT_NO_SUCH_OBJECT ? CAT_OK : rc;
		void *rec = buf + (size_t)*n * k->size;
		if ((rc = k->read(st, rec))) {
			k->clear(rec);
			sqlite3_reset(st);
			return rc;
		}
		(*n)++;
	}
	sqlite3_reset(st);
	return CAT_OK;
}

void sq_clear_all(const struct sq_kind *k, char *buf, int n)
{
	for (int i = 0; i < n; i++)
		k->clear(buf + (size_t)i * k->size);
}

int sq_one(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k, void *out)
{
	int rc = sq_row(s, st);
	if (rc)
		return rc;
	rc = k->read(st, out);
	sqlite3_reset(st);
	if (rc)
		k->clear(out);
	return rc;
}

int sq_page_check(const char *merchant_id, const struct store_page *page, store_each_fn each,
		  const char **cursor, enum sq_dir *dir)
{
	if (!page || !each || !sq_id_ok(merchant_id) || page->limit < 1 ||
	    page->limit > SQ_PAGE_MAX || (page->starting_after && page->ending_before))
		return CAT_PARAMETER_INVALID;
	*cursor = page->starting_after ? page->starting_after : page->ending_before;
	if (*cursor && !sq_id_ok(*cursor))
		return CAT_PARAMETER_INVALID;
	*dir = page->starting_after ? SQ_AFTER : page->ending_before ? SQ_BEFORE : SQ_FIRST;
	return CAT_OK;
}

int sq_page_deliver(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k,
		    const struct store_page *page, enum sq_dir dir, store_each_fn each, void *ctx,
		    bool *has_more)
{
	int cap = page->limit + 1, n = 0; /* one more: is there a next page? */
	char *buf = calloc((size_t)cap, k->size);
	if (!buf) {
		sqlite3_reset(st);
		return sq_misuse("list", "out of memory");
	}
	int rc = sq_fetch(s, st, k, buf, cap, &n);
	if (!rc) {
		bool more = n > page->limit;
		int shown = more ? page->limit : n;
		/* ending_before reads upwards from the cursor: the page is the
		 * `shown` nearest to it, delivered newest first all the same. */
		for (int i = 0; i < shown; i++)
			each(ctx, buf + (size_t)(dir == SQ_BEFORE ? shown - 1 - i : i) * k->size);
		if (has_more)
			*has_more = more;
	}
	sq_clear_all(k, buf, n);
	free(buf);
	return rc;
}

int sq_get(struct sq_store *s, sqlite3_stmt *st, const struct sq_kind *k, const char *merchant_id,
	   const char *record_id, void *out)
{
	if (!out) {
		sqlite3_reset(st);
		return CAT_PARAMETER_INVALID;
	}
	if (!sq_id_ok(record_id) || (merchant_id && !sq_id_ok(merchant_id))) {
		sqlite3_reset(st);
		return CAT_NO_SUCH_OBJECT;
	}
	int rc = sq_bound(s, st, sq_bind_text(st, 1, record_id) |
				    (merchant_id ? sq_bind_text(st, 2, merchant_id) : 0));
	return rc ? rc : sq_one(s, st, k, out);
}
