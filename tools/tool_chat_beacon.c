/* tool_chat_beacon.c - udpchat's beacons (see tool_chat_app.h). */
#include <string.h>

#include "tool_chat_app.h"
#include "tool_common.h"

void chat_send_beacon(struct chat *c, uint8_t type)
{
	uint8_t buf[UDP_CHAT_PKT_MAX];
	int len = chat_encode(c, type, NULL, 0, buf, sizeof buf);
	if (len < 0)
		return;
	if (c->bsock) {
		int r = udp_sock_send(c->data, buf, (size_t)len, &c->group);
		if (r < 0)
			tool_debug("beacon: %s", udp_strerror(r));
	}
	if (type != UDP_CHAT_BEACON)
		return;
	/* the same beacon inside each session: presence without multicast */
	for (int i = 0; i < MAX_PEERS; i++)
		if (c->s[i].used && c->s[i].id && !c->s[i].closing)
			rel_send(c->core, c->s[i].rel, buf, (size_t)len, REL_DGRAM, now_us(), NULL);
}

/* A multicast route of scope link on lo (a test namespace) makes the
 * kernel send beacons from 0.0.0.0 or ::.  Such a sender is on this host,
 * and its sessions answer from loopback, so that is where to connect. */
static void chat_unspecified_to_loopback(struct udp_addr *a)
{
	if (udp_addr_family(a) == AF_INET && a->u.in4.sin_addr.s_addr == htonl(INADDR_ANY))
		a->u.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (udp_addr_family(a) == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr))
		a->u.in6.sin6_addr = in6addr_loopback;
}

static void chat_on_beacon(struct chat *c, const struct udp_msg *m)
{
	struct udp_chat_pkt p;
	if (udp_chat_decode(&p, m->buf, m->len) < 0 || p.id == c->id)
		return;
	if (p.type != UDP_CHAT_BEACON) /* LEAVE: the session's BYE says it */
		return;
	struct udp_chat_event ev;
	if (udp_chat_roster_get(c->roster, p.id, NULL) == 0) {
		if (udp_chat_roster_seen(c->roster, p.id, now_us(), &ev) == 1)
			chat_show_presence(c, "back", ev.id, ev.name, NULL);
		return;
	}
	/* A new peer.  Only the smaller id connects, so two peers that hear
	 * each other's beacons open one session, not two. */
	if (c->quitting || p.id < c->id || chat_sess_by_id(c, p.id))
		return;
	struct udp_addr a = m->addr;
	udp_addr_set_port(&a, p.port);
	chat_unspecified_to_loopback(&a);
	if (chat_sess_by_addr(c, &a))
		return;
	chat_connect_to(c, &a, p.id, 0);
}

void chat_read_beacons(struct chat *c)
{
	uint8_t buf[UDP_CHAT_PKT_MAX + 1];
	for (int k = 0; k < 64; k++) {
		struct udp_msg m = { .buf = buf, .cap = sizeof buf };
		int r = udp_sock_recv(c->bsock, &m);
		if (r < 0)
			return;
		if (!(m.flags & UDP_MSG_TRUNC))
			chat_on_beacon(c, &m);
	}
}
