/* cmd/demo: `payd demo` (what `make run` runs).  It starts payd-sim (the
 * binary next to payd) with four channels — a card acquirer, its backup,
 * and two wallets — and `payd serve` configured for them, creates a demo
 * merchant, and drives mixed traffic for --duration seconds; half-way the
 * primary acquirer goes down (connections refused) and comes back at
 * four fifths, so the failover and the breaker show.  Progress goes to
 * stderr each second.  Then it waits for the resolver to settle every
 * unknown attempt and for every webhook to reach the demo's own endpoint
 * (which refuses a fifth of them, so retries show), prints a summary
 * (payments, success rate, failovers, unknowns resolved, top failure
 * codes, payouts, webhooks) and the check of payd's books
 * against payd-sim's, and keeps serving (URL, key, curl example) until
 * Ctrl-C — or stops at once with --exit.  --json prints the summary as one
 * JSON object on stdout. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "cmd/cmd.h"
#include "cmd/demo.h"
#include "core/catalog.h"

#define DEMO_START_TIMEOUT_MS 15000
#define DEMO_SETTLE_TIMEOUT_MS 90000
#define DEMO_DURATION_MAX 3600
#define DEMO_TOP_CODES 5

extern char **environ;

void cmd_demo_usage(FILE *out)
{
	fputs("usage: payd demo [--listen HOST:PORT] [--dir DIR] [--duration SECONDS]\n"
	      "                 [--exit] [--json]\n\n"
	      "Starts payd-sim (simulated acquirers and wallets) and payd, drives about a\n"
	      "minute of mixed payments with an outage of the primary acquirer half-way,\n"
	      "prints a summary and the check of both sides' books, then keeps serving\n"
	      "until Ctrl-C.\n\n"
	      "  --listen HOST:PORT  payd's address (default 127.0.0.1:8080)\n"
	      "  --dir DIR           where the databases and logs go (default: a new\n"
	      "                      directory under $TMPDIR or /tmp)\n"
	      "  --duration SECONDS  the traffic phase (default 60)\n"
	      "  --exit              stop after the summary instead of serving\n"
	      "  --json              the summary as one JSON object on stdout\n",
	      out);
}

/* The simulated world: latencies of a few ms, a realistic mix of
 * declines, a little "issuer unavailable", rare slow and lost answers. */
static const char demo_scenario[] =
	"{\"seed\": 2026, \"channels\": ["
	"{\"name\":\"acq_a\",\"kind\":\"acquirer\",\"port\":0,\"secret\":\"demo-acq-a\","
	"\"idempotent\":true,\"latency_ms\":{\"min\":2,\"p50\":8,\"p99\":60},"
	"\"outcomes\":{\"00\":91,\"51\":3,\"05\":2,\"54\":1,\"91\":2,\"96\":1},"
	"\"outage\":\"none\",\"slow_rate\":0.01,\"slow_ms\":2500,\"slow_before_execution\":false,"
	"\"lost_rate\":0.005},"
	"{\"name\":\"acq_b\",\"kind\":\"acquirer\",\"port\":0,\"secret\":\"demo-acq-b\","
	"\"idempotent\":false,\"latency_ms\":{\"min\":3,\"p50\":12,\"p99\":80},"
	"\"outcomes\":{\"00\":93,\"51\":3,\"05\":2,\"61\":1,\"96\":1},"
	"\"outage\":\"none\",\"slow_rate\":0.005,\"slow_ms\":2500,\"slow_before_execution\":true,"
	"\"lost_rate\":0.0},"
	"{\"name\":\"alipay_sim\",\"kind\":\"wallet_a\",\"port\":0,\"secret\":\"demo-alipay\","
	"\"idempotent\":true,\"latency_ms\":{\"min\":5,\"p50\":15,\"p99\":90},"
	"\"outcomes\":{\"SUCCESS\":93,\"ACQ.BUYER_BALANCE_NOT_ENOUGH\":4,"
	"\"ACQ.RISK_CONTROL_REJECT\":1,\"ACQ.SYSTEM_ERROR\":2},"
	"\"outage\":\"none\",\"slow_rate\":0.01,\"slow_ms\":2500,\"slow_before_execution\":false,"
	"\"lost_rate\":0.005},"
	"{\"name\":\"wechat_sim\",\"kind\":\"wallet_b\",\"port\":0,\"secret\":\"demo-wechat\","
	"\"idempotent\":false,\"latency_ms\":{\"min\":5,\"p50\":15,\"p99\":90},"
	"\"outcomes\":{\"SUCCESS\":93,\"NOTENOUGH\":4,\"ACCOUNT_FROZEN\":1,\"BANKERROR\":2},"
	"\"outage\":\"none\",\"slow_rate\":0.01,\"slow_ms\":2500,\"slow_before_execution\":false,"
	"\"lost_rate\":0.005},"
	/* Bank rails: a scenario minute passes in a real second. */
	"{\"name\":\"bank_a\",\"kind\":\"bank\",\"port\":0,\"secret\":\"demo-bank-a\","
	"\"idempotent\":true,\"latency_ms\":{\"min\":2,\"p50\":10,\"p99\":50},\"time_scale\":60,"
	"\"transit_ms\":{\"min\":30000,\"p50\":60000,\"p99\":120000},"
	"\"settle_ms\":{\"min\":120000,\"p50\":300000,\"p99\":600000},"
	"\"instant_settle_ms\":{\"min\":5000,\"p50\":20000,\"p99\":60000},"
	"\"payout_outcomes\":{\"paid\":90,\"failed:AC01\":3,\"failed:AC04\":2,"
	"\"returned:AC04\":3,\"failed:AG01\":2},"
	"\"return_after_ms\":{\"min\":60000,\"p50\":120000,\"p99\":300000},"
	"\"callback_drop_rate\":0.1,\"callback_duplicate_rate\":0.05,\"callback_late_rate\":0.05,"
	"\"lost_rate\":0.01},"
	"{\"name\":\"bank_b\",\"kind\":\"bank\",\"port\":0,\"secret\":\"demo-bank-b\","
	"\"idempotent\":false,\"latency_ms\":{\"min\":2,\"p50\":10,\"p99\":50},\"time_scale\":60,"
	"\"transit_ms\":{\"min\":30000,\"p50\":60000,\"p99\":120000},"
	"\"settle_ms\":{\"min\":120000,\"p50\":300000,\"p99\":600000},"
	"\"payout_outcomes\":{\"paid\":97,\"failed:AC01\":3}}]}";

struct demo {
	char dir[PATH_MAX - 64];
	char self[PATH_MAX], sim_bin[PATH_MAX];
	char db[PATH_MAX], admin[DEMO_URL_MAX];
	const char *listen;
	int duration_s;
	bool exit_after, as_json;
	pid_t sim_pid, payd_pid;
	struct demo_traffic traffic;
	struct demo_payouts payouts;
	struct demo_webhooks hooks;
};

static void say(const struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct demo *d, const char *fmt, ...)
{
	(void)d;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void path_in(const struct demo *d, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", d->dir, name);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) == 0 ? rc : -1;
}

/* Spawns argv with stdout to `out_fd` (or /dev/null when -1) and stderr
 * to the file `log`. */
static pid_t spawn_child(char *const argv[], int out_fd, const char *log)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_APPEND,
					 0600);
	pid_t pid = -1;
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void stop_child(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		usleep(50 * 1000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

/* Reads one line from fd within the deadline (a child's first words). */
static int read_line(int fd, char *line, size_t cap, int timeout_ms)
{
	size_t len = 0;
	int64_t end = clock_mono_ns() / 1000000 + timeout_ms;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (clock_mono_ns() / 1000000 < end && len + 1 < cap) {
		ssize_t n = read(fd, line + len, 1);
		if (n == 1 && line[len] == '\n') {
			line[len] = '\0';
			return 0;
		}
		if (n == 1)
			len++;
		else if (n == 0)
			return -1;
		else
			usleep(10 * 1000);
	}
	return -1;
}

static int start_sim(struct demo *d, json_t **ready_out)
{
	char scenario[PATH_MAX], ready[PATH_MAX], log[PATH_MAX];
	path_in(d, "scenario.json", scenario, sizeof scenario);
	path_in(d, "sim-ready.json", ready, sizeof ready);
	path_in(d, "payd-sim.log", log, sizeof log);
	if (write_file(scenario, demo_scenario) != 0)
		return -1;
	char *argv[] = {d->sim_bin, "--scenario", scenario, "--listen", "127.0.0.1:0",
			"--ready-file", ready, NULL};
	if ((d->sim_pid = spawn_child(argv, -1, log)) <= 0)
		return -1;
	for (int i = 0; i < DEMO_START_TIMEOUT_MS / 50; i++) {
		json_t *r = json_load_file(ready, 0, NULL);
		if (r) {
			snprintf(d->admin, sizeof d->admin, "%s",
				 json_string_value(json_object_get(r, "admin")));
			*ready_out = r;
			return 0;
		}
		usleep(50 * 1000);
	}
	say(d, "payd demo: payd-sim did not start (see %s)", log);
	return -1;
}

/* payd's config: the sim's channels, acq_a first; a breaker quick enough
 * to see within the demo. */
static int write_config(struct demo *d, json_t *ready, char *path, size_t cap)
{
	static const char *const names[] = {"acq_a",      "acq_b",  "alipay_sim",
					    "wechat_sim", "bank_a", "bank_b"};
	static const char *const kinds[] = {"acquirer", "acquirer", "wallet_a",
					    "wallet_b", "bank",     "bank"};
	static const char *const methods[] = {"card", "card", "alipay", "wechat_pay", "payout",
					      "payout"};
	static const char *const secrets[] = {"demo-acq-a",  "demo-acq-b",  "demo-alipay",
					      "demo-wechat", "demo-bank-a", "demo-bank-b"};
	json_t *channels = json_array();
	for (int i = 0; i < 6; i++)
		json_array_append_new(
			channels,
			json_pack("{s:s, s:s, s:s, s:s, s:[s], s:i, s:i}", "name", names[i], "kind",
				  kinds[i], "url",
				  json_string_value(json_object_get(json_object_get(ready, "channels"),
								    names[i])),
				  "secret", secrets[i], "methods", methods[i], "priority", i + 1,
				  "timeout_ms", 1500));
	json_t *cfg = json_pack("{s:o, s:{s:i, s:i}, s:{s:i, s:i, s:i, s:i, s:i, s:i}}", "channels",
				channels, "routing", "max_attempts", 3, "deadline_ms", 20000, "breaker",
				"window_ms", 5000, "min_volume", 10, "failure_pct", 50, "cooldown_ms",
				3000, "probe_successes", 2, "probe_interval_ms", 1000);
	/* payouts late by 5 s (scenario: 5 min) are overdue; escalated every 15 s */
	json_object_set_new(cfg, "payouts",
			    json_pack("{s:i, s:i, s:i, s:i}", "poll_first_ms", 1000, "poll_max_ms",
				      10000, "arrival_grace_ms", 5000, "escalate_ms", 15000));
	/* the demo's receiver is on loopback; a refused delivery is retried soon */
	json_object_set_new(cfg, "webhooks",
			    json_pack("{s:b, s:i, s:i, s:i}", "allow_private_networks", 1,
				      "timeout_ms", 2000, "backoff_first_ms", 500, "backoff_max_ms",
				      5000));
	path_in(d, "payd.json", path, cap);
	int rc = json_dump_file(cfg, path, JSON_INDENT(2));
	json_decref(cfg);
	return rc;
}

static int create_key(struct demo *d, char *key, size_t cap)
{
	int fds[2];
	char log[PATH_MAX];
	path_in(d, "payd.log", log, sizeof log);
	if (pipe(fds) != 0)
		return -1;
	char *argv[] = {d->self, "keys", "create", "--db", d->db, "--merchant", "demo", NULL};
	pid_t pid = spawn_child(argv, fds[1], log);
	close(fds[1]);
	int rc = pid > 0 ? read_line(fds[0], key, cap, DEMO_START_TIMEOUT_MS) : -1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return rc == 0 && strncmp(key, "sk_test_", 8) == 0 ? 0 : -1;
}

static int start_payd(struct demo *d, const char *config, char *api, size_t cap)
{
	int fds[2];
	char log[PATH_MAX], line[512];
	path_in(d, "payd.log", log, sizeof log);
	if (pipe(fds) != 0)
		return -1;
	char *argv[] = {d->self, "serve", "--db", d->db, "--config", (char *)config, "--listen",
			(char *)d->listen, NULL};
	d->payd_pid = spawn_child(argv, fds[1], log);
	close(fds[1]);
	int rc = d->payd_pid > 0 ? read_line(fds[0], line, sizeof line, DEMO_START_TIMEOUT_MS) : -1;
	close(fds[0]);
	const char *url = rc == 0 ? strstr(line, "http://") : NULL;
	if (!url) {
		say(d, "payd demo: payd serve did not start (see %s)", log);
		return -1;
	}
	snprintf(api, cap, "%s", url);
	return 0;
}

/* ---- reading payd's books ------------------------------------------------ */

static long sql_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static sqlite3 *open_books(const struct demo *d)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static const char SQL_FAILOVERS[] = "SELECT count(*) FROM payment_attempts WHERE failover = 1";
/* Overdue payouts excepted: the demo leaves one late on purpose. */
static const char SQL_UNSETTLED[] =
	"SELECT (SELECT count(*) FROM payment_attempts WHERE status IN (0, 2, 6)) + "
	"(SELECT count(*) FROM refunds WHERE status = 0) + "
	"(SELECT count(*) FROM payouts WHERE status IN (0, 1) AND overdue_level = 0)";

/* One line of progress: counts and each acquirer's breaker. */
static void progress(struct demo *d, const char *api, const char *key, int second)
{
	struct demo_counts c = demo_traffic_counts(&d->traffic);
	sqlite3 *db = open_books(d);
	long failovers = db ? sql_count(db, SQL_FAILOVERS) : -1;
	sqlite3_close(db);
	char url[DEMO_URL_MAX + 32], *answer = NULL, breakers[256] = "";
	snprintf(url, sizeof url, "%s/v1/channels", api);
	if (demo_http(url, key, NULL, false, &answer) == 200) {
		json_t *list = json_loads(answer, 0, NULL);
		size_t i;
		json_t *ch;
		json_array_foreach(json_object_get(list, "data"), i, ch) {
			if (strcmp(json_string_value(json_object_get(ch, "kind")), "acquirer") != 0)
				continue;
			size_t used = strlen(breakers);
			snprintf(breakers + used, sizeof breakers - used, "  %s %s",
				 json_string_value(json_object_get(ch, "name")),
				 json_string_value(json_object_get(ch, "breaker")));
		}
		json_decref(list);
	}
	free(answer);
	say(d, "[%3ds] payments %5ld  succeeded %5ld (%ld%%)  failovers %4ld %s", second,
	    c.payments, c.succeeded, c.payments ? c.succeeded * 100 / c.payments : 0, failovers,
	    breakers);
}

static void set_outage(struct demo *d, const char *outage)
{
	char url[DEMO_URL_MAX + 64], body[64], *answer = NULL;
	snprintf(url, sizeof url, "%s/admin/channels/acq_a", d->admin);
	snprintf(body, sizeof body, "{\"outage\":\"%s\"}", outage);
	long status = demo_http(url, NULL, body, true, &answer);
	free(answer);
	if (strcmp(outage, "none") == 0)
		say(d, "-- acq_a is back (HTTP %ld): its breaker closes once probes succeed", status);
	else
		say(d, "-- outage: acq_a refuses connections (HTTP %ld); cards fail over to acq_b",
		    status);
}

/* ---- the show ------------------------------------------------------------ */

static void run_traffic(struct demo *d, const char *api, const char *key)
{
	struct demo_traffic *t = &d->traffic;
	snprintf(t->api, sizeof t->api, "%s", api);
	snprintf(t->key, sizeof t->key, "%s", key);
	int64_t start = clock_mono_ns() / 1000000;
	t->until_ms = start + (int64_t)d->duration_s * 1000;
	t->pause_ms = 40;
	if (demo_traffic_start(t) != 0)
		say(d, "payd demo: could not start every worker (%d running)", t->started);
	struct demo_payouts *po = &d->payouts;
	snprintf(po->api, sizeof po->api, "%s", api);
	snprintf(po->key, sizeof po->key, "%s", key);
	snprintf(po->admin, sizeof po->admin, "%s", d->admin);
	po->until_ms = t->until_ms;
	if (demo_payouts_start(po) != 0)
		say(d, "payd demo: could not start the payouts");
	int outage_at = d->duration_s / 2, back_at = d->duration_s * 4 / 5;
	for (int s = 1; s <= d->duration_s; s++) {
		int64_t wake = start + (int64_t)s * 1000;
		while (clock_mono_ns() / 1000000 < wake)
			usleep(20 * 1000);
		if (s == outage_at)
			set_outage(d, "refuse");
		if (s == back_at)
			set_outage(d, "none");
		progress(d, api, key, s);
	}
	demo_traffic_join(t);
	demo_payouts_join(po);
}

/* Polls payd's books until `sql` counts nothing left (bounded). */
static void wait_none_left(struct demo *d, const char *sql, const char *what)
{
	for (int i = 0; i < DEMO_SETTLE_TIMEOUT_MS / 200; i++) {
		sqlite3 *db = open_books(d);
		long left = db ? sql_count(db, sql) : -1;
		sqlite3_close(db);
		if (left == 0)
			return;
		usleep(200 * 1000);
	}
	say(d, "payd demo: %s after %d s", what, DEMO_SETTLE_TIMEOUT_MS / 1000);
}

static void wait_settled(struct demo *d)
{
	say(d, "-- traffic over: waiting for the resolver to settle every unknown outcome");
	wait_none_left(d, SQL_UNSETTLED, "some operations are still unsettled");
}

/* Every webhook delivery done (the receiver refuses some: they are retried). */
static void wait_delivered(struct demo *d)
{
	wait_none_left(d, "SELECT count(*) FROM deliveries WHERE state = 0",
		       "some webhooks are still being delivered");
}

/* What payd's outbox says, and what the receiver took. */
static json_t *webhook_summary(struct demo *d, sqlite3 *db)
{
	struct demo_hook_counts got = demo_webhooks_counts(&d->hooks);
	long events = sql_count(db, "SELECT count(*) FROM events");
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "events", (json_int_t)events,
		"delivered",
		(json_int_t)sql_count(db, "SELECT count(*) FROM deliveries WHERE kind = 0 AND state = 1"),
		"attempts",
		(json_int_t)sql_count(db, "SELECT count(*) FROM delivery_attempts"),
		"refused_by_receiver", (json_int_t)got.refused, "max_delay_ms",
		(json_int_t)sql_count(db, "SELECT coalesce(max(done_ms - created_ms), 0) "
					  "FROM deliveries WHERE kind = 0 AND state = 1"),
		"received", (json_int_t)got.accepted_events, "bad_signatures",
		(json_int_t)got.bad_signatures, "lost", (json_int_t)(events - got.accepted_events));
}

static json_t *top_failure_codes(sqlite3 *db)
{
	/* Final failures only: not the attempts a payment failed over from. */
	static const char sql[] =
		"SELECT code, count(*) AS n FROM payment_attempts a WHERE status = 5 AND NOT EXISTS "
		"(SELECT 1 FROM payment_attempts b WHERE b.intent_id = a.intent_id "
		"AND b.seq = a.seq + 1 AND b.failover = 1) GROUP BY code ORDER BY n DESC, code LIMIT ?1";
	json_t *out = json_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_int(st, 1, DEMO_TOP_CODES);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int code = sqlite3_column_int(st, 0);
		const struct catalog_entry *e = catalog_get(code);
		json_array_append_new(out, json_pack("{s:i, s:s, s:I}", "code", code, "slug",
						     e ? e->slug : "?", "count",
						     (json_int_t)sqlite3_column_int64(st, 1)));
	}
	sqlite3_finalize(st);
	return out;
}

static json_t *summary(struct demo *d, const struct books_report *books)
{
	sqlite3 *db = open_books(d);
	if (!db)
		return NULL;
	long payments = sql_count(db, "SELECT count(*) FROM payment_intents WHERE attempt_count > 0");
	long succeeded = sql_count(db, "SELECT count(*) FROM payment_intents WHERE status = 5");
	json_t *s = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "payments", (json_int_t)payments,
		"succeeded", (json_int_t)succeeded, "success_rate_pct",
		(json_int_t)(payments ? succeeded * 100 / payments : 0), "failovers",
		(json_int_t)sql_count(db, SQL_FAILOVERS), "unknown_resolved",
		(json_int_t)sql_count(db, "SELECT count(*) FROM payment_attempts "
					  "WHERE next_check_ms > 0 AND status NOT IN (0, 2, 6)"),
		"refunds", (json_int_t)sql_count(db, "SELECT count(*) FROM refunds"),
		"top_failure_codes", top_failure_codes(db), "books", books_report_json(books));
	json_object_set_new(
		s, "payouts",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "paid",
			  (json_int_t)sql_count(db, "SELECT count(*) FROM payouts WHERE status = 2"),
			  "failed",
			  (json_int_t)sql_count(db, "SELECT count(*) FROM payouts WHERE status = 3"),
			  "returned",
			  (json_int_t)sql_count(db, "SELECT count(*) FROM payouts "
						    "WHERE failure_code = 605"),
			  "in_transit",
			  (json_int_t)sql_count(db, "SELECT count(*) FROM payouts WHERE status = 1"),
			  "overdue_alerts",
			  (json_int_t)sql_count(db, "SELECT count(*) FROM alerts "
						    "WHERE kind = 'payout_overdue'"),
			  "executed_twice", (json_int_t)books->payouts_executed_twice, "late_payout",
			  d->payouts.late_id));
	json_object_set_new(s, "webhooks", webhook_summary(d, db));
	sqlite3_close(db);
	return s;
}

static void print_summary(const struct demo *d, json_t *s)
{
	if (d->as_json) {
		json_dumpf(s, stdout, JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
		return;
	}
	json_t *b = json_object_get(s, "books");
	json_t *po = json_object_get(s, "payouts");
	printf("\npayd demo summary\n"
	       "  payments          %lld\n  succeeded         %lld (%lld%%)\n"
	       "  failovers         %lld\n  unknowns resolved %lld\n  refunds           %lld\n"
	       "  top failure codes",
	       json_integer_value(json_object_get(s, "payments")),
	       json_integer_value(json_object_get(s, "succeeded")),
	       json_integer_value(json_object_get(s, "success_rate_pct")),
	       json_integer_value(json_object_get(s, "failovers")),
	       json_integer_value(json_object_get(s, "unknown_resolved")),
	       json_integer_value(json_object_get(s, "refunds")));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(s, "top_failure_codes"), i, c)
		printf("%s %lld %s x%lld", i ? "," : "", json_integer_value(json_object_get(c, "code")),
		       json_string_value(json_object_get(c, "slug")),
		       json_integer_value(json_object_get(c, "count")));
	printf("\n  books vs payd-sim matched %lld, charged twice %lld, acknowledged but "
	       "missing %lld, charged but not completed %lld, ledger %s\n",
	       json_integer_value(json_object_get(b, "matched")),
	       json_integer_value(json_object_get(b, "charged_twice")),
	       json_integer_value(json_object_get(b, "missing")),
	       json_integer_value(json_object_get(b, "unmatched_charges")),
	       json_is_true(json_object_get(b, "ledger_balanced")) ? "balanced" : "UNBALANCED");
	printf("  payouts           paid %lld, failed %lld (returned %lld), in transit %lld, "
	       "overdue alerts %lld, executed twice %lld\n"
	       "  the late payout   %s (GET /v1/alerts shows its alert)\n",
	       json_integer_value(json_object_get(po, "paid")),
	       json_integer_value(json_object_get(po, "failed")),
	       json_integer_value(json_object_get(po, "returned")),
	       json_integer_value(json_object_get(po, "in_transit")),
	       json_integer_value(json_object_get(po, "overdue_alerts")),
	       json_integer_value(json_object_get(po, "executed_twice")),
	       json_string_value(json_object_get(po, "late_payout")));
	json_t *wh = json_object_get(s, "webhooks");
	printf("  webhooks          %lld events, %lld received by the demo's endpoint "
	       "(signatures checked, %lld bad), %lld attempts (%lld refused by the endpoint and "
	       "retried), slowest %lld ms, lost %lld\n",
	       json_integer_value(json_object_get(wh, "events")),
	       json_integer_value(json_object_get(wh, "received")),
	       json_integer_value(json_object_get(wh, "bad_signatures")),
	       json_integer_value(json_object_get(wh, "attempts")),
	       json_integer_value(json_object_get(wh, "refused_by_receiver")),
	       json_integer_value(json_object_get(wh, "max_delay_ms")),
	       json_integer_value(json_object_get(wh, "lost")));
	fflush(stdout);
}

static void serve_until_signal(struct demo *d, const char *api, const char *key)
{
	fprintf(stderr,
		"\npayd is serving at %s/v1 (payd-sim's admin: %s)\n"
		"Test secret key of merchant \"demo\":\n\n  export PAYD_KEY=%s\n\n"
		"A payment through the simulated acquirer, then a refund of part of it:\n\n"
		"  curl -s -u $PAYD_KEY: %s/v1/payment_intents -d amount=2000 -d currency=cny \\\n"
		"       -d confirm=true -d payment_method=pm_card_visa\n"
		"  curl -s -u $PAYD_KEY: %s/v1/refunds -d payment_intent=pi_... -d amount=500\n\n"
		"The channels and their health:  curl -s -u $PAYD_KEY: %s/v1/channels\n"
		"Files: %s.  Ctrl-C stops everything.\n",
		api, d->admin, key, api, api, api, d->dir);
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	int sig;
	sigwait(&signals, &sig);
}

static int run_demo(struct demo *d)
{
	json_t *ready = NULL;
	char config[PATH_MAX], api[DEMO_URL_MAX], key[DEMO_KEY_MAX];
	snprintf(d->db, sizeof d->db, "%s/payd.db", d->dir);
	if (start_sim(d, &ready) != 0 || write_config(d, ready, config, sizeof config) != 0 ||
	    create_key(d, key, sizeof key) != 0 || start_payd(d, config, api, sizeof api) != 0) {
		json_decref(ready);
		say(d, "payd demo: could not start (files in %s)", d->dir);
		return CMD_FAILED;
	}
	json_decref(ready);
	if (demo_webhooks_start(&d->hooks) != 0 || demo_webhooks_register(&d->hooks, api, key) != 0) {
		say(d, "payd demo: could not set up the webhook endpoint");
		demo_webhooks_stop(&d->hooks);
		return CMD_FAILED;
	}
	say(d, "payd demo: payd at %s, payd-sim at %s, webhooks to %s; %d s of traffic", api,
	    d->admin, d->hooks.url, d->duration_s);
	run_traffic(d, api, key);
	wait_settled(d);
	wait_delivered(d);
	struct books_report books;
	char err[512];
	int rc = books_check(d->db, d->admin, NULL, &books, err, sizeof err);
	if (rc != 0)
		say(d, "payd demo: books check failed: %s", err);
	json_t *s = rc == 0 ? summary(d, &books) : NULL;
	if (s)
		print_summary(d, s);
	json_t *wh = json_object_get(s, "webhooks");
	bool ok = rc == 0 && books_ok(&books) && wh &&
		  json_integer_value(json_object_get(wh, "lost")) == 0 &&
		  json_integer_value(json_object_get(wh, "bad_signatures")) == 0;
	json_decref(s);
	if (!d->exit_after && ok)
		serve_until_signal(d, api, key);
	demo_webhooks_stop(&d->hooks);
	return ok ? CMD_OK : CMD_FAILED;
}

static int locate(struct demo *d)
{
	ssize_t n = readlink("/proc/self/exe", d->self, sizeof d->self - 1);
	if (n <= 0)
		return -1;
	d->self[n] = '\0';
	char copy[PATH_MAX];
	snprintf(copy, sizeof copy, "%s", d->self);
	snprintf(d->sim_bin, sizeof d->sim_bin, "%s/payd-sim", dirname(copy));
	if (access(d->sim_bin, X_OK) != 0) {
		fprintf(stderr, "payd demo: %s not found (run make)\n", d->sim_bin);
		return -1;
	}
	return 0;
}

static int make_dir(struct demo *d, const char *dir)
{
	if (dir) {
		snprintf(d->dir, sizeof d->dir, "%s", dir);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return -1;
		char db[PATH_MAX];
		static const char *const old[] = {"payd.db", "payd.db-wal", "payd.db-shm",
						  "sim-ready.json"};
		for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
			path_in(d, old[i], db, sizeof db);
			unlink(db); /* a fresh demo each time */
		}
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/payd-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(d->dir) ? 0 : -1;
}

int cmd_demo(int argc, char **argv)
{
	static struct demo d;
	const char *dir = NULL;
	long duration = 60;
	d.listen = "127.0.0.1:8080";
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'}, {"dir", required_argument, NULL, 'd'},
		{"duration", required_argument, NULL, 't'}, {"exit", no_argument, NULL, 'x'},
		{"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		char *end;
		switch (opt) {
		case 'l': d.listen = optarg; break;
		case 'd': dir = optarg; break;
		case 't':
			duration = strtol(optarg, &end, 10);
			if (*end || duration < 4 || duration > DEMO_DURATION_MAX)
				duration = -1;
			break;
		case 'x': d.exit_after = true; break;
		case 'j': d.as_json = true; break;
		case 'h': cmd_demo_usage(stdout); return CMD_OK;
		default: cmd_demo_usage(stderr); return CMD_USAGE;
		}
	}
	if (optind < argc || duration < 0) {
		fprintf(stderr, "payd demo: --duration must be 4..%d seconds\n", DEMO_DURATION_MAX);
		cmd_demo_usage(stderr);
		return CMD_USAGE;
	}
	d.duration_s = (int)duration;
	if (locate(&d) != 0)
		return CMD_FAILED;
	if (make_dir(&d, dir) != 0) {
		fprintf(stderr, "payd demo: cannot make the directory %s\n", dir ? dir : d.dir);
		return CMD_FAILED;
	}
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL); /* taken by sigwait at the end */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = run_demo(&d);
	stop_child(&d.payd_pid);
	stop_child(&d.sim_pid);
	curl_global_cleanup();
	return rc;
}
