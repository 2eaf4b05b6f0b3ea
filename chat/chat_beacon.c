/* chat_beacon.c - a chat group's beacons: sent to the group and inside
 * each session, and received from the beacon port, where a new peer is
 * met (see chat_group_int.h and docs/CHAT.md, "Hostile beacons"). */
#include <string.h>

#include "chat_group_int.h"
#include "rel_wire.h"

/* one padded beacon pays for one HELLO */
_Static_assert(CHAT_BEACON_MIN >= REL_HELLO_LEN, "a beacon smaller than a HELLO");

void chat_send_beacon(struct chat_group *g, uint8_t type, uint64_t now)
{
	uint8_t buf[CHAT_PKT_MAX];
	int len = chat_encode(g, type, NULL, 0, buf, sizeof buf);
	if (len < 0)
		return;
	if (g->cfg.group) {
		/* padded: a receiver that connects to us answers it with a
		 * HELLO of REL_HELLO_LEN bytes, paid for by this beacon */
		static const uint8_t zeros[CHAT_BEACON_MIN];
		uint8_t pad[CHAT_PKT_MAX];
		int plen = chat_encode(g, type, zeros, sizeof zeros, pad, sizeof pad);
		struct udp_sock *out = g->cfg.beacon_out ? g->cfg.beacon_out : g->cfg.data;
		int r = plen < 0 ? plen : udp_sock_send(out, pad, (size_t)plen, g->cfg.group);
		if (r < 0)
			chat_note(g, CHAT_NOTE_BEACON_FAILED, g->cfg.group, r, 0);
	}
	if (type != CHAT_BEACON)
		return;
	/* the same beacon inside each session: presence without multicast */
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		if (g->s[i].used && g->s[i].id && !g->s[i].closing)
			rel_send(g->cfg.core, g->s[i].rel, buf, (size_t)len, REL_DGRAM, now, NULL);
}

/* Rate: under loss, a new peer is met one beacon (and, for the gated
 * HELLO, one beacon's credit) after the last one lost, so while peers come
 * and go beacons go out at beacon_us / CHAT_BEACON_FAST_DIV, and the gap
 * doubles after each one back to beacon_us when nothing new is heard.  A
 * stream of forged beacons keeps us at the fast rate at worst, to the
 * group (not to the forger). */
void chat_beacon_hurry(struct chat_group *g, uint64_t now)
{
	uint64_t fast = g->cfg.beacon_us / CHAT_BEACON_FAST_DIV;
	if (g->beacon_gap <= fast)
		return;
	g->beacon_gap = fast;
	if (g->next_beacon > now + fast)
		g->next_beacon = now + fast;
}

uint64_t chat_beacon_next_gap(struct chat_group *g)
{
	uint64_t gap = g->beacon_gap ? g->beacon_gap : g->cfg.beacon_us;
	g->beacon_gap = gap * 2 < g->cfg.beacon_us ? gap * 2 : g->cfg.beacon_us;
	return gap;
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

static struct chat_sess *gated_by_addr(struct chat_group *g, const struct udp_addr *a)
{
	struct chat_sess *s = chat_sess_by_addr(g, a);
	return s && s->gated ? s : NULL;
}

/* A fixed, well-mixed order of the members for each new id (SplitMix64's
 * finaliser): members that see the same group agree on it, no one talks. */
static uint64_t chat_rank_key(uint64_t newcomer, uint64_t member)
{
	uint64_t z = newcomer ^ (member * 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Every member hears a beacon sent to the group; if all of them answered a
 * forged one, its "source" would get one HELLO per member.  So only one
 * answers: of the members that may connect to id (smaller ids) and whose
 * beacons we heard on the group within gone_us (they hear it too), the
 * one with the smallest chat_rank_key.  The others learn the newcomer
 * from that member's peer lists (chat_pex.c). */
static int chat_beacon_mine(struct chat_group *g, uint64_t id, uint64_t now)
{
	uint64_t mine = chat_rank_key(id, g->cfg.id);
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++) {
		const struct chat_sess *s = &g->s[i];
		if (!s->used || !s->id || s->closing || s->id >= id || !s->heard ||
		    now - s->heard > g->cfg.gone_us)
			continue;
		if (chat_rank_key(id, s->id) < mine)
			return 0;
	}
	return 1;
}

static void chat_on_beacon(struct chat_group *g, const struct udp_msg *m, uint64_t now)
{
	struct chat_beacon_stats *bst = &g->st.beacons;
	struct chat_pkt p;
	if (chat_pkt_decode(&p, m->buf, m->len) < 0 || !p.port) {
		bst->drop_bad++;
		return;
	}
	if (p.id == g->cfg.id) {
		bst->own++;
		return;
	}
	if (p.type != CHAT_BEACON) { /* LEAVE: the session's BYE says it */
		if (p.type == CHAT_LEAVE)
			bst->leave++;
		else
			bst->drop_type++;
		return;
	}
	struct udp_addr a = m->addr;
	udp_addr_set_port(&a, p.port);
	chat_unspecified_to_loopback(&a);
	/* Only the id that the session expects pays: a stream of forged
	 * beacons from one address with fresh ids must not credit every
	 * member that answered one of them. */
	struct chat_sess *s = gated_by_addr(g, &a);
	if (s && s->expect == p.id) { /* it beacons on while its HELLO waits */
		uint32_t cr = s->credit + (uint32_t)m->len;
		s->credit = cr > CHAT_CREDIT_MAX ? CHAT_CREDIT_MAX : cr;
		bst->credit++;
		return;
	}
	struct chat_roster_event ev;
	if (chat_roster_get(g->roster, p.id, NULL) == 0) {
		bst->known++;
		struct chat_sess *ks = chat_sess_by_id(g, p.id);
		if (ks)
			ks->heard = now ? now : 1;
		if (chat_roster_seen(g->roster, p.id, now, &ev) == 1) {
			struct chat_group_event e = { .type = CHAT_GROUP_BACK, .id = ev.id,
						      .name = ev.name };
			chat_emit(g, &e);
		}
		return;
	}
	/* A new peer.  Only the smaller id connects, so two peers that hear
	 * each other's beacons open one session, not two. */
	if (!g->quitting)
		chat_beacon_hurry(g, now); /* it may need our beacon to meet us */
	if (g->quitting || chat_sess_by_id(g, p.id) || chat_sess_by_addr(g, &a)) {
		bst->wait++;
		return;
	}
	/* Identities: a peer whose mode differs from ours is not met (told
	 * once, also by the larger id, which would only wait), nor a key
	 * refused before; a known nick with another key is met up to its
	 * HELLO, where its handshake has proved the key, and refused there. */
	if (!chat_ident_beacon(g, p.id, p.nick, p.ident ? p.key : NULL, now))
		return;
	if (p.id < g->cfg.id) {
		bst->wait++;
		return;
	}
	/* Nothing proves that the beacon came from its source address.  A
	 * session to it may send only what its beacons paid for, and few
	 * such sessions wait at once (each holds a core slot until --gone). */
	if (m->len < CHAT_BEACON_MIN) {
		bst->drop_short++;
		return;
	}
	if (!chat_beacon_mine(g, p.id, now)) {
		bst->elsewhere++;
		return;
	}
	if (g->ngated - g->npex >= CHAT_MAX_GATED) {
		bst->drop_busy++;
		return;
	}
	/* the HELLO is only queued: the gate sees it at the next flush */
	s = chat_connect_to(g, &a, p.id, 0, p.ident ? p.key : NULL, now);
	if (!s) { /* no session slot left */
		bst->drop_busy++;
		return;
	}
	s->gated = 1;
	s->credit = (uint32_t)m->len;
	g->ngated++;
	bst->connect++;
}

void chat_group_beacon_input(struct chat_group *g, const struct udp_msg *m, uint64_t now)
{
	g->st.beacons.in++;
	if (m->flags & UDP_MSG_TRUNC)
		g->st.beacons.drop_trunc++;
	else
		chat_on_beacon(g, m, now);
}
