/* TEMPORARY (branch s4-chat only): stand-ins for rel_connect_ex and
 * rel_ident_peer until the identity sessions (s4-core, s4-ident) are
 * merged; deleted by that merge.  Identity sessions do not work with it. */
#include "rel_ident.h"

int rel_connect_ex(struct rel_core *core, const void *addr, size_t addrlen,
		   const void *crypto_arg, uint64_t now_us, uint32_t *peer)
{
	(void)crypto_arg;
	return rel_connect(core, addr, addrlen, now_us, peer);
}

int rel_ident_peer(const struct rel_core *core, uint32_t peer, struct rel_ident_peer *out)
{
	(void)core;
	(void)peer;
	(void)out;
	return REL_ENOTCONN;
}

void rel_ident_config_default(struct rel_ident_config *cfg)
{
	*cfg = (struct rel_ident_config){ 0 };
}

int rel_ident_new(struct rel_ident **out, const struct rel_ident_config *cfg)
{
	(void)cfg;
	*out = 0;
	return REL_ENOTCONN; /* not yet: udpchat --identity says so and exits */
}

void rel_ident_attach(struct rel_ident *ri, struct rel_config *cfg)
{
	(void)ri;
	(void)cfg;
}

void rel_ident_free(struct rel_ident *ri)
{
	(void)ri;
}
