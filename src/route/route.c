/* route/route: the shared route object: the configuration (copied, never
 * changed after route_new, so the accessors read it without the lock),
 * the borrowed channels, and per channel its health (route/health.c).
 *
 * One mutex guards every health field.  Time is passed in; callers on
 * different threads may pass slightly out-of-order times, so the route
 * keeps the latest now_ms it has seen and never goes back before it (a
 * window bucket is never overwritten by an older time).
 *
 * Payments are planned over the charge channels only and payouts over the
 * bank rails only (route_plan_payout); every network channel, rails
 * included, is probed.
 *
 * In-process channels (ops->call != NULL: the sandbox) are never probed,
 * so their breaker never opens (nothing could ever close it again): their
 * window is kept for the snapshot only. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "route/health.h"
#include "route/route.h"

#define SUCCESS_RATE_FULL_BP 10000 /* basis points in 100 % */

static const struct {
	const char *name;
	unsigned cap;
	enum pm_type type;
} methods[] = {
	{"card", CH_CAP_CARD, PM_CARD},
	{"alipay", CH_CAP_ALIPAY, PM_ALIPAY},
	{"wechat_pay", CH_CAP_WECHAT_PAY, PM_WECHAT_PAY},
};
#define METHOD_COUNT (sizeof methods / sizeof methods[0])
#define PAYOUT_METHOD_NAME "payout" /* a bank rail's one method (CH_CAP_PAYOUT) */

struct route_chan {
	struct channel *ch;
	struct route_health health;
};

struct route {
	pthread_mutex_t lock;
	struct route_config cfg;
	struct route_chan chans[ROUTE_CHANNELS_MAX];
	int64_t latest_ms; /* the latest now_ms seen */
};

static bool is_network(const struct channel *ch)
{
	return ch->ops && ch->ops->call == NULL;
}

static unsigned cap_of(enum pm_type type)
{
	for (size_t i = 0; i < METHOD_COUNT; i++)
		if (methods[i].type == type)
			return methods[i].cap;
	return 0;
}

/* Called with the lock held. */
static int64_t clamp_now(struct route *r, int64_t now_ms)
{
	if (now_ms > r->latest_ms)
		r->latest_ms = now_ms;
	return r->latest_ms;
}

struct route *route_new(const struct route_config *cfg, struct channel *const *channels)
{
	if (!cfg || !channels || cfg->channel_count < 1 || cfg->channel_count > ROUTE_CHANNELS_MAX)
		return NULL;
	for (int i = 0; i < cfg->channel_count; i++)
		if (!channels[i] || !channels[i]->ops ||
		    strcmp(channels[i]->name, cfg->channels[i].name) != 0)
			return NULL;
	struct route *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return NULL;
	}
	r->cfg = *cfg;
	r->latest_ms = INT64_MIN;
	for (int i = 0; i < cfg->channel_count; i++) {
		r->chans[i].ch = channels[i];
		route_health_init(&r->chans[i].health, is_network(channels[i]));
	}
	return r;
}

void route_free(struct route *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct route_config *route_config_of(const struct route *r)
{
	return &r->cfg;
}

int route_channel_count(const struct route *r)
{
	return r->cfg.channel_count;
}

struct channel *route_channel(const struct route *r, int i)
{
	return i >= 0 && i < r->cfg.channel_count ? r->chans[i].ch : NULL;
}

static int find_index(const struct route *r, const char *name)
{
	for (int i = 0; name && i < r->cfg.channel_count; i++)
		if (strcmp(r->cfg.channels[i].name, name) == 0)
			return i;
	return -1;
}

struct channel *route_find(const struct route *r, const char *name)
{
	int i = find_index(r, name);
	return i < 0 ? NULL : r->chans[i].ch;
}

static bool takes_currency(const struct channel_config *c, const char *currency)
{
	if (c->currency_count == 0)
		return true;
	for (int i = 0; currency && i < c->currency_count; i++)
		if (strlen(currency) == 3 && strcasecmp(c->currencies[i], currency) == 0)
			return true;
	return false;
}

static bool takes_amount(const struct channel_config *c, const char *currency, int64_t amount)
{
	return takes_currency(c, currency) && amount >= c->min_amount &&
	       (c->max_amount == 0 || amount <= c->max_amount);
}

/* A payout rail (configured or made as one) takes payouts and nothing else. */
static bool is_payout_rail(const struct route_chan *c, const struct channel_config *cfg)
{
	return (cfg->methods & CH_CAP_PAYOUT) || (c->ch->ops->caps & CH_CAP_PAYOUT);
}

/* cap: the payment's method (CH_CAP_CARD, ...), or CH_CAP_PAYOUT for a payout. */
static bool takes(const struct route_chan *c, const struct channel_config *cfg, unsigned cap,
		  const char *currency, int64_t amount)
{
	if (!cap || !(cfg->methods & cap))
		return false;
	if (cap == CH_CAP_PAYOUT ? !(c->ch->ops->caps & CH_CAP_PAYOUT) : is_payout_rail(c, cfg))
		return false;
	return takes_amount(cfg, currency, amount);
}

/* Insertion sort of indexes by priority; stable, so ties keep
 * configuration order. */
static void sort_by_priority(const struct route *r, int *idx, int n)
{
	for (int i = 1; i < n; i++) {
		int v = idx[i], j = i;
		for (; j > 0 && r->cfg.channels[idx[j - 1]].priority > r->cfg.channels[v].priority;
		     j--)
			idx[j] = idx[j - 1];
		idx[j] = v;
	}
}

/* The plan for channels taking `want` (a CH_CAP_ bit). */
static int plan_for(struct route *r, unsigned want, const char *currency, int64_t amount,
		    int64_t now_ms, struct channel **out, int cap)
{
	int idx[ROUTE_CHANNELS_MAX], n = 0;
	pthread_mutex_lock(&r->lock);
	int64_t now = clamp_now(r, now_ms);
	for (int i = 0; i < r->cfg.channel_count; i++) {
		struct route_health *h = &r->chans[i].health;
		route_health_advance(h, &r->cfg.breaker, now);
		if (h->state == ROUTE_CLOSED &&
		    takes(&r->chans[i], &r->cfg.channels[i], want, currency, amount))
			idx[n++] = i;
	}
	pthread_mutex_unlock(&r->lock);
	sort_by_priority(r, idx, n);
	int count = n < cap ? n : (cap > 0 ? cap : 0);
	for (int i = 0; i < count; i++)
		out[i] = r->chans[idx[i]].ch;
	return count;
}

int route_plan(struct route *r, enum pm_type type, const char *currency, int64_t amount,
	       int64_t now_ms, struct channel **out, int cap)
{
	return plan_for(r, cap_of(type), currency, amount, now_ms, out, cap);
}

int route_plan_payout(struct route *r, const char *currency, int64_t amount, int64_t now_ms,
		      struct channel **out, int cap)
{
	return plan_for(r, CH_CAP_PAYOUT, currency, amount, now_ms, out, cap);
}

bool route_accepts_type(const struct route *r, enum pm_type type)
{
	unsigned want = cap_of(type);
	for (int i = 0; want && i < r->cfg.channel_count; i++)
		if (r->cfg.channels[i].methods & want)
			return true;
	return false;
}

void route_record(struct route *r, const char *channel, bool ok, int64_t latency_ms,
		  int64_t now_ms)
{
	int i = find_index(r, channel);
	if (i < 0)
		return;
	pthread_mutex_lock(&r->lock);
	route_health_record(&r->chans[i].health, &r->cfg.breaker, ok, latency_ms,
			    clamp_now(r, now_ms));
	pthread_mutex_unlock(&r->lock);
}

int route_probes_due(struct route *r, int64_t now_ms, struct channel **out, int cap)
{
	int n = 0;
	pthread_mutex_lock(&r->lock);
	int64_t now = clamp_now(r, now_ms);
	for (int i = 0; i < r->cfg.channel_count && n < cap; i++) {
		struct route_chan *c = &r->chans[i];
		if (!is_network(c->ch) ||
		    route_health_probe_wait(&c->health, &r->cfg.breaker,
					    r->cfg.channels[i].timeout_ms, now) > 0)
			continue;
		route_health_probe_sent(&c->health, now);
		out[n++] = c->ch;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

void route_probe_result(struct route *r, const char *channel, bool ok, int64_t latency_ms,
			int64_t now_ms)
{
	int i = find_index(r, channel);
	if (i < 0 || !is_network(r->chans[i].ch))
		return;
	pthread_mutex_lock(&r->lock);
	route_health_probe_result(&r->chans[i].health, &r->cfg.breaker, ok, latency_ms,
				  clamp_now(r, now_ms));
	pthread_mutex_unlock(&r->lock);
}

int64_t route_next_probe_ms(struct route *r, int64_t now_ms)
{
	int64_t best = -1;
	pthread_mutex_lock(&r->lock);
	int64_t now = clamp_now(r, now_ms);
	for (int i = 0; i < r->cfg.channel_count; i++) {
		if (!is_network(r->chans[i].ch))
			continue;
		int64_t wait = route_health_probe_wait(&r->chans[i].health, &r->cfg.breaker,
						       r->cfg.channels[i].timeout_ms, now);
		if (best < 0 || wait < best)
			best = wait;
	}
	pthread_mutex_unlock(&r->lock);
	return best;
}

/* ---- the snapshot ---------------------------------------------------------- */

static const char *breaker_name(enum route_breaker_state s)
{
	return s == ROUTE_OPEN ? "open" : s == ROUTE_HALF_OPEN ? "half_open" : "closed";
}

static json_t *methods_json(unsigned caps)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < METHOD_COUNT; i++)
		if (caps & methods[i].cap)
			json_array_append_new(a, json_string(methods[i].name));
	if (a && (caps & CH_CAP_PAYOUT))
		json_array_append_new(a, json_string(PAYOUT_METHOD_NAME));
	return a;
}

static json_t *currencies_json(const struct channel_config *c)
{
	json_t *a = json_array();
	for (int i = 0; a && i < c->currency_count; i++)
		json_array_append_new(a, json_string(c->currencies[i]));
	return a;
}

static void config_json(json_t *o, const struct channel_config *c)
{
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "kind", json_string(c->kind));
	if (c->url[0])
		json_object_set_new(o, "url", json_string(c->url));
	json_object_set_new(o, "methods", methods_json(c->methods));
	json_object_set_new(o, "currencies", currencies_json(c));
	json_object_set_new(o, "min_amount", json_integer(c->min_amount));
	json_object_set_new(o, "max_amount", json_integer(c->max_amount));
	json_object_set_new(o, "priority", json_integer(c->priority));
	json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));
}

/* success_rate_bp: successes in basis points, rounded down (10000 only
 * when every call succeeded); success_rate: the same as "99.5%". */
static void window_json(json_t *o, const struct route_window *w)
{
	json_object_set_new(o, "window", json_pack("{s:I,s:I}", "calls", (json_int_t)w->calls,
						   "failures", (json_int_t)w->failures));
	if (w->calls == 0) {
		json_object_set_new(o, "success_rate_bp", json_null());
		json_object_set_new(o, "success_rate", json_null());
		json_object_set_new(o, "latency_ms", json_null());
		return;
	}
	int64_t bp = (w->calls - w->failures) * SUCCESS_RATE_FULL_BP / w->calls;
	char text[16];
	snprintf(text, sizeof text, "%d.%d%%", (int)(bp / 100), (int)(bp % 100 / 10));
	json_object_set_new(o, "success_rate_bp", json_integer(bp));
	json_object_set_new(o, "success_rate", json_string(text));
	json_object_set_new(o, "latency_ms",
			    json_pack("{s:I,s:I}", "p50", (json_int_t)route_window_percentile(w, 50),
				      "p99", (json_int_t)route_window_percentile(w, 99)));
}

static void health_json(json_t *o, const struct route_health *h)
{
	json_object_set_new(o, "breaker", json_string(breaker_name(h->state)));
	json_object_set_new(o, "state",
			    json_string(h->state == ROUTE_CLOSED ? "healthy" : "unhealthy"));
	if (h->state != ROUTE_CLOSED)
		json_object_set_new(o, "opened_at_ms", json_integer(h->opened_at_ms));
	json_object_set_new(o, "last_probe",
			    h->probe_answered ? json_pack("{s:I,s:b}", "at_ms",
							  (json_int_t)h->probe_answered_ms, "ok",
							  h->probe_ok)
					      : json_null());
}

static json_t *channel_json(struct route *r, int i, int64_t now)
{
	struct route_health *h = &r->chans[i].health;
	struct route_window w;
	json_t *o = json_object();
	if (!o)
		return NULL;
	route_health_advance(h, &r->cfg.breaker, now);
	route_health_window(h, &r->cfg.breaker, now, &w);
	config_json(o, &r->cfg.channels[i]);
	health_json(o, h);
	window_json(o, &w);
	return o;
}

json_t *route_snapshot(struct route *r, int64_t now_ms)
{
	json_t *list = json_array();
	if (!list)
		return NULL;
	pthread_mutex_lock(&r->lock);
	int64_t now = clamp_now(r, now_ms);
	for (int i = 0; i < r->cfg.channel_count; i++) {
		json_t *o = channel_json(r, i, now);
		if (!o || json_array_append_new(list, o) != 0) {
			json_decref(list);
			list = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return list;
}
