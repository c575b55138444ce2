/* channel/http: the network channels (kinds acquirer, wallet_a, wallet_b),
 * the client side of the payd-sim protocol (docs/SIM_PROTOCOL.md).
 *
 * A network channel does no I/O itself: encode() turns a channel_request
 * into a path and a JSON body, the dispatcher (channel/dispatch.c) signs,
 * sends and checks the answer's signature, and decode() turns what came
 * back into a channel_result.  Both are pure functions of their inputs, so
 * they are tested without a network and are safe from any thread.
 *
 * decode() leans to "unknown" whenever money may have moved and the answer
 * does not say for sure what happened: a transport failure after sending,
 * a bad signature, a body that does not parse, a raw code not in the
 * kind's table, or a state that contradicts the code all give CH_UNKNOWN
 * (202), which the resolver settles by querying.  The raw codes of each
 * kind are data, in channel/http_codes.def. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/jsonw.h"
#include "channel/channel.h"
#include "channel/http_internal.h"
#include "core/catalog.h"

enum http_kind { HTTP_KIND_ACQUIRER, HTTP_KIND_WALLET_A, HTTP_KIND_WALLET_B, HTTP_KIND_COUNT };

enum http_class { HC_SUCCESS, HC_DECLINE, HC_NOT_EXECUTED, HC_UNKNOWN, HC_NOT_FOUND };

struct http_code {
	enum http_kind kind;
	const char *raw, *message;
	enum http_class cls;
	int code;        /* DECLINE, NOT_EXECUTED, UNKNOWN, NOT_FOUND (outside queries) */
	int refund_code; /* a refund refused with this code */
};

static const struct http_code http_codes[] = {
#define HTTP_CODE(kind, raw, message, cls, code, refund_code) \
	{HTTP_KIND_##kind, raw, message, HC_##cls, code, refund_code},
#include "channel/http_codes.def"
#undef HTTP_CODE
};
#define HTTP_CODE_COUNT (sizeof http_codes / sizeof http_codes[0])

/* Per kind: the config name, the one method type it takes, its caps. */
static const struct http_kind_info {
	const char *name;
	enum pm_type type;
	const char *type_name; /* the wire's method.type */
} kinds[HTTP_KIND_COUNT] = {
	[HTTP_KIND_ACQUIRER] = {"acquirer", PM_CARD, "card"},
	[HTTP_KIND_WALLET_A] = {"wallet_a", PM_ALIPAY, "alipay"},
	[HTTP_KIND_WALLET_B] = {"wallet_b", PM_WECHAT_PAY, "wechat_pay"},
};

struct http_channel {
	struct channel base; /* first: a struct channel * is a struct http_channel * */
	enum http_kind kind;
};

/* The fields of an answer decode() reads (pointers into the parsed JSON). */
struct http_answer {
	const char *code, *message, *state; /* state NULL when absent */
	bool has_amount, has_captured_amount;
	int64_t amount, captured_amount;
};

/* ---- small helpers ---------------------------------------------------------- */

/* Copies src into dst[cap], cutting at a UTF-8 character boundary so that
 * a truncated message stays valid UTF-8. */
void http_channel_copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A fixed-size field that may lack its NUL, as a string in buf[cap]. */
static const char *field(const char *f, size_t f_size, char *buf, size_t cap)
{
	size_t n = strnlen(f, f_size);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, f, n);
	buf[n] = '\0';
	return buf;
}

static void fill(struct channel_result *out, enum channel_outcome outcome, int code,
		 const char *raw_code, const char *raw_message)
{
	memset(out, 0, sizeof *out);
	out->outcome = outcome;
	out->code = code;
	http_channel_copy_text(out->raw_code, sizeof out->raw_code, raw_code);
	http_channel_copy_text(out->raw_message, sizeof out->raw_message, raw_message);
}

static const struct http_code *code_find(enum http_kind kind, const char *raw)
{
	for (size_t i = 0; i < HTTP_CODE_COUNT; i++)
		if (http_codes[i].kind == kind && strcmp(http_codes[i].raw, raw) == 0)
			return &http_codes[i];
	return NULL;
}

static bool state_is(const struct http_answer *a, const char *state)
{
	return a->state && strcmp(a->state, state) == 0;
}

/* ---- encode ------------------------------------------------------------------ */

/* reference-like members: refused (NULL) when empty. */
static bool put_id(struct jsonw *w, const char *key, const char *id)
{
	char buf[ID_MAX];
	field(id, ID_MAX, buf, sizeof buf);
	if (!buf[0])
		return false;
	jsonw_key(w, key);
	jsonw_string(w, buf);
	return true;
}

bool http_channel_currency(const char currency[4], char out[4])
{
	for (int i = 0; i < 3; i++) {
		char c = currency[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return false;
		out[i] = c;
	}
	out[3] = '\0';
	return true;
}

static bool put_currency(struct jsonw *w, const char currency[4])
{
	char cur[4];
	if (!http_channel_currency(currency, cur))
		return false;
	jsonw_key(w, "currency");
	jsonw_string(w, cur);
	return true;
}

static void put_amount(struct jsonw *w, int64_t amount)
{
	jsonw_key(w, "amount");
	jsonw_int(w, amount);
}

/* The method as the wire carries it: for a card only brand, last4, expiry
 * and the channel's token; a wallet only its type. */
static void put_method(struct jsonw *w, const struct http_kind_info *k,
		       const struct payment_method *pm)
{
	char buf[PAYMENT_TOKEN_MAX];
	jsonw_key(w, "method");
	jsonw_begin_object(w);
	jsonw_key(w, "type");
	jsonw_string(w, k->type_name);
	if (pm->type == PM_CARD) {
		jsonw_key(w, "brand");
		jsonw_string(w, field(pm->brand, sizeof pm->brand, buf, sizeof buf));
		jsonw_key(w, "last4");
		jsonw_string(w, field(pm->last4, sizeof pm->last4, buf, sizeof buf));
		jsonw_key(w, "exp_month");
		jsonw_int(w, pm->exp_month);
		jsonw_key(w, "exp_year");
		jsonw_int(w, pm->exp_year);
		jsonw_key(w, "token");
		jsonw_string(w, field(pm->token, sizeof pm->token, buf, sizeof buf));
	}
	jsonw_end_object(w);
}

static int encode_authorize(const struct http_channel *hc, const struct channel_request *req,
			    struct jsonw *w)
{
	const struct http_kind_info *k = &kinds[hc->kind];
	if (!req->method || req->method->type != k->type || req->amount <= 0)
		return CAT_CHANNEL_REJECTED;
	if (!put_id(w, "reference", req->reference))
		return CAT_CHANNEL_REJECTED;
	put_amount(w, req->amount);
	if (!put_currency(w, req->currency))
		return CAT_CHANNEL_REJECTED;
	jsonw_key(w, "capture");
	jsonw_bool(w, req->capture);
	put_method(w, k, req->method);
	return CAT_OK;
}

/* CAPTURE and VOID name the authorization: payment_reference, or the
 * reference when the caller left payment_reference empty. */
static const char *authorization_of(const struct channel_request *req)
{
	return req->payment_reference[0] ? req->payment_reference : req->reference;
}

/* The body of req->op into w and its path; 0 or a catalog code. */
static int encode_body(const struct http_channel *hc, const struct channel_request *req,
		       struct jsonw *w, const char **path)
{
	switch (req->op) {
	case CH_OP_AUTHORIZE:
		*path = "/v1/authorize";
		return encode_authorize(hc, req, w);
	case CH_OP_CAPTURE:
		*path = "/v1/capture";
		if (req->amount <= 0 || !put_id(w, "reference", authorization_of(req)))
			return CAT_CHANNEL_REJECTED;
		put_amount(w, req->amount);
		return CAT_OK;
	case CH_OP_VOID:
		*path = "/v1/void";
		return put_id(w, "reference", authorization_of(req)) ? CAT_OK : CAT_CHANNEL_REJECTED;
	case CH_OP_REFUND:
		*path = "/v1/refund";
		if (req->amount <= 0 || !put_id(w, "reference", req->reference) ||
		    !put_id(w, "payment_reference", req->payment_reference))
			return CAT_CHANNEL_REJECTED;
		put_amount(w, req->amount);
		return put_currency(w, req->currency) ? CAT_OK : CAT_CHANNEL_REJECTED;
	case CH_OP_QUERY:
		*path = "/v1/query";
		return put_id(w, "reference", req->reference) ? CAT_OK : CAT_CHANNEL_REJECTED;
	case CH_OP_QUERY_REFUND:
		*path = "/v1/query_refund";
		return put_id(w, "reference", req->reference) ? CAT_OK : CAT_CHANNEL_REJECTED;
	case CH_OP_VERIFY: /* no payer verification on these channels */
	case CH_OP_PAYOUT: /* nor payouts: those are the bank rails' */
	case CH_OP_QUERY_PAYOUT:
		break;
	}
	return CAT_CHANNEL_REJECTED;
}

static int http_encode(struct channel *ch, const struct channel_request *req,
		       struct channel_http_request *out)
{
	const struct http_channel *hc = (const struct http_channel *)ch;
	const char *path = NULL;
	struct jsonw w;
	memset(out, 0, sizeof *out);
	jsonw_init(&w);
	jsonw_begin_object(&w);
	int rc = encode_body(hc, req, &w, &path);
	jsonw_end_object(&w);
	char *body = jsonw_take(&w);
	if (rc)
		goto out;
	if (!body) {
		rc = CAT_INTERNAL;
		goto out;
	}
	snprintf(out->path, sizeof out->path, "%s", path);
	out->body = body;
	body = NULL;
out:
	free(body);
	return rc;
}

/* ---- decode: transport trouble ---------------------------------------------------- */

/* The `error` member of a refusal's JSON body, or "". */
static void error_text(const struct channel_http_reply *reply, char *buf, size_t cap)
{
	buf[0] = '\0';
	json_t *root = reply->body ? json_loadb(reply->body, reply->body_len, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(root, "error"));
	if (e)
		http_channel_copy_text(buf, cap, e);
	json_decref(root);
}

static void decode_status(const struct channel_http_reply *reply, struct channel_result *out)
{
	char raw[32], msg[PAYMENT_RAW_MESSAGE_MAX], err[PAYMENT_RAW_MESSAGE_MAX - 32];
	long s = reply->status;
	snprintf(raw, sizeof raw, "HTTP_%ld", s);
	error_text(reply, err, sizeof err);
	snprintf(msg, sizeof msg, "HTTP status %ld%s%s", s, err[0] ? ": " : "", err);
	if (s == 400 || s == 401 || s == 404)
		fill(out, CH_NOT_EXECUTED, CAT_CHANNEL_REJECTED, raw, msg);
	else if (!reply->signature_ok)
		fill(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "BAD_SIGNATURE",
		     "answer's signature missing or wrong: treated as no answer");
	else if (s == 503)
		fill(out, CH_NOT_EXECUTED, CAT_CHANNEL_UNAVAILABLE, raw, msg);
	else if (s == 429)
		fill(out, CH_NOT_EXECUTED, CAT_CHANNEL_THROTTLED, raw, msg);
	else
		fill(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, raw, msg);
}

bool http_channel_decode_transport(const struct channel_http_reply *reply, struct channel_result *out)
{
	switch (reply->transport) {
	case CH_NET_REFUSED:
		fill(out, CH_NOT_EXECUTED, CAT_CHANNEL_UNAVAILABLE, "CONNECTION_REFUSED",
		     "no connection: nothing was sent");
		return true;
	case CH_NET_TIMEOUT:
		fill(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "TIMEOUT",
		     "no answer within the timeout");
		return true;
	case CH_NET_BROKEN:
		fill(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "CONNECTION_BROKEN",
		     "connection broken after sending: no answer");
		return true;
	case CH_NET_ANSWERED:
		break;
	}
	if (reply->status == 200 && reply->signature_ok)
		return false;
	decode_status(reply, out);
	return true;
}

/* ---- decode: a signed 200 ------------------------------------------------------------ */

static bool parse_answer(json_t *root, struct http_answer *a)
{
	memset(a, 0, sizeof *a);
	if (!json_is_object(root))
		return false;
	a->code = json_string_value(json_object_get(root, "code"));
	a->message = json_string_value(json_object_get(root, "message"));
	a->state = json_string_value(json_object_get(root, "state"));
	json_t *amount = json_object_get(root, "amount");
	json_t *captured = json_object_get(root, "captured_amount");
	if ((a->has_amount = json_is_integer(amount)))
		a->amount = json_integer_value(amount);
	if ((a->has_captured_amount = json_is_integer(captured)))
		a->captured_amount = json_integer_value(captured);
	return a->code != NULL && a->code[0] != '\0';
}

static void set_unknown(struct channel_result *out)
{
	out->outcome = CH_UNKNOWN;
	out->code = CAT_CHANNEL_TIMEOUT;
}

static void set_declined(struct channel_result *out, int code)
{
	out->outcome = CH_DECLINED;
	out->code = code;
}

/* A money-moving operation answered with a SUCCESS code, or a QUERY
 * that found the payment authorized or captured. */
static void succeeded(const struct channel_request *req, const struct http_answer *a,
		      struct channel_result *out)
{
	out->outcome = CH_SUCCEEDED;
	out->code = CAT_OK;
	if (req->op == CH_OP_CAPTURE)
		out->captured = true;
	else if (req->op == CH_OP_AUTHORIZE || req->op == CH_OP_QUERY) /* a query has a state */
		out->captured = a->state ? state_is(a, "captured") : req->capture;
	out->amount = a->has_amount ? a->amount : req->amount;
	if (out->captured && a->has_captured_amount)
		out->amount = a->captured_amount;
}

/* AUTHORIZE, CAPTURE, VOID: the code says what happened; a state that
 * contradicts a success makes it unknown. */
static void decode_payment_op(const struct channel_request *req, const struct http_code *c,
			      const struct http_answer *a, struct channel_result *out)
{
	static const char *const ok_states[][3] = {
		[CH_OP_AUTHORIZE] = {"authorized", "captured", NULL},
		[CH_OP_CAPTURE] = {"captured", NULL, NULL},
		[CH_OP_VOID] = {"voided", NULL, NULL},
	};
	if (c->cls == HC_DECLINE) {
		set_declined(out, c->code);
		return;
	}
	bool ok = a->state == NULL;
	for (int i = 0; i < 3 && !ok && ok_states[req->op][i]; i++)
		ok = state_is(a, ok_states[req->op][i]);
	if (ok)
		succeeded(req, a, out);
	else
		set_unknown(out);
}

/* QUERY: the state says what became of the payment.  `voided` (held,
 * then released: no money moved, final) answers CH_DECLINED with
 * CAT_CHANNEL_REJECTED, amount 0, and `voided` set. */
static void decode_query(const struct channel_request *req, const struct http_code *c,
			 const struct http_answer *a, struct channel_result *out)
{
	bool success = c->cls == HC_SUCCESS;
	if (state_is(a, "none")) {
		out->outcome = CH_NOT_FOUND;
		out->code = CAT_OK;
	} else if (state_is(a, "captured") || state_is(a, "authorized")) {
		if (success)
			succeeded(req, a, out);
		else
			set_unknown(out); /* a decline code on a payment that went through */
	} else if (state_is(a, "declined")) {
		set_declined(out, success ? CAT_GENERIC_DECLINE : c->code);
	} else if (state_is(a, "voided")) {
		set_declined(out, CAT_CHANNEL_REJECTED);
		out->voided = true;
	} else {
		/* processing, a state we do not know, or none given (with a decline
		 * code: a query refused, which says nothing of the payment): ask again */
		set_unknown(out);
	}
}

/* REFUND and QUERY_REFUND. */
static void decode_refund(const struct channel_request *req, const struct http_code *c,
			  const struct http_answer *a, struct channel_result *out)
{
	bool success = c->cls == HC_SUCCESS;
	if (state_is(a, "none") && req->op == CH_OP_QUERY_REFUND) {
		out->outcome = CH_NOT_FOUND;
		out->code = CAT_OK;
	} else if (state_is(a, "failed") || (!a->state && !success)) {
		set_declined(out, c->refund_code);
	} else if (success && (!a->state || state_is(a, "succeeded"))) {
		out->outcome = CH_SUCCEEDED;
		out->code = CAT_OK;
		out->amount = a->has_amount ? a->amount : req->amount;
	} else {
		set_unknown(out); /* processing, or a state contradicting the code */
	}
}

static void decode_answer(const struct http_channel *hc, const struct channel_request *req,
			  const struct http_answer *a, struct channel_result *out)
{
	const struct http_code *c = code_find(hc->kind, a->code);
	fill(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, a->code,
	     a->message ? a->message : c ? c->message : "");
	bool query = req->op == CH_OP_QUERY || req->op == CH_OP_QUERY_REFUND;
	if (!c || c->cls == HC_UNKNOWN || state_is(a, "processing"))
		return; /* not a code of this kind, or not decided yet */
	if (c->cls == HC_NOT_EXECUTED) {
		out->outcome = CH_NOT_EXECUTED;
		out->code = c->code;
	} else if (c->cls == HC_NOT_FOUND) {
		if (query) {
			out->outcome = CH_NOT_FOUND;
			out->code = CAT_OK;
		} else {
			set_declined(out, c->code);
		}
	} else if (req->op == CH_OP_QUERY) {
		decode_query(req, c, a, out);
	} else if (req->op == CH_OP_REFUND || req->op == CH_OP_QUERY_REFUND) {
		decode_refund(req, c, a, out);
	} else {
		decode_payment_op(req, c, a, out);
	}
}

static void http_decode(struct channel *ch, const struct channel_request *req,
			const struct channel_http_reply *reply, struct channel_result *out)
{
	const struct http_channel *hc = (const struct http_channel *)ch;
	if (http_channel_decode_transport(reply, out))
		return;
	struct http_answer a;
	json_t *root = NULL;
	if (reply->body && reply->body_len <= CHANNEL_BODY_MAX)
		root = json_loadb(reply->body, reply->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (!parse_answer(root, &a) || req->op == CH_OP_VERIFY)
		fill(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT, "BAD_ANSWER",
		     "answer is not a JSON object with a code");
	else
		decode_answer(hc, req, &a, out);
	json_decref(root);
}

void http_channel_decode_probe(const struct channel_http_reply *reply, struct channel_result *out)
{
	if (!http_channel_decode_transport(reply, out)) {
		fill(out, CH_SUCCEEDED, CAT_OK, "OK", "healthy");
		return;
	}
	out->outcome = CH_NOT_EXECUTED; /* a probe moves no money: unhealthy, whatever it was */
	out->code = CAT_CHANNEL_UNAVAILABLE;
}

/* ---- signatures ------------------------------------------------------------------------ */

static int mac_hex(const char *secret, int64_t t, const char *body, size_t body_len,
		   char hex[CRYPTO_SHA256_HEX])
{
	return crypto_hmac_timestamped_hex(secret, t, body, body_len, hex) ? 0 : -1;
}

int http_channel_sign(const char *secret, int64_t t, const char *body, size_t body_len,
		      char out[HTTP_SIGNATURE_MAX])
{
	char hex[CRYPTO_SHA256_HEX];
	if (mac_hex(secret, t, body, body_len, hex))
		return -1;
	snprintf(out, HTTP_SIGNATURE_MAX, "t=%lld,v1=%s", (long long)t, hex);
	return 0;
}

bool http_channel_verify(const char *secret, const char *header, const char *body,
			 size_t body_len, int64_t now_s)
{
	return http_channel_verify_within(secret, header, body, body_len, now_s,
					  HTTP_SIGNATURE_TOLERANCE_S);
}

bool http_channel_verify_within(const char *secret, const char *header, const char *body,
				size_t body_len, int64_t now_s, int64_t window_s)
{
	if (!header || strncmp(header, "t=", 2) != 0)
		return false;
	int64_t t = 0;
	const char *p = header + 2;
	for (int digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits >= 12)
			return false;
		t = t * 10 + (*p - '0');
	}
	if (p == header + 2 || strncmp(p, ",v1=", 4) != 0)
		return false;
	p += 4;
	if (strlen(p) != 2 * CRYPTO_SHA256_LEN || t < now_s - window_s ||
	    t > now_s + window_s)
		return false;
	char want[CRYPTO_SHA256_HEX], got[CRYPTO_SHA256_HEX];
	for (int i = 0; i < 2 * CRYPTO_SHA256_LEN; i++)
		got[i] = (p[i] >= 'A' && p[i] <= 'F') ? (char)(p[i] - 'A' + 'a') : p[i];
	got[2 * CRYPTO_SHA256_LEN] = '\0';
	if (mac_hex(secret, t, body, body_len, want))
		return false;
	return crypto_equal(want, got, 2 * CRYPTO_SHA256_LEN);
}

/* ---- the channels ------------------------------------------------------------------------ */

void http_channel_destroy(struct channel *ch)
{
	if (ch)
		explicit_bzero(ch->config.secret, sizeof ch->config.secret);
	free(ch);
}

#define HTTP_OPS(kind_name, kind_caps)                                                   \
	{                                                                                \
		.kind = kind_name, .caps = (kind_caps) | CH_CAP_MANUAL_CAPTURE |         \
					   CH_CAP_REFUND | CH_CAP_QUERY,                \
		.encode = http_encode, .decode = http_decode,                            \
		.destroy = http_channel_destroy,                                         \
	}

static const struct channel_ops http_ops[HTTP_KIND_COUNT] = {
	[HTTP_KIND_ACQUIRER] = HTTP_OPS("acquirer", CH_CAP_CARD),
	[HTTP_KIND_WALLET_A] = HTTP_OPS("wallet_a", CH_CAP_ALIPAY),
	[HTTP_KIND_WALLET_B] = HTTP_OPS("wallet_b", CH_CAP_WECHAT_PAY),
};

static int kind_of(const char *name, size_t cap)
{
	for (int i = 0; i < HTTP_KIND_COUNT; i++)
		if (strncmp(kinds[i].name, name, cap) == 0)
			return i;
	return -1;
}

bool http_channel_kind_known(const char *kind)
{
	return kind_of(kind, CHANNEL_KIND_MAX) >= 0;
}

/* name, url, secret and timeout_ms of a network channel's config; false
 * with err naming the field. */
static bool http_channel_config_ok(const struct channel_config *cfg, char *err, size_t err_cap)
{
	size_t url_len = strnlen(cfg->url, sizeof cfg->url);
	if (strnlen(cfg->name, sizeof cfg->name) == 0 ||
	    strnlen(cfg->name, sizeof cfg->name) == sizeof cfg->name)
		snprintf(err, err_cap, "name: must be 1..%d characters", PAYMENT_CHANNEL_MAX - 1);
	else if (url_len == sizeof cfg->url ||
		 (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0))
		snprintf(err, err_cap, "url: must be an http:// or https:// URL shorter than %d",
			 CHANNEL_URL_MAX);
	else if (strnlen(cfg->secret, sizeof cfg->secret) == 0 ||
		 strnlen(cfg->secret, sizeof cfg->secret) == sizeof cfg->secret)
		snprintf(err, err_cap, "secret: must be 1..%d characters", CHANNEL_SECRET_MAX - 1);
	else if (cfg->timeout_ms <= 0)
		snprintf(err, err_cap, "timeout_ms: must be positive");
	else
		return true;
	return false;
}

struct channel *http_channel_new(const struct channel_config *cfg, char *err, size_t err_cap)
{
	int kind = kind_of(cfg->kind, sizeof cfg->kind);
	if (kind < 0) {
		snprintf(err, err_cap, "kind: not a network channel kind");
		return NULL;
	}
	struct channel *ch =
		http_channel_alloc(cfg, &http_ops[kind], sizeof(struct http_channel), err, err_cap);
	if (!ch)
		return NULL;
	((struct http_channel *)ch)->kind = (enum http_kind)kind;
	return ch;
}

struct channel *http_channel_alloc(const struct channel_config *cfg, const struct channel_ops *ops,
				   size_t size, char *err, size_t err_cap)
{
	if (!http_channel_config_ok(cfg, err, err_cap))
		return NULL;
	struct channel *ch = calloc(1, size);
	if (!ch) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	ch->ops = ops;
	ch->config = *cfg;
	memcpy(ch->name, cfg->name, sizeof ch->name);
	return ch;
}
