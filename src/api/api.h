/* api/api: payd's HTTP server, a Stripe-compatible subset under /v1 on
 * libmicrohttpd.  HTTP threads parse, authenticate and validate; reads go
 * through per-thread read-only database connections; every write becomes
 * an engine command, and the connection is suspended until the engine has
 * committed and answered. */
#ifndef PAYD_API_API_H
#define PAYD_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "channel/channel.h"
#include "engine/engine.h"

struct api_config {
	const char *host; /* numeric IPv4/IPv6 address, e.g. 127.0.0.1 */
	uint16_t port;    /* 0: any free port (see api_port) */
	const char *db_path;
	struct engine *engine;
	struct channel *sandbox; /* tokenizes cards and knows the test payment methods */
	struct route *route;     /* for GET /v1/channels */
	const struct payd_clock *clock;
	unsigned threads; /* HTTP threads; 0 = number of CPUs */
	bool webhooks_allow_private; /* webhook URLs on loopback and private networks */
};

struct api_server;

int api_start(const struct api_config *cfg, struct api_server **out, char *err, size_t err_cap);
uint16_t api_port(const struct api_server *srv);
/* Stops accepting new connections; requests in progress go on. */
void api_quiesce(struct api_server *srv);
/* Waits (at most wait_ms) for answers still being sent, then closes
 * every connection and frees the server. */
void api_stop(struct api_server *srv, int wait_ms);

#endif
