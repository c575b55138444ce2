/* engine/engine: the single writer.  HTTP threads turn requests into
 * commands and submit them; one engine thread takes them from a bounded
 * queue in batches, runs a whole batch in one transaction (a command that
 * fails after writing makes the batch run again without it, so one refused
 * command does not spoil the others), commits once — one fsync for the
 * batch, on a thread of its own: group commit — and only once that fsync
 * has returned answers.  Channel calls go out after the commit that
 * recorded them is durable (promise 5); their results come back as
 * commands of their own.
 *
 * A reply is a finished HTTP answer (status and JSON body), rendered in
 * the engine because a POST with an Idempotency-Key must save exactly
 * that answer in the same transaction as the change it reports. */
#ifndef PAYD_ENGINE_ENGINE_H
#define PAYD_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/params.h"
#include "base/clock.h"
#include "base/id.h"
#include "channel/channel.h"
#include "core/payment.h"
#include "core/webhook.h"
#include "route/route.h"
#include "store/store.h"

#define ENGINE_QUEUE_MAX 65536   /* commands waiting: past it, CAT_OVERLOADED */
#define ENGINE_BATCH_MAX 1024    /* commands in one transaction */
#define ENGINE_LANG_MAX 64

enum engine_cmd_kind {
	CMD_PI_CREATE,
	CMD_PI_UPDATE,
	CMD_PI_CONFIRM,
	CMD_PI_CAPTURE,
	CMD_PI_CANCEL,
	CMD_REFUND_CREATE,
	CMD_RECIPIENT_CREATE,
	CMD_PAYOUT_CREATE,
	CMD_PAYOUT_CANCEL,
	CMD_CHANNEL_CALLBACK, /* a rail's verified callback */
	CMD_CHANNEL_RESULT, /* internal: a channel call came back */
	CMD_PAYOUT_TICK,    /* internal: payouts due for polling or deadline checks */
	CMD_WEBHOOK_CREATE,
	CMD_WEBHOOK_UPDATE, /* target_id: the endpoint */
	CMD_WEBHOOK_DELETE,
	CMD_WEBHOOK_ROLL,   /* a new signing secret; the old one signs during the overlap */
	CMD_EVENT_REDELIVER, /* target_id: the event */
	CMD_DELIVERY_REPORT, /* the notifier: how an attempt of a delivery went */
};

/* Which optional fields of pi_args the request carried. */
enum pi_fields {
	PI_F_AMOUNT = 1u << 0,
	PI_F_CURRENCY = 1u << 1,
	PI_F_METHOD = 1u << 2,
	PI_F_DESCRIPTION = 1u << 3,
	PI_F_CUSTOMER = 1u << 4,
	PI_F_METADATA = 1u << 5,
	PI_F_CAPTURE_METHOD = 1u << 6,
	PI_F_AMOUNT_TO_CAPTURE = 1u << 7,
	PI_F_VERIFICATION = 1u << 8,
	PI_F_RECEIPT_EMAIL = 1u << 9,
	PI_F_PAYER_LANGUAGE = 1u << 10,
};

/* Arguments of the payment-intent commands, checked by the API layer. */
struct pi_args {
	unsigned fields;
	int64_t amount;
	char currency[4];
	bool confirm;
	enum capture_method capture_method;
	struct payment_method method;
	char *description; /* heap */
	char customer[PAYMENT_CUSTOMER_MAX + 1];
	json_t *metadata;  /* owned; "" values delete keys */
	int64_t amount_to_capture;
	char verification_code[16];
	char cancellation_reason[PAYMENT_REASON_MAX];
	char receipt_email[PAYMENT_EMAIL_MAX + 1]; /* "" with the flag: remove it */
	char payer_language[PAYMENT_LANGUAGE_MAX];
};

struct refund_args {
	char intent_id[ID_MAX];
	int64_t amount; /* 0: all that remains */
	char reason[PAYMENT_REASON_MAX];
	json_t *metadata; /* owned */
};

/* A bank account given in a request: the number in clear lives only in
 * the command (wiped when it is released). */
struct bank_dest {
	char holder_name[PAYOUT_HOLDER_MAX];
	char number[PAYOUT_NUMBER_MAX];
	char bank_code[PAYOUT_BANK_CODE_MAX];
	char country[3];
};

struct recipient_args {
	char name[PAYOUT_HOLDER_MAX];
	char email[PAYMENT_EMAIL_MAX + 1];              /* "" when none */
	char preferred_language[PAYMENT_LANGUAGE_MAX]; /* "" when none */
	char currency[4];
	struct bank_dest account;
	json_t *metadata; /* owned */
};

struct payout_args {
	int64_t amount;
	char currency[4];
	enum payout_method method;
	char recipient_id[ID_MAX]; /* a saved recipient, or "" with `account` inline */
	struct bank_dest account;
	char *description; /* heap */
	json_t *metadata;  /* owned */
};

/* Which fields of webhook_args a create/update carried. */
enum webhook_fields {
	WH_F_URL = 1u << 0,
	WH_F_DESCRIPTION = 1u << 1,
	WH_F_EVENTS = 1u << 2,
	WH_F_METADATA = 1u << 3,
	WH_F_DISABLED = 1u << 4,
};

struct webhook_args {
	unsigned fields;
	char *url;               /* heap, checked (notify/guard) */
	char *description;       /* heap; "" removes it */
	json_t *enabled_events;  /* owned: an array of known types or "*" */
	json_t *metadata;        /* owned */
	bool disabled;
	int64_t overlap_ms;      /* roll: how long the old secret still signs */
	char endpoint_id[ID_MAX]; /* redeliver: only to this endpoint ("" = every one that wants it) */
};

/* What the notifier did with a delivery. */
enum delivery_outcome {
	DELIVERY_TRIED,    /* an attempt was made: status/error say how it went */
	DELIVERY_NO_ONE,   /* nothing to send to (an e-mail with no address, an endpoint gone) */
};

struct delivery_report {
	int64_t delivery_id;
	enum delivery_outcome outcome;
	int64_t started_ms;
	int status;            /* HTTP or SMTP status; 0 when no answer came */
	bool permanent;        /* a refusal retrying cannot change (SMTP 5xx) */
	int64_t latency_ms;
	char error[WEBHOOK_ERROR_MAX];
};

struct engine_cmd;
typedef void (*engine_reply_fn)(struct engine_cmd *cmd);

struct engine_cmd {
	enum engine_cmd_kind kind;
	struct engine_cmd *next; /* queue link */

	/* Who asks, and how to answer. */
	char merchant_id[ID_MAX];
	char target_id[ID_MAX]; /* the intent of update/confirm/capture/cancel */
	char lang[ENGINE_LANG_MAX];
	bool has_idem;
	char idem_key[STORE_IDEM_KEY_MAX + 1];
	uint8_t fingerprint[32];
	struct pi_args pi;
	struct refund_args refund;
	struct recipient_args recipient;
	struct payout_args payout;
	struct channel_callback callback; /* CMD_CHANNEL_CALLBACK: channel in `channel` */
	struct webhook_args webhook;
	struct delivery_report report;

	/* A refusal's details (param and message), for the error object. */
	struct params_error err;
	/* Set by the engine: the request carried an Idempotency-Key (has_idem
	 * is cleared for a replay), and the code a command failed with after
	 * writing (its batch is run again without it). */
	bool idem_asked;
	int failed_code;

	/* The answer, set before `reply` is called (from the engine thread). */
	int http_status;
	char *body; /* heap JSON, owned by the command */
	/* What an Idempotency-Key keeps instead of body when the answer holds
	 * a secret shown once (a webhook endpoint's): heap, owned, or NULL. */
	char *saved_body;
	bool replayed; /* the body is a saved answer to the same Idempotency-Key */
	engine_reply_fn reply;
	void *reply_ctx;

	/* Internal: a channel result and the command it continues, and the
	 * state the command left for it (so it need not be read back). */
	struct engine_cmd *origin;
	struct engine *engine;                /* whose inbox the result goes to */
	char channel[PAYMENT_CHANNEL_MAX];    /* the channel called */
	int checks;                           /* a query: how many were made before it */
	void *carry;
	void (*carry_free)(void *carry);
	struct channel_request ch_req;
	struct channel_result ch_res;
	struct channel_payout ch_payout; /* ch_req.payout points here (wiped on release) */
	int64_t ch_latency_ns;
};

struct engine;

struct engine_config {
	const char *db_path;
	const struct payd_clock *clock;
	uint64_t seed;          /* id generator seed; 0 = from the OS */
	struct route *route;    /* the channels and their routing (borrowed, outlives the engine) */
	int64_t idem_ttl_ms;    /* default 24 h */
	int64_t resolve_first_ms; /* first query of an unknown attempt (default 1000) */
	/* Payouts: the first poll of a payout with no news, the longest wait
	 * between polls, the grace after the expected arrival before a payout
	 * is overdue, and how often an overdue one is escalated again
	 * (defaults 5 s, 10 min, 1 h, 1 h). */
	int64_t payout_poll_first_ms, payout_poll_max_ms;
	int64_t payout_grace_ms, payout_escalate_ms;
	int64_t payout_return_window_ms; /* a paid payout is watched for a return (default 7 days; 0 = default) */
	/* Webhooks: the retry schedule and when a failing endpoint is
	 * disabled (zero fields: defaults); whether payers are e-mailed
	 * (events about them become e-mail deliveries). */
	struct webhook_policy webhook_policy;
	bool notify_payers;
};

/* Opens the database (migrating it), recovers what was in flight and
 * starts the writer thread. */
int engine_start(const struct engine_config *cfg, struct engine **out, char *err, size_t err_cap);
/* Queues cmd; its reply comes later from the engine thread.  Returns 0,
 * or CAT_OVERLOADED / CAT_SHUTTING_DOWN (then reply is never called). */
int engine_submit(struct engine *e, struct engine_cmd *cmd);
/* Stops taking commands (engine_submit answers CAT_SHUTTING_DOWN from
 * now on), commits and answers everything already taken, and joins the
 * thread.  The engine stays valid for engine_submit until engine_free. */
void engine_stop(struct engine *e);
/* Frees a stopped engine, once no thread can call engine_submit. */
void engine_free(struct engine *e);

/* Returns once every transaction committed so far is durable: a reader
 * calls it before answering what it read (it waits at most one fsync). */
void engine_wait_durable(struct engine *e);

/* Frees what a command owns (not the command itself). */
void engine_cmd_release(struct engine_cmd *cmd);

/* Batches and commands committed, logged when the engine stops (the
 * bench reads them there). */
struct engine_stats {
	uint64_t batches, commands, commits_failed;
};

#endif
