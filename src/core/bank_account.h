/* core/bank_account: checks and derived values of bank account numbers,
 * pure (no I/O, no clock, no randomness).  What payd keeps of an account
 * is struct bank_account (core/payout.h): never the number in clear.
 *
 * Normal form.  An account number is compared, fingerprinted, sealed and
 * sent to the rail in one spelling: spaces removed, letters upper case
 * ("de89 3704 0044 0532 0130 00" -> "DE89370400440532013000").
 *
 * Rules (bank_account_check), in order:
 *  1. country: two letters (either case).
 *  2. bank_code: at most 35 of [A-Za-z0-9] after spaces are removed.
 *  3. number: 4..34 of [A-Za-z0-9] after spaces are removed.
 *  4. IBAN, ISO 13616: when the country is one of BANK_ACCOUNT_IBAN_COUNTRIES
 *     (the EEA's SEPA countries, Switzerland and the United Kingdom), the
 *     number must be that country's IBAN; a number that starts with an
 *     IBAN country's code and two digits is taken for an IBAN too.  An
 *     IBAN has its country's length (the table in bank_account.c), check
 *     digits 02..98, and passes mod-97 (the number with its first four
 *     characters moved to the end, letters as 10..35, is 1 modulo 97).  An
 *     IBAN of another country than `country` is refused on "country".
 *     Outside the table, a number that starts with `country`'s own code
 *     and two digits (Saudi Arabia, Turkey, ...) is checked as an IBAN of
 *     15..34 characters (mod-97, no country length).
 *  5. US: bank_code is the 9-digit ABA routing number with a good check
 *     digit (3, 7, 1 weights over the nine digits: a multiple of 10; all
 *     zeros refused); the number is 4..17 digits (no check digit in the
 *     US scheme).
 *  6. CN: the number is a personal bank card account (借记卡): 16..19
 *     digits passing Luhn, as every UnionPay card number does.  Corporate
 *     accounts (对公账户: 12..25 digits, no common check digit, so a typo
 *     cannot be caught) are refused until a rail that pays them needs
 *     them.  bank_code is optional (a CNAPS code or a BIC).
 *  7. Any other country: rule 3 alone.
 *
 * Answers.  A country or number that is NULL or empty (spaces only) is
 * CAT_PARAMETER_MISSING, as is a US account without a bank_code.  A value
 * of the wrong form (a character other than
 * letters, digits and spaces, outside the lengths of rules 1-3, a bad
 * routing number, an IBAN of another country) is CAT_PARAMETER_INVALID; a
 * number of a valid form that its country's scheme refuses (IBAN length or
 * check digits, US length or letters, CN length or Luhn) is
 * CAT_PAYOUT_INVALID_ACCOUNT.  Either way param_out names the part:
 * "country", "bank_code" or "account_number" (the API prefixes it, e.g.
 * "bank_account[account_number]").
 *
 * Sealing (done by the caller, with base/crypto's crypto_seal, since it
 * draws a random nonce): the normal form, under the installation secret
 * BANK_ACCOUNT_SEAL_SECRET, with the id of the record that holds the
 * account as associated data (the recipient's id for a recipient, the
 * payout's id for a payout: a payout to a saved recipient opens the
 * recipient's number and seals it again for itself).  Fingerprints are
 * keyed by the secret BANK_ACCOUNT_FINGERPRINT_SECRET. */
#ifndef PAYD_CORE_BANK_ACCOUNT_H
#define PAYD_CORE_BANK_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "core/payout.h"

#define BANK_ACCOUNT_NUMBER_MIN 4
#define BANK_ACCOUNT_NUMBER_MAX (PAYOUT_NUMBER_MAX - 1) /* 34, an IBAN's most */
#define BANK_ACCOUNT_INPUT_MAX 128 /* a number as given, spaces included */
#define BANK_ACCOUNT_FINGERPRINT_LEN 16 /* hex characters of HMAC-SHA256 (64 bits) */
#define BANK_ACCOUNT_KEY_LEN 32

/* The names of the installation secrets (store secret_get). */
#define BANK_ACCOUNT_SEAL_SECRET "account_seal"
#define BANK_ACCOUNT_FINGERPRINT_SECRET "account_fingerprint"

/* Limits of the US and CN schemes. */
#define BANK_ACCOUNT_ABA_LEN 9
#define BANK_ACCOUNT_US_MIN 4
#define BANK_ACCOUNT_US_MAX 17
#define BANK_ACCOUNT_CN_MIN 16
#define BANK_ACCOUNT_CN_MAX 19
/* An IBAN outside the table of lengths. */
#define BANK_ACCOUNT_IBAN_MIN 15
#define BANK_ACCOUNT_IBAN_MAX 34

/* The normal form of `number` into out[cap] (cap >= PAYOUT_NUMBER_MAX): 0,
 * or CAT_PARAMETER_INVALID when it is NULL, longer than
 * BANK_ACCOUNT_INPUT_MAX, has a character other than [A-Za-z0-9 ] or is
 * outside 4..34 characters once spaces are gone (out is "" then). */
int bank_account_normalize(const char *number, char *out, size_t cap);

/* Rules 1-7 above: 0 or a catalog code, with the part at fault named in
 * param_out[cap] (may be NULL).  bank_code may be NULL or "" (none). */
int bank_account_check(const char *country, const char *bank_code, const char *number,
		       char *param_out, size_t cap);

/* The IBAN length of a country of the table ("DE" -> 22), 0 if not in it. */
int bank_account_iban_length(const char *country);

/* The last four characters of a normal form ("" if shorter). */
void bank_account_last4(const char *normal, char out[5]);

/* The first BANK_ACCOUNT_FINGERPRINT_LEN hex characters of
 * HMAC-SHA256(key, normal form): the same account gives the same
 * fingerprint in one installation, and nothing about the number. */
void bank_account_fingerprint(const uint8_t key[BANK_ACCOUNT_KEY_LEN], const char *normal,
			      char out[24]);

#endif
