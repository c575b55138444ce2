/* store/sqlite_checkpoint: WAL checkpoints off the writer's thread.
 * SQLite checkpoints by default inside the COMMIT that crosses the WAL's
 * size threshold, so one batch in a thousand stalls the engine while a few
 * megabytes are copied and fsynced.  Here the writer's connection has
 * automatic checkpoints off; its WAL hook wakes a thread of its own, which
 * runs a PASSIVE checkpoint through a second connection (never blocking
 * the writer or the readers) once the WAL holds SQ_CHECKPOINT_PAGES pages.
 * Durability does not depend on this: a commit is durable once the WAL is
 * synced; checkpoints only bound the WAL's size. */
#include <pthread.h>
#include <stdlib.h>

#include "base/log.h"
#include "core/catalog.h"
#include "store/sqlite_internal.h"

#define SQ_CHECKPOINT_PAGES 16000 /* ~64 MiB of WAL: hot pages are copied once per checkpoint */

struct sq_checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	sqlite3 *db;
	bool due, stopping;
};

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int pages)
{
	(void)db, (void)name;
	struct sq_checkpointer *c = ctx;
	if (pages >= SQ_CHECKPOINT_PAGES) {
		pthread_mutex_lock(&c->lock);
		if (!c->due) {
			c->due = true;
			pthread_cond_signal(&c->wake);
		}
		pthread_mutex_unlock(&c->lock);
	}
	return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
	struct sq_checkpointer *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->due && !c->stopping)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stopping)
			break;
		c->due = false;
		pthread_mutex_unlock(&c->lock);
		int log_pages = 0, done_pages = 0;
		int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages,
						   &done_pages);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_msg(LOG_WARN, "store_checkpoint_failed", "%s", sqlite3_errmsg(c->db));
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int sq_checkpointer_start(struct sq_store *s, const char *path)
{
	struct sq_checkpointer *c = calloc(1, sizeof *c);
	if (!c)
		return CAT_INTERNAL;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, sq_vfs_name()) !=
		    SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000", NULL, NULL,
			 NULL) != SQLITE_OK) {
		log_msg(LOG_ERROR, "store_checkpointer_failed", "%s",
			c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return CAT_STORAGE_UNAVAILABLE;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		sqlite3_close(c->db);
		free(c);
		return CAT_INTERNAL;
	}
	sqlite3_wal_autocheckpoint(s->db, 0);
	sqlite3_wal_hook(s->db, wal_hook, c);
	s->checkpointer = c;
	return CAT_OK;
}

void sq_checkpointer_stop(struct sq_store *s)
{
	struct sq_checkpointer *c = s->checkpointer;
	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
	s->checkpointer = NULL;
}
