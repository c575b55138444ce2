/* tests/unit/test_dispatch: channel/dispatch against a real little HTTP
 * server (libmicrohttpd on 127.0.0.1, a free port) that plays payd-sim:
 * it checks each request's X-Payd-Signature (401 when wrong) and answers
 * signed JSON, misbehaving on purpose for some references (ch_slow sleeps
 * past the timeout, ch_badsig signs with another secret, ch_unsigned does
 * not sign, ch_503 refuses, ch_lost closes the connection without an
 * answer, ch_big answers more than CHANNEL_BODY_MAX).  Results are waited
 * for with a condition variable and a deadline, never a bare sleep.
 * Signatures here are computed independently of channel/http.c (the
 * HMAC and the server's plumbing are channel_testkit.c's). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "channel/channel.h"
#include "channel/dispatch_internal.h"
#include "channel_testkit.h"
#include "core/catalog.h"

#define SECRET "s3cret-a"
#define WAIT_MS 10000  /* the longest any test waits for its results */
#define SLOW_MS 2000   /* how long ch_slow sleeps (past every short timeout) */
#define MANY 200       /* concurrent sends */
#define UPLOAD_MAX 65536

/* ---- the server ---------------------------------------------------------------- */

struct server {
	struct MHD_Daemon *daemon;
	int port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int requests;   /* signed POSTs received */
	int lost_seen;  /* of them with reference ch_lost */
	int slow_seen;  /* of them with reference ch_slow */
	bool outage;    /* everything answers 503 */
	bool stopping;
};

static bool request_signed(struct MHD_Connection *conn, const char *body, size_t len)
{
	const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Payd-Signature");
	long long t;
	char got[80], want[CRYPTO_SHA256_HEX];
	if (!sig || sscanf(sig, "t=%lld,v1=%70s", &t, got) != 2 || llabs(t - (long long)time(NULL)) > 300)
		return false;
	testkit_hmac_hex(SECRET, t, body, len, want);
	return strcmp(got, want) == 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
			     const char *sign_with)
{
	size_t len = strlen(body);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (sign_with) {
		char hex[CRYPTO_SHA256_HEX], header[128];
		long long t = (long long)time(NULL);
		testkit_hmac_hex(sign_with, t, body, len, hex);
		snprintf(header, sizeof header, "t=%lld,v1=%s", t, hex);
		MHD_add_response_header(resp, "X-Payd-Signature", header);
	}
	enum MHD_Result rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void count(struct server *s, int *field)
{
	pthread_mutex_lock(&s->mu);
	(*field)++;
	s->requests++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void sleep_unless_stopping(struct server *s, int ms)
{
	int64_t end = clock_mono_ns() + (int64_t)ms * 1000000;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping && clock_mono_ns() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
}

/* A signed POST: the answer its reference asks for. */
static enum MHD_Result answer_post(struct server *s, struct MHD_Connection *conn, json_t *req)
{
	const char *ref = json_string_value(json_object_get(req, "reference"));
	const char *last4 = json_string_value(json_object_get(json_object_get(req, "method"), "last4"));
	char body[512];
	if (!ref)
		return reply(conn, 400, "{\"error\":\"reference\"}", SECRET);
	if (strcmp(ref, "ch_lost") == 0) {
		count(s, &s->lost_seen);
		return MHD_NO; /* executed; the connection is closed without an answer */
	}
	if (strcmp(ref, "ch_slow") == 0) {
		count(s, &s->slow_seen);
		sleep_unless_stopping(s, SLOW_MS);
	} else {
		int ignored = 0;
		count(s, &ignored);
	}
	if (strcmp(ref, "ch_503") == 0)
		return reply(conn, 503, "{\"error\":\"outage\"}", SECRET);
	if (strcmp(ref, "ch_big") == 0) {
		char *big = malloc(CHANNEL_BODY_MAX + 100);
		memset(big, ' ', CHANNEL_BODY_MAX + 99);
		big[CHANNEL_BODY_MAX + 99] = '\0';
		big[0] = '{';
		memcpy(big + CHANNEL_BODY_MAX + 80, "\"code\":\"00\"}", 13);
		enum MHD_Result rc = reply(conn, 200, big, SECRET);
		free(big);
		return rc;
	}
	const char *code = last4 && strcmp(last4, "4242") != 0 ? "14" : "00";
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"code\":\"%s\",\"message\":\"m\",\"state\":\"%s\",\"amount\":1000}",
		 ref, code, code[0] == '0' ? "captured" : "declined");
	if (strcmp(ref, "ch_badsig") == 0)
		return reply(conn, 200, body, "another-secret");
	return reply(conn, 200, body, strcmp(ref, "ch_unsigned") == 0 ? NULL : SECRET);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct server *s = cls;
	enum MHD_Result more;
	if (testkit_upload_more(con_cls, upload_data, upload_data_size, UPLOAD_MAX, &more))
		return more;
	struct testkit_upload *up = *con_cls;
	if (!request_signed(conn, up->buf ? up->buf : "", up->len))
		return reply(conn, 401, "{\"error\":\"signature_invalid\"}", SECRET);
	pthread_mutex_lock(&s->mu);
	bool outage = s->outage;
	pthread_mutex_unlock(&s->mu);
	if (outage)
		return reply(conn, 503, "{\"error\":\"outage\"}", SECRET);
	if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/health") == 0)
		return reply(conn, 200, "{\"status\":\"ok\"}", SECRET);
	json_t *req = up->buf ? json_loads(up->buf, 0, NULL) : NULL;
	enum MHD_Result rc = req && strcmp(method, "POST") == 0 && !up->too_big
				     ? answer_post(s, conn, req)
				     : reply(conn, 404, "{\"error\":\"unknown\"}", SECRET);
	json_decref(req);
	return rc;
}

static void server_start(struct server *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->daemon = testkit_server_start(handle, s, &s->port);
}

static void server_stop(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	MHD_stop_daemon(s->daemon);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

/* Waits until field reaches n; false at the deadline. */
static bool server_wait(struct server *s, const int *field, int n)
{
	int64_t end = clock_mono_ns() + (int64_t)WAIT_MS * 1000000;
	pthread_mutex_lock(&s->mu);
	while (*field < n && clock_mono_ns() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	bool ok = *field >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* ---- collecting results -------------------------------------------------------------- */

struct results {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int total;
	int calls[MANY];
	struct channel_result res[MANY];
	int64_t latency_ns[MANY];
	pthread_t thread[MANY];
};

struct slot {
	struct results *r;
	int i;
};

static struct results results;
static struct slot slots[MANY];

static void on_done(void *ctx, const struct channel_result *res, int64_t latency_ns)
{
	struct slot *s = ctx;
	struct results *r = s->r;
	pthread_mutex_lock(&r->mu);
	r->calls[s->i]++;
	r->res[s->i] = *res;
	r->latency_ns[s->i] = latency_ns;
	r->thread[s->i] = pthread_self();
	r->total++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void results_init(void)
{
	memset(&results, 0, sizeof results);
	pthread_mutex_init(&results.mu, NULL);
	pthread_cond_init(&results.cv, NULL);
	for (int i = 0; i < MANY; i++)
		slots[i] = (struct slot){&results, i};
}

/* Waits until n results came in; false at the deadline. */
static bool results_wait(int n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&results.mu);
	int rc = 0;
	while (results.total < n && rc == 0)
		rc = pthread_cond_timedwait(&results.cv, &results.mu, &ts);
	bool ok = results.total >= n;
	pthread_mutex_unlock(&results.mu);
	return ok;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static struct server srv;
static struct channel_dispatch *disp;

static void setup(void)
{
	results_init();
	server_start(&srv);
	cr_assert_eq(channel_dispatch_start(&disp), 0);
}

static void teardown(void)
{
	channel_dispatch_stop(disp);
	server_stop(&srv);
}

static struct channel *channel_at(int port, const char *secret, int timeout_ms)
{
	struct channel_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "acq_a");
	snprintf(cfg.kind, sizeof cfg.kind, "acquirer");
	snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d/", port);
	snprintf(cfg.secret, sizeof cfg.secret, "%s", secret);
	cfg.timeout_ms = timeout_ms;
	char err[128];
	struct channel *ch = channel_new(&cfg, err, sizeof err);
	cr_assert_not_null(ch, "%s", err);
	return ch;
}

static struct payment_method card = {
	.type = PM_CARD, .brand = "visa", .last4 = "4242", .exp_month = 12, .exp_year = 2030,
	.token = "tok_1",
};

static void send_authorize(struct channel *ch, const char *reference, int slot)
{
	struct channel_request req = {.op = CH_OP_AUTHORIZE, .amount = 1000, .currency = "USD",
				      .capture = true, .method = &card};
	snprintf(req.reference, sizeof req.reference, "%s", reference);
	channel_dispatch_send(disp, ch, &req, on_done, &slots[slot]);
}

/* One authorize with this reference; its result. */
static struct channel_result one(struct channel *ch, const char *reference)
{
	int before = results.total;
	send_authorize(ch, reference, before);
	cr_assert(results_wait(before + 1), "no result for %s", reference);
	return results.res[before];
}

/* A port nothing listens on. */
static int dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof addr;
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	return ntohs(addr.sin_port);
}

/* ---- tests ------------------------------------------------------------------------------------ */

TestSuite(dispatch, .init = setup, .fini = teardown, .timeout = 60);

Test(dispatch, signed_round_trip)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct payment_method pm = card;
	struct channel_request req = {.op = CH_OP_AUTHORIZE, .amount = 1000, .currency = "USD",
				      .capture = true, .method = &pm, .reference = "ch_ok"};
	channel_dispatch_send(disp, ch, &req, on_done, &slots[0]);
	memset(&pm, 0, sizeof pm); /* the dispatcher copied it */
	memset(&req, 0, sizeof req);
	cr_assert(results_wait(1));
	ASSERT_RESULT(results.res[0], CH_SUCCEEDED, 0, "00");
	cr_assert(results.res[0].captured);
	cr_assert_eq(results.res[0].amount, 1000);
	cr_assert_gt(results.latency_ns[0], 0);
	cr_assert_not(pthread_equal(results.thread[0], pthread_self()));
	ch->ops->destroy(ch);
}

Test(dispatch, wrong_or_missing_answer_signature_is_unknown)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct channel_result r = one(ch, "ch_badsig");
	ASSERT_RESULT(r, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "BAD_SIGNATURE");
	r = one(ch, "ch_unsigned");
	ASSERT_RESULT(r, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "BAD_SIGNATURE");
	ch->ops->destroy(ch);
}

Test(dispatch, wrong_secret_is_refused_by_the_channel)
{
	struct channel *ch = channel_at(srv.port, "not-the-secret", 2000);
	struct channel_result r = one(ch, "ch_ok");
	ASSERT_RESULT(r, CH_NOT_EXECUTED, CAT_CHANNEL_REJECTED, "HTTP_401");
	cr_assert_eq(srv.requests, 0); /* nothing executed */
	ch->ops->destroy(ch);
}

Test(dispatch, slow_answer_times_out_as_unknown)
{
	struct channel *ch = channel_at(srv.port, SECRET, 200);
	int64_t t0 = clock_mono_ns();
	struct channel_result r = one(ch, "ch_slow");
	int64_t ms = (clock_mono_ns() - t0) / 1000000;
	ASSERT_RESULT(r, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "TIMEOUT");
	cr_assert(ms >= 150 && ms < SLOW_MS, "%lld ms", (long long)ms);
	ch->ops->destroy(ch);
}

Test(dispatch, nothing_listening_is_not_executed)
{
	struct channel *ch = channel_at(dead_port(), SECRET, 2000);
	struct channel_result r = one(ch, "ch_ok");
	ASSERT_RESULT(r, CH_NOT_EXECUTED, CAT_CHANNEL_UNAVAILABLE, "CONNECTION_REFUSED");
	ch->ops->destroy(ch);
}

Test(dispatch, outage_503_is_not_executed)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct channel_result r = one(ch, "ch_503");
	ASSERT_RESULT(r, CH_NOT_EXECUTED, CAT_CHANNEL_UNAVAILABLE, "HTTP_503");
	ch->ops->destroy(ch);
}

Test(dispatch, oversized_answer_is_unknown)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct channel_result r = one(ch, "ch_big");
	ASSERT_RESULT(r, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "CONNECTION_BROKEN");
	ch->ops->destroy(ch);
}

/* libcurl re-sends a request whose reused connection died without an
 * answer; the dispatcher must not: the channel may have executed it. */
Test(dispatch, lost_answer_is_unknown_and_never_resent)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct channel_result r = one(ch, "ch_lost"); /* on a fresh connection */
	ASSERT_RESULT(r, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "CONNECTION_BROKEN");
	r = one(ch, "ch_ok"); /* leaves a connection to reuse */
	ASSERT_RESULT(r, CH_SUCCEEDED, 0, "00");
	r = one(ch, "ch_lost"); /* on the reused one */
	ASSERT_RESULT(r, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "CONNECTION_BROKEN");
	pthread_mutex_lock(&srv.mu);
	int seen = srv.lost_seen;
	pthread_mutex_unlock(&srv.mu);
	cr_assert_eq(seen, 2, "ch_lost was received %d times for 2 sends", seen);
	ch->ops->destroy(ch);
}

Test(dispatch, many_concurrent_sends_complete_once_each)
{
	struct channel *ch = channel_at(srv.port, SECRET, 5000);
	for (int i = 0; i < MANY; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "ch_many_%d", i);
		send_authorize(ch, ref, i);
	}
	cr_assert(results_wait(MANY), "%d of %d results", results.total, MANY);
	channel_dispatch_stop(disp); /* nothing more can come */
	disp = NULL;
	cr_assert_eq(results.total, MANY);
	for (int i = 0; i < MANY; i++) {
		cr_assert_eq(results.calls[i], 1, "send %d: %d calls", i, results.calls[i]);
		ASSERT_RESULT(results.res[i], CH_SUCCEEDED, 0, "00");
	}
	cr_assert_eq(srv.requests, MANY);
	ch->ops->destroy(ch);
}

Test(dispatch, probes)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct channel *dead = channel_at(dead_port(), SECRET, 2000);
	channel_dispatch_probe(disp, ch, on_done, &slots[0]);
	cr_assert(results_wait(1));
	ASSERT_RESULT(results.res[0], CH_SUCCEEDED, 0, "OK");
	channel_dispatch_probe(disp, dead, on_done, &slots[1]);
	cr_assert(results_wait(2));
	ASSERT_RESULT(results.res[1], CH_NOT_EXECUTED, CAT_CHANNEL_UNAVAILABLE, "CONNECTION_REFUSED");
	pthread_mutex_lock(&srv.mu);
	srv.outage = true;
	pthread_mutex_unlock(&srv.mu);
	channel_dispatch_probe(disp, ch, on_done, &slots[2]);
	cr_assert(results_wait(3));
	ASSERT_RESULT(results.res[2], CH_NOT_EXECUTED, CAT_CHANNEL_UNAVAILABLE, "HTTP_503");
	ch->ops->destroy(ch);
	dead->ops->destroy(dead);
}

Test(dispatch, refused_operations_answer_on_the_dispatcher_thread)
{
	struct channel *ch = channel_at(srv.port, SECRET, 2000);
	struct channel_request req = {.op = CH_OP_VERIFY, .reference = "ch_v", .method = &card};
	channel_dispatch_send(disp, ch, &req, on_done, &slots[0]);
	cr_assert(results_wait(1));
	ASSERT_RESULT(results.res[0], CH_NOT_EXECUTED, CAT_CHANNEL_REJECTED, "NOT_SUPPORTED");
	cr_assert_not(pthread_equal(results.thread[0], pthread_self()));
	cr_assert_eq(srv.requests, 0);
	ch->ops->destroy(ch);
}

Test(dispatch, stop_abandons_calls_in_flight)
{
	struct channel *ch = channel_at(srv.port, SECRET, 10000);
	send_authorize(ch, "ch_slow", 0);
	cr_assert(server_wait(&srv, &srv.slow_seen, 1));
	channel_dispatch_stop(disp);
	disp = NULL;
	cr_assert_eq(results.total, 0); /* its done was never called */
	ch->ops->destroy(ch);
}

/* A port that takes connections into its backlog and never answers. */
static int black_hole(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof addr;
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	cr_assert_eq(listen(fd, 1024), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

static int queue_full, other_results;

static void on_refused(void *ctx, const struct channel_result *res, int64_t latency_ns)
{
	(void)ctx, (void)latency_ns;
	pthread_mutex_lock(&results.mu);
	if (res->outcome == CH_NOT_EXECUTED && res->code == CAT_CHANNEL_UNAVAILABLE &&
	    strcmp(res->raw_code, "QUEUE_FULL") == 0)
		queue_full++;
	else
		other_results++;
	results.total++;
	pthread_cond_broadcast(&results.cv);
	pthread_mutex_unlock(&results.mu);
}

/* At most DISPATCH_PER_HOST_MAX calls go to one channel at once and at
 * most DISPATCH_QUEUE_MAX wait; one more is refused at once, unsent. */
Test(dispatch, queue_limit)
{
	int port, fd = black_hole(&port);
	struct channel *ch = channel_at(port, SECRET, 30000);
	const int extra = 5, n = DISPATCH_PER_HOST_MAX + DISPATCH_QUEUE_MAX + extra;
	struct channel_request req = {.op = CH_OP_QUERY, .reference = "ch_q"};
	for (int i = 0; i < n; i++)
		channel_dispatch_send(disp, ch, &req, on_refused, NULL);
	cr_assert(results_wait(extra), "%d refused", results.total);
	channel_dispatch_stop(disp); /* abandons the rest */
	disp = NULL;
	cr_assert_eq(other_results, 0);
	cr_assert(queue_full >= extra && queue_full <= extra + DISPATCH_PER_HOST_MAX, "%d", queue_full);
	close(fd);
	ch->ops->destroy(ch);
}
