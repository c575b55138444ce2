/* sim/sim: the running simulator's state, shared by its parts.  One lock
 * (`lock`) guards every channel's settings, books and statistics and the
 * random generator; `admin_lock` serialises the admin changes that start
 * and stop a channel's daemon.  Handlers copy what they need under the lock
 * and never sleep holding it. */
#ifndef PAYD_SIM_SIM_H
#define PAYD_SIM_SIM_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/rng.h"
#include "books.h"
#include "scenario.h"

#define SIM_HOST_MAX 63

struct sim_stats {
	json_t *requests;          /* path -> count */
	json_t *answers;           /* raw code or "http_<status>" -> count */
	int64_t signature_failures;
	/* a bank's callbacks: POSTs made, events not sent, events sent twice,
	 * in_transit events held back, events refused by a full queue */
	int64_t cb_sent, cb_dropped, cb_duplicated, cb_held_back, cb_overflow;
	json_t *cb_answers;        /* "http_<status>" or "no_answer" -> count */
};

struct sim_channel {
	struct sim *sim;
	struct sim_channel_cfg cfg; /* under sim->lock */
	struct sim_books books;     /* under sim->lock */
	struct sim_stats stats;     /* under sim->lock */
	struct MHD_Daemon *daemon;  /* under sim->admin_lock; NULL while refusing */
	uint16_t port;              /* the port bound at start, kept across outages */
};

struct sim_bank; /* bank.h: the payouts' timers and callback sender */

struct sim {
	pthread_mutex_t lock;
	pthread_mutex_t admin_lock;
	pthread_cond_t wake; /* broadcast when stopping */
	bool stopping;       /* under lock */
	struct rng rng;      /* under lock */
	char host[SIM_HOST_MAX + 1];
	struct sim_channel channels[SIM_CHANNELS_MAX];
	size_t n_channels;
	uint64_t seed;
	struct MHD_Daemon *admin;
	uint16_t admin_port;
	struct sim_bank *bank;
};

/* Sleeps up to ms, returning early when the simulator stops. */
void sim_sleep_ms(struct sim *s, int ms);
/* Counts one request and its answer in the channel's stats (takes lock). */
void sim_stats_count(struct sim_channel *ch, const char *path, const char *answer, bool bad_sig);
/* counts[key] += 1 (the caller holds the lock). */
void sim_stats_bump(json_t *counts, const char *key);

/* channel_http.c: starts the channel's daemon on ch->port (0: a free one,
 * then remembered), or stops it so that connections are refused. */
bool sim_channel_start(struct sim_channel *ch);
void sim_channel_stop(struct sim_channel *ch);

/* admin.c: the admin daemon on s->host:port. */
bool sim_admin_start(struct sim *s, uint16_t port);

#endif
