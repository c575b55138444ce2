/* cmd/keys: `payd keys create --db PATH --merchant NAME`.  Creates the
 * merchant if it is new, makes a secret key sk_test_<32 base-62 chars>
 * (about 190 bits from the OS CSPRNG) and stores only its SHA-256 and last
 * four characters.  The key goes to stdout and nowhere else. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/id.h"
#include "base/utf8.h"
#include "cmd/cmd.h"
#include "core/catalog.h"
#include "store/store.h"

#define KEY_PREFIX "sk_test_"
#define KEY_RANDOM_LEN 32
#define KEY_LEN (sizeof KEY_PREFIX - 1 + KEY_RANDOM_LEN)

void cmd_keys_usage(FILE *out)
{
	fputs("usage: payd keys create [--db PATH] --merchant NAME\n\n"
	      "Creates a secret API key for merchant NAME (creating the merchant if it\n"
	      "does not exist) and prints the key, sk_test_..., on stdout.  Only a hash\n"
	      "of the key is stored: keep the printed key, it cannot be shown again.\n\n"
	      "  --db PATH        the database (default $PAYD_DB, else payd.db)\n"
	      "  --merchant NAME  the merchant's name (1-128 printable characters)\n",
	      out);
}

static int fail(const char *what, int code)
{
	const struct catalog_entry *e = catalog_get(code);
	fprintf(stderr, "payd keys: %s: %s (%d %s)\n", what, e ? e->description : "error", code,
		e ? e->slug : "");
	return CMD_FAILED;
}

/* Writes merchant and key in one transaction. */
static int create_key(struct store *s, const char *merchant, char key[KEY_LEN + 1])
{
	struct id_gen ids;
	id_gen_init(&ids, &clock_system, 0);
	rng_seed_os(&ids.rng);
	char merchant_id[ID_MAX], new_merchant_id[ID_MAX], key_id[ID_MAX];
	id_new(&ids, ID_MERCHANT, new_merchant_id);
	id_new(&ids, ID_API_KEY, key_id);
	id_gen_destroy(&ids);

	memcpy(key, KEY_PREFIX, sizeof KEY_PREFIX - 1);
	crypto_random_base62(key + sizeof KEY_PREFIX - 1, KEY_RANDOM_LEN);
	uint8_t hash[CRYPTO_SHA256_LEN];
	crypto_sha256(key, KEY_LEN, hash);

	int64_t now = clock_now_ms(&clock_system);
	int rc = store_begin(s);
	if (rc)
		return rc;
	rc = s->ops->merchant_ensure(s, merchant, new_merchant_id, now, merchant_id);
	if (!rc)
		rc = s->ops->api_key_insert(s, key_id, merchant_id, hash, key + KEY_LEN - 4, now);
	if (!rc)
		rc = store_commit(s);
	if (rc)
		store_rollback(s);
	return rc;
}

static int keys_create(int argc, char **argv)
{
	const char *db = getenv("PAYD_DB"), *merchant = NULL;
	static const struct option options[] = {
		{"db", required_argument, NULL, 'd'},
		{"merchant", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'm': merchant = optarg; break;
		case 'h': cmd_keys_usage(stdout); return CMD_OK;
		default: cmd_keys_usage(stderr); return CMD_USAGE;
		}
	}
	size_t name_len = merchant ? strlen(merchant) : 0;
	if (optind < argc || !merchant || name_len == 0 || name_len > STORE_NAME_MAX ||
	    !utf8_printable(merchant, name_len)) {
		fputs(optind < argc ? "payd keys create: unexpected argument\n"
				    : "payd keys create: --merchant NAME is required (1-128 printable characters)\n",
		      stderr);
		cmd_keys_usage(stderr);
		return CMD_USAGE;
	}
	if (!db || !*db)
		db = "payd.db";

	struct store *s;
	char err[256];
	struct store_open_opts opts = {.flags = STORE_CREATE};
	int rc = store_open_sqlite(db, &opts, &s, err, sizeof err);
	if (rc) {
		fprintf(stderr, "payd keys: cannot open %s: %s\n", db, err);
		return CMD_FAILED;
	}
	char key[KEY_LEN + 1];
	rc = create_key(s, merchant, key);
	store_close(s);
	if (rc)
		return fail("cannot create the key", rc);
	printf("%s\n", key);
	return fflush(stdout) == 0 ? CMD_OK : CMD_FAILED;
}

int cmd_keys(int argc, char **argv)
{
	if (argc < 2) {
		cmd_keys_usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "create") == 0)
		return keys_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		cmd_keys_usage(stdout);
		return CMD_OK;
	}
	fprintf(stderr, "payd keys: unknown subcommand '%s'\n", argv[1]);
	cmd_keys_usage(stderr);
	return CMD_USAGE;
}
