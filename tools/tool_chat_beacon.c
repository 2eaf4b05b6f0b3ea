/* tool_chat_beacon.c - udpchat's beacons, and the datagram loop of its data
 * socket with the gate that keeps a forged beacon from turning udpchat into
 * a reflector (see tool_chat_app.h and docs/CHAT.md, "Hostile beacons"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rel_wire.h"
#include "tool_chat_app.h"
#include "tool_common.h"
#include "udp_err.h"
#include "seal.h"
#include "seal_sock.h"

/* one padded beacon pays for one HELLO */
_Static_assert(CHAT_BEACON_MIN >= REL_HELLO_LEN, "a beacon smaller than a HELLO");

void chat_send_beacon(struct chat *c, uint8_t type)
{
	uint8_t buf[CHAT_PKT_MAX];
	int len = chat_encode(c, type, NULL, 0, buf, sizeof buf);
	if (len < 0)
		return;
	if (c->bsock) {
		/* padded: a receiver that connects to us answers it with a
		 * HELLO of REL_HELLO_LEN bytes, paid for by this beacon */
		static const uint8_t zeros[CHAT_BEACON_MIN];
		uint8_t pad[CHAT_PKT_MAX];
		int plen = chat_encode(c, type, zeros, sizeof zeros, pad, sizeof pad);
		int r = plen < 0 ? plen : udp_sock_send(c->data, pad, (size_t)plen, &c->group);
		if (r < 0)
			tool_debug("beacon: %s", udpkit_strerror(r));
	}
	if (type != CHAT_BEACON)
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

static struct sess *gated_by_addr(struct chat *c, const struct udp_addr *a)
{
	struct sess *s = chat_sess_by_addr(c, a);
	return s && s->gated ? s : NULL;
}

static void chat_on_beacon(struct chat *c, const struct udp_msg *m)
{
	struct chat_pkt p;
	if (chat_pkt_decode(&p, m->buf, m->len) < 0 || !p.port) {
		c->bst.drop_bad++;
		return;
	}
	if (p.id == c->id) {
		c->bst.own++;
		return;
	}
	if (p.type != CHAT_BEACON) { /* LEAVE: the session's BYE says it */
		if (p.type == CHAT_LEAVE)
			c->bst.leave++;
		else
			c->bst.drop_type++;
		return;
	}
	struct udp_addr a = m->addr;
	udp_addr_set_port(&a, p.port);
	chat_unspecified_to_loopback(&a);
	struct sess *s = gated_by_addr(c, &a);
	if (s) { /* it beacons on while its HELLO waits: more credit */
		uint32_t cr = s->credit + (uint32_t)m->len;
		s->credit = cr > CHAT_CREDIT_MAX ? CHAT_CREDIT_MAX : cr;
		c->bst.credit++;
		return;
	}
	struct chat_event ev;
	if (chat_roster_get(c->roster, p.id, NULL) == 0) {
		c->bst.known++;
		if (chat_roster_seen(c->roster, p.id, now_us(), &ev) == 1)
			chat_show_presence(c, "back", ev.id, ev.name, NULL);
		return;
	}
	/* A new peer.  Only the smaller id connects, so two peers that hear
	 * each other's beacons open one session, not two. */
	if (c->quitting || p.id < c->id || chat_sess_by_id(c, p.id) || chat_sess_by_addr(c, &a)) {
		c->bst.wait++;
		return;
	}
	/* Nothing proves that the beacon came from its source address.  A
	 * session to it may send only what its beacons paid for, and few
	 * such sessions wait at once (each holds a core slot until --gone). */
	if (m->len < CHAT_BEACON_MIN) {
		c->bst.drop_short++;
		return;
	}
	if (c->ngated >= CHAT_MAX_GATED) {
		c->bst.drop_busy++;
		return;
	}
	/* the HELLO is only queued: the gate sees it at the next flush */
	s = chat_connect_to(c, &a, p.id, 0);
	if (!s) { /* no session slot left */
		c->bst.drop_busy++;
		return;
	}
	s->gated = 1;
	s->credit = (uint32_t)m->len;
	c->ngated++;
	c->bst.connect++;
}

void chat_read_beacons(struct chat *c)
{
	uint8_t buf[CHAT_PKT_MAX + 1];
	for (int k = 0; k < 64; k++) {
		struct udp_msg m = { .buf = buf, .cap = sizeof buf };
		int r = udp_sock_recv(c->bsock, &m);
		if (r < 0)
			return;
		c->bst.in++;
		if (m.flags & UDP_MSG_TRUNC)
			c->bst.drop_trunc++;
		else
			chat_on_beacon(c, &m);
	}
}

/* ---- the gate ----
 *
 * The core queues what a session sends, HELLO retransmissions included, and
 * cannot be told to stop a handshake; so the gate sits between its
 * out-queue and the socket (rel_drv_set_gate).  A datagram of a gated session goes out only
 * while the session's credit (beacon bytes received from that address)
 * covers it; otherwise it is dropped as a lost datagram would be, and the
 * core's retransmission timer tries again later, when the next beacon may
 * have paid for it.  The first packet of the session that arrives (the
 * COOKIE, addressed to the session's random id, so not blind-forgeable)
 * proves that the address answers: the gate opens for good. */

static int orphan_at(const struct chat *c, uint32_t rel)
{
	for (int i = 0; i < c->norphan; i++)
		if (c->orphan[i] == rel)
			return i;
	return -1;
}

void chat_gate_forget(struct chat *c, uint32_t rel)
{
	int i = orphan_at(c, rel);
	if (i < 0)
		return;
	c->orphan[i] = c->orphan[--c->norphan];
	c->ngated--;
}

void chat_gate_release(struct chat *c, struct sess *s, int handshake)
{
	if (!s->gated)
		return;
	s->gated = 0;
	if (handshake && c->norphan < MAX_PEERS)
		c->orphan[c->norphan++] = s->rel;
	else
		c->ngated--;
}

static int answered(const struct chat *c, uint32_t rel)
{
	struct rel_stats st;
	return rel_peer_stats(c->core, rel, &st) == 0 && st.pkts_recv > 0;
}

/* 1: send g, 0: drop it. */
int chat_gate(void *ctx, const struct rel_dgram *g)
{
	struct chat *c = ctx;
	if (!c->ngated || !g->peer)
		return 1; /* the core's own replies to strangers: never larger */
	struct sess *s = chat_sess_by_rel(c, g->peer);
	if (s && !s->gated)
		return 1;
	if (answered(c, g->peer)) {
		if (s)
			chat_gate_release(c, s, 0);
		else
			chat_gate_forget(c, g->peer);
		return 1;
	}
	if (!s && orphan_at(c, g->peer) < 0)
		return 1;
	if (s && s->credit >= g->len) {
		s->credit -= (uint32_t)g->len;
		c->gst.sent++;
		c->gst.sent_bytes += g->len;
		return 1;
	}
	c->gst.held++;
	return 0;
}

/* --stats: the beacon port (with its seal counters when sealed) and the
 * gate, one line each. */
void chat_beacon_stats(struct chat *c)
{
	const struct chat_beacon_stats *b = &c->bst;
	if (c->bsock) {
		char seal[160] = "";
		struct seal_stats st;
		if (seal_sock_stats(c->bsock, &st) > 0)
			snprintf(seal, sizeof seal,
				 " sealed_opened=%llu drop_plaintext=%llu drop_sealshort=%llu"
				 " drop_auth=%llu drop_wrongkey=%llu drop_replay=%llu",
				 (unsigned long long)st.opened, (unsigned long long)st.drop_plaintext,
				 (unsigned long long)(st.drop_short + st.drop_header),
				 (unsigned long long)st.drop_auth, (unsigned long long)st.drop_wrongkey,
				 (unsigned long long)(st.drop_replay + st.drop_old + st.drop_reflect));
		tool_err("beacons: in=%llu own=%llu known=%llu wait=%llu connect=%llu credit=%llu "
			 "leave=%llu drop_trunc=%llu drop_bad=%llu drop_type=%llu drop_short=%llu "
			 "drop_busy=%llu%s",
			 (unsigned long long)b->in, (unsigned long long)b->own,
			 (unsigned long long)b->known, (unsigned long long)b->wait,
			 (unsigned long long)b->connect, (unsigned long long)b->credit,
			 (unsigned long long)b->leave, (unsigned long long)b->drop_trunc,
			 (unsigned long long)b->drop_bad, (unsigned long long)b->drop_type,
			 (unsigned long long)b->drop_short, (unsigned long long)b->drop_busy, seal);
	}
	tool_err("gate: sent=%llu sent_bytes=%llu held=%llu waiting=%d",
		 (unsigned long long)c->gst.sent, (unsigned long long)c->gst.sent_bytes,
		 (unsigned long long)c->gst.held, c->ngated);
}
