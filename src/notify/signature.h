/* notify/signature: Stripe's webhook signature, the `Stripe-Signature`
 * header value "t=<seconds>,v1=<hex>[,v1=<hex>]".  Each v1 is
 * HMAC-SHA256 keyed with a whole endpoint secret string ("whsec_..." as
 * is, the way stripe-node's computeHMACSignature uses it) over
 * "<t>.<payload>".  Two secrets give two v1 entries, so an endpoint can
 * roll its secret while receivers still hold the old one.  Verification
 * follows stripe-node's constructEvent, so payd can check its own
 * deliveries (and tests can check them) the way a receiver does. */
#ifndef PAYD_NOTIFY_SIGNATURE_H
#define PAYD_NOTIFY_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGNATURE_SECRETS_MAX 2          /* v1 entries in one header (secret roll) */
#define SIGNATURE_PAYLOAD_MAX (1 << 20)  /* bytes of a payload signed or verified */
#define SIGNATURE_VERIFY_HEADER_MAX 4096 /* bytes of a header signature_verify reads */
#define SIGNATURE_T_DIGITS_MAX 19        /* decimal digits of a non-negative int64 */
#define SIGNATURE_HEX_LEN 64             /* hex digits of one HMAC-SHA256 */
/* Room for "t=<19 digits>" and SIGNATURE_SECRETS_MAX ",v1=<64 hex>", plus NUL. */
#define SIGNATURE_HEADER_MAX \
	(2 + SIGNATURE_T_DIGITS_MAX + SIGNATURE_SECRETS_MAX * (4 + SIGNATURE_HEX_LEN) + 1)

/* Builds the header value for `payload` at time t_sec (>= 0) into
 * out[0..cap): one v1 per secret, in the order given (1 ..
 * SIGNATURE_SECRETS_MAX non-empty secrets).  Returns its length (without
 * the NUL), or 0 on bad arguments or when cap is too small (out is then
 * an empty string when cap > 0). */
size_t signature_header(const char *const secrets[], int n_secrets, int64_t t_sec,
			const char *payload, size_t payload_len, char *out, size_t cap);

/* Verifies like stripe-node's constructEvent: reads the t and every v1
 * of a comma-separated header (other schemes such as v0 are skipped);
 * true when a v1 equals the HMAC under `secret` (compared in constant
 * time) and |now_sec - t| <= tolerance_sec.  False for an empty payload
 * or secret, a missing or malformed t, no v1, or a negative tolerance.
 * Stricter than stripe-node in two ways: a t further than tolerance in
 * the future is refused too, and tolerance 0 means "now", not "skip". */
bool signature_verify(const char *header, const char *payload, size_t payload_len,
		      const char *secret, int64_t now_sec, int64_t tolerance_sec);

/* New endpoint secrets: webhook_new_secret (core/webhook.h). */

#endif
