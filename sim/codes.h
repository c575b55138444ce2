/* sim/codes: the raw-code vocabularies of the three channel kinds
 * (docs/SIM_PROTOCOL.md, "Channel kinds and their raw codes"), what each
 * code does when the scenario's mix draws it for an authorization, and the
 * Stripe test card endings that force an acquirer's answer. */
#ifndef PAYD_SIM_CODES_H
#define PAYD_SIM_CODES_H

#include <stdbool.h>

enum sim_kind { SIM_KIND_ACQUIRER, SIM_KIND_WALLET_A, SIM_KIND_WALLET_B, SIM_KIND_COUNT };

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

/* Parses "acquirer" / "wallet_a" / "wallet_b"; false when unknown. */
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

#endif
