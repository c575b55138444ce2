/* tests/unit/test_bank_account: core/bank_account's checks (IBANs of
 * several countries, ABA routing numbers, CN card accounts, lengths,
 * characters, spaces, the part named), its derived values (normal form,
 * last4, fingerprint) and base/crypto's sealing of account numbers
 * (round trip, tampering, other associated data or key, fresh nonces). */
#include <criterion/criterion.h>
#include <string.h>

#include "base/crypto.h"
#include "core/bank_account.h"
#include "core/catalog.h"

/* Runs the check and compares code and part. */
static void expect_check(const char *country, const char *code, const char *number, int want,
			 const char *want_param)
{
	char param[32] = "junk";
	int rc = bank_account_check(country, code, number, param, sizeof param);
	cr_expect_eq(rc, want, "%s/%s/%s: rc %d, want %d (param %s)", country,
		     code ? code : "(null)", number ? number : "(null)", rc, want, param);
	cr_expect_str_eq(param, want_param, "%s/%s: param", country, number ? number : "(null)");
}

static void expect_ok(const char *country, const char *code, const char *number)
{
	expect_check(country, code, number, CAT_OK, "");
}

/* ---- IBAN ------------------------------------------------------------------ */

Test(bank_account, valid_ibans_of_several_countries)
{
	expect_ok("DE", NULL, "DE89370400440532013000");
	expect_ok("GB", "NWBKGB2L", "GB29NWBK60161331926819");
	expect_ok("FR", "", "FR1420041010050500013M02606");
	expect_ok("NL", NULL, "NL91ABNA0417164300");
	expect_ok("BE", NULL, "BE68539007547034");
	expect_ok("CH", NULL, "CH9300762011623852957");
	expect_ok("ES", NULL, "ES9121000418450200051332");
	expect_ok("IT", NULL, "IT60X0542811101000000123456");
	expect_ok("NO", NULL, "NO9386011117947"); /* the shortest, 15 */
	expect_ok("AT", NULL, "AT611904300234573201");
	expect_ok("PL", NULL, "PL61109010140000071219812874");
}

Test(bank_account, iban_spaces_and_case_are_forgiven)
{
	expect_ok("de", NULL, "de89 3704 0044 0532 0130 00");
	expect_ok("GB", NULL, "  GB29 NWBK 6016 1331 9268 19 ");
}

Test(bank_account, iban_bad_check_digits)
{
	/* one digit changed */
	expect_check("DE", NULL, "DE89370400440532013001", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number");
	/* two digits swapped */
	expect_check("GB", NULL, "GB29NWBK60161331926891", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number");
	expect_check("FR", NULL, "FR1520041010050500013M02606", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number");
	/* check digits 99 pass mod-97 exactly when 02 would: never issued */
	expect_check("DE", NULL, "DE99370400440532013000", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number");
}

Test(bank_account, iban_wrong_length_for_its_country)
{
	expect_check("DE", NULL, "DE8937040044053201300", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number"); /* 21 */
	expect_check("NL", NULL, "NL91ABNA04171643001", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number"); /* 19 */
}

Test(bank_account, iban_country_must_have_an_iban)
{
	/* a German account given as a bare number */
	expect_check("DE", NULL, "0532013000", CAT_PAYOUT_INVALID_ACCOUNT, "account_number");
}

Test(bank_account, iban_of_another_country)
{
	expect_check("DE", NULL, "FR1420041010050500013M02606", CAT_PARAMETER_INVALID, "country");
	/* a listed IBAN given for an unlisted country */
	expect_check("JP", NULL, "GB29NWBK60161331926819", CAT_PARAMETER_INVALID, "country");
}

Test(bank_account, iban_of_an_unlisted_country_gets_mod97)
{
	expect_ok("SA", NULL, "SA0380000000608010167519");
	expect_check("SA", NULL, "SA0380000000608010167518", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number");
	cr_expect_eq(bank_account_iban_length("SA"), 0);
	cr_expect_eq(bank_account_iban_length("DE"), 22);
	cr_expect_eq(bank_account_iban_length("NO"), 15);
	cr_expect_eq(bank_account_iban_length("US"), 0);
}

/* ---- US -------------------------------------------------------------------- */

Test(bank_account, us_routing_numbers)
{
	expect_ok("US", "110000000", "000123456789");
	expect_ok("US", "021000021", "1234");
	expect_ok("US", "011000015", "12345678901234567");
	expect_ok("US", "026009593", "987654321");
	expect_check("US", "021000022", "000123456789", CAT_PARAMETER_INVALID, "bank_code");
	expect_check("US", "11000000", "000123456789", CAT_PARAMETER_INVALID, "bank_code");
	expect_check("US", "1100000000", "000123456789", CAT_PARAMETER_INVALID, "bank_code");
	expect_check("US", "11000000A", "000123456789", CAT_PARAMETER_INVALID, "bank_code");
	expect_check("US", "000000000", "000123456789", CAT_PARAMETER_INVALID, "bank_code");
	expect_check("US", "", "000123456789", CAT_PARAMETER_MISSING, "bank_code");
	expect_check("US", NULL, "000123456789", CAT_PARAMETER_MISSING, "bank_code");
	expect_ok("US", "1100 00000", "0001 2345 6789"); /* spaces */
}

Test(bank_account, us_account_numbers)
{
	expect_check("US", "110000000", "123", CAT_PARAMETER_INVALID, "account_number");
	expect_check("US", "110000000", "123456789012345678", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number"); /* 18 */
	expect_check("US", "110000000", "12345A", CAT_PAYOUT_INVALID_ACCOUNT, "account_number");
}

/* ---- CN -------------------------------------------------------------------- */

Test(bank_account, cn_card_accounts)
{
	expect_ok("CN", NULL, "6222020200112347");    /* 16 */
	expect_ok("CN", NULL, "622848001234567894");  /* 18 */
	expect_ok("CN", "102100099996", "6217000010000000003"); /* 19, a CNAPS code */
	expect_ok("CN", NULL, "6217 0000 1000 0000 003");
	expect_check("CN", NULL, "6217000010000000004", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number"); /* Luhn */
	expect_check("CN", NULL, "622202020011234", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number"); /* 15 */
	expect_check("CN", NULL, "62170000100000000030", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number"); /* 20 */
	expect_check("CN", NULL, "621700001000000000A", CAT_PAYOUT_INVALID_ACCOUNT,
		     "account_number");
}

/* ---- other countries, forms ------------------------------------------------- */

Test(bank_account, other_countries_length_only)
{
	expect_ok("JP", "0005", "1234567");
	expect_ok("AU", "062000", "ABCD");
	expect_ok("BR", NULL, "1234567890123456789012345678901234"); /* 34 */
	expect_check("JP", NULL, "12345678901234567890123456789012345", CAT_PARAMETER_INVALID,
		     "account_number"); /* 35 */
	expect_check("JP", NULL, "123", CAT_PARAMETER_INVALID, "account_number");
}

Test(bank_account, characters)
{
	expect_check("JP", NULL, "1234-5678", CAT_PARAMETER_INVALID, "account_number");
	expect_check("JP", NULL, "1234\t5678", CAT_PARAMETER_INVALID, "account_number");
	expect_check("JP", NULL, "12345678\xc3\xa9", CAT_PARAMETER_INVALID, "account_number");
	expect_check("JP", "00-05", "12345678", CAT_PARAMETER_INVALID, "bank_code");
	expect_check("JP", "123456789012345678901234567890123456", "12345678",
		     CAT_PARAMETER_INVALID, "bank_code"); /* 36 */
}

Test(bank_account, missing_and_bad_country)
{
	expect_check(NULL, NULL, "12345678", CAT_PARAMETER_MISSING, "country");
	expect_check("", NULL, "12345678", CAT_PARAMETER_MISSING, "country");
	expect_check("JPN", NULL, "12345678", CAT_PARAMETER_INVALID, "country");
	expect_check("J1", NULL, "12345678", CAT_PARAMETER_INVALID, "country");
	expect_check("JP", NULL, NULL, CAT_PARAMETER_MISSING, "account_number");
	expect_check("JP", NULL, "    ", CAT_PARAMETER_MISSING, "account_number");
}

Test(bank_account, param_out_may_be_null_or_small)
{
	cr_expect_eq(bank_account_check("DE", NULL, "DE00", NULL, 0), CAT_PAYOUT_INVALID_ACCOUNT);
	char small[4];
	cr_expect_eq(bank_account_check("US", "1", "1234", small, sizeof small),
		     CAT_PARAMETER_INVALID);
	cr_expect_str_eq(small, "ban");
}

Test(bank_account, normalize)
{
	char out[PAYOUT_NUMBER_MAX];
	cr_expect_eq(bank_account_normalize(" gb29 nwbk 6016 1331 9268 19", out, sizeof out), 0);
	cr_expect_str_eq(out, "GB29NWBK60161331926819");
	cr_expect_eq(bank_account_normalize("12 3", out, sizeof out), CAT_PARAMETER_INVALID);
	cr_expect_str_eq(out, "");
	cr_expect_eq(bank_account_normalize("1234_", out, sizeof out), CAT_PARAMETER_INVALID);
	cr_expect_eq(bank_account_normalize(NULL, out, sizeof out), CAT_PARAMETER_INVALID);
	/* the input limit, spaces included */
	char spaced[BANK_ACCOUNT_INPUT_MAX + 2];
	memset(spaced, ' ', sizeof spaced);
	memcpy(spaced, "1234", 4);
	spaced[BANK_ACCOUNT_INPUT_MAX] = '\0';
	cr_expect_eq(bank_account_normalize(spaced, out, sizeof out), 0);
	spaced[BANK_ACCOUNT_INPUT_MAX] = ' ';
	spaced[BANK_ACCOUNT_INPUT_MAX + 1] = '\0';
	cr_expect_eq(bank_account_normalize(spaced, out, sizeof out), CAT_PARAMETER_INVALID);
}

Test(bank_account, last4)
{
	char out[5];
	bank_account_last4("DE89370400440532013000", out);
	cr_expect_str_eq(out, "3000");
	bank_account_last4("1234", out);
	cr_expect_str_eq(out, "1234");
	bank_account_last4("123", out);
	cr_expect_str_eq(out, "");
	bank_account_last4(NULL, out);
	cr_expect_str_eq(out, "");
}

Test(bank_account, fingerprint_is_keyed_and_stable)
{
	uint8_t k1[32], k2[32];
	memset(k1, 1, sizeof k1);
	memset(k2, 2, sizeof k2);
	char a[24], b[24], c[24], d[24];
	bank_account_fingerprint(k1, "DE89370400440532013000", a);
	bank_account_fingerprint(k1, "DE89370400440532013000", b);
	bank_account_fingerprint(k2, "DE89370400440532013000", c);
	bank_account_fingerprint(k1, "DE89370400440532013001", d);
	cr_expect_eq(strlen(a), BANK_ACCOUNT_FINGERPRINT_LEN);
	cr_expect_str_eq(a, b);
	cr_expect_str_neq(a, c);
	cr_expect_str_neq(a, d);
	cr_expect_eq(strspn(a, "0123456789abcdef"), BANK_ACCOUNT_FINGERPRINT_LEN);
}

/* ---- sealing --------------------------------------------------------------- */

static const char number[] = "DE89370400440532013000";
static const char owner[] = "rcp_000000000000000000000001";

static void key_of(uint8_t key[CRYPTO_SEAL_KEY_LEN], uint8_t fill)
{
	memset(key, fill, CRYPTO_SEAL_KEY_LEN);
}

static size_t seal(const uint8_t *key, uint8_t *out, size_t cap)
{
	size_t len = 0;
	cr_assert(crypto_seal(key, number, strlen(number), owner, strlen(owner), out, cap, &len));
	return len;
}

Test(seal, round_trip)
{
	uint8_t key[32], sealed[PAYOUT_SEALED_MAX];
	key_of(key, 7);
	size_t len = seal(key, sealed, sizeof sealed);
	cr_expect_eq(len, strlen(number) + CRYPTO_SEAL_OVERHEAD);
	cr_expect_null(memmem(sealed, len, number, strlen(number)), "the number shows");
	cr_expect_null(memmem(sealed, len, "0532013000", 10), "part of the number shows");
	char out[PAYOUT_NUMBER_MAX] = "";
	size_t out_len = 99;
	cr_assert(crypto_open(key, sealed, len, owner, strlen(owner), out, sizeof out - 1,
			      &out_len));
	cr_expect_eq(out_len, strlen(number));
	out[out_len] = '\0';
	cr_expect_str_eq(out, number);
}

Test(seal, nonce_differs_each_time)
{
	uint8_t key[32], a[PAYOUT_SEALED_MAX], b[PAYOUT_SEALED_MAX];
	key_of(key, 7);
	size_t la = seal(key, a, sizeof a), lb = seal(key, b, sizeof b);
	cr_assert_eq(la, lb);
	cr_expect_neq(memcmp(a, b, CRYPTO_SEAL_NONCE_LEN), 0, "the same nonce twice");
	cr_expect_neq(memcmp(a, b, la), 0);
}

/* Every single-bit change anywhere (nonce, body, tag) is refused, and the
 * output is wiped. */
Test(seal, tampering_is_refused)
{
	uint8_t key[32], sealed[PAYOUT_SEALED_MAX];
	key_of(key, 7);
	size_t len = seal(key, sealed, sizeof sealed);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			sealed[i] ^= (uint8_t)(1u << bit);
			char out[PAYOUT_NUMBER_MAX];
			size_t out_len = 99;
			memset(out, 'x', sizeof out);
			cr_expect_not(crypto_open(key, sealed, len, owner, strlen(owner), out,
						  sizeof out, &out_len),
				      "byte %zu bit %d changed and it opened", i, bit);
			cr_expect_eq(out_len, 0);
			for (size_t j = 0; j < sizeof out; j++)
				cr_assert_eq(out[j], 0, "not wiped at %zu", j);
			sealed[i] ^= (uint8_t)(1u << bit);
		}
	}
	char out[PAYOUT_NUMBER_MAX];
	size_t out_len;
	cr_expect(crypto_open(key, sealed, len, owner, strlen(owner), out, sizeof out, &out_len));
	cr_expect_not(crypto_open(key, sealed, len - 1, owner, strlen(owner), out, sizeof out,
				  &out_len), "cut short");
	cr_expect_not(crypto_open(key, sealed, CRYPTO_SEAL_OVERHEAD - 1, owner, strlen(owner), out,
				  sizeof out, &out_len), "shorter than nonce and tag");
}

Test(seal, other_associated_data_or_key_refused)
{
	uint8_t key[32], other[32], sealed[PAYOUT_SEALED_MAX];
	key_of(key, 7);
	key_of(other, 8);
	size_t len = seal(key, sealed, sizeof sealed);
	char out[PAYOUT_NUMBER_MAX];
	size_t out_len;
	const char *moved = "rcp_000000000000000000000002";
	cr_expect_not(crypto_open(key, sealed, len, moved, strlen(moved), out, sizeof out, &out_len),
		      "opened for another owner");
	cr_expect_not(crypto_open(key, sealed, len, NULL, 0, out, sizeof out, &out_len),
		      "opened without its owner");
	cr_expect_not(crypto_open(other, sealed, len, owner, strlen(owner), out, sizeof out,
				  &out_len), "opened with another key");
}

Test(seal, capacity_limits)
{
	uint8_t key[32], sealed[PAYOUT_SEALED_MAX];
	key_of(key, 7);
	size_t len = 99;
	size_t need = strlen(number) + CRYPTO_SEAL_OVERHEAD;
	cr_expect_not(crypto_seal(key, number, strlen(number), owner, strlen(owner), sealed,
				  need - 1, &len));
	cr_expect_eq(len, 0);
	cr_expect(crypto_seal(key, number, strlen(number), owner, strlen(owner), sealed, need,
			      &len));
	char out[PAYOUT_NUMBER_MAX];
	size_t out_len;
	cr_expect_not(crypto_open(key, sealed, len, owner, strlen(owner), out, strlen(number) - 1,
				  &out_len), "output too small");
	cr_expect(crypto_open(key, sealed, len, owner, strlen(owner), out, strlen(number),
			      &out_len));
	/* Empty plaintext and no associated data are fine. */
	cr_expect(crypto_seal(key, "", 0, NULL, 0, sealed, sizeof sealed, &len));
	cr_expect_eq(len, CRYPTO_SEAL_OVERHEAD);
	cr_expect(crypto_open(key, sealed, len, NULL, 0, out, sizeof out, &out_len));
	cr_expect_eq(out_len, 0);
}
