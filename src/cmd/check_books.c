/* cmd/check_books: `payd check-books --db PATH --sim URL [--acked FILE]
 * [--json]` compares payd's books with payd-sim's (docs/SIM_PROTOCOL.md,
 * GET /admin/books): every charge the channels made must match exactly
 * one payment payd counts as paid (an attempt succeeded, or authorized
 * for manual capture) on the same channel with the same amount; nothing
 * may be charged twice; every payment a client was told succeeded (the
 * pi_ ids in --acked, one per line) must be in both books; and the
 * ledger must balance (the store's full audit).  The crash test and
 * `payd demo` use it; it exits 1 when anything disagrees.
 *
 * It reads payd's database read-only, with SQL of its own: a checking
 * tool that must not trust the code it checks. */
#include <getopt.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "store/store.h"

#define CHECK_BODY_MAX (256L * 1024 * 1024) /* the sim's books, at most */
#define CHECK_ACKED_LINE_MAX 128

void cmd_check_books_usage(FILE *out)
{
	fputs("usage: payd check-books --db PATH --sim URL [--acked FILE] [--json]\n\n"
	      "Compares payd's books with payd-sim's (URL: its admin endpoint) and\n"
	      "audits payd's ledger.  --acked names a file of payment intent ids a\n"
	      "client saw succeed (one per line): each must be in both books.\n"
	      "Exits 0 when everything matches, 1 otherwise.\n",
	      out);
}

static json_t *fetch_books(const char *sim_url, char *err, size_t err_cap)
{
	char url[512], *answer = NULL;
	snprintf(url, sizeof url, "%s/admin/books", sim_url);
	struct cmd_http_req req = {.url = url, .max_body = CHECK_BODY_MAX, .timeout_s = 60};
	long status = cmd_http(&req, &answer);
	json_t *books = NULL;
	if (status != 200)
		snprintf(err, err_cap, "GET %s: HTTP %ld%s", url, status,
			 status ? "" : " (no answer)");
	else if (!answer || !(books = json_loads(answer, 0, NULL)))
		snprintf(err, err_cap, "GET %s: the answer is not JSON", url);
	free(answer);
	return books;
}

/* payd's side: attempt id -> {intent, channel, amount, paid}. */
static json_t *payd_attempts(sqlite3 *db, char *err, size_t err_cap)
{
	static const char sql[] =
		"SELECT id, intent_id, channel, amount, status IN (3, 4) FROM payment_attempts";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, err_cap, "reading attempts: %s", sqlite3_errmsg(db));
		return NULL;
	}
	json_t *out = json_object();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
				    json_pack("{s:s, s:s, s:I, s:b}", "intent",
					      (const char *)sqlite3_column_text(st, 1), "channel",
					      (const char *)sqlite3_column_text(st, 2), "amount",
					      (json_int_t)sqlite3_column_int64(st, 3), "paid",
					      sqlite3_column_int(st, 4)));
	sqlite3_finalize(st);
	return out;
}

static bool is_money(const char *state)
{
	return state && (strcmp(state, "captured") == 0 || strcmp(state, "authorized") == 0);
}

/* Walks the sim's charges: matched, charged twice, unmatched.  Returns
 * the references charged (reference -> times), the caller's to release. */
static json_t *compare_charges(json_t *books, json_t *attempts, struct books_report *r)
{
	json_t *seen = json_object(); /* reference -> charges of money */
	json_t *paid_intents = json_object();
	const char *channel;
	json_t *side;
	json_object_foreach(json_object_get(books, "channels"), channel, side) {
		size_t i;
		json_t *charge;
		json_array_foreach(json_object_get(side, "charges"), i, charge) {
			const char *ref = json_string_value(json_object_get(charge, "reference"));
			if (!ref || !is_money(json_string_value(json_object_get(charge, "state"))))
				continue;
			r->sim_charges++;
			json_int_t times = json_integer_value(json_object_get(seen, ref)) + 1;
			json_object_set_new(seen, ref, json_integer(times));
			if (times > 1) {
				r->charged_twice++;
				continue;
			}
			json_t *a = json_object_get(attempts, ref);
			bool same = a && json_is_true(json_object_get(a, "paid")) &&
				    strcmp(json_string_value(json_object_get(a, "channel")), channel) == 0 &&
				    json_integer_value(json_object_get(a, "amount")) ==
					    json_integer_value(json_object_get(charge, "amount"));
			if (!same) {
				r->unmatched_charges++;
				continue;
			}
			const char *intent = json_string_value(json_object_get(a, "intent"));
			if (json_object_get(paid_intents, intent))
				r->charged_twice++; /* a second charge for the same payment */
			json_object_set_new(paid_intents, intent, json_true());
			r->matched++;
		}
	}
	/* payd's paid attempts the channels never charged */
	const char *ref;
	json_t *a;
	json_object_foreach(attempts, ref, a) {
		if (!json_is_true(json_object_get(a, "paid")))
			continue;
		r->payd_paid++;
		if (!json_object_get(seen, ref))
			r->missing++;
	}
	json_decref(paid_intents);
	return seen;
}

/* Each acknowledged intent must be paid in payd by a charge the sim has. */
static int check_acked(const char *path, json_t *attempts, json_t *charged, struct books_report *r,
		       char *err, size_t err_cap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_cap, "cannot read %s", path);
		return -1;
	}
	json_t *paid = json_object(); /* intent -> reference, for paid attempts the sim has */
	const char *ref;
	json_t *a;
	json_object_foreach(attempts, ref, a) {
		if (json_is_true(json_object_get(a, "paid")))
			json_object_set_new(paid, json_string_value(json_object_get(a, "intent")),
					    json_string(ref));
	}
	char line[CHECK_ACKED_LINE_MAX];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		r->acked++;
		const char *att = json_string_value(json_object_get(paid, line));
		if (!att || !json_object_get(charged, att))
			r->acked_missing++;
	}
	fclose(f);
	json_decref(paid);
	return 0;
}

static int audit_ledger(const char *db_path, struct books_report *r, char *err, size_t err_cap)
{
	struct store *s;
	struct store_open_opts opts = {.flags = STORE_READONLY};
	if (store_open_sqlite(db_path, &opts, &s, err, err_cap) != 0)
		return -1;
	struct store_audit audit = {0};
	int rc = s->ops->ledger_audit(s, &audit);
	store_close(s);
	if (rc) {
		snprintf(err, err_cap, "ledger audit failed (code %d)", rc);
		return -1;
	}
	r->ledger_balanced = audit.bad_balances == 0 && audit.bad_pending == 0 &&
			     audit.unbalanced == 0 && audit.currency_nonzero == 0;
	return 0;
}

int books_check(const char *db_path, const char *sim_url, const char *acked_path,
		struct books_report *r, char *err, size_t err_cap)
{
	memset(r, 0, sizeof *r);
	sqlite3 *db = NULL;
	json_t *books = NULL, *attempts = NULL, *charged = NULL;
	int rc = -1;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, err_cap, "cannot open %s", db_path);
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if (!(books = fetch_books(sim_url, err, err_cap)) ||
	    !(attempts = payd_attempts(db, err, err_cap)))
		goto out;
	charged = compare_charges(books, attempts, r);
	books_check_payouts(db, books, r);
	if (acked_path && check_acked(acked_path, attempts, charged, r, err, err_cap) != 0)
		goto out;
	rc = audit_ledger(db_path, r, err, err_cap);
out:
	json_decref(books);
	json_decref(attempts);
	json_decref(charged);
	sqlite3_close(db);
	return rc;
}

bool books_ok(const struct books_report *r)
{
	return r->charged_twice == 0 && r->missing == 0 && r->unmatched_charges == 0 &&
	       r->acked_missing == 0 && r->payouts_executed_twice == 0 &&
	       r->payouts_unmatched == 0 && r->payouts_missing == 0 && r->ledger_balanced;
}

json_t *books_report_json(const struct books_report *r)
{
	json_t *o = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "matched", (json_int_t)r->matched,
		"charged_twice", (json_int_t)r->charged_twice, "missing", (json_int_t)r->missing,
		"unmatched_charges", (json_int_t)r->unmatched_charges, "sim_charges",
		(json_int_t)r->sim_charges, "payd_paid", (json_int_t)r->payd_paid, "acked",
		(json_int_t)r->acked, "acked_missing", (json_int_t)r->acked_missing, "ledger_balanced",
		r->ledger_balanced);
	json_object_set_new(
		o, "payouts",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "matched",
			  (json_int_t)r->payouts_matched, "executed_twice",
			  (json_int_t)r->payouts_executed_twice, "unmatched",
			  (json_int_t)r->payouts_unmatched, "missing", (json_int_t)r->payouts_missing,
			  "paid", (json_int_t)r->payouts_paid, "failed", (json_int_t)r->payouts_failed,
			  "returned", (json_int_t)r->payouts_returned));
	return o;
}

/* The report as "name value" lines (nested objects as prefix.name). */
static void print_report(json_t *j, const char *prefix)
{
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		char name[64];
		snprintf(name, sizeof name, "%s%s", prefix, k);
		if (json_is_object(v)) {
			char inner[64];
			snprintf(inner, sizeof inner, "%.50s.", k);
			print_report(v, inner);
		} else if (json_is_boolean(v)) {
			printf("%-24s %s\n", name, json_is_true(v) ? "yes" : "NO");
		} else {
			printf("%-24s %lld\n", name, (long long)json_integer_value(v));
		}
	}
}

int cmd_check_books(int argc, char **argv)
{
	const char *db = NULL, *sim = NULL, *acked = NULL;
	bool as_json = false;
	static const struct option options[] = {
		{"db", required_argument, NULL, 'd'},    {"sim", required_argument, NULL, 's'},
		{"acked", required_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	optind = 1;
	for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 's': sim = optarg; break;
		case 'a': acked = optarg; break;
		case 'j': as_json = true; break;
		case 'h': cmd_check_books_usage(stdout); return CMD_OK;
		default: cmd_check_books_usage(stderr); return CMD_USAGE;
		}
	}
	if (!db || !sim || optind < argc) {
		cmd_check_books_usage(stderr);
		return CMD_USAGE;
	}
	struct books_report r;
	char err[512];
	if (books_check(db, sim, acked, &r, err, sizeof err) != 0) {
		fprintf(stderr, "payd check-books: %s\n", err);
		return CMD_FAILED;
	}
	json_t *j = books_report_json(&r);
	if (as_json) {
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_report(j, "");
	}
	json_decref(j);
	return books_ok(&r) ? CMD_OK : CMD_FAILED;
}
