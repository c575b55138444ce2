/* channel/card: checks of raw card details (number, expiry, CVC), the card
 * brand from its number, the keyed fingerprint, and wiping.  Pure functions
 * with no I/O: nothing here logs, stores or copies a full card number; the
 * only output derived from the whole number is the one-way fingerprint.
 * Every check returns 0 or a catalog code, as the API reports it. */
#ifndef PAYD_CHANNEL_CARD_H
#define PAYD_CHANNEL_CARD_H

#include <stdbool.h>
#include <stdint.h>

#include "channel/channel.h"

#define CARD_NUMBER_MIN 12 /* digits */
#define CARD_NUMBER_MAX 19
#define CARD_YEAR_MIN 2000 /* expiry years accepted (2-digit years mean 20YY) */
#define CARD_YEAR_MAX 2099
#define CARD_FINGERPRINT_LEN 16 /* hex characters of HMAC-SHA256 (64 bits) */
#define CARD_FINGERPRINT_KEY_LEN 32

/* True when `number` is a non-empty run of digits passing the Luhn check.
 * Anything else, NULL included, is false. */
bool card_luhn_ok(const char *number);

/* The brand by IIN prefix: "visa" (4), "mastercard" (51-55, 2221-2720),
 * "amex" (34, 37), "unionpay" (62), "jcb" (3528-3589), "discover" (6011,
 * 644-649, 65), else "unknown".  Never NULL. */
const char *card_brand(const char *number);

/* 0, or CAT_INCORRECT_NUMBER unless `number` is CARD_NUMBER_MIN..MAX
 * digits (nothing else) passing the Luhn check. */
int card_check_number(const char *number);

/* 0, CAT_PARAMETER_INVALID (month not 1..12, year outside 0..99 and
 * CARD_YEAR_MIN..CARD_YEAR_MAX), or CAT_EXPIRED_CARD when the expiry month
 * ended (UTC) at or before now_ms.  A card is good through the last
 * millisecond of its expiry month. */
int card_check_expiry(int month, int year, int64_t now_ms);

/* The 4-digit year of an expiry year (2-digit years mean 20YY), or -1 when
 * it is out of range. */
int card_expiry_year(int year);

/* 0, or CAT_INCORRECT_CVC unless `cvc` is 3 or 4 digits. */
int card_check_cvc(const char *cvc);

/* The first CARD_FINGERPRINT_LEN hex characters of
 * HMAC-SHA256(key, number) into out (NUL-terminated).  Same key and number,
 * same fingerprint; another key gives another one.  The number should be
 * checked first (card_check_number). */
void card_fingerprint(const uint8_t key[CARD_FINGERPRINT_KEY_LEN], const char *number,
		      char out[24]);

/* The last four digits of a checked number into out[5]. */
void card_last4(const char *number, char out[5]);

/* Zeroes the whole struct with explicit_bzero, which the compiler may not
 * remove as a dead store. */
void card_wipe(struct card_input *card);

#endif
