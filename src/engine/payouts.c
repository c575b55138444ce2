/* engine/payouts: recipients, payouts and what their rails say about
 * them (answers, callbacks, polls), and the payouts' deadlines.
 *
 * Money: creating a payout puts its amount on a hold merchant -> rail
 * (the merchant's account allows no overdraft: no payout beyond the
 * available balance); paid settles the hold; failed or canceled releases
 * it; a return after paid moves the money back rail -> merchant.  Every
 * status change is in the same transaction as its ledger move, its line
 * in the payout's timeline and its event.
 *
 * Tracking: a payout not final carries next_poll_ms, the one time the
 * engine looks at it again (the tick, CMD_PAYOUT_TICK, about once a
 * second): it asks the rail (backing off while there is no news), sends a
 * payout no rail could take yet, and raises `payout.overdue` with an alert
 * once the expected arrival plus the grace has passed — again, one level
 * up, each escalation period while it stays late.  The alert resolves
 * itself when the payout settles.  A crash needs no recovery of its own:
 * the tick asks about whatever was out.
 *
 * A call whose outcome is unknown is never sent again before the rail has
 * said it never received it (promise 5); a rail that did not execute it
 * (refused, 503) is left for the next one in the plan at once. */
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "core/bank_account.h"
#include "core/catalog.h"
#include "core/render.h"
#include "engine/internal.h"

#define PAYOUT_STANDARD_ARRIVAL_MS (24LL * 3600 * 1000) /* until the rail says */
#define PAYOUT_INSTANT_ARRIVAL_MS (30LL * 60 * 1000)
#define PAYOUT_TIMELINE_MAX 64 /* timeline lines rendered with a payout */
#define PAYOUT_ALERT_KIND "payout_overdue"
#define PAYOUT_TICK_MAX 256 /* payouts looked at per tick; the rest at the next */
#define PAYOUT_CALLBACK_KEEP_MS (7LL * 24 * 3600 * 1000) /* callback ids remembered */

static int64_t next_look(const struct engine *e, const struct payout *p);
static int resolve_alert(struct engine *e, const struct payout *p);

struct timeline {
	struct payout_event ev[PAYOUT_TIMELINE_MAX];
	int n, total;
};

/* Keeps the newest PAYOUT_TIMELINE_MAX lines (an event's snapshot must
 * show the change it reports). */
static void collect_event(void *ctx, const void *record)
{
	struct timeline *t = ctx;
	if (t->n == PAYOUT_TIMELINE_MAX) {
		memmove(t->ev, t->ev + 1, (PAYOUT_TIMELINE_MAX - 1) * sizeof t->ev[0]);
		t->n--;
	}
	t->ev[t->n++] = *(const struct payout_event *)record;
	t->total++;
}

static int load_timeline(struct engine *e, const char *payout_id, struct timeline *t)
{
	t->n = t->total = 0;
	return e->store->ops->payout_event_list(e->store, payout_id, collect_event, t);
}

/* A line in the payout's timeline, with its status now. */
static int add_line(struct engine *e, const struct payout *p, struct timeline *t,
		    const char *source, const char *code, const char *message)
{
	struct payout_event ev = {.seq = t->total + 1, .at_ms = e->now_ms, .status = p->status};
	memcpy(ev.payout_id, p->id, sizeof ev.payout_id);
	snprintf(ev.source, sizeof ev.source, "%s", source);
	snprintf(ev.code, sizeof ev.code, "%s", code ? code : "");
	snprintf(ev.message, sizeof ev.message, "%s", message ? message : "");
	int rc = e->store->ops->payout_event_insert(e->store, &ev);
	if (rc == CAT_OK)
		collect_event(t, &ev);
	return rc;
}

static int emit(struct engine *e, const struct payout *p, const struct timeline *t,
		const char *type)
{
	char *text = render_take_text(render_payout(p, t->ev, t->n, "en"));
	int rc = text ? engine_append_event(e, p->merchant_id, type, p->id, text) : CAT_INTERNAL;
	free(text);
	return rc;
}

/* ---- bank accounts ------------------------------------------------------ */

/* Fills `a` from an account given in clear: masked, fingerprinted and
 * sealed for `owner` (the record that keeps it). */
static int account_from(struct engine *e, const struct bank_dest *d, const char *owner,
			struct bank_account *a)
{
	char normal[PAYOUT_NUMBER_MAX];
	if (bank_account_normalize(d->number, normal, sizeof normal) != 0)
		return CAT_PARAMETER_INVALID;
	snprintf(a->holder_name, sizeof a->holder_name, "%s", d->holder_name);
	snprintf(a->bank_code, sizeof a->bank_code, "%s", d->bank_code);
	snprintf(a->country, sizeof a->country, "%s", d->country);
	bank_account_last4(normal, a->last4);
	bank_account_fingerprint(e->account_fp_key, normal, a->fingerprint);
	bool ok = crypto_seal(e->account_seal_key, normal, strlen(normal), owner, strlen(owner),
			      a->sealed, sizeof a->sealed, &a->sealed_len);
	explicit_bzero(normal, sizeof normal);
	return ok ? CAT_OK : CAT_INTERNAL;
}

/* The destination in clear (for the rail's call only), from `a` sealed
 * for `owner`. */
static int account_open(struct engine *e, const struct bank_account *a, const char *owner,
			struct channel_payout *out)
{
	size_t len = 0;
	memset(out, 0, sizeof *out);
	if (!crypto_open(e->account_seal_key, a->sealed, a->sealed_len, owner, strlen(owner),
			 out->number, sizeof out->number - 1, &len))
		return CAT_INTERNAL;
	out->number[len] = '\0';
	snprintf(out->holder_name, sizeof out->holder_name, "%s", a->holder_name);
	snprintf(out->bank_code, sizeof out->bank_code, "%s", a->bank_code);
	snprintf(out->country, sizeof out->country, "%s", a->country);
	return CAT_OK;
}

/* ---- recipients --------------------------------------------------------- */

static int recipient_create(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct recipient_args *a = &cmd->recipient;
	struct recipient r = {.created_ms = e->now_ms};
	id_new(&e->ids, ID_RECIPIENT, r.id);
	memcpy(r.merchant_id, cmd->merchant_id, sizeof r.merchant_id);
	snprintf(r.name, sizeof r.name, "%s", a->name);
	memcpy(r.currency, a->currency, sizeof r.currency);
	memcpy(r.email, a->email, sizeof r.email);
	memcpy(r.preferred_language, a->preferred_language, sizeof r.preferred_language);
	int rc = account_from(e, &a->account, r.id, &r.account);
	if (rc == CAT_OK && a->metadata && json_object_size(a->metadata))
		r.metadata_json = json_dumps(a->metadata, JSON_COMPACT | JSON_SORT_KEYS);
	if (rc == CAT_OK)
		rc = e->store->ops->recipient_insert(e->store, &r);
	if (rc == CAT_OK) {
		engine_reply_json(cmd, 200, render_recipient(&r));
		*out = EXEC_REPLY;
	}
	recipient_clear(&r);
	return rc;
}

/* ---- sending to a rail -------------------------------------------------- */

static int64_t backoff_ms(const struct engine *e, int polls)
{
	int64_t wait = e->payout_poll_first_ms;
	for (int i = 0; i < polls && wait < e->payout_poll_max_ms; i++)
		wait *= 2;
	return wait < e->payout_poll_max_ms ? wait : e->payout_poll_max_ms;
}

/* The best rail for the payout other than `not` (NULL: any). */
static const struct channel *pick_rail(struct engine *e, const struct payout *p, const char *not)
{
	struct channel *plan[ROUTE_CHANNELS_MAX];
	int n = route_plan_payout(e->route, p->currency, p->amount, e->now_ms, plan,
				  ROUTE_CHANNELS_MAX);
	for (int i = 0; i < n; i++)
		if (!not || strcmp(plan[i]->name, not) != 0)
			return plan[i];
	return NULL;
}

/* Sends the payout's current attempt (rail_reference) to its rail after
 * the commit.  The number is opened for the call and wiped with it. */
static int send_to_rail(struct engine *e, const struct payout *p)
{
	struct channel_payout dest;
	int rc = account_open(e, &p->account, p->id, &dest);
	if (rc)
		return rc;
	dest.instant = p->method == PO_INSTANT;
	struct channel_request req = {.op = CH_OP_PAYOUT, .amount = p->amount, .payout = &dest};
	memcpy(req.reference, p->rail_reference, sizeof req.reference);
	memcpy(req.payment_reference, p->id, sizeof req.payment_reference);
	memcpy(req.currency, p->currency, sizeof req.currency);
	engine_queue_call(e, NULL, p->rail, p->merchant_id, p->id, &req);
	explicit_bzero(&dest, sizeof dest);
	return CAT_OK;
}

static void ask_rail(struct engine *e, const struct payout *p, int checks)
{
	struct channel_request req = {.op = CH_OP_QUERY_PAYOUT, .amount = p->amount};
	memcpy(req.reference, p->rail_reference, sizeof req.reference);
	memcpy(req.payment_reference, p->id, sizeof req.payment_reference);
	memcpy(req.currency, p->currency, sizeof req.currency);
	engine_queue_call(e, NULL, p->rail, p->merchant_id, p->id, &req)->checks = checks;
}

/* Moves the payout (and its hold) to `rail` with a new attempt, and sends
 * it there after the commit. */
static int move_to_rail(struct engine *e, struct payout *p, struct timeline *t,
			const struct channel *rail, const char *why)
{
	int rc = CAT_OK;
	if (strcmp(p->rail, rail->name) != 0) {
		rc = books_release(e, p->hold_transfer_id);
		if (rc == CAT_OK)
			rc = books_transfer(e, true, "merchant", p->merchant_id, "rail", rail->name,
					    p->currency, p->amount, p->hold_transfer_id);
	}
	if (rc)
		return rc;
	snprintf(p->rail, sizeof p->rail, "%s", rail->name);
	id_new(&e->ids, ID_PAYOUT_ATTEMPT, p->rail_reference);
	p->rail_attempts++; /* in this round of rails (await_rail starts a new one) */
	p->outcome_unknown = false;
	p->updated_ms = e->now_ms; /* when it was sent: "never received" is judged from here */
	p->next_poll_ms = e->now_ms + e->payout_poll_first_ms;
	char line[PAYOUT_MESSAGE_MAX];
	snprintf(line, sizeof line, "%s; sent to %s", why, rail->name);
	rc = add_line(e, p, t, "rail", NULL, line);
	return rc ? rc : send_to_rail(e, p);
}

/* No rail would take it now: it waits (pending) and the tick tries again. */
static int await_rail(struct engine *e, struct payout *p, struct timeline *t, const char *why)
{
	p->rail_reference[0] = '\0';
	p->rail_attempts = 0;
	p->outcome_unknown = false;
	p->updated_ms = e->now_ms;
	p->next_poll_ms = e->now_ms + backoff_ms(e, p->polls++);
	char line[PAYOUT_MESSAGE_MAX];
	snprintf(line, sizeof line, "%.130s; waiting for a rail", why);
	return add_line(e, p, t, "rail", NULL, line);
}

/* ---- payouts ------------------------------------------------------------ */

/* The destination in clear: the saved recipient's, or the one given. */
static int destination(struct engine *e, struct engine_cmd *cmd, struct payout *p,
		       struct bank_dest *dest)
{
	struct payout_args *a = &cmd->payout;
	if (!a->recipient_id[0]) {
		*dest = a->account;
		return CAT_OK;
	}
	struct recipient r = {0};
	int rc = e->store->ops->recipient_get(e->store, cmd->merchant_id, a->recipient_id, &r);
	if (rc == CAT_NO_SUCH_OBJECT)
		params_fail(&cmd->err, rc, "destination", "No such recipient: '%s'", a->recipient_id);
	else if (rc == CAT_OK && strcmp(r.currency, a->currency) != 0)
		rc = params_fail(&cmd->err, CAT_PARAMETER_INVALID, "currency",
				 "The recipient's account takes %s, not %s.", r.currency, a->currency);
	struct channel_payout open;
	if (rc == CAT_OK && (rc = account_open(e, &r.account, r.id, &open)) == CAT_OK) {
		memcpy(dest->number, open.number, sizeof dest->number);
		memcpy(dest->holder_name, open.holder_name, sizeof dest->holder_name);
		memcpy(dest->bank_code, open.bank_code, sizeof dest->bank_code);
		memcpy(dest->country, open.country, sizeof dest->country);
		memcpy(p->recipient_id, r.id, sizeof p->recipient_id);
		explicit_bzero(&open, sizeof open);
	}
	recipient_clear(&r);
	return rc;
}

static void payout_fields(struct engine *e, struct engine_cmd *cmd, struct payout *p)
{
	struct payout_args *a = &cmd->payout;
	id_new(&e->ids, ID_PAYOUT, p->id);
	memcpy(p->merchant_id, cmd->merchant_id, sizeof p->merchant_id);
	memcpy(cmd->target_id, p->id, sizeof cmd->target_id);
	p->amount = a->amount;
	memcpy(p->currency, a->currency, sizeof p->currency);
	p->method = a->method;
	p->status = PO_PENDING;
	p->description = a->description ? strdup(a->description) : NULL;
	if (a->metadata && json_object_size(a->metadata))
		p->metadata_json = json_dumps(a->metadata, JSON_COMPACT | JSON_SORT_KEYS);
	p->expected_arrival_ms = e->now_ms + (p->method == PO_INSTANT ? PAYOUT_INSTANT_ARRIVAL_MS
								     : PAYOUT_STANDARD_ARRIVAL_MS);
	p->created_ms = p->updated_ms = e->now_ms;
}

static int payout_create(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct payout p = {0};
	struct bank_dest dest = {0};
	struct timeline *t = calloc(1, sizeof *t);
	if (!t)
		return CAT_INTERNAL;
	payout_fields(e, cmd, &p);
	int rc = destination(e, cmd, &p, &dest);
	const struct channel *rail = rc ? NULL : pick_rail(e, &p, NULL);
	if (rc == CAT_OK && !rail)
		rc = params_fail(&cmd->err, CAT_CHANNEL_UNAVAILABLE, "currency",
				 "No payout rail takes %s %lld now.", p.currency, (long long)p.amount);
	if (rc == CAT_OK)
		rc = account_from(e, &dest, p.id, &p.account);
	if (rc == CAT_OK)
		rc = books_transfer(e, true, "merchant", p.merchant_id, "rail", rail->name,
				    p.currency, p.amount, p.hold_transfer_id);
	if (rc == CAT_BALANCE_INSUFFICIENT)
		params_fail(&cmd->err, rc, "amount",
			    "The available balance is too low to pay out %lld %s.",
			    (long long)p.amount, p.currency);
	if (rc == CAT_OK) {
		snprintf(p.rail, sizeof p.rail, "%s", rail->name);
		rc = e->store->ops->payout_insert(e->store, &p);
	}
	if (rc == CAT_OK)
		rc = add_line(e, &p, t, "api", NULL, "created");
	if (rc == CAT_OK)
		rc = move_to_rail(e, &p, t, rail, "created");
	if (rc == CAT_OK)
		rc = e->store->ops->payout_update(e->store, &p);
	if (rc == CAT_OK)
		rc = emit(e, &p, t, "payout.created");
	if (rc == CAT_OK) {
		engine_reply_json(cmd, 200, render_payout(&p, t->ev, t->n, cmd->lang));
		*out = EXEC_REPLY;
	}
	explicit_bzero(&dest, sizeof dest);
	payout_clear(&p);
	free(t);
	return rc;
}

static int load_payout(struct engine *e, struct engine_cmd *cmd, struct payout *p)
{
	int rc = e->store->ops->payout_get(e->store, cmd->merchant_id, cmd->target_id, p);
	if (rc == CAT_NO_SUCH_OBJECT)
		params_fail(&cmd->err, rc, "payout", "No such payout: '%s'", cmd->target_id);
	return rc;
}

/* Only a payout no rail has taken yet can be canceled: once a rail has
 * it, the money may be on its way. */
static int payout_cancel(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct payout p = {0};
	struct timeline *t = calloc(1, sizeof *t);
	int rc = t ? load_payout(e, cmd, &p) : CAT_INTERNAL;
	if (rc == CAT_OK && (p.status != PO_PENDING || p.rail_reference[0]))
		rc = params_fail(&cmd->err, CAT_INVALID_STATE, NULL,
				 p.status == PO_PENDING
					 ? "This payout was sent to %s already and can no longer be canceled."
					 : "This payout cannot be canceled: it is %s.",
				 p.status == PO_PENDING ? p.rail : payout_status_name(p.status));
	if (rc == CAT_OK)
		rc = load_timeline(e, p.id, t);
	if (rc == CAT_OK)
		rc = books_release(e, p.hold_transfer_id);
	if (rc == CAT_OK) {
		p.status = PO_CANCELED;
		p.next_poll_ms = 0;
		p.updated_ms = e->now_ms;
		rc = add_line(e, &p, t, "api", NULL, "canceled");
	}
	if (rc == CAT_OK)
		rc = resolve_alert(e, &p);
	if (rc == CAT_OK)
		rc = e->store->ops->payout_update(e->store, &p);
	if (rc == CAT_OK)
		rc = emit(e, &p, t, "payout.canceled");
	if (rc == CAT_OK) {
		engine_reply_json(cmd, 200, render_payout(&p, t->ev, t->n, cmd->lang));
		*out = EXEC_REPLY;
	}
	payout_clear(&p);
	free(t);
	return rc;
}

/* ---- what the rail says ------------------------------------------------- */

/* Failed or canceled: nothing the rail says changes it any more (a paid
 * payout may still come back). */
static bool settled_for_good(enum payout_status s)
{
	return s == PO_FAILED || s == PO_CANCELED;
}

/* Order of progress: an answer about an earlier status (a late
 * `in_transit` after `paid`) changes nothing. */
static int rank(enum payout_status s)
{
	switch (s) {
	case PO_PENDING: return 0;
	case PO_IN_TRANSIT: return 1;
	case PO_PAID: return 2;
	default: return 3; /* failed, canceled: final */
	}
}

static enum payout_status status_of(enum channel_payout_state s)
{
	switch (s) {
	case CH_PO_IN_TRANSIT: return PO_IN_TRANSIT;
	case CH_PO_PAID: return PO_PAID;
	case CH_PO_FAILED:
	case CH_PO_RETURNED: return PO_FAILED;
	default: return PO_PENDING;
	}
}

static int resolve_alert(struct engine *e, const struct payout *p)
{
	char message[PAYOUT_MESSAGE_MAX];
	snprintf(message, sizeof message, "Payout %s is %s now.", p->id,
		 payout_status_name(p->status));
	return alerts_resolve(e, p->id, PAYOUT_ALERT_KIND, message);
}

/* The money of a final status: paid settles the hold; failed releases it
 * (before it was paid) or brings it back (a return after paid). */
static int settle_money(struct engine *e, struct payout *p, enum payout_status from,
			const struct channel_result *r)
{
	char back_id[ID_MAX];
	if (p->status == PO_PAID) {
		p->arrived_ms = e->now_ms;
		return books_settle(e, p->hold_transfer_id, 0);
	}
	bool returned = r->payout_state == CH_PO_RETURNED;
	p->failure_code = returned ? CAT_PAYOUT_RETURNED : r->code ? r->code : CAT_PAYOUT_DECLINED;
	snprintf(p->failure_reason, sizeof p->failure_reason, "%s", r->reason);
	if (from == PO_PAID)
		return books_transfer(e, false, "rail", p->rail, "merchant", p->merchant_id,
				      p->currency, p->amount, back_id);
	return books_release(e, p->hold_transfer_id);
}

static const char *event_of(const struct payout *p)
{
	switch (p->status) {
	case PO_PAID: return "payout.paid";
	case PO_FAILED: return "payout.failed";
	default: return "payout.updated";
	}
}

/* Applies what the rail reports (an answer, a poll, a callback). */
static int advance(struct engine *e, struct payout *p, struct timeline *t,
		   const struct channel_result *r, const char *source)
{
	enum payout_status from = p->status, to = status_of(r->payout_state);
	/* The rail's expected arrival, once: a rail cannot postpone a deadline. */
	if (r->expected_arrival_ms > 0 && !p->trace_id[0] && rank(from) < rank(PO_PAID))
		p->expected_arrival_ms = r->expected_arrival_ms;
	if (r->trace_id[0])
		snprintf(p->trace_id, sizeof p->trace_id, "%s", r->trace_id);
	p->outcome_unknown = false;
	/* After paid, only a return changes anything. */
	bool forward = rank(to) > rank(from) && payout_transition_ok(from, to) &&
		       (from != PO_PAID || r->payout_state == CH_PO_RETURNED);
	if (from == PO_PAID && to == PO_FAILED && r->payout_state != CH_PO_RETURNED)
		log_msg(LOG_ERROR, "payout_failed_after_paid", "%s: %s reports failed after paid",
			p->id, p->rail);
	if (!forward)
		return CAT_OK; /* nothing new, or late news */
	p->status = to;
	p->updated_ms = e->now_ms;
	int rc = CAT_OK;
	if (payout_status_final(p->status)) { /* paid, failed */
		rc = settle_money(e, p, from, r);
		/* paid: still watched for a return (its callback may be lost) */
		p->next_poll_ms = p->status == PO_PAID ? e->now_ms + e->payout_poll_max_ms : 0;
		if (rc == CAT_OK)
			rc = resolve_alert(e, p);
	}
	if (rc == CAT_OK)
		rc = add_line(e, p, t, source, r->reason, r->raw_message);
	return rc ? rc : emit(e, p, t, event_of(p));
}

/* The rail did not execute the payout: the next rail takes it, or it
 * waits for one. */
static int not_executed(struct engine *e, struct payout *p, struct timeline *t,
			const struct channel_result *r)
{
	struct channel *plan[ROUTE_CHANNELS_MAX];
	int rails = route_plan_payout(e->route, p->currency, p->amount, e->now_ms, plan,
				      ROUTE_CHANNELS_MAX);
	/* each rail once per round: no bouncing between two that refuse */
	bool tried_all = p->rail_attempts >= rails;
	const struct channel *next = e->winding_down || tried_all ? NULL : pick_rail(e, p, p->rail);
	char why[PAYOUT_MESSAGE_MAX];
	snprintf(why, sizeof why, "%s did not take it (%s)", p->rail, r->raw_code);
	return next ? move_to_rail(e, p, t, next, why) : await_rail(e, p, t, why);
}

int payouts_apply_result(struct engine *e, struct engine_cmd *res, enum exec_result *out)
{
	struct payout p = {0};
	struct timeline *t = calloc(1, sizeof *t);
	*out = EXEC_NONE;
	int rc = t ? e->store->ops->payout_get(e->store, res->merchant_id, res->target_id, &p)
		   : CAT_INTERNAL;
	bool current = rc == CAT_OK && strcmp(p.rail_reference, res->ch_req.reference) == 0;
	if (rc == CAT_OK && current)
		rc = load_timeline(e, p.id, t);
	const struct channel_result *r = &res->ch_res;
	bool query = res->ch_req.op == CH_OP_QUERY_PAYOUT;
	if (rc != CAT_OK || !current || settled_for_good(p.status)) {
		/* an earlier attempt's late answer, or a settled payout: nothing to do */
	} else if (r->outcome == CH_SUCCEEDED || r->outcome == CH_DECLINED) {
		rc = advance(e, &p, t, r, query ? "poll" : "rail");
	} else if (r->outcome == CH_NOT_EXECUTED && !query) {
		rc = not_executed(e, &p, t, r);
	} else if (r->outcome == CH_NOT_FOUND && p.status == PO_PENDING && !p.trace_id[0] &&
		   !e->winding_down && engine_not_found_final(e, p.rail, p.updated_ms)) {
		/* never received (and never acknowledged): sending it cannot pay twice */
		p.updated_ms = e->now_ms;
		rc = add_line(e, &p, t, "poll", NULL, "the rail never received it: sent again");
		if (rc == CAT_OK)
			rc = send_to_rail(e, &p);
	} else { /* unknown, or not found too soon: the tick asks again */
		if (r->outcome == CH_NOT_FOUND && p.trace_id[0])
			log_msg(LOG_ERROR, "payout_unknown_to_rail",
				"%s: %s acknowledged it (%s) and now answers it does not know it",
				p.id, p.rail, p.trace_id);
		p.outcome_unknown = true;
		p.next_poll_ms = next_look(e, &p);
	}
	if (rc == CAT_OK && current)
		rc = e->store->ops->payout_update(e->store, &p);
	payout_clear(&p);
	free(t);
	return rc;
}

/* ---- callbacks ---------------------------------------------------------- */

/* A rail's callback, its signature verified by the API: applied once per
 * callback id; one about no payout of ours changes nothing. */
static int callback(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	const struct channel_callback *cb = &cmd->callback;
	struct payout p = {0};
	struct timeline *t = calloc(1, sizeof *t);
	int rc = t ? e->store->ops->payout_find_reference(e->store, cb->reference, &p)
		   : CAT_INTERNAL;
	if (rc == CAT_NO_SUCH_OBJECT) {
		log_msg(LOG_WARN, "callback_unknown_object", "%s: callback %s about %s: no such payout",
			cmd->channel, cb->id, cb->reference);
		params_fail(&cmd->err, rc, "reference", "No payout has the reference '%s'.",
			    cb->reference);
	} else if (rc == CAT_OK && strcmp(p.rail, cmd->channel) != 0) {
		log_msg(LOG_WARN, "callback_wrong_channel", "%s: callback %s about %s, at %s",
			cmd->channel, cb->id, cb->reference, p.rail);
		rc = params_fail(&cmd->err, CAT_NO_SUCH_OBJECT, "reference",
				 "No payout of this channel has the reference '%s'.", cb->reference);
	}
	bool duplicate = false;
	if (rc == CAT_OK) {
		rc = e->store->ops->callback_seen(e->store, cmd->channel, cb->id, e->now_ms);
		duplicate = rc == CAT_IDEMPOTENCY_KEY_REUSED;
		if (duplicate)
			rc = CAT_OK;
	}
	if (rc == CAT_OK && !duplicate && !settled_for_good(p.status) &&
	    (rc = load_timeline(e, p.id, t)) == CAT_OK &&
	    (rc = advance(e, &p, t, &cb->result, "callback")) == CAT_OK)
		rc = e->store->ops->payout_update(e->store, &p);
	if (rc == CAT_OK) {
		engine_reply_json(cmd, 200, json_pack("{s:b, s:b}", "received", 1, "duplicate",
						      duplicate));
		*out = EXEC_REPLY;
	}
	payout_clear(&p);
	free(t);
	return rc;
}

/* ---- the tick: polls and deadlines -------------------------------------- */

/* Raises the overdue level of a late payout: an event, a timeline line,
 * and its alert opened or escalated. */
static int escalate(struct engine *e, struct payout *p, struct timeline *t, int level)
{
	char message[PAYOUT_MESSAGE_MAX];
	snprintf(message, sizeof message,
		 "Payout %s (%lld %s via %s) is %s past its expected arrival: level %d.", p->id,
		 (long long)p->amount, p->currency, p->rail, level > 1 ? "still" : "", level);
	int rc = alerts_raise(e, p->merchant_id, PAYOUT_ALERT_KIND, p->id, level, message);
	p->overdue_level = level;
	if (rc == CAT_OK)
		rc = add_line(e, p, t, "deadline", NULL, message);
	return rc ? rc : emit(e, p, t, "payout.overdue");
}

/* The next time to look at p: the next poll, or the next escalation if
 * it comes first. */
static int64_t next_look(const struct engine *e, const struct payout *p)
{
	int64_t poll = e->now_ms + backoff_ms(e, p->polls);
	int64_t due = p->expected_arrival_ms + e->payout_grace_ms +
		      (int64_t)p->overdue_level * e->payout_escalate_ms;
	return due > e->now_ms && due < poll ? due : poll;
}

/* A paid payout: the rail is asked whether it came back, until the return
 * window has passed. */
static int watch_paid(struct engine *e, struct payout *p)
{
	if (e->now_ms >= p->arrived_ms + e->payout_return_window_ms) {
		p->next_poll_ms = 0; /* no return can come any more */
		return CAT_OK;
	}
	ask_rail(e, p, p->polls);
	p->next_poll_ms = e->now_ms + e->payout_poll_max_ms;
	return CAT_OK;
}

static int look_at(struct engine *e, struct payout *p, struct timeline *t)
{
	if (p->status == PO_PAID)
		return watch_paid(e, p);
	int rc = CAT_OK;
	int64_t late = e->now_ms - (p->expected_arrival_ms + e->payout_grace_ms);
	int level = late >= 0 ? 1 + (int)(late / e->payout_escalate_ms) : 0;
	if (level > p->overdue_level)
		rc = escalate(e, p, t, level);
	if (rc == CAT_OK && !p->rail_reference[0]) { /* no rail took it yet */
		const struct channel *rail = pick_rail(e, p, NULL);
		if (rail)
			rc = move_to_rail(e, p, t, rail, "a rail is available again");
	} else if (rc == CAT_OK) {
		ask_rail(e, p, p->polls);
	}
	p->polls++;
	p->next_poll_ms = next_look(e, p);
	return rc;
}

/* One due payout, looked at by a command of its own: its trouble (a
 * failed write, a sealed number that will not open) undoes only its own
 * work, and the others go on. */
static int look_at_one(struct engine *e, struct engine_cmd *cmd)
{
	struct payout p = {0};
	struct timeline *t = calloc(1, sizeof *t);
	int rc = t ? e->store->ops->payout_get(e->store, cmd->merchant_id, cmd->target_id, &p)
		   : CAT_INTERNAL;
	bool due = rc == CAT_OK && !settled_for_good(p.status) && p.next_poll_ms > 0 &&
		   p.next_poll_ms <= e->now_ms;
	if (due && (rc = load_timeline(e, p.id, t)) == CAT_OK &&
	    (rc = look_at(e, &p, t)) == CAT_OK)
		rc = e->store->ops->payout_update(e->store, &p);
	if (rc && rc != CAT_NO_SUCH_OBJECT)
		log_msg(LOG_ERROR, "payout_look_failed", "%s: code %d; looked at again next tick",
			cmd->target_id, rc);
	payout_clear(&p);
	free(t);
	return rc;
}

static void queue_look(void *ctx, const void *record)
{
	const struct payout *p = record;
	engine_queue_internal(ctx, CMD_PAYOUT_TICK, p->merchant_id, p->id);
}

/* The tick: queues a look at each payout due (at most PAYOUT_TICK_MAX; the
 * rest are still due at the next tick), and forgets old callback ids and
 * finished deliveries past their retention. */
static int tick(struct engine *e, struct engine_cmd *cmd)
{
	if (cmd->target_id[0])
		return look_at_one(e, cmd);
	if (e->winding_down)
		return CAT_OK;
	int rc = e->store->ops->payout_due_each(e->store, e->now_ms, PAYOUT_TICK_MAX, queue_look,
						e); /* the rest: at the next tick */
	if (rc == CAT_OK && e->now_ms >= e->next_callback_expiry_ms) {
		long removed = 0;
		rc = e->store->ops->callback_expire(e->store, e->now_ms - PAYOUT_CALLBACK_KEEP_MS,
						    &removed);
		if (rc == CAT_OK)
			rc = webhooks_expire(e);
		e->next_callback_expiry_ms = e->now_ms + ENGINE_EXPIRY_EVERY_MS;
	}
	return rc;
}

int payouts_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	*out = EXEC_NONE;
	switch (cmd->kind) {
	case CMD_RECIPIENT_CREATE: return recipient_create(e, cmd, out);
	case CMD_PAYOUT_CREATE: return payout_create(e, cmd, out);
	case CMD_PAYOUT_CANCEL: return payout_cancel(e, cmd, out);
	case CMD_CHANNEL_CALLBACK: return callback(e, cmd, out);
	case CMD_PAYOUT_TICK: return tick(e, cmd);
	default: return CAT_INTERNAL;
	}
}
