/* tests/unit/tmpdb: see tmpdb.h. */
#include "tmpdb.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"

void tmpdb_open(struct tmpdb *t, const char *tag)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/payd-test-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(t->dir), "mkdtemp");
	snprintf(t->db, sizeof t->db, "%s/payd.db", t->dir);
	snprintf(t->log, sizeof t->log, "%s/log.jsonl", t->dir);
	t->log_file = fopen(t->log, "w");
	cr_assert_not_null(t->log_file);
	log_set_output(t->log_file);
}

void tmpdb_remove(struct tmpdb *t)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[160];
	log_set_output(stderr);
	if (t->log_file)
		fclose(t->log_file);
	t->log_file = NULL;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s%s", t->db, suffixes[i]);
		unlink(path);
	}
	unlink(t->log);
	rmdir(t->dir);
}
