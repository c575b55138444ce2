/* api/auth: who is asking.  `Authorization: Bearer sk_test_...` or HTTP
 * Basic with the key as the user name.  The key is hashed (SHA-256) and
 * looked up through the thread's read-only connection; hits are cached
 * by hash in a small table, since keys are not revoked while payd runs. */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "base/crypto.h"
#include "core/catalog.h"

#define AUTH_KEY_MAX 128
#define AUTH_CACHE_SLOTS 256

struct cached_key {
	uint8_t hash[CRYPTO_SHA256_LEN];
	char merchant_id[ID_MAX];
	bool used;
};

static struct cached_key cache[AUTH_CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool cache_get(const uint8_t hash[CRYPTO_SHA256_LEN], char merchant_id[ID_MAX])
{
	struct cached_key *slot = &cache[hash[0] % AUTH_CACHE_SLOTS];
	bool hit = false;
	pthread_mutex_lock(&cache_lock);
	if (slot->used && crypto_equal(slot->hash, hash, CRYPTO_SHA256_LEN)) {
		memcpy(merchant_id, slot->merchant_id, ID_MAX);
		hit = true;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static void cache_put(const uint8_t hash[CRYPTO_SHA256_LEN], const char merchant_id[ID_MAX])
{
	struct cached_key *slot = &cache[hash[0] % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&cache_lock);
	memcpy(slot->hash, hash, CRYPTO_SHA256_LEN);
	memcpy(slot->merchant_id, merchant_id, ID_MAX);
	slot->used = true;
	pthread_mutex_unlock(&cache_lock);
}

/* The key from "Bearer KEY" or "Basic base64(KEY:)"; false if neither. */
static bool key_from_header(const char *header, char key[AUTH_KEY_MAX + 1])
{
	if (!header)
		return false;
	if (strncasecmp(header, "Bearer ", 7) == 0) {
		const char *k = header + 7;
		size_t len = strlen(k);
		if (len == 0 || len > AUTH_KEY_MAX)
			return false;
		memcpy(key, k, len + 1);
		return true;
	}
	if (strncasecmp(header, "Basic ", 6) == 0) {
		const char *b64 = header + 6;
		size_t len = strlen(b64);
		unsigned char decoded[AUTH_KEY_MAX * 2];
		if (len == 0 || len > (AUTH_KEY_MAX + 4) * 4 / 3 + 4)
			return false;
		int n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)len);
		if (n <= 0)
			return false;
		decoded[n] = '\0';
		size_t user = strcspn((char *)decoded, ":");
		if (user == 0 || user > AUTH_KEY_MAX)
			return false;
		memcpy(key, decoded, user);
		key[user] = '\0';
		return true;
	}
	return false;
}

bool auth_merchant(struct request *req)
{
	const char *header = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
	char key[AUTH_KEY_MAX + 1];
	if (!key_from_header(header, key)) {
		http_error(req, CAT_API_KEY_INVALID, NULL,
			   header ? "Invalid API key provided." :
				    "You did not provide an API key. Send it as "
				    "'Authorization: Bearer sk_test_...'.");
		return false;
	}
	uint8_t hash[CRYPTO_SHA256_LEN];
	crypto_sha256(key, strlen(key), hash);
	if (cache_get(hash, req->merchant_id))
		return true;
	struct store *reader = http_reader(req);
	int rc = reader ? reader->ops->api_key_lookup(reader, hash, req->merchant_id)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK) {
		cache_put(hash, req->merchant_id);
		return true;
	}
	http_error(req, rc == CAT_API_KEY_INVALID ? rc : CAT_STORAGE_UNAVAILABLE, NULL,
		   rc == CAT_API_KEY_INVALID ? "Invalid API key provided." : NULL);
	return false;
}
