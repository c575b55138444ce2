/* tests/e2e_raw/test_sim: payd-sim against its contract (docs/SIM_PROTOCOL.md).
 *
 * Each test starts its own `payd-sim` ($SIM_BIN, else build/payd-sim) on
 * free ports with the test scenario below written to a mkdtemp directory,
 * waits (bounded) for the ready file, drives the channels with signed
 * libcurl requests and reads the books through the admin endpoint.  .fini
 * stops it with SIGTERM and fails the test unless it exits 0 (under ASan,
 * leaks and memory errors surface there).  Waits are bounded polls.  The
 * process, HTTP and admin helpers are sim_client.c's. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "sim_client.h"

#define SIM_QUERY_POLL_MS 10
#define SIM_SLOW_TEST_MS 1500
#define SIM_SLOW_WAIT_MS 20000
#define SIM_CLIENT_TIMEOUT_MS 300

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

static struct sim S;

/* ---- process (sim_client.c) ---------------------------------------------- */

static void sim_setup(void)
{
	sim_start(&S, "payd-sim", scenario);
}

static void sim_teardown(void)
{
	sim_finish(&S, sim_stop(&S));
}

TestSuite(sim, .init = sim_setup, .fini = sim_teardown, .timeout = 90);

/* ---- HTTP (sim_client.c) ------------------------------------------------- */

static const char *secret_of(const char *channel)
{
	return strcmp(channel, "acq_a") == 0 ? "sa" : strcmp(channel, "acq_b") == 0 ? "sb"
		: strcmp(channel, "alipay_sim") == 0 ? "sw" : "sx";
}

/* A POST to a channel signed with `secret` at now + skew_s. */
static void signed_post_as(const char *channel, const char *path, const char *body,
			   const char *secret, long skew_s, long timeout_ms, struct sim_resp *r)
{
	sim_signed_post(&S, channel, path, body, secret, skew_s, timeout_ms, r);
}

static void post(const char *channel, const char *path, const char *body, struct sim_resp *r)
{
	signed_post_as(channel, path, body, secret_of(channel), 0, 0, r);
}

/* The answer's own signature, checked like payd does. */
static bool answer_signed(const struct sim_resp *r, const char *secret)
{
	return sim_sig_valid(secret, r->sig, r->body, strlen(r->body));
}

static void authorize(const char *channel, const char *ref, long amount, bool capture,
		      const char *method, struct sim_resp *r)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"amount\":%ld,\"currency\":\"USD\",\"capture\":%s,"
		 "\"method\":%s}",
		 ref, amount, capture ? "true" : "false", method);
	post(channel, "/v1/authorize", body, r);
}

#define CARD "{\"type\":\"card\",\"brand\":\"visa\",\"last4\":\"4242\",\"exp_month\":12,\"exp_year\":2030}"

/* ---- admin (sim_client.c) ------------------------------------------------ */

/* Charges in channel's books with this reference; *state gets the last's. */
static int charges_with(const char *channel, const char *ref, char state[32])
{
	json_t *books = sim_admin_get(&S, "/admin/books");
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
	struct sim_resp r;
	authorize("acq_a", "ch_cap1", 1000, true, CARD, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(sim_str(&r, "code"), "00");
	cr_expect_str_eq(sim_str(&r, "state"), "captured");
	cr_expect_eq(json_integer_value(json_object_get(r.json, "captured_amount")), 1000);
	cr_expect(answer_signed(&r, "sa"), "answer signature '%s' does not verify", r.sig);
	sim_resp_free(&r);
	char state[32] = "";
	cr_assert_eq(charges_with("acq_a", "ch_cap1", state), 1);
	cr_expect_str_eq(state, "captured");
	/* query says the same */
	post("acq_a", "/v1/query", "{\"reference\":\"ch_cap1\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "00");
	cr_expect_str_eq(sim_str(&r, "state"), "captured");
	sim_resp_free(&r);
}

Test(sim, bad_signatures_are_401_and_execute_nothing)
{
	struct sim_resp r;
	const char *body = "{\"reference\":\"ch_sig\",\"amount\":500,\"currency\":\"USD\","
			   "\"capture\":true,\"method\":" CARD "}";
	signed_post_as("acq_a", "/v1/authorize", body, "not-the-secret", 0, 0, &r);
	cr_expect_eq(r.status, 401, "%ld %s", r.status, r.body);
	cr_expect_str_eq(sim_str(&r, "error"), "signature_invalid");
	sim_resp_free(&r);
	signed_post_as("acq_a", "/v1/authorize", body, "sa", -301, 0, &r);
	cr_expect_eq(r.status, 401, "old timestamp: %ld %s", r.status, r.body);
	sim_resp_free(&r);
	signed_post_as("acq_a", "/v1/authorize", body, "sa", 301, 0, &r);
	cr_expect_eq(r.status, 401, "future timestamp: %ld %s", r.status, r.body);
	sim_resp_free(&r);
	char url[256];
	snprintf(url, sizeof url, "%s/v1/authorize", sim_channel_url(&S, "acq_a"));
	sim_http(url, body, NULL, 0, &r);
	cr_expect_eq(r.status, 401, "no signature: %ld", r.status);
	sim_resp_free(&r);
	cr_expect_eq(charges_with("acq_a", "ch_sig", NULL), 0);
	json_t *stats = sim_admin_get(&S, "/admin/stats");
	json_t *fails = json_object_get(
		json_object_get(json_object_get(stats, "channels"), "acq_a"), "signature_failures");
	cr_expect_eq(json_integer_value(fails), 4);
	json_decref(stats);
}

Test(sim, idempotent_channel_executes_once_the_other_twice)
{
	struct sim_resp r1, r2;
	authorize("acq_a", "ch_dup", 700, true, CARD, &r1);
	authorize("acq_a", "ch_dup", 700, true, CARD, &r2);
	cr_expect_eq(r1.status, 200);
	cr_expect_str_eq(sim_str(&r1, "channel_id"), sim_str(&r2, "channel_id"));
	sim_resp_free(&r1);
	sim_resp_free(&r2);
	cr_expect_eq(charges_with("acq_a", "ch_dup", NULL), 1);
	authorize("acq_b", "ch_dup", 700, true, CARD, &r1);
	authorize("acq_b", "ch_dup", 700, true, CARD, &r2);
	cr_expect_str_neq(sim_str(&r1, "channel_id"), sim_str(&r2, "channel_id"));
	sim_resp_free(&r1);
	sim_resp_free(&r2);
	cr_expect_eq(charges_with("acq_b", "ch_dup", NULL), 2, "the double charge must show");
}

Test(sim, unknown_reference_is_not_found_in_each_vocabulary)
{
	const char *chans[] = {"acq_a", "alipay_sim", "wechat_sim"};
	const char *codes[] = {"25", "ACQ.TRADE_NOT_EXIST", "ORDERNOTEXIST"};
	for (int i = 0; i < 3; i++) {
		struct sim_resp r;
		post(chans[i], "/v1/query", "{\"reference\":\"ch_nobody\"}", &r);
		cr_expect_eq(r.status, 200);
		cr_expect_str_eq(sim_str(&r, "code"), codes[i], "%s", chans[i]);
		cr_expect_str_eq(sim_str(&r, "state"), "none");
		sim_resp_free(&r);
		post(chans[i], "/v1/query_refund", "{\"reference\":\"re_nobody\"}", &r);
		cr_expect_str_eq(sim_str(&r, "code"), codes[i], "%s refund", chans[i]);
		cr_expect_str_eq(sim_str(&r, "state"), "none");
		sim_resp_free(&r);
	}
}

Test(sim, stripe_test_card_forces_the_code)
{
	struct sim_resp r;
	authorize("acq_a", "ch_9995", 1000, true,
		  "{\"type\":\"card\",\"brand\":\"visa\",\"last4\":\"9995\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "51");
	cr_expect_str_eq(sim_str(&r, "state"), "declined");
	sim_resp_free(&r);
	char state[32] = "";
	cr_expect_eq(charges_with("acq_a", "ch_9995", state), 1);
	cr_expect_str_eq(state, "declined");
}

Test(sim, outage_refuse_then_back_on_the_same_port)
{
	struct sim_resp r;
	sim_admin_set(&S, "acq_a", "{\"outage\":\"refuse\"}");
	authorize("acq_a", "ch_out1", 100, true, CARD, &r);
	cr_expect_eq(r.curl_code, CURLE_COULDNT_CONNECT, "curl code %d, status %ld", r.curl_code,
		     r.status);
	sim_resp_free(&r);
	cr_expect_eq(charges_with("acq_a", "ch_out1", NULL), 0);
	sim_admin_set(&S, "acq_a", "{\"outage\":\"none\"}");
	authorize("acq_a", "ch_out2", 100, true, CARD, &r); /* the URL of the ready line */
	cr_expect_eq(r.status, 200, "curl %d status %ld", r.curl_code, r.status);
	cr_expect_str_eq(sim_str(&r, "code"), "00");
	sim_resp_free(&r);
}

Test(sim, outage_503_executes_nothing)
{
	struct sim_resp r;
	sim_admin_set(&S, "acq_b", "{\"outage\":\"503\"}");
	authorize("acq_b", "ch_503", 100, true, CARD, &r);
	cr_expect_eq(r.status, 503);
	sim_resp_free(&r);
	char url[256];
	snprintf(url, sizeof url, "%s/v1/health", sim_channel_url(&S, "acq_b"));
	sim_http(url, NULL, NULL, 0, &r);
	cr_expect_eq(r.status, 503);
	sim_resp_free(&r);
	cr_expect_eq(charges_with("acq_b", "ch_503", NULL), 0);
}

Test(sim, lost_answer_is_executed_anyway)
{
	struct sim_resp r;
	sim_admin_set(&S, "acq_a", "{\"lost_rate\":1}");
	authorize("acq_a", "ch_lost", 300, true, CARD, &r);
	cr_expect_eq(r.curl_code, CURLE_GOT_NOTHING, "curl code %d status %ld", r.curl_code,
		     r.status);
	sim_resp_free(&r);
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
	struct sim_resp r;
	post("acq_a", "/v1/query", "{\"reference\":\"ch_slow\"}", &r);
	snprintf(w->got, sizeof w->got, "%s", sim_str(&r, "state"));
	sim_resp_free(&r);
	return strcmp(w->got, w->want) == 0;
}

Test(sim, slow_before_execution_is_processing_then_captured)
{
	char body[64];
	snprintf(body, sizeof body, "{\"slow_rate\":1,\"slow_ms\":%d,\"slow_before_execution\":true}",
		 SIM_SLOW_TEST_MS);
	sim_admin_set(&S, "acq_a", body);
	struct sim_resp r;
	char auth[512];
	snprintf(auth, sizeof auth,
		 "{\"reference\":\"ch_slow\",\"amount\":900,\"currency\":\"USD\",\"capture\":true,"
		 "\"method\":%s}", CARD);
	/* payd's side gives up before the answer: the outcome is unknown. */
	signed_post_as("acq_a", "/v1/authorize", auth, "sa", 0, SIM_CLIENT_TIMEOUT_MS, &r);
	cr_expect_eq(r.curl_code, CURLE_OPERATION_TIMEDOUT, "curl code %d", r.curl_code);
	sim_resp_free(&r);
	struct query_wait w = {.want = "processing"};
	cr_assert(poll_until(query_state_is, &w, SIM_SLOW_TEST_MS / 2, SIM_QUERY_POLL_MS),
		  "query said %s, not processing", w.got);
	w.want = "captured";
	cr_assert(poll_until(query_state_is, &w, SIM_SLOW_WAIT_MS, SIM_QUERY_POLL_MS),
		  "query still says %s", w.got);
	cr_expect_eq(charges_with("acq_a", "ch_slow", NULL), 1);
}

static void refund(const char *ref, long amount, struct sim_resp *r)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"reference\":\"%s\",\"payment_reference\":\"ch_ref\",\"amount\":%ld,"
		 "\"currency\":\"USD\"}", ref, amount);
	post("acq_a", "/v1/refund", body, r);
}

Test(sim, refunds_and_captures_stay_within_the_money)
{
	struct sim_resp r;
	authorize("acq_a", "ch_ref", 1000, false, CARD, &r);
	cr_expect_str_eq(sim_str(&r, "state"), "authorized");
	sim_resp_free(&r);
	refund("re_early", 100, &r);
	cr_expect_str_eq(sim_str(&r, "code"), "12", "nothing captured yet");
	cr_expect_str_eq(sim_str(&r, "state"), "failed");
	sim_resp_free(&r);
	post("acq_a", "/v1/capture", "{\"reference\":\"ch_ref\",\"amount\":1500}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "12", "capture over the authorization");
	sim_resp_free(&r);
	post("acq_b", "/v1/authorize",
	     "{\"reference\":\"ch_x\",\"amount\":10,\"currency\":\"USD\",\"capture\":false,"
	     "\"method\":" CARD "}", &r);
	sim_resp_free(&r);
	post("acq_b", "/v1/capture", "{\"reference\":\"ch_x\",\"amount\":10}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "00");
	sim_resp_free(&r);
	post("acq_a", "/v1/capture", "{\"reference\":\"ch_ref\",\"amount\":1000}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "00");
	cr_expect_str_eq(sim_str(&r, "state"), "captured");
	sim_resp_free(&r);
	refund("re_1", 600, &r);
	cr_expect_str_eq(sim_str(&r, "code"), "00");
	cr_expect_str_eq(sim_str(&r, "state"), "succeeded");
	sim_resp_free(&r);
	refund("re_2", 500, &r);
	cr_expect_str_eq(sim_str(&r, "code"), "12", "over captured minus refunded");
	cr_expect_str_eq(sim_str(&r, "state"), "failed");
	sim_resp_free(&r);
	refund("re_3", 400, &r);
	cr_expect_str_eq(sim_str(&r, "state"), "succeeded");
	sim_resp_free(&r);
	post("acq_a", "/v1/query", "{\"reference\":\"ch_ref\"}", &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "refunded_amount")), 1000);
	sim_resp_free(&r);
	post("acq_a", "/v1/query_refund", "{\"reference\":\"re_2\"}", &r);
	cr_expect_str_eq(sim_str(&r, "state"), "failed");
	sim_resp_free(&r);
	post("acq_a", "/v1/void", "{\"reference\":\"ch_ref\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "12", "a captured payment is not voided");
	sim_resp_free(&r);
}

Test(sim, wallet_vocabularies)
{
	struct sim_resp r;
	authorize("alipay_sim", "ch_ali0", 100, true, "{\"type\":\"alipay\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "SUCCESS");
	cr_expect(answer_signed(&r, "sw"));
	sim_resp_free(&r);
	sim_admin_set(&S, "alipay_sim", "{\"outcomes\":{\"ACQ.BUYER_BALANCE_NOT_ENOUGH\":100}}");
	sim_admin_set(&S, "wechat_sim", "{\"outcomes\":{\"NOTENOUGH\":100}}");
	authorize("alipay_sim", "ch_ali1", 100, true, "{\"type\":\"alipay\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
	cr_expect_str_eq(sim_str(&r, "state"), "declined");
	sim_resp_free(&r);
	authorize("wechat_sim", "ch_wx1", 100, true, "{\"type\":\"wechat_pay\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "NOTENOUGH");
	cr_expect_str_eq(sim_str(&r, "message"), "Balance not enough");
	cr_expect_str_eq(sim_str(&r, "state"), "declined");
	sim_resp_free(&r);
	sim_admin_set(&S, "wechat_sim", "{\"outcomes\":{\"SYSTEMERROR\":100}}");
	authorize("wechat_sim", "ch_wx2", 100, true, "{\"type\":\"wechat_pay\"}", &r);
	cr_expect_str_eq(sim_str(&r, "code"), "SYSTEMERROR");
	cr_expect_str_eq(sim_str(&r, "state"), "none", "not executed");
	sim_resp_free(&r);
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
		struct sim_resp r;
		cr_expect_eq(sim_admin_post(&S, "acq_a", cases[i].body, &r), 400, "%s", cases[i].body);
		cr_expect_str_eq(sim_str(&r, "field"), cases[i].field, "%s: %s", cases[i].body, r.body);
		sim_resp_free(&r);
	}
	struct sim_resp r;
	cr_expect_eq(sim_admin_post(&S, "nope", "{}", &r), 404);
	sim_resp_free(&r);
	char url[256];
	snprintf(url, sizeof url, "%s/admin/nothing", sim_admin_url(&S));
	sim_http(url, NULL, NULL, 0, &r);
	cr_expect_eq(r.status, 404);
	sim_resp_free(&r);
	/* nothing changed: the mix is still 100% approvals */
	json_t *sc = sim_admin_get(&S, "/admin/scenario");
	json_t *mix = json_object_get(json_array_get(json_object_get(sc, "channels"), 0), "outcomes");
	cr_expect_eq(json_integer_value(json_object_get(mix, "00")), 100);
	cr_expect_eq(json_object_size(mix), 1);
	json_decref(sc);
}

Test(sim, bad_scenario_and_flags_exit_2)
{
	char err[2048];
	const char *bad = "{\"channels\":[{\"name\":\"a\",\"kind\":\"acquirer\",\"secret\":\"s\"},"
			  "{\"name\":\"b\",\"kind\":\"acquirer\",\"secret\":\"s\","
			  "\"outcomes\":{\"77\":1}}]}";
	cr_expect_eq(sim_run_bad(&S, bad, NULL, err, sizeof err), 2);
	cr_expect(strstr(err, "channels[1].outcomes: unknown code \"77\" for kind acquirer"), "%s",
		  err);
	cr_expect_eq(sim_run_bad(&S, scenario, "--bogus", err, sizeof err), 2);
	cr_expect(strstr(err, "usage:"), "%s", err);
}

#define SIM_REPLAY_N 24

/* SIM_REPLAY_N sequential authorizations on acq_a with a 50/50 mix: the
 * string of answered codes ("0051005100..."). */
static void draw_codes(char out[2 * SIM_REPLAY_N + 1])
{
	sim_admin_set(&S, "acq_a", "{\"outcomes\":{\"00\":1,\"51\":1}}");
	out[0] = '\0';
	for (int i = 0; i < SIM_REPLAY_N; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "ch_seed%d", i);
		struct sim_resp r;
		authorize("acq_a", ref, 100, true, CARD, &r);
		cr_assert_eq(strlen(sim_str(&r, "code")), 2, "%s", r.body);
		strcat(out, sim_str(&r, "code"));
		sim_resp_free(&r);
	}
}

Test(sim, a_seed_replays_the_same_outcomes)
{
	char first[2 * SIM_REPLAY_N + 1], second[2 * SIM_REPLAY_N + 1];
	draw_codes(first);
	cr_expect(strstr(first, "00") && strstr(first, "51"), "a 50/50 mix gave %s", first);
	cr_assert_eq(sim_stop(&S), 0);
	json_decref(S.urls);
	S.urls = NULL;
	remove(S.ready);
	cr_assert(sim_launch(&S), "payd-sim did not restart");
	draw_codes(second);
	cr_expect_str_eq(first, second, "the same seed must replay the same mix");
}
