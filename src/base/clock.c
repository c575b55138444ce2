/* base/clock: the system clock, a manual clock for tests, monotonic time. */
#include "base/clock.h"

#include <time.h>

static int64_t system_now_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct payd_clock clock_system = {system_now_ms, NULL};

static int64_t manual_now_ms(void *ctx)
{
	return ((struct clock_manual *)ctx)->now_ms;
}

void clock_manual_init(struct clock_manual *m, int64_t start_ms)
{
	m->clock.now_ms = manual_now_ms;
	m->clock.ctx = m;
	m->now_ms = start_ms;
}

void clock_manual_advance(struct clock_manual *m, int64_t delta_ms)
{
	m->now_ms += delta_ms;
}

int64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
