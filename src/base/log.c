/* base/log: JSON-lines logging with mandatory redaction (see log.h).
 * Redaction rules, applied to every string value:
 *  - a run of 13..19 digits (single spaces or dashes allowed between them)
 *    that passes the Luhn check is a card number: all but the last four
 *    digits become '*';
 *  - a run of 20 or more such digits (account-number-like) is masked the
 *    same way, whatever its checksum;
 *  - sk_/rk_ (test or live) keys and whsec_ secrets keep their prefix only.
 * And every member whose key names a secret is replaced whole. */
#include "base/log.h"

#include "base/digits.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_LINE_MAX 8192 /* longest string value kept (after redaction) */
#define CARD_MIN_DIGITS 13
#define CARD_MAX_DIGITS 19

static FILE *log_out;
static enum log_level log_min = LOG_INFO;
static const struct payd_clock *log_clock = &clock_system;

void log_set_output(FILE *out) { log_out = out; }
void log_set_level(enum log_level level) { log_min = level; }
void log_set_clock(const struct payd_clock *clock) { log_clock = clock; }

static const char *const secret_keys[] = {
	"number", "card_number", "pan", "cvc", "cvv", "cvc2", "pin", "password", "secret",
	"secret_key", "api_key", "authorization", "account_number", "client_secret",
};

int log_key_is_secret(const char *key)
{
	/* The last segment of "payment_method_data[card][number]" or "card.number". */
	const char *seg = key;
	for (const char *p = key; *p; p++)
		if (*p == '[' || *p == '.')
			seg = p + 1;
	size_t len = strcspn(seg, "]");
	for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++)
		if (strlen(secret_keys[i]) == len && strncasecmp(seg, secret_keys[i], len) == 0)
			return 1;
	return 0;
}


/* Length in chars of the digit run at s (digits with single separators
 * between them); its digits are copied to digits[], their count to *n. */
static size_t digit_run(const char *s, char *digits, size_t cap, size_t *n)
{
	size_t i = 0, count = 0;
	while (isdigit((unsigned char)s[i])) {
		if (count < cap)
			digits[count] = s[i];
		count++;
		i++;
		if ((s[i] == ' ' || s[i] == '-') && isdigit((unsigned char)s[i + 1]))
			i++;
	}
	*n = count;
	return i;
}

static const char *const key_prefixes[] = {"sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_"};

static size_t secret_key_prefix(const char *s)
{
	for (size_t i = 0; i < sizeof key_prefixes / sizeof key_prefixes[0]; i++) {
		size_t len = strlen(key_prefixes[i]);
		if (strncmp(s, key_prefixes[i], len) == 0 && isalnum((unsigned char)s[len]))
			return len;
	}
	return 0;
}

struct sink {
	char *out;
	size_t cap, len;
};

static void put(struct sink *k, const char *s, size_t n)
{
	for (size_t i = 0; i < n && k->len + 1 < k->cap; i++)
		k->out[k->len++] = s[i];
}

static void put_masked_run(struct sink *k, const char *s, size_t chars, size_t digits)
{
	size_t seen = 0;
	for (size_t i = 0; i < chars; i++) {
		char c = s[i];
		if (isdigit((unsigned char)c) && ++seen <= digits - 4)
			c = '*';
		put(k, &c, 1);
	}
}

char *log_redact(const char *in, char *out, size_t cap)
{
	struct sink k = {out, cap, 0};
	if (cap == 0)
		return out;
	const char *p = in;
	while (*p && k.len + 1 < cap) {
		size_t key_len = secret_key_prefix(p);
		bool word_start = (p == in) || !isalnum((unsigned char)p[-1]);
		if (key_len && word_start) {
			put(&k, p, key_len);
			put(&k, "[redacted]", 10);
			p += key_len;
			while (isalnum((unsigned char)*p))
				p++;
			continue;
		}
		if (isdigit((unsigned char)*p)) { /* even glued to letters: ref4242... */
			char digits[CARD_MAX_DIGITS];
			size_t n, chars = digit_run(p, digits, sizeof digits, &n);
			bool card = n >= CARD_MIN_DIGITS && n <= CARD_MAX_DIGITS && digits_luhn_ok(digits, n);
			if (card || n > CARD_MAX_DIGITS)
				put_masked_run(&k, p, chars, n);
			else
				put(&k, p, chars);
			p += chars;
			continue;
		}
		put(&k, p++, 1);
	}
	out[k.len] = '\0';
	return out;
}

static json_t *redact_value(json_t *v);

static json_t *redact_string(json_t *v)
{
	static _Thread_local char buf[LOG_LINE_MAX];
	log_redact(json_string_value(v), buf, sizeof buf);
	return json_string(buf);
}

static json_t *redact_object(json_t *obj)
{
	json_t *copy = json_object();
	const char *key;
	json_t *member;
	json_object_foreach(obj, key, member) {
		json_t *clean = log_key_is_secret(key) ? json_string("[redacted]") : redact_value(member);
		json_object_set_new(copy, key, clean);
	}
	return copy;
}

/* A number can be a card number too: 4242424242424242 sent as JSON. */
static json_t *redact_integer(json_t *v)
{
	char text[24], clean[24];
	snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
	log_redact(text, clean, sizeof clean);
	return strcmp(text, clean) == 0 ? json_incref(v) : json_string(clean);
}

static json_t *redact_value(json_t *v)
{
	if (json_is_string(v))
		return redact_string(v);
	if (json_is_integer(v))
		return redact_integer(v);
	if (json_is_object(v))
		return redact_object(v);
	if (json_is_array(v)) {
		json_t *copy = json_array();
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) json_array_append_new(copy, redact_value(item));
		return copy;
	}
	return json_incref(v);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void format_time(int64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

void log_event(enum log_level level, const char *event, json_t *fields)
{
	if (level < log_min) {
		json_decref(fields);
		return;
	}
	char ts[32], clean_event[128];
	format_time(clock_now_ms(log_clock), ts);
	log_redact(event ? event : "", clean_event, sizeof clean_event);
	json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "event",
				 clean_event);
	if (fields) {
		json_t *clean = redact_value(fields);
		json_object_update_missing(line, clean);
		json_decref(clean);
		json_decref(fields);
	}
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(line);
	if (!text)
		return;
	FILE *out = log_out ? log_out : stderr;
	flockfile(out);
	fputs(text, out);
	fputc('\n', out);
	fflush(out);
	funlockfile(out);
	free(text);
}

void log_msg(enum log_level level, const char *event, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_event(level, event, json_pack("{s:s}", "msg", msg));
}
