/* store/schema: the numbered migrations, generated into
 * build/gen/schema_sql.c from src/store/schema/NNNN_name.sql by
 * scripts/embed-sql.  Migration N moves a database from user_version N-1 to
 * N; they are applied in order, each in its own transaction. */
#ifndef PAYD_STORE_SCHEMA_H
#define PAYD_STORE_SCHEMA_H

struct store_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const int store_migration_count;

#endif
