/* engine/alerts: alerts the engine raises and resolves — overdue payouts
 * (payouts.c), webhook endpoints disabled after failing (webhooks.c).  At
 * most one alert of a kind is open for an object: raising it again takes
 * it to the level given; resolving it closes it with a last message. */
#include <string.h>

#include "core/catalog.h"
#include "engine/internal.h"

int alerts_raise(struct engine *e, const char *merchant_id, const char *kind,
		 const char *object_id, int level, const char *message)
{
	struct alert a;
	int rc = e->store->ops->alert_open_for(e->store, object_id, kind, &a);
	bool fresh = rc == CAT_NO_SUCH_OBJECT;
	if (fresh) {
		memset(&a, 0, sizeof a);
		id_new(&e->ids, ID_ALERT, a.id);
		snprintf(a.merchant_id, sizeof a.merchant_id, "%s", merchant_id);
		snprintf(a.kind, sizeof a.kind, "%s", kind);
		snprintf(a.object_id, sizeof a.object_id, "%s", object_id);
		a.status = ALERT_OPEN;
		a.created_ms = e->now_ms;
	} else if (rc) {
		return rc;
	}
	a.level = level;
	a.updated_ms = e->now_ms;
	snprintf(a.message, sizeof a.message, "%s", message);
	return fresh ? e->store->ops->alert_insert(e->store, &a)
		     : e->store->ops->alert_update(e->store, &a);
}

int alerts_resolve(struct engine *e, const char *object_id, const char *kind, const char *message)
{
	struct alert a;
	int rc = e->store->ops->alert_open_for(e->store, object_id, kind, &a);
	if (rc == CAT_NO_SUCH_OBJECT)
		return CAT_OK;
	if (rc)
		return rc;
	a.status = ALERT_RESOLVED;
	a.updated_ms = a.resolved_ms = e->now_ms;
	snprintf(a.message, sizeof a.message, "%s", message);
	return e->store->ops->alert_update(e->store, &a);
}
