/* cmd/http_client: the one small HTTP client the commands share (demo,
 * check-books): a blocking libcurl exchange that collects the answer up
 * to a limit.  payd's channels use channel/dispatch.c instead. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

struct grow {
	char *data;
	size_t len, max;
};

static size_t grow_write(char *ptr, size_t size, size_t n, void *ctx)
{
	struct grow *g = ctx;
	size_t add = size * n;
	if (g->len + add > g->max)
		return 0;
	char *more = realloc(g->data, g->len + add + 1);
	if (!more)
		return 0;
	memcpy(more + g->len, ptr, add);
	g->data = more;
	g->len += add;
	g->data[g->len] = '\0';
	return add;
}

long cmd_http(const struct cmd_http_req *req, char **out)
{
	*out = NULL;
	CURL *c = curl_easy_init();
	if (!c)
		return 0;
	struct grow g = {.max = req->max_body};
	struct curl_slist *headers = NULL;
	char auth[256];
	if (req->key) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", req->key);
		headers = curl_slist_append(headers, auth);
	}
	if (req->body && req->json_body)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s > 0 ? req->timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (req->body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	long status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	*out = g.data;
	return status;
}
