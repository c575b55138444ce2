/* core/payout: names and state rules of payouts and alerts.  The transition
 * table is the one place that says which status may follow which; the
 * engine asserts every change against it, and the store's work lists
 * (open payouts) rest on payout_status_final. */
#include "core/payout.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
	[PO_PENDING] = "pending", [PO_IN_TRANSIT] = "in_transit", [PO_PAID] = "paid",
	[PO_FAILED] = "failed",   [PO_CANCELED] = "canceled",
};

static const char *const method_names[] = {
	[PO_STANDARD] = "standard",
	[PO_INSTANT] = "instant",
};

static const char *const alert_names[] = {
	[ALERT_OPEN] = "open",
	[ALERT_RESOLVED] = "resolved",
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The index of name in names[0..n), or -1. */
static int parse_name(const char *const *names, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *payout_status_name(enum payout_status s)
{
	return status_names[s];
}

const char *payout_method_name(enum payout_method m)
{
	return method_names[m];
}

int payout_method_parse(const char *name)
{
	return parse_name(method_names, COUNT(method_names), name);
}

int payout_status_parse(const char *name)
{
	return parse_name(status_names, COUNT(status_names), name);
}

const char *alert_status_name(enum alert_status s)
{
	return alert_names[s];
}

int alert_status_parse(const char *name)
{
	return parse_name(alert_names, COUNT(alert_names), name);
}

/* allowed[from] is a bit set of the statuses `from` may become.  A status
 * never "becomes" itself: a repeated report (a duplicate callback, a poll
 * that finds nothing new) is not a transition and writes no timeline line.
 * pending -> paid: an instant payout, or a rail whose in_transit report
 * was lost or came late.  paid -> failed: a return by the recipient's bank.
 * Nothing follows failed or canceled: the money is back in the balance. */
#define BIT(s) (1u << (s))
static const unsigned allowed[] = {
	[PO_PENDING] = BIT(PO_IN_TRANSIT) | BIT(PO_PAID) | BIT(PO_FAILED) | BIT(PO_CANCELED),
	[PO_IN_TRANSIT] = BIT(PO_PAID) | BIT(PO_FAILED),
	[PO_PAID] = BIT(PO_FAILED),
	[PO_FAILED] = 0,
	[PO_CANCELED] = 0,
};

bool payout_transition_ok(enum payout_status from, enum payout_status to)
{
	if ((int)from < 0 || (int)from >= COUNT(allowed) || (int)to < 0 || (int)to >= COUNT(allowed))
		return false;
	return (allowed[from] & BIT(to)) != 0;
}

bool payout_status_final(enum payout_status s)
{
	return s == PO_PAID || s == PO_FAILED || s == PO_CANCELED;
}

void payout_clear(struct payout *p)
{
	free(p->description);
	free(p->metadata_json);
	p->description = NULL;
	p->metadata_json = NULL;
}

void recipient_clear(struct recipient *r)
{
	free(r->metadata_json);
	r->metadata_json = NULL;
}
