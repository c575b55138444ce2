/* tests/unit/test_bank_channel: channel/bank (kind bank, the payout rails)
 * without payd-sim.  channel_new makes a rail; encode builds the two
 * documented bodies (the account number only in the payout's) and refuses
 * what it cannot send, charge operations included (and the charge kinds
 * refuse payout operations); decode maps every status / state / reason
 * row of docs/SIM_PROTOCOL.md ("Bank payout rails"), every transport row,
 * and treats contradictions as unknown; parse_callback accepts a good
 * callback in each state and refuses forged, stale, unsigned and malformed
 * ones.  Last, the dispatcher against a little libmicrohttpd rail: the
 * payout's destination is copied (the caller may wipe its own at once)
 * and the copy and the body are wiped when the job ends.  Expected values
 * are written out here from the document, independently of
 * channel/bank_codes.def; signatures are computed with base/crypto (through
 * channel_testkit.c, which also has the little server's plumbing). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/crypto.h"
#include "base/utf8.h"
#include "channel/channel.h"
#include "channel/dispatch_internal.h"
#include "channel/http_internal.h"
#include "channel_testkit.h"
#include "core/catalog.h"

#define SECRET "s3cret-bank"
#define NUMBER "6222020200112233"
#define NOW_S INT64_C(1795255200)
#define WAIT_MS 10000
#define BODY_CAP 2048

static struct channel_config config_of(const char *kind)
{
	struct channel_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "%s_1", kind);
	snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
	snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:1");
	snprintf(cfg.secret, sizeof cfg.secret, SECRET);
	cfg.timeout_ms = 1000;
	return cfg;
}

static struct channel *make(const char *kind)
{
	struct channel_config cfg = config_of(kind);
	return testkit_channel(&cfg);
}

static struct channel_payout destination(void)
{
	struct channel_payout p;
	memset(&p, 0, sizeof p);
	snprintf(p.holder_name, sizeof p.holder_name, "Zhang \"Wei\"");
	snprintf(p.number, sizeof p.number, NUMBER);
	snprintf(p.bank_code, sizeof p.bank_code, "ICBC-01");
	memcpy(p.country, "CN", 3);
	return p;
}

static struct channel_payout dest; /* what request() points at */

static struct channel_request request(enum channel_op op)
{
	struct channel_request req;
	memset(&req, 0, sizeof req);
	req.op = op;
	snprintf(req.reference, sizeof req.reference, "po_1");
	req.amount = op == CH_OP_PAYOUT ? 5000 : 0;
	memcpy(req.currency, "CNY", 4);
	dest = destination();
	req.payout = op == CH_OP_PAYOUT ? &dest : NULL;
	return req;
}

/* ---- channel_new -------------------------------------------------------------------- */

Test(bank_channel, channel_new_makes_a_rail)
{
	struct channel_config cfg = config_of("bank");
	struct channel *ch = make("bank");
	cr_assert_str_eq(ch->ops->kind, "bank");
	cr_assert_null(ch->ops->call);
	cr_assert_not_null(ch->ops->encode);
	cr_assert_not_null(ch->ops->decode);
	cr_assert_not_null(ch->ops->parse_callback);
	cr_assert_eq(ch->ops->caps, CH_CAP_PAYOUT | CH_CAP_QUERY);
	cr_assert_str_eq(ch->name, "bank_1");
	cr_assert_eq(memcmp(&ch->config, &cfg, sizeof cfg), 0);
	ch->ops->destroy(ch);
}

Test(bank_channel, channel_new_refuses_bad_config)
{
	char err[128];
	struct channel_config cfg = config_of("bank");
	snprintf(cfg.url, sizeof cfg.url, "ftp://x");
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "url"), "%s", err);
	cfg = config_of("bank");
	cfg.secret[0] = '\0';
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "secret"), "%s", err);
	cfg = config_of("bank");
	cfg.timeout_ms = 0;
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "timeout_ms"), "%s", err);
	cfg = config_of("banks");
	cr_assert_null(channel_new(&cfg, err, sizeof err));
	cr_assert(strstr(err, "bank"), "the message lists the kinds: %s", err);
}

/* ---- encode --------------------------------------------------------------------------- */

static json_t *encode_ok(struct channel *ch, const struct channel_request *req, const char *path,
			 char *raw, size_t raw_cap)
{
	struct channel_http_request http;
	cr_assert_eq(ch->ops->encode(ch, req, &http), 0);
	cr_assert_str_eq(http.path, path);
	cr_assert_not(http.get);
	cr_assert_not_null(http.body);
	snprintf(raw, raw_cap, "%s", http.body);
	json_t *j = json_loads(http.body, JSON_REJECT_DUPLICATES, NULL);
	free(http.body);
	cr_assert(json_is_object(j), "%s", raw);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	cr_assert_not_null(s, "no string %s", key);
	return s;
}

Test(bank_channel, encode_payout_body)
{
	struct channel *ch = make("bank");
	struct channel_request req = request(CH_OP_PAYOUT);
	char raw[BODY_CAP];
	json_t *j = encode_ok(ch, &req, "/v1/payout", raw, sizeof raw);
	cr_assert_eq(json_object_size(j), 5, "%s", raw);
	cr_assert_str_eq(jstr(j, "reference"), "po_1");
	cr_assert_eq(json_integer_value(json_object_get(j, "amount")), 5000);
	cr_assert_str_eq(jstr(j, "currency"), "CNY");
	cr_assert_str_eq(jstr(j, "method"), "standard");
	json_t *acct = json_object_get(j, "account");
	cr_assert_eq(json_object_size(acct), 4, "%s", raw);
	cr_assert_str_eq(jstr(acct, "holder_name"), "Zhang \"Wei\"");
	cr_assert_str_eq(jstr(acct, "number"), NUMBER);
	cr_assert_str_eq(jstr(acct, "bank_code"), "ICBC-01");
	cr_assert_str_eq(jstr(acct, "country"), "CN");
	json_decref(j);

	dest.instant = true;
	memcpy(req.currency, "cny", 4);
	j = encode_ok(ch, &req, "/v1/payout", raw, sizeof raw);
	cr_assert_str_eq(jstr(j, "method"), "instant");
	cr_assert_str_eq(jstr(j, "currency"), "CNY", "kept upper-case");
	json_decref(j);
	ch->ops->destroy(ch);
}

Test(bank_channel, encode_query_payout_body_has_no_number)
{
	struct channel *ch = make("bank");
	struct channel_request req = request(CH_OP_QUERY_PAYOUT);
	req.payout = &dest; /* even when the caller leaves it there */
	char raw[BODY_CAP];
	json_t *j = encode_ok(ch, &req, "/v1/query_payout", raw, sizeof raw);
	cr_assert_eq(json_object_size(j), 1, "%s", raw);
	cr_assert_str_eq(jstr(j, "reference"), "po_1");
	cr_assert_null(strstr(raw, NUMBER));
	cr_assert_null(strstr(raw, "2233"));
	json_decref(j);
	ch->ops->destroy(ch);
}

static void refused(struct channel *ch, const struct channel_request *req, const char *what)
{
	struct channel_http_request http;
	memset(&http, 0x5a, sizeof http);
	cr_assert_eq(ch->ops->encode(ch, req, &http), CAT_CHANNEL_REJECTED, "%s", what);
	cr_assert_null(http.body, "%s: no body", what);
}

Test(bank_channel, encode_refuses_what_it_cannot_send)
{
	struct channel *ch = make("bank");
	struct channel_request req = request(CH_OP_PAYOUT);
	req.payout = NULL;
	refused(ch, &req, "no destination");
	const char *cases[] = {"holder", "number", "short number", "bad number", "bank_code",
			       "bad bank_code", "country", "lower country", "control in holder"};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		req = request(CH_OP_PAYOUT);
		switch (i) {
		case 0: dest.holder_name[0] = '\0'; break;
		case 1: dest.number[0] = '\0'; break;
		case 2: snprintf(dest.number, sizeof dest.number, "123"); break;
		case 3: snprintf(dest.number, sizeof dest.number, "6222 0202"); break;
		case 4: dest.bank_code[0] = '\0'; break;
		case 5: snprintf(dest.bank_code, sizeof dest.bank_code, "IC/BC"); break;
		case 6: dest.country[0] = '\0'; break;
		case 7: memcpy(dest.country, "cn", 3); break;
		case 8: dest.holder_name[2] = '\n'; break;
		}
		refused(ch, &req, cases[i]);
	}
	req = request(CH_OP_PAYOUT);
	req.amount = 0;
	refused(ch, &req, "amount 0");
	req = request(CH_OP_PAYOUT);
	req.amount = 1000000000000LL;
	refused(ch, &req, "amount over the rail's limit");
	req = request(CH_OP_PAYOUT);
	memcpy(req.currency, "C1Y", 4);
	refused(ch, &req, "currency");
	req = request(CH_OP_PAYOUT);
	req.reference[0] = '\0';
	refused(ch, &req, "reference");
	req = request(CH_OP_QUERY_PAYOUT);
	req.reference[0] = '\0';
	refused(ch, &req, "query without reference");
	ch->ops->destroy(ch);
}

Test(bank_channel, charge_ops_refused_by_bank_payout_ops_by_charge_kinds)
{
	struct channel *bank = make("bank");
	const enum channel_op charges[] = {CH_OP_AUTHORIZE, CH_OP_VERIFY, CH_OP_CAPTURE, CH_OP_VOID,
					   CH_OP_REFUND,    CH_OP_QUERY,  CH_OP_QUERY_REFUND};
	struct payment_method pm = {.type = PM_CARD, .brand = "visa", .last4 = "4242",
				    .exp_month = 12, .exp_year = 2030, .token = "tok_1"};
	for (size_t i = 0; i < sizeof charges / sizeof charges[0]; i++) {
		struct channel_request req = request(charges[i]);
		req.amount = 1000;
		req.method = &pm;
		snprintf(req.payment_reference, sizeof req.payment_reference, "ch_1");
		refused(bank, &req, "charge op on a rail");
	}
	bank->ops->destroy(bank);
	const char *kinds[] = {"acquirer", "wallet_a", "wallet_b"};
	for (size_t k = 0; k < 3; k++) {
		struct channel *ch = make(kinds[k]);
		struct channel_request req = request(CH_OP_PAYOUT);
		refused(ch, &req, kinds[k]);
		req = request(CH_OP_QUERY_PAYOUT);
		refused(ch, &req, kinds[k]);
		cr_assert_not(ch->ops->caps & CH_CAP_PAYOUT);
		cr_assert_null(ch->ops->parse_callback);
		ch->ops->destroy(ch);
	}
}

/* ---- decode: answers ------------------------------------------------------------------ */

static struct channel_result decode_reply(struct channel *ch, enum channel_op op, long status,
					  bool signed_ok, const char *body)
{
	struct channel_request req = request(op);
	return testkit_decode(ch, &req, status, signed_ok, body);
}

/* A signed 200 answer: status, state and reason (NULL: null / absent). */
static struct channel_result answer(struct channel *ch, enum channel_op op, const char *status,
				    const char *state, const char *reason)
{
	char body[BODY_CAP], st[64] = "", rs[64];
	if (state)
		snprintf(st, sizeof st, "\"state\":\"%s\",", state);
	if (reason)
		snprintf(rs, sizeof rs, "\"%s\"", reason);
	else
		snprintf(rs, sizeof rs, "null");
	snprintf(body, sizeof body,
		 "{\"reference\":\"po_1\",\"status\":\"%s\",\"reason\":%s,%s"
		 "\"trace_id\":\"BANKA-20261122-000042\",\"amount\":5000,\"currency\":\"CNY\","
		 "\"expected_arrival_ms\":1795400000000,\"channel_id\":\"bank_a_p1\","
		 "\"message\":\"msg %s\"}",
		 status, rs, st, status);
	return decode_reply(ch, op, 200, true, body);
}

struct row {
	enum channel_op op;
	const char *status, *state, *reason;
	enum channel_outcome outcome;
	int code;
	enum channel_payout_state po;
	const char *raw;
};

#define P CH_OP_PAYOUT
#define Q CH_OP_QUERY_PAYOUT

/* docs/SIM_PROTOCOL.md, "Bank payout rails": every row, for both operations. */
static const struct row rows[] = {
	{P, "ACSP", "pending", NULL, CH_SUCCEEDED, 0, CH_PO_PENDING, "ACSP"},
	{Q, "ACSP", "pending", NULL, CH_SUCCEEDED, 0, CH_PO_PENDING, "ACSP"},
	{P, "ACSP", "in_transit", NULL, CH_SUCCEEDED, 0, CH_PO_IN_TRANSIT, "ACSP"},
	{Q, "ACSP", "in_transit", NULL, CH_SUCCEEDED, 0, CH_PO_IN_TRANSIT, "ACSP"},
	{P, "ACSC", "paid", NULL, CH_SUCCEEDED, 0, CH_PO_PAID, "ACSC"},
	{Q, "ACSC", "paid", NULL, CH_SUCCEEDED, 0, CH_PO_PAID, "ACSC"},
	/* failed: the reason's code */
	{Q, "RJCT", "failed", "AC01", CH_DECLINED, 604, CH_PO_FAILED, "RJCT:AC01"},
	{Q, "RJCT", "failed", "AC04", CH_DECLINED, 603, CH_PO_FAILED, "RJCT:AC04"},
	{Q, "RJCT", "failed", "AC06", CH_DECLINED, 606, CH_PO_FAILED, "RJCT:AC06"},
	{Q, "RJCT", "failed", "AG01", CH_DECLINED, 606, CH_PO_FAILED, "RJCT:AG01"},
	{Q, "RJCT", "failed", "AM04", CH_DECLINED, 203, CH_PO_FAILED, "RJCT:AM04"},
	{Q, "RJCT", "failed", "MD07", CH_DECLINED, 603, CH_PO_FAILED, "RJCT:MD07"},
	{Q, "RJCT", "failed", "MS03", CH_DECLINED, 606, CH_PO_FAILED, "RJCT:MS03"},
	{Q, "RJCT", "failed", "ZZ99", CH_DECLINED, 606, CH_PO_FAILED, "RJCT:ZZ99"},
	{Q, "RJCT", "failed", NULL, CH_DECLINED, 606, CH_PO_FAILED, "RJCT"},
	{P, "RJCT", "failed", "AC04", CH_DECLINED, 603, CH_PO_FAILED, "RJCT:AC04"},
	/* returned: 605 whatever the reason */
	{Q, "RJCT", "returned", "AC04", CH_DECLINED, 605, CH_PO_RETURNED, "RJCT:AC04"},
	{Q, "RJCT", "returned", "AC01", CH_DECLINED, 605, CH_PO_RETURNED, "RJCT:AC01"},
	{Q, "RJCT", "returned", "MD07", CH_DECLINED, 605, CH_PO_RETURNED, "RJCT:MD07"},
	{P, "RJCT", "returned", "AC06", CH_DECLINED, 605, CH_PO_RETURNED, "RJCT:AC06"},
	/* not decided yet: ask again */
	{P, "PDNG", "pending", NULL, CH_UNKNOWN, 202, CH_PO_PENDING, "PDNG"},
	{Q, "PDNG", "pending", NULL, CH_UNKNOWN, 202, CH_PO_PENDING, "PDNG"},
	{Q, "PDNG", NULL, NULL, CH_UNKNOWN, 202, CH_PO_PENDING, "PDNG"},
	/* never received */
	{Q, "RJCT", "none", "NOTF", CH_NOT_FOUND, 0, CH_PO_NONE, "RJCT:NOTF"},
	{Q, "RJCT", "none", NULL, CH_NOT_FOUND, 0, CH_PO_NONE, "RJCT"},
	/* contradictions and the unknown: ask again */
	{P, "RJCT", "none", "NOTF", CH_UNKNOWN, 202, CH_PO_NONE, "RJCT:NOTF"},
	{Q, "RJCT", "none", "AC04", CH_UNKNOWN, 202, CH_PO_NONE, "RJCT:AC04"},
	{Q, "ACSP", "none", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "ACSP"},
	{Q, "ACSP", "paid", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "ACSP"},
	{Q, "ACSC", "pending", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "ACSC"},
	{Q, "ACSC", "returned", "AC04", CH_UNKNOWN, 202, CH_PO_NONE, "ACSC:AC04"},
	{Q, "RJCT", "paid", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "RJCT"},
	{Q, "RJCT", "in_transit", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "RJCT"},
	{Q, "ACSP", "failed", "AC04", CH_UNKNOWN, 202, CH_PO_NONE, "ACSP:AC04"},
	{Q, "ACSP", "pending", "AC04", CH_UNKNOWN, 202, CH_PO_NONE, "ACSP:AC04"},
	{Q, "ACSC", "paid", "AC04", CH_UNKNOWN, 202, CH_PO_NONE, "ACSC:AC04"},
	{Q, "PDNG", "paid", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "PDNG"},
	{Q, "ACSP", NULL, NULL, CH_UNKNOWN, 202, CH_PO_NONE, "ACSP"},
	{Q, "ACSP", "settled", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "ACSP"},
	{Q, "ACTC", "pending", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "ACTC"},
};

Test(bank_channel, decode_every_status_state_reason_row)
{
	struct channel *ch = make("bank");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *w = &rows[i];
		struct channel_result r = answer(ch, w->op, w->status, w->state, w->reason);
		cr_assert_eq(r.outcome, w->outcome, "row %zu (%s %s %s): outcome %d", i, w->status,
			     w->state, w->reason, (int)r.outcome);
		cr_assert_eq(r.code, w->code, "row %zu: code %d", i, r.code);
		cr_assert_eq(r.payout_state, w->po, "row %zu: payout_state %d", i, (int)r.payout_state);
		cr_assert_str_eq(r.raw_code, w->raw, "row %zu", i);
		char msg[32];
		snprintf(msg, sizeof msg, "msg %s", w->status);
		cr_assert_str_eq(r.raw_message, msg, "row %zu", i);
		bool rejected = w->po == CH_PO_FAILED || w->po == CH_PO_RETURNED;
		if (rejected && w->outcome == CH_DECLINED)
			cr_assert_str_eq(r.reason, w->reason ? w->reason : "", "row %zu", i);
		else
			cr_assert_str_eq(r.reason, "", "row %zu: no reason kept", i);
	}
	ch->ops->destroy(ch);
}

Test(bank_channel, decode_copies_trace_arrival_message_amount)
{
	struct channel *ch = make("bank");
	struct channel_result r = answer(ch, P, "ACSP", "pending", NULL);
	cr_assert_str_eq(r.trace_id, "BANKA-20261122-000042");
	cr_assert_eq(r.expected_arrival_ms, INT64_C(1795400000000));
	cr_assert_str_eq(r.raw_message, "msg ACSP");
	cr_assert_eq(r.amount, 5000);
	r = answer(ch, Q, "RJCT", "failed", "AC04");
	cr_assert_str_eq(r.trace_id, "BANKA-20261122-000042");
	cr_assert_str_eq(r.reason, "AC04");

	/* no message: the reason's or the state's words */
	r = decode_reply(ch, Q, 200, true,
			 "{\"reference\":\"po_1\",\"status\":\"RJCT\",\"reason\":\"AC04\","
			 "\"state\":\"failed\"}");
	ASSERT_RESULT(r, CH_DECLINED, 603, "RJCT:AC04");
	cr_assert_str_eq(r.raw_message, "Closed account number");
	cr_assert_str_eq(r.trace_id, "");
	cr_assert_eq(r.expected_arrival_ms, 0);
	r = decode_reply(ch, Q, 200, true, "{\"status\":\"ACSC\",\"state\":\"paid\"}");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "ACSC");
	cr_assert_str_eq(r.raw_message, "Settlement completed");
	ch->ops->destroy(ch);
}

Test(bank_channel, decode_contradicting_reference_or_amount_is_unknown)
{
	struct channel *ch = make("bank");
	struct channel_result r = decode_reply(
		ch, P, 200, true,
		"{\"reference\":\"po_2\",\"status\":\"ACSP\",\"state\":\"pending\",\"amount\":5000}");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "ACSP");
	r = decode_reply(
		ch, P, 200, true,
		"{\"reference\":\"po_1\",\"status\":\"ACSP\",\"state\":\"pending\",\"amount\":4999}");
	ASSERT_RESULT(r, CH_UNKNOWN, 202, "ACSP");
	r = decode_reply(ch, Q, 200, true,
			 "{\"reference\":\"po_1\",\"status\":\"ACSC\",\"state\":\"paid\",\"amount\":4999}");
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "ACSC");
	cr_assert_eq(r.amount, 4999, "a query tells the amount executed");
	ch->ops->destroy(ch);
}

Test(bank_channel, decode_bad_bodies_are_unknown)
{
	struct channel *ch = make("bank");
	const char *bad[] = {
		"", "not json", "[]", "{}", "{\"status\":\"\",\"state\":\"paid\"}",
		"{\"status\":7,\"state\":\"paid\"}", "{\"status\":\"ACSC\",\"state\":7}",
		"{\"status\":\"RJCT\",\"state\":\"failed\",\"reason\":5}",
		"{\"status\":\"ACSC\",\"status\":\"ACSC\",\"state\":\"paid\"}",
		"{\"status\":\"ACSC\",\"state\":\"paid\",\"expected_arrival_ms\":\"soon\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct channel_result r = decode_reply(ch, Q, 200, true, bad[i]);
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_ANSWER");
	}
	ch->ops->destroy(ch);
}

Test(bank_channel, decode_cuts_long_texts_safely)
{
	struct channel *ch = make("bank");
	char body[BODY_CAP], msg[600] = "", trace[200];
	for (int i = 0; i < 150; i++)
		strcat(msg, "银"); /* 3 bytes each */
	memset(trace, 'T', sizeof trace - 1);
	trace[sizeof trace - 1] = '\0';
	snprintf(body, sizeof body,
		 "{\"status\":\"ACSP\",\"state\":\"in_transit\",\"message\":\"%s\",\"trace_id\":\"%s\"}",
		 msg, trace);
	struct channel_result r = decode_reply(ch, Q, 200, true, body);
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "ACSP");
	cr_assert_lt(strlen(r.raw_message), sizeof r.raw_message);
	cr_assert(utf8_valid(r.raw_message, strlen(r.raw_message)));
	cr_assert_eq(strlen(r.trace_id), sizeof r.trace_id - 1);
	r = decode_reply(ch, Q, 200, true,
			 "{\"status\":\"RJCT\",\"state\":\"failed\","
			 "\"reason\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\"}");
	cr_assert_eq(r.outcome, CH_DECLINED);
	cr_assert_eq(r.code, 606);
	cr_assert_str_eq(r.reason, "", "a reason that does not fit is not kept");
	cr_assert_lt(strlen(r.raw_code), sizeof r.raw_code);
	ch->ops->destroy(ch);
}

/* ---- decode: transport ----------------------------------------------------------------- */

static struct channel_result transport(struct channel *ch, enum channel_op op,
				       enum channel_transport t)
{
	struct channel_request req = request(op);
	struct channel_http_reply reply = {.transport = t, .body = ""};
	struct channel_result res;
	ch->ops->decode(ch, &req, &reply, &res);
	return res;
}

Test(bank_channel, transport_trouble_for_payout_ops)
{
	struct channel *ch = make("bank");
	const enum channel_op ops[] = {P, Q};
	for (int i = 0; i < 2; i++) {
		enum channel_op op = ops[i];
		struct channel_result r = transport(ch, op, CH_NET_REFUSED);
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "CONNECTION_REFUSED");
		r = transport(ch, op, CH_NET_TIMEOUT);
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "TIMEOUT");
		r = transport(ch, op, CH_NET_BROKEN);
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "CONNECTION_BROKEN");
		r = decode_reply(ch, op, 503, true, "{\"error\":\"outage\"}");
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 201, "HTTP_503");
		r = decode_reply(ch, op, 429, true, "");
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 205, "HTTP_429");
		r = decode_reply(ch, op, 400, true,
				 "{\"error\":\"invalid_request\",\"param\":\"account.number\"}");
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 207, "HTTP_400");
		r = decode_reply(ch, op, 401, false, "{\"error\":\"signature_invalid\"}");
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 207, "HTTP_401");
		r = decode_reply(ch, op, 404, true, "");
		ASSERT_RESULT(r, CH_NOT_EXECUTED, 207, "HTTP_404");
		r = decode_reply(ch, op, 500, true, "");
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "HTTP_500");
		r = decode_reply(ch, op, 503, false, "");
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_SIGNATURE");
		r = decode_reply(ch, op, 200, false, "{\"status\":\"ACSC\",\"state\":\"paid\"}");
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_SIGNATURE");
		r = decode_reply(ch, op, 200, true, "{\"status\":");
		ASSERT_RESULT(r, CH_UNKNOWN, 202, "BAD_ANSWER");
	}
	ch->ops->destroy(ch);
}

/* ---- callbacks ------------------------------------------------------------------------------ */

static void sign(const char *secret, int64_t t, const char *body, char out[HTTP_SIGNATURE_MAX])
{
	char hex[CRYPTO_SHA256_HEX];
	testkit_hmac_hex(secret, (long long)t, body, strlen(body), hex);
	snprintf(out, HTTP_SIGNATURE_MAX, "t=%lld,v1=%s", (long long)t, hex);
}

static int callback(struct channel *ch, const char *body, const char *secret, int64_t t,
		    struct channel_callback *out)
{
	char sig[HTTP_SIGNATURE_MAX];
	sign(secret, t, body, sig);
	return ch->ops->parse_callback(ch, body, strlen(body), sig, NOW_S, out);
}

static const char good[] =
	"{\"id\":\"cb_bank_a_1a2b_7\",\"type\":\"payout.state\",\"reference\":\"po_1\","
	"\"state\":\"paid\",\"status\":\"ACSC\",\"reason\":null,\"trace_id\":\"BANKA-20261122-000042\","
	"\"at_ms\":1795255200123,\"message\":\"Settled\"}";

Test(bank_channel, callback_good)
{
	struct channel *ch = make("bank");
	struct channel_callback cb;
	memset(&cb, 0x5a, sizeof cb);
	cr_assert_eq(callback(ch, good, SECRET, NOW_S, &cb), 0);
	cr_assert_str_eq(cb.id, "cb_bank_a_1a2b_7");
	cr_assert_str_eq(cb.reference, "po_1");
	cr_assert_eq(cb.at_ms, INT64_C(1795255200123));
	ASSERT_RESULT(cb.result, CH_SUCCEEDED, 0, "ACSC");
	cr_assert_eq(cb.result.payout_state, CH_PO_PAID);
	cr_assert_str_eq(cb.result.trace_id, "BANKA-20261122-000042");
	cr_assert_str_eq(cb.result.raw_message, "Settled");
	cr_assert_str_eq(cb.result.reason, "");
	/* within the window on both sides */
	cr_assert_eq(callback(ch, good, SECRET, NOW_S - CHANNEL_CALLBACK_WINDOW_S, &cb), 0);
	cr_assert_eq(callback(ch, good, SECRET, NOW_S + CHANNEL_CALLBACK_WINDOW_S, &cb), 0);
	ch->ops->destroy(ch);
}

Test(bank_channel, callback_each_state)
{
	struct {
		const char *state, *status, *reason;
		enum channel_outcome outcome;
		int code;
		enum channel_payout_state po;
		const char *raw;
	} cases[] = {
		{"pending", "ACSP", NULL, CH_SUCCEEDED, 0, CH_PO_PENDING, "ACSP"},
		{"in_transit", "ACSP", NULL, CH_SUCCEEDED, 0, CH_PO_IN_TRANSIT, "ACSP"},
		{"paid", "ACSC", NULL, CH_SUCCEEDED, 0, CH_PO_PAID, "ACSC"},
		{"failed", "RJCT", "AC01", CH_DECLINED, 604, CH_PO_FAILED, "RJCT:AC01"},
		{"failed", "RJCT", "AC04", CH_DECLINED, 603, CH_PO_FAILED, "RJCT:AC04"},
		{"failed", "RJCT", "AG01", CH_DECLINED, 606, CH_PO_FAILED, "RJCT:AG01"},
		{"returned", "RJCT", "AC04", CH_DECLINED, 605, CH_PO_RETURNED, "RJCT:AC04"},
		/* signed but self-contradicting: parsed, outcome unknown (ask the rail) */
		{"paid", "RJCT", NULL, CH_UNKNOWN, 202, CH_PO_NONE, "RJCT"},
	};
	struct channel *ch = make("bank");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[BODY_CAP], rs[16];
		snprintf(rs, sizeof rs, cases[i].reason ? "\"%s\"" : "null",
			 cases[i].reason ? cases[i].reason : "");
		snprintf(body, sizeof body,
			 "{\"id\":\"cb_%zu\",\"type\":\"payout.state\",\"reference\":\"po_x-%zu\","
			 "\"state\":\"%s\",\"status\":\"%s\",\"reason\":%s,\"trace_id\":\"T-%zu\","
			 "\"at_ms\":%zu}",
			 i, i, cases[i].state, cases[i].status, rs, i, i);
		struct channel_callback cb;
		cr_assert_eq(callback(ch, body, SECRET, NOW_S, &cb), 0, "%s", body);
		ASSERT_RESULT(cb.result, cases[i].outcome, cases[i].code, cases[i].raw);
		cr_assert_eq(cb.result.payout_state, cases[i].po, "%s", body);
		char want[16];
		snprintf(want, sizeof want, "po_x-%zu", i);
		cr_assert_str_eq(cb.reference, want);
		cr_assert_eq(cb.at_ms, (int64_t)i);
		if (cases[i].outcome == CH_DECLINED)
			cr_assert_str_eq(cb.result.reason, cases[i].reason);
	}
	ch->ops->destroy(ch);
}

Test(bank_channel, callback_forged_stale_or_unsigned_is_refused)
{
	struct channel *ch = make("bank");
	struct channel_callback cb, before;
	memset(&cb, 0x5a, sizeof cb);
	before = cb;
	cr_assert_eq(callback(ch, good, "another-secret", NOW_S, &cb), CAT_API_KEY_INVALID, "forged");
	cr_assert_eq(callback(ch, good, SECRET, NOW_S - CHANNEL_CALLBACK_WINDOW_S - 1, &cb),
		     CAT_API_KEY_INVALID, "stale");
	cr_assert_eq(callback(ch, good, SECRET, NOW_S + CHANNEL_CALLBACK_WINDOW_S + 1, &cb),
		     CAT_API_KEY_INVALID, "from the future");
	cr_assert_eq(ch->ops->parse_callback(ch, good, strlen(good), NULL, NOW_S, &cb),
		     CAT_API_KEY_INVALID, "missing header");
	cr_assert_eq(ch->ops->parse_callback(ch, good, strlen(good), "", NOW_S, &cb),
		     CAT_API_KEY_INVALID, "empty header");
	char sig[HTTP_SIGNATURE_MAX];
	sign(SECRET, NOW_S, good, sig);
	cr_assert_eq(ch->ops->parse_callback(ch, good, strlen(good) - 1, sig, NOW_S, &cb),
		     CAT_API_KEY_INVALID, "not the exact body");
	sig[strlen(sig) - 1] ^= 1;
	cr_assert_eq(ch->ops->parse_callback(ch, good, strlen(good), sig, NOW_S, &cb),
		     CAT_API_KEY_INVALID, "one bit off");
	cr_assert_eq(memcmp(&cb, &before, sizeof cb), 0, "out untouched");
	ch->ops->destroy(ch);
}

/* good with `from` replaced by `to` (once). */
static const char *spoil(const char *from, const char *to)
{
	static char buf[BODY_CAP];
	const char *at = strstr(good, from);
	cr_assert_not_null(at, "%s", from);
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	return buf;
}

Test(bank_channel, callback_malformed_is_refused)
{
	struct channel *ch = make("bank");
	const char *bad[] = {
		"not json",
		"[1]",
		"",
		spoil("{", "{\"id\":\"x\","),                        /* duplicate key */
		spoil("\"id\":\"cb_bank_a_1a2b_7\",", ""),
		spoil("\"cb_bank_a_1a2b_7\"", "\"\""),
		spoil("\"cb_bank_a_1a2b_7\"", "\"0123456789012345678901234567890123456789012345678901234567890123\""),
		spoil("\"cb_bank_a_1a2b_7\"", "\"cb\\u0001\""),
		spoil("\"cb_bank_a_1a2b_7\"", "7"),
		spoil("\"type\":\"payout.state\",", ""),
		spoil("\"payout.state\"", "\"payment.state\""),
		spoil("\"reference\":\"po_1\",", ""),
		spoil("\"po_1\"", "\"\""),
		spoil("\"po_1\"", "\"po 1\""),
		spoil("\"po_1\"", "\"po_0123456789012345678901234567\""),
		spoil("\"state\":\"paid\",", ""),
		spoil("\"state\":\"paid\"", "\"state\":\"none\""),
		spoil("\"state\":\"paid\"", "\"state\":\"settled\""),
		spoil("\"status\":\"ACSC\",", ""),
		spoil("\"status\":\"ACSC\"", "\"status\":1"),
		spoil("\"reason\":null", "\"reason\":4"),
		spoil("\"trace_id\":\"BANKA-20261122-000042\"", "\"trace_id\":[]"),
		spoil(",\"at_ms\":1795255200123", ""),
		spoil("1795255200123", "\"1795255200123\""),
		spoil("1795255200123", "-1"),
		spoil("1795255200123", "1.5"),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char body[BODY_CAP];
		snprintf(body, sizeof body, "%s", bad[i]);
		struct channel_callback cb;
		cr_assert_eq(callback(ch, body, SECRET, NOW_S, &cb), CAT_MALFORMED_BODY, "case %zu: %s",
			     i, body);
	}
	ch->ops->destroy(ch);
}

/* ---- the dispatcher wipes the destination ------------------------------------------------- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char body[BODY_CAP];   /* the last request body the rail saw */
	int wiped_calls;
	bool payout_zero, body_zero, body_had_number;
	int results;
	struct channel_result res;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void on_wiped(const struct channel_payout *payout, const char *body, size_t body_len)
{
	pthread_mutex_lock(&W.mu);
	W.wiped_calls++;
	W.payout_zero = all_zero(payout, sizeof *payout);
	W.body_zero = body == NULL || all_zero(body, body_len);
	W.body_had_number = body != NULL && body_len > 0;
	pthread_mutex_unlock(&W.mu);
}

static void on_done(void *ctx, const struct channel_result *res, int64_t latency_ns)
{
	(void)ctx, (void)latency_ns;
	pthread_mutex_lock(&W.mu);
	W.res = *res;
	W.results++;
	pthread_cond_broadcast(&W.cv);
	pthread_mutex_unlock(&W.mu);
}

/* Waits until the job that answered has also been freed. */
static bool wait_wiped(int n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	bool ok = true;
	pthread_mutex_lock(&W.mu);
	while (W.results < n && ok)
		ok = pthread_cond_timedwait(&W.cv, &W.mu, &ts) == 0;
	pthread_mutex_unlock(&W.mu);
	for (int i = 0; i < 1000; i++) { /* job_free runs right after done */
		pthread_mutex_lock(&W.mu);
		bool done = W.wiped_calls >= n;
		pthread_mutex_unlock(&W.mu);
		if (done)
			return ok;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return false;
}

static enum MHD_Result rail_reply(struct MHD_Connection *conn)
{
	static const char body[] = "{\"reference\":\"po_1\",\"status\":\"ACSP\",\"reason\":null,"
				   "\"state\":\"pending\",\"trace_id\":\"RAIL-1\",\"amount\":5000}";
	char sig[HTTP_SIGNATURE_MAX];
	sign(SECRET, (int64_t)time(NULL), body, sig);
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "X-Payd-Signature", sig);
	enum MHD_Result rc = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result rail(void *cls, struct MHD_Connection *conn, const char *url,
			    const char *method, const char *version, const char *data,
			    size_t *data_size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version;
	enum MHD_Result rc;
	if (testkit_upload_more(con_cls, data, data_size, SIZE_MAX, &rc))
		return rc;
	struct testkit_upload *up = *con_cls;
	pthread_mutex_lock(&W.mu);
	snprintf(W.body, sizeof W.body, "%s", up->buf ? up->buf : "");
	pthread_mutex_unlock(&W.mu);
	return rail_reply(conn);
}

Test(bank_channel, dispatcher_copies_then_wipes_the_destination, .timeout = 30)
{
	int port;
	struct MHD_Daemon *d = testkit_server_start(rail, NULL, &port);
	struct channel_config cfg = config_of("bank");
	snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d", port);
	char err[128];
	struct channel *ch = channel_new(&cfg, err, sizeof err);
	cr_assert_not_null(ch, "%s", err);
	struct channel_dispatch *disp;
	cr_assert_eq(channel_dispatch_start(&disp), 0);
	dispatch_wiped_hook = on_wiped;

	struct channel_request req = request(CH_OP_PAYOUT);
	channel_dispatch_send(disp, ch, &req, on_done, NULL);
	explicit_bzero(&dest, sizeof dest); /* the caller's copy is gone at once */
	cr_assert(wait_wiped(1), "no result");
	ASSERT_RESULT(W.res, CH_SUCCEEDED, 0, "ACSP");
	cr_assert_eq(W.res.payout_state, CH_PO_PENDING);
	cr_assert_str_eq(W.res.trace_id, "RAIL-1");
	cr_assert(strstr(W.body, NUMBER), "the rail got the number: %s", W.body);
	cr_assert(strstr(W.body, "Zhang"), "%s", W.body);
	cr_assert(W.body_had_number, "the job had a body");
	cr_assert(W.payout_zero, "the job's copy of the destination is wiped");
	cr_assert(W.body_zero, "the job's request body is wiped");

	/* refused before sending (a charge kind does not pay out): wiped too */
	struct channel *acq = make("acquirer");
	req = request(CH_OP_PAYOUT);
	channel_dispatch_send(disp, acq, &req, on_done, NULL);
	cr_assert(wait_wiped(2), "no result");
	ASSERT_RESULT(W.res, CH_NOT_EXECUTED, CAT_CHANNEL_REJECTED, "INVALID_REQUEST");
	cr_assert(W.payout_zero);
	cr_assert_not(W.body_had_number, "nothing was encoded");

	channel_dispatch_stop(disp);
	dispatch_wiped_hook = NULL;
	ch->ops->destroy(ch);
	acq->ops->destroy(acq);
	MHD_stop_daemon(d);
}
