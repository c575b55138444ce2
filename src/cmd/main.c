/* cmd/main: `payd SUBCOMMAND [flags]`.  Dispatches through cmd_table;
 * unknown subcommands print the usage and exit 2. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static void usage(FILE *out)
{
	fputs("usage: payd <command> [flags]\n\ncommands:\n", out);
	for (const struct cmd *c = cmd_table; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fputs("\n'payd <command> --help' describes a command.\n", out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		if (argc > 2)
			for (const struct cmd *c = cmd_table; c->name; c++)
				if (strcmp(c->name, argv[2]) == 0) {
					c->usage(stdout);
					return CMD_OK;
				}
		usage(stdout);
		return CMD_OK;
	}
	if (strcmp(name, "--version") == 0)
		return cmd_version(1, (char *[]){"version", NULL});
	for (const struct cmd *c = cmd_table; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "payd: unknown command '%s'\n\n", name);
	usage(stderr);
	return CMD_USAGE;
}
