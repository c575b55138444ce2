/* channel/registry: channel_new, the one place a channel of any kind is
 * made from its configuration: the in-process sandbox, a network charge
 * channel (channel/http.c) for payd-sim's charge kinds, or a bank payout
 * rail (channel/bank.c).  Every channel keeps its
 * whole configuration (cfg is copied into ch->config) and its name. */
#include <stdio.h>
#include <string.h>

#include "channel/channel.h"
#include "channel/http_internal.h"

#define REGISTRY_SANDBOX_KIND "sandbox"

static struct channel *sandbox_from(const struct channel_config *cfg, char *err, size_t err_cap)
{
	char name[PAYMENT_CHANNEL_MAX];
	size_t n = strnlen(cfg->name, sizeof cfg->name);
	if (n == sizeof cfg->name) {
		snprintf(err, err_cap, "name: must be 1..%d characters", PAYMENT_CHANNEL_MAX - 1);
		return NULL;
	}
	memcpy(name, cfg->name, n);
	name[n] = '\0';
	struct channel *ch = sandbox_channel_new(name);
	if (!ch) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	char kept[PAYMENT_CHANNEL_MAX];
	memcpy(kept, ch->name, sizeof kept); /* "" in cfg means "sandbox" */
	ch->config = *cfg;
	memcpy(ch->config.name, kept, sizeof kept);
	return ch;
}

struct channel *channel_new(const struct channel_config *cfg, char *err, size_t err_cap)
{
	char kind[CHANNEL_KIND_MAX];
	if (err_cap)
		err[0] = '\0';
	if (!cfg) {
		snprintf(err, err_cap, "no configuration");
		return NULL;
	}
	snprintf(kind, sizeof kind, "%.*s", (int)strnlen(cfg->kind, sizeof cfg->kind), cfg->kind);
	if (strcmp(kind, REGISTRY_SANDBOX_KIND) == 0)
		return sandbox_from(cfg, err, err_cap);
	if (http_channel_kind_known(kind))
		return http_channel_new(cfg, err, err_cap);
	if (bank_channel_kind_known(kind))
		return bank_channel_new(cfg, err, err_cap);
	snprintf(err, err_cap,
		 "kind: unknown channel kind \"%s\" (sandbox, acquirer, wallet_a, wallet_b, bank)", kind);
	return NULL;
}
