/* tests/unit/test_route: route/route.c and route/health.c.  The plan
 * (filtering by method, currency, amount; priority order, ties in
 * configuration order), the breaker (min_volume, the threshold, cool-down,
 * half-open, closing after N probe successes, reopening on a probe
 * failure), the sliding window, latency percentiles, the probe schedule
 * and the snapshot (fields, and never the secret).  Every time is an
 * explicit now_ms: no clock, no sleep.  Network channels are plain structs
 * with a dummy ops (call == NULL); the sandbox is the real one.  The bank
 * payout rails' tests (route_plan_payout, rails kept out of payment plans,
 * probed, shown with methods ["payout"]) use real channels from
 * channel_new. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "route/route.h"

#define T0 INT64_C(1795255200000)
#define WINDOW_MS 10000 /* buckets of 1000 ms */
#define COOLDOWN_MS 5000
#define INTERVAL_MS 2000
#define TIMEOUT_MS 3000
#define NAMES_CAP 256

static const struct channel_ops net_ops = {.kind = "acquirer"};

static struct {
	struct route_config cfg;
	struct channel net[ROUTE_CHANNELS_MAX];
	struct channel *chans[ROUTE_CHANNELS_MAX];
	struct route *r;
} fx;

#define BREAKER                                                                                   \
	"\"breaker\":{\"window_ms\":10000,\"min_volume\":20,\"failure_pct\":50,"                    \
	"\"cooldown_ms\":5000,\"probe_successes\":2,\"probe_interval_ms\":2000}"
#define NET(name, kind, extra)                                                                    \
	"{\"name\":\"" name "\",\"kind\":\"" kind "\",\"url\":\"http://127.0.0.1:40001\","          \
	"\"secret\":\"TOPSECRET-" name "\",\"timeout_ms\":3000" extra "}"

/* acq_a primary (USD/EUR, 50..100000), acq_b backup (any currency),
 * the two wallets, and the sandbox last. */
static const char four_channels[] =
	"{\"channels\":["
	NET("acq_a", "acquirer", ",\"priority\":1,\"currencies\":[\"USD\",\"EUR\"],"
				 "\"min_amount\":50,\"max_amount\":100000") ","
	NET("acq_b", "acquirer", ",\"priority\":2") ","
	NET("alipay_sim", "wallet_a", ",\"priority\":1,\"currencies\":[\"CNY\"]") ","
	NET("wechat_sim", "wallet_b", ",\"priority\":1") ","
	"{\"name\":\"sandbox\",\"kind\":\"sandbox\",\"priority\":500}"
	"]," BREAKER "}";

static void make_route(const char *json)
{
	char err[256];
	memset(&fx, 0, sizeof fx);
	cr_assert_eq(route_config_parse(json, &fx.cfg, err, sizeof err), 0, "%s", err);
	for (int i = 0; i < fx.cfg.channel_count; i++) {
		const struct channel_config *c = &fx.cfg.channels[i];
		if (strcmp(c->kind, "sandbox") == 0) {
			fx.chans[i] = sandbox_channel_new(c->name);
			cr_assert_not_null(fx.chans[i]);
		} else {
			fx.net[i].ops = &net_ops;
			fx.chans[i] = &fx.net[i];
		}
		memcpy(fx.chans[i]->name, c->name, sizeof c->name);
		fx.chans[i]->config = *c;
	}
	fx.r = route_new(&fx.cfg, fx.chans);
	cr_assert_not_null(fx.r);
}

static void free_route(void)
{
	route_free(fx.r);
	for (int i = 0; i < fx.cfg.channel_count; i++)
		if (fx.chans[i] != &fx.net[i])
			fx.chans[i]->ops->destroy(fx.chans[i]);
	memset(&fx, 0, sizeof fx);
}

static void setup_four(void)
{
	make_route(four_channels);
}

/* "acq_a,acq_b,sandbox" */
static const char *plan(enum pm_type type, const char *currency, int64_t amount, int64_t now)
{
	static char names[NAMES_CAP];
	struct channel *out[ROUTE_CHANNELS_MAX];
	int n = route_plan(fx.r, type, currency, amount, now, out, ROUTE_CHANNELS_MAX);
	names[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
			 out[i]->name);
	return names;
}

/* The snapshot object of one channel (a new reference). */
static json_t *snap(const char *name, int64_t now)
{
	json_t *list = route_snapshot(fx.r, now);
	cr_assert(json_is_array(list));
	json_t *found = NULL;
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			found = json_incref(o);
	}
	json_decref(list);
	cr_assert_not_null(found, "%s not in the snapshot", name);
	return found;
}

static const char *breaker_of(const char *name, int64_t now)
{
	static char state[16];
	json_t *o = snap(name, now);
	snprintf(state, sizeof state, "%s", json_string_value(json_object_get(o, "breaker")));
	json_decref(o);
	return state;
}

static json_int_t window_int(const char *name, const char *key, int64_t now)
{
	json_t *o = snap(name, now);
	json_int_t v = json_integer_value(json_object_get(json_object_get(o, "window"), key));
	json_decref(o);
	return v;
}

static void record_n(const char *name, int n, bool ok, int64_t now)
{
	for (int i = 0; i < n; i++)
		route_record(fx.r, name, ok, 10, now);
}

/* Opens acq_a at `now` (20 failures) and checks it. */
static void open_acq_a(int64_t now)
{
	record_n("acq_a", 20, false, now);
	cr_assert_str_eq(breaker_of("acq_a", now), "open");
}

/* ---- construction and lookup --------------------------------------------- */

Test(route, lookup_and_accessors, .init = setup_four, .fini = free_route)
{
	cr_assert_eq(route_channel_count(fx.r), 5);
	cr_assert_eq(route_channel(fx.r, 0), fx.chans[0]);
	cr_assert_eq(route_channel(fx.r, 4), fx.chans[4]);
	cr_assert_null(route_channel(fx.r, 5));
	cr_assert_null(route_channel(fx.r, -1));
	cr_assert_eq(route_find(fx.r, "wechat_sim"), fx.chans[3]);
	cr_assert_null(route_find(fx.r, "nope"));
	cr_assert_null(route_find(fx.r, NULL));
	cr_assert_eq(route_config_of(fx.r)->breaker.window_ms, WINDOW_MS);
	cr_assert_neq(route_config_of(fx.r), &fx.cfg, "the configuration is copied");
}

Test(route, new_refuses_mismatched_channels)
{
	struct route_config cfg;
	route_config_default(&cfg);
	struct channel other = {.ops = &net_ops, .name = "other"};
	struct channel *list[1] = {&other};
	cr_assert_null(route_new(&cfg, list));
	list[0] = NULL;
	cr_assert_null(route_new(&cfg, list));
}

Test(route, default_configuration_routes_everything_to_the_sandbox)
{
	struct route_config cfg;
	route_config_default(&cfg);
	struct channel *sb = sandbox_channel_new(NULL);
	struct route *r = route_new(&cfg, &sb);
	cr_assert_not_null(r);
	struct channel *out[2];
	cr_assert_eq(route_plan(r, PM_WECHAT_PAY, "JPY", 1, T0, out, 2), 1);
	cr_assert_eq(out[0], sb);
	route_free(r);
	sb->ops->destroy(sb);
}

/* ---- the plan ---------------------------------------------------------------- */

Test(route, plan_filters_by_method, .init = setup_four, .fini = free_route)
{
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, T0), "acq_a,acq_b,sandbox");
	cr_assert_str_eq(plan(PM_ALIPAY, "CNY", 1000, T0), "alipay_sim,sandbox");
	cr_assert_str_eq(plan(PM_WECHAT_PAY, "CNY", 1000, T0), "wechat_sim,sandbox");
	cr_assert_str_eq(plan(PM_NONE, "USD", 1000, T0), "");
}

Test(route, plan_filters_by_currency, .init = setup_four, .fini = free_route)
{
	cr_assert_str_eq(plan(PM_CARD, "EUR", 1000, T0), "acq_a,acq_b,sandbox");
	cr_assert_str_eq(plan(PM_CARD, "usd", 1000, T0), "acq_a,acq_b,sandbox", "any case");
	cr_assert_str_eq(plan(PM_CARD, "CNY", 1000, T0), "acq_b,sandbox");
	cr_assert_str_eq(plan(PM_ALIPAY, "USD", 1000, T0), "sandbox");
	cr_assert_str_eq(plan(PM_CARD, NULL, 1000, T0), "acq_b,sandbox");
}

Test(route, plan_filters_by_amount, .init = setup_four, .fini = free_route)
{
	cr_assert_str_eq(plan(PM_CARD, "USD", 49, T0), "acq_b,sandbox");
	cr_assert_str_eq(plan(PM_CARD, "USD", 50, T0), "acq_a,acq_b,sandbox");
	cr_assert_str_eq(plan(PM_CARD, "USD", 100000, T0), "acq_a,acq_b,sandbox");
	cr_assert_str_eq(plan(PM_CARD, "USD", 100001, T0), "acq_b,sandbox");
	cr_assert_str_eq(plan(PM_CARD, "USD", 99999999999LL, T0), "acq_b,sandbox", "max 0: no limit");
}

Test(route, plan_orders_by_priority_then_configuration)
{
	make_route("{\"channels\":["
		   "{\"name\":\"c\",\"kind\":\"sandbox\",\"priority\":7},"
		   "{\"name\":\"a\",\"kind\":\"sandbox\",\"priority\":5},"
		   "{\"name\":\"d\",\"kind\":\"sandbox\",\"priority\":7},"
		   "{\"name\":\"b\",\"kind\":\"sandbox\",\"priority\":5},"
		   "{\"name\":\"e\",\"kind\":\"sandbox\"}]}");
	cr_assert_str_eq(plan(PM_CARD, "USD", 1, T0), "a,b,c,d,e");
	struct channel *out[2];
	cr_assert_eq(route_plan(fx.r, PM_CARD, "USD", 1, T0, out, 2), 2, "at most cap");
	cr_assert_str_eq(out[0]->name, "a");
	cr_assert_str_eq(out[1]->name, "b");
	cr_assert_eq(route_plan(fx.r, PM_CARD, "USD", 1, T0, out, 0), 0);
	free_route();
}

Test(route, accepts_type, .init = setup_four, .fini = free_route)
{
	cr_assert(route_accepts_type(fx.r, PM_CARD));
	cr_assert(route_accepts_type(fx.r, PM_ALIPAY));
	cr_assert(!route_accepts_type(fx.r, PM_NONE));
	free_route();
	make_route("{\"channels\":[" NET("acq_a", "acquirer", "") "]}");
	cr_assert(route_accepts_type(fx.r, PM_CARD));
	cr_assert(!route_accepts_type(fx.r, PM_ALIPAY));
	cr_assert(!route_accepts_type(fx.r, PM_WECHAT_PAY));
	record_n("acq_a", 20, false, T0); /* open: still "enabled" */
	cr_assert(route_accepts_type(fx.r, PM_CARD));
}

/* ---- the breaker --------------------------------------------------------------- */

Test(route, breaker_needs_min_volume, .init = setup_four, .fini = free_route)
{
	record_n("acq_a", 19, false, T0);
	cr_assert_str_eq(breaker_of("acq_a", T0), "closed", "19 failures < min_volume 20");
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, T0), "acq_a,acq_b,sandbox");
	record_n("acq_a", 1, false, T0);
	cr_assert_str_eq(breaker_of("acq_a", T0), "open");
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, T0), "acq_b,sandbox");
	cr_assert_str_eq(breaker_of("acq_b", T0), "closed", "one channel's failures only");
}

Test(route, breaker_opens_at_the_threshold, .init = setup_four, .fini = free_route)
{
	record_n("acq_a", 11, true, T0);
	record_n("acq_a", 9, false, T0);
	cr_assert_str_eq(breaker_of("acq_a", T0), "closed", "9/20 = 45%");
	record_n("acq_a", 1, false, T0);
	cr_assert_str_eq(breaker_of("acq_a", T0), "closed", "10/21 < 50%");
	record_n("acq_a", 1, false, T0);
	cr_assert_str_eq(breaker_of("acq_a", T0), "open", "11/22 = 50%");
	json_t *o = snap("acq_a", T0 + 1);
	cr_assert_eq(json_integer_value(json_object_get(o, "opened_at_ms")), T0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "state")), "unhealthy");
	json_decref(o);
}

Test(route, breaker_stays_open_during_cooldown_then_half_open, .init = setup_four,
     .fini = free_route)
{
	open_acq_a(T0);
	record_n("acq_a", 50, true, T0 + 100); /* late answers do not close it */
	cr_assert_str_eq(breaker_of("acq_a", T0 + COOLDOWN_MS - 1), "open");
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, T0 + COOLDOWN_MS - 1), "acq_b,sandbox");
	cr_assert_str_eq(breaker_of("acq_a", T0 + COOLDOWN_MS), "half_open");
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, T0 + COOLDOWN_MS), "acq_b,sandbox",
			 "half-open: only probes decide");
	record_n("acq_a", 50, true, T0 + COOLDOWN_MS + 1);
	cr_assert_str_eq(breaker_of("acq_a", T0 + COOLDOWN_MS + 1), "half_open");
}

Test(route, half_open_closes_after_probe_successes, .init = setup_four, .fini = free_route)
{
	int64_t t = T0 + COOLDOWN_MS;
	open_acq_a(T0);
	struct channel *due[ROUTE_CHANNELS_MAX];
	route_probes_due(fx.r, T0, due, ROUTE_CHANNELS_MAX); /* first probes of everyone */
	for (int i = 0; i < 4; i++)
		route_probe_result(fx.r, fx.chans[i]->name, true, 5, T0);
	cr_assert_str_eq(breaker_of("acq_a", T0 + 1), "open", "a probe while open changes nothing");
	cr_assert_eq(route_probes_due(fx.r, t, due, ROUTE_CHANNELS_MAX), 4);
	route_probe_result(fx.r, "acq_a", true, 5, t + 10);
	cr_assert_str_eq(breaker_of("acq_a", t + 10), "half_open", "1 of 2");
	route_probe_result(fx.r, "acq_a", true, 5, t + 20);
	cr_assert_str_eq(breaker_of("acq_a", t + 20), "closed");
	cr_assert_eq(window_int("acq_a", "calls", t + 20), 0, "window cleared on closing");
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, t + 20), "acq_a,acq_b,sandbox");
}

Test(route, probe_failure_in_half_open_reopens, .init = setup_four, .fini = free_route)
{
	int64_t t = T0 + COOLDOWN_MS;
	open_acq_a(T0);
	route_probe_result(fx.r, "acq_a", true, 5, t);
	cr_assert_str_eq(breaker_of("acq_a", t), "half_open");
	route_probe_result(fx.r, "acq_a", false, 5, t + 500);
	cr_assert_str_eq(breaker_of("acq_a", t + 500), "open");
	json_t *o = snap("acq_a", t + 500);
	cr_assert_eq(json_integer_value(json_object_get(o, "opened_at_ms")), t + 500);
	json_decref(o);
	cr_assert_str_eq(breaker_of("acq_a", t + 500 + COOLDOWN_MS - 1), "open", "a new cool-down");
	cr_assert_str_eq(breaker_of("acq_a", t + 500 + COOLDOWN_MS), "half_open");
	/* the streak starts again: one success is not enough */
	route_probe_result(fx.r, "acq_a", true, 5, t + 500 + COOLDOWN_MS);
	cr_assert_str_eq(breaker_of("acq_a", t + 500 + COOLDOWN_MS), "half_open");
}

Test(route, sandbox_breaker_never_opens, .init = setup_four, .fini = free_route)
{
	record_n("sandbox", 100, false, T0);
	cr_assert_str_eq(breaker_of("sandbox", T0), "closed");
	cr_assert_eq(window_int("sandbox", "failures", T0), 100);
	cr_assert_str_eq(plan(PM_CARD, "CNY", 1, T0), "acq_b,sandbox");
}

Test(route, unknown_channel_names_are_ignored, .init = setup_four, .fini = free_route)
{
	route_record(fx.r, "nope", false, 1, T0);
	route_record(fx.r, NULL, false, 1, T0);
	route_probe_result(fx.r, "nope", false, 1, T0);
	cr_assert_str_eq(plan(PM_CARD, "USD", 1000, T0), "acq_a,acq_b,sandbox");
}

/* ---- the window ----------------------------------------------------------------- */

Test(route, window_slides, .init = setup_four, .fini = free_route)
{
	record_n("acq_a", 15, false, T0);
	record_n("acq_a", 4, true, T0 + 5000);
	cr_assert_eq(window_int("acq_a", "calls", T0 + WINDOW_MS - 1), 19);
	cr_assert_eq(window_int("acq_a", "failures", T0 + WINDOW_MS - 1), 15);
	/* T0's bucket has aged out: only the 4 successes remain */
	cr_assert_eq(window_int("acq_a", "calls", T0 + WINDOW_MS), 4);
	cr_assert_eq(window_int("acq_a", "failures", T0 + WINDOW_MS), 0);
	/* 5 failures + 12 successes now: 20 of 36 would open it, 5 of 21 does not */
	record_n("acq_a", 5, false, T0 + WINDOW_MS);
	record_n("acq_a", 12, true, T0 + WINDOW_MS);
	cr_assert_str_eq(breaker_of("acq_a", T0 + WINDOW_MS), "closed");
	cr_assert_eq(window_int("acq_a", "calls", T0 + WINDOW_MS), 21);
	cr_assert_eq(window_int("acq_a", "calls", T0 + 3 * WINDOW_MS), 0, "all aged out");
}

Test(route, time_going_back_is_taken_as_the_latest, .init = setup_four, .fini = free_route)
{
	record_n("acq_a", 3, true, T0 + 20000);
	record_n("acq_a", 2, false, T0); /* an older time: counted now */
	cr_assert_eq(window_int("acq_a", "calls", T0 + 20000), 5);
	cr_assert_eq(window_int("acq_a", "failures", T0 + 20000), 2);
}

static json_int_t latency(const char *name, const char *key, int64_t now)
{
	json_t *o = snap(name, now);
	json_t *l = json_object_get(o, "latency_ms");
	cr_assert(json_is_object(l));
	json_int_t v = json_integer_value(json_object_get(l, key));
	json_decref(o);
	return v;
}

Test(route, latency_percentiles_report_the_bucket_bound, .init = setup_four, .fini = free_route)
{
	for (int i = 0; i < 50; i++)
		route_record(fx.r, "acq_b", true, 3, T0);   /* bucket (2, 5] */
	for (int i = 0; i < 49; i++)
		route_record(fx.r, "acq_b", true, 40, T0);  /* (20, 50] */
	route_record(fx.r, "acq_b", true, 900, T0);         /* (500, 1000] */
	cr_assert_eq(latency("acq_b", "p50", T0), 5);
	cr_assert_eq(latency("acq_b", "p99", T0), 50);
	route_record(fx.r, "acq_b", true, 900, T0);  /* 101 calls: rank 100 */
	cr_assert_eq(latency("acq_b", "p99", T0), 1000);
	route_record(fx.r, "acq_a", true, 1, T0);
	cr_assert_eq(latency("acq_a", "p50", T0), 1);
	cr_assert_eq(latency("acq_a", "p99", T0), 1);
	route_record(fx.r, "wechat_sim", true, 600000, T0);
	cr_assert_eq(latency("wechat_sim", "p99", T0), 60000, "capped at 60 s");
	route_record(fx.r, "alipay_sim", true, 0, T0);
	cr_assert_eq(latency("alipay_sim", "p50", T0), 1, "0 ms counts in the first bucket");
}

/* ---- probes ----------------------------------------------------------------------- */

Test(route, probes_of_network_channels_only, .init = setup_four, .fini = free_route)
{
	struct channel *due[ROUTE_CHANNELS_MAX];
	cr_assert_eq(route_next_probe_ms(fx.r, T0), 0);
	cr_assert_eq(route_probes_due(fx.r, T0, due, ROUTE_CHANNELS_MAX), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_str_neq(due[i]->name, "sandbox");
	cr_assert_eq(route_probes_due(fx.r, T0, due, ROUTE_CHANNELS_MAX), 0, "marked as probed");
	for (int i = 0; i < 4; i++)
		route_probe_result(fx.r, fx.chans[i]->name, true, 5, T0 + 5);
	cr_assert_eq(route_next_probe_ms(fx.r, T0 + 5), INTERVAL_MS - 5);
	cr_assert_eq(route_probes_due(fx.r, T0 + INTERVAL_MS - 1, due, ROUTE_CHANNELS_MAX), 0);
	cr_assert_eq(route_probes_due(fx.r, T0 + INTERVAL_MS, due, 2), 2, "at most cap");
	cr_assert_eq(route_probes_due(fx.r, T0 + INTERVAL_MS, due, ROUTE_CHANNELS_MAX), 2, "the rest");
}

Test(route, sandbox_alone_has_no_probes)
{
	make_route("{\"channels\":[{\"name\":\"sandbox\",\"kind\":\"sandbox\"}]}");
	struct channel *due[1];
	cr_assert_eq(route_next_probe_ms(fx.r, T0), -1);
	cr_assert_eq(route_probes_due(fx.r, T0, due, 1), 0);
	route_probe_result(fx.r, "sandbox", false, 1, T0);
	json_t *o = snap("sandbox", T0);
	cr_assert(json_is_null(json_object_get(o, "last_probe")));
	json_decref(o);
	free_route();
}

Test(route, a_probe_in_flight_holds_the_next_until_lost, .init = setup_four, .fini = free_route)
{
	struct channel *due[ROUTE_CHANNELS_MAX];
	cr_assert_eq(route_probes_due(fx.r, T0, due, ROUTE_CHANNELS_MAX), 4);
	for (int i = 1; i < 4; i++)
		route_probe_result(fx.r, fx.chans[i]->name, true, 5, T0);
	/* acq_a's probe is never answered */
	cr_assert_eq(route_probes_due(fx.r, T0 + INTERVAL_MS, due, ROUTE_CHANNELS_MAX), 3);
	cr_assert_eq(route_next_probe_ms(fx.r, T0 + INTERVAL_MS), TIMEOUT_MS,
		     "acq_a: lost at sent + timeout + interval");
	int64_t lost = T0 + TIMEOUT_MS + INTERVAL_MS;
	cr_assert_eq(route_probes_due(fx.r, lost - 1, due, ROUTE_CHANNELS_MAX), 0);
	cr_assert_eq(route_probes_due(fx.r, lost, due, ROUTE_CHANNELS_MAX), 1);
	cr_assert_str_eq(due[0]->name, "acq_a");
}

Test(route, open_channel_is_probed_when_the_cooldown_ends, .init = setup_four, .fini = free_route)
{
	struct channel *due[ROUTE_CHANNELS_MAX];
	cr_assert_eq(route_probes_due(fx.r, T0, due, ROUTE_CHANNELS_MAX), 4);
	for (int i = 0; i < 4; i++)
		route_probe_result(fx.r, fx.chans[i]->name, true, 5, T0);
	open_acq_a(T0 + 1000);
	/* others are probed every interval; acq_a not while open */
	cr_assert_eq(route_probes_due(fx.r, T0 + 2000, due, ROUTE_CHANNELS_MAX), 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_str_neq(due[i]->name, "acq_a");
		route_probe_result(fx.r, due[i]->name, true, 5, T0 + 2000);
	}
	cr_assert_eq(route_next_probe_ms(fx.r, T0 + 2000), 2000, "the others, then acq_a");
	cr_assert_eq(route_probes_due(fx.r, T0 + 4000, due, ROUTE_CHANNELS_MAX), 3);
	for (int i = 0; i < 3; i++)
		route_probe_result(fx.r, due[i]->name, true, 5, T0 + 4000);
	cr_assert_eq(route_next_probe_ms(fx.r, T0 + 4000), 2000, "cool-down ends at T0 + 6000");
	cr_assert_eq(route_probes_due(fx.r, T0 + 6000, due, ROUTE_CHANNELS_MAX), 4);
	cr_assert_str_eq(due[0]->name, "acq_a");
	route_probe_result(fx.r, "acq_a", true, 5, T0 + 6010);
	/* half-open: the next probe a probe interval after the last one */
	cr_assert_eq(route_probes_due(fx.r, T0 + 7999, due, ROUTE_CHANNELS_MAX), 0);
	cr_assert_eq(route_probes_due(fx.r, T0 + 8000, due, ROUTE_CHANNELS_MAX), 1);
	cr_assert_str_eq(due[0]->name, "acq_a");
	route_probe_result(fx.r, "acq_a", true, 5, T0 + 8010);
	cr_assert_str_eq(breaker_of("acq_a", T0 + 8010), "closed");
}

Test(route, probes_in_closed_count_into_the_window, .init = setup_four, .fini = free_route)
{
	record_n("acq_a", 19, false, T0);
	route_probe_result(fx.r, "acq_a", false, 5, T0 + 1);
	cr_assert_eq(window_int("acq_a", "calls", T0 + 1), 20);
	cr_assert_str_eq(breaker_of("acq_a", T0 + 1), "open", "the probe was the 20th failure");
}

/* ---- the snapshot --------------------------------------------------------------------- */

Test(route, snapshot_fields, .init = setup_four, .fini = free_route)
{
	record_n("acq_a", 199, true, T0);
	record_n("acq_a", 1, false, T0);
	route_probe_result(fx.r, "acq_b", false, 5, T0 + 7);
	json_t *a = snap("acq_a", T0);
	cr_assert_str_eq(json_string_value(json_object_get(a, "kind")), "acquirer");
	cr_assert_str_eq(json_string_value(json_object_get(a, "url")), "http://127.0.0.1:40001");
	json_t *m = json_object_get(a, "methods");
	cr_assert_eq(json_array_size(m), 1);
	cr_assert_str_eq(json_string_value(json_array_get(m, 0)), "card");
	json_t *c = json_object_get(a, "currencies");
	cr_assert_eq(json_array_size(c), 2);
	cr_assert_str_eq(json_string_value(json_array_get(c, 1)), "EUR");
	cr_assert_eq(json_integer_value(json_object_get(a, "min_amount")), 50);
	cr_assert_eq(json_integer_value(json_object_get(a, "max_amount")), 100000);
	cr_assert_eq(json_integer_value(json_object_get(a, "priority")), 1);
	cr_assert_eq(json_integer_value(json_object_get(a, "timeout_ms")), TIMEOUT_MS);
	cr_assert_str_eq(json_string_value(json_object_get(a, "breaker")), "closed");
	cr_assert_str_eq(json_string_value(json_object_get(a, "state")), "healthy");
	cr_assert_eq(json_integer_value(json_object_get(a, "success_rate_bp")), 9950);
	cr_assert_str_eq(json_string_value(json_object_get(a, "success_rate")), "99.5%");
	cr_assert_null(json_object_get(a, "opened_at_ms"));
	cr_assert(json_is_null(json_object_get(a, "last_probe")));
	cr_assert_null(json_object_get(a, "secret"));
	json_decref(a);

	json_t *b = snap("acq_b", T0 + 7);
	json_t *lp = json_object_get(b, "last_probe");
	cr_assert_eq(json_integer_value(json_object_get(lp, "at_ms")), T0 + 7);
	cr_assert(json_is_false(json_object_get(lp, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(b, "success_rate")), "0.0%");
	json_decref(b);

	json_t *s = snap("sandbox", T0);
	cr_assert_null(json_object_get(s, "url"), "no url for the sandbox");
	cr_assert_eq(json_array_size(json_object_get(s, "methods")), 3);
	cr_assert_eq(json_array_size(json_object_get(s, "currencies")), 0, "empty: any");
	cr_assert(json_is_null(json_object_get(s, "latency_ms")), "no calls");
	cr_assert(json_is_null(json_object_get(s, "success_rate_bp")));
	cr_assert(json_is_null(json_object_get(s, "success_rate")));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "window"), "calls")), 0);
	json_decref(s);
}

Test(route, snapshot_never_holds_a_secret, .init = setup_four, .fini = free_route)
{
	open_acq_a(T0);
	route_probe_result(fx.r, "acq_b", true, 5, T0);
	json_t *list = route_snapshot(fx.r, T0 + COOLDOWN_MS);
	cr_assert_eq(json_array_size(list), 5);
	char *text = json_dumps(list, 0);
	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "TOPSECRET"), "%s", text);
	cr_assert_null(strstr(text, "secret"), "%s", text);
	cr_assert_not_null(strstr(text, "\"half_open\""), "%s", text);
	free(text);
	json_decref(list);
}

Test(route, success_rate_rounds_down, .init = setup_four, .fini = free_route)
{
	record_n("acq_b", 2, true, T0);
	record_n("acq_b", 1, false, T0);
	json_t *o = snap("acq_b", T0);
	cr_assert_eq(json_integer_value(json_object_get(o, "success_rate_bp")), 6666);
	cr_assert_str_eq(json_string_value(json_object_get(o, "success_rate")), "66.6%");
	json_decref(o);
	record_n("acq_a", 3, true, T0);
	o = snap("acq_a", T0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "success_rate")), "100.0%");
	json_decref(o);
}

/* ---- shared use ------------------------------------------------------------------------- */

#define THREADS 4
#define RECORDS_PER_THREAD 1000

static void *recorder(void *arg)
{
	(void)arg;
	for (int i = 0; i < RECORDS_PER_THREAD; i++) {
		route_record(fx.r, "acq_b", true, i % 100, T0 + i);
		struct channel *out[ROUTE_CHANNELS_MAX];
		route_plan(fx.r, PM_CARD, "USD", 1000, T0 + i, out, ROUTE_CHANNELS_MAX);
	}
	return NULL;
}

Test(route, concurrent_records_plans_and_snapshots, .init = setup_four, .fini = free_route)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, recorder, NULL), 0);
	for (int i = 0; i < 50; i++)
		json_decref(route_snapshot(fx.r, T0 + i));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(window_int("acq_b", "calls", T0 + RECORDS_PER_THREAD), THREADS * RECORDS_PER_THREAD);
}

/* ---- payout rails (kind bank) ------------------------------------------------------- */

/* bank_a primary for CNY up to 1,000,000.00, bank_b backup for any
 * currency from 1.00, bank_c for USD only, beside a card acquirer and the
 * sandbox.  Every channel is a real one from channel_new (no I/O until
 * something is sent), so the rails carry CH_CAP_PAYOUT as in payd. */
static const char with_banks[] =
	"{\"channels\":["
	NET("acq_a", "acquirer", ",\"priority\":1") ","
	NET("bank_b", "bank", ",\"priority\":2,\"min_amount\":100") ","
	NET("bank_a", "bank", ",\"priority\":1,\"currencies\":[\"CNY\"],\"max_amount\":100000000") ","
	NET("bank_c", "bank", ",\"priority\":2,\"currencies\":[\"USD\"],\"methods\":[\"payout\"]") ","
	"{\"name\":\"sandbox\",\"kind\":\"sandbox\",\"priority\":500}"
	"]," BREAKER "}";

static void setup_banks(void)
{
	char err[256];
	memset(&fx, 0, sizeof fx);
	cr_assert_eq(route_config_parse(with_banks, &fx.cfg, err, sizeof err), 0, "%s", err);
	for (int i = 0; i < fx.cfg.channel_count; i++) {
		fx.chans[i] = channel_new(&fx.cfg.channels[i], err, sizeof err);
		cr_assert_not_null(fx.chans[i], "%s", err);
	}
	fx.r = route_new(&fx.cfg, fx.chans);
	cr_assert_not_null(fx.r);
}

/* "bank_a,bank_b" */
static const char *plan_payout(const char *currency, int64_t amount, int64_t now)
{
	static char names[NAMES_CAP];
	struct channel *out[ROUTE_CHANNELS_MAX];
	int n = route_plan_payout(fx.r, currency, amount, now, out, ROUTE_CHANNELS_MAX);
	names[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
			 out[i]->name);
	return names;
}

Test(route, plan_payout_filters_and_orders_bank_rails, .init = setup_banks, .fini = free_route)
{
	cr_assert_str_eq(plan_payout("CNY", 5000, T0), "bank_a,bank_b");
	cr_assert_str_eq(plan_payout("cny", 5000, T0), "bank_a,bank_b", "any case");
	cr_assert_str_eq(plan_payout("CNY", 50, T0), "bank_a", "under bank_b's min_amount");
	cr_assert_str_eq(plan_payout("CNY", 100000001, T0), "bank_b", "over bank_a's max_amount");
	cr_assert_str_eq(plan_payout("USD", 5000, T0), "bank_b,bank_c", "ties: configuration order");
	cr_assert_str_eq(plan_payout("EUR", 5000, T0), "bank_b");
	cr_assert_str_eq(plan_payout("EUR", 50, T0), "");
	struct channel *one[1];
	cr_assert_eq(route_plan_payout(fx.r, "CNY", 5000, T0, one, 1), 1, "at most cap");
	cr_assert_str_eq(one[0]->name, "bank_a");
}

Test(route, plan_payout_skips_open_breakers, .init = setup_banks, .fini = free_route)
{
	record_n("bank_a", 20, false, T0);
	cr_assert_str_eq(breaker_of("bank_a", T0), "open");
	cr_assert_str_eq(plan_payout("CNY", 5000, T0), "bank_b", "bank_b takes over");
	record_n("bank_b", 20, false, T0);
	cr_assert_str_eq(plan_payout("CNY", 5000, T0), "");
}

Test(route, payment_plans_never_hold_bank_rails, .init = setup_banks, .fini = free_route)
{
	cr_assert_str_eq(plan(PM_CARD, "CNY", 5000, T0), "acq_a,sandbox");
	cr_assert_str_eq(plan(PM_ALIPAY, "CNY", 5000, T0), "sandbox");
	cr_assert_str_eq(plan(PM_WECHAT_PAY, "USD", 5000, T0), "sandbox");
	cr_assert_not(strstr(plan(PM_CARD, "USD", 5000, T0), "bank"));
}

Test(route, bank_rails_are_probed_and_shown_with_payout, .init = setup_banks, .fini = free_route)
{
	struct channel *due[ROUTE_CHANNELS_MAX];
	int n = route_probes_due(fx.r, T0, due, ROUTE_CHANNELS_MAX);
	cr_assert_eq(n, 4, "acq_a and the three rails");
	int banks = 0;
	for (int i = 0; i < n; i++)
		banks += strncmp(due[i]->name, "bank_", 5) == 0;
	cr_assert_eq(banks, 3);
	json_t *o = snap("bank_a", T0);
	json_t *methods = json_object_get(o, "methods");
	cr_assert_eq(json_array_size(methods), 1);
	cr_assert_str_eq(json_string_value(json_array_get(methods, 0)), "payout");
	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")), "bank");
	json_decref(o);
	o = snap("acq_a", T0);
	methods = json_object_get(o, "methods");
	cr_assert_eq(json_array_size(methods), 1);
	cr_assert_str_eq(json_string_value(json_array_get(methods, 0)), "card");
	json_decref(o);
}
