/* tests/unit/test_signature: notify/signature against stripe-node.  The
 * known answer below was made by stripe-node 23.1.0's
 * stripe.webhooks.generateTestHeaderString({payload, secret, timestamp}),
 * so payd signs with the whole "whsec_..." string as the key, as Stripe
 * does.  Then: two secrets, refusals, header parsing, limits, new secrets. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/webhook.h"
#include "notify/signature.h"

#define KAT_SECRET "whsec_test_secret_0123456789abcdef"
#define KAT_T 1700000000
#define KAT_PAYLOAD "{\"id\":\"evt_test_1\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\"}"
#define KAT_V1 "b9436509f1f3ef7076630fad955190d8385de4de9211895bbbfac1bae658bdff"
#define TOLERANCE 300

static size_t sign(const char *const secrets[], int n, int64_t t, const char *payload, char *out,
		   size_t cap)
{
	return signature_header(secrets, n, t, payload, strlen(payload), out, cap);
}

static bool verify(const char *header, const char *payload, const char *secret, int64_t now)
{
	return signature_verify(header, payload, strlen(payload), secret, now, TOLERANCE);
}

Test(signature, stripe_node_known_answer)
{
	const char *secrets[] = {KAT_SECRET};
	char header[SIGNATURE_HEADER_MAX];
	size_t len = sign(secrets, 1, KAT_T, KAT_PAYLOAD, header, sizeof header);
	cr_assert_str_eq(header, "t=1700000000,v1=" KAT_V1);
	cr_assert_eq(len, strlen(header));
	cr_assert(verify("t=1700000000,v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T + 10));
}

Test(signature, two_secrets_give_two_v1_and_either_verifies)
{
	const char *secrets[] = {"whsec_new", KAT_SECRET};
	char header[SIGNATURE_HEADER_MAX];
	cr_assert_gt(sign(secrets, 2, KAT_T, KAT_PAYLOAD, header, sizeof header), 0);
	cr_assert(strncmp(header, "t=1700000000,v1=", 16) == 0, "%s", header);
	const char *second = strstr(header + 16, ",v1=");
	cr_assert_not_null(second, "%s", header);
	cr_assert_str_eq(second, ",v1=" KAT_V1, "the second v1 is the second secret's");
	cr_assert_eq(strlen(header), 2 + 10 + 2 * (4 + 64));
	cr_assert(verify(header, KAT_PAYLOAD, "whsec_new", KAT_T));
	cr_assert(verify(header, KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert_not(verify(header, KAT_PAYLOAD, "whsec_other", KAT_T));
}

Test(signature, changed_payload_wrong_secret_and_stale_time_are_refused)
{
	const char *h = "t=1700000000,v1=" KAT_V1;
	cr_assert_not(verify(h, KAT_PAYLOAD " ", KAT_SECRET, KAT_T));
	cr_assert_not(verify(h, "{\"id\":\"evt_test_2\"}", KAT_SECRET, KAT_T));
	cr_assert_not(verify(h, KAT_PAYLOAD, "whsec_wrong", KAT_T));
	cr_assert_not(verify(h, KAT_PAYLOAD, "test_secret_0123456789abcdef", KAT_T),
		      "the whsec_ prefix is part of the key");
	cr_assert(verify(h, KAT_PAYLOAD, KAT_SECRET, KAT_T + TOLERANCE), "at the limit");
	cr_assert_not(verify(h, KAT_PAYLOAD, KAT_SECRET, KAT_T + TOLERANCE + 1), "stale");
	cr_assert(verify(h, KAT_PAYLOAD, KAT_SECRET, KAT_T - TOLERANCE));
	cr_assert_not(verify(h, KAT_PAYLOAD, KAT_SECRET, KAT_T - TOLERANCE - 1), "from the future");
	cr_assert_not(signature_verify(h, KAT_PAYLOAD, strlen(KAT_PAYLOAD), KAT_SECRET, KAT_T, -1));
	cr_assert_not(verify(h, KAT_PAYLOAD, KAT_SECRET, INT64_MIN));
	cr_assert_not(verify("t=1700000001,v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T),
		      "the signature covers t");
}

Test(signature, header_parsing_skips_other_schemes_and_needs_t_and_v1)
{
	cr_assert(verify("t=1700000000,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39,"
			 "v1=" KAT_V1 ",x=1",
			 KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert(verify("v1=deadbeef,v1=" KAT_V1 ",t=1700000000", KAT_PAYLOAD, KAT_SECRET, KAT_T),
		     "any order, any v1");
	cr_assert_not(verify("v0=" KAT_V1 ",t=1700000000", KAT_PAYLOAD, KAT_SECRET, KAT_T),
		      "only v1 counts");
	cr_assert_not(verify("v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T), "no t");
	cr_assert_not(verify("t=1700000000", KAT_PAYLOAD, KAT_SECRET, KAT_T), "no v1");
	cr_assert_not(verify("t=17e8,v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert_not(verify("t=-1700000000,v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert_not(verify("t=99999999999999999999,v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert_not(verify("t=1700000000,v1=" KAT_V1 "00", KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert_not(verify("t=1700000000, v1=" KAT_V1, KAT_PAYLOAD, KAT_SECRET, KAT_T),
		      "no trimming, as in stripe-node");
	cr_assert_not(verify("", KAT_PAYLOAD, KAT_SECRET, KAT_T));
	cr_assert_not(signature_verify(NULL, KAT_PAYLOAD, 1, KAT_SECRET, KAT_T, TOLERANCE));
	cr_assert_not(verify("t=1700000000,v1=" KAT_V1, KAT_PAYLOAD, "", KAT_T));
	cr_assert_not(verify("t=1700000000,v1=" KAT_V1, "", KAT_SECRET, KAT_T), "empty payload");
}

Test(signature, header_at_its_verify_limit)
{
	static char header[SIGNATURE_VERIFY_HEADER_MAX + 2];
	const char *tail = "t=1700000000,v1=" KAT_V1;
	size_t pad = SIGNATURE_VERIFY_HEADER_MAX - strlen(tail) - 1;
	memset(header, 'x', pad);
	header[pad] = ',';
	strcpy(header + pad + 1, tail);
	cr_assert_eq(strlen(header), SIGNATURE_VERIFY_HEADER_MAX);
	cr_assert(verify(header, KAT_PAYLOAD, KAT_SECRET, KAT_T));
	memmove(header + 1, header, strlen(header) + 1);
	cr_assert_not(verify(header, KAT_PAYLOAD, KAT_SECRET, KAT_T), "one byte past the limit");
}

Test(signature, bad_arguments_and_small_buffers_give_zero)
{
	const char *one[] = {KAT_SECRET}, *three[] = {"a", "b", "c"}, *empty[] = {""};
	const char *with_null[] = {KAT_SECRET, NULL};
	char out[SIGNATURE_HEADER_MAX];
	cr_assert_eq(sign(one, 0, KAT_T, KAT_PAYLOAD, out, sizeof out), 0);
	cr_assert_eq(sign(three, 3, KAT_T, KAT_PAYLOAD, out, sizeof out), 0);
	cr_assert_eq(sign(empty, 1, KAT_T, KAT_PAYLOAD, out, sizeof out), 0);
	cr_assert_eq(sign(with_null, 2, KAT_T, KAT_PAYLOAD, out, sizeof out), 0);
	cr_assert_eq(sign(NULL, 1, KAT_T, KAT_PAYLOAD, out, sizeof out), 0);
	cr_assert_eq(sign(one, 1, -1, KAT_PAYLOAD, out, sizeof out), 0);
	cr_assert_eq(signature_header(one, 1, KAT_T, NULL, 1, out, sizeof out), 0);
	size_t len = sign(one, 1, KAT_T, KAT_PAYLOAD, out, sizeof out);
	cr_assert_eq(sign(one, 1, KAT_T, KAT_PAYLOAD, out, len), 0, "no room for the NUL");
	cr_assert_str_eq(out, "");
	cr_assert_eq(sign(one, 1, KAT_T, KAT_PAYLOAD, out, len + 1), len);
}

Test(signature, header_max_holds_the_largest_header)
{
	const char *two[] = {"whsec_a", "whsec_b"};
	char out[SIGNATURE_HEADER_MAX];
	size_t len = sign(two, 2, INT64_MAX, "{}", out, sizeof out);
	cr_assert_eq(len, SIGNATURE_HEADER_MAX - 1, "%s", out);
	cr_assert(signature_verify(out, "{}", 2, "whsec_b", INT64_MAX, 0));
}

Test(signature, payload_at_its_limit)
{
	static char payload[SIGNATURE_PAYLOAD_MAX + 1];
	memset(payload, 'p', sizeof payload);
	const char *one[] = {KAT_SECRET};
	char out[SIGNATURE_HEADER_MAX];
	cr_assert_gt(signature_header(one, 1, KAT_T, payload, SIGNATURE_PAYLOAD_MAX, out, sizeof out), 0);
	cr_assert(signature_verify(out, payload, SIGNATURE_PAYLOAD_MAX, KAT_SECRET, KAT_T, 0));
	cr_assert_eq(signature_header(one, 1, KAT_T, payload, SIGNATURE_PAYLOAD_MAX + 1, out, sizeof out), 0);
	cr_assert_not(signature_verify(out, payload, SIGNATURE_PAYLOAD_MAX + 1, KAT_SECRET, KAT_T, 0));
}

Test(signature, new_secrets_are_whsec_and_base62_and_differ)
{
	char a[WEBHOOK_SECRET_MAX + 1], b[WEBHOOK_SECRET_MAX + 1];
	webhook_new_secret(a);
	webhook_new_secret(b);
	cr_assert_eq(strlen(a), WEBHOOK_SECRET_MAX);
	cr_assert(strncmp(a, "whsec_", 6) == 0, "%s", a);
	for (size_t i = 6; i < WEBHOOK_SECRET_MAX; i++)
		cr_assert(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", a[i]) &&
				  a[i] != '\0',
			  "%s", a);
	cr_assert_str_neq(a, b);
	const char *secrets[] = {a};
	char header[SIGNATURE_HEADER_MAX];
	cr_assert_gt(sign(secrets, 1, KAT_T, KAT_PAYLOAD, header, sizeof header), 0);
	cr_assert(verify(header, KAT_PAYLOAD, a, KAT_T));
	cr_assert_not(verify(header, KAT_PAYLOAD, b, KAT_T));
}
