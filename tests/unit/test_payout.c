/* tests/unit/test_payout: core/payout's names and state machine.  The
 * transition table is checked exhaustively against a table written out
 * here by hand, so a change to either shows up as a difference. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/payout.h"

#define STATUSES 5

Test(payout, transition_table_exhaustive)
{
	/* want[from][to]: pending, in_transit, paid, failed, canceled */
	static const bool want[STATUSES][STATUSES] = {
		[PO_PENDING] = {false, true, true, true, true},
		[PO_IN_TRANSIT] = {false, false, true, true, false},
		[PO_PAID] = {false, false, false, true, false},
		[PO_FAILED] = {false, false, false, false, false},
		[PO_CANCELED] = {false, false, false, false, false},
	};
	for (int from = 0; from < STATUSES; from++)
		for (int to = 0; to < STATUSES; to++)
			cr_expect_eq(payout_transition_ok(from, to), want[from][to], "%s -> %s",
				     payout_status_name(from), payout_status_name(to));
}

Test(payout, same_status_is_not_a_transition)
{
	for (int s = 0; s < STATUSES; s++)
		cr_expect_not(payout_transition_ok(s, s), "%s -> itself", payout_status_name(s));
}

Test(payout, out_of_range_statuses_refused)
{
	cr_expect_not(payout_transition_ok(PO_PENDING, (enum payout_status)STATUSES));
	cr_expect_not(payout_transition_ok((enum payout_status)-1, PO_PAID));
	cr_expect_not(payout_transition_ok((enum payout_status)99, PO_FAILED));
}

Test(payout, late_in_transit_never_follows_paid)
{
	cr_expect_not(payout_transition_ok(PO_PAID, PO_IN_TRANSIT));
	cr_expect_not(payout_transition_ok(PO_PAID, PO_PENDING));
	cr_expect(payout_transition_ok(PO_PAID, PO_FAILED), "a return");
}

Test(payout, final_statuses)
{
	cr_expect_not(payout_status_final(PO_PENDING));
	cr_expect_not(payout_status_final(PO_IN_TRANSIT));
	cr_expect(payout_status_final(PO_PAID));
	cr_expect(payout_status_final(PO_FAILED));
	cr_expect(payout_status_final(PO_CANCELED));
	/* Only a final status is left by no rail call, and nothing leaves
	 * failed or canceled. */
	for (int s = 0; s < STATUSES; s++)
		if (!payout_status_final(s))
			cr_expect(payout_transition_ok(s, PO_FAILED), "%s can fail",
				  payout_status_name(s));
}

Test(payout, status_names_round_trip)
{
	static const char *const names[STATUSES] = {"pending", "in_transit", "paid", "failed",
						     "canceled"};
	for (int s = 0; s < STATUSES; s++) {
		cr_expect_str_eq(payout_status_name(s), names[s]);
		cr_expect_eq(payout_status_parse(names[s]), s);
	}
	cr_expect_eq(payout_status_parse("Paid"), -1);
	cr_expect_eq(payout_status_parse(""), -1);
	cr_expect_eq(payout_status_parse(NULL), -1);
}

Test(payout, method_names_round_trip)
{
	cr_expect_str_eq(payout_method_name(PO_STANDARD), "standard");
	cr_expect_str_eq(payout_method_name(PO_INSTANT), "instant");
	cr_expect_eq(payout_method_parse("standard"), PO_STANDARD);
	cr_expect_eq(payout_method_parse("instant"), PO_INSTANT);
	cr_expect_eq(payout_method_parse("express"), -1);
	cr_expect_eq(payout_method_parse(NULL), -1);
}

Test(payout, alert_status_names_round_trip)
{
	cr_expect_str_eq(alert_status_name(ALERT_OPEN), "open");
	cr_expect_str_eq(alert_status_name(ALERT_RESOLVED), "resolved");
	cr_expect_eq(alert_status_parse("open"), ALERT_OPEN);
	cr_expect_eq(alert_status_parse("resolved"), ALERT_RESOLVED);
	cr_expect_eq(alert_status_parse("closed"), -1);
}

Test(payout, clear_frees_and_nulls)
{
	struct payout p = {.description = strdup("weekly"), .metadata_json = strdup("{}")};
	payout_clear(&p);
	cr_expect_null(p.description);
	cr_expect_null(p.metadata_json);
	payout_clear(&p); /* twice is harmless */
	struct recipient r = {.metadata_json = strdup("{\"a\":\"b\"}")};
	recipient_clear(&r);
	cr_expect_null(r.metadata_json);
	recipient_clear(&r);
}
