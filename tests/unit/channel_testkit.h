/* tests/unit/channel_testkit: what the channel unit tests share
 * (test_http_channel, test_bank_channel, test_dispatch): making a channel
 * from a config (asserting), decode() of a made-up reply, the result
 * assertion, the X-Payd-Signature HMAC computed with base/crypto
 * (independently of channel/http.c), and the pieces of a little signed
 * libmicrohttpd server on 127.0.0.1 (start on a free port, collect the
 * upload, free it when the request ends). */
#ifndef PAYD_TESTS_CHANNEL_TESTKIT_H
#define PAYD_TESTS_CHANNEL_TESTKIT_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "channel/channel.h"

/* Asserts a result's outcome, payd code and raw code. */
#define ASSERT_RESULT(res, want_outcome, want_code, want_raw)                                  \
	do {                                                                                   \
		cr_assert_eq((res).outcome, (want_outcome), "outcome %d, want %d (raw %s)",     \
			     (int)(res).outcome, (int)(want_outcome), (res).raw_code);          \
		cr_assert_eq((res).code, (want_code), "code %d, want %d (raw %s)", (res).code, \
			     (int)(want_code), (res).raw_code);                                 \
		cr_assert_str_eq((res).raw_code, (want_raw));                                   \
	} while (0)

/* channel_new(cfg); asserts it was made. */
struct channel *testkit_channel(const struct channel_config *cfg);

/* ch's decode() of an answered reply to req with this status, signature
 * verdict and body (the result starts as garbage, 0x5a bytes). */
struct channel_result testkit_decode(struct channel *ch, const struct channel_request *req,
				     long status, bool signed_ok, const char *body);

/* The hex HMAC-SHA256 of "T." followed by body with secret (the v1= part
 * of X-Payd-Signature); hex holds CRYPTO_SHA256_HEX. */
void testkit_hmac_hex(const char *secret, long long t, const char *body, size_t len, char *hex);

/* ---- a little signed HTTP server ---------------------------------------- */

/* One request's upload, NUL-terminated; too_big when it passed the max. */
struct testkit_upload {
	char *buf;
	size_t len;
	bool too_big;
};

/* For an access handler: collects the upload in *con_cls (at most max
 * bytes, else too_big and the rest dropped).  true while the request is
 * still coming in: the handler returns *rc; false once it is all there. */
bool testkit_upload_more(void **con_cls, const char *data, size_t *data_size, size_t max,
			 enum MHD_Result *rc);
/* MHD_OPTION_NOTIFY_COMPLETED: frees the upload. */
void testkit_upload_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe);
/* A thread-per-connection daemon on 127.0.0.1, a free port (into *port),
 * with handler(cls) and testkit_upload_completed; asserts it started. */
struct MHD_Daemon *testkit_server_start(MHD_AccessHandlerCallback handler, void *cls, int *port);

#endif
