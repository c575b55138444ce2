/* base/log: structured logging, one JSON object per line:
 *   {"ts":"2026-11-21T10:00:00.123Z","level":"info","event":"...", ...}
 * Every string that passes through is redacted first: anything shaped like
 * a card number (13-19 digits passing the Luhn check, with or without
 * spaces and dashes) and anything shaped like a secret key (sk_, rk_,
 * whsec_) is masked, and fields whose names mean "secret" (number, cvc,
 * password, authorization, ...) are replaced whole.  There is no way to
 * log around this. */
#ifndef PAYD_BASE_LOG_H
#define PAYD_BASE_LOG_H

#include <jansson.h>
#include <stdio.h>

#include "base/clock.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Where lines go (default stderr), the lowest level written (default
 * LOG_INFO) and the clock for timestamps (default the system clock). */
void log_set_output(FILE *out);
void log_set_level(enum log_level level);
void log_set_clock(const struct payd_clock *clock);

/* Writes one line.  `fields` (may be NULL) is a JSON object whose members
 * are added after "event"; the call takes ownership of it. */
void log_event(enum log_level level, const char *event, json_t *fields);
/* Convenience: one line with a "msg" field formatted printf-style. */
void log_msg(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The redaction itself, exposed for tests and for callers that build text
 * outside the logger.  Writes the redacted copy of `in` into out (always
 * NUL-terminated, truncated to cap-1).  Returns out. */
char *log_redact(const char *in, char *out, size_t cap);
/* True for field names whose values are never logged. */
int log_key_is_secret(const char *key);

#endif
