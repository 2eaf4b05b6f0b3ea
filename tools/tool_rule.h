/* tool_rule.h - udprelay's per-client rules: `ADDR[/PREFIX] SPEC`, a
 * netsim spec for the clients whose address falls in a prefix. */
#ifndef TOOL_RULE_H
#define TOOL_RULE_H

#include "netsim.h"
#include "udp_addr.h"

struct tool_rule {
	int family;                /* AF_INET or AF_INET6 */
	unsigned char net[16];     /* the prefix, host bits cleared */
	unsigned bits;             /* prefix length */
	char name[64];             /* ADDR/PREFIX as given, for --stats */
	struct netsim_config cfg;  /* parsed once; each client gets its own model */
};

/* Parses one --client argument: the first word is ADDR or ADDR/PREFIX (a
 * numeric IPv4 or IPv6 address; no prefix means the one host), the rest
 * the spec (may be empty: that client is not impaired).  A bad argument is
 * a usage error naming opt. */
void tool_rule_parse(struct tool_rule *r, const char *opt, const char *arg);
/* Does address a (an IPv4-mapped IPv6 address counts as IPv4) fall in r? */
int tool_rule_match(const struct tool_rule *r, const struct udp_addr *a);

#endif
