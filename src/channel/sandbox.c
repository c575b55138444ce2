/* channel/sandbox: the in-process, deterministic test channel.
 *
 * Every outcome follows from the instrument's token alone, and the token
 * names the test scenario ("sb_card_insufficient_funds").  The payer picks
 * a scenario with a Stripe test payment method id (pm_card_visa, ...), a
 * test card number (4000000000009995, ...) or a wallet test outcome
 * ("insufficient_balance"); docs/SANDBOX.md lists them all.
 *
 * The sandbox keeps no books: it remembers no payment, refund or
 * verification code, so a QUERY is answered from the token and the request
 * alone (the amount and capture flag the caller copies from its attempt are
 * echoed back).  Two consequences, both deliberate:
 *   - a QUERY after a successful VERIFY answers CH_NOT_FOUND, since whether
 *     the payer ever verified is not on record here;
 *   - REFUND cannot check what was captured; payd's own ledger does.
 * payd-sim (sim/, issue 4) is the stateful acquirer that keeps books.
 *
 * All scenarios live in one table, scenarios[], below: token, the ways to
 * select it (pm id, card number, wallet outcome), the flow it follows and
 * the catalog and raw codes of its failure.  The raw codes of the ordinary
 * answers (approved, timeout, not found, ...) differ per rail and live in
 * the second table, dialects[].  call() is a pure function of the request:
 * no state, no locks, safe from any thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "channel/card.h"
#include "channel/channel.h"
#include "core/catalog.h"

#define SANDBOX_KIND "sandbox"
#define SANDBOX_VERIFICATION_CODE "000000"
#define SANDBOX_PM_EXP_MONTH 12   /* of the Stripe test payment methods */
#define SANDBOX_PM_EXP_YEAR 2034
#define SANDBOX_LIVE_TOKEN "sb_card_live_number"

/* What a scenario does, op by op (CAPTURE and VOID always succeed):
 *                 AUTHORIZE          VERIFY            QUERY        REFUND
 *   APPROVE       succeeded          = AUTHORIZE       succeeded    succeeded
 *   DECLINE       declined code      = AUTHORIZE       declined     succeeded
 *   VERIFY        requires_action    000000 ok, else   not_found    succeeded
 *                 302                declined 303
 *   TIMEOUT_TAKEN unknown 202        = AUTHORIZE       succeeded    succeeded
 *   TIMEOUT_NONE  unknown 202        = AUTHORIZE       not_found    succeeded
 *   REFUND_FAILS  succeeded          = AUTHORIZE       succeeded    declined code
 * QUERY_REFUND answers as REFUND would. */
enum sb_flow {
	SB_APPROVE,
	SB_DECLINE,
	SB_VERIFY,
	SB_TIMEOUT_TAKEN,
	SB_TIMEOUT_NONE,
	SB_REFUND_FAILS,
};

struct sb_scenario {
	const char *token;   /* the channel's reference to the instrument */
	enum pm_type type;
	const char *pm_id;   /* Stripe test payment method id, or NULL */
	const char *number;  /* test card number, or NULL; gives brand and last4 */
	const char *outcome; /* wallet test outcome, or NULL */
	enum sb_flow flow;
	int code;            /* DECLINE, REFUND_FAILS: the catalog code */
	const char *raw_code, *raw_message; /* of that failure */
};

static const struct sb_scenario scenarios[] = {
	/* {token, type, pm id, number, wallet outcome, flow, code, raw code, raw message} */
	{"sb_card_visa", PM_CARD, "pm_card_visa", "4242424242424242", NULL, SB_APPROVE, 0, NULL, NULL},
	{"sb_card_mastercard", PM_CARD, "pm_card_mastercard", "5555555555554444", NULL, SB_APPROVE, 0, NULL, NULL},
	{"sb_card_declined", PM_CARD, "pm_card_chargeDeclined", "4000000000000002", NULL,
	 SB_DECLINE, CAT_GENERIC_DECLINE, "05", "Do not honor"},
	{"sb_card_insufficient_funds", PM_CARD, "pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", NULL,
	 SB_DECLINE, CAT_INSUFFICIENT_FUNDS, "51", "Insufficient funds"},
	{"sb_card_expired", PM_CARD, "pm_card_chargeDeclinedExpiredCard", "4000000000000069", NULL,
	 SB_DECLINE, CAT_EXPIRED_CARD, "54", "Expired card"},
	{"sb_card_incorrect_cvc", PM_CARD, "pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", NULL,
	 SB_DECLINE, CAT_INCORRECT_CVC, "N7", "Decline for CVV2 failure"},
	{"sb_card_lost", PM_CARD, "pm_card_chargeDeclinedLostCard", "4000000000009987", NULL,
	 SB_DECLINE, CAT_LOST_CARD, "41", "Lost card, pick up"},
	{"sb_card_stolen", PM_CARD, "pm_card_chargeDeclinedStolenCard", "4000000000009979", NULL,
	 SB_DECLINE, CAT_STOLEN_CARD, "43", "Stolen card, pick up"},
	{"sb_card_processing_error", PM_CARD, "pm_card_chargeDeclinedProcessingError", "4000000000000119", NULL,
	 SB_DECLINE, CAT_PROCESSING_ERROR, "96", "System malfunction"},
	{"sb_card_refund_fail", PM_CARD, "pm_card_refundFail", "4000000000005126", NULL,
	 SB_REFUND_FAILS, CAT_REFUND_CARD_CLOSED, "R1", "Refund refused: card account closed"},
	{"sb_card_verify", PM_CARD, NULL, "4000002760003184", NULL, SB_VERIFY, 0, NULL, NULL},
	/* payd's own timeout cards.  The numbers the API documents
	 * (...0202, ...0210) fail the Luhn check, so they are accepted here as
	 * known test numbers; the ...400202 / ...400210 aliases pass it, for
	 * clients that check Luhn before sending. */
	{"sb_card_timeout_taken", PM_CARD, NULL, "4000000000000202", NULL, SB_TIMEOUT_TAKEN, 0, NULL, NULL},
	{"sb_card_timeout_before", PM_CARD, NULL, "4000000000000210", NULL, SB_TIMEOUT_NONE, 0, NULL, NULL},
	{"sb_card_timeout_taken", PM_CARD, NULL, "4000000000400202", NULL, SB_TIMEOUT_TAKEN, 0, NULL, NULL},
	{"sb_card_timeout_before", PM_CARD, NULL, "4000000000400210", NULL, SB_TIMEOUT_NONE, 0, NULL, NULL},
	/* Any other valid number: refused as in Stripe's test mode.  Chosen
	 * by tokenize_card when no row above has the number. */
	{SANDBOX_LIVE_TOKEN, PM_CARD, NULL, NULL, NULL,
	 SB_DECLINE, CAT_GENERIC_DECLINE, "05", "live card number used in test mode"},

	{"sb_alipay_success", PM_ALIPAY, NULL, NULL, "success", SB_APPROVE, 0, NULL, NULL},
	{"sb_alipay_insufficient_balance", PM_ALIPAY, NULL, NULL, "insufficient_balance",
	 SB_DECLINE, CAT_INSUFFICIENT_FUNDS, "ACQ.BUYER_BALANCE_NOT_ENOUGH", "Buyer balance not enough"},
	{"sb_alipay_timeout", PM_ALIPAY, NULL, NULL, "timeout", SB_TIMEOUT_TAKEN, 0, NULL, NULL},
	{"sb_alipay_timeout_before", PM_ALIPAY, NULL, NULL, "timeout_before", SB_TIMEOUT_NONE, 0, NULL, NULL},
	{"sb_alipay_risk_interception", PM_ALIPAY, NULL, NULL, "risk_interception",
	 SB_DECLINE, CAT_RISK_BLOCKED, "ACQ.PAYMENT_REQUEST_HAS_RISK", "Payment request has risk"},

	{"sb_wechat_pay_success", PM_WECHAT_PAY, NULL, NULL, "success", SB_APPROVE, 0, NULL, NULL},
	{"sb_wechat_pay_insufficient_balance", PM_WECHAT_PAY, NULL, NULL, "insufficient_balance",
	 SB_DECLINE, CAT_INSUFFICIENT_FUNDS, "NOTENOUGH", "Insufficient balance"},
	{"sb_wechat_pay_timeout", PM_WECHAT_PAY, NULL, NULL, "timeout", SB_TIMEOUT_TAKEN, 0, NULL, NULL},
	{"sb_wechat_pay_timeout_before", PM_WECHAT_PAY, NULL, NULL, "timeout_before", SB_TIMEOUT_NONE, 0, NULL, NULL},
	{"sb_wechat_pay_risk_interception", PM_WECHAT_PAY, NULL, NULL, "risk_interception",
	 SB_DECLINE, CAT_RISK_BLOCKED, "RISK_CONTROL", "Payment blocked by risk control"},
};
#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* A raw code and message. */
struct sb_raw {
	const char *code, *message;
};

/* The raw answers of each rail: cards in ISO 8583 response codes, Alipay
 * and WeChat Pay in the spelling of their APIs.  (No wallet scenario asks
 * for verification today; the wallet rows have the fields so that adding
 * one is a table change only.) */
static const struct sb_dialect {
	enum pm_type type;
	struct sb_raw approved, captured, voided, refunded, found, not_found, timeout,
		verify_required, verify_failed, rejected;
} dialects[] = {
	{PM_CARD,
	 .approved = {"00", "Approved"},
	 .captured = {"00", "Approved: captured"},
	 .voided = {"00", "Approved: authorization reversed"},
	 .refunded = {"00", "Approved: refund accepted"},
	 .found = {"00", "Approved (query)"},
	 .not_found = {"25", "Unable to locate record"},
	 .timeout = {"68", "No response from issuer (timeout)"},
	 .verify_required = {"1A", "Additional customer authentication required"},
	 .verify_failed = {"63", "Security violation: verification failed"},
	 .rejected = {"12", "Invalid transaction: unknown sandbox token"}},
	{PM_ALIPAY,
	 .approved = {"10000", "Success"},
	 .captured = {"10000", "Success"},
	 .voided = {"10000", "Success: trade closed"},
	 .refunded = {"10000", "Success: refund accepted"},
	 .found = {"TRADE_SUCCESS", "Trade succeeded"},
	 .not_found = {"ACQ.TRADE_NOT_EXIST", "Trade does not exist"},
	 .timeout = {"ACQ.SYSTEM_ERROR", "System error: outcome unknown, query the trade"},
	 .verify_required = {"10003", "Waiting for the buyer to confirm"},
	 .verify_failed = {"40004", "Business failed: buyer verification failed"},
	 .rejected = {"ACQ.INVALID_PARAMETER", "Unknown sandbox token"}},
	{PM_WECHAT_PAY,
	 .approved = {"SUCCESS", "OK"},
	 .captured = {"SUCCESS", "OK"},
	 .voided = {"SUCCESS", "OK: order closed"},
	 .refunded = {"SUCCESS", "OK: refund accepted"},
	 .found = {"SUCCESS", "Trade state SUCCESS"},
	 .not_found = {"ORDERNOTEXIST", "Order does not exist"},
	 .timeout = {"SYSTEMERROR", "System error: outcome unknown, query the order"},
	 .verify_required = {"USERPAYING", "Waiting for the payer to confirm"},
	 .verify_failed = {"PAYERROR", "Payment failed: payer verification failed"},
	 .rejected = {"PARAM_ERROR", "Unknown sandbox token"}},
};

struct sandbox {
	struct channel base; /* first: a struct channel * is a struct sandbox * */
	const struct payd_clock *clock;
};

static const struct sb_dialect *dialect_of(enum pm_type type)
{
	for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++)
		if (dialects[i].type == type)
			return &dialects[i];
	return &dialects[0];
}

/* The scenario of a token, or NULL.  Bounded compare: the token field
 * need not be NUL-terminated. */
static const struct sb_scenario *by_token(const struct payment_method *pm)
{
	if (!pm)
		return NULL;
	for (size_t i = 0; i < N_SCENARIOS; i++)
		if (strncmp(scenarios[i].token, pm->token, sizeof pm->token) == 0 &&
		    scenarios[i].type == pm->type)
			return &scenarios[i];
	return NULL;
}

static void fill_result(struct channel_result *out, enum channel_outcome outcome, int code,
			struct sb_raw raw)
{
	memset(out, 0, sizeof *out);
	out->outcome = outcome;
	out->code = code;
	snprintf(out->raw_code, sizeof out->raw_code, "%s", raw.code);
	snprintf(out->raw_message, sizeof out->raw_message, "%s", raw.message);
}

static void fill_method(struct payment_method *pm, const struct sb_scenario *s)
{
	memset(pm, 0, sizeof *pm);
	pm->type = s->type;
	snprintf(pm->token, sizeof pm->token, "%s", s->token);
}

static int sandbox_tokenize_card(struct channel *ch, const struct card_input *card,
				 struct payment_method *out)
{
	const struct sandbox *sb = (const struct sandbox *)ch;
	if (!card)
		return CAT_PARAMETER_MISSING;
	const struct sb_scenario *s = NULL;
	for (size_t i = 0; i < N_SCENARIOS && !s; i++)
		if (scenarios[i].number && strcmp(scenarios[i].number, card->number) == 0)
			s = &scenarios[i];
	int rc = s ? CAT_OK : card_check_number(card->number); /* test numbers are known */
	if (rc)
		return rc;
	rc = card_check_expiry(card->exp_month, card->exp_year, clock_now_ms(sb->clock));
	if (rc)
		return rc;
	if (card->cvc[0] && (rc = card_check_cvc(card->cvc)))
		return rc;

	for (size_t i = 0; i < N_SCENARIOS && !s; i++)
		if (strcmp(scenarios[i].token, SANDBOX_LIVE_TOKEN) == 0)
			s = &scenarios[i];

	struct payment_method pm;
	fill_method(&pm, s);
	snprintf(pm.brand, sizeof pm.brand, "%s", card_brand(card->number));
	card_last4(card->number, pm.last4);
	pm.exp_month = card->exp_month;
	pm.exp_year = card_expiry_year(card->exp_year);
	*out = pm;
	return 0;
}

static int sandbox_lookup_method(struct channel *ch, const char *pm_id, struct payment_method *out)
{
	(void)ch;
	for (size_t i = 0; pm_id && i < N_SCENARIOS; i++) {
		const struct sb_scenario *s = &scenarios[i];
		if (!s->pm_id || strcmp(s->pm_id, pm_id) != 0)
			continue;
		fill_method(out, s);
		snprintf(out->id, sizeof out->id, "%s", s->pm_id);
		snprintf(out->brand, sizeof out->brand, "%s", card_brand(s->number));
		card_last4(s->number, out->last4);
		out->exp_month = SANDBOX_PM_EXP_MONTH;
		out->exp_year = SANDBOX_PM_EXP_YEAR;
		return 0;
	}
	return CAT_NO_SUCH_OBJECT;
}

static int sandbox_wallet_method(struct channel *ch, enum pm_type type, const char *test_outcome,
				 struct payment_method *out)
{
	(void)ch;
	if (type != PM_ALIPAY && type != PM_WECHAT_PAY)
		return CAT_PARAMETER_INVALID;
	if (!test_outcome || !test_outcome[0])
		test_outcome = "success";
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		const struct sb_scenario *s = &scenarios[i];
		if (s->type == type && s->outcome && strcmp(s->outcome, test_outcome) == 0) {
			fill_method(out, s);
			return 0;
		}
	}
	return CAT_PARAMETER_INVALID;
}

/* The payment's own failure, as AUTHORIZE and QUERY report it. */
static struct sb_raw failure_raw(const struct sb_scenario *s)
{
	return (struct sb_raw){s->raw_code, s->raw_message};
}

static void answer_authorize(const struct sb_scenario *s, const struct sb_dialect *d,
			     struct channel_result *out)
{
	switch (s->flow) {
	case SB_APPROVE:
	case SB_REFUND_FAILS:
		fill_result(out, CH_SUCCEEDED, 0, d->approved);
		return;
	case SB_DECLINE:
		fill_result(out, CH_DECLINED, s->code, failure_raw(s));
		return;
	case SB_VERIFY:
		fill_result(out, CH_REQUIRES_ACTION, CAT_VERIFICATION_REQUIRED, d->verify_required);
		return;
	case SB_TIMEOUT_TAKEN:
	case SB_TIMEOUT_NONE:
		fill_result(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, d->timeout);
		return;
	}
	abort(); /* a flow without an answer is a bug in the table */
}

static void answer_query(const struct sb_scenario *s, const struct sb_dialect *d,
			 const struct channel_request *req, struct channel_result *out)
{
	switch (s->flow) {
	case SB_APPROVE:
	case SB_REFUND_FAILS:
	case SB_TIMEOUT_TAKEN:
		fill_result(out, CH_SUCCEEDED, 0, d->found);
		out->amount = req->amount;
		out->captured = req->capture;
		return;
	case SB_DECLINE:
		fill_result(out, CH_DECLINED, s->code, failure_raw(s));
		return;
	case SB_VERIFY: /* no record of a verification: see the top */
	case SB_TIMEOUT_NONE:
		fill_result(out, CH_NOT_FOUND, 0, d->not_found);
		return;
	}
	abort();
}

static void sandbox_call(struct channel *ch, const struct channel_request *req,
			 struct channel_result *out)
{
	(void)ch;
	const struct sb_scenario *s = by_token(req->method);
	const struct sb_dialect *d = dialect_of(req->method ? req->method->type : PM_CARD);

	switch (req->op) {
	case CH_OP_CAPTURE:
		fill_result(out, CH_SUCCEEDED, 0, d->captured);
		return;
	case CH_OP_VOID:
		fill_result(out, CH_SUCCEEDED, 0, d->voided);
		return;
	case CH_OP_REFUND:
	case CH_OP_QUERY_REFUND:
		if (s && s->flow == SB_REFUND_FAILS)
			fill_result(out, CH_DECLINED, s->code, failure_raw(s));
		else
			fill_result(out, CH_SUCCEEDED, 0, d->refunded);
		return;
	case CH_OP_AUTHORIZE:
	case CH_OP_VERIFY:
		if (!s) {
			fill_result(out, CH_DECLINED, CAT_CHANNEL_REJECTED, d->rejected);
		} else if (req->op == CH_OP_VERIFY && s->flow == SB_VERIFY) {
			if (strncmp(req->verification_code, SANDBOX_VERIFICATION_CODE,
				    sizeof req->verification_code) == 0)
				fill_result(out, CH_SUCCEEDED, 0, d->approved);
			else
				fill_result(out, CH_DECLINED, CAT_VERIFICATION_FAILED, d->verify_failed);
		} else {
			answer_authorize(s, d, out);
		}
		return;
	case CH_OP_QUERY:
		if (!s) /* an unknown token was refused, so never executed */
			fill_result(out, CH_NOT_FOUND, 0, d->not_found);
		else
			answer_query(s, d, req, out);
		return;
	case CH_OP_PAYOUT: /* the sandbox takes payments only */
	case CH_OP_QUERY_PAYOUT:
		break;
	}
	fill_result(out, CH_DECLINED, CAT_CHANNEL_REJECTED, d->rejected);
}

static void sandbox_destroy(struct channel *ch)
{
	free(ch);
}

static const struct channel_ops sandbox_ops = {
	.kind = SANDBOX_KIND,
	.caps = CH_CAP_CARD | CH_CAP_ALIPAY | CH_CAP_WECHAT_PAY | CH_CAP_MANUAL_CAPTURE |
		CH_CAP_REFUND | CH_CAP_QUERY,
	.tokenize_card = sandbox_tokenize_card,
	.lookup_method = sandbox_lookup_method,
	.wallet_method = sandbox_wallet_method,
	.call = sandbox_call,
	.destroy = sandbox_destroy,
};

struct channel *sandbox_channel_new(const char *name)
{
	if (!name || !name[0])
		name = SANDBOX_KIND;
	if (strlen(name) >= PAYMENT_CHANNEL_MAX)
		return NULL;
	struct sandbox *sb = calloc(1, sizeof *sb);
	if (!sb)
		return NULL;
	sb->base.ops = &sandbox_ops;
	memcpy(sb->base.name, name, strlen(name) + 1);
	sb->clock = &clock_system;
	return &sb->base;
}

void sandbox_channel_set_clock(struct channel *ch, const struct payd_clock *clock)
{
	if (ch && ch->ops == &sandbox_ops)
		((struct sandbox *)ch)->clock = clock ? clock : &clock_system;
}
