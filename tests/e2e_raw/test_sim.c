/* tests/e2e_raw/test_sim: payd-sim against its contract (docs/SIM_PROTOCOL.md).
 *
 * Each test starts its own `payd-sim` ($SIM_BIN, else build/payd-sim) on
 * free ports with the test scenario below written to a mkdtemp directory,
 * waits (bounded) for the ready file, drives the channels with signed
 * libcurl requests and reads the books through the admin endpoint.  .fini
 * stops it with SIGTERM and fails the test unless it exits 0 (under ASan,
 * leaks and memory errors surface there).  Waits are bounded polls. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "harness.h"

#define SIM_START_MS 20000
#define SIM_STOP_MS 20000
#define SIM_POLL_MS 10
#define SIM_SLOW_TEST_MS 1500
#define SIM_SLOW_WAIT_MS 20000
#define SIM_CLIENT_TIMEOUT_MS 300
#define SIM_BODY_CAP 4096
#define SIM_DIR_MAX 512

static const char scenario[] =
	"{\"seed\": 7, \"channels\": ["
	"{\"name\":\"acq_a\",\"kind\":\"acquirer\",\"secret\":\"sa\",\"idempotent\":true,"
	"\"latency_ms\":{\"min\":1,\"p50\":1,\"p99\":2},\"outcomes\":{\"00\":100}},"
	"{\"name\":\"acq_b\",\"kind\":\"acquirer\",\"secret\":\"sb\",\"idempotent\":false,"
	"\"latency_ms\":{\"min\":1,\"p50\":1,\"p99\":2},\"outcomes\":{\"00\":100}},"
	"{\"name\":\"alipay_sim\",\"kind\":\"wallet_a\",\"secret\":\"sw\",\"idempotent\":true,"
	"\"latency_ms\":{\"min\":1,\"p50\":1,\"p99\":2},\"outcomes\":{\"SUCCESS\":100}},"
	"{\"name\":\"wechat_sim\",\"kind\":\"wallet_b\",\"secret\":\"sx\",\"idempotent\":true,"
	"\"latency_ms\":{\"min\":1,\"p50\":1,\"p99\":2},\"outcomes\":{\"SUCCESS\":100}}]}";

static struct {
	char dir[SIM_DIR_MAX];
	char path[SIM_DIR_MAX + 32]; /* scenario */
	char ready[SIM_DIR_MAX + 32];
	char log[SIM_DIR_MAX + 32];
	pid_t pid;
	json_t *urls; /* the ready line */
} S;

struct resp {
	long status;
	int curl_code;
	char body[SIM_BODY_CAP];
	size_t len;
	char sig[256];
	json_t *json;
};

/* ---- process ------------------------------------------------------------ */

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
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

/* Runs payd-sim with argv; stdout to /dev/null, stderr to S.log. */
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

static void sim_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&S, 0, sizeof S);
	const char *tmp = getenv("TMPDIR");
	snprintf(S.dir, sizeof S.dir, "%s/payd-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(S.dir), "mkdtemp: %s", strerror(errno));
	snprintf(S.path, sizeof S.path, "%s/scenario.json", S.dir);
	snprintf(S.ready, sizeof S.ready, "%s/ready.json", S.dir);
	snprintf(S.log, sizeof S.log, "%s/sim.log", S.dir);
	write_text(S.path, scenario);
	char *argv[] = {(char *)sim_bin(), "--scenario", S.path, "--listen", "127.0.0.1:0",
			"--ready-file", S.ready, NULL};
	S.pid = spawn(argv);
	poll_until(ready_loaded, NULL, SIM_START_MS, SIM_POLL_MS);
	cr_assert(S.urls, "payd-sim (%s) wrote no ready file", sim_bin());
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
		return status;
	kill(S.pid, SIGTERM);
	long deadline = mono_ms() + SIM_STOP_MS;
	while (waitpid(S.pid, &status, WNOHANG) != S.pid) {
		if (mono_ms() > deadline) {
			kill(S.pid, SIGKILL);
			waitpid(S.pid, &status, 0);
			status = -2;
			break;
		}
		nap_ms(5);
	}
	S.pid = 0;
	return status;
}

static void sim_teardown(void)
{
	int status = sim_stop();
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

TestSuite(sim, .init = sim_setup, .fini = sim_teardown, .timeout = 90);

/* ---- HTTP --------------------------------------------------------------- */

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

/* One request; body NULL is a GET.  header: one extra header or NULL. */
static void http_call(const char *url, const char *body, const char *header, long timeout_ms,
		      struct resp *r)
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
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 30000L);
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

static void sig_of(const char *secret, long t, const char *body, char out[200])
{
	char msg[SIM_BODY_CAP + 32];
	int n = snprintf(msg, sizeof msg, "%ld.%s", t, body);
	uint8_t mac[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac);
	crypto_hex(mac, sizeof mac, hex);
	snprintf(out, 200, "t=%ld,v1=%s", t, hex);
}

static const char *secret_of(const char *channel)
{
	return strcmp(channel, "acq_a") == 0 ? "sa" : strcmp(channel, "acq_b") == 0 ? "sb"
		: strcmp(channel, "alipay_sim") == 0 ? "sw" : "sx";
}

static const char *channel_url(const char *channel)
{
	const char *u = json_string_value(json_object_get(json_object_get(S.urls, "channels"), channel));
	cr_assert(u, "no URL for channel %s in the ready file", channel);
	return u;
}

/* A POST to a channel signed with `secret` at now + skew_s. */
static void signed_post_as(const char *channel, const char *path, const char *body,
			   const char *secret, long skew_s, long timeout_ms, struct resp *r)
{
	char url[256], sig[200], header[256];
	snprintf(url, sizeof url, "%s%s", channel_url(channel), path);
	sig_of(secret, (long)time(NULL) + skew_s, body, sig);
	snprintf(header, sizeof header, "X-Payd-Signature: %s", sig);
	http_call(url, body, header, timeout_ms, r);
}

static void post(const char *channel, const char *path, const char *body, struct resp *r)
{
	signed_post_as(channel, path, body, secret_of(channel), 0, 0, r);
}

/* The answer's own signature, checked like payd does. */
static bool answer_signed(const struct resp *r, const char *secret)
{
	long t = 0;
	if (sscanf(r->sig, "t=%ld,", &t) != 1)
		return false;
	char want[200];
	sig_of(secret, t, r->body, want);
	return strcmp(want, r->sig) == 0 && labs((long)time(NULL) - t) <= 300;
}

static void authorize(const char *channel, const char *ref, long amount, bool capture,
		      const char *method, struct resp *r)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"amount\":%ld,\"currency\":\"USD\",\"capture\":%s,"
		 "\"method\":%s}",
		 ref, amount, capture ? "true" : "false", method);
	post(channel, "/v1/authorize", body, r);
}

#define CARD "{\"type\":\"card\",\"brand\":\"visa\",\"last4\":\"4242\",\"exp_month\":12,\"exp_year\":2030}"

static const char *str(const struct resp *r, const char *field)
{
	const char *s = json_string_value(json_object_get(r->json, field));
	return s ? s : "";
}

/* ---- admin -------------------------------------------------------------- */

static const char *admin_url(void)
{
	return json_string_value(json_object_get(S.urls, "admin"));
}

static json_t *admin_get(const char *path)
{
	char url[256];
	snprintf(url, sizeof url, "%s%s", admin_url(), path);
	struct resp r;
	http_call(url, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body);
	return r.json;
}

static long admin_post(const char *channel, const char *body, struct resp *r)
{
	char url[256];
	snprintf(url, sizeof url, "%s/admin/channels/%s", admin_url(), channel);
	http_call(url, body, NULL, 0, r);
	return r->status;
}

static void admin_set(const char *channel, const char *body)
{
	struct resp r;
	cr_assert_eq(admin_post(channel, body, &r), 200, "admin %s %s: %ld %s", channel, body,
		     r.status, r.body);
	resp_free(&r);
}

/* Charges in channel's books with this reference; *state gets the last's. */
static int charges_with(const char *channel, const char *ref, char state[32])
{
	json_t *books = admin_get("/admin/books");
	json_t *charges = json_object_get(
		json_object_get(json_object_get(books, "channels"), channel), "charges");
	cr_assert(json_is_array(charges), "no books for %s", channel);
	int n = 0;
	size_t i;
	json_t *c;
	json_array_foreach(charges, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "reference")), ref) == 0) {
			n++;
			if (state)
				snprintf(state, 32, "%s", json_string_value(json_object_get(c, "state")));
		}
	}
	json_decref(books);
	return n;
}

/* ---- tests -------------------------------------------------------------- */

Test(sim, authorize_capture_is_signed_and_booked)
{
	struct resp r;
	authorize("acq_a", "ch_cap1", 1000, true, CARD, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(str(&r, "code"), "00");
	cr_expect_str_eq(str(&r, "state"), "captured");
	cr_expect_eq(json_integer_value(json_object_get(r.json, "captured_amount")), 1000);
	cr_expect(answer_signed(&r, "sa"), "answer signature '%s' does not verify", r.sig);
	resp_free(&r);
	char state[32] = "";
	cr_assert_eq(charges_with("acq_a", "ch_cap1", state), 1);
	cr_expect_str_eq(state, "captured");
	/* query says the same */
	post("acq_a", "/v1/query", "{\"reference\":\"ch_cap1\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "00");
	cr_expect_str_eq(str(&r, "state"), "captured");
	resp_free(&r);
}

Test(sim, bad_signatures_are_401_and_execute_nothing)
{
	struct resp r;
	const char *body = "{\"reference\":\"ch_sig\",\"amount\":500,\"currency\":\"USD\","
			   "\"capture\":true,\"method\":" CARD "}";
	signed_post_as("acq_a", "/v1/authorize", body, "not-the-secret", 0, 0, &r);
	cr_expect_eq(r.status, 401, "%ld %s", r.status, r.body);
	cr_expect_str_eq(str(&r, "error"), "signature_invalid");
	resp_free(&r);
	signed_post_as("acq_a", "/v1/authorize", body, "sa", -301, 0, &r);
	cr_expect_eq(r.status, 401, "old timestamp: %ld %s", r.status, r.body);
	resp_free(&r);
	signed_post_as("acq_a", "/v1/authorize", body, "sa", 301, 0, &r);
	cr_expect_eq(r.status, 401, "future timestamp: %ld %s", r.status, r.body);
	resp_free(&r);
	char url[256];
	snprintf(url, sizeof url, "%s/v1/authorize", channel_url("acq_a"));
	http_call(url, body, NULL, 0, &r);
	cr_expect_eq(r.status, 401, "no signature: %ld", r.status);
	resp_free(&r);
	cr_expect_eq(charges_with("acq_a", "ch_sig", NULL), 0);
	json_t *stats = admin_get("/admin/stats");
	json_t *fails = json_object_get(
		json_object_get(json_object_get(stats, "channels"), "acq_a"), "signature_failures");
	cr_expect_eq(json_integer_value(fails), 4);
	json_decref(stats);
}

Test(sim, idempotent_channel_executes_once_the_other_twice)
{
	struct resp r1, r2;
	authorize("acq_a", "ch_dup", 700, true, CARD, &r1);
	authorize("acq_a", "ch_dup", 700, true, CARD, &r2);
	cr_expect_eq(r1.status, 200);
	cr_expect_str_eq(str(&r1, "channel_id"), str(&r2, "channel_id"));
	resp_free(&r1);
	resp_free(&r2);
	cr_expect_eq(charges_with("acq_a", "ch_dup", NULL), 1);
	authorize("acq_b", "ch_dup", 700, true, CARD, &r1);
	authorize("acq_b", "ch_dup", 700, true, CARD, &r2);
	cr_expect_str_neq(str(&r1, "channel_id"), str(&r2, "channel_id"));
	resp_free(&r1);
	resp_free(&r2);
	cr_expect_eq(charges_with("acq_b", "ch_dup", NULL), 2, "the double charge must show");
}

Test(sim, unknown_reference_is_not_found_in_each_vocabulary)
{
	const char *chans[] = {"acq_a", "alipay_sim", "wechat_sim"};
	const char *codes[] = {"25", "ACQ.TRADE_NOT_EXIST", "ORDERNOTEXIST"};
	for (int i = 0; i < 3; i++) {
		struct resp r;
		post(chans[i], "/v1/query", "{\"reference\":\"ch_nobody\"}", &r);
		cr_expect_eq(r.status, 200);
		cr_expect_str_eq(str(&r, "code"), codes[i], "%s", chans[i]);
		cr_expect_str_eq(str(&r, "state"), "none");
		resp_free(&r);
		post(chans[i], "/v1/query_refund", "{\"reference\":\"re_nobody\"}", &r);
		cr_expect_str_eq(str(&r, "code"), codes[i], "%s refund", chans[i]);
		cr_expect_str_eq(str(&r, "state"), "none");
		resp_free(&r);
	}
}

Test(sim, stripe_test_card_forces_the_code)
{
	struct resp r;
	authorize("acq_a", "ch_9995", 1000, true,
		  "{\"type\":\"card\",\"brand\":\"visa\",\"last4\":\"9995\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "51");
	cr_expect_str_eq(str(&r, "state"), "declined");
	resp_free(&r);
	char state[32] = "";
	cr_expect_eq(charges_with("acq_a", "ch_9995", state), 1);
	cr_expect_str_eq(state, "declined");
}

Test(sim, outage_refuse_then_back_on_the_same_port)
{
	struct resp r;
	admin_set("acq_a", "{\"outage\":\"refuse\"}");
	authorize("acq_a", "ch_out1", 100, true, CARD, &r);
	cr_expect_eq(r.curl_code, CURLE_COULDNT_CONNECT, "curl code %d, status %ld", r.curl_code,
		     r.status);
	resp_free(&r);
	cr_expect_eq(charges_with("acq_a", "ch_out1", NULL), 0);
	admin_set("acq_a", "{\"outage\":\"none\"}");
	authorize("acq_a", "ch_out2", 100, true, CARD, &r); /* the URL of the ready line */
	cr_expect_eq(r.status, 200, "curl %d status %ld", r.curl_code, r.status);
	cr_expect_str_eq(str(&r, "code"), "00");
	resp_free(&r);
}

Test(sim, outage_503_executes_nothing)
{
	struct resp r;
	admin_set("acq_b", "{\"outage\":\"503\"}");
	authorize("acq_b", "ch_503", 100, true, CARD, &r);
	cr_expect_eq(r.status, 503);
	resp_free(&r);
	char url[256];
	snprintf(url, sizeof url, "%s/v1/health", channel_url("acq_b"));
	http_call(url, NULL, NULL, 0, &r);
	cr_expect_eq(r.status, 503);
	resp_free(&r);
	cr_expect_eq(charges_with("acq_b", "ch_503", NULL), 0);
}

Test(sim, lost_answer_is_executed_anyway)
{
	struct resp r;
	admin_set("acq_a", "{\"lost_rate\":1}");
	authorize("acq_a", "ch_lost", 300, true, CARD, &r);
	cr_expect_eq(r.curl_code, CURLE_GOT_NOTHING, "curl code %d status %ld", r.curl_code,
		     r.status);
	resp_free(&r);
	char state[32] = "";
	cr_expect_eq(charges_with("acq_a", "ch_lost", state), 1);
	cr_expect_str_eq(state, "captured");
}

struct query_wait {
	const char *want;
	char got[32];
};

static bool query_state_is(void *ctx)
{
	struct query_wait *w = ctx;
	struct resp r;
	post("acq_a", "/v1/query", "{\"reference\":\"ch_slow\"}", &r);
	snprintf(w->got, sizeof w->got, "%s", str(&r, "state"));
	resp_free(&r);
	return strcmp(w->got, w->want) == 0;
}

Test(sim, slow_before_execution_is_processing_then_captured)
{
	char body[64];
	snprintf(body, sizeof body, "{\"slow_rate\":1,\"slow_ms\":%d,\"slow_before_execution\":true}",
		 SIM_SLOW_TEST_MS);
	admin_set("acq_a", body);
	struct resp r;
	char auth[512];
	snprintf(auth, sizeof auth,
		 "{\"reference\":\"ch_slow\",\"amount\":900,\"currency\":\"USD\",\"capture\":true,"
		 "\"method\":%s}", CARD);
	/* payd's side gives up before the answer: the outcome is unknown. */
	signed_post_as("acq_a", "/v1/authorize", auth, "sa", 0, SIM_CLIENT_TIMEOUT_MS, &r);
	cr_expect_eq(r.curl_code, CURLE_OPERATION_TIMEDOUT, "curl code %d", r.curl_code);
	resp_free(&r);
	struct query_wait w = {.want = "processing"};
	cr_assert(poll_until(query_state_is, &w, SIM_SLOW_TEST_MS / 2, SIM_POLL_MS),
		  "query said %s, not processing", w.got);
	w.want = "captured";
	cr_assert(poll_until(query_state_is, &w, SIM_SLOW_WAIT_MS, SIM_POLL_MS),
		  "query still says %s", w.got);
	cr_expect_eq(charges_with("acq_a", "ch_slow", NULL), 1);
}

static void refund(const char *ref, long amount, struct resp *r)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"payment_reference\":\"ch_ref\",\"amount\":%ld,"
		 "\"currency\":\"USD\"}", ref, amount);
	post("acq_a", "/v1/refund", body, r);
}

Test(sim, refunds_and_captures_stay_within_the_money)
{
	struct resp r;
	authorize("acq_a", "ch_ref", 1000, false, CARD, &r);
	cr_expect_str_eq(str(&r, "state"), "authorized");
	resp_free(&r);
	refund("re_early", 100, &r);
	cr_expect_str_eq(str(&r, "code"), "12", "nothing captured yet");
	cr_expect_str_eq(str(&r, "state"), "failed");
	resp_free(&r);
	post("acq_a", "/v1/capture", "{\"reference\":\"ch_ref\",\"amount\":1500}", &r);
	cr_expect_str_eq(str(&r, "code"), "12", "capture over the authorization");
	resp_free(&r);
	post("acq_b", "/v1/authorize",
	     "{\"reference\":\"ch_x\",\"amount\":10,\"currency\":\"USD\",\"capture\":false,"
	     "\"method\":" CARD "}", &r);
	resp_free(&r);
	post("acq_b", "/v1/capture", "{\"reference\":\"ch_x\",\"amount\":10}", &r);
	cr_expect_str_eq(str(&r, "code"), "00");
	resp_free(&r);
	post("acq_a", "/v1/capture", "{\"reference\":\"ch_ref\",\"amount\":1000}", &r);
	cr_expect_str_eq(str(&r, "code"), "00");
	cr_expect_str_eq(str(&r, "state"), "captured");
	resp_free(&r);
	refund("re_1", 600, &r);
	cr_expect_str_eq(str(&r, "code"), "00");
	cr_expect_str_eq(str(&r, "state"), "succeeded");
	resp_free(&r);
	refund("re_2", 500, &r);
	cr_expect_str_eq(str(&r, "code"), "12", "over captured minus refunded");
	cr_expect_str_eq(str(&r, "state"), "failed");
	resp_free(&r);
	refund("re_3", 400, &r);
	cr_expect_str_eq(str(&r, "state"), "succeeded");
	resp_free(&r);
	post("acq_a", "/v1/query", "{\"reference\":\"ch_ref\"}", &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "refunded_amount")), 1000);
	resp_free(&r);
	post("acq_a", "/v1/query_refund", "{\"reference\":\"re_2\"}", &r);
	cr_expect_str_eq(str(&r, "state"), "failed");
	resp_free(&r);
	post("acq_a", "/v1/void", "{\"reference\":\"ch_ref\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "12", "a captured payment is not voided");
	resp_free(&r);
}

Test(sim, wallet_vocabularies)
{
	struct resp r;
	authorize("alipay_sim", "ch_ali0", 100, true, "{\"type\":\"alipay\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "SUCCESS");
	cr_expect(answer_signed(&r, "sw"));
	resp_free(&r);
	admin_set("alipay_sim", "{\"outcomes\":{\"ACQ.BUYER_BALANCE_NOT_ENOUGH\":100}}");
	admin_set("wechat_sim", "{\"outcomes\":{\"NOTENOUGH\":100}}");
	authorize("alipay_sim", "ch_ali1", 100, true, "{\"type\":\"alipay\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
	cr_expect_str_eq(str(&r, "state"), "declined");
	resp_free(&r);
	authorize("wechat_sim", "ch_wx1", 100, true, "{\"type\":\"wechat_pay\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "NOTENOUGH");
	cr_expect_str_eq(str(&r, "message"), "Balance not enough");
	cr_expect_str_eq(str(&r, "state"), "declined");
	resp_free(&r);
	admin_set("wechat_sim", "{\"outcomes\":{\"SYSTEMERROR\":100}}");
	authorize("wechat_sim", "ch_wx2", 100, true, "{\"type\":\"wechat_pay\"}", &r);
	cr_expect_str_eq(str(&r, "code"), "SYSTEMERROR");
	cr_expect_str_eq(str(&r, "state"), "none", "not executed");
	resp_free(&r);
	cr_expect_eq(charges_with("wechat_sim", "ch_wx2", NULL), 0);
}

Test(sim, admin_refuses_bad_fields)
{
	const struct {
		const char *body, *field;
	} cases[] = {
		{"{\"slow_rate\":2}", "slow_rate"},
		{"{\"outcomes\":{\"77\":1}}", "outcomes"},
		{"{\"outcomes\":{\"SUCCESS\":1}}", "outcomes"},
		{"{\"outage\":\"sometimes\"}", "outage"},
		{"{\"latency_ms\":{\"min\":5,\"p50\":1,\"p99\":2}}", "latency_ms"},
		{"{\"secret\":\"new\"}", "secret"},
		{"{\"colour\":\"red\"}", "colour"},
		{"[1]", "body"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct resp r;
		cr_expect_eq(admin_post("acq_a", cases[i].body, &r), 400, "%s", cases[i].body);
		cr_expect_str_eq(str(&r, "field"), cases[i].field, "%s: %s", cases[i].body, r.body);
		resp_free(&r);
	}
	struct resp r;
	cr_expect_eq(admin_post("nope", "{}", &r), 404);
	resp_free(&r);
	char url[256];
	snprintf(url, sizeof url, "%s/admin/nothing", admin_url());
	http_call(url, NULL, NULL, 0, &r);
	cr_expect_eq(r.status, 404);
	resp_free(&r);
	/* nothing changed: the mix is still 100% approvals */
	json_t *sc = admin_get("/admin/scenario");
	json_t *mix = json_object_get(json_array_get(json_object_get(sc, "channels"), 0), "outcomes");
	cr_expect_eq(json_integer_value(json_object_get(mix, "00")), 100);
	cr_expect_eq(json_object_size(mix), 1);
	json_decref(sc);
}

static int run_sim(const char *scenario_text, const char *flag, char *err, size_t cap)
{
	char path[SIM_DIR_MAX + 32];
	snprintf(path, sizeof path, "%s/bad.json", S.dir);
	write_text(path, scenario_text);
	char *argv[] = {(char *)sim_bin(), "--scenario", path, "--listen", "127.0.0.1:0",
			(char *)flag, NULL};
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

Test(sim, bad_scenario_and_flags_exit_2)
{
	char err[2048];
	const char *bad = "{\"channels\":[{\"name\":\"a\",\"kind\":\"acquirer\",\"secret\":\"s\"},"
			  "{\"name\":\"b\",\"kind\":\"acquirer\",\"secret\":\"s\","
			  "\"outcomes\":{\"77\":1}}]}";
	cr_expect_eq(run_sim(bad, NULL, err, sizeof err), 2);
	cr_expect(strstr(err, "channels[1].outcomes: unknown code \"77\" for kind acquirer"), "%s",
		  err);
	cr_expect_eq(run_sim(scenario, "--bogus", err, sizeof err), 2);
	cr_expect(strstr(err, "usage:"), "%s", err);
}

#define SIM_REPLAY_N 24

/* SIM_REPLAY_N sequential authorizations on acq_a with a 50/50 mix: the
 * string of answered codes ("0051005100..."). */
static void draw_codes(char out[2 * SIM_REPLAY_N + 1])
{
	admin_set("acq_a", "{\"outcomes\":{\"00\":1,\"51\":1}}");
	out[0] = '\0';
	for (int i = 0; i < SIM_REPLAY_N; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "ch_seed%d", i);
		struct resp r;
		authorize("acq_a", ref, 100, true, CARD, &r);
		cr_assert_eq(strlen(str(&r, "code")), 2, "%s", r.body);
		strcat(out, str(&r, "code"));
		resp_free(&r);
	}
}

Test(sim, a_seed_replays_the_same_outcomes)
{
	char first[2 * SIM_REPLAY_N + 1], second[2 * SIM_REPLAY_N + 1];
	draw_codes(first);
	cr_expect(strstr(first, "00") && strstr(first, "51"), "a 50/50 mix gave %s", first);
	cr_assert_eq(sim_stop(), 0);
	json_decref(S.urls);
	S.urls = NULL;
	remove(S.ready);
	char *argv[] = {(char *)sim_bin(), "--scenario", S.path, "--listen", "127.0.0.1:0",
			"--ready-file", S.ready, NULL};
	S.pid = spawn(argv);
	poll_until(ready_loaded, NULL, SIM_START_MS, SIM_POLL_MS);
	cr_assert(S.urls, "payd-sim did not restart");
	draw_codes(second);
	cr_expect_str_eq(first, second, "the same seed must replay the same mix");
}
