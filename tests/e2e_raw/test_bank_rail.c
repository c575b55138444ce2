/* tests/e2e_raw/test_bank_rail: payd's bank rail channel (channel/bank.c,
 * through channel_new and the dispatcher) against the real payd-sim.
 *
 * Each test starts its own payd-sim ($SIM_BIN, else build/payd-sim) with
 * one bank channel in a mkdtemp directory, makes a payd `struct channel`
 * of kind bank for it and a dispatcher, and drives payouts the way the
 * engine will: PAYOUT, then QUERY_PAYOUT polled (bounded) until the rail
 * says how it ended.  The tiny callback receiver of sim_client.c (plain
 * sockets, its own thread) stands in for payd's callback endpoint: it keeps
 * each callback's body and X-Payd-Signature, which parse_callback must
 * accept.  .fini stops payd-sim with SIGTERM and fails unless it exits 0. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel/channel.h"
#include "core/catalog.h"
#include "harness.h"
#include "sim_client.h"

#define BR_POLL_MS 5
#define BR_WAIT_MS 15000   /* longest wait for a result, a state or a callback */
#define BR_SECRET "s3cret-bank-a"
#define BR_TIMEOUT_MS 5000 /* the channel's timeout */

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

static struct sim SIM;

static struct {
	struct channel *ch;
	struct channel_dispatch *disp;
} S;

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
	memset(&S, 0, sizeof S);
	sim_start(&SIM, "payd-bank-rail", scenario);

	struct channel_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "bank_a");
	snprintf(cfg.kind, sizeof cfg.kind, "bank");
	snprintf(cfg.url, sizeof cfg.url, "%s", sim_channel_url(&SIM, "bank_a"));
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
	sim_admin_set(&SIM, "bank_a", body);
}

static void rail_teardown(void)
{
	channel_dispatch_stop(S.disp);
	S.disp = NULL;
	if (S.ch)
		S.ch->ops->destroy(S.ch);
	S.ch = NULL;
	int status = sim_stop(&SIM);
	rx_stop();
	sim_finish(&SIM, status);
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
	sim_admin_set(&SIM, "bank_a", "{\"payout_outcomes\":{\"failed:AC04\":1}}");
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
	sim_admin_set(&SIM, "bank_a", "{\"payout_outcomes\":{\"returned:AC04\":1}}");
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
	sim_admin_set(&SIM, "bank_a", "{\"outage\":\"503\"}");
	struct channel_result r = payout("po_out");
	cr_assert_eq(r.outcome, CH_NOT_EXECUTED, "raw %s", r.raw_code);
	cr_assert_eq(r.code, 201);
	cr_assert_str_eq(r.raw_code, "HTTP_503");
	r = query("po_out");
	cr_assert_eq(r.outcome, CH_NOT_EXECUTED);
	cr_assert_eq(r.code, 201);
	sim_admin_set(&SIM, "bank_a", "{\"outage\":\"none\"}");
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
	sim_admin_set(&SIM, "bank_a", "{\"payout_outcomes\":{\"failed:AC01\":1}}");
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
