/* notify/notify: the notifier — payd's outbox delivery.  One thread reads
 * the deliveries that are due (store: the outbox the engine fills in the
 * same transaction as each event) through a read-only connection, sends
 * them concurrently through libcurl's multi interface — webhooks as
 * signed POSTs (Stripe-Signature), payer e-mails over SMTP — and reports
 * every attempt back to the engine as a command, which records it and
 * reschedules or finishes the delivery.  A delivery is sent again until
 * a report of its success is committed: at least once, also across
 * crashes (receivers deduplicate by event id, as with Stripe). */
#ifndef PAYD_NOTIFY_NOTIFY_H
#define PAYD_NOTIFY_NOTIFY_H

#include <stddef.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "route/route.h"

struct notify_config {
	const char *db_path;
	struct engine *engine;           /* reports go here; must outlive notify_stop */
	const struct payd_clock *clock;
	struct route_webhook_config webhooks;
	struct route_notify_config mail; /* smtp_url "": no e-mails */
};

struct notifier;

int notify_start(const struct notify_config *cfg, struct notifier **out, char *err, size_t err_cap);
/* Stops sending (transfers under way are abandoned: their deliveries stay
 * pending and go out again at the next start), waits for the reports the
 * engine has not answered yet, and frees the notifier.  Call it before
 * engine_stop. */
void notify_stop(struct notifier *n);

#endif
