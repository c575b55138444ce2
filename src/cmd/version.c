/* cmd/version: `payd version`. */
#include "cmd/cmd.h"
#include "store/schema.h"

void cmd_version_usage(FILE *out)
{
	fputs("usage: payd version\n\nPrints payd's version and the newest database schema it knows.\n", out);
}

int cmd_version(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		cmd_version_usage(stdout);
		return CMD_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "payd version: unexpected argument '%s'\n", argv[1]);
		cmd_version_usage(stderr);
		return CMD_USAGE;
	}
	printf("payd %s (schema %d)\n", PAYD_VERSION, store_migration_count);
	return CMD_OK;
}
