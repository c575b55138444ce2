/* sim/bank_worker: see bank.h.  One thread runs a min-heap of timers
 * (ordered by due time, then by the order they were set, so a payout's
 * in-transit event always comes before its fate when both fall due at
 * once) and sends callbacks one at a time, in the order the events
 * happened, through a libcurl multi handle: curl_multi_poll waits for the
 * next timer or the socket, and curl_multi_wakeup (from any thread) ends
 * the wait when a timer is set or the simulator stops.  Callback draws
 * (drop, duplicate, late) come from a generator of their own, so bank
 * events never shift the answers a seed replays. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "base/clock.h"
#include "channel.h"
#include "signature.h"

#define IDLE_WAIT_MS 1000 /* longest poll: the stop flag is seen at least this often */
#define HEAP_INITIAL_CAP 256
#define CB_RNG_SALT 0x62616e6b63627331ULL /* "bankcbs1": the callbacks' generator */
#define CB_ID_MAX 80

struct timer {
	int64_t due_ms;
	uint64_t seq;
	struct sim_channel *ch;
	struct sim_payout *p;
	uint32_t execution; /* p->executions when set: a later execution voids it */
	enum sim_timer_kind kind;
};

struct delivery {
	struct delivery *next;
	struct sim_channel *ch;
	char *body;
	char url[SIM_URL_MAX + 1];
	char secret[SIM_SECRET_MAX + 1];
};

struct sim_bank {
	struct sim *sim;
	pthread_t thread;
	bool running;
	CURLM *multi;
	char run[24]; /* this process's start, in callback ids */
	/* under sim->lock */
	struct rng rng;
	struct timer *heap;
	size_t n, cap;
	uint64_t seq, events;
	struct delivery *head, *tail;
	size_t queued;
	/* the worker thread's own */
	CURL *easy;
	struct curl_slist *headers;
	struct delivery *inflight;
};

static int64_t now_ms(void)
{
	return clock_now_ms(&clock_system);
}

/* ---- the timer heap (lock) ---------------------------------------------- */

static bool before(const struct timer *a, const struct timer *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void swap(struct timer *a, struct timer *b)
{
	struct timer t = *a;
	*a = *b;
	*b = t;
}

static bool heap_push(struct sim_bank *bk, struct timer t)
{
	if (bk->n >= SIM_TIMERS_MAX)
		return false;
	if (bk->n == bk->cap) {
		size_t cap = bk->cap ? bk->cap * 2 : HEAP_INITIAL_CAP;
		struct timer *h = realloc(bk->heap, cap * sizeof *h);
		if (!h)
			return false;
		bk->heap = h;
		bk->cap = cap;
	}
	t.seq = ++bk->seq;
	size_t i = bk->n++;
	bk->heap[i] = t;
	while (i > 0 && before(&bk->heap[i], &bk->heap[(i - 1) / 2])) {
		swap(&bk->heap[i], &bk->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return true;
}

static struct timer heap_pop(struct sim_bank *bk)
{
	struct timer top = bk->heap[0];
	bk->heap[0] = bk->heap[--bk->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < bk->n && before(&bk->heap[l], &bk->heap[m]))
			m = l;
		if (r < bk->n && before(&bk->heap[r], &bk->heap[m]))
			m = r;
		if (m == i)
			break;
		swap(&bk->heap[i], &bk->heap[m]);
		i = m;
	}
	return top;
}

bool sim_bank_has_room(const struct sim *s, size_t n)
{
	return s->bank && s->bank->n + n <= SIM_TIMERS_MAX;
}

void sim_bank_schedule(struct sim_channel *ch, struct sim_payout *p, enum sim_timer_kind kind,
		       int64_t due_ms)
{
	struct sim_bank *bk = ch->sim->bank;
	struct timer t = {.due_ms = due_ms, .ch = ch, .p = p, .execution = p->executions,
			  .kind = kind};
	if (heap_push(bk, t))
		curl_multi_wakeup(bk->multi);
}

/* ---- callbacks (lock) ----------------------------------------------------- */

/* Queues copies (1 or 2) of body (taken) for ch's callback_url. */
static void enqueue(struct sim_bank *bk, struct sim_channel *ch, char *body, int copies)
{
	for (int i = 0; i < copies; i++) {
		struct delivery *d = bk->queued < SIM_CALLBACKS_MAX ? calloc(1, sizeof *d) : NULL;
		char *text = i + 1 == copies ? body : strdup(body);
		if (!d || !text) {
			ch->stats.cb_overflow++;
			free(d);
			if (text != body)
				free(text);
			continue;
		}
		d->ch = ch;
		d->body = text;
		snprintf(d->url, sizeof d->url, "%s", ch->cfg.callback_url);
		snprintf(d->secret, sizeof d->secret, "%s", ch->cfg.secret);
		*(bk->tail ? &bk->tail->next : &bk->head) = d;
		bk->tail = d;
		bk->queued++;
	}
}

static char *event_body(struct sim_bank *bk, struct sim_channel *ch, const struct sim_payout *p,
			int64_t at_ms)
{
	char id[CB_ID_MAX];
	snprintf(id, sizeof id, "cb_%s_%s_%06llu", ch->cfg.name, bk->run,
		 (unsigned long long)++bk->events);
	json_t *ev = sim_payout_event(p, id, at_ms);
	char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	return body;
}

/* The callback of p's new state: dropped, held back (an in_transit one),
 * queued once or twice; then a held-back in_transit goes after it. */
static void emit(struct sim_bank *bk, struct sim_channel *ch, struct sim_payout *p, int64_t at_ms)
{
	const struct sim_channel_cfg *cfg = &ch->cfg;
	if (!cfg->callback_url[0]) {
		free(p->held); /* no callbacks any more: nothing to send it to */
		p->held = NULL;
		return;
	}
	bool drop = sim_draw_rate(&bk->rng, cfg->callback_drop_rate);
	bool dup = sim_draw_rate(&bk->rng, cfg->callback_duplicate_rate);
	bool late = sim_draw_rate(&bk->rng, cfg->callback_late_rate);
	char *body = event_body(bk, ch, p, at_ms);
	if (!body)
		return;
	ch->stats.cb_duplicated += !drop && dup;
	if (drop) {
		ch->stats.cb_dropped++;
		free(body);
	} else if (late && p->state == SIM_PO_IN_TRANSIT) {
		free(p->held);
		p->held = body;
		p->held_copies = dup ? 2 : 1;
		ch->stats.cb_held_back++;
		return;
	} else {
		enqueue(bk, ch, body, dup ? 2 : 1);
	}
	if (p->held && p->state != SIM_PO_IN_TRANSIT) {
		enqueue(bk, ch, p->held, p->held_copies);
		p->held = NULL;
	}
}

/* ---- the payout's life (lock) --------------------------------------------- */

static void move(struct sim_bank *bk, struct sim_channel *ch, struct sim_payout *p,
		 enum sim_payout_state state, const struct sim_code *reason, int64_t at_ms)
{
	sim_payout_set_state(p, state, reason, at_ms);
	emit(bk, ch, p, at_ms);
}

static void reach_fate(struct sim_bank *bk, struct sim_channel *ch, struct sim_payout *p,
		       int64_t at_ms)
{
	switch (p->fate.kind) {
	case SIM_FATE_STUCK:
		return; /* in transit until released */
	case SIM_FATE_PAID:
		move(bk, ch, p, SIM_PO_PAID, NULL, at_ms);
		return;
	case SIM_FATE_FAILED:
		move(bk, ch, p, SIM_PO_FAILED, p->fate.reason, at_ms);
		return;
	case SIM_FATE_RETURNED:
		move(bk, ch, p, SIM_PO_PAID, NULL, at_ms);
		struct timer t = {.due_ms = at_ms + p->return_ms, .ch = ch, .p = p,
				  .execution = p->executions, .kind = SIM_TIMER_RETURN};
		if (!heap_push(bk, t)) /* no room to wait: it comes back at once */
			move(bk, ch, p, SIM_PO_RETURNED, p->fate.reason, at_ms);
		return;
	}
}

static void fire(struct sim_bank *bk, const struct timer *t)
{
	struct sim_payout *p = t->p;
	if (p->executions != t->execution || p->deciding)
		return; /* an earlier execution's timer */
	if (t->kind == SIM_TIMER_TRANSIT && p->state == SIM_PO_PENDING)
		move(bk, t->ch, p, SIM_PO_IN_TRANSIT, NULL, t->due_ms);
	else if (t->kind == SIM_TIMER_FATE && p->state == SIM_PO_IN_TRANSIT) {
		p->fate_due = true;
		reach_fate(bk, t->ch, p, t->due_ms);
	} else if (t->kind == SIM_TIMER_RETURN && p->state == SIM_PO_PAID)
		move(bk, t->ch, p, SIM_PO_RETURNED, p->fate.reason, t->due_ms);
}

void sim_bank_release_stuck(struct sim_channel *ch, struct sim_fate fate, int64_t now_ms)
{
	struct sim_bank *bk = ch->sim->bank;
	for (size_t i = 0; i < ch->books.n_payouts; i++) {
		struct sim_payout *p = ch->books.payouts[i];
		if (p->executions == 0 || p->deciding || p->fate.kind != SIM_FATE_STUCK)
			continue;
		p->fate = fate;
		if (p->fate_due && p->state == SIM_PO_IN_TRANSIT)
			reach_fate(bk, ch, p, now_ms);
	}
	curl_multi_wakeup(bk->multi);
}

/* ---- the worker ----------------------------------------------------------- */

/* Fires the timers due; the ms to wait for the next, or -1 when stopping. */
static int fire_due(struct sim_bank *bk)
{
	struct sim *s = bk->sim;
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	int64_t now = now_ms();
	while (bk->n && bk->heap[0].due_ms <= now) {
		struct timer t = heap_pop(bk);
		fire(bk, &t);
	}
	int64_t wait = bk->n ? bk->heap[0].due_ms - now : IDLE_WAIT_MS;
	pthread_mutex_unlock(&s->lock);
	return wait > IDLE_WAIT_MS ? IDLE_WAIT_MS : (int)wait;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
	(void)data, (void)ctx;
	return size * n;
}

static void drop_inflight(struct sim_bank *bk)
{
	if (bk->easy) {
		curl_multi_remove_handle(bk->multi, bk->easy);
		curl_easy_cleanup(bk->easy);
	}
	curl_slist_free_all(bk->headers);
	if (bk->inflight)
		free(bk->inflight->body);
	free(bk->inflight);
	bk->easy = NULL;
	bk->headers = NULL;
	bk->inflight = NULL;
}

static bool begin_send(struct sim_bank *bk, struct delivery *d)
{
	char sig[SIM_SIG_HEADER_MAX], header[SIM_SIG_HEADER_MAX + 32];
	size_t len = strlen(d->body);
	sim_sign(d->secret, now_ms() / 1000, d->body, len, sig);
	snprintf(header, sizeof header, "%s: %s", SIM_SIG_HEADER, sig);
	bk->inflight = d;
	bk->headers = curl_slist_append(NULL, "Content-Type: application/json");
	bk->headers = curl_slist_append(bk->headers, "Expect:");
	bk->headers = curl_slist_append(bk->headers, header);
	bk->easy = curl_easy_init();
	if (!bk->easy || !bk->headers)
		return false;
	curl_easy_setopt(bk->easy, CURLOPT_URL, d->url);
	curl_easy_setopt(bk->easy, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(bk->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(bk->easy, CURLOPT_HTTPHEADER, bk->headers);
	curl_easy_setopt(bk->easy, CURLOPT_TIMEOUT_MS, (long)SIM_CALLBACK_TIMEOUT_MS);
	curl_easy_setopt(bk->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(bk->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(bk->easy, CURLOPT_WRITEFUNCTION, discard);
	return curl_multi_add_handle(bk->multi, bk->easy) == CURLM_OK;
}

static void count_answer(struct sim_bank *bk, struct sim_channel *ch, const char *key)
{
	pthread_mutex_lock(&bk->sim->lock);
	sim_stats_bump(ch->stats.cb_answers, key);
	pthread_mutex_unlock(&bk->sim->lock);
}

/* Starts the next queued callback when none is in flight. */
static void start_next(struct sim_bank *bk)
{
	if (bk->inflight)
		return;
	pthread_mutex_lock(&bk->sim->lock);
	struct delivery *d = bk->head;
	if (d) {
		bk->head = d->next;
		bk->tail = bk->head ? bk->tail : NULL;
		bk->queued--;
		d->ch->stats.cb_sent++;
	}
	pthread_mutex_unlock(&bk->sim->lock);
	if (d && !begin_send(bk, d)) {
		count_answer(bk, d->ch, "no_answer");
		drop_inflight(bk);
	}
}

/* Books the answer of a finished send; true when one finished. */
static bool finish_done(struct sim_bank *bk)
{
	int left;
	bool done = false;
	CURLMsg *m;
	while ((m = curl_multi_info_read(bk->multi, &left))) {
		if (m->msg != CURLMSG_DONE || !bk->inflight)
			continue;
		long status = 0;
		if (m->data.result == CURLE_OK)
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		char key[32];
		snprintf(key, sizeof key, status ? "http_%ld" : "no_answer", status);
		count_answer(bk, bk->inflight->ch, key);
		drop_inflight(bk);
		done = true;
	}
	return done;
}

static void *worker_main(void *arg)
{
	struct sim_bank *bk = arg;
	for (;;) {
		int wait_ms = fire_due(bk);
		if (wait_ms < 0)
			break;
		start_next(bk);
		int running = 0;
		curl_multi_perform(bk->multi, &running);
		if (finish_done(bk))
			continue; /* the next callback at once */
		curl_multi_poll(bk->multi, NULL, 0, wait_ms, NULL);
	}
	drop_inflight(bk); /* abandoned: shutting down */
	return NULL;
}

bool sim_bank_start(struct sim *s)
{
	struct sim_bank *bk = calloc(1, sizeof *bk);
	if (!bk || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(bk);
		return false;
	}
	bk->sim = s;
	rng_seed(&bk->rng, s->seed ^ CB_RNG_SALT);
	snprintf(bk->run, sizeof bk->run, "%llx", (unsigned long long)now_ms());
	bk->multi = curl_multi_init();
	s->bank = bk;
	bk->running = bk->multi && pthread_create(&bk->thread, NULL, worker_main, bk) == 0;
	return bk->running;
}

void sim_bank_stop(struct sim *s)
{
	struct sim_bank *bk = s->bank;
	if (!bk || !bk->running)
		return;
	curl_multi_wakeup(bk->multi);
	pthread_join(bk->thread, NULL);
	bk->running = false;
}

void sim_bank_free(struct sim *s)
{
	struct sim_bank *bk = s->bank;
	if (!bk)
		return;
	while (bk->head) {
		struct delivery *d = bk->head;
		bk->head = d->next;
		free(d->body);
		free(d);
	}
	free(bk->heap);
	if (bk->multi)
		curl_multi_cleanup(bk->multi);
	free(bk);
	s->bank = NULL;
	curl_global_cleanup();
}
