/* sim/admin: the unsigned loopback admin endpoint (docs/SIM_PROTOCOL.md,
 * "Admin endpoint"): the scenario in force, a partial change to one
 * channel (validated whole before anything changes; an outage of "refuse"
 * stops the channel's daemon, ending it starts one on the same port; a
 * bank's release_stuck moves its stuck payouts on), the books and the
 * statistics (with a bank's callbacks). */
#include <stdio.h>
#include <string.h>

#include "bank.h"
#include "base/clock.h"
#include "http.h"
#include "sim.h"

#define ADMIN_CHANNELS_PREFIX "/admin/channels/"

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *error,
				  const char *field, const char *message)
{
	json_t *j = json_pack("{s:s}", "error", error);
	if (j && field)
		json_object_set_new(j, "field", json_string(field));
	if (j && message)
		json_object_set_new(j, "message", json_string(message));
	return sim_http_send(conn, status, j, NULL);
}

/* A channel's settings as in force, with the port it really listens on. */
static json_t *channel_json(const struct sim_channel *ch)
{
	struct sim_channel_cfg c = ch->cfg;
	c.port = ch->port;
	return sim_channel_to_json(&c);
}

static json_t *get_scenario(struct sim *s)
{
	json_t *chans = json_array();
	for (size_t i = 0; i < s->n_channels; i++)
		json_array_append_new(chans, channel_json(&s->channels[i]));
	return json_pack("{s:I, s:o}", "seed", (json_int_t)s->seed, "channels", chans);
}

static json_t *get_books(struct sim *s)
{
	json_t *chans = json_object();
	for (size_t i = 0; i < s->n_channels; i++)
		json_object_set_new(chans, s->channels[i].cfg.name,
				    sim_books_to_json(&s->channels[i].books));
	return json_pack("{s:o}", "channels", chans);
}

static json_t *callback_stats(const struct sim_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}", "sent", (json_int_t)st->cb_sent,
			 "dropped", (json_int_t)st->cb_dropped, "duplicated",
			 (json_int_t)st->cb_duplicated, "held_back", (json_int_t)st->cb_held_back,
			 "overflow", (json_int_t)st->cb_overflow, "answers", st->cb_answers);
}

static json_t *get_stats(struct sim *s)
{
	json_t *chans = json_object();
	for (size_t i = 0; i < s->n_channels; i++) {
		const struct sim_stats *st = &s->channels[i].stats;
		json_t *o = json_pack("{s:O, s:O, s:I}", "requests", st->requests, "answers",
				      st->answers, "signature_failures",
				      (json_int_t)st->signature_failures);
		if (o && s->channels[i].cfg.kind == SIM_KIND_BANK)
			json_object_set_new(o, "callbacks", callback_stats(st));
		json_object_set_new(chans, s->channels[i].cfg.name, o);
	}
	return json_pack("{s:o}", "channels", chans);
}

static struct sim_channel *channel_by_name(struct sim *s, const char *name)
{
	for (size_t i = 0; i < s->n_channels; i++) {
		if (strcmp(s->channels[i].cfg.name, name) == 0)
			return &s->channels[i];
	}
	return NULL;
}

/* Starts or stops the daemon when the outage moves into or out of
 * "refuse"; false when the daemon could not come back. */
static bool follow_outage(struct sim_channel *ch, enum sim_outage before, enum sim_outage after)
{
	if (before != SIM_OUTAGE_REFUSE && after == SIM_OUTAGE_REFUSE)
		sim_channel_stop(ch);
	if (before == SIM_OUTAGE_REFUSE && after != SIM_OUTAGE_REFUSE && !ch->daemon)
		return sim_channel_start(ch);
	return true;
}

static enum MHD_Result post_channel(struct sim *s, struct MHD_Connection *conn, const char *name,
				    const struct sim_req *req)
{
	struct sim_channel *ch = channel_by_name(s, name);
	if (!ch)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such channel");
	json_t *body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, NULL);
	char err[SIM_ERR_MAX];
	pthread_mutex_lock(&s->admin_lock);
	pthread_mutex_lock(&s->lock);
	struct sim_channel_cfg c = ch->cfg;
	enum sim_outage before = c.outage;
	struct sim_fate release;
	bool ok = sim_channel_apply(&c, body, "", false, &release, err);
	if (ok)
		ch->cfg = c;
	if (ok && release.kind != SIM_FATE_STUCK)
		sim_bank_release_stuck(ch, release, clock_now_ms(&clock_system));
	pthread_mutex_unlock(&s->lock);
	json_decref(body);
	if (!ok) {
		pthread_mutex_unlock(&s->admin_lock);
		char field[SIM_ERR_MAX];
		snprintf(field, sizeof field, "%.*s", (int)strcspn(err, ":"), err);
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "invalid_field", field, err);
	}
	bool up = follow_outage(ch, before, c.outage);
	pthread_mutex_lock(&s->lock);
	if (!up)
		ch->cfg.outage = SIM_OUTAGE_REFUSE;
	json_t *answer = channel_json(ch);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->admin_lock);
	if (!up) {
		json_decref(answer);
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "restart_failed", "outage",
				  "the channel could not listen on its port again");
	}
	return sim_http_send(conn, MHD_HTTP_OK, answer, NULL);
}

static enum MHD_Result answer_get(struct sim *s, struct MHD_Connection *conn, const char *url)
{
	json_t *(*fn)(struct sim *) = strcmp(url, "/admin/scenario") == 0 ? get_scenario
				      : strcmp(url, "/admin/books") == 0  ? get_books
				      : strcmp(url, "/admin/stats") == 0  ? get_stats
									  : NULL;
	if (!fn)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, NULL);
	pthread_mutex_lock(&s->lock);
	json_t *j = fn(s);
	pthread_mutex_unlock(&s->lock);
	return sim_http_send(conn, MHD_HTTP_OK, j, NULL);
}

static enum MHD_Result on_admin(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_size, void **con_cls)
{
	(void)version;
	struct sim *s = cls;
	struct sim_req *req = NULL;
	enum sim_collect got = sim_http_collect(con_cls, upload, upload_size, &req);
	if (got != SIM_COLLECT_DONE)
		return got == SIM_COLLECT_MORE ? MHD_YES : MHD_NO;
	if (req->too_big)
		return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", NULL, NULL);
	bool is_channel = strncmp(url, ADMIN_CHANNELS_PREFIX, strlen(ADMIN_CHANNELS_PREFIX)) == 0;
	if (strcmp(method, "GET") == 0 && !is_channel)
		return answer_get(s, conn, url);
	if (strcmp(method, "POST") == 0 && is_channel)
		return post_channel(s, conn, url + strlen(ADMIN_CHANNELS_PREFIX), req);
	return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, NULL);
}

bool sim_admin_start(struct sim *s, uint16_t port)
{
	s->admin = sim_http_start(s->host, port, on_admin, s, &s->admin_port);
	return s->admin != NULL;
}
