/* store/store: the storage interface.  Every backend (SQLite now,
 * PostgreSQL later, a fault-injecting wrapper in tests) is a const struct
 * store_ops; a `struct store *` handle starts with a pointer to its ops, so
 * callers use the store_* inline wrappers and never see the backend.
 *
 * Every write must happen inside begin/commit (a write outside one is
 * refused with CAT_INTERNAL); each write operation is atomic on its own,
 * and checks what it can before it writes, so a refused one usually
 * leaves the caller's transaction intact and committable (`changes` tells
 * the caller when it did not).  Ledger operations check the transfer
 * with core/ledger and update the account balances, the transfer and its
 * entries together, so a committed balance always equals the sum of its
 * entries.  Every function returns 0 or a catalog code. */
#ifndef PAYD_STORE_STORE_H
#define PAYD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/id.h"
#include "core/ledger.h"
#include "core/payment.h"
#include "core/payout.h"
#include "core/webhook.h"

#define STORE_NAME_MAX 128   /* merchant names */
#define STORE_CODE_MAX 160   /* ledger account codes */

enum store_open_flags {
	STORE_READONLY = 1u << 0, /* a reader's connection: no writes, no migration */
	STORE_CREATE = 1u << 1,   /* create the file if missing */
	/* commit writes the transaction out but does not wait for the disk;
	 * `sync` (callable from another thread) makes every commit before it
	 * durable.  For a writer that acknowledges only after sync (group
	 * commit with the fsync off its thread). */
	STORE_DEFERRED_SYNC = 1u << 2,
};

struct store_open_opts {
	unsigned flags;
	/* Apply migrations only up to this version (0 = all).  For tests that
	 * need a database "from an older payd". */
	int migrate_to;
};

enum transfer_state {
	TRANSFER_POSTED = 0,  /* money moved */
	TRANSFER_PENDING = 1, /* held, waiting for post or void */
	TRANSFER_SETTLED = 2, /* a pending transfer later posted */
	TRANSFER_VOIDED = 3,  /* a pending transfer released */
};

struct store_transfer {
	char id[ID_MAX];
	enum transfer_state state;
	char pending_id[ID_MAX]; /* for a transfer that settles a pending one, else "" */
	int64_t created_ms;
	struct ledger_transfer legs;
};

/* What a full audit of the ledger found. */
struct store_audit {
	long accounts;
	long transfers;
	long entries;
	long bad_balances;     /* accounts whose balance != sum of entries */
	long bad_pending;      /* accounts whose pending sums disagree with open holds */
	long unbalanced;       /* transfers whose entries do not sum to zero */
	long currency_nonzero; /* currencies whose balances do not sum to zero */
};

/* An event: every state change appends one in the same transaction. */
#define STORE_EVENT_TYPE_MAX 64
struct store_event {
	char id[ID_MAX]; /* evt_... */
	char merchant_id[ID_MAX];
	char type[STORE_EVENT_TYPE_MAX]; /* "payment_intent.succeeded" */
	char object_id[ID_MAX];
	char *data_json; /* heap: the object's JSON snapshot */
	int64_t created_ms;
};

/* A saved answer to a POST with an Idempotency-Key. */
enum idem_state { IDEM_IN_FLIGHT = 0, IDEM_DONE = 1 };
#define STORE_IDEM_KEY_MAX 255
#define STORE_IDEM_EXPIRE_MAX 10000 /* keys idem_expire deletes per call */
struct store_idem {
	char merchant_id[ID_MAX];
	char key[STORE_IDEM_KEY_MAX + 1];
	uint8_t fingerprint[32]; /* SHA-256 of method, path and parameters */
	enum idem_state state;
	int http_status;
	char *response_json; /* heap; NULL while in flight */
	char object_id[ID_MAX]; /* the object the request made or changed */
	int64_t created_ms;
};

/* Pagination of lists, newest first, by id (ids sort by creation).
 * starting_after: older than that id; ending_before: newer than it. */
struct store_page {
	int limit; /* 1..100 */
	const char *starting_after; /* NULL or an id */
	const char *ending_before;  /* NULL or an id */
	const char *filter;         /* list-specific filter (intent id, event type) or NULL */
};

/* Creation times, both ends included: a list's `created` filter (NULL =
 * any time).  Stripe's gt/lt become gte_ms = gt + 1, lte_ms = lt - 1; an
 * open end is INT64_MIN or INT64_MAX. */
struct store_range {
	int64_t gte_ms;
	int64_t lte_ms;
};

/* Channel callback ids remembered (callback_seen). */
#define STORE_CALLBACK_ID_MAX 128
#define STORE_CALLBACK_EXPIRE_MAX 10000 /* ids callback_expire deletes per call */
#define STORE_DELIVERY_EXPIRE_MAX 10000 /* deliveries delivery_expire deletes per call */

/* Called once per listed record, in list order.  The record (and its
 * heap fields) belongs to the store and lives only during the call. */
typedef void (*store_each_fn)(void *ctx, const void *record);

/* A ledger account with its code, for listing a merchant's balances. */
struct store_account {
	char code[STORE_CODE_MAX + 1];
	struct ledger_account account;
};

void store_event_clear(struct store_event *e);
void store_idem_clear(struct store_idem *r);

struct store;

struct store_ops {
	const char *name;
	/* Opens (and, unless read-only, migrates) the database at path.  On
	 * failure returns a code and writes a human message into err. */
	int (*open)(const char *path, const struct store_open_opts *opts, struct store **out,
		    char *err, size_t err_cap);
	void (*close)(struct store *s);
	int (*schema_version)(struct store *s, int *out);

	int (*begin)(struct store *s);
	/* Durable on return, unless the store was opened STORE_DEFERRED_SYNC. */
	int (*commit)(struct store *s);
	/* Makes every transaction committed so far durable.  Safe to call
	 * from one other thread while the store is in use; a no-op when
	 * commits are durable already. */
	int (*sync)(struct store *s);
	void (*rollback)(struct store *s);
	/* Rows written (inserted, updated, deleted) through this connection
	 * since it opened: a command that fails after writing is told apart
	 * from one that failed before. */
	uint64_t (*changes)(struct store *s);

	/* Merchants and their API keys (only a SHA-256 of a key is stored). */
	int (*merchant_ensure)(struct store *s, const char *name, const char *new_id,
			       int64_t now_ms, char id_out[ID_MAX]);
	int (*api_key_insert)(struct store *s, const char *key_id, const char *merchant_id,
			      const uint8_t hash[32], const char *last4, int64_t now_ms);
	/* CAT_API_KEY_INVALID when no live key has this hash. */
	int (*api_key_lookup)(struct store *s, const uint8_t hash[32], char merchant_id_out[ID_MAX]);

	/* Ledger accounts, identified by a unique code such as
	 * "merchant:acct_x:available:cny".  open returns the existing account
	 * when the code is known (and refuses a different currency/flags). */
	int (*account_open)(struct store *s, const char *code, const char *currency,
			    unsigned flags, int64_t now_ms, int64_t *id_out);
	int (*account_get)(struct store *s, int64_t id, struct ledger_account *out);
	int (*account_find)(struct store *s, const char *code, struct ledger_account *out);
	/* Every account whose code starts with code_prefix, by code;
	 * `each` gets a const struct store_account *. */
	int (*account_list)(struct store *s, const char *code_prefix, store_each_fn each, void *ctx);

	/* Transfers.  `id` is the new transfer's id (tr_...). */
	int (*transfer_post)(struct store *s, const char *id, const struct ledger_transfer *t,
			     int64_t now_ms);
	int (*transfer_pend)(struct store *s, const char *id, const struct ledger_transfer *t,
			     int64_t now_ms);
	/* Settles pending transfer pending_id, posting amount_minor (0 = all) as
	 * the new transfer `id`.  CAT_NO_SUCH_OBJECT / CAT_INVALID_STATE. */
	int (*transfer_post_pending)(struct store *s, const char *id, const char *pending_id,
				     int64_t amount_minor, int64_t now_ms);
	/* Releases the hold pending_id: it becomes VOIDED, and the void is
	 * recorded as transfer `id` (state VOIDED, no entries). */
	int (*transfer_void)(struct store *s, const char *id, const char *pending_id,
			     int64_t now_ms);
	int (*transfer_get)(struct store *s, const char *id, struct store_transfer *out);

	/* Recomputes every balance from the entries and compares. */
	int (*ledger_audit)(struct store *s, struct store_audit *out);

	/* A named 32-byte secret of this installation (e.g. the card
	 * fingerprint key), made from the CSPRNG on first use. */
	int (*secret_get)(struct store *s, const char *name, uint8_t out[32]);

	/* Payment intents.  get/list are scoped to a merchant: another
	 * merchant's object is CAT_NO_SUCH_OBJECT.  The heap fields of the
	 * records read are owned by the caller (payment_intent_clear). */
	int (*intent_insert)(struct store *s, const struct payment_intent *pi);
	int (*intent_update)(struct store *s, const struct payment_intent *pi);
	int (*intent_get)(struct store *s, const char *merchant_id, const char *id,
			  struct payment_intent *out);
	int (*intent_list)(struct store *s, const char *merchant_id, const struct store_page *page,
			   store_each_fn each, void *ctx, bool *has_more);
	/* Intents with a capture or a cancellation call in flight
	 * (capture_requested > 0 or cancel_requested), for recovery. */
	int (*intent_in_flight)(struct store *s, store_each_fn each, void *ctx);

	/* Attempts (charges) of an intent, oldest first. */
	int (*attempt_insert)(struct store *s, const struct payment_attempt *a);
	int (*attempt_update)(struct store *s, const struct payment_attempt *a);
	int (*attempt_get)(struct store *s, const char *id, struct payment_attempt *out);
	int (*attempt_list)(struct store *s, const char *intent_id, struct payment_attempt *out,
			    int cap, int *count);
	/* Attempts still in flight (PENDING, VERIFYING, UNKNOWN), for the
	 * resolver and for recovery at start-up; oldest first. */
	int (*attempt_unsettled)(struct store *s, store_each_fn each, void *ctx);

	/* Refunds.  refund_list's page.filter is an intent id or NULL. */
	int (*refund_insert)(struct store *s, const struct refund *r);
	int (*refund_update)(struct store *s, const struct refund *r);
	int (*refund_get)(struct store *s, const char *merchant_id, const char *id,
			  struct refund *out);
	int (*refund_list)(struct store *s, const char *merchant_id, const struct store_page *page,
			   store_each_fn each, void *ctx, bool *has_more);
	int (*refund_pending)(struct store *s, store_each_fn each, void *ctx);

	/* Events.  event_list's page.filter is an event type or NULL. */
	int (*event_insert)(struct store *s, const struct store_event *e);
	int (*event_get)(struct store *s, const char *merchant_id, const char *id,
			 struct store_event *out);
	int (*event_list)(struct store *s, const char *merchant_id, const struct store_page *page,
			  store_each_fn each, void *ctx, bool *has_more);

	/* Idempotency keys.  get: CAT_NO_SUCH_OBJECT when the key is new.
	 * put inserts or replaces.  expire deletes keys created before
	 * before_ms, oldest first and at most STORE_IDEM_EXPIRE_MAX per call
	 * (one transaction stays short), and returns how many went: call it
	 * again while that is the maximum. */
	int (*idem_get)(struct store *s, const char *merchant_id, const char *key,
			struct store_idem *out);
	int (*idem_put)(struct store *s, const struct store_idem *r);
	int (*idem_expire)(struct store *s, int64_t before_ms, long *removed);

	/* ---- payouts (store_sqlite_payouts.c, schema 0008) ----
	 * As for payments: writes need the caller's transaction; a malformed
	 * record (bad id, enum out of range, unterminated text, a bank account
	 * without last4 or with a sealed number of impossible length) is
	 * CAT_PARAMETER_INVALID before any SQL; a missing merchant or payout
	 * referred to is CAT_NO_SUCH_OBJECT; get and list are scoped to a
	 * merchant; the caller owns the heap fields read (payout_clear,
	 * recipient_clear).  Account numbers are only ever stored sealed. */
	/* recipient_list has no filter (page.filter is ignored). */
	int (*recipient_insert)(struct store *s, const struct recipient *r);
	int (*recipient_get)(struct store *s, const char *merchant_id, const char *id,
			     struct recipient *out);
	int (*recipient_list)(struct store *s, const char *merchant_id,
			      const struct store_page *page, store_each_fn each, void *ctx,
			      bool *has_more);

	/* update writes the status, description, metadata and every field of
	 * the rail and of tracking (rail .. overdue_level, updated_ms); what a
	 * payout was created with (id, merchant, amount, currency, method,
	 * recipient_id, the destination account, created_ms) never changes.  list: page.filter is a status name
	 * ("in_transit"; an unknown one is CAT_PARAMETER_INVALID) or NULL;
	 * created (NULL = any) limits creation times. */
	int (*payout_insert)(struct store *s, const struct payout *p);
	int (*payout_update)(struct store *s, const struct payout *p);
	int (*payout_get)(struct store *s, const char *merchant_id, const char *id,
			  struct payout *out);
	int (*payout_list)(struct store *s, const char *merchant_id, const struct store_page *page,
			   const struct store_range *created, store_each_fn each, void *ctx,
			   bool *has_more);
	/* The payout whose current attempt at the rail is `rail_reference`
	 * (what a rail's callback names), any merchant's: CAT_NO_SUCH_OBJECT
	 * when none (an older attempt's reference is not kept). */
	int (*payout_find_reference)(struct store *s, const char *rail_reference,
				     struct payout *out);
	/* Every payout not final (pending, in_transit), oldest first: for
	 * recovery at start-up. */
	int (*payout_open_each)(struct store *s, store_each_fn each, void *ctx);
	/* The scheduler's work list: every payout pending, in transit or paid
	 * (a paid one while a return may still come) whose next_poll_ms
	 * is set (> 0) and <= before_ms, earliest next_poll_ms first (then by
	 * id).  next_poll_ms is the one time the engine must look at a payout
	 * again, whatever for (query the rail, or escalate once
	 * expected_arrival_ms has passed): the engine keeps it at the earlier
	 * of the two.  A payout an `each` moves to a later next_poll_ms that is
	 * still <= before_ms may be delivered again in the same walk.  Only the
	 * first `max` are read (0: all). */
	int (*payout_due_each)(struct store *s, int64_t before_ms, int max, store_each_fn each,
			       void *ctx);

	/* A payout's timeline.  insert: seq must be new for the payout (a
	 * repeated seq is CAT_INTERNAL); list: oldest (seq 1) first; `each`
	 * gets a const struct payout_event *; none for an unknown payout. */
	int (*payout_event_insert)(struct store *s, const struct payout_event *e);
	int (*payout_event_list)(struct store *s, const char *payout_id, store_each_fn each,
				 void *ctx);

	/* Alerts.  At most one alert of a kind is open for an object:
	 * inserting a second is CAT_INVALID_STATE (escalate the open one with
	 * update instead).  update writes level, status, message, updated_ms
	 * and resolved_ms.  list: page.filter "open", "resolved" or NULL.
	 * open_for: the open alert of `kind` for object_id, any merchant's,
	 * or CAT_NO_SUCH_OBJECT. */
	int (*alert_insert)(struct store *s, const struct alert *a);
	int (*alert_update)(struct store *s, const struct alert *a);
	int (*alert_get)(struct store *s, const char *merchant_id, const char *id,
			 struct alert *out);
	int (*alert_list)(struct store *s, const char *merchant_id, const struct store_page *page,
			  store_each_fn each, void *ctx, bool *has_more);
	int (*alert_open_for)(struct store *s, const char *object_id, const char *kind,
			      struct alert *out);

	/* Channel callbacks seen.  seen records (channel, id) and returns 0
	 * the first time, CAT_IDEMPOTENCY_KEY_REUSED (nothing written) every
	 * time after: call it in the transaction that applies the callback, so
	 * the two commit together.  expire deletes ids seen before before_ms,
	 * at most STORE_CALLBACK_EXPIRE_MAX per call, and says how many. */
	int (*callback_seen)(struct store *s, const char *channel, const char *id, int64_t now_ms);
	int (*callback_expire)(struct store *s, int64_t before_ms, long *removed);

	/* Webhook endpoints (schema 0010).  insert/update also set which event
	 * types fan out to the endpoint (its enabled_events while it is enabled
	 * and not deleted, none otherwise).  get: merchant_id NULL finds any
	 * merchant's; a deleted endpoint is found (w->deleted), never listed.
	 * count: a merchant's endpoints not deleted. */
	int (*webhook_insert)(struct store *s, const struct webhook_endpoint *w);
	int (*webhook_update)(struct store *s, const struct webhook_endpoint *w);
	/* Writes only failures, failing_since_ms and last_success_ms. */
	int (*webhook_health_update)(struct store *s, const struct webhook_endpoint *w);
	int (*webhook_get)(struct store *s, const char *merchant_id, const char *id,
			   struct webhook_endpoint *out);
	int (*webhook_list)(struct store *s, const char *merchant_id, const struct store_page *page,
			    store_each_fn each, void *ctx, bool *has_more);
	int (*webhook_count)(struct store *s, const char *merchant_id, long *out);

	/* The outbox.  Events fan out to deliveries by themselves (a trigger);
	 * insert adds one more (a redelivery, a payer e-mail) and sets d->id.
	 * update writes state, attempts, next_ms, done_ms, last_status and
	 * last_error.  due: the pending deliveries with next_ms <= before_ms,
	 * earliest first, at most `limit` (read whole before `each` runs),
	 * e-mails and webhooks to enabled endpoints only (a disabled one's
	 * wait until it is enabled again),
	 * leaving out the ids in busy_json and the endpoint ids in full_json
	 * (JSON arrays; NULL: none) — the sender's transfers under way and its
	 * endpoints at their limit, so a slow endpoint never hides the rest.
	 * of_event: an event's deliveries, oldest first.  attempt_list: a
	 * delivery's attempts, first first. */
	int (*delivery_insert)(struct store *s, struct delivery *d);
	int (*delivery_update)(struct store *s, const struct delivery *d);
	int (*delivery_get)(struct store *s, int64_t id, struct delivery *out);
	int (*delivery_due)(struct store *s, int64_t before_ms, int limit, const char *busy_json,
			    const char *full_json, store_each_fn each, void *ctx);
	int (*delivery_of_event)(struct store *s, const char *event_id, store_each_fn each,
				 void *ctx);
	/* Every pending delivery to the endpoint: skipped now, with why. */
	int (*delivery_skip_endpoint)(struct store *s, const char *endpoint_id, int64_t now_ms,
				      const char *why);
	/* Deletes finished deliveries (not pending) done before before_ms, with
	 * their attempts, at most STORE_DELIVERY_EXPIRE_MAX per call. */
	int (*delivery_expire)(struct store *s, int64_t before_ms, long *removed);
	int (*delivery_attempt_insert)(struct store *s, const struct delivery_attempt *a);
	int (*delivery_attempt_list)(struct store *s, int64_t delivery_id, store_each_fn each,
				     void *ctx);
};

struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;

static inline void store_close(struct store *s) { s->ops->close(s); }
static inline int store_begin(struct store *s) { return s->ops->begin(s); }
static inline int store_commit(struct store *s) { return s->ops->commit(s); }
static inline void store_rollback(struct store *s) { s->ops->rollback(s); }

/* Opens a SQLite store: the common case, a shorthand for
 * store_sqlite_ops.open. */
int store_open_sqlite(const char *path, const struct store_open_opts *opts, struct store **out,
		      char *err, size_t err_cap);

#endif
