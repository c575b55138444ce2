/* tests/e2e_raw/test_limits: every named limit tested at the limit and one
 * past it (DESIGN.md: "a named constant, checked, with a test at the
 * limit").  The constants come from src/api/params.h and
 * src/core/payment.h, so the tests follow them if they change. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "core/payment.h"
#include "harness.h"

#define CAT_PARAMETER_INVALID 402
#define CAT_PARAMETER_UNKNOWN 403
#define CAT_BODY_TOO_LARGE 415
#define CAT_MALFORMED_BODY 416
#define LIST_LIMIT_MAX 100 /* Stripe's, and payd's http_page */
#define IDEM_KEY_MAX 255   /* STORE_IDEM_KEY_MAX */

/* A growing string. */
struct sb {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Appends s with its first `encoded` bytes percent-encoded (%XX). */
static void sb_enc(struct sb *b, const char *s, size_t encoded)
{
	for (size_t i = 0; s[i]; i++) {
		char e[4];
		if (i < encoded) {
			snprintf(e, sizeof e, "%%%02X", (unsigned char)s[i]);
			sb_add(b, e, 3);
		} else {
			sb_add(b, &s[i], 1);
		}
	}
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A metadata key of exactly len characters, unique by n. */
static void meta_key(int n, size_t len, char *out)
{
	int w = snprintf(out, len + 1, "k%d", n);
	for (size_t i = (size_t)w; i < len; i++)
		out[i] = 'x';
	out[len] = '\0';
}

/* One "&metadata[key]=value" pair of exactly `size` bytes, with key n:
 * the key length, the value length and how many bytes are percent-encoded
 * are chosen to make the size; false when no choice fits. */
static bool meta_pair_of_size(struct sb *b, int n, size_t size)
{
	for (size_t kl = PARAMS_METADATA_KEY_MAX; kl >= 4; kl--) {
		size_t name = strlen("metadata[") + kl + 1;
		for (int enc_name = 0; enc_name < 2; enc_name++) {
			size_t fixed = 2 + (enc_name ? 3 * name : name); /* '&' and '=' */
			if (size < fixed + 1)
				continue;
			size_t t = size - fixed; /* value bytes: v + 2e */
			for (size_t v = PARAMS_METADATA_VALUE_MAX; v >= 1; v--) {
				if (t < v || (t - v) % 2 || (t - v) / 2 > v)
					continue;
				char key[PARAMS_METADATA_KEY_MAX + 1], full[64];
				meta_key(n, kl, key);
				snprintf(full, sizeof full, "metadata[%s]", key);
				char *value = repeat('v', v);
				sb_str(b, "&");
				sb_enc(b, full, enc_name ? strlen(full) : 0);
				sb_str(b, "=");
				sb_enc(b, value, (t - v) / 2);
				free(value);
				return true;
			}
		}
	}
	return false;
}

/* A valid create body of exactly `size` bytes, as form: a description at
 * its limit and metadata at their limits, every byte percent-encoded, so
 * that a body of PARAMS_BODY_MAX fits within every parameter limit.
 * *keys is the number of metadata keys used. */
static char *form_of_size(size_t size, int *keys)
{
	struct sb b = {0};
	char *desc = repeat('d', PAYMENT_DESCRIPTION_MAX);
	sb_str(&b, "amount=4200&currency=usd&description=");
	sb_enc(&b, desc, PAYMENT_DESCRIPTION_MAX);
	free(desc);
	size_t full = 2 + 3 * (strlen("metadata[]") + PARAMS_METADATA_KEY_MAX) +
		      3 * PARAMS_METADATA_VALUE_MAX;
	int n = 0;
	while (b.len < size) {
		cr_assert(n < PARAMS_METADATA_KEYS_MAX, "cannot reach %zu bytes within the limits", size);
		size_t left = size - b.len;
		size_t piece = left <= full ? left : (left - full < 64 ? left - 64 : full);
		cr_assert(meta_pair_of_size(&b, n, piece), "no metadata pair of %zu bytes", piece);
		n++;
	}
	cr_assert_eq(b.len, size);
	*keys = n;
	return b.s;
}

static void post_raw(const char *path, const char *body, size_t len, const char *type,
		     struct http_resp *r)
{
	struct http_req req = {.method = "POST", .path = path, .body = body, .body_len = len,
			       .content_type = type, .auth = AUTH_BEARER, .key = H.key_a};
	http_do(H.url, &req, r);
}

Test(limits, body_of_exactly_params_body_max_form, .init = harness_setup, .fini = harness_teardown)
{
	int keys = 0;
	char *body = form_of_size(PARAMS_BODY_MAX, &keys);
	cr_assert_eq(strlen(body), PARAMS_BODY_MAX);
	struct http_resp r;
	post_raw("/v1/payment_intents", body, PARAMS_BODY_MAX, NULL, &r);
	cr_assert_eq(r.status, 200, "a %d-byte form body: HTTP %ld: %.600s", PARAMS_BODY_MAX,
		     r.status, r.body);
	cr_assert_eq(json_integer_value(jpath(r.json, "amount")), 4200);
	cr_assert_eq(strlen(jpath_str(r.json, "description")), PAYMENT_DESCRIPTION_MAX);
	cr_assert_eq(json_object_size(jpath(r.json, "metadata")), (size_t)keys);
	http_resp_free(&r);

	/* One byte more (one more encoded character) is too large. */
	struct sb more = {0};
	sb_add(&more, body, PARAMS_BODY_MAX);
	sb_str(&more, "x");
	post_raw("/v1/payment_intents", more.s, more.len, NULL, &r);
	assert_catalog_error(&r, CAT_BODY_TOO_LARGE, NULL, NULL, "PARAMS_BODY_MAX + 1 form bytes");
	http_resp_free(&r);
	free(more.s);
	free(body);
	json_t *ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(ids), 1, "the refused body wrote something");
	json_decref(ids);
}

/* JSON: whitespace is JSON too, so pad a valid body to the byte. */
Test(limits, body_of_exactly_params_body_max_json, .init = harness_setup, .fini = harness_teardown)
{
	char *body = malloc(PARAMS_BODY_MAX + 2);
	int n = snprintf(body, PARAMS_BODY_MAX, "{\"amount\":4300,\"currency\":\"usd\",\"metadata\":{\"k\":\"v\"}");
	memset(body + n, ' ', PARAMS_BODY_MAX - (size_t)n - 1);
	body[PARAMS_BODY_MAX - 1] = '}';
	body[PARAMS_BODY_MAX] = '\0';
	struct http_resp r;
	post_raw("/v1/payment_intents", body, PARAMS_BODY_MAX, "application/json", &r);
	cr_assert_eq(r.status, 200, "a %d-byte JSON body: HTTP %ld: %.600s", PARAMS_BODY_MAX,
		     r.status, r.body);
	cr_assert_eq(json_integer_value(jpath(r.json, "amount")), 4300);
	http_resp_free(&r);
	body[PARAMS_BODY_MAX - 1] = ' ';
	body[PARAMS_BODY_MAX] = '}';
	body[PARAMS_BODY_MAX + 1] = '\0';
	post_raw("/v1/payment_intents", body, PARAMS_BODY_MAX + 1, "application/json", &r);
	assert_catalog_error(&r, CAT_BODY_TOO_LARGE, NULL, NULL, "PARAMS_BODY_MAX + 1 JSON bytes");
	http_resp_free(&r);
	free(body);
}

/* metadata with n keys of key_len characters and values of value_len. */
static char *metadata_form(int n, size_t key_len, size_t value_len)
{
	struct sb b = {0};
	sb_str(&b, "amount=100&currency=usd");
	char *value = repeat('v', value_len);
	for (int i = 0; i < n; i++) {
		char key[256];
		meta_key(i, key_len, key);
		sb_str(&b, "&metadata[");
		sb_str(&b, key);
		sb_str(&b, "]=");
		sb_str(&b, value);
	}
	free(value);
	return b.s;
}

static void expect_ok(const char *form, size_t keys, const char *what)
{
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents", form, &r);
	cr_assert_eq(r.status, 200, "%s: HTTP %ld: %.400s", what, r.status, r.body);
	cr_assert_eq(json_object_size(jpath(r.json, "metadata")), keys, "%s: metadata kept", what);
	http_resp_free(&r);
}

static void expect_refused(const char *path, const char *form, int code, const char *param,
			   const char *what)
{
	struct http_resp r;
	h_post(H.key_a, path, form, &r);
	assert_catalog_error(&r, code, param, NULL, what);
	http_resp_free(&r);
}

Test(limits, metadata_keys_key_length_value_length, .init = harness_setup,
     .fini = harness_teardown)
{
	char *f;
	expect_ok(f = metadata_form(PARAMS_METADATA_KEYS_MAX, 8, 10), PARAMS_METADATA_KEYS_MAX,
		  "50 metadata keys");
	free(f);
	expect_refused("/v1/payment_intents", f = metadata_form(PARAMS_METADATA_KEYS_MAX + 1, 8, 10),
		       CAT_PARAMETER_INVALID, "metadata", "51 metadata keys");
	free(f);
	expect_ok(f = metadata_form(1, PARAMS_METADATA_KEY_MAX, 10), 1, "a 40-character key");
	free(f);
	expect_refused("/v1/payment_intents", f = metadata_form(1, PARAMS_METADATA_KEY_MAX + 1, 10),
		       CAT_PARAMETER_INVALID, "metadata", "a 41-character key");
	free(f);
	expect_ok(f = metadata_form(1, 8, PARAMS_METADATA_VALUE_MAX), 1, "a 500-character value");
	free(f);
	expect_refused("/v1/payment_intents", f = metadata_form(1, 8, PARAMS_METADATA_VALUE_MAX + 1),
		       CAT_PARAMETER_INVALID, "metadata", "a 501-character value");
	free(f);
	/* All three at their limits at once. */
	expect_ok(f = metadata_form(PARAMS_METADATA_KEYS_MAX, PARAMS_METADATA_KEY_MAX,
				    PARAMS_METADATA_VALUE_MAX),
		  PARAMS_METADATA_KEYS_MAX, "50 keys of 40 with values of 500");
	free(f);

	/* Refunds take the same metadata limits. */
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents",
	       "amount=100&currency=usd&confirm=true&payment_method=pm_card_visa", &r);
	cr_assert_eq(r.status, 200);
	char pi[128];
	snprintf(pi, sizeof pi, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	struct sb b = {0};
	sb_str(&b, "payment_intent=");
	sb_str(&b, pi);
	sb_str(&b, "&amount=1");
	for (int i = 0; i <= PARAMS_METADATA_KEYS_MAX; i++) {
		char pair[64];
		snprintf(pair, sizeof pair, "&metadata[k%d]=v", i);
		sb_str(&b, pair);
	}
	expect_refused("/v1/refunds", b.s, CAT_PARAMETER_INVALID, "metadata", "a refund with 51 keys");
	free(b.s);
	json_t *ids = list_all_ids(H.key_a, "/v1/refunds");
	cr_assert_eq(json_array_size(ids), 0);
	json_decref(ids);

	/* Only the accepted ones were written. */
	ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(ids), 5);
	json_decref(ids);
}

/* The 50-key limit holds for the intent, not only for one request:
 * updates merge keys, so 50 kept plus 1 added is 51. */
Test(limits, metadata_keys_limit_holds_across_updates, .init = harness_setup,
     .fini = harness_teardown)
{
	char *f = metadata_form(PARAMS_METADATA_KEYS_MAX, 8, 10);
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents", f, &r);
	free(f);
	cr_assert_eq(r.status, 200);
	char path[256];
	snprintf(path, sizeof path, "/v1/payment_intents/%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	h_post(H.key_a, path, "metadata[one_more]=x", &r);
	cr_assert(r.status >= 400 && r.status < 500,
		  "POST %s metadata[one_more]=x on an intent with 50 keys: HTTP %ld, metadata now "
		  "has %zu keys (limit %d)",
		  path, r.status, json_object_size(jpath(r.json, "metadata")),
		  PARAMS_METADATA_KEYS_MAX);
	assert_catalog_error(&r, CAT_PARAMETER_INVALID, "metadata", NULL, "the 51st key by update");
	http_resp_free(&r);
	/* Replacing a key or deleting one and adding one stays within it. */
	char key0[16], form[64];
	meta_key(0, 8, key0);
	snprintf(form, sizeof form, "metadata[%s]=&metadata[one_more]=x", key0);
	h_post(H.key_a, path, form, &r);
	cr_assert_eq(r.status, 200, "delete one, add one: HTTP %ld: %.300s", r.status, r.body);
	cr_assert_eq(json_object_size(jpath(r.json, "metadata")), PARAMS_METADATA_KEYS_MAX);
	http_resp_free(&r);
}

Test(limits, description, .init = harness_setup, .fini = harness_teardown)
{
	char *d = repeat('d', PAYMENT_DESCRIPTION_MAX + 1);
	char *form = malloc(PAYMENT_DESCRIPTION_MAX + 100);
	snprintf(form, PAYMENT_DESCRIPTION_MAX + 100, "amount=100&currency=usd&description=%.*s",
		 PAYMENT_DESCRIPTION_MAX, d);
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents", form, &r);
	cr_assert_eq(r.status, 200, "a 1000-byte description: HTTP %ld: %.300s", r.status, r.body);
	cr_assert_eq(strlen(jpath_str(r.json, "description")), PAYMENT_DESCRIPTION_MAX);
	http_resp_free(&r);
	snprintf(form, PAYMENT_DESCRIPTION_MAX + 100, "amount=100&currency=usd&description=%s", d);
	expect_refused("/v1/payment_intents", form, CAT_PARAMETER_INVALID, "description",
		       "a 1001-byte description");
	free(form);
	free(d);
}

Test(limits, amounts_at_the_bounds, .init = harness_setup, .fini = harness_teardown)
{
	char form[128];
	struct http_resp r;
	snprintf(form, sizeof form, "amount=%lld&currency=usd", (long long)PAYMENT_AMOUNT_MAX);
	h_post(H.key_a, "/v1/payment_intents", form, &r);
	cr_assert_eq(r.status, 200, "amount at PAYMENT_AMOUNT_MAX: HTTP %ld: %s", r.status, r.body);
	cr_assert_eq(json_integer_value(jpath(r.json, "amount")), PAYMENT_AMOUNT_MAX);
	http_resp_free(&r);
	h_post(H.key_a, "/v1/payment_intents", "amount=1&currency=usd", &r);
	cr_assert_eq(r.status, 200, "amount 1: HTTP %ld: %s", r.status, r.body);
	http_resp_free(&r);
	/* The largest int64 parses (then is too large); the next is an overflow. */
	h_post(H.key_a, "/v1/payment_intents", "amount=9223372036854775807&currency=usd", &r);
	assert_catalog_error(&r, 405, "amount", NULL, "amount INT64_MAX");
	http_resp_free(&r);
	h_post(H.key_a, "/v1/payment_intents", "amount=9223372036854775808&currency=usd", &r);
	assert_catalog_error(&r, 405, "amount", NULL, "amount INT64_MAX + 1");
	http_resp_free(&r);
	h_post(H.key_a, "/v1/payment_intents", "amount=-9223372036854775808&currency=usd", &r);
	assert_catalog_error(&r, 404, "amount", NULL, "amount INT64_MIN");
	http_resp_free(&r);
}

Test(limits, nesting_depth, .init = harness_setup, .fini = harness_teardown)
{
	/* PARAMS_DEPTH_MAX levels parse, and are refused for a parameter
	 * reason; one more is a malformed body. */
	expect_refused("/v1/payment_intents", "amount=100&currency=usd&a[b][c][d][e]=1",
		       CAT_PARAMETER_UNKNOWN, "a", "form nested 5 levels");
	expect_refused("/v1/payment_intents", "amount=100&currency=usd&a[b][c][d][e][f]=1",
		       CAT_MALFORMED_BODY, NULL, "form nested 6 levels");
	struct http_resp r;
	h_post_json(H.key_a, "/v1/payment_intents",
		    "{\"amount\":100,\"currency\":\"usd\",\"a\":{\"b\":{\"c\":{\"d\":{\"e\":\"1\"}}}}}",
		    &r);
	assert_catalog_error(&r, CAT_PARAMETER_UNKNOWN, "a", NULL, "JSON nested 5 levels");
	http_resp_free(&r);
	h_post_json(H.key_a, "/v1/payment_intents",
		    "{\"amount\":100,\"currency\":\"usd\",\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":\"1\"}}}}}}",
		    &r);
	assert_catalog_error(&r, CAT_MALFORMED_BODY, NULL, NULL, "JSON nested 6 levels");
	http_resp_free(&r);
	/* Arrays count as levels too. */
	h_post_json(H.key_a, "/v1/payment_intents",
		    "{\"amount\":100,\"currency\":\"usd\",\"a\":[[[[[[[[[[[[\"x\"]]]]]]]]]]]]}", &r);
	assert_catalog_error(&r, CAT_MALFORMED_BODY, NULL, NULL, "JSON arrays nested 13 levels");
	http_resp_free(&r);
}

Test(limits, field_count_and_name_length, .init = harness_setup, .fini = harness_teardown)
{
	/* PARAMS_FIELDS_MAX pairs parse (refused: too many metadata keys);
	 * one more pair is too large. */
	struct sb b = {0};
	sb_str(&b, "amount=100&currency=usd");
	for (int i = 2; i < PARAMS_FIELDS_MAX; i++) {
		char pair[32];
		snprintf(pair, sizeof pair, "&metadata[k%d]=v", i);
		sb_str(&b, pair);
	}
	expect_refused("/v1/payment_intents", b.s, CAT_PARAMETER_INVALID, "metadata",
		       "PARAMS_FIELDS_MAX pairs");
	sb_str(&b, "&description=x");
	expect_refused("/v1/payment_intents", b.s, CAT_BODY_TOO_LARGE, NULL,
		       "PARAMS_FIELDS_MAX + 1 pairs");
	free(b.s);

	/* A name of PARAMS_NAME_MAX bytes parses (unknown parameter); one
	 * more byte is malformed. */
	char *name = repeat('n', PARAMS_NAME_MAX + 1);
	char *form = malloc(PARAMS_NAME_MAX + 64);
	snprintf(form, PARAMS_NAME_MAX + 64, "amount=100&currency=usd&%.*s=1", PARAMS_NAME_MAX, name);
	name[PARAMS_NAME_MAX] = '\0';
	expect_refused("/v1/payment_intents", form, CAT_PARAMETER_UNKNOWN, name,
		       "a 256-byte parameter name");
	name[PARAMS_NAME_MAX] = 'n';
	snprintf(form, PARAMS_NAME_MAX + 64, "amount=100&currency=usd&%s=1", name);
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents", form, &r);
	int code = (int)json_integer_value(jpath(r.json, "error.payd_code"));
	cr_assert(code == CAT_MALFORMED_BODY || code == CAT_BODY_TOO_LARGE,
		  "a 257-byte name: payd_code %d: %s", code, r.body);
	assert_catalog_error(&r, code, NULL, NULL, "a 257-byte parameter name");
	http_resp_free(&r);
	free(form);
	free(name);

	/* A string value of PARAMS_STRING_MAX + 1 bytes is refused by the parser. */
	char *big = repeat('s', PARAMS_STRING_MAX + 1);
	form = malloc(PARAMS_STRING_MAX + 64);
	snprintf(form, PARAMS_STRING_MAX + 64, "amount=100&currency=usd&description=%s", big);
	expect_refused("/v1/payment_intents", form, CAT_PARAMETER_INVALID, "description",
		       "a 5001-byte value");
	free(form);
	free(big);
	json_t *ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(ids), 0);
	json_decref(ids);
}

Test(limits, idempotency_key_length, .init = harness_setup, .fini = harness_teardown)
{
	char key[IDEM_KEY_MAX + 2];
	memset(key, 'i', IDEM_KEY_MAX + 1);
	key[IDEM_KEY_MAX] = '\0';
	struct http_req req = {.method = "POST", .path = "/v1/payment_intents",
			       .body = "amount=100&currency=usd", .auth = AUTH_BEARER, .key = H.key_a,
			       .idem_key = key};
	struct http_resp r;
	http_do(H.url, &req, &r);
	cr_assert_eq(r.status, 200, "a 255-character Idempotency-Key: HTTP %ld: %s", r.status, r.body);
	http_resp_free(&r);
	key[IDEM_KEY_MAX] = 'i';
	key[IDEM_KEY_MAX + 1] = '\0';
	http_do(H.url, &req, &r);
	assert_catalog_error(&r, CAT_PARAMETER_INVALID, "Idempotency-Key", NULL,
			     "a 256-character Idempotency-Key");
	http_resp_free(&r);
}

static void list_limit(const char *path)
{
	char url[256], what[300];
	struct http_resp r;
	const int ok[] = {1, LIST_LIMIT_MAX};
	for (int i = 0; i < 2; i++) {
		snprintf(url, sizeof url, "%s?limit=%d", path, ok[i]);
		h_get(H.key_a, url, &r);
		cr_assert_eq(r.status, 200, "GET %s: HTTP %ld: %s", url, r.status, r.body);
		cr_assert_str_eq(jpath_str(r.json, "object"), "list");
		cr_assert(json_array_size(jpath(r.json, "data")) <= (size_t)ok[i]);
		http_resp_free(&r);
	}
	const char *bad[] = {"101", "0", "-1", "1000000", "99999999999999999999", "ten"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(url, sizeof url, "%s?limit=%s", path, bad[i]);
		snprintf(what, sizeof what, "GET %s", url);
		h_get(H.key_a, url, &r);
		int code = (int)json_integer_value(jpath(r.json, "error.payd_code"));
		/* An int64 overflow may be reported as "too large". */
		assert_catalog_error(&r, code == 405 ? 405 : CAT_PARAMETER_INVALID, "limit", NULL, what);
		http_resp_free(&r);
	}
}

static void count_page(const char *url, size_t want, bool more)
{
	struct http_resp r;
	h_get(H.key_a, url, &r);
	cr_assert_eq(r.status, 200, "GET %s: HTTP %ld: %s", url, r.status, r.body);
	cr_assert_eq(json_array_size(jpath(r.json, "data")), want, "GET %s: %zu objects, expected %zu",
		     url, json_array_size(jpath(r.json, "data")), want);
	cr_assert_eq(json_is_true(jpath(r.json, "has_more")), more, "GET %s: has_more", url);
	http_resp_free(&r);
}

Test(limits, list_limit, .init = harness_setup, .fini = harness_teardown, .timeout = 120)
{
	/* LIST_LIMIT_MAX + 1 intents: a full page at the limit, with more. */
	for (int i = 0; i <= LIST_LIMIT_MAX; i++) {
		struct http_resp r;
		char form[64];
		snprintf(form, sizeof form, "amount=%d&currency=usd", 100 + i);
		h_post(H.key_a, "/v1/payment_intents", form, &r);
		cr_assert_eq(r.status, 200, "create %d: HTTP %ld: %s", i, r.status, r.body);
		http_resp_free(&r);
	}
	count_page("/v1/payment_intents?limit=100", LIST_LIMIT_MAX, true);
	count_page("/v1/payment_intents", 10, true); /* the default */
	count_page("/v1/events?limit=100", LIST_LIMIT_MAX, true);
	json_t *ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(ids), LIST_LIMIT_MAX + 1, "pagination lost or repeated objects");
	for (size_t i = 0; i < json_array_size(ids); i++)
		for (size_t j = i + 1; j < json_array_size(ids); j++)
			cr_assert(!json_equal(json_array_get(ids, i), json_array_get(ids, j)),
				  "pagination repeats %s", json_string_value(json_array_get(ids, i)));
	/* ending_before the last one: the 100 before it, newest first. */
	char url[256];
	snprintf(url, sizeof url, "/v1/payment_intents?limit=100&ending_before=%s",
		 json_string_value(json_array_get(ids, LIST_LIMIT_MAX)));
	count_page(url, LIST_LIMIT_MAX, false);
	json_decref(ids);
	list_limit("/v1/payment_intents");
	list_limit("/v1/refunds");
	list_limit("/v1/events");
}
