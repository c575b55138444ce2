/* sim/books: see books.h.  Growth doubles the pointer arrays up to
 * SIM_BOOKS_MAX; lookups scan from the newest record back (the books of a
 * test or a demo hold thousands, not millions). */
#include "books.h"
#include "payouts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOOKS_INITIAL_CAP 64

static const char *const pay_state_names[] = {"none",       "processing", "declined",
					      "authorized", "captured",   "voided"};

const char *sim_pay_state_name(enum sim_pay_state s)
{
	return pay_state_names[s];
}

void sim_books_init(struct sim_books *b, const char *name, enum sim_kind kind, bool idempotent)
{
	memset(b, 0, sizeof *b);
	snprintf(b->name, sizeof b->name, "%s", name);
	b->kind = kind;
	b->idempotent = idempotent;
}

void sim_books_free(struct sim_books *b)
{
	for (size_t i = 0; i < b->n_charges; i++)
		free(b->charges[i]);
	for (size_t i = 0; i < b->n_refunds; i++)
		free(b->refunds[i]);
	sim_payouts_free(b);
	free(b->charges);
	free(b->refunds);
	memset(b, 0, sizeof *b);
}

bool sim_books_grow(void ***arr, size_t n, size_t *cap)
{
	if (n < *cap)
		return true;
	if (n >= SIM_BOOKS_MAX)
		return false;
	size_t next = *cap ? *cap * 2 : BOOKS_INITIAL_CAP;
	void **p = realloc(*arr, next * sizeof *p);
	if (!p)
		return false;
	*arr = p;
	*cap = next;
	return true;
}

struct sim_charge *sim_books_find_charge(const struct sim_books *b, const char *reference)
{
	for (size_t i = b->n_charges; i-- > 0;) {
		if (strcmp(b->charges[i]->reference, reference) == 0)
			return b->charges[i];
	}
	return NULL;
}

static struct sim_refund *find_refund(const struct sim_books *b, const char *reference)
{
	for (size_t i = b->n_refunds; i-- > 0;) {
		if (strcmp(b->refunds[i]->reference, reference) == 0)
			return b->refunds[i];
	}
	return NULL;
}

struct sim_charge *sim_books_add_charge(struct sim_books *b, const char *reference,
					int64_t amount, const char *currency)
{
	if (!sim_books_grow((void ***)&b->charges, b->n_charges, &b->cap_charges))
		return NULL;
	struct sim_charge *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	snprintf(c->channel_id, sizeof c->channel_id, "%s_c%06llu", b->name,
		 (unsigned long long)++b->seq);
	snprintf(c->reference, sizeof c->reference, "%s", reference);
	snprintf(c->currency, sizeof c->currency, "%s", currency);
	c->amount = amount;
	c->state = SIM_PAY_PROCESSING;
	b->charges[b->n_charges++] = c;
	return c;
}

void sim_books_execute(struct sim_charge *c, const struct sim_code *code, bool capture,
		       int64_t now_ms)
{
	c->code = code;
	c->executed_ms = now_ms;
	if (code->effect == SIM_EFFECT_DECLINE) {
		c->state = SIM_PAY_DECLINED;
		return;
	}
	c->state = capture ? SIM_PAY_CAPTURED : SIM_PAY_AUTHORIZED;
	c->captured_amount = capture ? c->amount : 0;
}

json_t *sim_charge_answer(const struct sim_charge *c, const char *reference,
			  const struct sim_code *code)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "reference", reference, "code", code->code,
			      "message", code->message, "state",
			      c ? sim_pay_state_name(c->state) : "none");
	if (!o || !c)
		return o;
	json_object_set_new(o, "amount", json_integer(c->amount));
	json_object_set_new(o, "currency", json_string(c->currency));
	json_object_set_new(o, "captured_amount", json_integer(c->captured_amount));
	json_object_set_new(o, "refunded_amount", json_integer(c->refunded_amount));
	json_object_set_new(o, "channel_id", json_string(c->channel_id));
	return o;
}

static json_t *refund_answer(const struct sim_refund *r, const char *reference,
			     const struct sim_code *code)
{
	static const char *const names[] = {"succeeded", "failed"};
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "reference", reference, "code", code->code,
			      "message", code->message, "state", r ? names[r->state] : "none");
	if (!o || !r)
		return o;
	json_object_set_new(o, "payment_reference", json_string(r->payment_reference));
	json_object_set_new(o, "amount", json_integer(r->amount));
	json_object_set_new(o, "currency", json_string(r->currency));
	json_object_set_new(o, "channel_id", json_string(r->channel_id));
	return o;
}

json_t *sim_books_capture(struct sim_books *b, const char *reference, int64_t amount)
{
	struct sim_charge *c = sim_books_find_charge(b, reference);
	if (!c)
		return sim_charge_answer(NULL, reference, sim_code_not_found(b->kind));
	if (b->idempotent && c->capture_code)
		return sim_charge_answer(c, reference, c->capture_code);
	int64_t left = c->amount - c->captured_amount;
	if (amount < 0)
		amount = left;
	const struct sim_code *code = sim_code_refused(b->kind);
	bool capturable = c->state == SIM_PAY_AUTHORIZED || c->state == SIM_PAY_CAPTURED;
	if (capturable && amount > 0 && amount <= left) {
		c->captured_amount += amount;
		c->state = SIM_PAY_CAPTURED;
		code = sim_code_success(b->kind);
		if (!c->capture_code)
			c->capture_code = code; /* a refusal moved nothing: not replayed */
	}
	return sim_charge_answer(c, reference, code);
}

json_t *sim_books_void(struct sim_books *b, const char *reference)
{
	struct sim_charge *c = sim_books_find_charge(b, reference);
	if (!c)
		return sim_charge_answer(NULL, reference, sim_code_not_found(b->kind));
	if (b->idempotent && c->void_code)
		return sim_charge_answer(c, reference, c->void_code);
	const struct sim_code *code = sim_code_refused(b->kind);
	if (c->state == SIM_PAY_AUTHORIZED) {
		c->state = SIM_PAY_VOIDED;
		code = sim_code_success(b->kind);
		c->void_code = code;
	}
	return sim_charge_answer(c, reference, code);
}

static bool refundable(const struct sim_charge *c, int64_t amount, const char *currency)
{
	return c && c->state == SIM_PAY_CAPTURED && strcmp(c->currency, currency) == 0 &&
	       amount > 0 && amount <= c->captured_amount - c->refunded_amount;
}

json_t *sim_books_refund(struct sim_books *b, const char *reference, const char *payment_reference,
			 int64_t amount, const char *currency)
{
	struct sim_refund *r = b->idempotent ? find_refund(b, reference) : NULL;
	if (r)
		return refund_answer(r, reference, r->code);
	if (!sim_books_grow((void ***)&b->refunds, b->n_refunds, &b->cap_refunds))
		return NULL;
	r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	struct sim_charge *c = sim_books_find_charge(b, payment_reference);
	bool ok = refundable(c, amount, currency);
	if (ok)
		c->refunded_amount += amount;
	snprintf(r->channel_id, sizeof r->channel_id, "%s_r%06llu", b->name,
		 (unsigned long long)++b->seq);
	snprintf(r->reference, sizeof r->reference, "%s", reference);
	snprintf(r->payment_reference, sizeof r->payment_reference, "%s", payment_reference);
	snprintf(r->currency, sizeof r->currency, "%s", currency);
	r->amount = amount;
	r->state = ok ? SIM_REFUND_SUCCEEDED : SIM_REFUND_FAILED;
	r->code = ok ? sim_code_success(b->kind) : sim_code_refused(b->kind);
	b->refunds[b->n_refunds++] = r;
	return refund_answer(r, reference, r->code);
}

json_t *sim_books_query(const struct sim_books *b, const char *reference)
{
	const struct sim_charge *c = sim_books_find_charge(b, reference);
	if (!c)
		return sim_charge_answer(NULL, reference, sim_code_not_found(b->kind));
	const struct sim_code *code = c->state == SIM_PAY_PROCESSING ? sim_code_processing(b->kind)
				      : c->state == SIM_PAY_DECLINED ? c->code
								     : sim_code_success(b->kind);
	return sim_charge_answer(c, reference, code);
}

json_t *sim_books_query_refund(const struct sim_books *b, const char *reference)
{
	const struct sim_refund *r = find_refund(b, reference);
	return refund_answer(r, reference, r ? r->code : sim_code_not_found(b->kind));
}

static json_t *charge_to_json(const struct sim_charge *c)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s}", "channel_id",
			 c->channel_id, "reference", c->reference, "amount", (json_int_t)c->amount,
			 "currency", c->currency, "state", sim_pay_state_name(c->state),
			 "captured_amount", (json_int_t)c->captured_amount, "refunded_amount",
			 (json_int_t)c->refunded_amount, "executed_ms", (json_int_t)c->executed_ms,
			 "code", c->code ? c->code->code : "");
}

json_t *sim_books_to_json(const struct sim_books *b)
{
	json_t *charges = json_array(), *refunds = json_array();
	for (size_t i = 0; i < b->n_charges; i++)
		json_array_append_new(charges, charge_to_json(b->charges[i]));
	for (size_t i = 0; i < b->n_refunds; i++) {
		const struct sim_refund *r = b->refunds[i];
		json_array_append_new(
			refunds, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "channel_id",
					   r->channel_id, "reference", r->reference, "payment_reference",
					   r->payment_reference, "amount", (json_int_t)r->amount,
					   "currency", r->currency, "state",
					   r->state == SIM_REFUND_SUCCEEDED ? "succeeded" : "failed"));
	}
	json_t *o = json_pack("{s:o, s:o}", "charges", charges, "refunds", refunds);
	if (o && b->kind == SIM_KIND_BANK)
		json_object_set_new(o, "payouts", sim_payouts_to_json(b));
	return o;
}
