/* api/recipients: /v1/recipients — create, retrieve, list — and the
 * parsing of a bank account given in a request (recipients and inline
 * payout destinations share it).  The account number is checked here
 * (length, characters, the country's check digits) and handed to the
 * engine, which seals it; it is never logged or stored in clear. */
#include <string.h>

#include "api/http.h"
#include "channel/card.h"
#include "core/bank_account.h"
#include "core/catalog.h"
#include "core/render.h"
#include "notify/mail.h"

static const char *const create_params[] = {"name", "currency", "bank_account", "metadata",
					    "email", "preferred_language", "expand", NULL};
static const char *const languages[] = {"en", "zh-CN", NULL};
static const char *const account_params[] = {"account_number", "account_holder_name",
					     "routing_number", "bank_code", "country", "object",
					     NULL};
static const char *const list_params[] = {"limit", "starting_after", "ending_before", "expand",
					  NULL};
static const char *const retrieve_params[] = {"expand", NULL};

/* One string member of bank_account, named bank_account[name] in errors. */
static int account_field(json_t *acct, const char *name, bool required, size_t max,
			 char *out, size_t cap, struct params_error *err)
{
	const char *value = NULL;
	int rc = params_string(acct, name, required, max, &value, err);
	if (rc) {
		snprintf(err->param, sizeof err->param, "bank_account[%s]", name);
		return rc;
	}
	snprintf(out, cap, "%s", value ? value : "");
	return CAT_OK;
}

int api_bank_account(json_t *params, struct bank_dest *out, struct params_error *err)
{
	json_t *acct = json_object_get(params, "bank_account");
	if (!json_is_object(acct))
		return params_fail(err, acct ? CAT_PARAMETER_INVALID : CAT_PARAMETER_MISSING,
				   "bank_account", "bank_account must give the account_number, "
				   "account_holder_name and country of the bank account.");
	const char *number = NULL;
	int rc = params_only(acct, account_params, err);
	if (!rc && (rc = params_string(acct, "account_number", true, BANK_ACCOUNT_INPUT_MAX,
				       &number, err)))
		snprintf(err->param, sizeof err->param, "bank_account[account_number]");
	if (!rc)
		rc = account_field(acct, "account_holder_name", true, PAYOUT_HOLDER_MAX - 1,
				   out->holder_name, sizeof out->holder_name, err);
	if (!rc)
		rc = account_field(acct, "country", true, 2, out->country, sizeof out->country, err);
	/* The rails route by the bank's code: routing_number (US) or bank_code. */
	if (!rc && json_object_get(acct, "routing_number"))
		rc = account_field(acct, "routing_number", true, PAYOUT_BANK_CODE_MAX - 1,
				   out->bank_code, sizeof out->bank_code, err);
	else if (!rc)
		rc = account_field(acct, "bank_code", true, PAYOUT_BANK_CODE_MAX - 1,
				   out->bank_code, sizeof out->bank_code, err);
	for (char *c = out->country; !rc && *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
	char part[32] = "";
	if (!rc && (rc = bank_account_check(out->country, out->bank_code, number, part,
					    sizeof part)))
		params_fail(err, rc, NULL, "The bank account is not valid: check its %s.",
			    part[0] ? part : "number");
	if (rc && part[0])
		snprintf(err->param, sizeof err->param, "bank_account[%s]", part);
	/* normalised (no spaces, upper case): checked to fit, never cut */
	if (!rc && bank_account_normalize(number, out->number, sizeof out->number) != 0)
		rc = params_fail(err, CAT_PARAMETER_INVALID, "bank_account[account_number]",
				 "The account number is too long.");
	return rc;
}

json_t *api_redacted_account(struct request *req, const json_t *params)
{
	json_t *copy = json_deep_copy(params);
	json_t *acct = json_object_get(copy, "bank_account");
	json_t *number = json_object_get(acct, "account_number");
	if (json_is_string(number)) {
		char fp[24];
		card_fingerprint(req->srv->fingerprint_key, json_string_value(number), fp);
		json_object_set_new(acct, "account_number", json_string(fp));
	}
	return copy;
}

/* email (told about the recipient's payouts) and preferred_language (of
 * those e-mails; by default the request's Accept-Language). */
static int read_contact(struct request *req, struct recipient_args *a, struct params_error *err)
{
	const char *email = NULL, *language = NULL;
	int rc = params_string(req->params, "email", false, PAYMENT_EMAIL_MAX, &email, err);
	if (!rc && email && !mail_address_valid(email))
		rc = params_fail(err, CAT_PARAMETER_INVALID, "email",
				 "email must be one e-mail address (name@example.com).");
	if (!rc)
		rc = params_enum(req->params, "preferred_language", false, languages, &language, err);
	if (rc || !email)
		return rc;
	snprintf(a->email, sizeof a->email, "%s", email);
	snprintf(a->preferred_language, sizeof a->preferred_language, "%s",
		 language ? language : catalog_prefers_chinese(req->lang) ? "zh-CN" : "en");
	return CAT_OK;
}

void recipient_create(struct request *req)
{
	struct params_error err = {0};
	if (!http_params(req, create_params))
		return;
	struct recipient_args *a = &req->cmd.recipient;
	const char *name = NULL;
	int rc = params_string(req->params, "name", true, PAYOUT_HOLDER_MAX - 1, &name, &err);
	if (!rc)
		rc = params_currency(req->params, true, a->currency, &err);
	if (!rc)
		rc = api_bank_account(req->params, &a->account, &err);
	if (!rc)
		rc = params_metadata(req->params, "metadata", &a->metadata, &err);
	if (!rc)
		rc = read_contact(req, a, &err);
	if (rc) {
		http_params_error(req, &err);
		return;
	}
	snprintf(a->name, sizeof a->name, "%s", name);
	json_t *redacted = api_redacted_account(req, req->params);
	if (http_prepare_cmd(req, CMD_RECIPIENT_CREATE, redacted))
		http_submit(req);
	json_decref(redacted);
}

void recipient_retrieve(struct request *req)
{
	if (!http_params(req, retrieve_params))
		return;
	struct store *reader = http_reader(req);
	struct recipient r = {0};
	int rc = reader ? reader->ops->recipient_get(reader, req->merchant_id, req->id, &r)
			: CAT_STORAGE_UNAVAILABLE;
	if (rc == CAT_OK)
		http_json(req, 200, render_recipient(&r));
	else
		http_read_error(req, rc, "recipient", "No such recipient.");
	recipient_clear(&r);
}

static json_t *render_listed(const void *record, const char *lang)
{
	(void)lang;
	return render_recipient(record);
}

static int list_recipients(struct store *s, const char *merchant_id,
			   const struct store_page *page, store_each_fn each, void *ctx,
			   bool *has_more)
{
	return s->ops->recipient_list(s, merchant_id, page, each, ctx, has_more);
}

void recipient_list(struct request *req)
{
	struct store_page page;
	if (!http_params(req, list_params) || !http_page(req, &page))
		return;
	http_list(req, list_recipients, &page, render_listed, "/v1/recipients");
}
