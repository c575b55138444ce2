/* tests/e2e_raw/sim_client: what the payd-sim tests share (test_sim,
 * test_sim_bank, test_bank_rail).
 *
 * A payd-sim ($SIM_BIN, else build/payd-sim) started with a scenario in a
 * mkdtemp directory, its ready file read (bounded wait), and stopped with
 * SIGTERM; a small libcurl client for its channels (requests signed with
 * X-Payd-Signature) and its admin endpoint; and the tiny callback receiver
 * that stands in for payd's callback endpoint (a HTTP/1.1 server on
 * 127.0.0.1:0 in a thread, plain sockets: these binaries do not link
 * libmicrohttpd) that keeps each callback's body and signature.
 *
 * Criterion runs every test in its own process, so there is one receiver
 * (RX) per process; each test file keeps its own struct sim. */
#ifndef PAYD_TESTS_E2E_RAW_SIM_CLIENT_H
#define PAYD_TESTS_E2E_RAW_SIM_CLIENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIM_DIR_MAX 512
#define SIM_START_MS 20000 /* bounded wait for the ready file */
#define SIM_STOP_MS 20000  /* bounded wait for exit after SIGTERM */
#define SIM_POLL_MS 5
#define SIM_HTTP_TIMEOUT_MS 30000L /* a request's timeout when none is given */
#define SIM_BODY_CAP 8192
#define SIM_SIG_MAX 256
#define SIM_RX_MAX 64 /* callbacks one test can record */

struct sim {
	char dir[SIM_DIR_MAX];
	char path[SIM_DIR_MAX + 32];  /* dir/scenario.json */
	char ready[SIM_DIR_MAX + 32]; /* dir/ready.json */
	char log[SIM_DIR_MAX + 32];   /* dir/sim.log: payd-sim's stderr */
	pid_t pid;                    /* 0 when not running */
	int exit_status;              /* the last sim_stop's answer (-1 before) */
	json_t *urls;                 /* the ready file: "admin", "channels" */
};

/* ---- process ------------------------------------------------------------ */

/* Path of the payd-sim binary ($SIM_BIN or build/payd-sim). */
const char *sim_bin(void);
long sim_mono_ms(void);
/* Writes text to path (asserts). */
void sim_write_text(const char *path, const char *text);
/* Runs argv[0] with argv; stdout to /dev/null, stderr to s->log. */
pid_t sim_spawn(const struct sim *s, char *const argv[]);
/* curl_global_init, a new $TMPDIR/<prefix>-XXXXXX directory with the
 * scenario in it, and payd-sim started on it (asserts it is ready). */
void sim_start(struct sim *s, const char *prefix, const char *scenario);
/* Starts payd-sim on s->path with a ready file and waits (bounded) for it;
 * false when no ready file came. */
bool sim_launch(struct sim *s);
/* SIGTERM and a bounded wait; the wait status, or -2 if it had to be
 * killed; when nothing runs, the last stop's answer (-1 if none). */
int sim_stop(struct sim *s);
/* After sim_stop: frees the ready file, removes the directory (unless
 * $PAYD_E2E_KEEP) and asserts that status is an exit 0 (with the log). */
void sim_finish(struct sim *s, int status);
/* Runs payd-sim on scenario_text (dir/bad.json) with an optional extra
 * flag and no ready file; its exit code, its stderr into err. */
int sim_run_bad(struct sim *s, const char *scenario_text, const char *flag, char *err,
		size_t cap);

/* ---- HTTP --------------------------------------------------------------- */

struct sim_resp {
	long status;
	int curl_code;
	char body[SIM_BODY_CAP];
	size_t len;
	char sig[SIM_SIG_MAX]; /* the answer's X-Payd-Signature */
	json_t *json;
};

/* One request; body NULL is a GET.  header: one extra header or NULL;
 * timeout_ms 0: SIM_HTTP_TIMEOUT_MS. */
void sim_http(const char *url, const char *body, const char *header, long timeout_ms,
	      struct sim_resp *r);
void sim_resp_free(struct sim_resp *r);
/* A string field of the answer, or "". */
const char *sim_str(const struct sim_resp *r, const char *field);
/* "t=T,v1=HEX": HMAC-SHA256 of "T." followed by body. */
void sim_sign(const char *secret, long t, const char *body, size_t len, char out[200]);
/* Whether header signs body with secret, within 300 s of now. */
bool sim_sig_valid(const char *secret, const char *header, const char *body, size_t len);
/* The URL of a channel in the ready file (asserts). */
const char *sim_channel_url(const struct sim *s, const char *channel);
/* A POST of body to channel's path signed with secret at now + skew_s. */
void sim_signed_post(const struct sim *s, const char *channel, const char *path,
		     const char *body, const char *secret, long skew_s, long timeout_ms,
		     struct sim_resp *r);

/* ---- admin -------------------------------------------------------------- */

const char *sim_admin_url(const struct sim *s);
/* GET of an admin path; asserts 200; the JSON answer (a new reference). */
json_t *sim_admin_get(const struct sim *s, const char *path);
/* POST /admin/channels/<channel>; the HTTP status. */
long sim_admin_post(const struct sim *s, const char *channel, const char *body,
		    struct sim_resp *r);
/* The same, asserting 200. */
void sim_admin_set(const struct sim *s, const char *channel, const char *body);

/* ---- the callback receiver ---------------------------------------------- */

struct sim_rx {
	int fd;
	uint16_t port;
	pthread_t thread;
	bool started;
	atomic_bool stop, hang; /* hang: read requests, never answer */
	atomic_int requests;    /* requests read (answered or not) */
	pthread_mutex_t mu;     /* guards n and what follows */
	int n;
	char *bodies[SIM_RX_MAX];
	size_t lens[SIM_RX_MAX];
	char sigs[SIM_RX_MAX][SIM_SIG_MAX]; /* X-Payd-Signature as received */
	bool signed_ok[SIM_RX_MAX];         /* whether it verified with secret */
	char secret[64];                    /* the callbacks' expected secret */
};

extern struct sim_rx RX;

/* Starts the receiver on 127.0.0.1 (RX.port) in its own thread. */
void rx_start(void);
/* Stops it and frees what it recorded. */
void rx_stop(void);
int rx_count(void);
/* poll_until predicate: at least *(int *)ctx callbacks recorded. */
bool rx_has(void *ctx);

#endif
