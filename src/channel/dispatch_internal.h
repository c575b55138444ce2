/* channel/dispatch_internal: the dispatcher's limits, shared with its
 * tests (which check them at the limit).  Not part of the interface. */
#ifndef PAYD_CHANNEL_DISPATCH_INTERNAL_H
#define PAYD_CHANNEL_DISPATCH_INTERNAL_H

#define DISPATCH_MAX_IN_FLIGHT 256     /* transfers inside libcurl at once */
#define DISPATCH_PER_HOST_MAX 64       /* of them to one channel URL; libcurl's per-host limit */
#define DISPATCH_HOSTS_MAX 32          /* distinct URLs counted; more are not limited per host */
#define DISPATCH_QUEUE_MAX 8192        /* waiting to start; beyond: not executed (QUEUE_FULL) */
#define DISPATCH_MAX_IDLE_CONNECTS 128 /* idle connections kept for reuse */
#define DISPATCH_CONN_MAX_AGE_S 30L    /* an idle connection older than this is not reused */
#define DISPATCH_POLL_MS 1000          /* longest sleep between looks at the queue */

#include <stddef.h>

struct channel_payout;
/* Tests only (NULL otherwise): called as a job that carried a payout
 * ends, after its copy of the destination and its request body were wiped
 * and before their memory is freed, so a test can see that no account
 * number is left (body is NULL when the job never had one). */
extern void (*dispatch_wiped_hook)(const struct channel_payout *payout, const char *body,
				   size_t body_len);

#endif
