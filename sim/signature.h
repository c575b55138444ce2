/* sim/signature: X-Payd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
 * (secret, "<t>.<body>")>, made for every answer and checked on every
 * request (docs/SIM_PROTOCOL.md, "Signatures"). */
#ifndef PAYD_SIM_SIGNATURE_H
#define PAYD_SIM_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_SIG_HEADER "X-Payd-Signature"
#define SIM_SIG_HEADER_MAX 128
#define SIM_SIG_TOLERANCE_S 300

/* The header value for body signed at t into out. */
void sim_sign(const char *secret, int64_t t, const char *body, size_t len,
	      char out[SIM_SIG_HEADER_MAX]);
/* Whether header (may be NULL) signs body with secret, t within
 * SIM_SIG_TOLERANCE_S of now_s.  The digest compare is constant time. */
bool sim_verify(const char *secret, const char *header, const char *body, size_t len,
		int64_t now_s);

#endif
