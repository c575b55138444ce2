/* sim/http: see http.h.  One thread per connection, so a handler that
 * sleeps (latency, slow answers) never holds up another request. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "signature.h"

#define SIM_CONNECTIONS_MAX 1024

static void req_free(void *cls, struct MHD_Connection *conn, void **con_cls,
		     enum MHD_RequestTerminationCode why)
{
	(void)cls, (void)conn, (void)why;
	struct sim_req *r = *con_cls;
	if (r) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

static bool req_append(struct sim_req *r, const char *data, size_t n)
{
	if (r->too_big || r->len + n > SIM_BODY_MAX) {
		r->too_big = true;
		return true;
	}
	char *p = realloc(r->body, r->len + n + 1);
	if (!p)
		return false;
	memcpy(p + r->len, data, n);
	r->body = p;
	r->len += n;
	p[r->len] = '\0';
	return true;
}

enum sim_collect sim_http_collect(void **con_cls, const char *upload, size_t *upload_size,
				  struct sim_req **out)
{
	struct sim_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return SIM_COLLECT_FAIL;
		*con_cls = r;
		return SIM_COLLECT_MORE;
	}
	if (*upload_size) {
		if (!req_append(r, upload, *upload_size))
			return SIM_COLLECT_FAIL;
		*upload_size = 0;
		return SIM_COLLECT_MORE;
	}
	if (!r->body && !req_append(r, "", 0))
		return SIM_COLLECT_FAIL;
	*out = r;
	return SIM_COLLECT_DONE;
}

enum MHD_Result sim_http_send(struct MHD_Connection *conn, unsigned status, json_t *body,
			      const char *secret)
{
	json_t *obj = body ? body : json_object();
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(obj);
	if (!text)
		return MHD_NO;
	size_t len = strlen(text);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (secret) {
		char sig[SIM_SIG_HEADER_MAX];
		sim_sign(secret, clock_now_ms(&clock_system) / 1000, text, len, sig);
		MHD_add_response_header(resp, SIM_SIG_HEADER, sig);
	}
	enum MHD_Result ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct MHD_Daemon *sim_http_start(const char *host, uint16_t port, MHD_AccessHandlerCallback handler,
				  void *cls, uint16_t *bound)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		return NULL;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, port, NULL, NULL, handler, cls, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_NOTIFY_COMPLETED,
		req_free, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SIM_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SIM_CONN_TIMEOUT_S, MHD_OPTION_END);
	if (!d)
		return NULL;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0) {
		MHD_stop_daemon(d);
		return NULL;
	}
	*bound = info->port;
	return d;
}
