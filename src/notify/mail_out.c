/* notify/mail_out: one payer e-mail, ready for libcurl's multi handle.
 * The event says what happened; the payer's address and language come
 * from the payment (receipt_email, payer_language) — a refund's from its
 * payment — or from the payout's saved recipient (email,
 * preferred_language).  No address: nothing to send (the delivery is
 * skipped).  notify/mail composes the message; it is uploaded over SMTP. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "notify/mail.h"
#include "notify/notify_internal.h"

struct payer {
	char email[PAYMENT_EMAIL_MAX + 1];
	char lang[PAYMENT_LANGUAGE_MAX];
};

static int intent_payer(struct notifier *n, const char *merchant_id, const char *intent_id,
			struct payer *p)
{
	struct payment_intent pi = {0};
	int rc = n->reader->ops->intent_get(n->reader, merchant_id, intent_id, &pi);
	if (rc == CAT_OK) {
		memcpy(p->email, pi.receipt_email, sizeof p->email);
		memcpy(p->lang, pi.payer_language, sizeof p->lang);
	}
	payment_intent_clear(&pi);
	return rc;
}

static int recipient_payer(struct notifier *n, const char *merchant_id, const char *recipient_id,
			   struct payer *p)
{
	struct recipient r = {0};
	int rc = n->reader->ops->recipient_get(n->reader, merchant_id, recipient_id, &r);
	if (rc == CAT_OK) {
		memcpy(p->email, r.email, sizeof p->email);
		memcpy(p->lang, r.preferred_language, sizeof p->lang);
	}
	recipient_clear(&r);
	return rc;
}

static const char *text_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* What the event tells the payer, and whom; false when the event is not
 * one a payer is told about (a refund's update that is not a success). */
/* Whose contact the e-mail goes to: the payment's or the recipient's. */
enum payer_of { PAYER_OF_INTENT, PAYER_OF_RECIPIENT };

static bool facts_of(const char *type, json_t *obj, struct mail_facts *f, const char **owner_key,
		     enum payer_of *whose)
{
	const char *status = text_of(obj, "status");
	f->amount = json_integer_value(json_object_get(obj, "amount"));
	f->currency = text_of(obj, "currency");
	f->object_id = text_of(obj, "id");
	if (strcmp(type, "payment_intent.payment_failed") == 0) {
		f->kind = MAIL_PAYMENT_FAILED;
		f->code = (int)json_integer_value(
			json_object_get(json_object_get(obj, "last_payment_error"), "payd_code"));
		*owner_key = "id";
		*whose = PAYER_OF_INTENT;
		return true;
	}
	if (strncmp(type, "refund.", 7) == 0) {
		bool failed = strcmp(type, "refund.failed") == 0;
		if (!failed && strcmp(status, "succeeded") != 0)
			return false;
		f->kind = failed ? MAIL_REFUND_FAILED : MAIL_REFUND_SUCCEEDED;
		f->code = (int)json_integer_value(json_object_get(obj, "payd_code"));
		*owner_key = "payment_intent";
		*whose = PAYER_OF_INTENT;
		return true;
	}
	if (strcmp(type, "payout.updated") == 0 && strcmp(status, "in_transit") != 0)
		return false;
	f->kind = MAIL_PAYOUT_STATUS;
	f->payout_status = status;
	f->code = (int)json_integer_value(json_object_get(obj, "payd_code"));
	if (strcmp(status, "failed") == 0 && !f->code)
		f->code = CAT_PAYOUT_DECLINED;
	*owner_key = "destination";
	*whose = PAYER_OF_RECIPIENT;
	return true;
}

/* The message for the event, or NOTIFY_NO_ONE with why. */
static enum notify_prepared compose(struct notifier *n, struct notify_job *j,
				    const struct store_event *ev, char *why, size_t why_cap)
{
	json_t *obj = ev->data_json ? json_loads(ev->data_json, 0, NULL) : NULL;
	struct mail_facts f = {.lang = "en"};
	const char *owner_key = NULL;
	struct payer p = {0};
	enum notify_prepared out = NOTIFY_NO_ONE;
	int rc = CAT_NO_SUCH_OBJECT;
	enum payer_of whose = PAYER_OF_INTENT;
	if (obj && facts_of(ev->type, obj, &f, &owner_key, &whose))
		rc = whose == PAYER_OF_RECIPIENT
			     ? recipient_payer(n, ev->merchant_id, text_of(obj, owner_key), &p)
			     : intent_payer(n, ev->merchant_id, text_of(obj, owner_key), &p);
	else
		snprintf(why, why_cap, "nothing to tell the payer about %s", ev->type);
	if ((rc == CAT_OK && !p.email[0]) || (rc == CAT_NO_SUCH_OBJECT && !why[0]))
		snprintf(why, why_cap, "no e-mail address for the payer");
	if (rc == CAT_OK && p.email[0]) {
		f.lang = p.lang[0] ? p.lang : "en";
		out = mail_compose(&f, n->mail.from, p.email, clock_now_ms(n->clock), &j->payload)
			      ? NOTIFY_NO_ONE
			      : NOTIFY_READY;
		if (out == NOTIFY_NO_ONE)
			snprintf(why, why_cap, "the e-mail could not be composed");
	} else if (rc != CAT_OK && rc != CAT_NO_SUCH_OBJECT) {
		out = NOTIFY_LATER;
	}
	if (out == NOTIFY_READY) {
		j->payload_len = strlen(j->payload);
		memcpy(j->to, p.email, sizeof j->to);
	}
	json_decref(obj);
	return out;
}

enum notify_prepared notify_prepare_mail(struct notifier *n, struct notify_job *j, char *why,
					 size_t why_cap)
{
	if (!n->mail.smtp_url[0]) {
		snprintf(why, why_cap, "payer e-mails are off");
		return NOTIFY_NO_ONE;
	}
	struct store_event ev = {0};
	int rc = n->reader->ops->event_get(n->reader, j->d.merchant_id, j->d.event_id, &ev);
	enum notify_prepared out = rc == CAT_NO_SUCH_OBJECT ? NOTIFY_NO_ONE
				   : rc			   ? NOTIFY_LATER
							   : compose(n, j, &ev, why, why_cap);
	store_event_clear(&ev);
	if (out == NOTIFY_READY &&
	    (!(j->easy = curl_easy_init()) ||
	     !mail_setup(j->easy, &j->rcpt, &j->upload, n->mail.smtp_url, n->mail.from,
			 j->to, j->payload, n->mail.timeout_ms)))
		out = NOTIFY_LATER;
	return out;
}
