/* base/money: exact decimal text <-> int64_t minor units, and checked
 * arithmetic.  Parsing accumulates negatively so that INT64_MIN itself
 * parses; formatting works on the unsigned magnitude for the same reason. */
#include "base/money.h"

#include <string.h>

#include "core/catalog.h"

bool money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

bool money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

/* acc = acc*10 - digit, kept <= 0. */
static bool push_digit(int64_t *acc, int digit)
{
	int64_t r;
	if (__builtin_mul_overflow(*acc, 10, &r) || __builtin_sub_overflow(r, digit, &r))
		return false;
	*acc = r;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int money_parse(const char *text, const struct currency *cur, int64_t *out_minor)
{
	if (!text || !cur)
		return CAT_PARAMETER_INVALID;
	const char *p = text;
	bool negative = (*p == '-');
	if (negative)
		p++;
	if (!is_digit(*p))
		return CAT_PARAMETER_INVALID;

	int64_t acc = 0; /* minus the magnitude */
	bool overflow = false;
	while (is_digit(*p))
		overflow |= !push_digit(&acc, *p++ - '0');

	int decimals = 0;
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return CAT_PARAMETER_INVALID;
		while (is_digit(*p)) {
			if (++decimals > cur->exponent)
				break;
			overflow |= !push_digit(&acc, *p++ - '0');
		}
		if (decimals > cur->exponent) {
			while (is_digit(*p))
				p++;
			return *p ? CAT_PARAMETER_INVALID : CAT_AMOUNT_TOO_PRECISE;
		}
	}
	if (*p != '\0')
		return CAT_PARAMETER_INVALID;
	for (; decimals < cur->exponent; decimals++)
		overflow |= !push_digit(&acc, 0);
	if (overflow)
		return CAT_AMOUNT_TOO_LARGE;
	if (!negative) {
		if (acc == INT64_MIN)
			return CAT_AMOUNT_TOO_LARGE;
		acc = -acc;
	}
	*out_minor = acc;
	return CAT_OK;
}

int money_format(int64_t amount_minor, const struct currency *cur, char *out, size_t cap)
{
	char digits[24];
	int n = 0;
	uint64_t magnitude = amount_minor < 0 ? (uint64_t)0 - (uint64_t)amount_minor
					      : (uint64_t)amount_minor;
	do {
		digits[n++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude || n <= cur->exponent); /* at least one integer digit */

	size_t len = (size_t)n + (amount_minor < 0) + (cur->exponent > 0);
	if (len + 1 > cap)
		return -1;
	char *w = out;
	if (amount_minor < 0)
		*w++ = '-';
	for (int i = n - 1; i >= 0; i--) {
		*w++ = digits[i];
		if (i == cur->exponent && i > 0)
			*w++ = '.';
	}
	*w = '\0';
	return (int)len;
}
