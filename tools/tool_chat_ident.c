/* tool_chat_ident.c - udpchat's identities (see tool_chat_app.h and
 * docs/CHAT.md, "Identities"): --identity and --known-peers, the identity
 * sessions of the reliable core (rel_ident, with the group key as Noise
 * PSK), what the group says about keys, /trust and fingerprints. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rel_ident.h"
#include "seal_ident.h"
#include "seal_key.h"
#include "tool_chat_app.h"
#include "tool_common.h"
#include "tool_seal.h"

void tool_chat_fpr(const uint8_t *key, char buf[SEAL_IDENT_FPR_SIZE])
{
	if (seal_ident_fingerprint(key, buf, SEAL_IDENT_FPR_SIZE) < 0)
		snprintf(buf, SEAL_IDENT_FPR_SIZE, "?");
}

/* $XDG_CONFIG_HOME/udpkit/known_peers, else ~/.config/udpkit/known_peers;
 * the folders are made (0700) when missing. */
static void default_known_path(struct tool_chat *c)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char dir[sizeof c->known_path - 16];
	int n;
	if (xdg && *xdg == '/')
		n = snprintf(dir, sizeof dir, "%s/udpkit", xdg);
	else if (home && *home)
		n = snprintf(dir, sizeof dir, "%s/.config/udpkit", home);
	else
		tool_usage_die("--identity: no $HOME or $XDG_CONFIG_HOME for the known peers "
			       "(give --known-peers FILE)");
	if (n < 0 || (size_t)n >= sizeof dir)
		tool_usage_die("--identity: the configuration folder's name is too long");
	/* each missing component of dir in turn */
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			tool_die(TOOL_EXIT_ERR, "cannot make %s: %s", dir, strerror(errno));
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		tool_die(TOOL_EXIT_ERR, "cannot make %s: %s", dir, strerror(errno));
	snprintf(c->known_path, sizeof c->known_path, "%s/known_peers", dir);
}

void tool_chat_ident_setup(struct tool_chat *c)
{
	if (!c->o.identity) {
		if (c->o.known_peers)
			tool_usage_die("--known-peers needs --identity");
		return;
	}
	int rc = seal_ident_load(&c->ident, c->o.identity);
	if (rc < 0)
		tool_die(TOOL_EXIT_ERR, "identity '%s': %s", c->o.identity,
			 rc == UDP_ESYS ? strerror(errno) : udpkit_strerror(rc));
	if (c->o.known_peers)
		snprintf(c->known_path, sizeof c->known_path, "%s", c->o.known_peers);
	else
		default_known_path(c);
	size_t bad = 0;
	if ((rc = chat_known_new(&c->known)) < 0 ||
	    (rc = chat_known_load(c->known, c->known_path, &bad)) < 0) {
		if (rc == UDP_EINVAL)
			tool_die(TOOL_EXIT_ERR, "known peers '%s': line %zu is not 'NICK KEY'",
				 c->known_path, bad);
		tool_die(TOOL_EXIT_ERR, "known peers '%s': %s", c->known_path,
			 rc == UDP_ESYS ? strerror(errno) : udpkit_strerror(rc));
	}
}

/* rel_ident_config.authorize: rel_ident is made before the group, so the
 * group is found through the tool. */
static int authorize(void *arg, const uint8_t key[REL_IDENT_KEY])
{
	struct tool_chat *c = arg;
	return chat_group_authorize(c->chat, key);
}

void tool_chat_ident_core(struct tool_chat *c, struct rel_config *rc)
{
	struct rel_ident_config ic;
	rel_ident_config_default(&ic);
	ic.static_priv = seal_ident_private(c->ident);
	ic.authorize = authorize;
	ic.authorize_arg = c;
	ic.psk = tool_seal_psk(); /* NULL without a group key: Noise_IK */
	int r = rel_ident_new(&c->ri, &ic);
	if (r < 0)
		tool_die(TOOL_EXIT_ERR, "identity sessions: %s", udpkit_strerror(r));
	rel_ident_attach(c->ri, rc);
}

static void save_known(struct tool_chat *c)
{
	if (chat_known_save(c->known, c->known_path) < 0)
		tool_chat_notice(c, "cannot save the known peers to %s: %s", c->known_path,
				 strerror(errno));
}

void tool_chat_on_ident(struct tool_chat *c, const struct chat_group_event *ev)
{
	static const char *const jtype[] = {
		[CHAT_IDENT_NEW] = "key_new", [CHAT_IDENT_CHANGED] = "key_changed",
		[CHAT_IDENT_TRUSTED] = "key_trusted", [CHAT_IDENT_NOKEY] = "no_identity",
		[CHAT_IDENT_ONLY] = "identity_only",
	};
	if (ev->ident == CHAT_IDENT_NEW || ev->ident == CHAT_IDENT_TRUSTED)
		save_known(c);
	char fpr[SEAL_IDENT_FPR_SIZE] = "", old[SEAL_IDENT_FPR_SIZE] = "";
	if (ev->key)
		tool_chat_fpr(ev->key, fpr);
	if (ev->old_key)
		tool_chat_fpr(ev->old_key, old);
	char shown[CHAT_NICK_SHOW_MAX];
	chat_nick_display(ev->nick ? ev->nick : "?", shown, sizeof shown);
	size_t pos = tool_chat_line_start(c, jtype[ev->ident]);
	if (c->o.json) {
		tool_chat_json_str(c, &pos, "from", ev->name, strlen(ev->name));
		tool_put(c->out, sizeof c->out, &pos, ",\"id\":\"%016" PRIx64 "\"", ev->id);
		tool_chat_json_str(c, &pos, "nick", shown, strlen(shown));
		if (ev->key) {
			char b64[SEAL_IDENT_TEXT_SIZE];
			seal_ident_pub_format(ev->key, b64, sizeof b64);
			tool_put(c->out, sizeof c->out, &pos, ",\"fingerprint\":\"%s\",\"key\":\"%s\"",
				 fpr, b64);
		}
		if (ev->old_key)
			tool_put(c->out, sizeof c->out, &pos, ",\"known_fingerprint\":\"%s\"", old);
		tool_put(c->out, sizeof c->out, &pos, "}");
		tool_chat_emit(c, c->out, pos);
		return;
	}
	if (ev->ident == CHAT_IDENT_CHANGED && c->color)
		tool_put(c->out, sizeof c->out, &pos, "\033[1;31m");
	switch (ev->ident) {
	case CHAT_IDENT_NEW:
		tool_put(c->out, sizeof c->out, &pos, "-- ");
		tool_chat_text_name(c, &pos, ev->id, ev->name);
		tool_put(c->out, sizeof c->out, &pos, " has key %s (first seen: remembered)", fpr);
		break;
	case CHAT_IDENT_CHANGED:
		tool_put(c->out, sizeof c->out, &pos,
			 "!! WARNING: a peer claims the nick '%s' with ANOTHER key %s (known: %s). "
			 "Refused. If the change is genuine: /trust %s", shown, fpr, old, shown);
		break;
	case CHAT_IDENT_TRUSTED:
		tool_put(c->out, sizeof c->out, &pos, "-- '%s' is now trusted with key %s (was %s)",
			 shown, fpr, old);
		break;
	case CHAT_IDENT_NOKEY:
		tool_put(c->out, sizeof c->out, &pos, "!! ");
		tool_chat_text_name(c, &pos, ev->id, ev->name);
		tool_put(c->out, sizeof c->out, &pos,
			 " has no identity key: not talking to it (we run with --identity)");
		break;
	case CHAT_IDENT_ONLY:
		tool_put(c->out, sizeof c->out, &pos, "!! ");
		tool_chat_text_name(c, &pos, ev->id, ev->name);
		tool_put(c->out, sizeof c->out, &pos,
			 " has an identity key (%s): not talking to it (start with --identity)", fpr);
		break;
	}
	if (ev->ident == CHAT_IDENT_CHANGED && c->color)
		tool_put(c->out, sizeof c->out, &pos, "\033[0m");
	tool_chat_emit(c, c->out, pos);
}

void tool_chat_cmd_trust(struct tool_chat *c, const char *nick)
{
	if (!c->ident) {
		tool_chat_notice(c, "/trust: this peer runs without --identity");
		return;
	}
	if (!*nick) {
		tool_chat_notice(c, "usage: /trust NICK  (accepts the new key a warning named)");
		return;
	}
	if (chat_group_trust(c->chat, nick, now_us()) < 0)
		tool_chat_notice(c, "/trust: no refused key waits for '%s'", nick);
}

/* --peer KEY@HOST:PORT: the 44-character public key, then the address. */
const char *tool_chat_peer_key(const char *arg, uint8_t key[CHAT_KEY_LEN], int *has)
{
	const char *at = strchr(arg, '@');
	*has = 0;
	if (!at)
		return arg;
	if (seal_ident_pub_parse(key, arg, (size_t)(at - arg)) < 0)
		tool_usage_die("--peer: '%.*s' is not a public key (44 base64 characters)",
			       (int)(at - arg), arg);
	*has = 1;
	return at + 1;
}

void tool_chat_ident_free(struct tool_chat *c)
{
	rel_ident_free(c->ri);
	chat_known_free(c->known);
	seal_ident_free(c->ident);
}
