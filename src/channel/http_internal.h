/* channel/http_internal: what channel/http.c shares with the rest of
 * channel/ (registry.c makes network channels, dispatch.c signs requests
 * and checks answers' signatures, and answers health probes; the bank
 * rails in channel/bank.c map transport trouble, check their config and
 * currency, are made and destroyed, and verify callbacks with the same
 * helpers).  Not part of the channel interface: the engine sees channel.h
 * only. */
#ifndef PAYD_CHANNEL_HTTP_INTERNAL_H
#define PAYD_CHANNEL_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"

/* "t=<unix seconds>,v1=<64 hex>" and its NUL. */
#define HTTP_SIGNATURE_MAX 96
/* An answer whose `t` is further than this from our clock is refused
 * (the same window payd-sim applies to requests). */
#define HTTP_SIGNATURE_TOLERANCE_S 300

/* Is cfg->kind a network kind ("acquirer", "wallet_a", "wallet_b")? */
bool http_channel_kind_known(const char *kind);
/* A network channel for cfg (its kind must be known); NULL with err set. */
struct channel *http_channel_new(const struct channel_config *cfg, char *err, size_t err_cap);

/* X-Payd-Signature of body at time t into out[HTTP_SIGNATURE_MAX]:
 * HMAC-SHA256(secret, "<t>.<body>").  0, or -1 when memory ran out. */
int http_channel_sign(const char *secret, int64_t t, const char *body, size_t body_len,
		      char out[HTTP_SIGNATURE_MAX]);
/* Does `header` (NULL = missing) sign body with secret, within
 * HTTP_SIGNATURE_TOLERANCE_S of now_s? */
bool http_channel_verify(const char *secret, const char *header, const char *body,
			 size_t body_len, int64_t now_s);

/* The same check with an explicit window (callbacks:
 * CHANNEL_CALLBACK_WINDOW_S): constant-time comparison of the MAC. */
bool http_channel_verify_within(const char *secret, const char *header, const char *body,
				size_t body_len, int64_t now_s, int64_t window_s);

/* Transport trouble as every network kind maps it (docs/SIM_PROTOCOL.md,
 * "Answers"): fills out and returns true unless the reply is a signed 200
 * (then out is untouched and the caller decodes the body). */
bool http_channel_decode_transport(const struct channel_http_reply *reply,
				   struct channel_result *out);
/* The request's currency as the wire carries it: three ASCII letters in
 * upper case into out (NUL-terminated); false when it is not that. */
bool http_channel_currency(const char currency[4], char out[4]);
/* Copies src into dst[cap], cut at a UTF-8 character boundary. */
void http_channel_copy_text(char *dst, size_t cap, const char *src);
/* A network channel (a charge kind or a bank rail) once its kind is
 * known: cfg checked (name, url, secret, timeout_ms), then size zeroed bytes
 * that start with the struct channel, its ops, config and name set.  NULL
 * with err set. */
struct channel *http_channel_alloc(const struct channel_config *cfg, const struct channel_ops *ops,
				   size_t size, char *err, size_t err_cap);
/* Their destroy(): wipes the secret, then frees. */
void http_channel_destroy(struct channel *ch);

/* ---- bank payout rails (channel/bank.c) ---- */
/* Is kind "bank"? */
bool bank_channel_kind_known(const char *kind);
/* A bank rail for cfg; NULL with err set. */
struct channel *bank_channel_new(const struct channel_config *cfg, char *err, size_t err_cap);

/* GET /v1/health's answer: CH_SUCCEEDED for a signed 200, else
 * CH_NOT_EXECUTED with CAT_CHANNEL_UNAVAILABLE and a raw code saying why. */
void http_channel_decode_probe(const struct channel_http_reply *reply, struct channel_result *out);

#endif
