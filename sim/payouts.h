/* sim/payouts: a bank channel's payouts in its books (docs/SIM_PROTOCOL.md,
 * "Bank payout rails"): one record per reference with its latest
 * execution's plan and state, the ISO 20022 status each state answers
 * with, and the JSON forms (answers, callback events, books).  Callers hold
 * the simulator's lock; records are allocated one by one and live as long
 * as the books, so timers and handlers may keep pointers to them. */
#ifndef PAYD_SIM_PAYOUTS_H
#define PAYD_SIM_PAYOUTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "books.h"
#include "codes.h"

#define SIM_TRACE_ID_MAX 63
#define SIM_HOLDER_NAME_MAX 140 /* characters */
#define SIM_ACCOUNT_NUMBER_MIN 4
#define SIM_ACCOUNT_NUMBER_MAX 34
#define SIM_BANK_CODE_MAX 35

enum sim_payout_state {
	SIM_PO_NONE,
	SIM_PO_PENDING,
	SIM_PO_IN_TRANSIT,
	SIM_PO_PAID,
	SIM_PO_FAILED,
	SIM_PO_RETURNED,
};

/* What a /v1/payout asked for (account number already cut to its last 4). */
struct sim_payout_order {
	const char *reference, *currency;
	int64_t amount;
	bool instant;
	char account_last4[5];
};

/* One execution's draws, in real ms after acceptance. */
struct sim_payout_plan {
	struct sim_fate fate;
	int64_t transit_ms, fate_ms, return_ms; /* return_ms: after the fate */
};

struct sim_payout {
	char channel_id[SIM_CHANNEL_ID_MAX + 1];
	char reference[SIM_REF_MAX + 1];
	char currency[4];
	char account_last4[5];
	char trace_id[SIM_TRACE_ID_MAX + 1];
	int64_t amount;
	bool instant;
	bool deciding;  /* received, waiting slow_ms before execution: PDNG */
	bool fate_due;  /* its fate's time has come (a stuck one waits for release) */
	enum sim_payout_state state;
	const struct sim_code *reason; /* failed / returned */
	uint32_t executions;
	struct sim_fate fate;
	int64_t return_ms;
	int64_t accepted_ms, updated_ms, expected_arrival_ms;
	char *held;       /* a held-back in_transit callback body, or NULL */
	int held_copies;  /* 2 when it is also to be duplicated */
};

/* The latest payout with this reference, or NULL. */
struct sim_payout *sim_payouts_find(const struct sim_books *b, const char *reference);
/* A new record (state none, no execution); NULL when full or out of memory. */
struct sim_payout *sim_payouts_add(struct sim_books *b, const char *reference);
/* Whether p was ever executed or is being decided (else: as unknown). */
bool sim_payout_known(const struct sim_payout *p);
/* Records the order; the payout answers PDNG until executed. */
void sim_payout_receive(struct sim_payout *p, const struct sim_payout_order *o);
/* One execution of the order received: a new trace id, state pending,
 * the plan's fate and expected arrival; executions grows by one. */
void sim_payout_execute(struct sim_books *b, struct sim_payout *p,
			const struct sim_payout_plan *plan, int64_t now_ms);
void sim_payout_set_state(struct sim_payout *p, enum sim_payout_state state,
			  const struct sim_code *reason, int64_t now_ms);

/* The answer to a payout or query: p NULL (or never executed) is RJCT/NOTF. */
json_t *sim_payout_answer(const struct sim_payout *p, const char *reference);
/* The callback body of p's current state. */
json_t *sim_payout_event(const struct sim_payout *p, const char *id, int64_t at_ms);
json_t *sim_payouts_to_json(const struct sim_books *b);
void sim_payouts_free(struct sim_books *b);
const char *sim_payout_state_name(enum sim_payout_state s);

#endif
