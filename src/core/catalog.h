/* core/catalog: the error catalog, payd's one source of truth for every
 * failure it can report.  The rows live in catalog.def (an X-macro table);
 * the API, `payd codes`, docs/ERRORS.md and the dashboard all read them from
 * here.  Functions in payd return 0 (CAT_OK) or one of these codes. */
#ifndef PAYD_CORE_CATALOG_H
#define PAYD_CORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

/* Stripe's error object `type`. */
enum cat_type {
	CAT_TYPE_CARD_ERROR,            /* "card_error": the payer's funds or card */
	CAT_TYPE_INVALID_REQUEST_ERROR, /* "invalid_request_error" */
	CAT_TYPE_API_ERROR,             /* "api_error": payd or a channel failed */
	CAT_TYPE_AUTHENTICATION_ERROR,  /* "authentication_error" */
	CAT_TYPE_IDEMPOTENCY_ERROR,     /* "idempotency_error" */
	CAT_TYPE_RATE_LIMIT_ERROR,      /* "rate_limit_error" */
};

/* What retrying may achieve. */
enum cat_retry {
	CAT_RETRY_NEVER,              /* retrying the same request cannot succeed */
	CAT_RETRY_LATER,              /* the same channel may succeed later */
	CAT_RETRY_OTHER_CHANNEL,      /* not executed: safe to fail over now */
	CAT_RETRY_AFTER_VERIFICATION, /* the payer must verify first */
	CAT_RETRY_RESOLVE_FIRST,      /* outcome unknown: query before anything else */
};

/* CATALOG_ROW(code, NAME, slug, stripe_code, TYPE, http_status, RETRY,
 *             description, message_en, message_zh, advice)
 *   slug         payd's unique name; Stripe's decline_code for card errors
 *   stripe_code  the `code` field of Stripe's error object
 *   description  the real reason, for the merchant (English)
 *   message_en/zh  what the payer may be shown; lost/stolen/fraud rows
 *                carry the generic decline text so no fraud signal leaks
 *   advice       what the merchant should do next */
enum cat_code {
	CAT_OK = 0,
#define CATALOG_ROW(code, name, ...) CAT_##name = code,
#include "core/catalog.def"
#undef CATALOG_ROW
};

struct catalog_entry {
	int code;
	const char *name; /* "INSUFFICIENT_FUNDS" */
	const char *slug;
	const char *stripe_code;
	enum cat_type type;
	int http_status;
	enum cat_retry retry;
	const char *description;
	const char *message_en;
	const char *message_zh;
	const char *advice;
};

/* The row for `code`, or NULL when no such code exists. */
const struct catalog_entry *catalog_get(int code);
/* The row whose slug is `slug`, or NULL. */
const struct catalog_entry *catalog_find_slug(const char *slug);
size_t catalog_count(void);
const struct catalog_entry *catalog_at(size_t index); /* ascending code order */

const char *catalog_type_name(enum cat_type type); /* "card_error" */
const char *catalog_retry_name(enum cat_retry retry); /* "other_channel" */
/* The family heading of a code's hundred: 1 → "The payer's funds, card or account". */
const char *catalog_family_name(int code);

/* The payer message in the language asked for.  `lang` is an
 * Accept-Language value or tag ("zh-CN", "zh", "en-US,en;q=0.9", NULL);
 * anything not Chinese gets English. */
const char *catalog_message(const struct catalog_entry *e, const char *lang);
/* Whether an Accept-Language value prefers Chinese to English. */
bool catalog_prefers_chinese(const char *lang);

#endif
