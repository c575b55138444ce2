/* api/http: what the API's files share: one HTTP request in progress, the
 * routing table entry type, and the helpers that answer.  server.c owns
 * the life cycle; the resource files (payment_intents.c, refunds.c, ...)
 * only read the request and answer or submit a command. */
#ifndef PAYD_API_HTTP_H
#define PAYD_API_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "api/api.h"
#include "api/params.h"
#include "store/store.h"

#define HTTP_PATH_MAX 256
#define HTTP_ID_MAX ID_MAX

struct api_server {
	struct MHD_Daemon *daemon;
	struct engine *engine;
	struct channel *sandbox; /* tokenizes cards and knows the test payment methods */
	struct route *route;
	const struct payd_clock *clock;
	char db_path[1024];
	uint8_t fingerprint_key[32];
	bool webhooks_allow_private; /* endpoints on loopback and private networks */
	struct id_gen ids; /* payment method ids */
	uint16_t port;
};

struct request {
	struct api_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	char path[HTTP_PATH_MAX];
	char id[HTTP_ID_MAX];     /* the :id segment of the route, if any */
	char *body;
	size_t body_len, body_cap;
	bool too_large;
	bool suspended;
	char merchant_id[ID_MAX];
	char lang[ENGINE_LANG_MAX];
	json_t *params;           /* body (POST) or query (GET) */
	struct engine_cmd cmd;    /* a write in flight */
	/* The answer. */
	int status;
	char *response;           /* heap JSON */
	bool replayed;
};

typedef void (*route_fn)(struct request *req);

/* Answers with body (released) as JSON. */
void http_json(struct request *req, int status, json_t *body);
/* Answers with JSON text (heap, taken). */
void http_text(struct request *req, int status, char *text);
/* Answers with the catalog's error object for code. */
void http_error(struct request *req, int code, const char *param, const char *message);
void http_params_error(struct request *req, const struct params_error *err);
/* Answers a failed read: 404 naming `param` with `message` for
 * CAT_NO_SUCH_OBJECT, the catalog's error for any other code. */
void http_read_error(struct request *req, int rc, const char *param, const char *message);
/* Hands cmd to the engine and suspends the connection until it answers. */
void http_submit(struct request *req);
/* Prepares req->cmd for a POST: merchant, language, Idempotency-Key and
 * the fingerprint of the parameters.  False (answered) on a bad key. */
bool http_prepare_cmd(struct request *req, enum engine_cmd_kind kind, const json_t *fingerprint_params);

/* The calling thread's read-only connection (opened on first use). */
struct store *http_reader(struct request *req);

/* auth.c: sets req->merchant_id from the Authorization header; false
 * (answered with 401) when the key is missing or wrong. */
bool auth_merchant(struct request *req);

/* Parses the body (POST) or the query string (GET) into req->params and
 * refuses parameters not in `allowed`; false when it answered an error. */
bool http_params(struct request *req, const char *const *allowed);
/* Lists: limit, starting_after, ending_before from req->params. */
bool http_page(struct request *req, struct store_page *page);
/* Answers a list: runs `list` and renders every record with `render`. */
typedef int (*http_list_fn)(struct store *s, const char *merchant_id, const struct store_page *page,
			    store_each_fn each, void *ctx, bool *has_more);
void http_list(struct request *req, http_list_fn list, const struct store_page *page,
	       json_t *(*render)(const void *record, const char *lang), const char *url);

/* The resources. */
void pi_create(struct request *req);
void pi_retrieve(struct request *req);
void pi_update(struct request *req);
void pi_list(struct request *req);
void pi_confirm(struct request *req);
void pi_capture(struct request *req);
void pi_cancel(struct request *req);
void refund_create(struct request *req);
void refund_retrieve(struct request *req);
void refund_list(struct request *req);
void balance_retrieve(struct request *req);
void channel_list(struct request *req);
/* recipients.c, payouts.c, callbacks.c */
void recipient_create(struct request *req);
void recipient_retrieve(struct request *req);
void recipient_list(struct request *req);
void payout_create(struct request *req);
void payout_retrieve(struct request *req);
void payout_list(struct request *req);
void payout_cancel(struct request *req);
void alert_retrieve(struct request *req);
void alert_list(struct request *req);
void callback_receive(struct request *req);
/* A bank account in params["bank_account"] (account_number,
 * account_holder_name, country, and routing_number or bank_code), checked
 * (bank_account_check) into out; 0 or a catalog code with err set. */
int api_bank_account(json_t *params, struct bank_dest *out, struct params_error *err);
/* params with bank_account[account_number] replaced by its keyed
 * fingerprint: what an Idempotency-Key's fingerprint is computed from. */
json_t *api_redacted_account(struct request *req, const json_t *params);
void event_retrieve(struct request *req);
void event_list(struct request *req);
/* webhooks.c */
void webhook_create(struct request *req);
void webhook_retrieve(struct request *req);
void webhook_update(struct request *req);
void webhook_delete(struct request *req);
void webhook_list(struct request *req);
void webhook_roll(struct request *req);
void event_redeliver(struct request *req);
void event_deliveries(struct request *req);

/* methods.c: the payment method of a request (payment_method id or
 * payment_method_data), tokenized; raw card numbers are wiped here. */
int methods_resolve(struct request *req, json_t *params, struct payment_method *out,
		    bool *present, struct params_error *err);
/* A copy of params safe to hash: card number and CVC replaced. */
json_t *methods_redacted_params(struct request *req, const json_t *params);

#endif
