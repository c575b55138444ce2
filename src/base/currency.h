/* base/currency: the ISO 4217 currencies payd accepts and their minor-unit
 * exponents.  One X-macro table (currency.def) is the only source; lookups
 * are case-insensitive because Stripe's API spells currencies lower-case. */
#ifndef PAYD_BASE_CURRENCY_H
#define PAYD_BASE_CURRENCY_H

#include <stddef.h>

#define CURRENCY_CODE_LEN 3

struct currency {
	char code[CURRENCY_CODE_LEN + 1]; /* upper-case ISO alpha code, "CNY" */
	int numeric;                      /* ISO numeric code, 156 */
	int exponent;                     /* digits after the decimal point: 0, 2 or 3 */
	const char *name;
};

/* The currency with this alpha code (any case), or NULL when payd does not
 * support it.  `code` need not be NUL-terminated past three characters:
 * exactly three letters are required. */
const struct currency *currency_find(const char *code);

size_t currency_count(void);
const struct currency *currency_at(size_t index);

/* Writes the lower-case code ("cny") into out[4], as the API shows it. */
void currency_lower(const struct currency *cur, char out[CURRENCY_CODE_LEN + 1]);
/* The same from a code in any case; "" when payd does not know it. */
void currency_lower_code(const char *code, char out[CURRENCY_CODE_LEN + 1]);

#endif
