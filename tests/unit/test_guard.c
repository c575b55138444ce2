/* tests/unit/test_guard: notify/guard.  Address classes at each range's
 * edges, endpoint URLs (odd IPv4 forms libcurl normalises, credentials,
 * schemes, limits), and guard_opensocket inside a real libcurl transfer
 * to a loopback listener: refused, the listener never sees a connection;
 * allowed, it does.  CURLOPT_CONNECT_ONLY stops the transfer once
 * connected, and the kernel queues the connection before curl returns, so
 * a non-blocking accept tells the two apart without waiting. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/catalog.h"
#include "notify/guard.h"

/* ---- addresses ------------------------------------------------------------------- */

static struct sockaddr_storage address_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		cr_assert_fail("not an address: %s", text);
	return ss;
}

static const struct {
	const char *addr;
	enum guard_class cls;
} address_table[] = {
	{"169.254.0.1", GUARD_FORBIDDEN},
	{"169.254.169.254", GUARD_FORBIDDEN},
	{"169.254.255.255", GUARD_FORBIDDEN},
	{"169.253.255.255", GUARD_PUBLIC},
	{"169.255.0.0", GUARD_PUBLIC},
	{"100.100.100.200", GUARD_FORBIDDEN},
	{"100.100.100.199", GUARD_PRIVATE},
	{"192.0.0.192", GUARD_FORBIDDEN},
	{"192.0.0.193", GUARD_PUBLIC},
	{"0.0.0.0", GUARD_FORBIDDEN},
	{"0.255.255.255", GUARD_FORBIDDEN},
	{"1.0.0.0", GUARD_PUBLIC},
	{"224.0.0.1", GUARD_FORBIDDEN},
	{"239.255.255.255", GUARD_FORBIDDEN},
	{"223.255.255.255", GUARD_PUBLIC},
	{"240.0.0.1", GUARD_FORBIDDEN},
	{"255.255.255.255", GUARD_FORBIDDEN},
	{"127.0.0.1", GUARD_PRIVATE},
	{"127.255.255.255", GUARD_PRIVATE},
	{"128.0.0.0", GUARD_PUBLIC},
	{"126.255.255.255", GUARD_PUBLIC},
	{"10.1.2.3", GUARD_PRIVATE},
	{"11.0.0.0", GUARD_PUBLIC},
	{"172.16.0.0", GUARD_PRIVATE},
	{"172.31.255.255", GUARD_PRIVATE},
	{"172.15.255.255", GUARD_PUBLIC},
	{"172.32.0.1", GUARD_PUBLIC},
	{"192.168.1.1", GUARD_PRIVATE},
	{"192.169.0.0", GUARD_PUBLIC},
	{"100.64.0.1", GUARD_PRIVATE},
	{"100.127.255.255", GUARD_PRIVATE},
	{"100.63.255.255", GUARD_PUBLIC},
	{"100.128.0.0", GUARD_PUBLIC},
	{"198.18.0.1", GUARD_PRIVATE},
	{"198.19.255.255", GUARD_PRIVATE},
	{"198.20.0.0", GUARD_PUBLIC},
	{"8.8.8.8", GUARD_PUBLIC},
	{"::", GUARD_FORBIDDEN},
	{"::1", GUARD_PRIVATE},
	{"::2", GUARD_FORBIDDEN}, /* IPv4-compatible 0.0.0.2 */
	{"fe80::1", GUARD_FORBIDDEN},
	{"febf:ffff::1", GUARD_FORBIDDEN},
	{"fec0::1", GUARD_PRIVATE},
	{"ff02::1", GUARD_FORBIDDEN},
	{"fd00:ec2::254", GUARD_FORBIDDEN},
	{"fd00:ec2::253", GUARD_PRIVATE},
	{"fc00::1", GUARD_PRIVATE},
	{"fdff:ffff::1", GUARD_PRIVATE},
	{"fbff:ffff::1", GUARD_PUBLIC},
	{"2001:4860::8888", GUARD_PUBLIC},
	{"::ffff:169.254.169.254", GUARD_FORBIDDEN},
	{"::ffff:a9fe:a9fe", GUARD_FORBIDDEN},
	{"::ffff:127.0.0.1", GUARD_PRIVATE},
	{"::ffff:10.0.0.1", GUARD_PRIVATE},
	{"::ffff:8.8.8.8", GUARD_PUBLIC},
	{"::ffff:0:169.254.169.254", GUARD_FORBIDDEN},
	{"::169.254.169.254", GUARD_FORBIDDEN},
	{"::8.8.8.8", GUARD_PUBLIC},
	{"64:ff9b::169.254.169.254", GUARD_FORBIDDEN},
	{"64:ff9b::100.100.100.200", GUARD_FORBIDDEN},
	{"64:ff9b::10.0.0.1", GUARD_PRIVATE},
	{"64:ff9b::8.8.8.8", GUARD_PUBLIC},
	{"64:ff9b:1::8.8.8.8", GUARD_PRIVATE},
	{"64:ff9b:1::169.254.169.254", GUARD_FORBIDDEN},
};

Test(guard, address_classes_at_their_edges)
{
	for (size_t i = 0; i < sizeof address_table / sizeof address_table[0]; i++) {
		struct sockaddr_storage ss = address_of(address_table[i].addr);
		const struct sockaddr *sa = (const struct sockaddr *)&ss;
		enum guard_class cls = address_table[i].cls;
		cr_expect_eq(guard_classify(sa), cls, "%s", address_table[i].addr);
		cr_expect_eq(guard_address_allowed(sa, false), cls == GUARD_PUBLIC, "%s",
			     address_table[i].addr);
		cr_expect_eq(guard_address_allowed(sa, true), cls != GUARD_FORBIDDEN, "%s",
			     address_table[i].addr);
	}
}

Test(guard, other_families_and_null_are_forbidden)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	cr_assert_eq(guard_classify((const struct sockaddr *)&un), GUARD_FORBIDDEN);
	cr_assert_eq(guard_classify(NULL), GUARD_FORBIDDEN);
	cr_assert_not(guard_address_allowed(NULL, true));
}

/* ---- URLs ------------------------------------------------------------------------ */

#define OK NULL
#define FORBIDDEN "link-local, cloud metadata"
#define PRIVATE "private network"

static const struct {
	const char *url;
	const char *refused;      /* a piece of the reason without allow_private, OK = accepted */
	const char *refused_with; /* ... and with allow_private */
} url_table[] = {
	{"https://example.com/hooks", OK, OK},
	{"http://hooks.example.com:8080/payd?x=1&y=2", OK, OK},
	{"HTTPS://Example.COM./", OK, OK},
	{"https://example.com:65535/", OK, OK},
	{"http://8.8.8.8/", OK, OK},
	{"http://[2001:4860::8888]:443/", OK, OK},
	{"http://under_score.example.com/", OK, OK},
	{"http://169.254.169.254/latest/meta-data/", FORBIDDEN, FORBIDDEN},
	{"http://169.254.169.254./", FORBIDDEN, FORBIDDEN},
	{"http://[::ffff:a9fe:a9fe]/", FORBIDDEN, FORBIDDEN},
	{"http://[::ffff:169.254.169.254]/", FORBIDDEN, FORBIDDEN},
	{"http://[64:ff9b::a9fe:a9fe]/", FORBIDDEN, FORBIDDEN},
	{"http://2852039166/", FORBIDDEN, FORBIDDEN},
	{"http://0xA9FEA9FE/", FORBIDDEN, FORBIDDEN},
	{"http://0251.0376.0251.0376/", FORBIDDEN, FORBIDDEN},
	{"http://169.254.43518/", FORBIDDEN, FORBIDDEN},
	{"http://100.100.100.200/", FORBIDDEN, FORBIDDEN},
	{"http://[fd00:ec2::254]/", FORBIDDEN, FORBIDDEN},
	{"http://[fe80::1]/", FORBIDDEN, FORBIDDEN},
	{"http://[fe80::1%25eth0]/", "zone id", "zone id"},
	{"http://0/", FORBIDDEN, FORBIDDEN},
	{"http://[::]/", FORBIDDEN, FORBIDDEN},
	{"http://224.0.0.1/", FORBIDDEN, FORBIDDEN},
	{"http://metadata.google.internal/computeMetadata/v1/", FORBIDDEN, FORBIDDEN},
	{"http://METADATA.google.internal./", FORBIDDEN, FORBIDDEN},
	{"http://metadata/", FORBIDDEN, FORBIDDEN},
	{"http://instance-data/latest/", FORBIDDEN, FORBIDDEN},
	{"http://localhost:8080/", PRIVATE, OK},
	{"http://LocalHost./", PRIVATE, OK},
	{"http://%6c%6fcalhost/", PRIVATE, OK},
	{"http://hooks.localhost/", PRIVATE, OK},
	{"http://127.0.0.1:8080/", PRIVATE, OK},
	{"http://127.1/", PRIVATE, OK},
	{"http://[::1]/", PRIVATE, OK},
	{"http://10.1.2.3/", PRIVATE, OK},
	{"http://172.31.255.255/", PRIVATE, OK},
	{"http://192.168.1.1/", PRIVATE, OK},
	{"http://100.64.0.1/", PRIVATE, OK},
	{"http://[fc00::1]/", PRIVATE, OK},
	{"ftp://x/", "http or https", "http or https"},
	{"file:///etc/passwd", "http or https", "http or https"},
	{"javascript:alert(1)", "http or https", "http or https"},
	{"gopher://example.com/", "http or https", "http or https"},
	{"example.com/hooks", "http or https", "http or https"},
	{"http:/example.com/", "http or https", "http or https"},
	{"http://user:pw@example.com/", "user name or password", "user name or password"},
	{"http://user@example.com/", "user name or password", "user name or password"},
	{"http://@example.com/", "user name or password", "user name or password"},
	{"http://", "must have a host", "must have a host"},
	{"http:///path", "must have a host", "must have a host"},
	{"http://:80/", "must have a host", "must have a host"},
	{"http://?q=1", "must have a host", "must have a host"},
	{"http://example.com:0/", "port", "port"},
	{"http://example.com:65536/", "port", "port"},
	{"http://exa mple.com/", "spaces", "spaces"},
	{"http://example.com/a b", "spaces", "spaces"},
	{"http://example.com/\tx", "control", "control"},
	{"http://example.com/\x7f", "control", "control"},
	{"http://example.com/caf\xc3\xa9", "non-ASCII", "non-ASCII"},
	{"http://ex%ef%bc%91ample.com/", "letters, digits", "letters, digits"},
	{"http://example.com/#top", "fragment", "fragment"},
	{"http://example.com/#", "fragment", "fragment"},
	{"", "1 to 2048", "1 to 2048"},
};

Test(guard, url_table)
{
	for (size_t i = 0; i < sizeof url_table / sizeof url_table[0]; i++) {
		for (int allow = 0; allow <= 1; allow++) {
			const char *want = allow ? url_table[i].refused_with : url_table[i].refused;
			char why[256] = "unset";
			int rc = guard_url_check(url_table[i].url, allow, why, sizeof why);
			if (!want) {
				cr_expect_eq(rc, 0, "%s (allow %d): %s", url_table[i].url, allow, why);
				cr_expect_str_empty(why, "%s", url_table[i].url);
			} else {
				cr_expect_eq(rc, CAT_PARAMETER_INVALID, "%s (allow %d)", url_table[i].url, allow);
				cr_expect(strstr(why, want) != NULL, "%s (allow %d): %s", url_table[i].url,
					  allow, why);
			}
		}
	}
}

Test(guard, url_reasons_read_well)
{
	char why[256];
	cr_assert_eq(guard_url_check("http://localhost/", false, why, sizeof why), CAT_PARAMETER_INVALID);
	cr_assert_str_eq(why, "url points to a private network address "
			      "(webhooks.allow_private_networks is off)");
	cr_assert_eq(guard_url_check("ftp://x", false, why, sizeof why), CAT_PARAMETER_INVALID);
	cr_assert_str_eq(why, "url must use http or https");
	cr_assert_eq(guard_url_check("ftp://x", false, why, 4), CAT_PARAMETER_INVALID);
	cr_assert_str_eq(why, "url", "cut to the room given");
	cr_assert_eq(guard_url_check("ftp://x", false, NULL, 0), CAT_PARAMETER_INVALID);
	cr_assert_eq(guard_url_check(NULL, true, why, sizeof why), CAT_PARAMETER_INVALID);
}

/* "https://example.com/" padded with path bytes to exactly len. */
static void url_of_length(char *out, size_t len)
{
	const char *head = "https://example.com/";
	size_t head_len = strlen(head);
	memcpy(out, head, head_len);
	memset(out + head_len, 'a', len - head_len);
	out[len] = '\0';
}

Test(guard, url_length_limit)
{
	static char url[GUARD_URL_MAX + 2];
	url_of_length(url, GUARD_URL_MAX);
	cr_assert_eq(guard_url_check(url, false, NULL, 0), 0);
	url_of_length(url, GUARD_URL_MAX + 1);
	char why[128];
	cr_assert_eq(guard_url_check(url, false, why, sizeof why), CAT_PARAMETER_INVALID);
	cr_assert_str_eq(why, "url must be 1 to 2048 characters");
}

Test(guard, host_name_length_limit)
{
	char url[GUARD_HOST_MAX + 32], host[GUARD_HOST_MAX + 2];
	/* labels of 63 'a' joined by dots, cut to the length wanted */
	for (size_t i = 0; i < sizeof host; i++)
		host[i] = (i % 64 == 63) ? '.' : 'a';
	host[GUARD_HOST_MAX] = '\0';
	snprintf(url, sizeof url, "https://%s/", host);
	cr_assert_eq(guard_url_check(url, false, NULL, 0), 0, "%s", url);
	host[GUARD_HOST_MAX] = 'b';
	host[GUARD_HOST_MAX + 1] = '\0';
	snprintf(url, sizeof url, "https://%s/", host);
	char why[128];
	cr_assert_eq(guard_url_check(url, false, why, sizeof why), CAT_PARAMETER_INVALID);
	cr_assert(strstr(why, "longer than 253") != NULL, "%s", why);
}

/* ---- connect time ----------------------------------------------------------------- */

/* A non-blocking listener on 127.0.0.1, its port in *port. */
static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sin;
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0, "%s", strerror(errno));
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Connects (only) to http://127.0.0.1:port/ through guard_opensocket. */
static CURLcode connect_through_guard(int port, struct guard_socket *g)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	CURL *easy = curl_easy_init();
	cr_assert_not_null(easy);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROXY, "");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, guard_opensocket);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, g);
	CURLcode rc = curl_easy_perform(easy);
	curl_easy_cleanup(easy);
	return rc;
}

static void curl_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void curl_teardown(void)
{
	curl_global_cleanup();
}

Test(guard, opensocket_refuses_loopback_without_allow_private, .init = curl_setup,
     .fini = curl_teardown)
{
	int port;
	int lfd = listen_loopback(&port);
	struct guard_socket g = {.allow_private = false};
	cr_assert_eq(connect_through_guard(port, &g), CURLE_COULDNT_CONNECT);
	cr_assert(g.refused);
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_eq(conn, -1, "the listener got a connection");
	cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "%s", strerror(errno));
	close(lfd);
}

Test(guard, opensocket_connects_with_allow_private, .init = curl_setup, .fini = curl_teardown)
{
	int port;
	int lfd = listen_loopback(&port);
	struct guard_socket g = {.allow_private = true};
	cr_assert_eq(connect_through_guard(port, &g), CURLE_OK);
	cr_assert_not(g.refused);
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(conn, 0, "%s", strerror(errno));
	close(conn);
	close(lfd);
}

Test(guard, opensocket_refuses_odd_addresses)
{
	struct guard_socket g = {.allow_private = true};
	struct curl_sockaddr a;
	memset(&a, 0, sizeof a);
	a.family = AF_UNIX;
	a.socktype = SOCK_STREAM;
	a.addrlen = sizeof a.addr;
	a.addr.sa_family = AF_UNIX;
	cr_assert_eq(guard_opensocket(&g, CURLSOCKTYPE_IPCXN, &a), CURL_SOCKET_BAD);
	cr_assert(g.refused);
	g.refused = false;
	a.family = AF_INET6; /* claims IPv6 but holds too few bytes for it */
	a.addr.sa_family = AF_INET6;
	cr_assert_eq(guard_opensocket(&g, CURLSOCKTYPE_IPCXN, &a), CURL_SOCKET_BAD);
	cr_assert(g.refused);
	cr_assert_eq(guard_opensocket(NULL, CURLSOCKTYPE_IPCXN, &a), CURL_SOCKET_BAD);
}
