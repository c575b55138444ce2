/* base/clock: the one way payd reads the time.  Code that needs "now" takes
 * a struct payd_clock so tests and simulations can substitute a manual
 * clock and run deterministically. */
#ifndef PAYD_BASE_CLOCK_H
#define PAYD_BASE_CLOCK_H

#include <stdint.h>

struct payd_clock {
	int64_t (*now_ms)(void *ctx); /* milliseconds since the Unix epoch */
	void *ctx;
};

/* The real wall clock (CLOCK_REALTIME). */
extern const struct payd_clock clock_system;

/* A manual clock for tests: it moves only when told to. */
struct clock_manual {
	struct payd_clock clock; /* pass &m.clock wherever a clock is wanted */
	int64_t now_ms;
};
void clock_manual_init(struct clock_manual *m, int64_t start_ms);
void clock_manual_advance(struct clock_manual *m, int64_t delta_ms);

static inline int64_t clock_now_ms(const struct payd_clock *c)
{
	return c->now_ms(c->ctx);
}

/* Monotonic nanoseconds, for measuring latency only (never stored). */
int64_t clock_mono_ns(void);

#endif
