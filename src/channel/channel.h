/* channel/channel: the connector interface.  A channel is a const struct
 * channel_ops plus its state; the engine calls it only after the record of
 * the call is committed, with the record's id as the channel-side
 * idempotency reference, and feeds the result back as a command.
 *
 * Outcomes are deliberately three-valued where money may have moved:
 * CH_UNKNOWN (a timeout, a lost answer) is not a failure; the resolver
 * queries the channel (CH_OP_QUERY) until it answers for sure. */
#ifndef PAYD_CHANNEL_CHANNEL_H
#define PAYD_CHANNEL_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/payment.h"
#include "core/payout.h"

enum channel_op {
	CH_OP_AUTHORIZE,    /* take (capture=true) or hold the money */
	CH_OP_VERIFY,       /* send the payer's verification code */
	CH_OP_CAPTURE,      /* capture a held authorization */
	CH_OP_VOID,         /* release a held authorization */
	CH_OP_REFUND,       /* give money back */
	CH_OP_QUERY,        /* what became of payment `reference`? */
	CH_OP_QUERY_REFUND, /* what became of refund `reference`? */
	CH_OP_PAYOUT,       /* send money to a bank account (bank rails) */
	CH_OP_QUERY_PAYOUT, /* what became of payout `reference`? */
};

enum channel_outcome {
	CH_SUCCEEDED,       /* done: for AUTHORIZE with capture=false, authorized */
	CH_DECLINED,        /* final failure; `code` says why */
	CH_UNKNOWN,         /* no answer: may or may not have happened */
	CH_REQUIRES_ACTION, /* the payer must verify (AUTHORIZE) */
	CH_NOT_FOUND,       /* QUERY: the channel never executed it */
	CH_NOT_EXECUTED,    /* refused before executing (unavailable): safe to retry elsewhere */
};

/* A payout's destination as the rail needs it: the account number in
 * clear lives only in memory for the call (the dispatcher wipes its copy). */
struct channel_payout {
	char holder_name[PAYOUT_HOLDER_MAX];
	char number[PAYOUT_NUMBER_MAX];
	char bank_code[PAYOUT_BANK_CODE_MAX];
	char country[3];
	bool instant;
};

/* Where a payout stands at the rail (PAYOUT and QUERY_PAYOUT results). */
enum channel_payout_state {
	CH_PO_NONE,       /* never received (QUERY_PAYOUT: CH_NOT_FOUND) */
	CH_PO_PENDING,    /* accepted, not yet on its way */
	CH_PO_IN_TRANSIT,
	CH_PO_PAID,
	CH_PO_FAILED,     /* rejected: nothing paid (CH_DECLINED with the reason's code) */
	CH_PO_RETURNED,   /* paid, then returned: the money is back */
};

struct channel_request {
	enum channel_op op;
	char reference[ID_MAX];         /* attempt or refund id: the idempotency reference */
	char payment_reference[ID_MAX]; /* CAPTURE/VOID/REFUND: the attempt id */
	int64_t amount;
	char currency[4];
	const struct payment_method *method;
	const struct channel_payout *payout; /* PAYOUT */
	bool capture;
	char verification_code[16];
};

struct channel_result {
	enum channel_outcome outcome;
	int code; /* catalog code, for DECLINED / UNKNOWN / NOT_EXECUTED */
	char raw_code[PAYMENT_RAW_CODE_MAX];
	char raw_message[PAYMENT_RAW_MESSAGE_MAX];
	int64_t amount; /* QUERY: the amount the channel executed */
	bool captured;  /* QUERY: captured (true) or only authorized */
	bool voided;    /* QUERY: the authorization was released (void done) */
	/* PAYOUT, QUERY_PAYOUT and callbacks */
	enum channel_payout_state payout_state;
	char trace_id[PAYOUT_TRACE_MAX];
	char reason[PAYOUT_REASON_MAX]; /* ISO 20022 reason of a failure or return */
	int64_t expected_arrival_ms;
};

/* A rail's callback (POST /v1/channel_callbacks/:channel), verified. */
struct channel_callback {
	char id[64];                   /* unique per event: a duplicate repeats it */
	char reference[ID_MAX];        /* the payout attempt's reference */
	struct channel_result result;  /* outcome, payout_state, trace_id, reason, raw code */
	int64_t at_ms;
};

/* A raw card as entered by the payer; lives only on the stack of the
 * request that carries it and is wiped after tokenization. */
struct card_input {
	char number[24];
	int exp_month, exp_year;
	char cvc[5];
};

enum channel_caps {
	CH_CAP_CARD = 1u << 0,
	CH_CAP_ALIPAY = 1u << 1,
	CH_CAP_WECHAT_PAY = 1u << 2,
	CH_CAP_MANUAL_CAPTURE = 1u << 3,
	CH_CAP_REFUND = 1u << 4,
	CH_CAP_QUERY = 1u << 5,
	CH_CAP_PAYOUT = 1u << 6,
};

struct channel;

/* ---- network channels ------------------------------------------------------
 * A network channel (channel/http.c; protocol in docs/SIM_PROTOCOL.md) has
 * no `call`: encode() builds the HTTP request, the dispatcher
 * (channel/dispatch.c, libcurl multi on its own thread) signs and sends it
 * and checks the answer's signature, and decode() turns what came back
 * into a result through the kind's raw-code table. */
#define CHANNEL_URL_MAX 256
#define CHANNEL_SECRET_MAX 128
#define CHANNEL_KIND_MAX 16
#define CHANNEL_CURRENCIES_MAX 32
#define CHANNEL_BODY_MAX (64 * 1024) /* an answer longer than this is cut: unknown */
#define CHANNEL_CALLBACK_WINDOW_S 300 /* a callback signed further from now is refused */

struct channel_http_request {
	bool get;       /* GET (health) instead of POST */
	char path[64];  /* "/v1/authorize" */
	char *body;     /* heap JSON text (NULL for GET); the dispatcher frees it */
};

enum channel_transport {
	CH_NET_ANSWERED, /* a status line and body came back */
	CH_NET_REFUSED,  /* no connection: nothing was sent */
	CH_NET_TIMEOUT,  /* sent, no (complete) answer within the timeout */
	CH_NET_BROKEN,   /* the connection broke after sending */
};

struct channel_http_reply {
	enum channel_transport transport;
	long status;      /* HTTP status when ANSWERED */
	const char *body; /* NUL-terminated, may be "" */
	size_t body_len;
	bool signature_ok; /* the answer's X-Payd-Signature verified */
};

/* How a channel is set up: from the config file (route/config.c). */
struct channel_config {
	char name[PAYMENT_CHANNEL_MAX];  /* [a-z0-9_], 1..31 */
	char kind[CHANNEL_KIND_MAX];     /* "sandbox", "acquirer", "wallet_a", "wallet_b" */
	char url[CHANNEL_URL_MAX];       /* http://host:port (network kinds) */
	char secret[CHANNEL_SECRET_MAX]; /* HMAC secret (network kinds) */
	unsigned methods;                /* CH_CAP_CARD | CH_CAP_ALIPAY | CH_CAP_WECHAT_PAY */
	char currencies[CHANNEL_CURRENCIES_MAX][4]; /* upper case; none = any */
	int currency_count;
	int64_t min_amount, max_amount;  /* minor units; max 0 = no upper limit */
	int priority;                    /* lower is tried first */
	int timeout_ms;                  /* per attempt */
};

struct channel_ops {
	const char *kind;
	unsigned caps;
	/* Checks a raw card and fills `out` (brand, last4, expiry, token;
	 * the caller fills the fingerprint).  Returns 0 or a catalog code
	 * (CAT_INCORRECT_NUMBER, CAT_PARAMETER_INVALID for a bad expiry,
	 * CAT_EXPIRED_CARD for a past one, CAT_INCORRECT_CVC for a CVC given
	 * but not 3-4 digits); `out` is written only on success. */
	int (*tokenize_card)(struct channel *ch, const struct card_input *card,
			     struct payment_method *out);
	/* A payment method by id ("pm_card_visa") or wallet type; 0 or
	 * CAT_NO_SUCH_OBJECT. */
	int (*lookup_method)(struct channel *ch, const char *pm_id, struct payment_method *out);
	/* Wallet methods: `outcome` is the sandbox's test outcome name or NULL. */
	int (*wallet_method)(struct channel *ch, enum pm_type type, const char *test_outcome,
			     struct payment_method *out);
	/* Performs one call and fills `out`.  Synchronous for in-process
	 * channels; network channels will answer through the engine queue. */
	void (*call)(struct channel *ch, const struct channel_request *req,
		     struct channel_result *out);
	/* Network channels (call == NULL).  encode returns 0 or a catalog
	 * code (the operation is not supported); decode always fills `out`. */
	int (*encode)(struct channel *ch, const struct channel_request *req,
		      struct channel_http_request *out);
	void (*decode)(struct channel *ch, const struct channel_request *req,
		       const struct channel_http_reply *reply, struct channel_result *out);
	/* Rails with callbacks: verifies the X-Payd-Signature header (and its
	 * timestamp, within CHANNEL_CALLBACK_WINDOW_S of now_s) over the exact
	 * body and parses it.  0, or a catalog code: CAT_API_KEY_INVALID for a
	 * missing, forged or stale signature, CAT_MALFORMED_BODY for a body
	 * that is not a callback. */
	int (*parse_callback)(struct channel *ch, const char *body, size_t body_len,
			      const char *signature, int64_t now_s, struct channel_callback *out);
	void (*destroy)(struct channel *ch);
};

struct channel {
	const struct channel_ops *ops;
	char name[PAYMENT_CHANNEL_MAX];
	struct channel_config config; /* as configured (secret included) */
};

/* Makes the channel `cfg` describes (any kind); NULL with `err` set. */
struct channel *channel_new(const struct channel_config *cfg, char *err, size_t err_cap);

/* ---- the dispatcher (channel/dispatch.c) ------------------------------------
 * Sends network channels' requests concurrently (libcurl multi, its own
 * thread), each with its channel's timeout, and reports every result
 * through `done`, called on the dispatcher's thread exactly once per
 * send or probe (unless the dispatcher is stopped first). */
struct channel_dispatch;
typedef void (*channel_done_fn)(void *ctx, const struct channel_result *res, int64_t latency_ns);

int channel_dispatch_start(struct channel_dispatch **out);
/* Copies req (and the method it points to) and sends it to ch, a network
 * channel.  An operation encode() refuses is answered at once (done with
 * CH_NOT_EXECUTED and its code). */
void channel_dispatch_send(struct channel_dispatch *d, struct channel *ch,
			   const struct channel_request *req, channel_done_fn done, void *ctx);
/* GET /v1/health: done gets CH_SUCCEEDED for a signed 200, else
 * CH_NOT_EXECUTED (code 201). */
void channel_dispatch_probe(struct channel_dispatch *d, struct channel *ch, channel_done_fn done,
			    void *ctx);
/* Stops the thread; calls still out are abandoned (their `done` is never
 * called: the engine's recovery asks about them at the next start). */
void channel_dispatch_stop(struct channel_dispatch *d);

/* The in-process, deterministic test channel (channel/sandbox.c, scenarios
 * in docs/SANDBOX.md).  NULL when out of memory or `name` is longer than
 * PAYMENT_CHANNEL_MAX - 1 (NULL or "" means "sandbox"). */
struct channel *sandbox_channel_new(const char *name);
/* The clock tokenize_card checks expiry dates against (default: the
 * system clock); the pointer is kept, so it must outlive the channel. */
struct payd_clock;
void sandbox_channel_set_clock(struct channel *ch, const struct payd_clock *clock);

#endif
