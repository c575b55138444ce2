/* sim/books: each channel's own record of what it executed (charges and
 * refunds; a bank's payouts are kept here too, see payouts.h), the operations that only read and change those records
 * (capture, void, refund, queries), and their JSON forms.  Callers hold the
 * simulator's lock around every call; records are allocated one by one so a
 * pointer stays valid while the lock is dropped (a slow authorization keeps
 * its record and finishes it later). */
#ifndef PAYD_SIM_BOOKS_H
#define PAYD_SIM_BOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codes.h"

#define SIM_REF_MAX 31            /* references: 1-31 of [A-Za-z0-9_-] */
#define SIM_CHANNEL_ID_MAX 63
#define SIM_BOOKS_MAX (1u << 20)  /* records of each sort per channel */
#define SIM_AMOUNT_MAX 999999999999LL

enum sim_pay_state {
	SIM_PAY_NONE,
	SIM_PAY_PROCESSING,
	SIM_PAY_DECLINED,
	SIM_PAY_AUTHORIZED,
	SIM_PAY_CAPTURED,
	SIM_PAY_VOIDED,
};

enum sim_refund_state { SIM_REFUND_SUCCEEDED, SIM_REFUND_FAILED };

struct sim_charge {
	char channel_id[SIM_CHANNEL_ID_MAX + 1];
	char reference[SIM_REF_MAX + 1];
	char currency[4];
	int64_t amount, captured_amount, refunded_amount;
	int64_t executed_ms; /* 0 while processing */
	enum sim_pay_state state;
	const struct sim_code *code;         /* the authorization's answer */
	/* The first capture / void that succeeded (replayed by an idempotent
	 * channel); a refused one changed nothing and is not remembered. */
	const struct sim_code *capture_code;
	const struct sim_code *void_code;
};

struct sim_refund {
	char channel_id[SIM_CHANNEL_ID_MAX + 1];
	char reference[SIM_REF_MAX + 1];
	char payment_reference[SIM_REF_MAX + 1];
	char currency[4];
	int64_t amount;
	enum sim_refund_state state;
	const struct sim_code *code;
};

struct sim_books {
	char name[SIM_REF_MAX + 1]; /* the channel's, for its ids */
	enum sim_kind kind;
	bool idempotent;
	struct sim_charge **charges;
	size_t n_charges, cap_charges;
	struct sim_refund **refunds;
	size_t n_refunds, cap_refunds;
	struct sim_payout **payouts; /* kind bank */
	size_t n_payouts, cap_payouts;
	uint64_t seq;
	uint64_t trace_seq; /* payout executions: the trace ids' numbers */
};

void sim_books_init(struct sim_books *b, const char *name, enum sim_kind kind, bool idempotent);
void sim_books_free(struct sim_books *b);
/* Room for one more pointer in *arr (grown up to SIM_BOOKS_MAX); false when
 * full or out of memory. */
bool sim_books_grow(void ***arr, size_t n, size_t *cap);

/* The latest charge with this reference, or NULL. */
struct sim_charge *sim_books_find_charge(const struct sim_books *b, const char *reference);
/* A new charge in state processing (not yet executed); NULL when the books
 * are full or memory ran out. */
struct sim_charge *sim_books_add_charge(struct sim_books *b, const char *reference,
					int64_t amount, const char *currency);
/* Executes a charge with the authorization's code: success (or
 * processing) makes it authorized or captured, a decline declined. */
void sim_books_execute(struct sim_charge *c, const struct sim_code *code, bool capture,
		       int64_t now_ms);

/* The answers (new JSON objects) of the operations that read the books.
 * amount < 0 for capture means "what is left of the authorization". */
json_t *sim_books_capture(struct sim_books *b, const char *reference, int64_t amount);
json_t *sim_books_void(struct sim_books *b, const char *reference);
json_t *sim_books_refund(struct sim_books *b, const char *reference, const char *payment_reference,
			 int64_t amount, const char *currency);
json_t *sim_books_query(const struct sim_books *b, const char *reference);
json_t *sim_books_query_refund(const struct sim_books *b, const char *reference);

/* The answer for a payment: c may be NULL (state none, nothing else). */
json_t *sim_charge_answer(const struct sim_charge *c, const char *reference,
			  const struct sim_code *code);
json_t *sim_books_to_json(const struct sim_books *b);
const char *sim_pay_state_name(enum sim_pay_state s);

#endif
