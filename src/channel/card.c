/* channel/card: raw card checks, brand, fingerprint and wiping.  Shaped as
 * small pure functions over NUL-terminated digit strings so the sandbox and
 * every future card channel apply the very same rules; none of them keeps,
 * logs or copies the number (the fingerprint is a keyed one-way hash). */
#include "channel/card.h"

#include "base/digits.h"

#include <string.h>

#include "base/crypto.h"
#include "core/catalog.h"

#define MS_PER_DAY INT64_C(86400000)

/* Length of a digits-only string, or 0 when `s` is NULL, empty, holds a
 * non-digit or is longer than `max`. */
static size_t digits_len(const char *s, size_t max)
{
	if (!s)
		return 0;
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= max || s[n] < '0' || s[n] > '9')
			return 0;
	return n;
}

bool card_luhn_ok(const char *number)
{
	/* 64 digits is far past any card; the bound keeps the loop finite. */
	size_t n = digits_len(number, 64);
	if (n == 0)
		return false;
	return digits_luhn_ok(number, n);
}

/* The number made of the first `len` digits, or -1 when there are fewer. */
static int prefix(const char *number, size_t len)
{
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (number[i] < '0' || number[i] > '9')
			return -1;
		v = v * 10 + (number[i] - '0');
	}
	return v;
}

/* One IIN range per row: the first `digits` digits in lo..hi. */
static const struct {
	const char *brand;
	unsigned char digits;
	int lo, hi;
} brand_ranges[] = {
	{"visa", 1, 4, 4},
	{"mastercard", 2, 51, 55},
	{"mastercard", 4, 2221, 2720},
	{"amex", 2, 34, 34},
	{"amex", 2, 37, 37},
	{"unionpay", 2, 62, 62},
	{"jcb", 4, 3528, 3589},
	{"discover", 4, 6011, 6011},
	{"discover", 3, 644, 649},
	{"discover", 2, 65, 65},
};

const char *card_brand(const char *number)
{
	if (!number)
		return "unknown";
	for (size_t i = 0; i < sizeof brand_ranges / sizeof brand_ranges[0]; i++) {
		int p = prefix(number, brand_ranges[i].digits);
		if (p >= brand_ranges[i].lo && p <= brand_ranges[i].hi)
			return brand_ranges[i].brand;
	}
	return "unknown";
}

int card_check_number(const char *number)
{
	size_t n = digits_len(number, CARD_NUMBER_MAX);
	if (n < CARD_NUMBER_MIN || !card_luhn_ok(number))
		return CAT_INCORRECT_NUMBER;
	return 0;
}

int card_expiry_year(int year)
{
	if (year >= 0 && year <= 99)
		return 2000 + year;
	if (year >= CARD_YEAR_MIN && year <= CARD_YEAR_MAX)
		return year;
	return -1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm, no time zone. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int card_check_expiry(int month, int year, int64_t now_ms)
{
	int y = card_expiry_year(year);
	if (month < 1 || month > 12 || y < 0)
		return CAT_PARAMETER_INVALID;
	/* The card is good until the first instant of the next month. */
	int64_t end_ms = days_from_civil(month == 12 ? y + 1 : y, month == 12 ? 1 : month + 1, 1) *
			 MS_PER_DAY;
	return now_ms >= end_ms ? CAT_EXPIRED_CARD : 0;
}

int card_check_cvc(const char *cvc)
{
	size_t n = digits_len(cvc, 4);
	return n == 3 || n == 4 ? 0 : CAT_INCORRECT_CVC;
}

void card_fingerprint(const uint8_t key[CARD_FINGERPRINT_KEY_LEN], const char *number,
		      char out[24])
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	size_t n = number ? strnlen(number, sizeof ((struct card_input *)0)->number) : 0;
	crypto_hmac_sha256(key, CARD_FINGERPRINT_KEY_LEN, number ? number : "", n, mac);
	crypto_hex(mac, sizeof mac, hex);
	memcpy(out, hex, CARD_FINGERPRINT_LEN);
	out[CARD_FINGERPRINT_LEN] = '\0';
	explicit_bzero(mac, sizeof mac);
	explicit_bzero(hex, sizeof hex);
}

void card_last4(const char *number, char out[5])
{
	size_t n = number ? strlen(number) : 0;
	if (n < 4) {
		out[0] = '\0';
		return;
	}
	memcpy(out, number + n - 4, 4);
	out[4] = '\0';
}

void card_wipe(struct card_input *card)
{
	if (card)
		explicit_bzero(card, sizeof *card);
}
