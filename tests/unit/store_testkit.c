/* tests/unit/store_testkit: see store_testkit.h. */
#include "store_testkit.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/catalog.h"

struct store *stk_open(const struct tmpdb *t, unsigned flags, int migrate_to)
{
	struct store_open_opts opts = {.flags = flags, .migrate_to = migrate_to};
	struct store *s = NULL;
	char err[256] = "";
	int rc = store_open_sqlite(t->db, &opts, &s, err, sizeof err);
	cr_assert_eq(rc, CAT_OK, "open %s: rc %d: %s", t->db, rc, err);
	cr_assert_not_null(s);
	return s;
}

void stk_begin(struct store *s)
{
	cr_assert_eq(store_begin(s), CAT_OK);
}

void stk_commit(struct store *s)
{
	cr_assert_eq(store_commit(s), CAT_OK);
}

struct store *stk_open_shops(const struct tmpdb *t, int64_t now_ms)
{
	struct store *s = stk_open(t, STORE_CREATE, 0);
	char id[ID_MAX];
	stk_begin(s);
	cr_assert_eq(s->ops->merchant_ensure(s, "one", STK_M1, now_ms, id), CAT_OK);
	cr_assert_eq(s->ops->merchant_ensure(s, "two", STK_M2, now_ms, id), CAT_OK);
	stk_commit(s);
	return s;
}

void stk_mkid(char out[ID_MAX], const char *prefix, int n)
{
	snprintf(out, ID_MAX, "%s_%024d", prefix, n);
}

void stk_expect_heap_eq(const char *got, const char *want, const char *what)
{
	if (!want) {
		cr_assert_null(got, "%s: NULL expected, got \"%s\"", what, got);
	} else {
		cr_assert_not_null(got, "%s: \"%s\" expected, got NULL", what, want);
		cr_assert_str_eq(got, want, "%s", what);
	}
}

void stk_collect(void *ctx, const void *record)
{
	struct stk_seen *seen = ctx;
	cr_assert_lt(seen->n, STK_SEEN_MAX);
	snprintf(seen->ids[seen->n++], ID_MAX, "%s", (const char *)record);
}

bool stk_seen_has(const struct stk_seen *seen, const char *id)
{
	for (int i = 0; i < seen->n; i++)
		if (strcmp(seen->ids[i], id) == 0)
			return true;
	return false;
}
