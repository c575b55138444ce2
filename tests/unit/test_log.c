/* tests/unit/test_log: base/log.  Redaction of card numbers (Luhn-valid
 * 13..19 digits, with spaces or dashes, and any 20+ digit run), of secret
 * keys (sk_, rk_, whsec_), of fields whose names mean "secret"; what must
 * stay readable (short numbers, amounts, Luhn-invalid numbers); and
 * log_event's output: one JSON line, read back from a tmpfile with
 * jansson, with nothing secret anywhere in it, and level filtering. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

#define T0_MS INT64_C(1795255200123) /* 2026-11-21T10:00:00.123Z */
#define TEST_KEY "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

static const char *redact(const char *in)
{
	static char out[1024];
	return log_redact(in, out, sizeof out);
}

static void expect_redacted(const char *in, const char *want)
{
	cr_assert_str_eq(redact(in), want, "redacting \"%s\"", in);
}

static void expect_unchanged(const char *in)
{
	cr_assert_str_eq(redact(in), in, "\"%s\" must not be masked", in);
}

/* The prefix stays, the secret part is gone, the text around it stays. */
static void expect_key_masked(const char *before, const char *prefix, const char *secret,
			      const char *after)
{
	char in[256];
	snprintf(in, sizeof in, "%s%s%s%s", before, prefix, secret, after);
	const char *out = redact(in);
	cr_assert_null(strstr(out, secret), "\"%s\" leaks its secret: \"%s\"", in, out);
	cr_assert_not_null(strstr(out, prefix), "\"%s\" lost its prefix: \"%s\"", in, out);
	cr_assert_eq(strncmp(out, before, strlen(before)), 0, "\"%s\" -> \"%s\"", in, out);
	size_t n = strlen(out), a = strlen(after);
	cr_assert(n >= a && strcmp(out + n - a, after) == 0, "\"%s\" -> \"%s\"", in, out);
}

Test(log, masks_card_numbers_keeping_last_four)
{
	expect_redacted("4242424242424242", "************4242");
	expect_redacted("4242 4242 4242 4242", "**** **** **** 4242");
	expect_redacted("4000-0000-0000-0002", "****-****-****-0002");
	expect_redacted("4222222222222", "*********2222");             /* 13 digits */
	expect_redacted("6234567890123456780", "***************6780"); /* 19 digits */
	expect_redacted("card 4000056655665556 declined", "card ************5556 declined");
	expect_redacted("pan=4242424242424242&x=1", "pan=************4242&x=1");
	expect_redacted("a 4242424242424242, b 6011000990139424",
			"a ************4242, b ************9424");
}

Test(log, leaves_short_numbers_and_amounts)
{
	expect_unchanged("order 12345 for 1000 fen");
	expect_unchanged("amount 12.34 CNY");
	expect_unchanged("123456789012");            /* 12 digits */
	expect_unchanged("138 0013 8000");           /* a phone number */
	expect_unchanged("4242424242424241");        /* Luhn-invalid, 16 digits */
	expect_unchanged("4242 4242 4242 4241");
	expect_unchanged("1234567890123");           /* Luhn-invalid, 13 digits */
	expect_unchanged("2026-11-21T10:00:00.123Z");
	expect_unchanged("");
}

Test(log, masks_long_digit_runs)
{
	expect_redacted("12345678901234567890", "****************7890");
	expect_redacted("acct 1234567890123456789012345 end", "acct *********************2345 end");
	expect_redacted("1234 5678 9012 3456 7890", "**** **** **** **** 7890");
}

Test(log, masks_secret_keys_keeping_prefix)
{
	expect_key_masked("", "sk_test_", "4eC39HqLyjWDarjtT1zdp7dc", "");
	expect_key_masked("Bearer ", "sk_live_", "51Habc0123XYZ", "");
	expect_key_masked("key=", "rk_test_", "Zz9Yy8Xx7", " next");
	expect_key_masked("", "rk_live_", "abcDEF123", ".");
	expect_key_masked("secret: ", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "");
	expect_key_masked("(", "sk_test_", "a1", ")");
}

Test(log, redaction_truncates_without_leaking)
{
	char out[8];
	log_redact("4242424242424242", out, sizeof out);
	cr_assert_str_eq(out, "*******");
	log_redact("hello", out, 1);
	cr_assert_str_eq(out, "");
	char big[64];
	log_redact(TEST_KEY, big, 12);
	cr_assert_eq(strlen(big), 11);
	cr_assert_null(strstr(big, "4eC3"), "truncated output leaks the key: %s", big);
}

Test(log, secret_key_names)
{
	static const char *const secret[] = {
		"number", "card[number]", "payment_method_data[card][number]", "cvc", "password",
		"authorization", "Authorization", "account_number", "card.number", "cvv",
		"client_secret", "api_key", "bank_account[account_number]",
	};
	static const char *const plain[] = {
		"amount", "currency", "order_number", "card[brand]", "numbers", "description",
		"last4", "payment_method_data[card][exp_month]", "",
	};
	for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
		cr_assert(log_key_is_secret(secret[i]), "\"%s\" must be secret", secret[i]);
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		cr_assert_not(log_key_is_secret(plain[i]), "\"%s\" must be loggable", plain[i]);
}

/* Points the logger at a fresh tmpfile with a fixed clock. */
static FILE *capture(enum log_level level, struct clock_manual *m)
{
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	clock_manual_init(m, T0_MS);
	log_set_output(f);
	log_set_level(level);
	log_set_clock(&m->clock);
	return f;
}

/* Everything written so far (malloc'd, NUL-terminated). */
static char *captured(FILE *f)
{
	fflush(f);
	long size = ftell(f);
	cr_assert_geq(size, 0);
	char *text = calloc(1, (size_t)size + 1);
	rewind(f);
	cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

Test(log, event_is_one_redacted_json_line)
{
	struct clock_manual m;
	FILE *f = capture(LOG_INFO, &m);
	json_t *fields = json_pack(
		"{s:s, s:s, s:i, s:s, s:{s:s, s:[s]}}", "order_id", "ord_1",
		"card[number]", "4242424242424242", "amount", 1234, "authorization", "Bearer " TEST_KEY,
		"detail", "msg", "charged card 4242 4242 4242 4242 with key " TEST_KEY, "list",
		"retry 4000-0000-0000-0002");
	cr_assert_not_null(fields);
	log_event(LOG_INFO, "payment_succeeded", fields);

	char *text = captured(f);
	size_t len = strlen(text);
	cr_assert_eq(count_lines(text), 1, "want one line, got: %s", text);
	cr_assert(len > 0 && text[len - 1] == '\n', "the line must end with a newline");
	static const char *const leaks[] = {
		"4242424242424242", "4242 4242 4242 4242", "4000-0000-0000-0002", "4000000000000002",
		TEST_KEY, "4eC39HqLyjWDarjtT1zdp7dc",
	};
	for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++)
		cr_assert_null(strstr(text, leaks[i]), "the line leaks \"%s\": %s", leaks[i], text);

	json_error_t err;
	json_t *line = json_loads(text, 0, &err);
	cr_assert_not_null(line, "not JSON (%s): %s", err.text, text);
	cr_assert_str_eq(json_string_value(json_object_get(line, "ts")), "2026-11-21T10:00:00.123Z");
	cr_assert_str_eq(json_string_value(json_object_get(line, "level")), "info");
	cr_assert_str_eq(json_string_value(json_object_get(line, "event")), "payment_succeeded");
	cr_assert_str_eq(json_string_value(json_object_get(line, "order_id")), "ord_1");
	cr_assert_eq(json_integer_value(json_object_get(line, "amount")), 1234);

	const char *number = json_string_value(json_object_get(line, "card[number]"));
	cr_assert_not_null(number, "the secret field is replaced, not dropped");
	cr_assert_null(strpbrk(number, "0123456789"), "card[number] = \"%s\"", number);
	const char *auth = json_string_value(json_object_get(line, "authorization"));
	cr_assert_not_null(auth);
	cr_assert_null(strstr(auth, "sk_test_4eC3"), "authorization = \"%s\"", auth);

	json_t *detail = json_object_get(line, "detail");
	const char *msg = json_string_value(json_object_get(detail, "msg"));
	cr_assert_not_null(msg);
	cr_assert_not_null(strstr(msg, "**** **** **** 4242"), "msg = \"%s\"", msg);
	cr_assert_not_null(strstr(msg, "charged card "), "msg = \"%s\"", msg);
	const char *item = json_string_value(json_array_get(json_object_get(detail, "list"), 0));
	cr_assert_str_eq(item, "retry ****-****-****-0002");

	json_decref(line);
	free(text);
	fclose(f);
}

Test(log, msg_is_redacted)
{
	struct clock_manual m;
	FILE *f = capture(LOG_DEBUG, &m);
	log_msg(LOG_WARN, "card_seen", "card %s key %s", "4242424242424242", TEST_KEY);
	char *text = captured(f);
	cr_assert_eq(count_lines(text), 1, "%s", text);
	cr_assert_null(strstr(text, "4242424242424242"), "%s", text);
	cr_assert_null(strstr(text, "4eC39HqLyjWDarjtT1zdp7dc"), "%s", text);
	json_t *line = json_loads(text, 0, NULL);
	cr_assert_not_null(line, "%s", text);
	cr_assert_str_eq(json_string_value(json_object_get(line, "level")), "warn");
	cr_assert_str_eq(json_string_value(json_object_get(line, "msg")),
			 "card ************4242 key sk_test_[redacted]");
	json_decref(line);
	free(text);
	fclose(f);
}

Test(log, level_filtering)
{
	struct clock_manual m;
	FILE *f = capture(LOG_WARN, &m);
	log_event(LOG_DEBUG, "dropped_debug", json_pack("{s:i}", "n", 1));
	log_event(LOG_INFO, "dropped_info", NULL);
	log_msg(LOG_INFO, "dropped_msg", "x=%d", 1);
	log_event(LOG_WARN, "kept_warn", NULL);
	log_msg(LOG_ERROR, "kept_error", "x=%d", 2);
	char *text = captured(f);
	cr_assert_eq(count_lines(text), 2, "%s", text);
	cr_assert_null(strstr(text, "dropped"), "%s", text);
	char *second = strchr(text, '\n') + 1;
	json_t *a = json_loadb(text, (size_t)(second - text), 0, NULL);
	json_t *b = json_loads(second, 0, NULL);
	cr_assert(a && b, "%s", text);
	cr_assert_str_eq(json_string_value(json_object_get(a, "event")), "kept_warn");
	cr_assert_str_eq(json_string_value(json_object_get(a, "level")), "warn");
	cr_assert_str_eq(json_string_value(json_object_get(b, "event")), "kept_error");
	cr_assert_str_eq(json_string_value(json_object_get(b, "level")), "error");
	json_decref(a);
	json_decref(b);
	free(text);

	fclose(f);

	f = capture(LOG_DEBUG, &m);
	log_event(LOG_DEBUG, "now_kept", NULL);
	text = captured(f);
	cr_assert_eq(count_lines(text), 1, "%s", text);
	free(text);
	fclose(f);
}

/* log.h: "There is no way to log around this."  A card number passed as a
 * JSON number must not come out in clear. */
Test(log, card_number_as_json_integer_is_masked)
{
	struct clock_manual m;
	FILE *f = capture(LOG_INFO, &m);
	log_event(LOG_INFO, "declined", json_pack("{s:I}", "reference", (json_int_t)4242424242424242));
	char *text = captured(f);
	cr_assert_eq(count_lines(text), 1, "%s", text);
	cr_assert_null(strstr(text, "4242424242424242"), "card number in clear: %s", text);
	free(text);
	fclose(f);
}

/* Nor inside the event name. */
Test(log, event_name_is_redacted)
{
	struct clock_manual m;
	FILE *f = capture(LOG_INFO, &m);
	log_event(LOG_INFO, "declined 4242424242424242 " TEST_KEY, NULL);
	char *text = captured(f);
	cr_assert_eq(count_lines(text), 1, "%s", text);
	cr_assert_null(strstr(text, "4242424242424242"), "card number in clear: %s", text);
	cr_assert_null(strstr(text, "4eC39HqLyjWDarjtT1zdp7dc"), "key in clear: %s", text);
	free(text);
	fclose(f);
}
