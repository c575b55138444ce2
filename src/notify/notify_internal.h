/* notify/notify_internal: what the notifier's files share (notifier.c:
 * the thread, the outbox scan and the reports; webhook_out.c: building a
 * signed webhook request; mail_out.c: building a payer e-mail).  Only the
 * notifier's thread touches a job, except `acked` (under `lock`). */
#ifndef PAYD_NOTIFY_INTERNAL_H
#define PAYD_NOTIFY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>

#include "core/webhook.h"
#include "engine/engine.h"
#include "notify/guard.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/store.h"

#define NOTIFY_SNIPPET_MAX 80 /* bytes of an answer kept in the attempt's error */

struct notify_job {
	struct notify_job *next;
	struct delivery d;
	CURL *easy;
	struct curl_slist *headers; /* a webhook's */
	struct curl_slist *rcpt;    /* an e-mail's recipient */
	char to[PAYMENT_EMAIL_MAX + 1];
	struct mail_upload upload;  /* an e-mail's upload position */
	char *payload;              /* the webhook's body or the e-mail message */
	size_t payload_len;
	char snippet[NOTIFY_SNIPPET_MAX]; /* the first bytes of the answer */
	size_t snippet_len, got, limit; /* got: bytes of the answer read so far */
	struct guard_socket guard;
	int64_t started_ms, t0_ms;
	struct delivery_report outcome; /* what is reported (again, after a refusal) */
	int64_t retry_at_ms;        /* monotonic: offer the report again then (0: no need) */
	int64_t hold_until_ms;      /* monotonic: a delivery payd could not prepare rests until then */
	bool reported;              /* no longer under way (reported, or resting); under lock */
	bool acked;                 /* the engine answered: forget it (under lock) */
};

struct notifier {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t idle;   /* outstanding reached 0 */
	bool stopping;
	long outstanding;      /* reports the engine has not answered yet */
	struct notify_job *jobs; /* under way, or reported and not yet answered */
	CURLM *multi;
	struct store *reader;
	struct engine *engine;
	const struct payd_clock *clock;
	struct route_webhook_config wh;
	struct route_notify_config mail;
	uint8_t seal_key[32];
};

enum notify_prepared {
	NOTIFY_READY,  /* j->easy is set up: start it */
	NOTIFY_NO_ONE, /* nothing to send to (why says so): report it done */
	NOTIFY_LATER,  /* not now (payd could not read what to send, the endpoint is
			* disabled): the delivery rests a moment, nothing is recorded */
};

/* webhook_out.c */
enum notify_prepared notify_prepare_webhook(struct notifier *n, struct notify_job *j, char *why,
					    size_t why_cap);
/* mail_out.c */
enum notify_prepared notify_prepare_mail(struct notifier *n, struct notify_job *j, char *why,
					 size_t why_cap);

#endif
