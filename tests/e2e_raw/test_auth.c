/* tests/e2e_raw/test_auth: who may ask what (issue 3 item 3).
 * A missing or wrong key is a 401 with the catalog's api_key_invalid; the
 * key works as a Bearer token and as the user name of HTTP Basic; and a
 * merchant never sees or touches another merchant's objects: 404
 * resource_missing, as if they did not exist, and absent from lists. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define CAT_NO_SUCH_OBJECT 408
#define CAT_API_KEY_INVALID 413

static void call(enum auth_kind auth, const char *key, const char *method, const char *path,
		 const char *body, struct http_resp *r)
{
	struct http_req req = {.method = method, .path = path, .body = body, .auth = auth, .key = key};
	http_do(H.url, &req, r);
}

static void expect_401(enum auth_kind auth, const char *key, const char *method, const char *path,
		       const char *body, const char *what)
{
	struct http_resp r;
	call(auth, key, method, path, body, &r);
	assert_catalog_error(&r, CAT_API_KEY_INVALID, NULL, NULL, what);
	cr_assert(!mem_contains(r.body, r.body_len, H.key_a), "%s: the key is echoed", what);
	http_resp_free(&r);
}

Test(auth, missing_or_wrong_key_is_401, .init = harness_setup, .fini = harness_teardown)
{
	const char *form = "amount=100&currency=usd&confirm=true&payment_method=pm_card_visa";
	expect_401(AUTH_NONE, NULL, "GET", "/v1/payment_intents", NULL, "no Authorization (GET)");
	expect_401(AUTH_NONE, NULL, "POST", "/v1/payment_intents", form, "no Authorization (POST)");
	expect_401(AUTH_NONE, NULL, "GET", "/v1/balance", NULL, "no Authorization (balance)");
	expect_401(AUTH_BEARER, "sk_test_0000000000000000000000000000000", "GET",
		   "/v1/payment_intents", NULL, "unknown key");
	/* The right key with one character changed. */
	char wrong[H_KEY_MAX];
	snprintf(wrong, sizeof wrong, "%s", H.key_a);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'a' ? 'b' : 'a';
	expect_401(AUTH_BEARER, wrong, "POST", "/v1/payment_intents", form, "key off by one character");
	/* The right key with a suffix, and a prefix of the right key. */
	char longer[H_KEY_MAX + 4];
	snprintf(longer, sizeof longer, "%sx", H.key_a);
	expect_401(AUTH_BEARER, longer, "GET", "/v1/payment_intents", NULL, "key with a suffix");
	char shorter[H_KEY_MAX];
	snprintf(shorter, sizeof shorter, "%.*s", (int)strlen(H.key_a) - 1, H.key_a);
	expect_401(AUTH_BEARER, shorter, "GET", "/v1/payment_intents", NULL, "key minus a character");
	expect_401(AUTH_RAW, "Bearer", "GET", "/v1/payment_intents", NULL, "Bearer without a key");
	expect_401(AUTH_RAW, "Bearer ", "GET", "/v1/payment_intents", NULL, "Bearer and a space");
	expect_401(AUTH_RAW, H.key_a, "GET", "/v1/payment_intents", NULL, "the key without a scheme");
	char digest[H_KEY_MAX + 16];
	snprintf(digest, sizeof digest, "Digest %s", H.key_a);
	expect_401(AUTH_RAW, digest, "GET", "/v1/payment_intents", NULL, "an unknown scheme");
	expect_401(AUTH_RAW, "Basic !!!notbase64", "GET", "/v1/payment_intents", NULL, "bad Basic");
	expect_401(AUTH_RAW, "Basic Og==", "GET", "/v1/payment_intents", NULL, "Basic ':' (no user)");
	/* A very long header is refused, not crashed on. */
	char huge[4096];
	memset(huge, 'k', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	memcpy(huge, "sk_test_", 8);
	expect_401(AUTH_BEARER, huge, "GET", "/v1/payment_intents", NULL, "a 4 KiB key");

	/* And none of that wrote anything. */
	json_t *ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(ids), 0, "unauthenticated requests created intents");
	json_decref(ids);
}

Test(auth, bearer_and_basic_work, .init = harness_setup, .fini = harness_teardown)
{
	struct http_resp r;
	call(AUTH_BEARER, H.key_a, "POST", "/v1/payment_intents",
	     "amount=100&currency=usd&confirm=true&payment_method=pm_card_visa", &r);
	cr_assert_eq(r.status, 200, "Bearer: HTTP %ld: %s", r.status, r.body);
	char id[128], path[256];
	snprintf(id, sizeof id, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);

	/* HTTP Basic with the key as the user name and an empty password. */
	snprintf(path, sizeof path, "/v1/payment_intents/%s", id);
	call(AUTH_BASIC, H.key_a, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "Basic: HTTP %ld: %s", r.status, r.body);
	cr_assert_str_eq(jpath_str(r.json, "id"), id);
	http_resp_free(&r);
	call(AUTH_BASIC, H.key_a, "POST", "/v1/payment_intents",
	     "amount=300&currency=usd&confirm=true&payment_method=pm_card_mastercard", &r);
	cr_assert_eq(r.status, 200, "Basic POST: HTTP %ld: %s", r.status, r.body);
	cr_assert_str_eq(jpath_str(r.json, "status"), "succeeded");
	http_resp_free(&r);

	/* Basic with a password after the colon (Stripe ignores it). */
	char userpass[H_KEY_MAX + 16], header[H_KEY_MAX * 2 + 32];
	snprintf(userpass, sizeof userpass, "%s:ignored", H.key_a);
	unsigned char b64[H_KEY_MAX * 2];
	EVP_EncodeBlock(b64, (const unsigned char *)userpass, (int)strlen(userpass));
	snprintf(header, sizeof header, "Basic %s", b64);
	call(AUTH_RAW, header, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "Basic with a password: HTTP %ld: %s", r.status, r.body);
	http_resp_free(&r);

	/* Lower-case scheme name (schemes are case-insensitive). */
	snprintf(header, sizeof header, "bearer %s", H.key_a);
	call(AUTH_RAW, header, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "lower-case bearer: HTTP %ld: %s", r.status, r.body);
	http_resp_free(&r);

	/* B's key under Basic sees B's (empty) world. */
	call(AUTH_BASIC, H.key_b, "GET", path, NULL, &r);
	assert_catalog_error(&r, CAT_NO_SUCH_OBJECT, NULL, NULL, "B retrieves A's intent (Basic)");
	http_resp_free(&r);
}

static void expect_404(const char *key, const char *method, const char *path, const char *body,
		       const char *what)
{
	struct http_resp r;
	call(AUTH_BEARER, key, method, path, body, &r);
	assert_catalog_error(&r, CAT_NO_SUCH_OBJECT, NULL, NULL, what);
	http_resp_free(&r);
}

static bool contains_id(json_t *ids, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		if (strcmp(json_string_value(v), id) == 0)
			return true;
	}
	return false;
}

static void create(const char *key, const char *form, char id[128], const char *status)
{
	struct http_resp r;
	call(AUTH_BEARER, key, "POST", "/v1/payment_intents", form, &r);
	cr_assert_eq(r.status, 200, "create: HTTP %ld: %s", r.status, r.body);
	cr_assert_str_eq(jpath_str(r.json, "status"), status);
	snprintf(id, 128, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
}

Test(auth, merchants_are_isolated, .init = harness_setup, .fini = harness_teardown, .timeout = 60)
{
	char paid[128], held[128], open[128], path[256], form[256];
	create(H.key_a, "amount=1000&currency=usd&confirm=true&payment_method=pm_card_visa", paid,
	       "succeeded");
	create(H.key_a,
	       "amount=2000&currency=usd&confirm=true&payment_method=pm_card_visa&capture_method=manual",
	       held, "requires_capture");
	create(H.key_a, "amount=3000&currency=usd", open, "requires_payment_method");
	struct http_resp r;
	snprintf(form, sizeof form, "payment_intent=%s&amount=100", paid);
	call(AUTH_BEARER, H.key_a, "POST", "/v1/refunds", form, &r);
	cr_assert_eq(r.status, 200, "A's refund: HTTP %ld: %s", r.status, r.body);
	char refund[128];
	snprintf(refund, sizeof refund, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	json_t *a_events = list_all_ids(H.key_a, "/v1/events");
	cr_assert(json_array_size(a_events) > 0, "A has no events");

	/* B can neither read nor write any of it. */
	const char *ids[] = {paid, held, open};
	for (int i = 0; i < 3; i++) {
		char what[300];
		snprintf(path, sizeof path, "/v1/payment_intents/%s", ids[i]);
		snprintf(what, sizeof what, "B retrieves %s", path);
		expect_404(H.key_b, "GET", path, NULL, what);
		snprintf(what, sizeof what, "B updates %s", path);
		expect_404(H.key_b, "POST", path, "description=mine", what);
		snprintf(path, sizeof path, "/v1/payment_intents/%s/confirm", ids[i]);
		snprintf(what, sizeof what, "B confirms %s", path);
		expect_404(H.key_b, "POST", path, "payment_method=pm_card_visa", what);
		snprintf(path, sizeof path, "/v1/payment_intents/%s/capture", ids[i]);
		snprintf(what, sizeof what, "B captures %s", path);
		expect_404(H.key_b, "POST", path, "", what);
		snprintf(path, sizeof path, "/v1/payment_intents/%s/cancel", ids[i]);
		snprintf(what, sizeof what, "B cancels %s", path);
		expect_404(H.key_b, "POST", path, "", what);
		snprintf(form, sizeof form, "payment_intent=%s", ids[i]);
		snprintf(what, sizeof what, "B refunds %s", ids[i]);
		expect_404(H.key_b, "POST", "/v1/refunds", form, what);
		snprintf(form, sizeof form, "payment_intent=%s&amount=50", ids[i]);
		expect_404(H.key_b, "POST", "/v1/refunds", form, what);
	}
	snprintf(path, sizeof path, "/v1/refunds/%s", refund);
	expect_404(H.key_b, "GET", path, NULL, "B retrieves A's refund");
	snprintf(path, sizeof path, "/v1/events/%s", json_string_value(json_array_get(a_events, 0)));
	expect_404(H.key_b, "GET", path, NULL, "B retrieves A's event");
	/* The same answer as for an id that never existed. */
	expect_404(H.key_b, "GET", "/v1/payment_intents/pi_00000000000000000000000000",
		   NULL, "B retrieves a made-up id");

	/* B's lists hold none of A's objects. */
	const char *lists[] = {"/v1/payment_intents", "/v1/refunds", "/v1/events"};
	for (int l = 0; l < 3; l++) {
		json_t *b_ids = list_all_ids(H.key_b, lists[l]);
		cr_assert_eq(json_array_size(b_ids), 0, "B lists %zu objects at %s",
			     json_array_size(b_ids), lists[l]);
		json_decref(b_ids);
	}
	snprintf(path, sizeof path, "/v1/refunds?payment_intent=%s", paid);
	json_t *b_refunds = list_all_ids(H.key_b, path);
	cr_assert_eq(json_array_size(b_refunds), 0, "B lists A's refunds by payment_intent");
	json_decref(b_refunds);
	/* B's balance has nothing of A's money. */
	call(AUTH_BEARER, H.key_b, "GET", "/v1/balance", NULL, &r);
	cr_assert_eq(r.status, 200, "B's balance: HTTP %ld: %s", r.status, r.body);
	size_t i;
	json_t *entry;
	json_t *all = json_array();
	json_array_extend(all, jpath(r.json, "available"));
	json_array_extend(all, jpath(r.json, "pending"));
	json_array_foreach(all, i, entry) {
		cr_assert_eq(json_integer_value(json_object_get(entry, "amount")), 0,
			     "B's balance shows A's money: %s", r.body);
	}
	json_decref(all);
	http_resp_free(&r);

	/* A's objects are untouched, and A still sees them all. */
	const char *want[] = {"succeeded", "requires_capture", "requires_payment_method"};
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof path, "/v1/payment_intents/%s", ids[k]);
		call(AUTH_BEARER, H.key_a, "GET", path, NULL, &r);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(jpath_str(r.json, "status"), want[k], "%s changed", ids[k]);
		cr_assert(json_is_null(jpath(r.json, "description")), "B's update reached %s", ids[k]);
		cr_assert_eq(json_integer_value(jpath(r.json, "amount_refunded")), k == 0 ? 100 : 0);
		http_resp_free(&r);
	}
	json_t *a_ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(a_ids), 3);
	for (int k = 0; k < 3; k++)
		cr_assert(contains_id(a_ids, ids[k]), "A's list lacks %s", ids[k]);
	json_decref(a_ids);
	json_t *a_events_after = list_all_ids(H.key_a, "/v1/events");
	cr_assert(json_equal(a_events, a_events_after), "B's attempts added events to A's list");
	json_decref(a_events);
	json_decref(a_events_after);

	/* And B's own object is invisible to A. */
	char b_pi[128];
	create(H.key_b, "amount=900&currency=usd&confirm=true&payment_method=pm_card_visa", b_pi,
	       "succeeded");
	snprintf(path, sizeof path, "/v1/payment_intents/%s", b_pi);
	expect_404(H.key_a, "GET", path, NULL, "A retrieves B's intent");
	a_ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert(!contains_id(a_ids, b_pi), "A lists B's intent");
	json_decref(a_ids);
}
