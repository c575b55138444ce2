/* sim/main: payd-sim's command line and life cycle.  Flags are checked
 * (usage and exit 2 on a bad one), the scenario is loaded (exit 2 with the
 * field named), every daemon is started, the ready line is written (stdout
 * and --ready-file, atomically), then the main thread waits for SIGTERM or
 * SIGINT, which every other thread has blocked, and stops everything: the
 * admin daemon, the payout worker (abandoning callbacks not yet sent), the
 * channels, then the books. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bank.h"
#include "base/log.h"
#include "sim.h"

#define DEFAULT_LISTEN "127.0.0.1:8090"
#define PATH_MAX_LEN 4096
#define EXIT_USAGE 2

struct opts {
	const char *scenario, *listen, *ready_file;
	bool has_seed;
	uint64_t seed;
	char host[SIM_HOST_MAX + 1];
	uint16_t port;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: payd-sim --scenario FILE [--listen HOST:PORT] [--ready-file FILE] "
		     "[--seed N]\n"
		     "  --scenario FILE    the channels and their behaviour (JSON)\n"
		     "  --listen HOST:PORT the admin endpoint (default " DEFAULT_LISTEN
		     "; port 0: a free one)\n"
		     "  --ready-file FILE  where to write the ready line once listening\n"
		     "  --seed N           overrides the scenario's seed\n"
		     "  --help             this text\n");
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_listen(struct opts *o)
{
	const char *colon = strrchr(o->listen, ':');
	uint64_t port;
	if (!colon || colon == o->listen || (size_t)(colon - o->listen) > SIM_HOST_MAX ||
	    !parse_u64(colon + 1, 65535, &port))
		return false;
	snprintf(o->host, sizeof o->host, "%.*s", (int)(colon - o->listen), o->listen);
	struct in_addr a;
	o->port = (uint16_t)port;
	return inet_pton(AF_INET, o->host, &a) == 1;
}

/* 0: run; otherwise the exit status (after usage or help). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen = DEFAULT_LISTEN;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS + 256; /* "exit 0 now" */
		}
		bool known = strcmp(a, "--scenario") == 0 || strcmp(a, "--listen") == 0 ||
			     strcmp(a, "--ready-file") == 0 || strcmp(a, "--seed") == 0;
		if (!known || !v) {
			fprintf(stderr, "payd-sim: %s %s\n", known ? "missing value for" : "unknown flag", a);
			goto bad;
		}
		i++;
		if (strcmp(a, "--scenario") == 0)
			o->scenario = v;
		else if (strcmp(a, "--listen") == 0)
			o->listen = v;
		else if (strcmp(a, "--ready-file") == 0)
			o->ready_file = v;
		else if (!(o->has_seed = parse_u64(v, UINT64_MAX, &o->seed))) {
			fprintf(stderr, "payd-sim: --seed must be a non-negative integer\n");
			goto bad;
		}
	}
	if (!o->scenario) {
		fprintf(stderr, "payd-sim: --scenario is required\n");
		goto bad;
	}
	if (!parse_listen(o)) {
		fprintf(stderr, "payd-sim: --listen must be IPV4:PORT, not \"%s\"\n", o->listen);
		goto bad;
	}
	return 0;
bad:
	usage(stderr);
	return EXIT_USAGE;
}

static char *ready_line(const struct sim *s)
{
	char url[SIM_HOST_MAX + 32];
	json_t *chans = json_object();
	for (size_t i = 0; i < s->n_channels; i++) {
		snprintf(url, sizeof url, "http://%s:%u", s->host, s->channels[i].port);
		json_object_set_new(chans, s->channels[i].cfg.name, json_string(url));
	}
	snprintf(url, sizeof url, "http://%s:%u", s->host, s->admin_port);
	json_t *j = json_pack("{s:s, s:o}", "admin", url, "channels", chans);
	char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	return line;
}

static bool write_ready_file(const char *path, const char *line)
{
	char tmp[PATH_MAX_LEN];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return false;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return false;
	bool ok = fprintf(f, "%s\n", line) > 0;
	ok = (fclose(f) == 0) && ok;
	if (ok && rename(tmp, path) == 0)
		return true;
	unlink(tmp);
	return false;
}

static void sim_init(struct sim *s, const struct sim_scenario *sc, const struct opts *o)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->admin_lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	snprintf(s->host, sizeof s->host, "%s", o->host);
	s->seed = o->has_seed ? o->seed : sc->seed;
	rng_seed(&s->rng, s->seed);
	s->n_channels = sc->n_channels;
	for (size_t i = 0; i < sc->n_channels; i++) {
		struct sim_channel *ch = &s->channels[i];
		ch->sim = s;
		ch->cfg = sc->channels[i];
		ch->port = (uint16_t)ch->cfg.port;
		sim_books_init(&ch->books, ch->cfg.name, ch->cfg.kind, ch->cfg.idempotent);
		ch->stats.requests = json_object();
		ch->stats.answers = json_object();
		ch->stats.cb_answers = json_object();
	}
}

static bool sim_start(struct sim *s, uint16_t admin_port)
{
	if (!sim_bank_start(s)) {
		fprintf(stderr, "payd-sim: cannot start the payout worker\n");
		return false;
	}
	for (size_t i = 0; i < s->n_channels; i++) {
		struct sim_channel *ch = &s->channels[i];
		if (ch->cfg.outage == SIM_OUTAGE_REFUSE && ch->port != 0)
			continue; /* refusing from the start, on a known port */
		if (!sim_channel_start(ch)) {
			fprintf(stderr, "payd-sim: channel %s cannot listen on %s:%u\n", ch->cfg.name,
				s->host, ch->port);
			return false;
		}
		if (ch->cfg.outage == SIM_OUTAGE_REFUSE)
			sim_channel_stop(ch); /* its port is now known and kept */
	}
	if (!sim_admin_start(s, admin_port)) {
		fprintf(stderr, "payd-sim: cannot listen on %s:%u\n", s->host, admin_port);
		return false;
	}
	return true;
}

static void sim_shutdown(struct sim *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->admin)
		MHD_stop_daemon(s->admin);
	s->admin = NULL;
	sim_bank_stop(s); /* pending callbacks are abandoned */
	for (size_t i = 0; i < s->n_channels; i++)
		sim_channel_stop(&s->channels[i]);
	sim_bank_free(s); /* its timers point into the books */
	for (size_t i = 0; i < s->n_channels; i++) {
		struct sim_channel *ch = &s->channels[i];
		sim_books_free(&ch->books);
		json_decref(ch->stats.requests);
		json_decref(ch->stats.answers);
		json_decref(ch->stats.cb_answers);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->admin_lock);
	pthread_mutex_destroy(&s->lock);
}

static int announce(const struct sim *s, const struct opts *o)
{
	char *line = ready_line(s);
	if (!line) {
		fprintf(stderr, "payd-sim: out of memory\n");
		return EXIT_FAILURE;
	}
	printf("%s\n", line);
	fflush(stdout);
	bool ok = !o->ready_file || write_ready_file(o->ready_file, line);
	if (!ok)
		fprintf(stderr, "payd-sim: cannot write %s: %s\n", o->ready_file, strerror(errno));
	free(line);
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void wait_for_signal(const sigset_t *set)
{
	int sig = 0;
	while (sigwait(set, &sig) != 0)
		;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc > 255 ? rc - 256 : rc;
	struct sim_scenario sc;
	char err[SIM_ERR_MAX];
	if (!sim_scenario_load(o.scenario, &sc, err)) {
		fprintf(stderr, "payd-sim: %s\n", err);
		return EXIT_USAGE;
	}
	/* Every thread started from here on inherits the blocked signals. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	static struct sim s; /* large (channels inline): not on the stack */
	sim_init(&s, &sc, &o);
	rc = sim_start(&s, o.port) ? announce(&s, &o) : EXIT_FAILURE;
	if (rc == EXIT_SUCCESS)
		wait_for_signal(&set);
	sim_shutdown(&s);
	return rc;
}
