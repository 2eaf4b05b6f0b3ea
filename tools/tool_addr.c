/* tool_addr.c - addresses from the command line, and their error lines. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tool_common.h"

int tool_is_combined(const char *arg)
{
	if (strncmp(arg, "unix:", 5) == 0 || arg[0] == '[')
		return 1;
	const char *c = strchr(arg, ':');
	return c && !strchr(c + 1, ':'); /* exactly one colon: HOST:PORT */
}

/* Splits a combined form for error messages only. */
static void split(const char *text, char *host, size_t hcap, char *port,
		  size_t pcap)
{
	const char *h = text, *p = "";
	size_t hl = strlen(text);
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		h = text + 1;
		hl = rb ? (size_t)(rb - h) : strlen(h);
		if (rb && rb[1] == ':')
			p = rb + 2;
	} else {
		const char *c = strrchr(text, ':');
		if (c) {
			hl = (size_t)(c - text);
			p = c + 1;
		}
	}
	snprintf(host, hcap, "%.*s", (int)hl, h);
	snprintf(port, pcap, "%s", p);
}

void tool_resolve(struct udp_addr *out, const char *host, const char *port,
		  int flags)
{
	int r;
	memset(out, 0, sizeof *out);
	if (!port && host[0] == ':' && (flags & UDP_ADDR_PASSIVE))
		r = udp_addr_from_host_port(out, NULL, host + 1, flags);
	else if (!port)
		r = udp_addr_parse(out, host, flags);
	else if ((flags & UDP_ADDR_PASSIVE) && (!host[0] || !strcmp(host, "*")))
		r = udp_addr_from_host_port(out, NULL, port, flags);
	else
		r = udp_addr_from_host_port(out, host, port, flags);
	if (r >= 0)
		return;

	char h[300], p[64];
	if (port) {
		snprintf(h, sizeof h, "%s", host);
		snprintf(p, sizeof p, "%s", port);
	} else {
		split(host, h, sizeof h, p, sizeof p);
	}
	const char *words = udpkit_strerror(r);
	switch (r) {
	case UDP_EADDR_PORT:
	case UDP_EADDR_PORTRANGE:
		tool_usage_die("bad port '%s': %s", p, words);
	case UDP_EADDR_NOHOST:
	case UDP_EADDR_RESOLVE:
	case UDP_EADDR_NOFAMILY:
		tool_die(TOOL_EXIT_ERR, "cannot resolve '%s': %s", h, words);
	case UDP_EADDR_SCOPE:
	case UDP_ESYS:
	case UDP_ENOMEM:
		tool_die(TOOL_EXIT_ERR, "address '%s%s%s': %s", host,
			 port ? " " : "", port ? port : "", words);
	default:
		tool_usage_die("bad address '%s%s%s': %s", host, port ? " " : "",
			       port ? port : "", words);
	}
}

int tool_addr_replyable(const struct udp_addr *a)
{
	if (a->len == 0)
		return 0;
	if (a->u.sa.sa_family == AF_UNIX &&
	    a->len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	return 1;
}

const char *tool_addr_str(const struct udp_addr *a, char *buf, size_t cap)
{
	/* a v4 sender seen by a dual-stack socket: show it as IPv4 */
	if (a->len >= sizeof(struct sockaddr_in6) && a->u.sa.sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr)) {
		struct udp_addr v4;
		memset(&v4, 0, sizeof v4);
		v4.u.in4.sin_family = AF_INET;
		v4.u.in4.sin_port = a->u.in6.sin6_port;
		memcpy(&v4.u.in4.sin_addr, &a->u.in6.sin6_addr.s6_addr[12], 4);
		v4.len = sizeof v4.u.in4;
		if (udp_addr_format(&v4, buf, cap) >= 0)
			return buf;
	}
	if (a->len == 0 || (a->u.sa.sa_family == AF_UNIX && !tool_addr_replyable(a)))
		snprintf(buf, cap, "%s", a->len ? "unix:" : "-");
	else if (udp_addr_format(a, buf, cap) < 0)
		snprintf(buf, cap, "?");
	return buf;
}
