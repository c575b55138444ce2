/* tests/e2e_raw/test_shutdown: a clean stop loses nothing acknowledged
 * (issue 3 item 1, DESIGN.md promise 4).
 *
 * A few threads fire create+confirm requests (each with its own
 * Idempotency-Key); once some have been answered, the server gets SIGTERM
 * while others are in flight.  It must exit 0, every request must have
 * been answered 200, refused with a catalog error (503 shutting_down) or
 * refused at the socket, and after a restart on the same database every
 * payment that was answered 200 is there, succeeded, with its amount; a
 * retry with the same key replays it, and no payment exists twice. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define THREADS 4
#define PER_THREAD 5
#define TOTAL (THREADS * PER_THREAD)
#define ANSWERED_BEFORE_SIGTERM 3
#define WAIT_MAX_MS 20000
#define POLL_MS 2

struct call {
	char idem[64];
	char form[160];
	long amount;
	long status;
	int curl_code;
	char id[128];
	char body_head[300];
};

static struct call calls[TOTAL];
static atomic_int answered_200;
static char base_url[H_URL_MAX];

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct call *c = &calls[t * PER_THREAD + i];
		struct http_req req = {.method = "POST", .path = "/v1/payment_intents", .body = c->form,
				       .auth = AUTH_BEARER, .key = H.key_a, .idem_key = c->idem};
		struct http_resp r;
		http_do(base_url, &req, &r);
		c->status = r.status;
		c->curl_code = r.curl_code;
		snprintf(c->body_head, sizeof c->body_head, "%s", r.body);
		const char *id = jpath_str(r.json, "id");
		if (r.status == 200 && id) {
			snprintf(c->id, sizeof c->id, "%s", id);
			atomic_fetch_add(&answered_200, 1);
		}
		http_resp_free(&r);
	}
	return NULL;
}

static bool enough_answered(void *ctx)
{
	(void)ctx;
	return atomic_load(&answered_200) >= ANSWERED_BEFORE_SIGTERM;
}

Test(shutdown, acknowledged_payments_survive_sigterm, .init = harness_setup,
     .fini = harness_teardown, .timeout = 120)
{
	for (int i = 0; i < TOTAL; i++) {
		struct call *c = &calls[i];
		c->amount = 1000 + i;
		snprintf(c->idem, sizeof c->idem, "shutdown-%d", i);
		snprintf(c->form, sizeof c->form,
			 "amount=%ld&currency=usd&confirm=true&payment_method=pm_card_visa"
			 "&metadata[n]=%d",
			 c->amount, i);
	}
	snprintf(base_url, sizeof base_url, "%s", H.url);
	pthread_t threads[THREADS];
	for (long t = 0; t < THREADS; t++)
		cr_assert(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
	bool ok = poll_until(enough_answered, NULL, WAIT_MAX_MS, POLL_MS);
	/* SIGTERM with the other threads' requests in flight. */
	int status = payd_stop(&H);
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	cr_assert(ok, "fewer than %d payments were answered before SIGTERM", ANSWERED_BEFORE_SIGTERM);
	cr_assert(status != -2, "payd did not stop within %d ms of SIGTERM", H_STOP_TIMEOUT_MS);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "payd did not exit cleanly on SIGTERM (wait status %d): %s", status,
		  payd_log_excerpt(&H));

	int ok_count = 0, refused = 0, unreachable = 0;
	for (int i = 0; i < TOTAL; i++) {
		struct call *c = &calls[i];
		if (c->status == 200) {
			cr_assert(c->id[0], "request %d: 200 without an id", i);
			ok_count++;
		} else if (c->status == 0) {
			unreachable++; /* refused or cut at the socket: never acknowledged */
		} else {
			/* Refused while stopping: a catalog error, not a crash. */
			cr_assert(c->status == 503, "request %d during shutdown: HTTP %ld: %s", i,
				  c->status, c->body_head);
			cr_assert(strstr(c->body_head, "\"payd_code\":50") != NULL,
				  "request %d: 503 without a 5xx catalog code: %s", i, c->body_head);
			refused++;
		}
	}
	cr_log_info("shutdown: %d answered 200, %d refused with 503, %d unreachable", ok_count,
		    refused, unreachable);

	/* Restart on the same database. */
	payd_serve(&H);
	long expected_balance = 0;
	for (int i = 0; i < TOTAL; i++) {
		struct call *c = &calls[i];
		if (c->status != 200)
			continue;
		char path[256];
		snprintf(path, sizeof path, "/v1/payment_intents/%s", c->id);
		struct http_resp r;
		h_get(H.key_a, path, &r);
		cr_assert_eq(r.status, 200, "acknowledged payment %s is lost after restart: HTTP %ld: %s",
			     c->id, r.status, r.body);
		cr_assert_str_eq(jpath_str(r.json, "status"), "succeeded", "%s after restart", c->id);
		cr_assert_eq(json_integer_value(jpath(r.json, "amount_received")), c->amount);
		http_resp_free(&r);
	}
	/* Every request retried with its key: the acknowledged ones replay,
	 * the others run (or answer what they had committed). */
	for (int i = 0; i < TOTAL; i++) {
		struct call *c = &calls[i];
		struct http_req req = {.method = "POST", .path = "/v1/payment_intents", .body = c->form,
				       .auth = AUTH_BEARER, .key = H.key_a, .idem_key = c->idem};
		struct http_resp r;
		http_do(H.url, &req, &r);
		cr_assert_eq(r.status, 200, "retry %d after restart: HTTP %ld: %s", i, r.status, r.body);
		if (c->status == 200)
			cr_assert_str_eq(jpath_str(r.json, "id"), c->id,
					 "retry %d with the same key is another payment", i);
		const char *st = jpath_str(r.json, "status");
		cr_assert(st && strcmp(st, "succeeded") == 0, "retry %d: status %s", i, st);
		expected_balance += c->amount;
		http_resp_free(&r);
	}
	/* One payment per key, no more, and the books agree. */
	json_t *ids = list_all_ids(H.key_a, "/v1/payment_intents");
	cr_assert_eq(json_array_size(ids), TOTAL, "%zu payments for %d keys", json_array_size(ids),
		     TOTAL);
	json_decref(ids);
	struct http_resp bal;
	h_get(H.key_a, "/v1/balance", &bal);
	cr_assert_eq(bal.status, 200);
	long available = -1;
	size_t i;
	json_t *e;
	json_array_foreach(jpath(bal.json, "available"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "currency")), "usd") == 0)
			available = (long)json_integer_value(json_object_get(e, "amount"));
	}
	cr_assert_eq(available, expected_balance, "available usd %ld, payments sum to %ld: %s",
		     available, expected_balance, bal.body);
	http_resp_free(&bal);
}
