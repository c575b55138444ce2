/* cmd/demo_payouts: the demo's payouts.  Once payments have brought money
 * in (a few seconds), it points the bank rails' callbacks at payd, sends
 * one payout the primary rail will leave stuck in transit (the late one:
 * payd raises `payout.overdue` and an alert, and escalates it), then pays
 * out to a handful of test accounts until the traffic ends. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/rng.h"
#include "cmd/demo.h"

#define DEMO_PAYOUT_START_MS 3000  /* let payments bring money in first */
#define DEMO_PAYOUT_PAUSE_MS 600

/* Test accounts (CN bank cards: Luhn-valid, not real). */
static const char *const demo_accounts[] = {"6222020200112233446", "6228480012345678903",
					    "6217009988776655442", "6236681122334455666"};

static const char demo_bank_a_mix[] =
	"{\"payout_outcomes\":{\"paid\":90,\"failed:AC01\":3,\"failed:AC04\":2,"
	"\"returned:AC04\":3,\"failed:AG01\":2}}";

static void admin(const struct demo_payouts *p, const char *channel, const char *json)
{
	char url[DEMO_URL_MAX + 64], *answer = NULL;
	snprintf(url, sizeof url, "%s/admin/channels/%s", p->admin, channel);
	demo_http(url, NULL, json, true, &answer);
	free(answer);
}

/* One payout; its id into id_out (when not NULL) if it was taken. */
static bool one_payout(struct demo_payouts *p, struct rng *r, long amount, char *id_out,
		       size_t cap)
{
	char url[DEMO_URL_MAX + 32], body[512], *answer = NULL;
	snprintf(url, sizeof url, "%s/v1/payouts", p->api);
	snprintf(body, sizeof body,
		 "amount=%ld&currency=cny&bank_account[account_number]=%s"
		 "&bank_account[account_holder_name]=Demo Recipient&bank_account[country]=CN"
		 "&bank_account[bank_code]=ICBKCNBJ&description=demo payout",
		 amount, demo_accounts[rng_next(r) % 4]);
	long status = demo_http(url, p->key, body, false, &answer);
	json_t *po = answer ? json_loads(answer, 0, NULL) : NULL;
	if (status == 200 && id_out)
		snprintf(id_out, cap, "%s", json_string_value(json_object_get(po, "id")));
	json_decref(po);
	free(answer);
	return status == 200;
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void *payout_worker(void *arg)
{
	struct demo_payouts *p = arg;
	struct rng r;
	rng_seed_os(&r);
	pause_ms(DEMO_PAYOUT_START_MS);
	char cb[DEMO_URL_MAX + 64];
	snprintf(cb, sizeof cb, "{\"callback_url\":\"%s/v1/channel_callbacks/bank_a\"}", p->api);
	admin(p, "bank_a", cb);
	snprintf(cb, sizeof cb, "{\"callback_url\":\"%s/v1/channel_callbacks/bank_b\"}", p->api);
	admin(p, "bank_b", cb);
	admin(p, "bank_a", "{\"payout_outcomes\":{\"stuck\":1}}");
	one_payout(p, &r, 8800, p->late_id, sizeof p->late_id);
	admin(p, "bank_a", demo_bank_a_mix);
	while (clock_mono_ns() / 1000000 < p->until_ms) {
		bool ok = one_payout(p, &r, 1000 + (long)(rng_next(&r) % 49000), NULL, 0);
		p->made += ok;
		p->refused += !ok;
		pause_ms(DEMO_PAYOUT_PAUSE_MS);
	}
	return NULL;
}

int demo_payouts_start(struct demo_payouts *p)
{
	p->started = pthread_create(&p->thread, NULL, payout_worker, p) == 0;
	return p->started ? 0 : -1;
}

void demo_payouts_join(struct demo_payouts *p)
{
	if (p->started)
		pthread_join(p->thread, NULL);
	p->started = false;
}
