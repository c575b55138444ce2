/* core/payment: names and state rules of intents, attempts and refunds.
 * The transition table is the one place that says which status may follow
 * which; the engine asserts every change against it. */
#include "core/payment.h"

#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"

const char *pi_status_name(enum pi_status s)
{
	static const char *const names[] = {
		[PI_REQUIRES_PAYMENT_METHOD] = "requires_payment_method",
		[PI_REQUIRES_CONFIRMATION] = "requires_confirmation",
		[PI_REQUIRES_ACTION] = "requires_action",
		[PI_PROCESSING] = "processing",
		[PI_REQUIRES_CAPTURE] = "requires_capture",
		[PI_SUCCEEDED] = "succeeded",
		[PI_CANCELED] = "canceled",
	};
	return names[s];
}

const char *attempt_status_name(enum attempt_status s)
{
	static const char *const names[] = {
		[ATT_PENDING] = "pending",       [ATT_REQUIRES_ACTION] = "requires_action",
		[ATT_VERIFYING] = "verifying",   [ATT_AUTHORIZED] = "authorized",
		[ATT_SUCCEEDED] = "succeeded",   [ATT_FAILED] = "failed",
		[ATT_UNKNOWN] = "unknown",       [ATT_VOIDED] = "voided",
	};
	return names[s];
}

const char *refund_status_name(enum refund_status s)
{
	static const char *const names[] = {
		[REFUND_PENDING] = "pending",
		[REFUND_SUCCEEDED] = "succeeded",
		[REFUND_FAILED] = "failed",
		[REFUND_CANCELED] = "canceled",
	};
	return names[s];
}

static const char *const pm_names[] = {
	[PM_NONE] = "", [PM_CARD] = "card", [PM_ALIPAY] = "alipay", [PM_WECHAT_PAY] = "wechat_pay",
};

const char *pm_type_name(enum pm_type t)
{
	return pm_names[t];
}

int pm_type_parse(const char *name)
{
	for (int t = PM_CARD; t <= PM_WECHAT_PAY; t++)
		if (name && strcmp(pm_names[t], name) == 0)
			return t;
	return -1;
}

void payment_intent_clear(struct payment_intent *pi)
{
	free(pi->description);
	free(pi->metadata_json);
	pi->description = NULL;
	pi->metadata_json = NULL;
}

void refund_clear(struct refund *r)
{
	free(r->metadata_json);
	r->metadata_json = NULL;
}

/* allowed[from] is a bit set of the statuses `from` may become. */
#define BIT(s) (1u << (s))
static const unsigned allowed[] = {
	[PI_REQUIRES_PAYMENT_METHOD] = BIT(PI_REQUIRES_CONFIRMATION) | BIT(PI_PROCESSING) |
				       BIT(PI_CANCELED) | BIT(PI_REQUIRES_PAYMENT_METHOD),
	[PI_REQUIRES_CONFIRMATION] = BIT(PI_PROCESSING) | BIT(PI_CANCELED) |
				     BIT(PI_REQUIRES_PAYMENT_METHOD) | BIT(PI_REQUIRES_CONFIRMATION),
	[PI_REQUIRES_ACTION] = BIT(PI_PROCESSING) | BIT(PI_REQUIRES_PAYMENT_METHOD) | BIT(PI_CANCELED),
	[PI_PROCESSING] = BIT(PI_REQUIRES_ACTION) | BIT(PI_REQUIRES_CAPTURE) | BIT(PI_SUCCEEDED) |
			  BIT(PI_REQUIRES_PAYMENT_METHOD),
	[PI_REQUIRES_CAPTURE] = BIT(PI_SUCCEEDED) | BIT(PI_CANCELED),
	[PI_SUCCEEDED] = 0,
	[PI_CANCELED] = 0,
};

bool pi_transition_ok(enum pi_status from, enum pi_status to)
{
	return (allowed[from] & BIT(to)) != 0;
}

int pi_can_update(const struct payment_intent *pi)
{
	return (pi->status == PI_REQUIRES_PAYMENT_METHOD || pi->status == PI_REQUIRES_CONFIRMATION)
		       ? CAT_OK
		       : CAT_INVALID_STATE;
}

int pi_can_confirm(const struct payment_intent *pi, bool has_unknown_attempt)
{
	if (has_unknown_attempt) /* promise 6: resolve it first */
		return CAT_INVALID_STATE;
	if (pi->attempt_count >= PAYMENT_ATTEMPTS_MAX)
		return CAT_INVALID_STATE;
	return pi_can_update(pi);
}

int pi_can_capture(const struct payment_intent *pi, int64_t amount_to_capture)
{
	if (pi->status != PI_REQUIRES_CAPTURE || pi->capture_requested > 0 || pi->cancel_requested)
		return CAT_INVALID_STATE;
	if (amount_to_capture <= 0)
		return CAT_AMOUNT_TOO_SMALL;
	if (amount_to_capture > pi->amount_capturable)
		return CAT_AMOUNT_TOO_LARGE;
	return CAT_OK;
}

int pi_can_cancel(const struct payment_intent *pi)
{
	switch (pi->status) {
	case PI_REQUIRES_PAYMENT_METHOD:
	case PI_REQUIRES_CONFIRMATION:
	case PI_REQUIRES_ACTION:
		return CAT_OK;
	case PI_REQUIRES_CAPTURE:
		return (pi->capture_requested > 0 || pi->cancel_requested) ? CAT_INVALID_STATE : CAT_OK;
	default:
		return CAT_INVALID_STATE;
	}
}

int64_t pi_refundable(const struct payment_intent *pi)
{
	return pi->amount_received - pi->amount_refunded;
}

int pi_can_refund(const struct payment_intent *pi, int64_t amount)
{
	if (pi->status != PI_SUCCEEDED)
		return CAT_INVALID_STATE;
	int64_t left = pi_refundable(pi);
	if (left <= 0)
		return CAT_CHARGE_ALREADY_REFUNDED;
	if (amount <= 0)
		return CAT_AMOUNT_TOO_SMALL;
	if (amount > left)
		return CAT_REFUND_EXCEEDS_REMAINING;
	return CAT_OK;
}
