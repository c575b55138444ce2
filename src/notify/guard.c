/* notify/guard: the SSRF guard for webhook deliveries (see guard.h).
 * Address classes come from two first-match tables (IPv4 by prefix, IPv6
 * by prefix after unwrapping embedded IPv4), so a new range is one row.
 * URLs are read by libcurl's own parser, the one the delivery uses, and
 * its normalised host (curl turns "2852039166" or "0xA9FEA9FE" into
 * "169.254.169.254") is what gets classified; inet_aton backs that up for
 * a libcurl that leaves such a form alone, since the resolver would still
 * read it as an address. */
#include "notify/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/catalog.h"

#define GUARD_STR_(x) #x
#define GUARD_STR(x) GUARD_STR_(x)

#define REASON_FORBIDDEN "url points to a link-local, cloud metadata or other forbidden address"
#define REASON_PRIVATE \
	"url points to a private network address (webhooks.allow_private_networks is off)"

/* ---- addresses ------------------------------------------------------------------- */

#define V4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

struct v4_range {
	uint32_t net;
	int bits;
	enum guard_class cls;
};

/* First match wins: the single metadata addresses come before the
 * ranges holding them (100.100.100.200 is inside 100.64/10). */
static const struct v4_range v4_ranges[] = {
	{V4(169, 254, 169, 254), 32, GUARD_FORBIDDEN}, /* AWS, GCP, Azure, ... metadata */
	{V4(100, 100, 100, 200), 32, GUARD_FORBIDDEN}, /* Alibaba Cloud metadata */
	{V4(192, 0, 0, 192), 32, GUARD_FORBIDDEN},     /* Oracle Cloud metadata */
	{V4(0, 0, 0, 0), 8, GUARD_FORBIDDEN},          /* "this network", unspecified */
	{V4(169, 254, 0, 0), 16, GUARD_FORBIDDEN},     /* link-local */
	{V4(224, 0, 0, 0), 4, GUARD_FORBIDDEN},        /* multicast */
	{V4(240, 0, 0, 0), 4, GUARD_FORBIDDEN},        /* reserved, broadcast */
	{V4(127, 0, 0, 0), 8, GUARD_PRIVATE},          /* loopback */
	{V4(10, 0, 0, 0), 8, GUARD_PRIVATE},           /* RFC 1918 */
	{V4(172, 16, 0, 0), 12, GUARD_PRIVATE},        /* RFC 1918 */
	{V4(192, 168, 0, 0), 16, GUARD_PRIVATE},       /* RFC 1918 */
	{V4(100, 64, 0, 0), 10, GUARD_PRIVATE},        /* CGNAT, RFC 6598 */
	{V4(198, 18, 0, 0), 15, GUARD_PRIVATE},        /* benchmarking, RFC 2544 */
};

static enum guard_class classify_v4(uint32_t addr)
{
	for (size_t i = 0; i < sizeof v4_ranges / sizeof v4_ranges[0]; i++) {
		uint32_t mask = v4_ranges[i].bits == 0 ? 0 : UINT32_MAX << (32 - v4_ranges[i].bits);
		if ((addr & mask) == v4_ranges[i].net)
			return v4_ranges[i].cls;
	}
	return GUARD_PUBLIC;
}

struct v6_range {
	uint8_t net[16];
	int bits;
	enum guard_class cls;
};

static const struct v6_range v6_ranges[] = {
	{{0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, 128, GUARD_FORBIDDEN}, /* AWS metadata */
	{{[15] = 0x01}, 128, GUARD_PRIVATE},  /* ::1 loopback */
	{{0}, 128, GUARD_FORBIDDEN},          /* :: unspecified */
	{{0xfe, 0x80}, 10, GUARD_FORBIDDEN},  /* link-local */
	{{0xff}, 8, GUARD_FORBIDDEN},         /* multicast */
	{{0xfc}, 7, GUARD_PRIVATE},           /* unique local */
	{{0xfe, 0xc0}, 10, GUARD_PRIVATE},    /* old site-local */
	{{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, GUARD_PRIVATE}, /* local-use NAT64 */
};

/* Prefixes whose last 32 bits are an IPv4 address that is reached. */
static const struct v6_range v6_embedding[] = {
	{{[10] = 0xff, [11] = 0xff}, 96, GUARD_PUBLIC},                    /* ::ffff:0:0/96 mapped */
	{{[8] = 0xff, [9] = 0xff}, 96, GUARD_PUBLIC},                      /* ::ffff:0:0:0/96 translated */
	{{0}, 96, GUARD_PUBLIC},                                           /* ::/96 compatible */
	{{0x00, 0x64, 0xff, 0x9b}, 96, GUARD_PUBLIC},                      /* NAT64 well-known */
	{{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, GUARD_PUBLIC},          /* local-use NAT64 */
};

static bool prefix_match(const uint8_t *addr, const uint8_t *net, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(addr, net, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (addr[whole] & mask) == (net[whole] & mask);
}

static enum guard_class stricter(enum guard_class a, enum guard_class b)
{
	return a > b ? a : b;
}

static enum guard_class classify_v6(const uint8_t addr[16])
{
	enum guard_class cls = GUARD_PUBLIC;
	size_t i;
	for (i = 0; i < sizeof v6_ranges / sizeof v6_ranges[0]; i++)
		if (prefix_match(addr, v6_ranges[i].net, v6_ranges[i].bits))
			break;
	if (i < sizeof v6_ranges / sizeof v6_ranges[0]) {
		cls = v6_ranges[i].cls;
		if (v6_ranges[i].bits == 128)
			return cls; /* ::, ::1 and the metadata address are exact */
	}
	for (size_t j = 0; j < sizeof v6_embedding / sizeof v6_embedding[0]; j++) {
		if (prefix_match(addr, v6_embedding[j].net, v6_embedding[j].bits)) {
			uint32_t v4 = V4(addr[12], addr[13], addr[14], addr[15]);
			return stricter(cls, classify_v4(v4));
		}
	}
	return cls;
}

enum guard_class guard_classify(const struct sockaddr *sa)
{
	if (!sa)
		return GUARD_FORBIDDEN;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return classify_v4(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return classify_v6(in6->sin6_addr.s6_addr);
	}
	return GUARD_FORBIDDEN;
}

bool guard_address_allowed(const struct sockaddr *sa, bool allow_private)
{
	enum guard_class cls = guard_classify(sa);
	return cls == GUARD_PUBLIC || (cls == GUARD_PRIVATE && allow_private);
}

/* ---- URLs ------------------------------------------------------------------------ */

static const char *class_reason(enum guard_class cls, bool allow_private)
{
	if (cls == GUARD_FORBIDDEN)
		return REASON_FORBIDDEN;
	if (cls == GUARD_PRIVATE && !allow_private)
		return REASON_PRIVATE;
	return NULL;
}

/* Checks on the text itself, before libcurl reads it (libcurl is lenient
 * about "http:/x" and "http:///x"; a fragment is never sent at all). */
static const char *text_problem(const char *url)
{
	size_t len = url ? strnlen(url, GUARD_URL_MAX + 1) : 0;
	if (len == 0 || len > GUARD_URL_MAX)
		return "url must be 1 to " GUARD_STR(GUARD_URL_MAX) " characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= ' ' || c >= 0x7f)
			return "url must not contain spaces, control or non-ASCII characters";
	}
	size_t scheme_len;
	if (strncasecmp(url, "http://", 7) == 0)
		scheme_len = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme_len = 8;
	else
		return "url must use http or https";
	if (url[scheme_len] == '\0' || url[scheme_len] == '/')
		return "url must have a host";
	if (strchr(url, '#'))
		return "url must not have a fragment";
	return NULL;
}

/* Host names payd knows without asking DNS. */
static enum guard_class name_class(const char *name)
{
	static const char *const forbidden[] = {"metadata", "metadata.google.internal", "instance-data"};
	size_t len = strlen(name), suffix = sizeof ".localhost" - 1;
	if (strcmp(name, "localhost") == 0 ||
	    (len > suffix && strcmp(name + len - suffix, ".localhost") == 0))
		return GUARD_PRIVATE;
	for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
		if (strcmp(name, forbidden[i]) == 0)
			return GUARD_FORBIDDEN;
	return GUARD_PUBLIC;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* A bracketed IPv6 literal "[...]" as libcurl gives it back. */
static const char *ipv6_problem(const char *host, size_t len, bool allow_private)
{
	char text[INET6_ADDRSTRLEN];
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
	if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof text)
		return "url host is not a valid IPv6 address";
	memcpy(text, host + 1, len - 2);
	text[len - 2] = '\0';
	if (inet_pton(AF_INET6, text, &sa6.sin6_addr) != 1)
		return "url host is not a valid IPv6 address";
	return class_reason(guard_classify((const struct sockaddr *)&sa6), allow_private);
}

/* A host name or IPv4 literal: lowercased, one trailing dot dropped. */
static const char *name_problem(const char *host, size_t len, bool allow_private)
{
	char name[GUARD_HOST_MAX + 2];
	if (len > GUARD_HOST_MAX + 1)
		return "url host is longer than " GUARD_STR(GUARD_HOST_MAX) " characters";
	for (size_t i = 0; i < len; i++)
		name[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
	if (len > 1 && name[len - 1] == '.')
		len--;
	name[len] = '\0';
	if (len > GUARD_HOST_MAX)
		return "url host is longer than " GUARD_STR(GUARD_HOST_MAX) " characters";
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(name[i]))
			return "url host may hold only letters, digits, '-', '.' and '_'";
	struct sockaddr_in sa4 = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, name, &sa4.sin_addr) == 1 || inet_aton(name, &sa4.sin_addr) != 0)
		return class_reason(guard_classify((const struct sockaddr *)&sa4), allow_private);
	return class_reason(name_class(name), allow_private);
}

static const char *host_problem(const char *host, bool allow_private)
{
	size_t len = host ? strlen(host) : 0;
	if (len == 0)
		return "url must have a host";
	if (host[0] == '[')
		return ipv6_problem(host, len, allow_private);
	return name_problem(host, len, allow_private);
}

static bool has_part(CURLU *u, CURLUPart part)
{
	char *value = NULL;
	CURLUcode rc = curl_url_get(u, part, &value, 0);
	curl_free(value);
	return rc == CURLUE_OK;
}

static const char *port_problem(CURLU *u)
{
	char *port = NULL;
	const char *reason = NULL;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		goto out; /* none given */
	char *end;
	long n = strtol(port, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535)
		reason = "url port must be 1 to 65535";
out:
	curl_free(port);
	return reason;
}

static const char *set_problem(CURLUcode rc)
{
	switch (rc) {
	case CURLUE_UNSUPPORTED_SCHEME:
		return "url must use http or https";
	case CURLUE_NO_HOST:
		return "url must have a host";
	case CURLUE_BAD_PORT_NUMBER:
		return "url port must be 1 to 65535";
	default:
		return "url is not a valid URL";
	}
}

/* The parts as libcurl reads them.  *oom is set when it ran out of memory. */
static const char *parts_problem(CURLU *u, const char *url, bool allow_private, bool *oom)
{
	char *scheme = NULL, *host = NULL;
	const char *reason = NULL;
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		*oom = rc == CURLUE_OUT_OF_MEMORY;
		reason = set_problem(rc);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		reason = "url must use http or https";
	else if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD))
		reason = "url must not contain a user name or password";
	else if (has_part(u, CURLUPART_FRAGMENT))
		reason = "url must not have a fragment";
	else if (has_part(u, CURLUPART_ZONEID))
		reason = "url must not have an IPv6 zone id";
	else if (!(reason = port_problem(u))) {
		if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
			reason = "url must have a host";
		else
			reason = host_problem(host, allow_private);
	}
out:
	curl_free(scheme);
	curl_free(host);
	return reason;
}

int guard_url_check(const char *url, bool allow_private, char *why, size_t why_cap)
{
	CURLU *u = NULL;
	bool oom = false;
	const char *reason = text_problem(url);
	if (!reason) {
		u = curl_url();
		oom = u == NULL;
		reason = u ? parts_problem(u, url, allow_private, &oom) : "out of memory";
	}
	curl_url_cleanup(u);
	if (why && why_cap > 0)
		snprintf(why, why_cap, "%s", reason ? reason : "");
	if (!reason)
		return CAT_OK;
	return oom ? CAT_INTERNAL : CAT_PARAMETER_INVALID;
}

/* ---- connect time ------------------------------------------------------------------ */

static bool socket_address_allowed(const struct curl_sockaddr *address, bool allow_private)
{
	struct sockaddr_storage ss;
	size_t need = address->family == AF_INET    ? sizeof(struct sockaddr_in)
		      : address->family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : 0;
	if (need == 0 || address->addrlen < need || need > sizeof ss)
		return false;
	memcpy(&ss, &address->addr, need);
	return guard_address_allowed((const struct sockaddr *)&ss, allow_private);
}

curl_socket_t guard_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	struct guard_socket *g = clientp;
	(void)purpose;
	if (!g || !address || !socket_address_allowed(address, g->allow_private)) {
		if (g)
			g->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}
