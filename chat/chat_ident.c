/* chat_ident.c - identities in a chat group (docs/CHAT.md, "Identities"):
 * which keys may be met, the known peers (trust on first use), keys
 * refused for a known nick until /trust, and the peers told that their
 * identity mode differs from ours. */
#include <string.h>

#include "chat_group_int.h"
#include "rel_ident.h"
#include "udp_err.h"

/* Tell the user once per peer, not once per beacon. */
static int told_before(struct chat_group *g, uint64_t id)
{
	for (int i = 0; i < CHAT_TOLD_MAX; i++)
		if (g->told[i] == id)
			return 1;
	g->told[g->ntold] = id;
	g->ntold = (g->ntold + 1) % CHAT_TOLD_MAX;
	return 0;
}

static void ident_event(struct chat_group *g, enum chat_ident_what what, uint64_t id,
			const char *nick, const uint8_t *key, const uint8_t *old)
{
	char name[CHAT_NAME_MAX];
	chat_group_name(g, id, nick, name, sizeof name);
	struct chat_group_event ev = { .type = CHAT_GROUP_IDENT, .ident = what, .id = id,
				       .name = name, .nick = nick, .key = key, .old_key = old };
	chat_emit(g, &ev);
}

static struct chat_refused *refused_find(struct chat_group *g, const char *nick,
					 const uint8_t *key)
{
	for (int i = g->nrefused - 1; i >= 0; i--)
		if ((!nick || strcmp(g->refused[i].nick, nick) == 0) &&
		    (!key || memcmp(g->refused[i].key, key, CHAT_KEY_LEN) == 0))
			return &g->refused[i];
	return NULL;
}

static void refused_drop(struct chat_group *g, struct chat_refused *r)
{
	int i = (int)(r - g->refused);
	memmove(&g->refused[i], &g->refused[i + 1],
		(size_t)(g->nrefused - i - 1) * sizeof g->refused[0]);
	g->nrefused--;
}

int chat_ident_beacon(struct chat_group *g, uint64_t id, const char *nick, const uint8_t *key,
		      uint64_t now)
{
	if (!g->ident != !key) {
		/* no silent downgrade: the two cannot share a session, say so;
		 * beacons prove nothing, so at most one such notice per beacon
		 * interval (a forger with fresh ids cannot flood the screen) */
		g->st.beacons.mixed++;
		if (!told_before(g, id) && (!g->told_at || now - g->told_at >= g->cfg.beacon_us)) {
			g->told_at = now ? now : 1;
			ident_event(g, g->ident ? CHAT_IDENT_NOKEY : CHAT_IDENT_ONLY, id, nick, key,
				    NULL);
		}
		return 0;
	}
	if (key && refused_find(g, NULL, key)) {
		g->st.beacons.refused_key++;
		return 0; /* told at its HELLO; waits for /trust */
	}
	return 1;
}

int chat_ident_admit(struct chat_group *g, uint64_t id, const char *nick, const uint8_t *key)
{
	uint8_t old[CHAT_KEY_LEN];
	switch (chat_known_check(g->cfg.known, nick, key, old)) {
	case CHAT_KNOWN_SAME:
		return 1;
	case CHAT_KNOWN_NEW:
		if (!g->cfg.known)
			return 1;
		if (chat_known_set(g->cfg.known, nick, key) < 0)
			return 0; /* cannot remember it: do not meet it unremembered */
		g->st.ident.new_keys++;
		ident_event(g, CHAT_IDENT_NEW, id, nick, key, NULL);
		return 1;
	case CHAT_KNOWN_OTHER:
	default:
		break;
	}
	if (refused_find(g, nick, key))
		return 0; /* told already */
	if (g->nrefused == CHAT_REFUSED_MAX)
		refused_drop(g, &g->refused[0]); /* the oldest claim is forgotten */
	struct chat_refused *r = &g->refused[g->nrefused++];
	memset(r, 0, sizeof *r);
	memcpy(r->nick, nick, strnlen(nick, CHAT_NICK_MAX));
	memcpy(r->key, key, CHAT_KEY_LEN);
	memcpy(r->old, old, CHAT_KEY_LEN);
	r->id = id;
	g->st.ident.changed++;
	ident_event(g, CHAT_IDENT_CHANGED, id, nick, key, old);
	return 0;
}

int chat_ident_hello(struct chat_group *g, struct chat_sess *s, const struct chat_pkt *p,
		     uint64_t now)
{
	if (!g->ident) {
		if (!p->ident)
			return 1;
		/* a keyed HELLO in a plain session: our core would not have
		 * made one with such a peer; a liar, or a bug */
		g->st.ident.bad_hello++;
		chat_sess_close(g, s, now);
		return 0;
	}
	struct rel_ident_peer ip;
	if (!p->ident || rel_ident_peer(g->cfg.core, s->rel, &ip) < 0 ||
	    memcmp(ip.key, p->key, CHAT_KEY_LEN) != 0 ||
	    (s->has_key && memcmp(s->key, ip.key, CHAT_KEY_LEN) != 0)) {
		g->st.ident.bad_hello++;
		chat_sess_close(g, s, now);
		return 0;
	}
	s->has_key = 1;
	memcpy(s->key, ip.key, CHAT_KEY_LEN);
	if (!chat_ident_admit(g, p->id, p->nick, s->key)) {
		chat_sess_close(g, s, now);
		return 0;
	}
	return 1;
}

int chat_group_authorize(void *ctx, const uint8_t key[CHAT_KEY_LEN])
{
	struct chat_group *g = ctx;
	if (!g)
		return 0; /* before the group exists: nothing refused yet */
	if (refused_find(g, NULL, key)) {
		g->st.ident.authz_refused++;
		return UDP_EINVAL;
	}
	return 0;
}

int chat_group_trust(struct chat_group *g, const char *nick, uint64_t now)
{
	(void)now;
	struct chat_refused *r = nick ? refused_find(g, nick, NULL) : NULL;
	if (!r || !g->cfg.known)
		return UDP_EINVAL;
	struct chat_refused t = *r;
	int rc = chat_known_set(g->cfg.known, t.nick, t.key);
	if (rc < 0)
		return rc;
	/* every waiting claim on that nick is settled: the one trusted is
	 * in, the others are still other keys and come back as such */
	while ((r = refused_find(g, t.nick, NULL)))
		refused_drop(g, r);
	ident_event(g, CHAT_IDENT_TRUSTED, t.id, t.nick, t.key, t.old);
	return 0;
}

int chat_group_peer_key(const struct chat_group *g, uint64_t id, uint8_t key[CHAT_KEY_LEN])
{
	struct chat_peer_info pi;
	if (chat_roster_get(g->roster, id, &pi) < 0)
		return UDP_EINVAL;
	const struct chat_sess *s = chat_sess_by_rel((struct chat_group *)g, pi.tag);
	if (!s || !s->has_key || s->id != id)
		return UDP_EINVAL;
	memcpy(key, s->key, CHAT_KEY_LEN);
	return 0;
}
