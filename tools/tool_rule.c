/* tool_rule.c - parsing and matching udprelay's --client rules. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"
#include "tool_rule.h"

void tool_rule_parse(struct tool_rule *r, const char *opt, const char *arg)
{
	memset(r, 0, sizeof *r);
	size_t n = strcspn(arg, " \t\n");
	if (n == 0 || n >= sizeof r->name)
		tool_usage_die("%s: '%s' does not start with ADDR[/PREFIX]", opt, arg);
	memcpy(r->name, arg, n);
	char addr[64];
	memcpy(addr, arg, n);
	addr[n] = 0;
	char *slash = strchr(addr, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, addr, r->net) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, r->net) == 1)
		r->family = AF_INET6;
	else
		tool_usage_die("%s: '%s' is not a numeric IPv4 or IPv6 address", opt, addr);
	unsigned max = r->family == AF_INET ? 32 : 128;
	r->bits = max;
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash, &end, 10);
		if (!*slash || *end || *slash == '-' || *slash == '+' || b > max)
			tool_usage_die("%s: bad prefix length '/%s' (0-%u)", opt, slash, max);
		r->bits = (unsigned)b;
	}
	/* clear the host bits so that matching compares whole bytes */
	for (unsigned i = 0; i < max / 8; i++) {
		unsigned keep = r->bits > i * 8 ? r->bits - i * 8 : 0;
		if (keep < 8)
			r->net[i] &= (unsigned char)(0xff00 >> keep);
	}
	char err[256];
	if (netsim_parse(&r->cfg, arg + n, err, sizeof err) < 0)
		tool_usage_die("%s %s: %s", opt, r->name, err);
}

int tool_rule_match(const struct tool_rule *r, const struct udp_addr *a)
{
	const unsigned char *p;
	int fam = udp_addr_family(a);
	if (fam == AF_INET) {
		p = (const unsigned char *)&a->u.in4.sin_addr;
	} else if (fam == AF_INET6) {
		p = a->u.in6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr)) {
			fam = AF_INET;
			p += 12;
		}
	} else {
		return 0;
	}
	if (fam != r->family)
		return 0;
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(p, r->net, full))
		return 0;
	return !rest || (p[full] & (unsigned char)(0xff00 >> rest)) == r->net[full];
}
