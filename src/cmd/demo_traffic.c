/* cmd/demo_traffic: the demo's payments.  A few worker threads each make
 * payments in a loop until the deadline, the way a shop's checkout would:
 * mostly Stripe's test Visa, some test cards that decline, Alipay and
 * WeChat Pay, and now and then a partial refund of a payment that
 * succeeded.  Each payment has its own Idempotency-Key. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/rng.h"
#include "cmd/cmd.h"
#include "cmd/demo.h"

#define DEMO_BODY_MAX (1024 * 1024)

long demo_http(const char *url, const char *key, const char *body, bool json_body, char **out)
{
	struct cmd_http_req req = {.url = url, .key = key, .body = body, .json_body = json_body,
				   .max_body = DEMO_BODY_MAX};
	return cmd_http(&req, out);
}

/* What a checkout sends: weights out of 100. */
static const struct demo_method {
	int weight;
	const char *params;
} demo_methods[] = {
	{58, "payment_method=pm_card_visa"},
	{8, "payment_method=pm_card_mastercard"},
	{4, "payment_method=pm_card_chargeDeclinedInsufficientFunds"},
	{2, "payment_method=pm_card_chargeDeclined"},
	{2, "payment_method=pm_card_chargeDeclinedExpiredCard"},
	{1, "payment_method=pm_card_chargeDeclinedLostCard"},
	{13, "payment_method_data[type]=alipay"},
	{12, "payment_method_data[type]=wechat_pay"},
};

static const char *pick_method(struct rng *r)
{
	int roll = (int)(rng_next(r) % 100), sum = 0;
	for (size_t i = 0; i < sizeof demo_methods / sizeof demo_methods[0]; i++) {
		sum += demo_methods[i].weight;
		if (roll < sum)
			return demo_methods[i].params;
	}
	return demo_methods[0].params;
}

static void count(struct demo_traffic *t, long status, const char *pi_status, bool refunded)
{
	pthread_mutex_lock(&t->lock);
	t->counts.payments++;
	if (status == 200 && pi_status && strcmp(pi_status, "succeeded") == 0)
		t->counts.succeeded++;
	else if (status == 200)
		t->counts.processing++;
	else if (status == 402)
		t->counts.declined++;
	else
		t->counts.errors++;
	if (refunded)
		t->counts.refunds++;
	pthread_mutex_unlock(&t->lock);
}

static void one_payment(struct demo_traffic *t, struct rng *r, long n)
{
	const char *currency = rng_next(r) % 3 ? "cny" : "usd";
	long amount = 500 + (long)(rng_next(r) % 50000);
	char url[DEMO_URL_MAX + 64], body[512], *answer = NULL;
	snprintf(url, sizeof url, "%s/v1/payment_intents", t->api);
	snprintf(body, sizeof body, "amount=%ld&currency=%s&confirm=true&%s&metadata[order]=demo-%ld",
		 amount, currency, pick_method(r), n);
	long status = demo_http(url, t->key, body, false, &answer);
	json_t *pi = answer ? json_loads(answer, 0, NULL) : NULL;
	const char *pi_status = json_string_value(json_object_get(pi, "status"));
	bool refunded = false;
	if (status == 200 && pi_status && strcmp(pi_status, "succeeded") == 0 && rng_next(r) % 10 == 0) {
		char *refund = NULL;
		snprintf(url, sizeof url, "%s/v1/refunds", t->api);
		snprintf(body, sizeof body, "payment_intent=%s&amount=%ld",
			 json_string_value(json_object_get(pi, "id")), amount / 2);
		refunded = demo_http(url, t->key, body, false, &refund) == 200;
		free(refund);
	}
	count(t, status, pi_status, refunded);
	json_decref(pi);
	free(answer);
}

static void *worker(void *arg)
{
	struct demo_traffic *t = arg;
	struct rng r;
	rng_seed_os(&r);
	struct timespec pause = {.tv_sec = t->pause_ms / 1000,
				 .tv_nsec = (long)(t->pause_ms % 1000) * 1000000};
	for (long n = 0; clock_mono_ns() / 1000000 < t->until_ms; n++) {
		one_payment(t, &r, n);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

int demo_traffic_start(struct demo_traffic *t)
{
	pthread_mutex_init(&t->lock, NULL);
	for (t->started = 0; t->started < DEMO_WORKERS; t->started++)
		if (pthread_create(&t->threads[t->started], NULL, worker, t) != 0)
			return -1;
	return 0;
}

void demo_traffic_join(struct demo_traffic *t)
{
	for (int i = 0; i < t->started; i++)
		pthread_join(t->threads[i], NULL);
	pthread_mutex_destroy(&t->lock);
}

struct demo_counts demo_traffic_counts(struct demo_traffic *t)
{
	pthread_mutex_lock(&t->lock);
	struct demo_counts c = t->counts;
	pthread_mutex_unlock(&t->lock);
	return c;
}
