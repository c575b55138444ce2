/* sim/signature: see signature.h.  The header is parsed strictly: comma
 * separated key=value pairs, one t (decimal digits), one or more v1 (64
 * hex digits); any v1 that matches is enough (room for key rotation). */
#include "signature.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

#define SIG_T_DIGITS_MAX 12

static void digest_hex(const char *secret, int64_t t, const char *body, size_t len,
		       char hex[CRYPTO_SHA256_HEX])
{
	crypto_hmac_timestamped_hex(secret, t, body, len, hex); /* all zero on failure */
}

void sim_sign(const char *secret, int64_t t, const char *body, size_t len,
	      char out[SIM_SIG_HEADER_MAX])
{
	char hex[CRYPTO_SHA256_HEX];
	digest_hex(secret, t, body, len, hex);
	snprintf(out, SIM_SIG_HEADER_MAX, "t=%lld,v1=%s", (long long)t, hex);
}

static bool parse_t(const char *s, size_t n, int64_t *t)
{
	if (n == 0 || n > SIG_T_DIGITS_MAX)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*t = v;
	return true;
}

bool sim_verify(const char *secret, const char *header, const char *body, size_t len,
		int64_t now_s)
{
	if (!header)
		return false;
	int64_t t = -1;
	const char *v1[4];
	size_t n_v1 = 0;
	for (const char *p = header; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 2 && strncmp(p, "t=", 2) == 0) {
			if (t >= 0 || !parse_t(p + 2, n - 2, &t))
				return false;
		} else if (n == 3 + 2 * CRYPTO_SHA256_LEN && strncmp(p, "v1=", 3) == 0) {
			if (n_v1 < sizeof v1 / sizeof v1[0])
				v1[n_v1++] = p + 3;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (t < 0 || n_v1 == 0 || t > now_s + SIM_SIG_TOLERANCE_S || t < now_s - SIM_SIG_TOLERANCE_S)
		return false;
	char hex[CRYPTO_SHA256_HEX];
	digest_hex(secret, t, body, len, hex);
	bool ok = false;
	for (size_t i = 0; i < n_v1; i++)
		ok |= crypto_equal(hex, v1[i], 2 * CRYPTO_SHA256_LEN);
	return ok;
}
