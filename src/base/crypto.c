/* base/crypto: thin wrappers over OpenSSL libcrypto, so the rest of payd
 * never touches OpenSSL's API directly. */
#include "base/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void crypto_random_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		fputs("payd: no secure random source available\n", stderr);
		abort();
	}
}

void crypto_random_base62(char *out, size_t len)
{
	size_t filled = 0;
	while (filled < len) {
		unsigned char bytes[64];
		crypto_random_bytes(bytes, sizeof bytes);
		for (size_t i = 0; i < sizeof bytes && filled < len; i++)
			if (bytes[i] < 248) /* 248 = 4*62: unbiased */
				out[filled++] = base62[bytes[i] % 62];
	}
	out[len] = '\0';
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	SHA256(data, len, out);
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int out_len = CRYPTO_SHA256_LEN;
	HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void crypto_hex(const uint8_t *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 15];
	}
	out[2 * len] = '\0';
}
