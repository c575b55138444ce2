/* engine/idem: Stripe's Idempotency-Key semantics, decided in the engine
 * (the only writer, so two requests with one key cannot race):
 *  - a new key: the request runs; its answer is saved with it in the same
 *    transaction (or an in-flight mark while a channel call is out);
 *  - the same key and the same parameters: the saved answer, replayed;
 *  - the same key, other parameters: 400 idempotency_key_reused;
 *  - the same key while its first request still runs: 409 in use;
 *  - an in-flight mark left by a payd that stopped: the object's current
 *    state is answered (its request never got an answer to replay);
 *  - keys older than the TTL (24 h) are forgotten. */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/render.h"

static size_t bucket_of(const char *merchant_id, const char *key)
{
	size_t h = 5381;
	for (const char *p = merchant_id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h % ENGINE_LIVE_BUCKETS;
}

static struct live_key **find_live(struct engine *e, const char *merchant_id, const char *key)
{
	struct live_key **k = &e->live[bucket_of(merchant_id, key)];
	while (*k && (strcmp((*k)->merchant_id, merchant_id) || strcmp((*k)->key, key)))
		k = &(*k)->next;
	return k;
}

void idem_live_add(struct engine *e, const struct engine_cmd *cmd)
{
	struct live_key **slot = find_live(e, cmd->merchant_id, cmd->idem_key);
	if (*slot)
		return;
	struct live_key *k = calloc(1, sizeof *k);
	if (!k)
		abort();
	memcpy(k->merchant_id, cmd->merchant_id, sizeof k->merchant_id);
	memcpy(k->key, cmd->idem_key, sizeof k->key);
	*slot = k;
}

void idem_live_remove(struct engine *e, const struct engine_cmd *cmd)
{
	struct live_key **slot = find_live(e, cmd->merchant_id, cmd->idem_key);
	if (*slot) {
		struct live_key *k = *slot;
		*slot = k->next;
		free(k);
	}
}

/* The current state of the object an interrupted request was about. */
static enum exec_result answer_current(struct engine *e, struct engine_cmd *cmd,
				       const char *object_id)
{
	if (strncmp(object_id, ID_REFUND "_", 3) == 0) {
		struct refund r = {0};
		if (e->store->ops->refund_get(e->store, cmd->merchant_id, object_id, &r) == CAT_OK)
			engine_reply_json(cmd, 200, render_refund(&r));
		else
			engine_reply_error(cmd, CAT_IDEMPOTENCY_KEY_IN_USE, NULL, NULL);
		refund_clear(&r);
		return EXEC_REPLY;
	}
	struct payment_intent pi = {0};
	struct payment_attempt *attempts = calloc(PAYMENT_ATTEMPTS_MAX + 1, sizeof *attempts);
	int n = 0;
	int rc = attempts ? payments_load(e, cmd->merchant_id, object_id, &pi, attempts, &n)
			  : CAT_INTERNAL;
	if (rc)
		engine_reply_error(cmd, CAT_IDEMPOTENCY_KEY_IN_USE, NULL, NULL);
	else
		engine_reply_text(cmd, 200, render_intent_text(&pi, attempts, n, cmd->lang));
	payment_intent_clear(&pi);
	free(attempts);
	return EXEC_REPLY;
}

enum exec_result idem_check(struct engine *e, struct engine_cmd *cmd)
{
	struct store_idem saved = {0};
	int rc = e->store->ops->idem_get(e->store, cmd->merchant_id, cmd->idem_key, &saved);
	enum exec_result out = EXEC_NONE;
	if (rc == CAT_NO_SUCH_OBJECT || (rc == CAT_OK && saved.created_ms < e->now_ms - e->idem_ttl_ms)) {
		out = EXEC_NONE; /* a new (or forgotten) key */
	} else if (rc != CAT_OK) {
		engine_reply_error(cmd, rc, NULL, NULL);
		out = EXEC_REPLY;
	} else if (memcmp(saved.fingerprint, cmd->fingerprint, sizeof saved.fingerprint) != 0) {
		engine_reply_error(cmd, CAT_IDEMPOTENCY_KEY_REUSED, NULL,
				   "Keys for idempotent requests can only be used with the same "
				   "parameters they were first used with.");
		out = EXEC_REPLY;
	} else if (saved.state == IDEM_DONE) {
		free(cmd->body);
		cmd->http_status = saved.http_status;
		cmd->body = saved.response_json;
		cmd->replayed = true;
		saved.response_json = NULL;
		out = EXEC_REPLY;
	} else if (*find_live(e, cmd->merchant_id, cmd->idem_key)) {
		engine_reply_error(cmd, CAT_IDEMPOTENCY_KEY_IN_USE, NULL, NULL);
		out = EXEC_REPLY;
	} else {
		out = answer_current(e, cmd, saved.object_id);
	}
	store_idem_clear(&saved);
	/* Replays are not saved again. */
	if (out == EXEC_REPLY)
		cmd->has_idem = false;
	return out;
}

/* Answers that say nothing about the request itself are not kept: the
 * same request may succeed when retried. */
static bool worth_saving(int http_status)
{
	return http_status != 409 && http_status != 429 && http_status < 500;
}

int idem_save(struct engine *e, struct engine_cmd *cmd, bool in_flight, bool ends_flight,
	      const char *object_id)
{
	if (!in_flight && !ends_flight && !worth_saving(cmd->http_status))
		return CAT_OK;
	struct store_idem r = {
		.state = in_flight ? IDEM_IN_FLIGHT : IDEM_DONE,
		.http_status = in_flight ? 0 : cmd->http_status,
		.response_json = in_flight ? NULL : cmd->saved_body ? cmd->saved_body : cmd->body,
		.created_ms = e->now_ms,
	};
	memcpy(r.merchant_id, cmd->merchant_id, sizeof r.merchant_id);
	memcpy(r.key, cmd->idem_key, sizeof r.key);
	memcpy(r.fingerprint, cmd->fingerprint, sizeof r.fingerprint);
	snprintf(r.object_id, sizeof r.object_id, "%s", object_id ? object_id : "");
	return e->store->ops->idem_put(e->store, &r);
}
