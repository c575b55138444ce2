/* api/methods: turns a request's payment method into what payd keeps.
 * `payment_method` names a saved or test method (pm_card_visa, ...);
 * `payment_method_data` carries a raw card or a wallet.  A raw card number
 * lives only on this stack frame: it is checked, tokenized by the channel,
 * fingerprinted with the installation's key, and wiped. */
#include <string.h>

#include "api/http.h"
#include "channel/card.h"
#include "core/catalog.h"

static const char *const data_fields[] = {"type", "card", "alipay", "wechat_pay",
					  "billing_details", "metadata", NULL};
static const char *const card_fields[] = {"number", "exp_month", "exp_year", "cvc", NULL};
static const char *const wallet_fields[] = {"test_outcome", NULL};

static int int_field(json_t *obj, const char *name, const char *param, int *out,
		     struct params_error *err)
{
	int64_t v = 0;
	int rc = params_int64(obj, name, true, &v, err);
	if (rc == CAT_OK && (v < 0 || v > 9999))
		rc = params_fail(err, CAT_PARAMETER_INVALID, param, "Invalid %s.", param);
	if (rc)
		snprintf(err->param, sizeof err->param, "%s", param);
	*out = (int)v;
	return rc;
}

static int read_card(json_t *card, struct card_input *in, struct params_error *err)
{
	const char *number = NULL, *cvc = NULL;
	int rc = params_only(card, card_fields, err);
	if (!rc)
		rc = params_string(card, "number", true, 32, &number, err);
	if (!rc)
		rc = int_field(card, "exp_month", "payment_method_data[card][exp_month]",
			       &in->exp_month, err);
	if (!rc)
		rc = int_field(card, "exp_year", "payment_method_data[card][exp_year]",
			       &in->exp_year, err);
	if (!rc)
		rc = params_string(card, "cvc", false, 4, &cvc, err);
	if (rc) {
		if (strncmp(err->param, "payment_method_data", 19) != 0) {
			char inner[PARAMS_NAME_MAX + 1];
			snprintf(inner, sizeof inner, "%s", err->param);
			snprintf(err->param, sizeof err->param, "payment_method_data[card][%.200s]", inner);
		}
		return rc;
	}
	size_t n = 0; /* digits only; spaces and dashes as people type them */
	for (const char *p = number; *p && n + 1 < sizeof in->number; p++)
		if (*p != ' ' && *p != '-')
			in->number[n++] = *p;
	in->number[n] = '\0';
	snprintf(in->cvc, sizeof in->cvc, "%s", cvc ? cvc : "");
	if (cvc && card_check_cvc(cvc))
		return params_fail(err, CAT_INCORRECT_CVC, "payment_method_data[card][cvc]",
				   "Your card's security code is invalid.");
	return CAT_OK;
}

static int raw_card(struct request *req, json_t *card, struct payment_method *out,
		    struct params_error *err)
{
	if (!json_is_object(card))
		return params_fail(err, CAT_PARAMETER_MISSING, "payment_method_data[card]",
				   "payment_method_data[card] is required for type card.");
	struct card_input in = {0};
	int rc = read_card(card, &in, err);
	if (rc == CAT_OK) {
		rc = req->srv->sandbox->ops->tokenize_card(req->srv->sandbox, &in, out);
		if (rc)
			params_fail(err, rc, "payment_method_data[card][number]", "%s",
				    rc == CAT_EXPIRED_CARD ? "Your card has expired."
				    : rc == CAT_INCORRECT_NUMBER ? "Your card number is incorrect."
								 : "Your card's details are invalid.");
	}
	if (rc == CAT_OK) {
		card_fingerprint(req->srv->fingerprint_key, in.number, out->fingerprint);
		id_new(&req->srv->ids, ID_PAYMENT_METHOD, out->id);
	}
	card_wipe(&in);
	return rc;
}

static int wallet(struct request *req, enum pm_type type, json_t *data, struct payment_method *out,
		  struct params_error *err)
{
	json_t *w = json_object_get(data, pm_type_name(type));
	const char *outcome = NULL;
	int rc = CAT_OK;
	if (w && !json_is_object(w))
		return params_fail(err, CAT_PARAMETER_INVALID, "payment_method_data",
				   "payment_method_data[%s] must be an object.", pm_type_name(type));
	if (w && !(rc = params_only(w, wallet_fields, err)))
		rc = params_string(w, "test_outcome", false, 32, &outcome, err);
	if (!rc)
		rc = req->srv->sandbox->ops->wallet_method(req->srv->sandbox, type, outcome, out);
	if (rc) {
		snprintf(err->param, sizeof err->param, "payment_method_data[%s][test_outcome]",
			 pm_type_name(type));
		err->code = rc;
		snprintf(err->message, sizeof err->message,
			 "Unknown test_outcome; see docs/SANDBOX.md for the wallet outcomes.");
		return rc;
	}
	id_new(&req->srv->ids, ID_PAYMENT_METHOD, out->id);
	return CAT_OK;
}

static int from_data(struct request *req, json_t *data, struct payment_method *out,
		     struct params_error *err)
{
	const char *type_name = NULL;
	if (!json_is_object(data))
		return params_fail(err, CAT_PARAMETER_INVALID, "payment_method_data",
				   "payment_method_data must be an object.");
	int rc = params_only(data, data_fields, err);
	if (!rc)
		rc = params_string(data, "type", true, 32, &type_name, err);
	if (rc) {
		char inner[PARAMS_NAME_MAX + 1];
		snprintf(inner, sizeof inner, "%s", err->param);
		snprintf(err->param, sizeof err->param, "payment_method_data[%.200s]", inner);
		return rc;
	}
	int type = pm_type_parse(type_name);
	if (type == PM_CARD)
		return raw_card(req, json_object_get(data, "card"), out, err);
	if (type == PM_ALIPAY || type == PM_WECHAT_PAY)
		return wallet(req, (enum pm_type)type, data, out, err);
	return params_fail(err, CAT_PARAMETER_INVALID, "payment_method_data[type]",
			   "Unsupported payment method type '%s' (card, alipay, wechat_pay).",
			   type_name);
}

int methods_resolve(struct request *req, json_t *params, struct payment_method *out,
		    bool *present, struct params_error *err)
{
	const char *pm_id = NULL;
	json_t *data = json_object_get(params, "payment_method_data");
	int rc = params_string(params, "payment_method", false, PAYMENT_METHOD_ID_MAX - 1, &pm_id, err);
	*present = false;
	if (rc)
		return rc;
	if (pm_id && data)
		return params_fail(err, CAT_PARAMETER_INVALID, "payment_method_data",
				   "Pass either payment_method or payment_method_data, not both.");
	if (pm_id) {
		rc = req->srv->sandbox->ops->lookup_method(req->srv->sandbox, pm_id, out);
		if (rc)
			return params_fail(err, rc, "payment_method", "No such PaymentMethod: '%s'",
					   pm_id);
	} else if (data) {
		if ((rc = from_data(req, data, out, err)))
			return rc;
	} else {
		return CAT_OK;
	}
	*present = true;
	return CAT_OK;
}

json_t *methods_redacted_params(struct request *req, const json_t *params)
{
	json_t *copy = json_deep_copy(params);
	json_t *card = json_object_get(json_object_get(copy, "payment_method_data"), "card");
	json_t *number = json_object_get(card, "number");
	if (json_is_string(number)) {
		char fp[24];
		card_fingerprint(req->srv->fingerprint_key, json_string_value(number), fp);
		json_object_set_new(card, "number", json_string(fp));
	}
	json_t *cvc = json_object_get(card, "cvc");
	if (json_is_string(cvc)) {
		char fp[24];
		card_fingerprint(req->srv->fingerprint_key, json_string_value(cvc), fp);
		json_object_set_new(card, "cvc", json_string(fp));
	}
	return copy;
}
