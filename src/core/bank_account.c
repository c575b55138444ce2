/* core/bank_account: the checks of bank_account.h, one function per
 * scheme (IBAN, US, CN), each answering a catalog code and the part at
 * fault.  The IBAN table is kept small on purpose: the countries payd's
 * rails pay into, each with its ISO 13616 length; add a row when a rail
 * needs a country. */
#include "core/bank_account.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "base/digits.h"
#include "core/catalog.h"

/* ISO 13616 lengths: the EEA's SEPA countries, Switzerland and the UK. */
static const struct {
	char country[3];
	int length;
} iban_lengths[] = {
	{"AT", 20}, {"BE", 16}, {"BG", 22}, {"CH", 21}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
	{"DK", 18}, {"EE", 20}, {"ES", 24}, {"FI", 18}, {"FR", 27}, {"GB", 22}, {"GR", 27},
	{"HR", 21}, {"HU", 28}, {"IE", 22}, {"IS", 26}, {"IT", 27}, {"LI", 21}, {"LT", 20},
	{"LU", 20}, {"LV", 21}, {"MT", 31}, {"NL", 18}, {"NO", 15}, {"PL", 28}, {"PT", 25},
	{"RO", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24},
};

#define IBAN_CHECK_MIN 2  /* check digits 00, 01 and 99 are never issued */
#define IBAN_CHECK_MAX 98
#define IBAN_MOD 97

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

/* Names the part at fault and returns rc. */
static int fault(char *param, size_t cap, const char *name, int rc)
{
	if (param && cap)
		snprintf(param, cap, "%s", name);
	return rc;
}

/* in without spaces, upper case, into out[cap]: false on a character
 * other than [A-Za-z0-9 ] or when it does not fit. */
static bool squeeze(const char *in, char *out, size_t cap, size_t *len)
{
	size_t n = 0;
	*len = 0;
	if (!in || strnlen(in, BANK_ACCOUNT_INPUT_MAX + 1) > BANK_ACCOUNT_INPUT_MAX || cap == 0)
		return false;
	for (; *in; in++) {
		char c = upper(*in);
		if (c == ' ')
			continue;
		if ((!is_digit(c) && !is_upper(c)) || n + 1 >= cap)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	*len = n;
	return true;
}

/* True when s is NULL or holds nothing but spaces. */
static bool blank(const char *s)
{
	if (!s)
		return true;
	for (; *s; s++)
		if (*s != ' ')
			return false;
	return true;
}

int bank_account_normalize(const char *number, char *out, size_t cap)
{
	size_t n;
	if (!out || cap == 0)
		return CAT_PARAMETER_INVALID;
	if (!squeeze(number, out, cap, &n) || n < BANK_ACCOUNT_NUMBER_MIN ||
	    n > BANK_ACCOUNT_NUMBER_MAX) {
		out[0] = '\0';
		return CAT_PARAMETER_INVALID;
	}
	return CAT_OK;
}

int bank_account_iban_length(const char *country)
{
	for (size_t i = 0; country && i < sizeof iban_lengths / sizeof iban_lengths[0]; i++)
		if (strcmp(iban_lengths[i].country, country) == 0)
			return iban_lengths[i].length;
	return 0;
}

/* ---- IBAN ------------------------------------------------------------------ */

static bool iban_shaped(const char *n)
{
	return is_upper(n[0]) && is_upper(n[1]) && is_digit(n[2]) && is_digit(n[3]);
}

/* ISO 7064 mod 97-10 over the IBAN with its first four characters last. */
static bool iban_mod97_ok(const char *iban, size_t len)
{
	unsigned r = 0;
	for (size_t i = 0; i < len; i++) {
		char c = iban[(i + 4) % len];
		r = is_digit(c) ? (r * 10 + (unsigned)(c - '0')) % IBAN_MOD
				: (r * 100 + (unsigned)(c - 'A' + 10)) % IBAN_MOD;
	}
	return r == 1;
}

/* Is `number` to be checked as an IBAN (rule 4)? */
static bool iban_expected(const char *country, const char *number)
{
	if (bank_account_iban_length(country))
		return true;
	if (!iban_shaped(number))
		return false;
	char prefix[3] = {number[0], number[1], '\0'};
	return bank_account_iban_length(prefix) || strcmp(prefix, country) == 0;
}

static int iban_check(const char *country, const char *n, char *param, size_t cap)
{
	size_t len = strlen(n);
	if (!iban_shaped(n))
		return fault(param, cap, "account_number", CAT_PAYOUT_INVALID_ACCOUNT);
	char prefix[3] = {n[0], n[1], '\0'};
	if (strcmp(prefix, country) != 0)
		return fault(param, cap, "country", CAT_PARAMETER_INVALID);
	int want = bank_account_iban_length(country);
	bool len_ok = want ? len == (size_t)want
			   : len >= BANK_ACCOUNT_IBAN_MIN && len <= BANK_ACCOUNT_IBAN_MAX;
	int check = (n[2] - '0') * 10 + (n[3] - '0');
	if (!len_ok || check < IBAN_CHECK_MIN || check > IBAN_CHECK_MAX || !iban_mod97_ok(n, len))
		return fault(param, cap, "account_number", CAT_PAYOUT_INVALID_ACCOUNT);
	return CAT_OK;
}

/* ---- US -------------------------------------------------------------------- */

static bool aba_ok(const char *code)
{
	static const unsigned weights[BANK_ACCOUNT_ABA_LEN] = {3, 7, 1, 3, 7, 1, 3, 7, 1};
	if (strlen(code) != BANK_ACCOUNT_ABA_LEN || !all_digits(code) ||
	    strspn(code, "0") == BANK_ACCOUNT_ABA_LEN)
		return false;
	unsigned sum = 0;
	for (int i = 0; i < BANK_ACCOUNT_ABA_LEN; i++)
		sum += weights[i] * (unsigned)(code[i] - '0');
	return sum % 10 == 0;
}

static int us_check(const char *code, const char *n, char *param, size_t cap)
{
	if (!code[0])
		return fault(param, cap, "bank_code", CAT_PARAMETER_MISSING);
	if (!aba_ok(code))
		return fault(param, cap, "bank_code", CAT_PARAMETER_INVALID);
	size_t len = strlen(n);
	if (!all_digits(n) || len < BANK_ACCOUNT_US_MIN || len > BANK_ACCOUNT_US_MAX)
		return fault(param, cap, "account_number", CAT_PAYOUT_INVALID_ACCOUNT);
	return CAT_OK;
}

/* ---- CN -------------------------------------------------------------------- */

static int cn_check(const char *n, char *param, size_t cap)
{
	size_t len = strlen(n);
	if (!all_digits(n) || len < BANK_ACCOUNT_CN_MIN || len > BANK_ACCOUNT_CN_MAX ||
	    !digits_luhn_ok(n, len))
		return fault(param, cap, "account_number", CAT_PAYOUT_INVALID_ACCOUNT);
	return CAT_OK;
}

/* ---- the whole check ------------------------------------------------------- */

/* Rules 1-3: the form of each part, normalised into cc, code and number. */
static int check_forms(const char *country, const char *bank_code, const char *number,
		       char cc[3], char code[PAYOUT_BANK_CODE_MAX], char num[PAYOUT_NUMBER_MAX],
		       char *param, size_t cap)
{
	size_t n;
	if (blank(country))
		return fault(param, cap, "country", CAT_PARAMETER_MISSING);
	if (!squeeze(country, cc, 3, &n) || n != 2 || !is_upper(cc[0]) || !is_upper(cc[1]))
		return fault(param, cap, "country", CAT_PARAMETER_INVALID);
	if (!squeeze(bank_code ? bank_code : "", code, PAYOUT_BANK_CODE_MAX, &n))
		return fault(param, cap, "bank_code", CAT_PARAMETER_INVALID);
	if (blank(number))
		return fault(param, cap, "account_number", CAT_PARAMETER_MISSING);
	if (bank_account_normalize(number, num, PAYOUT_NUMBER_MAX))
		return fault(param, cap, "account_number", CAT_PARAMETER_INVALID);
	return CAT_OK;
}

int bank_account_check(const char *country, const char *bank_code, const char *number,
		       char *param_out, size_t cap)
{
	char cc[3], code[PAYOUT_BANK_CODE_MAX], num[PAYOUT_NUMBER_MAX];
	if (param_out && cap)
		param_out[0] = '\0';
	int rc = check_forms(country, bank_code, number, cc, code, num, param_out, cap);
	if (rc)
		goto out;
	if (iban_expected(cc, num))
		rc = iban_check(cc, num, param_out, cap);
	else if (strcmp(cc, "US") == 0)
		rc = us_check(code, num, param_out, cap);
	else if (strcmp(cc, "CN") == 0)
		rc = cn_check(num, param_out, cap);
out:
	explicit_bzero(num, sizeof num);
	return rc;
}

void bank_account_last4(const char *normal, char out[5])
{
	size_t n = normal ? strlen(normal) : 0;
	if (n < 4) {
		out[0] = '\0';
		return;
	}
	memcpy(out, normal + n - 4, 4);
	out[4] = '\0';
}

void bank_account_fingerprint(const uint8_t key[BANK_ACCOUNT_KEY_LEN], const char *normal,
			      char out[24])
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	size_t n = normal ? strnlen(normal, PAYOUT_NUMBER_MAX) : 0;
	crypto_hmac_sha256(key, BANK_ACCOUNT_KEY_LEN, normal ? normal : "", n, mac);
	crypto_hex(mac, sizeof mac, hex);
	memcpy(out, hex, BANK_ACCOUNT_FINGERPRINT_LEN);
	out[BANK_ACCOUNT_FINGERPRINT_LEN] = '\0';
	explicit_bzero(mac, sizeof mac);
	explicit_bzero(hex, sizeof hex);
}
