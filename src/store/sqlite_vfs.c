/* store/sqlite_vfs: a thin VFS over SQLite's default one that gathers the
 * writes to a WAL file and hands them to the kernel in 64 KiB writes at
 * the next sync.  SQLite appends every WAL frame as two writes (a 24-byte
 * header, then the page), so a batch of a hundred pages cost two hundred
 * system calls; now it costs seven, and the bytes on disk are the same.
 * Safety: nothing is acknowledged before xSync, and xSync writes the
 * buffer out before it syncs, so durability is SQLite's own; reads that
 * touch buffered bytes, truncation, locking and close flush first.
 * Every other file (the database, temp files) passes straight through.
 *
 * Deferred sync (a writer opened with ?payd_defer_sync=1): its WAL's xSync
 * only hands the gathered writes to the kernel, still before SQLite
 * publishes the commit to readers, and the store's sync op fdatasyncs the
 * WAL from another thread before anything is acknowledged.  Checkpoints
 * run on a connection of their own whose syncs are real, and a checkpoint
 * syncs the WAL before it copies from it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

#define WALBUF_CAP (8 * 1024 * 1024) /* bytes gathered before an early flush */
#define WALBUF_CHUNK (64 * 1024)      /* bytes per write system call */

struct walbuf_file {
	sqlite3_file base;     /* our methods */
	sqlite3_file *real;    /* the default VFS's file, allocated after us */
	bool is_wal;
	bool defer_sync;       /* xSync only flushes: the store's sync makes it durable */
	sqlite3_int64 start;   /* file offset of the buffered run */
	size_t len;            /* bytes buffered */
	char *buf;
};

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *default_vfs;
static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;

/* Writes the buffer out in WALBUF_CHUNK pieces: the unix VFS takes at
 * most 128 KiB per write. */
static int flush(struct walbuf_file *f)
{
	int rc = SQLITE_OK;
	for (size_t done = 0; done < f->len && rc == SQLITE_OK; done += WALBUF_CHUNK) {
		size_t n = f->len - done < WALBUF_CHUNK ? f->len - done : WALBUF_CHUNK;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->start + (sqlite3_int64)done);
	}
	f->len = 0;
	return rc;
}

static int wb_close(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);
	int rc2 = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
	free(f->buf);
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *out, int amount, sqlite3_int64 offset)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	if (f->len && offset < f->start + (sqlite3_int64)f->len && offset + amount > f->start) {
		int rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	return f->real->pMethods->xRead(f->real, out, amount, offset);
}

static int wb_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	if (!f->is_wal || amount <= 0)
		return f->real->pMethods->xWrite(f->real, data, amount, offset);
	sqlite3_int64 end = f->start + (sqlite3_int64)f->len;
	if (f->len && offset >= f->start && offset + amount <= end) { /* a frame rewritten */
		memcpy(f->buf + (offset - f->start), data, (size_t)amount);
		return SQLITE_OK;
	}
	if (f->len && (offset != end || f->len + (size_t)amount > WALBUF_CAP)) {
		int rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t)amount > WALBUF_CAP)
		return f->real->pMethods->xWrite(f->real, data, amount, offset);
	if (!f->buf && !(f->buf = malloc(WALBUF_CAP))) /* readers never write: no buffer */
		return f->real->pMethods->xWrite(f->real, data, amount, offset);
	if (f->len == 0)
		f->start = offset;
	memcpy(f->buf + f->len, data, (size_t)amount);
	f->len += (size_t)amount;
	return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);
	if (rc != SQLITE_OK || f->defer_sync)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = f->real->pMethods->xFileSize(f->real, size);
	sqlite3_int64 end = f->start + (sqlite3_int64)f->len;
	if (rc == SQLITE_OK && f->len && end > *size)
		*size = end;
	return rc;
}

/* Everything else goes straight to the real file (after a flush where
 * another process or connection could look). */
static int wb_lock(sqlite3_file *file, int lock)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xLock(f->real, lock);
}

static int wb_unlock(sqlite3_file *file, int lock)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);
	int rc2 = f->real->pMethods->xUnlock(f->real, lock);
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_check_lock(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device_chars(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wb_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);
	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFetch(f->real, offset, amount, out);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *p)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xUnfetch(f->real, offset, p);
}

static const sqlite3_io_methods walbuf_methods = {
	3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,
	wb_check_lock, wb_file_control, wb_sector_size, wb_device_chars, wb_shm_map, wb_shm_lock,
	wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		   int *out_flags)
{
	(void)vfs;
	struct walbuf_file *f = (struct walbuf_file *)file;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	int rc = default_vfs->xOpen(default_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;
	f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
	f->defer_sync = f->is_wal && name && sqlite3_uri_boolean(name, SQ_VFS_DEFER_PARAM, 0);
	f->base.pMethods = &walbuf_methods;
	return SQLITE_OK;
}

static void walbuf_register(void)
{
	/* Before SQLite initialises: no global statistics on every malloc
	 * (they take a process-wide mutex). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	default_vfs = sqlite3_vfs_find(NULL);
	walbuf_vfs = *default_vfs;
	walbuf_vfs.zName = SQ_VFS_NAME;
	walbuf_vfs.szOsFile = (int)sizeof(struct walbuf_file) + default_vfs->szOsFile;
	walbuf_vfs.xOpen = wb_open;
	walbuf_vfs.pNext = NULL;
	sqlite3_vfs_register(&walbuf_vfs, 0);
}

const char *sq_vfs_name(void)
{
	pthread_once(&walbuf_once, walbuf_register);
	return SQ_VFS_NAME;
}
