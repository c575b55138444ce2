/* tests/unit/channel_testkit: the channel unit tests' shared helpers --
 * channel making and decode, the signature HMAC, and the little signed
 * libmicrohttpd server's plumbing.  See channel_testkit.h. */
#include "channel_testkit.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "channel/http_internal.h"

struct channel *testkit_channel(const struct channel_config *cfg)
{
	char err[128];
	struct channel *ch = channel_new(cfg, err, sizeof err);
	cr_assert_not_null(ch, "%s: %s", cfg->kind, err);
	return ch;
}

struct channel_result testkit_decode(struct channel *ch, const struct channel_request *req,
				     long status, bool signed_ok, const char *body)
{
	struct channel_http_reply reply = {
		.transport = CH_NET_ANSWERED, .status = status, .body = body,
		.body_len = strlen(body), .signature_ok = signed_ok,
	};
	struct channel_result res;
	memset(&res, 0x5a, sizeof res);
	ch->ops->decode(ch, req, &reply, &res);
	return res;
}

void testkit_hmac_hex(const char *secret, long long t, const char *body, size_t len, char *hex)
{
	char *msg = NULL;
	size_t msg_len = 0;
	FILE *f = open_memstream(&msg, &msg_len);
	fprintf(f, "%lld.", t);
	fwrite(body, 1, len, f);
	fclose(f);
	uint8_t mac[CRYPTO_SHA256_LEN];
	crypto_hmac_sha256(secret, strlen(secret), msg, msg_len, mac);
	crypto_hex(mac, sizeof mac, hex);
	free(msg);
}

/* ---- a little signed HTTP server ---------------------------------------- */

bool testkit_upload_more(void **con_cls, const char *data, size_t *data_size, size_t max,
			 enum MHD_Result *rc)
{
	struct testkit_upload *up = *con_cls;
	if (!up) {
		*con_cls = calloc(1, sizeof *up);
		*rc = *con_cls ? MHD_YES : MHD_NO;
		return true;
	}
	if (*data_size) {
		if (up->len + *data_size > max) {
			up->too_big = true;
		} else {
			up->buf = realloc(up->buf, up->len + *data_size + 1);
			memcpy(up->buf + up->len, data, *data_size);
			up->len += *data_size;
			up->buf[up->len] = '\0';
		}
		*data_size = 0;
		*rc = MHD_YES;
		return true;
	}
	return false;
}

void testkit_upload_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct testkit_upload *up = *con_cls;
	if (up)
		free(up->buf);
	free(up);
	*con_cls = NULL;
}

struct MHD_Daemon *testkit_server_start(MHD_AccessHandlerCallback handler, void *cls, int *port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
		handler, cls, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED,
		testkit_upload_completed, NULL, MHD_OPTION_END);
	cr_assert_not_null(d);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	cr_assert_not_null(info);
	*port = info->port;
	cr_assert_gt(*port, 0);
	return d;
}
