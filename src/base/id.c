/* base/id: time-ordered, prefixed object ids (see id.h).  Body layout:
 *   [0..9)   creation time in ms, base 62, zero-padded
 *   [9..20)  a 64-bit sequence, base 62: random at each new millisecond,
 *            +1 for each further id in the same millisecond
 *   [20..24) random, so ids of different processes rarely collide */
#include "base/id.h"

#include <string.h>

#define TIME_DIGITS 9
#define SEQ_DIGITS 11
#define RAND_DIGITS 4

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void id_gen_init(struct id_gen *g, const struct payd_clock *clock, uint64_t seed)
{
	pthread_mutex_init(&g->lock, NULL);
	g->clock = clock;
	rng_seed(&g->rng, seed);
	g->last_ms = 0;
	g->last_seq = 0;
}

void id_gen_destroy(struct id_gen *g)
{
	pthread_mutex_destroy(&g->lock);
}

static void put_base62(char *out, int width, uint64_t value)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = base62[value % 62];
		value /= 62;
	}
}

static int base62_value(char c)
{
	const char *hit = (c != '\0') ? strchr(base62, c) : NULL;
	return hit ? (int)(hit - base62) : -1;
}

void id_new(struct id_gen *g, const char *prefix, char out[ID_MAX])
{
	pthread_mutex_lock(&g->lock);
	int64_t now = clock_now_ms(g->clock);
	if (now <= g->last_ms) {
		/* Same millisecond, or the clock stepped back: stay on the last
		 * time and count up so ids keep increasing. */
		g->last_seq++;
	} else {
		g->last_ms = now;
		g->last_seq = rng_next(&g->rng) >> 2; /* room to count up */
	}
	uint64_t ms = (uint64_t)g->last_ms, seq = g->last_seq;
	uint64_t random = rng_below(&g->rng, 62ull * 62 * 62 * 62);
	pthread_mutex_unlock(&g->lock);

	size_t plen = strnlen(prefix, ID_PREFIX_MAX);
	memcpy(out, prefix, plen);
	out[plen] = '_';
	char *body = out + plen + 1;
	put_base62(body, TIME_DIGITS, ms);
	put_base62(body + TIME_DIGITS, SEQ_DIGITS, seq);
	put_base62(body + TIME_DIGITS + SEQ_DIGITS, RAND_DIGITS, random);
	body[ID_BODY_LEN] = '\0';
}

bool id_valid(const char *text, const char *prefix)
{
	size_t plen = strlen(prefix);
	if (!text || strncmp(text, prefix, plen) != 0 || text[plen] != '_')
		return false;
	const char *body = text + plen + 1;
	for (int i = 0; i < ID_BODY_LEN; i++)
		if (base62_value(body[i]) < 0)
			return false;
	return body[ID_BODY_LEN] == '\0';
}

int64_t id_time_ms(const char *id)
{
	const char *body = strchr(id, '_');
	if (!body)
		return -1;
	body++;
	int64_t ms = 0;
	for (int i = 0; i < TIME_DIGITS; i++) {
		int v = base62_value(body[i]);
		if (v < 0)
			return -1;
		ms = ms * 62 + v;
	}
	return ms;
}
