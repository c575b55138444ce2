/* api/request: reading a request's parameters (body or query string) and
 * the shared machinery of list endpoints. */
#include <string.h>

#include "api/http.h"
#include "base/utf8.h"
#include "core/catalog.h"
#include "core/render.h"

struct query_ctx {
	json_t *params;
	struct params_error *err;
	int rc;
	int count;
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	struct query_ctx *q = cls;
	if (q->rc)
		return MHD_NO;
	if (++q->count > PARAMS_FIELDS_MAX) {
		q->rc = params_fail(q->err, CAT_BODY_TOO_LARGE, "", "Too many query parameters.");
		return MHD_NO;
	}
	value = value ? value : "";
	if (!utf8_valid(key, strlen(key)) || !utf8_valid(value, strlen(value))) {
		q->rc = params_fail(q->err, CAT_MALFORMED_BODY, "", "The query is not valid UTF-8.");
		return MHD_NO;
	}
	if (strlen(value) > PARAMS_STRING_MAX || strlen(key) > PARAMS_NAME_MAX) {
		q->rc = params_fail(q->err, CAT_PARAMETER_INVALID, key, "A query parameter is too long.");
		return MHD_NO;
	}
	/* Bracket names (expand[]) keep their simple form: lists take only
	 * plain parameters. */
	if (json_object_get(q->params, key)) {
		q->rc = params_fail(q->err, CAT_PARAMETER_INVALID, key, "Parameter '%s' is repeated.", key);
		return MHD_NO;
	}
	json_object_set_new(q->params, key, json_string(value));
	return MHD_YES;
}

bool http_params(struct request *req, const char *const *allowed)
{
	struct params_error err = {0};
	int rc;
	if (strcmp(req->method, "GET") == 0) {
		struct query_ctx q = {json_object(), &err, 0, 0};
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
		req->params = q.params;
		rc = q.rc;
	} else {
		const char *type = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_CONTENT_TYPE);
		rc = params_parse(type, req->body ? req->body : "", req->body_len, &req->params, &err);
	}
	if (rc == CAT_OK)
		rc = params_only(req->params, allowed, &err);
	if (rc != CAT_OK) {
		http_params_error(req, &err);
		return false;
	}
	return true;
}

static bool page_id(struct request *req, const char *name, const char **out)
{
	struct params_error err = {0};
	int rc = params_string(req->params, name, false, ID_MAX - 1, out, &err);
	if (rc == CAT_OK && *out && strchr(*out, '_') == NULL)
		rc = params_fail(&err, CAT_PARAMETER_INVALID, name, "Invalid object id for %s.", name);
	if (rc)
		http_params_error(req, &err);
	return rc == CAT_OK;
}

bool http_page(struct request *req, struct store_page *page)
{
	struct params_error err = {0};
	int64_t limit = 10;
	memset(page, 0, sizeof *page);
	int rc = params_int64(req->params, "limit", false, &limit, &err);
	if (rc == CAT_OK && (limit < 1 || limit > 100))
		rc = params_fail(&err, CAT_PARAMETER_INVALID, "limit",
				 "limit must be between 1 and 100.");
	if (rc) {
		http_params_error(req, &err);
		return false;
	}
	page->limit = (int)limit;
	if (!page_id(req, "starting_after", &page->starting_after) ||
	    !page_id(req, "ending_before", &page->ending_before))
		return false;
	if (page->starting_after && page->ending_before) {
		http_error(req, CAT_PARAMETER_INVALID, "ending_before",
			   "Pass at most one of starting_after and ending_before.");
		return false;
	}
	return true;
}

struct list_ctx {
	json_t *data;
	json_t *(*render)(const void *record, const char *lang);
	const char *lang;
};

static void list_one(void *ctx, const void *record)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->data, l->render(record, l->lang));
}

void http_list(struct request *req, http_list_fn list, const struct store_page *page,
	       json_t *(*render)(const void *record, const char *lang), const char *url)
{
	struct store *reader = http_reader(req);
	struct list_ctx ctx = {json_array(), render, req->lang};
	bool has_more = false;
	int rc = reader ? list(reader, req->merchant_id, page, list_one, &ctx, &has_more)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc) {
		json_decref(ctx.data);
		http_error(req, rc, NULL, NULL);
		return;
	}
	http_json(req, 200, render_list(ctx.data, has_more, url));
}
