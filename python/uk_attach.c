/* uk_attach.c - sealing and loss simulation for the Python module's
 * socket.  Every call to the socket seams of seal/ and netsim/
 * (seal_sock_attach, netsim_sock_attach and their getters) is in this
 * file, so a rename of those seams touches only here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <sodium.h>

#include "netsim.h"
#include "netsim_sock.h"
#include "seal.h"
#include "seal_key.h"
#include "seal_sock.h"
#include "udp_sock.h"
#include "uk.h"

/* The group key of key=/passphrase= (NULL when none was given). */
int uk_attach_group_key(struct seal_key **out, const struct uk_opts *o, char *err, size_t errlen)
{
	*out = NULL;
	if (!o->key && !o->key_path && !o->pass)
		return 0;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return UDP_ESEAL_SODIUM;
	}
	int rc;
	const char *what;
	if (o->key) {
		what = "key";
		rc = seal_key_from_bytes(out, o->key);
	} else if (o->key_path) {
		what = o->key_path;
		rc = seal_key_load(out, o->key_path);
	} else if (!o->group) {
		/* no default: a group name everybody shares would let one table
		 * of passphrase guesses serve them all */
		snprintf(err, errlen, "passphrase= needs group=NAME: the group name salts "
			 "the passphrase (no default; every member gives the same)");
		return UDP_ESEAL_GROUP;
	} else {
		what = "passphrase";
		rc = seal_key_derive(out, o->group, o->pass, o->passlen);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", what, udpkit_strerror(rc));
		return rc == UDP_ESYS ? -2000 - (errno ? errno : EIO) : rc;
	}
	return 0;
}

int uk_attach_seal(struct udp_sock *s, const struct uk_opts *o, char *err, size_t errlen)
{
	if (uk_opts_ident(o))
		return 0; /* the group key admits identity sessions (uk_ident.c) */
	struct seal_key *k = NULL;
	int rc = uk_attach_group_key(&k, o, err, errlen);
	if (rc < 0 || !k)
		return rc;
	struct seal *seal = NULL;
	struct seal_config cfg;
	seal_config_default(&cfg);
	rc = seal_new(&seal, k, &cfg);
	seal_key_free(k);
	if (rc >= 0)
		rc = seal_sock_attach(s, seal); /* owns seal from here */
	if (rc < 0) {
		snprintf(err, errlen, "cannot set up sealing: %s", udpkit_strerror(rc));
		return rc;
	}
	return 0;
}

static int make(struct netsim **out, const char *spec, const char *opt, char *err, size_t errlen)
{
	*out = NULL;
	if (!spec)
		return 0;
	char why[200];
	int rc = netsim_new(out, spec, why, sizeof why);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", opt, why);
		return rc;
	}
	if (!netsim_has_seed(*out)) {
		uint64_t seed;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
			seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out;
		netsim_reseed(*out, seed);
	}
	return 0;
}

int uk_attach_netsim(struct udp_sock *s, const struct uk_opts *o, char *err, size_t errlen)
{
	if (!o->netsim && !o->netsim_in)
		return 0; /* the environment's (UDPKIT_NETSIM...) stay */
	struct netsim *out, *in;
	int rc = make(&out, o->netsim, "netsim", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = make(&in, o->netsim_in, "netsim_in", err, errlen)) < 0) {
		netsim_free(out);
		return rc;
	}
	if ((rc = netsim_sock_attach(s, out, in)) < 0)
		snprintf(err, errlen, "netsim: %s", udpkit_strerror(rc));
	return rc;
}

int uk_sealed(const struct udp_sock *s)
{
	return seal_sock_get(s) != NULL;
}

#define ADD(n, v) do { if (*n < cap) { out[*n].name = (name_); out[*n].value = (v); (*n)++; } } while (0)

void uk_attach_counters(const struct udp_sock *s, struct uk_stat *out, size_t *n, size_t cap)
{
	const char *name_;
	struct netsim_counters c[2];
	netsim_sock_counters(s, &c[0], &c[1]);
	static const char *nm[2][4] = {
		{ "netsim_out_pushed", "netsim_out_lost", "netsim_out_passed", "netsim_out_delayed" },
		{ "netsim_in_pushed", "netsim_in_lost", "netsim_in_passed", "netsim_in_delayed" },
	};
	for (int d = 0; d < 2; d++) {
		name_ = nm[d][0]; ADD(n, c[d].in);
		name_ = nm[d][1]; ADD(n, c[d].lost);
		name_ = nm[d][2]; ADD(n, c[d].passed);
		name_ = nm[d][3]; ADD(n, c[d].delayed);
	}
	struct seal_stats st;
	memset(&st, 0, sizeof st);
	seal_sock_stats(s, &st);
	name_ = "sealed"; ADD(n, st.sealed);
	name_ = "opened"; ADD(n, st.opened);
	name_ = "seal_drop_plaintext"; ADD(n, st.drop_plaintext);
	name_ = "seal_drop_wrongkey"; ADD(n, st.drop_wrongkey);
	name_ = "seal_drop_auth"; ADD(n, st.drop_auth);
	name_ = "seal_drop_replay"; ADD(n, st.drop_replay + st.drop_old);
	name_ = "sealed_seen"; ADD(n, udp_sock_sealed_seen(s));
}

int uk_attach_out_idle(const struct udp_sock *s)
{
	const struct netsim *out = NULL;
	netsim_sock_get(s, &out, NULL);
	return !out || netsim_next_due(out) == UINT64_MAX;
}

int uk_attach_has_out(const struct udp_sock *s)
{
	const struct netsim *out = NULL;
	netsim_sock_get(s, &out, NULL);
	return out && !netsim_is_passthrough(out);
}
