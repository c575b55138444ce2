/* tests/e2e_raw/test_cards: every sandbox test card over the raw protocol.
 *
 * For each Stripe test payment method id and each test card number (sent
 * as payment_method_data[card][...], in a form body and in a JSON body):
 * the HTTP status and the error object (type, code, decline_code,
 * payd_code, user_message in English by default and in Chinese with
 * Accept-Language: zh-CN) exactly as `payd codes --json` has them; the
 * intent inside error.payment_intent back in requires_payment_method; lost
 * and stolen cards shown to the payer as a generic decline; verification,
 * timeouts (resolved by bounded polling) and failing refunds followed to
 * their final state.  A raw card number must never come back in a
 * response, nor reach the database, its WAL or the log. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"

#define CAT_GENERIC_DECLINE 107
#define CAT_LOST_CARD 105
#define CAT_STOLEN_CARD 106
#define CAT_CHANNEL_TIMEOUT 202
#define CAT_VERIFICATION_REQUIRED 302
#define CAT_VERIFICATION_FAILED 303
#define CAT_REFUND_CARD_CLOSED 601
#define RESOLVE_MAX_MS 30000 /* bounded wait for the resolver ("within seconds") */
#define POLL_MS 50

enum flow { FL_OK, FL_DECLINE, FL_VERIFY, FL_TIMEOUT_TAKEN, FL_TIMEOUT_NONE, FL_REFUND_FAILS };

struct card_case {
	const char *pm;     /* Stripe test payment method id, or NULL */
	const char *number; /* test card number, or NULL */
	enum flow flow;
	int code;           /* FL_DECLINE: the catalog code */
	const char *last4;
};

static const struct card_case cases[] = {
	{"pm_card_visa", NULL, FL_OK, 0, "4242"},
	{"pm_card_mastercard", NULL, FL_OK, 0, "4444"},
	{"pm_card_chargeDeclined", NULL, FL_DECLINE, 107, "0002"},
	{"pm_card_chargeDeclinedInsufficientFunds", NULL, FL_DECLINE, 101, "9995"},
	{"pm_card_chargeDeclinedExpiredCard", NULL, FL_DECLINE, 102, "0069"},
	{"pm_card_chargeDeclinedIncorrectCvc", NULL, FL_DECLINE, 103, "0127"},
	{"pm_card_chargeDeclinedLostCard", NULL, FL_DECLINE, 105, "9987"},
	{"pm_card_chargeDeclinedStolenCard", NULL, FL_DECLINE, 106, "9979"},
	{"pm_card_chargeDeclinedProcessingError", NULL, FL_DECLINE, 203, "0119"},
	{"pm_card_refundFail", NULL, FL_REFUND_FAILS, 601, "5126"},
	{NULL, "4242424242424242", FL_OK, 0, "4242"},
	{NULL, "5555555555554444", FL_OK, 0, "4444"},
	{NULL, "4000000000009995", FL_DECLINE, 101, "9995"},
	{NULL, "4000000000000069", FL_DECLINE, 102, "0069"},
	{NULL, "4000000000000127", FL_DECLINE, 103, "0127"},
	{NULL, "4000000000009987", FL_DECLINE, 105, "9987"},
	{NULL, "4000000000009979", FL_DECLINE, 106, "9979"},
	{NULL, "4000000000000002", FL_DECLINE, 107, "0002"},
	{NULL, "4000000000000119", FL_DECLINE, 203, "0119"},
	{NULL, "4000002760003184", FL_VERIFY, 302, "3184"},
	{NULL, "4000000000000202", FL_TIMEOUT_TAKEN, 202, "0202"},
	{NULL, "4000000000000210", FL_TIMEOUT_NONE, 202, "0210"},
	{NULL, "4000000000400202", FL_TIMEOUT_TAKEN, 202, "0202"},
	{NULL, "4000000000400210", FL_TIMEOUT_NONE, 202, "0210"},
	{NULL, "4000000000005126", FL_REFUND_FAILS, 601, "5126"},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static int exp_year(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	return tm.tm_year + 1900 + 3;
}

/* The payment method part of a form body. */
static void pm_form(const struct card_case *c, char *out, size_t cap)
{
	if (c->pm)
		snprintf(out, cap, "payment_method=%s", c->pm);
	else
		snprintf(out, cap,
			 "payment_method_data[type]=card&payment_method_data[card][number]=%s"
			 "&payment_method_data%%5Bcard%%5D%%5Bexp_month%%5D=12"
			 "&payment_method_data[card][exp_year]=%d&payment_method_data[card][cvc]=123",
			 c->number, exp_year());
}

/* The payment method members of a JSON object (no braces). */
static void pm_json(const struct card_case *c, char *out, size_t cap)
{
	if (c->pm)
		snprintf(out, cap, "\"payment_method\":\"%s\"", c->pm);
	else
		snprintf(out, cap,
			 "\"payment_method_data\":{\"type\":\"card\",\"card\":{\"number\":\"%s\","
			 "\"exp_month\":12,\"exp_year\":%d,\"cvc\":\"123\"}}",
			 c->number, exp_year());
}

static const char *case_name(const struct card_case *c)
{
	return c->pm ? c->pm : c->number;
}

/* No response may carry the card number. */
static void assert_no_number(const struct card_case *c, const struct http_resp *r, const char *what)
{
	if (!c->number)
		return;
	cr_assert(!mem_contains(r->body, r->body_len, c->number),
		  "%s: the card number %s is in the response body", what, c->number);
	cr_assert(!mem_contains(r->headers, strlen(r->headers), c->number),
		  "%s: the card number %s is in the response headers", what, c->number);
}

/* Creates and confirms in one call (form body, default language) or
 * creates then confirms (JSON bodies, lang); returns the confirm answer. */
static void pay(const struct card_case *c, bool json, const char *lang, const char *idem,
		struct http_resp *r)
{
	char pm[512], body[1024];
	if (!json) {
		pm_form(c, pm, sizeof pm);
		snprintf(body, sizeof body, "amount=2000&currency=usd&confirm=true&%s", pm);
		struct http_req req = {.method = "POST", .path = "/v1/payment_intents", .body = body,
				       .auth = AUTH_BEARER, .key = H.key_a, .idem_key = idem,
				       .lang = lang};
		http_do(H.url, &req, r);
		return;
	}
	struct http_resp created;
	struct http_req req = {.method = "POST", .path = "/v1/payment_intents",
			       .body = "{\"amount\":2000,\"currency\":\"usd\",\"description\":\"card test\"}",
			       .content_type = "application/json", .auth = AUTH_BEARER,
			       .key = H.key_a, .lang = lang};
	http_do(H.url, &req, &created);
	cr_assert_eq(created.status, 200, "create: HTTP %ld: %s", created.status, created.body);
	cr_assert_str_eq(jpath_str(created.json, "status"), "requires_payment_method");
	char path[256];
	snprintf(path, sizeof path, "/v1/payment_intents/%s/confirm", jpath_str(created.json, "id"));
	http_resp_free(&created);
	pm_json(c, pm, sizeof pm);
	snprintf(body, sizeof body, "{%s}", pm);
	struct http_req confirm = {.method = "POST", .path = path, .body = body,
				   .content_type = "application/json", .auth = AUTH_BEARER,
				   .key = H.key_a, .idem_key = idem, .lang = lang};
	http_do(H.url, &confirm, r);
}

static void get_intent(const char *id, const char *lang, struct http_resp *r)
{
	char path[256];
	snprintf(path, sizeof path, "/v1/payment_intents/%s", id);
	struct http_req req = {.method = "GET", .path = path, .auth = AUTH_BEARER, .key = H.key_a,
			       .lang = lang};
	http_do(H.url, &req, r);
	cr_assert_eq(r->status, 200, "GET %s: HTTP %ld: %s", path, r->status, r->body);
}

static void check_card(const struct card_case *c, json_t *intent, const char *what)
{
	json_t *card = jpath(intent, "attempts.0.payment_method.card");
	if (!card)
		card = jpath(intent, "last_payment_error.payment_method.card");
	cr_assert(card, "%s: no card on the attempt", what);
	cr_assert_str_eq(jpath_str(card, "last4"), c->last4, "%s: last4", what);
	if (c->number)
		cr_assert(jpath_str(card, "fingerprint") != NULL, "%s: a raw card has a fingerprint",
			  what);
}

static void check_decline(const struct card_case *c, bool json, const char *lang)
{
	char what[160], idem[64];
	snprintf(what, sizeof what, "%s (%s, %s)", case_name(c), json ? "JSON" : "form",
		 lang ? lang : "default language");
	snprintf(idem, sizeof idem, "decline-%d-%s", json, lang ? lang : "none");
	struct http_resp r;
	pay(c, json, lang, idem, &r);
	assert_catalog_error(&r, c->code, NULL, lang, what);
	assert_no_number(c, &r, what);

	bool zh = lang && strncmp(lang, "zh", 2) == 0;
	const char *um = jpath_str(r.json, "error.user_message");
	if (c->code == CAT_LOST_CARD || c->code == CAT_STOLEN_CARD) {
		/* The payer is told only that the card was declined. */
		const char *generic = cat_str(CAT_GENERIC_DECLINE, zh ? "message_zh" : "message_en");
		cr_assert_str_eq(um, generic, "%s: the payer must see the generic decline", what);
		cr_assert_str_eq(jpath_str(r.json, "error.code"), "card_declined", "%s", what);
	}
	json_t *pi = jpath(r.json, "error.payment_intent");
	cr_assert(json_is_object(pi), "%s: error.payment_intent is missing: %s", what, r.body);
	cr_assert_str_eq(jpath_str(pi, "status"), "requires_payment_method", "%s", what);
	cr_assert_eq(json_integer_value(jpath(pi, "last_payment_error.payd_code")), c->code,
		     "%s: last_payment_error.payd_code", what);
	cr_assert_eq(json_integer_value(jpath(pi, "amount_received")), 0, "%s", what);
	check_card(c, pi, what);

	/* Retrieved later, in the language of the retrieving request. */
	char id[128];
	snprintf(id, sizeof id, "%s", jpath_str(pi, "id"));
	http_resp_free(&r);
	get_intent(id, lang, &r);
	assert_no_number(c, &r, what);
	cr_assert_str_eq(jpath_str(r.json, "status"), "requires_payment_method", "%s", what);
	cr_assert_eq(json_integer_value(jpath(r.json, "last_payment_error.payd_code")), c->code,
		     "%s", what);
	const char *want_um = (c->code == CAT_LOST_CARD || c->code == CAT_STOLEN_CARD)
				      ? cat_str(CAT_GENERIC_DECLINE, zh ? "message_zh" : "message_en")
				      : cat_str(c->code, zh ? "message_zh" : "message_en");
	cr_assert_str_eq(jpath_str(r.json, "last_payment_error.user_message"), want_um,
		         "%s: last_payment_error.user_message on retrieve", what);
	http_resp_free(&r);
}

static void check_success(const struct card_case *c, bool json, struct http_resp *out_intent)
{
	struct http_resp r;
	pay(c, json, NULL, json ? "ok-json" : "ok-form", &r);
	cr_assert_eq(r.status, 200, "%s: HTTP %ld: %s", case_name(c), r.status, r.body);
	assert_no_number(c, &r, case_name(c));
	cr_assert_str_eq(jpath_str(r.json, "status"), "succeeded", "%s", case_name(c));
	cr_assert_eq(json_integer_value(jpath(r.json, "amount_received")), 2000);
	cr_assert(json_is_null(jpath(r.json, "last_payment_error")));
	check_card(c, r.json, case_name(c));
	if (out_intent)
		*out_intent = r;
	else
		http_resp_free(&r);
}

struct settle {
	const char *id;
	struct http_resp last;
};

static bool settled(void *ctx)
{
	struct settle *s = ctx;
	http_resp_free(&s->last);
	get_intent(s->id, NULL, &s->last);
	const char *status = jpath_str(s->last.json, "status");
	return status && strcmp(status, "processing") != 0;
}

static void check_timeout(const struct card_case *c)
{
	struct http_resp r;
	pay(c, false, NULL, "timeout", &r);
	cr_assert_eq(r.status, 200, "%s: HTTP %ld: %s", c->number, r.status, r.body);
	assert_no_number(c, &r, c->number);
	cr_assert_str_eq(jpath_str(r.json, "status"), "processing", "%s", c->number);
	cr_assert_str_eq(jpath_str(r.json, "attempts.0.status"), "unknown", "%s", c->number);
	cr_assert_eq(json_integer_value(jpath(r.json, "attempts.0.payd_code")), CAT_CHANNEL_TIMEOUT);
	char id[128];
	snprintf(id, sizeof id, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);

	struct settle s = {id, {0}};
	bool done = poll_until(settled, &s, RESOLVE_MAX_MS, POLL_MS);
	cr_assert(done, "%s: the intent is still processing after %d ms", c->number, RESOLVE_MAX_MS);
	json_t *pi = s.last.json;
	assert_no_number(c, &s.last, c->number);
	if (c->flow == FL_TIMEOUT_TAKEN) {
		cr_assert_str_eq(jpath_str(pi, "status"), "succeeded", "%s", c->number);
		cr_assert_eq(json_integer_value(jpath(pi, "amount_received")), 2000);
	} else {
		cr_assert_str_eq(jpath_str(pi, "status"), "requires_payment_method", "%s", c->number);
		cr_assert_eq(json_integer_value(jpath(pi, "amount_received")), 0);
		int code = (int)json_integer_value(jpath(pi, "last_payment_error.payd_code"));
		cr_assert(cat_entry(code) != NULL, "%s: last_payment_error.payd_code %d not in the catalog",
			  c->number, code);
		cr_assert(code / 100 == 2, "%s: a channel that never executed is a 2xx code, got %d",
			  c->number, code);
	}
	/* Resolved by asking the channel, never by sending the payment again. */
	size_t attempts = json_array_size(jpath(pi, "attempts"));
	cr_assert_eq(attempts, 1, "%s: %zu attempts after resolution (charged twice?)", c->number,
		     attempts);
	http_resp_free(&s.last);
}

static void verify_confirm(const char *id, const char *code, const char *lang, struct http_resp *r)
{
	char path[256], body[64];
	snprintf(path, sizeof path, "/v1/payment_intents/%s/confirm", id);
	snprintf(body, sizeof body, "verification_code=%s", code);
	struct http_req req = {.method = "POST", .path = path, .body = body, .auth = AUTH_BEARER,
			       .key = H.key_a, .lang = lang};
	http_do(H.url, &req, r);
}

static void check_verify(const struct card_case *c)
{
	/* A wrong code fails with the verification-failed code, both languages. */
	const char *langs[] = {NULL, "zh-CN"};
	for (int i = 0; i < 2; i++) {
		struct http_resp r;
		pay(c, i == 1, langs[i], NULL, &r);
		cr_assert_eq(r.status, 200, "%s: HTTP %ld: %s", c->number, r.status, r.body);
		assert_no_number(c, &r, c->number);
		cr_assert_str_eq(jpath_str(r.json, "status"), "requires_action");
		cr_assert(json_is_object(jpath(r.json, "next_action")), "next_action is missing");
		cr_assert(jpath_str(r.json, "next_action.type") != NULL);
		cr_assert_eq(json_integer_value(jpath(r.json, "attempts.0.payd_code")),
			     CAT_VERIFICATION_REQUIRED);
		char id[128];
		snprintf(id, sizeof id, "%s", jpath_str(r.json, "id"));
		http_resp_free(&r);

		verify_confirm(id, "123456", langs[i], &r);
		assert_catalog_error(&r, CAT_VERIFICATION_FAILED, NULL, langs[i], "wrong verification code");
		assert_no_number(c, &r, c->number);
		cr_assert_str_eq(jpath_str(r.json, "error.payment_intent.status"),
				 "requires_payment_method");
		http_resp_free(&r);
	}
	/* The right code succeeds. */
	struct http_resp r;
	pay(c, false, NULL, NULL, &r);
	cr_assert_str_eq(jpath_str(r.json, "status"), "requires_action");
	char id[128];
	snprintf(id, sizeof id, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	verify_confirm(id, "000000", NULL, &r);
	cr_assert_eq(r.status, 200, "verification 000000: HTTP %ld: %s", r.status, r.body);
	cr_assert_str_eq(jpath_str(r.json, "status"), "succeeded");
	cr_assert_eq(json_integer_value(jpath(r.json, "amount_received")), 2000);
	cr_assert(json_is_null(jpath(r.json, "next_action")));
	http_resp_free(&r);
}

struct refund_wait {
	char path[256];
	struct http_resp last;
};

static bool refund_final(void *ctx)
{
	struct refund_wait *w = ctx;
	http_resp_free(&w->last);
	h_get(H.key_a, w->path, &w->last);
	const char *status = jpath_str(w->last.json, "status");
	return status && strcmp(status, "pending") != 0;
}

static void check_refund_fails(const struct card_case *c)
{
	struct http_resp pi;
	check_success(c, false, &pi);
	char body[256];
	snprintf(body, sizeof body, "payment_intent=%s", jpath_str(pi.json, "id"));
	http_resp_free(&pi);
	struct http_resp r;
	h_post(H.key_a, "/v1/refunds", body, &r);
	cr_assert_eq(r.status, 200, "refund: HTTP %ld: %s", r.status, r.body);
	struct refund_wait w = {.last = {0}};
	snprintf(w.path, sizeof w.path, "/v1/refunds/%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	cr_assert(poll_until(refund_final, &w, RESOLVE_MAX_MS, POLL_MS), "the refund stays pending");
	cr_assert_str_eq(jpath_str(w.last.json, "status"), "failed");
	cr_assert_str_eq(jpath_str(w.last.json, "failure_reason"),
			 cat_str(CAT_REFUND_CARD_CLOSED, "slug"));
	cr_assert_eq(json_integer_value(jpath(w.last.json, "payd_code")), CAT_REFUND_CARD_CLOSED);
	http_resp_free(&w.last);
}

/* The number must not be in the database, its WAL or the log: checked
 * while the server runs (the WAL holds the recent commits) and again
 * after a clean stop. */
static void assert_number_not_on_disk(const char *number)
{
	char wal[H_PATH_MAX + 8], shm[H_PATH_MAX + 8];
	snprintf(wal, sizeof wal, "%s-wal", H.db);
	snprintf(shm, sizeof shm, "%s-shm", H.db);
	const char *files[] = {H.db, wal, shm, H.log};
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			int status = payd_stop(&H);
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				  "payd did not stop cleanly (status %d): %s", status, payd_log_excerpt(&H));
		}
		for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
			cr_assert(!file_contains(files[i], number), "%s holds the card number %s (%s)",
				  files[i], number, pass ? "after stop" : "while running");
	}
	cr_assert(file_contains(H.db, "sb_card_") || file_contains(wal, "sb_card_"),
		  "the scan found no card token in %s or its WAL: wrong files?", H.db);
}

ParameterizedTestParameters(cards, each)
{
	static int idx[N_CASES];
	for (size_t i = 0; i < N_CASES; i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, N_CASES);
}

ParameterizedTest(int *i, cards, each, .init = harness_setup, .fini = harness_teardown,
		  .timeout = 120)
{
	const struct card_case *c = &cases[*i];
	cr_log_info("card %s", case_name(c));
	switch (c->flow) {
	case FL_OK:
		check_success(c, false, NULL);
		check_success(c, true, NULL);
		break;
	case FL_DECLINE:
		check_decline(c, false, NULL);
		check_decline(c, true, "zh-CN");
		check_decline(c, false, "zh-CN");
		check_decline(c, true, "en");
		break;
	case FL_VERIFY:
		check_verify(c);
		break;
	case FL_TIMEOUT_TAKEN:
	case FL_TIMEOUT_NONE:
		check_timeout(c);
		break;
	case FL_REFUND_FAILS:
		check_refund_fails(c);
		break;
	}
	if (c->number)
		assert_number_not_on_disk(c->number);
}

/* All numbers through one server, also in the list answers and events,
 * then the files scanned once more for every number. */
Test(cards, no_number_anywhere_after_all_cards, .init = harness_setup, .fini = harness_teardown,
     .timeout = 120)
{
	for (size_t i = 0; i < N_CASES; i++) {
		const struct card_case *c = &cases[i];
		if (!c->number)
			continue;
		struct http_resp r;
		pay(c, i % 2 == 1, i % 3 ? NULL : "zh-CN", NULL, &r);
		cr_assert(r.status == 200 || r.status == 402, "%s: HTTP %ld: %s", c->number, r.status,
			  r.body);
		assert_no_number(c, &r, c->number);
		http_resp_free(&r);
	}
	const char *lists[] = {"/v1/payment_intents?limit=100", "/v1/events?limit=100"};
	for (size_t l = 0; l < 2; l++) {
		struct http_resp r;
		h_get(H.key_a, lists[l], &r);
		cr_assert_eq(r.status, 200);
		for (size_t i = 0; i < N_CASES; i++)
			if (cases[i].number)
				assert_no_number(&cases[i], &r, lists[l]);
		http_resp_free(&r);
	}
	char wal[H_PATH_MAX + 8];
	snprintf(wal, sizeof wal, "%s-wal", H.db);
	const char *files[] = {H.db, wal, H.log};
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			int status = payd_stop(&H);
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				  "payd did not stop cleanly (status %d): %s", status, payd_log_excerpt(&H));
		}
		for (size_t f = 0; f < 3; f++)
			for (size_t i = 0; i < N_CASES; i++)
				if (cases[i].number)
					cr_assert(!file_contains(files[f], cases[i].number),
						  "%s holds the card number %s", files[f],
						  cases[i].number);
	}
}
