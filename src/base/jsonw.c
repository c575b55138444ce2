/* base/jsonw: see jsonw.h. */
#include "base/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof *w);
	w->first[0] = true;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *grown = realloc(w->buf, cap);
		if (!grown) {
			w->failed = true;
			return;
		}
		w->buf = grown;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* A comma before every value but the first of its container; a value
 * after a key takes none. */
static void separate(struct jsonw *w)
{
	if (w->after_key)
		w->after_key = false;
	else if (w->first[w->depth])
		w->first[w->depth] = false;
	else
		put(w, ",", 1);
}

static void open_container(struct jsonw *w, char c)
{
	put(w, &c, 1);
	if (w->depth + 1 >= JSONW_DEPTH_MAX) {
		w->failed = true;
		return;
	}
	w->first[++w->depth] = true;
}

static void close_container(struct jsonw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	put(w, &c, 1);
}

void jsonw_begin_object(struct jsonw *w) { separate(w); open_container(w, '{'); }
void jsonw_end_object(struct jsonw *w) { close_container(w, '}'); }
void jsonw_begin_array(struct jsonw *w) { separate(w); open_container(w, '['); }
void jsonw_end_array(struct jsonw *w) { close_container(w, ']'); }

static void put_escaped(struct jsonw *w, const char *s)
{
	put(w, "\"", 1);
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, run, (size_t)(p - run));
		char esc[8];
		switch (c) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(w, esc, 6);
		}
		run = p + 1;
	}
	put(w, run, strlen(run));
	put(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, const char *key)
{
	separate(w);
	put_escaped(w, key);
	put(w, ":", 1);
	w->after_key = true;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	separate(w);
	put_escaped(w, s);
}

void jsonw_null(struct jsonw *w)
{
	separate(w);
	put(w, "null", 4);
}

void jsonw_string_or_null(struct jsonw *w, const char *s)
{
	if (s && *s)
		jsonw_string(w, s);
	else
		jsonw_null(w);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char text[24];
	int n = snprintf(text, sizeof text, "%lld", (long long)v);
	separate(w);
	put(w, text, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	separate(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_raw(struct jsonw *w, const char *json)
{
	separate(w);
	put(w, json, strlen(json));
}

char *jsonw_take(struct jsonw *w)
{
	char *out = w->failed ? NULL : w->buf;
	if (w->failed)
		free(w->buf);
	jsonw_init(w);
	return out;
}
