/* base/id: object ids in Stripe's style, a type prefix and 24 characters:
 * "pi_" + 9 base-62 characters of creation time (ms) + 15 of sequence and
 * randomness.  The base-62 alphabet is in ASCII order, so ids of one
 * generator sort by creation time, and strictly increase even within a
 * millisecond (the sequence part counts up). */
#ifndef PAYD_BASE_ID_H
#define PAYD_BASE_ID_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/rng.h"

#define ID_BODY_LEN 24
#define ID_PREFIX_MAX 6
/* Longest id with its NUL: prefix, '_', body. */
#define ID_MAX (ID_PREFIX_MAX + 1 + ID_BODY_LEN + 1)

/* Prefixes payd uses (each at most ID_PREFIX_MAX lower-case letters). */
#define ID_PAYMENT_INTENT "pi"
#define ID_REFUND "re"
#define ID_PAYOUT "po"
#define ID_EVENT "evt"
#define ID_MERCHANT "acct"
#define ID_API_KEY "key"
#define ID_TRANSFER "tr"
#define ID_ATTEMPT "ch"
#define ID_PAYMENT_METHOD "pm"
#define ID_RECIPIENT "rcp"
#define ID_ALERT "al"
#define ID_WEBHOOK_ENDPOINT "we"
#define ID_PAYOUT_ATTEMPT "pa" /* a payout's try at its rail: the rail's reference */

struct id_gen {
	pthread_mutex_t lock;
	const struct payd_clock *clock;
	struct rng rng;
	int64_t last_ms;
	uint64_t last_seq;
};

void id_gen_init(struct id_gen *g, const struct payd_clock *clock, uint64_t seed);
void id_gen_destroy(struct id_gen *g);
/* Writes prefix_BODY into out[ID_MAX].  The prefix is 1..ID_PREFIX_MAX
 * lower-case letters. */
void id_new(struct id_gen *g, const char *prefix, char out[ID_MAX]);
/* True when text is prefix_ followed by a well-formed body. */
bool id_valid(const char *text, const char *prefix);
/* The creation time encoded in a valid id, in ms. */
int64_t id_time_ms(const char *id);

#endif
