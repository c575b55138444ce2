/* base/crypto: the few primitives payd needs, from OpenSSL's libcrypto:
 * secure random bytes, SHA-256, HMAC-SHA256, constant-time compare, hex. */
#ifndef PAYD_BASE_CRYPTO_H
#define PAYD_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX (2 * CRYPTO_SHA256_LEN + 1)

/* Fills buf from the OS CSPRNG; aborts if none is available. */
void crypto_random_bytes(void *buf, size_t len);
/* A random string of `len` base-62 characters plus NUL into out[len+1]. */
void crypto_random_base62(char *out, size_t len);
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN]);
bool crypto_equal(const void *a, const void *b, size_t len); /* constant time */
void crypto_hex(const uint8_t *data, size_t len, char *out /* 2*len+1 */);

#endif
