/* sim/scenario: see scenario.h.  Every field is checked where it is read;
 * the first problem found stops the parse and is reported with its full
 * path ("channels[1].outcomes: unknown code \"77\" for kind acquirer").
 * Unknown fields are errors too, so a typo never silently means "default". */
#include "scenario.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


static const char *const outage_names[] = {"none", "refuse", "503"};

const char *sim_outage_name(enum sim_outage outage)
{
	return outage_names[outage];
}

__attribute__((format(printf, 4, 5))) static bool fail(char *err, const char *where,
						       const char *field, const char *fmt, ...)
{
	int n = snprintf(err, SIM_ERR_MAX, "%s%s%s: ", where, where[0] ? "." : "", field);
	if (n < 0 || n >= SIM_ERR_MAX)
		return false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, SIM_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static bool get_int(const json_t *v, int lo, int hi, int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	*out = (int)json_integer_value(v);
	return true;
}

/* {min, p50, p99} in ms, each 0..max, min <= p50 <= p99 (latency_ms and
 * the bank's durations). */
static bool parse_latency(const json_t *v, struct sim_latency *lat, const char *where,
			  const char *field, int max, char *err)
{
	if (!json_is_object(v))
		return fail(err, where, field, "must be an object {min, p50, p99}");
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)v, key, val) {
		int *slot = strcmp(key, "min") == 0   ? &lat->min_ms
			    : strcmp(key, "p50") == 0 ? &lat->p50_ms
			    : strcmp(key, "p99") == 0 ? &lat->p99_ms
						      : NULL;
		if (!slot)
			return fail(err, where, field, "unknown field \"%s\"", key);
		if (!get_int(val, 0, max, slot))
			return fail(err, where, field, "%s must be an integer 0..%d", key, max);
	}
	if (lat->min_ms > lat->p50_ms || lat->p50_ms > lat->p99_ms)
		return fail(err, where, field, "needs min <= p50 <= p99");
	return true;
}

static bool parse_outcomes(const json_t *v, struct sim_channel_cfg *cfg, const char *where,
			   char *err)
{
	if (cfg->kind == SIM_KIND_BANK)
		return fail(err, where, "outcomes", "not a field of kind bank (see payout_outcomes)");
	if (!json_is_object(v) || json_object_size(v) == 0)
		return fail(err, where, "outcomes", "must be a non-empty object {code: weight}");
	if (json_object_size(v) > SIM_OUTCOMES_MAX)
		return fail(err, where, "outcomes", "more than %d codes", SIM_OUTCOMES_MAX);
	const char *key;
	json_t *val;
	size_t n = 0;
	uint64_t total = 0;
	struct sim_outcome mix[SIM_OUTCOMES_MAX];
	json_object_foreach((json_t *)v, key, val) {
		const struct sim_code *c = sim_code_find(cfg->kind, key);
		if (!c)
			return fail(err, where, "outcomes", "unknown code \"%s\" for kind %s", key,
				    sim_kind_name(cfg->kind));
		if (c->effect == SIM_EFFECT_QUERY_ONLY)
			return fail(err, where, "outcomes",
				    "code \"%s\" is not an authorize answer for kind %s", key,
				    sim_kind_name(cfg->kind));
		int w;
		if (!get_int(val, 0, SIM_WEIGHT_MAX, &w))
			return fail(err, where, "outcomes", "weight of \"%s\" must be an integer 0..%d",
				    key, SIM_WEIGHT_MAX);
		snprintf(mix[n].code, sizeof mix[n].code, "%s", key);
		mix[n++].weight = (uint32_t)w;
		total += (uint64_t)w;
	}
	if (total == 0)
		return fail(err, where, "outcomes", "weights sum to 0");
	memcpy(cfg->outcomes, mix, n * sizeof mix[0]);
	cfg->n_outcomes = n;
	return true;
}

static bool parse_rate(const json_t *v, double *out, const char *where, const char *field,
		       char *err)
{
	if (!json_is_number(v) || json_number_value(v) < 0.0 || json_number_value(v) > 1.0)
		return fail(err, where, field, "must be a number 0..1");
	*out = json_number_value(v);
	return true;
}

static bool parse_outage(const json_t *v, enum sim_outage *out, const char *where, char *err)
{
	const char *s = json_string_value(v);
	for (int i = 0; s && i < (int)(sizeof outage_names / sizeof outage_names[0]); i++) {
		if (strcmp(s, outage_names[i]) == 0) {
			*out = (enum sim_outage)i;
			return true;
		}
	}
	return fail(err, where, "outage", "must be \"none\", \"refuse\" or \"503\"");
}

static bool is_fixed_field(const char *key)
{
	static const char *const fixed[] = {"name", "kind", "port", "secret", "idempotent"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		if (strcmp(key, fixed[i]) == 0)
			return true;
	}
	return false;
}

/* A bank's payout_outcomes: {fate: weight}, fates as sim_fate_parse reads
 * them, integer weights 0..SIM_WEIGHT_MAX summing to more than 0. */
static bool parse_payout_outcomes(const json_t *v, struct sim_channel_cfg *cfg, const char *where,
				  char *err)
{
	const char *f = "payout_outcomes";
	if (!json_is_object(v) || json_object_size(v) == 0)
		return fail(err, where, f, "must be a non-empty object {fate: weight}");
	if (json_object_size(v) > SIM_OUTCOMES_MAX)
		return fail(err, where, f, "more than %d fates", SIM_OUTCOMES_MAX);
	const char *key;
	json_t *val;
	size_t n = 0;
	uint64_t total = 0;
	struct sim_outcome mix[SIM_OUTCOMES_MAX];
	json_object_foreach((json_t *)v, key, val) {
		struct sim_fate fate;
		if (strlen(key) > SIM_CODE_MAX || !sim_fate_parse(key, &fate))
			return fail(err, where, f, "unknown fate \"%s\"", key);
		int w;
		if (!get_int(val, 0, SIM_WEIGHT_MAX, &w))
			return fail(err, where, f, "weight of \"%s\" must be an integer 0..%d", key,
				    SIM_WEIGHT_MAX);
		snprintf(mix[n].code, sizeof mix[n].code, "%s", key);
		mix[n++].weight = (uint32_t)w;
		total += (uint64_t)w;
	}
	if (total == 0)
		return fail(err, where, f, "weights sum to 0");
	memcpy(cfg->payout_outcomes, mix, n * sizeof mix[0]);
	cfg->n_payout_outcomes = n;
	return true;
}

static bool parse_time_scale(const json_t *v, double *out, const char *where, char *err)
{
	if (!json_is_number(v) || json_number_value(v) < SIM_TIME_SCALE_MIN ||
	    json_number_value(v) > SIM_TIME_SCALE_MAX)
		return fail(err, where, "time_scale", "must be a number %g..%g", SIM_TIME_SCALE_MIN,
			    SIM_TIME_SCALE_MAX);
	*out = json_number_value(v);
	return true;
}

/* null (no callbacks) or an http:// / https:// URL of 1..SIM_URL_MAX bytes. */
static bool parse_callback_url(const json_t *v, char *out, const char *where, char *err)
{
	if (json_is_null(v)) {
		out[0] = '\0';
		return true;
	}
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	bool scheme = s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
	if (!scheme || n > SIM_URL_MAX || strcspn(s, " \t\r\n") != n)
		return fail(err, where, "callback_url",
			    "must be null or an http(s):// URL of at most %d bytes", SIM_URL_MAX);
	memcpy(out, s, n + 1);
	return true;
}

/* release_stuck: an admin action, the fate every stuck payout now reaches. */
static bool parse_release(const json_t *v, struct sim_fate *release, const char *where, char *err)
{
	const char *s = json_string_value(v);
	if (!release)
		return fail(err, where, "release_stuck", "is an admin action, not a setting");
	if (!s || !sim_fate_parse(s, release) || release->kind == SIM_FATE_STUCK) {
		release->kind = SIM_FATE_STUCK;
		return fail(err, where, "release_stuck",
			    "must be \"paid\", \"failed:<reason>\" or \"returned:<reason>\"");
	}
	return true;
}

/* The bank's own fields; *known false when key is not one of them. */
static bool apply_bank_field(struct sim_channel_cfg *c, const char *key, const json_t *val,
			     const char *where, struct sim_fate *release, char *err, bool *known)
{
	*known = true;
	struct sim_latency *dur = strcmp(key, "transit_ms") == 0	? &c->transit
				  : strcmp(key, "settle_ms") == 0	? &c->settle
				  : strcmp(key, "instant_settle_ms") == 0 ? &c->instant_settle
				  : strcmp(key, "return_after_ms") == 0	? &c->return_after
									: NULL;
	double *rate = strcmp(key, "callback_drop_rate") == 0	     ? &c->callback_drop_rate
		       : strcmp(key, "callback_duplicate_rate") == 0 ? &c->callback_duplicate_rate
		       : strcmp(key, "callback_late_rate") == 0      ? &c->callback_late_rate
								     : NULL;
	bool bank = c->kind == SIM_KIND_BANK;
	if (dur || rate || strcmp(key, "time_scale") == 0 || strcmp(key, "payout_outcomes") == 0 ||
	    strcmp(key, "callback_url") == 0 || strcmp(key, "release_stuck") == 0) {
		if (!bank)
			return fail(err, where, key, "only for kind bank");
	} else {
		*known = false;
		return false;
	}
	if (dur)
		return parse_latency(val, dur, where, key, SIM_DURATION_MAX_MS, err);
	if (rate)
		return parse_rate(val, rate, where, key, err);
	if (strcmp(key, "time_scale") == 0)
		return parse_time_scale(val, &c->time_scale, where, err);
	if (strcmp(key, "payout_outcomes") == 0)
		return parse_payout_outcomes(val, c, where, err);
	if (strcmp(key, "callback_url") == 0)
		return parse_callback_url(val, c->callback_url, where, err);
	return parse_release(val, release, where, err);
}

/* One changeable field into c; false with err on a bad value or name. */
static bool apply_field(struct sim_channel_cfg *c, const char *key, const json_t *val,
			const char *where, bool fixed_ok, struct sim_fate *release, char *err)
{
	bool known;
	bool ok = apply_bank_field(c, key, val, where, release, err, &known);
	if (known)
		return ok;
	if (strcmp(key, "latency_ms") == 0)
		return parse_latency(val, &c->latency, where, key, SIM_LATENCY_MAX_MS, err);
	if (strcmp(key, "outcomes") == 0)
		return parse_outcomes(val, c, where, err);
	if (strcmp(key, "outage") == 0)
		return parse_outage(val, &c->outage, where, err);
	if (strcmp(key, "slow_rate") == 0)
		return parse_rate(val, &c->slow_rate, where, key, err);
	if (strcmp(key, "lost_rate") == 0)
		return parse_rate(val, &c->lost_rate, where, key, err);
	if (strcmp(key, "slow_ms") == 0) {
		if (!get_int(val, 0, SIM_SLOW_MAX_MS, &c->slow_ms))
			return fail(err, where, key, "must be an integer 0..%d", SIM_SLOW_MAX_MS);
		return true;
	}
	if (strcmp(key, "slow_before_execution") == 0) {
		if (!json_is_boolean(val))
			return fail(err, where, key, "must be true or false");
		c->slow_before_execution = json_is_true(val);
		return true;
	}
	if (is_fixed_field(key))
		return fixed_ok ? true : fail(err, where, key, "cannot be changed while running");
	return fail(err, where, key, "unknown field");
}

bool sim_channel_apply(struct sim_channel_cfg *cfg, const json_t *obj, const char *where,
		       bool fixed_ok, struct sim_fate *release, char err[SIM_ERR_MAX])
{
	if (release)
		*release = (struct sim_fate){.kind = SIM_FATE_STUCK};
	if (!json_is_object(obj)) {
		return fail(err, where, "body", "must be a JSON object");
	}
	struct sim_channel_cfg c = *cfg;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		if (!apply_field(&c, key, val, where, fixed_ok, release, err)) {
			if (release)
				release->kind = SIM_FATE_STUCK;
			return false;
		}
	}
	*cfg = c;
	return true;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > SIM_NAME_MAX)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return true;
}

static void channel_defaults(struct sim_channel_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->idempotent = true;
	c->slow_ms = SIM_SLOW_DEFAULT_MS;
	c->outage = SIM_OUTAGE_NONE;
	c->time_scale = 1.0;
}

/* name, kind, port, secret, idempotent: read before the changeable ones
 * (outcomes need the kind). */
static bool parse_fixed(const json_t *obj, struct sim_channel_cfg *c, const char *where, char *err)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	if (!name || !valid_name(name))
		return fail(err, where, "name", "must be 1-%d characters of [a-z0-9_]", SIM_NAME_MAX);
	snprintf(c->name, sizeof c->name, "%s", name);
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!kind || !sim_kind_parse(kind, &c->kind))
		return fail(err, where, "kind",
			    "must be \"acquirer\", \"wallet_a\", \"wallet_b\" or \"bank\"");
	const json_t *port = json_object_get(obj, "port");
	if (port && !get_int(port, 0, 65535, &c->port))
		return fail(err, where, "port", "must be an integer 0..65535");
	const char *secret = json_string_value(json_object_get(obj, "secret"));
	if (!secret || !secret[0] || strlen(secret) > SIM_SECRET_MAX)
		return fail(err, where, "secret", "must be a string of 1-%d bytes", SIM_SECRET_MAX);
	snprintf(c->secret, sizeof c->secret, "%s", secret);
	const json_t *idem = json_object_get(obj, "idempotent");
	if (idem && !json_is_boolean(idem))
		return fail(err, where, "idempotent", "must be true or false");
	if (idem)
		c->idempotent = json_is_true(idem);
	return true;
}

static bool parse_channel(const json_t *obj, struct sim_channel_cfg *c, const char *where,
			  char *err)
{
	channel_defaults(c);
	if (!json_is_object(obj)) {
		snprintf(err, SIM_ERR_MAX, "%s: must be an object", where);
		return false;
	}
	if (!parse_fixed(obj, c, where, err))
		return false;
	/* Default mix: always the kind's success code (a bank's: always paid). */
	struct sim_outcome *first = c->kind == SIM_KIND_BANK ? c->payout_outcomes : c->outcomes;
	snprintf(first->code, sizeof first->code, "%s",
		 c->kind == SIM_KIND_BANK ? "paid" : sim_code_success(c->kind)->code);
	first->weight = 1;
	*(c->kind == SIM_KIND_BANK ? &c->n_payout_outcomes : &c->n_outcomes) = 1;
	return sim_channel_apply(c, obj, where, true, NULL, err);
}

static bool check_unique(const struct sim_scenario *s, size_t i, char *err)
{
	char where[32];
	snprintf(where, sizeof where, "channels[%zu]", i);
	for (size_t j = 0; j < i; j++) {
		if (strcmp(s->channels[j].name, s->channels[i].name) == 0)
			return fail(err, where, "name", "\"%s\" is used twice", s->channels[i].name);
		if (s->channels[i].port && s->channels[j].port == s->channels[i].port)
			return fail(err, where, "port", "%d is used twice", s->channels[i].port);
	}
	return true;
}

bool sim_scenario_parse(const json_t *root, struct sim_scenario *out, char err[SIM_ERR_MAX])
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(root))
		return fail(err, "", "scenario", "must be a JSON object");
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)root, key, val) {
		if (strcmp(key, "seed") != 0 && strcmp(key, "channels") != 0)
			return fail(err, "", key, "unknown field");
	}
	const json_t *seed = json_object_get(root, "seed");
	if (seed && (!json_is_integer(seed) || json_integer_value(seed) < 0))
		return fail(err, "", "seed", "must be a non-negative integer");
	out->seed = seed ? (uint64_t)json_integer_value(seed) : 0;
	const json_t *chans = json_object_get(root, "channels");
	if (!json_is_array(chans) || json_array_size(chans) < 1 ||
	    json_array_size(chans) > SIM_CHANNELS_MAX)
		return fail(err, "", "channels", "must be an array of 1-%d channels", SIM_CHANNELS_MAX);
	for (size_t i = 0; i < json_array_size(chans); i++) {
		char where[32];
		snprintf(where, sizeof where, "channels[%zu]", i);
		if (!parse_channel(json_array_get(chans, i), &out->channels[i], where, err))
			return false;
		out->n_channels = i + 1;
		if (!check_unique(out, i, err))
			return false;
	}
	return true;
}

bool sim_scenario_load(const char *path, struct sim_scenario *out, char err[SIM_ERR_MAX])
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, SIM_ERR_MAX, "%s:%d: %s", path, jerr.line, jerr.text);
		return false;
	}
	bool ok = sim_scenario_parse(root, out, err);
	json_decref(root);
	return ok;
}

static json_t *mix_json(const struct sim_outcome *mix, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, mix[i].code, json_integer(mix[i].weight));
	return o;
}

static json_t *latency_json(const struct sim_latency *l)
{
	return json_pack("{s:i, s:i, s:i}", "min", l->min_ms, "p50", l->p50_ms, "p99", l->p99_ms);
}

/* A bank's own fields, added to o. */
static void bank_to_json(const struct sim_channel_cfg *c, json_t *o)
{
	json_object_set_new(o, "time_scale", json_real(c->time_scale));
	json_object_set_new(o, "transit_ms", latency_json(&c->transit));
	json_object_set_new(o, "settle_ms", latency_json(&c->settle));
	json_object_set_new(o, "instant_settle_ms", latency_json(&c->instant_settle));
	json_object_set_new(o, "payout_outcomes", mix_json(c->payout_outcomes, c->n_payout_outcomes));
	json_object_set_new(o, "return_after_ms", latency_json(&c->return_after));
	json_object_set_new(o, "callback_url",
			    c->callback_url[0] ? json_string(c->callback_url) : json_null());
	json_object_set_new(o, "callback_drop_rate", json_real(c->callback_drop_rate));
	json_object_set_new(o, "callback_duplicate_rate", json_real(c->callback_duplicate_rate));
	json_object_set_new(o, "callback_late_rate", json_real(c->callback_late_rate));
}

json_t *sim_channel_to_json(const struct sim_channel_cfg *c)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:b, s:o, s:s, s:f, s:i, s:b, s:f}", "name",
			      c->name, "kind", sim_kind_name(c->kind), "port", c->port, "secret",
			      c->secret, "idempotent", c->idempotent, "latency_ms",
			      latency_json(&c->latency), "outage", sim_outage_name(c->outage),
			      "slow_rate", c->slow_rate, "slow_ms", c->slow_ms,
			      "slow_before_execution", c->slow_before_execution, "lost_rate",
			      c->lost_rate);
	if (!o)
		return NULL;
	if (c->kind == SIM_KIND_BANK)
		bank_to_json(c, o);
	else
		json_object_set_new(o, "outcomes", mix_json(c->outcomes, c->n_outcomes));
	return o;
}
