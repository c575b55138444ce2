/* tests/e2e_raw/harness: a real `payd serve` for raw-protocol tests, and a
 * small HTTP client over libcurl.
 *
 * Criterion runs every test in its own process, so the natural unit is one
 * server per test: the suite's .init (harness_setup) makes a fresh mkdtemp
 * directory, creates two merchants' keys with `payd keys create`, starts
 * `payd serve --listen 127.0.0.1:0` and learns the port from the
 * "payd listening on http://..." line on its stdout (bounded wait); .fini
 * (harness_teardown) stops it with SIGTERM, reaps it and removes the
 * directory.  A server costs a few tens of milliseconds, so isolation is
 * cheap and tests may run in parallel (each has its own port and db).
 *
 * The binary comes from $PAYD_BIN (make e2e sets it), else build/payd.
 * The server's stderr (its JSON log) goes to a file in the temp directory,
 * so tests can check that nothing secret was logged. */
#ifndef PAYD_TESTS_E2E_RAW_HARNESS_H
#define PAYD_TESTS_E2E_RAW_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define H_KEY_MAX 128
#define H_URL_MAX 64
#define H_PATH_MAX 1024
#define H_START_TIMEOUT_MS 20000 /* bounded wait for "listening on" (ASan is slow) */
#define H_STOP_TIMEOUT_MS 20000  /* bounded wait for exit after SIGTERM */
#define H_HTTP_TIMEOUT_S 30      /* no request may hang a test forever */

struct payd {
	char dir[H_PATH_MAX - 32]; /* the mkdtemp directory */
	char db[H_PATH_MAX];       /* dir/payd.db */
	char log[H_PATH_MAX];      /* dir/payd.log: the server's stderr */
	char key_a[H_KEY_MAX];     /* merchant A's secret key */
	char key_b[H_KEY_MAX];     /* merchant B's secret key */
	char url[H_URL_MAX];       /* http://127.0.0.1:PORT */
	int port;
	pid_t pid;                 /* 0 when not running */
	int out_fd;                /* read end of the server's stdout */
};

/* The server of the current test (set up by harness_setup). */
extern struct payd H;

/* Path of the payd binary ($PAYD_BIN or build/payd). */
const char *payd_bin(void);

/* fork() for a child that must not outlive the test process (in the
 * child: SIGTERM when the parent dies, _exit(126) if it already has).
 * Asserts; returns 0 in the child, its pid in the parent. */
pid_t h_fork(void);
/* Makes the temp directory and the two merchants' keys (no server yet). */
void payd_init(struct payd *p);
/* Starts `payd serve` on p->db and waits for its port.  Asserts on failure. */
void payd_serve(struct payd *p);
/* SIGTERM, then waitpid (bounded; SIGKILL if it does not stop).  Returns the
 * wait status, -1 when nothing was running, -2 when SIGTERM did not stop it. */
int payd_stop(struct payd *p);
/* The server's log minus its ordinary JSON lines (crash and sanitizer
 * reports); a static buffer. */
const char *payd_log_excerpt(const struct payd *p);
/* Stops the server if it runs and removes the temp directory. */
void payd_cleanup(struct payd *p);
/* Runs `payd keys create --db p->db --merchant name` into key. */
void payd_key_create(struct payd *p, const char *merchant, char key[H_KEY_MAX]);

/* Criterion .init / .fini: curl_global_init, the catalog, H started;
 * .fini fails the test when payd did not exit 0 on SIGTERM. */
void harness_setup(void);
void harness_teardown(void);

/* ---- the error catalog, from `payd codes --json` ------------------------ */

/* The catalog row of code (a JSON object), or NULL. */
json_t *cat_entry(int code);
/* Its string field (message_en, slug, ...) or "" when absent. */
const char *cat_str(int code, const char *field);
int cat_int(int code, const char *field);

/* ---- HTTP --------------------------------------------------------------- */

enum auth_kind { AUTH_NONE, AUTH_BEARER, AUTH_BASIC, AUTH_RAW };

struct http_req {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* "/v1/payment_intents?limit=3" */
	const char *body;         /* NULL: no body */
	size_t body_len;          /* 0: strlen(body) */
	const char *content_type; /* NULL: form for a POST with a body; "" none */
	enum auth_kind auth;
	const char *key;          /* the key for BEARER/BASIC; the whole header for RAW */
	const char *idem_key;     /* Idempotency-Key, or NULL */
	const char *lang;         /* Accept-Language, or NULL */
};

struct http_resp {
	long status;              /* HTTP status; 0 when the transfer failed */
	int curl_code;            /* CURLcode of the transfer */
	char *body;               /* raw body bytes, NUL-terminated */
	size_t body_len;
	char *headers;            /* the raw response header block */
	json_t *json;             /* parsed body, or NULL when it is not JSON */
	char content_type[128];
	char replayed[32];        /* Idempotent-Replayed header value, or "" */
};

/* One request to base_url (no connection reuse: each call is independent
 * and thread-safe).  Fills out; free it with http_resp_free. */
void http_do(const char *base_url, const struct http_req *req, struct http_resp *out);
void http_resp_free(struct http_resp *r);
/* The value of a response header (case-insensitive name) into out, or false. */
bool http_header(const struct http_resp *r, const char *name, char *out, size_t cap);

/* Shorthands on H with merchant A's key (Bearer). */
void h_get(const char *key, const char *path, struct http_resp *out);
void h_post(const char *key, const char *path, const char *form, struct http_resp *out);
void h_post_json(const char *key, const char *path, const char *json, struct http_resp *out);

/* ---- assertions and helpers -------------------------------------------- */

/* Asserts that r is the catalog's error object for code: the HTTP status,
 * error.type, error.code, error.payd_code and error.user_message (English
 * unless lang says zh) as `payd codes --json` has them; error.decline_code
 * for card errors; error.param == param when param is not NULL. */
void assert_catalog_error(const struct http_resp *r, int code, const char *param, const char *lang,
			  const char *what);
/* The same check, without asserting: false with a message in msg. */
bool check_catalog_error(const struct http_resp *r, int code, const char *param, const char *lang,
			 const char *what, char *msg, size_t cap);
/* A string field by a dotted path ("error.payment_intent.status"); NULL
 * when a step is missing or not a string. */
const char *jpath_str(json_t *root, const char *path);
json_t *jpath(json_t *root, const char *path);
/* Ids of every object a list endpoint returns (paginates with limit=100).
 * Returns a new JSON array of id strings. */
json_t *list_all_ids(const char *key, const char *path);
/* Whether `needle` occurs anywhere in a file's raw bytes (false if the file
 * does not exist). */
bool file_contains(const char *path, const char *needle);
bool mem_contains(const char *hay, size_t len, const char *needle);
/* Bounded polling: calls done(ctx) every poll_ms until it returns true or
 * max_ms have passed; returns its last answer. */
bool poll_until(bool (*done)(void *ctx), void *ctx, int max_ms, int poll_ms);

#endif
