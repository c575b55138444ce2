/* api/server: the libmicrohttpd glue.  One handler for every request:
 * it collects the body (refusing more than PARAMS_BODY_MAX), routes, and
 * either answers at once (reads, errors) or submits an engine command and
 * suspends the connection; the engine's reply resumes it, and the handler,
 * called again, sends the answer.  Threads: MHD's internal pool, one
 * epoll loop per thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "base/crypto.h"
#include "base/digits.h"
#include "base/log.h"
#include "base/utf8.h"
#include "core/catalog.h"
#include "core/render.h"

#define HTTP_CONNECTIONS_MAX 8192
#define HTTP_TIMEOUT_S 60

/* ---- per-thread readers ------------------------------------------------- */

static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_close(void *store)
{
	store_close(store);
}

static void reader_key_make(void)
{
	pthread_key_create(&reader_key, reader_close);
}

struct store *http_reader(struct request *req)
{
	pthread_once(&reader_once, reader_key_make);
	struct store *s = pthread_getspecific(reader_key);
	if (s)
		return s;
	struct store_open_opts opts = {.flags = STORE_READONLY};
	char err[256];
	if (store_open_sqlite(req->srv->db_path, &opts, &s, err, sizeof err) != CAT_OK) {
		log_msg(LOG_ERROR, "reader_open_failed", "%s", err);
		return NULL;
	}
	pthread_setspecific(reader_key, s);
	return s;
}

/* ---- answers ------------------------------------------------------------ */

void http_json(struct request *req, int status, json_t *body)
{
	free(req->response);
	req->status = status;
	req->response = render_take_text(body);
}

void http_text(struct request *req, int status, char *text)
{
	free(req->response);
	req->status = status;
	req->response = text; /* NULL answers 500 in send_answer */
}

void http_error(struct request *req, int code, const char *param, const char *message)
{
	const struct catalog_entry *e = catalog_get(code);
	http_json(req, e ? e->http_status : 500,
		  json_pack("{s:o}", "error", render_error(code, param, message, req->lang)));
}

void http_params_error(struct request *req, const struct params_error *err)
{
	http_error(req, err->code, err->param, err->message);
}

void http_read_error(struct request *req, int rc, const char *param, const char *message)
{
	bool missing = rc == CAT_NO_SUCH_OBJECT;
	http_error(req, rc, missing ? param : NULL, missing ? message : NULL);
}

static enum MHD_Result send_answer(struct request *req)
{
	if (!req->response)
		http_error(req, CAT_INTERNAL, NULL, NULL);
	size_t len = strlen(req->response);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, req->response, MHD_RESPMEM_MUST_FREE);
	req->response = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "Stripe-Version", RENDER_API_VERSION);
	if (req->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* ---- engine round trip -------------------------------------------------- */

static void engine_replied(struct engine_cmd *cmd)
{
	struct request *req = cmd->reply_ctx;
	req->status = cmd->http_status;
	req->response = cmd->body;
	req->replayed = cmd->replayed;
	cmd->body = NULL;
	MHD_resume_connection(req->conn);
}

void http_submit(struct request *req)
{
	req->cmd.reply = engine_replied;
	req->cmd.reply_ctx = req;
	req->suspended = true;
	MHD_suspend_connection(req->conn);
	int rc = engine_submit(req->srv->engine, &req->cmd);
	if (rc != CAT_OK) {
		http_error(req, rc, NULL, NULL);
		MHD_resume_connection(req->conn);
	}
}

bool http_prepare_cmd(struct request *req, enum engine_cmd_kind kind,
		      const json_t *fingerprint_params)
{
	struct engine_cmd *cmd = &req->cmd;
	cmd->kind = kind;
	memcpy(cmd->merchant_id, req->merchant_id, sizeof cmd->merchant_id);
	memcpy(cmd->lang, req->lang, sizeof cmd->lang);
	snprintf(cmd->target_id, sizeof cmd->target_id, "%s", req->id);
	const char *key = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
	if (!key)
		return true;
	size_t len = strlen(key);
	if (len == 0 || len > STORE_IDEM_KEY_MAX || !utf8_printable(key, len)) {
		http_error(req, CAT_PARAMETER_INVALID, "Idempotency-Key",
			   "The Idempotency-Key header must be 1 to 255 printable characters.");
		return false;
	}
	cmd->has_idem = true;
	memcpy(cmd->idem_key, key, len + 1);
	char *canonical = json_dumps(fingerprint_params, JSON_COMPACT | JSON_SORT_KEYS);
	size_t text_len = strlen(req->method) + strlen(req->path) + (canonical ? strlen(canonical) : 0) + 3;
	char *text = malloc(text_len);
	if (!text) {
		free(canonical);
		http_error(req, CAT_INTERNAL, NULL, NULL);
		return false;
	}
	snprintf(text, text_len, "%s %s %s", req->method, req->path, canonical ? canonical : "");
	crypto_sha256(text, strlen(text), cmd->fingerprint);
	free(text);
	free(canonical);
	return true;
}

/* ---- the handler -------------------------------------------------------- */

extern void router_dispatch(struct request *req);

static void language_of(struct request *req)
{
	const char *lang = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept-Language");
	snprintf(req->lang, sizeof req->lang, "%s", lang ? lang : "en");
}

static struct request *request_new(struct api_server *srv, struct MHD_Connection *conn,
				   const char *url, const char *method)
{
	struct request *req = calloc(1, sizeof *req);
	if (!req)
		return NULL;
	req->srv = srv;
	req->conn = conn;
	req->method = method;
	if (strlen(url) >= sizeof req->path)
		req->too_large = true;
	snprintf(req->path, sizeof req->path, "%s", url);
	const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	if (length && strtoull(length, NULL, 10) > PARAMS_BODY_MAX)
		req->too_large = true;
	return req;
}

static void body_append(struct request *req, const char *data, size_t size)
{
	if (req->too_large || req->body_len + size > PARAMS_BODY_MAX) {
		req->too_large = true;
		return;
	}
	if (req->body_len + size + 1 > req->body_cap) {
		size_t cap = req->body_cap ? req->body_cap * 2 : 1024;
		while (cap < req->body_len + size + 1)
			cap *= 2;
		char *grown = realloc(req->body, cap);
		if (!grown) {
			req->too_large = true;
			return;
		}
		req->body = grown;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, data, size);
	req->body_len += size;
	req->body[req->body_len] = '\0';
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	(void)version;
	struct request *req = *req_cls;
	if (!req) {
		*req_cls = req = request_new(cls, conn, url, method);
		return req ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		body_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->suspended) /* resumed: the engine has answered */
		return send_answer(req);
	language_of(req);
	if (req->too_large)
		http_error(req, CAT_BODY_TOO_LARGE, NULL, "The request is larger than payd accepts.");
	else
		router_dispatch(req);
	/* A read may have seen a commit whose fsync is still running: show it
	 * only once it is durable (at most one fsync's wait). */
	if (!req->suspended && strcmp(method, "GET") == 0)
		engine_wait_durable(req->srv->engine);
	return req->suspended ? MHD_YES : send_answer(req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct request *req = *req_cls;
	if (!req)
		return;
	engine_cmd_release(&req->cmd);
	json_decref(req->params);
	if (req->body) /* it may have carried a card number */
		explicit_bzero(req->body, req->body_cap);
	free(req->body);
	free(req->response);
	free(req);
	*req_cls = NULL;
}

/* Percent-decoding of the URL and its query, as MHD's own except that
 * "%00" stays as it is: a NUL would cut the text short and let
 * "/v1/payment_intents%00/x" pass for "/v1/payment_intents". */

static size_t unescape(void *cls, struct MHD_Connection *conn, char *text)
{
	(void)cls, (void)conn;
	char *w = text;
	for (const char *r = text; *r; r++) {
		int hi = r[0] == '%' ? digits_hex_value(r[1]) : -1;
		int lo = hi >= 0 ? digits_hex_value(r[2]) : -1;
		if (lo >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - text);
}

/* ---- life cycle --------------------------------------------------------- */

static int load_fingerprint_key(struct api_server *srv, char *err, size_t err_cap)
{
	struct store *s;
	struct store_open_opts opts = {.flags = STORE_READONLY};
	int rc = store_open_sqlite(srv->db_path, &opts, &s, err, err_cap);
	if (rc)
		return rc;
	rc = s->ops->secret_get(s, "card_fingerprint", srv->fingerprint_key);
	store_close(s);
	if (rc)
		snprintf(err, err_cap, "cannot read the card fingerprint key (code %d)", rc);
	return rc;
}

static int bind_address(const struct api_config *cfg, struct sockaddr_storage *addr, char *err,
			size_t err_cap)
{
	memset(addr, 0, sizeof *addr);
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
	if (inet_pton(AF_INET, cfg->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(cfg->port);
		return CAT_OK;
	}
	if (inet_pton(AF_INET6, cfg->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(cfg->port);
		return CAT_OK;
	}
	snprintf(err, err_cap, "invalid listen address '%s' (use a numeric IPv4 or IPv6 address)",
		 cfg->host);
	return CAT_PARAMETER_INVALID;
}

int api_start(const struct api_config *cfg, struct api_server **out, char *err, size_t err_cap)
{
	struct api_server *srv = calloc(1, sizeof *srv);
	struct sockaddr_storage addr;
	if (!srv)
		return CAT_INTERNAL;
	srv->engine = cfg->engine;
	srv->sandbox = cfg->sandbox;
	srv->route = cfg->route;
	srv->webhooks_allow_private = cfg->webhooks_allow_private;
	srv->clock = cfg->clock ? cfg->clock : &clock_system;
	snprintf(srv->db_path, sizeof srv->db_path, "%s", cfg->db_path);
	id_gen_init(&srv->ids, srv->clock, 0);
	rng_seed_os(&srv->ids.rng);
	int rc = load_fingerprint_key(srv, err, err_cap);
	if (!rc)
		rc = bind_address(cfg, &addr, err, err_cap);
	if (rc) {
		id_gen_destroy(&srv->ids);
		free(srv);
		return rc;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cfg->threads ? cfg->threads : (unsigned)(cpus > 0 ? cpus : 1);
	srv->daemon = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			(addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		cfg->port, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR, &addr,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)HTTP_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(err, err_cap, "cannot listen on %s:%u", cfg->host, cfg->port);
		id_gen_destroy(&srv->ids);
		free(srv);
		return CAT_INTERNAL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->port;
	*out = srv;
	return CAT_OK;
}

uint16_t api_port(const struct api_server *srv)
{
	return srv->port;
}

void api_quiesce(struct api_server *srv)
{
	MHD_quiesce_daemon(srv->daemon);
}

void api_stop(struct api_server *srv, int wait_ms)
{
	for (int waited = 0; waited < wait_ms; waited += 10) {
		const union MHD_DaemonInfo *info =
			MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || info->num_connections == 0)
			break;
		usleep(10 * 1000);
	}
	MHD_stop_daemon(srv->daemon);
	id_gen_destroy(&srv->ids);
	free(srv);
}
