/* base/digits: small checks on digit strings shared by the card checks,
 * the log's redaction and the URL decoders. */
#ifndef PAYD_BASE_DIGITS_H
#define PAYD_BASE_DIGITS_H

#include <stdbool.h>
#include <stddef.h>

/* The Luhn (mod 10) check over digits[0..n), which must all be '0'..'9'. */
bool digits_luhn_ok(const char *digits, size_t n);
/* The value of a hexadecimal digit, or -1. */
int digits_hex_value(char c);

#endif
