/* sim/payouts: see payouts.h.  A record holds its latest execution only:
 * a non-idempotent rail that executes a reference again counts the
 * execution and restarts the record's life (the timers of the earlier one
 * see the count changed and do nothing).  Statuses follow the state:
 * pending / in_transit ACSP, paid ACSC, failed / returned RJCT, a payout
 * still waiting to be executed PDNG. */
#include "payouts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS_PER_S 1000

static const char *const state_names[] = {"none", "pending", "in_transit",
					  "paid", "failed",  "returned"};

const char *sim_payout_state_name(enum sim_payout_state s)
{
	return state_names[s];
}

struct status {
	const char *status, *message;
};

/* The status and message a payout answers with now. */
static struct status status_of(const struct sim_payout *p)
{
	if (p->deciding)
		return (struct status){"PDNG", "Received, not yet accepted: ask again"};
	switch (p->state) {
	case SIM_PO_PENDING:
		return (struct status){"ACSP", "Accepted, settlement in process"};
	case SIM_PO_IN_TRANSIT:
		return (struct status){"ACSP", "In transit to the beneficiary's bank"};
	case SIM_PO_PAID:
		return (struct status){"ACSC", "Settlement completed"};
	case SIM_PO_FAILED:
	case SIM_PO_RETURNED:
		return (struct status){"RJCT", p->reason ? p->reason->message : "Rejected"};
	case SIM_PO_NONE:
		break;
	}
	return (struct status){"RJCT", sim_reason_find(SIM_REASON_NOT_FOUND)->message};
}

bool sim_payout_known(const struct sim_payout *p)
{
	return p && (p->executions > 0 || p->deciding);
}

struct sim_payout *sim_payouts_find(const struct sim_books *b, const char *reference)
{
	for (size_t i = b->n_payouts; i-- > 0;) {
		if (strcmp(b->payouts[i]->reference, reference) == 0)
			return b->payouts[i];
	}
	return NULL;
}

struct sim_payout *sim_payouts_add(struct sim_books *b, const char *reference)
{
	if (!sim_books_grow((void ***)&b->payouts, b->n_payouts, &b->cap_payouts))
		return NULL;
	struct sim_payout *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	snprintf(p->channel_id, sizeof p->channel_id, "%s_p%06llu", b->name,
		 (unsigned long long)++b->seq);
	snprintf(p->reference, sizeof p->reference, "%s", reference);
	b->payouts[b->n_payouts++] = p;
	return p;
}

void sim_payout_receive(struct sim_payout *p, const struct sim_payout_order *o)
{
	snprintf(p->currency, sizeof p->currency, "%s", o->currency);
	memcpy(p->account_last4, o->account_last4, sizeof p->account_last4);
	p->amount = o->amount;
	p->instant = o->instant;
	p->deciding = true;
	if (!p->executions)
		p->state = SIM_PO_PENDING;
}

/* "<NAME in upper case, letters and digits only>-<yyyymmdd UTC>-<n>" */
static void make_trace_id(struct sim_books *b, int64_t now_ms, char out[SIM_TRACE_ID_MAX + 1])
{
	char name[SIM_REF_MAX + 1];
	size_t n = 0;
	for (const char *c = b->name; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))
			name[n++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
	}
	name[n] = '\0';
	time_t t = (time_t)(now_ms / MS_PER_S);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, SIM_TRACE_ID_MAX + 1, "%s-%04d%02d%02d-%06llu", name, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, (unsigned long long)++b->trace_seq);
}

void sim_payout_execute(struct sim_books *b, struct sim_payout *p,
			const struct sim_payout_plan *plan, int64_t now_ms)
{
	p->deciding = false;
	p->executions++;
	p->fate = plan->fate;
	p->fate_due = false;
	p->return_ms = plan->return_ms;
	p->state = SIM_PO_PENDING;
	p->reason = NULL;
	p->accepted_ms = p->updated_ms = now_ms;
	p->expected_arrival_ms = now_ms + plan->fate_ms;
	free(p->held);
	p->held = NULL;
	make_trace_id(b, now_ms, p->trace_id);
}

void sim_payout_set_state(struct sim_payout *p, enum sim_payout_state state,
			  const struct sim_code *reason, int64_t now_ms)
{
	p->state = state;
	p->reason = reason;
	p->updated_ms = now_ms;
}

static json_t *reason_json(const struct sim_payout *p)
{
	return p->reason ? json_string(p->reason->code) : json_null();
}

json_t *sim_payout_answer(const struct sim_payout *p, const char *reference)
{
	if (!sim_payout_known(p))
		return json_pack("{s:s, s:s, s:s, s:s, s:s}", "reference", reference, "status",
				 "RJCT", "reason", SIM_REASON_NOT_FOUND, "state", "none", "message",
				 sim_reason_find(SIM_REASON_NOT_FOUND)->message);
	struct status st = status_of(p);
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:I, s:s, s:s, s:s, s:s}", "reference",
			      reference, "status", st.status, "reason", reason_json(p), "state",
			      sim_payout_state_name(p->state), "amount", (json_int_t)p->amount,
			      "currency", p->currency, "method", p->instant ? "instant" : "standard",
			      "channel_id", p->channel_id, "message", st.message);
	if (o && p->executions > 0) {
		json_object_set_new(o, "trace_id", json_string(p->trace_id));
		json_object_set_new(o, "expected_arrival_ms", json_integer(p->expected_arrival_ms));
	}
	return o;
}

json_t *sim_payout_event(const struct sim_payout *p, const char *id, int64_t at_ms)
{
	struct status st = status_of(p);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:s}", "id", id, "type",
			 "payout.state", "reference", p->reference, "state",
			 sim_payout_state_name(p->state), "status", st.status, "reason",
			 reason_json(p), "trace_id", p->trace_id, "at_ms", (json_int_t)at_ms,
			 "message", st.message);
}

static json_t *payout_json(const struct sim_payout *p)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:I}",
			 "channel_id", p->channel_id, "reference", p->reference, "amount",
			 (json_int_t)p->amount, "currency", p->currency, "method",
			 p->instant ? "instant" : "standard", "account_last4", p->account_last4,
			 "state", sim_payout_state_name(p->state), "reason", reason_json(p),
			 "trace_id", p->trace_id, "executions", (json_int_t)p->executions,
			 "accepted_ms", (json_int_t)p->accepted_ms, "updated_ms",
			 (json_int_t)p->updated_ms);
}

json_t *sim_payouts_to_json(const struct sim_books *b)
{
	json_t *a = json_array();
	for (size_t i = 0; i < b->n_payouts; i++)
		json_array_append_new(a, payout_json(b->payouts[i]));
	return a;
}

void sim_payouts_free(struct sim_books *b)
{
	for (size_t i = 0; i < b->n_payouts; i++) {
		free(b->payouts[i]->held);
		free(b->payouts[i]);
	}
	free(b->payouts);
	b->payouts = NULL;
	b->n_payouts = b->cap_payouts = 0;
}
