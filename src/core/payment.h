/* core/payment: the records of payments and refunds and the rules of their
 * state machines, pure (no I/O, no clock: times are passed in).
 *
 * A PaymentIntent (Stripe's shape and statuses) is what the merchant sees.
 * Each confirmation makes a payment attempt: one try of one payment method
 * on one channel, what Stripe calls a Charge (ids "ch_").  Every attempt is
 * kept.  A refund (ids "re_") returns part or all of what was received.
 *
 * Channel calls happen in two steps (DESIGN.md promise 5): the record is
 * committed in an "in flight" state first (attempt PENDING, refund PENDING,
 * intent capture/cancel requested), the call goes out after the commit,
 * and its result is applied in a later batch.  After a crash, whatever is
 * still in flight is resolved by asking the channel, never by resending. */
#ifndef PAYD_CORE_PAYMENT_H
#define PAYD_CORE_PAYMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/id.h"

#define PAYMENT_DESCRIPTION_MAX 1000
#define PAYMENT_CUSTOMER_MAX 64
#define PAYMENT_METHOD_ID_MAX 64
#define PAYMENT_TOKEN_MAX 64
#define PAYMENT_CHANNEL_MAX 32
#define PAYMENT_RAW_CODE_MAX 32
#define PAYMENT_RAW_MESSAGE_MAX 160
#define PAYMENT_ATTEMPTS_MAX 20 /* attempts per intent: a confirm past it is refused */
#define PAYMENT_REASON_MAX 32
#define PAYMENT_EMAIL_MAX 254  /* an e-mail address (RFC 5321 path limit) */
#define PAYMENT_LANGUAGE_MAX 8 /* "zh-CN" with room */
#define PAYMENT_AMOUNT_MAX 99999999999LL /* minor units of one payment or refund */

enum pi_status {
	PI_REQUIRES_PAYMENT_METHOD,
	PI_REQUIRES_CONFIRMATION,
	PI_REQUIRES_ACTION,
	PI_PROCESSING,
	PI_REQUIRES_CAPTURE,
	PI_SUCCEEDED,
	PI_CANCELED,
};

enum capture_method { CAPTURE_AUTOMATIC, CAPTURE_MANUAL };

enum pm_type { PM_NONE, PM_CARD, PM_ALIPAY, PM_WECHAT_PAY };

/* What payd keeps of a payment method: never a full card number. */
struct payment_method {
	enum pm_type type;
	char id[PAYMENT_METHOD_ID_MAX]; /* "pm_card_visa", or "pm_..." made for raw details */
	char brand[16];                 /* visa, mastercard, amex, unionpay, jcb, discover */
	char last4[5];
	int exp_month, exp_year;
	char fingerprint[24];           /* keyed hash of the card number */
	char token[PAYMENT_TOKEN_MAX];  /* the channel's reference to the instrument */
};

enum attempt_status {
	ATT_PENDING,         /* written, call not answered yet */
	ATT_REQUIRES_ACTION, /* the payer must verify (next_action) */
	ATT_VERIFYING,       /* verification code sent, not answered yet */
	ATT_AUTHORIZED,      /* money held, to be captured (manual capture) */
	ATT_SUCCEEDED,       /* money taken */
	ATT_FAILED,          /* final: not taken */
	ATT_UNKNOWN,         /* timed out: the resolver asks the channel */
	ATT_VOIDED,          /* an authorization released (cancel) */
};

struct payment_attempt {
	char id[ID_MAX]; /* ch_... */
	char intent_id[ID_MAX];
	char merchant_id[ID_MAX];
	int seq; /* 1, 2, ... within its intent */
	char channel[PAYMENT_CHANNEL_MAX];
	enum attempt_status status;
	int64_t amount;
	char currency[4];
	struct payment_method method;
	bool capture;   /* authorize and capture at once (automatic capture) */
	int code;       /* catalog code of a failure, 0 otherwise */
	char raw_code[PAYMENT_RAW_CODE_MAX];
	char raw_message[PAYMENT_RAW_MESSAGE_MAX];
	int64_t created_ms;
	int64_t finished_ms; /* 0 while not final */
	int64_t latency_ms;  /* of the channel call(s), -1 unknown */
	int64_t next_check_ms; /* ATT_UNKNOWN: when the resolver asks next */
	int checks;          /* ATT_UNKNOWN: queries made so far */
	bool failover;       /* started by failing over from the attempt before */
};

struct payment_intent {
	char id[ID_MAX];
	char merchant_id[ID_MAX];
	int64_t amount;
	char currency[4]; /* upper case, as in the ledger */
	enum pi_status status;
	enum capture_method capture_method;
	int64_t amount_capturable;
	int64_t amount_received;
	int64_t amount_refunded; /* succeeded + pending refunds */
	char *description;       /* heap, may be NULL */
	char customer[PAYMENT_CUSTOMER_MAX + 1];
	char *metadata_json;     /* heap JSON object text, may be NULL = {} */
	struct payment_method method; /* the one attached now (type PM_NONE if none) */
	char latest_attempt_id[ID_MAX];
	int attempt_count;
	int last_error_code;     /* of the latest failed attempt, 0 = none */
	char last_error_attempt_id[ID_MAX];
	unsigned last_error_suggest; /* payment method types suggested instead: 1u << pm_type */
	char hold_transfer_id[ID_MAX]; /* ledger hold of an authorization (manual capture) */
	int64_t capture_requested;     /* > 0 while a capture call is in flight */
	bool cancel_requested;         /* a void call is in flight */
	char cancellation_reason[PAYMENT_REASON_MAX];
	int64_t canceled_ms;
	int64_t created_ms;
	int64_t updated_ms;
	/* The payer, for e-mails about this payment (notify/): "" when none. */
	char receipt_email[PAYMENT_EMAIL_MAX + 1];
	char payer_language[PAYMENT_LANGUAGE_MAX]; /* "en" or "zh-CN", "" when none */
};

enum refund_status { REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED, REFUND_CANCELED };

struct refund {
	char id[ID_MAX]; /* re_... */
	char merchant_id[ID_MAX];
	char intent_id[ID_MAX];
	char attempt_id[ID_MAX]; /* the charge refunded */
	char channel[PAYMENT_CHANNEL_MAX];
	int64_t amount;
	char currency[4];
	enum refund_status status;
	char reason[PAYMENT_REASON_MAX];   /* duplicate, fraudulent, requested_by_customer, "" */
	int failure_code;                  /* catalog code when failed */
	char raw_code[PAYMENT_RAW_CODE_MAX];
	char *metadata_json;               /* heap, may be NULL */
	char hold_transfer_id[ID_MAX];     /* the ledger hold while pending */
	int64_t created_ms;
	int64_t updated_ms;
};

/* Stripe's spelling of the enums, and back (-1 when unknown). */
const char *pi_status_name(enum pi_status s);
const char *attempt_status_name(enum attempt_status s);
const char *refund_status_name(enum refund_status s);
const char *pm_type_name(enum pm_type t);
int pm_type_parse(const char *name);

/* Frees the heap fields (not the struct) and NULLs them. */
void payment_intent_clear(struct payment_intent *pi);
void refund_clear(struct refund *r);

/* The state machine of an intent: may it go from `from` to `to`? */
bool pi_transition_ok(enum pi_status from, enum pi_status to);

/* What each operation needs of the intent's state: 0, or a catalog code
 * (CAT_INVALID_STATE, also when an attempt of unknown outcome blocks a
 * new one, promise 6). */
int pi_can_update(const struct payment_intent *pi);
int pi_can_confirm(const struct payment_intent *pi, bool has_unknown_attempt);
int pi_can_capture(const struct payment_intent *pi, int64_t amount_to_capture);
int pi_can_cancel(const struct payment_intent *pi);
/* A refund of `amount` (> 0): CAT_REFUND_EXCEEDS_REMAINING past what
 * remains, CAT_CHARGE_ALREADY_REFUNDED when nothing does. */
int pi_can_refund(const struct payment_intent *pi, int64_t amount);
int64_t pi_refundable(const struct payment_intent *pi);

#endif
