/* sim/runtime: the small shared services of the running simulator (sim.h):
 * an interruptible sleep, so SIGTERM never waits out a 15 s slow answer,
 * and the per-channel statistics counters. */
#include <errno.h>
#include <time.h>

#include "sim.h"

#define NS_PER_MS 1000000L
#define NS_PER_S 1000000000L

void sim_sleep_ms(struct sim *s, int ms)
{
	if (ms <= 0)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * NS_PER_MS;
	if (until.tv_nsec >= NS_PER_S) {
		until.tv_sec++;
		until.tv_nsec -= NS_PER_S;
	}
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	while (!s->stopping && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->wake, &s->lock, &until);
	pthread_mutex_unlock(&s->lock);
}

void sim_stats_bump(json_t *counts, const char *key)
{
	json_t *v = json_object_get(counts, key);
	if (v)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(counts, key, json_integer(1));
}

void sim_stats_count(struct sim_channel *ch, const char *path, const char *answer, bool bad_sig)
{
	pthread_mutex_lock(&ch->sim->lock);
	if (path)
		sim_stats_bump(ch->stats.requests, path);
	if (answer)
		sim_stats_bump(ch->stats.answers, answer);
	if (bad_sig)
		ch->stats.signature_failures++;
	pthread_mutex_unlock(&ch->sim->lock);
}
