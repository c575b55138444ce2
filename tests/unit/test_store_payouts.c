/* tests/unit/test_store_payouts: the payout records of the SQLite store
 * (store/store_sqlite_payouts.c, schema/0008_payouts.sql) on real files
 * under /tmp.  Every field of recipients, payouts, timeline lines and
 * alerts survives a round trip and an update (the sealed number opens
 * again, for its owner only); get and list never show another merchant's
 * records; pages walked forwards and backwards meet every record once;
 * status and creation filters; the engine's work lists (open, due) beyond
 * one internal chunk, with callbacks that write; the timeline in order;
 * one open alert per object and kind; callback ids seen twice; refusals
 * that leave the batch intact; the upgrade from schema version 7; and no
 * account number in clear anywhere in the database file or its WAL. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "core/bank_account.h"
#include "core/catalog.h"
#include "core/payout.h"
#include "store/schema.h"
#include "store/store.h"
#include "store_testkit.h"
#include "tmpdb.h"

#define NOW_MS ((int64_t)1767225600000) /* 2026-01-01 */
#define M1 STK_M1
#define M2 STK_M2
#define IBAN "DE89370400440532013000"
#define IBAN_SPACED "DE89 3704 0044 0532 0130 00"

_Static_assert(offsetof(struct payout, id) == 0, "id first");
_Static_assert(offsetof(struct recipient, id) == 0, "id first");
_Static_assert(offsetof(struct alert, id) == 0, "id first");

static struct tmpdb tdb;

static void setup(void)
{
	tmpdb_open(&tdb, "storepo");
}

static void teardown(void)
{
	tmpdb_remove(&tdb);
}

TestSuite(store_payouts, .init = setup, .fini = teardown);

/* ---- helpers -------------------------------------------------------------- */

/* A destination as the engine makes it: the number normalised, sealed for
 * owner_id under the installation's key, fingerprinted, last4 kept. */
static struct bank_account make_account(struct store *s, const char *owner_id,
					const char *number)
{
	uint8_t seal_key[32], fp_key[32];
	cr_assert_eq(s->ops->secret_get(s, BANK_ACCOUNT_SEAL_SECRET, seal_key), CAT_OK);
	cr_assert_eq(s->ops->secret_get(s, BANK_ACCOUNT_FINGERPRINT_SECRET, fp_key), CAT_OK);
	char normal[PAYOUT_NUMBER_MAX];
	cr_assert_eq(bank_account_normalize(number, normal, sizeof normal), CAT_OK, "%s", number);
	struct bank_account a = {.holder_name = "Erika Mustermann — 张三", .bank_code = "COBADEFFXXX",
				 .country = "DE"};
	bank_account_last4(normal, a.last4);
	bank_account_fingerprint(fp_key, normal, a.fingerprint);
	cr_assert(crypto_seal(seal_key, normal, strlen(normal), owner_id, strlen(owner_id),
			      a.sealed, sizeof a.sealed, &a.sealed_len));
	return a;
}

/* The number sealed in a, opened for owner_id ("" when it does not open). */
static void open_number(struct store *s, const struct bank_account *a, const char *owner_id,
			char out[PAYOUT_NUMBER_MAX])
{
	uint8_t key[32];
	size_t n = 0;
	cr_assert_eq(s->ops->secret_get(s, BANK_ACCOUNT_SEAL_SECRET, key), CAT_OK);
	if (!crypto_open(key, a->sealed, a->sealed_len, owner_id, strlen(owner_id), out,
			 PAYOUT_NUMBER_MAX - 1, &n))
		n = 0;
	out[n] = '\0';
}

static void expect_account_eq(const struct bank_account *got, const struct bank_account *want)
{
	cr_assert_str_eq(got->holder_name, want->holder_name);
	cr_assert_str_eq(got->bank_code, want->bank_code);
	cr_assert_str_eq(got->country, want->country);
	cr_assert_str_eq(got->last4, want->last4);
	cr_assert_str_eq(got->fingerprint, want->fingerprint);
	cr_assert_eq(got->sealed_len, want->sealed_len);
	cr_assert_eq(memcmp(got->sealed, want->sealed, want->sealed_len), 0);
}

static struct recipient make_recipient(struct store *s, const char *merchant, int n,
				       const char *number)
{
	struct recipient r = {.name = "Ada's shop 小店", .currency = "EUR",
			      .metadata_json = "{\"seller\":\"42\"}", .created_ms = NOW_MS + n};
	stk_mkid(r.id, "rcp", n);
	snprintf(r.merchant_id, sizeof r.merchant_id, "%s", merchant);
	r.account = make_account(s, r.id, number);
	return r;
}

static void expect_recipient_eq(const struct recipient *got, const struct recipient *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_str_eq(got->name, want->name);
	cr_assert_str_eq(got->currency, want->currency);
	expect_account_eq(&got->account, &want->account);
	stk_expect_heap_eq(got->metadata_json, want->metadata_json, "metadata");
	cr_assert_eq(got->created_ms, want->created_ms);
}

/* A payout with every field set; the heap fields point at static text. */
static struct payout full_payout(struct store *s, const char *merchant, int n)
{
	struct payout p = {
		.amount = 5000 + n,
		.currency = "EUR",
		.status = PO_IN_TRANSIT,
		.method = PO_INSTANT,
		.description = "Payout 7 — 提现 \"quoted\"",
		.metadata_json = "{\"batch\":\"7\"}",
		.rail = "bank_eu",
		.rail_attempts = 2,
		.outcome_unknown = true,
		.trace_id = "TRACE-2026-0001",
		.expected_arrival_ms = NOW_MS + 86400000,
		.arrived_ms = 0,
		.failure_code = 0,
		.failure_reason = "",
		.next_poll_ms = NOW_MS + 60000,
		.polls = 3,
		.overdue_level = 1,
		.created_ms = NOW_MS + n,
		.updated_ms = NOW_MS + n + 5,
	};
	stk_mkid(p.id, "po", n);
	snprintf(p.merchant_id, sizeof p.merchant_id, "%s", merchant);
	stk_mkid(p.recipient_id, "rcp", n);
	stk_mkid(p.rail_reference, "pa", n);
	stk_mkid(p.hold_transfer_id, "tr", n);
	p.account = make_account(s, p.id, IBAN);
	return p;
}

/* A payout as the API first writes it; its account is shared (not opened). */
static struct payout bare_payout(const char *merchant, int n, enum payout_status status,
				 const struct bank_account *acct)
{
	struct payout p = {.amount = 100 + n, .currency = "EUR", .status = status,
			   .account = *acct, .created_ms = NOW_MS + n, .updated_ms = NOW_MS + n};
	stk_mkid(p.id, "po", n);
	snprintf(p.merchant_id, sizeof p.merchant_id, "%s", merchant);
	return p;
}

static void expect_payout_eq(const struct payout *got, const struct payout *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_eq(got->amount, want->amount);
	cr_assert_str_eq(got->currency, want->currency);
	cr_assert_eq(got->status, want->status);
	cr_assert_eq(got->method, want->method);
	cr_assert_str_eq(got->recipient_id, want->recipient_id);
	expect_account_eq(&got->account, &want->account);
	stk_expect_heap_eq(got->description, want->description, "description");
	stk_expect_heap_eq(got->metadata_json, want->metadata_json, "metadata");
	cr_assert_str_eq(got->rail, want->rail);
	cr_assert_str_eq(got->rail_reference, want->rail_reference);
	cr_assert_eq(got->rail_attempts, want->rail_attempts);
	cr_assert_eq(got->outcome_unknown, want->outcome_unknown);
	cr_assert_str_eq(got->trace_id, want->trace_id);
	cr_assert_eq(got->expected_arrival_ms, want->expected_arrival_ms);
	cr_assert_eq(got->arrived_ms, want->arrived_ms);
	cr_assert_eq(got->failure_code, want->failure_code);
	cr_assert_str_eq(got->failure_reason, want->failure_reason);
	cr_assert_str_eq(got->hold_transfer_id, want->hold_transfer_id);
	cr_assert_eq(got->next_poll_ms, want->next_poll_ms);
	cr_assert_eq(got->polls, want->polls);
	cr_assert_eq(got->overdue_level, want->overdue_level);
	cr_assert_eq(got->created_ms, want->created_ms);
	cr_assert_eq(got->updated_ms, want->updated_ms);
}

static struct alert make_alert(const char *merchant, int n, const char *object_id)
{
	struct alert a = {.kind = "payout_overdue", .level = 1, .status = ALERT_OPEN,
			  .message = "Payout is 1 day overdue — 付款逾期", .created_ms = NOW_MS + n,
			  .updated_ms = NOW_MS + n};
	stk_mkid(a.id, "al", n);
	snprintf(a.merchant_id, sizeof a.merchant_id, "%s", merchant);
	snprintf(a.object_id, sizeof a.object_id, "%s", object_id);
	return a;
}

static void expect_alert_eq(const struct alert *got, const struct alert *want)
{
	cr_assert_str_eq(got->id, want->id);
	cr_assert_str_eq(got->merchant_id, want->merchant_id);
	cr_assert_str_eq(got->kind, want->kind);
	cr_assert_str_eq(got->object_id, want->object_id);
	cr_assert_eq(got->level, want->level);
	cr_assert_eq(got->status, want->status);
	cr_assert_str_eq(got->message, want->message);
	cr_assert_eq(got->created_ms, want->created_ms);
	cr_assert_eq(got->updated_ms, want->updated_ms);
	cr_assert_eq(got->resolved_ms, want->resolved_ms);
}

/* Collects the ids (or timeline seqs) `each` sees. */
static void insert_payout(struct store *s, const struct payout *p)
{
	int rc = s->ops->payout_insert(s, p);
	cr_assert_eq(rc, CAT_OK, "payout_insert %s: %d", p->id, rc);
}

static int list_payouts(struct store *s, const char *merchant, const struct store_page *page,
			const struct store_range *created, struct stk_seen *out, bool *more)
{
	memset(out, 0, sizeof *out);
	return s->ops->payout_list(s, merchant, page, created, stk_collect, out, more);
}

/* ---- round trips ---------------------------------------------------------- */

Test(store_payouts, recipient_round_trip)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct recipient r = make_recipient(s, M1, 1, IBAN_SPACED);
	struct recipient bare = make_recipient(s, M1, 2, "12345678");
	bare.metadata_json = NULL;
	bare.account.bank_code[0] = '\0';
	stk_begin(s);
	cr_assert_eq(s->ops->recipient_insert(s, &r), CAT_OK);
	cr_assert_eq(s->ops->recipient_insert(s, &bare), CAT_OK);
	cr_assert_eq(s->ops->recipient_insert(s, &r), CAT_INTERNAL, "the same id twice");
	stk_commit(s);
	store_close(s);

	s = stk_open(&tdb, STORE_CREATE, 0);
	struct recipient got = {0};
	cr_assert_eq(s->ops->recipient_get(s, M1, r.id, &got), CAT_OK);
	expect_recipient_eq(&got, &r);
	cr_assert_str_eq(got.account.last4, "3000");
	char number[PAYOUT_NUMBER_MAX];
	open_number(s, &got.account, r.id, number);
	cr_assert_str_eq(number, IBAN, "the sealed number opens for its owner");
	open_number(s, &got.account, bare.id, number);
	cr_assert_str_eq(number, "", "a sealed number opens for its owner only");
	recipient_clear(&got);
	cr_assert_eq(s->ops->recipient_get(s, M1, bare.id, &got), CAT_OK);
	expect_recipient_eq(&got, &bare);
	recipient_clear(&got);
	cr_assert_eq(s->ops->recipient_get(s, M2, r.id, &got), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->recipient_get(s, M1, "rcp_nope", &got), CAT_NO_SUCH_OBJECT);

	struct store_page page = {.limit = 10};
	struct stk_seen seen = {0};
	bool more = true;
	cr_assert_eq(s->ops->recipient_list(s, M1, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 2);
	cr_assert_str_eq(seen.ids[0], bare.id, "newest first");
	cr_assert_not(more);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->recipient_list(s, M2, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0, "another merchant's recipients are not listed");
	store_close(s);
}

Test(store_payouts, payout_round_trip_and_update)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payout full = full_payout(s, M1, 1);
	struct payout bare = bare_payout(M1, 2, PO_PENDING, &full.account);
	stk_begin(s);
	insert_payout(s, &full);
	insert_payout(s, &bare);
	stk_commit(s);
	store_close(s);

	s = stk_open(&tdb, STORE_CREATE, 0);
	struct payout got = {0};
	cr_assert_eq(s->ops->payout_get(s, M1, full.id, &got), CAT_OK);
	expect_payout_eq(&got, &full);
	char number[PAYOUT_NUMBER_MAX];
	open_number(s, &got.account, full.id, number);
	cr_assert_str_eq(number, IBAN);
	payout_clear(&got);
	cr_assert_eq(s->ops->payout_get(s, M1, bare.id, &got), CAT_OK);
	expect_payout_eq(&got, &bare);
	cr_assert_null(got.description);
	payout_clear(&got);
	cr_assert_eq(s->ops->payout_get(s, M2, full.id, &got), CAT_NO_SUCH_OBJECT);

	/* An update writes what may change, and nothing a payout was created with. */
	struct payout next = full;
	next.status = PO_FAILED;
	next.description = NULL;
	next.metadata_json = "{\"batch\":\"8\"}";
	snprintf(next.rail, sizeof next.rail, "bank_eu2");
	stk_mkid(next.rail_reference, "pa", 99);
	next.rail_attempts = 3;
	next.outcome_unknown = false;
	snprintf(next.trace_id, sizeof next.trace_id, "TRACE-2");
	next.expected_arrival_ms = NOW_MS + 2;
	next.arrived_ms = NOW_MS + 3;
	next.failure_code = CAT_PAYOUT_RETURNED;
	snprintf(next.failure_reason, sizeof next.failure_reason, "AC04");
	stk_mkid(next.hold_transfer_id, "tr", 98);
	next.next_poll_ms = 0;
	next.polls = 4;
	next.overdue_level = 2;
	next.updated_ms = NOW_MS + 9;
	struct payout sneaky = next; /* identity and destination changed too */
	sneaky.amount = 1;
	snprintf(sneaky.currency, sizeof sneaky.currency, "USD");
	sneaky.method = PO_STANDARD;
	stk_mkid(sneaky.recipient_id, "rcp", 77);
	sneaky.account = bare.account;
	snprintf(sneaky.account.last4, sizeof sneaky.account.last4, "9999");
	sneaky.created_ms = 1;
	stk_begin(s);
	cr_assert_eq(s->ops->payout_update(s, &sneaky), CAT_OK);
	struct payout other = next;
	snprintf(other.merchant_id, sizeof other.merchant_id, M2);
	cr_assert_eq(s->ops->payout_update(s, &other), CAT_NO_SUCH_OBJECT, "another merchant's");
	stk_commit(s);
	cr_assert_eq(s->ops->payout_get(s, M1, full.id, &got), CAT_OK);
	expect_payout_eq(&got, &next);
	payout_clear(&got);

	/* A callback's reference finds the payout, whichever merchant's. */
	cr_assert_eq(s->ops->payout_find_reference(s, next.rail_reference, &got), CAT_OK);
	cr_assert_str_eq(got.id, full.id);
	payout_clear(&got);
	char old_ref[ID_MAX];
	stk_mkid(old_ref, "pa", 1);
	cr_assert_eq(s->ops->payout_find_reference(s, old_ref, &got), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->payout_find_reference(s, "", &got), CAT_NO_SUCH_OBJECT);
	store_close(s);
}

/* ---- lists ------------------------------------------------------------------ */

#define LISTED 25

/* M1: payouts 1..25 (status n % 5, created NOW_MS + n); M2: 101..105. */
static struct store *open_listed(struct bank_account *acct_out)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	char owner[ID_MAX];
	stk_mkid(owner, "po", 0);
	struct bank_account acct = make_account(s, owner, IBAN);
	stk_begin(s);
	for (int n = 1; n <= LISTED; n++) {
		struct payout p = bare_payout(M1, n, (enum payout_status)(n % 5), &acct);
		insert_payout(s, &p);
	}
	for (int n = 101; n <= 105; n++) {
		struct payout p = bare_payout(M2, n, PO_PENDING, &acct);
		insert_payout(s, &p);
	}
	stk_commit(s);
	if (acct_out)
		*acct_out = acct;
	return s;
}

/* Walks every page of limit `limit` forwards, then backwards from the end;
 * each must meet all `want` ids of the filter once, in order. */
static void walk_pages(struct store *s, const char *filter, const struct store_range *created,
		       int limit, int want)
{
	char all[STK_SEEN_MAX][ID_MAX];
	int total = 0;
	char cursor[ID_MAX] = "";
	bool more = true;
	while (more) {
		struct store_page page = {.limit = limit, .filter = filter,
					  .starting_after = cursor[0] ? cursor : NULL};
		struct stk_seen seen;
		cr_assert_eq(list_payouts(s, M1, &page, created, &seen, &more), CAT_OK);
		cr_assert(seen.n == limit || !more);
		for (int i = 0; i < seen.n; i++) {
			if (total > 0)
				cr_assert_lt(strcmp(seen.ids[i], all[total - 1]), 0, "newest first");
			snprintf(all[total++], ID_MAX, "%s", seen.ids[i]);
		}
		if (seen.n)
			snprintf(cursor, sizeof cursor, "%s", seen.ids[seen.n - 1]);
	}
	cr_assert_eq(total, want, "filter %s limit %d", filter ? filter : "-", limit);
	/* backwards: from the oldest, ending_before each page's first */
	int back = total - 1;
	snprintf(cursor, sizeof cursor, "%s", all[total - 1]);
	back--;
	more = true;
	while (back >= 0) {
		struct store_page page = {.limit = limit, .filter = filter, .ending_before = cursor};
		struct stk_seen seen;
		cr_assert_eq(list_payouts(s, M1, &page, created, &seen, &more), CAT_OK);
		cr_assert_gt(seen.n, 0);
		for (int i = seen.n - 1; i >= 0; i--, back--)
			cr_assert_str_eq(seen.ids[i], all[back], "backwards at %d", back);
		snprintf(cursor, sizeof cursor, "%s", seen.ids[0]);
	}
}

Test(store_payouts, list_pages_and_filters)
{
	struct store *s = open_listed(NULL);
	for (int limit = 1; limit <= 30; limit += 6)
		walk_pages(s, NULL, NULL, limit, LISTED);
	walk_pages(s, "in_transit", NULL, 2, 5); /* 1, 6, 11, 16, 21 */
	walk_pages(s, "pending", NULL, 3, 5);
	struct store_range mid = {NOW_MS + 5, NOW_MS + 14}; /* 5..14 */
	walk_pages(s, NULL, &mid, 4, 10);
	walk_pages(s, "paid", &mid, 1, 2); /* 7, 12 */

	struct stk_seen seen;
	bool more;
	struct store_page page = {.limit = 100, .filter = "in_transit"};
	cr_assert_eq(list_payouts(s, M1, &page, NULL, &seen, &more), CAT_OK);
	for (int i = 0; i < seen.n; i++) {
		struct payout p = {0};
		cr_assert_eq(s->ops->payout_get(s, M1, seen.ids[i], &p), CAT_OK);
		cr_assert_eq(p.status, PO_IN_TRANSIT);
	}
	page.filter = "sent";
	cr_assert_eq(list_payouts(s, M1, &page, NULL, &seen, &more), CAT_PARAMETER_INVALID);
	page = (struct store_page){.limit = 101};
	cr_assert_eq(list_payouts(s, M1, &page, NULL, &seen, &more), CAT_PARAMETER_INVALID);
	page = (struct store_page){.limit = 0};
	cr_assert_eq(list_payouts(s, M1, &page, NULL, &seen, &more), CAT_PARAMETER_INVALID);

	/* merchant scoping */
	page = (struct store_page){.limit = 100};
	cr_assert_eq(list_payouts(s, M2, &page, NULL, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 5);
	for (int i = 0; i < seen.n; i++)
		cr_assert_eq(strncmp(seen.ids[i], "po_0000000000000000000001", 25), 0,
			     "only M2's: %s", seen.ids[i]);
	struct store_range none = {NOW_MS + 1000, NOW_MS + 2000};
	cr_assert_eq(list_payouts(s, M1, &page, &none, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	store_close(s);
}

/* ---- work lists ------------------------------------------------------------ */

#define WORK 200 /* open and due ones: more than one internal chunk (64) */

struct work_seen {
	struct stk_seen seen;
	struct store *s;
	bool write;
};

/* Records the payout and, if asked, moves it on (a callback that writes). */
static void work_collect(void *ctx, const void *record)
{
	struct work_seen *w = ctx;
	const struct payout *p = record;
	cr_assert_lt(w->seen.n, STK_SEEN_MAX);
	w->seen.polls[w->seen.n] = p->next_poll_ms;
	snprintf(w->seen.ids[w->seen.n++], ID_MAX, "%s", p->id);
	if (w->write) {
		struct payout next = *p;
		next.next_poll_ms = NOW_MS + 10000000;
		next.polls++;
		cr_assert_eq(w->s->ops->payout_update(w->s, &next), CAT_OK);
	}
}

/* Payout n: half of them open, every status present. */
static enum payout_status status_of(int n)
{
	static const enum payout_status cycle[] = {PO_PENDING, PO_IN_TRANSIT, PO_PENDING,
						   PO_PAID,    PO_FAILED,     PO_CANCELED};
	return cycle[n % 6];
}

/* Payout n: next_poll_ms (for open ones) spread and
 * interleaved with the ids, 0 for every seventh. */
static int64_t poll_of(int n)
{
	return n % 7 == 0 ? 0 : NOW_MS + (int64_t)((n * 37) % WORK) * 1000;
}

static struct store *open_work(void)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	char owner[ID_MAX];
	stk_mkid(owner, "po", 0);
	struct bank_account acct = make_account(s, owner, IBAN);
	stk_begin(s);
	for (int n = 1; n <= WORK; n++) {
		struct payout p = bare_payout(n % 2 ? M1 : M2, n, status_of(n), &acct);
		p.next_poll_ms = poll_of(n);
		insert_payout(s, &p);
	}
	stk_commit(s);
	return s;
}

Test(store_payouts, open_each_beyond_a_chunk)
{
	struct store *s = open_work();
	struct work_seen w = {.s = s};
	cr_assert_eq(s->ops->payout_open_each(s, work_collect, &w), CAT_OK);
	int want = 0;
	for (int n = 1; n <= WORK; n++) {
		char id[ID_MAX];
		stk_mkid(id, "po", n);
		bool open = !payout_status_final(status_of(n));
		want += open;
		cr_assert_eq(stk_seen_has(&w.seen, id), open, "%s", id);
	}
	cr_assert_eq(w.seen.n, want);
	for (int i = 1; i < w.seen.n; i++)
		cr_assert_lt(strcmp(w.seen.ids[i - 1], w.seen.ids[i]), 0, "oldest first");
	store_close(s);
}

Test(store_payouts, due_each_by_time_with_writing_callbacks)
{
	struct store *s = open_work();
	int64_t before = NOW_MS + (int64_t)(WORK * 9 / 10) * 1000;
	struct work_seen w = {.s = s, .write = true};
	stk_begin(s);
	cr_assert_eq(s->ops->payout_due_each(s, before, 0, work_collect, &w), CAT_OK);
	stk_commit(s);
	int want = 0;
	for (int n = 1; n <= WORK; n++) {
		char id[ID_MAX];
		stk_mkid(id, "po", n);
		int64_t poll = poll_of(n);
		enum payout_status st = status_of(n);
		bool watched = st == PO_PENDING || st == PO_IN_TRANSIT || st == PO_PAID; /* 0009 */
		bool due = watched && poll > 0 && poll <= before;
		want += due;
		cr_assert_eq(stk_seen_has(&w.seen, id), due, "%s poll %lld", id, (long long)poll);
	}
	cr_assert_gt(want, 64, "the walk must cross a chunk");
	cr_assert_eq(w.seen.n, want, "each once");
	for (int i = 1; i < w.seen.n; i++)
		cr_assert(w.seen.polls[i - 1] < w.seen.polls[i] ||
				  (w.seen.polls[i - 1] == w.seen.polls[i] &&
				   strcmp(w.seen.ids[i - 1], w.seen.ids[i]) < 0),
			  "earliest first at %d", i);
	/* The callbacks moved them all past `before`: nothing is due now. */
	memset(&w, 0, sizeof w);
	w.s = s;
	cr_assert_eq(s->ops->payout_due_each(s, before, 0, work_collect, &w), CAT_OK);
	cr_assert_eq(w.seen.n, 0);
	store_close(s);
}

/* ---- timeline -------------------------------------------------------------- */

struct lines {
	int n;
	struct payout_event e[100];
};

static void collect_line(void *ctx, const void *record)
{
	struct lines *l = ctx;
	cr_assert_lt(l->n, 100);
	l->e[l->n++] = *(const struct payout_event *)record;
}

Test(store_payouts, timeline_in_order)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payout p = full_payout(s, M1, 1);
	static const int order[] = {3, 1, 2};
	stk_begin(s);
	insert_payout(s, &p);
	for (int i = 0; i < 3; i++) {
		struct payout_event e = {.seq = order[i], .at_ms = NOW_MS + order[i],
					 .status = (enum payout_status)(order[i] - 1),
					 .source = "rail", .code = "ACSP",
					 .message = "Accepted — 已受理"};
		snprintf(e.payout_id, sizeof e.payout_id, "%s", p.id);
		cr_assert_eq(s->ops->payout_event_insert(s, &e), CAT_OK);
	}
	struct payout_event dup = {.seq = 2, .status = PO_PAID, .source = "poll"};
	snprintf(dup.payout_id, sizeof dup.payout_id, "%s", p.id);
	cr_assert_eq(s->ops->payout_event_insert(s, &dup), CAT_INTERNAL, "seq 2 twice");
	stk_mkid(dup.payout_id, "po", 999);
	cr_assert_eq(s->ops->payout_event_insert(s, &dup), CAT_NO_SUCH_OBJECT, "no such payout");
	stk_commit(s);

	struct lines l = {0};
	cr_assert_eq(s->ops->payout_event_list(s, p.id, collect_line, &l), CAT_OK);
	cr_assert_eq(l.n, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(l.e[i].seq, i + 1);
		cr_assert_str_eq(l.e[i].payout_id, p.id);
		cr_assert_eq(l.e[i].at_ms, NOW_MS + i + 1);
		cr_assert_eq(l.e[i].status, (enum payout_status)i);
		cr_assert_str_eq(l.e[i].source, "rail");
		cr_assert_str_eq(l.e[i].code, "ACSP");
		cr_assert_str_eq(l.e[i].message, "Accepted — 已受理");
	}
	memset(&l, 0, sizeof l);
	cr_assert_eq(s->ops->payout_event_list(s, "po_nope", collect_line, &l), CAT_OK);
	cr_assert_eq(l.n, 0);
	store_close(s);
}

Test(store_payouts, long_timeline_crosses_chunks)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payout p = full_payout(s, M1, 1);
	stk_begin(s);
	insert_payout(s, &p);
	for (int seq = 1; seq <= 90; seq++) {
		struct payout_event e = {.seq = seq, .at_ms = NOW_MS + seq, .source = "poll"};
		snprintf(e.payout_id, sizeof e.payout_id, "%s", p.id);
		cr_assert_eq(s->ops->payout_event_insert(s, &e), CAT_OK);
	}
	stk_commit(s);
	struct lines l = {0};
	cr_assert_eq(s->ops->payout_event_list(s, p.id, collect_line, &l), CAT_OK);
	cr_assert_eq(l.n, 90);
	for (int i = 0; i < 90; i++)
		cr_assert_eq(l.e[i].seq, i + 1);
	store_close(s);
}

/* ---- alerts ---------------------------------------------------------------- */

Test(store_payouts, alerts_open_escalate_resolve)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	char po[ID_MAX];
	stk_mkid(po, "po", 1);
	struct alert a = make_alert(M1, 1, po);
	stk_begin(s);
	cr_assert_eq(s->ops->alert_insert(s, &a), CAT_OK);
	struct alert twin = make_alert(M1, 2, po);
	cr_assert_eq(s->ops->alert_insert(s, &twin), CAT_INVALID_STATE, "a second open one");
	struct alert other_kind = make_alert(M1, 3, po);
	snprintf(other_kind.kind, sizeof other_kind.kind, "payout_unknown");
	cr_assert_eq(s->ops->alert_insert(s, &other_kind), CAT_OK);
	stk_commit(s);

	struct alert got;
	cr_assert_eq(s->ops->alert_open_for(s, po, "payout_overdue", &got), CAT_OK);
	expect_alert_eq(&got, &a);
	cr_assert_eq(s->ops->alert_get(s, M1, a.id, &got), CAT_OK);
	expect_alert_eq(&got, &a);
	cr_assert_eq(s->ops->alert_get(s, M2, a.id, &got), CAT_NO_SUCH_OBJECT);

	/* escalate, then resolve */
	a.level = 2;
	snprintf(a.message, sizeof a.message, "Payout is 3 days overdue");
	a.updated_ms = NOW_MS + 100;
	snprintf(a.kind, sizeof a.kind, "ignored"); /* kind and object never change */
	stk_begin(s);
	cr_assert_eq(s->ops->alert_update(s, &a), CAT_OK);
	stk_commit(s);
	snprintf(a.kind, sizeof a.kind, "payout_overdue");
	cr_assert_eq(s->ops->alert_open_for(s, po, "payout_overdue", &got), CAT_OK);
	expect_alert_eq(&got, &a);
	a.status = ALERT_RESOLVED;
	a.resolved_ms = a.updated_ms = NOW_MS + 200;
	stk_begin(s);
	cr_assert_eq(s->ops->alert_update(s, &a), CAT_OK);
	struct alert foreign = a;
	snprintf(foreign.merchant_id, sizeof foreign.merchant_id, M2);
	cr_assert_eq(s->ops->alert_update(s, &foreign), CAT_NO_SUCH_OBJECT);
	stk_commit(s);
	cr_assert_eq(s->ops->alert_open_for(s, po, "payout_overdue", &got), CAT_NO_SUCH_OBJECT);
	cr_assert_eq(s->ops->alert_get(s, M1, a.id, &got), CAT_OK);
	expect_alert_eq(&got, &a);

	/* once resolved, a new one may open */
	stk_begin(s);
	cr_assert_eq(s->ops->alert_insert(s, &twin), CAT_OK);
	stk_commit(s);

	struct store_page page = {.limit = 10};
	struct stk_seen seen = {0};
	bool more;
	cr_assert_eq(s->ops->alert_list(s, M1, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 3);
	page.filter = "open";
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->alert_list(s, M1, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 2);
	cr_assert_str_eq(seen.ids[0], other_kind.id);
	cr_assert_str_eq(seen.ids[1], twin.id);
	page.filter = "resolved";
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->alert_list(s, M1, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 1);
	cr_assert_str_eq(seen.ids[0], a.id);
	page.filter = "closed";
	cr_assert_eq(s->ops->alert_list(s, M1, &page, stk_collect, &seen, &more), CAT_PARAMETER_INVALID);
	page.filter = NULL;
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(s->ops->alert_list(s, M2, &page, stk_collect, &seen, &more), CAT_OK);
	cr_assert_eq(seen.n, 0);
	store_close(s);
}

/* ---- callback ids ---------------------------------------------------------- */

Test(store_payouts, callback_seen_twice_and_expired)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	stk_begin(s);
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_1", NOW_MS), CAT_OK);
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_1", NOW_MS + 5),
		     CAT_IDEMPOTENCY_KEY_REUSED);
	cr_assert_eq(s->ops->callback_seen(s, "bank_us", "cb_1", NOW_MS), CAT_OK, "per channel");
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_2", NOW_MS + 1000), CAT_OK);
	cr_assert_eq(s->ops->callback_seen(s, "", "cb_3", NOW_MS), CAT_PARAMETER_INVALID);
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "", NOW_MS), CAT_PARAMETER_INVALID);
	char longid[STORE_CALLBACK_ID_MAX + 2];
	memset(longid, 'x', sizeof longid);
	longid[STORE_CALLBACK_ID_MAX] = '\0';
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", longid, NOW_MS), CAT_OK, "at the limit");
	longid[STORE_CALLBACK_ID_MAX] = 'x';
	longid[STORE_CALLBACK_ID_MAX + 1] = '\0';
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", longid, NOW_MS), CAT_PARAMETER_INVALID);
	stk_commit(s);
	store_close(s);

	s = stk_open(&tdb, STORE_CREATE, 0); /* durable across a restart */
	stk_begin(s);
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_1", NOW_MS + 9),
		     CAT_IDEMPOTENCY_KEY_REUSED);
	long removed = -1;
	cr_assert_eq(s->ops->callback_expire(s, NOW_MS + 1, &removed), CAT_OK);
	cr_assert_eq(removed, 3, "cb_1 twice and the long one; not cb_2");
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_1", NOW_MS + 10), CAT_OK,
		     "forgotten once expired");
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_2", NOW_MS + 10),
		     CAT_IDEMPOTENCY_KEY_REUSED);
	stk_commit(s);
	store_close(s);
}

/* ---- refusals -------------------------------------------------------------- */

Test(store_payouts, refusals_leave_the_batch_intact)
{
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct payout p = full_payout(s, M1, 1);
	struct recipient r = make_recipient(s, M1, 1, IBAN);
	struct alert a = make_alert(M1, 1, p.id);
	cr_assert_eq(s->ops->payout_insert(s, &p), CAT_INTERNAL, "outside a transaction");
	cr_assert_eq(s->ops->callback_seen(s, "bank_eu", "cb_1", NOW_MS), CAT_INTERNAL);
	stk_begin(s);
	insert_payout(s, &p);

	struct payout bad = p;
	stk_mkid(bad.id, "po", 2);
	bad.account.sealed_len = 10;
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_PARAMETER_INVALID, "too short to be sealed");
	bad.account.sealed_len = PAYOUT_SEALED_MAX + 1;
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_PARAMETER_INVALID);
	bad = p;
	stk_mkid(bad.id, "po", 2);
	bad.account.last4[0] = '\0';
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_PARAMETER_INVALID, "no last4");
	bad = p;
	stk_mkid(bad.id, "po", 2);
	bad.status = (enum payout_status)5;
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_PARAMETER_INVALID);
	bad.status = PO_PENDING;
	snprintf(bad.currency, sizeof bad.currency, "eur");
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_PARAMETER_INVALID);
	snprintf(bad.currency, sizeof bad.currency, "EUR");
	memset(bad.trace_id, 'x', sizeof bad.trace_id);
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_PARAMETER_INVALID, "unterminated");
	bad = p;
	stk_mkid(bad.id, "po", 2);
	bad.amount = 0;
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_INTERNAL, "the schema's amount > 0");
	bad = p;
	stk_mkid(bad.id, "po", 2);
	snprintf(bad.merchant_id, sizeof bad.merchant_id, "acct_nobody");
	cr_assert_eq(s->ops->payout_insert(s, &bad), CAT_NO_SUCH_OBJECT);
	struct recipient rbad = r;
	snprintf(rbad.account.country, sizeof rbad.account.country, "de");
	cr_assert_eq(s->ops->recipient_insert(s, &rbad), CAT_PARAMETER_INVALID);
	struct alert abad = a;
	abad.kind[0] = '\0';
	cr_assert_eq(s->ops->alert_insert(s, &abad), CAT_PARAMETER_INVALID);
	abad = a;
	abad.level = 0;
	cr_assert_eq(s->ops->alert_insert(s, &abad), CAT_INTERNAL, "the schema's level >= 1");

	cr_assert_eq(s->ops->recipient_insert(s, &r), CAT_OK);
	cr_assert_eq(s->ops->alert_insert(s, &a), CAT_OK);
	stk_commit(s);
	struct payout got = {0};
	cr_assert_eq(s->ops->payout_get(s, M1, p.id, &got), CAT_OK);
	payout_clear(&got);
	stk_mkid(bad.id, "po", 2);
	cr_assert_eq(s->ops->payout_get(s, M1, bad.id, &got), CAT_NO_SUCH_OBJECT);
	store_close(s);
}

/* ---- migration ------------------------------------------------------------- */

Test(store_payouts, upgrade_from_version_7)
{
	struct store *s = stk_open(&tdb, STORE_CREATE, 7);
	int v = 0;
	cr_assert_eq(s->ops->schema_version(s, &v), CAT_OK);
	cr_assert_eq(v, 7);
	char id[ID_MAX];
	stk_begin(s);
	cr_assert_eq(s->ops->merchant_ensure(s, "one", M1, NOW_MS, id), CAT_OK);
	stk_commit(s);
	store_close(s);

	s = stk_open(&tdb, STORE_CREATE, 0);
	cr_assert_eq(s->ops->schema_version(s, &v), CAT_OK);
	cr_assert_eq(v, store_migration_count);
	cr_assert_geq(v, 8);
	struct payout p = full_payout(s, M1, 1);
	stk_begin(s);
	insert_payout(s, &p);
	stk_commit(s);
	struct payout got = {0};
	cr_assert_eq(s->ops->payout_get(s, M1, p.id, &got), CAT_OK);
	expect_payout_eq(&got, &p);
	payout_clear(&got);
	store_close(s);
}

/* ---- no number in clear ---------------------------------------------------- */

/* Does the file at path (if any) hold `needle`? */
static bool file_holds(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long len = ftell(f);
	rewind(f);
	char *bytes = malloc(len > 0 ? (size_t)len : 1);
	cr_assert_not_null(bytes);
	cr_assert_eq(fread(bytes, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	bool found = memmem(bytes, (size_t)len, needle, strlen(needle)) != NULL;
	free(bytes);
	return found;
}

static void expect_no_number(const char *number, const char *tail)
{
	static const char *const suffixes[] = {"", "-wal"};
	for (size_t i = 0; i < 2; i++) {
		char path[160];
		snprintf(path, sizeof path, "%s%s", tdb.db, suffixes[i]);
		cr_assert_not(file_holds(path, number), "the number is in %s", path);
		cr_assert_not(file_holds(path, tail), "the number's digits are in %s", path);
	}
}

Test(store_payouts, no_account_number_in_the_database)
{
	static const char number[] = "GB29NWBK60161331926819";
	static const char tail[] = "60161331926819"; /* past the bank's code */
	struct store *s = stk_open_shops(&tdb, NOW_MS);
	struct recipient r = make_recipient(s, M1, 1, "GB29 NWBK 6016 1331 9268 19");
	struct payout p = full_payout(s, M1, 2);
	p.account = make_account(s, p.id, number);
	stk_begin(s);
	cr_assert_eq(s->ops->recipient_insert(s, &r), CAT_OK);
	insert_payout(s, &p);
	stk_commit(s);
	char marker[PAYOUT_NUMBER_MAX];
	open_number(s, &r.account, r.id, marker);
	cr_assert_str_eq(marker, number, "sealed as the engine would");
	cr_assert_str_eq(r.account.last4, "6819");
	expect_no_number(number, tail); /* while the WAL holds the writes */
	store_close(s);
	expect_no_number(number, tail); /* after the checkpoint at close */
	/* The grep reads the right bytes: the holder's name is there in clear. */
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", tdb.db);
	cr_assert(file_holds(tdb.db, "Erika Mustermann") || file_holds(wal, "Erika Mustermann"));
}
