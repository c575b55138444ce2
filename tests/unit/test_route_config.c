/* tests/unit/test_route_config: route/config.c.  Defaults (per kind, the
 * routing and breaker sections, the built-in sandbox configuration), a
 * full file read from disk, and every refusal: each must name the field it
 * is about and leave the output untouched.  JSON is written with single
 * quotes here for legibility; q() turns them into double quotes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "route/route.h"

#define ERR_CAP 256
#define TEXT_CAP 8192
#define FILE_LIMIT (1024 * 1024)

static char text_buf[TEXT_CAP];

/* 'x' → "x" */
static const char *q(const char *s)
{
	size_t n = strlen(s);
	cr_assert_lt(n, sizeof text_buf);
	for (size_t i = 0; i <= n; i++)
		text_buf[i] = s[i] == '\'' ? '"' : s[i];
	return text_buf;
}

static int parse(const char *single_quoted, struct route_config *cfg, char *err)
{
	err[0] = '\0';
	return route_config_parse(q(single_quoted), cfg, err, ERR_CAP);
}

#define ACQ_A "{'name':'acq_a','kind':'acquirer','url':'http://127.0.0.1:40001','secret':'s3cret-a'"

/* Refused, with `want` in the message. */
static void refused(const char *single_quoted, const char *want)
{
	struct route_config cfg;
	char err[ERR_CAP];
	memset(&cfg, 0xA5, sizeof cfg);
	struct route_config before = cfg;
	cr_assert_eq(parse(single_quoted, &cfg, err), -1, "accepted: %s", single_quoted);
	cr_assert_not_null(strstr(err, want), "for %s\n  got  \"%s\"\n  want \"%s\"", single_quoted,
			   err, want);
	cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0, "output written on refusal");
}

/* One channel with `fields` appended to acq_a's. */
static void refused_acq(const char *fields, const char *want)
{
	char text[TEXT_CAP];
	snprintf(text, sizeof text, "{'channels':[" ACQ_A "%s}]}", fields);
	refused(text, want);
}

Test(route_config, defaults_of_a_minimal_acquirer)
{
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse("{'channels':[" ACQ_A "}]}", &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg.channel_count, 1);
	const struct channel_config *c = &cfg.channels[0];
	cr_assert_str_eq(c->name, "acq_a");
	cr_assert_str_eq(c->kind, "acquirer");
	cr_assert_str_eq(c->url, "http://127.0.0.1:40001");
	cr_assert_str_eq(c->secret, "s3cret-a");
	cr_assert_eq(c->methods, CH_CAP_CARD);
	cr_assert_eq(c->currency_count, 0);
	cr_assert_eq(c->min_amount, 0);
	cr_assert_eq(c->max_amount, 0);
	cr_assert_eq(c->priority, 100);
	cr_assert_eq(c->timeout_ms, 5000);
	cr_assert_eq(cfg.max_attempts, 3);
	cr_assert_eq(cfg.deadline_ms, 30000);
	cr_assert_eq(cfg.breaker.window_ms, 30000);
	cr_assert_eq(cfg.breaker.min_volume, 20);
	cr_assert_eq(cfg.breaker.failure_pct, 50);
	cr_assert_eq(cfg.breaker.cooldown_ms, 5000);
	cr_assert_eq(cfg.breaker.probe_successes, 2);
	cr_assert_eq(cfg.breaker.probe_interval_ms, 2000);
}

Test(route_config, methods_default_by_kind)
{
	struct route_config cfg;
	char err[ERR_CAP];
	int rc = parse("{'channels':["
		       "{'name':'w_a','kind':'wallet_a','url':'http://localhost:1','secret':'x'},"
		       "{'name':'w_b','kind':'wallet_b','url':'http://[::1]:65535/sim','secret':'y'},"
		       "{'name':'sb','kind':'sandbox'}]}",
		       &cfg, err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(cfg.channels[0].methods, CH_CAP_ALIPAY);
	cr_assert_eq(cfg.channels[1].methods, CH_CAP_WECHAT_PAY);
	cr_assert_eq(cfg.channels[2].methods, CH_CAP_CARD | CH_CAP_ALIPAY | CH_CAP_WECHAT_PAY);
	cr_assert_str_eq(cfg.channels[2].url, "");
	cr_assert_str_eq(cfg.channels[2].secret, "");
}

Test(route_config, partial_sections_keep_other_defaults)
{
	struct route_config cfg;
	char err[ERR_CAP];
	int rc = parse("{'channels':[" ACQ_A "}],'routing':{'max_attempts':1},"
		       "'breaker':{'failure_pct':100,'min_volume':1}}",
		       &cfg, err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(cfg.max_attempts, 1);
	cr_assert_eq(cfg.deadline_ms, 30000);
	cr_assert_eq(cfg.breaker.failure_pct, 100);
	cr_assert_eq(cfg.breaker.min_volume, 1);
	cr_assert_eq(cfg.breaker.cooldown_ms, 5000);
}

Test(route_config, builtin_default_is_the_sandbox_alone)
{
	struct route_config cfg;
	memset(&cfg, 0xA5, sizeof cfg);
	route_config_default(&cfg);
	cr_assert_eq(cfg.channel_count, 1);
	cr_assert_str_eq(cfg.channels[0].name, "sandbox");
	cr_assert_str_eq(cfg.channels[0].kind, "sandbox");
	cr_assert_eq(cfg.channels[0].methods, CH_CAP_CARD | CH_CAP_ALIPAY | CH_CAP_WECHAT_PAY);
	cr_assert_eq(cfg.channels[0].currency_count, 0);
	cr_assert_eq(cfg.channels[0].max_amount, 0);
	cr_assert_eq(cfg.channels[0].priority, 100);
	cr_assert_eq(cfg.channels[0].timeout_ms, 5000);
	cr_assert_str_eq(cfg.channels[0].url, "");
	cr_assert_eq(cfg.max_attempts, 3);
	cr_assert_eq(cfg.breaker.window_ms, 30000);
	cr_assert_eq(cfg.breaker.probe_interval_ms, 2000);
}

static const char full_file[] =
	"{\n"
	"  \"channels\": [\n"
	"    {\"name\":\"acq_a\",\"kind\":\"acquirer\",\"url\":\"http://127.0.0.1:40001\","
	"\"secret\":\"s3cret-a\",\"methods\":[\"card\"],\"currencies\":[\"USD\",\"EUR\",\"cny\"],"
	"\"min_amount\":50,\"max_amount\":100000000,\"priority\":1,\"timeout_ms\":3000},\n"
	"    {\"name\":\"acq_b\",\"kind\":\"acquirer\",\"url\":\"http://127.0.0.1:40002/\","
	"\"secret\":\"s3cret-b\",\"priority\":2},\n"
	"    {\"name\":\"alipay_sim\",\"kind\":\"wallet_a\",\"url\":\"http://127.0.0.1:40003\","
	"\"secret\":\"s3cret-c\",\"currencies\":[\"CNY\"]},\n"
	"    {\"name\":\"wechat_sim\",\"kind\":\"wallet_b\",\"url\":\"http://127.0.0.1:40004\","
	"\"secret\":\"s3cret-d\",\"methods\":[\"wechat_pay\"],\"currencies\":[\"CNY\"]}\n"
	"  ],\n"
	"  \"routing\": {\"max_attempts\":2, \"deadline_ms\":20000},\n"
	"  \"breaker\": {\"window_ms\":10000,\"min_volume\":5,\"failure_pct\":40,"
	"\"cooldown_ms\":3000,\"probe_successes\":3,\"probe_interval_ms\":1000}\n"
	"}\n";

/* Writes `len` bytes of `text` (padded with spaces) to DIR/name. */
static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	size_t n = strlen(text);
	cr_assert_eq(fwrite(text, 1, n, f), n);
	for (size_t i = n; i < len; i++)
		fputc(' ', f);
	cr_assert_eq(fclose(f), 0);
}

struct tmp {
	char dir[64], path[128];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/payd-route-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/payd.json", t->dir);
}

static void tmp_remove(struct tmp *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

Test(route_config, full_file_from_disk)
{
	struct tmp t;
	struct route_config cfg;
	char err[ERR_CAP] = "";
	tmp_make(&t);
	write_file(t.path, full_file, 0);
	int rc = route_config_load(t.path, &cfg, err, sizeof err);
	tmp_remove(&t);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(cfg.channel_count, 4);
	const struct channel_config *a = &cfg.channels[0];
	cr_assert_eq(a->currency_count, 3);
	cr_assert_str_eq(a->currencies[0], "USD");
	cr_assert_str_eq(a->currencies[1], "EUR");
	cr_assert_str_eq(a->currencies[2], "CNY"); /* stored upper-case */
	cr_assert_eq(a->min_amount, 50);
	cr_assert_eq(a->max_amount, 100000000);
	cr_assert_eq(a->priority, 1);
	cr_assert_eq(a->timeout_ms, 3000);
	cr_assert_str_eq(cfg.channels[1].url, "http://127.0.0.1:40002/");
	cr_assert_eq(cfg.channels[1].priority, 2);
	cr_assert_str_eq(cfg.channels[2].name, "alipay_sim");
	cr_assert_eq(cfg.channels[2].methods, CH_CAP_ALIPAY);
	cr_assert_str_eq(cfg.channels[3].secret, "s3cret-d");
	cr_assert_eq(cfg.channels[3].methods, CH_CAP_WECHAT_PAY);
	cr_assert_eq(cfg.max_attempts, 2);
	cr_assert_eq(cfg.deadline_ms, 20000);
	cr_assert_eq(cfg.breaker.window_ms, 10000);
	cr_assert_eq(cfg.breaker.min_volume, 5);
	cr_assert_eq(cfg.breaker.failure_pct, 40);
	cr_assert_eq(cfg.breaker.cooldown_ms, 3000);
	cr_assert_eq(cfg.breaker.probe_successes, 3);
	cr_assert_eq(cfg.breaker.probe_interval_ms, 1000);
}

Test(route_config, file_at_the_size_limit_is_read_one_more_byte_is_not)
{
	struct tmp t;
	struct route_config cfg;
	char err[ERR_CAP] = "";
	tmp_make(&t);
	write_file(t.path, full_file, FILE_LIMIT);
	int at_limit = route_config_load(t.path, &cfg, err, sizeof err);
	write_file(t.path, full_file, FILE_LIMIT + 1);
	int over = route_config_load(t.path, &cfg, err, sizeof err);
	tmp_remove(&t);
	cr_assert_eq(at_limit, 0);
	cr_assert_eq(over, -1);
	cr_assert_not_null(strstr(err, "larger than 1 MiB"), "%s", err);
	cr_assert_not_null(strstr(err, t.path), "%s", err);
}

Test(route_config, missing_and_non_json_files)
{
	struct tmp t;
	struct route_config cfg;
	char err[ERR_CAP] = "";
	tmp_make(&t);
	cr_assert_eq(route_config_load(t.path, &cfg, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, t.path), "%s", err);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	write_file(t.path, "channels: [acq_a]\n", 0);
	cr_assert_eq(route_config_load(t.path, &cfg, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "not valid JSON: line 1"), "%s", err);
	int dir_rc = route_config_load(t.dir, &cfg, err, sizeof err);
	tmp_remove(&t);
	cr_assert_eq(dir_rc, -1, "a directory");
	cr_assert_not_null(strstr(err, t.dir), "%s", err);
	cr_assert_not_null(strstr(err, "Is a directory"), "%s", err);
}

Test(route_config, not_json_or_not_an_object)
{
	refused("", "not valid JSON");
	refused("{'channels':[" ACQ_A "}]", "not valid JSON");
	refused("[]", "must be a JSON object");
	refused("{'channels':[" ACQ_A "}],'channels':[]}", "duplicate");
	refused("{'channels':[" ACQ_A ",'priority':99999999999999999999999}]}",
		"not valid JSON"); /* past int64: jansson refuses it */
}

Test(route_config, channels_list)
{
	refused("{}", "channels: at least one channel is required");
	refused("{'channels':[]}", "channels: at least one channel is required");
	refused("{'channels':{}}", "channels: must be an array");
	refused("{'channels':[1]}", "channels[0]: must be an object");
	refused("{'channels':[" ACQ_A "}],'colour':'red'}", "colour: unknown field");
}

Test(route_config, too_many_channels)
{
	char text[TEXT_CAP] = "{'channels':[";
	for (int i = 0; i <= ROUTE_CHANNELS_MAX; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text),
			 "%s{'name':'sb%d','kind':'sandbox'}", i ? "," : "", i);
	strcat(text, "]}");
	refused(text, "channels: at most 16 channels");
	/* exactly the maximum is fine */
	*strstr(text, ",{'name':'sb16'") = '\0';
	strcat(text, "]}");
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg.channel_count, ROUTE_CHANNELS_MAX);
}

Test(route_config, unknown_fields)
{
	refused_acq(",'colour':'red'", "channels[0].colour: unknown field");
	refused("{'channels':[" ACQ_A "}],'routing':{'retries':3}}",
		"routing.retries: unknown field");
	refused("{'channels':[" ACQ_A "}],'breaker':{'window':3}}", "breaker.window: unknown field");
}

Test(route_config, name)
{
	refused("{'channels':[{'kind':'sandbox'}]}", "channels[0].name: is required");
	refused("{'channels':[{'name':'Acq','kind':'sandbox'}]}",
		"channels[0].name: must be 1 to 31 characters of [a-z0-9_]");
	refused("{'channels':[{'name':'a-b','kind':'sandbox'}]}", "channels[0].name: must be");
	refused("{'channels':[{'name':'','kind':'sandbox'}]}", "channels[0].name: must be 1 to 31");
	refused("{'channels':[{'name':'abcdefghijklmnopqrstuvwxyz_0123_','kind':'sandbox'}]}",
		"channels[0].name: must be 1 to 31");
	refused("{'channels':[{'name':5,'kind':'sandbox'}]}", "channels[0].name: must be a string");
	refused("{'channels':[" ACQ_A "},{'name':'sb','kind':'sandbox'}," ACQ_A "}]}",
		"channels[2].name: \"acq_a\" is used twice");
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse("{'channels':[{'name':'abcdefghijklmnopqrstuvwxyz_0123','kind':'sandbox'}]}",
			   &cfg, err),
		     0, "31 characters: %s", err);
}

Test(route_config, kind)
{
	refused("{'channels':[{'name':'x','kind':'paypal'}]}",
		"channels[0].kind: must be one of sandbox, acquirer, wallet_a, wallet_b, bank");
	refused("{'channels':[{'name':'x'}]}", "channels[0].kind: must be one of");
	refused("{'channels':[{'name':'x','kind':1}]}", "channels[0].kind: must be a string");
}

Test(route_config, url)
{
	static const char *const bad[] = {
		"https://127.0.0.1:1", "http://127.0.0.1", "http://127.0.0.1:0",
		"http://127.0.0.1:65536", "http://:80", "http://a b:80", "http://host:80x",
		"http://host:80/a b", "http://[::1:80", "ftp://host:21", "http://host/x:80",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[TEXT_CAP];
		snprintf(text, sizeof text,
			 "{'channels':[{'name':'x','kind':'acquirer','secret':'s','url':'%s'}]}",
			 bad[i]);
		refused(text, "channels[0].url: must be http://host:port[/path]");
	}
	refused("{'channels':[{'name':'x','kind':'acquirer','secret':'s'}]}",
		"channels[0].url: must be http://host:port[/path] (required for kind acquirer)");
	refused("{'channels':[{'name':'x','kind':'sandbox','url':'http://h:1'}]}",
		"channels[0].url: not used by kind sandbox");
	char long_url[2 * CHANNEL_URL_MAX] = "{'channels':[{'name':'x','kind':'acquirer','secret':'s','url':'http://h:1/";
	size_t n = strlen(long_url);
	memset(long_url + n, 'p', CHANNEL_URL_MAX);
	strcpy(long_url + n + CHANNEL_URL_MAX - 11, "'}]}");
	refused(long_url, "channels[0].url: must be 1 to 255 characters");
}

Test(route_config, secret)
{
	refused("{'channels':[{'name':'x','kind':'wallet_a','url':'http://h:1'}]}",
		"channels[0].secret: is required for kind wallet_a");
	refused_acq(",'secret':''", "duplicate"); /* the key twice: refused by the parser */
	refused("{'channels':[{'name':'x','kind':'acquirer','url':'http://h:1','secret':''}]}",
		"channels[0].secret: must be 1 to 127 characters");
	refused("{'channels':[{'name':'x','kind':'sandbox','secret':'s'}]}",
		"channels[0].secret: not used by kind sandbox");
	refused("{'channels':[{'name':'x','kind':'acquirer','url':'http://h:1','secret':'a\\nb'}]}",
		"channels[0].secret: must not contain control characters");
	char text[TEXT_CAP];
	char secret[CHANNEL_SECRET_MAX + 1];
	memset(secret, 's', CHANNEL_SECRET_MAX);
	secret[CHANNEL_SECRET_MAX] = '\0';
	snprintf(text, sizeof text,
		 "{'channels':[{'name':'x','kind':'acquirer','url':'http://h:1','secret':'%s'}]}", secret);
	refused(text, "channels[0].secret: must be 1 to 127 characters");
	secret[CHANNEL_SECRET_MAX - 1] = '\0'; /* 127: fine */
	snprintf(text, sizeof text,
		 "{'channels':[{'name':'x','kind':'acquirer','url':'http://h:1','secret':'%s'}]}", secret);
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(strlen(cfg.channels[0].secret), CHANNEL_SECRET_MAX - 1);
}

Test(route_config, methods)
{
	refused_acq(",'methods':'card'", "channels[0].methods: must be a non-empty array");
	refused_acq(",'methods':[]", "channels[0].methods: must be a non-empty array");
	refused_acq(",'methods':['bitcoin']",
		    "channels[0].methods[0]: must be one of card, alipay, wechat_pay");
	refused_acq(",'methods':['card',7]", "channels[0].methods[1]: must be one of");
	refused_acq(",'methods':['card','card']", "channels[0].methods: \"card\" is listed twice");
	refused_acq(",'methods':['alipay']", "channels[0].methods: kind acquirer takes only card");
}

Test(route_config, sandbox_methods_may_be_narrowed)
{
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse("{'channels':[{'name':'x','kind':'sandbox','methods':['card','wechat_pay']}]}",
			   &cfg, err),
		     0, "%s", err);
	cr_assert_eq(cfg.channels[0].methods, CH_CAP_CARD | CH_CAP_WECHAT_PAY);
}

Test(route_config, currencies)
{
	refused_acq(",'currencies':['USD','XYZ']",
		    "channels[0].currencies[1]: must be a supported ISO 4217 currency code");
	refused_acq(",'currencies':['US']", "channels[0].currencies[0]: must be a supported");
	refused_acq(",'currencies':['USDX']", "channels[0].currencies[0]: must be a supported");
	refused_acq(",'currencies':[840]", "channels[0].currencies[0]: must be a supported");
	refused_acq(",'currencies':'USD'", "channels[0].currencies: must be a non-empty array");
	refused_acq(",'currencies':[]", "channels[0].currencies: must be a non-empty array");
	refused_acq(",'currencies':['USD','usd']", "channels[0].currencies: \"USD\" is listed twice");
	char text[TEXT_CAP] = ",'currencies':[";
	for (int i = 0; i <= CHANNEL_CURRENCIES_MAX; i++)
		strcat(text, "'USD',");
	strcpy(text + strlen(text) - 1, "]");
	refused_acq(text, "channels[0].currencies: at most 32 currencies");
}

Test(route_config, amounts)
{
	refused_acq(",'min_amount':-1", "channels[0].min_amount: must be an integer amount");
	refused_acq(",'max_amount':-5", "channels[0].max_amount: must be an integer amount");
	refused_acq(",'min_amount':1.5", "channels[0].min_amount: must be an integer amount");
	refused_acq(",'min_amount':'50'", "channels[0].min_amount: must be an integer amount");
	refused_acq(",'max_amount':100000000000", "channels[0].max_amount: must be an integer amount");
	refused_acq(",'max_amount':9223372036854775807", "channels[0].max_amount");
	refused_acq(",'min_amount':101,'max_amount':100",
		    "channels[0].min_amount: must not exceed max_amount (100)");
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse("{'channels':[" ACQ_A ",'min_amount':500,'max_amount':0}]}", &cfg, err), 0,
		     "max 0 = no upper limit: %s", err);
	cr_assert_eq(parse("{'channels':[" ACQ_A ",'min_amount':500,'max_amount':500}]}", &cfg, err),
		     0, "%s", err);
	cr_assert_eq(parse("{'channels':[" ACQ_A ",'max_amount':99999999999}]}", &cfg, err), 0,
		     "%s", err);
	cr_assert_eq(cfg.channels[0].max_amount, 99999999999LL);
}

Test(route_config, priority_and_timeout)
{
	refused("{'channels':[" ACQ_A "},{'name':'b','kind':'sandbox','timeout_ms':99}]}",
		"channels[1].timeout_ms: must be an integer between 100 and 120000");
	refused("{'channels':[" ACQ_A "},{'name':'b','kind':'sandbox','timeout_ms':120001}]}",
		"channels[1].timeout_ms: must be an integer between 100 and 120000");
	refused("{'channels':[" ACQ_A "},{'name':'b','kind':'sandbox','timeout_ms':'5000'}]}",
		"channels[1].timeout_ms: must be an integer");
	refused_acq(",'priority':-1", "channels[0].priority: must be an integer between 0 and 10000");
	refused_acq(",'priority':10001", "channels[0].priority: must be an integer between 0 and 10000");
	refused_acq(",'priority':true", "channels[0].priority: must be an integer");
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse("{'channels':[" ACQ_A ",'priority':0,'timeout_ms':100}]}", &cfg, err), 0,
		     "%s", err);
	cr_assert_eq(parse("{'channels':[" ACQ_A ",'priority':10000,'timeout_ms':120000}]}", &cfg,
			   err),
		     0, "%s", err);
	cr_assert_eq(cfg.channels[0].timeout_ms, 120000);
}

Test(route_config, routing_and_breaker)
{
	static const struct {
		const char *section;
		const char *want;
	} cases[] = {
		{"'routing':3", "routing: must be an object"},
		{"'routing':{'max_attempts':0}", "routing.max_attempts: must be an integer between 1 and 10"},
		{"'routing':{'max_attempts':11}", "routing.max_attempts: must be an integer between 1 and 10"},
		{"'routing':{'deadline_ms':999}", "routing.deadline_ms: must be an integer between 1000 and 600000"},
		{"'breaker':[]", "breaker: must be an object"},
		{"'breaker':{'window_ms':999}", "breaker.window_ms: must be an integer between 1000 and 3600000"},
		{"'breaker':{'min_volume':0}", "breaker.min_volume: must be an integer between 1 and 100000"},
		{"'breaker':{'failure_pct':0}", "breaker.failure_pct: must be an integer between 1 and 100"},
		{"'breaker':{'failure_pct':101}", "breaker.failure_pct: must be an integer between 1 and 100"},
		{"'breaker':{'cooldown_ms':99}", "breaker.cooldown_ms: must be an integer between 100"},
		{"'breaker':{'probe_successes':0}", "breaker.probe_successes: must be an integer between 1 and 100"},
		{"'breaker':{'probe_interval_ms':3600001}", "breaker.probe_interval_ms: must be an integer"},
		{"'breaker':{'probe_interval_ms':2000.0}", "breaker.probe_interval_ms: must be an integer"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[TEXT_CAP];
		snprintf(text, sizeof text, "{'channels':[" ACQ_A "}],%s}", cases[i].section);
		refused(text, cases[i].want);
	}
}

/* ---- kind bank: payout rails --------------------------------------------------- */

#define BANK_A "{'name':'bank_a','kind':'bank','url':'http://127.0.0.1:40011','secret':'sba'"

Test(route_config, bank_defaults_to_payout)
{
	struct route_config cfg;
	char err[ERR_CAP];
	cr_assert_eq(parse("{'channels':[" BANK_A ",'currencies':['CNY'],'priority':1}]}", &cfg,
			   err),
		     0, "%s", err);
	const struct channel_config *c = &cfg.channels[0];
	cr_assert_str_eq(c->kind, "bank");
	cr_assert_eq(c->methods, CH_CAP_PAYOUT);
	cr_assert_str_eq(c->url, "http://127.0.0.1:40011");
	cr_assert_str_eq(c->secret, "sba");
	cr_assert_eq(c->priority, 1);
	cr_assert_eq(parse("{'channels':[" BANK_A ",'methods':['payout']}]}", &cfg, err), 0, "%s",
		     err);
	cr_assert_eq(cfg.channels[0].methods, CH_CAP_PAYOUT);
}

Test(route_config, bank_takes_payouts_only)
{
	refused("{'channels':[" BANK_A ",'methods':['card']}]}",
		"channels[0].methods: kind bank takes only payout");
	refused("{'channels':[" BANK_A ",'methods':['payout','alipay']}]}",
		"channels[0].methods: kind bank takes only payout");
	refused("{'channels':[" BANK_A ",'methods':['wechat_pay']}]}",
		"channels[0].methods: kind bank takes only payout");
	refused("{'channels':[" BANK_A ",'methods':['payout','payout']}]}",
		"channels[0].methods: \"payout\" is listed twice");
	refused("{'channels':[" BANK_A ",'methods':['cash']}]}",
		"channels[0].methods[0]: must be one of card, alipay, wechat_pay, payout");
}

Test(route_config, payment_kinds_take_no_payouts)
{
	refused_acq(",'methods':['payout']", "channels[0].methods: kind acquirer takes only card");
	refused_acq(",'methods':['card','payout']",
		    "channels[0].methods: kind acquirer takes only card");
	refused("{'channels':[{'name':'w','kind':'wallet_a','url':'http://h:1','secret':'s',"
		"'methods':['payout']}]}",
		"channels[0].methods: kind wallet_a takes only alipay");
	refused("{'channels':[{'name':'w','kind':'wallet_b','url':'http://h:1','secret':'s',"
		"'methods':['payout']}]}",
		"channels[0].methods: kind wallet_b takes only wechat_pay");
	refused("{'channels':[{'name':'sb','kind':'sandbox','methods':['payout']}]}",
		"channels[0].methods: kind sandbox takes only card, alipay, wechat_pay");
}

Test(route_config, bank_needs_url_and_secret)
{
	refused("{'channels':[{'name':'b','kind':'bank','secret':'s'}]}",
		"channels[0].url: must be http://host:port[/path] (required for kind bank)");
	refused("{'channels':[{'name':'b','kind':'bank','url':'http://h:1'}]}",
		"channels[0].secret: is required for kind bank");
}
