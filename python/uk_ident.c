/* uk_ident.c - identity sessions for the Python module's reliable socket:
 * our key pair, the server's public key, the allowed list and the group
 * key's admission secret, made into the rel_ident that the core's crypto
 * hook runs (the same wiring as tools/tool_ident.c, without its printing
 * and exits).
 *
 * Secrets pass through here on their way into libsodium's guarded memory
 * (seal_ident, then rel_ident's own copies) and are never copied to the C
 * heap or stack on the way; the group key's admission secret lives in
 * sodium_malloc memory only while rel_ident_new copies it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rel.h"
#include "rel_ident.h"
#include "seal_ident.h"
#include "seal_key.h"
#include "uk.h"

#define ALLOWED_MAX (1 << 20) /* bytes of an allowed-keys file, as the tools */

struct uk_ident {
	struct rel_ident *ri;
	struct seal_allowed *allowed; /* borrowed by ri: freed after it */
	uint8_t peer[SEAL_IDENT_KEY];
	int have_peer, have_psk;
	uint64_t told_auth; /* refused_auth when the last refusal was described */
};

static int sys_err(void)
{
	return -2000 - (errno ? errno : EIO);
}

int uk_ident_parse_pub(uint8_t pub[SEAL_IDENT_KEY], const void *buf, size_t len)
{
	if (len == SEAL_IDENT_KEY) {
		memcpy(pub, buf, SEAL_IDENT_KEY);
		return 0;
	}
	return seal_ident_pub_parse(pub, buf, len);
}

/* The list is not secret, but who may write it decides who gets in: a
 * file others can change is refused, as udprecv --allowed-keys does. */
static int read_allowed(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = 0;
	*text = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = sys_err();
		snprintf(err, errlen, "allowed_keys '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "allowed_keys '%s': not a regular file", path);
		rc = UDP_ESEAL_KEYFILE_TYPE;
		goto out;
	}
	if (st.st_mode & 022) {
		snprintf(err, errlen, "allowed_keys '%s': writable by group or other (chmod go-w): "
			 "anyone who can change it can let themselves in", path);
		rc = UDP_ESEAL_KEYFILE_PERM;
		goto out;
	}
	if (st.st_size > ALLOWED_MAX) {
		snprintf(err, errlen, "allowed_keys '%s': over %d bytes", path, ALLOWED_MAX);
		rc = UDP_ETOOBIG;
		goto out;
	}
	if (!(*text = malloc((size_t)st.st_size + 1))) {
		rc = UDP_ENOMEM;
		goto out;
	}
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, *text + *len, (size_t)st.st_size + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sys_err();
			snprintf(err, errlen, "allowed_keys '%s': %s", path, strerror(errno));
			goto out;
		}
		if (n == 0 || (*len += (size_t)n) > (size_t)st.st_size)
			break;
	}
	if (*len > (size_t)st.st_size) {
		snprintf(err, errlen, "allowed_keys '%s': changed while read", path);
		rc = UDP_EINVAL;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

static int load_allowed(struct uk_ident *id, const struct uk_opts *o, char *err, size_t errlen)
{
	char *file = NULL;
	const char *text = o->allowed_text;
	size_t len = o->allowed_len, bad = 0;
	if (o->allowed_path) {
		int rc = read_allowed(o->allowed_path, &file, &len, err, errlen);
		if (rc < 0)
			return rc;
		text = file;
	}
	/* none given: an empty list, so that nobody gets in unasked (an
	 * identity socket accepts sessions as any udpkit socket does) */
	int rc = seal_allowed_parse(&id->allowed, text ? text : "", text ? len : 0, &bad);
	free(file);
	char where[300];
	if (o->allowed_path)
		snprintf(where, sizeof where, "allowed_keys '%s' line %zu", o->allowed_path, bad);
	else
		snprintf(where, sizeof where, "allowed_keys item %zu", bad);
	if (rc == UDP_ESEAL_ALLOWED_LINE)
		snprintf(err, errlen, "%s: not '<public key> [name]' (44 base64 characters, then "
			 "an optional name without control characters, at most %d bytes)",
			 where, SEAL_IDENT_NAME_MAX);
	else if (rc == UDP_ESEAL_ALLOWED_DUP)
		snprintf(err, errlen, "%s: this key is listed twice", where);
	else if (rc < 0)
		snprintf(err, errlen, "allowed_keys: %s", udpkit_strerror(rc));
	return rc;
}

static int load_me(struct seal_ident **me, const struct uk_opts *o, char *err, size_t errlen)
{
	int rc = o->ident ? seal_ident_from_bytes(me, o->ident) : seal_ident_load(me, o->ident_path);
	if (rc < 0) {
		if (o->ident)
			snprintf(err, errlen, "identity: %s", udpkit_strerror(rc));
		else
			snprintf(err, errlen, "identity '%s': %s", o->ident_path,
				 rc == UDP_ESYS ? strerror(errno) : udpkit_strerror(rc));
		if (rc == UDP_ESYS)
			rc = sys_err();
	}
	return rc;
}

int uk_ident_new(struct uk_ident **out, const struct uk_opts *o, char *err, size_t errlen)
{
	*out = NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return UDP_ESEAL_SODIUM;
	}
	struct uk_ident *id = calloc(1, sizeof *id);
	if (!id)
		return UDP_ENOMEM;
	struct seal_ident *me = NULL;
	struct seal_key *group = NULL;
	uint8_t *psk = NULL;
	int rc = load_me(&me, o, err, errlen);
	if (rc < 0)
		goto out;
	if (o->peer_key) {
		if ((rc = uk_ident_parse_pub(id->peer, o->peer_key, o->peer_key_len)) < 0) {
			snprintf(err, errlen, "peer_key: not a public key (32 bytes, or the 44 base64 "
				 "characters udpkey pub prints)");
			goto out;
		}
		id->have_peer = 1;
	}
	if ((rc = load_allowed(id, o, err, errlen)) < 0)
		goto out;
	/* A group key given as well admits (Noise IKpsk2) instead of sealing
	 * the socket: the sessions seal themselves, twice would be for nothing. */
	if ((rc = uk_attach_group_key(&group, o, err, errlen)) < 0)
		goto out;
	if (group) {
		if (!(psk = sodium_malloc(SEAL_KEY_BYTES))) {
			rc = UDP_ENOMEM;
			goto out;
		}
		if ((rc = seal_key_subkey(group, SEAL_KEY_SUB_PSK, psk, SEAL_KEY_BYTES)) < 0) {
			snprintf(err, errlen, "cannot derive the admission key: %s", udpkit_strerror(rc));
			goto out;
		}
		id->have_psk = 1;
	}
	struct rel_ident_config ic;
	rel_ident_config_default(&ic);
	ic.static_priv = seal_ident_private(me);
	ic.peer_key = id->have_peer ? id->peer : NULL;
	ic.allowed = id->allowed;
	ic.psk = psk;
	if (o->rekey_pkts)
		ic.rekey_after_pkts = o->rekey_pkts;
	if (o->rekey_us)
		ic.rekey_after_us = o->rekey_us;
	if ((rc = rel_ident_new(&id->ri, &ic)) < 0)
		snprintf(err, errlen, "identity sessions: %s", udpkit_strerror(rc));
out:
	seal_ident_free(me);
	seal_key_free(group);
	if (psk)
		sodium_free(psk); /* wipes */
	if (rc < 0) {
		uk_ident_free(id);
		return rc;
	}
	*out = id;
	return 0;
}

void uk_ident_free(struct uk_ident *id)
{
	if (!id)
		return;
	rel_ident_free(id->ri);
	seal_allowed_free(id->allowed);
	sodium_memzero(id, sizeof *id);
	free(id);
}

void uk_ident_attach(struct uk_ident *id, struct rel_config *cfg)
{
	rel_ident_attach(id->ri, cfg);
}

/* The server keys a session on the client's first message, which proves
 * the client's static key but not that the client is there now (IK's
 * first message can be replayed from a capture, by anyone at any address
 * that answers a cookie) nor that it holds the group key (psk2 is mixed in
 * only by the answer).  Only an authentic packet in the session shows
 * both, and the core counts a session's pkts_recv only for those: until
 * then the session has no key to name.  A client's session is keyed by
 * the server's answer, which proves the server's key and is fresh. */
int uk_ident_peer_key(const struct rel_core *core, uint32_t peer, int passive, uint8_t key[32])
{
	struct rel_ident_peer p;
	struct rel_stats st;
	if (passive && (rel_peer_stats(core, peer, &st) < 0 || st.pkts_recv == 0))
		return REL_ENOTCONN;
	int rc = rel_ident_peer(core, peer, &p);
	if (rc == 0)
		memcpy(key, p.key, sizeof p.key);
	return rc;
}

void uk_ident_counters(const struct uk_ident *id, struct uk_stat *out, size_t *n, size_t cap)
{
	struct rel_ident_stats st;
	rel_ident_get_stats(id->ri, &st);
	const struct uk_stat v[] = {
		{ "handshakes", st.handshakes },
		{ "refused_unknown", st.refused_unknown },
		{ "refused_auth", st.refused_auth },
		{ "ident_drop_auth", st.drop_auth },
		{ "ident_drop_replay", st.drop_replay },
		{ "rekeys", st.rekeys },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0] && *n < cap; i++)
		out[(*n)++] = v[i];
}

void uk_ident_refusal(struct uk_ident *id, const uint8_t *server, char *buf, size_t cap)
{
	char fpr[SEAL_IDENT_FPR_SIZE] = "(none)";
	if (server || id->have_peer)
		seal_ident_fingerprint(server ? server : id->peer, fpr, sizeof fpr);
	struct rel_ident_stats st;
	rel_ident_get_stats(id->ri, &st);
	if (!server && !id->have_peer)
		snprintf(buf, cap, "identity handshake not started: this socket has no peer_key= "
			 "(a client must name the public key the server is to prove)");
	else if (st.refused_auth > id->told_auth)
		snprintf(buf, cap, "identity handshake refused: the answer failed authentication, "
			 "so the server did not prove peer_key %s (or it holds another group key)", fpr);
	else
		snprintf(buf, cap, "identity handshake not answered: nothing proved peer_key %s "
			 "(nobody listening, a server with another key, or this identity or group "
			 "key is not allowed there)", fpr);
	id->told_auth = st.refused_auth;
}

/* ---- module functions (no socket) ---- */

int uk_ident_generate(uint8_t priv[32], uint8_t pub[32])
{
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	struct seal_ident *me = NULL;
	int rc = seal_ident_generate(&me);
	if (rc < 0)
		return rc;
	memcpy(priv, seal_ident_private(me), SEAL_IDENT_KEY);
	memcpy(pub, seal_ident_public(me), SEAL_IDENT_KEY);
	seal_ident_free(me);
	return 0;
}

int uk_ident_public(const uint8_t *priv, const char *path, uint8_t pub[32], char *err,
		    size_t errlen)
{
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	struct uk_opts o;
	memset(&o, 0, sizeof o);
	o.ident = priv;
	o.ident_path = path;
	struct seal_ident *me = NULL;
	int rc = load_me(&me, &o, err, errlen);
	if (rc == 0)
		memcpy(pub, seal_ident_public(me), SEAL_IDENT_KEY);
	seal_ident_free(me);
	return rc;
}

int uk_ident_text(const uint8_t pub[32], char *text, size_t tcap, char *fpr, size_t fcap)
{
	int rc = seal_ident_pub_format(pub, text, tcap);
	if (rc >= 0)
		rc = seal_ident_fingerprint(pub, fpr, fcap);
	return rc < 0 ? rc : 0;
}
