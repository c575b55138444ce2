/* tests/e2e_raw/test_bank_rail: payd's bank rail channel (channel/bank.c,
 * through channel_new and the dispatcher) against the real payd-sim.
 *
 * Each test starts its own payd-sim ($SIM_BIN, else build/payd-sim) with
 * one bank channel in a mkdtemp directory, makes a payd `struct channel`
 * of kind bank for it and a dispatcher, and drives payouts the way the
 * engine will: PAYOUT, then QUERY_PAYOUT polled (bounded) until the rail
 * says how it ended.  A tiny HTTP receiver (plain sockets, its own thread)
 * stands in for payd's callback endpoint: it keeps each callback's body
 * and X-Payd-Signature, which parse_callback must accept.  .fini stops
 * payd-sim with SIGTERM and fails unless it exits 0. */
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

#include "channel/channel.h"
#include "core/catalog.h"
#include "harness.h"

#define BR_START_MS 20000
#define BR_STOP_MS 20000
#define BR_POLL_MS 5
#define BR_WAIT_MS 15000   /* longest wait for a result, a state or a callback */
#define BR_DIR_MAX 512
#define BR_SECRET "s3cret-bank-a"
#define BR_TIMEOUT_MS 5000 /* the channel's timeout */
#define RX_MAX 32
#define RX_REQ_MAX 8192
#define RX_SIG_MAX 256
#define RX_IO_TIMEOUT_S 2
#define RX_POLL_MS 50

/* In transit ~20 ms after acceptance, fate at ~60 ms, a return ~500 ms
 * after paid (time_scale 1000 over scenario seconds). */
static const char scenario[] =
	"{\"seed\": 5, \"channels\": ["
	"{\"name\":\"bank_a\",\"kind\":\"bank\",\"secret\":\"" BR_SECRET "\",\"idempotent\":true,"
	"\"time_scale\":1000,\"transit_ms\":{\"min\":20000,\"p50\":20000,\"p99\":20000},"
	"\"settle_ms\":{\"min\":60000,\"p50\":60000,\"p99\":60000},"
	"\"instant_settle_ms\":{\"min\":30000,\"p50\":30000,\"p99\":30000},"
	"\"return_after_ms\":{\"min\":500000,\"p50\":500000,\"p99\":500000},"
	"\"latency_ms\":{\"min\":1,\"p50\":1,\"p99\":2},\"payout_outcomes\":{\"paid\":100}}]}";

/* ---- payd-sim ---------------------------------------------------------------- */

static struct {
	char dir[BR_DIR_MAX];
	char path[BR_DIR_MAX + 32];
	char ready[BR_DIR_MAX + 32];
	char log[BR_DIR_MAX + 32];
	pid_t pid;
	json_t *urls;
	struct channel *ch;
	struct channel_dispatch *disp;
} S;

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

static int sim_stop(void)
{
	int status = -1;
	if (S.pid <= 0)
		return status;
	kill(S.pid, SIGTERM);
	long deadline = mono_ms() + BR_STOP_MS;
	while (waitpid(S.pid, &status, WNOHANG) != S.pid) {
		if (mono_ms() > deadline) {
			kill(S.pid, SIGKILL);
			waitpid(S.pid, &status, 0);
			status = -2;
			break;
		}
		poll(NULL, 0, BR_POLL_MS);
	}
	S.pid = 0;
	return status;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static const char *admin_url(void)
{
	return json_string_value(json_object_get(S.urls, "admin"));
}

static void admin_set(const char *body)
{
	struct http_req req = {.method = "POST", .path = "/admin/channels/bank_a", .body = body,
			       .content_type = "application/json"};
	struct http_resp r;
	http_do(admin_url(), &req, &r);
	cr_assert_eq(r.status, 200, "admin %s: %ld %s", body, r.status, r.body ? r.body : "");
	http_resp_free(&r);
}

/* ---- the callback receiver ------------------------------------------------- */

static struct {
	int fd;
	uint16_t port;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t mu;
	int n;
	char *bodies[RX_MAX];
	size_t lens[RX_MAX];
	char sigs[RX_MAX][RX_SIG_MAX];
} RX = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

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

/* Reads one request and keeps its body and signature. */
static void rx_read(int c)
{
	char buf[RX_REQ_MAX + 1];
	size_t len = 0;
	char *end = NULL;
	long want = -1;
	while (len < RX_REQ_MAX) {
		ssize_t k = read(c, buf + len, RX_REQ_MAX - len);
		if (k <= 0)
			return;
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
	if (!end || want < 0)
		return;
	pthread_mutex_lock(&RX.mu);
	if (RX.n < RX_MAX) {
		rx_header(buf, "X-Payd-Signature", RX.sigs[RX.n], RX_SIG_MAX);
		RX.bodies[RX.n] = strndup(end + 4, (size_t)want);
		RX.lens[RX.n++] = (size_t)want;
	}
	pthread_mutex_unlock(&RX.mu);
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
		struct timeval tv = {RX_IO_TIMEOUT_S, 0};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		rx_read(c);
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

static bool rx_has(void *ctx)
{
	pthread_mutex_lock(&RX.mu);
	bool ok = RX.n >= *(int *)ctx;
	pthread_mutex_unlock(&RX.mu);
	return ok;
}

/* ---- payd's side: the channel and the dispatcher ---------------------------------- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	struct channel_result res;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void on_done(void *ctx, const struct channel_result *res, int64_t latency_ns)
{
	(void)ctx, (void)latency_ns;
	pthread_mutex_lock(&R.mu);
	R.res = *res;
	R.done++;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

/* One call through the dispatcher; its result (bounded wait). */
static struct channel_result call(const struct channel_request *req)
{
	pthread_mutex_lock(&R.mu);
	int want = R.done + 1;
	pthread_mutex_unlock(&R.mu);
	channel_dispatch_send(S.disp, S.ch, req, on_done, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += BR_WAIT_MS / 1000;
	pthread_mutex_lock(&R.mu);
	int rc = 0;
	while (R.done < want && rc == 0)
		rc = pthread_cond_timedwait(&R.cv, &R.mu, &ts);
	struct channel_result res = R.res;
	bool ok = R.done >= want;
	pthread_mutex_unlock(&R.mu);
	cr_assert(ok, "no result within %d ms", BR_WAIT_MS);
	return res;
}

static struct channel_result payout(const char *reference)
{
	struct channel_payout dest;
	memset(&dest, 0, sizeof dest);
	snprintf(dest.holder_name, sizeof dest.holder_name, "Zhang Wei");
	snprintf(dest.number, sizeof dest.number, "6222020200112233");
	snprintf(dest.bank_code, sizeof dest.bank_code, "ICBC");
	memcpy(dest.country, "CN", 3);
	struct channel_request req = {.op = CH_OP_PAYOUT, .amount = 5000, .currency = "CNY",
				      .payout = &dest};
	snprintf(req.reference, sizeof req.reference, "%s", reference);
	struct channel_result res = call(&req);
	explicit_bzero(&dest, sizeof dest);
	return res;
}

static struct channel_result query(const char *reference)
{
	struct channel_request req = {.op = CH_OP_QUERY_PAYOUT};
	snprintf(req.reference, sizeof req.reference, "%s", reference);
	return call(&req);
}

struct until {
	const char *reference;
	enum channel_payout_state want;
	struct channel_result last;
};

static bool reached(void *ctx)
{
	struct until *u = ctx;
	u->last = query(u->reference);
	return u->last.payout_state == u->want &&
	       (u->last.outcome == CH_SUCCEEDED || u->last.outcome == CH_DECLINED);
}

/* QUERY_PAYOUT until the payout is in state want (bounded); the last answer. */
static struct channel_result query_until(const char *reference, enum channel_payout_state want)
{
	struct until u = {reference, want, {0}};
	bool ok = poll_until(reached, &u, BR_WAIT_MS, BR_POLL_MS);
	cr_assert(ok, "%s: state %d (outcome %d, raw %s), not %d", reference,
		  (int)u.last.payout_state, (int)u.last.outcome, u.last.raw_code, (int)want);
	return u.last;
}

/* ---- suite ------------------------------------------------------------------------ */

static void rail_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&S, 0, sizeof S);
	const char *tmp = getenv("TMPDIR");
	snprintf(S.dir, sizeof S.dir, "%s/payd-bank-rail-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(S.dir), "mkdtemp: %s", strerror(errno));
	snprintf(S.path, sizeof S.path, "%s/scenario.json", S.dir);
	snprintf(S.ready, sizeof S.ready, "%s/ready.json", S.dir);
	snprintf(S.log, sizeof S.log, "%s/sim.log", S.dir);
	FILE *f = fopen(S.path, "w");
	cr_assert(f);
	fputs(scenario, f);
	fclose(f);
	char *argv[] = {(char *)sim_bin(), "--scenario", S.path, "--listen", "127.0.0.1:0",
			"--ready-file", S.ready, NULL};
	S.pid = spawn(argv);
	poll_until(ready_loaded, NULL, BR_START_MS, BR_POLL_MS);
	cr_assert(S.urls, "payd-sim (%s) wrote no ready file", sim_bin());

	struct channel_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "bank_a");
	snprintf(cfg.kind, sizeof cfg.kind, "bank");
	snprintf(cfg.url, sizeof cfg.url, "%s",
		 json_string_value(json_object_get(json_object_get(S.urls, "channels"), "bank_a")));
	snprintf(cfg.secret, sizeof cfg.secret, BR_SECRET);
	cfg.timeout_ms = BR_TIMEOUT_MS;
	cfg.methods = CH_CAP_PAYOUT;
	char err[128];
	S.ch = channel_new(&cfg, err, sizeof err);
	cr_assert_not_null(S.ch, "%s", err);
	cr_assert_eq(channel_dispatch_start(&S.disp), 0);
	rx_start();
	char body[128];
	snprintf(body, sizeof body, "{\"callback_url\":\"http://127.0.0.1:%u/cb\"}", RX.port);
	admin_set(body);
}

static void rail_teardown(void)
{
	channel_dispatch_stop(S.disp);
	S.disp = NULL;
	if (S.ch)
		S.ch->ops->destroy(S.ch);
	S.ch = NULL;
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

TestSuite(bank_rail, .init = rail_setup, .fini = rail_teardown, .timeout = 90);

/* ---- tests -------------------------------------------------------------------------- */

Test(bank_rail, payout_is_accepted_then_polled_until_paid)
{
	struct channel_result r = payout("po_paid");
	cr_assert_eq(r.outcome, CH_SUCCEEDED, "raw %s %s", r.raw_code, r.raw_message);
	cr_assert_eq(r.payout_state, CH_PO_PENDING);
	cr_assert_str_eq(r.raw_code, "ACSP");
	cr_assert(strncmp(r.trace_id, "BANKA-", 6) == 0, "trace id %s", r.trace_id);
	cr_assert_gt(r.expected_arrival_ms, (int64_t)time(NULL) * 1000 - 1000);
	char trace[PAYOUT_TRACE_MAX];
	snprintf(trace, sizeof trace, "%s", r.trace_id);
	r = query_until("po_paid", CH_PO_PAID);
	cr_assert_eq(r.outcome, CH_SUCCEEDED);
	cr_assert_eq(r.code, 0);
	cr_assert_str_eq(r.raw_code, "ACSC");
	cr_assert_str_eq(r.trace_id, trace);
	cr_assert_eq(r.amount, 5000);
	cr_assert_str_eq(r.reason, "");
}

Test(bank_rail, failed_ac04_is_declined_603)
{
	admin_set("{\"payout_outcomes\":{\"failed:AC04\":1}}");
	struct channel_result r = payout("po_fail");
	cr_assert_eq(r.outcome, CH_SUCCEEDED, "accepted first: raw %s", r.raw_code);
	cr_assert_eq(r.payout_state, CH_PO_PENDING);
	r = query_until("po_fail", CH_PO_FAILED);
	cr_assert_eq(r.outcome, CH_DECLINED);
	cr_assert_eq(r.code, CAT_PAYOUT_ACCOUNT_CLOSED);
	cr_assert_eq(r.code, 603);
	cr_assert_str_eq(r.reason, "AC04");
	cr_assert_str_eq(r.raw_code, "RJCT:AC04");
}

Test(bank_rail, returned_ac04_is_paid_then_returned_605)
{
	admin_set("{\"payout_outcomes\":{\"returned:AC04\":1}}");
	struct channel_result r = payout("po_ret");
	cr_assert_eq(r.outcome, CH_SUCCEEDED, "raw %s", r.raw_code);
	r = query_until("po_ret", CH_PO_PAID);
	cr_assert_eq(r.outcome, CH_SUCCEEDED);
	cr_assert_str_eq(r.raw_code, "ACSC");
	r = query_until("po_ret", CH_PO_RETURNED);
	cr_assert_eq(r.outcome, CH_DECLINED);
	cr_assert_eq(r.code, 605);
	cr_assert_str_eq(r.reason, "AC04");
	cr_assert_str_eq(r.raw_code, "RJCT:AC04");
}

Test(bank_rail, outage_503_is_not_executed_201)
{
	admin_set("{\"outage\":\"503\"}");
	struct channel_result r = payout("po_out");
	cr_assert_eq(r.outcome, CH_NOT_EXECUTED, "raw %s", r.raw_code);
	cr_assert_eq(r.code, 201);
	cr_assert_str_eq(r.raw_code, "HTTP_503");
	r = query("po_out");
	cr_assert_eq(r.outcome, CH_NOT_EXECUTED);
	cr_assert_eq(r.code, 201);
	admin_set("{\"outage\":\"none\"}");
	r = query("po_out");
	cr_assert_eq(r.outcome, CH_NOT_FOUND, "nothing was executed: raw %s", r.raw_code);
	cr_assert_eq(r.payout_state, CH_PO_NONE);
	cr_assert_str_eq(r.raw_code, "RJCT:NOTF");
}

Test(bank_rail, query_of_an_unknown_reference_is_not_found)
{
	struct channel_result r = query("po_never");
	cr_assert_eq(r.outcome, CH_NOT_FOUND, "raw %s", r.raw_code);
	cr_assert_eq(r.payout_state, CH_PO_NONE);
}

Test(bank_rail, callbacks_parse_into_their_states)
{
	struct channel_result r = payout("po_cb");
	cr_assert_eq(r.outcome, CH_SUCCEEDED, "raw %s", r.raw_code);
	int two = 2;
	cr_assert(poll_until(rx_has, &two, BR_WAIT_MS, BR_POLL_MS), "callbacks: %d", RX.n);
	const enum channel_payout_state want[] = {CH_PO_IN_TRANSIT, CH_PO_PAID};
	const char *raw[] = {"ACSP", "ACSC"};
	for (int i = 0; i < 2; i++) {
		struct channel_callback cb;
		pthread_mutex_lock(&RX.mu);
		int rc = S.ch->ops->parse_callback(S.ch, RX.bodies[i], RX.lens[i], RX.sigs[i],
						   (int64_t)time(NULL), &cb);
		pthread_mutex_unlock(&RX.mu);
		cr_assert_eq(rc, 0, "callback %d: %d (%s)", i, rc, RX.bodies[i]);
		cr_assert_str_eq(cb.reference, "po_cb");
		cr_assert(strncmp(cb.id, "cb_bank_a_", 10) == 0, "id %s", cb.id);
		cr_assert_eq(cb.result.outcome, CH_SUCCEEDED);
		cr_assert_eq(cb.result.payout_state, want[i]);
		cr_assert_str_eq(cb.result.raw_code, raw[i]);
		cr_assert_str_eq(cb.result.trace_id, r.trace_id);
		cr_assert_gt(cb.at_ms, 0);
		/* the same callback with another secret's view, or much later: refused */
		struct channel_callback other;
		pthread_mutex_lock(&RX.mu);
		rc = S.ch->ops->parse_callback(S.ch, RX.bodies[i], RX.lens[i], RX.sigs[i],
					       (int64_t)time(NULL) + 2 * CHANNEL_CALLBACK_WINDOW_S,
					       &other);
		pthread_mutex_unlock(&RX.mu);
		cr_assert_eq(rc, CAT_API_KEY_INVALID, "a stale callback");
	}
	pthread_mutex_lock(&RX.mu);
	cr_assert(strstr(RX.bodies[0], "6222020200112233") == NULL, "no account number in callbacks");
	pthread_mutex_unlock(&RX.mu);
}

Test(bank_rail, failed_callback_parses_declined_with_its_reason)
{
	admin_set("{\"payout_outcomes\":{\"failed:AC01\":1}}");
	struct channel_result r = payout("po_cbf");
	cr_assert_eq(r.outcome, CH_SUCCEEDED, "raw %s", r.raw_code);
	int two = 2;
	cr_assert(poll_until(rx_has, &two, BR_WAIT_MS, BR_POLL_MS), "callbacks: %d", RX.n);
	struct channel_callback cb;
	pthread_mutex_lock(&RX.mu);
	int rc = S.ch->ops->parse_callback(S.ch, RX.bodies[1], RX.lens[1], RX.sigs[1],
					   (int64_t)time(NULL), &cb);
	pthread_mutex_unlock(&RX.mu);
	cr_assert_eq(rc, 0);
	cr_assert_eq(cb.result.outcome, CH_DECLINED);
	cr_assert_eq(cb.result.code, 604);
	cr_assert_eq(cb.result.payout_state, CH_PO_FAILED);
	cr_assert_str_eq(cb.result.reason, "AC01");
}
