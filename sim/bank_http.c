/* sim/bank_http: a bank channel's operations (docs/SIM_PROTOCOL.md, "Bank
 * payout rails"): /v1/payout checks its body, replays a known reference on
 * an idempotent rail, else draws the payout's fate and durations (always
 * the same six draws: fate, slow, lost, transit, settle, return; then the
 * answer's latency) and executes it: a record in the books and its timers.
 * /v1/query_payout answers from the books.  Slow, lost and latency behave
 * as for authorizations; sleeps happen with the lock released. */
#include <stdio.h>
#include <string.h>

#include "bank.h"
#include "base/clock.h"
#include "base/utf8.h"
#include "channel.h"

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static int64_t now_ms(void)
{
	return clock_now_ms(&clock_system);
}

/* ---- the body ------------------------------------------------------------- */

/* s is lo..hi bytes, all from set. */
static bool all_of(const char *s, const char *set, size_t lo, size_t hi)
{
	size_t n = s ? strlen(s) : 0;
	return n >= lo && n <= hi && strspn(s, set) == n;
}

/* Printable UTF-8 of 1..max characters (code points). */
static bool valid_text(const char *s, size_t max)
{
	if (!s || !*s || !utf8_printable(s, strlen(s)))
		return false;
	size_t chars = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		chars += (*c & 0xC0) != 0x80;
	return chars <= max;
}

/* The account's fields; the bad one's name, or NULL with last4 set. */
static const char *check_account(json_t *body, char last4[5])
{
	json_t *acc = json_object_get(body, "account");
	if (!json_is_object(acc))
		return "account";
	if (!valid_text(json_string_value(json_object_get(acc, "holder_name")), SIM_HOLDER_NAME_MAX))
		return "account.holder_name";
	const char *number = json_string_value(json_object_get(acc, "number"));
	if (!all_of(number, ALNUM, SIM_ACCOUNT_NUMBER_MIN, SIM_ACCOUNT_NUMBER_MAX))
		return "account.number";
	if (!all_of(json_string_value(json_object_get(acc, "bank_code")), ALNUM "-", 1,
		    SIM_BANK_CODE_MAX))
		return "account.bank_code";
	if (!all_of(json_string_value(json_object_get(acc, "country")), UPPER, 2, 2))
		return "account.country";
	memcpy(last4, number + strlen(number) - 4, 5); /* only these are kept */
	return NULL;
}

static const char *payout_parse(json_t *body, struct sim_payout_order *o)
{
	if (!(o->reference = sim_get_reference(body, "reference")))
		return "reference";
	if ((o->amount = sim_get_amount(body)) < 0)
		return "amount";
	if (!(o->currency = sim_get_currency(body)))
		return "currency";
	const char *method = json_string_value(json_object_get(body, "method"));
	if (!method || (strcmp(method, "standard") != 0 && strcmp(method, "instant") != 0))
		return "method";
	o->instant = strcmp(method, "instant") == 0;
	return check_account(body, o->account_last4);
}

/* ---- drawing the payout --------------------------------------------------- */

struct draws {
	struct sim_payout_plan plan;
	bool slow, lost;
};

static struct sim_fate draw_fate(struct rng *r, const struct sim_channel_cfg *cfg)
{
	uint64_t total = 0;
	for (size_t i = 0; i < cfg->n_payout_outcomes; i++)
		total += cfg->payout_outcomes[i].weight;
	uint64_t x = rng_below(r, total);
	struct sim_fate fate = {.kind = SIM_FATE_PAID};
	for (size_t i = 0; i < cfg->n_payout_outcomes; i++) {
		if (x < cfg->payout_outcomes[i].weight) {
			sim_fate_parse(cfg->payout_outcomes[i].code, &fate); /* checked when set */
			break;
		}
		x -= cfg->payout_outcomes[i].weight;
	}
	return fate;
}

/* A duration of scenario time drawn from l, in real ms. */
static int64_t draw_real_ms(struct rng *r, const struct sim_channel_cfg *cfg,
			    const struct sim_latency *l)
{
	return (int64_t)((double)sim_draw_latency(r, l) / cfg->time_scale);
}

static struct draws draw_payout(struct rng *r, const struct sim_channel_cfg *cfg, bool instant)
{
	struct draws d;
	d.plan.fate = draw_fate(r, cfg);
	d.slow = sim_draw_rate(r, cfg->slow_rate);
	d.lost = sim_draw_rate(r, cfg->lost_rate);
	d.plan.transit_ms = draw_real_ms(r, cfg, &cfg->transit);
	int64_t settle = draw_real_ms(r, cfg, instant ? &cfg->instant_settle : &cfg->settle);
	/* the fate never comes before the payout is in transit */
	d.plan.fate_ms = settle > d.plan.transit_ms ? settle : d.plan.transit_ms;
	d.plan.return_ms = draw_real_ms(r, cfg, &cfg->return_after);
	return d;
}

/* ---- the operations ------------------------------------------------------- */

/* lock: executes p and sets its timers; false (nothing executed) when the
 * timer queue is full. */
static bool execute(struct sim_channel *ch, struct sim_payout *p, const struct sim_payout_plan *plan)
{
	if (!sim_bank_has_room(ch->sim, SIM_PAYOUT_TIMERS)) {
		p->deciding = false;
		if (!p->executions)
			p->state = SIM_PO_NONE;
		return false;
	}
	int64_t now = now_ms();
	sim_payout_execute(&ch->books, p, plan, now);
	sim_bank_schedule(ch, p, SIM_TIMER_TRANSIT, now + plan->transit_ms);
	sim_bank_schedule(ch, p, SIM_TIMER_FATE, now + plan->fate_ms);
	return true;
}

/* lock: the record the order goes to, or NULL when the books are full. */
static struct sim_payout *receive(struct sim_channel *ch, struct sim_payout *p,
				  const struct sim_payout_order *o)
{
	if (!p)
		p = sim_payouts_add(&ch->books, o->reference);
	if (p)
		sim_payout_receive(p, o);
	return p;
}

/* The answer after a slow wait, or its end for the lost. */
static enum MHD_Result finish(struct sim_op *op, json_t *answer, bool lost)
{
	if (lost) {
		json_decref(answer);
		sim_stats_count(op->ch, NULL, "lost", false);
		return MHD_NO; /* executed; the connection closes with no answer */
	}
	sim_latency_sleep(op);
	return sim_reply(op, MHD_HTTP_OK, answer);
}

/* A payout that waits slow_ms before it is executed (answers PDNG meanwhile). */
static enum MHD_Result execute_late(struct sim_op *op, struct sim_payout *p, const struct draws *d)
{
	struct sim *s = op->ch->sim;
	sim_sleep_ms(s, op->cfg->slow_ms);
	pthread_mutex_lock(&s->lock);
	bool ok = execute(op->ch, p, &d->plan);
	json_t *j = ok ? sim_payout_answer(p, p->reference) : NULL;
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		return sim_reply_error(op, MHD_HTTP_SERVICE_UNAVAILABLE, "timers_full", NULL);
	return finish(op, j, d->lost);
}

enum MHD_Result sim_op_payout(struct sim_op *op)
{
	struct sim_payout_order o;
	const char *bad = payout_parse(op->body, &o);
	if (bad)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", bad);
	struct sim *s = op->ch->sim;
	pthread_mutex_lock(&s->lock);
	struct sim_payout *p = sim_payouts_find(&op->ch->books, o.reference);
	if (p && op->cfg->idempotent && sim_payout_known(p)) {
		json_t *j = sim_payout_answer(p, o.reference); /* replayed: nothing executed */
		pthread_mutex_unlock(&s->lock);
		return finish(op, j, false);
	}
	struct draws d = draw_payout(&s->rng, op->cfg, o.instant);
	bool wait_first = d.slow && op->cfg->slow_before_execution;
	bool room = sim_bank_has_room(s, SIM_PAYOUT_TIMERS);
	p = room ? receive(op->ch, p, &o) : NULL;
	bool ok = p && (wait_first || execute(op->ch, p, &d.plan));
	json_t *j = ok && !wait_first ? sim_payout_answer(p, o.reference) : NULL;
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		return sim_reply_error(op, MHD_HTTP_SERVICE_UNAVAILABLE,
				       room ? "books_full" : "timers_full", NULL);
	if (wait_first)
		return execute_late(op, p, &d);
	if (d.slow)
		sim_sleep_ms(s, op->cfg->slow_ms);
	return finish(op, j, d.lost);
}

enum MHD_Result sim_op_query_payout(struct sim_op *op)
{
	const char *ref = sim_get_reference(op->body, "reference");
	if (!ref)
		return sim_reply_error(op, MHD_HTTP_BAD_REQUEST, "invalid_request", "reference");
	pthread_mutex_lock(&op->ch->sim->lock);
	json_t *j = sim_payout_answer(sim_payouts_find(&op->ch->books, ref), ref);
	pthread_mutex_unlock(&op->ch->sim->lock);
	return finish(op, j, false);
}
