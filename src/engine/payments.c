/* engine/payments: the PaymentIntent commands (create, update, confirm,
 * capture, cancel) and the application of channel results to intents and
 * their attempts.  Every change of status is checked against the state
 * machine of core/payment, appends its event and moves money in the
 * ledger in the same transaction.
 *
 * Routing: a confirmation goes to the best channel route/ offers for the
 * payment.  An attempt the channel did not execute (catalog retry class
 * "other channel": unavailable, 503, issuer unavailable, system busy)
 * fails over at once to the next channel the confirmation has not tried,
 * within the configured attempt limit and deadline; a decline of the
 * payer's does not, and suggests the other payment method types; an
 * unknown outcome never does (promise 6): the resolver asks first. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/catalog.h"
#include "core/render.h"
#include "engine/internal.h"

/* An intent with its attempts, as loaded for one command. */
struct loaded {
	struct payment_intent pi;
	int n;
	int refusal; /* a channel refused a capture or void: answer with this code */
	bool failed_over; /* a new attempt went out: the origin waits for it */
	bool answered;    /* an in-process channel answered within the command */
	struct payment_attempt *unwritten; /* made by this command, not yet inserted */
	char *text;  /* the intent's JSON as last saved, reused for the answer */
	bool fresh;  /* created by this command and not yet written */
	bool handed; /* now owned by a channel result (see carry) */
	/* Last, and not zeroed (about 13 KiB): only attempts[0..n) are ever
	 * read, and a new attempt is cleared when it is made. */
	struct payment_attempt attempts[PAYMENT_ATTEMPTS_MAX + 1];
};

static struct loaded *loaded_new(void)
{
	struct loaded *l = malloc(sizeof *l);
	if (l)
		memset(l, 0, offsetof(struct loaded, attempts));
	return l;
}

static void loaded_free(void *p)
{
	struct loaded *l = p;
	payment_intent_clear(&l->pi);
	free(l->text);
	free(l);
}

/* The channel result of a call this command queued takes the loaded
 * intent along: while the call is out, the intent is in a state that no
 * other command may change, so the next batch need not read it back. */
static void carry(struct engine_cmd *res, struct loaded *l)
{
	res->carry = l;
	res->carry_free = loaded_free;
	l->handed = true;
}

static void release_loaded(struct loaded *l)
{
	if (!l->handed)
		loaded_free(l);
}

int payments_load(struct engine *e, const char *merchant_id, const char *id,
		  struct payment_intent *pi, struct payment_attempt *attempts, int *n)
{
	int rc = e->store->ops->intent_get(e->store, merchant_id, id, pi);
	if (rc == CAT_OK)
		rc = e->store->ops->attempt_list(e->store, id, attempts, PAYMENT_ATTEMPTS_MAX + 1, n);
	return rc;
}

static int load(struct engine *e, struct engine_cmd *cmd, const char *id, struct loaded *l)
{
	int rc = payments_load(e, cmd->merchant_id, id, &l->pi, l->attempts, &l->n);
	if (rc == CAT_NO_SUCH_OBJECT)
		params_fail(&cmd->err, rc, "intent", "No such payment_intent: '%s'", id);
	return rc;
}

static struct payment_attempt *find_attempt(struct loaded *l, const char *id)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->attempts[i].id, id) == 0)
			return &l->attempts[i];
	return NULL;
}

/* Writes attempt `a`: inserted the first time (an in-process call writes
 * it once, with its outcome), updated after. */
static int write_attempt(struct engine *e, struct loaded *l, struct payment_attempt *a)
{
	if (l->unwritten != a)
		return e->store->ops->attempt_update(e->store, a);
	l->unwritten = NULL;
	return e->store->ops->attempt_insert(e->store, a);
}

static bool has_unsettled_attempt(const struct loaded *l)
{
	for (int i = 0; i < l->n; i++) {
		enum attempt_status s = l->attempts[i].status;
		if (s == ATT_PENDING || s == ATT_UNKNOWN || s == ATT_VERIFYING)
			return true;
	}
	return false;
}

static void set_status(struct payment_intent *pi, enum pi_status to)
{
	LEDGER_ASSERT(pi->status == to || pi_transition_ok(pi->status, to));
	pi->status = to;
}

/* Writes the intent, appends `event` (may be NULL) with its snapshot and,
 * when `reply_to` is given, answers it with that snapshot. */
static int save(struct engine *e, struct loaded *l, const char *event, struct engine_cmd *reply_to,
		const char *lang)
{
	l->pi.updated_ms = e->now_ms;
	int rc = l->fresh ? e->store->ops->intent_insert(e->store, &l->pi)
			  : e->store->ops->intent_update(e->store, &l->pi);
	l->fresh = false;
	free(l->text);
	l->text = NULL;
	if (rc || (!event && !reply_to))
		return rc;
	l->text = render_intent_text(&l->pi, l->attempts, l->n, lang);
	if (!l->text)
		return CAT_INTERNAL;
	if (event)
		rc = engine_append_event(e, l->pi.merchant_id, event, l->pi.id, l->text);
	if (rc == CAT_OK && reply_to) {
		free(reply_to->body);
		reply_to->http_status = 200;
		reply_to->body = l->text;
		l->text = NULL;
	}
	return rc;
}

/* The answer to a confirmation that failed: Stripe's error object with
 * the intent inside, status 402 (or the code's own status). */
static void reply_declined(struct engine_cmd *reply_to, struct loaded *l)
{
	const struct catalog_entry *entry = catalog_get(l->pi.last_error_code);
	json_t *err = render_error(l->pi.last_error_code, NULL, NULL, reply_to->lang);
	json_object_set_new(err, "charge", json_string(l->pi.last_error_attempt_id));
	json_object_set_new(err, "payment_intent",
			    render_intent(&l->pi, l->attempts, l->n, reply_to->lang));
	engine_reply_json(reply_to, entry ? entry->http_status : 402, json_pack("{s:o}", "error", err));
}

/* ---- metadata and fields ------------------------------------------------ */

/* Merges `changes` into the JSON object text *current: "" deletes a key.
 * False (nothing changed) when the result would hold too many keys. */
static bool merge_metadata(char **current, json_t *changes)
{
	json_t *m = *current ? json_loads(*current, 0, NULL) : NULL;
	if (!json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	if (json_object_size(changes) == 0)
		json_object_clear(m); /* metadata="" */
	const char *key;
	json_t *value;
	json_object_foreach(changes, key, value) {
		if (json_string_length(value) == 0)
			json_object_del(m, key);
		else
			json_object_set(m, key, value);
	}
	bool fits = json_object_size(m) <= PARAMS_METADATA_KEYS_MAX;
	if (fits) {
		free(*current);
		*current = json_object_size(m) ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	}
	json_decref(m);
	return fits;
}

/* lang: the request's Accept-Language (a payer language never given). */
static int apply_fields(struct payment_intent *pi, struct pi_args *a, const char *lang,
			struct params_error *err)
{
	if ((a->fields & PI_F_METADATA) && !merge_metadata(&pi->metadata_json, a->metadata))
		return params_fail(err, CAT_PARAMETER_INVALID, "metadata",
				   "metadata may have at most %d keys in all.", PARAMS_METADATA_KEYS_MAX);
	if (a->fields & PI_F_AMOUNT)
		pi->amount = a->amount;
	if (a->fields & PI_F_CURRENCY)
		memcpy(pi->currency, a->currency, sizeof pi->currency);
	if (a->fields & PI_F_DESCRIPTION) {
		free(pi->description);
		pi->description = a->description ? strdup(a->description) : NULL;
	}
	if (a->fields & PI_F_CUSTOMER)
		memcpy(pi->customer, a->customer, sizeof pi->customer);
	if (a->fields & PI_F_CAPTURE_METHOD)
		pi->capture_method = a->capture_method;
	if (a->fields & PI_F_RECEIPT_EMAIL)
		memcpy(pi->receipt_email, a->receipt_email, sizeof pi->receipt_email);
	if (a->fields & PI_F_PAYER_LANGUAGE)
		memcpy(pi->payer_language, a->payer_language, sizeof pi->payer_language);
	if (pi->receipt_email[0] && !pi->payer_language[0]) /* never given: the request's */
		snprintf(pi->payer_language, sizeof pi->payer_language, "%s",
			 catalog_prefers_chinese(lang) ? "zh-CN" : "en");
	if (a->fields & PI_F_METHOD) {
		pi->method = a->method;
		if (pi->status == PI_REQUIRES_PAYMENT_METHOD)
			set_status(pi, PI_REQUIRES_CONFIRMATION);
	}
	return CAT_OK;
}

/* ---- confirm: a new attempt --------------------------------------------- */

static void channel_request_for(const struct payment_attempt *a, enum channel_op op,
				struct channel_request *req)
{
	memset(req, 0, sizeof *req);
	req->op = op;
	memcpy(req->reference, a->id, sizeof req->reference);
	memcpy(req->payment_reference, a->id, sizeof req->payment_reference);
	req->amount = a->amount;
	memcpy(req->currency, a->currency, sizeof req->currency);
	req->method = &a->method; /* copied with the request by engine_queue_call */
	req->capture = a->capture;
}

/* ---- routing ------------------------------------------------------------ */

/* The first attempt of the current confirmation: the last one a
 * confirmation started (those after it are its failovers). */
static int chain_start(const struct loaded *l)
{
	int i = l->n - 1;
	while (i > 0 && l->attempts[i].failover)
		i--;
	return i < 0 ? 0 : i;
}

static bool tried_since(const struct loaded *l, int from, const char *channel)
{
	for (int i = from; i < l->n; i++)
		if (strcmp(l->attempts[i].channel, channel) == 0)
			return true;
	return false;
}

/* The best channel for the payment that attempts from `from` on have not
 * tried; NULL when none is left. */
static struct channel *next_channel(struct engine *e, const struct loaded *l, int from)
{
	struct channel *plan[ROUTE_CHANNELS_MAX];
	int n = route_plan(e->route, l->pi.method.type, l->pi.currency, l->pi.amount, e->now_ms,
			   plan, ROUTE_CHANNELS_MAX);
	for (int i = 0; i < n; i++)
		if (!tried_since(l, from, plan[i]->name))
			return plan[i];
	return NULL;
}

/* Where attempt `a`, which failed with `code`, fails over to: NULL when
 * the code's retry class forbids it, or the limits are reached. */
static struct channel *failover_target(struct engine *e, const struct loaded *l, int code)
{
	const struct catalog_entry *c = catalog_get(code);
	const struct route_config *cfg = route_config_of(e->route);
	int from = chain_start(l);
	if (e->winding_down) /* stopping: nothing new goes out */
		return NULL;
	if (!c || c->retry != CAT_RETRY_OTHER_CHANNEL || l->n >= PAYMENT_ATTEMPTS_MAX ||
	    l->n - from >= cfg->max_attempts ||
	    e->now_ms - l->attempts[from].created_ms >= cfg->deadline_ms)
		return NULL;
	return next_channel(e, l, from);
}

/* After a decline the payer's method cannot overcome: the other method
 * types the installation takes (bit 1 << pm_type). */
static unsigned suggested_types(struct engine *e, enum pm_type used, int code)
{
	const struct catalog_entry *c = catalog_get(code);
	bool payers = code / 100 == 1 || code / 100 == 3;
	if (!c || !payers || c->retry != CAT_RETRY_NEVER)
		return 0;
	unsigned types = 0;
	for (int t = PM_CARD; t <= PM_WECHAT_PAY; t++)
		if (t != (int)used && route_accepts_type(e->route, (enum pm_type)t))
			types |= 1u << t;
	return types;
}

/* ---- confirm: a new attempt --------------------------------------------- */

static int apply_result(struct engine *e, struct engine_cmd *res, struct loaded *l,
			enum exec_result *out);

/* An in-process channel (the sandbox) moves no money outside payd and
 * remembers nothing, so nothing needs to be durable before it is asked:
 * it is called within the command, and the intent and the attempt are
 * written once, with the outcome (the answer still waits for the commit's
 * fsync like any other).  A network channel is called only after the
 * commit that records the attempt (promise 5). */
static int call_in_process(struct engine *e, struct engine_cmd *origin, struct loaded *l,
			   struct payment_attempt *a, const struct channel_request *req)
{
	struct engine_cmd *res =
		engine_call_inline(e, origin, a->channel, l->pi.merchant_id, l->pi.id, req);
	enum exec_result out;
	l->unwritten = a;
	int rc = apply_result(e, res, l, &out);
	if (rc && origin)
		origin->err = res->err;
	l->answered = rc == CAT_OK && out == EXEC_REPLY;
	engine_cmd_release(res);
	free(res);
	return rc;
}

/* Records a new attempt of the intent on `ch` and queues its call, which
 * answers `origin` (NULL: nobody waits). */
static int start_attempt(struct engine *e, struct engine_cmd *origin, struct loaded *l,
			 const struct channel *ch, bool failover)
{
	struct payment_intent *pi = &l->pi;
	struct payment_attempt *a = &l->attempts[l->n];
	memset(a, 0, sizeof *a);
	id_new(&e->ids, ID_ATTEMPT, a->id);
	memcpy(a->intent_id, pi->id, sizeof a->intent_id);
	memcpy(a->merchant_id, pi->merchant_id, sizeof a->merchant_id);
	a->seq = pi->attempt_count + 1;
	snprintf(a->channel, sizeof a->channel, "%s", ch->name);
	a->failover = failover;
	a->status = ATT_PENDING;
	a->amount = pi->amount;
	memcpy(a->currency, pi->currency, sizeof a->currency);
	a->method = pi->method;
	a->capture = pi->capture_method == CAPTURE_AUTOMATIC;
	a->created_ms = e->now_ms;
	a->latency_ms = -1;
	l->n++;
	pi->attempt_count = a->seq;
	memcpy(pi->latest_attempt_id, a->id, sizeof pi->latest_attempt_id);
	set_status(pi, PI_PROCESSING);
	struct channel_request req;
	channel_request_for(a, CH_OP_AUTHORIZE, &req);
	if (ch->ops->call && !failover)
		return call_in_process(e, origin, l, a, &req);
	/* The intent first: the attempt refers to it. */
	int rc = save(e, l, NULL, NULL, origin ? origin->lang : "en");
	if (rc == CAT_OK)
		rc = e->store->ops->attempt_insert(e->store, a);
	if (rc)
		return rc;
	carry(engine_queue_call(e, origin, a->channel, pi->merchant_id, pi->id, &req), l);
	return CAT_OK;
}

/* A confirmation's first attempt: on the best channel for the payment. */
static int first_attempt(struct engine *e, struct engine_cmd *cmd, struct loaded *l)
{
	if (l->pi.method.type == PM_NONE)
		return params_fail(&cmd->err, CAT_PARAMETER_MISSING, "payment_method",
				   "You cannot confirm this PaymentIntent because it has no payment "
				   "method: pass payment_method or payment_method_data.");
	if (l->n >= PAYMENT_ATTEMPTS_MAX)
		return params_fail(&cmd->err, CAT_INVALID_STATE, NULL,
				   "This PaymentIntent has had %d attempts, the most payd allows.",
				   PAYMENT_ATTEMPTS_MAX);
	const struct channel *ch = next_channel(e, l, l->n);
	if (!ch)
		return params_fail(&cmd->err, CAT_CHANNEL_UNAVAILABLE, "payment_method",
				   "No channel can take this payment now: none accepts %s in %s for "
				   "this amount, or every one that does is unavailable.",
				   pm_type_name(l->pi.method.type), l->pi.currency);
	return start_attempt(e, cmd, l, ch, false);
}

static int verify_attempt(struct engine *e, struct engine_cmd *cmd, struct loaded *l)
{
	struct payment_attempt *a = find_attempt(l, l->pi.latest_attempt_id);
	LEDGER_ASSERT(a && a->status == ATT_REQUIRES_ACTION);
	a->status = ATT_VERIFYING;
	int rc = e->store->ops->attempt_update(e->store, a);
	if (rc)
		return rc;
	set_status(&l->pi, PI_PROCESSING);
	if ((rc = save(e, l, NULL, NULL, cmd->lang)))
		return rc;
	struct channel_request req;
	channel_request_for(a, CH_OP_VERIFY, &req);
	snprintf(req.verification_code, sizeof req.verification_code, "%s",
		 cmd->pi.verification_code);
	carry(engine_queue_call(e, cmd, a->channel, l->pi.merchant_id, l->pi.id, &req), l);
	return CAT_OK;
}

static int confirm(struct engine *e, struct engine_cmd *cmd, struct loaded *l,
		   enum exec_result *out)
{
	int rc;
	if (l->pi.status == PI_REQUIRES_ACTION) {
		if (!(cmd->pi.fields & PI_F_VERIFICATION))
			return params_fail(&cmd->err, CAT_PARAMETER_MISSING, "verification_code",
					   "This PaymentIntent requires the payer's verification "
					   "code: confirm with verification_code.");
		rc = verify_attempt(e, cmd, l);
	} else {
		rc = pi_can_confirm(&l->pi, has_unsettled_attempt(l));
		if (rc == CAT_OK) {
			if (!l->fresh) /* create has applied them already */
				rc = apply_fields(&l->pi, &cmd->pi, cmd->lang, &cmd->err);
			if (rc == CAT_OK)
				rc = first_attempt(e, cmd, l);
		} else {
			params_fail(&cmd->err, rc, NULL, "%s",
				    has_unsettled_attempt(l)
					    ? "You cannot confirm this PaymentIntent while the outcome of "
					      "its last attempt is unknown: payd is asking the channel, "
					      "wait for the result."
					    : "You cannot confirm this PaymentIntent in its current status.");
		}
	}
	if (rc == CAT_OK)
		*out = l->answered ? EXEC_REPLY : EXEC_CALL;
	return rc;
}

/* ---- the commands ------------------------------------------------------- */

static int create(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	struct loaded *l = loaded_new();
	if (!l)
		return CAT_INTERNAL;
	struct payment_intent *pi = &l->pi;
	id_new(&e->ids, ID_PAYMENT_INTENT, pi->id);
	memcpy(pi->merchant_id, cmd->merchant_id, sizeof pi->merchant_id);
	memcpy(cmd->target_id, pi->id, sizeof cmd->target_id);
	pi->status = PI_REQUIRES_PAYMENT_METHOD;
	pi->created_ms = pi->updated_ms = e->now_ms;
	l->fresh = true; /* written once, by confirm or below */
	int rc = apply_fields(pi, &cmd->pi, cmd->lang, &cmd->err);
	if (rc == CAT_OK && cmd->pi.confirm && pi->method.type == PM_NONE) /* before any write */
		rc = params_fail(&cmd->err, CAT_PARAMETER_MISSING, "payment_method",
				 "You cannot confirm this PaymentIntent because it has no payment "
				 "method: pass payment_method or payment_method_data.");
	char *text = rc ? NULL : render_intent_text(pi, NULL, 0, cmd->lang);
	if (rc == CAT_OK)
		rc = engine_append_event(e, pi->merchant_id, "payment_intent.created", pi->id, text);
	if (rc == CAT_OK && cmd->pi.confirm) {
		rc = confirm(e, cmd, l, out);
	} else if (rc == CAT_OK && (rc = e->store->ops->intent_insert(e->store, pi)) == CAT_OK) {
		free(cmd->body);
		cmd->http_status = 200;
		cmd->body = text;
		text = NULL;
		*out = EXEC_REPLY;
	}
	free(text);
	release_loaded(l);
	return rc;
}

static int update(struct engine *e, struct engine_cmd *cmd, struct loaded *l,
		  enum exec_result *out)
{
	int rc = pi_can_update(&l->pi);
	if (rc)
		return params_fail(&cmd->err, rc, NULL,
				   "You cannot update this PaymentIntent because it has a status of %s.",
				   pi_status_name(l->pi.status));
	if ((rc = apply_fields(&l->pi, &cmd->pi, cmd->lang, &cmd->err)))
		return rc;
	*out = EXEC_REPLY;
	return save(e, l, NULL, cmd, cmd->lang);
}

/* Queues the capture (of `amount`) or the void of the intent's
 * authorization, sent after the commit; `origin` gets its answer. */
static struct engine_cmd *queue_operation(struct engine *e, struct engine_cmd *origin,
					  struct loaded *l, enum channel_op op, int64_t amount)
{
	struct payment_attempt *a = find_attempt(l, l->pi.latest_attempt_id);
	LEDGER_ASSERT(a && a->status == ATT_AUTHORIZED);
	struct channel_request req;
	channel_request_for(a, op, &req);
	if (op == CH_OP_CAPTURE)
		req.amount = amount;
	return engine_queue_call(e, origin, a->channel, l->pi.merchant_id, l->pi.id, &req);
}

static int capture(struct engine *e, struct engine_cmd *cmd, struct loaded *l,
		   enum exec_result *out)
{
	int64_t amount = (cmd->pi.fields & PI_F_AMOUNT_TO_CAPTURE) ? cmd->pi.amount_to_capture
								    : l->pi.amount_capturable;
	int rc = pi_can_capture(&l->pi, amount);
	if (rc == CAT_INVALID_STATE)
		return params_fail(&cmd->err, rc, NULL,
				   "This PaymentIntent could not be captured because it has a status "
				   "of %s.", pi_status_name(l->pi.status));
	if (rc)
		return params_fail(&cmd->err, rc, "amount_to_capture",
				   "amount_to_capture must be between 1 and amount_capturable (%lld).",
				   (long long)l->pi.amount_capturable);
	l->pi.capture_requested = amount;
	if ((rc = save(e, l, NULL, NULL, cmd->lang)))
		return rc;
	carry(queue_operation(e, cmd, l, CH_OP_CAPTURE, amount), l);
	*out = EXEC_CALL;
	return CAT_OK;
}

static int cancel(struct engine *e, struct engine_cmd *cmd, struct loaded *l,
		  enum exec_result *out)
{
	int rc = pi_can_cancel(&l->pi);
	if (rc)
		return params_fail(&cmd->err, rc, NULL,
				   "You cannot cancel this PaymentIntent because it has a status of %s.",
				   pi_status_name(l->pi.status));
	snprintf(l->pi.cancellation_reason, sizeof l->pi.cancellation_reason, "%s",
		 cmd->pi.cancellation_reason);
	if (l->pi.status == PI_REQUIRES_CAPTURE) { /* release the authorization first */
		l->pi.cancel_requested = true;
		if ((rc = save(e, l, NULL, NULL, cmd->lang)))
			return rc;
		carry(queue_operation(e, cmd, l, CH_OP_VOID, 0), l);
		*out = EXEC_CALL;
		return CAT_OK;
	}
	set_status(&l->pi, PI_CANCELED);
	l->pi.canceled_ms = e->now_ms;
	*out = EXEC_REPLY;
	return save(e, l, "payment_intent.canceled", cmd, cmd->lang);
}

int payments_exec(struct engine *e, struct engine_cmd *cmd, enum exec_result *out)
{
	if (cmd->kind == CMD_PI_CREATE)
		return create(e, cmd, out);
	struct loaded *l = loaded_new();
	if (!l)
		return CAT_INTERNAL;
	int rc = load(e, cmd, cmd->target_id, l);
	if (rc == CAT_OK) {
		switch (cmd->kind) {
		case CMD_PI_UPDATE: rc = update(e, cmd, l, out); break;
		case CMD_PI_CONFIRM: rc = confirm(e, cmd, l, out); break;
		case CMD_PI_CAPTURE: rc = capture(e, cmd, l, out); break;
		case CMD_PI_CANCEL: rc = cancel(e, cmd, l, out); break;
		default: rc = CAT_INTERNAL; break;
		}
	}
	release_loaded(l);
	return rc;
}

/* ---- channel results ---------------------------------------------------- */

static void fail_attempt(struct engine *e, struct loaded *l, struct payment_attempt *a, int code)
{
	a->status = ATT_FAILED;
	a->code = code;
	l->pi.last_error_code = code;
	l->pi.last_error_suggest = suggested_types(e, a->method.type, code);
	memcpy(l->pi.last_error_attempt_id, a->id, sizeof l->pi.last_error_attempt_id);
	set_status(&l->pi, PI_REQUIRES_PAYMENT_METHOD);
}

/* The money moved (captured) or is held (authorized). */
static int money_taken(struct engine *e, struct loaded *l, struct payment_attempt *a, bool captured,
		       const char **event)
{
	struct payment_intent *pi = &l->pi;
	pi->last_error_code = 0; /* as Stripe: a success clears the last error */
	pi->last_error_suggest = 0;
	pi->last_error_attempt_id[0] = '\0';
	if (captured) {
		char transfer_id[ID_MAX];
		a->status = ATT_SUCCEEDED;
		pi->amount_received = a->amount;
		pi->amount_capturable = 0;
		set_status(pi, PI_SUCCEEDED);
		*event = "payment_intent.succeeded";
		return books_transfer(e, false, "channel", a->channel, "merchant", pi->merchant_id,
				      a->currency, a->amount, transfer_id);
	}
	a->status = ATT_AUTHORIZED;
	pi->amount_capturable = a->amount;
	set_status(pi, PI_REQUIRES_CAPTURE);
	*event = "payment_intent.amount_capturable_updated";
	return books_transfer(e, true, "channel", a->channel, "merchant", pi->merchant_id,
			      a->currency, a->amount, pi->hold_transfer_id);
}

/* Attempt `a` was not executed: it ends failed and a new attempt of the
 * same confirmation goes to `next`; the intent stays processing. */
static int fail_over(struct engine *e, struct engine_cmd *res, struct loaded *l,
		     struct payment_attempt *a, int code, const struct channel *next)
{
	a->status = ATT_FAILED;
	a->code = code;
	a->finished_ms = e->now_ms;
	log_msg(LOG_INFO, "payment_failover", "%s: %s did not execute %s (code %d): trying %s",
		l->pi.id, a->channel, a->id, code, next->name);
	int rc = start_attempt(e, res->origin, l, next, true); /* saves the intent */
	if (rc == CAT_OK)
		rc = write_attempt(e, l, a);
	l->failed_over = rc == CAT_OK;
	return rc;
}

/* An authorization, verification or query answer for attempt `a`. */
static int apply_payment_outcome(struct engine *e, struct engine_cmd *res, struct loaded *l,
				 struct payment_attempt *a)
{
	struct channel_result *r = &res->ch_res;
	const char *event = NULL;
	int rc = CAT_OK;
	if (res->ch_req.op == CH_OP_QUERY && r->outcome == CH_NOT_EXECUTED)
		r->outcome = CH_UNKNOWN; /* the query was not answered: ask again */
	if (r->outcome == CH_NOT_FOUND && !engine_not_found_final(e, a->channel, a->created_ms))
		r->outcome = CH_UNKNOWN; /* the call may still arrive: ask again later */
	switch (r->outcome) {
	case CH_SUCCEEDED:
		rc = money_taken(e, l, a, res->ch_req.op == CH_OP_QUERY ? r->captured : a->capture,
				 &event);
		break;
	case CH_REQUIRES_ACTION:
		a->status = ATT_REQUIRES_ACTION;
		a->code = r->code;
		l->pi.last_error_code = 0;
		l->pi.last_error_suggest = 0;
		l->pi.last_error_attempt_id[0] = '\0';
		set_status(&l->pi, PI_REQUIRES_ACTION);
		event = "payment_intent.requires_action";
		break;
	case CH_UNKNOWN:
		if (a->status == ATT_UNKNOWN) /* asked and still unknown: ask again later */
			a->checks++;
		else
			event = "payment_intent.processing";
		a->status = ATT_UNKNOWN;
		a->code = r->code;
		a->next_check_ms = resolver_track(e, a->id, a->checks);
		break;
	case CH_NOT_FOUND: /* the channel never executed it */
	case CH_DECLINED:
	case CH_NOT_EXECUTED: {
		int code = r->outcome == CH_NOT_FOUND ? CAT_CHANNEL_UNAVAILABLE
			   : r->code			 ? r->code
							 : CAT_GENERIC_DECLINE;
		/* A verification's attempt was executed (it asked for the code):
		 * it fails, but never fails over. */
		const struct channel *next =
			a->status == ATT_VERIFYING ? NULL : failover_target(e, l, code);
		if (next)
			return fail_over(e, res, l, a, code, next);
		fail_attempt(e, l, a, code);
		event = "payment_intent.payment_failed";
		break;
	}
	}
	if (a->status != ATT_UNKNOWN && a->status != ATT_PENDING)
		a->finished_ms = e->now_ms;
	if (rc)
		return rc;
	return save(e, l, event, NULL, res->lang);
}

/* The capture of an authorization (settling its hold for
 * capture_requested) or its void (releasing the hold) is done. */
static int operation_done(struct engine *e, struct loaded *l, struct payment_attempt *a,
			  bool capture, const char *lang)
{
	struct payment_intent *pi = &l->pi;
	int rc = capture ? books_settle(e, pi->hold_transfer_id, pi->capture_requested)
			 : books_release(e, pi->hold_transfer_id);
	if (rc)
		return rc;
	if (capture) {
		pi->amount_received = pi->capture_requested;
		a->status = ATT_SUCCEEDED;
	} else {
		pi->canceled_ms = e->now_ms;
		a->status = ATT_VOIDED;
	}
	pi->amount_capturable = 0;
	pi->capture_requested = 0;
	pi->cancel_requested = false;
	a->finished_ms = e->now_ms;
	set_status(pi, capture ? PI_SUCCEEDED : PI_CANCELED);
	return save(e, l, capture ? "payment_intent.succeeded" : "payment_intent.canceled", NULL,
		    lang);
}

/* A capture's or a void's answer. */
static int apply_operation(struct engine *e, struct engine_cmd *res, struct loaded *l,
			   struct payment_attempt *a)
{
	bool capture = res->ch_req.op == CH_OP_CAPTURE;
	if (res->ch_res.outcome == CH_UNKNOWN) { /* still out: ask, never resend blind */
		l->refusal = CAT_CHANNEL_TIMEOUT;
		resolver_track(e, a->id, res->checks);
		return CAT_OK;
	}
	if (res->ch_res.outcome != CH_SUCCEEDED) {
		l->refusal = res->ch_res.code ? res->ch_res.code : CAT_PROCESSING_ERROR;
		if (capture)
			l->pi.capture_requested = 0;
		else
			l->pi.cancel_requested = false;
		return save(e, l, NULL, NULL, res->lang);
	}
	return operation_done(e, l, a, capture, res->lang);
}

/* A capture or void of the authorized attempt `a` is out. */
static bool operation_out(const struct loaded *l, const struct payment_attempt *a)
{
	return a->status == ATT_AUTHORIZED &&
	       (l->pi.capture_requested > 0 || l->pi.cancel_requested);
}

static bool still_open(const struct loaded *l, const struct payment_attempt *a, enum channel_op op)
{
	switch (op) {
	case CH_OP_AUTHORIZE: return a->status == ATT_PENDING;
	case CH_OP_VERIFY: return a->status == ATT_VERIFYING;
	case CH_OP_QUERY: return a->status == ATT_UNKNOWN || a->status == ATT_PENDING ||
				 a->status == ATT_VERIFYING || operation_out(l, a);
	default: return a->status == ATT_AUTHORIZED;
	}
}

/* Sends the capture or void of `a` (again): the channel said it was not
 * done, so sending it cannot do it twice. */
static void resend_operation(struct engine *e, struct loaded *l, const struct payment_attempt *a,
			     int checks)
{
	if (e->winding_down) /* stopping: the next start asks again */
		return;
	if (checks >= ENGINE_OPERATION_RESENDS_WARN)
		log_msg(LOG_ERROR, "operation_not_done", "%s: the %s was sent %d times and is not done",
			a->id, l->pi.capture_requested > 0 ? "capture" : "void", checks);
	bool capture = l->pi.capture_requested > 0;
	queue_operation(e, NULL, l, capture ? CH_OP_CAPTURE : CH_OP_VOID, l->pi.capture_requested)
		->checks = checks;
}

/* A query's answer about an authorization whose capture or void was out
 * (a timeout, or a payd that stopped). */
static int apply_operation_query(struct engine *e, struct engine_cmd *res, struct loaded *l,
				 struct payment_attempt *a)
{
	const struct channel_result *r = &res->ch_res;
	struct payment_intent *pi = &l->pi;
	bool captured = r->outcome == CH_SUCCEEDED && r->captured;
	if (r->outcome == CH_SUCCEEDED && !r->captured) { /* still only held: not done yet */
		resend_operation(e, l, a, res->checks + 1);
		return CAT_OK;
	}
	if (!captured && !r->voided) { /* no answer we can act on: ask again */
		if (r->outcome != CH_UNKNOWN && r->outcome != CH_NOT_EXECUTED)
			log_msg(LOG_ERROR, "operation_query_unclear",
				"%s: the channel answers neither held, captured nor voided", a->id);
		resolver_track(e, a->id, res->checks + 1);
		return CAT_OK;
	}
	/* The books follow what the channel did, whatever was asked. */
	if (captured) {
		bool amount_ok = r->amount > 0 && r->amount <= pi->amount_capturable;
		if (pi->cancel_requested || !pi->capture_requested)
			log_msg(LOG_ERROR, "operation_overtaken", "%s: a void was asked, the channel captured",
				a->id);
		pi->capture_requested = amount_ok ? r->amount
				      : pi->capture_requested ? pi->capture_requested
							      : pi->amount_capturable;
		return operation_done(e, l, a, true, res->lang);
	}
	if (pi->capture_requested)
		log_msg(LOG_ERROR, "operation_overtaken", "%s: a capture was asked, the channel voided",
			a->id);
	return operation_done(e, l, a, false, res->lang);
}

/* Answers the request that started the call, with the intent as it is now. */
static void reply_origin(struct engine_cmd *res, struct loaded *l, int rc)
{
	struct engine_cmd *origin = res->origin;
	if (!origin || rc != CAT_OK)
		return;
	if (l->refusal)
		engine_reply_error(origin, l->refusal, NULL, NULL);
	else if (l->pi.status == PI_REQUIRES_PAYMENT_METHOD && l->pi.last_error_code &&
	    strcmp(l->pi.last_error_attempt_id, res->ch_req.reference) == 0)
		reply_declined(origin, l);
	else if (l->text) { /* the snapshot just saved, in the origin's language */
		free(origin->body);
		origin->http_status = 200;
		origin->body = l->text;
		l->text = NULL;
	} else {
		engine_reply_text(origin, 200,
				  render_intent_text(&l->pi, l->attempts, l->n, origin->lang));
	}
}

/* Applies the result `res` to the intent `l` and answers its origin. */
static int apply_result(struct engine *e, struct engine_cmd *res, struct loaded *l,
			enum exec_result *out)
{
	int rc = CAT_OK;
	*out = res->origin ? EXEC_REPLY : EXEC_NONE;
	l->failed_over = false;
	l->refusal = 0;
	struct payment_attempt *a = find_attempt(l, res->ch_req.reference);
	if (rc == CAT_OK && !a)
		rc = CAT_INTERNAL;
	if (rc == CAT_OK && still_open(l, a, res->ch_req.op)) {
		int64_t ms = res->ch_latency_ns / 1000000;
		a->latency_ms = (a->latency_ms > 0 ? a->latency_ms : 0) + ms;
		snprintf(a->raw_code, sizeof a->raw_code, "%s", res->ch_res.raw_code);
		snprintf(a->raw_message, sizeof a->raw_message, "%s", res->ch_res.raw_message);
		if (res->ch_req.op == CH_OP_CAPTURE || res->ch_req.op == CH_OP_VOID)
			rc = apply_operation(e, res, l, a);
		else if (res->ch_req.op == CH_OP_QUERY && operation_out(l, a))
			rc = apply_operation_query(e, res, l, a);
		else
			rc = apply_payment_outcome(e, res, l, a);
		if (rc == CAT_OK && !l->failed_over) /* a failover wrote it */
			rc = write_attempt(e, l, a);
	}
	if (l->failed_over && rc == CAT_OK)
		*out = EXEC_CALL; /* the origin is answered by the new attempt's result */
	else
		reply_origin(res, l, rc);
	return rc;
}

int payments_apply_result(struct engine *e, struct engine_cmd *res, enum exec_result *out)
{
	struct loaded *l = res->carry;
	int rc = CAT_OK;
	if (l) { /* the state the call's command left */
		res->carry = NULL;
		l->handed = false;
	} else if (!(l = loaded_new())) {
		return CAT_INTERNAL;
	} else if ((rc = load(e, res, res->target_id, l)) != CAT_OK) {
		*out = EXEC_NONE;
		release_loaded(l);
		return rc;
	}
	rc = apply_result(e, res, l, out);
	if (rc && res->origin)
		res->origin->err = res->err;
	release_loaded(l);
	return rc;
}
