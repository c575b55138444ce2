/* store/store_sqlite: what the SQLite backend shows beyond store.h, for
 * tests and diagnostics only (checking the connection's pragmas, reading
 * a table directly).  Everything else goes through struct store_ops. */
#ifndef PAYD_STORE_STORE_SQLITE_H
#define PAYD_STORE_STORE_SQLITE_H

#include "store/store.h"

struct sqlite3;

/* Busy timeout of every connection: how long a statement waits for a lock
 * held by another connection before failing with SQLITE_BUSY. */
#define STORE_SQLITE_BUSY_TIMEOUT_MS 5000

/* The connection under a store opened by store_sqlite_ops (NULL for any
 * other backend).  Do not write through it. */
struct sqlite3 *store_sqlite_db(struct store *s);

#endif
