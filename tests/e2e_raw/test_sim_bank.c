/* tests/e2e_raw/test_sim_bank: payd-sim's bank payout rails against their
 * contract (docs/SIM_PROTOCOL.md, "Bank payout rails").
 *
 * Each test starts its own payd-sim ($SIM_BIN, else build/payd-sim) with
 * the scenario below in a mkdtemp directory, and its own callback receiver:
 * a small HTTP/1.1 server on 127.0.0.1:0 in a thread (plain sockets: this
 * binary does not link libmicrohttpd) that records every callback body and
 * whether its X-Payd-Signature verifies.  The bank channels are pointed at
 * it through the admin endpoint.  Payouts are driven with signed libcurl
 * requests; every wait is a bounded poll.  .fini stops payd-sim with
 * SIGTERM and fails unless it exits 0 (under ASan: no leaks, no errors).
 * The process helpers are copies of test_sim.c's (kept apart so neither
 * file depends on the other). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "harness.h"

#define BK_START_MS 20000
#define BK_STOP_MS 20000
#define BK_PROMPT_STOP_MS 3000 /* SIGTERM with callbacks and timers pending */
#define BK_POLL_MS 5
#define BK_WAIT_MS 10000       /* longest wait for a state or a callback */
#define BK_QUIET_MS 300        /* how long "nothing more arrives" is watched */
#define BK_BODY_CAP 8192
#define BK_DIR_MAX 512
#define RX_MAX 64              /* callbacks one test can record */
#define RX_REQ_MAX 8192        /* one callback request, headers and body */
#define RX_IO_TIMEOUT_S 2
#define RX_POLL_MS 50
#define BK_SLOW_MS 600         /* slow_ms of the PDNG test */
#define BK_GIVE_UP_MS 200      /* the client's timeout there */

/* bank_a: idempotent, bank_b: not; both ~20 ms in transit, fate at ~60 ms,
 * returns after ~60 ms more (time_scale 1000 over scenario seconds). */
#define BANK_TIMES                                                                              \
	"\"time_scale\":1000,\"transit_ms\":{\"min\":20000,\"p50\":20000,\"p99\":20000},"        \
	"\"settle_ms\":{\"min\":60000,\"p50\":60000,\"p99\":60000},"                             \
	"\"instant_settle_ms\":{\"min\":30000,\"p50\":30000,\"p99\":30000},"                     \
	"\"return_after_ms\":{\"min\":60000,\"p50\":60000,\"p99\":60000},"                       \
	"\"latency_ms\":{\"min\":1,\"p50\":1,\"p99\":2}"

static const char scenario[] =
	"{\"seed\": 11, \"channels\": ["
	"{\"name\":\"acq_a\",\"kind\":\"acquirer\",\"secret\":\"sa\"},"
	"{\"name\":\"bank_a\",\"kind\":\"bank\",\"secret\":\"sba\",\"idempotent\":true,"
	BANK_TIMES ",\"payout_outcomes\":{\"paid\":100}},"
	"{\"name\":\"bank_b\",\"kind\":\"bank\",\"secret\":\"sbb\",\"idempotent\":false,"
	BANK_TIMES ",\"payout_outcomes\":{\"paid\":100}}]}";

#define ACCOUNT                                                                                 \
	"{\"holder_name\":\"Zhang Wei\",\"number\":\"6222020200112233\",\"bank_code\":\"ICBC\","  \
	"\"country\":\"CN\"}"

/* ---- the callback receiver ------------------------------------------------ */

static struct {
	int fd;
	uint16_t port;
	pthread_t thread;
	bool started;
	atomic_bool stop, hang; /* hang: read requests, never answer */
	atomic_int requests;    /* requests read (answered or not) */
	pthread_mutex_t mu;
	int n;
	char *bodies[RX_MAX];
	bool signed_ok[RX_MAX];
	char secret[64];        /* the callbacks' expected secret */
} RX = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static struct {
	char dir[BK_DIR_MAX];
	char path[BK_DIR_MAX + 32];
	char ready[BK_DIR_MAX + 32];
	char log[BK_DIR_MAX + 32];
	pid_t pid;
	int exit_status; /* when stopped inside the test */
	json_t *urls;
} S;

struct resp {
	long status;
	int curl_code;
	char body[BK_BODY_CAP];
	size_t len;
	char sig[256];
	json_t *json;
};

static void sig_of(const char *secret, long t, const char *body, size_t len, char out[200])
{
	char *msg = malloc(len + 32);
	cr_assert(msg);
	int n = snprintf(msg, 32, "%ld.", t);
	memcpy(msg + n, body, len);
	uint8_t mac[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)n + len, mac);
	crypto_hex(mac, sizeof mac, hex);
	free(msg);
	snprintf(out, 200, "t=%ld,v1=%s", t, hex);
}

static bool sig_valid(const char *secret, const char *header, const char *body, size_t len)
{
	long t = 0;
	if (!header || sscanf(header, "t=%ld,", &t) != 1)
		return false;
	char want[200];
	sig_of(secret, t, body, len, want);
	return strcmp(want, header) == 0 && labs((long)time(NULL) - t) <= 300;
}

/* The header's value (case-insensitive name) copied into out, or "". */
static void rx_header(const char *head, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		size_t n = strlen(name);
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			h += strspn(h, " ");
			snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
			return;
		}
	}
}

/* Reads one request from c; its body is recorded.  false on a bad read. */
static bool rx_read(int c)
{
	char buf[RX_REQ_MAX + 1];
	size_t len = 0;
	char *end = NULL;
	long want = -1;
	while (len < RX_REQ_MAX) {
		ssize_t k = read(c, buf + len, RX_REQ_MAX - len);
		if (k <= 0)
			return false;
		len += (size_t)k;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			char cl[32];
			*end = '\0';
			rx_header(buf, "Content-Length", cl, sizeof cl);
			want = atol(cl);
		}
		if (end && (long)(len - (size_t)(end + 4 - buf)) >= want)
			break;
	}
	if (!end)
		return false;
	char sig[256];
	rx_header(buf, "X-Payd-Signature", sig, sizeof sig);
	const char *body = end + 4;
	pthread_mutex_lock(&RX.mu);
	if (RX.n < RX_MAX) {
		RX.bodies[RX.n] = strndup(body, (size_t)want);
		RX.signed_ok[RX.n++] = sig_valid(RX.secret, sig, body, (size_t)want);
	}
	pthread_mutex_unlock(&RX.mu);
	atomic_fetch_add(&RX.requests, 1);
	return true;
}

static void rx_serve(int c)
{
	struct timeval tv = {RX_IO_TIMEOUT_S, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (!rx_read(c))
		return;
	while (atomic_load(&RX.hang) && !atomic_load(&RX.stop))
		poll(NULL, 0, RX_POLL_MS);
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (write(c, ok, sizeof ok - 1) < 0)
		return;
}

static void *rx_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&RX.stop)) {
		struct pollfd p = {.fd = RX.fd, .events = POLLIN};
		if (poll(&p, 1, RX_POLL_MS) <= 0)
			continue;
		int c = accept(RX.fd, NULL, NULL);
		if (c < 0)
			continue;
		rx_serve(c);
		close(c);
	}
	return NULL;
}

static void rx_start(void)
{
	RX.fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(RX.fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	cr_assert(bind(RX.fd, (struct sockaddr *)&a, sizeof a) == 0, "bind: %s", strerror(errno));
	cr_assert(listen(RX.fd, 16) == 0);
	getsockname(RX.fd, (struct sockaddr *)&a, &alen);
	RX.port = ntohs(a.sin_port);
	cr_assert(pthread_create(&RX.thread, NULL, rx_main, NULL) == 0);
	RX.started = true;
}

static void rx_stop(void)
{
	if (RX.started) {
		atomic_store(&RX.stop, true);
		pthread_join(RX.thread, NULL);
		RX.started = false;
	}
	if (RX.fd >= 0)
		close(RX.fd);
	RX.fd = -1;
	for (int i = 0; i < RX.n; i++)
		free(RX.bodies[i]);
	RX.n = 0;
}

static int rx_count(void)
{
	pthread_mutex_lock(&RX.mu);
	int n = RX.n;
	pthread_mutex_unlock(&RX.mu);
	return n;
}

/* Callback i parsed (a new reference); asserts it was signed right. */
static json_t *rx_get(int i)
{
	pthread_mutex_lock(&RX.mu);
	cr_assert(i < RX.n, "callback %d of %d", i, RX.n);
	json_t *j = json_loads(RX.bodies[i], 0, NULL);
	bool ok = RX.signed_ok[i];
	pthread_mutex_unlock(&RX.mu);
	cr_assert(j, "callback %d is not JSON", i);
	cr_expect(ok, "callback %d's signature does not verify", i);
	return j;
}

static bool rx_has(void *ctx)
{
	return rx_count() >= *(int *)ctx;
}

static void rx_wait(int n)
{
	cr_assert(poll_until(rx_has, &n, BK_WAIT_MS, BK_POLL_MS), "%d callbacks, not %d",
		  rx_count(), n);
}

/* The states of the callbacks received, comma separated. */
static void rx_states(char *out, size_t cap)
{
	out[0] = '\0';
	for (int i = 0; i < rx_count(); i++) {
		json_t *j = rx_get(i);
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? "," : "",
			 json_string_value(json_object_get(j, "state")));
		json_decref(j);
	}
}

/* ---- process ---------------------------------------------------------------- */

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *sim_bin(void)
{
	const char *b = getenv("SIM_BIN");
	return b && *b ? b : "build/payd-sim";
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "open %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static pid_t spawn(char *const argv[])
{
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(126);
		int out = open("/dev/null", O_WRONLY);
		int err = open(S.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static bool ready_loaded(void *ctx)
{
	(void)ctx;
	S.urls = json_load_file(S.ready, 0, NULL);
	return S.urls != NULL || waitpid(S.pid, NULL, WNOHANG) == S.pid;
}

static void admin_set(const char *channel, const char *body);

static void bank_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&S, 0, sizeof S);
	S.exit_status = -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(S.dir, sizeof S.dir, "%s/payd-sim-bank-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(S.dir), "mkdtemp: %s", strerror(errno));
	snprintf(S.path, sizeof S.path, "%s/scenario.json", S.dir);
	snprintf(S.ready, sizeof S.ready, "%s/ready.json", S.dir);
	snprintf(S.log, sizeof S.log, "%s/sim.log", S.dir);
	write_text(S.path, scenario);
	char *argv[] = {(char *)sim_bin(), "--scenario", S.path, "--listen", "127.0.0.1:0",
			"--ready-file", S.ready, NULL};
	S.pid = spawn(argv);
	poll_until(ready_loaded, NULL, BK_START_MS, BK_POLL_MS);
	cr_assert(S.urls, "payd-sim (%s) wrote no ready file", sim_bin());
	snprintf(RX.secret, sizeof RX.secret, "sba");
	rx_start();
	char body[128];
	snprintf(body, sizeof body, "{\"callback_url\":\"http://127.0.0.1:%u/cb\"}", RX.port);
	admin_set("bank_a", body);
	admin_set("bank_b", body);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* SIGTERM and a bounded wait; the wait status, or -2 if it had to be killed. */
static int sim_stop(void)
{
	int status = -1;
	if (S.pid <= 0)
		return S.exit_status;
	kill(S.pid, SIGTERM);
	long deadline = mono_ms() + BK_STOP_MS;
	while (waitpid(S.pid, &status, WNOHANG) != S.pid) {
		if (mono_ms() > deadline) {
			kill(S.pid, SIGKILL);
			waitpid(S.pid, &status, 0);
			status = -2;
			break;
		}
		poll(NULL, 0, BK_POLL_MS);
	}
	S.pid = 0;
	S.exit_status = status;
	return status;
}

static void bank_teardown(void)
{
	int status = sim_stop();
	rx_stop();
	json_decref(S.urls);
	S.urls = NULL;
	char log[2048] = "";
	FILE *f = fopen(S.log, "r");
	if (f) {
		log[fread(log, 1, sizeof log - 1, f)] = '\0';
		fclose(f);
	}
	if (S.dir[0] && !getenv("PAYD_E2E_KEEP"))
		nftw(S.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "payd-sim did not exit 0 on SIGTERM (status %d); stderr:\n%s", status, log);
}

TestSuite(sim_bank, .init = bank_setup, .fini = bank_teardown, .timeout = 90);

/* ---- HTTP ----------------------------------------------------------------- */

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = size * n, keep = len;
	if (r->len + keep > sizeof r->body - 1)
		keep = sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, data, keep);
	r->len += keep;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_head(char *data, size_t size, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = size * n;
	const char *name = "X-Payd-Signature:";
	if (len > strlen(name) && strncasecmp(data, name, strlen(name)) == 0)
		snprintf(r->sig, sizeof r->sig, "%.*s", (int)strcspn(data + strlen(name) + 1, "\r\n"),
			 data + strlen(name) + 1);
	return len;
}

static long client_timeout_ms = 30000;

/* One request; body NULL is a GET.  header: one extra header or NULL. */
static void http_call(const char *url, const char *body, const char *header, struct resp *r)
{
	memset(r, 0, sizeof *r);
	CURL *c = curl_easy_init();
	cr_assert(c);
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	h = curl_slist_append(h, "Content-Type: application/json");
	if (header)
		h = curl_slist_append(h, header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, client_timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	r->curl_code = (int)curl_easy_perform(c);
	if (r->curl_code == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	r->json = r->len ? json_loads(r->body, 0, NULL) : NULL;
}

static void resp_free(struct resp *r)
{
	json_decref(r->json);
	r->json = NULL;
}

static const char *secret_of(const char *channel)
{
	return strcmp(channel, "bank_a") == 0 ? "sba" : strcmp(channel, "bank_b") == 0 ? "sbb" : "sa";
}

static const char *channel_url(const char *channel)
{
	const char *u = json_string_value(json_object_get(json_object_get(S.urls, "channels"), channel));
	cr_assert(u, "no URL for channel %s in the ready file", channel);
	return u;
}

static void signed_post_as(const char *channel, const char *path, const char *body,
			   const char *secret, struct resp *r)
{
	char url[256], sig[200], header[256];
	snprintf(url, sizeof url, "%s%s", channel_url(channel), path);
	sig_of(secret, (long)time(NULL), body, strlen(body), sig);
	snprintf(header, sizeof header, "X-Payd-Signature: %s", sig);
	http_call(url, body, header, r);
}

static void post(const char *channel, const char *path, const char *body, struct resp *r)
{
	signed_post_as(channel, path, body, secret_of(channel), r);
}

static void payout_as(const char *channel, const char *ref, const char *method,
		      const char *account, struct resp *r)
{
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"amount\":5000,\"currency\":\"CNY\",\"method\":\"%s\","
		 "\"account\":%s}", ref, method, account);
	post(channel, "/v1/payout", body, r);
}

static void payout(const char *channel, const char *ref, struct resp *r)
{
	payout_as(channel, ref, "standard", ACCOUNT, r);
}

static void query(const char *channel, const char *ref, struct resp *r)
{
	char body[128];
	snprintf(body, sizeof body, "{\"reference\":\"%s\"}", ref);
	post(channel, "/v1/query_payout", body, r);
}

static const char *str(const struct resp *r, const char *field)
{
	const char *s = json_string_value(json_object_get(r->json, field));
	return s ? s : "";
}

static const char *jstr(json_t *o, const char *field)
{
	const char *s = json_string_value(json_object_get(o, field));
	return s ? s : "";
}

struct state_wait {
	const char *channel, *ref, *want;
	char got[32];
};

static bool state_is(void *ctx)
{
	struct state_wait *w = ctx;
	struct resp r;
	query(w->channel, w->ref, &r);
	snprintf(w->got, sizeof w->got, "%s", str(&r, "state"));
	resp_free(&r);
	return strcmp(w->got, w->want) == 0;
}

static void wait_state(const char *channel, const char *ref, const char *want)
{
	struct state_wait w = {channel, ref, want, ""};
	cr_assert(poll_until(state_is, &w, BK_WAIT_MS, BK_POLL_MS), "%s %s: state %s, not %s",
		  channel, ref, w.got, want);
}

/* ---- admin ---------------------------------------------------------------- */

static const char *admin_url(void)
{
	return json_string_value(json_object_get(S.urls, "admin"));
}

static json_t *admin_get(const char *path)
{
	char url[256];
	snprintf(url, sizeof url, "%s%s", admin_url(), path);
	struct resp r;
	http_call(url, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body);
	return r.json;
}

static long admin_post(const char *channel, const char *body, struct resp *r)
{
	char url[256];
	snprintf(url, sizeof url, "%s/admin/channels/%s", admin_url(), channel);
	http_call(url, body, NULL, r);
	return r->status;
}

static void admin_set(const char *channel, const char *body)
{
	struct resp r;
	cr_assert_eq(admin_post(channel, body, &r), 200, "admin %s %s: %ld %s", channel, body,
		     r.status, r.body);
	resp_free(&r);
}

/* The books' payout of channel with this reference (a new reference), or NULL. */
static json_t *booked_payout(const char *channel, const char *ref)
{
	json_t *books = admin_get("/admin/books");
	json_t *list = json_object_get(
		json_object_get(json_object_get(books, "channels"), channel), "payouts");
	cr_assert(json_is_array(list), "no payouts in %s's books", channel);
	json_t *found = NULL, *p;
	size_t i;
	json_array_foreach(list, i, p) {
		if (strcmp(jstr(p, "reference"), ref) == 0)
			found = json_incref(p);
	}
	json_decref(books);
	return found;
}

static long callback_stat(const char *channel, const char *field)
{
	json_t *stats = admin_get("/admin/stats");
	json_t *cb = json_object_get(
		json_object_get(json_object_get(stats, "channels"), channel), "callbacks");
	long v = (long)json_integer_value(json_object_get(cb, field));
	json_decref(stats);
	return v;
}

/* ---- tests ---------------------------------------------------------------- */

Test(sim_bank, payout_goes_pending_in_transit_paid_with_signed_callbacks)
{
	struct resp r;
	payout("bank_a", "po_life", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(str(&r, "status"), "ACSP");
	cr_expect_str_eq(str(&r, "state"), "pending");
	cr_expect(json_is_null(json_object_get(r.json, "reason")), "%s", r.body);
	cr_expect(strncmp(str(&r, "trace_id"), "BANKA-", 6) == 0, "trace id %s", str(&r, "trace_id"));
	cr_expect_gt(json_integer_value(json_object_get(r.json, "expected_arrival_ms")),
		     (json_int_t)time(NULL) * 1000 - 1000);
	cr_expect(sig_valid("sba", r.sig, r.body, r.len), "answer signature '%s'", r.sig);
	char trace[64];
	snprintf(trace, sizeof trace, "%s", str(&r, "trace_id"));
	resp_free(&r);
	wait_state("bank_a", "po_life", "paid");
	query("bank_a", "po_life", &r);
	cr_expect_str_eq(str(&r, "status"), "ACSC");
	cr_expect_str_eq(str(&r, "trace_id"), trace);
	resp_free(&r);
	rx_wait(2);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "in_transit,paid");
	json_t *a = rx_get(0), *b = rx_get(1);
	cr_expect_str_eq(jstr(a, "type"), "payout.state");
	cr_expect_str_eq(jstr(a, "reference"), "po_life");
	cr_expect_str_eq(jstr(a, "status"), "ACSP");
	cr_expect_str_eq(jstr(b, "status"), "ACSC");
	cr_expect_str_eq(jstr(b, "trace_id"), trace);
	cr_expect_str_neq(jstr(a, "id"), jstr(b, "id"));
	cr_expect_leq(json_integer_value(json_object_get(a, "at_ms")),
		      json_integer_value(json_object_get(b, "at_ms")));
	json_decref(a);
	json_decref(b);
	json_t *p = booked_payout("bank_a", "po_life");
	cr_assert(p);
	cr_expect_str_eq(jstr(p, "account_last4"), "2233");
	cr_expect_str_eq(jstr(p, "state"), "paid");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
	json_t *books = admin_get("/admin/books");
	char *text = json_dumps(books, 0);
	cr_expect(!strstr(text, "6222020200112233"), "the full account number is in the books");
	free(text);
	json_decref(books);
	cr_expect_eq(callback_stat("bank_a", "sent"), 2);
}

Test(sim_bank, failed_ends_failed_with_its_reason)
{
	admin_set("bank_a", "{\"payout_outcomes\":{\"failed:AC04\":1}}");
	struct resp r;
	payout("bank_a", "po_fail", &r);
	cr_expect_str_eq(str(&r, "state"), "pending");
	resp_free(&r);
	wait_state("bank_a", "po_fail", "failed");
	query("bank_a", "po_fail", &r);
	cr_expect_str_eq(str(&r, "status"), "RJCT");
	cr_expect_str_eq(str(&r, "reason"), "AC04");
	resp_free(&r);
	rx_wait(2);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "in_transit,failed");
	json_t *last = rx_get(1);
	cr_expect_str_eq(jstr(last, "reason"), "AC04");
	json_decref(last);
}

Test(sim_bank, returned_is_paid_then_returned)
{
	admin_set("bank_a", "{\"payout_outcomes\":{\"returned:AC04\":1}}");
	struct resp r;
	payout("bank_a", "po_ret", &r);
	resp_free(&r);
	wait_state("bank_a", "po_ret", "returned");
	query("bank_a", "po_ret", &r);
	cr_expect_str_eq(str(&r, "status"), "RJCT");
	cr_expect_str_eq(str(&r, "reason"), "AC04");
	resp_free(&r);
	rx_wait(3);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "in_transit,paid,returned");
	json_t *p = booked_payout("bank_a", "po_ret");
	cr_expect_str_eq(jstr(p, "state"), "returned");
	cr_expect_str_eq(jstr(p, "reason"), "AC04");
	json_decref(p);
}

Test(sim_bank, stuck_stays_in_transit_until_released)
{
	admin_set("bank_a", "{\"payout_outcomes\":{\"stuck\":1}}");
	struct resp r;
	payout_as("bank_a", "po_stuck", "instant", ACCOUNT, &r);
	resp_free(&r);
	wait_state("bank_a", "po_stuck", "in_transit");
	rx_wait(1);
	/* well past its settle time (~30 ms for instant) it has not moved */
	poll(NULL, 0, BK_QUIET_MS);
	query("bank_a", "po_stuck", &r);
	cr_expect_str_eq(str(&r, "state"), "in_transit");
	cr_expect_str_eq(str(&r, "status"), "ACSP");
	resp_free(&r);
	cr_expect_eq(rx_count(), 1);
	cr_expect_eq(admin_post("bank_a", "{\"release_stuck\":\"stuck\"}", &r), 400);
	cr_expect_str_eq(str(&r, "field"), "release_stuck");
	resp_free(&r);
	admin_set("bank_a", "{\"release_stuck\":\"paid\"}");
	wait_state("bank_a", "po_stuck", "paid");
	rx_wait(2);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "in_transit,paid");
}

Test(sim_bank, query_of_an_unknown_reference_is_notf)
{
	struct resp r;
	query("bank_a", "po_nobody", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(str(&r, "status"), "RJCT");
	cr_expect_str_eq(str(&r, "reason"), "NOTF");
	cr_expect_str_eq(str(&r, "state"), "none");
	cr_expect(sig_valid("sba", r.sig, r.body, r.len));
	resp_free(&r);
}

Test(sim_bank, idempotent_rail_executes_once_the_other_twice)
{
	struct resp r1, r2;
	payout("bank_a", "po_dup", &r1);
	payout("bank_a", "po_dup", &r2);
	cr_expect_str_eq(str(&r1, "trace_id"), str(&r2, "trace_id"));
	cr_expect_str_eq(str(&r1, "channel_id"), str(&r2, "channel_id"));
	resp_free(&r1);
	resp_free(&r2);
	json_t *p = booked_payout("bank_a", "po_dup");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
	payout("bank_b", "po_dup", &r1);
	payout("bank_b", "po_dup", &r2);
	cr_expect_str_eq(str(&r2, "state"), "pending");
	cr_expect_str_neq(str(&r1, "trace_id"), str(&r2, "trace_id"));
	resp_free(&r1);
	resp_free(&r2);
	p = booked_payout("bank_b", "po_dup");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 2,
		     "the double payout must show");
	json_decref(p);
}

Test(sim_bank, duplicate_rate_1_sends_every_callback_twice)
{
	admin_set("bank_a", "{\"callback_duplicate_rate\":1}");
	struct resp r;
	payout("bank_a", "po_twice", &r);
	resp_free(&r);
	wait_state("bank_a", "po_twice", "paid");
	rx_wait(4);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "in_transit,in_transit,paid,paid");
	for (int i = 0; i < 4; i += 2) {
		json_t *a = rx_get(i), *b = rx_get(i + 1);
		cr_expect_str_eq(jstr(a, "id"), jstr(b, "id"));
		json_decref(a);
		json_decref(b);
	}
	json_t *a = rx_get(0), *c = rx_get(2);
	cr_expect_str_neq(jstr(a, "id"), jstr(c, "id"));
	json_decref(a);
	json_decref(c);
	cr_expect_eq(callback_stat("bank_a", "duplicated"), 2);
	cr_expect_eq(callback_stat("bank_a", "sent"), 4);
}

Test(sim_bank, drop_rate_1_sends_nothing_but_query_knows)
{
	admin_set("bank_a", "{\"callback_drop_rate\":1}");
	struct resp r;
	payout("bank_a", "po_quiet", &r);
	resp_free(&r);
	wait_state("bank_a", "po_quiet", "paid");
	poll(NULL, 0, BK_QUIET_MS);
	cr_expect_eq(rx_count(), 0);
	cr_expect_eq(callback_stat("bank_a", "dropped"), 2);
	cr_expect_eq(callback_stat("bank_a", "sent"), 0);
}

Test(sim_bank, late_rate_1_sends_in_transit_after_paid)
{
	admin_set("bank_a", "{\"callback_late_rate\":1}");
	struct resp r;
	payout("bank_a", "po_late", &r);
	resp_free(&r);
	wait_state("bank_a", "po_late", "paid");
	rx_wait(2);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "paid,in_transit");
	cr_expect_eq(callback_stat("bank_a", "held_back"), 1);
}

Test(sim_bank, slow_before_execution_is_pdng_then_executed)
{
	char body[128];
	snprintf(body, sizeof body, "{\"slow_rate\":1,\"slow_ms\":%d,\"slow_before_execution\":true}",
		 BK_SLOW_MS);
	admin_set("bank_a", body);
	struct resp r;
	client_timeout_ms = BK_GIVE_UP_MS;
	payout("bank_a", "po_slow", &r);
	client_timeout_ms = 30000;
	cr_expect_eq(r.curl_code, CURLE_OPERATION_TIMEDOUT, "curl code %d", r.curl_code);
	resp_free(&r);
	query("bank_a", "po_slow", &r);
	cr_expect_str_eq(str(&r, "status"), "PDNG", "%s", r.body);
	cr_expect_str_eq(str(&r, "state"), "pending");
	resp_free(&r);
	wait_state("bank_a", "po_slow", "paid");
	json_t *p = booked_payout("bank_a", "po_slow");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
}

Test(sim_bank, lost_answer_is_executed_anyway)
{
	admin_set("bank_b", "{\"lost_rate\":1}");
	struct resp r;
	payout("bank_b", "po_lost", &r);
	cr_expect_eq(r.curl_code, CURLE_GOT_NOTHING, "curl code %d status %ld", r.curl_code,
		     r.status);
	resp_free(&r);
	wait_state("bank_b", "po_lost", "paid");
	json_t *p = booked_payout("bank_b", "po_lost");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
}

Test(sim_bank, outage_503_executes_nothing)
{
	admin_set("bank_b", "{\"outage\":\"503\"}");
	struct resp r;
	payout("bank_b", "po_503", &r);
	cr_expect_eq(r.status, 503);
	resp_free(&r);
	cr_expect_null(booked_payout("bank_b", "po_503"));
	admin_set("bank_b", "{\"outage\":\"none\"}");
	query("bank_b", "po_503", &r);
	cr_expect_str_eq(str(&r, "state"), "none");
	resp_free(&r);
	cr_expect_eq(rx_count(), 0);
}

Test(sim_bank, bad_signature_is_401_and_executes_nothing)
{
	struct resp r;
	char body[512];
	snprintf(body, sizeof body,
		 "{\"reference\":\"po_sig\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"standard\","
		 "\"account\":%s}", ACCOUNT);
	signed_post_as("bank_a", "/v1/payout", body, "sbb", &r);
	cr_expect_eq(r.status, 401, "%ld %s", r.status, r.body);
	cr_expect_str_eq(str(&r, "error"), "signature_invalid");
	resp_free(&r);
	cr_expect_null(booked_payout("bank_a", "po_sig"));
}

Test(sim_bank, bad_fields_are_400_naming_them)
{
	const struct {
		const char *body, *param;
	} cases[] = {
		{"{\"reference\":\"po bad\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"standard\","
		 "\"account\":" ACCOUNT "}", "reference"},
		{"{\"reference\":\"po_b\",\"amount\":0,\"currency\":\"CNY\",\"method\":\"standard\","
		 "\"account\":" ACCOUNT "}", "amount"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"cny\",\"method\":\"standard\","
		 "\"account\":" ACCOUNT "}", "currency"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"express\","
		 "\"account\":" ACCOUNT "}", "method"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"standard\"}",
		 "account"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"instant\","
		 "\"account\":{\"holder_name\":\"\",\"number\":\"12345678\",\"bank_code\":\"X\","
		 "\"country\":\"CN\"}}", "account.holder_name"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"instant\","
		 "\"account\":{\"holder_name\":\"A\",\"number\":\"123\",\"bank_code\":\"X\","
		 "\"country\":\"CN\"}}", "account.number"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"instant\","
		 "\"account\":{\"holder_name\":\"A\",\"number\":\"1234-5678\",\"bank_code\":\"X\","
		 "\"country\":\"CN\"}}", "account.number"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"instant\","
		 "\"account\":{\"holder_name\":\"A\",\"number\":\"12345678\",\"bank_code\":\"\","
		 "\"country\":\"CN\"}}", "account.bank_code"},
		{"{\"reference\":\"po_b\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"instant\","
		 "\"account\":{\"holder_name\":\"A\",\"number\":\"12345678\",\"bank_code\":\"X\","
		 "\"country\":\"China\"}}", "account.country"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct resp r;
		post("bank_a", "/v1/payout", cases[i].body, &r);
		cr_expect_eq(r.status, 400, "%s: %ld", cases[i].body, r.status);
		cr_expect_str_eq(str(&r, "param"), cases[i].param, "%s: %s", cases[i].body, r.body);
		resp_free(&r);
	}
	cr_expect_null(booked_payout("bank_a", "po_b"));
	struct resp r;
	post("bank_a", "/v1/authorize", "{}", &r);
	cr_expect_eq(r.status, 404, "a bank does not authorize");
	resp_free(&r);
	post("acq_a", "/v1/payout", "{}", &r);
	cr_expect_eq(r.status, 404, "an acquirer does not pay out");
	resp_free(&r);
}

Test(sim_bank, admin_validates_bank_fields_whole_or_nothing)
{
	const struct {
		const char *channel, *body, *field;
	} cases[] = {
		{"bank_a", "{\"payout_outcomes\":{\"returned:ZZ99\":1}}", "payout_outcomes"},
		{"bank_a", "{\"payout_outcomes\":{\"failed:NOTF\":1}}", "payout_outcomes"},
		{"bank_a", "{\"payout_outcomes\":{\"paid\":0}}", "payout_outcomes"},
		{"bank_a", "{\"time_scale\":0}", "time_scale"},
		{"bank_a", "{\"settle_ms\":{\"min\":5,\"p50\":1,\"p99\":9}}", "settle_ms"},
		{"bank_a", "{\"return_after_ms\":{\"p99\":-1}}", "return_after_ms"},
		{"bank_a", "{\"callback_url\":\"ftp://x\"}", "callback_url"},
		{"bank_a", "{\"callback_late_rate\":1.5}", "callback_late_rate"},
		{"bank_a", "{\"outcomes\":{\"00\":1}}", "outcomes"},
		{"bank_a", "{\"time_scale\":5,\"callback_drop_rate\":3}", "callback_drop_rate"},
		{"bank_a", "{\"idempotent\":false}", "idempotent"},
		{"acq_a", "{\"payout_outcomes\":{\"paid\":1}}", "payout_outcomes"},
		{"acq_a", "{\"release_stuck\":\"paid\"}", "release_stuck"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct resp r;
		cr_expect_eq(admin_post(cases[i].channel, cases[i].body, &r), 400, "%s", cases[i].body);
		cr_expect_str_eq(str(&r, "field"), cases[i].field, "%s: %s", cases[i].body, r.body);
		resp_free(&r);
	}
	struct resp r;
	admin_post("bank_a", "{\"payout_outcomes\":{\"returned:ZZ99\":1}}", &r);
	cr_expect(strstr(str(&r, "message"), "unknown fate \"returned:ZZ99\""), "%s", r.body);
	resp_free(&r);
	admin_set("bank_a", "{\"time_scale\":60,\"payout_outcomes\":{\"paid\":9,\"stuck\":1},"
			    "\"callback_url\":null}");
	json_t *sc = admin_get("/admin/scenario");
	json_t *bank = json_array_get(json_object_get(sc, "channels"), 1);
	cr_expect_str_eq(jstr(bank, "kind"), "bank");
	cr_expect_eq(json_number_value(json_object_get(bank, "time_scale")), 60.0,
		     "the whole-or-nothing change must not have set time_scale 5");
	cr_expect_eq(json_integer_value(json_object_get(
			     json_object_get(bank, "payout_outcomes"), "stuck")), 1);
	cr_expect(json_is_null(json_object_get(bank, "callback_url")));
	cr_expect_null(json_object_get(bank, "outcomes"));
	cr_expect(json_is_object(json_object_get(bank, "return_after_ms")));
	json_decref(sc);
}

static int run_sim(const char *scenario_text, char *err, size_t cap)
{
	char path[BK_DIR_MAX + 32];
	snprintf(path, sizeof path, "%s/bad.json", S.dir);
	write_text(path, scenario_text);
	char *argv[] = {(char *)sim_bin(), "--scenario", path, "--listen", "127.0.0.1:0", NULL};
	char log_keep[sizeof S.log];
	memcpy(log_keep, S.log, sizeof log_keep);
	snprintf(S.log, sizeof S.log, "%s/bad.log", S.dir);
	pid_t pid = spawn(argv);
	int status = 0;
	waitpid(pid, &status, 0);
	FILE *f = fopen(S.log, "r");
	err[0] = '\0';
	if (f) {
		err[fread(err, 1, cap - 1, f)] = '\0';
		fclose(f);
	}
	memcpy(S.log, log_keep, sizeof log_keep);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(sim_bank, bad_bank_scenario_exits_2_naming_the_field)
{
	char err[2048];
	const char *bad = "{\"channels\":[{\"name\":\"a\",\"kind\":\"acquirer\",\"secret\":\"s\"},"
			  "{\"name\":\"b\",\"kind\":\"bank\",\"secret\":\"s\","
			  "\"payout_outcomes\":{\"paid\":1,\"returned:ZZ99\":1}}]}";
	cr_expect_eq(run_sim(bad, err, sizeof err), 2);
	cr_expect(strstr(err, "channels[1].payout_outcomes: unknown fate \"returned:ZZ99\""), "%s",
		  err);
	const char *release = "{\"channels\":[{\"name\":\"b\",\"kind\":\"bank\",\"secret\":\"s\","
			      "\"release_stuck\":\"paid\"}]}";
	cr_expect_eq(run_sim(release, err, sizeof err), 2);
	cr_expect(strstr(err, "channels[0].release_stuck:"), "%s", err);
}

Test(sim_bank, sigterm_is_prompt_with_callbacks_and_timers_pending)
{
	atomic_store(&RX.hang, true); /* the receiver never answers */
	admin_set("bank_b", "{\"time_scale\":1,\"transit_ms\":{\"min\":600000,\"p50\":600000,"
			    "\"p99\":600000}}");
	struct resp r;
	payout("bank_b", "po_later", &r);
	cr_expect_eq(r.status, 200);
	resp_free(&r);
	for (int i = 0; i < 3; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "po_hang%d", i);
		payout("bank_a", ref, &r);
		resp_free(&r);
	}
	int one = 1;
	cr_assert(poll_until(rx_has, &one, BK_WAIT_MS, BK_POLL_MS), "no callback came");
	long t0 = mono_ms();
	int status = sim_stop();
	long took = mono_ms() - t0;
	cr_expect(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_expect_lt(took, BK_PROMPT_STOP_MS, "SIGTERM took %ld ms", took);
}
