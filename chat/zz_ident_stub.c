/* TEMPORARY (branch s4-chat only): stand-ins for the rel_ident API until
 * s4-ident is merged; deleted by that merge.  Identity sessions do not
 * work with it (udpchat --identity says so and exits). */
#include "rel_ident.h"

/* Loud, not silent: with the real rel_ident in the tree, this file would
 * shadow it in libudpkit.a (chat/ comes first in the archive). */
#if __has_include("rel_ident_int.h")
#error "rel_ident is merged: delete chat/zz_ident_stub.c (s4-chat's temporary stand-in)"
#endif

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
