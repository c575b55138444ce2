/* base/jsonw: a small JSON text writer for the hot paths (rendering an
 * object per request and per event), several times faster than building a
 * jansson tree and dumping it.  Commas and nesting are tracked for the
 * caller; strings are escaped (the text is assumed valid UTF-8, which
 * every input to payd is checked to be).  Out of memory sticks: the
 * writer then yields NULL. */
#ifndef PAYD_BASE_JSONW_H
#define PAYD_BASE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_DEPTH_MAX 16

struct jsonw {
	char *buf;
	size_t len, cap;
	bool failed;
	int depth;
	bool first[JSONW_DEPTH_MAX]; /* no member written yet at this depth */
	bool after_key;              /* the next value belongs to a key just written */
};

void jsonw_init(struct jsonw *w);
void jsonw_begin_object(struct jsonw *w);
void jsonw_end_object(struct jsonw *w);
void jsonw_begin_array(struct jsonw *w);
void jsonw_end_array(struct jsonw *w);
/* The next member's name (inside an object). */
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_string(struct jsonw *w, const char *s);
/* A string, or null when s is NULL or "". */
void jsonw_string_or_null(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* A value that is already JSON text. */
void jsonw_raw(struct jsonw *w, const char *json);
/* The text (heap, NUL-terminated; the caller frees it), or NULL when
 * memory ran out.  The writer is empty afterwards. */
char *jsonw_take(struct jsonw *w);

#endif
