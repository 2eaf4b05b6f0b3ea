/* chat_gate.c - the gate on a chat group's output (see chat_group_int.h).
 *
 * The core queues what a session sends, HELLO retransmissions included, and
 * cannot be told to stop a handshake; so the gate sits between its
 * out-queue and the socket (rel_drv_set_gate).  A datagram of a gated
 * session goes out only while the session's credit (beacon bytes received
 * from that address) covers it; otherwise it is dropped as a lost datagram
 * would be, and the core's retransmission timer tries again later, when the
 * next beacon may have paid for it.  A session that a peer list started
 * (chat_pex.c) has credit for CHAT_PEX_HELLOS HELLOs (the first and its
 * retransmissions), paid from the list sender's budget, and more only from
 * beacons of its address.  The first packet of the session that
 * arrives (the COOKIE, addressed to the session's random id, so not
 * blind-forgeable) proves that the address answers: the gate opens for
 * good. */
#include "chat_group_int.h"

static int orphan_at(const struct chat_group *g, uint32_t rel)
{
	for (int i = 0; i < g->norphan; i++)
		if (g->orphan[i] == rel)
			return i;
	return -1;
}

void chat_gate_forget(struct chat_group *g, uint32_t rel)
{
	int i = orphan_at(g, rel);
	if (i < 0)
		return;
	g->npex -= g->orphan_pex[i];
	g->norphan--;
	g->orphan[i] = g->orphan[g->norphan];
	g->orphan_pex[i] = g->orphan_pex[g->norphan];
	g->orphan_src[i] = g->orphan_src[g->norphan];
	g->ngated--;
}

void chat_gate_release(struct chat_group *g, struct chat_sess *s, int handshake)
{
	if (!s->gated)
		return;
	s->gated = 0;
	if (handshake && g->norphan < CHAT_GROUP_MAX_SESS) {
		g->orphan_pex[g->norphan] = (uint8_t)(s->pex != 0);
		g->orphan_src[g->norphan] = s->pex_src;
		g->orphan[g->norphan++] = s->rel;
	} else {
		g->ngated--;
		g->npex -= s->pex != 0;
	}
	s->pex = 0;
}

static int answered(const struct chat_group *g, uint32_t rel)
{
	struct rel_stats st;
	return rel_peer_stats(g->cfg.core, rel, &st) == 0 && st.pkts_recv > 0;
}

int chat_group_gate(void *ctx, const struct rel_dgram *d)
{
	struct chat_group *g = ctx;
	if (!g || !g->ngated || !d->peer)
		return 1; /* the core's own replies to strangers: never larger */
	struct chat_sess *s = chat_sess_by_rel(g, d->peer);
	if (s && !s->gated)
		return 1;
	if (answered(g, d->peer)) {
		if (s)
			chat_gate_release(g, s, 0);
		else
			chat_gate_forget(g, d->peer);
		return 1;
	}
	if (!s && orphan_at(g, d->peer) < 0)
		return 1;
	if (s && s->credit >= d->len) {
		s->credit -= (uint32_t)d->len;
		g->st.gate.sent++;
		g->st.gate.sent_bytes += d->len;
		return 1;
	}
	g->st.gate.held++;
	return 0;
}
