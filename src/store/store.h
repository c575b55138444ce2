/* store/store: the storage interface.  Every backend (SQLite now,
 * PostgreSQL later, a fault-injecting wrapper in tests) is a const struct
 * store_ops; a `struct store *` handle starts with a pointer to its ops, so
 * callers use the store_* inline wrappers and never see the backend.
 *
 * Every write must happen inside begin/commit (a write outside one is
 * refused with CAT_INTERNAL); each write operation is atomic on its own
 * (a savepoint), so a refused one leaves the rest of the caller's batch
 * intact and committable.  Ledger operations check the transfer
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

#define STORE_NAME_MAX 128   /* merchant names */
#define STORE_CODE_MAX 160   /* ledger account codes */

enum store_open_flags {
	STORE_READONLY = 1u << 0, /* a reader's connection: no writes, no migration */
	STORE_CREATE = 1u << 1,   /* create the file if missing */
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
	int (*commit)(struct store *s);
	void (*rollback)(struct store *s);

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
