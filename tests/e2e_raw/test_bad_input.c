/* tests/e2e_raw/test_bad_input: bad input gets a clear 4xx and writes
 * nothing (DESIGN.md promise 8, issue 3 item 9).
 *
 * Each case is sent as raw bytes (form or JSON, with the content type the
 * case names) and must be answered with the catalog's error object: the
 * HTTP status of its code, error.type, error.code, error.payd_code,
 * error.param where a parameter is at fault, and user_message in the
 * request's language.  Then GET /v1/payment_intents and GET /v1/events
 * must list exactly what they listed before. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "core/payment.h"
#include "harness.h"

#define FORM NULL
#define JSON "application/json"

enum gen {
	G_NONE,
	G_OVER_64K_FORM,      /* PARAMS_BODY_MAX + 1 bytes, form */
	G_OVER_64K_JSON,      /* PARAMS_BODY_MAX + 1 bytes, JSON */
	G_WAY_OVER,           /* 1 MiB */
	G_TOO_MANY_FIELDS,    /* PARAMS_FIELDS_MAX + 1 pairs */
	G_DEEP_JSON,          /* nesting far past PARAMS_DEPTH_MAX */
	G_AMOUNT_ABOVE_MAX,   /* PAYMENT_AMOUNT_MAX + 1 */
	G_LONG_IDEM_KEY,      /* Idempotency-Key of 256 characters */
};

struct bad_case {
	const char *name;
	const char *method;
	const char *path;
	const char *content_type;
	const char *body;
	enum gen gen;
	int code;            /* the expected catalog code */
	const char *param;   /* the expected error.param, or NULL when none is asserted */
	int alt_code;        /* another acceptable code, or 0 */
};

#define CARD_FORM(number, month, year, cvc)                                              \
	"amount=100&currency=usd&confirm=true&payment_method_data[type]=card"            \
	"&payment_method_data[card][number]=" number                                     \
	"&payment_method_data[card][exp_month]=" month                                   \
	"&payment_method_data[card][exp_year]=" year "&payment_method_data[card][cvc]=" cvc

static const struct bad_case cases[] = {
	/* malformed form encoding */
	{"form: bad percent escape in a value", "POST", "/v1/payment_intents", FORM,
	 "amount=%zz&currency=usd", G_NONE, 416, "amount", 0},
	{"form: bad percent escape in a name", "POST", "/v1/payment_intents", FORM,
	 "amo%zzunt=100&currency=usd", G_NONE, 416, NULL, 0},
	{"form: truncated percent escape", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&description=abc%4", G_NONE, 416, "description", 0},
	{"form: encoded NUL", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&description=a%00b", G_NONE, 416, "description", 0},
	{"form: unbalanced brackets", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&metadata[a=1", G_NONE, 416, NULL, 0},
	{"form: empty parameter name", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&=1", G_NONE, 416, NULL, 0},
	{"form: metadata[] (an array)", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&metadata[]=x", G_NONE, 402, "metadata", 0},
	{"form: metadata[a] and metadata", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&metadata[a]=1&metadata=2", G_NONE, 402, NULL, 0},
	{"form: amount without a value", "POST", "/v1/payment_intents", FORM, "amount&currency=usd",
	 G_NONE, 402, "amount", 0},
	/* invalid JSON */
	{"json: truncated", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\"", G_NONE, 416, NULL, 0},
	{"json: trailing garbage", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\"} x", G_NONE, 416, NULL, 0},
	{"json: top-level array", "POST", "/v1/payment_intents", JSON,
	 "[{\"amount\":100,\"currency\":\"usd\"}]", G_NONE, 416, NULL, 0},
	{"json: top-level string", "POST", "/v1/payment_intents", JSON, "\"amount\"", G_NONE, 416,
	 NULL, 0},
	{"json: duplicate key", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"amount\":200,\"currency\":\"usd\"}", G_NONE, 416, NULL, 0},
	{"json: NUL in a string", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\",\"description\":\"a\\u0000b\"}", G_NONE, 416, NULL, 0},
	/* wrong types */
	{"form: amount abc", "POST", "/v1/payment_intents", FORM, "amount=abc&currency=usd", G_NONE,
	 402, "amount", 0},
	{"json: amount \"abc\"", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":\"abc\",\"currency\":\"usd\"}", G_NONE, 402, "amount", 0},
	{"form: amount 1.5", "POST", "/v1/payment_intents", FORM, "amount=1.5&currency=usd", G_NONE,
	 402, "amount", 0},
	{"json: amount 1.5", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":1.5,\"currency\":\"usd\"}", G_NONE, 402, "amount", 0},
	{"json: amount true", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":true,\"currency\":\"usd\"}", G_NONE, 402, "amount", 0},
	{"json: amount object", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":{\"v\":1},\"currency\":\"usd\"}", G_NONE, 402, "amount", 0},
	{"form: amount with spaces", "POST", "/v1/payment_intents", FORM,
	 "amount=+100&currency=usd", G_NONE, 402, "amount", 0},
	{"form: confirm maybe", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&confirm=maybe", G_NONE, 402, "confirm", 0},
	{"json: confirm \"maybe\"", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\",\"confirm\":\"maybe\"}", G_NONE, 402, "confirm", 0},
	{"json: confirm 1", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\",\"confirm\":1}", G_NONE, 402, "confirm", 0},
	{"json: currency a number", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":840}", G_NONE, 402, "currency", 0},
	{"form: metadata a string", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&metadata=abc", G_NONE, 402, "metadata", 0},
	{"form: capture_method unknown", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&capture_method=later", G_NONE, 402, "capture_method", 0},
	{"form: repeated parameter", "POST", "/v1/payment_intents", FORM,
	 "amount=100&amount=200&currency=usd", G_NONE, 402, "amount", 0},
	/* amounts */
	{"form: amount 0", "POST", "/v1/payment_intents", FORM, "amount=0&currency=usd", G_NONE, 404,
	 "amount", 0},
	{"form: amount -1", "POST", "/v1/payment_intents", FORM, "amount=-1&currency=usd", G_NONE, 404,
	 "amount", 0},
	{"json: amount -1", "POST", "/v1/payment_intents", JSON, "{\"amount\":-1,\"currency\":\"usd\"}",
	 G_NONE, 404, "amount", 0},
	{"form: amount overflows int64", "POST", "/v1/payment_intents", FORM,
	 "amount=99999999999999999999&currency=usd", G_NONE, 405, "amount", 0},
	{"form: amount -overflow", "POST", "/v1/payment_intents", FORM,
	 "amount=-99999999999999999999&currency=usd", G_NONE, 405, "amount", 404},
	{"json: amount overflows int64", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":99999999999999999999,\"currency\":\"usd\"}", G_NONE, 405, NULL, 416},
	{"form: amount above the maximum", "POST", "/v1/payment_intents", FORM, NULL,
	 G_AMOUNT_ABOVE_MAX, 405, "amount", 0},
	/* currency */
	{"form: unknown currency", "POST", "/v1/payment_intents", FORM, "amount=100&currency=xxx",
	 G_NONE, 407, "currency", 0},
	{"form: currency too long", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usdollars", G_NONE, 402, "currency", 407},
	{"form: empty currency", "POST", "/v1/payment_intents", FORM, "amount=100&currency=", G_NONE,
	 407, "currency", 401},
	/* unknown parameters */
	{"form: unknown parameter", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&colour=red", G_NONE, 403, "colour", 0},
	{"json: unknown parameter", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\",\"colour\":\"red\"}", G_NONE, 403, "colour", 0},
	{"form: unknown card field", "POST", "/v1/payment_intents", FORM,
	 CARD_FORM("4242424242424242", "12", "2040", "123") "&payment_method_data[card][pin]=1234",
	 G_NONE, 403, "payment_method_data[card][pin]", 0},
	/* size */
	{"form: body over PARAMS_BODY_MAX", "POST", "/v1/payment_intents", FORM, NULL,
	 G_OVER_64K_FORM, 415, NULL, 0},
	{"json: body over PARAMS_BODY_MAX", "POST", "/v1/payment_intents", JSON, NULL,
	 G_OVER_64K_JSON, 415, NULL, 0},
	{"form: 1 MiB body", "POST", "/v1/payment_intents", FORM, NULL, G_WAY_OVER, 415, NULL, 0},
	{"form: too many parameters", "POST", "/v1/payment_intents", FORM, NULL, G_TOO_MANY_FIELDS,
	 415, NULL, 0},
	/* invalid UTF-8 */
	{"form: invalid UTF-8 value (encoded)", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&description=%FF%FE", G_NONE, 416, "description", 0},
	{"form: invalid UTF-8 value (raw bytes)", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&description=\xc3\x28", G_NONE, 416, "description", 0},
	{"form: overlong UTF-8 encoding", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&description=%C0%AF", G_NONE, 416, "description", 0},
	{"form: invalid UTF-8 in a metadata key", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&metadata[%FF]=1", G_NONE, 416, NULL, 0},
	{"json: invalid UTF-8 in a string", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\",\"description\":\"\xff\xfe\"}", G_NONE, 416, NULL, 0},
	{"json: lone surrogate escape", "POST", "/v1/payment_intents", JSON,
	 "{\"amount\":100,\"currency\":\"usd\",\"description\":\"\\udc00\"}", G_NONE, 416, NULL, 0},
	{"get: invalid UTF-8 in the query", "GET", "/v1/payment_intents?limit=%FF", NULL, NULL,
	 G_NONE, 416, NULL, 402},
	/* nesting */
	{"form: a[b][c][d][e][f]=1", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&a[b][c][d][e][f]=1", G_NONE, 416, NULL, 0},
	{"form: metadata nested too deep", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&metadata[a][b][c][d][e][f][g]=1", G_NONE, 416, NULL, 0},
	{"json: nested too deep", "POST", "/v1/payment_intents", JSON, NULL, G_DEEP_JSON, 416, NULL, 0},
	/* missing */
	{"form: missing amount", "POST", "/v1/payment_intents", FORM, "currency=usd", G_NONE, 401,
	 "amount", 0},
	{"form: missing currency", "POST", "/v1/payment_intents", FORM, "amount=100", G_NONE, 401,
	 "currency", 0},
	{"form: empty body", "POST", "/v1/payment_intents", FORM, "", G_NONE, 401, NULL, 0},
	{"json: empty object", "POST", "/v1/payment_intents", JSON, "{}", G_NONE, 401, NULL, 0},
	{"refund: missing payment_intent", "POST", "/v1/refunds", FORM, "amount=100", G_NONE, 401,
	 "payment_intent", 0},
	/* content types */
	{"text/plain body", "POST", "/v1/payment_intents", "text/plain", "amount=100&currency=usd",
	 G_NONE, 416, NULL, 0},
	{"multipart/form-data body", "POST", "/v1/payment_intents", "multipart/form-data; boundary=xx",
	 "--xx\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n100\r\n--xx--\r\n", G_NONE,
	 416, NULL, 0},
	{"application/xml body", "POST", "/v1/payment_intents", "application/xml",
	 "<amount>100</amount>", G_NONE, 416, NULL, 0},
	/* payment methods refused before anything is written */
	{"unknown payment_method id", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&confirm=true&payment_method=pm_card_nonexistent", G_NONE, 408,
	 "payment_method", 0},
	{"card number failing Luhn", "POST", "/v1/payment_intents", FORM,
	 CARD_FORM("4242424242424241", "12", "2040", "123"), G_NONE, 104,
	 "payment_method_data[card][number]", 0},
	{"card number with letters", "POST", "/v1/payment_intents", FORM,
	 CARD_FORM("4242abcd42424242", "12", "2040", "123"), G_NONE, 104,
	 "payment_method_data[card][number]", 0},
	{"card expired in 2020", "POST", "/v1/payment_intents", FORM,
	 CARD_FORM("4242424242424242", "1", "2020", "123"), G_NONE, 102, NULL, 0},
	{"card exp_month 13", "POST", "/v1/payment_intents", FORM,
	 CARD_FORM("4242424242424242", "13", "2040", "123"), G_NONE, 402, NULL, 0},
	{"card cvc of 2 digits", "POST", "/v1/payment_intents", FORM,
	 CARD_FORM("4242424242424242", "12", "2040", "12"), G_NONE, 103,
	 "payment_method_data[card][cvc]", 0},
	{"unknown payment_method_data[type]", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&payment_method_data[type]=cheque", G_NONE, 402,
	 "payment_method_data[type]", 0},
	{"unknown wallet test_outcome", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd&payment_method_data[type]=alipay"
	 "&payment_method_data[alipay][test_outcome]=maybe",
	 G_NONE, 402, "payment_method_data[alipay][test_outcome]", 0},
	/* headers */
	{"Idempotency-Key of 256 characters", "POST", "/v1/payment_intents", FORM,
	 "amount=100&currency=usd", G_LONG_IDEM_KEY, 402, "Idempotency-Key", 0},
	/* lists */
	{"list: limit abc", "GET", "/v1/payment_intents?limit=abc", NULL, NULL, G_NONE, 402, "limit",
	 0},
	{"list: unknown parameter", "GET", "/v1/payment_intents?colour=red", NULL, NULL, G_NONE, 403,
	 "colour", 0},
	{"list: starting_after and ending_before", "GET",
	 "/v1/payment_intents?starting_after=pi_1&ending_before=pi_2", NULL, NULL, G_NONE, 402, NULL,
	 0},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* The bytes of a case (malloc'd) and their length. */
static char *case_body(const struct bad_case *c, size_t *len)
{
	char *b = NULL;
	size_t n = 0;
	switch (c->gen) {
	case G_NONE:
	case G_LONG_IDEM_KEY:
		if (!c->body) {
			*len = 0;
			return NULL;
		}
		*len = strlen(c->body);
		return strdup(c->body);
	case G_OVER_64K_FORM:
	case G_WAY_OVER: {
		n = c->gen == G_WAY_OVER ? (size_t)1 << 20 : (size_t)PARAMS_BODY_MAX + 1;
		b = malloc(n + 1);
		const char *head = "amount=100&currency=usd&description=";
		memcpy(b, head, strlen(head));
		memset(b + strlen(head), 'a', n - strlen(head));
		break;
	}
	case G_OVER_64K_JSON: {
		n = (size_t)PARAMS_BODY_MAX + 1;
		b = malloc(n + 1);
		const char *head = "{\"amount\":100,\"currency\":\"usd\",\"description\":\"";
		memcpy(b, head, strlen(head));
		memset(b + strlen(head), 'a', n - strlen(head) - 2);
		memcpy(b + n - 2, "\"}", 2);
		break;
	}
	case G_TOO_MANY_FIELDS: {
		size_t cap = 64 * (PARAMS_FIELDS_MAX + 10);
		b = malloc(cap);
		n = (size_t)snprintf(b, cap, "amount=100&currency=usd");
		for (int i = 0; i < PARAMS_FIELDS_MAX; i++)
			n += (size_t)snprintf(b + n, cap - n, "&metadata[k%d]=v", i);
		break;
	}
	case G_DEEP_JSON: {
		size_t cap = 4096;
		b = malloc(cap);
		n = (size_t)snprintf(b, cap, "{\"amount\":100,\"currency\":\"usd\",\"metadata\":");
		for (int i = 0; i < 3 * PARAMS_DEPTH_MAX; i++)
			n += (size_t)snprintf(b + n, cap - n, "{\"k%d\":", i);
		n += (size_t)snprintf(b + n, cap - n, "\"v\"");
		for (int i = 0; i < 3 * PARAMS_DEPTH_MAX + 1; i++)
			b[n++] = '}';
		break;
	}
	case G_AMOUNT_ABOVE_MAX: {
		b = malloc(128);
		n = (size_t)snprintf(b, 128, "amount=%lld&currency=usd", (long long)PAYMENT_AMOUNT_MAX + 1);
		break;
	}
	}
	b[n] = '\0';
	*len = n;
	return b;
}

static void send_case(const struct bad_case *c, const char *lang, struct http_resp *r)
{
	size_t len = 0;
	char *body = case_body(c, &len);
	char idem[300] = "";
	if (c->gen == G_LONG_IDEM_KEY)
		memset(idem, 'k', 256), idem[256] = '\0';
	struct http_req req = {.method = c->method, .path = c->path, .body = body, .body_len = len,
			       .content_type = c->content_type, .auth = AUTH_BEARER, .key = H.key_a,
			       .idem_key = idem[0] ? idem : NULL, .lang = lang};
	if (body && len == 0)
		req.body = "";
	http_do(H.url, &req, r);
	free(body);
}

/* Sends one case and checks the answer; false (and a message) when wrong. */
static bool check_case(const struct bad_case *c, const char *lang, char *msg, size_t cap)
{
	struct http_resp r;
	send_case(c, lang, &r);
	char what[200];
	snprintf(what, sizeof what, "[%s]%s", c->name, lang ? " (zh-CN)" : "");
	int code = (int)json_integer_value(jpath(r.json, "error.payd_code"));
	int want = (c->alt_code && code == c->alt_code) ? c->alt_code : c->code;
	bool ok = r.status >= 400 && r.status < 500;
	if (!ok)
		snprintf(msg, cap, "%s: HTTP %ld (curl %d), expected a 4xx: %.400s", what, r.status,
			 r.curl_code, r.body);
	else
		ok = check_catalog_error(&r, want, want == c->code ? c->param : NULL, lang, what, msg,
					 cap);
	http_resp_free(&r);
	return ok;
}

/* Everything the merchant can list: intents, events, refunds. */
static json_t *snapshot(void)
{
	json_t *s = json_object();
	json_object_set_new(s, "intents", list_all_ids(H.key_a, "/v1/payment_intents"));
	json_object_set_new(s, "events", list_all_ids(H.key_a, "/v1/events"));
	json_object_set_new(s, "refunds", list_all_ids(H.key_a, "/v1/refunds"));
	return s;
}

static bool unchanged(json_t *before, const char *what, bool fatal)
{
	json_t *after = snapshot();
	bool same = json_equal(before, after);
	if (!same) {
		char *b = json_dumps(before, JSON_SORT_KEYS | JSON_COMPACT);
		char *a = json_dumps(after, JSON_SORT_KEYS | JSON_COMPACT);
		if (fatal)
			cr_assert_fail("%s wrote something: before %s, after %s", what, b, a);
		cr_expect_fail("%s wrote something: before %s, after %s", what, b, a);
		free(a);
		free(b);
	}
	json_decref(after);
	return same;
}

/* Something to compare against: one payment (with its events) and a refund. */
static void baseline(void)
{
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents",
	       "amount=500&currency=usd&confirm=true&payment_method=pm_card_visa", &r);
	cr_assert_eq(r.status, 200, "baseline payment: HTTP %ld: %s", r.status, r.body);
	char form[200];
	snprintf(form, sizeof form, "payment_intent=%s&amount=100", jpath_str(r.json, "id"));
	http_resp_free(&r);
	h_post(H.key_a, "/v1/refunds", form, &r);
	cr_assert_eq(r.status, 200, "baseline refund: HTTP %ld: %s", r.status, r.body);
	http_resp_free(&r);
}

/* Every case, one after the other, in English and in Chinese, against a
 * server that already holds a payment and a refund: each is answered with
 * its catalog error, and the lists are the same after each of them.  One
 * server for all (it is cheap to check, costly to start); every failing
 * case is reported, not only the first. */
Test(bad_input, every_case_is_refused_and_writes_nothing, .init = harness_setup,
     .fini = harness_teardown, .timeout = 120)
{
	baseline();
	json_t *before = snapshot();
	cr_assert_eq(json_array_size(json_object_get(before, "intents")), 1);
	cr_assert(json_array_size(json_object_get(before, "events")) >= 1, "the baseline has no event");
	int failed = 0;
	for (size_t i = 0; i < N_CASES; i++) {
		const char *langs[] = {NULL, "zh-CN"};
		for (int l = 0; l < 2; l++) {
			char msg[1024];
			if (!check_case(&cases[i], langs[l], msg, sizeof msg)) {
				cr_expect_fail("%s", msg);
				failed++;
			}
		}
		if (!unchanged(before, cases[i].name, false))
			failed++;
	}
	cr_assert_eq(failed, 0, "%d of %zu bad-input cases were mishandled (see above)", failed,
		     N_CASES);
	unchanged(before, "the bad inputs", true);
	json_decref(before);
}

/* Bad input on the other writing endpoints also writes nothing. */
Test(bad_input, other_endpoints, .init = harness_setup, .fini = harness_teardown, .timeout = 60)
{
	struct http_resp r;
	h_post(H.key_a, "/v1/payment_intents",
	       "amount=500&currency=usd&confirm=true&payment_method=pm_card_visa&capture_method=manual",
	       &r);
	cr_assert_eq(r.status, 200, "HTTP %ld: %s", r.status, r.body);
	char id[128], path[256];
	snprintf(id, sizeof id, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	h_post(H.key_a, "/v1/payment_intents", "amount=700&currency=usd", &r);
	char open_id[128];
	snprintf(open_id, sizeof open_id, "%s", jpath_str(r.json, "id"));
	http_resp_free(&r);
	json_t *before = snapshot();

	struct {
		const char *suffix, *form;
		int code;
		const char *param;
		bool open;
	} calls[] = {
		{"/capture", "amount_to_capture=0", 404, "amount_to_capture", false},
		{"/capture", "amount_to_capture=abc", 402, "amount_to_capture", false},
		{"/capture", "amount_to_capture=%zz", 416, NULL, false},
		{"/capture", "colour=red", 403, "colour", false},
		{"/cancel", "cancellation_reason=bored", 402, "cancellation_reason", false},
		{"", "amount=-5", 404, "amount", true},
		{"", "currency=zzz", 407, "currency", true},
		{"", "metadata[a][b][c][d][e][f]=1", 416, NULL, true},
		{"/confirm", "payment_method=pm_card_nope", 408, "payment_method", true},
		{"/confirm", "verification_code=%FF", 416, NULL, true},
	};
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		snprintf(path, sizeof path, "/v1/payment_intents/%s%s", calls[i].open ? open_id : id,
			 calls[i].suffix);
		h_post(H.key_a, path, calls[i].form, &r);
		char what[512];
		snprintf(what, sizeof what, "POST %s %s", path, calls[i].form);
		assert_catalog_error(&r, calls[i].code, calls[i].param, NULL, what);
		http_resp_free(&r);
	}
	const char *refunds[][3] = {
		{"amount=0", "404", "amount"},
		{"amount=-1", "404", "amount"},
		{"amount=abc", "402", "amount"},
		{"amount=99999999999999999999", "405", "amount"},
		{"reason=because", "402", "reason"},
		{"colour=red", "403", "colour"},
	};
	for (size_t i = 0; i < sizeof refunds / sizeof refunds[0]; i++) {
		char form[256];
		snprintf(form, sizeof form, "payment_intent=%s&%s", id, refunds[i][0]);
		h_post(H.key_a, "/v1/refunds", form, &r);
		assert_catalog_error(&r, atoi(refunds[i][1]), refunds[i][2], NULL, form);
		http_resp_free(&r);
	}
	unchanged(before, "bad input on capture/cancel/update/confirm/refund", true);
	json_decref(before);

	/* The intents are as they were. */
	snprintf(path, sizeof path, "/v1/payment_intents/%s", id);
	h_get(H.key_a, path, &r);
	cr_assert_str_eq(jpath_str(r.json, "status"), "requires_capture");
	cr_assert_eq(json_integer_value(jpath(r.json, "amount_capturable")), 500);
	http_resp_free(&r);
	snprintf(path, sizeof path, "/v1/payment_intents/%s", open_id);
	h_get(H.key_a, path, &r);
	cr_assert_str_eq(jpath_str(r.json, "status"), "requires_payment_method");
	cr_assert_eq(json_integer_value(jpath(r.json, "amount")), 700);
	cr_assert_str_eq(jpath_str(r.json, "currency"), "usd");
	http_resp_free(&r);
}
