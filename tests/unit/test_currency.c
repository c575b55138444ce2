/* tests/unit/test_currency: base/currency.  The table is held against an
 * independent copy of ISO 4217 written here (alpha, numeric, exponent), in
 * both directions; lookups are case-insensitive and refuse anything that
 * is not exactly three ASCII letters; codes and numeric codes are unique. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>

#include "base/currency.h"

struct iso_row {
	const char *code;
	int numeric;
	int exponent;
};

/* ISO 4217 (list one), typed in independently of currency.def. */
static const struct iso_row iso4217[] = {
	{"AUD", 36, 2},  {"BHD", 48, 3},  {"CAD", 124, 2}, {"CHF", 756, 2}, {"CNY", 156, 2},
	{"EUR", 978, 2}, {"GBP", 826, 2}, {"HKD", 344, 2}, {"IDR", 360, 2}, {"INR", 356, 2},
	{"JOD", 400, 3}, {"JPY", 392, 0}, {"KRW", 410, 0}, {"KWD", 414, 3}, {"MOP", 446, 2},
	{"MYR", 458, 2}, {"NZD", 554, 2}, {"OMR", 512, 3}, {"SGD", 702, 2}, {"THB", 764, 2},
	{"TWD", 901, 2}, {"USD", 840, 2}, {"VND", 704, 0},
};
#define ISO_COUNT (sizeof iso4217 / sizeof iso4217[0])

static const struct iso_row *iso_find(const char *code)
{
	for (size_t i = 0; i < ISO_COUNT; i++)
		if (strcmp(iso4217[i].code, code) == 0)
			return &iso4217[i];
	return NULL;
}

Test(currency, every_expected_currency_is_supported_with_iso_values)
{
	for (size_t i = 0; i < ISO_COUNT; i++) {
		const struct iso_row *want = &iso4217[i];
		const struct currency *c = currency_find(want->code);
		cr_assert_not_null(c, "%s must be supported", want->code);
		cr_assert_str_eq(c->code, want->code);
		cr_assert_eq(c->exponent, want->exponent, "%s exponent %d, ISO says %d", want->code,
			     c->exponent, want->exponent);
		cr_assert_eq(c->numeric, want->numeric, "%s numeric %d, ISO says %d", want->code,
			     c->numeric, want->numeric);
	}
}

Test(currency, every_supported_currency_matches_iso)
{
	cr_assert_eq(currency_count(), ISO_COUNT, "the table has %zu rows, this test knows %zu",
		     currency_count(), ISO_COUNT);
	for (size_t i = 0; i < currency_count(); i++) {
		const struct currency *c = currency_at(i);
		cr_assert_not_null(c);
		const struct iso_row *want = iso_find(c->code);
		cr_assert_not_null(want, "%s is not in this test's ISO 4217 table", c->code);
		cr_assert_eq(c->exponent, want->exponent, "%s exponent", c->code);
		cr_assert_eq(c->numeric, want->numeric, "%s numeric", c->code);
		cr_assert(c->exponent == 0 || c->exponent == 2 || c->exponent == 3);
		cr_assert(c->name && c->name[0], "%s has no name", c->code);
		cr_assert_eq(currency_find(c->code), c);
	}
	cr_assert_null(currency_at(currency_count()));
	cr_assert_null(currency_at((size_t)-1));
}

Test(currency, headline_exponents)
{
	static const struct { const char *code; int exponent; } rows[] = {
		{"CNY", 2}, {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"JPY", 0},
		{"HKD", 2}, {"SGD", 2}, {"KWD", 3},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct currency *c = currency_find(rows[i].code);
		cr_assert_not_null(c, "%s", rows[i].code);
		cr_assert_eq(c->exponent, rows[i].exponent, "%s", rows[i].code);
	}
}

Test(currency, lookup_is_case_insensitive)
{
	const struct currency *cny = currency_find("CNY");
	cr_assert_not_null(cny);
	cr_assert_eq(currency_find("cny"), cny);
	cr_assert_eq(currency_find("CnY"), cny);
	cr_assert_eq(currency_find("cNy"), cny);
	cr_assert_eq(currency_find("jpy"), currency_find("JPY"));
}

Test(currency, unknown_codes)
{
	cr_assert_null(currency_find("XXX"));
	cr_assert_null(currency_find("ABC"));
	cr_assert_null(currency_find("xts"));
	cr_assert_null(currency_find("RMB")); /* colloquial, not ISO */
}

Test(currency, wrong_length)
{
	cr_assert_null(currency_find(""));
	cr_assert_null(currency_find("C"));
	cr_assert_null(currency_find("CN"));
	cr_assert_null(currency_find("CNYY"));
	cr_assert_null(currency_find("CNY "));
	cr_assert_null(currency_find(" CNY"));
	cr_assert_null(currency_find("cnyx"));
}

Test(currency, non_letters_and_null)
{
	static const char *const bad[] = {
		"C1Y", "CN1", "123", "C-Y", "CN_", "C Y", "C\tY", "\xC3\x87NY", "CN\xFF", "156",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_null(currency_find(bad[i]), "case %zu must be refused", i);
	cr_assert_null(currency_find(NULL));
}

Test(currency, lower_case_code)
{
	for (size_t i = 0; i < currency_count(); i++) {
		const struct currency *c = currency_at(i);
		char lower[CURRENCY_CODE_LEN + 1];
		memset(lower, 'X', sizeof lower);
		currency_lower(c, lower);
		cr_assert_eq(strlen(lower), (size_t)CURRENCY_CODE_LEN);
		for (int k = 0; k < CURRENCY_CODE_LEN; k++)
			cr_assert_eq(lower[k], tolower((unsigned char)c->code[k]));
		cr_assert_eq(currency_find(lower), c);
	}
	char out[CURRENCY_CODE_LEN + 1];
	currency_lower(currency_find("CNY"), out);
	cr_assert_str_eq(out, "cny");
}

Test(currency, codes_are_unique_upper_case)
{
	for (size_t i = 0; i < currency_count(); i++) {
		const struct currency *a = currency_at(i);
		cr_assert_eq(strlen(a->code), (size_t)CURRENCY_CODE_LEN);
		for (int k = 0; k < CURRENCY_CODE_LEN; k++)
			cr_assert(a->code[k] >= 'A' && a->code[k] <= 'Z', "%s", a->code);
		for (size_t j = i + 1; j < currency_count(); j++)
			cr_assert_str_neq(a->code, currency_at(j)->code);
	}
}

Test(currency, numeric_codes_are_unique)
{
	for (size_t i = 0; i < currency_count(); i++) {
		const struct currency *a = currency_at(i);
		cr_assert(a->numeric > 0 && a->numeric < 1000, "%s numeric %d", a->code, a->numeric);
		for (size_t j = i + 1; j < currency_count(); j++)
			cr_assert_neq(a->numeric, currency_at(j)->numeric, "%s and %s share %d",
				      a->code, currency_at(j)->code, a->numeric);
	}
}
