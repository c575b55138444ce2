/* tests/unit/test_engine: the engine in-process, on a temporary database
 * and a manual clock: Idempotency-Keys are replayed, refused with other
 * parameters, and forgotten after their TTL; an attempt of unknown
 * outcome is settled by the resolver once its query is due, never resent,
 * and the ledger balances; a webhook endpoint's secret is shown once and
 * never kept in clear (not even in a saved answer); delivery reports back
 * off, disable a failing endpoint, give up past the maximum age (with
 * alerts), deliver on 2xx and skip when there is no one to send to. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "core/catalog.h"
#include "engine/engine.h"
#include "store/store.h"
#include "tmpdb.h"

#define START_MS ((int64_t)1795300000000) /* 2026-11-21 */
#define WAIT_MS 5000                      /* bound on any wait for the engine */

static struct tmpdb tdb;
static const char *const db = tdb.db;
static struct clock_manual clock_m;
static struct channel *sandbox;
static struct route *route;
static struct engine *engine;
static char merchant[ID_MAX];

static void start(void)
{
	tmpdb_open(&tdb, "engine");
	clock_manual_init(&clock_m, START_MS);

	struct store *s;
	char err[256];
	struct store_open_opts opts = {.flags = STORE_CREATE};
	cr_assert_eq(store_open_sqlite(db, &opts, &s, err, sizeof err), CAT_OK, "%s", err);
	cr_assert_eq(store_begin(s), CAT_OK);
	cr_assert_eq(s->ops->merchant_ensure(s, "acme", "acct_000000000000000000000001", START_MS,
					     merchant), CAT_OK);
	cr_assert_eq(store_commit(s), CAT_OK);
	store_close(s);

	sandbox = sandbox_channel_new("sandbox");
	sandbox_channel_set_clock(sandbox, &clock_m.clock);
	struct route_config rcfg;
	route_config_default(&rcfg);
	route = route_new(&rcfg, &sandbox);
	cr_assert_not_null(route);
	struct engine_config cfg = {.db_path = db, .clock = &clock_m.clock, .seed = 42,
				    .route = route, .resolve_first_ms = 1000};
	cr_assert_eq(engine_start(&cfg, &engine, err, sizeof err), CAT_OK, "%s", err);
}

static void stop(void)
{
	engine_stop(engine);
	engine_free(engine);
	route_free(route);
	sandbox->ops->destroy(sandbox);
	tmpdb_remove(&tdb);
}

TestSuite(engine, .init = start, .fini = stop);

/* ---- submitting and waiting ---------------------------------------------- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void replied(struct engine_cmd *cmd)
{
	struct waiter *w = cmd->reply_ctx;
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Submits cmd and waits (bounded) for its answer; returns the parsed body. */
static json_t *run(struct engine_cmd *cmd)
{
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
	cmd->reply = replied;
	cmd->reply_ctx = &w;
	cr_assert_eq(engine_submit(engine, cmd), CAT_OK);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&w.lock);
	while (!w.done && pthread_cond_timedwait(&w.cond, &w.lock, &until) == 0)
		;
	bool done = w.done;
	pthread_mutex_unlock(&w.lock);
	cr_assert(done, "the engine did not answer within %d ms", WAIT_MS);
	json_t *body = json_loads(cmd->body, 0, NULL);
	cr_assert_not_null(body, "not JSON: %s", cmd->body);
	return body;
}

static void create_cmd(struct engine_cmd *cmd, int64_t amount, const char *key)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->kind = CMD_PI_CREATE;
	memcpy(cmd->merchant_id, merchant, sizeof cmd->merchant_id);
	strcpy(cmd->lang, "en");
	cmd->pi.fields = PI_F_AMOUNT | PI_F_CURRENCY;
	cmd->pi.amount = amount;
	strcpy(cmd->pi.currency, "CNY");
	if (key) {
		cmd->has_idem = true;
		snprintf(cmd->idem_key, sizeof cmd->idem_key, "%s", key);
		char text[64];
		snprintf(text, sizeof text, "amount=%lld", (long long)amount);
		crypto_sha256(text, strlen(text), cmd->fingerprint);
	}
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	cr_assert_not_null(v, "no %s", key);
	return v;
}

/* ---- idempotency ---------------------------------------------------------- */

Test(engine, idempotency_replay_reuse_and_expiry)
{
	struct engine_cmd first, again, other, later;
	create_cmd(&first, 100, "order-1");
	json_t *a = run(&first);
	cr_assert_eq(first.http_status, 200);
	cr_assert_not(first.replayed);

	create_cmd(&again, 100, "order-1");
	json_t *b = run(&again);
	cr_assert(again.replayed);
	cr_assert_str_eq(again.body, first.body, "a replay is the first answer, byte for byte");

	create_cmd(&other, 250, "order-1");
	json_t *c = run(&other);
	cr_assert_eq(other.http_status, 400);
	cr_assert_str_eq(str(json_object_get(c, "error"), "type"), "idempotency_error");

	clock_manual_advance(&clock_m, 24 * 3600 * 1000 + 1000); /* past the TTL */
	create_cmd(&later, 250, "order-1");
	json_t *d = run(&later);
	cr_assert_eq(later.http_status, 200, "a forgotten key is new again: %s", later.body);
	cr_assert_str_neq(str(d, "id"), str(a, "id"));
	cr_assert_eq(json_integer_value(json_object_get(d, "amount")), 250);

	json_decref(a), json_decref(b), json_decref(c), json_decref(d);
	engine_cmd_release(&first), engine_cmd_release(&again);
	engine_cmd_release(&other), engine_cmd_release(&later);
}

/* ---- the resolver --------------------------------------------------------- */

/* Reads the intent's status through a reader connection of our own. */
static char *status_of(const char *id)
{
	struct store *s;
	char err[256];
	struct store_open_opts opts = {.flags = STORE_READONLY};
	cr_assert_eq(store_open_sqlite(db, &opts, &s, err, sizeof err), CAT_OK, "%s", err);
	struct payment_intent pi = {0};
	cr_assert_eq(s->ops->intent_get(s, merchant, id, &pi), CAT_OK);
	char *status = strdup(pi_status_name(pi.status));
	payment_intent_clear(&pi);
	store_close(s);
	return status;
}

static void confirm_timeout_card(struct engine_cmd *cmd, const char *number)
{
	create_cmd(cmd, 700, NULL);
	struct card_input card = {.exp_month = 12, .exp_year = 2030};
	snprintf(card.number, sizeof card.number, "%s", number);
	cr_assert_eq(sandbox->ops->tokenize_card(sandbox, &card, &cmd->pi.method), CAT_OK);
	strcpy(cmd->pi.method.id, "pm_test");
	cmd->pi.fields |= PI_F_METHOD;
	cmd->pi.confirm = true;
}

/* Waits (bounded) until intent `id` leaves processing; asserts where to. */
static void settles_to(const char *id, const char *expected)
{
	char *now = NULL;
	for (int waited = 0; waited < WAIT_MS; waited += 10) {
		free(now);
		now = status_of(id);
		if (strcmp(now, "processing") != 0)
			break;
		usleep(10 * 1000);
	}
	cr_assert_str_eq(now, expected);
	free(now);
}

static void resolves_to(const char *number, const char *expected)
{
	struct engine_cmd cmd;
	confirm_timeout_card(&cmd, number);
	json_t *pi = run(&cmd);
	cr_assert_eq(cmd.http_status, 200);
	cr_assert_str_eq(str(pi, "status"), "processing", "a timeout is not a failure");
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s", str(pi, "id"));

	char *before = status_of(id);
	cr_assert_str_eq(before, "processing", "no query before it is due");
	free(before);

	clock_manual_advance(&clock_m, 1000); /* the first query is due */
	settles_to(id, expected);
	json_decref(pi);
	engine_cmd_release(&cmd);
}

Test(engine, timeout_after_taking_the_money_settles_to_succeeded)
{
	resolves_to("4000000000000202", "succeeded");
}

Test(engine, timeout_before_taking_the_money_settles_to_failed)
{
	resolves_to("4000000000000210", "requires_payment_method");
}

Test(engine, ledger_balances_after_resolved_payments)
{
	resolves_to("4000000000000202", "succeeded");
	resolves_to("4000000000000210", "requires_payment_method");
	engine_stop(engine); /* everything committed and released */
	struct store *s;
	char err[256];
	struct store_open_opts opts = {.flags = STORE_READONLY};
	cr_assert_eq(store_open_sqlite(db, &opts, &s, err, sizeof err), CAT_OK, "%s", err);
	struct store_audit audit;
	cr_assert_eq(s->ops->ledger_audit(s, &audit), CAT_OK);
	cr_assert_eq(audit.bad_balances + audit.bad_pending + audit.unbalanced +
			     audit.currency_nonzero, 0);
	char code[STORE_CODE_MAX + 1];
	snprintf(code, sizeof code, "merchant:%s:CNY", merchant);
	struct ledger_account acct;
	cr_assert_eq(s->ops->account_find(s, code, &acct), CAT_OK);
	cr_assert_eq(acct.posted, 700, "charged once, the succeeded payment only");
	store_close(s);
	/* stop() stops it again: make that a restart of a stopped engine. */
	struct engine_config cfg = {.db_path = db, .clock = &clock_m.clock, .seed = 43,
				    .route = route, .resolve_first_ms = 1000};
	engine_free(engine);
	cr_assert_eq(engine_start(&cfg, &engine, err, sizeof err), CAT_OK, "%s", err);
}

/* ---- a command that fails after writing ------------------------------------ */

static long count_rows(const char *sql)
{
	sqlite3 *raw;
	cr_assert_eq(sqlite3_open_v2(db, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(raw, WAIT_MS); /* the engine may be writing or checkpointing */
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	long n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	return n;
}

/* Puts a trigger in the database that makes inserting the attempt of a
 * payment of `amount` fail: by then its intent and creation event are
 * written, so the engine sees a command fail after writing. */
static void fail_attempts_of(int64_t amount)
{
	sqlite3 *raw;
	cr_assert_eq(sqlite3_open(db, &raw), SQLITE_OK);
	sqlite3_busy_timeout(raw, WAIT_MS); /* the engine may be writing or checkpointing */
	char sql[256];
	snprintf(sql, sizeof sql,
		 "CREATE TRIGGER injected BEFORE INSERT ON payment_attempts WHEN NEW.amount = %lld "
		 "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
		 (long long)amount);
	cr_assert_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(raw));
	sqlite3_close(raw);
}

static void submit_all_and_wait(struct engine_cmd **cmds, struct waiter *w, int n)
{
	for (int i = 0; i < n; i++) {
		pthread_mutex_init(&w[i].lock, NULL);
		pthread_cond_init(&w[i].cond, NULL);
		w[i].done = false;
		cmds[i]->reply = replied;
		cmds[i]->reply_ctx = &w[i];
	}
	for (int i = 0; i < n; i++) /* together: usually one batch */
		cr_assert_eq(engine_submit(engine, cmds[i]), CAT_OK);
	for (int i = 0; i < n; i++) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WAIT_MS / 1000;
		pthread_mutex_lock(&w[i].lock);
		while (!w[i].done && pthread_cond_timedwait(&w[i].cond, &w[i].lock, &until) == 0)
			;
		cr_assert(w[i].done, "command %d got no answer", i);
		pthread_mutex_unlock(&w[i].lock);
	}
}

/* A command that fails after writing leaves nothing, while the commands
 * around it are kept. */
Test(engine, failure_after_writing_leaves_nothing_and_spares_the_batch)
{
	struct engine_cmd good1, bad, good2;
	struct waiter w[3];
	struct engine_cmd *cmds[3] = {&good1, &bad, &good2};
	fail_attempts_of(102);
	create_cmd(&good1, 101, NULL);
	create_cmd(&bad, 102, NULL);
	cr_assert_eq(sandbox->ops->lookup_method(sandbox, "pm_card_visa", &bad.pi.method), CAT_OK);
	bad.pi.fields |= PI_F_METHOD;
	bad.pi.confirm = true;
	create_cmd(&good2, 103, NULL);
	submit_all_and_wait(cmds, w, 3);

	cr_assert_eq(good1.http_status, 200);
	cr_assert_eq(good2.http_status, 200);
	cr_assert_eq(bad.http_status, 500, "%s", bad.body);
	cr_assert_eq(count_rows("SELECT count(*) FROM payment_intents WHERE amount = 102"), 0);
	cr_assert_eq(count_rows("SELECT count(*) FROM payment_intents WHERE amount IN (101, 103)"), 2);
	cr_assert_eq(count_rows("SELECT count(*) FROM events"), 2, "one creation event per kept intent");
	for (int i = 0; i < 3; i++)
		engine_cmd_release(cmds[i]);
}

/* A run that is undone tracks nothing: the timeout payment of the first
 * run (its attempt never written) is not asked about, only the one of the
 * run that commits, and the engine stays responsive long after. */
Test(engine, undone_run_leaves_no_unknown_attempt_to_ask_about)
{
	struct engine_cmd timeout, bad, later;
	struct waiter w[2];
	struct engine_cmd *cmds[2] = {&timeout, &bad};
	fail_attempts_of(102);
	confirm_timeout_card(&timeout, "4000000000000202");
	create_cmd(&bad, 102, NULL);
	cr_assert_eq(sandbox->ops->lookup_method(sandbox, "pm_card_visa", &bad.pi.method), CAT_OK);
	bad.pi.fields |= PI_F_METHOD;
	bad.pi.confirm = true;
	submit_all_and_wait(cmds, w, 2);
	cr_assert_eq(timeout.http_status, 200, "%s", timeout.body);
	cr_assert_eq(bad.http_status, 500, "%s", bad.body);
	cr_assert_eq(count_rows("SELECT count(*) FROM payment_attempts"), 1);

	json_t *pi = json_loads(timeout.body, 0, NULL);
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s", str(pi, "id"));
	json_decref(pi);
	clock_manual_advance(&clock_m, 1000); /* the first query is due */
	settles_to(id, "succeeded");
	/* Long idle: any id tracked without a record would be asked about in a
	 * loop by now; the engine must still answer at once. */
	for (int i = 0; i < 12; i++) {
		clock_manual_advance(&clock_m, 10000);
		usleep(5 * 1000);
	}
	create_cmd(&later, 104, NULL);
	json_t *body = run(&later);
	cr_assert_eq(later.http_status, 200);
	json_decref(body);
	engine_cmd_release(&later);
	for (int i = 0; i < 2; i++)
		engine_cmd_release(cmds[i]);
}

/* Confirming with no payment method is refused before anything is
 * written, and the refusal is what its Idempotency-Key replays. */
Test(engine, confirm_without_method_writes_nothing_and_replays)
{
	struct engine_cmd bad, again;
	create_cmd(&bad, 102, "no-method");
	bad.pi.confirm = true;
	json_t *body = run(&bad);
	cr_assert_eq(bad.http_status, 400, "%s", bad.body);
	json_t *err = json_object_get(body, "error");
	cr_assert_str_eq(str(err, "code"), "parameter_missing");
	cr_assert_str_eq(str(err, "param"), "payment_method");
	cr_assert_eq(count_rows("SELECT count(*) FROM payment_intents"), 0);
	cr_assert_eq(count_rows("SELECT count(*) FROM events"), 0);

	create_cmd(&again, 102, "no-method");
	again.pi.confirm = true;
	json_t *replay = run(&again);
	cr_assert(again.replayed);
	cr_assert_str_eq(again.body, bad.body);
	json_decref(body);
	json_decref(replay);
	engine_cmd_release(&bad);
	engine_cmd_release(&again);
}

/* ---- webhooks: secrets and delivery reports ------------------------------- */

static json_t *create_endpoint(const char *key)
{
	struct engine_cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.kind = CMD_WEBHOOK_CREATE;
	memcpy(cmd.merchant_id, merchant, sizeof cmd.merchant_id);
	strcpy(cmd.lang, "en");
	cmd.webhook.fields = WH_F_URL | WH_F_EVENTS;
	cmd.webhook.url = strdup("https://hooks.example.com/payd");
	cmd.webhook.enabled_events = json_pack("[s]", "*");
	if (key) {
		cmd.has_idem = cmd.idem_asked = true;
		snprintf(cmd.idem_key, sizeof cmd.idem_key, "%s", key);
		crypto_sha256(key, strlen(key), cmd.fingerprint);
	}
	json_t *body = run(&cmd);
	engine_cmd_release(&cmd);
	return body;
}

static void report(int64_t delivery_id, enum delivery_outcome outcome, int status)
{
	struct engine_cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.kind = CMD_DELIVERY_REPORT;
	memcpy(cmd.merchant_id, merchant, sizeof cmd.merchant_id);
	strcpy(cmd.lang, "en");
	cmd.report = (struct delivery_report){.delivery_id = delivery_id, .outcome = outcome,
					      .started_ms = clock_now_ms(&clock_m.clock),
					      .status = status, .latency_ms = 5};
	snprintf(cmd.report.error, sizeof cmd.report.error, "HTTP %d", status);
	json_decref(run(&cmd));
	engine_cmd_release(&cmd);
}

static int64_t first_delivery(void)
{
	return count_rows("SELECT min(id) FROM deliveries WHERE kind = 0 AND state = 0");
}

Test(engine, webhook_secret_is_shown_once_and_never_kept)
{
	json_t *ep = create_endpoint("we-key-1");
	cr_assert_eq(strncmp(str(ep, "secret"), "whsec_", 6), 0);
	cr_assert_eq(count_rows("SELECT count(*) FROM idempotency_keys "
				"WHERE response LIKE '%whsec_%'"),
		     0, "the saved answer has no secret");
	cr_assert_eq(count_rows("SELECT count(*) FROM webhook_endpoints "
				"WHERE instr(secret_sealed, CAST('whsec_' AS BLOB)) > 0"),
		     0, "the stored secret is sealed");
	json_t *again = create_endpoint("we-key-1");
	cr_assert_str_eq(str(again, "id"), str(ep, "id"), "a replay names the same endpoint");
	cr_assert_null(json_object_get(again, "secret"), "but does not show the secret again");
	/* A rolled secret is shown once too, and kept sealed. */
	struct engine_cmd roll;
	memset(&roll, 0, sizeof roll);
	roll.kind = CMD_WEBHOOK_ROLL;
	memcpy(roll.merchant_id, merchant, sizeof roll.merchant_id);
	snprintf(roll.target_id, sizeof roll.target_id, "%s", str(ep, "id"));
	strcpy(roll.lang, "en");
	roll.webhook.overlap_ms = 60000;
	roll.has_idem = roll.idem_asked = true;
	snprintf(roll.idem_key, sizeof roll.idem_key, "we-roll-1");
	crypto_sha256("we-roll-1", 9, roll.fingerprint);
	json_t *rolled = run(&roll);
	engine_cmd_release(&roll);
	cr_assert_eq(strncmp(str(rolled, "secret"), "whsec_", 6), 0);
	cr_assert_eq(count_rows("SELECT count(*) FROM idempotency_keys "
				"WHERE response LIKE '%whsec_%'"),
		     0, "the saved answer of the roll has no secret");
	cr_assert_eq(count_rows("SELECT count(*) FROM webhook_endpoints "
				"WHERE instr(secret_sealed, CAST('whsec_' AS BLOB)) > 0 "
				"OR instr(old_secret_sealed, CAST('whsec_' AS BLOB)) > 0"),
		     0, "both secrets are sealed");
	json_decref(rolled);
	json_decref(again);
	json_decref(ep);
}

Test(engine, failed_deliveries_back_off_give_up_and_disable_the_endpoint)
{
	json_decref(create_endpoint(NULL));
	struct engine_cmd pi;
	create_cmd(&pi, 500, NULL);
	json_decref(run(&pi));
	engine_cmd_release(&pi);
	int64_t id = first_delivery();
	cr_assert_gt(id, 0, "the event fanned out to the endpoint");
	report(id, DELIVERY_TRIED, 500);
	char sql[160];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM deliveries WHERE id = %lld AND state = 0 AND attempts = 1 "
		 "AND next_ms > %lld", (long long)id, (long long)clock_now_ms(&clock_m.clock));
	cr_assert_eq(count_rows(sql), 1, "still pending, retried later");
	/* Twenty failures in a row over more than a day disable the endpoint. */
	for (int i = 2; i <= 20; i++) {
		clock_manual_advance(&clock_m, 2 * 3600 * 1000);
		report(id, DELIVERY_TRIED, 503);
	}
	cr_assert_eq(count_rows("SELECT count(*) FROM webhook_endpoints WHERE status = 1"), 1);
	cr_assert_eq(count_rows("SELECT count(*) FROM alerts WHERE kind = 'webhook_disabled' "
				"AND status = 0"), 1);
	cr_assert_eq(count_rows("SELECT count(*) FROM delivery_attempts"), 20, "every attempt kept");
	/* Past the maximum age the delivery is given up, with an alert. */
	clock_manual_advance(&clock_m, 3LL * 24 * 3600 * 1000);
	report(id, DELIVERY_TRIED, 500);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE id = %lld AND state = 2",
		 (long long)id);
	cr_assert_eq(count_rows(sql), 1, "given up");
	cr_assert_eq(count_rows("SELECT count(*) FROM alerts WHERE kind = 'webhook_delivery_failed'"),
		     1);
	report(id, DELIVERY_TRIED, 200);
	cr_assert_eq(count_rows(sql), 1, "a late report changes nothing");
}

Test(engine, a_success_delivers_and_nothing_to_send_skips)
{
	json_decref(create_endpoint(NULL));
	struct engine_cmd pi;
	create_cmd(&pi, 700, NULL);
	json_decref(run(&pi));
	engine_cmd_release(&pi);
	int64_t id = first_delivery();
	report(id, DELIVERY_TRIED, 204);
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE id = %lld AND state = 1",
		 (long long)id);
	cr_assert_eq(count_rows(sql), 1, "delivered");
	struct engine_cmd again;
	create_cmd(&again, 701, NULL);
	json_decref(run(&again));
	engine_cmd_release(&again);
	int64_t other = first_delivery();
	report(other, DELIVERY_NO_ONE, 0);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE id = %lld AND state = 3",
		 (long long)other);
	cr_assert_eq(count_rows(sql), 1, "skipped");
	cr_assert_eq(count_rows("SELECT count(*) FROM delivery_attempts"), 1,
		     "nothing sent: no attempt recorded");
}
