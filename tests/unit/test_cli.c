/* tests/unit/test_cli: the real payd binary (PAYD_BIN, set by `make unit`)
 * run as a child process, its stdout, stderr and exit status captured.
 *   - `payd codes` as JSON (checked against the catalog), as a table, and
 *     as Markdown, which must equal the committed docs/ERRORS.md;
 *   - `payd version`, --help everywhere, usage errors (exit 2, stderr);
 *   - `payd keys create`: exactly one sk_test_ line on stdout, one merchant
 *     however many keys, only the SHA-256 stored, and the key's text nowhere
 *     in the database files (read raw, WAL included). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/crypto.h"
#include "cmd/cmd.h"
#include "core/catalog.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
	size_t out_len, err_len;
};

static const char *payd_bin(void)
{
	const char *bin = getenv("PAYD_BIN");
	cr_assert(bin && *bin, "PAYD_BIN is not set: run the tests with `make unit`");
	cr_assert_eq(access(bin, X_OK), 0, "PAYD_BIN=%s is not executable", bin);
	return bin;
}

/* The whole content of an open file (malloc'd, NUL-terminated). */
static char *slurp_stream(FILE *f, size_t *len)
{
	fflush(f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	cr_assert_geq(size, 0);
	rewind(f);
	char *buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	*len = (size_t)size;
	return buf;
}

/* The whole content of a file, or NULL when it does not exist. */
static char *slurp_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = slurp_stream(f, len);
	fclose(f);
	return buf;
}

/* Runs `payd args...` with stdin from /dev/null; stdout and stderr go to
 * tmpfiles (no pipe can fill up and deadlock). */
static struct run run_payd(const char *const *args)
{
	const char *bin = payd_bin();
	const char *argv[32] = {bin};
	size_t n = 1;
	for (; args[n - 1]; n++) {
		cr_assert_lt(n, sizeof argv / sizeof argv[0] - 1);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;

	FILE *out = tmpfile(), *err = tmpfile();
	cr_assert(out && err);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork failed");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(fileno(out), 1) < 0 ||
		    dup2(fileno(err), 2) < 0)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int wstatus;
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
	struct run r;
	r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r.out = slurp_stream(out, &r.out_len);
	r.err = slurp_stream(err, &r.err_len);
	fclose(out);
	fclose(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void expect_usage_error(const char *const *args, const char *what)
{
	struct run r = run_payd(args);
	cr_assert_eq(r.status, CMD_USAGE, "%s: exit %d, want 2; stderr: %s", what, r.status, r.err);
	cr_assert_not_null(strstr(r.err, "usage:"), "%s: no usage on stderr: %s", what, r.err);
	cr_assert_eq(r.out_len, 0, "%s: stdout must stay empty: %s", what, r.out);
	run_free(&r);
}

static void expect_help(const char *const *args, const char *what)
{
	struct run r = run_payd(args);
	cr_assert_eq(r.status, CMD_OK, "%s: exit %d; stderr: %s", what, r.status, r.err);
	cr_assert_not_null(strstr(r.out, "usage:"), "%s: no usage on stdout: %s", what, r.out);
	cr_assert_eq(r.err_len, 0, "%s: stderr must stay empty: %s", what, r.err);
	run_free(&r);
}

/* ---- payd codes ---------------------------------------------------------- */

static void expect_string_member(json_t *obj, const char *key, int code)
{
	json_t *v = json_object_get(obj, key);
	cr_assert(json_is_string(v), "code %d: \"%s\" must be a string", code, key);
	cr_assert_gt(json_string_length(v), 0, "code %d: \"%s\" is empty", code, key);
}

Test(cli, codes_json)
{
	struct run r = run_payd(ARGS("codes", "--json"));
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	json_error_t jerr;
	json_t *all = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(all, "not JSON: %s (line %d)", jerr.text, jerr.line);
	cr_assert(json_is_array(all));
	cr_assert_eq(json_array_size(all), catalog_count());

	bool saw_202 = false;
	size_t i;
	json_t *obj;
	json_array_foreach(all, i, obj) {
		cr_assert(json_is_object(obj), "item %zu", i);
		json_t *code = json_object_get(obj, "code");
		cr_assert(json_is_integer(code), "item %zu: code must be an integer", i);
		int c = (int)json_integer_value(code);
		cr_assert(json_is_integer(json_object_get(obj, "http_status")), "code %d", c);
		static const char *const strings[] = {"slug", "type", "retry", "message_en",
						      "message_zh", "advice"};
		for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
			expect_string_member(obj, strings[k], c);

		const struct catalog_entry *e = catalog_at(i);
		cr_assert_eq(c, e->code, "item %zu out of order", i);
		cr_assert_str_eq(json_string_value(json_object_get(obj, "slug")), e->slug);
		cr_assert_str_eq(json_string_value(json_object_get(obj, "type")),
				 catalog_type_name(e->type));
		cr_assert_str_eq(json_string_value(json_object_get(obj, "retry")),
				 catalog_retry_name(e->retry));
		cr_assert_eq(json_integer_value(json_object_get(obj, "http_status")), e->http_status);
		cr_assert_str_eq(json_string_value(json_object_get(obj, "message_zh")), e->message_zh);
		saw_202 |= c == 202;
		if (c == 101) {
			cr_assert_str_eq(json_string_value(json_object_get(obj, "slug")),
					 "insufficient_funds");
			const char *zh = json_string_value(json_object_get(obj, "message_zh"));
			cr_assert_not_null(strstr(zh, "余额不足"), "101 message_zh: %s", zh);
		}
	}
	cr_assert(saw_202, "code 202 missing from the JSON");
	json_decref(all);
	run_free(&r);
}

Test(cli, codes_table)
{
	struct run r = run_payd(ARGS("codes"));
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, "101"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "insufficient_funds"));
	cr_assert_not_null(strstr(r.out, catalog_get(101)->message_en));
	cr_assert_eq(r.err_len, 0, "%s", r.err);
	run_free(&r);

	r = run_payd(ARGS("codes", "--lang", "zh-CN"));
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, catalog_get(101)->message_zh), "%s", r.out);
	run_free(&r);
}

Test(cli, codes_markdown_matches_docs)
{
	struct run r = run_payd(ARGS("codes", "--markdown"));
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, "| 101 |"));
	size_t doc_len = 0;
	char *doc = slurp_path("docs/ERRORS.md", &doc_len);
	cr_assert(doc && doc_len == r.out_len && memcmp(doc, r.out, doc_len) == 0,
		  "docs/ERRORS.md is stale: run make docs");
	free(doc);
	run_free(&r);
}

/* ---- version, help and usage errors --------------------------------------- */

Test(cli, version)
{
	struct run r = run_payd(ARGS("version"));
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_eq(strncmp(r.out, "payd ", 5), 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out, PAYD_VERSION), "%s", r.out);
	cr_assert_eq(r.err_len, 0, "%s", r.err);
	run_free(&r);
}

Test(cli, usage_errors_exit_2)
{
	expect_usage_error(ARGS(NULL), "payd");
	expect_usage_error(ARGS("nosuch"), "payd nosuch");
	expect_usage_error(ARGS("codes", "--bogus"), "payd codes --bogus");
	expect_usage_error(ARGS("codes", "extra"), "payd codes extra");
	expect_usage_error(ARGS("keys"), "payd keys");
	expect_usage_error(ARGS("keys", "create"), "payd keys create");
	expect_usage_error(ARGS("keys", "create", "--db", "/nonexistent/x.db"),
			   "payd keys create --db X");
	expect_usage_error(ARGS("keys", "frobnicate"), "payd keys frobnicate");
	expect_usage_error(ARGS("version", "extra"), "payd version extra");
}

Test(cli, help_exits_0_on_stdout)
{
	expect_help(ARGS("--help"), "payd --help");
	expect_help(ARGS("help"), "payd help");
	expect_help(ARGS("help", "keys"), "payd help keys");
	expect_help(ARGS("codes", "--help"), "payd codes --help");
	expect_help(ARGS("codes", "-h"), "payd codes -h");
	expect_help(ARGS("keys", "--help"), "payd keys --help");
	expect_help(ARGS("keys", "create", "--help"), "payd keys create --help");
	expect_help(ARGS("version", "--help"), "payd version --help");
}

/* ---- payd keys create ----------------------------------------------------- */

/* Each keys test gets a fresh directory, removed by .fini even when an
 * assertion fails. */
static struct tmpdir {
	char path[64];
	char db[128];
} tmp;

static void tmpdir_make(void)
{
	snprintf(tmp.path, sizeof tmp.path, "/tmp/payd-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp.path));
	snprintf(tmp.db, sizeof tmp.db, "%s/payd.db", tmp.path);
}

static void tmpdir_remove(void)
{
	DIR *d = opendir(tmp.path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char file[512];
		snprintf(file, sizeof file, "%s/%s", tmp.path, e->d_name);
		unlink(file);
	}
	closedir(d);
	rmdir(tmp.path);
}

#define KEYS_TEST(name) Test(cli, name, .init = tmpdir_make, .fini = tmpdir_remove)

/* Runs `payd keys create --db DB --merchant NAME`, expects exactly one
 * line sk_test_<32 base-62> on stdout, returns the key. */
static void create_key(const char *merchant, char key[64])
{
	struct run r = run_payd(ARGS("keys", "create", "--db", tmp.db, "--merchant", merchant));
	cr_assert_eq(r.status, 0, "keys create %s: exit %d: %s", merchant, r.status, r.err);
	regex_t re;
	cr_assert_eq(regcomp(&re, "^sk_test_[0-9A-Za-z]{32}\n$", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, r.out, 0, NULL, 0), 0, "stdout is not one key line: \"%s\"",
		     r.out);
	regfree(&re);
	cr_assert_eq(r.out_len, strlen(r.out), "stdout holds a NUL");
	cr_assert_eq(r.out_len, 8 + 32 + 1);
	memcpy(key, r.out, 40);
	key[40] = '\0';
	cr_assert_null(strstr(r.err, key + 8), "the key must go to stdout only: %s", r.err);
	run_free(&r);
}

static sqlite3 *open_db(void)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(tmp.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK,
		     "cannot open %s", tmp.db);
	return db;
}

static long count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	long n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Neither the key nor its random part appears in any file of the database
 * (main file, -wal, -shm, -journal), read as raw bytes.  As a control, the
 * key's SHA-256 must be found in them: the search looks where the data is. */
static void expect_key_in_no_file(const char *key)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	uint8_t hash[CRYPTO_SHA256_LEN];
	crypto_sha256(key, strlen(key), hash);
	bool hash_seen = false;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char path[160];
		snprintf(path, sizeof path, "%s%s", tmp.db, suffixes[i]);
		size_t len;
		char *bytes = slurp_path(path, &len);
		if (!bytes)
			continue;
		cr_assert_null(memmem(bytes, len, key, strlen(key)), "the key is in %s", path);
		cr_assert_null(memmem(bytes, len, key + 8, strlen(key + 8)),
			       "the key's random part is in %s", path);
		hash_seen |= memmem(bytes, len, hash, sizeof hash) != NULL;
		free(bytes);
	}
	cr_assert(hash_seen, "the key's SHA-256 is in none of the files of %s", tmp.db);
}

/* The api_keys table holds exactly the SHA-256 of each key. */
static void expect_hashes(sqlite3 *db, const char *const *keys, size_t n)
{
	cr_assert_eq(count_rows(db, "SELECT count(*) FROM api_keys"), (long)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t hash[CRYPTO_SHA256_LEN];
		crypto_sha256(keys[i], strlen(keys[i]), hash);
		sqlite3_stmt *st;
		cr_assert_eq(sqlite3_prepare_v2(db, "SELECT hash, last4 FROM api_keys WHERE hash = ?",
						-1, &st, NULL),
			     SQLITE_OK, "%s", sqlite3_errmsg(db));
		sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
		cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "no api_keys row has the SHA-256 of key %zu",
			     i);
		cr_assert_eq(sqlite3_column_bytes(st, 0), CRYPTO_SHA256_LEN);
		cr_assert_eq(memcmp(sqlite3_column_blob(st, 0), hash, sizeof hash), 0);
		cr_assert_str_eq((const char *)sqlite3_column_text(st, 1), keys[i] + strlen(keys[i]) - 4);
		sqlite3_finalize(st);
	}
}

KEYS_TEST(keys_create_prints_only_the_key)
{
	char key[64];
	create_key("acme", key);
}

KEYS_TEST(keys_create_twice_one_merchant_hashed_keys)
{
	char k1[64], k2[64], k3[64];
	create_key("acme", k1);

	/* A connection held open across the second run keeps payd from
	 * checkpointing on close, so its writes stay in the -wal file. */
	sqlite3 *held = open_db();
	cr_assert_eq(count_rows(held, "SELECT count(*) FROM merchants"), 1);
	create_key("acme", k2);
	cr_assert_str_neq(k1, k2, "two keys must differ");
	expect_key_in_no_file(k1);
	expect_key_in_no_file(k2);
	cr_assert_eq(count_rows(held, "SELECT count(*) FROM merchants"), 1);
	cr_assert_eq(count_rows(held, "SELECT count(DISTINCT merchant_id) FROM api_keys"), 1);
	expect_hashes(held, (const char *const[]){k1, k2}, 2);
	sqlite3_close(held);
	expect_key_in_no_file(k2); /* and once the held connection is gone */

	create_key("globex 环球", k3);
	expect_key_in_no_file(k3);
	sqlite3 *db = open_db();
	cr_assert_eq(count_rows(db, "SELECT count(*) FROM merchants"), 2);
	expect_hashes(db, (const char *const[]){k1, k2, k3}, 3);
	sqlite3_close(db);
}

KEYS_TEST(keys_create_uses_payd_db)
{
	cr_assert_eq(setenv("PAYD_DB", tmp.db, 1), 0);
	struct run r = run_payd(ARGS("keys", "create", "--merchant", "acme"));
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	run_free(&r);
	sqlite3 *db = open_db();
	cr_assert_eq(count_rows(db, "SELECT count(*) FROM api_keys"), 1);
	sqlite3_close(db);
}

/* Bad names are refused before the database is touched. */
KEYS_TEST(keys_create_refuses_bad_names)
{
	char long_name[130];
	memset(long_name, 'a', 129);
	long_name[129] = '\0';
	const char *bad[] = {"", "tab\there", "new\nline", "\x7f", "bad\xff utf8", long_name};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_usage_error(ARGS("keys", "create", "--db", tmp.db, "--merchant", bad[i]),
				   "bad merchant name");
	struct stat st;
	cr_assert_neq(stat(tmp.db, &st), 0, "a refused command created %s", tmp.db);

	char key[64];
	long_name[128] = '\0';
	create_key(long_name, key); /* 128 characters is the limit */
}
