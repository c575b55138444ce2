/* sim/channel: what one request on a channel's port carries (struct
 * sim_op) and the helpers channel_http.c shares with the bank kind's
 * operations in bank_http.c: signed, counted answers, the scenario's draws
 * (rates, latency quantiles), the latency wait and the common body fields. */
#ifndef PAYD_SIM_CHANNEL_H
#define PAYD_SIM_CHANNEL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/rng.h"
#include "sim.h"

struct sim_op {
	struct sim_channel *ch;
	const struct sim_channel_cfg *cfg; /* a copy taken when the request came in */
	struct MHD_Connection *conn;
	const char *path;
	json_t *body;
};

/* Sends and counts an answer (by its "code", else its "status", for a
 * 200; "http_<status>" otherwise); json is taken. */
enum MHD_Result sim_reply(struct sim_op *op, unsigned status, json_t *json);
/* {"error": error, "param": param (when not NULL)} */
enum MHD_Result sim_reply_error(struct sim_op *op, unsigned status, const char *error,
				const char *param);

/* true with probability rate (resolution 1e-6); one draw. */
bool sim_draw_rate(struct rng *r, double rate);
/* A duration through the quantiles of l (docs: "Latency"); one draw. */
int sim_draw_latency(struct rng *r, const struct sim_latency *l);
/* Draws the answer latency (under the lock) and waits it (without). */
void sim_latency_sleep(struct sim_op *op);

/* The field when it is 1-31 of [A-Za-z0-9_-], else NULL. */
const char *sim_get_reference(json_t *body, const char *field);
/* "amount" in 1..SIM_AMOUNT_MAX, or -1. */
int64_t sim_get_amount(json_t *body);
/* "currency" when it is three upper-case letters, else NULL. */
const char *sim_get_currency(json_t *body);

/* bank_http.c: the bank kind's operations. */
enum MHD_Result sim_op_payout(struct sim_op *op);
enum MHD_Result sim_op_query_payout(struct sim_op *op);

#endif
