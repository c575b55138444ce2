/* tests/unit/test_card: channel/card.  Luhn on good and bad numbers, the
 * brand of every IIN range at its edges, number length limits, expiry at
 * the exact end of the month (UTC, with a fixed now), 2-digit years, CVC
 * shapes, a fingerprint that is stable, keyed, short and never the number,
 * and a wipe that leaves nothing behind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "channel/card.h"
#include "core/catalog.h"

#define T0_MS INT64_C(1795255200000)            /* 2026-11-21T10:00:00Z */
#define DEC_2026_MS (INT64_C(1796083200) * 1000) /* 2026-12-01T00:00:00Z */
#define JAN_2027_MS (INT64_C(1798761600) * 1000) /* 2027-01-01T00:00:00Z */
#define MAR_2028_MS (INT64_C(1835481600) * 1000) /* 2028-03-01T00:00:00Z */

/* Makes a Luhn-valid number of `len` digits starting with `start`. */
static void luhn_make(const char *start, size_t len, char *out)
{
	size_t n = strlen(start);
	memcpy(out, start, n);
	for (size_t i = n; i < len - 1; i++)
		out[i] = (char)('0' + (i * 7) % 10);
	out[len - 1] = '0';
	out[len] = '\0';
	for (int d = 0; d < 10; d++) {
		out[len - 1] = (char)('0' + d);
		if (card_luhn_ok(out))
			return;
	}
	cr_assert_fail("no check digit for %s", out);
}

static const char *const good_numbers[] = {
	"4242424242424242", "5555555555554444", "4000000000009995", "4000000000000069",
	"4000000000000127", "4000000000009987", "4000000000009979", "4000000000000002",
	"4000000000000119", "4000002760003184", "4000000000400202", "4000000000400210",
	"4000000000005126", "378282246310005",  "6011111111111117", "3566002020360505",
	"6200000000000005", "2223003122003222", "79927398713",
};

Test(card, luhn_accepts_valid_numbers)
{
	for (size_t i = 0; i < sizeof good_numbers / sizeof good_numbers[0]; i++)
		cr_assert(card_luhn_ok(good_numbers[i]), "%s", good_numbers[i]);
	cr_assert(card_luhn_ok("0"));
}

Test(card, luhn_rejects_altered_and_malformed)
{
	for (size_t i = 0; i < sizeof good_numbers / sizeof good_numbers[0]; i++) {
		char n[32];
		snprintf(n, sizeof n, "%s", good_numbers[i]);
		/* Any single changed digit breaks the check. */
		for (size_t k = 0; n[k]; k++) {
			char keep = n[k];
			n[k] = (char)('0' + (keep - '0' + 1) % 10);
			cr_assert_not(card_luhn_ok(n), "%s", n);
			n[k] = keep;
		}
	}
	cr_assert_not(card_luhn_ok(NULL));
	cr_assert_not(card_luhn_ok(""));
	cr_assert_not(card_luhn_ok("4242 4242 4242 4242"));
	cr_assert_not(card_luhn_ok("4242-4242-4242-4242"));
	cr_assert_not(card_luhn_ok("424242424242424x"));
	cr_assert_not(card_luhn_ok("79927398710"));
}

Test(card, brands_by_prefix_and_edges)
{
	static const struct {
		const char *prefix, *brand;
	} cases[] = {
		{"4", "visa"},          {"49", "visa"},
		{"50", "unknown"},      {"51", "mastercard"},  {"55", "mastercard"},
		{"56", "unknown"},      {"2220", "unknown"},   {"2221", "mastercard"},
		{"2500", "mastercard"}, {"2720", "mastercard"}, {"2721", "unknown"},
		{"33", "unknown"},      {"34", "amex"},        {"37", "amex"},
		{"36", "unknown"},      {"62", "unionpay"},    {"3527", "unknown"},
		{"3528", "jcb"},        {"3589", "jcb"},       {"3590", "unknown"},
		{"6011", "discover"},   {"6012", "unknown"},   {"643", "unknown"},
		{"644", "discover"},    {"649", "discover"},   {"65", "discover"},
		{"66", "unknown"},      {"1", "unknown"},      {"9", "unknown"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char n[20];
		luhn_make(cases[i].prefix, 16, n);
		cr_assert_str_eq(card_brand(n), cases[i].brand, "%s", n);
	}
	cr_assert_str_eq(card_brand("4242424242424242"), "visa");
	cr_assert_str_eq(card_brand("5555555555554444"), "mastercard");
	cr_assert_str_eq(card_brand("378282246310005"), "amex");
	cr_assert_str_eq(card_brand("3566002020360505"), "jcb");
	cr_assert_str_eq(card_brand("6011111111111117"), "discover");
	cr_assert_str_eq(card_brand("6200000000000005"), "unionpay");
	/* Too short for a 4-digit range, and nonsense. */
	cr_assert_str_eq(card_brand("222"), "unknown");
	cr_assert_str_eq(card_brand("35"), "unknown");
	cr_assert_str_eq(card_brand(""), "unknown");
	cr_assert_str_eq(card_brand(NULL), "unknown");
	cr_assert_str_eq(card_brand("x4"), "unknown");
}

Test(card, number_length_limits)
{
	char n[32];
	for (size_t len = 8; len <= 24; len++) {
		luhn_make("4", len, n);
		int want = len >= CARD_NUMBER_MIN && len <= CARD_NUMBER_MAX ? 0 : CAT_INCORRECT_NUMBER;
		cr_assert_eq(card_check_number(n), want, "length %zu: %s", len, n);
	}
	cr_assert_eq(card_check_number("4242424242424241"), CAT_INCORRECT_NUMBER);
	cr_assert_eq(card_check_number("4242 4242 4242 4242"), CAT_INCORRECT_NUMBER);
	cr_assert_eq(card_check_number(" 4242424242424242"), CAT_INCORRECT_NUMBER);
	cr_assert_eq(card_check_number("4242424242424242 "), CAT_INCORRECT_NUMBER);
	cr_assert_eq(card_check_number(""), CAT_INCORRECT_NUMBER);
	cr_assert_eq(card_check_number(NULL), CAT_INCORRECT_NUMBER);
	cr_assert_eq(card_check_number("4242424242424242"), 0);
}

Test(card, expiry_end_of_month_utc)
{
	/* 11/2026 is good through 2026-11-30T23:59:59.999Z. */
	cr_assert_eq(card_check_expiry(11, 2026, T0_MS), 0);
	cr_assert_eq(card_check_expiry(11, 2026, DEC_2026_MS - 1), 0);
	cr_assert_eq(card_check_expiry(11, 2026, DEC_2026_MS), CAT_EXPIRED_CARD);
	cr_assert_eq(card_check_expiry(10, 2026, T0_MS), CAT_EXPIRED_CARD);
	cr_assert_eq(card_check_expiry(12, 2025, T0_MS), CAT_EXPIRED_CARD);
	/* December rolls into the next year. */
	cr_assert_eq(card_check_expiry(12, 2026, JAN_2027_MS - 1), 0);
	cr_assert_eq(card_check_expiry(12, 2026, JAN_2027_MS), CAT_EXPIRED_CARD);
	cr_assert_eq(card_check_expiry(1, 2027, JAN_2027_MS), 0);
	/* February of a leap year ends on the 29th. */
	cr_assert_eq(card_check_expiry(2, 2028, MAR_2028_MS - 1), 0);
	cr_assert_eq(card_check_expiry(2, 2028, MAR_2028_MS), CAT_EXPIRED_CARD);
	cr_assert_eq(card_check_expiry(2, 2028, MAR_2028_MS - 86400000 + 1), 0); /* Feb 29 */
}

Test(card, expiry_two_digit_years)
{
	cr_assert_eq(card_expiry_year(26), 2026);
	cr_assert_eq(card_expiry_year(0), 2000);
	cr_assert_eq(card_expiry_year(99), 2099);
	cr_assert_eq(card_expiry_year(2034), 2034);
	cr_assert_eq(card_check_expiry(11, 26, DEC_2026_MS - 1), 0);
	cr_assert_eq(card_check_expiry(11, 26, DEC_2026_MS), CAT_EXPIRED_CARD);
	cr_assert_eq(card_check_expiry(12, 34, T0_MS), 0);
	cr_assert_eq(card_check_expiry(1, 0, T0_MS), CAT_EXPIRED_CARD);
}

Test(card, expiry_out_of_range)
{
	static const int bad_months[] = {0, 13, -1, 100};
	for (size_t i = 0; i < sizeof bad_months / sizeof bad_months[0]; i++)
		cr_assert_eq(card_check_expiry(bad_months[i], 2030, T0_MS), CAT_PARAMETER_INVALID);
	static const int bad_years[] = {-1, 100, 999, 1999, 2100, 20300, -2030};
	for (size_t i = 0; i < sizeof bad_years / sizeof bad_years[0]; i++) {
		cr_assert_eq(card_check_expiry(6, bad_years[i], T0_MS), CAT_PARAMETER_INVALID,
			     "%d", bad_years[i]);
		cr_assert_eq(card_expiry_year(bad_years[i]), -1);
	}
	cr_assert_eq(card_check_expiry(12, CARD_YEAR_MAX, T0_MS), 0);
	cr_assert_eq(card_check_expiry(1, CARD_YEAR_MIN, T0_MS), CAT_EXPIRED_CARD);
	/* The month is checked even for an expired year. */
	cr_assert_eq(card_check_expiry(13, 2001, T0_MS), CAT_PARAMETER_INVALID);
}

Test(card, cvc_shapes)
{
	cr_assert_eq(card_check_cvc("123"), 0);
	cr_assert_eq(card_check_cvc("0000"), 0);
	static const char *const bad[] = {"", "1", "12", "12345", "12a", "1 23", " 123", "abc", "１２３"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(card_check_cvc(bad[i]), CAT_INCORRECT_CVC, "%s", bad[i]);
	cr_assert_eq(card_check_cvc(NULL), CAT_INCORRECT_CVC);
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

Test(card, fingerprint_stable_keyed_and_opaque)
{
	uint8_t key[CARD_FINGERPRINT_KEY_LEN], other[CARD_FINGERPRINT_KEY_LEN] = {0};
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)i;
	char a[24], b[24], c[24], d[24];
	memset(a, 'x', sizeof a);
	card_fingerprint(key, "4242424242424242", a);
	card_fingerprint(key, "4242424242424242", b);
	card_fingerprint(other, "4242424242424242", c);
	card_fingerprint(key, "5555555555554444", d);

	cr_assert_eq(strlen(a), CARD_FINGERPRINT_LEN);
	cr_assert(is_hex(a), "%s", a);
	cr_assert_str_eq(a, b, "stable");
	cr_assert_str_neq(a, c, "depends on the key");
	cr_assert_str_neq(a, d, "depends on the number");
	/* Known values: HMAC-SHA256 truncated to 16 hex characters. */
	cr_assert_str_eq(a, "48d3ef48958e5d18");
	cr_assert_str_eq(c, "061a646ab9fd9886");
	cr_assert_null(strstr(a, "4242"));
}

Test(card, last4)
{
	char out[5];
	card_last4("4242424242424242", out);
	cr_assert_str_eq(out, "4242");
	card_last4("378282246310005", out);
	cr_assert_str_eq(out, "0005");
	card_last4("123", out);
	cr_assert_str_eq(out, "");
	card_last4(NULL, out);
	cr_assert_str_eq(out, "");
}

Test(card, wipe_zeroes_everything)
{
	struct card_input card;
	memset(&card, 0xA5, sizeof card);
	snprintf(card.number, sizeof card.number, "%s", "4242424242424242");
	snprintf(card.cvc, sizeof card.cvc, "%s", "123");
	card.exp_month = 12;
	card.exp_year = 2034;
	card_wipe(&card);
	const unsigned char *p = (const unsigned char *)&card;
	for (size_t i = 0; i < sizeof card; i++)
		cr_assert_eq(p[i], 0, "byte %zu", i);
	card_wipe(NULL); /* harmless */
}
