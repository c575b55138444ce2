/* base/money: exact amounts.  An amount is an int64_t count of the
 * currency's minor unit (cents, fen, fils); decimal text converts to and
 * from it without floating point.  Every arithmetic helper reports
 * overflow instead of wrapping. */
#ifndef PAYD_BASE_MONEY_H
#define PAYD_BASE_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/currency.h"

/* Longest text money_format writes: sign, 19 digits, point, NUL. */
#define MONEY_TEXT_MAX 24

/* Parses "12.34", "-0.5", "7" into minor units of `cur` ("12.34" CNY is
 * 1234).  Accepted: an optional '-', one or more digits, then optionally
 * '.' and 1..exponent digits.  Returns 0, or a catalog code:
 * CAT_PARAMETER_INVALID (syntax), CAT_AMOUNT_TOO_PRECISE (more decimals than
 * the currency has), CAT_AMOUNT_TOO_LARGE (outside int64_t).  *out is
 * written only on success. */
int money_parse(const char *text, const struct currency *cur, int64_t *out_minor);

/* Writes amount_minor as decimal text with exactly the currency's number of
 * decimals ("12.34", "-0.05", "1000" for JPY).  Returns the length, or -1
 * when `cap` is too small (use MONEY_TEXT_MAX). */
int money_format(int64_t amount_minor, const struct currency *cur, char *out, size_t cap);

/* Checked arithmetic: false (and *out untouched) on overflow. */
bool money_add(int64_t a, int64_t b, int64_t *out);
bool money_sub(int64_t a, int64_t b, int64_t *out);

#endif
