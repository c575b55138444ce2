/* notify/signature: building and checking Stripe-Signature headers (see
 * signature.h).  The HMAC of "<t>.<payload>" is base/crypto's (the
 * scheme payd's channels share); SIGNATURE_PAYLOAD_MAX bounds the payload.  Verification walks the header once without storing it and
 * compares every v1 it finds, so its time does not depend on which entry
 * (if any) matches. */
#include "notify/signature.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

static_assert(2 * CRYPTO_SHA256_LEN == SIGNATURE_HEX_LEN, "hex length");

#define T_TEXT_MAX (SIGNATURE_T_DIGITS_MAX + 2) /* digits, '.', NUL */

static bool secret_ok(const char *secret)
{
	return secret && secret[0] != '\0';
}

static bool payload_ok(const char *payload, size_t payload_len)
{
	return (payload || payload_len == 0) && payload_len <= SIGNATURE_PAYLOAD_MAX;
}

static bool header_args_ok(const char *const secrets[], int n_secrets, int64_t t_sec,
			   const char *payload, size_t payload_len, const char *out)
{
	if (!secrets || n_secrets < 1 || n_secrets > SIGNATURE_SECRETS_MAX || t_sec < 0 || !out ||
	    !payload_ok(payload, payload_len))
		return false;
	for (int i = 0; i < n_secrets; i++)
		if (!secret_ok(secrets[i]))
			return false;
	return true;
}

size_t signature_header(const char *const secrets[], int n_secrets, int64_t t_sec,
			const char *payload, size_t payload_len, char *out, size_t cap)
{
	size_t len = 0;
	if (out && cap > 0)
		out[0] = '\0';
	if (!header_args_ok(secrets, n_secrets, t_sec, payload, payload_len, out))
		goto fail;
	int n = snprintf(out, cap, "t=%" PRId64, t_sec);
	if (n < 0 || (size_t)n >= cap)
		goto fail;
	len = (size_t)n;
	for (int i = 0; i < n_secrets; i++) {
		char hex[SIGNATURE_HEX_LEN + 1];
		if (!crypto_hmac_timestamped_hex(secrets[i], t_sec, payload, payload_len, hex))
			goto fail;
		n = snprintf(out + len, cap - len, ",v1=%s", hex);
		if (n < 0 || (size_t)n >= cap - len)
			goto fail;
		len += (size_t)n;
	}
	return len;
fail:
	if (out && cap > 0)
		out[0] = '\0';
	return 0;
}

/* ---- verification ------------------------------------------------------------- */

/* A header item "key=value" spans [item, item + len); key and value are
 * split at its first '='.  False when it has no '='. */
static bool split_item(const char *item, size_t len, size_t *key_len, const char **value,
		       size_t *value_len)
{
	const char *eq = memchr(item, '=', len);
	if (!eq)
		return false;
	*key_len = (size_t)(eq - item);
	*value = eq + 1;
	*value_len = len - *key_len - 1;
	return true;
}

/* Strict decimal: 1..SIGNATURE_T_DIGITS_MAX digits, no sign, fits int64. */
static bool parse_t(const char *text, size_t len, int64_t *t)
{
	if (len == 0 || len > SIGNATURE_T_DIGITS_MAX)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	*t = (int64_t)v;
	return true;
}

struct parsed {
	bool has_t, t_ok, matched;
	int64_t t;
};

/* One pass over the header: the last t wins (as in stripe-node); when
 * expected is given, every v1 is compared with it. */
static void parse_header(const char *header, size_t header_len, const char *expected,
			 struct parsed *p)
{
	const char *item = header, *end = header + header_len;
	for (;;) {
		const char *comma = memchr(item, ',', (size_t)(end - item));
		size_t len = (size_t)((comma ? comma : end) - item);
		size_t key_len, value_len;
		const char *value;
		if (split_item(item, len, &key_len, &value, &value_len)) {
			if (key_len == 1 && item[0] == 't') {
				p->has_t = true;
				p->t_ok = parse_t(value, value_len, &p->t);
			} else if (expected && key_len == 2 && memcmp(item, "v1", 2) == 0 &&
				   value_len == SIGNATURE_HEX_LEN &&
				   crypto_equal(value, expected, SIGNATURE_HEX_LEN)) {
				p->matched = true;
			}
		}
		if (!comma)
			break;
		item = comma + 1;
	}
}

/* |now_sec - t_sec| <= tolerance_sec without overflow (t_sec >= 0). */
static bool within_tolerance(int64_t t_sec, int64_t now_sec, int64_t tolerance_sec)
{
	uint64_t diff = now_sec >= t_sec ? (uint64_t)now_sec - (uint64_t)t_sec
					 : (uint64_t)t_sec - (uint64_t)now_sec;
	return tolerance_sec >= 0 && diff <= (uint64_t)tolerance_sec;
}

bool signature_verify(const char *header, const char *payload, size_t payload_len,
		      const char *secret, int64_t now_sec, int64_t tolerance_sec)
{
	if (!header || !secret_ok(secret) || !payload || payload_len == 0 ||
	    !payload_ok(payload, payload_len))
		return false;
	size_t header_len = strnlen(header, SIGNATURE_VERIFY_HEADER_MAX + 1);
	if (header_len > SIGNATURE_VERIFY_HEADER_MAX)
		return false;
	struct parsed first = {0}, second = {0};
	parse_header(header, header_len, NULL, &first);
	char expected[SIGNATURE_HEX_LEN + 1];
	if (!first.has_t || !first.t_ok ||
	    !crypto_hmac_timestamped_hex(secret, first.t, payload, payload_len, expected))
		return false;
	parse_header(header, header_len, expected, &second);
	return second.matched && within_tolerance(first.t, now_sec, tolerance_sec);
}
