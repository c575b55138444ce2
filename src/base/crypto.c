/* base/crypto: thin wrappers over OpenSSL libcrypto, so the rest of payd
 * never touches OpenSSL's API directly.  Sealing is EVP's AES-256-GCM, one
 * context per call (sealing is rare: account numbers, not the hot path). */
#include "base/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_mac; /* libcrypto's HMAC, kept for the process's life */

static void hmac_fetch(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

bool crypto_hmac_timestamped_hex(const char *secret, int64_t t, const void *body, size_t len,
				 char hex[CRYPTO_SHA256_HEX])
{
	char prefix[24];
	int n = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
	uint8_t mac[CRYPTO_SHA256_LEN];
	size_t mac_len = 0;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
			       OSSL_PARAM_construct_end()};
	pthread_once(&hmac_once, hmac_fetch); /* fetched once: it is on every channel call */
	EVP_MAC_CTX *ctx = hmac_mac ? EVP_MAC_CTX_new(hmac_mac) : NULL;
	bool ok = ctx && n > 0 && (size_t)n < sizeof prefix &&
		  EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
		  EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)n) &&
		  (len == 0 || EVP_MAC_update(ctx, body, len)) &&
		  EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) && mac_len == sizeof mac;
	EVP_MAC_CTX_free(ctx);
	if (ok)
		crypto_hex(mac, sizeof mac, hex);
	else
		memset(hex, 0, CRYPTO_SHA256_HEX);
	return ok;
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

/* ---- sealing -------------------------------------------------------------- */

static bool seal_lengths_ok(size_t len, size_t aad_len, const void *aad)
{
	return len <= CRYPTO_SEAL_PLAIN_MAX && aad_len <= CRYPTO_SEAL_AAD_MAX &&
	       (aad || aad_len == 0);
}

bool crypto_seal(const uint8_t key[CRYPTO_SEAL_KEY_LEN], const void *plain, size_t len,
		 const void *aad, size_t aad_len, uint8_t *out, size_t cap, size_t *out_len)
{
	bool ok = false;
	int n = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	*out_len = 0;
	if (!key || (!plain && len) || !out || !seal_lengths_ok(len, aad_len, aad) ||
	    cap < len + CRYPTO_SEAL_OVERHEAD)
		goto out;
	uint8_t *nonce = out, *body = out + CRYPTO_SEAL_NONCE_LEN, *tag = body + len;
	crypto_random_bytes(nonce, CRYPTO_SEAL_NONCE_LEN);
	if (!(ctx = EVP_CIPHER_CTX_new()) ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    (aad_len && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    (len && EVP_EncryptUpdate(ctx, body, &n, plain, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, body + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_SEAL_TAG_LEN, tag) != 1)
		goto out;
	*out_len = len + CRYPTO_SEAL_OVERHEAD;
	ok = true;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

bool crypto_open(const uint8_t key[CRYPTO_SEAL_KEY_LEN], const uint8_t *sealed, size_t sealed_len,
		 const void *aad, size_t aad_len, void *out, size_t cap, size_t *out_len)
{
	bool ok = false;
	int n = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	*out_len = 0;
	if (!key || !sealed || !out || sealed_len < CRYPTO_SEAL_OVERHEAD)
		goto out;
	size_t len = sealed_len - CRYPTO_SEAL_OVERHEAD;
	if (!seal_lengths_ok(len, aad_len, aad) || cap < len)
		goto out;
	const uint8_t *nonce = sealed, *body = sealed + CRYPTO_SEAL_NONCE_LEN, *tag = body + len;
	if (!(ctx = EVP_CIPHER_CTX_new()) ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    (aad_len && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    (len && EVP_DecryptUpdate(ctx, out, &n, body, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_SEAL_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (uint8_t *)out + len, &n) != 1) /* the tag check */
		goto out;
	*out_len = len;
	ok = true;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (!ok && out && cap)
		explicit_bzero(out, cap);
	return ok;
}
