/* core/catalog: the table built from catalog.def, and lookups into it.
 * Pure: no I/O, so the API, the CLI and the docs generator share it. */
#include "core/catalog.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const struct catalog_entry entries[] = {
#define CATALOG_ROW(code, name, slug, stripe_code, type, http, retry, description, en, zh, advice) \
	{code, #name, slug, stripe_code, CAT_TYPE_##type, http, CAT_RETRY_##retry, description, en, zh, advice},
#include "core/catalog.def"
#undef CATALOG_ROW
};

#define ENTRY_COUNT (sizeof entries / sizeof entries[0])

size_t catalog_count(void)
{
	return ENTRY_COUNT;
}

const struct catalog_entry *catalog_at(size_t index)
{
	return index < ENTRY_COUNT ? &entries[index] : NULL;
}

const struct catalog_entry *catalog_get(int code)
{
	/* Rows are in ascending order (a unit test holds the table to it). */
	size_t lo = 0, hi = ENTRY_COUNT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (entries[mid].code == code)
			return &entries[mid];
		if (entries[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct catalog_entry *catalog_find_slug(const char *slug)
{
	for (size_t i = 0; slug && i < ENTRY_COUNT; i++)
		if (strcmp(entries[i].slug, slug) == 0)
			return &entries[i];
	return NULL;
}

const char *catalog_type_name(enum cat_type type)
{
	static const char *const names[] = {
		[CAT_TYPE_CARD_ERROR] = "card_error",
		[CAT_TYPE_INVALID_REQUEST_ERROR] = "invalid_request_error",
		[CAT_TYPE_API_ERROR] = "api_error",
		[CAT_TYPE_AUTHENTICATION_ERROR] = "authentication_error",
		[CAT_TYPE_IDEMPOTENCY_ERROR] = "idempotency_error",
		[CAT_TYPE_RATE_LIMIT_ERROR] = "rate_limit_error",
	};
	return names[type];
}

const char *catalog_retry_name(enum cat_retry retry)
{
	static const char *const names[] = {
		[CAT_RETRY_NEVER] = "never",
		[CAT_RETRY_LATER] = "later",
		[CAT_RETRY_OTHER_CHANNEL] = "other_channel",
		[CAT_RETRY_AFTER_VERIFICATION] = "after_verification",
		[CAT_RETRY_RESOLVE_FIRST] = "resolve_first",
	};
	return names[retry];
}

const char *catalog_family_name(int code)
{
	switch (code / 100) {
	case 1: return "The payer's funds, card or account";
	case 2: return "Channel and transport";
	case 3: return "Risk and compliance";
	case 4: return "The integrator's request";
	case 5: return "payd itself";
	case 6: return "Refunds and payouts after the fact";
	default: return "Unknown";
	}
}

/* "1", "1.0", "0.8", "0.125" -> thousandths; anything else counts as 0. */
static int parse_quality(const char **p)
{
	const char *s = *p;
	int q = 0;
	if (*s == '0' || *s == '1') {
		q = (*s++ - '0') * 1000;
		if (*s == '.') {
			s++;
			for (int scale = 100; isdigit((unsigned char)*s); scale /= 10, s++)
				q += (*s - '0') * scale;
		}
	}
	*p = s;
	return q > 1000 ? 1000 : q;
}

/* Reads one "tag;q=0.8" item of an Accept-Language list at *p: primary
 * tag into tag[], quality in thousandths into *q.  Advances *p. */
static void next_language(const char **p, char tag[9], int *q)
{
	const char *s = *p;
	while (*s == ' ' || *s == ',')
		s++;
	size_t n = 0;
	while (isalpha((unsigned char)*s) && n < 8)
		tag[n++] = (char)tolower((unsigned char)*s++);
	tag[n] = '\0';
	*q = 1000;
	while (*s && *s != ',') {
		if (strncmp(s, ";q=", 3) == 0) {
			s += 3;
			*q = parse_quality(&s);
			continue;
		}
		s++;
	}
	*p = s;
}

bool catalog_prefers_chinese(const char *lang)
{
	int best_q = -1;
	bool chinese = false;
	for (const char *p = lang ? lang : ""; *p;) {
		char tag[9];
		int q;
		next_language(&p, tag, &q);
		bool zh = strcmp(tag, "zh") == 0, en = strcmp(tag, "en") == 0;
		if ((zh || en) && q > 0 && q > best_q) { /* q=0: not acceptable */
			best_q = q;
			chinese = zh;
		}
	}
	return chinese;
}

const char *catalog_message(const struct catalog_entry *e, const char *lang)
{
	return catalog_prefers_chinese(lang) ? e->message_zh : e->message_en;
}
