/* sim/http: the libmicrohttpd plumbing the channel and admin daemons share:
 * starting a daemon on host:port (address reuse, so a channel comes back on
 * the same port after an outage), collecting a request body up to
 * SIM_BODY_MAX, and sending a JSON answer, signed when a secret is given. */
#ifndef PAYD_SIM_HTTP_H
#define PAYD_SIM_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_BODY_MAX (64 * 1024)
#define SIM_CONN_TIMEOUT_S 120

/* A request's body, kept per connection between handler calls. */
struct sim_req {
	char *body;
	size_t len;
	bool too_big;
};

enum sim_collect { SIM_COLLECT_MORE, SIM_COLLECT_DONE, SIM_COLLECT_FAIL };

/* Call first in every access handler: accumulates the upload; DONE means
 * *out holds the whole body (NUL-terminated, len excludes the NUL). */
enum sim_collect sim_http_collect(void **con_cls, const char *upload, size_t *upload_size,
				  struct sim_req **out);
/* Sends status with body (taken; NULL sends {}), signed with secret when it
 * is not NULL. */
enum MHD_Result sim_http_send(struct MHD_Connection *conn, unsigned status, json_t *body,
			      const char *secret);
/* A daemon serving handler(cls) on host:port; *bound gets the real port. */
struct MHD_Daemon *sim_http_start(const char *host, uint16_t port, MHD_AccessHandlerCallback handler,
				  void *cls, uint16_t *bound);

#endif
