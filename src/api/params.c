/* api/params: form and JSON bodies into one jansson tree, and typed
 * getters over it.  See params.h for the limits.  The form parser decodes
 * each name=value pair, splits the name into its bracket path and walks
 * the tree creating objects or arrays as the path says; a clash (a=1 and
 * a[b]=2, a repeated scalar) is an error rather than a silent overwrite. */
#include "api/params.h"
#include "base/currency.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/digits.h"
#include "base/utf8.h"
#include "core/catalog.h"

int params_fail(struct params_error *err, int code, const char *param, const char *fmt, ...)
{
	err->code = code;
	snprintf(err->param, sizeof err->param, "%s", param ? param : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return code;
}


/* Percent-decodes s[0..len) into out (room for len+1); '+' is a space.
 * Returns the decoded length, or -1 on a bad escape or an encoded NUL. */
static long url_decode(const char *s, size_t len, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = digits_hex_value(s[i + 1]), lo = digits_hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return (long)n;
}

struct path {
	int count;
	char seg[PARAMS_DEPTH_MAX][PARAMS_NAME_MAX + 1];
};

/* "a[b][]" -> {"a","b",""}.  Returns false when the brackets are not of
 * that shape or the path is too deep. */
static bool split_path(const char *name, struct path *p)
{
	p->count = 0;
	const char *s = name;
	while (*s) {
		if (p->count == PARAMS_DEPTH_MAX)
			return false;
		size_t len;
		if (p->count == 0) {
			len = strcspn(s, "[]");
			if (len == 0)
				return false;
		} else {
			if (*s != '[')
				return false;
			s++;
			len = strcspn(s, "[]");
			if (s[len] != ']')
				return false;
		}
		memcpy(p->seg[p->count], s, len);
		p->seg[p->count++][len] = '\0';
		s += len + (p->count > 1);
	}
	return p->count > 0;
}

/* A bracket segment used as an array index: -1 when it is not one. */
static int index_of(const char *seg)
{
	size_t len = strlen(seg);
	if (len == 0 || len > 3 || strspn(seg, "0123456789") != len)
		return -1;
	int v = atoi(seg);
	return v <= PARAMS_INDEX_MAX ? v : -1;
}

static bool wants_array(const char *next_seg)
{
	return next_seg[0] == '\0' || index_of(next_seg) >= 0;
}

/* Finds or makes the child of `node` at `seg`; `value` is stored there
 * when this is the last segment.  NULL on a clash. */
static json_t *step(json_t *node, const char *seg, const char *next, json_t *value)
{
	json_t *child = NULL;
	if (json_is_object(node)) {
		if (seg[0] == '\0')
			return NULL;
		child = json_object_get(node, seg);
		if (!next) {
			if (child)
				return NULL;
			json_object_set(node, seg, value);
			return value;
		}
		if (!child) {
			child = wants_array(next) ? json_array() : json_object();
			json_object_set_new(node, seg, child);
		}
	} else {
		int idx = seg[0] ? index_of(seg) : (int)json_array_size(node);
		if (idx < 0 || (size_t)idx > json_array_size(node))
			return NULL;
		child = json_array_get(node, (size_t)idx);
		if (!next) {
			if (child)
				return NULL;
			json_array_append(node, value);
			return value;
		}
		if (!child) {
			child = wants_array(next) ? json_array() : json_object();
			json_array_append_new(node, child);
		}
	}
	bool need_array = wants_array(next);
	if (need_array ? !json_is_array(child) : !json_is_object(child))
		return NULL;
	return child;
}

static int add_pair(json_t *root, const char *name, const char *value_text,
		    struct params_error *err)
{
	struct path p;
	if (!split_path(name, &p))
		return params_fail(err, CAT_MALFORMED_BODY, name,
				   "Invalid parameter name '%s' (bracket notation, at most %d levels).",
				   name, PARAMS_DEPTH_MAX);
	json_t *value = json_string(value_text);
	json_t *node = root;
	for (int i = 0; i < p.count && node; i++)
		node = step(node, p.seg[i], i + 1 < p.count ? p.seg[i + 1] : NULL, value);
	json_decref(value);
	if (!node)
		return params_fail(err, CAT_PARAMETER_INVALID, name,
				   "Parameter '%s' is repeated or conflicts with another parameter.",
				   name);
	return CAT_OK;
}

static int decode_part(const char *s, size_t len, char *out, const char *what,
		       const char *name, struct params_error *err)
{
	long n = url_decode(s, len, out);
	if (n < 0)
		return params_fail(err, CAT_MALFORMED_BODY, name,
				   "Malformed percent-encoding in a parameter %s.", what);
	if (!utf8_valid(out, (size_t)n))
		return params_fail(err, CAT_MALFORMED_BODY, name,
				   "Parameter %s is not valid UTF-8.", what);
	return CAT_OK;
}

static int parse_pair(json_t *root, const char *pair, size_t len, char *name, char *value,
		      struct params_error *err)
{
	const char *eq = memchr(pair, '=', len);
	size_t name_len = eq ? (size_t)(eq - pair) : len;
	if (name_len > PARAMS_NAME_MAX * 3)
		return params_fail(err, CAT_BODY_TOO_LARGE, "", "A parameter name is too long.");
	int rc = decode_part(pair, name_len, name, "name", "", err);
	if (rc)
		return rc;
	if (strlen(name) > PARAMS_NAME_MAX || name[0] == '\0')
		return params_fail(err, CAT_MALFORMED_BODY, "",
				   "Parameter names must be 1 to %d bytes.", PARAMS_NAME_MAX);
	const char *v = eq ? eq + 1 : pair + len;
	size_t v_len = (size_t)(pair + len - v);
	if ((rc = decode_part(v, v_len, value, "value", name, err)))
		return rc;
	if (strlen(value) > PARAMS_STRING_MAX)
		return params_fail(err, CAT_PARAMETER_INVALID, name,
				   "Parameter '%s' is longer than %d bytes.", name, PARAMS_STRING_MAX);
	return add_pair(root, name, value, err);
}

int params_parse_form(const char *body, size_t len, json_t **out, struct params_error *err)
{
	if (len > PARAMS_BODY_MAX)
		return params_fail(err, CAT_BODY_TOO_LARGE, "", "The request body is over %d bytes.",
				   PARAMS_BODY_MAX);
	json_t *root = json_object();
	char *name = malloc(PARAMS_NAME_MAX * 3 + 1), *value = malloc(len + 1);
	int rc = CAT_OK, fields = 0;
	for (size_t pos = 0; pos < len && rc == CAT_OK;) {
		const char *amp = memchr(body + pos, '&', len - pos);
		size_t part = amp ? (size_t)(amp - (body + pos)) : len - pos;
		if (part > 0) {
			if (++fields > PARAMS_FIELDS_MAX)
				rc = params_fail(err, CAT_BODY_TOO_LARGE, "",
						 "More than %d parameters.", PARAMS_FIELDS_MAX);
			else
				rc = parse_pair(root, body + pos, part, name, value, err);
		}
		pos += part + 1;
	}
	free(name);
	free(value);
	if (rc) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return CAT_OK;
}

/* Depth and string length limits of a parsed JSON tree. */
static int check_json(json_t *v, int depth, const char *name, struct params_error *err)
{
	if (json_is_string(v)) {
		if (json_string_length(v) > PARAMS_STRING_MAX)
			return params_fail(err, CAT_PARAMETER_INVALID, name,
					   "Parameter '%s' is longer than %d bytes.", name,
					   PARAMS_STRING_MAX);
		if (strlen(json_string_value(v)) != json_string_length(v))
			return params_fail(err, CAT_MALFORMED_BODY, name, "NUL in a string.");
		return CAT_OK;
	}
	if (!json_is_object(v) && !json_is_array(v))
		return CAT_OK;
	if (depth > PARAMS_DEPTH_MAX)
		return params_fail(err, CAT_MALFORMED_BODY, name,
				   "The body is nested more than %d levels deep.", PARAMS_DEPTH_MAX);
	const char *key;
	json_t *member;
	size_t i;
	int rc = CAT_OK;
	if (json_is_object(v)) {
		json_object_foreach(v, key, member) {
			if (strlen(key) > PARAMS_NAME_MAX)
				return params_fail(err, CAT_MALFORMED_BODY, "",
						   "A parameter name is too long.");
			if ((rc = check_json(member, depth + 1, depth ? name : key, err)))
				return rc;
		}
	} else {
		json_array_foreach(v, i, member) {
			if ((rc = check_json(member, depth + 1, name, err)))
				return rc;
		}
	}
	return rc;
}

int params_parse_json(const char *body, size_t len, json_t **out, struct params_error *err)
{
	if (len > PARAMS_BODY_MAX)
		return params_fail(err, CAT_BODY_TOO_LARGE, "", "The request body is over %d bytes.",
				   PARAMS_BODY_MAX);
	if (len == 0) {
		*out = json_object();
		return CAT_OK;
	}
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return params_fail(err, CAT_MALFORMED_BODY, "",
				   "Invalid JSON at line %d column %d: %s.", jerr.line, jerr.column,
				   jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return params_fail(err, CAT_MALFORMED_BODY, "", "The JSON body must be an object.");
	}
	int rc = check_json(root, 1, "", err);
	if (rc) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return CAT_OK;
}

int params_parse(const char *content_type, const char *body, size_t len, json_t **out,
		 struct params_error *err)
{
	size_t type_len = content_type ? strcspn(content_type, "; ") : 0;
	if (type_len == 0 ||
	    (type_len == 33 && strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0))
		return params_parse_form(body, len, out, err);
	if (type_len == 16 && strncasecmp(content_type, "application/json", 16) == 0)
		return params_parse_json(body, len, out, err);
	return params_fail(err, CAT_MALFORMED_BODY, "",
			   "Unsupported Content-Type; send application/x-www-form-urlencoded or "
			   "application/json.");
}

int params_only(json_t *obj, const char *const *allowed, struct params_error *err)
{
	const char *key;
	json_t *member;
	json_object_foreach(obj, key, member) {
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known)
			return params_fail(err, CAT_PARAMETER_UNKNOWN, key,
					   "Received unknown parameter: %s", key);
	}
	return CAT_OK;
}

/* Decimal integer text: optional '-', 1..19 digits, nothing else. */
static bool text_int64(const char *s, int64_t *out, bool *overflow)
{
	const char *p = s + (*s == '-');
	size_t digits = strspn(p, "0123456789");
	*overflow = false;
	if (digits == 0 || p[digits] != '\0')
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < digits; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_sub_overflow(v, p[i] - '0', &v)) { /* accumulate negative */
			*overflow = true;
			return false;
		}
	if (*s != '-') {
		if (v == INT64_MIN) {
			*overflow = true;
			return false;
		}
		v = -v;
	}
	*out = v;
	return true;
}

int params_int64(json_t *obj, const char *name, bool required, int64_t *out,
		 struct params_error *err)
{
	json_t *v = json_object_get(obj, name);
	if (!v) {
		return required ? params_fail(err, CAT_PARAMETER_MISSING, name,
					      "Missing required param: %s.", name)
				: CAT_OK;
	}
	bool overflow = false;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return CAT_OK;
	}
	if (json_is_string(v) && text_int64(json_string_value(v), out, &overflow))
		return CAT_OK;
	if (overflow)
		return params_fail(err, CAT_AMOUNT_TOO_LARGE, name,
				   "Parameter '%s' is too large for a 64-bit integer.", name);
	return params_fail(err, CAT_PARAMETER_INVALID, name,
			   "Invalid integer for '%s': expected whole digits.", name);
}

int params_amount(json_t *obj, const char *name, bool required, int64_t max, int64_t *out,
		  struct params_error *err)
{
	int64_t amount = 0;
	int rc = params_int64(obj, name, required, &amount, err);
	if (rc || !json_object_get(obj, name))
		return rc;
	if (amount < 1)
		return params_fail(err, CAT_AMOUNT_TOO_SMALL, name,
				   "%s must be a positive integer in the currency's minor unit.", name);
	if (amount > max)
		return params_fail(err, CAT_AMOUNT_TOO_LARGE, name, "%s must be at most %lld.", name,
				   (long long)max);
	*out = amount;
	return CAT_OK;
}

int params_bool(json_t *obj, const char *name, bool *out, struct params_error *err)
{
	json_t *v = json_object_get(obj, name);
	if (!v)
		return CAT_OK;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return CAT_OK;
	}
	const char *s = json_string_value(v);
	if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
		*out = s[0] == 't';
		return CAT_OK;
	}
	return params_fail(err, CAT_PARAMETER_INVALID, name,
			   "Invalid boolean for '%s': expected true or false.", name);
}

int params_string(json_t *obj, const char *name, bool required, size_t max_len,
		  const char **out, struct params_error *err)
{
	json_t *v = json_object_get(obj, name);
	if (!v) {
		return required ? params_fail(err, CAT_PARAMETER_MISSING, name,
					      "Missing required param: %s.", name)
				: CAT_OK;
	}
	if (!json_is_string(v))
		return params_fail(err, CAT_PARAMETER_INVALID, name,
				   "Invalid value for '%s': expected a string.", name);
	if (json_string_length(v) > max_len)
		return params_fail(err, CAT_PARAMETER_INVALID, name,
				   "Parameter '%s' is longer than %zu bytes.", name, max_len);
	*out = json_string_value(v);
	return CAT_OK;
}

int params_enum(json_t *obj, const char *name, bool required, const char *const *choices,
		const char **out, struct params_error *err)
{
	const char *s = NULL;
	int rc = params_string(obj, name, required, PARAMS_NAME_MAX, &s, err);
	if (rc || !s)
		return rc;
	for (const char *const *c = choices; *c; c++)
		if (strcmp(*c, s) == 0) {
			*out = *c;
			return CAT_OK;
		}
	return params_fail(err, CAT_PARAMETER_INVALID, name, "Invalid value for '%s'.", name);
}

int params_metadata(json_t *obj, const char *name, json_t **out, struct params_error *err)
{
	json_t *v = json_object_get(obj, name);
	if (!v)
		return CAT_OK;
	if (json_is_string(v) && json_string_length(v) == 0) {
		*out = json_object(); /* metadata="" clears everything */
		return CAT_OK;
	}
	if (!json_is_object(v))
		return params_fail(err, CAT_PARAMETER_INVALID, name,
				   "Invalid %s: expected an object of strings.", name);
	if (json_object_size(v) > PARAMS_METADATA_KEYS_MAX)
		return params_fail(err, CAT_PARAMETER_INVALID, name,
				   "%s may have at most %d keys.", name, PARAMS_METADATA_KEYS_MAX);
	const char *key;
	json_t *member;
	json_object_foreach(v, key, member) {
		size_t klen = strlen(key);
		if (klen == 0 || klen > PARAMS_METADATA_KEY_MAX || strchr(key, '[') || strchr(key, ']'))
			return params_fail(err, CAT_PARAMETER_INVALID, name,
					   "%s keys must be 1 to %d characters without brackets.",
					   name, PARAMS_METADATA_KEY_MAX);
		if (!json_is_string(member) && !json_is_integer(member))
			return params_fail(err, CAT_PARAMETER_INVALID, name,
					   "%s values must be strings.", name);
		if (json_is_string(member) && json_string_length(member) > PARAMS_METADATA_VALUE_MAX)
			return params_fail(err, CAT_PARAMETER_INVALID, name,
					   "%s values may be at most %d characters.", name,
					   PARAMS_METADATA_VALUE_MAX);
	}
	json_t *clean = json_object();
	json_object_foreach(v, key, member) {
		if (json_is_integer(member)) {
			char text[24];
			snprintf(text, sizeof text, "%lld", (long long)json_integer_value(member));
			json_object_set_new(clean, key, json_string(text));
		} else {
			json_object_set(clean, key, member);
		}
	}
	*out = clean;
	return CAT_OK;
}

int params_currency(json_t *params, bool required, char out[4], struct params_error *err)
{
	const char *code = NULL;
	int rc = params_string(params, "currency", required, 8, &code, err);
	if (rc || !code)
		return rc;
	const struct currency *cur = currency_find(code);
	if (!cur)
		return params_fail(err, CAT_UNSUPPORTED_CURRENCY, "currency",
				   "Invalid currency: %s. payd supports ISO 4217 codes such as cny, "
				   "usd, eur, jpy, kwd.", code);
	memcpy(out, cur->code, 4);
	return CAT_OK;
}
