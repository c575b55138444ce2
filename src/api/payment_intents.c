/* api/payment_intents: /v1/payment_intents — create, retrieve, update,
 * list, confirm, capture, cancel.  Parameters are checked here, in the
 * HTTP thread; writes go to the engine as commands. */
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "base/currency.h"
#include "core/catalog.h"
#include "core/render.h"
#include "notify/mail.h"

/* Accepted for compatibility with Stripe's clients, and ignored. */
#define IGNORED_PARAMS "expand", "return_url", "statement_descriptor", \
		       "statement_descriptor_suffix", "automatic_payment_methods", "use_stripe_sdk"

static const char *const create_params[] = {
	"amount", "currency", "confirm", "capture_method", "payment_method", "payment_method_data",
	"payment_method_types", "description", "metadata", "customer", "confirmation_method",
	"receipt_email", "payer_language", IGNORED_PARAMS, NULL};
static const char *const update_params[] = {
	"amount", "currency", "capture_method", "payment_method", "payment_method_data",
	"payment_method_types", "description", "metadata", "customer", "receipt_email",
	"payer_language", IGNORED_PARAMS, NULL};
static const char *const confirm_params[] = {
	"payment_method", "payment_method_data", "verification_code", "capture_method",
	IGNORED_PARAMS, NULL};
static const char *const capture_params[] = {"amount_to_capture", IGNORED_PARAMS, NULL};
static const char *const cancel_params[] = {"cancellation_reason", IGNORED_PARAMS, NULL};
static const char *const list_params[] = {"limit", "starting_after", "ending_before",
					  "expand", NULL};
static const char *const retrieve_params[] = {"expand", "client_secret", NULL};

static const char *const capture_methods[] = {"automatic", "automatic_async", "manual", NULL};
static const char *const payer_languages[] = {"en", "zh-CN", NULL};
static const char *const cancel_reasons[] = {"duplicate", "fraudulent", "requested_by_customer",
					     "abandoned", NULL};

static int check_method_types(json_t *params, struct params_error *err)
{
	json_t *types = json_object_get(params, "payment_method_types");
	size_t i;
	json_t *t;
	if (!types)
		return CAT_OK;
	if (!json_is_array(types))
		return params_fail(err, CAT_PARAMETER_INVALID, "payment_method_types",
				   "payment_method_types must be an array.");
	json_array_foreach(types, i, t) {
		if (pm_type_parse(json_string_value(t)) < 0)
			return params_fail(err, CAT_PARAMETER_INVALID, "payment_method_types",
					   "Unsupported payment method type (card, alipay, wechat_pay).");
	}
	return CAT_OK;
}

/* receipt_email (the payer's address for e-mails about the payment: ""
 * removes it) and payer_language (payd's: the e-mails' language; when
 * none was ever given, the engine takes the request's Accept-Language). */
static int read_payer(struct request *req, struct pi_args *a, struct params_error *err)
{
	const char *email = NULL, *language = NULL;
	int rc = params_string(req->params, "receipt_email", false, PAYMENT_EMAIL_MAX, &email, err);
	if (!rc && email && email[0] && !mail_address_valid(email))
		rc = params_fail(err, CAT_PARAMETER_INVALID, "receipt_email",
				 "receipt_email must be one e-mail address (name@example.com).");
	if (!rc && email) {
		a->fields |= PI_F_RECEIPT_EMAIL;
		snprintf(a->receipt_email, sizeof a->receipt_email, "%s", email);
	}
	if (!rc)
		rc = params_enum(req->params, "payer_language", false, payer_languages, &language, err);
	if (!rc && language) {
		a->fields |= PI_F_PAYER_LANGUAGE;
		snprintf(a->payer_language, sizeof a->payer_language, "%s", language);
	}
	return rc;
}

/* Reads every field a create/update/confirm may carry into cmd->pi;
 * `required`: amount and currency must be there (create). */
static int read_fields(struct request *req, struct pi_args *a, bool required,
		       struct params_error *err)
{
	json_t *p = req->params;
	const char *description = NULL, *customer = NULL, *capture = NULL;
	bool present = false;
	int rc = params_amount(p, "amount", required, PAYMENT_AMOUNT_MAX, &a->amount, err);
	if (!rc && json_object_get(p, "amount"))
		a->fields |= PI_F_AMOUNT;
	if (!rc && !(rc = params_currency(p, required, a->currency, err)) && a->currency[0])
		a->fields |= PI_F_CURRENCY;
	if (!rc && !(rc = params_string(p, "description", false, PAYMENT_DESCRIPTION_MAX, &description, err)) &&
	    description) {
		a->fields |= PI_F_DESCRIPTION;
		a->description = strdup(description);
	}
	if (!rc && !(rc = params_string(p, "customer", false, PAYMENT_CUSTOMER_MAX, &customer, err)) &&
	    customer) {
		a->fields |= PI_F_CUSTOMER;
		snprintf(a->customer, sizeof a->customer, "%s", customer);
	}
	if (!rc && !(rc = params_metadata(p, "metadata", &a->metadata, err)) && a->metadata)
		a->fields |= PI_F_METADATA;
	if (!rc && !(rc = params_enum(p, "capture_method", false, capture_methods, &capture, err)) &&
	    capture) {
		a->fields |= PI_F_CAPTURE_METHOD;
		a->capture_method = strcmp(capture, "manual") == 0 ? CAPTURE_MANUAL : CAPTURE_AUTOMATIC;
	}
	if (!rc)
		rc = check_method_types(p, err);
	if (!rc && (json_object_get(p, "receipt_email") || json_object_get(p, "payer_language")))
		rc = read_payer(req, a, err);
	if (!rc && !(rc = methods_resolve(req, p, &a->method, &present, err)) && present)
		a->fields |= PI_F_METHOD;
	return rc;
}

/* Parses, checks with `check` and submits a command of `kind`. */
static void submit(struct request *req, enum engine_cmd_kind kind, const char *const *allowed,
		   int (*check)(struct request *req, struct params_error *err))
{
	struct params_error err = {0};
	if (!http_params(req, allowed))
		return;
	int rc = check(req, &err);
	if (rc) {
		http_params_error(req, &err);
		return;
	}
	bool keyed = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
	json_t *hashed = keyed ? methods_redacted_params(req, req->params) : NULL;
	bool ok = http_prepare_cmd(req, kind, hashed);
	json_decref(hashed);
	if (ok)
		http_submit(req);
}

static int check_create(struct request *req, struct params_error *err)
{
	struct pi_args *a = &req->cmd.pi;
	int rc = read_fields(req, a, true, err);
	if (!rc)
		rc = params_bool(req->params, "confirm", &a->confirm, err);
	return rc;
}

static int check_update(struct request *req, struct params_error *err)
{
	return read_fields(req, &req->cmd.pi, false, err);
}

static int check_confirm(struct request *req, struct params_error *err)
{
	struct pi_args *a = &req->cmd.pi;
	const char *code = NULL;
	int rc = read_fields(req, a, false, err);
	if (!rc)
		rc = params_string(req->params, "verification_code", false, 15, &code, err);
	if (!rc && code) {
		a->fields |= PI_F_VERIFICATION;
		snprintf(a->verification_code, sizeof a->verification_code, "%s", code);
	}
	return rc;
}

static int check_capture(struct request *req, struct params_error *err)
{
	struct pi_args *a = &req->cmd.pi;
	int rc = params_amount(req->params, "amount_to_capture", false, PAYMENT_AMOUNT_MAX,
			       &a->amount_to_capture, err);
	if (!rc && json_object_get(req->params, "amount_to_capture"))
		a->fields |= PI_F_AMOUNT_TO_CAPTURE;
	return rc;
}

static int check_cancel(struct request *req, struct params_error *err)
{
	const char *reason = NULL;
	int rc = params_enum(req->params, "cancellation_reason", false, cancel_reasons, &reason, err);
	if (!rc && reason)
		snprintf(req->cmd.pi.cancellation_reason, sizeof req->cmd.pi.cancellation_reason,
			 "%s", reason);
	return rc;
}

void pi_create(struct request *req)
{
	submit(req, CMD_PI_CREATE, create_params, check_create);
}

void pi_update(struct request *req)
{
	submit(req, CMD_PI_UPDATE, update_params, check_update);
}

void pi_confirm(struct request *req)
{
	submit(req, CMD_PI_CONFIRM, confirm_params, check_confirm);
}

void pi_capture(struct request *req)
{
	submit(req, CMD_PI_CAPTURE, capture_params, check_capture);
}

void pi_cancel(struct request *req)
{
	submit(req, CMD_PI_CANCEL, cancel_params, check_cancel);
}

void pi_retrieve(struct request *req)
{
	if (!http_params(req, retrieve_params))
		return;
	struct store *reader = http_reader(req);
	struct payment_intent pi = {0};
	struct payment_attempt *attempts = calloc(PAYMENT_ATTEMPTS_MAX + 1, sizeof *attempts);
	int n = 0;
	int rc = (reader && attempts) ? reader->ops->intent_get(reader, req->merchant_id, req->id, &pi)
				      : CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK)
		rc = reader->ops->attempt_list(reader, pi.id, attempts, PAYMENT_ATTEMPTS_MAX + 1, &n);
	if (rc == CAT_OK)
		http_text(req, 200, render_intent_text(&pi, attempts, n, req->lang));
	else if (rc == CAT_NO_SUCH_OBJECT)
		http_error(req, rc, "intent", "No such payment_intent.");
	else
		http_error(req, rc, NULL, NULL);
	payment_intent_clear(&pi);
	free(attempts);
}

/* Lists render intents without their attempts (retrieve shows them). */
static json_t *render_listed(const void *record, const char *lang)
{
	return render_intent(record, NULL, 0, lang);
}

static int list_intents(struct store *s, const char *merchant_id, const struct store_page *page,
			store_each_fn each, void *ctx, bool *has_more)
{
	return s->ops->intent_list(s, merchant_id, page, each, ctx, has_more);
}

void pi_list(struct request *req)
{
	struct store_page page;
	if (http_params(req, list_params) && http_page(req, &page))
		http_list(req, list_intents, &page, render_listed, "/v1/payment_intents");
}
