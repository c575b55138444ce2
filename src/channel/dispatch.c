/* channel/dispatch: sends network channels' requests (channel/http.c) over
 * HTTP, concurrently, from one thread running a libcurl multi handle, and
 * reports each result through the caller's `done` on that thread.
 *
 * Submitters (any thread) encode the request, put a job on a queue under
 * a mutex and wake the thread (curl_multi_wakeup).  The thread starts
 * queued jobs while at most DISPATCH_MAX_IN_FLIGHT are in libcurl and at
 * most DISPATCH_PER_HOST_MAX go to one URL (= libcurl's connection limit
 * per host, so no transfer waits inside libcurl with its timeout running);
 * the others wait in the queue, which holds at most DISPATCH_QUEUE_MAX.
 * Connections are kept alive and reused by the one multi handle.
 *
 * What was sent decides the outcome of a failure, so it is tracked
 * exactly: libcurl calls the pre-request callback right before it sends a
 * request on a connection.  Never called → nothing was sent (refused, even
 * after a connect timeout).  libcurl silently re-sends a request whose
 * reused connection died without an answer; that could execute a payment
 * twice, so a second pre-request call aborts the transfer, whose outcome is
 * then unknown (the resolver asks the channel instead).
 *
 * A payout's destination (req->payout, the account number in clear) is
 * copied into the job like the payment method; when the job ends, the copy
 * and the encoded body that carries the number are wiped (explicit_bzero)
 * before their memory is freed. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "channel/channel.h"
#include "channel/dispatch_internal.h"
#include "channel/http_internal.h"
#include "core/catalog.h"

#define DISPATCH_HEALTH_PATH "/v1/health"

struct dispatch_job {
	struct dispatch_job *next;
	struct channel *ch;
	struct channel_request req;
	struct payment_method method; /* req.method points here */
	struct channel_payout payout; /* req.payout points here; wiped at the end */
	channel_done_fn done;
	void *ctx;
	bool probe;
	int refused;             /* answered without sending: the catalog code */
	const char *refused_raw; /* and its raw code */
	struct channel_http_request http;
	size_t body_len;
	int host; /* index into d->hosts, -1 when not counted */
	CURL *easy;
	struct curl_slist *headers;
	char *reply;
	size_t reply_len, reply_cap;
	bool reply_too_long;
	char signature[HTTP_SIGNATURE_MAX + 1]; /* the answer's X-Payd-Signature */
	bool signature_too_long;
	int prereq_calls; /* requests libcurl was about to send */
	int64_t start_ns;
};

struct dispatch_host {
	char url[CHANNEL_URL_MAX];
	int in_flight;
};

struct dispatch_list {
	struct dispatch_job *head, *tail;
	int count;
};

struct channel_dispatch {
	pthread_t thread;
	CURLM *multi;
	pthread_mutex_t mu;
	/* under mu */
	struct dispatch_list queue;    /* to send */
	struct dispatch_list answered; /* answered without sending */
	bool stopping;
	/* the dispatcher thread's own */
	struct dispatch_list active; /* inside libcurl */
	struct dispatch_host hosts[DISPATCH_HOSTS_MAX];
	int host_count;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- lists and jobs ---------------------------------------------------------- */

static void list_push(struct dispatch_list *l, struct dispatch_job *job)
{
	job->next = NULL;
	if (l->tail)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	l->count++;
}

/* Unlinks job, whose predecessor is prev (NULL: the head). */
static void list_unlink(struct dispatch_list *l, struct dispatch_job *prev, struct dispatch_job *job)
{
	if (prev)
		prev->next = job->next;
	else
		l->head = job->next;
	if (l->tail == job)
		l->tail = prev;
	job->next = NULL;
	l->count--;
}

void (*dispatch_wiped_hook)(const struct channel_payout *payout, const char *body,
			   size_t body_len);

static void job_free(struct dispatch_job *job)
{
	if (!job)
		return;
	if (job->easy)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->headers);
	size_t body_len = job->http.body ? strlen(job->http.body) : 0;
	if (job->http.body)
		explicit_bzero(job->http.body, body_len);
	free(job->reply);
	explicit_bzero(&job->method, sizeof job->method);
	explicit_bzero(&job->payout, sizeof job->payout);
	if (dispatch_wiped_hook && job->req.payout)
		dispatch_wiped_hook(&job->payout, job->http.body, body_len);
	free(job->http.body);
	free(job);
}

static void list_free(struct dispatch_list *l)
{
	while (l->head) {
		struct dispatch_job *job = l->head;
		list_unlink(l, NULL, job);
		job_free(job);
	}
}

static void answer_refused(struct dispatch_job *job)
{
	struct channel_result res = {.outcome = CH_NOT_EXECUTED, .code = job->refused};
	snprintf(res.raw_code, sizeof res.raw_code, "%s", job->refused_raw);
	snprintf(res.raw_message, sizeof res.raw_message, "not sent: %s", job->refused_raw);
	job->done(job->ctx, &res, 0);
}

/* ---- hosts ---------------------------------------------------------------------- */

static int host_of(struct channel_dispatch *d, const char *url)
{
	for (int i = 0; i < d->host_count; i++)
		if (strcmp(d->hosts[i].url, url) == 0)
			return i;
	if (d->host_count == DISPATCH_HOSTS_MAX)
		return -1;
	snprintf(d->hosts[d->host_count].url, sizeof d->hosts[0].url, "%s", url);
	d->hosts[d->host_count].in_flight = 0;
	return d->host_count++;
}

/* ---- libcurl callbacks ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct dispatch_job *job = userp;
	size_t n = size * nmemb;
	if (n > CHANNEL_BODY_MAX - job->reply_len) {
		job->reply_too_long = true;
		return 0; /* aborts the transfer: an answer cut short is no answer */
	}
	if (job->reply_len + n + 1 > job->reply_cap) {
		size_t cap = job->reply_cap ? job->reply_cap : 1024;
		while (cap < job->reply_len + n + 1)
			cap *= 2;
		char *p = realloc(job->reply, cap);
		if (!p)
			return 0;
		job->reply = p;
		job->reply_cap = cap;
	}
	memcpy(job->reply + job->reply_len, data, n);
	job->reply_len += n;
	job->reply[job->reply_len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	static const char name[] = "X-Payd-Signature:";
	struct dispatch_job *job = userp;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after a 1xx) */
		job->signature[0] = '\0';
		job->signature_too_long = false;
	}
	if (n < sizeof name - 1 || strncasecmp(data, name, sizeof name - 1) != 0)
		return n;
	const char *v = data + sizeof name - 1, *end = data + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t len = (size_t)(end - v);
	job->signature_too_long = len >= sizeof job->signature;
	if (!job->signature_too_long) {
		memcpy(job->signature, v, len);
		job->signature[len] = '\0';
	}
	return n;
}

static int on_prereq(void *userp, char *conn_primary_ip, char *conn_local_ip,
		     int conn_primary_port, int conn_local_port)
{
	(void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
	struct dispatch_job *job = userp;
	return job->prereq_calls++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

/* ---- starting a transfer ------------------------------------------------------------ */

static int add_headers(struct dispatch_job *job)
{
	char sig[HTTP_SIGNATURE_MAX], line[HTTP_SIGNATURE_MAX + 32];
	const char *body = job->http.body ? job->http.body : "";
	if (http_channel_sign(job->ch->config.secret, (int64_t)time(NULL), body, job->body_len, sig))
		return -1;
	snprintf(line, sizeof line, "X-Payd-Signature: %s", sig);
	const char *lines[] = {line, "Accept: application/json", "Expect:",
			       job->http.get ? NULL : "Content-Type: application/json"};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0] && lines[i]; i++) {
		struct curl_slist *l = curl_slist_append(job->headers, lines[i]);
		if (!l)
			return -1;
		job->headers = l;
	}
	return 0;
}

static int set_options(struct dispatch_job *job, const char *url)
{
	const struct channel_config *cfg = &job->ch->config;
	CURL *e = job->easy;
	int rc = 0;
	rc |= (int)curl_easy_setopt(e, CURLOPT_URL, url);
	rc |= (int)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= (int)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= (int)curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	rc |= (int)curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, DISPATCH_CONN_MAX_AGE_S);
	rc |= (int)curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
	rc |= (int)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	rc |= (int)curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
	rc |= (int)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	rc |= (int)curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
	rc |= (int)curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	rc |= (int)curl_easy_setopt(e, CURLOPT_PREREQDATA, job);
	rc |= (int)curl_easy_setopt(e, CURLOPT_PRIVATE, job);
	if (job->http.get) {
		rc |= (int)curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		rc |= (int)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)job->body_len);
		rc |= (int)curl_easy_setopt(e, CURLOPT_POSTFIELDS, job->http.body);
	}
	return rc ? -1 : 0;
}

/* The channel's URL (without a trailing '/') and the path, into url. */
static int make_url(const struct dispatch_job *job, char *url, size_t cap)
{
	const char *base = job->ch->config.url;
	size_t n = strnlen(base, sizeof job->ch->config.url);
	while (n > 0 && base[n - 1] == '/')
		n--;
	int len = snprintf(url, cap, "%.*s%s", (int)n, base, job->http.path);
	return len < 0 || (size_t)len >= cap ? -1 : 0;
}

static int job_start(struct channel_dispatch *d, struct dispatch_job *job)
{
	char url[CHANNEL_URL_MAX + sizeof job->http.path];
	int rc = -1;
	job->body_len = job->http.body ? strlen(job->http.body) : 0;
	if (make_url(job, url, sizeof url) || !(job->easy = curl_easy_init()))
		goto out;
	if (add_headers(job) || set_options(job, url))
		goto out;
	job->start_ns = clock_mono_ns();
	if (curl_multi_add_handle(d->multi, job->easy) != CURLM_OK)
		goto out;
	rc = 0;
out:
	return rc;
}

/* ---- finishing a transfer ------------------------------------------------------------- */

static enum channel_transport classify(const struct dispatch_job *job, CURLcode rc)
{
	if (rc == CURLE_OK)
		return CH_NET_ANSWERED;
	if (job->prereq_calls == 0)
		return CH_NET_REFUSED; /* no request ever left: not executed */
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return CH_NET_TIMEOUT;
	return CH_NET_BROKEN; /* sent, then no (whole) answer: may have executed */
}

static void job_answer(struct dispatch_job *job, CURLcode rc)
{
	struct channel_http_reply reply = {.transport = classify(job, rc), .body = "", .body_len = 0};
	if (reply.transport == CH_NET_ANSWERED) {
		curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &reply.status);
		if (job->reply) {
			reply.body = job->reply;
			reply.body_len = job->reply_len;
		}
		reply.signature_ok = !job->signature_too_long && job->signature[0] &&
				     http_channel_verify(job->ch->config.secret, job->signature,
							 reply.body, reply.body_len, (int64_t)time(NULL));
	}
	struct channel_result res;
	if (job->probe)
		http_channel_decode_probe(&reply, &res);
	else
		job->ch->ops->decode(job->ch, &job->req, &reply, &res);
	job->done(job->ctx, &res, clock_mono_ns() - job->start_ns);
}

/* Unlinks job from the active list and returns its slot to its host. */
static void job_retire(struct channel_dispatch *d, struct dispatch_job *job)
{
	struct dispatch_job *prev = NULL;
	for (struct dispatch_job *j = d->active.head; j && j != job; j = j->next)
		prev = j;
	list_unlink(&d->active, prev, job);
	if (job->host >= 0)
		d->hosts[job->host].in_flight--;
	curl_multi_remove_handle(d->multi, job->easy);
}

/* Answers every finished transfer; returns how many there were. */
static int finish_transfers(struct channel_dispatch *d)
{
	int finished = 0, left;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(d->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		CURLcode rc = msg->data.result; /* msg is invalid once the handle is removed */
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		struct dispatch_job *job = (struct dispatch_job *)priv;
		job_retire(d, job);
		job_answer(job, rc);
		job_free(job);
		finished++;
	}
	return finished;
}

/* ---- the thread ------------------------------------------------------------------------- */

/* Under d->mu: moves the jobs that may start now from the queue to `start`
 * and the answered ones to `answered`. */
static void take_jobs(struct channel_dispatch *d, struct dispatch_list *start,
		      struct dispatch_list *answered)
{
	*answered = d->answered;
	d->answered = (struct dispatch_list){0};
	int room = DISPATCH_MAX_IN_FLIGHT - d->active.count;
	struct dispatch_job *prev = NULL, *job = d->queue.head;
	while (job && start->count < room) {
		struct dispatch_job *next = job->next;
		int host = host_of(d, job->ch->config.url); /* looked up once per pass */
		if (host < 0 || d->hosts[host].in_flight < DISPATCH_PER_HOST_MAX) {
			list_unlink(&d->queue, prev, job);
			job->host = host;
			if (job->host >= 0)
				d->hosts[job->host].in_flight++;
			list_push(start, job);
		} else {
			prev = job;
		}
		job = next;
	}
}

static void start_jobs(struct channel_dispatch *d, struct dispatch_list *start)
{
	while (start->head) {
		struct dispatch_job *job = start->head;
		list_unlink(start, NULL, job);
		if (job_start(d, job) == 0) {
			list_push(&d->active, job);
			continue;
		}
		if (job->host >= 0)
			d->hosts[job->host].in_flight--;
		job->refused = CAT_CHANNEL_UNAVAILABLE;
		job->refused_raw = "DISPATCH_ERROR";
		answer_refused(job);
		job_free(job);
	}
}

static void *dispatch_main(void *arg)
{
	struct channel_dispatch *d = arg;
	for (;;) {
		struct dispatch_list start = {0}, answered = {0};
		pthread_mutex_lock(&d->mu);
		bool stop = d->stopping;
		if (!stop)
			take_jobs(d, &start, &answered);
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		for (struct dispatch_job *job = answered.head; job; job = answered.head) {
			list_unlink(&answered, NULL, job);
			answer_refused(job);
			job_free(job);
		}
		start_jobs(d, &start);
		int running = 0;
		curl_multi_perform(d->multi, &running);
		int finished = finish_transfers(d);
		curl_multi_poll(d->multi, NULL, 0, finished ? 0 : DISPATCH_POLL_MS, NULL);
	}
	return NULL;
}

/* ---- the interface ------------------------------------------------------------------------ */

int channel_dispatch_start(struct channel_dispatch **out)
{
	int rc = CAT_INTERNAL;
	struct channel_dispatch *d = NULL;
	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || !(d = calloc(1, sizeof *d)))
		goto out;
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		d = NULL;
		goto out;
	}
	if (!(d->multi = curl_multi_init()) ||
	    curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)DISPATCH_PER_HOST_MAX) ||
	    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)DISPATCH_MAX_IDLE_CONNECTS) ||
	    pthread_create(&d->thread, NULL, dispatch_main, d) != 0)
		goto out;
	*out = d;
	rc = CAT_OK;
out:
	if (rc && d) {
		if (d->multi)
			curl_multi_cleanup(d->multi);
		pthread_mutex_destroy(&d->mu);
		free(d);
	}
	return rc;
}

static void enqueue(struct channel_dispatch *d, struct dispatch_job *job)
{
	pthread_mutex_lock(&d->mu);
	if (!job->refused && d->queue.count >= DISPATCH_QUEUE_MAX) {
		job->refused = CAT_CHANNEL_UNAVAILABLE;
		job->refused_raw = "QUEUE_FULL";
	}
	list_push(job->refused ? &d->answered : &d->queue, job);
	pthread_mutex_unlock(&d->mu);
	curl_multi_wakeup(d->multi);
}

/* A job, or NULL after telling `done` (here, on the caller's thread: the
 * one case it is) that memory ran out. */
static struct dispatch_job *job_new(struct channel *ch, channel_done_fn done, void *ctx)
{
	struct dispatch_job *job = calloc(1, sizeof *job);
	if (!job) {
		struct channel_result res = {.outcome = CH_NOT_EXECUTED, .code = CAT_CHANNEL_UNAVAILABLE};
		snprintf(res.raw_code, sizeof res.raw_code, "OUT_OF_MEMORY");
		done(ctx, &res, 0);
		return NULL;
	}
	job->ch = ch;
	job->done = done;
	job->ctx = ctx;
	job->host = -1;
	return job;
}

void channel_dispatch_send(struct channel_dispatch *d, struct channel *ch,
			   const struct channel_request *req, channel_done_fn done, void *ctx)
{
	struct dispatch_job *job = job_new(ch, done, ctx);
	if (!job)
		return;
	job->req = *req;
	if (req->method) {
		job->method = *req->method;
		job->req.method = &job->method;
	}
	if (req->payout) {
		job->payout = *req->payout;
		job->req.payout = &job->payout;
	}
	int rc = ch->ops->encode ? ch->ops->encode(ch, &job->req, &job->http) : CAT_CHANNEL_REJECTED;
	if (rc) {
		if (job->http.body)
			explicit_bzero(job->http.body, strlen(job->http.body));
		free(job->http.body);
		job->http.body = NULL;
		job->refused = rc;
		job->refused_raw = req->op == CH_OP_VERIFY ? "NOT_SUPPORTED" : "INVALID_REQUEST";
	}
	enqueue(d, job);
}

void channel_dispatch_probe(struct channel_dispatch *d, struct channel *ch, channel_done_fn done,
			    void *ctx)
{
	struct dispatch_job *job = job_new(ch, done, ctx);
	if (!job)
		return;
	job->probe = true;
	job->http.get = true;
	snprintf(job->http.path, sizeof job->http.path, "%s", DISPATCH_HEALTH_PATH);
	if (!ch->ops->decode) { /* not a network channel */
		job->refused = CAT_CHANNEL_UNAVAILABLE;
		job->refused_raw = "NOT_SUPPORTED";
	}
	enqueue(d, job);
}

void channel_dispatch_stop(struct channel_dispatch *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_mutex_unlock(&d->mu);
	curl_multi_wakeup(d->multi);
	pthread_join(d->thread, NULL);
	while (d->active.head) {
		struct dispatch_job *job = d->active.head;
		job_retire(d, job);
		job_free(job);
	}
	list_free(&d->queue);
	list_free(&d->answered);
	curl_multi_cleanup(d->multi);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
