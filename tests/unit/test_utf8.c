/* tests/unit/test_utf8: base/utf8.  Strict RFC 3629 validation: ASCII,
 * Chinese and emoji pass; overlong forms, surrogates, code points above
 * U+10FFFF, truncated sequences, stray continuation bytes and bytes that
 * never occur in UTF-8 fail; utf8_printable also refuses C0 controls and
 * DEL.  Lengths are explicit, so embedded NULs and trailing bytes count. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/utf8.h"

static void expect_valid(const char *s, size_t len, const char *what)
{
	cr_assert(utf8_valid(s, len), "%s must be valid UTF-8", what);
}

static void expect_invalid(const char *s, size_t len, const char *what)
{
	cr_assert_not(utf8_valid(s, len), "%s must be refused", what);
	cr_assert_not(utf8_printable(s, len), "%s must not be printable", what);
}

#define VALID(lit) expect_valid(lit, sizeof lit - 1, #lit)
#define INVALID(lit) expect_invalid(lit, sizeof lit - 1, #lit)

Test(utf8, accepts_well_formed_text)
{
	VALID("");
	VALID("hello, world ~");
	VALID("支付成功");                 /* Chinese, 3-byte sequences */
	VALID("您的卡内余额不足，请更换其他支付方式。");
	VALID("Zürich café");              /* 2-byte */
	VALID("\xF0\x9F\x92\xB3 paid");    /* U+1F4B3 credit card emoji, 4-byte */
	VALID("\xC2\x80");                 /* U+0080, smallest 2-byte */
	VALID("\xDF\xBF");                 /* U+07FF */
	VALID("\xE0\xA0\x80");             /* U+0800, smallest 3-byte */
	VALID("\xED\x9F\xBF");             /* U+D7FF, just below the surrogates */
	VALID("\xEE\x80\x80");             /* U+E000, just above them */
	VALID("\xEF\xBF\xBF");             /* U+FFFF */
	VALID("\xF0\x90\x80\x80");         /* U+10000, smallest 4-byte */
	VALID("\xF4\x8F\xBF\xBF");         /* U+10FFFF, the last code point */
	expect_valid("a\0b", 3, "an embedded NUL");
}

Test(utf8, refuses_overlong_forms)
{
	INVALID("\xC0\x80");               /* NUL in two bytes */
	INVALID("\xC0\xAF");               /* '/' in two bytes */
	INVALID("\xC1\xBF");
	INVALID("\xE0\x80\xAF");           /* '/' in three bytes */
	INVALID("\xE0\x9F\xBF");           /* U+07FF in three bytes */
	INVALID("\xF0\x80\x80\xAF");       /* '/' in four bytes */
	INVALID("\xF0\x8F\xBF\xBF");       /* U+FFFF in four bytes */
}

Test(utf8, refuses_surrogates)
{
	INVALID("\xED\xA0\x80");           /* U+D800 */
	INVALID("\xED\xAF\xBF");           /* U+DBFF */
	INVALID("\xED\xB0\x80");           /* U+DC00 */
	INVALID("\xED\xBF\xBF");           /* U+DFFF */
	INVALID("\xED\xA0\xBD\xED\xB2\xB3"); /* CESU-8 pair for U+1F4B3 */
}

Test(utf8, refuses_above_max_code_point)
{
	INVALID("\xF4\x90\x80\x80");       /* U+110000 */
	INVALID("\xF7\xBF\xBF\xBF");       /* U+1FFFFF */
	INVALID("\xF8\x88\x80\x80\x80");   /* old 5-byte form */
	INVALID("\xFC\x84\x80\x80\x80\x80"); /* old 6-byte form */
	INVALID("\xFE");
	INVALID("\xFF");
}

Test(utf8, refuses_truncated_sequences)
{
	INVALID("\xC3");
	INVALID("\xE6\x94");               /* first two bytes of 支 */
	INVALID("\xF0\x9F\x92");
	INVALID("abc\xE6");
	INVALID("\xE6\x94 x");             /* cut short by an ASCII byte */
	/* A length that ends inside a character. */
	const char *zhi = "支付";
	cr_assert_not(utf8_valid(zhi, 4), "length cutting 付 in half");
	cr_assert(utf8_valid(zhi, 3));
	cr_assert(utf8_valid(zhi, 0));
}

Test(utf8, refuses_stray_continuation_bytes)
{
	INVALID("\x80");
	INVALID("\xBF");
	INVALID("a\x80z");
	INVALID("\xC3\xA9\xA9");           /* é then one continuation too many */
	INVALID("\xF0\x9F\x92\xB3\x80");
}

Test(utf8, printable_refuses_control_characters)
{
	cr_assert(utf8_printable("acme 支付 \xF0\x9F\x92\xB3", strlen("acme 支付 \xF0\x9F\x92\xB3")));
	cr_assert(utf8_printable("", 0));
	static const char controls[] = {'\0', '\x01', '\t', '\n', '\r', '\x1B', '\x1F', '\x7F'};
	for (size_t i = 0; i < sizeof controls; i++) {
		char s[4] = {'a', controls[i], 'b', '\0'};
		cr_assert(utf8_valid(s, 3), "0x%02x is valid UTF-8", (unsigned char)controls[i]);
		cr_assert_not(utf8_printable(s, 3), "0x%02x must not be printable",
			      (unsigned char)controls[i]);
	}
	cr_assert(utf8_printable(" ~", 2));
}
