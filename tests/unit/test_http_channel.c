/* tests/unit/test_http_channel: channel/http and channel/registry without a
 * network.  channel_new makes every kind; encode builds the documented
 * paths and bodies (and never a card number); decode maps every raw code
 * of every kind in docs/SIM_PROTOCOL.md, every row of its transport table,
 * bad signatures, query and refund states, and cuts long raw texts
 * safely.  The expected values are written out here again, from the
 * document, independently of channel/http_codes.def. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/utf8.h"
#include "channel/channel.h"
#include "channel/http_internal.h"
#include "channel_testkit.h"
#include "core/catalog.h"

static struct channel_config config_of(const char *kind)
{
	struct channel_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "%s_1", kind);
	snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
	snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:1");
	snprintf(cfg.secret, sizeof cfg.secret, "s3cret");
	cfg.timeout_ms = 1000;
	cfg.priority = 7;
	return cfg;
}

static struct channel *make(const char *kind)
{
	struct channel_config cfg = config_of(kind);
	return testkit_channel(&cfg);
}

static struct channel_request request(enum channel_op op)
{
	struct channel_request req;
	memset(&req, 0, sizeof req);
	req.op = op;
	snprintf(req.reference, sizeof req.reference, "%s",
		 op == CH_OP_REFUND || op == CH_OP_QUERY_REFUND ? "re_1" : "ch_1");
	snprintf(req.payment_reference, sizeof req.payment_reference, "ch_1");
	req.amount = 1000;
	memcpy(req.currency, "USD", 4);
	req.capture = true;
	return req;
}

/* decode() of a reply with this status, signature and body. */
static struct channel_result decode_reply(struct channel *ch, enum channel_op op, long status,
					  bool signed_ok, const char *body)
{
	struct channel_request req = request(op);
	return testkit_decode(ch, &req, status, signed_ok, body);
}

/* A signed 200 with this code (and state, NULL = none). */
static struct channel_result answer(struct channel *ch, enum channel_op op, const char *code,
				    const char *state)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"reference\":\"ch_1\",\"code\":\"%s\",\"message\":\"msg %s\"%s%s%s,"
		 "\"amount\":1000,\"captured_amount\":800}",
		 code, code, state ? ",\"state\":\"" : "", state ? state : "", state ? "\"" : "");
	return decode_reply(ch, op, 200, true, body);
}

/* ---- channel_new ------------------------------------------------------------------ */

Test(http_channel, channel_new_makes_every_kind)
{
	const char *kinds[] = {"acquirer", "wallet_a", "wallet_b"};
	const unsigned caps[] = {CH_CAP_CARD, CH_CAP_ALIPAY, CH_CAP_WECHAT_PAY};
	for (int i = 0; i < 3; i++) {
		struct channel_config cfg = config_of(kinds[i]);
		struct channel *ch = make(kinds[i]);
		cr_assert_str_eq(ch->ops->kind, kinds[i]);
		cr_assert_null(ch->ops->call);
		cr_assert_not_null(ch->ops->encode);
		cr_assert_not_null(ch->ops->decode);
		cr_assert(ch->ops->caps & caps[i]);
		cr_assert(ch->ops->caps & CH_CAP_QUERY);
		cr_assert_str_eq(ch->name, cfg.name);
		cr_assert_eq(memcmp(&ch->config, &cfg, sizeof cfg), 0);
		ch->ops->destroy(ch);
	}
	struct channel *sb = make("sandbox");
	cr_assert_not_null(sb->ops->call);
	cr_assert_str_eq(sb->name, "sandbox_1");
	cr_assert_eq(sb->config.priority, 7);
	cr_assert_str_eq(sb->config.kind, "sandbox");
	sb->ops->destroy(sb);
}

Test(http_channel, channel_new_refuses_bad_config)
{
	char err[128];
	struct channel_config cfg = config_of("paypal");
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "kind"), "%s", err);

	cfg = config_of("acquirer");
	snprintf(cfg.url, sizeof cfg.url, "ftp://x");
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "url"), "%s", err);

	cfg = config_of("wallet_a");
	cfg.secret[0] = '\0';
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "secret"), "%s", err);

	cfg = config_of("wallet_b");
	cfg.timeout_ms = 0;
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "timeout_ms"), "%s", err);

	cfg = config_of("acquirer");
	memset(cfg.name, 'a', sizeof cfg.name); /* no NUL */
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "name"), "%s", err);
}

/* ---- encode ------------------------------------------------------------------------ */

static json_t *encode_ok(struct channel *ch, const struct channel_request *req, const char *path)
{
	struct channel_http_request out;
	cr_assert_eq(ch->ops->encode(ch, req, &out), 0, "op %d", (int)req->op);
	cr_assert_str_eq(out.path, path);
	cr_assert_not(out.get);
	cr_assert_not_null(out.body);
	json_error_t jerr;
	json_t *body = json_loads(out.body, 0, &jerr);
	cr_assert_not_null(body, "%s: %s", out.body, jerr.text);
	free(out.body);
	return body;
}

static void assert_keys(json_t *obj, const char *const *keys, size_t n)
{
	cr_assert_eq(json_object_size(obj), n);
	for (size_t i = 0; i < n; i++)
		cr_assert_not_null(json_object_get(obj, keys[i]), "missing %s", keys[i]);
}

static struct payment_method card_method(void)
{
	struct payment_method pm;
	memset(&pm, 0, sizeof pm);
	pm.type = PM_CARD;
	snprintf(pm.id, sizeof pm.id, "pm_card_4242424242424242");
	snprintf(pm.brand, sizeof pm.brand, "visa");
	snprintf(pm.last4, sizeof pm.last4, "4242");
	pm.exp_month = 12;
	pm.exp_year = 2030;
	snprintf(pm.fingerprint, sizeof pm.fingerprint, "fp4111111111111111");
	snprintf(pm.token, sizeof pm.token, "tok_abc");
	return pm;
}

Test(http_channel, encode_authorize_card_sends_no_card_number)
{
	struct channel *ch = make("acquirer");
	struct payment_method pm = card_method();
	struct channel_request req = request(CH_OP_AUTHORIZE);
	memcpy(req.currency, "usd", 4);
	req.method = &pm;
	req.capture = false;
	struct channel_http_request raw;
	cr_assert_eq(ch->ops->encode(ch, &req, &raw), 0);
	cr_assert_null(strstr(raw.body, "4242424242424242"));
	cr_assert_null(strstr(raw.body, "4111111111111111"));
	cr_assert_null(strstr(raw.body, "fingerprint"));
	cr_assert_null(strstr(raw.body, "pm_card"));
	free(raw.body);

	json_t *body = encode_ok(ch, &req, "/v1/authorize");
	const char *keys[] = {"reference", "amount", "currency", "capture", "method"};
	assert_keys(body, keys, 5);
	cr_assert_str_eq(json_string_value(json_object_get(body, "reference")), "ch_1");
	cr_assert_eq(json_integer_value(json_object_get(body, "amount")), 1000);
	cr_assert_str_eq(json_string_value(json_object_get(body, "currency")), "USD");
	cr_assert(json_is_false(json_object_get(body, "capture")));
	json_t *m = json_object_get(body, "method");
	const char *mkeys[] = {"type", "brand", "last4", "exp_month", "exp_year", "token"};
	assert_keys(m, mkeys, 6);
	cr_assert_str_eq(json_string_value(json_object_get(m, "type")), "card");
	cr_assert_str_eq(json_string_value(json_object_get(m, "brand")), "visa");
	cr_assert_str_eq(json_string_value(json_object_get(m, "last4")), "4242");
	cr_assert_eq(json_integer_value(json_object_get(m, "exp_month")), 12);
	cr_assert_eq(json_integer_value(json_object_get(m, "exp_year")), 2030);
	cr_assert_str_eq(json_string_value(json_object_get(m, "token")), "tok_abc");
	json_decref(body);
	ch->ops->destroy(ch);
}

Test(http_channel, encode_wallet_method_is_its_type_only)
{
	const char *kinds[] = {"wallet_a", "wallet_b"};
	const enum pm_type types[] = {PM_ALIPAY, PM_WECHAT_PAY};
	const char *names[] = {"alipay", "wechat_pay"};
	for (int i = 0; i < 2; i++) {
		struct channel *ch = make(kinds[i]);
		struct payment_method pm = {.type = types[i]};
		snprintf(pm.token, sizeof pm.token, "sb_wallet");
		struct channel_request req = request(CH_OP_AUTHORIZE);
		req.method = &pm;
		json_t *body = encode_ok(ch, &req, "/v1/authorize");
		json_t *m = json_object_get(body, "method");
		cr_assert_eq(json_object_size(m), 1);
		cr_assert_str_eq(json_string_value(json_object_get(m, "type")), names[i]);
		cr_assert(json_is_true(json_object_get(body, "capture")));
		json_decref(body);
		ch->ops->destroy(ch);
	}
}

Test(http_channel, encode_other_operations)
{
	struct channel *ch = make("acquirer");
	struct channel_request req = request(CH_OP_CAPTURE);
	snprintf(req.reference, sizeof req.reference, "ignored");
	req.amount = 700;
	json_t *b = encode_ok(ch, &req, "/v1/capture");
	const char *cap_keys[] = {"reference", "amount"};
	assert_keys(b, cap_keys, 2);
	cr_assert_str_eq(json_string_value(json_object_get(b, "reference")), "ch_1");
	cr_assert_eq(json_integer_value(json_object_get(b, "amount")), 700);
	json_decref(b);

	req = request(CH_OP_VOID);
	b = encode_ok(ch, &req, "/v1/void");
	const char *ref_keys[] = {"reference"};
	assert_keys(b, ref_keys, 1);
	cr_assert_str_eq(json_string_value(json_object_get(b, "reference")), "ch_1");
	json_decref(b);

	req = request(CH_OP_REFUND);
	req.amount = 500;
	b = encode_ok(ch, &req, "/v1/refund");
	const char *ref_fields[] = {"reference", "payment_reference", "amount", "currency"};
	assert_keys(b, ref_fields, 4);
	cr_assert_str_eq(json_string_value(json_object_get(b, "reference")), "re_1");
	cr_assert_str_eq(json_string_value(json_object_get(b, "payment_reference")), "ch_1");
	cr_assert_eq(json_integer_value(json_object_get(b, "amount")), 500);
	json_decref(b);

	req = request(CH_OP_QUERY);
	b = encode_ok(ch, &req, "/v1/query");
	assert_keys(b, ref_keys, 1);
	cr_assert_str_eq(json_string_value(json_object_get(b, "reference")), "ch_1");
	json_decref(b);

	req = request(CH_OP_QUERY_REFUND);
	b = encode_ok(ch, &req, "/v1/query_refund");
	assert_keys(b, ref_keys, 1);
	cr_assert_str_eq(json_string_value(json_object_get(b, "reference")), "re_1");
	json_decref(b);
	ch->ops->destroy(ch);
}

Test(http_channel, encode_refuses_what_it_cannot_send)
{
	struct channel *ch = make("acquirer");
	struct payment_method card = card_method(), alipay = {.type = PM_ALIPAY};
	struct channel_http_request out;

	struct channel_request req = request(CH_OP_VERIFY);
	req.method = &card;
	cr_assert_eq(ch->ops->encode(ch, &req, &out), CAT_CHANNEL_REJECTED);
	cr_assert_null(out.body);

	req = request(CH_OP_AUTHORIZE); /* no method */
	cr_assert_eq(ch->ops->encode(ch, &req, &out), CAT_CHANNEL_REJECTED);
	req.method = &alipay; /* a wallet on the acquirer */
	cr_assert_eq(ch->ops->encode(ch, &req, &out), CAT_CHANNEL_REJECTED);
	req.method = &card;
	req.reference[0] = '\0';
	cr_assert_eq(ch->ops->encode(ch, &req, &out), CAT_CHANNEL_REJECTED);
	req = request(CH_OP_AUTHORIZE);
	req.method = &card;
	memcpy(req.currency, "U$D", 4);
	cr_assert_eq(ch->ops->encode(ch, &req, &out), CAT_CHANNEL_REJECTED);
	req = request(CH_OP_REFUND);
	req.payment_reference[0] = '\0';
	cr_assert_eq(ch->ops->encode(ch, &req, &out), CAT_CHANNEL_REJECTED);
	cr_assert_null(out.body);
	ch->ops->destroy(ch);
}

/* ---- every raw code of every kind -------------------------------------------------- */

/* What a raw code does: its AUTHORIZE outcome and code, and on a QUERY
 * (state given where the document's code implies one). */
struct code_case {
	const char *raw;
	enum channel_outcome auth;
	int auth_code;
	enum channel_outcome query;
	int query_code;
	const char *query_state;
};

#define OK_ROW(raw) {raw, CH_SUCCEEDED, 0, CH_SUCCEEDED, 0, "captured"}
#define DECLINE_ROW(raw, cat) {raw, CH_DECLINED, cat, CH_DECLINED, cat, "declined"}
#define BUSY_ROW(raw, cat) {raw, CH_NOT_EXECUTED, cat, CH_NOT_EXECUTED, cat, NULL}
#define PENDING_ROW(raw) {raw, CH_UNKNOWN, 202, CH_UNKNOWN, 202, "processing"}
#define MISSING_ROW(raw) {raw, CH_DECLINED, 207, CH_NOT_FOUND, 0, "none"}

static const struct code_case acquirer_cases[] = {
	OK_ROW("00"), DECLINE_ROW("05", 108), PENDING_ROW("09"), DECLINE_ROW("12", 114),
	DECLINE_ROW("14", 104), MISSING_ROW("25"), DECLINE_ROW("41", 105), DECLINE_ROW("43", 106),
	DECLINE_ROW("51", 101), DECLINE_ROW("54", 102), DECLINE_ROW("55", 110),
	DECLINE_ROW("61", 109), DECLINE_ROW("65", 111), DECLINE_ROW("82", 103),
	BUSY_ROW("91", 206), DECLINE_ROW("96", 203),
};
static const struct code_case wallet_a_cases[] = {
	OK_ROW("SUCCESS"),
	DECLINE_ROW("ACQ.BUYER_BALANCE_NOT_ENOUGH", 101),
	BUSY_ROW("ACQ.SYSTEM_BUSY", 201),
	DECLINE_ROW("ACQ.SYSTEM_ERROR", 203),
	DECLINE_ROW("ACQ.TRADE_HAS_CLOSE", 207),
	DECLINE_ROW("ACQ.BUYER_ENABLE_STATUS_FORBID", 113),
	DECLINE_ROW("ACQ.RISK_CONTROL_REJECT", 301),
	DECLINE_ROW("ACQ.PAYMENT_AMOUNT_LIMIT", 109),
	PENDING_ROW("ACQ.TRADE_PROCESSING"),
	MISSING_ROW("ACQ.TRADE_NOT_EXIST"),
};
static const struct code_case wallet_b_cases[] = {
	OK_ROW("SUCCESS"), DECLINE_ROW("NOTENOUGH", 101), BUSY_ROW("SYSTEMERROR", 201),
	DECLINE_ROW("BANKERROR", 203), DECLINE_ROW("ORDERCLOSED", 207),
	DECLINE_ROW("ACCOUNT_FROZEN", 113), DECLINE_ROW("RISK_REJECT", 301),
	DECLINE_ROW("EXCEED_LIMIT", 109), PENDING_ROW("USERPAYING"), MISSING_ROW("ORDERNOTEXIST"),
};

static void check_kind(const char *kind, const struct code_case *cases, size_t n)
{
	struct channel *ch = make(kind);
	for (size_t i = 0; i < n; i++) {
		const struct code_case *c = &cases[i];
		struct channel_result r = answer(ch, CH_OP_AUTHORIZE, c->raw, NULL);
		ASSERT_RESULT(r, c->auth, c->auth_code, c->raw);
		char msg[64];
		snprintf(msg, sizeof msg, "msg %s", c->raw);
		cr_assert_str_eq(r.raw_message, msg);
		r = answer(ch, CH_OP_QUERY, c->raw, c->query_state);
		ASSERT_RESULT(r, c->query, c->query_code, c->raw);
		r = answer(ch, CH_OP_QUERY, c->raw, NULL); /* the code alone, no state */
		/* A success code says nothing of capture, and a decline code
		 * without a state nothing of the payment (the query itself may
		 * have been refused): both ask again. */
		enum channel_outcome alone = c->query == CH_NOT_FOUND ? CH_NOT_FOUND
					     : c->auth == CH_DECLINED  ? CH_UNKNOWN
								       : c->auth;
		if (c->auth != CH_SUCCEEDED)
			cr_assert_eq(r.outcome, alone, "%s %s", kind, c->raw);
		/* CAPTURE and VOID read codes as AUTHORIZE does */
		r = answer(ch, CH_OP_CAPTURE, c->raw, NULL);
		ASSERT_RESULT(r, c->auth, c->auth_code, c->raw);
		r = answer(ch, CH_OP_VOID, c->raw, NULL);
		ASSERT_RESULT(r, c->auth, c->auth_code, c->raw);
	}
	/* a code of another kind or of none: nobody knows what happened */
	struct channel_result r = answer(ch, CH_OP_AUTHORIZE, "APPROVED_MAYBE", NULL);
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "APPROVED_MAYBE");
	r = answer(ch, CH_OP_AUTHORIZE, strcmp(kind, "acquirer") == 0 ? "SUCCESS" : "00", NULL);
	cr_assert_eq(r.outcome, CH_UNKNOWN);
	ch->ops->destroy(ch);
}

Test(http_channel, acquirer_codes)
{
	check_kind("acquirer", acquirer_cases, sizeof acquirer_cases / sizeof acquirer_cases[0]);
}

Test(http_channel, wallet_a_codes)
{
	check_kind("wallet_a", wallet_a_cases, sizeof wallet_a_cases / sizeof wallet_a_cases[0]);
}

Test(http_channel, wallet_b_codes)
{
	check_kind("wallet_b", wallet_b_cases, sizeof wallet_b_cases / sizeof wallet_b_cases[0]);
}

Test(http_channel, success_fills_amount_and_capture)
{
	struct channel *ch = make("acquirer");
	struct channel_result r = answer(ch, CH_OP_AUTHORIZE, "00", "authorized");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	cr_assert_not(r.captured);
	cr_assert_eq(r.amount, 1000);
	r = answer(ch, CH_OP_AUTHORIZE, "00", "captured");
	cr_assert(r.captured);
	cr_assert_eq(r.amount, 800); /* captured_amount */
	r = answer(ch, CH_OP_CAPTURE, "00", "captured");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	r = answer(ch, CH_OP_VOID, "00", "voided");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	/* a success code on a state that says otherwise: unknown */
	r = answer(ch, CH_OP_AUTHORIZE, "00", "declined");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "00");
	r = answer(ch, CH_OP_AUTHORIZE, "00", "processing");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "00");
	r = answer(ch, CH_OP_CAPTURE, "00", "authorized");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "00");
	ch->ops->destroy(ch);
}

/* ---- query and refund states ---------------------------------------------------------- */

Test(http_channel, query_states)
{
	struct channel *ch = make("acquirer");
	struct channel_result r = answer(ch, CH_OP_QUERY, "00", "captured");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	cr_assert(r.captured);
	cr_assert_eq(r.amount, 800);
	r = answer(ch, CH_OP_QUERY, "00", "authorized");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	cr_assert_not(r.captured);
	cr_assert_eq(r.amount, 1000);
	r = answer(ch, CH_OP_QUERY, "51", "declined");
	ASSERT_RESULT(r, CH_DECLINED, 101, "51");
	r = answer(ch, CH_OP_QUERY, "00", "declined");
	ASSERT_RESULT(r, CH_DECLINED, CAT_GENERIC_DECLINE, "00");
	r = answer(ch, CH_OP_QUERY, "00", "voided");
	ASSERT_RESULT(r, CH_DECLINED, CAT_CHANNEL_REJECTED, "00");
	cr_assert_eq(r.amount, 0);
	r = answer(ch, CH_OP_QUERY, "00", "none");
	ASSERT_RESULT(r, CH_NOT_FOUND, 0, "00");
	r = answer(ch, CH_OP_QUERY, "25", "none");
	ASSERT_RESULT(r, CH_NOT_FOUND, 0, "25");
	r = answer(ch, CH_OP_QUERY, "09", "processing");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "09");
	r = answer(ch, CH_OP_QUERY, "00", "processing");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "00");
	r = answer(ch, CH_OP_QUERY, "00", "exploded");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "00");
	r = answer(ch, CH_OP_QUERY, "00", NULL); /* captured or only authorized? */
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "00");
	r = answer(ch, CH_OP_QUERY, "51", "captured"); /* contradiction */
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "51");
	ch->ops->destroy(ch);
}

Test(http_channel, refund_states)
{
	struct channel *acq = make("acquirer"), *wa = make("wallet_a"), *wb = make("wallet_b");
	struct channel_result r = answer(acq, CH_OP_REFUND, "00", "succeeded");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	cr_assert_eq(r.amount, 1000);
	r = answer(acq, CH_OP_REFUND, "00", NULL);
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	r = answer(acq, CH_OP_REFUND, "12", "failed");
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_FAILED, "12");
	r = answer(acq, CH_OP_REFUND, "12", NULL);
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_FAILED, "12");
	r = answer(acq, CH_OP_REFUND, "54", "failed"); /* expired card: money cannot go back to it */
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_CARD_CLOSED, "54");
	r = answer(acq, CH_OP_REFUND, "41", "failed");
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_CARD_CLOSED, "41");
	r = answer(wa, CH_OP_REFUND, "ACQ.TRADE_HAS_CLOSE", "failed");
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_FAILED, "ACQ.TRADE_HAS_CLOSE");
	r = answer(wb, CH_OP_REFUND, "ORDERCLOSED", "failed");
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_FAILED, "ORDERCLOSED");
	r = answer(wb, CH_OP_REFUND, "SUCCESS", "processing");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "SUCCESS");
	r = answer(wb, CH_OP_REFUND, "SUCCESS", "none"); /* the refund we just sent? */
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "SUCCESS");
	r = answer(wb, CH_OP_REFUND, "SYSTEMERROR", NULL);
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "SYSTEMERROR");
	r = answer(wb, CH_OP_REFUND, "USERPAYING", NULL);
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "USERPAYING");

	r = answer(wa, CH_OP_QUERY_REFUND, "SUCCESS", "succeeded");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "SUCCESS");
	r = answer(wa, CH_OP_QUERY_REFUND, "SUCCESS", "none");
	ASSERT_RESULT(r, CH_NOT_FOUND, 0, "SUCCESS");
	r = answer(wa, CH_OP_QUERY_REFUND, "ACQ.TRADE_NOT_EXIST", NULL);
	ASSERT_RESULT(r, CH_NOT_FOUND, 0, "ACQ.TRADE_NOT_EXIST");
	r = answer(wa, CH_OP_QUERY_REFUND, "ACQ.TRADE_HAS_CLOSE", "failed");
	ASSERT_RESULT(r, CH_DECLINED, CAT_REFUND_FAILED, "ACQ.TRADE_HAS_CLOSE");
	r = answer(wa, CH_OP_QUERY_REFUND, "SUCCESS", "processing");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "SUCCESS");
	r = answer(wa, CH_OP_QUERY_REFUND, "ACQ.SYSTEM_ERROR", "succeeded"); /* contradiction */
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "ACQ.SYSTEM_ERROR");
	acq->ops->destroy(acq);
	wa->ops->destroy(wa);
	wb->ops->destroy(wb);
}

/* ---- transport trouble ------------------------------------------------------------------ */

static struct channel_result decode_transport(struct channel *ch, enum channel_transport t)
{
	struct channel_request req = request(CH_OP_AUTHORIZE);
	struct channel_http_reply reply = {.transport = t, .body = "", .body_len = 0};
	struct channel_result res;
	ch->ops->decode(ch, &req, &reply, &res);
	return res;
}

Test(http_channel, transport_trouble)
{
	struct channel *ch = make("wallet_b");
	struct channel_result r = decode_transport(ch, CH_NET_REFUSED);
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "CONNECTION_REFUSED");
	r = decode_transport(ch, CH_NET_TIMEOUT);
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "TIMEOUT");
	r = decode_transport(ch, CH_NET_BROKEN);
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "CONNECTION_BROKEN");

	r = decode_reply(ch, CH_OP_AUTHORIZE, 503, true, "{\"error\":\"outage\"}");
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "HTTP_503");
	cr_assert(strstr(r.raw_message, "outage"), "%s", r.raw_message);
	r = decode_reply(ch, CH_OP_AUTHORIZE, 429, true, "");
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 205, "HTTP_429");
	const long others[] = {500, 502, 504, 520, 403, 409, 302, 201};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		char raw[16];
		snprintf(raw, sizeof raw, "HTTP_%ld", others[i]);
		r = decode_reply(ch, CH_OP_AUTHORIZE, others[i], true, "oops");
		ASSERT_RESULT(r, CH_UNKNOWN, 202, raw);
	}
	/* payd's own mistakes (or a wrong secret: then the answer's signature
	 * cannot verify either), refused before execution */
	const long ours[] = {400, 401, 404};
	for (size_t i = 0; i < 3; i++) {
		char raw[16];
		snprintf(raw, sizeof raw, "HTTP_%ld", ours[i]);
		r = decode_reply(ch, CH_OP_AUTHORIZE, ours[i], false, "{\"error\":\"signature_invalid\"}");
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 207, raw);
		cr_assert(strstr(r.raw_message, "signature_invalid"), "%s", r.raw_message);
	}
	ch->ops->destroy(ch);
}

Test(http_channel, bad_signature_or_body_is_unknown)
{
	struct channel *ch = make("acquirer");
	const char *ok = "{\"code\":\"00\",\"message\":\"Approved\",\"state\":\"captured\"}";
	struct channel_result r = decode_reply(ch, CH_OP_AUTHORIZE, 200, false, ok);
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_SIGNATURE");
	r = decode_reply(ch, CH_OP_QUERY, 200, false, ok);
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_SIGNATURE");
	/* an unsigned 503 or 429 may not claim "not executed" */
	r = decode_reply(ch, CH_OP_AUTHORIZE, 503, false, "");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_SIGNATURE");
	r = decode_reply(ch, CH_OP_AUTHORIZE, 429, false, "");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_SIGNATURE");

	const char *bad[] = {"", "not json", "[1,2]", "{\"message\":\"no code\"}", "{\"code\":51}",
			     "{\"code\":\"\"}", "{\"code\":\"00\",\"code\":\"51\"}", "{\"code\":\"00\""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = decode_reply(ch, CH_OP_AUTHORIZE, 200, true, bad[i]);
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_ANSWER");
	}
	ch->ops->destroy(ch);
}

Test(http_channel, raw_texts_are_cut_safely)
{
	struct channel *ch = make("acquirer");
	char body[1024], code[80], message[400];
	memset(code, 'X', 60);
	code[60] = '\0';
	size_t n = 0; /* "é" (2 bytes) repeated, so a byte cut would split one */
	while (n + 2 < 300) {
		message[n++] = (char)0xC3;
		message[n++] = (char)0xA9;
	}
	message[n] = '\0';
	snprintf(body, sizeof body, "{\"code\":\"%s\",\"message\":\"a%s\"}", code, message);
	struct channel_result r = decode_reply(ch, CH_OP_AUTHORIZE, 200, true, body);
	cr_assert_eq(r.outcome, CH_UNKNOWN); /* not a code of the kind */
	cr_assert_eq(strlen(r.raw_code), PAYMENT_RAW_CODE_MAX - 1);
	cr_assert_eq(strncmp(r.raw_code, code, PAYMENT_RAW_CODE_MAX - 1), 0);
	size_t len = strlen(r.raw_message);
	cr_assert(len <= PAYMENT_RAW_MESSAGE_MAX - 1 && len >= PAYMENT_RAW_MESSAGE_MAX - 3, "%zu", len);
	cr_assert(utf8_valid(r.raw_message, len));

	/* a known code with no message gets the table's */
	r = decode_reply(ch, CH_OP_AUTHORIZE, 200, true, "{\"code\":\"51\"}");
	ASSERT_RESULT(r, CH_DECLINED, 101, "51");
	cr_assert_str_eq(r.raw_message, "Not sufficient funds");
	ch->ops->destroy(ch);
}

/* ---- signatures and probes ----------------------------------------------------------------- */

Test(http_channel, signatures)
{
	const char *body = "{\"code\":\"00\"}";
	int64_t now = (int64_t)time(NULL);
	char sig[HTTP_SIGNATURE_MAX];
	cr_assert_eq(http_channel_sign("k", now, body, strlen(body), sig), 0);
	cr_assert_eq(strncmp(sig, "t=", 2), 0);
	cr_assert(http_channel_verify("k", sig, body, strlen(body), now));
	cr_assert_not(http_channel_verify("k2", sig, body, strlen(body), now));
	cr_assert_not(http_channel_verify("k", sig, "{\"code\":\"05\"}", strlen(body), now));
	cr_assert_not(http_channel_verify("k", sig, body, strlen(body), now + 301));
	cr_assert(http_channel_verify("k", sig, body, strlen(body), now + 300));
	cr_assert_not(http_channel_verify("k", NULL, body, strlen(body), now));
	cr_assert_not(http_channel_verify("k", "", body, strlen(body), now));
	cr_assert_not(http_channel_verify("k", "t=,v1=00", body, strlen(body), now));
	char upper[HTTP_SIGNATURE_MAX];
	snprintf(upper, sizeof upper, "%s", sig);
	for (char *p = strstr(upper, "v1=") + 3; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	cr_assert(http_channel_verify("k", upper, body, strlen(body), now));

	/* the documented message: HMAC-SHA256(secret, "<t>.<body>"), empty body "<t>." */
	cr_assert_eq(http_channel_sign("s3cret-a", 1763690000, "", 0, sig), 0);
	cr_assert_str_eq(sig, "t=1763690000,v1="
			      "6f1cde68b74279f59adac8efda307f52934fa345059d8240d52891272421a2da");
}

Test(http_channel, probe_answers)
{
	struct channel_result r;
	struct channel_http_reply ok = {.transport = CH_NET_ANSWERED, .status = 200, .body = "",
					.signature_ok = true};
	http_channel_decode_probe(&ok, &r);
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "OK");
	struct channel_http_reply unsigned_ok = ok;
	unsigned_ok.signature_ok = false;
	http_channel_decode_probe(&unsigned_ok, &r);
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "BAD_SIGNATURE");
	struct channel_http_reply down = ok;
	down.status = 503;
	http_channel_decode_probe(&down, &r);
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "HTTP_503");
	struct channel_http_reply timeout = {.transport = CH_NET_TIMEOUT, .body = ""};
	http_channel_decode_probe(&timeout, &r);
	ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "TIMEOUT");
}
