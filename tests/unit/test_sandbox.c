/* tests/unit/test_sandbox: channel/sandbox.  Every documented scenario
 * (docs/SANDBOX.md), reached each way it can be (Stripe test pm id, raw
 * test number, wallet test outcome), answers AUTHORIZE, VERIFY, QUERY,
 * CAPTURE, VOID, REFUND and QUERY_REFUND with the documented outcome,
 * catalog code and raw code; answers are deterministic and stateless; bad
 * input is refused without writing; and no token, payment method or answer
 * ever holds a full card number.  The expected values are written out here
 * again, independently of the channel's own table. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "channel/card.h"
#include "channel/channel.h"
#include "core/catalog.h"

#define T0_MS INT64_C(1795255200000) /* 2026-11-21T10:00:00Z */
#define AMOUNT 12345

/* What one card scenario must do.  query: CH_SUCCEEDED / CH_DECLINED /
 * CH_NOT_FOUND; refund_code 0 = refunds succeed. */
struct card_case {
	const char *pm_id; /* NULL: reachable by number only */
	const char *number;
	const char *brand, *last4;
	enum channel_outcome auth;
	int auth_code;
	const char *auth_raw;
	enum channel_outcome query;
	int refund_code;
};

static const struct card_case card_cases[] = {
	{"pm_card_visa", "4242424242424242", "visa", "4242", CH_SUCCEEDED, 0, "00", CH_SUCCEEDED, 0},
	{"pm_card_mastercard", "5555555555554444", "mastercard", "4444", CH_SUCCEEDED, 0, "00", CH_SUCCEEDED, 0},
	{"pm_card_chargeDeclined", "4000000000000002", "visa", "0002", CH_DECLINED, 107, "05", CH_DECLINED, 0},
	{"pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", "visa", "9995", CH_DECLINED, 101, "51", CH_DECLINED, 0},
	{"pm_card_chargeDeclinedExpiredCard", "4000000000000069", "visa", "0069", CH_DECLINED, 102, "54", CH_DECLINED, 0},
	{"pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", "visa", "0127", CH_DECLINED, 103, "N7", CH_DECLINED, 0},
	{"pm_card_chargeDeclinedLostCard", "4000000000009987", "visa", "9987", CH_DECLINED, 105, "41", CH_DECLINED, 0},
	{"pm_card_chargeDeclinedStolenCard", "4000000000009979", "visa", "9979", CH_DECLINED, 106, "43", CH_DECLINED, 0},
	{"pm_card_chargeDeclinedProcessingError", "4000000000000119", "visa", "0119", CH_DECLINED, 203, "96", CH_DECLINED, 0},
	{"pm_card_refundFail", "4000000000005126", "visa", "5126", CH_SUCCEEDED, 0, "00", CH_SUCCEEDED, 601},
	{NULL, "4000002760003184", "visa", "3184", CH_REQUIRES_ACTION, 302, "1A", CH_NOT_FOUND, 0},
	{NULL, "4000000000400202", "visa", "0202", CH_UNKNOWN, 202, "68", CH_SUCCEEDED, 0},
	{NULL, "4000000000400210", "visa", "0210", CH_UNKNOWN, 202, "68", CH_NOT_FOUND, 0},
	/* The documented numbers, known test numbers although not Luhn-valid. */
	{NULL, "4000000000000202", "visa", "0202", CH_UNKNOWN, 202, "68", CH_SUCCEEDED, 0},
	{NULL, "4000000000000210", "visa", "0210", CH_UNKNOWN, 202, "68", CH_NOT_FOUND, 0},
	/* Live numbers: refused as in Stripe's test mode. */
	{NULL, "4111111111111111", "visa", "1111", CH_DECLINED, 107, "05", CH_DECLINED, 0},
	{NULL, "378282246310005", "amex", "0005", CH_DECLINED, 107, "05", CH_DECLINED, 0},
	{NULL, "6200000000000005", "unionpay", "0005", CH_DECLINED, 107, "05", CH_DECLINED, 0},
};
#define N_CARD_CASES (sizeof card_cases / sizeof card_cases[0])

struct wallet_case {
	enum pm_type type;
	const char *outcome; /* NULL = default */
	enum channel_outcome auth;
	int auth_code;
	const char *auth_raw;
	enum channel_outcome query;
};

static const struct wallet_case wallet_cases[] = {
	{PM_ALIPAY, NULL, CH_SUCCEEDED, 0, "10000", CH_SUCCEEDED},
	{PM_ALIPAY, "", CH_SUCCEEDED, 0, "10000", CH_SUCCEEDED},
	{PM_ALIPAY, "success", CH_SUCCEEDED, 0, "10000", CH_SUCCEEDED},
	{PM_ALIPAY, "insufficient_balance", CH_DECLINED, 101, "ACQ.BUYER_BALANCE_NOT_ENOUGH", CH_DECLINED},
	{PM_ALIPAY, "timeout", CH_UNKNOWN, 202, "ACQ.SYSTEM_ERROR", CH_SUCCEEDED},
	{PM_ALIPAY, "timeout_before", CH_UNKNOWN, 202, "ACQ.SYSTEM_ERROR", CH_NOT_FOUND},
	{PM_ALIPAY, "risk_interception", CH_DECLINED, 301, "ACQ.PAYMENT_REQUEST_HAS_RISK", CH_DECLINED},
	{PM_WECHAT_PAY, NULL, CH_SUCCEEDED, 0, "SUCCESS", CH_SUCCEEDED},
	{PM_WECHAT_PAY, "", CH_SUCCEEDED, 0, "SUCCESS", CH_SUCCEEDED},
	{PM_WECHAT_PAY, "success", CH_SUCCEEDED, 0, "SUCCESS", CH_SUCCEEDED},
	{PM_WECHAT_PAY, "insufficient_balance", CH_DECLINED, 101, "NOTENOUGH", CH_DECLINED},
	{PM_WECHAT_PAY, "timeout", CH_UNKNOWN, 202, "SYSTEMERROR", CH_SUCCEEDED},
	{PM_WECHAT_PAY, "timeout_before", CH_UNKNOWN, 202, "SYSTEMERROR", CH_NOT_FOUND},
	{PM_WECHAT_PAY, "risk_interception", CH_DECLINED, 301, "RISK_CONTROL", CH_DECLINED},
};
#define N_WALLET_CASES (sizeof wallet_cases / sizeof wallet_cases[0])

static struct clock_manual test_clock;
static struct channel *ch;

static void setup(void)
{
	clock_manual_init(&test_clock, T0_MS);
	ch = sandbox_channel_new("sandbox_test");
	cr_assert_not_null(ch);
	sandbox_channel_set_clock(ch, &test_clock.clock);
}

static void teardown(void)
{
	ch->ops->destroy(ch);
}

TestSuite(sandbox, .init = setup, .fini = teardown);

static struct card_input card_of(const char *number)
{
	struct card_input c;
	memset(&c, 0, sizeof c);
	snprintf(c.number, sizeof c.number, "%s", number);
	c.exp_month = 12;
	c.exp_year = 2030;
	snprintf(c.cvc, sizeof c.cvc, "%s", "123");
	return c;
}

static struct channel_result call(enum channel_op op, const struct payment_method *pm,
				  bool capture, const char *code)
{
	struct channel_request req;
	memset(&req, 0, sizeof req);
	req.op = op;
	snprintf(req.reference, sizeof req.reference, "%s", "att_test");
	snprintf(req.payment_reference, sizeof req.payment_reference, "%s", "att_test");
	req.amount = AMOUNT;
	memcpy(req.currency, "USD", 4);
	req.method = pm;
	req.capture = capture;
	if (code)
		snprintf(req.verification_code, sizeof req.verification_code, "%s", code);
	struct channel_result r;
	memset(&r, 0x5A, sizeof r); /* every field must be written */
	ch->ops->call(ch, &req, &r);
	cr_assert_neq(r.raw_code[0], '\0', "op %d: raw_code", op);
	cr_assert_neq(r.raw_message[0], '\0', "op %d: raw_message", op);
	cr_assert_lt(strnlen(r.raw_code, sizeof r.raw_code), sizeof r.raw_code);
	cr_assert_lt(strnlen(r.raw_message, sizeof r.raw_message), sizeof r.raw_message);
	return r;
}

/* No byte run of the struct equals the number. */
static void assert_no_number(const void *obj, size_t size, const char *number)
{
	cr_assert_null(memmem(obj, size, number, strlen(number)), "full number %s leaked", number);
	/* Nor its first 12 digits (more than a masked PAN may show). */
	cr_assert_null(memmem(obj, size, number, 12), "number prefix of %s leaked", number);
}

/* The calls every card scenario must answer as documented. */
static void check_card_calls(const struct card_case *c, const struct payment_method *pm)
{
	for (int cap = 0; cap <= 1; cap++) {
		struct channel_result r = call(CH_OP_AUTHORIZE, pm, cap, NULL);
		cr_assert_eq(r.outcome, c->auth, "%s: authorize outcome", c->number);
		cr_assert_eq(r.code, c->auth_code, "%s: authorize code", c->number);
		cr_assert_str_eq(r.raw_code, c->auth_raw, "%s", c->number);
		assert_no_number(&r, sizeof r, c->number);
		if (c->auth == CH_DECLINED && c->auth_code)
			cr_assert_not_null(catalog_get(r.code));

		r = call(CH_OP_QUERY, pm, cap, NULL);
		cr_assert_eq(r.outcome, c->query, "%s: query outcome", c->number);
		if (c->query == CH_SUCCEEDED) {
			cr_assert_eq(r.amount, AMOUNT);
			cr_assert_eq(r.captured, (bool)cap);
			cr_assert_eq(r.code, 0);
		} else if (c->query == CH_DECLINED) {
			cr_assert_eq(r.code, c->auth_code, "%s: query gives the decline code", c->number);
			cr_assert_str_eq(r.raw_code, c->auth_raw);
		} else {
			cr_assert_eq(r.code, 0);
			cr_assert_str_eq(r.raw_code, "25");
		}
	}

	struct channel_result r = call(CH_OP_CAPTURE, pm, false, NULL);
	cr_assert_eq(r.outcome, CH_SUCCEEDED);
	cr_assert_str_eq(r.raw_code, "00");
	r = call(CH_OP_VOID, pm, false, NULL);
	cr_assert_eq(r.outcome, CH_SUCCEEDED);

	static const enum channel_op refund_ops[] = {CH_OP_REFUND, CH_OP_QUERY_REFUND};
	for (size_t k = 0; k < 2; k++) {
		enum channel_op op = refund_ops[k];
		r = call(op, pm, true, NULL);
		if (c->refund_code) {
			cr_assert_eq(r.outcome, CH_DECLINED, "%s: op %d", c->number, op);
			cr_assert_eq(r.code, c->refund_code);
			cr_assert_str_eq(r.raw_code, "R1");
		} else {
			cr_assert_eq(r.outcome, CH_SUCCEEDED, "%s: op %d", c->number, op);
			cr_assert_eq(r.code, 0);
			cr_assert_str_eq(r.raw_code, "00");
		}
	}
}

Test(sandbox, identity_and_caps)
{
	cr_assert_str_eq(ch->ops->kind, "sandbox");
	cr_assert_str_eq(ch->name, "sandbox_test");
	unsigned want = CH_CAP_CARD | CH_CAP_ALIPAY | CH_CAP_WECHAT_PAY | CH_CAP_MANUAL_CAPTURE |
			CH_CAP_REFUND | CH_CAP_QUERY;
	cr_assert_eq(ch->ops->caps, want);
	cr_assert_not_null(ch->ops->tokenize_card);
	cr_assert_not_null(ch->ops->lookup_method);
	cr_assert_not_null(ch->ops->wallet_method);

	struct channel *dflt = sandbox_channel_new(NULL);
	cr_assert_not_null(dflt);
	cr_assert_str_eq(dflt->name, "sandbox");
	dflt->ops->destroy(dflt);

	char name[PAYMENT_CHANNEL_MAX + 1];
	memset(name, 'n', sizeof name);
	name[PAYMENT_CHANNEL_MAX - 1] = '\0'; /* the longest that fits */
	struct channel *longest = sandbox_channel_new(name);
	cr_assert_not_null(longest);
	cr_assert_str_eq(longest->name, name);
	longest->ops->destroy(longest);
	name[PAYMENT_CHANNEL_MAX - 1] = 'n';
	name[PAYMENT_CHANNEL_MAX] = '\0'; /* one too long */
	cr_assert_null(sandbox_channel_new(name));
}

Test(sandbox, stripe_test_payment_methods)
{
	size_t seen = 0;
	for (size_t i = 0; i < N_CARD_CASES; i++) {
		const struct card_case *c = &card_cases[i];
		if (!c->pm_id)
			continue;
		seen++;
		struct payment_method pm;
		memset(&pm, 0x5A, sizeof pm);
		cr_assert_eq(ch->ops->lookup_method(ch, c->pm_id, &pm), 0, "%s", c->pm_id);
		cr_assert_eq(pm.type, PM_CARD);
		cr_assert_str_eq(pm.id, c->pm_id);
		cr_assert_str_eq(pm.brand, c->brand, "%s", c->pm_id);
		cr_assert_str_eq(pm.last4, c->last4, "%s", c->pm_id);
		cr_assert_eq(pm.exp_month, 12);
		cr_assert_eq(pm.exp_year, 2034);
		cr_assert_str_eq(pm.fingerprint, "");
		cr_assert_eq(strncmp(pm.token, "sb_card_", 8), 0, "%s", pm.token);
		assert_no_number(&pm, sizeof pm, c->number);
		check_card_calls(c, &pm);
	}
	cr_assert_eq(seen, 10);
}

Test(sandbox, stripe_ids_and_numbers_share_a_scenario)
{
	for (size_t i = 0; i < N_CARD_CASES; i++) {
		const struct card_case *c = &card_cases[i];
		if (!c->pm_id)
			continue;
		struct payment_method by_id, by_number;
		struct card_input card = card_of(c->number);
		cr_assert_eq(ch->ops->lookup_method(ch, c->pm_id, &by_id), 0);
		cr_assert_eq(ch->ops->tokenize_card(ch, &card, &by_number), 0);
		cr_assert_str_eq(by_id.token, by_number.token, "%s", c->pm_id);
	}
}

Test(sandbox, unknown_payment_method_ids)
{
	static const char *const bad[] = {
		"pm_card_unknown", "", "pm_card_Visa", "pm_card_visa ", "4242424242424242",
		"sb_card_visa", "pm_card_chargeDeclinedX",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct payment_method pm, before;
		memset(&pm, 0x5A, sizeof pm);
		before = pm;
		cr_assert_eq(ch->ops->lookup_method(ch, bad[i], &pm), CAT_NO_SUCH_OBJECT, "%s", bad[i]);
		cr_assert_eq(memcmp(&pm, &before, sizeof pm), 0, "untouched");
	}
	struct payment_method pm;
	cr_assert_eq(ch->ops->lookup_method(ch, NULL, &pm), CAT_NO_SUCH_OBJECT);
}

Test(sandbox, raw_test_numbers)
{
	for (size_t i = 0; i < N_CARD_CASES; i++) {
		const struct card_case *c = &card_cases[i];
		struct card_input card = card_of(c->number);
		struct payment_method pm;
		memset(&pm, 0x5A, sizeof pm);
		cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0, "%s", c->number);
		cr_assert_eq(pm.type, PM_CARD);
		cr_assert_str_eq(pm.id, "", "the caller names raw-detail methods");
		cr_assert_str_eq(pm.brand, c->brand, "%s", c->number);
		cr_assert_str_eq(pm.last4, c->last4, "%s", c->number);
		cr_assert_eq(pm.exp_month, 12);
		cr_assert_eq(pm.exp_year, 2030);
		cr_assert_str_eq(pm.fingerprint, "");
		cr_assert_eq(strncmp(pm.token, "sb_card_", 8), 0, "%s", pm.token);
		/* tokenize does not touch the input (the caller wipes it). */
		cr_assert_str_eq(card.number, c->number);
		assert_no_number(&pm, sizeof pm, c->number);
		cr_assert_null(strpbrk(pm.token, "0123456789"), "no digits in %s", pm.token);
		check_card_calls(c, &pm);
	}
}

Test(sandbox, live_number_message)
{
	struct card_input card = card_of("4111111111111111");
	struct payment_method pm;
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
	struct channel_result r = call(CH_OP_AUTHORIZE, &pm, true, NULL);
	cr_assert_eq(r.outcome, CH_DECLINED);
	cr_assert_eq(r.code, CAT_GENERIC_DECLINE);
	cr_assert_str_eq(r.raw_message, "live card number used in test mode");
	/* Every live number gets the same opaque token. */
	struct payment_method other;
	card = card_of("5105105105105100");
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &other), 0);
	cr_assert_str_eq(other.token, pm.token);
	cr_assert_str_eq(other.brand, "mastercard");
	cr_assert_str_eq(other.last4, "5100");
}

Test(sandbox, verification_code)
{
	struct card_input card = card_of("4000002760003184");
	struct payment_method pm;
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);

	struct channel_result r = call(CH_OP_AUTHORIZE, &pm, true, NULL);
	cr_assert_eq(r.outcome, CH_REQUIRES_ACTION);
	cr_assert_eq(r.code, CAT_VERIFICATION_REQUIRED);

	r = call(CH_OP_VERIFY, &pm, true, "000000");
	cr_assert_eq(r.outcome, CH_SUCCEEDED);
	cr_assert_eq(r.code, 0);
	cr_assert_str_eq(r.raw_code, "00");

	static const char *const wrong[] = {"", "123456", "00000", "0000000", "000000 ", "00000O"};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		r = call(CH_OP_VERIFY, &pm, true, wrong[i]);
		cr_assert_eq(r.outcome, CH_DECLINED, "'%s'", wrong[i]);
		cr_assert_eq(r.code, CAT_VERIFICATION_FAILED, "'%s'", wrong[i]);
		cr_assert_str_eq(r.raw_code, "63");
	}
	/* The sandbox remembers no verification: a query finds nothing. */
	r = call(CH_OP_QUERY, &pm, true, NULL);
	cr_assert_eq(r.outcome, CH_NOT_FOUND);
}

Test(sandbox, verify_on_other_tokens_answers_as_authorize)
{
	for (size_t i = 0; i < N_CARD_CASES; i++) {
		const struct card_case *c = &card_cases[i];
		if (c->auth == CH_REQUIRES_ACTION)
			continue;
		struct card_input card = card_of(c->number);
		struct payment_method pm;
		cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
		struct channel_result a = call(CH_OP_AUTHORIZE, &pm, true, NULL);
		struct channel_result v = call(CH_OP_VERIFY, &pm, true, "000000");
		cr_assert_eq(memcmp(&a, &v, sizeof a), 0, "%s", c->number);
	}
}

Test(sandbox, timeout_query_echoes_the_attempt)
{
	static const int64_t amounts[] = {1, 50, AMOUNT, INT64_MAX};
	struct card_input card = card_of("4000000000400202");
	struct payment_method pm;
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
	for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
		for (int cap = 0; cap <= 1; cap++) {
			struct channel_request req = {.op = CH_OP_QUERY, .amount = amounts[i],
						      .method = &pm, .capture = cap};
			struct channel_result r;
			ch->ops->call(ch, &req, &r);
			cr_assert_eq(r.outcome, CH_SUCCEEDED);
			cr_assert_eq(r.amount, amounts[i]);
			cr_assert_eq(r.captured, (bool)cap);
		}
}

Test(sandbox, wallet_outcomes)
{
	for (size_t i = 0; i < N_WALLET_CASES; i++) {
		const struct wallet_case *w = &wallet_cases[i];
		const char *what = w->outcome ? w->outcome : "(null)";
		struct payment_method pm;
		memset(&pm, 0x5A, sizeof pm);
		cr_assert_eq(ch->ops->wallet_method(ch, w->type, w->outcome, &pm), 0, "%s", what);
		cr_assert_eq(pm.type, w->type);
		cr_assert_str_eq(pm.id, "");
		cr_assert_str_eq(pm.brand, "");
		cr_assert_str_eq(pm.last4, "");
		cr_assert_str_eq(pm.fingerprint, "");
		const char *prefix = w->type == PM_ALIPAY ? "sb_alipay_" : "sb_wechat_pay_";
		cr_assert_eq(strncmp(pm.token, prefix, strlen(prefix)), 0, "%s", pm.token);

		for (int cap = 0; cap <= 1; cap++) {
			struct channel_result r = call(CH_OP_AUTHORIZE, &pm, cap, NULL);
			cr_assert_eq(r.outcome, w->auth, "%s", what);
			cr_assert_eq(r.code, w->auth_code, "%s", what);
			cr_assert_str_eq(r.raw_code, w->auth_raw, "%s", what);

			r = call(CH_OP_QUERY, &pm, cap, NULL);
			cr_assert_eq(r.outcome, w->query, "%s: query", what);
			if (w->query == CH_SUCCEEDED) {
				cr_assert_eq(r.amount, AMOUNT);
				cr_assert_eq(r.captured, (bool)cap);
			} else if (w->query == CH_DECLINED) {
				cr_assert_eq(r.code, w->auth_code);
				cr_assert_str_eq(r.raw_code, w->auth_raw);
			}
		}
		static const enum channel_op always_ok[] = {CH_OP_CAPTURE, CH_OP_VOID, CH_OP_REFUND,
							    CH_OP_QUERY_REFUND};
		for (size_t k = 0; k < sizeof always_ok / sizeof always_ok[0]; k++) {
			struct channel_result r = call(always_ok[k], &pm, true, NULL);
			cr_assert_eq(r.outcome, CH_SUCCEEDED, "%s op %d", what, always_ok[k]);
			cr_assert_eq(r.code, 0);
		}
	}
}

Test(sandbox, wallet_query_raw_codes)
{
	struct payment_method pm;
	cr_assert_eq(ch->ops->wallet_method(ch, PM_ALIPAY, "timeout_before", &pm), 0);
	cr_assert_str_eq(call(CH_OP_QUERY, &pm, true, NULL).raw_code, "ACQ.TRADE_NOT_EXIST");
	cr_assert_eq(ch->ops->wallet_method(ch, PM_ALIPAY, "timeout", &pm), 0);
	cr_assert_str_eq(call(CH_OP_QUERY, &pm, true, NULL).raw_code, "TRADE_SUCCESS");
	cr_assert_eq(ch->ops->wallet_method(ch, PM_WECHAT_PAY, "timeout_before", &pm), 0);
	cr_assert_str_eq(call(CH_OP_QUERY, &pm, true, NULL).raw_code, "ORDERNOTEXIST");
	cr_assert_eq(ch->ops->wallet_method(ch, PM_WECHAT_PAY, "timeout", &pm), 0);
	cr_assert_str_eq(call(CH_OP_QUERY, &pm, true, NULL).raw_code, "SUCCESS");
}

Test(sandbox, wallet_bad_input)
{
	static const char *const bad[] = {"unknown", "Success", "timeout ", "insufficient_funds",
					  "declined", "sb_alipay_success"};
	for (int t = PM_ALIPAY; t <= PM_WECHAT_PAY; t++)
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			struct payment_method pm, before;
			memset(&pm, 0x5A, sizeof pm);
			before = pm;
			cr_assert_eq(ch->ops->wallet_method(ch, (enum pm_type)t, bad[i], &pm),
				     CAT_PARAMETER_INVALID, "%s", bad[i]);
			cr_assert_eq(memcmp(&pm, &before, sizeof pm), 0);
		}
	struct payment_method pm;
	cr_assert_eq(ch->ops->wallet_method(ch, PM_CARD, NULL, &pm), CAT_PARAMETER_INVALID);
	cr_assert_eq(ch->ops->wallet_method(ch, PM_NONE, "success", &pm), CAT_PARAMETER_INVALID);
}

Test(sandbox, tokenize_refuses_bad_cards_without_writing)
{
	static const struct {
		const char *number;
		int month, year;
		const char *cvc;
		int want;
	} cases[] = {
		{"4242424242424241", 12, 2030, "123", CAT_INCORRECT_NUMBER},
		{"4242 4242 4242 4242", 12, 2030, "123", CAT_INCORRECT_NUMBER},
		{"42424242424", 12, 2030, "123", CAT_INCORRECT_NUMBER},
		{"", 12, 2030, "123", CAT_INCORRECT_NUMBER},
		{"4242424242424242", 13, 2030, "123", CAT_PARAMETER_INVALID},
		{"4242424242424242", 0, 2030, "123", CAT_PARAMETER_INVALID},
		{"4242424242424242", 12, 2100, "123", CAT_PARAMETER_INVALID},
		{"4242424242424242", 12, 1999, "123", CAT_PARAMETER_INVALID},
		{"4242424242424242", 10, 2026, "123", CAT_EXPIRED_CARD},
		{"4242424242424242", 10, 26, "123", CAT_EXPIRED_CARD},
		{"4242424242424242", 12, 2030, "12", CAT_INCORRECT_CVC},
		{"4242424242424242", 12, 2030, "12a", CAT_INCORRECT_CVC},
		/* Not Luhn-valid and not a known test number. */
		{"4000000000000203", 12, 2030, "123", CAT_INCORRECT_NUMBER},
		{"4000000000000211", 12, 2030, "123", CAT_INCORRECT_NUMBER},
		/* The number is checked first. */
		{"1234", 13, 1999, "x", CAT_INCORRECT_NUMBER},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct card_input card;
		memset(&card, 0, sizeof card);
		snprintf(card.number, sizeof card.number, "%s", cases[i].number);
		card.exp_month = cases[i].month;
		card.exp_year = cases[i].year;
		snprintf(card.cvc, sizeof card.cvc, "%s", cases[i].cvc);
		struct payment_method pm, before;
		memset(&pm, 0x5A, sizeof pm);
		before = pm;
		cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), cases[i].want, "case %zu", i);
		cr_assert_eq(memcmp(&pm, &before, sizeof pm), 0, "case %zu: out untouched", i);
	}
}

Test(sandbox, tokenize_expiry_follows_the_clock)
{
	struct card_input card = card_of("4242424242424242");
	card.exp_month = 11;
	card.exp_year = 26; /* 2-digit year: stored as 2026 */
	struct payment_method pm;
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
	cr_assert_eq(pm.exp_year, 2026);
	cr_assert_eq(pm.exp_month, 11);
	/* 2026-12-01T00:00:00Z: the card has just expired. */
	clock_manual_advance(&test_clock, INT64_C(1796083200000) - T0_MS - 1);
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
	clock_manual_advance(&test_clock, 1);
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), CAT_EXPIRED_CARD);
}

Test(sandbox, tokenize_accepts_missing_cvc)
{
	struct card_input card = card_of("4242424242424242");
	card.cvc[0] = '\0';
	struct payment_method pm;
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
	snprintf(card.cvc, sizeof card.cvc, "%s", "1234");
	cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
}

Test(sandbox, unknown_or_missing_token)
{
	struct payment_method pm;
	memset(&pm, 0, sizeof pm);
	pm.type = PM_CARD;
	snprintf(pm.token, sizeof pm.token, "%s", "sb_card_nonexistent");
	struct channel_result r = call(CH_OP_AUTHORIZE, &pm, true, NULL);
	cr_assert_eq(r.outcome, CH_DECLINED);
	cr_assert_eq(r.code, CAT_CHANNEL_REJECTED);
	r = call(CH_OP_VERIFY, &pm, true, "000000");
	cr_assert_eq(r.outcome, CH_DECLINED);
	cr_assert_eq(r.code, CAT_CHANNEL_REJECTED);
	r = call(CH_OP_QUERY, &pm, true, NULL);
	cr_assert_eq(r.outcome, CH_NOT_FOUND);

	/* A token of one type does not work for another. */
	pm.type = PM_ALIPAY;
	snprintf(pm.token, sizeof pm.token, "%s", "sb_card_visa");
	cr_assert_eq(call(CH_OP_AUTHORIZE, &pm, true, NULL).code, CAT_CHANNEL_REJECTED);

	/* No method at all. */
	cr_assert_eq(call(CH_OP_AUTHORIZE, NULL, true, NULL).code, CAT_CHANNEL_REJECTED);
	cr_assert_eq(call(CH_OP_QUERY, NULL, true, NULL).outcome, CH_NOT_FOUND);
	cr_assert_eq(call(CH_OP_CAPTURE, NULL, true, NULL).outcome, CH_SUCCEEDED);
	cr_assert_eq(call(CH_OP_REFUND, NULL, true, NULL).outcome, CH_SUCCEEDED);

	/* A token filling the whole field, without a NUL, is handled. */
	pm.type = PM_CARD;
	memset(pm.token, 'x', sizeof pm.token);
	cr_assert_eq(call(CH_OP_AUTHORIZE, &pm, true, NULL).code, CAT_CHANNEL_REJECTED);
}

Test(sandbox, deterministic_and_stateless)
{
	/* Two channels, calls in different orders: identical answers. */
	struct channel *other = sandbox_channel_new("other");
	cr_assert_not_null(other);
	for (size_t i = 0; i < N_CARD_CASES; i++) {
		struct card_input card = card_of(card_cases[i].number);
		struct payment_method pm;
		cr_assert_eq(ch->ops->tokenize_card(ch, &card, &pm), 0);
		for (int op = CH_OP_QUERY_REFUND; op >= CH_OP_AUTHORIZE; op--) {
			struct channel_request req = {.op = (enum channel_op)op, .amount = 77,
						      .method = &pm, .capture = true};
			snprintf(req.verification_code, sizeof req.verification_code, "%s", "000000");
			struct channel_result a, b, c;
			memset(&a, 1, sizeof a);
			memset(&b, 2, sizeof b);
			memset(&c, 3, sizeof c);
			ch->ops->call(ch, &req, &a);
			other->ops->call(other, &req, &b);
			ch->ops->call(ch, &req, &c);
			cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "%s op %d", card_cases[i].number, op);
			cr_assert_eq(memcmp(&a, &c, sizeof a), 0, "%s op %d", card_cases[i].number, op);
		}
	}
	other->ops->destroy(other);
}

Test(sandbox, every_catalog_code_exists)
{
	for (size_t i = 0; i < N_CARD_CASES; i++)
		if (card_cases[i].auth_code)
			cr_assert_not_null(catalog_get(card_cases[i].auth_code));
	for (size_t i = 0; i < N_WALLET_CASES; i++)
		if (wallet_cases[i].auth_code)
			cr_assert_not_null(catalog_get(wallet_cases[i].auth_code));
	cr_assert_not_null(catalog_get(601));
	cr_assert_not_null(catalog_get(303));
}
