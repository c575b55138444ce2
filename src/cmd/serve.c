/* cmd/serve: `payd serve` runs the engine and the HTTP API until SIGTERM
 * or SIGINT, then shuts down in order: stop accepting, let the engine
 * commit and answer everything it has taken, send those answers, exit.
 * Signals are blocked in every thread and taken by sigwait here. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "engine/engine.h"
#include "notify/notify.h"
#include "route/route.h"

#define SERVE_DRAIN_MS 2000

void cmd_serve_usage(FILE *out)
{
	fputs("usage: payd serve [--listen HOST:PORT] [--db PATH] [--config FILE]\n\n"
	      "Runs payd's HTTP API (Stripe-compatible, under /v1).\n\n"
	      "  --listen HOST:PORT  address to listen on (default $PAYD_LISTEN, else\n"
	      "                      127.0.0.1:8080; port 0 picks a free port)\n"
	      "  --db PATH           the database (default $PAYD_DB, else payd.db)\n"
	      "  --config FILE       channels, routing and breakers (JSON, docs/CONFIG.md;\n"
	      "                      default $PAYD_CONFIG, else the in-process sandbox alone)\n"
	      "  --threads N         HTTP threads (default: one per CPU)\n\n"
	      "Prints 'payd listening on http://HOST:PORT' when ready.  SIGTERM or SIGINT\n"
	      "stop it cleanly: every request taken is committed and answered.\n",
	      out);
}

/* "127.0.0.1:8080", "[::1]:8080" -> host and port. */
static bool split_listen(const char *listen, char *host, size_t host_cap, uint16_t *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen)
		return false;
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p > 65535)
		return false;
	const char *start = listen;
	size_t len = (size_t)(colon - listen);
	if (*start == '[' && colon[-1] == ']') {
		start++;
		len -= 2;
	}
	if (len == 0 || len >= host_cap)
		return false;
	memcpy(host, start, len);
	host[len] = '\0';
	*port = (uint16_t)p;
	return true;
}

/* The configured channels and their route; 0, or -1 with err set. */
struct channels {
	struct channel *list[ROUTE_CHANNELS_MAX];
	int count;
	struct route *route;
	struct channel *vault; /* the sandbox that tokenizes cards for the API */
};

static void channels_free(struct channels *c)
{
	route_free(c->route);
	for (int i = 0; i < c->count; i++)
		c->list[i]->ops->destroy(c->list[i]);
	if (c->vault)
		c->vault->ops->destroy(c->vault);
}

static int channels_make(const char *config_path, struct channels *c, char *err, size_t err_cap)
{
	struct route_config *cfg = calloc(1, sizeof *cfg);
	int rc = cfg ? 0 : -1;
	if (!cfg)
		snprintf(err, err_cap, "out of memory");
	else if (config_path)
		rc = route_config_load(config_path, cfg, err, err_cap);
	else
		route_config_default(cfg);
	for (int i = 0; rc == 0 && i < cfg->channel_count; i++) {
		if (!(c->list[i] = channel_new(&cfg->channels[i], err, err_cap)))
			rc = -1;
		else
			c->count++;
	}
	if (rc == 0 && (!(c->vault = sandbox_channel_new("sandbox")) ||
			!(c->route = route_new(cfg, c->list)))) {
		snprintf(err, err_cap, "out of memory");
		rc = -1;
	}
	free(cfg);
	return rc;
}

static int run(const char *db, const char *config, const char *host, uint16_t port,
	       unsigned threads)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Keep freed memory instead of handing it back to the kernel after
	 * every batch (madvise + page faults were a tenth of the engine's time). */
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);

	char err[512];
	struct channels chans = {0};
	if (channels_make(config, &chans, err, sizeof err) != 0) {
		fprintf(stderr, "payd serve: %s%s%s\n", config ? config : "", config ? ": " : "", err);
		channels_free(&chans);
		return CMD_USAGE;
	}
	const struct route_config *rc_all = route_config_of(chans.route);
	const struct route_payout_config *po = &rc_all->payouts;
	const struct route_webhook_config *wh = &rc_all->webhooks;
	struct engine_config ecfg = {.db_path = db,
				     .route = chans.route,
				     .payout_poll_first_ms = po->poll_first_ms,
				     .payout_poll_max_ms = po->poll_max_ms,
				     .payout_grace_ms = po->arrival_grace_ms,
				     .payout_escalate_ms = po->escalate_ms,
				     .payout_return_window_ms = po->return_window_ms,
				     .webhook_policy = {.backoff_first_ms = wh->backoff_first_ms,
							.backoff_max_ms = wh->backoff_max_ms,
							.max_age_ms = wh->max_age_ms,
							.disable_after_failures =
								wh->disable_after_failures,
							.disable_after_ms = wh->disable_after_ms,
							.retention_ms = (int64_t)wh->retention_days *
									86400000},
				     .notify_payers = rc_all->notify.smtp_url[0] != '\0'};
	struct engine *engine;
	if (engine_start(&ecfg, &engine, err, sizeof err) != 0) {
		fprintf(stderr, "payd serve: %s\n", err);
		channels_free(&chans);
		return CMD_FAILED;
	}
	struct api_config acfg = {.host = host, .port = port, .db_path = db, .engine = engine,
				  .sandbox = chans.vault, .route = chans.route, .threads = threads,
				  .webhooks_allow_private = wh->allow_private_networks};
	struct api_server *api;
	if (api_start(&acfg, &api, err, sizeof err) != 0) {
		fprintf(stderr, "payd serve: %s\n", err);
		engine_stop(engine);
		engine_free(engine);
		channels_free(&chans);
		return CMD_FAILED;
	}
	struct notify_config ncfg = {.db_path = db, .engine = engine, .webhooks = *wh,
				     .mail = rc_all->notify};
	struct notifier *notifier;
	if (notify_start(&ncfg, &notifier, err, sizeof err) != 0) {
		fprintf(stderr, "payd serve: %s\n", err);
		api_quiesce(api);
		engine_stop(engine);
		api_stop(api, SERVE_DRAIN_MS);
		engine_free(engine);
		channels_free(&chans);
		return CMD_FAILED;
	}
	printf("payd listening on http://%s%s%s:%u\n", strchr(host, ':') ? "[" : "", host,
	       strchr(host, ':') ? "]" : "", api_port(api));
	fflush(stdout);
	log_msg(LOG_INFO, "serve_started", "listening on %s:%u, database %s", host, api_port(api), db);

	int sig = 0;
	sigwait(&signals, &sig);
	log_msg(LOG_INFO, "serve_stopping", "signal %d: finishing what was taken", sig);
	api_quiesce(api);
	notify_stop(notifier); /* deliveries under way stay pending: sent at the next start */
	engine_stop(engine); /* requests still arriving on open connections get 503 */
	api_stop(api, SERVE_DRAIN_MS);
	engine_free(engine);
	channels_free(&chans);
	log_msg(LOG_INFO, "serve_stopped", "clean shutdown");
	return CMD_OK;
}

int cmd_serve(int argc, char **argv)
{
	const char *listen = getenv("PAYD_LISTEN"), *db = getenv("PAYD_DB");
	const char *config = getenv("PAYD_CONFIG");
	long threads = 0;
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'},
		{"db", required_argument, NULL, 'd'},
		{"threads", required_argument, NULL, 't'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 't': threads = strtol(optarg, NULL, 10); break;
		case 'c': config = optarg; break;
		case 'h': cmd_serve_usage(stdout); return CMD_OK;
		default: cmd_serve_usage(stderr); return CMD_USAGE;
		}
	}
	char host[128];
	uint16_t port;
	if (!listen || !*listen)
		listen = "127.0.0.1:8080";
	if (!db || !*db)
		db = "payd.db";
	if (optind < argc || !split_listen(listen, host, sizeof host, &port) || threads < 0 ||
	    threads > 64) {
		fprintf(stderr, "payd serve: bad arguments (listen '%s')\n", listen);
		cmd_serve_usage(stderr);
		return CMD_USAGE;
	}
	if (config && !*config)
		config = NULL;
	return run(db, config, host, port, (unsigned)threads);
}
