/* api/params: request parameters.  Both body encodings Stripe clients use,
 * application/x-www-form-urlencoded with bracket notation
 * (metadata[order_id]=7, expand[]=x, items[0][price]=p) and JSON, become
 * the same jansson object tree, so every handler reads one shape.  Form
 * values are strings; the typed getters accept a JSON value or its string
 * form ("1000" and 1000 alike).  Every limit below is checked, and a
 * violation is a catalog code with the offending parameter named. */
#ifndef PAYD_API_PARAMS_H
#define PAYD_API_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARAMS_BODY_MAX (64 * 1024) /* bytes of a request body */
#define PARAMS_DEPTH_MAX 5          /* nesting levels (metadata[k] is 2) */
#define PARAMS_FIELDS_MAX 256       /* name=value pairs in one form body */
#define PARAMS_NAME_MAX 256         /* bytes of one (decoded) parameter name */
#define PARAMS_INDEX_MAX 100        /* highest array index in bracket notation */
#define PARAMS_STRING_MAX 5000      /* bytes of any one string value */
#define PARAMS_METADATA_KEYS_MAX 50 /* Stripe's limits on metadata */
#define PARAMS_METADATA_KEY_MAX 40
#define PARAMS_METADATA_VALUE_MAX 500

struct params_error {
	int code;          /* catalog code */
	char param[PARAMS_NAME_MAX + 1]; /* "amount", "metadata[order_id]", or "" */
	char message[320]; /* for the merchant: what is wrong and where */
};

/* Sets err and returns err->code: the one way errors are reported here. */
int params_fail(struct params_error *err, int code, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parses a body (or a query string) into a new JSON object in *out.
 * content_type NULL or "application/x-www-form-urlencoded" means form,
 * "application/json" JSON; anything else is refused. */
int params_parse(const char *content_type, const char *body, size_t len, json_t **out,
		 struct params_error *err);
int params_parse_form(const char *body, size_t len, json_t **out, struct params_error *err);
int params_parse_json(const char *body, size_t len, json_t **out, struct params_error *err);

/* Refuses any member of obj whose name is not in `allowed` (NULL-ended):
 * CAT_PARAMETER_UNKNOWN. */
int params_only(json_t *obj, const char *const *allowed, struct params_error *err);

/* Typed getters.  A missing parameter leaves *out untouched and returns 0,
 * unless `required` (CAT_PARAMETER_MISSING).  Wrong types and values
 * outside the bounds are CAT_PARAMETER_INVALID. */
int params_int64(json_t *obj, const char *name, bool required, int64_t *out,
		 struct params_error *err);
int params_bool(json_t *obj, const char *name, bool *out, struct params_error *err);
/* An amount in minor units, 1..max: CAT_AMOUNT_TOO_SMALL below,
 * CAT_AMOUNT_TOO_LARGE above (or past int64_t). */
int params_amount(json_t *obj, const char *name, bool required, int64_t max, int64_t *out,
		  struct params_error *err);
/* A string of at most max_len bytes (valid UTF-8 is guaranteed by parsing). */
int params_string(json_t *obj, const char *name, bool required, size_t max_len,
		  const char **out, struct params_error *err);
/* One of the NULL-ended `choices`. */
int params_enum(json_t *obj, const char *name, bool required, const char *const *choices,
		const char **out, struct params_error *err);
/* metadata: an object of string values within Stripe's limits.  *out is a
 * new reference to a clean object of strings (empty values mean "unset"
 * and are kept as "" for the caller to apply). */
int params_metadata(json_t *obj, const char *name, json_t **out, struct params_error *err);
/* "currency": an ISO 4217 code payd knows (any case) into out (upper
 * case); CAT_UNSUPPORTED_CURRENCY otherwise. */
int params_currency(json_t *params, bool required, char out[4], struct params_error *err);

#endif
