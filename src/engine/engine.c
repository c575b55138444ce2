/* engine/engine: the writer thread, its bounded queue and group commit.
 * See engine.h for the model.  One batch:
 *   BEGIN; execute each command (one that fails after writing makes the
 *   batch roll back and run again without it); COMMIT, written to the OS;
 *   the syncer thread's fdatasync; then answer and send the channel calls
 *   recorded.  Channel results are queued for the next batch, ahead of
 *   new requests. */
#include "core/bank_account.h"
#include "engine/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "core/catalog.h"
#include "core/render.h"

#define ENGINE_IDLE_WAIT_MS 200

void engine_cmd_release(struct engine_cmd *cmd)
{
	free(cmd->pi.description);
	cmd->pi.description = NULL;
	json_decref(cmd->pi.metadata);
	cmd->pi.metadata = NULL;
	json_decref(cmd->refund.metadata);
	cmd->refund.metadata = NULL;
	json_decref(cmd->recipient.metadata);
	cmd->recipient.metadata = NULL;
	json_decref(cmd->payout.metadata);
	cmd->payout.metadata = NULL;
	free(cmd->payout.description);
	cmd->payout.description = NULL;
	free(cmd->webhook.url);
	cmd->webhook.url = NULL;
	free(cmd->webhook.description);
	cmd->webhook.description = NULL;
	json_decref(cmd->webhook.enabled_events);
	cmd->webhook.enabled_events = NULL;
	json_decref(cmd->webhook.metadata);
	cmd->webhook.metadata = NULL;
	/* account numbers in clear: gone with the command */
	explicit_bzero(&cmd->recipient.account, sizeof cmd->recipient.account);
	explicit_bzero(&cmd->payout.account, sizeof cmd->payout.account);
	explicit_bzero(&cmd->ch_payout, sizeof cmd->ch_payout);
	if (cmd->carry)
		cmd->carry_free(cmd->carry);
	cmd->carry = NULL;
	free(cmd->body);
	cmd->body = NULL;
	free(cmd->saved_body);
	cmd->saved_body = NULL;
}

void engine_reply_json(struct engine_cmd *cmd, int status, json_t *body)
{
	free(cmd->saved_body); /* another answer: what was to be saved instead goes */
	cmd->saved_body = NULL;
	free(cmd->body);
	cmd->http_status = status;
	cmd->body = render_take_text(body);
}

void engine_reply_text(struct engine_cmd *cmd, int status, char *text)
{
	free(cmd->saved_body);
	cmd->saved_body = NULL;
	free(cmd->body);
	cmd->http_status = text ? status : 500;
	cmd->body = text;
}

void engine_reply_error(struct engine_cmd *cmd, int code, const char *param, const char *message)
{
	const struct catalog_entry *entry = catalog_get(code);
	json_t *err = render_error(code, param, message, cmd->lang);
	engine_reply_json(cmd, entry ? entry->http_status : 500, json_pack("{s:o}", "error", err));
}

int engine_append_event(struct engine *e, const char *merchant_id, const char *type,
			const char *object_id, const char *data_json)
{
	struct store_event ev = {.created_ms = e->now_ms, .data_json = (char *)data_json};
	id_new(&e->ids, ID_EVENT, ev.id);
	snprintf(ev.merchant_id, sizeof ev.merchant_id, "%s", merchant_id);
	snprintf(ev.type, sizeof ev.type, "%s", type);
	snprintf(ev.object_id, sizeof ev.object_id, "%s", object_id);
	int rc = e->store->ops->event_insert(e->store, &ev);
	return rc ? rc : webhooks_event_appended(e, merchant_id, ev.id, type);
}

static struct engine_cmd *result_cmd(struct engine *e, struct engine_cmd *origin,
				     const char *channel, const char *merchant_id,
				     const char *object_id, const struct channel_request *req)
{
	struct engine_cmd *res = calloc(1, sizeof *res);
	if (!res)
		abort();
	res->kind = CMD_CHANNEL_RESULT;
	res->origin = origin;
	res->engine = e;
	snprintf(res->channel, sizeof res->channel, "%s", channel);
	res->ch_req = *req;
	if (req->method) { /* the request must not point into the caller's stack */
		res->pi.method = *req->method;
		res->ch_req.method = &res->pi.method;
	}
	if (req->payout) {
		res->ch_payout = *req->payout;
		res->ch_req.payout = &res->ch_payout;
	}
	snprintf(res->merchant_id, sizeof res->merchant_id, "%s", merchant_id);
	snprintf(res->target_id, sizeof res->target_id, "%s", object_id);
	snprintf(res->lang, sizeof res->lang, "%s", origin ? origin->lang : "en");
	return res;
}

struct engine_cmd *engine_queue_call(struct engine *e, struct engine_cmd *origin,
				     const char *channel, const char *merchant_id,
				     const char *object_id, const struct channel_request *req)
{
	LEDGER_ASSERT(e->call_count < (int)(sizeof e->calls / sizeof e->calls[0]));
	struct engine_cmd *res = result_cmd(e, origin, channel, merchant_id, object_id, req);
	e->calls[e->call_count++] = res;
	return res;
}

static void push_result(struct engine *e, struct engine_cmd *res)
{
	res->next = NULL;
	if (e->results_tail)
		e->results_tail->next = res;
	else
		e->results_head = res;
	e->results_tail = res;
}

/* Whether the channel itself worked (for its breaker): it answered for
 * sure, even if with the payer's decline; a call it did not execute, did
 * not answer, or failed in its own systems (2xx codes) counts against it. */
static bool channel_worked(const struct channel_result *r)
{
	switch (r->outcome) {
	case CH_SUCCEEDED:
	case CH_REQUIRES_ACTION:
	case CH_NOT_FOUND:
		return true;
	case CH_DECLINED:
		return r->code < 200 || r->code >= 300;
	default:
		return false;
	}
}

bool engine_not_found_final(struct engine *e, const char *channel, int64_t sent_ms)
{
	const struct channel *ch = route_find(e->route, channel);
	if (ch && ch->ops->call)
		return true; /* in process: nothing can still be on its way */
	int64_t timeout = ch ? ch->config.timeout_ms : 0;
	return e->now_ms >= sent_ms + timeout + ENGINE_NOT_FOUND_GRACE_MS;
}

/* A result is in: the breaker of its channel learns of it (queries
 * excepted: "still processing" is an answer, not a failure). */
static void take_result(struct engine *e, struct engine_cmd *res)
{
	enum channel_op op = res->ch_req.op;
	if (op != CH_OP_QUERY && op != CH_OP_QUERY_REFUND && op != CH_OP_QUERY_PAYOUT)
		route_record(e->route, res->channel, channel_worked(&res->ch_res),
			     res->ch_latency_ns / 1000000, clock_now_ms(e->clock));
	push_result(e, res);
}

/* The dispatcher's thread: a network call came back. */
static void network_done(void *ctx, const struct channel_result *r, int64_t latency_ns)
{
	struct engine_cmd *res = ctx;
	struct engine *e = res->engine;
	res->ch_res = *r;
	res->ch_latency_ns = latency_ns;
	res->next = NULL;
	pthread_mutex_lock(&e->lock);
	if (e->inbox_tail)
		e->inbox_tail->next = res;
	else
		e->inbox_head = res;
	e->inbox_tail = res;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
}

/* Calls an in-process channel and keeps how long it took. */
static void call_timed(struct channel *ch, struct engine_cmd *res)
{
	int64_t start = clock_mono_ns();
	ch->ops->call(ch, &res->ch_req, &res->ch_res);
	res->ch_latency_ns = clock_mono_ns() - start;
}

static void call_channel(struct engine *e, struct engine_cmd *res)
{
	struct channel *ch = route_find(e->route, res->channel);
	if (!ch) { /* configured away: the outcome stays unknown, asked again later */
		log_msg(LOG_ERROR, "channel_not_configured", "%s: channel %s is not configured",
			res->ch_req.reference, res->channel);
		res->ch_res = (struct channel_result){.outcome = CH_UNKNOWN, .code = CAT_CHANNEL_UNAVAILABLE};
		snprintf(res->ch_res.raw_code, sizeof res->ch_res.raw_code, "NO_SUCH_CHANNEL");
		push_result(e, res);
		return;
	}
	if (!ch->ops->call) {
		e->calls_out++;
		channel_dispatch_send(e->dispatch, ch, &res->ch_req, network_done, res);
		/* the dispatcher has its own copy of a payout's destination */
		explicit_bzero(&res->ch_payout, sizeof res->ch_payout);
		res->ch_req.payout = NULL;
		return;
	}
	call_timed(ch, res);
	take_result(e, res);
}

struct engine_cmd *engine_call_inline(struct engine *e, struct engine_cmd *origin,
				      const char *channel, const char *merchant_id,
				      const char *object_id, const struct channel_request *req)
{
	struct engine_cmd *res = result_cmd(e, origin, channel, merchant_id, object_id, req);
	struct channel *ch = route_find(e->route, channel);
	LEDGER_ASSERT(ch && ch->ops->call);
	call_timed(ch, res);
	route_record(e->route, channel, channel_worked(&res->ch_res), res->ch_latency_ns / 1000000,
		     e->now_ms);
	return res;
}

void engine_call_now(struct engine *e, const char *channel, const char *merchant_id,
		     const char *object_id, const struct channel_request *req, int checks)
{
	struct engine_cmd *res = result_cmd(e, NULL, channel, merchant_id, object_id, req);
	res->checks = checks;
	call_channel(e, res);
}

/* ---- health probes ------------------------------------------------------ */

static void probe_done(void *ctx, const struct channel_result *r, int64_t latency_ns)
{
	const struct probe_ctx *p = ctx; /* the engine's, read only: never freed early */
	route_probe_result(p->route, p->channel, r->outcome == CH_SUCCEEDED, latency_ns / 1000000,
			   clock_now_ms(p->clock));
}

/* The probe context of a channel: one per configured channel, made once. */
static struct probe_ctx *probe_slot(struct engine *e, const struct channel *ch)
{
	for (int i = 0; i < route_channel_count(e->route) && i < ROUTE_CHANNELS_MAX; i++)
		if (route_channel(e->route, i) == ch) {
			struct probe_ctx *p = &e->probes[i];
			p->route = e->route;
			p->clock = e->clock;
			snprintf(p->channel, sizeof p->channel, "%s", ch->name);
			return p;
		}
	return NULL;
}

/* Sends the health probes that are due; returns the ms until the next. */
static int64_t send_probes(struct engine *e)
{
	if (!e->dispatch)
		return -1;
	int64_t now = clock_now_ms(e->clock);
	struct channel *due[ROUTE_CHANNELS_MAX];
	int n = route_probes_due(e->route, now, due, ROUTE_CHANNELS_MAX);
	for (int i = 0; i < n; i++) {
		struct probe_ctx *p = probe_slot(e, due[i]);
		if (p)
			channel_dispatch_probe(e->dispatch, due[i], probe_done, p);
	}
	return route_next_probe_ms(e->route, now);
}

/* ---- the queue ---------------------------------------------------------- */

int engine_submit(struct engine *e, struct engine_cmd *cmd)
{
	int rc = CAT_OK;
	cmd->next = NULL;
	cmd->idem_asked = cmd->has_idem;
	cmd->failed_code = 0;
	pthread_mutex_lock(&e->lock);
	if (e->stopping)
		rc = CAT_SHUTTING_DOWN;
	else if (e->queued >= ENGINE_QUEUE_MAX)
		rc = CAT_OVERLOADED;
	else {
		if (e->tail)
			e->tail->next = cmd;
		else
			e->head = cmd;
		e->tail = cmd;
		if (e->queued++ == 0)
			pthread_cond_signal(&e->wake);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

/* Whether the syncer has made a waiting batch durable (lock held). */
static bool durable_waiting(const struct engine *e)
{
	return e->waiting_head && e->waiting_head->seq <= e->synced;
}

static void wait_for_work(struct engine *e, int64_t wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	/* Stopping, the engine still waits for the syncer to release what it
	 * has committed; it waits for nothing else. */
	while (!e->head && !e->inbox_head && !durable_waiting(e) &&
	       (!e->stopping || e->waiting_head || e->calls_out))
		if (pthread_cond_timedwait(&e->wake, &e->lock, &until) == ETIMEDOUT)
			break;
}

static int64_t sooner(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Moves the network results the dispatcher delivered to the results
 * list (lock held). */
static void take_inbox(struct engine *e)
{
	while (e->inbox_head) {
		struct engine_cmd *res = e->inbox_head;
		e->inbox_head = res->next;
		e->calls_out--;
		take_result(e, res);
	}
	e->inbox_tail = NULL;
}

void engine_queue_internal(struct engine *e, enum engine_cmd_kind kind, const char *merchant_id,
			   const char *target_id)
{
	struct engine_cmd *cmd = calloc(1, sizeof *cmd);
	if (!cmd)
		abort();
	cmd->kind = kind;
	cmd->engine = e;
	snprintf(cmd->merchant_id, sizeof cmd->merchant_id, "%s", merchant_id ? merchant_id : "");
	snprintf(cmd->target_id, sizeof cmd->target_id, "%s", target_id ? target_id : "");
	snprintf(cmd->lang, sizeof cmd->lang, "en");
	push_result(e, cmd);
}

/* Queues the payout tick once a second; returns the ms until the next. */
static int64_t payout_tick_due(struct engine *e)
{
	int64_t now = clock_now_ms(e->clock);
	if (now < e->next_tick_ms)
		return e->next_tick_ms - now;
	e->next_tick_ms = now + ENGINE_PAYOUT_TICK_MS;
	engine_queue_internal(e, CMD_PAYOUT_TICK, NULL, NULL);
	return ENGINE_PAYOUT_TICK_MS;
}

/* Takes channel results first, then submitted commands, up to a batch.
 * Returns how many; 0 with *done set when the engine should exit. */
static int gather(struct engine *e, struct engine_cmd **batch, bool *done)
{
	int n = 0;
	int64_t due = -1;
	pthread_mutex_lock(&e->lock);
	bool stopping = e->stopping;
	take_inbox(e);
	pthread_mutex_unlock(&e->lock);
	if (stopping) /* nothing new goes out: what is left, recovery finishes */
		e->winding_down = true;
	else
		due = sooner(sooner(resolver_due(e), send_probes(e)), payout_tick_due(e));
	while (e->results_head && n < ENGINE_BATCH_MAX) {
		batch[n++] = e->results_head;
		e->results_head = e->results_head->next;
	}
	if (!e->results_head)
		e->results_tail = NULL;
	pthread_mutex_lock(&e->lock);
	if (n == 0 && !e->head && !e->inbox_head &&
	    (!e->stopping || e->waiting_head || e->calls_out) && !durable_waiting(e))
		wait_for_work(e, due >= 0 && due < ENGINE_IDLE_WAIT_MS ? due : ENGINE_IDLE_WAIT_MS);
	while (e->head && n < ENGINE_BATCH_MAX) {
		batch[n++] = e->head;
		e->head = e->head->next;
		e->queued--;
	}
	if (!e->head)
		e->tail = NULL;
	*done = e->stopping && n == 0 && !e->head && !e->results_head && !e->waiting_head &&
		!e->inbox_head && e->calls_out == 0;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* ---- one batch ---------------------------------------------------------- */

static int exec_dispatch(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	switch (cmd->kind) {
	case CMD_REFUND_CREATE:
		return refunds_exec(e, cmd, out);
	case CMD_RECIPIENT_CREATE:
	case CMD_PAYOUT_CREATE:
	case CMD_PAYOUT_CANCEL:
	case CMD_CHANNEL_CALLBACK:
	case CMD_PAYOUT_TICK:
		return payouts_exec(e, cmd, out);
	case CMD_WEBHOOK_CREATE:
	case CMD_WEBHOOK_UPDATE:
	case CMD_WEBHOOK_DELETE:
	case CMD_WEBHOOK_ROLL:
	case CMD_EVENT_REDELIVER:
	case CMD_DELIVERY_REPORT:
		return webhooks_exec(e, cmd, out);
	case CMD_CHANNEL_RESULT:
		if (cmd->ch_req.op == CH_OP_REFUND || cmd->ch_req.op == CH_OP_QUERY_REFUND)
			return refunds_apply_result(e, cmd, out);
		if (cmd->ch_req.op == CH_OP_PAYOUT || cmd->ch_req.op == CH_OP_QUERY_PAYOUT)
			return payouts_apply_result(e, cmd, out);
		return payments_apply_result(e, cmd, out);
	default:
		return payments_exec(e, cmd, out);
	}
}

/* Commands the engine makes itself (freed once answered). */
static bool internal_cmd(const struct engine_cmd *cmd)
{
	return cmd->kind == CMD_CHANNEL_RESULT || cmd->kind == CMD_PAYOUT_TICK;
}

/* The command whose HTTP answer an executed command produced. */
static struct engine_cmd *answered(struct engine_cmd *cmd)
{
	return internal_cmd(cmd) ? cmd->origin : cmd;
}

/* Saves the Idempotency-Key answer of what cmd produced, if it has one. */
static int save_key(struct engine *e, struct engine_cmd *cmd, enum exec_result out)
{
	struct engine_cmd *reply_to = answered(cmd);
	if (!reply_to || !reply_to->has_idem || out == EXEC_NONE)
		return CAT_OK;
	if (out == EXEC_CALL && reply_to != cmd)
		return CAT_OK; /* failed over: still in flight, the mark stays */
	/* The last answer of a request whose key is marked in flight (cmd is
	 * its channel result) replaces the mark whatever it says. */
	return idem_save(e, reply_to, out == EXEC_CALL, reply_to != cmd, reply_to->target_id);
}

/* A channel result that could not be applied (its batch failed, or its
 * command was refused): the outcome is in the channel, not in payd.
 * Payments are asked about again; a capture, void or refund stays marked
 * in flight in the database and is recovered at the next start. */
static void result_lost(struct engine *e, const struct engine_cmd *cmd)
{
	log_msg(LOG_WARN, "channel_result_lost",
		"the answer about %s could not be recorded: the channel is asked again",
		cmd->ch_req.reference);
	if (cmd->ch_req.op == CH_OP_PAYOUT || cmd->ch_req.op == CH_OP_QUERY_PAYOUT)
		return; /* the payout stays due: the tick asks its rail */
	if (cmd->ch_req.op == CH_OP_REFUND || cmd->ch_req.op == CH_OP_QUERY_REFUND)
		resolver_track_refund(e, cmd->merchant_id, cmd->ch_req.reference, cmd->checks + 1);
	else /* authorize, verify, capture, void, query: all about the attempt */
		resolver_track(e, cmd->ch_req.payment_reference, cmd->checks + 1);
}

/* Answers a command with the error it failed with.  Nothing of it is in
 * the transaction, so saving its key is all that is written. */
static enum exec_result refuse(struct engine *e, struct engine_cmd *cmd, int rc)
{
	struct engine_cmd *reply_to = answered(cmd);
	if (cmd->kind == CMD_CHANNEL_RESULT)
		result_lost(e, cmd);
	if (!reply_to)
		return EXEC_NONE;
	engine_reply_error(reply_to, rc, reply_to->err.param, reply_to->err.message);
	save_key(e, cmd, EXEC_REPLY); /* a lost save is harmless: nothing changed */
	return EXEC_REPLY;
}

/* Forgets the calls queued since the first `keep`. */
static void drop_calls(struct engine *e, int keep)
{
	for (int i = keep; i < e->call_count; i++) {
		engine_cmd_release(e->calls[i]);
		free(e->calls[i]);
	}
	e->call_count = keep;
}

/* Runs one command of a batch.  Commands take no savepoint of their own
 * (that cost a tenth of the engine's time): one that fails before writing
 * is simply answered with its error; one that fails after writing sets
 * *dirty, and the caller rolls the batch back and runs it again without
 * it (run_batch).  Its writes and the saved answer of its
 * Idempotency-Key stand or fall together either way. */
static enum exec_result exec_one(struct engine *e, struct engine_cmd *cmd, bool *dirty,
				 bool *live_added)
{
	struct store *s = e->store;
	*live_added = false;
	if (cmd->failed_code) /* failed after writing in an earlier run of this batch */
		return refuse(e, cmd, cmd->failed_code);
	cmd->has_idem = cmd->idem_asked;
	cmd->replayed = false;
	if (cmd->kind != CMD_CHANNEL_RESULT && cmd->has_idem) {
		enum exec_result early = idem_check(e, cmd);
		if (early != EXEC_NONE)
			return early;
	}
	struct engine_cmd *reply_to = answered(cmd);
	enum exec_result out = EXEC_NONE;
	uint64_t written = s->ops->changes(s);
	int calls_before = e->call_count;
	int rc = exec_dispatch(e, cmd, &out);
	if (rc == CAT_OK)
		rc = save_key(e, cmd, out);
	if (rc != CAT_OK)
		drop_calls(e, calls_before); /* nothing of a refused command goes out */
	if (rc != CAT_OK && s->ops->changes(s) != written) {
		cmd->failed_code = rc;
		*dirty = true;
		return EXEC_NONE;
	}
	if (rc != CAT_OK)
		return refuse(e, cmd, rc);
	/* From now on a second request with this key, even in this same
	 * batch, sees it running (409), not an interrupted one. */
	if (out == EXEC_CALL && cmd->has_idem && reply_to == cmd) {
		idem_live_add(e, cmd);
		*live_added = true;
	}
	return out;
}

/* Forgets what an abandoned run of a batch did outside the database. */
static void undo_run(struct engine *e, struct engine_cmd **batch, int n, const bool *live_added)
{
	for (int i = 0; i < n; i++)
		if (live_added[i])
			idem_live_remove(e, batch[i]);
	drop_calls(e, 0); /* undone: must not be sent */
	resolver_run_done(e, false);
	books_cache_clear(e);
}

static void fail_batch(struct engine *e, struct engine_cmd **batch, int n, enum exec_result *res)
{
	for (int i = 0; i < n; i++) {
		struct engine_cmd *reply_to = answered(batch[i]);
		if (res[i] == EXEC_CALL && batch[i]->has_idem && reply_to == batch[i])
			idem_live_remove(e, batch[i]);
		if (batch[i]->kind == CMD_CHANNEL_RESULT)
			result_lost(e, batch[i]);
		if (reply_to)
			engine_reply_error(reply_to, CAT_STORAGE_UNAVAILABLE, NULL, NULL);
		res[i] = reply_to ? EXEC_REPLY : EXEC_NONE;
	}
	books_cache_clear(e);
	drop_calls(e, 0); /* never sent: nothing was committed */
	e->stats.commits_failed++;
}

static void answer(struct engine *e, struct engine_cmd *cmd, enum exec_result res)
{
	/* Once replied to, an HTTP command belongs to its connection again and
	 * may be freed at any moment: read nothing of it afterwards. */
	bool internal = internal_cmd(cmd);
	struct engine_cmd *reply_to = answered(cmd);
	if (res == EXEC_REPLY && reply_to) {
		if (reply_to->has_idem && reply_to != cmd)
			idem_live_remove(e, reply_to);
		reply_to->reply(reply_to);
	}
	if (internal) {
		engine_cmd_release(cmd);
		free(cmd);
	}
}

/* Deletes Idempotency-Keys past their TTL, a bounded number per batch,
 * once a minute (and again at once while more remain). */
static void expire_keys(struct engine *e)
{
	if (e->now_ms < e->next_expiry_ms)
		return;
	long removed = 0;
	int rc = e->store->ops->idem_expire(e->store, e->now_ms - e->idem_ttl_ms, &removed);
	bool more = rc == CAT_OK && removed >= STORE_IDEM_EXPIRE_MAX;
	e->next_expiry_ms = e->now_ms + (more ? 0 : ENGINE_EXPIRY_EVERY_MS);
}

/* Answers a batch and sends its calls: only once the disk has it. */
static void release_batch(struct engine *e, struct pending_batch *b)
{
	for (int i = 0; i < b->n; i++)
		answer(e, b->cmds[i], b->res[i]);
	for (int i = 0; i < b->call_count; i++)
		call_channel(e, b->calls[i]);
	free(b->cmds);
	free(b->res);
	free(b->calls);
	free(b);
}

/* Releases every waiting batch the syncer has made durable. */
static void release_durable(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	uint64_t synced = e->synced;
	pthread_mutex_unlock(&e->lock);
	while (e->waiting_head && e->waiting_head->seq <= synced) {
		struct pending_batch *b = e->waiting_head;
		e->waiting_head = b->next;
		if (!e->waiting_head)
			e->waiting_tail = NULL;
		release_batch(e, b);
	}
}

/* Keeps the batch's answers and calls until its commit is durable, and
 * asks the syncer for it. */
static void hold_batch(struct engine *e, struct engine_cmd **batch, int n, enum exec_result *res)
{
	struct pending_batch *b = calloc(1, sizeof *b);
	if (!b || !(b->cmds = malloc((size_t)n * sizeof *b->cmds)) ||
	    !(b->res = malloc((size_t)n * sizeof *b->res)) ||
	    !(b->calls = malloc((size_t)(e->call_count + 1) * sizeof *b->calls)))
		abort(); /* nothing acknowledged yet; a restart recovers */
	b->n = n;
	b->call_count = e->call_count;
	memcpy(b->cmds, batch, (size_t)n * sizeof *batch);
	memcpy(b->res, res, (size_t)n * sizeof *res);
	memcpy(b->calls, e->calls, (size_t)e->call_count * sizeof *e->calls);
	e->call_count = 0;
	b->seq = ++e->committed;
	if (e->waiting_tail)
		e->waiting_tail->next = b;
	else
		e->waiting_head = b;
	e->waiting_tail = b;
	pthread_mutex_lock(&e->lock);
	e->sync_requested = b->seq;
	pthread_cond_signal(&e->sync_wake);
	pthread_mutex_unlock(&e->lock);
}

/* Runs the batch in one transaction; a command that fails after writing
 * is taken out and the batch run again (each run takes one more out, so
 * at most n runs).  Returns the begin/commit result. */
static int run_commands(struct engine *e, struct engine_cmd **batch, int n, enum exec_result *res)
{
	bool live_added[ENGINE_BATCH_MAX];
	for (;;) {
		bool dirty = false;
		int ran = 0;
		e->call_count = 0;
		for (int i = 0; i < n; i++)
			res[i] = EXEC_NONE; /* fail_batch reads them if BEGIN fails */
		int rc = store_begin(e->store);
		while (ran < n && rc == CAT_OK && !dirty) {
			res[ran] = exec_one(e, batch[ran], &dirty, &live_added[ran]);
			ran++;
		}
		if (rc != CAT_OK || !dirty)
			return rc;
		store_rollback(e->store);
		undo_run(e, batch, ran, live_added);
	}
}

static void run_batch(struct engine *e, struct engine_cmd **batch, int n)
{
	enum exec_result res[ENGINE_BATCH_MAX];
	e->now_ms = clock_now_ms(e->clock);
	e->in_run = true;
	int rc = run_commands(e, batch, n, res);
	if (rc == CAT_OK)
		expire_keys(e);
	/* Readers may see this batch from the commit on, before its fsync:
	 * from now, waiting for durability waits for it too. */
	pthread_mutex_lock(&e->lock);
	e->visible = e->committed + 1; /* the seq hold_batch gives it */
	pthread_mutex_unlock(&e->lock);
	if (rc == CAT_OK)
		rc = store_commit(e->store);
	e->in_run = false;
	resolver_run_done(e, rc == CAT_OK);
	if (rc != CAT_OK) {
		store_rollback(e->store);
		log_msg(LOG_ERROR, "engine_commit_failed", "batch of %d refused: code %d", n, rc);
		fail_batch(e, batch, n, res);
	}
	e->stats.batches++; /* engine thread only; read after it is joined */
	e->stats.commands += (uint64_t)n;
	hold_batch(e, batch, n, res); /* errors too: answers keep their order */
}

/* The syncer: fdatasync after fdatasync, each covering every batch
 * committed before it began. */
static void *syncer_main(void *arg)
{
	struct engine *e = arg;
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (e->sync_requested == e->synced && !e->syncer_stop)
			pthread_cond_wait(&e->sync_wake, &e->lock);
		if (e->sync_requested == e->synced)
			break; /* stopping, and nothing left to sync */
		uint64_t target = e->sync_requested;
		pthread_mutex_unlock(&e->lock);
		int rc = e->store->ops->sync(e->store);
		/* A failed fsync leaves no safe way on: whether the data reached
		 * the disk is unknown (as PostgreSQL, stop; recovery decides). */
		LEDGER_ASSERT(rc == CAT_OK);
		pthread_mutex_lock(&e->lock);
		e->synced = target;
		pthread_cond_signal(&e->wake);
		pthread_cond_broadcast(&e->durable);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;
	struct engine_cmd **batch = malloc(ENGINE_BATCH_MAX * sizeof *batch);
	if (!batch)
		abort(); /* at start, before anything is taken */
	for (bool done = false; !done;) {
		release_durable(e);
		int n = gather(e, batch, &done);
		if (n > 0)
			run_batch(e, batch, n);
	}
	free(batch);
	return NULL;
}

/* ---- life cycle --------------------------------------------------------- */

static int open_store(struct engine *e, const struct engine_config *cfg, char *err,
		      size_t err_cap)
{
	struct store_open_opts opts = {.flags = STORE_CREATE | STORE_DEFERRED_SYNC};
	int rc = store_open_sqlite(cfg->db_path, &opts, &e->store, err, err_cap);
	if (rc)
		return rc;
	uint8_t key[32];
	rc = store_begin(e->store);
	if (!rc)
		rc = e->store->ops->secret_get(e->store, "card_fingerprint", key);
	if (!rc)
		rc = e->store->ops->secret_get(e->store, BANK_ACCOUNT_SEAL_SECRET, e->account_seal_key);
	if (!rc)
		rc = e->store->ops->secret_get(e->store, BANK_ACCOUNT_FINGERPRINT_SECRET,
					       e->account_fp_key);
	if (!rc)
		rc = e->store->ops->secret_get(e->store, WEBHOOK_SEAL_SECRET, e->webhook_seal_key);
	if (!rc)
		rc = store_commit(e->store);
	if (!rc)
		rc = e->store->ops->sync(e->store);
	if (rc) {
		store_rollback(e->store);
		snprintf(err, err_cap, "cannot initialise the database (code %d)", rc);
	}
	return rc;
}

static bool needs_dispatch(const struct route *r)
{
	for (int i = 0; i < route_channel_count(r); i++)
		if (!route_channel(r, i)->ops->call)
			return true;
	return false;
}

int engine_start(const struct engine_config *cfg, struct engine **out, char *err, size_t err_cap)
{
	struct engine *e = calloc(1, sizeof *e);
	if (!e)
		return CAT_INTERNAL;
	e->clock = cfg->clock ? cfg->clock : &clock_system;
	e->route = cfg->route;
	e->idem_ttl_ms = cfg->idem_ttl_ms > 0 ? cfg->idem_ttl_ms : 24 * 3600 * 1000;
	e->resolve_first_ms = cfg->resolve_first_ms > 0 ? cfg->resolve_first_ms : 1000;
	e->payout_poll_first_ms = cfg->payout_poll_first_ms > 0 ? cfg->payout_poll_first_ms : 5000;
	e->payout_poll_max_ms = cfg->payout_poll_max_ms > 0 ? cfg->payout_poll_max_ms : 600000;
	e->payout_grace_ms = cfg->payout_grace_ms > 0 ? cfg->payout_grace_ms : 3600000;
	e->payout_escalate_ms = cfg->payout_escalate_ms > 0 ? cfg->payout_escalate_ms : 3600000;
	e->payout_return_window_ms =
		cfg->payout_return_window_ms > 0 ? cfg->payout_return_window_ms : 7LL * 24 * 3600000;
	webhook_policy_default(&e->webhook_policy);
	if (cfg->webhook_policy.backoff_first_ms > 0)
		e->webhook_policy.backoff_first_ms = cfg->webhook_policy.backoff_first_ms;
	if (cfg->webhook_policy.backoff_max_ms > 0)
		e->webhook_policy.backoff_max_ms = cfg->webhook_policy.backoff_max_ms;
	if (cfg->webhook_policy.max_age_ms > 0)
		e->webhook_policy.max_age_ms = cfg->webhook_policy.max_age_ms;
	if (cfg->webhook_policy.disable_after_failures > 0) { /* configured: 0 ms is meant */
		e->webhook_policy.disable_after_failures = cfg->webhook_policy.disable_after_failures;
		e->webhook_policy.disable_after_ms = cfg->webhook_policy.disable_after_ms;
	}
	if (cfg->webhook_policy.retention_ms > 0)
		e->webhook_policy.retention_ms = cfg->webhook_policy.retention_ms;
	e->notify_payers = cfg->notify_payers;
	id_gen_init(&e->ids, e->clock, cfg->seed);
	if (!cfg->seed)
		rng_seed_os(&e->ids.rng);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->sync_wake, NULL);
	pthread_cond_init(&e->durable, NULL);
	int rc = open_store(e, cfg, err, err_cap);
	if (!rc && needs_dispatch(e->route) && channel_dispatch_start(&e->dispatch) != 0) {
		snprintf(err, err_cap, "cannot start the channel dispatcher");
		rc = CAT_INTERNAL;
	}
	if (!rc)
		rc = resolver_recover(e);
	if (rc) {
		if (e->dispatch)
			channel_dispatch_stop(e->dispatch);
		if (e->store)
			store_close(e->store);
		id_gen_destroy(&e->ids);
		free(e->unknown);
		pthread_cond_destroy(&e->wake);
		pthread_cond_destroy(&e->sync_wake);
		pthread_cond_destroy(&e->durable);
		pthread_mutex_destroy(&e->lock);
		free(e);
		return rc;
	}
	if (pthread_create(&e->syncer, NULL, syncer_main, e) != 0) {
		snprintf(err, err_cap, "cannot start the syncer thread");
		abort(); /* nothing is taken yet: no half-started engine to clean up */
	}
	if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
		snprintf(err, err_cap, "cannot start the engine thread");
		abort();
	}
	*out = e;
	return CAT_OK;
}

void engine_stop(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_lock(&e->lock);
	e->syncer_stop = true;
	pthread_cond_signal(&e->sync_wake);
	pthread_cond_broadcast(&e->durable);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->syncer, NULL);
	log_event(LOG_INFO, "engine_stopped",
		  json_pack("{s:I, s:I, s:I}", "batches", (json_int_t)e->stats.batches, "commands",
			    (json_int_t)e->stats.commands, "commits_failed",
			    (json_int_t)e->stats.commits_failed));
}

void engine_free(struct engine *e)
{
	for (size_t i = 0; i < ENGINE_LIVE_BUCKETS; i++)
		while (e->live[i]) {
			struct live_key *k = e->live[i];
			e->live[i] = k->next;
			free(k);
		}
	if (e->dispatch)
		channel_dispatch_stop(e->dispatch);
	for (struct engine_cmd *res = e->inbox_head; res;) { /* stopped before taken */
		struct engine_cmd *next = res->next;
		engine_cmd_release(res);
		free(res);
		res = next;
	}
	free(e->unknown);
	free(e->deferred);
	free(e->books_cache);
	explicit_bzero(e->account_seal_key, sizeof e->account_seal_key);
	explicit_bzero(e->webhook_seal_key, sizeof e->webhook_seal_key);
	store_close(e->store);
	id_gen_destroy(&e->ids);
	pthread_cond_destroy(&e->wake);
	pthread_cond_destroy(&e->sync_wake);
	pthread_cond_destroy(&e->durable);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void engine_wait_durable(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	uint64_t target = e->visible; /* every commit a reader can have seen */
	while (e->synced < target && !e->syncer_stop)
		pthread_cond_wait(&e->durable, &e->lock);
	pthread_mutex_unlock(&e->lock);
}
