/* sim/channel_http: one channel's HTTP face (docs/SIM_PROTOCOL.md,
 * "Operations").  Every request goes: outage 503 -> signature (401, nothing
 * executed) -> route (404/405; a bank serves only its payout operations and
 * health, the other kinds everything else) -> body checks (400) -> the
 * operation (the bank's are in bank_http.c; channel.h shares the helpers).
 * Authorizations draw their fate from the seeded generator (code, slow,
 * lost, latency: always four draws, so a seed replays); the other
 * operations answer from the books.  Sleeps happen with the lock released. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "channel.h"
#include "http.h"
#include "signature.h"
#include "sim.h"

#define RATE_SCALE 1000000u
#define TAIL_FACTOR 2 /* the slowest 1% spread from p99 up to 2 x p99 */

typedef enum MHD_Result (*op_fn)(struct sim_op *op);

static int64_t now_ms(void)
{
	return clock_now_ms(&clock_system);
}

enum MHD_Result sim_reply(struct sim_op *op, unsigned status, json_t *json)
{
	char key[SIM_CODE_MAX + 8];
	const char *code = json_string_value(json_object_get(json, "code"));
	if (!code)
		code = json_string_value(json_object_get(json, "status")); /* a bank's */
	if (status == MHD_HTTP_OK && code)
		snprintf(key, sizeof key, "%s", code);
	else
		snprintf(key, sizeof key, "http_%u", status);
	sim_stats_count(op->ch, NULL, key, false);
	return sim_http_send(op->conn, status, json, op->cfg->secret);
}

enum MHD_Result sim_reply_error(struct sim_op *op, unsigned status, const char *error,
				const char *param)
{
	json_t *j = json_pack("{s:s}", "error", error);
	if (j && param)
		json_object_set_new(j, "param", json_string(param));
	return sim_reply(op, status, j);
}

/* ---- drawing from the scenario ----------------------------------------- */

bool sim_draw_rate(struct rng *r, double rate)
{
	return rng_below(r, RATE_SCALE) < (uint64_t)(rate * RATE_SCALE);
}

/* Piecewise-linear quantiles through (0, min), (0.5, p50), (0.99, p99),
 * (1, 2 x p99): log-normal-ish without floating point. */
int sim_draw_latency(struct rng *r, const struct sim_latency *l)
{
	uint64_t u = rng_below(r, RATE_SCALE);
	int64_t lo, hi, from, span;
	if (u < RATE_SCALE / 2) {
		lo = l->min_ms, hi = l->p50_ms, from = 0, span = RATE_SCALE / 2;
	} else if (u < RATE_SCALE / 100 * 99) {
		lo = l->p50_ms, hi = l->p99_ms, from = RATE_SCALE / 2, span = RATE_SCALE / 100 * 49;
	} else {
		lo = l->p99_ms, hi = (int64_t)l->p99_ms * TAIL_FACTOR;
		from = RATE_SCALE / 100 * 99, span = RATE_SCALE / 100;
	}
	return (int)(lo + (hi - lo) * ((int64_t)u - from) / span);
}

static const struct sim_code *draw_code(struct rng *r, const struct sim_channel_cfg *cfg)
{
	uint64_t total = 0;
	for (size_t i = 0; i < cfg->n_outcomes; i++)
		total += cfg->outcomes[i].weight;
	uint64_t x = rng_below(r, total);
	for (size_t i = 0; i < cfg->n_outcomes; i++) {
		if (x < cfg->outcomes[i].weight)
			return sim_code_find(cfg->kind, cfg->outcomes[i].code);
		x -= cfg->outcomes[i].weight;
	}
	return sim_code_success(cfg->kind);
}

void sim_latency_sleep(struct sim_op *op)
{
	struct sim *s = op->ch->sim;
	pthread_mutex_lock(&s->lock);
	int ms = sim_draw_latency(&s->rng, &op->cfg->latency);
	pthread_mutex_unlock(&s->lock);
	sim_sleep_ms(s, ms);
}

/* ---- body fields -------------------------------------------------------- */

static bool valid_reference(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > SIM_REF_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

const char *sim_get_reference(json_t *body, const char *field)
{
	const char *s = json_string_value(json_object_get(body, field));
	return valid_reference(s) ? s : NULL;
}

int64_t sim_get_amount(json_t *body)
{
	json_t *v = json_object_get(body, "amount");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > SIM_AMOUNT_MAX)
		return -1;
	return json_integer_value(v);
}

const char *sim_get_currency(json_t *body)
{
	const char *s = json_string_value(json_object_get(body, "currency"));
	if (!s || strlen(s) != 3)
		return NULL;
	for (int i = 0; i < 3; i++) {
		if (s[i] < 'A' || s[i] > 'Z')
			return NULL;
	}
	return s;
}

/* The method's type must be known; a card's last4, when given, 4 digits.
 * *last4 gets it for cards ("" otherwise). */
static bool check_method(json_t *body, char last4[5])
{
	json_t *m = json_object_get(body, "method");
	const char *type = json_string_value(json_object_get(m, "type"));
	last4[0] = '\0';
	if (!type)
		return false;
	if (strcmp(type, "alipay") == 0 || strcmp(type, "wechat_pay") == 0)
		return true;
	if (strcmp(type, "card") != 0)
		return false;
	const char *l4 = json_string_value(json_object_get(m, "last4"));
	if (!l4)
		return true;
	if (strlen(l4) != 4 || strspn(l4, "0123456789") != 4)
		return false;
	memcpy(last4, l4, 5);
	return true;
}

/* ---- authorize ---------------------------------------------------------- */

struct fate {
	const struct sim_code *code;
	bool slow, lost;
};

static struct fate draw_fate(struct rng *r, const struct sim_channel_cfg *cfg, const char *last4)
{
	struct fate f;
	f.code = draw_code(r, cfg);
	f.slow = sim_draw_rate(r, cfg->slow_rate);
	f.lost = sim_draw_rate(r, cfg->lost_rate);
	const char *forced = cfg->kind == SIM_KIND_ACQUIRER ? sim_code_forced_by_last4(last4) : NULL;
	if (forced)
		f.code = sim_code_find(cfg->kind, forced);
	return f;
}

/* The answer for an authorization already in the books (idempotent
 * replay, or the end of a fresh one). */
static json_t *authorize_answer(const struct sim_charge *c, const struct sim_channel_cfg *cfg)
{
	if (c->state == SIM_PAY_PROCESSING || !c->code)
		return sim_charge_answer(c, c->reference, sim_code_processing(cfg->kind));
	json_t *j = sim_charge_answer(c, c->reference, c->code);
	if (j && c->code->effect == SIM_EFFECT_PROCESSING)
		json_object_set_new(j, "state", json_string("processing"));
	return j;
}

struct auth_req {
	const char *reference, *currency;
	int64_t amount;
	bool capture;
	char last4[5];
};

static const char *auth_parse(json_t *body, struct auth_req *a)
{
	if (!(a->reference = sim_get_reference(body, "reference")))
		return "reference";
	if ((a->amount = sim_get_amount(body)) < 0)
		return "amount";
	if (!(a->currency = sim_get_currency(body)))
		return "currency";
	json_t *cap = json_object_get(body, "capture");
	if (!json_is_boolean(cap))
		return "capture";
	a->capture = json_is_true(cap);
	if (!check_method(body, a->last4))
		return "method";
	return NULL;
}

static enum MHD_Result op_authorize(struct sim_op *op)
{
	struct auth_req a;
	const char *bad = auth_parse(op->body, &a);
	if (bad)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", bad);
	struct sim *s = op->ch->sim;
	const struct sim_channel_cfg *cfg = op->cfg;
	pthread_mutex_lock(&s->lock);
	struct sim_charge *c = cfg->idempotent ? sim_books_find_charge(&op->ch->books, a.reference)
					       : NULL;
	if (c) {
		json_t *j = authorize_answer(c, cfg);
		pthread_mutex_unlock(&s->lock);
		sim_latency_sleep(op);
		return sim_reply(op, MHD_HTTP_OK, j);
	}
	struct fate f = draw_fate(&s->rng, cfg, a.last4);
	if (f.code->effect == SIM_EFFECT_NOT_EXECUTED) {
		pthread_mutex_unlock(&s->lock);
		sim_latency_sleep(op);
		return sim_reply(op, MHD_HTTP_OK, sim_charge_answer(NULL, a.reference, f.code));
	}
	c = sim_books_add_charge(&op->ch->books, a.reference, a.amount, a.currency);
	bool wait_first = f.slow && cfg->slow_before_execution;
	if (c && !wait_first)
		sim_books_execute(c, f.code, a.capture, now_ms());
	pthread_mutex_unlock(&s->lock);
	if (!c)
		return sim_reply_error(op, MHD_HTTP_SERVICE_UNAVAILABLE, "books_full", NULL);
	if (f.slow)
		sim_sleep_ms(s, cfg->slow_ms);
	if (wait_first) {
		pthread_mutex_lock(&s->lock);
		sim_books_execute(c, f.code, a.capture, now_ms());
		pthread_mutex_unlock(&s->lock);
	}
	if (f.lost) {
		sim_stats_count(op->ch, NULL, "lost", false);
		return MHD_NO; /* executed; the connection closes with no answer */
	}
	sim_latency_sleep(op);
	pthread_mutex_lock(&s->lock);
	json_t *j = authorize_answer(c, cfg);
	pthread_mutex_unlock(&s->lock);
	return sim_reply(op, MHD_HTTP_OK, j);
}

/* ---- the operations that answer from the books -------------------------- */

/* Runs fn on the books under the lock, then answers after the latency. */
static enum MHD_Result books_reply(struct sim_op *op, json_t *answer)
{
	if (!answer)
		return sim_reply_error(op, MHD_HTTP_SERVICE_UNAVAILABLE, "books_full", NULL);
	sim_latency_sleep(op);
	return sim_reply(op, MHD_HTTP_OK, answer);
}

static enum MHD_Result op_capture(struct sim_op *op)
{
	const char *ref = sim_get_reference(op->body, "reference");
	if (!ref)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "reference");
	int64_t amount = -1;
	if (json_object_get(op->body, "amount") && (amount = sim_get_amount(op->body)) < 0)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "amount");
	pthread_mutex_lock(&op->ch->sim->lock);
	json_t *j = sim_books_capture(&op->ch->books, ref, amount);
	pthread_mutex_unlock(&op->ch->sim->lock);
	return books_reply(op, j);
}

static enum MHD_Result op_void(struct sim_op *op)
{
	const char *ref = sim_get_reference(op->body, "reference");
	if (!ref)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "reference");
	pthread_mutex_lock(&op->ch->sim->lock);
	json_t *j = sim_books_void(&op->ch->books, ref);
	pthread_mutex_unlock(&op->ch->sim->lock);
	return books_reply(op, j);
}

static enum MHD_Result op_refund(struct sim_op *op)
{
	const char *ref = sim_get_reference(op->body, "reference");
	const char *pay = sim_get_reference(op->body, "payment_reference");
	int64_t amount = sim_get_amount(op->body);
	const char *currency = sim_get_currency(op->body);
	const char *bad = !ref ? "reference" : !pay ? "payment_reference" : amount < 0 ? "amount"
			  : !currency				       ? "currency"
									       : NULL;
	if (bad)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", bad);
	pthread_mutex_lock(&op->ch->sim->lock);
	json_t *j = sim_books_refund(&op->ch->books, ref, pay, amount, currency);
	pthread_mutex_unlock(&op->ch->sim->lock);
	return books_reply(op, j);
}

static enum MHD_Result op_query(struct sim_op *op)
{
	const char *ref = sim_get_reference(op->body, "reference");
	if (!ref)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "reference");
	pthread_mutex_lock(&op->ch->sim->lock);
	json_t *j = sim_books_query(&op->ch->books, ref);
	pthread_mutex_unlock(&op->ch->sim->lock);
	return books_reply(op, j);
}

static enum MHD_Result op_query_refund(struct sim_op *op)
{
	const char *ref = sim_get_reference(op->body, "reference");
	if (!ref)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "reference");
	pthread_mutex_lock(&op->ch->sim->lock);
	json_t *j = sim_books_query_refund(&op->ch->books, ref);
	pthread_mutex_unlock(&op->ch->sim->lock);
	return books_reply(op, j);
}

static enum MHD_Result op_health(struct sim_op *op)
{
	return sim_reply(op, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

/* ---- routing ------------------------------------------------------------ */

enum route_kinds { ROUTE_CHARGES, ROUTE_BANK, ROUTE_ANY };

static const struct route {
	const char *path, *method;
	op_fn fn;
	enum route_kinds kinds;
} routes[] = {
	{"/v1/authorize", "POST", op_authorize, ROUTE_CHARGES},
	{"/v1/capture", "POST", op_capture, ROUTE_CHARGES},
	{"/v1/void", "POST", op_void, ROUTE_CHARGES},
	{"/v1/refund", "POST", op_refund, ROUTE_CHARGES},
	{"/v1/query", "POST", op_query, ROUTE_CHARGES},
	{"/v1/query_refund", "POST", op_query_refund, ROUTE_CHARGES},
	{"/v1/payout", "POST", sim_op_payout, ROUTE_BANK},
	{"/v1/query_payout", "POST", sim_op_query_payout, ROUTE_BANK},
	{"/v1/health", "GET", op_health, ROUTE_ANY},
};

static bool route_serves(const struct route *rt, enum sim_kind kind)
{
	return rt->kinds == ROUTE_ANY || (rt->kinds == ROUTE_BANK) == (kind == SIM_KIND_BANK);
}

static const struct route *route_find(const char *url)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].path, url) == 0)
			return &routes[i];
	}
	return NULL;
}

static enum MHD_Result dispatch(struct sim_op *op, const char *method, const struct sim_req *req)
{
	const struct route *rt = route_find(op->path);
	if (!rt || !route_serves(rt, op->cfg->kind))
		return sim_reply_error(op, MHD_HTTP_NOT_FOUND, "not_found", NULL);
	if (strcmp(rt->method, method) != 0)
		return sim_reply_error(op, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL);
	if (rt->fn == op_health)
		return op_health(op);
	op->body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(op->body))
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "body");
	return rt->fn(op);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct sim_channel *ch = cls;
	struct sim_req *req = NULL;
	enum sim_collect got = sim_http_collect(con_cls, upload, upload_size, &req);
	if (got != SIM_COLLECT_DONE)
		return got == SIM_COLLECT_MORE ? MHD_YES : MHD_NO;
	struct sim_channel_cfg cfg;
	pthread_mutex_lock(&ch->sim->lock);
	cfg = ch->cfg;
	pthread_mutex_unlock(&ch->sim->lock);
	struct sim_op op = {.ch = ch, .cfg = &cfg, .conn = conn,
			    .path = route_find(url) ? url : "other"};
	sim_stats_count(ch, op.path, NULL, false);
	if (req->too_big)
		return sim_reply_error(&op, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", NULL);
	if (cfg.outage == SIM_OUTAGE_503)
		return sim_reply_error(&op, MHD_HTTP_SERVICE_UNAVAILABLE, "outage", NULL);
	const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, SIM_SIG_HEADER);
	if (!sim_verify(cfg.secret, sig, req->body, req->len, now_ms() / 1000)) {
		sim_stats_count(ch, NULL, NULL, true);
		return sim_reply_error(&op, MHD_HTTP_UNAUTHORIZED, "signature_invalid", NULL);
	}
	op.path = url;
	enum MHD_Result ret = dispatch(&op, method, req);
	json_decref(op.body);
	return ret;
}

bool sim_channel_start(struct sim_channel *ch)
{
	uint16_t bound = 0;
	ch->daemon = sim_http_start(ch->sim->host, ch->port, on_request, ch, &bound);
	if (!ch->daemon)
		return false;
	if (ch->port != bound)
		ch->port = bound; /* only at the first start: the port is then kept */
	return true;
}

void sim_channel_stop(struct sim_channel *ch)
{
	if (!ch->daemon)
		return;
	/* Close the listening socket first so new connections are refused at
	 * once, then wait for the requests in flight. */
	MHD_socket fd = MHD_quiesce_daemon(ch->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	MHD_stop_daemon(ch->daemon);
	ch->daemon = NULL;
}
