/* tests/unit/tmpdb: a fresh temporary directory for one test's database,
 * with payd's log sent to a file in it (refusals are logged; they would
 * clutter the report), and its removal, WAL files and all. */
#ifndef PAYD_TESTS_TMPDB_H
#define PAYD_TESTS_TMPDB_H

#include <stdio.h>

struct tmpdb {
	char dir[64];
	char db[128];  /* dir/payd.db */
	char log[128]; /* dir/log.jsonl */
	FILE *log_file;
};

void tmpdb_open(struct tmpdb *t, const char *tag);
void tmpdb_remove(struct tmpdb *t);

#endif
