/* cmd/codes: `payd codes` prints the error catalog as a table, as JSON
 * (--json, for machines and the dashboard) or as the Markdown of
 * docs/ERRORS.md (--markdown, used by `make docs`). */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/catalog.h"

void cmd_codes_usage(FILE *out)
{
	fputs("usage: payd codes [--json | --markdown] [--lang en|zh-CN]\n\n"
	      "Prints payd's error catalog: every code, its slug, Stripe error type,\n"
	      "HTTP status, retry class and the payer's message.\n\n"
	      "  --json        an array of objects (code, slug, type, http_status, retry,\n"
	      "                message_en, message_zh, advice, ...)\n"
	      "  --markdown    the text of docs/ERRORS.md\n"
	      "  --lang TAG    payer messages in this language in the table (default en)\n",
	      out);
}

static json_t *entry_json(const struct catalog_entry *e)
{
	return json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "code", e->code,
			 "name", e->name, "slug", e->slug, "type", catalog_type_name(e->type),
			 "http_status", e->http_status, "retry", catalog_retry_name(e->retry),
			 "stripe_code", e->stripe_code, "description", e->description, "message_en",
			 e->message_en, "message_zh", e->message_zh, "advice", e->advice);
}

static int print_json(void)
{
	json_t *all = json_array();
	for (size_t i = 0; i < catalog_count(); i++)
		json_array_append_new(all, entry_json(catalog_at(i)));
	int rc = json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(all);
	fputc('\n', stdout);
	return rc == 0 ? CMD_OK : CMD_FAILED;
}

static void print_table(const char *lang)
{
	int family = 0;
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct catalog_entry *e = catalog_at(i);
		if (e->code / 100 != family) {
			family = e->code / 100;
			printf("%s%dxx  %s\n", i ? "\n" : "", family, catalog_family_name(e->code));
			printf("code http %-22s %-18s %s\n", "type", "retry", "slug");
		}
		printf("%-4d %-4d %-22s %-18s %s\n", e->code, e->http_status,
		       catalog_type_name(e->type), catalog_retry_name(e->retry), e->slug);
		printf("     %s\n", catalog_message(e, lang));
	}
}

/* Markdown table cells: no raw '|' or newline may break the row. */
static void md_cell(const char *text)
{
	fputs(" ", stdout);
	for (const char *p = text; *p; p++) {
		if (*p == '|')
			fputs("\\|", stdout);
		else if (*p == '\n')
			fputs(" ", stdout);
		else
			fputc(*p, stdout);
	}
	fputs(" |", stdout);
}

static void print_markdown(void)
{
	puts("# payd error catalog\n\n"
	     "Generated from `src/core/catalog.def` by `make docs`; do not edit by hand\n"
	     "(a test fails when this file is stale). Every error payd returns carries its\n"
	     "`payd_code`, Stripe's `type` and `code` (and `decline_code` for card errors),\n"
	     "and a `user_message` for the payer in English or Simplified Chinese chosen by\n"
	     "`Accept-Language`.\n\n"
	     "Retry classes: **never** (the same request cannot succeed), **later** (the same\n"
	     "channel may succeed later), **other_channel** (not executed: safe to fail over\n"
	     "now), **after_verification** (the payer must verify first), **resolve_first**\n"
	     "(outcome unknown: payd queries the channel before anything else).\n\n"
	     "Lost and stolen cards and risk blocks show the payer the generic decline text:\n"
	     "the real reason is for the merchant only (`decline_code` and the description).");
	int family = 0;
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct catalog_entry *e = catalog_at(i);
		if (e->code / 100 != family) {
			family = e->code / 100;
			printf("\n## %dxx — %s\n\n", family, catalog_family_name(e->code));
			puts("| code | slug | Stripe code | type | HTTP | retry | meaning (merchant) | "
			     "payer (en) | payer (zh) | advice |");
			puts("|---|---|---|---|---|---|---|---|---|---|");
		}
		printf("| %d |", e->code);
		md_cell(e->slug);
		md_cell(e->stripe_code);
		md_cell(catalog_type_name(e->type));
		printf(" %d |", e->http_status);
		md_cell(catalog_retry_name(e->retry));
		md_cell(e->description);
		md_cell(e->message_en);
		md_cell(e->message_zh);
		md_cell(e->advice);
		fputc('\n', stdout);
	}
}

int cmd_codes(int argc, char **argv)
{
	enum { TABLE, JSON, MARKDOWN } format = TABLE;
	const char *lang = "en";
	static const struct option options[] = {
		{"json", no_argument, NULL, 'j'},   {"markdown", no_argument, NULL, 'm'},
		{"lang", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		switch (opt) {
		case 'j': format = JSON; break;
		case 'm': format = MARKDOWN; break;
		case 'l': lang = optarg; break;
		case 'h': cmd_codes_usage(stdout); return CMD_OK;
		default: cmd_codes_usage(stderr); return CMD_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "payd codes: unexpected argument '%s'\n", argv[optind]);
		cmd_codes_usage(stderr);
		return CMD_USAGE;
	}
	if (format == JSON)
		return print_json();
	if (format == MARKDOWN)
		print_markdown();
	else
		print_table(lang);
	return fflush(stdout) == 0 ? CMD_OK : CMD_FAILED;
}
