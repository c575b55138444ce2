/* base/currency: lookups in the ISO 4217 table of currency.def. */
#include "base/currency.h"

#include <ctype.h>
#include <string.h>

static const struct currency currencies[] = {
#define CURRENCY(alpha, numeric, exponent, name) {#alpha, numeric, exponent, name},
#include "base/currency.def"
#undef CURRENCY
};

#define CURRENCY_TOTAL (sizeof currencies / sizeof currencies[0])

const struct currency *currency_find(const char *code)
{
	if (!code)
		return NULL;
	char upper[CURRENCY_CODE_LEN + 1];
	for (int i = 0; i < CURRENCY_CODE_LEN; i++) {
		unsigned char c = (unsigned char)code[i];
		if (!isalpha(c) || c > 127)
			return NULL;
		upper[i] = (char)toupper(c);
	}
	if (code[CURRENCY_CODE_LEN] != '\0')
		return NULL;
	upper[CURRENCY_CODE_LEN] = '\0';
	for (size_t i = 0; i < CURRENCY_TOTAL; i++)
		if (memcmp(currencies[i].code, upper, sizeof upper) == 0)
			return &currencies[i];
	return NULL;
}

size_t currency_count(void)
{
	return CURRENCY_TOTAL;
}

const struct currency *currency_at(size_t index)
{
	return index < CURRENCY_TOTAL ? &currencies[index] : NULL;
}

void currency_lower_code(const char *code, char out[CURRENCY_CODE_LEN + 1])
{
	const struct currency *cur = currency_find(code);
	out[0] = '\0';
	if (cur)
		currency_lower(cur, out);
}

void currency_lower(const struct currency *cur, char out[CURRENCY_CODE_LEN + 1])
{
	for (int i = 0; i < CURRENCY_CODE_LEN; i++)
		out[i] = (char)tolower((unsigned char)cur->code[i]);
	out[CURRENCY_CODE_LEN] = '\0';
}
