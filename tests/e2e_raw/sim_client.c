/* tests/e2e_raw/sim_client: payd-sim for the tests that drive it -- the
 * process (start with a scenario in a mkdtemp directory, the ready file,
 * SIGTERM), signed libcurl requests to its channels, its admin endpoint,
 * and the tiny callback receiver.  See sim_client.h. */
#include "sim_client.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "harness.h"

#define RX_REQ_MAX 8192 /* one callback request, headers and body */
#define RX_IO_TIMEOUT_S 2
#define RX_POLL_MS 50

/* ---- process ------------------------------------------------------------ */

long sim_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sim_bin(void)
{
	const char *b = getenv("SIM_BIN");
	return b && *b ? b : "build/payd-sim";
}

void sim_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "open %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

pid_t sim_spawn(const struct sim *s, char *const argv[])
{
	pid_t pid = h_fork();
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);
		int err = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static bool ready_loaded(void *ctx)
{
	struct sim *s = ctx;
	s->urls = json_load_file(s->ready, 0, NULL);
	return s->urls != NULL || waitpid(s->pid, NULL, WNOHANG) == s->pid;
}

bool sim_launch(struct sim *s)
{
	char *argv[] = {(char *)sim_bin(), "--scenario", s->path, "--listen", "127.0.0.1:0",
			"--ready-file", s->ready, NULL};
	s->pid = sim_spawn(s, argv);
	poll_until(ready_loaded, s, SIM_START_MS, SIM_POLL_MS);
	return s->urls != NULL;
}

void sim_start(struct sim *s, const char *prefix, const char *scenario)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(s, 0, sizeof *s);
	s->exit_status = -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(s->dir, sizeof s->dir, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	cr_assert(mkdtemp(s->dir), "mkdtemp: %s", strerror(errno));
	snprintf(s->path, sizeof s->path, "%s/scenario.json", s->dir);
	snprintf(s->ready, sizeof s->ready, "%s/ready.json", s->dir);
	snprintf(s->log, sizeof s->log, "%s/sim.log", s->dir);
	sim_write_text(s->path, scenario);
	cr_assert(sim_launch(s), "payd-sim (%s) wrote no ready file", sim_bin());
}

int sim_stop(struct sim *s)
{
	int status = -1;
	if (s->pid <= 0)
		return s->exit_status;
	kill(s->pid, SIGTERM);
	long deadline = sim_mono_ms() + SIM_STOP_MS;
	while (waitpid(s->pid, &status, WNOHANG) != s->pid) {
		if (sim_mono_ms() > deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			status = -2;
			break;
		}
		poll(NULL, 0, SIM_POLL_MS);
	}
	s->pid = 0;
	s->exit_status = status;
	return status;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void sim_finish(struct sim *s, int status)
{
	json_decref(s->urls);
	s->urls = NULL;
	char log[2048] = "";
	FILE *f = fopen(s->log, "r");
	if (f) {
		log[fread(log, 1, sizeof log - 1, f)] = '\0';
		fclose(f);
	}
	if (s->dir[0] && !getenv("PAYD_E2E_KEEP"))
		nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "payd-sim did not exit 0 on SIGTERM (status %d); stderr:\n%s", status, log);
}

int sim_run_bad(struct sim *s, const char *scenario_text, const char *flag, char *err,
		size_t cap)
{
	char path[SIM_DIR_MAX + 32];
	snprintf(path, sizeof path, "%s/bad.json", s->dir);
	sim_write_text(path, scenario_text);
	char *argv[] = {(char *)sim_bin(), "--scenario", path, "--listen", "127.0.0.1:0",
			(char *)flag, NULL};
	char log_keep[sizeof s->log];
	memcpy(log_keep, s->log, sizeof log_keep);
	snprintf(s->log, sizeof s->log, "%s/bad.log", s->dir);
	pid_t pid = sim_spawn(s, argv);
	int status = 0;
	waitpid(pid, &status, 0);
	FILE *f = fopen(s->log, "r");
	err[0] = '\0';
	if (f) {
		err[fread(err, 1, cap - 1, f)] = '\0';
		fclose(f);
	}
	memcpy(s->log, log_keep, sizeof log_keep);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- HTTP --------------------------------------------------------------- */

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct sim_resp *r = ctx;
	size_t len = size * n, keep = len;
	if (r->len + keep > sizeof r->body - 1)
		keep = sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, data, keep);
	r->len += keep;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_head(char *data, size_t size, size_t n, void *ctx)
{
	struct sim_resp *r = ctx;
	size_t len = size * n;
	const char *name = "X-Payd-Signature:";
	if (len > strlen(name) && strncasecmp(data, name, strlen(name)) == 0)
		snprintf(r->sig, sizeof r->sig, "%.*s", (int)strcspn(data + strlen(name) + 1, "\r\n"),
			 data + strlen(name) + 1);
	return len;
}

void sim_http(const char *url, const char *body, const char *header, long timeout_ms,
	      struct sim_resp *r)
{
	memset(r, 0, sizeof *r);
	CURL *c = curl_easy_init();
	cr_assert(c);
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	h = curl_slist_append(h, "Content-Type: application/json");
	if (header)
		h = curl_slist_append(h, header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : SIM_HTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	r->curl_code = (int)curl_easy_perform(c);
	if (r->curl_code == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	r->json = r->len ? json_loads(r->body, 0, NULL) : NULL;
}

void sim_resp_free(struct sim_resp *r)
{
	json_decref(r->json);
	r->json = NULL;
}

const char *sim_str(const struct sim_resp *r, const char *field)
{
	const char *s = json_string_value(json_object_get(r->json, field));
	return s ? s : "";
}

void sim_sign(const char *secret, long t, const char *body, size_t len, char out[200])
{
	char *msg = malloc(len + 32);
	cr_assert(msg);
	int n = snprintf(msg, 32, "%ld.", t);
	memcpy(msg + n, body, len);
	uint8_t mac[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)n + len, mac);
	crypto_hex(mac, sizeof mac, hex);
	free(msg);
	snprintf(out, 200, "t=%ld,v1=%s", t, hex);
}

bool sim_sig_valid(const char *secret, const char *header, const char *body, size_t len)
{
	long t = 0;
	if (!header || sscanf(header, "t=%ld,", &t) != 1)
		return false;
	char want[200];
	sim_sign(secret, t, body, len, want);
	return strcmp(want, header) == 0 && labs((long)time(NULL) - t) <= 300;
}

const char *sim_channel_url(const struct sim *s, const char *channel)
{
	const char *u = json_string_value(json_object_get(json_object_get(s->urls, "channels"), channel));
	cr_assert(u, "no URL for channel %s in the ready file", channel);
	return u;
}

void sim_signed_post(const struct sim *s, const char *channel, const char *path,
		     const char *body, const char *secret, long skew_s, long timeout_ms,
		     struct sim_resp *r)
{
	char url[256], sig[200], header[256];
	snprintf(url, sizeof url, "%s%s", sim_channel_url(s, channel), path);
	sim_sign(secret, (long)time(NULL) + skew_s, body, strlen(body), sig);
	snprintf(header, sizeof header, "X-Payd-Signature: %s", sig);
	sim_http(url, body, header, timeout_ms, r);
}

/* ---- admin -------------------------------------------------------------- */

const char *sim_admin_url(const struct sim *s)
{
	return json_string_value(json_object_get(s->urls, "admin"));
}

json_t *sim_admin_get(const struct sim *s, const char *path)
{
	char url[256];
	snprintf(url, sizeof url, "%s%s", sim_admin_url(s), path);
	struct sim_resp r;
	sim_http(url, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body);
	return r.json;
}

long sim_admin_post(const struct sim *s, const char *channel, const char *body,
		    struct sim_resp *r)
{
	char url[256];
	snprintf(url, sizeof url, "%s/admin/channels/%s", sim_admin_url(s), channel);
	sim_http(url, body, NULL, 0, r);
	return r->status;
}

void sim_admin_set(const struct sim *s, const char *channel, const char *body)
{
	struct sim_resp r;
	cr_assert_eq(sim_admin_post(s, channel, body, &r), 200, "admin %s %s: %ld %s", channel,
		     body, r.status, r.body);
	sim_resp_free(&r);
}

/* ---- the callback receiver ---------------------------------------------- */

struct sim_rx RX = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

/* The header's value (case-insensitive name) copied into out, or "". */
static void rx_header(const char *head, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		size_t n = strlen(name);
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			h += strspn(h, " ");
			snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
			return;
		}
	}
}

/* Reads one request from c; its body and signature are recorded.  false on
 * a bad read. */
static bool rx_read(int c)
{
	char buf[RX_REQ_MAX + 1];
	size_t len = 0;
	char *end = NULL;
	long want = -1;
	while (len < RX_REQ_MAX) {
		ssize_t k = read(c, buf + len, RX_REQ_MAX - len);
		if (k <= 0)
			return false;
		len += (size_t)k;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			char cl[32];
			*end = '\0';
			rx_header(buf, "Content-Length", cl, sizeof cl);
			want = atol(cl);
		}
		if (end && (long)(len - (size_t)(end + 4 - buf)) >= want)
			break;
	}
	if (!end || want < 0)
		return false;
	char sig[SIM_SIG_MAX];
	rx_header(buf, "X-Payd-Signature", sig, sizeof sig);
	const char *body = end + 4;
	pthread_mutex_lock(&RX.mu);
	if (RX.n < SIM_RX_MAX) {
		snprintf(RX.sigs[RX.n], SIM_SIG_MAX, "%s", sig);
		RX.bodies[RX.n] = strndup(body, (size_t)want);
		RX.lens[RX.n] = (size_t)want;
		RX.signed_ok[RX.n++] = sim_sig_valid(RX.secret, sig, body, (size_t)want);
	}
	pthread_mutex_unlock(&RX.mu);
	atomic_fetch_add(&RX.requests, 1);
	return true;
}

static void rx_serve(int c)
{
	struct timeval tv = {RX_IO_TIMEOUT_S, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (!rx_read(c))
		return;
	while (atomic_load(&RX.hang) && !atomic_load(&RX.stop))
		poll(NULL, 0, RX_POLL_MS);
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (write(c, ok, sizeof ok - 1) < 0)
		return;
}

static void *rx_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&RX.stop)) {
		struct pollfd p = {.fd = RX.fd, .events = POLLIN};
		if (poll(&p, 1, RX_POLL_MS) <= 0)
			continue;
		int c = accept(RX.fd, NULL, NULL);
		if (c < 0)
			continue;
		rx_serve(c);
		close(c);
	}
	return NULL;
}

void rx_start(void)
{
	RX.fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(RX.fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	cr_assert(bind(RX.fd, (struct sockaddr *)&a, sizeof a) == 0, "bind: %s", strerror(errno));
	cr_assert(listen(RX.fd, 16) == 0);
	getsockname(RX.fd, (struct sockaddr *)&a, &alen);
	RX.port = ntohs(a.sin_port);
	cr_assert(pthread_create(&RX.thread, NULL, rx_main, NULL) == 0);
	RX.started = true;
}

void rx_stop(void)
{
	if (RX.started) {
		atomic_store(&RX.stop, true);
		pthread_join(RX.thread, NULL);
		RX.started = false;
	}
	if (RX.fd >= 0)
		close(RX.fd);
	RX.fd = -1;
	for (int i = 0; i < RX.n; i++)
		free(RX.bodies[i]);
	RX.n = 0;
}

int rx_count(void)
{
	pthread_mutex_lock(&RX.mu);
	int n = RX.n;
	pthread_mutex_unlock(&RX.mu);
	return n;
}

bool rx_has(void *ctx)
{
	return rx_count() >= *(int *)ctx;
}
