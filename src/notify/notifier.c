/* notify/notifier: the thread that empties the outbox (see notify.h).
 *
 * Each turn it finishes the transfers libcurl completed (reporting each
 * to the engine), forgets the deliveries whose report the engine has
 * committed, and — every NOTIFY_SCAN_MS, and at once when one finished
 * and made room — reads the deliveries that are due, leaving out those under way and the endpoints at their limit, and
 * starts as many as the limits allow.  A delivery stays "busy" from its
 * start until the engine has answered its report, so it is never sent
 * twice at once; if the report is lost (the engine stopped or refused),
 * the delivery is still pending in the database and goes out again.
 *
 * Webhooks: the event exactly as GET /v1/events/:id shows it, signed with
 * the endpoint's secret (and with its previous one during a roll's
 * overlap), POSTed with no redirects, no proxy and the SSRF guard on every
 * connect; the answer is read up to the configured limit and only a
 * short, cleaned snippet of it is kept (never logged).  E-mails: the facts
 * of the event (and the payer's address and language from the payment or
 * recipient) composed by notify/mail and sent over SMTP. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "core/catalog.h"
#include "core/render.h"
#include "core/webhook.h"
#include "notify/guard.h"
#include "notify/mail.h"
#include "notify/notify_internal.h"
#include "notify/signature.h"
#include "store/store.h"

#define NOTIFY_SCAN_MS 100       /* how often the outbox is read */
#define NOTIFY_DUE_MAX 256       /* deliveries read per scan */
#define NOTIFY_RETRY_MS 1000     /* a report the engine could not take, a delivery payd could not prepare */

static int64_t mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

/* ---- jobs ----------------------------------------------------------------- */

static void job_free(struct notify_job *j)
{
	if (j->easy)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	curl_slist_free_all(j->rcpt);
	if (j->payload)
		explicit_bzero(j->payload, j->payload_len);
	free(j->payload);
	free(j);
}

/* Jobs to one endpoint (the SMTP relay for e-mails: "") not yet forgotten. */
static int jobs_to(const struct notifier *n, const char *endpoint_id)
{
	int count = 0;
	for (const struct notify_job *j = n->jobs; j; j = j->next)
		count += strcmp(j->d.endpoint_id, endpoint_id) == 0;
	return count;
}

static int jobs_sending(const struct notifier *n)
{
	int count = 0;
	for (const struct notify_job *j = n->jobs; j; j = j->next)
		count += !j->reported;
	return count;
}

/* ---- reports -------------------------------------------------------------- */

static void report_answered(struct engine_cmd *cmd)
{
	struct notifier *n = cmd->reply_ctx;
	/* Nothing of n is touched after the unlock: notify_stop may free it
	 * as soon as the last report is answered. */
	pthread_mutex_lock(&n->lock);
	for (struct notify_job *j = n->jobs; j; j = j->next)
		if (j->d.id == cmd->report.delivery_id && j->reported)
			j->acked = true;
	curl_multi_wakeup(n->multi);
	n->outstanding--;
	pthread_cond_broadcast(&n->idle);
	pthread_mutex_unlock(&n->lock);
	engine_cmd_release(cmd);
	free(cmd);
}

/* Hands j's outcome (j->outcome) to the engine.  When the engine cannot
 * take it now (its queue is full, memory is short) the job stays busy and
 * the report is offered again NOTIFY_RETRY_MS later: the delivery is not
 * sent again meanwhile. */
static void submit_report(struct notifier *n, struct notify_job *j)
{
	struct engine_cmd *cmd = calloc(1, sizeof *cmd);
	pthread_mutex_lock(&n->lock);
	j->reported = true;
	j->retry_at_ms = 0;
	n->outstanding += cmd != NULL;
	pthread_mutex_unlock(&n->lock);
	if (cmd) {
		cmd->kind = CMD_DELIVERY_REPORT;
		memcpy(cmd->merchant_id, j->d.merchant_id, sizeof cmd->merchant_id);
		snprintf(cmd->lang, sizeof cmd->lang, "en");
		cmd->report = j->outcome;
		cmd->reply = report_answered;
		cmd->reply_ctx = n;
		if (engine_submit(n->engine, cmd) == 0)
			return;
		free(cmd);
		pthread_mutex_lock(&n->lock);
		n->outstanding--;
		pthread_mutex_unlock(&n->lock);
	}
	j->retry_at_ms = mono_ms() + NOTIFY_RETRY_MS;
}

static void report(struct notifier *n, struct notify_job *j, const struct delivery_report *r)
{
	j->outcome = *r;
	submit_report(n, j);
}

static void retry_reports(struct notifier *n)
{
	int64_t now = mono_ms();
	for (struct notify_job *j = n->jobs; j; j = j->next)
		if (j->retry_at_ms && now >= j->retry_at_ms)
			submit_report(n, j);
}

static void report_no_one(struct notifier *n, struct notify_job *j, const char *why)
{
	struct delivery_report r = {.delivery_id = j->d.id, .outcome = DELIVERY_NO_ONE};
	snprintf(r.error, sizeof r.error, "%s", why);
	report(n, j, &r);
}

/* payd could not make the request (a read failed, a secret would not
 * open): not the endpoint's failure, so nothing is recorded against it;
 * the delivery rests NOTIFY_RETRY_MS, then the next scan takes it again. */
static void hold(struct notifier *n, struct notify_job *j, const char *why)
{
	log_msg(LOG_WARN, "delivery_not_prepared", "delivery %lld (%s) waits: %s",
		(long long)j->d.id, j->d.event_id, why);
	pthread_mutex_lock(&n->lock);
	j->reported = true; /* not under way: nothing to report */
	j->hold_until_ms = mono_ms() + NOTIFY_RETRY_MS;
	pthread_mutex_unlock(&n->lock);
}

/* Forgets the jobs whose report the engine has answered; true when
 * any was (room for more). */
static bool forget_acked(struct notifier *n)
{
	bool freed = false;
	pthread_mutex_lock(&n->lock);
	struct notify_job **link = &n->jobs;
	while (*link) {
		struct notify_job *j = *link;
		if (j->acked || (j->hold_until_ms && mono_ms() >= j->hold_until_ms)) {
			*link = j->next;
			job_free(j);
			freed = true;
		} else {
			link = &j->next;
		}
	}
	pthread_mutex_unlock(&n->lock);
	return freed;
}

/* ---- finishing a transfer ------------------------------------------------- */

/* The answer's first bytes as printable ASCII, for the attempt's record. */
static void add_snippet(char *error, size_t cap, const char *got, size_t len)
{
	size_t at = strlen(error);
	if (!len || at + 4 >= cap)
		return;
	at += (size_t)snprintf(error + at, cap - at, ": ");
	for (size_t i = 0; i < len && at + 1 < cap; i++)
		error[at++] = got[i] >= 0x20 && got[i] < 0x7f ? got[i] : ' ';
	error[at] = '\0';
}

static void finish(struct notifier *n, CURL *easy, CURLcode result)
{
	struct notify_job *j = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	curl_multi_remove_handle(n->multi, easy);
	long status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	struct delivery_report r = {.delivery_id = j->d.id, .outcome = DELIVERY_TRIED,
				    .started_ms = j->started_ms, .status = (int)status,
				    .latency_ms = mono_ms() - j->t0_ms};
	bool ok;
	if (j->d.kind == DELIVERY_EMAIL) {
		enum mail_send_result m = mail_result(result, status, &j->upload, r.error, sizeof r.error);
		ok = m == MAIL_SENT;
		r.permanent = m == MAIL_REJECTED;
		r.status = ok && !status ? 250 : (int)status;
	} else {
		ok = webhook_status_ok((int)status); /* a cut-off answer still counts */
		if (j->guard.refused)
			snprintf(r.error, sizeof r.error,
				 "refused to connect: the address is link-local, cloud metadata or "
				 "private");
		else if (!status)
			snprintf(r.error, sizeof r.error, "%s", curl_easy_strerror(result));
		else if (!ok)
			snprintf(r.error, sizeof r.error, "HTTP %ld", status);
		if (!ok && status)
			add_snippet(r.error, sizeof r.error, j->snippet, j->snippet_len);
	}
	if (!ok) /* the status only: the answer's snippet stays in the database */
		log_msg(LOG_INFO, "delivery_attempt_failed", "delivery %lld (%s) attempt failed: %s %ld",
			(long long)j->d.id, j->d.event_id, status ? "status" : curl_easy_strerror(result),
			status);
	report(n, j, &r);
}

static void take_finished(struct notifier *n)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(n->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			finish(n, msg->easy_handle, msg->data.result);
}

/* ---- starting one --------------------------------------------------------- */

static void job_start(struct notifier *n, struct notify_job *j)
{
	j->started_ms = clock_now_ms(n->clock);
	j->t0_ms = mono_ms();
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	if (curl_multi_add_handle(n->multi, j->easy) != CURLM_OK)
		hold(n, j, "could not start the transfer");
}

static bool busy(const struct notifier *n, int64_t delivery_id)
{
	for (const struct notify_job *j = n->jobs; j; j = j->next)
		if (j->d.id == delivery_id)
			return true;
	return false;
}

static void start_one(struct notifier *n, const struct delivery *d)
{
	if (busy(n, d->id))
		return; /* never twice at once */
	struct notify_job *j = calloc(1, sizeof *j);
	if (!j)
		return;
	j->d = *d;
	pthread_mutex_lock(&n->lock);
	j->next = n->jobs;
	n->jobs = j;
	pthread_mutex_unlock(&n->lock);
	char why[WEBHOOK_ERROR_MAX] = "";
	int rc = d->kind == DELIVERY_EMAIL ? notify_prepare_mail(n, j, why, sizeof why)
					   : notify_prepare_webhook(n, j, why, sizeof why);
	if (rc == NOTIFY_READY)
		job_start(n, j);
	else if (rc == NOTIFY_NO_ONE)
		report_no_one(n, j, why);
	else
		hold(n, j, why[0] ? why : "could not prepare the request");
}

/* ---- scanning the outbox -------------------------------------------------- */

struct scan {
	struct notifier *n;
	struct delivery *due;
	int count;
};

static void collect_due(void *ctx, const void *record)
{
	struct scan *s = ctx;
	s->due[s->count++] = *(const struct delivery *)record;
}

/* The busy delivery ids and the endpoints at their limit, as JSON arrays. */
static void busy_lists(struct notifier *n, char **busy, char **full)
{
	json_t *ids = json_array(), *ends = json_array();
	json_t *counts = json_object(); /* endpoint id -> jobs to it */
	for (const struct notify_job *j = n->jobs; j; j = j->next) {
		json_array_append_new(ids, json_integer(j->d.id));
		json_int_t count = json_integer_value(json_object_get(counts, j->d.endpoint_id)) + 1;
		json_object_set_new(counts, j->d.endpoint_id, json_integer(count));
		if (count == n->wh.per_endpoint) /* reaches its limit: listed once */
			json_array_append_new(ends, json_string(j->d.endpoint_id));
	}
	json_decref(counts);
	*busy = json_dumps(ids, JSON_COMPACT);
	*full = json_dumps(ends, JSON_COMPACT);
	json_decref(ids);
	json_decref(ends);
}

static void scan(struct notifier *n)
{
	int room = n->wh.max_in_flight - jobs_sending(n);
	if (room <= 0)
		return;
	struct delivery *due = calloc(NOTIFY_DUE_MAX, sizeof *due);
	char *busy_ids = NULL, *full = NULL;
	busy_lists(n, &busy_ids, &full);
	struct scan s = {.n = n, .due = due};
	int64_t now = clock_now_ms(n->clock);
	int rc = due && busy_ids && full /* without the lists, what is under way would come back */
			 ? n->reader->ops->delivery_due(n->reader, now, NOTIFY_DUE_MAX, busy_ids,
							full, collect_due, &s)
			 : CAT_INTERNAL;
	if (rc)
		log_msg(LOG_WARN, "outbox_unreadable", "the outbox could not be read (code %d)", rc);
	if (s.count)
		engine_wait_durable(n->engine); /* never tell what a crash could still undo */
	for (int i = 0; i < s.count && room > 0; i++)
		if (jobs_to(n, due[i].endpoint_id) < n->wh.per_endpoint) {
			start_one(n, &due[i]);
			room--;
		}
	free(busy_ids);
	free(full);
	free(due);
}

/* ---- the thread ----------------------------------------------------------- */

static bool stopping(struct notifier *n)
{
	pthread_mutex_lock(&n->lock);
	bool stop = n->stopping;
	pthread_mutex_unlock(&n->lock);
	return stop;
}

static void *notifier_main(void *arg)
{
	struct notifier *n = arg;
	int64_t next_scan = 0;
	while (!stopping(n)) {
		int running = 0;
		curl_multi_perform(n->multi, &running);
		take_finished(n);
		retry_reports(n);
		bool room = forget_acked(n); /* a finished delivery makes room: look again now */
		int64_t now = mono_ms();
		if (room || now >= next_scan) {
			scan(n);
			next_scan = now + NOTIFY_SCAN_MS;
			curl_multi_perform(n->multi, &running);
		}
		int64_t wait = next_scan - mono_ms();
		curl_multi_poll(n->multi, NULL, 0, wait > 0 ? (int)wait : 0, NULL);
	}
	return NULL;
}

static int open_reader(struct notifier *n, const char *db_path, char *err, size_t err_cap)
{
	struct store_open_opts opts = {.flags = STORE_READONLY};
	int rc = store_open_sqlite(db_path, &opts, &n->reader, err, err_cap);
	if (!rc)
		rc = n->reader->ops->secret_get(n->reader, WEBHOOK_SEAL_SECRET, n->seal_key);
	if (rc)
		snprintf(err, err_cap, "the notifier cannot read the database (code %d)", rc);
	return rc;
}

int notify_start(const struct notify_config *cfg, struct notifier **out, char *err, size_t err_cap)
{
	struct notifier *n = calloc(1, sizeof *n);
	if (!n)
		return CAT_INTERNAL;
	n->engine = cfg->engine;
	n->clock = cfg->clock ? cfg->clock : &clock_system;
	n->wh = cfg->webhooks;
	n->mail = cfg->mail;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->idle, NULL);
	int rc = open_reader(n, cfg->db_path, err, err_cap);
	if (!rc && !(n->multi = curl_multi_init()))
		rc = CAT_INTERNAL;
	if (!rc)
		curl_multi_setopt(n->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
				  (long)n->wh.max_in_flight);
	if (!rc && pthread_create(&n->thread, NULL, notifier_main, n) != 0)
		rc = CAT_INTERNAL;
	if (rc) {
		if (n->multi)
			curl_multi_cleanup(n->multi);
		if (n->reader)
			store_close(n->reader);
		pthread_cond_destroy(&n->idle);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return rc;
	}
	*out = n;
	return CAT_OK;
}

/* Transfers under way when payd stops may have reached their endpoint:
 * each is recorded as an attempt that was cut short (the engine still
 * runs), and its delivery stays pending. */
static void report_interrupted(struct notifier *n)
{
	for (struct notify_job *j = n->jobs; j; j = j->next) {
		if (j->reported || !j->easy)
			continue;
		curl_multi_remove_handle(n->multi, j->easy);
		struct delivery_report r = {.delivery_id = j->d.id, .outcome = DELIVERY_TRIED,
					    .started_ms = j->started_ms,
					    .latency_ms = mono_ms() - j->t0_ms};
		snprintf(r.error, sizeof r.error, "cut short: payd stopped during the attempt");
		report(n, j, &r);
	}
}

void notify_stop(struct notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	pthread_mutex_unlock(&n->lock);
	curl_multi_wakeup(n->multi);
	pthread_join(n->thread, NULL);
	report_interrupted(n);
	/* Reports the engine still holds will be answered: wait for them. */
	pthread_mutex_lock(&n->lock);
	while (n->outstanding > 0)
		pthread_cond_wait(&n->idle, &n->lock);
	pthread_mutex_unlock(&n->lock);
	while (n->jobs) {
		struct notify_job *j = n->jobs;
		n->jobs = j->next;
		job_free(j);
	}
	curl_multi_cleanup(n->multi);
	store_close(n->reader);
	explicit_bzero(n->seal_key, sizeof n->seal_key);
	pthread_cond_destroy(&n->idle);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
