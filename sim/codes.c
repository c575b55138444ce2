/* sim/codes: see codes.h.  One static table per kind, in the order of the
 * protocol page; the fixed-situation codes are looked up by name so the
 * tables stay the single source of the messages.  The bank kind has no
 * charge codes, only the reason table (its statuses live with the payouts). */
#include "codes.h"

#include <stddef.h>
#include <string.h>

#define S SIM_EFFECT_SUCCESS
#define D SIM_EFFECT_DECLINE
#define N SIM_EFFECT_NOT_EXECUTED
#define P SIM_EFFECT_PROCESSING
#define Q SIM_EFFECT_QUERY_ONLY

static const struct sim_code acquirer_codes[] = {
	{"00", "Approved", S},
	{"05", "Do not honor", D},
	{"09", "Request in progress", P},
	{"12", "Invalid transaction", D},
	{"14", "Invalid card number", D},
	{"25", "Unable to locate record", Q},
	{"41", "Lost card, pick up", D},
	{"43", "Stolen card, pick up", D},
	{"51", "Not sufficient funds", D},
	{"54", "Expired card", D},
	{"55", "Incorrect PIN", D},
	{"61", "Exceeds withdrawal amount limit", D},
	{"65", "Exceeds withdrawal frequency limit", D},
	{"82", "Negative CAM, dCVV, iCVV, or CVV results", D},
	{"91", "Issuer or switch inoperative", N},
	{"96", "System malfunction", D},
	{NULL, NULL, S},
};

static const struct sim_code wallet_a_codes[] = {
	{"SUCCESS", "Success", S},
	{"ACQ.BUYER_BALANCE_NOT_ENOUGH", "Buyer balance is not enough", D},
	{"ACQ.SYSTEM_BUSY", "System busy, nothing done", N},
	{"ACQ.SYSTEM_ERROR", "System error", D},
	{"ACQ.TRADE_HAS_CLOSE", "Trade closed", D},
	{"ACQ.BUYER_ENABLE_STATUS_FORBID", "Payer account frozen", D},
	{"ACQ.RISK_CONTROL_REJECT", "Refused by risk control", D},
	{"ACQ.PAYMENT_AMOUNT_LIMIT", "Over the payer's limit", D},
	{"ACQ.TRADE_PROCESSING", "Trade in progress", P},
	{"ACQ.TRADE_NOT_EXIST", "Trade does not exist", Q},
	{NULL, NULL, S},
};

static const struct sim_code wallet_b_codes[] = {
	{"SUCCESS", "OK", S},
	{"NOTENOUGH", "Balance not enough", D},
	{"SYSTEMERROR", "System busy, please retry", N},
	{"BANKERROR", "Bank system error", D},
	{"ORDERCLOSED", "Order closed", D},
	{"ACCOUNT_FROZEN", "Payer account frozen", D},
	{"RISK_REJECT", "Refused by risk control", D},
	{"EXCEED_LIMIT", "Over the payer's limit", D},
	{"USERPAYING", "Payment in progress", P},
	{"ORDERNOTEXIST", "Order does not exist", Q},
	{NULL, NULL, S},
};

static const struct sim_code bank_codes[] = {
	{NULL, NULL, S},
};

/* ISO 20022 reasons (ExternalStatusReason1Code / ExternalReturnReason1Code). */
static const struct sim_code reasons[] = {
	{"AC01", "Incorrect account number", D},
	{"AC04", "Closed account number", D},
	{"AC06", "Blocked account", D},
	{"AG01", "Transaction forbidden", D},
	{"AM04", "Insufficient funds", D},
	{"MD07", "End customer deceased", D},
	{"MS03", "Reason not specified", D},
	{SIM_REASON_NOT_FOUND, "Payout not found", Q},
	{NULL, NULL, S},
};

struct kind_info {
	const char *name;
	const struct sim_code *codes;
	const char *success, *not_found, *refused, *processing;
};

static const struct kind_info kinds[SIM_KIND_COUNT] = {
	[SIM_KIND_ACQUIRER] = {"acquirer", acquirer_codes, "00", "25", "12", "09"},
	[SIM_KIND_WALLET_A] = {"wallet_a", wallet_a_codes, "SUCCESS", "ACQ.TRADE_NOT_EXIST",
			       "ACQ.TRADE_HAS_CLOSE", "ACQ.TRADE_PROCESSING"},
	[SIM_KIND_WALLET_B] = {"wallet_b", wallet_b_codes, "SUCCESS", "ORDERNOTEXIST",
			       "ORDERCLOSED", "USERPAYING"},
	[SIM_KIND_BANK] = {"bank", bank_codes, NULL, NULL, NULL, NULL},
};

static const struct {
	const char *last4, *code;
} forced[] = {
	{"9995", "51"}, {"0069", "54"}, {"0127", "82"}, {"9987", "41"},
	{"9979", "43"}, {"0002", "05"}, {"0119", "96"},
};

bool sim_kind_parse(const char *name, enum sim_kind *out)
{
	for (int k = 0; k < SIM_KIND_COUNT; k++) {
		if (strcmp(name, kinds[k].name) == 0) {
			*out = (enum sim_kind)k;
			return true;
		}
	}
	return false;
}

const char *sim_kind_name(enum sim_kind kind)
{
	return kinds[kind].name;
}

const struct sim_code *sim_code_find(enum sim_kind kind, const char *code)
{
	for (const struct sim_code *c = kinds[kind].codes; c->code; c++) {
		if (strcmp(c->code, code) == 0)
			return c;
	}
	return NULL;
}

static const struct sim_code *find_named(enum sim_kind kind, const char *name)
{
	return name ? sim_code_find(kind, name) : NULL;
}

const struct sim_code *sim_code_success(enum sim_kind kind)
{
	return find_named(kind, kinds[kind].success);
}

const struct sim_code *sim_code_not_found(enum sim_kind kind)
{
	return find_named(kind, kinds[kind].not_found);
}

const struct sim_code *sim_code_refused(enum sim_kind kind)
{
	return find_named(kind, kinds[kind].refused);
}

const struct sim_code *sim_code_processing(enum sim_kind kind)
{
	return find_named(kind, kinds[kind].processing);
}

const char *sim_code_forced_by_last4(const char *last4)
{
	for (size_t i = 0; i < sizeof forced / sizeof forced[0]; i++) {
		if (strcmp(forced[i].last4, last4) == 0)
			return forced[i].code;
	}
	return NULL;
}

const struct sim_code *sim_reason_find(const char *code)
{
	for (const struct sim_code *c = reasons; c->code; c++) {
		if (strcmp(c->code, code) == 0)
			return c;
	}
	return NULL;
}

bool sim_fate_parse(const char *text, struct sim_fate *out)
{
	static const char failed[] = "failed:", returned[] = "returned:";
	out->reason = NULL;
	if (strcmp(text, "paid") == 0 || strcmp(text, "stuck") == 0) {
		out->kind = text[0] == 'p' ? SIM_FATE_PAID : SIM_FATE_STUCK;
		return true;
	}
	const char *code = NULL;
	if (strncmp(text, failed, sizeof failed - 1) == 0) {
		out->kind = SIM_FATE_FAILED;
		code = text + sizeof failed - 1;
	} else if (strncmp(text, returned, sizeof returned - 1) == 0) {
		out->kind = SIM_FATE_RETURNED;
		code = text + sizeof returned - 1;
	}
	out->reason = code ? sim_reason_find(code) : NULL;
	return out->reason && out->reason->effect != SIM_EFFECT_QUERY_ONLY;
}
