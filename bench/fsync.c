/* bench/fsync.c — how long this machine takes to make a small write durable.
 *
 * payd's throughput rests on group commit: every batch costs one fsync of the
 * SQLite WAL, so the fsync latency of the disk under the database bounds how
 * many batches per second the engine can commit.  bench/run compiles this on
 * the fly (cc, no dependencies) and runs it in the benchmark's temp dir, on the
 * same file system as the benchmark's database.
 *
 * Two patterns, each for a fixed time:
 *   overwrite  write 4 KiB inside a preallocated file, then fdatasync
 *              (a WAL being reused after a checkpoint)
 *   append     write 4 KiB at the end of a growing file, then fdatasync
 *              (a WAL growing: the size change needs a journal commit too)
 *
 * Output: one line per pattern,
 *   fsync <pattern> ops=N ops_per_s=X avg_us=A p50_us=B p99_us=C max_us=D
 *
 * usage: fsync DIR [SECONDS_PER_PATTERN]   (default 1 second)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_BYTES 4096
#define PREALLOC_BYTES (1024 * 1024) /* overwrite ring: 256 blocks */
#define MAX_SAMPLES 1000000          /* a limit on the sample array */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int write_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int run(const char *dir, const char *pattern, double seconds, int64_t *samples)
{
	char path[4096];
	int rc = -1, fd = -1;
	static char block[BLOCK_BYTES];
	long n = 0;

	snprintf(path, sizeof path, "%s/fsync-test-%s.bin", dir, pattern);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fsync: open %s: %s\n", path, strerror(errno));
		goto out;
	}
	memset(block, 'x', sizeof block);
	int append = strcmp(pattern, "append") == 0;
	if (!append) {
		for (off_t off = 0; off < PREALLOC_BYTES; off += BLOCK_BYTES)
			if (write_all(fd, block, sizeof block, off) != 0)
				goto io_error;
		if (fsync(fd) != 0)
			goto io_error;
	}

	int64_t end = now_ns() + (int64_t)(seconds * 1e9);
	while (n < MAX_SAMPLES) {
		int64_t t0 = now_ns();
		if (t0 >= end)
			break;
		off_t off = append ? (off_t)n * BLOCK_BYTES
				   : (off_t)(n % (PREALLOC_BYTES / BLOCK_BYTES)) * BLOCK_BYTES;
		block[0] = (char)('a' + n % 26);
		if (write_all(fd, block, sizeof block, off) != 0 || fdatasync(fd) != 0)
			goto io_error;
		samples[n++] = now_ns() - t0;
	}
	if (n == 0)
		goto out;

	int64_t sum = 0;
	for (long i = 0; i < n; i++)
		sum += samples[i];
	qsort(samples, (size_t)n, sizeof *samples, cmp_i64);
	double total_s = (double)sum / 1e9;
	printf("fsync %s ops=%ld ops_per_s=%.0f avg_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
	       pattern, n, (double)n / total_s, (double)sum / (double)n / 1e3,
	       (double)samples[n / 2] / 1e3, (double)samples[(n * 99) / 100] / 1e3,
	       (double)samples[n - 1] / 1e3);
	rc = 0;
	goto out;
io_error:
	fprintf(stderr, "fsync: %s: %s\n", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: fsync DIR [SECONDS_PER_PATTERN]\n");
		return 2;
	}
	double seconds = argc == 3 ? atof(argv[2]) : 1.0;
	if (!(seconds > 0 && seconds <= 60)) {
		fprintf(stderr, "fsync: seconds must be in (0, 60]\n");
		return 2;
	}
	int64_t *samples = malloc(MAX_SAMPLES * sizeof *samples);
	if (!samples)
		return 1;
	int rc = 0;
	if (run(argv[1], "overwrite", seconds, samples) != 0)
		rc = 1;
	if (run(argv[1], "append", seconds, samples) != 0)
		rc = 1;
	free(samples);
	return rc;
}
