/* notify/guard: keeps webhook deliveries away from addresses payd must
 * not reach (SSRF).  Two layers: guard_url_check refuses an endpoint URL
 * when it is registered (bad scheme, credentials, an IP literal or a
 * well-known name of a forbidden or private place), and
 * guard_opensocket, installed as libcurl's CURLOPT_OPENSOCKETFUNCTION,
 * refuses every connection to such an address at connect time, so a
 * name that resolves (or later re-resolves: DNS rebinding) there is never
 * reached.  Link-local and cloud metadata addresses are always refused;
 * private networks only unless allow_private is set.
 *
 * The socket check sees the address libcurl connects to: a transfer that
 * goes through a proxy is checked against the proxy, so deliveries must
 * set CURLOPT_PROXY to "" (libcurl otherwise reads http_proxy and friends
 * from the environment). */
#ifndef PAYD_NOTIFY_GUARD_H
#define PAYD_NOTIFY_GUARD_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum guard_class {
	GUARD_PUBLIC,
	GUARD_PRIVATE,   /* reachable only with allow_private */
	GUARD_FORBIDDEN, /* never */
};

/* FORBIDDEN: unspecified (0.0.0.0/8, ::), link-local (169.254/16,
 * fe80::/10), multicast (224/4, ff00::/8), reserved and broadcast 240/4,
 * cloud metadata (169.254.169.254, 100.100.100.200, 192.0.0.192,
 * fd00:ec2::254), anything not AF_INET/AF_INET6 (or NULL).  PRIVATE:
 * loopback (127/8, ::1), 10/8, 172.16/12, 192.168/16, 100.64/10,
 * 198.18/15, fc00::/7, fec0::/10 (old site-local), 64:ff9b:1::/48
 * (local-use NAT64).  IPv4-mapped (::ffff:0:0/96), IPv4-compatible
 * (::/96) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48) addresses are
 * classified by the IPv4 address in their last 32 bits.  Else PUBLIC. */
enum guard_class guard_classify(const struct sockaddr *sa);
bool guard_address_allowed(const struct sockaddr *sa, bool allow_private);

#define GUARD_URL_MAX 2048 /* bytes of an endpoint URL */
#define GUARD_HOST_MAX 253 /* bytes of a host name (DNS limit) */

/* Validates a webhook endpoint URL (parsed by libcurl's URL API, so it is
 * read the way the delivery will read it): http or https only, a host,
 * no user or password, no fragment, no IPv6 zone id, 1..GUARD_URL_MAX
 * bytes of printable ASCII without spaces, a port (when given) of
 * 1..65535, a host name of letters, digits, '-', '.' and '_'.  An IP
 * literal host (in whatever form libcurl accepts: "2852039166",
 * "0xA9FEA9FE", "[::ffff:a9fe:a9fe]") is classified with guard_classify;
 * "localhost" and "*.localhost" count as private, "metadata",
 * "metadata.google.internal" and "instance-data" as forbidden.  Returns 0
 * when acceptable, else CAT_PARAMETER_INVALID with a short English reason
 * in why[0..why_cap) (why may be NULL). */
int guard_url_check(const char *url, bool allow_private, char *why, size_t why_cap);

/* CURLOPT_OPENSOCKETFUNCTION; CURLOPT_OPENSOCKETDATA is a struct
 * guard_socket.  Returns CURL_SOCKET_BAD (and sets refused) for an
 * address guard_address_allowed refuses, else opens the socket as
 * libcurl's default does. */
struct guard_socket {
	bool allow_private;
	bool refused; /* set when any address was refused */
};
curl_socket_t guard_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);

#endif
