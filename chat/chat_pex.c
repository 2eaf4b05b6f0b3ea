/* chat_pex.c - peer lists received (PEERS): which entries a chat group
 * connects to, and who pays for it (see chat_group_int.h and docs/CHAT.md,
 * "Hostile peer lists").
 *
 * A list comes from a peer that completed a handshake, but nothing proves
 * that the addresses in it belong to peers: each one we connect to gets a
 * HELLO, so a list of 250 entries could make us a reflector for its
 * sender.  So an entry is acted on like a beacon: the session it starts is
 * gated (chat_gate.c) with credit for CHAT_PEX_HELLOS HELLOs (the first and
 * its retransmissions) until the address answers; they are charged to the
 * list's sender, whose budget is what it has
 * sent us (bytes received on its session), so it never makes us send third
 * addresses more than it sent; and few such sessions wait at once, per
 * sender and in all, so lists cannot fill the session table. */
#include <string.h>

#include "chat_group_int.h"
#include "rel_wire.h"
#include "udp_wire.h"

static int chat_is_loopback(const struct udp_addr *a)
{
	if (udp_addr_family(a) == AF_INET)
		return (ntohl(a->u.in4.sin_addr.s_addr) >> 24) == 127;
	return udp_addr_family(a) == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

/* Bytes src may still spend on HELLOs to addresses its lists name. */
static uint64_t chat_pex_budget(const struct chat_group *g, const struct chat_sess *src)
{
	struct rel_stats st;
	if (rel_peer_stats(g->cfg.core, src->rel, &st) < 0 || st.bytes_recv <= src->pex_spent)
		return 0;
	return st.bytes_recv - src->pex_spent;
}

/* Sessions src's lists started that have not answered: in the table, or
 * given up but still in the core's handshake (orphans, chat_gate.c). */
static int chat_pex_pending(const struct chat_group *g, uint32_t src)
{
	int n = 0;
	for (int i = 0; i < CHAT_GROUP_MAX_SESS; i++)
		n += g->s[i].used && g->s[i].gated && g->s[i].pex && g->s[i].pex_src == src;
	for (int i = 0; i < g->norphan; i++)
		n += g->orphan_pex[i] && g->orphan_src[i] == src;
	return n;
}

/* Is there still a reason to connect to id at a?  (Whose turn it is, is
 * the caller's business.) */
static int chat_pex_new(struct chat_group *g, uint64_t id, const struct udp_addr *a)
{
	return id != g->cfg.id && !g->quitting && !chat_sess_by_id(g, id) &&
	       chat_roster_get(g->roster, id, NULL) < 0 && !chat_sess_by_addr(g, a);
}

/* How long the larger id leaves the smaller one to connect first: beyond
 * the CHAT_PEX_HELLOS of a listed session (at the core's initial RTO,
 * 250 ms in udpchat, they span 1.75 s), well within gone_us. */
static uint64_t chat_pex_defer(const struct chat_group *g)
{
	return g->cfg.gone_us / 2;
}

/* Connects to one entry of src's list if src can pay and there is room:
 * 1 done, 0 not now. */
static int chat_pex_try(struct chat_group *g, struct chat_sess *src, uint64_t id,
			const struct udp_addr *a, const uint8_t *key, uint64_t now)
{
	uint64_t budget = chat_pex_budget(g, src);
	if (g->npex >= CHAT_PEX_MAX || budget < REL_HELLO_LEN ||
	    chat_pex_pending(g, src->rel) >= CHAT_PEX_PER_PEER)
		return 0;
	struct chat_sess *s = chat_connect_to(g, a, id, 0, key, now);
	if (!s)
		return 0;
	/* the HELLO is only queued: the gate sees it at the next flush.  One
	 * HELLO was once all a listed address got until it answered: then a
	 * HELLO or COOKIE lost (19 % at 10 % loss) left the pair unmet for
	 * good, since the entry is not listed again.  So the credit covers
	 * up to CHAT_PEX_HELLOS of them (retransmissions), as far as the
	 * sender's budget goes, all charged to it now. */
	uint64_t credit = CHAT_PEX_HELLOS * (uint64_t)REL_HELLO_LEN;
	if (credit > budget)
		credit = budget - budget % REL_HELLO_LEN;
	s->gated = 1;
	s->pex = 1;
	s->pex_src = src->rel;
	s->credit = (uint32_t)credit;
	src->pex_spent += credit;
	g->ngated++;
	g->npex++;
	g->st.pex.connect++;
	return 1;
}

/* An entry waits: for its sender's budget or a place (from now), or, a
 * smaller id's (its turn first), until now + defer. */
static void chat_pex_queue(struct chat_group *g, const struct chat_sess *src, uint64_t id,
			   const struct udp_addr *a, const uint8_t *key, uint64_t now,
			   uint64_t defer)
{
	for (int i = 0; i < g->npexq; i++)
		if (g->pexq[i].id == id) {
			g->st.pex.skip++; /* already waiting */
			return;
		}
	if (g->npexq == CHAT_PEX_QUEUE) {
		g->st.pex.drop_busy++;
		return;
	}
	struct chat_pex_wait *w = &g->pexq[g->npexq++];
	*w = (struct chat_pex_wait){ .id = id, .since = now + defer, .src = src->rel,
				     .addr = *a, .has_key = key != NULL };
	if (key)
		memcpy(w->key, key, CHAT_KEY_LEN);
	g->st.pex.queued++;
}

void chat_pex_list(struct chat_group *g, struct chat_sess *src, const uint8_t *list, size_t n,
		   int keyed, uint64_t now)
{
	struct udp_wire_reader r;
	struct chat_peer_addr e;
	int acted = 0;
	g->st.pex.lists++;
	udp_wire_reader_init(&r, list, n);
	while ((keyed ? chat_peers_next_keyed(&r, &e) : chat_peers_next(&r, &e)) == 1) {
		g->st.pex.entries++;
		/* "on the sender's host": a loopback address from afar */
		if (udp_addr_family(&e.addr) == udp_addr_family(&src->addr) &&
		    chat_is_loopback(&e.addr) && !chat_is_loopback(&src->addr)) {
			int port = udp_addr_port(&e.addr);
			e.addr = src->addr;
			udp_addr_set_port(&e.addr, port);
		}
		/* an identity peer calls only whom it has a key for; a keyed
		 * entry of a key refused before is not called again */
		if (udp_addr_family(&e.addr) != udp_addr_family(&src->addr) ||
		    !chat_pex_new(g, e.id, &e.addr) || g->ident != e.has_key ||
		    (e.has_key && !chat_ident_beacon(g, e.id, "?", e.key, now))) {
			g->st.pex.skip++;
			continue;
		}
		if (acted++ >= CHAT_PEX_PER_LIST) {
			g->st.pex.drop_list++;
			continue;
		}
		const uint8_t *key = e.has_key ? e.key : NULL;
		/* the smaller id connects; the larger one connects too if no
		 * session came within chat_pex_defer (its HELLOs all lost,
		 * or it could not pay), else that pair would never meet */
		if (e.id < g->cfg.id)
			chat_pex_queue(g, src, e.id, &e.addr, key, now, chat_pex_defer(g));
		else if (!chat_pex_try(g, src, e.id, &e.addr, key, now))
			chat_pex_queue(g, src, e.id, &e.addr, key, now, 0);
	}
}

void chat_pex_tick(struct chat_group *g, uint64_t now)
{
	for (int i = 0; i < g->npexq;) {
		struct chat_pex_wait *w = &g->pexq[i];
		struct chat_sess *src = chat_sess_by_rel(g, w->src);
		int done;
		if (now < w->since && chat_pex_new(g, w->id, &w->addr)) {
			i++; /* deferred: the smaller id's turn still */
			continue;
		}
		if (!chat_pex_new(g, w->id, &w->addr)) {
			g->st.pex.skip++; /* met meanwhile (a beacon, another list) */
			done = 1;
		} else if (!src || !src->id || src->closing || now - w->since > g->cfg.gone_us) {
			g->st.pex.drop_busy++;
			done = 1;
		} else {
			done = chat_pex_try(g, src, w->id, &w->addr, w->has_key ? w->key : NULL, now);
		}
		if (done)
			g->pexq[i] = g->pexq[--g->npexq];
		else
			i++;
	}
}
