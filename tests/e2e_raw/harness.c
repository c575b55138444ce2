/* tests/e2e_raw/harness: see harness.h.  Process control with fork/exec
 * and pipes, HTTP with one libcurl easy handle per request, JSON with
 * jansson.  Every wait is bounded; nothing here sleeps except the polling
 * loops that wait for a condition. */
#include "harness.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct payd H;

static json_t *catalog; /* array of rows from `payd codes --json` */

/* ---- small utilities ---------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

bool poll_until(bool (*done)(void *ctx), void *ctx, int max_ms, int poll_ms)
{
	long deadline = now_ms() + max_ms;
	for (;;) {
		if (done(ctx))
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(poll_ms);
	}
}

const char *payd_bin(void)
{
	const char *bin = getenv("PAYD_BIN");
	return bin && *bin ? bin : "build/payd";
}

/* Reads a whole file into a malloc'd buffer; NULL when it does not exist. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

bool mem_contains(const char *hay, size_t len, const char *needle)
{
	return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

bool file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *data = read_file(path, &len);
	bool found = mem_contains(data, len, needle);
	free(data);
	return found;
}

/* Runs argv (argv[0] is the binary path), captures its stdout into out
 * (NUL-terminated, at most cap-1 bytes kept); returns the wait status. */
static int run_capture(char *const argv[], char *out, size_t cap)
{
	int fds[2];
	cr_assert(pipe(fds) == 0, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	for (;;) {
		char chunk[4096];
		ssize_t got = read(fds[0], chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t keep = (size_t)got;
		if (n + keep > cap - 1)
			keep = cap - 1 - n;
		memcpy(out + n, chunk, keep);
		n += keep;
	}
	out[n] = '\0';
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* ---- the server --------------------------------------------------------- */

void payd_key_create(struct payd *p, const char *merchant, char key[H_KEY_MAX])
{
	char *argv[] = {(char *)payd_bin(), "keys", "create", "--db", p->db, "--merchant",
			(char *)merchant, NULL};
	char out[512];
	int status = run_capture(argv, out, sizeof out);
	out[strcspn(out, "\r\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strncmp(out, "sk_test_", 8) != 0) {
		/* Criterion may skip .fini when .init fails: leave nothing behind. */
		payd_cleanup(p);
		cr_assert_fail("payd keys create failed (status %d, PAYD_BIN=%s, output '%s')",
			       status, payd_bin(), out);
	}
	snprintf(key, H_KEY_MAX, "%.*s", H_KEY_MAX - 1, out);
}

void payd_init(struct payd *p)
{
	memset(p, 0, sizeof *p);
	p->out_fd = -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(p->dir, sizeof p->dir, "%s/payd-e2e-raw-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(p->dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(p->db, sizeof p->db, "%s/payd.db", p->dir);
	snprintf(p->log, sizeof p->log, "%s/payd.log", p->dir);
	payd_key_create(p, "Merchant A", p->key_a);
	payd_key_create(p, "Merchant B", p->key_b);
}

pid_t h_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Never outlive the test process, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(126);
	}
	return pid;
}

void payd_serve(struct payd *p)
{
	cr_assert(p->pid == 0, "a server is already running");
	int fds[2];
	cr_assert(pipe(fds) == 0, "pipe: %s", strerror(errno));
	int log_fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	cr_assert(log_fd >= 0, "open %s: %s", p->log, strerror(errno));
	pid_t pid = h_fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(payd_bin(), payd_bin(), "serve", "--db", p->db, "--listen", "127.0.0.1:0",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	close(log_fd);
	p->pid = pid;
	p->out_fd = fds[0];

	/* Bounded wait for the "payd listening on http://HOST:PORT" line. */
	char line[512];
	size_t n = 0;
	long deadline = now_ms() + H_START_TIMEOUT_MS;
	while (!memchr(line, '\n', n)) {
		long left = deadline - now_ms();
		if (left <= 0 || n >= sizeof line - 1)
			break;
		struct pollfd pfd = {p->out_fd, POLLIN, 0};
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t got = read(p->out_fd, line + n, sizeof line - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break; /* EOF: the server exited */
		n += (size_t)got;
	}
	line[n] = '\0';
	const char *at = strstr(line, "listening on http://");
	int port = 0;
	if (at) {
		const char *colon = strrchr(at + strlen("listening on http://"), ':');
		port = colon ? atoi(colon + 1) : 0;
	}
	if (port <= 0) {
		size_t len = 0;
		char *log = read_file(p->log, &len);
		payd_cleanup(p);
		cr_assert_fail("payd serve did not report its port; stdout '%s', log:\n%s", line,
			       log ? log : "(none)");
	}
	p->port = port;
	snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", port);
}

int payd_stop(struct payd *p)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	int status = -1;
	long deadline = now_ms() + H_STOP_TIMEOUT_MS;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid || (r < 0 && errno != EINTR))
			break;
		if (now_ms() >= deadline) {
			kill(p->pid, SIGKILL);
			while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
				;
			status = -2; /* did not stop on SIGTERM */
			break;
		}
		sleep_ms(5);
	}
	p->pid = 0;
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
	return status;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void payd_cleanup(struct payd *p)
{
	payd_stop(p);
	if (p->dir[0] && getenv("PAYD_E2E_KEEP") == NULL)
		nftw(p->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	p->dir[0] = '\0';
}

/* ---- the catalog -------------------------------------------------------- */

static void catalog_load(void)
{
	if (catalog)
		return;
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	char *argv[] = {(char *)payd_bin(), "codes", "--json", NULL};
	int status = run_capture(argv, out, cap);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "payd codes --json failed");
	json_error_t jerr;
	catalog = json_loads(out, 0, &jerr);
	free(out);
	cr_assert(json_is_array(catalog) && json_array_size(catalog) > 0,
		  "payd codes --json is not a JSON array: %s", jerr.text);
}

json_t *cat_entry(int code)
{
	catalog_load();
	size_t i;
	json_t *row;
	json_array_foreach(catalog, i, row) {
		if (json_integer_value(json_object_get(row, "code")) == code)
			return row;
	}
	return NULL;
}

const char *cat_str(int code, const char *field)
{
	json_t *row = cat_entry(code);
	cr_assert(row, "catalog code %d does not exist", code);
	const char *s = json_string_value(json_object_get(row, field));
	return s ? s : "";
}

int cat_int(int code, const char *field)
{
	json_t *row = cat_entry(code);
	cr_assert(row, "catalog code %d does not exist", code);
	return (int)json_integer_value(json_object_get(row, field));
}

/* ---- setup -------------------------------------------------------------- */

void harness_setup(void)
{
	static bool curl_ready;
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	catalog_load();
	payd_init(&H);
	payd_serve(&H);
}

/* The server's log without its ordinary JSON lines: what a crash, a
 * sanitizer or an assert printed.  Static buffer; "" when there is none. */
const char *payd_log_excerpt(const struct payd *p)
{
	static char out[8192];
	size_t len = 0, n = 0;
	char *log = read_file(p->log, &len);
	out[0] = '\0';
	for (char *line = log; line && *line && n + 1 < sizeof out;) {
		char *end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) + 1 : strlen(line);
		if (strncmp(line, "{\"ts\"", 5) != 0) {
			size_t keep = l < sizeof out - 1 - n ? l : sizeof out - 1 - n;
			memcpy(out + n, line, keep);
			n += keep;
		}
		line += l;
	}
	out[n] = '\0';
	free(log);
	return out;
}

void harness_teardown(void)
{
	/* A server that crashed, or did not stop cleanly, fails the test: under
	 * ASan this is where use-after-free and leak reports surface. */
	bool was_running = H.pid > 0;
	int status = payd_stop(&H);
	bool clean = !was_running || (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char excerpt[8192];
	snprintf(excerpt, sizeof excerpt, "%s", clean ? "" : payd_log_excerpt(&H));
	payd_cleanup(&H);
	cr_assert(clean, "payd serve did not exit cleanly on SIGTERM (wait status %d%s%d); its log:\n%s",
		  status, status >= 0 && WIFSIGNALED(status) ? ", signal " : ", exit ",
		  status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), excerpt);
}

#if defined(__SANITIZE_ADDRESS__)
/* The test binary leaks on purpose when an assertion fails (Criterion
 * longjmps past the frees); leak reports of payd itself are what matter,
 * and payd is a separate process with its own options. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/* ---- HTTP --------------------------------------------------------------- */

struct buf {
	char *data;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	buf_add(ctx, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	buf_add(ctx, data, size * n);
	return size * n;
}

bool http_header(const struct http_resp *r, const char *name, char *out, size_t cap)
{
	size_t name_len = strlen(name);
	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
			const char *v = line + name_len + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vlen = (size_t)(line + len - v);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			snprintf(out, cap, "%.*s", (int)vlen, v);
			return true;
		}
		line = end ? end + 2 : line + len;
	}
	return false;
}

void http_do(const char *base_url, const struct http_req *req, struct http_resp *out)
{
	memset(out, 0, sizeof *out);
	CURL *c = curl_easy_init();
	cr_assert(c, "curl_easy_init failed");
	char url[H_URL_MAX + 8192];
	snprintf(url, sizeof url, "%s%s", base_url, req->path);
	struct curl_slist *hdrs = NULL;
	char line[8192];
	struct buf body = {0}, head = {0};

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)H_HTTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through a proxy from the env */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
	/* Keep the request exactly as written: no Expect: 100-continue. */
	hdrs = curl_slist_append(hdrs, "Expect:");

	const char *method = req->method ? req->method : "GET";
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		size_t len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (req->content_type) {
		snprintf(line, sizeof line, "Content-Type:%s%s", req->content_type[0] ? " " : "",
			 req->content_type);
		hdrs = curl_slist_append(hdrs, line);
	}
	switch (req->auth) {
	case AUTH_NONE:
		break;
	case AUTH_BEARER:
		snprintf(line, sizeof line, "Authorization: Bearer %s", req->key);
		hdrs = curl_slist_append(hdrs, line);
		break;
	case AUTH_BASIC:
		snprintf(line, sizeof line, "%s:", req->key);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, line);
		break;
	case AUTH_RAW:
		snprintf(line, sizeof line, "Authorization: %s", req->key);
		hdrs = curl_slist_append(hdrs, line);
		break;
	}
	if (req->idem_key) {
		snprintf(line, sizeof line, "Idempotency-Key: %s", req->idem_key);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (req->lang) {
		snprintf(line, sizeof line, "Accept-Language: %s", req->lang);
		hdrs = curl_slist_append(hdrs, line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	out->curl_code = (int)curl_easy_perform(c);
	if (out->curl_code == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);

	if (!body.data)
		buf_add(&body, "", 0);
	if (!head.data)
		buf_add(&head, "", 0);
	out->body = body.data;
	out->body_len = body.len;
	out->headers = head.data;
	out->json = body.len ? json_loadb(body.data, body.len, 0, NULL) : NULL;
	http_header(out, "Content-Type", out->content_type, sizeof out->content_type);
	http_header(out, "Idempotent-Replayed", out->replayed, sizeof out->replayed);
}

void http_resp_free(struct http_resp *r)
{
	json_decref(r->json);
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof *r);
}

void h_get(const char *key, const char *path, struct http_resp *out)
{
	struct http_req req = {.method = "GET", .path = path, .auth = AUTH_BEARER, .key = key};
	http_do(H.url, &req, out);
}

void h_post(const char *key, const char *path, const char *form, struct http_resp *out)
{
	struct http_req req = {.method = "POST", .path = path, .body = form, .auth = AUTH_BEARER,
			       .key = key};
	http_do(H.url, &req, out);
}

void h_post_json(const char *key, const char *path, const char *json, struct http_resp *out)
{
	struct http_req req = {.method = "POST", .path = path, .body = json,
			       .content_type = "application/json", .auth = AUTH_BEARER, .key = key};
	http_do(H.url, &req, out);
}

/* ---- JSON paths and assertions ----------------------------------------- */

json_t *jpath(json_t *root, const char *path)
{
	char step[256];
	json_t *node = root;
	while (node && *path) {
		size_t len = strcspn(path, ".");
		snprintf(step, sizeof step, "%.*s", (int)len, path);
		if (json_is_array(node) && strspn(step, "0123456789") == len && len > 0)
			node = json_array_get(node, (size_t)atol(step));
		else
			node = json_object_get(node, step);
		path += len + (path[len] == '.');
	}
	return node;
}

const char *jpath_str(json_t *root, const char *path)
{
	return json_string_value(jpath(root, path));
}

/* Formats a failure into msg and returns false. */
static bool fail_msg(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_msg(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return false;
}

#define S(x) ((x) ? (x) : "(none)")

bool check_catalog_error(const struct http_resp *r, int code, const char *param, const char *lang,
			 const char *what, char *msg, size_t cap)
{
	json_t *row = cat_entry(code);
	if (!row)
		return fail_msg(msg, cap, "%s: catalog code %d does not exist", what, code);
	if (!r->json)
		return fail_msg(msg, cap, "%s: the body is not JSON (HTTP %ld, curl %d): %.500s", what,
				r->status, r->curl_code, r->body);
	json_t *err = json_object_get(r->json, "error");
	if (!json_is_object(err))
		return fail_msg(msg, cap, "%s: HTTP %ld without an error object: %.500s", what,
				r->status, r->body);
	long long got = json_integer_value(json_object_get(err, "payd_code"));
	if (got != code)
		return fail_msg(msg, cap, "%s: payd_code %lld, expected %d: %.500s", what, got, code,
				r->body);
	if (r->status != cat_int(code, "http_status"))
		return fail_msg(msg, cap, "%s: HTTP %ld, expected %d: %.500s", what, r->status,
				cat_int(code, "http_status"), r->body);
	if (strncmp(r->content_type, "application/json", 16) != 0)
		return fail_msg(msg, cap, "%s: Content-Type '%s'", what, r->content_type);
	const char *type = jpath_str(err, "type"), *scode = jpath_str(err, "code");
	if (!type || strcmp(type, cat_str(code, "type")) != 0)
		return fail_msg(msg, cap, "%s: error.type '%s', expected '%s'", what, S(type),
				cat_str(code, "type"));
	if (!scode || strcmp(scode, cat_str(code, "stripe_code")) != 0)
		return fail_msg(msg, cap, "%s: error.code '%s', expected '%s'", what, S(scode),
				cat_str(code, "stripe_code"));
	const char *message = jpath_str(err, "message");
	if (!message || !*message)
		return fail_msg(msg, cap, "%s: error.message is missing", what);
	bool zh = lang && strncasecmp(lang, "zh", 2) == 0;
	const char *um = jpath_str(err, "user_message");
	const char *want = cat_str(code, zh ? "message_zh" : "message_en");
	if (!um || strcmp(um, want) != 0)
		return fail_msg(msg, cap, "%s: user_message '%s', expected '%s' (Accept-Language %s)",
				what, S(um), want, lang ? lang : "absent");
	const char *decline = jpath_str(err, "decline_code");
	if (strcmp(cat_str(code, "type"), "card_error") == 0) {
		if (!decline || strcmp(decline, cat_str(code, "slug")) != 0)
			return fail_msg(msg, cap, "%s: decline_code '%s', expected '%s'", what,
					S(decline), cat_str(code, "slug"));
	} else if (decline) {
		return fail_msg(msg, cap, "%s: decline_code '%s' on a non-card error", what, decline);
	}
	if (param) {
		const char *p = jpath_str(err, "param");
		if (!p || strcmp(p, param) != 0)
			return fail_msg(msg, cap, "%s: error.param '%s', expected '%s'", what, S(p), param);
	}
	return true;
}

void assert_catalog_error(const struct http_resp *r, int code, const char *param, const char *lang,
			  const char *what)
{
	char msg[1024];
	if (!check_catalog_error(r, code, param, lang, what, msg, sizeof msg))
		cr_assert_fail("%s", msg);
}

json_t *list_all_ids(const char *key, const char *path)
{
	json_t *ids = json_array();
	char last[128] = "";
	for (int page = 0; page < 1000; page++) {
		char url[2048];
		snprintf(url, sizeof url, "%s%slimit=100%s%s", path, strchr(path, '?') ? "&" : "?",
			 last[0] ? "&starting_after=" : "", last);
		struct http_resp r;
		h_get(key, url, &r);
		cr_assert_eq(r.status, 200, "GET %s: HTTP %ld: %s", url, r.status, r.body);
		json_t *data = json_object_get(r.json, "data");
		cr_assert(json_is_array(data), "GET %s: no data array", url);
		size_t i;
		json_t *o;
		json_array_foreach(data, i, o) {
			const char *id = json_string_value(json_object_get(o, "id"));
			cr_assert(id, "GET %s: an object without id", url);
			json_array_append_new(ids, json_string(id));
			snprintf(last, sizeof last, "%s", id);
		}
		bool more = json_is_true(json_object_get(r.json, "has_more"));
		size_t n = json_array_size(data);
		http_resp_free(&r);
		if (!more || n == 0)
			return ids;
	}
	cr_assert_fail("GET %s: more than 1000 pages", path);
	return ids;
}
