/* cmd/cmd: the subcommands of the payd binary.  Each takes argv as it
 * stands after the subcommand's name (argv[0] is the subcommand) and
 * returns the process exit status: 0 success, 1 failure, 2 usage error. */
#ifndef PAYD_CMD_CMD_H
#define PAYD_CMD_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define PAYD_VERSION "0.1.0"

enum cmd_status { CMD_OK = 0, CMD_FAILED = 1, CMD_USAGE = 2 };

struct cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);
};

int cmd_codes(int argc, char **argv);
void cmd_codes_usage(FILE *out);
int cmd_keys(int argc, char **argv);
void cmd_keys_usage(FILE *out);
int cmd_serve(int argc, char **argv);
void cmd_serve_usage(FILE *out);
int cmd_check_books(int argc, char **argv);
void cmd_check_books_usage(FILE *out);
int cmd_demo(int argc, char **argv);
void cmd_demo_usage(FILE *out);
int cmd_version(int argc, char **argv);
void cmd_version_usage(FILE *out);

/* http_client.c: a blocking HTTP exchange.  body NULL: GET, else POST
 * (a form, or JSON with json_body).  Returns the status (0: no answer)
 * and the answer in *out (heap, NUL-terminated, NULL when empty). */
struct cmd_http_req {
	const char *url;
	const char *key; /* Bearer key, or NULL */
	const char *body;
	bool json_body;
	size_t max_body; /* a longer answer counts as none */
	long timeout_s;  /* 0: 30 s */
};
long cmd_http(const struct cmd_http_req *req, char **out);

/* check_books.c: payd's books against payd-sim's. */
struct books_report {
	long matched;           /* sim charges matching exactly one paid payd attempt */
	long charged_twice;     /* a reference (or a payment) charged more than once */
	long missing;           /* paid in payd, no charge at the channel */
	long unmatched_charges; /* charged at the channel, not paid in payd */
	long sim_charges, payd_paid;
	long acked, acked_missing; /* acknowledged as succeeded, not in both books */
	/* payouts (check_payouts.c) */
	long payouts_matched;        /* executed at a rail, and so in payd */
	long payouts_executed_twice; /* a rail executed a reference more than once */
	long payouts_unmatched;      /* at a rail, not (or not so) in payd */
	long payouts_missing;        /* paid in payd, not at any rail */
	long payouts_paid, payouts_failed, payouts_returned; /* payd's counts */
	bool ledger_balanced;
};
int books_check(const char *db_path, const char *sim_url, const char *acked_path,
		struct books_report *r, char *err, size_t err_cap);
bool books_ok(const struct books_report *r);
struct sqlite3;
void books_check_payouts(struct sqlite3 *db, json_t *books, struct books_report *r);
json_t *books_report_json(const struct books_report *r);

/* The table of subcommands, for `payd help`; NULL-terminated by name. */
extern const struct cmd cmd_table[];

/* True when argv holds -h or --help (subcommands answer it before
 * anything else). */
int cmd_wants_help(int argc, char **argv);

#endif
