/* tests/unit/test_mail: notify/mail.  Every kind composed in English and
 * Chinese, read back the way a mail reader would (RFC 2047 subject and
 * base64 body decoded here with OpenSSL, independently of mail.c): the
 * catalog's payer message (never the merchant description: lost/stolen
 * cards read as the generic decline), the next step for every retry class,
 * refunds and payouts; the header fields, CRLF line ends and line limits;
 * facts and addresses that are refused, header injection included; and
 * mail_send against an SMTP sink thread in this file (the envelope and
 * the message arrive intact; 4xx retries, 5xx is a refusal, a closed port
 * retries).  The sink serves one session and its thread is joined before
 * anything it captured is read: no sleeps. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/utf8.h"
#include "core/catalog.h"
#include "notify/mail.h"

#define FROM "payments@shop.example"
#define TO "payer@example.com"
#define NOW_MS 1700000000000LL /* Tue, 14 Nov 2023 22:13:20 UTC */
#define SEND_TIMEOUT_MS 10000L

/* ---- reading a message back ---------------------------------------------------- */

static struct mail_facts facts(enum mail_kind kind, const char *lang, int code)
{
	static const char *const ids[] = {"pi_3Test", "re_3Test", "re_3Test", "po_3Test"};
	return (struct mail_facts){.kind = kind,
				   .lang = lang,
				   .amount = 1234,
				   .currency = "usd",
				   .code = code,
				   .object_id = ids[kind],
				   .payout_status = "paid",
				   .merchant_name = "Acme"};
}

/* Base64 text (no line breaks) to heap bytes, NUL-terminated. */
static char *b64_decode(const char *in, size_t len)
{
	cr_assert_eq(len % 4, 0, "base64 length %zu is not a multiple of 4", len);
	unsigned char *out = malloc(len / 4 * 3 + 1);
	cr_assert_not_null(out);
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	cr_assert_geq(n, 0, "bad base64: %.*s", (int)len, in);
	for (size_t i = len; i > 0 && in[i - 1] == '='; i--)
		n--;
	out[n] = '\0';
	return (char *)out;
}

/* Every line ends in CRLF; header lines within 78, body lines within 76. */
static void check_wellformed(const char *msg)
{
	const char *body = strstr(msg, "\r\n\r\n");
	cr_assert_not_null(body, "no blank line between headers and body");
	for (const char *line = msg; *line;) {
		const char *end = strstr(line, "\r\n");
		cr_assert_not_null(end, "message does not end in CRLF");
		cr_assert_null(memchr(line, '\n', (size_t)(end - line)), "bare LF");
		cr_assert_null(memchr(line, '\r', (size_t)(end - line)), "bare CR");
		size_t max = line > body ? 76 : 78;
		cr_assert_leq((size_t)(end - line), max, "line too long: %.*s", (int)(end - line),
			      line);
		line = end + 2;
	}
}

/* The unfolded value of the first header `name` (heap), or NULL. */
static char *header(const char *msg, const char *name)
{
	size_t nlen = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");
	for (const char *line = msg; line < end; line = strstr(line, "\r\n") + 2) {
		if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		char *value = calloc(1, 2048);
		cr_assert_not_null(value);
		const char *p = line + nlen + 1;
		while (*p == ' ')
			p++;
		for (size_t n = 0; p < end + 2;) {
			if (p[0] == '\r' && p[1] == '\n' && p[2] != ' ' && p[2] != '\t')
				break;
			if (p[0] == '\r' && p[1] == '\n')
				p += 2; /* unfold */
			else
				value[n++] = *p++;
			cr_assert_lt(n, 2047);
		}
		return value;
	}
	return NULL;
}

/* The Subject as a reader shows it: encoded words decoded and joined. */
static char *subject_of(const char *msg)
{
	char *raw = header(msg, "Subject");
	cr_assert_not_null(raw, "no Subject");
	if (strncmp(raw, "=?", 2) != 0)
		return raw;
	char *text = calloc(1, 2048);
	cr_assert_not_null(text);
	for (const char *p = raw; *p;) {
		while (*p == ' ')
			p++;
		cr_assert_eq(strncmp(p, "=?UTF-8?B?", 10), 0, "not an encoded word: %s", p);
		const char *end = strstr(p + 10, "?=");
		cr_assert_not_null(end);
		cr_assert_leq((size_t)(end + 2 - p), 75, "encoded word longer than 75");
		char *part = b64_decode(p + 10, (size_t)(end - p - 10));
		cr_assert(utf8_valid(part, strlen(part)), "a word splits a character");
		strcat(text, part);
		free(part);
		p = end + 2;
	}
	free(raw);
	return text;
}

/* The body as a reader shows it: base64 lines joined and decoded. */
static char *body_of(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n") + 4;
	char *joined = calloc(1, strlen(p) + 1);
	cr_assert_not_null(joined);
	size_t n = 0;
	for (; *p; p++)
		if (*p != '\r' && *p != '\n')
			joined[n++] = *p;
	char *body = b64_decode(joined, n);
	free(joined);
	cr_assert(utf8_valid(body, strlen(body)), "body is not UTF-8");
	return body;
}

struct composed {
	char *msg, *subject, *body;
};

static struct composed compose(const struct mail_facts *f)
{
	struct composed c = {0};
	int rc = mail_compose(f, FROM, TO, NOW_MS, &c.msg);
	cr_assert_eq(rc, 0, "mail_compose refused kind %d lang %s code %d", f->kind,
		     f->lang ? f->lang : "(null)", f->code);
	cr_assert_not_null(c.msg);
	check_wellformed(c.msg);
	c.subject = subject_of(c.msg);
	c.body = body_of(c.msg);
	return c;
}

static void composed_free(struct composed *c)
{
	free(c->msg);
	free(c->subject);
	free(c->body);
}

static void expect_header(const char *msg, const char *name, const char *want)
{
	char *got = header(msg, name);
	cr_assert_not_null(got, "no %s header", name);
	cr_assert_str_eq(got, want, "%s", name);
	free(got);
}

static void expect_in(const char *text, const char *want, const char *what)
{
	cr_assert_not_null(strstr(text, want), "%s lacks \"%s\":\n%s", what, want, text);
}

static void expect_not_in(const char *text, const char *unwanted, const char *what)
{
	cr_assert_null(strstr(text, unwanted), "%s has \"%s\":\n%s", what, unwanted, text);
}

/* ---- composing ----------------------------------------------------------------- */

Test(mail, payment_failed_en_headers_and_body)
{
	struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "en", 101);
	struct composed c = compose(&f);
	expect_header(c.msg, "Date", "Tue, 14 Nov 2023 22:13:20 +0000");
	expect_header(c.msg, "From", FROM);
	expect_header(c.msg, "To", TO);
	expect_header(c.msg, "Subject", "Your payment of 12.34 USD to Acme did not go through");
	expect_header(c.msg, "MIME-Version", "1.0");
	expect_header(c.msg, "Content-Type", "text/plain; charset=UTF-8");
	expect_header(c.msg, "Content-Transfer-Encoding", "base64");
	expect_header(c.msg, "Content-Language", "en");
	char *id = header(c.msg, "Message-ID");
	cr_assert_not_null(id);
	cr_assert_eq(id[0], '<');
	expect_in(id, "@shop.example>", "Message-ID");
	free(id);
	expect_in(c.body, "Your payment of 12.34 USD to Acme did not go through.", "body");
	expect_in(c.body, "pi_3Test", "body");
	expect_in(c.body, catalog_get(101)->message_en, "body");
	expect_in(c.body, "What to do next:\r\nPlease use another card or payment method.", "body");
	expect_not_in(c.body, catalog_get(101)->description, "body");
	composed_free(&c);
}

Test(mail, payment_failed_zh_shows_catalog_message_and_next_step)
{
	struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "zh-CN", 101);
	struct composed c = compose(&f);
	char *raw = header(c.msg, "Subject");
	cr_assert_eq(strncmp(raw, "=?UTF-8?B?", 10), 0, "Chinese subject not RFC 2047: %s", raw);
	free(raw);
	cr_assert_str_eq(c.subject, "您向Acme支付的 12.34 USD 未成功");
	expect_header(c.msg, "Content-Language", "zh-CN");
	expect_in(c.body, "您好", "body");
	expect_in(c.body, catalog_get(101)->message_zh, "body");
	expect_in(c.body, "下一步：\r\n请更换其他卡片或支付方式。", "body");
	expect_in(c.body, "参考编号：pi_3Test", "body");
	expect_not_in(c.body, catalog_get(101)->message_en, "body");
	composed_free(&c);
}

Test(mail, lost_and_stolen_cards_read_as_the_generic_decline)
{
	const char *langs[] = {"en", "zh-CN"};
	const struct catalog_entry *generic = catalog_get(107);
	for (int code = 105; code <= 106; code++)
		for (int l = 0; l < 2; l++) {
			struct mail_facts f = facts(MAIL_PAYMENT_FAILED, langs[l], code);
			struct composed c = compose(&f);
			expect_in(c.body, l ? generic->message_zh : generic->message_en, "body");
			expect_not_in(c.body, catalog_get(code)->description, "body");
			const char *leaks[] = {"lost", "stolen", "挂失", "被盗", "盗"};
			for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++) {
				expect_not_in(c.body, leaks[i], "body");
				expect_not_in(c.subject, leaks[i], "subject");
			}
			composed_free(&c);
		}
}

Test(mail, next_step_follows_the_retry_class)
{
	static const struct {
		int code;
		enum cat_retry retry;
		const char *en, *zh;
	} rows[] = {
		{101, CAT_RETRY_NEVER, "Please use another card or payment method.",
		 "请更换其他卡片或支付方式。"},
		{111, CAT_RETRY_LATER, "Please try again in a few minutes.", "请几分钟后再试。"},
		{206, CAT_RETRY_OTHER_CHANNEL, "Please try again now.", "您现在即可重新支付。"},
		{302, CAT_RETRY_AFTER_VERIFICATION, "complete the verification",
		 "请先完成银行要求的验证"},
		{202, CAT_RETRY_RESOLVE_FIRST,
		 "You will not be charged twice, and no action is needed.",
		 "您不会被重复扣款，无需进行任何操作。"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cr_assert_eq(catalog_get(rows[i].code)->retry, rows[i].retry, "code %d",
			     rows[i].code);
		struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "en", rows[i].code);
		struct composed en = compose(&f);
		f.lang = "zh-CN";
		struct composed zh = compose(&f);
		expect_in(en.body, rows[i].en, "en body");
		expect_in(zh.body, rows[i].zh, "zh body");
		expect_in(en.body, catalog_get(rows[i].code)->message_en, "en body");
		expect_in(zh.body, catalog_get(rows[i].code)->message_zh, "zh body");
		composed_free(&en);
		composed_free(&zh);
	}
}

Test(mail, unknown_outcome_is_told_as_being_confirmed)
{
	struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "en", 202);
	struct composed en = compose(&f);
	f.lang = "zh-CN";
	struct composed zh = compose(&f);
	cr_assert_str_eq(en.subject, "Your payment of 12.34 USD to Acme is being confirmed");
	cr_assert_str_eq(zh.subject, "您向Acme支付的 12.34 USD 正在确认中");
	expect_not_in(en.body, "did not go through", "en body");
	expect_not_in(zh.body, "未成功", "zh body");
	composed_free(&en);
	composed_free(&zh);
}

Test(mail, refund_succeeded_en_and_zh)
{
	struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, "en", 101 /* ignored */);
	f.merchant_name = NULL;
	struct composed en = compose(&f);
	f.lang = "zh-CN";
	struct composed zh = compose(&f);
	cr_assert_str_eq(en.subject, "Your refund of 12.34 USD from the merchant is on its way");
	cr_assert_str_eq(zh.subject, "商户已向您退款 12.34 USD");
	expect_in(en.body, "re_3Test", "en body");
	expect_in(en.body, "5–10 business days", "en body");
	expect_in(en.body, "please contact the merchant", "en body");
	expect_in(zh.body, "5–10 个工作日", "zh body");
	expect_in(zh.body, "请联系商户", "zh body");
	expect_in(zh.body, "下一步：", "zh body");
	expect_not_in(en.body, catalog_get(101)->message_en, "en body");
	composed_free(&en);
	composed_free(&zh);
}

Test(mail, refund_failed_en_and_zh)
{
	struct mail_facts f = facts(MAIL_REFUND_FAILED, "en", 602);
	struct composed en = compose(&f);
	f.lang = "zh-CN";
	struct composed zh = compose(&f);
	cr_assert_str_eq(en.subject, "Your refund of 12.34 USD from Acme could not be completed");
	cr_assert_str_eq(zh.subject, "您在Acme的 12.34 USD 退款未能完成");
	expect_in(en.body, catalog_get(602)->message_en, "en body");
	expect_in(zh.body, catalog_get(602)->message_zh, "zh body");
	expect_in(en.body, "please contact them to arrange your refund", "en body");
	expect_in(zh.body, "请主动联系Acme办理退款", "zh body");
	composed_free(&en);
	composed_free(&zh);
}

Test(mail, payout_status_en_and_zh)
{
	static const struct {
		const char *status;
		int code;
		const char *en_subject, *en_next, *zh_subject, *zh_next;
	} rows[] = {
		{"paid", 0, "Your payout of 12.34 USD from Acme has arrived",
		 "has arrived in your bank", "Acme向您支付的 12.34 USD 已到账",
		 "款项已到达您的银行账户"},
		{"in_transit", 0, "Your payout of 12.34 USD from Acme is on its way",
		 "is on its way to your bank", "Acme向您支付的 12.34 USD 正在转账途中",
		 "款项正在转入您的银行账户"},
		{"failed", 604, "Your payout of 12.34 USD from Acme failed",
		 "Please check your bank account details with Acme.",
		 "Acme向您支付的 12.34 USD 未能到账", "请与Acme核对您的银行账户信息。"},
		{"canceled", 0, "Your payout of 12.34 USD from Acme was canceled",
		 "Please contact Acme", "Acme向您支付的 12.34 USD 已取消", "请联系Acme"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mail_facts f = facts(MAIL_PAYOUT_STATUS, "en", rows[i].code);
		f.payout_status = rows[i].status;
		struct composed en = compose(&f);
		f.lang = "zh-CN";
		struct composed zh = compose(&f);
		cr_assert_str_eq(en.subject, rows[i].en_subject);
		cr_assert_str_eq(zh.subject, rows[i].zh_subject);
		expect_in(en.body, rows[i].en_next, "en body");
		expect_in(zh.body, rows[i].zh_next, "zh body");
		expect_in(en.body, "po_3Test", "en body");
		if (rows[i].code) {
			expect_in(en.body, catalog_get(rows[i].code)->message_en, "en body");
			expect_in(zh.body, catalog_get(rows[i].code)->message_zh, "zh body");
		}
		composed_free(&en);
		composed_free(&zh);
	}
}

Test(mail, amounts_follow_the_currency_exponent)
{
	static const struct {
		int64_t amount;
		const char *currency, *want;
	} rows[] = {{1234, "jpy", "1234 JPY"}, {1234, "KWD", "1.234 KWD"}, {5, "cny", "0.05 CNY"}};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, "en", 0);
		f.amount = rows[i].amount;
		f.currency = rows[i].currency;
		struct composed c = compose(&f);
		expect_in(c.subject, rows[i].want, "subject");
		expect_in(c.body, rows[i].want, "body");
		composed_free(&c);
	}
}

Test(mail, language_choice)
{
	static const struct {
		const char *lang, *want;
	} rows[] = {{NULL, "en"},    {"en", "en"},       {"fr", "en"},       {"en-US", "en"},
		    {"zh-TW", "en"}, {"zh-CN", "zh-CN"}, {"zh-cn", "zh-CN"}, {"zh", "zh-CN"}};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, rows[i].lang, 0);
		struct composed c = compose(&f);
		expect_header(c.msg, "Content-Language", rows[i].want);
		composed_free(&c);
	}
}

Test(mail, bad_facts_are_refused)
{
	struct mail_facts good = facts(MAIL_PAYMENT_FAILED, "en", 101);
	struct mail_facts bad[14];
	for (size_t i = 0; i < 14; i++)
		bad[i] = good;
	bad[0].currency = "xyz";
	bad[1].currency = NULL;
	bad[2].amount = -1;
	bad[3].code = 0; /* a failure needs its code */
	bad[4].code = 999;
	bad[5].object_id = NULL;
	bad[6].object_id = "pi 1";
	bad[7].object_id = "";
	bad[8].merchant_name = "Acme\r\nBcc: victim@example.com";
	bad[9].merchant_name = "Ac\tme";
	bad[10].merchant_name = "\xff\xfe";
	bad[11].kind = MAIL_PAYOUT_STATUS;
	bad[11].payout_status = "lost";
	bad[12].kind = MAIL_PAYOUT_STATUS;
	bad[12].payout_status = "failed";
	bad[12].code = 0;
	bad[13].kind = MAIL_REFUND_FAILED;
	bad[13].code = 0;
	for (size_t i = 0; i < 14; i++) {
		char *out = (char *)"untouched";
		cr_assert_eq(mail_compose(&bad[i], FROM, TO, NOW_MS, &out), -1, "bad facts %zu", i);
		cr_assert_null(out, "bad facts %zu left *out set", i);
	}
	char *out = NULL;
	cr_assert_eq(mail_compose(NULL, FROM, TO, NOW_MS, &out), -1);
	cr_assert_eq(mail_compose(&good, FROM, TO, -1, &out), -1, "negative time");
	cr_assert_eq(mail_compose(&good, FROM, TO, NOW_MS, NULL), -1);
}

Test(mail, merchant_name_at_its_limit)
{
	char name[MAIL_MERCHANT_NAME_MAX + 2];
	memset(name, 'm', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, "en", 0);
	f.merchant_name = name;
	char *out = NULL;
	cr_assert_eq(mail_compose(&f, FROM, TO, NOW_MS, &out), -1, "129 bytes");
	name[MAIL_MERCHANT_NAME_MAX] = '\0';
	struct composed c = compose(&f);
	expect_in(c.subject, name, "subject");
	composed_free(&c);
}

Test(mail, header_injection_through_addresses_is_refused)
{
	struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "en", 101);
	const char *bad[] = {
		"payer@example.com\r\nBcc: victim@example.com", "payer@example.com\nSubject: hi",
		"payer@example.com, victim@example.com", "Payer <payer@example.com>", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *out = NULL;
		cr_assert_eq(mail_compose(&f, FROM, bad[i], NOW_MS, &out), -1, "to #%zu", i);
		cr_assert_eq(mail_compose(&f, bad[i], TO, NOW_MS, &out), -1, "from #%zu", i);
		cr_assert_null(out);
	}
}

Test(mail, long_chinese_subject_folds_on_character_boundaries)
{
	/* "A" puts the 3-byte characters off the grid of 42-byte words */
	char name[MAIL_MERCHANT_NAME_MAX + 1] = "A";
	for (int i = 0; i < 41; i++)
		strcat(name, "商"); /* 1 + 3 * 41 = 124 bytes */
	struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "zh-CN", 101);
	f.merchant_name = name;
	struct composed c = compose(&f); /* checks lines <= 78, words <= 75, whole characters */
	char want[512];
	snprintf(want, sizeof want, "您向%s支付的 12.34 USD 未成功", name);
	cr_assert_str_eq(c.subject, want);
	composed_free(&c);
}

Test(mail, ascii_subject_that_looks_encoded_is_encoded)
{
	struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, "en", 0);
	f.merchant_name = "=?UTF-8?B?QUFB?=";
	struct composed c = compose(&f);
	cr_assert_str_eq(c.subject, "Your refund of 12.34 USD from =?UTF-8?B?QUFB?= is on its way");
	composed_free(&c);
}

Test(mail, message_ids_differ)
{
	struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, "en", 0);
	struct composed a = compose(&f), b = compose(&f);
	char *ida = header(a.msg, "Message-ID"), *idb = header(b.msg, "Message-ID");
	cr_assert_str_neq(ida, idb);
	free(ida);
	free(idb);
	composed_free(&a);
	composed_free(&b);
}

Test(mail, date_at_the_epoch)
{
	struct mail_facts f = facts(MAIL_REFUND_SUCCEEDED, "en", 0);
	char *out = NULL;
	cr_assert_eq(mail_compose(&f, FROM, TO, 999, &out), 0);
	expect_header(out, "Date", "Thu, 01 Jan 1970 00:00:00 +0000");
	free(out);
}

/* ---- addresses ------------------------------------------------------------------ */

Test(mail, addresses_that_are_plausible)
{
	const char *good[] = {"a@b.co",
			      "payer@example.com",
			      "first.last+tag@mail.example.org",
			      "x@localhost",
			      "o'neil@example.ie",
			      "user_1-2@sub-domain.example.cn",
			      "UPPER@EXAMPLE.COM",
			      "a!#$%&*/=?^`{|}~@b.c"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		cr_assert(mail_address_valid(good[i]), "%s should be valid", good[i]);
}

Test(mail, addresses_that_are_refused)
{
	const char *bad[] = {"",
			     "plain",
			     "@example.com",
			     "a@",
			     "a@b@c.com",
			     "a@@b.com",
			     "a@example",
			     "a@.example.com",
			     "a@example.com.",
			     "a@exa..mple.com",
			     "a b@example.com",
			     "a@example.com\r\nBcc: x@y.z",
			     "a@example.com\n",
			     "a\r@example.com",
			     "<a@example.com>",
			     "a@example.com,b@example.com",
			     "a;b@example.com",
			     "\"a\"@example.com",
			     "a(b)@example.com",
			     "a:b@example.com",
			     "a\\b@example.com",
			     "a@[127.0.0.1]",
			     "a@exa_mple.com",
			     "é@example.com",
			     "a@exämple.com",
			     "a\t@example.com"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_not(mail_address_valid(bad[i]), "\"%s\" should be refused", bad[i]);
	cr_assert_not(mail_address_valid(NULL));
}

/* local (64) @ domain of 63-byte labels, `len` bytes in all. */
static void long_address(char *out, size_t len)
{
	memset(out, 'l', 64);
	out[64] = '@';
	for (size_t at = 65, label = 0; at < len; at++) {
		out[at] = label == MAIL_LABEL_MAX ? '.' : 'd';
		label = out[at] == '.' ? 0 : label + 1;
	}
	out[len] = '\0';
}

Test(mail, address_length_limit)
{
	char addr[MAIL_ADDRESS_MAX + 2];
	long_address(addr, MAIL_ADDRESS_MAX);
	cr_assert_eq(strlen(addr), 254);
	cr_assert(mail_address_valid(addr), "254 bytes should be valid: %s", addr);
	long_address(addr, MAIL_ADDRESS_MAX + 1);
	cr_assert_eq(strlen(addr), 255);
	cr_assert_not(mail_address_valid(addr), "255 bytes should be refused");
	char local[80];
	memset(local, 'l', 65);
	strcpy(local + 65, "@b.co");
	cr_assert_not(mail_address_valid(local), "65-byte local part");
	char label[80] = "a@";
	memset(label + 2, 'd', 64);
	strcpy(label + 66, ".co");
	cr_assert_not(mail_address_valid(label), "64-byte label");
}

/* ---- the SMTP sink ------------------------------------------------------------------- */

#define SINK_LINE_MAX 1024
#define SINK_IO_TIMEOUT_S 10 /* a broken client fails the test instead of hanging it */

struct sink {
	int listen_fd, port;
	int rcpt_reply, data_reply, end_reply; /* 250 / 354 / 250 for a willing sink */
	pthread_t thread;
	/* written by the sink thread, read after sink_finish joins it */
	char mail_from[SINK_LINE_MAX], rcpt[SINK_LINE_MAX];
	int rcpt_count;
	char *data; /* the DATA, dot-unstuffed, without the final ".\r\n" */
	size_t data_len;
	bool quit;
};

struct sink_conn {
	int fd;
	size_t len;
	char buf[8192];
};

/* One raw line, CRLF included, into line[cap]; its length, or -1. */
static int sink_line(struct sink_conn *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf) + 1;
			if (n >= cap)
				return -1;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			return (int)n;
		}
		if (c->len == sizeof c->buf)
			return -1;
		ssize_t got = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (got <= 0)
			return -1;
		c->len += (size_t)got;
	}
}

/* No cr_assert on the sink thread: a lost reply shows in the client's result. */
static void sink_say(int fd, const char *text)
{
	(void)send(fd, text, strlen(text), MSG_NOSIGNAL);
}

static void sink_code(int fd, int code)
{
	char text[64];
	snprintf(text, sizeof text, "%d sink says %d\r\n", code, code);
	sink_say(fd, text);
}

static void sink_data(struct sink *s, struct sink_conn *c)
{
	char line[SINK_LINE_MAX];
	int n;
	while ((n = sink_line(c, line, sizeof line)) >= 0) {
		if (strcmp(line, ".\r\n") == 0)
			return;
		const char *from = line[0] == '.' ? line + 1 : line;
		size_t len = strlen(from);
		s->data = realloc(s->data, s->data_len + len + 1);
		memcpy(s->data + s->data_len, from, len + 1);
		s->data_len += len;
	}
}

/* Copies the argument after `prefix`, without CRLF. */
static void sink_arg(char *out, const char *line, size_t prefix)
{
	snprintf(out, SINK_LINE_MAX, "%s", line + prefix);
	out[strcspn(out, "\r\n")] = '\0';
}

/* Answers one command; false when the session is over. */
static bool sink_command(struct sink *s, struct sink_conn *c, const char *line)
{
	if (strncasecmp(line, "EHLO", 4) == 0) {
		sink_say(c->fd, "250-sink.test\r\n250 8BITMIME\r\n");
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		sink_code(c->fd, 250);
	} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
		sink_arg(s->mail_from, line, 10);
		sink_code(c->fd, 250);
	} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
		sink_arg(s->rcpt, line, 8);
		s->rcpt_count++;
		sink_code(c->fd, s->rcpt_reply);
	} else if (strncasecmp(line, "DATA", 4) == 0) {
		sink_code(c->fd, s->data_reply);
		if (s->data_reply == 354) {
			sink_data(s, c);
			sink_code(c->fd, s->end_reply);
		}
	} else if (strncasecmp(line, "RSET", 4) == 0 || strncasecmp(line, "NOOP", 4) == 0) {
		sink_code(c->fd, 250);
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		s->quit = true;
		sink_code(c->fd, 221);
		return false;
	} else {
		sink_code(c->fd, 502);
	}
	return true;
}

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	struct sink_conn c = {.fd = accept(s->listen_fd, NULL, NULL)};
	if (c.fd < 0)
		return NULL;
	struct timeval tv = {.tv_sec = SINK_IO_TIMEOUT_S};
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	sink_say(c.fd, "220 sink.test ESMTP\r\n");
	char line[SINK_LINE_MAX];
	while (sink_line(&c, line, sizeof line) >= 0 && sink_command(s, &c, line))
		;
	close(c.fd);
	return NULL;
}

/* A socket bound to 127.0.0.1 on a free port; listening when `listen_too`. */
static int loopback_socket(int *port, bool listen_too)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	if (listen_too)
		cr_assert_eq(listen(fd, 4), 0);
	socklen_t alen = sizeof a;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void sink_start(struct sink *s, int rcpt_reply, int data_reply, int end_reply)
{
	memset(s, 0, sizeof *s);
	s->rcpt_reply = rcpt_reply;
	s->data_reply = data_reply;
	s->end_reply = end_reply;
	s->listen_fd = loopback_socket(&s->port, true);
	struct timeval tv = {.tv_sec = SINK_IO_TIMEOUT_S}; /* bounds accept() too */
	setsockopt(s->listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	cr_assert_eq(pthread_create(&s->thread, NULL, sink_main, s), 0);
}

static void sink_finish(struct sink *s)
{
	cr_assert_eq(pthread_join(s->thread, NULL), 0);
	close(s->listen_fd);
}

static enum mail_send_result send_to(int port, const char *msg, char *err, size_t cap)
{
	char url[64];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	return mail_send(url, FROM, TO, msg, SEND_TIMEOUT_MS, err, cap);
}

static char *zh_message(void)
{
	struct mail_facts f = facts(MAIL_PAYMENT_FAILED, "zh-CN", 101);
	char *msg = NULL;
	cr_assert_eq(mail_compose(&f, FROM, TO, NOW_MS, &msg), 0);
	return msg;
}

/* ---- sending -------------------------------------------------------------------- */

Test(mail, send_delivers_the_message_intact)
{
	struct sink s;
	sink_start(&s, 250, 354, 250);
	char *msg = zh_message(), err[256];
	enum mail_send_result r = send_to(s.port, msg, err, sizeof err);
	sink_finish(&s);
	cr_assert_eq(r, MAIL_SENT, "err: %s", err);
	cr_assert_str_eq(err, "");
	cr_assert_str_eq(s.mail_from, "<" FROM ">");
	cr_assert_str_eq(s.rcpt, "<" TO ">");
	cr_assert_eq(s.rcpt_count, 1);
	cr_assert_not_null(s.data);
	cr_assert_str_eq(s.data, msg);
	cr_assert(s.quit, "the session should end with QUIT");
	char *body = body_of(s.data);
	expect_in(body, catalog_get(101)->message_zh, "delivered body");
	free(body);
	free(s.data);
	free(msg);
}

Test(mail, send_dot_lines_survive_the_framing)
{
	/* Not a composed message (those are base64), but mail_send takes any. */
	const char *msg = "Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n";
	struct sink s;
	sink_start(&s, 250, 354, 250);
	char err[256];
	enum mail_send_result r = send_to(s.port, msg, err, sizeof err);
	sink_finish(&s);
	cr_assert_eq(r, MAIL_SENT, "err: %s", err);
	cr_assert_str_eq(s.data, msg);
	free(s.data);
}

static void expect_refusal(int rcpt, int data, int end, enum mail_send_result want)
{
	struct sink s;
	sink_start(&s, rcpt, data, end);
	char *msg = zh_message(), err[256];
	enum mail_send_result r = send_to(s.port, msg, err, sizeof err);
	sink_finish(&s);
	cr_assert_eq(r, want, "replies %d/%d/%d gave %d (%s)", rcpt, data, end, r, err);
	cr_assert_neq(err[0], '\0', "no reason given");
	expect_not_in(err, "pi_3Test", "err");
	expect_not_in(err, "Subject", "err");
	char body_probe[21]; /* the start of the base64 body */
	snprintf(body_probe, sizeof body_probe, "%s", strstr(msg, "\r\n\r\n") + 4);
	expect_not_in(err, body_probe, "err");
	free(s.data);
	free(msg);
}

Test(mail, send_rcpt_451_retries)
{
	expect_refusal(451, 354, 250, MAIL_RETRY);
}

Test(mail, send_rcpt_550_is_rejected)
{
	expect_refusal(550, 354, 250, MAIL_REJECTED);
}

Test(mail, send_data_451_retries)
{
	expect_refusal(250, 451, 250, MAIL_RETRY);
}

Test(mail, send_554_after_data_is_rejected)
{
	expect_refusal(250, 354, 554, MAIL_REJECTED);
}

Test(mail, send_to_a_closed_port_retries)
{
	int port;
	int fd = loopback_socket(&port, false); /* bound, never listening: refused */
	char *msg = zh_message(), err[256];
	enum mail_send_result r = send_to(port, msg, err, sizeof err);
	close(fd);
	cr_assert_eq(r, MAIL_RETRY, "err: %s", err);
	cr_assert_neq(err[0], '\0');
	free(msg);
}

Test(mail, send_refuses_bad_arguments_without_connecting)
{
	char err[256];
	const char *url = "smtp://127.0.0.1:1";
	cr_assert_eq(
		mail_send(url, FROM, "x@y.z\r\nRCPT TO:<v@w.x>", "m\r\n", 1000, err, sizeof err),
		MAIL_REJECTED);
	cr_assert_neq(err[0], '\0');
	cr_assert_eq(mail_send(url, "bad", TO, "m\r\n", 1000, err, sizeof err), MAIL_REJECTED);
	cr_assert_eq(mail_send(url, FROM, TO, NULL, 1000, err, sizeof err), MAIL_REJECTED);
	cr_assert_eq(mail_send(NULL, FROM, TO, "m\r\n", 1000, err, sizeof err), MAIL_REJECTED);
}
