/* tests/unit/test_money: base/money.  Decimal text <-> int64_t minor units
 * for every exponent (0, 2, 3), the int64_t limits, every error class
 * (syntax, too precise, too large) and that *out is untouched on errors,
 * a seeded round trip over all currencies, money_format's buffer limit,
 * and the checked arithmetic. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/currency.h"
#include "base/money.h"
#include "base/rng.h"
#include "core/catalog.h"

#define UNTOUCHED ((int64_t)0x5A5A5A5A5A5A5A5A)

static const struct currency *cur(const char *code)
{
	const struct currency *c = currency_find(code);
	cr_assert_not_null(c, "currency %s must be supported", code);
	return c;
}

static void expect_parse(const char *text, const char *code, int64_t want)
{
	int64_t got = UNTOUCHED;
	int rc = money_parse(text, cur(code), &got);
	cr_assert_eq(rc, CAT_OK, "parse \"%s\" %s: rc %d, want 0", text, code, rc);
	cr_assert_eq(got, want, "parse \"%s\" %s = %lld, want %lld", text, code, (long long)got,
		     (long long)want);
}

static void expect_parse_error(const char *text, const char *code, int want_rc)
{
	int64_t got = UNTOUCHED;
	int rc = money_parse(text, cur(code), &got);
	cr_assert_eq(rc, want_rc, "parse \"%s\" %s: rc %d, want %d", text ? text : "(null)", code,
		     rc, want_rc);
	cr_assert_eq(got, UNTOUCHED, "parse \"%s\" %s wrote *out on error", text ? text : "(null)",
		     code);
}

static void expect_format(int64_t amount, const char *code, const char *want)
{
	char buf[MONEY_TEXT_MAX];
	int len = money_format(amount, cur(code), buf, sizeof buf);
	cr_assert_str_eq(buf, want, "format %lld %s", (long long)amount, code);
	cr_assert_eq(len, (int)strlen(want), "format %lld %s returned %d", (long long)amount, code,
		     len);
}

/* Both directions: text parses to amount and amount formats to text. */
static void expect_both(const char *text, const char *code, int64_t amount)
{
	expect_parse(text, code, amount);
	expect_format(amount, code, text);
}

Test(money, parse_and_format_exact_pairs)
{
	expect_both("12.34", "CNY", 1234);
	expect_both("0.01", "CNY", 1);
	expect_both("-0.05", "CNY", -5);
	expect_both("0.00", "CNY", 0);
	expect_both("1000", "JPY", 1000);
	expect_both("0", "JPY", 0);
	expect_both("-7", "KRW", -7);
	expect_both("1.234", "KWD", 1234);
	expect_both("0.001", "BHD", 1);
	expect_both("0.000", "KWD", 0);
	expect_both("-1.000", "OMR", -1000);
}

Test(money, parse_short_forms)
{
	expect_parse("0", "CNY", 0);
	expect_parse("-0", "CNY", 0);
	expect_parse("-0.00", "USD", 0);
	expect_parse("12.3", "CNY", 1230);
	expect_parse("12", "CNY", 1200);
	expect_parse("1", "KWD", 1000);
	expect_parse("1.2", "KWD", 1200);
	expect_parse("1.23", "KWD", 1230);
	expect_parse("007", "JPY", 7);
	expect_parse("00.50", "EUR", 50);
}

Test(money, int64_limits)
{
	expect_both("92233720368547758.07", "USD", INT64_MAX);
	expect_both("-92233720368547758.08", "USD", INT64_MIN);
	expect_both("9223372036854775807", "JPY", INT64_MAX);
	expect_both("-9223372036854775808", "JPY", INT64_MIN);
	expect_both("9223372036854775.807", "KWD", INT64_MAX);
	expect_both("-9223372036854775.808", "KWD", INT64_MIN);
}

Test(money, too_large)
{
	expect_parse_error("92233720368547758.08", "USD", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("-92233720368547758.09", "USD", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("92233720368547759", "USD", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("9223372036854775808", "JPY", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("-9223372036854775809", "JPY", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("9223372036854775.808", "KWD", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("18446744073709551616", "JPY", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("99999999999999999999999999999999999999", "CNY", CAT_AMOUNT_TOO_LARGE);
	expect_parse_error("-99999999999999999999999999999999999999.99", "CNY", CAT_AMOUNT_TOO_LARGE);
	/* 200 digits: the accumulator must saturate, not wrap back into range. */
	char huge[202];
	memset(huge, '9', 200);
	huge[200] = '\0';
	expect_parse_error(huge, "JPY", CAT_AMOUNT_TOO_LARGE);
	memset(huge, '0', 200);
	huge[0] = '1';
	expect_parse_error(huge, "CNY", CAT_AMOUNT_TOO_LARGE);
}

Test(money, too_precise)
{
	expect_parse_error("1.234", "CNY", CAT_AMOUNT_TOO_PRECISE);
	expect_parse_error("1.5", "JPY", CAT_AMOUNT_TOO_PRECISE);
	expect_parse_error("0.001", "USD", CAT_AMOUNT_TOO_PRECISE);
	expect_parse_error("-1.999", "CNY", CAT_AMOUNT_TOO_PRECISE);
	expect_parse_error("1.2345", "KWD", CAT_AMOUNT_TOO_PRECISE);
	expect_parse_error("1.0", "KRW", CAT_AMOUNT_TOO_PRECISE);
	expect_parse_error("0.00000000000000000000000001", "EUR", CAT_AMOUNT_TOO_PRECISE);
}

Test(money, syntax_errors)
{
	static const char *const garbage[] = {
		"",     "-",    ".5",   "5.",      "1,00",   " 1",    "1 ",   "+1",   "1e3",
		"0x10", "1.2.3", "--1", "1.-2",    "-.5",    "1.",    "abc",  "1a",   "1.2a",
		"١",    "1\n",  "\t1",  "1.23.4",  "- 1",    "1..2",  "NaN",  "inf",  "12,345.00",
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
		expect_parse_error(garbage[i], "CNY", CAT_PARAMETER_INVALID);
	expect_parse_error(NULL, "CNY", CAT_PARAMETER_INVALID);
	/* Syntax is judged before precision and magnitude. */
	expect_parse_error("1.234x", "CNY", CAT_PARAMETER_INVALID);
	expect_parse_error("99999999999999999999x", "CNY", CAT_PARAMETER_INVALID);
	expect_parse_error("5.", "JPY", CAT_PARAMETER_INVALID);
}

Test(money, null_currency_is_invalid)
{
	int64_t got = UNTOUCHED;
	cr_assert_eq(money_parse("1", NULL, &got), CAT_PARAMETER_INVALID);
	cr_assert_eq(got, UNTOUCHED);
}

/* Amounts spread over the whole int64_t range and near its edges. */
static int64_t random_amount(struct rng *r)
{
	switch (rng_below(r, 5)) {
	case 0: return (int64_t)rng_next(r);                        /* anywhere */
	case 1: return (int64_t)rng_below(r, 100000) - 50000;       /* small */
	case 2: return INT64_MAX - (int64_t)rng_below(r, 1000);     /* top edge */
	case 3: return INT64_MIN + (int64_t)rng_below(r, 1000);     /* bottom edge */
	default: return (int64_t)(rng_next(r) >> rng_below(r, 64)); /* every magnitude */
	}
}

Test(money, round_trip_all_currencies)
{
	struct rng r;
	rng_seed(&r, 20261121);
	for (size_t c = 0; c < currency_count(); c++) {
		const struct currency *cy = currency_at(c);
		for (int i = 0; i < 5000; i++) {
			int64_t amount = random_amount(&r), back = UNTOUCHED;
			char text[MONEY_TEXT_MAX];
			int len = money_format(amount, cy, text, sizeof text);
			cr_assert(len > 0 && (size_t)len == strlen(text), "%s %lld: len %d", cy->code,
				  (long long)amount, len);
			int rc = money_parse(text, cy, &back);
			cr_assert_eq(rc, CAT_OK, "%s \"%s\": rc %d", cy->code, text, rc);
			cr_assert_eq(back, amount, "%s \"%s\" -> %lld, want %lld", cy->code, text,
				     (long long)back, (long long)amount);
			const char *dot = strchr(text, '.');
			int decimals = dot ? (int)strlen(dot + 1) : 0;
			cr_assert_eq(decimals, cy->exponent, "%s \"%s\": %d decimals", cy->code, text,
				     decimals);
		}
	}
}

/* Exact-size heap buffers so that ASan catches a write past `cap`. */
static void expect_cap_boundary(int64_t amount, const char *code)
{
	char full[MONEY_TEXT_MAX];
	int len = money_format(amount, cur(code), full, sizeof full);
	cr_assert_gt(len, 0);

	char *exact = malloc((size_t)len + 1);
	cr_assert_eq(money_format(amount, cur(code), exact, (size_t)len + 1), len);
	cr_assert_str_eq(exact, full);
	free(exact);

	for (size_t cap = 0; cap <= (size_t)len; cap++) {
		char *small = malloc(cap ? cap : 1);
		cr_assert_eq(money_format(amount, cur(code), small, cap), -1,
			     "%lld %s with cap %zu must fail", (long long)amount, code, cap);
		free(small);
	}
}

Test(money, format_buffer_too_small)
{
	expect_cap_boundary(1234, "CNY");
	expect_cap_boundary(-5, "CNY");
	expect_cap_boundary(0, "JPY");
	expect_cap_boundary(INT64_MIN, "USD");
	expect_cap_boundary(INT64_MIN, "KWD");
	expect_cap_boundary(INT64_MAX, "JPY");
	char text[MONEY_TEXT_MAX];
	cr_assert_eq(money_format(INT64_MIN, cur("USD"), text, sizeof text), 21,
		     "the longest amount must fit MONEY_TEXT_MAX");
}

Test(money, add_and_sub_overflow)
{
	int64_t out = UNTOUCHED;
	cr_assert(money_add(2, 3, &out));
	cr_assert_eq(out, 5);
	cr_assert(money_add(INT64_MAX, INT64_MIN, &out));
	cr_assert_eq(out, -1);
	cr_assert(money_add(INT64_MAX - 1, 1, &out));
	cr_assert_eq(out, INT64_MAX);
	cr_assert(money_sub(-1, INT64_MAX, &out));
	cr_assert_eq(out, INT64_MIN);

	out = UNTOUCHED;
	cr_assert_not(money_add(INT64_MAX, 1, &out));
	cr_assert_not(money_add(INT64_MIN, -1, &out));
	cr_assert_not(money_add(INT64_MIN, INT64_MIN, &out));
	cr_assert_not(money_sub(INT64_MIN, 1, &out));
	cr_assert_not(money_sub(0, INT64_MIN, &out));
	cr_assert_not(money_sub(INT64_MAX, -1, &out));
	cr_assert_eq(out, UNTOUCHED, "overflow must leave *out untouched");
}
