/* cmd/table: the list of subcommands and shared flag helpers. */
#include <string.h>

#include "cmd/cmd.h"

const struct cmd cmd_table[] = {
	{"check-books", "compare payd's books with payd-sim's and audit the ledger", cmd_check_books,
	 cmd_check_books_usage},
	{"codes", "print the error catalog (table, --json or --markdown)", cmd_codes, cmd_codes_usage},
	{"demo", "payd-sim and payd with a minute of mixed traffic and an outage", cmd_demo,
	 cmd_demo_usage},
	{"keys", "create API keys for a merchant", cmd_keys, cmd_keys_usage},
	{"serve", "run the HTTP API", cmd_serve, cmd_serve_usage},
	{"version", "print payd's version", cmd_version, cmd_version_usage},
	{NULL, NULL, NULL, NULL},
};

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}
