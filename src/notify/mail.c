/* notify/mail: payer e-mail, composed and sent (see notify/mail.h).
 *
 * Composition is pure apart from the Message-ID's randomness: the facts
 * pick a language and a "case" (payment failed, payment being confirmed,
 * refund made, ...), each case has a subject, a headline and a next step
 * per language in the tables below, and failures add the catalog's payer
 * message.  Texts are templates with {amount} and {merchant} filled in by
 * mail_expand, so no text is ever used as a printf format.  The subject
 * goes out as RFC 2047 base64 words, each holding whole UTF-8 characters
 * and folded onto its own line; the body goes out as base64, so merchant
 * names can neither break a header nor the SMTP dot framing.
 *
 * Sending: mail_setup prepares a libcurl easy handle for one message
 * (the notifier drives it in its multi handle, next to webhooks);
 * mail_send is the same, performed at once.  The last SMTP reply code
 * tells a retry from a refusal (mail_result). */
#include "notify/mail.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/crypto.h"
#include "base/currency.h"
#include "base/money.h"
#include "base/utf8.h"
#include "core/catalog.h"

#define MAIL_B64_LINE_BYTES 57    /* one 76-character base64 line */
#define MAIL_WORD_BYTES 42        /* per RFC 2047 word: 56 characters, lines stay under 78 */
#define MAIL_SUBJECT_ASCII_MAX 69 /* "Subject: " + 69 = 78 characters */
#define MAIL_MSGID_RANDOM_LEN 24  /* base62: ~142 bits */
#define MAIL_AMOUNT_TEXT_MAX (MONEY_TEXT_MAX + 1 + CURRENCY_CODE_LEN)
#define MAIL_DATE_MAX 64
#define MAIL_PATH_MAX (MAIL_ADDRESS_MAX + 3) /* "<" addr ">" NUL */

enum mail_lang { MAIL_EN, MAIL_ZH, MAIL_LANG_COUNT };

enum mail_case {
	MC_PAY_FAILED,
	MC_PAY_PENDING, /* a RESOLVE_FIRST code: the outcome is still being confirmed */
	MC_REFUND_OK,
	MC_REFUND_FAILED,
	MC_PAYOUT_PAID,
	MC_PAYOUT_IN_TRANSIT,
	MC_PAYOUT_FAILED,
	MC_PAYOUT_CANCELED,
	MC_COUNT
};

struct mail_text {
	const char *subject;
	const char *headline;
	const char *next; /* NULL: the failure's retry class decides */
};

/* Per language and case: the subject, the body's headline and the next
 * step ({amount} and {merchant} are filled in). */
static const struct mail_text mail_texts[MAIL_LANG_COUNT][MC_COUNT] = {
	[MAIL_EN][MC_PAY_FAILED] = {
		"Your payment of {amount} to {merchant} did not go through",
		"Your payment of {amount} to {merchant} did not go through.",
		NULL},
	[MAIL_EN][MC_PAY_PENDING] = {
		"Your payment of {amount} to {merchant} is being confirmed",
		"Your payment of {amount} to {merchant} is being confirmed.",
		NULL},
	[MAIL_EN][MC_REFUND_OK] = {
		"Your refund of {amount} from {merchant} is on its way",
		"A refund of {amount} from {merchant} has been sent to your original payment "
		"method.",
		"Refunds usually take 5–10 business days to appear on your statement. If it has "
		"not appeared by then, please contact {merchant}."},
	[MAIL_EN][MC_REFUND_FAILED] = {
		"Your refund of {amount} from {merchant} could not be completed",
		"Your refund of {amount} from {merchant} could not be completed.",
		"If {merchant} has not contacted you within a few days, please contact them to "
		"arrange your refund."},
	[MAIL_EN][MC_PAYOUT_PAID] = {
		"Your payout of {amount} from {merchant} has arrived",
		"Your payout of {amount} from {merchant} has been paid into your bank account.",
		"The money has arrived in your bank account. No action is needed."},
	[MAIL_EN][MC_PAYOUT_IN_TRANSIT] = {
		"Your payout of {amount} from {merchant} is on its way",
		"Your payout of {amount} from {merchant} is on its way to your bank account.",
		"The money is on its way to your bank account. No action is needed."},
	[MAIL_EN][MC_PAYOUT_FAILED] = {
		"Your payout of {amount} from {merchant} failed",
		"Your payout of {amount} from {merchant} could not be paid into your bank account.",
		"Please check your bank account details with {merchant}."},
	[MAIL_EN][MC_PAYOUT_CANCELED] = {
		"Your payout of {amount} from {merchant} was canceled",
		"Your payout of {amount} from {merchant} was canceled.",
		"Please contact {merchant} if you have any questions about this payout."},

	[MAIL_ZH][MC_PAY_FAILED] = {
		"您向{merchant}支付的 {amount} 未成功",
		"您向{merchant}支付的 {amount} 未成功。",
		NULL},
	[MAIL_ZH][MC_PAY_PENDING] = {
		"您向{merchant}支付的 {amount} 正在确认中",
		"您向{merchant}支付的 {amount} 正在确认中。",
		NULL},
	[MAIL_ZH][MC_REFUND_OK] = {
		"{merchant}已向您退款 {amount}",
		"{merchant}已将 {amount} 退回您的原支付方式。",
		"退款通常需要 5–10 个工作日到账。如届时仍未到账，请联系{merchant}。"},
	[MAIL_ZH][MC_REFUND_FAILED] = {
		"您在{merchant}的 {amount} 退款未能完成",
		"您在{merchant}的 {amount} 退款未能完成。",
		"如几天内{merchant}仍未与您联系，请主动联系{merchant}办理退款。"},
	[MAIL_ZH][MC_PAYOUT_PAID] = {
		"{merchant}向您支付的 {amount} 已到账",
		"{merchant}向您支付的 {amount} 已转入您的银行账户。",
		"款项已到达您的银行账户，无需进行任何操作。"},
	[MAIL_ZH][MC_PAYOUT_IN_TRANSIT] = {
		"{merchant}向您支付的 {amount} 正在转账途中",
		"{merchant}向您支付的 {amount} 正在转入您的银行账户。",
		"款项正在转入您的银行账户，无需进行任何操作。"},
	[MAIL_ZH][MC_PAYOUT_FAILED] = {
		"{merchant}向您支付的 {amount} 未能到账",
		"{merchant}向您支付的 {amount} 未能转入您的银行账户。",
		"请与{merchant}核对您的银行账户信息。"},
	[MAIL_ZH][MC_PAYOUT_CANCELED] = {
		"{merchant}向您支付的 {amount} 已取消",
		"{merchant}向您支付的 {amount} 已取消。",
		"如对这笔付款有任何疑问，请联系{merchant}。"},
};

/* A failed payment's next step, by the catalog's retry class. */
static const char *const mail_retry_next[MAIL_LANG_COUNT][CAT_RETRY_RESOLVE_FIRST + 1] = {
	[MAIL_EN][CAT_RETRY_NEVER] = "Please use another card or payment method.",
	[MAIL_EN][CAT_RETRY_LATER] = "Please try again in a few minutes.",
	[MAIL_EN][CAT_RETRY_OTHER_CHANNEL] = "Please try again now.",
	[MAIL_EN][CAT_RETRY_AFTER_VERIFICATION] =
		"Please complete the verification your bank asks for, then try again.",
	[MAIL_EN][CAT_RETRY_RESOLVE_FIRST] =
		"We are confirming the result with your bank. You will not be charged twice, "
		"and no action is needed.",

	[MAIL_ZH][CAT_RETRY_NEVER] = "请更换其他卡片或支付方式。",
	[MAIL_ZH][CAT_RETRY_LATER] = "请几分钟后再试。",
	[MAIL_ZH][CAT_RETRY_OTHER_CHANNEL] = "您现在即可重新支付。",
	[MAIL_ZH][CAT_RETRY_AFTER_VERIFICATION] = "请先完成银行要求的验证，然后重新支付。",
	[MAIL_ZH][CAT_RETRY_RESOLVE_FIRST] =
		"我们正在与银行确认支付结果，您不会被重复扣款，无需进行任何操作。",
};

struct mail_words {
	const char *greeting, *reference, *next_heading, *footer, *merchant, *language;
};

static const struct mail_words mail_words[MAIL_LANG_COUNT] = {
	[MAIL_EN] = {"Hello,", "Reference: ", "What to do next:",
		     "This is an automatic message; please do not reply to it.", "the merchant",
		     "en"},
	[MAIL_ZH] = {"您好：", "参考编号：", "下一步：", "此邮件为系统自动发送，请勿直接回复。",
		     "商户", "zh-CN"},
};

static const struct {
	const char *status;
	enum mail_case mcase;
} mail_payout_cases[] = {
	{"in_transit", MC_PAYOUT_IN_TRANSIT},
	{"paid", MC_PAYOUT_PAID},
	{"failed", MC_PAYOUT_FAILED},
	{"canceled", MC_PAYOUT_CANCELED},
};
#define MAIL_PAYOUT_CASE_COUNT (sizeof mail_payout_cases / sizeof mail_payout_cases[0])

/* Everything a message says, checked and resolved from the facts. */
struct mail_plan {
	enum mail_lang lang;
	enum mail_case mcase;
	const struct catalog_entry *entry; /* the failure, or NULL */
	char amount[MAIL_AMOUNT_TEXT_MAX]; /* "12.34 USD" */
	const char *merchant;
	const char *reference;
};

/* ---- addresses ----------------------------------------------------------------- */

static bool mail_domain_valid(const char *d, size_t len)
{
	if (len == 9 && strncasecmp(d, "localhost", 9) == 0)
		return true;
	if (!memchr(d, '.', len))
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = d[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-';
		if (!ldh || ++label > MAIL_LABEL_MAX)
			return false;
	}
	return label > 0;
}

bool mail_address_valid(const char *addr)
{
	if (!addr)
		return false;
	size_t len = strnlen(addr, MAIL_ADDRESS_MAX + 1);
	if (len == 0 || len > MAIL_ADDRESS_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c <= 0x20 || c >= 0x7f || strchr("<>(),;:\"[]\\", c))
			return false;
	}
	const char *at = strchr(addr, '@');
	if (!at || strchr(at + 1, '@'))
		return false;
	size_t local = (size_t)(at - addr);
	if (local == 0 || local > MAIL_LOCAL_MAX)
		return false;
	return mail_domain_valid(at + 1, len - local - 1);
}

/* ---- facts ---------------------------------------------------------------------- */

static enum mail_lang mail_lang_of(const char *lang)
{
	if (!lang || strncasecmp(lang, "zh", 2) != 0)
		return MAIL_EN;
	const char *rest = lang + 2;
	if (!*rest || strcasecmp(rest, "-CN") == 0 || strncasecmp(rest, "-Hans", 5) == 0)
		return MAIL_ZH;
	return MAIL_EN;
}

static bool mail_reference_valid(const char *id)
{
	if (!id)
		return false;
	size_t len = strnlen(id, MAIL_REFERENCE_MAX + 1);
	if (len == 0 || len > MAIL_REFERENCE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int mail_merchant(const char *name, enum mail_lang lang, const char **out)
{
	if (!name || !*name) {
		*out = mail_words[lang].merchant;
		return 0;
	}
	size_t len = strnlen(name, MAIL_MERCHANT_NAME_MAX + 1);
	if (len > MAIL_MERCHANT_NAME_MAX || !utf8_printable(name, len))
		return -1;
	*out = name;
	return 0;
}

static int mail_amount(int64_t amount, const char *code, char out[MAIL_AMOUNT_TEXT_MAX])
{
	const struct currency *cur = code ? currency_find(code) : NULL;
	char digits[MONEY_TEXT_MAX];
	if (!cur || amount < 0 || money_format(amount, cur, digits, sizeof digits) < 0)
		return -1;
	snprintf(out, MAIL_AMOUNT_TEXT_MAX, "%s %s", digits, cur->code);
	return 0;
}

/* The case and the catalog row the facts call for; -1 when they do not fit. */
static int mail_case_of(const struct mail_facts *f, struct mail_plan *p)
{
	p->entry = f->code ? catalog_get(f->code) : NULL;
	switch (f->kind) {
	case MAIL_PAYMENT_FAILED:
		p->mcase = p->entry && p->entry->retry == CAT_RETRY_RESOLVE_FIRST ? MC_PAY_PENDING
										  : MC_PAY_FAILED;
		return p->entry ? 0 : -1;
	case MAIL_REFUND_SUCCEEDED:
		p->mcase = MC_REFUND_OK;
		p->entry = NULL;
		return 0;
	case MAIL_REFUND_FAILED:
		p->mcase = MC_REFUND_FAILED;
		return p->entry ? 0 : -1;
	case MAIL_PAYOUT_STATUS:
		for (size_t i = 0; f->payout_status && i < MAIL_PAYOUT_CASE_COUNT; i++)
			if (strcmp(f->payout_status, mail_payout_cases[i].status) == 0) {
				p->mcase = mail_payout_cases[i].mcase;
				if (p->mcase != MC_PAYOUT_FAILED)
					p->entry = NULL;
				return p->mcase == MC_PAYOUT_FAILED && !p->entry ? -1 : 0;
			}
		return -1;
	}
	return -1;
}

static int mail_plan_make(const struct mail_facts *f, struct mail_plan *p)
{
	memset(p, 0, sizeof *p);
	p->lang = mail_lang_of(f->lang);
	p->reference = f->object_id;
	if (mail_case_of(f, p) || !mail_reference_valid(f->object_id) ||
	    mail_merchant(f->merchant_name, p->lang, &p->merchant) ||
	    mail_amount(f->amount, f->currency, p->amount))
		return -1;
	return 0;
}

/* ---- text ----------------------------------------------------------------------- */

/* Writes tmpl with {amount} and {merchant} replaced. */
static void mail_expand(FILE *m, const char *tmpl, const struct mail_plan *p)
{
	static const char amount_tag[] = "{amount}", merchant_tag[] = "{merchant}";
	while (*tmpl) {
		if (strncmp(tmpl, amount_tag, sizeof amount_tag - 1) == 0) {
			fputs(p->amount, m);
			tmpl += sizeof amount_tag - 1;
		} else if (strncmp(tmpl, merchant_tag, sizeof merchant_tag - 1) == 0) {
			fputs(p->merchant, m);
			tmpl += sizeof merchant_tag - 1;
		} else {
			fputc(*tmpl++, m);
		}
	}
}

static const char *mail_next_step(const struct mail_plan *p)
{
	const char *next = mail_texts[p->lang][p->mcase].next;
	if (next)
		return next;
	return mail_retry_next[p->lang][p->entry->retry];
}

static void mail_write_body(FILE *m, const struct mail_plan *p)
{
	const struct mail_words *w = &mail_words[p->lang];
	fprintf(m, "%s\r\n\r\n", w->greeting);
	mail_expand(m, mail_texts[p->lang][p->mcase].headline, p);
	fprintf(m, "\r\n%s%s\r\n", w->reference, p->reference);
	if (p->entry)
		fprintf(m, "\r\n%s\r\n",
			p->lang == MAIL_ZH ? p->entry->message_zh : p->entry->message_en);
	fprintf(m, "\r\n%s\r\n", w->next_heading);
	mail_expand(m, mail_next_step(p), p);
	fprintf(m, "\r\n\r\n%s\r\n", w->footer);
}

/* Heap text made by one of the writers above; NULL when memory ran out. */
static char *mail_text_of(const struct mail_plan *p, const char *subject_tmpl)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return NULL;
	if (subject_tmpl)
		mail_expand(m, subject_tmpl, p);
	else
		mail_write_body(m, p);
	if (fclose(m) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- headers -------------------------------------------------------------------- */

static int mail_date(int64_t now_ms, char out[MAIL_DATE_MAX])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	if (now_ms < 0)
		return -1;
	time_t secs = (time_t)(now_ms / 1000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm))
		return -1;
	snprintf(out, MAIL_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
	return 0;
}

/* Pure ASCII that no reader could take for an encoded word, on one line. */
static bool mail_subject_plain(const char *s)
{
	size_t len = strlen(s);
	if (len > MAIL_SUBJECT_ASCII_MAX || strstr(s, "=?"))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* At most max bytes of s[0..len) that end on a UTF-8 character boundary. */
static size_t mail_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n ? n : max;
}

static void mail_write_subject(FILE *m, const char *s)
{
	if (mail_subject_plain(s)) {
		fprintf(m, "Subject: %s\r\n", s);
		return;
	}
	fputs("Subject:", m);
	size_t len = strlen(s);
	for (size_t at = 0; at < len;) {
		unsigned char word[4 * MAIL_WORD_BYTES / 3 + 4];
		size_t n = mail_utf8_cut(s + at, len - at, MAIL_WORD_BYTES);
		EVP_EncodeBlock(word, (const unsigned char *)s + at, (int)n);
		fprintf(m, " =?UTF-8?B?%s?=\r\n", (const char *)word);
		at += n;
	}
}

static void mail_write_base64(FILE *m, const char *data)
{
	size_t len = strlen(data);
	for (size_t at = 0; at < len; at += MAIL_B64_LINE_BYTES) {
		unsigned char line[4 * MAIL_B64_LINE_BYTES / 3 + 1];
		size_t n = len - at < MAIL_B64_LINE_BYTES ? len - at : MAIL_B64_LINE_BYTES;
		EVP_EncodeBlock(line, (const unsigned char *)data + at, (int)n);
		fprintf(m, "%s\r\n", (const char *)line);
	}
}

static void mail_write_message(FILE *m, const struct mail_plan *p, const char *from,
			       const char *to, const char *date, const char *subject,
			       const char *body)
{
	char random[MAIL_MSGID_RANDOM_LEN + 1];
	crypto_random_base62(random, MAIL_MSGID_RANDOM_LEN);
	fprintf(m, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date, from, to);
	mail_write_subject(m, subject);
	fprintf(m, "Message-ID: <%s@%s>\r\n", random, strchr(from, '@') + 1);
	fputs("MIME-Version: 1.0\r\n"
	      "Content-Type: text/plain; charset=UTF-8\r\n"
	      "Content-Transfer-Encoding: base64\r\n",
	      m);
	fprintf(m, "Content-Language: %s\r\n", mail_words[p->lang].language);
	fputs("Auto-Submitted: auto-generated\r\n\r\n", m);
	mail_write_base64(m, body);
}

int mail_compose(const struct mail_facts *f, const char *from, const char *to, int64_t now_ms,
		 char **out)
{
	int rc = -1;
	struct mail_plan p;
	char date[MAIL_DATE_MAX];
	char *subject = NULL, *body = NULL, *msg = NULL;
	size_t msg_len = 0;
	FILE *m = NULL;
	if (!out)
		return -1;
	*out = NULL;
	if (!f || !mail_address_valid(from) || !mail_address_valid(to) || mail_plan_make(f, &p) ||
	    mail_date(now_ms, date))
		goto out;
	subject = mail_text_of(&p, mail_texts[p.lang][p.mcase].subject);
	body = mail_text_of(&p, NULL);
	if (!subject || !body)
		goto out;
	m = open_memstream(&msg, &msg_len);
	if (!m)
		goto out;
	mail_write_message(m, &p, from, to, date, subject, body);
	if (fclose(m) != 0)
		goto out;
	*out = msg;
	msg = NULL;
	rc = 0;
out:
	free(msg);
	free(subject);
	free(body);
	return rc;
}

/* ---- sending -------------------------------------------------------------------- */

static pthread_once_t mail_curl_once = PTHREAD_ONCE_INIT;
static CURLcode mail_curl_init_rc;

static void mail_curl_init(void)
{
	mail_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t mail_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct mail_upload *u = arg;
	size_t n = u->len - u->at;
	if (n > size * nitems)
		n = size * nitems;
	memcpy(buf, u->data + u->at, n);
	u->at += n;
	return n;
}

static enum mail_send_result mail_classify(CURLcode rc, long reply)
{
	if (rc == CURLE_OK)
		return MAIL_SENT;
	if (reply == 530 || reply == 535) /* the relay wants (other) credentials */
		return MAIL_RETRY;
	if (reply >= 500 && reply <= 599)
		return MAIL_REJECTED;
	return MAIL_RETRY;
}

static void mail_err(char *err, size_t cap, const char *text)
{
	if (err && cap)
		snprintf(err, cap, "%s", text);
}

/* Whether the relay is on this machine (127/8, ::1, localhost): the
 * only place plain SMTP is allowed; anywhere else smtp:// must upgrade
 * with STARTTLS (credentials and payers' messages never go in clear). */
static bool mail_relay_local(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool local = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		     (strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0 ||
		      strcasecmp(host, "localhost") == 0);
	curl_free(host);
	curl_url_cleanup(u);
	return local;
}

/* Sets every option; true only when all were taken. */
static bool mail_options(CURL *c, const char *url, const char *from_path,
			 struct curl_slist *rcpt, struct mail_upload *u, long timeout_ms)
{
	int bad = 0;
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, u->errbuf);
	bad |= curl_easy_setopt(c, CURLOPT_URL, url);
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	bad |= curl_easy_setopt(c, CURLOPT_USE_SSL,
				(long)(mail_relay_local(url) ? CURLUSESSL_TRY : CURLUSESSL_ALL));
	bad |= curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_path); /* copied by libcurl */
	bad |= curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	bad |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	bad |= curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
	bad |= curl_easy_setopt(c, CURLOPT_READDATA, u);
	bad |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->len);
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, "");
	return bad == 0;
}

/* The arguments mail_send and mail_setup accept; "" or why not. */
static const char *mail_refusal(const char *smtp_url, const char *from, const char *to,
				const char *message)
{
	if (!smtp_url || !message || !mail_address_valid(from) || !mail_address_valid(to))
		return "invalid url, address or message";
	if (strnlen(message, MAIL_MESSAGE_MAX + 1) > MAIL_MESSAGE_MAX)
		return "message too large";
	return "";
}

bool mail_setup(CURL *c, struct curl_slist **rcpt, struct mail_upload *u, const char *smtp_url,
		const char *from, const char *to, const char *message, long timeout_ms)
{
	*rcpt = NULL;
	memset(u, 0, sizeof *u);
	if (!c || mail_refusal(smtp_url, from, to, message)[0])
		return false;
	u->data = message;
	u->len = strlen(message);
	char from_path[MAIL_PATH_MAX], to_path[MAIL_PATH_MAX];
	snprintf(from_path, sizeof from_path, "<%s>", from);
	snprintf(to_path, sizeof to_path, "<%s>", to);
	*rcpt = curl_slist_append(NULL, to_path);
	return *rcpt && mail_options(c, smtp_url, from_path, *rcpt, u,
				     timeout_ms > 0 ? timeout_ms : MAIL_SEND_TIMEOUT_DEFAULT_MS);
}

enum mail_send_result mail_result(CURLcode rc, long reply, const struct mail_upload *u, char *err,
				  size_t err_cap)
{
	enum mail_send_result result = mail_classify(rc, reply);
	const char *why = u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc);
	mail_err(err, err_cap, "");
	if (result != MAIL_SENT && err && err_cap && reply)
		snprintf(err, err_cap, "smtp reply %ld: %s", reply, why);
	else if (result != MAIL_SENT && err && err_cap)
		snprintf(err, err_cap, "smtp: %s", why);
	return result;
}

enum mail_send_result mail_send(const char *smtp_url, const char *from, const char *to,
				const char *message, long timeout_ms, char *err, size_t err_cap)
{
	const char *refusal = mail_refusal(smtp_url, from, to, message);
	mail_err(err, err_cap, refusal);
	if (refusal[0])
		return MAIL_REJECTED;
	pthread_once(&mail_curl_once, mail_curl_init);
	if (mail_curl_init_rc != CURLE_OK) {
		mail_err(err, err_cap, "libcurl failed to initialise");
		return MAIL_RETRY;
	}
	struct mail_upload *u = calloc(1, sizeof *u);
	struct curl_slist *rcpt = NULL;
	CURL *c = curl_easy_init();
	enum mail_send_result result = MAIL_RETRY;
	mail_err(err, err_cap, "out of memory");
	if (u && c && mail_setup(c, &rcpt, u, smtp_url, from, to, message, timeout_ms)) {
		CURLcode rc = curl_easy_perform(c);
		long reply = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
		result = mail_result(rc, reply, u, err, err_cap);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(u);
	return result;
}
