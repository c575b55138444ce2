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

enum channel_op {
	CH_OP_AUTHORIZE,    /* take (capture=true) or hold the money */
	CH_OP_VERIFY,       /* send the payer's verification code */
	CH_OP_CAPTURE,      /* capture a held authorization */
	CH_OP_VOID,         /* release a held authorization */
	CH_OP_REFUND,       /* give money back */
	CH_OP_QUERY,        /* what became of payment `reference`? */
	CH_OP_QUERY_REFUND, /* what became of refund `reference`? */
};

enum channel_outcome {
	CH_SUCCEEDED,       /* done: for AUTHORIZE with capture=false, authorized */
	CH_DECLINED,        /* final failure; `code` says why */
	CH_UNKNOWN,         /* no answer: may or may not have happened */
	CH_REQUIRES_ACTION, /* the payer must verify (AUTHORIZE) */
	CH_NOT_FOUND,       /* QUERY: the channel never executed it */
	CH_NOT_EXECUTED,    /* refused before executing (unavailable): safe to retry elsewhere */
};

struct channel_request {
	enum channel_op op;
	char reference[ID_MAX];         /* attempt or refund id: the idempotency reference */
	char payment_reference[ID_MAX]; /* CAPTURE/VOID/REFUND: the attempt id */
	int64_t amount;
	char currency[4];
	const struct payment_method *method;
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
};

struct channel;

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
	void (*destroy)(struct channel *ch);
};

struct channel {
	const struct channel_ops *ops;
	char name[PAYMENT_CHANNEL_MAX];
};

/* The in-process, deterministic test channel (channel/sandbox.c, scenarios
 * in docs/SANDBOX.md).  NULL when out of memory or `name` is longer than
 * PAYMENT_CHANNEL_MAX - 1 (NULL or "" means "sandbox"). */
struct channel *sandbox_channel_new(const char *name);
/* The clock tokenize_card checks expiry dates against (default: the
 * system clock); the pointer is kept, so it must outlive the channel. */
struct payd_clock;
void sandbox_channel_set_clock(struct channel *ch, const struct payd_clock *clock);

#endif
