/* tests/e2e_raw/test_routes: unknown routes, and Idempotency-Key with
 * Stripe's semantics (issue 3 item 8): the first answer is saved and
 * replayed for the same key and parameters (same status, the body byte
 * for byte, Idempotent-Replayed: true); the same key with other
 * parameters is a 400 idempotency_error; keys belong to one merchant. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CAT_NO_SUCH_OBJECT 408
#define CAT_IDEMPOTENCY_KEY_REUSED 409
#define CAT_UNKNOWN_ENDPOINT 417

static void req_do(const char *method, const char *path, const char *body, const char *key,
		   const char *idem, const char *lang, struct http_resp *r)
{
	struct http_req req = {.method = method, .path = path, .body = body,
			       .auth = key ? AUTH_BEARER : AUTH_NONE, .key = key, .idem_key = idem,
			       .lang = lang};
	http_do(H.url, &req, r);
}

Test(routes, unknown_endpoints, .init = harness_setup, .fini = harness_teardown)
{
	const struct {
		const char *method, *path;
	} routes[] = {
		{"GET", "/v1/nothing"},
		{"POST", "/v1/nothing"},
		{"GET", "/"},
		{"GET", "/v2/payment_intents"},
		{"DELETE", "/v1/payment_intents"},
		{"PUT", "/v1/payment_intents"},
		{"DELETE", "/v1/payment_intents/pi_123"},
		{"PATCH", "/v1/payment_intents/pi_123"},
		{"POST", "/v1/payment_intents/pi_123/refund"},
		{"GET", "/v1/payment_intents/pi_123/confirm"},
		{"POST", "/v1/payment_intents/pi_123/confirm/again"},
		{"GET", "/v1/payment_intentsx"},
		{"GET", "/v1//payment_intents"},
		{"POST", "/v1/balance"},
		{"POST", "/v1/events"},
	};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		char what[256];
		const char *langs[] = {NULL, "zh-CN"};
		for (int l = 0; l < 2; l++) {
			snprintf(what, sizeof what, "%s %s (%s)", routes[i].method, routes[i].path,
				 langs[l] ? langs[l] : "en");
			struct http_resp r;
			req_do(routes[i].method, routes[i].path,
			       strcmp(routes[i].method, "GET") ? "" : NULL, H.key_a, NULL, langs[l], &r);
			assert_catalog_error(&r, CAT_UNKNOWN_ENDPOINT, NULL, langs[l], what);
			http_resp_free(&r);
		}
	}
	/* Without a key, an unknown route is still answered with a catalog error. */
	struct http_resp r;
	req_do("GET", "/v1/nothing", NULL, NULL, NULL, NULL, &r);
	int code = (int)json_integer_value(jpath(r.json, "error.payd_code"));
	cr_assert(code == CAT_UNKNOWN_ENDPOINT || code == 413, "GET /v1/nothing without a key: %s",
		  r.body);
	assert_catalog_error(&r, code, NULL, NULL, "unknown route without a key");
	http_resp_free(&r);

	/* A path longer than payd keeps is refused with a catalog error. */
	char longpath[2100] = "/v1/payment_intents/pi_";
	memset(longpath + strlen(longpath), 'x', 2000);
	longpath[2050] = '\0';
	req_do("GET", longpath, NULL, H.key_a, NULL, NULL, &r);
	cr_assert(r.status >= 400 && r.status < 500, "a long path: HTTP %ld", r.status);
	code = (int)json_integer_value(jpath(r.json, "error.payd_code"));
	assert_catalog_error(&r, code, NULL, NULL, "a 2 KiB path");
	http_resp_free(&r);

	/* A known route with an id that does not exist. */
	req_do("GET", "/v1/payment_intents/pi_doesnotexist", NULL, H.key_a, NULL, NULL, &r);
	assert_catalog_error(&r, CAT_NO_SUCH_OBJECT, NULL, NULL, "an unknown intent id");
	http_resp_free(&r);
	req_do("GET", "/v1/refunds/re_doesnotexist", NULL, H.key_a, NULL, "zh-CN", &r);
	assert_catalog_error(&r, CAT_NO_SUCH_OBJECT, NULL, "zh-CN", "an unknown refund id");
	http_resp_free(&r);
	req_do("GET", "/v1/events/evt_doesnotexist", NULL, H.key_a, NULL, NULL, &r);
	assert_catalog_error(&r, CAT_NO_SUCH_OBJECT, NULL, NULL, "an unknown event id");
	http_resp_free(&r);
	req_do("POST", "/v1/payment_intents/pi_doesnotexist/confirm", "payment_method=pm_card_visa",
	       H.key_a, NULL, NULL, &r);
	assert_catalog_error(&r, CAT_NO_SUCH_OBJECT, NULL, NULL, "confirm an unknown intent");
	http_resp_free(&r);
}

/* Asserts r2 is a replay of r1. */
static void assert_replay(const struct http_resp *first, const struct http_resp *again,
			  const char *what)
{
	cr_assert_eq(again->status, first->status, "%s: replay HTTP %ld, first %ld", what,
		     again->status, first->status);
	cr_assert_eq(again->body_len, first->body_len, "%s: replay body of %zu bytes, first %zu:\n%s\n%s",
		     what, again->body_len, first->body_len, first->body, again->body);
	cr_assert(memcmp(again->body, first->body, first->body_len) == 0,
		  "%s: the replayed body differs:\n%s\n%s", what, first->body, again->body);
	cr_assert_str_eq(again->replayed, "true",
			 "%s: the replay lacks 'Idempotent-Replayed: true' (headers:\n%s)", what,
			 again->headers);
	cr_assert(strcmp(first->replayed, "true") != 0,
		  "%s: the first answer says Idempotent-Replayed: true", what);
}

static size_t count(const char *key, const char *path)
{
	json_t *ids = list_all_ids(key, path);
	size_t n = json_array_size(ids);
	json_decref(ids);
	return n;
}

Test(routes, idempotent_replay, .init = harness_setup, .fini = harness_teardown)
{
	const char *form = "amount=1500&currency=usd&confirm=true&payment_method=pm_card_visa"
			   "&metadata[order]=42&description=replay";
	struct http_resp first, again;
	req_do("POST", "/v1/payment_intents", form, H.key_a, "idem-create-1", NULL, &first);
	cr_assert_eq(first.status, 200, "HTTP %ld: %s", first.status, first.body);
	size_t events = count(H.key_a, "/v1/events");
	for (int i = 0; i < 3; i++) {
		req_do("POST", "/v1/payment_intents", form, H.key_a, "idem-create-1", NULL, &again);
		assert_replay(&first, &again, "create+confirm replay");
		http_resp_free(&again);
	}
	cr_assert_eq(count(H.key_a, "/v1/payment_intents"), 1, "a replay created an intent");
	cr_assert_eq(count(H.key_a, "/v1/events"), events, "a replay appended events");

	/* The same parameters in another order are the same request. */
	req_do("POST", "/v1/payment_intents",
	       "description=replay&metadata[order]=42&payment_method=pm_card_visa&confirm=true"
	       "&currency=usd&amount=1500",
	       H.key_a, "idem-create-1", NULL, &again);
	cr_assert_eq(again.status, 200, "reordered parameters: HTTP %ld: %s", again.status, again.body);
	cr_assert_str_eq(jpath_str(again.json, "id"), jpath_str(first.json, "id"));
	http_resp_free(&again);

	/* A decline is saved and replayed too. */
	const char *declined = "amount=1600&currency=usd&confirm=true"
			       "&payment_method=pm_card_chargeDeclinedInsufficientFunds";
	struct http_resp d1, d2;
	req_do("POST", "/v1/payment_intents", declined, H.key_a, "idem-decline", NULL, &d1);
	assert_catalog_error(&d1, 101, NULL, NULL, "the first decline");
	req_do("POST", "/v1/payment_intents", declined, H.key_a, "idem-decline", NULL, &d2);
	assert_replay(&d1, &d2, "decline replay");
	http_resp_free(&d1);
	http_resp_free(&d2);
	cr_assert_eq(count(H.key_a, "/v1/payment_intents"), 2);

	/* A refund replays without refunding twice. */
	char refund_form[256];
	snprintf(refund_form, sizeof refund_form, "payment_intent=%s&amount=500",
		 jpath_str(first.json, "id"));
	struct http_resp f1, f2;
	req_do("POST", "/v1/refunds", refund_form, H.key_a, "idem-refund", NULL, &f1);
	cr_assert_eq(f1.status, 200, "refund: HTTP %ld: %s", f1.status, f1.body);
	req_do("POST", "/v1/refunds", refund_form, H.key_a, "idem-refund", NULL, &f2);
	assert_replay(&f1, &f2, "refund replay");
	http_resp_free(&f1);
	http_resp_free(&f2);
	char path[256];
	snprintf(path, sizeof path, "/v1/payment_intents/%s", jpath_str(first.json, "id"));
	struct http_resp pi;
	req_do("GET", path, NULL, H.key_a, NULL, NULL, &pi);
	cr_assert_eq(json_integer_value(jpath(pi.json, "amount_refunded")), 500,
		     "the refund replay refunded twice: %s", pi.body);
	http_resp_free(&pi);
	cr_assert_eq(count(H.key_a, "/v1/refunds"), 1);

	/* A confirm replays without a second attempt. */
	struct http_resp open, c1, c2;
	req_do("POST", "/v1/payment_intents", "amount=1700&currency=usd", H.key_a, NULL, NULL, &open);
	snprintf(path, sizeof path, "/v1/payment_intents/%s/confirm", jpath_str(open.json, "id"));
	req_do("POST", path, "payment_method=pm_card_mastercard", H.key_a, "idem-confirm", NULL, &c1);
	cr_assert_eq(c1.status, 200, "confirm: HTTP %ld: %s", c1.status, c1.body);
	req_do("POST", path, "payment_method=pm_card_mastercard", H.key_a, "idem-confirm", NULL, &c2);
	assert_replay(&c1, &c2, "confirm replay");
	snprintf(path, sizeof path, "/v1/payment_intents/%s", jpath_str(open.json, "id"));
	req_do("GET", path, NULL, H.key_a, NULL, NULL, &pi);
	cr_assert_eq(json_array_size(jpath(pi.json, "attempts")), 1, "a confirm replay made an attempt");
	http_resp_free(&pi);
	http_resp_free(&open);
	http_resp_free(&c1);
	http_resp_free(&c2);
	http_resp_free(&first);
}

Test(routes, idempotency_key_reused_with_other_parameters, .init = harness_setup,
     .fini = harness_teardown)
{
	const char *form = "amount=1500&currency=usd&confirm=true&payment_method=pm_card_visa";
	struct http_resp first, r;
	req_do("POST", "/v1/payment_intents", form, H.key_a, "idem-reuse", NULL, &first);
	cr_assert_eq(first.status, 200, "HTTP %ld: %s", first.status, first.body);
	const char *others[] = {
		"amount=1501&currency=usd&confirm=true&payment_method=pm_card_visa",
		"amount=1500&currency=eur&confirm=true&payment_method=pm_card_visa",
		"amount=1500&currency=usd&confirm=true&payment_method=pm_card_mastercard",
		"amount=1500&currency=usd&payment_method=pm_card_visa",
		"amount=1500&currency=usd&confirm=true&payment_method=pm_card_visa&metadata[x]=1",
	};
	size_t events = count(H.key_a, "/v1/events");
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		const char *lang = i % 2 ? "zh-CN" : NULL;
		req_do("POST", "/v1/payment_intents", others[i], H.key_a, "idem-reuse", lang, &r);
		assert_catalog_error(&r, CAT_IDEMPOTENCY_KEY_REUSED, NULL, lang, others[i]);
		cr_assert_str_eq(jpath_str(r.json, "error.type"), "idempotency_error");
		http_resp_free(&r);
	}
	/* The same key on another endpoint is another request too. */
	char path[256];
	snprintf(path, sizeof path, "/v1/payment_intents/%s/cancel", jpath_str(first.json, "id"));
	req_do("POST", path, "", H.key_a, "idem-reuse", NULL, &r);
	assert_catalog_error(&r, CAT_IDEMPOTENCY_KEY_REUSED, NULL, NULL, "the key on /cancel");
	http_resp_free(&r);
	cr_assert_eq(count(H.key_a, "/v1/payment_intents"), 1, "a reused key created an intent");
	cr_assert_eq(count(H.key_a, "/v1/events"), events, "a reused key appended events");
	/* And the original still replays. */
	req_do("POST", "/v1/payment_intents", form, H.key_a, "idem-reuse", NULL, &r);
	assert_replay(&first, &r, "replay after refused reuses");
	http_resp_free(&r);
	http_resp_free(&first);
}

Test(routes, idempotency_keys_belong_to_one_merchant, .init = harness_setup,
     .fini = harness_teardown)
{
	const char *form = "amount=1500&currency=usd&confirm=true&payment_method=pm_card_visa";
	struct http_resp a, b;
	req_do("POST", "/v1/payment_intents", form, H.key_a, "shared-key", NULL, &a);
	cr_assert_eq(a.status, 200);
	req_do("POST", "/v1/payment_intents", form, H.key_b, "shared-key", NULL, &b);
	cr_assert_eq(b.status, 200, "B with A's key: HTTP %ld: %s", b.status, b.body);
	cr_assert(strcmp(b.replayed, "true") != 0, "B got a replay of A's answer");
	cr_assert_str_neq(jpath_str(b.json, "id"), jpath_str(a.json, "id"),
			  "B got A's payment intent");
	http_resp_free(&b);
	/* B with the same key and other parameters is B's own first request. */
	req_do("POST", "/v1/payment_intents", "amount=99&currency=usd", H.key_b, "shared-key2", NULL,
	       &b);
	cr_assert_eq(b.status, 200);
	http_resp_free(&b);
	req_do("POST", "/v1/payment_intents", "amount=98&currency=usd", H.key_a, "shared-key2", NULL,
	       &b);
	cr_assert_eq(b.status, 200, "A's first use of a key B used: HTTP %ld: %s", b.status, b.body);
	http_resp_free(&b);
	http_resp_free(&a);
	cr_assert_eq(count(H.key_a, "/v1/payment_intents"), 2);
	cr_assert_eq(count(H.key_b, "/v1/payment_intents"), 2);
}

/* user_message follows Accept-Language: Chinese when zh is preferred,
 * English otherwise (and by default). */
Test(routes, accept_language, .init = harness_setup, .fini = harness_teardown)
{
	const struct {
		const char *header;
		bool zh;
	} cases[] = {
		{"zh-CN", true},
		{"zh-cn", true},
		{"zh", true},
		{"zh-Hans-CN", true},
		{"zh-CN,zh;q=0.9,en;q=0.8", true},
		{"en;q=0.5, zh-CN", true},
		{"fr-FR, zh-CN;q=0.5", true},
		{"en", false},
		{"en-US", false},
		{"en-US,en;q=0.9,zh-CN;q=0.8", false},
		{"fr-FR", false},
		{"zh-CN;q=0", false},
		{"*", false},
		{"", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char what[128];
		snprintf(what, sizeof what, "Accept-Language: %s", cases[i].header);
		struct http_resp r;
		/* A decline (card error) and an unknown route (request error). */
		req_do("POST", "/v1/payment_intents",
		       "amount=100&currency=usd&confirm=true&payment_method=pm_card_chargeDeclinedExpiredCard",
		       H.key_a, NULL, cases[i].header, &r);
		assert_catalog_error(&r, 102, NULL, cases[i].zh ? "zh-CN" : "en", what);
		http_resp_free(&r);
		req_do("GET", "/v1/nothing", NULL, H.key_a, NULL, cases[i].header, &r);
		assert_catalog_error(&r, CAT_UNKNOWN_ENDPOINT, NULL, cases[i].zh ? "zh-CN" : "en", what);
		http_resp_free(&r);
	}
}

/* The content types Stripe's clients send, with parameters and in any
 * case, are accepted. */
Test(routes, content_type_variants, .init = harness_setup, .fini = harness_teardown)
{
	const struct {
		const char *type, *body;
	} ok[] = {
		{"application/x-www-form-urlencoded", "amount=100&currency=usd"},
		{"application/x-www-form-urlencoded; charset=utf-8", "amount=101&currency=usd"},
		{"Application/X-WWW-Form-Urlencoded", "amount=102&currency=usd"},
		{"application/json", "{\"amount\":103,\"currency\":\"usd\"}"},
		{"application/json; charset=utf-8", "{\"amount\":104,\"currency\":\"usd\"}"},
		{"APPLICATION/JSON", "{\"amount\":\"105\",\"currency\":\"usd\"}"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct http_req req = {.method = "POST", .path = "/v1/payment_intents", .body = ok[i].body,
				       .content_type = ok[i].type, .auth = AUTH_BEARER, .key = H.key_a};
		struct http_resp r;
		http_do(H.url, &req, &r);
		cr_assert_eq(r.status, 200, "Content-Type %s: HTTP %ld: %s", ok[i].type, r.status, r.body);
		cr_assert_eq(json_integer_value(jpath(r.json, "amount")), 100 + (long)i);
		http_resp_free(&r);
	}
	const char *bad[] = {"application/jsonx", "application/json-patch+json", "text/json",
			     "application/x-www-form-urlencodedx"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_req req = {.method = "POST", .path = "/v1/payment_intents",
				       .body = "{\"amount\":100,\"currency\":\"usd\"}",
				       .content_type = bad[i], .auth = AUTH_BEARER, .key = H.key_a};
		struct http_resp r;
		http_do(H.url, &req, &r);
		char what[128];
		snprintf(what, sizeof what, "Content-Type %s", bad[i]);
		assert_catalog_error(&r, 416, NULL, NULL, what);
		http_resp_free(&r);
	}
	cr_assert_eq(count(H.key_a, "/v1/payment_intents"), sizeof ok / sizeof ok[0]);
}

/* An encoded NUL in the path must not cut the path short: GET
 * /v1/payment_intents/%00 is not the list of payment intents. */
Test(routes, nul_in_path, .init = harness_setup, .fini = harness_teardown)
{
	struct http_resp r;
	req_do("POST", "/v1/payment_intents", "amount=100&currency=usd", H.key_a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	http_resp_free(&r);
	const char *paths[] = {"/v1/payment_intents/%00", "/v1/payment_intents/%00/confirm",
			       "/v1/payment_intents%00/pi_x"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		req_do(strstr(paths[i], "confirm") ? "POST" : "GET", paths[i],
		       strstr(paths[i], "confirm") ? "" : NULL, H.key_a, NULL, NULL, &r);
		cr_assert(r.status >= 400 && r.status < 500,
			  "GET %s: HTTP %ld, expected a 4xx (the NUL truncated the path?): %.300s",
			  paths[i], r.status, r.body);
		int code = (int)json_integer_value(jpath(r.json, "error.payd_code"));
		assert_catalog_error(&r, code, NULL, NULL, paths[i]);
		http_resp_free(&r);
	}
}
