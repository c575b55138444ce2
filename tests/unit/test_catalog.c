/* tests/unit/test_catalog: core/catalog, the error catalog.  The table's
 * shape (ascending unique codes, unique slugs and names, every text present,
 * Chinese messages really Chinese and valid UTF-8, HTTP statuses, families),
 * the rows the issues name with their numbers, slugs and retry classes,
 * that lost/stolen cards show the payer the generic decline while telling
 * the merchant the truth, the lookups, and catalog_message's choice of
 * language from Accept-Language. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/utf8.h"
#include "core/catalog.h"

static const struct catalog_entry *row(int code)
{
	const struct catalog_entry *e = catalog_get(code);
	cr_assert_not_null(e, "code %d must exist", code);
	cr_assert_eq(e->code, code);
	return e;
}

static bool has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static bool is_slug(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

Test(catalog, codes_strictly_ascending)
{
	cr_assert_gt(catalog_count(), 0);
	for (size_t i = 1; i < catalog_count(); i++)
		cr_assert_lt(catalog_at(i - 1)->code, catalog_at(i)->code, "row %zu (%d) after %d", i,
			     catalog_at(i)->code, catalog_at(i - 1)->code);
	cr_assert_null(catalog_at(catalog_count()));
}

Test(catalog, codes_slugs_and_names_unique)
{
	for (size_t i = 0; i < catalog_count(); i++)
		for (size_t j = i + 1; j < catalog_count(); j++) {
			const struct catalog_entry *a = catalog_at(i), *b = catalog_at(j);
			cr_assert_neq(a->code, b->code);
			cr_assert_str_neq(a->slug, b->slug, "%d and %d share a slug", a->code, b->code);
			cr_assert_str_neq(a->name, b->name, "%d and %d share a name", a->code, b->code);
		}
}

Test(catalog, every_row_is_complete)
{
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct catalog_entry *e = catalog_at(i);
		int c = e->code;
		const char *texts[] = {e->name,       e->slug,       e->stripe_code, e->description,
				       e->message_en, e->message_zh, e->advice};
		for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
			cr_assert(texts[k] && texts[k][0], "code %d: column %zu is empty", c, k);
		cr_assert(is_slug(e->slug), "code %d: slug \"%s\"", c, e->slug);
		cr_assert(is_slug(e->stripe_code), "code %d: stripe_code \"%s\"", c, e->stripe_code);
		cr_assert(has_non_ascii(e->message_zh), "code %d: message_zh is not Chinese", c);
		cr_assert(utf8_printable(e->message_zh, strlen(e->message_zh)),
			  "code %d: message_zh is not valid printable UTF-8", c);
		cr_assert(utf8_printable(e->message_en, strlen(e->message_en)), "code %d", c);
		cr_assert(e->http_status >= 400 && e->http_status <= 599, "code %d: HTTP %d", c,
			  e->http_status);
		cr_assert(c / 100 >= 1 && c / 100 <= 6, "code %d: no such family", c);
		cr_assert(c % 100 != 0, "code %d: a family heading is not a code", c);
		cr_assert_str_neq(catalog_family_name(c), "Unknown", "code %d", c);
		cr_assert_not_null(catalog_type_name(e->type), "code %d", c);
		cr_assert_not_null(catalog_retry_name(e->retry), "code %d", c);
	}
}

Test(catalog, names_match_enum_values)
{
	cr_assert_eq(CAT_OK, 0);
	cr_assert_eq(CAT_INSUFFICIENT_FUNDS, 101);
	cr_assert_eq(CAT_CHANNEL_UNAVAILABLE, 201);
	cr_assert_eq(CAT_CHANNEL_TIMEOUT, 202);
	cr_assert_eq(CAT_RISK_BLOCKED, 301);
	cr_assert_eq(CAT_VERIFICATION_REQUIRED, 302);
	cr_assert_str_eq(row(101)->name, "INSUFFICIENT_FUNDS");
	cr_assert_str_eq(row(202)->name, "CHANNEL_TIMEOUT");
}

Test(catalog, required_codes)
{
	const struct catalog_entry *e = row(101);
	cr_assert_str_eq(e->slug, "insufficient_funds");
	cr_assert_eq(e->type, CAT_TYPE_CARD_ERROR);

	e = row(201);
	cr_assert_str_eq(e->slug, "channel_unavailable");
	cr_assert_eq(e->retry, CAT_RETRY_OTHER_CHANNEL, "not executed: safe to fail over");

	e = row(202);
	cr_assert_str_eq(e->slug, "channel_timeout");
	cr_assert_eq(e->retry, CAT_RETRY_RESOLVE_FIRST, "a timeout's outcome is unknown");
	cr_assert_str_eq(catalog_retry_name(e->retry), "resolve_first");

	e = row(301);
	cr_assert_str_eq(e->slug, "blocked_by_risk_control");
	e = row(302);
	cr_assert_str_eq(e->slug, "authentication_required");
	cr_assert_eq(e->retry, CAT_RETRY_AFTER_VERIFICATION);
	cr_assert_eq(catalog_find_slug("insufficient_funds"), row(101));
}

Test(catalog, payer_codes_are_card_errors)
{
	int seen = 0;
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct catalog_entry *e = catalog_at(i);
		if (e->code / 100 != 1)
			continue;
		seen++;
		cr_assert_eq(e->type, CAT_TYPE_CARD_ERROR, "code %d", e->code);
		cr_assert_str_eq(catalog_type_name(e->type), "card_error");
		cr_assert_eq(e->http_status, 402, "code %d", e->code);
	}
	cr_assert_geq(seen, 8, "the 1xx family has only %d rows", seen);
}

Test(catalog, lost_and_stolen_look_like_generic_decline)
{
	const struct catalog_entry *generic = row(107);
	cr_assert_str_eq(generic->slug, "generic_decline");
	static const char *const slugs[] = {"lost_card", "stolen_card"};
	for (size_t i = 0; i < 2; i++) {
		const struct catalog_entry *e = catalog_find_slug(slugs[i]);
		cr_assert_not_null(e, "%s must exist", slugs[i]);
		cr_assert_str_eq(e->message_en, generic->message_en, "%s leaks to the payer", slugs[i]);
		cr_assert_str_eq(e->message_zh, generic->message_zh, "%s leaks to the payer", slugs[i]);
		cr_assert_str_eq(e->stripe_code, generic->stripe_code);
		cr_assert_str_neq(e->description, generic->description,
				  "the merchant must see the real reason for %s", slugs[i]);
	}
	cr_assert_str_neq(catalog_find_slug("lost_card")->description,
			  catalog_find_slug("stolen_card")->description);
}

Test(catalog, lookups)
{
	static const int unknown[] = {0, -1, 1, 100, 199, 200, 999, 1000, 10101, -101, 2147483647};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		cr_assert_null(catalog_get(unknown[i]), "code %d", unknown[i]);
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct catalog_entry *e = catalog_at(i);
		cr_assert_eq(catalog_get(e->code), e);
		cr_assert_eq(catalog_find_slug(e->slug), e);
	}
	cr_assert_null(catalog_find_slug("no_such_slug"));
	cr_assert_null(catalog_find_slug(""));
	cr_assert_null(catalog_find_slug("INSUFFICIENT_FUNDS"));
	cr_assert_null(catalog_find_slug(NULL));
}

Test(catalog, family_names)
{
	cr_assert_str_eq(catalog_family_name(101), "The payer's funds, card or account");
	cr_assert_str_eq(catalog_family_name(699), "Refunds and payouts after the fact");
	cr_assert_str_eq(catalog_family_name(42), "Unknown");
	cr_assert_str_eq(catalog_family_name(701), "Unknown");
}

static void expect_lang(const char *lang, bool chinese)
{
	const struct catalog_entry *e = row(101);
	const char *want = chinese ? e->message_zh : e->message_en;
	cr_assert_eq(catalog_message(e, lang), want, "Accept-Language \"%s\" must give %s",
		     lang ? lang : "(null)", chinese ? "zh" : "en");
}

Test(catalog, message_language)
{
	static const char *const zh[] = {
		"zh-CN", "zh", "zh-Hans-CN", "en;q=0.5,zh-CN;q=0.9", "ZH-cn", "zh-CN,zh;q=0.9,en;q=0.8",
		"fr-FR, zh-CN;q=0.8, en;q=0.7", " zh-CN",
	};
	static const char *const en[] = {
		"", "en-US", "fr", "zh;q=0.1,en;q=0.9", "en", "en-US,en;q=0.9", "*", "de-DE,fr;q=0.9",
		"zh-CN;q=0.5,en-GB", ";;;", "zh;q=0.5,en;q=1.0",
	};
	expect_lang(NULL, false);
	for (size_t i = 0; i < sizeof zh / sizeof zh[0]; i++)
		expect_lang(zh[i], true);
	for (size_t i = 0; i < sizeof en / sizeof en[0]; i++)
		expect_lang(en[i], false);
}

/* RFC 9110: "q=0" means "not acceptable". */
Test(catalog, message_language_q_zero_is_refused)
{
	expect_lang("zh;q=0", false);
	expect_lang("zh-CN;q=0.0, fr", false);
}
