/* base/utf8: strict UTF-8 validation (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) for every text that enters payd. */
#ifndef PAYD_BASE_UTF8_H
#define PAYD_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const char *text, size_t len);
/* Valid UTF-8 with no control characters (U+0000..U+001F, U+007F): what a
 * name or a description may hold. */
bool utf8_printable(const char *text, size_t len);

#endif
