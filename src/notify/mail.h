/* notify/mail: e-mail to payers (and payout recipients) about what happened
 * to their money.  mail_compose turns a few facts into a complete RFC 5322
 * message in the payer's language (English or Simplified Chinese), with the
 * catalog's payer message for failures and a next step derived from the
 * failure's retry class; mail_send hands one message to an SMTP relay
 * through libcurl and says whether to retry.  Nothing here stores or
 * queues: the caller owns delivery, retries and the record of them. */
#ifndef PAYD_NOTIFY_MAIL_H
#define PAYD_NOTIFY_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

enum mail_kind {
	MAIL_PAYMENT_FAILED,   /* a payment failed: code = catalog code of the failure */
	MAIL_REFUND_SUCCEEDED, /* a refund was made */
	MAIL_REFUND_FAILED,    /* a refund failed: code = catalog code */
	MAIL_PAYOUT_STATUS,    /* a payout changed status: payout_status =
				  "in_transit"|"paid"|"failed"|"canceled"; code for failed */
};

struct mail_facts {
	enum mail_kind kind;
	const char *lang;      /* "en" or "zh-CN" (anything else: en) */
	int64_t amount;        /* minor units */
	const char *currency;  /* ISO 4217 lowercase or uppercase, e.g. "usd" */
	int code;              /* catalog code or 0 */
	const char *object_id; /* pi_..., re_..., po_... : shown as the reference */
	const char *payout_status;
	const char *merchant_name; /* may be NULL: "the merchant" / "商户" */
};

#define MAIL_ADDRESS_MAX 254                /* RFC 5321 path limit */
#define MAIL_LOCAL_MAX 64                   /* RFC 5321 local-part limit */
#define MAIL_LABEL_MAX 63                   /* one domain label */
#define MAIL_REFERENCE_MAX 64               /* object_id: [A-Za-z0-9_-], 1..64 bytes */
#define MAIL_MERCHANT_NAME_MAX 128          /* bytes of printable UTF-8 */
#define MAIL_MESSAGE_MAX 65536              /* mail_send refuses anything longer */
#define MAIL_SEND_TIMEOUT_DEFAULT_MS 30000L /* when timeout_ms <= 0 */

/* A plausible single mailbox: local@domain, 1..254 bytes, printable ASCII
 * only, exactly one '@', no spaces, no CR/LF, none of <>(),;:\"[]\\, local
 * part 1..64 bytes, domain has a dot or is "localhost", labels non-empty,
 * at most 63 bytes, letters, digits and '-' only.  Used to validate
 * receipt_email before anything is written, and to refuse header
 * injection. */
bool mail_address_valid(const char *addr);

/* The full RFC 5322 message (CRLF line ends): Date (from now_ms, UTC
 * "+0000"), From, To, Subject (RFC 2047 "=?UTF-8?B?...?=" words, folded,
 * when not pure ASCII), Message-ID (<random@from-domain>), MIME-Version,
 * Content-Type: text/plain; charset=UTF-8, Content-Transfer-Encoding:
 * base64, Content-Language (en or zh-CN), Auto-Submitted: auto-generated;
 * then the body, base64 in lines of 76.  Failures show the catalog's payer
 * message (never its merchant description) and a next step from the
 * retry class; a RESOLVE_FIRST code is told as "being confirmed", not as
 * a failure.  Returns 0 and a heap string in *out (caller frees), or -1
 * (*out NULL) for bad facts: an invalid from/to, unknown currency,
 * negative amount, missing or malformed object_id, a merchant name that
 * is not printable UTF-8 or too long, an unknown payout_status, or a
 * failure (payment failed, refund failed, payout failed) without a
 * catalog code. */
int mail_compose(const struct mail_facts *f, const char *from, const char *to, int64_t now_ms,
		 char **out);

enum mail_send_result { MAIL_SENT, MAIL_RETRY, MAIL_REJECTED };

/* One message's upload, for a transfer driven by the caller (the
 * notifier's multi handle): where the message is, how much has gone, and
 * libcurl's error text.  It must stay put until the transfer ends. */
struct mail_upload {
	const char *data;
	size_t len, at;
	char errbuf[CURL_ERROR_SIZE];
};
/* Sets up the easy handle c to send message from → to over smtp_url
 * (the options mail_send uses); *rcpt is the recipient list to free
 * (curl_slist_free_all) once the transfer is over.  False on arguments
 * mail_send refuses, or when an option is not taken. */
bool mail_setup(CURL *c, struct curl_slist **rcpt, struct mail_upload *u, const char *smtp_url,
		const char *from, const char *to, const char *message, long timeout_ms);
/* What a finished transfer means, from its CURLcode and last SMTP reply
 * code (CURLINFO_RESPONSE_CODE); err as for mail_send. */
enum mail_send_result mail_result(CURLcode rc, long reply, const struct mail_upload *u, char *err,
				  size_t err_cap);

/* Sends one message through libcurl's SMTP (smtp:// with opportunistic
 * STARTTLS, or smtps://; credentials may sit in the URL).  MAIL_SENT,
 * MAIL_RETRY (connection failure, timeout, a 4xx reply, or a 530/535
 * authentication refusal: the relay's configuration, not the message) or
 * MAIL_REJECTED (any other 5xx reply: a permanent refusal such as an
 * unknown recipient; also bad arguments, which no retry can fix).  err
 * gets a short reason (never the message body nor the URL); "" on
 * success.  timeout_ms <= 0 means MAIL_SEND_TIMEOUT_DEFAULT_MS. */
enum mail_send_result mail_send(const char *smtp_url, const char *from, const char *to,
				const char *message, long timeout_ms, char *err, size_t err_cap);

#endif
