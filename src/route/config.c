/* route/config: the channel configuration file (`payd serve --config FILE`,
 * format in docs/CONFIG.md) read into a struct route_config.
 *
 * Everything is checked before anything is kept: the file is parsed into a
 * local route_config and copied out only when all of it is valid, so a bad
 * file changes nothing.  Each refusal names the field it is about, JSON
 * path first ("channels[1].timeout_ms: must be an integer between 100 and
 * 120000").  Unknown keys are refused, not ignored, so a misspelt setting
 * never silently falls back to its default.  Every limit is a named
 * constant below; docs/CONFIG.md lists the same figures. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/currency.h"
#include "notify/mail.h"
#include "route/route.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* bytes of a configuration file */
#define CONFIG_PATH_MAX 64            /* "channels[15].currencies[31]" */
#define NAME_LEN_MAX (PAYMENT_CHANNEL_MAX - 1)
#define SECRET_LEN_MAX (CHANNEL_SECRET_MAX - 1)
#define PORT_MAX 65535

#define PRIORITY_MIN 0
#define PRIORITY_MAX 10000
#define PRIORITY_DEFAULT 100
#define TIMEOUT_MIN_MS 100
#define TIMEOUT_MAX_MS 120000
#define TIMEOUT_DEFAULT_MS 5000

#define ATTEMPTS_MIN 1
#define ATTEMPTS_MAX 10
#define ATTEMPTS_DEFAULT 3
#define DEADLINE_MIN_MS 1000
#define DEADLINE_MAX_MS 600000
#define DEADLINE_DEFAULT_MS 30000

#define HOUR_MS 3600000
#define DAY_MS (24 * HOUR_MS)
#define POLL_MIN_MS 50 /* payout polls and escalations: at most 20 a second */
#define WINDOW_MIN_MS 1000
#define WINDOW_DEFAULT_MS 30000
#define VOLUME_MIN 1
#define VOLUME_MAX 100000
#define VOLUME_DEFAULT 20
#define FAILURE_PCT_MIN 1
#define FAILURE_PCT_MAX 100
#define FAILURE_PCT_DEFAULT 50
#define COOLDOWN_MIN_MS 100
#define COOLDOWN_DEFAULT_MS 5000
#define PROBE_SUCCESSES_MIN 1
#define PROBE_SUCCESSES_MAX 100
#define PROBE_SUCCESSES_DEFAULT 2
#define PROBE_INTERVAL_MIN_MS 100
#define PROBE_INTERVAL_DEFAULT_MS 2000

#define ALL_METHODS (CH_CAP_CARD | CH_CAP_ALIPAY | CH_CAP_WECHAT_PAY)

/* The channel kinds: which methods each can take, and whether it is
 * reached over the network (url and secret required) or in-process. */
struct kind_rule {
	const char *kind;
	unsigned methods; /* allowed, and the default */
	bool network;
};

static const struct kind_rule kinds[] = {
	{"sandbox", ALL_METHODS, false},
	{"acquirer", CH_CAP_CARD, true},
	{"wallet_a", CH_CAP_ALIPAY, true},
	{"wallet_b", CH_CAP_WECHAT_PAY, true},
	{"bank", CH_CAP_PAYOUT, true}, /* a payout rail: payouts only, never payments */
};
#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static const struct {
	const char *name;
	unsigned cap;
} method_names[] = {
	{"card", CH_CAP_CARD},
	{"alipay", CH_CAP_ALIPAY},
	{"wechat_pay", CH_CAP_WECHAT_PAY},
	{"payout", CH_CAP_PAYOUT},
};
#define METHOD_COUNT (sizeof method_names / sizeof method_names[0])

/* A bounded integer setting and where it is stored. */
struct int_field {
	const char *key;
	int min, max, def;
	size_t offset; /* of the int in the struct being filled */
};

static const struct int_field routing_fields[] = {
	{"max_attempts", ATTEMPTS_MIN, ATTEMPTS_MAX, ATTEMPTS_DEFAULT,
	 offsetof(struct route_config, max_attempts)},
	{"deadline_ms", DEADLINE_MIN_MS, DEADLINE_MAX_MS, DEADLINE_DEFAULT_MS,
	 offsetof(struct route_config, deadline_ms)},
	{NULL, 0, 0, 0, 0},
};

static const struct int_field breaker_fields[] = {
	{"window_ms", WINDOW_MIN_MS, HOUR_MS, WINDOW_DEFAULT_MS,
	 offsetof(struct route_breaker_config, window_ms)},
	{"min_volume", VOLUME_MIN, VOLUME_MAX, VOLUME_DEFAULT,
	 offsetof(struct route_breaker_config, min_volume)},
	{"failure_pct", FAILURE_PCT_MIN, FAILURE_PCT_MAX, FAILURE_PCT_DEFAULT,
	 offsetof(struct route_breaker_config, failure_pct)},
	{"cooldown_ms", COOLDOWN_MIN_MS, HOUR_MS, COOLDOWN_DEFAULT_MS,
	 offsetof(struct route_breaker_config, cooldown_ms)},
	{"probe_successes", PROBE_SUCCESSES_MIN, PROBE_SUCCESSES_MAX, PROBE_SUCCESSES_DEFAULT,
	 offsetof(struct route_breaker_config, probe_successes)},
	{"probe_interval_ms", PROBE_INTERVAL_MIN_MS, HOUR_MS, PROBE_INTERVAL_DEFAULT_MS,
	 offsetof(struct route_breaker_config, probe_interval_ms)},
	{NULL, 0, 0, 0, 0},
};

static const struct int_field payout_fields[] = {
	{"poll_first_ms", POLL_MIN_MS, HOUR_MS, 5000,
	 offsetof(struct route_payout_config, poll_first_ms)},
	{"poll_max_ms", POLL_MIN_MS, DAY_MS, 600000,
	 offsetof(struct route_payout_config, poll_max_ms)},
	{"arrival_grace_ms", 0, 7 * DAY_MS, HOUR_MS,
	 offsetof(struct route_payout_config, arrival_grace_ms)},
	{"escalate_ms", POLL_MIN_MS, 7 * DAY_MS, HOUR_MS,
	 offsetof(struct route_payout_config, escalate_ms)},
	{"return_window_ms", 0, 24 * DAY_MS, 7 * DAY_MS,
	 offsetof(struct route_payout_config, return_window_ms)},
	{NULL, 0, 0, 0, 0},
};

#define W_OFF(f) offsetof(struct route_webhook_config, f)
static const struct int_field webhook_fields[] = {
	{"timeout_ms", 100, 120000, 10000, W_OFF(timeout_ms)},
	{"max_in_flight", 1, 1024, 64, W_OFF(max_in_flight)},
	{"per_endpoint", 1, 64, 4, W_OFF(per_endpoint)},
	{"backoff_first_ms", 10, DAY_MS, 30000, W_OFF(backoff_first_ms)},
	{"backoff_max_ms", 10, DAY_MS, HOUR_MS, W_OFF(backoff_max_ms)},
	{"max_age_ms", 1000, 7 * DAY_MS, 3 * DAY_MS, W_OFF(max_age_ms)},
	{"disable_after_failures", 1, 100000, 20, W_OFF(disable_after_failures)},
	{"disable_after_ms", 0, 7 * DAY_MS, DAY_MS, W_OFF(disable_after_ms)},
	{"response_limit", 256, 1 << 20, 4096, W_OFF(response_limit)},
	{"retention_days", 1, 3650, 30, W_OFF(retention_days)},
	{NULL, 0, 0, 0, 0},
};

static const struct int_field notify_fields[] = {
	{"timeout_ms", 100, 120000, 10000, offsetof(struct route_notify_config, timeout_ms)},
	{NULL, 0, 0, 0, 0},
};

static const struct int_field channel_int_fields[] = {
	{"priority", PRIORITY_MIN, PRIORITY_MAX, PRIORITY_DEFAULT,
	 offsetof(struct channel_config, priority)},
	{"timeout_ms", TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, TIMEOUT_DEFAULT_MS,
	 offsetof(struct channel_config, timeout_ms)},
	{NULL, 0, 0, 0, 0},
};

static const char *const routing_keys[] = {"max_attempts", "deadline_ms", NULL};
static const char *const breaker_keys[] = {"window_ms",   "min_volume",      "failure_pct",
					   "cooldown_ms", "probe_successes", "probe_interval_ms",
					   NULL};
static const char *const payout_keys[] = {"poll_first_ms", "poll_max_ms", "arrival_grace_ms",
					  "escalate_ms", "return_window_ms", NULL};
static const char *const webhook_keys[] = {
	"timeout_ms",      "max_in_flight",          "per_endpoint",     "backoff_first_ms",
	"backoff_max_ms",  "max_age_ms",             "disable_after_failures",
	"disable_after_ms", "response_limit",        "allow_private_networks",
	"retention_days",  NULL};
static const char *const notify_keys[] = {"smtp_url", "from", "timeout_ms", NULL};
static const char *const top_keys[] = {"channels", "routing", "breaker", "payouts",
				       "webhooks", "notify", NULL};
static const char *const channel_keys[] = {"name", "kind", "url", "secret", "methods",
					   "currencies", "min_amount", "max_amount",
					   "priority", "timeout_ms", NULL};

/* Where an error is: "channels[1]" + "timeout_ms". */
struct where {
	char *err;
	size_t cap;
	const char *at; /* the enclosing object's path, "" at the top */
};

__attribute__((format(printf, 3, 4))) static int fail(const struct where *w, const char *key,
						       const char *fmt, ...)
{
	if (!w->err || w->cap == 0)
		return -1;
	int n = snprintf(w->err, w->cap, "%s%s%s: ", w->at, w->at[0] && key[0] ? "." : "", key);
	if (n < 0 || (size_t)n >= w->cap)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->err + n, w->cap - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void set_err(char *err, size_t cap, const char *msg, const char *arg)
{
	if (err && cap)
		snprintf(err, cap, "%s%s%s", arg ? arg : "", arg ? ": " : "", msg);
}

/* "methods" + 1 → "methods[1]" */
static const char *indexed(const char *key, size_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s[%zu]", key, i);
	return buf;
}

static const struct kind_rule *kind_find(const char *kind)
{
	for (size_t i = 0; i < KIND_COUNT; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

static unsigned method_find(const char *name)
{
	for (size_t i = 0; i < METHOD_COUNT; i++)
		if (strcmp(method_names[i].name, name) == 0)
			return method_names[i].cap;
	return 0;
}

static const char *method_list(unsigned caps, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < METHOD_COUNT; i++)
		if (caps & method_names[i].cap)
			snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? ", " : "",
				 method_names[i].name);
	return buf;
}

static int check_keys(json_t *obj, const char *const *allowed, const struct where *w)
{
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value) {
		(void)value;
		bool known = false;
		for (size_t i = 0; allowed[i] && !known; i++)
			known = strcmp(allowed[i], key) == 0;
		if (!known)
			return fail(w, key, "unknown field");
	}
	return 0;
}

/* The bounded integers of one object: absent → default. */
static int read_ints(json_t *obj, const struct int_field *fields, void *base,
		     const struct where *w)
{
	for (const struct int_field *f = fields; f->key; f++) {
		int *dst = (int *)((char *)base + f->offset);
		json_t *v = json_object_get(obj, f->key);
		if (!v) {
			*dst = f->def;
			continue;
		}
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			return fail(w, f->key, "must be an integer between %d and %d", f->min, f->max);
		*dst = (int)json_integer_value(v);
	}
	return 0;
}

static int read_amount(json_t *obj, const char *key, int64_t *out, const struct where *w)
{
	json_t *v = json_object_get(obj, key);
	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > PAYMENT_AMOUNT_MAX)
		return fail(w, key, "must be an integer amount in minor units between 0 and %lld",
			    (long long)PAYMENT_AMOUNT_MAX);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A string of 1..max characters, no NUL or control characters.  NULL
 * when absent. */
static int read_string(json_t *obj, const char *key, size_t max, const char **out,
		       const struct where *w)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(w, key, "must be a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > max)
		return fail(w, key, "must be 1 to %zu characters long", max);
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char)s[i]))
			return fail(w, key, "must not contain control characters");
	*out = s;
	return 0;
}

static int check_name(const char *name, const struct where *w)
{
	for (const char *p = name; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
			return fail(w, "name", "must be 1 to %d characters of [a-z0-9_]",
				    NAME_LEN_MAX);
	return 0;
}

static bool host_ok(const char *host, size_t len)
{
	if (len == 0)
		return false;
	bool v6 = host[0] == '[';
	if (v6 && (len < 3 || host[len - 1] != ']'))
		return false;
	for (size_t i = v6; i < len - v6; i++) {
		unsigned char c = (unsigned char)host[i];
		bool ok = v6 ? (isxdigit(c) || c == ':' || c == '.')
			     : (isalnum(c) || c == '.' || c == '-' || c == '_');
		if (!ok)
			return false;
	}
	return true;
}

/* http://host:port[/path]: a host name or address, a port 1..65535, and
 * an optional path of printable characters. */
static bool url_ok(const char *url)
{
	static const char scheme[] = "http://";
	if (strncmp(url, scheme, sizeof scheme - 1) != 0)
		return false;
	const char *host = url + sizeof scheme - 1;
	const char *colon = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
	if (!colon)
		return false;
	if (host[0] == '[')
		colon++;
	const char *slash = strchr(host, '/');
	if (!host_ok(host, (size_t)(colon - host)) || (slash && slash < colon))
		return false;
	const char *p = colon + 1;
	long port = 0;
	int digits = 0;
	for (; isdigit((unsigned char)*p) && digits < 6; p++, digits++)
		port = port * 10 + (*p - '0');
	if (digits == 0 || port < 1 || port > PORT_MAX || (*p && *p != '/'))
		return false;
	for (; *p; p++)
		if (!isgraph((unsigned char)*p))
			return false;
	return true;
}

static int read_kind(json_t *obj, struct channel_config *out, const struct kind_rule **rule,
		     const struct where *w)
{
	const char *kind;
	if (read_string(obj, "kind", CHANNEL_KIND_MAX - 1, &kind, w) < 0)
		return -1;
	*rule = kind ? kind_find(kind) : NULL;
	if (!*rule)
		return fail(w, "kind", "must be one of sandbox, acquirer, wallet_a, wallet_b, bank");
	snprintf(out->kind, sizeof out->kind, "%s", kind);
	return 0;
}

/* url and secret: required for network kinds, refused for the sandbox
 * (which is in-process: a url or secret there is a mistake). */
static int read_endpoint(json_t *obj, const struct kind_rule *rule, struct channel_config *out,
			 const struct where *w)
{
	const char *url, *secret;
	if (read_string(obj, "url", CHANNEL_URL_MAX - 1, &url, w) < 0 ||
	    read_string(obj, "secret", SECRET_LEN_MAX, &secret, w) < 0)
		return -1;
	if (!rule->network) {
		if (url)
			return fail(w, "url", "not used by kind %s: remove it", rule->kind);
		if (secret)
			return fail(w, "secret", "not used by kind %s: remove it", rule->kind);
		return 0;
	}
	if (!url || !url_ok(url))
		return fail(w, "url", "must be http://host:port[/path] (required for kind %s)",
			    rule->kind);
	if (!secret)
		return fail(w, "secret", "is required for kind %s (1 to %d characters)", rule->kind,
			    SECRET_LEN_MAX);
	snprintf(out->url, sizeof out->url, "%s", url);
	snprintf(out->secret, sizeof out->secret, "%s", secret);
	return 0;
}

static int read_methods(json_t *obj, const struct kind_rule *rule, struct channel_config *out,
			const struct where *w)
{
	json_t *v = json_object_get(obj, "methods");
	char list[64], key[CONFIG_PATH_MAX];
	out->methods = rule->methods;
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(w, "methods", "must be a non-empty array of card, alipay, wechat_pay, payout");
	out->methods = 0;
	size_t i;
	json_t *m;
	json_array_foreach(v, i, m) {
		unsigned cap = json_is_string(m) ? method_find(json_string_value(m)) : 0;
		if (!cap)
			return fail(w, indexed("methods", i, key, sizeof key),
				    "must be one of card, alipay, wechat_pay, payout");
		if (out->methods & cap)
			return fail(w, "methods", "\"%s\" is listed twice", json_string_value(m));
		if (!(rule->methods & cap))
			return fail(w, "methods", "kind %s takes only %s", rule->kind,
				    method_list(rule->methods, list, sizeof list));
		out->methods |= cap;
	}
	return 0;
}

static int read_currency(json_t *c, size_t i, struct channel_config *out, const struct where *w)
{
	const char *code = json_is_string(c) ? json_string_value(c) : NULL;
	const struct currency *cur = code && json_string_length(c) == CURRENCY_CODE_LEN
					     ? currency_find(code)
					     : NULL;
	char key[CONFIG_PATH_MAX];
	if (!cur)
		return fail(w, indexed("currencies", i, key, sizeof key),
			    "must be a supported ISO 4217 currency code");
	for (int k = 0; k < out->currency_count; k++)
		if (strcmp(out->currencies[k], cur->code) == 0)
			return fail(w, "currencies", "\"%s\" is listed twice", cur->code);
	memcpy(out->currencies[out->currency_count++], cur->code, sizeof cur->code);
	return 0;
}

/* Absent: any currency.  An empty array is refused (it would read as
 * "none"): omit the field to take any. */
static int read_currencies(json_t *obj, struct channel_config *out, const struct where *w)
{
	json_t *v = json_object_get(obj, "currencies");
	out->currency_count = 0;
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(w, "currencies",
			    "must be a non-empty array of currency codes (omit it for any)");
	if (json_array_size(v) > CHANNEL_CURRENCIES_MAX)
		return fail(w, "currencies", "at most %d currencies", CHANNEL_CURRENCIES_MAX);
	size_t i;
	json_t *c;
	json_array_foreach(v, i, c) {
		if (read_currency(c, i, out, w) < 0)
			return -1;
	}
	return 0;
}

static int read_amounts(json_t *obj, struct channel_config *out, const struct where *w)
{
	if (read_amount(obj, "min_amount", &out->min_amount, w) < 0 ||
	    read_amount(obj, "max_amount", &out->max_amount, w) < 0)
		return -1;
	if (out->max_amount != 0 && out->min_amount > out->max_amount)
		return fail(w, "min_amount", "must not exceed max_amount (%lld)",
			    (long long)out->max_amount);
	return 0;
}

static int read_channel(json_t *obj, struct channel_config *out, const struct where *w)
{
	const struct kind_rule *rule;
	const char *name;
	memset(out, 0, sizeof *out);
	if (!json_is_object(obj))
		return fail(w, "", "must be an object");
	if (check_keys(obj, channel_keys, w) < 0 ||
	    read_string(obj, "name", NAME_LEN_MAX, &name, w) < 0)
		return -1;
	if (!name)
		return fail(w, "name", "is required (1 to %d characters of [a-z0-9_])",
			    NAME_LEN_MAX);
	if (check_name(name, w) < 0)
		return -1;
	snprintf(out->name, sizeof out->name, "%s", name);
	if (read_kind(obj, out, &rule, w) < 0 || read_endpoint(obj, rule, out, w) < 0 ||
	    read_methods(obj, rule, out, w) < 0 || read_currencies(obj, out, w) < 0 ||
	    read_amounts(obj, out, w) < 0)
		return -1;
	return read_ints(obj, channel_int_fields, out, w);
}

static int read_channels(json_t *root, struct route_config *cfg, const struct where *top)
{
	json_t *list = json_object_get(root, "channels");
	if (!list)
		return fail(top, "channels", "at least one channel is required");
	if (!json_is_array(list))
		return fail(top, "channels", "must be an array of channel objects");
	if (json_array_size(list) == 0)
		return fail(top, "channels", "at least one channel is required");
	if (json_array_size(list) > ROUTE_CHANNELS_MAX)
		return fail(top, "channels", "at most %d channels", ROUTE_CHANNELS_MAX);
	char at[CONFIG_PATH_MAX];
	struct where w = {top->err, top->cap, at};
	size_t i;
	json_t *obj;
	json_array_foreach(list, i, obj) {
		snprintf(at, sizeof at, "channels[%zu]", i);
		if (read_channel(obj, &cfg->channels[i], &w) < 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(cfg->channels[k].name, cfg->channels[i].name) == 0)
				return fail(&w, "name", "\"%s\" is used twice",
					    cfg->channels[i].name);
		cfg->channel_count = (int)i + 1;
	}
	return 0;
}

/* An optional object of bounded integers ("routing", "breaker"); absent:
 * every default. */
static int read_section(json_t *root, const char *key, const char *const *allowed,
			const struct int_field *fields, void *base, const struct where *top)
{
	json_t *obj = json_object_get(root, key);
	struct where w = {top->err, top->cap, key};
	if (obj && !json_is_object(obj))
		return fail(top, key, "must be an object");
	if (obj && check_keys(obj, allowed, &w) < 0)
		return -1;
	return read_ints(obj, fields, base, &w);
}

static int read_webhooks(json_t *root, struct route_webhook_config *out, const struct where *top)
{
	if (read_section(root, "webhooks", webhook_keys, webhook_fields, out, top) < 0)
		return -1;
	json_t *flag = json_object_get(json_object_get(root, "webhooks"), "allow_private_networks");
	struct where w = {top->err, top->cap, "webhooks"};
	if (flag && !json_is_boolean(flag))
		return fail(&w, "allow_private_networks", "must be true or false");
	out->allow_private_networks = json_is_true(flag);
	return 0;
}

/* notify: smtp_url (smtp:// or smtps://) and from, both or neither. */
static int read_notify(json_t *root, struct route_notify_config *out, const struct where *top)
{
	if (read_section(root, "notify", notify_keys, notify_fields, out, top) < 0)
		return -1;
	json_t *obj = json_object_get(root, "notify");
	struct where w = {top->err, top->cap, "notify"};
	const char *url = NULL, *from = NULL;
	if (read_string(obj, "smtp_url", sizeof out->smtp_url - 1, &url, &w) < 0 ||
	    read_string(obj, "from", sizeof out->from - 1, &from, &w) < 0)
		return -1;
	if (url && strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
		return fail(&w, "smtp_url", "must start with smtp:// or smtps://");
	if (!url != !from)
		return fail(&w, url ? "from" : "smtp_url", "is needed with %s",
			    url ? "smtp_url" : "from");
	if (from && !mail_address_valid(from))
		return fail(&w, "from", "must be one e-mail address (payments@example.com)");
	snprintf(out->smtp_url, sizeof out->smtp_url, "%s", url ? url : "");
	snprintf(out->from, sizeof out->from, "%s", from ? from : "");
	return 0;
}

static int parse_root(json_t *root, struct route_config *cfg, char *err, size_t err_cap)
{
	struct where top = {err, err_cap, ""};
	if (!json_is_object(root)) {
		set_err(err, err_cap, "the configuration must be a JSON object", NULL);
		return -1;
	}
	if (check_keys(root, top_keys, &top) < 0 || read_channels(root, cfg, &top) < 0 ||
	    read_section(root, "routing", routing_keys, routing_fields, cfg, &top) < 0 ||
	    read_section(root, "breaker", breaker_keys, breaker_fields, &cfg->breaker, &top) < 0 ||
	    read_section(root, "payouts", payout_keys, payout_fields, &cfg->payouts, &top) < 0 ||
	    read_webhooks(root, &cfg->webhooks, &top) < 0 || read_notify(root, &cfg->notify, &top) < 0)
		return -1;
	return 0;
}

static int parse_buffer(const char *text, size_t len, struct route_config *out, char *err,
			size_t err_cap)
{
	struct route_config cfg;
	json_error_t jerr;
	int rc = -1;
	memset(&cfg, 0, sizeof cfg);
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (err && err_cap)
			snprintf(err, err_cap, "not valid JSON: line %d, column %d: %s", jerr.line,
				 jerr.column, jerr.text);
		goto out;
	}
	if (parse_root(root, &cfg, err, err_cap) < 0)
		goto out;
	*out = cfg;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void route_config_default(struct route_config *out)
{
	struct where w = {NULL, 0, ""};
	struct channel_config *ch = &out->channels[0];
	memset(out, 0, sizeof *out);
	snprintf(ch->name, sizeof ch->name, "%s", "sandbox");
	snprintf(ch->kind, sizeof ch->kind, "%s", "sandbox");
	ch->methods = ALL_METHODS;
	out->channel_count = 1;
	/* absent objects: every field takes its default, nothing can fail */
	read_ints(NULL, channel_int_fields, ch, &w);
	read_ints(NULL, routing_fields, out, &w);
	read_ints(NULL, breaker_fields, &out->breaker, &w);
	read_ints(NULL, payout_fields, &out->payouts, &w);
	read_ints(NULL, webhook_fields, &out->webhooks, &w);
	read_ints(NULL, notify_fields, &out->notify, &w);
}

int route_config_parse(const char *json_text, struct route_config *out, char *err,
		       size_t err_cap)
{
	if (!json_text) {
		set_err(err, err_cap, "no configuration text", NULL);
		return -1;
	}
	return parse_buffer(json_text, strlen(json_text), out, err, err_cap);
}

/* Reads at most CONFIG_FILE_MAX bytes; one more means too large. */
int route_config_load(const char *path, struct route_config *out, char *err, size_t err_cap)
{
	int rc = -1;
	char *buf = NULL;
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		set_err(err, err_cap, path ? strerror(errno) : "no file name", path);
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		set_err(err, err_cap, "out of memory", path);
		goto out;
	}
	size_t len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		set_err(err, err_cap, strerror(errno), path);
		goto out;
	}
	if (len > CONFIG_FILE_MAX) {
		set_err(err, err_cap, "larger than 1 MiB: not a configuration file", path);
		goto out;
	}
	rc = parse_buffer(buf, len, out, err, err_cap);
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}
