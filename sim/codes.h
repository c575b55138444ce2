/* sim/codes: the raw-code vocabularies of the three charging channel kinds
 * (docs/SIM_PROTOCOL.md, "Channel kinds and their raw codes"), what each
 * code does when the scenario's mix draws it for an authorization, the
 * Stripe test card endings that force an acquirer's answer, and the bank
 * kind's ISO 20022 reason codes and payout fates ("paid", "failed:AC04",
 * "returned:MD07", "stuck"). */
#ifndef PAYD_SIM_CODES_H
#define PAYD_SIM_CODES_H

#include <stdbool.h>

enum sim_kind {
	SIM_KIND_ACQUIRER,
	SIM_KIND_WALLET_A,
	SIM_KIND_WALLET_B,
	SIM_KIND_BANK, /* payouts only: no charge codes (the lookups below give NULL) */
	SIM_KIND_COUNT
};

/* What an authorization answered with this code does to the books. */
enum sim_effect {
	SIM_EFFECT_SUCCESS,      /* executed: authorized or captured */
	SIM_EFFECT_DECLINE,      /* kept in the books as declined (no money) */
	SIM_EFFECT_NOT_EXECUTED, /* nothing recorded: state none (fail over) */
	SIM_EFFECT_PROCESSING,   /* executed as a success, answered "processing" */
	SIM_EFFECT_QUERY_ONLY,   /* the not-found code: never an authorize answer */
};

struct sim_code {
	const char *code;
	const char *message;
	enum sim_effect effect;
};

/* Parses "acquirer" / "wallet_a" / "wallet_b" / "bank"; false when unknown. */
bool sim_kind_parse(const char *name, enum sim_kind *out);
const char *sim_kind_name(enum sim_kind kind);
/* The code's row in kind's vocabulary, or NULL when it is not one of them. */
const struct sim_code *sim_code_find(enum sim_kind kind, const char *code);
/* The kind's codes for a few fixed situations. */
const struct sim_code *sim_code_success(enum sim_kind kind);
const struct sim_code *sim_code_not_found(enum sim_kind kind);
const struct sim_code *sim_code_refused(enum sim_kind kind); /* refund/capture refused */
const struct sim_code *sim_code_processing(enum sim_kind kind);
/* The acquirer code a Stripe test card ending forces, or NULL. */
const char *sim_code_forced_by_last4(const char *last4);

/* ---- bank payouts ---- */

#define SIM_REASON_NOT_FOUND "NOTF" /* a query's answer only, never a fate's */

/* An ISO 20022 reason code (AC01 ... MS03, NOTF) with its message, or NULL. */
const struct sim_code *sim_reason_find(const char *code);

enum sim_fate_kind { SIM_FATE_PAID, SIM_FATE_FAILED, SIM_FATE_RETURNED, SIM_FATE_STUCK };

/* Where a payout ends: reason is set for failed and returned only. */
struct sim_fate {
	enum sim_fate_kind kind;
	const struct sim_code *reason;
};

/* Parses "paid", "stuck", "failed:<reason>", "returned:<reason>" (any
 * reason but NOTF); false when it is none of them. */
bool sim_fate_parse(const char *text, struct sim_fate *out);

#endif
