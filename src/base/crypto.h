/* base/crypto: the few primitives payd needs, from OpenSSL's libcrypto:
 * secure random bytes, SHA-256, HMAC-SHA256, constant-time compare, hex,
 * and sealing (authenticated encryption) of small secrets at rest. */
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
/* hex = HMAC-SHA256(secret, "<t>." body) in lower-case hex: the signature
 * scheme of payd's channels, payd-sim and Stripe's webhooks.  False (hex
 * all zero) when libcrypto fails. */
bool crypto_hmac_timestamped_hex(const char *secret, int64_t t, const void *body, size_t len,
				 char hex[CRYPTO_SHA256_HEX]);
bool crypto_equal(const void *a, const void *b, size_t len); /* constant time */
void crypto_hex(const uint8_t *data, size_t len, char *out /* 2*len+1 */);

/* Sealing: AES-256-GCM with a fresh random 96-bit nonce per seal (from
 * the CSPRNG) and a 128-bit tag.  A sealed value is laid out
 *     nonce (12) | ciphertext (as long as the plaintext) | tag (16)
 * so it is CRYPTO_SEAL_OVERHEAD bytes longer than what it seals.  The
 * associated data (aad, may be empty) is authenticated but not stored:
 * bind a sealed value to its owner (its record's id) and it opens only
 * for that owner, so a value copied onto another row does not open.
 * Random nonces are safe for up to 2^32 seals under one key. */
#define CRYPTO_SEAL_KEY_LEN 32
#define CRYPTO_SEAL_NONCE_LEN 12
#define CRYPTO_SEAL_TAG_LEN 16
#define CRYPTO_SEAL_OVERHEAD (CRYPTO_SEAL_NONCE_LEN + CRYPTO_SEAL_TAG_LEN)
#define CRYPTO_SEAL_PLAIN_MAX 65536 /* larger secrets are not what sealing is for */
#define CRYPTO_SEAL_AAD_MAX 1024

/* Seals plain[0..len) into out[0..cap), *out_len = len + OVERHEAD.  False
 * (out untouched past what it wrote, *out_len 0) when cap is too small, a
 * length is past its limit or libcrypto fails. */
bool crypto_seal(const uint8_t key[CRYPTO_SEAL_KEY_LEN], const void *plain, size_t len,
		 const void *aad, size_t aad_len, uint8_t *out, size_t cap, size_t *out_len);
/* Opens what crypto_seal made with the same key and aad into out[0..cap),
 * *out_len = sealed_len - OVERHEAD.  False when the tag does not verify
 * (another key, other aad, a changed byte, a cut value), when cap is too
 * small or on a libcrypto failure; out is then wiped (cap bytes) and
 * *out_len is 0: nothing unauthenticated is ever handed back. */
bool crypto_open(const uint8_t key[CRYPTO_SEAL_KEY_LEN], const uint8_t *sealed, size_t sealed_len,
		 const void *aad, size_t aad_len, void *out, size_t cap, size_t *out_len);

#endif
