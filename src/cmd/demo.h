/* cmd/demo: what `payd demo`'s two files share.  demo.c runs the show
 * (payd-sim and payd as child processes, the outage, the summary, the
 * books check, then serving until Ctrl-C); demo_traffic.c drives the
 * payments (worker threads over libcurl) and counts what they saw;
 * demo_payouts.c pays out; demo_webhooks.c receives the webhooks. */
#ifndef PAYD_CMD_DEMO_H
#define PAYD_CMD_DEMO_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/rng.h"

#define DEMO_WORKERS 6
#define DEMO_URL_MAX 256
#define DEMO_KEY_MAX 128

struct demo_counts {
	long payments, succeeded, declined, processing, errors, refunds;
};

struct demo_traffic {
	char api[DEMO_URL_MAX]; /* http://127.0.0.1:PORT */
	char key[DEMO_KEY_MAX];
	int64_t until_ms;       /* monotonic: workers stop then */
	int pause_ms;           /* each worker's pause between payments */
	pthread_mutex_t lock;
	struct demo_counts counts;
	pthread_t threads[DEMO_WORKERS];
	int started;
};

/* demo_payouts.c: one thread of payouts (and the late one). */
struct demo_payouts {
	char api[DEMO_URL_MAX], key[DEMO_KEY_MAX], admin[DEMO_URL_MAX];
	int64_t until_ms; /* monotonic */
	pthread_t thread;
	bool started;
	long made, refused;   /* read after the join */
	char late_id[64];     /* the payout left in transit on purpose */
};
int demo_payouts_start(struct demo_payouts *p);
void demo_payouts_join(struct demo_payouts *p);

/* demo_webhooks.c: a webhook endpoint on loopback that refuses a fifth
 * of the deliveries, checks every signature and keeps the events it took. */
struct demo_webhooks {
	struct MHD_Daemon *daemon;
	char url[DEMO_URL_MAX];
	char secret[64];
	pthread_mutex_t lock;
	struct rng rng;
	long refused, bad_signatures;
	json_t *accepted; /* event id -> true */
};
struct demo_hook_counts {
	long refused, bad_signatures, accepted_events;
};
int demo_webhooks_start(struct demo_webhooks *w);
/* Registers the receiver with payd (every event type) and keeps its secret. */
int demo_webhooks_register(struct demo_webhooks *w, const char *api, const char *key);
struct demo_hook_counts demo_webhooks_counts(struct demo_webhooks *w);
void demo_webhooks_stop(struct demo_webhooks *w);

/* Starts the workers; they stop by themselves at until_ms. */
int demo_traffic_start(struct demo_traffic *t);
void demo_traffic_join(struct demo_traffic *t);
struct demo_counts demo_traffic_counts(struct demo_traffic *t);

/* An HTTP exchange for the demo (libcurl easy): body NULL for GET, else a
 * form (POST) or JSON (json_body).  Returns the status (0: no answer) and
 * the answer in *out (heap, NUL-terminated, may be NULL). */
long demo_http(const char *url, const char *key, const char *body, bool json_body, char **out);

#endif
