/* engine/internal: what the engine's files share (engine.c: queue, thread
 * and batches; payments.c and refunds.c: the commands; resolver.c:
 * attempts of unknown outcome; books.c: ledger accounts and transfers;
 * idem.c: Idempotency-Key handling).  Only the engine thread touches
 * anything here but the queue and the syncer's counters (under `lock`). */
#ifndef PAYD_ENGINE_INTERNAL_H
#define PAYD_ENGINE_INTERNAL_H

#include <pthread.h>

#include "engine/engine.h"

#define ENGINE_RESOLVE_MAX_BACKOFF_MS 60000
/* A channel's "never received it" is believed only this long after the
 * call's timeout (a network call may still be on its way). */
#define ENGINE_NOT_FOUND_GRACE_MS 5000
#define ENGINE_OPERATION_RESENDS_WARN 5 /* a capture/void/refund sent this often: logged */
#define ENGINE_REFUND_RESENDS_MAX 8     /* a refund never found after this many: failed */
#define ENGINE_PAYOUT_TICK_MS 1000      /* payouts due are looked at this often */
#define ENGINE_LIVE_BUCKETS 4096
#define ENGINE_EXPIRY_EVERY_MS 60000 /* how often expired keys are deleted */

/* What executing a command led to. */
enum exec_result {
	EXEC_REPLY, /* cmd->http_status/body are set: answer after the commit */
	EXEC_CALL,  /* a channel call was recorded: send it after the commit */
	EXEC_NONE,  /* nothing to answer (an internal command) */
};

/* A key whose command is still running (waiting on a channel). */
struct live_key {
	struct live_key *next;
	char merchant_id[ID_MAX];
	char key[STORE_IDEM_KEY_MAX + 1];
};

/* An attempt (or a refund) of unknown outcome, waiting for its next query. */
struct unknown_attempt {
	char attempt_id[ID_MAX]; /* or the refund's id */
	char merchant_id[ID_MAX]; /* a refund's merchant */
	bool refund;
	int64_t next_ms;
	int checks;
};

/* books.c: ledger account ids by code, so a payment does not look its
 * two accounts up every time.  Emptied whenever a write is undone (an
 * account created by undone work must not be remembered). */
#define BOOKS_CACHE_SLOTS 1024
struct books_slot {
	char code[STORE_CODE_MAX + 1];
	int64_t id;
};

/* What a health probe's answer needs (one per channel, owned by the
 * engine, so that an abandoned probe leaks nothing). */
struct probe_ctx {
	struct route *route;
	const struct payd_clock *clock;
	char channel[PAYMENT_CHANNEL_MAX];
};

/* A committed batch whose answers and channel calls wait until the disk
 * has it (the syncer thread's fdatasync). */
struct pending_batch {
	struct pending_batch *next;
	uint64_t seq;
	int n, call_count;
	struct engine_cmd **cmds;
	enum exec_result *res;
	struct engine_cmd **calls;
};

struct engine {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct engine_cmd *head, *tail; /* submitted, guarded by lock */
	size_t queued;
	bool stopping;
	/* Group commit with the fsync off the engine's thread: batches are
	 * numbered as they commit; the syncer makes them durable in order. */
	pthread_t syncer;
	pthread_cond_t sync_wake;
	uint64_t sync_requested; /* the newest batch committed */
	uint64_t synced;         /* every batch up to this one is durable */
	uint64_t visible;        /* the newest batch readers may see (committing or committed) */
	pthread_cond_t durable;  /* broadcast when `synced` moves */
	bool syncer_stop;

	/* Results of network calls, pushed by the dispatcher's thread. */
	struct engine_cmd *inbox_head, *inbox_tail;

	/* Engine thread only. */
	struct route *route;
	struct channel_dispatch *dispatch; /* NULL when no channel is a network one */
	long calls_out;                    /* network calls sent, result not yet taken */
	struct probe_ctx probes[ROUTE_CHANNELS_MAX];
	struct engine_cmd *results_head, *results_tail; /* channel results for the next batch */
	struct pending_batch *waiting_head, *waiting_tail; /* committed, not yet durable */
	uint64_t committed;      /* batches committed so far */
	struct engine_cmd *calls[ENGINE_BATCH_MAX * 2];  /* calls to send after this commit */
	int call_count;
	struct store *store;
	const struct payd_clock *clock;
	struct id_gen ids;
	int64_t idem_ttl_ms;
	int64_t resolve_first_ms;
	int64_t now_ms; /* the batch's time */
	int64_t next_expiry_ms; /* when forgotten Idempotency-Keys are next deleted */
	struct live_key *live[ENGINE_LIVE_BUCKETS];
	struct unknown_attempt *unknown;
	size_t unknown_count, unknown_cap;
	bool in_run; /* a batch is running: what is tracked waits for its commit */
	struct unknown_attempt *deferred;
	size_t deferred_count, deferred_cap;
	bool winding_down; /* stopping: no new outbound operation is started */
	/* Payouts. */
	uint8_t account_seal_key[32], account_fp_key[32];
	int64_t payout_poll_first_ms, payout_poll_max_ms, payout_grace_ms, payout_escalate_ms;
	int64_t payout_return_window_ms;
	int64_t next_tick_ms;
	int64_t next_callback_expiry_ms;
	/* Webhooks and payer e-mails. */
	uint8_t webhook_seal_key[32];
	struct webhook_policy webhook_policy;
	bool notify_payers;
	struct engine_stats stats;
	struct books_slot *books_cache; /* BOOKS_CACHE_SLOTS */
};

/* engine.c */
void engine_reply_json(struct engine_cmd *cmd, int status, json_t *body);
/* Answers with JSON text (heap, taken). */
void engine_reply_text(struct engine_cmd *cmd, int status, char *text);
void engine_reply_error(struct engine_cmd *cmd, int code, const char *param, const char *message);
/* Records a channel call to send after the commit; `origin` is answered
 * when its result is applied (NULL for the resolver's own calls).  The
 * result command carries merchant_id and object_id (the intent of a
 * payment call, the refund of a refund call) as merchant_id/target_id. */
struct engine_cmd *engine_queue_call(struct engine *e, struct engine_cmd *origin,
				     const char *channel, const char *merchant_id,
				     const char *object_id, const struct channel_request *req);
/* Calls an in-process channel (ops->call) now, within the command, and
 * returns its result command (origin as given; the caller applies and
 * frees it). */
struct engine_cmd *engine_call_inline(struct engine *e, struct engine_cmd *origin,
				      const char *channel, const char *merchant_id,
				      const char *object_id, const struct channel_request *req);
/* Queues a command of the engine's own (kind, merchant, target) for the
 * next batch. */
void engine_queue_internal(struct engine *e, enum engine_cmd_kind kind, const char *merchant_id,
			   const char *target_id);
/* Sends a call right away (no record needs committing first: queries)
 * and queues its result for the next batch. */
void engine_call_now(struct engine *e, const char *channel, const char *merchant_id,
		     const char *object_id, const struct channel_request *req, int checks);
int engine_append_event(struct engine *e, const char *merchant_id, const char *type,
			const char *object_id, const char *data_json);
/* Whether a query's "not found" about a call to `channel` sent at sent_ms
 * is final: at once for an in-process channel, else once the call's
 * timeout and ENGINE_NOT_FOUND_GRACE_MS have passed. */
bool engine_not_found_final(struct engine *e, const char *channel, int64_t sent_ms);

/* Command executors: return 0 with *out set, or a catalog code (with
 * cmd->err filled as wanted), in which case the engine undoes the
 * command's writes and answers with the error. */

/* payments.c */
int payments_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out);
int payments_apply_result(struct engine *e, struct engine_cmd *res, enum exec_result *out);
/* Loads an intent with its attempts (attempts[] has PAYMENT_ATTEMPTS_MAX+1 room). */
int payments_load(struct engine *e, const char *merchant_id, const char *id,
		  struct payment_intent *pi, struct payment_attempt *attempts, int *n);

/* refunds.c */
int refunds_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out);
int refunds_apply_result(struct engine *e, struct engine_cmd *res, enum exec_result *out);

/* payouts.c: recipients, payouts, rail callbacks and the payout tick. */
int payouts_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out);
int payouts_apply_result(struct engine *e, struct engine_cmd *res, enum exec_result *out);

/* alerts.c: an alert of `kind` about object_id opened (or taken to
 * `level` when one is open), and resolved (nothing when none is open). */
int alerts_raise(struct engine *e, const char *merchant_id, const char *kind,
		 const char *object_id, int level, const char *message);
int alerts_resolve(struct engine *e, const char *object_id, const char *kind, const char *message);

/* webhooks.c: endpoints, redelivery, the notifier's reports, and the
 * payer e-mails an event calls for. */
int webhooks_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out);
int webhooks_event_appended(struct engine *e, const char *merchant_id, const char *event_id,
			    const char *type);
/* Deletes finished deliveries older than the retention (a bounded number). */
int webhooks_expire(struct engine *e);

/* resolver.c */
/* Schedules a query of the attempt; returns when it will be (ms). */
int64_t resolver_track(struct engine *e, const char *attempt_id, int checks);
/* The same for a refund whose outcome is unknown. */
int64_t resolver_track_refund(struct engine *e, const char *merchant_id, const char *refund_id,
			      int checks);
/* The batch's run ended: what it tracked joins the list if it committed,
 * and is forgotten if it was undone. */
void resolver_run_done(struct engine *e, bool committed);
/* Queues queries for the attempts whose time has come; returns the ms
 * until the next one is due (or -1 when none waits). */
int64_t resolver_due(struct engine *e);
/* Queues a query of everything an earlier run left in flight. */
int resolver_recover(struct engine *e);

/* books.c: the ledger side of payments. */
int books_account(struct engine *e, const char *kind, const char *owner, const char *currency,
		  int64_t *id_out);
int books_transfer(struct engine *e, bool pending, const char *from_kind, const char *from_owner,
		   const char *to_kind, const char *to_owner, const char *currency, int64_t amount,
		   char transfer_id_out[ID_MAX]);
int books_settle(struct engine *e, const char *hold_id, int64_t amount);
int books_release(struct engine *e, const char *hold_id);
void books_cache_clear(struct engine *e);

/* idem.c */
/* Before executing cmd: EXEC_REPLY when the key answers by itself
 * (replay, reuse, in use), EXEC_NONE to go on. */
enum exec_result idem_check(struct engine *e, struct engine_cmd *cmd);
/* Saves the answer (or the in-flight mark) of cmd.  An answer not worth
 * keeping (5xx, 409, 429) is kept all the same when it ends a request
 * whose key was marked in flight (`ends_flight`). */
int idem_save(struct engine *e, struct engine_cmd *cmd, bool in_flight, bool ends_flight,
	      const char *object_id);
void idem_live_add(struct engine *e, const struct engine_cmd *cmd);
void idem_live_remove(struct engine *e, const struct engine_cmd *cmd);

#endif
