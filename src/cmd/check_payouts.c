/* cmd/check_payouts: the payout half of `payd check-books`.  Every payout
 * payd-sim's bank rails executed must be the current attempt of exactly
 * one payd payout on the same rail with the same amount, in an agreeing
 * state (paid ↔ paid; failed or returned ↔ failed; pending or in transit
 * ↔ pending or in transit), and executed once: a rail that executed a
 * reference twice paid the recipient twice.  Every payout payd counts as
 * paid must be paid at a rail. */
#include <sqlite3.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/catalog.h"
#include "core/payout.h"

/* payd's side: rail reference -> {rail, amount, status, returned}. */
static json_t *payd_payouts(sqlite3 *db)
{
	static const char sql[] = "SELECT rail_reference, rail, amount, status, failure_code "
				  "FROM payouts WHERE rail_reference <> ''";
	json_t *out = json_object();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return out; /* a database before payouts: nothing to compare */
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
				    json_pack("{s:s, s:I, s:i, s:b}", "rail",
					      (const char *)sqlite3_column_text(st, 1), "amount",
					      (json_int_t)sqlite3_column_int64(st, 2), "status",
					      sqlite3_column_int(st, 3), "returned",
					      sqlite3_column_int(st, 4) == CAT_PAYOUT_RETURNED));
	sqlite3_finalize(st);
	return out;
}

/* payd's status (enum payout_status) agrees with the rail's state. */
static bool states_agree(int status, const char *state)
{
	if (!state)
		return false;
	if (strcmp(state, "paid") == 0)
		return status == PO_PAID;
	if (strcmp(state, "failed") == 0 || strcmp(state, "returned") == 0)
		return status == PO_FAILED;
	return status == PO_PENDING || status == PO_IN_TRANSIT;
}

static void compare_one(const char *rail, json_t *sim, json_t *payd, struct books_report *r)
{
	const char *ref = json_string_value(json_object_get(sim, "reference"));
	const char *state = json_string_value(json_object_get(sim, "state"));
	json_t *p = ref ? json_object_get(payd, ref) : NULL;
	if (json_integer_value(json_object_get(sim, "executions")) > 1)
		r->payouts_executed_twice++;
	bool same = p && strcmp(json_string_value(json_object_get(p, "rail")), rail) == 0 &&
		    json_integer_value(json_object_get(p, "amount")) ==
			    json_integer_value(json_object_get(sim, "amount")) &&
		    states_agree((int)json_integer_value(json_object_get(p, "status")), state);
	if (same)
		r->payouts_matched++;
	else
		r->payouts_unmatched++;
}

void books_check_payouts(sqlite3 *db, json_t *books, struct books_report *r)
{
	json_t *payd = payd_payouts(db);
	json_t *seen = json_object();
	const char *rail;
	json_t *side;
	json_object_foreach(json_object_get(books, "channels"), rail, side) {
		size_t i;
		json_t *sim;
		json_array_foreach(json_object_get(side, "payouts"), i, sim) {
			compare_one(rail, sim, payd, r);
			const char *ref = json_string_value(json_object_get(sim, "reference"));
			if (ref)
				json_object_set(seen, ref, json_true());
		}
	}
	const char *ref;
	json_t *p;
	json_object_foreach(payd, ref, p) {
		int status = (int)json_integer_value(json_object_get(p, "status"));
		r->payouts_paid += status == PO_PAID;
		r->payouts_failed += status == PO_FAILED;
		r->payouts_returned += json_is_true(json_object_get(p, "returned"));
		if (status == PO_PAID && !json_object_get(seen, ref))
			r->payouts_missing++;
	}
	json_decref(seen);
	json_decref(payd);
}
