/* sim/bank: the life of a bank channel's payouts after acceptance
 * (docs/SIM_PROTOCOL.md, "Bank payout rails"): a bounded queue of timers
 * (in transit, fate, return) and a bounded queue of signed callbacks, both
 * served by one worker thread.  Functions marked "lock" expect the
 * simulator's lock held by the caller. */
#ifndef PAYD_SIM_BANK_H
#define PAYD_SIM_BANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payouts.h"
#include "sim.h"

#define SIM_TIMERS_MAX 65536          /* timers pending, all bank channels */
#define SIM_CALLBACKS_MAX 4096        /* callbacks waiting to be sent */
#define SIM_CALLBACK_TIMEOUT_MS 5000  /* one delivery, then given up (no retry) */
#define SIM_PAYOUT_TIMERS 2           /* in transit + fate (the return replaces the fate) */

enum sim_timer_kind { SIM_TIMER_TRANSIT, SIM_TIMER_FATE, SIM_TIMER_RETURN };

/* Starts the worker (before any channel); false when it cannot. */
bool sim_bank_start(struct sim *s);
/* After s->stopping is set: wakes the worker and waits for it to end;
 * callbacks not yet sent are abandoned, one in flight is cut short. */
void sim_bank_stop(struct sim *s);
/* Frees the queues, once no channel daemon runs any more. */
void sim_bank_free(struct sim *s);

/* lock: whether n more timers fit. */
bool sim_bank_has_room(const struct sim *s, size_t n);
/* lock: p's (current execution's) kind event at due_ms (real time); needs room. */
void sim_bank_schedule(struct sim_channel *ch, struct sim_payout *p, enum sim_timer_kind kind,
		       int64_t due_ms);
/* lock: every stuck payout of ch takes `fate`; those whose fate time has
 * passed reach it now, the others when it comes. */
void sim_bank_release_stuck(struct sim_channel *ch, struct sim_fate fate, int64_t now_ms);

#endif
