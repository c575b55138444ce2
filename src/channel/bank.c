/* channel/bank: the bank payout rails (kind bank), the client side of
 * payd-sim's rails (docs/SIM_PROTOCOL.md, "Bank payout rails").
 *
 * Like the charge kinds (channel/http.c) a rail does no I/O: encode()
 * turns a PAYOUT or QUERY_PAYOUT into a path and a JSON body, the
 * dispatcher sends it, and decode() turns the answer (ISO 20022 `status`,
 * `reason`, the payout's `state`) into a channel_result.  parse_callback()
 * verifies and reads the rail's signed state callbacks, mapped the same way.
 *
 * decode() leans to CH_UNKNOWN (202, ask again) whenever the answer does
 * not say for sure what happened: transport trouble after sending (mapped
 * by the shared http_channel_decode_transport), an answer that does not
 * parse, a status or state it does not know, or a status, state, reason,
 * reference or amount that contradict each other.  Reasons are data, in
 * channel/bank_codes.def.
 *
 * The account number is in clear only in req->payout and in the body
 * encode() builds; neither is logged, and the dispatcher wipes both. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/utf8.h"
#include "channel/channel.h"
#include "core/bank_account.h"
#include "channel/http_internal.h"
#include "core/catalog.h"

#define BANK_KIND "bank"
#define BANK_AMOUNT_MAX 999999999999LL  /* payd-sim's limit on a payout's amount */
#define BANK_CALLBACK_ID_MAX 63          /* callback id: 1..63 printable */
#define BANK_CALLBACK_TYPE "payout.state"
#define BANK_RAW_MAX (PAYMENT_RAW_CODE_MAX + PAYOUT_REASON_MAX + 8)

struct bank_reason {
	const char *code, *message;
	int catalog;
};

static const struct bank_reason bank_reasons[] = {
#define BANK_REASON(code, message, catalog) {code, message, catalog},
#include "channel/bank_codes.def"
#undef BANK_REASON
};
#define BANK_REASON_COUNT (sizeof bank_reasons / sizeof bank_reasons[0])

/* The payout states and the one status each goes with. */
struct bank_state {
	const char *state, *status, *message;
	enum channel_payout_state po;
};

static const struct bank_state bank_states[] = {
	{"none", "RJCT", "Payout not found", CH_PO_NONE},
	{"pending", "ACSP", "Accepted, settlement in process", CH_PO_PENDING},
	{"in_transit", "ACSP", "Accepted, settlement in process", CH_PO_IN_TRANSIT},
	{"paid", "ACSC", "Settlement completed", CH_PO_PAID},
	{"failed", "RJCT", "Rejected", CH_PO_FAILED},
	{"returned", "RJCT", "Returned", CH_PO_RETURNED},
};
#define BANK_STATE_COUNT (sizeof bank_states / sizeof bank_states[0])

#define BANK_STATUS_PENDING "PDNG" /* the rail has not decided yet: ask again */
#define BANK_REASON_NOT_FOUND "NOTF"

/* The fields of an answer or callback (pointers into the parsed JSON). */
struct bank_answer {
	const char *reference, *status, *reason, *state, *trace_id, *message;
	bool has_amount, has_eta;
	int64_t amount, eta_ms;
};

/* What an answer must agree with (NULL / 0: not checked). */
struct bank_expect {
	const char *reference;
	int64_t amount;
	bool query; /* state none is an answer (CH_NOT_FOUND) */
};

/* ---- small helpers ---------------------------------------------------------- */

static const struct bank_state *state_find(const char *state)
{
	for (size_t i = 0; state && i < BANK_STATE_COUNT; i++)
		if (strcmp(bank_states[i].state, state) == 0)
			return &bank_states[i];
	return NULL;
}

static const struct bank_reason *reason_find(const char *code)
{
	for (size_t i = 0; code && i < BANK_REASON_COUNT; i++)
		if (strcmp(bank_reasons[i].code, code) == 0)
			return &bank_reasons[i];
	return NULL;
}

static bool all_of(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (extra && c && strchr(extra, c));
		if (!ok)
			return false;
	}
	return true;
}

/* A reason fit to keep: 1..7 of [A-Z0-9]. */
static bool reason_ok(const char *r)
{
	if (!r || !all_of(r, 1, PAYOUT_REASON_MAX - 1, NULL))
		return false;
	for (const char *p = r; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			return false;
	return true;
}

/* A fixed-size field that may lack its NUL, as a string in buf[cap]
 * (empty when it does not fit). */
static const char *field(const char *f, size_t f_size, char *buf, size_t cap)
{
	size_t n = strnlen(f, f_size);
	if (n >= cap || n == f_size)
		n = 0;
	memcpy(buf, f, n);
	buf[n] = '\0';
	return buf;
}

static void set(struct channel_result *out, enum channel_outcome outcome, int code)
{
	out->outcome = outcome;
	out->code = code;
}

/* ---- encode ------------------------------------------------------------------ */

static bool destination_ok(const struct channel_payout *p)
{
	size_t holder = strnlen(p->holder_name, sizeof p->holder_name);
	size_t number = strnlen(p->number, sizeof p->number);
	size_t bank = strnlen(p->bank_code, sizeof p->bank_code);
	if (holder == 0 || holder == sizeof p->holder_name || number == sizeof p->number ||
	    bank == sizeof p->bank_code || strnlen(p->country, sizeof p->country) != 2)
		return false;
	return utf8_printable(p->holder_name, holder) &&
	       all_of(p->number, BANK_ACCOUNT_NUMBER_MIN, PAYOUT_NUMBER_MAX - 1, NULL) &&
	       all_of(p->bank_code, 1, PAYOUT_BANK_CODE_MAX - 1, "-") &&
	       p->country[0] >= 'A' && p->country[0] <= 'Z' && p->country[1] >= 'A' &&
	       p->country[1] <= 'Z';
}

/* reference (required) into w. */
static bool put_reference(struct jsonw *w, const struct channel_request *req)
{
	char ref[ID_MAX];
	if (!all_of(field(req->reference, sizeof req->reference, ref, sizeof ref), 1, ID_MAX - 1,
		    "_-"))
		return false;
	jsonw_key(w, "reference");
	jsonw_string(w, ref);
	return true;
}

/* The account, number last: the body stays far below jsonw's first
 * buffer (1 KiB; the holder name escapes to at most 280 bytes), so it is
 * never reallocated and no stray copy of the number is left behind. */
static void put_account(struct jsonw *w, const struct channel_payout *p)
{
	jsonw_key(w, "account");
	jsonw_begin_object(w);
	jsonw_key(w, "holder_name");
	jsonw_string(w, p->holder_name);
	jsonw_key(w, "bank_code");
	jsonw_string(w, p->bank_code);
	jsonw_key(w, "country");
	jsonw_string(w, p->country);
	jsonw_key(w, "number");
	jsonw_string(w, p->number);
	jsonw_end_object(w);
}

/* Everything is checked before anything is written. */
static int encode_payout(const struct channel_request *req, struct jsonw *w)
{
	char cur[4];
	const struct channel_payout *p = req->payout;
	if (!p || !destination_ok(p) || req->amount <= 0 || req->amount > BANK_AMOUNT_MAX ||
	    !http_channel_currency(req->currency, cur))
		return CAT_CHANNEL_REJECTED;
	if (!put_reference(w, req))
		return CAT_CHANNEL_REJECTED;
	jsonw_key(w, "amount");
	jsonw_int(w, req->amount);
	jsonw_key(w, "currency");
	jsonw_string(w, cur);
	jsonw_key(w, "method");
	jsonw_string(w, p->instant ? "instant" : "standard");
	put_account(w, p);
	return CAT_OK;
}

static int encode_body(const struct channel_request *req, struct jsonw *w, const char **path)
{
	switch (req->op) {
	case CH_OP_PAYOUT:
		*path = "/v1/payout";
		return encode_payout(req, w);
	case CH_OP_QUERY_PAYOUT:
		*path = "/v1/query_payout";
		return put_reference(w, req) ? CAT_OK : CAT_CHANNEL_REJECTED;
	case CH_OP_AUTHORIZE: /* charges are the other kinds' */
	case CH_OP_VERIFY:
	case CH_OP_CAPTURE:
	case CH_OP_VOID:
	case CH_OP_REFUND:
	case CH_OP_QUERY:
	case CH_OP_QUERY_REFUND:
		break;
	}
	return CAT_CHANNEL_REJECTED;
}

static void wipe_free(char *body)
{
	if (body)
		explicit_bzero(body, strlen(body));
	free(body);
}

static int bank_encode(struct channel *ch, const struct channel_request *req,
		       struct channel_http_request *out)
{
	(void)ch;
	const char *path = NULL;
	struct jsonw w;
	memset(out, 0, sizeof *out);
	jsonw_init(&w);
	jsonw_begin_object(&w);
	int rc = encode_body(req, &w, &path);
	jsonw_end_object(&w);
	char *body = jsonw_take(&w);
	if (!rc && !body)
		rc = CAT_INTERNAL;
	if (rc) {
		wipe_free(body);
		return rc;
	}
	snprintf(out->path, sizeof out->path, "%s", path);
	out->body = body;
	return CAT_OK;
}

/* ---- mapping an answer (decode and callbacks) ---------------------------------- */

static void raw_of(const struct bank_answer *a, struct channel_result *out)
{
	char raw[BANK_RAW_MAX];
	snprintf(raw, sizeof raw, "%s%s%s", a->status, a->reason ? ":" : "",
		 a->reason ? a->reason : "");
	http_channel_copy_text(out->raw_code, sizeof out->raw_code, raw);
	const struct bank_reason *r = reason_find(a->reason);
	const struct bank_state *s = state_find(a->state);
	const char *msg = a->message ? a->message : r ? r->message : s ? s->message : "";
	http_channel_copy_text(out->raw_message, sizeof out->raw_message, msg);
}

/* trace id, expected arrival, amount; the reason of a rejection or return. */
static void copy_details(const struct bank_answer *a, const struct bank_state *s,
			 struct channel_result *out)
{
	if (a->trace_id)
		http_channel_copy_text(out->trace_id, sizeof out->trace_id, a->trace_id);
	if (a->has_eta)
		out->expected_arrival_ms = a->eta_ms;
	bool rejected = s->po == CH_PO_FAILED || s->po == CH_PO_RETURNED;
	if (rejected && reason_ok(a->reason))
		memcpy(out->reason, a->reason, strlen(a->reason) + 1);
	if (a->has_amount)
		out->amount = a->amount;
}

/* Does the answer contradict what was asked, or itself? */
static bool contradictory(const struct bank_answer *a, const struct bank_state *s,
			  const struct bank_expect *e)
{
	if (a->reference && e->reference && strcmp(a->reference, e->reference) != 0)
		return true;
	if (a->has_amount && e->amount > 0 && a->amount != e->amount)
		return true;
	if (strcmp(a->status, s->status) != 0)
		return true;
	bool rejected = s->po == CH_PO_FAILED || s->po == CH_PO_RETURNED;
	if (!rejected && s->po != CH_PO_NONE && a->reason)
		return true; /* a reason on a payout that is going well */
	if (s->po == CH_PO_NONE)
		return !e->query || (a->reason && strcmp(a->reason, BANK_REASON_NOT_FOUND) != 0);
	return false;
}

/* A rejection's catalog code by its reason (unknown or none: 606). */
static int failed_code(const char *reason)
{
	const struct bank_reason *r = reason_find(reason);
	return r ? r->catalog : CAT_PAYOUT_DECLINED;
}

static void map_answer(const struct bank_answer *a, const struct bank_expect *e,
		       struct channel_result *out)
{
	memset(out, 0, sizeof *out);
	set(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT);
	raw_of(a, out);
	const struct bank_state *s = state_find(a->state);
	bool pdng = strcmp(a->status, BANK_STATUS_PENDING) == 0;
	if (pdng) { /* not decided: ask again (the state, if any, must be pending) */
		if (!a->state || (s && s->po == CH_PO_PENDING))
			out->payout_state = CH_PO_PENDING;
		return;
	}
	if (!s || contradictory(a, s, e))
		return;
	copy_details(a, s, out);
	out->payout_state = s->po;
	switch (s->po) {
	case CH_PO_NONE:
		set(out, CH_NOT_FOUND, CAT_OK);
		break;
	case CH_PO_PENDING:
	case CH_PO_IN_TRANSIT:
	case CH_PO_PAID:
		set(out, CH_SUCCEEDED, CAT_OK);
		break;
	case CH_PO_FAILED:
		set(out, CH_DECLINED, failed_code(a->reason));
		break;
	case CH_PO_RETURNED:
		set(out, CH_DECLINED, CAT_PAYOUT_RETURNED);
		break;
	}
}

/* ---- parsing ---------------------------------------------------------------------- */

/* An optional string member: absent or null → NULL; false when it is
 * something else. */
static bool opt_string(json_t *root, const char *key, const char **out)
{
	json_t *v = json_object_get(root, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	*out = json_string_value(v);
	return true;
}

static bool opt_int(json_t *root, const char *key, bool *has, int64_t *out)
{
	json_t *v = json_object_get(root, key);
	*has = false;
	*out = 0;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*has = true;
	*out = (int64_t)json_integer_value(v);
	return true;
}

/* The members every answer and callback share; false when one has the
 * wrong type or status is missing. */
static bool parse_answer(json_t *root, struct bank_answer *a)
{
	memset(a, 0, sizeof *a);
	if (!json_is_object(root))
		return false;
	bool ok = opt_string(root, "reference", &a->reference) &&
		  opt_string(root, "status", &a->status) &&
		  opt_string(root, "reason", &a->reason) && opt_string(root, "state", &a->state) &&
		  opt_string(root, "trace_id", &a->trace_id) &&
		  opt_string(root, "message", &a->message) &&
		  opt_int(root, "amount", &a->has_amount, &a->amount) &&
		  opt_int(root, "expected_arrival_ms", &a->has_eta, &a->eta_ms);
	return ok && a->status && a->status[0];
}

/* ---- decode ------------------------------------------------------------------------ */

static void bank_decode(struct channel *ch, const struct channel_request *req,
			const struct channel_http_reply *reply, struct channel_result *out)
{
	(void)ch;
	if (http_channel_decode_transport(reply, out))
		return;
	char ref[ID_MAX];
	struct bank_expect e = {
		.reference = field(req->reference, sizeof req->reference, ref, sizeof ref),
		.amount = req->op == CH_OP_PAYOUT ? req->amount : 0,
		.query = req->op == CH_OP_QUERY_PAYOUT,
	};
	struct bank_answer a;
	json_t *root = NULL;
	if (reply->body && reply->body_len <= CHANNEL_BODY_MAX)
		root = json_loadb(reply->body, reply->body_len, JSON_REJECT_DUPLICATES, NULL);
	bool payout_op = req->op == CH_OP_PAYOUT || req->op == CH_OP_QUERY_PAYOUT;
	if (!payout_op || !parse_answer(root, &a)) {
		memset(out, 0, sizeof *out);
		set(out, CH_UNKNOWN, CAT_CHANNEL_TIMEOUT);
		http_channel_copy_text(out->raw_code, sizeof out->raw_code, "BAD_ANSWER");
		http_channel_copy_text(out->raw_message, sizeof out->raw_message,
				       "answer is not a JSON object with a status");
	} else {
		if (!e.reference[0])
			e.reference = NULL;
		map_answer(&a, &e, out);
	}
	json_decref(root);
}

/* ---- callbacks --------------------------------------------------------------------- */

static bool printable_ascii(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* The callback's own members (id, type, reference, state, at_ms) on top
 * of an answer's; false when one is missing or out of shape. */
static bool parse_callback_body(json_t *root, struct bank_answer *a, const char **id,
				int64_t *at_ms)
{
	if (!parse_answer(root, a))
		return false;
	const char *type = json_string_value(json_object_get(root, "type"));
	json_t *at = json_object_get(root, "at_ms");
	*id = json_string_value(json_object_get(root, "id"));
	if (!*id || !printable_ascii(*id, 1, BANK_CALLBACK_ID_MAX) || !type ||
	    strcmp(type, BANK_CALLBACK_TYPE) != 0 || !json_is_integer(at) ||
	    json_integer_value(at) < 0)
		return false;
	*at_ms = (int64_t)json_integer_value(at);
	const struct bank_state *s = state_find(a->state);
	return a->reference && all_of(a->reference, 1, ID_MAX - 1, "_-") && s &&
	       s->po != CH_PO_NONE;
}

static int bank_parse_callback(struct channel *ch, const char *body, size_t body_len,
			       const char *signature, int64_t now_s, struct channel_callback *out)
{
	if (!body) {
		body = "";
		body_len = 0;
	}
	if (!signature || !http_channel_verify_within(ch->config.secret, signature, body, body_len,
						      now_s, CHANNEL_CALLBACK_WINDOW_S))
		return CAT_API_KEY_INVALID;
	if (body_len > CHANNEL_BODY_MAX)
		return CAT_MALFORMED_BODY;
	json_t *root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
	struct bank_answer a;
	const char *id = NULL;
	int64_t at_ms = 0;
	int rc = CAT_MALFORMED_BODY;
	if (root && parse_callback_body(root, &a, &id, &at_ms)) {
		struct channel_callback cb;
		struct bank_expect e = {.reference = a.reference};
		memset(&cb, 0, sizeof cb);
		memcpy(cb.id, id, strlen(id) + 1);
		memcpy(cb.reference, a.reference, strlen(a.reference) + 1);
		cb.at_ms = at_ms;
		map_answer(&a, &e, &cb.result);
		*out = cb;
		rc = CAT_OK;
	}
	json_decref(root);
	return rc;
}

/* ---- the channel ---------------------------------------------------------------------- */

static const struct channel_ops bank_ops = {
	.kind = BANK_KIND,
	.caps = CH_CAP_PAYOUT | CH_CAP_QUERY,
	.encode = bank_encode,
	.decode = bank_decode,
	.parse_callback = bank_parse_callback,
	.destroy = http_channel_destroy,
};

bool bank_channel_kind_known(const char *kind)
{
	return strncmp(kind, BANK_KIND, CHANNEL_KIND_MAX) == 0;
}

struct channel *bank_channel_new(const struct channel_config *cfg, char *err, size_t err_cap)
{
	if (!bank_channel_kind_known(cfg->kind)) {
		snprintf(err, err_cap, "kind: not %s", BANK_KIND);
		return NULL;
	}
	return http_channel_alloc(cfg, &bank_ops, sizeof(struct channel), err, err_cap);
}
