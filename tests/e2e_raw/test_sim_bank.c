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
 * The process, HTTP and receiver helpers are sim_client.c's, shared with
 * test_sim.c and test_bank_rail.c. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "sim_client.h"

#define BK_PROMPT_STOP_MS 3000 /* SIGTERM with callbacks and timers pending */
#define BK_POLL_MS 5
#define BK_WAIT_MS 10000       /* longest wait for a state or a callback */
#define BK_QUIET_MS 300        /* how long "nothing more arrives" is watched */
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

static struct sim S;

/* The timeout of payouts and queries (the PDNG test shortens it). */
static long client_timeout_ms = SIM_HTTP_TIMEOUT_MS;

/* ---- the callback receiver (sim_client.c) -------------------------------- */

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

static void bank_setup(void)
{
	sim_start(&S, "payd-sim-bank", scenario);
	snprintf(RX.secret, sizeof RX.secret, "sba");
	rx_start();
	char body[128];
	snprintf(body, sizeof body, "{\"callback_url\":\"http://127.0.0.1:%u/cb\"}", RX.port);
	sim_admin_set(&S, "bank_a", body);
	sim_admin_set(&S, "bank_b", body);
}

static void bank_teardown(void)
{
	int status = sim_stop(&S);
	rx_stop();
	sim_finish(&S, status);
}

TestSuite(sim_bank, .init = bank_setup, .fini = bank_teardown, .timeout = 90);

/* ---- HTTP ----------------------------------------------------------------- */

static const char *secret_of(const char *channel)
{
	return strcmp(channel, "bank_a") == 0 ? "sba" : strcmp(channel, "bank_b") == 0 ? "sbb" : "sa";
}

static void signed_post_as(const char *channel, const char *path, const char *body,
			   const char *secret, struct sim_resp *r)
{
	sim_signed_post(&S, channel, path, body, secret, 0, client_timeout_ms, r);
}

static void post(const char *channel, const char *path, const char *body, struct sim_resp *r)
{
	signed_post_as(channel, path, body, secret_of(channel), r);
}

static void payout_as(const char *channel, const char *ref, const char *method,
		      const char *account, struct sim_resp *r)
{
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"amount\":5000,\"currency\":\"CNY\",\"method\":\"%s\","
		 "\"account\":%s}", ref, method, account);
	post(channel, "/v1/payout", body, r);
}

static void payout(const char *channel, const char *ref, struct sim_resp *r)
{
	payout_as(channel, ref, "standard", ACCOUNT, r);
}

static void query(const char *channel, const char *ref, struct sim_resp *r)
{
	char body[128];
	snprintf(body, sizeof body, "{\"reference\":\"%s\"}", ref);
	post(channel, "/v1/query_payout", body, r);
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
	struct sim_resp r;
	query(w->channel, w->ref, &r);
	snprintf(w->got, sizeof w->got, "%s", sim_str(&r, "state"));
	sim_resp_free(&r);
	return strcmp(w->got, w->want) == 0;
}

static void wait_state(const char *channel, const char *ref, const char *want)
{
	struct state_wait w = {channel, ref, want, ""};
	cr_assert(poll_until(state_is, &w, BK_WAIT_MS, BK_POLL_MS), "%s %s: state %s, not %s",
		  channel, ref, w.got, want);
}

static json_t *booked_payout(const char *channel, const char *ref)
{
	json_t *books = sim_admin_get(&S, "/admin/books");
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
	json_t *stats = sim_admin_get(&S, "/admin/stats");
	json_t *cb = json_object_get(
		json_object_get(json_object_get(stats, "channels"), channel), "callbacks");
	long v = (long)json_integer_value(json_object_get(cb, field));
	json_decref(stats);
	return v;
}

/* ---- tests ---------------------------------------------------------------- */

Test(sim_bank, payout_goes_pending_in_transit_paid_with_signed_callbacks)
{
	struct sim_resp r;
	payout("bank_a", "po_life", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(sim_str(&r, "status"), "ACSP");
	cr_expect_str_eq(sim_str(&r, "state"), "pending");
	cr_expect(json_is_null(json_object_get(r.json, "reason")), "%s", r.body);
	cr_expect(strncmp(sim_str(&r, "trace_id"), "BANKA-", 6) == 0, "trace id %s", sim_str(&r, "trace_id"));
	cr_expect_gt(json_integer_value(json_object_get(r.json, "expected_arrival_ms")),
		     (json_int_t)time(NULL) * 1000 - 1000);
	cr_expect(sim_sig_valid("sba", r.sig, r.body, r.len), "answer signature '%s'", r.sig);
	char trace[64];
	snprintf(trace, sizeof trace, "%s", sim_str(&r, "trace_id"));
	sim_resp_free(&r);
	wait_state("bank_a", "po_life", "paid");
	query("bank_a", "po_life", &r);
	cr_expect_str_eq(sim_str(&r, "status"), "ACSC");
	cr_expect_str_eq(sim_str(&r, "trace_id"), trace);
	sim_resp_free(&r);
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
	json_t *books = sim_admin_get(&S, "/admin/books");
	char *text = json_dumps(books, 0);
	cr_expect(!strstr(text, "6222020200112233"), "the full account number is in the books");
	free(text);
	json_decref(books);
	cr_expect_eq(callback_stat("bank_a", "sent"), 2);
}

Test(sim_bank, failed_ends_failed_with_its_reason)
{
	sim_admin_set(&S, "bank_a", "{\"payout_outcomes\":{\"failed:AC04\":1}}");
	struct sim_resp r;
	payout("bank_a", "po_fail", &r);
	cr_expect_str_eq(sim_str(&r, "state"), "pending");
	sim_resp_free(&r);
	wait_state("bank_a", "po_fail", "failed");
	query("bank_a", "po_fail", &r);
	cr_expect_str_eq(sim_str(&r, "status"), "RJCT");
	cr_expect_str_eq(sim_str(&r, "reason"), "AC04");
	sim_resp_free(&r);
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
	sim_admin_set(&S, "bank_a", "{\"payout_outcomes\":{\"returned:AC04\":1}}");
	struct sim_resp r;
	payout("bank_a", "po_ret", &r);
	sim_resp_free(&r);
	wait_state("bank_a", "po_ret", "returned");
	query("bank_a", "po_ret", &r);
	cr_expect_str_eq(sim_str(&r, "status"), "RJCT");
	cr_expect_str_eq(sim_str(&r, "reason"), "AC04");
	sim_resp_free(&r);
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
	sim_admin_set(&S, "bank_a", "{\"payout_outcomes\":{\"stuck\":1}}");
	struct sim_resp r;
	payout_as("bank_a", "po_stuck", "instant", ACCOUNT, &r);
	sim_resp_free(&r);
	wait_state("bank_a", "po_stuck", "in_transit");
	rx_wait(1);
	/* well past its settle time (~30 ms for instant) it has not moved */
	poll(NULL, 0, BK_QUIET_MS);
	query("bank_a", "po_stuck", &r);
	cr_expect_str_eq(sim_str(&r, "state"), "in_transit");
	cr_expect_str_eq(sim_str(&r, "status"), "ACSP");
	sim_resp_free(&r);
	cr_expect_eq(rx_count(), 1);
	cr_expect_eq(sim_admin_post(&S, "bank_a", "{\"release_stuck\":\"stuck\"}", &r), 400);
	cr_expect_str_eq(sim_str(&r, "field"), "release_stuck");
	sim_resp_free(&r);
	sim_admin_set(&S, "bank_a", "{\"release_stuck\":\"paid\"}");
	wait_state("bank_a", "po_stuck", "paid");
	rx_wait(2);
	char states[256];
	rx_states(states, sizeof states);
	cr_expect_str_eq(states, "in_transit,paid");
}

Test(sim_bank, query_of_an_unknown_reference_is_notf)
{
	struct sim_resp r;
	query("bank_a", "po_nobody", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(sim_str(&r, "status"), "RJCT");
	cr_expect_str_eq(sim_str(&r, "reason"), "NOTF");
	cr_expect_str_eq(sim_str(&r, "state"), "none");
	cr_expect(sim_sig_valid("sba", r.sig, r.body, r.len));
	sim_resp_free(&r);
}

Test(sim_bank, idempotent_rail_executes_once_the_other_twice)
{
	struct sim_resp r1, r2;
	payout("bank_a", "po_dup", &r1);
	payout("bank_a", "po_dup", &r2);
	cr_expect_str_eq(sim_str(&r1, "trace_id"), sim_str(&r2, "trace_id"));
	cr_expect_str_eq(sim_str(&r1, "channel_id"), sim_str(&r2, "channel_id"));
	sim_resp_free(&r1);
	sim_resp_free(&r2);
	json_t *p = booked_payout("bank_a", "po_dup");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
	payout("bank_b", "po_dup", &r1);
	payout("bank_b", "po_dup", &r2);
	cr_expect_str_eq(sim_str(&r2, "state"), "pending");
	cr_expect_str_neq(sim_str(&r1, "trace_id"), sim_str(&r2, "trace_id"));
	sim_resp_free(&r1);
	sim_resp_free(&r2);
	p = booked_payout("bank_b", "po_dup");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 2,
		     "the double payout must show");
	json_decref(p);
}

Test(sim_bank, duplicate_rate_1_sends_every_callback_twice)
{
	sim_admin_set(&S, "bank_a", "{\"callback_duplicate_rate\":1}");
	struct sim_resp r;
	payout("bank_a", "po_twice", &r);
	sim_resp_free(&r);
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
	sim_admin_set(&S, "bank_a", "{\"callback_drop_rate\":1}");
	struct sim_resp r;
	payout("bank_a", "po_quiet", &r);
	sim_resp_free(&r);
	wait_state("bank_a", "po_quiet", "paid");
	poll(NULL, 0, BK_QUIET_MS);
	cr_expect_eq(rx_count(), 0);
	cr_expect_eq(callback_stat("bank_a", "dropped"), 2);
	cr_expect_eq(callback_stat("bank_a", "sent"), 0);
}

Test(sim_bank, late_rate_1_sends_in_transit_after_paid)
{
	sim_admin_set(&S, "bank_a", "{\"callback_late_rate\":1}");
	struct sim_resp r;
	payout("bank_a", "po_late", &r);
	sim_resp_free(&r);
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
	sim_admin_set(&S, "bank_a", body);
	struct sim_resp r;
	client_timeout_ms = BK_GIVE_UP_MS;
	payout("bank_a", "po_slow", &r);
	client_timeout_ms = 30000;
	cr_expect_eq(r.curl_code, CURLE_OPERATION_TIMEDOUT, "curl code %d", r.curl_code);
	sim_resp_free(&r);
	query("bank_a", "po_slow", &r);
	cr_expect_str_eq(sim_str(&r, "status"), "PDNG", "%s", r.body);
	cr_expect_str_eq(sim_str(&r, "state"), "pending");
	sim_resp_free(&r);
	wait_state("bank_a", "po_slow", "paid");
	json_t *p = booked_payout("bank_a", "po_slow");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
}

Test(sim_bank, lost_answer_is_executed_anyway)
{
	sim_admin_set(&S, "bank_b", "{\"lost_rate\":1}");
	struct sim_resp r;
	payout("bank_b", "po_lost", &r);
	cr_expect_eq(r.curl_code, CURLE_GOT_NOTHING, "curl code %d status %ld", r.curl_code,
		     r.status);
	sim_resp_free(&r);
	wait_state("bank_b", "po_lost", "paid");
	json_t *p = booked_payout("bank_b", "po_lost");
	cr_expect_eq(json_integer_value(json_object_get(p, "executions")), 1);
	json_decref(p);
}

Test(sim_bank, outage_503_executes_nothing)
{
	sim_admin_set(&S, "bank_b", "{\"outage\":\"503\"}");
	struct sim_resp r;
	payout("bank_b", "po_503", &r);
	cr_expect_eq(r.status, 503);
	sim_resp_free(&r);
	cr_expect_null(booked_payout("bank_b", "po_503"));
	sim_admin_set(&S, "bank_b", "{\"outage\":\"none\"}");
	query("bank_b", "po_503", &r);
	cr_expect_str_eq(sim_str(&r, "state"), "none");
	sim_resp_free(&r);
	cr_expect_eq(rx_count(), 0);
}

Test(sim_bank, bad_signature_is_401_and_executes_nothing)
{
	struct sim_resp r;
	char body[512];
	snprintf(body, sizeof body,
		 "{\"reference\":\"po_sig\",\"amount\":1,\"currency\":\"CNY\",\"method\":\"standard\","
		 "\"account\":%s}", ACCOUNT);
	signed_post_as("bank_a", "/v1/payout", body, "sbb", &r);
	cr_expect_eq(r.status, 401, "%ld %s", r.status, r.body);
	cr_expect_str_eq(sim_str(&r, "error"), "signature_invalid");
	sim_resp_free(&r);
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
		struct sim_resp r;
		post("bank_a", "/v1/payout", cases[i].body, &r);
		cr_expect_eq(r.status, 400, "%s: %ld", cases[i].body, r.status);
		cr_expect_str_eq(sim_str(&r, "param"), cases[i].param, "%s: %s", cases[i].body, r.body);
		sim_resp_free(&r);
	}
	cr_expect_null(booked_payout("bank_a", "po_b"));
	struct sim_resp r;
	post("bank_a", "/v1/authorize", "{}", &r);
	cr_expect_eq(r.status, 404, "a bank does not authorize");
	sim_resp_free(&r);
	post("acq_a", "/v1/payout", "{}", &r);
	cr_expect_eq(r.status, 404, "an acquirer does not pay out");
	sim_resp_free(&r);
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
		struct sim_resp r;
		cr_expect_eq(sim_admin_post(&S, cases[i].channel, cases[i].body, &r), 400, "%s", cases[i].body);
		cr_expect_str_eq(sim_str(&r, "field"), cases[i].field, "%s: %s", cases[i].body, r.body);
		sim_resp_free(&r);
	}
	struct sim_resp r;
	sim_admin_post(&S, "bank_a", "{\"payout_outcomes\":{\"returned:ZZ99\":1}}", &r);
	cr_expect(strstr(sim_str(&r, "message"), "unknown fate \"returned:ZZ99\""), "%s", r.body);
	sim_resp_free(&r);
	sim_admin_set(&S, "bank_a", "{\"time_scale\":60,\"payout_outcomes\":{\"paid\":9,\"stuck\":1},"
			    "\"callback_url\":null}");
	json_t *sc = sim_admin_get(&S, "/admin/scenario");
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

Test(sim_bank, bad_bank_scenario_exits_2_naming_the_field)
{
	char err[2048];
	const char *bad = "{\"channels\":[{\"name\":\"a\",\"kind\":\"acquirer\",\"secret\":\"s\"},"
			  "{\"name\":\"b\",\"kind\":\"bank\",\"secret\":\"s\","
			  "\"payout_outcomes\":{\"paid\":1,\"returned:ZZ99\":1}}]}";
	cr_expect_eq(sim_run_bad(&S, bad, NULL, err, sizeof err), 2);
	cr_expect(strstr(err, "channels[1].payout_outcomes: unknown fate \"returned:ZZ99\""), "%s",
		  err);
	const char *release = "{\"channels\":[{\"name\":\"b\",\"kind\":\"bank\",\"secret\":\"s\","
			      "\"release_stuck\":\"paid\"}]}";
	cr_expect_eq(sim_run_bad(&S, release, NULL, err, sizeof err), 2);
	cr_expect(strstr(err, "channels[0].release_stuck:"), "%s", err);
}

Test(sim_bank, sigterm_is_prompt_with_callbacks_and_timers_pending)
{
	atomic_store(&RX.hang, true); /* the receiver never answers */
	sim_admin_set(&S, "bank_b", "{\"time_scale\":1,\"transit_ms\":{\"min\":600000,\"p50\":600000,"
			    "\"p99\":600000}}");
	struct sim_resp r;
	payout("bank_b", "po_later", &r);
	cr_expect_eq(r.status, 200);
	sim_resp_free(&r);
	for (int i = 0; i < 3; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "po_hang%d", i);
		payout("bank_a", ref, &r);
		sim_resp_free(&r);
	}
	int one = 1;
	cr_assert(poll_until(rx_has, &one, BK_WAIT_MS, BK_POLL_MS), "no callback came");
	long t0 = sim_mono_ms();
	int status = sim_stop(&S);
	long took = sim_mono_ms() - t0;
	cr_expect(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_expect_lt(took, BK_PROMPT_STOP_MS, "SIGTERM took %ld ms", took);
}
