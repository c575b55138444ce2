/* core/payout: payouts (money sent from a merchant's balance to a bank
 * account) and recipients (saved bank accounts): the records, the status
 * names and the state machine.  No I/O, no clock.
 *
 * A payout is `pending` from its creation until the rail says the money
 * is on its way (`in_transit`), then `paid` when it has arrived; it may end
 * `failed` (nothing paid: money back in the balance) or `canceled` (by the
 * merchant while still pending).  A `paid` payout may still turn `failed`
 * when the recipient's bank returns it (ISO 20022 return reason): the money
 * comes back to the balance.  Every change is kept in the payout's
 * timeline (payout_event).
 *
 * Account numbers are never in these records in clear: a bank account
 * keeps its holder, bank code, country, last four characters and a keyed
 * fingerprint; the number itself is sealed (AES-256-GCM, base/crypto)
 * and opened only to call the rail. */
#ifndef PAYD_CORE_PAYOUT_H
#define PAYD_CORE_PAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/id.h"
#include "core/payment.h"

#define PAYOUT_HOLDER_MAX 141   /* 140 characters + NUL */
#define PAYOUT_BANK_CODE_MAX 36 /* 35 + NUL */
#define PAYOUT_NUMBER_MAX 35    /* an account number: 4..34 of [A-Za-z0-9] + NUL */
#define PAYOUT_SEALED_MAX 96    /* nonce 12 + ciphertext <= 34 + tag 16, with room */
#define PAYOUT_TRACE_MAX 64
#define PAYOUT_REASON_MAX 8     /* an ISO 20022 reason code: "AC04" */
#define PAYOUT_MESSAGE_MAX 160
#define PAYOUT_SOURCE_MAX 16

enum payout_status { PO_PENDING, PO_IN_TRANSIT, PO_PAID, PO_FAILED, PO_CANCELED };
enum payout_method { PO_STANDARD, PO_INSTANT };

/* A bank account as payd keeps it: never the number in clear. */
struct bank_account {
	char holder_name[PAYOUT_HOLDER_MAX];
	char bank_code[PAYOUT_BANK_CODE_MAX];
	char country[3];     /* ISO 3166 alpha-2, upper case */
	char last4[5];
	char fingerprint[24]; /* keyed hash of the number: the same account twice */
	uint8_t sealed[PAYOUT_SEALED_MAX]; /* the number, sealed */
	size_t sealed_len;
};

struct recipient {
	char id[ID_MAX]; /* rcp_... */
	char merchant_id[ID_MAX];
	char name[PAYOUT_HOLDER_MAX];
	char currency[4]; /* the account's currency, upper case */
	struct bank_account account;
	char *metadata_json; /* heap, may be NULL */
	int64_t created_ms;
	/* Who is told about its payouts (notify/): "" when no one. */
	char email[PAYMENT_EMAIL_MAX + 1];
	char preferred_language[PAYMENT_LANGUAGE_MAX]; /* "en" or "zh-CN" */
};

struct payout {
	char id[ID_MAX]; /* po_... */
	char merchant_id[ID_MAX];
	int64_t amount;
	char currency[4];
	enum payout_status status;
	enum payout_method method;
	char recipient_id[ID_MAX]; /* "" when the destination was given inline */
	struct bank_account account; /* the destination, as it was when created */
	char *description;   /* heap, may be NULL */
	char *metadata_json; /* heap, may be NULL */
	/* At the rail. */
	char rail[PAYMENT_CHANNEL_MAX];
	char rail_reference[ID_MAX]; /* the current attempt at the rail (its idempotency key) */
	int rail_attempts;
	bool outcome_unknown;        /* the last call's answer was lost: query before anything */
	char trace_id[PAYOUT_TRACE_MAX];
	int64_t expected_arrival_ms;
	int64_t arrived_ms;          /* when it was paid */
	int failure_code;            /* catalog code when failed (603, 604, 605, 606, ...) */
	char failure_reason[PAYOUT_REASON_MAX]; /* the rail's ISO 20022 reason */
	char hold_transfer_id[ID_MAX];          /* the ledger hold while not final */
	/* Tracking. */
	int64_t next_poll_ms; /* 0: not polled */
	int polls;
	int overdue_level;    /* 0 on time; 1, 2, ... each escalation */
	int64_t created_ms;
	int64_t updated_ms;
};

/* One line of a payout's timeline. */
struct payout_event {
	char payout_id[ID_MAX];
	int seq;             /* 1, 2, ... */
	int64_t at_ms;
	enum payout_status status;
	char source[PAYOUT_SOURCE_MAX]; /* "api", "rail", "callback", "poll", "deadline" */
	char code[PAYOUT_REASON_MAX];   /* the rail's reason, if any */
	char message[PAYOUT_MESSAGE_MAX];
};

enum alert_status { ALERT_OPEN, ALERT_RESOLVED };

/* Something a person must look at (GET /v1/alerts). */
struct alert {
	char id[ID_MAX]; /* al_... */
	char merchant_id[ID_MAX];
	char kind[32];        /* "payout_overdue" */
	char object_id[ID_MAX];
	int level;            /* escalations so far, 1 = first */
	enum alert_status status;
	char message[PAYOUT_MESSAGE_MAX];
	int64_t created_ms;
	int64_t updated_ms;
	int64_t resolved_ms;  /* 0 while open */
};

const char *payout_status_name(enum payout_status s);
const char *payout_method_name(enum payout_method m);
int payout_method_parse(const char *name); /* -1 when unknown */
int payout_status_parse(const char *name); /* -1 when unknown (list filters) */
const char *alert_status_name(enum alert_status s);
int alert_status_parse(const char *name);  /* -1 when unknown */

/* The state machine: may a payout go from `from` to `to`?  (paid ->
 * failed is a return; a late in_transit never follows paid.) */
bool payout_transition_ok(enum payout_status from, enum payout_status to);
/* A final status: no call to the rail changes it any more (paid is final
 * for the rail's calls, though a return may still fail it). */
bool payout_status_final(enum payout_status s);

void payout_clear(struct payout *p);
void recipient_clear(struct recipient *r);

#endif
